/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-session: per-connection state filled from milter macros. See the header
 * for the MTA quirks this file absorbs.
 */
#include "pc-session.h"

#include <errno.h>
#include <string.h>

static const char *const stage_names[] = {
    [PC_STAGE_CONNECT] = "connect", [PC_STAGE_HELO] = "helo",	[PC_STAGE_MAIL] = "mail",
    [PC_STAGE_RCPT] = "rcpt",	    [PC_STAGE_DATA] = "data",	[PC_STAGE_HEADER] = "header",
    [PC_STAGE_EOH] = "eoh",	    [PC_STAGE_BODY] = "body",	[PC_STAGE_EOM] = "eom",
    [PC_STAGE_ABORT] = "abort",	    [PC_STAGE_CLOSE] = "close",
};

const char *
pc_stage_to_string(PcStage stage)
{
	if ((guint)stage < G_N_ELEMENTS(stage_names))
		return stage_names[stage];
	return "unknown";
}

/* header names are ASCII and case-insensitive: hashed and compared folded, with no copy */
static guint
header_name_hash(gconstpointer key)
{
	guint hash = 5381;

	for (const char *c = key; *c != '\0'; c++)
		hash = hash * 33 + (guint)g_ascii_tolower(*c);
	return hash;
}

static gboolean
header_name_equal(gconstpointer a, gconstpointer b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

PcSession *
pc_session_new(PcStore *store, gint64 now_us)
{
	PcSession *session = g_new0(PcSession, 1);

	session->store = store;
	session->now_us = now_us;
	session->role = PC_ROLE_MX;
	session->chunk = g_string_chunk_new(512);
	session->mail_size = -1;
	session->recipients = g_ptr_array_new();
	session->headers = g_array_new(FALSE, FALSE, sizeof(PcHeader));
	/* keys live in the chunk, cleared with it; names compare without case */
	session->header_counts = g_hash_table_new(header_name_hash, header_name_equal);
	return session;
}

void
pc_session_free(PcSession *session)
{
	if (session == NULL)
		return;
	pc_session_reset_message(session);
	if (session->connection_data != NULL && session->connection_data_free != NULL)
		session->connection_data_free(session->connection_data);
	pc_session_unpin_config(session);
	g_free(session->client_name);
	g_free(session->helo);
	g_free(session->daemon_name);
	g_free(session->daemon_addr);
	g_free(session->tls_version);
	g_free(session->cipher);
	g_free(session->auth_login);
	g_free(session->auth_type);
	g_string_chunk_free(session->chunk);
	g_ptr_array_unref(session->recipients);
	g_array_unref(session->headers);
	g_hash_table_unref(session->header_counts);
	g_clear_pointer(&session->header_edits, g_ptr_array_unref);
	g_free(session);
}

void
pc_session_resolve_listener(PcSession *session)
{
	if (session->config == NULL)
		return;
	session->listener =
	    pc_config_find_listener(session->config, session->daemon_name, session->daemon_port);
	session->role = session->listener != NULL ? session->listener->role : PC_ROLE_MX;
	session->trusted =
	    session->client_known && pc_config_is_trusted(session->config, &session->client);
}

void
pc_session_pin_config(PcSession *session, PcConfigSlot *slot)
{
	PcConfig *config;

	g_return_if_fail(session != NULL);
	g_return_if_fail(slot != NULL);

	config = pc_config_slot_acquire(slot);
	pc_session_unpin_config(session);
	session->config = config;
	pc_session_resolve_listener(session);
}

void
pc_session_unpin_config(PcSession *session)
{
	g_return_if_fail(session != NULL);
	session->listener = NULL;
	g_clear_pointer(&session->config, pc_config_unref);
}

/* a bounded copy of a macro value; NULL (and noted) when over the limit */
static gboolean
macro_value(PcSession *session, PcMacroLookup lookup, gpointer data, const char *name,
	    const char **value_out)
{
	const char *value = lookup(data, name);

	if (value == NULL)
		return FALSE;
	if (strnlen(value, PC_SESSION_MAX_MACRO + 1) > PC_SESSION_MAX_MACRO) {
		session->macro_dropped = name;
		return FALSE;
	}
	*value_out = value;
	return TRUE;
}

static void
update_string(PcSession *session, PcMacroLookup lookup, gpointer data, const char *name,
	      char **field)
{
	const char *value = NULL;

	if (!macro_value(session, lookup, data, name, &value) || value[0] == '\0')
		return;
	if (g_strcmp0(*field, value) == 0)
		return;
	g_free(*field);
	*field = g_strdup(value);
}

static gint64
parse_port(const char *text)
{
	char *end = NULL;
	gint64 port;

	errno = 0;
	port = g_ascii_strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || port < 0 || port > 65535)
		return -1;
	return port;
}

