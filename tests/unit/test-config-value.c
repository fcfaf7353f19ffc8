/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-config-value: the number parsers at the edges of gint64 (every
 * unit, many digits, signs, blanks), and bounds on keys.
 */
#include <string.h>

#include "pc-config-private.h"
#include "pc-config.h"

/* 1000 digits: far past anything strtoull or a gint64 holds */
#define MANY_DIGITS_LEN 1000

typedef enum {
	PARSE_DURATION,
	PARSE_SIZE,
	PARSE_INT,     /* an INT key without bounds, through pc_config_parse_value */
	PARSE_INT_BOUNDED, /* an INT key with 1..100 */
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
	gint64 want_period_us; /* RATE: the first window's period */
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
    {.label = "duration-key/in-range", .kind = PARSE_DURATION_BOUNDED, .input = "1d",
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
    {.label = "size/past-int32", .kind = PARSE_SIZE, .input = "3000000000",
     .want = G_GINT64_CONSTANT(3000000000)},
    {.label = "size/max-bare", .kind = PARSE_SIZE, .input = "9223372036854775807",
     .want = G_MAXINT64},
    {.label = "size/max-k", .kind = PARSE_SIZE, .input = "9007199254740991k",
     .want = G_GINT64_CONSTANT(9223372036854774784)},
    {.label = "size/max-M", .kind = PARSE_SIZE, .input = "8796093022207M",
     .want = G_GINT64_CONSTANT(9223372036853727232)},
    {.label = "size/max-G", .kind = PARSE_SIZE, .input = "8589934591G",
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
    {.label = "rate/size-suffix", .kind = PARSE_RATE, .input = "100M/1h",
     .want = 100 * 1024 * 1024, .want_period_us = D(3600)},
    {.label = "rate/size-G", .kind = PARSE_RATE, .input = "10G/1d",
     .want = G_GINT64_CONSTANT(10) << 30, .want_period_us = D(86400)},
    {.label = "rate/week", .kind = PARSE_RATE, .input = "1k/1w", .want = 1024,
     .want_period_us = D(7 * 86400)},
    {.label = "rate/max-count", .kind = PARSE_RATE, .input = "1000000000000/366d",
     .want = G_GINT64_CONSTANT(1000000000000), .want_period_us = D(366 * 86400)},
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
	return g_test_run();
}
