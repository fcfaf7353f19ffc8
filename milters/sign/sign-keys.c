/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-keys: reading, checking and holding private keys (see sign-keys.h).
 * OpenSSL reads the key once, here: its type and size, the parsed key the
 * signer uses for every message, and a PKCS#8 PEM copy.
 * The file's bytes and every copy of the key are zeroed before they are
 * freed.
 */
#include "sign-keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(sign - keys - error - quark, sign_keys_error)

struct _SignKey {
	SignAlgorithm algorithm;
	guint bits;
	char *path;
	char *pem; /* zeroed on free */
	gsize pem_len;
	char *public_b64;
	EVP_PKEY *pkey; /* parsed once, for the signer; OpenSSL zeroes it when freed */
};

/* a name for a uid in messages, "uid N" when it has none */
static char *
user_name(guint uid)
{
	struct passwd entry;
	struct passwd *result = NULL;
	char buffer[1024];

	if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &result) == 0 && result != NULL)
		return g_strdup_printf("%s (uid %u)", result->pw_name, uid);
	return g_strdup_printf("uid %u", uid);
}

/* RequireSafeKeys, stricter: only the owner may have any access */
static gboolean
check_safe(const char *path, const struct stat *st, guint uid, GError **error)
{
	if (!S_ISREG(st->st_mode)) {
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_UNSAFE,
			    "%s: not a regular file", path);
		return FALSE;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_UNSAFE,
			    "%s: unsafe key file: %s by group or others (mode %04o; chmod 600)",
			    path,
			    (st->st_mode & (S_IWGRP | S_IWOTH)) != 0 ? "writable" : "readable",
			    (unsigned)(st->st_mode & 07777));
		return FALSE;
	}
	/*
	 * read as root: the start-up read before the privilege drop (the file is
	 * read again as the daemon's user, who must then own it), or a daemon
	 * that runs as root (warned at start), where only the mode is checked
	 */
	if (st->st_uid != 0 && st->st_uid != uid && uid != 0) {
		g_autofree char *owner = user_name(st->st_uid);
		g_autofree char *daemon = user_name(uid);

		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_UNSAFE,
			    "%s: unsafe key file: owned by %s, not root or the daemon's user %s",
			    path, owner, daemon);
		return FALSE;
	}
	return TRUE;
}

/* zeroes and frees what read_file returned */
static void
secure_free(guchar *data, gsize len)
{
	if (data == NULL)
		return;
	OPENSSL_cleanse(data, len);
	g_free(data);
}

/* the whole file, checked on the open descriptor (no race with a rename) */
static guchar *
read_key_file(const char *path, guint uid, gsize *len_out, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	guchar *data;
	gsize done = 0;

	if (fd < 0) {
		int saved = errno;

		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_IO, "%s: %s", path,
			    g_strerror(saved));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !check_safe(path, &st, uid, error)) {
		if (error != NULL && *error == NULL)
			g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_IO, "%s: %s", path,
				    g_strerror(errno));
		close(fd);
		return NULL;
	}
	if (st.st_size > SIGN_KEY_MAX_FILE) {
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT,
			    "%s: larger than %d bytes: not a key", path, SIGN_KEY_MAX_FILE);
		close(fd);
		return NULL;
	}
	data = g_malloc0(SIGN_KEY_MAX_FILE + 1);
	while (done < SIGN_KEY_MAX_FILE) {
		ssize_t n = read(fd, data + done, SIGN_KEY_MAX_FILE - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_IO, "%s: %s", path,
				    g_strerror(errno));
			close(fd);
			secure_free(data, SIGN_KEY_MAX_FILE + 1);
			return NULL;
		}
		if (n == 0)
			break;
		done += (gsize)n;
	}
	close(fd);
	*len_out = done;
	return data;
}

/* never prompt for a pass phrase: an encrypted key is refused */
static int
no_passphrase(char *buf, int size, int rwflag, void *user_data)
{
	return -1;
}

/* the base64 of a bare 32-byte Ed25519 private key (dkimpy, rspamd) */
static EVP_PKEY *
parse_raw_ed25519(const guchar *data, gsize len)
{
	g_autofree char *text = g_strndup((const char *)data, len);
	guchar raw[64];
	EVP_PKEY *pkey = NULL;
	int n;

	g_strstrip(text);
	if (strlen(text) != 44) {
		OPENSSL_cleanse(text, strlen(text));
		return NULL;
	}
	n = EVP_DecodeBlock(raw, (const guchar *)text, 44);
	OPENSSL_cleanse(text, 44);
	/* 44 characters with one '=' pad: EVP_DecodeBlock counts 33 bytes, 32 are meant */
	if (n == 33)
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
	OPENSSL_cleanse(raw, sizeof raw);
	return pkey;
}

static EVP_PKEY *
parse_private_key(const guchar *data, gsize len)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	if (len == 0 || len > G_MAXINT)
		return NULL;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		return NULL;
	if (len >= 5 && memchr(data, '-', MIN(len, 64)) != NULL)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		const guchar *p = data;

		pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	if (pkey == NULL)
		pkey = parse_raw_ed25519(data, len);
	return pkey;
}

