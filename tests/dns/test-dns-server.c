/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-dns against a real DNS server: tests/dns/pc-test-dns serves the zone
 * below with unbound on loopback, and each test asks it through a resolver
 * of its own (a fresh cache), set up as [global] dns = ADDRESS@PORT would.
 *
 * Every result class is checked on the wire: answers (A, AAAA, TXT in
 * several strings, several records and longer than a UDP answer, MX, PTR,
 * CNAME), NODATA, NXDOMAIN, SERVFAIL (a delegation the server's own upstream
 * refuses), a timeout (a zone whose queries are dropped), the message
 * budget, the asynchronous form, many threads at once, and the DNSSEC bits:
 * unsigned data, a signed zone (zones/signed.test.zone, its trust anchor
 * zones/signed.test.ds) with a secure answer, a proven NXDOMAIN and NODATA,
 * and a record whose signature fails. Times are measured, never slept: the
 * timeout cases assert that a query ends within dns_timeout plus a small
 * slack.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "pc-dns.h"

#define MS(ms) ((gint64)(ms)*1000)
/* how late a query may end past its deadline: wake-up and scheduling on a loaded machine */
#define SLACK_US MS(500)
/* what the timeout cases use as dns_timeout */
#define TEST_TIMEOUT_US MS(1000)

/* the long TXT: 16 strings of 255 octets, far past a 1232-octet UDP answer (TCP) */
#define LONG_STRINGS 16
#define LONG_STRING_LEN 255

static const char zone_text[] =
    "; the zones tests/dns/test-dns-server.c asks about\n"
    "$ZONE example.test.\n"
    "a.example.test. 300 IN A 192.0.2.1\n"
    "a.example.test. 300 IN A 192.0.2.2\n"
    "aaaa.example.test. 300 IN AAAA 2001:db8::1\n"
    "spf.example.test. 300 IN TXT \"v=spf1 \" \"ip4:192.0.2.0/24 \" \"-all\"\n"
    "multi.example.test. 300 IN TXT \"first record\"\n"
    "multi.example.test. 300 IN TXT \"second \" \"record\"\n"
    "quote.example.test. 300 IN TXT \"it's \\\"quoted\\\"; k=v\"\n"
    "mx.example.test. 300 IN MX 20 mail2.example.test.\n"
    "mx.example.test. 300 IN MX 10 mail1.example.test.\n"
    "nullmx.example.test. 300 IN MX 0 .\n"
    "alias.example.test. 300 IN CNAME a.example.test.\n"
    "dangling.example.test. 300 IN CNAME nowhere.example.test.\n"
    "leaf.deep.example.test. 300 IN A 192.0.2.9\n"
    "short.example.test. 2 IN A 192.0.2.10\n"
    "zero.example.test. 0 IN A 192.0.2.11\n"
    "$ZONE 2.0.192.in-addr.arpa.\n"
    "1.2.0.192.in-addr.arpa. 300 IN PTR a.example.test.\n"
    "1.2.0.192.in-addr.arpa. 300 IN PTR alias.example.test.\n"
    "$ZONE 8.b.d.0.1.0.0.2.ip6.arpa.\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR "
    "aaaa.example.test.\n"
    "$TIMEOUT timeout.example.test.\n"
    "$SERVFAIL servfail.example.test.\n";

/* the server, started once for all tests */
static struct {
	GPid pid;
	int stdin_fd; /* closing it stops the server */
	char *dir;
	char *forwarder;   /* "ADDRESS@PORT" */
	const char *zones; /* tests/dns/zones */
} server = {.stdin_fd = -1};

static char *
long_string(guint index)
{
	char *text = g_malloc(LONG_STRING_LEN + 1);

	for (guint i = 0; i < LONG_STRING_LEN; i++)
		text[i] = (char)('a' + (index + i) % 26);
	text[LONG_STRING_LEN] = '\0';
	return text;
}

