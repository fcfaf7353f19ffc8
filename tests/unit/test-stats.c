/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-stats: the exposition text of each metric type compared whole,
 * series under one family, sorting, help escaping, histogram bucket
 * boundaries, registration errors, exact totals under concurrent updates, and
 * the HTTP listener on loopback (an ephemeral port, a plain-socket client).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <glib.h>

#include "pc-stats.h"

/* every test starts from an empty registry */
static void
stats_setup(void)
{
	pc_stats_stop();
	pc_stats_reset_for_tests();
}

static void
assert_render(const char *want)
{
	g_autofree char *text = pc_stats_render();

	g_assert_cmpstr(text, ==, want);
}

/*
 * --- rendering ---
 */

static void
test_render_empty(void)
{
	stats_setup();
	assert_render("");
}

static void
test_render_counter(void)
{
	PcStatsCounter *counter;

	stats_setup();
	counter = pc_stats_counter_register("pc_test_denied_total", "Messages denied.", NULL);
	g_assert_nonnull(counter);
	assert_render("# HELP pc_test_denied_total Messages denied.\n"
		      "# TYPE pc_test_denied_total counter\n"
		      "pc_test_denied_total 0\n");

	pc_stats_counter_inc(counter);
	pc_stats_counter_add(counter, G_MAXUINT64 - 1);
	g_assert_cmpuint(pc_stats_counter_get(counter), ==, G_MAXUINT64);
	assert_render("# HELP pc_test_denied_total Messages denied.\n"
		      "# TYPE pc_test_denied_total counter\n"
		      "pc_test_denied_total 18446744073709551615\n");
}

static void
test_render_gauge(void)
{
	PcStatsGauge *gauge;

	stats_setup();
	gauge = pc_stats_gauge_register("pc_test_sessions", "Open sessions.", NULL);
	pc_stats_gauge_set(gauge, 5);
	pc_stats_gauge_add(gauge, -8);
	g_assert_cmpint(pc_stats_gauge_get(gauge), ==, -3);
	assert_render("# HELP pc_test_sessions Open sessions.\n"
		      "# TYPE pc_test_sessions gauge\n"
		      "pc_test_sessions -3\n");

	pc_stats_gauge_set(gauge, G_MININT64);
	assert_render("# HELP pc_test_sessions Open sessions.\n"
		      "# TYPE pc_test_sessions gauge\n"
		      "pc_test_sessions -9223372036854775808\n");
}

/* a computed gauge prints its double as the shortest text that reads back the same */
typedef struct {
	const char *label;
	double value;
	const char *want;
} StatsFuncCase;

static const StatsFuncCase func_cases[] = {
    {.label = "integer", .value = 42.0, .want = "42"},
    {.label = "zero", .value = 0.0, .want = "0"},
    {.label = "negative-zero", .value = -0.0, .want = "-0"},
    {.label = "fraction", .value = 2.5, .want = "2.5"},
    {.label = "tenth", .value = 0.1, .want = "0.1"},
    {.label = "sum-needs-17-digits", .value = 0.1 + 0.2, .want = "0.30000000000000004"},
    {.label = "third", .value = 1.0 / 3.0, .want = "0.3333333333333333"},
    {.label = "large", .value = 1e21, .want = "1e+21"},
    {.label = "small", .value = 1.5e-9, .want = "1.5e-09"},
    {.label = "max", .value = G_MAXDOUBLE, .want = "1.7976931348623157e+308"},
    {.label = "plus-inf", .value = INFINITY, .want = "+Inf"},
    {.label = "minus-inf", .value = -INFINITY, .want = "-Inf"},
    {.label = "nan", .value = NAN, .want = "NaN"},
};

static double
stats_func_value(gpointer user_data)
{
	const StatsFuncCase *test_case = user_data;

	return test_case->value;
}

static void
test_render_gauge_func(gconstpointer data)
{
	const StatsFuncCase *test_case = data;
	g_autofree char *want = g_strdup_printf("# HELP pc_test_keys Keys held.\n"
						"# TYPE pc_test_keys gauge\n"
						"pc_test_keys{store=\"memory\"} %s\n",
						test_case->want);

	stats_setup();
	pc_stats_gauge_register_func("pc_test_keys", "Keys held.", "store=\"memory\"",
				     stats_func_value, (gpointer)test_case);
	assert_render(want);
}

