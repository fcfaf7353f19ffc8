/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-stats: the process-wide metrics registry and its Prometheus endpoint.
 *
 * The registry is a list of families (name, help, type) sorted by name, each
 * with its series in registration order. It is built single-threaded at
 * start-up and read without a lock afterwards; the values inside are C11
 * atomics (GLib 2.74 has no 64-bit atomic integers), updated with relaxed
 * ordering because a scrape needs each number, not a snapshot across them.
 * The HTTP listener (libmicrohttpd, a few polling threads of its own) is the
 * only other shared object here: its pointer is set by pc_stats_serve at
 * start-up and cleared by pc_stats_stop, and an atomic flag tells its log
 * callback whether it is starting or serving. Not here: pushing metrics
 * anywhere, or labels chosen at run time.
 */
#include "pc-stats.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

G_DEFINE_QUARK(pc - stats - error - quark, pc_stats_error)

#define PC_STATS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/*
 * A scraper needs one or two connections; the rest is defence against
 * clients that connect and then send nothing, or a byte now and then. With
 * 16 slots and a 10 s timeout, 16 such clients made a scrape wait 10 s and
 * 100 made it time out: a client past the limit waits in the listen backlog
 * until a slot frees. So: many slots (an idle connection costs a socket and
 * a small buffer, no thread), a per-client share of them so that one host
 * cannot take them all, a short inactivity timeout (a scraper sends its
 * request as soon as it connects), a small per-connection buffer, which
 * also bounds how long a client trickling its headers can keep its slot,
 * and a few polling threads, so that a scrape that is rendering does not
 * hold up the others.
 */
#define PC_STATS_CONNECTION_LIMIT 256
#define PC_STATS_PER_CLIENT_LIMIT (PC_STATS_CONNECTION_LIMIT / 2)
#define PC_STATS_CONNECTION_TIMEOUT 3	       /* seconds without a byte in either direction */
#define PC_STATS_CONNECTION_MEMORY (16 * 1024) /* request line and headers, per connection */
#define PC_STATS_THREADS 4
/* a formatted sample value: a double as %.17g or a 64-bit integer */
#define PC_STATS_VALUE_LEN G_ASCII_DTOSTR_BUF_SIZE

typedef enum {
	PC_STATS_TYPE_COUNTER,
	PC_STATS_TYPE_GAUGE,
	PC_STATS_TYPE_HISTOGRAM,
} PcStatsType;

struct _PcStatsCounter {
	_Atomic uint64_t value;
};

struct _PcStatsGauge {
	_Atomic int64_t value;
	PcStatsGaugeFunc func; /* when set, the value comes from here at render time */
	gpointer user_data;
};

struct _PcStatsHistogram {
	double *bounds;
	gsize n_bounds;
	_Atomic uint64_t *buckets; /* n_bounds + 1, not cumulative; the last is +Inf */
	_Atomic uint64_t sum_bits; /* a double's bits: there is no atomic double add */
};

typedef struct {
	char *labels;	 /* exposition form, "" for none */
	gpointer metric; /* PcStatsCounter, PcStatsGauge or PcStatsHistogram per the family */
} PcStatsSeries;

typedef struct {
	char *name;
	char *help;
	PcStatsType type;
	GPtrArray *series; /* PcStatsSeries, in registration order */
} PcStatsFamily;

/* the registry: written at start-up only, then read by every scrape */
static GPtrArray *pc_stats_families; /* PcStatsFamily, sorted by name */
/* the listener: set by pc_stats_serve, cleared by pc_stats_stop, both on the main thread */
static struct MHD_Daemon *pc_stats_daemon;
/* TRUE from the listener's start to its stop: read by pc_stats_log_mhd on its threads */
static atomic_bool pc_stats_serving;

typedef struct MHD_Response PcStatsResponse;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcStatsResponse, MHD_destroy_response)

/* registry --------------------------------------------------------------------- */

static const char *
pc_stats_type_to_string(PcStatsType type)
{
	switch (type) {
	case PC_STATS_TYPE_COUNTER:
		return "counter";
	case PC_STATS_TYPE_GAUGE:
		return "gauge";
	case PC_STATS_TYPE_HISTOGRAM:
		return "histogram";
	}
	g_assert_not_reached();
}

static void
pc_stats_histogram_free(PcStatsHistogram *histogram)
{
	g_free(histogram->bounds);
	g_free(histogram->buckets);
	g_free(histogram);
}

