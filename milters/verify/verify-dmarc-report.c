/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-report: see verify-dmarc-report.h.
 */
#include "verify-dmarc-report.h"

#include <string.h>

#define get verify_dmarc_history_entry_get

GHashTable *
verify_dmarc_report_group(const GPtrArray *entries)
{
	GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						   (GDestroyNotify)g_ptr_array_unref);

	for (guint i = 0; i < entries->len; i++) {
		VerifyDmarcHistoryEntry *entry = g_ptr_array_index(entries, i);
		g_autofree char *domain =
		    g_ascii_strdown(get(entry, VERIFY_DMARC_HISTORY_POLICY_DOMAIN), -1);
		GPtrArray *group = g_hash_table_lookup(groups, domain);

		if (group == NULL) {
			group = g_ptr_array_new();
			g_hash_table_insert(groups, g_steal_pointer(&domain), group);
		}
		g_ptr_array_add(group, entry);
	}
	return groups;
}

/* the fields that make a <record>: entries equal in all of them are counted together */
static const VerifyDmarcHistoryField record_fields[] = {
    VERIFY_DMARC_HISTORY_SOURCE_IP,	VERIFY_DMARC_HISTORY_HEADER_FROM,
    VERIFY_DMARC_HISTORY_ENVELOPE_FROM, VERIFY_DMARC_HISTORY_ENVELOPE_TO,
    VERIFY_DMARC_HISTORY_DISPOSITION,	VERIFY_DMARC_HISTORY_DKIM,
    VERIFY_DMARC_HISTORY_SPF,		VERIFY_DMARC_HISTORY_REASONS,
    VERIFY_DMARC_HISTORY_SPF_DOMAIN,	VERIFY_DMARC_HISTORY_SPF_SCOPE,
    VERIFY_DMARC_HISTORY_SPF_RESULT,	VERIFY_DMARC_HISTORY_DKIM_RESULTS,
};

typedef struct {
	const VerifyDmarcHistoryEntry *first;
	guint64 count;
} Record;

static char *
record_key(const VerifyDmarcHistoryEntry *entry)
{
	GString *key = g_string_new(NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(record_fields); i++) {
		const char *value = get(entry, record_fields[i]);

		g_string_append(key, value != NULL ? value : "-");
		g_string_append_c(key, '\t');
	}
	return g_string_free(key, FALSE);
}

/* <name>value</name>, value escaped; nothing for NULL */
static void
element(GString *out, guint depth, const char *name, const char *value)
{
	if (value == NULL)
		return;
	for (guint i = 0; i < depth; i++)
		g_string_append(out, "  ");
	g_string_append_printf(out, "<%s>", name);
	for (const char *p = value; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			g_string_append(out, "&amp;");
			break;
		case '<':
			g_string_append(out, "&lt;");
			break;
		case '>':
			g_string_append(out, "&gt;");
			break;
		case '"':
			g_string_append(out, "&quot;");
			break;
		case '\'':
			g_string_append(out, "&apos;");
			break;
		default:
			g_string_append_c(out, *p);
		}
	}
	g_string_append_printf(out, "</%s>\n", name);
}

static void
open_tag(GString *out, guint depth, const char *name)
{
	for (guint i = 0; i < depth; i++)
		g_string_append(out, "  ");
	g_string_append_printf(out, "<%s>\n", name);
}

static void
close_tag(GString *out, guint depth, const char *name)
{
	for (guint i = 0; i < depth; i++)
		g_string_append(out, "  ");
	g_string_append_printf(out, "</%s>\n", name);
}

/* one of the values a field may have in the schema, else fallback */
static const char *
one_of(const char *value, const char *const *allowed, const char *fallback)
{
	for (const char *const *a = allowed; *a != NULL; a++) {
		if (g_strcmp0(value, *a) == 0)
			return *a;
	}
	return fallback;
}

static const char *const policies[] = {"none", "quarantine", "reject", NULL};
static const char *const alignments[] = {"r", "s", NULL};

