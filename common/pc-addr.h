/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-addr: RFC 5321 path parsing as the envelope arrives from the MTA.
 *
 * Parses what the MTA sends in MAIL and RCPT (argv[0]):
 * "<user@example.com>", a bare "user@example.com", "<>", source routes
 * "<@a,@b:user@example.com>", quoted local parts, IP literals. It does not
 * reject the tricks open relays were abused with; it recognises them and sets
 * flags, so that policy decides (the relay guard refuses them, a logger may
 * only note them). Domains come back lowercased with one trailing dot removed.
 *
 * Limits (RFC 5321 4.5.3.1): path 256 octets including the brackets, domain
 * 255, label 63, local part 64. Input longer than that is
 * PC_ADDR_ERROR_TOO_LONG, never truncated. NUL bytes and control characters
 * are PC_ADDR_ERROR_SYNTAX.
 *
 * RFC 5322 header addresses (From:, Sender:, To:) are parsed by
 * pc_addr_parse_header_list(): display names, quoted strings, nested
 * comments, groups, several addresses, obsolete routes, and RFC 2047 encoded
 * words, which are recognised as display-name words so that an address
 * spelled inside one is never taken for the address.
 *
 * Thread-safety: no state; PcAddress and PcAddrList are owned by the caller.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PC_ADDR_MAX_PATH 256
#define PC_ADDR_MAX_DOMAIN 255
#define PC_ADDR_MAX_LABEL 63
/*
 * RFC 5321 4.5.3.1.1 sets 64 as the minimum a server must accept and asks for
 * tolerance beyond it; Postfix and Sendmail deliver longer local parts. 200
 * keeps a hard bound against abuse and room for a domain in a 256-octet path
 */
#define PC_ADDR_MAX_LOCAL 200

#define PC_ADDR_ERROR (pc_addr_error_quark())
typedef enum {
	PC_ADDR_ERROR_SYNTAX,	/* not an RFC 5321 path, even leniently */
	PC_ADDR_ERROR_TOO_LONG, /* over one of the limits above */
} PcAddrError;
GQuark pc_addr_error_quark(void);

typedef enum {
	PC_ADDR_FLAG_NONE = 0,
	PC_ADDR_FLAG_NULL = 1 << 0,	    /* "<>", the null reverse-path */
	PC_ADDR_FLAG_NO_BRACKETS = 1 << 1,  /* given without <> */
	PC_ADDR_FLAG_QUOTED = 1 << 2,	    /* local part was a quoted string */
	PC_ADDR_FLAG_SOURCE_ROUTE = 1 << 3, /* "@a,@b:" prefix present */
	PC_ADDR_FLAG_PERCENT = 1 << 4,	    /* '%' in the (unquoted) local part */
	PC_ADDR_FLAG_BANG = 1 << 5,	    /* '!' in the (unquoted) local part */
	PC_ADDR_FLAG_LOCAL_AT = 1 << 6,	    /* '@' in the local part (quoted or not) */
	PC_ADDR_FLAG_IP_LITERAL = 1 << 7,   /* domain is "[a.b.c.d]" or "[IPv6:...]" */
	PC_ADDR_FLAG_NO_DOMAIN = 1 << 8,    /* no "@domain" at all ("postmaster") */
	PC_ADDR_FLAG_TRAILING_DOT = 1 << 9, /* "example.com." normalised */
	PC_ADDR_FLAG_UTF8 = 1 << 10,	    /* 8-bit octets present (SMTPUTF8) */
	/*
	 * an IPv6 literal of an IPv4 address ("[IPv6:::ffff:127.0.0.1]", any
	 * spelling), normalised to "[127.0.0.1]": Postfix treats it as that
	 * address, Sendmail does not (it routes it elsewhere)
	 */
	PC_ADDR_FLAG_V4_MAPPED = 1 << 11,
	/*
	 * an IPv4 literal with leading zeros ("[127.000.000.001]"), normalised
	 * to "[127.0.0.1]": valid RFC 5321 and local to Postfix, but Sendmail
	 * does not match it against its own addresses and routes it elsewhere
	 */
	PC_ADDR_FLAG_LEADING_ZERO = 1 << 12,
} PcAddrFlags;

/* any form that names a next hop other than the domain after the last '@' */
#define PC_ADDR_FLAGS_ROUTING                                                                      \
	(PC_ADDR_FLAG_SOURCE_ROUTE | PC_ADDR_FLAG_PERCENT | PC_ADDR_FLAG_BANG |                    \
	 PC_ADDR_FLAG_LOCAL_AT)

typedef struct {
	char *local;  /* local part with quoting removed ("" for the null path) */
	char *domain; /* lowercased, trailing dot removed; "" when NO_DOMAIN or NULL;
		       * an IP literal keeps its brackets: "[192.0.2.1]" */
	char *route;  /* the source route as given ("@a,@b"), or NULL */
	PcAddrFlags flags;
} PcAddress;

/*
 * pc_addr_parse_path:
 * @text: the path as the MTA passed it; need not be NUL-terminated
 * @len: its length in bytes
 * Returns: TRUE and (transfer full) *address_out, or FALSE with error
 * (PC_ADDR_ERROR_SYNTAX or PC_ADDR_ERROR_TOO_LONG), *address_out untouched.
 * Lenient where the MTA is (no brackets, trailing dot, unquoted '@' in the
 * local part resolved at the last '@' and flagged); strict about NUL,
 * control characters, empty labels and lengths.
 */