static char *
zone_file_text(void)
{
	GString *text = g_string_new(zone_text);
	g_autofree char *signed_zone = g_build_filename(server.zones, "signed.test.zone", NULL);

	g_string_append_printf(text, "$SIGNED signed.test. %s\n", signed_zone);

	g_string_append(text, "long.example.test. 300 IN TXT");
	for (guint i = 0; i < LONG_STRINGS; i++) {
		g_autofree char *part = long_string(i);

		g_string_append_printf(text, " \"%s\"", part);
	}
	g_string_append_c(text, '\n');
	return g_string_free(text, FALSE);
}

/* the first line the helper prints, "ADDRESS PORT", within 60 s */
static char *
read_ready_line(int fd)
{
	GString *line = g_string_new(NULL);
	gint64 end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (strchr(line->str, '\n') == NULL) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		gint64 left = end - g_get_monotonic_time();
		char buf[256];
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		g_string_append_len(line, buf, n);
	}
	if (strchr(line->str, '\n') == NULL) {
		g_string_free(line, TRUE);
		return NULL;
	}
	*strchr(line->str, '\n') = '\0';
	return g_string_free(line, FALSE);
}

static gboolean
server_start(const char *helper)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *zone_path = NULL;
	g_autofree char *state = NULL;
	g_autofree char *text = zone_file_text();
	g_autofree char *line = NULL;
	g_auto(GStrv) fields = NULL;
	int stdout_fd = -1;

	server.dir = g_dir_make_tmp("pc-test-dns-XXXXXX", &error);
	g_assert_no_error(error);
	zone_path = g_build_filename(server.dir, "test.zone", NULL);
	state = g_build_filename(server.dir, "server", NULL);
	g_assert_true(g_file_set_contents(zone_path, text, -1, NULL));
	{
		const char *argv[] = {helper, "run", state, zone_path, NULL};

		if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
					      NULL, NULL, &server.pid, &server.stdin_fd, &stdout_fd,
					      NULL, &error)) {
			g_printerr("cannot run %s: %s\n", helper, error->message);
			return FALSE;
		}
	}
	line = read_ready_line(stdout_fd);
	close(stdout_fd);
	if (line == NULL)
		return FALSE;
	fields = g_strsplit(line, " ", 2);
	if (g_strv_length(fields) != 2)
		return FALSE;
	server.forwarder = g_strdup_printf("%s@%s", fields[0], fields[1]);
	g_printerr("# test DNS server at %s, state in %s\n", server.forwarder, state);
	return TRUE;
}

static void
server_stop(void)
{
	int status = 0;

	if (server.stdin_fd >= 0)
		close(server.stdin_fd);
	if (server.pid > 0)
		waitpid(server.pid, &status, 0);
	if (server.dir != NULL && g_getenv("PC_KEEP") == NULL) {
		g_autofree char *command = g_strdup_printf("rm -rf '%s'", server.dir);

		g_assert_cmpint(system(command), ==, 0);
	}
	g_free(server.dir);
	g_free(server.forwarder);
}

/* a resolver of the test's own, forwarding to the server */
static PcDns *
resolver_new(gboolean dnssec, const char *trust_anchor_file)
{
	const char *forwarders[] = {server.forwarder, NULL};
	PcDnsOptions options = {
	    .mode = PC_DNS_MODE_FORWARD,
	    .forwarders = forwarders,
	    .timeout_us = TEST_TIMEOUT_US,
	    .dnssec = dnssec,
	    .trust_anchor_file = trust_anchor_file,
	};
	g_autoptr(GError) error = NULL;
	PcDns *dns = pc_dns_new(&options, &error);

	g_assert_no_error(error);
	return dns;
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the records' values, sorted and joined with '|': the order of an RRset is not fixed */
static char *
record_values(const PcDnsResult *result)
{
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < result->records->len; i++) {
		const PcDnsRecord *record = pc_dns_result_record(result, i);
		char address[PC_NET_ADDRESS_STRLEN];

		switch (record->rrtype) {
		case PC_DNS_TYPE_A:
		case PC_DNS_TYPE_AAAA:
			g_ptr_array_add(values, g_strdup(pc_net_address_to_string(
						    &record->address, address, sizeof(address))));
			break;
		case PC_DNS_TYPE_MX:
			g_ptr_array_add(values,
					g_strdup_printf("%u %s", record->preference, record->name));
			break;
		case PC_DNS_TYPE_TXT:
			g_ptr_array_add(values, g_strndup(record->text, record->text_len));
			break;
		default:
			g_ptr_array_add(values, g_strdup(record->name));
			break;
		}
	}
	g_ptr_array_sort(values, compare_strings);
	g_ptr_array_add(values, NULL);
	return g_strjoinv("|", (char **)values->pdata);
}

