/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter: the libmilter skeleton. Start-up runs in the order that keeps
 * privileges shortest: options, a first read of the config (what the socket
 * needs), logging, store, socket (as root), privilege drop, the config as
 * the daemon's user, pid file, daemon init and metrics, statistics, reload
 * thread and watchdog, then smfi_main(). Teardown runs in reverse. The
 * watchdog and the QUIT_NC carry are in pc-milter-watch.c.
 */
#include "pc-milter.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pc-log.h"
#include "pc-milter-private.h"
#include "pc-stats.h"

/*
 * Process-wide state, written once at start-up before smfi_main() starts any
 * worker thread: the descriptor, the store, the metrics. The config slot is
 * the one object that changes afterwards, and it owns its own mutex.
 */
static const PcMilterDescriptor *milter_desc;
static PcConfigSlot config_slot;
static PcStore *milter_store;
/* the resolver of a daemon that uses_dns; NULL otherwise */
static PcDns *milter_dns;
static char *config_path;
static PcStatsCounter *verdict_counters[PC_ACTION_QUARANTINE + 1];
static PcStatsCounter *reload_ok_counter;
static PcStatsCounter *reload_failed_counter;
static PcStatsCounter *refused_connections_counter;
/* the connection cap: open sessions, the cap in force, and whether it is being hit */
static atomic_uint open_connections;
static guint connection_cap;
/* the descriptor limit in force (soft, after raising it); 0 = unknown */
static guint64 descriptor_limit;
/* descriptors kept for the daemon itself: store pool, statistics, logs, files */
static atomic_bool cap_episode;

/* macros every daemon needs for PcSession, per stage (those the MTA sends macros at) */
static const char *const base_macros[PC_STAGE_EOM + 1] = {
    [PC_STAGE_CONNECT] = "{daemon_name} {daemon_port} {daemon_addr}",
    [PC_STAGE_HELO] = "{tls_version} {cipher} {cipher_bits}",
    [PC_STAGE_MAIL] = "i {auth_type} {auth_authen} {daemon_port} {tls_version} {cipher} "
		      "{cipher_bits}",
    [PC_STAGE_RCPT] = "i",
    [PC_STAGE_DATA] = "i {auth_authen}",
    /* requested even when unused: Sendmail 8.17 ignores an EOM list without it */
    [PC_STAGE_EOH] = "i",
    [PC_STAGE_EOM] = "i {auth_type} {auth_authen}",
};

/*
 * what each stage is in the milter protocol: the libmilter list its macros
 * go to (-1: the MTA sends none there), the flag that skips it, and the flag
 * that asks for no reply (0: the protocol has none)
 */
