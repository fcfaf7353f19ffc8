/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-verify: sender authentication for receiving servers. The glue
 * between pc-milter and verify-policy: per-message state, metrics, hooks.
 */
#include "daemons.h"
#include "milter-descriptors.h"
#include "pc-milter.h"
#include "pc-stats.h"
#include "verify-policy.h"

/* written once in verify_init, before any connection */
static PcStatsCounter *removed_counter;
static PcStatsCounter *dkim_counters[VERIFY_DKIM_N_RESULTS];
/* the DMARC history writer (thread-safe), init to deinit */
static VerifyDmarcHistory *dmarc_history;
/* the process's DKIM verifier (one libopendkim library handle), init to deinit */
static VerifyDkim *dkim_verifier;
static PcStatsCounter *spf_counters[PC_SPF_N_RESULTS];
static PcStatsCounter *dmarc_counters[VERIFY_DMARC_N_RESULTS];
static PcStatsCounter *dmarc_action_counters[VERIFY_DMARC_ACTION_REJECT + 1];
static PcStatsCounter *dmarc_from_counter;
static PcStatsCounter *dmarc_history_dropped;

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

/* --- DMARC (verify-dmarc-eom.c): EOM --- */

static void
verify_dmarc_register_metrics(void)
{
	for (int result = 0; result < VERIFY_DMARC_N_RESULTS; result++) {
		g_autofree char *labels =
		    g_strdup_printf("result=\"%s\"", verify_dmarc_result_to_string(result));

		dmarc_counters[result] =
		    pc_stats_counter_register("portcullis_verify_dmarc_results_total",
					      "DMARC results of messages evaluated", labels);
	}
	for (guint action = 0; action <= VERIFY_DMARC_ACTION_REJECT; action++) {
		g_autofree char *labels =
		    g_strdup_printf("action=\"%s\"", verify_dmarc_action_to_string(action));

		dmarc_action_counters[action] = pc_stats_counter_register(
		    "portcullis_verify_dmarc_fail_actions_total",
		    "What DMARC fails got here (after local policy and forwarders)", labels);
	}
	dmarc_from_counter = pc_stats_counter_register(
	    "portcullis_verify_dmarc_from_invalid_total",
	    "Messages without exactly one From address to evaluate DMARC on", NULL);
	dmarc_history_dropped = pc_stats_counter_register(
	    "portcullis_verify_dmarc_history_dropped_total",
	    "DMARC evaluations not kept for reports (the day's file full or unwritable)", NULL);
}

static void
dmarc_count(const VerifyDmarcMessage *dmarc)
{
	if (dmarc->from_problem != NULL)
		pc_stats_counter_inc(dmarc_from_counter);
	if (!dmarc->evaluated)
		return;
	pc_stats_counter_inc(dmarc_counters[dmarc->outcome.result]);
	if (dmarc->outcome.result == VERIFY_DMARC_FAIL)
		pc_stats_counter_inc(dmarc_action_counters[dmarc->action]);
}

/* the evaluation into the day's history, for aggregate reports */
static void
dmarc_remember(PcSession *session, const VerifyConfig *verify, VerifyMessage *message)
{
	g_autoptr(VerifyDmarcHistoryEntry) entry = NULL;

	if (!verify_dmarc_history_is_on(dmarc_history))
		return;
	entry = verify_dmarc_history_entry_for(
	    session, verify->dmarc_org_domain, &message->dmarc,
	    verify_spf_message_outcome(session->connection_data, &message->spf),
	    verify_dkim_signatures(message->dkim), g_get_real_time() / G_USEC_PER_SEC);

	if (entry != NULL && !verify_dmarc_history_append(dmarc_history, entry))
		pc_stats_counter_inc(dmarc_history_dropped);
}

static void
verify_reconfigure(const PcConfig *config)
{
	const VerifyConfig *verify = pc_config_get_section(config);

	verify_dmarc_history_configure(dmarc_history,
				       verify->dmarc ? verify->dmarc_history_dir : NULL,
				       verify->dmarc_history_max_size);
}

/* --- headers and EOM --- */

static gboolean
verify_init(const PcConfig *config, GError **error)
{
	removed_counter = pc_stats_counter_register(
	    "portcullis_verify_authres_removed_total",
	    "Authentication-Results headers removed because they claimed our authserv-id", NULL);
	for (guint r = 0; r < VERIFY_DKIM_N_RESULTS; r++) {
		g_autofree char *label =
		    g_strdup_printf("result=\"%s\"", verify_dkim_result_to_string(r));

		dkim_counters[r] = pc_stats_counter_register(
		    "portcullis_verify_dkim_results_total",
		    "DKIM results reported, one per signature (none: an unsigned message)", label);
	}
	verify_spf_register_metrics();
	verify_dmarc_register_metrics();
	dmarc_history = verify_dmarc_history_new();
	dkim_verifier = verify_dkim_new(pc_milter_get_dns(), error);
	return dkim_verifier != NULL;
}

static void
verify_deinit(void)
{
	g_clear_pointer(&dkim_verifier, verify_dkim_free);
	g_clear_pointer(&dmarc_history, verify_dmarc_history_free);
}

/* ---------------------------------------------------------------- DKIM */

/* the message's DKIM state, made when the first header arrives */
static VerifyDkimMessage *
dkim_message(PcSession *session)
{
	VerifyMessage *message = session->message_data;
	const VerifyConfig *verify = pc_config_get_section(session->config);

	if (message->dkim == NULL)
		message->dkim = verify_dkim_message_new(
		    dkim_verifier, pc_session_queue_id(session), (guint)verify->max_signatures,
		    &message->dns_budget, session->header_leading_space);
	return message->dkim;
}

