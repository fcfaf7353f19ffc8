/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-addr: RFC 5321 envelope paths as the MTA hands them over.
 *
 * The parser is lenient where Postfix and Sendmail are (no brackets, 8-bit
 * octets, dots anywhere in the local part, '@' in the local part) because
 * refusing what the MTA already accepted would only hide it from policy; the
 * forms that route mail somewhere other than the final domain are recognised
 * and flagged instead. It is strict where leniency would let two readers
 * disagree about the address: NUL and control bytes, stray quotes, empty
 * labels, lengths. Errors never quote the input: it is hostile and the
 * caller logs it, escaped, if it wants to.
 * RFC 5322 address lists (header values) share the domain and local-part
 * checks; their own tokenizer and parser are at the end of this file.
 * Caseless forms of local parts, logins and domains (SMTPUTF8) are here too.
 * Not here: IDNA, decoding RFC 2047 words, deciding what is local.
 */
#include "pc-addr.h"

#include <stdarg.h>
#include <string.h>

#include <glib.h>

#include "pc-net.h"

G_DEFINE_QUARK(pc - addr - error - quark, pc_addr_error)

void
pc_address_free(PcAddress *address)
{
	if (address == NULL)
		return;
	g_free(address->local);
	g_free(address->domain);
	g_free(address->route);
	g_free(address);
}

static gboolean G_GNUC_PRINTF(3, 4)
    addr_fail(GError **error, PcAddrError code, const char *format, ...)
{
	va_list args;

	/* pc_addr_normalize_domain() passes NULL: skip building a message nobody reads */
	if (error == NULL)
		return FALSE;
	va_start(args, format);
	g_propagate_error(error, g_error_new_valist(PC_ADDR_ERROR, code, format, args));
	va_end(args);
	return FALSE;
}

/* the offending octet for an error message: itself when printable, else hex */
static gboolean
addr_fail_octet(GError **error, guchar octet, const char *where)
{
	if (octet > 0x20 && octet < 0x7f)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid character '%c' in %s", octet,
				 where);
	if (octet == ' ')
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "space in %s", where);
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid octet 0x%02x in %s", octet, where);
}

/*
 * --- domains ---
 */

/*
 * an IPv4 address literal's inside ("127.000.000.001") in the spelling
 * inet_pton takes ("127.0.0.1"), as (transfer full) text; NULL when it is not
 * four Snum (1*3DIGIT, at most 255). A leading zero is taken only where its
 * octal reading (Sendmail's inet_addr) equals the decimal one (RFC 5321):
 * "010" is 10 to one and 8 to the other, a destination the MTAs disagree on
 */
static char *
addr_ipv4_literal_canonical(const char *text, gsize len)
{
	guint octets[4];
	guint n = 0;
	gsize i = 0;

	while (n < 4) {
		gsize start = i;
		guint value = 0;

		while (i < len && g_ascii_isdigit(text[i]) && i - start < 3)
			value = value * 10 + (guint)(text[i++] - '0');
		if (i == start || value > 255)
			return NULL;
		if (i - start > 1 && text[start] == '0' && value > 7)
			return NULL;
		octets[n++] = value;
		if (n < 4) {
			if (i >= len || text[i] != '.')
				return NULL;
			i++;
		}
	}
	if (i != len)
		return NULL;
	return g_strdup_printf("[%u.%u.%u.%u]", octets[0], octets[1], octets[2], octets[3]);
}

/* "[192.0.2.1]" or "[IPv6:...]"; returns the spelling two equal addresses share */
static gboolean
addr_parse_literal(const char *text, gsize len, char **domain_out, PcAddrFlags *flags,
		   GError **error)
{
	g_autofree char *literal = NULL;
	char buf[PC_NET_ADDRESS_STRLEN];
	PcNetAddress address;
	gboolean tagged;

	if (len < 2 || text[len - 1] != ']')
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "address literal not closed by ']'");
	/* g_strndup below would stop at a NUL and validate only the prefix */
	if (memchr(text, '\0', len) != NULL)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "NUL byte in address");
	tagged = len >= 7 && g_ascii_strncasecmp(text + 1, "IPv6:", 5) == 0;
	/* RFC 5321 4.1.3 wants the tag; an untagged IPv6 literal is not one */
	if (!tagged && memchr(text, ':', len) != NULL)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
				 "address literal without 'IPv6:' tag");
	if (!tagged) {
		/* RFC 5321 Snum allows leading zeros, which inet_pton refuses */
		literal = addr_ipv4_literal_canonical(text + 1, len - 2);
		if (literal == NULL)
			return addr_fail(
			    error, PC_ADDR_ERROR_SYNTAX,
			    "invalid address literal (octet over 255, or ambiguous 0)");
		if (strlen(literal) != len)
			*flags |= PC_ADDR_FLAG_LEADING_ZERO;
	} else {
		literal = g_strndup(text, len);
	}
	if (!pc_net_address_parse(literal, &address))
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid address literal");

	/*
	 * [IPv6:::ffff:192.0.2.1] is the same client as [192.0.2.1] for pc-net,
	 * so it gets the same spelling here
	 */
	pc_net_address_to_string(&address, buf, sizeof(buf));
	/* ... but it is not the same destination for every MTA: say it was mapped */
	if (tagged && pc_net_address_is_v4(&address))
		*flags |= PC_ADDR_FLAG_V4_MAPPED;
	if (pc_net_address_is_v4(&address))
		*domain_out = g_strdup_printf("[%s]", buf);
	else
		*domain_out = g_strdup_printf("[ipv6:%s]", buf);
	return TRUE;
}

