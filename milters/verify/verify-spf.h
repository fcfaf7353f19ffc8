/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-spf: portcullis-verify's SPF, between the session and pc-spf.
 *
 * The HELO identity is checked at HELO and the MAIL FROM identity at MAIL
 * (RFC 7208 2.3, 2.4); for MAIL FROM:<> the HELO identity stands in, and
 * is not checked twice. Neither is checked for a trusted client
 * ([global] trusted_networks), an authenticated one ({auth_authen} at
 * MAIL: the HELO check made before AUTH is then dropped) or one without an
 * IP address. Results go into the Authentication-Results header at EOM
 * ("spf=pass smtp.mailfrom=example.org", "spf=none smtp.helo=NAME") and the
 * decision's log line; with [verify] spf_fail_action = reject a fail of the
 * MAIL FROM identity refuses every recipient (550 5.7.23, RFC 7372).
 *
 * DNS: a HELO check gets a budget of its own, and the time it waited is
 * charged to the budget of the connection's next message, so that what
 * the MTA waits for at MAIL (a HELO callback still running, then MAIL's)
 * stays within one dns_message_budget.
 *
 * Thread-safety: the state belongs to one connection's hooks.
 */
#pragma once

#include "pc-authres.h"
#include "pc-config.h"
#include "pc-dns.h"
#include "pc-session.h"
#include "pc-spf.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

/* per connection (PcSession.connection_data): the HELO identity */
typedef struct {
	char *helo;		    /* the name checked, as given; NULL: none checked */
	PcSpfOutcome *helo_outcome; /* its check, or NULL */
	gint64 helo_dns_us;	    /* DNS wait of HELO checks not yet charged to a message */
} VerifySpfConnection;

gpointer verify_spf_connection_new(PcSession *session);
void verify_spf_connection_free(gpointer data);

/* per message (in VerifyMessage) */
typedef struct {
	/*
	 * static: why SPF was not checked ("trusted", "authenticated",
	 * "no-client-address", "sender-unparsable", "no-helo" for <> without a
	 * HELO); NULL: checked
	 */
	const char *skipped;
	gboolean null_sender;	/* MAIL FROM:<>: the HELO identity's outcome is the message's */
	PcSpfOutcome *mailfrom; /* the MAIL FROM identity's check; NULL for <> or when skipped */
} VerifySpfMessage;

void verify_spf_message_clear(VerifySpfMessage *spf);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VerifySpfMessage, verify_spf_message_clear)

/*
 * verify_spf_charge_helo:
 * Charges the DNS wait of HELO checks made since the last message to
 * budget (a new message's), once.
 */
void verify_spf_charge_helo(VerifySpfConnection *connection, PcDnsBudget *budget);

/*
 * verify_spf_helo:
 * HELO hook: checks the HELO identity of session->helo (unless trusted,
 * without a client address, or the same name as already checked), with a
 * budget of its own from the pinned configuration.
 */
void verify_spf_helo(PcSession *session, PcDns *dns, VerifySpfConnection *connection);

/*
 * verify_spf_mail:
 * MAIL hook: checks the MAIL FROM identity of session->sender with the
 * message's budget, or notes why not. Returns the result that stands for
 * the message (the HELO identity's for <>), or -1 when SPF was skipped or
 * gave nothing to report, for the metric.
 */
int verify_spf_mail(PcSession *session, PcDns *dns, VerifySpfConnection *connection,
		    VerifySpfMessage *spf, PcDnsBudget *budget);

/*
 * verify_spf_message_outcome:
 * (transfer none) the outcome that stands for the message: the MAIL FROM
 * identity's, or the HELO identity's for MAIL FROM:<>; NULL when skipped
 * or not checked.
 */
const PcSpfOutcome *verify_spf_message_outcome(const VerifySpfConnection *connection,
					       const VerifySpfMessage *spf);

/*
 * verify_spf_rcpt:
 * RCPT hook: with spf_fail_action = reject (@reject) and a fail standing for
 * the message, refuses the recipient: "550 5.7.23 SPF validation failed for
 * DOMAIN" (reason spf-fail). @may_refuse is FALSE when this connection
 * negotiated RCPT without a reply (spf_fail_action was none when it
 * opened): the fail is then only logged (reason spf-fail-not-refused).
 * Returns TRUE when it refused.
 */
gboolean verify_spf_rcpt(gboolean reject, gboolean may_refuse,
			 const VerifySpfConnection *connection, const VerifySpfMessage *spf,
			 PcVerdict *verdict);

/*
 * verify_spf_eom:
 * Adds the SPF entries to authres (the MAIL FROM identity's with
 * smtp.mailfrom=DOMAIN, then the HELO identity's with smtp.helo=NAME) and
 * the log fields (spf, spf_domain, spf_helo, spf_reason) to verdict.
 */
void verify_spf_eom(const VerifySpfConnection *connection, const VerifySpfMessage *spf,
		    PcAuthRes *authres, PcVerdict *verdict);

G_END_DECLS
