/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-spf: see pc-spf.h. One SpfCheck carries what a whole check counts (DNS
 * terms, void lookups, queries) through includes and redirects, so that the
 * limits of RFC 7208 4.6.4 hold for the check, not per record (libspf2
 * counted per record, and so let an include reset the count).
 */
#include "pc-spf.h"

#include <string.h>

#include "pc-spf-macro.h"
#include "pc-spf-record.h"

static const char *const result_names[PC_SPF_N_RESULTS] = {
    [PC_SPF_NONE] = "none",	      [PC_SPF_NEUTRAL] = "neutral",
    [PC_SPF_PASS] = "pass",	      [PC_SPF_FAIL] = "fail",
    [PC_SPF_SOFTFAIL] = "softfail",   [PC_SPF_TEMPERROR] = "temperror",
    [PC_SPF_PERMERROR] = "permerror",
};

const char *
pc_spf_result_to_string(PcSpfResult result)
{
	g_return_val_if_fail(result < PC_SPF_N_RESULTS, "permerror");
	return result_names[result];
}

gboolean
pc_spf_result_from_string(const char *text, PcSpfResult *result_out)
{
	g_return_val_if_fail(text != NULL, FALSE);
	for (guint i = 0; i < PC_SPF_N_RESULTS; i++) {
		if (g_ascii_strcasecmp(text, result_names[i]) == 0) {
			*result_out = (PcSpfResult)i;
			return TRUE;
		}
	}
	return FALSE;
}

const char *
pc_spf_identity_to_string(PcSpfIdentity identity)
{
	return identity == PC_SPF_IDENTITY_HELO ? "helo" : "mailfrom";
}

void
pc_spf_outcome_free(PcSpfOutcome *outcome)
{
	if (outcome == NULL)
		return;
	g_free(outcome->domain);
	g_free(outcome->explanation);
	g_free(outcome->reason);
	g_free(outcome);
}

PcSpfResult
pc_spf_result_of_include(PcSpfResult included, gboolean *match_out)
{
	*match_out = FALSE;
	switch (included) {
	case PC_SPF_PASS:
		*match_out = TRUE;
		return PC_SPF_NONE;
	case PC_SPF_FAIL:
	case PC_SPF_SOFTFAIL:
	case PC_SPF_NEUTRAL:
		return PC_SPF_NONE;
	case PC_SPF_TEMPERROR:
		return PC_SPF_TEMPERROR;
	case PC_SPF_PERMERROR:
	case PC_SPF_NONE:
		break;
	}
	return PC_SPF_PERMERROR;
}

PcSpfResult
pc_spf_result_of_lookup(PcDnsStatus status, gboolean *is_void_out)
{
	*is_void_out = FALSE;
	switch (status) {
	case PC_DNS_OK:
		return PC_SPF_PASS;
	case PC_DNS_NODATA:
	case PC_DNS_NXDOMAIN:
		*is_void_out = TRUE;
		return PC_SPF_NONE;
	case PC_DNS_BADNAME:
		return PC_SPF_NONE;
	case PC_DNS_SERVFAIL:
	case PC_DNS_TIMEOUT:
	case PC_DNS_BUDGET:
	case PC_DNS_RESOLVER_ERROR:
		break;
	}
	return PC_SPF_TEMPERROR;
}

gboolean
pc_spf_domain_is_checkable(const char *domain)
{
	gsize len;
	gsize label = 0;
	guint labels = 1;
	gboolean last_all_digits = TRUE;

	if (domain == NULL)
		return FALSE;
	len = strnlen(domain, PC_SPF_MAX_DOMAIN + 2);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > PC_SPF_MAX_DOMAIN || domain[0] == '[')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)domain[i];

		if (c == '.') {
			if (label == 0)
				return FALSE;
			label = 0;
			labels++;
			last_all_digits = TRUE;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || ++label > 63)
			return FALSE;
		if (!g_ascii_isdigit(c))
			last_all_digits = FALSE;
	}
	return label > 0 && labels >= 2 && !last_all_digits;
}