static void
pc_stats_family_free(gpointer data)
{
	PcStatsFamily *family = data;

	for (guint i = 0; i < family->series->len; i++) {
		PcStatsSeries *series = g_ptr_array_index(family->series, i);

		if (family->type == PC_STATS_TYPE_HISTOGRAM)
			pc_stats_histogram_free(series->metric);
		else
			g_free(series->metric);
		g_free(series->labels);
		g_free(series);
	}
	g_ptr_array_unref(family->series);
	g_free(family->name);
	g_free(family->help);
	g_free(family);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*, as the exposition format requires */
static gboolean
pc_stats_name_valid(const char *name)
{
	if (name == NULL || !(g_ascii_isalpha(name[0]) || name[0] == '_' || name[0] == ':'))
		return FALSE;
	for (const char *p = name + 1; *p != '\0'; p++) {
		if (!(g_ascii_isalnum(*p) || *p == '_' || *p == ':'))
			return FALSE;
	}
	return TRUE;
}

/*
 * labels arrive already in exposition form (name="value",...); a typo there
 * would break every scrape, so check the syntax once at registration
 */
static gboolean
pc_stats_labels_valid(const char *labels)
{
	const char *p = labels;

	if (labels == NULL || labels[0] == '\0')
		return TRUE;
	for (;;) {
		if (!(g_ascii_isalpha(*p) || *p == '_'))
			return FALSE;
		while (g_ascii_isalnum(*p) || *p == '_')
			p++;
		if (p[0] != '=' || p[1] != '"')
			return FALSE;
		for (p += 2; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return FALSE;
			if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n'))
				p++;
			else if (*p == '\\')
				return FALSE;
		}
		p++;
		if (*p == '\0')
			return TRUE;
		if (*p++ != ',')
			return FALSE;
	}
}

/* the family called name, created (in sorted position) when new; NULL on a type clash */
static PcStatsFamily *
pc_stats_family_get(const char *name, const char *help, PcStatsType type)
{
	PcStatsFamily *family = NULL;
	guint position = 0;

	if (pc_stats_families == NULL)
		pc_stats_families = g_ptr_array_new_with_free_func(pc_stats_family_free);
	for (; position < pc_stats_families->len; position++) {
		int cmp;

		family = g_ptr_array_index(pc_stats_families, position);
		cmp = strcmp(family->name, name);
		if (cmp == 0 && family->type != type) {
			g_critical("metric %s is a %s, cannot register it as a %s", name,
				   pc_stats_type_to_string(family->type),
				   pc_stats_type_to_string(type));
			return NULL;
		}
		if (cmp == 0)
			return family;
		if (cmp > 0)
			break;
	}
	family = g_new0(PcStatsFamily, 1);
	family->name = g_strdup(name);
	family->help = g_strdup(help);
	family->type = type;
	family->series = g_ptr_array_new();
	g_ptr_array_insert(pc_stats_families, (gint)position, family);
	return family;
}

static PcStatsSeries *
pc_stats_series_find(PcStatsFamily *family, const char *labels)
{
	const char *wanted = labels != NULL ? labels : "";

	for (guint i = 0; i < family->series->len; i++) {
		PcStatsSeries *series = g_ptr_array_index(family->series, i);

		if (strcmp(series->labels, wanted) == 0)
			return series;
	}
	return NULL;
}

/* takes ownership of metric */
static PcStatsSeries *
pc_stats_series_add(PcStatsFamily *family, const char *labels, gpointer metric)
{
	PcStatsSeries *series = g_new0(PcStatsSeries, 1);

	series->labels = g_strdup(labels != NULL ? labels : "");
	series->metric = metric;
	g_ptr_array_add(family->series, series);
	return series;
}

/*
 * the gauge series for name and labels, new or existing; NULL on a type clash
 * or when a set gauge and a computed one would share a series
 */
static PcStatsGauge *
pc_stats_gauge_lookup(const char *name, const char *help, const char *labels, gboolean computed)
{
	PcStatsFamily *family = pc_stats_family_get(name, help, PC_STATS_TYPE_GAUGE);
	PcStatsSeries *series;
	PcStatsGauge *gauge;

	if (family == NULL)
		return NULL;
	series = pc_stats_series_find(family, labels);
	if (series != NULL) {
		gauge = series->metric;
		if ((gauge->func != NULL) != computed) {
			g_critical("gauge %s{%s} is already registered %s", name,
				   labels != NULL ? labels : "",
				   computed ? "to be set" : "with a function");
			return NULL;
		}
		return gauge;
	}
	gauge = g_new0(PcStatsGauge, 1);
	atomic_init(&gauge->value, 0);
	return pc_stats_series_add(family, labels, gauge)->metric;
}

PcStatsCounter *
pc_stats_counter_register(const char *name, const char *help, const char *labels)
{
	PcStatsFamily *family;
	PcStatsSeries *series;
	PcStatsCounter *counter;

	g_return_val_if_fail(pc_stats_name_valid(name), NULL);
	g_return_val_if_fail(help != NULL, NULL);
	g_return_val_if_fail(pc_stats_labels_valid(labels), NULL);

	family = pc_stats_family_get(name, help, PC_STATS_TYPE_COUNTER);
	if (family == NULL)
		return NULL;
	series = pc_stats_series_find(family, labels);
	if (series != NULL)
		return series->metric;
	counter = g_new0(PcStatsCounter, 1);
	atomic_init(&counter->value, 0);
	return pc_stats_series_add(family, labels, counter)->metric;
}

void
pc_stats_counter_add(PcStatsCounter *counter, guint64 delta)
{
	g_return_if_fail(counter != NULL);

	atomic_fetch_add_explicit(&counter->value, delta, memory_order_relaxed);
}

guint64
pc_stats_counter_get(const PcStatsCounter *counter)
{
	g_return_val_if_fail(counter != NULL, 0);

	return atomic_load_explicit(&counter->value, memory_order_relaxed);
}

PcStatsGauge *
pc_stats_gauge_register(const char *name, const char *help, const char *labels)
{
	g_return_val_if_fail(pc_stats_name_valid(name), NULL);
	g_return_val_if_fail(help != NULL, NULL);
	g_return_val_if_fail(pc_stats_labels_valid(labels), NULL);

	return pc_stats_gauge_lookup(name, help, labels, FALSE);
}

void
pc_stats_gauge_register_func(const char *name, const char *help, const char *labels,
			     PcStatsGaugeFunc func, gpointer user_data)
{
	PcStatsGauge *gauge;

	g_return_if_fail(pc_stats_name_valid(name));
	g_return_if_fail(help != NULL);
	g_return_if_fail(pc_stats_labels_valid(labels));
	g_return_if_fail(func != NULL);

	gauge = pc_stats_gauge_lookup(name, help, labels, TRUE);
	if (gauge == NULL)
		return;
	/* replaced, not kept: a second init must not leave the first one's user_data behind */
	gauge->func = func;
	gauge->user_data = user_data;
}

void
pc_stats_gauge_set(PcStatsGauge *gauge, gint64 value)
{
	g_return_if_fail(gauge != NULL);

	atomic_store_explicit(&gauge->value, value, memory_order_relaxed);
}

void
pc_stats_gauge_add(PcStatsGauge *gauge, gint64 delta)
{
	g_return_if_fail(gauge != NULL);

	/* C11 atomic arithmetic on signed types wraps; it is never undefined */
	atomic_fetch_add_explicit(&gauge->value, delta, memory_order_relaxed);
}

gint64
pc_stats_gauge_get(const PcStatsGauge *gauge)
{
	g_return_val_if_fail(gauge != NULL, 0);

	return atomic_load_explicit(&gauge->value, memory_order_relaxed);
}

static gboolean
pc_stats_bounds_valid(const double *bounds, gsize n_bounds)
{
	if (n_bounds > 0 && bounds == NULL)
		return FALSE;
	for (gsize i = 0; i < n_bounds; i++) {
		if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i])))
			return FALSE;
	}
	return TRUE;
}

