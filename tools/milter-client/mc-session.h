/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-session: plays scenario steps against one milter, as an MTA would.
 *
 * An McSession owns at most one milter connection and the macro state of
 * the simulated SMTP session. It sends what each step says, honours the
 * milter's negotiated SMFIP_NO* / SMFIP_NR_* / SMFIP_HDR_LEADSPC / SMFIP_SKIP
 * flags, sends the macro packet each stage gets from the chosen MTA profile,
 * and turns each reply into an McResult. It inserts the EOH an MTA always
 * sends, and batches consecutive body lines into chunks. It does not print
 * or judge anything: results and "expect" steps go to a hook, so the report
 * mode and the load mode share every byte that goes on the wire.
 *
 * Thread-safety: an McSession belongs to one thread.
 */
#pragma once

#include <glib.h>

#include "mc-mta.h"
#include "mc-proto.h"
#include "mc-scenario.h"

G_BEGIN_DECLS

typedef struct {
	guint lineno;	     /* of the step, or of the step that caused an implicit EOH */
	const char *keyword; /* "mail", "eoh", "body", ... (static) */
	char *display;	     /* printable argument text */
	McOutcome outcome;
	const char *note; /* "skipped: SMFIP_NOHELO", "no reply: ...", ... or NULL (static) */
	char *smtp_reply; /* SMFIR_REPLYCODE text, or NULL */
	GPtrArray *mods;  /* McMod*, after EOM; NULL otherwise */
	gsize body_bytes; /* body: bytes handed to the milter */
} McResult;

void mc_result_clear(McResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(McResult, mc_result_clear)

typedef struct _McSession McSession;

/*
 * McStepHook:
 * Called with result != NULL for every step (or implicit EOH) that talked
 * to the milter, and with result == NULL for each expect* step. Both are
 * borrowed for the duration of the call. Returning FALSE stops the run.
 */
typedef gboolean (*McStepHook)(McSession *session, const McStep *step, const McResult *result,
			       gpointer user_data);

/*
 * mc_session_new:
 * socket_spec as for mc_conn_open(); trace logs packets to stderr; seed
 * makes queue ids reproducible.
 * Returns: (transfer full) a session without a milter connection.
 */
McSession *mc_session_new(const char *socket_spec, guint timeout_ms, gboolean trace, guint32 seed);
void mc_session_free(McSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(McSession, mc_session_free)

/* (transfer none) the macro state */
McMacros *mc_session_get_macros(McSession *session);

/*
 * mc_session_apply_defines:
 * Applies -D "NAME=VALUE" strings (defines may be NULL) as macro defaults.
 * Returns FALSE with G_OPTION_ERROR_BAD_VALUE if one has no "=".
 */
gboolean mc_session_apply_defines(McSession *session, char *const *defines, GError **error);

/*
 * mc_session_run:
 * Plays steps[first..last) (indices into steps). Returns FALSE with an
 * error prefixed by the step's line number on an I/O or protocol error, or
 * when the hook returned FALSE (without an error).
 */
gboolean mc_session_run(McSession *session, GPtrArray *steps, guint first, guint last,
			McStepHook hook, gpointer user_data, GError **error);

/* sends SMFIC_ABORT if connected and forgets the transaction */
gboolean mc_session_abort(McSession *session, GError **error);

/* TRUE while a milter connection is open */
gboolean mc_session_is_open(const McSession *session);

/* sends SMFIC_QUIT if connected, then closes */
void mc_session_close(McSession *session);

/*
 * mc_session_sent_macros:
 * The name/value pairs of the last macro packet sent for stage on the
 * current connection, or NULL if none was sent. (transfer none)
 */
const GPtrArray *mc_session_sent_macros(const McSession *session, McStage stage);

/*
 * mc_session_message:
 * The last transaction's message as the MTA would deliver it: its headers
 * as the scenario wrote them (leading blanks and folding kept), the header
 * modifications in mods applied in order (insheader at a position, 0 the
 * top; chgheader on the Nth header of a name, an empty value deletes it;
 * addheader at the end), an empty line and the body as sent, lines ending
 * in CRLF. A replaced body is not applied. (transfer full)
 */
GBytes *mc_session_message(const McSession *session, const GPtrArray *mods);

/* the profile's SMTP reply for a plain reject/tempfail, e.g. for "expect" */
const char *mc_session_default_reply(const McSession *session, McOutcome outcome);

G_END_DECLS
