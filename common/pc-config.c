/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-config: loading, validation and snapshots of the configuration.
 *
 * Loading runs in three passes per file: a raw scan of the text (line numbers,
 * duplicate keys and sections, trailing comments: the things GKeyFile hides),
 * GKeyFile for the INI syntax, then the schema tables, which turn text into
 * typed fields. Per-domain sections are built by parsing, for each key, the
 * domain file's text if it has one, else the main file's, else the default:
 * a merge key by key with no deep copies.
 */
#include "pc-config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pc-addr.h"
#include "pc-config-private.h"

G_DEFINE_QUARK(pc - config - error - quark, pc_config_error)

/* bounds on what we read: a config file is trusted, but a typo must not eat memory */
#define CONFIG_MAX_FILE_BYTES (16 * 1024 * 1024)
#define CONFIG_MAX_DOMAIN_FILES 100000
/* errors reported by one load; past this the rest are dropped with a note */
#define CONFIG_MAX_ERRORS 100

/* an extra schema's sections as the main file sets them */
typedef struct {
	const PcConfigSchema *schema;
	GArray *sections; /* PcConfigSection; name, group and data owned */
} ExtraSchema;

/* an extra section as a domain file overrides it */
typedef struct {
	const PcConfigSchema *schema;
	gpointer data;
} ExtraData;

struct _PcConfig {
	char *path;
	const PcConfigSchema *schema;
	GPtrArray *extras;	  /* ExtraSchema, in the daemon's order */
	GHashTable *extra_groups; /* group -> main file's data (borrowed from extras) */
	PcGlobalConfig global;
	PcDaemonBase daemon;
	GPtrArray *listeners;	  /* PcListener */
	gpointer section;	  /* schema->size bytes */
	GHashTable *domains;	  /* normalised domain -> DomainEntry */
	GHashTable *local_exact;  /* set of domains (and "[literal]") */
	GPtrArray *local_parents; /* ".example.com" entries */
	/* where each key was set: "DOMAIN\ngroup\nkey" ("" for the main file) -> "PATH:LINE" */
	GHashTable *origins;
	atomic_uint warned;
};

typedef struct {
	char *path;
	const PcConfigSchema *schema; /* of section */
	gpointer section;	      /* NULL when the file has no section of ours */
	GHashTable *extra;	      /* group -> ExtraData, or NULL */
} DomainEntry;

/* one INI file as scanned: its GKeyFile and where each key stands */
typedef struct {
	char *path;
	GKeyFile *keyfile;
	GHashTable *lines; /* "group\nkey" or "group" -> line number */
} ConfigFile;

static void
config_file_free(ConfigFile *file)
{
	g_free(file->path);
	g_clear_pointer(&file->keyfile, g_key_file_unref);
	g_clear_pointer(&file->lines, g_hash_table_unref);
	g_free(file);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConfigFile, config_file_free)

static const char *const role_names[] = {"mx", "submission", "smtps", "internal", NULL};

/* sections that belong to other daemons: accepted, not read */
static const char *const reserved_sections[] = {"relay", "auth",  "rate",  "greylist", "verify",
						"sign",	 "stack", "admin", NULL};

const char *
pc_listener_role_to_string(PcListenerRole role)
{
	if ((guint)role < G_N_ELEMENTS(role_names) - 1)
		return role_names[role];
	return "unknown";
}

/* ---------------------------------------------------------------- schemas */

/* forwarders [global] dns may list: more is a typo, not a resolver set-up */
#define CONFIG_MAX_DNS_FORWARDERS 16

/* "ADDRESS" or "ADDRESS@PORT" in the plain forms libunbound reads (no brackets) */
static gboolean
check_dns_forwarder(const char *item, GError **error)
{
	const char *at = strrchr(item, '@');
	g_autofree char *address = g_strndup(item, at != NULL ? (gsize)(at - item) : strlen(item));
	PcNetAddress parsed;
	gsize n_digits;

	if (address[0] == '[' || !pc_net_address_parse(address, &parsed)) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "'%.64s' is not system, recursive or a forwarder ADDRESS[@PORT]", item);
		return FALSE;
	}
	if (at == NULL)
		return TRUE;
	/* digits only: "@+53", "@ 53" and "@" are typos */
	n_digits = strspn(at + 1, "0123456789");
	if (n_digits == 0 || n_digits > 5 || at[1 + n_digits] != '\0' ||
	    g_ascii_strtoull(at + 1, NULL, 10) == 0 || g_ascii_strtoull(at + 1, NULL, 10) > 65535) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "'%.64s': the port after @ must be 1 to 65535", item);
		return FALSE;
	}
	return TRUE;
}

/* [global] dns: "system", "recursive", or forwarders (pc-dns reads them) */
static gboolean
validate_dns(gconstpointer field, GError **error)
{
	char *const *items = *(char *const *const *)field;
	guint n_items = items != NULL ? g_strv_length((char **)items) : 0;

	if (n_items == 0) {
		g_set_error_literal(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "empty: system, recursive or forwarders ADDRESS[@PORT]");
		return FALSE;
	}
	if (n_items > CONFIG_MAX_DNS_FORWARDERS) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
			    "%u forwarders: at most %u", n_items, CONFIG_MAX_DNS_FORWARDERS);
		return FALSE;
	}
	for (guint i = 0; i < n_items; i++) {
		if (g_ascii_strcasecmp(items[i], "system") == 0 ||
		    g_ascii_strcasecmp(items[i], "recursive") == 0) {
			if (n_items == 1)
				return TRUE;
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "'%s' stands alone, not in a list of forwarders", items[i]);
			return FALSE;
		}
		if (!check_dns_forwarder(items[i], error))
			return FALSE;
	}
	return TRUE;
}

