/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-client: speaks the milter protocol to a filter the way Postfix
 * or Sendmail would, from a scenario file, and checks its answers.
 *
 * This file holds the command line, the report (one deterministic line per
 * step, one per modification, "FAIL ..." per broken expectation) and the
 * expectation checks. The wire work is in mc-session/mc-proto, the load
 * generator in mc-load. Exit status: 0 all expectations held, 1 some failed
 * (or, in load mode, some message hit an I/O or protocol error), 2 usage,
 * I/O or protocol errors.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "mc-load.h"
#include "mc-scenario.h"
#include "mc-session.h"

#define MC_EXIT_OK 0
#define MC_EXIT_FAILED 1
#define MC_EXIT_ERROR 2

/* what the expectations of one scenario file look back at */
typedef struct {
	gboolean verbose;
	guint failures;
	gboolean have_result;
	McOutcome last_outcome;
	char *last_reply;      /* SMFIR_REPLYCODE text of the last step, or NULL */
	const char *last_note; /* static */
	gboolean have_eom;
	GPtrArray *eom_mods;   /* McMod* of the last EOM (a reference), or NULL */
	const char *write_dir; /* --write-messages, or NULL */
	guint *n_written;      /* messages written so far by this process */
	gboolean write_failed;
} McRunState;

static void
run_state_clear(McRunState *state)
{
	g_clear_pointer(&state->last_reply, g_free);
	g_clear_pointer(&state->eom_mods, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(McRunState, run_state_clear)

/* "reject 554 5.7.1 text (note)" */
static void
append_outcome(GString *out, McOutcome outcome, const char *smtp_reply, const char *note)
{
	g_string_append(out, mc_outcome_name(outcome));
	if (smtp_reply != NULL) {
		g_string_append_c(out, ' ');
		mc_proto_escape_append(out, smtp_reply, strlen(smtp_reply));
	}
	if (note != NULL)
		g_string_append_printf(out, " (%s)", note);
}

static void
print_result(const McResult *result)
{
	g_autoptr(GString) line = g_string_new(NULL);

	g_string_append_printf(line, "%u %s", result->lineno, result->keyword);
	if (result->display != NULL && *result->display != '\0')
		g_string_append_printf(line, " %s", result->display);
	g_string_append(line, ": ");
	append_outcome(line, result->outcome, result->smtp_reply, result->note);
	printf("%s\n", line->str);
	for (guint i = 0; result->mods != NULL && i < result->mods->len; i++) {
		const McMod *mod = g_ptr_array_index(result->mods, i);

		printf("%u %s: %s %s\n", result->lineno, result->keyword,
		       mc_mod_kind_name(mod->kind), mod->text);
	}
}

static void
record_result(McRunState *state, const McResult *result)
{
	state->have_result = TRUE;
	state->last_outcome = result->outcome;
	state->last_note = result->note;
	g_free(state->last_reply);
	state->last_reply = g_strdup(result->smtp_reply);
	if (strcmp(result->keyword, "eom") == 0) {
		state->have_eom = TRUE;
		g_clear_pointer(&state->eom_mods, g_ptr_array_unref);
		if (result->mods != NULL)
			state->eom_mods = g_ptr_array_ref(result->mods);
	}
}

static void
fail(McRunState *state, const McStep *step, const char *got)
{
	const char *what = "";

	switch (step->kind) {
	case MC_STEP_EXPECT_MOD:
		what = "mod ";
		break;
	case MC_STEP_EXPECT_NO_MOD:
		what = "no mod ";
		break;
	case MC_STEP_EXPECT_MACRO:
		what = "macro ";
		break;
	case MC_STEP_EXPECT_NO_MACRO:
		what = "no macro ";
		break;
	default:
		break;
	}
	state->failures++;
	printf("FAIL %u: expected %s%s, got %s\n", step->lineno, what, step->display, got);
}

static gboolean
eom_has_mod(const McRunState *state, McModKind kind, const char *text)
{
	for (guint i = 0; state->eom_mods != NULL && i < state->eom_mods->len; i++) {
		const McMod *mod = g_ptr_array_index(state->eom_mods, i);

		if (mod->kind == kind && (text == NULL || strstr(mod->text, text) != NULL))
			return TRUE;
	}
	return FALSE;
}

static gboolean
outcome_matches(const McRunState *state, McOutcome want)
{
	McOutcome got = state->last_outcome;

	switch (want) {
	case MC_OUTCOME_CONTINUE:
		return got == MC_OUTCOME_CONTINUE || got == MC_OUTCOME_SKIP;
	case MC_OUTCOME_QUARANTINE:
		return (got == MC_OUTCOME_ACCEPT || got == MC_OUTCOME_CONTINUE) &&
		       eom_has_mod(state, MC_MOD_QUARANTINE, NULL);
	default:
		return got == want;
	}
}

/* CODE, XCODE and TEXT of "expect" against "554 5.7.1 text" */
static gboolean
reply_matches(const McStep *step, const char *reply)
{
	g_auto(GStrv) words = NULL;

	if (step->code == NULL && step->xcode == NULL && step->text == NULL)
		return TRUE;
	if (reply == NULL || strlen(reply) < 4)
		return FALSE;
	if (step->code != NULL && strncmp(reply, step->code, 3) != 0)
		return FALSE;
	words = g_strsplit_set(reply + 4, " \r\n", 2);
	if (step->xcode != NULL && g_strcmp0(words[0], step->xcode) != 0)
		return FALSE;
	return step->text == NULL || strstr(reply, step->text) != NULL;
}

static void
check_expect(McRunState *state, McSession *session, const McStep *step)
{
	g_autoptr(GString) got = g_string_new(NULL);
	const char *reply = state->last_reply;

	if (!state->have_result) {
		fail(state, step, "no step before it");
		return;
	}
	/* a plain SMFIR_REJECT/TEMPFAIL stands for the MTA's default reply */
	if (reply == NULL)
		reply = mc_session_default_reply(session, state->last_outcome);
	if (outcome_matches(state, step->outcome) && reply_matches(step, reply))
		return;
	append_outcome(got, state->last_outcome, state->last_reply, state->last_note);
	fail(state, step, got->str);
}

static void
describe_mods(const McRunState *state, McModKind kind, GString *out)
{
	for (guint i = 0; state->eom_mods != NULL && i < state->eom_mods->len; i++) {
		const McMod *mod = g_ptr_array_index(state->eom_mods, i);

		if (mod->kind != kind)
			continue;
		g_string_append_printf(out, "%s%s %s", out->len > 0 ? "; " : "",
				       mc_mod_kind_name(mod->kind), mod->text);
	}
	if (out->len == 0)
		g_string_append_printf(out, "no %s", mc_mod_kind_name(kind));
}

static void
check_expect_mod(McRunState *state, const McStep *step)
{
	g_autoptr(GString) got = g_string_new(NULL);
	gboolean found = eom_has_mod(state, step->mod_kind, step->text);

	if (!state->have_eom) {
		fail(state, step, "no eom before it");
		return;
	}
	if (found == (step->kind == MC_STEP_EXPECT_MOD))
		return;
	describe_mods(state, step->mod_kind, got);
	fail(state, step, got->str);
}

static void
check_expect_macro(McRunState *state, McSession *session, const McStep *step)
{
	const GPtrArray *pairs = mc_session_sent_macros(session, step->stage);
	g_autoptr(GString) got = g_string_new(NULL);
	gboolean found = FALSE;

	for (guint i = 0; pairs != NULL && i + 1 < pairs->len; i += 2) {
		const char *name = g_ptr_array_index(pairs, i);
		const char *value = g_ptr_array_index(pairs, i + 1);

		g_string_append_printf(got, "%s%s=", got->len > 0 ? " " : "", name);
		mc_proto_escape_append(got, value, strlen(value));
		if (mc_macro_name_equal(name, step->name) &&
		    (step->value == NULL || strcmp(value, step->value) == 0))
			found = TRUE;
	}
	if (found == (step->kind == MC_STEP_EXPECT_MACRO))
		return;
	if (pairs == NULL)
		g_string_assign(got, "no macro packet");
	else if (pairs->len == 0)
		g_string_assign(got, "an empty macro packet");
	g_string_prepend(got, ": ");
	g_string_prepend(got, mc_stage_name(step->stage));
	fail(state, step, got->str);
}

/* --write-messages: DIR/msg-N.eml, N counting every EOM of the run from 1 */
static void
write_message(McRunState *state, McSession *session, const McResult *result)
{
	g_autoptr(GBytes) message = mc_session_message(session, result->mods);
	g_autofree char *name = g_strdup_printf("msg-%u.eml", ++*state->n_written);
	g_autofree char *path = g_build_filename(state->write_dir, name, NULL);
	g_autoptr(GError) error = NULL;
	gsize len;
	const char *data = g_bytes_get_data(message, &len);

	if (!g_file_set_contents(path, data, (gssize)len, &error)) {
		fprintf(stderr, "pc-milter-client: %s\n", error->message);
		state->write_failed = TRUE;
	}
}

static gboolean
run_hook(McSession *session, const McStep *step, const McResult *result, gpointer user_data)
{
	McRunState *state = user_data;
	guint before = state->failures;

	if (result != NULL) {
		print_result(result);
		record_result(state, result);
		if (state->write_dir != NULL && result->mods != NULL &&
		    strcmp(result->keyword, "eom") == 0)
			write_message(state, session, result);
		return TRUE;
	}
	switch (step->kind) {
	case MC_STEP_EXPECT:
		check_expect(state, session, step);
		break;
	case MC_STEP_EXPECT_MOD:
	case MC_STEP_EXPECT_NO_MOD:
		check_expect_mod(state, step);
		break;
	default:
		check_expect_macro(state, session, step);
		break;
	}
	if (state->verbose && state->failures == before)
		fprintf(stderr, "ok %u: %s %s\n", step->lineno, step->keyword, step->display);
	return TRUE;
}

typedef struct {
	char *socket_spec;
	double timeout;
	gboolean verbose;
	char **defines;
	gboolean load;
	gint64 count;
	gint connections;
	double seconds;
	gint warmup;
	char *pids;
	gboolean json;
	char *write_dir;
	char **files;
} McOptions;

static void
options_clear(McOptions *options)
{
	g_free(options->socket_spec);
	g_strfreev(options->defines);
	g_free(options->pids);
	g_free(options->write_dir);
	g_strfreev(options->files);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(McOptions, options_clear)

/* runs one scenario file; returns its exit status */
static int
run_file(const McOptions *options, const char *path, gboolean header, guint *n_written)
{
	g_auto(McRunState) state = {
	    .verbose = options->verbose, .write_dir = options->write_dir, .n_written = n_written};
	g_autoptr(McScenario) scenario = NULL;
	g_autoptr(McSession) session = NULL;
	g_autoptr(GError) error = NULL;
	gboolean ok;

	if (header)
		printf("# %s\n", path);
	scenario = mc_scenario_load(path, &error);
	if (scenario == NULL) {
		fprintf(stderr, "pc-milter-client: %s\n", error->message);
		return MC_EXIT_ERROR;
	}
	session = mc_session_new(options->socket_spec, (guint)(options->timeout * 1000),
				 options->verbose, 1);
	if (!mc_session_apply_defines(session, options->defines, &error)) {
		fprintf(stderr, "pc-milter-client: %s\n", error->message);
		return MC_EXIT_ERROR;
	}
	ok = mc_session_run(session, scenario->steps, 0, scenario->steps->len, run_hook, &state,
			    &error);
	fflush(stdout);
	if (!ok) {
		fprintf(stderr, "pc-milter-client: %s:%s\n", path,
			error != NULL ? error->message : " stopped");
		return MC_EXIT_ERROR;
	}
	if (state.write_failed)
		return MC_EXIT_ERROR;
	return state.failures > 0 ? MC_EXIT_FAILED : MC_EXIT_OK;
}

static gboolean
options_parse(McOptions *options, int *argc, char ***argv, GError **error)
{
	const GOptionEntry entries[] = {
	    {"socket", 's', 0, G_OPTION_ARG_STRING, &options->socket_spec,
	     "Milter socket (unix:PATH, local:PATH, inet:PORT@HOST, inet6:PORT@HOST)", "SOCKET"},
	    {"timeout", 'T', 0, G_OPTION_ARG_DOUBLE, &options->timeout,
	     "Timeout for every read and write, seconds (default 10)", "SECONDS"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
	     "Trace packets and passed expectations on stderr", NULL},
	    {"define", 'D', 0, G_OPTION_ARG_STRING_ARRAY, &options->defines,
	     "Default value for a macro", "NAME=VALUE"},
	    {"load", 0, 0, G_OPTION_ARG_NONE, &options->load,
	     "Replay the scenario's transaction as a load test", NULL},
	    {"count", 'n', 0, G_OPTION_ARG_INT64, &options->count,
	     "Load: measured messages in total (default: until --seconds)", "COUNT"},
	    {"connections", 'C', 0, G_OPTION_ARG_INT, &options->connections,
	     "Load: concurrent milter connections (default 1)", "CONNS"},
	    {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &options->seconds,
	     "Load: bound on the measured phase (default 60)", "MAX"},
	    {"warmup", 0, 0, G_OPTION_ARG_INT, &options->warmup,
	     "Load: unmeasured messages per connection first (default 0)", "N"},
	    {"pids", 'p', 0, G_OPTION_ARG_STRING, &options->pids,
	     "Load: milter processes whose CPU time to report", "PID[,PID]"},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &options->json,
	     "Load: print a JSON summary line at the end", NULL},
	    {"write-messages", 'o', 0, G_OPTION_ARG_FILENAME, &options->write_dir,
	     "After each EOM write the message as the MTA would deliver it to DIR/msg-N.eml",
	     "DIR"},
	    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options->files, NULL,
	     "FILE..."},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new("FILE...");

	g_option_context_set_summary(context,
				     "Plays milter scenarios the way Postfix or Sendmail would "
				     "(FILE \"-\" reads standard input).");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, argc, argv, error))
		return FALSE;
	if (options->socket_spec == NULL || options->files == NULL || options->files[0] == NULL) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
				    "usage: pc-milter-client -s SOCKET [-T SECONDS] [-v] "
				    "[-D NAME=VALUE] [-o DIR] FILE...\n"
				    "       pc-milter-client -s SOCKET --load -n COUNT [-C CONNS] "
				    "[--seconds MAX] [--warmup N] [-p PID[,PID]] [--json] FILE");
		return FALSE;
	}
	if (options->timeout <= 0 || options->timeout > 3600 || options->connections < 1 ||
	    options->connections > 10000 || options->count < 0 || options->seconds <= 0 ||
	    options->warmup < 0) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "option value out of range");
		return FALSE;
	}
	if (options->load && g_strv_length(options->files) != 1) {
		g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--load takes exactly one scenario file");
		return FALSE;
	}
	return TRUE;
}

