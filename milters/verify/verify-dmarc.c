/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc: see verify-dmarc.h.
 */
#include "verify-dmarc.h"

#include <string.h>

static const char *const result_names[VERIFY_DMARC_N_RESULTS] = {
    [VERIFY_DMARC_NONE] = "none",	    [VERIFY_DMARC_PASS] = "pass",
    [VERIFY_DMARC_FAIL] = "fail",	    [VERIFY_DMARC_TEMPERROR] = "temperror",
    [VERIFY_DMARC_PERMERROR] = "permerror",
};

const char *
verify_dmarc_result_to_string(VerifyDmarcResult result)
{
	return (guint)result < VERIFY_DMARC_N_RESULTS ? result_names[result] : "none";
}

void
verify_dmarc_outcome_clear(VerifyDmarcOutcome *outcome)
{
	g_clear_pointer(&outcome->policy_domain, g_free);
	g_clear_pointer(&outcome->org_domain, g_free);
	g_clear_pointer(&outcome->record, verify_dmarc_record_free);
	g_clear_pointer(&outcome->dkim_aligned, g_free);
	memset(outcome, 0, sizeof(*outcome));
}

char *
verify_dmarc_outcome_policy(const VerifyDmarcOutcome *outcome)
{
	if (outcome->policy_tag == NULL)
		return NULL;
	return g_strdup_printf("%s=%s", outcome->policy_tag,
			       verify_dmarc_policy_to_string(outcome->requested));
}

/*
 * --- one lookup: _dmarc.NAME ---
 */

typedef enum {
	LOOKUP_NONE,	  /* no DMARC record there (or several, all discarded) */
	LOOKUP_RECORD,	  /* one record, read */
	LOOKUP_INVALID,	  /* one DMARC record that cannot be read */
	LOOKUP_TEMPERROR, /* the DNS did not say */
} LookupState;

typedef struct {
	char *domain;
	guint labels;
	LookupState state;
	VerifyDmarcRecord *record; /* LOOKUP_RECORD */
} Entry;

static void
entry_free(gpointer data)
{
	Entry *entry = data;

	g_free(entry->domain);
	g_clear_pointer(&entry->record, verify_dmarc_record_free);
	g_free(entry);
}

typedef struct {
	const VerifyDmarcResolver *resolver;
	guint lookups;
} Context;

static guint
count_labels(const char *domain)
{
	guint labels = 1;

	for (const char *p = domain; *p != '\0'; p++)
		labels += *p == '.';
	return labels;
}

static Entry *
lookup(Context *context, const char *domain)
{
	g_autofree char *name = g_strconcat("_dmarc.", domain, NULL);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	Entry *entry = g_new0(Entry, 1);
	guint n_dmarc = 0;

	entry->domain = g_strdup(domain);
	entry->labels = count_labels(domain);
	context->lookups++;
	switch (context->resolver->txt(context->resolver->user_data, name, texts)) {
	case PC_DNS_OK:
		break;
	case PC_DNS_NODATA:
	case PC_DNS_NXDOMAIN:
	case PC_DNS_BADNAME: /* a name that cannot be asked has no record */
		entry->state = LOOKUP_NONE;
		return entry;
	default:
		entry->state = LOOKUP_TEMPERROR;
		return entry;
	}
	entry->state = LOOKUP_NONE;
	for (guint i = 0; i < texts->len; i++) {
		gsize len;
		const char *text = g_bytes_get_data(texts->pdata[i], &len);
		g_autoptr(GError) error = NULL;
		g_autoptr(VerifyDmarcRecord) record = verify_dmarc_record_parse(text, len, &error);

		if (g_error_matches(error, VERIFY_DMARC_RECORD_ERROR,
				    VERIFY_DMARC_RECORD_ERROR_NOT_DMARC))
			continue;
		/* several DMARC records at one name: all discarded (RFC 9989 4.10 step 2) */
		if (++n_dmarc > 1) {
			g_clear_pointer(&entry->record, verify_dmarc_record_free);
			entry->state = LOOKUP_NONE;
			continue;
		}
		entry->state = record != NULL ? LOOKUP_RECORD : LOOKUP_INVALID;
		entry->record = g_steal_pointer(&record);
	}
	return entry;
}

/*
 * --- the tree walk ---
 */

/* the next target after domain (of labels labels), or NULL after the top-level name */
static const char *
next_target(const char *domain, guint labels)
{
	guint drop = labels >= VERIFY_DMARC_WALK_JUMP ? labels - (VERIFY_DMARC_WALK_JUMP - 1) : 1;

	if (labels <= 1)
		return NULL;
	for (; drop > 0; drop--)
		domain = strchr(domain, '.') + 1;
	return domain;
}

