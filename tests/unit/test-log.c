/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-log's escaping of hostile values: pc_log_append_safe for
 * values written bare in key=value lines, pc_log_append_quoted for values
 * written between quotes. Each case is checked against both, and every
 * output against the property that matters: no byte of it can end the value
 * early or start a forged field. And PcLogLimiter, with time passed in.
 */
#include <string.h>

#include "pc-log.h"

typedef struct {
	const char *label;
	const char *value;	 /* NULL: pc_log_* get NULL */
	gsize repeat;		 /* > 0: value repeated this many times instead */
	const char *want_safe;	 /* NULL: not compared whole (long values) */
	const char *want_quoted; /* likewise */
} LogEscapeCase;

static const LogEscapeCase escape_cases[] = {
    {.label = "plain",
     .value = "a@example.com",
     .want_safe = "a@example.com",
     .want_quoted = "\"a@example.com\""},
    {.label = "empty", .value = "", .want_safe = "", .want_quoted = "\"\""},
    {.label = "null", .value = NULL, .want_safe = "-", .want_quoted = "-"},
    {.label = "comma",
     .value = "Rate limit exceeded, try again",
     .want_safe = "Rate limit exceeded\\x2C try again",
     .want_quoted = "\"Rate limit exceeded, try again\""},
    {.label = "forged-field",
     .value = "x, action=accept",
     .want_safe = "x\\x2C action=accept",
     .want_quoted = "\"x, action=accept\""},
    {.label = "forged-quote",
     .value = "x\", action=\"accept",
     .want_safe = "x\\x22\\x2C action=\\x22accept",
     .want_quoted = "\"x\\x22, action=\\x22accept\""},
    {.label = "backslash",
     .value = "a\\x2Cb\\",
     .want_safe = "a\\x5Cx2Cb\\x5C",
     .want_quoted = "\"a\\x5Cx2Cb\\x5C\""},
    {.label = "cr-lf",
     .value = "line\r\nQUEUEID: relay: action=accept",
     .want_safe = "line\\x0D\\x0AQUEUEID: relay: action=accept",
     .want_quoted = "\"line\\x0D\\x0AQUEUEID: relay: action=accept\""},
    {.label = "tab-and-escape",
     .value = "a\tb\033[31m",
     .want_safe = "a\\x09b\\x1B[31m",
     .want_quoted = "\"a\\x09b\\x1B[31m\""},
    {.label = "del", .value = "a\177b", .want_safe = "a\\x7Fb", .want_quoted = "\"a\\x7Fb\""},
    {.label = "8-bit",
     .value = "caf\303\251 \377",
     .want_safe = "caf\\xC3\\xA9 \\xFF",
     .want_quoted = "\"caf\\xC3\\xA9 \\xFF\""},
    {.label = "blanks-kept", .value = " a  b ", .want_safe = " a  b ", .want_quoted = "\" a  b \""},
    /* the limit counts input bytes: exactly PC_LOG_MAX_VALUE is whole */
    {.label = "at-limit", .value = "a", .repeat = PC_LOG_MAX_VALUE},
    {.label = "over-limit", .value = "a", .repeat = PC_LOG_MAX_VALUE + 1},
    {.label = "far-over-limit", .value = ",\"", .repeat = 4096},
};

static char *
case_value(const LogEscapeCase *c)
{
	g_autoptr(GString) value = NULL;

	if (c->value == NULL)
		return NULL;
	if (c->repeat == 0)
		return g_strdup(c->value);
	value = g_string_new(NULL);
	for (gsize i = 0; i < c->repeat; i++)
		g_string_append(value, c->value);
	return g_string_free(g_steal_pointer(&value), FALSE);
}

/* bytes of value before the cut, and whether there is one */
static gsize
input_bytes_kept(const char *value, gboolean *cut_out)
{
	gsize len = strlen(value);

	*cut_out = len > PC_LOG_MAX_VALUE;
	return MIN(len, PC_LOG_MAX_VALUE);
}

/* no byte that could end a value or a line, in text of len bytes */
static void
assert_inert(const char *text, gsize len, gboolean commas_allowed)
{
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)text[i];

		g_assert_cmpint(c, >=, 0x20);
		g_assert_cmpint(c, <, 0x7f);
		g_assert_cmpint(c, !=, '"');
		if (!commas_allowed)
			g_assert_cmpint(c, !=, ',');
		/* a backslash only ever starts an escape of our own */
		if (c == '\\') {
			g_assert_cmpuint(i + 3, <, len + 1);
			g_assert_cmpint(text[i + 1], ==, 'x');
			g_assert_true(g_ascii_isxdigit(text[i + 2]) &&
				      g_ascii_isxdigit(text[i + 3]));
		}
	}
}

