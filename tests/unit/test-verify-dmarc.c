/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for verify-dmarc: DMARC evaluation against zones held in tables.
 *  - the tree walk's targets for names of 1 to 14 labels (generated), and
 *    RFC 9989's deep example;
 *  - organisational domains from every placement of records and psd= values;
 *  - policy discovery: the author domain's record, the organisational
 *    domain's, the public suffix domain's, several records at one name,
 *    records that are not DMARC, records that cannot be read;
 *  - alignment: each relation of an identifier to the author domain
 *    (same, below, above, sibling, another organisation, a look-alike
 *    suffix, case) x strict and relaxed x SPF and DKIM x both discovery
 *    methods (generated);
 *  - the policy asked: p, sp, np x existing and non-existent author domains
 *    x where the record was found (generated), with pct= samples and t=;
 *  - DNS failures at each place they can happen, and when they do not
 *    matter.
 */
#include <string.h>

#include <glib.h>

#include "verify-dmarc.h"

/* --- a zone in a table --- */

typedef struct {
	GHashTable *txt; /* "_dmarc.NAME" -> GPtrArray of char * (texts), or of one "!STATUS" */
	GHashTable *nx;	 /* names whose A lookup is NXDOMAIN ("!" prefix: SERVFAIL) */
	GPtrArray *asked;
	VerifyDmarcResolver resolver;
} Zone;

static PcDnsStatus
zone_txt(gpointer data, const char *name, GPtrArray *texts_out)
{
	Zone *zone = data;
	GPtrArray *texts = g_hash_table_lookup(zone->txt, name);

	g_ptr_array_add(zone->asked, g_strdup(name));
	if (texts == NULL)
		return PC_DNS_NXDOMAIN;
	if (texts->len == 1 && ((char *)texts->pdata[0])[0] == '!')
		return strcmp(texts->pdata[0], "!timeout") == 0 ? PC_DNS_TIMEOUT : PC_DNS_SERVFAIL;
	for (guint i = 0; i < texts->len; i++)
		g_ptr_array_add(texts_out, g_bytes_new(texts->pdata[i], strlen(texts->pdata[i])));
	return PC_DNS_OK;
}

static PcDnsStatus
zone_address(gpointer data, const char *name)
{
	Zone *zone = data;
	const char *nx = g_hash_table_lookup(zone->nx, name);

	g_ptr_array_add(zone->asked, g_strconcat("A ", name, NULL));
	if (nx == NULL)
		return PC_DNS_OK;
	return nx[0] == '!' ? PC_DNS_SERVFAIL : PC_DNS_NXDOMAIN;
}

static Zone *
zone_new(void)
{
	Zone *zone = g_new0(Zone, 1);

	zone->txt = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)g_ptr_array_unref);
	zone->nx = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	zone->asked = g_ptr_array_new_with_free_func(g_free);
	zone->resolver = (VerifyDmarcResolver){zone_txt, zone_address, zone};
	return zone;
}

static void
zone_free(Zone *zone)
{
	g_hash_table_unref(zone->txt);
	g_hash_table_unref(zone->nx);
	g_ptr_array_unref(zone->asked);
	g_free(zone);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Zone, zone_free)

/* a TXT record at _dmarc.domain ("!servfail", "!timeout": that failure instead) */
static void
zone_add(Zone *zone, const char *domain, const char *text)
{
	g_autofree char *name = g_strconcat("_dmarc.", domain, NULL);
	GPtrArray *texts = g_hash_table_lookup(zone->txt, name);

	if (texts == NULL) {
		texts = g_ptr_array_new_with_free_func(g_free);
		g_hash_table_insert(zone->txt, g_strdup(name), texts);
	}
	g_ptr_array_add(texts, g_strdup(text));
}

/* "name[:psd] name[:psd] ...": a plain record at each (psd=y/n/u when given) */
static void
zone_add_records(Zone *zone, const char *spec)
{
	g_auto(GStrv) words = g_strsplit(spec, " ", -1);

	for (char **w = words; *w != NULL; w++) {
		g_auto(GStrv) parts = g_strsplit(*w, ":", 2);
		g_autofree char *text =
		    g_strdup_printf("v=DMARC1; p=none%s%s", parts[1] != NULL ? "; psd=" : "",
				    parts[1] != NULL ? parts[1] : "");

		if (**w != '\0')
			zone_add(zone, parts[0], text);
	}
}

static void
zone_set_nx(Zone *zone, const char *domain, gboolean servfail)
{
	g_hash_table_insert(zone->nx, g_strdup(domain), g_strdup(servfail ? "!" : "nx"));
}

