/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for verify-dmarc-history and verify-dmarc-report: a line written
 * and read back; what may not be written is replaced; every way a line can
 * be broken is refused with a reason; the writer under 8 threads (no line
 * interleaved or lost), at its size bound, across a day change and
 * without its directory; the report's grouping, counts, form and the
 * values each form allows.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "verify-dmarc-report.h"

static VerifyDmarcHistoryEntry *
sample_entry(gint64 time, const char *domain, const char *ip, const char *disposition)
{
	VerifyDmarcHistoryEntry *entry = verify_dmarc_history_entry_new();

	entry->time = time;
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SOURCE_IP, ip);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_HEADER_FROM, domain);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ENVELOPE_FROM, domain);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_POLICY_DOMAIN, domain);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DISCOVERY, "treewalk");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_FORM, "7489");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_P, "reject");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ADKIM, "r");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_ASPF, "s");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_TESTING, "n");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_RUA, "mailto:a@example.com");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DISPOSITION, disposition);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DKIM, "fail");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF,
				       strcmp(disposition, "pass") == 0 ? "pass" : "fail");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF_DOMAIN, domain);
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF_SCOPE, "mfrom");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_SPF_RESULT, "pass");
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_DKIM_RESULTS,
				       "example.com/s1/pass");
	return entry;
}

static void
test_round_trip(void)
{
	g_autoptr(VerifyDmarcHistoryEntry) entry =
	    sample_entry(1796342400, "example.com", "192.0.2.1", "reject");
	g_autofree char *line = verify_dmarc_history_format(entry);
	const char *why = NULL;
	g_autoptr(VerifyDmarcHistoryEntry) back =
	    verify_dmarc_history_parse(line, strlen(line), &why);
	g_autofree char *again = NULL;

	g_assert_null(why);
	g_assert_nonnull(back);
	g_assert_cmpint(back->time, ==, 1796342400);
	for (guint i = 0; i < VERIFY_DMARC_HISTORY_N_FIELDS; i++)
		g_assert_cmpstr(verify_dmarc_history_entry_get(back, i), ==,
				verify_dmarc_history_entry_get(entry, i));
	again = verify_dmarc_history_format(back);
	g_assert_cmpstr(again, ==, line);
	g_assert_true(g_str_has_suffix(line, "\n"));
	{
		g_auto(GStrv) fields = g_strsplit(line, "\t", -1);

		g_assert_cmpuint(g_strv_length(fields), ==, VERIFY_DMARC_HISTORY_N_FIELDS);
	}
}

/* values from the network: nothing may end a field or a line */
static void
test_sanitised(void)
{
	const struct {
		const char *value;
		const char *stored; /* NULL: empty */
	} cases[] = {
	    {"a\tb", "a?b"},
	    {"a\nb", "a?b"},
	    {"a b", "a?b"},
	    {"a\rb", "a?b"},
	    {"caf\xc3\xa9", "caf??"},
	    {"-", NULL},
	    {"", NULL},
	    {NULL, NULL},
	    {"--", "--"},
	    {"\x7f", "?"},
	};
	g_autoptr(VerifyDmarcHistoryEntry) entry = verify_dmarc_history_entry_new();
	g_autofree char *big = g_strnfill(VERIFY_DMARC_HISTORY_MAX_FIELD + 100, 'x');

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_HEADER_FROM,
					       cases[i].value);
		g_assert_cmpstr(
		    verify_dmarc_history_entry_get(entry, VERIFY_DMARC_HISTORY_HEADER_FROM), ==,
		    cases[i].stored);
	}
	verify_dmarc_history_entry_set(entry, VERIFY_DMARC_HISTORY_HEADER_FROM, big);
	g_assert_cmpuint(
	    strlen(verify_dmarc_history_entry_get(entry, VERIFY_DMARC_HISTORY_HEADER_FROM)), ==,
	    VERIFY_DMARC_HISTORY_MAX_FIELD);
}