static gboolean
stops_walk(const Entry *entry)
{
	return entry->state == LOOKUP_RECORD &&
	       (entry->record->psd == 'y' || entry->record->psd == 'n');
}

/*
 * Walks from first (first is asked too), appending to entries, until a
 * record with psd=y or psd=n, the top-level name, or a lookup that failed.
 * Returns FALSE on the failure.
 */
static gboolean
walk(Context *context, const char *first, GPtrArray *entries)
{
	for (const char *target = first; target != NULL;
	     target = next_target(target, count_labels(target))) {
		Entry *entry = lookup(context, target);

		g_ptr_array_add(entries, entry);
		if (entry->state == LOOKUP_TEMPERROR)
			return FALSE;
		if (stops_walk(entry))
			break;
	}
	return TRUE;
}

/* the rightmost labels of domain */
static const char *
suffix_of(const char *domain, guint labels)
{
	guint have = count_labels(domain);

	for (; have > labels; have--)
		domain = strchr(domain, '.') + 1;
	return domain;
}

/* the organisational domain of entries[0]->domain from what its walk found (RFC 9989 4.10.2) */
static const char *
select_org(const GPtrArray *entries)
{
	const Entry *start = entries->pdata[0];
	const Entry *fewest = NULL;

	for (guint i = 0; i < entries->len; i++) {
		const Entry *entry = entries->pdata[i];

		if (entry->state != LOOKUP_RECORD)
			continue;
		if (entry->record->psd == 'n')
			return entry->domain;
		if (entry->record->psd == 'y' && i > 0)
			return suffix_of(start->domain, entry->labels + 1);
		fewest = entry;
	}
	return fewest != NULL ? fewest->domain : start->domain;
}

char *
verify_dmarc_org_domain(const char *domain, const VerifyDmarcResolver *resolver, guint *lookups_out)
{
	Context context = {resolver, 0};
	g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func(entry_free);
	gboolean ok = walk(&context, domain, entries);

	if (lookups_out != NULL)
		*lookups_out = context.lookups;
	return ok ? g_strdup(select_org(entries)) : NULL;
}

/*
 * --- alignment ---
 */

/* domain is org or below it */
static gboolean
at_or_below(const char *domain, const char *org)
{
	gsize len = strlen(domain), org_len = strlen(org);

	if (len == org_len)
		return g_ascii_strcasecmp(domain, org) == 0;
	return len > org_len && domain[len - org_len - 1] == '.' &&
	       g_ascii_strcasecmp(domain + len - org_len, org) == 0;
}

/* TRUE when identifier aligns with the author domain; *unknown_out set when a lookup failed */
static gboolean
aligned(Context *context, const VerifyDmarcInput *input, const char *org, const char *identifier,
	gboolean strict, gboolean *unknown_out)
{
	g_autofree char *domain_org = NULL;
	/* as signatures and envelopes spell it: any case, perhaps a trailing dot */
	g_autofree char *domain = g_ascii_strdown(identifier, -1);
	gsize len = strlen(domain);

	if (len > 1 && domain[len - 1] == '.')
		domain[len - 1] = '\0';

	if (g_ascii_strcasecmp(domain, input->author_domain) == 0)
		return TRUE;
	if (strict || org == NULL || !at_or_below(domain, org))
		return FALSE;
	if (input->discovery == VERIFY_DMARC_DISCOVERY_PSL) {
		domain_org = verify_psl_org_domain(input->psl, domain);
	} else {
		g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func(entry_free);

		if (!walk(context, domain, entries)) {
			*unknown_out = TRUE;
			return FALSE;
		}
		domain_org = g_strdup(select_org(entries));
	}
	return domain_org != NULL && g_ascii_strcasecmp(domain_org, org) == 0;
}

/* an identifier whose check did not finish might have aligned (no lookup made) */
static gboolean
could_align(const VerifyDmarcInput *input, const char *org, const VerifyDmarcRecord *record)
{
	const char *spf = input->spf_unknown_domain;

	if (spf != NULL && (g_ascii_strcasecmp(spf, input->author_domain) == 0 ||
			    (!record->aspf_strict && org != NULL && at_or_below(spf, org))))
		return TRUE;
	for (const char *const *d = input->dkim_unknown_domains; d != NULL && *d != NULL; d++) {
		if (g_ascii_strcasecmp(*d, input->author_domain) == 0 ||
		    (!record->adkim_strict && org != NULL && at_or_below(*d, org)))
			return TRUE;
	}
	return FALSE;
}

