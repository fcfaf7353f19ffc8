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
static PcStatsCounter *spf_counters[PC_SPF_N_RESULTS];

/* --- SPF (verify-spf.c): HELO, MAIL, RCPT --- */

static void
verify_spf_register_metrics(void)
{
	for (int result = 0; result < PC_SPF_N_RESULTS; result++) {
		g_autofree char *labels =
		    g_strdup_printf("result=\"%s\"", pc_spf_result_to_string(result));

		spf_counters[result] = pc_stats_counter_register(
		    "portcullis_verify_spf_results_total",
		    "SPF results of messages (the MAIL FROM identity, HELO's for <>)", labels);
	}
}

static void
verify_on_helo(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	verify_spf_helo(session, pc_milter_get_dns(), session->connection_data);
}

static void
verify_on_mail(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	VerifyMessage *message = session->message_data;
	int result = verify_spf_mail(session, pc_milter_get_dns(), session->connection_data,
				     &message->spf, &message->dns_budget);

	if (result >= 0)
		pc_stats_counter_inc(spf_counters[result]);
}

static void
verify_on_rcpt(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const VerifyConfig *verify = pc_config_get_section(config);
	VerifyMessage *message = session->message_data;

	verify_spf_rcpt(verify->spf_fail_action == VERIFY_SPF_FAIL_REJECT,
			pc_milter_may_refuse(session, PC_STAGE_RCPT), session->connection_data,
			&message->spf, verdict);
}

/* RCPT is answered only when an SPF fail may be refused there */
static PcStageMask
verify_refuse_at_for(const PcConfig *config)
{
	const VerifyConfig *verify = pc_config_get_section(config);

	return verify->spf_fail_action == VERIFY_SPF_FAIL_REJECT ? PC_STAGE_MASK(PC_STAGE_RCPT) : 0;
}

/* --- headers and EOM --- */

static gboolean
verify_init(const PcConfig *config, GError **error)
{
	removed_counter = pc_stats_counter_register(
	    "portcullis_verify_authres_removed_total",
	    "Authentication-Results headers removed because they claimed our authserv-id", NULL);
	verify_spf_register_metrics();
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
	VerifyMessage *message = session->message_data;
	guint removed;

	verify_spf_eom(session->connection_data, &message->spf, authres, verdict);
	removed = verify_policy_eom(session, message, authres, verdict);

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
    .refuse_at = PC_STAGE_MASK(PC_STAGE_RCPT),
    .refuse_at_for = verify_refuse_at_for,
    .statistics_offset = 3,
    .uses_dns = TRUE,
    .init = verify_init,
    .connection_new = verify_spf_connection_new,
    .connection_free = verify_spf_connection_free,
    .message_new = verify_message_new,
    .message_free = verify_message_free,
    .on_helo = verify_on_helo,
    .on_mail = verify_on_mail,
    .on_rcpt = verify_on_rcpt,
    .on_header = verify_on_header,
    .on_eom = verify_on_eom,
};

int
main(int argc, char **argv)
{
	return pc_milter_main(&verify_milter, argc, argv);
}
