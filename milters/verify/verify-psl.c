/* SPDX-License-Identifier: BSD-2-Clause */
/* verify-psl: the public suffix list and the organisational domain; see verify-psl.h */
#include "verify-psl.h"

#include <string.h>

typedef enum {
	RULE_NORMAL = 1,
	RULE_WILDCARD = 2,  /* "*.ck": keyed by "ck" */
	RULE_EXCEPTION = 4, /* "!www.ck": keyed by "www.ck" */
} RuleKind;

struct _VerifyPsl {
	/* rule name (ASCII, lower case) -> RuleKind bits */
	GHashTable *rules;
	guint n_rules;
};

void
verify_psl_free(VerifyPsl *psl)
{
	if (psl == NULL)
		return;
	g_hash_table_unref(psl->rules);
	g_free(psl);
}

guint
verify_psl_get_n_rules(const VerifyPsl *psl)
{
	return psl->n_rules;
}

/* a rule's name in ASCII lower case; NULL when it is not a name */
static char *
rule_ascii(const char *text)
{
	g_autofree char *ascii = g_hostname_to_ascii(text);

	if (ascii == NULL || ascii[0] == '\0' || ascii[0] == '.' || strstr(ascii, "..") != NULL ||
	    g_str_has_suffix(ascii, "."))
		return NULL;
	return g_ascii_strdown(ascii, -1);
}

static void
add_rule(VerifyPsl *psl, char *key, RuleKind kind)
{
	guint bits = GPOINTER_TO_UINT(g_hash_table_lookup(psl->rules, key));

	g_hash_table_replace(psl->rules, key, GUINT_TO_POINTER(bits | kind));
	psl->n_rules++;
}

VerifyPsl *
verify_psl_new_from_data(const char *data, gsize len, const char *name, GError **error)
{
	g_autoptr(VerifyPsl) psl = g_new0(VerifyPsl, 1);
	const char *at = data;
	const char *end = data + len;
	guint line_number = 0;

	psl->rules = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	while (at < end) {
		const char *newline = memchr(at, '\n', (gsize)(end - at));
		const char *stop = newline != NULL ? newline : end;
		const char *word_end = at;
		g_autofree char *rule = NULL;
		char *key;
		RuleKind kind = RULE_NORMAL;
		const char *text;

		line_number++;
		/* a rule is the line's first word; comments start with "//" */
		while (word_end < stop && *word_end != ' ' && *word_end != '\t' &&
		       *word_end != '\r')
			word_end++;
		rule = g_strndup(at, (gsize)(word_end - at));
		at = stop + 1;
		if (rule[0] == '\0' || g_str_has_prefix(rule, "//"))
			continue;
		if (strlen(rule) > VERIFY_PSL_MAX_RULE || psl->n_rules >= VERIFY_PSL_MAX_RULES) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s:%u: a rule over %d bytes, or more than %d rules", name,
				    line_number, VERIFY_PSL_MAX_RULE, VERIFY_PSL_MAX_RULES);
			return NULL;
		}
		text = rule;
		if (text[0] == '!') {
			kind = RULE_EXCEPTION;
			text++;
		} else if (g_str_has_prefix(text, "*.")) {
			kind = RULE_WILDCARD;
			text += 2;
		}
		key = rule_ascii(text);
		if (key == NULL || strchr(key, '*') != NULL || strchr(key, '!') != NULL) {
			g_free(key);
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s:%u: '%s' is not a public suffix rule", name, line_number,
				    g_utf8_validate(rule, -1, NULL) ? rule : "(not UTF-8)");
			return NULL;
		}
		add_rule(psl, key, kind);
	}
	if (psl->n_rules == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no rules", name);
		return NULL;
	}
	return g_steal_pointer(&psl);
}

VerifyPsl *
verify_psl_load(const char *path, GError **error)
{
	g_autofree char *contents = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &contents, &len, error))
		return NULL;
	return verify_psl_new_from_data(contents, len, path, error);
}

static guint
rule_bits(const VerifyPsl *psl, const char *name)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(psl->rules, name));
}

char *
verify_psl_org_domain(const VerifyPsl *psl, const char *domain)
{
	g_autofree char *name = NULL;
	g_auto(GStrv) labels = NULL;
	guint n;
	/* the public suffix: how many labels from the right */
	guint suffix = 1;

	g_return_val_if_fail(psl != NULL && domain != NULL, NULL);
	if (strlen(domain) > 254)
		return NULL;
	name = g_ascii_strdown(domain, -1);
	if (g_str_has_suffix(name, "."))
		name[strlen(name) - 1] = '\0';
	if (name[0] == '\0' || name[0] == '.' || strstr(name, "..") != NULL || strlen(name) > 253)
		return NULL;
	labels = g_strsplit(name, ".", -1);
	n = g_strv_length(labels);
	/* each suffix of the name, longest first: labels[i..n) */
	for (guint i = 0; i < n; i++) {
		const char *tail = name;
		guint count = n - i;
		guint bits;

		for (guint j = 0; j < i; j++)
			tail += strlen(labels[j]) + 1;
		bits = rule_bits(psl, tail);
		if ((bits & RULE_EXCEPTION) != 0) {
			/* an exception wins over every other rule, less its leftmost label */
			suffix = count - 1;
			break;
		}
		if ((bits & RULE_NORMAL) != 0 && count > suffix)
			suffix = count;
		/* "*.P" matches any one label in front of P: here, labels[i] before tail's rest */
		if (i + 1 < n &&
		    (rule_bits(psl, tail + strlen(labels[i]) + 1) & RULE_WILDCARD) != 0 &&
		    count > suffix)
			suffix = count;
	}
	/* a public suffix itself is its own organisational domain */
	if (suffix >= n)
		return g_steal_pointer(&name);
	{
		const char *org = name;

		for (guint j = 0; j < n - suffix - 1; j++)
			org += strlen(labels[j]) + 1;
		return g_strdup(org);
	}
}
