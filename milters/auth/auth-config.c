/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth-config: the [auth] section. Only senders may be set per domain (who
 * may send as that domain's addresses); the rest is one policy per server.
 *
 * The schema's check turns require_tls and unauthenticated_owned_senders
 * into role masks and validates senders; its build hook
 * loads sender_login_maps into the section, owned by the snapshot. A file
 * that cannot be read or parsed fails the load, so at start-up the daemon
 * does not start (the error names the file) and on reload the running
 * configuration, with its map, stays in force.
 */
#include <string.h>

#include "auth-policy.h"

static const char *const on_mx_choices[] = {"reject", "allow", NULL};
static const char *const tls_choices[] = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL};
static const char *const signal_choices[] = {"quarantine", "tempfail", "reject", "log", NULL};

static const PcConfigKey auth_keys[] = {
    {"auth_on_mx", PC_CONFIG_ENUM, "reject", 0, 0, on_mx_choices,
     G_STRUCT_OFFSET(AuthConfig, auth_on_mx), 0,
     "an authenticated transaction on an mx listener: reject (at MAIL) or allow"},
    {"require_tls", PC_CONFIG_STRING_LIST, "submission smtps", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, require_tls), 0,
     "roles that must use TLS, at least min_tls_version and min_cipher_bits"},
    {"min_tls_version", PC_CONFIG_ENUM, "TLSv1.2", 0, 0, tls_choices,
     G_STRUCT_OFFSET(AuthConfig, min_tls_version), 0,
     "lowest {tls_version} accepted on the require_tls roles"},
    {"min_cipher_bits", PC_CONFIG_INT, "128", 0, 4096, NULL,
     G_STRUCT_OFFSET(AuthConfig, min_cipher_bits), 0,
     "lowest {cipher_bits} accepted on the require_tls roles"},
    {"sender_login_maps", PC_CONFIG_STRING, "", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, sender_login_maps), 0,
     "file in Postfix smtpd_sender_login_maps syntax: ADDRESS OWNER, OWNER (hash:/lmdb:/"
     "btree:/cdb:/texthash: prefixes name the source file)"},
    {"recipient_delimiter", PC_CONFIG_STRING, "", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, recipient_delimiter), 0,
     "as Postfix's: characters that start an address extension (user+tag@); the owner of "
     "user@domain then owns user+tag@domain (the unstripped key is tried first)"},
    {"bare_key_domains", PC_CONFIG_STRING_LIST, "", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, bare_key_domains), 0,
     "domains where a bare map key (postmaster) owns that local part, as Postfix's own "
     "domains; empty: the local_domains without a domains.d file; none: no domain"},
    {"senders", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(AuthConfig, senders),
     PC_CONFIG_KEY_PER_DOMAIN,
     "owners consulted before the map: ADDRESS-or-@DOMAIN = LOGIN, LOGIN; ..."},
    {"allow_null_sender", PC_CONFIG_BOOL, "no", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, allow_null_sender), 0,
     "accept MAIL FROM:<> on submission and smtps"},
    {"unauthenticated_owned_senders", PC_CONFIG_STRING_LIST,
     "mx:accept submission:reject smtps:reject internal:accept", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, unauthenticated_owned_senders), 0,
     "a client not logged in using a sender the map or senders gives an owner, per role: "
     "reject or accept for every role, or ROLE:reject|accept items (roles not named keep "
     "these defaults)"},
    {"check_header_from", PC_CONFIG_BOOL, "yes", 0, 0, NULL,
     G_STRUCT_OFFSET(AuthConfig, check_header_from), 0,
     "check the From and Sender headers of authenticated mail against the owners too"},
    {"max_networks_per_login", PC_CONFIG_INT, "5", 0, 1000000, NULL,
     G_STRUCT_OFFSET(AuthConfig, max_networks_per_login), 0,
     "distinct client networks (IPv4 /24, IPv6 /64) per login in signal_window; 0 = off"},
    {"max_recipients_per_login", PC_CONFIG_INT, "1000", 0, 100000000, NULL,
     G_STRUCT_OFFSET(AuthConfig, max_recipients_per_login), 0,
     "distinct recipients per login in signal_window; 0 = off"},
    {"signal_window", PC_CONFIG_DURATION, "1h", PC_USEC(60), PC_USEC(7 * 86400), NULL,
     G_STRUCT_OFFSET(AuthConfig, signal_window), 0,
     "the window the two counts above are kept for, opened by the first event"},
    {"signal_action", PC_CONFIG_ENUM, "quarantine", 0, 0, signal_choices,
     G_STRUCT_OFFSET(AuthConfig, signal_action), 0,
     "over a limit: quarantine (hold queue), tempfail, reject or log"},
};

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

/* the roles where unauthenticated_owned_senders is reject when the value does not say */
#define UNAUTHENTICATED_REJECT_DEFAULT ((1u << PC_ROLE_SUBMISSION) | (1u << PC_ROLE_SMTPS))
#define ALL_ROLES ((1u << (PC_ROLE_INTERNAL + 1)) - 1)

