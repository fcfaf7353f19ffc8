/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-dkim: DKIM signing (RFC 6376, RFC 8463), see sign-dkim.h.
 *
 * Our own signer, not libopendkim's (docs/DESIGN.md, "Sign daemon", says
 * why: libopendkim parses the private key again for every signature, and
 * with OpenSSL 3 that parse, its decoder locks and the RSA blinding set-up
 * for a fresh key cost more than the signature itself). The parts:
 *
 *  - the body is canonicalised once as it streams (simple or relaxed,
 *    RFC 6376 3.4.3 and 3.4.4) and hashed once with SHA-256: both
 *    signatures of a dual-signed message have the same bh=;
 *  - the headers to sign arrive in message order (the caller's matcher
 *    chose them, every instance of each name); h= lists them in that order
 *    and then each oversigned name once more; each h= entry is hashed as a
 *    verifier reads it (RFC 6376 5.4.2: the instances of a name from the
 *    bottom up; an entry with no instance left contributes nothing);
 *  - the DKIM-Signature header is built folded with LF as the milter
 *    protocol inserts it, and hashed (canonicalised, CRLF folding, b=
 *    empty, RFC 6376 3.7) exactly as it will be delivered;
 *  - RSA: EVP_DigestSign with SHA-256 (RSASSA-PKCS1-v1_5); Ed25519: the
 *    SHA-256 hash of the same data signed with PureEdDSA (RFC 8463 3).
 *    The key is the EVP_PKEY parsed once when the snapshot was loaded
 *    (sign-keys.c).
 */
#include "sign-dkim.h"

#include <openssl/evp.h>
#include <string.h>
#include <time.h>

G_DEFINE_QUARK(sign - dkim - error - quark, sign_dkim_error)

/* where the signature header is folded (RFC 5322 2.1.1 recommends 78) */
#define SIGN_DKIM_LINE 78
#define SIGN_DKIM_B_CHUNK 72
#define SIGN_DKIM_HEADER_NAME "DKIM-Signature"

struct _SignDkimLib {
	char **oversign;
	guint64 ttl_seconds;
};

typedef struct {
	char *domain;
	char *selector;
	SignKey *key;
} SignDkimSignature;

typedef struct {
	char *name;	 /* as in the message */
	GString *simple; /* "Name: value\r\n" as on the wire */
	gboolean used;	 /* taken by an h= entry */
} SignDkimHeader;

struct _SignDkimMessage {
	const SignDkimLib *lib;
	SignCanon header_canon;
	SignCanon body_canon;
	GPtrArray *signatures; /* SignDkimSignature * */
	GPtrArray *headers;    /* SignDkimHeader *, message order */
	EVP_MD_CTX *body_hash;
	/* the body canonicaliser's state between chunks */
	guint64 held_crlf;	  /* empty lines held back: dropped if the body ends here */
	gboolean held_blank;	  /* relaxed: a run of blanks held back in the line */
	gboolean held_cr;	  /* a CR ended the last chunk */
	gboolean line_has_text;	  /* the current line has had a byte that counts */
	gboolean body_has_output; /* something was hashed */
	GString *scratch;
};

SignDkimLib *
sign_dkim_lib_new(const char *const *oversign, guint64 ttl_seconds)
{
	SignDkimLib *lib = g_new0(SignDkimLib, 1);

	lib->oversign = g_strdupv((char **)oversign);
	if (lib->oversign == NULL)
		lib->oversign = g_new0(char *, 1);
	lib->ttl_seconds = ttl_seconds;
	return lib;
}

void
sign_dkim_lib_free(SignDkimLib *lib)
{
	if (lib == NULL)
		return;
	g_strfreev(lib->oversign);
	g_free(lib);
}

static void
signature_free(gpointer data)
{
	SignDkimSignature *signature = data;

	g_free(signature->domain);
	g_free(signature->selector);
	sign_key_unref(signature->key);
	g_free(signature);
}

static void
header_free(gpointer data)
{
	SignDkimHeader *header = data;

	g_free(header->name);
	g_string_free(header->simple, TRUE);
	g_free(header);
}

SignDkimMessage *
sign_dkim_message_new(const SignDkimLib *lib, SignCanon header_canon, SignCanon body_canon)
{
	SignDkimMessage *message;

	g_return_val_if_fail(lib != NULL, NULL);
	message = g_new0(SignDkimMessage, 1);
	message->lib = lib;
	message->header_canon = header_canon;
	message->body_canon = body_canon;
	message->signatures = g_ptr_array_new_with_free_func(signature_free);
	message->headers = g_ptr_array_new_with_free_func(header_free);
	message->scratch = g_string_sized_new(8192);
	return message;
}

