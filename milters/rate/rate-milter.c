/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-rate: rate limits and greylisting. The glue between pc-milter
 * and rate-policy: per-connection state, metrics, and the hooks.
 */
#include <string.h>

#include "daemons.h"
#include "milter-descriptors.h"
#include "pc-milter.h"
#include "pc-stats.h"
#include "rate-policy.h"

/* --- the control socket: limits show|reset VALUE --- */

static gboolean
rate_control(const char *const *argv, guint argc, GString *reply, GError **error)
{
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(GPtrArray) windows = NULL;
	PcStore *store = pc_milter_get_store();
	gint64 now = g_get_monotonic_time();
	gboolean reset;
	guint changed = 0;

	if (strcmp(argv[0], "limits") != 0 || argc != 3 ||
	    (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "reset") != 0)) {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_UNKNOWN,
			    "portcullis-rate knows: ping, reload, limits show VALUE, limits reset "
			    "VALUE");
		return FALSE;
	}
	reset = strcmp(argv[1], "reset") == 0;
	config = pc_milter_acquire_config();
	windows = rate_admin_windows(config, argv[2]);
	if (windows->len == 0) {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_ARGUMENTS,
			    "no [rate.NAME] limit counts a value like %s", argv[2]);
		return FALSE;
	}
	for (guint i = 0; i < windows->len; i++) {
		const RateAdminWindow *w = g_ptr_array_index(windows, i);
		PcStoreGcraWindow gcra = {w->store_key, w->emission_interval_us,
					  w->burst_tolerance_us, 1};
		gboolean allowed = FALSE;
		gint64 retry = 0, available = 0;

		if (reset) {
			PcLookupStatus status = pc_store_delete(store, w->store_key);

			if (status != PC_LOOKUP_FOUND && status != PC_LOOKUP_NOTFOUND) {
				g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_FAILED,
					    "the store failed resetting [rate.%s]", w->limit);
				return FALSE;
			}
			changed += status == PC_LOOKUP_FOUND;
			g_string_append_printf(
			    reply,
			    "[rate.%s] %s %s, %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "s: %s\n",
			    w->limit, w->key_type, w->value, w->count,
			    w->period_us / G_USEC_PER_SEC,
			    status == PC_LOOKUP_FOUND ? "reset" : "nothing counted");
			continue;
		}
		/* a check that commits nothing: the units left, by the store's own clock */
		if (pc_store_gcra_multi(store, &gcra, 1, FALSE, now, &allowed, &retry,
					&available) != PC_LOOKUP_FOUND) {
			g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_FAILED,
				    "the store failed reading [rate.%s]", w->limit);
			return FALSE;
		}
		g_string_append_printf(reply,
				       "[rate.%s] %s %s, %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
				       "s: %" G_GINT64_FORMAT " left%s\n",
				       w->limit, w->key_type, w->value, w->count,
				       w->period_us / G_USEC_PER_SEC, MAX(available, 0),
				       allowed ? "" : ", over the limit now");
	}
	if (reset)
		g_string_append_printf(reply, "%u windows reset\n", changed);
	return TRUE;
}

/*
 * portcullis_rate_limited_total{limit,action}: one series per limit of the
 * configuration the daemon started with (metrics are registered before the
 * first connection and never after); limits added by a reload count under
 * limit="other" until the next restart. Written once in rate_init.
 */
typedef struct {
	char *name;
	PcStatsCounter *counters[RATE_ACTION_LAST];
} RateLimitMetrics;

static RateLimitMetrics *limit_metrics;
static guint n_limit_metrics;
static PcStatsCounter *other_counters[RATE_ACTION_LAST];
static PcStatsCounter *greylist_counters[RATE_GREY_LAST];

static void
register_limit_counters(const char *name, PcStatsCounter **counters)
{
	for (int action = 0; action < RATE_ACTION_LAST; action++) {
		g_autofree char *labels = g_strdup_printf("limit=\"%s\",action=\"%s\"", name,
							  rate_action_to_string(action));

		counters[action] = pc_stats_counter_register(
		    "portcullis_rate_limited_total",
		    "Connections, messages or recipients over a rate limit", labels);
	}
}