typedef struct {
	const char *label;
	const char *name;
	guint16 rrtype;
	PcDnsStatus want_status;
	int want_rcode;
	const char *want_values; /* record_values(); NULL = none */
	const char *want_canonical;
} AnswerCase;

static const AnswerCase answer_cases[] = {
    {"a", "a.example.test", PC_DNS_TYPE_A, PC_DNS_OK, 0, "192.0.2.1|192.0.2.2"},
    {"aaaa", "aaaa.example.test.", PC_DNS_TYPE_AAAA, PC_DNS_OK, 0, "2001:db8::1"},
    {"txt-strings-joined", "spf.example.test", PC_DNS_TYPE_TXT, PC_DNS_OK, 0,
     "v=spf1 ip4:192.0.2.0/24 -all"},
    {"txt-records", "multi.example.test", PC_DNS_TYPE_TXT, PC_DNS_OK, 0,
     "first record|second record"},
    {"txt-quotes", "quote.example.test", PC_DNS_TYPE_TXT, PC_DNS_OK, 0, "it's \"quoted\"; k=v"},
    {"mx", "mx.example.test", PC_DNS_TYPE_MX, PC_DNS_OK, 0,
     "10 mail1.example.test|20 mail2.example.test"},
    {"null-mx", "nullmx.example.test", PC_DNS_TYPE_MX, PC_DNS_OK, 0, "0 ."},
    {"ptr-v4", "1.2.0.192.in-addr.arpa", PC_DNS_TYPE_PTR, PC_DNS_OK, 0,
     "a.example.test|alias.example.test"},
    {"ptr-v6", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
     PC_DNS_TYPE_PTR, PC_DNS_OK, 0, "aaaa.example.test"},
    {"cname", "alias.example.test", PC_DNS_TYPE_A, PC_DNS_OK, 0, "192.0.2.1|192.0.2.2",
     "a.example.test"},
    /* the chain's end does not exist: NXDOMAIN, and the name it ended at */
    {"cname-nxdomain", "dangling.example.test", PC_DNS_TYPE_TXT, PC_DNS_NXDOMAIN, 3, NULL,
     "nowhere.example.test"},
    {"case-insensitive", "A.EXAMPLE.Test", PC_DNS_TYPE_A, PC_DNS_OK, 0, "192.0.2.1|192.0.2.2"},
    {"nodata", "a.example.test", PC_DNS_TYPE_AAAA, PC_DNS_NODATA, 0, NULL},
    {"nodata-txt", "mx.example.test", PC_DNS_TYPE_TXT, PC_DNS_NODATA, 0, NULL},
    /* a name with only names below it exists (RFC 8020) */
    {"nodata-empty-non-terminal", "deep.example.test", PC_DNS_TYPE_A, PC_DNS_NODATA, 0, NULL},
    {"nxdomain", "nx.example.test", PC_DNS_TYPE_A, PC_DNS_NXDOMAIN, 3, NULL},
    {"nxdomain-txt", "_dmarc.nx.example.test", PC_DNS_TYPE_TXT, PC_DNS_NXDOMAIN, 3, NULL},
    {"servfail", "x.servfail.example.test", PC_DNS_TYPE_TXT, PC_DNS_SERVFAIL, 2, NULL},
    /* the server refuses names outside its zones: never resolved elsewhere */
    {"outside-refused", "www.example.com", PC_DNS_TYPE_A, PC_DNS_SERVFAIL, -2, NULL},
};