void
sign_dkim_message_free(SignDkimMessage *message)
{
	if (message == NULL)
		return;
	g_ptr_array_unref(message->signatures);
	g_ptr_array_unref(message->headers);
	EVP_MD_CTX_free(message->body_hash);
	g_string_free(message->scratch, TRUE);
	g_free(message);
}

/* printable ASCII without blanks or ';': what d= and s= may hold here */
static gboolean
tag_value_ok(const char *text)
{
	if (*text == '\0')
		return FALSE;
	for (; *text != '\0'; text++) {
		if ((guchar)*text <= ' ' || (guchar)*text >= 0x7f || *text == ';')
			return FALSE;
	}
	return TRUE;
}

gboolean
sign_dkim_message_add(SignDkimMessage *message, const char *domain, const char *selector,
		      const SignKey *key, GError **error)
{
	SignDkimSignature *signature;

	g_return_val_if_fail(message != NULL && domain != NULL && selector != NULL && key != NULL,
			     FALSE);
	if (!tag_value_ok(domain) || !tag_value_ok(selector)) {
		g_set_error(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_UNSUPPORTED,
			    "d=%s s=%s: not printable ASCII without blanks", domain, selector);
		return FALSE;
	}
	if (sign_key_get_pkey(key) == NULL) {
		g_set_error(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY, "%s: no key loaded",
			    sign_key_get_path(key));
		return FALSE;
	}
	signature = g_new0(SignDkimSignature, 1);
	signature->domain = g_strdup(domain);
	signature->selector = g_strdup(selector);
	signature->key = sign_key_ref((SignKey *)key);
	g_ptr_array_add(message->signatures, signature);
	return TRUE;
}

guint
sign_dkim_message_count(const SignDkimMessage *message)
{
	return message->signatures->len;
}

gboolean
sign_dkim_message_header(SignDkimMessage *message, const char *name, const char *value,
			 gboolean leading_space, GError **error)
{
	SignDkimHeader *header = g_new0(SignDkimHeader, 1);
	char last = '\0';

	header->name = g_strdup(name);
	header->simple = g_string_new(name);
	g_string_append_c(header->simple, ':');
	if (!leading_space)
		g_string_append_c(header->simple, ' ');
	/* folding comes as LF from both MTAs; the message on the wire has CRLF */
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\n' && last != '\r')
			g_string_append_c(header->simple, '\r');
		g_string_append_c(header->simple, *p);
		last = *p;
	}
	g_string_append(header->simple, "\r\n");
	g_ptr_array_add(message->headers, header);
	return TRUE;
}

gboolean
sign_dkim_message_eoh(SignDkimMessage *message, GError **error)
{
	message->body_hash = EVP_MD_CTX_new();
	if (message->body_hash == NULL ||
	    EVP_DigestInit_ex(message->body_hash, EVP_sha256(), NULL) != 1) {
		g_set_error_literal(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY,
				    "OpenSSL: SHA-256 unavailable");
		return FALSE;
	}
	return TRUE;
}

/* ------------------------------------------------------------------ body */

static gboolean
is_blank(guchar c)
{
	return c == ' ' || c == '\t';
}

/*
 * the held empty lines, before text: a long run goes straight into the hash
 * in blocks (after what out holds), so that a body of millions of empty
 * lines never makes out as big
 */
#define CRLF_8 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
#define CRLF_64 CRLF_8 CRLF_8 CRLF_8 CRLF_8 CRLF_8 CRLF_8 CRLF_8 CRLF_8
#define CRLF_512 CRLF_64 CRLF_64 CRLF_64 CRLF_64 CRLF_64 CRLF_64 CRLF_64 CRLF_64
/* 512 empty lines, for runs of them */
static const char crlf_block[] = CRLF_512;
#define CRLF_BLOCK_LINES ((sizeof crlf_block - 1) / 2)

static void
body_release_crlf(SignDkimMessage *message, GString *out)
{
	if (message->held_crlf > 64) {
		if (out->len > 0) {
			message->body_has_output = TRUE;
			EVP_DigestUpdate(message->body_hash, out->str, out->len);
			g_string_truncate(out, 0);
		}
		while (message->held_crlf > 64) {
			guint64 lines = MIN(message->held_crlf, CRLF_BLOCK_LINES);

			message->body_has_output = TRUE;
			EVP_DigestUpdate(message->body_hash, crlf_block, (size_t)lines * 2);
			message->held_crlf -= lines;
		}
	}
	for (; message->held_crlf > 0; message->held_crlf--)
		g_string_append(out, "\r\n");
}

