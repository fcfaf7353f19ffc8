/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth-policy: roles, TLS minimums, sender ownership and the
 * compromised-account signals. The order of the checks at MAIL matters:
 * the port's role first (an untrusted client on an internal port, AUTH on
 * port 25), then TLS, then authentication, then the envelope sender (owned
 * by the login, or, for a client not logged in, owned by nobody where the
 * role says so), and
 * only a transaction that passed all of them is counted for the signals, so
 * that refused attempts do not push a login over its limits.
 */
#include "auth-policy.h"

#include <string.h>

#include "pc-addr.h"

static const char *const reason_names[] = {
    [AUTH_REASON_AUTH_ON_MX] = "auth-on-mx",
    [AUTH_REASON_INTERNAL_UNTRUSTED] = "internal-untrusted",
    [AUTH_REASON_TLS_REQUIRED] = "tls-required",
    [AUTH_REASON_TLS_VERSION] = "tls-version",
    [AUTH_REASON_CIPHER_BITS] = "cipher-bits",
    [AUTH_REASON_AUTH_REQUIRED] = "auth-required",
    [AUTH_REASON_SENDER_SYNTAX] = "sender-syntax",
    [AUTH_REASON_NULL_SENDER] = "null-sender",
    [AUTH_REASON_SENDER_NOT_OWNED] = "sender-not-owned",
    [AUTH_REASON_SENDER_NOT_LOGGED_IN] = "sender-not-logged-in",
    [AUTH_REASON_FROM_COUNT] = "from-count",
    [AUTH_REASON_FROM_INVALID] = "from-invalid",
    [AUTH_REASON_FROM_NEEDS_SENDER] = "from-needs-sender",
    [AUTH_REASON_FROM_NOT_OWNED] = "from-not-owned",
    [AUTH_REASON_SENDER_HEADER_INVALID] = "sender-header-invalid",
    [AUTH_REASON_SENDER_HEADER_NOT_OWNED] = "sender-header-not-owned",
    [AUTH_REASON_HEADERS_TOO_LARGE] = "headers-too-large",
    [AUTH_REASON_MAP_ERROR] = "map-error",
    [AUTH_REASON_STORE_ERROR] = "store-error",
};

static const char *const signal_names[] = {
    [AUTH_SIGNAL_NETWORKS] = "networks",
    [AUTH_SIGNAL_RECIPIENTS] = "recipients",
};

/* the verdict reasons of a signal that acts */
static const char *const signal_reasons[] = {
    [AUTH_SIGNAL_NETWORKS] = "signal-networks",
    [AUTH_SIGNAL_RECIPIENTS] = "signal-recipients",
};

static const char *const signal_action_names[] = {
    [AUTH_SIGNAL_ACTION_QUARANTINE] = "quarantine",
    [AUTH_SIGNAL_ACTION_TEMPFAIL] = "tempfail",
    [AUTH_SIGNAL_ACTION_REJECT] = "reject",
    [AUTH_SIGNAL_ACTION_LOG] = "log",
};

static const char *const tls_names[] = {
    [AUTH_TLS_1_0] = "TLSv1",
    [AUTH_TLS_1_1] = "TLSv1.1",
    [AUTH_TLS_1_2] = "TLSv1.2",
    [AUTH_TLS_1_3] = "TLSv1.3",
};

const char *
auth_reason_to_string(AuthReason reason)
{
	if ((guint)reason < G_N_ELEMENTS(reason_names))
		return reason_names[reason];
	return "none";
}

const char *
auth_signal_to_string(AuthSignal signal)
{
	if ((guint)signal < G_N_ELEMENTS(signal_names))
		return signal_names[signal];
	return "none";
}

const char *
auth_signal_action_to_string(AuthSignalAction action)
{
	if ((guint)action < G_N_ELEMENTS(signal_action_names))
		return signal_action_names[action];
	return "none";
}

const char *
auth_tls_version_to_string(AuthTlsVersion version)
{
	if ((guint)version < G_N_ELEMENTS(tls_names))
		return tls_names[version];
	return "unknown";
}

gpointer
auth_message_new(PcSession *session)
{
	return g_new0(AuthMessage, 1);
}

/*
 * --- TLS ---
 */

int
auth_tls_version_rank(const char *version)
{
	const char *p;
	int major;
	int minor = 0;

	if (version == NULL)
		return -1;
	/* OpenSSL's names: SSLv2 SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3 */
	if (g_str_has_prefix(version, "SSLv"))
		return (g_ascii_isdigit(version[4]) && version[5] == '\0') ? version[4] - '0' : -1;
	if (!g_str_has_prefix(version, "TLSv"))
		return -1;
	p = version + 4;
	if (!g_ascii_isdigit(p[0]) || p[0] == '0')
		return -1;
	major = p[0] - '0';
	p++;
	if (p[0] == '.') {
		if (!g_ascii_isdigit(p[1]) || p[2] != '\0')
			return -1;
		minor = p[1] - '0';
	} else if (p[0] != '\0') {
		return -1;
	}
	return 10 * major + minor;
}

