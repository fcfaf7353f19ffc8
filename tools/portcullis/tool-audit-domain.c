/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis audit domain DOMAIN [--selector S]... [--json]: the DNS side
 * of a domain's mail that no milter can enforce, through the configured
 * resolver (pc-dns; DNSSEC as [global] dnssec says):
 *  - spf: one v=spf1 record, valid (pc-spf-record, RFC 7208's syntax), its
 *    DNS-querying terms through include and redirect at most 10 (RFC 7208
 *    4.6.4; terms with macros are not followed and said so), not +all
 *    (anyone may send) or ?all, and an end (all or redirect);
 *  - dmarc: the policy record that applies (RFC 9989 discovery, as
 *    portcullis-verify finds it), its policy, pct, rua, and for each rua
 *    destination outside the organisation the confirming record at
 *    DOMAIN._report._dmarc.HOST (RFC 7489 7.1);
 *  - dkim: each --selector's key record: present, readable, not revoked,
 *    its algorithm and size (RSA under 1024 bits unusable, under 2048
 *    weak, RFC 8301), t=y;
 *  - mx: the MX hosts (null MX, none), each address's reverse name and
 *    that name's forward addresses (forward-confirmed reverse DNS);
 *  - mta-sts (RFC 8461: the _mta-sts record; the policy file over HTTPS
 *    is not fetched), tls-rpt (RFC 8460), and DANE TLSA for each MX host
 *    at _25._tcp (RFC 7672), judged only with DNSSEC validation on.
 * One line per finding, "SEVERITY CHECK: text" (ok, info, warning, error),
 * or --json. Exit status 0 whatever the findings; 2 for usage or
 * configuration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pc-dns.h"
#include "pc-spf-record.h"
#include "pc-spf.h"
#include "tool-json.h"
#include "tool.h"
#include "verify-dkim.h"
#include "verify-policy.h"

#define TOOL_NAME "portcullis audit domain"
/* SPF records followed through include and redirect at most (a loop ends there too) */
#define AUDIT_MAX_SPF_RECORDS 30
#define PC_DNS_TYPE_TLSA 52

typedef struct {
	PcDns *dns;
	const PcConfig *config;
	GPtrArray *findings; /* "SEVERITY\tCHECK\ttext" */
	gboolean https;	     /* fetch the MTA-STS policy */
	const char *ca_file; /* more CAs to trust for it, or NULL */
	GPtrArray *mx_hosts; /* the MX names found (for the policy's mx: lines) */
	gboolean sts_record; /* an _mta-sts record was found: there is a policy to fetch */
} Audit;

static void G_GNUC_PRINTF(4, 5)
    say(Audit *audit, const char *severity, const char *check, const char *format, ...)
{
	va_list args;
	g_autofree char *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_ptr_array_add(audit->findings, g_strdup_printf("%s\t%s\t%s", severity, check, text));
}

static PcDnsResult *
ask(Audit *audit, const char *name, guint16 type)
{
	return pc_dns_query(audit->dns, name, type, NULL);
}

/* the TXT records at name that start with prefix (case-insensitive); NULL on a DNS failure */
static GPtrArray *
txt_records(Audit *audit, const char *name, const char *prefix, PcDnsStatus *status_out)
{
	g_autoptr(PcDnsResult) result = ask(audit, name, PC_DNS_TYPE_TXT);
	GPtrArray *found = g_ptr_array_new_with_free_func(g_free);

	*status_out = result->status;
	if (!pc_dns_status_is_answer(result->status)) {
		g_ptr_array_unref(found);
		return NULL;
	}
	for (guint i = 0; i < result->records->len; i++) {
		const PcDnsRecord *record = pc_dns_result_record(result, i);

		if (record->text != NULL &&
		    g_ascii_strncasecmp(record->text, prefix, strlen(prefix)) == 0)
			g_ptr_array_add(found, g_strndup(record->text, record->text_len));
	}
	return found;
}

/* --- SPF --- */

/* the DNS-querying terms of domain's record and those it reaches; -1 on an error said */
static int
spf_lookups(Audit *audit, const char *domain, GHashTable *seen, gboolean top)
{
	PcDnsStatus status;
	g_autoptr(GPtrArray) records = NULL;
	g_autoptr(PcSpfRecord) record = NULL;
	g_autoptr(GError) error = NULL;
	int total;

	if (g_hash_table_size(seen) >= AUDIT_MAX_SPF_RECORDS ||
	    !g_hash_table_add(seen, g_ascii_strdown(domain, -1))) {
		say(audit, "error", "spf", "%s is reached twice through include/redirect (a loop)",
		    domain);
		return -1;
	}
	records = txt_records(audit, domain, "v=spf1", &status);
	if (records == NULL) {
		say(audit, "warning", "spf", "%s: DNS %s: not judged", domain,
		    pc_dns_status_to_string(status));
		return -1;
	}
	if (records->len == 0) {
		if (top)
			say(audit, "warning", "spf",
			    "%s has no SPF record: receivers cannot tell its servers from forgers",
			    domain);
		else
			say(audit, "error", "spf",
			    "%s, included, has no SPF record: permerror for every message", domain);
		return -1;
	}
	if (records->len > 1) {
		say(audit, "error", "spf", "%s has %u SPF records: permerror (RFC 7208 4.5)",
		    domain, records->len);
		return -1;
	}
	{
		const char *text = records->pdata[0];

		if (!pc_spf_record_parse(text, strlen(text), &record, &error)) {
			say(audit, "error", "spf", "%s: %s: permerror for every message", domain,
			    error->message);
			return -1;
		}
	}
	total = (int)record->dns_terms + (record->redirect != NULL);
	if (top) {
		gboolean ends = record->has_all || record->redirect != NULL;

		for (guint i = 0; i < record->terms->len; i++) {
			const PcSpfTerm *term = &g_array_index(record->terms, PcSpfTerm, i);

			if (term->mechanism != PC_SPF_MECH_ALL)
				continue;
			if (term->qualifier == PC_SPF_QUALIFIER_PASS)
				say(audit, "error", "spf",
				    "+all: every server on the Internet may send as %s", domain);
			else if (term->qualifier == PC_SPF_QUALIFIER_NEUTRAL)
				say(audit, "warning", "spf",
				    "?all: servers not listed are neutral, not refused");
			else
				say(audit, "ok", "spf", "%call: servers not listed %s",
				    term->qualifier,
				    term->qualifier == PC_SPF_QUALIFIER_FAIL ? "fail" : "softfail");
		}
		if (!ends)
			say(audit, "warning", "spf",
			    "no all and no redirect: servers not listed are neutral");
	}
	for (guint i = 0; i < record->terms->len; i++) {
		const PcSpfTerm *term = &g_array_index(record->terms, PcSpfTerm, i);
		int below;

		if (term->mechanism != PC_SPF_MECH_INCLUDE || term->domain_spec == NULL)
			continue;
		if (strchr(term->domain_spec, '%') != NULL) {
			say(audit, "info", "spf", "include:%s has macros: not followed",
			    term->domain_spec);
			continue;
		}
		below = spf_lookups(audit, term->domain_spec, seen, FALSE);
		if (below < 0)
			return -1;
		total += below;
	}
	if (record->redirect != NULL && !record->has_all) {
		int below;

		if (strchr(record->redirect, '%') != NULL) {
			say(audit, "info", "spf", "redirect=%s has macros: not followed",
			    record->redirect);
			return total;
		}
		below = spf_lookups(audit, record->redirect, seen, FALSE);
		if (below < 0)
			return -1;
		total += below;
	}
	return total;
}

static void
audit_spf(Audit *audit, const char *domain)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	int lookups = spf_lookups(audit, domain, seen, TRUE);

	if (lookups < 0)
		return;
	if (lookups > 10)
		say(audit, "error", "spf",
		    "%d DNS lookups through includes and redirects, over 10: permerror (RFC 7208 "
		    "4.6.4)",
		    lookups);
	else
		say(audit, "ok", "spf",
		    "%d DNS lookups through includes and redirects (10 at most)", lookups);
}

