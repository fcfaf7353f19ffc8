/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-session: step execution.
 *
 * The order on the wire follows both MTAs: the stage's macro packet first
 * (sent even when the milter asked not to see the command itself), then the
 * command, then - unless SMFIP_NR_* says otherwise - one reply, or at end of
 * message any number of modification requests and one final reply.
 */
#include "mc-session.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>

struct _McSession {
	char *socket_spec;
	guint timeout_ms;
	gboolean trace;
	McConn *conn; /* NULL when no milter connection is open */
	McNegotiation negotiation;
	McMacros *macros;
	gboolean smtp_connected; /* a CONNECT went out on this milter connection */
	gboolean eoh_pending;	 /* DATA or a header went out, EOH has not */
	gboolean body_skipped;	 /* the milter answered SMFIR_SKIP to a body chunk */
	GPtrArray *sent[MC_STAGE_COUNT];
	/* the transaction's message, for mc_session_message() */
	GPtrArray *headers; /* "NAME:VALUE" as written, folding with LF */
	GByteArray *body;
};

/* how each command is switched off (SMFIP_NO*) or made silent (SMFIP_NR_*) */
typedef struct {
	char cmd;
	guint32 skip_flag;
	guint32 no_reply_flag;
	const char *skip_note;
	const char *no_reply_note;
} McCommandFlags;

static const McCommandFlags command_flags[] = {
    {MC_CMD_CONNECT, MC_P_NOCONNECT, MC_P_NR_CONN, "skipped: SMFIP_NOCONNECT",
     "no reply: SMFIP_NR_CONN"},
    {MC_CMD_HELO, MC_P_NOHELO, MC_P_NR_HELO, "skipped: SMFIP_NOHELO", "no reply: SMFIP_NR_HELO"},
    {MC_CMD_MAIL, MC_P_NOMAIL, MC_P_NR_MAIL, "skipped: SMFIP_NOMAIL", "no reply: SMFIP_NR_MAIL"},
    {MC_CMD_RCPT, MC_P_NORCPT, MC_P_NR_RCPT, "skipped: SMFIP_NORCPT", "no reply: SMFIP_NR_RCPT"},
    {MC_CMD_DATA, MC_P_NODATA, MC_P_NR_DATA, "skipped: SMFIP_NODATA", "no reply: SMFIP_NR_DATA"},
    {MC_CMD_HEADER, MC_P_NOHDRS, MC_P_NR_HDR, "skipped: SMFIP_NOHDRS", "no reply: SMFIP_NR_HDR"},
    {MC_CMD_EOH, MC_P_NOEOH, MC_P_NR_EOH, "skipped: SMFIP_NOEOH", "no reply: SMFIP_NR_EOH"},
    {MC_CMD_BODY, MC_P_NOBODY, MC_P_NR_BODY, "skipped: SMFIP_NOBODY", "no reply: SMFIP_NR_BODY"},
    {MC_CMD_BODYEOB, 0, 0, NULL, NULL},
};

void
mc_result_clear(McResult *result)
{
	g_clear_pointer(&result->display, g_free);
	g_clear_pointer(&result->smtp_reply, g_free);
	g_clear_pointer(&result->mods, g_ptr_array_unref);
	result->note = NULL;
	result->outcome = MC_OUTCOME_CONTINUE;
	result->body_bytes = 0;
}

McSession *
mc_session_new(const char *socket_spec, guint timeout_ms, gboolean trace, guint32 seed)
{
	McSession *session = g_new0(McSession, 1);

	session->socket_spec = g_strdup(socket_spec);
	session->timeout_ms = timeout_ms;
	session->trace = trace;
	session->macros = mc_macros_new(seed);
	session->headers = g_ptr_array_new_with_free_func(g_free);
	session->body = g_byte_array_new();
	return session;
}

static void
session_forget_sent(McSession *session)
{
	for (guint i = 0; i < MC_STAGE_COUNT; i++)
		g_clear_pointer(&session->sent[i], g_ptr_array_unref);
}

static void
session_drop(McSession *session)
{
	g_clear_pointer(&session->conn, mc_conn_free);
	mc_negotiation_clear(&session->negotiation);
	session->smtp_connected = FALSE;
}

