/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-main: start-up and teardown of every daemon. Start-up runs in
 * the order that keeps privileges shortest: options, a first read of the
 * config (what the socket needs), logging, store, socket (as root),
 * privilege drop, the config as the daemon's user, pid file, daemon init and
 * metrics, statistics, the signal thread, then the connections
 * (pc-milter-conn.c). Teardown runs in reverse.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc-log.h"
#include "pc-milter-private.h"
#include "pc-milter.h"
#include "pc-notify.h"
#include "pc-stats.h"

#define milter_desc (pc_milter_process.desc)
#define members (pc_milter_process.members)
#define n_members (pc_milter_process.n_members)
#define config_slot (pc_milter_process.config_slot)
#define milter_store (pc_milter_process.store)
#define milter_dns (pc_milter_process.dns)
#define connection_cap (pc_milter_process.connection_cap)

static char *config_path;
static PcStatsCounter *reload_ok_counter;
static PcStatsCounter *reload_failed_counter;
/* the descriptor limit in force (soft, after raising it); 0 = unknown */
static guint64 descriptor_limit;
/* written once on SIGTERM or SIGINT: every poll in the process sees it readable */
static int stop_pipe[2] = {-1, -1};

PcStore *
pc_milter_get_store(void)
{
	return milter_store;
}

PcDns *
pc_milter_get_dns(void)
{
	return milter_dns;
}

/*
 * prepare_socket_path: a stale unix socket from a crash is removed; a live
 * one (another instance) or a path that is not a socket is an error, never
 * something we delete.
 */
static gboolean
prepare_socket_path(const char *path, GError **error)
{
	struct stat st;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;
	int rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
			    "socket path %s is longer than %zu bytes", path,
			    sizeof(sun.sun_path) - 1);
		return FALSE;
	}
	if (lstat(path, &st) != 0) {
		g_autofree char *dir = g_path_get_dirname(path);

		if (errno != ENOENT) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "socket path %s: %s", path, g_strerror(errno));
			return FALSE;
		}
		if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
				    "socket directory %s does not exist", dir);
			return FALSE;
		}
		return TRUE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "socket path %s exists and is not a socket; not removing it", path);
		return FALSE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "socket: %s",
			    g_strerror(errno));
		return FALSE;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "another process is listening on %s", path);
		return FALSE;
	}
	if (unlink(path) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot remove stale socket %s: %s", path, g_strerror(errno));
		return FALSE;
	}
	g_info("removed stale socket %s", path);
	return TRUE;
}

typedef struct {
	uid_t uid;
	gid_t gid;
	char *user;
	gboolean drop;
} DropPlan;

static gboolean
plan_privilege_drop(const PcGlobalConfig *global, const char *path, DropPlan *plan, GError **error)
{
	struct passwd pw;
	struct passwd *pw_result = NULL;
	char buf[4096];

	memset(plan, 0, sizeof(*plan));
	if (geteuid() != 0 || global->user == NULL) {
		if (geteuid() == 0)
			g_warning("running as root: set [global] user in %s", path);
		return TRUE;
	}
	if (getpwnam_r(global->user, &pw, buf, sizeof(buf), &pw_result) != 0 || pw_result == NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
			    "%s: [global] user: no such user '%s'", path, global->user);
		return FALSE;
	}
	plan->drop = TRUE;
	plan->uid = pw.pw_uid;
	plan->gid = pw.pw_gid;
	plan->user = g_strdup(global->user);
	if (global->group != NULL) {
		struct group gr;
		struct group *gr_result = NULL;

		if (getgrnam_r(global->group, &gr, buf, sizeof(buf), &gr_result) != 0 ||
		    gr_result == NULL) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
				    "%s: [global] group: no such group '%s'", path, global->group);
			return FALSE;
		}
		plan->gid = gr.gr_gid;
	}
	return TRUE;
}

