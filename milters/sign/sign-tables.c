/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-tables: OpenDKIM's KeyTable and SigningTable (see sign-keys.h), read
 * as opendkim 2.11 reads its "file" and "refile" data sets:
 *
 *  - a '#' anywhere starts a comment; blank lines are skipped; the key is
 *    the first word, the value the rest of the line after the blanks;
 *  - a value's fields are split at ':' and the last field takes the rest
 *    (a KeyTable key path may hold ':'; a SigningTable value is
 *    KEYNAME[:SIGNER]);
 *  - refile: keys are wildcards where '*' is any text and everything else
 *    literal, case-insensitive, tried in file order (a pattern may repeat:
 *    two keys for one pattern is how OpenDKIM sites dual-sign); plain
 *    SigningTable keys are looked up case-insensitively in OpenDKIM's
 *    order.
 *
 * Where OpenDKIM would silently do something else, the line is an error:
 * a key given twice in a KeyTable or plain SigningTable (OpenDKIM uses the
 * first), a refile pattern holding
 * regular-expression characters OpenDKIM passes to regcomp() (so a '?'
 * or '[' means what regex says), an inline key in the KeyTable (keys live
 * in files of their own, mode 0600), and a "%" domain with "%" in the key
 * path (that key would be read per message; ours are read at load).
 */
#include <string.h>

#include "pc-addr.h"
#include "sign-keys.h"

struct _SignKeyTable {
	char *path;
	GPtrArray *entries; /* SignKeyTableEntry *, file order */
	GHashTable *by_name;
};

typedef struct {
	char *pattern;	/* lowercased: a refile wildcard, or a plain key */
	char *key_name; /* "%" kept: the From domain */
	guint line;
} SigningEntry;

struct _SignSigningTable {
	char *path;
	gboolean wildcards; /* refile: */
	GPtrArray *entries; /* SigningEntry *, file order */
	GHashTable *by_key; /* plain: lowercased key -> SigningEntry * (first) */
};

/* one meaningful line of a data set file */
typedef struct {
	guint line;
	char *key;   /* NULL: the line is too long (reported in line order) */
	char *value; /* NULL when the line has a key only */
} TableLine;

static void
table_line_free(TableLine *line)
{
	g_free(line->key);
	g_free(line->value);
	g_free(line);
}

static void add_error(GString *errors, const char *path, guint line, const char *format, ...)
    G_GNUC_PRINTF(4, 5);

static void
add_error(GString *errors, const char *path, guint line, const char *format, ...)
{
	va_list args;

	if (errors->len > 0)
		g_string_append_c(errors, '\n');
	if (line > 0)
		g_string_append_printf(errors, "%s:%u: ", path, line);
	else
		g_string_append_printf(errors, "%s: ", path);
	va_start(args, format);
	g_string_append_vprintf(errors, format, args);
	va_end(args);
}

/* splits one line: comment cut at '#', key = first word, value = the rest */
static TableLine *
split_line(const char *text, gsize len, guint number)
{
	g_autofree char *line = g_strndup(text, len);
	char *hash = strchr(line, '#');
	char *p;
	TableLine *result;

	if (hash != NULL)
		*hash = '\0';
	g_strstrip(line);
	if (line[0] == '\0')
		return NULL;
	result = g_new0(TableLine, 1);
	result->line = number;
	for (p = line; *p != '\0' && !g_ascii_isspace(*p); p++)
		;
	result->key = g_strndup(line, p - line);
	while (g_ascii_isspace(*p))
		p++;
	if (*p != '\0')
		result->value = g_strdup(p);
	return result;
}

/* TRUE when the line is too long, with the error added */
static gboolean
line_too_long(const char *path, const TableLine *line, GString *errors)
{
	if (line->key != NULL)
		return FALSE;
	add_error(errors, path, line->line, "line longer than %d bytes", SIGN_TABLE_MAX_LINE);
	return TRUE;
}

