/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-session and pc-verdict: macro capture as Postfix and Sendmail
 * send the macros (values recorded from Postfix 3.7.11 and Sendmail
 * 8.17.1.9), listener resolution, per-message reset, decision log lines.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "pc-verdict.h"

/* a stage's macros as NULL-terminated name/value pairs */
typedef struct {
	const char *const *pairs;
} Macros;

static const char *
lookup(gpointer data, const char *name)
{
	const Macros *macros = data;

	for (gsize i = 0; macros->pairs[i] != NULL; i += 2) {
		if (strcmp(macros->pairs[i], name) == 0)
			return macros->pairs[i + 1];
	}
	return NULL;
}

static PcConfigSlot slot;

static void
load_config(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *dir = g_dir_make_tmp("pc-session-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "portcullis.conf", NULL);

	g_assert_true(g_file_set_contents(
	    path,
	    "[global]\nlocal_domains = example.com\ndomains_dir =\nuser =\n"
	    "trusted_networks = 10.0.0.0/8\n"
	    "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
	    "[listener.submission]\nrole = submission\nports = 587\ndaemon_names = ORIGINATING; "
	    "MSA\n"
	    "[listener.smtps]\nrole = smtps\nports = 465\ndaemon_names = SMTPS\n",
	    -1, NULL));
	config = pc_config_load(path, NULL, &error);
	g_assert_no_error(error);
	pc_config_slot_init(&slot, config);
	g_unlink(path);
	g_rmdir(dir);
}

static PcSession *
connect_session(const char *client, const Macros *connect_macros)
{
	PcSession *session = pc_session_new(NULL, 0);
	PcNetAddress address;

	g_assert_true(pc_net_address_parse(client, &address));
	pc_session_pin_config(session, &slot);
	pc_session_set_client(session, "client.test", &address);
	pc_session_capture(session, PC_STAGE_CONNECT, lookup, (gpointer)connect_macros);
	return session;
}

static void
test_postfix_submission(void)
{
	const Macros connect = {(const char *const[]){"j", "mail.example.com", "{daemon_name}",
						      "ORIGINATING", "{daemon_addr}", "127.0.0.1",
						      "{daemon_port}", "10587", NULL}};
	const Macros helo = {(const char *const[]){"{tls_version}", "TLSv1.3", "{cipher}",
						   "TLS_AES_256_GCM_SHA384", "{cipher_bits}", "256",
						   NULL}};
	const Macros mail = {(const char *const[]){"{auth_type}", "PLAIN", "{auth_authen}",
						   "alice@example.com", "{mail_addr}",
						   "alice@example.com", NULL}};
	const Macros data = {(const char *const[]){"i", "60A8FA72731", NULL}};
	/* at EOM Postfix's cleanup sends its own daemon name and no TLS macros */
	const Macros eom = {(const char *const[]){"i", "60A8FA72731", "{daemon_name}",
						  "mail.example.com", "{auth_authen}",
						  "alice@example.com", NULL}};
	g_autoptr(PcSession) session = connect_session("127.0.0.1", &connect);

	g_assert_cmpstr(session->listener->name, ==, "submission");
	g_assert_cmpint(session->role, ==, PC_ROLE_SUBMISSION);
	g_assert_false(session->trusted);
	pc_session_capture(session, PC_STAGE_HELO, lookup, (gpointer)&helo);
	pc_session_capture(session, PC_STAGE_MAIL, lookup, (gpointer)&mail);
	g_assert_null(session->queue_id); /* Postfix has no queue id at MAIL */
	g_assert_cmpstr(pc_session_queue_id(session), ==, "NOQUEUE");
	g_assert_true(pc_session_is_authenticated(session));
	pc_session_capture(session, PC_STAGE_DATA, lookup, (gpointer)&data);
	g_assert_cmpstr(session->queue_id, ==, "60A8FA72731");
	pc_session_capture(session, PC_STAGE_EOM, lookup, (gpointer)&eom);
	/* nothing captured earlier is lost, the listener does not move */
	g_assert_cmpstr(session->tls_version, ==, "TLSv1.3");
	g_assert_cmpint(session->cipher_bits, ==, 256);
	g_assert_cmpstr(session->listener->name, ==, "submission");
	g_assert_cmpstr(session->daemon_name, ==, "ORIGINATING");
}

static void
test_sendmail_mx(void)
{
	const Macros connect = {(const char *const[]){"j", "mail.example.com", "_", "[127.0.0.2]",
						      "{daemon_name}", "MTA", "{daemon_port}",
						      "11025", NULL}};
	const Macros mail = {
	    (const char *const[]){"i", "6AO2AW1T028785", "{mail_addr}", "x@sender.test", NULL}};
	g_autoptr(PcSession) session = connect_session("127.0.0.2", &connect);

	/* "MTA" and port 11025 match no listener: unknown, treated as mx */
	g_assert_null(session->listener);
	g_assert_cmpint(session->role, ==, PC_ROLE_MX);
	pc_session_capture(session, PC_STAGE_MAIL, lookup, (gpointer)&mail);
	g_assert_cmpstr(session->queue_id, ==, "6AO2AW1T028785"); /* Sendmail: known at MAIL */
	g_assert_false(pc_session_is_authenticated(session));
}

static void
test_port_at_mail(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "mail.example.com", NULL}};
	const Macros mail = {(const char *const[]){"{daemon_port}", "465", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);

	g_assert_null(session->listener);
	pc_session_capture(session, PC_STAGE_MAIL, lookup, (gpointer)&mail);
	g_assert_cmpstr(session->listener->name, ==, "smtps");
}

