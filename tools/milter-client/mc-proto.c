/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-proto: milter wire format, socket handling and reply decoding.
 *
 * Everything the milter sends is untrusted: lengths are bounded before any
 * allocation, every string must be NUL-terminated inside its packet, and
 * anything unexpected becomes MC_PROTO_ERROR_PROTOCOL rather than a crash or
 * a silent truncation.
 */
#include "mc-proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

/* a replacement body is collected in memory for the report; bound it */
#define MC_PROTO_MAX_REPLBODY (64u * 1024u * 1024u)
/* how much of a replacement body its rendering shows */
#define MC_PROTO_REPLBODY_SHOWN 1024u
/* a milter that streams replies for ever must not keep us for ever */
#define MC_PROTO_MAX_REPLY_PACKETS 1000000u

struct _McConn {
	int fd;
	guint timeout_ms;
	gboolean trace;
	GByteArray *out;
};

G_DEFINE_QUARK(mc - proto - error - quark, mc_proto_error)

static const char *const stage_names[MC_STAGE_COUNT] = {
    [MC_STAGE_CONNECT] = "connect", [MC_STAGE_HELO] = "helo", [MC_STAGE_MAIL] = "mail",
    [MC_STAGE_RCPT] = "rcpt",	    [MC_STAGE_DATA] = "data", [MC_STAGE_EOM] = "eom",
    [MC_STAGE_EOH] = "eoh",
};

static const char stage_commands[MC_STAGE_COUNT] = {
    [MC_STAGE_CONNECT] = MC_CMD_CONNECT, [MC_STAGE_HELO] = MC_CMD_HELO,
    [MC_STAGE_MAIL] = MC_CMD_MAIL,	 [MC_STAGE_RCPT] = MC_CMD_RCPT,
    [MC_STAGE_DATA] = MC_CMD_DATA,	 [MC_STAGE_EOM] = MC_CMD_BODYEOB,
    [MC_STAGE_EOH] = MC_CMD_EOH,
};

static const char *const mod_names[MC_MOD_COUNT] = {
    [MC_MOD_ADDHEADER] = "addheader", [MC_MOD_INSHEADER] = "insheader",
    [MC_MOD_CHGHEADER] = "chgheader", [MC_MOD_REPLBODY] = "replbody",
    [MC_MOD_ADDRCPT] = "addrcpt",     [MC_MOD_DELRCPT] = "delrcpt",
    [MC_MOD_CHGFROM] = "chgfrom",     [MC_MOD_QUARANTINE] = "quarantine",
};

const char *
mc_stage_name(McStage stage)
{
	g_return_val_if_fail(stage < MC_STAGE_COUNT, "?");
	return stage_names[stage];
}

gboolean
mc_stage_parse(const char *name, McStage *stage_out)
{
	if (g_strcmp0(name, "envfrom") == 0)
		name = "mail";
	else if (g_strcmp0(name, "envrcpt") == 0)
		name = "rcpt";
	for (guint i = 0; i < MC_STAGE_COUNT; i++) {
		if (g_strcmp0(name, stage_names[i]) == 0) {
			*stage_out = (McStage)i;
			return TRUE;
		}
	}
	return FALSE;
}

char
mc_stage_command(McStage stage)
{
	g_return_val_if_fail(stage < MC_STAGE_COUNT, '?');
	return stage_commands[stage];
}

const char *
mc_mod_kind_name(McModKind kind)
{
	g_return_val_if_fail(kind < MC_MOD_COUNT, "?");
	return mod_names[kind];
}

gboolean
mc_mod_kind_parse(const char *name, McModKind *kind_out)
{
	for (guint i = 0; i < MC_MOD_COUNT; i++) {
		if (g_strcmp0(name, mod_names[i]) == 0) {
			*kind_out = (McModKind)i;
			return TRUE;
		}
	}
	return FALSE;
}

void
mc_negotiation_clear(McNegotiation *negotiation)
{
	for (guint i = 0; i < MC_STAGE_COUNT; i++)
		g_clear_pointer(&negotiation->macro_lists[i], g_free);
	negotiation->version = negotiation->actions = negotiation->protocol = 0;
}