/* every way a line breaks: refused, with a reason */
static void
test_parse_errors(void)
{
	g_autoptr(VerifyDmarcHistoryEntry) entry =
	    sample_entry(100, "example.com", "192.0.2.1", "pass");
	g_autofree char *good = verify_dmarc_history_format(entry);
	g_auto(GStrv) fields = g_strsplit(g_strchomp(good), "\t", -1);
	g_autoptr(GPtrArray) bad = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *joined = g_strjoinv("\t", fields);

	g_ptr_array_add(bad, g_strdup(""));
	g_ptr_array_add(bad, g_strdup("hello"));
	/* one field fewer, one more */
	g_ptr_array_add(bad, g_strndup(joined, strrchr(joined, '\t') - joined));
	g_ptr_array_add(bad, g_strconcat(joined, "\tx", NULL));
	/* each field in turn empty, too long, holding a control byte or a blank */
	for (guint i = 0; fields[i] != NULL; i++) {
		const char *replacements[] = {"", NULL, "a\x01", "a b"};
		g_autofree char *big = g_strnfill(VERIFY_DMARC_HISTORY_MAX_FIELD + 1, 'x');

		replacements[1] = big;
		for (gsize r = 0; r < G_N_ELEMENTS(replacements); r++) {
			char *saved = fields[i];

			fields[i] = (char *)replacements[r];
			g_ptr_array_add(bad, g_strjoinv("\t", fields));
			fields[i] = saved;
		}
	}
	/* the version, the time, the fields that may not be empty */
	{
		const struct {
			guint field;
			const char *value;
		} wrong[] = {
		    {VERIFY_DMARC_HISTORY_VERSION, "2"},
		    {VERIFY_DMARC_HISTORY_TIME, "-"},
		    {VERIFY_DMARC_HISTORY_TIME, "+5"},
		    {VERIFY_DMARC_HISTORY_TIME, "12x"},
		    {VERIFY_DMARC_HISTORY_TIME, "99999999999999999999"},
		    {VERIFY_DMARC_HISTORY_SOURCE_IP, "-"},
		    {VERIFY_DMARC_HISTORY_HEADER_FROM, "-"},
		    {VERIFY_DMARC_HISTORY_POLICY_DOMAIN, "-"},
		};

		for (gsize w = 0; w < G_N_ELEMENTS(wrong); w++) {
			char *saved = fields[wrong[w].field];

			fields[wrong[w].field] = (char *)wrong[w].value;
			g_ptr_array_add(bad, g_strjoinv("\t", fields));
			fields[wrong[w].field] = saved;
		}
	}
	{
		g_autofree char *long_line = g_strnfill(VERIFY_DMARC_HISTORY_MAX_LINE + 1, 'x');

		g_ptr_array_add(bad, g_strdup(long_line));
	}
	for (guint i = 0; i < bad->len; i++) {
		const char *line = bad->pdata[i];
		const char *why = NULL;
		g_autoptr(VerifyDmarcHistoryEntry) got =
		    verify_dmarc_history_parse(line, strlen(line), &why);

		if (got != NULL || why == NULL)
			g_error("line %u read: %.80s", i, line);
	}
	/* and the good one still reads, with or without its newline */
	{
		const char *why = NULL;
		g_autoptr(VerifyDmarcHistoryEntry) got =
		    verify_dmarc_history_parse(joined, strlen(joined), &why);

		g_assert_nonnull(got);
	}
}

/* --- the writer --- */

typedef struct {
	VerifyDmarcHistory *history;
	guint thread;
} Writer;

#define WRITERS 8
#define LINES 500

static gpointer
write_lines(gpointer data)
{
	Writer *writer = data;

	for (guint i = 0; i < LINES; i++) {
		g_autofree char *ip =
		    g_strdup_printf("10.%u.%u.%u", writer->thread, i / 256, i % 256);
		g_autoptr(VerifyDmarcHistoryEntry) entry =
		    sample_entry(1796342400 + i, "example.com", ip, "reject");

		g_assert_true(verify_dmarc_history_append(writer->history, entry));
	}
	return NULL;
}

static char *
make_dir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("pc-dmarc-history-XXXXXX", &error);

	g_assert_no_error(error);
	return dir;
}