static gboolean
pc_stats_bounds_equal(const PcStatsHistogram *histogram, const double *bounds, gsize n_bounds)
{
	return histogram->n_bounds == n_bounds &&
	       (n_bounds == 0 || memcmp(histogram->bounds, bounds, n_bounds * sizeof(double)) == 0);
}

PcStatsHistogram *
pc_stats_histogram_register(const char *name, const char *help, const double *bounds,
			    gsize n_bounds)
{
	PcStatsFamily *family;
	PcStatsSeries *series;
	PcStatsHistogram *histogram;
	double zero = 0.0;
	uint64_t zero_bits;

	g_return_val_if_fail(pc_stats_name_valid(name), NULL);
	g_return_val_if_fail(help != NULL, NULL);
	g_return_val_if_fail(pc_stats_bounds_valid(bounds, n_bounds), NULL);

	family = pc_stats_family_get(name, help, PC_STATS_TYPE_HISTOGRAM);
	if (family == NULL)
		return NULL;
	series = pc_stats_series_find(family, NULL);
	if (series != NULL) {
		g_return_val_if_fail(pc_stats_bounds_equal(series->metric, bounds, n_bounds), NULL);
		return series->metric;
	}
	histogram = g_new0(PcStatsHistogram, 1);
	histogram->bounds = g_memdup2(bounds, n_bounds * sizeof(double));
	histogram->n_bounds = n_bounds;
	histogram->buckets = g_new0(_Atomic uint64_t, n_bounds + 1);
	for (gsize i = 0; i <= n_bounds; i++)
		atomic_init(&histogram->buckets[i], 0);
	memcpy(&zero_bits, &zero, sizeof(zero_bits));
	atomic_init(&histogram->sum_bits, zero_bits);
	return pc_stats_series_add(family, NULL, histogram)->metric;
}