static void
test_render_histogram(void)
{
	static const double bounds[] = {0.25, 0.5, 1, 2.5};
	PcStatsHistogram *histogram;

	stats_setup();
	histogram = pc_stats_histogram_register("pc_test_dns_seconds", "DNS lookup time.", bounds,
						G_N_ELEMENTS(bounds));
	assert_render("# HELP pc_test_dns_seconds DNS lookup time.\n"
		      "# TYPE pc_test_dns_seconds histogram\n"
		      "pc_test_dns_seconds_bucket{le=\"0.25\"} 0\n"
		      "pc_test_dns_seconds_bucket{le=\"0.5\"} 0\n"
		      "pc_test_dns_seconds_bucket{le=\"1\"} 0\n"
		      "pc_test_dns_seconds_bucket{le=\"2.5\"} 0\n"
		      "pc_test_dns_seconds_bucket{le=\"+Inf\"} 0\n"
		      "pc_test_dns_seconds_sum 0\n"
		      "pc_test_dns_seconds_count 0\n");

	pc_stats_histogram_observe(histogram, 0.25);
	pc_stats_histogram_observe(histogram, 0.5);
	pc_stats_histogram_observe(histogram, 0.75);
	pc_stats_histogram_observe(histogram, 3);
	assert_render("# HELP pc_test_dns_seconds DNS lookup time.\n"
		      "# TYPE pc_test_dns_seconds histogram\n"
		      "pc_test_dns_seconds_bucket{le=\"0.25\"} 1\n"
		      "pc_test_dns_seconds_bucket{le=\"0.5\"} 2\n"
		      "pc_test_dns_seconds_bucket{le=\"1\"} 3\n"
		      "pc_test_dns_seconds_bucket{le=\"2.5\"} 3\n"
		      "pc_test_dns_seconds_bucket{le=\"+Inf\"} 4\n"
		      "pc_test_dns_seconds_sum 4.5\n"
		      "pc_test_dns_seconds_count 4\n");
}

static void
test_render_histogram_no_bounds(void)
{
	PcStatsHistogram *histogram;

	stats_setup();
	histogram = pc_stats_histogram_register("pc_test_size_bytes", "Sizes.", NULL, 0);
	pc_stats_histogram_observe(histogram, 1024);
	assert_render("# HELP pc_test_size_bytes Sizes.\n"
		      "# TYPE pc_test_size_bytes histogram\n"
		      "pc_test_size_bytes_bucket{le=\"+Inf\"} 1\n"
		      "pc_test_size_bytes_sum 1024\n"
		      "pc_test_size_bytes_count 1\n");
}

/* which bucket one observation lands in: an observation equal to a bound is in that bucket */
typedef struct {
	const char *label;
	double value;
	const char *want_buckets; /* cumulative counts for le=0.001, 0.1, 1, +Inf */
	const char *want_sum;
} StatsBucketCase;

static const StatsBucketCase bucket_cases[] = {
    {.label = "below-all", .value = -1, .want_buckets = "1 1 1 1", .want_sum = "-1"},
    {.label = "zero", .value = 0, .want_buckets = "1 1 1 1", .want_sum = "0"},
    {.label = "at-first", .value = 0.001, .want_buckets = "1 1 1 1", .want_sum = "0.001"},
    {.label = "above-first",
     .value = 0.0010000000000000002,
     .want_buckets = "0 1 1 1",
     .want_sum = "0.0010000000000000002"},
    {.label = "at-middle", .value = 0.1, .want_buckets = "0 1 1 1", .want_sum = "0.1"},
    {.label = "at-last", .value = 1, .want_buckets = "0 0 1 1", .want_sum = "1"},
    {.label = "above-last",
     .value = 1.0000000000000002,
     .want_buckets = "0 0 0 1",
     .want_sum = "1.0000000000000002"},
    {.label = "infinity", .value = INFINITY, .want_buckets = "0 0 0 1", .want_sum = "+Inf"},
    {.label = "nan", .value = NAN, .want_buckets = "0 0 0 1", .want_sum = "NaN"},
};

static void
test_histogram_bucket(gconstpointer data)
{
	static const double bounds[] = {0.001, 0.1, 1};
	const StatsBucketCase *test_case = data;
	g_auto(GStrv) counts = g_strsplit(test_case->want_buckets, " ", -1);
	g_autofree char *want = NULL;
	PcStatsHistogram *histogram;

	stats_setup();
	histogram = pc_stats_histogram_register("h", "H.", bounds, G_N_ELEMENTS(bounds));
	pc_stats_histogram_observe(histogram, test_case->value);
	want = g_strdup_printf("# HELP h H.\n# TYPE h histogram\n"
			       "h_bucket{le=\"0.001\"} %s\n"
			       "h_bucket{le=\"0.1\"} %s\n"
			       "h_bucket{le=\"1\"} %s\n"
			       "h_bucket{le=\"+Inf\"} %s\n"
			       "h_sum %s\n"
			       "h_count 1\n",
			       counts[0], counts[1], counts[2], counts[3], test_case->want_sum);
	assert_render(want);
}

