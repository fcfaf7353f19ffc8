/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for auth-maps: the Postfix smtpd_sender_login_maps flat syntax, the
 * [auth] senders value, table-type prefixes, and loading (a fresh read
 * each time; unreadable is an error).
 */
#include <string.h>

#include <glib/gstdio.h>

#include "auth-maps.h"
#include "test-expand.h"

/*
 * --- the file syntax ---
 *
 * .lookups: "KEY=OWNER,OWNER" (the owners the key must have, in order) or
 * "KEY=" (the key must be absent).
 */
typedef struct {
	const char *label;
	const char *text;
	gsize len;	   /* nonzero: exact length, NULs included */
	const char *error; /* substring of the error, NULL when it parses */
	guint size;
	const char *lookups[6];
} ParseCase;

static const ParseCase parse_cases[] = {
    {.label = "postfix-example",
     .text = "# who may send as whom\n"
	     "alice@example.com   alice, alice-app\n"
	     "@example.org        bob\n",
     .size = 2,
     .lookups = {"alice@example.com=alice,alice-app", "@example.org=bob", "bob@example.org="}},
    {.label = "owners-blank-or-comma",
     .text = "a@example.com x,y z ,, w\n",
     .size = 1,
     .lookups = {"a@example.com=x,y,z,w"}},
    {.label = "keys-folded",
     .text = "Alice@EXAMPLE.com. alice\n@Example.ORG bob",
     .size = 2,
     .lookups = {"alice@example.com=alice", "@example.org=bob"}},
    {.label = "bare-local-part",
     .text = "postmaster carol\n",
     .size = 1,
     .lookups = {"postmaster=carol"}},
    {.label = "continuation",
     .text = "alice@example.com alice,\n   alice-app\n\talice-phone\nbob@example.com bob\n",
     .size = 2,
     .lookups = {"alice@example.com=alice,alice-app,alice-phone", "bob@example.com=bob"}},
    {.label = "comments-and-blanks",
     .text = "\n   \n# a comment\n  # an indented comment\na@example.com a\n  # between\n"
	     "b@example.com b\n",
     .size = 2,
     .lookups = {"a@example.com=a", "b@example.com=b"}},
    {.label = "crlf",
     .text = "a@example.com a\r\nb@example.com b, c\r\n",
     .size = 2,
     .lookups = {"a@example.com=a", "b@example.com=b,c"}},
    {.label = "no-final-newline",
     .text = "a@example.com a",
     .size = 1,
     .lookups = {"a@example.com=a"}},
    {.label = "empty", .text = "", .size = 0, .lookups = {"a@example.com="}},
    {.label = "owner-case-kept",
     .text = "a@example.com Alice\n",
     .size = 1,
     .lookups = {"a@example.com=Alice"}},

    {.label = "duplicate-key",
     .text = "a@example.com a\n\nA@Example.com b\n",
     .error = "map:3: a@example.com is already listed at line 1"},
    {.label = "no-owner", .text = "a@example.com\n", .error = "map:1: a@example.com has no owner"},
    /* quoted local parts (Postfix 3.2+): the blank belongs to the key, not to the owners */
    {.label = "quoted-key",
     .text =
	 "\"John Doe\"@Example.COM john\n\"a\\\"b\"@example.com ab, ab2\n@example.com catchall\n",
     .size = 3,
     .lookups = {"john doe@example.com=john", "a\"b@example.com=ab,ab2",
		 "\"john=", "@example.com=catchall"}},
    {.label = "quoted-key-unclosed",
     .text = "ok@example.com x\n\"john doe@example.com john\n",
     .error = "map:2: the quoted key is not"},
    /* a bare quoted key, as postmap loads it: that local part in the bare-key domains */
    {.label = "quoted-key-bare",
     .text = "\"john doe\" john\n",
     .size = 1,
     .lookups = {"john doe=john"}},
    /* quoted without need: Postfix never matches it, the @domain key decides */
    {.label = "quoted-key-needless",
     .text = "\"frank\"@example.com alice\n@example.com dave\n\"frank\" bob\n",
     .size = 1,
     .lookups = {"@example.com=dave", "frank@example.com=", "frank="}},
    {.label = "quoted-key-trailing",
     .text = "\"john doe\"x@example.com john\n",
     .error = "map:1: the quoted key is not"},
    {.label = "quoted-key-empty", .text = "\"\"@example.com x\n", .error = "map:1: the quoted key"},
    {.label = "bad-domain", .text = "a@exa..mple.com a\n", .error = "map:1: the key is not"},
    {.label = "empty-domain", .text = "@ a\n", .error = "map:1: '@' alone is no key"},
    {.label = "continuation-first",
     .text = "  a@example.com a\n",
     .error = "map:1: a continuation line with no key"},
    {.label = "nul", .text = "a@example.com a\0b\n", .len = 18, .error = "map:1: NUL byte"},
    {.label = "nul-line-3",
     .text = "# x\na@example.com a\nb@example.com \0\n",
     .len = 36,
     .error = "map:3: NUL byte in the file"},
    /* SMTPUTF8: keys in their caseless forms (J, O-umlaut, R, G; B, U-umlaut, CHER) */
    {.label = "utf8-key-folded",
     .text = "J\xc3\x96RG@B\xc3\x9c"
	     "CHER.Example J\xc3\x96RG\n"
	     "@xn--bcher-kva.example ace\n",
     .size = 2,
     .lookups = {"j\xc3\xb6rg@b\xc3\xbc"
		 "cher.example=J\xc3\x96RG",
		 "@xn--bcher-kva.example=ace",
		 "@b\xc3\xbc"
		 "cher.example="}},
    {.label = "utf8-key-decomposed",
     .text = "jo\xcc\x88rg@example.com j\n",
     .size = 1,
     .lookups = {"j\xc3\xb6rg@example.com=j", "jo\xcc\x88rg@example.com="}},
    {.label = "utf8-sharp-s-local-folds-domain-keeps",
     .text = "STRA\xc3\x9f"
	     "E@STRA\xc3\x9f"
	     "E.example s\n",
     .size = 1,
     .lookups = {"strasse@stra\xc3\x9f"
		 "e.example=s",
		 "strasse@strasse.example="}},
    {.label = "utf8-invalid",
     .text = "a@example.com a\nj\xf6rg@example.com j\n",
     .error = "map:2: not valid UTF-8"},
    {.label = "utf8-invalid-owner",
     .text = "a@example.com \xff\n",
     .error = "map:1: not valid UTF-8"},
    {.label = "utf8-invalid-continuation",
     .text = "a@example.com a,\n  \xc3(\n",
     .error = "map:2: not valid UTF-8"},
    {.label = "owner-1024", .text = "a@example.com {o*1024}\n", .size = 1},
    {.label = "owner-1025",
     .text = "a@example.com b, {o*1025}\n",
     .error = "map:1: an owner of a@example.com is longer than 1024 octets"},
    {.label = "key-1025",
     .text = "{k*1025}@example.com a\n",
     .error = "map:1: the local part of the key is longer than 1024 octets"},
    {.label = "utf8-invalid-in-comment",
     .text = "# J\xf6rg\na@example.com a\n",
     .size = 1,
     .lookups = {"a@example.com=a"}},
};

