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
 *
 * This file has the command, the sessions, the shared wording and the
 * summary; each daemon's part is in tool-explain-daemons.c.
 */
#include "tool-explain.h"

#include <stdio.h>
#include <string.h>

#include "pc-addr.h"
#include "pc-authres.h"
#include "pc-dns.h"
#include "pc-net.h"
#include "pc-store.h"
#include "sign-policy.h"
#include "tool.h"

/* ------------------------------------------------------------- wording */

/* "[group] key = VALUE-AS-WRITTEN at FILE:LINE", or "(default)" when no file sets it */
char *
explain_key_at(const PcConfig *config, const char *group, const char *key, const char *domain)
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
void
explain_verdict_reset(PcVerdict *verdict)
{
	pc_verdict_clear(verdict);
	pc_verdict_init(verdict);
}

gboolean
explain_verdict_refuses(const PcVerdict *verdict)
{
	return verdict->action == PC_ACTION_REJECT || verdict->action == PC_ACTION_TEMPFAIL ||
	       verdict->action == PC_ACTION_DISCARD;
}

/* one stage's line, then its reasons indented; records a refusal in slot */
void
explain_print_stage(const char *stage, const char *what, const PcVerdict *verdict, const char *why,
		    ExplainRefusal *slot, ExplainRefusal *hold_slot)
{
	g_autofree char *reply = verdict_reply(verdict);

	printf("  %-5s %s%s%s\n", stage, what != NULL ? what : "", what != NULL ? ": " : "", reply);
	if (verdict->reason != NULL)
		printf("        reason: %s\n", verdict->reason);
	if (why != NULL && why[0] != '\0')
		printf("        why: %s\n", why);
	if (explain_verdict_refuses(verdict) && slot != NULL && !slot->set) {
		slot->set = TRUE;
		slot->reply = g_strdup(reply);
	}
	if (verdict->action == PC_ACTION_QUARANTINE && hold_slot != NULL && !hold_slot->set) {
		hold_slot->set = TRUE;
		hold_slot->reply = g_strdup(reply);
	}
}

/* the domain of an envelope path, lowercased, or NULL (none, or it does not parse) */
char *
explain_path_domain(const char *path)
{
	g_autoptr(PcAddress) address = NULL;

	if (!pc_addr_parse_path(path, strnlen(path, PC_ADDR_MAX_PATH * 4), &address, NULL) ||
	    address->domain[0] == '\0')
		return NULL;
	return g_ascii_strdown(address->domain, -1);
}

/* "the client is/is not in [global] trusted_networks at ..., and logged in as L / did not log in"
 */
char *
explain_client_standing(const PcSession *session)
{
	g_autofree char *trusted =
	    explain_key_at(session->config, "global", "trusted_networks", NULL);

	return g_strdup_printf(
	    "the client %s %s %s; %s%s", session->client_known ? session->client_ip : "(unknown)",
	    session->trusted ? "is in" : "is not in", trusted,
	    pc_session_is_authenticated(session) ? "logged in as " : "did not log in",
	    pc_session_is_authenticated(session) ? session->auth_login : "");
}

/*
 * The MTA asks its milters in list order and stops at the first refusal:
 * the attached daemon before d that refused MAIL (rcpt < 0), or this
 * recipient, or the message (data), so d is not asked; NULL when none did
 */
static const char *
refused_before(const Explain *ex, ExplainDaemon d, gint rcpt, gboolean data)
{
	for (int e = 0; e < (int)d; e++) {
		if (!explain_attached(ex, e))
			continue;
		if (ex->mail[e].set || (rcpt >= 0 && ex->rcpt[e][rcpt].set) ||
		    (data && ex->data[e].set))
			return portcullis_daemon_names[e];
	}
	return NULL;
}

/* TRUE (and says so) when an earlier daemon's refusal means d is not asked */
gboolean
explain_not_asked(const Explain *ex, ExplainDaemon d, const char *stage, const char *what,
		  gint rcpt, gboolean data)
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
PcSession *
explain_session_new(Explain *ex, PcConfig *config, PcStore *store)
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

void
explain_session_start_message(Explain *ex, PcSession *session)
{
	pc_session_set_sender(session, ex->sender);
	session->in_message = TRUE;
}

void
explain_session_add_from(Explain *ex, PcSession *session)
{
	if (ex->options->header_from != NULL)
		pc_session_add_header(session, "From", ex->options->header_from, TRUE);
}

/* ------------------------------------------------------------- summary */

gboolean
explain_attached(const Explain *ex, ExplainDaemon d)
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
		if (explain_attached(ex, d) && slots[d].set) {
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
			if (explain_attached(ex, d) && ex->rcpt[d][i].set) {
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
		if (explain_attached(ex, EXPLAIN_VERIFY) && ex->verify_note != NULL)
			printf("        (%s)\n", ex->verify_note);
		return;
	}
	if (explain_attached(ex, EXPLAIN_VERIFY) && ex->verify_note != NULL)
		printf("        (%s)\n", ex->verify_note);
	reply = first_refusal(ex, ex->hold, &who);
	if (reply != NULL)
		printf("  DATA  accepted, into the hold queue: %s  (%s)\n", reply, who);
	else
		printf("  DATA  accepted%s%s\n",
		       ex->signature != NULL && explain_attached(ex, EXPLAIN_SIGN) ? ", signed: "
										   : "",
		       ex->signature != NULL && explain_attached(ex, EXPLAIN_SIGN) ? ex->signature
										   : "");
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
	g_autofree char *role = explain_key_at(config, group, "role", NULL);

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
	       explain_attached(ex, d)
		   ? ""
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
