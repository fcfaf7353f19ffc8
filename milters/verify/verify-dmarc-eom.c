/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-eom: see verify-dmarc-eom.h.
 */
#include "verify-dmarc-eom.h"

#include <string.h>

#include "pc-addr.h"
#include "pc-config.h"
#include "verify-policy.h"

void
verify_dmarc_message_clear(VerifyDmarcMessage *message)
{
	g_clear_pointer(&message->author_domain, g_free);
	verify_dmarc_outcome_clear(&message->outcome);
	memset(message, 0, sizeof(*message));
}

/* --- DNS through pc-dns --- */

static PcDnsStatus
dns_txt(gpointer user_data, const char *name, GPtrArray *texts_out)
{
	VerifyDmarcDnsContext *context = user_data;
	g_autoptr(PcDnsResult) result =
	    pc_dns_query(context->dns, name, PC_DNS_TYPE_TXT, context->budget);

	for (guint i = 0; result->status == PC_DNS_OK && i < result->records->len; i++) {
		const PcDnsRecord *record = pc_dns_result_record(result, i);

		if (record->text != NULL)
			g_ptr_array_add(texts_out, g_bytes_new(record->text, record->text_len));
	}
	return result->status;
}

static PcDnsStatus
dns_address(gpointer user_data, const char *name)
{
	VerifyDmarcDnsContext *context = user_data;
	g_autoptr(PcDnsResult) result =
	    pc_dns_query(context->dns, name, PC_DNS_TYPE_A, context->budget);

	return result->status;
}

void
verify_dmarc_resolver_init(VerifyDmarcResolver *resolver, VerifyDmarcDnsContext *context)
{
	resolver->txt = dns_txt;
	resolver->address = dns_address;
	resolver->user_data = context;
}

/* --- the author domain --- */

char *
verify_dmarc_author_domain(const PcSession *session, const char **problem_out)
{
	static const char *const problems[] = {
	    [PC_FROM_NONE] = "no-from",		  [PC_FROM_SEVERAL] = "several-from",
	    [PC_FROM_NOT_KEPT] = "from-not-kept", /* past the session's header limits */
	    [PC_FROM_INVALID] = "from-invalid",	  [PC_FROM_ADDRESSES] = "from-several-addresses",
	};
	PcFromStatus status;
	g_autoptr(PcAddress) address = pc_session_single_from(session, &status);
	g_autofree char *ascii = NULL;

	if (address == NULL) {
		*problem_out = problems[status];
		return NULL;
	}
	/* RFC 9989 5.3.1: a U-label is compared as its A-label */
	ascii = address->domain[0] != '[' ? g_hostname_to_ascii(address->domain) : NULL;
	if (ascii == NULL || ascii[0] == '\0' || strchr(ascii, '.') == NULL) {
		*problem_out = "from-domain-invalid";
		return NULL;
	}
	*problem_out = NULL;
	return g_ascii_strdown(ascii, -1);
}

/* --- what is done --- */

static VerifyDmarcAction
action_for(const VerifyConfig *section, VerifyDmarcPolicy disposition)
{
	if (!section->dmarc_enforce)
		return VERIFY_DMARC_ACTION_NONE;
	switch (disposition) {
	case VERIFY_DMARC_POLICY_REJECT:
		switch (section->dmarc_reject_action) {
		case VERIFY_DMARC_REJECT_REJECT:
			return VERIFY_DMARC_ACTION_REJECT;
		case VERIFY_DMARC_REJECT_QUARANTINE:
			return VERIFY_DMARC_ACTION_HOLD;
		default:
			return VERIFY_DMARC_ACTION_NONE;
		}
	case VERIFY_DMARC_POLICY_QUARANTINE:
		return section->dmarc_quarantine_action == VERIFY_DMARC_QUARANTINE_HOLD
			   ? VERIFY_DMARC_ACTION_HOLD
			   : VERIFY_DMARC_ACTION_NONE;
	default:
		return VERIFY_DMARC_ACTION_NONE;
	}
}

/*
 * The least severe action of the recipients' domains for disposition (each
 * domain's [verify] as domains.d overrides it); *enforced_out is TRUE when
 * some recipient's domain enforces DMARC at all.
 */
