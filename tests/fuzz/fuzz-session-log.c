/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the decision log line: a session filled from hostile
 * macro values and SMTP arguments, a verdict with a reply and extra fields,
 * and the line pc_verdict_format() makes of them.
 *
 * Input: two control bytes, then NUL-separated values (missing ones are
 * NULL, as a macro the MTA does not send):
 *
 *   byte 0   action (bits 0-2, modulo the actions), stage (bits 3-6)
 *   byte 1   bit 0: a reason tag, bit 1: a reply code
 *   values   i {daemon_name} {daemon_addr} {daemon_port} {tls_version}
 *            {cipher} {cipher_bits} {auth_authen} {auth_type}, then the
 *            client's host name and address, HELO, MAIL and RCPT
 *            arguments, the reply text, and up to four field values
 *
 * The line is what syslog and every log parser downstream see, so the target
 * checks (and aborts when it fails) that it holds no control, DEL or 8-bit
 * byte, and that it has exactly as many ", key=" separators as the code wrote
 * fields: no value can forge a field or a line. It also checks the reply text
 * handed to smfi_setreply (pc_verdict_milter_text, and pc_verdict_reply_text
 * for an SMTPUTF8 client) against its contract.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pc-session.h"
#include "pc-verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

#define FUZZ_FLAG_REASON (1u << 0)
#define FUZZ_FLAG_REPLY (1u << 1)

/* the values, in input order */
enum {
	FUZZ_MACRO_FIRST,
	FUZZ_MACRO_LAST = 8,
	FUZZ_HOSTNAME,
	FUZZ_ADDRESS,
	FUZZ_HELO,
	FUZZ_SENDER,
	FUZZ_RCPT,
	FUZZ_TEXT,
	FUZZ_FIELD_FIRST,
	FUZZ_N_VALUES = FUZZ_FIELD_FIRST + 4,
};

static const char *const macro_names[FUZZ_MACRO_LAST + 1] = {
    "i",	"{daemon_name}", "{daemon_addr}", "{daemon_port}", "{tls_version}",
    "{cipher}", "{cipher_bits}", "{auth_authen}", "{auth_type}",
};

/* keys the daemons write with pc_verdict_add_field */
static const char *const field_keys[FUZZ_N_VALUES - FUZZ_FIELD_FIRST] = {
    "owner",
    "header_from",
    "count",
    "detail",
};

/* the stages whose macros a session captures, in SMTP order */
static const PcStage capture_stages[] = {
    PC_STAGE_CONNECT, PC_STAGE_HELO, PC_STAGE_MAIL, PC_STAGE_RCPT, PC_STAGE_DATA, PC_STAGE_EOM,
};

typedef struct {
	char *values[FUZZ_N_VALUES]; /* NULL when the input ends before */
} FuzzInput;

static void
fuzz_input_clear(FuzzInput *input)
{
	for (gsize i = 0; i < G_N_ELEMENTS(input->values); i++)
		g_clear_pointer(&input->values[i], g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FuzzInput, fuzz_input_clear)

static void
fuzz_input_split(FuzzInput *input, const char *text, gsize len)
{
	gsize pos = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(input->values) && pos <= len; i++) {
		const char *start = text + pos;
		const char *nul = memchr(start, '\0', len - pos);
		gsize n = nul != NULL ? (gsize)(nul - start) : len - pos;

		input->values[i] = g_strndup(start, n);
		pos += n + 1;
	}
}

static const char *
fuzz_lookup(gpointer data, const char *name)
{
	const FuzzInput *input = data;

	for (gsize i = 0; i < G_N_ELEMENTS(macro_names); i++) {
		if (strcmp(name, macro_names[i]) == 0)
			return input->values[FUZZ_MACRO_FIRST + i];
	}
	return NULL;
}

/* prints the offending line with its bytes escaped, then aborts for libFuzzer */
G_GNUC_NORETURN static void
fuzz_fail(const char *line, const char *why)
{
	g_autofree char *escaped = g_strescape(line, NULL);

	fprintf(stderr, "fuzz-session-log: %s: \"%s\"\n", why, escaped);
	abort();
}

/* ", key=" with key in [a-z_]: the start of a field */
static guint
fuzz_count_fields(const char *line)
{
	guint n = 0;

	for (const char *p = strstr(line, ", "); p != NULL; p = strstr(p + 1, ", ")) {
		const char *key = p + 2;
		gsize key_len = strspn(key, "abcdefghijklmnopqrstuvwxyz_");

		if (key_len > 0 && key[key_len] == '=')
			n++;
	}
	return n;
}

static void
fuzz_check_line(const char *line, guint want_fields)
{
	guint fields;

	for (const guchar *p = (const guchar *)line; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			fuzz_fail(line, "control or 8-bit byte in the log line");
	}
	fields = fuzz_count_fields(line);
	if (fields != want_fields) {
		g_autofree char *why =
		    g_strdup_printf("%u fields in the log line, %u written", fields, want_fields);

		fuzz_fail(line, why);
	}
}

