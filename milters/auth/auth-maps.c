/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth-maps: the sender_login_maps file and the per-domain senders value.
 * Keys are stored, and owners compared, in the caseless forms of pc-addr.
 */
#include "auth-maps.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pc-addr.h"

G_DEFINE_QUARK(auth - maps - error - quark, auth_maps_error)

typedef struct {
	char **owners;
	guint line;
} MapEntry;

struct _AuthMap {
	GHashTable *entries; /* key in its caseless form -> MapEntry */
	char **warnings;     /* "NAME:LINE: ..." the parse accepted; never NULL */
};

static void
map_entry_free(gpointer data)
{
	MapEntry *entry = data;

	g_strfreev(entry->owners);
	g_free(entry);
}

static void
map_clear(gpointer data)
{
	AuthMap *map = data;

	g_clear_pointer(&map->entries, g_hash_table_unref);
	g_clear_pointer(&map->warnings, g_strfreev);
}

AuthMap *
auth_map_ref(AuthMap *map)
{
	g_return_val_if_fail(map != NULL, NULL);
	return g_atomic_rc_box_acquire(map);
}

void
auth_map_unref(AuthMap *map)
{
	g_return_if_fail(map != NULL);
	g_atomic_rc_box_release_full(map, map_clear);
}

guint
auth_map_size(const AuthMap *map)
{
	g_return_val_if_fail(map != NULL, 0);
	return g_hash_table_size(map->entries);
}

const char *const *
auth_map_get_warnings(const AuthMap *map)
{
	g_return_val_if_fail(map != NULL, NULL);
	return (const char *const *)map->warnings;
}

const char *const *
auth_map_lookup(const AuthMap *map, const char *key)
{
	const MapEntry *entry;

	g_return_val_if_fail(map != NULL, NULL);
	g_return_val_if_fail(key != NULL, NULL);
	entry = g_hash_table_lookup(map->entries, key);
	return entry != NULL ? (const char *const *)entry->owners : NULL;
}

guint
auth_map_lookup_line(const AuthMap *map, const char *key)
{
	const MapEntry *entry;

	g_return_val_if_fail(map != NULL && key != NULL, 0);
	entry = g_hash_table_lookup(map->entries, key);
	return entry != NULL ? entry->line : 0;
}

/*
 * both sides in their caseless form (pc_addr_fold_local): a login that is
 * not valid UTF-8, or longer than the fold's bound, matches no owner, since
 * owners are checked for valid UTF-8 when the map or the value is read
 */
gboolean
auth_owners_contain(const char *const *owners, const char *login)
{
	g_autofree char *folded = NULL;

	if (owners == NULL || login == NULL)
		return FALSE;
	folded = pc_addr_fold_local(login, strlen(login));
	if (folded == NULL)
		return FALSE;
	for (gsize i = 0; owners[i] != NULL; i++) {
		g_autofree char *owner = pc_addr_fold_local(owners[i], strlen(owners[i]));

		if (owner != NULL && strcmp(owner, folded) == 0)
			return TRUE;
	}
	return FALSE;
}

/*
 * --- keys and owner lists ---
 */

/*
 * the lookup form of "local@domain": the local part and the domain in
 * their caseless forms (pc-addr), the domain normalised first; NULL when
 * the domain is not one or a part has no caseless form
 */
static char *
fold_address(const char *local, gsize local_len, const char *domain, gsize domain_len)
{
	g_autofree char *normalized = pc_addr_normalize_domain(domain, domain_len);
	g_autofree char *folded_domain = NULL;
	g_autofree char *folded_local = NULL;

	if (normalized == NULL)
		return NULL;
	folded_domain = pc_addr_fold_domain(normalized, strlen(normalized));
	folded_local = pc_addr_fold_local(local, local_len);
	if (folded_domain == NULL || folded_local == NULL)
		return NULL;
	return g_strconcat(folded_local, "@", folded_domain, NULL);
}

