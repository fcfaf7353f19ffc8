/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the config value parsers, one value at a time: the
 * first input byte chooses the parser, the rest (up to a NUL, as GKeyFile
 * would hand it over) is the value.
 *
 * Besides sanitizer reports (a number times its unit must not overflow) it
 * checks what the loader relies on: errors are PC_CONFIG_ERROR, parsed values
 * lie within their bounds, lists hold what the text lists, and the text -n
 * prints for a value (pc_config_describe_value) reads back as the same value.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-config-private.h"
#include "pc-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

/* a rate's count bounds, as [rate.NAME] rate has them */
#define FUZZ_RATE_MIN 1
#define FUZZ_RATE_MAX G_GINT64_CONSTANT(1000000000000)

typedef enum {
	FUZZ_BOOL,
	FUZZ_DURATION,
	FUZZ_SIZE,
	FUZZ_RATE,
	FUZZ_SPLIT_LIST,
	FUZZ_INT,
	FUZZ_ENUM,
	FUZZ_NETWORKS,
	FUZZ_DOMAINS,
	FUZZ_INT_LIST,
	FUZZ_STRING_LIST,
	FUZZ_LAST,
} FuzzParser;

/* one field per schema type, filled through pc_config_parse_value */
typedef struct {
	gboolean flag;
	char **split;
	gint64 number;
	int choice;
	PcNetList *networks;
	char **domains;
	GArray *ports;
	char **words;
	gint64 duration;
	gint64 size;
	GArray *rate;
} FuzzSection;

static const char *const fuzz_choices[] = {"tempfail", "accept", "reject", NULL};

/* a key for every parser (no holes: clearing walks them all), bounds like the daemons' */
static const PcConfigKey fuzz_keys[] = {
    [FUZZ_BOOL] = {"flag", PC_CONFIG_BOOL, NULL, 0, 0, NULL, G_STRUCT_OFFSET(FuzzSection, flag), 0,
		   "bool"},
    [FUZZ_SPLIT_LIST] = {"split", PC_CONFIG_STRING_LIST, NULL, 0, 0, NULL,
			 G_STRUCT_OFFSET(FuzzSection, split), 0, "pc_config_split_list"},
    [FUZZ_INT] = {"number", PC_CONFIG_INT, NULL, 0, 1000000, NULL,
		  G_STRUCT_OFFSET(FuzzSection, number), 0, "int"},
    [FUZZ_ENUM] = {"choice", PC_CONFIG_ENUM, NULL, 0, 0, fuzz_choices,
		   G_STRUCT_OFFSET(FuzzSection, choice), 0, "enum"},
    [FUZZ_NETWORKS] = {"networks", PC_CONFIG_NETWORKS, NULL, 0, 0, NULL,
		       G_STRUCT_OFFSET(FuzzSection, networks), 0, "networks"},
    [FUZZ_DOMAINS] = {"domains", PC_CONFIG_DOMAINS, NULL, 0, 0, NULL,
		      G_STRUCT_OFFSET(FuzzSection, domains), 0, "domains"},
    [FUZZ_INT_LIST] = {"ports", PC_CONFIG_INT_LIST, NULL, 0, 65535, NULL,
		       G_STRUCT_OFFSET(FuzzSection, ports), 0, "int list"},
    [FUZZ_STRING_LIST] = {"words", PC_CONFIG_STRING_LIST, NULL, 0, 0, NULL,
			  G_STRUCT_OFFSET(FuzzSection, words), 0, "string list"},
    [FUZZ_DURATION] = {"duration", PC_CONFIG_DURATION, NULL, 0, 0, NULL,
		       G_STRUCT_OFFSET(FuzzSection, duration), 0, "duration"},
    [FUZZ_SIZE] = {"size", PC_CONFIG_SIZE, NULL, 0, 0, NULL, G_STRUCT_OFFSET(FuzzSection, size), 0,
		   "size"},
    [FUZZ_RATE] = {"rate", PC_CONFIG_RATE, NULL, FUZZ_RATE_MIN, FUZZ_RATE_MAX, NULL,
		   G_STRUCT_OFFSET(FuzzSection, rate), 0, "rate"},
};

