/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relay-policy: classification of recipients and probe counting. The order
 * of checks in relay_classify_recipient matters: routing tricks are named
 * before the domain is looked at, so "user%outside.test@example.com" is
 * reported as a percent hack even though example.com is local.
 */
#include "relay-policy.h"

#include <string.h>

#include "pc-addr.h"

static const char *const reason_names[] = {
    [RELAY_REASON_FOREIGN_DOMAIN] = "foreign-domain",
    [RELAY_REASON_PERCENT_HACK] = "percent-hack",
    [RELAY_REASON_BANG_PATH] = "bang-path",
    [RELAY_REASON_SOURCE_ROUTE] = "source-route",
    [RELAY_REASON_LOCAL_AT] = "local-at",
    [RELAY_REASON_IP_LITERAL] = "ip-literal",
    [RELAY_REASON_SYNTAX] = "syntax",
    [RELAY_REASON_TOO_LONG] = "too-long",
    [RELAY_REASON_BANNED] = "banned",
};

const char *
relay_reason_to_string(RelayReason reason)
{
	if ((guint)reason < G_N_ELEMENTS(reason_names))
		return reason_names[reason];
	return "none";
}

/* an IP literal is ours when listed as a local domain or when it is the address the client reached
 */
static gboolean
ip_literal_is_ours(const PcConfig *config, const PcSession *session, const char *domain)
{
	PcNetAddress literal;
	PcNetAddress daemon;

	if (pc_config_is_local_domain(config, domain))
		return TRUE;
	if (session->daemon_addr == NULL || !pc_net_address_parse(domain, &literal) ||
	    !pc_net_address_parse(session->daemon_addr, &daemon))
		return FALSE;
	return memcmp(&literal, &daemon, sizeof(literal)) == 0;
}

RelayReason
relay_classify_recipient(const PcConfig *config, const PcSession *session, const char *rcpt)
{
	g_autoptr(PcAddress) address = NULL;
	g_autoptr(GError) error = NULL;
	gsize len;

	if (rcpt == NULL)
		return RELAY_REASON_SYNTAX;
	/* the MTA's argument is a C string; anything past the limit is too long, not truncated */
	len = strnlen(rcpt, PC_ADDR_MAX_PATH * 4);
	if (!pc_addr_parse_path(rcpt, len, &address, &error))
		return g_error_matches(error, PC_ADDR_ERROR, PC_ADDR_ERROR_TOO_LONG)
			   ? RELAY_REASON_TOO_LONG
			   : RELAY_REASON_SYNTAX;
	if (address->flags & PC_ADDR_FLAG_NULL)
		return RELAY_REASON_SYNTAX; /* "<>" is no recipient */
	if (address->flags & PC_ADDR_FLAG_SOURCE_ROUTE)
		return RELAY_REASON_SOURCE_ROUTE;
	if (address->flags & PC_ADDR_FLAG_PERCENT)
		return RELAY_REASON_PERCENT_HACK;
	if (address->flags & PC_ADDR_FLAG_BANG)
		return RELAY_REASON_BANG_PATH;
	if (address->flags & PC_ADDR_FLAG_LOCAL_AT)
		return RELAY_REASON_LOCAL_AT;
	/* "postmaster" and other bare local parts: the MTA qualifies them with its own domain */
	if (address->flags & PC_ADDR_FLAG_NO_DOMAIN)
		return RELAY_REASON_NONE;
	/*
	 * an IPv4-mapped IPv6 literal of our own address, or one with leading
	 * zeros, is local to Postfix but goes to Sendmail's smart host: ours
	 * only in forms every MTA treats as local, so never
	 */
	if (address->flags & (PC_ADDR_FLAG_V4_MAPPED | PC_ADDR_FLAG_LEADING_ZERO))
		return RELAY_REASON_IP_LITERAL;
	if (address->flags & PC_ADDR_FLAG_IP_LITERAL)
		return ip_literal_is_ours(config, session, address->domain)
			   ? RELAY_REASON_NONE
			   : RELAY_REASON_IP_LITERAL;
	if (!pc_config_is_local_domain(config, address->domain))
		return RELAY_REASON_FOREIGN_DOMAIN;
	return RELAY_REASON_NONE;
}

