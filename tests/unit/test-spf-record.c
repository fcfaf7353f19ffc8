/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-spf-record: which TXT records are SPF records, and the
 * strict reading of RFC 7208's ABNF term by term (each case's canonical
 * form, or the error), including the syntax errors libspf2 1.2.10 let
 * through and the CIDR /0 it refused; the bounds; round trips.
 */
#include <string.h>

#include <glib.h>

#include "pc-spf-record.h"

typedef struct {
	const char *label;
	const char *record;
	const char *want; /* canonical form; NULL: an error */
	int want_code;
	const char *want_message; /* part of the error message */
} RecordCase;

static const RecordCase record_cases[] = {
    /* version and separators */
    {.label = "empty", .record = "v=spf1", .want = "v=spf1"},
    {.label = "case", .record = "V=SpF1 -ALL", .want = "v=spf1 -all"},
    {.label = "two spaces", .record = "v=spf1  a  -all", .want = "v=spf1 a -all"},
    {.label = "trailing space", .record = "v=spf1 -all ", .want = "v=spf1 -all"},
    {.label = "tab", .record = "v=spf1\t-all", .want_message = "not an SPF version 1 record"},
    {.label = "tab between terms", .record = "v=spf1 a\t-all", .want_message = "unknown mechanism"},
    {.label = "cr", .record = "v=spf1 a:x.example\rptr", .want_message = "character not allowed"},
    {.label = "lf", .record = "v=spf1 ip4:192.0.2.5\n", .want_message = "bad IPv4 network"},
    {.label = "spf10", .record = "v=spf10", .want_message = "not an SPF version 1 record"},
    {.label = "8-bit mechanism",
     .record = "v=spf1 \x96"
	       "all",
     .want_message = "unknown mechanism"},
    /* all */
    {.label = "all", .record = "v=spf1 +all", .want = "v=spf1 all"},
    {.label = "all qualifiers", .record = "v=spf1 ?all ~all -all", .want = "v=spf1 ?all ~all -all"},
    {.label = "all dot", .record = "v=spf1 -all.", .want_message = "unknown mechanism"},
    {.label = "all arg", .record = "v=spf1 -all:foo", .want_message = "takes no argument"},
    {.label = "all cidr", .record = "v=spf1 -all/8", .want_message = "takes no argument"},
    /* ip4 and ip6 */
    {.label = "ip4", .record = "v=spf1 ip4:192.0.2.0/24", .want = "v=spf1 ip4:192.0.2.0/24"},
    {.label = "ip4 /32", .record = "v=spf1 ip4:192.0.2.1/32", .want = "v=spf1 ip4:192.0.2.1"},
    {.label = "ip4 /0", .record = "v=spf1 ip4:0.0.0.0/0", .want = "v=spf1 ip4:0.0.0.0/0"},
    {.label = "ip4 /33", .record = "v=spf1 ip4:1.2.3.4/33", .want_message = "bad prefix length"},
    {.label = "ip4 /032", .record = "v=spf1 ip4:1.2.3.4/032", .want_message = "bad prefix length"},
    {.label = "ip4 dual", .record = "v=spf1 ip4:1.2.3.4//32", .want_message = "bad prefix length"},
    {.label = "ip4 short", .record = "v=spf1 ip4:1.2.3", .want_message = "bad IPv4 network"},
    {.label = "ip4 port", .record = "v=spf1 ip4:1.2.3.4:8080", .want_message = "bad IPv4 network"},
    {.label = "ip4 leading zero",
     .record = "v=spf1 ip4:01.2.3.4",
     .want_message = "bad IPv4 network"},
    {.label = "ip4 256", .record = "v=spf1 ip4:1.2.3.256", .want_message = "bad IPv4 network"},
    {.label = "ip4 bare", .record = "v=spf1 ip4", .want_message = "network missing"},
    {.label = "ip4 empty prefix",
     .record = "v=spf1 ip4:1.2.3.4/",
     .want_message = "bad prefix length"},
    {.label = "ip6", .record = "v=spf1 ip6:2001:DB8::/32", .want = "v=spf1 ip6:2001:db8::/32"},
    {.label = "ip6 /0", .record = "v=spf1 ip6:::1.1.1.1/0", .want = "v=spf1 ip6:::101:101/0"},
    {.label = "ip6 mapped",
     .record = "v=spf1 ip6:::FFFF:1.2.3.4",
     .want = "v=spf1 ip6:::ffff:1.2.3.4"},
    {.label = "ip6 /129", .record = "v=spf1 ip6:::1/129", .want_message = "bad prefix length"},
    {.label = "ip6 dual", .record = "v=spf1 ip6:::1//33", .want_message = "bad prefix length"},
    {.label = "ip6 bad", .record = "v=spf1 ip6::CAFE::BABE", .want_message = "bad IPv6 network"},
    {.label = "ip6 bare", .record = "v=spf1 -all ip6", .want_message = "network missing"},
    {.label = "ip6 zone", .record = "v=spf1 ip6:fe80::1%eth0", .want_message = "bad IPv6 network"},
    /* a and mx: domain-spec and dual-cidr-length */
    {.label = "a", .record = "v=spf1 a", .want = "v=spf1 a"},
    {.label = "a /0", .record = "v=spf1 a/0", .want = "v=spf1 a/0"},
    {.label = "a //0", .record = "v=spf1 a//0", .want = "v=spf1 a//0"},
    {.label = "a dual",
     .record = "v=spf1 a:x.example.com/24//64",
     .want = "v=spf1 a:x.example.com/24//64"},
    {.label = "a /24/64", .record = "v=spf1 a/24/64", .want_message = "bad prefix length"},
    {.label = "a /33", .record = "v=spf1 a/33", .want_message = "bad prefix length"},
    {.label = "a //129", .record = "v=spf1 a//129", .want_message = "bad prefix length"},
    {.label = "a //33", .record = "v=spf1 a//33", .want = "v=spf1 a//33"},
    {.label = "a colon slash",
     .record = "v=spf1 a:foo:bar/baz.example.com",
     .want = "v=spf1 a:foo:bar/baz.example.com"},
    {.label = "a numeric", .record = "v=spf1 a:111.222.33.44", .want_message = "top label"},
    {.label = "a toplabel only", .record = "v=spf1 a:museum", .want_message = "top label"},
    {.label = "a toplabel dot", .record = "v=spf1 a:museum.", .want_message = "top label"},
    {.label = "a port", .record = "v=spf1 a:example.com:8080", .want_message = "top label"},
    {.label = "a dash toplabel", .record = "v=spf1 a:example.-com", .want_message = "top label"},
    {.label = "a idn toplabel",
     .record = "v=spf1 a:foo.example.xn--zckzah",
     .want = "v=spf1 a:foo.example.xn--zckzah"},
    {.label = "a empty", .record = "v=spf1 a:", .want_message = "empty domain-spec"},
    {.label = "a nul", .record = "v=spf1 a:foo.example.com\0", .want_message = "\\x00"},
    {.label = "a macro end", .record = "v=spf1 a:%{H} -all", .want = "v=spf1 a:%{H} -all"},
    {.label = "a macros",
     .record = "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
     .want = "v=spf1 a:macro%%percent%_%_space%-url-space.example.com"},
    {.label = "a bad macro", .record = "v=spf1 a:%{a}.example.com", .want_message = "macro letter"},
    {.label = "a r macro",
     .record = "v=spf1 a:%{r}.example.com",
     .want_message = "only in explanations"},
    {.label = "a empty label",
     .record = "v=spf1 a:mail.example...com",
     .want = "v=spf1 a:mail.example...com"},
    {.label = "a junk", .record = "v=spf1 ax", .want_message = "unknown mechanism"},
    {.label = "mx", .record = "v=spf1 MX:Example.COM//64", .want = "v=spf1 mx:Example.COM//64"},
    {.label = "mx empty", .record = "v=spf1 mx: -all", .want_message = "empty domain-spec"},
    /* ptr, include, exists */
    {.label = "ptr", .record = "v=spf1 ptr ptr:example.com", .want = "v=spf1 ptr ptr:example.com"},
    {.label = "ptr cidr", .record = "v=spf1 ptr/0", .want_message = "no prefix length"},
    {.label = "ptr empty", .record = "v=spf1 ptr:", .want_message = "empty domain-spec"},
    {.label = "include",
     .record = "v=spf1 include:_spf.example.com ~all",
     .want = "v=spf1 include:_spf.example.com ~all"},
    {.label = "include bare",
     .record = "v=spf1 include -all",
     .want_message = "domain-spec missing"},
    {.label = "include cidr",
     .record = "v=spf1 include:x.example.com/24",
     .want_message = "top label"},
    {.label = "exists",
     .record = "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}",
     .want = "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}"},
    {.label = "exists bare", .record = "v=spf1 exists", .want_message = "domain-spec missing"},
    {.label = "exists cidr",
     .record = "v=spf1 exists:x.example.com/24",
     .want_message = "top label"},
    {.label = "exists bad percent",
     .record = "v=spf1 -exists:%(ir).sbl.example.com",
     .want_message = "'%' not followed"},
    /* modifiers */
    {.label = "redirect",
     .record = "v=spf1 redirect=_spf.example.com",
     .want = "v=spf1 redirect=_spf.example.com"},
    {.label = "modifiers case",
     .record = "v=spf1 REDIRECT=a.example.com Exp=b.example.com",
     .want = "v=spf1 redirect=a.example.com exp=b.example.com"},
    {.label = "redirect twice",
     .record = "v=spf1 redirect=a.example.com redirect=a.example.com",
     .want_message = "given twice"},
    {.label = "exp twice",
     .record = "v=spf1 exp=a.example.com -all exp=b.example.com",
     .want_message = "given twice"},
    {.label = "redirect empty", .record = "v=spf1 ?all redirect=", .want_message = "empty"},
    {.label = "exp empty", .record = "v=spf1 exp= -all", .want_message = "empty"},
    {.label = "exp not a domain", .record = "v=spf1 exp=-all", .want_message = "top label"},
    {.label = "exp r",
     .record = "v=spf1 -all exp=%{r}.example.com",
     .want_message = "only in explanations"},
    {.label = "redirect colon",
     .record = "v=spf1 redirect:a.example.com",
     .want_message = "unknown mechanism"},
    {.label = "unknown modifier",
     .record = "v=spf1 moo.cow-far_out=man:dog/cat -all",
     .want = "v=spf1 -all"},
    {.label = "unknown modifier empty", .record = "v=spf1 default= -all", .want = "v=spf1 -all"},
    {.label = "unknown modifier crt", .record = "v=spf1 x=%{c}%{r}%{t}", .want = "v=spf1"},
    {.label = "unknown modifier bad macro",
     .record = "v=spf1 -all foo=%abc",
     .want_message = "bad modifier value"},
    {.label = "modifier name slash",
     .record = "v=spf1 moo.cow/far_out=man:dog/cat",
     .want_message = "unknown mechanism"},
    {.label = "modifier digit", .record = "v=spf1 1up=foo", .want_message = "unknown mechanism"},
    {.label = "modifier empty name", .record = "v=spf1 =all", .want_message = "unknown mechanism"},
    {.label = "qualified modifier",
     .record = "v=spf1 -foo=bar",
     .want_message = "unknown mechanism"},
    /* an error after a mechanism that would match is still an error */
    {.label = "error anywhere",
     .record = "v=spf1 ip4:1.2.3.4 -all moo",
     .want_message = "unknown mechanism"},
};