static void
test_escape(gconstpointer data)
{
	const LogEscapeCase *c = data;
	g_autofree char *value = case_value(c);
	g_autoptr(GString) safe = g_string_new("from=");
	g_autoptr(GString) quoted = g_string_new("reply=");
	const char *safe_value;
	const char *quoted_value;
	gsize quoted_len;

	pc_log_append_safe(safe, value);
	pc_log_append_quoted(quoted, value);
	/* appended, never replacing what the line already had */
	g_assert_true(g_str_has_prefix(safe->str, "from="));
	g_assert_true(g_str_has_prefix(quoted->str, "reply="));
	safe_value = safe->str + strlen("from=");
	quoted_value = quoted->str + strlen("reply=");

	if (c->want_safe != NULL)
		g_assert_cmpstr(safe_value, ==, c->want_safe);
	if (c->want_quoted != NULL)
		g_assert_cmpstr(quoted_value, ==, c->want_quoted);
	if (value == NULL)
		return;

	assert_inert(safe_value, strlen(safe_value), FALSE);
	quoted_len = strlen(quoted_value);
	g_assert_cmpuint(quoted_len, >=, 2);
	g_assert_cmpint(quoted_value[0], ==, '"');
	g_assert_cmpint(quoted_value[quoted_len - 1], ==, '"');
	assert_inert(quoted_value + 1, quoted_len - 2, TRUE);
}

/* the cut: PC_LOG_MAX_VALUE input bytes, then "...", inside the quotes for the quoted form */
static void
test_escape_limit(gconstpointer data)
{
	const LogEscapeCase *c = data;
	g_autofree char *value = case_value(c);
	g_autoptr(GString) safe = g_string_new(NULL);
	g_autoptr(GString) quoted = g_string_new(NULL);
	g_autoptr(GString) want_safe = g_string_new(NULL);
	g_autoptr(GString) want_quoted = g_string_new("\"");
	gboolean cut = FALSE;
	gsize kept = input_bytes_kept(value, &cut);

	for (gsize i = 0; i < kept; i++) {
		guchar ch = (guchar)value[i];

		if (ch == ',' || ch == '"')
			g_string_append_printf(want_safe, "\\x%02X", ch);
		else
			g_string_append_c(want_safe, (char)ch);
		if (ch == '"')
			g_string_append_printf(want_quoted, "\\x%02X", ch);
		else
			g_string_append_c(want_quoted, (char)ch);
	}
	if (cut) {
		g_string_append(want_safe, "...");
		g_string_append(want_quoted, "...");
	}
	g_string_append_c(want_quoted, '"');

	pc_log_append_safe(safe, value);
	pc_log_append_quoted(quoted, value);
	g_assert_cmpstr(safe->str, ==, want_safe->str);
	g_assert_cmpstr(quoted->str, ==, want_quoted->str);
}

static void
test_guards(void)
{
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*out != NULL*");
	pc_log_append_quoted(NULL, "x");
	g_test_assert_expected_messages();
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*out != NULL*");
	pc_log_append_safe(NULL, "x");
	g_test_assert_expected_messages();
}

/*
 * --- PcLogLimiter ---
 */

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)

typedef struct {
	const char *what; /* "event", "flush"; NULL ends the steps */
	gint64 now_us;
	gboolean want_logged;
	guint64 want_suppressed; /* when logged */
} LimiterStep;

typedef struct {
	const char *label;
	gint64 interval_us;
	LimiterStep steps[10];
} LimiterCase;