/* ----------------------------------------------------------- the check */

typedef struct {
	const PcSpfOptions *options;
	PcNetAddress ip;
	gboolean v4;
	const char *sender;
	const char *local_part;
	const char *sender_domain;
	const char *helo;
	gint64 timestamp;
	guint dns_terms;
	guint void_lookups;
	guint queries;
	char *reason;
	/* %{p}: the names that validate, found once per check */
	gboolean validated_done;
	GPtrArray *validated;
} SpfCheck;

/* the "exp=" of the record that decided, and the domain it was evaluated for */
typedef struct {
	char *spec;
	char *domain;
} SpfExplanation;

typedef enum {
	TERM_NO_MATCH,
	TERM_MATCH,
	TERM_TEMPERROR,
	TERM_PERMERROR,
} TermStatus;

static void spf_reason(SpfCheck *check, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* the reason of the decision: the last one written is the one that decided */
static void
spf_reason(SpfCheck *check, const char *format, ...)
{
	va_list args;

	g_free(check->reason);
	va_start(args, format);
	check->reason = g_strdup_vprintf(format, args);
	va_end(args);
}

/*
 * a raw name (made from macros, or given by the client) in the text form
 * pc-dns reads and writes: '\\' and octets outside 0x21..0x7e as \DDD, dots
 * as label separators. PTR and MX names from answers are in this form too.
 */
static char *
spf_name_escape(const char *raw)
{
	GString *out = g_string_new(NULL);

	for (const char *p = raw; *p != '\0'; p++) {
		guchar c = (guchar)*p;

		if (c == '.' || (c > 0x20 && c < 0x7f && c != '\\'))
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "\\%03u", c);
	}
	return g_string_free(out, FALSE);
}

/*
 * RFC 7208 4.8: a target name after expansion, without its trailing dot and
 * cut from the left, label by label, to 253 octets. Returns: (transfer full)
 * the name, or NULL when it cannot be asked (empty, an empty label, a label
 * over 63 octets).
 */
static char *
spf_target_name(const char *raw)
{
	gsize len = strlen(raw);
	const char *start = raw;
	gsize label = 0;

	if (len > 0 && raw[len - 1] == '.')
		len--;
	while (len > PC_SPF_MAX_DOMAIN) {
		const char *dot = memchr(start, '.', len);

		if (dot == NULL)
			return NULL;
		len -= (gsize)(dot + 1 - start);
		start = dot + 1;
	}
	for (gsize i = 0; i < len; i++) {
		if (start[i] != '.' && ++label <= 63)
			continue;
		if (start[i] != '.' || label == 0)
			return NULL;
		label = 0;
	}
	return label > 0 ? g_strndup(start, len) : NULL;
}

static PcDnsResult *
spf_query(SpfCheck *check, const char *name, guint16 rrtype)
{
	check->queries++;
	return pc_dns_query(check->options->dns, name, rrtype, check->options->budget);
}

/* RFC 7208 4.6.4: one more term that looks up DNS; FALSE past the limit */
static gboolean
spf_count_term(SpfCheck *check)
{
	if (++check->dns_terms <= PC_SPF_MAX_DNS_TERMS)
		return TRUE;
	spf_reason(check, "more than %d DNS lookups", PC_SPF_MAX_DNS_TERMS);
	return FALSE;
}

static gboolean
spf_count_void(SpfCheck *check)
{
	if (++check->void_lookups <= PC_SPF_MAX_VOID_LOOKUPS)
		return TRUE;
	spf_reason(check, "more than %d void DNS lookups", PC_SPF_MAX_VOID_LOOKUPS);
	return FALSE;
}

/* a, mx, ptr lookups: the client's family */
static guint16
spf_address_type(const SpfCheck *check)
{
	return check->v4 ? PC_DNS_TYPE_A : PC_DNS_TYPE_AAAA;
}

