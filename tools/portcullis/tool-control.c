/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis bans | unban | limits | reload: commands to the running
 * daemons through their control sockets ([global] control_dir/NAME/NAME.control,
 * pc-control): the bans portcullis-relay holds (and lifting one), the
 * counters portcullis-rate keeps for a value (and resetting them), and a
 * reload of one daemon or all. They work with the memory store (only the
 * daemon can see it) and with Redis (the daemon asks the shared store).
 * Where a daemon's socket is not there and portcullis-stack's is, the stack
 * is asked: it passes each command to the member that knows it. Exit status
 * 0 when the daemon did it, 1 when it said no or could not be reached, 2 for
 * a usage or configuration error.
 */
#include <stdio.h>
#include <string.h>

#include "daemons.h"
#include "pc-control.h"
#include "stack-config.h"
#include "tool.h"

/* the stack (portcullis-stack), which may host the daemons asked for */
#define STACK_NAME "stack"
/* [stack] members of the configuration (control_dir() reads it), or NULL */
static char **stack_members;

static gboolean
stack_hosts(const char *daemon)
{
	return stack_members != NULL && g_strv_contains((const char *const *)stack_members, daemon);
}

/*
 * the daemon's answer to line: printed, less its last line; TRUE for "ok".
 * A daemon without a socket is asked through the stack's when there is one.
 */
static gboolean
request(const char *dir, const char *daemon, const char *line, gboolean quiet_missing,
	gboolean prefix)
{
	g_autofree char *path = pc_control_path(dir, daemon);
	g_autofree char *stack = pc_control_path(dir, STACK_NAME);
	g_autoptr(GError) error = NULL;
	g_autofree char *reply = NULL;
	g_auto(GStrv) lines = NULL;
	guint n;

	if (!g_file_test(path, G_FILE_TEST_EXISTS) && stack_hosts(daemon) &&
	    g_file_test(stack, G_FILE_TEST_EXISTS)) {
		g_free(path);
		path = g_steal_pointer(&stack);
		daemon = STACK_NAME;
	}
	if (quiet_missing && !g_file_test(path, G_FILE_TEST_EXISTS)) {
		printf("%s: not running (no %s)\n", daemon, path);
		return TRUE;
	}
	reply = pc_control_request(path, line, 10000, &error);
	if (reply == NULL) {
		fprintf(stderr, "portcullis: portcullis-%s cannot be reached: %s\n", daemon,
			error->message);
		return FALSE;
	}
	lines = g_strsplit(reply, "\n", -1);
	n = g_strv_length(lines);
	/* the last line is empty (the answer ends with a newline); the one before says */
	while (n > 0 && lines[n - 1][0] == '\0')
		n--;
	for (guint i = 0; i + 1 < n; i++)
		printf("%s%s%s\n", prefix ? daemon : "", prefix ? ": " : "", lines[i]);
	if (n > 0 && strcmp(lines[n - 1], "ok") == 0)
		return TRUE;
	fprintf(stderr, "portcullis-%s: %s\n", daemon, n > 0 ? lines[n - 1] : "no answer");
	return FALSE;
}

static const char *
control_dir(const char *config_path)
{
	static char *dir;
	g_autoptr(PcConfig) config = NULL;

	g_autoptr(PcConfig) stack = NULL;

	if (!tool_load("control", config_path, NULL, &config, NULL))
		return NULL;
	g_free(dir);
	dir = g_strdup(pc_config_get_global(config)->control_dir);
	/* which daemons portcullis-stack hosts, should one of them have no socket of its own */
	stack = pc_config_load(pc_config_get_path(config), &stack_config_schema, NULL);
	g_strfreev(stack_members);
	stack_members =
	    stack != NULL ? g_strdupv(((const StackConfig *)pc_config_get_section(stack))->members)
			  : NULL;
	if (dir == NULL)
		fprintf(stderr, "portcullis: [global] control_dir is empty: the daemons have no "
				"control sockets\n");
	return dir;
}

/* [-c FILE] and the remaining arguments */
static gboolean
parse(int *argc, char ***argv, const char *summary, char **config_out)
{
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, config_out,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(summary);
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, argc, argv, &error)) {
		fprintf(stderr, "portcullis: %s\n", error->message);
		return FALSE;
	}
	return TRUE;
}

