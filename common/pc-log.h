/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-log: where GLib's log messages go, and how hostile values are made safe
 * to log.
 *
 * Daemons log through g_debug/g_info/g_message/g_warning/g_critical (levels
 * as in STYLE.md rule 23). pc_log_init() installs a writer that sends them to
 * syslog (facility mail, ident "portcullis-NAME", LOG_PID) or, in foreground
 * mode, to stderr as "portcullis-NAME[PID]: level: text". Debug and info lines
 * are dropped unless pc_log_set_verbose(TRUE) or G_MESSAGES_DEBUG is set.
 * Not here: the format of decision lines (pc-verdict).
 *
 * Thread-safety: pc_log_init() and pc_log_set_verbose() are start-up only;
 * the writer, pc_log_append_safe() and pc_log_append_quoted() are
 * thread-safe (each works on its caller's GString).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* longest value pc_log_append_safe() and pc_log_append_quoted() copy before "..." */
#define PC_LOG_MAX_VALUE 256

typedef enum {
	PC_LOG_TARGET_SYSLOG,
	PC_LOG_TARGET_STDERR,
} PcLogTarget;

void pc_log_init(const char *ident, PcLogTarget target);
void pc_log_set_verbose(gboolean verbose);

/*
 * pc_log_append_safe:
 * Appends value to out with control bytes, '\\', '"', ',' and 8-bit bytes
 * escaped as \xHH, and at most PC_LOG_MAX_VALUE input bytes (then "...").
 * NULL is written as "-". For values from the network in key=value lines:
 * an attacker can neither forge fields nor fill the log.
 */
void pc_log_append_safe(GString *out, const char *value);

/*
 * pc_log_append_quoted:
 * Appends value between double quotes, for values a key=value line writes
 * quoted, such as reply="451 4.7.1 Rate limit exceeded, try again". Control
 * bytes, '"', '\\' and 8-bit bytes are escaped as \xHH; commas and blanks are
 * kept as they are, because inside the quotes a comma cannot start a forged
 * ", key=value" field (a '"' that would end the value early is escaped). At
 * most PC_LOG_MAX_VALUE input bytes are copied, then "..." before the closing
 * quote. NULL is written as "-" without quotes, as pc_log_append_safe() writes
 * it, so an absent value and an empty one ("") stay apart.
 */
void pc_log_append_quoted(GString *out, const char *value);

G_END_DECLS
