/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-explain-daemons: each daemon's part of `portcullis explain`
 * (tool-explain.c has the command and the shared wording): the daemon's
 * own policy functions in the order of its milter hooks, each stage
 * printed with what decided it, refusals recorded for the summary.
 */
#include <stdio.h>
#include <string.h>

#include "auth-policy.h"
#include "pc-addr.h"
#include "pc-authres.h"
#include "pc-dns.h"
#include "pc-net.h"
#include "pc-store.h"
#include "rate-policy.h"
#include "relay-policy.h"
#include "sign-policy.h"
#include "tool-explain.h"
#include "tool.h"
#include "verify-policy.h"

/* ------------------------------------------------------------- relay */

static char *
relay_why(const PcSession *session, const char *rcpt, const PcVerdict *verdict, RelayReason denied)
{
	RelayReason reason = relay_classify_recipient(session->config, session, rcpt);
	g_autofree char *domain = explain_path_domain(rcpt);
	g_autofree char *standing = explain_client_standing(session);
	g_autofree char *locals = explain_key_at(session->config, "global", "local_domains", NULL);
	const PcGlobalConfig *global = pc_config_get_global(session->config);

	if (denied == RELAY_REASON_BANNED) {
		g_autofree char *limit =
		    explain_key_at(session->config, "relay", "probe_limit", NULL);
		g_autofree char *window =
		    explain_key_at(session->config, "relay", "probe_window", NULL);

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

void
explain_relay(Explain *ex, PcConfig *config, PcStore *store)
{
	g_autoptr(PcSession) session = explain_session_new(ex, config, store);
	const RelayConfig *relay = pc_config_get_section(config);
	RelaySession state = {0};
	g_auto(PcVerdict) verdict;

	pc_verdict_init(&verdict);
	relay_policy_connect(relay, session, &state, &verdict);
	if (explain_verdict_refuses(&verdict)) {
		g_autofree char *ban = explain_key_at(config, "relay", "probe_limit", NULL);

		explain_print_stage("CONNECT", NULL, &verdict, ban, &ex->mail[EXPLAIN_RELAY], NULL);
		return;
	}
	explain_session_start_message(ex, session);
	for (guint i = 0; i < ex->rcpts->len; i++) {
		const char *rcpt = ex->rcpts->pdata[i];
		RelayReason denied = RELAY_REASON_NONE;
		gboolean banned_now = FALSE;
		g_autofree char *why = NULL;

		explain_verdict_reset(&verdict);
		pc_session_set_current_rcpt(session, rcpt);
		relay_policy_rcpt(relay, session, &state, &verdict, &denied, &banned_now);
		why = relay_why(session, rcpt, &verdict, denied);
		explain_print_stage("RCPT", rcpt, &verdict, why, &ex->rcpt[EXPLAIN_RELAY][i], NULL);
		if (banned_now) {
			g_autofree char *limit =
			    explain_key_at(config, "relay", "probe_limit", NULL);

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
	g_autofree char *maps = explain_key_at(config, "auth", "sender_login_maps", NULL);
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

	senders =
	    explain_key_at(config, "auth", "senders", folded != NULL ? folded : address->domain);
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
		g_autofree char *key =
		    explain_key_at(session->config, "auth", "allow_null_sender", NULL);

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
	g_autofree char *role = explain_key_at(config, role_key, "role", NULL);

	if (strcmp(reason, "auth-on-mx") == 0) {
		g_autofree char *key = explain_key_at(config, "auth", "auth_on_mx", NULL);

		return g_strdup_printf("a login on an mx listener (%s): %s", role, key);
	}
	if (strcmp(reason, "internal-untrusted") == 0) {
		g_autofree char *standing = explain_client_standing(session);

		return g_strdup_printf("an internal listener (%s) takes trusted clients only; %s",
				       role, standing);
	}
	if (strcmp(reason, "tls-required") == 0 || strcmp(reason, "tls-version") == 0 ||
	    strcmp(reason, "cipher-bits") == 0) {
		g_autofree char *require = explain_key_at(config, "auth", "require_tls", NULL);
		g_autofree char *version = explain_key_at(config, "auth", "min_tls_version", NULL);
		g_autofree char *bits = explain_key_at(config, "auth", "min_cipher_bits", NULL);

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
		    explain_key_at(config, "auth", "unauthenticated_owned_senders", NULL);
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
		    explain_key_at(config, "auth", "unauthenticated_owned_senders", NULL);

		return g_strdup_printf("not logged in, and the sender has no owner (%s)", key);
	}
	return g_strdup_printf("not logged in on role %s (%s): the sender is not checked",
			       pc_listener_role_to_string(session->role), role);
}

void
explain_auth(Explain *ex, PcConfig *config, PcStore *store)
{
	g_autoptr(PcSession) session = explain_session_new(ex, config, store);
	const AuthConfig *auth = pc_config_get_section(config);
	AuthMessage *state = auth_message_new(session);
	g_auto(PcVerdict) verdict;
	AuthOutcome outcome;
	g_autofree char *why = NULL;
	guint accepted = 0;

	pc_session_set_message_data(session, state, g_free);
	pc_verdict_init(&verdict);
	explain_session_start_message(ex, session);
	if (explain_not_asked(ex, EXPLAIN_AUTH, "MAIL", ex->sender, -1, FALSE))
		return;
	auth_policy_mail(auth, session, state, &verdict, &outcome);
	why = auth_mail_why(auth, session, &verdict);
	explain_print_stage("MAIL", ex->sender, &verdict, why, &ex->mail[EXPLAIN_AUTH], NULL);
	if (explain_verdict_refuses(&verdict))
		return;
	for (guint i = 0; i < ex->rcpts->len; i++) {
		if (explain_not_asked(ex, EXPLAIN_AUTH, "RCPT", ex->rcpts->pdata[i], (gint)i,
				      FALSE))
			continue;
		explain_verdict_reset(&verdict);
		pc_session_set_current_rcpt(session, ex->rcpts->pdata[i]);
		auth_policy_rcpt(auth, session, state, &verdict, &outcome);
		if (verdict.action != PC_ACTION_CONTINUE) {
			g_autofree char *limit =
			    explain_key_at(config, "auth", "max_recipients_per_login", NULL);

			explain_print_stage("RCPT", ex->rcpts->pdata[i], &verdict, limit,
					    &ex->rcpt[EXPLAIN_AUTH][i], NULL);
		}
		if (!explain_verdict_refuses(&verdict))
			accepted++;
	}
	if (accepted == 0)
		return;
	explain_session_add_from(ex, session);
	explain_verdict_reset(&verdict);
	auth_policy_eoh(auth, session, state, &verdict, &outcome);
	g_clear_pointer(&why, g_free);
	if (verdict.reason != NULL && g_str_has_prefix(verdict.reason, "from-") &&
	    strcmp(verdict.reason, "from-not-owned") != 0) {
		why = explain_key_at(config, "auth", "check_header_from", NULL);
	} else if (ex->options->header_from != NULL && auth->check_header_from &&
		   pc_session_is_authenticated(session)) {
		why = header_owner_why(auth, session, ex->options->header_from);
	} else if (!auth->check_header_from) {
		g_autofree char *key = explain_key_at(config, "auth", "check_header_from", NULL);

		why = g_strdup_printf("the From header is not checked: %s", key);
	} else if (!pc_session_is_authenticated(session)) {
		why = g_strdup("not logged in: the From header is not checked");
	} else {
		why = g_strdup("no From header (--header-from): the MTA adds one from the envelope "
			       "sender, checked at MAIL");
	}
	explain_print_stage("EOH", NULL, &verdict, why, &ex->data[EXPLAIN_AUTH], NULL);
	if (explain_verdict_refuses(&verdict))
		return;
	explain_verdict_reset(&verdict);
	auth_policy_eom(auth, session, state, &verdict, &outcome);
	if (verdict.action != PC_ACTION_CONTINUE)
		explain_print_stage("EOM", NULL, &verdict, NULL, &ex->data[EXPLAIN_AUTH],
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
			return explain_path_domain(ex->sender);
		case RATE_KEY_RECIPIENT:
		case RATE_KEY_RECIPIENT_DOMAIN:
			return rcpt != NULL ? explain_path_domain(rcpt) : NULL;
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
	g_autofree char *rcpt_domain = rcpt != NULL ? explain_path_domain(rcpt) : NULL;

	if (outcome->limit != NULL) {
		g_autofree char *domain = rate_limit_domain(ex, config, outcome->limit, rcpt);
		g_autofree char *group = g_strdup_printf("rate.%s", outcome->limit);
		g_autofree char *rate = explain_key_at(config, group, "rate", domain);
		g_autofree char *count = explain_key_at(config, group, "count", domain);

		return g_strdup_printf("%s; %s", rate, count);
	}
	if (outcome->greylist == RATE_GREY_DEFERRED) {
		/* greylisting is the recipient domain's (rate-greylist.c) */
		g_autofree char *enabled =
		    explain_key_at(config, "greylist", "enabled", rcpt_domain);
		g_autofree char *delay = explain_key_at(config, "greylist", "delay", rcpt_domain);

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

void
explain_rate(Explain *ex, PcConfig *config, PcStore *store)
{
	g_autoptr(PcSession) session = explain_session_new(ex, config, store);
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
		g_autofree char *rate = explain_key_at(config, sections[i].group, "rate", NULL);

		printf("%s %s", i > 0 ? ";" : "", rate);
	}
	printf("%s\n        counted from zero: explain does not read the live counters "
	       "(portcullis limits show VALUE does)\n",
	       n_limits == 0 ? " none" : "");
	pc_verdict_init(&verdict);
	rate_policy_connect(session, state, &verdict, &outcome);
	explain_verdict_reset(&verdict);
	explain_session_start_message(ex, session);
	pc_session_set_message_data(session, rate_message_new(session), rate_message_free);
	if (explain_not_asked(ex, EXPLAIN_RATE, "MAIL", ex->sender, -1, FALSE))
		return;
	memset(&outcome, 0, sizeof(outcome));
	rate_policy_mail(session, state, &verdict, &outcome);
	why = rate_why(ex, config, &outcome, &verdict, NULL);
	explain_print_stage("MAIL", ex->sender, &verdict, why, &ex->mail[EXPLAIN_RATE], NULL);
	if (explain_verdict_refuses(&verdict))
		return;
	for (guint i = 0; i < ex->rcpts->len; i++) {
		if (explain_not_asked(ex, EXPLAIN_RATE, "RCPT", ex->rcpts->pdata[i], (gint)i,
				      FALSE))
			continue;
		explain_verdict_reset(&verdict);
		memset(&outcome, 0, sizeof(outcome));
		pc_session_set_current_rcpt(session, ex->rcpts->pdata[i]);
		rate_policy_rcpt(session, state, &verdict, &outcome);
		g_clear_pointer(&why, g_free);
		why = rate_why(ex, config, &outcome, &verdict, ex->rcpts->pdata[i]);
		explain_print_stage("RCPT", ex->rcpts->pdata[i], &verdict, why,
				    &ex->rcpt[EXPLAIN_RATE][i], NULL);
		if (!explain_verdict_refuses(&verdict)) {
			pc_session_accept_current_rcpt(session);
			accepted++;
		}
	}
	if (accepted == 0 || explain_not_asked(ex, EXPLAIN_RATE, "EOM", NULL, -1, TRUE))
		return;
	explain_verdict_reset(&verdict);
	memset(&outcome, 0, sizeof(outcome));
	rate_policy_eom(session, state, &verdict, &outcome);
	g_clear_pointer(&why, g_free);
	why = rate_why(ex, config, &outcome, &verdict, NULL);
	explain_print_stage("EOM", NULL, &verdict, why, &ex->data[EXPLAIN_RATE],
			    &ex->hold[EXPLAIN_RATE]);
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
	g_autofree char *spf = explain_key_at(config, "verify", "spf_fail_action", NULL);
	g_autofree char *dmarc = explain_key_at(config, "verify", "dmarc", NULL);

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
		g_autofree char *domain = explain_path_domain(ex->rcpts->pdata[i]);
		const VerifyConfig *section =
		    domain != NULL ? pc_config_get_domain_section(config, domain) : verify;
		g_autofree char *enforce =
		    explain_key_at(config, "verify", "dmarc_enforce", domain);
		g_autofree char *reject =
		    explain_key_at(config, "verify", "dmarc_reject_action", domain);

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

void
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
	session = explain_session_new(ex, config, NULL);
	connection = verify_spf_connection_new(session);
	session->connection_data = connection;
	session->connection_data_free = verify_spf_connection_free;
	if (ex->options->helo != NULL)
		verify_spf_helo(session, ex->dns, connection);
	explain_session_start_message(ex, session);
	if (explain_not_asked(ex, EXPLAIN_VERIFY, "MAIL", ex->sender, -1, FALSE))
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
		if (explain_not_asked(ex, EXPLAIN_VERIFY, "RCPT", ex->rcpts->pdata[i], (gint)i,
				      FALSE))
			continue;
		explain_verdict_reset(&verdict);
		pc_session_set_current_rcpt(session, ex->rcpts->pdata[i]);
		if (verify_spf_rcpt(verify->spf_fail_action == VERIFY_SPF_FAIL_REJECT, TRUE,
				    connection, &message->spf, &verdict)) {
			g_autofree char *key =
			    explain_key_at(config, "verify", "spf_fail_action", NULL);

			explain_print_stage("RCPT", ex->rcpts->pdata[i], &verdict, key,
					    &ex->rcpt[EXPLAIN_VERIFY][i], NULL);
			continue;
		}
		pc_session_accept_current_rcpt(session);
		accepted++;
	}
	if (accepted == 0 || explain_not_asked(ex, EXPLAIN_VERIFY, "EOM", NULL, -1, TRUE))
		return;
	explain_session_add_from(ex, session);
	explain_verdict_reset(&verdict);
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
			g_autofree char *enforce =
			    explain_key_at(config, "verify", "dmarc_enforce", NULL);

			why = g_strdup_printf("DMARC's action made milder: %s (%s)",
					      dmarc->override, enforce);
		} else if (verdict.action != PC_ACTION_CONTINUE) {
			why = explain_key_at(config, "verify", "dmarc_enforce", NULL);
		}
		explain_print_stage("EOM", NULL, &verdict, why, &ex->data[EXPLAIN_VERIFY],
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
		g_autofree char *roles = explain_key_at(config, "sign", "roles", NULL);

		return g_strdup_printf("the role %s is not in %s",
				       pc_listener_role_to_string(session->role), roles);
	}
	case SIGN_REASON_CLIENT:
		return explain_client_standing(session);
	case SIGN_REASON_NO_FROM:
		return g_strdup("no From header (--header-from)");
	case SIGN_REASON_NO_KEY: {
		g_autofree char *key = explain_key_at(config, "sign", "key", domain);
		g_autofree char *sub = explain_key_at(config, "sign", "sign_subdomains", NULL);
		g_autofree char *table = explain_key_at(config, "sign", "signingtable", NULL);
		g_autofree char *fallback = explain_key_at(config, "sign", "fallback_domain", NULL);

		return g_strdup_printf("no key for %s: %s; %s; %s; %s",
				       domain != NULL ? domain : "the From domain", key, sub, table,
				       fallback);
	}
	default:
		return NULL;
	}
}

void
explain_sign(Explain *ex, PcConfig *config)
{
	g_autoptr(PcSession) session = explain_session_new(ex, config, NULL);
	g_auto(SignDecision) decision = {0};
	g_autoptr(GString) added = g_string_new(NULL);

	explain_session_start_message(ex, session);
	explain_session_add_from(ex, session);
	if (explain_not_asked(ex, EXPLAIN_SIGN, "EOM", NULL, -1, TRUE))
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
			     ? explain_key_at(config, "sign", "signingtable", NULL)
			 : decision.source == SIGN_SOURCE_FALLBACK
			     ? explain_key_at(config, "sign", "fallback_domain", NULL)
			     : explain_key_at(config, "sign", key_name, request->domain);
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