static void
test_parse(gconstpointer data)
{
	const ParseCase *test = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *text =
	    test->len != 0 ? g_memdup2(test->text, test->len) : test_expand(test->text, NULL);
	g_autoptr(AuthMap) map =
	    auth_map_parse("map", text, test->len != 0 ? test->len : strlen(text), &error);

	if (test->error != NULL) {
		g_assert_null(map);
		g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX);
		if (strstr(error->message, test->error) == NULL)
			g_assert_cmpstr(error->message, ==, test->error);
		return;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(auth_map_size(map), ==, test->size);
	for (gsize i = 0; i < G_N_ELEMENTS(test->lookups) && test->lookups[i] != NULL; i++) {
		const char *equals = strchr(test->lookups[i], '=');
		g_autofree char *key = g_strndup(test->lookups[i], equals - test->lookups[i]);
		const char *const *owners = auth_map_lookup(map, key);

		if (equals[1] == '\0') {
			g_assert_null(owners);
		} else {
			g_autofree char *joined = NULL;

			g_assert_nonnull(owners);
			joined = g_strjoinv(",", (char **)owners);
			g_assert_cmpstr(joined, ==, equals + 1);
		}
	}
}

/*
 * --- map-file lines, generated ---
 *
 * Every form postmap accepts, each quirk class, each placed in a file after
 * 0, 1 or 3 filler lines, after a comment line or not, with LF or CRLF line
 * ends, followed by a filler line or by the end of the file: the parse must
 * give the same result every time, and an error or warning must name the
 * right line (both lines for a duplicate). Line numbers below count from
 * 1 in .text; {x*N} is N times x.
 */