/*
 * --- discovery ---
 */

/* the entry for domain among entries, or NULL */
static Entry *
find_entry(GPtrArray *entries, const char *domain)
{
	for (guint i = 0; i < entries->len; i++) {
		Entry *entry = entries->pdata[i];

		if (strcmp(entry->domain, domain) == 0)
			return entry;
	}
	return NULL;
}

/* some identifier differs from the author domain and may align relaxed */
static gboolean
needs_org(const VerifyDmarcInput *input, const VerifyDmarcRecord *record)
{
	const char *spfs[] = {input->spf_domain, input->spf_unknown_domain};
	const char *const *dkims[] = {input->dkim_domains, input->dkim_unknown_domains};

	for (guint i = 0; i < 2; i++) {
		if (spfs[i] != NULL && !record->aspf_strict &&
		    g_ascii_strcasecmp(spfs[i], input->author_domain) != 0)
			return TRUE;
		for (const char *const *d = dkims[i]; d != NULL && *d != NULL; d++) {
			if (!record->adkim_strict &&
			    g_ascii_strcasecmp(*d, input->author_domain) != 0)
				return TRUE;
		}
	}
	return FALSE;
}

/*
 * Fills entries (the author domain's walk) and outcome's org_domain;
 * returns the entry whose record applies, or NULL (none found, or a
 * temperror set in outcome).
 */
static Entry *
discover(Context *context, const VerifyDmarcInput *input, GPtrArray *entries,
	 VerifyDmarcOutcome *outcome)
{
	const char *author = input->author_domain;
	Entry *first = lookup(context, author);
	Entry *found;

	g_ptr_array_add(entries, first);
	if (first->state == LOOKUP_TEMPERROR) {
		outcome->result = VERIFY_DMARC_TEMPERROR;
		outcome->reason = "dns-error";
		return NULL;
	}
	/* a record there that cannot be read: permerror, whatever is above */
	if (first->state == LOOKUP_INVALID)
		return first;
	if (input->discovery == VERIFY_DMARC_DISCOVERY_PSL) {
		outcome->org_domain = verify_psl_org_domain(input->psl, author);
		if (outcome->org_domain == NULL)
			outcome->org_domain = g_strdup(author);
		if (first->state != LOOKUP_NONE || strcmp(outcome->org_domain, author) == 0)
			return first;
		found = lookup(context, outcome->org_domain);
		g_ptr_array_add(entries, found);
		if (found->state == LOOKUP_TEMPERROR) {
			outcome->result = VERIFY_DMARC_TEMPERROR;
			outcome->reason = "dns-error";
			return NULL;
		}
		/* above the author domain, only a valid record counts (as in the walk) */
		return found->state == LOOKUP_RECORD ? found : NULL;
	}
	/*
	 * the author domain's own record, when no identifier needs relaxed
	 * alignment: no organisational domain is needed (RFC 9989 4.10.2)
	 */
	if (first->state == LOOKUP_RECORD && !needs_org(input, first->record))
		return first;
	/* the rest of the walk, unless the author domain's record ended it */
	if (!stops_walk(first) && !walk(context, next_target(author, first->labels), entries)) {
		outcome->result = VERIFY_DMARC_TEMPERROR;
		outcome->reason = "dns-error";
		return NULL;
	}
	outcome->org_domain = g_strdup(select_org(entries));
	if (first->state != LOOKUP_NONE)
		return first;
	found = find_entry(entries, outcome->org_domain);
	if (found != NULL && found->state == LOOKUP_RECORD)
		return found;
	/* the public suffix domain's record: the psd=y the walk stopped at */
	found = entries->pdata[entries->len - 1];
	if (found->state == LOOKUP_RECORD && found->record->psd == 'y')
		return found;
	return NULL;
}

static VerifyDmarcPolicy
lower(VerifyDmarcPolicy policy)
{
	switch (policy) {
	case VERIFY_DMARC_POLICY_REJECT:
		return VERIFY_DMARC_POLICY_QUARANTINE;
	case VERIFY_DMARC_POLICY_QUARANTINE:
		return VERIFY_DMARC_POLICY_NONE;
	default:
		return policy;
	}
}

/*
 * The policy asked for this author domain (sets policy_tag); FALSE on a DNS
 * failure. Whether the author domain exists is asked only with ask (a fail:
 * a pass needs no np=).
 */
