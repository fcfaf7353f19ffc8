/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis verify: one message through portcullis-verify's checks, with
 * the daemon's own code, configuration and resolver, printing the
 * Authentication-Results header the daemon would insert (or, with --json,
 * every check with its details). What an admin runs to answer "why did
 * this message fail DKIM?".
 *
 * The message is driven through the same functions as the daemon's milter
 * hooks (milters/verify/main.c), in the same order, on a PcSession filled
 * as the MTA would fill it: client address (--ip), HELO (--helo), MAIL FROM
 * (--mail-from), then each header with the value as the MTA passes it
 * (blanks after the colon kept, folding as LF), then the body in CRLF
 * lines, in chunks of the MTAs' size. Without --ip there is no client
 * address and SPF is not checked, as in the daemon; without --mail-from
 * only the HELO identity is.
 *
 * Input: one message, CRLF or bare LF line ends, an mbox "From " line on
 * top skipped. A header of more than TOOL_VERIFY_MAX_HEADER bytes is an
 * error (the MTAs cut far sooner).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pc-config.h"
#include "pc-dns.h"
#include "pc-net.h"
#include "pc-session.h"
#include "tool-json.h"
#include "tool.h"
#include "verify-policy.h"

#define TOOL_VERIFY_MAX_HEADER PC_SESSION_MAX_HEADER_BYTES
/* the MTAs' body chunk (libmilter's MILTER_CHUNK_SIZE): the body reaches the daemon in pieces this
 * big */
#define TOOL_VERIFY_BODY_CHUNK 65535

typedef struct {
	const char *path; /* for messages; "-" for stdin */
	FILE *in;
	char *line;
	size_t line_size;
	ssize_t line_len; /* the line held in line (read ahead), -1 at the end */
} ToolReader;

/* the next line, line end removed (CR LF or LF); FALSE at the end */
static gboolean
reader_next(ToolReader *reader)
{
	reader->line_len = getline(&reader->line, &reader->line_size, reader->in);
	if (reader->line_len < 0)
		return FALSE;
	if (reader->line_len > 0 && reader->line[reader->line_len - 1] == '\n')
		reader->line[--reader->line_len] = '\0';
	if (reader->line_len > 0 && reader->line[reader->line_len - 1] == '\r')
		reader->line[--reader->line_len] = '\0';
	return TRUE;
}

/* "Name:" with a name of printable ASCII other than ':' (RFC 5322 2.2) */
static gssize
header_name_length(const char *line, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (line[i] == ':')
			return i > 0 ? (gssize)i : -1;
		if ((guchar)line[i] <= ' ' || (guchar)line[i] >= 0x7f)
			return -1;
	}
	return -1;
}

static void
free_message_data(gpointer data)
{
	VerifyMessage *message = data;

	/* as the daemon's main.c: the DKIM state first, verify-policy.c does not own it */
	if (message != NULL)
		g_clear_pointer(&message->dkim, verify_dkim_message_free);
	verify_message_free(message);
}

/* one header to both header hooks, as the daemon's verify_on_header() */
static void
feed_header(PcSession *session, VerifyMessage *message, const char *name, const char *value)
{
	/* From is kept, as the daemon keeps it (DMARC's author domain) */
	pc_session_add_header(session, name, value, g_ascii_strcasecmp(name, "From") == 0);
	verify_policy_header(pc_config_get_section(session->config), session, message);
	verify_dkim_header(message->dkim, name, value);
	session->current_header = NULL;
}

/*
 * The header section, then the body. Returns FALSE with a message on
 * stderr when the input cannot be read.
 */
