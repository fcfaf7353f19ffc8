/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-private: what pc-milter.c (the callbacks and start-up) and
 * pc-milter-watch.c (the watchdog and the QUIT_NC carry) share. Not for
 * daemons.
 *
 * Thread-safety: each function says; the watch functions take the watch
 * module's own lock.
 */
#pragma once

#include <libmilter/mfapi.h>

#include <glib.h>

#include "pc-session.h"
#include "pc-stats.h"

G_BEGIN_DECLS

/* descriptors kept for the daemon itself: store pool, statistics, logs, files */
#define RESERVED_DESCRIPTORS 64

/* the path of a unix socket spec ("unix:/p", "local:/p", "/p"); FALSE for inet */
gboolean pc_milter_unix_socket_path(const char *spec, const char **path_out);

/*
 * the watchdog (milter_timeout): metrics before the statistics listener
 * starts; start once before smfi_main (name for log lines, the socket spec to
 * recognise MTA connections, the descriptor limit in force or 0); stop joins
 * the thread; free once no connection is left
 */
void pc_milter_watch_register_metrics(void);
void pc_milter_watch_start(const char *name, gint64 timeout_us, const char *socket_spec,
			   guint64 limit);
void pc_milter_watch_stop(void);
void pc_milter_watch_free(void);
/* a session opens (its connection's descriptor is found in ctx) and closes */
void pc_milter_watch_register(SMFICTX *ctx, PcSession *session);
void pc_milter_watch_unregister(PcSession *session);
/* a callback starts (busy) or ends (the idle clock restarts); lock-free */
void pc_milter_watch_busy(PcSession *session, gboolean busy);

/*
 * QUIT_NC: what a context negotiated (its no-reply stages, and whether
 * header values keep their leading blanks), kept from its close to its next
 * CONNECT; take returns FALSE when there is none. Thread-safe.
 */
void pc_milter_carry_put(SMFICTX *ctx, guint32 no_reply, gboolean header_leading_space);
gboolean pc_milter_carry_take(SMFICTX *ctx, guint32 *no_reply_out,
			      gboolean *header_leading_space_out);
void pc_milter_carry_free(void);

G_END_DECLS
