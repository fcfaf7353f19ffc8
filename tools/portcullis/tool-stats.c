/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis stats: every daemon's statistics endpoint, as the
 * configuration places it (the daemon's own statistics key, else [global]
 * statistics plus its offset: relay 0, auth 1, rate 2, verify 3, sign 4),
 * scraped over HTTP on loopback and printed as one table: per daemon its
 * state (up, down with why, or off), decisions by action, its own
 * counters by reason or result, reloads, store and DNS health, gauges.
 * With --watch SECONDS the counters are shown as rates per second, every
 * SECONDS, until interrupted (or --count rounds). A daemon that cannot be
 * reached is shown as down, never skipped; the exit status is 0 whatever
 * the daemons' states, 2 for a usage or configuration error.
 */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "daemons.h"
#include "tool-stats-parse.h"
#include "tool.h"

#define TOOL_NAME "portcullis stats"

/*
 * the five daemons in portcullis_daemon_schemas' order, which is also their
 * statistics offset (PcMilterDescriptor.statistics_offset: relay 0 .. sign 4)
 */
#define N_DAEMONS 5
#define daemon_name(d) (portcullis_daemon_schemas[d].schema->name)

typedef struct {
	char *address;	    /* HOST:PORT, or NULL: statistics off */
	GPtrArray *samples; /* the last scrape, or NULL */
	GPtrArray *previous;
	char *down; /* why it could not be read, or NULL */
} DaemonState;

/* where daemon d serves its statistics, or NULL */
static char *
daemon_address(const char *path, guint d)
{
	g_autoptr(PcConfig) config =
	    pc_config_load_full(path, portcullis_daemon_schemas[d].schema,
				portcullis_daemon_schemas[d].extra_schemas, NULL);
	g_autoptr(PcConfig) base = config == NULL ? pc_config_load(path, NULL, NULL) : NULL;
	const PcConfig *used = config != NULL ? config : base;
	const char *global;
	const char *colon;
	guint64 port;

	if (used == NULL)
		return NULL;
	if (config != NULL && pc_config_get_daemon(config)->statistics != NULL)
		return g_strdup(pc_config_get_daemon(config)->statistics);
	global = pc_config_get_global(used)->statistics;
	if (global == NULL || (colon = strrchr(global, ':')) == NULL)
		return NULL;
	port = g_ascii_strtoull(colon + 1, NULL, 10) + d;
	return g_strdup_printf("%.*s:%" G_GUINT64_FORMAT, (int)(colon - global), global, port);
}

/* GET /metrics from address; NULL with *why_out (transfer full) when it failed */
static char *
scrape(const char *address, gsize *len_out, char **why_out)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketConnection) connection = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GByteArray) page = g_byte_array_new();
	const char *request = "GET /metrics HTTP/1.0\r\nHost: portcullis\r\n\r\n";
	GInputStream *in;
	guint8 buf[16384];
	gssize n;
	const char *body;
	char *text;

	g_socket_client_set_timeout(client, 2);
	connection = g_socket_client_connect_to_host(client, address, 0, NULL, &error);
	if (connection == NULL ||
	    !g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(connection)),
				       request, strlen(request), NULL, NULL, &error)) {
		*why_out = g_strdup(error->message);
		return NULL;
	}
	in = g_io_stream_get_input_stream(G_IO_STREAM(connection));
	while ((n = g_input_stream_read(in, buf, sizeof(buf), NULL, &error)) > 0) {
		if (page->len + (gsize)n > TOOL_STATS_MAX_PAGE + 4096) {
			*why_out = g_strdup("answer too large");
			return NULL;
		}
		g_byte_array_append(page, buf, (guint)n);
	}
	if (n < 0) {
		*why_out = g_strdup(error->message);
		return NULL;
	}
	g_byte_array_append(page, (const guint8 *)"", 1);
	text = (char *)page->data;
	if (!g_str_has_prefix(text, "HTTP/1.") || strncmp(text + 8, " 200", 4) != 0 ||
	    (body = strstr(text, "\r\n\r\n")) == NULL) {
		*why_out = g_strdup("not a statistics endpoint (no HTTP 200 with a body)");
		return NULL;
	}
	body += 4;
	*len_out = strlen(body);
	return g_strdup(body);
}

/* the value of name{labels} in previous, or 0 */
static double
previous_value(const GPtrArray *previous, const ToolStatsSample *sample)
{
	for (guint i = 0; previous != NULL && i < previous->len; i++) {
		const ToolStatsSample *p = g_ptr_array_index(previous, i);

		if (strcmp(p->name, sample->name) == 0 && strcmp(p->labels, sample->labels) == 0)
			return p->value;
	}
	return 0;
}

