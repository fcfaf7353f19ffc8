/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis dmarc-report: DMARC aggregate reports from the day files
 * portcullis-verify keeps ([verify] dmarc_history_dir), without a database.
 *
 * For one UTC day (--day, default yesterday) the evaluations are grouped by
 * policy domain; each domain's report (verify-dmarc-report.c: RFC 7489's
 * form, or RFC 9990's for DMARCbis records) is gzipped under the file name
 * RFC 7489 7.2.1.1 gives (RECEIVER!DOMAIN!BEGIN!END.xml.gz) and
 *  - listed only (no option): what would be sent where, nothing changed;
 *  - written to a directory (--out DIR);
 *  - mailed (--send) to each mailto: URI of the record's rua= through
 *    [verify] dmarc_report_sendmail (sendmail -i -f FROM -- RCPT...: any
 *    MTA's), as a multipart message with the RFC's Subject.
 * A destination outside the policy domain's organisation is used only when
 * its DNS says so (RFC 7489 7.1: a v=DMARC1 record at
 * DOMAIN._report._dmarc.HOST, whose own rua= may replace it, on the same
 * host only); a report larger than a URI's !size is not sent there.
 * dmarc_no_report_domains are skipped. With --send or --out, day files
 * older than dmarc_history_keep are removed.
 *
 * Exit status: 0 done; 1 something could not be sent or written (the rest
 * was); 2 usage or configuration.
 */
#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "pc-addr.h"
#include "pc-config.h"
#include "pc-dns.h"
#include "tool.h"
#include "verify-dmarc-report.h"
#include "verify-policy.h"

#define TOOL_NAME "portcullis dmarc-report"

typedef struct {
	char *config_path;
	char *day;
	char *out_dir;
	gboolean send;
} ReportOptions;

typedef struct {
	const VerifyConfig *verify;
	const char *receiver; /* our name: the authserv-id */
	VerifyDmarcResolver resolver;
	VerifyDmarcDnsContext dns;
	const VerifyPsl *psl;
	gboolean failed; /* something could not be done: exit 1 */
} Reporter;

/* --- reading the day --- */

static GPtrArray *
read_day(const char *path, gboolean *missing_out)
{
	GPtrArray *entries =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dmarc_history_entry_free);
	FILE *in = fopen(path, "re");
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	guint number = 0, bad = 0;

	*missing_out = in == NULL;
	if (in == NULL)
		return entries;
	while ((len = getline(&line, &size, in)) >= 0) {
		const char *why = NULL;
		VerifyDmarcHistoryEntry *entry;

		number++;
		entry = verify_dmarc_history_parse(line, (gsize)len, &why);
		if (entry == NULL) {
			/* a line cut by a full disk, or not ours: said, then skipped */
			if (bad++ < 5)
				fprintf(stderr, TOOL_NAME ": %s:%u: %s: line skipped\n", path,
					number, why);
			continue;
		}
		g_ptr_array_add(entries, entry);
	}
	if (bad > 5)
		fprintf(stderr, TOOL_NAME ": %s: %u lines skipped in all\n", path, bad);
	free(line);
	fclose(in);
	return entries;
}

/* --- where reports go --- */

typedef struct {
	char *address; /* the mailbox */
	char *host;    /* its domain */
	guint64 max_bytes;
} Destination;

static void
destination_free(gpointer data)
{
	Destination *d = data;

	g_free(d->address);
	g_free(d->host);
	g_free(d);
}

/* "mailto:a@b!10m" (as the history keeps it: !BYTES) into a destination, or NULL */
static Destination *
destination_parse(const char *uri)
{
	g_autofree char *copy = g_strdup(uri);
	char *bang = strrchr(copy, '!');
	char *query;
	g_autoptr(PcAddress) address = NULL;
	g_autofree char *path = NULL;
	Destination *d;
	guint64 max = 0;

	if (g_ascii_strncasecmp(copy, "mailto:", 7) != 0)
		return NULL;
	if (bang != NULL) {
		*bang = '\0';
		if (!g_ascii_string_to_unsigned(bang + 1, 10, 1, G_MAXUINT64, &max, NULL))
			return NULL;
	}
	query = strchr(copy, '?');
	if (query != NULL)
		*query = '\0';
	path = g_strdup_printf("<%s>", copy + 7);
	if (!pc_addr_parse_path(path, strlen(path), &address, NULL) || address->domain[0] == '\0' ||
	    address->domain[0] == '[' || (address->flags & PC_ADDR_FLAGS_ROUTING) != 0)
		return NULL;
	d = g_new0(Destination, 1);
	d->address = g_strdup(copy + 7);
	d->host = g_strdup(address->domain);
	d->max_bytes = max;
	return d;
}