/*
 * --- ownership ---
 */

void
auth_owner_match_clear(AuthOwnerMatch *match)
{
	g_clear_pointer(&match->key, g_free);
	match->source = AUTH_OWNER_SOURCE_NONE;
	match->map_line = 0;
}

/*
 * one key: the domain's senders first, then the map; TRUE when a source has
 * it, recorded in match (may be NULL) for portcullis explain
 */
static gboolean
owner_lookup_key(const AuthConfig *domain_auth, const AuthMap *map, const char *key,
		 const char *login, gboolean map_only, gboolean *owned_out, AuthOwnerMatch *match)
{
	const char *const *owners;

	if (!map_only && auth_senders_lookup(domain_auth->senders, key, login, owned_out)) {
		if (match != NULL) {
			match->key = g_strdup(key);
			match->source = AUTH_OWNER_SOURCE_SENDERS;
		}
		return TRUE;
	}
	if (map == NULL || (owners = auth_map_lookup(map, key)) == NULL)
		return FALSE;
	*owned_out = auth_owners_contain(owners, login);
	if (match != NULL) {
		match->key = g_strdup(key);
		match->source = AUTH_OWNER_SOURCE_MAP;
		match->map_line = auth_map_lookup_line(map, key);
	}
	return TRUE;
}

/*
 * the local part without its address extension: up to the first delimiter
 * character, when one comes after the first octet (as Postfix splits it);
 * (transfer full), or NULL when there is nothing to strip
 */
static char *
strip_extension(const char *local, const char *delimiters)
{
	gsize at, len = strlen(local);

	if (delimiters == NULL || delimiters[0] == '\0')
		return NULL;
	/* Postfix never splits these (split_addr), whatever the delimiters */
	if (g_ascii_strcasecmp(local, "postmaster") == 0 ||
	    g_ascii_strcasecmp(local, "mailer-daemon") == 0 ||
	    g_ascii_strcasecmp(local, "double-bounce") == 0)
		return NULL;
	/* nor, with '-' a delimiter, owner-LIST and LIST-request (mailing lists) */
	if (strchr(delimiters, '-') != NULL &&
	    (g_ascii_strncasecmp(local, "owner-", 6) == 0 ||
	     (len > 8 && g_ascii_strcasecmp(local + len - 8, "-request") == 0)))
		return NULL;
	at = strcspn(local, delimiters);
	if (at == 0 || local[at] == '\0')
		return NULL;
	return g_strndup(local, at);
}

/*
 * whether a bare key ("postmaster alice") applies to an address in domain.
 * Postfix tries bare keys only in its own domains ($mydestination and its
 * interfaces), not in virtual or relay domains; local_domains must hold all
 * of those for the relay guard, so by default the bare keys apply to the
 * local_domains that have no domains.d file (a hosted domain has its own
 * policy, and a key meant for the server must not leak into every
 * customer's domain). bare_key_domains lists them instead ("none": none).
 */
static gboolean
bare_keys_apply(const AuthConfig *auth, const PcConfig *config, const char *domain)
{
	if (config == NULL)
		return FALSE;
	if (auth->bare_key_domains == NULL || auth->bare_key_domains[0] == NULL)
		return pc_config_is_local_domain(config, domain) &&
		       !pc_config_has_domain_file(config, domain);
	for (gsize i = 0; auth->bare_key_domains[i] != NULL; i++) {
		const char *entry = auth->bare_key_domains[i];
		gsize n = strlen(entry);
		gsize len = strlen(domain);

		if (g_ascii_strcasecmp(entry, domain) == 0)
			return TRUE;
		/* ".example.com": its subdomains */
		if (entry[0] == '.' && len > n && g_ascii_strcasecmp(domain + len - n, entry) == 0)
			return TRUE;
	}
	return FALSE;
}

/*
 * Postfix's keys for local@domain (local and domain in their caseless
 * forms), in its order (smtpd_sender_login_maps with recipient_delimiter):
 * user+ext@domain, user@domain, user+ext, user, @domain; for each key the
 * domain's senders, then the map. TRUE when a source lists one of them (the
 * first decides), with *owned_out telling whether login (NULL: nobody) is
 * one of its owners.
 */