static gboolean
feed_message(ToolReader *reader, PcSession *session, VerifyMessage *message)
{
	g_autoptr(GString) header = g_string_new(NULL);
	g_autoptr(GString) body = g_string_new(NULL);
	gsize name_len = 0;
	gboolean more = reader_next(reader);

	if (more && g_str_has_prefix(reader->line, "From "))
		more = reader_next(reader);
	for (; more; more = reader_next(reader)) {
		gssize length;

		if (header->len > 0 && (reader->line[0] == ' ' || reader->line[0] == '\t')) {
			if (header->len + (gsize)reader->line_len > TOOL_VERIFY_MAX_HEADER) {
				fprintf(stderr,
					"portcullis verify: %s: a header of more than %d bytes\n",
					reader->path, TOOL_VERIFY_MAX_HEADER);
				return FALSE;
			}
			g_string_append_c(header, '\n');
			g_string_append_len(header, reader->line, reader->line_len);
			continue;
		}
		if (header->len > 0) {
			header->str[name_len] = '\0';
			feed_header(session, message, header->str, header->str + name_len + 1);
			g_string_truncate(header, 0);
		}
		/* an empty line ends the headers; so does a line that is no header (as Postfix) */
		length = header_name_length(reader->line, (gsize)reader->line_len);
		if (length < 0)
			break;
		name_len = (gsize)length;
		g_string_append_len(header, reader->line, reader->line_len);
	}
	if (header->len > 0) {
		header->str[name_len] = '\0';
		feed_header(session, message, header->str, header->str + name_len + 1);
	}
	verify_dkim_eoh(message->dkim);

	/* the body: the line that ended the headers is its first unless it was empty */
	if (more && reader->line_len > 0) {
		g_string_append_len(body, reader->line, reader->line_len);
		g_string_append(body, "\r\n");
	}
	while (reader_next(reader)) {
		g_string_append_len(body, reader->line, reader->line_len);
		g_string_append(body, "\r\n");
		while (body->len >= TOOL_VERIFY_BODY_CHUNK) {
			verify_dkim_body(message->dkim, (const guchar *)body->str,
					 TOOL_VERIFY_BODY_CHUNK);
			g_string_erase(body, 0, TOOL_VERIFY_BODY_CHUNK);
		}
	}
	if (ferror(reader->in)) {
		fprintf(stderr, "portcullis verify: %s: %s\n", reader->path, g_strerror(errno));
		return FALSE;
	}
	if (body->len > 0)
		verify_dkim_body(message->dkim, (const guchar *)body->str, body->len);
	verify_dkim_eom(message->dkim);
	return TRUE;
}

/* ------------------------------------------------------------- output */

static void
json_spf(ToolJson *json, const char *key, const PcSpfOutcome *outcome, const char *helo)
{
	if (outcome == NULL) {
		tool_json_null(json, key);
		return;
	}
	tool_json_begin_object(json, key);
	tool_json_string(json, "result", pc_spf_result_to_string(outcome->result));
	tool_json_string(json, "domain", helo != NULL ? helo : outcome->domain);
	tool_json_string(json, "reason", outcome->reason);
	tool_json_string(json, "explanation", outcome->explanation);
	tool_json_int(json, "dns_lookups", outcome->dns_terms);
	tool_json_int(json, "void_lookups", outcome->void_lookups);
	tool_json_int(json, "queries", outcome->queries);
	tool_json_end_object(json);
}

static void
json_dkim(ToolJson *json, const VerifyDkimSignature *signature)
{
	tool_json_begin_object(json, NULL);
	tool_json_string(json, "result", verify_dkim_result_to_string(signature->result));
	tool_json_string(json, "reason", signature->reason);
	tool_json_string(json, "domain", signature->tags->domain);
	tool_json_string(json, "selector", signature->tags->selector);
	tool_json_string(json, "identity", signature->tags->identity);
	tool_json_string(json, "algorithm", signature->tags->algorithm);
	tool_json_string(json, "b", signature->tags->b);
	if (signature->key_bits > 0)
		tool_json_int(json, "key_bits", signature->key_bits);
	else
		tool_json_null(json, "key_bits");
	tool_json_bool(json, "testing", signature->testing);
	tool_json_end_object(json);
}

static void
json_dmarc(ToolJson *json, const VerifyDmarcMessage *dmarc)
{
	const VerifyDmarcOutcome *outcome = &dmarc->outcome;

	tool_json_begin_object(json, "dmarc");
	tool_json_string(json, "skipped", dmarc->skipped);
	tool_json_string(json, "result",
			 dmarc->evaluated ? verify_dmarc_result_to_string(outcome->result)
			 : dmarc->from_problem != NULL ? "permerror"
						       : NULL);
	tool_json_string(json, "from_problem", dmarc->from_problem);
	tool_json_string(json, "author_domain", dmarc->author_domain);
	tool_json_string(json, "reason", outcome->reason);
	tool_json_string(json, "org_domain", outcome->org_domain);
	tool_json_string(json, "policy_domain", outcome->policy_domain);
	{
		g_autofree char *asked = verify_dmarc_outcome_policy(outcome);

		tool_json_string(json, "policy", asked);
	}
	if (outcome->result == VERIFY_DMARC_FAIL)
		tool_json_string(json, "disposition",
				 verify_dmarc_policy_to_string(outcome->disposition));
	tool_json_bool(json, "spf_aligned", outcome->spf_aligned);
	tool_json_string(json, "dkim_aligned", outcome->dkim_aligned);
	if (dmarc->evaluated || dmarc->from_problem != NULL)
		tool_json_string(json, "action", verify_dmarc_action_to_string(dmarc->action));
	tool_json_string(json, "override", dmarc->override);
	tool_json_int(json, "lookups", outcome->lookups);
	tool_json_end_object(json);
}