/*
 * the lookup form of a key: "@domain" and "user@domain" through
 * fold_address(); a bare "user" (its caseless form) when allow_bare.
 * NULL when it is none of those.
 */
static char *
normalize_key(const char *key, gsize len, gboolean allow_bare)
{
	const char *at;

	if (key == NULL || len == 0 || memchr(key, '\0', len) != NULL)
		return NULL;
	at = memrchr(key, '@', len);
	for (gsize i = 0; i < len; i++) {
		if ((guchar)key[i] <= ' ' || key[i] == 0x7f)
			return NULL;
	}
	if (at == NULL)
		return allow_bare ? pc_addr_fold_local(key, len) : NULL;
	return fold_address(key, (gsize)(at - key), at + 1, len - (gsize)(at - key) - 1);
}

/*
 * TRUE when a local part must be quoted to be written: it is not a
 * dot-atom (atext, 8-bit octets included, between single dots). Postfix
 * writes an address in this form (quoted only when it must be) before it
 * looks it up, so a key quoted without need never matches.
 */
static gboolean
local_needs_quotes(const char *local, gsize len)
{
	gboolean after_dot = TRUE;

	for (gsize i = 0; i < len; i++) {
		guchar octet = (guchar)local[i];

		if (octet == '.') {
			if (after_dot)
				return TRUE;
			after_dot = TRUE;
		} else if (octet >= 0x80 || g_ascii_isalnum(octet) ||
			   strchr("!#$%&'*+-/=?^_`{|}~", octet) != NULL) {
			after_dot = FALSE;
		} else {
			return TRUE;
		}
	}
	return after_dot;
}

/*
 * a key with a quoted local part, "john doe"@example.com or a bare
 * "john doe" (all len octets of it): the lookup form is the local part as
 * the sender's address gives it (unquoted, quoted pairs resolved), with
 * "@" and the domain when one follows, folded as any key. NULL when
 * something else follows the closing quote, the local part is empty or
 * holds a control byte. *needless_out is set when the local part did not
 * need its quotes: Postfix never matches such a key.
 */
static char *
normalize_quoted_key(const char *text, gsize len, gboolean *needless_out)
{
	g_autoptr(GString) local = g_string_new(NULL);
	gsize i = 1;

	for (; i < len && text[i] != '"'; i++) {
		if (text[i] == '\\' && i + 1 < len)
			i++;
		if ((guchar)text[i] < ' ' || text[i] == 0x7f)
			return NULL;
		g_string_append_c(local, text[i]);
	}
	if (i >= len || local->len == 0)
		return NULL;
	*needless_out = !local_needs_quotes(local->str, local->len);
	if (i + 1 == len)
		return pc_addr_fold_local(local->str, local->len);
	if (text[i + 1] != '@')
		return NULL;
	return fold_address(local->str, local->len, text + i + 2, len - i - 2);
}

/* owners separated by commas and/or blanks, as Postfix splits them (CHARS_COMMA_SP) */
static char **
split_owners(const char *text, gsize len)
{
	g_autoptr(GPtrArray) owners = g_ptr_array_new_with_free_func(g_free);
	gsize i = 0;

	while (i < len) {
		gsize start;

		while (i < len && strchr(", \t\r\n", text[i]) != NULL)
			i++;
		start = i;
		while (i < len && strchr(", \t\r\n", text[i]) == NULL)
			i++;
		if (i > start)
			g_ptr_array_add(owners, g_strndup(text + start, i - start));
	}
	g_ptr_array_add(owners, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&owners), FALSE);
}

/*
 * TRUE when an owner is longer than a login can be compared
 * (PC_ADDR_MAX_FOLD; the MTA's login macros stop well before): such an
 * owner could never match, so it is refused rather than kept unused
 */
static gboolean
owners_too_long(char **owners)
{
	for (gsize i = 0; owners[i] != NULL; i++) {
		if (strlen(owners[i]) > PC_ADDR_MAX_FOLD)
			return TRUE;
	}
	return FALSE;
}

