/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter: the stages. Each milter command, decoded by pc-milter-conn,
 * comes here as its arguments: they go into the PcSession, the daemon's
 * hook runs, and its verdict becomes the reply (and at EOM the header
 * edits). What OPTNEG asks of the MTA is derived from the descriptor.
 * Start-up is in pc-milter-main.c, the connections in pc-milter-conn.c.
 */
#include "pc-milter.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "pc-log.h"
#include "pc-milter-private.h"
#include "pc-stats.h"

/*
 * Process-wide state, written once at start-up before the first connection
 * is accepted: the descriptor, the store, the resolver, the cap. The config
 * slot is the one object that changes afterwards, and it owns its own mutex.
 */
PcMilterProcess pc_milter_process;
#define milter_desc (pc_milter_process.desc)

static PcStatsCounter *verdict_counters[PC_ACTION_QUARANTINE + 1];
static PcStatsCounter *refused_connections_counter;
/* open connections (counted at accept), and whether the cap is being hit */
static atomic_uint open_connections;
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
 * what each stage is in the milter protocol: the list its macros
 * go to (-1: the MTA sends none there), the flag that skips it, and the flag
 * that asks for no reply (0: the protocol has none)
 */
static const struct {
	int macros;
	guint32 skip;
	guint32 no_reply;
} stage_protocol[PC_STAGE_EOM + 1] = {
    [PC_STAGE_CONNECT] = {PC_MILTER_MACROS_CONNECT, PC_MILTER_P_NOCONNECT, PC_MILTER_P_NR_CONN},
    [PC_STAGE_HELO] = {PC_MILTER_MACROS_HELO, PC_MILTER_P_NOHELO, PC_MILTER_P_NR_HELO},
    [PC_STAGE_MAIL] = {PC_MILTER_MACROS_MAIL, PC_MILTER_P_NOMAIL, PC_MILTER_P_NR_MAIL},
    [PC_STAGE_RCPT] = {PC_MILTER_MACROS_RCPT, PC_MILTER_P_NORCPT, PC_MILTER_P_NR_RCPT},
    [PC_STAGE_DATA] = {PC_MILTER_MACROS_DATA, PC_MILTER_P_NODATA, PC_MILTER_P_NR_DATA},
    [PC_STAGE_HEADER] = {-1, PC_MILTER_P_NOHDRS, PC_MILTER_P_NR_HDR},
    [PC_STAGE_EOH] = {PC_MILTER_MACROS_EOH, PC_MILTER_P_NOEOH, PC_MILTER_P_NR_EOH},
    [PC_STAGE_BODY] = {-1, PC_MILTER_P_NOBODY, PC_MILTER_P_NR_BODY},
    [PC_STAGE_EOM] = {PC_MILTER_MACROS_EOM, 0, 0},
};

/* ------------------------------------------------------------- callbacks */

static const char *
macro_lookup(gpointer data, const char *name)
{
	return pc_milter_conn_macro(data, name);
}

/* what the MTA is asked for: derived from the hooks the descriptor sets */
gboolean
pc_milter_stage_has_hook(const PcMilterDescriptor *descriptor, PcStage stage)
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
	case PC_STAGE_HELO:
		/*
		 * only with a hook: the TLS macros come at MAIL too, and every
		 * stage asked for costs the MTA an event and a write per SMTP
		 * session (see "Milter skeleton" in docs/DESIGN.md)
		 */
	case PC_STAGE_DATA:
	case PC_STAGE_EOH:
		return pc_milter_stage_has_hook(descriptor, stage);
	case PC_STAGE_ABORT:
	case PC_STAGE_CLOSE:
		break;
	}
	return FALSE;
}

/*
 * the stages where the MTA must wait for an answer under the current
 * configuration: refuse_at, less what refuse_at_for says this snapshot
 * does not need (a refusal it turns off costs every message a round trip)
 */
static PcStageMask
refuse_at_now(const PcMilterDescriptor *descriptor)
{
	PcStageMask refuse_at = descriptor->refuse_at;
	PcConfig *config;

	if (descriptor->refuse_at_for == NULL)
		return refuse_at;
	config = pc_config_slot_acquire(&pc_milter_process.config_slot);
	if (config != NULL) {
		refuse_at &= descriptor->refuse_at_for(config);
		pc_config_unref(config);
	}
	return refuse_at;
}

