/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-stats-parse: see tool-stats-parse.h.
 */
#include "tool-stats-parse.h"

#include <string.h>

static void
sample_free(gpointer data)
{
	ToolStatsSample *sample = data;

	g_free(sample->name);
	g_free(sample->labels);
	g_free(sample);
}

/* one line "NAME[{LABELS}] VALUE", or NULL */
static ToolStatsSample *
parse_line(const char *line, gsize len)
{
	g_autofree char *text = g_strndup(line, len);
	char *space = strrchr(text, ' ');
	char *brace;
	char *end = NULL;
	double value;
	ToolStatsSample *sample;

	if (space == NULL || space == text)
		return NULL;
	*space = '\0';
	value = g_ascii_strtod(space + 1, &end);
	if (end == space + 1 || *end != '\0')
		return NULL;
	brace = strchr(text, '{');
	if (brace != NULL && (space - 1 <= brace || space[-1] != '}'))
		return NULL;
	sample = g_new0(ToolStatsSample, 1);
	sample->value = value;
	if (brace != NULL) {
		space[-1] = '\0';
		sample->labels = g_strdup(brace + 1);
		*brace = '\0';
	} else {
		sample->labels = g_strdup("");
	}
	sample->name = g_strdup(text);
	if (sample->name[0] == '\0') {
		sample_free(sample);
		return NULL;
	}
	return sample;
}

GPtrArray *
tool_stats_parse(const char *page, gsize len)
{
	GPtrArray *samples = g_ptr_array_new_with_free_func(sample_free);
	const char *end = page + MIN(len, (gsize)TOOL_STATS_MAX_PAGE);

	for (const char *at = page; at < end;) {
		const char *newline = memchr(at, '\n', (gsize)(end - at));
		const char *stop = newline != NULL ? newline : end;
		gsize line_len = MIN((gsize)(stop - at), (gsize)TOOL_STATS_MAX_LINE);

		if (line_len > 0 && at[0] != '#') {
			ToolStatsSample *sample = parse_line(at, line_len);

			if (sample != NULL)
				g_ptr_array_add(samples, sample);
		}
		at = stop + 1;
	}
	return samples;
}

char *
tool_stats_label(const char *labels, const char *name)
{
	gsize name_len = strlen(name);

	for (const char *at = labels; at != NULL && *at != '\0';) {
		GString *value;

		while (*at == ',' || *at == ' ')
			at++;
		if (strncmp(at, name, name_len) != 0 || strncmp(at + name_len, "=\"", 2) != 0) {
			/* skip this label: its quoted value may hold commas */
			const char *quote = strstr(at, "=\"");

			if (quote == NULL)
				return NULL;
			for (at = quote + 2; *at != '\0' && *at != '"'; at++) {
				if (*at == '\\' && at[1] != '\0')
					at++;
			}
			if (*at == '"')
				at++;
			continue;
		}
		value = g_string_new(NULL);
		for (at += name_len + 2; *at != '\0' && *at != '"'; at++) {
			if (*at == '\\' && at[1] != '\0')
				at++;
			g_string_append_c(value, *at);
		}
		return g_string_free(value, FALSE);
	}
	return NULL;
}

GHashTable *
tool_stats_sum_by(const GPtrArray *samples, const char *name, const char *group_by)
{
	GHashTable *sums = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (guint i = 0; i < samples->len; i++) {
		const ToolStatsSample *sample = g_ptr_array_index(samples, i);
		g_autofree char *group = NULL;
		double *sum;

		if (strcmp(sample->name, name) != 0)
			continue;
		group = group_by != NULL ? tool_stats_label(sample->labels, group_by) : NULL;
		if (group == NULL)
			group = g_strdup("");
		sum = g_hash_table_lookup(sums, group);
		if (sum == NULL) {
			sum = g_new0(double, 1);
			g_hash_table_insert(sums, g_steal_pointer(&group), sum);
		}
		*sum += sample->value;
	}
	return sums;
}