/* --- DMARC --- */

static void
audit_dmarc(Audit *audit, const char *domain)
{
	VerifyDmarcDnsContext context = {audit->dns, NULL};
	VerifyDmarcResolver resolver;
	VerifyDmarcInput input = {.author_domain = domain,
				  .discovery = VERIFY_DMARC_DISCOVERY_TREE_WALK};
	VerifyDmarcOutcome outcome;
	const VerifyDmarcRecord *record;

	verify_dmarc_resolver_init(&resolver, &context);
	verify_dmarc_evaluate(&input, &resolver, &outcome);
	record = outcome.record;
	if (outcome.result == VERIFY_DMARC_TEMPERROR) {
		say(audit, "warning", "dmarc", "DNS failure finding the policy: not judged");
	} else if (outcome.result == VERIFY_DMARC_PERMERROR) {
		say(audit, "error", "dmarc",
		    "the record at _dmarc.%s cannot be read (a tag twice, a control character): "
		    "receivers apply no policy",
		    outcome.policy_domain);
	} else if (record == NULL) {
		say(audit, "warning", "dmarc",
		    "no DMARC record applies (_dmarc.%s or above): receivers apply no policy to "
		    "forgeries",
		    domain);
	} else {
		const char *from =
		    strcmp(outcome.policy_domain, domain) == 0 ? "its own" : "inherited";
		g_autofree char *ours =
		    outcome.org_domain != NULL ? g_strdup(outcome.org_domain) : g_strdup(domain);

		say(audit, record->p == VERIFY_DMARC_POLICY_NONE ? "info" : "ok", "dmarc",
		    "%s record at _dmarc.%s: p=%s%s", from, outcome.policy_domain,
		    verify_dmarc_policy_to_string(record->p),
		    record->p == VERIFY_DMARC_POLICY_NONE ? " (monitoring: forgeries are delivered)"
							  : "");
		if (record->pct_present && record->pct < 100)
			say(audit, "info", "dmarc",
			    "pct=%u: the policy covers part of the failing mail", record->pct);
		if (record->testing)
			say(audit, "info", "dmarc", "t=y: receivers apply one step less than p=");
		if (record->rua->len == 0)
			say(audit, "warning", "dmarc", "no rua=: no aggregate reports come back");
		for (guint i = 0; i < record->rua->len; i++) {
			const VerifyDmarcUri *uri = g_ptr_array_index(record->rua, i);
			const char *at = strrchr(uri->uri, '@');
			g_autofree char *host = NULL;
			g_autofree char *theirs = NULL;
			g_autofree char *name = NULL;
			g_autoptr(GPtrArray) confirm = NULL;
			PcDnsStatus status;

			if (!uri->mailto || at == NULL) {
				say(audit, "warning", "dmarc", "rua %s: not a mailto: address",
				    uri->uri);
				continue;
			}
			host = g_ascii_strdown(at + 1, -1);
			host[strcspn(host, "?")] = '\0';
			theirs = verify_dmarc_org_domain(host, &resolver, NULL);
			if (theirs != NULL && g_ascii_strcasecmp(theirs, ours) == 0) {
				say(audit, "ok", "dmarc", "rua %s: within the organisation",
				    uri->uri);
				continue;
			}
			name = g_strdup_printf("%s._report._dmarc.%s", outcome.policy_domain, host);
			confirm = txt_records(audit, name, "v=DMARC1", &status);
			if (confirm == NULL)
				say(audit, "warning", "dmarc", "rua %s: DNS %s for %s: not judged",
				    uri->uri, pc_dns_status_to_string(status), name);
			else if (confirm->len == 0)
				say(audit, "error", "dmarc",
				    "rua %s: outside the organisation and %s has no v=DMARC1 "
				    "record: "
				    "receivers send no reports there (RFC 7489 7.1)",
				    uri->uri, name);
			else
				say(audit, "ok", "dmarc", "rua %s: confirmed by %s", uri->uri,
				    name);
		}
	}
	verify_dmarc_outcome_clear(&outcome);
}