static void
print_json(const char *authserv_id, const char *header, const VerifySpfConnection *connection,
	   const VerifyMessage *message)
{
	const GPtrArray *signatures = verify_dkim_signatures(message->dkim);
	g_autofree char *text = NULL;
	ToolJson json;

	tool_json_init(&json);
	tool_json_begin_object(&json, NULL);
	tool_json_string(&json, "authserv_id", authserv_id);
	tool_json_string(&json, "header", header);
	tool_json_begin_object(&json, "spf");
	tool_json_string(&json, "skipped", message->spf.skipped);
	json_spf(&json, "mailfrom", message->spf.mailfrom, NULL);
	json_spf(&json, "helo", connection->helo_outcome, connection->helo);
	tool_json_end_object(&json);
	tool_json_begin_array(&json, "dkim");
	for (guint i = 0; i < signatures->len; i++)
		json_dkim(&json, g_ptr_array_index(signatures, i));
	tool_json_end_array(&json);
	tool_json_int(&json, "dkim_ignored", verify_dkim_ignored(message->dkim));
	json_dmarc(&json, &message->dmarc);
	tool_json_int(&json, "authres_removed", message->forged->len);
	tool_json_end_object(&json);
	text = tool_json_finish(&json);
	fputs(text, stdout);
}

/* ------------------------------------------------------------- command */

typedef struct {
	char *config_path;
	char *ip;
	char *helo;
	char *mail_from;
	gboolean json;
} ToolVerifyOptions;