static gboolean
parse_reject_accept(const char *text, gboolean *reject_out)
{
	if (g_ascii_strcasecmp(text, "reject") == 0)
		*reject_out = TRUE;
	else if (g_ascii_strcasecmp(text, "accept") == 0)
		*reject_out = FALSE;
	else
		return FALSE;
	return TRUE;
}

/*
 * unauthenticated_owned_senders: at most one "reject" or "accept" for every
 * role, and "ROLE:reject|accept" items for single roles, each role at most
 * once, whatever the order; a role the value does not decide keeps its
 * default. Writes the roles that reject.
 */
static gboolean
parse_unauthenticated(char **items, guint *reject_roles_out, GError **error)
{
	guint roles = UNAUTHENTICATED_REJECT_DEFAULT;
	guint named = 0;
	gboolean have_all = FALSE;
	gboolean reject;

	for (gsize i = 0; items[i] != NULL; i++) {
		const char *colon = strchr(items[i], ':');
		g_autofree char *name = NULL;
		PcListenerRole role;

		if (colon == NULL && parse_reject_accept(items[i], &reject)) {
			if (have_all) {
				g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
					    "unauthenticated_owned_senders: more than one value "
					    "for every role");
				return FALSE;
			}
			have_all = TRUE;
			roles = (roles & named) | (reject ? ALL_ROLES & ~named : 0);
			continue;
		}
		name = colon != NULL ? g_strndup(items[i], colon - items[i]) : NULL;
		if (name == NULL || !role_from_string(name, &role) ||
		    !parse_reject_accept(colon + 1, &reject)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "unauthenticated_owned_senders: '%s' is not reject, accept "
				    "or ROLE:reject|accept (roles mx submission smtps internal)",
				    items[i]);
			return FALSE;
		}
		if (named & (1u << role)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "unauthenticated_owned_senders: role %s named twice",
				    pc_listener_role_to_string(role));
			return FALSE;
		}
		named |= 1u << role;
		roles = reject ? roles | (1u << role) : roles & ~(1u << role);
	}
	*reject_roles_out = roles;
	return TRUE;
}

/*
 * check runs on the main section and on every domains.d section, each freshly
 * allocated by pc-config and not yet visible to any other thread: writing the
 * derived fields through the cast is safe (the memory is not const, only the
 * hook's view of it). The derived field is a plain number.
 */
static gboolean
auth_config_check(gconstpointer section, GError **error)
{
	AuthConfig *auth = (AuthConfig *)section;
	guint roles = 0;

	for (gsize i = 0; auth->require_tls[i] != NULL; i++) {
		PcListenerRole role;

		if (!role_from_string(auth->require_tls[i], &role)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "require_tls: '%s' is not a role (mx submission smtps "
				    "internal)",
				    auth->require_tls[i]);
			return FALSE;
		}
		roles |= 1u << role;
	}
	auth->require_tls_roles = roles;
	/*
	 * the extension is split octet by octet, as Postfix does: a delimiter
	 * that is part of a UTF-8 sequence would cut other characters in two
	 * (and leave a prefix that could be somebody's key)
	 */
	for (const char *p = auth->recipient_delimiter; p != NULL && *p != '\0'; p++) {
		if ((guchar)*p >= 0x80 || !g_ascii_isgraph(*p)) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "recipient_delimiter: only printable ASCII characters");
			return FALSE;
		}
	}
	if (!parse_unauthenticated(auth->unauthenticated_owned_senders,
				   &auth->unauthenticated_reject_roles, error))
		return FALSE;
	if (!auth_senders_validate(auth->senders, error))
		return FALSE;
	return TRUE;
}

/*
 * the map is read here, when the snapshot is built (at start as the daemon's
 * user, at reload by the reload thread), never on a connection thread. A
 * domains.d override names the main file's map (the key is not per domain):
 * it shares the main section's, so a thousand domain files read the map once.
 */
static gboolean
auth_config_build(gpointer section, gconstpointer main_section, GError **error)
{
	AuthConfig *auth = section;
	const AuthConfig *main_auth = main_section;

	if (auth->sender_login_maps == NULL)
		return TRUE;
	if (main_auth != NULL &&
	    g_strcmp0(main_auth->sender_login_maps, auth->sender_login_maps) == 0) {
		/* NULL when the main section failed: that error is reported once, there */
		auth->map = main_auth->map != NULL ? auth_map_ref(main_auth->map) : NULL;
		return TRUE;
	}
	auth->map = auth_map_load(auth->sender_login_maps, error);
	if (auth->map == NULL) {
		g_prefix_error(error, "sender_login_maps: ");
		return FALSE;
	}
	/* what the file gets away with, once per read: at start, at reload and with -n */
	for (const char *const *warning = auth_map_get_warnings(auth->map); *warning != NULL;
	     warning++)
		g_warning("sender_login_maps: %s", *warning);
	return TRUE;
}

static void
auth_config_clear(gpointer section)
{
	AuthConfig *auth = section;

	g_clear_pointer(&auth->map, auth_map_unref);
}

const PcConfigSchema auth_config_schema = {
    .name = "auth",
    .keys = auth_keys,
    .n_keys = G_N_ELEMENTS(auth_keys),
    .size = sizeof(AuthConfig),
    .check = auth_config_check,
    .build = auth_config_build,
    .clear = auth_config_clear,
};
