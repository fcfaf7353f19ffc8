/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-config-value: the number parsers at the edges of gint64 (every
 * unit, many digits, signs, blanks), bounds on keys, and describe (what -n -v
 * prints) reading back to the same value for every PcConfigType.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "pc-config-private.h"
#include "pc-config.h"

/* 1000 digits: far past anything strtoull or a gint64 holds */
#define MANY_DIGITS_LEN 1000

typedef enum {
	PARSE_DURATION,
	PARSE_SIZE,
	PARSE_INT,		/* an INT key without bounds, through pc_config_parse_value */
	PARSE_INT_BOUNDED,	/* an INT key with 1..100 */
	PARSE_DURATION_BOUNDED, /* a DURATION key with 1s..1d */
	PARSE_INT_LIST,
	PARSE_RATE, /* counts 1..10^12, as [rate.NAME] rate */
} ParseKind;

typedef struct {
	const char *label;
	ParseKind kind;
	const char *input; /* NULL: MANY_DIGITS_LEN nines, then suffix */
	const char *suffix;
	gint64 want; /* INT_LIST and RATE: the first item's value, or the first window's count */
	gint64 want_period_us;	 /* RATE: the first window's period */
	PcConfigError want_code; /* checked when want_error is set */
	const char *want_error;	 /* NULL: must parse; else the whole message */
} ParseCase;

#define D(n) PC_USEC(n)