static void
test_render_labels(void)
{
	PcStatsCounter *percent;
	PcStatsCounter *relay;
	PcStatsCounter *plain;

	stats_setup();
	percent =
	    pc_stats_counter_register("pc_test_denied_total", "Denied.", "reason=\"percent\"");
	relay = pc_stats_counter_register("pc_test_denied_total", "Other help, ignored.",
					  "reason=\"relay\",listener=\"mx\"");
	plain = pc_stats_counter_register("pc_test_denied_total", "Denied.", NULL);
	g_assert_true(percent != relay && relay != plain && plain != percent);
	pc_stats_counter_add(percent, 2);
	pc_stats_counter_add(relay, 7);
	assert_render("# HELP pc_test_denied_total Denied.\n"
		      "# TYPE pc_test_denied_total counter\n"
		      "pc_test_denied_total{reason=\"percent\"} 2\n"
		      "pc_test_denied_total{reason=\"relay\",listener=\"mx\"} 7\n"
		      "pc_test_denied_total 0\n");
}

static void
test_render_sorted(void)
{
	stats_setup();
	pc_stats_counter_register("zeta_total", "Z.", NULL);
	pc_stats_gauge_register("alpha", "A.", NULL);
	pc_stats_histogram_register("mid_seconds", "M.", NULL, 0);
	pc_stats_counter_register("alpha_total", "AT.", NULL);
	assert_render("# HELP alpha A.\n# TYPE alpha gauge\nalpha 0\n"
		      "# HELP alpha_total AT.\n# TYPE alpha_total counter\nalpha_total 0\n"
		      "# HELP mid_seconds M.\n# TYPE mid_seconds histogram\n"
		      "mid_seconds_bucket{le=\"+Inf\"} 0\nmid_seconds_sum 0\nmid_seconds_count 0\n"
		      "# HELP zeta_total Z.\n# TYPE zeta_total counter\nzeta_total 0\n");
}

static void
test_render_help_escape(void)
{
	stats_setup();
	pc_stats_counter_register("pc_test_total", "Two\nlines, a \\ and \"quotes\".", NULL);
	assert_render("# HELP pc_test_total Two\\nlines, a \\\\ and \"quotes\".\n"
		      "# TYPE pc_test_total counter\n"
		      "pc_test_total 0\n");
}

/*
 * --- registration ---
 */

static void
test_register_idempotent(void)
{
	static const double bounds[] = {1, 2};
	PcStatsCounter *counter;
	PcStatsGauge *gauge;
	PcStatsHistogram *histogram;

	stats_setup();
	counter = pc_stats_counter_register("c_total", "C.", "a=\"b\"");
	pc_stats_counter_add(counter, 3);
	g_assert_true(pc_stats_counter_register("c_total", "C.", "a=\"b\"") == counter);
	g_assert_cmpuint(pc_stats_counter_get(counter), ==, 3);

	gauge = pc_stats_gauge_register("g", "G.", NULL);
	g_assert_true(pc_stats_gauge_register("g", "G.", "") == gauge);

	histogram = pc_stats_histogram_register("h", "H.", bounds, G_N_ELEMENTS(bounds));
	g_assert_true(pc_stats_histogram_register("h", "H.", bounds, G_N_ELEMENTS(bounds)) ==
		      histogram);

	/* a second init replaces the function's data instead of keeping the old pointer */
	pc_stats_gauge_register_func("f", "F.", NULL, stats_func_value, NULL);
	pc_stats_gauge_register_func("f", "F.", NULL, stats_func_value, (gpointer)&func_cases[0]);
	assert_render("# HELP c_total C.\n# TYPE c_total counter\nc_total{a=\"b\"} 3\n"
		      "# HELP f F.\n# TYPE f gauge\nf 42\n"
		      "# HELP g G.\n# TYPE g gauge\ng 0\n"
		      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\n"
		      "h_bucket{le=\"2\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

static void
test_register_type_clash(void)
{
	static const double bounds[] = {1};

	stats_setup();
	g_assert_nonnull(pc_stats_counter_register("pc_clash", "C.", NULL));

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
			      "metric pc_clash is a counter, cannot register it as a gauge");
	g_assert_null(pc_stats_gauge_register("pc_clash", "G.", "x=\"y\""));
	g_test_assert_expected_messages();

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
			      "metric pc_clash is a counter, cannot register it as a histogram");
	g_assert_null(pc_stats_histogram_register("pc_clash", "H.", bounds, 1));
	g_test_assert_expected_messages();

	/* a set gauge and a computed one cannot share a series */
	g_assert_nonnull(pc_stats_gauge_register("pc_gauge", "G.", NULL));
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
			      "gauge pc_gauge{} is already registered to be set");
	pc_stats_gauge_register_func("pc_gauge", "G.", NULL, stats_func_value, NULL);
	g_test_assert_expected_messages();

	pc_stats_gauge_register_func("pc_func", "G.", NULL, stats_func_value,
				     (gpointer)&func_cases[0]);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
			      "gauge pc_func{} is already registered with a function");
	g_assert_null(pc_stats_gauge_register("pc_func", "G.", NULL));
	g_test_assert_expected_messages();

	/* nothing was added by the refused registrations */
	assert_render("# HELP pc_clash C.\n# TYPE pc_clash counter\npc_clash 0\n"
		      "# HELP pc_func G.\n# TYPE pc_func gauge\npc_func 42\n"
		      "# HELP pc_gauge G.\n# TYPE pc_gauge gauge\npc_gauge 0\n");
}

