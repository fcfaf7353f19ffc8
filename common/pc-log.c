/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-log: a GLib log writer for syslog or stderr, and escaping of network
 * values for log lines. GLib 2.74 has no syslog writer of its own, hence this
 * small one.
 */
#include "pc-log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* set once at start-up before any thread; read-only afterwards */
static PcLogTarget log_target = PC_LOG_TARGET_STDERR;
static char log_ident[64] = "portcullis";
static atomic_bool log_verbose;

static int
level_to_priority(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return LOG_CRIT;
	if (level & G_LOG_LEVEL_CRITICAL)
		return LOG_CRIT;
	if (level & G_LOG_LEVEL_WARNING)
		return LOG_WARNING;
	if (level & G_LOG_LEVEL_MESSAGE)
		return LOG_NOTICE;
	if (level & G_LOG_LEVEL_INFO)
		return LOG_INFO;
	return LOG_DEBUG;
}

static const char *
level_to_word(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "notice";
	if (level & G_LOG_LEVEL_INFO)
		return "info";
	return "debug";
}

static GLogWriterOutput
pc_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const char *message = NULL;
	const char *domain = NULL;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
		else if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
	}
	if (message == NULL)
		return G_LOG_WRITER_UNHANDLED;
	/* debug and info only when asked for, by -v or by GLib's G_MESSAGES_DEBUG */
	if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) != 0 && !atomic_load(&log_verbose) &&
	    g_log_writer_default_would_drop(level, domain))
		return G_LOG_WRITER_HANDLED;

	if (log_target == PC_LOG_TARGET_SYSLOG) {
		syslog(level_to_priority(level), "%s", message);
	} else {
		/* one fprintf per line: stdio locks the stream, lines do not interleave */
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident, (long)getpid(),
			level_to_word(level), message);
	}
	return G_LOG_WRITER_HANDLED;
}

void
pc_log_init(const char *ident, PcLogTarget target)
{
	g_return_if_fail(ident != NULL);

	g_strlcpy(log_ident, ident, sizeof(log_ident));
	log_target = target;
	if (target == PC_LOG_TARGET_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	g_log_set_writer_func(pc_log_writer, NULL, NULL);
}

void
pc_log_set_verbose(gboolean verbose)
{
	atomic_store(&log_verbose, verbose);
}

/*
 * value with every byte a log reader could mistake escaped as \xHH, at most
 * PC_LOG_MAX_VALUE input bytes (then "..."); a comma only matters to a value
 * that is not quoted, where it could start a field of its own
 */
static void
log_append_escaped(GString *out, const char *value, gboolean escape_comma)
{
	gsize n = 0;

	for (const char *p = value; *p != '\0'; p++, n++) {
		guchar c = (guchar)*p;

		if (n == PC_LOG_MAX_VALUE) {
			g_string_append(out, "...");
			return;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"' || (escape_comma && c == ','))
			g_string_append_printf(out, "\\x%02X", c);
		else
			g_string_append_c(out, (char)c);
	}
}

void
pc_log_append_safe(GString *out, const char *value)
{
	g_return_if_fail(out != NULL);

	if (value == NULL) {
		g_string_append_c(out, '-');
		return;
	}
	log_append_escaped(out, value, TRUE);
}

void
pc_log_append_quoted(GString *out, const char *value)
{
	g_return_if_fail(out != NULL);

	if (value == NULL) {
		g_string_append_c(out, '-');
		return;
	}
	g_string_append_c(out, '"');
	log_append_escaped(out, value, FALSE);
	g_string_append_c(out, '"');
}

void
pc_log_limiter_init(PcLogLimiter *limiter, gint64 interval_us)
{
	g_return_if_fail(limiter != NULL);
	g_return_if_fail(interval_us >= 0);

	limiter->interval_us = interval_us;
	/* before any time a caller can pass, so the first event is logged */
	limiter->next_us = G_MININT64;
	limiter->suppressed = 0;
}

/* a line is written at now_us: the count goes to the line, the interval starts */
static void
log_limiter_take(PcLogLimiter *limiter, gint64 now_us, guint64 *suppressed_out)
{
	if (suppressed_out != NULL)
		*suppressed_out = limiter->suppressed;
	limiter->suppressed = 0;
	/* saturating: a clock near G_MAXINT64 must not wrap the next slot into the past */
	limiter->next_us =
	    now_us > G_MAXINT64 - limiter->interval_us ? G_MAXINT64 : now_us + limiter->interval_us;
}

gboolean
pc_log_limiter_event(PcLogLimiter *limiter, gint64 now_us, guint64 *suppressed_out)
{
	g_return_val_if_fail(limiter != NULL, FALSE);

	if (now_us >= limiter->next_us) {
		log_limiter_take(limiter, now_us, suppressed_out);
		return TRUE;
	}
	if (limiter->suppressed < G_MAXUINT64)
		limiter->suppressed++;
	return FALSE;
}

gboolean
pc_log_limiter_flush(PcLogLimiter *limiter, gint64 now_us, guint64 *suppressed_out)
{
	g_return_val_if_fail(limiter != NULL, FALSE);

	if (limiter->suppressed == 0 || now_us < limiter->next_us)
		return FALSE;
	log_limiter_take(limiter, now_us, suppressed_out);
	return TRUE;
}