/* a byte that counts as text of the line: held empty lines and blanks go out first */
static void
body_text(SignDkimMessage *message, GString *out, guchar c)
{
	if (message->held_crlf > 0)
		body_release_crlf(message, out);
	if (message->held_blank) {
		g_string_append_c(out, ' ');
		message->held_blank = FALSE;
	}
	g_string_append_c(out, (char)c);
	message->line_has_text = TRUE;
}

/* the end of a line: an empty one is held back (RFC 6376 3.4.3, 3.4.4: trailing empty lines go) */
static void
body_line_end(SignDkimMessage *message, GString *out)
{
	/* relaxed: blanks at the end of a line go */
	message->held_blank = FALSE;
	if (message->line_has_text)
		g_string_append(out, "\r\n");
	else
		message->held_crlf++;
	message->line_has_text = FALSE;
}

/* one byte of the body, not CR */
static void
body_byte(SignDkimMessage *message, GString *out, guchar c)
{
	if (c == '\n') {
		/* a bare LF is a line end, as the MTA would write it (CRLF) */
		body_line_end(message, out);
		return;
	}
	if (message->body_canon == SIGN_CANON_RELAXED && is_blank(c)) {
		/* a run of blanks is one space, written when more text follows */
		message->held_blank = TRUE;
		return;
	}
	body_text(message, out, c);
}

static void
body_feed(SignDkimMessage *message, const guchar *chunk, gsize len, GString *out)
{
	for (gsize i = 0; i < len; i++) {
		guchar c = chunk[i];

		if (message->held_cr) {
			message->held_cr = FALSE;
			if (c == '\n') {
				body_line_end(message, out);
				continue;
			}
			/* a CR on its own is text */
			body_text(message, out, '\r');
		}
		if (c == '\r') {
			message->held_cr = TRUE;
			continue;
		}
		body_byte(message, out, c);
	}
}

static gboolean
body_hash_update(SignDkimMessage *message, GString *out, GError **error)
{
	if (out->len == 0)
		return TRUE;
	message->body_has_output = TRUE;
	if (EVP_DigestUpdate(message->body_hash, out->str, out->len) != 1) {
		g_set_error_literal(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY,
				    "OpenSSL: body hash failed");
		return FALSE;
	}
	g_string_truncate(out, 0);
	return TRUE;
}

gboolean
sign_dkim_message_body(SignDkimMessage *message, const guchar *chunk, gsize len, GError **error)
{
	g_return_val_if_fail(message->body_hash != NULL, FALSE);
	g_string_truncate(message->scratch, 0);
	body_feed(message, chunk, len, message->scratch);
	return body_hash_update(message, message->scratch, error);
}

/* the end of the body: bh= (base64 of the SHA-256), or NULL */
static char *
body_finish(SignDkimMessage *message, GError **error)
{
	guchar digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	g_string_truncate(message->scratch, 0);
	if (message->held_cr) {
		message->held_cr = FALSE;
		body_text(message, message->scratch, '\r');
	}
	/* a last line without its CRLF gets one (RFC 6376 3.4.3, 3.4.4) */
	if (message->line_has_text)
		body_line_end(message, message->scratch);
	if (!body_hash_update(message, message->scratch, error))
		return NULL;
	/* simple: an empty body is one CRLF; relaxed: it stays empty */
	if (message->body_canon == SIGN_CANON_SIMPLE && !message->body_has_output &&
	    EVP_DigestUpdate(message->body_hash, "\r\n", 2) != 1)
		return NULL;
	if (EVP_DigestFinal_ex(message->body_hash, digest, &digest_len) != 1) {
		g_set_error_literal(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY,
				    "OpenSSL: body hash failed");
		return NULL;
	}
	return g_base64_encode(digest, digest_len);
}

/* --------------------------------------------------------------- headers */

/*
 * relaxed header canonicalisation (RFC 6376 3.4.2) of "name:value" where
 * value may be folded (CRLF or LF): name lower-cased, folding removed, each
 * run of blanks one space, none at the ends of the value
 */
static void
header_relaxed(GString *out, const char *name, gsize name_len, const char *value, gsize len)
{
	gboolean blank = FALSE;
	gboolean started = FALSE;

	for (gsize i = 0; i < name_len; i++)
		g_string_append_c(out, g_ascii_tolower(name[i]));
	g_string_append_c(out, ':');
	for (gsize i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == ' ' || c == '\t') {
			blank = TRUE;
			continue;
		}
		if (blank && started)
			g_string_append_c(out, ' ');
		blank = FALSE;
		started = TRUE;
		g_string_append_c(out, c);
	}
	g_string_append(out, "\r\n");
}

