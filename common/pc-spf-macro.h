/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-spf-macro: SPF macro strings (RFC 7208 section 7), checked and
 * expanded.
 *
 * A macro string comes from a sender's DNS: a mechanism's or modifier's
 * domain-spec, an unknown modifier's value, or the explanation text an
 * "exp=" names. The checker reads it against the ABNF of RFC 7208 section
 * 12 (macro-expand, macro-literal, the domain-end a domain-spec must close
 * with, the letters c, r and t only in explanations) with explicit bounds;
 * the expander runs the same reader first, so nothing is expanded that the
 * checker did not accept (libspf2's macro compiler had an integer underflow
 * on hostile input, CVE-2023-42118; docs/DESIGN.md, "Verify daemon").
 *
 * Not here: the record's terms (pc-spf-record), DNS, what a query name may
 * be after expansion (pc-spf applies RFC 7208 4.8's truncation). The value
 * of %{p} needs DNS and comes in through a callback.
 *
 * Thread-safety: no state; a context is read only.
 */
#pragma once

#include <glib.h>

#include "pc-net.h"

G_BEGIN_DECLS

#define PC_SPF_MACRO_ERROR (pc_spf_macro_error_quark())
typedef enum {
	PC_SPF_MACRO_ERROR_SYNTAX,   /* not what RFC 7208's ABNF allows there */
	PC_SPF_MACRO_ERROR_TOO_LONG, /* input, a value or the expansion over a limit below */
} PcSpfMacroError;
GQuark pc_spf_macro_error_quark(void);

/* octets of one macro string read (a record is at most as long: pc-spf-record) */
#define PC_SPF_MACRO_MAX_INPUT 4096
/* octets of one macro letter's value (a sender, a HELO name); more is TOO_LONG */
#define PC_SPF_MACRO_MAX_VALUE 1024
/* octets of one expansion, before a query name is cut to 253 (RFC 7208 4.8) */
#define PC_SPF_MACRO_MAX_OUTPUT 8192
/*
 * a transformer's digits are read up to this value and kept there: a name
 * has at most 127 labels, so every larger count means "all the parts"
 */
#define PC_SPF_MACRO_MAX_PARTS 128

typedef enum {
	/*
	 * the target of a mechanism, "redirect=" or "exp=": macro-string
	 * followed by domain-end ("." toplabel ["."], or a macro); no c, r, t;
	 * never empty
	 */
	PC_SPF_MACRO_DOMAIN_SPEC,
	/* an explanation (the TXT record "exp=" names): spaces, and c, r, t, allowed */
	PC_SPF_MACRO_EXPLAIN,
	/* an unknown modifier's value: any macro-string (checked, never expanded) */
	PC_SPF_MACRO_STRING,
} PcSpfMacroKind;

/*
 * pc_spf_macro_check:
 * @text: need not be NUL-terminated; a NUL byte is a syntax error
 * Returns: TRUE when text is a valid macro string of that kind; FALSE with a
 * PC_SPF_MACRO_ERROR whose message is printable ASCII (the input quoted
 * as pc_spf_macro_quote() does).
 */
gboolean pc_spf_macro_check(const char *text, gsize len, PcSpfMacroKind kind, GError **error);

/* what the macro letters stand for (RFC 7208 7.2) */
typedef struct {
	const char *sender;	   /* s: local-part@domain ("postmaster" for an empty local part) */
	const char *local_part;	   /* l */
	const char *sender_domain; /* o */
	const char *domain;	   /* d: the domain whose record is being evaluated */
	PcNetAddress ip;	   /* i, c and v */
	const char *helo;	   /* h: as the client gave it; NULL = "" */
	const char *receiver;	   /* r (explanations only); NULL = "unknown" */
	gint64 timestamp;	   /* t (explanations only): seconds since the epoch */
	/*
	 * p: the validated name of ip (RFC 7208 5.5), asked for only when a
	 * string uses %{p}: it costs DNS lookups. Returns (transfer none) a
	 * name, or NULL for "unknown". NULL callback: "unknown".
	 */
	const char *(*validated_name)(gpointer data);
	gpointer validated_name_data;
} PcSpfMacroContext;

/*
 * pc_spf_macro_expand:
 * Checks text as pc_spf_macro_check() does, then expands it with context:
 * each %{...} becomes its letter's value split on its delimiters (default
 * "."), reversed with "r", cut to the right-most N parts, joined with ".",
 * and URL-escaped for an upper-case letter (RFC 3986 unreserved kept);
 * "%%" is "%", "%_" a space, "%-" "%20". Nothing else is changed (a domain
 * keeps its trailing dot: the caller decides).
 * Returns: (transfer full) the expansion, or NULL with a PC_SPF_MACRO_ERROR
 * (syntax, or a value or the result over the limits above; kind
 * PC_SPF_MACRO_STRING is never expanded: a programming error).
 */
char *pc_spf_macro_expand(const char *text, gsize len, PcSpfMacroKind kind,
			  const PcSpfMacroContext *context, GError **error);

/*
 * pc_spf_macro_ip_dotted:
 * The "i" form of an address: "192.0.2.1", or for IPv6 32 lower-case hex
 * nibbles joined by dots ("2.0.0.1.0.d.b.8...."; RFC 7208 7.3 and 7.4).
 * Returns buf (at least PC_SPF_MACRO_IP_STRLEN octets).
 */
#define PC_SPF_MACRO_IP_STRLEN 72
const char *pc_spf_macro_ip_dotted(const PcNetAddress *ip, char *buf, gsize buflen);

/*
 * pc_spf_macro_quote:
 * Appends text (len octets, any bytes) to out, printable ASCII kept and
 * everything else as \xHH, at most 64 characters of that (then "..."):
 * for error messages that show what a record said.
 */
void pc_spf_macro_quote(GString *out, const char *text, gsize len);

G_END_DECLS