void
mc_mod_free(McMod *mod)
{
	if (mod == NULL)
		return;
	g_free(mod->text);
	g_free(mod->name);
	g_free(mod->value);
	g_free(mod);
}

void
mc_reply_clear(McReply *reply)
{
	g_clear_pointer(&reply->smtp_reply, g_free);
	g_clear_pointer(&reply->mods, g_ptr_array_unref);
	reply->answer = MC_ANSWER_CONTINUE;
	reply->progress = 0;
}

void
mc_proto_escape_append(GString *out, const void *data, gsize len)
{
	const guint8 *p = data;

	for (gsize i = 0; i < len; i++) {
		switch (p[i]) {
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (p[i] < 0x20 || p[i] > 0x7e)
				g_string_append_printf(out, "\\x%02x", p[i]);
			else
				g_string_append_c(out, (char)p[i]);
		}
	}
}

char *
mc_proto_escape(const void *data, gsize len)
{
	GString *out = g_string_sized_new(len + 8);

	mc_proto_escape_append(out, data, len);
	return g_string_free(out, FALSE);
}

/* ---- socket setup ---- */

static gboolean
conn_wait(int fd, short events, gint64 deadline, GError **error)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		gint64 left = deadline - g_get_monotonic_time();
		int rc;

		if (left <= 0) {
			g_set_error_literal(error, MC_PROTO_ERROR, MC_PROTO_ERROR_TIMEOUT,
					    "timed out waiting for the milter");
			return FALSE;
		}
		rc = poll(&pfd, 1, (int)MIN((left + 999) / 1000, G_MAXINT));
		if (rc > 0)
			return TRUE;
		if (rc < 0 && errno != EINTR) {
			g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO, "poll: %s",
				    g_strerror(errno));
			return FALSE;
		}
	}
}

static int
conn_connect_addr(const struct sockaddr *sa, socklen_t salen, guint timeout_ms, GError **error)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int soerr = 0;
	socklen_t soerr_len = sizeof(soerr);

	if (fd < 0) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO, "socket: %s",
			    g_strerror(errno));
		return -1;
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	/* a unix socket whose backlog is full answers EAGAIN instead of EINPROGRESS */
	if (errno != EINPROGRESS && errno != EAGAIN) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO, "connect: %s",
			    g_strerror(errno));
		close(fd);
		return -1;
	}
	if (!conn_wait(fd, POLLOUT, g_get_monotonic_time() + (gint64)timeout_ms * 1000, error)) {
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) < 0 || soerr != 0) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO, "connect: %s",
			    g_strerror(soerr != 0 ? soerr : errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
conn_connect_unix(const char *path, guint timeout_ms, GError **error)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_SPEC,
			    "unix socket path is empty or too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	return conn_connect_addr((struct sockaddr *)&sun, sizeof(sun), timeout_ms, error);
}

static int
conn_connect_inet(const char *rest, int family, guint timeout_ms, GError **error)
{
	g_autofree char *port = g_strdup(rest);
	g_autofree char *host = NULL;
	char *at = strchr(port, '@');
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int fd = -1;
	int rc;

	if (at != NULL) {
		*at = '\0';
		host = g_strdup(at + 1);
	} else {
		/* libmilter's listener default is "any"; the client talks to loopback */
		host = g_strdup(family == AF_INET6 ? "::1" : "127.0.0.1");
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port)) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_SPEC, "bad port in \"%s\"", rest);
		return -1;
	}
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_SPEC, "%s: %s", host,
			    gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		g_clear_error(error);
		fd = conn_connect_addr(ai->ai_addr, ai->ai_addrlen, timeout_ms, error);
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		int one = 1;

		/* whole commands are written at once; don't let Nagle hold them */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

