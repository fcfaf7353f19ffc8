/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-session: what one SMTP connection has told us, filled from the milter
 * macros the same way for every daemon and for Postfix and Sendmail alike.
 *
 * A session has a connection part (client, listener and role, HELO, TLS,
 * login) and a message part (queue id, sender, recipients, headers) that
 * lives in one GStringChunk and is released by pc_session_reset_message()
 * after EOM, at abort, at close and, defensively, at MAIL.
 *
 * Macro quirks handled here, once:
 *  - Postfix never sends {tls_version}/{cipher} at EOH/EOM (they come from
 *    cleanup), so TLS is captured at HELO and MAIL and kept.
 *  - Postfix's {daemon_name} at EOM is cleanup's, not the listener's, so the
 *    listener is resolved at CONNECT (and at MAIL if {daemon_port} arrives
 *    only then) and never changed by later stages.
 *  - A value is never cleared by a stage that does not send it.
 *  - Values longer than PC_SESSION_MAX_MACRO are dropped and recorded in
 *    macro_dropped: the daemons then take the strictest reading (not
 *    authenticated, unknown listener = mx).
 *
 * Thread-safety: a PcSession belongs to its milter connection and has no
 * locks; only that connection's stages, which run one at a time on the
 * connection's thread, may touch it.
 */
#pragma once

#include <stdatomic.h>

#include <glib.h>

#include "pc-addr.h"
#include "pc-config.h"
#include "pc-net.h"
#include "pc-store.h"

G_BEGIN_DECLS

#define PC_SESSION_MAX_MACRO 512
/*
 * recipients kept per message: Postfix's smtpd_recipient_limit default. A
 * daemon that answers RCPT refuses the ones past it ("452 4.5.3 Too many
 * recipients", RFC 5321 4.5.3.1.10); one that does not sees
 * recipients_overflow set and the first PC_SESSION_MAX_RECIPIENTS only.
 */
#define PC_SESSION_MAX_RECIPIENTS 1000
/* headers kept per message: Postfix's header_size_limit is 100 KiB per header */
#define PC_SESSION_MAX_HEADERS 1000
#define PC_SESSION_MAX_HEADER_BYTES (1024 * 1024)
/*
 * distinct header names counted per message (every header is counted, kept
 * or not, so that an edit can name its instance); past this a new name gets
 * instance 0 ("unknown") and can be neither changed nor deleted
 */
#define PC_SESSION_MAX_HEADER_NAMES 4096

/* one header as the MTA passed it (name without ':', value unfolded by the MTA) */
typedef struct {
	const char *name;  /* in the message chunk */
	const char *value; /* in the message chunk */
	guint instance;	   /* 1 for the first header of this name in the message; 0 unknown */
} PcHeader;

typedef enum {
	PC_STAGE_CONNECT,
	PC_STAGE_HELO,
	PC_STAGE_MAIL,
	PC_STAGE_RCPT,
	PC_STAGE_DATA,
	PC_STAGE_HEADER,
	PC_STAGE_EOH,
	PC_STAGE_BODY,
	PC_STAGE_EOM,
	PC_STAGE_ABORT,
	PC_STAGE_CLOSE,
} PcStage;

const char *pc_stage_to_string(PcStage stage);

/* returns the macro's value or NULL; the string stays valid until the next call */
typedef const char *(*PcMacroLookup)(gpointer lookup_data, const char *name);

typedef struct {
	/* connection */
	PcConfig *config; /* pinned: see pc_session_pin_config() */
	PcStore *store;	  /* borrowed from the process */
	gint64 now_us;	  /* monotonic time of the current callback (injected in tests) */
	gboolean client_known;
	PcNetAddress client;
	char client_ip[PC_NET_ADDRESS_STRLEN]; /* "" when unknown */
	char *client_name;
	char *helo;
	char *daemon_name;
	gint64 daemon_port;
	char *daemon_addr;
	const PcListener *listener; /* in config; NULL = unknown (treated as mx) */
	PcListenerRole role;
	gboolean trusted; /* client in trusted_networks of the pinned config */
	char *tls_version;
	char *cipher;
	gint64 cipher_bits;
	char *auth_login;
	char *auth_type;
	const char *macro_dropped; /* static name of the last over-long macro, or NULL */
	guint n_transactions;
	guint32 milter_no_reply; /* PcStageMask negotiated as no-reply (pc-milter only) */
	/*
	 * SMFIP_HDR_LEADSPC was negotiated (pc-milter only writes it): header
	 * values keep the blanks after the colon; without it the MTA stripped them
	 */
	gboolean header_leading_space;
	/* pc-milter's watchdog (milter_timeout): in a callback, and since when idle */
	atomic_bool watch_busy;
	atomic_int_fast64_t watch_idle_since_us;
	/* the daemon's own per-connection state (PcMilterDescriptor.connection_new) */
	gpointer connection_data;
	GDestroyNotify connection_data_free;

	/* message: everything below lives in chunk and is reset per message */
	gboolean in_message; /* MAIL seen since the last reset: a transaction is open */
	GStringChunk *chunk;
	const char *queue_id;	      /* NULL until the MTA tells it */
	const char *sender;	      /* MAIL argument as received */
	const char *current_rcpt;     /* the RCPT argument being decided */
	GPtrArray *recipients;	      /* accepted RCPT arguments (const char *, in chunk) */
	gboolean recipients_overflow; /* more than PC_SESSION_MAX_RECIPIENTS were offered */
	GArray *headers;	      /* PcHeader kept for the daemon (see pc_session_add_header) */
	GHashTable *header_counts;    /* lowercased name (in chunk) -> headers seen of that name */
	gsize header_bytes;	      /* bytes of all headers seen, kept or not */
	gboolean headers_overflow;    /* more than the limits above: not all were kept */
	const PcHeader *current_header; /* the header being decided (header hook): borrowed */
	PcHeader header_now;
	gint64 body_bytes;	    /* body bytes seen so far */
	gint64 mail_size;	    /* SIZE= of MAIL (RFC 1870), -1 when not given */
	gboolean smtputf8;	    /* MAIL carried SMTPUTF8 (RFC 6531): replies may be UTF-8 */
	const guchar *current_body; /* the chunk being passed (body hook), not owned */
	gsize current_body_len;
	/* the daemon's own per-message state (PcMilterDescriptor.message_new) */
	gpointer message_data;
	GDestroyNotify message_data_free;
	/* header edits asked for before EOM, applied with EOM's (PcHeaderEdit *) */
	GPtrArray *header_edits;
} PcSession;