void
pc_stats_histogram_observe(PcStatsHistogram *histogram, double value)
{
	gsize bucket = 0;
	uint64_t old_bits;
	uint64_t new_bits;

	g_return_if_fail(histogram != NULL);

	/*
	 * a handful of bounds: a linear scan is as fast as a bisection; NaN
	 * compares false everywhere and lands in +Inf, so _count stays the number
	 * of observations
	 */
	while (bucket < histogram->n_bounds && !(value <= histogram->bounds[bucket]))
		bucket++;
	atomic_fetch_add_explicit(&histogram->buckets[bucket], 1, memory_order_relaxed);

	old_bits = atomic_load_explicit(&histogram->sum_bits, memory_order_relaxed);
	do {
		double sum;

		memcpy(&sum, &old_bits, sizeof(sum));
		sum += value;
		memcpy(&new_bits, &sum, sizeof(new_bits));
	} while (!atomic_compare_exchange_weak_explicit(
	    &histogram->sum_bits, &old_bits, new_bits, memory_order_relaxed, memory_order_relaxed));
}

void
pc_stats_reset_for_tests(void)
{
	g_clear_pointer(&pc_stats_families, g_ptr_array_unref);
}

/* rendering ------------------------------------------------------------------- */

/*
 * the shortest of %.15g/%.16g/%.17g that reads back as the same double, so
 * 0.1 prints as "0.1" and nothing is lost; g_ascii_formatd ignores the locale
 */
static const char *
pc_stats_format_double(double value, char buf[PC_STATS_VALUE_LEN])
{
	static const char *const formats[] = {"%.15g", "%.16g", "%.17g"};

	if (isnan(value))
		return "NaN";
	if (isinf(value))
		return value > 0 ? "+Inf" : "-Inf";
	for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
		g_ascii_formatd(buf, PC_STATS_VALUE_LEN, formats[i], value);
		if (g_ascii_strtod(buf, NULL) == value)
			break;
	}
	return buf;
}

