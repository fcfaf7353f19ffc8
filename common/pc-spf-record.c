/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-spf-record: see pc-spf-record.h. The record is cut into terms at
 * spaces, and each term is read whole against the ABNF of RFC 7208 section
 * 12; the first error ends the read, naming the term.
 */
#include "pc-spf-record.h"

#include <arpa/inet.h>
#include <string.h>

G_DEFINE_QUARK(pc - spf - record - error - quark, pc_spf_record_error)

static const char *const mechanism_names[] = {
    [PC_SPF_MECH_ALL] = "all", [PC_SPF_MECH_INCLUDE] = "include", [PC_SPF_MECH_A] = "a",
    [PC_SPF_MECH_MX] = "mx",   [PC_SPF_MECH_PTR] = "ptr",	  [PC_SPF_MECH_IP4] = "ip4",
    [PC_SPF_MECH_IP6] = "ip6", [PC_SPF_MECH_EXISTS] = "exists",
};

const char *
pc_spf_mechanism_to_string(PcSpfMechanism mechanism)
{
	g_return_val_if_fail(mechanism <= PC_SPF_MECH_EXISTS, "?");
	return mechanism_names[mechanism];
}

static void
term_clear(gpointer data)
{
	PcSpfTerm *term = data;

	g_clear_pointer(&term->domain_spec, g_free);
}

void
pc_spf_record_free(PcSpfRecord *record)
{
	if (record == NULL)
		return;
	g_array_unref(record->terms);
	g_free(record->redirect);
	g_free(record->explanation);
	g_free(record);
}

gboolean
pc_spf_record_is_spf1(const char *text, gsize len)
{
	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	return len >= 6 && g_ascii_strncasecmp(text, "v=spf1", 6) == 0 &&
	       (len == 6 || text[6] == ' ');
}

/* a syntax error naming the term; always FALSE */
static gboolean
term_error(GError **error, const char *term, gsize len, const char *what)
{
	g_autoptr(GString) message = g_string_new(what);

	g_string_append(message, " in '");
	pc_spf_macro_quote(message, term, len);
	g_string_append_c(message, '\'');
	g_set_error_literal(error, PC_SPF_RECORD_ERROR, PC_SPF_RECORD_ERROR_SYNTAX, message->str);
	return FALSE;
}

/* a domain-spec, checked; (transfer full) into *spec_out */
static gboolean
read_domain_spec(const char *term, gsize term_len, const char *spec, gsize len, char **spec_out,
		 GError **error)
{
	g_autoptr(GError) macro_error = NULL;

	if (!pc_spf_macro_check(spec, len, PC_SPF_MACRO_DOMAIN_SPEC, &macro_error)) {
		g_autofree char *what =
		    g_strdup_printf("bad domain-spec (%s)", macro_error->message);

		return term_error(error, term, term_len, what);
	}
	*spec_out = g_strndup(spec, len);
	return TRUE;
}

/*
 * ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT), ip6-cidr-length = "/"
 * ("0" / %x31-39 0*2DIGIT): digits without a leading zero, within max
 */
static gboolean
read_prefix(const char *digits, gsize len, guint max, guint *prefix_out)
{
	guint value = 0;

	if (len == 0 || len > 3 || (len > 1 && digits[0] == '0'))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isdigit(digits[i]))
			return FALSE;
		value = value * 10 + (guint)(digits[i] - '0');
	}
	if (value > max)
		return FALSE;
	*prefix_out = value;
	return TRUE;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, qnum 0..255 without leading zeros */
static gboolean
read_ip4_network(const char *text, gsize len, PcNetAddress *address_out)
{
	PcNetAddress address = {.bytes = {[10] = 0xff, [11] = 0xff}};
	gsize i = 0;

	for (guint part = 0; part < 4; part++) {
		gsize start = i;
		guint value = 0;

		if (part > 0) {
			if (i >= len || text[i] != '.')
				return FALSE;
			start = ++i;
		}
		while (i < len && g_ascii_isdigit(text[i]) && i - start < 3)
			value = value * 10 + (guint)(text[i++] - '0');
		if (i == start || value > 255 || (i - start > 1 && text[start] == '0'))
			return FALSE;
		address.bytes[12 + part] = (guint8)value;
	}
	if (i != len)
		return FALSE;
	*address_out = address;
	return TRUE;
}