/* --- DKIM --- */

/* the bits of an RSA public key in base64 p=, or 0 */
static int
rsa_bits(const char *p)
{
	gsize len = 0;
	g_autofree guchar *der = NULL;
	g_autofree char *clean = g_strdup(p);
	const unsigned char *at;
	EVP_PKEY *key;
	int bits = 0;

	g_strdelimit(clean, " \t\r\n", ' ');
	{
		char *w = clean;

		for (const char *r = clean; *r != '\0'; r++)
			if (*r != ' ')
				*w++ = *r;
		*w = '\0';
	}
	der = g_base64_decode(clean, &len);
	at = der;
	key = len > 0 ? d2i_PUBKEY(NULL, &at, (long)len) : NULL;
	if (key != NULL) {
		bits = EVP_PKEY_get_bits(key);
		EVP_PKEY_free(key);
	}
	return bits;
}

static void
audit_dkim(Audit *audit, const char *domain, const char *selector)
{
	g_autofree char *name = g_strdup_printf("%s._domainkey.%s", selector, domain);
	g_autoptr(PcDnsResult) result = ask(audit, name, PC_DNS_TYPE_TXT);
	VerifyDkimKey key;
	g_autoptr(VerifyDkimTagList) tags = NULL;
	const PcDnsRecord *record;

	if (!pc_dns_status_is_answer(result->status)) {
		say(audit, "warning", "dkim", "%s: DNS %s: not judged", name,
		    pc_dns_status_to_string(result->status));
		return;
	}
	if (result->records->len == 0) {
		say(audit, "error", "dkim", "%s: no key record: signatures with s=%s fail", name,
		    selector);
		return;
	}
	if (result->records->len > 1) {
		say(audit, "error", "dkim", "%s: %u records: verifiers may pick either", name,
		    result->records->len);
		return;
	}
	record = pc_dns_result_record(result, 0);
	verify_dkim_key_parse(record->text, record->text_len, &key);
	if (key.error != NULL) {
		say(audit, "error", "dkim", "%s: %s", name, key.error);
		return;
	}
	if (key.revoked) {
		say(audit, "info", "dkim", "%s: revoked (empty p=)", name);
		return;
	}
	if (key.testing)
		say(audit, "info", "dkim", "%s: t=y: verifiers may treat failures as unsigned",
		    name);
	if (key.type == VERIFY_DKIM_KEY_ED25519) {
		say(audit, "ok", "dkim", "%s: Ed25519 (RFC 8463)", name);
		return;
	}
	if (key.type != VERIFY_DKIM_KEY_RSA) {
		say(audit, "warning", "dkim", "%s: a key type verifiers do not know", name);
		return;
	}
	tags = verify_dkim_tags_parse(record->text, record->text_len);
	{
		int bits = rsa_bits(
		    verify_dkim_tags_get(tags, "p") != NULL ? verify_dkim_tags_get(tags, "p") : "");

		if (bits == 0)
			say(audit, "error", "dkim", "%s: p= is not an RSA public key", name);
		else if (bits < 1024)
			say(audit, "error", "dkim",
			    "%s: RSA %d bits: verifiers refuse keys under 1024 (RFC 8301)", name,
			    bits);
		else if (bits < 2048)
			say(audit, "warning", "dkim", "%s: RSA %d bits: use 2048 or more", name,
			    bits);
		else
			say(audit, "ok", "dkim", "%s: RSA %d bits", name, bits);
	}
}

