/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-authres: the builder's exact output and its quoting of
 * hostile values, the parser on every part of RFC 8601's grammar and its
 * errors, round trips, and the authserv-id test that decides which headers
 * are removed, over generated spellings of a forged header.
 */
#include <string.h>

#include <glib.h>

#include "pc-authres.h"

/*
 * --- builder ---
 */

static void
test_format_plain(void)
{
	g_autoptr(PcAuthRes) ar = pc_authres_new("mx.example.com");
	PcAuthResResult *dkim, *spf;
	g_autofree char *text = NULL;

	dkim = pc_authres_add_result(ar, "dkim", "pass");
	pc_authres_add_property(dkim, "header", "d", "example.org");
	pc_authres_add_property(dkim, "header", "s", "sel2026");
	pc_authres_add_property(dkim, "header", "b", "Ab12/+cd");
	spf = pc_authres_add_result(ar, "SPF", "Pass");
	pc_authres_add_property(spf, "smtp", "mailfrom", "user@example.org");
	text = pc_authres_format(ar);
	g_assert_cmpstr(text, ==,
			"mx.example.com;\n"
			"\tdkim=pass header.d=example.org header.s=sel2026 header.b=\"Ab12/+cd\";\n"
			"\tspf=pass smtp.mailfrom=user@example.org");
}

static void
test_format_none(void)
{
	g_autoptr(PcAuthRes) ar = pc_authres_new("mx.example.com");
	g_autofree char *text = pc_authres_format(ar);

	g_assert_cmpstr(text, ==, "mx.example.com; none");
}

static void
test_format_reason(void)
{
	g_autoptr(PcAuthRes) ar = pc_authres_new("mx.example.com");
	PcAuthResResult *dkim = pc_authres_add_result(ar, "dkim", "permerror");
	g_autofree char *text = NULL;

	pc_authres_set_reason(dkim, "no key for signature");
	pc_authres_add_property(dkim, "header", "d", "example.org");
	text = pc_authres_format(ar);
	g_assert_cmpstr(text, ==,
			"mx.example.com;\n"
			"\tdkim=permerror reason=\"no key for signature\" header.d=example.org");
}

/* a comment after the result; what could end or nest it is dropped, and it parses back */
static void
test_format_comment(void)
{
	g_autoptr(PcAuthRes) ar = pc_authres_new("mx.example.com");
	g_autoptr(PcAuthRes) back = NULL;
	g_autoptr(GError) error = NULL;
	PcAuthResResult *dmarc = pc_authres_add_result(ar, "dmarc", "fail");
	PcAuthResResult *other = pc_authres_add_result(ar, "dkim", "none");
	g_autofree char *text = NULL;
	g_autofree char *long_comment = g_strnfill(300, 'x');

	pc_authres_set_comment(dmarc, "p=reject sp=none dis=none");
	pc_authres_add_property(dmarc, "header", "from", "example.com");
	pc_authres_set_comment(other, "a) b(\\c\n\x01"
				      "d");
	text = pc_authres_format(ar);
	g_assert_cmpstr(text, ==,
			"mx.example.com;\n"
			"\tdmarc=fail (p=reject sp=none dis=none) header.from=example.com;\n"
			"\tdkim=none (a bcd)");
	g_assert_true(pc_authres_parse(text, strlen(text), &back, &error));
	g_assert_no_error(error);
	pc_authres_set_comment(other, long_comment);
	g_clear_pointer(&text, g_free);
	text = pc_authres_format(ar);
	g_assert_nonnull(strstr(text, "(xxxx"));
	g_assert_null(strstr(text, long_comment + 99));
}

/* a value the client wrote must stay one value: no new entry, property or line */
typedef struct {
	const char *label;
	const char *value;
	const char *written; /* the value as it must appear */
	const char *parsed;  /* what parsing it back gives */
} ValueCase;

