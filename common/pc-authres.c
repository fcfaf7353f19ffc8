/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-authres: Authentication-Results (RFC 8601), see pc-authres.h.
 *
 * The parser is a cursor over the value with one helper per grammar rule
 * of RFC 8601 section 2.2. It is as lenient as readers downstream are where
 * that cannot change what a header claims (a trailing ';', an empty
 * property value, 8-bit text), and strict about structure: every entry is
 * "method=result", every property "ptype.property=value".
 */
#include "pc-authres.h"

#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(pc - authres - error - quark, pc_authres_error)

/*
 * --- objects ---
 */

static void
property_free(gpointer data)
{
	PcAuthResProperty *property = data;

	g_free(property->ptype);
	g_free(property->property);
	g_free(property->value);
	g_free(property);
}

static void
result_free(gpointer data)
{
	PcAuthResResult *result = data;

	g_free(result->method);
	g_free(result->result);
	g_free(result->reason);
	g_free(result->comment);
	g_ptr_array_unref(result->properties);
	g_free(result);
}

static PcAuthResResult *
result_new(char *method, char *result)
{
	PcAuthResResult *entry = g_new0(PcAuthResResult, 1);

	entry->method = method;
	entry->result = result;
	entry->properties = g_ptr_array_new_with_free_func(property_free);
	return entry;
}

static PcAuthRes *
authres_new_owned(char *authserv_id)
{
	PcAuthRes *authres = g_new0(PcAuthRes, 1);

	authres->authserv_id = authserv_id;
	authres->version = 1;
	authres->results = g_ptr_array_new_with_free_func(result_free);
	return authres;
}

PcAuthRes *
pc_authres_new(const char *authserv_id)
{
	g_return_val_if_fail(authserv_id != NULL, NULL);
	return authres_new_owned(g_strdup(authserv_id));
}

void
pc_authres_free(PcAuthRes *authres)
{
	if (authres == NULL)
		return;
	g_free(authres->authserv_id);
	g_ptr_array_unref(authres->results);
	g_free(authres);
}

static gboolean
is_keyword(const char *text)
{
	if (text == NULL || !g_ascii_isalnum(text[0]))
		return FALSE;
	for (const char *p = text; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-')
			return FALSE;
	}
	return TRUE;
}

PcAuthResResult *
pc_authres_add_result(PcAuthRes *authres, const char *method, const char *result)
{
	PcAuthResResult *entry;

	g_return_val_if_fail(authres != NULL, NULL);
	g_return_val_if_fail(is_keyword(method) && is_keyword(result), NULL);
	g_return_val_if_fail(authres->results->len < PC_AUTHRES_MAX_RESULTS, NULL);
	entry = result_new(g_ascii_strdown(method, -1), g_ascii_strdown(result, -1));
	g_ptr_array_add(authres->results, entry);
	return entry;
}

void
pc_authres_set_reason(PcAuthResResult *result, const char *reason)
{
	g_return_if_fail(result != NULL && reason != NULL);
	g_free(result->reason);
	result->reason = g_strdup(reason);
}

void
pc_authres_set_comment(PcAuthResResult *result, const char *comment)
{
	GString *kept = g_string_new(NULL);

	g_return_if_fail(result != NULL && comment != NULL);
	for (const char *p = comment; *p != '\0' && kept->len < 200; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '(' && *p != ')' && *p != '\\')
			g_string_append_c(kept, *p);
	}
	g_free(result->comment);
	result->comment = g_string_free(kept, FALSE);
}

void
pc_authres_add_property(PcAuthResResult *result, const char *ptype, const char *property,
			const char *value)
{
	PcAuthResProperty *entry;

	g_return_if_fail(result != NULL && value != NULL);
	g_return_if_fail(is_keyword(ptype) && is_keyword(property));
	entry = g_new0(PcAuthResProperty, 1);
	entry->ptype = g_ascii_strdown(ptype, -1);
	entry->property = g_ascii_strdown(property, -1);
	entry->value = g_strdup(value);
	g_ptr_array_add(result->properties, entry);
}

/*
 * --- writing ---
 */

/* RFC 2045 token characters; 8-bit (UTF-8, RFC 6532) is allowed too */
static gboolean
is_token_octet(guchar octet)
{
	if (octet >= 0x80)
		return TRUE;
	return octet > 0x20 && octet < 0x7f && strchr("()<>@,;:\\\"/[]?=", octet) == NULL;
}

