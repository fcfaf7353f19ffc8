/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for verify_dmarc_record_parse(): a _dmarc TXT record's
 * text, as any domain can publish it.
 *
 * Besides crashes and sanitizer reports it checks: errors are of the
 * record's domain and short printable text; a read record keeps its bounds
 * (p a policy, pct at most 100, psd y/n/u, at most 8 URIs of at most 512
 * bytes each); and the record written back in canonical form reads back to
 * the same policies, alignment modes, pct, t, psd and fo.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "verify-dmarc-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fuzz_canonical(const VerifyDmarcRecord *record)
{
	GString *text = g_string_new("v=DMARC1");

	g_string_append_printf(text, "; p=%s", verify_dmarc_policy_to_string(record->p));
	if (record->sp != VERIFY_DMARC_POLICY_ABSENT)
		g_string_append_printf(text, "; sp=%s", verify_dmarc_policy_to_string(record->sp));
	if (record->np != VERIFY_DMARC_POLICY_ABSENT)
		g_string_append_printf(text, "; np=%s", verify_dmarc_policy_to_string(record->np));
	g_string_append_printf(text, "; adkim=%c; aspf=%c", record->adkim_strict ? 's' : 'r',
			       record->aspf_strict ? 's' : 'r');
	if (record->pct_present)
		g_string_append_printf(text, "; pct=%u", record->pct);
	g_string_append_printf(text, "; t=%c; psd=%c", record->testing ? 'y' : 'n', record->psd);
	if (record->fo != NULL)
		g_string_append_printf(text, "; fo=%s", record->fo);
	return g_string_free(text, FALSE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyDmarcRecord) record = NULL;
	g_autoptr(VerifyDmarcRecord) again = NULL;
	g_autofree char *canonical = NULL;

	if (size > 64 * 1024)
		return 0;
	record = verify_dmarc_record_parse((const char *)data, size, &error);
	if (record == NULL) {
		g_assert_nonnull(error);
		g_assert_true(error->domain == VERIFY_DMARC_RECORD_ERROR);
		g_assert_cmpuint(strlen(error->message), <=, 96);
		for (const char *p = error->message; *p != '\0'; p++)
			g_assert_true(g_ascii_isprint(*p));
		return 0;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(size, <=, VERIFY_DMARC_RECORD_MAX);
	g_assert_cmpint(record->p, !=, VERIFY_DMARC_POLICY_ABSENT);
	g_assert_cmpuint(record->pct, <=, 100);
	g_assert_true(record->psd == 'y' || record->psd == 'n' || record->psd == 'u');
	for (int which = 0; which < 2; which++) {
		GPtrArray *uris = which == 0 ? record->rua : record->ruf;

		g_assert_cmpuint(uris->len, <=, VERIFY_DMARC_MAX_URIS);
		for (guint i = 0; i < uris->len; i++) {
			const VerifyDmarcUri *uri = g_ptr_array_index(uris, i);

			g_assert_cmpuint(strlen(uri->uri), >, 0);
			g_assert_cmpuint(strlen(uri->uri), <=, 512);
			g_assert_null(strchr(uri->uri, ','));
			g_assert_null(strchr(uri->uri, '!'));
		}
	}
	canonical = fuzz_canonical(record);
	again = verify_dmarc_record_parse(canonical, strlen(canonical), &error);
	g_assert_no_error(error);
	g_assert_cmpint(again->p, ==, record->p);
	g_assert_cmpint(again->sp, ==, record->sp);
	g_assert_cmpint(again->np, ==, record->np);
	g_assert_cmpint(again->adkim_strict, ==, record->adkim_strict);
	g_assert_cmpint(again->aspf_strict, ==, record->aspf_strict);
	g_assert_cmpuint(again->pct, ==, record->pct);
	g_assert_cmpint(again->testing, ==, record->testing);
	g_assert_cmpint(again->psd, ==, record->psd);
	g_assert_cmpstr(again->fo, ==, record->fo);
	return 0;
}