static void
test_overlong_macro(void)
{
	g_autofree char *huge = g_strnfill(PC_SESSION_MAX_MACRO + 1, 'a');
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	const Macros mail = {(const char *const[]){"{auth_authen}", huge, NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);

	/* dropped, not truncated: the strictest reading (not authenticated) follows */
	pc_session_capture(session, PC_STAGE_MAIL, lookup, (gpointer)&mail);
	g_assert_false(pc_session_is_authenticated(session));
	g_assert_cmpstr(session->macro_dropped, ==, "{auth_authen}");
}

static void
test_trusted_and_reset(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	const Macros rcpt = {(const char *const[]){"i", "ABC123", NULL}};
	g_autoptr(PcSession) session = connect_session("10.9.8.7", &connect);

	g_assert_true(session->trusted);
	pc_session_set_sender(session, "<a@example.com>");
	pc_session_capture(session, PC_STAGE_RCPT, lookup, (gpointer)&rcpt);
	pc_session_set_current_rcpt(session, "<b@example.com>");
	pc_session_accept_current_rcpt(session);
	g_assert_cmpuint(session->recipients->len, ==, 1);
	g_assert_cmpstr(session->queue_id, ==, "ABC123");
	pc_session_reset_message(session);
	g_assert_null(session->sender);
	g_assert_null(session->queue_id);
	g_assert_cmpuint(session->recipients->len, ==, 0);
	g_assert_true(session->trusted); /* the connection part stays */
}

static void
test_verdict_line(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);
	g_auto(PcVerdict) verdict;
	g_autofree char *line = NULL;

	pc_verdict_init(&verdict);
	pc_session_set_sender(session, "<a@b.test>");
	pc_session_set_current_rcpt(session, "<evil\r\n,x=y@outside.test>");
	pc_verdict_set(&verdict, PC_ACTION_REJECT, "554", "5.7.1", "foreign-domain",
		       "%s: Relay access denied", session->current_rcpt);
	line = pc_verdict_format(&verdict, session, "relay", PC_STAGE_RCPT);
	/* control bytes and field separators from the network cannot forge fields */
	g_assert_cmpstr(line, ==,
			"NOQUEUE: relay: action=reject, stage=rcpt, reason=foreign-domain, "
			"client=client.test[192.0.2.1], listener=mx, from=<a@b.test>, "
			"rcpt=<evil\\x0D\\x0A\\x2Cx=y@outside.test>, reply=\"554 5.7.1 "
			"<evil\\x0D\\x0A,x=y@outside.test>: Relay access denied\"");
	{
		g_autofree char *text = pc_verdict_milter_text(&verdict);

		g_assert_cmpstr(text, ==, "<evil??,x=y@outside.test>: Relay access denied");
	}
	/* a name the MTA could not resolve comes bracketed: logged as unknown[ip] */
	{
		PcNetAddress address;
		g_autofree char *unknown_line = NULL;

		g_assert_true(pc_net_address_parse("192.0.2.1", &address));
		pc_session_set_client(session, "[192.0.2.1]", &address);
		unknown_line = pc_verdict_format(&verdict, session, "relay", PC_STAGE_RCPT);
		g_assert_nonnull(strstr(unknown_line, ", client=unknown[192.0.2.1], "));
	}
}