/*
 * --- the file ---
 */

/* what one parse of a file builds */
typedef struct {
	const char *name;
	GHashTable *entries;
	GPtrArray *warnings; /* char *, "NAME:LINE: ..." */
} MapParse;

/*
 * where the key of a logical line ends, as postmap splits "KEY VALUE": at
 * the first blank outside double quotes, a backslash protecting the octet
 * after it. FALSE when a quote is left open (postmap skips such a line).
 */
static gboolean
key_end(const char *text, gsize len, gsize *end_out)
{
	gboolean quoted = FALSE;
	gsize i = 0;

	for (; i < len; i++) {
		if (text[i] == '\\') {
			i++;
			continue;
		}
		if (text[i] == '"')
			quoted = !quoted;
		else if (!quoted && g_ascii_isspace(text[i]))
			break;
	}
	if (quoted)
		return FALSE;
	*end_out = MIN(i, len);
	return TRUE;
}

/*
 * why an unquoted key is refused, for the forms Postfix stores but never
 * looks up (so the line does nothing there, and what it was meant to do is
 * a guess); NULL when none of them applies
 */
static const char *
key_quirk(const char *key, gsize len)
{
	const char *at = memrchr(key, '@', len);

	if (len == 1 && key[0] == '@')
		return "'@' alone is no key: Postfix never looks it up (write @domain for "
		       "every address of a domain)";
	if (key[len - 1] == '@')
		return "a key ending in '@' is never looked up (Postfix tries user@domain, "
		       "user and @domain)";
	if (key[len - 1] == ':')
		return "a key ending in ':' is never looked up (an aliases(5) line? write "
		       "KEY OWNER, OWNER)";
	if (memchr(key, '"', len) != NULL || memchr(key, '\\', len) != NULL)
		return "quotes and backslashes belong around a whole local part: "
		       "\"local part\"@domain";
	if ((at != NULL ? (gsize)(at - key) : len) > PC_ADDR_MAX_FOLD)
		return "the local part of the key is longer than 1024 octets";
	return NULL;
}

/*
 * the key's lookup form into *key_out, or FALSE with an error naming the
 * line; TRUE with *key_out NULL when the key can never match (a warning
 * says so)
 */
static gboolean
parse_key(const MapParse *parse, guint line, const char *text, gsize len, char **key_out,
	  GError **error)
{
	const char *quirk = NULL;
	char *key = NULL;

	*key_out = NULL;
	if (text[0] == '"') {
		gboolean needless = FALSE;

		/* a quoted local part (Postfix 3.2+): blanks inside the quotes belong to the key */
		key = normalize_quoted_key(text, len, &needless);
		if (key == NULL) {
			g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
				    "%s:%u: the quoted key is not \"local part\"@domain or "
				    "\"local part\"",
				    parse->name, line);
			return FALSE;
		}
		if (needless) {
			/* Postfix loads it and never matches it: so do we, and say so */
			g_ptr_array_add(parse->warnings,
					g_strdup_printf("%s:%u: the key's local part needs no "
							"quotes, and Postfix never matches a key "
							"quoted without need: the line is ignored "
							"(write it unquoted)",
							parse->name, line));
			g_free(key);
			return TRUE;
		}
		*key_out = key;
		return TRUE;
	}
	quirk = key_quirk(text, len);
	if (quirk == NULL)
		key = normalize_key(text, len, TRUE);
	if (key == NULL) {
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX, "%s:%u: %s",
			    parse->name, line,
			    quirk != NULL ? quirk : "the key is not user@domain, @domain or user");
		return FALSE;
	}
	*key_out = key;
	return TRUE;
}

/* the same owners, in any order, compared in their caseless forms */
static gboolean
owners_same(char **a, char **b)
{
	for (gsize i = 0; a[i] != NULL; i++) {
		if (!auth_owners_contain((const char *const *)b, a[i]))
			return FALSE;
	}
	for (gsize i = 0; b[i] != NULL; i++) {
		if (!auth_owners_contain((const char *const *)a, b[i]))
			return FALSE;
	}
	return TRUE;
}