McConn *
mc_conn_open(const char *spec, guint timeout_ms, gboolean trace, GError **error)
{
	McConn *conn;
	int fd;

	g_return_val_if_fail(spec != NULL, NULL);

	if (g_str_has_prefix(spec, "unix:"))
		fd = conn_connect_unix(spec + 5, timeout_ms, error);
	else if (g_str_has_prefix(spec, "local:"))
		fd = conn_connect_unix(spec + 6, timeout_ms, error);
	else if (spec[0] == '/')
		fd = conn_connect_unix(spec, timeout_ms, error);
	else if (g_str_has_prefix(spec, "inet:"))
		fd = conn_connect_inet(spec + 5, AF_INET, timeout_ms, error);
	else if (g_str_has_prefix(spec, "inet6:"))
		fd = conn_connect_inet(spec + 6, AF_INET6, timeout_ms, error);
	else {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_SPEC,
			    "unknown socket specification \"%s\" (want unix:PATH, local:PATH, "
			    "inet:PORT@HOST or inet6:PORT@HOST)",
			    spec);
		return NULL;
	}
	if (fd < 0) {
		g_prefix_error(error, "%s: ", spec);
		return NULL;
	}
	conn = g_new0(McConn, 1);
	conn->fd = fd;
	conn->timeout_ms = timeout_ms;
	conn->trace = trace;
	conn->out = g_byte_array_sized_new(4096);
	return conn;
}

void
mc_conn_free(McConn *conn)
{
	if (conn == NULL)
		return;
	if (conn->fd >= 0)
		close(conn->fd);
	g_byte_array_unref(conn->out);
	g_free(conn);
}

/* ---- packets ---- */

static void
conn_trace(const McConn *conn, const char *dir, char cmd, const guint8 *data, gsize len)
{
	g_autoptr(GString) line = g_string_new(NULL);

	if (!conn->trace)
		return;
	g_string_append_printf(line, "%s %c len %zu: ", dir, g_ascii_isprint(cmd) ? cmd : '?', len);
	mc_proto_escape_append(line, data, MIN(len, 240));
	if (len > 240)
		g_string_append(line, "...");
	fprintf(stderr, "%s\n", line->str);
}

void
mc_conn_queue(McConn *conn, char cmd, const void *data, gsize len)
{
	guint32 be;
	guint8 c = (guint8)cmd;

	g_return_if_fail(conn != NULL);
	g_return_if_fail(len < G_MAXUINT32);

	be = htonl((guint32)len + 1);
	g_byte_array_append(conn->out, (const guint8 *)&be, sizeof(be));
	g_byte_array_append(conn->out, &c, 1);
	if (len > 0)
		g_byte_array_append(conn->out, data, (guint)len);
	conn_trace(conn, ">", cmd, data, len);
}

gboolean
mc_conn_flush(McConn *conn, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)conn->timeout_ms * 1000;
	gsize done = 0;

	while (done < conn->out->len) {
		ssize_t n =
		    send(conn->fd, conn->out->data + done, conn->out->len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (gsize)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!conn_wait(conn->fd, POLLOUT, deadline, error))
				return FALSE;
			continue;
		}
		g_byte_array_set_size(conn->out, 0);
		if (errno == EPIPE || errno == ECONNRESET) {
			g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_CLOSED,
				    "the milter closed the connection");
			return FALSE;
		}
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO, "write: %s",
			    g_strerror(errno));
		return FALSE;
	}
	g_byte_array_set_size(conn->out, 0);
	return TRUE;
}

/* reads exactly len bytes; *got_out says how many arrived before EOF */
static gboolean
conn_read_full(McConn *conn, guint8 *buf, gsize len, gint64 deadline, gsize *got_out,
	       GError **error)
{
	gsize got = 0;

	while (got < len) {
		ssize_t n = recv(conn->fd, buf + got, len - got, 0);

		if (n > 0) {
			got += (gsize)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (!conn_wait(conn->fd, POLLIN, deadline, error))
				return FALSE;
			continue;
		}
		if (errno == ECONNRESET)
			break;
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_IO, "read: %s",
			    g_strerror(errno));
		return FALSE;
	}
	*got_out = got;
	return TRUE;
}