static char *
org_domain(Reporter *reporter, const char *domain)
{
	if (reporter->psl != NULL)
		return verify_psl_org_domain(reporter->psl, domain);
	return verify_dmarc_org_domain(domain, &reporter->resolver, NULL);
}

/*
 * RFC 7489 7.1: a destination outside the policy domain's organisation
 * must say it takes the reports. Adds the destinations to use to out.
 */
static void
verify_destination(Reporter *reporter, const char *policy_domain, Destination *d, GPtrArray *out)
{
	g_autofree char *ours = org_domain(reporter, policy_domain);
	g_autofree char *theirs = org_domain(reporter, d->host);
	g_autofree char *name = NULL;
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_autoptr(GPtrArray) replaced = g_ptr_array_new_with_free_func(destination_free);
	PcDnsStatus status;
	gboolean authorised = FALSE;

	if (ours == NULL || theirs == NULL) {
		fprintf(stderr,
			TOOL_NAME ": %s: %s: DNS failure finding organisational domains; "
				  "not sent there (try again later)\n",
			policy_domain, d->address);
		reporter->failed = TRUE;
		return;
	}
	if (g_ascii_strcasecmp(ours, theirs) == 0) {
		g_ptr_array_add(out, d);
		return;
	}
	name = g_strdup_printf("%s._report._dmarc.%s", policy_domain, d->host);
	status = reporter->resolver.txt(reporter->resolver.user_data, name, texts);
	if (!pc_dns_status_is_answer(status) && status != PC_DNS_BADNAME) {
		fprintf(stderr, TOOL_NAME ": %s: %s: %s for %s; not sent there (try again later)\n",
			policy_domain, d->address, pc_dns_status_to_string(status), name);
		reporter->failed = TRUE;
		destination_free(d);
		return;
	}
	for (guint i = 0; i < texts->len; i++) {
		gsize len;
		const char *text = g_bytes_get_data(texts->pdata[i], &len);
		g_autoptr(VerifyDmarcRecord) record = verify_dmarc_record_parse(text, len, NULL);

		if (len < 8 || strncmp(text, "v=DMARC1", 8) != 0)
			continue;
		authorised = TRUE;
		/* its own rua= replaces ours, on the same host only */
		for (guint j = 0; record != NULL && j < record->rua->len; j++) {
			const VerifyDmarcUri *uri = g_ptr_array_index(record->rua, j);
			g_autofree char *spec =
			    uri->max_bytes > 0
				? g_strdup_printf("%s!%" G_GUINT64_FORMAT, uri->uri, uri->max_bytes)
				: g_strdup(uri->uri);
			Destination *other = destination_parse(spec);

			if (other == NULL)
				continue;
			if (g_ascii_strcasecmp(other->host, d->host) != 0) {
				printf("%s: %s: its confirming record points elsewhere (%s): not "
				       "sent\n",
				       policy_domain, d->address, other->address);
				destination_free(other);
				destination_free(d);
				return;
			}
			g_ptr_array_add(replaced, other);
		}
		break;
	}
	if (!authorised) {
		printf("%s: %s: outside the domain, and %s does not take its reports: not sent\n",
		       policy_domain, d->address, name);
		destination_free(d);
		return;
	}
	if (replaced->len == 0) {
		g_ptr_array_add(out, d);
		return;
	}
	destination_free(d);
	while (replaced->len > 0)
		g_ptr_array_add(out, g_ptr_array_steal_index(replaced, 0));
}

/* --- the report's bytes --- */

static GBytes *
gzip(const char *text, GError **error)
{
	g_autoptr(GZlibCompressor) compressor =
	    g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
	g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable();
	g_autoptr(GOutputStream) out =
	    g_converter_output_stream_new(memory, G_CONVERTER(compressor));

	if (!g_output_stream_write_all(out, text, strlen(text), NULL, NULL, error) ||
	    !g_output_stream_close(out, NULL, error))
		return NULL;
	return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(memory));
}