static const PcConfigKey global_keys[] = {
    {"local_domains", PC_CONFIG_DOMAINS, "", 0, 0, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, local_domains), 0,
     "domains whose mail is ours; \".example.com\" adds its subdomains"},
    {"trusted_networks", PC_CONFIG_NETWORKS, "127.0.0.0/8; ::1/128", 0, 0, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, trusted_networks), 0,
     "clients that may relay without AUTH (like Postfix mynetworks)"},
    {"authserv_id", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, authserv_id),
     0, "RFC 8601 authserv-id"},
    {"store", PC_CONFIG_STRING, "memory", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, store),
     PC_CONFIG_KEY_RESTART, "memory, redis://HOST:PORT/DB or unix:/PATH"},
    {"store_max_keys", PC_CONFIG_INT, "1000000", 1000, G_GINT64_CONSTANT(100000000), NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, store_max_keys), PC_CONFIG_KEY_RESTART,
     "bound on the memory store's entries"},
    {"statistics", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, statistics),
     PC_CONFIG_KEY_RESTART, "HOST:PORT of /metrics for relay; each daemon adds its offset to PORT"},
    {"control_dir", PC_CONFIG_STRING, "/run/portcullis", 0, 0, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, control_dir), PC_CONFIG_KEY_RESTART,
     "where each daemon's control socket NAME/NAME.control is (portcullis bans, limits, "
     "reload); empty: none"},
    {"domains_dir", PC_CONFIG_STRING, "/etc/portcullis/domains.d", 0, 0, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, domains_dir), 0, "per-domain policy files DOMAIN.conf"},
    {"user", PC_CONFIG_STRING, "portcullis", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, user),
     PC_CONFIG_KEY_RESTART, "user to run as after start-up (root only); empty = stay"},
    {"group", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, group),
     PC_CONFIG_KEY_RESTART, "group to run as; empty = the user's primary group"},
    {"store_timeout", PC_CONFIG_DURATION, "50ms", 1000, PC_USEC(10), NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, store_timeout), PC_CONFIG_KEY_RESTART,
     "redis store: longest wait for one command (and for a free connection)"},
    {"store_connect_timeout", PC_CONFIG_DURATION, "50ms", 1000, PC_USEC(10), NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, store_connect_timeout), PC_CONFIG_KEY_RESTART,
     "redis store: longest wait for a connection to open"},
    {"store_connections", PC_CONFIG_INT, "16", 1, 1024, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, store_connections), PC_CONFIG_KEY_RESTART,
     "redis store: connections kept open, shared by the milter's threads"},
    {"max_connections", PC_CONFIG_INT, "1000", 1, 1000000, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, max_connections), PC_CONFIG_KEY_RESTART,
     "concurrent MTA connections per daemon; more are answered with a tempfail"},
    {"milter_timeout", PC_CONFIG_DURATION, "300s", PC_USEC(1), PC_USEC(7200), NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, milter_timeout), PC_CONFIG_KEY_RESTART,
     "longest wait for the MTA's next milter command on a connection"},
    /* the resolver's shape is fixed at start; its waits are read per message */
    {"dns", PC_CONFIG_STRING_LIST, "system", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, dns),
     PC_CONFIG_KEY_RESTART,
     "system (the nameservers of /etc/resolv.conf), recursive, or forwarders ADDRESS[@PORT]",
     validate_dns},
    {"dns_timeout", PC_CONFIG_DURATION, "5s", 100 * 1000, PC_USEC(60), NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, dns_timeout), 0, "longest wait for one DNS answer"},
    {"dns_message_budget", PC_CONFIG_DURATION, "20s", 100 * 1000, PC_USEC(600), NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, dns_message_budget), 0,
     "DNS wait one message may spend in all; below the MTA's milter command timeout"},
    {"dnssec", PC_CONFIG_BOOL, "no", 0, 0, NULL, G_STRUCT_OFFSET(PcGlobalConfig, dnssec),
     PC_CONFIG_KEY_RESTART, "validate DNSSEC, so that answers carry the secure bit"},
    {"dns_trust_anchor", PC_CONFIG_STRING, "/usr/share/dns/root.key", 0, 0, NULL,
     G_STRUCT_OFFSET(PcGlobalConfig, dns_trust_anchor), PC_CONFIG_KEY_RESTART,
     "DNSSEC trust anchors (DS or DNSKEY records) for dnssec = yes"},
};

static const PcConfigKey listener_keys[] = {
    {"role", PC_CONFIG_ENUM, "mx", 0, 0, role_names, G_STRUCT_OFFSET(PcListener, role), 0,
     "mx | submission | smtps | internal"},
    {"ports", PC_CONFIG_INT_LIST, "", 0, 65535, NULL, G_STRUCT_OFFSET(PcListener, ports), 0,
     "matched against {daemon_port}"},
    {"daemon_names", PC_CONFIG_STRING_LIST, "", 0, 0, NULL,
     G_STRUCT_OFFSET(PcListener, daemon_names), 0, "matched against {daemon_name}"},
};

static const char *const on_error_choices[] = {"tempfail", "accept", NULL};

static const PcConfigKey daemon_keys[] = {
    {"socket", PC_CONFIG_STRING, NULL, 0, 0, NULL, G_STRUCT_OFFSET(PcDaemonBase, socket),
     PC_CONFIG_KEY_RESTART,
     "milter socket: unix:/PATH, inet:PORT@HOST, inet6:PORT@HOST; when unset "
     "unix:" PC_SOCKET_DIR_DEFAULT "/NAME.sock"},
    {"pid_file", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(PcDaemonBase, pid_file),
     PC_CONFIG_KEY_RESTART, "pid file; empty = none"},
    {"statistics", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(PcDaemonBase, statistics),
     PC_CONFIG_KEY_RESTART, "this daemon's HOST:PORT for /metrics; overrides [global]"},
    /* the default comes from the schema (on_error_default); see daemon_keys_for */
    {"on_error", PC_CONFIG_ENUM, "tempfail", 0, 0, on_error_choices,
     G_STRUCT_OFFSET(PcDaemonBase, on_error), 0,
     "when a lookup the decision needs fails (store, map, DNS): tempfail (451 4.3.0) or "
     "accept"},
};

const PcConfigKey *
pc_config_get_key_table(PcConfigKeyTable table, gsize *n_keys_out)
{
	switch (table) {
	case PC_CONFIG_KEYS_GLOBAL:
		*n_keys_out = G_N_ELEMENTS(global_keys);
		return global_keys;
	case PC_CONFIG_KEYS_LISTENER:
		*n_keys_out = G_N_ELEMENTS(listener_keys);
		return listener_keys;
	case PC_CONFIG_KEYS_DAEMON:
	default:
		*n_keys_out = G_N_ELEMENTS(daemon_keys);
		return daemon_keys;
	}
}

/* the daemon keys with the schema's on_error default; (transfer full) */
static PcConfigKey *
daemon_keys_for(const PcConfigSchema *schema)
{
	PcConfigKey *keys = g_memdup2(daemon_keys, sizeof(daemon_keys));

	for (gsize i = 0; i < G_N_ELEMENTS(daemon_keys); i++) {
		if (strcmp(keys[i].key, "on_error") == 0 && schema->on_error_default != NULL)
			keys[i].default_value = schema->on_error_default;
	}
	return keys;
}

/* ------------------------------------------------------------ error lists */

/*
 * collect_error: a load goes on past an error so that an admin sees every
 * one in a single run; the first error's code is kept, the messages are
 * joined one a line. Takes error.
 */
static void
collect_error(GError **collected, GError *error)
{
	g_auto(GStrv) lines = NULL;
	guint n = 1;

	if (*collected == NULL) {
		*collected = error;
		return;
	}
	for (const char *c = (*collected)->message; *c != '\0'; c++)
		n += *c == '\n';
	lines = g_strsplit(error->message, "\n", -1);
	for (gsize i = 0; lines[i] != NULL && n <= CONFIG_MAX_ERRORS; i++) {
		g_auto(GStrv) have = g_strsplit((*collected)->message, "\n", -1);
		char *message;

		/* one error once: a domain section checked again with the main file's value */
		if (g_strv_contains((const char *const *)have, lines[i]))
			continue;
		if (n < CONFIG_MAX_ERRORS)
			message = g_strconcat((*collected)->message, "\n", lines[i], NULL);
		else
			message =
			    g_strconcat((*collected)->message, "\n(more errors not shown)", NULL);
		g_free((*collected)->message);
		(*collected)->message = message;
		n++;
	}
	g_error_free(error);
}