typedef struct {
	const char *label;
	const char *text;   /* the case's physical lines, each ending in \n */
	const char *lookup; /* valid: "KEY=OWNERS" the map must have */
	guint error_line;   /* the line an error names; 0: the file is valid */
	const char *error;  /* what follows "map:LINE: " */
	guint other_line;   /* a duplicate: the earlier line the message names */
	guint warning_line; /* a duplicate with the same owners: the warning's line */
	guint extra_keys;   /* keys in .text besides the one looked up */
} LineCase;

/* clang-format off */
static const LineCase line_cases[] = {
    /* forms postmap accepts, and so do we */
    {"address", "alice@example.com alice\n", "alice@example.com=alice"},
    {"owners-commas", "alice@example.com alice,bob , carol\n", "alice@example.com=alice,bob,carol"},
    {"tab", "alice@example.com\talice\n", "alice@example.com=alice"},
    {"domain", "@Example.org bob\n", "@example.org=bob"},
    {"bare", "postmaster alice\n", "postmaster=alice"},
    {"bare-dotted", "first.last alice\n", "first.last=alice"},
    {"extension", "alice+news@example.com alice\n", "alice+news@example.com=alice"},
    {"quoted", "\"John Doe\"@example.com john\n", "john doe@example.com=john"},
    {"quoted-pair", "\"a\\\"b\"@example.com ab\n", "a\"b@example.com=ab"},
    {"ip-literal", "x@[192.0.2.1] x\n", "x@[192.0.2.1]=x"},
    {"trailing-dot", "x@Example.COM. x\n", "x@example.com=x"},
    {"utf8", "J\xc3\x96RG@B\xc3\x9c" "CHER.example j\n", "j\xc3\xb6rg@b\xc3\xbc" "cher.example=j"},
    {"a-label", "x@XN--bcher-kva.example x\n", "x@xn--bcher-kva.example=x"},
    {"continued", "alice@example.com alice,\n  bob\n", "alice@example.com=alice,bob"},
    {"continued-after-comment", "alice@example.com alice,\n# note\n  bob\n",
     "alice@example.com=alice,bob"},
    {"continued-after-blank", "alice@example.com alice\n\n\tbob\n", "alice@example.com=alice,bob"},
    /* postmap has no trailing comments: the words are owners there too */
    {"owner-hash", "alice@example.com alice # old\n", "alice@example.com=alice,#,old"},
    {"owner-1024", "a@example.com {o*1024}\n", "a@example.com={o*1024}"},
    /* a key repeated with the same owners: kept once, with a warning naming both lines */
    {"duplicate-same", "dup@example.com a, b\nDUP@Example.COM B a\n", "dup@example.com=a,b",
     .other_line = 1, .warning_line = 2},
    {"duplicate-same-caseless", "j\xc3\xb6rg@example.com j\xc3\xb6rg\nJO\xcc\x88RG@example.com J\xc3\x96RG\n",
     "j\xc3\xb6rg@example.com=j\xc3\xb6rg", .other_line = 1, .warning_line = 2},
    {"duplicate-same-apart", "dup@example.com a\nother@example.com o\ndup@example.com a\n",
     "dup@example.com=a", .other_line = 1, .warning_line = 3, .extra_keys = 1},

    /* ambiguous: an error naming the line */
    {"duplicate-other", "dup@example.com a\ndup@example.com b\n", NULL, 2,
     "dup@example.com is already listed at line %u with other owners", .other_line = 1},
    {"duplicate-other-caseless", "Dup@example.com a\nDUP@EXAMPLE.COM a, b\n", NULL, 2,
     "dup@example.com is already listed at line %u with other owners", .other_line = 1},
    {"duplicate-other-apart", "dup@example.com a\nother@example.com o\n@example.org x\ndup@example.com c\n",
     NULL, 4, "dup@example.com is already listed at line %u", .other_line = 1},
    {"duplicate-continued", "dup@example.com a,\n  b\ndup@example.com a\n", NULL, 3,
     "dup@example.com is already listed at line %u", .other_line = 1},
    {"no-owner", "lonely@example.com\n", NULL, 1, "lonely@example.com has no owner"},
    {"no-owner-blanks", "lonely@example.com   \n", NULL, 1, "lonely@example.com has no owner"},
    {"no-owner-commas", "lonely@example.com ,, ,\n", NULL, 1, "lonely@example.com has no owner"},
    {"no-owner-domain", "@example.org\n", NULL, 1, "@example.org has no owner"},
    {"at-alone", "@ alice\n", NULL, 1, "'@' alone is no key"},
    {"at-end", "alice@ alice\n", NULL, 1, "a key ending in '@' is never looked up"},
    {"alias-colon", "alice@example.com: alice\n", NULL, 1, "a key ending in ':'"},
    {"alias-colon-bare", "postmaster: alice\n", NULL, 1, "a key ending in ':'"},
    {"quote-unclosed", "\"john doe@example.com john\n", NULL, 1, "the quoted key is not \"local part\"@domain (a quote is not closed)"},
    {"quote-inside", "john\" \"doe@example.com john\n", NULL, 1,
     "quotes and backslashes belong around a whole local part"},
    {"backslash", "john\\ doe@example.com john\n", NULL, 1,
     "quotes and backslashes belong around a whole local part"},
    {"quoted-bare", "\"john doe\" john\n", "john doe=john"},
    {"bad-domain", "a@exa..mple.com a\n", NULL, 1, "the key is not user@domain, @domain or user"},
    {"latin1", "j\xf6rg@example.com j\n", NULL, 1, "not valid UTF-8"},
    {"latin1-continued", "alice@example.com alice,\n  j\xf6rg\n", NULL, 2, "not valid UTF-8"},
    {"owner-1025", "a@example.com {o*1025}\n", NULL, 1, "an owner of a@example.com is longer"},
    {"key-1025", "{k*1025}@example.com a\n", NULL, 1, "the local part of the key is longer"},
};
/* clang-format on */

