/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for sign-keys and sign-tables: key files (forms, sizes, types,
 * permissions, owners), OpenDKIM KeyTable and SigningTable parsing (errors
 * with file and line) and SigningTable matching in OpenDKIM's order, plain
 * and refile.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sign-keys.h"

/* made once in main(): the keys the cases write in their forms */
static EVP_PKEY *rsa2048;
static EVP_PKEY *rsa1024;
static EVP_PKEY *rsa512;
static EVP_PKEY *ed25519;
static EVP_PKEY *p256;
static char *dir;

typedef enum {
	FORM_PKCS8_PEM,
	FORM_PKCS1_PEM, /* "RSA PRIVATE KEY", what opendkim-genkey writes */
	FORM_DER,
	FORM_RAW_BASE64, /* Ed25519: dkimpy's and rspamd's */
	FORM_ENCRYPTED,
	FORM_TEXT,
	FORM_EMPTY,
	FORM_HUGE,
	FORM_DIRECTORY,
	FORM_MISSING,
} KeyForm;

static void
write_bio(const char *path, BIO *bio, mode_t mode)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	g_assert_true(g_file_set_contents(path, data, len, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
}

/* writes key in form to path with mode */
static void
write_key(const char *path, EVP_PKEY *key, KeyForm form, mode_t mode)
{
	BIO *bio = BIO_new(BIO_s_mem());
	guchar raw[32];
	size_t raw_len = sizeof raw;
	g_autofree char *b64 = NULL;
	g_autofree char *huge = NULL;

	switch (form) {
	case FORM_PKCS8_PEM:
		g_assert_cmpint(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), ==,
				1);
		break;
	case FORM_PKCS1_PEM:
		g_assert_cmpint(
		    PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL), ==,
		    1);
		break;
	case FORM_DER:
		g_assert_cmpint(i2d_PrivateKey_bio(bio, key), ==, 1);
		break;
	case FORM_RAW_BASE64:
		g_assert_cmpint(EVP_PKEY_get_raw_private_key(key, raw, &raw_len), ==, 1);
		b64 = g_base64_encode(raw, raw_len);
		BIO_printf(bio, "%s\n", b64);
		break;
	case FORM_ENCRYPTED:
		g_assert_cmpint(PEM_write_bio_PrivateKey(bio, key, EVP_aes_128_cbc(),
							 (unsigned char *)"secret", 6, NULL, NULL),
				==, 1);
		break;
	case FORM_TEXT:
		BIO_printf(bio, "this is not a key\n");
		break;
	case FORM_EMPTY:
		break;
	case FORM_HUGE:
		huge = g_strnfill(SIGN_KEY_MAX_FILE + 10, 'A');
		BIO_write(bio, huge, SIGN_KEY_MAX_FILE + 10);
		break;
	case FORM_DIRECTORY:
		g_assert_cmpint(g_mkdir(path, mode), ==, 0);
		BIO_free(bio);
		return;
	case FORM_MISSING:
		BIO_free(bio);
		return;
	}
	write_bio(path, bio, mode);
	BIO_free(bio);
}

typedef struct {
	const char *label;
	EVP_PKEY **key;
	KeyForm form;
	mode_t mode;
	gboolean other_owner;  /* chown to nobody (root only) */
	int want_error;	       /* -1: loads */
	const char *want_text; /* in the error, or in the warning */
	SignAlgorithm want_algorithm;
	guint want_bits;
} KeyCase;

#define LOADS -1