static char *
mail_message(const char *from, const GPtrArray *to, const char *domain, const char *receiver,
	     const char *report_id, const char *file_name, GBytes *report, guint64 messages,
	     const char *day)
{
	GString *mail = g_string_new(NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *date = g_date_time_format(now, "%a, %d %b %Y %H:%M:%S %z");
	g_autofree char *boundary =
	    g_strdup_printf("=_portcullis_%08x%08x", g_random_int(), g_random_int());
	gsize len;
	const guchar *data = g_bytes_get_data(report, &len);
	g_autofree char *encoded = g_base64_encode(data, len);
	gsize encoded_len = strlen(encoded);

	g_string_append_printf(mail, "From: <%s>\r\nTo: ", from);
	for (guint i = 0; i < to->len; i++) {
		const Destination *d = g_ptr_array_index(to, i);

		g_string_append_printf(mail, "%s<%s>", i > 0 ? ",\r\n " : "", d->address);
	}
	g_string_append_printf(
	    mail,
	    "\r\nSubject: Report Domain: %s Submitter: %s\r\n Report-ID: <%s>\r\n"
	    "Date: %s\r\nMessage-ID: <%s.%" G_GINT64_FORMAT "@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n",
	    domain, receiver, report_id, date, report_id, g_get_real_time() / G_USEC_PER_SEC,
	    receiver, boundary);
	g_string_append_printf(mail,
			       "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
			       "The DMARC aggregate report for %s from %s: %" G_GUINT64_FORMAT
			       " messages on %s (UTC).\r\n\r\n",
			       boundary, domain, receiver, messages, day);
	g_string_append_printf(mail,
			       "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
			       "Content-Disposition: attachment; filename=\"%s\"\r\n"
			       "Content-Transfer-Encoding: base64\r\n\r\n",
			       boundary, file_name, file_name);
	for (gsize at = 0; at < encoded_len; at += 76)
		g_string_append_printf(mail, "%.*s\r\n", (int)MIN(76, encoded_len - at),
				       encoded + at);
	g_string_append_printf(mail, "--%s--\r\n", boundary);
	return g_string_free(mail, FALSE);
}

/* hands the message to sendmail for the destinations; FALSE (said) when it failed */
static gboolean
send_mail(const char *sendmail, const char *from, const GPtrArray *to, const char *message)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocess) process = NULL;
	g_autoptr(GBytes) input = g_bytes_new(message, strlen(message));
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(argv, (gpointer)sendmail);
	g_ptr_array_add(argv, (gpointer) "-i");
	g_ptr_array_add(argv, (gpointer) "-f");
	g_ptr_array_add(argv, (gpointer)from);
	g_ptr_array_add(argv, (gpointer) "--");
	for (guint i = 0; i < to->len; i++)
		g_ptr_array_add(argv, ((Destination *)g_ptr_array_index(to, i))->address);
	g_ptr_array_add(argv, NULL);
	process = g_subprocess_newv((const char *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDIN_PIPE,
				    &error);
	if (process == NULL ||
	    !g_subprocess_communicate(process, input, NULL, NULL, NULL, &error) ||
	    !g_subprocess_wait_check(process, NULL, &error)) {
		fprintf(stderr, TOOL_NAME ": %s: %s\n", sendmail, error->message);
		return FALSE;
	}
	return TRUE;
}

/* --- one domain --- */

static gboolean
no_report(const VerifyConfig *verify, const char *domain)
{
	for (char **d = verify->dmarc_no_report_domains; d != NULL && *d != NULL; d++) {
		const char *entry = *d;
		gsize len = strlen(domain), entry_len = strlen(entry);

		if (entry[0] == '.') {
			/* ".example.com": the domain and its subdomains */
			if (g_ascii_strcasecmp(domain, entry + 1) == 0 ||
			    (len > entry_len &&
			     g_ascii_strcasecmp(domain + len - entry_len, entry) == 0))
				return TRUE;
		} else if (g_ascii_strcasecmp(domain, entry) == 0) {
			return TRUE;
		}
	}
	return FALSE;
}

