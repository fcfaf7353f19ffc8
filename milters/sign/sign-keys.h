/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-keys: private keys for DKIM signing, and OpenDKIM's KeyTable and
 * SigningTable files. Only portcullis-sign links this, and the admin
 * command (keygen, dkim-check): no other daemon ever opens a private key.
 *
 * A key file is refused unless it is safe (OpenDKIM's RequireSafeKeys, made
 * stricter): a regular file, owned by root or by the user loading it,
 * without any permission for group or others (read as root, before the
 * privilege drop, the owner is checked again by the read as the daemon's
 * user). Accepted forms: PEM (PKCS#1
 * "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY", unencrypted), DER, and for
 * Ed25519 the base64 of the 32-byte private key that dkimpy and rspamd
 * write. Every key is held parsed (an EVP_PKEY, which the signer uses)
 * and as unencrypted PKCS#8 PEM, both zeroed when the key is freed. RSA keys under 1024 bits are
 * refused and under 2048 bits warned about (RFC 8301). No function here puts key material in a
 * message.
 *
 * KeyTable ("KEYNAME DOMAIN:SELECTOR:KEYPATH") and SigningTable ("PATTERN
 * KEYNAME [SIGNER]", plain or refile: wildcards) as opendkim.conf(5)
 * describes them; what OpenDKIM reads in two ways, or that would need a
 * key read on a connection thread, is an error naming file and line.
 *
 * Thread-safety: loaders run in the thread that builds a snapshot; the
 * objects are immutable afterwards and reference-counted atomically, so
 * any thread holding the snapshot may read them.
 */
#pragma once

#include <openssl/types.h>

#include <glib.h>

G_BEGIN_DECLS

#define SIGN_KEYS_ERROR (sign_keys_error_quark())
typedef enum {
	SIGN_KEYS_ERROR_IO,	/* cannot read the file */
	SIGN_KEYS_ERROR_UNSAFE, /* permissions or owner */
	SIGN_KEYS_ERROR_FORMAT, /* not a key, not a table line */
	SIGN_KEYS_ERROR_WEAK,	/* RSA under 1024 bits */
} SignKeysError;
GQuark sign_keys_error_quark(void);

typedef enum {
	SIGN_ALG_RSA_SHA256,
	SIGN_ALG_ED25519_SHA256,
	SIGN_ALG_LAST,
} SignAlgorithm;

/* the largest key file read (an RSA-16384 PEM is about 12 KiB) */
#define SIGN_KEY_MAX_FILE (64 * 1024)
#define SIGN_KEY_MIN_RSA_BITS 1024
#define SIGN_KEY_WARN_RSA_BITS 2048

typedef struct _SignKey SignKey;

/*
 * sign_key_load:
 * Reads path as the calling user. uid is the daemon's user (the one the
 * file may belong to besides root); 0 (root, before the privilege drop)
 * checks the mode only. Returns: (transfer full), or NULL with
 * an error naming the file and why (SIGN_KEYS_ERROR_*). A key that is
 * usable but weak (RSA under 2048 bits) comes with *warning_out set
 * (transfer full; NULL otherwise) for the caller to log.
 */
SignKey *sign_key_load(const char *path, guint uid, char **warning_out, GError **error);

/*
 * sign_key_new_from_data:
 * As sign_key_load without the file checks (tests, and keys already read).
 * data is not kept.
 */
SignKey *sign_key_new_from_data(const char *path, const guchar *data, gsize len, char **warning_out,
				GError **error);
SignKey *sign_key_ref(SignKey *key);
void sign_key_unref(SignKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignKey, sign_key_unref)

SignAlgorithm sign_key_get_algorithm(const SignKey *key);
guint sign_key_get_bits(const SignKey *key);
/* (transfer none) the file it came from, for log lines */
const char *sign_key_get_path(const SignKey *key);
/* (transfer none) the unencrypted PKCS#8 PEM text: never log it */
const char *sign_key_get_pem(const SignKey *key);
/*
 * (transfer none) the key as OpenSSL holds it, parsed once at load, for the
 * signer (sign-dkim.c): shared by every thread that signs with it (OpenSSL
 * 3 allows concurrent signing with one EVP_PKEY)
 */
EVP_PKEY *sign_key_get_pkey(const SignKey *key);
/*
 * sign_key_get_public:
 * The p= value of the key's DNS record: base64 of the DER
 * SubjectPublicKeyInfo for RSA, of the 32-byte key for Ed25519 (RFC 8463).
 * (transfer full)
 */
char *sign_key_get_public(const SignKey *key);

/* --- OpenDKIM KeyTable and SigningTable --- */

/* lines longer than this are an error (OpenDKIM reads 1 KiB and cuts the rest) */
#define SIGN_TABLE_MAX_LINE 4096
#define SIGN_TABLE_MAX_FILE (64 * 1024 * 1024)

typedef struct {
	char *name;	/* KEYNAME */
	char *domain;	/* d=; NULL for "%": the From domain */
	char *selector; /* s= */
	SignKey *key;
	guint line;
} SignKeyTableEntry;

typedef struct _SignKeyTable SignKeyTable;

/*
 * sign_key_table_load:
 * Reads a KeyTable and every key it names (relative paths, "./" and
 * "../", from the table's directory; "%" in a path is the entry's domain).
 * warnings (may be NULL) gets (transfer full) strings for the caller to
 * log (weak keys). Returns: (transfer full), or NULL with errors, one
 * "FILE:LINE: why" line each.
 */
SignKeyTable *sign_key_table_load(const char *path, guint uid, GPtrArray *warnings, GError **error);
SignKeyTable *sign_key_table_ref(SignKeyTable *table);
void sign_key_table_unref(SignKeyTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignKeyTable, sign_key_table_unref)
/* (transfer none) the entry called name, or NULL; valid while the table is */
const SignKeyTableEntry *sign_key_table_lookup(const SignKeyTable *table, const char *name);
guint sign_key_table_size(const SignKeyTable *table);

typedef struct _SignSigningTable SignSigningTable;

/*
 * sign_signing_table_load:
 * spec is "FILE" or "refile:FILE". Every key name must be in keys (or be
 * "%", the From domain's name). Returns: (transfer full), or NULL with
 * errors naming file and line. A signer field (i=) is accepted and not
 * used: a warning says so.
 */
SignSigningTable *sign_signing_table_load(const char *spec, const SignKeyTable *keys,
					  GPtrArray *warnings, GError **error);
SignSigningTable *sign_signing_table_ref(SignSigningTable *table);
void sign_signing_table_unref(SignSigningTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignSigningTable, sign_signing_table_unref)

/*
 * sign_signing_table_match:
 * The key names for local@domain (domain normalised), in OpenDKIM's order:
 * refile: the patterns in file order; otherwise "local@domain", "domain",
 * then for each parent "local@.parent" and ".parent", then "local@*" and
 * "*". "%" comes back as the domain. Only the first unless all.
 * Returns: (transfer full) a NULL-terminated array, empty when nothing
 * matches.
 */
char **sign_signing_table_match(const SignSigningTable *table, const char *local,
				const char *domain, gboolean all);

G_END_DECLS
