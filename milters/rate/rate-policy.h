/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rate-policy: the decisions of portcullis-rate.
 *
 * Limits ([rate.NAME]) count connections, messages, recipients or bytes per
 * key (client address or network, login, sender or its domain, recipient or
 * its domain) with a GCRA bucket per key and window in the store. Each thing
 * is checked where it becomes known and committed only once the mail is
 * accepted, so mail that is refused, by this daemon or before EOM, never
 * counts:
 *   connections  checked and committed at CONNECT (a connection is a
 *                connection); a refusal is answered at MAIL, the first
 *                stage whose reply may carry a text
 *   messages     checked at MAIL (or at the first RCPT of each recipient
 *                key), committed at EOM
 *   recipients   checked at each RCPT with the message's running total,
 *                committed at EOM with the recipients this daemon accepted
 *   bytes        checked at MAIL with SIZE= when given, committed at EOM
 *                with the body size; a message larger than the burst
 *                counts as the burst (it needs a full bucket, then empties it)
 * At EOM every pending amount of the message is committed in one atomic
 * store call; if any limit refuses, none is charged and the message gets
 * the refusal. Greylisting ([greylist], rate-greylist.c) runs at RCPT.
 *
 * Pure decisions on (session, config, store, session->now_us): no logging,
 * no milter protocol.
 *
 * Thread-safety: no state of its own; RateSession belongs to its connection
 * (session->daemon_data), the store is thread-safe.
 */
#pragma once

#include "pc-config.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

typedef enum {
	RATE_KEY_CLIENT_IP,
	RATE_KEY_CLIENT_NET,
	RATE_KEY_LOGIN,
	RATE_KEY_SENDER,
	RATE_KEY_SENDER_DOMAIN,
	RATE_KEY_RECIPIENT,
	RATE_KEY_RECIPIENT_DOMAIN,
} RateKey;

typedef enum {
	RATE_COUNT_CONNECTIONS,
	RATE_COUNT_MESSAGES,
	RATE_COUNT_RECIPIENTS,
	RATE_COUNT_BYTES,
} RateCount;

typedef enum {
	RATE_ACTION_TEMPFAIL,
	RATE_ACTION_REJECT,
	RATE_ACTION_QUARANTINE,
	RATE_ACTION_LAST,
} RateAction;

/* [rate]: the daemon's own section; its keys are the common ones (PcDaemonBase) */
typedef struct {
	int unused; /* C wants a member */
} RateConfig;

/* [rate.NAME]: one limit */
typedef struct {
	int key;      /* RateKey */
	int count;    /* RateCount */
	GArray *rate; /* PcConfigRateWindow, at least one */
	gint64 burst; /* 0: each window's count */
	char **roles; /* listener roles it applies to; empty: all */
	int action;   /* RateAction */
	gint64 ipv4_prefix;
	gint64 ipv6_prefix;
	gboolean exempt_trusted;
} RateLimitConfig;

/* [greylist] */
typedef struct {
	gboolean enabled;
	gint64 delay;	     /* us */
	gint64 retry_window; /* us, from the first attempt */
	gint64 pass_ttl;     /* us */
	gint64 auto_allow;   /* passes that allow a client network; 0: never */
	PcNetList *allow_networks;
	char **allow_domains; /* sender domains never greylisted */
	gint64 ipv4_prefix;
	gint64 ipv6_prefix;
} RateGreylistConfig;

extern const PcConfigSchema rate_config_schema;
extern const PcConfigSchema rate_limit_schema;
extern const PcConfigSchema rate_greylist_schema;
/* NULL-terminated: [rate.NAME] and [greylist] */
extern const PcConfigSchema *const rate_extra_schemas[];

const char *rate_action_to_string(RateAction action);
const char *rate_count_to_string(RateCount count);
/* one window of one limit, for the admin's "limits show|reset VALUE" */
typedef struct {
	char *limit;	      /* NAME of [rate.NAME] */
	const char *key_type; /* "client_ip", ... */
	char *value;	      /* the value as the limit keys it */
	char *store_key;
	gint64 count;
	gint64 period_us;
	double emission_interval_us;
	gint64 burst_tolerance_us;
} RateAdminWindow;

void rate_admin_window_free(gpointer window);