typedef struct {
	const char *label;
	const char *name;
	const char *labels;
	gboolean valid;
} StatsNameCase;

static const StatsNameCase name_cases[] = {
    {.label = "simple", .name = "a", .valid = TRUE},
    {.label = "underscore-first", .name = "_a", .valid = TRUE},
    {.label = "colon-first", .name = ":a", .valid = TRUE},
    {.label = "mixed", .name = "pc:relay_denied_total9", .valid = TRUE},
    {.label = "empty", .name = ""},
    {.label = "digit-first", .name = "9lives"},
    {.label = "hyphen", .name = "a-b"},
    {.label = "space", .name = "a b"},
    {.label = "dot", .name = "a.b"},
    {.label = "labels-one", .name = "l", .labels = "reason=\"x\"", .valid = TRUE},
    {.label = "labels-escapes",
     .name = "l",
     .labels = "a=\"q\\\"b\\\\s\\nn\",_b2=\"\"",
     .valid = TRUE},
    {.label = "labels-unquoted", .name = "l", .labels = "reason=percent"},
    {.label = "labels-unterminated", .name = "l", .labels = "reason=\"x"},
    {.label = "labels-digit-name", .name = "l", .labels = "1x=\"a\""},
    {.label = "labels-trailing-comma", .name = "l", .labels = "a=\"b\","},
    {.label = "labels-bad-escape", .name = "l", .labels = "a=\"\\q\""},
    {.label = "labels-raw-newline", .name = "l", .labels = "a=\"x\ny\""},
    {.label = "labels-space", .name = "l", .labels = "a = \"b\""},
    {.label = "labels-braces", .name = "l", .labels = "{a=\"b\"}"},
};

static void
test_register_name(gconstpointer data)
{
	const StatsNameCase *test_case = data;

	stats_setup();
	if (test_case->valid) {
		g_assert_nonnull(
		    pc_stats_counter_register(test_case->name, "N.", test_case->labels));
		return;
	}
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
			      test_case->labels != NULL ? "*pc_stats_labels_valid*"
							: "*pc_stats_name_valid*");
	g_assert_null(pc_stats_counter_register(test_case->name, "N.", test_case->labels));
	g_test_assert_expected_messages();
	assert_render("");
}

static void
test_register_bad_bounds(void)
{
	static const double descending[] = {1, 0.5};
	static const double repeated[] = {1, 1};
	static const double infinite[] = {1, INFINITY};
	static const double other[] = {1, 5};

	stats_setup();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*pc_stats_bounds_valid*");
	g_assert_null(pc_stats_histogram_register("h1", "H.", descending, 2));
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*pc_stats_bounds_valid*");
	g_assert_null(pc_stats_histogram_register("h2", "H.", repeated, 2));
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*pc_stats_bounds_valid*");
	g_assert_null(pc_stats_histogram_register("h3", "H.", infinite, 2));
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*pc_stats_bounds_valid*");
	g_assert_null(pc_stats_histogram_register("h4", "H.", NULL, 2));
	g_test_assert_expected_messages();

	g_assert_nonnull(pc_stats_histogram_register("h5", "H.", descending + 1, 1));
	g_assert_nonnull(pc_stats_histogram_register("h6", "H.", other, 2));
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*pc_stats_bounds_equal*");
	g_assert_null(pc_stats_histogram_register("h6", "H.", repeated, 1));
	g_test_assert_expected_messages();
}

static void
test_guards(void)
{
	stats_setup();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*counter != NULL*");
	pc_stats_counter_add(NULL, 1);
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*help != NULL*");
	g_assert_null(pc_stats_gauge_register("g", NULL, NULL));
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*func != NULL*");
	pc_stats_gauge_register_func("g", "G.", NULL, NULL, NULL);
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*histogram != NULL*");
	pc_stats_histogram_observe(NULL, 1);
	g_test_assert_expected_messages();
	assert_render("");
}

/*
 * --- threads ---
 */