static const struct {
	int macros;
	unsigned long skip;
	unsigned long no_reply;
} stage_protocol[PC_STAGE_EOM + 1] = {
    [PC_STAGE_CONNECT] = {SMFIM_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN},
    [PC_STAGE_HELO] = {SMFIM_HELO, SMFIP_NOHELO, SMFIP_NR_HELO},
    [PC_STAGE_MAIL] = {SMFIM_ENVFROM, SMFIP_NOMAIL, SMFIP_NR_MAIL},
    [PC_STAGE_RCPT] = {SMFIM_ENVRCPT, SMFIP_NORCPT, SMFIP_NR_RCPT},
    [PC_STAGE_DATA] = {SMFIM_DATA, SMFIP_NODATA, SMFIP_NR_DATA},
    [PC_STAGE_HEADER] = {-1, SMFIP_NOHDRS, SMFIP_NR_HDR},
    [PC_STAGE_EOH] = {SMFIM_EOH, SMFIP_NOEOH, SMFIP_NR_EOH},
    [PC_STAGE_BODY] = {-1, SMFIP_NOBODY, SMFIP_NR_BODY},
    [PC_STAGE_EOM] = {SMFIM_EOM, 0, 0},
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

PcDns *
pc_milter_get_dns(void)
{
	return milter_dns;
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

/* what the MTA is asked for: derived from the hooks the descriptor sets */
static gboolean
stage_has_hook(const PcMilterDescriptor *descriptor, PcStage stage)
{
	const PcMilterHook hooks[PC_STAGE_EOM + 1] = {
	    [PC_STAGE_CONNECT] = descriptor->on_connect, [PC_STAGE_HELO] = descriptor->on_helo,
	    [PC_STAGE_MAIL] = descriptor->on_mail,	 [PC_STAGE_RCPT] = descriptor->on_rcpt,
	    [PC_STAGE_DATA] = descriptor->on_data,	 [PC_STAGE_HEADER] = descriptor->on_header,
	    [PC_STAGE_EOH] = descriptor->on_eoh,	 [PC_STAGE_BODY] = descriptor->on_body,
	    [PC_STAGE_EOM] = descriptor->on_eom,
	};

	return (guint)stage <= PC_STAGE_EOM && hooks[stage] != NULL;
}

/* TRUE when the stage is sent at all (the session's needs, then the hooks') */
static gboolean
stage_wanted(const PcMilterDescriptor *descriptor, PcStage stage)
{
	switch (stage) {
	case PC_STAGE_CONNECT:
	case PC_STAGE_HELO: /* HELO and TLS macros for every daemon's session */
	case PC_STAGE_MAIL:
	case PC_STAGE_RCPT:
	case PC_STAGE_EOM:
		return TRUE;
	case PC_STAGE_HEADER:
		/* edits name a header by its instance: every header must be counted */
		return descriptor->on_header != NULL || descriptor->keep_headers != NULL ||
		       descriptor->keep_all_headers ||
		       (descriptor->actions & PC_MILTER_EDIT_HEADERS) != 0;
	case PC_STAGE_BODY:
		return descriptor->on_body != NULL || descriptor->count_body;
	case PC_STAGE_DATA:
	case PC_STAGE_EOH:
		return stage_has_hook(descriptor, stage);
	case PC_STAGE_ABORT:
	case PC_STAGE_CLOSE:
		break;
	}
	return FALSE;
}

/* the SMFIP_* protocol bits the descriptor asks for (before the MTA's offer is applied) */
static unsigned long
protocol_for(const PcMilterDescriptor *descriptor)
{
	unsigned long protocol = SMFIP_NOUNKNOWN;

	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (!stage_wanted(descriptor, stage))
			protocol |= stage_protocol[stage].skip;
		else if ((descriptor->refuse_at & PC_STAGE_MASK(stage)) == 0)
			protocol |= stage_protocol[stage].no_reply;
	}
	return protocol;
}

/* the SMFIF_* actions the descriptor asks for */
static unsigned long
actions_for(const PcMilterDescriptor *descriptor)
{
	unsigned long actions = 0;

	if ((descriptor->actions & PC_MILTER_EDIT_HEADERS) != 0)
		actions |= SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	if ((descriptor->actions & PC_MILTER_QUARANTINE) != 0)
		actions |= SMFIF_QUARANTINE;
	return actions;
}

/*
 * the carried negotiation of a milter connection (QUIT_NC): the no-reply
 * stages, and this bit for SMFIP_HDR_LEADSPC (stages use the low bits)
 */
#define CARRY_LEADING_SPACE (1u << 31)

/* applies the message's header edits at EOM; FALSE when the MTA refused one */
static gboolean
apply_header_edits(SMFICTX *ctx, PcSession *session, GPtrArray *edits)
{
	gboolean ok = TRUE;

	pc_verdict_sort_header_edits(edits);
	for (guint i = 0; i < edits->len; i++) {
		const PcHeaderEdit *edit = g_ptr_array_index(edits, i);
		/* with SMFIP_HDR_LEADSPC the MTA writes the value right after the colon */
		g_autofree char *spaced = session->header_leading_space && edit->value != NULL
					      ? g_strconcat(" ", edit->value, NULL)
					      : NULL;
		char *value = spaced != NULL ? spaced : edit->value;
		int rc = MI_FAILURE;

		switch (edit->kind) {
		case PC_HEADER_ADD:
			rc = smfi_addheader(ctx, edit->name, value);
			break;
		case PC_HEADER_INSERT:
			rc = smfi_insheader(ctx, (int)MIN(edit->index, (guint)G_MAXINT), edit->name,
					    value);
			break;
		case PC_HEADER_CHANGE:
		case PC_HEADER_DELETE:
			rc = smfi_chgheader(ctx, edit->name, (int)MIN(edit->index, (guint)G_MAXINT),
					    value);
			break;
		}
		if (rc != MI_SUCCESS) {
			g_warning("%s: %s: the MTA refused a header edit of %s",
				  pc_session_queue_id(session), milter_desc->name, edit->name);
			ok = FALSE;
		}
	}
	return ok;
}

/*
 * keeps the edits a hook asked for before EOM in the session; at EOM they
 * are applied with EOM's own, when the message goes on
 */
static void
keep_header_edits(PcSession *session, PcVerdict *verdict, PcStage stage)
{
	if (verdict->header_edits == NULL || verdict->header_edits->len == 0)
		return;
	/* edits belong to a message: asked before MAIL they would be lost at MAIL */
	if (!session->in_message) {
		g_critical("%s: header edits asked at %s, outside a message; ignored",
			   milter_desc->name, pc_stage_to_string(stage));
		return;
	}
	/* a refused recipient (or step) takes its edits with it */
	if (verdict->action != PC_ACTION_CONTINUE && stage != PC_STAGE_EOM)
		return;
	if ((milter_desc->actions & PC_MILTER_EDIT_HEADERS) == 0) {
		g_critical("%s: a hook asked for header edits without PC_MILTER_EDIT_HEADERS",
			   milter_desc->name);
		return;
	}
	if (session->header_edits == NULL)
		session->header_edits =
		    g_ptr_array_new_with_free_func((GDestroyNotify)pc_header_edit_free);
	for (guint i = 0; i < verdict->header_edits->len; i++)
		g_ptr_array_add(session->header_edits,
				g_ptr_array_steal_index(verdict->header_edits, i--));
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
			/* UTF-8 stays UTF-8 for a client that asked for SMTPUTF8 */
			g_autofree char *text = pc_verdict_reply_text(verdict, session->smtputf8);

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
run_hook(SMFICTX *ctx, PcSession *session, PcMilterHook hook, PcStage stage)
{
	g_auto(PcVerdict) verdict;
	gboolean no_reply = (session->milter_no_reply & PC_STAGE_MASK(stage)) != 0;

	pc_verdict_init(&verdict);
	if (hook != NULL)
		hook(session, session->config, &verdict);
	if (stage != PC_STAGE_EOM)
		keep_header_edits(session, &verdict, stage);
	if (verdict.action == PC_ACTION_CONTINUE && !verdict.log && no_reply)
		return SMFIS_NOREPLY;
	if (no_reply && verdict.action != PC_ACTION_CONTINUE) {
		/* a stage we promised not to answer cannot refuse: a bug in the descriptor */
		g_critical("%s: hook at %s refused a stage not in refuse_at", milter_desc->name,
			   pc_stage_to_string(stage));
		pc_verdict_log(&verdict, session, milter_desc->name, stage);
		return SMFIS_NOREPLY;
	}
	if (no_reply) {
		pc_verdict_log(&verdict, session, milter_desc->name, stage);
		return SMFIS_NOREPLY;
	}
	return apply_verdict(ctx, session, &verdict, stage);
}

/* counts the connection against the cap; one log line per episode of hitting it */
static gboolean
connection_open(void)
{
	guint open = atomic_fetch_add(&open_connections, 1) + 1;

	if (open <= connection_cap)
		return TRUE;
	pc_stats_counter_inc(refused_connections_counter);
	if (!atomic_exchange(&cap_episode, TRUE))
		g_warning("%s: %u connections open, over the cap of %u ([global] "
			  "max_connections, bounded by the descriptor limit): new connections "
			  "are tempfailed (logged once until it eases)",
			  milter_desc->name, open, connection_cap);
	return FALSE;
}

static void
connection_closed(void)
{
	guint open = atomic_fetch_sub(&open_connections, 1) - 1;

	/* eased: well below the cap again (a tenth, at least one) */
	if (open <= connection_cap * 9 / 10 && open < connection_cap && atomic_load(&cap_episode) &&
	    atomic_exchange(&cap_episode, FALSE))
		g_message("%s: %u connections open, below the cap of %u again", milter_desc->name,
			  open, connection_cap);
}

static void
session_destroy(PcSession *session)
{
	if (session == NULL)
		return;
	pc_milter_watch_unregister(session);
	if (milter_desc->on_close != NULL)
		milter_desc->on_close(session, session->config);
	pc_session_free(session);
	connection_closed();
}

static PcSession *
ensure_session(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL) {
		session = pc_session_new(milter_store, g_get_monotonic_time());
		session->over_cap = !connection_open();
		if (milter_desc->connection_new != NULL) {
			session->connection_data = milter_desc->connection_new(session);
			session->connection_data_free = milter_desc->connection_free;
		}
		smfi_setpriv(ctx, session);
		pc_milter_watch_register(ctx, session);
	}
	return session;
}

/* (transfer full) the names requested at stage: the base list plus the daemon's */
static char *
macro_list(const PcMilterDescriptor *descriptor, PcStage stage)
{
	g_autofree char *list =
	    g_strjoin(" ", base_macros[stage] != NULL ? base_macros[stage] : "",
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
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		g_autofree char *list = NULL;

		if (stage_protocol[stage].macros < 0)
			continue;
		list = macro_list(descriptor, stage);
		printf("%s %s\n", stage == PC_STAGE_MAIL ? "mail" : pc_stage_to_string(stage),
		       list);
	}
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	PcSession *session = ensure_session(ctx);
	/* only what the MTA offers */
	unsigned long protocol = protocol_for(milter_desc) & f1;

	if (milter_desc->headers_leading_space)
		protocol |= SMFIP_HDR_LEADSPC & f1;
	session->header_leading_space = (protocol & SMFIP_HDR_LEADSPC) != 0;

	*pf0 = (actions_for(milter_desc) | SMFIF_SETSYMLIST) & f0;
	*pf1 = protocol;
	*pf2 = 0;
	*pf3 = 0;
	session->milter_no_reply = 0;
	pc_milter_carry_take(ctx,
			     &session->milter_no_reply); /* a stale entry of a reused address */
	session->milter_no_reply = 0;
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (stage_protocol[stage].no_reply != 0 &&
		    (protocol & stage_protocol[stage].no_reply) != 0)
			session->milter_no_reply |= PC_STAGE_MASK(stage);
	}
	if ((f0 & SMFIF_SETSYMLIST) != 0) {
		for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
			g_autofree char *list = NULL;

			if (stage_protocol[stage].macros < 0)
				continue;
			list = macro_list(milter_desc, stage);
			if (smfi_setsymlist(ctx, stage_protocol[stage].macros, list) != MI_SUCCESS)
				g_warning("%s: smfi_setsymlist(%s) failed", milter_desc->name,
					  pc_stage_to_string(stage));
		}
	}
	return SMFIS_CONTINUE;
}