static VerifyDmarcAction
recipients_action(const PcSession *session, VerifyDmarcPolicy disposition, gboolean *enforced_out)
{
	VerifyDmarcAction least = VERIFY_DMARC_ACTION_REJECT;
	gboolean any = FALSE;

	*enforced_out = FALSE;
	for (guint i = 0; i < session->recipients->len; i++) {
		const char *rcpt = g_ptr_array_index(session->recipients, i);
		g_autoptr(PcAddress) address = NULL;
		const VerifyConfig *section = pc_config_get_section(session->config);
		VerifyDmarcAction action;

		if (pc_addr_parse_path(rcpt, strlen(rcpt), &address, NULL) &&
		    address->domain[0] != '\0')
			section = pc_config_get_domain_section(session->config, address->domain);
		action = action_for(section, disposition);
		*enforced_out |= section->dmarc_enforce;
		least = MIN(least, action);
		any = TRUE;
	}
	if (!any) {
		const VerifyConfig *section = pc_config_get_section(session->config);

		*enforced_out = section->dmarc_enforce;
		return action_for(section, disposition);
	}
	return least;
}

const char *
verify_dmarc_action_to_string(VerifyDmarcAction action)
{
	switch (action) {
	case VERIFY_DMARC_ACTION_HOLD:
		return "quarantine";
	case VERIFY_DMARC_ACTION_REJECT:
		return "reject";
	default:
		return "none";
	}
}

/* the A-R entry: "dmarc=fail (p=reject sp=none dis=quarantine) header.from=DOMAIN" */
static void
add_authres(const VerifyDmarcMessage *dmarc, PcAuthRes *authres)
{
	const VerifyDmarcOutcome *outcome = &dmarc->outcome;
	PcAuthResResult *entry = pc_authres_add_result(
	    authres, "dmarc",
	    dmarc->evaluated ? verify_dmarc_result_to_string(outcome->result) : "permerror");

	if (dmarc->from_problem != NULL)
		pc_authres_set_reason(entry, dmarc->from_problem);
	if (outcome->record != NULL) {
		const VerifyDmarcRecord *record = outcome->record;
		g_autoptr(GString) comment = g_string_new(NULL);

		g_string_append_printf(comment, "p=%s", verify_dmarc_policy_to_string(record->p));
		if (record->sp != VERIFY_DMARC_POLICY_ABSENT)
			g_string_append_printf(comment, " sp=%s",
					       verify_dmarc_policy_to_string(record->sp));
		if (record->np != VERIFY_DMARC_POLICY_ABSENT)
			g_string_append_printf(comment, " np=%s",
					       verify_dmarc_policy_to_string(record->np));
		g_string_append_printf(comment, " dis=%s",
				       verify_dmarc_action_to_string(dmarc->action));
		pc_authres_set_comment(entry, comment->str);
	}
	if (dmarc->author_domain != NULL)
		pc_authres_add_property(entry, "header", "from", dmarc->author_domain);
	/* a local policy made the action milder than the domain asked */
	if (dmarc->override != NULL)
		pc_authres_add_property(entry, "policy", "dmarc",
					verify_dmarc_action_to_string(dmarc->action));
}

