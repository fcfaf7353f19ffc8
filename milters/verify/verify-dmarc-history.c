/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dmarc-history: see verify-dmarc-history.h.
 */
#include "verify-dmarc-history.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

VerifyDmarcHistoryEntry *
verify_dmarc_history_entry_new(void)
{
	VerifyDmarcHistoryEntry *entry = g_new0(VerifyDmarcHistoryEntry, 1);

	entry->fields[VERIFY_DMARC_HISTORY_VERSION] = g_strdup("1");
	return entry;
}

void
verify_dmarc_history_entry_free(VerifyDmarcHistoryEntry *entry)
{
	if (entry == NULL)
		return;
	for (guint i = 0; i < VERIFY_DMARC_HISTORY_N_FIELDS; i++)
		g_free(entry->fields[i]);
	g_free(entry);
}

/* a byte a field may hold as it is */
static gboolean
writable(guchar c)
{
	return c > 0x20 && c < 0x7f;
}

void
verify_dmarc_history_entry_set(VerifyDmarcHistoryEntry *entry, VerifyDmarcHistoryField field,
			       const char *value)
{
	gsize len;
	char *copy;

	g_return_if_fail(entry != NULL && (guint)field < VERIFY_DMARC_HISTORY_N_FIELDS);
	g_clear_pointer(&entry->fields[field], g_free);
	/* "-" alone is how an empty field is written: it cannot be a value */
	if (value == NULL || value[0] == '\0' || strcmp(value, "-") == 0)
		return;
	len = strnlen(value, VERIFY_DMARC_HISTORY_MAX_FIELD);
	copy = g_strndup(value, len);
	for (gsize i = 0; i < len; i++) {
		if (!writable((guchar)copy[i]))
			copy[i] = '?';
	}
	entry->fields[field] = copy;
}

const char *
verify_dmarc_history_entry_get(const VerifyDmarcHistoryEntry *entry, VerifyDmarcHistoryField field)
{
	g_return_val_if_fail(entry != NULL && (guint)field < VERIFY_DMARC_HISTORY_N_FIELDS, NULL);
	return entry->fields[field];
}

char *
verify_dmarc_history_format(const VerifyDmarcHistoryEntry *entry)
{
	GString *line = g_string_sized_new(256);

	for (guint i = 0; i < VERIFY_DMARC_HISTORY_N_FIELDS; i++) {
		if (i > 0)
			g_string_append_c(line, '\t');
		if (i == VERIFY_DMARC_HISTORY_TIME)
			g_string_append_printf(line, "%" G_GINT64_FORMAT, entry->time);
		else
			g_string_append(line, entry->fields[i] != NULL ? entry->fields[i] : "-");
	}
	g_string_append_c(line, '\n');
	return g_string_free(line, FALSE);
}

VerifyDmarcHistoryEntry *
verify_dmarc_history_parse(const char *line, gsize len, const char **why_out)
{
	g_autoptr(VerifyDmarcHistoryEntry) entry = g_new0(VerifyDmarcHistoryEntry, 1);
	const char *end;
	const char *at = line;
	guint field = 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	end = line + len;
	if (len > VERIFY_DMARC_HISTORY_MAX_LINE) {
		*why_out = "line too long";
		return NULL;
	}
	while (TRUE) {
		const char *tab = memchr(at, '\t', (gsize)(end - at));
		const char *stop = tab != NULL ? tab : end;
		gsize field_len = (gsize)(stop - at);

		if (field >= VERIFY_DMARC_HISTORY_N_FIELDS) {
			*why_out = "too many fields";
			return NULL;
		}
		if (field_len == 0 || field_len > VERIFY_DMARC_HISTORY_MAX_FIELD) {
			*why_out = "an empty or oversized field";
			return NULL;
		}
		for (const char *p = at; p < stop; p++) {
			if (!writable((guchar)*p)) {
				*why_out = "a byte that is never written";
				return NULL;
			}
		}
		if (field_len != 1 || at[0] != '-')
			entry->fields[field] = g_strndup(at, field_len);
		field++;
		if (tab == NULL)
			break;
		at = tab + 1;
	}
	if (field != VERIFY_DMARC_HISTORY_N_FIELDS) {
		*why_out = "too few fields";
		return NULL;
	}
	if (g_strcmp0(entry->fields[VERIFY_DMARC_HISTORY_VERSION], "1") != 0) {
		*why_out = "an unknown format version";
		return NULL;
	}
	{
		const char *text = entry->fields[VERIFY_DMARC_HISTORY_TIME];
		char *number_end = NULL;
		guint64 time;

		if (text == NULL || !g_ascii_isdigit(text[0])) {
			*why_out = "no time";
			return NULL;
		}
		time = g_ascii_strtoull(text, &number_end, 10);
		if (*number_end != '\0' || time > G_MAXINT64 / G_USEC_PER_SEC) {
			*why_out = "a time that is not a number of seconds";
			return NULL;
		}
		entry->time = (gint64)time;
		/* the time lives in entry->time only, as in an entry made by hand */
		g_clear_pointer(&entry->fields[VERIFY_DMARC_HISTORY_TIME], g_free);
	}
	if (entry->fields[VERIFY_DMARC_HISTORY_POLICY_DOMAIN] == NULL ||
	    entry->fields[VERIFY_DMARC_HISTORY_HEADER_FROM] == NULL ||
	    entry->fields[VERIFY_DMARC_HISTORY_SOURCE_IP] == NULL) {
		*why_out = "no policy domain, author domain or source address";
		return NULL;
	}
	*why_out = NULL;
	return g_steal_pointer(&entry);
}

