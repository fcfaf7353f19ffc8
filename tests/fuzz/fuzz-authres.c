/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc_authres_parse() and pc_authres_is_ours():
 * Authentication-Results values on raw bytes, as any sender can write them.
 *
 * Besides crashes and sanitizer reports it checks: errors are short
 * printable text; a parsed header keeps its limits; when the strict parse
 * names an authserv-id, is_ours() agrees with it; and writing the parsed
 * header back with the builder gives a header that parses to the same
 * methods, results and property names, and is ours exactly when the
 * original was (by its strict id).
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_error(const GError *error)
{
	gsize len;

	g_assert_nonnull(error);
	g_assert_true(error->domain == PC_AUTHRES_ERROR);
	len = strlen(error->message);
	g_assert_cmpuint(len, <=, 96);
	for (gsize i = 0; i < len; i++)
		g_assert_true(g_ascii_isprint(error->message[i]));
}

static void
fuzz_check_rebuilt(const PcAuthRes *parsed)
{
	g_autoptr(PcAuthRes) built = pc_authres_new(parsed->authserv_id);
	g_autoptr(PcAuthRes) again = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;

	for (guint i = 0; i < parsed->results->len; i++) {
		const PcAuthResResult *in = parsed->results->pdata[i];
		PcAuthResResult *out = pc_authres_add_result(built, in->method, in->result);

		if (in->reason != NULL)
			pc_authres_set_reason(out, in->reason);
		for (guint j = 0; j < in->properties->len; j++) {
			const PcAuthResProperty *p = in->properties->pdata[j];

			pc_authres_add_property(out, p->ptype, p->property, p->value);
		}
	}
	text = pc_authres_format(built);
	g_assert_null(strchr(text, '\r'));
	if (!pc_authres_parse(text, strlen(text), &again, &error))
		g_error("rebuilt header does not parse: %s", error->message);
	g_assert_cmpuint(again->results->len, ==, parsed->results->len);
	for (guint i = 0; i < parsed->results->len; i++) {
		const PcAuthResResult *a = parsed->results->pdata[i];
		const PcAuthResResult *b = again->results->pdata[i];

		g_assert_cmpstr(a->method, ==, b->method);
		g_assert_cmpstr(a->result, ==, b->result);
		g_assert_cmpuint(a->properties->len, ==, b->properties->len);
		for (guint j = 0; j < a->properties->len; j++) {
			const PcAuthResProperty *pa = a->properties->pdata[j];
			const PcAuthResProperty *pb = b->properties->pdata[j];

			g_assert_cmpstr(pa->ptype, ==, pb->ptype);
			g_assert_cmpstr(pa->property, ==, pb->property);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(PcAuthRes) parsed = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = pc_authres_authserv_id((const char *)data, size);

	if (!pc_authres_parse((const char *)data, size, &parsed, &error)) {
		fuzz_check_error(error);
		return 0;
	}
	g_assert_nonnull(id);
	g_assert_cmpstr(id, ==, parsed->authserv_id);
	g_assert_cmpuint(parsed->results->len, <=, PC_AUTHRES_MAX_RESULTS);
	{
		const char *ids[] = {parsed->authserv_id, NULL};

		g_assert_true(pc_authres_is_ours((const char *)data, size, ids));
	}
	for (guint i = 0; i < parsed->results->len; i++) {
		const PcAuthResResult *entry = parsed->results->pdata[i];

		g_assert_cmpuint(entry->properties->len, <=, PC_AUTHRES_MAX_PROPERTIES);
	}
	/* the builder takes only printable ids; a parsed one may hold anything */
	if (parsed->authserv_id[0] != '\0')
		fuzz_check_rebuilt(parsed);
	return 0;
}
