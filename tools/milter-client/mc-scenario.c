/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-scenario: scenario file parser.
 *
 * A line is split into tokens at blanks. A token that starts with ' runs to
 * the next unescaped ', blanks included; in every token \xHH is one byte,
 * \\ a backslash and \' a quote, while any other backslash is literal, so
 * addresses such as <"a\b"@x> need no escaping at all. Outside quotes, a #
 * after a blank starts a comment, except in header and body lines, whose
 * text is taken as it is.
 */
#include "mc-scenario.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "mc-mta.h"

/* bound on body-size, so a typo cannot eat the machine's memory */
#define MC_SCENARIO_MAX_BODY_SIZE (256u * 1024u * 1024u)
/* the client port when the scenario gives none */
#define MC_SCENARIO_DEFAULT_PORT "54321"

G_DEFINE_QUARK(mc - scenario - error - quark, mc_scenario_error)

static const char *const outcome_names[MC_OUTCOME_COUNT] = {
    [MC_OUTCOME_CONTINUE] = "continue", [MC_OUTCOME_ACCEPT] = "accept",
    [MC_OUTCOME_REJECT] = "reject",	[MC_OUTCOME_TEMPFAIL] = "tempfail",
    [MC_OUTCOME_DISCARD] = "discard",	[MC_OUTCOME_QUARANTINE] = "quarantine",
    [MC_OUTCOME_SKIP] = "skip",		[MC_OUTCOME_CLOSED] = "closed",
    [MC_OUTCOME_SENT] = "sent",
};

const char *
mc_outcome_name(McOutcome outcome)
{
	g_return_val_if_fail(outcome < MC_OUTCOME_COUNT, "?");
	return outcome_names[outcome];
}

gboolean
mc_outcome_parse(const char *name, McOutcome *outcome_out)
{
	for (guint i = 0; i < MC_OUTCOME_COUNT; i++) {
		if (g_strcmp0(name, outcome_names[i]) == 0) {
			*outcome_out = (McOutcome)i;
			return TRUE;
		}
	}
	return FALSE;
}