/* the lines of a data set file; NULL with errors added when it cannot be read */
static GPtrArray *
read_table(const char *path, GString *errors)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *contents = NULL;
	gsize length = 0;
	GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify)table_line_free);
	const char *p;
	guint number = 0;

	if (!g_file_get_contents(path, &contents, &length, &local)) {
		add_error(errors, path, 0, "%s", local->message);
		g_ptr_array_unref(lines);
		return NULL;
	}
	if (length > SIGN_TABLE_MAX_FILE || memchr(contents, '\0', length) != NULL) {
		add_error(errors, path, 0, "not a text file of at most %d bytes",
			  SIGN_TABLE_MAX_FILE);
		g_ptr_array_unref(lines);
		return NULL;
	}
	for (p = contents; p < contents + length;) {
		const char *end = memchr(p, '\n', contents + length - p);
		gsize len = (end != NULL ? end : contents + length) - p;
		TableLine *line;

		number++;
		if (len > SIGN_TABLE_MAX_LINE) {
			line = g_new0(TableLine, 1);
			line->line = number;
			g_ptr_array_add(lines, line);
		} else if ((line = split_line(p, len, number)) != NULL) {
			g_ptr_array_add(lines, line);
		}
		p += len + 1;
	}
	return lines;
}

static void
entry_free(SignKeyTableEntry *entry)
{
	g_free(entry->name);
	g_free(entry->domain);
	g_free(entry->selector);
	g_clear_pointer(&entry->key, sign_key_unref);
	g_free(entry);
}

/* a selector is a DNS name below _domainkey: labels of letters, digits, '-' and '_' */
static gboolean
valid_selector(const char *selector)
{
	g_autofree char *normal = pc_addr_normalize_domain(selector, strlen(selector));

	if (normal == NULL || selector[0] == '[')
		return FALSE;
	for (const char *p = selector; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

/* the key path: absolute, or relative to the table's directory; "%" is the domain */
static char *
key_path(const char *table_path, const char *value, const char *domain)
{
	g_autofree char *dir = g_path_get_dirname(table_path);
	g_autofree char *expanded = NULL;
	GString *out = g_string_new(NULL);

	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '%')
			g_string_append(out, domain);
		else
			g_string_append_c(out, *p);
	}
	expanded = g_string_free(out, FALSE);
	if (g_path_is_absolute(expanded))
		return g_steal_pointer(&expanded);
	return g_build_filename(dir, expanded, NULL);
}

static SignKeyTableEntry *
parse_key_entry(const char *path, const TableLine *line, guint uid, GPtrArray *warnings,
		GString *errors)
{
	g_auto(GStrv) fields = line->value != NULL ? g_strsplit(line->value, ":", 3) : NULL;
	g_autofree char *file = NULL;
	g_autofree char *warning = NULL;
	g_autoptr(GError) local = NULL;
	SignKeyTableEntry *entry;
	const char *keydata;
	gboolean any_domain;

	if (fields == NULL || g_strv_length(fields) != 3 || fields[0][0] == '\0' ||
	    fields[1][0] == '\0' || fields[2][0] == '\0') {
		add_error(errors, path, line->line, "%s: expected DOMAIN:SELECTOR:KEYPATH",
			  line->key);
		return NULL;
	}
	any_domain = strcmp(fields[0], "%") == 0;
	keydata = fields[2];
	entry = g_new0(SignKeyTableEntry, 1);
	entry->name = g_strdup(line->key);
	entry->line = line->line;
	entry->selector = g_ascii_strdown(fields[1], -1);
	entry->domain = any_domain ? NULL : pc_addr_normalize_domain(fields[0], strlen(fields[0]));
	if (!any_domain && (entry->domain == NULL || entry->domain[0] == '[')) {
		add_error(errors, path, line->line, "%s: '%s' is not a domain", line->key,
			  fields[0]);
	} else if (!valid_selector(fields[1])) {
		add_error(errors, path, line->line, "%s: '%s' is not a selector", line->key,
			  fields[1]);
	} else if (keydata[0] != '/' && !g_str_has_prefix(keydata, "./") &&
		   !g_str_has_prefix(keydata, "../")) {
		/* the text itself is not repeated: it may be a key */
		add_error(errors, path, line->line,
			  "%s: inline keys are not supported: put the key in a file of its own "
			  "(mode 0600) and give its path",
			  line->key);
	} else if (any_domain && strchr(keydata, '%') != NULL) {
		add_error(errors, path, line->line,
			  "%s: '%%' in both the domain and the key path: each domain's key would "
			  "be read per message; list the domains' keys one by one",
			  line->key);
	} else {
		file = key_path(path, keydata, entry->domain);
		entry->key = sign_key_load(file, uid, &warning, &local);
		if (entry->key == NULL)
			add_error(errors, path, line->line, "%s: %s", line->key, local->message);
		else if (warning != NULL && warnings != NULL)
			g_ptr_array_add(warnings, g_strdup_printf("%s:%u: %s: %s", path, line->line,
								  line->key, warning));
	}
	if (entry->key == NULL) {
		entry_free(entry);
		return NULL;
	}
	return entry;
}