/* moves what was collected into error; TRUE when nothing was */
static gboolean
finish_errors(GError *collected, GError **error)
{
	if (collected == NULL)
		return TRUE;
	g_propagate_error(error, collected);
	return FALSE;
}

/* ------------------------------------------------------------ raw scanning */

static char *
line_key(const char *group, const char *key)
{
	return key != NULL ? g_strconcat(group, "\n", key, NULL) : g_strdup(group);
}

/*
 * scan_text: what GKeyFile would accept silently but an admin must hear
 * about. Fills lines with the line number of every group and key.
 */
static gboolean
scan_text(const char *path, const char *text, GHashTable *lines, GError **error)
{
	g_auto(GStrv) rows = g_strsplit(text, "\n", -1);
	g_autofree char *group = NULL;
	GError *collected = NULL;

	for (guint n = 0; rows[n] != NULL; n++) {
		char *row = g_strstrip(rows[n]);
		char *eq;
		g_autofree char *id = NULL;

		if (row[0] == '\0' || row[0] == '#' || row[0] == ';')
			continue;
		if (row[0] == '[') {
			char *close = strchr(row, ']');

			if (close == NULL) {
				/* GKeyFile cannot read past this either */
				collect_error(&collected,
					      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_PARSE,
							  "%s:%u: section header without ']'", path,
							  n + 1));
				return finish_errors(collected, error);
			}
			g_free(group);
			group = g_strndup(row + 1, close - row - 1);
			if (g_hash_table_contains(lines, group)) {
				collect_error(
				    &collected,
				    g_error_new(
					PC_CONFIG_ERROR, PC_CONFIG_ERROR_DUPLICATE,
					"%s:%u: [%s]: section given twice (first at line %u)", path,
					n + 1, group,
					GPOINTER_TO_UINT(g_hash_table_lookup(lines, group))));
				continue;
			}
			g_hash_table_insert(lines, g_strdup(group), GUINT_TO_POINTER(n + 1));
			continue;
		}
		eq = strchr(row, '=');
		if (eq == NULL || group == NULL)
			continue; /* GKeyFile reports the syntax error with its own words */
		*eq = '\0';
		g_strchomp(row);
		id = line_key(group, row);
		if (g_hash_table_contains(lines, id)) {
			collect_error(
			    &collected,
			    g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_DUPLICATE,
					"%s:%u: [%s] %s: key given twice (first at line %u)", path,
					n + 1, group, row,
					GPOINTER_TO_UINT(g_hash_table_lookup(lines, id))));
			continue;
		}
		/* GKeyFile would keep " # comment" as part of the value */
		for (const char *v = eq + 1; *v != '\0'; v++) {
			if (*v == '#' && (v[-1] == ' ' || v[-1] == '\t')) {
				collect_error(
				    &collected,
				    g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
						"%s:%u: [%s] %s: comments are not allowed "
						"after a value; put them on a line of "
						"their own",
						path, n + 1, group, row));
				break;
			}
		}
		g_hash_table_insert(lines, g_steal_pointer(&id), GUINT_TO_POINTER(n + 1));
	}
	return finish_errors(collected, error);
}

static ConfigFile *
config_file_read(const char *path, GError **error)
{
	g_autoptr(ConfigFile) file = g_new0(ConfigFile, 1);
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) local_error = NULL;

	file->path = g_strdup(path);
	file->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!g_file_get_contents(path, &text, &len, &local_error)) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_IO, "%s: %s", path,
			    local_error->message);
		return NULL;
	}
	if (len > CONFIG_MAX_FILE_BYTES || memchr(text, '\0', len) != NULL) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_PARSE,
			    "%s: not a configuration file (NUL byte or over %d bytes)", path,
			    CONFIG_MAX_FILE_BYTES);
		return NULL;
	}
	if (!scan_text(path, text, file->lines, error))
		return NULL;
	file->keyfile = g_key_file_new();
	if (!g_key_file_load_from_data(file->keyfile, text, len, G_KEY_FILE_NONE, &local_error)) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_PARSE, "%s: %s", path,
			    local_error->message);
		return NULL;
	}
	return g_steal_pointer(&file);
}

static guint
file_line(const ConfigFile *file, const char *group, const char *key)
{
	g_autofree char *id = line_key(group, key);

	return GPOINTER_TO_UINT(g_hash_table_lookup(file->lines, id));
}

static void
prefix_error(GError **error, const ConfigFile *file, const char *group, const char *key)
{
	guint line = file != NULL ? file_line(file, group, key) : 0;
	const char *path = file != NULL ? file->path : "(default)";

	if (line > 0)
		g_prefix_error(error, "%s:%u: [%s] %s: ", path, line, group, key);
	else
		g_prefix_error(error, "%s: [%s] %s: ", path, group, key);
}

/* the raw value of group/key in file, or NULL */
static char *
file_value(const ConfigFile *file, const char *group, const char *key)
{
	char *value;

	if (file == NULL || !g_key_file_has_key(file->keyfile, group, key, NULL))
		return NULL;
	value = g_key_file_get_value(file->keyfile, group, key, NULL);
	return value != NULL ? g_strstrip(value) : NULL;
}