static gboolean
is_atext_octet(guchar octet)
{
	return octet >= 0x80 || g_ascii_isalnum(octet) || strchr("!#$%&'*+-/=?^_`{|}~", octet);
}

/* a domain name: LDH labels (or 8-bit ones) separated by single dots */
static gboolean
is_domain(const char *text, gsize len)
{
	gsize label = 0;

	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guchar octet = (guchar)text[i];

		if (octet == '.') {
			if (label == 0)
				return FALSE;
			label = 0;
		} else if (g_ascii_isalnum(octet) || octet == '-' || octet >= 0x80) {
			label++;
		} else {
			return FALSE;
		}
	}
	return label > 0;
}

/* a dot-atom local part */
static gboolean
is_dot_atom(const char *text, gsize len)
{
	gboolean after_dot = TRUE;

	for (gsize i = 0; i < len; i++) {
		if (text[i] == '.') {
			if (after_dot)
				return FALSE;
			after_dot = TRUE;
		} else if (is_atext_octet((guchar)text[i])) {
			after_dot = FALSE;
		} else {
			return FALSE;
		}
	}
	return !after_dot;
}

/*
 * RFC 8601 value without quotes: a token; with @pvalue (a property's), also
 * [[local-part] "@"] domain-name
 */
static gboolean
is_bare_value(const char *text, gboolean pvalue)
{
	gsize len = strlen(text);
	const char *at;
	gboolean token = len > 0;

	for (gsize i = 0; i < len && token; i++)
		token = is_token_octet((guchar)text[i]);
	if (token)
		return TRUE;
	if (!pvalue)
		return FALSE;
	at = strrchr(text, '@');
	if (at == NULL)
		return is_domain(text, len);
	return (at == text || is_dot_atom(text, (gsize)(at - text))) &&
	       is_domain(at + 1, len - (gsize)(at - text) - 1);
}

/*
 * the value as RFC 8601 allows it: bare when it can be, else a quoted
 * string. Control characters and invalid UTF-8 are dropped (no CR, LF or
 * NUL can reach the header), and the text is cut at PC_AUTHRES_MAX_VALUE
 * octets on a character boundary.
 */
static void
append_value(GString *out, const char *value, gboolean pvalue)
{
	g_autofree char *valid = g_utf8_make_valid(value, -1);
	g_autoptr(GString) clean = g_string_new(NULL);

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		const char *next = g_utf8_next_char(p);

		if ((guchar)*p < 0x20 || *p == 0x7f)
			continue;
		/* U+FFFD stands for what g_utf8_make_valid() replaced: drop it too */
		if (g_utf8_get_char(p) == 0xfffd)
			continue;
		if (clean->len + (gsize)(next - p) > PC_AUTHRES_MAX_VALUE)
			break;
		g_string_append_len(clean, p, next - p);
	}
	if (is_bare_value(clean->str, pvalue)) {
		g_string_append(out, clean->str);
		return;
	}
	g_string_append_c(out, '"');
	for (const char *p = clean->str; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c(out, '\\');
		g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

char *
pc_authres_format(const PcAuthRes *authres)
{
	GString *out = g_string_new(NULL);

	g_return_val_if_fail(authres != NULL, NULL);
	append_value(out, authres->authserv_id, FALSE);
	if (authres->results->len == 0) {
		g_string_append(out, "; none");
		return g_string_free(out, FALSE);
	}
	for (guint i = 0; i < authres->results->len; i++) {
		const PcAuthResResult *entry = authres->results->pdata[i];

		g_string_append_printf(out, ";\n\t%s=%s", entry->method, entry->result);
		if (entry->comment != NULL && entry->comment[0] != '\0')
			g_string_append_printf(out, " (%s)", entry->comment);
		if (entry->reason != NULL) {
			g_string_append(out, " reason=");
			append_value(out, entry->reason, FALSE);
		}
		for (guint j = 0; j < entry->properties->len; j++) {
			const PcAuthResProperty *property = entry->properties->pdata[j];

			g_string_append_printf(out, " %s.%s=", property->ptype, property->property);
			append_value(out, property->value, TRUE);
		}
	}
	return g_string_free(out, FALSE);
}

/*
 * --- reading ---
 */

typedef struct {
	const char *text;
	gsize len;
	gsize pos;
	GError **error;
} Scan;

static gboolean G_GNUC_PRINTF(3, 4)
    scan_fail(Scan *scan, PcAuthResError code, const char *format, ...)
{
	va_list args;
	g_autofree char *message = NULL;

	if (scan->error == NULL)
		return FALSE;
	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(scan->error, PC_AUTHRES_ERROR, code, "%s at offset %" G_GSIZE_FORMAT, message,
		    scan->pos);
	return FALSE;
}

static gboolean
scan_at_end(const Scan *scan)
{
	return scan->pos >= scan->len;
}

static char
scan_peek(const Scan *scan)
{
	return scan_at_end(scan) ? '\0' : scan->text[scan->pos];
}

/* [CFWS]: blanks, folding and comments (nested, with quoted pairs) */
static gboolean
scan_cfws(Scan *scan)
{
	while (!scan_at_end(scan)) {
		char c = scan->text[scan->pos];
		guint depth = 0;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			scan->pos++;
			continue;
		}
		if (c != '(')
			return TRUE;
		do {
			c = scan->text[scan->pos++];
			if (c == '\\') {
				scan->pos++;
			} else if (c == '(') {
				if (++depth > PC_AUTHRES_MAX_COMMENT_DEPTH)
					return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX,
							 "comments nested too deep");
			} else if (c == ')') {
				depth--;
			}
		} while (depth > 0 && !scan_at_end(scan));
		if (depth > 0)
			return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "comment not closed");
	}
	return TRUE;
}

