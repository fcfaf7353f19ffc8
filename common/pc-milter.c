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
 * is accepted: the descriptor, its members, the store, the resolver, the
 * cap. The config slots are the objects that change afterwards, and each
 * owns its own mutex.
 */
PcMilterProcess pc_milter_process;
#define milter_desc (pc_milter_process.desc)
#define members (pc_milter_process.members)
#define n_members (pc_milter_process.n_members)

static PcStatsCounter *refused_connections_counter;
/*
 * the macro list OPTNEG requests per stage, made when the members are set
 * (before any connection): Postfix negotiates once per SMTP session
 */
static char *macro_lists[PC_STAGE_EOM + 1];
static void make_macro_lists(void);
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

/* the descriptor's hook for stage, or NULL */
static PcMilterHook
stage_hook(const PcMilterDescriptor *descriptor, PcStage stage)
{
	switch (stage) {
	case PC_STAGE_CONNECT:
		return descriptor->on_connect;
	case PC_STAGE_HELO:
		return descriptor->on_helo;
	case PC_STAGE_MAIL:
		return descriptor->on_mail;
	case PC_STAGE_RCPT:
		return descriptor->on_rcpt;
	case PC_STAGE_DATA:
		return descriptor->on_data;
	case PC_STAGE_HEADER:
		return descriptor->on_header;
	case PC_STAGE_EOH:
		return descriptor->on_eoh;
	case PC_STAGE_BODY:
		return descriptor->on_body;
	case PC_STAGE_EOM:
		return descriptor->on_eom;
	case PC_STAGE_ABORT:
	case PC_STAGE_CLOSE:
		break;
	}
	return NULL;
}

/* what the MTA is asked for: derived from the hooks the descriptor sets */
gboolean
pc_milter_stage_has_hook(const PcMilterDescriptor *descriptor, PcStage stage)
{
	return stage_hook(descriptor, stage) != NULL;
}

void
pc_milter_set_members(const PcMilterDescriptor *descriptor, const PcConfig *config)
{
	milter_desc = descriptor;
	pc_milter_process.stack = descriptor->stack_members != NULL;
	n_members = 0;
	if (!pc_milter_process.stack) {
		members[n_members].desc = descriptor;
		members[n_members++].slot = &pc_milter_process.config_slot;
		make_macro_lists();
		return;
	}
	for (gsize i = 0; descriptor->stack_members[i] != NULL; i++) {
		const PcMilterDescriptor *member = descriptor->stack_members[i];

		g_assert(n_members < PC_MILTER_MAX_MEMBERS);
		if (config != NULL && !descriptor->stack_hosts(config, member->name))
			continue;
		members[n_members].desc = member;
		members[n_members].slot = &members[n_members].own_slot;
		n_members++;
	}
	make_macro_lists();
}

/* TRUE when the stage is sent at all for a descriptor (the session's needs, then the hooks') */
static gboolean
descriptor_wants(const PcMilterDescriptor *descriptor, PcStage stage)
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

/* TRUE when a member of the process wants the stage */
static gboolean
stage_wanted(PcStage stage)
{
	for (guint i = 0; i < n_members; i++) {
		if (descriptor_wants(members[i].desc, stage))
			return TRUE;
	}
	return FALSE;
}

/*
 * the stages where the MTA must wait for an answer under the current
 * configuration: each member's refuse_at, less what its refuse_at_for says
 * its snapshot does not need (a refusal it turns off costs every message a
 * round trip)
 */
static PcStageMask
refuse_at_now(void)
{
	PcStageMask refuse_at = 0;

	for (guint i = 0; i < n_members; i++) {
		const PcMilterDescriptor *descriptor = members[i].desc;
		PcStageMask own = descriptor->refuse_at;
		PcConfig *config;

		if (descriptor->refuse_at_for != NULL) {
			config = pc_config_slot_acquire(members[i].slot);
			if (config != NULL) {
				own &= descriptor->refuse_at_for(config);
				pc_config_unref(config);
			}
		}
		refuse_at |= own;
	}
	return refuse_at;
}

/* the protocol flags the members ask for (before the MTA's offer is applied) */
static guint32
protocol_for(PcStageMask refuse_at)
{
	guint32 protocol = PC_MILTER_P_NOUNKNOWN;

	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (!stage_wanted(stage))
			protocol |= stage_protocol[stage].skip;
		else if ((refuse_at & PC_STAGE_MASK(stage)) == 0)
			protocol |= stage_protocol[stage].no_reply;
	}
	for (guint i = 0; i < n_members; i++) {
		if (members[i].desc->header_leading_space)
			protocol |= PC_MILTER_P_HDR_LEADSPC;
	}
	return protocol;
}