gboolean
relay_client_keys(const PcSession *session, RelaySession *state)
{
	char network[PC_NET_ADDRESS_STRLEN];

	if (!session->client_known)
		return FALSE;
	/* one IPv4 address, or the /64 an IPv6 host can pick any address from */
	pc_net_address_network_key(&session->client, 32, 64, network, sizeof(network));
	g_snprintf(state->ban_key, sizeof(state->ban_key), "relay:ban:%s", network);
	g_snprintf(state->probe_key, sizeof(state->probe_key), "relay:probe:%s", network);
	return TRUE;
}

static void
set_banned(PcSession *session, PcVerdict *verdict)
{
	pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.1",
		       relay_reason_to_string(RELAY_REASON_BANNED),
		       "Client host [%s] blocked: too many relay attempts", session->client_ip);
}

void
relay_policy_connect(const RelayConfig *relay, PcSession *session, RelaySession *state,
		     PcVerdict *verdict)
{
	gint64 value = 0;
	PcLookupStatus status;

	if (relay->probe_limit == 0 || session->trusted || !relay_client_keys(session, state))
		return;
	status = pc_store_get(session->store, state->ban_key, session->now_us, &value, NULL);
	if (status == PC_LOOKUP_FOUND) {
		state->banned = TRUE;
		set_banned(session, verdict);
	} else if (status != PC_LOOKUP_NOTFOUND) {
		pc_verdict_lookup_failed(verdict, pc_config_get_daemon(session->config)->on_error,
					 "store-error");
	}
}

/* counts one relay attempt; TRUE when it reached the limit and the client is now banned */
static gboolean
count_probe(const RelayConfig *relay, PcSession *session, RelaySession *state, PcVerdict *verdict)
{
	gint64 count = 0;

	if (relay->probe_limit == 0 || !relay_client_keys(session, state))
		return FALSE;
	if (pc_store_incr(session->store, state->probe_key, 1, relay->probe_window, session->now_us,
			  &count) != PC_LOOKUP_FOUND) {
		/* the refusal stands; only the counting failed */
		pc_verdict_add_field(verdict, "probe_count", "unknown");
		return FALSE;
	}
	if (count < relay->probe_limit)
		return FALSE;
	if (pc_store_set(session->store, state->ban_key, count, relay->ban_time, session->now_us) !=
	    PC_LOOKUP_FOUND)
		return FALSE;
	pc_store_delete(session->store, state->probe_key);
	state->banned = TRUE;
	return TRUE;
}

void
relay_policy_rcpt(const RelayConfig *relay, PcSession *session, RelaySession *state,
		  PcVerdict *verdict, RelayReason *denied_out, gboolean *banned_now_out)
{
	const char *rcpt = session->current_rcpt;
	RelayReason reason;

	*denied_out = RELAY_REASON_NONE;
	*banned_now_out = FALSE;
	if (session->trusted || pc_session_is_authenticated(session))
		return;
	if (state->banned) {
		set_banned(session, verdict);
		*denied_out = RELAY_REASON_BANNED;
		return;
	}
	reason = relay_classify_recipient(session->config, session, rcpt);
	switch (reason) {
	case RELAY_REASON_NONE:
		return;
	case RELAY_REASON_SYNTAX:
		pc_verdict_set(verdict, PC_ACTION_REJECT, "501", "5.1.3",
			       relay_reason_to_string(reason), "Bad recipient address syntax");
		break;
	case RELAY_REASON_TOO_LONG:
		pc_verdict_set(verdict, PC_ACTION_REJECT, "501", "5.1.3",
			       relay_reason_to_string(reason), "Recipient address too long");
		break;
	default: {
		gboolean bracketed = rcpt[0] == '<';

		pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.1",
			       relay_reason_to_string(reason), "%s%s%s: Relay access denied",
			       bracketed ? "" : "<", rcpt, bracketed ? "" : ">");
		*banned_now_out = count_probe(relay, session, state, verdict);
		break;
	}
	}
	*denied_out = reason;
}