static void
report_domain(Reporter *reporter, const ReportOptions *options, const char *domain,
	      const GPtrArray *entries, gint64 begin, const char *from)
{
	const VerifyDmarcHistoryEntry *latest = g_ptr_array_index(entries, entries->len - 1);
	const char *rua = verify_dmarc_history_entry_get(latest, VERIFY_DMARC_HISTORY_RUA);
	const char *org_name = reporter->verify->dmarc_report_org_name != NULL
				   ? reporter->verify->dmarc_report_org_name
				   : reporter->receiver;
	g_autofree char *report_id =
	    g_strdup_printf("%s.%s@%s", options->day, domain, reporter->receiver);
	g_autofree char *file_name =
	    g_strdup_printf("%s!%s!%" G_GINT64_FORMAT "!%" G_GINT64_FORMAT ".xml.gz",
			    reporter->receiver, domain, begin, begin + 86399);
	VerifyDmarcReportMeta meta = {org_name, from,	       report_id,
				      begin,	begin + 86399, "portcullis " PC_VERSION};
	guint records = 0;
	guint64 messages = 0;
	g_autofree char *xml = NULL;
	g_autoptr(GBytes) gz = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) destinations = g_ptr_array_new_with_free_func(destination_free);
	g_auto(GStrv) uris = NULL;

	for (guint i = 0; i < entries->len; i++) {
		const VerifyDmarcHistoryEntry *e = g_ptr_array_index(entries, i);

		if (e->time >= latest->time)
			latest = e;
	}
	rua = verify_dmarc_history_entry_get(latest, VERIFY_DMARC_HISTORY_RUA);
	if (no_report(reporter->verify, domain)) {
		printf("%s: in dmarc_no_report_domains: no report\n", domain);
		return;
	}
	xml = verify_dmarc_report_xml(entries, &meta, &records, &messages);
	gz = gzip(xml, &error);
	if (gz == NULL) {
		fprintf(stderr, TOOL_NAME ": %s: %s\n", domain, error->message);
		reporter->failed = TRUE;
		return;
	}
	printf("%s: %u records, %" G_GUINT64_FORMAT " messages, %s (%" G_GSIZE_FORMAT
	       " bytes gzipped)\n",
	       domain, records, messages, file_name, g_bytes_get_size(gz));
	if (options->out_dir != NULL) {
		g_autofree char *path = g_build_filename(options->out_dir, file_name, NULL);

		if (!g_file_set_contents(path, g_bytes_get_data(gz, NULL),
					 (gssize)g_bytes_get_size(gz), &error)) {
			fprintf(stderr, TOOL_NAME ": %s\n", error->message);
			reporter->failed = TRUE;
		}
		return;
	}
	if (rua == NULL) {
		printf("%s: the record asks for no reports (no rua=)\n", domain);
		return;
	}
	uris = g_strsplit(rua, ",", VERIFY_DMARC_MAX_URIS + 1);
	for (char **u = uris; *u != NULL; u++) {
		Destination *d = destination_parse(*u);
		g_autoptr(GPtrArray) checked = g_ptr_array_new();

		if (d == NULL) {
			printf("%s: %s: not a mailto: address reports can be sent to\n", domain,
			       *u);
			continue;
		}
		verify_destination(reporter, domain, d, checked);
		for (guint i = 0; i < checked->len; i++) {
			Destination *ok = g_ptr_array_index(checked, i);

			if (ok->max_bytes > 0 && g_bytes_get_size(gz) > ok->max_bytes) {
				printf("%s: %s: the report is larger than its limit "
				       "(%" G_GUINT64_FORMAT " bytes): not sent there\n",
				       domain, ok->address, ok->max_bytes);
				destination_free(ok);
				continue;
			}
			g_ptr_array_add(destinations, ok);
		}
	}
	for (guint i = 0; i < destinations->len; i++)
		printf("%s: to %s\n", domain,
		       ((Destination *)g_ptr_array_index(destinations, i))->address);
	if (!options->send || destinations->len == 0)
		return;
	{
		g_autofree char *message =
		    mail_message(from, destinations, domain, reporter->receiver, report_id,
				 file_name, gz, messages, options->day);

		if (!send_mail(reporter->verify->dmarc_report_sendmail, from, destinations,
			       message))
			reporter->failed = TRUE;
		else
			printf("%s: sent\n", domain);
	}
}

/* removes DIR/YYYY-MM-DD.log files of days before the day keep_us before today */
static void
remove_old_days(const char *dir, gint64 keep_us)
{
	g_autoptr(GDir) listing = g_dir_open(dir, 0, NULL);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autoptr(GDateTime) limit = g_date_time_add(now, -keep_us);
	g_autofree char *oldest = g_date_time_format(limit, "%Y-%m-%d.log");
	const char *name;

	while (listing != NULL && (name = g_dir_read_name(listing)) != NULL) {
		g_autofree char *path = NULL;

		if (strlen(name) != 14 || !g_str_has_suffix(name, ".log") || name[4] != '-' ||
		    name[7] != '-' || strcmp(name, oldest) >= 0)
			continue;
		path = g_build_filename(dir, name, NULL);
		if (g_unlink(path) == 0)
			printf("removed %s (older than dmarc_history_keep)\n", path);
		else
			fprintf(stderr, TOOL_NAME ": %s: %s\n", path, g_strerror(errno));
	}
}

