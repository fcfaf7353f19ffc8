/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rate-config: the sections of portcullis-rate: [rate] (the daemon), one
 * [rate.NAME] per limit, and [greylist]. Per domain (domains.d/DOMAIN.conf)
 * a limit's rate and burst may be overridden for the logins, senders or
 * recipients of that domain, and greylisting switched on or off for its
 * recipients.
 */
#include <string.h>

#include "rate-policy.h"

static const char *const key_choices[] = {
    "client_ip", "client_net",	     "login", "sender", "sender_domain",
    "recipient", "recipient_domain", NULL};
static const char *const count_choices[] = {"connections", "messages", "recipients", "bytes", NULL};
static const char *const action_choices[] = {"tempfail", "reject", "quarantine", NULL};

const char *
rate_action_to_string(RateAction action)
{
	if ((guint)action < RATE_ACTION_LAST)
		return action_choices[action];
	return "unknown";
}

const char *
rate_key_to_string(RateKey key)
{
	if ((guint)key <= RATE_KEY_RECIPIENT_DOMAIN)
		return key_choices[key];
	return "unknown";
}

const char *
rate_count_to_string(RateCount count)
{
	if ((guint)count <= RATE_COUNT_BYTES)
		return count_choices[count];
	return "unknown";
}

/*
 * [rate] holds only the keys every daemon has (socket, pid_file, statistics,
 * on_error); on_error defaults to accept: when the shared store is
 * unreachable, counting goes on in memory meanwhile (a rate limit is a
 * brake, not a gate worth refusing all mail for)
 */
const PcConfigSchema rate_config_schema = {
    .name = "rate",
    .keys = NULL,
    .n_keys = 0,
    .size = sizeof(RateConfig),
    .on_error_default = "accept",
};

static const PcConfigKey limit_keys[] = {
    {"key", PC_CONFIG_ENUM, "client_ip", 0, 0, key_choices, G_STRUCT_OFFSET(RateLimitConfig, key),
     0,
     "client_ip | client_net | login | sender | sender_domain | recipient | "
     "recipient_domain"},
    {"count", PC_CONFIG_ENUM, "messages", 0, 0, count_choices,
     G_STRUCT_OFFSET(RateLimitConfig, count), 0, "connections | messages | recipients | bytes"},
    {"rate", PC_CONFIG_RATE, NULL, 1, G_GINT64_CONSTANT(1000000000000), NULL,
     G_STRUCT_OFFSET(RateLimitConfig, rate), PC_CONFIG_KEY_PER_DOMAIN,
     "N/PERIOD windows, all enforced: 60/1m; 500/1h; 2000/1d"},
    {"burst", PC_CONFIG_INT, "0", 0, G_GINT64_CONSTANT(1000000000000), NULL,
     G_STRUCT_OFFSET(RateLimitConfig, burst), PC_CONFIG_KEY_PER_DOMAIN,
     "how many may pass at once in every window; 0 = each window's own count"},
    {"roles", PC_CONFIG_STRING_LIST, "", 0, 0, NULL, G_STRUCT_OFFSET(RateLimitConfig, roles), 0,
     "listener roles the limit applies to (mx submission smtps internal); empty = all"},
    {"action", PC_CONFIG_ENUM, "tempfail", 0, 0, action_choices,
     G_STRUCT_OFFSET(RateLimitConfig, action), 0,
     "over the limit: tempfail (451) | reject (550) | quarantine (hold, accept)"},
    {"ipv4_prefix", PC_CONFIG_INT, "24", 0, 32, NULL, G_STRUCT_OFFSET(RateLimitConfig, ipv4_prefix),
     0, "client_net: IPv4 prefix length"},
    {"ipv6_prefix", PC_CONFIG_INT, "64", 0, 128, NULL,
     G_STRUCT_OFFSET(RateLimitConfig, ipv6_prefix), 0, "client_net: IPv6 prefix length"},
    {"exempt_trusted", PC_CONFIG_BOOL, "yes", 0, 0, NULL,
     G_STRUCT_OFFSET(RateLimitConfig, exempt_trusted), 0,
     "clients in trusted_networks are not counted"},
};