static void
capture_queue_id(PcSession *session, PcMacroLookup lookup, gpointer data)
{
	const char *value = NULL;

	if (!macro_value(session, lookup, data, "i", &value) || value[0] == '\0')
		return;
	/* it starts every log line: a CR, LF or ", " in it would forge one */
	if (strlen(value) > 64)
		return;
	for (const char *c = value; *c != '\0'; c++) {
		if (!g_ascii_isalnum(*c))
			return;
	}
	if (g_strcmp0(session->queue_id, value) != 0)
		session->queue_id = g_string_chunk_insert(session->chunk, value);
}

static void
capture_tls(PcSession *session, PcMacroLookup lookup, gpointer data)
{
	const char *bits = NULL;

	update_string(session, lookup, data, "{tls_version}", &session->tls_version);
	update_string(session, lookup, data, "{cipher}", &session->cipher);
	if (macro_value(session, lookup, data, "{cipher_bits}", &bits) && bits[0] != '\0') {
		gint64 value = parse_port(bits); /* 0..65535 is ample for key bits */

		if (value >= 0)
			session->cipher_bits = value;
	}
}

static void
capture_auth(PcSession *session, PcMacroLookup lookup, gpointer data)
{
	update_string(session, lookup, data, "{auth_authen}", &session->auth_login);
	update_string(session, lookup, data, "{auth_type}", &session->auth_type);
}

void
pc_session_capture(PcSession *session, PcStage stage, PcMacroLookup lookup, gpointer lookup_data)
{
	const char *port = NULL;

	g_return_if_fail(session != NULL);
	g_return_if_fail(lookup != NULL);

	switch (stage) {
	case PC_STAGE_CONNECT:
		update_string(session, lookup, lookup_data, "{daemon_name}", &session->daemon_name);
		update_string(session, lookup, lookup_data, "{daemon_addr}", &session->daemon_addr);
		if (macro_value(session, lookup, lookup_data, "{daemon_port}", &port))
			session->daemon_port = parse_port(port);
		pc_session_resolve_listener(session);
		break;
	case PC_STAGE_HELO:
		capture_tls(session, lookup, lookup_data);
		break;
	case PC_STAGE_MAIL:
		capture_queue_id(session, lookup, lookup_data);
		capture_tls(session, lookup, lookup_data);
		capture_auth(session, lookup, lookup_data);
		/* Postfix may send {daemon_port} only here; the listener is fixed once known */
		if (session->daemon_port <= 0 &&
		    macro_value(session, lookup, lookup_data, "{daemon_port}", &port)) {
			session->daemon_port = parse_port(port);
			pc_session_resolve_listener(session);
		}
		break;
	case PC_STAGE_RCPT:
	case PC_STAGE_DATA:
	case PC_STAGE_HEADER:
	case PC_STAGE_EOH:
	case PC_STAGE_BODY:
	case PC_STAGE_EOM:
		capture_queue_id(session, lookup, lookup_data);
		if (stage == PC_STAGE_DATA || stage == PC_STAGE_EOM)
			capture_auth(session, lookup, lookup_data);
		break;
	case PC_STAGE_ABORT:
	case PC_STAGE_CLOSE:
		break;
	}
}

