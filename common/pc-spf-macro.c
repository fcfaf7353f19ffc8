/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-spf-macro: see pc-spf-macro.h. One reader (macro_next) serves the
 * checker and the expander, so that expansion only ever walks input the
 * checker has accepted token by token.
 */
#include "pc-spf-macro.h"

#include <string.h>

G_DEFINE_QUARK(pc - spf - macro - error - quark, pc_spf_macro_error)

/* the delimiters a macro may name, as bits of MacroToken.delimiters */
static const char macro_delimiters[] = ".-+,/_=";

typedef enum {
	TOKEN_LITERAL, /* a run of macro-literal (and, in explanations, spaces) */
	TOKEN_ESCAPE,  /* "%%", "%_" or "%-" */
	TOKEN_MACRO,   /* "%{" letter transformers *delimiter "}" */
} TokenKind;

typedef struct {
	TokenKind kind;
	const char *start; /* the token's text in the input */
	gsize len;
	char letter;	/* TOKEN_MACRO: lower case */
	gboolean upper; /* the letter was upper case: URL-escape the value */
	guint parts;	/* 0: all */
	gboolean reverse;
	guint delimiters; /* bits over macro_delimiters; 0: "." */
	char escaped;	  /* TOKEN_ESCAPE: '%', '_' or '-' */
} MacroToken;

static gboolean
is_literal(guchar c, PcSpfMacroKind kind)
{
	/* macro-literal = %x21-24 / %x26-7E; an explain-string adds SP */
	if (c == ' ')
		return kind == PC_SPF_MACRO_EXPLAIN;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

static gboolean
letter_allowed(char letter, PcSpfMacroKind kind)
{
	if (strchr("slodiphv", letter) != NULL)
		return TRUE;
	/* RFC 7208 7.2: c, r and t are allowed only in "exp" text */
	return strchr("crt", letter) != NULL && kind != PC_SPF_MACRO_DOMAIN_SPEC;
}

void
pc_spf_macro_quote(GString *out, const char *text, gsize len)
{
	gsize start;
	gsize i;

	g_return_if_fail(out != NULL);
	start = out->len;
	/* at most 64 characters written, whatever the escapes make of the input */
	for (i = 0; i < len && out->len - start < 64; i++) {
		guchar c = (guchar)text[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "\\x%02X", c);
	}
	if (i < len)
		g_string_append(out, "...");
}

static gboolean
syntax_error(GError **error, const char *what, const char *at, gsize len)
{
	g_autoptr(GString) message = g_string_new(what);

	g_string_append(message, " at '");
	pc_spf_macro_quote(message, at, len);
	g_string_append_c(message, '\'');
	g_set_error_literal(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_SYNTAX, message->str);
	return FALSE;
}

/* the part of "%{...}" after the letter: digits, "r", delimiters, "}" */
static gboolean
macro_transformers(const char **cursor, const char *end, MacroToken *token, GError **error)
{
	const char *p = *cursor;
	gboolean have_digits = FALSE;

	while (p < end && g_ascii_isdigit(*p)) {
		/* read digit by digit and kept at the bound: never an overflow */
		token->parts = MIN(token->parts * 10 + (guint)(*p - '0'), PC_SPF_MACRO_MAX_PARTS);
		have_digits = TRUE;
		p++;
	}
	/* RFC 7208 7.3: "If a DIGIT is specified, the value MUST be nonzero" */
	if (have_digits && token->parts == 0)
		return syntax_error(error, "macro part count 0", token->start,
				    (gsize)(end - token->start));
	if (p < end && (*p == 'r' || *p == 'R')) {
		token->reverse = TRUE;
		p++;
	}
	for (; p < end && *p != '}'; p++) {
		const char *delimiter = strchr(macro_delimiters, *p);

		if (*p == '\0' || delimiter == NULL)
			return syntax_error(error, "bad macro transformer or delimiter",
					    token->start, (gsize)(end - token->start));
		token->delimiters |= 1u << (delimiter - macro_delimiters);
	}
	if (p >= end)
		return syntax_error(error, "unterminated macro", token->start,
				    (gsize)(end - token->start));
	*cursor = p + 1;
	return TRUE;
}

/* reads the token at *cursor (< end) and moves past it */
static gboolean
macro_next(const char **cursor, const char *end, PcSpfMacroKind kind, MacroToken *token,
	   GError **error)
{
	const char *p = *cursor;

	memset(token, 0, sizeof(*token));
	token->start = p;
	if (*p != '%') {
		token->kind = TOKEN_LITERAL;
		while (p < end && is_literal((guchar)*p, kind))
			p++;
		if (p == token->start)
			return syntax_error(error, "character not allowed", p, (gsize)(end - p));
		token->len = (gsize)(p - token->start);
		*cursor = p;
		return TRUE;
	}
	if (p + 1 >= end)
		return syntax_error(error, "'%' at the end", p, (gsize)(end - p));
	if (p[1] == '%' || p[1] == '_' || p[1] == '-') {
		token->kind = TOKEN_ESCAPE;
		token->escaped = p[1];
		token->len = 2;
		*cursor = p + 2;
		return TRUE;
	}
	if (p[1] != '{')
		return syntax_error(error, "'%' not followed by '{', '%', '_' or '-'", p,
				    (gsize)(end - p));
	token->kind = TOKEN_MACRO;
	if (p + 2 >= end || !g_ascii_isalpha(p[2]))
		return syntax_error(error, "macro without a letter", p, (gsize)(end - p));
	token->letter = g_ascii_tolower(p[2]);
	token->upper = g_ascii_isupper(p[2]);
	if (!letter_allowed(token->letter, kind))
		return syntax_error(error,
				    kind == PC_SPF_MACRO_DOMAIN_SPEC && strchr("crt", token->letter)
					? "macro letter allowed only in explanations"
					: "unknown macro letter",
				    p, (gsize)(end - p));
	p += 3;
	if (!macro_transformers(&p, end, token, error))
		return FALSE;
	token->len = (gsize)(p - token->start);
	*cursor = p;
	return TRUE;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static gboolean
toplabel_ok(const char *label, gsize len)
{
	gboolean letter_or_dash = FALSE;

	if (len == 0 || !g_ascii_isalnum(label[0]) || !g_ascii_isalnum(label[len - 1]))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(label[i]) && label[i] != '-')
			return FALSE;
		if (!g_ascii_isdigit(label[i]))
			letter_or_dash = TRUE;
	}
	return letter_or_dash;
}