static sfsistat
connect_step(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	gboolean fresh = get_session(ctx) == NULL;
	PcSession *session = ensure_session(ctx);
	PcNetAddress address;
	gboolean known = pc_net_address_from_sockaddr(hostaddr, &address);

	/* a session after QUIT_NC: what the connection negotiated still holds */
	if (fresh) {
		pc_milter_carry_take(ctx, &session->milter_no_reply);
		session->header_leading_space =
		    (session->milter_no_reply & CARRY_LEADING_SPACE) != 0;
		session->milter_no_reply &= ~CARRY_LEADING_SPACE;
		pc_milter_watch_busy(session, TRUE);
	}

	/* over the connection cap: the MTA tempfails this SMTP session, nothing passes */
	if (session->over_cap)
		return SMFIS_TEMPFAIL;
	session->now_us = g_get_monotonic_time();
	pc_session_pin_config(session, &config_slot);
	pc_session_set_client(session, hostname, known ? &address : NULL);
	pc_session_capture(session, PC_STAGE_CONNECT, macro_lookup, ctx);
	if (session->listener == NULL &&
	    pc_config_warn_once(session->config, PC_CONFIG_WARN_UNKNOWN_LISTENER)) {
		g_autoptr(GString) name = g_string_new(NULL);

		/* the name is the MTA's: escaped like every value in a log line */
		pc_log_append_safe(name, session->daemon_name != NULL ? session->daemon_name
								      : "(not sent)");
		g_warning(
		    "%s: no [listener.*] matches {daemon_name}=%s {daemon_port}=%" G_GINT64_FORMAT
		    "; treating such connections as role mx (logged once per configuration)",
		    milter_desc->name, name->str, session->daemon_port);
	}
	if (session->macro_dropped != NULL)
		g_info("%s: macro %s over %d bytes ignored", milter_desc->name,
		       session->macro_dropped, PC_SESSION_MAX_MACRO);
	return run_hook(ctx, session, milter_desc->on_connect, PC_STAGE_CONNECT);
}