static const PcConfigKey *
find_key(const PcConfigKey *keys, gsize n_keys, const char *name)
{
	for (gsize i = 0; i < n_keys; i++) {
		if (strcmp(keys[i].key, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/*
 * check_keys: the keys group has in source must be in keys (or in
 * extra_keys, which another fill of the same group reads); in an overlay
 * they must also be PER_DOMAIN. Errors are collected.
 */
static void
check_keys(const PcConfigKey *keys, gsize n_keys, const ConfigFile *source, gboolean is_overlay,
	   const char *group, const PcConfigKey *extra_keys, gsize n_extra_keys, GError **collected)
{
	g_auto(GStrv) names = NULL;

	if (source == NULL || !g_key_file_has_group(source->keyfile, group))
		return;
	names = g_key_file_get_keys(source->keyfile, group, NULL, NULL);
	for (gsize i = 0; names != NULL && names[i] != NULL; i++) {
		const PcConfigKey *key = find_key(keys, n_keys, names[i]);
		GError *local = NULL;

		if (key == NULL && !is_overlay &&
		    find_key(extra_keys, n_extra_keys, names[i]) != NULL)
			continue;
		if (key == NULL)
			local = g_error_new_literal(PC_CONFIG_ERROR, PC_CONFIG_ERROR_UNKNOWN_KEY,
						    "unknown key");
		else if (is_overlay && (key->flags & PC_CONFIG_KEY_PER_DOMAIN) == 0)
			local = g_error_new_literal(
			    PC_CONFIG_ERROR, PC_CONFIG_ERROR_NOT_PER_DOMAIN,
			    "this key cannot be set per domain; set it in the main file");
		if (local != NULL) {
			prefix_error(&local, source, group, names[i]);
			collect_error(collected, local);
		}
	}
}

/* for each key, the first of overlay, file, default that has a value is parsed into base */
static void
fill_values(const PcConfigKey *keys, gsize n_keys, const ConfigFile *file,
	    const ConfigFile *overlay, const char *group, gpointer base, GError **collected)
{
	for (gsize i = 0; i < n_keys; i++) {
		const PcConfigKey *key = &keys[i];
		g_autofree char *value = file_value(overlay, group, key->key);
		const ConfigFile *source = overlay;
		GError *local = NULL;

		if (value == NULL) {
			value = file_value(file, group, key->key);
			source = file;
		}
		if (value == NULL) {
			source = NULL;
			if (key->default_value == NULL)
				continue;
			value = g_strdup(key->default_value);
		}
		if (!pc_config_parse_value(key, value, base, &local)) {
			prefix_error(&local, source, group, key->key);
			collect_error(collected, local);
		}
	}
}

/*
 * fill_section: fills base from group, overlay over file over defaults.
 * Each file's keys are checked once: the main file's when there is no
 * overlay (a domain file's section is filled after the main file's, which
 * checked them), else the overlay's own. extra_keys are the keys another
 * fill of the same group reads (the daemon section and its common keys).
 */
static gboolean
fill_section(const PcConfigKey *keys, gsize n_keys, const ConfigFile *file,
	     const ConfigFile *overlay, const char *group, const PcConfigKey *extra_keys,
	     gsize n_extra_keys, gpointer base, GError **error)
{
	GError *collected = NULL;

	if (overlay != NULL)
		check_keys(keys, n_keys, overlay, TRUE, group, NULL, 0, &collected);
	else
		check_keys(keys, n_keys, file, FALSE, group, extra_keys, n_extra_keys, &collected);
	fill_values(keys, n_keys, file, overlay, group, base, &collected);
	return finish_errors(collected, error);
}

/* ---------------------------------------------------------------- sections */

/* frees a section struct of schema: the objects build made, then the key fields */
static void
section_free(const PcConfigSchema *schema, gpointer data)
{
	if (data == NULL)
		return;
	if (schema->clear != NULL)
		schema->clear(data);
	pc_config_clear_fields(schema->keys, schema->n_keys, data);
	g_free(data);
}

/*
 * the schema's cross-key check, then its objects; main_data is the main
 * file's section when data overrides it. Error without prefix.
 */
static gboolean
section_finish(const PcConfigSchema *schema, gpointer data, gconstpointer main_data, GError **error)
{
	if (schema->check != NULL && !schema->check(data, error))
		return FALSE;
	if (schema->build != NULL && !schema->build(data, main_data, error))
		return FALSE;
	return TRUE;
}

static void prefix_group_error(GError **error, const ConfigFile *file, const char *group);

/* the key of schema a check or build error names first ("require_tls: ..."), or NULL */
static const char *
finish_error_key(const PcConfigSchema *schema, const char *message)
{
	const char *colon = strchr(message, ':');

	for (gsize i = 0; colon != NULL && i < schema->n_keys; i++) {
		const char *key = schema->keys[i].key;

		if (strlen(key) == (gsize)(colon - message) &&
		    strncmp(message, key, strlen(key)) == 0)
			return key;
	}
	return NULL;
}

/*
 * "FILE:LINE: [group]: " before an error of the schema's check or build
 * hook. When the error names a key first, the line is that key's, in the
 * file that sets it: a domain section is checked again with the main
 * file's values of the keys its own file does not set, and such an error
 * is the main file's (collect_error keeps it once).
 */
static void
prefix_finish_error(GError **error, const PcConfigSchema *schema, const ConfigFile *main_file,
		    const ConfigFile *overlay, const char *group)
{
	const char *key = finish_error_key(schema, (*error)->message);
	const ConfigFile *file = overlay != NULL ? overlay : main_file;

	if (key != NULL && overlay != NULL && file_line(overlay, group, key) == 0 &&
	    main_file != NULL && file_line(main_file, group, key) > 0)
		file = main_file;
	if (key != NULL && file_line(file, group, key) > 0)
		g_prefix_error(error, "%s:%u: [%s]: ", file->path, file_line(file, group, key),
			       group);
	else
		prefix_group_error(error, file, group);
}

/* "FILE:LINE: [group]: " before an error that names no key */
static void
prefix_group_error(GError **error, const ConfigFile *file, const char *group)
{
	guint line = file_line(file, group, NULL);

	if (line > 0)
		g_prefix_error(error, "%s:%u: [%s]: ", file->path, line, group);
	else
		g_prefix_error(error, "%s: [%s]: ", file->path, group);
}

/* ----------------------------------------------------------------- loading */

static void
domain_entry_free(gpointer data)
{
	DomainEntry *entry = data;

	g_free(entry->path);
	if (entry->section != NULL)
		section_free(entry->schema, entry->section);
	g_clear_pointer(&entry->extra, g_hash_table_unref);
	g_free(entry);
}

static void
extra_data_free(gpointer data)
{
	ExtraData *extra = data;

	section_free(extra->schema, extra->data);
	g_free(extra);
}

static void
extra_schema_free(gpointer data)
{
	ExtraSchema *extra = data;

	for (guint i = 0; extra->sections != NULL && i < extra->sections->len; i++) {
		PcConfigSection *section = &g_array_index(extra->sections, PcConfigSection, i);

		section_free(extra->schema, (gpointer)section->data);
		g_free((gpointer)section->name);
		g_free((gpointer)section->group);
	}
	g_clear_pointer(&extra->sections, g_array_unref);
	g_free(extra);
}

static void
pc_config_clear(gpointer data)
{
	PcConfig *config = data;

	g_clear_pointer(&config->path, g_free);
	pc_config_clear_fields(global_keys, G_N_ELEMENTS(global_keys), &config->global);
	pc_config_clear_fields(daemon_keys, G_N_ELEMENTS(daemon_keys), &config->daemon);
	g_clear_pointer(&config->listeners, g_ptr_array_unref);
	g_clear_pointer(&config->domains, g_hash_table_unref);
	g_clear_pointer(&config->origins, g_hash_table_unref);
	if (config->section != NULL)
		section_free(config->schema, g_steal_pointer(&config->section));
	g_clear_pointer(&config->local_exact, g_hash_table_unref);
	g_clear_pointer(&config->local_parents, g_ptr_array_unref);
	g_clear_pointer(&config->extra_groups, g_hash_table_unref);
	g_clear_pointer(&config->extras, g_ptr_array_unref);
}

static void
listener_free(gpointer data)
{
	PcListener *listener = data;

	pc_config_clear_fields(listener_keys, G_N_ELEMENTS(listener_keys), listener);
	g_free(listener->name);
	g_free(listener);
}

static gboolean
is_reserved_section(const char *group)
{
	for (gsize i = 0; reserved_sections[i] != NULL; i++) {
		gsize n = strlen(reserved_sections[i]);

		if (strcmp(group, reserved_sections[i]) == 0)
			return TRUE;
		/* [rate.NAME]: one section per limit */
		if (strncmp(group, reserved_sections[i], n) == 0 && group[n] == '.' &&
		    group[n + 1] != '\0')
			return TRUE;
	}
	return FALSE;
}

static gboolean
load_main_sections(PcConfig *config, const ConfigFile *file, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(file->keyfile, NULL);
	GError *collected = NULL;

	for (gsize i = 0; groups[i] != NULL; i++) {
		const char *group = groups[i];

		if (strcmp(group, "global") == 0)
			continue;
		if (g_str_has_prefix(group, "listener.") && group[9] != '\0') {
			g_autofree PcListener *listener = g_new0(PcListener, 1);
			GError *local = NULL;

			if (!fill_section(listener_keys, G_N_ELEMENTS(listener_keys), file, NULL,
					  group, NULL, 0, listener, &local)) {
				pc_config_clear_fields(listener_keys, G_N_ELEMENTS(listener_keys),
						       listener);
				collect_error(&collected, local);
				continue;
			}
			listener->name = g_strdup(group + 9);
			g_ptr_array_add(config->listeners, g_steal_pointer(&listener));
			continue;
		}
		if (!is_reserved_section(group))
			collect_error(&collected,
				      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_UNKNOWN_SECTION,
						  "%s:%u: [%s]: unknown section", file->path,
						  file_line(file, group, NULL), group));
	}
	return finish_errors(collected, error);
}

/* the extra schema a group belongs to (LABEL checked for multi ones), or NULL */
static const PcConfigSchema *
extra_schema_for_group(const PcConfig *config, const char *group, gboolean *bad_label_out)
{
	*bad_label_out = FALSE;
	for (guint i = 0; config->extras != NULL && i < config->extras->len; i++) {
		const ExtraSchema *extra = g_ptr_array_index(config->extras, i);
		const char *name = extra->schema->name;
		gsize n = strlen(name);

		if (!extra->schema->multi) {
			if (strcmp(group, name) == 0)
				return extra->schema;
			continue;
		}
		if (strncmp(group, name, n) != 0 || group[n] != '.')
			continue;
		/* the label names store keys and metric labels: keep it plain */
		*bad_label_out = group[n + 1] == '\0' || strlen(group + n + 1) > 64;
		for (const char *c = group + n + 1; *c != '\0'; c++) {
			if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
				*bad_label_out = TRUE;
		}
		return extra->schema;
	}
	return NULL;
}

/* fills and checks one extra section; error prefixed with file, line and group */
static gpointer
fill_extra_section(const PcConfigSchema *schema, const ConfigFile *main_file,
		   const ConfigFile *overlay, const char *group, gconstpointer main_data,
		   GError **error)
{
	gpointer data = g_malloc0(schema->size);

	if (!fill_section(schema->keys, schema->n_keys, main_file, overlay, group, NULL, 0, data,
			  error)) {
		section_free(schema, data);
		return NULL;
	}
	if (!section_finish(schema, data, main_data, error)) {
		prefix_finish_error(error, schema, main_file, overlay, group);
		section_free(schema, data);
		return NULL;
	}
	return data;
}

static void
add_extra_section(PcConfig *config, ExtraSchema *extra, const char *group, gpointer data)
{
	PcConfigSection section = {
	    .name =
		g_strdup(extra->schema->multi ? group + strlen(extra->schema->name) + 1 : group),
	    .group = g_strdup(group),
	    .data = data,
	};

	g_array_append_val(extra->sections, section);
	g_hash_table_insert(config->extra_groups, (gpointer)section.group, data);
}

static gboolean
load_extra_sections(PcConfig *config, const ConfigFile *file,
		    const PcConfigSchema *const *extra_schemas, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(file->keyfile, NULL);
	GError *collected = NULL;

	config->extras = g_ptr_array_new_with_free_func(extra_schema_free);
	config->extra_groups = g_hash_table_new(g_str_hash, g_str_equal);
	for (gsize i = 0; extra_schemas != NULL && extra_schemas[i] != NULL; i++) {
		ExtraSchema *extra = g_new0(ExtraSchema, 1);

		extra->schema = extra_schemas[i];
		extra->sections = g_array_new(FALSE, FALSE, sizeof(PcConfigSection));
		g_ptr_array_add(config->extras, extra);
	}
	for (guint i = 0; i < config->extras->len; i++) {
		ExtraSchema *extra = g_ptr_array_index(config->extras, i);
		GError *local = NULL;
		gpointer data;

		if (extra->schema->multi)
			continue;
		/* a single section exists with its defaults even when the file has none */
		data = fill_extra_section(extra->schema, file, NULL, extra->schema->name, NULL,
					  &local);
		if (data == NULL) {
			collect_error(&collected, g_steal_pointer(&local));
			continue;
		}
		add_extra_section(config, extra, extra->schema->name, data);
	}
	/* multi sections in file order */
	for (gsize g = 0; groups[g] != NULL; g++) {
		gboolean bad_label = FALSE;
		const PcConfigSchema *schema =
		    extra_schema_for_group(config, groups[g], &bad_label);
		GError *local = NULL;
		gpointer data;

		if (schema == NULL || !schema->multi)
			continue;
		if (bad_label) {
			collect_error(
			    &collected,
			    g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_UNKNOWN_SECTION,
					"%s:%u: [%s]: the name after '%s.' must be 1 to 64 "
					"letters, digits, '_' or '-'",
					file->path, file_line(file, groups[g], NULL), groups[g],
					schema->name));
			continue;
		}
		data = fill_extra_section(schema, file, NULL, groups[g], NULL, &local);
		if (data == NULL) {
			collect_error(&collected, local);
			continue;
		}
		for (guint i = 0; i < config->extras->len; i++) {
			ExtraSchema *extra = g_ptr_array_index(config->extras, i);

			if (extra->schema == schema)
				add_extra_section(config, extra, groups[g], data);
		}
	}
	return finish_errors(collected, error);
}

/* a domain file's extra sections, each merged key by key over the main file's */
static gboolean
load_domain_extras(PcConfig *config, const ConfigFile *main_file, const ConfigFile *file,
		   DomainEntry *entry, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(file->keyfile, NULL);
	GError *collected = NULL;

	for (gsize g = 0; groups[g] != NULL; g++) {
		gboolean bad_label = FALSE;
		const PcConfigSchema *schema =
		    extra_schema_for_group(config, groups[g], &bad_label);
		GError *local = NULL;
		ExtraData *extra;

		if (schema == NULL)
			continue;
		if (!g_hash_table_contains(config->extra_groups, groups[g])) {
			collect_error(&collected,
				      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_UNKNOWN_SECTION,
						  "%s:%u: [%s]: no such section in the main file "
						  "%s; a domain file can only override one",
						  file->path, file_line(file, groups[g], NULL),
						  groups[g], main_file->path));
			continue;
		}
		extra = g_new0(ExtraData, 1);
		extra->schema = schema;
		extra->data = fill_extra_section(
		    schema, main_file, file, groups[g],
		    g_hash_table_lookup(config->extra_groups, groups[g]), &local);
		if (extra->data == NULL) {
			g_free(extra);
			collect_error(&collected, local);
			continue;
		}
		if (entry->extra == NULL)
			entry->extra =
			    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, extra_data_free);
		g_hash_table_insert(entry->extra, g_strdup(groups[g]), extra);
	}
	return finish_errors(collected, error);
}

