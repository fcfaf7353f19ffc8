/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-explain: what `portcullis explain`'s two files share (tool-explain.c:
 * the command, the sessions, the wording and the summary;
 * tool-explain-daemons.c: each daemon's part). Private to the command.
 *
 * Thread-safety: a command-line program, one thread.
 */
#pragma once

#include <glib.h>

#include "daemons.h"
#include "pc-config.h"
#include "pc-dns.h"
#include "pc-net.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

/* recipients explained at most: one transaction as a person types it */
#define EXPLAIN_MAX_RCPTS 100
/* keys each daemon's fresh store may hold: one transaction needs a few dozen */
#define EXPLAIN_STORE_KEYS 10000

typedef enum {
	EXPLAIN_RELAY,
	EXPLAIN_AUTH,
	EXPLAIN_RATE,
	EXPLAIN_VERIFY,
	EXPLAIN_SIGN,
	EXPLAIN_N_DAEMONS,
} ExplainDaemon;

/* the same daemons in the same order as portcullis_daemon_schemas and _names */
G_STATIC_ASSERT(EXPLAIN_N_DAEMONS == PORTCULLIS_N_DAEMONS);

typedef struct {
	char *config_path;
	char *listener;
	char *client;
	char *client_name;
	char *helo;
	char *login;
	char *server_addr;
	char *tls;
	gint cipher_bits;
	char *from;
	char *header_from;
	char **rcpts;
	gboolean dns;
} ExplainOptions;

/* one daemon's refusal (or hold), for the summary */
typedef struct {
	gboolean set;
	char *reply;
} ExplainRefusal;

typedef struct {
	const ExplainOptions *options;
	const char *path;
	PcNetAddress client;
	gboolean client_known;
	char *sender;	     /* the MAIL argument, "<...>" */
	GPtrArray *rcpts;    /* the RCPT arguments */
	PcDns *dns;	     /* with --dns */
	PcListenerRole role; /* the listener's, from the first snapshot loaded */
	/* per daemon: refusal at CONNECT/MAIL, per recipient, at EOH/EOM, and a hold */
	ExplainRefusal mail[EXPLAIN_N_DAEMONS];
	ExplainRefusal *rcpt[EXPLAIN_N_DAEMONS]; /* rcpts->len each */
	ExplainRefusal data[EXPLAIN_N_DAEMONS];
	ExplainRefusal hold[EXPLAIN_N_DAEMONS];
	gboolean loaded[EXPLAIN_N_DAEMONS];
	char *signature;	 /* what sign would add, for the summary */
	const char *verify_note; /* static: what verify did not evaluate, for the summary */
} Explain;

/* --- tool-explain.c: wording, sessions, the MTA's order --- */

/* "[group] key at FILE:LINE", or "(default)" when no file sets it; (transfer full) */
char *explain_key_at(const PcConfig *config, const char *group, const char *key,
		     const char *domain);
/* a verdict for the next stage */
void explain_verdict_reset(PcVerdict *verdict);
gboolean explain_verdict_refuses(const PcVerdict *verdict);
/* one stage's line, then its reasons; records a refusal in slot and a hold in hold_slot */
void explain_print_stage(const char *stage, const char *what, const PcVerdict *verdict,
			 const char *why, ExplainRefusal *slot, ExplainRefusal *hold_slot);
/* the domain of an envelope path, lowercased, or NULL; (transfer full) */
char *explain_path_domain(const char *path);
/* trusted or not, logged in or not, and where trusted_networks is set; (transfer full) */
char *explain_client_standing(const PcSession *session);
/* TRUE when the daemon is on the listener's milter list in the shipped snippets */
gboolean explain_attached(const Explain *ex, ExplainDaemon d);
/* TRUE (and says so) when an earlier daemon's refusal means d is not asked */
gboolean explain_not_asked(const Explain *ex, ExplainDaemon d, const char *stage, const char *what,
			   gint rcpt, gboolean data);
/* a session on config as CONNECT, HELO and the MAIL macros leave it; (transfer full) */
PcSession *explain_session_new(Explain *ex, PcConfig *config, PcStore *store);
void explain_session_start_message(Explain *ex, PcSession *session);
void explain_session_add_from(Explain *ex, PcSession *session);

/* --- tool-explain-daemons.c: each daemon's stages, printed, refusals recorded in ex --- */

void explain_relay(Explain *ex, PcConfig *config, PcStore *store);
void explain_auth(Explain *ex, PcConfig *config, PcStore *store);
void explain_rate(Explain *ex, PcConfig *config, PcStore *store);
void explain_verify(Explain *ex, PcConfig *config);
void explain_sign(Explain *ex, PcConfig *config);

G_END_DECLS
