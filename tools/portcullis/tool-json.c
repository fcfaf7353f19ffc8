/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-json: see tool-json.h.
 */
#include "tool-json.h"

#include <stdio.h>

void
tool_json_init(ToolJson *json)
{
	json->out = g_string_new(NULL);
	json->depth = 0;
	json->first[0] = TRUE;
}

char *
tool_json_finish(ToolJson *json)
{
	g_assert(json->depth == 0);
	g_string_append_c(json->out, '\n');
	return g_string_free(g_steal_pointer(&json->out), FALSE);
}

static void
escape(GString *out, const char *text)
{
	g_autofree char *valid = g_utf8_make_valid(text, -1);

	g_string_append_c(out, '"');
	for (const char *p = valid; *p != '\0'; p++) {
		guchar c = (guchar)*p;

		switch (c) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				g_string_append_printf(out, "\\u%04x", c);
			else
				g_string_append_c(out, (char)c);
		}
	}
	g_string_append_c(out, '"');
}

/* the comma and the key before a value */
static void
member(ToolJson *json, const char *key)
{
	if (!json->first[json->depth])
		g_string_append_c(json->out, ',');
	json->first[json->depth] = FALSE;
	if (key != NULL) {
		escape(json->out, key);
		g_string_append_c(json->out, ':');
	}
}

static void
begin(ToolJson *json, const char *key, char bracket)
{
	member(json, key);
	g_string_append_c(json->out, bracket);
	g_assert(json->depth + 1 < TOOL_JSON_MAX_DEPTH);
	json->depth++;
	json->first[json->depth] = TRUE;
}

static void
end(ToolJson *json, char bracket)
{
	g_assert(json->depth > 0);
	json->depth--;
	g_string_append_c(json->out, bracket);
}

void
tool_json_begin_object(ToolJson *json, const char *key)
{
	begin(json, key, '{');
}

void
tool_json_end_object(ToolJson *json)
{
	end(json, '}');
}

void
tool_json_begin_array(ToolJson *json, const char *key)
{
	begin(json, key, '[');
}

void
tool_json_end_array(ToolJson *json)
{
	end(json, ']');
}

void
tool_json_string(ToolJson *json, const char *key, const char *value)
{
	member(json, key);
	if (value == NULL)
		g_string_append(json->out, "null");
	else
		escape(json->out, value);
}

void
tool_json_int(ToolJson *json, const char *key, gint64 value)
{
	member(json, key);
	g_string_append_printf(json->out, "%" G_GINT64_FORMAT, value);
}

void
tool_json_bool(ToolJson *json, const char *key, gboolean value)
{
	member(json, key);
	g_string_append(json->out, value ? "true" : "false");
}

void
tool_json_null(ToolJson *json, const char *key)
{
	member(json, key);
	g_string_append(json->out, "null");
}

void
tool_print_findings(const GPtrArray *findings, guint n_fields, const char *const *names,
		    const int *widths, gboolean json)
{
	ToolJson out;
	g_autofree char *text = NULL;

	if (!json) {
		for (guint i = 0; i < findings->len; i++) {
			g_auto(GStrv) parts = g_strsplit(findings->pdata[i], "\t", (gint)n_fields);

			for (guint f = 0; f < n_fields && parts[f] != NULL; f++) {
				if (f + 1 < n_fields)
					printf("%-*s ", widths[f], parts[f]);
				else
					printf("%s\n", parts[f]);
			}
		}
		return;
	}
	tool_json_init(&out);
	tool_json_begin_array(&out, NULL);
	for (guint i = 0; i < findings->len; i++) {
		g_auto(GStrv) parts = g_strsplit(findings->pdata[i], "\t", (gint)n_fields);

		tool_json_begin_object(&out, NULL);
		for (guint f = 0; f < n_fields && parts[f] != NULL; f++)
			tool_json_string(&out, names[f], parts[f]);
		tool_json_end_object(&out);
	}
	tool_json_end_array(&out);
	text = tool_json_finish(&out);
	fputs(text, stdout);
}
