/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-check-rules: see tool-check-rules.h.
 */
#include "tool-check-rules.h"

#include <stdlib.h>
#include <string.h>

#include "auth-policy.h"
#include "pc-net.h"
#include "rate-policy.h"
#include "stack-config.h"
#include "verify-policy.h"

static void G_GNUC_PRINTF(3, 4) warn(GPtrArray *warnings, const char *path, const char *format, ...)
{
	va_list args;
	g_autofree char *text = NULL;

	va_start(args, format);
	text = g_strdup_vprintf(format, args);
	va_end(args);
	g_ptr_array_add(warnings, g_strdup_printf("%s: %s", path, text));
}

/* "FILE:LINE" where [group] key is set, else the file (the default applies) */
static const char *
where(const ToolCheckInput *input, const PcConfig *config, const char *group, const char *key)
{
	const char *origin = config != NULL ? pc_config_get_origin(config, group, key, NULL) : NULL;

	return origin != NULL ? origin : input->path;
}

static gboolean
strv_has(char **strv, const char *value)
{
	return strv != NULL && g_strv_contains((const char *const *)strv, value);
}

static void
listener_rules(const ToolCheckInput *input, GPtrArray *warnings)
{
	const PcConfig *config = input->auth;
	const AuthConfig *auth;

	if (config == NULL)
		return;
	auth = pc_config_get_section(config);
	if (pc_config_get_n_listeners(config) == 0)
		warn(warnings, input->path,
		     "[listener]: none defined: every connection is judged as mx, so logins on "
		     "submission ports are refused ([auth] auth_on_mx) and nothing is signed");
	for (guint i = 0; i < pc_config_get_n_listeners(config); i++) {
		const PcListener *listener = pc_config_get_listener(config, i);
		const char *role = pc_listener_role_to_string(listener->role);

		if ((listener->role == PC_ROLE_SUBMISSION || listener->role == PC_ROLE_SMTPS) &&
		    !strv_has(auth->require_tls, role))
			warn(warnings, where(input, config, "auth", "require_tls"),
			     "[auth] require_tls: does not list %s, the role of [listener.%s]: "
			     "passwords may cross the network unencrypted",
			     role, listener->name);
	}
	if (auth->min_tls_version < AUTH_TLS_1_2)
		warn(warnings, where(input, config, "auth", "min_tls_version"),
		     "[auth] min_tls_version: below TLSv1.2 (TLS 1.0 and 1.1 are deprecated, RFC "
		     "8996)");
	if (auth->auth_on_mx == AUTH_ON_MX_ALLOW)
		warn(warnings, where(input, config, "auth", "auth_on_mx"),
		     "[auth] auth_on_mx: allow: AUTH on port 25 is where password guessing starts");
}

/* the prefix length of "ADDRESS/N", or -1 */
static int
prefix_of(const char *entry, gboolean *v6_out)
{
	const char *slash = strrchr(entry, '/');

	*v6_out = strchr(entry, ':') != NULL;
	return slash != NULL ? atoi(slash + 1) : -1;
}

static void
global_rules(const ToolCheckInput *input, GPtrArray *warnings)
{
	const PcConfig *config = input->relay != NULL ? input->relay : input->auth;
	const PcGlobalConfig *global;

	if (config == NULL)
		return;
	global = pc_config_get_global(config);
	if ((global->local_domains == NULL || global->local_domains[0] == NULL) &&
	    pc_config_get_n_domain_files(config) == 0)
		warn(warnings, where(input, config, "global", "local_domains"),
		     "[global] local_domains: empty, and no domains.d file: every recipient is "
		     "foreign, so portcullis-relay refuses all mail from outside");
	for (guint i = 0; i < pc_net_list_length(global->trusted_networks); i++) {
		char buf[PC_NET_ADDRESS_STRLEN + 8];
		const char *entry =
		    pc_net_list_entry_to_string(global->trusted_networks, i, buf, sizeof(buf));
		gboolean v6;
		int prefix = entry != NULL ? prefix_of(entry, &v6) : -1;

		if (prefix >= 0 && prefix < (v6 ? 32 : 8))
			warn(warnings, where(input, config, "global", "trusted_networks"),
			     "[global] trusted_networks: %s is a large part of the Internet: "
			     "clients "
			     "there may relay and skip every check",
			     entry);
	}
}

