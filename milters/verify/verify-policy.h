/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-policy: portcullis-verify's decisions, apart from the milter protocol.
 *
 * Today: the Authentication-Results header. Every received A-R header that
 * claims our authserv-id ([global] authserv_id, else the host name) or one
 * of [verify] remove_authserv_ids is deleted, read after RFC 8601 parsing
 * (pc-authres), and one header of ours is inserted at the top with a
 * "method=result" entry per check made: SPF's from verify-spf, DKIM's
 * from verify-dkim, one per signature ("dkim=none" for an unsigned message).
 *
 * Thread-safety: per-message state belongs to one connection's hooks.
 */
#pragma once

#include "pc-authres.h"
#include "pc-config.h"
#include "pc-dns.h"
#include "pc-session.h"
#include "pc-verdict.h"
#include "verify-dkim.h"
#include "verify-dmarc-eom.h"
#include "verify-spf.h"

G_BEGIN_DECLS

typedef enum {
	VERIFY_SPF_FAIL_NONE,	/* an SPF fail is reported, never acted on (DMARC decides) */
	VERIFY_SPF_FAIL_REJECT, /* 550 5.7.23 at RCPT */
} VerifySpfFailAction;

/* what a DMARC fail asking p=reject gets here ([verify] dmarc_reject_action) */
typedef enum {
	VERIFY_DMARC_REJECT_REJECT,	/* 550 5.7.1 at EOM */
	VERIFY_DMARC_REJECT_QUARANTINE, /* the MTA's hold queue */
	VERIFY_DMARC_REJECT_NONE,	/* reported only */
} VerifyDmarcRejectAction;

/* what a DMARC fail asking p=quarantine gets here ([verify] dmarc_quarantine_action) */
typedef enum {
	VERIFY_DMARC_QUARANTINE_HOLD,
	VERIFY_DMARC_QUARANTINE_NONE,
} VerifyDmarcQuarantineAction;

/* what is done with a message, least to most severe (the order matters: see verify-dmarc-eom.c) */
typedef enum {
	VERIFY_DMARC_ACTION_NONE,
	VERIFY_DMARC_ACTION_HOLD,
	VERIFY_DMARC_ACTION_REJECT,
} VerifyDmarcAction;

typedef struct {
	int spf_fail_action; /* VerifySpfFailAction */
	gint64 max_signatures;
	char **remove_authserv_ids; /* besides our own */
	gboolean dmarc;
	int dmarc_org_domain; /* VerifyDmarcDiscovery */
	char *dmarc_psl_file;
	/* per recipient domain (domains.d) */
	gboolean dmarc_enforce;
	int dmarc_reject_action;     /* VerifyDmarcRejectAction */
	int dmarc_quarantine_action; /* VerifyDmarcQuarantineAction */
	/* main section only */
	PcNetList *dmarc_trusted_forwarders;
	char *dmarc_history_dir; /* NULL: no history, no reports */
	gint64 dmarc_history_max_size;
	gint64 dmarc_history_keep; /* microseconds */
	char *dmarc_report_org_name;
	char *dmarc_report_email;
	char *dmarc_report_sendmail;
	char **dmarc_no_report_domains;
	/* built: the public suffix list with dmarc_org_domain = psl (main section only) */
	VerifyPsl *psl;
} VerifyConfig;

extern const PcConfigSchema verify_config_schema;

/* A-R headers removed per message at most: a DoS bound, the rest are removed too */
#define VERIFY_MAX_AUTHRES_SEEN 1000

typedef struct {
	/* instances of Authentication-Results that claim to be ours */
	GArray *forged; /* guint */
	guint authres_seen;
	/* the message's DNS wait (dns_message_budget), less what HELO checks took */
	PcDnsBudget dns_budget;
	VerifySpfMessage spf;
	VerifyDkimMessage *dkim; /* made at the first header (main.c), or NULL */
	VerifyDmarcMessage dmarc;
} VerifyMessage;

gpointer verify_message_new(PcSession *session);
void verify_message_free(gpointer data);

/*
 * verify_authserv_id:
 * Returns: (transfer none) [global] authserv_id, or the host name when it
 * is empty.
 */
const char *verify_authserv_id(const PcConfig *config);

/* header hook: notes an A-R header that claims one of our ids */
void verify_policy_header(const VerifyConfig *verify, PcSession *session, VerifyMessage *message);

/*
 * verify_policy_eom:
 * Deletes the forged headers and inserts ours, built from @authres, at the
 * top. Returns the number of headers removed.
 */
guint verify_policy_eom(PcSession *session, VerifyMessage *message, const PcAuthRes *authres,
			PcVerdict *verdict);

/* "none", "quarantine", "reject": as logs, metrics, A-R and reports name an action */
const char *verify_dmarc_action_to_string(VerifyDmarcAction action);

/*
 * verify_dmarc_eom:
 * DMARC for the message (see verify-dmarc-eom.h): evaluates it through
 * resolver with spf (the outcome standing for the message, or NULL) and the
 * DKIM signatures reported, adds the "dmarc=" entry to authres, sets the
 * verdict when the message is refused, held or tempfailed, and the log
 * fields; the result in dmarc_out (cleared by verify_message_free).
 */
void verify_dmarc_eom(PcSession *session, const VerifyConfig *verify,
		      const VerifyDmarcResolver *resolver, const PcSpfOutcome *spf,
		      const GPtrArray *dkim_signatures, PcAuthRes *authres, PcVerdict *verdict,
		      VerifyDmarcMessage *dmarc_out);

G_END_DECLS