static void
test_answer(gconstpointer data)
{
	const AnswerCase *c = data;
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	g_autoptr(PcDnsResult) result = pc_dns_query(dns, c->name, c->rrtype, NULL);
	g_autofree char *values = record_values(result);

	g_test_message("%s %u: %s (%s), rcode %d, %" G_GINT64_FORMAT " us", c->name, c->rrtype,
		       pc_dns_status_to_string(result->status), result->reason, result->rcode,
		       result->elapsed_us);
	g_assert_cmpint(result->status, ==, c->want_status);
	if (c->want_rcode >= 0)
		g_assert_cmpint(result->rcode, ==, c->want_rcode);
	g_assert_cmpstr(c->want_values != NULL ? values : NULL, ==, c->want_values);
	if (c->want_values == NULL)
		g_assert_cmpuint(result->records->len, ==, 0);
	g_assert_cmpstr(result->canonical_name, ==, c->want_canonical);
	/* every answer, failure included, carries the packet as received */
	g_assert_nonnull(result->packet);
	g_assert_cmpuint(g_bytes_get_size(result->packet), >=, 12);
	/* answered, not timed out: well under the timeout */
	g_assert_cmpint(result->elapsed_us, <, TEST_TIMEOUT_US);
	/* unsigned zones: neither secure nor bogus */
	g_assert_false(result->secure);
	g_assert_false(result->bogus);
}

/* a TXT record of 16 strings, over 4 KB: truncated over UDP, fetched again over TCP */
static void
test_txt_long(void)
{
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	g_autoptr(PcDnsResult) result =
	    pc_dns_query(dns, "long.example.test", PC_DNS_TYPE_TXT, NULL);
	g_autoptr(GString) want = g_string_new(NULL);
	const PcDnsRecord *record;

	for (guint i = 0; i < LONG_STRINGS; i++) {
		g_autofree char *part = long_string(i);

		g_string_append(want, part);
	}
	g_assert_cmpint(result->status, ==, PC_DNS_OK);
	g_assert_cmpuint(result->records->len, ==, 1);
	record = pc_dns_result_record(result, 0);
	g_assert_cmpmem(record->text, record->text_len, want->str, want->len);
	g_assert_cmpuint(g_bytes_get_size(result->packet), >, 1232);
}

static void
assert_within(gint64 elapsed_us, gint64 low_us, gint64 high_us)
{
	g_test_message("elapsed %" G_GINT64_FORMAT " us, want %" G_GINT64_FORMAT
		       "..%" G_GINT64_FORMAT,
		       elapsed_us, low_us, high_us);
	g_assert_cmpint(elapsed_us, >=, low_us);
	g_assert_cmpint(elapsed_us, <=, high_us);
}

/* the server never answers: TIMEOUT at dns_timeout, and the resolver still works after */
static void
test_timeout(void)
{
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	gint64 start = g_get_monotonic_time();
	g_autoptr(PcDnsResult) result =
	    pc_dns_query(dns, "x.timeout.example.test", PC_DNS_TYPE_TXT, NULL);
	gint64 took = g_get_monotonic_time() - start;
	g_autoptr(PcDnsResult) after = NULL;

	g_assert_cmpint(result->status, ==, PC_DNS_TIMEOUT);
	g_assert_cmpint(result->rcode, ==, -1);
	g_assert_null(result->packet);
	assert_within(took, TEST_TIMEOUT_US, TEST_TIMEOUT_US + SLACK_US);
	assert_within(result->elapsed_us, TEST_TIMEOUT_US, TEST_TIMEOUT_US + SLACK_US);
	/* one zone that never answers does not make the server look down */
	after = pc_dns_query(dns, "spf.example.test", PC_DNS_TYPE_TXT, NULL);
	g_assert_cmpint(after->status, ==, PC_DNS_OK);
	g_assert_cmpint(after->elapsed_us, <, TEST_TIMEOUT_US);
}

/*
 * a message's budget of 1.5 s with dns_timeout 1 s: the first silent query
 * times out after 1 s, the second is cut at the budget's end 0.5 s later,
 * the third is not sent
 */
