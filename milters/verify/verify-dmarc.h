/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc: DMARC evaluation of one message, apart from the milter
 * protocol: policy discovery, the organisational domains, identifier
 * alignment, the result and the policy the record asks for. DNS comes
 * through a VerifyDmarcResolver (pc-dns in the daemon, tables in the unit
 * tests), so the whole of it is pure.
 *
 * Discovery, by default RFC 9989's DNS tree walk (section 4.10):
 *  - a lookup at NAME asks TXT _dmarc.NAME; records not starting with
 *    v=DMARC1 are discarded, and several DMARC records at one name are all
 *    discarded (no record there);
 *  - the walk asks the start, then, for a name of x labels, the name less
 *    its leftmost label while x < 8, or its rightmost 7 labels when x >= 8,
 *    and so on up to the top-level name: at most 8 lookups. It stops at a
 *    record with psd=y or psd=n;
 *  - the policy record is the author domain's; else the organisational
 *    domain's; else the public suffix domain's (the psd=y record the walk
 *    stopped at). No record: DMARC does not apply (none);
 *  - the organisational domain of a name: of the records its walk found,
 *    longest name first, the one with psd=n; else the name one label below
 *    a psd=y record (not the start's); else the record with the fewest
 *    labels; else the name itself.
 * With VERIFY_DMARC_DISCOVERY_PSL (RFC 7489): the organisational domain is
 * the public suffix list's, and the policy record the author domain's, else
 * the organisational domain's.
 *
 * Alignment: SPF's domain (the MAIL FROM domain, or HELO's for <>) when SPF
 * passed, and each passing DKIM signature's d=, strict (equal to the
 * author domain) or relaxed (the same organisational domain), as the
 * record's aspf= and adkim= say. A name whose organisational domain cannot
 * be the author's (not at or below it) costs no lookup.
 *
 * The policy for a fail: p= for the author domain's own record; for a
 * record found above it sp= (np= when the author domain does not exist:
 * NXDOMAIN for its A record, RFC 8020, asked only then), falling back to
 * p=. A record whose p= is missing or not a policy, or whose sp= or np= is
 * not one, counts as p=none when it has a reporting URI, and as no record
 * otherwise (RFC 9989 4.10.1). The disposition is that policy, one level
 * lower (reject to quarantine, quarantine to none) when t=y or when an
 * RFC 7489 pct= below 100 leaves the message out of its sample.
 *
 * DNS failures (SERVFAIL, timeout, the message's budget spent) where the
 * result depends on them give temperror (also an SPF or DKIM temperror for
 * an identifier that could have aligned, where nothing else did), never a pass or a fail; a DMARC
 * record that cannot be read (verify-dmarc-record's invalid) where the
 * policy is taken from gives permerror.
 *
 * Thread-safety: no state of its own; one evaluation belongs to one thread.
 */
#pragma once

#include <glib.h>

#include "pc-dns.h"
#include "verify-dmarc-record.h"
#include "verify-psl.h"

G_BEGIN_DECLS

/* lookups of one tree walk at most (RFC 9989 4.10) */
#define VERIFY_DMARC_MAX_WALK 8
/* labels at which the walk jumps to the rightmost 7 */
#define VERIFY_DMARC_WALK_JUMP 8

typedef struct {
	/*
	 * the TXT records at name (each one's strings joined, as GBytes *
	 * appended to texts_out) and how the lookup went; a status other than
	 * OK leaves texts_out empty
	 */
	PcDnsStatus (*txt)(gpointer user_data, const char *name, GPtrArray *texts_out);
	/* how an A lookup of name went: NXDOMAIN says the name does not exist */
	PcDnsStatus (*address)(gpointer user_data, const char *name);
	gpointer user_data;
} VerifyDmarcResolver;

typedef enum {
	VERIFY_DMARC_DISCOVERY_TREE_WALK,
	VERIFY_DMARC_DISCOVERY_PSL,
} VerifyDmarcDiscovery;

typedef enum {
	VERIFY_DMARC_NONE, /* no policy record: DMARC does not apply */
	VERIFY_DMARC_PASS,
	VERIFY_DMARC_FAIL,
	VERIFY_DMARC_TEMPERROR,
	VERIFY_DMARC_PERMERROR,
} VerifyDmarcResult;
#define VERIFY_DMARC_N_RESULTS (VERIFY_DMARC_PERMERROR + 1)

/* "none", "pass", "fail", "temperror", "permerror" */
const char *verify_dmarc_result_to_string(VerifyDmarcResult result);

typedef struct {
	/* the From header's domain: ASCII (A-labels), lowercase, no trailing dot */
	const char *author_domain;
	/* the domain SPF passed for (MAIL FROM's, HELO's for <>), or NULL */
	const char *spf_domain;
	/* d= of each DKIM signature that passed; NULL-terminated, or NULL */
	const char *const *dkim_domains;
	/*
	 * identifiers whose check could not finish (SPF or DKIM temperror): a
	 * message that would fail is temperror instead when one of them could
	 * have aligned. NULL / NULL-terminated, or NULL
	 */
	const char *spf_unknown_domain;
	const char *const *dkim_unknown_domains;
	VerifyDmarcDiscovery discovery;
	const VerifyPsl *psl; /* with VERIFY_DMARC_DISCOVERY_PSL */
	/* 0..99, drawn per message: the pct= sample takes it when below pct */
	guint sample;
} VerifyDmarcInput;

typedef struct {
	VerifyDmarcResult result;
	/* static: why none, temperror or permerror, for the log; NULL otherwise */
	const char *reason;
	char *policy_domain;	   /* where the record applied was found, or NULL */
	char *org_domain;	   /* the author domain's organisational domain, when known */
	VerifyDmarcRecord *record; /* the record applied, or NULL */
	/* "p", "sp" or "np": the tag the requested policy came from (NULL without a record) */
	const char *policy_tag;
	/* what the record asks for a failing message of this author domain */
	VerifyDmarcPolicy requested;
	/* requested after t=y and pct=: what a fail is to get (NONE for anything but a fail) */
	VerifyDmarcPolicy disposition;
	gboolean downgraded;  /* t=y or the pct= sample lowered it */
	gboolean nonexistent; /* the author domain gave NXDOMAIN (np= applied) */
	gboolean spf_aligned;
	char *dkim_aligned; /* the d= that aligned (the first), or NULL */
	guint lookups;	    /* DNS lookups asked (TXT and A) */
} VerifyDmarcOutcome;

/*
 * verify_dmarc_evaluate:
 * Evaluates input through resolver into outcome_out (cleared first; free
 * with verify_dmarc_outcome_clear).
 */
void verify_dmarc_evaluate(const VerifyDmarcInput *input, const VerifyDmarcResolver *resolver,
			   VerifyDmarcOutcome *outcome_out);
void verify_dmarc_outcome_clear(VerifyDmarcOutcome *outcome);

/* (transfer full) "p=reject", "sp=none": the policy asked and its tag; NULL without a record */
char *verify_dmarc_outcome_policy(const VerifyDmarcOutcome *outcome);

/*
 * verify_dmarc_org_domain:
 * (transfer full) the organisational domain of domain by the tree walk, or
 * NULL when a lookup it needed failed (*lookups_out counts those asked).
 * For `portcullis verify` and the tests.
 */
char *verify_dmarc_org_domain(const char *domain, const VerifyDmarcResolver *resolver,
			      guint *lookups_out);

G_END_DECLS
