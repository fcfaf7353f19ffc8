/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-control: a daemon's control socket, for the admin command (portcullis
 * bans, unban, limits, reload). A unix socket at [global] control_dir/
 * NAME.control, made after the privilege drop (owned by the daemon's
 * user), mode 0660 (the daemons' group: the admin is root or in it); no
 * TCP, ever.
 *
 * Protocol: the client sends one line (at most PC_CONTROL_MAX_LINE bytes,
 * words separated by blanks, at most PC_CONTROL_MAX_WORDS), the daemon
 * answers lines of text and a last line "ok" or "error: WHY", and closes.
 * A client that sends nothing within 2 s is closed. Built in: "ping"
 * (answers "pong") and "reload" (the same reload as SIGHUP; its outcome is
 * in the log). Anything else goes to the daemon's handler.
 *
 * Thread-safety: one thread of its own serves one client at a time (an
 * admin's commands, not traffic); the handler runs on that thread and must
 * be thread-safe against the milter connections.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PC_CONTROL_MAX_LINE 1024
#define PC_CONTROL_MAX_WORDS 8
#define PC_CONTROL_SUFFIX ".control"

/*
 * pc_control_path:
 * Where daemon's control socket is: DIR/NAME/NAME.control. Each daemon has
 * a directory of its own under [global] control_dir, so that systemd's
 * nested RuntimeDirectory=portcullis/NAME makes it, owned by that daemon's
 * user, and removes it (with a stale socket) when that daemon stops,
 * without touching another's. Returns: (transfer full).
 */
char *pc_control_path(const char *dir, const char *daemon);

#define PC_CONTROL_ERROR (pc_control_error_quark())
typedef enum {
	PC_CONTROL_ERROR_UNKNOWN,   /* not a command of this daemon */
	PC_CONTROL_ERROR_ARGUMENTS, /* the command's arguments are wrong */
	PC_CONTROL_ERROR_FAILED,    /* it could not be done (the store failed) */
	PC_CONTROL_ERROR_SOCKET,    /* the socket could not be made */
} PcControlError;
GQuark pc_control_error_quark(void);

/*
 * a daemon's commands: argv[0] is the command; lines of the answer go to
 * reply (each ending in '\n'); FALSE with error for "error: ..."
 */
typedef gboolean (*PcControlHandler)(const char *const *argv, guint argc, GString *reply,
				     GError **error);

/*
 * pc_control_start:
 * Listens at path (an existing socket file there is replaced) and serves
 * from a thread of its own. reload is called for "reload".
 */
gboolean pc_control_start(const char *path, PcControlHandler handler, void (*reload)(void),
			  GError **error);

/* stops the thread and removes the socket file; nothing when not started */
void pc_control_stop(void);

/*
 * pc_control_request:
 * The client side: sends line to the socket at path and returns the whole
 * answer (transfer full), or NULL with error (the daemon not there). Waits
 * at most timeout_ms for the answer.
 */
char *pc_control_request(const char *path, const char *line, guint timeout_ms, GError **error);

G_END_DECLS
