/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis dkim-check: is the key record published for DOMAIN and
 * SELECTOR the one of the key file portcullis-sign would sign with? The
 * step between publishing a new key and switching to it (rotation:
 * keygen, publish, dkim-check, then domains.d and a reload).
 *
 * The record is fetched through pc-dns with the configuration's [global]
 * dns settings, as portcullis-verify would fetch it; the key file is
 * --key, or the one domains.d/DOMAIN.conf names for the selector
 * ([sign] selector/key or selector_ed25519/key_ed25519), read with the
 * checks portcullis-sign makes (mode, owner, type, size).
 *
 * Output, one line: RESULT TAB NAME: why. RESULT is match, mismatch,
 * missing, unusable or dns-error. Exit status 0 for match, 1 for anything
 * else (so that a rotation script can wait on it), 2 for a usage or
 * configuration error.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pc-config.h"
#include "pc-dns.h"
#include "sign-keys.h"
#include "sign-policy.h"
#include "tool-dkim.h"
#include "tool.h"
#include "verify-dkim.h"

/* (transfer none) the key file domains.d names for the selector, or NULL */
static const char *
dkim_check_key_path(const PcConfig *config, const char *domain, const char *selector)
{
	const SignConfig *sign = pc_config_get_domain_section(config, domain);

	if (sign == NULL)
		return NULL;
	if (g_strcmp0(sign->selector, selector) == 0 && sign->key != NULL)
		return sign->key;
	if (g_strcmp0(sign->selector_ed25519, selector) == 0 && sign->key_ed25519 != NULL)
		return sign->key_ed25519;
	return NULL;
}

/* the TXT records' texts, NULL-terminated; NULL when there is no answer to compare */
static char **
dkim_check_records(const PcDnsResult *result)
{
	GPtrArray *texts = g_ptr_array_new();

	for (guint i = 0; i < result->records->len; i++)
		g_ptr_array_add(texts, g_strdup(pc_dns_result_record(result, i)->text));
	g_ptr_array_add(texts, NULL);
	return (char **)g_ptr_array_free(texts, FALSE);
}

static int
dkim_check_run(const char *config_path, const char *key_path, const char *domain,
	       const char *selector)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(SignKey) key = NULL;
	g_autoptr(PcDnsResult) result = NULL;
	g_auto(GStrv) records = NULL;
	g_autofree char *warning = NULL;
	g_autofree char *name = g_strdup_printf("%s._domainkey.%s", selector, domain);
	g_autofree char *why = NULL;
	ToolDkimCheck check;

	if (!tool_load("dkim-check", config_path, &sign_config_check_schema, &config, &dns))
		return TOOL_EXIT_USAGE;
	if (key_path == NULL) {
		key_path = dkim_check_key_path(config, domain, selector);
		if (key_path == NULL) {
			fprintf(stderr,
				"portcullis dkim-check: no key file for selector %s of %s in "
				"domains.d ([sign] selector and key, or selector_ed25519 and "
				"key_ed25519); give --key FILE\n",
				selector, domain);
			return TOOL_EXIT_USAGE;
		}
	}
	key = sign_key_load(key_path, getuid(), &warning, &error);
	if (key == NULL) {
		fprintf(stderr, "portcullis dkim-check: %s\n", error->message);
		return TOOL_EXIT_USAGE;
	}
	if (warning != NULL)
		fprintf(stderr, "portcullis dkim-check: warning: %s\n", warning);
	result = pc_dns_query(dns, name, PC_DNS_TYPE_TXT, NULL);
	switch (result->status) {
	case PC_DNS_OK:
		records = dkim_check_records(result);
		check = tool_dkim_compare((const char *const *)records, key, &why);
		break;
	case PC_DNS_NODATA:
	case PC_DNS_NXDOMAIN:
		check = tool_dkim_compare(NULL, key, &why);
		break;
	default:
		check = TOOL_DKIM_DNS_ERROR;
		why = g_strdup_printf("DNS: %s (%s); try again",
				      pc_dns_status_to_string(result->status),
				      result->reason != NULL ? result->reason : "-");
	}
	printf("%s\t%s: %s (key file %s)\n", tool_dkim_check_to_string(check), name, why, key_path);
	return check == TOOL_DKIM_MATCH ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
}

int
tool_dkim_check(int argc, char **argv)
{
	g_autofree char *config_path = NULL;
	g_autofree char *key_path = NULL;
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path,
	     "the private key file (default: the one domains.d names for SELECTOR)", "FILE"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(
	    "DOMAIN SELECTOR - does the published DKIM record match the key file?");
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(
	    context, "Prints RESULT<TAB>NAME: why; RESULT is match, mismatch, missing, unusable "
		     "or dns-error.\nExit status 0 for match, 1 otherwise, 2 for a usage or "
		     "configuration error.");
	if (!g_option_context_parse(context, &argc, &argv, &error))
		return tool_usage_error(context, "portcullis dkim-check", error->message);
	if (argc != 3)
		return tool_usage_error(context, "portcullis dkim-check",
					"expected DOMAIN SELECTOR");
	if (!verify_dkim_name_is_valid(argv[1], 2) || !verify_dkim_name_is_valid(argv[2], 1))
		return tool_usage_error(context, "portcullis dkim-check",
					"DOMAIN and SELECTOR must be domain names");
	return dkim_check_run(config_path, key_path, argv[1], argv[2]);
}
