/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis explain: one SMTP transaction, described on the command line,
 * through each daemon's policy code with the current configuration, printing
 * per daemon and stage the decision, the reply and what decided it: the
 * file, line, section and key (pc_config_get_origin), or the line of
 * sender_login_maps. What an admin runs to answer "why was this refused?".
 *
 * Each daemon gets its own snapshot (as it loads the file, its schemas) and
 * a session filled as the MTA would fill it, driven through the same policy
 * functions as the daemon's milter hooks, in the same order (see each
 * daemon's main.c). Nothing is written where the daemons keep state: every
 * daemon here counts in a fresh memory store of its own, so rate limits,
 * bans, greylisting and the auth signals are what a first transaction would
 * meet (the live counters: portcullis limits show). DNS is asked only with
 * --dns (portcullis-verify's SPF and DMARC; DKIM needs a message:
 * portcullis verify FILE).
 *
 * The summary at the end is what the MTA would do with the milters of the
 * listener's list in the shipped snippets (verify on mx, sign on the
 * others), asked in their order at each stage: the first refusal wins.
 */
#include <stdio.h>
#include <string.h>

#include "auth-policy.h"
#include "daemons.h"
#include "pc-addr.h"
#include "pc-authres.h"
#include "pc-config.h"
#include "pc-dns.h"
#include "pc-net.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"
#include "rate-policy.h"
#include "relay-policy.h"
#include "sign-policy.h"
#include "tool.h"
#include "verify-policy.h"

/* recipients explained at most: one transaction as a person types it */
#define EXPLAIN_MAX_RCPTS 100
/* keys each daemon's fresh store may hold: one transaction needs a few dozen */
#define EXPLAIN_STORE_KEYS 10000

typedef enum {
	EXPLAIN_RELAY,
	EXPLAIN_AUTH,
	EXPLAIN_RATE,
	EXPLAIN_VERIFY,
	EXPLAIN_SIGN,
	EXPLAIN_N_DAEMONS,
} ExplainDaemon;

/* the same daemons in the same order as portcullis_daemon_schemas and _names */
G_STATIC_ASSERT(EXPLAIN_N_DAEMONS == PORTCULLIS_N_DAEMONS);

typedef struct {
	char *config_path;
	char *listener;
	char *client;
	char *client_name;
	char *helo;
	char *login;
	char *server_addr;
	char *tls;
	gint cipher_bits;
	char *from;
	char *header_from;
	char **rcpts;
	gboolean dns;
} ExplainOptions;

/* one daemon's refusal (or hold), for the summary */
typedef struct {
	gboolean set;
	char *reply;
} ExplainRefusal;

typedef struct {
	const ExplainOptions *options;
	const char *path;
	PcNetAddress client;
	gboolean client_known;
	char *sender;	     /* the MAIL argument, "<...>" */
	GPtrArray *rcpts;    /* the RCPT arguments */
	PcDns *dns;	     /* with --dns */
	PcListenerRole role; /* the listener's, from the first snapshot loaded */
	/* per daemon: refusal at CONNECT/MAIL, per recipient, at EOH/EOM, and a hold */
	ExplainRefusal mail[EXPLAIN_N_DAEMONS];
	ExplainRefusal *rcpt[EXPLAIN_N_DAEMONS]; /* rcpts->len each */
	ExplainRefusal data[EXPLAIN_N_DAEMONS];
	ExplainRefusal hold[EXPLAIN_N_DAEMONS];
	gboolean loaded[EXPLAIN_N_DAEMONS];
	char *signature;	 /* what sign would add, for the summary */
	const char *verify_note; /* static: what verify did not evaluate, for the summary */
} Explain;

/* ------------------------------------------------------------- wording */

/* "[group] key = VALUE-AS-WRITTEN at FILE:LINE", or "(default)" when no file sets it */
static char *
key_at(const PcConfig *config, const char *group, const char *key, const char *domain)
{
	const char *origin = pc_config_get_origin(config, group, key, domain);

	if (origin == NULL)
		return g_strdup_printf("[%s] %s (default)", group, key);
	return g_strdup_printf("[%s] %s at %s", group, key, origin);
}

/*
 * the reply text as the client reads it: the milter's text with its '%'
 * doubling undone (both MTAs show one)
 */
static char *
client_text(const PcVerdict *verdict)
{
	g_autofree char *text = pc_verdict_milter_text(verdict);
	GString *out;

	if (text == NULL)
		return NULL;
	out = g_string_sized_new(strlen(text));
	for (const char *p = text; *p != '\0'; p++) {
		g_string_append_c(out, *p);
		if (p[0] == '%' && p[1] == '%')
			p++;
	}
	return g_string_free(out, FALSE);
}

/* "554 5.7.1 text", "hold (text)" or the action's name */
static char *
verdict_reply(const PcVerdict *verdict)
{
	g_autofree char *text = client_text(verdict);

	if (verdict->action == PC_ACTION_QUARANTINE)
		return g_strdup_printf("hold (%s)", text != NULL ? text : "");
	if (verdict->code[0] == '\0')
		return g_strdup(pc_action_to_string(verdict->action));
	return g_strdup_printf("%s %s %s", verdict->code, verdict->xcode, text != NULL ? text : "");
}

/* a verdict for the next stage */
static void
verdict_reset(PcVerdict *verdict)
{
	pc_verdict_clear(verdict);
	pc_verdict_init(verdict);
}

static gboolean
verdict_refuses(const PcVerdict *verdict)
{
	return verdict->action == PC_ACTION_REJECT || verdict->action == PC_ACTION_TEMPFAIL ||
	       verdict->action == PC_ACTION_DISCARD;
}

/* one stage's line, then its reasons indented; records a refusal in slot */
static void
print_stage(const char *stage, const char *what, const PcVerdict *verdict, const char *why,
	    ExplainRefusal *slot, ExplainRefusal *hold_slot)
{
	g_autofree char *reply = verdict_reply(verdict);

	printf("  %-5s %s%s%s\n", stage, what != NULL ? what : "", what != NULL ? ": " : "", reply);
	if (verdict->reason != NULL)
		printf("        reason: %s\n", verdict->reason);
	if (why != NULL && why[0] != '\0')
		printf("        why: %s\n", why);
	if (verdict_refuses(verdict) && slot != NULL && !slot->set) {
		slot->set = TRUE;
		slot->reply = g_strdup(reply);
	}
	if (verdict->action == PC_ACTION_QUARANTINE && hold_slot != NULL && !hold_slot->set) {
		hold_slot->set = TRUE;
		hold_slot->reply = g_strdup(reply);
	}
}

