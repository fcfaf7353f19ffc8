/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-stats-parse: a daemon's /metrics page (Prometheus text format, as
 * pc-stats writes it) read into samples, and the sums `portcullis stats`
 * prints. Pure; bounded: pages over TOOL_STATS_MAX_PAGE bytes and lines
 * over TOOL_STATS_MAX_LINE are cut there, lines that do not read are
 * skipped.
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TOOL_STATS_MAX_PAGE (4 * 1024 * 1024)
#define TOOL_STATS_MAX_LINE 4096

typedef struct {
	char *name;   /* "portcullis_relay_denied_total" */
	char *labels; /* "reason=\"banned\"", "" without labels */
	double value;
} ToolStatsSample;

/* (transfer full) the samples of page[0..len), in page order */
GPtrArray *tool_stats_parse(const char *page, gsize len);

/*
 * (transfer full) the value of label name in labels, or NULL ("\\\"" and
 * "\\\\" unescaped)
 */
char *tool_stats_label(const char *labels, const char *name);

/*
 * Sums the samples called name by the value of label group_by (NULL: one
 * sum, under ""): (transfer full) label value -> double *, in a table.
 */
GHashTable *tool_stats_sum_by(const GPtrArray *samples, const char *name, const char *group_by);

G_END_DECLS
