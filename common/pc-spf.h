/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-spf: the SPF evaluator (RFC 7208), on pc-dns. The daemon
 * (portcullis-verify) and the admin command (portcullis spf) both check
 * through it, with the same resolver and configuration.
 *
 * check_host() as RFC 7208 sections 4 to 6 describe it: the domain's
 * record selected from its TXT records (4.4, 4.5), read strictly
 * (pc-spf-record: any syntax error is a permerror), then its mechanisms in
 * order (5), "redirect" (6.1) and, for a fail, the explanation of "exp="
 * (6.2) with macros (7, pc-spf-macro). The limits of 4.6.4 are counted over
 * the whole check, includes and redirects too: at most 10 mechanisms and
 * modifiers that look up DNS, at most 2 of them void (NODATA or NXDOMAIN),
 * at most 10 names per MX (more is a permerror) and 10 per PTR (the rest are
 * ignored). Every query goes through the caller's PcDnsBudget, so one check
 * never waits longer than the message may; a DNS failure (SERVFAIL,
 * timeout, spent budget) is a temperror, never a pass.
 *
 * Where RFC 7208 leaves the choice open: a target name that cannot be
 * asked after expansion (an empty label, one over 63 octets) does not match
 * (a, mx, ptr, exists) and makes include and redirect a permerror; %{p}
 * validates at most 10 names and its lookups are not counted as terms; the
 * lookup of an explanation counts neither as a term nor as a void lookup.
 *
 * Not here: which identity to check when, or what to do with the result
 * (milters/verify); Authentication-Results (pc-authres).
 *
 * Thread-safety: the functions keep no state and may run in any number of
 * threads at once (the PcDns is thread-safe); a PcDnsBudget belongs to one
 * message's thread.
 */
#pragma once

#include <glib.h>

#include "pc-dns.h"
#include "pc-net.h"

G_BEGIN_DECLS

/* RFC 7208 4.6.4 */
#define PC_SPF_MAX_DNS_TERMS 10	  /* include a mx ptr exists redirect, in the whole check */
#define PC_SPF_MAX_VOID_LOOKUPS 2 /* of those, answered NODATA or NXDOMAIN */
#define PC_SPF_MAX_MX_NAMES 10	  /* exchanges of one mx: more is a permerror */
#define PC_SPF_MAX_PTR_NAMES 10	  /* names of one PTR lookup: the rest are ignored */
/* octets of an explanation kept; a longer one is dropped for the default */
#define PC_SPF_MAX_EXPLANATION 1024
/* octets of a domain to check, and of a local part */
#define PC_SPF_MAX_DOMAIN 253
#define PC_SPF_MAX_LOCAL_PART 256

/* RFC 7208 2.6; the names are RFC 8601's result words */
typedef enum {
	PC_SPF_NONE,
	PC_SPF_NEUTRAL,
	PC_SPF_PASS,
	PC_SPF_FAIL,
	PC_SPF_SOFTFAIL,
	PC_SPF_TEMPERROR,
	PC_SPF_PERMERROR,
} PcSpfResult;
#define PC_SPF_N_RESULTS (PC_SPF_PERMERROR + 1)

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char *pc_spf_result_to_string(PcSpfResult result);
/* the reverse, for tests and tools; FALSE for any other word */
gboolean pc_spf_result_from_string(const char *text, PcSpfResult *result_out);

typedef enum {
	PC_SPF_IDENTITY_MAILFROM, /* RFC 7208 2.4: the envelope sender's domain */
	PC_SPF_IDENTITY_HELO,	  /* 2.3: the HELO name (also for MAIL FROM:<>) */
} PcSpfIdentity;

/* "mailfrom", "helo": RFC 8601's smtp.mailfrom and smtp.helo */
const char *pc_spf_identity_to_string(PcSpfIdentity identity);

