/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis check: the whole configuration, as all five daemons would load
 * it, at once.
 *  1. every section and every domains.d file with every daemon's schemas
 *     (pc_config_check_all): each error with its file, line, section and key;
 *  2. each daemon installed beside this command (or on PATH) run with -n:
 *     what only the daemon itself checks (the [global] user and group, its
 *     socket directory, the files it reads as that user, portcullis-sign's
 *     keys and their permissions); its lines, less the ones already said;
 *  3. with no error, the warnings of tool-check-rules.c: what is legal but
 *     rarely meant.
 * With --postfix [--config-dir DIR] or --sendmail FILE.cf, the wiring doctor
 * (tool-doctor.c) then reads the MTA's own configuration (postconf -n... or
 * the .cf file) and says, listener by listener, what is attached and what
 * is missing; and whether Postfix's user may open each daemon's socket
 * (with the one command that fixes it).
 * Exit status 0 when nothing is wrong (warnings or not), 1 with an error, 2
 * for a usage error.
 */
#include <gio/gio.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemons.h"
#include "stack-config.h"
#include "tool-check-rules.h"
#include "tool-doctor.h"
#include "tool.h"

#define TOOL_NAME "portcullis check"

typedef struct {
	char *config_path;
	char *daemons_dir;
	gboolean no_daemons;
	gboolean postfix;
	char *postfix_dir;
	char *sendmail_cf;
} CheckOptions;

/* the directory of this program: where the daemons are installed too (sbindir) */
static char *
own_directory(void)
{
	g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

	return self != NULL ? g_path_get_dirname(self) : NULL;
}

static char *
find_daemon(const CheckOptions *options, const char *name)
{
	g_autofree char *program = g_strdup_printf("portcullis-%s", name);
	g_autofree char *own = options->daemons_dir == NULL ? own_directory() : NULL;
	const char *dir = options->daemons_dir != NULL ? options->daemons_dir : own;

	if (dir != NULL) {
		g_autofree char *path = g_build_filename(dir, program, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
			return g_steal_pointer(&path);
		if (options->daemons_dir != NULL)
			return NULL;
	}
	return g_find_program_in_path(program);
}

/* a daemon's -n line without its "portcullis-NAME: " prefix, as check_all says it */
static const char *
unprefixed(const char *line)
{
	if (g_str_has_prefix(line, "portcullis-")) {
		const char *colon = strstr(line, ": ");

		if (colon != NULL)
			return colon + 2;
	}
	return line;
}

/* runs BIN -n -c PATH; its error lines not yet in seen are printed; FALSE when it failed */
static gboolean
run_daemon_check(const char *binary, const char *path, GHashTable *seen, guint *errors)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) process =
	    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
			     &error, binary, "-n", "-c", path, NULL);
	g_autofree char *out = NULL;
	g_auto(GStrv) lines = NULL;

	if (process == NULL ||
	    !g_subprocess_communicate_utf8(process, NULL, NULL, &out, NULL, &error) ||
	    !g_subprocess_wait(process, NULL, &error)) {
		printf("error: %s: %s\n", binary, error->message);
		(*errors)++;
		return FALSE;
	}
	if (g_subprocess_get_if_exited(process) && g_subprocess_get_exit_status(process) == 0)
		return TRUE;
	lines = g_strsplit(out != NULL ? out : "", "\n", -1);
	for (char **l = lines; *l != NULL; l++) {
		const char *text = unprefixed(*l);

		/* the "running as root" notice and empty lines are not errors */
		if (*text == '\0' || strstr(*l, "warning: running as root") != NULL)
			continue;
		if (!g_hash_table_add(seen, g_strdup(text)))
			continue;
		printf("error: %s\n", *l);
		(*errors)++;
	}
	return FALSE;
}

/* --- the wiring doctor --- */

/* runs argv, its standard output in *out_out; FALSE (said) when it failed */
static gboolean
run_program(const char *const *argv, char **out_out)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) process = g_subprocess_newv(
	    argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
	g_autofree char *err = NULL;

	if (process == NULL ||
	    !g_subprocess_communicate_utf8(process, NULL, NULL, out_out, &err, &error)) {
		printf("error: %s: %s\n", argv[0], error->message);
		return FALSE;
	}
	if (!g_subprocess_get_if_exited(process) || g_subprocess_get_exit_status(process) != 0) {
		printf("error: %s: %s\n", argv[0], err != NULL ? g_strstrip(err) : "failed");
		return FALSE;
	}
	return TRUE;
}

