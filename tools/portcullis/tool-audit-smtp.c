/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis audit smtp HOST[:PORT[/ROLE]]...: a live server audited the way
 * the port-role practice describes. Without a port, 25 (mx), 587
 * (submission) and 465 (smtps) are tried; with one, its role is the one
 * named after '/', else 25, 587 and 465's, else mx.
 *
 * Per listener: whether it answers; the banner (a 220 naming the host);
 * EHLO; STARTTLS offered on mx and submission, implicit TLS on smtps, and
 * the session's TLS version and cipher; the certificate (verified against
 * the system's CAs, and its name against the host); which older TLS
 * versions (1.0, 1.1) a fresh connection may still use (flagged); AUTH
 * offered before TLS (bad) and on an mx listener (flagged); VRFY and EXPN
 * answering with addresses; and, on mx, an open-relay battery: one MAIL
 * and RCPTs in the address forms the relay guard knows (a foreign domain,
 * the percent hack, a bang path, a source route, a quoted local part, an
 * address literal), then RSET; never DATA, so nothing is ever sent.
 *
 * One line per finding, "SEVERITY LISTENER CHECK: text", or --json.
 * Network: only the hosts named; --source binds the client address (an
 * audit from a host the server trusts says little). Exit status 0
 * whatever the findings; 2 for usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tool-json.h"
#include "tool.h"

#define AUDIT_MAX_LINE 4096
#define AUDIT_MAX_REPLY (64 * 1024)
#define AUDIT_EHLO "audit.portcullis.invalid"

typedef struct {
	char *host;
	guint port;
	const char *role; /* "mx", "submission", "smtps" */
	char *label;	  /* "HOST:PORT" */
} Target;

typedef struct {
	const char *source;
	guint timeout_s;
	GPtrArray *findings; /* "SEVERITY\tLISTENER\tCHECK\ttext" */
} Audit;

typedef struct {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[AUDIT_MAX_LINE];
	gsize len;
} Conn;

static void G_GNUC_PRINTF(5, 6) say(Audit *audit, const char *severity, const Target *target,
				    const char *check, const char *format, ...)
{
	va_list args;
	g_autofree char *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_ptr_array_add(audit->findings,
			g_strdup_printf("%s\t%s\t%s\t%s", severity, target->label, check, text));
}

static void
conn_close(Conn *conn)
{
	if (conn->ssl != NULL)
		SSL_free(conn->ssl);
	if (conn->ctx != NULL)
		SSL_CTX_free(conn->ctx);
	if (conn->fd >= 0)
		close(conn->fd);
	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
}