static void
test_headers(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);
	g_autofree char *big = g_strnfill(2000, 'x');

	g_assert_true(pc_session_add_header(session, "From", "Alice <a@example.com>", TRUE));
	g_assert_true(pc_session_add_header(session, "Subject", "hi", FALSE));
	g_assert_cmpstr(session->current_header->name, ==, "Subject");
	g_assert_true(pc_session_add_header(session, "FROM", "b@example.com", TRUE));
	g_assert_cmpuint(session->headers->len, ==, 2);
	g_assert_cmpstr(pc_session_find_header(session, "from")->value, ==,
			"Alice <a@example.com>");
	g_assert_cmpuint(pc_session_count_headers(session, "From"), ==, 2);
	g_assert_null(pc_session_find_header(session, "Subject")); /* seen, not kept */
	/* past PC_SESSION_MAX_HEADER_BYTES: flagged, never truncated silently */
	for (int i = 0; i < 600 && !session->headers_overflow; i++)
		pc_session_add_header(session, "X-Filler", big, TRUE);
	g_assert_true(session->headers_overflow);
	g_assert_cmpuint(session->headers->len, <, 600);
	pc_session_reset_message(session);
	g_assert_cmpuint(session->headers->len, ==, 0);
	g_assert_false(session->headers_overflow);
	g_assert_cmpuint(session->header_bytes, ==, 0);
}

/* every header is counted by name, kept or not: its instance is what an edit names */
static void
test_header_instances(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);
	static const struct {
		const char *name;
		gboolean keep;
		guint want;
	} headers[] = {
	    {.name = "Received", .keep = FALSE, .want = 1},
	    {.name = "X-Change", .keep = FALSE, .want = 1},
	    {.name = "RECEIVED", .keep = FALSE, .want = 2},
	    {.name = "x-change", .keep = TRUE, .want = 2},
	    {.name = "From", .keep = TRUE, .want = 1},
	    {.name = "X-CHANGE", .keep = FALSE, .want = 3},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(headers); i++) {
		pc_session_add_header(session, headers[i].name, "v", headers[i].keep);
		g_assert_cmpuint(session->current_header->instance, ==, headers[i].want);
	}
	g_assert_cmpuint(pc_session_count_headers(session, "X-Change"), ==, 3);
	g_assert_cmpuint(pc_session_count_headers(session, "received"), ==, 2);
	g_assert_cmpuint(pc_session_count_headers(session, "Subject"), ==, 0);
	/* a kept header remembers its instance */
	g_assert_cmpuint(pc_session_find_header(session, "x-change")->instance, ==, 2);
	pc_session_reset_message(session);
	g_assert_cmpuint(pc_session_count_headers(session, "X-Change"), ==, 0);
	pc_session_add_header(session, "X-Change", "v", FALSE);
	g_assert_cmpuint(session->current_header->instance, ==, 1);
}

/* past PC_SESSION_MAX_HEADER_NAMES distinct names: instance 0, flagged */
static void
test_header_names_bounded(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);

	for (guint i = 0; i < PC_SESSION_MAX_HEADER_NAMES; i++) {
		g_autofree char *name = g_strdup_printf("X-N%u", i);

		pc_session_add_header(session, name, "", FALSE);
		g_assert_cmpuint(session->current_header->instance, ==, 1);
	}
	g_assert_false(session->headers_overflow);
	pc_session_add_header(session, "X-One-Too-Many", "", FALSE);
	g_assert_cmpuint(session->current_header->instance, ==, 0);
	g_assert_true(session->headers_overflow);
	/* known names still count */
	pc_session_add_header(session, "X-N0", "", FALSE);
	g_assert_cmpuint(session->current_header->instance, ==, 2);
}

