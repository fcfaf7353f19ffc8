/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dkim: DKIM verification (RFC 6376, RFC 8301, RFC 8463) for
 * portcullis-verify, on libopendkim with our resolver underneath.
 *
 * libopendkim does canonicalisation, hashing and the signature arithmetic;
 * this module owns everything around it:
 *  - DNS: the key lookups go through pc-dns (libopendkim's dkim_dns_set_*
 *    callbacks), charged to the message's PcDnsBudget; libopendkim's own
 *    resolver is never used;
 *  - the result of each signature, decided here from what libopendkim, the
 *    DNS and our own reading of the signature and key record say, as the
 *    RFCs require rather than as libopendkim happens to report it (it calls a
 *    missing key a temporary failure, lets rsa-sha1 pass, accepts duplicate
 *    tags and base64 with stray characters, and takes an RSA key for an
 *    Ed25519 record);
 *  - the DoS bounds: at most max_signatures signatures (later ones are
 *    counted, never handed to libopendkim), at most PC_SESSION_MAX_HEADERS
 *    headers or PC_SESSION_MAX_HEADER_BYTES of them handed to libopendkim
 *    (past that each signature is reported neutral, not verified), the body
 *    streamed (never held).
 *
 * This is the only file pair that knows libopendkim's status codes (only
 * verify-dkim.c includes dkim.h); everything past it speaks RFC 8601 result
 * words. The tag-list reader (verify-dkim-tags.c) is ours so that the
 * strict checks libopendkim skips are made, and so that a broken signature
 * can still be reported with the tags it has.
 *
 * Thread-safety: a VerifyDkim is shared by all connections and immutable
 * after verify_dkim_new(); a VerifyDkimMessage belongs to one message (one
 * connection's callbacks). The parsers and verify_dkim_decide() are pure.
 */
#pragma once

#include <glib.h>

#include "pc-authres.h"
#include "pc-dns.h"

G_BEGIN_DECLS

/* RFC 8601 2.7.1 results for the dkim method */
typedef enum {
	VERIFY_DKIM_NONE, /* the message carries no DKIM-Signature */
	VERIFY_DKIM_PASS,
	VERIFY_DKIM_FAIL,      /* body hash or signature did not verify */
	VERIFY_DKIM_NEUTRAL,   /* not verified: over our own resource limits */
	VERIFY_DKIM_TEMPERROR, /* the key could not be fetched (SERVFAIL, timeout, budget) */
	VERIFY_DKIM_PERMERROR, /* unusable signature or key; rsa-sha1; RSA under 1024 bits */
} VerifyDkimResult;
#define VERIFY_DKIM_N_RESULTS (VERIFY_DKIM_PERMERROR + 1)

/* "none", "pass", "fail", "neutral", "temperror", "permerror" */
const char *verify_dkim_result_to_string(VerifyDkimResult result);

/* ------------------------------------------------------- tag-lists (pure) */

/* a tag-list holds at most this many tags; more is a syntax error */
#define VERIFY_DKIM_MAX_TAGS 64

typedef struct {
	char *name;
	/*
	 * FWS at both ends removed; inside, each run of FWS is one space; other
	 * control bytes (an error anyway) are '?'
	 */
	char *value;
} VerifyDkimTag;

typedef struct {
	GPtrArray *tags; /* VerifyDkimTag, in order; what could be read even after an error */
	/* static: the first way the text breaks RFC 6376 3.2, or NULL */
	const char *error;
} VerifyDkimTagList;

/*
 * verify_dkim_tags_parse:
 * Reads a tag-list (RFC 6376 3.2: tag names ALPHA *(ALPHA / DIGIT / "_"),
 * values of VALCHAR and FWS, no tag twice). After an error it goes on at
 * the next ';', so later tags are still read. @text need not be
 * NUL-terminated; a NUL is an invalid character.
 * Returns: (transfer full) never NULL.
 */
VerifyDkimTagList *verify_dkim_tags_parse(const char *text, gsize len);
void verify_dkim_tag_list_free(VerifyDkimTagList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyDkimTagList, verify_dkim_tag_list_free)

/* (transfer none) the value of tag @name (case-sensitive), or NULL */
const char *verify_dkim_tags_get(const VerifyDkimTagList *list, const char *name);

/* signature algorithms (RFC 6376 3.3, RFC 8463) */
typedef enum {
	VERIFY_DKIM_ALG_UNKNOWN,
	VERIFY_DKIM_ALG_RSA_SHA1,
	VERIFY_DKIM_ALG_RSA_SHA256,
	VERIFY_DKIM_ALG_ED25519_SHA256,
} VerifyDkimAlg;

/* one DKIM-Signature as we read it */
typedef struct {
	/* as written, NULL when absent; values are not trusted text */
	char *domain;	 /* d= */
	char *selector;	 /* s= */
	char *identity;	 /* i= */
	char *algorithm; /* a= */
	char *b;	 /* b=, whitespace removed */
	VerifyDkimAlg alg;
	/*
	 * static: why the signature is unusable by RFC 6376 3.2, 3.5 and 6.1.1
	 * (syntax, a missing required tag, version, algorithm, base64, d= or s=
	 * not a name, From not signed), or NULL
	 */
	const char *error;
} VerifyDkimSigTags;

/* Returns: (transfer full) never NULL */
VerifyDkimSigTags *verify_dkim_signature_parse(const char *value, gsize len);
void verify_dkim_sig_tags_free(VerifyDkimSigTags *tags);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyDkimSigTags, verify_dkim_sig_tags_free)