static char *
asked_string(const Zone *zone)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; i < zone->asked->len; i++)
		g_string_append_printf(out, "%s%s", i > 0 ? " " : "",
				       (const char *)zone->asked->pdata[i]);
	return g_strdup(out->str);
}

static void
evaluate(Zone *zone, const char *author, const char *spf, const char *const *dkim,
	 VerifyDmarcDiscovery discovery, const VerifyPsl *psl, guint sample,
	 VerifyDmarcOutcome *outcome)
{
	VerifyDmarcInput input = {
	    .author_domain = author,
	    .spf_domain = spf,
	    .dkim_domains = dkim,
	    .discovery = discovery,
	    .psl = psl,
	    .sample = sample,
	};

	g_ptr_array_set_size(zone->asked, 0);
	verify_dmarc_evaluate(&input, &zone->resolver, outcome);
}

/* --- the walk --- */

/* a name of n labels: "l1.l2...ln" with l1 leftmost */
static char *
name_of(guint n)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 1; i <= n; i++)
		g_string_append_printf(out, "%sl%u", i > 1 ? "." : "", i);
	return g_strdup(out->str);
}

/* the rightmost k labels of a name of n labels from name_of */
static char *
rightmost(guint n, guint k)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = n - k + 1; i <= n; i++)
		g_string_append_printf(out, "%sl%u", i > n - k + 1 ? "." : "", i);
	return g_strdup(out->str);
}

/*
 * RFC 9989 4.10 stated as a list: the name, then its rightmost
 * min(n - 1, 7) labels, then one label fewer each time down to one
 */
static void
test_walk_targets(void)
{
	for (guint n = 1; n <= 14; n++) {
		g_autoptr(Zone) zone = zone_new();
		g_autofree char *name = name_of(n);
		g_autoptr(GString) want = g_string_new(NULL);
		g_autofree char *got = NULL;
		g_autofree char *org = NULL;
		guint lookups = 0;

		g_string_append_printf(want, "_dmarc.%s", name);
		for (guint k = MIN(n - 1, 7); k >= 1; k--) {
			g_autofree char *suffix = rightmost(n, k);

			g_string_append_printf(want, " _dmarc.%s", suffix);
		}
		org = verify_dmarc_org_domain(name, &zone->resolver, &lookups);
		got = asked_string(zone);
		g_assert_cmpstr(got, ==, want->str);
		g_assert_cmpuint(lookups, ==, zone->asked->len);
		g_assert_cmpuint(lookups, <=, VERIFY_DMARC_MAX_WALK);
		/* no record anywhere: the name is its own organisational domain */
		g_assert_cmpstr(org, ==, name);
	}
}

/* RFC 9989 B.4.2 */
static void
test_walk_deep_example(void)
{
	g_autoptr(Zone) zone = zone_new();
	const char *dkim[] = {"signing.example.com", NULL};
	VerifyDmarcOutcome outcome;
	g_autofree char *asked = NULL;

	zone_add(zone, "example.com", "v=DMARC1; p=reject");
	zone_add(zone, "signing.example.com", "v=DMARC1; p=none");
	evaluate(zone, "a.b.c.d.e.f.g.h.i.j.k.example.com", "example.com", dkim,
		 VERIFY_DMARC_DISCOVERY_TREE_WALK, NULL, 0, &outcome);
	asked = asked_string(zone);
	g_assert_true(g_str_has_prefix(
	    asked, "_dmarc.a.b.c.d.e.f.g.h.i.j.k.example.com _dmarc.g.h.i.j.k.example.com "
		   "_dmarc.h.i.j.k.example.com _dmarc.i.j.k.example.com _dmarc.j.k.example.com "
		   "_dmarc.k.example.com _dmarc.example.com _dmarc.com"));
	g_assert_cmpint(outcome.result, ==, VERIFY_DMARC_PASS);
	g_assert_cmpstr(outcome.org_domain, ==, "example.com");
	g_assert_cmpstr(outcome.policy_domain, ==, "example.com");
	g_assert_true(outcome.spf_aligned);
	g_assert_cmpstr(outcome.dkim_aligned, ==, "signing.example.com");
	verify_dmarc_outcome_clear(&outcome);
}