gboolean pc_addr_parse_path(const char *text, gsize len, PcAddress **address_out, GError **error);

void pc_address_free(PcAddress *address);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcAddress, pc_address_free)

/*
 * pc_addr_normalize_domain:
 * Lowercases ASCII and removes one trailing dot; NULL when the result is not
 * a valid domain (empty label, over the limits, NUL or control bytes).
 * Address literals come back in the same canonical form pc_addr_parse_path()
 * gives them ("[IPv6:2001:DB8:0::1]" -> "[ipv6:2001:db8::1]", and an
 * IPv4-mapped IPv6 literal -> "[192.0.2.1]"), so the two compare equal.
 * Returns: (transfer full).
 */
char *pc_addr_normalize_domain(const char *domain, gsize len);

/*
 * --- caseless forms (SMTPUTF8) ---
 *
 * The forms two spellings are compared in when case must not matter: keys
 * of an owner table, the addresses looked up in it, logins. Valid UTF-8 is
 * decomposed (NFD), folded and composed again (NFC), so canonically
 * equivalent spellings (o-umlaut as U+00F6, or as o and U+0308) get one
 * form; ASCII comes out lowercased, as before. Input that is not valid UTF-8
 * is only ASCII-lowercased and otherwise kept byte for byte: it never folds
 * into the form of a valid string, so it matches only itself. No IDNA
 * conversion: an A-label (xn--...) and its U-label stay different strings,
 * as in Postfix. Input over PC_ADDR_MAX_FOLD octets, or holding a NUL, has
 * no caseless form (NULL): callers treat it as matching nothing.
 */
#define PC_ADDR_MAX_FOLD 1024

/*
 * pc_addr_fold_local:
 * A local part or a login: Unicode full case folding (CaseFolding.txt,
 * statuses C and F: what Postfix's casefold() gets from ICU), so SS, sharp s
 * (U+00DF) and capital sharp s (U+1E9E) fold to "ss", final and medial
 * sigma to one sigma, and the Turkish dotless i (U+0131) stays apart from i
 * (no locale tailoring).
 * Returns: (transfer full), or NULL (see above).
 */
char *pc_addr_fold_local(const char *text, gsize len);

/*
 * pc_addr_fold_domain:
 * A domain, as pc_addr_normalize_domain() returns it: lowercase mapping
 * only, code point by code point, so that letters IDNA2008 keeps distinct
 * stay distinct (sharp s is not "ss", final sigma is not sigma: they spell
 * other registered names) while an upper-case U-label is its lower-case one.
 * Returns: (transfer full), or NULL (see above).
 */
char *pc_addr_fold_domain(const char *domain, gsize len);

/*
 * --- RFC 5322 address lists (header values) ---
 */

/* the longest header value parsed; Postfix folds and keeps far more, but no From needs it */
#define PC_ADDR_MAX_HEADER 8192
#define PC_ADDR_MAX_LIST 1000	     /* addresses in one list */
#define PC_ADDR_MAX_COMMENT_DEPTH 32 /* nested comments */

typedef enum {
	PC_ADDR_LIST_FLAG_NONE = 0,
	PC_ADDR_LIST_FLAG_GROUP = 1 << 0,	 /* a group ("name: ...;") was seen */
	PC_ADDR_LIST_FLAG_NO_ADDRESS = 1 << 1,	 /* not one address: empty, or empty groups */
	PC_ADDR_LIST_FLAG_ENCODED_WORD = 1 << 2, /* an RFC 2047 encoded word in a display name */
	PC_ADDR_LIST_FLAG_ROUTE = 1 << 3,	 /* an obsolete route: "<@a,@b:user@example.com>" */
	PC_ADDR_LIST_FLAG_DISPLAY_NAME = 1 << 4, /* some address has a display name */
} PcAddrListFlags;

typedef struct {
	GPtrArray *addresses; /* PcAddress *, in header order; the list owns them */
	PcAddrListFlags flags;
} PcAddrList;

/*
 * pc_addr_parse_header_list:
 * @text: a header value as the MTA passed it (folding with CR, LF and tabs
 *   allowed); need not be NUL-terminated
 * @len: its length in bytes
 * Returns: TRUE and (transfer full) *list_out, or FALSE with error
 * (PC_ADDR_ERROR_SYNTAX, or PC_ADDR_ERROR_TOO_LONG past PC_ADDR_MAX_HEADER
 * bytes, PC_ADDR_MAX_LIST addresses, or the RFC 5321 part limits), and
 * *list_out untouched. Each address is an addr-spec: local part dequoted
 * (PC_ADDR_FLAG_QUOTED when a word was quoted), domain normalised as
 * pc_addr_normalize_domain() does; route is the obsolete route when one was
 * given. An empty value or only empty groups succeed with no address and
 * PC_ADDR_LIST_FLAG_NO_ADDRESS. Strict where two readers could disagree
 * about the address: an addr-spec needs a domain, an encoded word may not be
 * part of one, words must be joined by dots, a group must be closed by ';',
 * nothing may follow an angle address but ',' (or ';' in a group). Lenient
 * about display names (unquoted '@' and '.' are accepted there, as MUAs do).
 */
gboolean pc_addr_parse_header_list(const char *text, gsize len, PcAddrList **list_out,
				   GError **error);

void pc_addr_list_free(PcAddrList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcAddrList, pc_addr_list_free)

G_END_DECLS