static const ParseCase parse_cases[] = {
    /* durations: every unit, and the largest value each unit can hold */
    {.label = "duration/bare-seconds", .kind = PARSE_DURATION, .input = "30", .want = D(30)},
    {.label = "duration/ms", .kind = PARSE_DURATION, .input = "50ms", .want = 50000},
    {.label = "duration/s", .kind = PARSE_DURATION, .input = "30s", .want = D(30)},
    {.label = "duration/m", .kind = PARSE_DURATION, .input = "10m", .want = D(600)},
    {.label = "duration/h", .kind = PARSE_DURATION, .input = "1h", .want = D(3600)},
    {.label = "duration/d", .kind = PARSE_DURATION, .input = "2d", .want = D(2 * 86400)},
    {.label = "duration/w", .kind = PARSE_DURATION, .input = "1w", .want = D(7 * 86400)},
    {.label = "duration/zero", .kind = PARSE_DURATION, .input = "0s", .want = 0},
    {.label = "duration/leading-zeros", .kind = PARSE_DURATION, .input = "007s", .want = D(7)},
    {.label = "duration/max-ms",
     .kind = PARSE_DURATION,
     .input = "9223372036854775ms",
     .want = G_GINT64_CONSTANT(9223372036854775000)},
    {.label = "duration/max-s",
     .kind = PARSE_DURATION,
     .input = "9223372036854s",
     .want = G_GINT64_CONSTANT(9223372036854000000)},
    {.label = "duration/max-bare",
     .kind = PARSE_DURATION,
     .input = "9223372036854",
     .want = G_GINT64_CONSTANT(9223372036854000000)},
    {.label = "duration/max-m",
     .kind = PARSE_DURATION,
     .input = "153722867280m",
     .want = G_GINT64_CONSTANT(9223372036800000000)},
    {.label = "duration/max-h",
     .kind = PARSE_DURATION,
     .input = "2562047788h",
     .want = G_GINT64_CONSTANT(9223372036800000000)},
    {.label = "duration/max-d",
     .kind = PARSE_DURATION,
     .input = "106751991d",
     .want = G_GINT64_CONSTANT(9223372022400000000)},
    {.label = "duration/max-w",
     .kind = PARSE_DURATION,
     .input = "15250284w",
     .want = G_GINT64_CONSTANT(9223371763200000000)},
    /* one more of each unit: the product passes G_MAXINT64 */
    {.label = "duration/overflow-ms",
     .kind = PARSE_DURATION,
     .input = "9223372036854776ms",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9223372036854776ms' is too large for a duration"},
    {.label = "duration/overflow-s",
     .kind = PARSE_DURATION,
     .input = "9223372036855s",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9223372036855s' is too large for a duration"},
    {.label = "duration/overflow-bare",
     .kind = PARSE_DURATION,
     .input = "9223372036855",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9223372036855' is too large for a duration"},
    {.label = "duration/overflow-m",
     .kind = PARSE_DURATION,
     .input = "153722867281m",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'153722867281m' is too large for a duration"},
    {.label = "duration/overflow-h",
     .kind = PARSE_DURATION,
     .input = "2562047789h",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'2562047789h' is too large for a duration"},
    {.label = "duration/overflow-d",
     .kind = PARSE_DURATION,
     .input = "200000000d",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'200000000d' is too large for a duration"},
    {.label = "duration/overflow-w",
     .kind = PARSE_DURATION,
     .input = "15250285w",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'15250285w' is too large for a duration"},
    /* the number alone passes G_MAXINT64, and G_MAXUINT64 */
    {.label = "duration/number-past-int64",
     .kind = PARSE_DURATION,
     .input = "9223372036854775808s",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9223372036854775808s' is too large for a duration"},
    {.label = "duration/number-past-uint64",
     .kind = PARSE_DURATION,
     .input = "18446744073709551616ms",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'18446744073709551616ms' is too large for a duration"},
    {.label = "duration/many-digits",
     .kind = PARSE_DURATION,
     .suffix = "s",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9999999999999999999999999999999999999999999999999999999999999999...' "
		   "is too large for a duration"},
    {.label = "duration/negative",
     .kind = PARSE_DURATION,
     .input = "-5s",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'-5s' is not a duration (units: ms s m h d w)"},
    {.label = "duration/plus",
     .kind = PARSE_DURATION,
     .input = "+5s",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'+5s' is not a duration (units: ms s m h d w)"},
    {.label = "duration/empty",
     .kind = PARSE_DURATION,
     .input = "",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'' is not a duration (units: ms s m h d w)"},
    {.label = "duration/leading-blank",
     .kind = PARSE_DURATION,
     .input = " 5s",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "' 5s' is not a duration (units: ms s m h d w)"},
    {.label = "duration/trailing-blank",
     .kind = PARSE_DURATION,
     .input = "5s ",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5s ' is not a duration (units: ms s m h d w)"},
    {.label = "duration/inner-tab",
     .kind = PARSE_DURATION,
     .input = "5\ts",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5\\ts' is not a duration (units: ms s m h d w)"},
    {.label = "duration/unit-only",
     .kind = PARSE_DURATION,
     .input = "ms",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'ms' is not a duration (units: ms s m h d w)"},
    {.label = "duration/two-units",
     .kind = PARSE_DURATION,
     .input = "5sm",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5sm' is not a duration (units: ms s m h d w)"},
    {.label = "duration/upper-case",
     .kind = PARSE_DURATION,
     .input = "5S",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5S' is not a duration (units: ms s m h d w)"},
    {.label = "duration/hex",
     .kind = PARSE_DURATION,
     .input = "0x10s",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'0x10s' is not a duration (units: ms s m h d w)"},
    {.label = "duration/fraction",
     .kind = PARSE_DURATION,
     .input = "1.5h",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'1.5h' is not a duration (units: ms s m h d w)"},
    /* a bounded key: a huge value is "too large", not wrapped into (or below) the range */
    {.label = "duration-key/in-range",
     .kind = PARSE_DURATION_BOUNDED,
     .input = "1d",
     .want = D(86400)},
    {.label = "duration-key/above-max",
     .kind = PARSE_DURATION_BOUNDED,
     .input = "2d",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "172800s is out of range 1s..86400s"},
    {.label = "duration-key/overflow",
     .kind = PARSE_DURATION_BOUNDED,
     .input = "200000000d",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'200000000d' is too large for a duration"},

    /* sizes */
    {.label = "size/bare", .kind = PARSE_SIZE, .input = "512", .want = 512},
    {.label = "size/k", .kind = PARSE_SIZE, .input = "10k", .want = 10240},
    {.label = "size/K", .kind = PARSE_SIZE, .input = "10K", .want = 10240},
    {.label = "size/M", .kind = PARSE_SIZE, .input = "10M", .want = 10 * 1024 * 1024},
    {.label = "size/G", .kind = PARSE_SIZE, .input = "1G", .want = G_GINT64_CONSTANT(1) << 30},
    {.label = "size/past-int32",
     .kind = PARSE_SIZE,
     .input = "3000000000",
     .want = G_GINT64_CONSTANT(3000000000)},
    {.label = "size/max-bare",
     .kind = PARSE_SIZE,
     .input = "9223372036854775807",
     .want = G_MAXINT64},
    {.label = "size/max-k",
     .kind = PARSE_SIZE,
     .input = "9007199254740991k",
     .want = G_GINT64_CONSTANT(9223372036854774784)},
    {.label = "size/max-M",
     .kind = PARSE_SIZE,
     .input = "8796093022207M",
     .want = G_GINT64_CONSTANT(9223372036853727232)},
    {.label = "size/max-G",
     .kind = PARSE_SIZE,
     .input = "8589934591G",
     .want = G_GINT64_CONSTANT(9223372035781033984)},
    {.label = "size/overflow-bare",
     .kind = PARSE_SIZE,
     .input = "9223372036854775808",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9223372036854775808' is too large for a size"},
    {.label = "size/overflow-k",
     .kind = PARSE_SIZE,
     .input = "9007199254740992k",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9007199254740992k' is too large for a size"},
    {.label = "size/overflow-M",
     .kind = PARSE_SIZE,
     .input = "8796093022208M",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'8796093022208M' is too large for a size"},
    {.label = "size/overflow-G",
     .kind = PARSE_SIZE,
     .input = "8589934592G",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'8589934592G' is too large for a size"},
    {.label = "size/many-digits",
     .kind = PARSE_SIZE,
     .suffix = "",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9999999999999999999999999999999999999999999999999999999999999999...' "
		   "is too large for a size"},
    {.label = "size/negative",
     .kind = PARSE_SIZE,
     .input = "-1k",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'-1k' is not a size (units: k K M G)"},
    {.label = "size/plus",
     .kind = PARSE_SIZE,
     .input = "+1k",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'+1k' is not a size (units: k K M G)"},
    {.label = "size/empty",
     .kind = PARSE_SIZE,
     .input = "",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'' is not a size (units: k K M G)"},
    {.label = "size/blank-before-unit",
     .kind = PARSE_SIZE,
     .input = "1 k",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'1 k' is not a size (units: k K M G)"},
    {.label = "size/unknown-unit",
     .kind = PARSE_SIZE,
     .input = "1T",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'1T' is not a size (units: k K M G)"},

    /* whole numbers: optional '-', digits, nothing else */
    {.label = "int/zero", .kind = PARSE_INT, .input = "0", .want = 0},
    {.label = "int/negative", .kind = PARSE_INT, .input = "-5", .want = -5},
    {.label = "int/minus-zero", .kind = PARSE_INT, .input = "-0", .want = 0},
    {.label = "int/max", .kind = PARSE_INT, .input = "9223372036854775807", .want = G_MAXINT64},
    {.label = "int/min", .kind = PARSE_INT, .input = "-9223372036854775808", .want = G_MININT64},
    {.label = "int/above-max",
     .kind = PARSE_INT,
     .input = "9223372036854775808",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9223372036854775808' is too large"},
    {.label = "int/below-min",
     .kind = PARSE_INT,
     .input = "-9223372036854775809",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'-9223372036854775809' is too small"},
    {.label = "int/many-digits",
     .kind = PARSE_INT,
     .suffix = "",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9999999999999999999999999999999999999999999999999999999999999999...' "
		   "is too large"},
    {.label = "int/plus",
     .kind = PARSE_INT,
     .input = "+5",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'+5' is not a whole number"},
    {.label = "int/leading-blank",
     .kind = PARSE_INT,
     .input = " 5",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "' 5' is not a whole number"},
    {.label = "int/trailing-blank",
     .kind = PARSE_INT,
     .input = "5 ",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5 ' is not a whole number"},
    {.label = "int/empty",
     .kind = PARSE_INT,
     .input = "",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'' is not a whole number"},
    {.label = "int/minus-only",
     .kind = PARSE_INT,
     .input = "-",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'-' is not a whole number"},
    {.label = "int/double-minus",
     .kind = PARSE_INT,
     .input = "--5",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'--5' is not a whole number"},
    {.label = "int/unit",
     .kind = PARSE_INT,
     .input = "5k",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5k' is not a whole number"},
    {.label = "int-key/in-range", .kind = PARSE_INT_BOUNDED, .input = "100", .want = 100},
    {.label = "int-key/above-max",
     .kind = PARSE_INT_BOUNDED,
     .input = "101",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "101 is out of range 1..100"},
    {.label = "int-key/below-min",
     .kind = PARSE_INT_BOUNDED,
     .input = "-1",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "-1 is out of range 1..100"},
    /* 2^64 + 50 would have wrapped into range with unchecked arithmetic */
    {.label = "int-key/wraps-into-range",
     .kind = PARSE_INT_BOUNDED,
     .input = "18446744073709551666",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'18446744073709551666' is too large"},
    {.label = "int-list/ok", .kind = PARSE_INT_LIST, .input = "25, 587 465", .want = 25},
    {.label = "int-list/overflow",
     .kind = PARSE_INT_LIST,
     .input = "25; 99999999999999999999",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "item '99999999999999999999' is too large"},
    {.label = "int-list/plus",
     .kind = PARSE_INT_LIST,
     .input = "25; +587",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "item '+587' is not a whole number"},

    /* rates: counts take size suffixes, periods durations */
    {.label = "rate/size-suffix",
     .kind = PARSE_RATE,
     .input = "100M/1h",
     .want = 100 * 1024 * 1024,
     .want_period_us = D(3600)},
    {.label = "rate/size-G",
     .kind = PARSE_RATE,
     .input = "10G/1d",
     .want = G_GINT64_CONSTANT(10) << 30,
     .want_period_us = D(86400)},
    {.label = "rate/week",
     .kind = PARSE_RATE,
     .input = "1k/1w",
     .want = 1024,
     .want_period_us = D(7 * 86400)},
    {.label = "rate/max-count",
     .kind = PARSE_RATE,
     .input = "1000000000000/366d",
     .want = G_GINT64_CONSTANT(1000000000000),
     .want_period_us = D(366 * 86400)},
    {.label = "rate/count-above-max",
     .kind = PARSE_RATE,
     .input = "1000000000001/1h",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'1000000000001/1h': count 1000000000001 is out of range 1..1000000000000"},
    {.label = "rate/count-overflow-unit",
     .kind = PARSE_RATE,
     .input = "8589934592G/1h",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'8589934592G/1h': the count is too large"},
    {.label = "rate/count-overflow-digits",
     .kind = PARSE_RATE,
     .input = "99999999999999999999/1h",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'99999999999999999999/1h': the count is too large"},
    {.label = "rate/period-overflow",
     .kind = PARSE_RATE,
     .input = "5/200000000d",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'5/200000000d': the period must be 1s..366d"},
    {.label = "rate/period-overflow-digits",
     .kind = PARSE_RATE,
     .input = "5/99999999999999999999s",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'5/99999999999999999999s': the period must be 1s..366d"},
    {.label = "rate/period-too-long",
     .kind = PARSE_RATE,
     .input = "5/53w",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'5/53w': the period must be 1s..366d"},
    {.label = "rate/negative-count",
     .kind = PARSE_RATE,
     .input = "-5/1h",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'-5/1h' is not a rate (N/PERIOD, e.g. 60/1m; 500/1h)"},
    {.label = "rate/plus-count",
     .kind = PARSE_RATE,
     .input = "+5/1h",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'+5/1h' is not a rate (N/PERIOD, e.g. 60/1m; 500/1h)"},
    {.label = "rate/negative-period",
     .kind = PARSE_RATE,
     .input = "5/-1h",
     .want_code = PC_CONFIG_ERROR_VALUE,
     .want_error = "'5/-1h' is not a rate (N/PERIOD, e.g. 60/1m; 500/1h)"},
    {.label = "rate/many-digits",
     .kind = PARSE_RATE,
     .suffix = "/1h",
     .want_code = PC_CONFIG_ERROR_RANGE,
     .want_error = "'9999999999999999999999999999999999999999999999999999999999999999...': "
		   "the count is too large"},
};

typedef struct {
	gint64 plain;
	gint64 bounded;
	gint64 window;
	GArray *ports;
	GArray *rate;
} ParseSection;

static const PcConfigKey parse_keys[] = {
    [PARSE_INT] = {"plain", PC_CONFIG_INT, NULL, 0, 0, NULL, G_STRUCT_OFFSET(ParseSection, plain),
		   0, "unbounded"},
    [PARSE_INT_BOUNDED] = {"bounded", PC_CONFIG_INT, NULL, 1, 100, NULL,
			   G_STRUCT_OFFSET(ParseSection, bounded), 0, "1..100"},
    [PARSE_DURATION_BOUNDED] = {"window", PC_CONFIG_DURATION, NULL, PC_USEC(1), PC_USEC(86400),
				NULL, G_STRUCT_OFFSET(ParseSection, window), 0, "1s..1d"},
    [PARSE_INT_LIST] = {"ports", PC_CONFIG_INT_LIST, NULL, 0, 0, NULL,
			G_STRUCT_OFFSET(ParseSection, ports), 0, "a list"},
    [PARSE_RATE] = {"rate", PC_CONFIG_RATE, NULL, 1, G_GINT64_CONSTANT(1000000000000), NULL,
		    G_STRUCT_OFFSET(ParseSection, rate), 0, "a rate"},
};

/* parses c's input the way its kind says; the value is written to *value_out */
static gboolean
parse_case_run(const ParseCase *c, const char *input, gint64 *value_out, gint64 *period_out,
	       GError **error)
{
	ParseSection section = {0};
	gboolean ok = FALSE;

	switch (c->kind) {
	case PARSE_DURATION:
		return pc_config_parse_duration(input, value_out, error);
	case PARSE_SIZE:
		return pc_config_parse_size(input, value_out, error);
	case PARSE_INT:
	case PARSE_INT_BOUNDED:
	case PARSE_DURATION_BOUNDED:
		ok = pc_config_parse_value(&parse_keys[c->kind], input, &section, error);
		*value_out = G_STRUCT_MEMBER(gint64, &section, parse_keys[c->kind].offset);
		break;
	case PARSE_INT_LIST:
		ok = pc_config_parse_value(&parse_keys[c->kind], input, &section, error);
		if (ok)
			*value_out = g_array_index(section.ports, gint64, 0);
		break;
	case PARSE_RATE:
		ok = pc_config_parse_value(&parse_keys[c->kind], input, &section, error);
		if (ok) {
			*value_out = g_array_index(section.rate, PcConfigRateWindow, 0).count;
			*period_out = g_array_index(section.rate, PcConfigRateWindow, 0).period_us;
		}
		break;
	}
	/* only this key: the table has holes for the kinds parsed without one */
	pc_config_clear_fields(&parse_keys[c->kind], 1, &section);
	return ok;
}

static void
test_parse(gconstpointer data)
{
	const ParseCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autofree char *input = NULL;
	gint64 value = -1;
	gint64 period = -1;
	gboolean ok;

	if (c->input != NULL) {
		input = g_strdup(c->input);
	} else {
		g_autofree char *digits = g_strnfill(MANY_DIGITS_LEN, '9');

		input = g_strconcat(digits, c->suffix, NULL);
	}
	ok = parse_case_run(c, input, &value, &period, &error);
	if (c->want_error == NULL) {
		g_assert_no_error(error);
		g_assert_true(ok);
		g_assert_cmpint(value, ==, c->want);
		if (c->kind == PARSE_RATE)
			g_assert_cmpint(period, ==, c->want_period_us);
		return;
	}
	g_assert_false(ok);
	g_assert_error(error, PC_CONFIG_ERROR, (gint)c->want_code);
	g_assert_cmpstr(error->message, ==, c->want_error);
}

/* a failed parse leaves the out-parameter alone (STYLE rule 7) */
static void
test_parse_out_untouched(void)
{
	gint64 value = 42;

	g_assert_false(pc_config_parse_duration("200000000d", &value, NULL));
	g_assert_cmpint(value, ==, 42);
	g_assert_false(pc_config_parse_size("8589934592G", &value, NULL));
	g_assert_cmpint(value, ==, 42);
	g_assert_false(pc_config_parse_size("-1", &value, NULL));
	g_assert_cmpint(value, ==, 42);
}

/*
 * --- describe: what -n -v prints must read back to the same value ---
 */

typedef struct {
	char *string;
	char **list;
	gboolean flag;
	gint64 number;
	gint64 duration;
	gint64 size;
	int mode;
	PcNetList *networks;
	char **domains;
	GArray *ports;
	GArray *rate;
} TripSection;

static const char *const trip_choices[] = {"tempfail", "accept", "Quarantine", NULL};

/* indexed by PcConfigType: one key of each type */
static const PcConfigKey trip_keys[] = {
    [PC_CONFIG_STRING] = {"string", PC_CONFIG_STRING, NULL, 0, 0, NULL,
			  G_STRUCT_OFFSET(TripSection, string), 0, "a string"},
    [PC_CONFIG_STRING_LIST] = {"list", PC_CONFIG_STRING_LIST, NULL, 0, 0, NULL,
			       G_STRUCT_OFFSET(TripSection, list), 0, "a list"},
    [PC_CONFIG_BOOL] = {"flag", PC_CONFIG_BOOL, NULL, 0, 0, NULL,
			G_STRUCT_OFFSET(TripSection, flag), 0, "a boolean"},
    [PC_CONFIG_INT] = {"number", PC_CONFIG_INT, NULL, 0, 0, NULL,
		       G_STRUCT_OFFSET(TripSection, number), 0, "a number"},
    [PC_CONFIG_DURATION] = {"duration", PC_CONFIG_DURATION, NULL, 0, 0, NULL,
			    G_STRUCT_OFFSET(TripSection, duration), 0, "a duration"},
    [PC_CONFIG_SIZE] = {"size", PC_CONFIG_SIZE, NULL, 0, 0, NULL,
			G_STRUCT_OFFSET(TripSection, size), 0, "a size"},
    [PC_CONFIG_ENUM] = {"mode", PC_CONFIG_ENUM, NULL, 0, 0, trip_choices,
			G_STRUCT_OFFSET(TripSection, mode), 0, "an enum"},
    [PC_CONFIG_NETWORKS] = {"networks", PC_CONFIG_NETWORKS, NULL, 0, 0, NULL,
			    G_STRUCT_OFFSET(TripSection, networks), 0, "networks"},
    [PC_CONFIG_DOMAINS] = {"domains", PC_CONFIG_DOMAINS, NULL, 0, 0, NULL,
			   G_STRUCT_OFFSET(TripSection, domains), 0, "domains"},
    [PC_CONFIG_INT_LIST] = {"ports", PC_CONFIG_INT_LIST, NULL, 0, 65535, NULL,
			    G_STRUCT_OFFSET(TripSection, ports), 0, "ports"},
    [PC_CONFIG_RATE] = {"rate", PC_CONFIG_RATE, NULL, 1, G_GINT64_CONSTANT(1000000000000), NULL,
			G_STRUCT_OFFSET(TripSection, rate), 0, "a rate"},
};

typedef struct {
	const char *label;
	PcConfigType type;
	const char *input;
	const char *want; /* what describe prints: the form the parser prefers */
} TripCase;

static const TripCase trip_cases[] = {
    {.label = "string",
     .type = PC_CONFIG_STRING,
     .input = "/run/portcullis/relay.sock",
     .want = "/run/portcullis/relay.sock"},
    {.label = "string-empty", .type = PC_CONFIG_STRING, .input = "", .want = ""},
    {.label = "list",
     .type = PC_CONFIG_STRING_LIST,
     .input = "mx, submission\tsmtps;;internal",
     .want = "mx; submission; smtps; internal"},
    {.label = "list-empty", .type = PC_CONFIG_STRING_LIST, .input = "", .want = ""},
    {.label = "bool-on", .type = PC_CONFIG_BOOL, .input = "on", .want = "yes"},
    {.label = "bool-0", .type = PC_CONFIG_BOOL, .input = "0", .want = "no"},
    {.label = "int", .type = PC_CONFIG_INT, .input = "007", .want = "7"},
    {.label = "int-negative", .type = PC_CONFIG_INT, .input = "-5", .want = "-5"},
    {.label = "int-min",
     .type = PC_CONFIG_INT,
     .input = "-9223372036854775808",
     .want = "-9223372036854775808"},
    {.label = "duration-zero", .type = PC_CONFIG_DURATION, .input = "0ms", .want = "0s"},
    {.label = "duration-ms", .type = PC_CONFIG_DURATION, .input = "50ms", .want = "50ms"},
    {.label = "duration-ms-uneven",
     .type = PC_CONFIG_DURATION,
     .input = "1500ms",
     .want = "1500ms"},
    {.label = "duration-ms-to-s", .type = PC_CONFIG_DURATION, .input = "2000ms", .want = "2s"},
    {.label = "duration-bare", .type = PC_CONFIG_DURATION, .input = "30", .want = "30s"},
    {.label = "duration-s-uneven", .type = PC_CONFIG_DURATION, .input = "90s", .want = "90s"},
    {.label = "duration-s-to-m", .type = PC_CONFIG_DURATION, .input = "600", .want = "10m"},
    {.label = "duration-h", .type = PC_CONFIG_DURATION, .input = "3600s", .want = "1h"},
    {.label = "duration-d", .type = PC_CONFIG_DURATION, .input = "48h", .want = "2d"},
    {.label = "duration-w", .type = PC_CONFIG_DURATION, .input = "14d", .want = "2w"},
    {.label = "duration-days-uneven", .type = PC_CONFIG_DURATION, .input = "35d", .want = "5w"},
    {.label = "duration-max",
     .type = PC_CONFIG_DURATION,
     .input = "9223372036854775ms",
     .want = "9223372036854775ms"},
    {.label = "size-zero", .type = PC_CONFIG_SIZE, .input = "0G", .want = "0"},
    {.label = "size-bytes", .type = PC_CONFIG_SIZE, .input = "512", .want = "512"},
    {.label = "size-k", .type = PC_CONFIG_SIZE, .input = "10K", .want = "10k"},
    {.label = "size-k-uneven", .type = PC_CONFIG_SIZE, .input = "1536k", .want = "1536k"},
    {.label = "size-M", .type = PC_CONFIG_SIZE, .input = "10240k", .want = "10M"},
    {.label = "size-G", .type = PC_CONFIG_SIZE, .input = "10737418240", .want = "10G"},
    {.label = "size-max",
     .type = PC_CONFIG_SIZE,
     .input = "9223372036854775807",
     .want = "9223372036854775807"},
    {.label = "enum", .type = PC_CONFIG_ENUM, .input = "ACCEPT", .want = "accept"},
    {.label = "enum-mixed-case",
     .type = PC_CONFIG_ENUM,
     .input = "quarantine",
     .want = "Quarantine"},
    {.label = "networks",
     .type = PC_CONFIG_NETWORKS,
     .input = "127.0.0.0/8; ::1/128",
     .want = "127.0.0.0/8; ::1/128"},
    {.label = "networks-hosts",
     .type = PC_CONFIG_NETWORKS,
     .input = "192.0.2.1, 2001:DB8::/32 ::ffff:10.0.0.0/104",
     .want = "192.0.2.1/32; 2001:db8::/32; 10.0.0.0/8"},
    {.label = "networks-empty", .type = PC_CONFIG_NETWORKS, .input = "", .want = ""},
    {.label = "domains",
     .type = PC_CONFIG_DOMAINS,
     .input = "Example.COM.; .example.net, [192.0.2.1]",
     .want = "example.com; .example.net; [192.0.2.1]"},
    {.label = "int-list",
     .type = PC_CONFIG_INT_LIST,
     .input = "25, 587 465",
     .want = "25; 587; 465"},
    {.label = "int-list-empty", .type = PC_CONFIG_INT_LIST, .input = "", .want = ""},
    {.label = "rate",
     .type = PC_CONFIG_RATE,
     .input = "60/1m; 500/1h; 2000/1d; 7/90s",
     .want = "60/1m; 500/1h; 2000/1d; 7/90s"},
    {.label = "rate-size-count", .type = PC_CONFIG_RATE, .input = "10G/1h", .want = "10G/1h"},
    {.label = "rate-bare",
     .type = PC_CONFIG_RATE,
     .input = "10737418240/3600; 60/m",
     .want = "10G/1h; 60/1m"},
    {.label = "rate-week", .type = PC_CONFIG_RATE, .input = "1000/604800", .want = "1000/1w"},
    {.label = "rate-uneven-count", .type = PC_CONFIG_RATE, .input = "1025/1d", .want = "1025/1d"},
};

static void
assert_int_arrays_equal(const GArray *a, const GArray *b)
{
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	g_assert_cmpmem(a->data, a->len * sizeof(gint64), b->data, b->len * sizeof(gint64));
}

static void
assert_networks_equal(const PcNetList *a, const PcNetList *b)
{
	g_assert_cmpuint(pc_net_list_length(a), ==, pc_net_list_length(b));
	for (guint i = 0; i < pc_net_list_length(a); i++) {
		char text_a[PC_NET_ADDRESS_STRLEN];
		char text_b[PC_NET_ADDRESS_STRLEN];

		g_assert_cmpstr(pc_net_list_entry_to_string(a, i, text_a, sizeof(text_a)), ==,
				pc_net_list_entry_to_string(b, i, text_b, sizeof(text_b)));
	}
}

/* the field of type in a and b holds the same value */
static void
assert_fields_equal(PcConfigType type, const TripSection *a, const TripSection *b)
{
	switch (type) {
	case PC_CONFIG_STRING:
		g_assert_cmpstr(a->string, ==, b->string);
		break;
	case PC_CONFIG_STRING_LIST:
		g_assert_true(
		    g_strv_equal((const char *const *)a->list, (const char *const *)b->list));
		break;
	case PC_CONFIG_BOOL:
		g_assert_cmpint(a->flag, ==, b->flag);
		break;
	case PC_CONFIG_INT:
		g_assert_cmpint(a->number, ==, b->number);
		break;
	case PC_CONFIG_DURATION:
		g_assert_cmpint(a->duration, ==, b->duration);
		break;
	case PC_CONFIG_SIZE:
		g_assert_cmpint(a->size, ==, b->size);
		break;
	case PC_CONFIG_ENUM:
		g_assert_cmpint(a->mode, ==, b->mode);
		break;
	case PC_CONFIG_NETWORKS:
		assert_networks_equal(a->networks, b->networks);
		break;
	case PC_CONFIG_DOMAINS:
		g_assert_true(
		    g_strv_equal((const char *const *)a->domains, (const char *const *)b->domains));
		break;
	case PC_CONFIG_INT_LIST:
		assert_int_arrays_equal(a->ports, b->ports);
		break;
	case PC_CONFIG_RATE:
		g_assert_nonnull(a->rate);
		g_assert_nonnull(b->rate);
		g_assert_cmpmem(a->rate->data, a->rate->len * sizeof(PcConfigRateWindow),
				b->rate->data, b->rate->len * sizeof(PcConfigRateWindow));
		break;
	}
}

static char *
describe_field(const PcConfigKey *key, const TripSection *section)
{
	g_autoptr(GString) out = g_string_new(NULL);

	pc_config_describe_value(out, key, section);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* text -> value -> text -> value: the two values equal, the two texts equal */
static void
test_round_trip(gconstpointer data)
{
	const TripCase *c = data;
	const PcConfigKey *key = &trip_keys[c->type];
	g_autoptr(GError) error = NULL;
	TripSection first = {0};
	TripSection second = {0};
	g_autofree char *text = NULL;
	g_autofree char *text_again = NULL;

	g_assert_cmpint(key->type, ==, c->type);
	g_assert_true(pc_config_parse_value(key, c->input, &first, &error));
	g_assert_no_error(error);
	text = describe_field(key, &first);
	g_assert_cmpstr(text, ==, c->want);

	g_assert_true(pc_config_parse_value(key, text, &second, &error));
	g_assert_no_error(error);
	assert_fields_equal(c->type, &first, &second);
	text_again = describe_field(key, &second);
	g_assert_cmpstr(text_again, ==, text);

	pc_config_clear_fields(key, 1, &first);
	pc_config_clear_fields(key, 1, &second);
}

/* a type added to PcConfigType without a round-trip case fails here */
static void
test_round_trip_covers_every_type(void)
{
	for (int type = PC_CONFIG_STRING; type <= PC_CONFIG_RATE; type++) {
		gboolean covered = FALSE;

		for (gsize i = 0; i < G_N_ELEMENTS(trip_cases); i++)
			covered |= (int)trip_cases[i].type == type;
		g_test_message("type %d", type);
		g_assert_true(covered);
		g_assert_cmpint(trip_keys[type].type, ==, type);
	}
	g_assert_cmpuint(G_N_ELEMENTS(trip_keys), ==, PC_CONFIG_RATE + 1);
}

static void
test_round_trip_unset(void)
{
	TripSection section = {0};
	g_autofree char *networks = describe_field(&trip_keys[PC_CONFIG_NETWORKS], &section);
	g_autofree char *list = describe_field(&trip_keys[PC_CONFIG_STRING_LIST], &section);
	g_autofree char *ports = describe_field(&trip_keys[PC_CONFIG_INT_LIST], &section);
	g_autofree char *rate = describe_field(&trip_keys[PC_CONFIG_RATE], &section);

	/* fields never filled (NULL) describe as empty rather than crash */
	g_assert_cmpstr(networks, ==, "");
	g_assert_cmpstr(list, ==, "");
	g_assert_cmpstr(ports, ==, "");
	g_assert_cmpstr(rate, ==, "");
}

static const PcConfigSchema trip_schema = {
    .name = "relay",
    .keys = trip_keys,
    .n_keys = G_N_ELEMENTS(trip_keys),
    .size = sizeof(TripSection),
};

/*
 * the whole of -n -v: a file with a key of each type and [global]'s own
 * durations and networks, described, written back as a file, loaded and
 * described again, gives the same text
 */
static void
test_describe_file_reads_back(void)
{
	g_autofree char *dir = g_dir_make_tmp("pc-config-value-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "portcullis.conf", NULL);
	g_autofree char *path_again = g_build_filename(dir, "described.conf", NULL);
	g_autofree char *domains = g_build_filename(dir, "domains.d", NULL);
	g_autofree char *text = NULL;
	g_autofree char *described = NULL;
	g_autofree char *described_again = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autoptr(PcConfig) config_again = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_nonnull(dir);
	g_assert_cmpint(g_mkdir(domains, 0700), ==, 0);
	text = g_strdup_printf("[global]\n"
			       "domains_dir = %s\n"
			       "user =\n"
			       "trusted_networks = 10.0.0.0/8, 192.0.2.7 2001:db8::/32\n"
			       "store_timeout = 1500ms\n"
			       "store_connect_timeout = 2s\n"
			       "[relay]\n"
			       "string = hello\n"
			       "list = a b c\n"
			       "flag = on\n"
			       "number = -3\n"
			       "duration = 86400\n"
			       "size = 1048576\n"
			       "mode = Accept\n"
			       "networks = ::1\n"
			       "domains = Example.ORG\n"
			       "ports = 25 587\n"
			       "rate = 10737418240/3600; 100/60\n",
			       domains);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	config = pc_config_load(path, &trip_schema, &error);
	g_assert_no_error(error);
	described = pc_config_describe(config);
	g_test_message("%s", described);
	g_assert_nonnull(
	    strstr(described, "trusted_networks = 10.0.0.0/8; 192.0.2.7/32; 2001:db8::/32\n"));
	g_assert_nonnull(strstr(described, "store_timeout = 1500ms\n"));
	g_assert_nonnull(strstr(described, "duration = 1d\n"));
	g_assert_nonnull(strstr(described, "size = 1M\n"));
	g_assert_nonnull(strstr(described, "rate = 10G/1h; 100/1m\n"));

	g_assert_true(g_file_set_contents(path_again, described, -1, NULL));
	config_again = pc_config_load(path_again, &trip_schema, &error);
	g_assert_no_error(error);
	described_again = pc_config_describe(config_again);
	g_assert_cmpstr(described_again, ==, described);

	g_unlink(path);
	g_unlink(path_again);
	g_rmdir(domains);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/config-value/parse/", parse_cases[i].label, NULL);

		g_test_add_data_func(path, &parse_cases[i], test_parse);
	}
	g_test_add_func("/pc/config-value/parse/out-untouched", test_parse_out_untouched);
	for (gsize i = 0; i < G_N_ELEMENTS(trip_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/config-value/round-trip/", trip_cases[i].label, NULL);

		g_test_add_data_func(path, &trip_cases[i], test_round_trip);
	}
	g_test_add_func("/pc/config-value/round-trip-every-type",
			test_round_trip_covers_every_type);
	g_test_add_func("/pc/config-value/describe-unset", test_round_trip_unset);
	g_test_add_func("/pc/config-value/describe-file-reads-back", test_describe_file_reads_back);
	return g_test_run();
}