typedef enum {
	VERIFY_DKIM_KEY_RSA,
	VERIFY_DKIM_KEY_ED25519,
	VERIFY_DKIM_KEY_OTHER, /* a k= this verifier does not know */
} VerifyDkimKeyType;

/* one key record (RFC 6376 3.6.1) as we read it */
typedef struct {
	VerifyDkimKeyType type; /* k=, default rsa */
	gboolean revoked;	/* p= empty */
	gboolean sha1_allowed;	/* h= lists it, or there is no h= */
	gboolean sha256_allowed;
	gboolean strict;  /* t=s */
	gboolean testing; /* t=y */
	/*
	 * static: why the record is unusable (syntax, v= not first or not
	 * DKIM1, no p=, p= not base64, s= without email or *), or NULL
	 */
	const char *error;
} VerifyDkimKey;

/* fills @key_out from a key record's text (its TXT strings joined) */
void verify_dkim_key_parse(const char *text, gsize len, VerifyDkimKey *key_out);

/* TRUE when @name is a domain name of LDH labels ('_' allowed), without a trailing dot */
gboolean verify_dkim_name_is_valid(const char *name, gsize min_labels);

/* ---------------------------------------------------- the result (pure) */

/*
 * What is known about one signature once libopendkim is done with it. The
 * lib_* fields are libopendkim's own values (DKIM_SIGERROR_*,
 * DKIM_SIGFLAG_*, DKIM_SIGBH_*), kept as plain ints so that this header
 * does not include dkim.h.
 */
typedef struct {
	gboolean over_limits;	       /* the message was over our header limits */
	gboolean lib_failed;	       /* libopendkim failed on the message (memory, state) */
	const VerifyDkimSigTags *tags; /* our reading of the signature */
	gboolean lib_syntax;	       /* libopendkim could not read the signature either */
	int lib_error;		       /* dkim_sig_geterror() */
	guint lib_flags;	       /* dkim_sig_getflags() */
	int lib_body_hash;	       /* dkim_sig_getbh() */
	guint key_bits;		       /* dkim_sig_getkeysize(); 0 unknown */
	gboolean key_asked;	       /* a key query was made */
	PcDnsStatus key_status;	       /* its status */
	gboolean key_too_large;	       /* the answer did not fit libopendkim's buffer */
	guint key_records;	       /* TXT records in an OK answer */
	const VerifyDkimKey *key;      /* our reading of the one record, or NULL */
} VerifyDkimFacts;