/* the organisational domain from each placement of records and psd= */
static void
test_org_domain(void)
{
	const struct {
		const char *records;
		const char *start;
		const char *want;
	} cases[] = {
	    /* no record: the name itself */
	    {"", "a.mail.example.com", "a.mail.example.com"},
	    {"", "com", "com"},
	    /* the record with the fewest labels (RFC 9989 4.10.2's example) */
	    {"mail.example.com example.com", "a.mail.example.com", "example.com"},
	    {"example.com", "a.mail.example.com", "example.com"},
	    {"a.mail.example.com", "a.mail.example.com", "a.mail.example.com"},
	    {"a.mail.example.com mail.example.com", "a.mail.example.com", "mail.example.com"},
	    {"example.com", "example.com", "example.com"},
	    /* a record at the top-level name without psd= counts like any other */
	    {"com example.com", "a.example.com", "com"},
	    /* psd=n: that name, whatever is above or below */
	    {"a.mail.example.com mail.example.com:n example.com", "a.mail.example.com",
	     "mail.example.com"},
	    {"a.mail.example.com:n example.com", "a.mail.example.com", "a.mail.example.com"},
	    {"example.com:n", "a.mail.example.com", "example.com"},
	    /* psd=y above the start: one label below it, on the start's path */
	    {"com:y", "a.mail.example.com", "example.com"},
	    {"example.com:y", "a.mail.example.com", "mail.example.com"},
	    {"mail.example.com:y", "a.mail.example.com", "a.mail.example.com"},
	    {"mail.example.com com:y", "a.mail.example.com", "example.com"},
	    {"example.com:y com", "a.mail.example.com", "mail.example.com"},
	    /* psd=y at the start itself does not count: its own organisational domain */
	    {"example.com:y", "example.com", "example.com"},
	    {"bank.example:y", "bank.example", "bank.example"},
	    /* psd=u is as if absent */
	    {"mail.example.com:u example.com:u", "a.mail.example.com", "example.com"},
	    /* RFC 9989 B.4.3: a public suffix operator's record */
	    {"bank.example:y", "giant.bank.example", "giant.bank.example"},
	    {"bank.example:y", "mail.giant.bank.example", "giant.bank.example"},
	    {"bank.example:y", "mail.mega.bank.example", "mega.bank.example"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(Zone) zone = zone_new();
		g_autofree char *got = NULL;

		zone_add_records(zone, cases[i].records);
		got = verify_dmarc_org_domain(cases[i].start, &zone->resolver, NULL);
		if (g_strcmp0(got, cases[i].want) != 0)
			g_error("records \"%s\", start %s: org %s, want %s", cases[i].records,
				cases[i].start, got, cases[i].want);
	}
}

/* what is at a name: several DMARC records, other TXT records, unreadable ones */
static void
test_record_sets(void)
{
	const struct {
		const char *author_texts; /* '|'-separated TXT records at the author domain */
		const char *org_text;	  /* at example.com, or NULL */
		VerifyDmarcResult want;	  /* for a message with nothing aligned */
		const char *want_policy_domain;
	} cases[] = {
	    {"v=DMARC1; p=reject", NULL, VERIFY_DMARC_FAIL, "mail.example.com"},
	    /* other TXT records are not DMARC records */
	    {"v=spf1 -all|v=DMARC1; p=reject|hello", NULL, VERIFY_DMARC_FAIL, "mail.example.com"},
	    {"v=DMARC2; p=reject", NULL, VERIFY_DMARC_NONE, NULL},
	    {"v=dmarc1; p=reject", NULL, VERIFY_DMARC_NONE, NULL},
	    {"p=reject; v=DMARC1", NULL, VERIFY_DMARC_NONE, NULL},
	    /* several DMARC records at one name: none there, the walk goes on */
	    {"v=DMARC1; p=reject|v=DMARC1; p=none", NULL, VERIFY_DMARC_NONE, NULL},
	    {"v=DMARC1; p=reject|v=DMARC1; p=none", "v=DMARC1; p=quarantine", VERIFY_DMARC_FAIL,
	     "example.com"},
	    {"v=DMARC1; p=reject|v=DMARC1; p=reject; p=none", "v=DMARC1; p=quarantine",
	     VERIFY_DMARC_FAIL, "example.com"},
	    /* one record that cannot be read: permerror, not the parent's */
	    {"v=DMARC1; p=reject; p=none", "v=DMARC1; p=quarantine", VERIFY_DMARC_PERMERROR,
	     "mail.example.com"},
	    /* no valid policy: p=none with a report address, no DMARC without one */
	    {"v=DMARC1; p=bogus; rua=mailto:r@example.com", NULL, VERIFY_DMARC_FAIL,
	     "mail.example.com"},
	    {"v=DMARC1; p=bogus", "v=DMARC1; p=reject", VERIFY_DMARC_NONE, "mail.example.com"},
	    {"v=DMARC1", NULL, VERIFY_DMARC_NONE, "mail.example.com"},
	    {"v=DMARC1; p=reject; sp=bogus", NULL, VERIFY_DMARC_NONE, "mail.example.com"},
	    /* no record at the author domain: the organisational domain's */
	    {NULL, "v=DMARC1; p=reject", VERIFY_DMARC_FAIL, "example.com"},
	    /*
	     * above the author domain an unreadable record is not a valid one
	     * (RFC 9989 4.10.2): the walk passes over it
	     */
	    {NULL, "v=DMARC1; p=reject; p=none", VERIFY_DMARC_NONE, NULL},
	    {NULL, NULL, VERIFY_DMARC_NONE, NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(Zone) zone = zone_new();
		VerifyDmarcOutcome outcome;

		if (cases[i].author_texts != NULL) {
			g_auto(GStrv) texts = g_strsplit(cases[i].author_texts, "|", -1);

			for (char **t = texts; *t != NULL; t++)
				zone_add(zone, "mail.example.com", *t);
		}
		if (cases[i].org_text != NULL)
			zone_add(zone, "example.com", cases[i].org_text);
		evaluate(zone, "mail.example.com", NULL, NULL, VERIFY_DMARC_DISCOVERY_TREE_WALK,
			 NULL, 0, &outcome);
		if (outcome.result != cases[i].want ||
		    g_strcmp0(outcome.policy_domain, cases[i].want_policy_domain) != 0)
			g_error("case %" G_GSIZE_FORMAT " (%s / %s): %s at %s, want %s at %s", i,
				cases[i].author_texts, cases[i].org_text,
				verify_dmarc_result_to_string(outcome.result),
				outcome.policy_domain, verify_dmarc_result_to_string(cases[i].want),
				cases[i].want_policy_domain);
		if (outcome.result == VERIFY_DMARC_FAIL && outcome.record != NULL &&
		    !outcome.record->policy_valid)
			g_assert_cmpint(outcome.requested, ==, VERIFY_DMARC_POLICY_NONE);
		verify_dmarc_outcome_clear(&outcome);
	}
}

/* --- alignment, generated --- */

typedef enum {
	REL_SAME,	 /* the author domain itself */
	REL_SAME_CASE,	 /* the author domain, other case */
	REL_BELOW,	 /* a subdomain of the author domain */
	REL_ORG,	 /* the organisational domain (the author is a subdomain) */
	REL_SIBLING,	 /* another subdomain of the organisational domain */
	REL_OTHER_ORG,	 /* another organisation */
	REL_LOOKALIKE,	 /* a name ending in the organisation's text, not below it */
	REL_OTHER_UNDER, /* another organisation under the same multi-label suffix */
	N_REL,
} Relation;

/*
 * The author domain is mail.example.co.uk (organisational domain
 * example.co.uk); identifiers in each relation to it.
 */
static const char *const identifiers[N_REL] = {
    [REL_SAME] = "mail.example.co.uk",	    [REL_SAME_CASE] = "Mail.EXAMPLE.co.uk",
    [REL_BELOW] = "out.mail.example.co.uk", [REL_ORG] = "example.co.uk",
    [REL_SIBLING] = "news.example.co.uk",   [REL_OTHER_ORG] = "example.org",
    [REL_LOOKALIKE] = "badexample.co.uk",   [REL_OTHER_UNDER] = "other.co.uk",
};

static gboolean
want_aligned(Relation relation, gboolean strict)
{
	switch (relation) {
	case REL_SAME:
	case REL_SAME_CASE:
		return TRUE;
	case REL_BELOW:
	case REL_ORG:
	case REL_SIBLING:
		return !strict;
	default:
		return FALSE;
	}
}

static const char psl_data[] = "uk\nco.uk\norg\n";

static void
test_alignment_matrix(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyPsl) psl =
	    verify_psl_new_from_data(psl_data, sizeof(psl_data) - 1, "test", &error);

	g_assert_no_error(error);
	for (int discovery = 0; discovery < 2; discovery++)
		for (int strict = 0; strict < 2; strict++)
			for (int dkim = 0; dkim < 2; dkim++)
				for (int rel = 0; rel < N_REL; rel++) {
					g_autoptr(Zone) zone = zone_new();
					g_autofree char *record = g_strdup_printf(
					    "v=DMARC1; p=reject; %s=%s", dkim ? "adkim" : "aspf",
					    strict ? "s" : "r");
					const char *ids[] = {identifiers[rel], NULL};
					VerifyDmarcOutcome outcome;
					gboolean want = want_aligned(rel, strict);
					gboolean got;

					/*
					 * the tree walk finds example.co.uk by its record (co.uk
					 * says psd=y); the list knows co.uk
					 */
					zone_add(zone, "example.co.uk", record);
					zone_add(zone, "co.uk", "v=DMARC1; p=none; psd=y");
					evaluate(zone, "mail.example.co.uk", dkim ? NULL : ids[0],
						 dkim ? ids : NULL, discovery, psl, 0, &outcome);
					got = dkim ? outcome.dkim_aligned != NULL
						   : outcome.spf_aligned;
					if (got != want ||
					    outcome.result !=
						(want ? VERIFY_DMARC_PASS : VERIFY_DMARC_FAIL))
						g_error(
						    "%s %s %s %s: aligned %d (%s), want %d",
						    discovery ? "psl" : "walk",
						    strict ? "strict" : "relaxed",
						    dkim ? "dkim" : "spf", identifiers[rel], got,
						    verify_dmarc_result_to_string(outcome.result),
						    want);
					/* another organisation costs no lookup of its own */
					if (rel == REL_OTHER_ORG || rel == REL_LOOKALIKE ||
					    rel == REL_OTHER_UNDER || strict)
						g_assert_cmpuint(outcome.lookups, <=, 4);
					verify_dmarc_outcome_clear(&outcome);
				}
}

/* SPF and DKIM together: either aligned passes; the first aligned d= is named */
static void
test_alignment_either(void)
{
	g_autoptr(Zone) zone = zone_new();
	const char *dkim[] = {"example.org", "mail.example.com", "example.com", NULL};
	VerifyDmarcOutcome outcome;

	zone_add(zone, "example.com", "v=DMARC1; p=reject");
	evaluate(zone, "example.com", "bounces.example.net", dkim, VERIFY_DMARC_DISCOVERY_TREE_WALK,
		 NULL, 0, &outcome);
	g_assert_cmpint(outcome.result, ==, VERIFY_DMARC_PASS);
	g_assert_false(outcome.spf_aligned);
	g_assert_cmpstr(outcome.dkim_aligned, ==, "mail.example.com");
	verify_dmarc_outcome_clear(&outcome);

	/* nothing passed at all: a fail without a walk beyond the author domain */
	evaluate(zone, "example.com", NULL, NULL, VERIFY_DMARC_DISCOVERY_TREE_WALK, NULL, 0,
		 &outcome);
	g_assert_cmpint(outcome.result, ==, VERIFY_DMARC_FAIL);
	g_assert_cmpuint(outcome.lookups, ==, 1);
	verify_dmarc_outcome_clear(&outcome);
}

/*
 * libopendmarc 1.4.2's cases, with the public suffix method: strict
 * alignment under a multi-label suffix, and a subdomain without a record
 * taking its organisational domain's sp=
 */
static void
test_psl_cases(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyPsl) psl =
	    verify_psl_new_from_data(psl_data, sizeof(psl_data) - 1, "test", &error);
	g_autoptr(Zone) zone = zone_new();
	const char *dkim_org[] = {"example.co.uk", NULL};
	const char *dkim_same[] = {"example.co.uk", NULL};
	VerifyDmarcOutcome outcome;

	g_assert_no_error(error);
	zone_add(zone, "example.co.uk", "v=DMARC1; p=none; sp=reject; adkim=s");
	/* strict: d=example.co.uk does not align with mail.example.co.uk */
	evaluate(zone, "mail.example.co.uk", NULL, dkim_org, VERIFY_DMARC_DISCOVERY_PSL, psl, 0,
		 &outcome);
	g_assert_cmpint(outcome.result, ==, VERIFY_DMARC_FAIL);
	g_assert_cmpstr(outcome.org_domain, ==, "example.co.uk");
	g_assert_cmpstr(outcome.policy_domain, ==, "example.co.uk");
	/* the subdomain takes sp=, not p= */
	g_assert_cmpstr(outcome.policy_tag, ==, "sp");
	g_assert_cmpint(outcome.disposition, ==, VERIFY_DMARC_POLICY_REJECT);
	/* the list method asks no record above the organisational domain */
	g_assert_cmpuint(outcome.lookups, ==, 2);
	verify_dmarc_outcome_clear(&outcome);
	/* and does align with example.co.uk itself */
	evaluate(zone, "example.co.uk", NULL, dkim_same, VERIFY_DMARC_DISCOVERY_PSL, psl, 0,
		 &outcome);
	g_assert_cmpint(outcome.result, ==, VERIFY_DMARC_PASS);
	g_assert_cmpstr(outcome.policy_tag, ==, "p");
	verify_dmarc_outcome_clear(&outcome);
}