static gboolean
requested_policy(Context *context, const VerifyDmarcInput *input, gboolean ask,
		 VerifyDmarcOutcome *outcome)
{
	const VerifyDmarcRecord *record = outcome->record;

	if (!record->policy_valid) {
		/* RFC 9989 4.10.1: with a reporting URI the record reads as p=none */
		outcome->policy_tag = "p";
		outcome->requested = VERIFY_DMARC_POLICY_NONE;
		return TRUE;
	}
	if (strcmp(outcome->policy_domain, input->author_domain) == 0) {
		outcome->policy_tag = "p";
		outcome->requested = record->p;
		return TRUE;
	}
	if (ask && record->np != VERIFY_DMARC_POLICY_ABSENT) {
		PcDnsStatus status;

		context->lookups++;
		status =
		    context->resolver->address(context->resolver->user_data, input->author_domain);
		if (!pc_dns_status_is_answer(status) && status != PC_DNS_BADNAME)
			return FALSE;
		if (status == PC_DNS_NXDOMAIN) {
			outcome->nonexistent = TRUE;
			outcome->policy_tag = "np";
			outcome->requested = record->np;
			return TRUE;
		}
	}
	if (record->sp != VERIFY_DMARC_POLICY_ABSENT) {
		outcome->policy_tag = "sp";
		outcome->requested = record->sp;
		return TRUE;
	}
	outcome->policy_tag = "p";
	outcome->requested = record->p;
	return TRUE;
}

void
verify_dmarc_evaluate(const VerifyDmarcInput *input, const VerifyDmarcResolver *resolver,
		      VerifyDmarcOutcome *outcome)
{
	Context context = {resolver, 0};
	g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func(entry_free);
	const VerifyDmarcRecord *record;
	Entry *found;
	gboolean unknown = FALSE;

	g_return_if_fail(input != NULL && input->author_domain != NULL && resolver != NULL);
	g_return_if_fail(input->discovery != VERIFY_DMARC_DISCOVERY_PSL || input->psl != NULL);
	memset(outcome, 0, sizeof(*outcome));
	found = discover(&context, input, entries, outcome);
	outcome->lookups = context.lookups;
	if (outcome->result == VERIFY_DMARC_TEMPERROR)
		return;
	if (found == NULL) {
		outcome->result = VERIFY_DMARC_NONE;
		outcome->reason = "no-policy";
		return;
	}
	outcome->policy_domain = g_strdup(found->domain);
	if (found->state == LOOKUP_INVALID) {
		outcome->result = VERIFY_DMARC_PERMERROR;
		outcome->reason = "invalid-record";
		return;
	}
	record = found->record;
	if (!record->policy_valid && record->rua->len == 0) {
		/* RFC 9989 4.10.1: no policy and nowhere to report: DMARC does not apply */
		outcome->result = VERIFY_DMARC_NONE;
		outcome->reason = "no-valid-policy";
		return;
	}
	outcome->record = g_steal_pointer(&found->record);
	record = outcome->record;

	outcome->spf_aligned =
	    input->spf_domain != NULL && aligned(&context, input, outcome->org_domain,
						 input->spf_domain, record->aspf_strict, &unknown);
	for (const char *const *d = input->dkim_domains;
	     d != NULL && *d != NULL && outcome->dkim_aligned == NULL; d++) {
		if (aligned(&context, input, outcome->org_domain, *d, record->adkim_strict,
			    &unknown))
			outcome->dkim_aligned = g_strdup(*d);
	}
	outcome->lookups = context.lookups;
	if (outcome->spf_aligned || outcome->dkim_aligned != NULL) {
		outcome->result = VERIFY_DMARC_PASS;
		/* what a fail would have got, for the A-R's p= and the report */
		requested_policy(&context, input, FALSE, outcome);
		outcome->lookups = context.lookups;
		outcome->disposition = VERIFY_DMARC_POLICY_NONE;
		return;
	}
	if (!unknown && could_align(input, outcome->org_domain, record)) {
		outcome->result = VERIFY_DMARC_TEMPERROR;
		outcome->reason = "identifier-dns-error";
		return;
	}
	if (unknown || !requested_policy(&context, input, TRUE, outcome)) {
		outcome->lookups = context.lookups;
		outcome->result = VERIFY_DMARC_TEMPERROR;
		outcome->reason = "dns-error";
		return;
	}
	outcome->lookups = context.lookups;
	outcome->result = VERIFY_DMARC_FAIL;
	outcome->disposition = outcome->requested;
	if (record->testing || (record->pct_present && input->sample >= record->pct)) {
		outcome->disposition = lower(outcome->requested);
		outcome->downgraded = outcome->disposition != outcome->requested;
	}
}