/* ip6-network: RFC 4291 2.2 text (inet_pton's reading), hex digits, ':' and '.' only */
static gboolean
read_ip6_network(const char *text, gsize len, PcNetAddress *address_out)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isxdigit(text[i]) && text[i] != ':' && text[i] != '.')
			return FALSE;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, address_out->bytes) == 1;
}

/* ip4:NETWORK[/N] and ip6:NETWORK[/N] */
static gboolean
read_ip_term(PcSpfTerm *term, const char *text, gsize len, const char *arg, gsize arg_len,
	     GError **error)
{
	gboolean v4 = term->mechanism == PC_SPF_MECH_IP4;
	const char *slash = memchr(arg, '/', arg_len);
	gsize network_len = slash != NULL ? (gsize)(slash - arg) : arg_len;
	gboolean ok;

	ok = v4 ? read_ip4_network(arg, network_len, &term->network)
		: read_ip6_network(arg, network_len, &term->network);
	if (!ok)
		return term_error(error, text, len, v4 ? "bad IPv4 network" : "bad IPv6 network");
	if (slash != NULL && !read_prefix(slash + 1, arg_len - network_len - 1, v4 ? 32 : 128,
					  v4 ? &term->ip4_prefix : &term->ip6_prefix))
		return term_error(error, text, len, "bad prefix length");
	return TRUE;
}

/*
 * dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], read from
 * the end of arg (a domain-spec may hold '/', never in its domain-end);
 * *rest_len_out is what is left before it
 */
static gboolean
read_dual_cidr(PcSpfTerm *term, const char *arg, gsize arg_len, gsize *rest_len_out)
{
	gsize end = arg_len;
	gsize k = end;

	while (k > 0 && g_ascii_isdigit(arg[k - 1]))
		k--;
	if (k < end && k >= 2 && arg[k - 1] == '/' && arg[k - 2] == '/') {
		if (!read_prefix(arg + k, end - k, 128, &term->ip6_prefix))
			return FALSE;
		end = k - 2;
		for (k = end; k > 0 && g_ascii_isdigit(arg[k - 1]);)
			k--;
	}
	if (k < end && k >= 1 && arg[k - 1] == '/') {
		if (!read_prefix(arg + k, end - k, 32, &term->ip4_prefix))
			return FALSE;
		end = k - 1;
	}
	*rest_len_out = end;
	return TRUE;
}

/* what follows the mechanism's name in a, mx: [":" domain-spec] [dual-cidr-length] */
static gboolean
read_host_term(PcSpfTerm *term, const char *text, gsize len, const char *rest, gsize rest_len,
	       GError **error)
{
	gsize spec_len = 0;

	if (rest_len == 0)
		return TRUE;
	if (!read_dual_cidr(term, rest, rest_len, &spec_len))
		return term_error(error, text, len, "bad prefix length");
	if (rest[0] == '/')
		return spec_len == 0 || term_error(error, text, len, "bad prefix length");
	if (rest[0] != ':')
		return term_error(error, text, len, "unknown mechanism");
	return read_domain_spec(text, len, rest + 1, spec_len - 1, &term->domain_spec, error);
}

static gboolean
find_mechanism(const char *name, gsize len, PcSpfMechanism *mechanism_out)
{
	for (guint i = 0; i < G_N_ELEMENTS(mechanism_names); i++) {
		if (strlen(mechanism_names[i]) == len &&
		    g_ascii_strncasecmp(name, mechanism_names[i], len) == 0) {
			*mechanism_out = (PcSpfMechanism)i;
			return TRUE;
		}
	}
	return FALSE;
}