static gboolean
drop_privileges(const DropPlan *plan, GError **error)
{
	if (!plan->drop)
		return TRUE;
	if (initgroups(plan->user, plan->gid) != 0 || setgid(plan->gid) != 0 ||
	    setuid(plan->uid) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot drop privileges to %s: %s", plan->user, g_strerror(errno));
		return FALSE;
	}
	/* must not be able to get root back */
	if (setuid(0) == 0 || geteuid() == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM,
			    "privilege drop to %s did not stick", plan->user);
		return FALSE;
	}
	return TRUE;
}

/*
 * the one identity for reading files: the config, domains.d, maps and keys are
 * read as the daemon's user at start (after the drop) and at every reload
 * (the reload thread runs as that user), so a file that starts fine also
 * reloads fine. error names the user when reading failed.
 */
static PcConfig *
load_config_for(const PcMilterDescriptor *descriptor, GError **error)
{
	PcConfig *config =
	    pc_config_load_full(config_path, descriptor->schema, descriptor->extra_schemas, error);

	if (config == NULL && geteuid() != 0) {
		struct passwd pw;
		struct passwd *result = NULL;
		char buf[1024];

		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &result) == 0 && result != NULL)
			g_prefix_error(error, "reading as user %s: ", pw.pw_name);
	}
	return config;
}

static PcConfig *
load_config(GError **error)
{
	return load_config_for(milter_desc, error);
}

/*
 * a stack's members' snapshots, each loaded with its own schema as its own
 * daemon loads it, into configs[n_members]: all of them, or none (FALSE)
 */
static gboolean
load_member_configs(PcConfig **configs, GError **error)
{
	for (guint i = 0; i < n_members; i++) {
		configs[i] = load_config_for(members[i].desc, error);
		if (configs[i] == NULL) {
			g_prefix_error(error, "member %s: ", members[i].desc->name);
			while (i-- > 0)
				g_clear_pointer(&configs[i], pc_config_unref);
			return FALSE;
		}
	}
	return TRUE;
}

static void
free_member_configs(PcConfig **configs)
{
	for (guint i = 0; i < n_members; i++)
		g_clear_pointer(&configs[i], pc_config_unref);
}

static void
reload_config(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcConfig) old_config = NULL;
	PcConfig *member_configs[PC_MILTER_MAX_MEMBERS] = {NULL};

	/* systemd shows "reloading" until READY=1 (informational before systemd 253) */
	{
		/* sd_notify(3): the reload's start on CLOCK_MONOTONIC (GLib's clock) */
		g_autofree char *state = g_strdup_printf(
		    "RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time());

		pc_notify(state);
	}
	config = load_config(&error);
	/* a stack changes all its members' snapshots, or none */
	if (config != NULL && pc_milter_process.stack &&
	    !load_member_configs(member_configs, &error))
		g_clear_pointer(&config, pc_config_unref);
	if (config == NULL) {
		pc_stats_counter_inc(reload_failed_counter);
		g_warning("reload failed, keeping the running configuration: %s", error->message);
		pc_notify("READY=1\nSTATUS=reload failed, serving with the previous configuration");
		return;
	}
	old_config = pc_config_slot_acquire(&config_slot);
	pc_config_keep_restart_values(config, old_config);
	pc_config_slot_replace(&config_slot, config);
	if (!pc_milter_process.stack) {
		if (milter_desc->reconfigure != NULL)
			milter_desc->reconfigure(config);
	}
	/*
	 * the restart keys are [global]'s and the daemon base's: process-wide,
	 * the stack's own snapshot keeps (and warns about) them; a member reads
	 * none of them, so its snapshot is not warned about twice
	 */
	for (guint i = 0; pc_milter_process.stack && i < n_members; i++) {
		pc_config_slot_replace(members[i].slot, member_configs[i]);
		if (members[i].desc->reconfigure != NULL)
			members[i].desc->reconfigure(member_configs[i]);
	}
	free_member_configs(member_configs);
	pc_stats_counter_inc(reload_ok_counter);
	g_message("reload: configuration %s loaded (%u domain files, %u listeners)", config_path,
		  pc_config_get_n_domain_files(config), pc_config_get_n_listeners(config));
	pc_notify("READY=1\nSTATUS=serving");
}