/* (transfer full) a session for one connection; now_us stamps it */
PcSession *pc_session_new(PcStore *store, gint64 now_us);
void pc_session_free(PcSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcSession, pc_session_free)

/*
 * pc_session_pin_config:
 * Takes the current snapshot from slot (the only place a session takes a
 * config reference), dropping the one it held, and re-derives what depends
 * on it (listener, role, trusted). Called at CONNECT and at MAIL, so one
 * message sees one configuration and a long session picks up a reload at its
 * next message.
 */
void pc_session_pin_config(PcSession *session, PcConfigSlot *slot);
/* drops the reference (at close); the only place one is dropped */
void pc_session_unpin_config(PcSession *session);
/*
 * pc_session_resolve_listener:
 * listener, role and trusted again from the session's config, daemon name,
 * port and client (what pinning and the CONNECT macros do; pc-milter's
 * stack runs it for each member's snapshot)
 */
void pc_session_resolve_listener(PcSession *session);

/*
 * pc_session_capture:
 * Copies the macros this stage may carry (see the header comment) from
 * lookup into the session.
 */
void pc_session_capture(PcSession *session, PcStage stage, PcMacroLookup lookup,
			gpointer lookup_data);

/*
 * pc_session_set_client:
 * From xxfi_connect's hostname and address; address may be NULL (unknown).
 */
void pc_session_set_client(PcSession *session, const char *hostname, const PcNetAddress *address);
void pc_session_set_helo(PcSession *session, const char *helo);
/* copies argv[0] of MAIL/RCPT into the message chunk */
void pc_session_set_sender(PcSession *session, const char *sender);
void pc_session_set_current_rcpt(PcSession *session, const char *rcpt);

/*
 * pc_session_set_mail_parameters:
 * The ESMTP parameters of MAIL (argv[1..] of xxfi_envfrom, NULL-terminated,
 * or NULL): both MTAs pass them as the client sent them. SIZE= is kept
 * (mail_size; a malformed value is ignored) and SMTPUTF8 (RFC 6531, no
 * value; any case) sets smtputf8 for the transaction.
 */
void pc_session_set_mail_parameters(PcSession *session, const char *const *parameters);

/*
 * pc_session_accept_current_rcpt:
 * Adds current_rcpt to recipients. Returns FALSE, and sets
 * recipients_overflow, when PC_SESSION_MAX_RECIPIENTS are already kept.
 */
gboolean pc_session_accept_current_rcpt(PcSession *session);

/*
 * pc_session_add_header:
 * Counts the header by name (every header: its instance number is what a
 * change or delete names to the MTA), records its size and, when keep is
 * TRUE, copies it into the message part (bounded by
 * PC_SESSION_MAX_HEADERS/_BYTES; past them headers_overflow is set and the
 * header is not kept). Sets current_header either way, for the daemon's
 * header hook: it borrows name and value, valid only during that callback.
 * Returns FALSE when over the limits.
 */
gboolean pc_session_add_header(PcSession *session, const char *name, const char *value,
			       gboolean keep);

/* (transfer none) the first kept header called name (case-insensitive), or NULL */
const PcHeader *pc_session_find_header(const PcSession *session, const char *name);
/* number of headers called name seen so far in the message, kept or not */
guint pc_session_count_headers(const PcSession *session, const char *name);

/* why a message has no single From address (pc_session_single_from) */
typedef enum {
	PC_FROM_OK,
	PC_FROM_NONE,	   /* no From header */
	PC_FROM_SEVERAL,   /* more than one From header */
	PC_FROM_NOT_KEPT,  /* one, but past the session's header limits: not kept */
	PC_FROM_INVALID,   /* it does not parse, holds no address, or a group */
	PC_FROM_ADDRESSES, /* it holds more than one address */
} PcFromStatus;

/*
 * pc_session_single_from:
 * The one address of the message's one From header (the daemon keeps
 * "From": PcMilterDescriptor.keep_headers), parsed as pc-addr parses
 * header lists. Returns: (transfer full) the address, or NULL with why in
 * *status_out (PC_FROM_OK with an address).
 */
PcAddress *pc_session_single_from(const PcSession *session, PcFromStatus *status_out);

/* TRUE when the client authenticated ({auth_authen} seen) */
gboolean pc_session_is_authenticated(const PcSession *session);

/*
 * pc_session_set_message_data:
 * The daemon's per-message state, freed with free_func by the next
 * pc_session_reset_message() (after EOM, at abort, at close, at MAIL).
 */
void pc_session_set_message_data(PcSession *session, gpointer data, GDestroyNotify free_func);

/* ends the message part (and frees message_data); the connection part stays */
void pc_session_reset_message(PcSession *session);

/*
 * "NOQUEUE" until a queue id is known. The MTA's value is kept only when it
 * is 1..64 letters and digits (Postfix and Sendmail ids are), so it can start
 * a log line as it is; anything else is ignored.
 */
const char *pc_session_queue_id(const PcSession *session);

G_END_DECLS