/* printable ASCII, '%' doubled, at most PC_VERDICT_MAX_TEXT bytes */
static void
fuzz_check_milter_text(const PcVerdict *verdict)
{
	g_autofree char *text = pc_verdict_milter_text(verdict);
	gsize len;

	if (text == NULL) {
		g_assert_null(verdict->text);
		return;
	}
	len = strlen(text);
	for (gsize i = 0; i < len; i++) {
		if ((guchar)text[i] < 0x20 || (guchar)text[i] >= 0x7f)
			fuzz_fail(text, "control or 8-bit byte in the reply text");
		if (text[i] == '%' && text[++i] != '%')
			fuzz_fail(text, "a single '%' in the reply text");
	}
	if (len > PC_VERDICT_MAX_TEXT) {
		g_autofree char *why =
		    g_strdup_printf("reply text of %" G_GSIZE_FORMAT " bytes, more than %d", len,
				    PC_VERDICT_MAX_TEXT);

		fuzz_fail(text, why);
	}
}

/* with SMTPUTF8: valid UTF-8 without control characters, '%' doubled, within the limit */
static void
fuzz_check_reply_text_utf8(const PcVerdict *verdict)
{
	g_autofree char *text = pc_verdict_reply_text(verdict, TRUE);

	if (text == NULL)
		return;
	if (strlen(text) > PC_VERDICT_MAX_TEXT)
		fuzz_fail(text, "UTF-8 reply text over the limit");
	if (!g_utf8_validate(text, -1, NULL))
		fuzz_fail(text, "invalid UTF-8 in the reply text");
	for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			fuzz_fail(text, "control character in the UTF-8 reply text");
		if (c == '%' && *++p != '%')
			fuzz_fail(text, "a single '%' in the UTF-8 reply text");
	}
}

static void
fuzz_fill_session(PcSession *session, FuzzInput *input)
{
	const char *address_text = input->values[FUZZ_ADDRESS];
	PcNetAddress address;
	gboolean known = address_text != NULL && pc_net_address_parse(address_text, &address);

	pc_session_set_client(session, input->values[FUZZ_HOSTNAME], known ? &address : NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(capture_stages); i++) {
		PcStage stage = capture_stages[i];

		if (stage == PC_STAGE_MAIL)
			pc_session_set_sender(session, input->values[FUZZ_SENDER]);
		if (stage == PC_STAGE_RCPT)
			pc_session_set_current_rcpt(session, input->values[FUZZ_RCPT]);
		pc_session_capture(session, stage, fuzz_lookup, input);
		if (stage == PC_STAGE_HELO)
			pc_session_set_helo(session, input->values[FUZZ_HELO]);
		if (stage == PC_STAGE_RCPT)
			pc_session_accept_current_rcpt(session);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(PcSession) session = NULL;
	g_auto(FuzzInput) input = {{NULL}};
	g_auto(PcVerdict) verdict = {0};
	g_autofree char *line = NULL;
	PcAction action;
	PcStage stage;
	guint flags;
	guint want_fields;

	if (size < 2 || size > FUZZ_MAX_INPUT)
		return 0;
	action = (PcAction)((data[0] & 0x07) % (PC_ACTION_QUARANTINE + 1));
	stage = (PcStage)(((data[0] >> 3) & 0x0f) % (PC_STAGE_CLOSE + 1));
	flags = data[1];
	fuzz_input_split(&input, (const char *)data + 2, size - 2);

	session = pc_session_new(NULL, 0);
	fuzz_fill_session(session, &input);

	pc_verdict_init(&verdict);
	if (flags & FUZZ_FLAG_REPLY)
		pc_verdict_set(&verdict, action, "554", "5.7.1",
			       (flags & FUZZ_FLAG_REASON) ? "fuzz-reason" : NULL, "%s",
			       input.values[FUZZ_TEXT] != NULL ? input.values[FUZZ_TEXT] : "");
	else
		pc_verdict_set(&verdict, action, NULL, NULL,
			       (flags & FUZZ_FLAG_REASON) ? "fuzz-reason" : NULL, NULL);
	/* stage=, client= and listener= are always written */
	want_fields = 3;
	for (gsize i = FUZZ_FIELD_FIRST; i < FUZZ_N_VALUES; i++) {
		if (input.values[i] == NULL)
			continue;
		pc_verdict_add_field(&verdict, field_keys[i - FUZZ_FIELD_FIRST], input.values[i]);
		want_fields++;
	}
	want_fields += verdict.reason != NULL;
	want_fields += session->auth_login != NULL;
	want_fields += session->sender != NULL;
	want_fields += stage == PC_STAGE_RCPT && session->current_rcpt != NULL;
	want_fields += verdict.code[0] != '\0';

	line = pc_verdict_format(&verdict, session, "relay", stage);
	fuzz_check_line(line, want_fields);
	fuzz_check_milter_text(&verdict);
	fuzz_check_reply_text_utf8(&verdict);
	return 0;
}