/* the stack member whose control command runs on this thread, or NULL */
static __thread const PcMilterMember *control_member;

PcConfig *
pc_milter_acquire_config(void)
{
	if (control_member != NULL)
		return pc_config_slot_acquire(control_member->slot);
	/* a stack's own snapshot is not any member's: its section has another type */
	if (pc_milter_process.stack) {
		g_critical(
		    "pc_milter_acquire_config outside a member's control command in a stack");
		return NULL;
	}
	return pc_config_slot_acquire(&config_slot);
}

/*
 * a stack's control socket: each member that has control commands is asked
 * in turn, and the first that knows the command answers it
 */
static gboolean
stack_control(const char *const *argv, guint argc, GString *reply, GError **error)
{
	g_autoptr(GString) known = g_string_new(NULL);

	for (guint i = 0; i < n_members; i++) {
		g_autoptr(GError) member_error = NULL;
		gboolean ok;

		if (members[i].desc->control == NULL)
			continue;
		control_member = &members[i];
		ok = members[i].desc->control(argv, argc, reply, &member_error);
		control_member = NULL;
		if (ok)
			return TRUE;
		if (member_error == NULL) {
			g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_FAILED,
				    "%s could not do it", members[i].desc->name);
			return FALSE;
		}
		if (!g_error_matches(member_error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_UNKNOWN)) {
			g_propagate_error(error, g_steal_pointer(&member_error));
			return FALSE;
		}
		g_string_append_printf(known, "%s%s", known->len > 0 ? "; " : "",
				       member_error->message);
	}
	g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_UNKNOWN,
		    "portcullis-%s knows: ping, reload%s%s", milter_desc->name,
		    known->len > 0 ? "; and its members': " : "", known->str);
	return FALSE;
}

/* "reload" on the control socket: the signal thread reloads, as for SIGHUP */
static void
control_reload(void)
{
	kill(getpid(), SIGHUP);
}

/*
 * the control socket, [global] control_dir/NAME/NAME.control
 * (pc_control_path): a control_dir that is not there means none (said
 * once); the daemon's own directory in it is made when missing (systemd's
 * RuntimeDirectory makes it first under a unit); a socket that cannot be
 * made is a warning, never a reason not to serve mail
 */
static void
start_control(const PcConfig *config, const PcMilterDescriptor *descriptor)
{
	const char *dir = pc_config_get_global(config)->control_dir;
	g_autofree char *own = NULL;
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;

	if (dir == NULL)
		return;
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_message("control socket off: [global] control_dir %s does not exist", dir);
		return;
	}
	own = g_build_filename(dir, descriptor->name, NULL);
	/* the daemon's group may enter (the socket itself is 0660) */
	if (mkdir(own, 0750) != 0 && errno != EEXIST) {
		g_warning("control socket off: cannot make %s: %s", own, g_strerror(errno));
		return;
	}
	path = pc_control_path(dir, descriptor->name);
	if (!pc_control_start(path, pc_milter_process.stack ? stack_control : descriptor->control,
			      control_reload, &error))
		g_warning("control socket off: %s", error->message);
}

/* wakes every poll in the process: the accept loop and each idle connection */
static void
request_stop(void)
{
	static atomic_bool requested;
	char byte = 1;

	if (atomic_exchange(&requested, TRUE))
		return;
	while (write(stop_pipe[1], &byte, 1) < 0 && errno == EINTR)
		;
}

/*
 * the one thread that takes signals (all four are blocked everywhere else):
 * SIGHUP and SIGUSR1 reload, SIGTERM and SIGINT stop
 */
