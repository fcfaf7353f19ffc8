/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relay-policy: the open-relay decisions of portcullis-relay.
 *
 * A recipient is a relay attempt when its domain is not local (local_domains,
 * a ".parent" entry, or a domains.d file) or when its address names another
 * hop by any of the old tricks (percent hack, bang path, source route, an '@'
 * in the local part), whatever domain follows the last '@'. Trusted networks
 * and authenticated clients may relay. Relay attempts are counted per client
 * (IPv4 address, IPv6 /64) in the store; probe_limit of them within
 * probe_window bans the client for ban_time, for the rest of the connection
 * and at CONNECT afterwards.
 *
 * Pure decisions on (session, config, store, session->now_us): no logging,
 * no milter protocol.
 *
 * Thread-safety: no state of its own; the store is thread-safe.
 */
#pragma once

#include "pc-config.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

typedef struct {
	gint64 probe_limit;  /* 0 = never ban */
	gint64 probe_window; /* microseconds */
	gint64 ban_time;     /* microseconds */
} RelayConfig;

extern const PcConfigSchema relay_config_schema;

/* reason tags, also the values of the metric label */
typedef enum {
	RELAY_REASON_FOREIGN_DOMAIN,
	RELAY_REASON_PERCENT_HACK,
	RELAY_REASON_BANG_PATH,
	RELAY_REASON_SOURCE_ROUTE,
	RELAY_REASON_LOCAL_AT,
	RELAY_REASON_IP_LITERAL,
	RELAY_REASON_SYNTAX,
	RELAY_REASON_TOO_LONG,
	RELAY_REASON_BANNED,
	RELAY_REASON_LAST,
	RELAY_REASON_NONE = RELAY_REASON_LAST,
} RelayReason;

const char *relay_reason_to_string(RelayReason reason);

/*
 * relay_classify_recipient:
 * RELAY_REASON_NONE when rcpt (the RCPT argument as the MTA passed it) is
 * ours to receive; otherwise why it is a relay attempt or unparsable.
 * Ignores trust and authentication.
 */
RelayReason relay_classify_recipient(const PcConfig *config, const PcSession *session,
				     const char *rcpt);

/* per-connection state, kept in session->daemon_data */
typedef struct {
	gboolean banned;
	char ban_key[PC_NET_ADDRESS_STRLEN + 16];
	char probe_key[PC_NET_ADDRESS_STRLEN + 16];
} RelaySession;

/* the client's ban and probe keys ("relay:ban:192.0.2.1/32"); FALSE when unknown */
gboolean relay_client_keys(const PcSession *session, RelaySession *state);

/*
 * relay_policy_connect: refuses a banned client.
 * relay_policy_rcpt: refuses relay attempts, counts them, bans at the limit.
 * Both read session->now_us and session->store; state is the connection's.
 * *denied_out (rcpt) is the reason counted, RELAY_REASON_NONE when none.
 */
void relay_policy_connect(const RelayConfig *relay, PcSession *session, RelaySession *state,
			  PcVerdict *verdict);
void relay_policy_rcpt(const RelayConfig *relay, PcSession *session, RelaySession *state,
		       PcVerdict *verdict, RelayReason *denied_out, gboolean *banned_now_out);

G_END_DECLS