/* directive = [ qualifier ] mechanism */
static gboolean
read_directive(PcSpfRecord *record, const char *text, gsize len, GError **error)
{
	PcSpfTerm term = {.qualifier = PC_SPF_QUALIFIER_PASS, .ip4_prefix = 32, .ip6_prefix = 128};
	gsize i = 0;
	gsize name_len;
	const char *rest;
	gsize rest_len;

	if (strchr("+-~?", text[0]) != NULL && text[0] != '\0') {
		term.qualifier = (PcSpfQualifier)text[0];
		i = 1;
	}
	/* the name runs to ':' or '/' (within the term: it may hold any octet) */
	for (name_len = 0; i + name_len < len; name_len++) {
		if (text[i + name_len] == ':' || text[i + name_len] == '/')
			break;
	}
	if (!find_mechanism(text + i, name_len, &term.mechanism))
		return term_error(error, text, len, "unknown mechanism");
	rest = text + i + name_len;
	rest_len = len - i - name_len;
	switch (term.mechanism) {
	case PC_SPF_MECH_ALL:
		if (rest_len != 0)
			return term_error(error, text, len, "\"all\" takes no argument");
		record->has_all = TRUE;
		break;
	case PC_SPF_MECH_INCLUDE:
	case PC_SPF_MECH_EXISTS:
		if (rest_len == 0 || rest[0] != ':')
			return term_error(error, text, len, "domain-spec missing");
		if (!read_domain_spec(text, len, rest + 1, rest_len - 1, &term.domain_spec, error))
			return FALSE;
		break;
	case PC_SPF_MECH_PTR:
		if (rest_len > 0 && rest[0] != ':')
			return term_error(error, text, len, "\"ptr\" takes no prefix length");
		if (rest_len > 0 &&
		    !read_domain_spec(text, len, rest + 1, rest_len - 1, &term.domain_spec, error))
			return FALSE;
		break;
	case PC_SPF_MECH_A:
	case PC_SPF_MECH_MX:
		if (!read_host_term(&term, text, len, rest, rest_len, error))
			return FALSE;
		break;
	case PC_SPF_MECH_IP4:
	case PC_SPF_MECH_IP6:
		if (rest_len == 0 || rest[0] != ':')
			return term_error(error, text, len, "network missing");
		if (!read_ip_term(&term, text, len, rest + 1, rest_len - 1, error))
			return FALSE;
		break;
	}
	if (term.mechanism != PC_SPF_MECH_ALL && term.mechanism != PC_SPF_MECH_IP4 &&
	    term.mechanism != PC_SPF_MECH_IP6)
		record->dns_terms++;
	g_array_append_val(record->terms, term);
	return TRUE;
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ); the length of the name at text, or 0 */
static gsize
modifier_name_length(const char *text, gsize len)
{
	gsize i = 0;

	if (len == 0 || !g_ascii_isalpha(text[0]))
		return 0;
	while (i < len && (g_ascii_isalnum(text[i]) || strchr("-_.", text[i]) != NULL) &&
	       text[i] != '\0')
		i++;
	return i;
}

/* modifier = redirect / explanation / unknown-modifier; name and '=' already found */
static gboolean
read_modifier(PcSpfRecord *record, const char *text, gsize len, gsize name_len, GError **error)
{
	const char *value = text + name_len + 1;
	gsize value_len = len - name_len - 1;
	char **known = NULL;
	g_autoptr(GError) macro_error = NULL;

	if (name_len == 8 && g_ascii_strncasecmp(text, "redirect", 8) == 0)
		known = &record->redirect;
	else if (name_len == 3 && g_ascii_strncasecmp(text, "exp", 3) == 0)
		known = &record->explanation;
	if (known == NULL) {
		record->unknown_mods++;
		if (!pc_spf_macro_check(value, value_len, PC_SPF_MACRO_STRING, &macro_error)) {
			g_autofree char *what =
			    g_strdup_printf("bad modifier value (%s)", macro_error->message);

			return term_error(error, text, len, what);
		}
		return TRUE;
	}
	/* RFC 7208 6: "These two modifiers MUST NOT appear in a record more than once each" */
	if (*known != NULL)
		return term_error(error, text, len, "modifier given twice");
	return read_domain_spec(text, len, value, value_len, known, error);
}

static gboolean
read_term(PcSpfRecord *record, const char *text, gsize len, GError **error)
{
	gsize name_len = modifier_name_length(text, len);

	if (record->terms->len + record->unknown_mods >= PC_SPF_RECORD_MAX_TERMS) {
		g_set_error(error, PC_SPF_RECORD_ERROR, PC_SPF_RECORD_ERROR_TOO_LONG,
			    "more than %d terms", PC_SPF_RECORD_MAX_TERMS);
		return FALSE;
	}
	/* a modifier's name is followed by '='; a mechanism's by ':', '/' or nothing */
	if (name_len > 0 && name_len < len && text[name_len] == '=')
		return read_modifier(record, text, len, name_len, error);
	return read_directive(record, text, len, error);
}