/* a quoted string at scan->pos, dequoted into out */
static gboolean
scan_quoted(Scan *scan, GString *out)
{
	scan->pos++;
	while (!scan_at_end(scan)) {
		char c = scan->text[scan->pos++];

		if (c == '"')
			return TRUE;
		if (c == '\\') {
			if (scan_at_end(scan))
				break;
			c = scan->text[scan->pos++];
		}
		if (c == '\0')
			return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "NUL in a quoted string");
		if (out->len >= PC_AUTHRES_MAX_VALUE)
			return scan_fail(scan, PC_AUTHRES_ERROR_TOO_LONG, "value over %d octets",
					 PC_AUTHRES_MAX_VALUE);
		g_string_append_c(out, c);
	}
	return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "quoted string not closed");
}

/*
 * a value: a quoted string, or a run of octets that may stand unquoted.
 * With @pvalue, the run is a property value's, which may also hold '@',
 * '/', '=', '.', ':' (addr-specs, base64, as writers use them).
 */
static gboolean
scan_value(Scan *scan, gboolean pvalue, char **out)
{
	g_autoptr(GString) value = g_string_new(NULL);

	if (scan_peek(scan) == '"') {
		gsize start = scan->pos;

		if (!scan_quoted(scan, value))
			return FALSE;
		/* a quoted local part: the address is kept as written */
		if (pvalue && scan_peek(scan) == '@') {
			scan->pos++;
			while (!scan_at_end(scan) && is_token_octet((guchar)scan->text[scan->pos]))
				scan->pos++;
			g_string_assign(value, "");
			g_string_append_len(value, scan->text + start, scan->pos - start);
			if (value->len > PC_AUTHRES_MAX_VALUE)
				return scan_fail(scan, PC_AUTHRES_ERROR_TOO_LONG,
						 "value over %d octets", PC_AUTHRES_MAX_VALUE);
		}
	} else {
		while (!scan_at_end(scan)) {
			guchar c = (guchar)scan->text[scan->pos];

			if (!(is_token_octet(c) ||
			      (pvalue && c > 0x20 && c < 0x7f && strchr("@/=.:?[]<>,", c) != NULL)))
				break;
			if (value->len >= PC_AUTHRES_MAX_VALUE)
				return scan_fail(scan, PC_AUTHRES_ERROR_TOO_LONG,
						 "value over %d octets", PC_AUTHRES_MAX_VALUE);
			g_string_append_c(value, (char)c);
			scan->pos++;
		}
		if (value->len == 0 && !pvalue)
			return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "value expected");
	}
	*out = g_string_free(g_steal_pointer(&value), FALSE);
	return TRUE;
}

/* Keyword (RFC 5321 Ldh-str), lowercased; NULL without error when absent */
static char *
scan_keyword(Scan *scan)
{
	gsize start = scan->pos;

	if (scan_at_end(scan) || !g_ascii_isalnum(scan->text[scan->pos]))
		return NULL;
	while (!scan_at_end(scan) &&
	       (g_ascii_isalnum(scan->text[scan->pos]) || scan->text[scan->pos] == '-') &&
	       scan->pos - start < PC_AUTHRES_MAX_VALUE)
		scan->pos++;
	return g_ascii_strdown(scan->text + start, (gssize)(scan->pos - start));
}

