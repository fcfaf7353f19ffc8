/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the DMARC history reader and the aggregate report
 * builder (verify-dmarc-history.c, verify-dmarc-report.c): the input is a
 * day file, each line read as portcullis dmarc-report reads it; the entries
 * read are grouped by policy domain and each group's report is built.
 *
 * Besides crashes and sanitizer reports it checks: a line read back writes
 * out to the same line (less its newline); every report is well-formed XML
 * (GLib's markup parser reads it: no value escaped its element), and its
 * <count>s add up to the entries of its group.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "verify-dmarc-report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	gboolean in_count;
	guint64 sum;
} Counting;

static void
fuzz_start(GMarkupParseContext *context, const char *name, const char **attribute_names,
	   const char **attribute_values, gpointer data, GError **error)
{
	((Counting *)data)->in_count = strcmp(name, "count") == 0;
}

static void
fuzz_end(GMarkupParseContext *context, const char *name, gpointer data, GError **error)
{
	((Counting *)data)->in_count = FALSE;
}

static void
fuzz_text(GMarkupParseContext *context, const char *text, gsize len, gpointer data, GError **error)
{
	Counting *counting = data;

	if (counting->in_count)
		counting->sum += g_ascii_strtoull(text, NULL, 10);
}

static const GMarkupParser fuzz_parser = {fuzz_start, fuzz_end, fuzz_text, NULL, NULL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) entries =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dmarc_history_entry_free);
	g_autoptr(GHashTable) groups = NULL;
	const char *text = (const char *)data;
	const char *end = text + size;
	GHashTableIter iter;
	gpointer key, value;

	if (size > 256 * 1024)
		return 0;
	while (text < end) {
		const char *newline = memchr(text, '\n', (size_t)(end - text));
		gsize len = newline != NULL ? (gsize)(newline - text) + 1 : (gsize)(end - text);
		const char *why = NULL;
		VerifyDmarcHistoryEntry *entry = verify_dmarc_history_parse(text, len, &why);

		if (entry != NULL) {
			g_autofree char *again = verify_dmarc_history_format(entry);
			gsize line_len = newline != NULL ? len - 1 : len;

			/* the number may lose leading zeros; everything else is as read */
			if (text[strcspn(text, "\t")] == '\t' && text[2] != '0' &&
			    (strlen(again) - 1 != line_len || memcmp(again, text, line_len) != 0))
				abort();
			g_ptr_array_add(entries, entry);
		} else if (why == NULL) {
			abort();
		}
		text += len;
	}
	groups = verify_dmarc_report_group(entries);
	g_hash_table_iter_init(&iter, groups);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		GPtrArray *group = value;
		VerifyDmarcReportMeta meta = {"org & <co>", "a@b", "id", 0, 86399, "fuzz"};
		guint records = 0;
		guint64 messages = 0;
		g_autofree char *xml = verify_dmarc_report_xml(group, &meta, &records, &messages);
		Counting counting = {FALSE, 0};
		GMarkupParseContext *context =
		    g_markup_parse_context_new(&fuzz_parser, 0, &counting, NULL);
		/* GMarkup reads no <?xml ...?> declaration: start after it */
		const char *body = strstr(xml, "?>");
		gboolean ok;

		body = body != NULL ? body + 2 : xml;
		ok = g_markup_parse_context_parse(context, body, -1, NULL) &&
		     g_markup_parse_context_end_parse(context, NULL);
		g_markup_parse_context_free(context);
		if (!ok || messages != group->len || counting.sum != messages || records == 0 ||
		    records > group->len)
			abort();
	}
	return 0;
}
