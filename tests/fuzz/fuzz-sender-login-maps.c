/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for auth-maps: the sender_login_maps file parser
 * (auth_map_parse, what auth_map_load runs on the file's bytes) and the
 * per-domain [auth] senders value (auth_senders_validate and
 * auth_senders_lookup), both on the same input.
 *
 * Besides sanitizer reports it checks what the auth daemon relies on: errors
 * are AUTH_MAPS_ERROR naming the file and line, every key a line of an accepted file
 * starts with is found under its caseless form with at least one owner,
 * owners contain no separator, and every key of an accepted senders value is
 * found by auth_senders_lookup.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "auth-maps.h"
#include "pc-addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)
#define FUZZ_MAP_NAME "/etc/postfix/sender_login"

/* a key as the parser stores it: in its caseless forms (pc-addr); NULL when invalid */
static char *
fuzz_key(const char *key, gsize len)
{
	const char *at = memrchr(key, '@', len);
	g_autofree char *local = NULL;
	g_autofree char *domain = NULL;
	g_autofree char *folded = NULL;

	if (at == NULL)
		return pc_addr_fold_local(key, len);
	domain = pc_addr_normalize_domain(at + 1, len - (gsize)(at - key) - 1);
	if (domain == NULL)
		return NULL;
	folded = pc_addr_fold_domain(domain, strlen(domain));
	local = pc_addr_fold_local(key, at - key);
	if (folded == NULL || local == NULL)
		return NULL;
	return g_strconcat(local, "@", folded, NULL);
}

static void
fuzz_check_owners(const char *const *owners)
{
	g_assert_nonnull(owners);
	g_assert_nonnull(owners[0]);
	for (gsize i = 0; owners[i] != NULL; i++) {
		g_assert_cmpuint(strlen(owners[i]), >, 0);
		g_assert_null(strpbrk(owners[i], ", \t\r\n"));
		g_assert_true(auth_owners_contain(owners, owners[i]));
	}
}

/*
 * each line that starts a logical line names a key the map must have (a
 * key repeated with the same owners is kept once; quoted keys are checked
 * by the unit tests, not here)
 */
static void
fuzz_check_map(const AuthMap *map, const char *text, gsize size)
{
	g_auto(GStrv) lines = NULL;
	g_autofree char *copy = g_strndup(text, size);
	g_autoptr(GHashTable) keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gboolean quoted = FALSE;

	lines = g_strsplit(copy, "\n", -1);
	for (gsize i = 0; lines[i] != NULL; i++) {
		const char *line = lines[i];
		gsize key_len = strcspn(line, " \t\r\n\v\f");
		g_autofree char *key = NULL;

		if (line[0] == '\0' || g_ascii_isspace(line[0]) || line[0] == '#')
			continue;
		if (line[0] == '"') {
			quoted = TRUE;
			continue;
		}
		key = fuzz_key(line, key_len);
		g_assert_nonnull(key);
		fuzz_check_owners(auth_map_lookup(map, key));
		g_hash_table_add(keys, g_steal_pointer(&key));
	}
	if (quoted)
		g_assert_cmpuint(auth_map_size(map), >=, g_hash_table_size(keys));
	else
		g_assert_cmpuint(auth_map_size(map), ==, g_hash_table_size(keys));
}

/* each "KEY = OWNERS" entry of an accepted value is found under its key */
static void
fuzz_check_senders(const char *senders)
{
	g_auto(GStrv) entries = g_strsplit(senders, ";", -1);

	for (gsize i = 0; entries[i] != NULL; i++) {
		const char *equals = strchr(entries[i], '=');
		g_autofree char *raw = NULL;
		g_autofree char *key = NULL;
		gboolean owned = FALSE;

		if (equals == NULL)
			continue; /* only a blank entry has none in an accepted value */
		raw = g_strstrip(g_strndup(entries[i], (gsize)(equals - entries[i])));
		key = fuzz_key(raw, strlen(raw));
		g_assert_nonnull(key);
		/* a login with a blank is nobody's: owners never contain one */
		g_assert_true(auth_senders_lookup(senders, key, "no body", &owned));
		g_assert_false(owned);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the replay passes NULL for an empty file */
	const char *text = size > 0 ? (const char *)data : "";
	g_autoptr(AuthMap) map = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) senders_error = NULL;
	g_autofree char *senders = NULL;

	if (size > FUZZ_MAX_INPUT)
		return 0;

	map = auth_map_parse(FUZZ_MAP_NAME, text, size, &error);
	if (map != NULL) {
		g_assert_no_error(error);
		fuzz_check_map(map, text, size);
	} else {
		g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX);
		g_assert_true(g_str_has_prefix(error->message, FUZZ_MAP_NAME ":"));
		/* every error names the line */
		g_assert_true(g_ascii_isdigit(error->message[strlen(FUZZ_MAP_NAME ":")]));
	}

	/* the senders value comes from a config file: a C string */
	senders = g_strndup(text, size);
	if (auth_senders_validate(senders, &senders_error))
		fuzz_check_senders(senders);
	else
		g_assert_error(senders_error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX);
	return 0;
}