#define STATS_THREADS 4
#define STATS_THREAD_UPDATES 100000

typedef struct {
	PcStatsCounter *counter;
	PcStatsGauge *gauge;
	PcStatsHistogram *histogram;
} StatsThreadData;

static gpointer
stats_thread_run(gpointer data)
{
	const StatsThreadData *metrics = data;

	for (guint i = 0; i < STATS_THREAD_UPDATES; i++) {
		pc_stats_counter_inc(metrics->counter);
		pc_stats_gauge_add(metrics->gauge, i % 2 == 0 ? 3 : -1);
		/* whole numbers keep the double sum exact, so a lost update would show */
		pc_stats_histogram_observe(metrics->histogram, (double)(i % 3));
	}
	return NULL;
}

static void
test_threads(void)
{
	static const double bounds[] = {0, 1};
	StatsThreadData metrics;
	GThread *threads[STATS_THREADS];
	g_autofree char *want = NULL;

	stats_setup();
	metrics.counter = pc_stats_counter_register("t_total", "T.", NULL);
	metrics.gauge = pc_stats_gauge_register("t_gauge", "T.", NULL);
	metrics.histogram = pc_stats_histogram_register("t_hist", "T.", bounds, 2);
	for (guint i = 0; i < STATS_THREADS; i++)
		threads[i] = g_thread_new("stats-update", stats_thread_run, &metrics);
	for (guint i = 0; i < STATS_THREADS; i++)
		g_thread_join(threads[i]);

	g_assert_cmpuint(pc_stats_counter_get(metrics.counter), ==,
			 STATS_THREADS * STATS_THREAD_UPDATES);
	g_assert_cmpint(pc_stats_gauge_get(metrics.gauge), ==,
			STATS_THREADS * STATS_THREAD_UPDATES);
	/* per thread, i % 3 over 0..99999: 33334 zeros, 33333 ones, 33333 twos */
	assert_render("# HELP t_gauge T.\n# TYPE t_gauge gauge\nt_gauge 400000\n"
		      "# HELP t_hist T.\n# TYPE t_hist histogram\n"
		      "t_hist_bucket{le=\"0\"} 133336\n"
		      "t_hist_bucket{le=\"1\"} 266668\n"
		      "t_hist_bucket{le=\"+Inf\"} 400000\n"
		      "t_hist_sum 399996\n"
		      "t_hist_count 400000\n"
		      "# HELP t_total T.\n# TYPE t_total counter\nt_total 400000\n");
}

/*
 * --- HTTP listener ---
 */

/*
 * one request over a fresh connection; returns the whole response, or NULL,
 * also when a connect, send or receive waited longer than timeout_ms
 */
static char *
stats_http_request_within(int family, guint16 port, const char *request, guint timeout_ms)
{
	struct sockaddr_storage address = {0};
	socklen_t address_len;
	struct timeval timeout = {.tv_sec = timeout_ms / 1000,
				  .tv_usec = (timeout_ms % 1000) * 1000};
	g_autoptr(GString) response = g_string_new(NULL);
	char buf[4096];
	ssize_t n;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&address;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons(port);
		address_len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&address;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		address_len = sizeof(*sin);
	}
	/* a hung server fails the test instead of hanging it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&address, address_len) != 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(response, buf, n);
	close(fd);
	if (n < 0)
		return NULL;
	return g_string_free(g_steal_pointer(&response), FALSE);
}

static char *
stats_http_request(int family, guint16 port, const char *request)
{
	return stats_http_request_within(family, port, request, 5000);
}

static void
stats_http_setup(void)
{
	PcStatsCounter *counter;

	stats_setup();
	counter = pc_stats_counter_register("pc_http_total", "Over HTTP.", NULL);
	pc_stats_counter_add(counter, 7);
}

static void
test_http_metrics(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *response = NULL;
	g_autofree char *head = NULL;
	guint16 port;

	stats_http_setup();
	g_assert_cmpuint(pc_stats_bound_port(), ==, 0);
	g_assert_true(pc_stats_serve("127.0.0.1:0", &error));
	g_assert_no_error(error);
	port = pc_stats_bound_port();
	g_assert_cmpuint(port, !=, 0);

	response = stats_http_request(AF_INET, port,
				      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				      "Connection: close\r\n\r\n");
	g_assert_nonnull(response);
	g_assert_true(g_str_has_prefix(response, "HTTP/1.1 200 OK\r\n"));
	g_assert_nonnull(
	    strstr(response, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	g_assert_true(g_str_has_suffix(response, "\r\n\r\n# HELP pc_http_total Over HTTP.\n"
						 "# TYPE pc_http_total counter\n"
						 "pc_http_total 7\n"));

	/* HEAD: the same headers, no body; the server speaks HTTP/1.1 to a 1.0 client */
	head =
	    stats_http_request(AF_INET, port, "HEAD /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
	g_assert_nonnull(head);
	g_assert_true(g_str_has_prefix(head, "HTTP/1.1 200 OK\r\n"));
	g_assert_true(g_str_has_suffix(head, "\r\n\r\n"));

	pc_stats_stop();
	g_assert_cmpuint(pc_stats_bound_port(), ==, 0);
	pc_stats_stop();
}