void
mc_session_close(McSession *session)
{
	if (session->conn != NULL) {
		/* the milter may already be gone; QUIT is a courtesy */
		mc_conn_queue(session->conn, MC_CMD_QUIT, NULL, 0);
		(void)mc_conn_flush(session->conn, NULL);
	}
	session_drop(session);
}

void
mc_session_free(McSession *session)
{
	if (session == NULL)
		return;
	mc_session_close(session);
	session_forget_sent(session);
	mc_macros_free(session->macros);
	g_ptr_array_unref(session->headers);
	g_byte_array_unref(session->body);
	g_free(session->socket_spec);
	g_free(session);
}

McMacros *
mc_session_get_macros(McSession *session)
{
	return session->macros;
}

gboolean
mc_session_apply_defines(McSession *session, char *const *defines, GError **error)
{
	for (guint i = 0; defines != NULL && defines[i] != NULL; i++) {
		const char *eq = strchr(defines[i], '=');
		g_autofree char *name = NULL;

		if (eq == NULL || eq == defines[i]) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "-D %s: want NAME=VALUE", defines[i]);
			return FALSE;
		}
		name = g_strndup(defines[i], (gsize)(eq - defines[i]));
		mc_macros_set_default(session->macros, name, eq + 1);
	}
	return TRUE;
}

gboolean
mc_session_is_open(const McSession *session)
{
	return session->conn != NULL;
}

const GPtrArray *
mc_session_sent_macros(const McSession *session, McStage stage)
{
	g_return_val_if_fail(stage < MC_STAGE_COUNT, NULL);
	return session->sent[stage];
}

const char *
mc_session_default_reply(const McSession *session, McOutcome outcome)
{
	const McMtaProfile *profile = mc_macros_get_profile(session->macros);

	if (outcome == MC_OUTCOME_REJECT)
		return profile->reject_reply;
	if (outcome == MC_OUTCOME_TEMPFAIL)
		return profile->tempfail_reply;
	return NULL;
}

static void
trace_negotiation(const McSession *session)
{
	if (!session->trace)
		return;
	fprintf(stderr, "negotiated: version %u, actions 0x%x, protocol 0x%x\n",
		session->negotiation.version, session->negotiation.actions,
		session->negotiation.protocol);
	for (guint i = 0; i < MC_STAGE_COUNT; i++) {
		if (session->negotiation.macro_lists[i] != NULL)
			fprintf(stderr, "negotiated: %s macros \"%s\"\n", mc_stage_name((McStage)i),
				session->negotiation.macro_lists[i]);
	}
}

static gboolean
session_open(McSession *session, GError **error)
{
	session_drop(session);
	session_forget_sent(session);
	session->conn =
	    mc_conn_open(session->socket_spec, session->timeout_ms, session->trace, error);
	if (session->conn == NULL)
		return FALSE;
	if (!mc_proto_negotiate(session->conn, &session->negotiation, error)) {
		g_prefix_error(error, "option negotiation: ");
		session_drop(session);
		return FALSE;
	}
	trace_negotiation(session);
	return TRUE;
}

/* ---- one command ---- */

static const McCommandFlags *
flags_for(char cmd)
{
	for (guint i = 0; i < G_N_ELEMENTS(command_flags); i++) {
		if (command_flags[i].cmd == cmd)
			return &command_flags[i];
	}
	g_assert_not_reached();
}

static void
session_send_macros(McSession *session, McStage stage)
{
	g_autoptr(GByteArray) packet = NULL;
	g_autoptr(GPtrArray) pairs =
	    mc_macros_collect(session->macros, stage, &session->negotiation);
	guint8 cmd = (guint8)mc_stage_command(stage);

	if (pairs == NULL)
		return;
	packet = g_byte_array_new();
	g_byte_array_append(packet, &cmd, 1);
	for (guint i = 0; i < pairs->len; i++) {
		const char *s = g_ptr_array_index(pairs, i);

		g_byte_array_append(packet, (const guint8 *)s, (guint)strlen(s) + 1);
	}
	mc_conn_queue(session->conn, MC_CMD_MACRO, packet->data, packet->len);
	g_clear_pointer(&session->sent[stage], g_ptr_array_unref);
	session->sent[stage] = g_steal_pointer(&pairs);
}

static void
result_closed(McResult *result, const char *note)
{
	result->outcome = MC_OUTCOME_CLOSED;
	result->note = note;
}