static void
pc_stats_append_help(GString *out, const PcStatsFamily *family)
{
	g_string_append_printf(out, "# HELP %s ", family->name);
	for (const char *p = family->help; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_printf(out, "\n# TYPE %s %s\n", family->name,
			       pc_stats_type_to_string(family->type));
}

/* name+suffix{labels,le="le"} value */
static void
pc_stats_append_sample(GString *out, const char *name, const char *suffix, const char *labels,
		       const char *le, const char *value)
{
	g_string_append(out, name);
	g_string_append(out, suffix);
	if (labels[0] != '\0' || le != NULL) {
		g_string_append_c(out, '{');
		g_string_append(out, labels);
		if (le != NULL)
			g_string_append_printf(out, "%sle=\"%s\"", labels[0] != '\0' ? "," : "",
					       le);
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ' ');
	g_string_append(out, value);
	g_string_append_c(out, '\n');
}

/*
 * buckets are read one by one while observations go on, so the total is taken
 * from them: _count always equals the +Inf bucket, as Prometheus expects
 */
static void
pc_stats_append_histogram(GString *out, const char *name, const PcStatsSeries *series)
{
	const PcStatsHistogram *histogram = series->metric;
	guint64 cumulative = 0;
	uint64_t sum_bits = atomic_load_explicit(&histogram->sum_bits, memory_order_relaxed);
	double sum;
	char le[PC_STATS_VALUE_LEN];
	char value[PC_STATS_VALUE_LEN];

	for (gsize i = 0; i <= histogram->n_bounds; i++) {
		cumulative += atomic_load_explicit(&histogram->buckets[i], memory_order_relaxed);
		g_snprintf(value, sizeof(value), "%" G_GUINT64_FORMAT, cumulative);
		pc_stats_append_sample(out, name, "_bucket", series->labels,
				       i < histogram->n_bounds
					   ? pc_stats_format_double(histogram->bounds[i], le)
					   : "+Inf",
				       value);
	}
	memcpy(&sum, &sum_bits, sizeof(sum));
	pc_stats_append_sample(out, name, "_sum", series->labels, NULL,
			       pc_stats_format_double(sum, value));
	g_snprintf(value, sizeof(value), "%" G_GUINT64_FORMAT, cumulative);
	pc_stats_append_sample(out, name, "_count", series->labels, NULL, value);
}

static void
pc_stats_append_series(GString *out, const PcStatsFamily *family, const PcStatsSeries *series)
{
	const PcStatsCounter *counter = series->metric;
	const PcStatsGauge *gauge = series->metric;
	char value[PC_STATS_VALUE_LEN];
	const char *text = value;

	switch (family->type) {
	case PC_STATS_TYPE_COUNTER:
		g_snprintf(value, sizeof(value), "%" G_GUINT64_FORMAT,
			   atomic_load_explicit(&counter->value, memory_order_relaxed));
		pc_stats_append_sample(out, family->name, "", series->labels, NULL, text);
		break;
	case PC_STATS_TYPE_GAUGE:
		if (gauge->func != NULL)
			text = pc_stats_format_double(gauge->func(gauge->user_data), value);
		else
			g_snprintf(value, sizeof(value), "%" G_GINT64_FORMAT,
				   atomic_load_explicit(&gauge->value, memory_order_relaxed));
		pc_stats_append_sample(out, family->name, "", series->labels, NULL, text);
		break;
	case PC_STATS_TYPE_HISTOGRAM:
		pc_stats_append_histogram(out, family->name, series);
		break;
	}
}

char *
pc_stats_render(void)
{
	g_autoptr(GString) out = g_string_sized_new(4096);

	for (guint i = 0; pc_stats_families != NULL && i < pc_stats_families->len; i++) {
		const PcStatsFamily *family = g_ptr_array_index(pc_stats_families, i);

		pc_stats_append_help(out, family);
		for (guint j = 0; j < family->series->len; j++)
			pc_stats_append_series(out, family, g_ptr_array_index(family->series, j));
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* HTTP listener --------------------------------------------------------------- */

/*
 * libmicrohttpd's own complaints go to our log. While the listener starts
 * they say why it failed (the port is taken): the operator must act. Once it
 * serves they are about one client (closed mid-request, timed out), which
 * anyone who can connect can cause as often as they like, so they are
 * detail: a warning each would let a client flood the log.
 */
static void G_GNUC_PRINTF(2, 0) pc_stats_log_mhd(void *user_data, const char *format, va_list args)
{
	g_autofree char *message = g_strdup_vprintf(format, args);

	if (atomic_load(&pc_stats_serving))
		g_info("stats listener: %s", g_strchomp(message));
	else
		g_warning("stats listener: %s", g_strchomp(message));
}

static enum MHD_Result
pc_stats_reply_static(struct MHD_Connection *connection, unsigned int status, const char *body)
{
	/* PERSISTENT: the body is a literal, libmicrohttpd neither copies nor frees it */
	g_autoptr(PcStatsResponse) response =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);

	if (response == NULL)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)
		return MHD_NO;
	return MHD_queue_response(connection, status, response);
}

/*
 * called once per request with its headers; a GET carries no body, so the
 * answer is queued on that first call (anything with a body is refused
 * before libmicrohttpd reads it)
 */
static enum MHD_Result
pc_stats_handle_request(void *user_data, struct MHD_Connection *connection, const char *url,
			const char *method, const char *version, const char *upload_data,
			size_t *upload_data_size, void **request_state)
{
	g_autofree char *body = NULL;
	g_autoptr(PcStatsResponse) response = NULL;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return pc_stats_reply_static(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
					     "method not allowed\n");
	if (strcmp(url, "/metrics") != 0)
		return pc_stats_reply_static(connection, MHD_HTTP_NOT_FOUND, "not found\n");

	body = pc_stats_render();
	response = MHD_create_response_from_buffer_with_free_callback(strlen(body), body, g_free);
	if (response == NULL)
		return MHD_NO;
	/* the response frees the body now */
	(void)g_steal_pointer(&body);
	if (MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
				    PC_STATS_CONTENT_TYPE) != MHD_YES)
		return MHD_NO;
	return MHD_queue_response(connection, MHD_HTTP_OK, response);
}