static gboolean
addr_is_label_octet(guchar octet)
{
	/* '_' is not RFC 1035 but real (DKIM selectors, SRV-style names in MX data) */
	return g_ascii_isalnum(octet) || octet == '-' || octet == '_' || octet >= 0x80;
}

/* len excludes the one trailing dot the caller already removed */
static gboolean
addr_parse_hostname(const char *text, gsize len, char **domain_out, PcAddrFlags *flags,
		    GError **error)
{
	gsize label_start = 0;

	for (gsize i = 0; i <= len; i++) {
		guchar octet = i < len ? (guchar)text[i] : '.';
		gsize label_len = i - label_start;

		if (octet != '.') {
			if (!addr_is_label_octet(octet))
				return addr_fail_octet(error, octet, "domain");
			if (octet >= 0x80)
				*flags |= PC_ADDR_FLAG_UTF8;
			continue;
		}
		if (label_len == 0)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty label in domain");
		if (label_len > PC_ADDR_MAX_LABEL)
			return addr_fail(error, PC_ADDR_ERROR_TOO_LONG,
					 "domain label is %" G_GSIZE_FORMAT " octets, limit %d",
					 label_len, PC_ADDR_MAX_LABEL);
		label_start = i + 1;
	}
	*domain_out = g_ascii_strdown(text, (gssize)len);
	return TRUE;
}

/*
 * domain_out may be NULL (source route hops are only validated). The limit
 * applies to the name without its trailing dot, which names the same domain.
 */
static gboolean
addr_parse_domain(const char *text, gsize len, char **domain_out, PcAddrFlags *flags,
		  GError **error)
{
	g_autofree char *domain = NULL;
	PcAddrFlags domain_flags = PC_ADDR_FLAG_NONE;
	gsize name_len = len;

	if (len == 0)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty domain");
	if (text[len - 1] == '.' && text[0] != '[') {
		domain_flags |= PC_ADDR_FLAG_TRAILING_DOT;
		name_len--;
	}
	if (name_len > PC_ADDR_MAX_DOMAIN)
		return addr_fail(error, PC_ADDR_ERROR_TOO_LONG,
				 "domain is %" G_GSIZE_FORMAT " octets, limit %d", name_len,
				 PC_ADDR_MAX_DOMAIN);
	if (text[0] == '[') {
		if (!addr_parse_literal(text, len, &domain, &domain_flags, error))
			return FALSE;
		domain_flags |= PC_ADDR_FLAG_IP_LITERAL;
	} else if (name_len == 0) {
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty domain");
	} else if (!addr_parse_hostname(text, name_len, &domain, &domain_flags, error)) {
		return FALSE;
	}
	*flags |= domain_flags;
	if (domain_out != NULL)
		*domain_out = g_steal_pointer(&domain);
	return TRUE;
}

char *
pc_addr_normalize_domain(const char *domain, gsize len)
{
	PcAddrFlags flags = PC_ADDR_FLAG_NONE;
	char *normalized = NULL;

	g_return_val_if_fail(domain != NULL || len == 0, NULL);

	/* the hostname check refuses NUL and controls octet by octet; literals check NUL */
	if (len == 0 || !addr_parse_domain(domain, len, &normalized, &flags, NULL))
		return NULL;
	return normalized;
}

/*
 * --- caseless forms ---
 */

/*
 * NFD first, then the mapping, then NFC: canonical caseless matching
 * (Unicode 3.13, D145) with the composed form kept, because it is the one
 * RFC 6532 asks mail to use and the one logs and keys stay readable in.
 * Normalising is ours: Postfix folds without it, so there two canonically
 * equivalent spellings are two keys; here they are one, which only ever
 * joins spellings that display alike.
 */
static gboolean
addr_fold_input_ok(const char *text, gsize len)
{
	return (text != NULL || len == 0) && len <= PC_ADDR_MAX_FOLD &&
	       memchr(text != NULL ? text : "", '\0', len) == NULL;
}

static gboolean
addr_is_ascii(const char *text, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if ((guchar)text[i] >= 0x80)
			return FALSE;
	}
	return TRUE;
}

char *
pc_addr_fold_local(const char *text, gsize len)
{
	g_autofree char *decomposed = NULL;
	g_autofree char *folded = NULL;

	if (!addr_fold_input_ok(text, len))
		return NULL;
	if (addr_is_ascii(text, len) || !g_utf8_validate_len(text, len, NULL))
		return g_ascii_strdown(text != NULL ? text : "", (gssize)len);
	decomposed = g_utf8_normalize(text, (gssize)len, G_NORMALIZE_NFD);
	folded = g_utf8_casefold(decomposed, -1);
	return g_utf8_normalize(folded, -1, G_NORMALIZE_NFC);
}