static const ValueCase value_cases[] = {
    {"token", "example.org", "example.org", "example.org"},
    {"addr-spec", "user.name+tag@example.org", "user.name+tag@example.org",
     "user.name+tag@example.org"},
    {"at-domain", "@example.org", "@example.org", "@example.org"},
    {"semicolon", "a;dkim=pass", "\"a;dkim=pass\"", "a;dkim=pass"},
    {"blank", "a b", "\"a b\"", "a b"},
    {"quote", "a\"b", "\"a\\\"b\"", "a\"b"},
    {"backslash", "a\\b", "\"a\\\\b\"", "a\\b"},
    {"crlf", "a\r\n\tdkim=pass", "\"adkim=pass\"", "adkim=pass"},
    {"lf-only", "a\nb", "ab", "ab"},
    {"comment", "a(b)c", "\"a(b)c\"", "a(b)c"},
    {"quoted-local", "\"john doe\"@example.org", "\"\\\"john doe\\\"@example.org\"",
     "\"john doe\"@example.org"},
    {"utf8",
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example",
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example",
     "j\xc3\xb6rg@b\xc3\xbc"
     "cher.example"},
    {"invalid-utf8",
     "a\xff\xfe"
     "b",
     "ab", "ab"},
    {"del",
     "a\x7f"
     "b",
     "ab", "ab"},
    {"empty", "", "\"\"", ""},
    {"equals", "a=b", "\"a=b\"", "a=b"},
};