/* the domain of an envelope path, lowercased, or NULL (none, or it does not parse) */
static char *
path_domain(const char *path)
{
	g_autoptr(PcAddress) address = NULL;

	if (!pc_addr_parse_path(path, strnlen(path, PC_ADDR_MAX_PATH * 4), &address, NULL) ||
	    address->domain[0] == '\0')
		return NULL;
	return g_ascii_strdown(address->domain, -1);
}

/* "the client is/is not in [global] trusted_networks at ..., and logged in as L / did not log in"
 */
static char *
client_standing(const PcSession *session)
{
	g_autofree char *trusted = key_at(session->config, "global", "trusted_networks", NULL);

	return g_strdup_printf(
	    "the client %s %s %s; %s%s", session->client_known ? session->client_ip : "(unknown)",
	    session->trusted ? "is in" : "is not in", trusted,
	    pc_session_is_authenticated(session) ? "logged in as " : "did not log in",
	    pc_session_is_authenticated(session) ? session->auth_login : "");
}

static gboolean attached(const Explain *ex, ExplainDaemon d);

/*
 * The MTA asks its milters in list order and stops at the first refusal:
 * the attached daemon before d that refused MAIL (rcpt < 0), or this
 * recipient, or the message (data), so d is not asked; NULL when none did
 */
static const char *
refused_before(const Explain *ex, ExplainDaemon d, gint rcpt, gboolean data)
{
	for (int e = 0; e < (int)d; e++) {
		if (!attached(ex, e))
			continue;
		if (ex->mail[e].set || (rcpt >= 0 && ex->rcpt[e][rcpt].set) ||
		    (data && ex->data[e].set))
			return portcullis_daemon_names[e];
	}
	return NULL;
}

/* TRUE (and says so) when an earlier daemon's refusal means d is not asked */
static gboolean
not_asked(const Explain *ex, ExplainDaemon d, const char *stage, const char *what, gint rcpt,
	  gboolean data)
{
	const char *who = refused_before(ex, d, rcpt, data);

	if (who == NULL)
		return FALSE;
	printf("  %-5s %s%snot asked: the MTA stopped at %s's refusal\n", stage,
	       what != NULL ? what : "", what != NULL ? ": " : "", who);
	return TRUE;
}

/* ------------------------------------------------------------- sessions */

static const PcListener *
find_listener(const PcConfig *config, const char *name)
{
	for (guint i = 0; i < pc_config_get_n_listeners(config); i++) {
		const PcListener *listener = pc_config_get_listener(config, i);

		if (strcmp(listener->name, name) == 0)
			return listener;
	}
	return NULL;
}

/*
 * a session on config as CONNECT, HELO and the MAIL macros leave it: the
 * client, the listener named by --listener, TLS, the login
 */
static PcSession *
session_new(Explain *ex, PcConfig *config, PcStore *store)
{
	const ExplainOptions *options = ex->options;
	const PcListener *listener = find_listener(config, options->listener);
	PcSession *session = pc_session_new(store, g_get_monotonic_time());
	PcConfigSlot slot;

	pc_session_set_client(session, options->client_name, ex->client_known ? &ex->client : NULL);
	if (listener->daemon_names != NULL && listener->daemon_names[0] != NULL)
		session->daemon_name = g_strdup(listener->daemon_names[0]);
	if (listener->ports != NULL && listener->ports->len > 0)
		session->daemon_port = g_array_index(listener->ports, gint64, 0);
	pc_config_slot_init(&slot, config);
	pc_session_pin_config(session, &slot);
	pc_config_slot_clear(&slot);
	/* the listener as named, however its names and ports resolve */
	session->listener = listener;
	session->role = listener->role;
	if (options->helo != NULL)
		pc_session_set_helo(session, options->helo);
	if (options->server_addr != NULL)
		session->daemon_addr = g_strdup(options->server_addr);
	if (options->tls != NULL) {
		session->tls_version = g_strdup(options->tls);
		session->cipher_bits = options->cipher_bits;
	}
	if (options->login != NULL) {
		session->auth_login = g_strdup(options->login);
		session->auth_type = g_strdup("PLAIN");
	}
	return session;
}

static void
session_start_message(Explain *ex, PcSession *session)
{
	pc_session_set_sender(session, ex->sender);
	session->in_message = TRUE;
}

static void
session_add_from(Explain *ex, PcSession *session)
{
	if (ex->options->header_from != NULL)
		pc_session_add_header(session, "From", ex->options->header_from, TRUE);
}

/* ------------------------------------------------------------- relay */

static char *
relay_why(const PcSession *session, const char *rcpt, const PcVerdict *verdict, RelayReason denied)
{
	RelayReason reason = relay_classify_recipient(session->config, session, rcpt);
	g_autofree char *domain = path_domain(rcpt);
	g_autofree char *standing = client_standing(session);
	g_autofree char *locals = key_at(session->config, "global", "local_domains", NULL);
	const PcGlobalConfig *global = pc_config_get_global(session->config);

	if (denied == RELAY_REASON_BANNED) {
		g_autofree char *limit = key_at(session->config, "relay", "probe_limit", NULL);
		g_autofree char *window = key_at(session->config, "relay", "probe_window", NULL);

		return g_strdup_printf("the client is banned for its relay attempts: %s; %s", limit,
				       window);
	}
	if (reason == RELAY_REASON_SYNTAX)
		return g_strdup("the address does not parse as an RFC 5321 path (or has a "
				"comment or a second path around it)");
	if (reason == RELAY_REASON_TOO_LONG)
		return g_strdup("the address is past the length limits (path 256, local part 200, "
				"domain 255 octets)");
	if (reason == RELAY_REASON_NONE) {
		if (domain != NULL && pc_config_has_domain_file(session->config, domain))
			return g_strdup_printf("%s is ours: %s/%s.conf exists", domain,
					       global->domains_dir, domain);
		return g_strdup_printf("%s is ours: %s", domain != NULL ? domain : "the address",
				       locals);
	}
	if (reason == RELAY_REASON_FOREIGN_DOMAIN) {
		g_autofree char *what =
		    g_strdup_printf("%s is not ours: %s lists neither it nor a parent, and %s has "
				    "no %s.conf",
				    domain != NULL ? domain : "the domain", locals,
				    global->domains_dir != NULL ? global->domains_dir : "domains.d",
				    domain != NULL ? domain : "DOMAIN");

		return g_strdup_printf("%s; %s%s", what, standing,
				       verdict->action == PC_ACTION_CONTINUE ? ", so it may relay"
									     : "");
	}
	return g_strdup_printf("the address is a relay attempt (%s), refused whatever domain it "
			       "names unless the client may relay; %s%s",
			       relay_reason_to_string(reason), standing,
			       verdict->action == PC_ACTION_CONTINUE ? ", so it may" : "");
}