/* clang-format off */
static const KeyCase key_cases[] = {
    {"rsa/pkcs8", &rsa2048, FORM_PKCS8_PEM, 0600, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_RSA_SHA256, .want_bits = 2048},
    {"rsa/pkcs1", &rsa2048, FORM_PKCS1_PEM, 0600, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_RSA_SHA256, .want_bits = 2048},
    {"rsa/der", &rsa2048, FORM_DER, 0400, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_RSA_SHA256, .want_bits = 2048},
    {"rsa/1024-warns", &rsa1024, FORM_PKCS8_PEM, 0600, .want_error = LOADS,
     .want_text = "RSA key of 1024 bits: use at least 2048",
     .want_algorithm = SIGN_ALG_RSA_SHA256, .want_bits = 1024},
    {"rsa/512-refused", &rsa512, FORM_PKCS8_PEM, 0600, .want_error = SIGN_KEYS_ERROR_WEAK,
     .want_text = "RSA key of 512 bits: under 1024 bits is refused (RFC 8301)"},
    {"ed25519/pkcs8", &ed25519, FORM_PKCS8_PEM, 0600, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_ED25519_SHA256, .want_bits = 256},
    {"ed25519/der", &ed25519, FORM_DER, 0600, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_ED25519_SHA256, .want_bits = 256},
    {"ed25519/raw-base64", &ed25519, FORM_RAW_BASE64, 0600, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_ED25519_SHA256, .want_bits = 256},
    {"ec/refused", &p256, FORM_PKCS8_PEM, 0600, .want_error = SIGN_KEYS_ERROR_FORMAT,
     .want_text = "neither an RSA nor an Ed25519 key"},
    {"encrypted/refused", &rsa2048, FORM_ENCRYPTED, 0600, .want_error = SIGN_KEYS_ERROR_FORMAT,
     .want_text = "not an unencrypted private key"},
    {"text/refused", NULL, FORM_TEXT, 0600, .want_error = SIGN_KEYS_ERROR_FORMAT,
     .want_text = "not an unencrypted private key"},
    {"empty/refused", NULL, FORM_EMPTY, 0600, .want_error = SIGN_KEYS_ERROR_FORMAT},
    {"huge/refused", NULL, FORM_HUGE, 0600, .want_error = SIGN_KEYS_ERROR_FORMAT,
     .want_text = "larger than 65536 bytes"},
    {"mode/0640", &rsa2048, FORM_PKCS8_PEM, 0640, .want_error = SIGN_KEYS_ERROR_UNSAFE,
     .want_text = "unsafe key file: readable by group or others (mode 0640; chmod 600)"},
    {"mode/0604", &rsa2048, FORM_PKCS8_PEM, 0604, .want_error = SIGN_KEYS_ERROR_UNSAFE,
     .want_text = "readable by group or others (mode 0604"},
    {"mode/0620", &rsa2048, FORM_PKCS8_PEM, 0620, .want_error = SIGN_KEYS_ERROR_UNSAFE,
     .want_text = "writable by group or others (mode 0620"},
    {"mode/0610", &ed25519, FORM_PKCS8_PEM, 0610, .want_error = SIGN_KEYS_ERROR_UNSAFE,
     .want_text = "(mode 0610"},
    {"owner/other", &rsa2048, FORM_PKCS8_PEM, 0600, .other_owner = TRUE,
     .want_error = SIGN_KEYS_ERROR_UNSAFE, .want_text = "not root or the daemon's user"},
    {"owner/read-as-root", &rsa2048, FORM_PKCS8_PEM, 0600, .want_error = LOADS,
     .want_algorithm = SIGN_ALG_RSA_SHA256, .want_bits = 2048},
    {"directory", NULL, FORM_DIRECTORY, 0700, .want_error = SIGN_KEYS_ERROR_UNSAFE,
     .want_text = "not a regular file"},
    {"missing", NULL, FORM_MISSING, 0600, .want_error = SIGN_KEYS_ERROR_IO,
     .want_text = "No such file"},
};
/* clang-format on */

static void
test_key_case(gconstpointer data)
{
	const KeyCase *test = data;
	g_autofree char *name = g_strdelimit(g_strdup(test->label), "/", '-');
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(SignKey) key = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *warning = NULL;

	if (test->other_owner && geteuid() != 0) {
		g_test_skip("needs root to give the file to another user");
		return;
	}
	write_key(path, test->key != NULL ? *test->key : NULL, test->form, test->mode);
	if (test->other_owner)
		g_assert_cmpint(chown(path, 65534, 65534), ==, 0);
	/* the daemon's user is uid 1000 when the file must not be nobody's */
	key = sign_key_load(path, test->other_owner ? 1000 : geteuid(), &warning, &error);
	if (test->want_error == LOADS) {
		g_assert_no_error(error);
		g_assert_nonnull(key);
		g_assert_cmpint(sign_key_get_algorithm(key), ==, test->want_algorithm);
		g_assert_cmpuint(sign_key_get_bits(key), ==, test->want_bits);
		g_assert_true(
		    g_str_has_prefix(sign_key_get_pem(key), "-----BEGIN PRIVATE KEY-----"));
		g_assert_cmpstr(sign_key_get_path(key), ==, path);
		if (test->want_text != NULL)
			g_assert_nonnull(strstr(warning != NULL ? warning : "", test->want_text));
		else
			g_assert_null(warning);
	} else {
		g_assert_null(key);
		g_assert_error(error, SIGN_KEYS_ERROR, test->want_error);
		/* every error names the file */
		g_assert_true(g_str_has_prefix(error->message, path));
		if (test->want_text != NULL)
			g_assert_nonnull(strstr(error->message, test->want_text));
		g_assert_null(strstr(error->message, "PRIVATE KEY"));
	}
	if (test->form == FORM_DIRECTORY)
		g_rmdir(path);
	else
		g_unlink(path);
}