/* how a check runs */
typedef struct {
	PcDns *dns;	      /* the process's resolver */
	PcDnsBudget *budget;  /* nullable: the message's DNS budget, charged by every query */
	const char *receiver; /* %{r} in explanations: our name; NULL = "unknown" */
	gint64 timestamp;     /* %{t}: seconds since the epoch; 0 = now */
} PcSpfOptions;

typedef struct {
	PcSpfResult result;
	PcSpfIdentity identity;
	char *domain; /* the domain checked, as given (no trailing dot) */
	/*
	 * fail: the explanation (RFC 7208 6.2), expanded from the record's
	 * "exp=" when it gave one, else "DOMAIN does not designate IP as
	 * permitted sender"; printable ASCII only. NULL for other results.
	 */
	char *explanation;
	/*
	 * why, for logs and the admin: the directive that matched ("ip4:
	 * 192.0.2.0/24 in example.org"), "no match, default neutral", "no SPF
	 * record", or what went wrong ("more than 10 DNS lookups", "DNS timeout
	 * for TXT example.org", "syntax error in the record of example.org:
	 * ..."); printable ASCII
	 */
	char *reason;
	guint dns_terms;    /* terms that looked up DNS, counted against 10 */
	guint void_lookups; /* of those, void */
	guint queries;	    /* DNS queries sent */
} PcSpfOutcome;

void pc_spf_outcome_free(PcSpfOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcSpfOutcome, pc_spf_outcome_free)

/*
 * pc_spf_domain_is_checkable:
 * RFC 7208 4.3: TRUE when domain (one trailing dot allowed) is a
 * multi-label domain name whose labels are 1..63 octets of printable ASCII
 * without spaces, at most 253 octets, not an address literal ("[...]") and
 * not all digits in its last label (an IP address). check_host() of any
 * other name is "none" without a lookup.
 */
gboolean pc_spf_domain_is_checkable(const char *domain);

/*
 * pc_spf_check_mail_from:
 * @ip: the SMTP client's address (an IPv4-mapped IPv6 address is IPv4)
 * @local_part: the envelope sender's local part, dequoted; NULL or "" =
 *   "postmaster" (RFC 7208 4.3)
 * @domain: the envelope sender's domain (not NULL; "" for MAIL FROM:<>,
 *   which checks the HELO identity instead, RFC 7208 2.4)
 * @helo: the HELO/EHLO name, as given (nullable: %{h} is then empty)
 * The MAIL FROM identity: check_host(ip, domain, local_part@domain).
 * Returns: (transfer full) the outcome, never NULL.
 */
PcSpfOutcome *pc_spf_check_mail_from(const PcSpfOptions *options, const PcNetAddress *ip,
				     const char *local_part, const char *domain, const char *helo);

/*
 * pc_spf_check_helo:
 * The HELO identity: check_host(ip, helo, postmaster@helo); "none" for a
 * name that is not checkable (an address literal, one label).
 * Returns: (transfer full) the outcome, never NULL.
 */
PcSpfOutcome *pc_spf_check_helo(const PcSpfOptions *options, const PcNetAddress *ip,
				const char *helo);

/*
 * pc_spf_result_of_include:
 * RFC 7208 5.2's table: what an include's recursive result means for the
 * including record. Sets *match_out for pass; returns PC_SPF_NONE for "no
 * match" (fail, softfail, neutral), TEMPERROR for temperror and PERMERROR
 * for permerror and none. Pure; for tests.
 */
PcSpfResult pc_spf_result_of_include(PcSpfResult included, gboolean *match_out);

/*
 * pc_spf_result_of_lookup:
 * What a DNS status means for a mechanism's lookup (RFC 7208 5, 4.6.4):
 * PC_SPF_PASS for "records to compare", PC_SPF_NONE for a void answer
 * (NODATA, NXDOMAIN: no match, one void lookup) or a name that could not
 * be asked (no match, not void: *is_void_out FALSE), PC_SPF_TEMPERROR for
 * every failure to find out. Pure; for tests.
 */
PcSpfResult pc_spf_result_of_lookup(PcDnsStatus status, gboolean *is_void_out);

G_END_DECLS
