/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-history: the DMARC evaluations of a day, for aggregate
 * reports without a database server. portcullis-verify appends one line
 * per evaluation that found a policy record (pass or fail) to
 * [verify] dmarc_history_dir/YYYY-MM-DD.log (the UTC day); `portcullis
 * dmarc-report` reads a day back.
 *
 * A line is VERIFY_DMARC_HISTORY_N_FIELDS tab-separated fields, the first
 * the format version ("1"), "-" for an empty one. Values are printable
 * ASCII without blanks (anything else is written as '?': they come from
 * the network and the DNS), each at most VERIFY_DMARC_HISTORY_MAX_FIELD
 * bytes, a line at most VERIFY_DMARC_HISTORY_MAX_LINE.
 *
 * The writer: one per process, shared by every connection thread. Each
 * line is one write() on a descriptor opened with O_APPEND, under a mutex,
 * so lines never interleave; the file is reopened when the day changes. A
 * day's file stops growing at max_bytes (what did not fit is counted and
 * warned about once a day), so a flood cannot fill the disk. The directory
 * is never created: without it (packaging makes it) the history is off,
 * said once per configuration.
 *
 * Thread-safety: the writer is thread-safe; entries belong to their caller.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VERIFY_DMARC_HISTORY_MAX_FIELD 1024
#define VERIFY_DMARC_HISTORY_MAX_LINE 8192

typedef enum {
	VERIFY_DMARC_HISTORY_VERSION,
	VERIFY_DMARC_HISTORY_TIME, /* seconds since the epoch */
	VERIFY_DMARC_HISTORY_SOURCE_IP,
	VERIFY_DMARC_HISTORY_HEADER_FROM,
	VERIFY_DMARC_HISTORY_ENVELOPE_FROM, /* the MAIL FROM domain; "-" for <> */
	VERIFY_DMARC_HISTORY_ENVELOPE_TO,   /* the first recipient's domain */
	VERIFY_DMARC_HISTORY_POLICY_DOMAIN,
	VERIFY_DMARC_HISTORY_DISCOVERY, /* "treewalk" or "psl" */
	VERIFY_DMARC_HISTORY_FORM,	/* "7489" or "9990": the report's form */
	VERIFY_DMARC_HISTORY_P,
	VERIFY_DMARC_HISTORY_SP,
	VERIFY_DMARC_HISTORY_NP,
	VERIFY_DMARC_HISTORY_ADKIM, /* "r" or "s" */
	VERIFY_DMARC_HISTORY_ASPF,
	VERIFY_DMARC_HISTORY_PCT,
	VERIFY_DMARC_HISTORY_TESTING, /* "y" or "n" */
	VERIFY_DMARC_HISTORY_FO,
	VERIFY_DMARC_HISTORY_RUA, /* the URIs as written (with !size), ',' separated */
	/* "pass", or what was done with a fail: "none", "quarantine", "reject" */
	VERIFY_DMARC_HISTORY_DISPOSITION,
	VERIFY_DMARC_HISTORY_DKIM, /* "pass" or "fail": an aligned signature passed */
	VERIFY_DMARC_HISTORY_SPF,  /* "pass" or "fail": SPF passed aligned */
	/* why the disposition is not the policy's: override types, ',' separated */
	VERIFY_DMARC_HISTORY_REASONS,
	VERIFY_DMARC_HISTORY_SPF_DOMAIN,
	VERIFY_DMARC_HISTORY_SPF_SCOPE, /* "mfrom" or "helo" */
	VERIFY_DMARC_HISTORY_SPF_RESULT,
	/* each signature checked: "DOMAIN/SELECTOR/RESULT", ',' separated */
	VERIFY_DMARC_HISTORY_DKIM_RESULTS,
	VERIFY_DMARC_HISTORY_N_FIELDS,
} VerifyDmarcHistoryField;

typedef struct {
	gint64 time;
	char *fields[VERIFY_DMARC_HISTORY_N_FIELDS]; /* NULL: empty ("-") */
} VerifyDmarcHistoryEntry;

VerifyDmarcHistoryEntry *verify_dmarc_history_entry_new(void);
void verify_dmarc_history_entry_free(VerifyDmarcHistoryEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyDmarcHistoryEntry, verify_dmarc_history_entry_free)

/* sets a field: a copy of value with what may not be written replaced; NULL clears it */
void verify_dmarc_history_entry_set(VerifyDmarcHistoryEntry *entry, VerifyDmarcHistoryField field,
				    const char *value);
/* (transfer none) a field, or NULL when empty */
const char *verify_dmarc_history_entry_get(const VerifyDmarcHistoryEntry *entry,
					   VerifyDmarcHistoryField field);

/* (transfer full) the entry's line, newline included */
char *verify_dmarc_history_format(const VerifyDmarcHistoryEntry *entry);

/*
 * (transfer full) the entry in line[0..len) (a trailing newline allowed),
 * or NULL with a message for the admin in *why_out (static)
 */
VerifyDmarcHistoryEntry *verify_dmarc_history_parse(const char *line, gsize len,
						    const char **why_out);

/* "YYYY-MM-DD.log" of the UTC day of time (seconds since the epoch) */
char *verify_dmarc_history_file_name(gint64 time);

/* --- the writer --- */

typedef struct _VerifyDmarcHistory VerifyDmarcHistory;

VerifyDmarcHistory *verify_dmarc_history_new(void);
void verify_dmarc_history_free(VerifyDmarcHistory *history);

/*
 * verify_dmarc_history_configure:
 * dir NULL or empty: off. Called at start and at each reload; warns (once)
 * when dir is not a directory.
 */
void verify_dmarc_history_configure(VerifyDmarcHistory *history, const char *dir, gint64 max_bytes);

/* TRUE when a directory is configured and was there */
gboolean verify_dmarc_history_is_on(VerifyDmarcHistory *history);

/* appends entry to its day's file; FALSE when it was not written (off, full, an error) */
gboolean verify_dmarc_history_append(VerifyDmarcHistory *history,
				     const VerifyDmarcHistoryEntry *entry);

G_END_DECLS
