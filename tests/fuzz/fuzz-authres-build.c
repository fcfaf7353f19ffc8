/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the Authentication-Results builder: the input is cut
 * at NUL bytes into an authserv-id and values (what a client controls: its
 * envelope sender, HELO name, a signature's d= and s=), set as reasons and
 * properties of entries whose methods and results come from fixed lists.
 *
 * Besides crashes and sanitizer reports it checks that the header never
 * holds CR, a NUL or a bare LF that is not folding, that it parses, that it
 * has exactly the entries and properties built (no value adds one), and
 * that each value that was printable UTF-8 within the limit comes back
 * exactly.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"spf", "dkim", "dmarc", "iprev"};
static const char *const results[] = {"pass", "fail", "none", "temperror", "permerror"};
static const char *const properties[][2] = {
    {"smtp", "mailfrom"}, {"smtp", "helo"}, {"header", "d"}, {"header", "s"}, {"header", "b"},
};

static gboolean
value_survives(const char *value)
{
	if (!g_utf8_validate(value, -1, NULL) || strlen(value) > PC_AUTHRES_MAX_VALUE)
		return FALSE;
	for (const char *p = value; *p != '\0'; p = g_utf8_next_char(p)) {
		if ((guchar)*p < 0x20 || *p == 0x7f || g_utf8_get_char(p) == 0xfffd)
			return FALSE;
	}
	return TRUE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_strndup((const char *)data, size);
	g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(PcAuthRes) built = NULL;
	g_autoptr(PcAuthRes) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *header = NULL;
	gsize pos = 0;

	if (size > 8192)
		return 0;
	/* g_strndup stops at the first NUL: split the raw bytes instead */
	while (pos <= size) {
		const uint8_t *end = memchr(data + pos, '\0', size - pos);
		gsize len = end != NULL ? (gsize)(end - (data + pos)) : size - pos;

		g_ptr_array_add(fields, g_strndup((const char *)data + pos, len));
		pos += len + 1;
	}
	(void)text;
	built = pc_authres_new(fields->pdata[0]);
	/* a reader takes at most PC_AUTHRES_MAX_RESULTS entries; so does the builder */
	for (guint i = 1; i < fields->len && i <= PC_AUTHRES_MAX_RESULTS; i++) {
		const char *value = fields->pdata[i];
		guint pick = (guint)strlen(value) + i;
		PcAuthResResult *entry =
		    pc_authres_add_result(built, methods[pick % G_N_ELEMENTS(methods)],
					  results[pick % G_N_ELEMENTS(results)]);

		if (i % 2 == 0)
			pc_authres_set_reason(entry, value);
		pc_authres_add_property(entry, properties[pick % G_N_ELEMENTS(properties)][0],
					properties[pick % G_N_ELEMENTS(properties)][1], value);
	}
	header = pc_authres_format(built);
	g_assert_null(strchr(header, '\r'));
	for (const char *lf = strchr(header, '\n'); lf != NULL; lf = strchr(lf + 1, '\n'))
		g_assert_true(lf[1] == '\t');
	if (!pc_authres_parse(header, strlen(header), &back, &error)) {
		/* only an id with nothing printable in it can make no header */
		g_assert_true(strlen(header) > 0);
		g_error("built header does not parse: %s", error->message);
	}
	g_assert_cmpuint(back->results->len, ==, built->results->len);
	for (guint i = 0; i < built->results->len; i++) {
		const PcAuthResResult *a = built->results->pdata[i];
		const PcAuthResResult *b = back->results->pdata[i];
		const PcAuthResProperty *pa = a->properties->pdata[0];
		const PcAuthResProperty *pb;

		g_assert_cmpuint(b->properties->len, ==, 1);
		pb = b->properties->pdata[0];
		g_assert_cmpstr(a->method, ==, b->method);
		g_assert_cmpstr(pa->property, ==, pb->property);
		if (value_survives(pa->value))
			g_assert_cmpstr(pa->value, ==, pb->value);
		if (a->reason != NULL && value_survives(a->reason))
			g_assert_cmpstr(a->reason, ==, b->reason);
	}
	return 0;
}
