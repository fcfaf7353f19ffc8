/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for portcullis-verify's DKIM tag-list reader
 * (milters/verify/verify-dkim-tags.c): DKIM-Signature values and key
 * records are whatever a sender or a zone owner wrote.
 *
 * Byte 0 picks the reader (0 the tag-list alone, 1 a DKIM-Signature, 2 a key
 * record); the rest is the text. Besides crashes and sanitizer reports it
 * checks: at most VERIFY_DKIM_MAX_TAGS tags, each name RFC 6376 3.2's
 * grammar, no name twice, values without CR, LF, tabs, or blanks at the
 * ends or doubled; a list read without error, written back as
 * "name=value;", reads back to the same tags; a signature without error has
 * a usable d= and s=, a known algorithm and a base64 b=; a revoked key was
 * read past its version and p=.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "verify-dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_tag(const VerifyDkimTag *tag)
{
	gsize len = strlen(tag->value);

	g_assert_true(g_ascii_isalpha(tag->name[0]));
	for (const char *p = tag->name; *p != '\0'; p++)
		g_assert_true(g_ascii_isalnum(*p) || *p == '_');
	g_assert_null(strpbrk(tag->value, "\r\n\t"));
	g_assert_null(strstr(tag->value, "  "));
	if (len > 0) {
		g_assert_cmpint(tag->value[0], !=, ' ');
		g_assert_cmpint(tag->value[len - 1], !=, ' ');
	}
}

static void
fuzz_check_list(const VerifyDkimTagList *list)
{
	g_autoptr(GString) again = g_string_new(NULL);
	g_autoptr(VerifyDkimTagList) reread = NULL;

	g_assert_cmpuint(list->tags->len, <=, VERIFY_DKIM_MAX_TAGS);
	for (guint i = 0; i < list->tags->len; i++) {
		const VerifyDkimTag *tag = g_ptr_array_index(list->tags, i);

		fuzz_check_tag(tag);
		g_assert_true(verify_dkim_tags_get(list, tag->name) == tag->value);
		g_string_append_printf(again, "%s=%s;", tag->name, tag->value);
	}
	if (list->error != NULL)
		return;
	reread = verify_dkim_tags_parse(again->str, again->len);
	g_assert_null(reread->error);
	g_assert_cmpuint(reread->tags->len, ==, list->tags->len);
	for (guint i = 0; i < list->tags->len; i++) {
		const VerifyDkimTag *a = g_ptr_array_index(list->tags, i);
		const VerifyDkimTag *b = g_ptr_array_index(reread->tags, i);

		g_assert_cmpstr(a->name, ==, b->name);
		g_assert_cmpstr(a->value, ==, b->value);
	}
}

static void
fuzz_check_signature(const VerifyDkimSigTags *tags)
{
	if (tags->error != NULL)
		return;
	g_assert_true(verify_dkim_name_is_valid(tags->domain, 2));
	g_assert_true(verify_dkim_name_is_valid(tags->selector, 1));
	g_assert_cmpint(tags->alg, !=, VERIFY_DKIM_ALG_UNKNOWN);
	g_assert_nonnull(tags->b);
	g_assert_cmpuint(strlen(tags->b) % 4, ==, 0);
	g_assert_null(strchr(tags->b, ' '));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	gsize len;

	if (size == 0 || size > 64 * 1024)
		return 0;
	len = size - 1;
	switch (data[0] % 3) {
	case 0: {
		g_autoptr(VerifyDkimTagList) list = verify_dkim_tags_parse(text, len);

		fuzz_check_list(list);
		break;
	}
	case 1: {
		g_autoptr(VerifyDkimSigTags) tags = verify_dkim_signature_parse(text, len);

		fuzz_check_signature(tags);
		break;
	}
	default: {
		VerifyDkimKey key;

		verify_dkim_key_parse(text, len, &key);
		/* a revoked key is read to the end: only s= can still be wrong */
		if (key.revoked)
			g_assert_true(key.error == NULL ||
				      strcmp(key.error, "key not for email (s=)") == 0);
		g_assert_cmpint(key.type, <=, VERIFY_DKIM_KEY_OTHER);
		break;
	}
	}
	return 0;
}
