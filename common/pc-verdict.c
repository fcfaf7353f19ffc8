/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-verdict: verdicts and their log lines. Reasons are static strings (cheap,
 * greppable, usable as metric labels); anything that varies per message goes
 * into the escaped key=value fields.
 */
#include "pc-verdict.h"

#include <stdarg.h>
#include <string.h>

#include "pc-log.h"

static const char *const action_names[] = {
    [PC_ACTION_CONTINUE] = "continue", [PC_ACTION_ACCEPT] = "accept",
    [PC_ACTION_REJECT] = "reject",     [PC_ACTION_TEMPFAIL] = "tempfail",
    [PC_ACTION_DISCARD] = "discard",   [PC_ACTION_QUARANTINE] = "quarantine",
};

const char *
pc_action_to_string(PcAction action)
{
	if ((guint)action < G_N_ELEMENTS(action_names))
		return action_names[action];
	return "unknown";
}

void
pc_verdict_init(PcVerdict *verdict)
{
	g_return_if_fail(verdict != NULL);
	memset(verdict, 0, sizeof(*verdict));
	verdict->action = PC_ACTION_CONTINUE;
}

void
pc_verdict_clear(PcVerdict *verdict)
{
	g_return_if_fail(verdict != NULL);
	g_clear_pointer(&verdict->text, g_free);
	if (verdict->fields != NULL)
		g_string_free(g_steal_pointer(&verdict->fields), TRUE);
	g_clear_pointer(&verdict->header_edits, g_ptr_array_unref);
}

void
pc_header_edit_free(PcHeaderEdit *edit)
{
	if (edit == NULL)
		return;
	g_free(edit->name);
	g_free(edit->value);
	g_free(edit);
}

void
pc_verdict_lookup_failed(PcVerdict *verdict, PcOnError on_error, const char *reason)
{
	g_return_if_fail(verdict != NULL);
	if (on_error == PC_ON_ERROR_ACCEPT) {
		pc_verdict_note(verdict, reason);
		return;
	}
	pc_verdict_set(verdict, PC_ACTION_TEMPFAIL, "451", "4.3.0", reason,
		       "Temporary lookup failure");
}

static gboolean
valid_header_name(const char *name)
{
	gsize len = name != NULL ? strnlen(name, 101) : 0;

	if (len == 0 || len > 100)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':')
			return FALSE;
	}
	return TRUE;
}

/* no CR, no bare LF: an LF must start a continuation line, or the MTA ends the header there */
static gboolean
valid_header_value(const char *value)
{
	gsize len = value != NULL ? strnlen(value, PC_VERDICT_MAX_HEADER_VALUE + 1) : 0;

	if (value == NULL || len > PC_VERDICT_MAX_HEADER_VALUE)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (value[i] == '\r')
			return FALSE;
		if (value[i] == '\n' && value[i + 1] != ' ' && value[i + 1] != '\t')
			return FALSE;
	}
	return TRUE;
}

static gboolean
add_edit(PcVerdict *verdict, PcHeaderEditKind kind, guint index, const char *name,
	 const char *value)
{
	PcHeaderEdit *edit;

	if (!valid_header_name(name) || (kind != PC_HEADER_DELETE && !valid_header_value(value)) ||
	    ((kind == PC_HEADER_CHANGE || kind == PC_HEADER_DELETE) && index == 0)) {
		g_critical("header edit refused: bad name, value or instance for %s",
			   valid_header_name(name) ? name : "(invalid name)");
		return FALSE;
	}
	edit = g_new0(PcHeaderEdit, 1);
	edit->kind = kind;
	edit->index = index;
	edit->name = g_strdup(name);
	edit->value = kind != PC_HEADER_DELETE ? g_strdup(value) : NULL;
	if (verdict->header_edits == NULL)
		verdict->header_edits =
		    g_ptr_array_new_with_free_func((GDestroyNotify)pc_header_edit_free);
	g_ptr_array_add(verdict->header_edits, edit);
	return TRUE;
}

