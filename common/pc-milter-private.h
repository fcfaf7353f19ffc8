/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-private: what the three parts of the milter skeleton share. Not
 * for daemons.
 *
 *   pc-milter.c       the stages: a command's arguments to the session, the
 *                     hooks, their verdict to a reply
 *   pc-milter-conn.c  the connections: accept, a thread per connection,
 *                     packets, macros, timeouts, replies written
 *   pc-milter-main.c  start-up and teardown: options, config, socket,
 *                     privileges, signals
 *
 * Thread-safety: a PcMilterConn belongs to its connection's thread; the
 * functions on the process's counters say what they lock.
 */
#pragma once

#include <glib.h>

#include "pc-milter-wire.h"
#include "pc-milter.h"
#include "pc-net.h"
#include "pc-session.h"
#include "pc-stats.h"

G_BEGIN_DECLS

/* descriptors kept for the daemon itself: store pool, statistics, logs, files */
#define RESERVED_DESCRIPTORS 64

/*
 * the process-wide state, written once at start-up before the first
 * connection is accepted (pc-milter.c defines it, pc-milter-main.c fills
 * it); the config slot is the one member that changes afterwards, under its
 * own mutex
 */
/* the most daemons one process hosts (a stack) */
#define PC_MILTER_MAX_MEMBERS 8

/*
 * a daemon the process runs: the process's own descriptor for a daemon; each
 * hosted descriptor for a stack, with a snapshot slot of its own
 */
typedef struct {
	const PcMilterDescriptor *desc;
	PcConfigSlot *slot; /* &pc_milter_process.config_slot, or &own_slot in a stack */
	PcConfigSlot own_slot;
	PcStatsCounter *verdict_counters[PC_ACTION_QUARANTINE + 1];
} PcMilterMember;

typedef struct {
	const PcMilterDescriptor *desc; /* the daemon's, or the stack's */
	PcConfigSlot config_slot;	/* desc's schema: the stack's own section in a stack */
	gboolean stack;			/* desc->stack_members: the members swap in around hooks */
	PcMilterMember members[PC_MILTER_MAX_MEMBERS];
	guint n_members; /* 1 for a daemon (itself) */
	PcStore *store;
	PcDns *dns; /* a member uses_dns; NULL otherwise */
	guint connection_cap;
} PcMilterProcess;

extern PcMilterProcess pc_milter_process;

/* what a stage answers: a reply byte, or none (a stage negotiated as no-reply) */
typedef enum {
	PC_MILTER_NOREPLY = 0,
	PC_MILTER_CONTINUE = PC_MILTER_REPLY_CONTINUE,
	PC_MILTER_ACCEPT = PC_MILTER_REPLY_ACCEPT,
	PC_MILTER_REJECT = PC_MILTER_REPLY_REJECT,
	PC_MILTER_TEMPFAIL = PC_MILTER_REPLY_TEMPFAIL,
	PC_MILTER_DISCARD = PC_MILTER_REPLY_DISCARD,
} PcMilterStatus;

/*
 * a stack member's part of one SMTP session, swapped into the PcSession
 * around the member's hooks: its pinned snapshot (and what the session
 * derives from it) and its own per-connection and per-message state
 */
typedef struct {
	PcConfig *config;
	const PcListener *listener;
	PcListenerRole role;
	gboolean trusted;
	gpointer connection_data;
	gpointer message_data;
	/*
	 * the listener's role is one of the member's stack_roles: decided once
	 * per SMTP session (at its first pin), as the MTA's milter list is the
	 * listener's
	 */
	gboolean active;
	gboolean decided;
	gboolean accepted;	      /* accepted the message: not asked again for it */
	gboolean accepted_connection; /* accepted at CONNECT or HELO: not asked again */
} PcMilterMemberState;

/* one MTA connection; several SMTP sessions in a row with QUIT_NC */
typedef struct {
	int fd;
	/* the SMTP session's state; NULL before OPTNEG and between sessions */
	PcSession *session;
	gboolean negotiated;
	/* CONNECT seen in this SMTP session */
	gboolean connected;
	/* what OPTNEG settled, for every SMTP session on the connection */
	PcStageMask no_reply;
	guint32 actions; /* PC_MILTER_ACT_* granted */
	gboolean header_leading_space;
	/* opened over the connection cap: tempfailed at CONNECT */
	gboolean over_cap;
	/* the macros, per list: a copy of the packet and the name/value views into it */
	guint8 *macro_data[PC_MILTER_MACROS_N];
	const char **macros[PC_MILTER_MACROS_N];
	/* how far the current transaction is, for which macro lists are current */
	guint position;
	/* replies not written yet, and the SMTP reply a refusal carries */
	GByteArray *out;
	char *reply_text;
	/* a stack: each member's part of the session (NULL while there is none) */
	PcMilterMemberState *member_states;
} PcMilterConn;

