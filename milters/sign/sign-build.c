/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sign-build: the [sign] section as portcullis-sign loads it, with the
 * build hook that reads the private keys, the OpenDKIM tables and makes
 * the snapshot's signer settings (SignDkimLib), and the clear hook that frees them
 * with the snapshot. Kept apart from sign-config.c so that the other
 * daemons, which check [sign]'s syntax, never link key loading.
 *
 * Keys are read when the snapshot is built (at start as the daemon's user,
 * at reload by the reload thread), never on a connection thread; a key
 * that is missing, unsafe, too weak or of the wrong type fails the load,
 * so the daemon does not start, or the running snapshot and its keys stay.
 * A domains.d section that names the main section's key file shares its
 * key.
 */
#include <unistd.h>

#include "sign-policy.h"

/* one of the section's keys: shared with the main section's when it names the same file */
static gboolean
build_key(SignConfig *sign, const SignConfig *main_sign, SignAlgorithm algorithm,
	  const char *key_name, const char *path, GError **error)
{
	g_autofree char *warning = NULL;
	SignKey *key;

	if (path == NULL)
		return TRUE;
	if (main_sign != NULL) {
		const char *main_path =
		    algorithm == SIGN_ALG_RSA_SHA256 ? main_sign->key : main_sign->key_ed25519;

		if (g_strcmp0(main_path, path) == 0) {
			/* NULL when the main section failed: that error is reported there */
			sign->keys[algorithm] = main_sign->keys[algorithm] != NULL
						    ? sign_key_ref(main_sign->keys[algorithm])
						    : NULL;
			return TRUE;
		}
	}
	key = sign_key_load(path, (guint)geteuid(), &warning, error);
	if (key == NULL) {
		g_prefix_error(error, "%s: ", key_name);
		return FALSE;
	}
	sign->keys[algorithm] = key;
	if (sign_key_get_algorithm(key) != algorithm) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "%s: %s holds an %s key, not %s", key_name, path,
			    sign_key_get_algorithm(key) == SIGN_ALG_RSA_SHA256 ? "RSA" : "Ed25519",
			    algorithm == SIGN_ALG_RSA_SHA256 ? "RSA" : "Ed25519");
		return FALSE;
	}
	if (warning != NULL)
		g_warning("[sign] %s: %s", key_name, warning);
	return TRUE;
}

static gboolean
build_tables(SignConfig *sign, GError **error)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

	if (sign->keytable == NULL)
		return TRUE;
	sign->key_table = sign_key_table_load(sign->keytable, (guint)geteuid(), warnings, error);
	if (sign->key_table == NULL) {
		g_prefix_error(error, "keytable: ");
		return FALSE;
	}
	sign->signing_table =
	    sign_signing_table_load(sign->signingtable, sign->key_table, warnings, error);
	if (sign->signing_table == NULL) {
		g_prefix_error(error, "signingtable: ");
		return FALSE;
	}
	for (guint i = 0; i < warnings->len; i++)
		g_warning("[sign] %s", (const char *)g_ptr_array_index(warnings, i));
	return TRUE;
}

static gboolean
sign_config_build(gpointer section, gconstpointer main_section, GError **error)
{
	SignConfig *sign = section;
	const SignConfig *main_sign = main_section;
	const char *const *oversign = (const char *const *)sign->oversign_headers;

	if (!build_key(sign, main_sign, SIGN_ALG_RSA_SHA256, "key", sign->key, error) ||
	    !build_key(sign, main_sign, SIGN_ALG_ED25519_SHA256, "key_ed25519", sign->key_ed25519,
		       error))
		return FALSE;
	/* the rest belongs to the server, not to a domain: built once, in the main section */
	if (main_sign != NULL)
		return TRUE;
	if (!build_tables(sign, error))
		return FALSE;
	sign->lib = sign_dkim_lib_new(oversign, (guint64)(sign->signature_ttl / G_USEC_PER_SEC));
	return TRUE;
}

static void
sign_config_clear(gpointer section)
{
	SignConfig *sign = section;

	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++)
		g_clear_pointer(&sign->keys[algorithm], sign_key_unref);
	g_clear_pointer(&sign->key_table, sign_key_table_unref);
	g_clear_pointer(&sign->signing_table, sign_signing_table_unref);
	g_clear_pointer(&sign->lib, sign_dkim_lib_free);
}

const PcConfigSchema sign_config_schema = {
    .name = "sign",
    .keys = sign_config_keys,
    .n_keys = SIGN_CONFIG_N_KEYS,
    .size = sizeof(SignConfig),
    .check = sign_config_check,
    .build = sign_config_build,
    .clear = sign_config_clear,
};