/*
 * the session of a callback after connect; NULL (tempfail) when there is
 * none. A real MTA always sends CONNECT first; a client that does not is
 * judged with the current configuration as an unknown client on an unknown
 * listener (role mx, the strictest)
 */
static PcSession *
stage_session(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return NULL;
	session->now_us = g_get_monotonic_time();
	if (session->config == NULL)
		pc_session_pin_config(session, &config_slot);
	return session;
}

/*
 * a message stage (RCPT to EOM) outside a transaction (no MAIL, or after an
 * abort): only a broken or hostile client sends it; the hooks, which may
 * rely on the per-message state, are not run
 */
static sfsistat
no_transaction(PcSession *session, PcStage stage)
{
	if ((session->milter_no_reply & PC_STAGE_MASK(stage)) != 0)
		return SMFIS_NOREPLY;
	return SMFIS_TEMPFAIL;
}

static sfsistat
helo_step(SMFICTX *ctx, char *helo)
{
	PcSession *session = stage_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	pc_session_set_helo(session, helo);
	pc_session_capture(session, PC_STAGE_HELO, macro_lookup, ctx);
	return run_hook(ctx, session, milter_desc->on_helo, PC_STAGE_HELO);
}

static sfsistat
envfrom_step(SMFICTX *ctx, char **argv)
{
	PcSession *session = stage_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	/* a new transaction: forget any leftovers, see the newest configuration */
	pc_session_reset_message(session);
	pc_session_pin_config(session, &config_slot);
	pc_session_capture(session, PC_STAGE_MAIL, macro_lookup, ctx);
	pc_session_set_sender(session, argv != NULL ? argv[0] : NULL);
	pc_session_set_mail_parameters(
	    session, argv != NULL && argv[0] != NULL ? (const char *const *)argv + 1 : NULL);
	if (milter_desc->message_new != NULL)
		pc_session_set_message_data(session, milter_desc->message_new(session),
					    milter_desc->message_free);
	return run_hook(ctx, session, milter_desc->on_mail, PC_STAGE_MAIL);
}

