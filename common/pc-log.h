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

/*
 * PcLogLimiter: at most one log line per interval for an event that can
 * repeat fast (a shared store that flaps between down and up), counting the
 * events that were not logged so that the next line can say how many.
 *
 * The caller passes the time (monotonic microseconds), so tests need no
 * clock. Thread-safety: none of its own; the owner's lock covers every call.
 */
typedef struct {
	gint64 interval_us;
	gint64 next_us;	    /* the earliest time of the next line */
	guint64 suppressed; /* events since the last line that were not logged */
} PcLogLimiter;

/* the first event is always logged */
void pc_log_limiter_init(PcLogLimiter *limiter, gint64 interval_us);

/*
 * pc_log_limiter_event:
 * An event happened at now_us. Returns TRUE when the caller should log it
 * now; then *suppressed_out (may be NULL) is the number of events before it
 * that were not logged, and the count starts again. Returns FALSE, and counts
 * the event, when a line was written less than interval_us ago.
 */
gboolean pc_log_limiter_event(PcLogLimiter *limiter, gint64 now_us, guint64 *suppressed_out);

/*
 * pc_log_limiter_flush:
 * For a line owed to events that were not logged, such as a state that
 * changed while lines were held back: returns TRUE, with their number in
 * *suppressed_out (may be NULL), when there are any and the interval has
 * passed; the caller writes the line. Does not count an event. Cheap enough
 * for a hot path: two comparisons when nothing is owed.
 */
gboolean pc_log_limiter_flush(PcLogLimiter *limiter, gint64 now_us, guint64 *suppressed_out);

G_END_DECLS