/*
 * a key listed again: with the same owners nothing is ambiguous, so it is
 * kept once and a warning names both lines (postmap warns and keeps the
 * first); with other owners the reader cannot tell which list was meant
 * (postmap keeps the first, texthash refuses the table): an error
 */
static gboolean
add_duplicate(MapParse *parse, guint line, const char *key, char **owners, const MapEntry *previous,
	      GError **error)
{
	if (!owners_same(owners, previous->owners)) {
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "%s:%u: %s is already listed at line %u with other owners (postmap "
			    "would keep line %u's and warn; write one owner list per key)",
			    parse->name, line, key, previous->line, previous->line);
		return FALSE;
	}
	g_ptr_array_add(parse->warnings,
			g_strdup_printf("%s:%u: %s repeats line %u with the same owners "
					"(kept once)",
					parse->name, line, key, previous->line));
	return TRUE;
}

static gboolean
add_entry(MapParse *parse, guint line, const char *text, gsize len, GError **error)
{
	gsize key_len = 0;
	g_autofree char *key = NULL;
	g_auto(GStrv) owners = NULL;
	MapEntry *entry;
	const MapEntry *previous;

	if (!key_end(text, len, &key_len)) {
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "%s:%u: the quoted key is not \"local part\"@domain (a quote is not "
			    "closed)",
			    parse->name, line);
		return FALSE;
	}
	if (!parse_key(parse, line, text, key_len, &key, error))
		return FALSE;
	if (key == NULL)
		return TRUE; /* a key that never matches: warned, skipped */
	owners = split_owners(text + key_len, len - key_len);
	if (owners[0] == NULL) {
		/* postmap skips the line: the address would fall to the next key */
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "%s:%u: %s has no owner (write KEY OWNER, OWNER; postmap would skip "
			    "the line, leaving the address to a later key such as @domain)",
			    parse->name, line, key);
		return FALSE;
	}
	if (owners_too_long(owners)) {
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "%s:%u: an owner of %s is longer than %d octets", parse->name, line,
			    key, PC_ADDR_MAX_FOLD);
		return FALSE;
	}
	previous = g_hash_table_lookup(parse->entries, key);
	if (previous != NULL)
		return add_duplicate(parse, line, key, owners, previous, error);
	entry = g_new0(MapEntry, 1);
	entry->owners = g_steal_pointer(&owners);
	entry->line = line;
	g_hash_table_insert(parse->entries, g_steal_pointer(&key), entry);
	return TRUE;
}

/* a NUL makes the file not text: refused, naming the line it is on */
static gboolean
check_nul(const char *name, const char *text, gsize len, GError **error)
{
	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
	guint line = 1;

	if (nul == NULL)
		return TRUE;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX, "%s:%u: NUL byte in the file",
		    name, line);
	return FALSE;
}

