/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-notify: the service manager's readiness protocol (sd_notify(3)'s
 * datagram, written here so the daemons need no libsystemd): when
 * $NOTIFY_SOCKET names a unix datagram socket (a path, or "@name" in the
 * abstract namespace), each call sends one datagram of "KEY=VALUE" lines
 * ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."). Without the
 * variable, or on any error, nothing happens: a daemon started by hand or
 * by another supervisor never depends on it. The variable is read once and
 * removed from the environment, so no child inherits it.
 *
 * Thread-safety: pc_notify() may be called from any thread (one socket per
 * call) once pc_notify_init() has run before the threads started.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * pc_notify_init:
 * Reads (and unsets) $NOTIFY_SOCKET. Call it first thing in main(), before
 * any thread exists: setenv/unsetenv race with every other thread's getenv
 * (syslog reads TZ). pc_notify() does it on its first call otherwise.
 */
void pc_notify_init(void);

/* sends state (lines "KEY=VALUE", without a trailing newline); TRUE when sent */
gboolean pc_notify(const char *state);

G_END_DECLS