int
tool_bans(int argc, char **argv)
{
	g_autofree char *config = NULL;
	const char *dir;

	if (!parse(&argc, &argv, "- the clients portcullis-relay has banned, with time left",
		   &config) ||
	    argc != 1) {
		fprintf(stderr, "usage: portcullis bans [-c FILE]\n");
		return TOOL_EXIT_USAGE;
	}
	if ((dir = control_dir(config)) == NULL)
		return TOOL_EXIT_USAGE;
	return request(dir, "relay", "bans", FALSE, FALSE) ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
}

int
tool_unban(int argc, char **argv)
{
	g_autofree char *config = NULL;
	g_autofree char *line = NULL;
	const char *dir;

	if (!parse(&argc, &argv, "ADDRESS|NETWORK - lift a ban of portcullis-relay", &config) ||
	    argc != 2 || strpbrk(argv[1], " \t\r\n") != NULL) {
		fprintf(stderr, "usage: portcullis unban [-c FILE] ADDRESS|NETWORK\n");
		return TOOL_EXIT_USAGE;
	}
	if ((dir = control_dir(config)) == NULL)
		return TOOL_EXIT_USAGE;
	line = g_strdup_printf("unban %s", argv[1]);
	return request(dir, "relay", line, FALSE, FALSE) ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
}

int
tool_limits(int argc, char **argv)
{
	g_autofree char *config = NULL;
	g_autofree char *line = NULL;
	const char *dir;

	if (!parse(&argc, &argv,
		   "show|reset VALUE - portcullis-rate's counters for an address, network, login, "
		   "sender or domain",
		   &config) ||
	    argc != 3 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "reset") != 0) ||
	    strpbrk(argv[2], " \t\r\n") != NULL) {
		fprintf(stderr, "usage: portcullis limits [-c FILE] show|reset VALUE\n");
		return TOOL_EXIT_USAGE;
	}
	if ((dir = control_dir(config)) == NULL)
		return TOOL_EXIT_USAGE;
	line = g_strdup_printf("limits %s %s", argv[1], argv[2]);
	return request(dir, "rate", line, FALSE, FALSE) ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
}

int
tool_reload(int argc, char **argv)
{
	g_autofree char *config = NULL;
	const char *dir;
	gboolean ok = TRUE;

	if (!parse(&argc, &argv, "[DAEMON] - reload one daemon, or every one running", &config) ||
	    argc > 2) {
		fprintf(stderr,
			"usage: portcullis reload [-c FILE] [relay|auth|rate|verify|sign|stack]\n");
		return TOOL_EXIT_USAGE;
	}
	if (argc == 2 && !g_strv_contains(portcullis_daemon_names, argv[1]) &&
	    strcmp(argv[1], STACK_NAME) != 0) {
		fprintf(stderr,
			"portcullis reload: %s is not a daemon (relay, auth, rate, verify, "
			"sign, stack)\n",
			argv[1]);
		return TOOL_EXIT_USAGE;
	}
	if ((dir = control_dir(config)) == NULL)
		return TOOL_EXIT_USAGE;
	if (argc == 2) /* a hosted daemon reloads with its stack, which request() finds */
		return request(dir, argv[1], "reload", FALSE, TRUE) ? TOOL_EXIT_OK
								    : TOOL_EXIT_FAILED;
	{
		g_autofree char *stack = pc_control_path(dir, STACK_NAME);
		gboolean stack_runs = g_file_test(stack, G_FILE_TEST_EXISTS);

		for (gsize i = 0; i < PORTCULLIS_N_DAEMONS; i++) {
			g_autofree char *own = pc_control_path(dir, portcullis_daemon_names[i]);

			/*
			 * every daemon: one that is not running is said, not an error
			 * (one the running stack hosts is reloaded with it, below)
			 */
			if (!g_file_test(own, G_FILE_TEST_EXISTS)) {
				if (!stack_runs || !stack_hosts(portcullis_daemon_names[i]))
					printf("%s: not running (no %s)\n",
					       portcullis_daemon_names[i], own);
				continue;
			}
			ok &= request(dir, portcullis_daemon_names[i], "reload", TRUE, TRUE);
		}
		/* and the stack, once, when it runs (opt-in: not said when it does not) */
		if (stack_runs)
			ok &= request(dir, STACK_NAME, "reload", FALSE, TRUE);
	}
	return ok ? TOOL_EXIT_OK : TOOL_EXIT_FAILED;
}