static sfsistat
envrcpt_step(SMFICTX *ctx, char **argv)
{
	PcSession *session = stage_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_RCPT);
	pc_session_capture(session, PC_STAGE_RCPT, macro_lookup, ctx);
	pc_session_set_current_rcpt(session, argv != NULL ? argv[0] : NULL);
	if (session->recipients->len >= PC_SESSION_MAX_RECIPIENTS &&
	    (milter_desc->refuse_at & PC_STAGE_MASK(PC_STAGE_RCPT)) != 0) {
		g_auto(PcVerdict) verdict;

		session->recipients_overflow = TRUE;
		pc_verdict_init(&verdict);
		pc_verdict_set(&verdict, PC_ACTION_TEMPFAIL, "452", "4.5.3", "too-many-recipients",
			       "Too many recipients");
		return apply_verdict(ctx, session, &verdict, PC_STAGE_RCPT);
	}
	status = run_hook(ctx, session, milter_desc->on_rcpt, PC_STAGE_RCPT);
	if (status == SMFIS_CONTINUE || status == SMFIS_NOREPLY)
		pc_session_accept_current_rcpt(session);
	return status;
}

static sfsistat
data_step(SMFICTX *ctx)
{
	PcSession *session = stage_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_DATA);
	pc_session_capture(session, PC_STAGE_DATA, macro_lookup, ctx);
	return run_hook(ctx, session, milter_desc->on_data, PC_STAGE_DATA);
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
header_step(SMFICTX *ctx, char *name, char *value)
{
	PcSession *session = stage_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_HEADER);
	if (name == NULL)
		return (session->milter_no_reply & PC_STAGE_MASK(PC_STAGE_HEADER)) != 0
			   ? SMFIS_NOREPLY
			   : SMFIS_CONTINUE;
	pc_session_add_header(session, name, value, keep_header(name));
	status = run_hook(ctx, session, milter_desc->on_header, PC_STAGE_HEADER);
	session->current_header = NULL;
	return status;
}

