/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis: the admin command. main.c holds the table of subcommands;
 * each subcommand is one file (tool-spf.c, ...) with one entry point that
 * gets the arguments from its own name on and returns the exit status.
 *
 * Exit status, for every subcommand: 0 when it did its job (for a check,
 * whatever the result), 1 when it could not finish, 2 for a usage or
 * configuration error. One exception, for scripts: dkim-check exits 1 when
 * the record does not match (or cannot be fetched), 0 only on a match.
 *
 * Thread-safety: a command-line program; one thread of ours (the resolver
 * has its own).
 */
#pragma once

#include <glib.h>

#include "pc-config.h"
#include "pc-dns.h"

G_BEGIN_DECLS

#define TOOL_EXIT_OK 0
#define TOOL_EXIT_FAILED 1
#define TOOL_EXIT_USAGE 2

typedef struct {
	const char *name;      /* "spf" */
	const char *arguments; /* "[-c FILE] IP MAILFROM HELO" */
	const char *summary;   /* one line */
	/* argv[0] is the subcommand's name */
	int (*run)(int argc, char **argv);
} ToolCommand;

/*
 * tool_load:
 * The configuration at @path (NULL: the default file) read with @schema,
 * and, when @dns_out is not NULL, the resolver its [global] section
 * describes. On failure prints "portcullis COMMAND: why" and returns FALSE
 * (a configuration error: the caller exits TOOL_EXIT_USAGE).
 */
gboolean tool_load(const char *command, const char *path, const PcConfigSchema *schema,
		   PcConfig **config_out, PcDns **dns_out);

/*
 * tool_usage_error:
 * Prints "COMMAND: MESSAGE" and the option help of context on stderr.
 * Returns: TOOL_EXIT_USAGE, for the caller to return.
 */
int tool_usage_error(GOptionContext *context, const char *command, const char *message);

/*
 * tool_path_argument:
 * An address as an admin types it ("user@example.org") as the MTA passes
 * a MAIL or RCPT argument ("<user@example.org>"); one already in brackets
 * is kept. Returns: (transfer full).
 */
char *tool_path_argument(const char *text);

/* portcullis check [-c FILE] [--daemons-dir DIR] [--no-daemons] */
int tool_check(int argc, char **argv);
/*
 * portcullis explain [-c FILE] --listener NAME [--client IP] [--helo H] [--login L]
 * [--tls V] [--from ADDR] [--header-from VALUE] [--dns] --rcpt ADDR...
 */
int tool_explain(int argc, char **argv);
/* portcullis spf [-c FILE] [-v] IP MAILFROM HELO */
int tool_spf(int argc, char **argv);
/* portcullis verify [-c FILE] [--ip ADDR] [--helo NAME] [--mail-from ADDR] [--json] [FILE|-] */
int tool_verify(int argc, char **argv);
/* portcullis keygen [-t TYPE] [-b BITS] [-d DIR] [-u USER] DOMAIN SELECTOR */
int tool_keygen(int argc, char **argv);
/* portcullis dkim-check [-c FILE] [-k KEYFILE] DOMAIN SELECTOR */
int tool_dkim_check(int argc, char **argv);
/* portcullis stats [-c FILE] [--watch SECONDS [--count N]] */
int tool_stats(int argc, char **argv);
/* portcullis audit domain [-c FILE] [--selector S]... [--json] DOMAIN */
int tool_audit(int argc, char **argv);
int tool_audit_domain(int argc, char **argv);
/* portcullis audit smtp [--source ADDRESS] [--domain DOMAIN] [--json] HOST[:PORT[/ROLE]]... */
int tool_audit_smtp(int argc, char **argv);
/* the control commands (tool-control.c): bans, unban, limits, reload */
int tool_bans(int argc, char **argv);
int tool_unban(int argc, char **argv);
int tool_limits(int argc, char **argv);
int tool_reload(int argc, char **argv);
/* portcullis dmarc-report [-c FILE] [--day YYYY-MM-DD] [--send | --out DIR] */
int tool_dmarc_report(int argc, char **argv);

G_END_DECLS