/* domain-end = ( "." toplabel [ "." ] ) inside the last literal run */
static gboolean
domain_end_ok(const char *run, gsize len)
{
	const char *dot;

	if (len > 0 && run[len - 1] == '.')
		len--;
	dot = memrchr(run, '.', len);
	if (dot == NULL)
		return FALSE;
	return toplabel_ok(dot + 1, len - (gsize)(dot + 1 - run));
}

/* the reader over all of text; calls each_token (may be NULL) on every token */
static gboolean
macro_walk(const char *text, gsize len, PcSpfMacroKind kind,
	   gboolean (*each_token)(const MacroToken *token, gpointer data, GError **error),
	   gpointer data, GError **error)
{
	const char *cursor;
	const char *end;
	MacroToken last = {.kind = TOKEN_LITERAL};
	guint tokens = 0;

	/* an empty string may come as NULL */
	if (text == NULL)
		text = "";
	cursor = text;
	end = text + len;

	if (len > PC_SPF_MACRO_MAX_INPUT) {
		g_set_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_TOO_LONG,
			    "macro string of %" G_GSIZE_FORMAT " octets (at most %d)", len,
			    PC_SPF_MACRO_MAX_INPUT);
		return FALSE;
	}
	while (cursor < end) {
		if (!macro_next(&cursor, end, kind, &last, error))
			return FALSE;
		if (each_token != NULL && !each_token(&last, data, error))
			return FALSE;
		tokens++;
	}
	if (kind != PC_SPF_MACRO_DOMAIN_SPEC)
		return TRUE;
	if (tokens == 0) {
		g_set_error_literal(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_SYNTAX,
				    "empty domain-spec");
		return FALSE;
	}
	if (last.kind == TOKEN_LITERAL && !domain_end_ok(last.start, last.len))
		return syntax_error(
		    error, "domain-spec does not end in a macro or a valid top label", text, len);
	return TRUE;
}

gboolean
pc_spf_macro_check(const char *text, gsize len, PcSpfMacroKind kind, GError **error)
{
	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	return macro_walk(text, len, kind, NULL, NULL, error);
}

const char *
pc_spf_macro_ip_dotted(const PcNetAddress *ip, char *buf, gsize buflen)
{
	g_return_val_if_fail(ip != NULL && buf != NULL && buflen >= PC_SPF_MACRO_IP_STRLEN, NULL);
	if (pc_net_address_is_v4(ip)) {
		g_snprintf(buf, buflen, "%u.%u.%u.%u", ip->bytes[12], ip->bytes[13], ip->bytes[14],
			   ip->bytes[15]);
		return buf;
	}
	for (guint i = 0; i < 16; i++) {
		static const char hex[] = "0123456789abcdef";

		buf[i * 4] = hex[ip->bytes[i] >> 4];
		buf[i * 4 + 1] = '.';
		buf[i * 4 + 2] = hex[ip->bytes[i] & 0xf];
		buf[i * 4 + 3] = '.';
	}
	buf[63] = '\0';
	return buf;
}

typedef struct {
	const PcSpfMacroContext *context;
	GString *out;
	char buf[PC_SPF_MACRO_IP_STRLEN];
} Expansion;