static int
run(const ToolVerifyOptions *options, const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(VerifyDkim) dkim = NULL;
	g_autoptr(PcSession) session = NULL;
	g_autoptr(PcAuthRes) authres = NULL;
	g_autofree char *value = NULL;
	g_autofree char *header = NULL;
	g_auto(PcVerdict) verdict;
	PcConfigSlot slot;
	PcNetAddress ip;
	ToolReader reader = {.path = path};
	VerifySpfConnection *connection;
	VerifyMessage *message;
	const VerifyConfig *verify;
	VerifyDmarcDnsContext dmarc_dns;
	VerifyDmarcResolver resolver;
	gboolean read_ok;

	pc_verdict_init(&verdict);
	if (options->ip != NULL && !pc_net_address_parse(options->ip, &ip)) {
		fprintf(stderr, "portcullis verify: --ip %s is not an IPv4 or IPv6 address\n",
			options->ip);
		return TOOL_EXIT_USAGE;
	}
	if (!tool_load("verify", options->config_path, &verify_config_schema, &config, &dns))
		return TOOL_EXIT_USAGE;
	verify = pc_config_get_section(config);
	dkim = verify_dkim_new(dns, &error);
	if (dkim == NULL) {
		fprintf(stderr, "portcullis verify: %s\n", error->message);
		return TOOL_EXIT_FAILED;
	}
	if (strcmp(path, "-") == 0) {
		reader.in = stdin;
	} else {
		reader.in = fopen(path, "r");
		if (reader.in == NULL) {
			fprintf(stderr, "portcullis verify: %s: %s\n", path, g_strerror(errno));
			return TOOL_EXIT_FAILED;
		}
	}

	/* CONNECT, HELO and MAIL, as the daemon's hooks see them */
	session = pc_session_new(NULL, g_get_monotonic_time());
	pc_session_set_client(session, NULL, options->ip != NULL ? &ip : NULL);
	pc_config_slot_init(&slot, config);
	pc_session_pin_config(session, &slot);
	pc_config_slot_clear(&slot);
	session->header_leading_space = TRUE;
	connection = verify_spf_connection_new(session);
	session->connection_data = connection;
	session->connection_data_free = verify_spf_connection_free;
	if (options->helo != NULL) {
		pc_session_set_helo(session, options->helo);
		verify_spf_helo(session, dns, connection);
	}
	if (options->mail_from != NULL) {
		g_autofree char *argument = tool_path_argument(options->mail_from);

		pc_session_set_sender(session, argument);
	}
	message = verify_message_new(session);
	pc_session_set_message_data(session, message, free_message_data);
	if (options->mail_from != NULL)
		verify_spf_mail(session, dns, connection, &message->spf, &message->dns_budget);
	message->dkim =
	    verify_dkim_message_new(dkim, pc_session_queue_id(session),
				    (guint)verify->max_signatures, &message->dns_budget, TRUE);

	read_ok = feed_message(&reader, session, message);
	if (reader.in != stdin)
		fclose(reader.in);
	free(reader.line);
	if (!read_ok)
		return TOOL_EXIT_FAILED;

	/* EOM: the entries in the daemon's order, SPF (MAIL, HELO), DKIM, then DMARC */
	authres = pc_authres_new(verify_authserv_id(config));
	verify_spf_eom(connection, &message->spf, authres, &verdict);
	verify_dkim_authres(verify_dkim_signatures(message->dkim), authres);
	dmarc_dns = (VerifyDmarcDnsContext){dns, &message->dns_budget};
	verify_dmarc_resolver_init(&resolver, &dmarc_dns);
	verify_dmarc_eom(session, verify, &resolver,
			 verify_spf_message_outcome(connection, &message->spf),
			 verify_dkim_signatures(message->dkim), authres, &verdict, &message->dmarc);
	value = pc_authres_format(authres);
	header = g_strdup_printf("Authentication-Results: %s", value);
	if (options->json) {
		print_json(verify_authserv_id(config), header, connection, message);
	} else {
		printf("%s\n", header);
		if (message->spf.skipped != NULL)
			fprintf(stderr, "portcullis verify: SPF not checked: %s%s\n",
				message->spf.skipped, options->ip == NULL ? " (no --ip)" : "");
		else if (options->mail_from == NULL && options->ip != NULL)
			fprintf(stderr, "portcullis verify: no --mail-from: only the HELO "
					"identity is checked\n");
		if (verdict.action != PC_ACTION_CONTINUE)
			fprintf(stderr, "portcullis verify: the daemon would %s the message: %s\n",
				verdict.action == PC_ACTION_QUARANTINE ? "hold"
				: verdict.action == PC_ACTION_REJECT   ? "reject"
								       : "tempfail",
				verdict.text != NULL ? verdict.text : "");
		if (message->forged->len > 0)
			fprintf(stderr,
				"portcullis verify: %u Authentication-Results header(s) in our "
				"name would be removed\n",
				message->forged->len);
	}
	return TOOL_EXIT_OK;
}

int
tool_verify(int argc, char **argv)
{
	ToolVerifyOptions options = {0};
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"ip", 0, 0, G_OPTION_ARG_STRING, &options.ip,
	     "the client's address (without it SPF is not checked)", "ADDR"},
	    {"helo", 0, 0, G_OPTION_ARG_STRING, &options.helo, "the client's HELO name", "NAME"},
	    {"mail-from", 0, 0, G_OPTION_ARG_STRING, &options.mail_from,
	     "the envelope sender (\"\" or \"<>\" for the null sender)", "ADDR"},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &options.json,
	     "print each check with its details, as JSON", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(
	    "[FILE|-] - the Authentication-Results portcullis-verify would add");
	g_autoptr(GError) error = NULL;
	int status;

	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(
	    context, "Reads one message (CRLF or LF line ends; standard input without FILE or "
		     "with -)\nand prints the header the daemon would insert, with its DNS and "
		     "configuration.\nExit status 0 whatever the results, 1 when the message "
		     "cannot be read,\n2 for a usage or configuration error.");
	if (!g_option_context_parse(context, &argc, &argv, &error))
		status = tool_usage_error(context, "portcullis verify", error->message);
	else if (argc > 2)
		status = tool_usage_error(context, "portcullis verify", "one message at a time");
	else
		status = run(&options, argc == 2 ? argv[1] : "-");
	g_free(options.config_path);
	g_free(options.ip);
	g_free(options.helo);
	g_free(options.mail_from);
	return status;
}