static void
test_parse(gconstpointer data)
{
	const RecordCase *c = data;
	g_autoptr(PcSpfRecord) record = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = strlen(c->record);

	/* the one case with a NUL in it */
	if (g_str_has_suffix(c->label, "nul"))
		len++;
	if (c->want == NULL) {
		g_assert_false(pc_spf_record_parse(c->record, len, &record, &error));
		g_assert_null(record);
		g_assert_error(error, PC_SPF_RECORD_ERROR, c->want_code);
		g_test_message("%s: %s", c->label, error->message);
		g_assert_nonnull(strstr(error->message, c->want_message));
		return;
	}
	g_assert_true(pc_spf_record_parse(c->record, len, &record, &error));
	g_assert_no_error(error);
	{
		g_autofree char *text = pc_spf_record_to_string(record);
		g_autoptr(PcSpfRecord) again = NULL;
		g_autofree char *again_text = NULL;

		g_assert_cmpstr(text, ==, c->want);
		/* the canonical form reads back to itself */
		g_assert_true(pc_spf_record_parse(text, strlen(text), &again, NULL));
		again_text = pc_spf_record_to_string(again);
		g_assert_cmpstr(again_text, ==, text);
	}
}

typedef struct {
	const char *text;
	gboolean want;
} Spf1Case;