static void
test_budget(void)
{
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	PcDnsBudget budget;
	g_autoptr(PcDnsResult) first = NULL;
	g_autoptr(PcDnsResult) second = NULL;
	g_autoptr(PcDnsResult) third = NULL;
	g_autoptr(PcDnsResult) cached = NULL;
	gint64 start = g_get_monotonic_time();

	pc_dns_budget_init(&budget, MS(1500), TEST_TIMEOUT_US);
	/* answers cost little */
	cached = pc_dns_query(dns, "a.example.test", PC_DNS_TYPE_A, &budget);
	g_assert_cmpint(cached->status, ==, PC_DNS_OK);
	first = pc_dns_query(dns, "one.timeout.example.test", PC_DNS_TYPE_TXT, &budget);
	g_assert_cmpint(first->status, ==, PC_DNS_TIMEOUT);
	assert_within(first->elapsed_us, TEST_TIMEOUT_US, TEST_TIMEOUT_US + SLACK_US);
	second = pc_dns_query(dns, "two.timeout.example.test", PC_DNS_TYPE_TXT, &budget);
	g_assert_cmpint(second->status, ==, PC_DNS_BUDGET);
	assert_within(second->elapsed_us, MS(1500) - first->elapsed_us - cached->elapsed_us,
		      MS(500) + SLACK_US);
	g_assert_true(pc_dns_budget_is_spent(&budget));
	third = pc_dns_query(dns, "aaaa.example.test", PC_DNS_TYPE_AAAA, &budget);
	g_assert_cmpint(third->status, ==, PC_DNS_BUDGET);
	g_assert_cmpint(third->elapsed_us, ==, 0);
	g_assert_cmpuint(budget.queries, ==, 3);
	/* the message spent its budget, and not much more */
	assert_within(g_get_monotonic_time() - start, MS(1500), MS(1500) + 2 * SLACK_US);
}

/* the answer a fresh query of NAME gets, asked twice: *first_out, *second_out */
static void
ask_twice(PcDns *dns, const char *name, guint16 rrtype, PcDnsResult **first_out,
	  PcDnsResult **second_out)
{
	*first_out = pc_dns_query(dns, name, rrtype, NULL);
	*second_out = pc_dns_query(dns, name, rrtype, NULL);
}

/*
 * the answer cache: an answer with a TTL is given again without a round
 * trip (elapsed 0, the same records, the TTL left), whatever the case of
 * the name; failures to find out and TTL 0 are asked again every time; an
 * entry expires with its TTL
 */