char *
pc_addr_fold_domain(const char *domain, gsize len)
{
	g_autofree char *decomposed = NULL;
	g_autoptr(GString) lower = NULL;

	if (!addr_fold_input_ok(domain, len))
		return NULL;
	if (addr_is_ascii(domain, len) || !g_utf8_validate_len(domain, len, NULL))
		return g_ascii_strdown(domain != NULL ? domain : "", (gssize)len);
	decomposed = g_utf8_normalize(domain, (gssize)len, G_NORMALIZE_NFD);
	lower = g_string_sized_new(strlen(decomposed));
	for (const char *p = decomposed; *p != '\0'; p = g_utf8_next_char(p))
		g_string_append_unichar(lower, g_unichar_tolower(g_utf8_get_char(p)));
	return g_utf8_normalize(lower->str, (gssize)lower->len, G_NORMALIZE_NFC);
}

/*
 * --- local parts ---
 */

/*
 * the routing tricks: Postfix and Sendmail act on the dequoted local part,
 * so "user%host"@example.com is as much a relay attempt as user%host@...
 */
static PcAddrFlags
addr_local_flags(const char *local, gsize len)
{
	PcAddrFlags flags = PC_ADDR_FLAG_NONE;

	for (gsize i = 0; i < len; i++) {
		switch (local[i]) {
		case '@':
			flags |= PC_ADDR_FLAG_LOCAL_AT;
			break;
		case '%':
			flags |= PC_ADDR_FLAG_PERCENT;
			break;
		case '!':
			flags |= PC_ADDR_FLAG_BANG;
			break;
		default:
			if ((guchar)local[i] >= 0x80)
				flags |= PC_ADDR_FLAG_UTF8;
			break;
		}
	}
	return flags;
}

/*
 * RFC 5322 specials and space, minus '.', which MTAs accept anywhere
 * ("john..doe" exists), and '@', which the caller has split off at the last
 * one and flags
 */
static gboolean
addr_check_unquoted_local(const char *text, gsize len, GError **error)
{
	if (len == 0)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty local part");
	for (gsize i = 0; i < len; i++) {
		guchar octet = (guchar)text[i];

		if (octet == '"')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "quote inside an unquoted local part");
		if (octet <= ' ' || octet == 0x7f || strchr("(),:;<>[\\]", octet) != NULL)
			return addr_fail_octet(error, octet, "local part");
	}
	return TRUE;
}

/*
 * text starts at the opening quote. Writes the dequoted octets and the
 * offset just past the closing quote.
 */
static gboolean
addr_parse_quoted_local(const char *text, gsize len, char **local_out, gsize *end_out,
			GError **error)
{
	g_autoptr(GString) local = g_string_sized_new(len);

	for (gsize i = 1; i < len; i++) {
		if (text[i] == '"') {
			*end_out = i + 1;
			*local_out = g_string_free(g_steal_pointer(&local), FALSE);
			return TRUE;
		}
		if (text[i] == '\\' && ++i == len)
			break;
		g_string_append_c(local, text[i]);
	}
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "unbalanced quote in local part");
}

/*
 * --- the path ---
 */

/* "local@domain" or "local" after any source route */
static gboolean
addr_parse_mailbox(const char *text, gsize len, PcAddress *address, GError **error)
{
	g_autofree char *local = NULL;
	gsize local_len = 0;

	if (text[0] == '"') {
		if (!addr_parse_quoted_local(text, len, &local, &local_len, error))
			return FALSE;
		if (local_len < len && text[local_len] != '@')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "bytes after the quoted local part");
		address->flags |= PC_ADDR_FLAG_QUOTED;
	} else {
		/* user@outside.test@example.com goes to example.com, as in the MTAs */
		const char *at = memrchr(text, '@', len);

		local_len = at != NULL ? (gsize)(at - text) : len;
		if (local_len <= PC_ADDR_MAX_LOCAL &&
		    !addr_check_unquoted_local(text, local_len, error))
			return FALSE;
		local = g_strndup(text, local_len);
	}
	/* the limit is on the local part as transmitted, quotes and backslashes included */
	if (local_len > PC_ADDR_MAX_LOCAL)
		return addr_fail(error, PC_ADDR_ERROR_TOO_LONG,
				 "local part is %" G_GSIZE_FORMAT " octets, limit %d", local_len,
				 PC_ADDR_MAX_LOCAL);
	address->flags |= addr_local_flags(local, strlen(local));

	if (local_len == len) {
		address->flags |= PC_ADDR_FLAG_NO_DOMAIN;
		address->domain = g_strdup("");
	} else if (!addr_parse_domain(text + local_len + 1, len - local_len - 1, &address->domain,
				      &address->flags, error)) {
		return FALSE;
	}
	address->local = g_steal_pointer(&local);
	return TRUE;
}

/*
 * "@a.test,@b.test:" in front of the mailbox. Each hop is validated like a
 * domain but the route is kept as given: it is evidence, not an address to
 * use. Writes the offset of the ':'.
 */
static gboolean
addr_parse_route(const char *text, gsize len, gsize *colon_out, PcAddrFlags *flags, GError **error)
{
	gsize pos = 0;

	for (;;) {
		PcAddrFlags hop_flags = PC_ADDR_FLAG_NONE;
		gsize start;

		if (pos >= len || text[pos] != '@')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "source route hop does not start with '@'");
		start = ++pos;
		if (pos < len && text[pos] == '[') {
			/* a literal hop may contain ':' itself */
			const char *close = memchr(text + pos, ']', len - pos);

			pos = close != NULL ? (gsize)(close - text) + 1 : len;
		} else {
			while (pos < len && text[pos] != ',' && text[pos] != ':')
				pos++;
		}
		if (!addr_parse_domain(text + start, pos - start, NULL, &hop_flags, error)) {
			g_prefix_error(error, "source route: ");
			return FALSE;
		}
		*flags |= hop_flags & PC_ADDR_FLAG_UTF8;
		if (pos < len && text[pos] == ':') {
			*colon_out = pos;
			return TRUE;
		}
		if (pos >= len || text[pos] != ',')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "source route not ended by ':'");
		pos++;
	}
}

