/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter: the libmilter skeleton every daemon runs in, and the only code
 * that calls smfi_*.
 *
 * A daemon's main() is `return pc_milter_main(&relay_milter, argc, argv);`.
 * The descriptor names the daemon, its config schema, the milter actions and
 * steps it needs, the extra macros it wants per stage, and its hooks. This
 * file owns the rest: options (-c -p -f -n -V -v -M), config load and reload
 * (SIGHUP and SIGUSR1), logging, the statistics listener, the store, socket
 * set-up (a stale unix socket is removed; a path that is not a socket is an
 * error), privilege drop, the pid file, negotiation with smfi_setsymlist,
 * macro capture into the PcSession, applying verdicts, and teardown.
 *
 * Thread-safety: pc_milter_main() runs once per process. Hooks run on
 * libmilter's worker threads, one connection's hooks serialised.
 */
#pragma once

#include <glib.h>

#include "pc-config.h"
#include "pc-session.h"
#include "pc-store.h"
#include "pc-verdict.h"

G_BEGIN_DECLS

/* the steps a daemon's hooks run at (others are skipped or not waited for) */
typedef enum {
	PC_STEP_CONNECT = 1 << 0,
	PC_STEP_HELO = 1 << 1,
	PC_STEP_MAIL = 1 << 2,
	PC_STEP_RCPT = 1 << 3,
	PC_STEP_DATA = 1 << 4,
	PC_STEP_HEADER = 1 << 5,
	PC_STEP_EOH = 1 << 6,
	PC_STEP_BODY = 1 << 7,
	PC_STEP_EOM = 1 << 8,
} PcSteps;

/* a hook decides into verdict; CONTINUE when it has nothing to say */
typedef void (*PcMilterHook)(PcSession *session, const PcConfig *config, PcVerdict *verdict);

typedef struct {
	const char *name; /* "relay": section [relay], ident portcullis-relay */
	const PcConfigSchema *schema;
	/* more sections the daemon reads ([rate.NAME], [greylist]); NULL-terminated, or NULL */
	const PcConfigSchema *const *extra_schemas;
	gulong actions;	 /* SMFIF_* the daemon may use (ADDHDRS, QUARANTINE...) */
	PcSteps steps;	 /* steps whose hooks can refuse (the MTA waits for them) */
	/*
	 * added to the port of [global] statistics, so that daemons sharing one
	 * config listen on distinct ports: relay 0, auth 1, rate 2, verify 3, sign 4
	 */
	guint statistics_offset;
	/* extra macro names per stage (SMFIM_CONNECT..SMFIM_EOH), space separated */
	const char *macros[7];
	/* start-up, after the config is loaded and before the socket opens */
	gboolean (*init)(const PcConfig *config, GError **error);
	/*
	 * headers copied into session->headers for the daemon: names
	 * (case-insensitive, NULL-terminated), or keep_all_headers
	 */
	const char *const *keep_headers;
	gboolean keep_all_headers;
	gboolean count_body; /* body_bytes counted without a body hook */
	PcMilterHook on_connect;
	PcMilterHook on_helo;
	PcMilterHook on_mail;
	PcMilterHook on_rcpt;
	PcMilterHook on_data;
	PcMilterHook on_header; /* session->current_header */
	PcMilterHook on_eoh;
	PcMilterHook on_body; /* session->current_body, current_body_len */
	PcMilterHook on_eom;
	PcMilterHook on_abort; /* no verdict is applied */
	/* the connection ends (also after a refusal); config may be NULL */
	void (*on_close)(PcSession *session, const PcConfig *config);
} PcMilterDescriptor;

/* runs the daemon; returns the process exit status */
int pc_milter_main(const PcMilterDescriptor *descriptor, int argc, char **argv);

/* the process's store (NULL before start-up); thread-safe */
PcStore *pc_milter_get_store(void);

G_END_DECLS
