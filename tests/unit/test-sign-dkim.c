/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-sign-dkim: the signer's body canonicalisation (RFC 6376 3.4.3 simple,
 * 3.4.4 relaxed) through its public API: for each body of the table, the
 * bh= of a signature is the SHA-256 of the canonical form written out by
 * hand in the table, whatever the chunks the body arrives in (whole, in two
 * pieces split at every offset, one byte at a time). The signatures
 * themselves are checked by dkimpy and libopendkim in tests/milter.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "sign-dkim.h"

typedef struct {
	const char *label;
	const char *body;
	const char *simple;  /* the canonical body, simple */
	const char *relaxed; /* relaxed */
} BodyCase;

/* clang-format off */
static const BodyCase body_cases[] = {
    {"empty", "", "\r\n", ""},
    {"one line", "Hello\r\n", "Hello\r\n", "Hello\r\n"},
    {"no final CRLF", "Hello", "Hello\r\n", "Hello\r\n"},
    {"only empty lines", "\r\n\r\n\r\n", "\r\n", ""},
    {"trailing empty lines", "a\r\n\r\n\r\n", "a\r\n", "a\r\n"},
    {"inner empty lines kept", "a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
    {"blank runs", "a  \t b\t\r\n", "a  \t b\t\r\n", "a b\r\n"},
    {"leading blanks", "  \tlead\r\n", "  \tlead\r\n", " lead\r\n"},
    {"blank-only last lines", "x\r\n \t\r\n  \r\n", "x\r\n \t\r\n  \r\n", "x\r\n"},
    {"blank-only line inside", "x\r\n \r\ny\r\n", "x\r\n \r\ny\r\n", "x\r\n\r\ny\r\n"},
    {"bare LF is a line end", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"},
    {"bare CR is text", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
    {"CR at the very end", "a\r", "a\r\r\n", "a\r\r\n"},
    {"8-bit bytes", "caf\xc3\xa9 \xff\r\n", "caf\xc3\xa9 \xff\r\n", "caf\xc3\xa9 \xff\r\n"},
};
/* clang-format on */

static SignKey *rsa_key;

static SignKey *
key_new(void)
{
	EVP_PKEY *pkey = EVP_RSA_gen(1024);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	g_autoptr(GError) error = NULL;
	SignKey *key;

	g_assert_nonnull(pkey);
	g_assert_cmpint(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), ==, 1);
	len = BIO_get_mem_data(bio, &data);
	key = sign_key_new_from_data("test.pem", (const guchar *)data, (gsize)len, NULL, &error);
	g_assert_no_error(error);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return key;
}

/* bh= of a signature over body given in chunks of at most chunk bytes (0: whole); split: a
 * first chunk of that many bytes, then the rest (used when chunk is 0 and split > 0) */
static char *
body_hash(const SignDkimLib *lib, SignCanon canon, const char *body, gsize chunk, gsize split)
{
	g_autoptr(SignDkimMessage) message = sign_dkim_message_new(lib, canon, canon);
	g_autoptr(GPtrArray) values = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = strlen(body);
	const char *bh;

	g_assert_true(sign_dkim_message_add(message, "example.org", "s1", rsa_key, &error));
	g_assert_true(sign_dkim_message_header(message, "From", " a@example.org", TRUE, &error));
	g_assert_true(sign_dkim_message_eoh(message, &error));
	if (chunk > 0) {
		for (gsize offset = 0; offset < len; offset += chunk)
			g_assert_true(sign_dkim_message_body(message, (const guchar *)body + offset,
							     MIN(chunk, len - offset), &error));
	} else {
		g_assert_true(sign_dkim_message_body(message, (const guchar *)body, split, &error));
		g_assert_true(sign_dkim_message_body(message, (const guchar *)body + split,
						     len - split, &error));
	}
	values = sign_dkim_message_finish(message, &error);
	g_assert_no_error(error);
	bh = strstr(g_ptr_array_index(values, 0), "bh=");
	g_assert_nonnull(bh);
	return g_strndup(bh + 3, strcspn(bh + 3, ";"));
}

static char *
expected_hash(const char *canonical)
{
	guchar digest[32];
	gsize digest_len = sizeof digest;
	GChecksum *checksum = g_checksum_new(G_CHECKSUM_SHA256);
	char *b64;

	g_checksum_update(checksum, (const guchar *)canonical, (gssize)strlen(canonical));
	g_checksum_get_digest(checksum, digest, &digest_len);
	g_checksum_free(checksum);
	b64 = g_base64_encode(digest, digest_len);
	return b64;
}

static void
test_body(gconstpointer data)
{
	const BodyCase *test = data;
	g_autoptr(SignDkimLib) lib = sign_dkim_lib_new(NULL, 0);

	for (int canon = SIGN_CANON_SIMPLE; canon <= SIGN_CANON_RELAXED; canon++) {
		g_autofree char *want =
		    expected_hash(canon == SIGN_CANON_SIMPLE ? test->simple : test->relaxed);
		g_autofree char *whole = body_hash(lib, canon, test->body, 0, 0);
		g_autofree char *bytes = body_hash(lib, canon, test->body, 1, 0);

		g_assert_cmpstr(whole, ==, want);
		g_assert_cmpstr(bytes, ==, want);
		for (gsize split = 0; split <= strlen(test->body); split++) {
			g_autofree char *two = body_hash(lib, canon, test->body, 0, split);

			g_assert_cmpstr(two, ==, want);
		}
	}
}

/* a long run of empty lines goes into the hash in blocks: the same bh= whatever the chunks */
static void
test_long_run(void)
{
	g_autoptr(SignDkimLib) lib = sign_dkim_lib_new(NULL, 0);
	g_autoptr(GString) body = g_string_new("a\r\n");
	g_autoptr(GString) canonical = NULL;

	for (int i = 0; i < 5000; i++)
		g_string_append(body, "\r\n");
	g_string_append(body, "b\r\n\r\n\r\n");
	canonical = g_string_new_len(body->str, (gssize)body->len - 4);
	for (int canon = SIGN_CANON_SIMPLE; canon <= SIGN_CANON_RELAXED; canon++) {
		g_autofree char *want = expected_hash(canonical->str);
		g_autofree char *whole = body_hash(lib, canon, body->str, 0, 0);
		g_autofree char *odd = body_hash(lib, canon, body->str, 777, 0);
		g_autofree char *small = body_hash(lib, canon, body->str, 3, 0);

		g_assert_cmpstr(whole, ==, want);
		g_assert_cmpstr(odd, ==, want);
		g_assert_cmpstr(small, ==, want);
	}
}

int
main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);
	rsa_key = key_new();
	for (gsize i = 0; i < G_N_ELEMENTS(body_cases); i++) {
		g_autofree char *path = g_strdup_printf("/sign/dkim/body/%s", body_cases[i].label);

		g_test_add_data_func(path, &body_cases[i], test_body);
	}
	g_test_add_func("/sign/dkim/body/long-run", test_long_run);
	status = g_test_run();
	sign_key_unref(rsa_key);
	return status;
}