AuthMap *
auth_map_parse(const char *name, const char *text, gsize len, GError **error)
{
	g_autoptr(GHashTable) entries =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, map_entry_free);
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	MapParse parse = {.name = name, .entries = entries, .warnings = warnings};
	g_autoptr(GString) logical = g_string_new(NULL);
	guint logical_line = 0;
	guint line = 0;
	gsize pos = 0;
	AuthMap *map;

	g_return_val_if_fail(name != NULL, NULL);
	g_return_val_if_fail(text != NULL || len == 0, NULL);

	if (!check_nul(name, text, len, error))
		return NULL;
	/* one extra round at the end flushes the last logical line */
	for (;;) {
		const char *start = text + pos;
		gboolean at_end = pos >= len;
		const char *newline = !at_end ? memchr(start, '\n', len - pos) : NULL;
		gsize n = at_end ? 0 : (newline != NULL ? (gsize)(newline - start) : len - pos);
		gsize first = 0;

		pos += n + (newline != NULL ? 1 : 0);
		line++;
		while (first < n && g_ascii_isspace(start[first]))
			first++;
		/* blank and comment lines neither start nor end a logical line */
		if (!at_end && (first == n || start[first] == '#'))
			continue;
		/*
		 * keys and owners are compared in their caseless forms, which
		 * need UTF-8 (Postfix with smtputf8_enable skips such a line with
		 * a warning: which key or owner was meant is anybody's guess)
		 */
		if (!at_end && !g_utf8_validate_len(start, n, NULL)) {
			g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
				    "%s:%u: not valid UTF-8 (save the file as UTF-8)", name, line);
			return NULL;
		}
		if (!at_end && first > 0) {
			if (logical_line == 0) {
				g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
					    "%s:%u: a continuation line with no key before it",
					    name, line);
				return NULL;
			}
			g_string_append_c(logical, ' ');
			g_string_append_len(logical, start + first, (gssize)(n - first));
			continue;
		}
		if (logical_line != 0 &&
		    !add_entry(&parse, logical_line, logical->str, logical->len, error))
			return NULL;
		g_string_truncate(logical, 0);
		logical_line = 0;
		if (at_end)
			break;
		g_string_append_len(logical, start, (gssize)n);
		logical_line = line;
	}
	g_ptr_array_add(warnings, NULL);
	map = g_atomic_rc_box_new0(AuthMap);
	map->entries = g_steal_pointer(&entries);
	map->warnings = (char **)g_ptr_array_free(g_steal_pointer(&warnings), FALSE);
	return map;
}

/* the table types whose source is a flat text file in the postmap syntax */
static const char *const flat_types[] = {"hash", "lmdb", "btree", "cdb", "texthash", NULL};

/* the path of the source text file of spec; NULL with error */
static const char *
spec_path(const char *spec, GError **error)
{
	const char *colon = strchr(spec, ':');
	const char *path = spec;

	if (colon != NULL && spec[0] != '/') {
		g_autofree char *type = g_strndup(spec, colon - spec);

		if (!g_strv_contains(flat_types, type)) {
			g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_TYPE,
				    "table type '%s' is not supported; use a flat file (a plain "
				    "path, or hash:, lmdb:, btree:, cdb:, texthash: with the "
				    "source file's path)",
				    type);
			return NULL;
		}
		path = colon + 1;
	}
	if (path[0] != '/') {
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO,
			    "'%s' is not an absolute path", path);
		return NULL;
	}
	return path;
}

/* reads path through one descriptor: the size checked is the size read */
static char *
read_file(const char *path, gsize *len_out, GError **error)
{
	struct stat st;
	g_autofree char *text = NULL;
	gsize done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int saved = errno;

		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO, "cannot read %s: %s", path,
			    g_strerror(saved));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO,
			    "cannot read %s: not a regular file", path);
		return NULL;
	}
	if (st.st_size > AUTH_MAPS_MAX_BYTES) {
		close(fd);
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_TOO_BIG,
			    "%s is larger than %d MiB", path, AUTH_MAPS_MAX_BYTES / (1024 * 1024));
		return NULL;
	}
	text = g_malloc((gsize)st.st_size + 1);
	while (done < (gsize)st.st_size) {
		ssize_t n = read(fd, text + done, (gsize)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = errno;

			close(fd);
			g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO,
				    "cannot read %s: %s", path,
				    n == 0 ? "file shrank while reading" : g_strerror(saved));
			return NULL;
		}
		done += (gsize)n;
	}
	close(fd);
	text[done] = '\0';
	*len_out = done;
	return g_steal_pointer(&text);
}

AuthMap *
auth_map_load(const char *spec, GError **error)
{
	g_autofree char *text = NULL;
	const char *path;
	gsize len = 0;

	g_return_val_if_fail(spec != NULL, NULL);
	path = spec_path(spec, error);
	if (path == NULL)
		return NULL;
	text = read_file(path, &len, error);
	if (text == NULL)
		return NULL;
	return auth_map_parse(path, text, len, error);
}

