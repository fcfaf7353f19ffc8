/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-relay: the open-relay guard. The glue between pc-milter and
 * relay-policy: per-connection state, metrics, and the hooks.
 */
#include "daemons.h"
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

static const PcMilterDescriptor relay_milter = {
    .name = "relay",
    .schema = &relay_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .refuse_at = PC_STAGE_MASK(PC_STAGE_CONNECT) | PC_STAGE_MASK(PC_STAGE_RCPT),
    .init = relay_init,
    .connection_new = relay_connection_new,
    .connection_free = g_free,
    .on_connect = relay_on_connect,
    .on_rcpt = relay_on_rcpt,
};

int
main(int argc, char **argv)
{
	return pc_milter_main(&relay_milter, argc, argv);
}