/* (transfer none) the value of a letter, valid until the next call */
static const char *
letter_value(Expansion *expansion, char letter)
{
	const PcSpfMacroContext *context = expansion->context;
	const char *value = NULL;

	switch (letter) {
	case 's':
		value = context->sender;
		break;
	case 'l':
		value = context->local_part;
		break;
	case 'o':
		value = context->sender_domain;
		break;
	case 'd':
		value = context->domain;
		break;
	case 'i':
		return pc_spf_macro_ip_dotted(&context->ip, expansion->buf, sizeof(expansion->buf));
	case 'c':
		return pc_net_address_to_string(&context->ip, expansion->buf,
						sizeof(expansion->buf));
	case 'v':
		return pc_net_address_is_v4(&context->ip) ? "in-addr" : "ip6";
	case 'h':
		value = context->helo;
		break;
	case 'p':
		if (context->validated_name != NULL)
			value = context->validated_name(context->validated_name_data);
		return value != NULL ? value : "unknown";
	case 'r':
		return context->receiver != NULL ? context->receiver : "unknown";
	case 't':
		g_snprintf(expansion->buf, sizeof(expansion->buf), "%" G_GINT64_FORMAT,
			   context->timestamp);
		return expansion->buf;
	default:
		g_assert_not_reached();
	}
	return value != NULL ? value : "";
}

static gboolean
is_delimiter(char c, guint delimiters)
{
	const char *delimiter = strchr(macro_delimiters, c);

	if (c == '\0' || delimiter == NULL)
		return FALSE;
	return delimiters == 0 ? c == '.'
			       : (delimiters & (1u << (delimiter - macro_delimiters))) != 0;
}

static void
append_part(GString *out, const char *part, gsize len, gboolean url_escape)
{
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)part[i];

		/* RFC 3986 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
		if (!url_escape || g_ascii_isalnum(c) || (c != '\0' && strchr("-._~", c) != NULL))
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "%%%02X", c);
	}
}

/* RFC 7208 7.3: split on the delimiters, reverse, keep the right-most parts, join with '.' */
static void
append_transformed(GString *out, const char *value, gsize len, const MacroToken *token)
{
	g_autofree gsize *starts = NULL;
	g_autofree gsize *lengths = NULL;
	guint n_parts = 1;
	guint first = 0;
	guint part = 0;

	for (gsize i = 0; i < len; i++)
		n_parts += is_delimiter(value[i], token->delimiters);
	starts = g_new(gsize, n_parts);
	lengths = g_new(gsize, n_parts);
	starts[0] = 0;
	for (gsize i = 0; i <= len; i++) {
		if (i == len || is_delimiter(value[i], token->delimiters)) {
			lengths[part] = i - starts[part];
			if (++part < n_parts)
				starts[part] = i + 1;
		}
	}
	if (token->parts != 0 && token->parts < n_parts)
		first = n_parts - token->parts;
	for (guint i = first; i < n_parts; i++) {
		guint index = token->reverse ? n_parts - 1 - i : i;

		if (i > first)
			g_string_append_c(out, '.');
		append_part(out, value + starts[index], lengths[index], token->upper);
	}
}

static gboolean
expand_token(const MacroToken *token, gpointer data, GError **error)
{
	Expansion *expansion = data;
	const char *value;
	gsize value_len;

	switch (token->kind) {
	case TOKEN_LITERAL:
		g_string_append_len(expansion->out, token->start, (gssize)token->len);
		break;
	case TOKEN_ESCAPE:
		g_string_append(expansion->out, token->escaped == '%'	? "%"
						: token->escaped == '_' ? " "
									: "%20");
		break;
	case TOKEN_MACRO:
		value = letter_value(expansion, token->letter);
		value_len = strnlen(value, PC_SPF_MACRO_MAX_VALUE + 1);
		if (value_len > PC_SPF_MACRO_MAX_VALUE) {
			g_set_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_TOO_LONG,
				    "value of %%{%c} over %d octets", token->letter,
				    PC_SPF_MACRO_MAX_VALUE);
			return FALSE;
		}
		append_transformed(expansion->out, value, value_len, token);
		break;
	}
	if (expansion->out->len > PC_SPF_MACRO_MAX_OUTPUT) {
		g_set_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_TOO_LONG,
			    "expansion over %d octets", PC_SPF_MACRO_MAX_OUTPUT);
		return FALSE;
	}
	return TRUE;
}

char *
pc_spf_macro_expand(const char *text, gsize len, PcSpfMacroKind kind,
		    const PcSpfMacroContext *context, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	Expansion expansion = {.context = context, .out = out};

	g_return_val_if_fail(text != NULL || len == 0, NULL);
	g_return_val_if_fail(context != NULL, NULL);
	g_return_val_if_fail(kind != PC_SPF_MACRO_STRING, NULL);
	/* the checker's own pass first: nothing is expanded that it refuses */
	if (!macro_walk(text, len, kind, NULL, NULL, error))
		return NULL;
	if (!macro_walk(text, len, kind, expand_token, &expansion, error))
		return NULL;
	return g_string_free(g_steal_pointer(&out), FALSE);
}