static int
load_main(const McOptions *options)
{
	g_autoptr(McScenario) scenario = NULL;
	g_autoptr(GError) error = NULL;
	McLoadOptions load = {
	    .socket_spec = options->socket_spec,
	    .timeout_ms = (guint)(options->timeout * 1000),
	    .trace = options->verbose,
	    .defines = options->defines,
	    .count = (guint64)options->count,
	    .connections = (guint)options->connections,
	    .seconds = options->seconds,
	    .warmup = (guint)options->warmup,
	    .pids = options->pids,
	    .json = options->json,
	};

	scenario = mc_scenario_load(options->files[0], &error);
	if (scenario == NULL) {
		fprintf(stderr, "pc-milter-client: %s\n", error->message);
		return MC_EXIT_ERROR;
	}
	return mc_load_run(&load, scenario);
}

int
main(int argc, char **argv)
{
	g_auto(McOptions) options = {.timeout = 10, .connections = 1, .seconds = 60};
	g_autoptr(GError) error = NULL;
	int status = MC_EXIT_OK;
	guint n_written = 0;

	/* a milter that hangs up must show as "closed", not kill us */
	signal(SIGPIPE, SIG_IGN);
	if (!options_parse(&options, &argc, &argv, &error)) {
		fprintf(stderr, "pc-milter-client: %s\n", error->message);
		return MC_EXIT_ERROR;
	}
	if (options.load)
		return load_main(&options);
	for (guint i = 0; options.files[i] != NULL; i++) {
		int file_status =
		    run_file(&options, options.files[i], options.files[1] != NULL, &n_written);

		status = MAX(status, file_status);
	}
	return status;
}