/* notes where each key of file stands, for pc_config_get_origin (domain "" for the main file) */
static void
record_origins(PcConfig *config, const ConfigFile *file, const char *domain)
{
	GHashTableIter iter;
	gpointer id, line;

	g_hash_table_iter_init(&iter, file->lines);
	while (g_hash_table_iter_next(&iter, &id, &line)) {
		/* "group\nkey" only: a bare "group" is a section's own line */
		if (strchr(id, '\n') == NULL)
			continue;
		g_hash_table_replace(config->origins, g_strconcat(domain, "\n", id, NULL),
				     g_strdup_printf("%s:%u", file->path, GPOINTER_TO_UINT(line)));
	}
}

static gboolean
load_domain_file(PcConfig *config, const ConfigFile *main_file, const char *path,
		 const char *domain, GError **error)
{
	g_autoptr(ConfigFile) file = config_file_read(path, error);
	g_auto(GStrv) groups = NULL;
	DomainEntry *entry = NULL;
	GError *collected = NULL;
	GError *local = NULL;

	if (file == NULL)
		return FALSE;
	groups = g_key_file_get_groups(file->keyfile, NULL);
	for (gsize i = 0; groups[i] != NULL; i++) {
		if (!is_reserved_section(groups[i]))
			collect_error(&collected,
				      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_UNKNOWN_SECTION,
						  "%s:%u: [%s]: not allowed in a domain file (only "
						  "daemon sections such as [relay] or [auth])",
						  path, file_line(file, groups[i], NULL),
						  groups[i]));
	}
	entry = g_new0(DomainEntry, 1);
	entry->path = g_strdup(path);
	entry->schema = config->schema;
	if (config->schema != NULL && g_key_file_has_group(file->keyfile, config->schema->name)) {
		g_autofree PcConfigKey *base_keys = daemon_keys_for(config->schema);

		entry->section = g_malloc0(config->schema->size);
		if (!fill_section(config->schema->keys, config->schema->n_keys, main_file, file,
				  config->schema->name, base_keys, G_N_ELEMENTS(daemon_keys),
				  entry->section, &local)) {
			collect_error(&collected, g_steal_pointer(&local));
		} else if (!section_finish(config->schema, entry->section, config->section,
					   &local)) {
			prefix_finish_error(&local, config->schema, main_file, file,
					    config->schema->name);
			collect_error(&collected, g_steal_pointer(&local));
		}
	}
	if (!load_domain_extras(config, main_file, file, entry, &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (collected != NULL) {
		domain_entry_free(entry);
		return finish_errors(collected, error);
	}
	g_hash_table_insert(config->domains, g_strdup(domain), entry);
	record_origins(config, file, domain);
	return TRUE;
}

static gboolean
load_domains_dir(PcConfig *config, const ConfigFile *main_file, gboolean explicit_dir,
		 GError **error)
{
	const char *dir_path = config->global.domains_dir;
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GError) local_error = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	GError *collected = NULL;
	const char *name;

	if (dir_path == NULL)
		return TRUE;
	dir = g_dir_open(dir_path, 0, &local_error);
	if (dir == NULL) {
		/* the packaged default may be absent; a directory the admin named may not */
		if (!explicit_dir && g_error_matches(local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_IO,
			    "%s: [global] domains_dir: %s", main_file->path, local_error->message);
		return FALSE;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		/* hidden files are tooling's temporaries (write, then rename into place) */
		if (name[0] != '.' && g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(names, g_strdup(name));
	}
	if (names->len > CONFIG_MAX_DOMAIN_FILES) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_IO,
			    "%s: more than %d domain files", dir_path, CONFIG_MAX_DOMAIN_FILES);
		return FALSE;
	}
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < names->len; i++) {
		GError *local = NULL;
		struct stat entry_st;
		const char *file_name = g_ptr_array_index(names, i);
		g_autofree char *path = g_build_filename(dir_path, file_name, NULL);
		g_autofree char *domain =
		    pc_addr_normalize_domain(file_name, strlen(file_name) - strlen(".conf"));

		if (domain == NULL) {
			collect_error(&collected,
				      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
						  "%s: the file name is not DOMAIN.conf with a "
						  "valid domain",
						  path));
			continue;
		}
		if (g_hash_table_contains(config->domains, domain)) {
			collect_error(&collected,
				      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_DUPLICATE,
						  "%s: domain %s has two files (names differ only "
						  "in case or a trailing dot)",
						  path, domain));
			continue;
		}
		if (load_domain_file(config, main_file, path, domain, &local))
			continue;
		/*
		 * removed between the listing and the read (tooling at work):
		 * absent. A dangling link is still an entry, and an error
		 */
		if (lstat(path, &entry_st) != 0 && errno == ENOENT) {
			g_clear_error(&local);
			continue;
		}
		collect_error(&collected, local);
	}
	return finish_errors(collected, error);
}

