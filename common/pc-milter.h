/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter: the milter skeleton every daemon runs in, and the only code
 * that speaks the milter protocol (pc-milter-wire, pc-milter-conn).
 *
 * A daemon's main() is `return pc_milter_main(&relay_milter, argc, argv);`.
 * The descriptor names the daemon, its config schemas, the hooks it has, the
 * stages where those hooks may refuse, the actions it may take (header
 * edits, quarantine) and its per-connection and per-message state. What is
 * asked of the MTA is derived from that:
 *
 *  - a stage is sent when a hook for it is set, or when the session needs it
 *    (CONNECT, MAIL and RCPT always: they fill the PcSession; HELO with a
 *    HELO hook; headers when headers are kept or edited; the body when
 *    counted);
 *  - the MTA waits for an answer only at the stages in `refuse_at` (and at
 *    EOM, which always has one); elsewhere hooks observe and the MTA is told
 *    not to wait (SMFIP_NR_*);
 *  - header actions are negotiated only with PC_MILTER_EDIT_HEADERS.
 *
 * The skeleton (pc-milter.c, pc-milter-conn.c, pc-milter-main.c; see
 * pc-milter-private.h) owns the rest: the protocol and the connection
 * threads, options (-c -p -f -n -V -v -M), config load and
 * reload (SIGHUP and SIGUSR1), logging, the statistics listener, the store,
 * the resolver of a daemon that resolves (uses_dns),
 * socket set-up (a stale unix socket is removed; a path that is not a socket
 * is an error), the descriptor limit, the connection cap, privilege drop, the
 * pid file, macro capture into the PcSession, applying verdicts and header
 * edits, and teardown in reverse order.
 *
 * Files are read with one identity: as the daemon's [global] user, at start
 * and at every reload (see docs/DESIGN.md, "Who reads which file").
 *
 * A stack (stack_members) runs several daemons' descriptors on one milter
 * connection; each member's hooks see the session as its own daemon would.
 *
 * Thread-safety: pc_milter_main() runs once per process. Hooks run on
 * the connection threads, one connection's hooks serialised; init,
 * reconfigure and deinit run on the main or signal thread, never while a
 * hook of the same kind runs.
 */
#pragma once

#include <glib.h>

#include "pc-config.h"
#include "pc-control.h"
#include "pc-dns.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

/* a set of stages: PC_STAGE_MASK(PC_STAGE_RCPT) | ... */
typedef guint PcStageMask;
#define PC_STAGE_MASK(stage) (1u << (stage))

/* what a daemon may do to a message besides answering */
typedef enum {
	PC_MILTER_ACTIONS_NONE = 0,
	PC_MILTER_EDIT_HEADERS = 1 << 0, /* add, insert, change and delete headers */
	PC_MILTER_QUARANTINE = 1 << 1,	 /* PC_ACTION_QUARANTINE at EOM (hold queue) */
} PcMilterActions;

/* a hook decides into verdict; CONTINUE when it has nothing to say */
typedef void (*PcMilterHook)(PcSession *session, const PcConfig *config, PcVerdict *verdict);

typedef struct _PcMilterDescriptor PcMilterDescriptor;