gboolean
pc_spf_record_parse(const char *text, gsize len, PcSpfRecord **record_out, GError **error)
{
	g_autoptr(PcSpfRecord) record = g_new0(PcSpfRecord, 1);
	gsize i = 6;

	g_return_val_if_fail(text != NULL || len == 0, FALSE);
	g_return_val_if_fail(record_out != NULL, FALSE);
	record->terms = g_array_new(FALSE, TRUE, sizeof(PcSpfTerm));
	g_array_set_clear_func(record->terms, term_clear);
	if (len > PC_SPF_RECORD_MAX) {
		g_set_error(error, PC_SPF_RECORD_ERROR, PC_SPF_RECORD_ERROR_TOO_LONG,
			    "record of %" G_GSIZE_FORMAT " octets (at most %d)", len,
			    PC_SPF_RECORD_MAX);
		return FALSE;
	}
	if (!pc_spf_record_is_spf1(text, len))
		return term_error(error, text, MIN(len, 16), "not an SPF version 1 record");
	/* record = version terms *SP; terms = *( 1*SP ( directive / modifier ) ) */
	while (i < len) {
		const char *start;
		const char *space;
		gsize term_len;

		while (i < len && text[i] == ' ')
			i++;
		if (i == len)
			break;
		start = text + i;
		space = memchr(start, ' ', len - i);
		term_len = space != NULL ? (gsize)(space - start) : len - i;
		if (!read_term(record, start, term_len, error))
			return FALSE;
		i += term_len;
	}
	*record_out = g_steal_pointer(&record);
	return TRUE;
}

static void
append_network(GString *out, const PcSpfTerm *term)
{
	char buf[PC_NET_ADDRESS_STRLEN];

	if (term->mechanism == PC_SPF_MECH_IP6 && pc_net_address_is_v4(&term->network))
		g_string_append(out, "::ffff:");
	g_string_append(out, pc_net_address_to_string(&term->network, buf, sizeof(buf)));
}

static void
append_term(GString *out, const PcSpfTerm *term)
{
	if (term->qualifier != PC_SPF_QUALIFIER_PASS)
		g_string_append_c(out, (char)term->qualifier);
	g_string_append(out, pc_spf_mechanism_to_string(term->mechanism));
	if (term->domain_spec != NULL)
		g_string_append_printf(out, ":%s", term->domain_spec);
	if (term->mechanism == PC_SPF_MECH_IP4 || term->mechanism == PC_SPF_MECH_IP6) {
		g_string_append_c(out, ':');
		append_network(out, term);
	}
	if (term->ip4_prefix != 32 && term->mechanism != PC_SPF_MECH_IP6)
		g_string_append_printf(out, "/%u", term->ip4_prefix);
	if (term->ip6_prefix != 128 && term->mechanism != PC_SPF_MECH_IP4)
		g_string_append_printf(out, term->mechanism == PC_SPF_MECH_IP6 ? "/%u" : "//%u",
				       term->ip6_prefix);
}

char *
pc_spf_term_to_string(const PcSpfTerm *term)
{
	GString *out;

	g_return_val_if_fail(term != NULL, NULL);
	out = g_string_new(NULL);
	append_term(out, term);
	return g_string_free(out, FALSE);
}

char *
pc_spf_record_to_string(const PcSpfRecord *record)
{
	GString *out;

	g_return_val_if_fail(record != NULL, NULL);
	out = g_string_new("v=spf1");
	for (guint i = 0; i < record->terms->len; i++) {
		g_string_append_c(out, ' ');
		append_term(out, &g_array_index(record->terms, PcSpfTerm, i));
	}
	if (record->redirect != NULL)
		g_string_append_printf(out, " redirect=%s", record->redirect);
	if (record->explanation != NULL)
		g_string_append_printf(out, " exp=%s", record->explanation);
	return g_string_free(out, FALSE);
}