gboolean
pc_milter_may_refuse(const PcSession *session, PcStage stage)
{
	g_return_val_if_fail(session != NULL, FALSE);
	return stage == PC_STAGE_EOM || (session->milter_no_reply & PC_STAGE_MASK(stage)) == 0;
}

/* the actions the members ask for */
static guint32
actions_for(void)
{
	guint32 actions = 0;

	for (guint i = 0; i < n_members; i++) {
		if ((members[i].desc->actions & PC_MILTER_EDIT_HEADERS) != 0)
			actions |= PC_MILTER_ACT_ADDHDRS | PC_MILTER_ACT_CHGHDRS;
		if ((members[i].desc->actions & PC_MILTER_QUARANTINE) != 0)
			actions |= PC_MILTER_ACT_QUARANTINE;
	}
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
keep_header_edits(PcSession *session, const PcMilterMember *member, PcVerdict *verdict,
		  PcStage stage)
{
	if (verdict->header_edits == NULL || verdict->header_edits->len == 0)
		return;
	/* edits belong to a message: asked before MAIL they would be lost at MAIL */
	if (!session->in_message) {
		g_critical("%s: header edits asked at %s, outside a message; ignored",
			   member->desc->name, pc_stage_to_string(stage));
		return;
	}
	/* a refused recipient (or step) takes its edits with it */
	if (verdict->action != PC_ACTION_CONTINUE && stage != PC_STAGE_EOM)
		return;
	if ((member->desc->actions & PC_MILTER_EDIT_HEADERS) == 0) {
		g_critical("%s: a hook asked for header edits without PC_MILTER_EDIT_HEADERS",
			   member->desc->name);
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
apply_verdict(PcMilterConn *conn, PcSession *session, const PcMilterMember *member,
	      PcVerdict *verdict, PcStage stage)
{
	const char *name = member->desc->name;

	if (verdict->action != PC_ACTION_CONTINUE || verdict->log)
		pc_verdict_log(verdict, session, name, stage);
	pc_stats_counter_inc(member->verdict_counters[verdict->action]);

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
				  pc_session_queue_id(session), name, pc_stage_to_string(stage));
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
					  pc_session_queue_id(session), name, verdict->code,
					  verdict->xcode, pc_action_to_string(verdict->action));
		}
		return verdict->action == PC_ACTION_REJECT ? PC_MILTER_REJECT : PC_MILTER_TEMPFAIL;
	}
	g_assert_not_reached();
}

/*
 * runs the member's hook for stage (if any) and applies its verdict; no
 * reply where negotiated. Header edits are kept in the session; at EOM the
 * caller writes them.
 */
static PcMilterStatus
run_hook(PcMilterConn *conn, PcSession *session, const PcMilterMember *member, PcStage stage)
{
	g_auto(PcVerdict) verdict;
	PcMilterHook hook = stage_hook(member->desc, stage);
	gboolean no_reply =
	    stage != PC_STAGE_EOM && (session->milter_no_reply & PC_STAGE_MASK(stage)) != 0;

	pc_verdict_init(&verdict);
	if (hook != NULL)
		hook(session, session->config, &verdict);
	keep_header_edits(session, member, &verdict, stage);
	if (verdict.action == PC_ACTION_CONTINUE && !verdict.log && no_reply)
		return PC_MILTER_NOREPLY;
	if (no_reply && verdict.action != PC_ACTION_CONTINUE) {
		/* a stage we promised not to answer cannot refuse: a bug in the descriptor */
		g_critical("%s: hook at %s refused a stage not in refuse_at", member->desc->name,
			   pc_stage_to_string(stage));
		pc_verdict_log(&verdict, session, member->desc->name, stage);
		return PC_MILTER_NOREPLY;
	}
	if (no_reply) {
		pc_verdict_log(&verdict, session, member->desc->name, stage);
		return PC_MILTER_NOREPLY;
	}
	return apply_verdict(conn, session, member, &verdict, stage);
}

/* ---------------------------------------------------------- stack members */

/* what a member's turn replaces in the session, put back after it */
typedef struct {
	PcConfig *config;
	const PcListener *listener;
	PcListenerRole role;
	gboolean trusted;
	gpointer connection_data;
	GDestroyNotify connection_data_free;
	gpointer message_data;
	GDestroyNotify message_data_free;
} SessionParts;

/*
 * the member's turn: the session shows its snapshot and state, as its own
 * daemon's session would; the state stays owned by the member's part
 */
