/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for verify-dmarc-record: what is a DMARC record at all, each tag's
 * valid and invalid values (generated per tag, in every case form), the
 * separators and blanks in every position, tags given twice, control
 * bytes, the length bound, and rua=/ruf= lists with their size limits.
 */
#include <string.h>

#include <glib.h>

#include "verify-dmarc-record.h"

static VerifyDmarcRecord *
parse(const char *text, GError **error)
{
	return verify_dmarc_record_parse(text, strlen(text), error);
}

static void
assert_not_dmarc(const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyDmarcRecord) record = parse(text, &error);

	if (record != NULL)
		g_error("'%s' read as a DMARC record", text);
	g_assert_error(error, VERIFY_DMARC_RECORD_ERROR, VERIFY_DMARC_RECORD_ERROR_NOT_DMARC);
}

static void
assert_invalid(const char *text, gsize len)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyDmarcRecord) record = verify_dmarc_record_parse(text, len, &error);

	if (record != NULL)
		g_error("'%s' read as a valid record", text);
	g_assert_error(error, VERIFY_DMARC_RECORD_ERROR, VERIFY_DMARC_RECORD_ERROR_INVALID);
}

static void
test_version(void)
{
	const char *not_dmarc[] = {
	    "",
	    ";",
	    "p=reject",
	    "p=reject; v=DMARC1",
	    "v=DMARC2; p=reject",
	    "v=dmarc1; p=reject",
	    "v=DMARC1x; p=reject",
	    "v=DMARC; p=reject",
	    "v DMARC1; p=reject",
	    "vv=DMARC1; p=reject",
	    "v=spf1 -all",
	    "x=DMARC1; v=DMARC1",
	};
	/* the v tag in every accepted form: name case, blanks around '=' and ';' */
	const char *forms[] = {
	    "v=DMARC1",	    "V=DMARC1",	 "v =DMARC1", "v= DMARC1",
	    "v\t=\tDMARC1", " v=DMARC1", "v=DMARC1 ",
	};
	const char *tails[] = {
	    "", ";", "; p=reject", ";p=reject", " ; p=reject;", ";\tp=reject\t;"};

	for (gsize i = 0; i < G_N_ELEMENTS(not_dmarc); i++)
		assert_not_dmarc(not_dmarc[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
		for (gsize j = 0; j < G_N_ELEMENTS(tails); j++) {
			g_autofree char *text = g_strconcat(forms[i], tails[j], NULL);
			g_autoptr(GError) error = NULL;
			g_autoptr(VerifyDmarcRecord) record = parse(text, &error);

			g_assert_no_error(error);
			g_assert_nonnull(record);
			g_assert_cmpint(record->p, ==,
					strstr(tails[j], "reject") != NULL
					    ? VERIFY_DMARC_POLICY_REJECT
					    : VERIFY_DMARC_POLICY_NONE);
			g_assert_cmpint(record->p_valid, ==, strstr(tails[j], "reject") != NULL);
		}
	}
}

/* p, sp and np: every policy word in three case forms, and what is not one */
static void
test_policies(void)
{
	const struct {
		const char *value;
		VerifyDmarcPolicy want;
	} values[] = {
	    {"none", VERIFY_DMARC_POLICY_NONE},
	    {"NONE", VERIFY_DMARC_POLICY_NONE},
	    {"None", VERIFY_DMARC_POLICY_NONE},
	    {"quarantine", VERIFY_DMARC_POLICY_QUARANTINE},
	    {"QUARANTINE", VERIFY_DMARC_POLICY_QUARANTINE},
	    {"Quarantine", VERIFY_DMARC_POLICY_QUARANTINE},
	    {"reject", VERIFY_DMARC_POLICY_REJECT},
	    {"REJECT", VERIFY_DMARC_POLICY_REJECT},
	    {"Reject", VERIFY_DMARC_POLICY_REJECT},
	    {"", VERIFY_DMARC_POLICY_ABSENT},
	    {"rejec", VERIFY_DMARC_POLICY_ABSENT},
	    {"rejected", VERIFY_DMARC_POLICY_ABSENT},
	    {"re ject", VERIFY_DMARC_POLICY_ABSENT},
	    {"quarantine,reject", VERIFY_DMARC_POLICY_ABSENT},
	    {"0", VERIFY_DMARC_POLICY_ABSENT},
	};
	const char *tags[] = {"p", "sp", "np"};

	for (gsize t = 0; t < G_N_ELEMENTS(tags); t++) {
		for (gsize v = 0; v < G_N_ELEMENTS(values); v++) {
			g_autofree char *text =
			    g_strdup_printf("v=DMARC1; %s=%s", tags[t], values[v].value);
			g_autoptr(GError) error = NULL;
			g_autoptr(VerifyDmarcRecord) record = parse(text, &error);
			VerifyDmarcPolicy got;

			g_assert_no_error(error);
			got = t == 0 ? record->p : t == 1 ? record->sp : record->np;
			if (t == 0) {
				/* p: absent or invalid reads as none, and says so */
				g_assert_cmpint(record->p_valid, ==,
						values[v].want != VERIFY_DMARC_POLICY_ABSENT);
				g_assert_cmpint(got, ==,
						values[v].want != VERIFY_DMARC_POLICY_ABSENT
						    ? values[v].want
						    : VERIFY_DMARC_POLICY_NONE);
			} else {
				g_assert_cmpint(got, ==, values[v].want);
				g_assert_false(record->p_valid);
			}
			/* an invalid value is named in ignored */
			g_assert_cmpint(record->ignored != NULL, ==,
					values[v].want == VERIFY_DMARC_POLICY_ABSENT);
		}
	}
}

/* policy_valid: p= a policy, and sp=, np= policies where given (RFC 9989 4.10.1) */
static void
test_policy_valid(void)
{
	const char *ps[] = {NULL, "reject", "bogus", ""};
	const char *sps[] = {NULL, "none", "bogus"};
	const char *nps[] = {NULL, "quarantine", "x"};

	for (gsize a = 0; a < G_N_ELEMENTS(ps); a++)
		for (gsize b = 0; b < G_N_ELEMENTS(sps); b++)
			for (gsize c = 0; c < G_N_ELEMENTS(nps); c++) {
				g_autoptr(GString) text = g_string_new("v=DMARC1");
				g_autoptr(GError) error = NULL;
				g_autoptr(VerifyDmarcRecord) record = NULL;
				gboolean want = a == 1 && b != 2 && c != 2;

				if (ps[a] != NULL)
					g_string_append_printf(text, "; p=%s", ps[a]);
				if (sps[b] != NULL)
					g_string_append_printf(text, "; sp=%s", sps[b]);
				if (nps[c] != NULL)
					g_string_append_printf(text, "; np=%s", nps[c]);
				record = parse(text->str, &error);
				g_assert_no_error(error);
				if (record->policy_valid != want)
					g_error("%s: policy_valid %d", text->str,
						record->policy_valid);
			}
}

static void
test_defaults(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(VerifyDmarcRecord) record = parse("v=DMARC1", &error);

	g_assert_no_error(error);
	g_assert_cmpint(record->p, ==, VERIFY_DMARC_POLICY_NONE);
	g_assert_false(record->p_valid);
	g_assert_false(record->policy_valid);
	g_assert_cmpint(record->sp, ==, VERIFY_DMARC_POLICY_ABSENT);
	g_assert_cmpint(record->np, ==, VERIFY_DMARC_POLICY_ABSENT);
	g_assert_false(record->adkim_strict);
	g_assert_false(record->aspf_strict);
	g_assert_cmpuint(record->pct, ==, 100);
	g_assert_false(record->pct_present);
	g_assert_false(record->testing);
	g_assert_cmpint(record->psd, ==, 'u');
	g_assert_cmpuint(record->rua->len, ==, 0);
	g_assert_cmpuint(record->ruf->len, ==, 0);
	g_assert_null(record->fo);
	g_assert_null(record->ignored);
}

/* the one-word tags: each value, valid or not, and what it reads as */
static void
test_small_tags(void)
{
	const struct {
		const char *tag_value;
		gboolean valid;
		/* what the record reads, as "adkim aspf pct t psd" */
		const char *want;
	} cases[] = {
	    {"adkim=s", TRUE, "s r 100 n u"},	   {"adkim=S", TRUE, "s r 100 n u"},
	    {"adkim=r", TRUE, "r r 100 n u"},	   {"adkim=x", FALSE, "r r 100 n u"},
	    {"adkim=", FALSE, "r r 100 n u"},	   {"aspf=s", TRUE, "r s 100 n u"},
	    {"aspf=strict", FALSE, "r r 100 n u"}, {"pct=0", TRUE, "r r 0 n u"},
	    {"pct=50", TRUE, "r r 50 n u"},	   {"pct=050", TRUE, "r r 50 n u"},
	    {"pct=100", TRUE, "r r 100 n u"},	   {"pct=101", FALSE, "r r 100 n u"},
	    {"pct=1000", FALSE, "r r 100 n u"},	   {"pct=-1", FALSE, "r r 100 n u"},
	    {"pct=", FALSE, "r r 100 n u"},	   {"pct=5x", FALSE, "r r 100 n u"},
	    {"t=y", TRUE, "r r 100 y u"},	   {"t=Y", TRUE, "r r 100 y u"},
	    {"t=n", TRUE, "r r 100 n u"},	   {"t=yes", FALSE, "r r 100 n u"},
	    {"psd=y", TRUE, "r r 100 n y"},	   {"psd=N", TRUE, "r r 100 n n"},
	    {"psd=u", TRUE, "r r 100 n u"},	   {"psd=x", FALSE, "r r 100 n u"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text =
		    g_strdup_printf("v=DMARC1; p=reject; %s", cases[i].tag_value);
		g_autoptr(GError) error = NULL;
		g_autoptr(VerifyDmarcRecord) record = parse(text, &error);
		g_autofree char *got = NULL;

		g_assert_no_error(error);
		got = g_strdup_printf("%c %c %u %c %c", record->adkim_strict ? 's' : 'r',
				      record->aspf_strict ? 's' : 'r', record->pct,
				      record->testing ? 'y' : 'n', record->psd);
		g_assert_cmpstr(got, ==, cases[i].want);
		g_assert_cmpint(record->ignored == NULL, ==, cases[i].valid);
		/* the policy is never lost to another tag's bad value */
		g_assert_cmpint(record->p, ==, VERIFY_DMARC_POLICY_REJECT);
	}
}

static void
test_fo(void)
{
	const struct {
		const char *value;
		gboolean valid;
	} cases[] = {
	    {"0", TRUE},       {"1", TRUE},   {"d", TRUE},     {"s", TRUE},
	    {"0:1:d:s", TRUE}, {"D:S", TRUE}, {"", FALSE},     {"2", FALSE},
	    {"0:", FALSE},     {":0", FALSE}, {"0::1", FALSE}, {"01", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *text = g_strdup_printf("v=DMARC1; fo=%s", cases[i].value);
		g_autoptr(VerifyDmarcRecord) record = parse(text, NULL);

		g_assert_nonnull(record);
		if (cases[i].valid)
			g_assert_cmpstr(record->fo, ==, cases[i].value);
		else
			g_assert_null(record->fo);
	}
}

/* every known tag given twice is an invalid record, whatever the values */
static void
test_twice(void)
{
	const char *tags[] = {"p=none",
			      "sp=none",
			      "np=none",
			      "adkim=r",
			      "aspf=r",
			      "pct=100",
			      "t=n",
			      "psd=u",
			      "rua=mailto:a@b.example",
			      "ruf=mailto:a@b.example",
			      "fo=1"};

	for (gsize i = 0; i < G_N_ELEMENTS(tags); i++) {
		g_autofree char *same = g_strdup_printf("v=DMARC1; %s; %s", tags[i], tags[i]);
		g_autofree char *upper = g_ascii_strup(tags[i], -1);
		g_autofree char *cased = g_strdup_printf("v=DMARC1; %s; %s", tags[i], upper);

		assert_invalid(same, strlen(same));
		/* the name's case does not make it another tag */
		*strchr(upper, '=') = '\0';
		g_free(cased);
		cased = g_strdup_printf("v=DMARC1; %s; %s=none", tags[i], upper);
		assert_invalid(cased, strlen(cased));
	}
	/* an unknown tag twice is ignored twice */
	{
		g_autoptr(VerifyDmarcRecord) record =
		    parse("v=DMARC1; p=reject; x=1; x=2; rf=afrf; ri=86400", NULL);

		g_assert_nonnull(record);
		g_assert_cmpint(record->p, ==, VERIFY_DMARC_POLICY_REJECT);
	}
}

static void
test_bytes(void)
{
	/* a control byte anywhere after v=DMARC1 (a NUL too) */
	const char *controls[] = {"\r", "\n", "\x01", "\x1f", "\x7f"};

	for (gsize i = 0; i < G_N_ELEMENTS(controls); i++) {
		g_autofree char *text = g_strdup_printf("v=DMARC1; p=%sreject", controls[i]);

		assert_invalid(text, strlen(text));
	}
	{
		const char text[] = "v=DMARC1; p=reject\0; p=none";

		assert_invalid(text, sizeof(text) - 1);
	}
	/* 8-bit bytes in an unknown tag's value are not an error */
	{
		g_autoptr(VerifyDmarcRecord) record = parse("v=DMARC1; p=reject; x=\xc3\xa9", NULL);

		g_assert_nonnull(record);
	}
	/* the length bound, exactly */
	for (gsize len = VERIFY_DMARC_RECORD_MAX - 1; len <= VERIFY_DMARC_RECORD_MAX + 1; len++) {
		g_autoptr(GString) text = g_string_new("v=DMARC1; p=reject; x=");
		g_autoptr(GError) error = NULL;
		g_autoptr(VerifyDmarcRecord) record = NULL;

		while (text->len < len)
			g_string_append_c(text, 'a');
		record = verify_dmarc_record_parse(text->str, text->len, &error);
		if (len <= VERIFY_DMARC_RECORD_MAX) {
			g_assert_no_error(error);
			g_assert_cmpint(record->p, ==, VERIFY_DMARC_POLICY_REJECT);
		} else {
			g_assert_error(error, VERIFY_DMARC_RECORD_ERROR,
				       VERIFY_DMARC_RECORD_ERROR_INVALID);
		}
	}
}

static void
test_malformed_segments(void)
{
	/* not name=value: ignored like an unknown tag, the rest is read */
	const char *texts[] = {
	    "v=DMARC1; oops; p=reject",
	    "v=DMARC1;; p=reject",
	    "v=DMARC1; =x; p=reject",
	    "v=DMARC1; p=reject; ;",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(VerifyDmarcRecord) record = parse(texts[i], &error);

		g_assert_no_error(error);
		g_assert_cmpint(record->p, ==, VERIFY_DMARC_POLICY_REJECT);
	}
}

static void
test_uris(void)
{
	const struct {
		const char *value;
		guint kept;
		gboolean dropped;
		const char *first; /* the first URI kept */
		guint64 first_bytes;
		gboolean first_mailto;
	} cases[] = {
	    {"mailto:dmarc@example.com", 1, FALSE, "mailto:dmarc@example.com", 0, TRUE},
	    {"MAILTO:dmarc@example.com", 1, FALSE, "MAILTO:dmarc@example.com", 0, TRUE},
	    {"mailto:d@example.com!10", 1, FALSE, "mailto:d@example.com", 10, TRUE},
	    {"mailto:d@example.com!10k", 1, FALSE, "mailto:d@example.com", 10240, TRUE},
	    {"mailto:d@example.com!10M", 1, FALSE, "mailto:d@example.com", 10485760, TRUE},
	    {"mailto:d@example.com!1g", 1, FALSE, "mailto:d@example.com", 1073741824, TRUE},
	    {"mailto:d@example.com!1t", 1, FALSE, "mailto:d@example.com", 1099511627776, TRUE},
	    {"mailto:d@example.com!10x", 0, TRUE, NULL, 0, FALSE},
	    {"mailto:d@example.com!", 0, TRUE, NULL, 0, FALSE},
	    {"mailto:d@example.com!k", 0, TRUE, NULL, 0, FALSE},
	    {"mailto:a@x.example, mailto:b@y.example", 2, FALSE, "mailto:a@x.example", 0, TRUE},
	    {"mailto:a@x.example,,mailto:b@y.example", 2, FALSE, "mailto:a@x.example", 0, TRUE},
	    {"https://reports.example/dmarc", 1, FALSE, "https://reports.example/dmarc", 0, FALSE},
	    {"mailto:no-at-sign", 1, FALSE, "mailto:no-at-sign", 0, FALSE},
	    {"!10m", 0, TRUE, NULL, 0, FALSE},
	    {"", 0, FALSE, NULL, 0, FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (int which = 0; which < 2; which++) {
			g_autofree char *text = g_strdup_printf(
			    "v=DMARC1; p=none; %s=%s", which == 0 ? "rua" : "ruf", cases[i].value);
			g_autoptr(VerifyDmarcRecord) record = parse(text, NULL);
			GPtrArray *uris;

			g_assert_nonnull(record);
			uris = which == 0 ? record->rua : record->ruf;
			g_assert_cmpuint(uris->len, ==, cases[i].kept);
			g_assert_cmpuint((which == 0 ? record->ruf : record->rua)->len, ==, 0);
			if (cases[i].kept > 0) {
				const VerifyDmarcUri *uri = g_ptr_array_index(uris, 0);

				g_assert_cmpstr(uri->uri, ==, cases[i].first);
				g_assert_cmpuint(uri->max_bytes, ==, cases[i].first_bytes);
				g_assert_cmpint(uri->mailto, ==, cases[i].first_mailto);
			}
			if (cases[i].dropped || cases[i].kept == 0)
				g_assert_nonnull(record->ignored);
		}
	}
	/* more than VERIFY_DMARC_MAX_URIS: the first ones are kept, the rest noted */
	{
		g_autoptr(GString) text = g_string_new("v=DMARC1; rua=");
		g_autoptr(VerifyDmarcRecord) record = NULL;

		for (int i = 0; i < VERIFY_DMARC_MAX_URIS + 3; i++)
			g_string_append_printf(text, "%smailto:r%d@example.com", i > 0 ? "," : "",
					       i);
		record = parse(text->str, NULL);
		g_assert_cmpuint(record->rua->len, ==, VERIFY_DMARC_MAX_URIS);
		g_assert_cmpstr(((VerifyDmarcUri *)g_ptr_array_index(record->rua, 0))->uri, ==,
				"mailto:r0@example.com");
		g_assert_cmpstr(record->ignored, ==, "rua");
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/verify/dmarc-record/version", test_version);
	g_test_add_func("/verify/dmarc-record/policies", test_policies);
	g_test_add_func("/verify/dmarc-record/policy-valid", test_policy_valid);
	g_test_add_func("/verify/dmarc-record/defaults", test_defaults);
	g_test_add_func("/verify/dmarc-record/small-tags", test_small_tags);
	g_test_add_func("/verify/dmarc-record/fo", test_fo);
	g_test_add_func("/verify/dmarc-record/twice", test_twice);
	g_test_add_func("/verify/dmarc-record/bytes", test_bytes);
	g_test_add_func("/verify/dmarc-record/malformed-segments", test_malformed_segments);
	g_test_add_func("/verify/dmarc-record/uris", test_uris);
	return g_test_run();
}