/* one message header, canonicalised, into the data to sign */
static void
header_canonical(const SignDkimMessage *message, const SignDkimHeader *header, GString *out)
{
	gsize name_len = strlen(header->name);

	if (message->header_canon == SIGN_CANON_SIMPLE) {
		g_string_append_len(out, header->simple->str, (gssize)header->simple->len);
		return;
	}
	/* the value: after the colon, without the CRLF that ends the header */
	header_relaxed(out, header->name, name_len, header->simple->str + name_len + 1,
		       header->simple->len - name_len - 1 - 2);
}

/* the bottom-most instance of name not yet taken, or NULL (RFC 6376 5.4.2) */
static SignDkimHeader *
header_take(SignDkimMessage *message, const char *name)
{
	for (guint i = message->headers->len; i > 0; i--) {
		SignDkimHeader *header = g_ptr_array_index(message->headers, i - 1);

		if (!header->used && g_ascii_strcasecmp(header->name, name) == 0) {
			header->used = TRUE;
			return header;
		}
	}
	return NULL;
}

/*
 * The h= names (message order, then each oversigned name once more) into
 * names_out, and the headers they sign, canonicalised, into data.
 */
static void
headers_sign(SignDkimMessage *message, GPtrArray *names_out, GString *data)
{
	for (guint i = 0; i < message->headers->len; i++)
		g_ptr_array_add(names_out,
				((SignDkimHeader *)g_ptr_array_index(message->headers, i))->name);
	for (char **name = message->lib->oversign; *name != NULL; name++)
		g_ptr_array_add(names_out, *name);
	for (guint i = 0; i < message->headers->len; i++)
		((SignDkimHeader *)g_ptr_array_index(message->headers, i))->used = FALSE;
	for (guint i = 0; i < names_out->len; i++) {
		SignDkimHeader *header = header_take(message, g_ptr_array_index(names_out, i));

		if (header != NULL)
			header_canonical(message, header, data);
	}
}

/* --------------------------------------------------------- the signature */

/* the header value folded so far: column counts from the start of its line */
typedef struct {
	GString *text;
	gsize column;
} Folded;

static void
folded_add(Folded *folded, const char *piece, gboolean space_before)
{
	gsize len = strlen(piece) + (space_before ? 1 : 0);

	if (folded->column > 1 && folded->column + len > SIGN_DKIM_LINE) {
		g_string_append(folded->text, "\n\t");
		folded->column = 8;
	} else if (space_before) {
		g_string_append_c(folded->text, ' ');
		folded->column++;
	}
	g_string_append(folded->text, piece);
	folded->column += strlen(piece);
}

/* "v=1; ... bh=...; b=" folded, for one signature */
static char *
signature_prefix(const SignDkimMessage *message, const SignDkimSignature *signature,
		 GPtrArray *names, const char *body_hash, gint64 now)
{
	Folded folded = {g_string_new(NULL), strlen(SIGN_DKIM_HEADER_NAME ": ")};
	g_autofree char *tag = NULL;
	const char *canon[] = {[SIGN_CANON_SIMPLE] = "simple", [SIGN_CANON_RELAXED] = "relaxed"};
	gboolean ed25519 = sign_key_get_algorithm(signature->key) == SIGN_ALG_ED25519_SHA256;

	folded_add(&folded, "v=1;", FALSE);
	folded_add(&folded, ed25519 ? "a=ed25519-sha256;" : "a=rsa-sha256;", TRUE);
	tag = g_strdup_printf("c=%s/%s;", canon[message->header_canon], canon[message->body_canon]);
	folded_add(&folded, tag, TRUE);
	g_free(tag);
	tag = g_strdup_printf("d=%s;", signature->domain);
	folded_add(&folded, tag, TRUE);
	g_free(tag);
	tag = g_strdup_printf("s=%s;", signature->selector);
	folded_add(&folded, tag, TRUE);
	g_free(tag);
	tag = g_strdup_printf("t=%" G_GINT64_FORMAT ";", now);
	folded_add(&folded, tag, TRUE);
	g_free(tag);
	if (message->lib->ttl_seconds > 0) {
		tag = g_strdup_printf("x=%" G_GUINT64_FORMAT ";",
				      (guint64)now + message->lib->ttl_seconds);
		folded_add(&folded, tag, TRUE);
		g_free(tag);
	}
	/* h=: folded between names (FWS is allowed around each ':') */
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index(names, i);
		gboolean last = i + 1 == names->len;

		tag = g_strdup_printf("%s%s%s", i == 0 ? "h=" : "", name, last ? ";" : ":");
		folded_add(&folded, tag, i == 0);
		g_free(tag);
	}
	tag = g_strdup_printf("bh=%s;", body_hash);
	folded_add(&folded, tag, TRUE);
	/* b= starts a line: its value is folded there (sign_dkim_message_finish) */
	g_string_append(folded.text, "\n\tb=");
	return g_string_free(folded.text, FALSE);
}