static void
step_free(McStep *step)
{
	if (step == NULL)
		return;
	g_free(step->display);
	g_clear_pointer(&step->args, g_ptr_array_unref);
	g_free(step->name);
	g_free(step->value);
	g_free(step->host);
	g_clear_pointer(&step->data, g_bytes_unref);
	g_free(step->code);
	g_free(step->xcode);
	g_free(step->text);
	g_free(step);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(McStep, step_free)

void
mc_scenario_free(McScenario *scenario)
{
	if (scenario == NULL)
		return;
	g_free(scenario->path);
	g_ptr_array_unref(scenario->steps);
	g_free(scenario);
}

const char *
mc_step_arg(const McStep *step, guint index)
{
	if (step->args == NULL || index >= step->args->len)
		return NULL;
	/* every argument buffer carries a NUL after its last byte, see bytes_take() */
	return g_bytes_get_data(g_ptr_array_index(step->args, index), NULL);
}

/* (transfer full) a GBytes whose buffer is also NUL-terminated */
static GBytes *
bytes_take(GByteArray *array)
{
	gsize len = array->len;

	g_byte_array_append(array, (const guint8 *)"", 1);
	return g_bytes_new_take(g_byte_array_free(array, FALSE), len);
}

/* ---- tokens ---- */

typedef struct {
	gsize start; /* offset of the token in the line */
	GBytes *bytes;
	gboolean quoted;
} McToken;

static void
token_clear(McToken *token)
{
	g_clear_pointer(&token->bytes, g_bytes_unref);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = g_ascii_tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* decodes one escape at text[*pos] (a backslash); FALSE if it is not one */
static gboolean
decode_escape(const char *text, gsize len, gsize *pos, GByteArray *out)
{
	gsize i = *pos;
	guint8 byte;

	if (i + 1 < len && (text[i + 1] == '\\' || text[i + 1] == '\'')) {
		byte = (guint8)text[i + 1];
		*pos = i + 2;
	} else if (i + 3 < len && text[i + 1] == 'x' && hex_value(text[i + 2]) >= 0 &&
		   hex_value(text[i + 3]) >= 0) {
		byte = (guint8)(hex_value(text[i + 2]) * 16 + hex_value(text[i + 3]));
		*pos = i + 4;
	} else {
		return FALSE;
	}
	g_byte_array_append(out, &byte, 1);
	return TRUE;
}

/* (transfer full) text with escapes decoded */
static GBytes *
decode_text(const char *text, gsize len)
{
	GByteArray *out = g_byte_array_sized_new((guint)len + 1);
	gsize i = 0;

	while (i < len) {
		if (text[i] == '\\' && decode_escape(text, len, &i, out))
			continue;
		g_byte_array_append(out, (const guint8 *)text + i, 1);
		i++;
	}
	return bytes_take(out);
}

/*
 * Splits line into tokens. *content_end_out is where the comment starts (or
 * the line length); comments are not recognised when allow_comment is FALSE.
 */
static gboolean
tokenize(const char *line, gboolean allow_comment, GArray *tokens, gsize *content_end_out,
	 GError **error)
{
	gsize len = strlen(line);
	gsize i = 0;

	*content_end_out = len;
	while (i < len) {
		McToken token = {0};
		GByteArray *out;

		if (line[i] == ' ' || line[i] == '\t') {
			i++;
			continue;
		}
		if (allow_comment && line[i] == '#') {
			*content_end_out = i;
			break;
		}
		token.start = i;
		out = g_byte_array_new();
		if (line[i] == '\'') {
			token.quoted = TRUE;
			i++;
			while (i < len && line[i] != '\'') {
				if (line[i] == '\\' && decode_escape(line, len, &i, out))
					continue;
				g_byte_array_append(out, (const guint8 *)line + i, 1);
				i++;
			}
			if (i >= len ||
			    (i + 1 < len && line[i + 1] != ' ' && line[i + 1] != '\t')) {
				g_byte_array_unref(out);
				g_set_error_literal(
				    error, MC_SCENARIO_ERROR, MC_SCENARIO_ERROR_SYNTAX,
				    i >= len ? "unterminated quote" : "text after a closing quote");
				return FALSE;
			}
			i++;
		} else {
			while (i < len && line[i] != ' ' && line[i] != '\t') {
				if (line[i] == '\\' && decode_escape(line, len, &i, out))
					continue;
				g_byte_array_append(out, (const guint8 *)line + i, 1);
				i++;
			}
		}
		token.bytes = bytes_take(out);
		g_array_append_val(tokens, token);
	}
	return TRUE;
}

static const char *
token_str(GArray *tokens, guint index)
{
	if (index >= tokens->len)
		return NULL;
	return g_bytes_get_data(g_array_index(tokens, McToken, index).bytes, NULL);
}

/* (transfer full) the text from token index to the comment, decoded */
static char *
rest_from(const char *line, gsize content_end, GArray *tokens, guint index)
{
	McToken *token;
	gsize start;
	gsize end = content_end;

	if (index >= tokens->len)
		return NULL;
	token = &g_array_index(tokens, McToken, index);
	if (index + 1 == tokens->len && token->quoted)
		return g_strdup(g_bytes_get_data(token->bytes, NULL));
	start = token->start;
	while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	{
		g_autoptr(GBytes) bytes = decode_text(line + start, end - start);

		return g_strdup(g_bytes_get_data(bytes, NULL));
	}
}

/* ---- per-command parsers ---- */

typedef struct {
	const char *line;
	gsize content_end;
	GArray *tokens; /* McToken; [0] is the keyword */
} McLine;

static gboolean syntax_error(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
syntax_error(GError **error, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	g_propagate_error(
	    error, g_error_new_valist(MC_SCENARIO_ERROR, MC_SCENARIO_ERROR_SYNTAX, format, args));
	va_end(args);
	return FALSE;
}

static gboolean
want_args(const McLine *line, guint min, guint max, const char *usage, GError **error)
{
	guint n = line->tokens->len - 1;

	if (n < min || n > max)
		return syntax_error(error, "usage: %s", usage);
	return TRUE;
}

static GPtrArray *
args_from(const McLine *line, guint first)
{
	GPtrArray *args = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

	for (guint i = first; i < line->tokens->len; i++)
		g_ptr_array_add(args, g_bytes_ref(g_array_index(line->tokens, McToken, i).bytes));
	return args;
}

static void
args_add_string(GPtrArray *args, const char *str)
{
	GByteArray *array = g_byte_array_new();

	g_byte_array_append(array, (const guint8 *)str, (guint)strlen(str));
	g_ptr_array_add(args, bytes_take(array));
}

static gboolean
parse_connect(McStep *step, const McLine *line, GError **error)
{
	const char *usage = "connect ADDR|unknown [port N] [name HOST]";
	g_autofree char *addr = NULL;
	guint8 buf[16];

	if (line->tokens->len < 2 || line->tokens->len % 2 != 0)
		return syntax_error(error, "usage: %s", usage);
	addr = g_strdup(token_str(line->tokens, 1));
	if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
		addr[strlen(addr) - 1] = '\0';
		memmove(addr, addr + 1, strlen(addr));
	}
	if (g_ascii_strncasecmp(addr, "IPv6:", 5) == 0)
		memmove(addr, addr + 5, strlen(addr) - 4);
	if (strcmp(addr, "unknown") == 0)
		step->family = MC_FAMILY_UNKNOWN;
	else if (inet_pton(AF_INET, addr, buf) == 1)
		step->family = MC_FAMILY_INET;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		step->family = MC_FAMILY_INET6;
	else
		return syntax_error(error, "connect: \"%s\" is not an IPv4 or IPv6 address", addr);
	step->value = g_strdup(MC_SCENARIO_DEFAULT_PORT);
	for (guint i = 2; i + 1 < line->tokens->len; i += 2) {
		const char *key = token_str(line->tokens, i);
		const char *val = token_str(line->tokens, i + 1);
		guint64 port;

		if (strcmp(key, "port") == 0) {
			if (!g_ascii_string_to_unsigned(val, 10, 0, 65535, &port, NULL))
				return syntax_error(error, "connect: bad port \"%s\"", val);
			g_free(step->value);
			step->value = g_strdup_printf("%u", (guint)port);
		} else if (strcmp(key, "name") == 0) {
			g_free(step->host);
			step->host = g_strdup(val);
		} else {
			return syntax_error(error, "usage: %s", usage);
		}
	}
	step->name = g_steal_pointer(&addr);
	return TRUE;
}

static gboolean
parse_starttls(McStep *step, const McLine *line, GError **error)
{
	const char *defaults[] = {"TLSv1.3", "256", "TLS_AES_256_GCM_SHA384"};

	if (!want_args(line, 0, 3, "starttls [VERSION [BITS [CIPHER]]]", error))
		return FALSE;
	step->args = args_from(line, 1);
	for (guint i = step->args->len; i < G_N_ELEMENTS(defaults); i++)
		args_add_string(step->args, defaults[i]);
	return TRUE;
}

static gboolean
parse_auth(McStep *step, const McLine *line, GError **error)
{
	if (!want_args(line, 1, 2, "auth LOGIN [MECHANISM]", error))
		return FALSE;
	step->args = args_from(line, 1);
	if (step->args->len < 2)
		args_add_string(step->args, "PLAIN");
	return TRUE;
}

static gboolean
parse_header(McStep *step, const char *rest, GError **error)
{
	const char *colon = strchr(rest, ':');
	g_autoptr(GBytes) name = NULL;

	if (colon == NULL || colon == rest)
		return syntax_error(error, "usage: %s", "header NAME: VALUE");
	name = decode_text(rest, (gsize)(colon - rest));
	step->name = g_strdup(g_bytes_get_data(name, NULL));
	step->data = decode_text(colon + 1, strlen(colon + 1));
	return TRUE;
}

static GBytes *
body_filler(gsize size)
{
	GByteArray *out = g_byte_array_sized_new((guint)size + 1);

	/* 76 characters and CRLF per line; the last line is as long as needed */
	while (out->len < size) {
		gsize left = size - out->len;
		gsize line = MIN(78, left);

		if (line < 2) {
			g_byte_array_append(out, (const guint8 *)"\n", 1);
			continue;
		}
		for (gsize i = 0; i + 2 < line; i++)
			g_byte_array_append(out, (const guint8 *)"x", 1);
		g_byte_array_append(out, (const guint8 *)"\r\n", 2);
	}
	return bytes_take(out);
}

static gboolean
parse_body(McStep *step, const McLine *line, const char *rest, gboolean sized, GError **error)
{
	if (sized) {
		guint64 size;

		if (line->tokens->len != 2 ||
		    !g_ascii_string_to_unsigned(token_str(line->tokens, 1), 10, 0,
						MC_SCENARIO_MAX_BODY_SIZE, &size, NULL))
			return syntax_error(error, "usage: %s", "body-size N (at most 256 MiB)");
		step->data = body_filler((gsize)size);
	} else {
		g_autoptr(GBytes) text = decode_text(rest, strlen(rest));
		GByteArray *out = g_bytes_unref_to_array(g_steal_pointer(&text));

		g_byte_array_append(out, (const guint8 *)"\r\n", 2);
		step->data = bytes_take(out);
	}
	return TRUE;
}

static gboolean
looks_like_xcode(const char *token)
{
	return g_regex_match_simple("^[245]\\.[0-9]{1,3}\\.[0-9]{1,3}$", token, 0, 0);
}

static gboolean
parse_expect(McStep *step, const McLine *line, GError **error)
{
	const char *outcome = token_str(line->tokens, 1);
	guint next = 2;

	if (outcome == NULL || !mc_outcome_parse(outcome, &step->outcome))
		return syntax_error(error,
				    "expect: unknown outcome \"%s\" (want continue, accept, "
				    "reject, tempfail, discard, quarantine, skip, closed or sent)",
				    outcome != NULL ? outcome : "");
	if (token_str(line->tokens, next) != NULL) {
		const char *code = token_str(line->tokens, next);

		if (strlen(code) != 3 || strspn(code, "0123456789") != 3)
			return syntax_error(error, "expect: \"%s\" is not a 3-digit reply code",
					    code);
		step->code = g_strdup(code);
		next++;
	}
	if (token_str(line->tokens, next) != NULL &&
	    looks_like_xcode(token_str(line->tokens, next))) {
		step->xcode = g_strdup(token_str(line->tokens, next));
		next++;
	}
	step->text = rest_from(line->line, line->content_end, line->tokens, next);
	return TRUE;
}

static gboolean
parse_expect_mod(McStep *step, const McLine *line, GError **error)
{
	const char *kind = token_str(line->tokens, 1);

	if (kind == NULL || !mc_mod_kind_parse(kind, &step->mod_kind))
		return syntax_error(error,
				    "%s KIND [TEXT]: KIND is addheader, insheader, chgheader, "
				    "replbody, addrcpt, delrcpt, chgfrom or quarantine",
				    step->keyword);
	step->text = rest_from(line->line, line->content_end, line->tokens, 2);
	return TRUE;
}

static gboolean
parse_expect_macro(McStep *step, const McLine *line, GError **error)
{
	const char *stage = token_str(line->tokens, 1);

	if (line->tokens->len < 3)
		return syntax_error(error, "usage: %s STAGE NAME [VALUE]", step->keyword);
	if (!mc_stage_parse(stage, &step->stage))
		return syntax_error(error,
				    "unknown stage \"%s\" (want connect, helo, mail, rcpt, "
				    "data, eoh or eom)",
				    stage);
	step->name = g_strdup(token_str(line->tokens, 2));
	step->value = rest_from(line->line, line->content_end, line->tokens, 3);
	return TRUE;
}

static gboolean
parse_simple(McStep *step, const McLine *line, GError **error)
{
	switch (step->kind) {
	case MC_STEP_MTA:
		if (!want_args(line, 1, 1, "mta postfix|sendmail", error))
			return FALSE;
		if (mc_mta_profile_lookup(token_str(line->tokens, 1)) == NULL)
			return syntax_error(error, "mta: unknown MTA \"%s\"",
					    token_str(line->tokens, 1));
		step->name = g_strdup(token_str(line->tokens, 1));
		return TRUE;
	case MC_STEP_MACRO:
		if (line->tokens->len < 2)
			return syntax_error(error, "usage: %s", "macro NAME [VALUE...]");
		step->name = g_strdup(token_str(line->tokens, 1));
		step->value = rest_from(line->line, line->content_end, line->tokens, 2);
		return TRUE;
	case MC_STEP_CLEANUP_DAEMON_NAME:
		if (line->tokens->len < 2)
			return syntax_error(error, "usage: %s", "cleanup-daemon-name VALUE");
		step->value = rest_from(line->line, line->content_end, line->tokens, 1);
		return TRUE;
	case MC_STEP_HELO:
		if (!want_args(line, 1, 1, "helo NAME", error))
			return FALSE;
		step->args = args_from(line, 1);
		return TRUE;
	case MC_STEP_PAUSE_UNTIL_FILE:
		if (!want_args(line, 1, 1, "pause-until-file PATH", error))
			return FALSE;
		step->name = g_strdup(token_str(line->tokens, 1));
		return TRUE;
	case MC_STEP_MAIL:
	case MC_STEP_RCPT:
		if (line->tokens->len < 2)
			return syntax_error(error, "usage: %s ADDR [ESMTP-ARGS...]", step->keyword);
		step->args = args_from(line, 1);
		return TRUE;
	default:
		return want_args(line, 0, 0, step->keyword, error);
	}
}

static const struct {
	const char *keyword;
	McStepKind kind;
} keywords[] = {
    {"mta", MC_STEP_MTA},
    {"macro", MC_STEP_MACRO},
    {"cleanup-daemon-name", MC_STEP_CLEANUP_DAEMON_NAME},
    {"connect", MC_STEP_CONNECT},
    {"helo", MC_STEP_HELO},
    {"ehlo", MC_STEP_HELO},
    {"starttls", MC_STEP_STARTTLS},
    {"auth", MC_STEP_AUTH},
    {"mail", MC_STEP_MAIL},
    {"rcpt", MC_STEP_RCPT},
    {"data", MC_STEP_DATA},
    {"header", MC_STEP_HEADER},
    {"eoh", MC_STEP_EOH},
    {"body", MC_STEP_BODY},
    {"body-size", MC_STEP_BODY},
    {"eom", MC_STEP_EOM},
    {"abort", MC_STEP_ABORT},
    {"quit", MC_STEP_QUIT},
    {"reconnect", MC_STEP_RECONNECT},
    {"pause-until-file", MC_STEP_PAUSE_UNTIL_FILE},
    {"expect", MC_STEP_EXPECT},
    {"expect-mod", MC_STEP_EXPECT_MOD},
    {"expect-no-mod", MC_STEP_EXPECT_NO_MOD},
    {"expect-macro", MC_STEP_EXPECT_MACRO},
    {"expect-no-macro", MC_STEP_EXPECT_NO_MACRO},
};

/* the scenario text for the report: as written, but never a control byte */
static char *
display_text(const char *text, gsize len)
{
	GString *out = g_string_sized_new(len);

	for (gsize i = 0; i < len; i++) {
		guint8 c = (guint8)text[i];

		if (c < 0x20 || c > 0x7e)
			g_string_append_printf(out, "\\x%02x", c);
		else
			g_string_append_c(out, (char)c);
	}
	return g_string_free(out, FALSE);
}

/* the text after the keyword and its blanks, raw */
static const char *
after_keyword(const char *line, const char *keyword)
{
	const char *p = line + strspn(line, " \t") + strlen(keyword);

	return p + strspn(p, " \t");
}

static McStep *
parse_line(const char *text, guint lineno, GError **error)
{
	g_autoptr(McStep) step = g_new0(McStep, 1);
	g_autoptr(GArray) tokens = g_array_new(FALSE, TRUE, sizeof(McToken));
	const char *keyword = text + strspn(text, " \t");
	gboolean content =
	    g_str_has_prefix(keyword, "header ") || g_str_has_prefix(keyword, "header\t") ||
	    g_str_has_prefix(keyword, "body ") || g_str_has_prefix(keyword, "body\t");
	McLine line = {.line = text, .tokens = tokens};
	const char *rest;
	gboolean ok;
	guint i;

	g_array_set_clear_func(tokens, (GDestroyNotify)token_clear);
	if (!tokenize(text, !content, tokens, &line.content_end, error))
		return NULL;
	for (i = 0; i < G_N_ELEMENTS(keywords); i++) {
		if (strcmp(token_str(tokens, 0), keywords[i].keyword) == 0)
			break;
	}
	if (i == G_N_ELEMENTS(keywords)) {
		syntax_error(error, "unknown step \"%s\"", token_str(tokens, 0));
		return NULL;
	}
	step->kind = keywords[i].kind;
	step->keyword = keywords[i].keyword;
	step->lineno = lineno;
	rest = after_keyword(text, step->keyword);
	{
		gsize end = content ? strlen(rest)
				    : (line.content_end > (gsize)(rest - text)
					   ? line.content_end - (gsize)(rest - text)
					   : 0);

		while (end > 0 && (rest[end - 1] == ' ' || rest[end - 1] == '\t'))
			end--;
		step->display = display_text(rest, end);
	}
	switch (step->kind) {
	case MC_STEP_CONNECT:
		ok = parse_connect(step, &line, error);
		break;
	case MC_STEP_STARTTLS:
		ok = parse_starttls(step, &line, error);
		break;
	case MC_STEP_AUTH:
		ok = parse_auth(step, &line, error);
		break;
	case MC_STEP_HEADER:
		ok = parse_header(step, rest, error);
		break;
	case MC_STEP_BODY:
		ok = parse_body(step, &line, rest, strcmp(step->keyword, "body-size") == 0, error);
		break;
	case MC_STEP_EXPECT:
		ok = parse_expect(step, &line, error);
		break;
	case MC_STEP_EXPECT_MOD:
	case MC_STEP_EXPECT_NO_MOD:
		ok = parse_expect_mod(step, &line, error);
		break;
	case MC_STEP_EXPECT_MACRO:
	case MC_STEP_EXPECT_NO_MACRO:
		ok = parse_expect_macro(step, &line, error);
		break;
	default:
		ok = parse_simple(step, &line, error);
		break;
	}
	if (!ok)
		return NULL;
	return g_steal_pointer(&step);
}

/* a folded header line: "\n" plus the line, blanks kept */
static void
header_continue(McStep *header, const char *text)
{
	g_autoptr(GBytes) more = decode_text(text, strlen(text));
	GByteArray *value = g_bytes_unref_to_array(g_steal_pointer(&header->data));

	g_byte_array_append(value, (const guint8 *)"\n", 1);
	g_byte_array_append(value, g_bytes_get_data(more, NULL), (guint)g_bytes_get_size(more));
	header->data = bytes_take(value);
}

McScenario *
mc_scenario_parse(const char *path, const char *text, gsize len, GError **error)
{
	g_autoptr(McScenario) scenario = g_new0(McScenario, 1);
	g_autofree char *copy = g_strndup(text, len);
	g_auto(GStrv) lines = NULL;
	McStep *last = NULL;

	scenario->path = g_strdup(path);
	scenario->steps = g_ptr_array_new_with_free_func((GDestroyNotify)step_free);
	if (strlen(copy) != len) {
		g_set_error(error, MC_SCENARIO_ERROR, MC_SCENARIO_ERROR_SYNTAX,
			    "%s: contains a NUL byte (write \\x00 instead)", path);
		return NULL;
	}
	lines = g_strsplit(copy, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		char *line = lines[i];
		gsize n = strlen(line);
		const char *start;
		McStep *step;

		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		start = line + strspn(line, " \t");
		if (*start == '\0')
			continue;
		if (start != line && last != NULL && last->kind == MC_STEP_HEADER &&
		    *start != '#') {
			header_continue(last, line);
			continue;
		}
		if (*start == '#')
			continue;
		step = parse_line(line, i + 1, error);
		if (step == NULL) {
			g_prefix_error(error, "%s:%u: ", path, i + 1);
			return NULL;
		}
		g_ptr_array_add(scenario->steps, step);
		last = step;
	}
	return g_steal_pointer(&scenario);
}

McScenario *
mc_scenario_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;

	g_return_val_if_fail(path != NULL, NULL);

	if (strcmp(path, "-") == 0) {
		g_autoptr(GString) in = g_string_new(NULL);
		char buf[8192];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			g_string_append_len(in, buf, (gssize)n);
		if (ferror(stdin)) {
			g_set_error(error, MC_SCENARIO_ERROR, MC_SCENARIO_ERROR_READ,
				    "standard input: read error");
			return NULL;
		}
		len = in->len;
		text = g_string_free(g_steal_pointer(&in), FALSE);
	} else if (!g_file_get_contents(path, &text, &len, error)) {
		g_prefix_error(error, "%s: ", path);
		return NULL;
	}
	return mc_scenario_parse(path, text, len, error);
}