/* a TCP connection to the target, from source when given; FALSE with why */
static gboolean
conn_open(Audit *audit, const Target *target, Conn *conn, char **why_out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found = NULL;
	g_autofree char *port = g_strdup_printf("%u", target->port);
	struct timeval tv = {audit->timeout_s, 0};
	int status;

	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
	status = getaddrinfo(target->host, port, &hints, &found);
	if (status != 0) {
		*why_out = g_strdup(gai_strerror(status));
		return FALSE;
	}
	conn->fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(conn->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (audit->source != NULL) {
		struct addrinfo *local = NULL;

		if (getaddrinfo(audit->source, NULL, &hints, &local) != 0 ||
		    bind(conn->fd, local->ai_addr, local->ai_addrlen) != 0) {
			*why_out = g_strdup_printf("cannot use --source %s", audit->source);
			if (local != NULL)
				freeaddrinfo(local);
			freeaddrinfo(found);
			return FALSE;
		}
		freeaddrinfo(local);
	}
	if (connect(conn->fd, found->ai_addr, found->ai_addrlen) != 0) {
		*why_out = g_strdup(g_strerror(errno));
		freeaddrinfo(found);
		return FALSE;
	}
	freeaddrinfo(found);
	return TRUE;
}

static gssize
conn_read(Conn *conn, char *buf, gsize size)
{
	if (conn->ssl != NULL) {
		int n = SSL_read(conn->ssl, buf, (int)size);

		return n > 0 ? n : -1;
	}
	return recv(conn->fd, buf, size, 0);
}

static gboolean
conn_write(Conn *conn, const char *line)
{
	g_autofree char *text = g_strconcat(line, "\r\n", NULL);
	gsize len = strlen(text);

	if (conn->ssl != NULL)
		return SSL_write(conn->ssl, text, (int)len) == (int)len;
	return send(conn->fd, text, len, MSG_NOSIGNAL) == (gssize)len;
}

/* one SMTP reply: its code (0 on a broken reply) and its lines' text in text_out */
static int
conn_reply(Conn *conn, GString *text_out)
{
	int code = 0;

	g_string_truncate(text_out, 0);
	while (text_out->len < AUDIT_MAX_REPLY) {
		char *newline = memchr(conn->buf, '\n', conn->len);
		gsize line_len;

		if (newline == NULL) {
			gssize n;

			if (conn->len >= sizeof(conn->buf) - 1)
				return 0;
			n = conn_read(conn, conn->buf + conn->len,
				      sizeof(conn->buf) - 1 - conn->len);
			if (n <= 0)
				return 0;
			conn->len += (gsize)n;
			continue;
		}
		line_len = (gsize)(newline - conn->buf);
		if (line_len > 0 && conn->buf[line_len - 1] == '\r')
			conn->buf[line_len - 1] = '\0';
		*newline = '\0';
		if (line_len < 3 || !g_ascii_isdigit(conn->buf[0]))
			return 0;
		code = atoi(conn->buf);
		g_string_append_printf(text_out, "%s\n", conn->buf + MIN(line_len, 4));
		{
			gboolean last = line_len == 3 || conn->buf[3] == ' ';

			memmove(conn->buf, newline + 1, conn->len - line_len - 1);
			conn->len -= line_len + 1;
			if (last)
				return code;
		}
	}
	return 0;
}

static int
command(Conn *conn, const char *line, GString *text_out)
{
	if (!conn_write(conn, line))
		return 0;
	return conn_reply(conn, text_out);
}

/* TLS on the connection, at most version (0: any the library allows) */
static gboolean
conn_tls(Conn *conn, const char *host, int version, char **why_out)
{
	conn->ctx = SSL_CTX_new(TLS_client_method());
	if (version != 0) {
		/* probing an old version: the library's own floor would hide the answer */
		SSL_CTX_set_security_level(conn->ctx, 0);
		SSL_CTX_set_cipher_list(conn->ctx, "DEFAULT:@SECLEVEL=0");
		SSL_CTX_set_min_proto_version(conn->ctx, version);
		SSL_CTX_set_max_proto_version(conn->ctx, version);
	}
	SSL_CTX_set_default_verify_paths(conn->ctx);
	SSL_CTX_set_verify(conn->ctx, SSL_VERIFY_NONE, NULL);
	conn->ssl = SSL_new(conn->ctx);
	SSL_set_fd(conn->ssl, conn->fd);
	if (inet_pton(AF_INET, host, &(struct in_addr){0}) != 1 &&
	    inet_pton(AF_INET6, host, &(struct in6_addr){0}) != 1)
		SSL_set_tlsext_host_name(conn->ssl, host);
	conn->len = 0;
	if (SSL_connect(conn->ssl) != 1) {
		unsigned long e = ERR_get_error();
		char text[256];

		ERR_error_string_n(e, text, sizeof(text));
		*why_out = g_strdup(e != 0 ? text : "handshake failed");
		SSL_free(conn->ssl);
		conn->ssl = NULL;
		return FALSE;
	}
	return TRUE;
}

static gboolean
has_capability(const GString *ehlo, const char *name, char **rest_out)
{
	g_auto(GStrv) lines = g_strsplit(ehlo->str, "\n", -1);
	gsize len = strlen(name);

	for (char **l = lines; *l != NULL; l++) {
		if (g_ascii_strncasecmp(*l, name, len) == 0 &&
		    ((*l)[len] == '\0' || (*l)[len] == ' ')) {
			if (rest_out != NULL)
				*rest_out = g_strdup(g_strstrip(*l + len));
			return TRUE;
		}
	}
	return FALSE;
}

/* the session's TLS and the certificate */
static void
judge_tls(Audit *audit, const Target *target, Conn *conn)
{
	X509 *cert = SSL_get1_peer_certificate(conn->ssl);
	long verify = SSL_get_verify_result(conn->ssl);
	int version = SSL_version(conn->ssl);

	say(audit, version >= TLS1_2_VERSION ? "ok" : "warning", target, "tls", "%s, %s",
	    SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl));
	if (cert == NULL) {
		say(audit, "error", target, "certificate", "the server sent none");
		return;
	}
	if (verify != X509_V_OK)
		say(audit, "warning", target, "certificate", "not trusted here: %s",
		    X509_verify_cert_error_string(verify));
	else
		say(audit, "ok", target, "certificate", "trusted by this system's CAs");
	{
		gboolean ip = inet_pton(AF_INET, target->host, &(struct in_addr){0}) == 1 ||
			      inet_pton(AF_INET6, target->host, &(struct in6_addr){0}) == 1;
		int match = ip ? X509_check_ip_asc(cert, target->host, 0)
			       : X509_check_host(cert, target->host, 0, 0, NULL);

		if (match == 1)
			say(audit, "ok", target, "certificate", "names %s", target->host);
		else
			say(audit, "warning", target, "certificate", "does not name %s",
			    target->host);
	}
	X509_free(cert);
}

