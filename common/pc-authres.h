/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-authres: the Authentication-Results header field (RFC 8601), built and
 * parsed.
 *
 * The builder gives the one header portcullis-verify inserts: the
 * authserv-id, then one "method=result" entry per check with its reason and
 * properties, each entry on a folded line of its own. Values are written as
 * RFC 8601 allows them (a token, an addr-spec or domain, else a quoted
 * string with escapes), so hostile input (an envelope sender is the client's
 * text) cannot add an entry, a property or a line: anything not printable
 * ASCII or UTF-8 is dropped, and every value has a length bound.
 *
 * The parser reads a header someone else wrote: RFC 8601 with comments and
 * folding anywhere CFWS may be, quoted strings, versions, "none". Its main
 * caller is the removal of forged headers: pc_authres_authserv_id() finds
 * the authserv-id the way a reader downstream would, after comments and
 * quoting, so "(x) \"MX.Example.COM\" ; dkim=pass" is ours as surely as
 * "mx.example.com; dkim=pass" (OpenDKIM's CVE-2022-48521 kept such forged
 * headers). Comparison is ASCII case-insensitive, with one trailing dot
 * ignored.
 *
 * Thread-safety: objects are not shared; the functions keep no state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PC_AUTHRES_ERROR (pc_authres_error_quark())
typedef enum {
	PC_AUTHRES_ERROR_SYNTAX,
	PC_AUTHRES_ERROR_TOO_LONG,
} PcAuthResError;
GQuark pc_authres_error_quark(void);

#define PC_AUTHRES_MAX_HEADER (16 * 1024) /* a header value parsed, in octets */
#define PC_AUTHRES_MAX_RESULTS 64	  /* resinfo entries in one header */
#define PC_AUTHRES_MAX_PROPERTIES 32	  /* properties of one entry */
#define PC_AUTHRES_MAX_VALUE 1024	  /* one value (id, reason, property) */
#define PC_AUTHRES_MAX_COMMENT_DEPTH 32

typedef struct {
	char *ptype;	/* "smtp", "header", "body", "policy", lowercased */
	char *property; /* "mailfrom", "d", ... lowercased */
	char *value;	/* dequoted */
} PcAuthResProperty;

typedef struct {
	char *method;	       /* lowercased, "dkim"; a method version is dropped */
	char *result;	       /* lowercased, "pass" */
	char *reason;	       /* dequoted, or NULL */
	char *comment;	       /* built only: "(COMMENT)" after the result, or NULL */
	GPtrArray *properties; /* of PcAuthResProperty */
} PcAuthResResult;

typedef struct {
	char *authserv_id;
	guint version;	    /* 1 when absent */
	GPtrArray *results; /* of PcAuthResResult; empty for "none" */
} PcAuthRes;

/*
 * pc_authres_new:
 * @authserv_id: the server's name ([global] authserv_id)
 * Returns: (transfer full) an empty header to add results to.
 */
PcAuthRes *pc_authres_new(const char *authserv_id);
void pc_authres_free(PcAuthRes *authres);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcAuthRes, pc_authres_free)

/*
 * pc_authres_add_result:
 * Starts an entry "METHOD=RESULT" (both keywords: letters, digits and '-';
 * anything else, or more than PC_AUTHRES_MAX_RESULTS entries, is a
 * programming error: a reader would refuse the header). Returns: (transfer none) the entry,
 * for pc_authres_set_reason() and pc_authres_add_property().
 */
PcAuthResResult *pc_authres_add_result(PcAuthRes *authres, const char *method, const char *result);
void pc_authres_set_reason(PcAuthResResult *result, const char *reason);
/*
 * a comment after the result ("dmarc=fail (p=reject dis=none)"): printable
 * ASCII other than parentheses and backslashes is kept, at most 200 bytes
 */
void pc_authres_set_comment(PcAuthResResult *result, const char *comment);
/* @value: any text; written as a token, addr-spec or quoted string */
void pc_authres_add_property(PcAuthResResult *result, const char *ptype, const char *property,
			     const char *value);

/*
 * pc_authres_format:
 * Returns: (transfer full) the header value: "ID;\n\tMETHOD=RESULT ...;\n\t..."
 * (LF folding, as the milter protocol takes it), or "ID; none" without results.
 */
char *pc_authres_format(const PcAuthRes *authres);

/*
 * pc_authres_parse:
 * @value: a header value as received (folded or not); need not be
 *   NUL-terminated
 * Returns: TRUE and (transfer full) *out, or FALSE with a PC_AUTHRES_ERROR
 * whose message never quotes the input.
 */
gboolean pc_authres_parse(const char *value, gsize len, PcAuthRes **out, GError **error);

/*
 * pc_authres_authserv_id:
 * The authserv-id alone, read as pc_authres_parse() reads it but without
 * needing the rest of the header to be valid: a forged header with a broken
 * tail is still recognised as claiming that id. Returns: (transfer full) the
 * id, or NULL when the value does not start with one.
 */
char *pc_authres_authserv_id(const char *value, gsize len);

/*
 * pc_authres_is_ours:
 * @ids: NULL-terminated list of authserv-ids that are ours
 * Returns: TRUE when the header's authserv-id is one of @ids, read strictly
 * (pc_authres_authserv_id()) or loosely, as a careless reader would (the
 * text after comments and an opening quote, up to a blank, quote, ';' or
 * comment: an unclosed quote does not hide a forgery). Removing a header
 * that only one reading attributes to us costs nothing; keeping a forgery
 * would.
 */
gboolean pc_authres_is_ours(const char *value, gsize len, const char *const *ids);

G_END_DECLS