static void
relay_rules(const ToolCheckInput *input, GPtrArray *warnings)
{
	if (input->relay != NULL &&
	    pc_config_get_daemon(input->relay)->on_error == PC_ON_ERROR_ACCEPT)
		warn(warnings, where(input, input->relay, "relay", "on_error"),
		     "[relay] on_error: accept: when the store fails, relay probers are neither "
		     "counted nor banned");
}

/* two role lists share a role (an empty one is every role) */
static gboolean
roles_overlap(char **a, char **b)
{
	if (a == NULL || a[0] == NULL || b == NULL || b[0] == NULL)
		return TRUE;
	for (char **r = a; *r != NULL; r++) {
		if (strv_has(b, *r))
			return TRUE;
	}
	return FALSE;
}

static void
rate_rules(const ToolCheckInput *input, GPtrArray *warnings)
{
	const PcConfigSection *sections;
	guint n = 0;

	if (input->rate == NULL)
		return;
	sections = pc_config_get_sections(input->rate, "rate", &n);
	for (guint i = 0; i < n; i++) {
		const RateLimitConfig *a = sections[i].data;

		for (guint j = i + 1; j < n; j++) {
			const RateLimitConfig *b = sections[j].data;

			if (a->key != b->key || a->count != b->count ||
			    !roles_overlap(a->roles, b->roles))
				continue;
			warn(
			    warnings, where(input, input->rate, sections[j].group, "key"),
			    "[rate.%s] and [rate.%s]: both count %s per %s on the same roles: the "
			    "stricter always decides first; make it one limit with several windows "
			    "(rate = 60/1m; 500/1h)",
			    sections[i].name, sections[j].name, rate_count_to_string(a->count),
			    rate_key_to_string(a->key));
		}
	}
}

static void
verify_rules(const ToolCheckInput *input, GPtrArray *warnings)
{
	const VerifyConfig *verify;

	if (input->verify == NULL)
		return;
	verify = pc_config_get_section(input->verify);
	if (!verify->dmarc)
		return;
	if (verify->dmarc_history_dir != NULL &&
	    !g_file_test(verify->dmarc_history_dir, G_FILE_TEST_IS_DIR))
		warn(warnings, where(input, input->verify, "verify", "dmarc_history_dir"),
		     "[verify] dmarc_history_dir: %s is not a directory: no DMARC history, no "
		     "aggregate reports (make it, writable by [global] user)",
		     verify->dmarc_history_dir);
	if (verify->dmarc_org_domain == VERIFY_DMARC_DISCOVERY_PSL)
		warn(warnings, where(input, input->verify, "verify", "dmarc_org_domain"),
		     "[verify] dmarc_org_domain: psl: keep the list current (Debian's publicsuffix "
		     "package); tree-walk, the default, needs no list");
}

/* a stack that signs holds the private keys in the process that reads the network */
static void
stack_rules(const ToolCheckInput *input, GPtrArray *warnings)
{
	if (input->stack == NULL || !stack_config_hosts(input->stack, "sign"))
		return;
	warn(warnings, where(input, input->stack, "stack", "members"),
	     "[stack] members: sign: portcullis-stack's user reads the private keys, in the "
	     "process that also verifies and polices mail from the Internet; the separate "
	     "portcullis-sign keeps them to itself");
}

void
tool_check_warnings(const ToolCheckInput *input, GPtrArray *warnings)
{
	g_return_if_fail(input != NULL && warnings != NULL);
	global_rules(input, warnings);
	listener_rules(input, warnings);
	relay_rules(input, warnings);
	rate_rules(input, warnings);
	verify_rules(input, warnings);
	stack_rules(input, warnings);
}