/*
 * rate_admin_windows:
 * The store windows of every [rate.NAME] limit of config (as the main
 * file sets it) for a value an admin typed: an address (client_ip, and
 * client_net as its network), a network ("192.0.2.0/24"), a login, a
 * sender or recipient address, or a domain (sender_domain and
 * recipient_domain). Pure. Returns: (transfer full) RateAdminWindow *.
 */
GPtrArray *rate_admin_windows(const PcConfig *config, const char *value);

/* "client_ip", "sender_domain", ... as the key is written */
const char *rate_key_to_string(RateKey key);

typedef enum {
	RATE_GREY_NONE,	    /* not consulted (disabled, or no recipient) */
	RATE_GREY_EXEMPT,   /* authenticated, trusted or on an allow list */
	RATE_GREY_DEFERRED, /* first attempt, or a retry too early: 451 */
	RATE_GREY_PASSED,   /* a retry after the delay */
	RATE_GREY_KNOWN,    /* a triplet that passed before */
	RATE_GREY_AUTO,	    /* the client network passed auto_allow times */
	RATE_GREY_ERROR,    /* the store failed (on_error decides) */
	RATE_GREY_LAST,
} RateGreyResult;

const char *rate_grey_result_to_string(RateGreyResult result);

/* one amount waiting for the EOM commit */
typedef struct {
	guint limit;		       /* index in pc_config_get_sections(config, "rate") */
	char *value;		       /* the key's value, "192.0.2.0/24" or "a@example.com" */
	const RateLimitConfig *config; /* domain-resolved; valid while the config is pinned */
	gint64 quantity;	       /* 1 message, N recipients, bytes (set at EOM) */
	/*
	 * units the store had free at the last check of this bucket (0:
	 * unknown). A recipient that keeps the total within it is not checked
	 * again: EOM's atomic commit, not the early check, is what enforces the
	 * limit, and it saves a round trip per recipient with the redis store
	 */
	gint64 headroom;
} RatePending;

/* per-connection state (session->connection_data) */
typedef struct {
	/* a connections limit refused it (answered at every MAIL) */
	char *connection_limit;	     /* that limit's name, or NULL */
	int connection_action;	     /* RateAction */
	gint64 connection_retry_at;  /* session->now_us clock */
	char *connection_quarantine; /* a quarantine connections limit was over */
} RateSession;

/* per-message state (session->message_data): made at MAIL, freed after EOM and at abort */
typedef struct {
	GArray *pending;     /* RatePending */
	char *sender;	     /* normalised envelope sender ("" for <>), or NULL */
	char *sender_domain; /* or NULL */
	gboolean sender_parsed;
} RateMessage;

/* (transfer full) for PcMilterDescriptor.connection_new, freed with rate_session_free */
gpointer rate_session_new(PcSession *session);
void rate_session_free(gpointer state);
/* (transfer full) for PcMilterDescriptor.message_new, freed with rate_message_free */
gpointer rate_message_new(PcSession *session);
void rate_message_free(gpointer message);

/* what a decision did, for the metrics (the glue counts, policy does not) */
typedef struct {
	const char *limit; /* the limit that refused or quarantined, or NULL */
	RateAction action; /* what it did */
	RateGreyResult greylist;
} RateOutcome;

/*
 * One function per stage. Each reads session->now_us, session->store and the
 * pinned config, fills verdict (CONTINUE when nothing to say) and outcome.
 */
void rate_policy_connect(PcSession *session, RateSession *state, PcVerdict *verdict,
			 RateOutcome *outcome);
void rate_policy_mail(PcSession *session, RateSession *state, PcVerdict *verdict,
		      RateOutcome *outcome);
void rate_policy_rcpt(PcSession *session, RateSession *state, PcVerdict *verdict,
		      RateOutcome *outcome);
void rate_policy_eom(PcSession *session, RateSession *state, PcVerdict *verdict,
		     RateOutcome *outcome);

/*
 * rate_normalize_address:
 * The lowercased "local@domain" of an envelope path and its domain, "" and
 * NULL for the null path. An unparsable path is kept lowercased as it came
 * (bounded), with no domain. Returns: (transfer full) the address.
 */
char *rate_normalize_address(const char *path, char **domain_out);

/*
 * rate_greylist_rcpt: greylisting of one recipient (rate-greylist.c).
 * recipient and domain as rate_normalize_address gives them.
 */
RateGreyResult rate_greylist_rcpt(PcSession *session, RateMessage *message, const char *recipient,
				  const char *recipient_domain, PcVerdict *verdict);

G_END_DECLS