/* PKCS#8 PEM in secure memory */
static char *
write_pem(EVP_PKEY *pkey, gsize *len_out)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem = NULL;
	char *mem;
	long len;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		len = BIO_get_mem_data(bio, &mem);
		if (len > 0) {
			pem = g_malloc(len + 1);
			memcpy(pem, mem, len);
			pem[len] = '\0';
			*len_out = (gsize)len;
		}
	}
	BIO_free(bio);
	return pem;
}

static char *
public_base64(EVP_PKEY *pkey, SignAlgorithm algorithm)
{
	guchar raw[32];
	size_t raw_len = sizeof raw;
	guchar *der = NULL;
	int der_len;
	char *b64;

	if (algorithm == SIGN_ALG_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) != 1)
			return NULL;
		return g_base64_encode(raw, raw_len);
	}
	der_len = i2d_PUBKEY(pkey, &der);
	if (der_len <= 0)
		return NULL;
	b64 = g_base64_encode(der, (gsize)der_len);
	OPENSSL_free(der);
	return b64;
}

SignKey *
sign_key_new_from_data(const char *path, const guchar *data, gsize len, char **warning_out,
		       GError **error)
{
	EVP_PKEY *pkey;
	g_autoptr(SignKey) key = NULL;
	int type;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(data != NULL || len == 0, NULL);

	pkey = parse_private_key(data, len);
	if (pkey == NULL) {
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT,
			    "%s: not an unencrypted private key (PEM, DER, or the base64 of an "
			    "Ed25519 key)",
			    path);
		return NULL;
	}
	key = g_atomic_rc_box_new0(SignKey);
	key->path = g_strdup(path);
	type = EVP_PKEY_get_base_id(pkey);
	if (type == EVP_PKEY_RSA) {
		key->algorithm = SIGN_ALG_RSA_SHA256;
	} else if (type == EVP_PKEY_ED25519) {
		key->algorithm = SIGN_ALG_ED25519_SHA256;
	} else {
		EVP_PKEY_free(pkey);
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT,
			    "%s: neither an RSA nor an Ed25519 key", path);
		return NULL;
	}
	key->bits = (guint)EVP_PKEY_get_bits(pkey);
	key->pem = write_pem(pkey, &key->pem_len);
	key->public_b64 = public_base64(pkey, key->algorithm);
	key->pkey = pkey;
	if (key->pem == NULL || key->public_b64 == NULL) {
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT,
			    "%s: the key could not be converted", path);
		return NULL;
	}
	if (key->algorithm == SIGN_ALG_RSA_SHA256 && key->bits < SIGN_KEY_MIN_RSA_BITS) {
		g_set_error(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_WEAK,
			    "%s: RSA key of %u bits: under %d bits is refused (RFC 8301)", path,
			    key->bits, SIGN_KEY_MIN_RSA_BITS);
		return NULL;
	}
	if (warning_out != NULL)
		*warning_out =
		    key->algorithm == SIGN_ALG_RSA_SHA256 && key->bits < SIGN_KEY_WARN_RSA_BITS
			? g_strdup_printf("%s: RSA key of %u bits: use at least %d "
					  "(RFC 8301; verifiers may ignore it)",
					  path, key->bits, SIGN_KEY_WARN_RSA_BITS)
			: NULL;
	return g_steal_pointer(&key);
}

SignKey *
sign_key_load(const char *path, guint uid, char **warning_out, GError **error)
{
	gsize len = 0;
	guchar *data;
	SignKey *key;

	g_return_val_if_fail(path != NULL, NULL);

	data = read_key_file(path, uid, &len, error);
	if (data == NULL)
		return NULL;
	key = sign_key_new_from_data(path, data, len, warning_out, error);
	secure_free(data, SIGN_KEY_MAX_FILE + 1);
	return key;
}

static void
key_clear(gpointer data)
{
	SignKey *key = data;

	if (key->pem != NULL)
		OPENSSL_cleanse(key->pem, key->pem_len);
	g_free(key->pem);
	EVP_PKEY_free(key->pkey);
	g_free(key->path);
	g_free(key->public_b64);
}

SignKey *
sign_key_ref(SignKey *key)
{
	g_return_val_if_fail(key != NULL, NULL);
	return g_atomic_rc_box_acquire(key);
}

void
sign_key_unref(SignKey *key)
{
	if (key != NULL)
		g_atomic_rc_box_release_full(key, key_clear);
}

EVP_PKEY *
sign_key_get_pkey(const SignKey *key)
{
	return key->pkey;
}

SignAlgorithm
sign_key_get_algorithm(const SignKey *key)
{
	return key->algorithm;
}

guint
sign_key_get_bits(const SignKey *key)
{
	return key->bits;
}

const char *
sign_key_get_path(const SignKey *key)
{
	return key->path;
}

const char *
sign_key_get_pem(const SignKey *key)
{
	return key->pem;
}

char *
sign_key_get_public(const SignKey *key)
{
	return g_strdup(key->public_b64);
}