gboolean
mc_conn_recv(McConn *conn, char *cmd_out, GByteArray **data_out, GError **error)
{
	g_autoptr(GByteArray) data = NULL;
	guint8 header[5];
	guint32 len;
	gsize got = 0;
	gint64 deadline;

	if (!mc_conn_flush(conn, error))
		return FALSE;
	deadline = g_get_monotonic_time() + (gint64)conn->timeout_ms * 1000;
	if (!conn_read_full(conn, header, sizeof(header), deadline, &got, error))
		return FALSE;
	if (got == 0) {
		g_set_error_literal(error, MC_PROTO_ERROR, MC_PROTO_ERROR_CLOSED,
				    "the milter closed the connection");
		return FALSE;
	}
	if (got < sizeof(header)) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "connection closed inside a packet header (%zu of 5 bytes)", got);
		return FALSE;
	}
	memcpy(&len, header, sizeof(len));
	len = ntohl(len);
	if (len == 0 || len > MC_PROTO_MAX_PACKET) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "packet length %u out of range (1..%u)", len, MC_PROTO_MAX_PACKET);
		return FALSE;
	}
	data = g_byte_array_sized_new(len);
	g_byte_array_set_size(data, len - 1);
	if (!conn_read_full(conn, data->data, len - 1, deadline, &got, error))
		return FALSE;
	if (got < len - 1) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "connection closed inside a packet (%zu of %u bytes)", got, len - 1);
		return FALSE;
	}
	conn_trace(conn, "<", (char)header[4], data->data, data->len);
	*cmd_out = (char)header[4];
	*data_out = g_steal_pointer(&data);
	return TRUE;
}

/* ---- decoding ---- */

typedef struct {
	const guint8 *data;
	gsize len;
	gsize pos;
} McCursor;

static gboolean
cursor_u32(McCursor *cur, guint32 *value_out)
{
	guint32 be;

	if (cur->len - cur->pos < sizeof(be))
		return FALSE;
	memcpy(&be, cur->data + cur->pos, sizeof(be));
	cur->pos += sizeof(be);
	*value_out = ntohl(be);
	return TRUE;
}

/* a NUL-terminated string inside the packet; borrowed from the packet */
static gboolean
cursor_string(McCursor *cur, const char **str_out, gsize *len_out)
{
	const guint8 *start = cur->data + cur->pos;
	const guint8 *nul = memchr(start, '\0', cur->len - cur->pos);

	if (nul == NULL)
		return FALSE;
	*str_out = (const char *)start;
	if (len_out != NULL)
		*len_out = (gsize)(nul - start);
	cur->pos += (gsize)(nul - start) + 1;
	return TRUE;
}

static gboolean
cursor_done(const McCursor *cur)
{
	return cur->pos == cur->len;
}

static gboolean
proto_malformed(GError **error, char cmd, const char *what)
{
	g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL, "malformed reply '%c': %s",
		    g_ascii_isprint(cmd) ? cmd : '?', what);
	return FALSE;
}

static gboolean
negotiation_parse_lists(McCursor *cur, McNegotiation *negotiation, GError **error)
{
	while (!cursor_done(cur)) {
		guint32 stage;
		const char *list;

		if (!cursor_u32(cur, &stage))
			return proto_malformed(error, MC_CMD_OPTNEG, "truncated macro list stage");
		if (stage >= MC_STAGE_COUNT) {
			g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
				    "option negotiation names unknown macro stage %u", stage);
			return FALSE;
		}
		if (!cursor_string(cur, &list, NULL))
			return proto_malformed(error, MC_CMD_OPTNEG,
					       "macro list without NUL terminator");
		g_free(negotiation->macro_lists[stage]);
		negotiation->macro_lists[stage] = g_strdup(list);
	}
	return TRUE;
}