/* a queue id starts every log line: only letters and digits are taken */
static void
test_queue_id(void)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
	    {.value = "4ABCDEF123", .want = "4ABCDEF123"},	     /* Postfix short */
	    {.value = "4RbQ2x0wXKz9vKQ", .want = "4RbQ2x0wXKz9vKQ"}, /* Postfix long */
	    {.value = "6B3GCsB3012518", .want = "6B3GCsB3012518"},   /* Sendmail */
	    {.value = "AB\r\nXY: relay: action=accept", .want = "NOQUEUE"},
	    {.value = "AB, action=accept", .want = "NOQUEUE"},
	    {.value = "AB CD", .want = "NOQUEUE"},
	    {.value = "", .want = "NOQUEUE"},
	    {.value = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	     .want = "NOQUEUE"}, /* 65 bytes */
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
		const Macros mail = {(const char *const[]){"i", cases[i].value, NULL}};
		g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);
		g_auto(PcVerdict) verdict;
		g_autofree char *line = NULL;
		g_autofree char *want = g_strconcat(cases[i].want, ": relay: action=", NULL);

		pc_session_capture(session, PC_STAGE_MAIL, lookup, (gpointer)&mail);
		g_assert_cmpstr(pc_session_queue_id(session), ==, cases[i].want);
		pc_verdict_init(&verdict);
		pc_verdict_note(&verdict, "x");
		line = pc_verdict_format(&verdict, session, "relay", PC_STAGE_MAIL);
		g_assert_true(g_str_has_prefix(line, want));
		g_assert_null(strpbrk(line, "\r\n"));
	}
}

static void
test_recipients_bounded(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);

	pc_session_set_sender(session, "<a@b.test>");
	for (guint i = 0; i < PC_SESSION_MAX_RECIPIENTS; i++) {
		g_autofree char *rcpt = g_strdup_printf("<u%u@example.com>", i);

		pc_session_set_current_rcpt(session, rcpt);
		g_assert_true(pc_session_accept_current_rcpt(session));
	}
	pc_session_set_current_rcpt(session, "<late@example.com>");
	g_assert_false(pc_session_accept_current_rcpt(session));
	g_assert_true(session->recipients_overflow);
	g_assert_cmpuint(session->recipients->len, ==, PC_SESSION_MAX_RECIPIENTS);
	pc_session_reset_message(session);
	g_assert_false(session->recipients_overflow);
}

static guint freed_messages;

static void
count_free(gpointer data)
{
	freed_messages++;
	g_free(data);
}

/* per-message state is freed at every reset and with the session */
static void
test_message_data(void)
{
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	PcSession *session = connect_session("192.0.2.1", &connect);

	freed_messages = 0;
	pc_session_set_message_data(session, g_malloc0(8), count_free);
	pc_session_reset_message(session);
	g_assert_cmpuint(freed_messages, ==, 1);
	g_assert_null(session->message_data);
	pc_session_set_message_data(session, g_malloc0(8), count_free);
	/* replacing it frees the old one too */
	pc_session_set_message_data(session, g_malloc0(8), count_free);
	g_assert_cmpuint(freed_messages, ==, 2);
	pc_session_free(session);
	g_assert_cmpuint(freed_messages, ==, 3);
}

/* edits: argument rules, and the order they are applied in */
static void
test_header_edits(void)
{
	g_auto(PcVerdict) verdict;
	static const struct {
		const char *name;
		const char *value;
	} bad[] = {
	    {.name = "", .value = "v"},
	    {.name = "Bad Name", .value = "v"},
	    {.name = "Bad:Name", .value = "v"},
	    {.name = "X-Ok", .value = "line\r\nInjected: yes"},
	    {.name = "X-Ok", .value = "line\nInjected: yes"},
	};
	const char *want[] = {"chg X-A 3",   "chg X-A 1", "del x-b 2", "chg X-B 1",
			      "ins 0 X-Top", "add X-End", "add X-End2"};

	pc_verdict_init(&verdict);
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_expect_message("portcullis", G_LOG_LEVEL_CRITICAL, "header edit refused*");
		g_assert_false(pc_verdict_add_header(&verdict, bad[i].name, bad[i].value));
		g_test_assert_expected_messages();
	}
	g_test_expect_message("portcullis", G_LOG_LEVEL_CRITICAL, "header edit refused*");
	g_assert_false(pc_verdict_delete_header(&verdict, "X-A", 0));
	g_test_assert_expected_messages();
	g_assert_null(verdict.header_edits);

	g_assert_true(pc_verdict_add_header(&verdict, "X-End", "folded\n\tvalue"));
	g_assert_true(pc_verdict_change_header(&verdict, "X-A", 1, "one"));
	g_assert_true(pc_verdict_insert_header(&verdict, 0, "X-Top", "t"));
	g_assert_true(pc_verdict_change_header(&verdict, "X-B", 1, "b"));
	g_assert_true(pc_verdict_delete_header(&verdict, "x-b", 2));
	g_assert_true(pc_verdict_change_header(&verdict, "X-A", 3, "three"));
	g_assert_true(pc_verdict_add_header(&verdict, "X-End2", ""));
	pc_verdict_sort_header_edits(verdict.header_edits);
	g_assert_cmpuint(verdict.header_edits->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < verdict.header_edits->len; i++) {
		const PcHeaderEdit *edit = g_ptr_array_index(verdict.header_edits, i);
		g_autofree char *got = NULL;

		switch (edit->kind) {
		case PC_HEADER_CHANGE:
			got = g_strdup_printf("chg %s %u", edit->name, edit->index);
			break;
		case PC_HEADER_DELETE:
			got = g_strdup_printf("del %s %u", edit->name, edit->index);
			g_assert_null(edit->value);
			break;
		case PC_HEADER_INSERT:
			got = g_strdup_printf("ins %u %s", edit->index, edit->name);
			break;
		case PC_HEADER_ADD:
			got = g_strdup_printf("add %s", edit->name);
			break;
		}
		g_assert_cmpstr(got, ==, want[i]);
	}
}

