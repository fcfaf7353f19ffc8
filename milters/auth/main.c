/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-auth: port roles, TLS minimums, sender ownership and
 * compromised-account signals. The glue between pc-milter and auth-policy:
 * per-connection state, the map pinned for each transaction, metrics, and
 * the hooks.
 */
#include <libmilter/mfapi.h>

#include "auth-policy.h"
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
	if (auth->map_generation != 0) {
		g_autoptr(AuthMap) map = auth_maps_cache_get(auth->map_generation);

		if (map != NULL)
			g_info("sender_login_maps %s: %u keys", auth->sender_login_maps,
			       auth_map_size(map));
	}
	return TRUE;
}

static AuthSession *
auth_state(PcSession *session)
{
	if (session->daemon_data == NULL) {
		session->daemon_data = g_new0(AuthSession, 1);
		session->daemon_data_free = auth_session_free;
	}
	return session->daemon_data;
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

/*
 * the map of the configuration pinned at MAIL, held to the end of the
 * transaction. A generation no longer cached (failed reloads pushed it out)
 * falls back to the file as it is now; a file that cannot be read then
 * leaves the map NULL, which the policy treats as a failed lookup (on_error).
 */
static void
pin_map(const AuthConfig *auth, AuthSession *state)
{
	g_autoptr(GError) error = NULL;
	guint64 generation = 0;

	g_clear_pointer(&state->map, auth_map_unref);
	if (auth->map_generation == 0)
		return;
	state->map = auth_maps_cache_get(auth->map_generation);
	if (state->map != NULL)
		return;
	if (!auth_maps_cache_load(auth->sender_login_maps, &generation, &error)) {
		g_warning("sender_login_maps: %s; applying on_error", error->message);
		return;
	}
	g_info("sender_login_maps %s: the running configuration's map is no longer cached; "
	       "using the file as it is now",
	       auth->sender_login_maps);
	state->map = auth_maps_cache_get(generation);
}

static void
auth_on_mail(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthSession *state = auth_state(session);
	AuthOutcome outcome;

	pin_map(auth, state);
	auth_policy_mail(auth, session, state, verdict, &outcome);
	count_outcome(auth, &outcome);
}

static void
auth_on_rcpt(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthOutcome outcome;

	auth_policy_rcpt(auth, session, auth_state(session), verdict, &outcome);
	count_outcome(auth, &outcome);
}

static void
auth_on_eoh(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthOutcome outcome;

	auth_policy_eoh(auth, session, auth_state(session), verdict, &outcome);
	count_outcome(auth, &outcome);
}

static void
auth_on_eom(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const AuthConfig *auth = pc_config_get_section(config);
	AuthSession *state = auth_state(session);
	AuthOutcome outcome;

	auth_policy_eom(auth, session, state, verdict, &outcome);
	count_outcome(auth, &outcome);
	g_clear_pointer(&state->map, auth_map_unref);
}

static void
auth_on_abort(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	AuthSession *state = auth_state(session);

	state->pending = 0;
	g_clear_pointer(&state->map, auth_map_unref);
}

static const PcMilterDescriptor auth_milter = {
	.statistics_offset = 1,
    .name = "auth",
    .schema = &auth_config_schema,
    .actions = SMFIF_QUARANTINE,
    .steps = PC_STEP_MAIL | PC_STEP_RCPT | PC_STEP_EOH | PC_STEP_EOM,
    /* HELO stays negotiated (not waited for) so the TLS macros are captured there too */
    .macros = {[SMFIM_HELO] = ""},
    .init = auth_init,
    .keep_headers = auth_headers,
    .on_mail = auth_on_mail,
    .on_rcpt = auth_on_rcpt,
    .on_eoh = auth_on_eoh,
    .on_eom = auth_on_eom,
    .on_abort = auth_on_abort,
};

int
main(int argc, char **argv)
{
	return pc_milter_main(&auth_milter, argc, argv);
}