/* a counter: its total, or its rate since the previous scrape */
static double
shown(const ToolStatsSample *sample, const GPtrArray *previous, double interval)
{
	if (interval <= 0 || !g_str_has_suffix(sample->name, "_total"))
		return sample->value;
	return (sample->value - previous_value(previous, sample)) / interval;
}

/*
 * one line "  TITLE  label v, label v" for the samples called name grouped
 * by label group_by; all: print zeros too
 */
static void
print_group(const DaemonState *state, double interval, const char *title, const char *name,
	    const char *group_by, gboolean all)
{
	g_autoptr(GString) line = g_string_new(NULL);
	gboolean any = FALSE;

	for (guint i = 0; i < state->samples->len; i++) {
		const ToolStatsSample *sample = g_ptr_array_index(state->samples, i);
		g_autofree char *group = NULL;
		double value;

		if (strcmp(sample->name, name) != 0)
			continue;
		any = TRUE;
		value = shown(sample, state->previous, interval);
		if (value == 0 && !all)
			continue;
		group = group_by != NULL ? tool_stats_label(sample->labels, group_by) : NULL;
		if (line->len > 0)
			g_string_append(line, ", ");
		if (group != NULL)
			g_string_append_printf(line, "%s ", group);
		g_string_append_printf(line, interval > 0 ? "%.1f/s" : "%.0f", value);
	}
	if (any)
		printf("  %-22s %s\n", title, line->len > 0 ? line->str : "0");
}

/* the sum over the labels of the samples called name: a one-number line */
static void
print_sum(const DaemonState *state, double interval, const char *title, const char *name,
	  const char *group_by)
{
	g_autoptr(GHashTable) now = tool_stats_sum_by(state->samples, name, group_by);
	g_autoptr(GHashTable) before =
	    state->previous != NULL ? tool_stats_sum_by(state->previous, name, group_by) : NULL;
	g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(now), (GCompareFunc)strcmp);
	g_autoptr(GString) line = g_string_new(NULL);

	if (keys == NULL)
		return;
	for (GList *k = keys; k != NULL; k = k->next) {
		double value = *(double *)g_hash_table_lookup(now, k->data);
		double *old = before != NULL ? g_hash_table_lookup(before, k->data) : NULL;

		if (interval > 0 && g_str_has_suffix(name, "_total"))
			value = (value - (old != NULL ? *old : 0)) / interval;
		if (value == 0)
			continue;
		g_string_append_printf(line, "%s%s ", line->len > 0 ? ", " : "", (char *)k->data);
		g_string_append_printf(
		    line, interval > 0 && g_str_has_suffix(name, "_total") ? "%.1f/s" : "%.0f",
		    value);
	}
	printf("  %-22s %s\n", title, line->len > 0 ? line->str : "0");
}

/* the daemon's own metrics: names not printed by the fixed lines */
static gboolean
is_own(const char *name)
{
	static const char *const fixed[] = {
	    "portcullis_verdicts_total",
	    "portcullis_config_reloads_total",
	    "portcullis_connections_refused_total",
	    "portcullis_milter_timeouts_total",
	    "portcullis_store_errors_total",
	    "portcullis_store_fallback_total",
	    "portcullis_dns_queries_total",
	    "portcullis_dns_cache_hits_total",
	};

	if (g_str_has_suffix(name, "_bucket") || g_str_has_suffix(name, "_sum") ||
	    g_str_has_suffix(name, "_count") || !g_str_has_prefix(name, "portcullis_"))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++) {
		if (strcmp(name, fixed[i]) == 0)
			return FALSE;
	}
	return TRUE;
}