SignKeyTable *
sign_key_table_load(const char *path, guint uid, GPtrArray *warnings, GError **error)
{
	g_autoptr(GString) errors = g_string_new(NULL);
	g_autoptr(GPtrArray) lines = NULL;
	g_autoptr(SignKeyTable) table = NULL;

	g_return_val_if_fail(path != NULL, NULL);

	table = g_atomic_rc_box_new0(SignKeyTable);
	table->path = g_strdup(path);
	table->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	table->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	lines = read_table(path, errors);
	for (guint i = 0; lines != NULL && i < lines->len; i++) {
		const TableLine *line = g_ptr_array_index(lines, i);
		const SignKeyTableEntry *seen;
		SignKeyTableEntry *entry;

		if (line_too_long(path, line, errors))
			continue;
		seen = g_hash_table_lookup(table->by_name, line->key);
		if (seen != NULL) {
			add_error(errors, path, line->line,
				  "%s: key name given twice (line %u too; OpenDKIM uses the first)",
				  line->key, seen->line);
			continue;
		}
		entry = parse_key_entry(path, line, uid, warnings, errors);
		if (entry == NULL)
			continue;
		g_ptr_array_add(table->entries, entry);
		g_hash_table_insert(table->by_name, entry->name, entry);
	}
	if (errors->len > 0) {
		g_set_error_literal(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT, errors->str);
		return NULL;
	}
	return g_steal_pointer(&table);
}

static void
key_table_clear(gpointer data)
{
	SignKeyTable *table = data;

	g_clear_pointer(&table->by_name, g_hash_table_unref);
	g_clear_pointer(&table->entries, g_ptr_array_unref);
	g_free(table->path);
}

SignKeyTable *
sign_key_table_ref(SignKeyTable *table)
{
	g_return_val_if_fail(table != NULL, NULL);
	return g_atomic_rc_box_acquire(table);
}

void
sign_key_table_unref(SignKeyTable *table)
{
	if (table != NULL)
		g_atomic_rc_box_release_full(table, key_table_clear);
}

const SignKeyTableEntry *
sign_key_table_lookup(const SignKeyTable *table, const char *name)
{
	g_return_val_if_fail(table != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);
	return g_hash_table_lookup(table->by_name, name);
}

guint
sign_key_table_size(const SignKeyTable *table)
{
	return table->entries->len;
}

/* --- SigningTable --- */

static void
signing_entry_free(SigningEntry *entry)
{
	g_free(entry->pattern);
	g_free(entry->key_name);
	g_free(entry);
}

/* characters OpenDKIM's refile hands to regcomp() as they are */
#define REGEX_SPECIALS "[](){}|^$?\\"