/* the signature over data (the headers, then our header with b= empty); base64 */
static char *
signature_compute(const SignDkimSignature *signature, const GString *data, GError **error)
{
	EVP_PKEY *pkey = sign_key_get_pkey(signature->key);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	gboolean ed25519 = sign_key_get_algorithm(signature->key) == SIGN_ALG_ED25519_SHA256;
	guchar digest[32];
	guchar *out = NULL;
	size_t out_len = 0;
	char *b64 = NULL;
	gboolean ok;

	if (ed25519) {
		/* RFC 8463 3: PureEdDSA over the SHA-256 hash of the data */
		unsigned int digest_len = 0;

		ok = ctx != NULL &&
		     EVP_Digest(data->str, data->len, digest, &digest_len, EVP_sha256(), NULL) ==
			 1 &&
		     EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		     EVP_DigestSign(ctx, NULL, &out_len, digest, digest_len) == 1;
		out = ok ? g_malloc(out_len) : NULL;
		ok = ok && EVP_DigestSign(ctx, out, &out_len, digest, digest_len) == 1;
	} else {
		ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		     EVP_DigestSignUpdate(ctx, data->str, data->len) == 1 &&
		     EVP_DigestSignFinal(ctx, NULL, &out_len) == 1;
		out = ok ? g_malloc(out_len) : NULL;
		ok = ok && EVP_DigestSignFinal(ctx, out, &out_len) == 1;
	}
	if (ok)
		b64 = g_base64_encode(out, out_len);
	else
		g_set_error(error, SIGN_DKIM_ERROR, SIGN_DKIM_ERROR_LIBRARY,
			    "OpenSSL could not sign with %s", sign_key_get_path(signature->key));
	g_free(out);
	EVP_MD_CTX_free(ctx);
	return b64;
}

GPtrArray *
sign_dkim_message_finish(SignDkimMessage *message, GError **error)
{
	g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GString) headers = g_string_new(NULL);
	g_autofree char *body_hash = NULL;
	gint64 now = (gint64)time(NULL);

	g_return_val_if_fail(message->body_hash != NULL, NULL);
	body_hash = body_finish(message, error);
	if (body_hash == NULL)
		return NULL;
	headers_sign(message, names, headers);
	for (guint i = 0; i < message->signatures->len; i++) {
		const SignDkimSignature *signature = g_ptr_array_index(message->signatures, i);
		g_autofree char *prefix =
		    signature_prefix(message, signature, names, body_hash, now);
		g_autoptr(GString) data = g_string_new_len(headers->str, (gssize)headers->len);
		g_autofree char *b = NULL;
		GString *value;
		gsize b_len;

		/* our header as delivered, b= empty and no CRLF at its end (RFC 6376 3.7) */
		if (message->header_canon == SIGN_CANON_SIMPLE) {
			g_string_append(data, SIGN_DKIM_HEADER_NAME ": ");
			for (const char *p = prefix; *p != '\0'; p++) {
				if (*p == '\n')
					g_string_append_c(data, '\r');
				g_string_append_c(data, *p);
			}
		} else {
			header_relaxed(data, SIGN_DKIM_HEADER_NAME, strlen(SIGN_DKIM_HEADER_NAME),
				       prefix, strlen(prefix));
			g_string_truncate(data, data->len - 2);
		}
		b = signature_compute(signature, data, error);
		if (b == NULL)
			return NULL;
		value = g_string_new(prefix);
		b_len = strlen(b);
		for (gsize offset = 0; offset < b_len; offset += SIGN_DKIM_B_CHUNK) {
			if (offset > 0)
				g_string_append(value, "\n\t ");
			g_string_append_len(value, b + offset,
					    (gssize)MIN(SIGN_DKIM_B_CHUNK, b_len - offset));
		}
		g_ptr_array_add(values, g_string_free(value, FALSE));
	}
	return g_steal_pointer(&values);
}