static void
member_enter(PcSession *session, const PcMilterMemberState *state, SessionParts *saved)
{
	*saved = (SessionParts){
	    session->config,	   session->listener,	      session->role,
	    session->trusted,	   session->connection_data,  session->connection_data_free,
	    session->message_data, session->message_data_free};
	session->config = state->config;
	session->listener = state->listener;
	session->role = state->role;
	session->trusted = state->trusted;
	session->connection_data = state->connection_data;
	session->connection_data_free = NULL;
	session->message_data = state->message_data;
	session->message_data_free = NULL;
}

static void
member_leave(PcSession *session, PcMilterMemberState *state, const SessionParts *saved)
{
	state->message_data = session->message_data;
	session->config = saved->config;
	session->listener = saved->listener;
	session->role = saved->role;
	session->trusted = saved->trusted;
	session->connection_data = saved->connection_data;
	session->connection_data_free = saved->connection_data_free;
	session->message_data = saved->message_data;
	session->message_data_free = saved->message_data_free;
}

/*
 * each member pins its own newest snapshot where the session pins the
 * process's (CONNECT, MAIL), and derives the listener and trust from it as
 * the session did from the stack's
 */
static void
pin_members(PcMilterConn *conn, PcSession *session)
{
	PcConfig *own = session->config;
	const PcListener *listener = session->listener;
	PcListenerRole role = session->role;
	gboolean trusted = session->trusted;

	if (!pc_milter_process.stack)
		return;
	for (guint i = 0; i < n_members; i++) {
		PcMilterMemberState *state = &conn->member_states[i];

		g_clear_pointer(&state->config, pc_config_unref);
		state->config = pc_config_slot_acquire(members[i].slot);
		session->config = state->config;
		pc_session_resolve_listener(session);
		state->listener = session->listener;
		state->role = session->role;
		state->trusted = session->trusted;
		if (!state->decided) {
			state->active = members[i].desc->stack_roles == 0 ||
					(members[i].desc->stack_roles & (1u << state->role)) != 0;
			state->decided = TRUE;
		}
	}
	session->config = own;
	session->listener = listener;
	session->role = role;
	session->trusted = trusted;
}

/* each member's per-message state is freed (after EOM, at abort, close, the next MAIL) */
static void
reset_members_message(PcMilterConn *conn)
{
	if (conn->member_states == NULL)
		return;
	for (guint i = 0; i < n_members; i++) {
		PcMilterMemberState *state = &conn->member_states[i];

		if (state->message_data != NULL && members[i].desc->message_free != NULL)
			members[i].desc->message_free(state->message_data);
		state->message_data = NULL;
		state->accepted = FALSE;
	}
}

/*
 * run_stage:
 * The stage's hooks: the daemon's, or each member's in order with the
 * session shown as its own. A member's refusal ends the stage (the MTA
 * would not ask the next milter either); a member that accepts the message
 * is not asked again for it, and the others go on.
 */
static PcMilterStatus
run_stage(PcMilterConn *conn, PcSession *session, PcStage stage)
{
	gboolean no_reply =
	    stage != PC_STAGE_EOM && (session->milter_no_reply & PC_STAGE_MASK(stage)) != 0;

	if (!pc_milter_process.stack)
		return run_hook(conn, session, &members[0], stage);
	for (guint i = 0; i < n_members; i++) {
		PcMilterMemberState *state = &conn->member_states[i];
		SessionParts saved;
		PcMilterStatus status;

		if (stage_hook(members[i].desc, stage) == NULL || !state->active ||
		    state->accepted || state->accepted_connection)
			continue;
		member_enter(session, state, &saved);
		status = run_hook(conn, session, &members[i], stage);
		member_leave(session, state, &saved);
		switch (status) {
		case PC_MILTER_NOREPLY:
		case PC_MILTER_CONTINUE:
			break;
		case PC_MILTER_ACCEPT:
			/* before MAIL it covers the connection, after it the message */
			if (stage == PC_STAGE_CONNECT || stage == PC_STAGE_HELO)
				state->accepted_connection = TRUE;
			else
				state->accepted = TRUE;
			break;
		case PC_MILTER_REJECT:
		case PC_MILTER_TEMPFAIL:
		case PC_MILTER_DISCARD:
			return status;
		}
	}
	return no_reply ? PC_MILTER_NOREPLY : PC_MILTER_CONTINUE;
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
	if (!pc_milter_process.stack) {
		if (milter_desc->connection_new != NULL) {
			session->connection_data = milter_desc->connection_new(session);
			session->connection_data_free = milter_desc->connection_free;
		}
	} else {
		conn->member_states = g_new0(PcMilterMemberState, n_members);
		for (guint i = 0; i < n_members; i++) {
			if (members[i].desc->connection_new != NULL)
				conn->member_states[i].connection_data =
				    members[i].desc->connection_new(session);
		}
	}
	conn->session = session;
	return session;
}