/* the p= value is what the public key is: SPKI DER for RSA, the 32 bytes for Ed25519 */
static void
test_key_public(void)
{
	g_autofree char *path = g_build_filename(dir, "public", NULL);
	guchar raw[32];
	size_t raw_len = sizeof raw;
	guchar *der = NULL;
	int der_len;
	g_autofree char *want_rsa = NULL;
	g_autofree char *want_ed = NULL;
	g_autofree char *got = NULL;
	g_autoptr(SignKey) key = NULL;

	g_assert_cmpint(EVP_PKEY_get_raw_public_key(ed25519, raw, &raw_len), ==, 1);
	want_ed = g_base64_encode(raw, raw_len);
	write_key(path, ed25519, FORM_RAW_BASE64, 0600);
	key = sign_key_load(path, geteuid(), NULL, NULL);
	g_assert_nonnull(key);
	got = sign_key_get_public(key);
	g_assert_cmpstr(got, ==, want_ed);
	g_clear_pointer(&key, sign_key_unref);
	g_clear_pointer(&got, g_free);
	g_unlink(path);

	der_len = i2d_PUBKEY(rsa2048, &der);
	want_rsa = g_base64_encode(der, der_len);
	OPENSSL_free(der);
	write_key(path, rsa2048, FORM_PKCS1_PEM, 0600);
	key = sign_key_load(path, geteuid(), NULL, NULL);
	g_assert_nonnull(key);
	got = sign_key_get_public(key);
	g_assert_cmpstr(got, ==, want_rsa);
	g_unlink(path);
}

/*
 * --- KeyTable ---
 */