static int
run(ReportOptions *options)
{
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(VerifyPsl) psl = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(GHashTable) groups = NULL;
	g_autoptr(GList) domains = NULL;
	g_autoptr(GDateTime) day = NULL;
	g_autofree char *from = NULL;
	g_autofree char *file = NULL;
	g_autofree char *path = NULL;
	Reporter reporter = {0};
	gboolean missing;

	if (!tool_load("dmarc-report", options->config_path, &verify_config_schema, &config, &dns))
		return TOOL_EXIT_USAGE;
	reporter.verify = pc_config_get_section(config);
	reporter.receiver = verify_authserv_id(config);
	reporter.dns = (VerifyDmarcDnsContext){dns, NULL};
	verify_dmarc_resolver_init(&reporter.resolver, &reporter.dns);
	if (reporter.verify->dmarc_history_dir == NULL) {
		fprintf(stderr,
			TOOL_NAME ": [verify] dmarc_history_dir is empty: nothing is kept\n");
		return TOOL_EXIT_USAGE;
	}
	if (reporter.verify->dmarc_org_domain == VERIFY_DMARC_DISCOVERY_PSL) {
		g_autoptr(GError) error = NULL;

		psl = verify_psl_load(reporter.verify->dmarc_psl_file, &error);
		if (psl == NULL) {
			fprintf(stderr, TOOL_NAME ": dmarc_psl_file: %s\n", error->message);
			return TOOL_EXIT_USAGE;
		}
		reporter.psl = psl;
	}
	if (options->day == NULL) {
		g_autoptr(GDateTime) now = g_date_time_new_now_utc();
		g_autoptr(GDateTime) yesterday = g_date_time_add_days(now, -1);

		options->day = g_date_time_format(yesterday, "%Y-%m-%d");
	}
	{
		g_autofree char *iso = g_strdup_printf("%sT00:00:00Z", options->day);

		day = strlen(options->day) == 10 ? g_date_time_new_from_iso8601(iso, NULL) : NULL;
		if (day == NULL) {
			fprintf(stderr, TOOL_NAME ": --day %s is not a date (YYYY-MM-DD)\n",
				options->day);
			return TOOL_EXIT_USAGE;
		}
	}
	from = reporter.verify->dmarc_report_email != NULL
		   ? g_strdup(reporter.verify->dmarc_report_email)
		   : g_strdup_printf("postmaster@%s", reporter.receiver);
	if (options->send && reporter.verify->dmarc_report_email == NULL) {
		fprintf(stderr, TOOL_NAME ": --send needs [verify] dmarc_report_email (the address "
					  "reports come from)\n");
		return TOOL_EXIT_USAGE;
	}
	file = g_strdup_printf("%s.log", options->day);
	path = g_build_filename(reporter.verify->dmarc_history_dir, file, NULL);
	entries = read_day(path, &missing);
	if (missing)
		printf("%s: no history for %s\n", path, options->day);
	groups = verify_dmarc_report_group(entries);
	domains = g_list_sort(g_hash_table_get_keys(groups), (GCompareFunc)strcmp);
	for (GList *d = domains; d != NULL; d = d->next)
		report_domain(&reporter, options, d->data, g_hash_table_lookup(groups, d->data),
			      g_date_time_to_unix(day), from);
	if (options->send || options->out_dir != NULL)
		remove_old_days(reporter.verify->dmarc_history_dir,
				reporter.verify->dmarc_history_keep);
	return reporter.failed ? TOOL_EXIT_FAILED : TOOL_EXIT_OK;
}

int
tool_dmarc_report(int argc, char **argv)
{
	ReportOptions options = {0};
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"day", 0, 0, G_OPTION_ARG_STRING, &options.day,
	     "the UTC day to report (default: yesterday)", "YYYY-MM-DD"},
	    {"send", 0, 0, G_OPTION_ARG_NONE, &options.send,
	     "mail each report to its rua= addresses through dmarc_report_sendmail", NULL},
	    {"out", 0, 0, G_OPTION_ARG_FILENAME, &options.out_dir,
	     "write the reports (.xml.gz) into DIR instead", "DIR"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("- DMARC aggregate reports from portcullis-verify's history");
	g_autoptr(GError) error = NULL;
	int status;

	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(
	    context, "Without --send or --out, lists what would be sent where and changes "
		     "nothing.\nRun it once a day, after midnight UTC (a systemd timer or cron).");
	if (!g_option_context_parse(context, &argc, &argv, &error))
		status = tool_usage_error(context, TOOL_NAME, error->message);
	else if (argc > 1)
		status = tool_usage_error(context, TOOL_NAME, "no arguments besides the options");
	else if (options.send && options.out_dir != NULL)
		status = tool_usage_error(context, TOOL_NAME, "--send or --out, not both");
	else
		status = run(&options);
	g_free(options.config_path);
	g_free(options.day);
	g_free(options.out_dir);
	return status;
}
