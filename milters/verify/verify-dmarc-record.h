/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-record: a DMARC policy record (the TXT record at
 * _dmarc.DOMAIN), read as RFC 9989 writes it, with RFC 7489's pct= kept for
 * the records that still carry it. Pure: text in, a record or an error out.
 *
 * What is read, and how strictly (the reasons are in docs/DESIGN.md,
 * "Verify daemon"):
 *  - the record starts with v=DMARC1 (case as written) or it is not a DMARC
 *    record at all (VERIFY_DMARC_RECORD_ERROR_NOT_DMARC: discarded, like any
 *    other TXT record at that name);
 *  - tags are name=value, separated by ';' with blanks allowed around the
 *    '=' and the ';', a trailing ';' too; names and keyword values are
 *    case-insensitive; unknown tags are ignored;
 *  - a tag given twice, a control character, or a record over
 *    VERIFY_DMARC_RECORD_MAX bytes makes the record invalid (permerror):
 *    two readings of one record would give two policies;
 *  - p= absent or not a policy is read as none (RFC 9989), and said so
 *    (p_valid); sp= and np= that are not policies are read as absent (the
 *    policy they fall back to applies); adkim=, aspf=, t=, psd= and pct=
 *    that are not valid take their defaults, and say so in `ignored`;
 *  - rua= and ruf=: at most VERIFY_DMARC_MAX_URIS URIs, each with an
 *    optional !SIZE[kmgt] limit; a URI that is not mailto: is kept but
 *    flagged, since only mailto: reports are sent.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* longest record read (the strings of the TXT record joined) */
#define VERIFY_DMARC_RECORD_MAX 2048
/* URIs kept per rua= or ruf= */
#define VERIFY_DMARC_MAX_URIS 8

#define VERIFY_DMARC_RECORD_ERROR (verify_dmarc_record_error_quark())
typedef enum {
	VERIFY_DMARC_RECORD_ERROR_NOT_DMARC, /* no v=DMARC1 first: not a DMARC record */
	VERIFY_DMARC_RECORD_ERROR_INVALID,   /* a DMARC record that cannot be read */
} VerifyDmarcRecordError;
GQuark verify_dmarc_record_error_quark(void);

typedef enum {
	VERIFY_DMARC_POLICY_ABSENT = 0,
	VERIFY_DMARC_POLICY_NONE,
	VERIFY_DMARC_POLICY_QUARANTINE,
	VERIFY_DMARC_POLICY_REJECT,
} VerifyDmarcPolicy;

typedef struct {
	char *uri;	   /* as written, without the !size */
	guint64 max_bytes; /* 0: no limit given */
	gboolean mailto;   /* a mailto: URI (the only kind reports go to) */
} VerifyDmarcUri;

typedef struct {
	VerifyDmarcPolicy p;  /* never ABSENT: none when absent or invalid */
	gboolean p_valid;     /* p= was present and a policy */
	VerifyDmarcPolicy sp; /* ABSENT: p applies to subdomains */
	VerifyDmarcPolicy np; /* ABSENT: sp (or p) applies to non-existent subdomains */
	/*
	 * p= present and a policy, and sp= and np= policies where given: without
	 * it RFC 9989 4.10.1 reads the record as p=none when it has a reporting
	 * URI, and applies no DMARC at all otherwise
	 */
	gboolean policy_valid;
	gboolean adkim_strict;
	gboolean aspf_strict;
	guint pct;	      /* 0..100; 100 when absent */
	gboolean pct_present; /* an RFC 7489 record with pct= */
	gboolean testing;     /* t=y */
	char psd;	      /* 'y', 'n' or 'u' (absent) */
	GPtrArray *rua;	      /* VerifyDmarcUri * */
	GPtrArray *ruf;
	char *fo; /* as written, or NULL */
	/* tags present but not valid, space separated ("adkim pct"), or NULL */
	char *ignored;
} VerifyDmarcRecord;

/* (transfer full) the record in text[0..len); NULL and error otherwise */
VerifyDmarcRecord *verify_dmarc_record_parse(const char *text, gsize len, GError **error);
void verify_dmarc_record_free(VerifyDmarcRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyDmarcRecord, verify_dmarc_record_free)

/* "none", "quarantine", "reject" ("" for ABSENT) */
const char *verify_dmarc_policy_to_string(VerifyDmarcPolicy policy);

G_END_DECLS
