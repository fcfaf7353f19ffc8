/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth-policy: the decisions of portcullis-auth.
 *
 * Port roles (from the listener the connection came in on):
 *  - mx: server to server; an authenticated transaction is refused at MAIL
 *    (auth_on_mx = reject, the default);
 *  - submission: TLS before MAIL, then authentication;
 *  - smtps: the same, the TLS being implicit;
 *  - internal: clients in trusted_networks only, no authentication needed.
 * TLS minimums (min_tls_version, min_cipher_bits) apply to the roles listed
 * in require_tls (submission and smtps by default), from the {tls_version}
 * and {cipher_bits} captured at HELO and MAIL.
 *
 * A client that is not logged in may not use an envelope sender that has
 * an owner (some key of the lookup below lists it) on the roles where
 * unauthenticated_owned_senders says reject (submission and smtps by
 * default, where AUTH is required first anyway; mx and internal accept,
 * for forwarders and trusted applications): Postfix's
 * reject_unauthenticated_sender_login_mismatch. The null sender has none.
 *
 * Sender ownership, for every authenticated transaction: the envelope sender
 * at MAIL, and at EOH the From addresses and the Sender header (one From
 * header; several From addresses only with a Sender; all of them owned).
 * Owners come from the sender's domain's [auth] senders, then from
 * sender_login_maps, key by key in Postfix's order: the address, the
 * address without its extension (recipient_delimiter), the bare local part
 * with and without extension (in bare_key_domains only, map only), then
 * "@domain"; the first source that has the key decides. Keys, addresses
 * and logins compare in pc-addr's caseless forms (SMTPUTF8).
 *
 * Compromised-account signals, over a fixed window opened by the first event
 * (signal_window, 1h): distinct client networks (IPv4 /24, IPv6 /64) per
 * login at MAIL, distinct recipients per login at RCPT. signal_action:
 * quarantine (held at EOM), tempfail or reject (at the stage that saw it),
 * or log.
 *
 * Pure decisions on (session, config, store, session->now_us, the pinned
 * map): no logging, no milter protocol, no cache access.
 *
 * Thread-safety: no state of its own; the store is thread-safe and the map
 * immutable.
 */
#pragma once

#include "auth-maps.h"
#include "pc-config.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

typedef enum {
	AUTH_ON_MX_REJECT,
	AUTH_ON_MX_ALLOW,
} AuthOnMx;

/* the choices of min_tls_version, in order */
typedef enum {
	AUTH_TLS_1_0,
	AUTH_TLS_1_1,
	AUTH_TLS_1_2,
	AUTH_TLS_1_3,
} AuthTlsVersion;

typedef enum {
	AUTH_SIGNAL_ACTION_QUARANTINE,
	AUTH_SIGNAL_ACTION_TEMPFAIL,
	AUTH_SIGNAL_ACTION_REJECT,
	AUTH_SIGNAL_ACTION_LOG,
	AUTH_SIGNAL_ACTION_LAST,
} AuthSignalAction;

typedef struct {
	int auth_on_mx;	     /* AuthOnMx */
	char **require_tls;  /* role names */
	int min_tls_version; /* AuthTlsVersion */
	gint64 min_cipher_bits;
	char *sender_login_maps;   /* NULL: none */
	char *recipient_delimiter; /* Postfix's: extension delimiters, NULL: none */
	char *
	    *bare_key_domains; /* where bare map keys apply; empty: automatic, see auth-config.c */
	char *senders;	       /* per domain: "KEY = LOGIN, LOGIN; ..." or NULL */
	gboolean allow_null_sender;
	char **unauthenticated_owned_senders; /* "reject", "accept", "ROLE:VALUE" items */
	gboolean check_header_from;
	gint64 max_networks_per_login;	 /* 0 = off */
	gint64 max_recipients_per_login; /* 0 = off */
	gint64 signal_window;		 /* microseconds */
	int signal_action;		 /* AuthSignalAction */
	/* filled by the schema's check, not keys */
	guint require_tls_roles;	    /* 1 << PcListenerRole */
	guint unauthenticated_reject_roles; /* 1 << PcListenerRole */
	/*
	 * sender_login_maps loaded by the schema's build hook: owned by the
	 * snapshot, released with it (NULL = no map)
	 */
	AuthMap *map;
} AuthConfig;

extern const PcConfigSchema auth_config_schema;

/*
 * why a step was refused; also the values of the metric label. Signals are
 * counted by their own metric, not here.
 */
typedef enum {
	AUTH_REASON_AUTH_ON_MX,
	AUTH_REASON_INTERNAL_UNTRUSTED,
	AUTH_REASON_TLS_REQUIRED,
	AUTH_REASON_TLS_VERSION,
	AUTH_REASON_CIPHER_BITS,
	AUTH_REASON_AUTH_REQUIRED,
	AUTH_REASON_SENDER_SYNTAX,
	AUTH_REASON_NULL_SENDER,
	AUTH_REASON_SENDER_NOT_OWNED,
	AUTH_REASON_SENDER_NOT_LOGGED_IN,
	AUTH_REASON_FROM_COUNT,
	AUTH_REASON_FROM_INVALID,
	AUTH_REASON_FROM_NEEDS_SENDER,
	AUTH_REASON_FROM_NOT_OWNED,
	AUTH_REASON_SENDER_HEADER_INVALID,
	AUTH_REASON_SENDER_HEADER_NOT_OWNED,
	AUTH_REASON_HEADERS_TOO_LARGE,
	AUTH_REASON_MAP_ERROR,
	AUTH_REASON_STORE_ERROR,
	AUTH_REASON_LAST,
	AUTH_REASON_NONE = AUTH_REASON_LAST,
} AuthReason;