static gpointer
signal_thread(gpointer data)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			g_critical("sigwaitinfo: %s; signals are off, stopping", g_strerror(errno));
			request_stop();
			return NULL;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			g_message("signal %s received", sig == SIGTERM ? "TERM" : "INT");
			request_stop();
			return NULL;
		}
		g_message("reload: signal %s received", sig == SIGHUP ? "HUP" : "USR1");
		reload_config();
	}
	return NULL;
}

static gboolean
write_pid_file(const char *path, GError **error)
{
	g_autofree char *text = g_strdup_printf("%ld\n", (long)getpid());

	return g_file_set_contents(path, text, -1, error);
}

static void
register_common_metrics(void)
{
	pc_milter_register_stage_metrics();
	{
		g_autofree char *ok =
		    g_strdup_printf("daemon=\"%s\",result=\"ok\"", milter_desc->name);
		g_autofree char *failed =
		    g_strdup_printf("daemon=\"%s\",result=\"failed\"", milter_desc->name);

		reload_ok_counter = pc_stats_counter_register("portcullis_config_reloads_total",
							      "Configuration reloads", ok);
		reload_failed_counter = pc_stats_counter_register("portcullis_config_reloads_total",
								  "Configuration reloads", failed);
	}
	/* the registry is written before the listener starts, never after */
	pc_milter_conn_register_metrics();
}

typedef struct {
	char *config;
	char *socket;
	gboolean foreground;
	gboolean check;
	gboolean version;
	gboolean verbose;
	gboolean print_macros;
} Options;

static void
options_clear(Options *options)
{
	g_free(options->config);
	g_free(options->socket);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

static gboolean
parse_options(Options *options, const char *ident, int *argc, char ***argv, GError **error)
{
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options->config,
	     "Configuration file (default " PC_CONFIG_DEFAULT_FILE ")", "FILE"},
	    {"socket", 'p', 0, G_OPTION_ARG_STRING, &options->socket,
	     "Milter socket: unix:/PATH, inet:PORT@HOST, inet6:PORT@HOST", "SOCKET"},
	    {"foreground", 'f', 0, G_OPTION_ARG_NONE, &options->foreground,
	     "Log to stderr instead of syslog", NULL},
	    {"check", 'n', 0, G_OPTION_ARG_NONE, &options->check,
	     "Check the configuration and exit", NULL},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose, "Log info lines too", NULL},
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &options->version, "Print the version", NULL},
	    {"print-macros", 'M', 0, G_OPTION_ARG_NONE, &options->print_macros,
	     "Print the milter macros requested per stage and exit", NULL},
	    G_OPTION_ENTRY_NULL,
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);

	g_option_context_set_summary(context, ident);
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, argc, argv, error))
		return FALSE;
	if (*argc > 1) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "unexpected argument '%s'", (*argv)[1]);
		return FALSE;
	}
	return TRUE;
}

/*
 * serve_statistics: the daemon section's own statistics key, else [global]
 * statistics with the daemon's offset added to its port, so that the five
 * daemons reading one file do not fight over one port. Empty: off.
 */
static gboolean
serve_statistics(const PcConfig *config, const PcMilterDescriptor *descriptor, GError **error)
{
	const char *own = pc_config_get_daemon(config)->statistics;
	const char *global = pc_config_get_global(config)->statistics;
	g_autofree char *listen = NULL;

	if (own != NULL) {
		if (!pc_stats_serve(own, error)) {
			g_prefix_error(error, "[%s] statistics: ", descriptor->name);
			return FALSE;
		}
		return TRUE;
	}
	if (global == NULL)
		return TRUE;
	{
		const char *colon = strrchr(global, ':');
		char *end = NULL;
		guint64 port = colon != NULL ? g_ascii_strtoull(colon + 1, &end, 10) : 0;

		if (colon == NULL || end == colon + 1 || *end != '\0' ||
		    port + descriptor->statistics_offset > 65535) {
			g_set_error(error, PC_STATS_ERROR, PC_STATS_ERROR_LISTEN,
				    "[global] statistics: '%s' is not HOST:PORT", global);
			return FALSE;
		}
		listen = g_strdup_printf("%.*s:%" G_GUINT64_FORMAT, (int)(colon - global), global,
					 port + descriptor->statistics_offset);
	}
	if (!pc_stats_serve(listen, error)) {
		g_prefix_error(error, "[global] statistics (+%u for %s, %s): ",
			       descriptor->statistics_offset, descriptor->name, listen);
		return FALSE;
	}
	return TRUE;
}