/* the protocol flags the descriptor asks for (before the MTA's offer is applied) */
static guint32
protocol_for(const PcMilterDescriptor *descriptor, PcStageMask refuse_at)
{
	guint32 protocol = PC_MILTER_P_NOUNKNOWN;

	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (!stage_wanted(descriptor, stage))
			protocol |= stage_protocol[stage].skip;
		else if ((refuse_at & PC_STAGE_MASK(stage)) == 0)
			protocol |= stage_protocol[stage].no_reply;
	}
	if (descriptor->header_leading_space)
		protocol |= PC_MILTER_P_HDR_LEADSPC;
	return protocol;
}

gboolean
pc_milter_may_refuse(const PcSession *session, PcStage stage)
{
	g_return_val_if_fail(session != NULL, FALSE);
	return stage == PC_STAGE_EOM || (session->milter_no_reply & PC_STAGE_MASK(stage)) == 0;
}

/* the actions the descriptor asks for */
static guint32
actions_for(const PcMilterDescriptor *descriptor)
{
	guint32 actions = 0;

	if ((descriptor->actions & PC_MILTER_EDIT_HEADERS) != 0)
		actions |= PC_MILTER_ACT_ADDHDRS | PC_MILTER_ACT_CHGHDRS;
	if ((descriptor->actions & PC_MILTER_QUARANTINE) != 0)
		actions |= PC_MILTER_ACT_QUARANTINE;
	return actions;
}

