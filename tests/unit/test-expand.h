/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-expand: the tables' shorthand for long inputs, shared by the unit
 * tests. "{c*N}" in a pattern is N copies of the octet c; everything else
 * is copied, so limit rows ("{x*64}.test") stay readable.
 */
#pragma once

#include <glib.h>

/* (transfer full) the expanded pattern; its length into *len_out (may be NULL) */
static inline char *
test_expand(const char *pattern, gsize *len_out)
{
	GString *out = g_string_new(NULL);

	for (const char *p = pattern; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] != '\0' && p[2] == '*' && g_ascii_isdigit(p[3])) {
			char *end = NULL;
			guint64 count = g_ascii_strtoull(p + 3, &end, 10);

			if (*end == '}') {
				for (guint64 i = 0; i < count; i++)
					g_string_append_c(out, p[1]);
				p = end;
				continue;
			}
		}
		g_string_append_c(out, *p);
	}
	if (len_out != NULL)
		*len_out = out->len;
	return g_string_free(out, FALSE);
}
