/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis spf: one SPF check, with the daemon's code (pc-spf), its
 * configuration ([global] dns, dns_timeout, dns_message_budget, dnssec,
 * authserv_id) and its resolver, so an admin sees what portcullis-verify
 * would put in Authentication-Results for this client, sender and HELO.
 *
 * Output, one line on stdout: RESULT TAB EXPLANATION (empty unless the
 * result is fail); with -v a third field says why (the directive that
 * matched, or what went wrong) and how many DNS lookups were counted.
 */
#include <stdio.h>
#include <string.h>

#include "pc-config.h"
#include "pc-dns.h"
#include "pc-net.h"
#include "pc-spf.h"
#include "tool.h"
#include "verify-policy.h"

/*
 * MAILFROM as an admin types it: "user@example.org", "<user@example.org>",
 * "" or "<>" for the null sender (the HELO identity is checked then), or a
 * bare domain (postmaster's). The local part is everything before the last
 * '@', as RFC 7208 4.3 takes it; "user@" has no domain to check.
 */
static void
tool_spf_split_sender(const char *text, char **local_out, char **domain_out)
{
	gsize len = strlen(text);
	const char *at;

	if (len >= 2 && text[0] == '<' && text[len - 1] == '>') {
		text++;
		len -= 2;
	}
	at = g_strrstr_len(text, (gssize)len, "@");
	if (at == NULL) {
		*local_out = g_strdup("");
		*domain_out = g_strndup(text, len);
		return;
	}
	*local_out = g_strndup(text, (gsize)(at - text));
	*domain_out = g_strndup(at + 1, len - (gsize)(at + 1 - text));
	/* "user@" is no null sender: checked as written, it is no domain ("none") */
	if (**domain_out == '\0') {
		g_free(*domain_out);
		*domain_out = g_strndup(text, len);
	}
}

static void
tool_spf_print(const PcSpfOutcome *outcome, gboolean verbose)
{
	printf("%s\t%s", pc_spf_result_to_string(outcome->result),
	       outcome->explanation != NULL ? outcome->explanation : "");
	if (verbose)
		printf("\t%s %s: %s (%u DNS lookups, %u void, %u queries)",
		       pc_spf_identity_to_string(outcome->identity), outcome->domain,
		       outcome->reason != NULL ? outcome->reason : "-", outcome->dns_terms,
		       outcome->void_lookups, outcome->queries);
	printf("\n");
}

int
tool_spf(int argc, char **argv)
{
	g_autofree char *config_path = NULL;
	gboolean verbose = FALSE;
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
	     "a third field: why, and the DNS lookups counted", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(
	    "IP MAILFROM HELO - check SPF as portcullis-verify does (MAILFROM \"\" for <>)");
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(PcSpfOutcome) outcome = NULL;
	g_autofree char *local_part = NULL;
	g_autofree char *domain = NULL;
	PcNetAddress ip;
	PcDnsBudget budget;
	PcSpfOptions options = {0};

	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(context, "Prints RESULT<TAB>EXPLANATION (the explanation of "
					      "a fail; empty otherwise).\nExit status 0 for any "
					      "result, 2 for a usage or configuration error.");
	if (!g_option_context_parse(context, &argc, &argv, &error))
		return tool_usage_error(context, "portcullis spf", error->message);
	if (argc != 4)
		return tool_usage_error(context, "portcullis spf", "expected IP MAILFROM HELO");
	if (!pc_net_address_parse(argv[1], &ip))
		return tool_usage_error(context, "portcullis spf",
					"IP is not an IPv4 or IPv6 address");
	if (!tool_load("spf", config_path, &verify_config_schema, &config, &dns))
		return TOOL_EXIT_USAGE;
	/* one check is one message's worth of DNS, as in the daemon */
	pc_dns_budget_init_from_config(&budget, pc_config_get_global(config));
	options.dns = dns;
	options.budget = &budget;
	options.receiver = verify_authserv_id(config);
	tool_spf_split_sender(argv[2], &local_part, &domain);
	outcome = pc_spf_check_mail_from(&options, &ip, local_part, domain, argv[3]);
	tool_spf_print(outcome, verbose);
	return TOOL_EXIT_OK;
}
