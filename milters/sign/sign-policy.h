/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-policy: what portcullis-sign signs, and with which keys. Pure: a
 * function of the session (role, login, trusted, the From headers) and the
 * configuration snapshot (its keys and tables); it never logs and never
 * reads a file.
 *
 * A message is signed when all of these hold:
 *  - its listener's role is in [sign] roles (default submission, smtps,
 *    internal; an unknown listener is mx);
 *  - the client logged in, or is in trusted_networks (on a role of roles:
 *    trusted clients on mx are not signed unless mx is listed, because a
 *    trusted host on port 25 is often an inbound relay carrying other
 *    people's mail);
 *  - it has exactly one From header holding exactly one address;
 *  - a key is found for the From domain: its own (domains.d/DOMAIN.conf, or
 *    [sign] of the main file for a local domain), else with
 *    sign_subdomains its nearest parent's, else the SigningTable's, else
 *    fallback_domain's.
 * At most one signature per algorithm, for the algorithms listed.
 *
 * Thread-safety: pure functions over immutable data.
 */
#pragma once

#include <glib.h>

#include "pc-addr.h"
#include "pc-config.h"
#include "pc-session.h"
#include "sign-dkim.h"
#include "sign-keys.h"

G_BEGIN_DECLS

typedef struct {
	/* keys, in the schema's order */
	char **roles;
	char **algorithms;
	char *canonicalization;
	char **headers;
	char **oversign_headers;
	gint64 signature_ttl; /* us; 0 = no x= */
	gboolean sign_subdomains;
	char *fallback_domain;
	char *keytable;
	char *signingtable;
	gboolean multiple_signatures;
	char *selector; /* per domain: rsa-sha256 */
	char *key;
	char *selector_ed25519; /* per domain: ed25519-sha256 */
	char *key_ed25519;
	/* derived by the schema's check */
	guint roles_mask;      /* 1 << PcListenerRole */
	guint algorithms_mask; /* 1 << SignAlgorithm */
	int header_canon;      /* SignCanon */
	int body_canon;
	/* built with the snapshot (sign-config.c); NULL in other daemons' -n */
	SignKey *keys[SIGN_ALG_LAST]; /* key, key_ed25519 */
	SignKeyTable *key_table;      /* main section's, shared by overrides */
	SignSigningTable *signing_table;
	SignDkimLib *lib; /* main section only */
} SignConfig;

/* "rsa-sha256", "ed25519-sha256": the a= values (sign-config.c) */
const char *sign_algorithm_to_string(SignAlgorithm algorithm);
gboolean sign_algorithm_from_string(const char *text, SignAlgorithm *algorithm_out);

/* the [sign] keys (sign-config.c) and their check, shared by both schemas */
#define SIGN_CONFIG_N_KEYS 15
extern const PcConfigKey sign_config_keys[SIGN_CONFIG_N_KEYS];
gboolean sign_config_check(gconstpointer section, GError **error);

/* portcullis-sign's schema: keys, tables and library built with the snapshot (sign-build.c) */
extern const PcConfigSchema sign_config_schema;
/*
 * the [sign] schema without its build hook: every daemon's -n checks the
 * section's syntax with it (milters/daemons.c), and only portcullis-sign
 * opens the key files
 */
extern const PcConfigSchema sign_config_check_schema;

/* why a message was not signed; also the metric label */
typedef enum {
	SIGN_REASON_SIGNED,
	SIGN_REASON_ROLE,	     /* the listener's role is not in roles */
	SIGN_REASON_CLIENT,	     /* not logged in, not trusted */
	SIGN_REASON_NO_FROM,	     /* no From header */
	SIGN_REASON_SEVERAL_FROM,    /* more than one From header */
	SIGN_REASON_FROM_INVALID,    /* From does not parse, no address, a group */
	SIGN_REASON_FROM_ADDRESSES,  /* several addresses in From */
	SIGN_REASON_NO_KEY,	     /* no key for the From domain */
	SIGN_REASON_HEADERS_TOO_BIG, /* over the session's header limits */
	SIGN_REASON_ERROR,	     /* the signer failed */
	SIGN_REASON_LAST,
} SignReason;

const char *sign_reason_to_string(SignReason reason);

/* where the key of a signature came from */
typedef enum {
	SIGN_SOURCE_DOMAIN,   /* the From domain's own */
	SIGN_SOURCE_PARENT,   /* a parent's (sign_subdomains) */
	SIGN_SOURCE_TABLE,    /* the SigningTable */
	SIGN_SOURCE_FALLBACK, /* fallback_domain */
} SignSource;

const char *sign_source_to_string(SignSource source);

typedef struct {
	char *domain; /* d= */
	char *selector;
	SignKey *key; /* a reference */
} SignRequest;

typedef struct {
	SignReason reason;
	SignSource source;
	char *from_domain; /* NULL until known */
	guint n_requests;
	/* indexed by SignAlgorithm; key NULL = no signature of that algorithm */
	SignRequest requests[SIGN_ALG_LAST];
} SignDecision;

void sign_decision_clear(SignDecision *decision);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SignDecision, sign_decision_clear)

/*
 * sign_policy_client:
 * TRUE when the session may be signed (role and client); else FALSE with
 * *reason_out ROLE or CLIENT.
 */
gboolean sign_policy_client(const SignConfig *sign, const PcSession *session,
			    SignReason *reason_out);

/*
 * sign_policy_from:
 * The one From address of the message (session->headers), or NULL with
 * *reason_out. Returns: (transfer full) the address.
 */
PcAddress *sign_policy_from(const PcSession *session, SignReason *reason_out);

/*
 * sign_policy_keys:
 * Fills decision with the signatures for the From address (see the header
 * comment for the order of sources); reason NO_KEY when none.
 */
void sign_policy_keys(const PcConfig *config, const PcAddress *from, SignDecision *decision);

/*
 * sign_policy_decide:
 * All three above, after the headers (EOH). decision must be zeroed.
 */
void sign_policy_decide(const PcConfig *config, const PcSession *session, SignDecision *decision);

/*
 * sign_policy_header_wanted:
 * TRUE when a header of this name is signed: it matches [sign] headers or
 * oversign_headers (case-insensitive; a trailing '*' matches any rest:
 * "List-*").
 */
gboolean sign_policy_header_wanted(const SignConfig *sign, const char *name);

G_END_DECLS