static void
build_local_domains(PcConfig *config)
{
	GHashTableIter iter;
	gpointer key;

	config->local_exact = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	config->local_parents = g_ptr_array_new_with_free_func(g_free);
	for (gsize i = 0; config->global.local_domains[i] != NULL; i++) {
		const char *domain = config->global.local_domains[i];

		if (domain[0] == '.')
			g_ptr_array_add(config->local_parents, g_strdup(domain));
		else
			g_hash_table_add(config->local_exact, g_strdup(domain));
	}
	g_hash_table_iter_init(&iter, config->domains);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		g_hash_table_add(config->local_exact, g_strdup(key));
}

static gboolean
check_listeners(PcConfig *config, const ConfigFile *file, GError **error)
{
	GError *collected = NULL;

	for (guint i = 0; i < config->listeners->len; i++) {
		const PcListener *listener = g_ptr_array_index(config->listeners, i);
		g_autofree char *group = g_strconcat("listener.", listener->name, NULL);

		if (listener->ports->len == 0 && listener->daemon_names[0] == NULL)
			collect_error(&collected,
				      g_error_new(PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
						  "%s:%u: [%s]: a listener needs ports or "
						  "daemon_names to be recognised",
						  file->path, file_line(file, group, NULL), group));
	}
	return finish_errors(collected, error);
}

/* the daemon's own section and its base keys (socket, pid_file, on_error...) */
static gboolean
load_daemon_section(PcConfig *config, const ConfigFile *file, GError **error)
{
	const PcConfigSchema *schema = config->schema;
	g_autofree PcConfigKey *base_keys = daemon_keys_for(schema);
	GError *collected = NULL;
	GError *local = NULL;

	config->section = g_malloc0(schema->size);
	if (!fill_section(schema->keys, schema->n_keys, file, NULL, schema->name, base_keys,
			  G_N_ELEMENTS(daemon_keys), config->section, &local)) {
		collect_error(&collected, g_steal_pointer(&local));
	} else if (!section_finish(schema, config->section, NULL, &local)) {
		prefix_finish_error(&local, schema, file, NULL, schema->name);
		collect_error(&collected, g_steal_pointer(&local));
	}
	/* the group's keys were checked by the fill above */
	fill_values(base_keys, G_N_ELEMENTS(daemon_keys), file, NULL, schema->name, &config->daemon,
		    &collected);
	if (config->daemon.socket == NULL)
		config->daemon.socket =
		    g_strdup_printf("unix:" PC_SOCKET_DIR_DEFAULT "/%s.sock", schema->name);
	return finish_errors(collected, error);
}

PcConfig *
pc_config_load(const char *path, const PcConfigSchema *schema, GError **error)
{
	return pc_config_load_full(path, schema, NULL, error);
}

