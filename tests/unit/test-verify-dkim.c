/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for verify-dkim: our tag-list reader (RFC 6376 3.2), the
 * DKIM-Signature and key record checks (3.5, 3.6.1), the result of a
 * signature from what libopendkim, the DNS and those checks say (RFC 6376
 * 6.1, RFC 8301, RFC 8463: the expected results are the RFCs', not
 * libopendkim's), and the Authentication-Results entries.
 *
 * The end-to-end corpus (messages signed by dkimpy, keys in a real DNS
 * server) is tests/milter/test-dkim.sh; here libopendkim's per-signature
 * values are given directly (its DKIM_SIGERROR_* and DKIM_SIGFLAG_* codes),
 * which is why this test, unlike the daemon's policy code, includes dkim.h.
 * Last, the adapter itself on a fixed signed message, keys from pc-dns local
 * data: header values with and without their leading blanks, the body in
 * chunks of any size, the bounds.
 */
#include <opendkim/dkim.h>
#include <string.h>
#include <sys/types.h>

#include <glib.h>

#include "verify-dkim.h"

/*
 * --- tag-lists ---
 */

typedef struct {
	const char *label;
	const char *text;
	gsize len; /* 0: strlen(text) */
	const char *want_error;
	/* "name=value|name=value": the tags read, in order */
	const char *want_tags;
} TagCase;

static const TagCase tag_cases[] = {
    {.label = "plain", .text = "v=1; a=rsa-sha256", .want_tags = "v=1|a=rsa-sha256"},
    {.label = "trailing-semicolon", .text = "a=b;", .want_tags = "a=b"},
    {.label = "fws-around", .text = " a = b ; c\t=\td ", .want_tags = "a=b|c=d"},
    {.label = "folded-value", .text = "b=abc\r\n\tdef;\n h=x", .want_tags = "b=abc def|h=x"},
    {.label = "empty-value", .text = "a=; b=c", .want_tags = "a=|b=c"},
    {.label = "underscore-name", .text = "a_1=x", .want_tags = "a_1=x"},
    {.label = "empty-spec",
     .text = "a=b;;c=d",
     .want_error = "tag-list syntax error",
     .want_tags = "a=b|c=d"},
    {.label = "blank-spec",
     .text = "a=b; ;c=d",
     .want_error = "tag-list syntax error",
     .want_tags = "a=b|c=d"},
    {.label = "duplicate", .text = "a=b; a=c", .want_error = "duplicate tag", .want_tags = "a=b"},
    {.label = "digit-first",
     .text = "1a=b; c=d",
     .want_error = "tag-list syntax error",
     .want_tags = "c=d"},
    {.label = "underscore-first",
     .text = "_a=b",
     .want_error = "tag-list syntax error",
     .want_tags = ""},
    {.label = "blank-in-name",
     .text = "a b=c; d=e",
     .want_error = "tag-list syntax error",
     .want_tags = "d=e"},
    {.label = "no-equals", .text = "a", .want_error = "tag-list syntax error", .want_tags = ""},
    {.label = "control-char",
     .text = "a=b\001c; d=e",
     .want_error = "invalid character in tag value",
     .want_tags = "a=b?c|d=e"},
    {.label = "eight-bit",
     .text = "a=\303\251",
     .want_error = "invalid character in tag value",
     .want_tags = "a=\303\251"},
    {.label = "nul",
     .text = "a=b\0c; d=e",
     .len = 10,
     .want_error = "invalid character in tag value",
     .want_tags = "a=b?c|d=e"},
    {.label = "empty", .text = "", .want_error = "empty tag-list", .want_tags = ""},
    {.label = "blanks-only", .text = " \r\n\t", .want_error = "empty tag-list", .want_tags = ""},
};

static char *
tags_to_string(const VerifyDkimTagList *list)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < list->tags->len; i++) {
		const VerifyDkimTag *tag = g_ptr_array_index(list->tags, i);

		g_string_append_printf(out, "%s%s=%s", i > 0 ? "|" : "", tag->name, tag->value);
	}
	return g_string_free(out, FALSE);
}

static void
test_tags(gconstpointer data)
{
	const TagCase *c = data;
	gsize len = c->len > 0 ? c->len : strlen(c->text);
	g_autoptr(VerifyDkimTagList) list = verify_dkim_tags_parse(c->text, len);
	g_autofree char *tags = tags_to_string(list);

	g_assert_cmpstr(list->error, ==, c->want_error);
	g_assert_cmpstr(tags, ==, c->want_tags);
}

static void
test_tags_limit(void)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(VerifyDkimTagList) list = NULL;

	for (int i = 0; i <= VERIFY_DKIM_MAX_TAGS; i++)
		g_string_append_printf(text, "t%d=x;", i);
	list = verify_dkim_tags_parse(text->str, text->len);
	g_assert_cmpstr(list->error, ==, "too many tags");
	g_assert_cmpuint(list->tags->len, ==, VERIFY_DKIM_MAX_TAGS);
	g_assert_cmpstr(verify_dkim_tags_get(list, "t0"), ==, "x");
	g_assert_null(verify_dkim_tags_get(list, "T0"));
}

/*
 * --- DKIM-Signature ---
 */

#define SIG_HEAD " v=1; a=rsa-sha256; c=relaxed/simple; d=example.test; s=sel1;\r\n\t"
#define SIG_H " h=from:to:subject;"
#define SIG_BH " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
#define SIG_B " b=dGVzdHNpZ25h\r\n\t dHVyZQ=="

typedef struct {
	const char *label;
	const char *value;
	const char *want_error;
	VerifyDkimAlg want_alg;
	const char *want_domain;
	const char *want_selector;
	const char *want_b;
} SigCase;