/* the case's text with line ends, fillers before and after, and an optional comment */
static char *
line_case_file(const LineCase *test, guint fillers, gboolean comment, gboolean crlf, gboolean after)
{
	g_autofree char *body = test_expand(test->text, NULL);
	g_autoptr(GString) text = g_string_new(NULL);

	for (guint i = 0; i < fillers; i++)
		g_string_append_printf(text, "f%u@filler.test f%u\n", i, i);
	if (comment)
		g_string_append(text, "# the case\n");
	g_string_append(text, body);
	if (after)
		g_string_append(text, "after@filler.test after\n");
	if (crlf)
		g_string_replace(text, "\n", "\r\n", 0);
	return g_string_free(g_steal_pointer(&text), FALSE);
}

static void
check_line_case(const LineCase *test, const char *text, guint offset, guint keys)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AuthMap) map = auth_map_parse("map", text, strlen(text), &error);

	if (test->error_line != 0) {
		g_autofree char *line = g_strdup_printf("%u", test->other_line + offset);
		g_autoptr(GString) detail_text = g_string_new(test->error);
		g_autofree char *detail = NULL;
		g_autofree char *want = NULL;

		/* "%u" in .error is the earlier line of a duplicate */
		g_string_replace(detail_text, "%u", line, 0);
		detail = g_string_free(g_steal_pointer(&detail_text), FALSE);
		want = g_strdup_printf("map:%u: %s", test->error_line + offset, detail);
		g_assert_null(map);
		g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX);
		if (!g_str_has_prefix(error->message, want))
			g_error("%s (offset %u): got \"%s\", want \"%s...\"", test->label, offset,
				error->message, want);
		return;
	}
	g_assert_no_error(error);
	if (auth_map_size(map) != keys + test->extra_keys)
		g_error("%s (offset %u): %u keys, want %u", test->label, offset, auth_map_size(map),
			keys + test->extra_keys);
	{
		const char *equals = strchr(test->lookup, '=');
		g_autofree char *key = g_strndup(test->lookup, equals - test->lookup);
		g_autofree char *want = test_expand(equals + 1, NULL);
		g_autofree char *joined = NULL;
		const char *const *owners = auth_map_lookup(map, key);

		g_assert_nonnull(owners);
		joined = g_strjoinv(",", (char **)owners);
		g_assert_cmpstr(joined, ==, want);
	}
	if (test->warning_line != 0) {
		const char *const *warnings = auth_map_get_warnings(map);
		g_autofree char *want = g_strdup_printf("map:%u: ", test->warning_line + offset);
		g_autofree char *repeats = g_strdup_printf(" repeats line %u with the same owners",
							   test->other_line + offset);

		g_assert_cmpuint(g_strv_length((char **)warnings), ==, 1);
		g_assert_true(g_str_has_prefix(warnings[0], want));
		g_assert_nonnull(strstr(warnings[0], repeats));
	} else {
		g_assert_cmpuint(g_strv_length((char **)auth_map_get_warnings(map)), ==, 0);
	}
}

