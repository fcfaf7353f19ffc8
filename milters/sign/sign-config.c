/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-config: the [sign] section. Keys and selectors are per domain
 * (domains.d/DOMAIN.conf); the rest is one policy per server.
 *
 * This file has the key table, the check and sign_config_check_schema,
 * which every daemon's -n uses to check the section's syntax (it is in the
 * daemons' shared library, and opens no key). portcullis-sign's own schema,
 * the same plus the hook that loads keys, is in sign-build.c.
 */
#include <string.h>

#include "pc-addr.h"
#include "sign-policy.h"

#define DEFAULT_HEADERS                                                                            \
	"From To Cc Subject Date Message-ID Reply-To In-Reply-To References MIME-Version "         \
	"Content-Type Content-Transfer-Encoding List-*"

/* sized by the header's SIGN_CONFIG_N_KEYS: a key added here must be counted there */
const PcConfigKey sign_config_keys[] = {
    {"roles", PC_CONFIG_STRING_LIST, "submission smtps internal", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, roles), 0,
     "listener roles whose mail is signed, when the client logged in or is in "
     "trusted_networks"},
    {"algorithms", PC_CONFIG_STRING_LIST, "rsa-sha256 ed25519-sha256", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, algorithms), 0,
     "rsa-sha256 and/or ed25519-sha256: one signature each when the domain has a key for it "
     "(RFC 8463 dual signing)"},
    {"canonicalization", PC_CONFIG_STRING, "relaxed/relaxed", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, canonicalization), 0,
     "HEADER/BODY, each simple or relaxed (one word: the body is simple); simple headers "
     "cannot go with ed25519-sha256"},
    {"headers", PC_CONFIG_STRING_LIST, DEFAULT_HEADERS, 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, headers), 0,
     "header fields signed when present (a trailing * matches the rest of a name); must "
     "include From"},
    {"oversign_headers", PC_CONFIG_STRING_LIST, "From", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, oversign_headers), 0,
     "fields listed once more in h= than present, so that one added later breaks the "
     "signature"},
    {"signature_ttl", PC_CONFIG_DURATION, "0", 0, PC_USEC(366 * 86400), NULL,
     G_STRUCT_OFFSET(SignConfig, signature_ttl), 0,
     "signatures expire this long after signing (x=); 0 = no x="},
    {"sign_subdomains", PC_CONFIG_BOOL, "no", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, sign_subdomains), 0,
     "mail from a subdomain without a key of its own is signed with its nearest parent's key "
     "(d= the parent)"},
    {"fallback_domain", PC_CONFIG_STRING, "", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, fallback_domain), 0,
     "mail from a domain without a key is signed with this domain's key (d= this domain); "
     "empty = off"},
    {"keytable", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(SignConfig, keytable), 0,
     "OpenDKIM KeyTable file: KEYNAME DOMAIN:SELECTOR:KEYPATH"},
    {"signingtable", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(SignConfig, signingtable), 0,
     "OpenDKIM SigningTable: FILE (keys looked up as OpenDKIM does) or refile:FILE (wildcard "
     "patterns in file order); consulted after the domains' own keys"},
    {"multiple_signatures", PC_CONFIG_BOOL, "no", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, multiple_signatures), 0,
     "as OpenDKIM's MultipleSignatures: every SigningTable match is used (one signature per "
     "algorithm), not only the first"},
    {"selector", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(SignConfig, selector),
     PC_CONFIG_KEY_PER_DOMAIN, "selector of the rsa-sha256 key (s=)"},
    {"key", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(SignConfig, key),
     PC_CONFIG_KEY_PER_DOMAIN,
     "the domain's RSA private key file (mode 0600, owned by the daemon's user or root)"},
    {"selector_ed25519", PC_CONFIG_STRING, "", 0, 0, NULL,
     G_STRUCT_OFFSET(SignConfig, selector_ed25519), PC_CONFIG_KEY_PER_DOMAIN,
     "selector of the ed25519-sha256 key"},
    {"key_ed25519", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(SignConfig, key_ed25519),
     PC_CONFIG_KEY_PER_DOMAIN, "the domain's Ed25519 private key file (mode 0600)"},
};

static const char *const algorithm_names[SIGN_ALG_LAST] = {
    [SIGN_ALG_RSA_SHA256] = "rsa-sha256",
    [SIGN_ALG_ED25519_SHA256] = "ed25519-sha256",
};

const char *
sign_algorithm_to_string(SignAlgorithm algorithm)
{
	g_return_val_if_fail(algorithm < SIGN_ALG_LAST, "unknown");
	return algorithm_names[algorithm];
}