/* user may search every directory of path and write to it (a socket) when it exists */
static gboolean
user_reaches(const struct passwd *user, const gid_t *groups, int n_groups, const char *path,
	     char **blocker_out)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	g_autoptr(GString) at = g_string_new(NULL);
	guint n = g_strv_length(parts);

	for (guint i = 0; i < n; i++) {
		struct stat st;
		gboolean last = i + 1 == n;
		mode_t need = last ? S_IWOTH : S_IXOTH;
		mode_t mode;

		if (parts[i][0] == '\0')
			continue;
		g_string_append_printf(at, "/%s", parts[i]);
		if (stat(at->str, &st) != 0)
			return TRUE; /* said separately: missing */
		if (user->pw_uid == 0)
			continue;
		if (st.st_uid == user->pw_uid) {
			mode = (st.st_mode >> 6) & 7;
		} else {
			gboolean member = FALSE;

			for (int g = 0; g < n_groups; g++)
				member |= groups[g] == st.st_gid;
			mode = member ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
		}
		if ((mode & need) == 0) {
			*blocker_out = g_strdup(at->str);
			return FALSE;
		}
	}
	return TRUE;
}

/* Postfix's user and each daemon socket: reachable, or the command that makes it so */
static guint
check_socket_access(const char *user_name, const char *const sockets[PORTCULLIS_N_DAEMONS])
{
	struct passwd *user = getpwnam(user_name);
	gid_t groups[256];
	int n_groups = G_N_ELEMENTS(groups);
	guint errors = 0;

	if (user == NULL) {
		printf("warning: no user %s on this system: socket access not checked\n",
		       user_name);
		return 0;
	}
	if (getgrouplist(user_name, user->pw_gid, groups, &n_groups) < 0)
		n_groups = 0;
	for (int d = 0; d < PORTCULLIS_N_DAEMONS; d++) {
		g_autofree char *blocker = NULL;
		const char *path;
		struct stat st;

		if (sockets[d] == NULL || !g_str_has_prefix(sockets[d], "unix:"))
			continue;
		path = sockets[d] + 5;
		if (stat(path, &st) != 0) {
			printf(
			    "warning: %s does not exist: portcullis-%s is not running (or listens "
			    "elsewhere)\n",
			    path, portcullis_daemon_names[d]);
			continue;
		}
		if (!user_reaches(user, groups, n_groups, path, &blocker)) {
			struct stat where;
			struct group *group =
			    stat(blocker, &where) == 0 ? getgrgid(where.st_gid) : NULL;

			printf("error: the %s user cannot open %s (%s is mode %04o): run `usermod "
			       "-a -G "
			       "%s %s` and restart the MTA\n",
			       user_name, path, blocker, (unsigned)(where.st_mode & 07777),
			       group != NULL ? group->gr_name : "GROUP", user_name);
			errors++;
		}
	}
	return errors;
}

/*
 * the wiring doctor: the number of errors it printed; daemons[] are each
 * daemon's snapshot of path (portcullis_daemon_schemas' order), NULL where
 * one could not load
 */
static guint
doctor(const CheckOptions *options, const char *path, PcConfig *const daemons[PORTCULLIS_N_DAEMONS],
       const PcConfig *stack_config)
{
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(ToolDoctorMta) mta = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(tool_doctor_finding_free);
	const char *sockets[PORTCULLIS_N_DAEMONS] = {NULL};
	/* portcullis-stack, should the MTA attach it: its socket and members */
	ToolDoctorStack stack = {0};
	guint errors = 0;

	for (int d = 0; d < PORTCULLIS_N_DAEMONS; d++) {
		if (daemons[d] != NULL)
			sockets[d] = pc_config_get_daemon(daemons[d])->socket;
		if (stack_config != NULL)
			stack.hosts[d] =
			    stack_config_hosts(stack_config, portcullis_daemon_names[d]);
	}
	if (stack_config != NULL)
		stack.socket = pc_config_get_daemon(stack_config)->socket;
	config = pc_config_load(path, NULL, &error);
	if (config == NULL)
		return 1; /* said by the check above */
	if (options->postfix) {
		g_autofree char *main_all = NULL;
		g_autofree char *master = NULL;
		const char *main_argv[] = {"postconf", "-c", options->postfix_dir, NULL};
		const char *master_argv[] = {"postconf", "-c", options->postfix_dir, "-M", NULL};

		if (options->postfix_dir == NULL) {
			main_argv[1] = NULL;
			master_argv[1] = "-M";
			master_argv[2] = NULL;
		}
		if (!run_program(main_argv, &main_all) || !run_program(master_argv, &master))
			return 1;
		mta = tool_doctor_read_postfix(main_all, master, &error);
	} else {
		g_autofree char *cf = NULL;

		if (!g_file_get_contents(options->sendmail_cf, &cf, NULL, &error)) {
			printf("error: %s\n", error->message);
			return 1;
		}
		mta = tool_doctor_read_sendmail(cf, &error);
	}
	if (mta == NULL) {
		printf("error: %s\n", error->message);
		return 1;
	}
	tool_doctor_judge(mta, config, sockets, stack_config != NULL ? &stack : NULL, findings);
	for (guint i = 0; i < findings->len; i++) {
		const ToolDoctorFinding *finding = g_ptr_array_index(findings, i);

		printf("%s: %s\n", finding->severity, finding->text);
		errors += strcmp(finding->severity, "error") == 0;
	}
	if (options->postfix)
		errors += check_socket_access("postfix", sockets);
	return errors;
}