static gboolean
scan_expect(Scan *scan, char c, const char *what)
{
	if (!scan_cfws(scan))
		return FALSE;
	if (scan_peek(scan) != c)
		return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "'%c' expected %s", c, what);
	scan->pos++;
	return scan_cfws(scan);
}

/* "method[/version]=result" */
static PcAuthResResult *
scan_methodspec(Scan *scan)
{
	g_autofree char *method = scan_keyword(scan);
	g_autofree char *result = NULL;

	if (method == NULL) {
		scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "method expected");
		return NULL;
	}
	if (!scan_cfws(scan))
		return NULL;
	if (scan_peek(scan) == '/') {
		scan->pos++;
		if (!scan_cfws(scan))
			return NULL;
		if (!g_ascii_isdigit(scan_peek(scan))) {
			scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "method version expected");
			return NULL;
		}
		while (g_ascii_isdigit(scan_peek(scan)))
			scan->pos++;
	}
	if (!scan_expect(scan, '=', "after the method"))
		return NULL;
	result = scan_keyword(scan);
	if (result == NULL) {
		scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "result expected");
		return NULL;
	}
	return result_new(g_steal_pointer(&method), g_steal_pointer(&result));
}

/* [reasonspec] *propspec, up to the next ';' or the end */
static gboolean
scan_resinfo_tail(Scan *scan, PcAuthResResult *entry)
{
	for (;;) {
		g_autofree char *ptype = NULL;
		g_autofree char *property = NULL;
		g_autofree char *value = NULL;
		PcAuthResProperty *prop;
		gsize start;

		if (!scan_cfws(scan))
			return FALSE;
		if (scan_at_end(scan) || scan_peek(scan) == ';')
			return TRUE;
		start = scan->pos;
		ptype = scan_keyword(scan);
		if (ptype == NULL)
			return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "property expected");
		if (!scan_cfws(scan))
			return FALSE;
		if (strcmp(ptype, "reason") == 0 && scan_peek(scan) == '=' &&
		    entry->reason == NULL && entry->properties->len == 0) {
			scan->pos++;
			if (!scan_cfws(scan) || !scan_value(scan, FALSE, &entry->reason))
				return FALSE;
			continue;
		}
		scan->pos = start + strlen(ptype);
		if (!scan_expect(scan, '.', "in a property"))
			return FALSE;
		property = scan_keyword(scan);
		if (property == NULL)
			return scan_fail(scan, PC_AUTHRES_ERROR_SYNTAX, "property name expected");
		if (!scan_expect(scan, '=', "after a property name"))
			return FALSE;
		if (!scan_value(scan, TRUE, &value))
			return FALSE;
		if (entry->properties->len >= PC_AUTHRES_MAX_PROPERTIES)
			return scan_fail(scan, PC_AUTHRES_ERROR_TOO_LONG, "more than %d properties",
					 PC_AUTHRES_MAX_PROPERTIES);
		prop = g_new0(PcAuthResProperty, 1);
		prop->ptype = g_steal_pointer(&ptype);
		prop->property = g_steal_pointer(&property);
		prop->value = g_steal_pointer(&value);
		g_ptr_array_add(entry->properties, prop);
	}
}

/* [CFWS] authserv-id [CFWS [version [CFWS]]] */
static char *
scan_authserv_id(Scan *scan)
{
	char *id = NULL;

	if (!scan_cfws(scan) || !scan_value(scan, FALSE, &id))
		return NULL;
	return id;
}