const char *auth_reason_to_string(AuthReason reason);

typedef enum {
	AUTH_SIGNAL_NETWORKS,
	AUTH_SIGNAL_RECIPIENTS,
	AUTH_SIGNAL_LAST,
} AuthSignal;

const char *auth_signal_to_string(AuthSignal signal);
const char *auth_signal_action_to_string(AuthSignalAction action);

/* per-message state (session->message_data) */
typedef struct {
	guint pending; /* AuthSignal bits raised in this message, to quarantine at EOM */
	guint raised;  /* AuthSignal bits already logged in this message */
	gint64 counts[AUTH_SIGNAL_LAST]; /* the counts that raised them */
} AuthMessage;

/* (transfer full) for PcMilterDescriptor.message_new; freed with g_free */
gpointer auth_message_new(PcSession *session);

/* what a step did, for the glue's metrics */
typedef struct {
	AuthReason denied; /* AUTH_REASON_NONE when the step was not refused */
	guint signals;	   /* AuthSignal bits that acted (were logged) at this step */
} AuthOutcome;

/*
 * auth_tls_version_rank:
 * 10 * major + minor of a {tls_version} value ("TLSv1" = 10, "TLSv1.2" = 12;
 * "SSLv3" = 3), or -1 when it is not one (the caller treats -1 as below any
 * minimum).
 */
int auth_tls_version_rank(const char *version);
const char *auth_tls_version_to_string(AuthTlsVersion version);

/*
 * auth_sender_owned:
 * Whether login owns local@domain (domain normalised, "" for none): the
 * domain's [auth] senders, then the map, per key in the order address,
 * bare local part (local domains only, map only), "@domain".
 * Returns PC_LOOKUP_FOUND (owned), PC_LOOKUP_NOTFOUND (not owned), or
 * PC_LOOKUP_TEMPFAIL when the configuration names a map that is not pinned.
 */
PcLookupStatus auth_sender_owned(const AuthConfig *auth, const PcConfig *config, const AuthMap *map,
				 const char *local, const char *domain, const char *login);

/*
 * auth_sender_has_owner:
 * Whether local@domain is listed at all, for a client that is not logged in
 * (unauthenticated_owned_senders): the same keys, sources and order as
 * auth_sender_owned, whoever the owners are. Returns PC_LOOKUP_FOUND (some
 * key is listed), PC_LOOKUP_NOTFOUND, or PC_LOOKUP_TEMPFAIL as above.
 */
PcLookupStatus auth_sender_has_owner(const AuthConfig *auth, const PcConfig *config,
				     const AuthMap *map, const char *local, const char *domain);

/* where an owner lookup found its key (auth_sender_explain) */
typedef enum {
	AUTH_OWNER_SOURCE_NONE,	   /* no source lists any of the address's keys */
	AUTH_OWNER_SOURCE_SENDERS, /* [auth] senders of the domain's file (or the main one) */
	AUTH_OWNER_SOURCE_MAP,	   /* sender_login_maps */
} AuthOwnerSource;

typedef struct {
	char *key; /* the key that decided, in its caseless form; NULL: none */
	AuthOwnerSource source;
	guint map_line; /* with AUTH_OWNER_SOURCE_MAP: the map's line */
} AuthOwnerMatch;

void auth_owner_match_clear(AuthOwnerMatch *match);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(AuthOwnerMatch, auth_owner_match_clear)

/*
 * auth_sender_explain:
 * auth_sender_owned's walk, for portcullis explain: the same result (FOUND
 * only when login, which may be NULL, owns the address), and in *match_out
 * the key that decided and where it is written (cleared first).
 */
PcLookupStatus auth_sender_explain(const AuthConfig *auth, const PcConfig *config,
				   const AuthMap *map, const char *local, const char *domain,
				   const char *login, AuthOwnerMatch *match_out);

/*
 * The hooks' decisions. Each reads session->now_us, session->store and the
 * map in state; verdict is left CONTINUE when the step passes.
 * auth_policy_mail also starts the message part of state (signals cleared).
 */
void auth_policy_mail(const AuthConfig *auth, PcSession *session, AuthMessage *state,
		      PcVerdict *verdict, AuthOutcome *outcome_out);
void auth_policy_rcpt(const AuthConfig *auth, PcSession *session, AuthMessage *state,
		      PcVerdict *verdict, AuthOutcome *outcome_out);
void auth_policy_eoh(const AuthConfig *auth, PcSession *session, AuthMessage *state,
		     PcVerdict *verdict, AuthOutcome *outcome_out);
void auth_policy_eom(const AuthConfig *auth, PcSession *session, AuthMessage *state,
		     PcVerdict *verdict, AuthOutcome *outcome_out);

G_END_DECLS
