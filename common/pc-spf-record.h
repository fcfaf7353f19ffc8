/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-spf-record: the strict reader of an SPF record (RFC 7208 sections 4.5,
 * 4.6 and 12).
 *
 * A record is "v=spf1" followed by terms separated by spaces (SP only: a
 * tab, CR, LF or NUL is a syntax error, as is any octet outside printable
 * ASCII). Every term is checked before anything is evaluated, because RFC
 * 7208 4.6 makes a syntax error anywhere in the record a permerror, even
 * after a mechanism that would have matched: unknown mechanisms, arguments
 * a mechanism does not take ("all:x", "include:x/24", "ptr/0"), addresses
 * and prefix lengths that are not written as the ABNF says ("ip4:1.2.3",
 * "/032", "/33" on ip4, "a/24/64"), domain-specs without a valid domain-end
 * ("a:museum", "a:1.2.3.4", "a:example.-com"), bad macros, "redirect" or
 * "exp" twice, and unknown modifiers whose name or macro string is invalid.
 * CIDR /0 is valid.
 *
 * Not here: DNS, evaluation, expansion (pc-spf, pc-spf-macro).
 *
 * Thread-safety: a PcSpfRecord is a plain owned value, immutable once
 * parsed; the functions keep no state.
 */
#pragma once

#include <glib.h>

#include "pc-net.h"
#include "pc-spf-macro.h"

G_BEGIN_DECLS

#define PC_SPF_RECORD_ERROR (pc_spf_record_error_quark())
typedef enum {
	PC_SPF_RECORD_ERROR_SYNTAX,   /* not what RFC 7208 allows: a permerror */
	PC_SPF_RECORD_ERROR_TOO_LONG, /* over a limit below: a permerror too (never cut) */
} PcSpfRecordError;
GQuark pc_spf_record_error_quark(void);

/*
 * octets of one record, its character-strings joined: RFC 7208 3.4 asks
 * for records that fit a 512-octet UDP answer; the largest published ones
 * are about 1 KiB, and this leaves room
 */
#define PC_SPF_RECORD_MAX PC_SPF_MACRO_MAX_INPUT
/* terms of one record */
#define PC_SPF_RECORD_MAX_TERMS 256

typedef enum {
	PC_SPF_MECH_ALL,
	PC_SPF_MECH_INCLUDE,
	PC_SPF_MECH_A,
	PC_SPF_MECH_MX,
	PC_SPF_MECH_PTR,
	PC_SPF_MECH_IP4,
	PC_SPF_MECH_IP6,
	PC_SPF_MECH_EXISTS,
} PcSpfMechanism;

/* "all", "include", ... */
const char *pc_spf_mechanism_to_string(PcSpfMechanism mechanism);

/* the qualifier of a directive, the character it is written with */
typedef enum {
	PC_SPF_QUALIFIER_PASS = '+',
	PC_SPF_QUALIFIER_FAIL = '-',
	PC_SPF_QUALIFIER_SOFTFAIL = '~',
	PC_SPF_QUALIFIER_NEUTRAL = '?',
} PcSpfQualifier;

/* one directive: [qualifier] mechanism */
typedef struct {
	PcSpfMechanism mechanism;
	PcSpfQualifier qualifier;
	/*
	 * the checked domain-spec (include, exists, and a, mx, ptr when given),
	 * not expanded; NULL for "the current domain" and for all, ip4, ip6
	 */
	char *domain_spec;
	PcNetAddress network; /* ip4 (in pc-net's mapped form) and ip6 */
	guint ip4_prefix;     /* 0..32: ip4, a and mx; 32 when not written */
	guint ip6_prefix;     /* 0..128: ip6, a and mx; 128 when not written */
} PcSpfTerm;

typedef struct {
	GArray *terms;	   /* PcSpfTerm, in record order; never NULL */
	char *redirect;	   /* the checked domain-spec of "redirect=", or NULL */
	char *explanation; /* the checked domain-spec of "exp=", or NULL */
	gboolean has_all;  /* an "all" anywhere: RFC 7208 6.1 then ignores redirect */
	guint
	    dns_terms; /* terms that look up DNS (include a mx ptr exists), redirect not counted */
	guint unknown_mods; /* unknown modifiers (checked, then ignored) */
} PcSpfRecord;

/*
 * pc_spf_record_is_spf1:
 * RFC 7208 4.5: TRUE when text starts with "v=spf1" (any case) followed by
 * a space or the end. Only such TXT records are SPF records; the others are
 * none of SPF's business, whatever they hold.
 */
gboolean pc_spf_record_is_spf1(const char *text, gsize len);

/*
 * pc_spf_record_parse:
 * @text: the record's strings joined (need not be NUL-terminated; may hold NULs)
 * Returns: TRUE and (transfer full) *record_out, or FALSE with a
 * PC_SPF_RECORD_ERROR naming the term (printable ASCII, at most a few
 * hundred characters: the term quoted as pc_spf_macro_quote() does);
 * *record_out is untouched then.
 */
gboolean pc_spf_record_parse(const char *text, gsize len, PcSpfRecord **record_out, GError **error);

void pc_spf_record_free(PcSpfRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcSpfRecord, pc_spf_record_free)

/*
 * pc_spf_term_to_string:
 * One directive as the record would write it ("-ip4:192.0.2.0/24",
 * "mx:%{d}//64"), the "+" left out. Returns: (transfer full).
 */
char *pc_spf_term_to_string(const PcSpfTerm *term);

/*
 * pc_spf_record_to_string:
 * The record as a canonical text ("v=spf1 ip4:192.0.2.0/24 -all"), for
 * logs, tests and the fuzz target's round trip. Returns: (transfer full).
 */
char *pc_spf_record_to_string(const PcSpfRecord *record);

G_END_DECLS