/* what is between the brackets, not empty */
static gboolean
addr_parse_inner(const char *text, gsize len, PcAddress *address, GError **error)
{
	gsize colon = 0;

	if (text[0] == '@') {
		if (!addr_parse_route(text, len, &colon, &address->flags, error))
			return FALSE;
		if (colon + 1 == len)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "nothing after the source route");
		address->route = g_strndup(text, colon);
		address->flags |= PC_ADDR_FLAG_SOURCE_ROUTE;
		text += colon + 1;
		len -= colon + 1;
	}
	return addr_parse_mailbox(text, len, address, error);
}

/*
 * the checks on the whole input, before any structure: NUL first because a
 * C string consumer would silently cut the address there. A bare path is
 * held to the same 256 octets as a bracketed one: the limit is on what the
 * client sent, and this bounds all later work.
 */
static gboolean
addr_check_octets(const char *text, gsize len, GError **error)
{
	if (len == 0)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty path");
	if (memchr(text, '\0', len) != NULL)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "NUL byte in address");
	if (len > PC_ADDR_MAX_PATH)
		return addr_fail(error, PC_ADDR_ERROR_TOO_LONG,
				 "path is %" G_GSIZE_FORMAT " octets, limit %d", len,
				 PC_ADDR_MAX_PATH);
	for (gsize i = 0; i < len; i++) {
		guchar octet = (guchar)text[i];

		if (octet < 0x20 || octet == 0x7f)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "control character 0x%02x in address", octet);
	}
	return TRUE;
}

/*
 * --- RFC 822 forms of a path ---
 *
 * Both MTAs hand the client's argument on as it came, and both tolerate RFC
 * 822 forms in it: blanks inside the brackets, comments, doubled brackets,
 * blanks around '@' and '.'. Both deliver these to the mailbox the address
 * names (tests/e2e/test-relay-battery.sh watches where the mail goes), so
 * they are read the same way here: comments and blanks between tokens are
 * dropped and extra bracket pairs removed, giving the plain path the rest
 * of the parser reads. What could name a second destination stays an error:
 * a comment holding '@', '<' or '>', two words with only a blank or a
 * comment between them, brackets that do not pair up.
 */

#define ADDR_MAX_BRACKETS 8 /* "<<<...>>>": the MTAs take a few; no reader needs more */

typedef enum {
	ADDR_TOKEN_WORD,    /* an atom, a quoted string or a domain literal, as written */
	ADDR_TOKEN_SPECIAL, /* one of < > @ , : ; . */
} AddrTokenType;

static gboolean
addr_needs_normalizing(const char *text, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '(' || text[i] == ')')
			return TRUE;
	}
	return len >= 2 && text[0] == '<' && text[1] == '<';
}

/* skips the comment opening at *pos; an address-like one is refused */
static gboolean
addr_skip_comment(const char *text, gsize len, gsize *pos, GError **error)
{
	guint depth = 0;

	for (gsize i = *pos; i < len; i++) {
		switch (text[i]) {
		case '\\':
			i++;
			break;
		case '(':
			if (++depth > PC_ADDR_MAX_COMMENT_DEPTH)
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "comments nested too deep");
			break;
		case ')':
			if (--depth == 0) {
				*pos = i + 1;
				return TRUE;
			}
			break;
		case '@':
		case '<':
		case '>':
			/* "<user@example.com (victim@outside.test)>": two destinations */
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "an address in a comment");
		default:
			break;
		}
	}
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "unbalanced '(' in address");
}

/* the end of the quoted string or domain literal opening at pos */
static gboolean
addr_scan_delimited(const char *text, gsize len, gsize pos, char close, gsize *end_out,
		    GError **error)
{
	for (gsize i = pos + 1; i < len; i++) {
		if (text[i] == '\\' && close == '"') {
			i++;
		} else if (text[i] == close) {
			*end_out = i + 1;
			return TRUE;
		} else if (close == ']' && (text[i] == '[' || text[i] == ' ' || text[i] == '\t')) {
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid address literal");
		}
	}
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
			 close == '"' ? "unbalanced quote in address"
				      : "address literal not closed by ']'");
}

/*
 * writes the plain path into out (at most len octets: only ever shorter);
 * the caller has checked len against PC_ADDR_MAX_PATH and that no NUL is in
 */