/* the first bits of the 128-bit forms are the same (IPv4: 96 + its prefix) */
static gboolean
spf_ip_within(const PcNetAddress *ip, const PcNetAddress *network, guint bits)
{
	guint full = bits / 8;
	guint rest = bits % 8;

	if (memcmp(ip->bytes, network->bytes, full) != 0)
		return FALSE;
	return rest == 0 || ((ip->bytes[full] ^ network->bytes[full]) & (0xff00u >> rest)) == 0;
}

static gboolean
spf_name_within(const char *name, const char *domain)
{
	gsize name_len = strlen(name);
	gsize domain_len = strlen(domain);

	if (name_len == domain_len)
		return g_ascii_strcasecmp(name, domain) == 0;
	return name_len > domain_len && name[name_len - domain_len - 1] == '.' &&
	       g_ascii_strcasecmp(name + name_len - domain_len, domain) == 0;
}

/* the PTR name of the client's address: "4.3.2.1.in-addr.arpa", nibbles ".ip6.arpa" */
static char *
spf_reverse_name(const PcNetAddress *ip)
{
	GString *out = g_string_new(NULL);

	if (pc_net_address_is_v4(ip)) {
		g_string_printf(out, "%u.%u.%u.%u.in-addr.arpa", ip->bytes[15], ip->bytes[14],
				ip->bytes[13], ip->bytes[12]);
		return g_string_free(out, FALSE);
	}
	for (int i = 15; i >= 0; i--)
		g_string_append_printf(out, "%x.%x.", ip->bytes[i] & 0xf, ip->bytes[i] >> 4);
	g_string_append(out, "ip6.arpa");
	return g_string_free(out, FALSE);
}

/* TRUE when name (answer form) has an address of the client's family equal to the client's */
static gboolean
spf_name_validates(SpfCheck *check, const char *name)
{
	g_autoptr(PcDnsResult) result = spf_query(check, name, spf_address_type(check));

	/* RFC 7208 5.5: a DNS error on this lookup skips the name */
	if (result->status != PC_DNS_OK)
		return FALSE;
	for (guint i = 0; i < result->records->len; i++) {
		if (memcmp(pc_dns_result_record(result, i)->address.bytes, check->ip.bytes, 16) ==
		    0)
			return TRUE;
	}
	return FALSE;
}

typedef struct {
	SpfCheck *check;
	const char *domain;
} MacroData;

/* %{p} (RFC 7208 7.3): a validated name, the domain or a subdomain of it first */
static const char *
spf_validated_name(gpointer data)
{
	MacroData *macro = data;
	SpfCheck *check = macro->check;

	if (!check->validated_done) {
		g_autofree char *reverse = spf_reverse_name(&check->ip);
		g_autoptr(PcDnsResult) ptr = spf_query(check, reverse, PC_DNS_TYPE_PTR);

		check->validated_done = TRUE;
		check->validated = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0;
		     ptr->status == PC_DNS_OK && i < ptr->records->len && i < PC_SPF_MAX_PTR_NAMES;
		     i++) {
			const char *name = pc_dns_result_record(ptr, i)->name;

			/* an escaped name would not read back as the same name in a macro */
			if (strchr(name, '\\') == NULL && spf_name_validates(check, name))
				g_ptr_array_add(check->validated, g_strdup(name));
		}
	}
	for (guint i = 0; i < check->validated->len; i++) {
		if (g_ascii_strcasecmp(check->validated->pdata[i], macro->domain) == 0)
			return check->validated->pdata[i];
	}
	for (guint i = 0; i < check->validated->len; i++) {
		if (spf_name_within(check->validated->pdata[i], macro->domain))
			return check->validated->pdata[i];
	}
	return check->validated->len > 0 ? check->validated->pdata[0] : NULL;
}

