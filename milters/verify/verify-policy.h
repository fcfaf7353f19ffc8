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
#include "verify-spf.h"

G_BEGIN_DECLS

typedef enum {
	VERIFY_SPF_FAIL_NONE,	/* an SPF fail is reported, never acted on (DMARC decides) */
	VERIFY_SPF_FAIL_REJECT, /* 550 5.7.23 at RCPT */
} VerifySpfFailAction;

typedef struct {
	int spf_fail_action; /* VerifySpfFailAction */
	gint64 max_signatures;
	char **remove_authserv_ids; /* besides our own */
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

G_END_DECLS
