/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-dns without a DNS server: names and record data in wire form,
 * result mapping, the budget's arithmetic on injected time, the [global]
 * keys, and the resolver answering from its own local data (libunbound's
 * local zones: no network). tests/dns/ runs it against a real server.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "pc-config.h"
#include "pc-dns-private.h"
#include "pc-dns.h"
#include "pc-stats.h"

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)
#define MS(ms) ((gint64)(ms)*1000)

/* --------------------------------------------------------------- statuses */

static void
test_status_from_answer(void)
{
	static const struct {
		int rcode;
		gboolean have_data;
		gboolean bogus;
		PcDnsStatus want;
	} cases[] = {
	    {.rcode = 0, .have_data = TRUE, .want = PC_DNS_OK},
	    {.rcode = 0, .have_data = FALSE, .want = PC_DNS_NODATA},
	    {.rcode = 3, .have_data = FALSE, .want = PC_DNS_NXDOMAIN},
	    {.rcode = 2, .have_data = FALSE, .want = PC_DNS_SERVFAIL},
	    /* every other error rcode is a failure to find out, not an answer */
	    {.rcode = 1, .want = PC_DNS_SERVFAIL},
	    {.rcode = 4, .want = PC_DNS_SERVFAIL},
	    {.rcode = 5, .want = PC_DNS_SERVFAIL},
	    {.rcode = 9, .want = PC_DNS_SERVFAIL},
	    /* bogus data is never used, whatever came with it */
	    {.rcode = 0, .have_data = TRUE, .bogus = TRUE, .want = PC_DNS_SERVFAIL},
	    {.rcode = 3, .bogus = TRUE, .want = PC_DNS_SERVFAIL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("rcode %d data %d bogus %d", cases[i].rcode, cases[i].have_data,
			       cases[i].bogus);
		g_assert_cmpint(
		    pc_dns_status_from_answer(cases[i].rcode, cases[i].have_data, cases[i].bogus),
		    ==, cases[i].want);
	}
}

static void
test_status_strings(void)
{
	static const char *const want[PC_DNS_N_STATUS] = {
	    "ok", "nodata", "nxdomain", "servfail", "timeout", "budget", "badname", "error"};

	for (guint s = 0; s < PC_DNS_N_STATUS; s++) {
		g_assert_cmpstr(pc_dns_status_to_string((PcDnsStatus)s), ==, want[s]);
		g_assert_cmpint(pc_dns_status_is_answer((PcDnsStatus)s), ==, s <= PC_DNS_NXDOMAIN);
	}
	g_assert_cmpstr(pc_dns_status_to_string((PcDnsStatus)99), ==, "unknown");
	g_assert_cmpstr(pc_dns_rcode_to_string(5), ==, "REFUSED");
	g_assert_cmpstr(pc_dns_rcode_to_string(42), ==, "rcode");
}

/* ------------------------------------------------------------------ names */

typedef struct {
	const char *label;
	const char *text;
	gboolean ok;
	gsize wire_len;
	const char *back; /* pc_dns_name_to_text of the wire form; NULL = text without its dot */
} NameCase;

static char *
repeat(char c, gsize n)
{
	char *s = g_malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
check_name(const NameCase *c)
{
	guint8 wire[PC_DNS_MAX_WIRE_NAME];
	gsize wire_len = 0;
	gsize consumed = 0;
	g_autofree char *back = NULL;
	g_autofree char *want_back = NULL;

	g_test_message("%s", c->label);
	g_assert_cmpint(pc_dns_name_from_text(c->text, wire, &wire_len), ==, c->ok);
	if (!c->ok)
		return;
	g_assert_cmpuint(wire_len, ==, c->wire_len);
	back = pc_dns_name_to_text(wire, wire_len, &consumed);
	g_assert_nonnull(back);
	g_assert_cmpuint(consumed, ==, wire_len);
	want_back = c->back != NULL ? g_strdup(c->back) : g_strdup(c->text);
	if (strcmp(want_back, ".") != 0 && g_str_has_suffix(want_back, "."))
		want_back[strlen(want_back) - 1] = '\0';
	g_assert_cmpstr(back, ==, want_back);
}

static void
test_name_from_text(void)
{
	g_autofree char *label63 = repeat('a', 63);
	g_autofree char *label64 = repeat('a', 64);
	g_autofree char *name_max = NULL;
	g_autofree char *name_long = NULL;
	const NameCase cases[] = {
	    {"plain", "example.test", TRUE, 14, NULL},
	    {"trailing-dot", "example.test.", TRUE, 14, NULL},
	    {"root", ".", TRUE, 1, NULL},
	    {"case-kept", "Mail.Example.TEST", TRUE, 19, NULL},
	    {"underscore", "sel._domainkey.example.test", TRUE, 29, NULL},
	    {"escaped-dot", "a\\.b.test", TRUE, 10, "a\\046b.test"},
	    {"decimal-escape", "a\\032b.test", TRUE, 10, NULL},
	    {"escaped-backslash", "a\\\\b.test", TRUE, 10, "a\\092b.test"},
	    {"plain-escape", "\\a.test", TRUE, 8, "a.test"},
	    {"label-63", label63, TRUE, 65, NULL},
	    {"label-64", label64, FALSE, 0, NULL},
	    {"empty", "", FALSE, 0, NULL},
	    {"empty-label", "a..test", FALSE, 0, NULL},
	    {"leading-dot", ".test", FALSE, 0, NULL},
	    {"two-dots", "test..", FALSE, 0, NULL},
	    {"escape-over-255", "a\\256.test", FALSE, 0, NULL},
	    {"escape-short", "a\\25", FALSE, 0, NULL},
	    {"escape-at-end", "a\\", FALSE, 0, NULL},
	};

	/* three labels of 63 octets and one of 61: 3 * 64 + 62 + 1 = 255 octets; then 256 */
	name_max = g_strdup_printf("%s.%s.%s.%s", label63, label63, label63, label63 + 2);
	name_long = g_strdup_printf("%s.%s.%s.%s", label63, label63, label63, label63 + 1);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		check_name(&cases[i]);
	check_name(&(NameCase){"name-255", name_max, TRUE, 255, NULL});
	check_name(&(NameCase){"name-256", name_long, FALSE, 0, NULL});
}

static void
test_name_to_text(void)
{
	static const struct {
		const char *label;
		const char *wire;
		gsize len;
		const char *want; /* NULL: refused */
		gsize consumed;
	} cases[] = {
	    {"name",
	     "\x04mail\x07"
	     "example\x04test\x00",
	     19, "mail.example.test", 19},
	    {"root", "\x00", 1, ".", 1},
	    {"trailing-bytes",
	     "\x01"
	     "a\x00xyz",
	     6, "a", 3},
	    {"odd-octets",
	     "\x03"
	     "a.\xff\x00",
	     5, "a\\046\\255", 5},
	    {"space-and-quote",
	     "\x03"
	     "a \"\x00",
	     5, "a\\032\"", 5},
	    {"truncated-label",
	     "\x05"
	     "ab",
	     3, NULL, 0},
	    {"no-terminator",
	     "\x02"
	     "ab",
	     3, NULL, 0},
	    {"compression",
	     "\x01"
	     "a\xc0\x0c",
	     4, NULL, 0},
	    {"extended-label",
	     "\x41"
	     "a",
	     2, NULL, 0},
	    {"empty", "", 0, NULL, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gsize consumed = 0;
		g_autofree char *text =
		    pc_dns_name_to_text((const guint8 *)cases[i].wire, cases[i].len, &consumed);

		g_test_message("%s", cases[i].label);
		g_assert_cmpstr(text, ==, cases[i].want);
		if (text != NULL)
			g_assert_cmpuint(consumed, ==, cases[i].consumed);
	}
}

/* 128 labels of one octet: 256 octets of wire form, one past the limit */
static void
test_name_to_text_too_long(void)
{
	guint8 wire[300];
	g_autofree char *text = NULL;

	for (guint i = 0; i < 128; i++) {
		wire[2 * i] = 1;
		wire[2 * i + 1] = 'a';
	}
	wire[256] = 0;
	g_assert_null(pc_dns_name_to_text(wire, 257, NULL));
	/* 127 of them fit: 255 octets */
	wire[254] = 0;
	text = pc_dns_name_to_text(wire, 255, NULL);
	g_assert_nonnull(text);
	g_assert_cmpuint(strlen(text), ==, 253);
}

/* ---------------------------------------------------------------- records */

typedef struct {
	const char *label;
	guint16 rrtype;
	const char *rdata;
	gsize len;
	gboolean ok;
	const char *want_address; /* A, AAAA */
	guint16 want_preference;
	const char *want_name;
	const char *want_text;
	gsize want_text_len;
} RecordCase;

static const RecordCase record_cases[] = {
    {"a", PC_DNS_TYPE_A, "\xc0\x00\x02\x01", 4, TRUE, "192.0.2.1"},
    {"a-short", PC_DNS_TYPE_A, "\xc0\x00\x02", 3, FALSE},
    {"a-long", PC_DNS_TYPE_A, "\xc0\x00\x02\x01\x01", 5, FALSE},
    {"aaaa", PC_DNS_TYPE_AAAA, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
     16, TRUE, "2001:db8::1"},
    {"aaaa-short", PC_DNS_TYPE_AAAA, "\x20\x01", 2, FALSE},
    {"mx", PC_DNS_TYPE_MX, "\x00\x0a\x04mail\x04test\x00", 13, TRUE, NULL, 10, "mail.test"},
    /* RFC 7505: preference 0, exchange the root */
    {"null-mx", PC_DNS_TYPE_MX, "\x00\x00\x00", 3, TRUE, NULL, 0, "."},
    {"mx-no-name", PC_DNS_TYPE_MX, "\x00\x0a", 2, FALSE},
    {"mx-trailing", PC_DNS_TYPE_MX, "\x00\x0a\x00\x00", 4, FALSE},
    {"ptr", PC_DNS_TYPE_PTR,
     "\x01"
     "a\x04test\x00",
     8, TRUE, NULL, 0, "a.test"},
    {"ptr-truncated", PC_DNS_TYPE_PTR,
     "\x01"
     "a\x04tes",
     6, FALSE},
    {"cname", PC_DNS_TYPE_CNAME,
     "\x01"
     "b\x00",
     3, TRUE, NULL, 0, "b"},
    {"txt-one", PC_DNS_TYPE_TXT, "\x0bv=spf1 -all", 12, TRUE, NULL, 0, NULL, "v=spf1 -all", 11},
    /* strings are joined with nothing between them (RFC 7208 3.3) */
    {"txt-strings", PC_DNS_TYPE_TXT, "\x07v=spf1 \x04-all", 13, TRUE, NULL, 0, NULL, "v=spf1 -all",
     11},
    {"txt-empty-string", PC_DNS_TYPE_TXT, "\x00", 1, TRUE, NULL, 0, NULL, "", 0},
    {"txt-no-string", PC_DNS_TYPE_TXT, "", 0, TRUE, NULL, 0, NULL, "", 0},
    {"txt-nul", PC_DNS_TYPE_TXT,
     "\x03"
     "a\x00"
     "b",
     4, TRUE, NULL, 0, NULL, "a\0b", 3},
    {"txt-overrun", PC_DNS_TYPE_TXT,
     "\x05"
     "abc",
     4, FALSE},
    {"txt-second-overrun", PC_DNS_TYPE_TXT,
     "\x01"
     "a\x02"
     "b",
     4, FALSE},
    {"other-raw", PC_DNS_TYPE_SOA, "\x00\x01\x02", 3, TRUE},
};

static void
test_record_parse(gconstpointer data)
{
	const RecordCase *c = data;
	PcDnsRecord record = {.rrtype = 0xffff};

	g_assert_cmpint(pc_dns_record_parse(c->rrtype, (const guint8 *)c->rdata, c->len, &record),
			==, c->ok);
	if (!c->ok) {
		/* untouched */
		g_assert_cmpuint(record.rrtype, ==, 0xffff);
		return;
	}
	g_assert_cmpuint(record.rrtype, ==, c->rrtype);
	g_assert_true(record.rdata == (const guint8 *)c->rdata);
	g_assert_cmpuint(record.rdata_len, ==, c->len);
	if (c->want_address != NULL) {
		char text[PC_NET_ADDRESS_STRLEN];

		g_assert_cmpstr(pc_net_address_to_string(&record.address, text, sizeof(text)), ==,
				c->want_address);
	}
	g_assert_cmpuint(record.preference, ==, c->want_preference);
	g_assert_cmpstr(record.name, ==, c->want_name);
	if (c->want_text != NULL) {
		g_assert_cmpmem(record.text, record.text_len, c->want_text, c->want_text_len);
		g_assert_cmpint(record.text[record.text_len], ==, '\0');
	} else {
		g_assert_null(record.text);
	}
	pc_dns_record_clear(&record);
}

/* ----------------------------------------------------------------- budget */

static void
test_budget_deadline(void)
{
	PcDnsBudget budget;
	gboolean by_budget = TRUE;

	pc_dns_budget_init(&budget, S(20), S(5));
	g_assert_cmpint(budget.remaining_us, ==, S(20));
	g_assert_cmpuint(budget.queries, ==, 0);
	/* plenty left: the query's own timeout ends it */
	g_assert_cmpint(pc_dns_budget_deadline(&budget, S(100), &by_budget), ==, S(105));
	g_assert_false(by_budget);
	/* 3 s left: the budget ends it first */
	pc_dns_budget_charge(&budget, S(17));
	g_assert_cmpint(pc_dns_budget_deadline(&budget, S(200), &by_budget), ==, S(203));
	g_assert_true(by_budget);
	/* exactly the timeout left: a timeout, the query had all a query gets */
	pc_dns_budget_init(&budget, S(5), S(5));
	g_assert_cmpint(pc_dns_budget_deadline(&budget, 0, &by_budget), ==, S(5));
	g_assert_false(by_budget);
	g_assert_cmpint(pc_dns_budget_deadline(&budget, 7, NULL), ==, S(5) + 7);
}

static void
test_budget_charge(void)
{
	PcDnsBudget budget;

	pc_dns_budget_init(&budget, MS(1500), S(1));
	g_assert_false(pc_dns_budget_is_spent(&budget));
	/* a cache hit costs almost nothing; negative time (a clock step) costs nothing */
	pc_dns_budget_charge(&budget, 120);
	pc_dns_budget_charge(&budget, -S(10));
	g_assert_cmpint(budget.remaining_us, ==, MS(1500) - 120);
	/* a timeout costs its second */
	pc_dns_budget_charge(&budget, S(1));
	g_assert_cmpint(budget.remaining_us, ==, MS(500) - 120);
	g_assert_false(pc_dns_budget_is_spent(&budget));
	/* overspending stops at zero, never wraps */
	pc_dns_budget_charge(&budget, S(3));
	g_assert_cmpint(budget.remaining_us, ==, 0);
	g_assert_true(pc_dns_budget_is_spent(&budget));
	g_assert_cmpint(pc_dns_budget_deadline(&budget, S(9), NULL), ==, S(9));
	pc_dns_budget_charge(&budget, G_MAXINT64);
	g_assert_cmpint(budget.remaining_us, ==, 0);
	/* nonsense in: a negative budget is spent, a zero timeout is the default */
	pc_dns_budget_init(&budget, -1, 0);
	g_assert_true(pc_dns_budget_is_spent(&budget));
	g_assert_cmpint(budget.query_timeout_us, ==, PC_DNS_DEFAULT_TIMEOUT_US);
}

/* ----------------------------------------------------------------- config */

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->dir = g_dir_make_tmp("pc-dns-XXXXXX", NULL);
	g_assert_nonnull(fx->dir);
	fx->path = g_build_filename(fx->dir, "portcullis.conf", NULL);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_autoptr(GDir) dir = g_dir_open(fx->dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(fx->dir, name, NULL);

		g_unlink(child);
	}
	g_rmdir(fx->dir);
	g_free(fx->dir);
	g_free(fx->path);
}

static PcConfig *
load_global(Fixture *fx, const char *body, GError **error)
{
	g_autofree char *domains = g_build_filename(fx->dir, "no-domains.d", NULL);
	g_autofree char *text =
	    g_strdup_printf("[global]\ndomains_dir = %s\nuser =\n%s", domains, body);

	g_assert_true(g_file_set_contents(fx->path, text, -1, NULL));
	/* an explicit domains_dir must exist */
	g_mkdir(domains, 0700);
	return pc_config_load(fx->path, NULL, error);
}

typedef struct {
	const char *label;
	const char *body;
	PcDnsMode want_mode;
	const char *want_forwarders; /* joined with ' ' */
	const char *want_error;	     /* a substring; NULL = loads */
} ConfigCase;

static const ConfigCase config_cases[] = {
    {"default", "", PC_DNS_MODE_SYSTEM},
    {"system", "dns = system\n", PC_DNS_MODE_SYSTEM},
    {"recursive", "dns = Recursive\n", PC_DNS_MODE_RECURSIVE},
    {"one-forwarder", "dns = 192.0.2.53\n", PC_DNS_MODE_FORWARD, "192.0.2.53"},
    {"forwarders", "dns = 192.0.2.53@5353; 2001:db8::53, ::1@53\n", PC_DNS_MODE_FORWARD,
     "192.0.2.53@5353 2001:db8::53 ::1@53"},
    {"empty", "dns =\n", 0, NULL, "[global] dns: empty"},
    {"keyword-in-list", "dns = system; 192.0.2.53\n", 0, NULL,
     "[global] dns: 'system' stands alone"},
    {"hostname", "dns = ns.example.test\n", 0, NULL,
     "[global] dns: 'ns.example.test' is not system, recursive or a forwarder"},
    {"brackets", "dns = [2001:db8::53]@53\n", 0, NULL, "is not system, recursive"},
    {"port-zero", "dns = 192.0.2.53@0\n", 0, NULL, "the port after @ must be 1 to 65535"},
    {"port-big", "dns = 192.0.2.53@65536\n", 0, NULL, "the port after @"},
    {"port-sign", "dns = 192.0.2.53@+53\n", 0, NULL, "the port after @"},
    {"port-empty", "dns = 192.0.2.53@\n", 0, NULL, "the port after @"},
    {"port-long", "dns = 192.0.2.53@000053\n", 0, NULL, "the port after @"},
    {"too-many",
     "dns = 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7 10.0.0.8 10.0.0.9 "
     "10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 10.0.0.16 10.0.0.17\n",
     0, NULL, "17 forwarders: at most 16"},
    {"timeout-small", "dns_timeout = 10ms\n", 0, NULL, "[global] dns_timeout"},
    {"budget-big", "dns_message_budget = 1h\n", 0, NULL, "[global] dns_message_budget"},
    {"dnssec-word", "dnssec = maybe\n", 0, NULL, "[global] dnssec"},
};

static void
test_config(Fixture *fx, gconstpointer data)
{
	const ConfigCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load_global(fx, c->body, &error);
	PcDnsOptions options;
	g_autofree char *forwarders = NULL;

	if (c->want_error != NULL) {
		g_assert_null(config);
		g_assert_error(error, PC_CONFIG_ERROR, error->code);
		g_test_message("%s", error->message);
		g_assert_nonnull(strstr(error->message, c->want_error));
		/* the file and line are named */
		g_assert_nonnull(strstr(error->message, "portcullis.conf:4: [global]"));
		return;
	}
	g_assert_no_error(error);
	pc_dns_options_from_config(pc_config_get_global(config), &options);
	g_assert_cmpint(options.mode, ==, c->want_mode);
	if (options.forwarders != NULL)
		forwarders = g_strjoinv(" ", (char **)options.forwarders);
	g_assert_cmpstr(forwarders, ==, c->want_forwarders);
}

static void
test_config_defaults(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load_global(fx, "", &error);
	const PcGlobalConfig *global;
	PcDnsOptions options;
	PcDnsBudget budget;

	g_assert_no_error(error);
	global = pc_config_get_global(config);
	g_assert_cmpint(global->dns_timeout, ==, S(5));
	/* below Postfix's 30 s milter_command_timeout, with room for the rest of a callback */
	g_assert_cmpint(global->dns_message_budget, ==, S(20));
	g_assert_false(global->dnssec);
	g_assert_cmpstr(global->dns_trust_anchor, ==, PC_DNS_DEFAULT_TRUST_ANCHOR);
	pc_dns_options_from_config(global, &options);
	g_assert_false(options.dnssec);
	g_assert_cmpint(options.timeout_us, ==, S(5));
	g_assert_cmpstr(options.trust_anchor_file, ==, PC_DNS_DEFAULT_TRUST_ANCHOR);
	pc_dns_budget_init_from_config(&budget, global);
	g_assert_cmpint(budget.remaining_us, ==, S(20));
	g_assert_cmpint(budget.query_timeout_us, ==, S(5));
}

/* the resolver's shape is restart-only; its waits follow a reload */
static void
test_config_reload(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) running =
	    load_global(fx, "dns = system\ndnssec = no\ndns_timeout = 5s\n", &error);
	g_autoptr(PcConfig) config = NULL;

	g_assert_no_error(error);
	config = load_global(fx,
			     "dns = 192.0.2.53\ndnssec = yes\ndns_trust_anchor = /etc/x.key\n"
			     "dns_timeout = 2s\ndns_message_budget = 10s\n",
			     &error);
	g_assert_no_error(error);
	g_test_expect_message("portcullis", G_LOG_LEVEL_WARNING,
			      "reload: [global] dns changed: takes effect at restart (running with "
			      "system)");
	g_test_expect_message("portcullis", G_LOG_LEVEL_WARNING,
			      "reload: [global] dnssec changed: takes effect at restart*");
	g_test_expect_message(
	    "portcullis", G_LOG_LEVEL_WARNING,
	    "reload: [global] dns_trust_anchor changed: takes effect at restart*");
	g_assert_cmpuint(pc_config_keep_restart_values(config, running), ==, 3);
	g_test_assert_expected_messages();
	g_assert_cmpstr(pc_config_get_global(config)->dns[0], ==, "system");
	g_assert_false(pc_config_get_global(config)->dnssec);
	g_assert_cmpint(pc_config_get_global(config)->dns_timeout, ==, S(2));
	g_assert_cmpint(pc_config_get_global(config)->dns_message_budget, ==, S(10));
}

/* ------------------------------------------- the resolver on local data */

/* a forwarder that is never asked: every name queried below is local */
static const char *const unused_forwarder[] = {"127.0.0.1@9", NULL};

static const char *const local_zones[] = {
    "example.test. static",
    NULL,
};

static const char *const local_data[] = {
    "example.test. 60 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60",
    "a.example.test. 300 IN A 192.0.2.1",
    "txt.example.test. 300 IN TXT \"v=spf1 \" \"-all\"",
    "mx.example.test. 300 IN MX 10 mail.example.test.",
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
	g_assert_nonnull(dns);
	return dns;
}

static guint64
counter_value(const char *type, const char *result)
{
	g_autofree char *labels = g_strdup_printf("type=\"%s\",result=\"%s\"", type, result);

	/* registering again returns the series the resolver counts in */
	return pc_stats_counter_get(pc_stats_counter_register(
	    "portcullis_dns_queries_total", "DNS queries by type and result", labels));
}

static void
test_local_results(void)
{
	g_autoptr(PcDns) dns = local_resolver();
	guint64 ok_before = counter_value("TXT", "ok");
	guint64 nx_before = counter_value("A", "nxdomain");
	g_autoptr(PcDnsResult) txt = pc_dns_query(dns, "txt.example.test", PC_DNS_TYPE_TXT, NULL);
	g_autoptr(PcDnsResult) mx = pc_dns_query(dns, "MX.example.test.", PC_DNS_TYPE_MX, NULL);
	g_autoptr(PcDnsResult) nodata = pc_dns_query(dns, "a.example.test", PC_DNS_TYPE_AAAA, NULL);
	g_autoptr(PcDnsResult) nx = pc_dns_query(dns, "nx.example.test", PC_DNS_TYPE_A, NULL);
	g_autofree char *metrics = NULL;

	g_assert_cmpint(txt->status, ==, PC_DNS_OK);
	g_assert_cmpint(txt->rcode, ==, 0);
	g_assert_null(txt->reason);
	g_assert_cmpstr(txt->name, ==, "txt.example.test");
	g_assert_cmpuint(txt->rrtype, ==, PC_DNS_TYPE_TXT);
	g_assert_cmpuint(txt->records->len, ==, 1);
	g_assert_cmpstr(pc_dns_result_record(txt, 0)->text, ==, "v=spf1 -all");
	g_assert_nonnull(txt->packet);
	g_assert_cmpuint(txt->ttl, ==, 300);
	g_assert_false(txt->secure);
	g_assert_false(txt->bogus);

	g_assert_cmpint(mx->status, ==, PC_DNS_OK);
	g_assert_cmpuint(pc_dns_result_record(mx, 0)->preference, ==, 10);
	g_assert_cmpstr(pc_dns_result_record(mx, 0)->name, ==, "mail.example.test");

	g_assert_cmpint(nodata->status, ==, PC_DNS_NODATA);
	g_assert_cmpuint(nodata->records->len, ==, 0);
	g_assert_cmpstr(nodata->reason, ==, "no record of that type");

	g_assert_cmpint(nx->status, ==, PC_DNS_NXDOMAIN);
	g_assert_cmpint(nx->rcode, ==, 3);
	g_assert_nonnull(nx->packet);

	g_assert_cmpuint(counter_value("TXT", "ok"), ==, ok_before + 1);
	g_assert_cmpuint(counter_value("A", "nxdomain"), ==, nx_before + 1);
	metrics = pc_stats_render();
	g_assert_nonnull(strstr(metrics, "# TYPE portcullis_dns_query_seconds histogram\n"));
	g_assert_nonnull(
	    strstr(metrics, "portcullis_dns_queries_total{type=\"MX\",result=\"ok\"}"));
}

/* what is known without asking: a bad name, a spent budget */
static void
test_local_not_sent(void)
{
	g_autoptr(PcDns) dns = local_resolver();
	PcDnsBudget budget;
	g_autoptr(PcDnsResult) bad = NULL;
	g_autoptr(PcDnsResult) spent = NULL;
	g_autoptr(PcDnsResult) cheap = NULL;
	g_autoptr(PcDnsResult) cached = NULL;

	pc_dns_budget_init(&budget, S(1), S(1));
	bad = pc_dns_query(dns, "a..example.test", PC_DNS_TYPE_A, &budget);
	g_assert_cmpint(bad->status, ==, PC_DNS_BADNAME);
	g_assert_cmpint(bad->rcode, ==, -1);
	g_assert_null(bad->packet);
	g_assert_cmpint(bad->elapsed_us, ==, 0);
	g_assert_cmpuint(budget.queries, ==, 0);

	/* a local answer costs microseconds of the budget */
	cheap = pc_dns_query(dns, "a.example.test", PC_DNS_TYPE_A, &budget);
	g_assert_cmpint(cheap->status, ==, PC_DNS_OK);
	g_assert_cmpuint(budget.queries, ==, 1);
	g_assert_cmpint(budget.remaining_us, ==, S(1) - cheap->elapsed_us);

	pc_dns_budget_charge(&budget, S(1));
	spent = pc_dns_query(dns, "txt.example.test", PC_DNS_TYPE_TXT, &budget);
	g_assert_cmpint(spent->status, ==, PC_DNS_BUDGET);
	g_assert_cmpint(spent->elapsed_us, ==, 0);
	g_assert_null(spent->packet);
	g_assert_cmpuint(budget.queries, ==, 1);

	/* an answer in the cache costs no wait: given even with the budget spent */
	cached = pc_dns_query(dns, "A.Example.TEST.", PC_DNS_TYPE_A, &budget);
	g_assert_cmpint(cached->status, ==, PC_DNS_OK);
	g_assert_cmpstr(cached->name, ==, "A.Example.TEST.");
	g_assert_cmpint(cached->elapsed_us, ==, 0);
	g_assert_cmpuint(budget.queries, ==, 2);
	g_assert_cmpint(budget.remaining_us, <=, 0);
}

/* the asynchronous form: wait, look again, free without waiting */
static void
test_local_async(void)
{
	g_autoptr(PcDns) dns = local_resolver();
	PcDnsBudget budget;
	PcDnsQuery *first;
	PcDnsQuery *second;
	PcDnsResult *result;

	pc_dns_budget_init(&budget, S(10), S(5));
	first = pc_dns_query_start(dns, "a.example.test", PC_DNS_TYPE_A, &budget);
	second = pc_dns_query_start(dns, "txt.example.test", PC_DNS_TYPE_TXT, &budget);
	g_assert_cmpuint(budget.queries, ==, 2);
	/* a generous wait returns the answer, once */
	result = pc_dns_query_wait(first, S(5));
	g_assert_nonnull(result);
	g_assert_cmpint(result->status, ==, PC_DNS_OK);
	pc_dns_result_free(result);
	pc_dns_query_free(first);
	/* freed unread (libopendkim's cancel): no leak, the time is charged */
	pc_dns_query_free(second);
	g_assert_cmpint(budget.remaining_us, <, S(10));
}

static void
test_local_start_errors(void)
{
	g_autofree char *dir = g_dir_make_tmp("pc-dns-ta-XXXXXX", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing.key", NULL);
	g_autofree char *broken = g_build_filename(dir, "broken.key", NULL);
	g_autofree char *resolv = g_build_filename(dir, "missing-resolv.conf", NULL);
	const char *const bad_forwarder[] = {"not-an-address", NULL};
	g_autoptr(GError) error = NULL;
	PcDns *dns;

	dns = pc_dns_new(&(PcDnsOptions){.mode = PC_DNS_MODE_FORWARD, .forwarders = bad_forwarder},
			 &error);
	g_assert_null(dns);
	g_assert_error(error, PC_DNS_ERROR, PC_DNS_ERROR_CONFIG);
	g_clear_error(&error);

	dns =
	    pc_dns_new(&(PcDnsOptions){.mode = PC_DNS_MODE_SYSTEM, .resolv_conf = resolv}, &error);
	g_assert_null(dns);
	g_assert_error(error, PC_DNS_ERROR, PC_DNS_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "missing-resolv.conf"));
	g_clear_error(&error);

	dns = pc_dns_new(&(PcDnsOptions){.mode = PC_DNS_MODE_FORWARD,
					 .forwarders = unused_forwarder,
					 .dnssec = TRUE,
					 .trust_anchor_file = missing},
			 &error);
	g_assert_null(dns);
	g_assert_error(error, PC_DNS_ERROR, PC_DNS_ERROR_TRUST_ANCHOR);
	g_assert_nonnull(strstr(error->message, "missing.key"));
	g_clear_error(&error);

	/* a file that is there but holds no trust anchor stops the start too */
	g_assert_true(g_file_set_contents(broken, "this is not a DS record\n", -1, NULL));
	dns = pc_dns_new(&(PcDnsOptions){.mode = PC_DNS_MODE_FORWARD,
					 .forwarders = unused_forwarder,
					 .dnssec = TRUE,
					 .trust_anchor_file = broken},
			 &error);
	g_assert_null(dns);
	g_assert_error(error, PC_DNS_ERROR, PC_DNS_ERROR_TRUST_ANCHOR);
	g_clear_error(&error);
	g_unlink(broken);
	g_rmdir(dir);
}

/* Debian's root trust anchor (dns-root-data) is one libunbound reads */
static void
test_local_default_anchor(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(PcDnsResult) result = NULL;

	if (!g_file_test(PC_DNS_DEFAULT_TRUST_ANCHOR, G_FILE_TEST_EXISTS)) {
		g_test_skip("no " PC_DNS_DEFAULT_TRUST_ANCHOR " (Debian package dns-root-data)");
		return;
	}
	dns = pc_dns_new(&(PcDnsOptions){.mode = PC_DNS_MODE_FORWARD,
					 .forwarders = unused_forwarder,
					 .dnssec = TRUE,
					 .local_zones = local_zones,
					 .local_data = local_data},
			 &error);
	g_assert_no_error(error);
	/* local data is the context's own: never validated, so not secure, and not bogus */
	result = pc_dns_query(dns, "a.example.test", PC_DNS_TYPE_A, NULL);
	g_assert_cmpint(result->status, ==, PC_DNS_OK);
	g_assert_false(result->secure);
	g_assert_false(result->bogus);
}

/* from the configuration: the error names the key */
static void
test_local_from_config(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load_global(
	    fx, "dns = 127.0.0.1@9\ndnssec = yes\ndns_trust_anchor = /nonexistent.key\n", &error);
	PcDns *dns;

	g_assert_no_error(error);
	dns = pc_dns_new_from_config(pc_config_get_global(config), &error);
	g_assert_null(dns);
	g_assert_error(error, PC_DNS_ERROR, PC_DNS_ERROR_TRUST_ANCHOR);
	g_assert_true(g_str_has_prefix(error->message, "[global] dns_trust_anchor: "));
	g_clear_error(&error);
	g_clear_pointer(&config, pc_config_unref);

	config = load_global(fx, "dns = 127.0.0.1@9\n", &error);
	g_assert_no_error(error);
	dns = pc_dns_new_from_config(pc_config_get_global(config), &error);
	g_assert_no_error(error);
	pc_dns_free(dns);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/pc/dns/status/from-answer", test_status_from_answer);
	g_test_add_func("/pc/dns/status/strings", test_status_strings);
	g_test_add_func("/pc/dns/name/from-text", test_name_from_text);
	g_test_add_func("/pc/dns/name/to-text", test_name_to_text);
	g_test_add_func("/pc/dns/name/to-text-too-long", test_name_to_text_too_long);
	for (gsize i = 0; i < G_N_ELEMENTS(record_cases); i++) {
		g_autofree char *path = g_strconcat("/pc/dns/record/", record_cases[i].label, NULL);

		g_test_add_data_func(path, &record_cases[i], test_record_parse);
	}
	g_test_add_func("/pc/dns/budget/deadline", test_budget_deadline);
	g_test_add_func("/pc/dns/budget/charge", test_budget_charge);
#define ADD(path, data, fn) g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)
	for (gsize i = 0; i < G_N_ELEMENTS(config_cases); i++) {
		g_autofree char *path = g_strconcat("/pc/dns/config/", config_cases[i].label, NULL);

		ADD(path, &config_cases[i], test_config);
	}
	ADD("/pc/dns/config/defaults", NULL, test_config_defaults);
	ADD("/pc/dns/config/reload", NULL, test_config_reload);
	ADD("/pc/dns/local/from-config", NULL, test_local_from_config);
#undef ADD
	g_test_add_func("/pc/dns/local/results", test_local_results);
	g_test_add_func("/pc/dns/local/not-sent", test_local_not_sent);
	g_test_add_func("/pc/dns/local/async", test_local_async);
	g_test_add_func("/pc/dns/local/start-errors", test_local_start_errors);
	g_test_add_func("/pc/dns/local/default-anchor", test_local_default_anchor);
	return g_test_run();
}