static void
remove_dir(const char *dir)
{
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	const char *name;

	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		g_unlink(path);
	}
	g_rmdir(dir);
}

static void
test_writer_threads(void)
{
	g_autofree char *dir = make_dir();
	VerifyDmarcHistory *history = verify_dmarc_history_new();
	Writer writers[WRITERS];
	GThread *threads[WRITERS];
	g_autofree char *path = NULL;
	g_autofree char *contents = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	guint n = 0;

	verify_dmarc_history_configure(history, dir, G_GINT64_CONSTANT(1) << 30);
	g_assert_true(verify_dmarc_history_is_on(history));
	for (guint t = 0; t < WRITERS; t++) {
		writers[t] = (Writer){history, t};
		threads[t] = g_thread_new("writer", write_lines, &writers[t]);
	}
	for (guint t = 0; t < WRITERS; t++)
		g_thread_join(threads[t]);
	verify_dmarc_history_free(history);
	path = g_build_filename(dir, "2026-12-04.log", NULL);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	lines = g_strsplit(contents, "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		const char *why = NULL;
		g_autoptr(VerifyDmarcHistoryEntry) entry = NULL;

		if (**l == '\0')
			continue;
		entry = verify_dmarc_history_parse(*l, strlen(*l), &why);
		if (entry == NULL)
			g_error("line %u does not read (%s): %s", n, why, *l);
		g_hash_table_add(seen, g_strdup(verify_dmarc_history_entry_get(
					   entry, VERIFY_DMARC_HISTORY_SOURCE_IP)));
		n++;
	}
	g_assert_cmpuint(n, ==, WRITERS * LINES);
	g_assert_cmpuint(g_hash_table_size(seen), ==, WRITERS * LINES);
	remove_dir(dir);
}

