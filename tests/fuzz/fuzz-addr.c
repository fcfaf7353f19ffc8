/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc-addr: the envelope path parser and the domain
 * normaliser on raw bytes, NULs and all, as an SMTP client could send them.
 *
 * Besides crashes and sanitizer reports it checks properties a caller relies
 * on: a parsed address stays within the limits, its domain is already
 * normalised, errors are short printable log text, and printing an accepted
 * address back as a path parses to the same thing.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the longest message pc-addr writes, with room to spare */
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

static char *
fuzz_quote(const char *local)
{
	GString *out = g_string_new("\"");

	for (const char *p = local; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
	return g_string_free(out, FALSE);
}

/* "<route:local@domain>" from the parts must parse to the same parts */
static void
fuzz_check_reparse(const PcAddress *address)
{
	g_autofree char *local = NULL;
	g_autoptr(GString) path = g_string_new("<");
	g_autoptr(PcAddress) again = NULL;
	g_autoptr(GError) error = NULL;

	if (address->flags & PC_ADDR_FLAG_NULL)
		return;
	local = (address->flags & PC_ADDR_FLAG_QUOTED) ? fuzz_quote(address->local)
						       : g_strdup(address->local);
	if (address->route != NULL)
		g_string_append_printf(path, "%s:", address->route);
	g_string_append(path, local);
	if (address->domain[0] != '\0')
		g_string_append_printf(path, "@%s", address->domain);
	g_string_append_c(path, '>');

	if (!pc_addr_parse_path(path->str, path->len, &again, &error)) {
		/* re-quoting may cost octets that the original spelling did not */
		g_assert_error(error, PC_ADDR_ERROR, PC_ADDR_ERROR_TOO_LONG);
		return;
	}
	g_assert_cmpstr(again->local, ==, address->local);
	g_assert_cmpstr(again->domain, ==, address->domain);
	g_assert_cmpstr(again->route, ==, address->route);
	/*
	 * the normalised spelling of a mapped literal, or of one with leading
	 * zeros, is the plain IPv4 one, by design
	 */
	g_assert_cmphex(again->flags & ~(PC_ADDR_FLAG_NO_BRACKETS | PC_ADDR_FLAG_TRAILING_DOT |
					 PC_ADDR_FLAG_V4_MAPPED | PC_ADDR_FLAG_LEADING_ZERO),
			==,
			address->flags & ~(PC_ADDR_FLAG_NO_BRACKETS | PC_ADDR_FLAG_TRAILING_DOT |
					   PC_ADDR_FLAG_V4_MAPPED | PC_ADDR_FLAG_LEADING_ZERO));
}

static void
fuzz_check_address(const PcAddress *address)
{
	gboolean has_domain = address->domain[0] != '\0';

	g_assert_nonnull(address->local);
	g_assert_nonnull(address->domain);
	g_assert_cmpuint(strlen(address->local), <=, PC_ADDR_MAX_LOCAL);
	g_assert_cmpuint(strlen(address->domain), <=, PC_ADDR_MAX_DOMAIN);
	g_assert_cmpint(address->route != NULL, ==,
			(address->flags & PC_ADDR_FLAG_SOURCE_ROUTE) != 0);
	g_assert_cmpint(has_domain, ==,
			(address->flags & (PC_ADDR_FLAG_NO_DOMAIN | PC_ADDR_FLAG_NULL)) == 0);
	g_assert_cmpint(strchr(address->local, '@') != NULL, ==,
			(address->flags & PC_ADDR_FLAG_LOCAL_AT) != 0);
	if (has_domain) {
		g_autofree char *again =
		    pc_addr_normalize_domain(address->domain, strlen(address->domain));

		g_assert_cmpstr(again, ==, address->domain);
	}
	fuzz_check_reparse(address);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	g_autoptr(PcAddress) address = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *domain = NULL;

	if (pc_addr_parse_path(text, size, &address, &error))
		fuzz_check_address(address);
	else
		fuzz_check_error(error);

	domain = pc_addr_normalize_domain(text, size);
	if (domain != NULL) {
		g_autofree char *again = pc_addr_normalize_domain(domain, strlen(domain));

		g_assert_cmpstr(again, ==, domain);
		g_assert_cmpuint(strlen(domain), <=, PC_ADDR_MAX_DOMAIN);
		for (const char *p = domain; *p != '\0'; p++)
			g_assert_false(g_ascii_isupper(*p));
	}
	return 0;
}