static gboolean
owner_walk(const AuthConfig *auth, const PcConfig *config, const AuthMap *map, const char *local,
	   const char *domain, const char *login, gboolean *owned_out, AuthOwnerMatch *match)
{
	const AuthConfig *domain_auth = auth;
	g_autofree char *stripped = strip_extension(local, auth->recipient_delimiter);
	/* a bare local part, as Postfix tries it for its own domains */
	gboolean bare_too = domain[0] == '\0' || bare_keys_apply(auth, config, domain);

	if (config != NULL && domain[0] != '\0')
		domain_auth = pc_config_get_domain_section(config, domain);
	if (domain[0] != '\0') {
		g_autofree char *key = g_strconcat(local, "@", domain, NULL);

		if (owner_lookup_key(domain_auth, map, key, login, FALSE, owned_out, match))
			return TRUE;
		if (stripped != NULL) {
			g_autofree char *base = g_strconcat(stripped, "@", domain, NULL);

			if (owner_lookup_key(domain_auth, map, base, login, FALSE, owned_out,
					     match))
				return TRUE;
		}
	}
	if (bare_too) {
		if (owner_lookup_key(domain_auth, map, local, login, TRUE, owned_out, match))
			return TRUE;
		if (stripped != NULL &&
		    owner_lookup_key(domain_auth, map, stripped, login, TRUE, owned_out, match))
			return TRUE;
	}
	if (domain[0] != '\0') {
		g_autofree char *key = g_strconcat("@", domain, NULL);

		if (owner_lookup_key(domain_auth, map, key, login, FALSE, owned_out, match))
			return TRUE;
	}
	return FALSE;
}

/*
 * the lookup both public functions share: FOUND when a source lists
 * local@domain, *owned_out then telling whether login owns it
 */
static PcLookupStatus
owner_find(const AuthConfig *auth, const PcConfig *config, const AuthMap *map, const char *local,
	   const char *domain, const char *login, gboolean *owned_out, AuthOwnerMatch *match)
{
	g_autofree char *folded_local = NULL;
	g_autofree char *folded_domain = NULL;

	/* the configuration names a map the caller does not have: cannot look */
	if (auth->sender_login_maps != NULL && map == NULL)
		return PC_LOOKUP_TEMPFAIL;
	/* the keys' caseless forms; past the fold's bound nothing can match */
	folded_local = pc_addr_fold_local(local, strlen(local));
	folded_domain = pc_addr_fold_domain(domain, strlen(domain));
	if (folded_local == NULL || folded_domain == NULL)
		return PC_LOOKUP_NOTFOUND;
	*owned_out = FALSE;
	if (!owner_walk(auth, config, map, folded_local, folded_domain, login, owned_out, match))
		return PC_LOOKUP_NOTFOUND;
	return PC_LOOKUP_FOUND;
}