static const LimiterCase limiter_cases[] = {
    {.label = "first-logged",
     .interval_us = S(60),
     .steps = {{.what = "event", .now_us = 0, .want_logged = TRUE}}},
    {.label = "first-logged-any-time",
     .interval_us = S(60),
     .steps = {{.what = "event", .now_us = G_MININT64 + 1, .want_logged = TRUE}}},
    {.label = "held-back-then-counted",
     .interval_us = S(60),
     .steps = {{.what = "event", .now_us = S(100), .want_logged = TRUE},
	       {.what = "event", .now_us = S(101)},
	       {.what = "event", .now_us = S(159)},
	       {.what = "event", .now_us = S(160) - 1},
	       {.what = "event", .now_us = S(160), .want_logged = TRUE, .want_suppressed = 3},
	       {.what = "event", .now_us = S(161)},
	       {.what = "event", .now_us = S(1000), .want_logged = TRUE, .want_suppressed = 1},
	       {.what = "event", .now_us = S(2000), .want_logged = TRUE}}},
    {.label = "flush-nothing-owed",
     .interval_us = S(60),
     .steps = {{.what = "flush", .now_us = 0},
	       {.what = "event", .now_us = 0, .want_logged = TRUE},
	       {.what = "flush", .now_us = S(100)}}},
    {.label = "flush-waits-for-interval",
     .interval_us = S(60),
     .steps = {{.what = "event", .now_us = 0, .want_logged = TRUE},
	       {.what = "event", .now_us = S(1)},
	       {.what = "flush", .now_us = S(30)},
	       {.what = "flush", .now_us = S(60), .want_logged = TRUE, .want_suppressed = 1},
	       {.what = "flush", .now_us = S(61)},
	       /* the flushed line started an interval of its own */
	       {.what = "event", .now_us = S(62)},
	       {.what = "event", .now_us = S(119)},
	       {.what = "event", .now_us = S(120), .want_logged = TRUE, .want_suppressed = 2}}},
    {.label = "no-wrap-near-max",
     .interval_us = S(60),
     .steps = {{.what = "event", .now_us = G_MAXINT64 - 10, .want_logged = TRUE},
	       {.what = "event", .now_us = G_MAXINT64 - 5}}},
    {.label = "zero-interval",
     .interval_us = 0,
     .steps = {{.what = "event", .now_us = 5, .want_logged = TRUE},
	       {.what = "event", .now_us = 5, .want_logged = TRUE},
	       {.what = "flush", .now_us = 5}}},
};

static void
test_limiter(gconstpointer data)
{
	const LimiterCase *c = data;
	PcLogLimiter limiter;

	pc_log_limiter_init(&limiter, c->interval_us);
	for (gsize i = 0; i < G_N_ELEMENTS(c->steps) && c->steps[i].what != NULL; i++) {
		const LimiterStep *step = &c->steps[i];
		guint64 suppressed = G_MAXUINT64;
		gboolean logged = g_str_equal(step->what, "event")
				      ? pc_log_limiter_event(&limiter, step->now_us, &suppressed)
				      : pc_log_limiter_flush(&limiter, step->now_us, &suppressed);

		g_test_message("step %" G_GSIZE_FORMAT ": %s at %" G_GINT64_FORMAT, i, step->what,
			       step->now_us);
		g_assert_cmpint(logged, ==, step->want_logged);
		if (logged)
			g_assert_cmpuint(suppressed, ==, step->want_suppressed);
		else
			g_assert_cmpuint(suppressed, ==, G_MAXUINT64);
	}
}

/*
 * the reported case: a store flapping for 8 s wrote 49 outage lines. One
 * flap every 10 ms for 8 s is one line, and the next one a minute later says
 * how many were held back
 */
static void
test_limiter_flapping(void)
{
	PcLogLimiter limiter;
	guint lines = 0;
	guint64 suppressed = 0;

	pc_log_limiter_init(&limiter, S(60));
	for (gint64 now = S(3600); now < S(3608); now += 10 * 1000)
		lines += pc_log_limiter_event(&limiter, now, NULL) ? 1 : 0;
	g_assert_cmpuint(lines, ==, 1);
	g_assert_true(pc_log_limiter_event(&limiter, S(3660), &suppressed));
	g_assert_cmpuint(suppressed, ==, 799);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(escape_cases); i++) {
		const LogEscapeCase *c = &escape_cases[i];
		g_autofree char *path = g_strconcat("/pc/log/escape/", c->label, NULL);

		g_test_add_data_func(path, c, c->repeat > 0 ? test_escape_limit : test_escape);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(limiter_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/log/limiter/", limiter_cases[i].label, NULL);

		g_test_add_data_func(path, &limiter_cases[i], test_limiter);
	}
	g_test_add_func("/pc/log/limiter/flapping", test_limiter_flapping);
	g_test_add_func("/pc/log/guards", test_guards);
	return g_test_run();
}