static gboolean
addr_normalize_path(const char *text, gsize len, char *out, gsize *out_len, GError **error)
{
	struct {
		AddrTokenType type;
		gsize start, len;
	} tokens[PC_ADDR_MAX_PATH];
	guint n = 0, open = 0, close = 0;
	gsize pos = 0, written = 0;

	while (pos < len) {
		char c = text[pos];
		gsize end = pos + 1;

		if (c == ' ' || c == '\t') {
			pos++;
			continue;
		}
		if (c == '(') {
			if (!addr_skip_comment(text, len, &pos, error))
				return FALSE;
			continue;
		}
		if (c == ')')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "unbalanced ')' in address");
		if (c == '"' || c == '[') {
			if (!addr_scan_delimited(text, len, pos, c == '"' ? '"' : ']', &end, error))
				return FALSE;
		} else if (strchr("<>@,:;.", c) == NULL) {
			/* an atom: up to the next special, blank or comment */
			while (end < len && strchr("<>@,:;.\"[]() \t", text[end]) == NULL)
				end++;
		}
		tokens[n].type = end == pos + 1 && strchr("<>@,:;.", c) != NULL ? ADDR_TOKEN_SPECIAL
										: ADDR_TOKEN_WORD;
		tokens[n].start = pos;
		tokens[n].len = end - pos;
		/* "<user victim@outside.test>": which one is meant? */
		if (n > 0 && tokens[n].type == ADDR_TOKEN_WORD &&
		    tokens[n - 1].type == ADDR_TOKEN_WORD)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "two words side by side");
		n++;
		pos = end;
	}
	while (open < n && tokens[open].type == ADDR_TOKEN_SPECIAL &&
	       text[tokens[open].start] == '<')
		open++;
	while (close < n - open && tokens[n - 1 - close].type == ADDR_TOKEN_SPECIAL &&
	       text[tokens[n - 1 - close].start] == '>')
		close++;
	if (open != close)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "unpaired '<' or '>'");
	if (open > ADDR_MAX_BRACKETS)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "too many angle brackets");
	if (open > 0)
		out[written++] = '<';
	for (guint i = open; i < n - close; i++) {
		char c = text[tokens[i].start];

		if (tokens[i].type == ADDR_TOKEN_SPECIAL && (c == '<' || c == '>'))
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "angle brackets inside the path");
		memcpy(out + written, text + tokens[i].start, tokens[i].len);
		written += tokens[i].len;
	}
	if (open > 0)
		out[written++] = '>';
	*out_len = written;
	return TRUE;
}

/*
 * ESMTP parameters come as separate argv entries, so nothing may follow the
 * '>' and no blank may surround the path
 */
static gboolean
addr_strip_brackets(const char **text, gsize *len, PcAddrFlags *flags, GError **error)
{
	const char *start = *text;
	gsize n = *len;

	if (start[0] != '<') {
		if (start[n - 1] == '>')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "'>' without '<'");
		if (start[0] == ' ' || start[n - 1] == ' ')
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "space around the path");
		*flags |= PC_ADDR_FLAG_NO_BRACKETS;
		return TRUE;
	}
	if (n < 2 || start[n - 1] != '>') {
		if (memchr(start, '>', n) != NULL)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "bytes after '>'");
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "'<' without '>'");
	}
	if (n > 2 && (start[1] == ' ' || start[n - 2] == ' '))
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "space inside the angle brackets");
	*text = start + 1;
	*len = n - 2;
	return TRUE;
}

gboolean
pc_addr_parse_path(const char *text, gsize len, PcAddress **address_out, GError **error)
{
	g_autoptr(PcAddress) address = NULL;
	char plain[PC_ADDR_MAX_PATH];

	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	g_return_val_if_fail(address_out != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (addr_needs_normalizing(text, len)) {
		if (len > PC_ADDR_MAX_PATH)
			return addr_check_octets(text, len, error);
		if (memchr(text, '\0', len) != NULL)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "NUL byte in address");
		if (!addr_normalize_path(text, len, plain, &len, error))
			return FALSE;
		text = plain;
	}
	if (!addr_check_octets(text, len, error))
		return FALSE;
	address = g_new0(PcAddress, 1);
	if (!addr_strip_brackets(&text, &len, &address->flags, error))
		return FALSE;
	if (len == 0) {
		address->flags |= PC_ADDR_FLAG_NULL;
		address->local = g_strdup("");
		address->domain = g_strdup("");
	} else if (!addr_parse_inner(text, len, address, error)) {
		return FALSE;
	}
	*address_out = g_steal_pointer(&address);
	return TRUE;
}

/*
 * --- RFC 5322 address lists ---
 *
 * Two passes. The tokenizer drops folding white space and comments and
 * yields words, quoted strings, domain literals, encoded words and the
 * specials that give a list its structure. Encoded words are recognised
 * there, before an '@' inside one could split it, so that
 * "=?utf-8?q?alice@example.com?=" stays one display-name word and never
 * becomes an address. The parser then takes each element as a group start,
 * a display name followed by an angle address, or a bare addr-spec.
 */

typedef enum {
	HDR_ATOM,    /* a run of atext, without dots */
	HDR_QUOTED,  /* a quoted string: text/len is the inside, quoted-pairs still escaped */
	HDR_ENCODED, /* an RFC 2047 encoded word */
	HDR_LITERAL, /* a domain literal with its brackets */
	HDR_SPECIAL, /* one of < > @ , : ; . */
} HdrTokenType;

typedef struct {
	HdrTokenType type;
	char special;
	const char *text;
	gsize len;
} HdrToken;

void
pc_addr_list_free(PcAddrList *list)
{
	if (list == NULL)
		return;
	g_clear_pointer(&list->addresses, g_ptr_array_unref);
	g_free(list);
}

static gboolean
hdr_is_space(guchar octet)
{
	return octet == ' ' || octet == '\t' || octet == '\r' || octet == '\n';
}