static char *
spf_expand(SpfCheck *check, const char *text, gsize len, PcSpfMacroKind kind, const char *domain,
	   GError **error)
{
	MacroData macro = {.check = check, .domain = domain};
	PcSpfMacroContext context = {
	    .sender = check->sender,
	    .local_part = check->local_part,
	    .sender_domain = check->sender_domain,
	    .domain = domain,
	    .ip = check->ip,
	    .helo = check->helo,
	    .receiver = check->options->receiver,
	    .timestamp = check->timestamp,
	    .validated_name = spf_validated_name,
	    .validated_name_data = &macro,
	};

	return pc_spf_macro_expand(text, len, kind, &context, error);
}

/*
 * the name a term targets: its domain-spec expanded, or the current
 * domain. FALSE (a permerror, reason set) when the expansion fails;
 * *target_out NULL when the name cannot be asked.
 */
static gboolean
spf_target(SpfCheck *check, const char *spec, const char *domain, char **target_out)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *expanded = NULL;

	if (spec == NULL) {
		*target_out = g_strdup(domain);
		return TRUE;
	}
	expanded = spf_expand(check, spec, strlen(spec), PC_SPF_MACRO_DOMAIN_SPEC, domain, &error);
	if (expanded == NULL) {
		spf_reason(check, "macro expansion of '%s': %s", spec, error->message);
		return FALSE;
	}
	*target_out = spf_target_name(expanded);
	return TRUE;
}

/* a lookup of a term's own name: TEMPERROR on failure, NO_MATCH (void counted) on none */
static TermStatus
spf_lookup_status(SpfCheck *check, const PcDnsResult *result, gboolean count_void, const char *what)
{
	gboolean is_void = FALSE;

	switch (pc_spf_result_of_lookup(result->status, &is_void)) {
	case PC_SPF_PASS:
		return TERM_MATCH;
	case PC_SPF_TEMPERROR:
		spf_reason(check, "DNS %s for %s %s", pc_dns_status_to_string(result->status), what,
			   result->name);
		return TERM_TEMPERROR;
	default:
		break;
	}
	if (is_void && count_void && !spf_count_void(check))
		return TERM_PERMERROR;
	return TERM_NO_MATCH;
}

/* a, and each exchange of mx: the name's addresses against the client's, with the prefix */
static TermStatus
spf_match_addresses(SpfCheck *check, const char *name, const PcSpfTerm *term, gboolean count_void)
{
	g_autoptr(PcDnsResult) result = spf_query(check, name, spf_address_type(check));
	guint bits = check->v4 ? 96 + term->ip4_prefix : term->ip6_prefix;
	TermStatus status = spf_lookup_status(check, result, count_void, check->v4 ? "A" : "AAAA");

	if (status != TERM_MATCH)
		return status;
	for (guint i = 0; i < result->records->len; i++) {
		if (spf_ip_within(&check->ip, &pc_dns_result_record(result, i)->address, bits))
			return TERM_MATCH;
	}
	return TERM_NO_MATCH;
}

static TermStatus
spf_term_a(SpfCheck *check, const PcSpfTerm *term, const char *domain)
{
	g_autofree char *target = NULL;
	g_autofree char *name = NULL;

	if (!spf_count_term(check) || !spf_target(check, term->domain_spec, domain, &target))
		return TERM_PERMERROR;
	if (target == NULL)
		return TERM_NO_MATCH;
	name = spf_name_escape(target);
	return spf_match_addresses(check, name, term, TRUE);
}