static void
test_cache(void)
{
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	g_autoptr(PcDnsResult) first = NULL;
	g_autoptr(PcDnsResult) second = NULL;
	g_autoptr(PcDnsResult) nx = NULL;
	g_autoptr(PcDnsResult) nx_again = NULL;
	g_autoptr(PcDnsResult) fail = NULL;
	g_autoptr(PcDnsResult) fail_again = NULL;
	g_autoptr(PcDnsResult) zero = NULL;
	g_autoptr(PcDnsResult) zero_again = NULL;
	g_autoptr(PcDnsResult) upper = NULL;
	gint64 end;

	ask_twice(dns, "multi.example.test", PC_DNS_TYPE_TXT, &first, &second);
	g_assert_cmpint(first->status, ==, PC_DNS_OK);
	g_assert_cmpint(first->elapsed_us, >, 0);
	g_assert_cmpint(second->status, ==, PC_DNS_OK);
	g_assert_cmpint(second->elapsed_us, ==, 0);
	g_assert_cmpuint(second->records->len, ==, 2);
	g_assert_cmpstr(pc_dns_result_record(second, 0)->text, ==,
			pc_dns_result_record(first, 0)->text);
	/* the order of the first answer (the server rotates its records) */
	g_assert_cmpstr(pc_dns_result_record(second, 1)->text, ==,
			pc_dns_result_record(first, 1)->text);
	g_assert_true(g_bytes_equal(first->packet, second->packet));
	g_assert_cmpuint(second->ttl, <=, first->ttl);
	g_assert_cmpuint(second->ttl, >=, first->ttl - 1);
	upper = pc_dns_query(dns, "MULTI.Example.Test.", PC_DNS_TYPE_TXT, NULL);
	g_assert_cmpint(upper->elapsed_us, ==, 0);
	g_assert_cmpstr(upper->name, ==, "MULTI.Example.Test.");

	/* NXDOMAIN carries the SOA's negative TTL: cached too */
	ask_twice(dns, "nothing.example.test", PC_DNS_TYPE_A, &nx, &nx_again);
	g_assert_cmpint(nx->status, ==, PC_DNS_NXDOMAIN);
	g_assert_cmpint(nx_again->status, ==, PC_DNS_NXDOMAIN);
	g_assert_cmpint(nx_again->elapsed_us, ==, 0);

	ask_twice(dns, "x.servfail.example.test", PC_DNS_TYPE_TXT, &fail, &fail_again);
	g_assert_cmpint(fail_again->status, ==, PC_DNS_SERVFAIL);
	g_assert_cmpint(fail_again->elapsed_us, >, 0);

	ask_twice(dns, "zero.example.test", PC_DNS_TYPE_A, &zero, &zero_again);
	g_assert_cmpint(zero_again->status, ==, PC_DNS_OK);
	g_assert_cmpint(zero_again->elapsed_us, >, 0);

	/* short.example.test has TTL 2: from the cache, then asked again */
	g_clear_pointer(&first, pc_dns_result_free);
	g_clear_pointer(&second, pc_dns_result_free);
	ask_twice(dns, "short.example.test", PC_DNS_TYPE_A, &first, &second);
	g_assert_cmpint(second->elapsed_us, ==, 0);
	end = g_get_monotonic_time() + MS(5000);
	while (second->elapsed_us == 0 && g_get_monotonic_time() < end) {
		g_usleep(MS(100));
		g_clear_pointer(&second, pc_dns_result_free);
		second = pc_dns_query(dns, "short.example.test", PC_DNS_TYPE_A, NULL);
	}
	g_assert_cmpint(second->status, ==, PC_DNS_OK);
	g_assert_cmpint(second->elapsed_us, >, 0);
}

/* libopendkim's pattern: start, wait a little, wait again, cancel */
static void
test_async(void)
{
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	PcDnsBudget budget;
	PcDnsQuery *silent;
	PcDnsQuery *answered;
	PcDnsResult *result;
	gint64 start;

	pc_dns_budget_init(&budget, MS(10000), MS(5000));
	silent = pc_dns_query_start(dns, "async.timeout.example.test", PC_DNS_TYPE_TXT, &budget);
	answered = pc_dns_query_start(dns, "spf.example.test", PC_DNS_TYPE_TXT, &budget);
	/* looking does not wait */
	start = g_get_monotonic_time();
	g_assert_null(pc_dns_query_wait(silent, 0));
	g_assert_cmpint(g_get_monotonic_time() - start, <, MS(100));
	/* the other query is not held up by the silent one */
	result = pc_dns_query_wait(answered, -1);
	g_assert_nonnull(result);
	g_assert_cmpint(result->status, ==, PC_DNS_OK);
	g_assert_cmpint(result->elapsed_us, <, TEST_TIMEOUT_US);
	pc_dns_result_free(result);
	pc_dns_query_free(answered);
	/* a bounded wait ends on time with nothing */
	start = g_get_monotonic_time();
	g_assert_null(pc_dns_query_wait(silent, MS(200)));
	assert_within(g_get_monotonic_time() - start, MS(200), MS(200) + SLACK_US);
	/* cancelled while running: the time it ran is charged */
	pc_dns_query_free(silent);
	g_assert_cmpint(budget.remaining_us, <=, MS(10000) - MS(200));
	g_assert_cmpuint(budget.queries, ==, 2);
}

/* many threads on one resolver: answers stay right, silent queries hold up no one */
#define THREADS 8
#define QUERIES_PER_THREAD 40

typedef struct {
	PcDns *dns;
	guint index;
	gint64 slowest_answer_us;
	guint wrong;
} Worker;