static void
test_format_value(gconstpointer data)
{
	const ValueCase *test = data;
	g_autoptr(PcAuthRes) ar = pc_authres_new("mx.example.com");
	g_autoptr(PcAuthRes) back = NULL;
	g_autoptr(GError) error = NULL;
	PcAuthResResult *spf = pc_authres_add_result(ar, "spf", "pass");
	g_autofree char *text = NULL;
	g_autofree char *want = NULL;
	const PcAuthResResult *entry;
	const PcAuthResProperty *property;

	pc_authres_add_property(spf, "smtp", "mailfrom", test->value);
	text = pc_authres_format(ar);
	want = g_strdup_printf("mx.example.com;\n\tspf=pass smtp.mailfrom=%s", test->written);
	g_assert_cmpstr(text, ==, want);
	g_assert_null(strchr(text, '\r'));
	g_assert_true(pc_authres_parse(text, strlen(text), &back, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(back->results->len, ==, 1);
	entry = back->results->pdata[0];
	g_assert_cmpuint(entry->properties->len, ==, 1);
	property = entry->properties->pdata[0];
	g_assert_cmpstr(property->value, ==, test->parsed);
}

static void
test_format_long_value(void)
{
	g_autoptr(PcAuthRes) ar = pc_authres_new("mx.example.com");
	PcAuthResResult *spf = pc_authres_add_result(ar, "spf", "pass");
	g_autofree char *value = g_strnfill(PC_AUTHRES_MAX_VALUE * 3, 'x');
	g_autofree char *text = NULL;

	pc_authres_add_property(spf, "smtp", "mailfrom", value);
	text = pc_authres_format(ar);
	g_assert_cmpuint(strlen(text), <, PC_AUTHRES_MAX_VALUE + 64);
}

/*
 * --- parser ---
 */

typedef struct {
	const char *label;
	const char *input;
	gboolean fails;
	const char *message; /* a substring of the error */
	const char *id;
	guint version;
	const char *summary; /* "method=result[reason](ptype.prop=value,...);..." */
} ParseCase;

static const ParseCase parse_cases[] = {
    {"plain", "mx.example.com; dkim=pass header.d=example.org", .id = "mx.example.com",
     .version = 1, .summary = "dkim=pass(header.d=example.org)"},
    {"none", "mx.example.com; none", .id = "mx.example.com", .version = 1, .summary = ""},
    {"none-comment", "mx.example.com (x); (y) none (z)", .id = "mx.example.com", .version = 1,
     .summary = ""},
    {"version", "mx.example.com 1; spf=fail smtp.mailfrom=a@b.example", .id = "mx.example.com",
     .version = 1, .summary = "spf=fail(smtp.mailfrom=a@b.example)"},
    {"version-2", "mx.example.com 2; spf=fail", .id = "mx.example.com", .version = 2,
     .summary = "spf=fail()"},
    {"quoted-id", "\"mx.example.com\"; spf=pass", .id = "mx.example.com", .version = 1,
     .summary = "spf=pass()"},
    {"folded", "mx.example.com;\r\n\tdkim=pass\r\n\t header.d=example.org;\r\n\tspf=none",
     .id = "mx.example.com", .version = 1, .summary = "dkim=pass(header.d=example.org);spf=none()"},
    {"comments-everywhere",
     "(a) mx.example.com (b) ; (c) dkim (d) = (e) pass (f) header (g) . (h) d (i) = (j) "
     "example.org (k)",
     .id = "mx.example.com", .version = 1, .summary = "dkim=pass(header.d=example.org)"},
    {"nested-comment", "mx.example.com (a (b) \\) c); dkim=pass", .id = "mx.example.com",
     .version = 1, .summary = "dkim=pass()"},
    {"reason", "mx.example.com; dkim=fail reason=\"bad sig\" header.d=a.example",
     .id = "mx.example.com", .version = 1, .summary = "dkim=fail[bad sig](header.d=a.example)"},
    {"reason-token", "mx.example.com; dkim=fail reason=badsig", .id = "mx.example.com",
     .version = 1, .summary = "dkim=fail[badsig]()"},
    {"method-version", "mx.example.com; dkim/1=pass", .id = "mx.example.com", .version = 1,
     .summary = "dkim=pass()"},
    {"case", "MX.Example.COM; DKIM=PASS Header.D=Example.ORG", .id = "MX.Example.COM", .version = 1,
     .summary = "dkim=pass(header.d=Example.ORG)"},
    {"quoted-value", "mx.example.com; spf=pass smtp.mailfrom=\"a b\\\"c\"@d.example",
     .id = "mx.example.com", .version = 1,
     .summary = "spf=pass(smtp.mailfrom=\"a b\\\"c\"@d.example)"},
    {"base64", "mx.example.com; dkim=pass header.b=AbC/+12=", .id = "mx.example.com", .version = 1,
     .summary = "dkim=pass(header.b=AbC/+12=)"},
    {"trailing-semicolon", "mx.example.com; spf=pass;", .id = "mx.example.com", .version = 1,
     .summary = "spf=pass()"},
    {"several",
     "mx.example.com; spf=pass smtp.mailfrom=a.example; dkim=pass header.d=a.example "
     "header.s=s1; dmarc=pass header.from=a.example",
     .id = "mx.example.com", .version = 1,
     .summary = "spf=pass(smtp.mailfrom=a.example);dkim=pass(header.d=a.example,header.s=s1);"
		"dmarc=pass(header.from=a.example)"},
    {"empty-value", "mx.example.com; spf=pass smtp.mailfrom=", .id = "mx.example.com", .version = 1,
     .summary = "spf=pass(smtp.mailfrom=)"},
    {"utf8", "mx.example.com; spf=pass smtp.mailfrom=j\xc3\xb6rg@example.org",
     .id = "mx.example.com", .version = 1,
     .summary = "spf=pass(smtp.mailfrom=j\xc3\xb6rg@example.org)"},
    /* errors */
    {"empty", "", TRUE, "value expected"},
    {"only-comment", "(x)", TRUE, "value expected"},
    {"no-semicolon", "mx.example.com dkim=pass", TRUE, "';' expected"},
    {"id-only", "mx.example.com", TRUE, "';' expected"},
    {"no-result", "mx.example.com; dkim", TRUE, "'=' expected"},
    {"no-result-keyword", "mx.example.com; dkim=", TRUE, "result expected"},
    {"method-not-keyword", "mx.example.com; =pass", TRUE, "method expected"},
    {"property-no-dot", "mx.example.com; dkim=pass headerd=x", TRUE, "'.' expected"},
    {"property-no-name", "mx.example.com; dkim=pass header.=x", TRUE, "property name expected"},
    {"property-no-equals", "mx.example.com; dkim=pass header.d", TRUE, "'=' expected"},
    {"comment-open", "mx.example.com (x; dkim=pass", TRUE, "comment not closed"},
    {"quote-open", "\"mx.example.com; dkim=pass", TRUE, "quoted string not closed"},
    {"bad-version", "mx.example.com 0; dkim=pass", TRUE, "invalid version"},
    {"none-then-more", "mx.example.com; none; dkim=pass", TRUE, "'=' expected"},
    {"junk-property", "mx.example.com; dkim=pass ;;", TRUE, "method expected"},
    {"method-version-empty", "mx.example.com; dkim/=pass", TRUE, "method version expected"},
};

static char *
summarize(const PcAuthRes *ar)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < ar->results->len; i++) {
		const PcAuthResResult *entry = ar->results->pdata[i];

		g_string_append_printf(out, "%s%s=%s", i > 0 ? ";" : "", entry->method,
				       entry->result);
		if (entry->reason != NULL)
			g_string_append_printf(out, "[%s]", entry->reason);
		g_string_append_c(out, '(');
		for (guint j = 0; j < entry->properties->len; j++) {
			const PcAuthResProperty *p = entry->properties->pdata[j];

			g_string_append_printf(out, "%s%s.%s=%s", j > 0 ? "," : "", p->ptype,
					       p->property, p->value);
		}
		g_string_append_c(out, ')');
	}
	return g_string_free(out, FALSE);
}

