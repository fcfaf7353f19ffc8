/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-dkim: see tool-dkim.h.
 */
#include "tool-dkim.h"

#include <string.h>

#include "verify-dkim.h"

char *
tool_dkim_zone_record(const char *domain, const char *selector, SignAlgorithm algorithm,
		      const char *public_key)
{
	g_autofree char *value =
	    g_strdup_printf("v=DKIM1; k=%s; p=%s",
			    algorithm == SIGN_ALG_RSA_SHA256 ? "rsa" : "ed25519", public_key);
	GString *out = g_string_new(NULL);
	gsize len = strlen(value);

	g_string_append_printf(out, "%s._domainkey.%s. 3600 IN TXT (", selector, domain);
	for (gsize offset = 0; offset < len; offset += TOOL_DKIM_TXT_STRING_MAX)
		g_string_append_printf(out, "\n\t\"%.*s\"",
				       (int)MIN(TOOL_DKIM_TXT_STRING_MAX, len - offset),
				       value + offset);
	g_string_append(out, " )\n");
	return g_string_free(out, FALSE);
}

const char *
tool_dkim_check_to_string(ToolDkimCheck check)
{
	switch (check) {
	case TOOL_DKIM_MATCH:
		return "match";
	case TOOL_DKIM_MISMATCH:
		return "mismatch";
	case TOOL_DKIM_MISSING:
		return "missing";
	case TOOL_DKIM_UNUSABLE:
		return "unusable";
	case TOOL_DKIM_DNS_ERROR:
		return "dns-error";
	}
	return "?";
}

/* p= without its blanks (a tag value keeps single spaces where FWS was) */
static char *
public_key_value(const VerifyDkimTagList *tags)
{
	const char *p = verify_dkim_tags_get(tags, "p");
	GString *out;

	if (p == NULL)
		return NULL;
	out = g_string_new(NULL);
	for (; *p != '\0'; p++) {
		if (*p != ' ')
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

ToolDkimCheck
tool_dkim_compare(const char *const *records, const SignKey *key, char **why_out)
{
	gboolean rsa = sign_key_get_algorithm(key) == SIGN_ALG_RSA_SHA256;
	g_autofree char *want = sign_key_get_public(key);
	g_autoptr(VerifyDkimTagList) tags = NULL;
	g_autofree char *published = NULL;
	VerifyDkimKey record;
	gsize n = records != NULL ? g_strv_length((char **)records) : 0;

	if (n == 0) {
		*why_out = g_strdup("no DKIM key record published");
		return TOOL_DKIM_MISSING;
	}
	/* RFC 6376 3.6.2.2: several records make the key unusable */
	if (n > 1) {
		*why_out = g_strdup_printf("%zu TXT records at the name: verifiers fail on more "
					   "than one",
					   n);
		return TOOL_DKIM_UNUSABLE;
	}
	verify_dkim_key_parse(records[0], strlen(records[0]), &record);
	if (record.error != NULL) {
		*why_out = g_strdup_printf("the record is unusable: %s", record.error);
		return TOOL_DKIM_UNUSABLE;
	}
	if (record.revoked) {
		*why_out = g_strdup("the record is revoked (p= is empty)");
		return TOOL_DKIM_UNUSABLE;
	}
	if (record.type != (rsa ? VERIFY_DKIM_KEY_RSA : VERIFY_DKIM_KEY_ED25519)) {
		*why_out = g_strdup_printf("the record is not for a%s key (k=)",
					   rsa ? "n RSA" : "n Ed25519");
		return TOOL_DKIM_MISMATCH;
	}
	if (!record.sha256_allowed) {
		*why_out = g_strdup("the record's h= does not allow sha256");
		return TOOL_DKIM_UNUSABLE;
	}
	tags = verify_dkim_tags_parse(records[0], strlen(records[0]));
	published = public_key_value(tags);
	if (g_strcmp0(published, want) != 0) {
		*why_out = g_strdup("the record holds another public key");
		return TOOL_DKIM_MISMATCH;
	}
	if (rsa)
		*why_out = g_strdup_printf(
		    "the record holds this RSA key (%u bits)%s", sign_key_get_bits(key),
		    record.testing ? "; t=y: verifiers treat it as a test" : "");
	else
		*why_out =
		    g_strdup_printf("the record holds this Ed25519 key%s",
				    record.testing ? "; t=y: verifiers treat it as a test" : "");
	return TOOL_DKIM_MATCH;
}