static SigningEntry *
parse_signing_entry(const SignSigningTable *table, const TableLine *line, const SignKeyTable *keys,
		    GPtrArray *warnings, GString *errors)
{
	g_auto(GStrv) fields = line->value != NULL ? g_strsplit(line->value, ":", 2) : NULL;
	SigningEntry *entry;

	if (fields == NULL || fields[0][0] == '\0') {
		add_error(errors, table->path, line->line, "%s: no key name", line->key);
		return NULL;
	}
	g_strstrip(fields[0]);
	if (table->wildcards && strpbrk(line->key, REGEX_SPECIALS) != NULL) {
		add_error(errors, table->path, line->line,
			  "%s: only '*' is a wildcard here; OpenDKIM would read the other "
			  "characters of " REGEX_SPECIALS " as a regular expression",
			  line->key);
		return NULL;
	}
	if (strcmp(fields[0], "%") != 0 && sign_key_table_lookup(keys, fields[0]) == NULL) {
		add_error(errors, table->path, line->line, "%s: key name %s is not in the KeyTable",
			  line->key, fields[0]);
		return NULL;
	}
	if (fields[1] != NULL && warnings != NULL)
		g_ptr_array_add(
		    warnings, g_strdup_printf("%s:%u: %s: the signer (i=) is not used: signatures "
					      "carry d= only",
					      table->path, line->line, line->key));
	entry = g_new0(SigningEntry, 1);
	entry->pattern = g_ascii_strdown(line->key, -1);
	entry->key_name = g_strdup(fields[0]);
	entry->line = line->line;
	return entry;
}

/* the data set types OpenDKIM has that a file here cannot be */
static gboolean
parse_spec(const char *spec, const char **path_out, gboolean *wildcards_out, GString *errors)
{
	const char *colon = strchr(spec, ':');

	*wildcards_out = FALSE;
	if (g_str_has_prefix(spec, "refile:")) {
		*wildcards_out = TRUE;
		*path_out = spec + strlen("refile:");
	} else if (g_str_has_prefix(spec, "file:")) {
		*path_out = spec + strlen("file:");
	} else if (colon != NULL && spec[0] != '/') {
		add_error(errors, spec, 0,
			  "only file: and refile: tables are read (convert the data set to a "
			  "flat file)");
		return FALSE;
	} else {
		*path_out = spec;
	}
	if (!g_path_is_absolute(*path_out)) {
		add_error(errors, spec, 0, "the path must be absolute");
		return FALSE;
	}
	return TRUE;
}

SignSigningTable *
sign_signing_table_load(const char *spec, const SignKeyTable *keys, GPtrArray *warnings,
			GError **error)
{
	g_autoptr(GString) errors = g_string_new(NULL);
	g_autoptr(GPtrArray) lines = NULL;
	g_autoptr(SignSigningTable) table = NULL;
	const char *path = NULL;
	gboolean wildcards;

	g_return_val_if_fail(spec != NULL, NULL);
	g_return_val_if_fail(keys != NULL, NULL);

	if (!parse_spec(spec, &path, &wildcards, errors)) {
		g_set_error_literal(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT, errors->str);
		return NULL;
	}
	table = g_atomic_rc_box_new0(SignSigningTable);
	table->path = g_strdup(path);
	table->wildcards = wildcards;
	table->entries = g_ptr_array_new_with_free_func((GDestroyNotify)signing_entry_free);
	table->by_key = g_hash_table_new(g_str_hash, g_str_equal);
	lines = read_table(path, errors);
	for (guint i = 0; lines != NULL && i < lines->len; i++) {
		const TableLine *line = g_ptr_array_index(lines, i);
		SigningEntry *entry;
		const SigningEntry *seen;

		if (line_too_long(path, line, errors))
			continue;
		entry = parse_signing_entry(table, line, keys, warnings, errors);
		if (entry == NULL)
			continue;
		/*
		 * a plain table answers one value per key, so a second line is
		 * dead; refile patterns may repeat (two keys for one pattern is
		 * how OpenDKIM sites dual-sign, with MultipleSignatures)
		 */
		seen = g_hash_table_lookup(table->by_key, entry->pattern);
		if (seen != NULL && !wildcards) {
			add_error(errors, path, line->line,
				  "%s: given twice (line %u too; OpenDKIM uses the first)",
				  line->key, seen->line);
			signing_entry_free(entry);
			continue;
		}
		g_ptr_array_add(table->entries, entry);
		if (seen == NULL)
			g_hash_table_insert(table->by_key, entry->pattern, entry);
	}
	if (errors->len > 0) {
		g_set_error_literal(error, SIGN_KEYS_ERROR, SIGN_KEYS_ERROR_FORMAT, errors->str);
		return NULL;
	}
	return g_steal_pointer(&table);
}