/* ":PORT" means every address: IPv6 and IPv4 when the kernel has IPv6, IPv4 alone when not */
static gboolean
pc_stats_have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return FALSE;
	close(fd);
	return TRUE;
}

static gboolean
pc_stats_parse_host(const char *listen, const char *host, guint16 port,
		    struct sockaddr_storage *address_out, GError **error)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)address_out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)address_out;
	gsize host_len = strlen(host);
	g_autofree char *inner = NULL;

	memset(address_out, 0, sizeof(*address_out));
	if (host_len == 0 && pc_stats_have_ipv6()) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		return TRUE;
	}
	if (host_len == 0) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(port);
		return TRUE;
	}
	if (host[0] == '[' && host_len > 2 && host[host_len - 1] == ']') {
		inner = g_strndup(host + 1, host_len - 2);
		if (inet_pton(AF_INET6, inner, &sin6->sin6_addr) != 1) {
			g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
				    "listen '%s': '%s' is not an IPv6 address", listen, inner);
			return FALSE;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return TRUE;
	}
	if (strchr(host, ':') != NULL || host[0] == '[') {
		g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
			    "listen '%s': an IPv6 address goes in brackets, as in [::1]:9750",
			    listen);
		return FALSE;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
			    "listen '%s': '%s' is not an IPv4 address (host names are not "
			    "resolved)",
			    listen, host);
		return FALSE;
	}
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	return TRUE;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT"; the port is the text after the last colon */
static gboolean
pc_stats_parse_listen(const char *listen, struct sockaddr_storage *address_out, GError **error)
{
	const char *colon = strrchr(listen, ':');
	g_autofree char *host = NULL;
	guint64 port = 0;

	if (colon == NULL) {
		g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
			    "listen '%s': expected HOST:PORT, [IPV6]:PORT or :PORT", listen);
		return FALSE;
	}
	if (!g_ascii_string_to_unsigned(colon + 1, 10, 0, G_MAXUINT16, &port, NULL)) {
		g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
			    "listen '%s': port '%s' is not a number from 0 to 65535", listen,
			    colon + 1);
		return FALSE;
	}
	host = g_strndup(listen, (gsize)(colon - listen));
	return pc_stats_parse_host(listen, host, (guint16)port, address_out, error);
}

gboolean
pc_stats_serve(const char *listen, GError **error)
{
	struct sockaddr_storage address;
	/*
	 * event-driven, on internal threads: MHD_USE_AUTO picks epoll or poll
	 * (select() would refuse sockets past FD_SETSIZE), and a connection
	 * costs a thread only while its request is being answered, so idle and
	 * slow clients cannot hold the threads a scraper needs
	 */
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	g_return_val_if_fail(listen != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	g_return_val_if_fail(pc_stats_daemon == NULL, FALSE);

	if (!pc_stats_parse_listen(listen, &address, error))
		return FALSE;
	if (address.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&address;

		flags |= IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) && listen[0] == ':'
			     ? MHD_USE_DUAL_STACK
			     : MHD_USE_IPv6;
	}
	/* the logger goes first, or messages about the options before it go to stderr */
	pc_stats_daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, pc_stats_handle_request, NULL, MHD_OPTION_EXTERNAL_LOGGER,
	    pc_stats_log_mhd, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)PC_STATS_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PC_STATS_CONNECTION_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)PC_STATS_PER_CLIENT_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PC_STATS_CONNECTION_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PC_STATS_CONNECTION_MEMORY, MHD_OPTION_END);
	if (pc_stats_daemon == NULL) {
		g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
			    "listen '%s': cannot listen there (address in use or not local?)",
			    listen);
		return FALSE;
	}
	atomic_store(&pc_stats_serving, TRUE);
	return TRUE;
}

void
pc_stats_stop(void)
{
	g_clear_pointer(&pc_stats_daemon, MHD_stop_daemon);
	atomic_store(&pc_stats_serving, FALSE);
}

guint16
pc_stats_bound_port(void)
{
	const union MHD_DaemonInfo *info;

	if (pc_stats_daemon == NULL)
		return 0;
	info = MHD_get_daemon_info(pc_stats_daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info != NULL ? info->port : 0;
}
