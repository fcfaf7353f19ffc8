/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-mta: what a real MTA tells a milter through macros, per stage.
 *
 * A profile (Postfix 3.7, Sendmail 8.17) is data: its default macro lists,
 * its default values, and for each macro the stages at which the MTA process
 * handling that stage has a value at all (Postfix's cleanup daemon, which
 * runs the header/body/end-of-message stages, never sees the TLS macros, for
 * example). McMacros holds one simulated SMTP session's values on top of a
 * profile and answers "which name=value pairs go into the SMFIC_MACRO packet
 * for this stage", taking the milter's requested symbol lists into account
 * the way each MTA does, quirks included. Not here: the wire format.
 *
 * Thread-safety: profiles are immutable; an McMacros belongs to one thread.
 */
#pragma once

#include <glib.h>

#include "mc-proto.h"

G_BEGIN_DECLS

typedef enum {
	MC_QUEUE_ID_POSTFIX,  /* 10-11 upper-case hex digits */
	MC_QUEUE_ID_SENDMAIL, /* 8 base-60 characters and 6 digits */
} McQueueIdStyle;

typedef struct {
	const char *name; /* canonical: "j", "{daemon_name}" */
	const char *value;
} McMacroValue;

typedef struct {
	const char *name;
	guint stages; /* bit (1 << McStage) set where the MTA has the macro */
	guint flags;  /* MC_WINDOW_* */
} McMacroWindow;

/* Postfix: i is known at RCPT once an earlier recipient was accepted */
#define MC_WINDOW_RCPT_AFTER_ACCEPT (1u << 0)
/* Postfix: at EOH/EOM {daemon_name} is the cleanup daemon's value */
#define MC_WINDOW_CLEANUP_NAME (1u << 1)

typedef struct {
	const char *name;
	const char *default_lists[MC_STAGE_COUNT]; /* NULL: no macro packet */
	const McMacroValue *defaults;		   /* terminated by a NULL name */
	const McMacroValue *tls_extras;		   /* also set by STARTTLS */
	const McMacroWindow *windows;		   /* macros not listed: every stage */
	const char *reject_reply;		   /* what the MTA says for a plain SMFIR_REJECT */
	const char *tempfail_reply;		   /* ... and for SMFIR_TEMPFAIL */
	const char *ipv6_prefix;		   /* prepended to IPv6 addresses ("IPv6:") */
	McQueueIdStyle queue_id_style;
	gboolean unknown_client_bracketed; /* {client_name} "[addr]", not "unknown" */
	gboolean client_resolve;	   /* defines {client_resolve} */
	gboolean msg_id;		   /* defines {msg_id} at EOM */
	gboolean bare_names_braced;	   /* "daemon_name" means "{daemon_name}" */
	gboolean empty_request_is_default; /* "" from the milter: use the default list */
	gboolean eom_request_needs_eoh;	   /* Sendmail 8.17 bug, see mc-mta.c */
	gboolean abort_on_starttls;	   /* the milter sees ABORT after STARTTLS */
} McMtaProfile;

/* "postfix" or "sendmail"; NULL if unknown */
const McMtaProfile *mc_mta_profile_lookup(const char *name);

/* Postfix */
const McMtaProfile *mc_mta_profile_default(void);

typedef struct _McMacros McMacros;

/*
 * mc_macros_new:
 * seed makes the generated queue ids reproducible.
 * Returns: (transfer full) macro state on the default profile.
 */
McMacros *mc_macros_new(guint32 seed);
void mc_macros_free(McMacros *macros);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(McMacros, mc_macros_free)

void mc_macros_set_profile(McMacros *macros, const McMtaProfile *profile);
const McMtaProfile *mc_macros_get_profile(const McMacros *macros);

/* a command-line default (-D): used where nothing else gives a value */
void mc_macros_set_default(McMacros *macros, const char *name, const char *value);

/* "macro NAME [VALUE]": value NULL unsets the macro at every stage */
void mc_macros_override(McMacros *macros, const char *name, const char *value);

/* "cleanup-daemon-name VALUE" (Postfix); NULL: the value of j */
void mc_macros_set_cleanup_daemon_name(McMacros *macros, const char *value);

/*
 * mc_macros_connect:
 * Starts a new SMTP session: forgets TLS, AUTH and the transaction. addr and
 * port are NULL for an unknown client; name NULL when it has no name.
 */
void mc_macros_connect(McMacros *macros, const char *addr, const char *port, const char *name);

void mc_macros_starttls(McMacros *macros, const char *version, const char *bits,
			const char *cipher);
void mc_macros_auth(McMacros *macros, const char *login, const char *mechanism);

/* starts a transaction (fresh queue id); addr as sent, possibly with NULs */
void mc_macros_mail(McMacros *macros, const guint8 *addr, gsize len);
void mc_macros_rcpt(McMacros *macros, const guint8 *addr, gsize len);

/* the milter's answer to a RCPT: FALSE when it rejected the recipient */
void mc_macros_rcpt_done(McMacros *macros, gboolean accepted);

/* a header of the message (Sendmail takes {msg_id} from Message-Id) */
void mc_macros_header(McMacros *macros, const char *name, const char *value);

/* ABORT: forgets the transaction */
void mc_macros_end_transaction(McMacros *macros);

/*
 * mc_macros_collect:
 * Decides the SMFIC_MACRO packet for stage, given what the milter asked
 * for in its negotiation (requested may be NULL).
 * Returns: (transfer full) alternating names (as listed) and values, or
 * NULL when the MTA would send no macro packet for this stage.
 */
GPtrArray *mc_macros_collect(McMacros *macros, McStage stage, const McNegotiation *requested);

/* the value the MTA would have for name at stage; NULL if none (transfer full) */
char *mc_macros_lookup(McMacros *macros, McStage stage, const char *name);

/*
 * mc_macro_name_equal:
 * TRUE when both names denote the same macro ("i" and "{i}").
 */
gboolean mc_macro_name_equal(const char *a, const char *b);

G_END_DECLS