/* --- MX, reverse DNS, DANE --- */

static void
audit_address(Audit *audit, const char *host, const PcNetAddress *address)
{
	char text[PC_NET_ADDRESS_STRLEN];
	g_autofree char *reverse = NULL;
	g_autoptr(PcDnsResult) ptr = NULL;
	gboolean confirmed = FALSE;

	pc_net_address_to_string(address, text, sizeof(text));
	if (pc_net_address_is_v4(address)) {
		guint a, b, c, d;

		if (sscanf(text, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
			return;
		reverse = g_strdup_printf("%u.%u.%u.%u.in-addr.arpa", d, c, b, a);
	} else {
		GString *name = g_string_new(NULL);
		struct in6_addr raw;

		if (inet_pton(AF_INET6, text, &raw) != 1) {
			g_string_free(name, TRUE);
			return;
		}
		for (int i = 15; i >= 0; i--)
			g_string_append_printf(name, "%x.%x.", raw.s6_addr[i] & 0xf,
					       raw.s6_addr[i] >> 4);
		g_string_append(name, "ip6.arpa");
		reverse = g_string_free(name, FALSE);
	}
	ptr = ask(audit, reverse, PC_DNS_TYPE_PTR);
	if (ptr->status != PC_DNS_OK) {
		say(audit, "warning", "mx",
		    "%s (%s): no reverse name (%s): many receivers distrust such servers", host,
		    text, pc_dns_status_to_string(ptr->status));
		return;
	}
	for (guint i = 0; i < ptr->records->len && !confirmed; i++) {
		const char *name = pc_dns_result_record(ptr, i)->name;
		guint16 types[] = {PC_DNS_TYPE_A, PC_DNS_TYPE_AAAA};

		for (gsize t = 0; t < G_N_ELEMENTS(types) && !confirmed; t++) {
			g_autoptr(PcDnsResult) forward = ask(audit, name, types[t]);

			for (guint j = 0; forward->status == PC_DNS_OK && j < forward->records->len;
			     j++) {
				if (memcmp(pc_dns_result_record(forward, j)->address.bytes,
					   address->bytes, sizeof(address->bytes)) == 0)
					confirmed = TRUE;
			}
		}
		if (confirmed)
			say(audit, "ok", "mx", "%s (%s): reverse name %s, confirmed forward", host,
			    text, name);
	}
	if (!confirmed)
		say(audit, "warning", "mx",
		    "%s (%s): the reverse name does not lead back to the address (not "
		    "forward-confirmed)",
		    host, text);
}

static void
audit_dane(Audit *audit, const char *host)
{
	g_autofree char *name = g_strdup_printf("_25._tcp.%s", host);
	g_autoptr(PcDnsResult) tlsa = ask(audit, name, PC_DNS_TYPE_TLSA);

	if (!pc_config_get_global(audit->config)->dnssec) {
		if (tlsa->status == PC_DNS_OK)
			say(audit, "info", "dane",
			    "%s has TLSA records; not judged: [global] dnssec is off here", name);
		return;
	}
	if (tlsa->status != PC_DNS_OK)
		say(audit, "info", "dane", "%s: no TLSA records (no DANE for this MX)", name);
	else if (!tlsa->secure)
		say(audit, "warning", "dane",
		    "%s: TLSA records without DNSSEC: senders ignore them (RFC 7672)", name);
	else
		say(audit, "ok", "dane", "%s: %u TLSA records, DNSSEC-validated", name,
		    tlsa->records->len);
}

static void
audit_mx(Audit *audit, const char *domain)
{
	g_autoptr(PcDnsResult) mx = ask(audit, domain, PC_DNS_TYPE_MX);

	if (!pc_dns_status_is_answer(mx->status)) {
		say(audit, "warning", "mx", "DNS %s: not judged",
		    pc_dns_status_to_string(mx->status));
		return;
	}
	if (mx->status != PC_DNS_OK) {
		say(audit, "info", "mx",
		    "no MX record: mail goes to %s's own address (RFC 5321 5.1)", domain);
		return;
	}
	for (guint i = 0; i < mx->records->len; i++) {
		const PcDnsRecord *record = pc_dns_result_record(mx, i);
		guint16 types[] = {PC_DNS_TYPE_A, PC_DNS_TYPE_AAAA};
		guint addresses = 0;

		if (strcmp(record->name, ".") == 0) {
			say(audit, "info", "mx", "null MX: %s accepts no mail (RFC 7505)", domain);
			return;
		}
		say(audit, "info", "mx", "MX %u %s", record->preference, record->name);
		g_ptr_array_add(audit->mx_hosts, g_ascii_strdown(record->name, -1));
		for (gsize t = 0; t < G_N_ELEMENTS(types); t++) {
			g_autoptr(PcDnsResult) a = ask(audit, record->name, types[t]);

			for (guint j = 0; a->status == PC_DNS_OK && j < a->records->len;
			     j++, addresses++)
				audit_address(audit, record->name,
					      &pc_dns_result_record(a, j)->address);
		}
		if (addresses == 0)
			say(audit, "error", "mx",
			    "%s has no address: mail to it cannot be delivered", record->name);
		audit_dane(audit, record->name);
	}
}

/* --- MTA-STS, TLS-RPT --- */

static void
audit_policy_records(Audit *audit, const char *domain)
{
	const struct {
		const char *check;
		const char *prefix;
		const char *label;
		const char *absent;
	} kinds[] = {
	    {"mta-sts", "v=STSv1", "_mta-sts",
	     "no MTA-STS record: senders may fall back to "
	     "plain text on port 25 under attack (RFC 8461)"},
	    {"tls-rpt", "v=TLSRPTv1", "_smtp._tls",
	     "no TLS-RPT record: senders do not report TLS failures to you (RFC 8460)"},
	};

	for (gsize k = 0; k < G_N_ELEMENTS(kinds); k++) {
		g_autofree char *name = g_strdup_printf("%s.%s", kinds[k].label, domain);
		PcDnsStatus status;
		g_autoptr(GPtrArray) found = txt_records(audit, name, kinds[k].prefix, &status);

		if (found == NULL)
			say(audit, "warning", kinds[k].check, "%s: DNS %s: not judged", name,
			    pc_dns_status_to_string(status));
		else if (found->len == 0)
			say(audit, "info", kinds[k].check, "%s", kinds[k].absent);
		else if (found->len > 1)
			say(audit, "error", kinds[k].check,
			    "%s: %u records: senders ignore them all", name, found->len);
		else if (k == 0 && !audit->https)
			say(audit, "ok", kinds[k].check,
			    "%s: %s (the policy file at https://mta-sts.%s/.well-known/mta-sts.txt "
			    "is fetched with --https)",
			    name, (char *)found->pdata[0], domain);
		else if (k == 0) {
			audit->sts_record = TRUE;
			say(audit, "ok", kinds[k].check, "%s: %s", name, (char *)found->pdata[0]);
		} else
			say(audit, "ok", kinds[k].check, "%s: %s", name, (char *)found->pdata[0]);
	}
}

/* --- the MTA-STS policy over HTTPS (RFC 8461 3.3) --- */

#define STS_MAX_BODY (64 * 1024)

/* the policy file's text, fetched with the certificate verified for host; NULL with why */
static char *
https_get(Audit *audit, const char *host, char **why_out)
{
	g_autoptr(PcDnsResult) a = pc_dns_query(audit->dns, host, PC_DNS_TYPE_A, NULL);
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1;
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(443)};
	struct timeval tv = {10, 0};
	g_autoptr(GString) page = g_string_new(NULL);
	g_autofree char *request = g_strdup_printf(
	    "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
	char *result = NULL;
	long verify;

	if (a->status != PC_DNS_OK) {
		*why_out = g_strdup_printf("%s has no address (%s)", host,
					   pc_dns_status_to_string(a->status));
		return NULL;
	}
	/* the IPv4 address, from pc-net's mapped form */
	memcpy(&address.sin_addr, pc_dns_result_record(a, 0)->address.bytes + 12, 4);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
		*why_out = g_strdup_printf("%s:443: %s", host, g_strerror(errno));
		goto out;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_default_verify_paths(ctx);
	if (audit->ca_file != NULL &&
	    SSL_CTX_load_verify_locations(ctx, audit->ca_file, NULL) != 1) {
		*why_out = g_strdup_printf("--ca-file %s cannot be read", audit->ca_file);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), host, 0);
	if (SSL_connect(ssl) != 1) {
		*why_out = g_strdup_printf("%s:443: no TLS", host);
		goto out;
	}
	verify = SSL_get_verify_result(ssl);
	if (verify != X509_V_OK) {
		*why_out = g_strdup_printf("the certificate of %s is not valid for it: %s", host,
					   X509_verify_cert_error_string(verify));
		goto out;
	}
	if (SSL_write(ssl, request, (int)strlen(request)) != (int)strlen(request)) {
		*why_out = g_strdup("the request could not be sent");
		goto out;
	}
	while (page->len < STS_MAX_BODY + 4096) {
		char buf[4096];
		int n = SSL_read(ssl, buf, sizeof(buf));

		if (n <= 0)
			break;
		g_string_append_len(page, buf, n);
	}
	{
		const char *body = strstr(page->str, "\r\n\r\n");

		if (!g_str_has_prefix(page->str, "HTTP/1.") ||
		    strncmp(page->str + 8, " 200", 4) != 0 || body == NULL) {
			*why_out = g_strdup_printf(
			    "https://%s/.well-known/mta-sts.txt: no 200 answer", host);
			goto out;
		}
		result = g_strdup(body + 4);
	}
out:
	if (ssl != NULL)
		SSL_free(ssl);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return result;
}

/* an mx: pattern ("mail.example.com", "*.example.com": one label) matches host */
static gboolean
sts_mx_matches(const char *pattern, const char *host)
{
	if (g_str_has_prefix(pattern, "*.")) {
		const char *dot = strchr(host, '.');

		return dot != NULL && g_ascii_strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return g_ascii_strcasecmp(pattern, host) == 0;
}

static void
audit_sts_policy(Audit *audit, const char *domain)
{
	g_autofree char *host = g_strdup_printf("mta-sts.%s", domain);
	g_autofree char *why = NULL;
	g_autofree char *policy = https_get(audit, host, &why);
	g_auto(GStrv) lines = NULL;
	g_autoptr(GPtrArray) patterns = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *mode = NULL;
	gboolean version = FALSE;
	guint64 max_age = 0;

	if (policy == NULL) {
		say(audit, "error", "mta-sts",
		    "the policy cannot be fetched: %s (senders ignore "
		    "MTA-STS for you)",
		    why);
		return;
	}
	lines = g_strsplit(policy, "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		char *line = g_strstrip(*l);
		char *colon = strchr(line, ':');

		if (colon == NULL)
			continue;
		*colon = '\0';
		{
			const char *value = g_strstrip(colon + 1);

			if (strcmp(line, "version") == 0)
				version = strcmp(value, "STSv1") == 0;
			else if (strcmp(line, "mode") == 0)
				mode = g_strdup(value);
			else if (strcmp(line, "mx") == 0)
				g_ptr_array_add(patterns, g_ascii_strdown(value, -1));
			else if (strcmp(line, "max_age") == 0)
				g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &max_age,
							   NULL);
		}
	}
	if (!version || mode == NULL || patterns->len == 0 || max_age == 0) {
		say(audit, "error", "mta-sts",
		    "the policy is not valid (version: STSv1, mode, mx and max_age are required)");
		return;
	}
	say(audit, strcmp(mode, "enforce") == 0 ? "ok" : "info", "mta-sts",
	    "policy fetched from https://%s: mode %s, %u mx patterns, max_age %" G_GUINT64_FORMAT,
	    host, mode, patterns->len, max_age);
	if (max_age > 31557600)
		say(audit, "warning", "mta-sts",
		    "max_age over a year (RFC 8461 3.2: 31557600 at most)");
	for (guint i = 0; i < audit->mx_hosts->len; i++) {
		const char *mx = audit->mx_hosts->pdata[i];
		gboolean matched = FALSE;

		for (guint p = 0; p < patterns->len && !matched; p++)
			matched = sts_mx_matches(patterns->pdata[p], mx);
		if (!matched)
			say(audit, strcmp(mode, "enforce") == 0 ? "error" : "warning", "mta-sts",
			    "MX %s matches no mx: line of the policy: senders %s", mx,
			    strcmp(mode, "enforce") == 0 ? "will not deliver to it"
							 : "will report failures for it");
	}
}

/* --- the command --- */

static void
print_findings(const GPtrArray *findings, gboolean json)
{
	static const char *const names[] = {"severity", "check", "text"};
	static const int widths[] = {8, 8, 0};

	tool_print_findings(findings, G_N_ELEMENTS(names), names, widths, json);
}

int
tool_audit_domain(int argc, char **argv)
{
	g_autofree char *config_path = NULL;
	g_auto(GStrv) selectors = NULL;
	gboolean json = FALSE;
	gboolean https = FALSE;
	g_autofree char *ca_file = NULL;
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"selector", 's', 0, G_OPTION_ARG_STRING_ARRAY, &selectors,
	     "a DKIM selector to check (repeat for more)", "SELECTOR"},
	    {"json", 0, 0, G_OPTION_ARG_NONE, &json, "the findings as JSON", NULL},
	    {"https", 0, 0, G_OPTION_ARG_NONE, &https,
	     "fetch the MTA-STS policy file (HTTPS to mta-sts.DOMAIN)", NULL},
	    {"ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
	     "with --https: trust this file's CAs too (a private CA)", "FILE"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("DOMAIN - the DNS side of DOMAIN's mail");
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *domain = NULL;
	Audit audit;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 2) {
		g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);

		fprintf(stderr, TOOL_NAME ": %s\n\n%s",
			error != NULL ? error->message : "one DOMAIN", help);
		return TOOL_EXIT_USAGE;
	}
	domain = g_ascii_strdown(argv[1], -1);
	if (g_str_has_suffix(domain, "."))
		domain[strlen(domain) - 1] = '\0';
	if (!pc_spf_domain_is_checkable(domain)) {
		fprintf(stderr, TOOL_NAME ": %s is not a domain name\n", argv[1]);
		return TOOL_EXIT_USAGE;
	}
	for (char **s = selectors; s != NULL && *s != NULL; s++) {
		if (!verify_dkim_name_is_valid(*s, 1)) {
			fprintf(stderr, TOOL_NAME ": --selector %s is not a selector\n", *s);
			return TOOL_EXIT_USAGE;
		}
	}
	if (!tool_load("audit domain", config_path, NULL, &config, &dns))
		return TOOL_EXIT_USAGE;
	audit =
	    (Audit){dns, config, findings, https, ca_file, g_ptr_array_new_with_free_func(g_free)};
	audit_spf(&audit, domain);
	audit_dmarc(&audit, domain);
	for (char **s = selectors; s != NULL && *s != NULL; s++)
		audit_dkim(&audit, domain, *s);
	if (selectors == NULL)
		say(&audit, "info", "dkim", "no --selector given: no DKIM key checked");
	audit_mx(&audit, domain);
	audit_policy_records(&audit, domain);
	if (https && audit.sts_record)
		audit_sts_policy(&audit, domain);
	g_ptr_array_unref(audit.mx_hosts);
	print_findings(findings, json);
	return TOOL_EXIT_OK;
}

/* portcullis audit domain|smtp ... */
int
tool_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "domain") == 0)
		return tool_audit_domain(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "smtp") == 0)
		return tool_audit_smtp(argc - 1, argv + 1);
	fprintf(stderr,
		"usage: portcullis audit domain [-c FILE] [--selector S]... [--json] "
		"DOMAIN\n"
		"       portcullis audit smtp [--source ADDRESS] [--domain DOMAIN] [--json] "
		"HOST[:PORT[/ROLE]]...\n");
	return TOOL_EXIT_USAGE;
}