void
pc_milter_step_close(PcMilterConn *conn)
{
	PcSession *session = g_steal_pointer(&conn->session);
	g_autofree PcMilterMemberState *states = g_steal_pointer(&conn->member_states);

	if (session == NULL)
		return;
	if (states == NULL) {
		if (milter_desc->on_close != NULL)
			milter_desc->on_close(session, session->config);
		pc_session_free(session);
		return;
	}
	/* a stack: each member's close, then its state, in reverse */
	conn->member_states = states;
	for (guint i = n_members; i-- > 0;) {
		PcMilterMemberState *state = &states[i];
		SessionParts saved;

		member_enter(session, state, &saved);
		if (members[i].desc->on_close != NULL)
			members[i].desc->on_close(session, state->config);
		member_leave(session, state, &saved);
	}
	reset_members_message(conn);
	conn->member_states = NULL;
	for (guint i = n_members; i-- > 0;) {
		if (states[i].connection_data != NULL && members[i].desc->connection_free != NULL)
			members[i].desc->connection_free(states[i].connection_data);
		g_clear_pointer(&states[i].config, pc_config_unref);
	}
	pc_session_free(session);
}

/* appends the names of list not in names yet */
static void
append_macro_names(GString *names, const char *list)
{
	g_auto(GStrv) words = NULL;

	if (list == NULL)
		return;
	words = g_strsplit(list, " ", -1);
	for (gsize i = 0; words[i] != NULL; i++) {
		g_autofree char *spaced = g_strconcat(" ", words[i], " ", NULL);
		g_autofree char *padded = g_strconcat(" ", names->str, " ", NULL);

		if (words[i][0] == '\0' || strstr(padded, spaced) != NULL)
			continue;
		if (names->len > 0)
			g_string_append_c(names, ' ');
		g_string_append(names, words[i]);
	}
}

/* the names requested at each stage: the base list plus the members', once each */
static void
make_macro_lists(void)
{
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		GString *names = g_string_new(NULL);

		append_macro_names(names, base_macros[stage]);
		for (guint i = 0; i < n_members; i++)
			append_macro_names(names, members[i].desc->macros[stage]);
		g_free(macro_lists[stage]);
		macro_lists[stage] = g_string_free(names, FALSE);
	}
}

/*
 * -M prints what negotiation requests, one stage a line, so that tests/e2e's
 * macro recorder can ask a real MTA for exactly the same lists
 */
void
pc_milter_print_macro_lists(void)
{
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (stage_protocol[stage].macros < 0)
			continue;
		printf("%s %s\n", stage == PC_STAGE_MAIL ? "mail" : pc_stage_to_string(stage),
		       macro_lists[stage]);
	}
}

void
pc_milter_step_negotiate(PcMilterConn *conn, guint32 version, guint32 actions, guint32 protocol)
{
	/* only what the MTA offers */
	guint32 asked = protocol_for(refuse_at_now()) & protocol;
	guint32 our_actions = (actions_for() | PC_MILTER_ACT_SETSYMLIST) & actions;
	const char *lists[PC_MILTER_MACROS_N] = {NULL};

	conn->no_reply = 0;
	conn->actions = our_actions;
	conn->header_leading_space = (asked & PC_MILTER_P_HDR_LEADSPC) != 0;
	for (PcStage stage = PC_STAGE_CONNECT; stage <= PC_STAGE_EOM; stage++) {
		if (stage_protocol[stage].no_reply != 0 &&
		    (asked & stage_protocol[stage].no_reply) != 0)
			conn->no_reply |= PC_STAGE_MASK(stage);
		if ((our_actions & PC_MILTER_ACT_SETSYMLIST) != 0 &&
		    stage_protocol[stage].macros >= 0)
			lists[stage_protocol[stage].macros] = macro_lists[stage];
	}
	pc_milter_wire_put_optneg(conn->out, MIN(version, PC_MILTER_WIRE_VERSION), our_actions,
				  asked, lists);
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
	pin_members(conn, session);
	return run_stage(conn, session, PC_STAGE_CONNECT);
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
	if (session->config == NULL) {
		pc_session_pin_config(session, &pc_milter_process.config_slot);
		pin_members(conn, session);
	}
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
	return run_stage(conn, session, PC_STAGE_HELO);
}