/*
 * verify_dkim_decide:
 * The result of one signature by RFC 6376 6.1 (in its order: signature,
 * key, body hash, signature check), RFC 8301 (rsa-sha1 and RSA keys under
 * 1024 bits never pass: permerror) and RFC 8463. *reason_out (may be NULL)
 * gets a static reason for anything but a pass, in RFC 6376's words where
 * it has them ("no key for signature", "body hash did not verify").
 */
VerifyDkimResult verify_dkim_decide(const VerifyDkimFacts *facts, const char **reason_out);

/* ------------------------------------------------- verification (adapter) */

/* one reported signature */
typedef struct {
	VerifyDkimResult result;
	const char *reason; /* static; NULL for pass */
	VerifyDkimSigTags *tags;
	guint key_bits;	  /* RSA modulus bits when the key was read; 0 otherwise */
	gboolean testing; /* the key says t=y */
} VerifyDkimSignature;

void verify_dkim_signature_free(VerifyDkimSignature *signature);

/*
 * verify_dkim_authres:
 * Adds one "dkim=RESULT" entry per signature of @signatures
 * (VerifyDkimSignature), in order, with reason= for anything but a pass
 * and header.d, header.i (when present), header.s, header.a and header.b
 * (RFC 6008: at least 8 characters of b=, more when needed to tell two of
 * these signatures apart); "dkim=none" when there is none. Pure.
 */
void verify_dkim_authres(const GPtrArray *signatures, PcAuthRes *authres);

#define VERIFY_DKIM_ERROR (verify_dkim_error_quark())
typedef enum {
	VERIFY_DKIM_ERROR_INIT, /* libopendkim could not be set up */
} VerifyDkimError;
GQuark verify_dkim_error_quark(void);

typedef struct _VerifyDkim VerifyDkim;

/*
 * verify_dkim_new:
 * @dns: (nullable) the process's resolver, borrowed: it must outlive the
 *   verifier; without one every key lookup is a temperror
 * Makes the process's one libopendkim library handle, with our DNS
 * callbacks. Start-up only. Returns: (transfer full) the verifier, or NULL
 * with a VERIFY_DKIM_ERROR (libopendkim failed, or lacks Ed25519).
 */
VerifyDkim *verify_dkim_new(PcDns *dns, GError **error);
void verify_dkim_free(VerifyDkim *dkim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyDkim, verify_dkim_free)

typedef struct _VerifyDkimMessage VerifyDkimMessage;

/*
 * verify_dkim_message_new:
 * @dkim: the process's verifier, borrowed
 * @id: the queue id, for libopendkim's own messages
 * @max_signatures: signatures verified; later DKIM-Signature headers are
 *   counted (verify_dkim_ignored) and not handed to libopendkim at all
 * @budget: the message's DNS budget, borrowed: it must outlive the state
 * @leading_space: header values keep the blanks after the colon
 *   (PcSession.header_leading_space); without it one space is put back
 * Returns: (transfer full) the state of one message.
 */
VerifyDkimMessage *verify_dkim_message_new(VerifyDkim *dkim, const char *id, guint max_signatures,
					   PcDnsBudget *budget, gboolean leading_space);
void verify_dkim_message_free(VerifyDkimMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyDkimMessage, verify_dkim_message_free)

/* each header as it arrives: name without ':', value as the MTA passed it (LF folding) */
void verify_dkim_header(VerifyDkimMessage *message, const char *name, const char *value);
/* end of headers: the key lookups and the header checks happen here */
void verify_dkim_eoh(VerifyDkimMessage *message);
/* each body chunk as it arrives (CRLF lines, as both MTAs send them) */
void verify_dkim_body(VerifyDkimMessage *message, const guchar *chunk, gsize len);
/* end of message: the body hashes are compared and each signature decided */
void verify_dkim_eom(VerifyDkimMessage *message);

/*
 * verify_dkim_signatures:
 * Returns: (transfer none) the VerifyDkimSignature of each DKIM-Signature
 * verified, top down, after verify_dkim_eom(); empty for an unsigned
 * message. Valid until the state is freed.
 */
const GPtrArray *verify_dkim_signatures(const VerifyDkimMessage *message);
/* DKIM-Signature headers past max_signatures, not verified */
guint verify_dkim_ignored(const VerifyDkimMessage *message);

G_END_DECLS