static void
test_line_cases(void)
{
	static const guint fillers[] = {0, 1, 3};
	guint n = 0;

	for (gsize c = 0; c < G_N_ELEMENTS(line_cases); c++) {
		for (gsize f = 0; f < G_N_ELEMENTS(fillers); f++) {
			for (guint variant = 0; variant < 8; variant++) {
				gboolean comment = (variant & 1) != 0;
				gboolean crlf = (variant & 2) != 0;
				gboolean after = (variant & 4) != 0;
				g_autofree char *text = line_case_file(&line_cases[c], fillers[f],
								       comment, crlf, after);

				check_line_case(&line_cases[c], text,
						fillers[f] + (comment ? 1 : 0),
						fillers[f] + 1 + (after ? 1 : 0));
				n++;
			}
		}
	}
	g_assert_cmpuint(n, ==, G_N_ELEMENTS(line_cases) * 24);
	g_test_message("%u files from %" G_GSIZE_FORMAT " line cases", n, G_N_ELEMENTS(line_cases));
}

static void
test_owners_contain(void)
{
	const char *const owners[] = {"alice", "Alice-App", NULL};

	g_assert_true(auth_owners_contain(owners, "alice"));
	g_assert_true(auth_owners_contain(owners, "ALICE"));
	g_assert_true(auth_owners_contain(owners, "alice-app"));
	g_assert_false(auth_owners_contain(owners, "alic"));
	g_assert_false(auth_owners_contain(owners, "alice-app2"));
	g_assert_false(auth_owners_contain(NULL, "alice"));
	g_assert_false(auth_owners_contain(owners, NULL));
}

