/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-verdict: what a policy decided, with its SMTP reply, and the one log
 * line that records it.
 *
 * Policy code fills a PcVerdict (action, reply code, enhanced status code,
 * reply text, a short static reason tag and extra key=value fields) and never
 * logs; the milter glue applies it and calls pc_verdict_log(). The line is
 *   QUEUEID: DAEMON: action=reject, stage=rcpt, reason=foreign-domain,
 *   client=host[192.0.2.1], listener=mx, from=<a@b>, rcpt=<x@y>,
 *   reply="554 5.7.1 <x@y>: Relay access denied"
 * with network values escaped (pc_log_append_safe).
 *
 * Thread-safety: a PcVerdict is a per-callback local; no shared state.
 */
#pragma once

#include <glib.h>

#include "pc-session.h"

G_BEGIN_DECLS

typedef enum {
	PC_ACTION_CONTINUE,
	PC_ACTION_ACCEPT,
	PC_ACTION_REJECT,
	PC_ACTION_TEMPFAIL,
	PC_ACTION_DISCARD,
	PC_ACTION_QUARANTINE, /* hold the message (EOM only); the transaction goes on */
} PcAction;

const char *pc_action_to_string(PcAction action);

/* longest reply text sent (libmilter's smfi_setreply refused more; MTAs expect no more) */
#define PC_VERDICT_MAX_TEXT 900

/*
 * a header edit a hook asks for, from MAIL to EOM (edits belong to a
 * message; a step that refuses drops its own). pc-milter keeps those asked
 * for before EOM and applies them all at EOM, when the message goes on (not
 * after a refusal): changes and deletes first, each name's highest instance first
 * (so no edit shifts the instance another names), then inserts, then adds.
 */
typedef enum {
	PC_HEADER_ADD,	  /* at the end */
	PC_HEADER_INSERT, /* at position index, 0 = the top */
	PC_HEADER_CHANGE, /* the index-th header called name (1 = first) gets value */
	PC_HEADER_DELETE, /* the index-th header called name is removed */
} PcHeaderEditKind;

typedef struct {
	PcHeaderEditKind kind;
	guint index;
	char *name;
	char *value; /* NULL for DELETE */
} PcHeaderEdit;

void pc_header_edit_free(PcHeaderEdit *edit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcHeaderEdit, pc_header_edit_free)

/* longest header value an edit may carry: Postfix's header_size_limit */
#define PC_VERDICT_MAX_HEADER_VALUE (100 * 1024)

typedef struct {
	PcAction action;
	char code[4];		 /* "554"; "" = the MTA's default reply */
	char xcode[8];		 /* "5.7.1" */
	char *text;		 /* reply text, or NULL */
	const char *reason;	 /* static tag for logs and metric labels, or NULL */
	GString *fields;	 /* extra ", key=value" pairs for the log line, or NULL */
	gboolean log;		 /* log even a continue (pc_verdict_note) */
	GPtrArray *header_edits; /* PcHeaderEdit, in the order asked; NULL when none */
} PcVerdict;

void pc_verdict_init(PcVerdict *verdict);
void pc_verdict_clear(PcVerdict *verdict);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PcVerdict, pc_verdict_clear)

/*
 * pc_verdict_set:
 * code/xcode may be NULL for the MTA's default reply. text_format is
 * printf-style; the result is kept as given (see pc_verdict_milter_text for
 * what the MTA receives).
 */
void pc_verdict_set(PcVerdict *verdict, PcAction action, const char *code, const char *xcode,
		    const char *reason, const char *text_format, ...) G_GNUC_PRINTF(6, 7);

/* a continue that is still worth a log line (e.g. a signal in log-only mode) */
void pc_verdict_note(PcVerdict *verdict, const char *reason);

/*
 * pc_verdict_lookup_failed:
 * A lookup the decision needed failed (store, map, DNS). on_error is the
 * daemon's [DAEMON] on_error: TEMPFAIL gives "451 4.3.0 Temporary lookup
 * failure", ACCEPT a continue that is still logged. reason is static.
 */
void pc_verdict_lookup_failed(PcVerdict *verdict, PcOnError on_error, const char *reason);

/*
 * Header edits (see PcHeaderEdit). name must be a field name (1..100
 * printable ASCII bytes, no ':'); value may be folded ("\n" followed by a
 * space or tab, as the MTA expects it), has no CR or NUL and is at most
 * PC_VERDICT_MAX_HEADER_VALUE bytes; instance is 1-based (PcHeader.instance).
 * Each returns FALSE, and asks for nothing, when an argument breaks these
 * rules: a bug in the caller, so it is also a g_critical.
 */
gboolean pc_verdict_add_header(PcVerdict *verdict, const char *name, const char *value);
gboolean pc_verdict_insert_header(PcVerdict *verdict, guint position, const char *name,
				  const char *value);
gboolean pc_verdict_change_header(PcVerdict *verdict, const char *name, guint instance,
				  const char *value);
gboolean pc_verdict_delete_header(PcVerdict *verdict, const char *name, guint instance);

/*
 * pc_verdict_sort_header_edits:
 * Orders edits (PcHeaderEdit *) the way they are applied (see PcHeaderEdit).
 */
void pc_verdict_sort_header_edits(GPtrArray *edits);

/* appends ", key=value" with value escaped */
void pc_verdict_add_field(PcVerdict *verdict, const char *key, const char *value);

/*
 * pc_verdict_milter_text:
 * (transfer full) the text as smfi_setreply needs it: printable ASCII only
 * (others become '?'), '%' doubled (the milter reply rule: both MTAs show one), at most
 * PC_VERDICT_MAX_TEXT bytes. NULL when the verdict has no text. The same as
 * pc_verdict_reply_text(verdict, FALSE).
 */
char *pc_verdict_milter_text(const PcVerdict *verdict);

/*
 * pc_verdict_reply_text:
 * As pc_verdict_milter_text; with utf8 (the client asked for SMTPUTF8 at
 * MAIL, PcSession.smtputf8: RFC 6531 lets the reply carry UTF-8 then) valid
 * UTF-8 sequences of printable characters are kept whole, while control
 * characters (C0, DEL, C1) and every byte of an invalid sequence still
 * become '?'. The limit never cuts a character in two. Postfix hands the
 * text to the client unchanged, so what is kept here is what the client
 * reads. (transfer full), NULL when the verdict has no text.
 */
char *pc_verdict_reply_text(const PcVerdict *verdict, gboolean utf8);

/* writes the decision line with g_message */
void pc_verdict_log(const PcVerdict *verdict, const PcSession *session, const char *daemon,
		    PcStage stage);

/* the decision line itself, (transfer full); what pc_verdict_log writes */
char *pc_verdict_format(const PcVerdict *verdict, const PcSession *session, const char *daemon,
			PcStage stage);

G_END_DECLS