static void
result_from_reply(McResult *result, McReply *reply)
{
	switch (reply->answer) {
	case MC_ANSWER_CONTINUE:
		result->outcome = MC_OUTCOME_CONTINUE;
		break;
	case MC_ANSWER_ACCEPT:
		result->outcome = MC_OUTCOME_ACCEPT;
		break;
	case MC_ANSWER_REJECT:
		result->outcome = MC_OUTCOME_REJECT;
		break;
	case MC_ANSWER_TEMPFAIL:
		result->outcome = MC_OUTCOME_TEMPFAIL;
		break;
	case MC_ANSWER_DISCARD:
		result->outcome = MC_OUTCOME_DISCARD;
		break;
	case MC_ANSWER_REPLYCODE:
		result->outcome =
		    reply->smtp_reply[0] == '4' ? MC_OUTCOME_TEMPFAIL : MC_OUTCOME_REJECT;
		result->smtp_reply = g_steal_pointer(&reply->smtp_reply);
		break;
	case MC_ANSWER_SKIP:
		result->outcome = MC_OUTCOME_SKIP;
		break;
	case MC_ANSWER_CONNFAIL:
		result_closed(result, "connfail");
		break;
	case MC_ANSWER_SHUTDOWN:
		result_closed(result, "shutdown");
		break;
	}
	if (reply->mods != NULL && reply->mods->len > 0)
		result->mods = g_steal_pointer(&reply->mods);
}

/* an I/O failure: a milter that hung up is an outcome, anything else an error */
static gboolean
session_failed(McSession *session, GError *local_error, McResult *result, GError **error)
{
	session_drop(session);
	if (g_error_matches(local_error, MC_PROTO_ERROR, MC_PROTO_ERROR_CLOSED)) {
		g_error_free(local_error);
		result_closed(result, "the milter closed the connection");
		return TRUE;
	}
	g_propagate_error(error, local_error);
	return FALSE;
}

/*
 * Sends one command with its stage's macros (stage < 0: none) and reads the
 * answer into result. A milter that hangs up is an outcome ("closed"), not
 * an error; timeouts and malformed replies are errors.
 */
static gboolean
session_command(McSession *session, int stage, char cmd, const void *data, gsize len,
		McResult *result, GError **error)
{
	const McCommandFlags *flags = flags_for(cmd);
	g_auto(McReply) reply = {0};
	GError *local_error = NULL;
	gboolean leadspc;

	if (session->conn == NULL) {
		result_closed(result, "not sent: no milter connection");
		return TRUE;
	}
	if (stage >= 0)
		session_send_macros(session, (McStage)stage);
	if ((session->negotiation.protocol & flags->skip_flag) != 0) {
		result->outcome = MC_OUTCOME_CONTINUE;
		result->note = flags->skip_note;
		return TRUE;
	}
	mc_conn_queue(session->conn, cmd, data, len);
	if ((session->negotiation.protocol & flags->no_reply_flag) != 0) {
		result->outcome = MC_OUTCOME_CONTINUE;
		result->note = flags->no_reply_note;
		if (!mc_conn_flush(session->conn, &local_error))
			return session_failed(session, local_error, result, error);
		return TRUE;
	}
	leadspc = (session->negotiation.protocol & MC_P_HDR_LEADSPC) != 0;
	if (!mc_proto_read_reply(session->conn, cmd, leadspc, &reply, &local_error))
		return session_failed(session, local_error, result, error);
	result_from_reply(result, &reply);
	if (result->outcome == MC_OUTCOME_CLOSED)
		session_drop(session);
	return TRUE;
}

/* a command that expects no reply (ABORT) */
static gboolean
session_notify(McSession *session, char cmd, GError **error)
{
	g_autoptr(GError) local_error = NULL;

	if (session->conn == NULL)
		return TRUE;
	mc_conn_queue(session->conn, cmd, NULL, 0);
	if (mc_conn_flush(session->conn, &local_error))
		return TRUE;
	session_drop(session);
	if (g_error_matches(local_error, MC_PROTO_ERROR, MC_PROTO_ERROR_CLOSED))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local_error));
	return FALSE;
}

/* ---- steps ---- */

static void
args_join(const McStep *step, GByteArray *out)
{
	for (guint i = 0; i < step->args->len; i++) {
		gsize len;
		const guint8 *p = g_bytes_get_data(g_ptr_array_index(step->args, i), &len);

		g_byte_array_append(out, p, (guint)len);
		g_byte_array_append(out, (const guint8 *)"", 1);
	}
}