static void
fuzz_section_clear(FuzzSection *section)
{
	pc_config_clear_fields(fuzz_keys, G_N_ELEMENTS(fuzz_keys), section);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(FuzzSection, fuzz_section_clear)

static void
fuzz_check_error(const GError *error)
{
	g_assert_nonnull(error);
	/* a network list keeps pc-net's own error */
	if (error->domain == PC_NET_ERROR)
		return;
	g_assert_true(error->domain == PC_CONFIG_ERROR);
	g_assert_true(error->code == PC_CONFIG_ERROR_VALUE || error->code == PC_CONFIG_ERROR_RANGE);
}

/* the -n text of key's field in section */
static char *
fuzz_describe(const PcConfigKey *key, const FuzzSection *section)
{
	GString *out = g_string_new(NULL);

	pc_config_describe_value(out, key, section);
	return g_string_free(out, FALSE);
}

/* a duration or size as -n prints it must read back as the same number (or be too large) */
static void
fuzz_check_number(FuzzParser parser, gint64 value)
{
	const PcConfigKey *key = &fuzz_keys[parser];
	g_auto(FuzzSection) section = {0};
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	gint64 again = -1;
	gboolean ok;

	g_assert_cmpint(value, >=, 0);
	if (parser == FUZZ_DURATION)
		section.duration = value;
	else
		section.size = value;
	text = fuzz_describe(key, &section);
	ok = parser == FUZZ_DURATION ? pc_config_parse_duration(text, &again, &error)
				     : pc_config_parse_size(text, &again, &error);
	if (!ok) {
		/* a number over G_MAXINT32 of its unit is refused ("ms" calls that a VALUE) */
		g_assert_true(error->domain == PC_CONFIG_ERROR);
		g_assert_cmpint(g_ascii_strtoll(text, NULL, 10), >, G_MAXINT32);
		return;
	}
	g_assert_cmpint(again, ==, value);
}

static void
fuzz_check_rate(const GArray *windows)
{
	/* borrowed, so no g_auto: the caller frees windows */
	const FuzzSection section = {.rate = (GArray *)windows};
	g_autofree char *text = fuzz_describe(&fuzz_keys[FUZZ_RATE], &section);
	g_autoptr(GArray) again = NULL;
	g_autoptr(GError) error = NULL;
	gint64 largest = 0;

	g_assert_cmpuint(windows->len, >=, 1);
	g_assert_cmpuint(windows->len, <=, PC_CONFIG_MAX_RATE_WINDOWS);
	for (guint i = 0; i < windows->len; i++) {
		const PcConfigRateWindow *window = &g_array_index(windows, PcConfigRateWindow, i);

		g_assert_cmpint(window->count, >=, FUZZ_RATE_MIN);
		g_assert_cmpint(window->count, <=, FUZZ_RATE_MAX);
		g_assert_cmpint(window->period_us, >=, PC_USEC(1));
		g_assert_cmpint(window->period_us, <=, PC_USEC(366 * 86400));
		for (guint j = 0; j < i; j++)
			g_assert_cmpint(g_array_index(windows, PcConfigRateWindow, j).period_us, !=,
					window->period_us);
		largest = MAX(largest, window->count);
	}
	if (!pc_config_parse_rate(text, FUZZ_RATE_MIN, FUZZ_RATE_MAX, &again, &error)) {
		/* a count over G_MAXINT32 ("3G/1d") is printed in units, which do not read back */
		g_assert_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE);
		g_assert_cmpint(largest, >, G_MAXINT32);
		return;
	}
	g_assert_cmpuint(again->len, ==, windows->len);
	g_assert_cmpmem(again->data, again->len * sizeof(PcConfigRateWindow), windows->data,
			windows->len * sizeof(PcConfigRateWindow));
}

/* the items are the text's non-empty pieces between separators, in order */
static void
fuzz_check_split(const char *text, char **items)
{
	static const char separators[] = ";, \t";
	const char *p = text;

	for (gsize i = 0; items[i] != NULL; i++) {
		gsize len = strlen(items[i]);

		g_assert_cmpuint(len, >, 0);
		p += strspn(p, separators);
		g_assert_true(strncmp(p, items[i], len) == 0);
		p += len;
		g_assert_true(*p == '\0' || strchr(separators, *p) != NULL);
	}
	g_assert_true(p[strspn(p, separators)] == '\0');
}