static void
explain_relay(Explain *ex, PcConfig *config, PcStore *store)
{
	g_autoptr(PcSession) session = session_new(ex, config, store);
	const RelayConfig *relay = pc_config_get_section(config);
	RelaySession state = {0};
	g_auto(PcVerdict) verdict;

	pc_verdict_init(&verdict);
	relay_policy_connect(relay, session, &state, &verdict);
	if (verdict_refuses(&verdict)) {
		g_autofree char *ban = key_at(config, "relay", "probe_limit", NULL);

		print_stage("CONNECT", NULL, &verdict, ban, &ex->mail[EXPLAIN_RELAY], NULL);
		return;
	}
	session_start_message(ex, session);
	for (guint i = 0; i < ex->rcpts->len; i++) {
		const char *rcpt = ex->rcpts->pdata[i];
		RelayReason denied = RELAY_REASON_NONE;
		gboolean banned_now = FALSE;
		g_autofree char *why = NULL;

		verdict_reset(&verdict);
		pc_session_set_current_rcpt(session, rcpt);
		relay_policy_rcpt(relay, session, &state, &verdict, &denied, &banned_now);
		why = relay_why(session, rcpt, &verdict, denied);
		print_stage("RCPT", rcpt, &verdict, why, &ex->rcpt[EXPLAIN_RELAY][i], NULL);
		if (banned_now) {
			g_autofree char *limit = key_at(config, "relay", "probe_limit", NULL);

			printf("        and bans the client: %s\n", limit);
		}
	}
}

/* ------------------------------------------------------------- auth */

/*
 * why @address is or is not owned by the login: the key that decided and
 * where it is written, or that no source lists any of its keys
 */
static char *
owner_why(const AuthConfig *auth, const PcConfig *config, const PcAddress *address,
	  const char *login)
{
	g_auto(AuthOwnerMatch) match = {0};
	g_autofree char *shown = g_strdup_printf("%s@%s", address->local, address->domain);
	g_autofree char *senders = NULL;
	g_autofree char *maps = key_at(config, "auth", "sender_login_maps", NULL);
	g_autofree char *folded = pc_addr_fold_domain(address->domain, strlen(address->domain));
	PcLookupStatus status;
	const char *owned;

	/* as auth-policy.c: Postfix compares the text of its keys, so nobody owns these */
	if (address->flags & (PC_ADDR_FLAG_LEADING_ZERO | PC_ADDR_FLAG_V4_MAPPED))
		return g_strdup_printf("%s is an IP literal written with leading zeros or as an "
				       "IPv4-mapped address: no key owns it",
				       shown);
	status = auth_sender_explain(auth, config, auth->map, address->local, address->domain,
				     login, &match);
	owned = status == PC_LOOKUP_FOUND ? "is one of its owners" : "is not one of its owners";

	senders = key_at(config, "auth", "senders", folded != NULL ? folded : address->domain);
	if (status == PC_LOOKUP_TEMPFAIL || status == PC_LOOKUP_CONFIG)
		return g_strdup_printf("the map could not be read: %s", maps);
	switch (match.source) {
	case AUTH_OWNER_SOURCE_SENDERS:
		return g_strdup_printf("%s matches the key %s of %s: %s %s", shown, match.key,
				       senders, login != NULL ? login : "a client not logged in",
				       login != NULL ? owned : "is no owner of it");
	case AUTH_OWNER_SOURCE_MAP:
		return g_strdup_printf("%s matches the key %s at %s:%u (%s): %s %s", shown,
				       match.key, auth->sender_login_maps, match.map_line, maps,
				       login != NULL ? login : "a client not logged in",
				       login != NULL ? owned : "is no owner of it");
	case AUTH_OWNER_SOURCE_NONE:
	default:
		break;
	}
	if (auth->sender_login_maps != NULL)
		return g_strdup_printf("no owner is listed for %s: %s (%s) has no key for it (nor "
				       "its extension-less form, @%s, or a bare key where those "
				       "apply), and %s neither",
				       shown, auth->sender_login_maps, maps, address->domain,
				       senders);
	return g_strdup_printf("no owner is listed for %s: there is no sender_login_maps (%s), "
			       "and %s lists none",
			       shown, maps, senders);
}

static char *
envelope_owner_why(const AuthConfig *auth, const PcSession *session)
{
	const char *sender = session->sender != NULL ? session->sender : "";
	g_autoptr(PcAddress) address = NULL;

	if (!pc_addr_parse_path(sender, strnlen(sender, PC_ADDR_MAX_PATH * 4), &address, NULL))
		return g_strdup("the envelope sender does not parse as an address");
	if (address->flags & PC_ADDR_FLAG_NULL) {
		g_autofree char *key = key_at(session->config, "auth", "allow_null_sender", NULL);

		return g_strdup_printf("the null sender <> is owned by nobody: %s", key);
	}
	return owner_why(auth, session->config, address, session->auth_login);
}