static gboolean
step_connect(McSession *session, const McStep *step, McResult *result, GError **error)
{
	const McMtaProfile *profile = mc_macros_get_profile(session->macros);
	g_autoptr(GByteArray) data = g_byte_array_new();
	g_autofree char *wire_addr = NULL;
	g_autofree char *hostname = NULL;
	guint8 family = (guint8)step->family;

	/*
	 * A new SMTP session gets a new milter connection from both MTAs (a
	 * Sendmail child or a Postfix smtpd/cleanup pair per session); libmilter
	 * would not accept SMFIC_QUIT_NC after an accepted message anyway.
	 */
	if (session->conn != NULL && session->smtp_connected)
		mc_session_close(session);
	if (session->conn == NULL && !session_open(session, error))
		return FALSE;
	if (step->family == MC_FAMILY_UNKNOWN) {
		mc_macros_connect(session->macros, NULL, NULL, step->host);
		hostname = g_strdup(step->host != NULL ? step->host : "unknown");
	} else {
		mc_macros_connect(session->macros, step->name, step->value, step->host);
		wire_addr = g_strconcat(step->family == MC_FAMILY_INET6 ? profile->ipv6_prefix : "",
					step->name, NULL);
		hostname =
		    step->host != NULL ? g_strdup(step->host) : g_strdup_printf("[%s]", wire_addr);
	}
	g_byte_array_append(data, (const guint8 *)hostname, (guint)strlen(hostname) + 1);
	g_byte_array_append(data, &family, 1);
	if (wire_addr != NULL) {
		guint16 port = g_htons((guint16)g_ascii_strtoull(step->value, NULL, 10));

		g_byte_array_append(data, (const guint8 *)&port, sizeof(port));
		g_byte_array_append(data, (const guint8 *)wire_addr, (guint)strlen(wire_addr) + 1);
	}
	session->smtp_connected = TRUE;
	session->eoh_pending = FALSE;
	return session_command(session, MC_STAGE_CONNECT, MC_CMD_CONNECT, data->data, data->len,
			       result, error);
}

static gboolean
step_envelope(McSession *session, const McStep *step, McResult *result, GError **error)
{
	g_autoptr(GByteArray) data = g_byte_array_new();
	gsize len;
	const guint8 *addr = g_bytes_get_data(g_ptr_array_index(step->args, 0), &len);
	gboolean accepted;

	args_join(step, data);
	if (step->kind == MC_STEP_MAIL) {
		mc_macros_mail(session->macros, addr, len);
		g_ptr_array_set_size(session->headers, 0);
		g_byte_array_set_size(session->body, 0);
		session->eoh_pending = FALSE;
		session->body_skipped = FALSE;
		return session_command(session, MC_STAGE_MAIL, MC_CMD_MAIL, data->data, data->len,
				       result, error);
	}
	mc_macros_rcpt(session->macros, addr, len);
	if (!session_command(session, MC_STAGE_RCPT, MC_CMD_RCPT, data->data, data->len, result,
			     error))
		return FALSE;
	accepted = result->outcome == MC_OUTCOME_CONTINUE || result->outcome == MC_OUTCOME_ACCEPT ||
		   result->outcome == MC_OUTCOME_SKIP || result->outcome == MC_OUTCOME_DISCARD;
	mc_macros_rcpt_done(session->macros, accepted);
	return TRUE;
}

static gboolean
step_header(McSession *session, const McStep *step, McResult *result, GError **error)
{
	g_autoptr(GByteArray) data = g_byte_array_new();
	gsize len;
	const guint8 *value = g_bytes_get_data(step->data, &len);
	g_autofree char *value_str = NULL;

	g_ptr_array_add(session->headers,
			g_strdup_printf("%s:%.*s", step->name, (int)len, (const char *)value));

	/* without SMFIP_HDR_LEADSPC the MTA strips the blanks after the colon */
	if ((session->negotiation.protocol & MC_P_HDR_LEADSPC) == 0) {
		while (len > 0 && (*value == ' ' || *value == '\t')) {
			value++;
			len--;
		}
	}
	value_str = g_strndup((const char *)value, len);
	mc_macros_header(session->macros, step->name, value_str);
	g_byte_array_append(data, (const guint8 *)step->name, (guint)strlen(step->name) + 1);
	g_byte_array_append(data, value, (guint)len);
	g_byte_array_append(data, (const guint8 *)"", 1);
	session->eoh_pending = TRUE;
	return session_command(session, -1, MC_CMD_HEADER, data->data, data->len, result, error);
}