PcLookupStatus
auth_sender_owned(const AuthConfig *auth, const PcConfig *config, const AuthMap *map,
		  const char *local, const char *domain, const char *login)
{
	gboolean owned = FALSE;
	PcLookupStatus status;

	g_return_val_if_fail(auth != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(local != NULL && domain != NULL, PC_LOOKUP_CONFIG);

	if (auth->sender_login_maps != NULL && map == NULL)
		return PC_LOOKUP_TEMPFAIL;
	if (login == NULL)
		return PC_LOOKUP_NOTFOUND;
	status = owner_find(auth, config, map, local, domain, login, &owned, NULL);
	if (status != PC_LOOKUP_FOUND)
		return status;
	/* an authenticated client owns only what is written down */
	return owned ? PC_LOOKUP_FOUND : PC_LOOKUP_NOTFOUND;
}

PcLookupStatus
auth_sender_has_owner(const AuthConfig *auth, const PcConfig *config, const AuthMap *map,
		      const char *local, const char *domain)
{
	gboolean owned = FALSE;

	g_return_val_if_fail(auth != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(local != NULL && domain != NULL, PC_LOOKUP_CONFIG);
	return owner_find(auth, config, map, local, domain, NULL, &owned, NULL);
}

PcLookupStatus
auth_sender_explain(const AuthConfig *auth, const PcConfig *config, const AuthMap *map,
		    const char *local, const char *domain, const char *login,
		    AuthOwnerMatch *match_out)
{
	gboolean owned = FALSE;
	PcLookupStatus status;

	g_return_val_if_fail(auth != NULL && local != NULL && domain != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(match_out != NULL, PC_LOOKUP_CONFIG);
	auth_owner_match_clear(match_out);
	status = owner_find(auth, config, map, local, domain, login, &owned, match_out);
	if (status != PC_LOOKUP_FOUND)
		return status;
	return owned && login != NULL ? PC_LOOKUP_FOUND : PC_LOOKUP_NOTFOUND;
}

/* "<local@domain>", the local part quoted when it needs it */
static char *
format_address(const PcAddress *address)
{
	g_autoptr(GString) out = g_string_new("<");
	gboolean quote = address->local[0] == '\0';

	for (const char *p = address->local; *p != '\0'; p++) {
		if ((guchar)*p <= ' ' || strchr("\"\\(),:;<>@[]", *p) != NULL)
			quote = TRUE;
	}
	if (quote) {
		g_string_append_c(out, '"');
		for (const char *p = address->local; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				g_string_append_c(out, '\\');
			g_string_append_c(out, *p);
		}
		g_string_append_c(out, '"');
	} else {
		g_string_append(out, address->local);
	}
	if (address->domain[0] != '\0')
		g_string_append_printf(out, "@%s", address->domain);
	g_string_append_c(out, '>');
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
lookup_failed(const PcSession *session, AuthReason reason, PcVerdict *verdict,
	      AuthReason *denied_out)
{
	pc_verdict_lookup_failed(verdict, pc_config_get_daemon(session->config)->on_error,
				 auth_reason_to_string(reason));
	if (verdict->action == PC_ACTION_TEMPFAIL)
		*denied_out = reason;
}

static void
set_not_owned(PcVerdict *verdict, AuthReason reason, const char *address, const char *login,
	      AuthReason *denied_out)
{
	pc_verdict_set(verdict, PC_ACTION_REJECT, "553", "5.7.1", auth_reason_to_string(reason),
		       "%s: Sender address rejected: not owned by user %s", address, login);
	*denied_out = reason;
}

/*
 * an IP literal written with leading zeros or as an IPv4-mapped IPv6
 * address: pc-addr gives it the plain spelling, but Postfix compares the
 * text of its keys, so no key of the plain spelling owns it there; nobody
 * owns it here either
 */
static gboolean
literal_spelled_oddly(const PcAddress *address)
{
	return (address->flags & (PC_ADDR_FLAG_LEADING_ZERO | PC_ADDR_FLAG_V4_MAPPED)) != 0;
}

/*
 * TRUE when the step may go on: address owned, or the map failed and
 * on_error is accept (noted). field names the address in the log line.
 */
static gboolean
require_owned(const AuthConfig *auth, PcSession *session, const AuthMessage *state,
	      const PcAddress *address, AuthReason reason, const char *field, PcVerdict *verdict,
	      AuthReason *denied_out)
{
	g_autofree char *shown = format_address(address);
	PcLookupStatus status =
	    literal_spelled_oddly(address)
		? PC_LOOKUP_NOTFOUND
		: auth_sender_owned(auth, session->config, auth->map, address->local,
				    address->domain, session->auth_login);

	switch (status) {
	case PC_LOOKUP_FOUND:
		return TRUE;
	case PC_LOOKUP_NOTFOUND:
		set_not_owned(verdict, reason, shown, session->auth_login, denied_out);
		if (field != NULL)
			pc_verdict_add_field(verdict, field, shown);
		return FALSE;
	case PC_LOOKUP_TEMPFAIL:
	case PC_LOOKUP_CONFIG:
		break;
	}
	lookup_failed(session, AUTH_REASON_MAP_ERROR, verdict, denied_out);
	if (field != NULL)
		pc_verdict_add_field(verdict, field, shown);
	return *denied_out == AUTH_REASON_NONE;
}

/*
 * --- MAIL: the port's role, TLS, authentication ---
 */

static gboolean
check_tls(const AuthConfig *auth, const PcSession *session, PcVerdict *verdict,
	  AuthReason *denied_out)
{
	int minimum = 10 + auth->min_tls_version;

	if (session->tls_version == NULL) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "530", "5.7.0",
			       auth_reason_to_string(AUTH_REASON_TLS_REQUIRED),
			       "Must issue a STARTTLS command first");
		*denied_out = AUTH_REASON_TLS_REQUIRED;
		return FALSE;
	}
	/* an unknown spelling counts as too old: the strictest reading */
	if (auth_tls_version_rank(session->tls_version) < minimum) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.0",
			       auth_reason_to_string(AUTH_REASON_TLS_VERSION),
			       "TLS version %s is below the minimum %s", session->tls_version,
			       auth_tls_version_to_string(auth->min_tls_version));
		*denied_out = AUTH_REASON_TLS_VERSION;
		return FALSE;
	}
	if (session->cipher_bits < auth->min_cipher_bits) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.0",
			       auth_reason_to_string(AUTH_REASON_CIPHER_BITS),
			       "TLS cipher strength %" G_GINT64_FORMAT
			       " bits is below the minimum %" G_GINT64_FORMAT,
			       session->cipher_bits, auth->min_cipher_bits);
		*denied_out = AUTH_REASON_CIPHER_BITS;
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_role(const AuthConfig *auth, const PcSession *session, PcVerdict *verdict,
	   AuthReason *denied_out)
{
	gboolean authenticated = pc_session_is_authenticated(session);
	PcListenerRole role = session->role;

	/* decided here, not at CONNECT: the MTA allows no reply text there */
	if (role == PC_ROLE_INTERNAL && !session->trusted) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.1",
			       auth_reason_to_string(AUTH_REASON_INTERNAL_UNTRUSTED),
			       "Access denied");
		*denied_out = AUTH_REASON_INTERNAL_UNTRUSTED;
		return FALSE;
	}
	if (role == PC_ROLE_MX && authenticated && auth->auth_on_mx == AUTH_ON_MX_REJECT) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.1",
			       auth_reason_to_string(AUTH_REASON_AUTH_ON_MX),
			       "Authentication not allowed on this port; use submission (587) "
			       "or smtps (465)");
		*denied_out = AUTH_REASON_AUTH_ON_MX;
		return FALSE;
	}
	if ((auth->require_tls_roles & (1u << role)) != 0 &&
	    !check_tls(auth, session, verdict, denied_out))
		return FALSE;
	if ((role == PC_ROLE_SUBMISSION || role == PC_ROLE_SMTPS) && !authenticated) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "530", "5.7.0",
			       auth_reason_to_string(AUTH_REASON_AUTH_REQUIRED),
			       "Authentication required");
		*denied_out = AUTH_REASON_AUTH_REQUIRED;
		return FALSE;
	}
	return TRUE;
}

