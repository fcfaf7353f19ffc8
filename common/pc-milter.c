/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter: the libmilter skeleton. Start-up runs in the order that keeps
 * privileges shortest: options, config, logging, store, daemon init and
 * metrics, socket (as root), pid file, privilege drop, signal thread, then
 * smfi_main(). Teardown runs in reverse.
 */
#include <errno.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pc-log.h"
#include "pc-milter.h"
#include "pc-stats.h"

/*
 * Process-wide state, written once at start-up before smfi_main() starts any
 * worker thread: the descriptor, the store, the metrics. The config slot is
 * the one object that changes afterwards, and it owns its own mutex.
 */
static const PcMilterDescriptor *milter_desc;
static PcConfigSlot config_slot;
static PcStore *milter_store;
static char *config_path;
static PcStatsCounter *verdict_counters[PC_ACTION_QUARANTINE + 1];
static PcStatsCounter *reload_ok_counter;
static PcStatsCounter *reload_failed_counter;

/* macros every daemon needs for PcSession, per SMFIM_ stage */
static const char *const base_macros[7] = {
    [SMFIM_CONNECT] = "{daemon_name} {daemon_port} {daemon_addr}",
    [SMFIM_HELO] = "{tls_version} {cipher} {cipher_bits}",
    [SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {daemon_port} {tls_version} {cipher} "
		      "{cipher_bits}",
    [SMFIM_ENVRCPT] = "i",
    [SMFIM_DATA] = "i {auth_authen}",
    /* requested even when unused: Sendmail 8.17 ignores an EOM list without it */
    [SMFIM_EOH] = "i",
    [SMFIM_EOM] = "i {auth_type} {auth_authen}",
};

/*
 * libmilter's signal thread sigwait()s for SIGHUP, SIGTERM and SIGINT and
 * stops the milter on any of them, so a reload signal would end the process
 * (the long-standing OpenDKIM/OpenDMARC behaviour). This definition in the
 * executable interposes libc's: the dynamic linker binds libmilter's call to
 * it. It removes SIGHUP and SIGUSR1 from any set it is asked to wait on, so
 * only our reload thread, which uses sigwaitinfo(), ever takes them.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t mine = *set;

	sigdelset(&mine, SIGHUP);
	sigdelset(&mine, SIGUSR1);
	for (;;) {
		int got = sigwaitinfo(&mine, NULL);

		if (got >= 0) {
			*sig = got;
			return 0;
		}
		if (errno != EINTR)
			return errno;
	}
}

PcStore *
pc_milter_get_store(void)
{
	return milter_store;
}

/* ------------------------------------------------------------- callbacks */

static const char *
macro_lookup(gpointer data, const char *name)
{
	return smfi_getsymval((SMFICTX *)data, (char *)name);
}

static PcSession *
get_session(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static sfsistat
apply_verdict(SMFICTX *ctx, PcSession *session, PcVerdict *verdict, PcStage stage)
{
	if (verdict->action != PC_ACTION_CONTINUE || verdict->log)
		pc_verdict_log(verdict, session, milter_desc->name, stage);
	pc_stats_counter_inc(verdict_counters[verdict->action]);

	switch (verdict->action) {
	case PC_ACTION_CONTINUE:
		return SMFIS_CONTINUE;
	case PC_ACTION_ACCEPT:
		return SMFIS_ACCEPT;
	case PC_ACTION_DISCARD:
		return SMFIS_DISCARD;
	case PC_ACTION_QUARANTINE: {
		g_autofree char *text = pc_verdict_milter_text(verdict);

		if (stage != PC_STAGE_EOM ||
		    smfi_quarantine(ctx, text != NULL ? text : (char *)"portcullis") !=
			MI_SUCCESS) {
			g_warning("%s: %s: could not quarantine at %s; tempfailing instead",
				  pc_session_queue_id(session), milter_desc->name,
				  pc_stage_to_string(stage));
			return SMFIS_TEMPFAIL;
		}
		return SMFIS_CONTINUE;
	}
	case PC_ACTION_REJECT:
	case PC_ACTION_TEMPFAIL:
		/* the milter API allows no custom reply at connect: the MTA's default is used */
		if (stage != PC_STAGE_CONNECT && verdict->code[0] != '\0') {
			g_autofree char *text = pc_verdict_milter_text(verdict);

			if (smfi_setreply(ctx, verdict->code,
					  verdict->xcode[0] != '\0' ? verdict->xcode : NULL,
					  text) != MI_SUCCESS)
				g_warning("%s: %s: smfi_setreply refused %s %s",
					  pc_session_queue_id(session), milter_desc->name,
					  verdict->code, verdict->xcode);
		}
		return verdict->action == PC_ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	g_assert_not_reached();
}

/* runs hook (if any) and applies its verdict; NOREPLY where negotiated */
static sfsistat
run_hook(SMFICTX *ctx, PcSession *session, PcMilterHook hook, PcStage stage, guint32 nr_flag)
{
	g_auto(PcVerdict) verdict;

	pc_verdict_init(&verdict);
	if (hook != NULL)
		hook(session, session->config, &verdict);
	if (verdict.action == PC_ACTION_CONTINUE && !verdict.log &&
	    (session->milter_no_reply & nr_flag) != 0)
		return SMFIS_NOREPLY;
	if ((session->milter_no_reply & nr_flag) != 0 && verdict.action != PC_ACTION_CONTINUE) {
		/* a step we promised not to answer cannot refuse: a bug in the descriptor */
		g_critical("%s: hook at %s refused a step negotiated as no-reply", milter_desc->name,
			   pc_stage_to_string(stage));
		pc_verdict_log(&verdict, session, milter_desc->name, stage);
		return SMFIS_NOREPLY;
	}
	return apply_verdict(ctx, session, &verdict, stage);
}

static PcSession *
ensure_session(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL) {
		session = pc_session_new(milter_store, g_get_monotonic_time());
		smfi_setpriv(ctx, session);
	}
	return session;
}

/* (transfer full) the names requested at stage: the base list plus the daemon's */
static char *
macro_list(const PcMilterDescriptor *descriptor, int stage)
{
	g_autofree char *list =
	    g_strjoin(" ", base_macros[stage],
		      descriptor->macros[stage] != NULL ? descriptor->macros[stage] : "", NULL);

	return g_strdup(g_strstrip(list));
}

/*
 * -M prints what negotiation requests, one stage a line, so that tests/e2e's
 * macro recorder can ask a real MTA for exactly the same lists
 */
static void
print_macro_lists(const PcMilterDescriptor *descriptor)
{
	static const char *const stage_names[SMFIM_LAST + 1] = {
	    [SMFIM_CONNECT] = "connect", [SMFIM_HELO] = "helo", [SMFIM_ENVFROM] = "mail",
	    [SMFIM_ENVRCPT] = "rcpt",	 [SMFIM_DATA] = "data", [SMFIM_EOH] = "eoh",
	    [SMFIM_EOM] = "eom",
	};

	for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
		g_autofree char *list = macro_list(descriptor, stage);

		printf("%s %s\n", stage_names[stage], list);
	}
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	     unsigned long *pf3)
{
	PcSession *session = ensure_session(ctx);
	const PcSteps steps = milter_desc->steps;
	unsigned long protocol = 0;

	gboolean want_headers = (steps & PC_STEP_HEADER) != 0 ||
				milter_desc->keep_headers != NULL || milter_desc->keep_all_headers;
	gboolean want_body = (steps & PC_STEP_BODY) != 0 || milter_desc->count_body;

	/* skip what no hook needs; do not wait for answers a hook never gives */
	if ((steps & PC_STEP_HELO) == 0 && milter_desc->macros[SMFIM_HELO] == NULL)
		protocol |= SMFIP_NOHELO;
	if ((steps & PC_STEP_DATA) == 0)
		protocol |= SMFIP_NODATA;
	if (!want_headers)
		protocol |= SMFIP_NOHDRS;
	else if ((steps & PC_STEP_HEADER) == 0)
		protocol |= SMFIP_NR_HDR;
	if ((steps & PC_STEP_EOH) == 0)
		protocol |= SMFIP_NOEOH;
	if (!want_body)
		protocol |= SMFIP_NOBODY;
	else if ((steps & PC_STEP_BODY) == 0)
		protocol |= SMFIP_NR_BODY;
	protocol |= SMFIP_NOUNKNOWN;
	if ((steps & PC_STEP_CONNECT) == 0)
		protocol |= SMFIP_NR_CONN;
	if ((steps & PC_STEP_HELO) == 0)
		protocol |= SMFIP_NR_HELO;
	if ((steps & PC_STEP_MAIL) == 0)
		protocol |= SMFIP_NR_MAIL;
	if ((steps & PC_STEP_RCPT) == 0)
		protocol |= SMFIP_NR_RCPT;
	protocol &= f1; /* only what the MTA offers */

	*pf0 = (milter_desc->actions | SMFIF_SETSYMLIST) & f0;
	*pf1 = protocol;
	*pf2 = 0;
	*pf3 = 0;
	session->milter_no_reply =
	    (guint32)(protocol & (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |
				  SMFIP_NR_HDR | SMFIP_NR_BODY));

	if ((f0 & SMFIF_SETSYMLIST) != 0) {
		for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
			g_autofree char *list = macro_list(milter_desc, stage);

			if (smfi_setsymlist(ctx, stage, list) != MI_SUCCESS)
				g_warning("%s: smfi_setsymlist(%d) failed", milter_desc->name,
					  stage);
		}
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	PcSession *session = ensure_session(ctx);
	PcNetAddress address;
	gboolean known = pc_net_address_from_sockaddr(hostaddr, &address);

	session->now_us = g_get_monotonic_time();
	pc_session_pin_config(session, &config_slot);
	pc_session_set_client(session, hostname, known ? &address : NULL);
	pc_session_capture(session, PC_STAGE_CONNECT, macro_lookup, ctx);
	if (session->listener == NULL &&
	    pc_config_warn_once(session->config, PC_CONFIG_WARN_UNKNOWN_LISTENER))
		g_warning("%s: no [listener.*] matches {daemon_name}=%s {daemon_port}=%" G_GINT64_FORMAT
			  "; treating such connections as role mx (logged once per configuration)",
			  milter_desc->name,
			  session->daemon_name != NULL ? session->daemon_name : "(not sent)",
			  session->daemon_port);
	if (session->macro_dropped != NULL)
		g_info("%s: macro %s over %d bytes ignored", milter_desc->name,
		       session->macro_dropped, PC_SESSION_MAX_MACRO);
	return run_hook(ctx, session, milter_desc->on_connect, PC_STAGE_CONNECT, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	pc_session_set_helo(session, helo);
	pc_session_capture(session, PC_STAGE_HELO, macro_lookup, ctx);
	return run_hook(ctx, session, milter_desc->on_helo, PC_STAGE_HELO, SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	/* a new transaction: forget any leftovers, see the newest configuration */
	pc_session_reset_message(session);
	pc_session_pin_config(session, &config_slot);
	pc_session_capture(session, PC_STAGE_MAIL, macro_lookup, ctx);
	pc_session_set_sender(session, argv != NULL ? argv[0] : NULL);
	pc_session_set_mail_parameters(session, argv != NULL && argv[0] != NULL
						    ? (const char *const *)argv + 1
						    : NULL);
	return run_hook(ctx, session, milter_desc->on_mail, PC_STAGE_MAIL, SMFIP_NR_MAIL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	PcSession *session = get_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	pc_session_capture(session, PC_STAGE_RCPT, macro_lookup, ctx);
	pc_session_set_current_rcpt(session, argv != NULL ? argv[0] : NULL);
	status = run_hook(ctx, session, milter_desc->on_rcpt, PC_STAGE_RCPT, SMFIP_NR_RCPT);
	if (status == SMFIS_CONTINUE || status == SMFIS_NOREPLY)
		pc_session_accept_current_rcpt(session);
	return status;
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	pc_session_capture(session, PC_STAGE_DATA, macro_lookup, ctx);
	return run_hook(ctx, session, milter_desc->on_data, PC_STAGE_DATA, 0);
}

static gboolean
keep_header(const char *name)
{
	if (milter_desc->keep_all_headers)
		return TRUE;
	if (milter_desc->keep_headers == NULL)
		return FALSE;
	for (gsize i = 0; milter_desc->keep_headers[i] != NULL; i++) {
		if (g_ascii_strcasecmp(milter_desc->keep_headers[i], name) == 0)
			return TRUE;
	}
	return FALSE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	PcSession *session = get_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (name == NULL)
		return SMFIS_CONTINUE;
	pc_session_add_header(session, name, value, keep_header(name));
	status = run_hook(ctx, session, milter_desc->on_header, PC_STAGE_HEADER, SMFIP_NR_HDR);
	session->current_header = NULL;
	return status;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	pc_session_capture(session, PC_STAGE_EOH, macro_lookup, ctx);
	return run_hook(ctx, session, milter_desc->on_eoh, PC_STAGE_EOH, 0);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	PcSession *session = get_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->body_bytes += (gint64)len;
	session->current_body = chunk;
	session->current_body_len = len;
	status = run_hook(ctx, session, milter_desc->on_body, PC_STAGE_BODY, SMFIP_NR_BODY);
	session->current_body = NULL;
	session->current_body_len = 0;
	return status;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	pc_session_capture(session, PC_STAGE_EOM, macro_lookup, ctx);
	status = run_hook(ctx, session, milter_desc->on_eom, PC_STAGE_EOM, 0);
	pc_session_reset_message(session);
	return status;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return SMFIS_CONTINUE;
	if (milter_desc->on_abort != NULL) {
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		milter_desc->on_abort(session, session->config, &verdict);
	}
	pc_session_reset_message(session);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	/* may come before connect, or twice: cope with no session */
	PcSession *session = get_session(ctx);

	smfi_setpriv(ctx, NULL);
	if (session != NULL && milter_desc->on_close != NULL)
		milter_desc->on_close(session, session->config);
	pc_session_free(session);
	return SMFIS_CONTINUE;
}

/* --------------------------------------------------------------- start-up */

static gboolean
unix_socket_path(const char *spec, const char **path_out)
{
	if (g_str_has_prefix(spec, "unix:"))
		*path_out = spec + 5;
	else if (g_str_has_prefix(spec, "local:"))
		*path_out = spec + 6;
	else if (spec[0] == '/')
		*path_out = spec;
	else
		return FALSE;
	return TRUE;
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
plan_privilege_drop(const PcGlobalConfig *global, const char *path, DropPlan *plan,
		    GError **error)
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
	if (getpwnam_r(global->user, &pw, buf, sizeof(buf), &pw_result) != 0 ||
	    pw_result == NULL) {
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
				    "%s: [global] group: no such group '%s'", path,
				    global->group);
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

static void
warn_restart_keys(const PcConfig *old_config, const PcConfig *new_config)
{
	const PcGlobalConfig *a = pc_config_get_global(old_config);
	const PcGlobalConfig *b = pc_config_get_global(new_config);
	const PcDaemonBase *da = pc_config_get_daemon(old_config);
	const PcDaemonBase *db = pc_config_get_daemon(new_config);
	struct {
		const char *name;
		const char *before;
		const char *after;
	} keys[] = {
	    {"[global] store", a->store, b->store},
	    {"[global] statistics", a->statistics, b->statistics},
	    {"[global] user", a->user, b->user},
	    {"[global] group", a->group, b->group},
	    {"socket", da->socket, db->socket},
	    {"pid_file", da->pid_file, db->pid_file},
	    {"statistics", da->statistics, db->statistics},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (g_strcmp0(keys[i].before, keys[i].after) != 0)
			g_warning("reload: %s changed; it takes effect at the next restart",
				  keys[i].name);
	}
}

static void
reload_config(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = pc_config_load_full(config_path, milter_desc->schema,
							  milter_desc->extra_schemas, &error);
	g_autoptr(PcConfig) old_config = NULL;

	if (config == NULL) {
		pc_stats_counter_inc(reload_failed_counter);
		g_warning("reload failed, keeping the running configuration: %s", error->message);
		return;
	}
	old_config = pc_config_slot_acquire(&config_slot);
	warn_restart_keys(old_config, config);
	pc_config_slot_replace(&config_slot, config);
	pc_stats_counter_inc(reload_ok_counter);
	g_message("reload: configuration %s loaded (%u domain files, %u listeners)", config_path,
		  pc_config_get_n_domain_files(config), pc_config_get_n_listeners(config));
}

static gpointer
signal_thread(gpointer data)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			g_critical("sigwaitinfo: %s; reload by signal is off", g_strerror(errno));
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
	for (int action = 0; action <= PC_ACTION_QUARANTINE; action++) {
		g_autofree char *labels = g_strdup_printf("daemon=\"%s\",action=\"%s\"",
							  milter_desc->name,
							  pc_action_to_string(action));

		verdict_counters[action] = pc_stats_counter_register(
		    "portcullis_verdicts_total", "Verdicts by daemon and action", labels);
	}
	{
		g_autofree char *ok = g_strdup_printf("daemon=\"%s\",result=\"ok\"",
						      milter_desc->name);
		g_autofree char *failed = g_strdup_printf("daemon=\"%s\",result=\"failed\"",
							  milter_desc->name);

		reload_ok_counter = pc_stats_counter_register(
		    "portcullis_config_reloads_total", "Configuration reloads", ok);
		reload_failed_counter = pc_stats_counter_register(
		    "portcullis_config_reloads_total", "Configuration reloads", failed);
	}
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
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose, "Log info lines too",
	     NULL},
	    {"version", 'V', 0, G_OPTION_ARG_NONE, &options->version, "Print the version",
	     NULL},
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

static gboolean
open_milter_socket(const char *spec, const DropPlan *plan, GError **error)
{
	const char *path = NULL;
	gboolean is_unix = unix_socket_path(spec, &path);
	mode_t old_umask;
	int rc;

	if (is_unix && !prepare_socket_path(path, error))
		return FALSE;
	if (smfi_setconn((char *)spec) != MI_SUCCESS) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "bad socket spec '%s'", spec);
		return FALSE;
	}
	/* the MTA connects as its own user: owner and group may, others may not */
	old_umask = umask(0007);
	rc = smfi_opensocket(FALSE);
	umask(old_umask);
	if (rc != MI_SUCCESS) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "cannot listen on %s (in use, or no permission)", spec);
		return FALSE;
	}
	if (is_unix && plan->drop && chown(path, plan->uid, plan->gid) != 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "chown %s: %s", path, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

static int
run(const PcMilterDescriptor *descriptor, const Options *options, const char *ident)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const PcGlobalConfig *global;
	const char *socket_spec;
	const char *socket_path = NULL;
	DropPlan plan;
	sigset_t set;
	struct smfiDesc desc = {
	    .xxfi_name = (char *)ident,
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = descriptor->actions,
	    .xxfi_connect = cb_connect,
	    .xxfi_helo = cb_helo,
	    .xxfi_envfrom = cb_envfrom,
	    .xxfi_envrcpt = cb_envrcpt,
	    .xxfi_data = cb_data,
	    .xxfi_header = cb_header,
	    .xxfi_eoh = cb_eoh,
	    .xxfi_body = cb_body,
	    .xxfi_eom = cb_eom,
	    .xxfi_abort = cb_abort,
	    .xxfi_close = cb_close,
	    .xxfi_negotiate = cb_negotiate,
	};
	int status;

	config = pc_config_load_full(config_path, descriptor->schema, descriptor->extra_schemas,
				     &error);
	if (config == NULL) {
		fprintf(stderr, "%s: %s\n", ident, error->message);
		return 1;
	}
	if (options->check) {
		g_autofree char *described = pc_config_describe(config);

		if (options->verbose)
			fputs(described, stdout);
		printf("%s: configuration %s is valid (%u listeners, %u domain files)\n", ident,
		       config_path, pc_config_get_n_listeners(config),
		       pc_config_get_n_domain_files(config));
		return 0;
	}

	/*
	 * before any thread exists (the metrics listener, libmilter's): every
	 * thread inherits this mask, so the signals are only ever taken by
	 * sigwait, ours for reload, libmilter's for stop
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
	global = pc_config_get_global(config);
	socket_spec =
	    options->socket != NULL ? options->socket : pc_config_get_daemon(config)->socket;

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
	register_common_metrics();
	if (descriptor->init != NULL && !descriptor->init(config, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	if (!serve_statistics(config, descriptor, &error)) {
		g_critical("%s: %s", config_path, error->message);
		return 1;
	}
	if (!plan_privilege_drop(global, config_path, &plan, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	if (smfi_register(desc) != MI_SUCCESS) {
		g_critical("smfi_register failed");
		return 1;
	}
	if (!open_milter_socket(socket_spec, &plan, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	unix_socket_path(socket_spec, &socket_path);
	if (pc_config_get_daemon(config)->pid_file != NULL &&
	    !write_pid_file(pc_config_get_daemon(config)->pid_file, &error)) {
		g_critical("%s: pid_file: %s", config_path, error->message);
		return 1;
	}
	if (!drop_privileges(&plan, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	g_free(plan.user);

	pc_config_slot_init(&config_slot, config);
	g_thread_unref(g_thread_new("reload", signal_thread, NULL));

	g_message("starting: version %s, config %s, socket %s, %u listeners, %u domain files",
		  PC_VERSION, config_path, socket_spec, pc_config_get_n_listeners(config),
		  pc_config_get_n_domain_files(config));
	status = smfi_main();
	g_message("stopping");

	pc_stats_stop();
	if (pc_config_get_daemon(config)->pid_file != NULL)
		unlink(pc_config_get_daemon(config)->pid_file);
	if (socket_path != NULL)
		unlink(socket_path);
	return status == MI_SUCCESS ? 0 : 1;
}

int
pc_milter_main(const PcMilterDescriptor *descriptor, int argc, char **argv)
{
	g_auto(Options) options = {0};
	g_autoptr(GError) error = NULL;
	g_autofree char *ident = NULL;

	g_return_val_if_fail(descriptor != NULL, 1);

	milter_desc = descriptor;
	ident = g_strconcat("portcullis-", descriptor->name, NULL);
	if (!parse_options(&options, ident, &argc, &argv, &error)) {
		fprintf(stderr, "%s: %s (try --help)\n", ident, error->message);
		return 2;
	}
	if (options.version) {
		unsigned int major = 0, minor = 0, patch = 0;

		smfi_version(&major, &minor, &patch);
		printf("%s %s (libmilter %u.%u.%u)\n", ident, PC_VERSION, major, minor, patch);
		return 0;
	}
	if (options.print_macros) {
		print_macro_lists(descriptor);
		return 0;
	}
	config_path = g_strdup(options.config != NULL ? options.config : PC_CONFIG_DEFAULT_FILE);
	return run(descriptor, &options, ident);
}
