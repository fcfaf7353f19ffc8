/* SPDX-License-Identifier: BSD-2-Clause */
/* verify-dmarc-record: the DMARC record reader; see verify-dmarc-record.h */
#include "verify-dmarc-record.h"

#include <string.h>

G_DEFINE_QUARK(verify - dmarc - record - error - quark, verify_dmarc_record_error)

/* longest rua=/ruf= URI kept */
#define MAX_URI 512

/* the tags read, for the twice-given check */
typedef enum {
	TAG_P,
	TAG_SP,
	TAG_NP,
	TAG_ADKIM,
	TAG_ASPF,
	TAG_PCT,
	TAG_T,
	TAG_PSD,
	TAG_RUA,
	TAG_RUF,
	TAG_FO,
	TAG_UNKNOWN,
} Tag;

static const char *const tag_names[TAG_UNKNOWN] = {
    [TAG_P] = "p",	 [TAG_SP] = "sp",   [TAG_NP] = "np", [TAG_ADKIM] = "adkim",
    [TAG_ASPF] = "aspf", [TAG_PCT] = "pct", [TAG_T] = "t",   [TAG_PSD] = "psd",
    [TAG_RUA] = "rua",	 [TAG_RUF] = "ruf", [TAG_FO] = "fo",
};

const char *
verify_dmarc_policy_to_string(VerifyDmarcPolicy policy)
{
	switch (policy) {
	case VERIFY_DMARC_POLICY_NONE:
		return "none";
	case VERIFY_DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case VERIFY_DMARC_POLICY_REJECT:
		return "reject";
	case VERIFY_DMARC_POLICY_ABSENT:
		break;
	}
	return "";
}

static void
uri_free(VerifyDmarcUri *uri)
{
	g_free(uri->uri);
	g_free(uri);
}

void
verify_dmarc_record_free(VerifyDmarcRecord *record)
{
	if (record == NULL)
		return;
	g_ptr_array_unref(record->rua);
	g_ptr_array_unref(record->ruf);
	g_free(record->fo);
	g_free(record->ignored);
	g_free(record);
}

static gboolean
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* a view [start, end) with its blanks trimmed */
typedef struct {
	const char *start;
	const char *end;
} Span;

static Span
trim(const char *start, const char *end)
{
	while (start < end && is_blank(*start))
		start++;
	while (end > start && is_blank(end[-1]))
		end--;
	return (Span){start, end};
}

static gsize
span_len(Span span)
{
	return (gsize)(span.end - span.start);
}

static gboolean
span_is(Span span, const char *word)
{
	return span_len(span) == strlen(word) &&
	       g_ascii_strncasecmp(span.start, word, span_len(span)) == 0;
}

static Tag
tag_of(Span name)
{
	for (Tag tag = TAG_P; tag < TAG_UNKNOWN; tag++) {
		if (span_is(name, tag_names[tag]))
			return tag;
	}
	return TAG_UNKNOWN;
}

static VerifyDmarcPolicy
policy_of(Span value)
{
	if (span_is(value, "none"))
		return VERIFY_DMARC_POLICY_NONE;
	if (span_is(value, "quarantine"))
		return VERIFY_DMARC_POLICY_QUARANTINE;
	if (span_is(value, "reject"))
		return VERIFY_DMARC_POLICY_REJECT;
	return VERIFY_DMARC_POLICY_ABSENT;
}

/* "r" or "s"; FALSE for anything else */
static gboolean
alignment_of(Span value, gboolean *strict_out)
{
	if (span_is(value, "r") || span_is(value, "s")) {
		*strict_out = span_is(value, "s");
		return TRUE;
	}
	return FALSE;
}

static gboolean
pct_of(Span value, guint *pct_out)
{
	guint pct = 0;

	if (span_len(value) == 0 || span_len(value) > 3)
		return FALSE;
	for (const char *p = value.start; p < value.end; p++) {
		if (!g_ascii_isdigit(*p))
			return FALSE;
		pct = pct * 10 + (guint)(*p - '0');
	}
	if (pct > 100)
		return FALSE;
	*pct_out = pct;
	return TRUE;
}