static gboolean
check_envelope(const AuthConfig *auth, PcSession *session, const AuthMessage *state,
	       PcVerdict *verdict, AuthReason *denied_out)
{
	const char *sender = session->sender != NULL ? session->sender : "";
	g_autoptr(PcAddress) address = NULL;
	gboolean submission = session->role == PC_ROLE_SUBMISSION || session->role == PC_ROLE_SMTPS;

	/* the MTA's argument is a C string; past the limit it is too long, never truncated */
	if (!pc_addr_parse_path(sender, strnlen(sender, PC_ADDR_MAX_PATH * 4), &address, NULL)) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "501", "5.1.7",
			       auth_reason_to_string(AUTH_REASON_SENDER_SYNTAX),
			       "Bad sender address syntax");
		*denied_out = AUTH_REASON_SENDER_SYNTAX;
		return FALSE;
	}
	if (address->flags & PC_ADDR_FLAG_NULL) {
		if (!submission || auth->allow_null_sender)
			return TRUE;
		set_not_owned(verdict, AUTH_REASON_NULL_SENDER, "<>", session->auth_login,
			      denied_out);
		return FALSE;
	}
	return require_owned(auth, session, state, address, AUTH_REASON_SENDER_NOT_OWNED, NULL,
			     verdict, denied_out);
}

/*
 * a client that is not logged in, on a role where an owned sender is
 * refused (Postfix's reject_unauthenticated_sender_login_mismatch): TRUE
 * when the step may go on. <> has no owner. A sender that does not parse
 * is refused as for a logged-in client, since what cannot be read cannot
 * be shown to have no owner.
 */
static gboolean
check_unauthenticated(const AuthConfig *auth, PcSession *session, PcVerdict *verdict,
		      AuthReason *denied_out)
{
	const char *sender = session->sender != NULL ? session->sender : "";
	g_autoptr(PcAddress) address = NULL;
	g_autofree char *shown = NULL;

	if ((auth->unauthenticated_reject_roles & (1u << session->role)) == 0)
		return TRUE;
	if (!pc_addr_parse_path(sender, strnlen(sender, PC_ADDR_MAX_PATH * 4), &address, NULL)) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "501", "5.1.7",
			       auth_reason_to_string(AUTH_REASON_SENDER_SYNTAX),
			       "Bad sender address syntax");
		*denied_out = AUTH_REASON_SENDER_SYNTAX;
		return FALSE;
	}
	if ((address->flags & PC_ADDR_FLAG_NULL) || literal_spelled_oddly(address))
		return TRUE;
	switch (auth_sender_has_owner(auth, session->config, auth->map, address->local,
				      address->domain)) {
	case PC_LOOKUP_NOTFOUND:
		return TRUE;
	case PC_LOOKUP_FOUND:
		shown = format_address(address);
		/* Postfix's words */
		pc_verdict_set(verdict, PC_ACTION_REJECT, "553", "5.7.1",
			       auth_reason_to_string(AUTH_REASON_SENDER_NOT_LOGGED_IN),
			       "%s: Sender address rejected: not logged in", shown);
		*denied_out = AUTH_REASON_SENDER_NOT_LOGGED_IN;
		return FALSE;
	case PC_LOOKUP_TEMPFAIL:
	case PC_LOOKUP_CONFIG:
		break;
	}
	lookup_failed(session, AUTH_REASON_MAP_ERROR, verdict, denied_out);
	return *denied_out == AUTH_REASON_NONE;
}