static char *
write_text(const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* the keys the tables name, written once */
static void
write_table_keys(void)
{
	g_autofree char *rsa = g_build_filename(dir, "rsa.pem", NULL);
	g_autofree char *ed = g_build_filename(dir, "ed.pem", NULL);
	g_autofree char *per = g_build_filename(dir, "example.org.pem", NULL);
	g_autofree char *open = g_build_filename(dir, "open.pem", NULL);

	write_key(rsa, rsa2048, FORM_PKCS1_PEM, 0600);
	write_key(ed, ed25519, FORM_PKCS8_PEM, 0600);
	write_key(per, rsa2048, FORM_PKCS8_PEM, 0600);
	write_key(open, rsa2048, FORM_PKCS8_PEM, 0644);
}

static void
test_keytable_valid(void)
{
	g_autofree char *text =
	    g_strdup_printf("# OpenDKIM KeyTable\n"
			    "\n"
			    "rsa      example.com:s1:%s/rsa.pem\n"
			    "  ed\tEXAMPLE.com:e1:./ed.pem   # a comment after the value\n"
			    "any      %%:s2:%s/rsa.pem\n"
			    "per      example.org:s3:%s/%%.pem\n",
			    dir, dir, dir);
	g_autofree char *path = write_text("keytable", text);
	g_autoptr(GError) error = NULL;
	g_autoptr(SignKeyTable) table = sign_key_table_load(path, geteuid(), NULL, &error);
	const SignKeyTableEntry *entry;

	g_assert_no_error(error);
	g_assert_cmpuint(sign_key_table_size(table), ==, 4);
	entry = sign_key_table_lookup(table, "rsa");
	g_assert_cmpstr(entry->domain, ==, "example.com");
	g_assert_cmpstr(entry->selector, ==, "s1");
	g_assert_cmpuint(entry->line, ==, 3);
	g_assert_cmpint(sign_key_get_algorithm(entry->key), ==, SIGN_ALG_RSA_SHA256);
	entry = sign_key_table_lookup(table, "ed");
	g_assert_cmpstr(entry->domain, ==, "example.com");
	g_assert_cmpint(sign_key_get_algorithm(entry->key), ==, SIGN_ALG_ED25519_SHA256);
	entry = sign_key_table_lookup(table, "any");
	g_assert_null(entry->domain);
	entry = sign_key_table_lookup(table, "per");
	g_assert_true(g_str_has_suffix(sign_key_get_path(entry->key), "/example.org.pem"));
	g_assert_null(sign_key_table_lookup(table, "RSA")); /* key names are case-sensitive */
	g_unlink(path);
}

typedef struct {
	const char *label;
	const char *text; /* "@" is replaced by the test directory */
	const char *want; /* in the error, after "FILE:" */
} TableErrorCase;

/* clang-format off */
static const TableErrorCase keytable_errors[] = {
    {"no-value", "k\n", "1: k: expected DOMAIN:SELECTOR:KEYPATH"},
    {"two-fields", "# c\nk example.com:s1\n", "2: k: expected DOMAIN:SELECTOR:KEYPATH"},
    {"empty-selector", "k example.com::@/rsa.pem\n", "1: k: expected DOMAIN:SELECTOR:KEYPATH"},
    {"twice", "k example.com:s1:@/rsa.pem\nk example.com:s2:@/rsa.pem\n",
     "2: k: key name given twice (line 1 too; OpenDKIM uses the first)"},
    {"inline", "k example.com:s1:MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n",
     "1: k: inline keys are not supported"},
    {"percent-twice", "k %:s1:@/%.pem\n", "1: k: '%' in both the domain and the key path"},
    {"bad-domain", "k exa..mple.com:s1:@/rsa.pem\n", "1: k: 'exa..mple.com' is not a domain"},
    {"literal-domain", "k [192.0.2.1]:s1:@/rsa.pem\n", "is not a domain"},
    {"bad-selector", "k example.com:s@1:@/rsa.pem\n", "1: k: 's@1' is not a selector"},
    {"missing-key", "k example.com:s1:@/none.pem\n", "1: k: @/none.pem: No such file"},
    {"unsafe-key", "k example.com:s1:@/open.pem\n", "1: k: @/open.pem: unsafe key file"},
};
/* clang-format on */

static char *
with_dir(const char *text)
{
	g_auto(GStrv) parts = g_strsplit(text, "@", -1);

	return g_strjoinv(dir, parts);
}

static void
test_keytable_error(gconstpointer data)
{
	const TableErrorCase *test = data;
	g_autofree char *text = with_dir(test->text);
	g_autofree char *want = with_dir(test->want);
	g_autofree char *path = write_text("keytable-bad", text);
	g_autofree char *prefix = g_strdup_printf("%s:", path);
	g_autoptr(GError) error = NULL;
	g_autoptr(SignKeyTable) table = sign_key_table_load(path, geteuid(), NULL, &error);

	g_assert_null(table);
	g_assert_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT);
	g_assert_true(g_str_has_prefix(error->message, prefix));
	if (strstr(error->message, want) == NULL)
		g_error("%s: '%s' not in '%s'", test->label, want, error->message);
	/* an inline key is never repeated */
	g_assert_null(strstr(error->message, "MIIEv"));
	g_unlink(path);
}

/* every bad line is reported, each with its number; a long line too */
static void
test_keytable_all_errors(void)
{
	g_autofree char *long_line = g_strnfill(SIGN_TABLE_MAX_LINE + 1, 'x');
	g_autofree char *text = g_strdup_printf("a\nb x\n%s\n", long_line);
	g_autofree char *path = write_text("keytable-many", text);
	g_autoptr(GError) error = NULL;
	g_autoptr(SignKeyTable) table = sign_key_table_load(path, geteuid(), NULL, &error);
	g_auto(GStrv) lines = NULL;

	g_assert_null(table);
	lines = g_strsplit(error->message, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 3);
	g_assert_nonnull(strstr(lines[0], ":1: a: expected"));
	g_assert_nonnull(strstr(lines[1], ":2: b: expected"));
	g_assert_nonnull(strstr(lines[2], ":3: line longer than 4096 bytes"));
	g_unlink(path);
}

/*
 * --- SigningTable ---
 */

static SignKeyTable *
names_table(void)
{
	g_autofree char *text = g_strdup_printf("k1 example.com:s1:%s/rsa.pem\n"
						"k2 example.com:s2:%s/ed.pem\n"
						"k3 example.com:s3:%s/rsa.pem\n"
						"k4 example.com:s4:%s/rsa.pem\n"
						"k5 example.com:s5:%s/rsa.pem\n"
						"k6 example.com:s6:%s/rsa.pem\n"
						"example.net %%:s7:%s/rsa.pem\n",
						dir, dir, dir, dir, dir, dir, dir);
	g_autofree char *path = write_text("names", text);
	SignKeyTable *table = sign_key_table_load(path, geteuid(), NULL, NULL);

	g_assert_nonnull(table);
	g_unlink(path);
	return table;
}