gboolean
mc_proto_negotiate(McConn *conn, McNegotiation *negotiation_out, GError **error)
{
	g_auto(McNegotiation) negotiation = {0};
	g_autoptr(GByteArray) data = NULL;
	guint32 offer[3] = {htonl(MC_PROTO_VERSION), htonl(MC_PROTO_ACTIONS),
			    htonl(MC_PROTO_PROTOCOL)};
	McCursor cur;
	char cmd;

	mc_conn_queue(conn, MC_CMD_OPTNEG, offer, sizeof(offer));
	if (!mc_conn_recv(conn, &cmd, &data, error))
		return FALSE;
	if (cmd != MC_CMD_OPTNEG) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "expected option negotiation 'O', got '%c'",
			    g_ascii_isprint(cmd) ? cmd : '?');
		return FALSE;
	}
	cur = (McCursor){.data = data->data, .len = data->len};
	if (!cursor_u32(&cur, &negotiation.version) || !cursor_u32(&cur, &negotiation.actions) ||
	    !cursor_u32(&cur, &negotiation.protocol))
		return proto_malformed(error, cmd, "shorter than 12 bytes");
	if (negotiation.version < 2 || negotiation.version > MC_PROTO_VERSION) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "milter protocol version %u not in 2..%u", negotiation.version,
			    MC_PROTO_VERSION);
		return FALSE;
	}
	if ((negotiation.actions & ~MC_PROTO_ACTIONS) != 0) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "milter asks for actions 0x%x beyond the offered 0x%x",
			    negotiation.actions, MC_PROTO_ACTIONS);
		return FALSE;
	}
	negotiation.protocol &= ~MC_P_INTERNAL;
	if ((negotiation.protocol & ~MC_PROTO_PROTOCOL) != 0) {
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "milter protocol flags 0x%x beyond the offered 0x%x",
			    negotiation.protocol, MC_PROTO_PROTOCOL);
		return FALSE;
	}
	if (!negotiation_parse_lists(&cur, &negotiation, error))
		return FALSE;
	*negotiation_out = negotiation;
	negotiation = (McNegotiation){0};
	return TRUE;
}

static void
reply_add_mod(McReply *reply, McModKind kind, char *text)
{
	McMod *mod = g_new0(McMod, 1);

	mod->kind = kind;
	mod->text = text;
	g_ptr_array_add(reply->mods, mod);
}

/* "NAME: VALUE", with the space only when the MTA would supply it */
static void
render_header(GString *out, const char *name, gsize name_len, const char *value, gsize value_len,
	      gboolean leadspc)
{
	mc_proto_escape_append(out, name, name_len);
	g_string_append(out, leadspc ? ":" : ": ");
	mc_proto_escape_append(out, value, value_len);
}

static gboolean
decode_header_mod(char cmd, McCursor *cur, gboolean leadspc, McReply *reply, GError **error)
{
	g_autoptr(GString) text = g_string_new(NULL);
	const char *name;
	const char *value;
	gsize name_len;
	gsize value_len;
	guint32 index = 0;
	McMod *mod;

	if (cmd != MC_REPLY_ADDHEADER && !cursor_u32(cur, &index))
		return proto_malformed(error, cmd, "missing header index");
	if (!cursor_string(cur, &name, &name_len) || !cursor_string(cur, &value, &value_len))
		return proto_malformed(error, cmd, "header name/value not NUL-terminated");
	if (!cursor_done(cur))
		return proto_malformed(error, cmd, "trailing bytes");
	if (name_len == 0)
		return proto_malformed(error, cmd, "empty header name");
	if (cmd != MC_REPLY_ADDHEADER)
		g_string_append_printf(text, "%u ", index);
	if (cmd == MC_REPLY_CHGHEADER && value_len == 0) {
		mc_proto_escape_append(text, name, name_len);
		g_string_append(text, " (delete)");
	} else {
		render_header(text, name, name_len, value, value_len, leadspc);
	}
	reply_add_mod(reply,
		      cmd == MC_REPLY_ADDHEADER	  ? MC_MOD_ADDHEADER
		      : cmd == MC_REPLY_INSHEADER ? MC_MOD_INSHEADER
						  : MC_MOD_CHGHEADER,
		      g_string_free(g_steal_pointer(&text), FALSE));
	mod = g_ptr_array_index(reply->mods, reply->mods->len - 1);
	mod->index = index;
	mod->name = g_strndup(name, name_len);
	mod->value = g_strndup(value, value_len);
	return TRUE;
}

