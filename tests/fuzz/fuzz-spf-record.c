/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc_spf_record_parse(): SPF records on raw bytes, as
 * any domain owner can publish them (a TXT record may hold any octet).
 *
 * Input: byte 0 bit 0 set puts "v=spf1 " in front of the rest, so that
 * most inputs reach the terms; the rest is the record, not NUL-terminated.
 * Besides crashes and sanitizer reports it checks: errors are printable and
 * short; an accepted record is an SPF version 1 record within the limits,
 * every domain-spec in it passes the macro checker on its own, and its
 * canonical form is printable ASCII and reads back to the same form.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-spf-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a little over the record limit, so the length check is reached too */
#define FUZZ_MAX_INPUT (PC_SPF_RECORD_MAX + 64)

static void
fuzz_check_printable(const char *text, gsize max)
{
	gsize len = strlen(text);

	g_assert_cmpuint(len, <=, max);
	for (gsize i = 0; i < len; i++)
		g_assert_true(g_ascii_isprint(text[i]));
}

static void
fuzz_check_record(const PcSpfRecord *record)
{
	g_autofree char *text = pc_spf_record_to_string(record);
	g_autoptr(PcSpfRecord) again = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *again_text = NULL;

	g_assert_cmpuint(record->terms->len + record->unknown_mods, <=, PC_SPF_RECORD_MAX_TERMS);
	for (guint i = 0; i < record->terms->len; i++) {
		const PcSpfTerm *term = &g_array_index(record->terms, PcSpfTerm, i);

		g_assert_cmpuint(term->ip4_prefix, <=, 32);
		g_assert_cmpuint(term->ip6_prefix, <=, 128);
		if (term->domain_spec != NULL)
			g_assert_true(pc_spf_macro_check(term->domain_spec,
							 strlen(term->domain_spec),
							 PC_SPF_MACRO_DOMAIN_SPEC, NULL));
	}
	/* the canonical form can be a little longer than the input (a qualifier dropped, "/N"
	 * added) */
	fuzz_check_printable(text, 2 * PC_SPF_RECORD_MAX);
	if (strlen(text) > PC_SPF_RECORD_MAX)
		return;
	g_assert_true(pc_spf_record_parse(text, strlen(text), &again, &error));
	g_assert_no_error(error);
	again_text = pc_spf_record_to_string(again);
	g_assert_cmpstr(again_text, ==, text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GByteArray) input = g_byte_array_new();
	g_autoptr(PcSpfRecord) record = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree guint8 *exact = NULL;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if ((data[0] & 1) != 0)
		g_byte_array_append(input, (const guint8 *)"v=spf1 ", 7);
	g_byte_array_append(input, data + 1, (guint)(size - 1));
	/* a block of exactly the record's size: an over-read is ASan's to see */
	exact = g_memdup2(input->data, input->len);
	if (pc_spf_record_parse((const char *)exact, input->len, &record, &error)) {
		g_assert_no_error(error);
		g_assert_true(pc_spf_record_is_spf1((const char *)exact, input->len));
		fuzz_check_record(record);
	} else {
		g_assert_null(record);
		g_assert_true(error != NULL && error->domain == PC_SPF_RECORD_ERROR);
		fuzz_check_printable(error->message, 512);
	}
	return 0;
}
