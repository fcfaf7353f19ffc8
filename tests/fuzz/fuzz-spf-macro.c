/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc_spf_macro_check() and pc_spf_macro_expand(): the
 * macro strings of SPF records and explanations on raw bytes (the code
 * libspf2 got wrong: CVE-2023-42118).
 *
 * Input: byte 0 picks the kind (mod 3: domain-spec, explanation, unknown
 * modifier value) and, with bit 2, a client address of the other family;
 * the rest is the string, not NUL-terminated. Besides crashes and sanitizer
 * reports it checks: check and expand agree (what the checker accepts
 * expands, or fails only on a length limit; what it refuses never
 * expands); an expansion is within its limit; a string without '%' expands
 * to itself; error messages are printable and short.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-spf-macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (PC_SPF_MACRO_MAX_INPUT + 64)

static const char *
fuzz_validated_name(gpointer data)
{
	return "mail.example.org";
}

static void
fuzz_check_error(const GError *error)
{
	gsize len;

	g_assert_true(error != NULL && error->domain == PC_SPF_MACRO_ERROR);
	len = strlen(error->message);
	g_assert_cmpuint(len, <=, 256);
	for (gsize i = 0; i < len; i++)
		g_assert_true(g_ascii_isprint(error->message[i]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PcSpfMacroContext context = {
	    .sender = "strong-bad@email.example.com",
	    .local_part = "strong-bad",
	    .sender_domain = "email.example.com",
	    .domain = "email.example.com",
	    .helo = "mx.example.org",
	    .receiver = "mx.example.net",
	    .timestamp = 1700000000,
	    .validated_name = fuzz_validated_name,
	};
	g_autoptr(GError) check_error = NULL;
	g_autoptr(GError) expand_error = NULL;
	g_autofree char *expanded = NULL;
	g_autofree char *text = NULL;
	PcSpfMacroKind kind;
	gboolean valid;
	gsize len;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	kind = (PcSpfMacroKind)(data[0] % 3);
	g_assert_true(
	    pc_net_address_parse((data[0] & 4) != 0 ? "2001:db8::cb01" : "192.0.2.3", &context.ip));
	len = size - 1;
	text = g_memdup2(data + 1, len);
	valid = pc_spf_macro_check(text, len, kind, &check_error);
	if (!valid)
		fuzz_check_error(check_error);
	if (kind == PC_SPF_MACRO_STRING)
		return 0;
	expanded = pc_spf_macro_expand(text, len, kind, &context, &expand_error);
	if (expanded == NULL) {
		fuzz_check_error(expand_error);
		/* refused by the checker, or over a limit */
		g_assert_true(!valid || expand_error->code == PC_SPF_MACRO_ERROR_TOO_LONG);
		return 0;
	}
	g_assert_true(valid);
	g_assert_no_error(expand_error);
	g_assert_cmpuint(strlen(expanded), <=, PC_SPF_MACRO_MAX_OUTPUT);
	if (len > 0 && memchr(text, '%', len) == NULL)
		g_assert_true(strlen(expanded) == len && memcmp(expanded, text, len) == 0);
	return 0;
}
