/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-auth: port roles, TLS minimums, sender ownership and
 * compromised-account signals. The glue between pc-milter and auth-policy:
 * metrics and the hooks (the map belongs to the config snapshot, the
 * per-message state to the skeleton).
 */
#include "auth-policy.h"
#include "daemons.h"
#include "milter-descriptors.h"
#include "pc-milter.h"
#include "pc-stats.h"

/* written once in auth_init, before any connection */
static PcStatsCounter *denied_counters[AUTH_REASON_LAST];
static PcStatsCounter *signal_counters[AUTH_SIGNAL_LAST][AUTH_SIGNAL_ACTION_LAST];

static const char *const auth_headers[] = {"From", "Sender", NULL};

static gboolean
auth_init(const PcConfig *config, GError **error)
{
	const AuthConfig *auth = pc_config_get_section(config);

	for (int reason = 0; reason < AUTH_REASON_LAST; reason++) {
		g_autofree char *labels =
		    g_strdup_printf("reason=\"%s\"", auth_reason_to_string(reason));

		denied_counters[reason] = pc_stats_counter_register(
		    "portcullis_auth_denied_total", "Steps refused by the auth daemon", labels);
	}
	for (int signal = 0; signal < AUTH_SIGNAL_LAST; signal++) {
		for (int action = 0; action < AUTH_SIGNAL_ACTION_LAST; action++) {
			g_autofree char *labels = g_strdup_printf(
			    "signal=\"%s\",action=\"%s\"", auth_signal_to_string(signal),
			    auth_signal_action_to_string(action));

			signal_counters[signal][action] = pc_stats_counter_register(
			    "portcullis_auth_signals_total", "Compromised-account signals acted on",
			    labels);
		}
	}
	if (auth->map != NULL)
		g_info("sender_login_maps %s: %u keys", auth->sender_login_maps,
		       auth_map_size(auth->map));
	return TRUE;
}

static void
count_outcome(const AuthConfig *auth, const AuthOutcome *outcome)
{
	if (outcome->denied != AUTH_REASON_NONE)
		pc_stats_counter_inc(denied_counters[outcome->denied]);
	for (int signal = 0; signal < AUTH_SIGNAL_LAST; signal++) {
		if (outcome->signals & (1u << signal))
			pc_stats_counter_inc(signal_counters[signal][auth->signal_action]);
	}
}

static void
auth_on_mail(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthOutcome outcome;

	auth_policy_mail(auth, session, session->message_data, verdict, &outcome);
	count_outcome(auth, &outcome);
}

static void
auth_on_rcpt(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthOutcome outcome;

	auth_policy_rcpt(auth, session, session->message_data, verdict, &outcome);
	count_outcome(auth, &outcome);
}

static void
auth_on_eoh(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthOutcome outcome;

	auth_policy_eoh(auth, session, session->message_data, verdict, &outcome);
	count_outcome(auth, &outcome);
}

static void
auth_on_eom(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthOutcome outcome;

	auth_policy_eom(auth, session, session->message_data, verdict, &outcome);
	count_outcome(auth, &outcome);
}

const PcMilterDescriptor auth_milter = {
    .name = "auth",
    .schema = &auth_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .statistics_offset = 1,
    .actions = PC_MILTER_QUARANTINE,
    .refuse_at = PC_STAGE_MASK(PC_STAGE_MAIL) | PC_STAGE_MASK(PC_STAGE_RCPT) |
		 PC_STAGE_MASK(PC_STAGE_EOH) | PC_STAGE_MASK(PC_STAGE_EOM),
    .init = auth_init,
    .keep_headers = auth_headers,
    .message_new = auth_message_new,
    .message_free = g_free,
    .on_mail = auth_on_mail,
    .on_rcpt = auth_on_rcpt,
    .on_eoh = auth_on_eoh,
    .on_eom = auth_on_eom,
};