gboolean
pc_verdict_add_header(PcVerdict *verdict, const char *name, const char *value)
{
	g_return_val_if_fail(verdict != NULL, FALSE);
	return add_edit(verdict, PC_HEADER_ADD, 0, name, value);
}

gboolean
pc_verdict_insert_header(PcVerdict *verdict, guint position, const char *name, const char *value)
{
	g_return_val_if_fail(verdict != NULL, FALSE);
	return add_edit(verdict, PC_HEADER_INSERT, position, name, value);
}

gboolean
pc_verdict_change_header(PcVerdict *verdict, const char *name, guint instance, const char *value)
{
	g_return_val_if_fail(verdict != NULL, FALSE);
	return add_edit(verdict, PC_HEADER_CHANGE, instance, name, value);
}

gboolean
pc_verdict_delete_header(PcVerdict *verdict, const char *name, guint instance)
{
	g_return_val_if_fail(verdict != NULL, FALSE);
	return add_edit(verdict, PC_HEADER_DELETE, instance, name, NULL);
}

static int
edit_rank(const PcHeaderEdit *edit)
{
	return edit->kind == PC_HEADER_CHANGE || edit->kind == PC_HEADER_DELETE ? 0
	       : edit->kind == PC_HEADER_INSERT					? 1
										: 2;
}

/* stable by construction: ties keep the order asked (g_ptr_array_sort is a merge sort) */
static gint
compare_edits(gconstpointer a, gconstpointer b)
{
	const PcHeaderEdit *x = *(PcHeaderEdit *const *)a;
	const PcHeaderEdit *y = *(PcHeaderEdit *const *)b;
	int rank = edit_rank(x) - edit_rank(y);
	int by_name;

	if (rank != 0 || edit_rank(x) != 0)
		return rank;
	by_name = g_ascii_strcasecmp(x->name, y->name);
	if (by_name != 0)
		return by_name;
	return x->index > y->index ? -1 : x->index < y->index ? 1 : 0;
}

void
pc_verdict_sort_header_edits(GPtrArray *edits)
{
	g_return_if_fail(edits != NULL);
	g_ptr_array_sort(edits, compare_edits);
}

void
pc_verdict_set(PcVerdict *verdict, PcAction action, const char *code, const char *xcode,
	       const char *reason, const char *text_format, ...)
{
	g_return_if_fail(verdict != NULL);

	verdict->action = action;
	verdict->reason = reason;
	g_strlcpy(verdict->code, code != NULL ? code : "", sizeof(verdict->code));
	g_strlcpy(verdict->xcode, xcode != NULL ? xcode : "", sizeof(verdict->xcode));
	g_clear_pointer(&verdict->text, g_free);
	if (text_format != NULL) {
		va_list args;

		va_start(args, text_format);
		verdict->text = g_strdup_vprintf(text_format, args);
		va_end(args);
	}
}

void
pc_verdict_note(PcVerdict *verdict, const char *reason)
{
	g_return_if_fail(verdict != NULL);
	verdict->reason = reason;
	verdict->log = TRUE;
}

void
pc_verdict_add_field(PcVerdict *verdict, const char *key, const char *value)
{
	g_return_if_fail(verdict != NULL);
	g_return_if_fail(key != NULL);

	if (verdict->fields == NULL)
		verdict->fields = g_string_new(NULL);
	g_string_append_printf(verdict->fields, ", %s=", key);
	pc_log_append_safe(verdict->fields, value);
}

/*
 * the length of the printable UTF-8 character at p (at most len bytes
 * available), or 0 when p does not start one: an invalid or incomplete
 * sequence, or a C1 control (U+0080..U+009F)
 */
static gsize
utf8_printable_len(const char *p, gsize len)
{
	gunichar c;
	gsize n = (gsize)(g_utf8_skip[(guchar)*p]);

	if (n < 2 || n > len || !g_utf8_validate_len(p, n, NULL))
		return 0;
	c = g_utf8_get_char(p);
	return c >= 0xa0 ? n : 0;
}