/* --- the policy asked, generated --- */

typedef enum {
	AUTHOR_ORG,	/* the author domain is the organisational domain */
	AUTHOR_SUB,	/* an existing subdomain without a record */
	AUTHOR_NX,	/* a subdomain that does not exist */
	AUTHOR_OWN,	/* a subdomain with a record of its own */
	AUTHOR_PSD_SUB, /* under a public suffix domain only (its psd=y record applies) */
	N_AUTHOR,
} AuthorKind;

static const char *const author_names[N_AUTHOR] = {
    [AUTHOR_ORG] = "example.com",	  [AUTHOR_SUB] = "sub.example.com",
    [AUTHOR_NX] = "nx.example.com",	  [AUTHOR_OWN] = "own.example.com",
    [AUTHOR_PSD_SUB] = "mail.giant.bank",
};

static const VerifyDmarcPolicy policy_values[] = {
    VERIFY_DMARC_POLICY_ABSENT,
    VERIFY_DMARC_POLICY_NONE,
    VERIFY_DMARC_POLICY_QUARANTINE,
    VERIFY_DMARC_POLICY_REJECT,
};

static void
test_policy_matrix(void)
{
	for (int kind = 0; kind < N_AUTHOR; kind++)
		for (gsize p = 1; p < G_N_ELEMENTS(policy_values); p++)
			for (gsize sp = 0; sp < G_N_ELEMENTS(policy_values); sp++)
				for (gsize np = 0; np < G_N_ELEMENTS(policy_values); np++) {
					g_autoptr(Zone) zone = zone_new();
					g_autoptr(GString) text = g_string_new(NULL);
					VerifyDmarcPolicy want;
					const char *want_tag;
					VerifyDmarcOutcome outcome;
					const char *author = author_names[kind];
					gboolean nx_asked;
					g_autofree char *asked = NULL;

					g_string_printf(
					    text, "v=DMARC1; p=%s",
					    verify_dmarc_policy_to_string(policy_values[p]));
					if (sp > 0)
						g_string_append_printf(
						    text, "; sp=%s",
						    verify_dmarc_policy_to_string(
							policy_values[sp]));
					if (np > 0)
						g_string_append_printf(
						    text, "; np=%s",
						    verify_dmarc_policy_to_string(
							policy_values[np]));
					if (kind == AUTHOR_PSD_SUB) {
						g_string_append(text, "; psd=y");
						zone_add(zone, "bank", text->str);
					} else {
						zone_add(zone, "example.com", text->str);
					}
					zone_add(zone, "own.example.com", "v=DMARC1; p=quarantine");
					zone_set_nx(zone, "nx.example.com", FALSE);
					evaluate(zone, author, NULL, NULL,
						 VERIFY_DMARC_DISCOVERY_TREE_WALK, NULL, 0,
						 &outcome);
					/* the rule, stated per kind */
					if (kind == AUTHOR_OWN) {
						want = VERIFY_DMARC_POLICY_QUARANTINE;
						want_tag = "p";
					} else if (kind == AUTHOR_ORG) {
						want = policy_values[p];
						want_tag = "p";
					} else if (kind == AUTHOR_NX && np > 0) {
						want = policy_values[np];
						want_tag = "np";
					} else if (sp > 0) {
						want = policy_values[sp];
						want_tag = "sp";
					} else {
						want = policy_values[p];
						want_tag = "p";
					}
					asked = asked_string(zone);
					nx_asked = strstr(asked, "A ") != NULL;
					if (outcome.result != VERIFY_DMARC_FAIL ||
					    outcome.requested != want ||
					    outcome.disposition != want ||
					    g_strcmp0(outcome.policy_tag, want_tag) != 0)
						g_error(
						    "%s under \"%s\": %s %s=%s, want %s=%s", author,
						    text->str,
						    verify_dmarc_result_to_string(outcome.result),
						    outcome.policy_tag,
						    verify_dmarc_policy_to_string(
							outcome.requested),
						    want_tag, verify_dmarc_policy_to_string(want));
					/* existence is asked only when np= could apply */
					g_assert_cmpint(nx_asked, ==,
							np > 0 && kind != AUTHOR_ORG &&
							    kind != AUTHOR_OWN);
					g_assert_cmpint(outcome.nonexistent, ==,
							kind == AUTHOR_NX && np > 0);
					verify_dmarc_outcome_clear(&outcome);
				}
}

