/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc_addr_parse_header_list(): RFC 5322 address lists
 * on raw bytes, as a submission client can write them into From: and
 * Sender:.
 *
 * Besides crashes and sanitizer reports it checks what the auth daemon relies
 * on: every address has a local part and a normalised domain within the
 * limits, NO_ADDRESS is set exactly when the list is empty, errors are short
 * printable log text, and writing the addresses back as a plain list of
 * quoted angle addresses parses to the same addresses.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ERROR_MAX 96

static void
fuzz_check_error(const GError *error)
{
	gsize len;

	g_assert_nonnull(error);
	g_assert_true(error->domain == PC_ADDR_ERROR);
	g_assert_true(error->code == PC_ADDR_ERROR_SYNTAX || error->code == PC_ADDR_ERROR_TOO_LONG);
	len = strlen(error->message);
	g_assert_cmpuint(len, <=, FUZZ_ERROR_MAX);
	for (gsize i = 0; i < len; i++)
		g_assert_true(g_ascii_isprint(error->message[i]));
}

static void
fuzz_check_address(const PcAddress *address)
{
	g_autofree char *again = NULL;

	g_assert_nonnull(address->local);
	g_assert_nonnull(address->domain);
	g_assert_cmpuint(strlen(address->local), >, 0);
	g_assert_cmpuint(strlen(address->local), <=, PC_ADDR_MAX_LOCAL);
	g_assert_cmpuint(strlen(address->domain), >, 0);
	g_assert_cmpuint(strlen(address->domain), <=, PC_ADDR_MAX_DOMAIN);
	g_assert_cmpint(address->route != NULL, ==,
			(address->flags & PC_ADDR_FLAG_SOURCE_ROUTE) != 0);
	again = pc_addr_normalize_domain(address->domain, strlen(address->domain));
	g_assert_cmpstr(again, ==, address->domain);
}

/* "<route:"local"@domain>, ..." from the parts must give the same parts */
static void
fuzz_check_reparse(const PcAddrList *list)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(PcAddrList) again = NULL;
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < list->addresses->len; i++) {
		const PcAddress *address = g_ptr_array_index(list->addresses, i);

		g_string_append(text, i > 0 ? ", <" : "<");
		if (address->route != NULL)
			g_string_append_printf(text, "%s:", address->route);
		g_string_append_c(text, '"');
		for (const char *p = address->local; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(text, '\\');
			g_string_append_c(text, *p);
		}
		g_string_append_printf(text, "\"@%s>", address->domain);
	}
	if (!pc_addr_parse_header_list(text->str, text->len, &again, &error)) {
		/* quoting may make the list longer than the original spelling */
		g_assert_error(error, PC_ADDR_ERROR, PC_ADDR_ERROR_TOO_LONG);
		return;
	}
	g_assert_cmpuint(again->addresses->len, ==, list->addresses->len);
	for (guint i = 0; i < list->addresses->len; i++) {
		const PcAddress *a = g_ptr_array_index(list->addresses, i);
		const PcAddress *b = g_ptr_array_index(again->addresses, i);

		g_assert_cmpstr(a->local, ==, b->local);
		g_assert_cmpstr(a->domain, ==, b->domain);
		g_assert_cmpstr(a->route, ==, b->route);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(PcAddrList) list = NULL;
	g_autoptr(GError) error = NULL;

	if (!pc_addr_parse_header_list((const char *)data, size, &list, &error)) {
		fuzz_check_error(error);
		return 0;
	}
	g_assert_cmpint(list->addresses->len == 0, ==,
			(list->flags & PC_ADDR_LIST_FLAG_NO_ADDRESS) != 0);
	for (guint i = 0; i < list->addresses->len; i++)
		fuzz_check_address(g_ptr_array_index(list->addresses, i));
	fuzz_check_reparse(list);
	return 0;
}