void
pc_session_set_client(PcSession *session, const char *hostname, const PcNetAddress *address)
{
	g_return_if_fail(session != NULL);

	g_free(session->client_name);
	session->client_name =
	    hostname != NULL ? g_strndup(hostname, PC_SESSION_MAX_MACRO) : g_strdup("unknown");
	session->client_known = address != NULL;
	if (address != NULL) {
		session->client = *address;
		pc_net_address_to_string(address, session->client_ip, sizeof(session->client_ip));
	} else {
		session->client_ip[0] = '\0';
	}
	pc_session_resolve_listener(session);
}

void
pc_session_set_helo(PcSession *session, const char *helo)
{
	g_return_if_fail(session != NULL);
	g_free(session->helo);
	session->helo = helo != NULL ? g_strndup(helo, PC_SESSION_MAX_MACRO) : NULL;
}

void
pc_session_set_sender(PcSession *session, const char *sender)
{
	g_return_if_fail(session != NULL);
	session->sender = sender != NULL ? g_string_chunk_insert(session->chunk, sender) : NULL;
	session->in_message = TRUE;
	session->n_transactions++;
}

void
pc_session_set_current_rcpt(PcSession *session, const char *rcpt)
{
	g_return_if_fail(session != NULL);
	session->current_rcpt = rcpt != NULL ? g_string_chunk_insert(session->chunk, rcpt) : NULL;
}

void
pc_session_set_mail_parameters(PcSession *session, const char *const *parameters)
{
	g_return_if_fail(session != NULL);

	session->mail_size = -1;
	session->smtputf8 = FALSE;
	for (gsize i = 0; parameters != NULL && parameters[i] != NULL; i++) {
		const char *value = parameters[i] + 5;
		char *end = NULL;
		gint64 size;

		if (g_ascii_strcasecmp(parameters[i], "SMTPUTF8") == 0) {
			session->smtputf8 = TRUE;
			continue;
		}
		if (g_ascii_strncasecmp(parameters[i], "SIZE=", 5) != 0 || !g_ascii_isdigit(*value))
			continue;
		errno = 0;
		size = g_ascii_strtoll(value, &end, 10);
		if (errno == 0 && *end == '\0' && size >= 0)
			session->mail_size = size;
	}
}

gboolean
pc_session_accept_current_rcpt(PcSession *session)
{
	g_return_val_if_fail(session != NULL, FALSE);
	if (session->current_rcpt == NULL)
		return TRUE;
	if (session->recipients->len >= PC_SESSION_MAX_RECIPIENTS) {
		session->recipients_overflow = TRUE;
		return FALSE;
	}
	g_ptr_array_add(session->recipients, (gpointer)session->current_rcpt);
	return TRUE;
}

/* the header's instance number: 1 for the first of its name in this message */
static guint
count_header(PcSession *session, const char *name)
{
	gpointer key = NULL;
	gpointer value = NULL;
	guint count;

	if (g_hash_table_lookup_extended(session->header_counts, name, &key, &value)) {
		count = GPOINTER_TO_UINT(value) + 1;
		g_hash_table_insert(session->header_counts, key, GUINT_TO_POINTER(count));
		return count;
	}
	if (g_hash_table_size(session->header_counts) >= PC_SESSION_MAX_HEADER_NAMES) {
		session->headers_overflow = TRUE;
		return 0;
	}
	g_hash_table_insert(session->header_counts, g_string_chunk_insert(session->chunk, name),
			    GUINT_TO_POINTER(1));
	return 1;
}

