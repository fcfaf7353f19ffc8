/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dkim-tags: our own reading of DKIM tag-lists (RFC 6376 3.2), of
 * DKIM-Signature values (3.5) and of key records (3.6.1). See verify-dkim.h.
 *
 * libopendkim reads them too, but leniently: a tag given twice keeps the
 * last value (RFC 6376 3.2 makes the whole list invalid), base64 skips
 * characters outside the alphabet (so a mangled p= or b= may still decode),
 * and a key record's v= may come anywhere. What is read here decides those
 * cases, and gives the tags of a signature that libopendkim could not read,
 * so that it is still reported. Bounded by VERIFY_DKIM_MAX_TAGS and by the
 * length of the text; fuzzed (tests/fuzz/fuzz-dkim-tags.c).
 */
#include <string.h>

#include "verify-dkim.h"

static void
tag_free(VerifyDkimTag *tag)
{
	g_free(tag->name);
	g_free(tag->value);
	g_free(tag);
}

void
verify_dkim_tag_list_free(VerifyDkimTagList *list)
{
	if (list == NULL)
		return;
	g_ptr_array_unref(list->tags);
	g_free(list);
}

/* FWS as it reaches us: blanks, and the CR and LF of folded lines */
static gboolean
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* VALCHAR: %x21-3A / %x3C-7E */
static gboolean
is_valchar(char c)
{
	guchar u = (guchar)c;

	return (u >= 0x21 && u <= 0x3a) || (u >= 0x3c && u <= 0x7e);
}

static gsize
skip_fws(const char *text, gsize end, gsize pos)
{
	while (pos < end && is_fws(text[pos]))
		pos++;
	return pos;
}

static void
set_error(VerifyDkimTagList *list, const char *error)
{
	if (list->error == NULL)
		list->error = error;
}

/*
 * the value between start and end, each run of FWS made one space; a
 * control byte (a NUL included: the value is a C string) becomes '?'. Such
 * a value is already an error, and is kept only to be reported
 */
static char *
value_collapse(const char *text, gsize start, gsize end)
{
	GString *value = g_string_sized_new(end - start);

	for (gsize i = start; i < end; i++) {
		guchar c = (guchar)text[i];

		if ((c < 0x20 || c == 0x7f) && !is_fws(text[i]))
			g_string_append_c(value, '?');
		else if (!is_fws(text[i]))
			g_string_append_c(value, text[i]);
		else if (value->len > 0 && value->str[value->len - 1] != ' ')
			g_string_append_c(value, ' ');
	}
	return g_string_free(value, FALSE);
}

/*
 * one tag-spec from pos to the next ';' (or the end); returns where the
 * next one starts. A broken spec is skipped, and recorded as the error
 */
static gsize
parse_tag_spec(VerifyDkimTagList *list, const char *text, gsize len, gsize pos)
{
	gsize end = pos;
	gsize name_end = pos;
	gsize value_start;
	gsize value_end;
	VerifyDkimTag *tag;

	while (end < len && text[end] != ';')
		end++;
	if (pos == end || !g_ascii_isalpha(text[pos])) {
		set_error(list, "tag-list syntax error");
		return MIN(end + 1, len);
	}
	while (name_end < end && (g_ascii_isalnum(text[name_end]) || text[name_end] == '_'))
		name_end++;
	value_start = skip_fws(text, end, name_end);
	if (value_start == end || text[value_start] != '=') {
		set_error(list, "tag-list syntax error");
		return MIN(end + 1, len);
	}
	value_start = skip_fws(text, end, value_start + 1);
	value_end = end;
	while (value_end > value_start && is_fws(text[value_end - 1]))
		value_end--;
	for (gsize i = value_start; i < value_end; i++) {
		if (!is_valchar(text[i]) && !is_fws(text[i])) {
			set_error(list, "invalid character in tag value");
			break;
		}
	}
	tag = g_new0(VerifyDkimTag, 1);
	tag->name = g_strndup(text + pos, name_end - pos);
	if (verify_dkim_tags_get(list, tag->name) != NULL) {
		set_error(list, "duplicate tag");
		tag_free(tag);
	} else if (list->tags->len >= VERIFY_DKIM_MAX_TAGS) {
		set_error(list, "too many tags");
		tag_free(tag);
	} else {
		tag->value = value_collapse(text, value_start, value_end);
		g_ptr_array_add(list->tags, tag);
	}
	return MIN(end + 1, len);
}