typedef struct {
	const char *label;
	gboolean refile;
	const char *local;
	const char *domain;
	gboolean all;
	const char *want; /* names joined with ',' ("" none) */
} MatchCase;

#define PLAIN_TABLE                                                                                \
	"alice@example.com  k1\n"                                                                  \
	"example.com        k2\n"                                                                  \
	".example.com       k3\n"                                                                  \
	"bob@.example.com   k4\n"                                                                  \
	"carol@*            k5\n"                                                                  \
	"*                  k6\n"                                                                  \
	"example.net        %\n"

#define REFILE_TABLE                                                                               \
	"*@example.com        k1\n"                                                                \
	"*@*.example.com      k2\n"                                                                \
	"alice*@example.org   k3\n"                                                                \
	"*+*@example.net      k4\n"                                                                \
	"*@example.com        k5:alice@example.com\n"                                              \
	"*@Example.Net        %\n"

/* clang-format off */
static const MatchCase match_cases[] = {
    /* plain: user@host, host, user@.parent and .parent for each parent, user@*, * */
    {"plain/address", FALSE, "alice", "example.com", FALSE, "k1"},
    {"plain/address-all", FALSE, "alice", "example.com", TRUE, "k1,k2,k6"},
    {"plain/caseless-local", FALSE, "ALICE", "example.com", FALSE, "k1"},
    {"plain/host", FALSE, "bob", "example.com", FALSE, "k2"},
    {"plain/dot-parent-not-self", FALSE, "bob", "example.com", TRUE, "k2,k6"},
    {"plain/user-at-parent", FALSE, "bob", "a.example.com", FALSE, "k4"},
    {"plain/parent-order", FALSE, "bob", "a.example.com", TRUE, "k4,k3,k6"},
    {"plain/deep-parent", FALSE, "dave", "x.y.example.com", TRUE, "k3,k6"},
    {"plain/user-any", FALSE, "carol", "other.org", TRUE, "k5,k6"},
    {"plain/star", FALSE, "dave", "other.org", FALSE, "k6"},
    {"plain/percent", FALSE, "x", "example.net", FALSE, "example.net"},
    /* refile: wildcards in file order; only '*' is special */
    {"refile/first", TRUE, "x", "example.com", FALSE, "k1"},
    {"refile/all-repeated-pattern", TRUE, "x", "example.com", TRUE, "k1,k5"},
    {"refile/subdomain", TRUE, "x", "a.b.example.com", TRUE, "k2"},
    {"refile/not-parent-itself", TRUE, "x", "example.co", FALSE, ""},
    {"refile/prefix", TRUE, "alice.smith", "example.org", FALSE, "k3"},
    {"refile/prefix-no", TRUE, "bob", "example.org", FALSE, ""},
    {"refile/plus-literal", TRUE, "a+b", "example.net", TRUE, "k4,example.net"},
    {"refile/caseless", TRUE, "X", "example.net", FALSE, "example.net"},
    {"refile/dot-literal", TRUE, "x", "examplexcom", FALSE, ""},
};
/* clang-format on */

static void
test_match_case(gconstpointer data)
{
	const MatchCase *test = data;
	g_autoptr(SignKeyTable) keys = names_table();
	g_autofree char *path = write_text("signing", test->refile ? REFILE_TABLE : PLAIN_TABLE);
	g_autofree char *spec = g_strdup_printf("%s%s", test->refile ? "refile:" : "", path);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(SignSigningTable) table = sign_signing_table_load(spec, keys, warnings, &error);
	g_auto(GStrv) names = NULL;
	g_autofree char *got = NULL;

	g_assert_no_error(error);
	names = sign_signing_table_match(table, test->local, test->domain, test->all);
	got = g_strjoinv(",", names);
	g_assert_cmpstr(got, ==, test->want);
	/* the refile table's signer field is accepted with a warning */
	g_assert_cmpuint(warnings->len, ==, test->refile ? 1 : 0);
	if (test->refile)
		g_assert_nonnull(strstr(g_ptr_array_index(warnings, 0),
					":5: *@example.com: the signer (i=) is not used"));
	g_unlink(path);
}