/* logins and owners in their caseless forms (see pc-addr.h for the escapes) */
static void
test_owners_contain_utf8(void)
{
	static const struct {
		const char *owner;
		const char *login;
		gboolean want;
	} cases[] = {
	    {"j\xc3\xb6rg", "J\xc3\x96RG", TRUE},
	    {"j\xc3\xb6rg", "JO\xcc\x88RG", TRUE},
	    {"j\xc3\xb6rg", "jorg", FALSE},
	    {"stra\xc3\x9f"
	     "e",
	     "STRASSE", TRUE},
	    {"\xcf\x83\xcf\x82", "\xce\xa3\xce\xa3", TRUE},
	    {"\xc4\xb1", "I", FALSE},
	    {"\xc4\xb1", "i", FALSE},
	    {"i", "I", TRUE},
	    /* not valid UTF-8: matches nothing, not even its own bytes */
	    {"j\xc3\xb6rg", "j\xf6rg", FALSE},
	    {"j\xc3\xb6rg", "J\xc3", FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *const owners[] = {"someone", cases[i].owner, NULL};

		if (auth_owners_contain(owners, cases[i].login) != cases[i].want)
			g_error("owner %s, login %s: want %d", cases[i].owner, cases[i].login,
				cases[i].want);
	}
}

/*
 * --- [auth] senders ---
 */

typedef struct {
	const char *label;
	const char *senders;
	const char *error; /* NULL: valid */
} SendersCase;

static const SendersCase senders_cases[] = {
    {.label = "empty", .senders = ""},
    {.label = "null", .senders = NULL},
    {.label = "one", .senders = "alice@example.org = alice"},
    {.label = "several",
     .senders = "alice@example.org = alice, alice-app; @example.org = bob carol ;"},
    {.label = "spaces", .senders = "  Alice@Example.ORG=alice  ;  @example.org =bob"},
    {.label = "no-equals", .senders = "alice@example.org alice", .error = "without '='"},
    {.label = "no-owner", .senders = "alice@example.org = ", .error = "has no owner"},
    {.label = "bare-key", .senders = "alice = alice", .error = "not user@domain or @domain"},
    {.label = "bad-domain", .senders = "a@b..c = a", .error = "not user@domain"},
    {.label = "twice", .senders = "a@example.org = a; A@EXAMPLE.ORG = b", .error = "listed twice"},
    {.label = "utf8", .senders = "J\xc3\x96RG@example.org = j\xc3\xb6rg"},
    {.label = "twice-caseless",
     .senders = "j\xc3\xb6rg@example.org = a; JO\xcc\x88RG@EXAMPLE.ORG = b",
     .error = "listed twice"},
    {.label = "utf8-invalid", .senders = "j\xf6rg@example.org = j", .error = "not valid UTF-8"},
};

static void
test_senders_validate(gconstpointer data)
{
	const SendersCase *test = data;
	g_autoptr(GError) error = NULL;
	gboolean ok = auth_senders_validate(test->senders, &error);

	if (test->error == NULL) {
		g_assert_no_error(error);
		g_assert_true(ok);
		return;
	}
	g_assert_false(ok);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX);
	if (strstr(error->message, test->error) == NULL)
		g_assert_cmpstr(error->message, ==, test->error);
	g_assert_true(g_str_has_prefix(error->message, "senders: "));
}

static void
test_senders_lookup(void)
{
	const char *senders = " Alice@Example.ORG = alice, Alice-App; @example.org = bob";
	gboolean owned = FALSE;

	g_assert_true(auth_senders_lookup(senders, "alice@example.org", "alice-app", &owned));
	g_assert_true(owned);
	g_assert_true(auth_senders_lookup(senders, "alice@example.org", "bob", &owned));
	g_assert_false(owned);
	g_assert_true(auth_senders_lookup(senders, "@example.org", "BOB", &owned));
	g_assert_true(owned);
	owned = TRUE;
	g_assert_false(auth_senders_lookup(senders, "carol@example.org", "carol", &owned));
	g_assert_true(owned); /* untouched when not found */
	g_assert_false(auth_senders_lookup(NULL, "alice@example.org", "alice", &owned));
	g_assert_false(auth_senders_lookup("", "alice@example.org", "alice", &owned));
}

/*
 * --- files and types ---
 */

typedef struct {
	char *dir;
	char *path;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->dir = g_dir_make_tmp("pc-auth-maps-XXXXXX", NULL);
	fx->path = g_build_filename(fx->dir, "sender_login", NULL);
	g_assert_true(g_file_set_contents(fx->path, "alice@example.com alice\n", -1, NULL));
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_unlink(fx->path);
	g_rmdir(fx->dir);
	g_free(fx->path);
	g_free(fx->dir);
}