static TermStatus
spf_term_mx(SpfCheck *check, const PcSpfTerm *term, const char *domain)
{
	g_autofree char *target = NULL;
	g_autofree char *name = NULL;
	g_autoptr(PcDnsResult) mx = NULL;
	TermStatus status;

	if (!spf_count_term(check) || !spf_target(check, term->domain_spec, domain, &target))
		return TERM_PERMERROR;
	if (target == NULL)
		return TERM_NO_MATCH;
	name = spf_name_escape(target);
	mx = spf_query(check, name, PC_DNS_TYPE_MX);
	status = spf_lookup_status(check, mx, TRUE, "MX");
	if (status != TERM_MATCH)
		return status;
	if (mx->records->len > PC_SPF_MAX_MX_NAMES) {
		spf_reason(check, "more than %d MX names for %s", PC_SPF_MAX_MX_NAMES, name);
		return TERM_PERMERROR;
	}
	/* RFC 7208 5.4: no implicit MX; a null MX (RFC 7505) has no address to look up */
	for (guint i = 0; i < mx->records->len; i++) {
		const char *exchange = pc_dns_result_record(mx, i)->name;

		if (strcmp(exchange, ".") == 0)
			continue;
		status = spf_match_addresses(check, exchange, term, FALSE);
		if (status != TERM_NO_MATCH)
			return status;
	}
	return TERM_NO_MATCH;
}

static TermStatus
spf_term_ptr(SpfCheck *check, const PcSpfTerm *term, const char *domain)
{
	g_autofree char *target = NULL;
	g_autofree char *name = NULL;
	g_autofree char *reverse = spf_reverse_name(&check->ip);
	g_autoptr(PcDnsResult) ptr = NULL;
	gboolean is_void = FALSE;

	if (!spf_count_term(check) || !spf_target(check, term->domain_spec, domain, &target))
		return TERM_PERMERROR;
	if (target == NULL)
		return TERM_NO_MATCH;
	name = spf_name_escape(target);
	ptr = spf_query(check, reverse, PC_DNS_TYPE_PTR);
	/* RFC 7208 5.5: "If a DNS error occurs while doing the PTR RR lookup, then this mechanism
	 * fails to match" */
	if (pc_spf_result_of_lookup(ptr->status, &is_void) != PC_SPF_PASS)
		return is_void && !spf_count_void(check) ? TERM_PERMERROR : TERM_NO_MATCH;
	/* only names within the target are worth validating; the first 10 names at most */
	for (guint i = 0; i < ptr->records->len && i < PC_SPF_MAX_PTR_NAMES; i++) {
		const char *host = pc_dns_result_record(ptr, i)->name;

		if (spf_name_within(host, name) && spf_name_validates(check, host))
			return TERM_MATCH;
	}
	return TERM_NO_MATCH;
}

static TermStatus
spf_term_exists(SpfCheck *check, const PcSpfTerm *term, const char *domain)
{
	g_autofree char *target = NULL;
	g_autofree char *name = NULL;
	g_autoptr(PcDnsResult) result = NULL;

	if (!spf_count_term(check) || !spf_target(check, term->domain_spec, domain, &target))
		return TERM_PERMERROR;
	if (target == NULL)
		return TERM_NO_MATCH;
	name = spf_name_escape(target);
	/* RFC 7208 5.7: an A lookup whatever the client's family */
	result = spf_query(check, name, PC_DNS_TYPE_A);
	return spf_lookup_status(check, result, TRUE, "A");
}

static PcSpfResult spf_check_host(SpfCheck *check, const char *domain, guint depth,
				  SpfExplanation *explanation_out);

static TermStatus
spf_term_include(SpfCheck *check, const PcSpfTerm *term, const char *domain, guint depth)
{
	g_autofree char *target = NULL;
	gboolean match = FALSE;
	PcSpfResult included;

	if (!spf_count_term(check) || !spf_target(check, term->domain_spec, domain, &target))
		return TERM_PERMERROR;
	if (target == NULL) {
		spf_reason(check, "include:%s names no domain that can be looked up",
			   term->domain_spec);
		return TERM_PERMERROR;
	}
	included = spf_check_host(check, target, depth + 1, NULL);
	switch (pc_spf_result_of_include(included, &match)) {
	case PC_SPF_TEMPERROR:
		return TERM_TEMPERROR;
	case PC_SPF_PERMERROR:
		if (included == PC_SPF_NONE)
			spf_reason(check, "include:%s: no SPF record", term->domain_spec);
		return TERM_PERMERROR;
	default:
		break;
	}
	return match ? TERM_MATCH : TERM_NO_MATCH;
}