/* ", dkimN_SUFFIX=VALUE" when there is a value */
static void
signature_field(PcVerdict *verdict, guint number, const char *suffix, const char *value)
{
	g_autofree char *key = g_strdup_printf("dkim%u%s", number, suffix);

	if (value != NULL)
		pc_verdict_add_field(verdict, key, value);
}

/* the results into the log line (one set of fields per signature) and the metrics */
static void
dkim_note(PcVerdict *verdict, const VerifyDkimMessage *dkim)
{
	const GPtrArray *signatures = verify_dkim_signatures(dkim);

	if (signatures->len == 0) {
		pc_verdict_add_field(verdict, "dkim", "none");
		pc_stats_counter_inc(dkim_counters[VERIFY_DKIM_NONE]);
	}
	for (guint i = 0; i < signatures->len; i++) {
		const VerifyDkimSignature *signature = g_ptr_array_index(signatures, i);
		g_autofree char *bits = g_strdup_printf("%u", signature->key_bits);

		pc_stats_counter_inc(dkim_counters[signature->result]);
		signature_field(verdict, i + 1, "",
				verify_dkim_result_to_string(signature->result));
		signature_field(verdict, i + 1, "_d", signature->tags->domain);
		signature_field(verdict, i + 1, "_s", signature->tags->selector);
		signature_field(verdict, i + 1, "_a", signature->tags->algorithm);
		signature_field(verdict, i + 1, "_bits", signature->key_bits > 0 ? bits : NULL);
		signature_field(verdict, i + 1, "_testing", signature->testing ? "yes" : NULL);
		signature_field(verdict, i + 1, "_reason", signature->reason);
	}
	if (verify_dkim_ignored(dkim) > 0) {
		g_autofree char *count = g_strdup_printf("%u", verify_dkim_ignored(dkim));

		pc_verdict_add_field(verdict, "dkim_ignored", count);
	}
}

/* ---------------------------------------------------------------- hooks */

static void
verify_on_header(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	verify_policy_header(pc_config_get_section(config), session, session->message_data);
	verify_dkim_header(dkim_message(session), session->current_header->name,
			   session->current_header->value);
}

static void
verify_on_eoh(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	verify_dkim_eoh(dkim_message(session));
}

static void
verify_on_body(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	verify_dkim_body(dkim_message(session), session->current_body, session->current_body_len);
}

static void
verify_on_eom(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	g_autoptr(PcAuthRes) authres = pc_authres_new(verify_authserv_id(config));
	VerifyMessage *message = session->message_data;
	VerifyDkimMessage *dkim = dkim_message(session);
	guint removed;

	VerifyDmarcDnsContext dns = {pc_milter_get_dns(), &message->dns_budget};
	VerifyDmarcResolver resolver;

	/* every message's results are logged, as OpenDKIM and OpenDMARC do */
	pc_verdict_note(verdict, "results");
	/* the entries in the order the checks ran: SPF (HELO, MAIL), DKIM, then DMARC */
	verify_spf_eom(session->connection_data, &message->spf, authres, verdict);
	verify_dkim_eom(dkim);
	verify_dkim_authres(verify_dkim_signatures(dkim), authres);
	verify_dmarc_resolver_init(&resolver, &dns);
	verify_dmarc_eom(session, pc_config_get_section(config), &resolver,
			 verify_spf_message_outcome(session->connection_data, &message->spf),
			 verify_dkim_signatures(dkim), authres, verdict, &message->dmarc);
	dmarc_count(&message->dmarc);
	dmarc_remember(session, pc_config_get_section(config), message);
	removed = verify_policy_eom(session, message, authres, verdict);
	if (removed > 0) {
		g_autofree char *count = g_strdup_printf("%u", removed);

		pc_stats_counter_add(removed_counter, removed);
		pc_verdict_add_field(verdict, "authres_removed", count);
	}
	dkim_note(verdict, dkim);
}

/* the DKIM handle first: verify-policy.c does not link libopendkim */
static void
verify_message_free_all(gpointer data)
{
	VerifyMessage *message = data;

	if (message != NULL)
		g_clear_pointer(&message->dkim, verify_dkim_message_free);
	verify_message_free(message);
}

static const char *const verify_headers[] = {"From", NULL};

const PcMilterDescriptor verify_milter = {
    .name = "verify",
    .schema = &verify_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .actions = PC_MILTER_EDIT_HEADERS | PC_MILTER_QUARANTINE,
    .refuse_at = PC_STAGE_MASK(PC_STAGE_RCPT),
    .refuse_at_for = verify_refuse_at_for,
    .statistics_offset = 3,
    .uses_dns = TRUE,
    /* the snippets attach portcullis-verify to the MX list only */
    .stack_roles = 1u << PC_ROLE_MX,
    .init = verify_init,
    .reconfigure = verify_reconfigure,
    .deinit = verify_deinit,
    /* DKIM hashes header values as written, blanks after the colon included */
    .header_leading_space = TRUE,
    /* DMARC's author domain */
    .keep_headers = verify_headers,
    .connection_new = verify_spf_connection_new,
    .connection_free = verify_spf_connection_free,
    .message_new = verify_message_new,
    .message_free = verify_message_free_all,
    .on_helo = verify_on_helo,
    .on_mail = verify_on_mail,
    .on_rcpt = verify_on_rcpt,
    .on_header = verify_on_header,
    .on_eoh = verify_on_eoh,
    .on_body = verify_on_body,
    .on_eom = verify_on_eom,
};
