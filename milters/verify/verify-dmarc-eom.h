/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-eom: DMARC for portcullis-verify at EOM, between the session
 * and verify-dmarc: the author domain from the From header, the evaluation
 * through pc-dns with the message's budget, the "dmarc=" entry of the
 * Authentication-Results header, and what is done with the message.
 *
 * Not evaluated for a client that logged in or is in trusted_networks (its
 * mail is ours to send, not to judge), nor with [verify] dmarc = no.
 *
 * The From header (RFC 7489 6.6.1, RFC 9989 5.3.1): none, several, one
 * that does not parse or holds several addresses, or an address literal:
 * DMARC cannot be evaluated. On an mx listener the message is refused
 * (550 5.7.1): a message a reader sees as from one domain while DMARC
 * judged another is the multi-From trick of OpenDMARC's CVEs. Elsewhere it
 * is reported as permerror.
 *
 * What is done with a fail, per recipient domain (domains.d): with
 * dmarc_enforce = no nothing; p=reject as dmarc_reject_action says (reject,
 * quarantine = the MTA's hold queue, none); p=quarantine as
 * dmarc_quarantine_action says (hold, none). One EOM reply answers every
 * recipient, so a message for several domains gets the least severe of
 * their actions: refusing mail a domain asked to receive would lose it for
 * that domain. A client in dmarc_trusted_forwarders is never acted on.
 * A temperror is answered "451 4.4.3" (the daemon's on_error = tempfail,
 * the default) wherever a fail could have been acted on: the sender tries
 * again, and the message is never passed as if it had passed.
 *
 * verify_dmarc_eom() itself is declared in verify-policy.h, beside the
 * [verify] section it reads.
 *
 * Thread-safety: per-message state belongs to one connection's hooks.
 */
#pragma once

#include "pc-authres.h"
#include "pc-dns.h"
#include "pc-session.h"
#include "pc-verdict.h"
#include "verify-dkim.h"
#include "verify-dmarc-history.h"
#include "verify-dmarc.h"
#include "verify-spf.h"

G_BEGIN_DECLS

/* what DMARC came to for one message, for the log line, the metrics and the history */
typedef struct {
	/* static: why DMARC was not evaluated ("authenticated", "trusted"), or NULL */
	const char *skipped;
	/* static: what was wrong with the From header ("no-from", ...), or NULL */
	const char *from_problem;
	char *author_domain;
	VerifyDmarcOutcome outcome; /* when evaluated */
	gboolean evaluated;
	int action; /* VerifyDmarcAction applied */
	/* static: why the action is milder than the disposition ("not-enforced", ...), or NULL */
	const char *override;
} VerifyDmarcMessage;

void verify_dmarc_message_clear(VerifyDmarcMessage *message);

/* the resolver verify-dmarc asks through: pc-dns with a message's budget */
typedef struct {
	PcDns *dns;
	PcDnsBudget *budget;
} VerifyDmarcDnsContext;

/* (transfer none) a resolver over context (which must outlive it) */
void verify_dmarc_resolver_init(VerifyDmarcResolver *resolver, VerifyDmarcDnsContext *context);

/*
 * verify_dmarc_author_domain:
 * The author domain of the message's From header (ASCII, lowercase), or
 * NULL with *problem_out set (a static tag).
 */
char *verify_dmarc_author_domain(const PcSession *session, const char **problem_out);

/*
 * verify_dmarc_history_entry_for:
 * Returns: (transfer full) the history line of an evaluation that found a
 * policy record and came to pass or fail (what aggregate reports are made
 * of), or NULL; now is seconds since the epoch.
 */
VerifyDmarcHistoryEntry *
verify_dmarc_history_entry_for(const PcSession *session, VerifyDmarcDiscovery discovery,
			       const VerifyDmarcMessage *dmarc, const PcSpfOutcome *spf,
			       const GPtrArray *dkim_signatures, gint64 now);

G_END_DECLS