gboolean
pc_session_add_header(PcSession *session, const char *name, const char *value, gboolean keep)
{
	PcHeader header;

	g_return_val_if_fail(session != NULL, FALSE);
	g_return_val_if_fail(name != NULL, FALSE);

	if (value == NULL)
		value = "";
	/* borrowed for the hook of this callback; copied below only when kept */
	session->header_now.name = name;
	session->header_now.value = value;
	session->header_now.instance = count_header(session, name);
	session->current_header = &session->header_now;
	session->header_bytes += strlen(name) + strlen(value) + 2;
	if (session->headers_overflow || session->headers->len >= PC_SESSION_MAX_HEADERS ||
	    session->header_bytes > PC_SESSION_MAX_HEADER_BYTES) {
		session->headers_overflow = TRUE;
		return FALSE;
	}
	if (!keep)
		return TRUE;
	header.name = g_string_chunk_insert(session->chunk, name);
	header.value = g_string_chunk_insert(session->chunk, value);
	header.instance = session->header_now.instance;
	g_array_append_val(session->headers, header);
	return TRUE;
}

const PcHeader *
pc_session_find_header(const PcSession *session, const char *name)
{
	g_return_val_if_fail(session != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);

	for (guint i = 0; i < session->headers->len; i++) {
		const PcHeader *header = &g_array_index(session->headers, PcHeader, i);

		if (g_ascii_strcasecmp(header->name, name) == 0)
			return header;
	}
	return NULL;
}

PcAddress *
pc_session_single_from(const PcSession *session, PcFromStatus *status_out)
{
	const PcHeader *header;
	g_autoptr(PcAddrList) list = NULL;

	switch (pc_session_count_headers(session, "From")) {
	case 0:
		*status_out = PC_FROM_NONE;
		return NULL;
	case 1:
		break;
	default:
		*status_out = PC_FROM_SEVERAL;
		return NULL;
	}
	header = pc_session_find_header(session, "From");
	if (header == NULL) {
		*status_out = PC_FROM_NOT_KEPT;
		return NULL;
	}
	if (!pc_addr_parse_header_list(header->value, strlen(header->value), &list, NULL) ||
	    (list->flags & (PC_ADDR_LIST_FLAG_NO_ADDRESS | PC_ADDR_LIST_FLAG_GROUP)) != 0) {
		*status_out = PC_FROM_INVALID;
		return NULL;
	}
	if (list->addresses->len != 1) {
		*status_out = PC_FROM_ADDRESSES;
		return NULL;
	}
	*status_out = PC_FROM_OK;
	return g_ptr_array_steal_index(list->addresses, 0);
}

guint
pc_session_count_headers(const PcSession *session, const char *name)
{
	g_return_val_if_fail(session != NULL, 0);
	g_return_val_if_fail(name != NULL, 0);

	return GPOINTER_TO_UINT(g_hash_table_lookup(session->header_counts, name));
}

gboolean
pc_session_is_authenticated(const PcSession *session)
{
	g_return_val_if_fail(session != NULL, FALSE);
	return session->auth_login != NULL && session->auth_login[0] != '\0';
}

void
pc_session_set_message_data(PcSession *session, gpointer data, GDestroyNotify free_func)
{
	g_return_if_fail(session != NULL);
	if (session->message_data != NULL && session->message_data_free != NULL)
		session->message_data_free(session->message_data);
	session->message_data = data;
	session->message_data_free = free_func;
}

void
pc_session_reset_message(PcSession *session)
{
	g_return_if_fail(session != NULL);
	pc_session_set_message_data(session, NULL, NULL);
	session->in_message = FALSE;
	if (session->header_edits != NULL)
		g_ptr_array_set_size(session->header_edits, 0);
	g_hash_table_remove_all(session->header_counts);
	session->recipients_overflow = FALSE;
	session->queue_id = NULL;
	session->sender = NULL;
	session->current_rcpt = NULL;
	g_ptr_array_set_size(session->recipients, 0);
	g_array_set_size(session->headers, 0);
	session->header_bytes = 0;
	session->headers_overflow = FALSE;
	session->current_header = NULL;
	session->body_bytes = 0;
	session->mail_size = -1;
	session->smtputf8 = FALSE;
	session->current_body = NULL;
	session->current_body_len = 0;
	g_string_chunk_clear(session->chunk);
}

const char *
pc_session_queue_id(const PcSession *session)
{
	g_return_val_if_fail(session != NULL, "NOQUEUE");
	return session->queue_id != NULL ? session->queue_id : "NOQUEUE";
}
