/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the config loader: a main file plus up to three
 * domains.d files, loaded with the real schemas of portcullis-relay,
 * portcullis-auth and portcullis-rate (its [rate.NAME] and [greylist]
 * extras included).
 *
 * The input is the main file, then each domain file after a line "%%", then
 * (after a fourth "%%") a sender_login_maps file:
 *
 *   [auth]
 *   sender_login_maps = @DIR@/sender_login
 *   %%
 *   [auth]
 *   senders = @example.com = alice
 *   %%
 *   %%
 *   %%
 *   alice@example.com alice
 *
 * The files are written into a fresh directory (g_dir_make_tmp) that is
 * removed again before the input is done with: the domain files into its
 * domains.d, the map as DIR/sender_login. A line "domains_dir = DIR/domains.d"
 * is put into the main file's [global] (which is added when the input has
 * none), and "@DIR@" in the main file stands for the directory.
 *
 * A config file is trusted input, but the admin's typo must still give an
 * error, never a crash or a leak. Besides sanitizer reports the target checks
 * that every error is a PC_CONFIG_ERROR (or the map's AUTH_MAPS_ERROR) that
 * names one of the files, and that a loaded snapshot answers every query.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "auth-policy.h"
#include "pc-config.h"
#include "rate-policy.h"
#include "relay-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a config file is small; a longer input tests nothing new */
#define FUZZ_MAX_INPUT (64 * 1024)
#define FUZZ_SEPARATOR "\n%%\n"

/* the files after the main one, in input order: three domain files and the map */
static const char *const extra_files[] = {
    "domains.d/example.com.conf",
    "domains.d/Example.NET.conf",
    "domains.d/sub.example.org.conf",
    "sender_login",
};
#define FUZZ_N_DOMAIN_FILES 3

/* the domains queried on a loaded snapshot */
static const char *const query_domains[] = {
    "example.com", "example.net", "sub.example.org", "other.example.com", "[192.0.2.1]",
};

/* the main file with domains_dir set: after its "[global]" line, else in a new [global] */
static GString *
fuzz_main_text(const char *text, gsize len, const char *dir, const char *domains_dir)
{
	GString *out = g_string_new_len(text, (gssize)len);
	g_autofree char *line = g_strdup_printf("domains_dir = %s\n", domains_dir);
	gsize pos = 0;

	g_string_replace(out, "@DIR@", dir, 0);
	while (pos < out->len) {
		const char *start = out->str + pos;
		const char *newline = memchr(start, '\n', out->len - pos);
		gsize n = newline != NULL ? (gsize)(newline - start) : out->len - pos;
		g_autofree char *row = g_strstrip(g_strndup(start, n));

		if (strcmp(row, "[global]") == 0) {
			if (newline == NULL)
				g_string_append_c(out, '\n');
			return g_string_insert(out, (gssize)(pos + n + 1), line);
		}
		pos += n + 1;
	}
	g_string_prepend(out, line);
	return g_string_prepend(out, "[global]\n");
}

static void
fuzz_write(const char *path, const char *text, gsize len)
{
	g_autoptr(GError) error = NULL;

	g_file_set_contents_full(path, text, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0600, &error);
	g_assert_no_error(error);
}

static void
fuzz_check_error(const GError *error, const char *dir)
{
	g_assert_nonnull(error);
	/* a network list keeps pc-net's error, the map auth-maps' */
	g_assert_true(error->domain == PC_CONFIG_ERROR || error->domain == PC_NET_ERROR ||
		      error->domain == AUTH_MAPS_ERROR);
	/* every error names the file it is about: the main file or a domain file */
	if (!g_str_has_prefix(error->message, dir)) {
		g_printerr("error does not name a file: %s\n", error->message);
		g_assert_not_reached();
	}
}

/* what a daemon asks a snapshot: none of it may crash or fail on a loaded one */
static void
fuzz_query(PcConfig *config, const PcConfigSchema *schema)
{
	g_autofree char *described = pc_config_describe(config);
	guint n_limits = 0;
	guint n_greylist = 0;
	const PcConfigSection *limits = pc_config_get_sections(config, "rate", &n_limits);
	gboolean greylist = pc_config_get_sections(config, "greylist", &n_greylist) != NULL;

	g_assert_nonnull(described);
	g_assert_nonnull(pc_config_get_global(config));
	g_assert_nonnull(pc_config_get_daemon(config)->socket);
	g_assert_true(pc_config_get_section(config) != NULL || schema == NULL);
	g_assert_cmpuint(pc_config_get_n_domain_files(config), <=, FUZZ_N_DOMAIN_FILES);

	for (gsize i = 0; i < G_N_ELEMENTS(query_domains); i++) {
		const char *domain = query_domains[i];

		g_assert_nonnull(pc_config_get_domain_section(config, domain));
		pc_config_is_local_domain(config, domain);
		for (guint s = 0; s < n_limits; s++)
			g_assert_nonnull(
			    pc_config_get_domain_group(config, limits[s].group, domain));
		if (greylist)
			g_assert_nonnull(pc_config_get_domain_group(config, "greylist", domain));
	}
	pc_config_find_listener(config, "submission", 587);
	pc_config_find_listener(config, NULL, 25);
}

static void
fuzz_load(const char *path, const char *dir, const PcConfigSchema *schema,
	  const PcConfigSchema *const *extra_schemas)
{
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(GError) error = NULL;

	config = pc_config_load_full(path, schema, extra_schemas, &error);
	if (config == NULL) {
		fuzz_check_error(error, dir);
		return;
	}
	g_assert_no_error(error);
	fuzz_query(config, schema);
}

/* splits the input at the separators and writes the files; returns how many after the main one */
static guint
fuzz_write_files(const char *text, gsize size, const char *dir, const char *main_path,
		 const char *domains_dir)
{
	const char *rest =
	    size > 0 ? memmem(text, size, FUZZ_SEPARATOR, strlen(FUZZ_SEPARATOR)) : NULL;
	g_autoptr(GString) main_text =
	    fuzz_main_text(text, rest != NULL ? (gsize)(rest - text) : size, dir, domains_dir);
	guint n_files = 0;

	fuzz_write(main_path, main_text->str, main_text->len);
	/* the last file takes the rest, separators and all */
	while (rest != NULL && n_files < G_N_ELEMENTS(extra_files)) {
		const char *start = rest + strlen(FUZZ_SEPARATOR);
		gsize left = size - (gsize)(start - text);
		const char *next = n_files + 1 < G_N_ELEMENTS(extra_files)
				       ? memmem(start, left, FUZZ_SEPARATOR, strlen(FUZZ_SEPARATOR))
				       : NULL;
		g_autofree char *path = g_build_filename(dir, extra_files[n_files], NULL);

		fuzz_write(path, start, next != NULL ? (gsize)(next - start) : left);
		n_files++;
		rest = next;
	}
	return n_files;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *dir = NULL;
	g_autofree char *main_path = NULL;
	g_autofree char *domains_dir = NULL;
	guint n_files;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	dir = g_dir_make_tmp("pc-fuzz-config-XXXXXX", NULL);
	g_assert_nonnull(dir);
	main_path = g_build_filename(dir, "portcullis.conf", NULL);
	domains_dir = g_build_filename(dir, "domains.d", NULL);
	g_assert_cmpint(g_mkdir(domains_dir, 0700), ==, 0);
	n_files = fuzz_write_files((const char *)data, size, dir, main_path, domains_dir);

	fuzz_load(main_path, dir, &relay_config_schema, NULL);
	fuzz_load(main_path, dir, &auth_config_schema, NULL);
	fuzz_load(main_path, dir, &rate_config_schema, rate_extra_schemas);

	for (guint i = 0; i < n_files; i++) {
		g_autofree char *path = g_build_filename(dir, extra_files[i], NULL);

		g_assert_cmpint(g_remove(path), ==, 0);
	}
	g_assert_cmpint(g_remove(main_path), ==, 0);
	g_assert_cmpint(g_rmdir(domains_dir), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
	return 0;
}
