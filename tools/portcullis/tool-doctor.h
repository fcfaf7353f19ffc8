/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-doctor: the wiring doctor of `portcullis check --postfix` and
 * `--sendmail`: how the MTA's own configuration attaches (or fails to
 * attach) the Portcullis daemons, listener by listener.
 *
 * The MTA side is read into a ToolDoctorMta by the readers here (pure:
 * text in; tool-check.c runs postconf or reads the .cf file), and judged
 * against the Portcullis configuration by tool_doctor_judge():
 *  - per smtpd listener: the Portcullis daemons attached (a milter whose
 *    socket is a daemon's socket, seen from that listener: a relative unix
 *    path and any path of a chrooted smtpd are under the queue directory)
 *    against those its role needs (relay and rate everywhere; auth on mx,
 *    submission and smtps; verify on mx; sign on submission and smtps);
 *  - {daemon_name} (milter_macro_daemon_name, Sendmail's Name=) matching
 *    a [listener]: otherwise the daemons judge that listener as mx;
 *  - each milter's default action (milter_default_action or its own
 *    default_action; Sendmail's F=): anything but tempfail lets mail
 *    through unchecked, or refuses it, while a daemon is down;
 *  - another milter attached (OpenDKIM, OpenDMARC, ...): mail may be
 *    signed or verified twice;
 *  - Postfix's mynetworks against [global] trusted_networks;
 *  - whether the MTA's user (postfix, or Sendmail's smmsp/root) may open
 *    each daemon socket (tool-check.c checks the file system, with the
 *    one command that fixes it).
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

#include "daemons.h"
#include "pc-config.h"

G_BEGIN_DECLS

typedef struct {
	char *spec;	      /* "unix:run/portcullis/relay.sock", "inet:127.0.0.1:8891" */
	char *default_action; /* "tempfail", "accept", "reject"; NULL: the MTA's default */
} ToolDoctorMilter;

typedef struct {
	char *name;	    /* "smtp", "submission", "127.0.0.1:2525", Sendmail's Name= */
	guint port;	    /* 0 when unknown */
	gboolean chroot;    /* Postfix: the smtpd runs chrooted */
	GPtrArray *milters; /* ToolDoctorMilter * */
	char *daemon_name;  /* what {daemon_name} is on this listener */
} ToolDoctorListener;

typedef struct {
	const char *mta;       /* "postfix" or "sendmail" */
	GPtrArray *listeners;  /* ToolDoctorListener * */
	char *queue_directory; /* Postfix; NULL for Sendmail */
	char *default_action;  /* milter_default_action; Sendmail: NULL (per filter) */
	char **mynetworks;     /* Postfix's, as its items; NULL for Sendmail */
	GPtrArray *non_smtpd;  /* Postfix non_smtpd_milters: ToolDoctorMilter * */
} ToolDoctorMta;

void tool_doctor_mta_free(ToolDoctorMta *mta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ToolDoctorMta, tool_doctor_mta_free)

/*
 * tool_doctor_read_postfix:
 * @main_all: `postconf -c DIR` (every parameter, defaults included)
 * @master: `postconf -c DIR -M` (one line per service)
 * Returns: (transfer full) the smtpd inet services with their milters
 * ($parameters expanded, -o overrides applied), or NULL with error.
 */
ToolDoctorMta *tool_doctor_read_postfix(const char *main_all, const char *master, GError **error);

/* tool_doctor_read_sendmail: a sendmail.cf's X (filters), InputMailFilters and DaemonPortOptions */
ToolDoctorMta *tool_doctor_read_sendmail(const char *cf, GError **error);

/* the path a unix: milter spec reaches from the listener; NULL for inet: */
char *tool_doctor_socket_path(const ToolDoctorMta *mta, const ToolDoctorListener *listener,
			      const char *spec);

/* one finding: severity "error" or "warning" (or "ok" for a listener's summary) */
typedef struct {
	const char *severity;
	char *text;
} ToolDoctorFinding;

/* portcullis-stack as the configuration sets it up */
typedef struct {
	const char *socket;		      /* its [stack] socket */
	gboolean hosts[PORTCULLIS_N_DAEMONS]; /* [stack] members: relay, auth, rate, verify, sign */
} ToolDoctorStack;

/*
 * tool_doctor_judge:
 * @sockets: the daemons' socket specs from the Portcullis configuration,
 *   indexed relay, auth, rate, verify, sign (NULL: that daemon has none)
 * @stack: (nullable) portcullis-stack: a milter on its socket attaches the
 *   daemons it hosts
 * Appends ToolDoctorFinding * to findings (a free func is set by the caller).
 */
void tool_doctor_judge(const ToolDoctorMta *mta, const PcConfig *config,
		       const char *const sockets[PORTCULLIS_N_DAEMONS],
		       const ToolDoctorStack *stack, GPtrArray *findings);
void tool_doctor_finding_free(gpointer finding);

G_END_DECLS