static void
add_fields(const VerifyDmarcMessage *dmarc, PcVerdict *verdict)
{
	const VerifyDmarcOutcome *outcome = &dmarc->outcome;

	if (dmarc->skipped != NULL) {
		pc_verdict_add_field(verdict, "dmarc_skipped", dmarc->skipped);
		return;
	}
	pc_verdict_add_field(verdict, "dmarc",
			     dmarc->evaluated ? verify_dmarc_result_to_string(outcome->result)
					      : "permerror");
	if (dmarc->author_domain != NULL)
		pc_verdict_add_field(verdict, "dmarc_from", dmarc->author_domain);
	if (dmarc->from_problem != NULL)
		pc_verdict_add_field(verdict, "dmarc_reason", dmarc->from_problem);
	else if (outcome->reason != NULL)
		pc_verdict_add_field(verdict, "dmarc_reason", outcome->reason);
	if (outcome->policy_domain != NULL)
		pc_verdict_add_field(verdict, "dmarc_policy_domain", outcome->policy_domain);
	if (outcome->policy_tag != NULL) {
		g_autofree char *asked = verify_dmarc_outcome_policy(outcome);

		pc_verdict_add_field(verdict, "dmarc_policy", asked);
	}
	if (outcome->result == VERIFY_DMARC_FAIL) {
		pc_verdict_add_field(verdict, "dmarc_disposition",
				     verify_dmarc_policy_to_string(outcome->disposition));
		if (outcome->downgraded)
			pc_verdict_add_field(verdict, "dmarc_downgraded",
					     outcome->record->testing ? "t=y" : "pct");
	}
	if (outcome->result == VERIFY_DMARC_PASS)
		pc_verdict_add_field(verdict, "dmarc_aligned",
				     outcome->dkim_aligned != NULL
					 ? (outcome->spf_aligned ? "spf,dkim" : "dkim")
					 : "spf");
	if (dmarc->evaluated || dmarc->from_problem != NULL)
		pc_verdict_add_field(verdict, "dmarc_action",
				     verify_dmarc_action_to_string(dmarc->action));
	if (dmarc->override != NULL)
		pc_verdict_add_field(verdict, "dmarc_override", dmarc->override);
}

/* the input's identifiers from SPF and the DKIM signatures */
static void
collect_identifiers(const PcSpfOutcome *spf, const GPtrArray *signatures, VerifyDmarcInput *input,
		    GPtrArray *pass, GPtrArray *unknown)
{
	if (spf != NULL && spf->domain != NULL) {
		if (spf->result == PC_SPF_PASS)
			input->spf_domain = spf->domain;
		else if (spf->result == PC_SPF_TEMPERROR)
			input->spf_unknown_domain = spf->domain;
	}
	for (guint i = 0; signatures != NULL && i < signatures->len; i++) {
		const VerifyDkimSignature *signature = g_ptr_array_index(signatures, i);

		if (signature->tags == NULL || signature->tags->domain == NULL)
			continue;
		if (signature->result == VERIFY_DKIM_PASS)
			g_ptr_array_add(pass, signature->tags->domain);
		else if (signature->result == VERIFY_DKIM_TEMPERROR)
			g_ptr_array_add(unknown, signature->tags->domain);
	}
	g_ptr_array_add(pass, NULL);
	g_ptr_array_add(unknown, NULL);
	input->dkim_domains = (const char *const *)pass->pdata;
	input->dkim_unknown_domains = (const char *const *)unknown->pdata;
}