typedef struct {
	const char *label;
	const char *request;
	const char *want_status;
	const char *want_header; /* NULL: not checked */
} StatsHttpCase;

static const StatsHttpCase http_cases[] = {
    {.label = "other-path",
     .request = "GET /other HTTP/1.0\r\n\r\n",
     .want_status = "HTTP/1.1 404 Not Found\r\n"},
    {.label = "metrics-subpath",
     .request = "GET /metrics/x HTTP/1.0\r\n\r\n",
     .want_status = "HTTP/1.1 404 Not Found\r\n"},
    {.label = "root",
     .request = "GET / HTTP/1.0\r\n\r\n",
     .want_status = "HTTP/1.1 404 Not Found\r\n"},
    {.label = "query-string",
     .request = "GET /metrics?x=1 HTTP/1.0\r\n\r\n",
     .want_status = "HTTP/1.1 200 OK\r\n"},
    {.label = "post",
     .request = "POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi",
     .want_status = "HTTP/1.1 405 Method Not Allowed\r\n",
     .want_header = "\r\nAllow: GET, HEAD\r\n"},
    {.label = "delete",
     .request = "DELETE /metrics HTTP/1.0\r\n\r\n",
     .want_status = "HTTP/1.1 405 Method Not Allowed\r\n",
     .want_header = "\r\nAllow: GET, HEAD\r\n"},
};

static void
test_http_status(gconstpointer data)
{
	const StatsHttpCase *test_case = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *response = NULL;

	stats_http_setup();
	g_assert_true(pc_stats_serve("127.0.0.1:0", &error));
	g_assert_no_error(error);
	response = stats_http_request(AF_INET, pc_stats_bound_port(), test_case->request);
	pc_stats_stop();

	g_assert_nonnull(response);
	g_assert_true(g_str_has_prefix(response, test_case->want_status));
	if (test_case->want_header != NULL)
		g_assert_nonnull(strstr(response, test_case->want_header));
}

static void
test_http_ipv6(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *response = NULL;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0) {
		g_test_skip("no IPv6 in this kernel");
		return;
	}
	close(fd);
	stats_http_setup();
	if (!pc_stats_serve("[::1]:0", &error)) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	response =
	    stats_http_request(AF_INET6, pc_stats_bound_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	pc_stats_stop();
	g_assert_nonnull(response);
	g_assert_true(g_str_has_prefix(response, "HTTP/1.1 200 OK\r\n"));
	g_assert_nonnull(strstr(response, "\npc_http_total 7\n"));
}