/*
 * --- [auth] senders ---
 */

/* calls func for each "KEY = OWNERS" entry; stops when it returns FALSE */
typedef gboolean (*SendersFunc)(const char *key, gsize key_len, const char *owners,
				gsize owners_len, gpointer data);

static gboolean
senders_foreach(const char *senders, SendersFunc func, gpointer data, GError **error)
{
	const char *p = senders;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ';');
		gsize n = end != NULL ? (gsize)(end - p) : strlen(p);
		const char *equals = memchr(p, '=', n);
		const char *key = p;
		gsize key_len;

		while (n > 0 && g_ascii_isspace(*key) && key < p + n)
			key++;
		if (key < p + n) {
			if (equals == NULL) {
				g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
					    "senders: an entry without '=' (write "
					    "ADDRESS-or-@DOMAIN = LOGIN, LOGIN; ...)");
				return FALSE;
			}
			key_len = (gsize)(equals - key);
			while (key_len > 0 && g_ascii_isspace(key[key_len - 1]))
				key_len--;
			if (!func(key, key_len, equals + 1, (gsize)(p + n - equals - 1), data))
				return TRUE;
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return TRUE;
}

typedef struct {
	GHashTable *seen;
	GError *error;
} ValidateData;

static gboolean
validate_entry(const char *key, gsize key_len, const char *owners, gsize owners_len, gpointer data)
{
	ValidateData *validate = data;
	g_autofree char *normalized = normalize_key(key, key_len, FALSE);
	g_auto(GStrv) list = NULL;

	if (normalized == NULL) {
		g_set_error(&validate->error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "senders: a key is not user@domain or @domain");
		return FALSE;
	}
	list = split_owners(owners, owners_len);
	if (list[0] == NULL) {
		g_set_error(&validate->error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "senders: %s has no owner", normalized);
		return FALSE;
	}
	if (owners_too_long(list)) {
		g_set_error(&validate->error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "senders: an owner of %s is longer than %d octets", normalized,
			    PC_ADDR_MAX_FOLD);
		return FALSE;
	}
	if (!g_hash_table_add(validate->seen, g_steal_pointer(&normalized))) {
		g_set_error(&validate->error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "senders: a key is listed twice (one owner list per key)");
		return FALSE;
	}
	return TRUE;
}

gboolean
auth_senders_validate(const char *senders, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ValidateData data = {.seen = seen};

	if (senders != NULL && !g_utf8_validate(senders, -1, NULL)) {
		g_set_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX,
			    "senders: not valid UTF-8");
		return FALSE;
	}
	if (!senders_foreach(senders, validate_entry, &data, error))
		return FALSE;
	if (data.error != NULL) {
		g_propagate_error(error, data.error);
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	const char *key;
	const char *login;
	gboolean found;
	gboolean owned;
} LookupData;

static gboolean
lookup_entry(const char *key, gsize key_len, const char *owners, gsize owners_len, gpointer data)
{
	LookupData *lookup = data;
	g_autofree char *normalized = normalize_key(key, key_len, FALSE);
	g_auto(GStrv) list = NULL;

	if (g_strcmp0(normalized, lookup->key) != 0)
		return TRUE;
	list = split_owners(owners, owners_len);
	lookup->found = TRUE;
	lookup->owned = auth_owners_contain((const char *const *)list, lookup->login);
	return FALSE;
}

gboolean
auth_senders_lookup(const char *senders, const char *key, const char *login, gboolean *owned_out)
{
	LookupData data = {.key = key, .login = login};

	g_return_val_if_fail(key != NULL, FALSE);
	g_return_val_if_fail(owned_out != NULL, FALSE);
	if (senders == NULL || !senders_foreach(senders, lookup_entry, &data, NULL) || !data.found)
		return FALSE;
	*owned_out = data.owned;
	return TRUE;
}
