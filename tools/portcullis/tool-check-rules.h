/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-check-rules: the warnings of `portcullis check`, for what the
 * configuration allows but an admin rarely means. Pure: the snapshots each
 * daemon loaded in, lines out; the unit tests feed it files.
 *
 * The rules (each warning names the file, the section and the key):
 *  - a submission or smtps listener whose role [auth] require_tls leaves
 *    out: logins may cross the network unencrypted;
 *  - [auth] min_tls_version below TLSv1.2 (RFC 8996 deprecates 1.0 and 1.1);
 *  - [auth] auth_on_mx = allow: AUTH on port 25 is what password guessers
 *    try first;
 *  - [relay] on_error = accept: a store outage lets relay probers through
 *    unbanned;
 *  - no local domain at all (empty local_domains, no domains.d file): every
 *    recipient is foreign, so the relay guard refuses all mail from outside;
 *  - no [listener.NAME]: every connection is judged as mx, so submission
 *    logins are refused by auth (auth_on_mx) and nothing is signed;
 *  - trusted_networks holding a network of more than a /8 (IPv4) or /32
 *    (IPv6): clients there may relay and skip every check;
 *  - two [rate.NAME] limits with the same key and count on overlapping
 *    roles: the stricter always decides, the other is dead weight (or a
 *    typo);
 *  - [verify] dmarc_history_dir that is not a directory: no reports;
 *  - [verify] dmarc_org_domain = psl: the list must be kept up to date
 *    (Debian's publicsuffix package), the tree walk needs nothing.
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

#include "pc-config.h"

G_BEGIN_DECLS

/* each daemon's load of one file; NULL where that daemon could not load it */
typedef struct {
	const char *path;
	const PcConfig *relay;
	const PcConfig *auth;
	const PcConfig *rate;
	const PcConfig *verify;
	const PcConfig *stack; /* [stack], for portcullis-stack; NULL when it did not load */
} ToolCheckInput;

/* appends one line (char *, "FILE: [SECTION] KEY: text") per warning to warnings */
void tool_check_warnings(const ToolCheckInput *input, GPtrArray *warnings);

G_END_DECLS