/* ":PORT" listens everywhere: reach it over IPv4 loopback */
static void
test_http_any(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *response = NULL;

	stats_http_setup();
	g_assert_true(pc_stats_serve(":0", &error));
	g_assert_no_error(error);
	response =
	    stats_http_request(AF_INET, pc_stats_bound_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	pc_stats_stop();
	g_assert_nonnull(response);
	g_assert_true(g_str_has_prefix(response, "HTTP/1.1 200 OK\r\n"));
}

/*
 * --- many idle or slow clients ---
 *
 * An attack run held the endpoint with 16 idle connections (a scrape waited
 * 10 s) and 100 (it timed out). The clients here connect and then send
 * nothing or half a request line; a scrape made after them must be answered
 * while they are all still open.
 */

#define STATS_IDLE_CLIENTS 100
/* a loopback scrape takes milliseconds; this is generous for sanitizer builds, and below the idle
 * timeout */
#define STATS_SCRAPE_WITHIN_MS 2000
/* how long the test may spend opening its clients, whatever happens */
#define STATS_IDLE_SETUP_US (10 * G_USEC_PER_SEC)

static int
stats_connect_loopback(guint16 port)
{
	struct sockaddr_in address = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval timeout = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* TRUE while the server has not closed fd: nothing to read yet, and no EOF */
static gboolean
stats_still_open(int fd)
{
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
test_http_idle_clients(void)
{
	static const char partial[] = "GET /metr";
	g_autoptr(GError) error = NULL;
	g_autofree char *response = NULL;
	int clients[STATS_IDLE_CLIENTS];
	gint64 deadline = g_get_monotonic_time() + STATS_IDLE_SETUP_US;
	guint n_clients = 0;
	guint16 port;

	stats_http_setup();
	g_assert_true(pc_stats_serve("127.0.0.1:0", &error));
	g_assert_no_error(error);
	port = pc_stats_bound_port();

	/* every other one is a slowloris: half a request line, then silence */
	while (n_clients < STATS_IDLE_CLIENTS && g_get_monotonic_time() < deadline) {
		int fd = stats_connect_loopback(port);

		g_assert_cmpint(fd, >=, 0);
		if (n_clients % 2 == 1)
			g_assert_cmpint(write(fd, partial, strlen(partial)), ==, strlen(partial));
		clients[n_clients++] = fd;
	}
	g_assert_cmpuint(n_clients, ==, STATS_IDLE_CLIENTS);

	response = stats_http_request_within(AF_INET, port,
					     "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
					     "Connection: close\r\n\r\n",
					     STATS_SCRAPE_WITHIN_MS);
	g_assert_nonnull(response);
	g_assert_true(g_str_has_prefix(response, "HTTP/1.1 200 OK\r\n"));
	g_assert_nonnull(strstr(response, "\npc_http_total 7\n"));

	/* answered alongside them, not after the server had dropped them */
	for (guint i = 0; i < n_clients; i++)
		g_assert_true(stats_still_open(clients[i]));
	/* half of them hang up mid-request: detail for the log, not a warning (fatal here) */
	for (guint i = 0; i < n_clients; i++)
		close(clients[i]);
	pc_stats_stop();
}

/* a little over the listener's 3 s inactivity timeout, well under the old 10 s */
#define STATS_IDLE_CLOSED_WITHIN_S 6

/* reads fd until the server closes it; FALSE when the receive timeout passed first */
static gboolean
stats_wait_closed(int fd)
{
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n == 0;
}

/* an idle client and a slowloris lose their connection after a few seconds, not ten */
static void
test_http_idle_timeout(void)
{
	static const char partial[] = "GET /metrics HTTP/1.1\r\nHost: 127.";
	struct timeval timeout = {.tv_sec = STATS_IDLE_CLOSED_WITHIN_S};
	g_autoptr(GError) error = NULL;
	int idle;
	int slow;

	stats_http_setup();
	g_assert_true(pc_stats_serve("127.0.0.1:0", &error));
	g_assert_no_error(error);
	idle = stats_connect_loopback(pc_stats_bound_port());
	slow = stats_connect_loopback(pc_stats_bound_port());
	g_assert_cmpint(idle, >=, 0);
	g_assert_cmpint(slow, >=, 0);
	g_assert_cmpint(write(slow, partial, strlen(partial)), ==, strlen(partial));
	/* the receive timeout is the bound: no sleep, the test ends when the server closes */
	setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));

	g_assert_true(stats_wait_closed(idle));
	g_assert_true(stats_wait_closed(slow));
	close(idle);
	close(slow);
	pc_stats_stop();
}

typedef struct {
	const char *label;
	const char *listen;
	const char *want_error;
} StatsListenCase;

static const StatsListenCase listen_cases[] = {
    {.label = "no-port",
     .listen = "9750",
     .want_error = "listen '9750': expected HOST:PORT, [IPV6]:PORT or :PORT"},
    {.label = "empty",
     .listen = "",
     .want_error = "listen '': expected HOST:PORT, [IPV6]:PORT or :PORT"},
    {.label = "empty-port",
     .listen = "127.0.0.1:",
     .want_error = "listen '127.0.0.1:': port '' is not a number from 0 to 65535"},
    {.label = "port-too-big",
     .listen = "127.0.0.1:65536",
     .want_error = "listen '127.0.0.1:65536': port '65536' is not a number from 0 to 65535"},
    {.label = "port-negative",
     .listen = ":-1",
     .want_error = "listen ':-1': port '-1' is not a number from 0 to 65535"},
    {.label = "port-name",
     .listen = "127.0.0.1:http",
     .want_error = "listen '127.0.0.1:http': port 'http' is not a number from 0 to 65535"},
    {.label = "port-space",
     .listen = "127.0.0.1: 80",
     .want_error = "listen '127.0.0.1: 80': port ' 80' is not a number from 0 to 65535"},
    {.label = "host-name",
     .listen = "localhost:9750",
     .want_error = "listen 'localhost:9750': 'localhost' is not an IPv4 address (host names "
		   "are not resolved)"},
    {.label = "bad-v4",
     .listen = "192.0.2.256:9750",
     .want_error = "listen '192.0.2.256:9750': '192.0.2.256' is not an IPv4 address (host "
		   "names are not resolved)"},
    {.label = "v6-without-brackets",
     .listen = "::1:9750",
     .want_error = "listen '::1:9750': an IPv6 address goes in brackets, as in [::1]:9750"},
    {.label = "v6-unclosed",
     .listen = "[::1:9750",
     .want_error = "listen '[::1:9750': an IPv6 address goes in brackets, as in [::1]:9750"},
    {.label = "v6-empty-brackets",
     .listen = "[]:9750",
     .want_error = "listen '[]:9750': an IPv6 address goes in brackets, as in [::1]:9750"},
    {.label = "v6-bad",
     .listen = "[192.0.2.1]:9750",
     .want_error = "listen '[192.0.2.1]:9750': '192.0.2.1' is not an IPv6 address"},
    {.label = "v6-no-port",
     .listen = "[::1]",
     .want_error = "listen '[::1]': port '1]' is not a number from 0 to 65535"},
};

static void
test_serve_bad_listen(gconstpointer data)
{
	const StatsListenCase *test_case = data;
	g_autoptr(GError) error = NULL;

	stats_setup();
	g_assert_false(pc_stats_serve(test_case->listen, &error));
	g_assert_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN);
	g_assert_cmpstr(error->message, ==, test_case->want_error);
	g_assert_cmpuint(pc_stats_bound_port(), ==, 0);
}

