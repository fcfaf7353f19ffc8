/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-verify: sender authentication for receiving servers. The glue
 * between pc-milter and verify-policy: per-message state, metrics, hooks.
 */
#include "daemons.h"
#include "pc-milter.h"
#include "pc-stats.h"
#include "verify-policy.h"

/* written once in verify_init, before any connection */
static PcStatsCounter *removed_counter;

static gboolean
verify_init(const PcConfig *config, GError **error)
{
	removed_counter = pc_stats_counter_register(
	    "portcullis_verify_authres_removed_total",
	    "Authentication-Results headers removed because they claimed our authserv-id", NULL);
	return TRUE;
}

static void
verify_on_header(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	verify_policy_header(pc_config_get_section(config), session, session->message_data);
}

static void
verify_on_eom(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	g_autoptr(PcAuthRes) authres = pc_authres_new(verify_authserv_id(config));
	guint removed = verify_policy_eom(session, session->message_data, authres, verdict);

	/* every message's results are logged, as OpenDKIM and OpenDMARC do */
	pc_verdict_note(verdict, "results");
	if (removed > 0) {
		g_autofree char *count = g_strdup_printf("%u", removed);

		pc_stats_counter_add(removed_counter, removed);
		pc_verdict_add_field(verdict, "authres_removed", count);
	}
}

static const PcMilterDescriptor verify_milter = {
    .name = "verify",
    .schema = &verify_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .actions = PC_MILTER_EDIT_HEADERS,
    .statistics_offset = 3,
    .init = verify_init,
    .message_new = verify_message_new,
    .message_free = verify_message_free,
    .on_header = verify_on_header,
    .on_eom = verify_on_eom,
};

int
main(int argc, char **argv)
{
	return pc_milter_main(&verify_milter, argc, argv);
}