static void
policy_published(GString *out, const VerifyDmarcHistoryEntry *latest, const char *domain,
		 gboolean bis)
{
	const char *p = one_of(get(latest, VERIFY_DMARC_HISTORY_P), policies, "none");

	open_tag(out, 1, "policy_published");
	element(out, 2, "domain", domain);
	element(out, 2, "adkim", one_of(get(latest, VERIFY_DMARC_HISTORY_ADKIM), alignments, "r"));
	element(out, 2, "aspf", one_of(get(latest, VERIFY_DMARC_HISTORY_ASPF), alignments, "r"));
	element(out, 2, "p", p);
	if (bis) {
		const char *sp = get(latest, VERIFY_DMARC_HISTORY_SP);
		const char *np = get(latest, VERIFY_DMARC_HISTORY_NP);
		const char *testing = get(latest, VERIFY_DMARC_HISTORY_TESTING);

		element(out, 2, "sp", sp != NULL ? one_of(sp, policies, NULL) : NULL);
		element(out, 2, "np", np != NULL ? one_of(np, policies, NULL) : NULL);
		element(out, 2, "discovery_method",
			g_strcmp0(get(latest, VERIFY_DMARC_HISTORY_DISCOVERY), "psl") == 0
			    ? "psl"
			    : "treewalk");
		element(out, 2, "fo", get(latest, VERIFY_DMARC_HISTORY_FO));
		element(out, 2, "testing", g_strcmp0(testing, "y") == 0 ? "y" : "n");
	} else {
		/* RFC 7489's schema requires sp and pct: their effective values */
		const char *sp = get(latest, VERIFY_DMARC_HISTORY_SP);
		const char *pct = get(latest, VERIFY_DMARC_HISTORY_PCT);
		guint64 pct_value = 100;

		if (pct != NULL && g_ascii_string_to_unsigned(pct, 10, 0, 100, &pct_value, NULL))
			pct_value = MIN(pct_value, 100);
		else
			pct_value = 100;
		element(out, 2, "sp", sp != NULL ? one_of(sp, policies, p) : p);
		{
			g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT, pct_value);

			element(out, 2, "pct", text);
		}
	}
	close_tag(out, 1, "policy_published");
}

/* our override tokens as the form's PolicyOverrideType, with a comment */
static void
reasons(GString *out, const char *list, gboolean bis)
{
	g_auto(GStrv) tokens = NULL;

	if (list == NULL)
		return;
	tokens = g_strsplit(list, ",", 8);
	for (char **t = tokens; *t != NULL; t++) {
		const char *type = "other";
		const char *comment = NULL;

		if (strcmp(*t, "trusted-forwarder") == 0) {
			type = "trusted_forwarder";
		} else if (strcmp(*t, "not-enforced") == 0) {
			type = "local_policy";
			comment = "not enforced for the recipient domain";
		} else if (strcmp(*t, "local-action") == 0) {
			type = "local_policy";
		} else if (strcmp(*t, "testing") == 0) {
			type = bis ? "policy_test_mode" : "other";
			comment = "t=y";
		} else if (strcmp(*t, "sampled-out") == 0) {
			type = bis ? "other" : "sampled_out";
			comment = "pct";
		} else {
			comment = *t;
		}
		open_tag(out, 4, "reason");
		element(out, 5, "type", type);
		element(out, 5, "comment", comment);
		close_tag(out, 4, "reason");
	}
}

static const char *const dkim_results[] = {"none",    "pass",	   "fail",	"policy",
					   "neutral", "temperror", "permerror", NULL};
static const char *const spf_results[] = {"none",     "neutral",   "pass",	"fail",
					  "softfail", "temperror", "permerror", NULL};

static void
record(GString *out, const Record *r, gboolean bis)
{
	const VerifyDmarcHistoryEntry *e = r->first;
	const char *disposition = get(e, VERIFY_DMARC_HISTORY_DISPOSITION);
	const char *const dispositions[] = {"none", "quarantine", "reject", "pass", NULL};
	const char *const pass_fail[] = {"pass", "fail", NULL};
	g_autofree char *count = g_strdup_printf("%" G_GUINT64_FORMAT, r->count);
	const char *spf_domain = get(e, VERIFY_DMARC_HISTORY_SPF_DOMAIN);
	const char *dkim = get(e, VERIFY_DMARC_HISTORY_DKIM_RESULTS);

