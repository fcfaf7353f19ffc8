/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-addr: RFC 5321 envelope paths as libmilter hands them over.
 *
 * The parser is lenient where Postfix and Sendmail are (no brackets, 8-bit
 * octets, dots anywhere in the local part, '@' in the local part) because
 * refusing what the MTA already accepted would only hide it from policy; the
 * forms that route mail somewhere other than the final domain are recognised
 * and flagged instead. It is strict where leniency would let two readers
 * disagree about the address: NUL and control bytes, stray quotes, empty
 * labels, lengths. Errors never quote the input: it is hostile and the
 * caller logs it, escaped, if it wants to.
 * Not here: RFC 5322 header addresses, IDNA, deciding what is local.
 */
#include <stdarg.h>
#include <string.h>

#include <glib.h>

#include "pc-addr.h"
#include "pc-net.h"

G_DEFINE_QUARK(pc-addr-error-quark, pc_addr_error)

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
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid character '%c' in %s",
				 octet, where);
	if (octet == ' ')
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "space in %s", where);
	return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid octet 0x%02x in %s", octet, where);
}

/*
 * --- domains ---
 */

/* "[192.0.2.1]" or "[IPv6:...]"; returns the spelling two equal addresses share */
static gboolean
addr_parse_literal(const char *text, gsize len, char **domain_out, GError **error)
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
	literal = g_strndup(text, len);
	if (!pc_net_address_parse(literal, &address))
		return addr_fail(error, PC_ADDR_ERROR_SYNTAX, "invalid address literal");

	/*
	 * [IPv6:::ffff:192.0.2.1] is the same client as [192.0.2.1] for pc-net,
	 * so it gets the same spelling here
	 */
	pc_net_address_to_string(&address, buf, sizeof(buf));
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
		if (!addr_parse_literal(text, len, &domain, error))
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
addr_parse_route(const char *text, gsize len, gsize *colon_out, PcAddrFlags *flags,
		 GError **error)
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

	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	g_return_val_if_fail(address_out != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

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