/*
 * --- signals ---
 */

/*
 * a store key for a login (in its caseless form: logins compare
 * case-insensitively) and an item; a digest stands in when the key would
 * be too long
 */
static char *
store_key(const char *prefix, const char *login, const char *item)
{
	g_autofree char *folded = pc_addr_fold_local(login, strlen(login));
	/* a login past the fold's bound: its bytes, digested below like any long one */
	g_autofree char *lower = folded != NULL ? g_steal_pointer(&folded) : g_strdup(login);
	g_autofree char *tail =
	    item != NULL ? g_strconcat(lower, ":", item, NULL) : g_steal_pointer(&lower);
	g_autofree char *digest = NULL;

	if (strlen(prefix) + strlen(tail) <= PC_STORE_MAX_KEY)
		return g_strconcat(prefix, tail, NULL);
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, tail, -1);
	return g_strconcat(prefix, "sha256:", digest, NULL);
}

/*
 * The number of distinct items seen for login in the window, item included:
 * "seen" is 1 only the first time item shows up in its window, and only
 * then is the login's count incremented. Both windows open at their first
 * event (pc_store_incr), so this is a fixed-window approximation of a
 * sliding one.
 */
static PcLookupStatus
count_distinct(const AuthConfig *auth, PcSession *session, const char *kind, const char *item,
	       gint64 *count_out)
{
	g_autofree char *seen_prefix = g_strdup_printf("auth:seen-%s:", kind);
	g_autofree char *count_prefix = g_strdup_printf("auth:%ss:", kind);
	g_autofree char *seen_key = store_key(seen_prefix, session->auth_login, item);
	g_autofree char *count_key = store_key(count_prefix, session->auth_login, NULL);
	gint64 seen = 0;
	PcLookupStatus status;

	status =
	    pc_store_incr(session->store, seen_key, 1, auth->signal_window, session->now_us, &seen);
	if (status != PC_LOOKUP_FOUND)
		return status;
	if (seen == 1)
		return pc_store_incr(session->store, count_key, 1, auth->signal_window,
				     session->now_us, count_out);
	status = pc_store_get(session->store, count_key, session->now_us, count_out, NULL);
	/* the count's window closed (or it was evicted) while item's is open: start again */
	if (status == PC_LOOKUP_NOTFOUND)
		return pc_store_incr(session->store, count_key, 1, auth->signal_window,
				     session->now_us, count_out);
	return status;
}

static void
add_count_fields(PcVerdict *verdict, AuthSignal signal, gint64 count, gint64 limit)
{
	char number[32];

	pc_verdict_add_field(verdict, "signal", auth_signal_to_string(signal));
	g_snprintf(number, sizeof(number), "%" G_GINT64_FORMAT, count);
	pc_verdict_add_field(verdict, "count", number);
	g_snprintf(number, sizeof(number), "%" G_GINT64_FORMAT, limit);
	pc_verdict_add_field(verdict, "limit", number);
}

static const char *
signal_text(AuthSignal signal)
{
	return signal == AUTH_SIGNAL_NETWORKS ? "Too many client networks" : "Too many recipients";
}

/*
 * quarantine can only be applied at EOM: remembered until then. Log is
 * logged once per message; tempfail and reject refuse the step.
 */
static void
raise_signal(const AuthConfig *auth, PcSession *session, AuthMessage *state, PcVerdict *verdict,
	     AuthOutcome *outcome, AuthSignal signal, gint64 count, gint64 limit)
{
	guint bit = 1u << signal;

	state->counts[signal] = count;
	switch (auth->signal_action) {
	case AUTH_SIGNAL_ACTION_QUARANTINE:
		state->pending |= bit;
		return;
	case AUTH_SIGNAL_ACTION_LOG:
		if (state->raised & bit)
			return;
		pc_verdict_note(verdict, signal_reasons[signal]);
		break;
	case AUTH_SIGNAL_ACTION_TEMPFAIL:
		pc_verdict_set(verdict, PC_ACTION_TEMPFAIL, "451", "4.7.1", signal_reasons[signal],
			       "%s for user %s, try again later", signal_text(signal),
			       session->auth_login);
		break;
	default:
		pc_verdict_set(verdict, PC_ACTION_REJECT, "554", "5.7.1", signal_reasons[signal],
			       "%s for user %s", signal_text(signal), session->auth_login);
		break;
	}
	state->raised |= bit;
	outcome->signals |= bit;
	add_count_fields(verdict, signal, count, limit);
}

static void
signal_store_failed(const PcSession *session, PcVerdict *verdict, AuthOutcome *outcome)
{
	lookup_failed(session, AUTH_REASON_STORE_ERROR, verdict, &outcome->denied);
}