static TermStatus
spf_term(SpfCheck *check, const PcSpfTerm *term, const char *domain, guint depth)
{
	switch (term->mechanism) {
	case PC_SPF_MECH_ALL:
		return TERM_MATCH;
	case PC_SPF_MECH_IP4:
		/* RFC 7208 5.6: ip4 matches IPv4 clients only, ip6 IPv6 ones (not mapped) */
		return check->v4 && spf_ip_within(&check->ip, &term->network, 96 + term->ip4_prefix)
			   ? TERM_MATCH
			   : TERM_NO_MATCH;
	case PC_SPF_MECH_IP6:
		return !check->v4 && spf_ip_within(&check->ip, &term->network, term->ip6_prefix)
			   ? TERM_MATCH
			   : TERM_NO_MATCH;
	case PC_SPF_MECH_A:
		return spf_term_a(check, term, domain);
	case PC_SPF_MECH_MX:
		return spf_term_mx(check, term, domain);
	case PC_SPF_MECH_PTR:
		return spf_term_ptr(check, term, domain);
	case PC_SPF_MECH_EXISTS:
		return spf_term_exists(check, term, domain);
	case PC_SPF_MECH_INCLUDE:
		return spf_term_include(check, term, domain, depth);
	}
	g_assert_not_reached();
}

/* RFC 7208 4.4 and 4.5: the domain's one SPF record; NULL with the result when there is none */
static PcSpfRecord *
spf_fetch_record(SpfCheck *check, const char *domain, PcSpfResult *result_out)
{
	g_autofree char *name = spf_name_escape(domain);
	g_autoptr(PcDnsResult) txt = spf_query(check, name, PC_DNS_TYPE_TXT);
	g_autoptr(GError) error = NULL;
	const PcDnsRecord *found = NULL;
	PcSpfRecord *record = NULL;

	*result_out = PC_SPF_NONE;
	if (txt->status != PC_DNS_OK) {
		gboolean is_void;

		*result_out = pc_spf_result_of_lookup(txt->status, &is_void);
		if (*result_out == PC_SPF_TEMPERROR)
			spf_reason(check, "DNS %s for TXT %s", pc_dns_status_to_string(txt->status),
				   name);
		else
			spf_reason(check, "no SPF record for %s", name);
		return NULL;
	}
	for (guint i = 0; i < txt->records->len; i++) {
		const PcDnsRecord *candidate = pc_dns_result_record(txt, i);

		if (!pc_spf_record_is_spf1(candidate->text, candidate->text_len))
			continue;
		if (found != NULL) {
			spf_reason(check, "more than one SPF record for %s", name);
			*result_out = PC_SPF_PERMERROR;
			return NULL;
		}
		found = candidate;
	}
	if (found == NULL) {
		spf_reason(check, "no SPF record for %s", name);
		return NULL;
	}
	if (!pc_spf_record_parse(found->text, found->text_len, &record, &error)) {
		spf_reason(check, "the record of %s: %s", name, error->message);
		*result_out = PC_SPF_PERMERROR;
		return NULL;
	}
	return record;
}

static PcSpfResult
spf_qualifier_result(PcSpfQualifier qualifier)
{
	switch (qualifier) {
	case PC_SPF_QUALIFIER_PASS:
		return PC_SPF_PASS;
	case PC_SPF_QUALIFIER_FAIL:
		return PC_SPF_FAIL;
	case PC_SPF_QUALIFIER_SOFTFAIL:
		return PC_SPF_SOFTFAIL;
	case PC_SPF_QUALIFIER_NEUTRAL:
		break;
	}
	return PC_SPF_NEUTRAL;
}

