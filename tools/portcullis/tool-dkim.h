/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-dkim: what `portcullis keygen` and `portcullis dkim-check` share:
 * a DKIM key record in zone-file form, and the comparison of a published
 * record with a key file.
 *
 * Thread-safety: pure functions.
 */
#pragma once

#include <glib.h>

#include "sign-keys.h"

G_BEGIN_DECLS

/* a TXT character-string holds at most 255 octets (RFC 1035 3.3) */
#define TOOL_DKIM_TXT_STRING_MAX 255

/*
 * tool_dkim_zone_record:
 * "SELECTOR._domainkey.DOMAIN. 3600 IN TXT ( "v=DKIM1; k=rsa; p=..." ... )\n"
 * with the value split into strings of at most 255 octets, one a line.
 * Returns: (transfer full)
 */
char *tool_dkim_zone_record(const char *domain, const char *selector, SignAlgorithm algorithm,
			    const char *public_key);

typedef enum {
	TOOL_DKIM_MATCH,     /* the record is this key's */
	TOOL_DKIM_MISMATCH,  /* a record, of another key */
	TOOL_DKIM_MISSING,   /* no record (NXDOMAIN, NODATA, no TXT) */
	TOOL_DKIM_UNUSABLE,  /* a record no verifier would use (syntax, revoked, k=, h=) */
	TOOL_DKIM_DNS_ERROR, /* SERVFAIL, timeout: try again */
} ToolDkimCheck;

/* "match", "mismatch", "missing", "unusable", "dns-error" */
const char *tool_dkim_check_to_string(ToolDkimCheck check);

/*
 * tool_dkim_compare:
 * @records: the TXT records at SELECTOR._domainkey.DOMAIN, each with its
 *   strings joined (NULL-terminated)
 * Compares them with @key (the algorithm and the p= value). *why_out gets
 * (transfer full) one line for the admin. Pure.
 */
ToolDkimCheck tool_dkim_compare(const char *const *records, const SignKey *key, char **why_out);

G_END_DECLS