/* the open-relay battery: RCPT only, then RSET */
static void
relay_battery(Audit *audit, const Target *target, Conn *conn, const char *domain)
{
	g_autoptr(GString) reply = g_string_new(NULL);
	/* the disguises, "@D" standing for the domain the server receives for */
	const char *forms[] = {
	    "<relay-test@portcullis-audit.invalid>",
	    "<relay-test%portcullis-audit.invalid@D>",
	    "<portcullis-audit.invalid!relay-test@D>",
	    "<@D:relay-test@portcullis-audit.invalid>",
	    "<\"relay-test@portcullis-audit.invalid\"@D>",
	    "<relay-test@[192.0.2.1]>",
	};
	guint accepted = 0;
	int code = command(conn, "MAIL FROM:<audit@portcullis-audit.invalid>", reply);

	if (code / 100 != 2) {
		say(audit, "info", target, "relay",
		    "MAIL refused (%d): the relay battery was not run", code);
		return;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
		g_auto(GStrv) parts = g_strsplit(forms[i], "@D", -1);
		g_autofree char *with_at = g_strconcat("@", domain, NULL);
		g_autofree char *address = g_strjoinv(with_at, parts);
		g_autofree char *line = g_strdup_printf("RCPT TO:%s", address);

		code = command(conn, line, reply);
		if (code / 100 == 2) {
			say(audit, "error", target, "relay",
			    "RCPT TO:%s accepted (%d): an open relay?", address, code);
			accepted++;
		}
	}
	command(conn, "RSET", reply);
	if (accepted == 0)
		say(audit, "ok", target, "relay", "%zu relay forms refused at RCPT (no DATA sent)",
		    G_N_ELEMENTS(forms));
}

/* the relay battery on a session of its own: last, as a relay guard may ban the auditor */
static void
audit_relay(Audit *audit, const Target *target, const char *domain)
{
	Conn conn;
	g_autofree char *why = NULL;
	g_autoptr(GString) reply = g_string_new(NULL);
	int code = 0;

	if (!conn_open(audit, target, &conn, &why)) {
		conn_close(&conn);
		return;
	}
	if ((strcmp(target->role, "smtps") != 0 || conn_tls(&conn, target->host, 0, &why)) &&
	    conn_reply(&conn, reply) == 220 &&
	    (code = command(&conn, "EHLO " AUDIT_EHLO, reply)) == 250)
		relay_battery(audit, target, &conn, domain);
	else
		say(audit, "info", target, "relay",
		    "the battery was not run: the session ended (%d)", code);
	command(&conn, "QUIT", reply);
	conn_close(&conn);
}

