/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-scenario: the scenario file format of pc-milter-client.
 *
 * One step per line, "#" comments, blank lines ignored; see
 * tools/milter-client/README.md for the full grammar. The parser only turns
 * text into McStep values (decoding quotes and \xHH escapes, so addresses
 * can carry any byte); it checks syntax, not realism. Running the steps is
 * mc-session's job.
 *
 * Thread-safety: a parsed McScenario is immutable and may be shared by the
 * load-mode threads.
 */
#pragma once

#include <glib.h>

#include "mc-proto.h"

G_BEGIN_DECLS

#define MC_SCENARIO_ERROR (mc_scenario_error_quark())
typedef enum {
	MC_SCENARIO_ERROR_READ,	  /* the file could not be read */
	MC_SCENARIO_ERROR_SYNTAX, /* a line does not parse */
} McScenarioError;
GQuark mc_scenario_error_quark(void);

typedef enum {
	MC_STEP_MTA,
	MC_STEP_MACRO,
	MC_STEP_CLEANUP_DAEMON_NAME,
	MC_STEP_CONNECT,
	MC_STEP_HELO,
	MC_STEP_STARTTLS,
	MC_STEP_AUTH,
	MC_STEP_MAIL,
	MC_STEP_RCPT,
	MC_STEP_DATA,
	MC_STEP_HEADER,
	MC_STEP_EOH,
	MC_STEP_BODY,
	MC_STEP_EOM,
	MC_STEP_ABORT,
	MC_STEP_QUIT,
	MC_STEP_RECONNECT,
	MC_STEP_PAUSE_UNTIL_FILE, /* waits (at most 60 s) until a file exists: test sync */
	MC_STEP_EXPECT,
	MC_STEP_EXPECT_MOD,
	MC_STEP_EXPECT_NO_MOD,
	MC_STEP_EXPECT_MACRO,
	MC_STEP_EXPECT_NO_MACRO,
} McStepKind;

/* what a step's reply amounts to, as reported and as "expect" names it */
typedef enum {
	MC_OUTCOME_CONTINUE,
	MC_OUTCOME_ACCEPT,
	MC_OUTCOME_REJECT,
	MC_OUTCOME_TEMPFAIL,
	MC_OUTCOME_DISCARD,
	MC_OUTCOME_QUARANTINE, /* expect only: an accepted message with a quarantine */
	MC_OUTCOME_SKIP,       /* SMFIR_SKIP; "expect continue" also matches it */
	MC_OUTCOME_CLOSED,     /* the milter closed, or answered connfail/shutdown */
	MC_OUTCOME_SENT,       /* a command without reply (abort, quit) went out */
	MC_OUTCOME_COUNT,
} McOutcome;

const char *mc_outcome_name(McOutcome outcome);
gboolean mc_outcome_parse(const char *name, McOutcome *outcome_out);

typedef struct {
	McStepKind kind;
	guint lineno;
	const char *keyword; /* "mail", "expect-mod", ... (static) */
	char *display;	     /* printable rest of the line, for the report */
	/*
	 * mail/rcpt: address then ESMTP arguments; helo: the name; starttls:
	 * version, bits, cipher; auth: login, mechanism. Decoded bytes.
	 */
	GPtrArray *args;
	char *name;   /* mta, macro, header, expect-macro name; connect address */
	char *value;  /* macro value (NULL: unset), cleanup name, connect port */
	char *host;   /* connect: client host name, NULL if none */
	char family;  /* connect: MC_FAMILY_INET, _INET6 or _UNKNOWN */
	GBytes *data; /* header value (after the colon), body bytes */
	/* expect* */
	McOutcome outcome;
	char *code;  /* "554", or NULL */
	char *xcode; /* "5.7.1", or NULL */
	char *text;  /* substring to find, or NULL */
	McModKind mod_kind;
	McStage stage;
} McStep;

typedef struct {
	char *path;	  /* as given; "-" for standard input */
	GPtrArray *steps; /* McStep*, in file order */
} McScenario;

/*
 * mc_scenario_load:
 * Reads and parses path ("-": standard input).
 * Returns: (transfer full) the scenario, or NULL with an error naming the
 * file and line.
 */
McScenario *mc_scenario_load(const char *path, GError **error);

/* parses text as if read from a file called path; for tests */
McScenario *mc_scenario_parse(const char *path, const char *text, gsize len, GError **error);

void mc_scenario_free(McScenario *scenario);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(McScenario, mc_scenario_free)

/* args[index] as a NUL-terminated string, or NULL past the end; (transfer none) */
const char *mc_step_arg(const McStep *step, guint index);

G_END_DECLS