VerifyDkimTagList *
verify_dkim_tags_parse(const char *text, gsize len)
{
	VerifyDkimTagList *list;
	gsize pos = 0;

	g_return_val_if_fail(text != NULL || len == 0, NULL);

	list = g_new0(VerifyDkimTagList, 1);
	list->tags = g_ptr_array_new_with_free_func((GDestroyNotify)tag_free);
	for (;;) {
		pos = skip_fws(text, len, pos);
		if (pos >= len)
			break;
		pos = parse_tag_spec(list, text, len, pos);
	}
	if (list->tags->len == 0)
		set_error(list, "empty tag-list");
	return list;
}

const char *
verify_dkim_tags_get(const VerifyDkimTagList *list, const char *name)
{
	g_return_val_if_fail(list != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);

	for (guint i = 0; i < list->tags->len; i++) {
		const VerifyDkimTag *tag = g_ptr_array_index(list->tags, i);

		if (strcmp(tag->name, name) == 0)
			return tag->value;
	}
	return NULL;
}

/* (transfer full) value without any blank: b=, bh= and p= may be folded anywhere */
static char *
compact(const char *value)
{
	GString *out;

	if (value == NULL)
		return NULL;
	out = g_string_sized_new(strlen(value));
	for (const char *p = value; *p != '\0'; p++) {
		if (*p != ' ')
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* base64 (RFC 2045 6.8) as a whole: groups of four, '=' only as padding at the end */
static gboolean
is_base64(const char *value)
{
	gsize len = strlen(value);
	gsize pad = 0;

	if (len == 0 || len % 4 != 0)
		return FALSE;
	while (pad < 2 && value[len - 1 - pad] == '=')
		pad++;
	for (gsize i = 0; i < len - pad; i++) {
		if (!g_ascii_isalnum(value[i]) && value[i] != '+' && value[i] != '/')
			return FALSE;
	}
	return TRUE;
}

gboolean
verify_dkim_name_is_valid(const char *name, gsize min_labels)
{
	gsize labels = 0;
	gsize label_len = 0;
	gsize len;

	if (name == NULL)
		return FALSE;
	len = strlen(name);
	if (len == 0 || len > 253)
		return FALSE;
	for (const char *p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label_len == 0 || label_len > 63)
				return FALSE;
			labels++;
			label_len = 0;
			if (*p == '\0')
				break;
		} else if (g_ascii_isalnum(*p) || *p == '-' || *p == '_') {
			label_len++;
		} else {
			return FALSE;
		}
	}
	return labels >= min_labels;
}

/* each item of a colon-separated list (h= of both, k= h= s= t= of keys), trimmed */
static gboolean
list_contains(const char *list, const char *item, gboolean caseless)
{
	g_auto(GStrv) items = NULL;

	if (list == NULL)
		return FALSE;
	items = g_strsplit(list, ":", -1);
	for (char **p = items; *p != NULL; p++) {
		g_strstrip(*p);
		if (caseless ? g_ascii_strcasecmp(*p, item) == 0 : strcmp(*p, item) == 0)
			return TRUE;
	}
	return FALSE;
}

static VerifyDkimAlg
alg_from_name(const char *name)
{
	if (name == NULL)
		return VERIFY_DKIM_ALG_UNKNOWN;
	if (strcmp(name, "rsa-sha256") == 0)
		return VERIFY_DKIM_ALG_RSA_SHA256;
	if (strcmp(name, "ed25519-sha256") == 0)
		return VERIFY_DKIM_ALG_ED25519_SHA256;
	if (strcmp(name, "rsa-sha1") == 0)
		return VERIFY_DKIM_ALG_RSA_SHA1;
	return VERIFY_DKIM_ALG_UNKNOWN;
}

/* the tags RFC 6376 3.5 requires, each with the reason its absence gives */
static const struct {
	const char *name;
	const char *missing;
} required_signature_tags[] = {
    {"v", "signature missing required tag v="}, {"a", "signature missing required tag a="},
    {"b", "signature missing required tag b="}, {"bh", "signature missing required tag bh="},
    {"d", "signature missing required tag d="}, {"h", "signature missing required tag h="},
    {"s", "signature missing required tag s="},
};