/* the listening socket, or -1 (error set) */
static int
open_milter_socket(const char *spec, const DropPlan *plan, GError **error)
{
	const char *path = NULL;
	gboolean is_unix = pc_milter_unix_socket_path(spec, &path);
	mode_t old_umask;
	int fd;

	if (is_unix && !prepare_socket_path(path, error))
		return -1;
	/*
	 * the MTA connects as its own user: owner and group may read and write
	 * (connect needs write), others nothing: 0660, whatever the caller's umask
	 */
	old_umask = umask(0117);
	fd = pc_milter_listen(spec, error);
	umask(old_umask);
	if (fd < 0)
		return -1;
	if (is_unix && plan->drop && chown(path, plan->uid, plan->gid) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "chown %s: %s",
			    path, g_strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * connection_cap_for: the soft descriptor limit goes up to the hard one,
 * and the connection cap stays below what is left after the daemon's own
 * descriptors, so accept() does not meet EMFILE while connections are
 * served
 */
static guint
connection_cap_for(const PcGlobalConfig *global)
{
	struct rlimit limit;
	guint64 usable;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return (guint)global->max_connections;
	if (limit.rlim_cur < limit.rlim_max) {
		struct rlimit raised = {.rlim_cur = limit.rlim_max, .rlim_max = limit.rlim_max};

		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			limit = raised;
		else
			g_warning("cannot raise the descriptor limit from %llu to %llu: %s",
				  (unsigned long long)limit.rlim_cur,
				  (unsigned long long)limit.rlim_max, g_strerror(errno));
	}
	usable = limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT : (guint64)limit.rlim_cur;
	descriptor_limit = limit.rlim_cur == RLIM_INFINITY ? 0 : usable;
	usable = usable > 2 * RESERVED_DESCRIPTORS ? usable - RESERVED_DESCRIPTORS : usable / 2;
	if ((guint64)global->max_connections <= usable)
		return (guint)global->max_connections;
	g_warning("[global] max_connections = %" G_GINT64_FORMAT
		  " is more than the descriptor limit (%llu) leaves; capping at %" G_GUINT64_FORMAT,
		  global->max_connections, (unsigned long long)limit.rlim_cur, usable);
	return (guint)usable;
}

/* writes a possibly multi-line error, each line prefixed with ident */
static void
print_error(const char *ident, const char *message)
{
	g_auto(GStrv) lines = g_strsplit(message, "\n", -1);

	for (gsize i = 0; lines[i] != NULL; i++)
		fprintf(stderr, "%s: %s\n", ident, lines[i]);
}

/* the socket's directory must exist; nothing is created or removed here */
static gboolean
check_socket_directory(const char *spec, GError **error)
{
	const char *path = NULL;
	g_autofree char *dir = NULL;

	if (!pc_milter_unix_socket_path(spec, &path))
		return TRUE;
	dir = g_path_get_dirname(path);
	if (g_file_test(dir, G_FILE_TEST_IS_DIR))
		return TRUE;
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "socket: directory %s does not exist",
		    dir);
	return FALSE;
}

/*
 * -n as root with a [global] user: a child drops to that user and loads the
 * file as the daemon would after start-up and at reload. Its errors go to
 * stderr; FALSE when it failed.
 */
static gboolean
check_as_user(const DropPlan *plan, const char *ident)
{
	pid_t child;
	int status = 0;

	fflush(stdout);
	fflush(stderr);
	child = fork();
	if (child < 0) {
		fprintf(stderr, "%s: fork: %s\n", ident, g_strerror(errno));
		return FALSE;
	}
	if (child == 0) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PcConfig) config = NULL;

		if (!drop_privileges(plan, &error)) {
			print_error(ident, error->message);
			_exit(1);
		}
		config = load_config(&error);
		if (config == NULL) {
			print_error(ident, error->message);
			_exit(1);
		}
		if (pc_milter_process.stack) {
			PcConfig *member_configs[PC_MILTER_MAX_MEMBERS] = {NULL};

			pc_milter_set_members(milter_desc, config);
			if (!load_member_configs(member_configs, &error)) {
				print_error(ident, error->message);
				_exit(1);
			}
			free_member_configs(member_configs);
		}
		_exit(0);
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* -n: every section as every daemon would load it, the user, group and socket directory */
static int
check_config(const PcMilterDescriptor *descriptor, const Options *options, const char *ident)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load_config(&error);
	gboolean ok = TRUE;
	DropPlan plan = {0};

	if (descriptor->all_daemons != NULL) {
		g_autoptr(GError) all_error = NULL;

		/* the daemon's own errors are among them: print this list only */
		if (!pc_config_check_all(config_path, descriptor->all_daemons, &all_error)) {
			print_error(ident, all_error->message);
			ok = FALSE;
		} else if (config == NULL) {
			print_error(ident, error->message);
			ok = FALSE;
		}
	} else if (config == NULL) {
		print_error(ident, error->message);
		ok = FALSE;
	}
	if (config == NULL)
		return 1;
	g_clear_error(&error);
	if (!plan_privilege_drop(pc_config_get_global(config), config_path, &plan, &error)) {
		print_error(ident, error->message);
		g_clear_error(&error);
		ok = FALSE;
	}
	if (!check_socket_directory(options->socket != NULL ? options->socket
							    : pc_config_get_daemon(config)->socket,
				    &error)) {
		fprintf(stderr, "%s: %s: [%s] %s\n", ident, config_path, descriptor->name,
			error->message);
		g_clear_error(&error);
		ok = FALSE;
	}
	if (ok && plan.drop && !check_as_user(&plan, ident))
		ok = FALSE;
	/* not root: the members' snapshots as this user (a signing member opens its keys) */
	if (ok && !plan.drop && pc_milter_process.stack) {
		PcConfig *member_configs[PC_MILTER_MAX_MEMBERS] = {NULL};

		pc_milter_set_members(descriptor, config);
		if (!load_member_configs(member_configs, &error)) {
			print_error(ident, error->message);
			g_clear_error(&error);
			ok = FALSE;
		}
		free_member_configs(member_configs);
	}
	g_free(plan.user);
	if (!ok)
		return 1;
	if (options->verbose) {
		g_autofree char *described = pc_config_describe(config);

		fputs(described, stdout);
	}
	printf("%s: configuration %s is valid (%u listeners, %u domain files)\n", ident,
	       config_path, pc_config_get_n_listeners(config),
	       pc_config_get_n_domain_files(config));
	return 0;
}