static void
print_daemon(const char *name, const DaemonState *state, double interval)
{
	g_autoptr(GHashTable) done = g_hash_table_new(g_str_hash, g_str_equal);

	if (state->address == NULL) {
		printf("%-8s off    (no statistics address in the configuration)\n", name);
		return;
	}
	if (state->down != NULL) {
		printf("%-8s down   %s: %s\n", name, state->address, state->down);
		return;
	}
	printf("%-8s up     %s\n", name, state->address);
	print_group(state, interval, "decisions", "portcullis_verdicts_total", "action", FALSE);
	print_group(state, interval, "reloads", "portcullis_config_reloads_total", "result", TRUE);
	print_group(state, interval, "connections refused", "portcullis_connections_refused_total",
		    NULL, TRUE);
	print_group(state, interval, "milter timeouts", "portcullis_milter_timeouts_total", NULL,
		    TRUE);
	print_group(state, interval, "store errors", "portcullis_store_errors_total", NULL, TRUE);
	print_group(state, interval, "store fallbacks", "portcullis_store_fallback_total", NULL,
		    TRUE);
	print_sum(state, interval, "dns queries", "portcullis_dns_queries_total", "result");
	for (guint i = 0; i < state->samples->len; i++) {
		const ToolStatsSample *sample = g_ptr_array_index(state->samples, i);
		g_autofree char *title = NULL;
		const char *label = NULL;

		if (!is_own(sample->name) || !g_hash_table_add(done, sample->name))
			continue;
		title = g_strdup(sample->name + strlen("portcullis_"));
		if (g_str_has_suffix(title, "_total"))
			title[strlen(title) - strlen("_total")] = '\0';
		/* the label the counter is split by: its first one */
		if (sample->labels[0] != '\0') {
			g_autofree char *first =
			    g_strndup(sample->labels, strcspn(sample->labels, "="));

			label = g_intern_string(first);
		}
		print_sum(state, interval, title, sample->name, label);
	}
}

typedef struct {
	char *config_path;
	gint watch;
	gint count;
} StatsOptions;

static int
run(const StatsOptions *options)
{
	const char *path =
	    options->config_path != NULL ? options->config_path : PC_CONFIG_DEFAULT_FILE;
	DaemonState states[N_DAEMONS] = {{0}};
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) base = pc_config_load(path, NULL, &error);
	gint64 last = 0;

	if (base == NULL) {
		fprintf(stderr, TOOL_NAME ": %s\n", error->message);
		return TOOL_EXIT_USAGE;
	}
	for (gsize d = 0; d < N_DAEMONS; d++)
		states[d].address = daemon_address(path, d);
	for (gint round = 0; options->count == 0 || round < options->count; round++) {
		gint64 now = g_get_monotonic_time();
		double interval =
		    options->watch > 0 && round > 0 ? (double)(now - last) / G_USEC_PER_SEC : 0;

		last = now;
		if (options->watch > 0 && round > 0)
			printf("\n");
		for (gsize d = 0; d < N_DAEMONS; d++) {
			DaemonState *state = &states[d];
			g_autofree char *page = NULL;
			gsize len = 0;

			g_clear_pointer(&state->down, g_free);
			g_clear_pointer(&state->previous, g_ptr_array_unref);
			state->previous = g_steal_pointer(&state->samples);
			if (state->address != NULL)
				page = scrape(state->address, &len, &state->down);
			if (page != NULL)
				state->samples = tool_stats_parse(page, len);
			/* rates need two scrapes of a daemon that stayed up */
			print_daemon(daemon_name(d), state,
				     state->previous != NULL && state->samples != NULL ? interval
										       : 0);
		}
		fflush(stdout);
		if (options->watch <= 0)
			break;
		if (options->count == 0 || round + 1 < options->count)
			g_usleep((gulong)options->watch * G_USEC_PER_SEC);
	}
	for (gsize d = 0; d < N_DAEMONS; d++) {
		g_free(states[d].address);
		g_free(states[d].down);
		g_clear_pointer(&states[d].samples, g_ptr_array_unref);
		g_clear_pointer(&states[d].previous, g_ptr_array_unref);
	}
	return TOOL_EXIT_OK;
}

int
tool_stats(int argc, char **argv)
{
	StatsOptions options = {0};
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"watch", 'w', 0, G_OPTION_ARG_INT, &options.watch,
	     "every SECONDS, counters as rates per second, until interrupted", "SECONDS"},
	    {"count", 0, 0, G_OPTION_ARG_INT, &options.count, "with --watch: stop after N rounds",
	     "N"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("- every daemon's statistics in one table");
	g_autoptr(GError) error = NULL;
	int status;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);

		fprintf(stderr, TOOL_NAME ": %s\n\n%s", error->message, help);
		status = TOOL_EXIT_USAGE;
	} else if (argc > 1 || options.watch < 0 || options.watch > 3600 || options.count < 0) {
		fprintf(stderr, TOOL_NAME ": no arguments; --watch 1..3600, --count 0 or more\n");
		status = TOOL_EXIT_USAGE;
	} else {
		status = run(&options);
	}
	g_free(options.config_path);
	return status;
}