static sfsistat
eoh_step(SMFICTX *ctx)
{
	PcSession *session = stage_session(ctx);

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_EOH);
	pc_session_capture(session, PC_STAGE_EOH, macro_lookup, ctx);
	return run_hook(ctx, session, milter_desc->on_eoh, PC_STAGE_EOH);
}

static sfsistat
body_step(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	PcSession *session = stage_session(ctx);
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_BODY);
	session->body_bytes += (gint64)len;
	session->current_body = chunk;
	session->current_body_len = len;
	status = run_hook(ctx, session, milter_desc->on_body, PC_STAGE_BODY);
	session->current_body = NULL;
	session->current_body_len = 0;
	return status;
}

static sfsistat
eom_step(SMFICTX *ctx)
{
	PcSession *session = stage_session(ctx);
	g_auto(PcVerdict) verdict;
	sfsistat status;

	if (session == NULL)
		return SMFIS_TEMPFAIL;
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_EOM);
	pc_session_capture(session, PC_STAGE_EOM, macro_lookup, ctx);
	pc_verdict_init(&verdict);
	if (milter_desc->on_eom != NULL)
		milter_desc->on_eom(session, session->config, &verdict);
	keep_header_edits(session, &verdict, PC_STAGE_EOM);
	status = apply_verdict(ctx, session, &verdict, PC_STAGE_EOM);
	/* edits go with a message that goes on; a refused one is not the MTA's any more */
	if ((status == SMFIS_CONTINUE || status == SMFIS_ACCEPT) && session->header_edits != NULL &&
	    session->header_edits->len > 0 &&
	    !apply_header_edits(ctx, session, session->header_edits))
		status = SMFIS_TEMPFAIL;
	pc_session_reset_message(session);
	return status;
}

static sfsistat
abort_step(SMFICTX *ctx)
{
	PcSession *session = get_session(ctx);

	if (session == NULL)
		return SMFIS_CONTINUE;
	if (milter_desc->on_abort != NULL && session->config != NULL && session->in_message) {
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		milter_desc->on_abort(session, session->config, &verdict);
	}
	pc_session_reset_message(session);
	return SMFIS_CONTINUE;
}

/*
 * the libmilter callbacks: each marks its session busy for the watchdog
 * while it runs, and restarts the idle clock when it returns
 */
#define WATCHED_CALLBACK(name, params, args)                                                       \
	static sfsistat cb_##name params                                                           \
	{                                                                                          \
		PcSession *session = get_session(ctx);                                             \
		sfsistat status;                                                                   \
                                                                                                   \
		if (session != NULL)                                                               \
			pc_milter_watch_busy(session, TRUE);                                       \
		status = name##_step args;                                                         \
		/* connect may have made the session (after QUIT_NC) */                            \
		session = get_session(ctx);                                                        \
		if (session != NULL)                                                               \
			pc_milter_watch_busy(session, FALSE);                                      \
		return status;                                                                     \
	}

