/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-load: load generator threads and the measurement around them.
 *
 * Each worker owns its McSession. The workers meet at a start line after
 * their warm-up, so the measured phase begins for all of them at once and
 * the CPU counters of the milter processes are read at exactly that moment.
 * The only shared mutable state is the message counter (C11 atomic) and the
 * start line (mutex + condition); each worker's figures are merged after
 * it has been joined.
 */
#include "mc-load.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "mc-session.h"

typedef struct {
	const McLoadOptions *options;
	const McScenario *scenario;
	guint mail_index; /* first step of the transaction */
	guint end_index;  /* one past its "eom" */
	atomic_uint_fast64_t claimed;
	GMutex lock;
	GCond cond;
	guint arrived;
	gboolean go;
	gint64 deadline_us;
} McLoad;

typedef struct {
	McLoad *load;
	guint index;
	GArray *latencies_ms; /* double */
	guint64 outcomes[MC_OUTCOME_COUNT];
	guint64 errors;
	char *first_error;
} McWorker;

/* what one message came to, gathered by the hook */
typedef struct {
	gboolean decided;
	McOutcome outcome;
	gboolean quarantined;
} McMessage;

static gboolean
message_hook(McSession *session, const McStep *step, const McResult *result, gpointer user_data)
{
	McMessage *message = user_data;

	if (result == NULL)
		return TRUE;
	for (guint i = 0; result->mods != NULL && i < result->mods->len; i++) {
		const McMod *mod = g_ptr_array_index(result->mods, i);

		if (mod->kind == MC_MOD_QUARANTINE)
			message->quarantined = TRUE;
	}
	/* the first verdict other than "go on" decides the message */
	if (!message->decided && result->outcome != MC_OUTCOME_CONTINUE &&
	    result->outcome != MC_OUTCOME_SKIP && result->outcome != MC_OUTCOME_SENT) {
		message->decided = TRUE;
		message->outcome = result->outcome;
	}
	return TRUE;
}

static McOutcome
message_outcome(const McMessage *message)
{
	McOutcome outcome = message->decided ? message->outcome : MC_OUTCOME_CONTINUE;

	if (message->quarantined &&
	    (outcome == MC_OUTCOME_ACCEPT || outcome == MC_OUTCOME_CONTINUE))
		return MC_OUTCOME_QUARANTINE;
	return outcome;
}

static void
worker_error(McWorker *worker, GError *error)
{
	worker->errors++;
	if (worker->first_error == NULL && error != NULL)
		worker->first_error = g_strdup(error->message);
}

/* OPTNEG, connect, helo...: the steps before "mail" */
static gboolean
worker_setup(McWorker *worker, McSession *session)
{
	g_autoptr(GError) error = NULL;
	McLoad *load = worker->load;

	mc_session_close(session);
	if (mc_session_run(session, load->scenario->steps, 0, load->mail_index, NULL, NULL,
			   &error) &&
	    mc_session_is_open(session))
		return TRUE;
	if (error == NULL)
		g_set_error_literal(&error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO,
				    "no milter connection after the session setup steps");
	worker_error(worker, error);
	return FALSE;
}

/* one MAIL..EOM plus ABORT; FALSE after an error the session could not survive */
static gboolean
worker_message(McWorker *worker, McSession *session, gboolean measured)
{
	g_autoptr(GError) error = NULL;
	McLoad *load = worker->load;
	McMessage message = {0};
	gint64 start = g_get_monotonic_time();
	gboolean ok;

	ok = mc_session_run(session, load->scenario->steps, load->mail_index, load->end_index,
			    message_hook, &message, &error);
	if (ok && measured) {
		double ms = (double)(g_get_monotonic_time() - start) / 1000.0;

		g_array_append_val(worker->latencies_ms, ms);
		worker->outcomes[message_outcome(&message)]++;
	}
	if (ok)
		ok = mc_session_abort(session, &error);
	if (!ok) {
		worker_error(worker, error);
		return worker_setup(worker, session);
	}
	/* a milter that hung up (or said connfail) gets a new connection */
	if (!mc_session_is_open(session))
		return worker_setup(worker, session);
	return TRUE;
}

static void
worker_arrive(McLoad *load)
{
	g_mutex_lock(&load->lock);
	load->arrived++;
	g_cond_broadcast(&load->cond);
	while (!load->go)
		g_cond_wait(&load->cond, &load->lock);
	g_mutex_unlock(&load->lock);
}

static gpointer
worker_main(gpointer data)
{
	McWorker *worker = data;
	McLoad *load = worker->load;
	g_autoptr(McSession) session =
	    mc_session_new(load->options->socket_spec, load->options->timeout_ms,
			   load->options->trace, worker->index + 1);
	gboolean alive;

	(void)mc_session_apply_defines(session, load->options->defines, NULL);
	alive = worker_setup(worker, session);
	for (guint i = 0; alive && i < load->options->warmup; i++)
		alive = worker_message(worker, session, FALSE);
	worker_arrive(load);
	while (alive && g_get_monotonic_time() < load->deadline_us) {
		guint64 claim = atomic_fetch_add(&load->claimed, 1);

		if (load->options->count > 0 && claim >= load->options->count)
			break;
		alive = worker_message(worker, session, TRUE);
	}
	return NULL;
}