/* clang-format off */
static const TableErrorCase signing_errors[] = {
    {"unknown-key", "*@example.com nokey\n", "1: *@example.com: key name nokey is not in the KeyTable"},
    {"no-key-name", "# x\n*@example.com\n", "2: *@example.com: no key name"},
    {"regex-question", "refile:a?@example.com k1\n",
     "1: a?@example.com: only '*' is a wildcard here"},
    {"regex-bracket", "refile:[ab]@example.com k1\n", "only '*' is a wildcard"},
    {"plain-twice", "example.com k1\nEXAMPLE.COM k2\n",
     "2: EXAMPLE.COM: given twice (line 1 too; OpenDKIM uses the first)"},
};
/* clang-format on */

static void
test_signing_error(gconstpointer data)
{
	const TableErrorCase *test = data;
	gboolean refile = g_str_has_prefix(test->text, "refile:");
	g_autoptr(SignKeyTable) keys = names_table();
	g_autofree char *path =
	    write_text("signing-bad", refile ? test->text + strlen("refile:") : test->text);
	g_autofree char *spec = g_strdup_printf("%s%s", refile ? "refile:" : "", path);
	g_autoptr(GError) error = NULL;
	g_autoptr(SignSigningTable) table = sign_signing_table_load(spec, keys, NULL, &error);

	g_assert_null(table);
	g_assert_true(g_str_has_prefix(error->message, path));
	if (strstr(error->message, test->want) == NULL)
		g_error("%s: '%s' not in '%s'", test->label, test->want, error->message);
	g_unlink(path);
}

static void
test_signing_spec(void)
{
	g_autoptr(SignKeyTable) keys = names_table();
	g_autoptr(GError) error = NULL;

	g_assert_null(sign_signing_table_load("db:/etc/opendkim/signing.db", keys, NULL, &error));
	g_assert_nonnull(strstr(error->message, "only file: and refile: tables are read"));
	g_clear_error(&error);
	g_assert_null(sign_signing_table_load("refile:signing", keys, NULL, &error));
	g_assert_nonnull(strstr(error->message, "the path must be absolute"));
	g_clear_error(&error);
	g_assert_null(sign_signing_table_load("/nonexistent/signing", keys, NULL, &error));
	g_assert_nonnull(strstr(error->message, "/nonexistent/signing: "));
}

static EVP_PKEY *
keygen_rsa(guint bits)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	g_assert_nonnull(key);
	return key;
}

int
main(int argc, char **argv)
{
	int status;

	g_test_init(&argc, &argv, NULL);
	umask(077);
	dir = g_dir_make_tmp("pc-sign-keys-XXXXXX", NULL);
	rsa2048 = keygen_rsa(2048);
	rsa1024 = keygen_rsa(1024);
	rsa512 = keygen_rsa(512);
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	g_assert_nonnull(ed25519);
	g_assert_nonnull(p256);
	write_table_keys();

	for (gsize i = 0; i < G_N_ELEMENTS(key_cases); i++) {
		g_autofree char *path = g_strdup_printf("/sign/key/%s", key_cases[i].label);

		g_test_add_data_func(path, &key_cases[i], test_key_case);
	}
	g_test_add_func("/sign/key/public", test_key_public);
	g_test_add_func("/sign/keytable/valid", test_keytable_valid);
	for (gsize i = 0; i < G_N_ELEMENTS(keytable_errors); i++) {
		g_autofree char *path =
		    g_strdup_printf("/sign/keytable/error/%s", keytable_errors[i].label);

		g_test_add_data_func(path, &keytable_errors[i], test_keytable_error);
	}
	g_test_add_func("/sign/keytable/all-errors", test_keytable_all_errors);
	for (gsize i = 0; i < G_N_ELEMENTS(match_cases); i++) {
		g_autofree char *path =
		    g_strdup_printf("/sign/signingtable/match/%s", match_cases[i].label);

		g_test_add_data_func(path, &match_cases[i], test_match_case);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(signing_errors); i++) {
		g_autofree char *path =
		    g_strdup_printf("/sign/signingtable/error/%s", signing_errors[i].label);

		g_test_add_data_func(path, &signing_errors[i], test_signing_error);
	}
	g_test_add_func("/sign/signingtable/spec", test_signing_spec);
	status = g_test_run();

	for (const char *const *name =
		 (const char *const[]){"rsa.pem", "ed.pem", "example.org.pem", "open.pem", NULL};
	     *name != NULL; name++) {
		g_autofree char *path = g_build_filename(dir, *name, NULL);

		g_unlink(path);
	}
	g_rmdir(dir);
	g_free(dir);
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(rsa512);
	EVP_PKEY_free(ed25519);
	EVP_PKEY_free(p256);
	return status;
}
