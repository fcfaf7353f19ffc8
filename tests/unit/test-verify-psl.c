/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for verify-psl: the organisational domain under each kind of rule
 * (normal, multi-label, wildcard, exception, none), every depth of name
 * under each, case and trailing dots, Unicode rules against A-label names,
 * what is not a name; the list's errors with file and line; and, when
 * Debian's list is installed, the cases libopendmarc 1.4.2 gets wrong
 * (a multi-label public suffix) against the real list.
 */
#include <string.h>

#include <glib.h>

#include "verify-psl.h"

static const char test_list[] =
    "// a comment\n"
    "\n"
    "com\n"
    "uk\n"
    "co.uk\n"
    "jp\n"
    "*.kawasaki.jp\n"
    "!city.kawasaki.jp\n"
    "*.ck\n"
    "!www.ck\n"
    "blogspot.com   // a private-section rule, with a comment after it\n"
    "\xe5\x85\xac\xe5\x8f\xb8.cn\n" /* U+516C U+53F8 .cn */
    "cn\n";

static VerifyPsl *
test_psl(void)
{
	g_autoptr(GError) error = NULL;
	VerifyPsl *psl = verify_psl_new_from_data(test_list, sizeof(test_list) - 1, "test", &error);

	g_assert_no_error(error);
	return psl;
}

static void
check(const VerifyPsl *psl, const char *domain, const char *want)
{
	g_autofree char *got = verify_psl_org_domain(psl, domain);

	if (g_strcmp0(got, want) != 0)
		g_error("%s: organisational domain %s, want %s", domain, got ? got : "(none)",
			want ? want : "(none)");
}

/* name under each public suffix, at every depth from the suffix to 4 labels below it */
static void
test_depths(void)
{
	g_autoptr(VerifyPsl) psl = test_psl();
	const struct {
		const char *suffix;
		/* the suffix is itself a name's organisational domain (a public suffix) */
		const char *below; /* a label that makes the organisational domain */
	} cases[] = {
	    {"com", "example"},
	    {"co.uk", "example"},
	    {"uk", "example"},
	    {"foo.kawasaki.jp", "example"},
	    {"blogspot.com", "alice"},
	    {"zz", "example"},
	    {"xn--55qx5d.cn", "example"},
	    {"cn", "example"},
	    {"foo.ck", "example"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *org = g_strconcat(cases[i].below, ".", cases[i].suffix, NULL);
		g_autoptr(GString) name = g_string_new(org);

		/* the public suffix alone is its own */
		check(psl, cases[i].suffix, cases[i].suffix);
		for (int depth = 0; depth < 4; depth++) {
			check(psl, name->str, org);
			g_string_prepend(name, depth % 2 == 0 ? "mail." : "a-b.");
		}
	}
}

static void
test_rules(void)
{
	g_autoptr(VerifyPsl) psl = test_psl();
	const struct {
		const char *domain;
		const char *want;
	} cases[] = {
	    /* exceptions stand for themselves less their leftmost label */
	    {"city.kawasaki.jp", "city.kawasaki.jp"},
	    {"www.city.kawasaki.jp", "city.kawasaki.jp"},
	    {"kawasaki.jp", "kawasaki.jp"},
	    {"www.ck", "www.ck"},
	    {"a.www.ck", "www.ck"},
	    {"ck", "ck"},
	    /* case and a trailing dot do not matter; the answer is in lower case */
	    {"Mail.Example.CO.UK", "example.co.uk"},
	    {"mail.example.com.", "example.com"},
	    /* what is not a name */
	    {"", NULL},
	    {".", NULL},
	    {"a..example.com", NULL},
	    {".example.com", NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		check(psl, cases[i].domain, cases[i].want);
	{
		g_autoptr(GString) long_name = g_string_new("example.com");

		while (long_name->len <= 253)
			g_string_prepend(long_name, "a.");
		check(psl, long_name->str, NULL);
	}
	g_assert_cmpuint(verify_psl_get_n_rules(psl), ==, 11);
}

static void
test_errors(void)
{
	const struct {
		const char *data;
		const char *message;
	} cases[] = {
	    {"", "list.dat: no rules"},
	    {"// only comments\n", "list.dat: no rules"},
	    {"com\n*.*.bad\n", "list.dat:2: '*.*.bad' is not a public suffix rule"},
	    {"com\n\n!*.bad\n", "list.dat:3: '!*.bad' is not a public suffix rule"},
	    {"a..b\n", "list.dat:1: 'a..b' is not a public suffix rule"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(VerifyPsl) psl = verify_psl_new_from_data(
		    cases[i].data, strlen(cases[i].data), "list.dat", &error);

		g_assert_null(psl);
		g_assert_nonnull(error);
		g_assert_cmpstr(error->message, ==, cases[i].message);
	}
}

/* Debian's list: multi-label suffixes, where strict alignment went wrong in libopendmarc 1.4.2 */
static void
test_debian_list(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyPsl) psl = NULL;
	const struct {
		const char *domain;
		const char *want;
	} cases[] = {
	    {"mail.example.co.uk", "example.co.uk"},
	    {"example.co.uk", "example.co.uk"},
	    {"a.b.example.com.au", "example.com.au"},
	    {"news.bbc.co.uk", "bbc.co.uk"},
	    {"alice.blogspot.com", "alice.blogspot.com"},
	    {"x.alice.blogspot.com", "alice.blogspot.com"},
	    {"example.com", "example.com"},
	    {"co.uk", "co.uk"},
	};

	if (!g_file_test(VERIFY_PSL_DEFAULT_FILE, G_FILE_TEST_EXISTS)) {
		g_test_skip("Debian's publicsuffix is not installed");
		return;
	}
	psl = verify_psl_load(VERIFY_PSL_DEFAULT_FILE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(verify_psl_get_n_rules(psl), >, 5000);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		check(psl, cases[i].domain, cases[i].want);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/verify/psl/depths", test_depths);
	g_test_add_func("/verify/psl/rules", test_rules);
	g_test_add_func("/verify/psl/errors", test_errors);
	g_test_add_func("/verify/psl/debian-list", test_debian_list);
	return g_test_run();
}