gboolean
sign_algorithm_from_string(const char *text, SignAlgorithm *algorithm_out)
{
	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		if (g_ascii_strcasecmp(text, algorithm_names[algorithm]) == 0) {
			*algorithm_out = algorithm;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
role_from_string(const char *name, PcListenerRole *role_out)
{
	for (int role = PC_ROLE_MX; role <= PC_ROLE_INTERNAL; role++) {
		if (g_ascii_strcasecmp(name, pc_listener_role_to_string(role)) == 0) {
			*role_out = role;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
parse_canon_word(const char *word, int *canon_out)
{
	if (g_ascii_strcasecmp(word, "simple") == 0)
		*canon_out = SIGN_CANON_SIMPLE;
	else if (g_ascii_strcasecmp(word, "relaxed") == 0)
		*canon_out = SIGN_CANON_RELAXED;
	else
		return FALSE;
	return TRUE;
}

/* "relaxed/relaxed"; one word is the header's, the body then simple (RFC 6376 3.5 c=) */
static gboolean
parse_canonicalization(SignConfig *sign, GError **error)
{
	const char *text = sign->canonicalization != NULL ? sign->canonicalization : "";
	g_auto(GStrv) parts = g_strsplit(text, "/", 3);
	guint n = g_strv_length(parts);

	sign->body_canon = SIGN_CANON_SIMPLE;
	if (n < 1 || n > 2 || !parse_canon_word(parts[0], &sign->header_canon) ||
	    (n == 2 && !parse_canon_word(parts[1], &sign->body_canon))) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "canonicalization: '%s' is not HEADER/BODY of simple or relaxed", text);
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_masks(SignConfig *sign, GError **error)
{
	sign->roles_mask = 0;
	for (gsize i = 0; sign->roles[i] != NULL; i++) {
		PcListenerRole role;

		if (!role_from_string(sign->roles[i], &role)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "roles: '%s' is not a role (mx submission smtps internal)",
				    sign->roles[i]);
			return FALSE;
		}
		sign->roles_mask |= 1u << role;
	}
	sign->algorithms_mask = 0;
	for (gsize i = 0; sign->algorithms[i] != NULL; i++) {
		SignAlgorithm algorithm;

		if (!sign_algorithm_from_string(sign->algorithms[i], &algorithm)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "algorithms: '%s' is not rsa-sha256 or ed25519-sha256",
				    sign->algorithms[i]);
			return FALSE;
		}
		sign->algorithms_mask |= 1u << algorithm;
	}
	if (sign->algorithms_mask == 0) {
		g_set_error_literal(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "algorithms: at least one of rsa-sha256 and ed25519-sha256");
		return FALSE;
	}
	return TRUE;
}

static gboolean
valid_field_name(const char *name, gboolean wildcard)
{
	gsize len = strlen(name);

	if (len == 0 || len > 100)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (wildcard && name[i] == '*' && i == len - 1 && i > 0)
			continue;
		if (!g_ascii_isgraph(name[i]) || name[i] == ':' || name[i] == '*')
			return FALSE;
	}
	return TRUE;
}

static gboolean
check_headers(const SignConfig *sign, GError **error)
{
	gboolean from = FALSE;

	for (gsize i = 0; sign->headers[i] != NULL; i++) {
		if (!valid_field_name(sign->headers[i], TRUE)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "headers: '%s' is not a header field name (a trailing * is "
				    "allowed)",
				    sign->headers[i]);
			return FALSE;
		}
		from = from || g_ascii_strcasecmp(sign->headers[i], "From") == 0;
	}
	if (!from) {
		g_set_error_literal(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "headers: must include From (RFC 6376 5.4)");
		return FALSE;
	}
	for (gsize i = 0; sign->oversign_headers[i] != NULL; i++) {
		if (!valid_field_name(sign->oversign_headers[i], FALSE)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "oversign_headers: '%s' is not a header field name (no "
				    "wildcards: each name goes into h= as written)",
				    sign->oversign_headers[i]);
			return FALSE;
		}
	}
	return TRUE;
}

/* a key needs its selector; a selector is a DNS name */
static gboolean
check_selector(const char *key_name, const char *key, const char *selector_name,
	       const char *selector, GError **error)
{
	if (key != NULL && selector == NULL) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE, "%s: set, but %s is not",
			    key_name, selector_name);
		return FALSE;
	}
	if (selector != NULL) {
		g_autofree char *normal = pc_addr_normalize_domain(selector, strlen(selector));

		if (normal == NULL || selector[0] == '[' || strchr(selector, '@') != NULL) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "%s: '%s' is not a selector (a DNS name)", selector_name,
				    selector);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
check_tables(SignConfig *sign, GError **error)
{
	if ((sign->keytable == NULL) != (sign->signingtable == NULL)) {
		g_set_error_literal(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    sign->keytable == NULL
					? "signingtable: set, but keytable is not"
					: "keytable: set, but signingtable is not");
		return FALSE;
	}
	if (sign->keytable != NULL && !g_path_is_absolute(sign->keytable)) {
		g_set_error_literal(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "keytable: the path must be absolute");
		return FALSE;
	}
	if (sign->fallback_domain != NULL) {
		char *normal =
		    pc_addr_normalize_domain(sign->fallback_domain, strlen(sign->fallback_domain));

		if (normal == NULL || normal[0] == '[') {
			g_free(normal);
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "fallback_domain: '%s' is not a domain", sign->fallback_domain);
			return FALSE;
		}
		g_free(sign->fallback_domain);
		sign->fallback_domain = normal;
	}
	return TRUE;
}

/*
 * check runs on the main section and on every domains.d section, each freshly
 * allocated by pc-config and not yet visible to any other thread: writing the
 * derived fields through the cast is safe (see auth-config.c)
 */
gboolean
sign_config_check(gconstpointer section, GError **error)
{
	SignConfig *sign = (SignConfig *)section;

	if (!parse_masks(sign, error) || !parse_canonicalization(sign, error) ||
	    !check_headers(sign, error) || !check_tables(sign, error) ||
	    !check_selector("key", sign->key, "selector", sign->selector, error) ||
	    !check_selector("key_ed25519", sign->key_ed25519, "selector_ed25519",
			    sign->selector_ed25519, error))
		return FALSE;
	return TRUE;
}

const PcConfigSchema sign_config_check_schema = {
    .name = "sign",
    .keys = sign_config_keys,
    .n_keys = SIGN_CONFIG_N_KEYS,
    .size = sizeof(SignConfig),
    .check = sign_config_check,
};