/* addrcpt, addrcpt_par, delrcpt, chgfrom, quarantine: one string, maybe a second */
static gboolean
decode_string_mod(char cmd, McCursor *cur, McReply *reply, GError **error)
{
	g_autoptr(GString) text = g_string_new(NULL);
	gboolean may_have_args = (cmd == MC_REPLY_ADDRCPT_PAR || cmd == MC_REPLY_CHGFROM);
	const char *str;
	gsize len;
	McModKind kind;

	if (!cursor_string(cur, &str, &len))
		return proto_malformed(error, cmd, "argument not NUL-terminated");
	mc_proto_escape_append(text, str, len);
	if (may_have_args && !cursor_done(cur)) {
		if (!cursor_string(cur, &str, &len))
			return proto_malformed(error, cmd, "ESMTP arguments not NUL-terminated");
		if (len > 0) {
			g_string_append_c(text, ' ');
			mc_proto_escape_append(text, str, len);
		}
	}
	if (!cursor_done(cur))
		return proto_malformed(error, cmd, "trailing bytes");
	switch (cmd) {
	case MC_REPLY_ADDRCPT:
	case MC_REPLY_ADDRCPT_PAR:
		kind = MC_MOD_ADDRCPT;
		break;
	case MC_REPLY_DELRCPT:
		kind = MC_MOD_DELRCPT;
		break;
	case MC_REPLY_CHGFROM:
		kind = MC_MOD_CHGFROM;
		break;
	default:
		kind = MC_MOD_QUARANTINE;
		break;
	}
	reply_add_mod(reply, kind, g_string_free(g_steal_pointer(&text), FALSE));
	return TRUE;
}

static gboolean
decode_replycode(McCursor *cur, McReply *reply, GError **error)
{
	const char *text = (const char *)cur->data;
	gsize len = cur->len;

	/* libmilter sends the terminating NUL; tolerate its absence, not a NUL inside */
	if (len > 0 && text[len - 1] == '\0')
		len--;
	if (memchr(text, '\0', len) != NULL)
		return proto_malformed(error, MC_REPLY_REPLYCODE, "NUL inside the reply text");
	if (len < 4 || (text[0] != '4' && text[0] != '5') || !g_ascii_isdigit(text[1]) ||
	    !g_ascii_isdigit(text[2]) || (text[3] != ' ' && text[3] != '-'))
		return proto_malformed(error, MC_REPLY_REPLYCODE,
				       "reply text does not start with \"4xx \" or \"5xx \"");
	reply->smtp_reply = g_strndup(text, len);
	return TRUE;
}

/* TRUE when the packet is a final answer; sets reply->answer */
static gboolean
decode_final(char cmd, McCursor *cur, McReply *reply, gboolean *final_out, GError **error)
{
	static const struct {
		char cmd;
		McAnswer answer;
	} finals[] = {
	    {MC_REPLY_CONTINUE, MC_ANSWER_CONTINUE}, {MC_REPLY_ACCEPT, MC_ANSWER_ACCEPT},
	    {MC_REPLY_REJECT, MC_ANSWER_REJECT},     {MC_REPLY_TEMPFAIL, MC_ANSWER_TEMPFAIL},
	    {MC_REPLY_DISCARD, MC_ANSWER_DISCARD},   {MC_REPLY_SKIP, MC_ANSWER_SKIP},
	    {MC_REPLY_CONNFAIL, MC_ANSWER_CONNFAIL}, {MC_REPLY_SHUTDOWN, MC_ANSWER_SHUTDOWN},
	};

	*final_out = FALSE;
	if (cmd == MC_REPLY_REPLYCODE) {
		if (!decode_replycode(cur, reply, error))
			return FALSE;
		reply->answer = MC_ANSWER_REPLYCODE;
		*final_out = TRUE;
		return TRUE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(finals); i++) {
		if (finals[i].cmd != cmd)
			continue;
		if (!cursor_done(cur))
			return proto_malformed(error, cmd, "unexpected data");
		reply->answer = finals[i].answer;
		*final_out = TRUE;
		return TRUE;
	}
	return TRUE;
}