static void
audit_target(Audit *audit, const Target *target)
{
	Conn conn;
	g_autofree char *why = NULL;
	g_autoptr(GString) reply = g_string_new(NULL);
	gboolean implicit = strcmp(target->role, "smtps") == 0;
	gboolean starttls;
	g_autofree char *auth_before = NULL;
	int code;

	if (!conn_open(audit, target, &conn, &why)) {
		say(audit, strcmp(target->role, "mx") == 0 ? "error" : "info", target, "connect",
		    "does not answer: %s", why);
		conn_close(&conn);
		return;
	}
	if (implicit && !conn_tls(&conn, target->host, 0, &why)) {
		say(audit, "error", target, "tls", "no implicit TLS (port 465 role): %s", why);
		conn_close(&conn);
		return;
	}
	code = conn_reply(&conn, reply);
	if (code != 220) {
		say(audit, "error", target, "banner", "no 220 greeting (%d)", code);
		conn_close(&conn);
		return;
	}
	say(audit, reply->len > 1 ? "ok" : "warning", target, "banner", "220 %s",
	    g_strstrip(reply->str));
	if (implicit)
		judge_tls(audit, target, &conn);
	code = command(&conn, "EHLO " AUDIT_EHLO, reply);
	if (code != 250) {
		say(audit, "error", target, "ehlo", "EHLO answered %d", code);
		conn_close(&conn);
		return;
	}
	starttls = has_capability(reply, "STARTTLS", NULL);
	if (has_capability(reply, "AUTH", &auth_before)) {
		if (strcmp(target->role, "mx") == 0)
			say(audit, "warning", target, "auth",
			    "AUTH offered on an mx listener (%s): where password guessing starts",
			    auth_before);
		else if (!implicit)
			say(audit, "error", target, "auth",
			    "AUTH offered before TLS (%s): passwords may cross in clear",
			    auth_before);
	}
	if (!implicit) {
		if (!starttls)
			say(audit, strcmp(target->role, "mx") == 0 ? "warning" : "error", target,
			    "tls", "STARTTLS not offered: mail %s in clear",
			    strcmp(target->role, "mx") == 0 ? "arrives" : "and passwords cross");
		else
			say(audit, "ok", target, "tls", "STARTTLS offered");
	}
	code = command(&conn, "VRFY postmaster", reply);
	if (code == 250 || code == 251)
		say(audit, "warning", target, "vrfy", "VRFY confirms addresses (%d)", code);
	else
		say(audit, "ok", target, "vrfy", "VRFY does not confirm addresses (%d)", code);
	code = command(&conn, "EXPN postmaster", reply);
	if (code == 250)
		say(audit, "warning", target, "expn", "EXPN expands lists (%d)", code);
	else
		say(audit, "ok", target, "expn", "EXPN does not expand (%d)", code);
	if (!implicit && starttls) {
		code = command(&conn, "STARTTLS", reply);
		if (code == 220 && conn_tls(&conn, target->host, 0, &why)) {
			g_autofree char *auth_after = NULL;

			judge_tls(audit, target, &conn);
			code = command(&conn, "EHLO " AUDIT_EHLO, reply);
			if (strcmp(target->role, "submission") == 0 &&
			    !has_capability(reply, "AUTH", &auth_after))
				say(audit, "warning", target, "auth",
				    "no AUTH after STARTTLS on a submission listener");
			else if (auth_after != NULL && auth_before == NULL)
				say(audit, "ok", target, "auth", "AUTH offered after TLS only (%s)",
				    auth_after);
		} else {
			say(audit, "error", target, "tls", "STARTTLS failed: %s",
			    why != NULL ? why : "refused");
		}
	}
	command(&conn, "QUIT", reply);
	conn_close(&conn);
	/* the old versions, each on a connection of its own */
	{
		const struct {
			int version;
			const char *name;
		} old[] = {{TLS1_VERSION, "TLS 1.0"}, {TLS1_1_VERSION, "TLS 1.1"}};

		for (gsize i = 0; (implicit || starttls) && i < G_N_ELEMENTS(old); i++) {
			gboolean tried = FALSE, accepted = FALSE;

			g_clear_pointer(&why, g_free);
			if (conn_open(audit, target, &conn, &why)) {
				if (implicit) {
					tried = TRUE;
					accepted =
					    conn_tls(&conn, target->host, old[i].version, &why);
				} else if (conn_reply(&conn, reply) == 220 &&
					   command(&conn, "EHLO " AUDIT_EHLO, reply) == 250 &&
					   command(&conn, "STARTTLS", reply) == 220) {
					tried = TRUE;
					accepted =
					    conn_tls(&conn, target->host, old[i].version, &why);
				}
			}
			conn_close(&conn);
			if (!tried)
				say(audit, "info", target, "tls",
				    "%s not judged: the server did not get as far as TLS",
				    old[i].name);
			else
				say(audit, accepted ? "warning" : "ok", target, "tls", "%s %s",
				    old[i].name,
				    accepted ? "accepted: deprecated by RFC 8996" : "refused");
		}
	}
}