WATCHED_CALLBACK(connect, (SMFICTX * ctx, char *hostname, _SOCK_ADDR *hostaddr),
		 (ctx, hostname, hostaddr))
WATCHED_CALLBACK(helo, (SMFICTX * ctx, char *helo), (ctx, helo))
WATCHED_CALLBACK(envfrom, (SMFICTX * ctx, char **argv), (ctx, argv))
WATCHED_CALLBACK(envrcpt, (SMFICTX * ctx, char **argv), (ctx, argv))
WATCHED_CALLBACK(data, (SMFICTX * ctx), (ctx))
WATCHED_CALLBACK(header, (SMFICTX * ctx, char *name, char *value), (ctx, name, value))
WATCHED_CALLBACK(eoh, (SMFICTX * ctx), (ctx))
WATCHED_CALLBACK(body, (SMFICTX * ctx, unsigned char *chunk, size_t len), (ctx, chunk, len))
WATCHED_CALLBACK(eom, (SMFICTX * ctx), (ctx))
WATCHED_CALLBACK(abort, (SMFICTX * ctx), (ctx))

static sfsistat
cb_close(SMFICTX *ctx)
{
	/* may come before connect, or twice: cope with no session */
	PcSession *session = get_session(ctx);

	smfi_setpriv(ctx, NULL);
	if (session != NULL)
		pc_milter_carry_put(ctx,
				    session->milter_no_reply |
					(session->header_leading_space ? CARRY_LEADING_SPACE : 0));
	session_destroy(session);
	return SMFIS_CONTINUE;
}

/* --------------------------------------------------------------- start-up */

gboolean
pc_milter_unix_socket_path(const char *spec, const char **path_out)
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
load_config(GError **error)
{
	PcConfig *config = pc_config_load_full(config_path, milter_desc->schema,
					       milter_desc->extra_schemas, error);

	if (config == NULL && geteuid() != 0) {
		struct passwd pw;
		struct passwd *result = NULL;
		char buf[1024];

		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &result) == 0 && result != NULL)
			g_prefix_error(error, "reading as user %s: ", pw.pw_name);
	}
	return config;
}

static void
reload_config(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load_config(&error);
	g_autoptr(PcConfig) old_config = NULL;

	if (config == NULL) {
		pc_stats_counter_inc(reload_failed_counter);
		g_warning("reload failed, keeping the running configuration: %s", error->message);
		return;
	}
	old_config = pc_config_slot_acquire(&config_slot);
	pc_config_keep_restart_values(config, old_config);
	pc_config_slot_replace(&config_slot, config);
	if (milter_desc->reconfigure != NULL)
		milter_desc->reconfigure(config);
	pc_stats_counter_inc(reload_ok_counter);
	g_message("reload: configuration %s loaded (%u domain files, %u listeners)", config_path,
		  pc_config_get_n_domain_files(config), pc_config_get_n_listeners(config));
}

static atomic_bool stopping;

static gpointer
signal_thread(gpointer data)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);

		if (atomic_load(&stopping))
			return NULL;
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
		g_autofree char *labels = g_strdup_printf(
		    "daemon=\"%s\",action=\"%s\"", milter_desc->name, pc_action_to_string(action));

		verdict_counters[action] = pc_stats_counter_register(
		    "portcullis_verdicts_total", "Verdicts by daemon and action", labels);
	}
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
	{
		g_autofree char *labels = g_strdup_printf("daemon=\"%s\"", milter_desc->name);

		refused_connections_counter = pc_stats_counter_register(
		    "portcullis_connections_refused_total",
		    "MTA connections tempfailed over the connection cap", labels);
	}
	/* the registry is written before the listener starts, never after */
	pc_milter_watch_register_metrics();
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