char *
verify_dmarc_history_file_name(gint64 time)
{
	g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc(time);

	return when != NULL ? g_date_time_format(when, "%Y-%m-%d.log") : g_strdup("invalid.log");
}

/* --- the writer --- */

struct _VerifyDmarcHistory {
	GMutex lock;
	char *dir; /* NULL: off */
	gint64 max_bytes;
	char *day; /* file name of the open file */
	int fd;	   /* -1: none open */
	gint64 bytes;
	gboolean full_warned; /* for day */
	gboolean error_warned;
};

VerifyDmarcHistory *
verify_dmarc_history_new(void)
{
	VerifyDmarcHistory *history = g_new0(VerifyDmarcHistory, 1);

	g_mutex_init(&history->lock);
	history->fd = -1;
	return history;
}

static void
close_day(VerifyDmarcHistory *history)
{
	if (history->fd >= 0)
		close(history->fd);
	history->fd = -1;
	g_clear_pointer(&history->day, g_free);
	history->full_warned = FALSE;
	history->error_warned = FALSE;
}

void
verify_dmarc_history_free(VerifyDmarcHistory *history)
{
	if (history == NULL)
		return;
	close_day(history);
	g_free(history->dir);
	g_mutex_clear(&history->lock);
	g_free(history);
}

void
verify_dmarc_history_configure(VerifyDmarcHistory *history, const char *dir, gint64 max_bytes)
{
	g_mutex_lock(&history->lock);
	close_day(history);
	g_clear_pointer(&history->dir, g_free);
	history->max_bytes = max_bytes;
	if (dir != NULL && dir[0] != '\0') {
		if (g_file_test(dir, G_FILE_TEST_IS_DIR))
			history->dir = g_strdup(dir);
		else
			g_warning(
			    "dmarc_history_dir %s is not a directory: DMARC aggregate reports "
			    "are off (make it, writable by the daemon's user)",
			    dir);
	}
	g_mutex_unlock(&history->lock);
}

/* opens the day's file; FALSE (warned once) when it cannot be */
static gboolean
open_day(VerifyDmarcHistory *history, const char *day)
{
	g_autofree char *path = g_build_filename(history->dir, day, NULL);
	struct stat st;

	close_day(history);
	history->day = g_strdup(day);
	history->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (history->fd < 0 || fstat(history->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (!history->error_warned)
			g_warning("DMARC history %s: %s: the day's evaluations are not kept", path,
				  g_strerror(errno));
		history->error_warned = TRUE;
		if (history->fd >= 0)
			close(history->fd);
		history->fd = -1;
		return FALSE;
	}
	history->bytes = st.st_size;
	return TRUE;
}

gboolean
verify_dmarc_history_is_on(VerifyDmarcHistory *history)
{
	gboolean on;

	g_mutex_lock(&history->lock);
	on = history->dir != NULL;
	g_mutex_unlock(&history->lock);
	return on;
}

gboolean
verify_dmarc_history_append(VerifyDmarcHistory *history, const VerifyDmarcHistoryEntry *entry)
{
	g_autofree char *line = verify_dmarc_history_format(entry);
	g_autofree char *day = verify_dmarc_history_file_name(entry->time);
	gsize len = strlen(line);
	gboolean written = FALSE;

	g_mutex_lock(&history->lock);
	if (history->dir == NULL)
		goto out;
	if (g_strcmp0(history->day, day) != 0 && !open_day(history, day))
		goto out;
	if (history->fd < 0)
		goto out;
	if (history->bytes + (gint64)len > history->max_bytes) {
		if (!history->full_warned)
			g_warning(
			    "DMARC history %s/%s reached dmarc_history_max_size (%" G_GINT64_FORMAT
			    " bytes): the rest of the day is not kept",
			    history->dir, day, history->max_bytes);
		history->full_warned = TRUE;
		goto out;
	}
	/* one write: O_APPEND keeps it whole and in one place */
	if (write(history->fd, line, len) == (ssize_t)len) {
		history->bytes += (gint64)len;
		written = TRUE;
	} else if (!history->error_warned) {
		g_warning("DMARC history %s/%s: %s", history->dir, day, g_strerror(errno));
		history->error_warned = TRUE;
	}
out:
	g_mutex_unlock(&history->lock);
	return written;
}