static char *
header_owner_why(const AuthConfig *auth, const PcSession *session, const char *value)
{
	g_autoptr(PcAddrList) list = NULL;
	g_autoptr(GString) out = g_string_new(NULL);

	if (!pc_addr_parse_header_list(value, strlen(value), &list, NULL) ||
	    list->addresses->len == 0)
		return g_strdup("the From header holds no address that parses");
	for (guint i = 0; i < list->addresses->len; i++) {
		g_autofree char *one =
		    owner_why(auth, session->config, g_ptr_array_index(list->addresses, i),
			      session->auth_login);

		g_string_append_printf(out, "%s%s", i > 0 ? "; " : "", one);
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *
auth_mail_why(const AuthConfig *auth, const PcSession *session, const PcVerdict *verdict)
{
	const PcConfig *config = session->config;
	const char *reason = verdict->reason != NULL ? verdict->reason : "";
	g_autofree char *role_key = g_strdup_printf(
	    "listener.%s", session->listener != NULL ? session->listener->name : "");
	g_autofree char *role = key_at(config, role_key, "role", NULL);

	if (strcmp(reason, "auth-on-mx") == 0) {
		g_autofree char *key = key_at(config, "auth", "auth_on_mx", NULL);

		return g_strdup_printf("a login on an mx listener (%s): %s", role, key);
	}
	if (strcmp(reason, "internal-untrusted") == 0) {
		g_autofree char *standing = client_standing(session);

		return g_strdup_printf("an internal listener (%s) takes trusted clients only; %s",
				       role, standing);
	}
	if (strcmp(reason, "tls-required") == 0 || strcmp(reason, "tls-version") == 0 ||
	    strcmp(reason, "cipher-bits") == 0) {
		g_autofree char *require = key_at(config, "auth", "require_tls", NULL);
		g_autofree char *version = key_at(config, "auth", "min_tls_version", NULL);
		g_autofree char *bits = key_at(config, "auth", "min_cipher_bits", NULL);

		return g_strdup_printf(
		    "TLS is required on %s (%s); %s; %s; the session has %s",
		    pc_listener_role_to_string(session->role), require, version, bits,
		    session->tls_version != NULL ? session->tls_version : "no TLS (--tls)");
	}
	if (strcmp(reason, "auth-required") == 0)
		return g_strdup_printf("the listener's role %s (%s) takes logged-in clients only "
				       "(--login)",
				       pc_listener_role_to_string(session->role), role);
	if (strcmp(reason, "sender-not-logged-in") == 0) {
		g_autofree char *key =
		    key_at(config, "auth", "unauthenticated_owned_senders", NULL);
		g_autofree char *owner = envelope_owner_why(auth, session);

		return g_strdup_printf("a sender with an owner needs a login on %s (%s); %s",
				       pc_listener_role_to_string(session->role), key, owner);
	}
	if (strcmp(reason, "sender-not-owned") == 0 || strcmp(reason, "null-sender") == 0 ||
	    strcmp(reason, "map-error") == 0)
		return envelope_owner_why(auth, session);
	if (verdict->action != PC_ACTION_CONTINUE)
		return NULL;
	/* why it went on */
	if (pc_session_is_authenticated(session))
		return envelope_owner_why(auth, session);
	if ((auth->unauthenticated_reject_roles & (1u << session->role)) != 0) {
		g_autofree char *key =
		    key_at(config, "auth", "unauthenticated_owned_senders", NULL);

		return g_strdup_printf("not logged in, and the sender has no owner (%s)", key);
	}
	return g_strdup_printf("not logged in on role %s (%s): the sender is not checked",
			       pc_listener_role_to_string(session->role), role);
}

static void
explain_auth(Explain *ex, PcConfig *config, PcStore *store)
{
	g_autoptr(PcSession) session = session_new(ex, config, store);
	const AuthConfig *auth = pc_config_get_section(config);
	AuthMessage *state = auth_message_new(session);
	g_auto(PcVerdict) verdict;
	AuthOutcome outcome;
	g_autofree char *why = NULL;
	guint accepted = 0;

	pc_session_set_message_data(session, state, g_free);
	pc_verdict_init(&verdict);
	session_start_message(ex, session);
	if (not_asked(ex, EXPLAIN_AUTH, "MAIL", ex->sender, -1, FALSE))
		return;
	auth_policy_mail(auth, session, state, &verdict, &outcome);
	why = auth_mail_why(auth, session, &verdict);
	print_stage("MAIL", ex->sender, &verdict, why, &ex->mail[EXPLAIN_AUTH], NULL);
	if (verdict_refuses(&verdict))
		return;
	for (guint i = 0; i < ex->rcpts->len; i++) {
		if (not_asked(ex, EXPLAIN_AUTH, "RCPT", ex->rcpts->pdata[i], (gint)i, FALSE))
			continue;
		verdict_reset(&verdict);
		pc_session_set_current_rcpt(session, ex->rcpts->pdata[i]);
		auth_policy_rcpt(auth, session, state, &verdict, &outcome);
		if (verdict.action != PC_ACTION_CONTINUE) {
			g_autofree char *limit =
			    key_at(config, "auth", "max_recipients_per_login", NULL);

			print_stage("RCPT", ex->rcpts->pdata[i], &verdict, limit,
				    &ex->rcpt[EXPLAIN_AUTH][i], NULL);
		}
		if (!verdict_refuses(&verdict))
			accepted++;
	}
	if (accepted == 0)
		return;
	session_add_from(ex, session);
	verdict_reset(&verdict);
	auth_policy_eoh(auth, session, state, &verdict, &outcome);
	g_clear_pointer(&why, g_free);
	if (verdict.reason != NULL && g_str_has_prefix(verdict.reason, "from-") &&
	    strcmp(verdict.reason, "from-not-owned") != 0) {
		why = key_at(config, "auth", "check_header_from", NULL);
	} else if (ex->options->header_from != NULL && auth->check_header_from &&
		   pc_session_is_authenticated(session)) {
		why = header_owner_why(auth, session, ex->options->header_from);
	} else if (!auth->check_header_from) {
		g_autofree char *key = key_at(config, "auth", "check_header_from", NULL);

		why = g_strdup_printf("the From header is not checked: %s", key);
	} else if (!pc_session_is_authenticated(session)) {
		why = g_strdup("not logged in: the From header is not checked");
	} else {
		why = g_strdup("no From header (--header-from): the MTA adds one from the envelope "
			       "sender, checked at MAIL");
	}
	print_stage("EOH", NULL, &verdict, why, &ex->data[EXPLAIN_AUTH], NULL);
	if (verdict_refuses(&verdict))
		return;
	verdict_reset(&verdict);
	auth_policy_eom(auth, session, state, &verdict, &outcome);
	if (verdict.action != PC_ACTION_CONTINUE)
		print_stage("EOM", NULL, &verdict, NULL, &ex->data[EXPLAIN_AUTH],
			    &ex->hold[EXPLAIN_AUTH]);
}

/* ------------------------------------------------------------- rate */

/*
 * the domain whose domains.d file may override limit, as rate-policy.c
 * picks it by the limit's key: the login's, the sender's or the
 * recipient's domain; NULL for the client's address or network
 */
static char *
rate_limit_domain(const Explain *ex, const PcConfig *config, const char *limit, const char *rcpt)
{
	guint n_sections = 0;
	const PcConfigSection *sections = pc_config_get_sections(config, "rate", &n_sections);
	const char *at;

	for (guint i = 0; i < n_sections; i++) {
		const RateLimitConfig *section = sections[i].data;

		if (strcmp(sections[i].name, limit) != 0)
			continue;
		switch ((RateKey)section->key) {
		case RATE_KEY_LOGIN:
			at = ex->options->login != NULL ? strrchr(ex->options->login, '@') : NULL;
			return at != NULL && at[1] != '\0' ? g_ascii_strdown(at + 1, -1) : NULL;
		case RATE_KEY_SENDER:
		case RATE_KEY_SENDER_DOMAIN:
			return path_domain(ex->sender);
		case RATE_KEY_RECIPIENT:
		case RATE_KEY_RECIPIENT_DOMAIN:
			return rcpt != NULL ? path_domain(rcpt) : NULL;
		default:
			return NULL;
		}
	}
	return NULL;
}

static char *
rate_why(const Explain *ex, const PcConfig *config, const RateOutcome *outcome,
	 const PcVerdict *verdict, const char *rcpt)
{
	g_autofree char *rcpt_domain = rcpt != NULL ? path_domain(rcpt) : NULL;

	if (outcome->limit != NULL) {
		g_autofree char *domain = rate_limit_domain(ex, config, outcome->limit, rcpt);
		g_autofree char *group = g_strdup_printf("rate.%s", outcome->limit);
		g_autofree char *rate = key_at(config, group, "rate", domain);
		g_autofree char *count = key_at(config, group, "count", domain);

		return g_strdup_printf("%s; %s", rate, count);
	}
	if (outcome->greylist == RATE_GREY_DEFERRED) {
		/* greylisting is the recipient domain's (rate-greylist.c) */
		g_autofree char *enabled = key_at(config, "greylist", "enabled", rcpt_domain);
		g_autofree char *delay = key_at(config, "greylist", "delay", rcpt_domain);

		return g_strdup_printf("a first attempt of this client, sender and recipient is "
				       "deferred: %s; %s",
				       enabled, delay);
	}
	if (verdict->action != PC_ACTION_CONTINUE)
		return NULL;
	if (outcome->greylist != RATE_GREY_NONE)
		return g_strdup_printf("greylisting: %s",
				       rate_grey_result_to_string(outcome->greylist));
	return NULL;
}

static void
explain_rate(Explain *ex, PcConfig *config, PcStore *store)
{
	g_autoptr(PcSession) session = session_new(ex, config, store);
	RateSession *state = rate_session_new(session);
	g_auto(PcVerdict) verdict;
	RateOutcome outcome = {0};
	g_autofree char *why = NULL;
	guint accepted = 0;
	guint n_limits = 0;
	const PcConfigSection *sections;

	session->connection_data = state;
	session->connection_data_free = rate_session_free;
	sections = pc_config_get_sections(config, "rate", &n_limits);
	printf("  limits:");
	for (guint i = 0; i < n_limits; i++) {
		g_autofree char *rate = key_at(config, sections[i].group, "rate", NULL);

		printf("%s %s", i > 0 ? ";" : "", rate);
	}
	printf("%s\n        counted from zero: explain does not read the live counters "
	       "(portcullis limits show VALUE does)\n",
	       n_limits == 0 ? " none" : "");
	pc_verdict_init(&verdict);
	rate_policy_connect(session, state, &verdict, &outcome);
	verdict_reset(&verdict);
	session_start_message(ex, session);
	pc_session_set_message_data(session, rate_message_new(session), rate_message_free);
	if (not_asked(ex, EXPLAIN_RATE, "MAIL", ex->sender, -1, FALSE))
		return;
	memset(&outcome, 0, sizeof(outcome));
	rate_policy_mail(session, state, &verdict, &outcome);
	why = rate_why(ex, config, &outcome, &verdict, NULL);
	print_stage("MAIL", ex->sender, &verdict, why, &ex->mail[EXPLAIN_RATE], NULL);
	if (verdict_refuses(&verdict))
		return;
	for (guint i = 0; i < ex->rcpts->len; i++) {
		if (not_asked(ex, EXPLAIN_RATE, "RCPT", ex->rcpts->pdata[i], (gint)i, FALSE))
			continue;
		verdict_reset(&verdict);
		memset(&outcome, 0, sizeof(outcome));
		pc_session_set_current_rcpt(session, ex->rcpts->pdata[i]);
		rate_policy_rcpt(session, state, &verdict, &outcome);
		g_clear_pointer(&why, g_free);
		why = rate_why(ex, config, &outcome, &verdict, ex->rcpts->pdata[i]);
		print_stage("RCPT", ex->rcpts->pdata[i], &verdict, why, &ex->rcpt[EXPLAIN_RATE][i],
			    NULL);
		if (!verdict_refuses(&verdict)) {
			pc_session_accept_current_rcpt(session);
			accepted++;
		}
	}
	if (accepted == 0 || not_asked(ex, EXPLAIN_RATE, "EOM", NULL, -1, TRUE))
		return;
	verdict_reset(&verdict);
	memset(&outcome, 0, sizeof(outcome));
	rate_policy_eom(session, state, &verdict, &outcome);
	g_clear_pointer(&why, g_free);
	why = rate_why(ex, config, &outcome, &verdict, NULL);
	print_stage("EOM", NULL, &verdict, why, &ex->data[EXPLAIN_RATE], &ex->hold[EXPLAIN_RATE]);
}

/* ------------------------------------------------------------- verify */

static void
verify_free_message(gpointer data)
{
	verify_message_free(data);
}

static void
explain_verify_offline(Explain *ex, PcConfig *config)
{
	const VerifyConfig *verify = pc_config_get_section(config);
	g_autofree char *spf = key_at(config, "verify", "spf_fail_action", NULL);
	g_autofree char *dmarc = key_at(config, "verify", "dmarc", NULL);

	ex->verify_note = "verify not evaluated: no DNS without --dns";
	printf("  not evaluated: SPF and DMARC need DNS (--dns); DKIM needs the message "
	       "(portcullis verify FILE)\n");
	printf("        an SPF fail would be %s at RCPT: %s\n",
	       verify->spf_fail_action == VERIFY_SPF_FAIL_REJECT ? "refused" : "only reported",
	       spf);
	if (!verify->dmarc) {
		printf("        DMARC is off: %s\n", dmarc);
		return;
	}
	for (guint i = 0; i < ex->rcpts->len; i++) {
		g_autofree char *domain = path_domain(ex->rcpts->pdata[i]);
		const VerifyConfig *section =
		    domain != NULL ? pc_config_get_domain_section(config, domain) : verify;
		g_autofree char *enforce = key_at(config, "verify", "dmarc_enforce", domain);
		g_autofree char *reject = key_at(config, "verify", "dmarc_reject_action", domain);

		printf("        for %s a DMARC fail asking p=reject would get: %s (%s; %s)\n",
		       (const char *)ex->rcpts->pdata[i],
		       !section->dmarc_enforce ? "a report only"
		       : section->dmarc_reject_action == VERIFY_DMARC_REJECT_REJECT ? "550 5.7.1"
		       : section->dmarc_reject_action == VERIFY_DMARC_REJECT_QUARANTINE
			   ? "the hold queue"
			   : "a report only",
		       enforce, reject);
	}
}

static void
explain_verify(Explain *ex, PcConfig *config)
{
	g_autoptr(PcSession) session = NULL;
	g_autoptr(PcAuthRes) authres = NULL;
	g_autoptr(GPtrArray) no_signatures = g_ptr_array_new();
	const VerifyConfig *verify = pc_config_get_section(config);
	VerifySpfConnection *connection;
	VerifyMessage *message;
	VerifyDmarcDnsContext dmarc_dns;
	VerifyDmarcResolver resolver;
	const PcSpfOutcome *spf;
	g_auto(PcVerdict) verdict;
	guint accepted = 0;

	pc_verdict_init(&verdict);
	if (ex->dns == NULL) {
		explain_verify_offline(ex, config);
		return;
	}
	session = session_new(ex, config, NULL);
	connection = verify_spf_connection_new(session);
	session->connection_data = connection;
	session->connection_data_free = verify_spf_connection_free;
	if (ex->options->helo != NULL)
		verify_spf_helo(session, ex->dns, connection);
	session_start_message(ex, session);
	if (not_asked(ex, EXPLAIN_VERIFY, "MAIL", ex->sender, -1, FALSE))
		return;
	message = verify_message_new(session);
	pc_session_set_message_data(session, message, verify_free_message);
	verify_spf_mail(session, ex->dns, connection, &message->spf, &message->dns_budget);
	spf = verify_spf_message_outcome(connection, &message->spf);
	if (message->spf.skipped != NULL)
		printf("  MAIL  SPF not checked: %s\n", message->spf.skipped);
	else if (spf != NULL)
		printf("  MAIL  SPF %s for %s: %s\n", pc_spf_result_to_string(spf->result),
		       spf->domain, spf->reason != NULL ? spf->reason : "");
	for (guint i = 0; i < ex->rcpts->len; i++) {
		if (not_asked(ex, EXPLAIN_VERIFY, "RCPT", ex->rcpts->pdata[i], (gint)i, FALSE))
			continue;
		verdict_reset(&verdict);
		pc_session_set_current_rcpt(session, ex->rcpts->pdata[i]);
		if (verify_spf_rcpt(verify->spf_fail_action == VERIFY_SPF_FAIL_REJECT, TRUE,
				    connection, &message->spf, &verdict)) {
			g_autofree char *key = key_at(config, "verify", "spf_fail_action", NULL);

			print_stage("RCPT", ex->rcpts->pdata[i], &verdict, key,
				    &ex->rcpt[EXPLAIN_VERIFY][i], NULL);
			continue;
		}
		pc_session_accept_current_rcpt(session);
		accepted++;
	}
	if (accepted == 0 || not_asked(ex, EXPLAIN_VERIFY, "EOM", NULL, -1, TRUE))
		return;
	session_add_from(ex, session);
	verdict_reset(&verdict);
	authres = pc_authres_new(verify_authserv_id(config));
	verify_spf_eom(connection, &message->spf, authres, &verdict);
	dmarc_dns = (VerifyDmarcDnsContext){ex->dns, &message->dns_budget};
	verify_dmarc_resolver_init(&resolver, &dmarc_dns);
	verify_dmarc_eom(session, verify, &resolver, spf, no_signatures, authres, &verdict,
			 &message->dmarc);
	{
		g_autofree char *value = pc_authres_format(authres);
		g_autofree char *why = NULL;
		const VerifyDmarcMessage *dmarc = &message->dmarc;

		if (dmarc->override != NULL) {
			g_autofree char *enforce = key_at(config, "verify", "dmarc_enforce", NULL);

			why = g_strdup_printf("DMARC's action made milder: %s (%s)",
					      dmarc->override, enforce);
		} else if (verdict.action != PC_ACTION_CONTINUE) {
			why = key_at(config, "verify", "dmarc_enforce", NULL);
		}
		print_stage("EOM", NULL, &verdict, why, &ex->data[EXPLAIN_VERIFY],
			    &ex->hold[EXPLAIN_VERIFY]);
		printf("        Authentication-Results: %s\n", value);
		printf("        (no message: DKIM not evaluated, DMARC on SPF alone)\n");
		ex->verify_note = "no message: DKIM not evaluated, DMARC on SPF alone";
	}
}

/* ------------------------------------------------------------- sign */

static char *
sign_why(const PcConfig *config, const PcSession *session, const SignDecision *decision)
{
	const char *domain = decision->from_domain;

	switch (decision->reason) {
	case SIGN_REASON_ROLE: {
		g_autofree char *roles = key_at(config, "sign", "roles", NULL);

		return g_strdup_printf("the role %s is not in %s",
				       pc_listener_role_to_string(session->role), roles);
	}
	case SIGN_REASON_CLIENT:
		return client_standing(session);
	case SIGN_REASON_NO_FROM:
		return g_strdup("no From header (--header-from)");
	case SIGN_REASON_NO_KEY: {
		g_autofree char *key = key_at(config, "sign", "key", domain);
		g_autofree char *sub = key_at(config, "sign", "sign_subdomains", NULL);
		g_autofree char *table = key_at(config, "sign", "signingtable", NULL);
		g_autofree char *fallback = key_at(config, "sign", "fallback_domain", NULL);

		return g_strdup_printf("no key for %s: %s; %s; %s; %s",
				       domain != NULL ? domain : "the From domain", key, sub, table,
				       fallback);
	}
	default:
		return NULL;
	}
}

static void
explain_sign(Explain *ex, PcConfig *config)
{
	g_autoptr(PcSession) session = session_new(ex, config, NULL);
	g_auto(SignDecision) decision = {0};
	g_autoptr(GString) added = g_string_new(NULL);

	session_start_message(ex, session);
	session_add_from(ex, session);
	if (not_asked(ex, EXPLAIN_SIGN, "EOM", NULL, -1, TRUE))
		return;
	sign_policy_decide(config, session, &decision);
	if (decision.n_requests == 0) {
		g_autofree char *why = sign_why(config, session, &decision);

		printf("  EOM   not signed (%s)\n", sign_reason_to_string(decision.reason));
		if (why != NULL)
			printf("        why: %s\n", why);
		return;
	}
	for (int alg = 0; alg < SIGN_ALG_LAST; alg++) {
		const SignRequest *request = &decision.requests[alg];
		const char *key_name = alg == SIGN_ALG_ED25519_SHA256 ? "key_ed25519" : "key";
		g_autofree char *origin = NULL;

		if (request->key == NULL)
			continue;
		origin = decision.source == SIGN_SOURCE_TABLE
			     ? key_at(config, "sign", "signingtable", NULL)
			 : decision.source == SIGN_SOURCE_FALLBACK
			     ? key_at(config, "sign", "fallback_domain", NULL)
			     : key_at(config, "sign", key_name, request->domain);
		printf("  EOM   signs %s: d=%s s=%s with %s\n", sign_algorithm_to_string(alg),
		       request->domain, request->selector, sign_key_get_path(request->key));
		printf("        why: the key of %s (%s): %s\n",
		       decision.from_domain != NULL ? decision.from_domain : "the From domain",
		       sign_source_to_string(decision.source), origin);
		g_string_append_printf(added, "%s%s d=%s s=%s", added->len > 0 ? ", " : "",
				       sign_algorithm_to_string(alg), request->domain,
				       request->selector);
	}
	ex->signature = g_string_free(g_steal_pointer(&added), FALSE);
}

/* ------------------------------------------------------------- summary */

static gboolean
attached(const Explain *ex, ExplainDaemon d)
{
	if (!ex->loaded[d])
		return FALSE;
	if (d == EXPLAIN_VERIFY)
		return ex->role == PC_ROLE_MX;
	if (d == EXPLAIN_SIGN)
		return ex->role != PC_ROLE_MX;
	return TRUE;
}

/* the first refusal among the attached daemons, in their order; NULL when none */
static const char *
first_refusal(const Explain *ex, const ExplainRefusal *slots, const char **who)
{
	for (int d = 0; d < EXPLAIN_N_DAEMONS; d++) {
		if (attached(ex, d) && slots[d].set) {
			*who = portcullis_daemon_names[d];
			return slots[d].reply;
		}
	}
	return NULL;
}

static void
print_summary(const Explain *ex)
{
	const char *who = NULL;
	const char *reply;
	guint accepted = 0;

	printf("\nthe MTA, with the %s listener's milters in the shipped snippets (relay, auth, "
	       "rate, %s):\n",
	       pc_listener_role_to_string(ex->role), ex->role == PC_ROLE_MX ? "verify" : "sign");
	reply = first_refusal(ex, ex->mail, &who);
	if (reply != NULL) {
		printf("  MAIL  %s  (%s)\n", reply, who);
		return;
	}
	printf("  MAIL  accepted\n");
	for (guint i = 0; i < ex->rcpts->len; i++) {
		who = NULL;
		reply = NULL;
		for (int d = 0; d < EXPLAIN_N_DAEMONS && reply == NULL; d++) {
			if (attached(ex, d) && ex->rcpt[d][i].set) {
				reply = ex->rcpt[d][i].reply;
				who = portcullis_daemon_names[d];
			}
		}
		if (reply != NULL)
			printf("  RCPT  %s: %s  (%s)\n", (const char *)ex->rcpts->pdata[i], reply,
			       who);
		else {
			printf("  RCPT  %s: accepted\n", (const char *)ex->rcpts->pdata[i]);
			accepted++;
		}
	}
	if (accepted == 0) {
		printf("  no recipient accepted: no DATA\n");
		return;
	}
	reply = first_refusal(ex, ex->data, &who);
	if (reply != NULL) {
		printf("  DATA  %s  (%s)\n", reply, who);
		if (attached(ex, EXPLAIN_VERIFY) && ex->verify_note != NULL)
			printf("        (%s)\n", ex->verify_note);
		return;
	}
	if (attached(ex, EXPLAIN_VERIFY) && ex->verify_note != NULL)
		printf("        (%s)\n", ex->verify_note);
	reply = first_refusal(ex, ex->hold, &who);
	if (reply != NULL)
		printf("  DATA  accepted, into the hold queue: %s  (%s)\n", reply, who);
	else
		printf("  DATA  accepted%s%s\n",
		       ex->signature != NULL && attached(ex, EXPLAIN_SIGN) ? ", signed: " : "",
		       ex->signature != NULL && attached(ex, EXPLAIN_SIGN) ? ex->signature : "");
}

/* ------------------------------------------------------------- command */

static void
explain_clear(Explain *ex)
{
	for (int d = 0; d < EXPLAIN_N_DAEMONS; d++) {
		g_free(ex->mail[d].reply);
		g_free(ex->data[d].reply);
		g_free(ex->hold[d].reply);
		if (ex->rcpt[d] != NULL) {
			for (guint i = 0; i < ex->rcpts->len; i++)
				g_free(ex->rcpt[d][i].reply);
			g_free(ex->rcpt[d]);
		}
	}
	g_free(ex->sender);
	g_free(ex->signature);
	g_clear_pointer(&ex->rcpts, g_ptr_array_unref);
	g_clear_pointer(&ex->dns, pc_dns_free);
}

/* the listeners' names, for an error */
static char *
listener_names(const PcConfig *config)
{
	g_autoptr(GString) names = g_string_new(NULL);

	for (guint i = 0; i < pc_config_get_n_listeners(config); i++)
		g_string_append_printf(names, "%s%s", i > 0 ? ", " : "",
				       pc_config_get_listener(config, i)->name);
	return g_string_free(g_steal_pointer(&names), FALSE);
}

/* the transaction's first line: listener, role and where it is set, client, login, TLS */
static void
print_transaction(const Explain *ex, const PcConfig *config, const PcListener *listener)
{
	const ExplainOptions *options = ex->options;
	g_autofree char *group = g_strdup_printf("listener.%s", listener->name);
	g_autofree char *role = key_at(config, group, "role", NULL);

	printf("transaction: listener %s, role %s (%s); client %s%s%s; %s%s; %s\n\n",
	       listener->name, pc_listener_role_to_string(listener->role), role,
	       options->client != NULL ? options->client : "(unknown address)",
	       options->helo != NULL ? ", HELO " : "", options->helo != NULL ? options->helo : "",
	       options->login != NULL ? "login " : "not logged in",
	       options->login != NULL ? options->login : "",
	       options->tls != NULL ? options->tls : "no TLS");
}

/* one daemon's part, with a fresh memory store of its own */
static void
explain_daemon(Explain *ex, ExplainDaemon d, PcConfig *config)
{
	g_autoptr(PcStore) store = pc_store_new_memory(EXPLAIN_STORE_KEYS, 1);

	printf("%s:%s\n", portcullis_daemon_names[d],
	       attached(ex, d) ? ""
			       : " (not on this listener's milter list in the shipped snippets; "
				 "shown for reference)");
	switch (d) {
	case EXPLAIN_RELAY:
		explain_relay(ex, config, store);
		break;
	case EXPLAIN_AUTH:
		explain_auth(ex, config, store);
		break;
	case EXPLAIN_RATE:
		explain_rate(ex, config, store);
		break;
	case EXPLAIN_VERIFY:
		explain_verify(ex, config);
		break;
	case EXPLAIN_SIGN:
		explain_sign(ex, config);
		break;
	default:
		break;
	}
}

static int
run(const ExplainOptions *options)
{
	Explain ex = {.options = options};
	PcConfig *configs[EXPLAIN_N_DAEMONS] = {NULL};
	char *load_errors[EXPLAIN_N_DAEMONS] = {NULL};
	gboolean listener_found = FALSE;
	int status = TOOL_EXIT_OK;

	ex.path = options->config_path != NULL ? options->config_path : PC_CONFIG_DEFAULT_FILE;
	if (options->client != NULL) {
		if (!pc_net_address_parse(options->client, &ex.client)) {
			fprintf(stderr,
				"portcullis explain: --client %s is not an IPv4 or IPv6 "
				"address\n",
				options->client);
			return TOOL_EXIT_USAGE;
		}
		ex.client_known = TRUE;
	}
	ex.sender = tool_path_argument(options->from != NULL ? options->from : "");
	ex.rcpts = g_ptr_array_new_with_free_func(g_free);
	for (gsize i = 0; options->rcpts[i] != NULL; i++)
		g_ptr_array_add(ex.rcpts, tool_path_argument(options->rcpts[i]));

	for (int d = 0; d < EXPLAIN_N_DAEMONS; d++) {
		g_autoptr(GError) error = NULL;
		const PcListener *listener;

		/* sign with the schema that reads its keys, as portcullis-sign loads it */
		configs[d] = pc_config_load_full(
		    ex.path,
		    d == EXPLAIN_SIGN ? &sign_config_schema : portcullis_daemon_schemas[d].schema,
		    portcullis_daemon_schemas[d].extra_schemas, &error);
		if (configs[d] == NULL) {
			/* a key the tool cannot read is one daemon's problem: said in its place */
			load_errors[d] = g_strdup(error->message);
			status = TOOL_EXIT_USAGE;
			continue;
		}
		listener = find_listener(configs[d], options->listener);
		if (listener == NULL) {
			g_autofree char *names = listener_names(configs[d]);

			fprintf(stderr,
				"portcullis explain: %s has no [listener.%s] (its listeners: %s)\n",
				ex.path, options->listener, names[0] != '\0' ? names : "none");
			status = TOOL_EXIT_USAGE;
			goto out;
		}
		if (!listener_found) {
			listener_found = TRUE;
			ex.role = listener->role;
			print_transaction(&ex, configs[d], listener);
		}
		ex.loaded[d] = TRUE;
		ex.rcpt[d] = g_new0(ExplainRefusal, ex.rcpts->len);
	}
	if (!listener_found) {
		/* no daemon could load the file: a configuration error, as for every command */
		for (int d = 0; d < EXPLAIN_N_DAEMONS; d++)
			fprintf(stderr,
				"%s: cannot load the configuration as portcullis-%s does:\n  %s\n",
				portcullis_daemon_names[d], portcullis_daemon_names[d],
				load_errors[d]);
		status = TOOL_EXIT_USAGE;
		goto out;
	}
	if (options->dns && ex.loaded[EXPLAIN_VERIFY]) {
		g_autoptr(GError) error = NULL;

		ex.dns =
		    pc_dns_new_from_config(pc_config_get_global(configs[EXPLAIN_VERIFY]), &error);
		if (ex.dns == NULL) {
			fprintf(stderr, "portcullis explain: %s\n", error->message);
			status = TOOL_EXIT_FAILED;
			goto out;
		}
	}
	for (int d = 0; d < EXPLAIN_N_DAEMONS; d++) {
		if (ex.loaded[d])
			explain_daemon(&ex, d, configs[d]);
		else
			printf("%s: cannot load the configuration as portcullis-%s does:\n  %s\n",
			       portcullis_daemon_names[d], portcullis_daemon_names[d],
			       load_errors[d]);
	}
	print_summary(&ex);
out:
	for (int d = 0; d < EXPLAIN_N_DAEMONS; d++) {
		g_clear_pointer(&configs[d], pc_config_unref);
		g_free(load_errors[d]);
	}
	explain_clear(&ex);
	return status;
}

int
tool_explain(int argc, char **argv)
{
	ExplainOptions options = {0};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	const GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path,
	     "the configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"listener", 'l', 0, G_OPTION_ARG_STRING, &options.listener,
	     "the [listener.NAME] the client connects to (required)", "NAME"},
	    {"client", 0, 0, G_OPTION_ARG_STRING, &options.client, "the client's address", "IP"},
	    {"client-name", 0, 0, G_OPTION_ARG_STRING, &options.client_name,
	     "the client's verified host name", "NAME"},
	    {"helo", 0, 0, G_OPTION_ARG_STRING, &options.helo, "the HELO/EHLO name", "NAME"},
	    {"login", 0, 0, G_OPTION_ARG_STRING, &options.login, "the SASL login", "LOGIN"},
	    {"server-addr", 0, 0, G_OPTION_ARG_STRING, &options.server_addr,
	     "the address the client connected to ({daemon_addr}: an IP literal recipient "
	     "naming it is ours)",
	     "IP"},
	    {"tls", 0, 0, G_OPTION_ARG_STRING, &options.tls,
	     "the TLS version as the MTA names it (TLSv1.3, ...); none without it", "VERSION"},
	    {"cipher-bits", 0, 0, G_OPTION_ARG_INT, &options.cipher_bits,
	     "the cipher's strength in bits, with --tls (default 256)", "BITS"},
	    {"from", 0, 0, G_OPTION_ARG_STRING, &options.from,
	     "the envelope sender (MAIL FROM; default <>)", "ADDR"},
	    {"header-from", 0, 0, G_OPTION_ARG_STRING, &options.header_from,
	     "the From header's value", "VALUE"},
	    {"rcpt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.rcpts,
	     "a recipient (RCPT TO; at least one, repeat for more)", "ADDR"},
	    {"dns", 0, 0, G_OPTION_ARG_NONE, &options.dns,
	     "ask DNS for portcullis-verify's SPF and DMARC (off: nothing is looked up)", NULL},
	    {NULL},
	};
	int status;

	options.cipher_bits = 256;
	context = g_option_context_new("- why each daemon would accept or refuse a transaction");
	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_description(
	    context, "Example:\n  portcullis explain --listener submission --client 192.0.2.7 "
		     "--login alice --tls TLSv1.3 \\\n      --from bob@example.com --rcpt "
		     "carol@example.net\n");
	if (!g_option_context_parse(context, &argc, &argv, &error))
		status = tool_usage_error(context, "portcullis explain", error->message);
	else if (argc > 1)
		status =
		    tool_usage_error(context, "portcullis explain",
				     "unexpected arguments: give the transaction with options");
	else if (options.listener == NULL)
		status =
		    tool_usage_error(context, "portcullis explain", "--listener NAME is required");
	else if (options.rcpts == NULL || options.rcpts[0] == NULL)
		status = tool_usage_error(context, "portcullis explain",
					  "at least one --rcpt ADDR is required");
	else if (g_strv_length(options.rcpts) > EXPLAIN_MAX_RCPTS)
		status =
		    tool_usage_error(context, "portcullis explain", "more than 100 recipients");
	else if (options.cipher_bits < 0)
		status = tool_usage_error(context, "portcullis explain",
					  "--cipher-bits must not be negative");
	else
		status = run(&options);
	g_free(options.config_path);
	g_free(options.listener);
	g_free(options.client);
	g_free(options.client_name);
	g_free(options.helo);
	g_free(options.login);
	g_free(options.server_addr);
	g_free(options.tls);
	g_free(options.from);
	g_free(options.header_from);
	g_strfreev(options.rcpts);
	return status;
}
