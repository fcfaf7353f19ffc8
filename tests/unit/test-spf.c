/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-spf: the result mapping (RFC 7208 5.2's include table, what
 * each DNS status means to a mechanism, the words), which domains can be
 * checked, and check_host() on pc-dns's local data (no server, no network):
 * the limits counted across includes (libspf2 counted per record), void
 * lookups, MX and PTR names, explanations, the message budget, both
 * identities. The real DNS server and the RFC 7208 suite are tests/spf.
 */
#include <string.h>

#include <glib.h>

#include "pc-spf.h"

/* ------------------------------------------------------------- mapping */

static void
test_result_words(void)
{
	static const char *const words[] = {"none",	"neutral",   "pass",	 "fail",
					    "softfail", "temperror", "permerror"};

	g_assert_cmpuint(G_N_ELEMENTS(words), ==, PC_SPF_N_RESULTS);
	for (guint i = 0; i < PC_SPF_N_RESULTS; i++) {
		PcSpfResult back;

		g_assert_cmpstr(pc_spf_result_to_string(i), ==, words[i]);
		g_assert_true(pc_spf_result_from_string(words[i], &back));
		g_assert_cmpint(back, ==, i);
	}
	g_assert_false(pc_spf_result_from_string("invalid", &(PcSpfResult){0}));
	g_assert_cmpstr(pc_spf_identity_to_string(PC_SPF_IDENTITY_MAILFROM), ==, "mailfrom");
	g_assert_cmpstr(pc_spf_identity_to_string(PC_SPF_IDENTITY_HELO), ==, "helo");
}

typedef struct {
	PcSpfResult included;
	PcSpfResult want;
	gboolean want_match;
} IncludeCase;

/* RFC 7208 5.2 */
static void
test_result_of_include(void)
{
	static const IncludeCase cases[] = {
	    {PC_SPF_PASS, PC_SPF_NONE, TRUE},
	    {PC_SPF_FAIL, PC_SPF_NONE, FALSE},
	    {PC_SPF_SOFTFAIL, PC_SPF_NONE, FALSE},
	    {PC_SPF_NEUTRAL, PC_SPF_NONE, FALSE},
	    {PC_SPF_TEMPERROR, PC_SPF_TEMPERROR, FALSE},
	    {PC_SPF_PERMERROR, PC_SPF_PERMERROR, FALSE},
	    {PC_SPF_NONE, PC_SPF_PERMERROR, FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gboolean match = !cases[i].want_match;

		g_assert_cmpint(pc_spf_result_of_include(cases[i].included, &match), ==,
				cases[i].want);
		g_assert_cmpint(match, ==, cases[i].want_match);
	}
}

typedef struct {
	PcDnsStatus status;
	PcSpfResult want;
	gboolean want_void;
} LookupCase;

/* RFC 7208 5 and 4.6.4: every failure to find out is a temperror, never a no-match */
static void
test_result_of_lookup(void)
{
	static const LookupCase cases[] = {
	    {PC_DNS_OK, PC_SPF_PASS, FALSE},
	    {PC_DNS_NODATA, PC_SPF_NONE, TRUE},
	    {PC_DNS_NXDOMAIN, PC_SPF_NONE, TRUE},
	    {PC_DNS_BADNAME, PC_SPF_NONE, FALSE},
	    {PC_DNS_SERVFAIL, PC_SPF_TEMPERROR, FALSE},
	    {PC_DNS_TIMEOUT, PC_SPF_TEMPERROR, FALSE},
	    {PC_DNS_BUDGET, PC_SPF_TEMPERROR, FALSE},
	    {PC_DNS_RESOLVER_ERROR, PC_SPF_TEMPERROR, FALSE},
	};

	g_assert_cmpuint(G_N_ELEMENTS(cases), ==, PC_DNS_N_STATUS);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gboolean is_void = !cases[i].want_void;

		g_assert_cmpint(pc_spf_result_of_lookup(cases[i].status, &is_void), ==,
				cases[i].want);
		g_assert_cmpint(is_void, ==, cases[i].want_void);
	}
}