static gpointer
worker_run(gpointer data)
{
	static const struct {
		const char *name;
		guint16 rrtype;
		const char *want;
	} mix[] = {
	    {"a.example.test", PC_DNS_TYPE_A, "192.0.2.1|192.0.2.2"},
	    {"spf.example.test", PC_DNS_TYPE_TXT, "v=spf1 ip4:192.0.2.0/24 -all"},
	    {"mx.example.test", PC_DNS_TYPE_MX, "10 mail1.example.test|20 mail2.example.test"},
	    {"1.2.0.192.in-addr.arpa", PC_DNS_TYPE_PTR, "a.example.test|alias.example.test"},
	    {"nx.example.test", PC_DNS_TYPE_A, ""},
	};
	Worker *worker = data;

	/* the first two threads each wait on a silent zone meanwhile */
	if (worker->index < 2) {
		g_autofree char *name = g_strdup_printf("t%u.timeout.example.test", worker->index);
		g_autoptr(PcDnsResult) result =
		    pc_dns_query(worker->dns, name, PC_DNS_TYPE_A, NULL);

		worker->wrong += result->status != PC_DNS_TIMEOUT;
		return NULL;
	}
	for (guint i = 0; i < QUERIES_PER_THREAD; i++) {
		guint pick = (worker->index + i) % G_N_ELEMENTS(mix);
		g_autoptr(PcDnsResult) result =
		    pc_dns_query(worker->dns, mix[pick].name, mix[pick].rrtype, NULL);
		g_autofree char *values = record_values(result);

		worker->wrong += strcmp(values, mix[pick].want) != 0;
		worker->slowest_answer_us = MAX(worker->slowest_answer_us, result->elapsed_us);
	}
	return NULL;
}

static void
test_threads(void)
{
	g_autoptr(PcDns) dns = resolver_new(FALSE, NULL);
	Worker workers[THREADS];
	GThread *threads[THREADS];

	for (guint i = 0; i < THREADS; i++) {
		workers[i] = (Worker){.dns = dns, .index = i};
		threads[i] = g_thread_new("worker", worker_run, &workers[i]);
	}
	for (guint i = 0; i < THREADS; i++) {
		g_thread_join(threads[i]);
		g_assert_cmpuint(workers[i].wrong, ==, 0);
		if (i >= 2)
			g_assert_cmpint(workers[i].slowest_answer_us, <, TEST_TIMEOUT_US);
	}
}

/*
 * dnssec = yes with a trust anchor for a zone the server does not serve:
 * the test zones are outside it, so their answers are insecure (secure and
 * bogus both unset), and the validator runs without breaking them
 */
static void
test_dnssec_insecure(void)
{
	g_autofree char *anchor = g_build_filename(server.dir, "other.key", NULL);
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(PcDnsResult) result = NULL;

	g_assert_true(g_file_set_contents(
	    anchor,
	    "signed.invalid. IN DS 12345 13 2 "
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
	    -1, NULL));
	dns = resolver_new(TRUE, anchor);
	result = pc_dns_query(dns, "spf.example.test", PC_DNS_TYPE_TXT, NULL);
	g_assert_cmpint(result->status, ==, PC_DNS_OK);
	g_assert_false(result->secure);
	g_assert_false(result->bogus);
}

typedef struct {
	const char *label;
	gboolean dnssec;
	const char *name;
	guint16 rrtype;
	PcDnsStatus want_status;
	gboolean want_secure;
	gboolean want_bogus;
	const char *want_values;
} DnssecCase;

static const DnssecCase dnssec_cases[] = {
    {"secure", TRUE, "txt.signed.test", PC_DNS_TYPE_TXT, PC_DNS_OK, TRUE, FALSE,
     "v=DKIM1; k=ed25519; p=signed"},
    /* non-existence proven by NSEC records: secure too */
    {"secure-nxdomain", TRUE, "nx.signed.test", PC_DNS_TYPE_TXT, PC_DNS_NXDOMAIN, TRUE, FALSE},
    {"secure-nodata", TRUE, "ns.signed.test", PC_DNS_TYPE_AAAA, PC_DNS_NODATA, TRUE, FALSE},
    /* a signature that fails: SERVFAIL and bogus, whatever the data said */
    {"bogus", TRUE, "bogus.signed.test", PC_DNS_TYPE_TXT, PC_DNS_SERVFAIL, FALSE, TRUE},
    /* a zone the trust anchor does not cover: insecure, not bogus */
    {"insecure", TRUE, "spf.example.test", PC_DNS_TYPE_TXT, PC_DNS_OK, FALSE, FALSE,
     "v=spf1 ip4:192.0.2.0/24 -all"},
    /* without validation nothing is secure, and the tampered record is taken as it is */
    {"off-signed", FALSE, "txt.signed.test", PC_DNS_TYPE_TXT, PC_DNS_OK, FALSE, FALSE,
     "v=DKIM1; k=ed25519; p=signed"},
    {"off-tampered", FALSE, "bogus.signed.test", PC_DNS_TYPE_TXT, PC_DNS_OK, FALSE, FALSE,
     "Tampered after signing"},
};