/* pct= (RFC 7489) and t= (RFC 9989): one level lower when out of the sample or testing */
static void
test_pct_and_testing(void)
{
	const guint pcts[] = {0, 1, 50, 99, 100};
	const guint samples[] = {0, 1, 49, 50, 98, 99};

	for (gsize p = 1; p < G_N_ELEMENTS(policy_values); p++)
		for (gsize i = 0; i < G_N_ELEMENTS(pcts) + 1; i++)
			for (gsize s = 0; s < G_N_ELEMENTS(samples); s++)
				for (int testing = 0; testing < 2; testing++) {
					g_autoptr(Zone) zone = zone_new();
					gboolean has_pct = i < G_N_ELEMENTS(pcts);
					g_autofree char *text = g_strdup_printf(
					    "v=DMARC1; p=%s%s%s",
					    verify_dmarc_policy_to_string(policy_values[p]),
					    testing ? "; t=y" : "; t=n", has_pct ? "; pct=" : "");
					g_autofree char *full =
					    has_pct ? g_strdup_printf("%s%u", text, pcts[i])
						    : g_strdup(text);
					VerifyDmarcOutcome outcome;
					VerifyDmarcPolicy want = policy_values[p];
					gboolean out =
					    testing || (has_pct && samples[s] >= pcts[i]);

					if (out)
						want = want == VERIFY_DMARC_POLICY_REJECT
							   ? VERIFY_DMARC_POLICY_QUARANTINE
							   : VERIFY_DMARC_POLICY_NONE;
					zone_add(zone, "example.com", full);
					evaluate(zone, "example.com", NULL, NULL,
						 VERIFY_DMARC_DISCOVERY_TREE_WALK, NULL, samples[s],
						 &outcome);
					if (outcome.disposition != want ||
					    outcome.requested != policy_values[p])
						g_error("\"%s\" sample %u: disposition %s, want %s",
							full, samples[s],
							verify_dmarc_policy_to_string(
							    outcome.disposition),
							verify_dmarc_policy_to_string(want));
					g_assert_cmpint(outcome.downgraded, ==,
							out && policy_values[p] !=
								   VERIFY_DMARC_POLICY_NONE);
					verify_dmarc_outcome_clear(&outcome);
				}
}