/* fo: 0, 1, d, s separated by ':' */
static gboolean
fo_valid(Span value)
{
	gboolean want_option = TRUE;

	if (span_len(value) == 0)
		return FALSE;
	for (const char *p = value.start; p < value.end; p++) {
		char c = g_ascii_tolower(*p);

		if (want_option && (c == '0' || c == '1' || c == 'd' || c == 's'))
			want_option = FALSE;
		else if (!want_option && c == ':')
			want_option = TRUE;
		else
			return FALSE;
	}
	return !want_option;
}

/* !SIZE[kmgt] at the end of a URI: the limit in bytes; FALSE when malformed */
static gboolean
size_of(Span size, guint64 *bytes_out)
{
	guint64 bytes = 0;
	guint shift = 0;
	const char *end = size.end;

	if (span_len(size) == 0)
		return FALSE;
	switch (g_ascii_tolower(end[-1])) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift != 0)
		end--;
	if (end == size.start || end - size.start > 12)
		return FALSE;
	for (const char *p = size.start; p < end; p++) {
		if (!g_ascii_isdigit(*p))
			return FALSE;
		bytes = bytes * 10 + (guint64)(*p - '0');
	}
	*bytes_out = bytes << shift;
	return TRUE;
}

/* rua=/ruf=: the URIs kept; FALSE when none of them could be read */
static gboolean
uris_of(Span value, GPtrArray *uris, gboolean *dropped_out)
{
	const char *at = value.start;

	while (at <= value.end) {
		const char *comma = memchr(at, ',', (gsize)(value.end - at));
		const char *stop = comma != NULL ? comma : value.end;
		Span item = trim(at, stop);
		const char *bang = memchr(item.start, '!', span_len(item));
		Span uri = {item.start, bang != NULL ? bang : item.end};
		guint64 bytes = 0;

		at = stop + 1;
		if (span_len(item) == 0)
			continue;
		if (span_len(uri) == 0 || span_len(uri) > MAX_URI ||
		    uris->len >= VERIFY_DMARC_MAX_URIS ||
		    (bang != NULL && !size_of((Span){bang + 1, item.end}, &bytes))) {
			*dropped_out = TRUE;
			continue;
		}
		{
			VerifyDmarcUri *entry = g_new0(VerifyDmarcUri, 1);

			entry->uri = g_strndup(uri.start, span_len(uri));
			entry->max_bytes = bytes;
			entry->mailto = g_ascii_strncasecmp(entry->uri, "mailto:", 7) == 0 &&
					strchr(entry->uri + 7, '@') != NULL;
			g_ptr_array_add(uris, entry);
		}
	}
	return uris->len > 0;
}

static void
note_ignored(GString *ignored, Span name)
{
	if (ignored->len > 0)
		g_string_append_c(ignored, ' ');
	g_string_append_len(ignored, name.start, (gssize)MIN(span_len(name), 32));
}

/* one tag into record; FALSE when the value is not valid for it */
static gboolean
read_tag(VerifyDmarcRecord *record, Tag tag, Span value, gboolean *dropped_out)
{
	switch (tag) {
	case TAG_P:
		record->p = policy_of(value);
		record->p_valid = record->p != VERIFY_DMARC_POLICY_ABSENT;
		if (!record->p_valid)
			record->p = VERIFY_DMARC_POLICY_NONE;
		return record->p_valid;
	case TAG_SP:
		record->sp = policy_of(value);
		return record->sp != VERIFY_DMARC_POLICY_ABSENT;
	case TAG_NP:
		record->np = policy_of(value);
		return record->np != VERIFY_DMARC_POLICY_ABSENT;
	case TAG_ADKIM:
		return alignment_of(value, &record->adkim_strict);
	case TAG_ASPF:
		return alignment_of(value, &record->aspf_strict);
	case TAG_PCT:
		record->pct_present = pct_of(value, &record->pct);
		return record->pct_present;
	case TAG_T:
		if (span_is(value, "y") || span_is(value, "n")) {
			record->testing = span_is(value, "y");
			return TRUE;
		}
		return FALSE;
	case TAG_PSD:
		if (span_is(value, "y") || span_is(value, "n") || span_is(value, "u")) {
			record->psd = g_ascii_tolower(*value.start);
			return TRUE;
		}
		return FALSE;
	case TAG_RUA:
		return uris_of(value, record->rua, dropped_out);
	case TAG_RUF:
		return uris_of(value, record->ruf, dropped_out);
	case TAG_FO:
		if (!fo_valid(value))
			return FALSE;
		record->fo = g_strndup(value.start, span_len(value));
		return TRUE;
	case TAG_UNKNOWN:
		break;
	}
	return TRUE;
}

