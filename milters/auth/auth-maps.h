/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth-maps: who owns which sender address. Two sources:
 *
 *  - sender_login_maps: a file in Postfix's smtpd_sender_login_maps flat
 *    syntax (the source text of a hash:, lmdb:, btree:, cdb: or texthash:
 *    table), loaded into an immutable, reference-counted AuthMap;
 *  - [auth] senders, per domain in domains.d: "KEY = LOGIN, LOGIN; KEY = ..."
 *    read in place from the config string (no allocation per lookup).
 *
 * File syntax, as postmap(1) reads it: "KEY OWNER[, OWNER...]", one logical
 * line per key; blank lines and lines whose first non-blank is '#' are
 * skipped; a line that starts with a blank continues the previous one.
 * Owners are separated by commas and/or blanks. KEY is "user@domain",
 * "@domain" (any address in that domain) or a bare "user" (that local part
 * in any local domain, as Postfix matches it in $mydestination). Keys are
 * case-insensitive, beyond ASCII too: they are stored, and owners compared,
 * in pc-addr's caseless forms (local parts, bare keys and owners by full
 * case folding, domains by lowercase mapping; see pc-addr.h), so the file
 * must be UTF-8 outside comments.
 *
 * Quirks postmap accepts: a key listed again with the same owners is kept
 * once with a warning (auth_map_get_warnings), as postmap warns and keeps
 * the first. Where the line is ambiguous it is an error naming the file and
 * line (both lines for a duplicate): a key listed again with other owners
 * (postmap keeps the first list and warns, texthash refuses the table), a key without owners
 * (postmap skips it, so the address would fall to a later key), and keys Postfix stores but never
 * looks up ("@" alone, "user@", "key:", quotes or backslashes not around a
 * whole local part), an unclosed quote, a line that is not UTF-8, a NUL.
 *
 * A map is loaded by the [auth] schema's build hook when a configuration
 * snapshot is built and belongs to that snapshot (AuthConfig.map): a
 * message sees the map of the configuration it pinned at MAIL.
 *
 * Thread-safety: an AuthMap is immutable after load and may be read from any
 * thread holding a reference.
 */
#pragma once

#include <glib.h>

#include "pc-lookup.h"

G_BEGIN_DECLS

#define AUTH_MAPS_ERROR (auth_maps_error_quark())
typedef enum {
	AUTH_MAPS_ERROR_IO,	 /* the file cannot be read */
	AUTH_MAPS_ERROR_SYNTAX,	 /* a line or entry does not parse */
	AUTH_MAPS_ERROR_TYPE,	 /* a table type other than a flat file */
	AUTH_MAPS_ERROR_TOO_BIG, /* over AUTH_MAPS_MAX_BYTES */
} AuthMapsError;
GQuark auth_maps_error_quark(void);

#define AUTH_MAPS_MAX_BYTES (64 * 1024 * 1024)

typedef struct _AuthMap AuthMap;

/*
 * auth_map_parse:
 * @name: the file name, for error messages
 * Returns: (transfer full) the map, or NULL with error "NAME:LINE: ...".
 */
AuthMap *auth_map_parse(const char *name, const char *text, gsize len, GError **error);

/*
 * auth_map_load:
 * @spec: "/path", or "TYPE:/path" with TYPE one of hash lmdb btree cdb
 *   texthash (the source text file of that table is read); the path must be
 *   absolute
 * Returns: (transfer full) the map, or NULL with AUTH_MAPS_ERROR naming the file.
 */
AuthMap *auth_map_load(const char *spec, GError **error);

AuthMap *auth_map_ref(AuthMap *map);
void auth_map_unref(AuthMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuthMap, auth_map_unref)

/* number of keys */
guint auth_map_size(const AuthMap *map);

/*
 * auth_map_get_warnings:
 * What the parse accepted but the admin should see ("NAME:LINE: ...", for
 * now a key repeated with the same owners). Returns: (transfer none) a
 * NULL-terminated list, empty when there is nothing, valid while the caller
 * holds its reference.
 */
const char *const *auth_map_get_warnings(const AuthMap *map);

/*
 * auth_map_lookup:
 * @key: in its caseless form ("alice@example.com", "@example.com" or
 *   "alice"; pc_addr_fold_local for the local part, pc_addr_fold_domain for
 *   the domain)
 * Returns: (transfer none) the owners, NULL-terminated, valid while the
 * caller holds its reference; NULL when the key is absent.
 */
const char *const *auth_map_lookup(const AuthMap *map, const char *key);
/* the line of the map file that lists key (its first line, for a continued one); 0: absent */
guint auth_map_lookup_line(const AuthMap *map, const char *key);

/*
 * auth_senders_validate:
 * Checks an [auth] senders value: entries "KEY = OWNER[, OWNER...]"
 * separated by ';', KEY "user@domain" or "@domain", at least one owner,
 * no key twice (in caseless forms), valid UTF-8. NULL or "" is valid (no
 * entries).
 */
gboolean auth_senders_validate(const char *senders, GError **error);

/*
 * auth_senders_lookup:
 * @senders: a value auth_senders_validate() accepted, or NULL
 * @key: in its caseless form, as for auth_map_lookup
 * Returns: TRUE when senders has an entry for key, with *owned_out telling
 * whether login is one of its owners (auth_owners_contain); FALSE otherwise.
 */
gboolean auth_senders_lookup(const char *senders, const char *key, const char *login,
			     gboolean *owned_out);

/*
 * TRUE when login is one of owners, compared in their caseless forms
 * (pc_addr_fold_local: Postfix's strcasecmp_utf8 plus NFC); a login that is
 * not valid UTF-8 matches none
 */
gboolean auth_owners_contain(const char *const *owners, const char *login);

G_END_DECLS