	disposition = one_of(disposition, dispositions, "none");
	/* RFC 7489 has no "pass": nothing was done to the message */
	if (!bis && strcmp(disposition, "pass") == 0)
		disposition = "none";
	open_tag(out, 1, "record");
	open_tag(out, 2, "row");
	element(out, 3, "source_ip", get(e, VERIFY_DMARC_HISTORY_SOURCE_IP));
	element(out, 3, "count", count);
	open_tag(out, 3, "policy_evaluated");
	element(out, 4, "disposition", disposition);
	element(out, 4, "dkim", one_of(get(e, VERIFY_DMARC_HISTORY_DKIM), pass_fail, "fail"));
	element(out, 4, "spf", one_of(get(e, VERIFY_DMARC_HISTORY_SPF), pass_fail, "fail"));
	reasons(out, get(e, VERIFY_DMARC_HISTORY_REASONS), bis);
	close_tag(out, 3, "policy_evaluated");
	close_tag(out, 2, "row");
	open_tag(out, 2, "identifiers");
	element(out, 3, "envelope_to", get(e, VERIFY_DMARC_HISTORY_ENVELOPE_TO));
	element(out, 3, "envelope_from", get(e, VERIFY_DMARC_HISTORY_ENVELOPE_FROM));
	element(out, 3, "header_from", get(e, VERIFY_DMARC_HISTORY_HEADER_FROM));
	close_tag(out, 2, "identifiers");
	open_tag(out, 2, "auth_results");
	if (dkim != NULL) {
		g_auto(GStrv) signatures = g_strsplit(dkim, ",", 64);

		for (char **s = signatures; *s != NULL; s++) {
			g_auto(GStrv) parts = g_strsplit(*s, "/", 3);

			if (g_strv_length(parts) != 3)
				continue;
			open_tag(out, 3, "dkim");
			element(out, 4, "domain", parts[0]);
			element(out, 4, "selector", parts[1]);
			element(out, 4, "result", one_of(parts[2], dkim_results, "permerror"));
			close_tag(out, 3, "dkim");
		}
	}
	/* RFC 7489 wants an SPF result: the author domain's "none" when SPF was not checked */
	if (spf_domain != NULL || !bis) {
		const char *scope = get(e, VERIFY_DMARC_HISTORY_SPF_SCOPE);

		open_tag(out, 3, "spf");
		element(out, 4, "domain",
			spf_domain != NULL ? spf_domain : get(e, VERIFY_DMARC_HISTORY_HEADER_FROM));
		/* RFC 9990 knows the mfrom scope only */
		if (bis)
			element(out, 4, "scope", g_strcmp0(scope, "mfrom") == 0 ? "mfrom" : NULL);
		else
			element(out, 4, "scope", g_strcmp0(scope, "helo") == 0 ? "helo" : "mfrom");
		element(out, 4, "result",
			spf_domain != NULL
			    ? one_of(get(e, VERIFY_DMARC_HISTORY_SPF_RESULT), spf_results, "none")
			    : "none");
		close_tag(out, 3, "spf");
	}
	close_tag(out, 2, "auth_results");
	close_tag(out, 1, "record");
}

char *
verify_dmarc_report_xml(const GPtrArray *entries, const VerifyDmarcReportMeta *meta,
			guint *records_out, guint64 *messages_out)
{
	g_autoptr(GString) out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	g_autoptr(GHashTable) index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GArray) records = g_array_new(FALSE, FALSE, sizeof(Record));
	const VerifyDmarcHistoryEntry *latest = NULL;
	g_autofree char *domain = NULL;
	g_autofree char *begin = g_strdup_printf("%" G_GINT64_FORMAT, meta->begin);
	g_autofree char *end = g_strdup_printf("%" G_GINT64_FORMAT, meta->end);
	guint64 messages = 0;
	gboolean bis;

	g_return_val_if_fail(entries != NULL && entries->len > 0, NULL);
	for (guint i = 0; i < entries->len; i++) {
		const VerifyDmarcHistoryEntry *entry = g_ptr_array_index(entries, i);
		g_autofree char *key = record_key(entry);
		gpointer at;

		if (latest == NULL || entry->time >= latest->time)
			latest = entry;
		if (g_hash_table_lookup_extended(index, key, NULL, &at)) {
			g_array_index(records, Record, GPOINTER_TO_UINT(at)).count++;
		} else {
			Record r = {entry, 1};

			g_hash_table_insert(index, g_steal_pointer(&key),
					    GUINT_TO_POINTER(records->len));
			g_array_append_val(records, r);
		}
		messages++;
	}
	domain = g_ascii_strdown(get(latest, VERIFY_DMARC_HISTORY_POLICY_DOMAIN), -1);
	bis = g_strcmp0(get(latest, VERIFY_DMARC_HISTORY_FORM), "9990") == 0;
	if (bis) {
		g_string_append(out, "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n");
	} else {
		g_string_append(out, "<feedback>\n");
	}
	element(out, 1, "version", "1.0");
	open_tag(out, 1, "report_metadata");
	element(out, 2, "org_name", meta->org_name);
	element(out, 2, "email", meta->email);
	element(out, 2, "report_id", meta->report_id);
	open_tag(out, 2, "date_range");
	element(out, 3, "begin", begin);
	element(out, 3, "end", end);
	close_tag(out, 2, "date_range");
	if (bis)
		element(out, 2, "generator", meta->generator);
	close_tag(out, 1, "report_metadata");
	policy_published(out, latest, domain, bis);
	for (guint i = 0; i < records->len; i++)
		record(out, &g_array_index(records, Record, i), bis);
	g_string_append(out, "</feedback>\n");
	if (records_out != NULL)
		*records_out = records->len;
	if (messages_out != NULL)
		*messages_out = messages;
	return g_string_free(g_steal_pointer(&out), FALSE);
}