/* ---- measurement ---- */

static double
process_cpu_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* utime+stime of pid, threads included, in ms; negative if unreadable */
static double
pid_cpu_ms(const char *pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%s/stat", pid);
	g_autofree char *text = NULL;
	g_auto(GStrv) fields = NULL;
	const char *paren;
	guint64 utime;
	guint64 stime;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -1;
	/* the command name may contain blanks and parentheses; skip past the last ')' */
	paren = strrchr(text, ')');
	if (paren == NULL)
		return -1;
	fields = g_strsplit(paren + 2, " ", 0);
	/* fields[0] is field 3 (state); utime and stime are fields 14 and 15 */
	if (g_strv_length(fields) < 13 ||
	    !g_ascii_string_to_unsigned(fields[11], 10, 0, G_MAXUINT64, &utime, NULL) ||
	    !g_ascii_string_to_unsigned(fields[12], 10, 0, G_MAXUINT64, &stime, NULL))
		return -1;
	return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

static double
pids_cpu_ms(char **pids)
{
	double total = 0;

	for (guint i = 0; pids != NULL && pids[i] != NULL; i++) {
		double ms = pid_cpu_ms(pids[i]);

		if (ms < 0)
			return -1;
		total += ms;
	}
	return total;
}

static int
compare_double(gconstpointer a, gconstpointer b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

/* nearest-rank percentile of sorted values */
static double
percentile(const GArray *sorted, double q)
{
	guint rank;

	if (sorted->len == 0)
		return 0;
	rank = (guint)ceil(q * sorted->len);
	rank = CLAMP(rank, 1, sorted->len);
	return g_array_index(sorted, double, rank - 1);
}

typedef struct {
	guint64 msgs;
	double seconds;
	guint64 outcomes[MC_OUTCOME_COUNT];
	guint64 errors;
	GArray *latencies_ms;
	double milter_cpu_ms; /* negative: not measured */
	double client_cpu_ms;
} McLoadTotals;

static const McOutcome reported_outcomes[] = {
    MC_OUTCOME_CONTINUE, MC_OUTCOME_ACCEPT,	MC_OUTCOME_REJECT, MC_OUTCOME_TEMPFAIL,
    MC_OUTCOME_DISCARD,	 MC_OUTCOME_QUARANTINE, MC_OUTCOME_CLOSED,
};

static void
print_summary(const McLoadOptions *options, const McLoadTotals *totals)
{
	double per_msg = totals->msgs > 0 ? 1.0 / (double)totals->msgs : 0;
	double rate = totals->seconds > 0 ? (double)totals->msgs / totals->seconds : 0;
	g_autoptr(GString) json = g_string_new(NULL);

	printf("messages: %" G_GUINT64_FORMAT " in %.3f s, %.1f msg/s, %u connections, "
	       "warm-up %u per connection\n",
	       totals->msgs, totals->seconds, rate, options->connections, options->warmup);
	printf("latency ms: p50 %.3f p95 %.3f p99 %.3f max %.3f\n",
	       percentile(totals->latencies_ms, 0.50), percentile(totals->latencies_ms, 0.95),
	       percentile(totals->latencies_ms, 0.99), percentile(totals->latencies_ms, 1.0));
	printf("outcomes:");
	for (guint i = 0; i < G_N_ELEMENTS(reported_outcomes); i++) {
		if (totals->outcomes[reported_outcomes[i]] > 0)
			printf(" %s %" G_GUINT64_FORMAT, mc_outcome_name(reported_outcomes[i]),
			       totals->outcomes[reported_outcomes[i]]);
	}
	printf("\n");
	if (totals->milter_cpu_ms >= 0)
		printf("milter cpu: %.4f ms/msg (%s)\n", totals->milter_cpu_ms * per_msg,
		       options->pids);
	printf("client cpu: %.4f ms/msg\n", totals->client_cpu_ms * per_msg);
	printf("errors: %" G_GUINT64_FORMAT "\n", totals->errors);
	if (!options->json)
		return;
	g_string_append_printf(
	    json,
	    "{\"msgs\":%" G_GUINT64_FORMAT ",\"seconds\":%.3f,"
	    "\"msgs_per_s\":%.1f,\"p50_ms\":%.3f,\"p95_ms\":%.3f,"
	    "\"p99_ms\":%.3f,\"max_ms\":%.3f,",
	    totals->msgs, totals->seconds, rate, percentile(totals->latencies_ms, 0.50),
	    percentile(totals->latencies_ms, 0.95), percentile(totals->latencies_ms, 0.99),
	    percentile(totals->latencies_ms, 1.0));
	if (totals->milter_cpu_ms >= 0)
		g_string_append_printf(json, "\"milter_cpu_ms_per_msg\":%.4f,",
				       totals->milter_cpu_ms * per_msg);
	else
		g_string_append(json, "\"milter_cpu_ms_per_msg\":null,");
	g_string_append_printf(json, "\"client_cpu_ms_per_msg\":%.4f,\"outcomes\":{",
			       totals->client_cpu_ms * per_msg);
	for (guint i = 0; i < G_N_ELEMENTS(reported_outcomes); i++)
		g_string_append_printf(json, "%s\"%s\":%" G_GUINT64_FORMAT, i > 0 ? "," : "",
				       mc_outcome_name(reported_outcomes[i]),
				       totals->outcomes[reported_outcomes[i]]);
	g_string_append_printf(json, "},\"errors\":%" G_GUINT64_FORMAT ",\"connections\":%u}",
			       totals->errors, options->connections);
	printf("%s\n", json->str);
}

/* the transaction: first "mail" and the first "eom" after it */
static gboolean
find_transaction(McLoad *load)
{
	GPtrArray *steps = load->scenario->steps;
	gboolean have_mail = FALSE;

	for (guint i = 0; i < steps->len; i++) {
		const McStep *step = g_ptr_array_index(steps, i);

		if (!have_mail && step->kind == MC_STEP_MAIL) {
			load->mail_index = i;
			have_mail = TRUE;
		} else if (have_mail && step->kind == MC_STEP_EOM) {
			load->end_index = i + 1;
			return TRUE;
		}
	}
	return FALSE;
}

static void
merge_worker(McLoadTotals *totals, McWorker *worker)
{
	g_array_append_vals(totals->latencies_ms, worker->latencies_ms->data,
			    worker->latencies_ms->len);
	for (guint i = 0; i < MC_OUTCOME_COUNT; i++) {
		totals->outcomes[i] += worker->outcomes[i];
		totals->msgs += worker->outcomes[i];
	}
	totals->errors += worker->errors;
	if (worker->first_error != NULL)
		fprintf(stderr, "pc-milter-client: connection %u: %s\n", worker->index + 1,
			worker->first_error);
	g_array_unref(worker->latencies_ms);
	g_free(worker->first_error);
}

int
mc_load_run(const McLoadOptions *options, const McScenario *scenario)
{
	McLoad load = {.options = options, .scenario = scenario};
	g_autofree McWorker *workers = g_new0(McWorker, options->connections);
	g_autofree GThread **threads = g_new0(GThread *, options->connections);
	g_auto(GStrv) pids = options->pids != NULL ? g_strsplit(options->pids, ",", 0) : NULL;
	McLoadTotals totals = {.latencies_ms = g_array_new(FALSE, FALSE, sizeof(double))};
	double milter_cpu_start;
	double client_cpu_start;
	gint64 start;

	if (!find_transaction(&load)) {
		fprintf(stderr,
			"pc-milter-client: %s: --load needs a \"mail\" step followed by "
			"an \"eom\" step\n",
			scenario->path);
		g_array_unref(totals.latencies_ms);
		return 2;
	}
	if (pids != NULL && pids_cpu_ms(pids) < 0) {
		fprintf(stderr, "pc-milter-client: -p %s: cannot read /proc/PID/stat\n",
			options->pids);
		g_array_unref(totals.latencies_ms);
		return 2;
	}
	atomic_init(&load.claimed, 0);
	g_mutex_init(&load.lock);
	g_cond_init(&load.cond);
	for (guint i = 0; i < options->connections; i++) {
		workers[i] = (McWorker){.load = &load, .index = i};
		workers[i].latencies_ms = g_array_new(FALSE, FALSE, sizeof(double));
		threads[i] = g_thread_new("mc-load", worker_main, &workers[i]);
	}

	/* the start line: every worker has set up and warmed up */
	g_mutex_lock(&load.lock);
	while (load.arrived < options->connections)
		g_cond_wait(&load.cond, &load.lock);
	milter_cpu_start = pids != NULL ? pids_cpu_ms(pids) : -1;
	client_cpu_start = process_cpu_ms();
	start = g_get_monotonic_time();
	load.deadline_us = start + (gint64)(options->seconds * G_USEC_PER_SEC);
	load.go = TRUE;
	g_cond_broadcast(&load.cond);
	g_mutex_unlock(&load.lock);

	for (guint i = 0; i < options->connections; i++)
		g_thread_join(threads[i]);
	totals.seconds = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
	totals.client_cpu_ms = process_cpu_ms() - client_cpu_start;
	totals.milter_cpu_ms = -1;
	if (pids != NULL && milter_cpu_start >= 0 && pids_cpu_ms(pids) >= 0)
		totals.milter_cpu_ms = pids_cpu_ms(pids) - milter_cpu_start;
	for (guint i = 0; i < options->connections; i++)
		merge_worker(&totals, &workers[i]);
	g_array_sort(totals.latencies_ms, compare_double);
	print_summary(options, &totals);
	g_array_unref(totals.latencies_ms);
	g_mutex_clear(&load.lock);
	g_cond_clear(&load.cond);
	return totals.errors > 0 ? 1 : 0;
}