static gboolean
open_milter_socket(const char *spec, const DropPlan *plan, GError **error)
{
	const char *path = NULL;
	gboolean is_unix = pc_milter_unix_socket_path(spec, &path);
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
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "chown %s: %s",
			    path, g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

/*
 * connection_cap_for: the soft descriptor limit goes up to the hard one,
 * and the connection cap stays below what is left after the daemon's own
 * descriptors, so libmilter's accept loop never meets EMFILE (it spins
 * there, silently)
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

/* the reload thread, stopped at teardown */
static GThread *reload_thread;

static void
stop_reload_thread(void)
{
	if (reload_thread == NULL)
		return;
	atomic_store(&stopping, TRUE);
	/*
	 * to the process: SIGUSR1 is blocked everywhere and only the reload
	 * thread waits for it, so it gets it, even if it has not started to wait
	 * yet (the signal stays pending until it does)
	 */
	kill(getpid(), SIGUSR1);
	g_thread_join(g_steal_pointer(&reload_thread));
}

/* after smfi_main: connection threads end as their MTAs close; wait a little for them */
static gboolean
wait_for_connections(void)
{
	for (int i = 0; i < 500 && atomic_load(&open_connections) > 0; i++)
		g_usleep(10000);
	return atomic_load(&open_connections) == 0;
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
	struct smfiDesc desc = {
	    .xxfi_name = (char *)ident,
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = actions_for(descriptor),
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

	/* refuse_at names stages with hooks, and only those the protocol can answer */
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if ((descriptor->refuse_at & PC_STAGE_MASK(stage)) != 0 &&
		    !stage_has_hook(descriptor, stage))
			g_error("%s: refuse_at names %s, which has no hook", ident,
				pc_stage_to_string(stage));
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
	if (smfi_register(desc) != MI_SUCCESS) {
		g_critical("smfi_register failed");
		return 1;
	}
	if (!open_milter_socket(socket_spec, &plan, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	pc_milter_unix_socket_path(socket_spec, &socket_path);
	/* a slow or silent MTA connection gives its thread back after this */
	smfi_settimeout((int)(global->milter_timeout / G_USEC_PER_SEC));
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
	if (pid_file != NULL && !write_pid_file(pid_file, &error)) {
		g_critical("%s: [%s] pid_file: %s (written as the daemon's user, which removes it "
			   "at exit)",
			   config_path, descriptor->name, error->message);
		return 1;
	}
	register_common_metrics();
	/* after the drop: its threads and the files it reads are the daemon user's */
	if (descriptor->uses_dns) {
		milter_dns = pc_dns_new_from_config(pc_config_get_global(config), &error);
		if (milter_dns == NULL) {
			g_critical("%s: %s", config_path, error->message);
			return 1;
		}
	}
	if (descriptor->init != NULL && !descriptor->init(config, &error)) {
		g_critical("%s", error->message);
		return 1;
	}
	if (descriptor->reconfigure != NULL)
		descriptor->reconfigure(config);
	if (!serve_statistics(config, descriptor, &error)) {
		g_critical("%s: %s", config_path, error->message);
		return 1;
	}

	pc_config_slot_init(&config_slot, config);
	reload_thread = g_thread_new("reload", signal_thread, NULL);
	pc_milter_watch_start(descriptor->name, global->milter_timeout, socket_spec,
			      descriptor_limit);

	g_message("starting: version %s, config %s, socket %s, %u listeners, %u domain files, "
		  "at most %u connections",
		  PC_VERSION, config_path, socket_spec, pc_config_get_n_listeners(config),
		  pc_config_get_n_domain_files(config), connection_cap);
	status = smfi_main();
	g_message("stopping");

	/* teardown in reverse */
	pc_milter_watch_stop();
	stop_reload_thread();
	pc_stats_stop();
	if (wait_for_connections()) {
		if (descriptor->deinit != NULL)
			descriptor->deinit();
		g_clear_pointer(&milter_dns, pc_dns_free);
		pc_milter_watch_free();
		pc_milter_carry_free();
		pc_config_slot_clear(&config_slot);
		g_clear_pointer(&milter_store, pc_store_free);
	} else {
		g_warning("%u connections still open at exit; not freeing what they use",
			  atomic_load(&open_connections));
	}
	if (pid_file != NULL && unlink(pid_file) != 0)
		g_warning("cannot remove pid file %s: %s", pid_file, g_strerror(errno));
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