/* the message's header edits at EOM, as packets before the final reply */
static void
put_header_edits(PcMilterConn *conn, PcSession *session, GPtrArray *edits)
{
	pc_verdict_sort_header_edits(edits);
	for (guint i = 0; i < edits->len; i++) {
		const PcHeaderEdit *edit = g_ptr_array_index(edits, i);
		g_autofree char *spaced = NULL;
		const char *value = edit->value;
		guint32 index = (guint32)MIN(edit->index, (guint)G_MAXINT32);

		/*
		 * with HDR_LEADSPC the MTA writes a value after the colon as it
		 * is, without the space it adds otherwise
		 */
		if (session->header_leading_space && value != NULL)
			value = spaced = g_strconcat(" ", value, NULL);
		switch (edit->kind) {
		case PC_HEADER_ADD:
			pc_milter_wire_put_strings(conn->out, PC_MILTER_REPLY_ADDHEADER, FALSE, 0,
						   edit->name, value != NULL ? value : "");
			break;
		case PC_HEADER_INSERT:
			pc_milter_wire_put_strings(conn->out, PC_MILTER_REPLY_INSHEADER, TRUE,
						   index, edit->name, value != NULL ? value : "");
			break;
		case PC_HEADER_CHANGE:
		case PC_HEADER_DELETE:
			/* an empty value deletes the instance */
			pc_milter_wire_put_strings(conn->out, PC_MILTER_REPLY_CHGHEADER, TRUE,
						   index, edit->name, value != NULL ? value : "");
			break;
		}
	}
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

/* an enhanced status code x.y.z (RFC 3463) of the reply code's class */
static gboolean
xcode_valid(const char *xcode, char class)
{
	guint digits = 0;
	guint dots = 0;

	if (xcode[0] != class || xcode[1] != '.')
		return FALSE;
	for (const char *p = xcode + 2; *p != '\0'; p++) {
		if (*p == '.') {
			if (digits == 0 || ++dots > 1)
				return FALSE;
			digits = 0;
		} else if (g_ascii_isdigit(*p) && ++digits <= 3) {
			continue;
		} else {
			return FALSE;
		}
	}
	return dots == 1 && digits > 0;
}

/*
 * the SMTP reply line of a refusal, "CODE [XCODE ]TEXT", checked the way
 * Postfix checks it (three digits of the action's class, a space, an
 * enhanced code of the same class): a reply it would call malformed makes
 * it apply its default action, and the refusal would be lost. NULL when
 * the verdict's reply does not pass: the bare reject or tempfail is sent,
 * with the MTA's own text.
 */
static char *
reply_line(const PcVerdict *verdict, gboolean smtputf8)
{
	char class = verdict->action == PC_ACTION_REJECT ? '5' : '4';
	g_autofree char *text = pc_verdict_reply_text(verdict, smtputf8);
	GString *line;

	if (strlen(verdict->code) != 3 || verdict->code[0] != class ||
	    !g_ascii_isdigit(verdict->code[1]) || !g_ascii_isdigit(verdict->code[2]) ||
	    text == NULL || text[0] == '\0' ||
	    (verdict->xcode[0] != '\0' && !xcode_valid(verdict->xcode, class)))
		return NULL;
	line = g_string_new(verdict->code);
	if (verdict->xcode[0] != '\0')
		g_string_append_printf(line, " %s", verdict->xcode);
	g_string_append_printf(line, " %s", text);
	return g_string_free(line, FALSE);
}

static PcMilterStatus
apply_verdict(PcMilterConn *conn, PcSession *session, PcVerdict *verdict, PcStage stage)
{
	if (verdict->action != PC_ACTION_CONTINUE || verdict->log)
		pc_verdict_log(verdict, session, milter_desc->name, stage);
	pc_stats_counter_inc(verdict_counters[verdict->action]);

	switch (verdict->action) {
	case PC_ACTION_CONTINUE:
		return PC_MILTER_CONTINUE;
	case PC_ACTION_ACCEPT:
		return PC_MILTER_ACCEPT;
	case PC_ACTION_DISCARD:
		return PC_MILTER_DISCARD;
	case PC_ACTION_QUARANTINE: {
		g_autofree char *text = pc_verdict_milter_text(verdict);

		if (stage != PC_STAGE_EOM || (conn->actions & PC_MILTER_ACT_QUARANTINE) == 0) {
			g_warning("%s: %s: could not quarantine at %s; tempfailing instead",
				  pc_session_queue_id(session), milter_desc->name,
				  pc_stage_to_string(stage));
			return PC_MILTER_TEMPFAIL;
		}
		pc_milter_wire_put_strings(conn->out, PC_MILTER_REPLY_QUARANTINE, FALSE, 0,
					   text != NULL && text[0] != '\0' ? text : "portcullis",
					   NULL);
		return PC_MILTER_CONTINUE;
	}
	case PC_ACTION_REJECT:
	case PC_ACTION_TEMPFAIL:
		/*
		 * no custom reply at connect (the MTA's default is used there), and
		 * only a code of the action's class: the MTA would refuse the reply
		 */
		if (stage != PC_STAGE_CONNECT && verdict->code[0] != '\0') {
			/* UTF-8 stays UTF-8 for a client that asked for SMTPUTF8 */
			g_autofree char *line = reply_line(verdict, session->smtputf8);

			if (line != NULL)
				pc_milter_conn_set_reply(conn, line);
			else
				g_warning("%s: %s: reply %s %s is not a valid %s reply; the MTA's "
					  "default text is used",
					  pc_session_queue_id(session), milter_desc->name,
					  verdict->code, verdict->xcode,
					  pc_action_to_string(verdict->action));
		}
		return verdict->action == PC_ACTION_REJECT ? PC_MILTER_REJECT : PC_MILTER_TEMPFAIL;
	}
	g_assert_not_reached();
}

/* runs hook (if any) and applies its verdict; no reply where negotiated */
static PcMilterStatus
run_hook(PcMilterConn *conn, PcSession *session, PcMilterHook hook, PcStage stage)
{
	g_auto(PcVerdict) verdict;
	gboolean no_reply = (session->milter_no_reply & PC_STAGE_MASK(stage)) != 0;

	pc_verdict_init(&verdict);
	if (hook != NULL)
		hook(session, session->config, &verdict);
	if (stage != PC_STAGE_EOM)
		keep_header_edits(session, &verdict, stage);
	if (verdict.action == PC_ACTION_CONTINUE && !verdict.log && no_reply)
		return PC_MILTER_NOREPLY;
	if (no_reply && verdict.action != PC_ACTION_CONTINUE) {
		/* a stage we promised not to answer cannot refuse: a bug in the descriptor */
		g_critical("%s: hook at %s refused a stage not in refuse_at", milter_desc->name,
			   pc_stage_to_string(stage));
		pc_verdict_log(&verdict, session, milter_desc->name, stage);
		return PC_MILTER_NOREPLY;
	}
	if (no_reply) {
		pc_verdict_log(&verdict, session, milter_desc->name, stage);
		return PC_MILTER_NOREPLY;
	}
	return apply_verdict(conn, session, &verdict, stage);
}

/* ------------------------------------------------------ connection cap */

gboolean
pc_milter_connection_open(void)
{
	guint open = atomic_fetch_add(&open_connections, 1) + 1;
	guint cap = pc_milter_process.connection_cap;

	if (open <= cap)
		return TRUE;
	pc_stats_counter_inc(refused_connections_counter);
	if (!atomic_exchange(&cap_episode, TRUE))
		g_warning("%s: %u connections open, over the cap of %u ([global] "
			  "max_connections, bounded by the descriptor limit): new connections "
			  "are tempfailed (logged once until it eases)",
			  milter_desc->name, open, cap);
	return FALSE;
}

void
pc_milter_connection_closed(void)
{
	guint open = atomic_fetch_sub(&open_connections, 1) - 1;
	guint cap = pc_milter_process.connection_cap;

	/* eased: well below the cap again (a tenth, at least one) */
	if (open <= cap * 9 / 10 && open < cap && atomic_load(&cap_episode) &&
	    atomic_exchange(&cap_episode, FALSE))
		g_message("%s: %u connections open, below the cap of %u again", milter_desc->name,
			  open, cap);
}

guint
pc_milter_connections(void)
{
	return atomic_load(&open_connections);
}

/* ------------------------------------------------------------- sessions */

/* the connection's session, made at its first command after OPTNEG or QUIT_NC */
static PcSession *
ensure_session(PcMilterConn *conn)
{
	PcSession *session = conn->session;

	if (session != NULL)
		return session;
	session = pc_session_new(pc_milter_process.store, g_get_monotonic_time());
	session->milter_no_reply = conn->no_reply;
	session->header_leading_space = conn->header_leading_space;
	if (milter_desc->connection_new != NULL) {
		session->connection_data = milter_desc->connection_new(session);
		session->connection_data_free = milter_desc->connection_free;
	}
	conn->session = session;
	return session;
}

void
pc_milter_step_close(PcMilterConn *conn)
{
	PcSession *session = g_steal_pointer(&conn->session);

	if (session == NULL)
		return;
	if (milter_desc->on_close != NULL)
		milter_desc->on_close(session, session->config);
	pc_session_free(session);
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
void
pc_milter_print_macro_lists(const PcMilterDescriptor *descriptor)
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

void
pc_milter_step_negotiate(PcMilterConn *conn, guint32 version, guint32 actions, guint32 protocol)
{
	/* only what the MTA offers */
	guint32 asked = protocol_for(milter_desc, refuse_at_now(milter_desc)) & protocol;
	guint32 our_actions = (actions_for(milter_desc) | PC_MILTER_ACT_SETSYMLIST) & actions;
	char *lists[PC_MILTER_MACROS_N] = {NULL};

	conn->no_reply = 0;
	conn->actions = our_actions;
	conn->header_leading_space = (asked & PC_MILTER_P_HDR_LEADSPC) != 0;
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (stage_protocol[stage].no_reply != 0 &&
		    (asked & stage_protocol[stage].no_reply) != 0)
			conn->no_reply |= PC_STAGE_MASK(stage);
		if ((our_actions & PC_MILTER_ACT_SETSYMLIST) != 0 &&
		    stage_protocol[stage].macros >= 0)
			lists[stage_protocol[stage].macros] = macro_list(milter_desc, stage);
	}
	pc_milter_wire_put_optneg(conn->out, MIN(version, PC_MILTER_WIRE_VERSION), our_actions,
				  asked, (const char *const *)lists);
	for (guint i = 0; i < PC_MILTER_MACROS_N; i++)
		g_free(lists[i]);
	/* the session starts now: a command before CONNECT is judged with it */
	ensure_session(conn);
}

PcMilterStatus
pc_milter_step_connect(PcMilterConn *conn, const char *hostname, const PcNetAddress *address)
{
	PcSession *session = ensure_session(conn);

	session->now_us = g_get_monotonic_time();
	pc_session_pin_config(session, &pc_milter_process.config_slot);
	pc_session_set_client(session, hostname, address);
	pc_session_capture(session, PC_STAGE_CONNECT, macro_lookup, conn);
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
	return run_hook(conn, session, milter_desc->on_connect, PC_STAGE_CONNECT);
}

/*
 * the session of a stage after connect. A real MTA always sends CONNECT
 * first; a client that does not is judged with the current configuration as
 * an unknown client on an unknown listener (role mx, the strictest)
 */
static PcSession *
stage_session(PcMilterConn *conn)
{
	PcSession *session = ensure_session(conn);

	session->now_us = g_get_monotonic_time();
	if (session->config == NULL)
		pc_session_pin_config(session, &pc_milter_process.config_slot);
	return session;
}

/*
 * a message stage (RCPT to EOM) outside a transaction (no MAIL, or after an
 * abort): only a broken or hostile client sends it; the hooks, which may
 * rely on the per-message state, are not run
 */
static PcMilterStatus
no_transaction(PcSession *session, PcStage stage)
{
	if ((session->milter_no_reply & PC_STAGE_MASK(stage)) != 0)
		return PC_MILTER_NOREPLY;
	return PC_MILTER_TEMPFAIL;
}

PcMilterStatus
pc_milter_step_helo(PcMilterConn *conn, const char *helo)
{
	PcSession *session = stage_session(conn);

	pc_session_set_helo(session, helo);
	pc_session_capture(session, PC_STAGE_HELO, macro_lookup, conn);
	return run_hook(conn, session, milter_desc->on_helo, PC_STAGE_HELO);
}

PcMilterStatus
pc_milter_step_mail(PcMilterConn *conn, const char *const *argv)
{
	PcSession *session = stage_session(conn);

	/* a new transaction: forget any leftovers, see the newest configuration */
	pc_session_reset_message(session);
	pc_session_pin_config(session, &pc_milter_process.config_slot);
	pc_session_capture(session, PC_STAGE_MAIL, macro_lookup, conn);
	pc_session_set_sender(session, argv[0]);
	pc_session_set_mail_parameters(session, argv[0] != NULL ? argv + 1 : NULL);
	if (milter_desc->message_new != NULL)
		pc_session_set_message_data(session, milter_desc->message_new(session),
					    milter_desc->message_free);
	return run_hook(conn, session, milter_desc->on_mail, PC_STAGE_MAIL);
}

PcMilterStatus
pc_milter_step_rcpt(PcMilterConn *conn, const char *const *argv)
{
	PcSession *session = stage_session(conn);
	PcMilterStatus status;

	if (!session->in_message)
		return no_transaction(session, PC_STAGE_RCPT);
	pc_session_capture(session, PC_STAGE_RCPT, macro_lookup, conn);
	pc_session_set_current_rcpt(session, argv[0]);
	if (session->recipients->len >= PC_SESSION_MAX_RECIPIENTS &&
	    pc_milter_may_refuse(session, PC_STAGE_RCPT)) {
		g_auto(PcVerdict) verdict;

		session->recipients_overflow = TRUE;
		pc_verdict_init(&verdict);
		pc_verdict_set(&verdict, PC_ACTION_TEMPFAIL, "452", "4.5.3", "too-many-recipients",
			       "Too many recipients");
		return apply_verdict(conn, session, &verdict, PC_STAGE_RCPT);
	}
	status = run_hook(conn, session, milter_desc->on_rcpt, PC_STAGE_RCPT);
	if (status == PC_MILTER_CONTINUE || status == PC_MILTER_NOREPLY)
		pc_session_accept_current_rcpt(session);
	return status;
}

PcMilterStatus
pc_milter_step_data(PcMilterConn *conn)
{
	PcSession *session = stage_session(conn);

	if (!session->in_message)
		return no_transaction(session, PC_STAGE_DATA);
	pc_session_capture(session, PC_STAGE_DATA, macro_lookup, conn);
	return run_hook(conn, session, milter_desc->on_data, PC_STAGE_DATA);
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

PcMilterStatus
pc_milter_step_header(PcMilterConn *conn, const char *name, const char *value)
{
	PcSession *session = stage_session(conn);
	PcMilterStatus status;

	if (!session->in_message)
		return no_transaction(session, PC_STAGE_HEADER);
	pc_session_add_header(session, name, value, keep_header(name));
	status = run_hook(conn, session, milter_desc->on_header, PC_STAGE_HEADER);
	session->current_header = NULL;
	return status;
}

PcMilterStatus
pc_milter_step_eoh(PcMilterConn *conn)
{
	PcSession *session = stage_session(conn);

	if (!session->in_message)
		return no_transaction(session, PC_STAGE_EOH);
	pc_session_capture(session, PC_STAGE_EOH, macro_lookup, conn);
	return run_hook(conn, session, milter_desc->on_eoh, PC_STAGE_EOH);
}

PcMilterStatus
pc_milter_step_body(PcMilterConn *conn, const guint8 *chunk, gsize len)
{
	PcSession *session = stage_session(conn);
	PcMilterStatus status;

	if (!session->in_message)
		return no_transaction(session, PC_STAGE_BODY);
	session->body_bytes += (gint64)len;
	session->current_body = chunk;
	session->current_body_len = len;
	status = run_hook(conn, session, milter_desc->on_body, PC_STAGE_BODY);
	session->current_body = NULL;
	session->current_body_len = 0;
	return status;
}

PcMilterStatus
pc_milter_step_eom(PcMilterConn *conn)
{
	PcSession *session = stage_session(conn);
	g_auto(PcVerdict) verdict;
	PcMilterStatus status;

	/* before any return: the cleanup reads it */
	pc_verdict_init(&verdict);
	if (!session->in_message)
		return no_transaction(session, PC_STAGE_EOM);
	pc_session_capture(session, PC_STAGE_EOM, macro_lookup, conn);
	if (milter_desc->on_eom != NULL)
		milter_desc->on_eom(session, session->config, &verdict);
	keep_header_edits(session, &verdict, PC_STAGE_EOM);
	status = apply_verdict(conn, session, &verdict, PC_STAGE_EOM);
	/* edits go with a message that goes on; a refused one is not the MTA's any more */
	if ((status == PC_MILTER_CONTINUE || status == PC_MILTER_ACCEPT) &&
	    session->header_edits != NULL && session->header_edits->len > 0) {
		/* an MTA that did not grant header changes gets no message without them */
		if ((conn->actions & (PC_MILTER_ACT_ADDHDRS | PC_MILTER_ACT_CHGHDRS)) !=
		    (PC_MILTER_ACT_ADDHDRS | PC_MILTER_ACT_CHGHDRS)) {
			g_warning("%s: %s: the MTA did not grant header changes at negotiation; "
				  "tempfailing",
				  pc_session_queue_id(session), milter_desc->name);
			status = PC_MILTER_TEMPFAIL;
		} else {
			put_header_edits(conn, session, session->header_edits);
		}
	}
	pc_session_reset_message(session);
	return status;
}

PcMilterStatus
pc_milter_step_unknown(PcMilterConn *conn)
{
	/* never asked for (NOUNKNOWN); an MTA that sends it anyway waits for an answer */
	(void)conn;
	return PC_MILTER_CONTINUE;
}

void
pc_milter_step_abort(PcMilterConn *conn)
{
	PcSession *session = conn->session;

	if (session == NULL)
		return;
	if (milter_desc->on_abort != NULL && session->config != NULL && session->in_message) {
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		milter_desc->on_abort(session, session->config, &verdict);
	}
	pc_session_reset_message(session);
}

/* the verdict and connection metrics, before the statistics listener starts */
void
pc_milter_register_stage_metrics(void)
{
	for (int action = 0; action <= PC_ACTION_QUARANTINE; action++) {
		g_autofree char *labels = g_strdup_printf(
		    "daemon=\"%s\",action=\"%s\"", milter_desc->name, pc_action_to_string(action));

		verdict_counters[action] = pc_stats_counter_register(
		    "portcullis_verdicts_total", "Verdicts by daemon and action", labels);
	}
	{
		g_autofree char *labels = g_strdup_printf("daemon=\"%s\"", milter_desc->name);

		refused_connections_counter = pc_stats_counter_register(
		    "portcullis_connections_refused_total",
		    "MTA connections tempfailed over the connection cap", labels);
	}
}