static gboolean
limit_check(gconstpointer data, GError **error)
{
	const RateLimitConfig *limit = data;

	if (limit->rate == NULL) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "rate: a limit needs a rate (N/PERIOD, e.g. 100/1h)");
		return FALSE;
	}
	if (limit->count == RATE_COUNT_CONNECTIONS && limit->key != RATE_KEY_CLIENT_IP &&
	    limit->key != RATE_KEY_CLIENT_NET) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "count = connections needs key = client_ip or client_net (the "
			    "others are not known when a connection opens)");
		return FALSE;
	}
	for (gsize i = 0; limit->roles[i] != NULL; i++) {
		gboolean known = FALSE;

		for (int role = PC_ROLE_MX; role <= PC_ROLE_INTERNAL; role++)
			known |= g_ascii_strcasecmp(limit->roles[i],
						    pc_listener_role_to_string(role)) == 0;
		if (!known) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "roles: '%s' is not one of: mx | submission | smtps | internal",
				    limit->roles[i]);
			return FALSE;
		}
	}
	return TRUE;
}

const PcConfigSchema rate_limit_schema = {
    .name = "rate",
    .keys = limit_keys,
    .n_keys = G_N_ELEMENTS(limit_keys),
    .size = sizeof(RateLimitConfig),
    .check = limit_check,
    .multi = TRUE,
};

static const PcConfigKey greylist_keys[] = {
    {"enabled", PC_CONFIG_BOOL, "no", 0, 0, NULL, G_STRUCT_OFFSET(RateGreylistConfig, enabled),
     PC_CONFIG_KEY_PER_DOMAIN,
     "greylist unauthenticated, untrusted clients (per domain: for its recipients)"},
    {"delay", PC_CONFIG_DURATION, "5m", PC_USEC(1), PC_USEC(86400), NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, delay), 0,
     "how long a new (client network, sender, recipient) is deferred"},
    {"retry_window", PC_CONFIG_DURATION, "4h", PC_USEC(2), PC_USEC(30 * 86400), NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, retry_window), 0,
     "how long after the first attempt a retry is accepted"},
    {"pass_ttl", PC_CONFIG_DURATION, "35d", PC_USEC(60), PC_USEC(366 * 86400), NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, pass_ttl), 0,
     "how long a passed triplet, or an allowed client network, is remembered"},
    {"auto_allow", PC_CONFIG_INT, "5", 0, 1000000, NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, auto_allow), 0,
     "passes after which a client network is no longer greylisted; 0 = never"},
    {"allow_networks", PC_CONFIG_NETWORKS, "", 0, 0, NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, allow_networks), 0, "clients never greylisted"},
    {"allow_domains", PC_CONFIG_DOMAINS, "", 0, 0, NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, allow_domains), 0,
     "sender domains never greylisted (\".example.com\": its subdomains)"},
    {"ipv4_prefix", PC_CONFIG_INT, "24", 0, 32, NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, ipv4_prefix), 0,
     "the client network of a triplet: IPv4 prefix length"},
    {"ipv6_prefix", PC_CONFIG_INT, "64", 0, 128, NULL,
     G_STRUCT_OFFSET(RateGreylistConfig, ipv6_prefix), 0,
     "the client network of a triplet: IPv6 prefix length"},
};

static gboolean
greylist_check(gconstpointer data, GError **error)
{
	const RateGreylistConfig *grey = data;

	if (grey->retry_window <= grey->delay) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "retry_window must be longer than delay");
		return FALSE;
	}
	return TRUE;
}

const PcConfigSchema rate_greylist_schema = {
    .name = "greylist",
    .keys = greylist_keys,
    .n_keys = G_N_ELEMENTS(greylist_keys),
    .size = sizeof(RateGreylistConfig),
    .check = greylist_check,
};

const PcConfigSchema *const rate_extra_schemas[] = {&rate_limit_schema, &rate_greylist_schema,
						    NULL};
