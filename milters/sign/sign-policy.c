/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-policy: the signing decision (see sign-policy.h). The order of key
 * sources is the one an admin can predict: what is written for the domain
 * itself wins, then what is written for a parent (only when asked), then
 * the migrated OpenDKIM tables, then the catch-all fallback.
 */
#include "sign-policy.h"

#include <string.h>

static const char *const reason_names[SIGN_REASON_LAST] = {
    [SIGN_REASON_SIGNED] = "signed",
    [SIGN_REASON_ROLE] = "role",
    [SIGN_REASON_CLIENT] = "client",
    [SIGN_REASON_NO_FROM] = "no-from",
    [SIGN_REASON_SEVERAL_FROM] = "several-from",
    [SIGN_REASON_FROM_INVALID] = "from-invalid",
    [SIGN_REASON_FROM_ADDRESSES] = "from-addresses",
    [SIGN_REASON_NO_KEY] = "no-key",
    [SIGN_REASON_HEADERS_TOO_BIG] = "headers-too-big",
    [SIGN_REASON_ERROR] = "error",
};

const char *
sign_reason_to_string(SignReason reason)
{
	g_return_val_if_fail(reason < SIGN_REASON_LAST, "unknown");
	return reason_names[reason];
}

const char *
sign_source_to_string(SignSource source)
{
	switch (source) {
	case SIGN_SOURCE_DOMAIN:
		return "domain";
	case SIGN_SOURCE_PARENT:
		return "parent";
	case SIGN_SOURCE_TABLE:
		return "signingtable";
	case SIGN_SOURCE_FALLBACK:
		return "fallback";
	}
	return "unknown";
}

void
sign_decision_clear(SignDecision *decision)
{
	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		SignRequest *request = &decision->requests[algorithm];

		g_clear_pointer(&request->domain, g_free);
		g_clear_pointer(&request->selector, g_free);
		g_clear_pointer(&request->key, sign_key_unref);
	}
	g_clear_pointer(&decision->from_domain, g_free);
	decision->n_requests = 0;
}

gboolean
sign_policy_client(const SignConfig *sign, const PcSession *session, SignReason *reason_out)
{
	/* an unknown listener is mx, the strictest reading (pc-session) */
	PcListenerRole role = session->listener != NULL ? session->role : PC_ROLE_MX;

	if ((sign->roles_mask & (1u << role)) == 0) {
		*reason_out = SIGN_REASON_ROLE;
		return FALSE;
	}
	if (!pc_session_is_authenticated(session) && !session->trusted) {
		*reason_out = SIGN_REASON_CLIENT;
		return FALSE;
	}
	return TRUE;
}

static gboolean
ascii_only(const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		if ((guchar)*p >= 0x80)
			return FALSE;
	}
	return TRUE;
}

PcAddress *
sign_policy_from(const PcSession *session, SignReason *reason_out)
{
	static const SignReason reasons[] = {
	    [PC_FROM_NONE] = SIGN_REASON_NO_FROM,
	    [PC_FROM_SEVERAL] = SIGN_REASON_SEVERAL_FROM,
	    [PC_FROM_NOT_KEPT] = SIGN_REASON_HEADERS_TOO_BIG,
	    [PC_FROM_INVALID] = SIGN_REASON_FROM_INVALID,
	    [PC_FROM_ADDRESSES] = SIGN_REASON_FROM_ADDRESSES,
	};
	PcFromStatus status;
	PcAddress *address = pc_session_single_from(session, &status);

	if (address == NULL) {
		*reason_out = reasons[status];
		return NULL;
	}
	/* d= is an A-label: a From domain in UTF-8 has no key of that name here */
	if (address->domain[0] == '\0' || address->domain[0] == '[' ||
	    !ascii_only(address->domain)) {
		pc_address_free(address);
		*reason_out = SIGN_REASON_FROM_INVALID;
		return NULL;
	}
	return address;
}

static void
add_request(SignDecision *decision, const char *domain, const char *selector, SignKey *key)
{
	SignRequest *request = &decision->requests[sign_key_get_algorithm(key)];

	if (request->key != NULL)
		return;
	request->domain = g_strdup(domain);
	request->selector = g_strdup(selector);
	request->key = sign_key_ref(key);
	decision->n_requests++;
}