/* --- DNS failures --- */

static void
test_dns_failures(void)
{
	const char *dkim_sub[] = {"mail.example.com", NULL};
	const char *dkim_two[] = {"mail.example.com", "example.com", NULL};
	const struct {
		const char *name;
		const char *failing; /* the name whose _dmarc lookup fails */
		const char *nx;	     /* A lookup of this name fails */
		const char *record_at;
		const char *record;
		const char *author;
		const char *spf;
		const char *const *dkim;
		VerifyDmarcResult want;
	} cases[] = {
	    {"author lookup", "example.com", NULL, "example.com", "v=DMARC1; p=reject",
	     "example.com", "example.com", NULL, VERIFY_DMARC_TEMPERROR},
	    {"walk above a record-less author", "com", NULL, NULL, NULL, "example.com", NULL, NULL,
	     VERIFY_DMARC_TEMPERROR},
	    {"org lookup", "example.com", NULL, NULL, NULL, "a.example.com", NULL, NULL,
	     VERIFY_DMARC_TEMPERROR},
	    /* the author's record, nothing needs the walk above it: no failure seen */
	    {"above a record, strict", "com", NULL, "example.com",
	     "v=DMARC1; p=reject; aspf=s; adkim=s", "example.com", "mail.example.com", dkim_sub,
	     VERIFY_DMARC_FAIL},
	    {"above a record, same domains", "com", NULL, "example.com", "v=DMARC1; p=reject",
	     "example.com", "example.com", NULL, VERIFY_DMARC_PASS},
	    /* relaxed alignment needs it */
	    {"above a record, relaxed", "com", NULL, "example.com", "v=DMARC1; p=reject",
	     "example.com", "mail.example.com", NULL, VERIFY_DMARC_TEMPERROR},
	    /* an identifier's own walk fails: unknown, unless another aligns */
	    {"identifier walk", "mail.example.com", NULL, "example.com",
	     "v=DMARC1; p=reject; aspf=s", "example.com", NULL, dkim_sub, VERIFY_DMARC_TEMPERROR},
	    {"identifier walk, another aligns", "mail.example.com", NULL, "example.com",
	     "v=DMARC1; p=reject", "example.com", NULL, dkim_two, VERIFY_DMARC_PASS},
	    /* the existence check for np= */
	    {"np existence", NULL, "sub.example.com", "example.com",
	     "v=DMARC1; p=reject; np=reject", "sub.example.com", NULL, NULL,
	     VERIFY_DMARC_TEMPERROR},
	    {"np existence, pass", NULL, "sub.example.com", "example.com",
	     "v=DMARC1; p=reject; np=reject", "sub.example.com", "sub.example.com", NULL,
	     VERIFY_DMARC_PASS},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (int kind = 0; kind < 2; kind++) {
			g_autoptr(Zone) zone = zone_new();
			VerifyDmarcOutcome outcome;

			if (cases[i].record_at != NULL)
				zone_add(zone, cases[i].record_at, cases[i].record);
			if (cases[i].failing != NULL) {
				g_autofree char *name =
				    g_strconcat("_dmarc.", cases[i].failing, NULL);

				g_hash_table_remove(zone->txt, name);
				zone_add(zone, cases[i].failing, kind ? "!timeout" : "!servfail");
			}
			if (cases[i].nx != NULL)
				zone_set_nx(zone, cases[i].nx, TRUE);
			evaluate(zone, cases[i].author, cases[i].spf, cases[i].dkim,
				 VERIFY_DMARC_DISCOVERY_TREE_WALK, NULL, 0, &outcome);
			if (outcome.result != cases[i].want)
				g_error("%s: %s, want %s", cases[i].name,
					verify_dmarc_result_to_string(outcome.result),
					verify_dmarc_result_to_string(cases[i].want));
			if (outcome.result == VERIFY_DMARC_TEMPERROR)
				g_assert_cmpstr(outcome.reason, ==, "dns-error");
			verify_dmarc_outcome_clear(&outcome);
		}
	}
}

