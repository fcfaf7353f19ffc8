/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rate-greylist: greylisting by triplet (client network, envelope sender,
 * recipient), state in the store:
 *   grey:t:HASH  0 while the triplet waits (lives retry_window from the first
 *                attempt), 1 once it passed (lives pass_ttl, renewed on use)
 *   grey:n:NET   passes of the client network; at auto_allow it is allowed
 *                for pass_ttl
 * How long a triplet has waited is retry_window minus the key's remaining
 * lifetime, so no timestamp is stored: with the redis store the lifetime is
 * the server's, the one clock every MX host shares. The triplet is hashed
 * (SHA-256) so that keys have a bounded length and Redis holds no addresses.
 */
#include <string.h>

#include "pc-gcra.h"
#include "rate-policy.h"

#define GREY_PENDING 0
#define GREY_PASSED 1

static const char *const grey_result_names[] = {
    [RATE_GREY_NONE] = "none",	   [RATE_GREY_EXEMPT] = "exempt", [RATE_GREY_DEFERRED] = "deferred",
    [RATE_GREY_PASSED] = "passed", [RATE_GREY_KNOWN] = "known",	  [RATE_GREY_AUTO] = "auto_allowed",
    [RATE_GREY_ERROR] = "error",
};

const char *
rate_grey_result_to_string(RateGreyResult result)
{
	if ((guint)result < G_N_ELEMENTS(grey_result_names))
		return grey_result_names[result];
	return "unknown";
}

static gboolean
grey_domain_allowed(const RateGreylistConfig *grey, const char *domain)
{
	if (domain == NULL)
		return FALSE;
	for (gsize i = 0; grey->allow_domains[i] != NULL; i++) {
		const char *entry = grey->allow_domains[i];

		if (strcmp(entry, domain) == 0)
			return TRUE;
		/* ".example.com" covers a.example.com, not example.com */
		if (entry[0] == '.' && g_str_has_suffix(domain, entry))
			return TRUE;
	}
	return FALSE;
}

static gboolean
grey_exempt(const RateGreylistConfig *grey, PcSession *session, RateMessage *state)
{
	if (session->trusted || pc_session_is_authenticated(session) || !session->client_known)
		return TRUE;
	if (pc_net_list_contains(grey->allow_networks, &session->client))
		return TRUE;
	if (!state->sender_parsed) {
		state->sender = rate_normalize_address(session->sender, &state->sender_domain);
		state->sender_parsed = TRUE;
	}
	return grey_domain_allowed(grey, state->sender_domain);
}

static RateGreyResult
grey_store_failed(PcSession *session, PcVerdict *verdict)
{
	PcOnError on_error = pc_config_get_daemon(session->config)->on_error;

	pc_verdict_lookup_failed(verdict, on_error,
				 on_error == PC_ON_ERROR_ACCEPT ? "greylist-store-error"
								: "store-error");
	return RATE_GREY_ERROR;
}

static void
grey_defer(PcVerdict *verdict, gint64 wait_us)
{
	pc_verdict_set(verdict, PC_ACTION_TEMPFAIL, "451", "4.7.1", "greylisted",
		       "Greylisted, try again in %" G_GINT64_FORMAT " seconds",
		       pc_gcra_retry_seconds(wait_us));
}

/* a pass of the client network; at auto_allow it is allowed for pass_ttl */
static void
grey_count_pass(const RateGreylistConfig *grey, PcSession *session, const char *net_key)
{
	gint64 passes = 0;

	if (grey->auto_allow == 0 || pc_store_incr(session->store, net_key, 1, grey->pass_ttl,
						   session->now_us, &passes) != PC_LOOKUP_FOUND)
		return;
	if (passes == grey->auto_allow)
		pc_store_set(session->store, net_key, passes, grey->pass_ttl, session->now_us);
}

RateGreyResult
rate_greylist_rcpt(PcSession *session, RateMessage *state, const char *recipient,
		   const char *recipient_domain, PcVerdict *verdict)
{
	const RateGreylistConfig *grey =
	    pc_config_get_domain_group(session->config, "greylist", recipient_domain);
	char network[PC_NET_ADDRESS_STRLEN];
	g_autofree char *net_key = NULL;
	g_autofree char *triplet = NULL;
	g_autofree char *digest = NULL;
	g_autofree char *triplet_key = NULL;
	gint64 value = 0;
	gint64 ttl = 0;
	PcLookupStatus status;

	if (grey == NULL || !grey->enabled || recipient == NULL || recipient[0] == '\0')
		return RATE_GREY_NONE;
	if (grey_exempt(grey, session, state))
		return RATE_GREY_EXEMPT;
	pc_net_address_network_key(&session->client, (guint)grey->ipv4_prefix,
				   (guint)grey->ipv6_prefix, network, sizeof(network));
	net_key = g_strconcat("grey:n:", network, NULL);
	if (grey->auto_allow > 0) {
		status = pc_store_get(session->store, net_key, session->now_us, &value, NULL);
		if (status == PC_LOOKUP_FOUND && value >= grey->auto_allow)
			return RATE_GREY_AUTO;
		if (status != PC_LOOKUP_FOUND && status != PC_LOOKUP_NOTFOUND)
			return grey_store_failed(session, verdict);
	}
	triplet =
	    g_strjoin("\n", network, state->sender != NULL ? state->sender : "", recipient, NULL);
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, triplet, -1);
	triplet_key = g_strconcat("grey:t:", digest, NULL);
	status = pc_store_get(session->store, triplet_key, session->now_us, &value, &ttl);
	if (status == PC_LOOKUP_NOTFOUND) {
		/* the first attempt: the retry window opens now */
		if (pc_store_set(session->store, triplet_key, GREY_PENDING, grey->retry_window,
				 session->now_us) != PC_LOOKUP_FOUND)
			return grey_store_failed(session, verdict);
		grey_defer(verdict, grey->delay);
		return RATE_GREY_DEFERRED;
	}
	if (status != PC_LOOKUP_FOUND)
		return grey_store_failed(session, verdict);
	if (value == GREY_PASSED) {
		pc_store_set(session->store, triplet_key, GREY_PASSED, grey->pass_ttl,
			     session->now_us);
		return RATE_GREY_KNOWN;
	}
	/* waited so far: the window's length minus what is left of it */
	if (ttl >= 0 && grey->retry_window - ttl < grey->delay) {
		grey_defer(verdict, grey->delay - (grey->retry_window - ttl));
		return RATE_GREY_DEFERRED;
	}
	if (pc_store_set(session->store, triplet_key, GREY_PASSED, grey->pass_ttl,
			 session->now_us) != PC_LOOKUP_FOUND)
		return grey_store_failed(session, verdict);
	grey_count_pass(grey, session, net_key);
	return RATE_GREY_PASSED;
}