/* RFC 5322 atext, plus the 8-bit octets of RFC 6532 */
static gboolean
hdr_is_atext(guchar octet)
{
	/* strchr() would find the terminator for a NUL; hdr_check_octets refused those already */
	return octet != '\0' && (g_ascii_isalnum(octet) || octet >= 0x80 ||
				 strchr("!#$%&'*+-/=?^_`{|}~", octet) != NULL);
}

/* RFC 2047 token octets: printable ASCII but space and the especials */
static gboolean
hdr_is_token_octet(guchar octet)
{
	return octet > ' ' && octet < 0x7f && strchr("()<>@,;:\"/[]?.=", octet) == NULL;
}

/*
 * the length of the encoded word "=?charset?encoding?text?=" at text, or 0
 * when there is none. The text may hold any printable ASCII but '?' and
 * space, '@' and '<' included: that is what makes it a display-name word.
 */
static gsize
hdr_encoded_word_length(const char *text, gsize len)
{
	gsize pos = 2;

	if (len < 2 || text[0] != '=' || text[1] != '?')
		return 0;
	for (int part = 0; part < 2; part++) {
		gsize start = pos;

		while (pos < len && hdr_is_token_octet((guchar)text[pos]))
			pos++;
		if (pos == start || pos >= len || text[pos] != '?')
			return 0;
		pos++;
	}
	while (pos < len && (guchar)text[pos] > ' ' && (guchar)text[pos] < 0x7f && text[pos] != '?')
		pos++;
	if (pos + 1 >= len || text[pos] != '?' || text[pos + 1] != '=')
		return 0;
	return pos + 2;
}

/* pos is at '('; moves it past the matching ')' */
static gboolean
hdr_skip_comment(const char *text, gsize len, gsize *pos, GError **error)
{
	guint depth = 0;

	for (gsize i = *pos; i < len; i++) {
		if (text[i] == '\\') {
			i++;
		} else if (text[i] == '(') {
			if (++depth > PC_ADDR_MAX_COMMENT_DEPTH)
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "comments nested deeper than %d",
						 PC_ADDR_MAX_COMMENT_DEPTH);
		} else if (text[i] == ')' && --depth == 0) {
			*pos = i + 1;
			return TRUE;
		}
	}
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "comment not closed by ')'");
}

/* pos is at the opening quote or bracket; the end is past the closing one */
static gboolean
hdr_scan_delimited(const char *text, gsize len, gsize pos, char close, gsize *end_out,
		   GError **error)
{
	for (gsize i = pos + 1; i < len; i++) {
		if (text[i] == '\\') {
			i++;
		} else if (text[i] == close) {
			*end_out = i + 1;
			return TRUE;
		} else if (close == ']' && text[i] == '[') {
			break;
		}
	}
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
			 close == '"' ? "quoted string not closed" : "domain literal not closed");
}

static void
hdr_push(GArray *tokens, HdrTokenType type, const char *text, gsize len)
{
	HdrToken token = {.type = type, .text = text, .len = len};

	if (type == HDR_SPECIAL)
		token.special = text[0];
	g_array_append_val(tokens, token);
}

static gboolean
hdr_check_octets(const char *text, gsize len, GError **error)
{
	if (len > PC_ADDR_MAX_HEADER)
		return addr_fail(error, PC_ADDR_ERROR_TOO_LONG,
				 "header is %" G_GSIZE_FORMAT " octets, limit %d", len,
				 PC_ADDR_MAX_HEADER);
	/* an empty value may come as NULL with length 0: memchr(NULL, ...) is undefined */
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "NUL byte in header");
	for (gsize i = 0; i < len; i++) {
		guchar octet = (guchar)text[i];

		if ((octet < 0x20 && !hdr_is_space(octet)) || octet == 0x7f)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "control character 0x%02x in header", octet);
	}
	return TRUE;
}

static gboolean
hdr_tokenize(const char *text, gsize len, GArray *tokens, GError **error)
{
	gsize pos = 0;

	while (pos < len) {
		guchar octet = (guchar)text[pos];
		gsize end = pos + 1;

		if (hdr_is_space(octet)) {
			pos++;
			continue;
		}
		if (octet == '(') {
			if (!hdr_skip_comment(text, len, &pos, error))
				return FALSE;
			continue;
		}
		if (octet == '"' || octet == '[') {
			if (!hdr_scan_delimited(text, len, pos, octet == '"' ? '"' : ']', &end,
						error))
				return FALSE;
			if (octet == '"')
				hdr_push(tokens, HDR_QUOTED, text + pos + 1, end - pos - 2);
			else
				hdr_push(tokens, HDR_LITERAL, text + pos, end - pos);
		} else if (strchr("<>@,:;.", octet) != NULL) {
			hdr_push(tokens, HDR_SPECIAL, text + pos, 1);
		} else if (octet == '=' && hdr_encoded_word_length(text + pos, len - pos) > 0) {
			end = pos + hdr_encoded_word_length(text + pos, len - pos);
			hdr_push(tokens, HDR_ENCODED, text + pos, end - pos);
		} else if (hdr_is_atext(octet)) {
			while (end < len && hdr_is_atext((guchar)text[end]))
				end++;
			hdr_push(tokens, HDR_ATOM, text + pos, end - pos);
		} else {
			/* ')' ']' '\\' outside of what they belong to */
			return addr_fail_octet(error, octet, "header");
		}
		pos = end;
	}
	return TRUE;
}

typedef struct {
	const HdrToken *tokens;
	guint n;
	guint pos;
	PcAddrList *list;
} HdrParser;