static void
signal_networks(const AuthConfig *auth, PcSession *session, AuthMessage *state, PcVerdict *verdict,
		AuthOutcome *outcome)
{
	char network[PC_NET_ADDRESS_STRLEN];
	gint64 count = 0;

	if (auth->max_networks_per_login == 0 || !session->client_known)
		return;
	/* a home or office network, or the /64 an IPv6 host picks addresses from */
	pc_net_address_network_key(&session->client, 24, 64, network, sizeof(network));
	if (count_distinct(auth, session, "net", network, &count) != PC_LOOKUP_FOUND) {
		signal_store_failed(session, verdict, outcome);
		return;
	}
	if (count > auth->max_networks_per_login)
		raise_signal(auth, session, state, verdict, outcome, AUTH_SIGNAL_NETWORKS, count,
			     auth->max_networks_per_login);
}

void
auth_policy_mail(const AuthConfig *auth, PcSession *session, AuthMessage *state, PcVerdict *verdict,
		 AuthOutcome *outcome_out)
{
	g_return_if_fail(auth != NULL && session != NULL && state != NULL);

	outcome_out->denied = AUTH_REASON_NONE;
	outcome_out->signals = 0;
	state->pending = 0;
	state->raised = 0;
	memset(state->counts, 0, sizeof(state->counts));

	if (!check_role(auth, session, verdict, &outcome_out->denied))
		return;
	/* not logged in: only whether the sender has an owner matters, and no signal counts */
	if (!pc_session_is_authenticated(session)) {
		check_unauthenticated(auth, session, verdict, &outcome_out->denied);
		return;
	}
	if (!check_envelope(auth, session, state, verdict, &outcome_out->denied))
		return;
	signal_networks(auth, session, state, verdict, outcome_out);
}

/*
 * --- RCPT: recipient fan-out ---
 */

/* a recipient in the caseless forms of its parts; NULL when a part has none */
static char *
recipient_item(const PcAddress *address)
{
	g_autofree char *local = pc_addr_fold_local(address->local, strlen(address->local));
	g_autofree char *domain = pc_addr_fold_domain(address->domain, strlen(address->domain));

	if (local == NULL || domain == NULL)
		return NULL;
	return g_strconcat(local, "@", domain, NULL);
}

void
auth_policy_rcpt(const AuthConfig *auth, PcSession *session, AuthMessage *state, PcVerdict *verdict,
		 AuthOutcome *outcome_out)
{
	const char *rcpt = session->current_rcpt != NULL ? session->current_rcpt : "";
	g_autoptr(PcAddress) address = NULL;
	g_autofree char *item = NULL;
	gint64 count = 0;

	g_return_if_fail(auth != NULL && session != NULL && state != NULL);
	outcome_out->denied = AUTH_REASON_NONE;
	outcome_out->signals = 0;
	if (auth->max_recipients_per_login == 0 || !pc_session_is_authenticated(session))
		return;
	/* one recipient, however it is spelt: case and brackets do not make a new one */
	if (pc_addr_parse_path(rcpt, strnlen(rcpt, PC_ADDR_MAX_PATH * 4), &address, NULL) &&
	    address->domain[0] != '\0')
		item = recipient_item(address);
	if (item == NULL) {
		g_autofree char *raw = g_strndup(rcpt, PC_ADDR_MAX_PATH);

		item = g_ascii_strdown(raw, -1);
	}
	if (count_distinct(auth, session, "rcpt", item, &count) != PC_LOOKUP_FOUND) {
		signal_store_failed(session, verdict, outcome_out);
		return;
	}
	if (count > auth->max_recipients_per_login)
		raise_signal(auth, session, state, verdict, outcome_out, AUTH_SIGNAL_RECIPIENTS,
			     count, auth->max_recipients_per_login);
}

/*
 * --- EOH: From and Sender headers ---
 */

static void
refuse(PcVerdict *verdict, AuthReason reason, const char *text, AuthReason *denied_out)
{
	pc_verdict_set(verdict, PC_ACTION_REJECT, "550", "5.7.1", auth_reason_to_string(reason),
		       "%s", text);
	*denied_out = reason;
}

/* the one header called name parsed; NULL (and refused) when it is unusable */
static PcAddrList *
parse_header(const PcHeader *header, gboolean single, AuthReason reason, const char *text,
	     PcVerdict *verdict, AuthReason *denied_out)
{
	g_autoptr(PcAddrList) list = NULL;
	const char *value = header->value != NULL ? header->value : "";

	if (!pc_addr_parse_header_list(value, strlen(value), &list, NULL) ||
	    (list->flags & (PC_ADDR_LIST_FLAG_NO_ADDRESS | PC_ADDR_LIST_FLAG_GROUP)) != 0 ||
	    (single && list->addresses->len != 1)) {
		refuse(verdict, reason, text, denied_out);
		return NULL;
	}
	return g_steal_pointer(&list);
}

