/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-report: the aggregate report of one policy domain for one
 * day, from the day's history entries (verify-dmarc-history). Pure: entries
 * in, XML out; `portcullis dmarc-report` reads the files, checks the
 * destinations, compresses and mails.
 *
 * Messages are counted per record: the same source address, identifiers,
 * disposition, aligned results, override reasons and SPF and DKIM results
 * make one <record> with their <count>, in the order first seen. The
 * <policy_published> is the latest entry's (a record changed during the
 * day is reported as it last was, as receivers commonly do).
 *
 * Two forms, chosen by the latest entry's record: RFC 7489 Appendix C
 * (no namespace; sp= and pct= always given, as its schema requires them;
 * "pass" written as disposition "none") for records with RFC 7489's tags
 * only, and RFC 9990's (namespace urn:ietf:params:xml:ns:dmarc-2.0, with
 * np, testing and discovery_method, disposition "pass") for records that
 * use a tag only RFC 9989 has (np=, t=, psd=). Override reasons map to
 * each form's types (t=y is policy_test_mode in RFC 9990, "other" in RFC
 * 7489; the pct= sample is sampled_out in RFC 7489, "other" in RFC 9990).
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

#include "verify-dmarc-history.h"

G_BEGIN_DECLS

typedef struct {
	const char *org_name;
	const char *email;
	const char *report_id;
	gint64 begin; /* seconds since the epoch */
	gint64 end;
	const char *generator; /* RFC 9990 form only; may be NULL */
} VerifyDmarcReportMeta;

/*
 * verify_dmarc_report_group:
 * Returns: (transfer full) policy domain -> GPtrArray of the entries for it
 * (borrowed from entries, in their order).
 */
GHashTable *verify_dmarc_report_group(const GPtrArray *entries);

/*
 * verify_dmarc_report_xml:
 * @entries: VerifyDmarcHistoryEntry * of one policy domain, at least one
 * Returns: (transfer full) the report, with the number of <record>s and of
 * messages in them.
 */
char *verify_dmarc_report_xml(const GPtrArray *entries, const VerifyDmarcReportMeta *meta,
			      guint *records_out, guint64 *messages_out);

G_END_DECLS