/* the keys [sign] gives domain (its domains.d file, or the main file's for a local domain) */
static gboolean
domain_keys(const PcConfig *config, guint algorithms, const char *domain, SignDecision *decision)
{
	const SignConfig *sign;

	if (!pc_config_is_local_domain(config, domain))
		return FALSE;
	sign = pc_config_get_domain_section(config, domain);
	if ((algorithms & (1u << SIGN_ALG_RSA_SHA256)) != 0 &&
	    sign->keys[SIGN_ALG_RSA_SHA256] != NULL)
		add_request(decision, domain, sign->selector, sign->keys[SIGN_ALG_RSA_SHA256]);
	if ((algorithms & (1u << SIGN_ALG_ED25519_SHA256)) != 0 &&
	    sign->keys[SIGN_ALG_ED25519_SHA256] != NULL)
		add_request(decision, domain, sign->selector_ed25519,
			    sign->keys[SIGN_ALG_ED25519_SHA256]);
	return decision->n_requests > 0;
}

static gboolean
table_keys(const SignConfig *sign, const PcAddress *from, SignDecision *decision)
{
	g_auto(GStrv) names = NULL;

	if (sign->signing_table == NULL || sign->key_table == NULL)
		return FALSE;
	names = sign_signing_table_match(sign->signing_table, from->local, from->domain,
					 sign->multiple_signatures);
	for (gsize i = 0; names[i] != NULL; i++) {
		const SignKeyTableEntry *entry = sign_key_table_lookup(sign->key_table, names[i]);

		/* "%" names the From domain's entry, which may not exist */
		if (entry == NULL ||
		    (sign->algorithms_mask & (1u << sign_key_get_algorithm(entry->key))) == 0)
			continue;
		add_request(decision, entry->domain != NULL ? entry->domain : from->domain,
			    entry->selector, entry->key);
	}
	return decision->n_requests > 0;
}

void
sign_policy_keys(const PcConfig *config, const PcAddress *from, SignDecision *decision)
{
	const SignConfig *sign = pc_config_get_section(config);
	guint algorithms = sign->algorithms_mask;

	g_free(decision->from_domain);
	decision->from_domain = g_strdup(from->domain);
	decision->reason = SIGN_REASON_SIGNED;
	decision->source = SIGN_SOURCE_DOMAIN;
	if (domain_keys(config, algorithms, from->domain, decision))
		return;
	decision->source = SIGN_SOURCE_PARENT;
	for (const char *dot = strchr(from->domain, '.'); sign->sign_subdomains && dot != NULL;
	     dot = strchr(dot + 1, '.')) {
		if (domain_keys(config, algorithms, dot + 1, decision))
			return;
	}
	decision->source = SIGN_SOURCE_TABLE;
	if (table_keys(sign, from, decision))
		return;
	decision->source = SIGN_SOURCE_FALLBACK;
	if (sign->fallback_domain != NULL &&
	    domain_keys(config, algorithms, sign->fallback_domain, decision))
		return;
	decision->source = SIGN_SOURCE_DOMAIN;
	decision->reason = SIGN_REASON_NO_KEY;
}

void
sign_policy_decide(const PcConfig *config, const PcSession *session, SignDecision *decision)
{
	const SignConfig *sign = pc_config_get_section(config);
	g_autoptr(PcAddress) from = NULL;
	SignReason reason = SIGN_REASON_SIGNED;

	if (!sign_policy_client(sign, session, &reason)) {
		decision->reason = reason;
		return;
	}
	/* past the session's limits a header to sign (or a second From) went unseen */
	if (session->headers_overflow) {
		decision->reason = SIGN_REASON_HEADERS_TOO_BIG;
		return;
	}
	from = sign_policy_from(session, &reason);
	if (from == NULL) {
		decision->reason = reason;
		return;
	}
	sign_policy_keys(config, from, decision);
}

static gboolean
name_in(char **patterns, const char *name)
{
	for (gsize i = 0; patterns != NULL && patterns[i] != NULL; i++) {
		gsize len = strlen(patterns[i]);

		if (len > 0 && patterns[i][len - 1] == '*') {
			if (g_ascii_strncasecmp(patterns[i], name, len - 1) == 0)
				return TRUE;
		} else if (g_ascii_strcasecmp(patterns[i], name) == 0) {
			return TRUE;
		}
	}
	return FALSE;
}

gboolean
sign_policy_header_wanted(const SignConfig *sign, const char *name)
{
	return name_in(sign->headers, name) || name_in(sign->oversign_headers, name);
}