static gboolean
hdr_is_special(const HdrParser *p, guint index, char special)
{
	return index < p->n && p->tokens[index].type == HDR_SPECIAL &&
	       p->tokens[index].special == special;
}

static void
hdr_append_dequoted(GString *out, const HdrToken *token)
{
	for (gsize i = 0; i < token->len; i++) {
		if (token->text[i] == '\\' && i + 1 < token->len)
			i++;
		g_string_append_c(out, token->text[i]);
	}
}

/* local-part: words (atoms or quoted strings) joined by dots, dots anywhere as MTAs allow */
static gboolean
hdr_build_local(const HdrParser *p, guint start, guint end, PcAddress *address, GError **error)
{
	g_autoptr(GString) local = g_string_new(NULL);
	gboolean after_word = FALSE;

	if (start == end)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty local part");
	for (guint i = start; i < end; i++) {
		const HdrToken *token = &p->tokens[i];

		switch (token->type) {
		case HDR_SPECIAL:
			if (token->special != '.')
				return addr_fail_octet(error, (guchar)token->special, "local part");
			g_string_append_c(local, '.');
			after_word = FALSE;
			continue;
		case HDR_ENCODED:
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "encoded word in an address");
		case HDR_LITERAL:
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "domain literal in a local part");
		case HDR_ATOM:
		case HDR_QUOTED:
			if (after_word)
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "words of a local part not joined by '.'");
			if (token->type == HDR_QUOTED) {
				hdr_append_dequoted(local, token);
				address->flags |= PC_ADDR_FLAG_QUOTED;
			} else {
				g_string_append_len(local, token->text, (gssize)token->len);
			}
			after_word = TRUE;
			break;
		}
		if (local->len > PC_ADDR_MAX_LOCAL)
			break;
	}
	if (local->len > PC_ADDR_MAX_LOCAL)
		return addr_fail(error, PC_ADDR_ERROR_TOO_LONG, "local part over %d octets",
				 PC_ADDR_MAX_LOCAL);
	if (local->len == 0)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty local part");
	address->flags |= addr_local_flags(local->str, local->len);
	address->local = g_string_free(g_steal_pointer(&local), FALSE);
	return TRUE;
}

/* domain: atoms joined by dots, or one domain literal; out is the text to normalise */
static gboolean
hdr_build_domain(const HdrParser *p, guint start, guint end, char **domain_out, PcAddrFlags *flags,
		 GError **error)
{
	g_autoptr(GString) domain = g_string_new(NULL);

	if (start == end)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty domain");
	if (p->tokens[start].type == HDR_LITERAL) {
		if (end - start != 1)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "bytes after a domain literal");
		g_string_append_len(domain, p->tokens[start].text, (gssize)p->tokens[start].len);
	} else {
		for (guint i = start; i < end; i++) {
			const HdrToken *token = &p->tokens[i];

			if (token->type == HDR_SPECIAL && token->special == '.')
				g_string_append_c(domain, '.');
			else if (token->type == HDR_ATOM)
				g_string_append_len(domain, token->text, (gssize)token->len);
			else
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "invalid token in a domain");
			if (domain->len > PC_ADDR_MAX_DOMAIN + 1)
				return addr_fail(error, PC_ADDR_ERROR_TOO_LONG,
						 "domain over %d octets", PC_ADDR_MAX_DOMAIN);
		}
	}
	return addr_parse_domain(domain->str, domain->len, domain_out, flags, error);
}

/* tokens start..end are one addr-spec: local-part "@" domain */
static gboolean
hdr_add_addr_spec(HdrParser *p, guint start, guint end, char *route, GError **error)
{
	g_autoptr(PcAddress) address = g_new0(PcAddress, 1);
	g_autofree char *owned_route = route;
	guint at = end;

	for (guint i = start; i < end; i++) {
		if (!hdr_is_special(p, i, '@'))
			continue;
		if (at != end)
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "more than one '@' in an address");
		at = i;
	}
	if (at == end)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "address without a domain");
	if (!hdr_build_local(p, start, at, address, error) ||
	    !hdr_build_domain(p, at + 1, end, &address->domain, &address->flags, error))
		return FALSE;
	if (p->list->addresses->len >= PC_ADDR_MAX_LIST)
		return addr_fail(error, PC_ADDR_ERROR_TOO_LONG, "more than %d addresses",
				 PC_ADDR_MAX_LIST);
	if (owned_route != NULL) {
		address->route = g_steal_pointer(&owned_route);
		address->flags |= PC_ADDR_FLAG_SOURCE_ROUTE;
		p->list->flags |= PC_ADDR_LIST_FLAG_ROUTE;
	}
	g_ptr_array_add(p->list->addresses, g_steal_pointer(&address));
	return TRUE;
}

/*
 * obs-route at the start of an angle address: "@a.test,,@b.test:". Each hop
 * is validated as a domain; the route is kept as "@a.test,@b.test".
 * Returns the index just past the ':' in *next_out, or start when there is no route.
 */