/* the signal thread, stopped at teardown */
static GThread *signal_thread_handle;

static void
stop_signal_thread(void)
{
	if (signal_thread_handle == NULL)
		return;
	/*
	 * to the process: SIGTERM is blocked everywhere and only the signal
	 * thread waits for it; when it has already stopped on one, this one
	 * stays pending until the exit
	 */
	kill(getpid(), SIGTERM);
	g_thread_join(g_steal_pointer(&signal_thread_handle));
}

/* after stop: idle connections close at once, busy ones after their command */
static gboolean
wait_for_connections(void)
{
	for (int i = 0; i < 500 && pc_milter_connections() > 0; i++)
		g_usleep(10000);
	return pc_milter_connections() == 0;
}

static int
run(const PcMilterDescriptor *descriptor, const Options *options, const char *ident)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) bootstrap = NULL;
	g_autoptr(PcConfig) config = NULL;
	const PcGlobalConfig *global;
	g_autofree char *socket_spec = NULL;
	g_autofree char *pid_file = NULL;
	const char *socket_path = NULL;
	DropPlan plan;
	sigset_t set;
	int listen_fd;

	/* refuse_at names stages with hooks, and only those the protocol can answer */
	for (guint i = 0; i < n_members; i++) {
		for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
			if ((members[i].desc->refuse_at & PC_STAGE_MASK(stage)) != 0 &&
			    !pc_milter_stage_has_hook(members[i].desc, stage))
				g_error("%s: %s's refuse_at names %s, which has no hook", ident,
					members[i].desc->name, pc_stage_to_string(stage));
		}
	}

	if (options->check)
		return check_config(descriptor, options, ident);
	/* as started (root): what is needed before the socket opens */
	bootstrap = load_config(&error);
	if (bootstrap == NULL) {
		print_error(ident, error->message);
		return 1;
	}

	/*
	 * before any thread exists (the metrics listener, the resolver's):
	 * every thread inherits this mask, so the signals are only ever taken
	 * by the signal thread
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pc_log_init(ident, options->foreground ? PC_LOG_TARGET_STDERR : PC_LOG_TARGET_SYSLOG);
	pc_log_set_verbose(options->verbose);
	global = pc_config_get_global(bootstrap);
	socket_spec = g_strdup(options->socket != NULL ? options->socket
						       : pc_config_get_daemon(bootstrap)->socket);
	pid_file = g_strdup(pc_config_get_daemon(bootstrap)->pid_file);
	connection_cap = connection_cap_for(global);

	milter_store = pc_store_new_with_options(
	    global->store,
	    &(PcStoreOptions){.max_keys = (gsize)global->store_max_keys,
			      .connect_timeout_us = global->store_connect_timeout,
			      .command_timeout_us = global->store_timeout,
			      .max_connections = (guint)global->store_connections},
	    &error);
	if (milter_store == NULL) {
		g_critical("%s: [global] store: %s", config_path, error->message);
		return 1;
	}
	if (!plan_privilege_drop(global, config_path, &plan, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	listen_fd = open_milter_socket(socket_spec, &plan, &error);
	if (listen_fd < 0) {
		g_critical("%s", error->message);
		return 1;
	}
	pc_milter_unix_socket_path(socket_spec, &socket_path);
	if (!drop_privileges(&plan, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	g_free(plan.user);

	/* as the daemon's user: the snapshot it runs with, read as every reload will be */
	config = plan.drop ? load_config(&error) : pc_config_ref(bootstrap);
	/* what was set up from the first read is what is in force, should the file have changed */
	if (config != NULL && config != bootstrap)
		pc_config_keep_restart_values(config, bootstrap);
	if (config == NULL) {
		g_critical("%s (files must be readable by the daemon's user: it reads them at "
			   "start and at every reload)",
			   error->message);
		return 1;
	}
	/* a stack: the members its section names, each with its own snapshot */
	pc_milter_set_members(descriptor, config);
	if (pc_milter_process.stack) {
		PcConfig *member_configs[PC_MILTER_MAX_MEMBERS] = {NULL};
		g_autoptr(GString) names = g_string_new(NULL);

		if (!load_member_configs(member_configs, &error)) {
			g_critical("%s", error->message);
			return 1;
		}
		for (guint i = 0; i < n_members; i++) {
			pc_config_slot_init(members[i].slot, member_configs[i]);
			g_string_append_printf(names, "%s%s", i > 0 ? ", " : "",
					       members[i].desc->name);
		}
		free_member_configs(member_configs);
		g_message("hosting %s on one milter connection", names->str);
	}
	if (pid_file != NULL && !write_pid_file(pid_file, &error)) {
		g_critical("%s: [%s] pid_file: %s (written as the daemon's user, which removes it "
			   "at exit)",
			   config_path, descriptor->name, error->message);
		return 1;
	}
	register_common_metrics();
	/* after the drop: its threads and the files it reads are the daemon user's */
	for (guint i = 0; i < n_members && milter_dns == NULL; i++) {
		if (!members[i].desc->uses_dns)
			continue;
		milter_dns = pc_dns_new_from_config(pc_config_get_global(config), &error);
		if (milter_dns == NULL) {
			g_critical("%s: %s", config_path, error->message);
			return 1;
		}
	}
	pc_config_slot_init(&config_slot, config);
	for (guint i = 0; i < n_members; i++) {
		const PcMilterDescriptor *member = members[i].desc;
		g_autoptr(PcConfig) member_config = pc_config_slot_acquire(members[i].slot);

		if (member->init != NULL && !member->init(member_config, &error)) {
			g_critical("%s", error->message);
			return 1;
		}
		if (member->reconfigure != NULL)
			member->reconfigure(member_config);
	}
	if (!serve_statistics(config, descriptor, &error)) {
		g_critical("%s: %s", config_path, error->message);
		return 1;
	}

	if (pipe2(stop_pipe, O_CLOEXEC) != 0) {
		g_critical("pipe: %s", g_strerror(errno));
		return 1;
	}
	signal_thread_handle = g_thread_new("signals", signal_thread, NULL);
	start_control(config, descriptor);

	g_message("starting: version %s, config %s, socket %s, %u listeners, %u domain files, "
		  "at most %u connections",
		  PC_VERSION, config_path, socket_spec, pc_config_get_n_listeners(config),
		  pc_config_get_n_domain_files(config), connection_cap);
	/* the socket is listening: a unit with Type=notify is started now */
	pc_notify("READY=1\nSTATUS=serving");
	pc_milter_serve(listen_fd, stop_pipe[0], descriptor->name, global->milter_timeout,
			descriptor_limit);
	g_message("stopping");
	pc_notify("STOPPING=1");

	/* teardown in reverse: no new connection, then the open ones end */
	close(listen_fd);
	request_stop();
	pc_control_stop();
	stop_signal_thread();
	pc_stats_stop();
	if (wait_for_connections()) {
		for (guint i = n_members; i-- > 0;) {
			if (members[i].desc->deinit != NULL)
				members[i].desc->deinit();
			if (members[i].slot != &config_slot)
				pc_config_slot_clear(members[i].slot);
		}
		g_clear_pointer(&milter_dns, pc_dns_free);
		pc_config_slot_clear(&config_slot);
		g_clear_pointer(&milter_store, pc_store_free);
	} else {
		g_warning("%u connections still open at exit; not freeing what they use",
			  pc_milter_connections());
	}
	if (pid_file != NULL && unlink(pid_file) != 0)
		g_warning("cannot remove pid file %s: %s", pid_file, g_strerror(errno));
	if (socket_path != NULL)
		unlink(socket_path);
	return 0;
}

int
pc_milter_main(const PcMilterDescriptor *descriptor, int argc, char **argv)
{
	g_auto(Options) options = {0};
	g_autoptr(GError) error = NULL;
	g_autofree char *ident = NULL;

	g_return_val_if_fail(descriptor != NULL, 1);

	/* before any thread: it unsets $NOTIFY_SOCKET (see pc-notify.h) */
	pc_notify_init();
	/* every member it could host until the configuration says which (-M shows them all) */
	pc_milter_set_members(descriptor, NULL);
	ident = g_strconcat("portcullis-", descriptor->name, NULL);
	if (!parse_options(&options, ident, &argc, &argv, &error)) {
		fprintf(stderr, "%s: %s (try --help)\n", ident, error->message);
		return 2;
	}
	if (options.version) {
		printf("%s %s (milter protocol %u)\n", ident, PC_VERSION, PC_MILTER_WIRE_VERSION);
		return 0;
	}
	if (options.print_macros) {
		pc_milter_print_macro_lists();
		return 0;
	}
	config_path = g_strdup(options.config != NULL ? options.config : PC_CONFIG_DEFAULT_FILE);
	return run(descriptor, &options, ident);
}
