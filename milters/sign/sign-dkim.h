/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-dkim: the adapter over libopendkim's signing API, and the only file
 * of the signer that includes dkim.h (DKIM_STAT stops here).
 *
 * A SignDkimLib is one DKIM_LIB made for one configuration snapshot, as
 * OpenDKIM makes one per configuration: the oversigned header names and
 * the signature lifetime are options of the library handle, not of a
 * signing handle, so a reload that changes them gets a new library while
 * messages that pinned the old snapshot finish with the old one. Its
 * allocator zeroes every block libopendkim frees (a signing handle holds a
 * copy of the private key).
 *
 * A SignDkimMessage is one message's signing handles, one per signature
 * (algorithm), all fed the same headers and the same body chunks as they
 * arrive; nothing holds the body.
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
	SIGN_DKIM_ERROR_LIBRARY, /* libopendkim refused: its words in the message */
	SIGN_DKIM_ERROR_UNSUPPORTED,
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
 * Returns: (transfer full), or NULL with an error (Ed25519 not built into
 * libopendkim when ed25519 is TRUE).
 */
SignDkimLib *sign_dkim_lib_new(const char *const *oversign, guint64 ttl_seconds, gboolean ed25519,
			       GError **error);
void sign_dkim_lib_free(SignDkimLib *lib);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignDkimLib, sign_dkim_lib_free)

typedef struct _SignDkimMessage SignDkimMessage;

/* job_id names the message in libopendkim's own errors (the queue id) */
SignDkimMessage *sign_dkim_message_new(const SignDkimLib *lib, const char *job_id,
				       SignCanon header_canon, SignCanon body_canon);
void sign_dkim_message_free(SignDkimMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SignDkimMessage, sign_dkim_message_free)

/*
 * sign_dkim_message_add:
 * One more signature: d=domain, s=selector, the key's algorithm. Before the
 * first header. FALSE with an error when libopendkim refuses (a domain or
 * selector that is not printable ASCII, a key it cannot read).
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