/* a port someone else holds: the error names the spec, libmicrohttpd's reason goes to the log */
static void
test_serve_port_in_use(void)
{
	struct sockaddr_in address = {.sin_family = AF_INET};
	socklen_t address_len = sizeof(address);
	g_autoptr(GError) error = NULL;
	g_autofree char *listen_spec = NULL;
	g_autofree char *want = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	stats_setup();
	g_assert_cmpint(fd, >=, 0);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&address, sizeof(address)), ==, 0);
	g_assert_cmpint(listen(fd, 1), ==, 0);
	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&address, &address_len), ==, 0);
	listen_spec = g_strdup_printf("127.0.0.1:%u", ntohs(address.sin_port));

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
			      "stats listener: *Address already in use*");
	g_assert_false(pc_stats_serve(listen_spec, &error));
	g_test_assert_expected_messages();
	close(fd);

	want = g_strdup_printf("listen '%s': cannot listen there (address in use or not local?)",
			       listen_spec);
	g_assert_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN);
	g_assert_cmpstr(error->message, ==, want);
	g_assert_cmpuint(pc_stats_bound_port(), ==, 0);
}

#define ADD_TABLE(prefix, cases, func)                                                             \
	for (gsize i_ = 0; i_ < G_N_ELEMENTS(cases); i_++) {                                       \
		g_autofree char *path_ = g_strconcat(prefix, cases[i_].label, NULL);               \
		g_test_add_data_func(path_, &cases[i_], func);                                     \
	}

int
main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/pc/stats/render/empty", test_render_empty);
	g_test_add_func("/pc/stats/render/counter", test_render_counter);
	g_test_add_func("/pc/stats/render/gauge", test_render_gauge);
	ADD_TABLE("/pc/stats/render/gauge-func/", func_cases, test_render_gauge_func);
	g_test_add_func("/pc/stats/render/histogram", test_render_histogram);
	g_test_add_func("/pc/stats/render/histogram-no-bounds", test_render_histogram_no_bounds);
	ADD_TABLE("/pc/stats/histogram-bucket/", bucket_cases, test_histogram_bucket);
	g_test_add_func("/pc/stats/render/labels", test_render_labels);
	g_test_add_func("/pc/stats/render/sorted", test_render_sorted);
	g_test_add_func("/pc/stats/render/help-escape", test_render_help_escape);
	g_test_add_func("/pc/stats/register/idempotent", test_register_idempotent);
	g_test_add_func("/pc/stats/register/type-clash", test_register_type_clash);
	ADD_TABLE("/pc/stats/register/name/", name_cases, test_register_name);
	g_test_add_func("/pc/stats/register/bad-bounds", test_register_bad_bounds);
	g_test_add_func("/pc/stats/guards", test_guards);
	g_test_add_func("/pc/stats/threads", test_threads);
	g_test_add_func("/pc/stats/http/metrics", test_http_metrics);
	ADD_TABLE("/pc/stats/http/status/", http_cases, test_http_status);
	g_test_add_func("/pc/stats/http/ipv6", test_http_ipv6);
	g_test_add_func("/pc/stats/http/any-address", test_http_any);
	g_test_add_func("/pc/stats/http/idle-clients", test_http_idle_clients);
	g_test_add_func("/pc/stats/http/idle-timeout", test_http_idle_timeout);
	ADD_TABLE("/pc/stats/serve/bad-listen/", listen_cases, test_serve_bad_listen);
	g_test_add_func("/pc/stats/serve/port-in-use", test_serve_port_in_use);

	status = g_test_run();
	stats_setup();
	return status;
}