void
verify_dmarc_eom(PcSession *session, const VerifyConfig *verify,
		 const VerifyDmarcResolver *resolver, const PcSpfOutcome *spf,
		 const GPtrArray *dkim_signatures, PcAuthRes *authres, PcVerdict *verdict,
		 VerifyDmarcMessage *dmarc)
{
	g_autoptr(GPtrArray) pass = g_ptr_array_new();
	g_autoptr(GPtrArray) unknown = g_ptr_array_new();
	VerifyDmarcInput input = {0};
	const VerifyDmarcOutcome *outcome = &dmarc->outcome;
	gboolean forwarder;
	gboolean enforced;

	if (!verify->dmarc)
		return;
	if (pc_session_is_authenticated(session) || session->trusted) {
		dmarc->skipped = pc_session_is_authenticated(session) ? "authenticated" : "trusted";
		add_fields(dmarc, verdict);
		return;
	}
	forwarder = session->client_known &&
		    pc_net_list_contains(verify->dmarc_trusted_forwarders, &session->client);
	dmarc->author_domain = verify_dmarc_author_domain(session, &dmarc->from_problem);
	if (dmarc->author_domain == NULL) {
		add_authres(dmarc, authres);
		if (session->role == PC_ROLE_MX && !forwarder) {
			dmarc->action = VERIFY_DMARC_ACTION_REJECT;
			pc_verdict_set(verdict, PC_ACTION_REJECT, "550", "5.7.1", "dmarc-from",
				       "%s",
				       strcmp(dmarc->from_problem, "several-from") == 0 ||
					       strcmp(dmarc->from_problem, "no-from") == 0
					   ? "Message must have exactly one From header"
					   : "From header must hold exactly one address with a "
					     "domain name");
		}
		add_fields(dmarc, verdict);
		return;
	}
	input.author_domain = dmarc->author_domain;
	collect_identifiers(spf, dkim_signatures, &input, pass, unknown);
	input.discovery = verify->dmarc_org_domain;
	input.psl = verify->psl;
	input.sample = (guint)g_random_int_range(0, 100);
	verify_dmarc_evaluate(&input, resolver, &dmarc->outcome);
	dmarc->evaluated = TRUE;

	switch (outcome->result) {
	case VERIFY_DMARC_FAIL:
		dmarc->action = recipients_action(session, outcome->disposition, &enforced);
		if (forwarder && dmarc->action != VERIFY_DMARC_ACTION_NONE) {
			dmarc->action = VERIFY_DMARC_ACTION_NONE;
			dmarc->override = "trusted-forwarder";
		} else if (outcome->disposition != VERIFY_DMARC_POLICY_NONE &&
			   (guint)dmarc->action <
			       (guint)(outcome->disposition == VERIFY_DMARC_POLICY_REJECT
					   ? VERIFY_DMARC_ACTION_REJECT
					   : VERIFY_DMARC_ACTION_HOLD)) {
			dmarc->override = enforced ? "local-action" : "not-enforced";
		}
		break;
	case VERIFY_DMARC_TEMPERROR:
		/* refused wherever a fail could have been acted on */
		recipients_action(session, VERIFY_DMARC_POLICY_REJECT, &enforced);
		if (!enforced || forwarder) {
			dmarc->override = forwarder ? "trusted-forwarder" : "not-enforced";
			break;
		}
		if (pc_config_get_daemon(session->config)->on_error == PC_ON_ERROR_ACCEPT) {
			dmarc->override = "on-error-accept";
			break;
		}
		pc_verdict_set(verdict, PC_ACTION_TEMPFAIL, "451", "4.4.3", "dmarc-temperror",
			       "Temporary DNS failure evaluating DMARC for %s, try again later",
			       dmarc->author_domain);
		break;
	default:
		break;
	}
	add_authres(dmarc, authres);
	switch ((VerifyDmarcAction)dmarc->action) {
	case VERIFY_DMARC_ACTION_REJECT:
		pc_verdict_set(verdict, PC_ACTION_REJECT, "550", "5.7.1", "dmarc-reject",
			       "Rejected by DMARC policy for %s", dmarc->author_domain);
		break;
	case VERIFY_DMARC_ACTION_HOLD:
		/* the hold reason the MTA records: the admin reads it, the sender never does */
		pc_verdict_set(verdict, PC_ACTION_QUARANTINE, NULL, NULL, "dmarc-quarantine",
			       "portcullis-verify: DMARC policy %s=%s for %s", outcome->policy_tag,
			       verify_dmarc_policy_to_string(outcome->requested),
			       dmarc->author_domain);
		break;
	case VERIFY_DMARC_ACTION_NONE:
		break;
	}
	add_fields(dmarc, verdict);
}

/* --- the history line --- */

/* the domain of an RCPT or MAIL argument, or NULL */
static char *
path_domain(const char *path)
{
	g_autoptr(PcAddress) address = NULL;

	if (path == NULL || !pc_addr_parse_path(path, strlen(path), &address, NULL) ||
	    address->domain[0] == '\0')
		return NULL;
	return g_strdup(address->domain);
}

/* a DKIM d= or s= inside the "D/S/RESULT,..." list: its separators replaced */
static void
append_part(GString *out, const char *value)
{
	for (const char *p = value != NULL ? value : "?"; *p != '\0'; p++)
		g_string_append_c(out, *p == '/' || *p == ',' ? '?' : *p);
}