static void
signing_table_clear(gpointer data)
{
	SignSigningTable *table = data;

	g_clear_pointer(&table->by_key, g_hash_table_unref);
	g_clear_pointer(&table->entries, g_ptr_array_unref);
	g_free(table->path);
}

SignSigningTable *
sign_signing_table_ref(SignSigningTable *table)
{
	g_return_val_if_fail(table != NULL, NULL);
	return g_atomic_rc_box_acquire(table);
}

void
sign_signing_table_unref(SignSigningTable *table)
{
	if (table != NULL)
		g_atomic_rc_box_release_full(table, signing_table_clear);
}

/* '*' any text (also none), everything else itself; both sides lowercase */
static gboolean
wildcard_match(const char *pattern, const char *text)
{
	const char *star = NULL;
	const char *resume = NULL;

	while (*text != '\0') {
		if (*pattern == '*') {
			star = pattern++;
			resume = text;
		} else if (*pattern == *text) {
			pattern++;
			text++;
		} else if (star != NULL) {
			pattern = star + 1;
			text = ++resume;
		} else {
			return FALSE;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

/* adds the key name of entry (with "%" resolved); FALSE when that was the last wanted */
static gboolean
add_match(GPtrArray *names, const SigningEntry *entry, const char *domain, gboolean all)
{
	g_ptr_array_add(names,
			g_strdup(strcmp(entry->key_name, "%") == 0 ? domain : entry->key_name));
	return all;
}

static gboolean
try_key(const SignSigningTable *table, GPtrArray *names, const char *key, const char *domain,
	gboolean all)
{
	const SigningEntry *entry = g_hash_table_lookup(table->by_key, key);

	return entry == NULL || add_match(names, entry, domain, all);
}

/* the plain table's order; FALSE once the wanted matches are found */
static gboolean
match_plain(const SignSigningTable *table, GPtrArray *names, const char *local, const char *domain,
	    gboolean all)
{
	g_autofree char *address = g_strdup_printf("%s@%s", local, domain);
	g_autofree char *user_any = g_strdup_printf("%s@*", local);

	if (!try_key(table, names, address, domain, all) ||
	    !try_key(table, names, domain, domain, all))
		return FALSE;
	for (const char *dot = strchr(domain, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		g_autofree char *user_parent = g_strdup_printf("%s@%s", local, dot);

		if (!try_key(table, names, user_parent, domain, all) ||
		    !try_key(table, names, dot, domain, all))
			return FALSE;
	}
	return try_key(table, names, user_any, domain, all) &&
	       try_key(table, names, "*", domain, all);
}

char **
sign_signing_table_match(const SignSigningTable *table, const char *local, const char *domain,
			 gboolean all)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *lower_local = NULL;
	g_autofree char *address = NULL;

	g_return_val_if_fail(table != NULL, NULL);
	g_return_val_if_fail(local != NULL && domain != NULL, NULL);

	lower_local = g_ascii_strdown(local, -1);
	if (table->wildcards) {
		address = g_strdup_printf("%s@%s", lower_local, domain);
		for (guint i = 0; i < table->entries->len; i++) {
			const SigningEntry *entry = g_ptr_array_index(table->entries, i);

			if (wildcard_match(entry->pattern, address) &&
			    !add_match(names, entry, domain, all))
				break;
		}
	} else {
		match_plain(table, names, lower_local, domain, all);
	}
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}