/* pc_verdict_lookup_failed: one reply for every daemon's failed lookup */
static void
test_lookup_failed(void)
{
	g_auto(PcVerdict) tempfail;
	g_auto(PcVerdict) accept;

	pc_verdict_init(&tempfail);
	pc_verdict_init(&accept);
	pc_verdict_lookup_failed(&tempfail, PC_ON_ERROR_TEMPFAIL, "store-error");
	g_assert_cmpint(tempfail.action, ==, PC_ACTION_TEMPFAIL);
	g_assert_cmpstr(tempfail.code, ==, "451");
	g_assert_cmpstr(tempfail.xcode, ==, "4.3.0");
	g_assert_cmpstr(tempfail.text, ==, "Temporary lookup failure");
	g_assert_cmpstr(tempfail.reason, ==, "store-error");
	pc_verdict_lookup_failed(&accept, PC_ON_ERROR_ACCEPT, "map-error");
	g_assert_cmpint(accept.action, ==, PC_ACTION_CONTINUE);
	g_assert_true(accept.log);
	g_assert_cmpstr(accept.reason, ==, "map-error");
}

/* SIZE= and SMTPUTF8 from MAIL's parameters; both belong to the transaction */
static void
test_mail_parameters(void)
{
	static const struct {
		const char *parameters[4];
		gint64 size;
		gboolean smtputf8;
	} cases[] = {
	    {{NULL}, -1, FALSE},
	    {{"SIZE=512", "BODY=8BITMIME", NULL}, 512, FALSE},
	    {{"SMTPUTF8", NULL}, -1, TRUE},
	    {{"BODY=8BITMIME", "smtputf8", "SIZE=7", NULL}, 7, TRUE},
	    {{"SMTPUTF8=yes", NULL}, -1, FALSE}, /* RFC 6531: no value */
	    {{"XSMTPUTF8", "SMTPUTF", NULL}, -1, FALSE},
	    {{"SIZE=x", NULL}, -1, FALSE},
	};
	const Macros connect = {(const char *const[]){"{daemon_name}", "MX", NULL}};
	g_autoptr(PcSession) session = connect_session("192.0.2.1", &connect);

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		pc_session_set_mail_parameters(
		    session, cases[i].parameters[0] != NULL ? cases[i].parameters : NULL);
		g_assert_cmpint(session->mail_size, ==, cases[i].size);
		g_assert_cmpint(session->smtputf8, ==, cases[i].smtputf8);
	}
	pc_session_set_mail_parameters(session, (const char *const[]){"SMTPUTF8", NULL});
	pc_session_reset_message(session);
	g_assert_false(session->smtputf8);
}

/*
 * the reply text: ASCII as before, and with SMTPUTF8 its printable UTF-8
 * kept whole (o-umlaut C3 B6, CJK E4 B8 AD, emoji F0 9F 98 80, C1 control
 * C2 85, overlong C0 AF, a lone continuation byte 80, a cut sequence E4 B8)
 */