static const SigCase sig_cases[] = {
    {"valid", SIG_HEAD SIG_H SIG_BH SIG_B, NULL, VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"ed25519", " v=1; a=ed25519-sha256; d=example.test; s=e;" SIG_H SIG_BH SIG_B, NULL,
     VERIFY_DKIM_ALG_ED25519_SHA256, "example.test", "e", "dGVzdHNpZ25hdHVyZQ=="},
    /* RFC 8301 is decided later, with the rest: the signature itself is readable */
    {"rsa-sha1", " v=1; a=rsa-sha1; d=example.test; s=old;" SIG_H SIG_BH SIG_B, NULL,
     VERIFY_DKIM_ALG_RSA_SHA1, "example.test", "old", "dGVzdHNpZ25hdHVyZQ=="},
    {"no-d", " v=1; a=rsa-sha256; s=sel1;" SIG_H SIG_BH SIG_B, "signature missing required tag d=",
     VERIFY_DKIM_ALG_RSA_SHA256, NULL, "sel1", "dGVzdHNpZ25hdHVyZQ=="},
    {"empty-d", " v=1; a=rsa-sha256; d=; s=sel1;" SIG_H SIG_BH SIG_B,
     "signature missing required tag d=", VERIFY_DKIM_ALG_RSA_SHA256, "", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"no-bh", SIG_HEAD SIG_H SIG_B, "signature missing required tag bh=",
     VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1", "dGVzdHNpZ25hdHVyZQ=="},
    {"no-v", " a=rsa-sha256; d=example.test; s=sel1;" SIG_H SIG_BH SIG_B,
     "signature missing required tag v=", VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"version-2", " v=2; a=rsa-sha256; d=example.test; s=sel1;" SIG_H SIG_BH SIG_B,
     "incompatible version", VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"rsa-md5", " v=1; a=rsa-md5; d=example.test; s=sel1;" SIG_H SIG_BH SIG_B,
     "unsupported algorithm", VERIFY_DKIM_ALG_UNKNOWN, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"algorithm-case", " v=1; a=RSA-SHA256; d=example.test; s=sel1;" SIG_H SIG_BH SIG_B,
     "unsupported algorithm", VERIFY_DKIM_ALG_UNKNOWN, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"b-stray", SIG_HEAD SIG_H SIG_BH " b=dGVzdH!NpZ25hdHVyZQ==", "b= is not base64",
     VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1", "dGVzdH!NpZ25hdHVyZQ=="},
    {"b-unpadded", SIG_HEAD SIG_H SIG_BH " b=dGVzdHNpZ25hdHVyZQ", "b= is not base64",
     VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1", "dGVzdHNpZ25hdHVyZQ"},
    {"b-inner-padding", SIG_HEAD SIG_H SIG_BH " b=dGVz=HNpZ25hdHVyZQ==", "b= is not base64",
     VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1", "dGVz=HNpZ25hdHVyZQ=="},
    {"bh-stray", SIG_HEAD SIG_H " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF*=;" SIG_B,
     "bh= is not base64", VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"d-one-label", " v=1; a=rsa-sha256; d=test; s=sel1;" SIG_H SIG_BH SIG_B,
     "d= is not a domain name", VERIFY_DKIM_ALG_RSA_SHA256, "test", "sel1", "dGVzdHNpZ25hdHVyZQ=="},
    {"d-empty-label", " v=1; a=rsa-sha256; d=example..test; s=sel1;" SIG_H SIG_BH SIG_B,
     "d= is not a domain name", VERIFY_DKIM_ALG_RSA_SHA256, "example..test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"d-blank", " v=1; a=rsa-sha256; d=exa mple.test; s=sel1;" SIG_H SIG_BH SIG_B,
     "d= is not a domain name", VERIFY_DKIM_ALG_RSA_SHA256, "exa mple.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"s-slash", " v=1; a=rsa-sha256; d=example.test; s=a/b;" SIG_H SIG_BH SIG_B,
     "s= is not a selector", VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "a/b",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"from-unsigned", " v=1; a=rsa-sha256; d=example.test; s=sel1; h=to : subject;" SIG_BH SIG_B,
     "From field not signed", VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"from-any-case", " v=1; a=rsa-sha256; d=example.test; s=sel1; h=To : FROM;" SIG_BH SIG_B, NULL,
     VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1", "dGVzdHNpZ25hdHVyZQ=="},
    {"duplicate-d", SIG_HEAD " d=other.test;" SIG_H SIG_BH SIG_B, "duplicate tag",
     VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1", "dGVzdHNpZ25hdHVyZQ=="},
    /* a broken tag-list still gives the tags around the break */
    {"broken-middle", " v=1; a=rsa-sha256; d=example.test; x; s=sel1;" SIG_H SIG_BH SIG_B,
     "tag-list syntax error", VERIFY_DKIM_ALG_RSA_SHA256, "example.test", "sel1",
     "dGVzdHNpZ25hdHVyZQ=="},
    {"garbage", " this is not a signature", "tag-list syntax error", VERIFY_DKIM_ALG_UNKNOWN, NULL,
     NULL, NULL},
};

static void
test_signature(gconstpointer data)
{
	const SigCase *c = data;
	g_autoptr(VerifyDkimSigTags) tags = verify_dkim_signature_parse(c->value, strlen(c->value));

	g_assert_cmpstr(tags->error, ==, c->want_error);
	g_assert_cmpint(tags->alg, ==, c->want_alg);
	g_assert_cmpstr(tags->domain, ==, c->want_domain);
	g_assert_cmpstr(tags->selector, ==, c->want_selector);
	g_assert_cmpstr(tags->b, ==, c->want_b);
}

/*
 * --- key records ---
 */

#define KEY_P "p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAK1fQ9kQ2LtVGCwNbxtJ8QgV+0Q="

typedef struct {
	const char *label;
	const char *text;
	const char *want_error;
	VerifyDkimKeyType want_type;
	gboolean want_revoked;
	gboolean want_sha1;
	gboolean want_sha256;
	gboolean want_strict;
	gboolean want_testing;
} KeyCase;

static const KeyCase key_cases[] = {
    {"plain", "v=DKIM1; k=rsa; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"p-only", KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"ed25519", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", NULL,
     VERIFY_DKIM_KEY_ED25519, FALSE, TRUE, TRUE},
    {"other-type", "v=DKIM1; k=dsa; " KEY_P, NULL, VERIFY_DKIM_KEY_OTHER, FALSE, TRUE, TRUE},
    {"revoked", "v=DKIM1; p=", NULL, VERIFY_DKIM_KEY_RSA, TRUE, TRUE, TRUE},
    {"revoked-blank", "v=DKIM1; k=rsa; p= ", NULL, VERIFY_DKIM_KEY_RSA, TRUE, TRUE, TRUE},
    {"folded-p", "v=DKIM1; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJB\r\n AK1fQ9kQ2LtVGCwNbxtJ8QgV+0Q=",
     NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"sha1-only", "v=DKIM1; h=sha1; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE, FALSE},
    {"both-hashes", "v=DKIM1; h=sha1 : sha256; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE,
     TRUE},
    {"unknown-hash", "v=DKIM1; h=md5; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, FALSE, FALSE},
    {"flags", "v=DKIM1; t=y:s; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE, TRUE, TRUE},
    {"service-star", "v=DKIM1; s=*; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"service-email", "v=DKIM1; s=other:email; " KEY_P, NULL, VERIFY_DKIM_KEY_RSA, FALSE, TRUE,
     TRUE},
    {"service-other", "v=DKIM1; s=tlsrpt; " KEY_P, "key not for email (s=)", VERIFY_DKIM_KEY_RSA,
     FALSE, TRUE, TRUE},
    {"v-not-first", "k=rsa; v=DKIM1; " KEY_P, "key syntax error (v= not first)",
     VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"v-other", "v=DKIM2; " KEY_P, "incompatible key version", VERIFY_DKIM_KEY_RSA, FALSE, TRUE,
     TRUE},
    {"no-p", "v=DKIM1; k=rsa", "key syntax error (no p=)", VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"p-stray", "v=DKIM1; p=MFwwDQYJKoZIhvcNAQ$BBQADSwAwSAJBAK1fQ9kQ2LtVGCwNbxtJ8QgV+0Q=",
     "key syntax error (p= is not base64)", VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
    {"p-twice", "v=DKIM1; " KEY_P "; p=AAAA", "key syntax error", VERIFY_DKIM_KEY_RSA, FALSE, TRUE,
     TRUE},
    {"not-a-key", "v=spf1 -all", "incompatible key version", VERIFY_DKIM_KEY_RSA, FALSE, TRUE,
     TRUE},
    {"empty", "", "key syntax error", VERIFY_DKIM_KEY_RSA, FALSE, TRUE, TRUE},
};

static void
test_key(gconstpointer data)
{
	const KeyCase *c = data;
	VerifyDkimKey key;

	verify_dkim_key_parse(c->text, strlen(c->text), &key);
	g_assert_cmpstr(key.error, ==, c->want_error);
	g_assert_cmpint(key.type, ==, c->want_type);
	g_assert_cmpint(key.revoked, ==, c->want_revoked);
	g_assert_cmpint(key.sha1_allowed, ==, c->want_sha1);
	g_assert_cmpint(key.sha256_allowed, ==, c->want_sha256);
	g_assert_cmpint(key.strict, ==, c->want_strict);
	g_assert_cmpint(key.testing, ==, c->want_testing);
}

static void
test_names(void)
{
	g_assert_true(verify_dkim_name_is_valid("example.test", 2));
	g_assert_true(verify_dkim_name_is_valid("s_1-2", 1));
	g_assert_false(verify_dkim_name_is_valid("s_1-2", 2));
	g_assert_false(verify_dkim_name_is_valid("example.test.", 2));
	g_assert_false(verify_dkim_name_is_valid(".example.test", 2));
	g_assert_false(verify_dkim_name_is_valid("", 1));
	g_assert_false(verify_dkim_name_is_valid(NULL, 1));
	g_assert_false(verify_dkim_name_is_valid("a\\b.test", 1));
}

static void
test_names_lengths(void)
{
	g_autofree char *label63 = g_strnfill(63, 'a');
	g_autofree char *label64 = g_strnfill(64, 'a');
	g_autofree char *ok = g_strdup_printf("%s.test", label63);
	g_autofree char *long_label = g_strdup_printf("%s.test", label64);
	g_autoptr(GString) long_name = g_string_new("a");

	while (long_name->len < 254)
		g_string_append(long_name, ".a");
	g_assert_true(verify_dkim_name_is_valid(ok, 2));
	g_assert_false(verify_dkim_name_is_valid(long_label, 2));
	g_assert_false(verify_dkim_name_is_valid(long_name->str, 2));
}

/*
 * --- the result of a signature ---
 */

#define PROCESSED DKIM_SIGFLAG_PROCESSED
#define PASSED (DKIM_SIGFLAG_PROCESSED | DKIM_SIGFLAG_PASSED)

/* the facts of one case; the signature's tags come from its value */
typedef struct {
	const char *label;
	const char *signature; /* NULL: a valid rsa-sha256 one */
	gboolean over_limits;
	gboolean lib_failed;
	gboolean lib_syntax;
	int lib_error;
	guint lib_flags;
	int lib_body_hash;
	guint key_bits;
	gboolean key_asked;
	PcDnsStatus key_status;
	gboolean key_too_large;
	guint key_records;
	const char *key; /* the key record's text, or NULL */
	VerifyDkimResult want;
	const char *want_reason;
} DecideCase;

#define RSA_KEY "v=DKIM1; k=rsa; " KEY_P
#define ED_KEY "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define ED_SIG " v=1; a=ed25519-sha256; d=example.test; s=sel1;" SIG_H SIG_BH SIG_B
#define SHA1_SIG " v=1; a=rsa-sha1; d=example.test; s=sel1;" SIG_H SIG_BH SIG_B
/* libopendkim verified it: header signature and body hash */
#define LIB_PASS                                                                                   \
	.lib_error = DKIM_SIGERROR_OK, .lib_flags = PASSED, .lib_body_hash = DKIM_SIGBH_MATCH
/* a key was found: one TXT record */
#define DNS_OK .key_asked = TRUE, .key_status = PC_DNS_OK, .key_records = 1

static const DecideCase decide_cases[] = {
    /* RFC 6376 6.1.3 */
    {"pass-rsa-2048", .key_bits = 2048, DNS_OK, .key = RSA_KEY, LIB_PASS, .want = VERIFY_DKIM_PASS},
    {"pass-rsa-1024", .key_bits = 1024, DNS_OK, .key = RSA_KEY, LIB_PASS, .want = VERIFY_DKIM_PASS},
    {"pass-ed25519", .signature = ED_SIG, DNS_OK, .key = ED_KEY, LIB_PASS,
     .want = VERIFY_DKIM_PASS},
    {"pass-testing-key", .key_bits = 2048, DNS_OK, .key = "v=DKIM1; t=y; " KEY_P, LIB_PASS,
     .want = VERIFY_DKIM_PASS},
    {"body-hash", .key_bits = 2048, DNS_OK, .key = RSA_KEY, .lib_error = DKIM_SIGERROR_BADSIG,
     .lib_flags = PASSED, .lib_body_hash = DKIM_SIGBH_MISMATCH, .want = VERIFY_DKIM_FAIL,
     .want_reason = "body hash did not verify"},
    {"header-signature", .key_bits = 2048, DNS_OK, .key = RSA_KEY,
     .lib_error = DKIM_SIGERROR_BADSIG, .lib_flags = PROCESSED,
     .lib_body_hash = DKIM_SIGBH_UNTESTED, .want = VERIFY_DKIM_FAIL,
     .want_reason = "signature did not verify"},
    {"l-beyond-body", .key_bits = 2048, DNS_OK, .key = RSA_KEY,
     .lib_error = DKIM_SIGERROR_TOOLARGE_L, .lib_body_hash = DKIM_SIGBH_UNTESTED,
     .want = VERIFY_DKIM_FAIL, .want_reason = "body shorter than l="},
    /* RFC 8301: never a pass, whatever the arithmetic says */
    {"rsa-sha1", .signature = SHA1_SIG, .key_bits = 2048, DNS_OK, .key = RSA_KEY, LIB_PASS,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "rsa-sha1 not accepted (RFC 8301)"},
    {"rsa-sha1-unchecked", .signature = SHA1_SIG, .lib_error = DKIM_SIGERROR_UNKNOWN,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "rsa-sha1 not accepted (RFC 8301)"},
    {"rsa-512-lib", .key_bits = 512, DNS_OK, .key = RSA_KEY, .lib_error = DKIM_SIGERROR_KEYTOOSMALL,
     .lib_flags = PROCESSED, .lib_body_hash = DKIM_SIGBH_MATCH, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "RSA key under 1024 bits (RFC 8301)"},
    {"rsa-512-passed", .key_bits = 512, DNS_OK, .key = RSA_KEY, LIB_PASS,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "RSA key under 1024 bits (RFC 8301)"},
    {"rsa-512-tampered", .key_bits = 512, DNS_OK, .key = RSA_KEY, .lib_error = DKIM_SIGERROR_BADSIG,
     .lib_flags = PASSED, .lib_body_hash = DKIM_SIGBH_MISMATCH, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "RSA key under 1024 bits (RFC 8301)"},
    {"rsa-1023", .key_bits = 1023, DNS_OK, .key = RSA_KEY, LIB_PASS, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "RSA key under 1024 bits (RFC 8301)"},
    /* RFC 6376 6.1.2: the key */
    {"nxdomain", .key_asked = TRUE, .key_status = PC_DNS_NXDOMAIN, .lib_error = DKIM_SIGERROR_NOKEY,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR, .want_reason = "no key for signature"},
    {"nodata", .key_asked = TRUE, .key_status = PC_DNS_NODATA, .lib_error = DKIM_SIGERROR_NOKEY,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR, .want_reason = "no key for signature"},
    {"servfail", .key_asked = TRUE, .key_status = PC_DNS_SERVFAIL,
     .lib_error = DKIM_SIGERROR_KEYFAIL, .lib_flags = PROCESSED, .want = VERIFY_DKIM_TEMPERROR,
     .want_reason = "key unavailable (SERVFAIL)"},
    /* what libopendkim does with a SERVFAIL packet: "no key", which is wrong */
    {"servfail-read-as-nokey", .key_asked = TRUE, .key_status = PC_DNS_SERVFAIL,
     .lib_error = DKIM_SIGERROR_NOKEY, .lib_flags = PROCESSED, .want = VERIFY_DKIM_TEMPERROR,
     .want_reason = "key unavailable (SERVFAIL)"},
    {"timeout", .key_asked = TRUE, .key_status = PC_DNS_TIMEOUT, .lib_error = DKIM_SIGERROR_KEYFAIL,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_TEMPERROR,
     .want_reason = "key unavailable (timeout)"},
    {"budget", .key_asked = TRUE, .key_status = PC_DNS_BUDGET, .lib_error = DKIM_SIGERROR_KEYFAIL,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_TEMPERROR,
     .want_reason = "key unavailable (DNS budget spent)"},
    {"resolver-error", .key_asked = TRUE, .key_status = PC_DNS_RESOLVER_ERROR,
     .lib_error = DKIM_SIGERROR_KEYFAIL, .lib_flags = PROCESSED, .want = VERIFY_DKIM_TEMPERROR,
     .want_reason = "key unavailable (resolver error)"},
    {"badname", .key_asked = TRUE, .key_status = PC_DNS_BADNAME, .lib_error = DKIM_SIGERROR_KEYFAIL,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "no key for signature (name cannot be asked)"},
    {"not-asked-nokey", .lib_error = DKIM_SIGERROR_NOKEY, .lib_flags = PROCESSED,
     .want = VERIFY_DKIM_TEMPERROR, .want_reason = "key unavailable"},
    {"reply-unreadable", DNS_OK, .key = RSA_KEY, .lib_error = DKIM_SIGERROR_KEYFAIL,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_TEMPERROR, .want_reason = "key unavailable"},
    {"answer-too-large", .key_asked = TRUE, .key_status = PC_DNS_OK, .key_too_large = TRUE,
     .lib_error = DKIM_SIGERROR_KEYFAIL, .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "key record too large"},
    {"two-records", .key_asked = TRUE, .key_status = PC_DNS_OK, .key_records = 2,
     .lib_error = DKIM_SIGERROR_MULTIREPLY, .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "multiple key records"},
    {"revoked", DNS_OK, .key = "v=DKIM1; p=", .lib_error = DKIM_SIGERROR_KEYREVOKED,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR, .want_reason = "key revoked"},
    {"revoked-lib-only", .lib_error = DKIM_SIGERROR_KEYREVOKED, .lib_flags = PROCESSED,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "key revoked"},
    /* libopendkim skips the stray characters and may well verify */
    {"key-stray-base64", .key_bits = 2048, DNS_OK,
     .key = "v=DKIM1; p=MFwwDQYJKoZIhvcNAQ$BBQADSwAwSAJBAK1fQ9kQ2LtVGCwNbxtJ8QgV+0Q=", LIB_PASS,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "key syntax error (p= is not base64)"},
    {"key-undecodable", DNS_OK, .key = RSA_KEY, .lib_error = DKIM_SIGERROR_KEYDECODE,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR, .want_reason = "key syntax error"},
    {"key-duplicate-tag", .key_bits = 2048, DNS_OK, .key = RSA_KEY "; p=AAAA", LIB_PASS,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "key syntax error"},
    /* libopendkim takes the RSA key of a k=ed25519 record and verifies with it */
    {"ed25519-record-rsa-signature", .key_bits = 2048, DNS_OK, .key = "v=DKIM1; k=ed25519; " KEY_P,
     LIB_PASS, .want = VERIFY_DKIM_PERMERROR, .want_reason = "inappropriate key algorithm"},
    {"rsa-record-ed25519-signature", .signature = ED_SIG, DNS_OK, .key = RSA_KEY,
     .lib_error = DKIM_SIGERROR_KEYDECODE, .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "inappropriate key algorithm"},
    {"unknown-key-type", DNS_OK, .key = "v=DKIM1; k=dsa; " KEY_P,
     .lib_error = DKIM_SIGERROR_KEYTYPEUNKNOWN, .lib_flags = PROCESSED,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "inappropriate key algorithm"},
    {"key-sha1-only", DNS_OK, .key = "v=DKIM1; h=sha1; " KEY_P,
     .lib_error = DKIM_SIGERROR_KEYHASHMISMATCH, .lib_flags = PROCESSED,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "inappropriate hash algorithm"},
    {"key-not-email", DNS_OK, .key = "v=DKIM1; s=tlsrpt; " KEY_P,
     .lib_error = DKIM_SIGERROR_NOTEMAILKEY, .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "key not for email (s=)"},
    {"key-version", DNS_OK, .key = "v=DKIM2; " KEY_P, .lib_error = DKIM_SIGERROR_KEYVERSION,
     .lib_flags = PROCESSED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "incompatible key version"},
    /* libopendkim sets the error but leaves the signature marked as passed */
    {"strict-subdomain", .key_bits = 2048, DNS_OK, .key = "v=DKIM1; t=s; " KEY_P,
     .lib_error = DKIM_SIGERROR_SUBDOMAIN, .lib_flags = PASSED, .lib_body_hash = DKIM_SIGBH_MATCH,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "i= domain not allowed by the key (t=s)"},
    /* RFC 6376 6.1.1: the signature */
    {"no-d", .signature = " v=1; a=rsa-sha256; s=sel1;" SIG_H SIG_BH SIG_B,
     .lib_error = DKIM_SIGERROR_MISSING_D, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "signature missing required tag d="},
    {"duplicate-tag", .signature = SIG_HEAD SIG_H SIG_BH SIG_B "; d=other.test", LIB_PASS,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "duplicate tag"},
    /* e.g. t=abc: libopendkim marks the set bad, yet its later checks pass */
    {"lib-syntax", .lib_syntax = TRUE, .key_bits = 2048, DNS_OK, .key = RSA_KEY, LIB_PASS,
     .want = VERIFY_DKIM_PERMERROR, .want_reason = "signature syntax error"},
    {"expired", .lib_error = DKIM_SIGERROR_EXPIRED, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "signature expired"},
    {"future", .lib_error = DKIM_SIGERROR_FUTURE, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "signature in the future"},
    {"i-outside-d", .lib_error = DKIM_SIGERROR_DOMAIN, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "domain mismatch"},
    {"lib-version", .lib_error = DKIM_SIGERROR_VERSION, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "incompatible version"},
    {"lib-canonicalization", .lib_error = DKIM_SIGERROR_INVALID_HC, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "unsupported canonicalization"},
    {"lib-l", .lib_error = DKIM_SIGERROR_INVALID_L, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "invalid l= tag"},
    {"lib-from", .lib_error = DKIM_SIGERROR_INVALID_H, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "From field not signed"},
    /* our limits and libopendkim's failures: never a pass */
    {"over-limits", .over_limits = TRUE, LIB_PASS, .want = VERIFY_DKIM_NEUTRAL,
     .want_reason = "message headers over the verifier's limits"},
    {"lib-failed", .lib_failed = TRUE, .lib_error = DKIM_SIGERROR_UNKNOWN,
     .want = VERIFY_DKIM_TEMPERROR, .want_reason = "verifier error"},
    {"lib-failed-broken-signature", .signature = " v=1; a=rsa-sha256; s=sel1;" SIG_H SIG_BH SIG_B,
     .lib_failed = TRUE, .want = VERIFY_DKIM_PERMERROR,
     .want_reason = "signature missing required tag d="},
    {"unprocessed", .lib_error = DKIM_SIGERROR_UNKNOWN, .lib_body_hash = DKIM_SIGBH_UNTESTED,
     .want = VERIFY_DKIM_TEMPERROR, .want_reason = "not verified"},
    {"passed-without-body", .key_bits = 2048, DNS_OK, .key = RSA_KEY,
     .lib_error = DKIM_SIGERROR_UNKNOWN, .lib_flags = PASSED, .lib_body_hash = DKIM_SIGBH_UNTESTED,
     .want = VERIFY_DKIM_TEMPERROR, .want_reason = "not verified"},
};

static void
test_decide(gconstpointer data)
{
	const DecideCase *c = data;
	const char *signature = c->signature != NULL ? c->signature : SIG_HEAD SIG_H SIG_BH SIG_B;
	g_autoptr(VerifyDkimSigTags) tags =
	    verify_dkim_signature_parse(signature, strlen(signature));
	VerifyDkimKey key;
	VerifyDkimFacts facts = {
	    .over_limits = c->over_limits,
	    .lib_failed = c->lib_failed,
	    .lib_syntax = c->lib_syntax,
	    .tags = tags,
	    .lib_error = c->lib_error,
	    .lib_flags = c->lib_flags,
	    .lib_body_hash = c->lib_body_hash,
	    .key_bits = c->key_bits,
	    .key_asked = c->key_asked,
	    .key_status = c->key_status,
	    .key_too_large = c->key_too_large,
	    .key_records = c->key_records,
	};
	const char *reason = "unset";
	VerifyDkimResult result;

	if (c->key != NULL) {
		verify_dkim_key_parse(c->key, strlen(c->key), &key);
		facts.key = &key;
	}
	result = verify_dkim_decide(&facts, &reason);
	g_assert_cmpstr(verify_dkim_result_to_string(result), ==,
			verify_dkim_result_to_string(c->want));
	g_assert_cmpstr(reason, ==, c->want_reason);
}

/*
 * --- Authentication-Results ---
 */

static VerifyDkimSignature *
signature_new(VerifyDkimResult result, const char *reason, const char *value)
{
	VerifyDkimSignature *signature = g_new0(VerifyDkimSignature, 1);

	signature->result = result;
	signature->reason = reason;
	signature->tags = verify_dkim_signature_parse(value, strlen(value));
	return signature;
}

static char *
authres_of(GPtrArray *signatures)
{
	g_autoptr(PcAuthRes) authres = pc_authres_new("mx.example.com");

	verify_dkim_authres(signatures, authres);
	return pc_authres_format(authres);
}

static void
test_authres_none(void)
{
	g_autoptr(GPtrArray) signatures = g_ptr_array_new();
	g_autofree char *text = authres_of(signatures);

	g_assert_cmpstr(text, ==, "mx.example.com;\n\tdkim=none");
}

static void
test_authres_entries(void)
{
	g_autoptr(GPtrArray) signatures =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dkim_signature_free);
	g_autofree char *text = NULL;

	g_ptr_array_add(signatures,
			signature_new(VERIFY_DKIM_PASS, NULL,
				      " v=1; a=rsa-sha256; d=example.test; i=@mail.example.test;"
				      " s=sel1; h=from; bh=AAAA; b=abcdefghij+/klmn=="));
	g_ptr_array_add(signatures, signature_new(VERIFY_DKIM_FAIL, "body hash did not verify",
						  " v=1; a=ed25519-sha256; d=example.test; s=e;"
						  " h=from; bh=AAAA; b=zyxwvutsrq=="));
	text = authres_of(signatures);
	g_assert_cmpstr(text, ==,
			"mx.example.com;\n"
			"\tdkim=pass header.d=example.test header.i=@mail.example.test "
			"header.s=sel1 header.a=rsa-sha256 header.b=abcdefgh;\n"
			"\tdkim=fail reason=\"body hash did not verify\" header.d=example.test "
			"header.s=e header.a=ed25519-sha256 header.b=zyxwvuts");
}

/* RFC 6008: enough of b= to tell the signatures apart, never less than 8 */
static void
test_authres_b_prefix(void)
{
	g_autoptr(GPtrArray) signatures =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dkim_signature_free);
	g_autofree char *text = NULL;

	g_ptr_array_add(signatures,
			signature_new(VERIFY_DKIM_PASS, NULL,
				      " v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=AAAA;"
				      " b=abcdefghijk1AAAA"));
	g_ptr_array_add(signatures,
			signature_new(VERIFY_DKIM_PASS, NULL,
				      " v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=AAAA;"
				      " b=abcdefghijk2AAAA"));
	g_ptr_array_add(signatures, signature_new(VERIFY_DKIM_PERMERROR, "signature syntax error",
						  " v=1; a=rsa-sha256; d=a.test; s=s; b=abc"));
	text = authres_of(signatures);
	g_assert_nonnull(strstr(text, "header.b=abcdefghijk1;"));
	g_assert_nonnull(strstr(text, "header.b=abcdefghijk2;"));
	g_assert_true(g_str_has_suffix(text, "header.a=rsa-sha256 header.b=abc"));
}

/* a signature with no tags still gets its entry, and a hostile d= stays one value */
static void
test_authres_hostile(void)
{
	g_autoptr(GPtrArray) signatures =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dkim_signature_free);
	g_autofree char *text = NULL;
	g_autoptr(PcAuthRes) parsed = NULL;
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(signatures, signature_new(VERIFY_DKIM_PERMERROR, "tag-list syntax error",
						  " d=evil.test\\;dkim=pass; s=x\001y"));
	g_ptr_array_add(signatures, signature_new(VERIFY_DKIM_PERMERROR, "empty tag-list", "   "));
	text = authres_of(signatures);
	g_assert_true(pc_authres_parse(text, strlen(text), &parsed, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(parsed->results->len, ==, 2);
	for (guint i = 0; i < parsed->results->len; i++) {
		const PcAuthResResult *entry = g_ptr_array_index(parsed->results, i);

		g_assert_cmpstr(entry->method, ==, "dkim");
		g_assert_cmpstr(entry->result, ==, "permerror");
	}
}

/*
 * --- the adapter: libopendkim fed as the MTA feeds us, keys from pc-dns ---
 */

/*
 * signed once by dkimpy 1.1.4 (t= in 2023, no x=) with a throwaway Ed25519
 * key; only its public half is here. The Subject has two blanks after the
 * colon and is folded, X-Tab has a tab after it: simple canonicalisation
 * needs those bytes exactly
 */
#define FIXTURE_KEY "XxtMib4Dg9WyXUlwwnYgfKfZ7qGYQsKWaMefeF/h5FQ="
#define FIXTURE_SIMPLE                                                                             \
	" v=1; a=ed25519-sha256; c=simple/simple; d=dkim.test;\r\n"                                \
	" i=@dkim.test; q=dns/txt; s=e; t=1700000000; h=from : to : subject :\r\n"                 \
	" x-tab; bh=wnAV0xfmt7lBZONZK0RaFO1pqzdn61J56qCI4UjeIgw=;\r\n"                             \
	" b=BJJ4/frE96EWk9SqjlnsNWRzgJF/SxO9M37I2seCNLaAL6jKcSKqanmClgzyH7s3b5uwt\r\n"             \
	" OldJVEMDV/uUxCoAA=="
#define FIXTURE_RELAXED                                                                            \
	" v=1; a=ed25519-sha256; c=relaxed/relaxed; d=dkim.test;\r\n"                              \
	" i=@dkim.test; q=dns/txt; s=e; t=1700000000; h=from : to : subject :\r\n"                 \
	" x-tab; bh=7Dhg7IyUIvZrH595hELTjkxLFZullJwW8XXvKE61YUY=;\r\n"                             \
	" b=iplljfLyJ1dK3CiR0e0kyMNmuqUc1n8gAoCPQqVkYav78/Bunn8Qu+v/s8IdFWBCEr1H5\r\n"             \
	" 4hgejCFaJevBUHtBg=="
#define FIXTURE_BODY "Hello Bob,\r\na line with  two spaces \r\n\r\n"

/* the headers under the signature, each value as written after the colon */
static const char *const fixture_headers[][2] = {
    {"From", " Alice <alice@dkim.test>"},
    {"To", " Bob <bob@example.com>"},
    {"Subject", "  two blanks after the colon\r\n\tand a folded line"},
    {"X-Tab", "\tvalue"},
};

static const char *const dkim_zones[] = {"dkim.test. static", NULL};
static const char *const dkim_data[] = {
    "dkim.test. 60 IN SOA ns.dkim.test. hostmaster.dkim.test. 1 3600 600 86400 60",
    "e._domainkey.dkim.test. 300 IN TXT \"v=DKIM1; k=ed25519; p=" FIXTURE_KEY "\"",
    "rsa._domainkey.dkim.test. 300 IN TXT \"v=DKIM1; k=rsa; p=" FIXTURE_KEY "\"",
    NULL,
};
/* never asked: every name below is in the local zone */
static const char *const unused_forwarder[] = {"127.0.0.1@9", NULL};

typedef struct {
	const char *signature;	/* the DKIM-Signature value as written */
	guint signatures;	/* how many times it is given (default 1) */
	guint max_signatures;	/* default 5 */
	gboolean leading_space; /* SMFIP_HDR_LEADSPC was negotiated */
	gsize chunk;		/* body chunk size; 0: one chunk */
	const char *body;	/* default FIXTURE_BODY */
	guint extra_headers;	/* headers added before the others */
	gboolean no_resolver;
} Feed;

/* value as the MTA hands it over: LF folding; without LEADSPC, no leading blanks */
static char *
mta_value(const char *written, gboolean leading_space)
{
	g_autofree char *lf = NULL;
	const char *start = written;
	GString *out = g_string_new(NULL);

	if (!leading_space)
		start += strspn(start, " \t");
	for (const char *p = start; *p != '\0'; p++) {
		if (*p != '\r')
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

static void
feed_header(VerifyDkimMessage *message, const char *name, const char *written,
	    gboolean leading_space)
{
	g_autofree char *value = mta_value(written, leading_space);

	verify_dkim_header(message, name, value);
}

/* runs one message through the adapter; (transfer full) its signatures */
static GPtrArray *
run_feed(const Feed *feed, guint *ignored_out)
{
	PcDnsOptions options = {
	    .mode = PC_DNS_MODE_FORWARD,
	    .forwarders = unused_forwarder,
	    .local_zones = dkim_zones,
	    .local_data = dkim_data,
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(PcDns) dns = feed->no_resolver ? NULL : pc_dns_new(&options, &error);
	g_autoptr(VerifyDkim) verifier = NULL;
	g_autoptr(VerifyDkimMessage) message = NULL;
	GPtrArray *signatures = g_ptr_array_new();
	const char *body = feed->body != NULL ? feed->body : FIXTURE_BODY;
	gsize body_len = strlen(body);
	gsize chunk = feed->chunk > 0 ? feed->chunk : body_len;
	PcDnsBudget budget;

	g_assert_no_error(error);
	verifier = verify_dkim_new(dns, &error);
	g_assert_no_error(error);
	pc_dns_budget_init(&budget, 5 * G_USEC_PER_SEC, G_USEC_PER_SEC);
	message = verify_dkim_message_new(verifier, "TESTID",
					  feed->max_signatures > 0 ? feed->max_signatures : 5,
					  &budget, feed->leading_space);
	for (guint i = 0; i < feed->extra_headers; i++)
		feed_header(message, "Received", " from somewhere", feed->leading_space);
	for (guint i = 0; i < MAX(feed->signatures, 1); i++)
		feed_header(message, "DKIM-Signature", feed->signature, feed->leading_space);
	for (gsize i = 0; i < G_N_ELEMENTS(fixture_headers); i++)
		feed_header(message, fixture_headers[i][0], fixture_headers[i][1],
			    feed->leading_space);
	verify_dkim_eoh(message);
	for (gsize at = 0; at < body_len; at += chunk)
		verify_dkim_body(message, (const guchar *)body + at, MIN(chunk, body_len - at));
	verify_dkim_eom(message);
	*ignored_out = verify_dkim_ignored(message);
	/* the results outlive the state in this test: copied */
	for (guint i = 0; i < verify_dkim_signatures(message)->len; i++) {
		const VerifyDkimSignature *in =
		    g_ptr_array_index(verify_dkim_signatures(message), i);

		g_ptr_array_add(signatures, GINT_TO_POINTER(in->result));
		g_ptr_array_add(signatures, (gpointer)in->reason);
	}
	return signatures;
}

typedef struct {
	const char *label;
	Feed feed;
	guint want_signatures;
	VerifyDkimResult want;
	const char *want_reason;
	guint want_ignored;
} FeedCase;

static const FeedCase feed_cases[] = {
    {"simple-leadspc", {.signature = FIXTURE_SIMPLE, .leading_space = TRUE}, 1, VERIFY_DKIM_PASS},
    {"simple-leadspc-byte-chunks",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .chunk = 1},
     1,
     VERIFY_DKIM_PASS},
    {"simple-leadspc-odd-chunks",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .chunk = 7},
     1,
     VERIFY_DKIM_PASS},
    /* without SMFIP_HDR_LEADSPC the two blanks after "Subject:" are lost */
    {"simple-stripped",
     {.signature = FIXTURE_SIMPLE},
     1,
     VERIFY_DKIM_FAIL,
     "signature did not verify"},
    {"relaxed-stripped", {.signature = FIXTURE_RELAXED}, 1, VERIFY_DKIM_PASS},
    {"relaxed-leadspc", {.signature = FIXTURE_RELAXED, .leading_space = TRUE}, 1, VERIFY_DKIM_PASS},
    {"body-tampered",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .body = "Hello Eve,\r\n"},
     1,
     VERIFY_DKIM_FAIL,
     "body hash did not verify"},
    {"no-body",
     {.signature = FIXTURE_RELAXED, .leading_space = TRUE, .body = ""},
     1,
     VERIFY_DKIM_FAIL,
     "body hash did not verify"},
    {"no-key",
     {.signature = " v=1; a=ed25519-sha256; d=dkim.test; s=missing; h=from; bh=AAAA; b=AAAA",
      .leading_space = TRUE},
     1,
     VERIFY_DKIM_PERMERROR,
     "no key for signature"},
    {"rsa-record-for-ed25519",
     {.signature = " v=1; a=ed25519-sha256; d=dkim.test; s=rsa; h=from; bh=AAAA; b=AAAA",
      .leading_space = TRUE},
     1,
     VERIFY_DKIM_PERMERROR,
     "inappropriate key algorithm"},
    {"no-resolver",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .no_resolver = TRUE},
     1,
     VERIFY_DKIM_TEMPERROR,
     "key unavailable (resolver error)"},
    {"max-signatures",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .signatures = 3, .max_signatures = 2},
     2,
     VERIFY_DKIM_PASS,
     NULL,
     1},
    /* the signature is the 1001st header: reported, not verified */
    {"signature-over-limit",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .extra_headers = 1000},
     1,
     VERIFY_DKIM_NEUTRAL,
     "message headers over the verifier's limits"},
    /* the Subject it signs is the 1001st */
    {"signed-header-over-limit",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .extra_headers = 997},
     1,
     VERIFY_DKIM_NEUTRAL,
     "message headers over the verifier's limits"},
    {"headers-at-limit",
     {.signature = FIXTURE_SIMPLE, .leading_space = TRUE, .extra_headers = 995},
     1,
     VERIFY_DKIM_PASS},
};

static void
test_feed(gconstpointer data)
{
	const FeedCase *c = data;
	guint ignored = 0;
	g_autoptr(GPtrArray) results = run_feed(&c->feed, &ignored);

	g_assert_cmpuint(results->len / 2, ==, c->want_signatures);
	for (guint i = 0; i < results->len; i += 2) {
		VerifyDkimResult result = GPOINTER_TO_INT(g_ptr_array_index(results, i));

		g_assert_cmpstr(verify_dkim_result_to_string(result), ==,
				verify_dkim_result_to_string(c->want));
		g_assert_cmpstr(g_ptr_array_index(results, i + 1), ==, c->want_reason);
	}
	g_assert_cmpuint(ignored, ==, c->want_ignored);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(tag_cases); i++) {
		g_autofree char *path = g_strdup_printf("/verify/dkim/tags/%s", tag_cases[i].label);

		g_test_add_data_func(path, &tag_cases[i], test_tags);
	}
	g_test_add_func("/verify/dkim/tags/limit", test_tags_limit);
	for (gsize i = 0; i < G_N_ELEMENTS(sig_cases); i++) {
		g_autofree char *path =
		    g_strdup_printf("/verify/dkim/signature/%s", sig_cases[i].label);

		g_test_add_data_func(path, &sig_cases[i], test_signature);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(key_cases); i++) {
		g_autofree char *path = g_strdup_printf("/verify/dkim/key/%s", key_cases[i].label);

		g_test_add_data_func(path, &key_cases[i], test_key);
	}
	g_test_add_func("/verify/dkim/names", test_names);
	g_test_add_func("/verify/dkim/names/lengths", test_names_lengths);
	for (gsize i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
		g_autofree char *path =
		    g_strdup_printf("/verify/dkim/decide/%s", decide_cases[i].label);

		g_test_add_data_func(path, &decide_cases[i], test_decide);
	}
	g_test_add_func("/verify/dkim/authres/none", test_authres_none);
	g_test_add_func("/verify/dkim/authres/entries", test_authres_entries);
	g_test_add_func("/verify/dkim/authres/b-prefix", test_authres_b_prefix);
	g_test_add_func("/verify/dkim/authres/hostile", test_authres_hostile);
	for (gsize i = 0; i < G_N_ELEMENTS(feed_cases); i++) {
		g_autofree char *path =
		    g_strdup_printf("/verify/dkim/feed/%s", feed_cases[i].label);

		g_test_add_data_func(path, &feed_cases[i], test_feed);
	}
	return g_test_run();
}