static gboolean
report(McStepHook hook, McSession *session, const McStep *step, McResult *result,
       gpointer user_data)
{
	return hook == NULL || hook(session, step, result, user_data);
}

static gboolean
session_eoh(McSession *session, const McStep *step, gboolean implicit, McStepHook hook,
	    gpointer user_data, GError **error)
{
	g_auto(McResult) result = {.lineno = step->lineno, .keyword = "eoh"};

	result.display = g_strdup(implicit ? "(implicit)" : "");
	session->eoh_pending = FALSE;
	if (!session_command(session, MC_STAGE_EOH, MC_CMD_EOH, NULL, 0, &result, error))
		return FALSE;
	return report(hook, session, implicit ? NULL : step, &result, user_data);
}

/* body lines first..last-1 of steps, as chunks of at most 64 KiB - 1 */
static gboolean
session_body(McSession *session, GPtrArray *steps, guint first, guint last, McResult *result,
	     GError **error)
{
	g_autoptr(GByteArray) body = g_byte_array_new();
	gsize off = 0;

	for (guint i = first; i < last; i++) {
		const McStep *step = g_ptr_array_index(steps, i);
		gsize len;
		const guint8 *p = g_bytes_get_data(step->data, &len);

		g_byte_array_append(body, p, (guint)len);
	}
	g_byte_array_append(session->body, body->data, body->len);
	result->outcome = MC_OUTCOME_CONTINUE;
	if (session->body_skipped) {
		result->note = "not sent: milter answered SMFIR_SKIP";
		return TRUE;
	}
	do {
		gsize chunk = MIN(body->len - off, MC_PROTO_BODY_CHUNK);

		g_clear_pointer(&result->smtp_reply, g_free);
		if (!session_command(session, -1, MC_CMD_BODY, body->data + off, chunk, result,
				     error))
			return FALSE;
		off += chunk;
		result->body_bytes = off;
		if (result->note != NULL && g_str_has_prefix(result->note, "skipped"))
			break;
		if (result->outcome == MC_OUTCOME_SKIP)
			session->body_skipped = TRUE;
	} while (off < body->len && result->outcome == MC_OUTCOME_CONTINUE);
	return TRUE;
}

static gboolean
step_eom(McSession *session, McResult *result, GError **error)
{
	return session_command(session, MC_STAGE_EOM, MC_CMD_BODYEOB, NULL, 0, result, error);
}

gboolean
mc_session_abort(McSession *session, GError **error)
{
	mc_macros_end_transaction(session->macros);
	session->eoh_pending = FALSE;
	session->body_skipped = FALSE;
	return session_notify(session, MC_CMD_ABORT, error);
}

static gboolean
step_starttls(McSession *session, const McStep *step, McResult *result, gboolean *reported_out,
	      GError **error)
{
	const McMtaProfile *profile = mc_macros_get_profile(session->macros);

	mc_macros_end_transaction(session->macros);
	mc_macros_starttls(session->macros, mc_step_arg(step, 0), mc_step_arg(step, 1),
			   mc_step_arg(step, 2));
	if (!profile->abort_on_starttls)
		return TRUE;
	/* Postfix resets the SMTP session for the new EHLO, which the milter sees as ABORT */
	*reported_out = TRUE;
	if (session->conn == NULL) {
		result_closed(result, "not sent: no milter connection");
		return TRUE;
	}
	result->outcome = MC_OUTCOME_SENT;
	result->note = "abort";
	return mc_session_abort(session, error);
}

static gboolean
step_quit(McSession *session, const McStep *step, McResult *result, GError **error)
{
	if (step->kind == MC_STEP_RECONNECT) {
		mc_session_close(session);
		if (!session_open(session, error))
			return FALSE;
		result->outcome = MC_OUTCOME_SENT;
		result->note = "new connection";
		return TRUE;
	}
	if (session->conn == NULL) {
		result_closed(result, "not sent: no milter connection");
		return TRUE;
	}
	mc_session_close(session);
	result->outcome = MC_OUTCOME_SENT;
	return TRUE;
}