struct _PcMilterDescriptor {
	const char *name; /* "relay": section [relay], ident portcullis-relay */
	const PcConfigSchema *schema;
	/* more sections the daemon reads ([rate.NAME], [greylist]); NULL-terminated, or NULL */
	const PcConfigSchema *const *extra_schemas;
	/*
	 * every daemon's schemas (terminated by a NULL schema), so that -n checks
	 * the whole file as all daemons would load it; NULL = only this one's
	 */
	const PcConfigDaemonSchemas *all_daemons;
	PcMilterActions actions;
	/* stages whose hook may refuse: the MTA waits for the answer there */
	PcStageMask refuse_at;
	/*
	 * optional: the stages of refuse_at that this configuration needs
	 * (verify answers RCPT only with spf_fail_action = reject). Asked at
	 * each milter connection's negotiation with the current snapshot; a
	 * connection keeps what it negotiated across reloads, so its hooks
	 * check pc_milter_may_refuse(). NULL: all of refuse_at, always.
	 */
	PcStageMask (*refuse_at_for)(const PcConfig *config);
	/*
	 * added to the port of [global] statistics, so that daemons sharing one
	 * config listen on distinct ports: relay 0, auth 1, rate 2, verify 3, sign 4
	 */
	guint statistics_offset;
	/*
	 * extra macro names per stage (PC_STAGE_CONNECT..PC_STAGE_EOM, the
	 * stages the MTA sends macros at), space separated, or NULL
	 */
	const char *macros[PC_STAGE_EOM + 1];
	/*
	 * start-up, once the config is loaded as the daemon's user and before the
	 * socket accepts: metrics registration. Error: the daemon does not start.
	 */
	gboolean (*init)(const PcConfig *config, GError **error);
	/* after init and after every successful reload: process-wide settings */
	void (*reconfigure)(const PcConfig *config);
	/* at exit, after the last connection: frees what init made */
	void (*deinit)(void);
	/*
	 * headers copied into session->headers for the daemon: names
	 * (case-insensitive, NULL-terminated), or keep_all_headers
	 */
	const char *const *keep_headers;
	gboolean keep_all_headers;
	gboolean count_body; /* body_bytes counted without a body hook */
	/*
	 * header values exactly as in the message, with the blanks after the
	 * colon (SMFIP_HDR_LEADSPC, when the MTA offers it): DKIM hashes those
	 * bytes, which both MTAs otherwise strip. session->header_leading_space
	 * says whether the MTA agreed; header edits are then sent with the one
	 * leading space the MTA no longer adds itself
	 */
	gboolean header_leading_space;
	/*
	 * the daemon resolves names (SPF, DKIM, DMARC): the process's resolver
	 * is made from [global] dns* at start, before init, and freed after
	 * deinit (pc_milter_get_dns); a failure to set it up stops the start
	 */
	gboolean uses_dns;
	/*
	 * per-connection state: made when the connection opens
	 * (session->connection_data), freed with the session
	 */
	gpointer (*connection_new)(PcSession *session);
	GDestroyNotify connection_free;
	/*
	 * per-message state: made at MAIL (session->message_data), freed after
	 * EOM, at abort, at close and at the next MAIL
	 */
	gpointer (*message_new)(PcSession *session);
	GDestroyNotify message_free;
	PcMilterHook on_connect;
	PcMilterHook on_helo;
	PcMilterHook on_mail;
	PcMilterHook on_rcpt;
	PcMilterHook on_data;
	PcMilterHook on_header; /* session->current_header */
	PcMilterHook on_eoh;
	PcMilterHook on_body; /* session->current_body, current_body_len: each chunk as sent */
	PcMilterHook on_eom;
	PcMilterHook on_abort; /* no verdict is applied */
	/* the connection ends (also after a refusal); config may be NULL */
	void (*on_close)(PcSession *session, const PcConfig *config);
	/*
	 * optional: the daemon's own control commands (pc-control: bans,
	 * limits); ping and reload are built in. Runs on the control thread.
	 */
	PcControlHandler control;
	/*
	 * a stack (portcullis-stack): the descriptors this process can host
	 * (NULL-terminated), in the order their hooks run, and which of them a
	 * snapshot of the stack's own section names (asked once, at start). A
	 * stack sets no hooks, state, actions or control of its own: each
	 * stage runs its members' hooks in that order, each member with its
	 * own snapshot (loaded with its schema, pinned when the session pins),
	 * its own per-connection and per-message state, its own verdict
	 * metrics and log lines, and stops at the first refusal, as the MTA
	 * stops at the first milter that refuses. What is negotiated is the
	 * union of what the members ask. See docs/DESIGN.md, "Stack".
	 */
	const PcMilterDescriptor *const *stack_members;
	gboolean (*stack_hosts)(const PcConfig *config, const char *name);
	/*
	 * a member's listener roles in a stack (1 << PcListenerRole), 0 = all:
	 * one stack serves every milter list, and a member is asked only on
	 * the listeners whose list the snippets put its own daemon on (verify:
	 * mx); elsewhere it is not asked at all, as if not attached
	 */
	guint stack_roles;
};

/* runs the daemon; returns the process exit status */
int pc_milter_main(const PcMilterDescriptor *descriptor, int argc, char **argv);

/*
 * pc_milter_may_refuse:
 * TRUE when the MTA awaits an answer at stage on this connection (EOM
 * always): a refusal there reaches the client. FALSE where the connection
 * negotiated no reply, which a hook must then not refuse.
 */
gboolean pc_milter_may_refuse(const PcSession *session, PcStage stage);

/*
 * pc_milter_acquire_config:
 * (transfer full) the running configuration snapshot, for code outside a
 * session (the control commands): in a stack, the snapshot of the member
 * whose control command runs (NULL, and a critical, elsewhere in a stack).
 * Release it with pc_config_unref.
 */
PcConfig *pc_milter_acquire_config(void);

/* the process's store (NULL before start-up); thread-safe */
PcStore *pc_milter_get_store(void);

/*
 * pc_milter_get_dns:
 * The process's resolver, for a daemon with uses_dns; NULL otherwise and
 * before start-up. (transfer none) valid until after deinit; thread-safe.
 * Each message carries its own PcDnsBudget (pc_dns_budget_init_from_config
 * with the snapshot the message pinned).
 */
PcDns *pc_milter_get_dns(void);

G_END_DECLS