/* dnssec = yes with zones/signed.test.ds as dns_trust_anchor (or dnssec = no) */
static void
test_dnssec(gconstpointer data)
{
	const DnssecCase *c = data;
	g_autofree char *anchor = g_build_filename(server.zones, "signed.test.ds", NULL);
	g_autoptr(PcDns) dns = resolver_new(c->dnssec, c->dnssec ? anchor : NULL);
	g_autoptr(PcDnsResult) result = pc_dns_query(dns, c->name, c->rrtype, NULL);
	g_autofree char *values = record_values(result);

	g_test_message("%s: %s (%s) secure %d bogus %d: %s", c->name,
		       pc_dns_status_to_string(result->status), result->reason, result->secure,
		       result->bogus, result->why_bogus);
	g_assert_cmpint(result->status, ==, c->want_status);
	g_assert_cmpint(result->secure, ==, c->want_secure);
	g_assert_cmpint(result->bogus, ==, c->want_bogus);
	g_assert_cmpstr(c->want_values != NULL ? values : NULL, ==, c->want_values);
	if (c->want_bogus) {
		g_assert_cmpuint(result->records->len, ==, 0);
		g_assert_cmpstr(result->reason, ==, "dnssec validation failed");
		g_assert_nonnull(result->why_bogus);
	} else {
		g_assert_null(result->why_bogus);
	}
}

static gboolean
unbound_installed(void)
{
	g_autofree char *path = g_find_program_in_path("unbound");

	return path != NULL || g_file_test("/usr/sbin/unbound", G_FILE_TEST_IS_EXECUTABLE);
}

int
main(int argc, char **argv)
{
	const char *helper = g_getenv("PC_TEST_DNS");
	int status;

	g_test_init(&argc, &argv, NULL);
	server.zones = g_getenv("PC_TEST_DNS_ZONES");
	if (helper == NULL || server.zones == NULL || !unbound_installed()) {
		/* TAP: the whole file is skipped, with the reason */
		printf("1..0 # SKIP %s\n", helper == NULL || server.zones == NULL
					       ? "PC_TEST_DNS or PC_TEST_DNS_ZONES is not set"
					       : "unbound is not installed");
		return 0;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(answer_cases); i++) {
		g_autofree char *path = g_strconcat("/pc/dns/server/", answer_cases[i].label, NULL);

		g_test_add_data_func(path, &answer_cases[i], test_answer);
	}
	g_test_add_func("/pc/dns/server/txt-long", test_txt_long);
	g_test_add_func("/pc/dns/server/timeout", test_timeout);
	g_test_add_func("/pc/dns/server/budget", test_budget);
	g_test_add_func("/pc/dns/server/cache", test_cache);
	g_test_add_func("/pc/dns/server/async", test_async);
	g_test_add_func("/pc/dns/server/threads", test_threads);
	g_test_add_func("/pc/dns/server/dnssec-insecure", test_dnssec_insecure);
	for (gsize i = 0; i < G_N_ELEMENTS(dnssec_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/dns/server/dnssec/", dnssec_cases[i].label, NULL);

		g_test_add_data_func(path, &dnssec_cases[i], test_dnssec);
	}
	if (!server_start(helper)) {
		server_stop();
		g_printerr("the test DNS server did not start\n");
		return 1;
	}
	status = g_test_run();
	server_stop();
	return status;
}