static void
test_writer_bounds(void)
{
	g_autofree char *dir = make_dir();
	g_autofree char *missing = g_build_filename(dir, "missing", NULL);
	VerifyDmarcHistory *history = verify_dmarc_history_new();
	g_autoptr(VerifyDmarcHistoryEntry) entry =
	    sample_entry(1796342400, "example.com", "192.0.2.1", "reject");
	g_autoptr(VerifyDmarcHistoryEntry) next_day =
	    sample_entry(1796342400 + 86400, "example.com", "192.0.2.1", "reject");
	g_autofree char *line = verify_dmarc_history_format(entry);
	g_autofree char *day1 = g_build_filename(dir, "2026-12-04.log", NULL);
	g_autofree char *day2 = g_build_filename(dir, "2026-12-05.log", NULL);
	guint written = 0;
	GStatBuf st;

	/* no directory: off, said, nothing made */
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*is not a directory*");
	verify_dmarc_history_configure(history, missing, 1 << 20);
	g_test_assert_expected_messages();
	g_assert_false(verify_dmarc_history_is_on(history));
	g_assert_false(verify_dmarc_history_append(history, entry));
	g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
	/* the size bound: three lines fit, the fourth does not (warned once) */
	verify_dmarc_history_configure(history, dir, (gint64)strlen(line) * 3 + 1);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*dmarc_history_max_size*");
	for (guint i = 0; i < 5; i++)
		written += verify_dmarc_history_append(history, entry);
	g_test_assert_expected_messages();
	g_assert_cmpuint(written, ==, 3);
	g_assert_cmpint(g_stat(day1, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, (gint64)strlen(line) * 3);
	/* the next day opens its own file, with its own bound */
	g_assert_true(verify_dmarc_history_append(history, next_day));
	g_assert_true(g_file_test(day2, G_FILE_TEST_IS_REGULAR));
	/* a reload reopens: the bound counts what the file already holds */
	verify_dmarc_history_configure(history, dir, (gint64)strlen(line) * 3 + 1);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*dmarc_history_max_size*");
	g_assert_false(verify_dmarc_history_append(history, entry));
	g_test_assert_expected_messages();
	/* empty: off */
	verify_dmarc_history_configure(history, "", 1 << 20);
	g_assert_false(verify_dmarc_history_is_on(history));
	verify_dmarc_history_free(history);
	remove_dir(dir);
}

/* --- the report --- */

static void
test_report(void)
{
	g_autoptr(GPtrArray) entries =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dmarc_history_entry_free);
	g_autoptr(GHashTable) groups = NULL;
	VerifyDmarcReportMeta meta = {"Org <&>", "r@example.net", "id1", 100, 200, "gen"};
	GPtrArray *group;
	g_autofree char *xml = NULL;
	g_autofree char *bis_xml = NULL;
	guint records = 0;
	guint64 messages = 0;

	/* three the same, one from elsewhere, one passing; another domain in other case */
	for (guint i = 0; i < 3; i++)
		g_ptr_array_add(entries,
				sample_entry(100 + i, "example.com", "192.0.2.1", "reject"));
	g_ptr_array_add(entries, sample_entry(110, "example.com", "192.0.2.2", "reject"));
	g_ptr_array_add(entries, sample_entry(120, "example.com", "192.0.2.1", "pass"));
	g_ptr_array_add(entries, sample_entry(130, "Example.ORG", "192.0.2.1", "quarantine"));
	g_ptr_array_add(entries, sample_entry(140, "example.org", "192.0.2.1", "quarantine"));
	groups = verify_dmarc_report_group(entries);
	g_assert_cmpuint(g_hash_table_size(groups), ==, 2);
	group = g_hash_table_lookup(groups, "example.com");
	g_assert_cmpuint(group->len, ==, 5);
	xml = verify_dmarc_report_xml(group, &meta, &records, &messages);
	g_assert_cmpuint(records, ==, 3);
	g_assert_cmpuint(messages, ==, 5);
	g_assert_nonnull(strstr(xml, "<feedback>\n"));
	g_assert_nonnull(strstr(xml, "<org_name>Org &lt;&amp;&gt;</org_name>"));
	g_assert_nonnull(strstr(xml, "<count>3</count>"));
	/* RFC 7489: sp and pct always, "pass" as none, no generator */
	g_assert_nonnull(strstr(xml, "<sp>reject</sp>"));
	g_assert_nonnull(strstr(xml, "<pct>100</pct>"));
	g_assert_null(strstr(xml, "<disposition>pass</disposition>"));
	g_assert_null(strstr(xml, "<generator>"));
	g_assert_nonnull(strstr(xml, "<selector>s1</selector>"));
	/* the latest entry's record decides the form */
	verify_dmarc_history_entry_set(g_ptr_array_index(group, 4), VERIFY_DMARC_HISTORY_FORM,
				       "9990");
	verify_dmarc_history_entry_set(g_ptr_array_index(group, 4), VERIFY_DMARC_HISTORY_REASONS,
				       "testing,sampled-out");
	bis_xml = verify_dmarc_report_xml(group, &meta, &records, &messages);
	g_assert_nonnull(strstr(bis_xml, "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"));
	g_assert_nonnull(strstr(bis_xml, "<disposition>pass</disposition>"));
	g_assert_nonnull(strstr(bis_xml, "<discovery_method>treewalk</discovery_method>"));
	g_assert_nonnull(strstr(bis_xml, "<type>policy_test_mode</type>"));
	g_assert_null(strstr(bis_xml, "<pct>"));
	g_assert_null(strstr(bis_xml, "sampled_out"));
	g_assert_nonnull(strstr(bis_xml, "<generator>gen</generator>"));
	group = g_hash_table_lookup(groups, "example.org");
	g_assert_cmpuint(group->len, ==, 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/verify/dmarc-history/round-trip", test_round_trip);
	g_test_add_func("/verify/dmarc-history/sanitised", test_sanitised);
	g_test_add_func("/verify/dmarc-history/parse-errors", test_parse_errors);
	g_test_add_func("/verify/dmarc-history/writer-threads", test_writer_threads);
	g_test_add_func("/verify/dmarc-history/writer-bounds", test_writer_bounds);
	g_test_add_func("/verify/dmarc-history/report", test_report);
	return g_test_run();
}