static void
spf_explanation_set(SpfExplanation *explanation, const char *spec, const char *domain)
{
	if (explanation == NULL)
		return;
	g_free(explanation->spec);
	g_free(explanation->domain);
	explanation->spec = g_strdup(spec);
	explanation->domain = g_strdup(domain);
}

/* RFC 7208 6.1: the result is the target's; an exp= of this record is not used */
static PcSpfResult
spf_redirect(SpfCheck *check, const PcSpfRecord *record, const char *domain, guint depth,
	     SpfExplanation *explanation_out)
{
	g_autofree char *target = NULL;
	PcSpfResult result;

	if (!spf_count_term(check) || !spf_target(check, record->redirect, domain, &target))
		return PC_SPF_PERMERROR;
	if (target == NULL) {
		spf_reason(check, "redirect=%s names no domain that can be looked up",
			   record->redirect);
		return PC_SPF_PERMERROR;
	}
	result = spf_check_host(check, target, depth + 1, explanation_out);
	if (result != PC_SPF_NONE)
		return result;
	spf_reason(check, "redirect=%s: no SPF record", record->redirect);
	return PC_SPF_PERMERROR;
}

/* RFC 7208 4.6: check_host() for one domain (an include or a redirect is one level down) */
static PcSpfResult
spf_check_host(SpfCheck *check, const char *domain, guint depth, SpfExplanation *explanation_out)
{
	PcSpfResult result = PC_SPF_NONE;
	g_autoptr(PcSpfRecord) record = NULL;

	/* each level down was counted as a DNS term: the limit bounds the depth */
	g_assert(depth <= PC_SPF_MAX_DNS_TERMS);
	record = spf_fetch_record(check, domain, &result);
	if (record == NULL)
		return result;
	for (guint i = 0; i < record->terms->len; i++) {
		const PcSpfTerm *term = &g_array_index(record->terms, PcSpfTerm, i);
		g_autofree char *text = NULL;

		switch (spf_term(check, term, domain, depth)) {
		case TERM_NO_MATCH:
			continue;
		case TERM_TEMPERROR:
			return PC_SPF_TEMPERROR;
		case TERM_PERMERROR:
			return PC_SPF_PERMERROR;
		case TERM_MATCH:
			break;
		}
		text = pc_spf_term_to_string(term);
		spf_reason(check, "%s in %s", text, domain);
		spf_explanation_set(explanation_out, record->explanation, domain);
		return spf_qualifier_result(term->qualifier);
	}
	if (record->redirect != NULL && !record->has_all)
		return spf_redirect(check, record, domain, depth, explanation_out);
	spf_reason(check, "no match in %s, default neutral", domain);
	return PC_SPF_NEUTRAL;
}

/* printable ASCII only: what a header or an SMTP reply may carry */
static gboolean
spf_printable(const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p >= 0x7f)
			return FALSE;
	}
	return TRUE;
}

/*
 * RFC 7208 6.2: the explanation of exp=, or NULL to use the default: an
 * expansion or lookup that fails, no record or several, an invalid
 * explain-string, or text that is not printable ASCII, is as if no exp=
 * was given
 */
static char *
spf_explain(SpfCheck *check, const SpfExplanation *explanation)
{
	g_autofree char *expanded = NULL;
	g_autofree char *target = NULL;
	g_autofree char *name = NULL;
	g_autofree char *text = NULL;
	g_autoptr(PcDnsResult) txt = NULL;
	const PcDnsRecord *record;

	if (explanation->spec == NULL)
		return NULL;
	expanded = spf_expand(check, explanation->spec, strlen(explanation->spec),
			      PC_SPF_MACRO_DOMAIN_SPEC, explanation->domain, NULL);
	target = expanded != NULL ? spf_target_name(expanded) : NULL;
	if (target == NULL)
		return NULL;
	name = spf_name_escape(target);
	txt = spf_query(check, name, PC_DNS_TYPE_TXT);
	if (txt->status != PC_DNS_OK || txt->records->len != 1)
		return NULL;
	record = pc_dns_result_record(txt, 0);
	text = spf_expand(check, record->text, record->text_len, PC_SPF_MACRO_EXPLAIN,
			  explanation->domain, NULL);
	if (text == NULL || strlen(text) > PC_SPF_MAX_EXPLANATION || !spf_printable(text))
		return NULL;
	return g_steal_pointer(&text);
}

