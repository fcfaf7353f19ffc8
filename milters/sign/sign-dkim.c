/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-dkim: libopendkim signing (see sign-dkim.h). Facts this relies on,
 * read in libopendkim 2.11 and checked against Debian's 2.11.0~beta2:
 *
 *  - dkim_sign() takes the key as text: PEM (it starts "-----"), or the
 *    base64 of DER when it starts "MII". An Ed25519 key's DER never does, so
 *    for Ed25519 PEM is the only form; every key is given as PKCS#8 PEM.
 *  - With no signing header list set, a handle signs every header it is
 *    fed: we feed only the headers to sign, chosen by our own matcher.
 *  - Oversigning (DKIM_OPTS_OVERSIGNHDRS) and x= (DKIM_OPTS_SIGNATURETTL)
 *    are library options: hence one library per configuration.
 *  - The signature header libopendkim hashes is the folded one it hands
 *    out with dkim_getsighdr_d(initial = strlen("DKIM-Signature: ")), so
 *    it must be inserted exactly so: name, ": ", the value with CRLF made
 *    LF. Its line break before b= is computed from the RSA key size only;
 *    for Ed25519 the break of the b= it hashed (empty) and of the one it
 *    writes may differ, which simple header canonicalisation sees: that
 *    combination is refused by the configuration.
 *  - dkim_free() releases a signature's key data only for RSA: for Ed25519
 *    the parsed key (an EVP_PKEY holding the private key) and the signature
 *    buffer leak, about 500 bytes a message (seen with LeakSanitizer on
 *    Debian's build; the same code in 2.11.0-Beta2 and in develop). The
 *    workaround is below (free_leaked_crypto): each handle's allocations go
 *    through our allocator with the handle as closure, so what libopendkim
 *    leaves behind is found and freed, zeroed.
 */
#include "sign-dkim.h"

#include <malloc.h>
#include <opendkim/dkim.h>
#include <openssl/evp.h>
#include <string.h>

G_DEFINE_QUARK(sign - dkim - error - quark, sign_dkim_error)

struct _SignDkimLib {
	DKIM_LIB *lib;
};

/* one signing handle and the blocks libopendkim allocated for it (its memory closure) */
typedef struct {
	DKIM *dkim;
	gboolean ed25519;
	GHashTable *blocks; /* block -> requested size, while allocated */
} SignHandle;

struct _SignDkimMessage {
	const SignDkimLib *lib;
	char *job_id;
	dkim_canon_t header_canon;
	dkim_canon_t body_canon;
	GPtrArray *handles; /* SignHandle * */
	GString *line;	    /* the header being fed */
};

/*
 * libopendkim 2.11's struct dkim_crypto (OpenSSL build, dkim-types.h),
 * replicated only to recognise and free what dkim_free() leaks for an
 * Ed25519 signature; every field is checked before anything is freed, so a
 * different layout or a fixed library makes this do nothing
 */
typedef struct {
	unsigned char pad;
	int keysize;
	size_t inlen;
	size_t outlen;
	EVP_PKEY *pkey;
	void *key;
	void *keydata;
	unsigned char *in;
	unsigned char *out;
} LeakyCrypto;

#define ED25519_SIGNATURE_BYTES 64

static void
zero_free(void *block)
{
	explicit_bzero(block, malloc_usable_size(block));
	free(block);
}

/* libopendkim's allocator: every block zeroed when freed (keys are copied into handles) */
static void *
dkim_alloc(void *closure, size_t size)
{
	SignHandle *handle = closure;
	void *block = malloc(size);

	if (handle != NULL && block != NULL)
		g_hash_table_insert(handle->blocks, block, GSIZE_TO_POINTER(size));
	return block;
}

/* block is an Ed25519 signature's dkim_crypto that dkim_free() did not empty */
static void
free_leaked_crypto(SignHandle *handle, void *block)
{
	LeakyCrypto *crypto = block;

	if (GPOINTER_TO_SIZE(g_hash_table_lookup(handle->blocks, block)) != sizeof(LeakyCrypto) ||
	    crypto->keysize != ED25519_SIGNATURE_BYTES * 8 ||
	    crypto->outlen != ED25519_SIGNATURE_BYTES || crypto->out == NULL ||
	    GPOINTER_TO_SIZE(g_hash_table_lookup(handle->blocks, crypto->out)) !=
		ED25519_SIGNATURE_BYTES ||
	    crypto->pkey == NULL || EVP_PKEY_get_base_id(crypto->pkey) != EVP_PKEY_ED25519)
		return;
	/* OpenSSL zeroes the private key when the last reference goes */
	EVP_PKEY_free(crypto->pkey);
	crypto->pkey = NULL;
	g_hash_table_remove(handle->blocks, crypto->out);
	zero_free(crypto->out);
	crypto->out = NULL;
}

static void
dkim_release(void *closure, void *block)
{
	SignHandle *handle = closure;

	if (block == NULL)
		return;
	if (handle != NULL) {
		if (handle->ed25519)
			free_leaked_crypto(handle, block);
		g_hash_table_remove(handle->blocks, block);
	}
	zero_free(block);
}

SignDkimLib *
sign_dkim_lib_new(const char *const *oversign, guint64 ttl_seconds, gboolean ed25519,
		  GError **error)
{
	g_autoptr(SignDkimLib) lib = g_new0(SignDkimLib, 1);
	uint32_t flags = DKIM_LIBFLAGS_FIXCRLF;
	uint64_t ttl = ttl_seconds;

	lib->lib = dkim_init(dkim_alloc, dkim_release);
	if (lib->lib == NULL) {
		g_set_error_literal(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY,
				    "dkim_init() failed");
		return NULL;
	}
	if (ed25519 && !dkim_libfeature(lib->lib, DKIM_FEATURE_ED25519)) {
		g_set_error_literal(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_UNSUPPORTED,
				    "libopendkim was built without Ed25519");
		return NULL;
	}
	if (dkim_options(lib->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
		DKIM_STAT_OK ||
	    (ttl > 0 && dkim_options(lib->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl,
				     sizeof ttl) != DKIM_STAT_OK) ||
	    (oversign != NULL && oversign[0] != NULL &&
	     dkim_options(lib->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, (void *)oversign,
			  sizeof(char **)) != DKIM_STAT_OK)) {
		g_set_error_literal(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY,
				    "dkim_options() failed");
		return NULL;
	}
	return g_steal_pointer(&lib);
}

void
sign_dkim_lib_free(SignDkimLib *lib)
{
	if (lib == NULL)
		return;
	if (lib->lib != NULL)
		dkim_close(lib->lib);
	g_free(lib);
}

static void
free_handle(gpointer data)
{
	SignHandle *handle = data;
	GHashTableIter iter;
	gpointer block;

	if (handle->dkim != NULL)
		dkim_free(handle->dkim);
	/* whatever libopendkim left of this handle (none, unless it leaked) */
	g_hash_table_iter_init(&iter, handle->blocks);
	while (g_hash_table_iter_next(&iter, &block, NULL)) {
		g_hash_table_iter_remove(&iter);
		zero_free(block);
	}
	g_hash_table_unref(handle->blocks);
	g_free(handle);
}

SignDkimMessage *
sign_dkim_message_new(const SignDkimLib *lib, const char *job_id, SignCanon header_canon,
		      SignCanon body_canon)
{
	SignDkimMessage *message;

	g_return_val_if_fail(lib != NULL, NULL);

	message = g_new0(SignDkimMessage, 1);
	message->lib = lib;
	message->job_id = g_strdup(job_id != NULL ? job_id : "NOQUEUE");
	message->header_canon =
	    header_canon == SIGN_CANON_SIMPLE ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	message->body_canon =
	    body_canon == SIGN_CANON_SIMPLE ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	message->handles = g_ptr_array_new_with_free_func(free_handle);
	message->line = g_string_new(NULL);
	return message;
}

void
sign_dkim_message_free(SignDkimMessage *message)
{
	if (message == NULL)
		return;
	g_ptr_array_unref(message->handles);
	/* header text of the message being signed: not a secret, but not kept either */
	g_string_free(message->line, TRUE);
	g_free(message->job_id);
	g_free(message);
}

/* libopendkim's own words for a failure, from the handle when there is one */
static void
set_library_error(GError **error, DKIM *handle, DKIM_STAT status, const char *what)
{
	const char *detail = handle != NULL ? dkim_geterror(handle) : NULL;

	g_set_error(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY, "%s: %s%s%s", what,
		    dkim_getresultstr(status), detail != NULL && detail[0] != '\0' ? ": " : "",
		    detail != NULL ? detail : "");
}

gboolean
sign_dkim_message_add(SignDkimMessage *message, const char *domain, const char *selector,
		      const SignKey *key, GError **error)
{
	DKIM_STAT status = DKIM_STAT_OK;
	dkim_alg_t algorithm = sign_key_get_algorithm(key) == SIGN_ALG_ED25519_SHA256
				   ? DKIM_SIGN_ED25519SHA256
				   : DKIM_SIGN_RSASHA256;
	SignHandle *handle;

	g_return_val_if_fail(message != NULL && domain != NULL && selector != NULL && key != NULL,
			     FALSE);

	handle = g_new0(SignHandle, 1);
	handle->ed25519 = algorithm == DKIM_SIGN_ED25519SHA256;
	handle->blocks = g_hash_table_new(g_direct_hash, g_direct_equal);
	handle->dkim =
	    dkim_sign(message->lib->lib, (const unsigned char *)message->job_id, handle,
		      (dkim_sigkey_t)sign_key_get_pem(key), /* not written to */
		      (const unsigned char *)selector, (const unsigned char *)domain,
		      message->header_canon, message->body_canon, algorithm, -1, &status);
	if (handle->dkim == NULL) {
		set_library_error(error, NULL, status, "dkim_sign()");
		free_handle(handle);
		return FALSE;
	}
	g_ptr_array_add(message->handles, handle);
	return TRUE;
}

guint
sign_dkim_message_count(const SignDkimMessage *message)
{
	return message->handles->len;
}

gboolean
sign_dkim_message_header(SignDkimMessage *message, const char *name, const char *value,
			 gboolean leading_space, GError **error)
{
	GString *line = message->line;
	char last = '\0';

	g_string_assign(line, name);
	g_string_append_c(line, ':');
	if (!leading_space)
		g_string_append_c(line, ' ');
	/* folding comes as LF from both MTAs; the message on the wire has CRLF */
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\n' && last != '\r')
			g_string_append_c(line, '\r');
		g_string_append_c(line, *p);
		last = *p;
	}
	for (guint i = 0; i < message->handles->len; i++) {
		DKIM *handle = ((SignHandle *)g_ptr_array_index(message->handles, i))->dkim;
		DKIM_STAT status = dkim_header(handle, (unsigned char *)line->str, line->len);

		if (status != DKIM_STAT_OK) {
			set_library_error(error, handle, status, "dkim_header()");
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
sign_dkim_message_eoh(SignDkimMessage *message, GError **error)
{
	for (guint i = 0; i < message->handles->len; i++) {
		DKIM *handle = ((SignHandle *)g_ptr_array_index(message->handles, i))->dkim;
		DKIM_STAT status = dkim_eoh(handle);

		if (status != DKIM_STAT_OK) {
			set_library_error(error, handle, status, "dkim_eoh()");
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
sign_dkim_message_body(SignDkimMessage *message, const guchar *chunk, gsize len, GError **error)
{
	if (len == 0)
		return TRUE;
	for (guint i = 0; i < message->handles->len; i++) {
		DKIM *handle = ((SignHandle *)g_ptr_array_index(message->handles, i))->dkim;
		DKIM_STAT status = dkim_body(handle, (unsigned char *)chunk, len);

		if (status != DKIM_STAT_OK) {
			set_library_error(error, handle, status, "dkim_body()");
			return FALSE;
		}
	}
	return TRUE;
}

/* the header value as the milter protocol wants it: LF line ends */
static char *
strip_cr(const unsigned char *text, size_t len)
{
	GString *out = g_string_sized_new(len);

	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\r')
			g_string_append_c(out, (char)text[i]);
	}
	return g_string_free(out, FALSE);
}

GPtrArray *
sign_dkim_message_finish(SignDkimMessage *message, GError **error)
{
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < message->handles->len; i++) {
		DKIM *handle = ((SignHandle *)g_ptr_array_index(message->handles, i))->dkim;
		DKIM_STAT status = dkim_eom(handle, NULL);
		unsigned char *header = NULL;
		size_t len = 0;

		if (status != DKIM_STAT_OK) {
			set_library_error(error, handle, status, "dkim_eom()");
			return NULL;
		}
		status = dkim_getsighdr_d(handle, strlen(DKIM_SIGNHEADER) + 2, &header, &len);
		if (status != DKIM_STAT_OK || header == NULL) {
			set_library_error(error, handle, status, "dkim_getsighdr_d()");
			return NULL;
		}
		g_ptr_array_add(values, strip_cr(header, len));
	}
	return g_steal_pointer(&values);
}