static int
run(const CheckOptions *options)
{
	const char *path =
	    options->config_path != NULL ? options->config_path : PC_CONFIG_DEFAULT_FILE;
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	/* [stack], for portcullis-stack: the doctor's and the warnings' */
	g_autoptr(PcConfig) stack = NULL;
	PcConfig *daemons[PORTCULLIS_N_DAEMONS] = {NULL};
	guint errors = 0, daemons_run = 0;

	if (!pc_config_check_all(path, portcullis_daemon_schemas, &error)) {
		g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);

		for (char **l = lines; *l != NULL; l++) {
			if (**l == '\0' || !g_hash_table_add(seen, g_strdup(*l)))
				continue;
			printf("error: %s\n", *l);
			errors++;
		}
	}
	for (gsize i = 0; !options->no_daemons && i < PORTCULLIS_N_DAEMONS; i++) {
		g_autofree char *binary = find_daemon(options, portcullis_daemon_names[i]);

		if (binary == NULL)
			continue;
		daemons_run++;
		run_daemon_check(binary, path, seen, &errors);
	}
	if (!options->no_daemons && daemons_run == 0)
		printf("note: no portcullis daemon found beside this command or on PATH: what only "
		       "they check (user, socket directories, keys) was not checked\n");
	/* each daemon's snapshot, once, for the doctor and the warnings */
	for (int d = 0; d < PORTCULLIS_N_DAEMONS; d++)
		daemons[d] = pc_config_load_full(path, portcullis_daemon_schemas[d].schema,
						 portcullis_daemon_schemas[d].extra_schemas, NULL);
	stack = pc_config_load(path, &stack_config_schema, NULL);
	if (options->postfix || options->sendmail_cf != NULL)
		errors += doctor(options, path, daemons, stack);
	if (errors == 0) {
		ToolCheckInput input = {path,	    daemons[0], daemons[1],
					daemons[2], daemons[3], stack};

		tool_check_warnings(&input, warnings);
		for (guint i = 0; i < warnings->len; i++)
			printf("warning: %s\n", (const char *)warnings->pdata[i]);
	}
	for (int d = 0; d < PORTCULLIS_N_DAEMONS; d++)
		g_clear_pointer(&daemons[d], pc_config_unref);
	printf("%s: %u error%s, %u warning%s (%u daemon%s checked themselves)\n", path, errors,
	       errors == 1 ? "" : "s", warnings->len, warnings->len == 1 ? "" : "s", daemons_run,
	       daemons_run == 1 ? "" : "s");
	return errors > 0 ? TOOL_EXIT_FAILED : TOOL_EXIT_OK;
}

int
tool_check(int argc, char **argv)
{
	CheckOptions options = {0};
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path,
	     "configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"daemons-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.daemons_dir,
	     "where the daemons are (default: beside this command, then PATH)", "DIR"},
	    {"no-daemons", 0, 0, G_OPTION_ARG_NONE, &options.no_daemons,
	     "do not run the daemons' own -n", NULL},
	    {"postfix", 0, 0, G_OPTION_ARG_NONE, &options.postfix,
	     "the wiring doctor: how Postfix attaches the daemons (postconf)", NULL},
	    {"config-dir", 0, 0, G_OPTION_ARG_FILENAME, &options.postfix_dir,
	     "with --postfix: Postfix's configuration directory (postconf -c)", "DIR"},
	    {"sendmail", 0, 0, G_OPTION_ARG_FILENAME, &options.sendmail_cf,
	     "the wiring doctor for Sendmail: its sendmail.cf", "FILE.cf"},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context =
	    g_option_context_new("- the configuration as all five daemons would load it");
	g_autoptr(GError) error = NULL;
	int status;

	g_option_context_add_main_entries(context, entries, NULL);
	g_option_context_set_summary(
	    context, "Prints every error (file, line, section, key) and, without errors, the\n"
		     "warnings: what is legal but rarely meant. Exit status 0 without errors,\n"
		     "1 with, 2 for a usage error.");
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_autofree char *help = g_option_context_get_help(context, TRUE, NULL);

		fprintf(stderr, TOOL_NAME ": %s\n\n%s", error->message, help);
		status = TOOL_EXIT_USAGE;
	} else if (argc > 1) {
		fprintf(stderr, TOOL_NAME ": no arguments besides the options\n");
		status = TOOL_EXIT_USAGE;
	} else if (options.postfix && options.sendmail_cf != NULL) {
		fprintf(stderr, TOOL_NAME ": --postfix or --sendmail, not both\n");
		status = TOOL_EXIT_USAGE;
	} else if (options.postfix_dir != NULL && !options.postfix) {
		fprintf(stderr, TOOL_NAME ": --config-dir goes with --postfix\n");
		status = TOOL_EXIT_USAGE;
	} else {
		status = run(&options);
	}
	g_free(options.config_path);
	g_free(options.daemons_dir);
	g_free(options.postfix_dir);
	g_free(options.sendmail_cf);
	return status;
}