/* steps without milter traffic; FALSE if step is not one of them */
static gboolean
step_directive(McSession *session, const McStep *step)
{
	switch (step->kind) {
	case MC_STEP_MTA:
		mc_macros_set_profile(session->macros, mc_mta_profile_lookup(step->name));
		return TRUE;
	case MC_STEP_MACRO:
		mc_macros_override(session->macros, step->name, step->value);
		return TRUE;
	case MC_STEP_CLEANUP_DAEMON_NAME:
		mc_macros_set_cleanup_daemon_name(session->macros, step->value);
		return TRUE;
	case MC_STEP_AUTH:
		mc_macros_auth(session->macros, mc_step_arg(step, 0), mc_step_arg(step, 1));
		return TRUE;
	case MC_STEP_PAUSE_UNTIL_FILE: {
		/* lets a test hold a session open across an event (a reload), bounded */
		gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;

		while (!g_file_test(step->name, G_FILE_TEST_EXISTS) &&
		       g_get_monotonic_time() < deadline)
			g_usleep(10 * 1000);
		return TRUE;
	}
	default:
		return FALSE;
	}
}

/* runs one non-body, non-expect step; *reported_out says whether result is meaningful */
static gboolean
session_step(McSession *session, const McStep *step, McResult *result, gboolean *reported_out,
	     GError **error)
{
	*reported_out = TRUE;
	switch (step->kind) {
	case MC_STEP_CONNECT:
		return step_connect(session, step, result, error);
	case MC_STEP_HELO:
		return session_command(session, MC_STAGE_HELO, MC_CMD_HELO, mc_step_arg(step, 0),
				       strlen(mc_step_arg(step, 0)) + 1, result, error);
	case MC_STEP_STARTTLS:
		*reported_out = FALSE;
		return step_starttls(session, step, result, reported_out, error);
	case MC_STEP_MAIL:
	case MC_STEP_RCPT:
		return step_envelope(session, step, result, error);
	case MC_STEP_DATA:
		session->eoh_pending = TRUE;
		return session_command(session, MC_STAGE_DATA, MC_CMD_DATA, NULL, 0, result, error);
	case MC_STEP_HEADER:
		return step_header(session, step, result, error);
	case MC_STEP_EOM:
		return step_eom(session, result, error);
	case MC_STEP_ABORT:
		if (session->conn == NULL)
			result_closed(result, "not sent: no milter connection");
		else
			result->outcome = MC_OUTCOME_SENT;
		return mc_session_abort(session, error);
	case MC_STEP_QUIT:
	case MC_STEP_RECONNECT:
		return step_quit(session, step, result, error);
	default:
		(void)step_directive(session, step);
		*reported_out = FALSE;
		return TRUE;
	}
}

static gboolean
is_expect(McStepKind kind)
{
	return kind == MC_STEP_EXPECT || kind == MC_STEP_EXPECT_MOD ||
	       kind == MC_STEP_EXPECT_NO_MOD || kind == MC_STEP_EXPECT_MACRO ||
	       kind == MC_STEP_EXPECT_NO_MACRO;
}

static gboolean
run_body(McSession *session, GPtrArray *steps, guint *index, guint last, McStepHook hook,
	 gpointer user_data, GError **error)
{
	const McStep *first = g_ptr_array_index(steps, *index);
	g_auto(McResult) result = {.lineno = first->lineno, .keyword = "body"};
	guint end = *index;

	while (end < last && ((const McStep *)g_ptr_array_index(steps, end))->kind == MC_STEP_BODY)
		end++;
	if (session->eoh_pending && !session_eoh(session, first, TRUE, hook, user_data, error))
		return FALSE;
	if (!session_body(session, steps, *index, end, &result, error))
		return FALSE;
	result.display = g_strdup_printf("%zu bytes", result.body_bytes);
	*index = end;
	return report(hook, session, first, &result, user_data);
}