static gboolean
hdr_parse_route(const HdrParser *p, guint start, guint end, char **route_out, guint *next_out,
		GError **error)
{
	g_autoptr(GString) route = g_string_new(NULL);
	guint i = start;

	*next_out = start;
	if (!hdr_is_special(p, start, '@'))
		return TRUE;
	while (i < end) {
		g_autofree char *hop = NULL;
		PcAddrFlags hop_flags = PC_ADDR_FLAG_NONE;
		guint hop_end;

		if (hdr_is_special(p, i, ',')) {
			i++;
			continue;
		}
		if (hdr_is_special(p, i, ':')) {
			if (route->len == 0)
				break;
			*route_out = g_string_free(g_steal_pointer(&route), FALSE);
			*next_out = i + 1;
			return TRUE;
		}
		if (!hdr_is_special(p, i, '@'))
			break;
		hop_end = ++i;
		while (hop_end < end && !hdr_is_special(p, hop_end, ',') &&
		       !hdr_is_special(p, hop_end, ':'))
			hop_end++;
		if (!hdr_build_domain(p, i, hop_end, &hop, &hop_flags, error)) {
			g_prefix_error(error, "route: ");
			return FALSE;
		}
		g_string_append_printf(route, "%s@%s", route->len > 0 ? "," : "", hop);
		i = hop_end;
	}
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "route not ended by ':'");
}

/* p->pos is just past '<' */
static gboolean
hdr_parse_angle(HdrParser *p, GError **error)
{
	guint start = p->pos;
	guint end = start;
	guint spec_start = start;
	char *route = NULL;

	while (end < p->n && !hdr_is_special(p, end, '>')) {
		if (hdr_is_special(p, end, '<'))
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
					 "'<' inside an angle address");
		end++;
	}
	if (end == p->n)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "'<' without '>'");
	if (end == start)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "empty angle address");
	if (!hdr_parse_route(p, start, end, &route, &spec_start, error))
		return FALSE;
	p->pos = end + 1;
	return hdr_add_addr_spec(p, spec_start, end, route, error);
}

/* a display name, and whether it holds an encoded word */
static void
hdr_note_display_name(HdrParser *p, guint start, guint end)
{
	if (start == end)
		return;
	p->list->flags |= PC_ADDR_LIST_FLAG_DISPLAY_NAME;
	for (guint i = start; i < end; i++) {
		if (p->tokens[i].type == HDR_ENCODED)
			p->list->flags |= PC_ADDR_LIST_FLAG_ENCODED_WORD;
	}
}

static gboolean
hdr_is_structural(const HdrParser *p, guint index)
{
	return index < p->n && p->tokens[index].type == HDR_SPECIAL &&
	       strchr("<>,:;", p->tokens[index].special) != NULL;
}

static gboolean
hdr_parse_list(HdrParser *p, GError **error)
{
	gboolean in_group = FALSE;

	while (p->pos < p->n) {
		guint start;

		/* obs-addr-list: empty elements between commas */
		if (hdr_is_special(p, p->pos, ',')) {
			p->pos++;
			continue;
		}
		if (hdr_is_special(p, p->pos, ';')) {
			if (!in_group)
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "';' outside a group");
			in_group = FALSE;
			if (++p->pos < p->n && !hdr_is_special(p, p->pos, ','))
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "bytes after the end of a group");
			continue;
		}
		start = p->pos;
		while (p->pos < p->n && !hdr_is_structural(p, p->pos))
			p->pos++;
		if (hdr_is_special(p, p->pos, ':')) {
			if (in_group)
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "group inside a group");
			if (p->pos == start)
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "group without a name");
			hdr_note_display_name(p, start, p->pos);
			p->list->flags |= PC_ADDR_LIST_FLAG_GROUP;
			in_group = TRUE;
			p->pos++;
			continue;
		}
		if (hdr_is_special(p, p->pos, '<')) {
			hdr_note_display_name(p, start, p->pos);
			p->pos++;
			if (!hdr_parse_angle(p, error))
				return FALSE;
			if (p->pos < p->n && !hdr_is_special(p, p->pos, ',') &&
			    !hdr_is_special(p, p->pos, ';'))
				return addr_fail(error, PC_ADDR_ERROR_SYNTAX,
						 "bytes after an angle address");
			continue;
		}
		if (hdr_is_special(p, p->pos, '>'))
			return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "'>' without '<'");
		/* ',' ';' or the end: the element is a bare addr-spec */
		if (!hdr_add_addr_spec(p, start, p->pos, NULL, error))
			return FALSE;
	}
	if (in_group)
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "group not closed by ';'");
	return TRUE;
}

gboolean
pc_addr_parse_header_list(const char *text, gsize len, PcAddrList **list_out, GError **error)
{
	g_autoptr(PcAddrList) list = NULL;
	g_autoptr(GArray) tokens = NULL;
	HdrParser parser;

	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	g_return_val_if_fail(list_out != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!hdr_check_octets(text, len, error))
		return FALSE;
	tokens = g_array_new(FALSE, FALSE, sizeof(HdrToken));
	if (len > 0 && !hdr_tokenize(text, len, tokens, error))
		return FALSE;
	list = g_new0(PcAddrList, 1);
	list->addresses = g_ptr_array_new_with_free_func((GDestroyNotify)pc_address_free);
	parser = (HdrParser){
	    .tokens = (const HdrToken *)(gpointer)tokens->data, .n = tokens->len, .list = list};
	if (!hdr_parse_list(&parser, error))
		return FALSE;
	if (list->addresses->len == 0)
		list->flags |= PC_ADDR_LIST_FLAG_NO_ADDRESS;
	*list_out = g_steal_pointer(&list);
	return TRUE;
}