/* ---------------------------------------- pc-milter-conn.c, for the stages */

/* the value of macro name ("{x}" and "x" are one name) as the MTA sent it for this stage */
const char *pc_milter_conn_macro(PcMilterConn *conn, const char *name);

/* the SMTP reply ("550 5.7.1 text") that goes with the stage's reject or tempfail */
void pc_milter_conn_set_reply(PcMilterConn *conn, const char *text);

/* ---------------------------------------- pc-milter.c, for the connections */

/* the connection cap: counted at accept; FALSE when this one is over it */
gboolean pc_milter_connection_open(void);
void pc_milter_connection_closed(void);
guint pc_milter_connections(void);

/* the descriptor sets a hook for stage */
gboolean pc_milter_stage_has_hook(const PcMilterDescriptor *descriptor, PcStage stage);
/* -M: the macro lists OPTNEG asks for (the process's members), one stage a line */
void pc_milter_print_macro_lists(void);
/*
 * the process's members: the descriptor itself for a daemon; for a stack,
 * the hosted descriptors that hosts(config, name) names (every one when
 * config is NULL, for -M). Before any connection.
 */
void pc_milter_set_members(const PcMilterDescriptor *descriptor, const PcConfig *config);
/* the verdict and connection-cap metrics, before the statistics listener starts */
void pc_milter_register_stage_metrics(void);

/* OPTNEG: the MTA's offer to what is asked, written to conn->out */
void pc_milter_step_negotiate(PcMilterConn *conn, guint32 version, guint32 actions,
			      guint32 protocol);
PcMilterStatus pc_milter_step_connect(PcMilterConn *conn, const char *hostname,
				      const PcNetAddress *address);
PcMilterStatus pc_milter_step_helo(PcMilterConn *conn, const char *helo);
PcMilterStatus pc_milter_step_mail(PcMilterConn *conn, const char *const *argv);
PcMilterStatus pc_milter_step_rcpt(PcMilterConn *conn, const char *const *argv);
PcMilterStatus pc_milter_step_data(PcMilterConn *conn);
PcMilterStatus pc_milter_step_header(PcMilterConn *conn, const char *name, const char *value);
PcMilterStatus pc_milter_step_eoh(PcMilterConn *conn);
PcMilterStatus pc_milter_step_body(PcMilterConn *conn, const guint8 *chunk, gsize len);
/* EOM: header edits and quarantine go to conn->out before the final reply */
PcMilterStatus pc_milter_step_eom(PcMilterConn *conn);
/* SMFIC_UNKNOWN: never asked for; answered when the MTA waits */
PcMilterStatus pc_milter_step_unknown(PcMilterConn *conn);
void pc_milter_step_abort(PcMilterConn *conn);
/* the SMTP session ends (QUIT, QUIT_NC, the connection closed) */
void pc_milter_step_close(PcMilterConn *conn);

/* ------------------------------------------ pc-milter-conn.c, for start-up */

/* the path of a unix socket spec ("unix:/p", "local:/p", "/p"); FALSE for inet */
gboolean pc_milter_unix_socket_path(const char *spec, const char **path_out);

/*
 * opens and listens on spec (unix:/PATH, local:/PATH, /PATH, inet:PORT,
 * inet:PORT@ADDRESS, inet6:PORT@ADDRESS; addresses are literals or
 * localhost, nothing is resolved); -1 and error on failure
 */
int pc_milter_listen(const char *spec, GError **error);

/* the connection metrics, before the statistics listener starts */
void pc_milter_conn_register_metrics(void);

/*
 * serves listen_fd until stop_fd becomes readable: a thread per connection.
 * name for log lines; timeout_us is milter_timeout; limit the descriptor
 * limit in force (0: unknown). Returns when no new connection is accepted
 * any more; pc_milter_connections() tells how many are still open.
 */
void pc_milter_serve(int listen_fd, int stop_fd, const char *name, gint64 timeout_us,
		     guint64 limit);

G_END_DECLS