char *
pc_verdict_reply_text(const PcVerdict *verdict, gboolean utf8)
{
	GString *out;
	gsize len;

	g_return_val_if_fail(verdict != NULL, NULL);
	if (verdict->text == NULL)
		return NULL;
	len = strlen(verdict->text);
	out = g_string_sized_new(len + 8);
	for (gsize i = 0; i < len && out->len < PC_VERDICT_MAX_TEXT; i++) {
		const char *p = verdict->text + i;
		guchar c = (guchar)*p;
		gsize n = utf8 && c >= 0x80 ? utf8_printable_len(p, len - i) : 0;

		/* a doubled '%' or a whole character must fit: never past the limit, never cut */
		if ((c == '%' && out->len + 2 > PC_VERDICT_MAX_TEXT) ||
		    (n > 0 && out->len + n > PC_VERDICT_MAX_TEXT))
			break;
		if (c == '%') {
			g_string_append(out, "%%");
		} else if (n > 0) {
			g_string_append_len(out, p, (gssize)n);
			i += n - 1;
		} else if (c < 0x20 || c >= 0x7f) {
			g_string_append_c(out, '?');
		} else {
			g_string_append_c(out, (char)c);
		}
	}
	return g_string_free(out, FALSE);
}

char *
pc_verdict_milter_text(const PcVerdict *verdict)
{
	return pc_verdict_reply_text(verdict, FALSE);
}

char *
pc_verdict_format(const PcVerdict *verdict, const PcSession *session, const char *daemon,
		  PcStage stage)
{
	GString *line = g_string_new(NULL);

	g_return_val_if_fail(verdict != NULL, NULL);
	g_return_val_if_fail(session != NULL, NULL);

	/* the queue id is letters and digits only (pc_session_queue_id) */
	g_string_append_printf(line, "%s: %s: action=%s, stage=%s", pc_session_queue_id(session),
			       daemon, pc_action_to_string(verdict->action),
			       pc_stage_to_string(stage));
	if (verdict->reason != NULL)
		g_string_append_printf(line, ", reason=%s", verdict->reason);
	g_string_append(line, ", client=");
	/* an MTA passes "[192.0.2.1]" when the name is unknown: log it as Postfix does */
	if (session->client_name == NULL || session->client_name[0] == '[')
		g_string_append(line, "unknown");
	else
		pc_log_append_safe(line, session->client_name);
	g_string_append_printf(line, "[%s]",
			       session->client_known ? session->client_ip : "unknown");
	g_string_append_printf(line, ", listener=%s",
			       session->listener != NULL ? session->listener->name : "unknown");
	if (session->auth_login != NULL) {
		g_string_append(line, ", login=");
		pc_log_append_safe(line, session->auth_login);
	}
	if (session->sender != NULL) {
		g_string_append(line, ", from=");
		pc_log_append_safe(line, session->sender);
	}
	if (stage == PC_STAGE_RCPT && session->current_rcpt != NULL) {
		g_string_append(line, ", rcpt=");
		pc_log_append_safe(line, session->current_rcpt);
	}
	if (verdict->fields != NULL)
		g_string_append_len(line, verdict->fields->str, verdict->fields->len);
	if (verdict->code[0] != '\0') {
		g_autofree char *reply =
		    g_strdup_printf("%s %s %s", verdict->code, verdict->xcode,
				    verdict->text != NULL ? verdict->text : "");

		/* quoted: a comma in the text needs no escape, a quote or CR/LF gets one */
		g_string_append(line, ", reply=");
		pc_log_append_quoted(line, reply);
	}
	return g_string_free(line, FALSE);
}

void
pc_verdict_log(const PcVerdict *verdict, const PcSession *session, const char *daemon,
	       PcStage stage)
{
	g_autofree char *line = pc_verdict_format(verdict, session, daemon, stage);

	g_message("%s", line);
}