gboolean
mc_session_run(McSession *session, GPtrArray *steps, guint first, guint last, McStepHook hook,
	       gpointer user_data, GError **error)
{
	guint i = first;

	g_return_val_if_fail(last <= steps->len, FALSE);

	while (i < last) {
		const McStep *step = g_ptr_array_index(steps, i);
		g_auto(McResult) result = {.lineno = step->lineno, .keyword = step->keyword};
		gboolean reported = FALSE;

		if (step->kind == MC_STEP_BODY) {
			if (!run_body(session, steps, &i, last, hook, user_data, error)) {
				g_prefix_error(error, "%u: ", step->lineno);
				return FALSE;
			}
			continue;
		}
		i++;
		if (is_expect(step->kind)) {
			if (!report(hook, session, step, NULL, user_data))
				return FALSE;
			continue;
		}
		if (step->kind == MC_STEP_EOM && session->eoh_pending &&
		    !session_eoh(session, step, TRUE, hook, user_data, error)) {
			g_prefix_error(error, "%u: ", step->lineno);
			return FALSE;
		}
		if (step->kind == MC_STEP_EOH) {
			if (!session_eoh(session, step, FALSE, hook, user_data, error)) {
				g_prefix_error(error, "%u: ", step->lineno);
				return FALSE;
			}
			continue;
		}
		result.display = g_strdup(step->display);
		if (!session_step(session, step, &result, &reported, error)) {
			g_prefix_error(error, "%u: ", step->lineno);
			return FALSE;
		}
		if (reported && !report(hook, session, step, &result, user_data))
			return FALSE;
	}
	return TRUE;
}

/* the position of the index-th (1-based) header called name, or -1 */
static gint
find_instance(GPtrArray *headers, const char *name, guint32 index)
{
	gsize name_len = strlen(name);
	guint32 seen = 0;

	for (guint i = 0; i < headers->len; i++) {
		const char *header = g_ptr_array_index(headers, i);

		if (g_ascii_strncasecmp(header, name, name_len) == 0 && header[name_len] == ':' &&
		    ++seen == index)
			return (gint)i;
	}
	return -1;
}

static void
apply_header_mod(GPtrArray *headers, const McMod *mod, gboolean leadspc)
{
	char *line = g_strdup_printf("%s:%s%s", mod->name, leadspc ? "" : " ", mod->value);
	gint at;

	switch (mod->kind) {
	case MC_MOD_ADDHEADER:
		g_ptr_array_add(headers, line);
		return;
	case MC_MOD_INSHEADER:
		g_ptr_array_insert(headers, (gint)MIN(mod->index, headers->len), line);
		return;
	case MC_MOD_CHGHEADER:
		at = find_instance(headers, mod->name, mod->index);
		if (at >= 0 && mod->value[0] == '\0')
			g_ptr_array_remove_index(headers, (guint)at);
		else if (at >= 0) {
			g_free(g_ptr_array_index(headers, at));
			g_ptr_array_index(headers, at) = g_steal_pointer(&line);
		} else if (mod->value[0] != '\0') {
			/* as both MTAs: a change of a header that is not there adds it */
			g_ptr_array_add(headers, g_steal_pointer(&line));
		}
		break;
	default:
		break;
	}
	g_free(line);
}

/* text with LF line ends as CRLF (a CR already there is kept) */
static void
append_crlf(GByteArray *out, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			g_byte_array_append(out, (const guint8 *)"\r", 1);
		g_byte_array_append(out, (const guint8 *)p, 1);
	}
}

GBytes *
mc_session_message(const McSession *session, const GPtrArray *mods)
{
	g_autoptr(GPtrArray) headers = g_ptr_array_new_with_free_func(g_free);
	gboolean leadspc = (session->negotiation.protocol & MC_P_HDR_LEADSPC) != 0;
	GByteArray *out = g_byte_array_new();

	for (guint i = 0; i < session->headers->len; i++)
		g_ptr_array_add(headers, g_strdup(g_ptr_array_index(session->headers, i)));
	for (guint i = 0; mods != NULL && i < mods->len; i++) {
		const McMod *mod = g_ptr_array_index(mods, i);

		if (mod->name != NULL)
			apply_header_mod(headers, mod, leadspc);
	}
	for (guint i = 0; i < headers->len; i++) {
		append_crlf(out, g_ptr_array_index(headers, i));
		g_byte_array_append(out, (const guint8 *)"\r\n", 2);
	}
	g_byte_array_append(out, (const guint8 *)"\r\n", 2);
	g_byte_array_append(out, session->body->data, session->body->len);
	return g_byte_array_free_to_bytes(out);
}
