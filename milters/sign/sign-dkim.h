/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-dkim: the DKIM signer (RFC 6376, RFC 8463 dual signing) on
 * OpenSSL, with keys parsed once per snapshot (sign-keys.c).
 *
 * A SignDkimLib holds what a configuration snapshot says about every
 * signature: the oversigned header names and the signature lifetime (x=).
 *
 * A SignDkimMessage is one message's signatures, one per algorithm, over
 * the same headers and the same body: the body is canonicalised and hashed
 * once as it arrives, and nothing holds it.
 *
 * Thread-safety: a SignDkimLib is immutable after sign_dkim_lib_new and
 * shared by the threads that hold its snapshot; a SignDkimMessage belongs
 * to its connection's thread.
 */
#pragma once

#include <glib.h>

#include "sign-keys.h"

G_BEGIN_DECLS

#define SIGN_DKIM_ERROR (sign_dkim_error_quark())
typedef enum {
	SIGN_DKIM_ERROR_LIBRARY,     /* OpenSSL failed */
	SIGN_DKIM_ERROR_UNSUPPORTED, /* d= or s= that cannot be written in the header */
} SignDkimError;
GQuark sign_dkim_error_quark(void);

typedef enum {
	SIGN_CANON_SIMPLE,
	SIGN_CANON_RELAXED,
} SignCanon;

typedef struct _SignDkimLib SignDkimLib;

/*
 * sign_dkim_lib_new:
 * @oversign: header names listed once more in h= than the message has them
 *   (NULL-terminated, may be empty)
 * @ttl_seconds: x= is t= plus this; 0 = no x=
 * Returns: (transfer full)
 */
SignDkimLib *sign_dkim_lib_new(const char *const *oversign, guint64 ttl_seconds);
void sign_dkim_lib_free(SignDkimLib *lib);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignDkimLib, sign_dkim_lib_free)

typedef struct _SignDkimMessage SignDkimMessage;

SignDkimMessage *sign_dkim_message_new(const SignDkimLib *lib, SignCanon header_canon,
				       SignCanon body_canon);
void sign_dkim_message_free(SignDkimMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignDkimMessage, sign_dkim_message_free)

/*
 * sign_dkim_message_add:
 * One more signature: d=domain, s=selector, the key's algorithm. Before the
 * first header. FALSE with an error for a domain or selector that is not
 * printable ASCII without blanks.
 */
gboolean sign_dkim_message_add(SignDkimMessage *message, const char *domain, const char *selector,
			       const SignKey *key, GError **error);
guint sign_dkim_message_count(const SignDkimMessage *message);

/*
 * sign_dkim_message_header:
 * One header to sign, in message order, as the MTA passed it: value after
 * the colon with its leading blanks when leading_space (SMFIP_HDR_LEADSPC),
 * else without (one space is put back, as both MTAs write it); folding
 * with LF or CRLF.
 */
gboolean sign_dkim_message_header(SignDkimMessage *message, const char *name, const char *value,
				  gboolean leading_space, GError **error);
/* after the last header */
gboolean sign_dkim_message_eoh(SignDkimMessage *message, GError **error);
/* a body chunk, CRLF lines as the milter protocol carries them */
gboolean sign_dkim_message_body(SignDkimMessage *message, const guchar *chunk, gsize len,
				GError **error);

/*
 * sign_dkim_message_finish:
 * Ends the body and signs. Returns: (transfer full) the DKIM-Signature
 * values in the order the signatures were added, folded with "\n\t" (as a
 * header edit takes them), without the leading blank; NULL with an error.
 */
GPtrArray *sign_dkim_message_finish(SignDkimMessage *message, GError **error);

G_END_DECLS