static void
test_reply_text(void)
{
	static const struct {
		const char *text;
		const char *ascii;
		const char *utf8;
	} cases[] = {
	    {"plain 100%", "plain 100%%", "plain 100%%"},
	    {"<j\xc3\xb6rg@b\xc3\xbc"
	     "cher.example>: not owned by user J\xc3\x96RG",
	     "<j??rg@b??cher.example>: not owned by user J??RG",
	     "<j\xc3\xb6rg@b\xc3\xbc"
	     "cher.example>: not owned by user J\xc3\x96RG"},
	    {"\xe4\xb8\xad \xf0\x9f\x98\x80", "??? ????", "\xe4\xb8\xad \xf0\x9f\x98\x80"},
	    {"a\r\nb\x7f", "a??b?", "a??b?"},
	    {"c1 \xc2\x85.", "c1 ??.", "c1 ??."},
	    {"overlong \xc0\xaf.", "overlong ??.", "overlong ??."},
	    {"lone \x80.", "lone ?.", "lone ?."},
	    {"cut \xe4\xb8", "cut ??", "cut ??"},
	    {"latin1 j\xf6rg", "latin1 j?rg", "latin1 j?rg"},
	    {"surrogate \xed\xa0\x80.", "surrogate ???.", "surrogate ???."},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(PcVerdict) verdict;
		g_autofree char *ascii = NULL;
		g_autofree char *utf8 = NULL;

		pc_verdict_init(&verdict);
		pc_verdict_set(&verdict, PC_ACTION_REJECT, "553", "5.7.1", "test", "%s",
			       cases[i].text);
		ascii = pc_verdict_reply_text(&verdict, FALSE);
		utf8 = pc_verdict_reply_text(&verdict, TRUE);
		g_assert_cmpstr(ascii, ==, cases[i].ascii);
		g_assert_cmpstr(utf8, ==, cases[i].utf8);
		g_assert_true(g_utf8_validate(utf8, -1, NULL));
	}
}

/* the limit never cuts a UTF-8 character or a doubled '%' in two */
static void
test_reply_text_limit(void)
{
	for (gsize pad = 890; pad < 900; pad++) {
		g_autofree char *head = g_strnfill(pad, 'x');
		g_auto(PcVerdict) verdict;
		g_autofree char *text = NULL;

		pc_verdict_init(&verdict);
		pc_verdict_set(&verdict, PC_ACTION_REJECT, "553", "5.7.1", "test",
			       "%s\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xe4\xb8\xad%%%%", head);
		text = pc_verdict_reply_text(&verdict, TRUE);
		g_assert_cmpuint(strlen(text), <=, PC_VERDICT_MAX_TEXT);
		g_assert_true(g_utf8_validate(text, -1, NULL));
		g_assert_true(g_str_has_prefix(text, head));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	load_config();
	g_test_add_func("/pc/session/postfix-submission", test_postfix_submission);
	g_test_add_func("/pc/session/sendmail-mx", test_sendmail_mx);
	g_test_add_func("/pc/session/port-at-mail", test_port_at_mail);
	g_test_add_func("/pc/session/overlong-macro", test_overlong_macro);
	g_test_add_func("/pc/session/trusted-and-reset", test_trusted_and_reset);
	g_test_add_func("/pc/session/verdict-line", test_verdict_line);
	g_test_add_func("/pc/session/headers", test_headers);
	g_test_add_func("/pc/session/header-instances", test_header_instances);
	g_test_add_func("/pc/session/header-names-bounded", test_header_names_bounded);
	g_test_add_func("/pc/session/queue-id", test_queue_id);
	g_test_add_func("/pc/session/recipients-bounded", test_recipients_bounded);
	g_test_add_func("/pc/session/message-data", test_message_data);
	g_test_add_func("/pc/session/mail-parameters", test_mail_parameters);
	g_test_add_func("/pc/verdict/reply-text", test_reply_text);
	g_test_add_func("/pc/verdict/reply-text-limit", test_reply_text_limit);
	g_test_add_func("/pc/verdict/header-edits", test_header_edits);
	g_test_add_func("/pc/verdict/lookup-failed", test_lookup_failed);
	{
		int status = g_test_run();

		pc_config_slot_clear(&slot);
		return status;
	}
}