PcConfig *
pc_config_load_full(const char *path, const PcConfigSchema *schema,
		    const PcConfigSchema *const *extra_schemas, GError **error)
{
	g_autoptr(ConfigFile) file = NULL;
	g_autoptr(PcConfig) config = NULL;
	GError *collected = NULL;
	GError *local = NULL;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	file = config_file_read(path, error);
	if (file == NULL)
		return NULL;
	config = g_atomic_rc_box_new0(PcConfig);
	config->path = g_strdup(path);
	config->schema = schema;
	config->listeners = g_ptr_array_new_with_free_func(listener_free);
	config->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, domain_entry_free);
	config->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	record_origins(config, file, "");

	/* each step runs even after an earlier one failed: every error is reported */
	if (!fill_section(global_keys, G_N_ELEMENTS(global_keys), file, NULL, "global", NULL, 0,
			  &config->global, &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (!load_main_sections(config, file, &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (!check_listeners(config, file, &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (schema != NULL && !load_daemon_section(config, file, &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (!load_extra_sections(config, file, extra_schemas, &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (!load_domains_dir(config, file,
			      g_key_file_has_key(file->keyfile, "global", "domains_dir", NULL),
			      &local))
		collect_error(&collected, g_steal_pointer(&local));
	if (!finish_errors(collected, error))
		return NULL;
	build_local_domains(config);
	return g_steal_pointer(&config);
}

/* ---------------------------------------------------------------- queries */

PcConfig *
pc_config_ref(PcConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return g_atomic_rc_box_acquire(config);
}

void
pc_config_unref(PcConfig *config)
{
	g_return_if_fail(config != NULL);
	g_atomic_rc_box_release_full(config, pc_config_clear);
}

const char *
pc_config_get_origin(const PcConfig *config, const char *group, const char *key, const char *domain)
{
	g_autofree char *id = NULL;
	const char *origin = NULL;

	g_return_val_if_fail(config != NULL && group != NULL && key != NULL, NULL);
	if (domain != NULL) {
		id = g_strconcat(domain, "\n", group, "\n", key, NULL);
		origin = g_hash_table_lookup(config->origins, id);
		g_clear_pointer(&id, g_free);
	}
	if (origin == NULL) {
		id = g_strconcat("\n", group, "\n", key, NULL);
		origin = g_hash_table_lookup(config->origins, id);
	}
	return origin;
}

const char *
pc_config_get_path(const PcConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->path;
}

const PcGlobalConfig *
pc_config_get_global(const PcConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return &config->global;
}

const PcDaemonBase *
pc_config_get_daemon(const PcConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return &config->daemon;
}

gconstpointer
pc_config_get_section(const PcConfig *config)
{
	g_return_val_if_fail(config != NULL, NULL);
	return config->section;
}

gconstpointer
pc_config_get_domain_section(const PcConfig *config, const char *domain)
{
	const DomainEntry *entry;

	g_return_val_if_fail(config != NULL, NULL);
	if (domain == NULL)
		return config->section;
	entry = g_hash_table_lookup(config->domains, domain);
	if (entry == NULL || entry->section == NULL)
		return config->section;
	return entry->section;
}

guint
pc_config_get_n_domain_files(const PcConfig *config)
{
	g_return_val_if_fail(config != NULL, 0);
	return g_hash_table_size(config->domains);
}

const PcConfigSection *
pc_config_get_sections(const PcConfig *config, const char *schema_name, guint *n_sections_out)
{
	g_return_val_if_fail(config != NULL, NULL);
	g_return_val_if_fail(schema_name != NULL, NULL);
	g_return_val_if_fail(n_sections_out != NULL, NULL);

	*n_sections_out = 0;
	for (guint i = 0; config->extras != NULL && i < config->extras->len; i++) {
		const ExtraSchema *extra = g_ptr_array_index(config->extras, i);

		if (strcmp(extra->schema->name, schema_name) != 0)
			continue;
		*n_sections_out = extra->sections->len;
		return extra->sections->len > 0 ? (const PcConfigSection *)extra->sections->data
						: NULL;
	}
	return NULL;
}

gconstpointer
pc_config_get_domain_group(const PcConfig *config, const char *group, const char *domain)
{
	const DomainEntry *entry;

	g_return_val_if_fail(config != NULL, NULL);
	g_return_val_if_fail(group != NULL, NULL);

	if (config->extra_groups == NULL)
		return NULL;
	entry = domain != NULL ? g_hash_table_lookup(config->domains, domain) : NULL;
	if (entry != NULL && entry->extra != NULL) {
		const ExtraData *extra = g_hash_table_lookup(entry->extra, group);

		if (extra != NULL)
			return extra->data;
	}
	return g_hash_table_lookup(config->extra_groups, group);
}

guint
pc_config_get_n_listeners(const PcConfig *config)
{
	g_return_val_if_fail(config != NULL, 0);
	return config->listeners->len;
}

const PcListener *
pc_config_get_listener(const PcConfig *config, guint index)
{
	g_return_val_if_fail(config != NULL && index < config->listeners->len, NULL);
	return g_ptr_array_index(config->listeners, index);
}

gboolean
pc_config_is_local_domain(const PcConfig *config, const char *domain)
{
	g_return_val_if_fail(config != NULL, FALSE);
	g_return_val_if_fail(domain != NULL, FALSE);

	if (g_hash_table_contains(config->local_exact, domain))
		return TRUE;
	if (domain[0] == '[' || config->local_parents->len == 0)
		return FALSE;
	/* ".example.com" matches a.example.com and a.b.example.com, not example.com */
	for (const char *dot = strchr(domain, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		for (guint i = 0; i < config->local_parents->len; i++) {
			if (strcmp(dot, g_ptr_array_index(config->local_parents, i)) == 0)
				return TRUE;
		}
	}
	return FALSE;
}

gboolean
pc_config_has_domain_file(const PcConfig *config, const char *domain)
{
	g_return_val_if_fail(config != NULL, FALSE);
	g_return_val_if_fail(domain != NULL, FALSE);
	return g_hash_table_contains(config->domains, domain);
}

gboolean
pc_config_is_trusted(const PcConfig *config, const PcNetAddress *address)
{
	g_return_val_if_fail(config != NULL, FALSE);
	if (address == NULL)
		return FALSE;
	return pc_net_list_contains(config->global.trusted_networks, address);
}

const PcListener *
pc_config_find_listener(const PcConfig *config, const char *daemon_name, gint64 daemon_port)
{
	g_return_val_if_fail(config != NULL, NULL);

	if (daemon_name != NULL) {
		for (guint i = 0; i < config->listeners->len; i++) {
			const PcListener *listener = g_ptr_array_index(config->listeners, i);

			if (g_strv_contains((const char *const *)listener->daemon_names,
					    daemon_name))
				return listener;
		}
	}
	if (daemon_port > 0) {
		for (guint i = 0; i < config->listeners->len; i++) {
			const PcListener *listener = g_ptr_array_index(config->listeners, i);

			for (guint p = 0; p < listener->ports->len; p++) {
				if (g_array_index(listener->ports, gint64, p) == daemon_port)
					return listener;
			}
		}
	}
	return NULL;
}

gboolean
pc_config_warn_once(PcConfig *config, guint bit)
{
	g_return_val_if_fail(config != NULL, FALSE);
	return (atomic_fetch_or(&config->warned, bit) & bit) == 0;
}

gboolean
pc_config_check_all(const char *path, const PcConfigDaemonSchemas *daemons, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GError *collected = NULL;

	g_return_val_if_fail(path != NULL, FALSE);
	g_return_val_if_fail(daemons != NULL, FALSE);

	for (gsize d = 0; daemons[d].schema != NULL; d++) {
		g_autoptr(GError) local = NULL;
		g_autoptr(PcConfig) config =
		    pc_config_load_full(path, daemons[d].schema, daemons[d].extra_schemas, &local);
		g_auto(GStrv) lines = NULL;

		if (config != NULL)
			continue;
		/* [global] errors come once per daemon: report each line once */
		lines = g_strsplit(local->message, "\n", -1);
		for (gsize i = 0; lines[i] != NULL; i++) {
			if (!g_hash_table_add(seen, g_strdup(lines[i])))
				continue;
			collect_error(&collected,
				      g_error_new_literal(PC_CONFIG_ERROR, local->code, lines[i]));
		}
	}
	return finish_errors(collected, error);
}

/* see pc_config_keep_restart_values; group names the section in the log line */
static guint
keep_restart_keys(const PcConfigKey *keys, gsize n_keys, const char *group, gpointer base,
		  gconstpointer running_base)
{
	guint changed = 0;

	for (gsize i = 0; i < n_keys; i++) {
		g_autoptr(GString) running = NULL;
		g_autoptr(GString) wanted = NULL;
		g_autoptr(GError) error = NULL;

		if ((keys[i].flags & PC_CONFIG_KEY_RESTART) == 0)
			continue;
		running = g_string_new(NULL);
		wanted = g_string_new(NULL);
		pc_config_describe_value(running, &keys[i], running_base);
		pc_config_describe_value(wanted, &keys[i], base);
		if (strcmp(running->str, wanted->str) == 0)
			continue;
		changed++;
		g_warning("reload: [%s] %s changed: takes effect at restart (running with %s)",
			  group, keys[i].key, running->str[0] != '\0' ? running->str : "(empty)");
		pc_config_clear_fields(&keys[i], 1, base);
		/* describe writes what parse reads: a failure here is a bug */
		if (!pc_config_parse_value(&keys[i], running->str, base, &error))
			g_critical("reload: [%s] %s: cannot restore '%s': %s", group, keys[i].key,
				   running->str, error->message);
	}
	return changed;
}

guint
pc_config_keep_restart_values(PcConfig *config, const PcConfig *running)
{
	guint changed;

	g_return_val_if_fail(config != NULL, 0);
	g_return_val_if_fail(running != NULL, 0);

	changed = keep_restart_keys(global_keys, G_N_ELEMENTS(global_keys), "global",
				    &config->global, &running->global);
	if (config->schema == NULL || config->schema != running->schema)
		return changed;
	changed += keep_restart_keys(daemon_keys, G_N_ELEMENTS(daemon_keys), config->schema->name,
				     &config->daemon, &running->daemon);
	changed += keep_restart_keys(config->schema->keys, config->schema->n_keys,
				     config->schema->name, config->section, running->section);
	/* extra sections present in both, matched by group */
	for (guint e = 0; config->extras != NULL && e < config->extras->len; e++) {
		const ExtraSchema *extra = g_ptr_array_index(config->extras, e);

		for (guint i = 0; i < extra->sections->len; i++) {
			PcConfigSection *section =
			    &g_array_index(extra->sections, PcConfigSection, i);
			gconstpointer before =
			    running->extra_groups != NULL
				? g_hash_table_lookup(running->extra_groups, section->group)
				: NULL;

			if (before != NULL)
				changed += keep_restart_keys(extra->schema->keys,
							     extra->schema->n_keys, section->group,
							     (gpointer)section->data, before);
		}
	}
	return changed;
}

char *
pc_config_describe(const PcConfig *config)
{
	GString *out = g_string_new(NULL);

	g_return_val_if_fail(config != NULL, NULL);

	g_string_append(out, "[global]\n");
	for (gsize i = 0; i < G_N_ELEMENTS(global_keys); i++) {
		g_string_append_printf(out, "%s = ", global_keys[i].key);
		pc_config_describe_value(out, &global_keys[i], &config->global);
		g_string_append_c(out, '\n');
	}
	if (config->schema != NULL) {
		g_string_append_printf(out, "[%s]\n", config->schema->name);
		for (gsize i = 0; i < G_N_ELEMENTS(daemon_keys); i++) {
			g_string_append_printf(out, "%s = ", daemon_keys[i].key);
			pc_config_describe_value(out, &daemon_keys[i], &config->daemon);
			g_string_append_c(out, '\n');
		}
		for (gsize i = 0; i < config->schema->n_keys; i++) {
			g_string_append_printf(out, "%s = ", config->schema->keys[i].key);
			pc_config_describe_value(out, &config->schema->keys[i], config->section);
			g_string_append_c(out, '\n');
		}
	}
	for (guint e = 0; config->extras != NULL && e < config->extras->len; e++) {
		const ExtraSchema *extra = g_ptr_array_index(config->extras, e);

		for (guint i = 0; i < extra->sections->len; i++) {
			const PcConfigSection *section =
			    &g_array_index(extra->sections, PcConfigSection, i);

			g_string_append_printf(out, "[%s]\n", section->group);
			for (gsize k = 0; k < extra->schema->n_keys; k++) {
				g_string_append_printf(out, "%s = ", extra->schema->keys[k].key);
				pc_config_describe_value(out, &extra->schema->keys[k],
							 section->data);
				g_string_append_c(out, '\n');
			}
		}
	}
	return g_string_free(out, FALSE);
}

/* ------------------------------------------------------------------ slot */

void
pc_config_slot_init(PcConfigSlot *slot, PcConfig *config)
{
	g_return_if_fail(slot != NULL);
	g_mutex_init(&slot->lock);
	slot->current = config != NULL ? pc_config_ref(config) : NULL;
}

PcConfig *
pc_config_slot_acquire(PcConfigSlot *slot)
{
	PcConfig *config;

	g_return_val_if_fail(slot != NULL, NULL);
	g_mutex_lock(&slot->lock);
	config = slot->current != NULL ? pc_config_ref(slot->current) : NULL;
	g_mutex_unlock(&slot->lock);
	return config;
}

void
pc_config_slot_replace(PcConfigSlot *slot, PcConfig *config)
{
	PcConfig *old;

	g_return_if_fail(slot != NULL);
	g_return_if_fail(config != NULL);
	g_mutex_lock(&slot->lock);
	old = slot->current;
	slot->current = pc_config_ref(config);
	g_mutex_unlock(&slot->lock);
	/* the last unref may free a large snapshot: not under the lock */
	if (old != NULL)
		pc_config_unref(old);
}

void
pc_config_slot_clear(PcConfigSlot *slot)
{
	g_return_if_fail(slot != NULL);
	g_clear_pointer(&slot->current, pc_config_unref);
	g_mutex_clear(&slot->lock);
}