static double
count_store_keys(gpointer user_data)
{
	PcStore *store = pc_milter_get_store();

	return store != NULL ? (double)pc_store_size(store) : 0.0;
}

static gboolean
rate_init(const PcConfig *config, GError **error)
{
	guint n_limits = 0;
	const PcConfigSection *limits = pc_config_get_sections(config, "rate", &n_limits);

	limit_metrics = g_new0(RateLimitMetrics, n_limits);
	n_limit_metrics = n_limits;
	for (guint i = 0; i < n_limits; i++) {
		limit_metrics[i].name = g_strdup(limits[i].name);
		register_limit_counters(limits[i].name, limit_metrics[i].counters);
	}
	register_limit_counters("other", other_counters);
	for (int result = RATE_GREY_EXEMPT; result < RATE_GREY_LAST; result++) {
		g_autofree char *labels =
		    g_strdup_printf("result=\"%s\"", rate_grey_result_to_string(result));

		greylist_counters[result] = pc_stats_counter_register(
		    "portcullis_greylist_total", "Greylisting decisions per recipient", labels);
	}
	pc_stats_gauge_register_func("portcullis_store_keys",
				     "Keys held by the store (redis: the database's keys)", NULL,
				     count_store_keys, NULL);
	return TRUE;
}

/* at start and at each reload: on_error = tempfail means an outage of the shared store must be
 * heard, not absorbed */
static void
rate_reconfigure(const PcConfig *config)
{
	pc_store_set_fallback(pc_milter_get_store(),
			      pc_config_get_daemon(config)->on_error == PC_ON_ERROR_ACCEPT);
}

static void
rate_deinit(void)
{
	for (guint i = 0; i < n_limit_metrics; i++)
		g_free(limit_metrics[i].name);
	g_clear_pointer(&limit_metrics, g_free);
	n_limit_metrics = 0;
}

static void
rate_count(const RateOutcome *outcome)
{
	if (outcome->greylist != RATE_GREY_NONE)
		pc_stats_counter_inc(greylist_counters[outcome->greylist]);
	if (outcome->limit == NULL)
		return;
	for (guint i = 0; i < n_limit_metrics; i++) {
		if (strcmp(limit_metrics[i].name, outcome->limit) == 0) {
			pc_stats_counter_inc(limit_metrics[i].counters[outcome->action]);
			return;
		}
	}
	pc_stats_counter_inc(other_counters[outcome->action]);
}

#define RATE_HOOK(stage)                                                                           \
	static void rate_on_##stage(PcSession *session, const PcConfig *config,                    \
				    PcVerdict *verdict)                                            \
	{                                                                                          \
		RateOutcome outcome = {0};                                                         \
                                                                                                   \
		rate_policy_##stage(session, session->connection_data, verdict, &outcome);         \
		rate_count(&outcome);                                                              \
	}

RATE_HOOK(connect)
RATE_HOOK(mail)
RATE_HOOK(rcpt)
RATE_HOOK(eom)

const PcMilterDescriptor rate_milter = {
    .name = "rate",
    .schema = &rate_config_schema,
    .extra_schemas = rate_extra_schemas,
    .all_daemons = portcullis_daemon_schemas,
    .statistics_offset = 2,
    .actions = PC_MILTER_QUARANTINE,
    /* CONNECT only counts: a refusal there could carry no text, so MAIL answers it */
    .refuse_at =
	PC_STAGE_MASK(PC_STAGE_MAIL) | PC_STAGE_MASK(PC_STAGE_RCPT) | PC_STAGE_MASK(PC_STAGE_EOM),
    .count_body = TRUE,
    .init = rate_init,
    .reconfigure = rate_reconfigure,
    .deinit = rate_deinit,
    .connection_new = rate_session_new,
    .connection_free = rate_session_free,
    .message_new = rate_message_new,
    .message_free = rate_message_free,
    .on_connect = rate_on_connect,
    .on_mail = rate_on_mail,
    .on_rcpt = rate_on_rcpt,
    .on_eom = rate_on_eom,
    .control = rate_control,
};