static void
test_parse(gconstpointer data)
{
	const ParseCase *test = data;
	g_autoptr(PcAuthRes) ar = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *input = g_strdup(test->input);
	g_autofree char *summary = NULL;

	if (test->fails) {
		g_assert_false(pc_authres_parse(input, strlen(input), &ar, &error));
		g_assert_nonnull(error);
		g_assert_null(ar);
		if (strstr(error->message, test->message) == NULL)
			g_assert_cmpstr(error->message, ==, test->message);
		/* errors never quote the input */
		for (const char *p = error->message; *p != '\0'; p++)
			g_assert_true(g_ascii_isprint(*p));
		return;
	}
	g_assert_true(pc_authres_parse(input, strlen(input), &ar, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(ar->authserv_id, ==, test->id);
	g_assert_cmpuint(ar->version, ==, test->version);
	summary = summarize(ar);
	g_assert_cmpstr(summary, ==, test->summary);
}

/* the parser honours len, sees no NUL, and keeps its limits */
static void
test_parse_limits(void)
{
	g_autoptr(GString) many = g_string_new("mx.example.com");
	g_autoptr(GString) props = g_string_new("mx.example.com; dkim=pass");
	g_autoptr(PcAuthRes) ar = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *deep = NULL;
	static const char with_nul[] = "mx.example.com; dkim=pass\0; spf=pass";

	for (guint i = 0; i <= PC_AUTHRES_MAX_RESULTS; i++)
		g_string_append(many, "; spf=pass");
	g_assert_false(pc_authres_parse(many->str, many->len, &ar, &error));
	g_assert_error(error, PC_AUTHRES_ERROR, PC_AUTHRES_ERROR_TOO_LONG);
	g_clear_error(&error);

	for (guint i = 0; i <= PC_AUTHRES_MAX_PROPERTIES; i++)
		g_string_append(props, " header.d=a.example");
	g_assert_false(pc_authres_parse(props->str, props->len, &ar, &error));
	g_assert_error(error, PC_AUTHRES_ERROR, PC_AUTHRES_ERROR_TOO_LONG);
	g_clear_error(&error);

	deep = g_strdup_printf("%smx.example.com; none", "((((((((((((((((((((((((((((((((((");
	g_assert_false(pc_authres_parse(deep, strlen(deep), &ar, &error));
	g_assert_error(error, PC_AUTHRES_ERROR, PC_AUTHRES_ERROR_SYNTAX);
	g_clear_error(&error);

	g_assert_false(pc_authres_parse(with_nul, sizeof(with_nul) - 1, &ar, &error));
	g_assert_error(error, PC_AUTHRES_ERROR, PC_AUTHRES_ERROR_SYNTAX);
	g_clear_error(&error);

	/* len stops before the broken tail */
	g_assert_true(pc_authres_parse("mx.example.com; spf=pass (", 24, &ar, &error));
	g_assert_no_error(error);
}

/*
 * --- is it ours? ---
 *
 * Generated forgeries: every spelling of our id a reader downstream would
 * take for it must be recognised; ids that only look alike must not.
 */

static const char *const ours[] = {"mx.example.com", "mx2.example.com", NULL};

static const char *const id_spellings[] = {
    "mx.example.com",	  "MX.EXAMPLE.COM",	"Mx.Example.Com",      "mx.example.com.",
    "\"mx.example.com\"", "\"MX.example.com\"", "\"mx.example.com.\"", "mx2.example.com",
};

static const char *const id_wrappers[] = {
    "%s; dkim=pass",
    "%s;dkim=pass",
    " %s ; dkim=pass",
    "\t%s;\r\n\tdkim=pass",
    "(comment) %s; dkim=pass",
    "%s (comment); dkim=pass",
    "%s(comment);dkim=pass",
    "(a (b) c)%s; dkim=pass",
    "(a \\) b) %s; dkim=pass",
    "%s 1; dkim=pass",
    "%s; none",
    "%s",
    "%s;",
    "%s; dkim=",
    "%s; garbage (",
    "\r\n %s; spf=pass",
};

static const char *const not_ours[] = {
    "mx.example.com.evil.test; dkim=pass",
    "evil-mx.example.com; dkim=pass",
    "xmx.example.com; dkim=pass",
    "mx.example.co; dkim=pass",
    "mx.example.com..; dkim=pass",
    "other.example; dkim=pass (mx.example.com)",
    "; mx.example.com",
    "",
    "(mx.example.com)",
    "other.example; dkim=pass header.d=mx.example.com",
};

static void
test_is_ours_generated(void)
{
	guint n = 0;

	for (gsize s = 0; s < G_N_ELEMENTS(id_spellings); s++) {
		for (gsize w = 0; w < G_N_ELEMENTS(id_wrappers); w++) {
			g_auto(GStrv) parts = g_strsplit(id_wrappers[w], "%s", 2);
			g_autofree char *header = g_strjoinv(id_spellings[s], parts);

			if (!pc_authres_is_ours(header, strlen(header), ours))
				g_error("not recognised as ours: [%s]", header);
			n++;
		}
	}
	for (gsize i = 0; i < G_N_ELEMENTS(not_ours); i++) {
		if (pc_authres_is_ours(not_ours[i], strlen(not_ours[i]), ours))
			g_error("taken for ours: [%s]", not_ours[i]);
	}
	g_test_message("%u forged spellings recognised, %zu look-alikes kept", n,
		       G_N_ELEMENTS(not_ours));
}

/*
 * an unclosed quote does not hide the id from a careless reader, nor from
 * us: either reading that names us makes the header ours
 */
static void
test_is_ours_broken(void)
{
	static const char *const broken[] = {
	    "\"mx.example.com; dkim=pass",
	    "\"mx.example.com",
	    "mx.example.com (unclosed; dkim=pass",
	    /* strictly "mx.example.com x", but a loose reader stops at the blank */
	    "\"mx.example.com x\"; dkim=pass",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(broken); i++)
		g_assert_true(pc_authres_is_ours(broken[i], strlen(broken[i]), ours));
	g_assert_false(pc_authres_is_ours("mx.example.com", 14, NULL));
}

/* what the builder writes is ours, and parses back to what was built */
static void
test_round_trip(void)
{
	static const char *const methods[] = {"spf", "dkim", "dmarc", "arc", "iprev", "auth"};
	static const char *const results[] = {"pass", "fail",	   "softfail",	"neutral",
					      "none", "temperror", "permerror", "policy"};
	static const char *const values[] = {
	    "example.org", "a b", "x;y", "\"q\"", "u@d.example", "j\xc3\xb6rg@example.org"};

	for (gsize m = 0; m < G_N_ELEMENTS(methods); m++) {
		for (gsize r = 0; r < G_N_ELEMENTS(results); r++) {
			g_autoptr(PcAuthRes) ar = pc_authres_new("MX.example.com");
			g_autoptr(PcAuthRes) back = NULL;
			g_autoptr(GError) error = NULL;
			g_autofree char *text = NULL;
			g_autofree char *want = NULL;
			g_autofree char *got = NULL;

			for (gsize v = 0; v < G_N_ELEMENTS(values); v++) {
				PcAuthResResult *entry =
				    pc_authres_add_result(ar, methods[m], results[(r + v) % 8]);

				pc_authres_set_reason(entry, values[v]);
				pc_authres_add_property(entry, "header", "d", values[v]);
			}
			text = pc_authres_format(ar);
			g_assert_true(pc_authres_is_ours(text, strlen(text), ours));
			g_assert_true(pc_authres_parse(text, strlen(text), &back, &error));
			g_assert_no_error(error);
			want = summarize(ar);
			got = summarize(back);
			g_assert_cmpstr(got, ==, want);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pc/authres/format/plain", test_format_plain);
	g_test_add_func("/pc/authres/format/none", test_format_none);
	g_test_add_func("/pc/authres/format/reason", test_format_reason);
	g_test_add_func("/pc/authres/format/comment", test_format_comment);
	g_test_add_func("/pc/authres/format/long-value", test_format_long_value);
	for (gsize i = 0; i < G_N_ELEMENTS(value_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/authres/format/value/", value_cases[i].label, NULL);

		g_test_add_data_func(path, &value_cases[i], test_format_value);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/authres/parse/", parse_cases[i].label, NULL);

		g_test_add_data_func(path, &parse_cases[i], test_parse);
	}
	g_test_add_func("/pc/authres/parse/limits", test_parse_limits);
	g_test_add_func("/pc/authres/is-ours/generated", test_is_ours_generated);
	g_test_add_func("/pc/authres/is-ours/broken", test_is_ours_broken);
	g_test_add_func("/pc/authres/round-trip", test_round_trip);
	return g_test_run();
}