static const char *
signature_error(const VerifyDkimTagList *list, const VerifyDkimSigTags *tags)
{
	g_autofree char *body_hash = NULL;

	if (list->error != NULL)
		return list->error;
	for (gsize i = 0; i < G_N_ELEMENTS(required_signature_tags); i++) {
		const char *value = verify_dkim_tags_get(list, required_signature_tags[i].name);

		if (value == NULL || *value == '\0')
			return required_signature_tags[i].missing;
	}
	if (strcmp(verify_dkim_tags_get(list, "v"), "1") != 0)
		return "incompatible version";
	if (tags->alg == VERIFY_DKIM_ALG_UNKNOWN)
		return "unsupported algorithm";
	if (!is_base64(tags->b))
		return "b= is not base64";
	body_hash = compact(verify_dkim_tags_get(list, "bh"));
	if (!is_base64(body_hash))
		return "bh= is not base64";
	if (!verify_dkim_name_is_valid(tags->domain, 2))
		return "d= is not a domain name";
	if (!verify_dkim_name_is_valid(tags->selector, 1))
		return "s= is not a selector";
	if (!list_contains(verify_dkim_tags_get(list, "h"), "from", TRUE))
		return "From field not signed";
	return NULL;
}

VerifyDkimSigTags *
verify_dkim_signature_parse(const char *value, gsize len)
{
	g_autoptr(VerifyDkimTagList) list = verify_dkim_tags_parse(value, len);
	VerifyDkimSigTags *tags = g_new0(VerifyDkimSigTags, 1);

	tags->domain = g_strdup(verify_dkim_tags_get(list, "d"));
	tags->selector = g_strdup(verify_dkim_tags_get(list, "s"));
	tags->identity = g_strdup(verify_dkim_tags_get(list, "i"));
	tags->algorithm = g_strdup(verify_dkim_tags_get(list, "a"));
	tags->b = compact(verify_dkim_tags_get(list, "b"));
	tags->alg = alg_from_name(tags->algorithm);
	tags->error = signature_error(list, tags);
	return tags;
}

void
verify_dkim_sig_tags_free(VerifyDkimSigTags *tags)
{
	if (tags == NULL)
		return;
	g_free(tags->domain);
	g_free(tags->selector);
	g_free(tags->identity);
	g_free(tags->algorithm);
	g_free(tags->b);
	g_free(tags);
}

/* the record's own errors, in RFC 6376 3.6.1's order */
static const char *
key_error(const VerifyDkimTagList *list, VerifyDkimKey *key)
{
	const char *version = verify_dkim_tags_get(list, "v");
	const char *services = verify_dkim_tags_get(list, "s");
	const char *data = verify_dkim_tags_get(list, "p");
	g_autofree char *public_key = NULL;

	if (list->error != NULL)
		return "key syntax error";
	if (version != NULL) {
		const VerifyDkimTag *first = g_ptr_array_index(list->tags, 0);

		if (strcmp(first->name, "v") != 0)
			return "key syntax error (v= not first)";
		if (strcmp(version, "DKIM1") != 0)
			return "incompatible key version";
	}
	if (data == NULL)
		return "key syntax error (no p=)";
	public_key = compact(data);
	if (*public_key == '\0')
		key->revoked = TRUE;
	else if (!is_base64(public_key))
		return "key syntax error (p= is not base64)";
	if (services != NULL && !list_contains(services, "*", FALSE) &&
	    !list_contains(services, "email", TRUE))
		return "key not for email (s=)";
	return NULL;
}

void
verify_dkim_key_parse(const char *text, gsize len, VerifyDkimKey *key_out)
{
	g_autoptr(VerifyDkimTagList) list = verify_dkim_tags_parse(text, len);
	const char *type = verify_dkim_tags_get(list, "k");
	const char *hashes = verify_dkim_tags_get(list, "h");
	const char *flags = verify_dkim_tags_get(list, "t");
	VerifyDkimKey key = {
	    .type = VERIFY_DKIM_KEY_RSA,
	    .sha1_allowed = TRUE,
	    .sha256_allowed = TRUE,
	};

	g_return_if_fail(key_out != NULL);

	if (type != NULL && strcmp(type, "ed25519") == 0)
		key.type = VERIFY_DKIM_KEY_ED25519;
	else if (type != NULL && strcmp(type, "rsa") != 0)
		key.type = VERIFY_DKIM_KEY_OTHER;
	if (hashes != NULL) {
		key.sha1_allowed = list_contains(hashes, "sha1", FALSE);
		key.sha256_allowed = list_contains(hashes, "sha256", FALSE);
	}
	key.strict = list_contains(flags, "s", FALSE);
	key.testing = list_contains(flags, "y", FALSE);
	key.error = key_error(list, &key);
	*key_out = key;
}