static gboolean
decode_mod(char cmd, McCursor *cur, gboolean leadspc, McReply *reply, GString **body_inout,
	   GError **error)
{
	switch (cmd) {
	case MC_REPLY_ADDHEADER:
	case MC_REPLY_INSHEADER:
	case MC_REPLY_CHGHEADER:
		return decode_header_mod(cmd, cur, leadspc, reply, error);
	case MC_REPLY_ADDRCPT:
	case MC_REPLY_ADDRCPT_PAR:
	case MC_REPLY_DELRCPT:
	case MC_REPLY_CHGFROM:
	case MC_REPLY_QUARANTINE:
		return decode_string_mod(cmd, cur, reply, error);
	case MC_REPLY_REPLBODY:
		if (*body_inout == NULL) {
			*body_inout = g_string_new(NULL);
			/* placeholder, filled in once the last chunk has arrived */
			reply_add_mod(reply, MC_MOD_REPLBODY, NULL);
		}
		if ((*body_inout)->len + cur->len > MC_PROTO_MAX_REPLBODY)
			return proto_malformed(error, cmd, "replacement body over 64 MiB");
		g_string_append_len(*body_inout, (const char *)cur->data, (gssize)cur->len);
		return TRUE;
	default:
		g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
			    "unknown reply 0x%02x ('%c')", (guint8)cmd,
			    g_ascii_isprint(cmd) ? cmd : '?');
		return FALSE;
	}
}

static void
reply_finish_body(McReply *reply, GString *body)
{
	g_autoptr(GString) text = g_string_new(NULL);

	if (body == NULL)
		return;
	g_string_append_printf(text, "%zu bytes: ", body->len);
	mc_proto_escape_append(text, body->str, MIN(body->len, MC_PROTO_REPLBODY_SHOWN));
	if (body->len > MC_PROTO_REPLBODY_SHOWN)
		g_string_append(text, "...");
	for (guint i = 0; i < reply->mods->len; i++) {
		McMod *mod = g_ptr_array_index(reply->mods, i);

		if (mod->kind == MC_MOD_REPLBODY && mod->text == NULL) {
			mod->text = g_string_free(g_steal_pointer(&text), FALSE);
			return;
		}
	}
}

gboolean
mc_proto_read_reply(McConn *conn, char cmd, gboolean leadspc, McReply *reply_out, GError **error)
{
	static const char mod_replies[] = {
	    MC_REPLY_ADDHEADER, MC_REPLY_INSHEADER, MC_REPLY_CHGHEADER,
	    MC_REPLY_REPLBODY,	MC_REPLY_ADDRCPT,   MC_REPLY_ADDRCPT_PAR,
	    MC_REPLY_DELRCPT,	MC_REPLY_CHGFROM,   MC_REPLY_QUARANTINE,
	};
	g_auto(McReply)
	    reply = {.mods = g_ptr_array_new_with_free_func((GDestroyNotify)mc_mod_free)};
	g_autoptr(GString) body = NULL;

	for (guint n = 0; n < MC_PROTO_MAX_REPLY_PACKETS; n++) {
		g_autoptr(GByteArray) data = NULL;
		McCursor cur;
		gboolean final = FALSE;
		char rcmd;

		if (!mc_conn_recv(conn, &rcmd, &data, error))
			return FALSE;
		cur = (McCursor){.data = data->data, .len = data->len};
		if (rcmd == MC_REPLY_PROGRESS) {
			if (!cursor_done(&cur))
				return proto_malformed(error, rcmd, "unexpected data");
			reply.progress++;
			continue;
		}
		if (!decode_final(rcmd, &cur, &reply, &final, error))
			return FALSE;
		if (final) {
			reply_finish_body(&reply, body);
			*reply_out = reply;
			reply = (McReply){0};
			return TRUE;
		}
		if (memchr(mod_replies, rcmd, sizeof(mod_replies)) == NULL) {
			g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
				    "unknown reply 0x%02x ('%c')", (guint8)rcmd,
				    g_ascii_isprint(rcmd) ? rcmd : '?');
			return FALSE;
		}
		if (cmd != MC_CMD_BODYEOB) {
			g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
				    "reply '%c' is only allowed after end of message, got it "
				    "after '%c'",
				    g_ascii_isprint(rcmd) ? rcmd : '?', cmd);
			return FALSE;
		}
		if (!decode_mod(rcmd, &cur, leadspc, &reply, &body, error))
			return FALSE;
	}
	g_set_error(error, MC_PROTO_ERROR, MC_PROTO_ERROR_PROTOCOL,
		    "more than %u reply packets without a final answer",
		    MC_PROTO_MAX_REPLY_PACKETS);
	return FALSE;
}