static void
test_is_spf1(void)
{
	static const Spf1Case cases[] = {
	    {"v=spf1", TRUE},	{"v=spf1 -all", TRUE},	 {"V=SPF1 -all", TRUE}, {"v=spf1mx", FALSE},
	    {"v=spf10", FALSE}, {"v=spf1\t", FALSE},	 {"spf1", FALSE},	{"", FALSE},
	    {" v=spf1", FALSE}, {"v=spf2.0/pra", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(pc_spf_record_is_spf1(cases[i].text, strlen(cases[i].text)), ==,
				cases[i].want);
}

static void
test_record_fields(void)
{
	g_autoptr(PcSpfRecord) record = NULL;
	const char *text =
	    "v=spf1 a mx ip4:192.0.2.0/24 include:x.example ptr exists:%{i}.x.example "
	    "all redirect=y.example foo=bar";
	const PcSpfTerm *term;

	g_assert_true(pc_spf_record_parse(text, strlen(text), &record, NULL));
	g_assert_cmpuint(record->terms->len, ==, 7);
	g_assert_cmpuint(record->dns_terms, ==, 5);
	g_assert_cmpuint(record->unknown_mods, ==, 1);
	g_assert_true(record->has_all);
	g_assert_cmpstr(record->redirect, ==, "y.example");
	term = &g_array_index(record->terms, PcSpfTerm, 2);
	g_assert_cmpint(term->mechanism, ==, PC_SPF_MECH_IP4);
	g_assert_cmpuint(term->ip4_prefix, ==, 24);
	g_assert_true(pc_net_address_is_v4(&term->network));
	term = &g_array_index(record->terms, PcSpfTerm, 0);
	g_assert_null(term->domain_spec);
	g_assert_cmpuint(term->ip4_prefix, ==, 32);
	g_assert_cmpuint(term->ip6_prefix, ==, 128);
}

static void
test_bounds(void)
{
	g_autoptr(GString) text = g_string_new("v=spf1");
	g_autoptr(PcSpfRecord) record = NULL;
	g_autoptr(GError) error = NULL;

	/* 256 terms are fine (as many as fit), 257 are not */
	for (guint i = 0; i < PC_SPF_RECORD_MAX_TERMS; i++)
		g_string_append(text, " a");
	g_assert_true(pc_spf_record_parse(text->str, text->len, &record, &error));
	g_assert_no_error(error);
	g_clear_pointer(&record, pc_spf_record_free);
	g_string_append(text, " a");
	g_assert_false(pc_spf_record_parse(text->str, text->len, &record, &error));
	g_assert_error(error, PC_SPF_RECORD_ERROR, PC_SPF_RECORD_ERROR_TOO_LONG);
	g_clear_error(&error);
	/* a record over 4 KiB is refused whole, never cut */
	g_string_truncate(text, 6);
	while (text->len <= PC_SPF_RECORD_MAX)
		g_string_append(text, " ip4:192.0.2.1");
	g_assert_false(pc_spf_record_parse(text->str, text->len, &record, &error));
	g_assert_error(error, PC_SPF_RECORD_ERROR, PC_SPF_RECORD_ERROR_TOO_LONG);
}

/* a record need not be NUL-terminated: the parser never reads past len */
static void
test_not_terminated(void)
{
	const char *text = "v=spf1 ip6:2001:db8::1 mxXXXX";
	g_autoptr(PcSpfRecord) record = NULL;
	g_autofree char *canonical = NULL;

	g_assert_true(pc_spf_record_parse(text, strlen(text) - 4, &record, NULL));
	canonical = pc_spf_record_to_string(record);
	g_assert_cmpstr(canonical, ==, "v=spf1 ip6:2001:db8::1 mx");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(record_cases); i++) {
		g_autofree char *label = g_strdelimit(g_strdup(record_cases[i].label), " /", '-');
		g_autofree char *path = g_strconcat("/pc/spf-record/parse/", label, NULL);

		g_test_add_data_func(path, &record_cases[i], test_parse);
	}
	g_test_add_func("/pc/spf-record/is-spf1", test_is_spf1);
	g_test_add_func("/pc/spf-record/fields", test_record_fields);
	g_test_add_func("/pc/spf-record/bounds", test_bounds);
	g_test_add_func("/pc/spf-record/not-terminated", test_not_terminated);
	return g_test_run();
}