void
auth_policy_eoh(const AuthConfig *auth, PcSession *session, AuthMessage *state, PcVerdict *verdict,
		AuthOutcome *outcome_out)
{
	AuthReason *denied = &outcome_out->denied;
	g_autoptr(PcAddrList) from = NULL;
	g_autoptr(PcAddrList) sender = NULL;
	guint n_sender;

	g_return_if_fail(auth != NULL && session != NULL && state != NULL);
	outcome_out->denied = AUTH_REASON_NONE;
	outcome_out->signals = 0;
	if (!auth->check_header_from || !pc_session_is_authenticated(session))
		return;
	/* past the session's limits a second From may have gone unseen */
	if (session->headers_overflow) {
		pc_verdict_set(verdict, PC_ACTION_REJECT, "552", "5.3.4",
			       auth_reason_to_string(AUTH_REASON_HEADERS_TOO_LARGE),
			       "Message header too large to check the From address");
		*denied = AUTH_REASON_HEADERS_TOO_LARGE;
		return;
	}
	/* no From at all: the MTA adds one from the envelope sender, checked at MAIL */
	switch (pc_session_count_headers(session, "From")) {
	case 0:
		return;
	case 1:
		break;
	default:
		refuse(verdict, AUTH_REASON_FROM_COUNT, "Message must have exactly one From header",
		       denied);
		return;
	}
	from =
	    parse_header(pc_session_find_header(session, "From"), FALSE, AUTH_REASON_FROM_INVALID,
			 "From header must contain a valid address", verdict, denied);
	if (from == NULL)
		return;
	n_sender = pc_session_count_headers(session, "Sender");
	if (n_sender > 1) {
		refuse(verdict, AUTH_REASON_SENDER_HEADER_INVALID,
		       "Message must have at most one Sender header", denied);
		return;
	}
	if (n_sender == 1) {
		sender = parse_header(pc_session_find_header(session, "Sender"), TRUE,
				      AUTH_REASON_SENDER_HEADER_INVALID,
				      "Sender header must contain exactly one valid address",
				      verdict, denied);
		if (sender == NULL)
			return;
	}
	/* RFC 5322 3.6.2: several authors need a Sender naming the one who sent it */
	if (from->addresses->len > 1 && sender == NULL) {
		refuse(verdict, AUTH_REASON_FROM_NEEDS_SENDER,
		       "From header with several addresses needs a Sender header", denied);
		return;
	}
	for (guint i = 0; i < from->addresses->len; i++) {
		if (!require_owned(auth, session, state, g_ptr_array_index(from->addresses, i),
				   AUTH_REASON_FROM_NOT_OWNED, "header_from", verdict, denied))
			return;
	}
	if (sender != NULL)
		require_owned(auth, session, state, g_ptr_array_index(sender->addresses, 0),
			      AUTH_REASON_SENDER_HEADER_NOT_OWNED, "header_sender", verdict,
			      denied);
}

/*
 * --- EOM: the hold queue ---
 */

void
auth_policy_eom(const AuthConfig *auth, PcSession *session, AuthMessage *state, PcVerdict *verdict,
		AuthOutcome *outcome_out)
{
	gint64 limits[AUTH_SIGNAL_LAST];
	AuthSignal first;

	g_return_if_fail(auth != NULL && session != NULL && state != NULL);
	outcome_out->denied = AUTH_REASON_NONE;
	outcome_out->signals = 0;
	if (state->pending == 0)
		return;
	limits[AUTH_SIGNAL_NETWORKS] = auth->max_networks_per_login;
	limits[AUTH_SIGNAL_RECIPIENTS] = auth->max_recipients_per_login;
	first = (state->pending & (1u << AUTH_SIGNAL_NETWORKS)) != 0 ? AUTH_SIGNAL_NETWORKS
								     : AUTH_SIGNAL_RECIPIENTS;
	/* the text is the hold reason the MTA records; the admin reads it, the sender never does */
	pc_verdict_set(
	    verdict, PC_ACTION_QUARANTINE, NULL, NULL, signal_reasons[first],
	    "portcullis-auth: %s for user %s (%" G_GINT64_FORMAT ", limit %" G_GINT64_FORMAT ")",
	    signal_text(first), session->auth_login, state->counts[first], limits[first]);
	for (int signal = 0; signal < AUTH_SIGNAL_LAST; signal++) {
		if (state->pending & (1u << signal))
			add_count_fields(verdict, signal, state->counts[signal], limits[signal]);
	}
	outcome_out->signals = state->pending;
	state->pending = 0;
}