typedef struct {
	const char *domain;
	gboolean want;
} CheckableCase;

/* RFC 7208 4.3 */
static void
test_domain_is_checkable(void)
{
	g_autofree char *a64 = g_strnfill(64, 'a');
	g_autofree char *long_label = g_strdup_printf("%s.example.com", a64);
	g_autofree char *label_63 = g_strdup_printf("%s.example.com", a64 + 1);
	static const CheckableCase cases[] = {
	    {"example.com", TRUE},
	    {"example.com.", TRUE},
	    {"a.b.c.example", TRUE},
	    {"_spf.example.com", TRUE},
	    {"xn--bcher-kva.example", TRUE},
	    {"localhost", FALSE},
	    {"A2345678", FALSE},
	    {"[192.0.2.1]", FALSE},
	    {"192.0.2.1", FALSE},
	    {"a..example.com", FALSE},
	    {".example.com", FALSE},
	    {"", FALSE},
	    {"example.com..", FALSE},
	    {"exa mple.com", FALSE},
	    {"caf\xc3\xa9.example", FALSE},
	    {"a.1-2", TRUE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s", cases[i].domain);
		g_assert_cmpint(pc_spf_domain_is_checkable(cases[i].domain), ==, cases[i].want);
	}
	g_assert_false(pc_spf_domain_is_checkable(NULL));
	g_assert_false(pc_spf_domain_is_checkable(long_label));
	g_assert_true(pc_spf_domain_is_checkable(label_63));
}

/* ----------------------------------------------- checks on local data */

static const char *const unused_forwarder[] = {"127.0.0.1@9", NULL};

static const char *const local_zones[] = {
    "example.test. static",
    "2.0.192.in-addr.arpa. static",
    NULL,
};

static const char *const local_data[] = {
    "example.test. 60 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60",
    "2.0.192.in-addr.arpa. 60 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 "
    "60",
    "pass.example.test. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 \" \"-all\"",
    "v6.example.test. 300 IN TXT \"v=spf1 ip6:2001:db8::/32 a -all\"",
    "v6.example.test. 300 IN AAAA 2001:db8:ffff::1",
    /* eleven terms that look up DNS over three records: a permerror */
    "limit.example.test. 300 IN TXT \"v=spf1 include:l1.example.test ip4:192.0.2.10 -all\"",
    "l1.example.test. 300 IN TXT \"v=spf1 a:h.example.test a:h.example.test a:h.example.test "
    "a:h.example.test a:h.example.test include:l2.example.test\"",
    "l2.example.test. 300 IN TXT \"v=spf1 a:h.example.test a:h.example.test a:h.example.test "
    "a:h.example.test\"",
    /* ten: fine */
    "ten.example.test. 300 IN TXT \"v=spf1 include:l2.example.test include:l2.example.test "
    "ip4:192.0.2.10 -all\"",
    "h.example.test. 300 IN A 203.0.113.1",
    "void.example.test. 300 IN TXT \"v=spf1 a:n1.example.test mx:n2.example.test "
    "exists:n3.example.test +all\"",
    "void2.example.test. 300 IN TXT \"v=spf1 a:n1.example.test a:n2.example.test ?all\"",
    "mx11.example.test. 300 IN TXT \"v=spf1 mx ?all\"",
    "mx11.example.test. 300 IN MX 1 m1.example.test.",
    "mx11.example.test. 300 IN MX 2 m2.example.test.",
    "mx11.example.test. 300 IN MX 3 m3.example.test.",
    "mx11.example.test. 300 IN MX 4 m4.example.test.",
    "mx11.example.test. 300 IN MX 5 m5.example.test.",
    "mx11.example.test. 300 IN MX 6 m6.example.test.",
    "mx11.example.test. 300 IN MX 7 m7.example.test.",
    "mx11.example.test. 300 IN MX 8 m8.example.test.",
    "mx11.example.test. 300 IN MX 9 m9.example.test.",
    "mx11.example.test. 300 IN MX 10 m10.example.test.",
    "mx11.example.test. 300 IN MX 11 m11.example.test.",
    "mx.example.test. 300 IN TXT \"v=spf1 mx/24 -all\"",
    "mx.example.test. 300 IN MX 10 mail.example.test.",
    "mx.example.test. 300 IN MX 20 .",
    "mail.example.test. 300 IN A 192.0.2.10",
    "10.2.0.192.in-addr.arpa. 300 IN PTR mail.example.test.",
    "10.2.0.192.in-addr.arpa. 300 IN PTR forged.example.test.",
    "ptr.example.test. 300 IN TXT \"v=spf1 ptr -all\"",
    "ptr2.example.test. 300 IN TXT \"v=spf1 ptr:example.test -all\"",
    "pmacro.example.test. 300 IN TXT \"v=spf1 exists:%{p}.ok.example.test -all\"",
    "mail.example.test.ok.example.test. 300 IN A 127.0.0.2",
    "exp.example.test. 300 IN TXT \"v=spf1 -all exp=why.%{d}\"",
    "why.exp.example.test. 300 IN TXT \"%{i} is not one of %{d}'s, %{l}\"",
    "two.example.test. 300 IN TXT \"v=spf1 +all\"",
    "two.example.test. 300 IN TXT \"v=spf1 -all\"",
    "other.example.test. 300 IN TXT \"google-site-verification=x\"",
    "bad.example.test. 300 IN TXT \"v=spf1 ip4:192.0.2.10 -all moo\"",
    "incnone.example.test. 300 IN TXT \"v=spf1 include:other.example.test -all\"",
    NULL,
};

static PcDns *
local_resolver(void)
{
	PcDnsOptions options = {
	    .mode = PC_DNS_MODE_FORWARD,
	    .forwarders = unused_forwarder,
	    .local_zones = local_zones,
	    .local_data = local_data,
	};
	g_autoptr(GError) error = NULL;
	PcDns *dns = pc_dns_new(&options, &error);

	g_assert_no_error(error);
	return dns;
}

typedef struct {
	const char *label;
	const char *ip;
	const char *local_part;
	const char *domain; /* "" : MAIL FROM:<> */
	const char *helo;
	PcSpfResult want;
	const char *want_reason;      /* part of the reason */
	const char *want_explanation; /* exactly; NULL: not compared */
	guint want_terms;
	guint want_voids;
} CheckCase;

static const CheckCase check_cases[] = {
    {.label = "pass",
     .ip = "192.0.2.10",
     .domain = "pass.example.test",
     .want = PC_SPF_PASS,
     .want_reason = "ip4:192.0.2.0/24 in pass.example.test"},
    {.label = "fail default explanation",
     .ip = "198.51.100.1",
     .domain = "pass.example.test",
     .want = PC_SPF_FAIL,
     .want_reason = "-all in pass.example.test",
     .want_explanation = "pass.example.test does not designate 198.51.100.1 as permitted sender"},
    {.label = "mapped client",
     .ip = "::ffff:192.0.2.10",
     .domain = "pass.example.test",
     .want = PC_SPF_PASS},
    {.label = "ip6", .ip = "2001:db8::1", .domain = "v6.example.test", .want = PC_SPF_PASS},
    {.label = "a ip6",
     .ip = "2001:db8:ffff::1",
     .domain = "v6.example.test.",
     .want = PC_SPF_PASS,
     .want_terms = 0},
    {.label = "ip4 client ip6 record",
     .ip = "192.0.2.10",
     .domain = "v6.example.test",
     .want = PC_SPF_FAIL,
     .want_terms = 1,
     .want_voids = 1,
     .want_explanation = "v6.example.test does not designate 192.0.2.10 as permitted sender"},
    /* the limit is the check's, not the record's */
    {.label = "eleven terms across includes",
     .ip = "192.0.2.10",
     .domain = "limit.example.test",
     .want = PC_SPF_PERMERROR,
     .want_reason = "more than 10 DNS lookups",
     .want_terms = 11},
    {.label = "ten terms",
     .ip = "192.0.2.10",
     .domain = "ten.example.test",
     .want = PC_SPF_PASS,
     .want_terms = 10},
    {.label = "three void",
     .ip = "192.0.2.10",
     .domain = "void.example.test",
     .want = PC_SPF_PERMERROR,
     .want_reason = "more than 2 void",
     .want_voids = 3},
    {.label = "two void",
     .ip = "192.0.2.10",
     .domain = "void2.example.test",
     .want = PC_SPF_NEUTRAL,
     .want_voids = 2},
    {.label = "eleven mx",
     .ip = "192.0.2.10",
     .domain = "mx11.example.test",
     .want = PC_SPF_PERMERROR,
     .want_reason = "more than 10 MX names"},
    {.label = "mx prefix and null mx",
     .ip = "192.0.2.77",
     .domain = "mx.example.test",
     .want = PC_SPF_PASS,
     .want_reason = "mx/24"},
    {.label = "ptr",
     .ip = "192.0.2.10",
     .domain = "ptr.example.test",
     .want = PC_SPF_FAIL,
     .want_reason = "-all"},
    {.label = "ptr target",
     .ip = "192.0.2.10",
     .domain = "ptr2.example.test",
     .want = PC_SPF_PASS,
     .want_reason = "ptr:example.test"},
    {.label = "ptr no name",
     .ip = "192.0.2.11",
     .domain = "ptr2.example.test",
     .want = PC_SPF_FAIL,
     .want_voids = 1},
    {.label = "p macro", .ip = "192.0.2.10", .domain = "pmacro.example.test", .want = PC_SPF_PASS},
    {.label = "explanation",
     .ip = "192.0.2.10",
     .local_part = "jo",
     .domain = "exp.example.test",
     .want = PC_SPF_FAIL,
     .want_explanation = "192.0.2.10 is not one of exp.example.test's, jo"},
    {.label = "explanation not ascii",
     .ip = "192.0.2.10",
     .local_part = "j\xc3\xb6rg",
     .domain = "exp.example.test",
     .want = PC_SPF_FAIL,
     .want_explanation = "exp.example.test does not designate 192.0.2.10 as permitted sender"},
    {.label = "two records",
     .ip = "192.0.2.10",
     .domain = "two.example.test",
     .want = PC_SPF_PERMERROR,
     .want_reason = "more than one SPF record"},
    {.label = "no spf record",
     .ip = "192.0.2.10",
     .domain = "other.example.test",
     .want = PC_SPF_NONE,
     .want_reason = "no SPF record"},
    {.label = "nxdomain",
     .ip = "192.0.2.10",
     .domain = "nowhere.example.test",
     .want = PC_SPF_NONE},
    {.label = "syntax error after a match",
     .ip = "192.0.2.10",
     .domain = "bad.example.test",
     .want = PC_SPF_PERMERROR,
     .want_reason = "unknown mechanism in 'moo'"},
    {.label = "include of none",
     .ip = "192.0.2.10",
     .domain = "incnone.example.test",
     .want = PC_SPF_PERMERROR,
     .want_reason = "no SPF record"},
    {.label = "literal", .ip = "192.0.2.10", .domain = "[192.0.2.10]", .want = PC_SPF_NONE},
    /* MAIL FROM:<>: the HELO identity */
    {.label = "null sender",
     .ip = "192.0.2.10",
     .domain = "",
     .helo = "pass.example.test",
     .want = PC_SPF_PASS},
    {.label = "null sender bad helo",
     .ip = "192.0.2.10",
     .domain = "",
     .helo = "[192.0.2.10]",
     .want = PC_SPF_NONE},
};

static void
test_check(gconstpointer data)
{
	const CheckCase *c = data;
	g_autoptr(PcDns) dns = local_resolver();
	PcDnsBudget budget;
	PcSpfOptions options = {.dns = dns, .budget = &budget, .timestamp = 1700000000};
	g_autoptr(PcSpfOutcome) outcome = NULL;
	PcNetAddress ip;

	pc_dns_budget_init(&budget, 20 * G_USEC_PER_SEC, 5 * G_USEC_PER_SEC);
	g_assert_true(pc_net_address_parse(c->ip, &ip));
	outcome = pc_spf_check_mail_from(&options, &ip, c->local_part, c->domain, c->helo);
	g_test_message("%s: %s (%s)", c->label, pc_spf_result_to_string(outcome->result),
		       outcome->reason);
	g_assert_cmpstr(pc_spf_result_to_string(outcome->result), ==,
			pc_spf_result_to_string(c->want));
	g_assert_cmpint(outcome->identity, ==,
			*c->domain == '\0' ? PC_SPF_IDENTITY_HELO : PC_SPF_IDENTITY_MAILFROM);
	if (c->want_reason != NULL)
		g_assert_nonnull(strstr(outcome->reason, c->want_reason));
	/* a fail always has an explanation, nothing else has one */
	if (c->want_explanation != NULL)
		g_assert_cmpstr(outcome->explanation, ==, c->want_explanation);
	g_assert_true((outcome->explanation != NULL) == (outcome->result == PC_SPF_FAIL));
	if (c->want_terms > 0)
		g_assert_cmpuint(outcome->dns_terms, ==, c->want_terms);
	g_assert_cmpuint(outcome->void_lookups, ==, c->want_voids);
	/* whatever the result, the budget was charged by what was asked */
	g_assert_cmpuint(budget.queries, ==, outcome->queries);
}

/* a spent budget: the query is not even sent, and the result is temperror, never a pass */
static void
test_budget_spent(void)
{
	g_autoptr(PcDns) dns = local_resolver();
	PcDnsBudget budget;
	PcSpfOptions options = {.dns = dns, .budget = &budget};
	g_autoptr(PcSpfOutcome) outcome = NULL;
	PcNetAddress ip;

	pc_dns_budget_init(&budget, 0, 5 * G_USEC_PER_SEC);
	g_assert_true(pc_net_address_parse("192.0.2.10", &ip));
	outcome = pc_spf_check_mail_from(&options, &ip, "a", "pass.example.test", NULL);
	g_assert_cmpint(outcome->result, ==, PC_SPF_TEMPERROR);
	g_assert_nonnull(strstr(outcome->reason, "DNS budget for TXT pass.example.test"));
	g_assert_null(outcome->explanation);
}

/* the HELO identity: postmaster@helo, reported with the name as given */
static void
test_helo(void)
{
	g_autoptr(PcDns) dns = local_resolver();
	PcSpfOptions options = {.dns = dns};
	g_autoptr(PcSpfOutcome) pass = NULL;
	g_autoptr(PcSpfOutcome) none = NULL;
	g_autoptr(PcSpfOutcome) unset = NULL;
	PcNetAddress ip;

	g_assert_true(pc_net_address_parse("192.0.2.10", &ip));
	pass = pc_spf_check_helo(&options, &ip, "Pass.Example.Test.");
	g_assert_cmpint(pass->result, ==, PC_SPF_PASS);
	g_assert_cmpint(pass->identity, ==, PC_SPF_IDENTITY_HELO);
	g_assert_cmpstr(pass->domain, ==, "Pass.Example.Test");
	none = pc_spf_check_helo(&options, &ip, "OEMCOMPUTER");
	g_assert_cmpint(none->result, ==, PC_SPF_NONE);
	g_assert_cmpuint(none->queries, ==, 0);
	unset = pc_spf_check_helo(&options, &ip, NULL);
	g_assert_cmpint(unset->result, ==, PC_SPF_NONE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pc/spf/result-words", test_result_words);
	g_test_add_func("/pc/spf/result-of-include", test_result_of_include);
	g_test_add_func("/pc/spf/result-of-lookup", test_result_of_lookup);
	g_test_add_func("/pc/spf/domain-is-checkable", test_domain_is_checkable);
	for (gsize i = 0; i < G_N_ELEMENTS(check_cases); i++) {
		g_autofree char *label = g_strdelimit(g_strdup(check_cases[i].label), " /", '-');
		g_autofree char *path = g_strconcat("/pc/spf/check/", label, NULL);

		g_test_add_data_func(path, &check_cases[i], test_check);
	}
	g_test_add_func("/pc/spf/budget-spent", test_budget_spent);
	g_test_add_func("/pc/spf/helo", test_helo);
	return g_test_run();
}