/* an SPF or DKIM temperror for an identifier that could have aligned: temperror, not fail */
static void
test_unknown_identifiers(void)
{
	const struct {
		const char *record;
		const char *spf_unknown;
		const char *dkim_unknown;
		const char *dkim_pass;
		VerifyDmarcResult want;
	} cases[] = {
	    {"v=DMARC1; p=reject", "example.com", NULL, NULL, VERIFY_DMARC_TEMPERROR},
	    {"v=DMARC1; p=reject", "mail.example.com", NULL, NULL, VERIFY_DMARC_TEMPERROR},
	    {"v=DMARC1; p=reject; aspf=s", "mail.example.com", NULL, NULL, VERIFY_DMARC_FAIL},
	    {"v=DMARC1; p=reject", "example.org", NULL, NULL, VERIFY_DMARC_FAIL},
	    {"v=DMARC1; p=reject", NULL, "example.com", NULL, VERIFY_DMARC_TEMPERROR},
	    {"v=DMARC1; p=reject", NULL, "Sign.Example.COM", NULL, VERIFY_DMARC_TEMPERROR},
	    {"v=DMARC1; p=reject; adkim=s", NULL, "sign.example.com", NULL, VERIFY_DMARC_FAIL},
	    {"v=DMARC1; p=reject", NULL, "badexample.com", NULL, VERIFY_DMARC_FAIL},
	    /* another identifier aligned: the unknown one does not matter */
	    {"v=DMARC1; p=reject", "example.com", NULL, "example.com", VERIFY_DMARC_PASS},
	    {"v=DMARC1; p=reject", NULL, "example.com", "example.com", VERIFY_DMARC_PASS},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(Zone) zone = zone_new();
		const char *unknown[] = {cases[i].dkim_unknown, NULL};
		const char *pass[] = {cases[i].dkim_pass, NULL};
		VerifyDmarcInput input = {
		    .author_domain = "example.com",
		    .dkim_domains = pass,
		    .spf_unknown_domain = cases[i].spf_unknown,
		    .dkim_unknown_domains = unknown,
		};
		VerifyDmarcOutcome outcome;

		zone_add(zone, "example.com", cases[i].record);
		verify_dmarc_evaluate(&input, &zone->resolver, &outcome);
		if (outcome.result != cases[i].want)
			g_error("case %" G_GSIZE_FORMAT ": %s, want %s", i,
				verify_dmarc_result_to_string(outcome.result),
				verify_dmarc_result_to_string(cases[i].want));
		verify_dmarc_outcome_clear(&outcome);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/verify/dmarc/walk-targets", test_walk_targets);
	g_test_add_func("/verify/dmarc/walk-deep-example", test_walk_deep_example);
	g_test_add_func("/verify/dmarc/org-domain", test_org_domain);
	g_test_add_func("/verify/dmarc/record-sets", test_record_sets);
	g_test_add_func("/verify/dmarc/alignment-matrix", test_alignment_matrix);
	g_test_add_func("/verify/dmarc/alignment-either", test_alignment_either);
	g_test_add_func("/verify/dmarc/psl-cases", test_psl_cases);
	g_test_add_func("/verify/dmarc/policy-matrix", test_policy_matrix);
	g_test_add_func("/verify/dmarc/pct-and-testing", test_pct_and_testing);
	g_test_add_func("/verify/dmarc/dns-failures", test_dns_failures);
	g_test_add_func("/verify/dmarc/unknown-identifiers", test_unknown_identifiers);
	return g_test_run();
}
