/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-relay: the open-relay guard. The glue between pc-milter and
 * relay-policy: per-connection state, metrics, and the hooks.
 */
#include <string.h>

#include "daemons.h"
#include "milter-descriptors.h"
#include "pc-milter.h"
#include "pc-stats.h"
#include "relay-policy.h"

/* written once in relay_init, before any connection */
static PcStatsCounter *denied_counters[RELAY_REASON_LAST];
static PcStatsCounter *bans_counter;

static double
count_banned(gpointer user_data)
{
	PcStore *store = pc_milter_get_store();

	return store != NULL
		   ? (double)pc_store_count_prefix(store, "relay:ban:", g_get_monotonic_time())
		   : 0.0;
}

static gboolean
relay_init(const PcConfig *config, GError **error)
{
	for (int reason = 0; reason < RELAY_REASON_LAST; reason++) {
		g_autofree char *labels =
		    g_strdup_printf("reason=\"%s\"", relay_reason_to_string(reason));

		denied_counters[reason] =
		    pc_stats_counter_register("portcullis_relay_denied_total",
					      "Recipients refused by the relay guard", labels);
	}
	bans_counter = pc_stats_counter_register("portcullis_relay_bans_total",
						 "Clients banned for relay probing", NULL);
	pc_stats_gauge_register_func("portcullis_relay_banned_clients",
				     "Clients currently banned for relay probing", NULL,
				     count_banned, NULL);
	return TRUE;
}

static gpointer
relay_connection_new(PcSession *session)
{
	return g_new0(RelaySession, 1);
}

static void
relay_on_connect(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	relay_policy_connect(pc_config_get_section(config), session, session->connection_data,
			     verdict);
}

static void
relay_on_rcpt(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	RelayReason denied = RELAY_REASON_NONE;
	gboolean banned_now = FALSE;

	relay_policy_rcpt(pc_config_get_section(config), session, session->connection_data, verdict,
			  &denied, &banned_now);
	if (denied != RELAY_REASON_NONE)
		pc_stats_counter_inc(denied_counters[denied]);
	if (banned_now) {
		pc_stats_counter_inc(bans_counter);
		pc_verdict_add_field(verdict, "banned", "yes");
	}
}

/* --- the control socket: bans, unban --- */

#define RELAY_BAN_PREFIX "relay:ban:"
/* bans listed at most: a flood of probers must not make the answer endless */
#define RELAY_MAX_BANS_LISTED 100000

static int
compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
relay_list_bans(GString *reply, GError **error)
{
	PcStore *store = pc_milter_get_store();
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	gint64 now = g_get_monotonic_time();
	guint listed = 0;

	pc_store_list_prefix(store, RELAY_BAN_PREFIX, now, RELAY_MAX_BANS_LISTED, keys);
	g_ptr_array_sort(keys, compare_strings);
	for (guint i = 0; i < keys->len; i++) {
		const char *key = keys->pdata[i];
		gint64 probes = 0, ttl = -1;

		if (pc_store_get(store, key, now, &probes, &ttl) != PC_LOOKUP_FOUND)
			continue; /* expired since it was listed */
		g_string_append_printf(
		    reply, "%s\t%" G_GINT64_FORMAT "s left\t%" G_GINT64_FORMAT " relay attempts\n",
		    key + strlen(RELAY_BAN_PREFIX),
		    ttl >= 0 ? (ttl + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC : -1, probes);
		listed++;
	}
	g_string_append_printf(reply, "%u banned\n", listed);
	return TRUE;
}

static gboolean
relay_unban(const char *what, GString *reply, GError **error)
{
	PcStore *store = pc_milter_get_store();
	char network[PC_NET_ADDRESS_STRLEN];
	PcNetAddress address;
	g_autofree char *ban_key = NULL;
	g_autofree char *probe_key = NULL;

	/* an address becomes its network as the guard keys it (one IPv4, an IPv6 /64) */
	if (pc_net_address_parse(what, &address))
		pc_net_address_network_key(&address, 32, 64, network, sizeof(network));
	else if (strchr(what, '/') != NULL && strlen(what) < sizeof(network))
		g_strlcpy(network, what, sizeof(network));
	else {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_ARGUMENTS,
			    "%s is not an address or a network as bans lists them", what);
		return FALSE;
	}
	ban_key = g_strconcat(RELAY_BAN_PREFIX, network, NULL);
	probe_key = g_strconcat("relay:probe:", network, NULL);
	switch (pc_store_delete(store, ban_key)) {
	case PC_LOOKUP_FOUND:
		pc_store_delete(store, probe_key);
		g_string_append_printf(reply, "%s unbanned\n", network);
		return TRUE;
	case PC_LOOKUP_NOTFOUND:
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_ARGUMENTS, "%s is not banned",
			    network);
		return FALSE;
	default:
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_FAILED,
			    "the store failed: %s is unchanged", network);
		return FALSE;
	}
}

static gboolean
relay_control(const char *const *argv, guint argc, GString *reply, GError **error)
{
	if (strcmp(argv[0], "bans") == 0 && argc == 1)
		return relay_list_bans(reply, error);
	if (strcmp(argv[0], "unban") == 0 && argc == 2)
		return relay_unban(argv[1], reply, error);
	g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_UNKNOWN,
		    "portcullis-relay knows: ping, reload, bans, unban ADDRESS|NETWORK");
	return FALSE;
}

const PcMilterDescriptor relay_milter = {
    .name = "relay",
    .schema = &relay_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .refuse_at = PC_STAGE_MASK(PC_STAGE_CONNECT) | PC_STAGE_MASK(PC_STAGE_RCPT),
    .init = relay_init,
    .connection_new = relay_connection_new,
    .connection_free = g_free,
    .on_connect = relay_on_connect,
    .on_rcpt = relay_on_rcpt,
    .control = relay_control,
};
