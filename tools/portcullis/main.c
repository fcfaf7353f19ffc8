/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis: the admin command. `portcullis SUBCOMMAND ARGS...` runs one
 * entry of the table below; a new subcommand is one line here and one file.
 */
#include <stdio.h>
#include <string.h>

#include "pc-log.h"
#include "tool.h"

static const ToolCommand tool_commands[] = {
    {"check",
     "[-c FILE] [--daemons-dir DIR] [--no-daemons] [--postfix [--config-dir DIR] | --sendmail "
     "FILE.cf]",
     "the configuration as all five daemons would load it: every error, then the warnings",
     tool_check},
    {"explain",
     "[-c FILE] --listener NAME [--client IP] [--helo NAME] [--login LOGIN] [--tls VERSION] "
     "[--from ADDR] [--header-from VALUE] [--dns] --rcpt ADDR...",
     "why each daemon would accept or refuse a transaction: the decision, the reply, and the "
     "file, line, section and key that decided it",
     tool_explain},
    {"spf", "[-c FILE] [-v] IP MAILFROM HELO",
     "check SPF as portcullis-verify does: the result and the explanation, tab-separated",
     tool_spf},
    {"verify", "[-c FILE] [--ip ADDR] [--helo NAME] [--mail-from ADDR] [--json] [FILE|-]",
     "the Authentication-Results header portcullis-verify would add to a message", tool_verify},
    {"keygen",
     "[-t rsa|ed25519|both] [-b BITS] [-d DIR] [-u USER] [--selector-ed25519 NAME] DOMAIN "
     "SELECTOR",
     "new DKIM keys for portcullis-sign: the key files, their DNS records, the domains.d lines",
     tool_keygen},
    {"dkim-check", "[-c FILE] [-k KEYFILE] DOMAIN SELECTOR",
     "whether the DKIM record published for DOMAIN and SELECTOR matches the key file",
     tool_dkim_check},
    {"stats", "[-c FILE] [--watch SECONDS [--count N]]",
     "every daemon's statistics in one table (a daemon that cannot be reached is down)",
     tool_stats},
    {"audit",
     "domain [-c FILE] [--selector S]... [--json] DOMAIN | smtp [--source ADDRESS] "
     "[--domain DOMAIN] [--json] HOST[:PORT[/ROLE]]...",
     "a domain's DNS (SPF, DMARC, DKIM keys, MX, MTA-STS, TLS-RPT, DANE), or a live SMTP "
     "server (ports, TLS, AUTH, VRFY, an open-relay battery)",
     tool_audit},
    {"bans", "[-c FILE]", "the clients portcullis-relay has banned, with the time left", tool_bans},
    {"unban", "[-c FILE] ADDRESS|NETWORK", "lift a ban of portcullis-relay", tool_unban},
    {"limits", "[-c FILE] show|reset VALUE",
     "portcullis-rate's counters for an address, network, login, sender or domain", tool_limits},
    {"reload", "[-c FILE] [DAEMON]", "reload one daemon, or every one running", tool_reload},
    {"dmarc-report", "[-c FILE] [--day YYYY-MM-DD] [--send | --out DIR]",
     "DMARC aggregate reports from portcullis-verify's history: listed, written or mailed",
     tool_dmarc_report},
};

gboolean
tool_load(const char *command, const char *path, const PcConfigSchema *schema,
	  PcConfig **config_out, PcDns **dns_out)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config =
	    pc_config_load(path != NULL ? path : PC_CONFIG_DEFAULT_FILE, schema, &error);

	if (config == NULL) {
		fprintf(stderr, "portcullis %s: %s\n", command, error->message);
		return FALSE;
	}
	if (dns_out != NULL) {
		*dns_out = pc_dns_new_from_config(pc_config_get_global(config), &error);
		if (*dns_out == NULL) {
			fprintf(stderr, "portcullis %s: %s\n", command, error->message);
			return FALSE;
		}
	}
	*config_out = g_steal_pointer(&config);
	return TRUE;
}

int
tool_usage_error(GOptionContext *context, const char *command, const char *message)
{
	g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);

	fprintf(stderr, "%s: %s\n\n%s", command, message, help);
	return TOOL_EXIT_USAGE;
}

char *
tool_path_argument(const char *text)
{
	gsize len = strlen(text);

	if (len >= 2 && text[0] == '<' && text[len - 1] == '>')
		return g_strdup(text);
	return g_strdup_printf("<%s>", text);
}

static void
tool_usage(FILE *out)
{
	fprintf(out, "usage: portcullis SUBCOMMAND [ARGS...]\n\nsubcommands:\n");
	for (gsize i = 0; i < G_N_ELEMENTS(tool_commands); i++)
		fprintf(out, "  %s %s\n      %s\n", tool_commands[i].name,
			tool_commands[i].arguments, tool_commands[i].summary);
	fprintf(out, "\n`portcullis SUBCOMMAND --help` describes its options.\n");
}

int
main(int argc, char **argv)
{
	pc_log_init("portcullis", PC_LOG_TARGET_STDERR);
	if (argc < 2) {
		tool_usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		tool_usage(stdout);
		return TOOL_EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("portcullis %s\n", PC_VERSION);
		return TOOL_EXIT_OK;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(tool_commands); i++) {
		if (strcmp(argv[1], tool_commands[i].name) == 0)
			return tool_commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "portcullis: unknown subcommand '%s'\n\n", argv[1]);
	tool_usage(stderr);
	return TOOL_EXIT_USAGE;
}
