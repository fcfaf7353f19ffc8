/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-json: the little JSON the admin command prints (--json). A writer
 * over a GString that knows where commas go; strings are escaped (RFC 8259
 * 7), and bytes that are not UTF-8 become U+FFFD, so any text taken from a
 * message or a DNS answer gives valid JSON.
 *
 * Thread-safety: one writer per thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TOOL_JSON_MAX_DEPTH 16

typedef struct {
	GString *out;
	guint depth;
	/* per open container: nothing written in it yet */
	gboolean first[TOOL_JSON_MAX_DEPTH];
} ToolJson;

void tool_json_init(ToolJson *json);
/* Returns: (transfer full) the text written, a newline at the end */
char *tool_json_finish(ToolJson *json);

/* containers; @key is NULL inside an array (and for the outermost one) */
void tool_json_begin_object(ToolJson *json, const char *key);
void tool_json_end_object(ToolJson *json);
void tool_json_begin_array(ToolJson *json, const char *key);
void tool_json_end_array(ToolJson *json);

/* members (@key NULL in an array); a NULL @value is written as null */
void tool_json_string(ToolJson *json, const char *key, const char *value);
void tool_json_int(ToolJson *json, const char *key, gint64 value);
void tool_json_bool(ToolJson *json, const char *key, gboolean value);
void tool_json_null(ToolJson *json, const char *key);

/*
 * tool_print_findings:
 * The audits' findings, each a string of n_fields tab-separated fields
 * named by names[]: one line a finding, each field but the last padded to
 * widths[i], or (json) an array of objects.
 */
void tool_print_findings(const GPtrArray *findings, guint n_fields, const char *const *names,
			 const int *widths, gboolean json);

G_END_DECLS