VerifyDmarcHistoryEntry *
verify_dmarc_history_entry_for(const PcSession *session, VerifyDmarcDiscovery discovery,
			       const VerifyDmarcMessage *dmarc, const PcSpfOutcome *spf,
			       const GPtrArray *signatures, gint64 now)
{
	const VerifyDmarcOutcome *outcome = &dmarc->outcome;
	const VerifyDmarcRecord *record = outcome->record;
	g_autoptr(VerifyDmarcHistoryEntry) entry = NULL;
	g_autoptr(GString) rua = g_string_new(NULL);
	g_autoptr(GString) reasons = g_string_new(NULL);
	g_autoptr(GString) dkim = g_string_new(NULL);
	g_autofree char *envelope_from = path_domain(session->sender);
	g_autofree char *envelope_to = session->recipients->len > 0
					   ? path_domain(g_ptr_array_index(session->recipients, 0))
					   : NULL;

	if (!dmarc->evaluated || record == NULL || !session->client_known ||
	    (outcome->result != VERIFY_DMARC_PASS && outcome->result != VERIFY_DMARC_FAIL))
		return NULL;
	entry = verify_dmarc_history_entry_new();
	entry->time = now;
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SOURCE_IP, session->client_ip);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_HEADER_FROM,
				       dmarc->author_domain);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ENVELOPE_FROM, envelope_from);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ENVELOPE_TO, envelope_to);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_POLICY_DOMAIN,
				       outcome->policy_domain);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DISCOVERY,
				       discovery == VERIFY_DMARC_DISCOVERY_PSL ? "psl"
									       : "treewalk");
	/* a record using a tag only RFC 9989 has is reported in RFC 9990's form */
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_FORM,
				       record->np != VERIFY_DMARC_POLICY_ABSENT ||
					       record->testing || record->psd != 'u'
					   ? "9990"
					   : "7489");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_P,
				       verify_dmarc_policy_to_string(record->p));
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SP,
				       verify_dmarc_policy_to_string(record->sp));
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_NP,
				       verify_dmarc_policy_to_string(record->np));
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ADKIM,
				       record->adkim_strict ? "s" : "r");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ASPF,
				       record->aspf_strict ? "s" : "r");
	if (record->pct_present) {
		g_autofree char *pct = g_strdup_printf("%u", record->pct);

		verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_PCT, pct);
	}
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_TESTING,
				       record->testing ? "y" : "n");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_FO, record->fo);
	for (guint i = 0; i < record->rua->len; i++) {
		const VerifyDmarcUri *uri = g_ptr_array_index(record->rua, i);

		if (rua->len > 0)
			g_string_append_c(rua, ',');
		g_string_append(rua, uri->uri);
		if (uri->max_bytes > 0)
			g_string_append_printf(rua, "!%" G_GUINT64_FORMAT, uri->max_bytes);
	}
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_RUA, rua->str);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DISPOSITION,
				       outcome->result == VERIFY_DMARC_PASS
					   ? "pass"
					   : verify_dmarc_action_to_string(dmarc->action));
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DKIM,
				       outcome->dkim_aligned != NULL ? "pass" : "fail");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF,
				       outcome->spf_aligned ? "pass" : "fail");
	if (dmarc->override != NULL)
		g_string_append(reasons, dmarc->override);
	if (outcome->downgraded)
		g_string_append_printf(reasons, "%s%s", reasons->len > 0 ? "," : "",
				       record->testing ? "testing" : "sampled-out");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_REASONS, reasons->str);
	if (spf != NULL && spf->domain != NULL) {
		verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF_DOMAIN, spf->domain);
		verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF_SCOPE,
					       spf->identity == PC_SPF_IDENTITY_MAILFROM ? "mfrom"
											 : "helo");
		verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF_RESULT,
					       pc_spf_result_to_string(spf->result));
	}
	for (guint i = 0; signatures != NULL && i < signatures->len; i++) {
		const VerifyDkimSignature *signature = g_ptr_array_index(signatures, i);

		if (signature->tags == NULL || signature->tags->domain == NULL)
			continue;
		if (dkim->len > 0)
			g_string_append_c(dkim, ',');
		append_part(dkim, signature->tags->domain);
		g_string_append_c(dkim, '/');
		append_part(dkim, signature->tags->selector);
		g_string_append_printf(dkim, "/%s",
				       verify_dkim_result_to_string(signature->result));
	}
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DKIM_RESULTS, dkim->str);
	return g_steal_pointer(&entry);
}