PcMilterStatus
pc_milter_step_mail(PcMilterConn *conn, const char *const *argv)
{
	PcSession *session = stage_session(conn);

	/* a new transaction: forget any leftovers, see the newest configuration */
	pc_session_reset_message(session);
	reset_members_message(conn);
	pc_session_pin_config(session, &pc_milter_process.config_slot);
	pc_session_capture(session, PC_STAGE_MAIL, macro_lookup, conn);
	pin_members(conn, session);
	pc_session_set_sender(session, argv[0]);
	pc_session_set_mail_parameters(session, argv[0] != NULL ? argv + 1 : NULL);
	if (!pc_milter_process.stack) {
		if (milter_desc->message_new != NULL)
			pc_session_set_message_data(session, milter_desc->message_new(session),
						    milter_desc->message_free);
	} else {
		for (guint i = 0; i < n_members; i++) {
			PcMilterMemberState *state = &conn->member_states[i];
			SessionParts saved;

			if (members[i].desc->message_new == NULL || !state->active)
				continue;
			member_enter(session, state, &saved);
			session->message_data = members[i].desc->message_new(session);
			member_leave(session, state, &saved);
		}
	}
	return run_stage(conn, session, PC_STAGE_MAIL);
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
		/* the skeleton's own refusal: counted and logged as the first member's */
		return apply_verdict(conn, session, &members[0], &verdict, PC_STAGE_RCPT);
	}
	status = run_stage(conn, session, PC_STAGE_RCPT);
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
	return run_stage(conn, session, PC_STAGE_DATA);
}

/* a member keeps the header (in a stack, the members see each other's) */
static gboolean
keep_header(const char *name)
{
	for (guint m = 0; m < n_members; m++) {
		const PcMilterDescriptor *descriptor = members[m].desc;

		if (descriptor->keep_all_headers)
			return TRUE;
		if (descriptor->keep_headers == NULL)
			continue;
		for (gsize i = 0; descriptor->keep_headers[i] != NULL; i++) {
			if (g_ascii_strcasecmp(descriptor->keep_headers[i], name) == 0)
				return TRUE;
		}
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
	status = run_stage(conn, session, PC_STAGE_HEADER);
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
	return run_stage(conn, session, PC_STAGE_EOH);
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
	status = run_stage(conn, session, PC_STAGE_BODY);
	session->current_body = NULL;
	session->current_body_len = 0;
	return status;
}

PcMilterStatus
pc_milter_step_eom(PcMilterConn *conn)
{
	PcSession *session = stage_session(conn);
	PcMilterStatus status;

	if (!session->in_message)
		return no_transaction(session, PC_STAGE_EOM);
	pc_session_capture(session, PC_STAGE_EOM, macro_lookup, conn);
	status = run_stage(conn, session, PC_STAGE_EOM);
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
	reset_members_message(conn);
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
	for (guint i = 0; i < n_members && session->config != NULL && session->in_message; i++) {
		const PcMilterDescriptor *descriptor = members[i].desc;
		g_auto(PcVerdict) verdict;
		SessionParts saved = {0};

		/* before any continue: the cleanup reads it */
		pc_verdict_init(&verdict);
		if (descriptor->on_abort == NULL ||
		    (conn->member_states != NULL && !conn->member_states[i].active))
			continue;
		if (conn->member_states != NULL)
			member_enter(session, &conn->member_states[i], &saved);
		descriptor->on_abort(session, session->config, &verdict);
		if (conn->member_states != NULL)
			member_leave(session, &conn->member_states[i], &saved);
	}
	pc_session_reset_message(session);
	reset_members_message(conn);
}

/* the verdict and connection metrics, before the statistics listener starts */
void
pc_milter_register_stage_metrics(void)
{
	/* each member's own: a daemon's dashboards read the same series in a stack */
	for (guint i = 0; i < n_members; i++) {
		for (int action = 0; action <= PC_ACTION_QUARANTINE; action++) {
			g_autofree char *labels =
			    g_strdup_printf("daemon=\"%s\",action=\"%s\"", members[i].desc->name,
					    pc_action_to_string(action));

			members[i].verdict_counters[action] = pc_stats_counter_register(
			    "portcullis_verdicts_total", "Verdicts by daemon and action", labels);
		}
	}
	{
		g_autofree char *labels = g_strdup_printf("daemon=\"%s\"", milter_desc->name);

		refused_connections_counter = pc_stats_counter_register(
		    "portcullis_connections_refused_total",
		    "MTA connections tempfailed over the connection cap", labels);
	}
}