static void
print_findings(const GPtrArray *findings, gboolean json)
{
	static const char *const names[] = {"severity", "listener", "check", "text"};
	static const int widths[] = {8, 20, 12, 0};

	tool_print_findings(findings, G_N_ELEMENTS(names), names, widths, json);
}

static void
target_free(gpointer data)
{
	Target *target = data;

	g_free(target->host);
	g_free(target->label);
	g_free(target);
}

/* "HOST", "HOST:PORT", "[V6]:PORT", each with an optional "/ROLE"; FALSE on nonsense */
static gboolean
add_targets(const char *spec, GPtrArray *targets)
{
	static const struct {
		guint port;
		const char *role;
	} defaults[] = {{25, "mx"}, {587, "submission"}, {465, "smtps"}};
	g_autofree char *copy = g_strdup(spec);
	char *slash = strrchr(copy, '/');
	const char *role = NULL;
	char *colon;
	guint64 port = 0;

	if (slash != NULL) {
		*slash = '\0';
		/* the role as a static string: copy is freed on return */
		for (gsize i = 0; i < G_N_ELEMENTS(defaults); i++) {
			if (strcmp(slash + 1, defaults[i].role) == 0)
				role = defaults[i].role;
		}
		if (role == NULL)
			return FALSE;
	}
	if (copy[0] == '[') {
		char *close = strchr(copy, ']');

		if (close == NULL)
			return FALSE;
		*close = '\0';
		colon = close[1] == ':' ? close + 1 : NULL;
		memmove(copy, copy + 1, strlen(copy));
	} else {
		colon = strchr(copy, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL; /* a bare IPv6 address */
	}
	if (colon != NULL) {
		*colon = '\0';
		if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
			return FALSE;
	}
	if (copy[0] == '\0')
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(defaults); i++) {
		Target *target;
		const char *port_role = "mx";

		if (port != 0) {
			/* one listener: its role as named, else as its port's, else mx */
			for (gsize j = 0; j < G_N_ELEMENTS(defaults); j++) {
				if (defaults[j].port == port)
					port_role = defaults[j].role;
			}
		}
		target = g_new0(Target, 1);
		target->host = g_strdup(copy);
		target->port = port != 0 ? (guint)port : defaults[i].port;
		target->role = role != NULL ? role : port != 0 ? port_role : defaults[i].role;
		target->label = g_strdup_printf("%s:%u", copy, target->port);
		g_ptr_array_add(targets, target);
		if (port != 0)
			break;
	}
	return TRUE;
}

int
tool_audit_smtp(int argc, char **argv)
{
	g_autofree char *source = NULL;
	g_autofree char *domain = NULL;
	gboolean json = FALSE;
	gint timeout = 10;
	GOptionEntry entries[] = {
	    {"source", 0, 0, G_OPTION_ARG_STRING, &source,
	     "the client address to connect from (an untrusted one)", "ADDRESS"},
	    {"domain", 0, 0, G_OPTION_ARG_STRING, &domain,
	     "a domain the server receives mail for (the relay battery's disguises)", "DOMAIN"},
	    {"timeout", 0, 0, G_OPTION_ARG_INT, &timeout, "seconds per reply (default 10)", "S"},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &json, "the findings as JSON", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("HOST[:PORT[/ROLE]]... - audit live SMTP listeners");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func(target_free);
	g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
	Audit audit;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc < 2 || timeout < 1 ||
	    timeout > 300) {
		g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);

		fprintf(stderr, "portcullis audit smtp: %s\n\n%s",
			error != NULL ? error->message : "one HOST at least; --timeout 1..300",
			help);
		return TOOL_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (!add_targets(argv[i], targets)) {
			fprintf(stderr,
				"portcullis audit smtp: %s is not HOST[:PORT[/ROLE]] (ROLE: "
				"mx, submission, smtps)\n",
				argv[i]);
			return TOOL_EXIT_USAGE;
		}
	}
	audit = (Audit){source, (guint)timeout, findings};
	for (guint i = 0; i < targets->len; i++) {
		const Target *target = g_ptr_array_index(targets, i);

		audit_target(&audit, target);
	}
	for (guint i = 0; i < targets->len; i++) {
		const Target *target = g_ptr_array_index(targets, i);

		if (strcmp(target->role, "mx") == 0)
			audit_relay(&audit, target, domain != NULL ? domain : target->host);
	}
	print_findings(findings, json);
	return TOOL_EXIT_OK;
}
