/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-spf: see verify-spf.h. Which identity is checked when, and what
 * its outcome becomes; the check itself is pc-spf's.
 */
#include "verify-spf.h"

#include <string.h>

#include "pc-addr.h"
#include "verify-policy.h"

gpointer
verify_spf_connection_new(PcSession *session)
{
	return g_new0(VerifySpfConnection, 1);
}

void
verify_spf_connection_free(gpointer data)
{
	VerifySpfConnection *connection = data;

	if (connection == NULL)
		return;
	g_free(connection->helo);
	pc_spf_outcome_free(connection->helo_outcome);
	g_free(connection);
}

void
verify_spf_message_clear(VerifySpfMessage *spf)
{
	g_clear_pointer(&spf->mailfrom, pc_spf_outcome_free);
	spf->skipped = NULL;
	spf->null_sender = FALSE;
}

void
verify_spf_charge_helo(VerifySpfConnection *connection, PcDnsBudget *budget)
{
	if (connection == NULL)
		return;
	pc_dns_budget_charge(budget, connection->helo_dns_us);
	connection->helo_dns_us = 0;
}

/* why the client is not checked at all, or NULL */
static const char *
verify_spf_exempt(const PcSession *session)
{
	if (session->trusted)
		return "trusted";
	if (!session->client_known)
		return "no-client-address";
	return NULL;
}

static PcSpfOptions
verify_spf_options(const PcSession *session, PcDns *dns, PcDnsBudget *budget)
{
	PcSpfOptions options = {
	    .dns = dns,
	    .budget = budget,
	    .receiver = verify_authserv_id(session->config),
	};

	return options;
}

void
verify_spf_helo(PcSession *session, PcDns *dns, VerifySpfConnection *connection)
{
	const PcGlobalConfig *global = pc_config_get_global(session->config);
	PcDnsBudget budget;
	PcSpfOptions options;

	if (dns == NULL || connection == NULL || verify_spf_exempt(session) != NULL)
		return;
	/* EHLO again after STARTTLS: the same name is not checked twice */
	if (connection->helo != NULL && g_strcmp0(connection->helo, session->helo) == 0)
		return;
	g_clear_pointer(&connection->helo, g_free);
	g_clear_pointer(&connection->helo_outcome, pc_spf_outcome_free);
	if (session->helo == NULL)
		return;
	pc_dns_budget_init_from_config(&budget, global);
	options = verify_spf_options(session, dns, &budget);
	connection->helo = g_strdup(session->helo);
	connection->helo_outcome = pc_spf_check_helo(&options, &session->client, session->helo);
	connection->helo_dns_us += global->dns_message_budget - MAX(budget.remaining_us, 0);
}

int
verify_spf_mail(PcSession *session, PcDns *dns, VerifySpfConnection *connection,
		VerifySpfMessage *spf, PcDnsBudget *budget)
{
	g_autoptr(PcAddress) sender = NULL;
	PcSpfOptions options;
	const PcSpfOutcome *outcome;

	spf->skipped = verify_spf_exempt(session);
	if (spf->skipped == NULL && pc_session_is_authenticated(session))
		spf->skipped = "authenticated";
	if (spf->skipped == NULL && (dns == NULL || connection == NULL))
		spf->skipped = "no-resolver";
	if (spf->skipped == NULL &&
	    (session->sender == NULL ||
	     !pc_addr_parse_path(session->sender, strlen(session->sender), &sender, NULL) ||
	     (sender->flags & PC_ADDR_FLAG_NO_DOMAIN) != 0))
		spf->skipped = "sender-unparsable";
	if (spf->skipped != NULL)
		return -1;
	if ((sender->flags & PC_ADDR_FLAG_NULL) != 0) {
		/* RFC 7208 2.4: the HELO identity, checked at HELO, stands for <> */
		spf->null_sender = TRUE;
		if (connection->helo_outcome == NULL)
			spf->skipped = "no-helo";
	} else {
		options = verify_spf_options(session, dns, budget);
		spf->mailfrom = pc_spf_check_mail_from(&options, &session->client, sender->local,
						       sender->domain, session->helo);
	}
	outcome = verify_spf_message_outcome(connection, spf);
	return outcome != NULL ? (int)outcome->result : -1;
}

const PcSpfOutcome *
verify_spf_message_outcome(const VerifySpfConnection *connection, const VerifySpfMessage *spf)
{
	if (spf->skipped != NULL)
		return NULL;
	if (spf->null_sender)
		return connection != NULL ? connection->helo_outcome : NULL;
	return spf->mailfrom;
}

gboolean
verify_spf_rcpt(gboolean reject, gboolean may_refuse, const VerifySpfConnection *connection,
		const VerifySpfMessage *spf, PcVerdict *verdict)
{
	const PcSpfOutcome *outcome = verify_spf_message_outcome(connection, spf);

	if (!reject || outcome == NULL || outcome->result != PC_SPF_FAIL)
		return FALSE;
	if (!may_refuse) {
		/* negotiated before a reload set reject: the MTA awaits no reply here */
		pc_verdict_note(verdict, "spf-fail-not-refused");
		pc_verdict_add_field(verdict, "spf_domain", outcome->domain);
		return FALSE;
	}
	/* RFC 7372 3.2: X.7.23 "SPF validation failed" */
	pc_verdict_set(verdict, PC_ACTION_REJECT, "550", "5.7.23", "spf-fail",
		       "SPF validation failed for %s", outcome->domain);
	pc_verdict_add_field(verdict, "spf_domain", outcome->domain);
	pc_verdict_add_field(verdict, "spf_reason", outcome->reason);
	return TRUE;
}

static void
verify_spf_add_entry(PcAuthRes *authres, const PcSpfOutcome *outcome, const char *property,
		     const char *value)
{
	PcAuthResResult *entry =
	    pc_authres_add_result(authres, "spf", pc_spf_result_to_string(outcome->result));

	pc_authres_add_property(entry, "smtp", property, value);
}

void
verify_spf_eom(const VerifySpfConnection *connection, const VerifySpfMessage *spf,
	       PcAuthRes *authres, PcVerdict *verdict)
{
	const PcSpfOutcome *outcome = verify_spf_message_outcome(connection, spf);
	const PcSpfOutcome *helo = connection != NULL ? connection->helo_outcome : NULL;

	if (spf->skipped != NULL) {
		pc_verdict_add_field(verdict, "spf", "skipped");
		pc_verdict_add_field(verdict, "spf_skipped", spf->skipped);
		return;
	}
	if (spf->mailfrom != NULL)
		verify_spf_add_entry(authres, spf->mailfrom, "mailfrom", spf->mailfrom->domain);
	if (helo != NULL)
		verify_spf_add_entry(authres, helo, "helo", connection->helo);
	if (outcome != NULL) {
		pc_verdict_add_field(verdict, "spf", pc_spf_result_to_string(outcome->result));
		pc_verdict_add_field(verdict, "spf_domain", outcome->domain);
	}
	if (helo != NULL)
		pc_verdict_add_field(verdict, "spf_helo", pc_spf_result_to_string(helo->result));
	if (outcome != NULL && outcome->result != PC_SPF_PASS && outcome->reason != NULL)
		pc_verdict_add_field(verdict, "spf_reason", outcome->reason);
}
