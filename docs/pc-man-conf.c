/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-man-conf TEMPLATE: portcullis.conf(5) on stdout, the template with its
 * @KEYS@ line replaced by every section's keys as the schema tables define
 * them (type, default, whether domains.d may set it, whether a reload
 * applies it, and the key's own line of documentation), so that the page
 * cannot drift from what the daemons read. A key without documentation
 * fails the build: exit 1, naming it. Built and run at build time only.
 */
#include <stdio.h>
#include <string.h>

#include "daemons.h"
#include "pc-config.h"

static guint undocumented;

/* troff-safe text: backslashes doubled, a leading '.' or '\'' escaped, '-' as \- */
static void
put_text(GString *out, const char *text)
{
	if (text[0] == '.' || text[0] == '\'')
		g_string_append(out, "\\&");
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\e");
		else if (*p == '-')
			g_string_append(out, "\\-");
		else
			g_string_append_c(out, *p);
	}
}

static const char *
type_name(const PcConfigKey *key)
{
	switch (key->type) {
	case PC_CONFIG_STRING:
		return "text";
	case PC_CONFIG_STRING_LIST:
		return "list (separated by ';')";
	case PC_CONFIG_BOOL:
		return "yes or no";
	case PC_CONFIG_INT:
		return "integer";
	case PC_CONFIG_DURATION:
		return "duration (30s, 10m, 1h, 1d, 1w; a bare number is seconds)";
	case PC_CONFIG_SIZE:
		return "size (512, 10k, 10M, 1G)";
	case PC_CONFIG_ENUM:
		return "one of";
	case PC_CONFIG_NETWORKS:
		return "networks (ADDRESS[/PREFIX]; ...)";
	case PC_CONFIG_DOMAINS:
		return "domains (DOMAIN; .DOMAIN for its subdomains; ...)";
	case PC_CONFIG_INT_LIST:
		return "list of integers";
	case PC_CONFIG_RATE:
		return "rate (COUNT/PERIOD; ..., e.g. 60/1m; 500/1h)";
	default:
		return "value";
	}
}

static void
put_key(GString *out, const char *section, const PcConfigKey *key)
{
	g_string_append(out, ".TP\n.B ");
	put_text(out, key->key);
	g_string_append(out, "\n");
	if (key->doc == NULL || key->doc[0] == '\0') {
		fprintf(stderr, "pc-man-conf: [%s] %s has no documentation in its schema table\n",
			section, key->key);
		undocumented++;
	} else {
		put_text(out, key->doc);
		g_string_append(out, ".\n");
	}
	g_string_append(out, ".br\n");
	put_text(out, type_name(key));
	if (key->type == PC_CONFIG_ENUM && key->choices != NULL) {
		for (gsize i = 0; key->choices[i] != NULL; i++) {
			g_string_append(out, i == 0 ? " " : " | ");
			put_text(out, key->choices[i]);
		}
	}
	if (key->type == PC_CONFIG_INT && key->max > key->min)
		g_string_append_printf(out, ", %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, key->min,
				       key->max);
	g_string_append(out, "; default: ");
	if (key->default_value == NULL || key->default_value[0] == '\0') {
		g_string_append(out, "empty");
	} else {
		g_string_append(out, "\\fB");
		put_text(out, key->default_value);
		g_string_append(out, "\\fR");
	}
	if (key->flags & PC_CONFIG_KEY_PER_DOMAIN)
		g_string_append(out, "; may be set per domain");
	if (key->flags & PC_CONFIG_KEY_RESTART)
		g_string_append(out, "; read at start only (a reload keeps the running value)");
	g_string_append(out, ".\n");
}

static void
put_section(GString *out, const char *section, const char *about, const PcConfigKey *keys,
	    gsize n_keys)
{
	g_string_append(out, ".SS [");
	put_text(out, section);
	g_string_append(out, "]\n");
	if (about != NULL) {
		put_text(out, about);
		g_string_append(out, "\n");
	}
	for (gsize i = 0; i < n_keys; i++)
		put_key(out, section, &keys[i]);
}

static void
put_keys(GString *out)
{
	const PcConfigKey *keys;
	gsize n_keys;

	keys = pc_config_get_key_table(PC_CONFIG_KEYS_GLOBAL, &n_keys);
	put_section(out, "global", "Read by every daemon.", keys, n_keys);
	keys = pc_config_get_key_table(PC_CONFIG_KEYS_LISTENER, &n_keys);
	put_section(out, "listener.NAME",
		    "One section per MTA listener: its role, and how the daemons recognise it.",
		    keys, n_keys);
	keys = pc_config_get_key_table(PC_CONFIG_KEYS_DAEMON, &n_keys);
	put_section(out, "DAEMON",
		    "Every daemon section ([relay], [auth], [rate], [verify], [sign]) also has "
		    "these.",
		    keys, n_keys);
	for (gsize d = 0; portcullis_daemon_schemas[d].schema != NULL; d++) {
		const PcConfigDaemonSchemas *daemon = &portcullis_daemon_schemas[d];
		g_autofree char *about =
		    g_strdup_printf("Read by portcullis-%s(8).", daemon->schema->name);

		put_section(out, daemon->schema->name, about, daemon->schema->keys,
			    daemon->schema->n_keys);
		for (gsize e = 0; daemon->extra_schemas != NULL && daemon->extra_schemas[e] != NULL;
		     e++) {
			const PcConfigSchema *extra = daemon->extra_schemas[e];
			g_autofree char *name = extra->multi
						    ? g_strdup_printf("%s.NAME", extra->name)
						    : g_strdup(extra->name);

			put_section(out, name, about, extra->keys, extra->n_keys);
		}
	}
}

int
main(int argc, char **argv)
{
	g_autofree char *template = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) out = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: pc-man-conf TEMPLATE\n");
		return 2;
	}
	if (!g_file_get_contents(argv[1], &template, NULL, &error)) {
		fprintf(stderr, "pc-man-conf: %s\n", error->message);
		return 2;
	}
	lines = g_strsplit(template, "\n", -1);
	for (gsize i = 0; lines[i] != NULL; i++) {
		if (strcmp(lines[i], "@KEYS@") == 0)
			put_keys(out);
		else if (lines[i + 1] != NULL || lines[i][0] != '\0')
			g_string_append_printf(out, "%s\n", lines[i]);
	}
	if (undocumented > 0) {
		fprintf(stderr, "pc-man-conf: %u keys without documentation\n", undocumented);
		return 1;
	}
	fputs(out->str, stdout);
	return 0;
}