/* a value's -n text parses to the same field */
static void
fuzz_check_reparse(FuzzParser parser, const FuzzSection *section)
{
	const PcConfigKey *key = &fuzz_keys[parser];
	g_autofree char *text = fuzz_describe(key, section);
	g_autofree char *text_again = NULL;
	g_auto(FuzzSection) again = {0};
	g_autoptr(GError) error = NULL;

	/* networks are described by their number only */
	if (parser == FUZZ_NETWORKS)
		return;
	if (!pc_config_parse_value(key, text, &again, &error)) {
		g_printerr("'%s' does not read back: %s\n", text, error->message);
		g_assert_not_reached();
	}
	text_again = fuzz_describe(key, &again);
	g_assert_cmpstr(text_again, ==, text);
}

static void
fuzz_check_section(FuzzParser parser, const char *text, const FuzzSection *section)
{
	g_auto(GStrv) items = pc_config_split_list(text);

	switch (parser) {
	case FUZZ_INT:
		g_assert_cmpint(section->number, >=, 0);
		g_assert_cmpint(section->number, <=, 1000000);
		break;
	case FUZZ_ENUM:
		g_assert_cmpint(section->choice, >=, 0);
		g_assert_cmpint(section->choice, <, (int)g_strv_length((char **)fuzz_choices));
		break;
	case FUZZ_NETWORKS:
		g_assert_cmpuint(pc_net_list_length(section->networks), ==, g_strv_length(items));
		break;
	case FUZZ_DOMAINS:
		g_assert_cmpuint(g_strv_length(section->domains), ==, g_strv_length(items));
		for (gsize i = 0; section->domains[i] != NULL; i++) {
			g_assert_cmpuint(strlen(section->domains[i]), >, 0);
			for (const char *c = section->domains[i]; *c != '\0'; c++)
				g_assert_false(g_ascii_isupper(*c));
		}
		break;
	case FUZZ_INT_LIST:
		g_assert_cmpuint(section->ports->len, ==, g_strv_length(items));
		for (guint i = 0; i < section->ports->len; i++) {
			g_assert_cmpint(g_array_index(section->ports, gint64, i), >=, 0);
			g_assert_cmpint(g_array_index(section->ports, gint64, i), <=, 65535);
		}
		break;
	case FUZZ_STRING_LIST:
		fuzz_check_split(text, section->words);
		break;
	default:
		g_assert_not_reached();
	}
	fuzz_check_reparse(parser, section);
}

static void
fuzz_parse_value(FuzzParser parser, const char *text)
{
	g_auto(FuzzSection) section = {0};
	g_autoptr(GError) error = NULL;

	if (!pc_config_parse_value(&fuzz_keys[parser], text, &section, &error)) {
		fuzz_check_error(error);
		return;
	}
	g_assert_no_error(error);
	fuzz_check_section(parser, text, &section);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) windows = NULL;
	g_auto(GStrv) items = NULL;
	FuzzParser parser;
	gboolean flag = FALSE;
	gint64 value = -1;

	if (size == 0 || size > FUZZ_MAX_INPUT)
		return 0;
	parser = (FuzzParser)(data[0] % FUZZ_LAST);
	text = g_strndup((const char *)data + 1, size - 1);

	switch (parser) {
	case FUZZ_BOOL:
		if (pc_config_parse_bool(text, &flag, &error))
			g_assert_true(flag == TRUE || flag == FALSE);
		else
			fuzz_check_error(error);
		break;
	case FUZZ_DURATION:
	case FUZZ_SIZE:
		if (parser == FUZZ_DURATION ? pc_config_parse_duration(text, &value, &error)
					    : pc_config_parse_size(text, &value, &error))
			fuzz_check_number(parser, value);
		else
			fuzz_check_error(error);
		break;
	case FUZZ_RATE:
		if (pc_config_parse_rate(text, FUZZ_RATE_MIN, FUZZ_RATE_MAX, &windows, &error))
			fuzz_check_rate(windows);
		else
			fuzz_check_error(error);
		break;
	case FUZZ_SPLIT_LIST:
		items = pc_config_split_list(text);
		fuzz_check_split(text, items);
		break;
	default:
		fuzz_parse_value(parser, text);
		break;
	}
	return 0;
}