VerifyDmarcRecord *
verify_dmarc_record_parse(const char *text, gsize len, GError **error)
{
	g_autoptr(VerifyDmarcRecord) record = NULL;
	g_autoptr(GString) ignored = g_string_new(NULL);
	gboolean seen[TAG_UNKNOWN] = {FALSE};
	const char *end = text + len;
	const char *at = text;

	g_return_val_if_fail(text != NULL || len == 0, NULL);
	{
		/* v=DMARC1, exactly so, first: otherwise not a DMARC record */
		const char *semicolon = memchr(text, ';', len);
		Span segment = trim(text, semicolon != NULL ? semicolon : end);
		const char *equals = memchr(segment.start, '=', span_len(segment));
		Span value = equals != NULL ? trim(equals + 1, segment.end) : segment;

		if (equals == NULL || !span_is(trim(segment.start, equals), "v") ||
		    span_len(value) != 6 || memcmp(value.start, "DMARC1", 6) != 0) {
			g_set_error_literal(error, VERIFY_DMARC_RECORD_ERROR,
					    VERIFY_DMARC_RECORD_ERROR_NOT_DMARC,
					    "not a DMARC record (no v=DMARC1 first)");
			return NULL;
		}
		at = semicolon != NULL ? semicolon + 1 : end + 1;
	}
	if (len > VERIFY_DMARC_RECORD_MAX) {
		g_set_error(error, VERIFY_DMARC_RECORD_ERROR, VERIFY_DMARC_RECORD_ERROR_INVALID,
			    "record of %" G_GSIZE_FORMAT " bytes, over %d", len,
			    VERIFY_DMARC_RECORD_MAX);
		return NULL;
	}
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)text[i];

		/* a NUL or a control byte: no reading of it is safe */
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			g_set_error(error, VERIFY_DMARC_RECORD_ERROR,
				    VERIFY_DMARC_RECORD_ERROR_INVALID,
				    "a control character at offset %" G_GSIZE_FORMAT, i);
			return NULL;
		}
	}
	record = g_new0(VerifyDmarcRecord, 1);
	record->p = VERIFY_DMARC_POLICY_NONE;
	record->pct = 100;
	record->psd = 'u';
	record->rua = g_ptr_array_new_with_free_func((GDestroyNotify)uri_free);
	record->ruf = g_ptr_array_new_with_free_func((GDestroyNotify)uri_free);
	while (at <= end) {
		const char *semicolon = memchr(at, ';', (gsize)(end - at));
		const char *stop = semicolon != NULL ? semicolon : end;
		Span segment = trim(at, stop);
		const char *equals = memchr(segment.start, '=', span_len(segment));
		Span name = trim(segment.start, equals != NULL ? equals : segment.end);
		Span value = equals != NULL ? trim(equals + 1, segment.end) : (Span){stop, stop};
		gboolean dropped = FALSE;
		Tag tag;

		at = stop + 1;
		if (span_len(segment) == 0)
			continue;
		if (equals == NULL || span_len(name) == 0) {
			/* not name=value: a malformed tag is ignored like an unknown one */
			note_ignored(ignored, segment);
			continue;
		}
		tag = tag_of(name);
		if (tag == TAG_UNKNOWN)
			continue;
		if (seen[tag]) {
			g_set_error(error, VERIFY_DMARC_RECORD_ERROR,
				    VERIFY_DMARC_RECORD_ERROR_INVALID, "tag %s given twice",
				    tag_names[tag]);
			return NULL;
		}
		seen[tag] = TRUE;
		if (!read_tag(record, tag, value, &dropped) || dropped)
			note_ignored(ignored, name);
	}
	if (ignored->len > 0)
		record->ignored = g_strdup(ignored->str);
	record->policy_valid = record->p_valid &&
			       (!seen[TAG_SP] || record->sp != VERIFY_DMARC_POLICY_ABSENT) &&
			       (!seen[TAG_NP] || record->np != VERIFY_DMARC_POLICY_ABSENT);
	return g_steal_pointer(&record);
}