static PcSpfOutcome *
spf_check(const PcSpfOptions *options, const PcNetAddress *ip, const char *local_part,
	  const char *domain, const char *helo, PcSpfIdentity identity)
{
	PcSpfOutcome *outcome = g_new0(PcSpfOutcome, 1);
	g_autofree char *sender = NULL;
	SpfExplanation explanation = {NULL, NULL};
	SpfCheck check = {
	    .options = options,
	    .ip = *ip,
	    .v4 = pc_net_address_is_v4(ip),
	    .local_part = local_part != NULL && *local_part != '\0' ? local_part : "postmaster",
	    .helo = helo,
	    .timestamp =
		options->timestamp != 0 ? options->timestamp : g_get_real_time() / G_USEC_PER_SEC,
	};
	gsize len = strnlen(domain, PC_SPF_MAX_DOMAIN + 2);

	outcome->identity = identity;
	outcome->domain = g_strndup(domain, len > 0 && domain[len - 1] == '.' ? len - 1 : len);
	if (!pc_spf_domain_is_checkable(domain) ||
	    strnlen(check.local_part, PC_SPF_MAX_LOCAL_PART + 1) > PC_SPF_MAX_LOCAL_PART) {
		outcome->result = PC_SPF_NONE;
		outcome->reason = g_strdup("not a domain name that can be checked");
		return outcome;
	}
	sender = g_strdup_printf("%s@%s", check.local_part, outcome->domain);
	check.sender = sender;
	check.sender_domain = outcome->domain;
	outcome->result = spf_check_host(&check, outcome->domain, 0, &explanation);
	if (outcome->result == PC_SPF_FAIL) {
		outcome->explanation = spf_explain(&check, &explanation);
		if (outcome->explanation == NULL) {
			char buf[PC_NET_ADDRESS_STRLEN];

			outcome->explanation = g_strdup_printf(
			    "%s does not designate %s as permitted sender", outcome->domain,
			    pc_net_address_to_string(ip, buf, sizeof(buf)));
		}
	}
	outcome->reason = g_steal_pointer(&check.reason);
	outcome->dns_terms = check.dns_terms;
	outcome->void_lookups = check.void_lookups;
	outcome->queries = check.queries;
	g_free(explanation.spec);
	g_free(explanation.domain);
	if (check.validated != NULL)
		g_ptr_array_unref(check.validated);
	return outcome;
}

PcSpfOutcome *
pc_spf_check_mail_from(const PcSpfOptions *options, const PcNetAddress *ip, const char *local_part,
		       const char *domain, const char *helo)
{
	g_return_val_if_fail(options != NULL && options->dns != NULL, NULL);
	g_return_val_if_fail(ip != NULL && domain != NULL, NULL);
	if (*domain == '\0')
		return pc_spf_check_helo(options, ip, helo);
	return spf_check(options, ip, local_part, domain, helo, PC_SPF_IDENTITY_MAILFROM);
}

PcSpfOutcome *
pc_spf_check_helo(const PcSpfOptions *options, const PcNetAddress *ip, const char *helo)
{
	g_return_val_if_fail(options != NULL && options->dns != NULL, NULL);
	g_return_val_if_fail(ip != NULL, NULL);
	return spf_check(options, ip, "postmaster", helo != NULL ? helo : "", helo,
			 PC_SPF_IDENTITY_HELO);
}