static void
test_load_types(Fixture *fx, gconstpointer data)
{
	const char *const prefixes[] = {"", "hash:", "lmdb:", "btree:", "cdb:", "texthash:"};

	for (gsize i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		g_autofree char *spec = g_strconcat(prefixes[i], fx->path, NULL);
		g_autoptr(GError) error = NULL;
		g_autoptr(AuthMap) map = auth_map_load(spec, &error);

		g_assert_no_error(error);
		g_assert_cmpuint(auth_map_size(map), ==, 1);
	}
}

static void
test_load_errors(Fixture *fx, gconstpointer data)
{
	g_autofree char *regexp = g_strconcat("regexp:", fx->path, NULL);
	g_autofree char *missing = g_build_filename(fx->dir, "missing", NULL);
	g_autoptr(GError) error = NULL;
	AuthMap *map;

	map = auth_map_load(regexp, &error);
	g_assert_null(map);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_TYPE);
	g_assert_nonnull(strstr(error->message, "table type 'regexp' is not supported"));
	g_clear_error(&error);

	map = auth_map_load("relative/path", &error);
	g_assert_null(map);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "not an absolute path"));
	g_clear_error(&error);

	map = auth_map_load(missing, &error);
	g_assert_null(map);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO);
	/* the message names the file: the daemon's start-up error is this one */
	g_assert_nonnull(strstr(error->message, missing));
	g_clear_error(&error);

	map = auth_map_load(fx->dir, &error);
	g_assert_null(map);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "not a regular file"));
	g_clear_error(&error);

	/* a syntax error is reported with the file's path and line */
	g_assert_true(
	    g_file_set_contents(fx->path, "ok@example.com ok\nbad@exa..mple x\n", -1, NULL));
	map = auth_map_load(fx->path, &error);
	g_assert_null(map);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_SYNTAX);
	{
		g_autofree char *want = g_strdup_printf("%s:2: ", fx->path);

		g_assert_true(g_str_has_prefix(error->message, want));
	}
}

/* rewrites the file so that its identity surely changes (size and content) */
static void
rewrite(Fixture *fx, const char *text)
{
	g_autofree char *tmp = g_strconcat(fx->path, ".tmp", NULL);

	g_assert_true(g_file_set_contents(tmp, text, -1, NULL));
	g_assert_cmpint(g_rename(tmp, fx->path), ==, 0);
}

/* each load reads the file as it is now; an unreadable file is an error, never an empty map */
static void
test_load_fresh(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AuthMap) first = auth_map_load(fx->path, &error);
	g_autoptr(AuthMap) second = NULL;
	g_autoptr(AuthMap) gone = NULL;

	g_assert_no_error(error);
	rewrite(fx, "alice@example.com alice\nbob@example.com bob\n");
	second = auth_map_load(fx->path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(auth_map_size(first), ==, 1);
	g_assert_cmpuint(auth_map_size(second), ==, 2);
	g_assert_cmpint(g_unlink(fx->path), ==, 0);
	gone = auth_map_load(fx->path, &error);
	g_assert_null(gone);
	g_assert_error(error, AUTH_MAPS_ERROR, AUTH_MAPS_ERROR_IO);
	g_assert_true(g_file_set_contents(fx->path, "x@example.com x\n", -1, NULL));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/auth/maps/parse/", parse_cases[i].label, NULL);

		g_test_add_data_func(path, &parse_cases[i], test_parse);
	}
	g_test_add_func("/auth/maps/lines", test_line_cases);
	g_test_add_func("/auth/maps/owners-contain", test_owners_contain);
	g_test_add_func("/auth/maps/owners-contain-utf8", test_owners_contain_utf8);
	for (gsize i = 0; i < G_N_ELEMENTS(senders_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/auth/maps/senders/validate/", senders_cases[i].label, NULL);

		g_test_add_data_func(path, &senders_cases[i], test_senders_validate);
	}
	g_test_add_func("/auth/maps/senders/lookup", test_senders_lookup);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/auth/maps/load/types", test_load_types);
	ADD("/auth/maps/load/errors", test_load_errors);
	ADD("/auth/maps/load/fresh", test_load_fresh);
#undef ADD
	return g_test_run();
}