gboolean
pc_authres_parse(const char *value, gsize len, PcAuthRes **out, GError **error)
{
	Scan scan = {.text = value, .len = len, .error = error};
	g_autoptr(PcAuthRes) authres = NULL;
	char *id;

	g_return_val_if_fail(value != NULL || len == 0, FALSE);
	g_return_val_if_fail(out != NULL, FALSE);
	if (len > PC_AUTHRES_MAX_HEADER)
		return scan_fail(&scan, PC_AUTHRES_ERROR_TOO_LONG, "header over %d octets",
				 PC_AUTHRES_MAX_HEADER);
	if (memchr(value, '\0', len) != NULL)
		return scan_fail(&scan, PC_AUTHRES_ERROR_SYNTAX, "NUL in the header");
	id = scan_authserv_id(&scan);
	if (id == NULL)
		return FALSE;
	authres = authres_new_owned(id);
	if (!scan_cfws(&scan))
		return FALSE;
	if (g_ascii_isdigit(scan_peek(&scan))) {
		guint64 version = 0;

		while (g_ascii_isdigit(scan_peek(&scan)) && version < 1000000)
			version = version * 10 + (guint64)(scan.text[scan.pos++] - '0');
		if (version == 0 || version >= 1000000)
			return scan_fail(&scan, PC_AUTHRES_ERROR_SYNTAX, "invalid version");
		authres->version = (guint)version;
	}
	if (!scan_expect(&scan, ';', "after the authserv-id"))
		return FALSE;
	for (;;) {
		g_autofree char *none = NULL;
		PcAuthResResult *entry;
		gsize start = scan.pos;

		/* a trailing ';' is tolerated */
		if (scan_at_end(&scan))
			break;
		none = scan_keyword(&scan);
		if (none != NULL && strcmp(none, "none") == 0 && authres->results->len == 0) {
			if (!scan_cfws(&scan))
				return FALSE;
			if (scan_at_end(&scan))
				break;
		}
		scan.pos = start;
		entry = scan_methodspec(&scan);
		if (entry == NULL)
			return FALSE;
		if (authres->results->len >= PC_AUTHRES_MAX_RESULTS) {
			result_free(entry);
			return scan_fail(&scan, PC_AUTHRES_ERROR_TOO_LONG, "more than %d results",
					 PC_AUTHRES_MAX_RESULTS);
		}
		g_ptr_array_add(authres->results, entry);
		if (!scan_resinfo_tail(&scan, entry))
			return FALSE;
		if (scan_at_end(&scan))
			break;
		scan.pos++; /* the ';' */
		if (!scan_cfws(&scan))
			return FALSE;
	}
	*out = g_steal_pointer(&authres);
	return TRUE;
}

char *
pc_authres_authserv_id(const char *value, gsize len)
{
	Scan scan = {.text = value, .len = MIN(len, PC_AUTHRES_MAX_HEADER)};

	g_return_val_if_fail(value != NULL || len == 0, NULL);
	if (memchr(value, '\0', scan.len) != NULL)
		return NULL;
	return scan_authserv_id(&scan);
}

/* ASCII case-insensitive, one trailing dot ignored on either side */
static gboolean
same_id(const char *a, const char *b)
{
	gsize la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && g_ascii_strncasecmp(a, b, la) == 0;
}

/*
 * what a careless reader takes for the id of a header whose id does not
 * parse ("\"mx.example.com; ..." with the quote never closed): the text
 * after blanks, comments and an opening quote, up to a blank, quote, ';'
 * or comment
 */
static char *
lenient_id(const char *value, gsize len)
{
	Scan scan = {.text = value, .len = MIN(len, PC_AUTHRES_MAX_HEADER)};
	gsize start;

	if (!scan_cfws(&scan))
		return NULL;
	if (scan_peek(&scan) == '"')
		scan.pos++;
	start = scan.pos;
	while (!scan_at_end(&scan) && strchr("\"; \t\r\n(", scan.text[scan.pos]) == NULL &&
	       scan.text[scan.pos] != '\0' && scan.pos - start < PC_AUTHRES_MAX_VALUE)
		scan.pos++;
	return scan.pos > start ? g_strndup(value + start, scan.pos - start) : NULL;
}

static gboolean
id_in(const char *id, const char *const *ids)
{
	if (id == NULL)
		return FALSE;
	for (const char *const *p = ids; *p != NULL; p++) {
		if (same_id(id, *p))
			return TRUE;
	}
	return FALSE;
}

gboolean
pc_authres_is_ours(const char *value, gsize len, const char *const *ids)
{
	g_autofree char *id = NULL;
	g_autofree char *loose = NULL;

	g_return_val_if_fail(value != NULL || len == 0, FALSE);
	if (ids == NULL)
		return FALSE;
	id = pc_authres_authserv_id(value, len);
	if (id_in(id, ids))
		return TRUE;
	/* a forgery need not parse to fool a reader: the loose reading counts too */
	loose = lenient_id(value, len);
	return id_in(loose, ids);
}
