/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-config-value: turning one config value's text into its typed field, and
 * back into text for -n -v. Private to pc-config.c and pc-config-value.c;
 * the schema tables (PcConfigKey) say which field and type.
 *
 * Thread-safety: no state; the caller owns the struct being filled.
 */
#include <string.h>

#include "pc-addr.h"
#include "pc-config-private.h"
#include "pc-config.h"

/* ----------------------------------------------------------- value parsers */

gboolean
pc_config_parse_bool(const char *text, gboolean *value_out, GError **error)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};

	g_return_val_if_fail(text != NULL, FALSE);

	for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(text, yes[i]) == 0) {
			*value_out = TRUE;
			return TRUE;
		}
		if (g_ascii_strcasecmp(text, no[i]) == 0) {
			*value_out = FALSE;
			return TRUE;
		}
	}
	g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
		    "'%s' is not a boolean (yes/no, on/off, true/false, 1/0)", text);
	return FALSE;
}

/* how much of a bad value an error message quotes */
#define CONFIG_ECHO_MAX 64

/* a value quoted back in an error: bounded, so a line of digits stays one readable line */
static char *
value_for_error(const char *text)
{
	gsize len = strnlen(text, CONFIG_ECHO_MAX + 1);
	g_autofree char *head = g_strndup(text, MIN(len, CONFIG_ECHO_MAX));
	g_autofree char *escaped = g_strescape(head, NULL);

	if (len > CONFIG_ECHO_MAX)
		return g_strconcat(escaped, "...", NULL);
	return g_steal_pointer(&escaped);
}

/* a unit suffix and what one of it is worth in the stored unit */
typedef struct {
	const char *suffix;
	gint64 multiplier;
} ConfigUnit;

/*
 * largest first, and the preferred spelling first among equal multipliers:
 * describe_with_unit takes the first exact one. A bare number is seconds for
 * a duration and bytes for a size.
 */
static const ConfigUnit duration_units[] = {
    {"w", PC_USEC(7 * 86400)}, {"d", PC_USEC(86400)}, {"h", PC_USEC(3600)},
    {"m", PC_USEC(60)},	       {"s", PC_USEC(1)},     {"ms", 1000},
};
static const ConfigUnit size_units[] = {
    {"G", G_GINT64_CONSTANT(1) << 30},
    {"M", G_GINT64_CONSTANT(1) << 20},
    {"k", G_GINT64_CONSTANT(1) << 10},
    {"K", G_GINT64_CONSTANT(1) << 10},
};

typedef enum {
	DIGITS_OK,
	DIGITS_NONE,	 /* no digit where the number should start */
	DIGITS_OVERFLOW, /* more than max */
} DigitsStatus;

/*
 * the run of decimal digits at the start of text, at most max. By hand rather
 * than strtoll, which also takes blanks, a sign and "0x" and reports overflow
 * through errno; here the only accepted spelling is plain digits and every
 * step is checked. *end_out: the first byte after the digits.
 */
static DigitsStatus
parse_digits(const char *text, guint64 max, guint64 *value_out, const char **end_out)
{
	guint64 value = 0;
	const char *p = text;

	if (!g_ascii_isdigit(*p))
		return DIGITS_NONE;
	for (; g_ascii_isdigit(*p); p++) {
		if (!g_uint64_checked_mul(&value, value, 10) ||
		    !g_uint64_checked_add(&value, value, (guint64)(*p - '0')) || value > max)
			return DIGITS_OVERFLOW;
	}
	*value_out = value;
	*end_out = p;
	return DIGITS_OK;
}

/*
 * digits, then nothing (bare_multiplier) or exactly one suffix of units;
 * number * multiplier must fit a gint64 (durations in microseconds and sizes
 * in bytes both do for any sane value, and overflow is an error, never a wrap)
 */
static gboolean
parse_number_unit(const char *text, const ConfigUnit *units, gsize n_units, gint64 bare_multiplier,
		  const char *what, const char *hint, gint64 *value_out, GError **error)
{
	g_autofree char *echo = value_for_error(text);
	const char *end = NULL;
	guint64 number = 0;
	gint64 multiplier = 0;
	guint64 product = 0;

	switch (parse_digits(text, G_MAXINT64, &number, &end)) {
	case DIGITS_OK:
		break;
	case DIGITS_NONE:
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "'%s' is not a %s (units: %s)", echo, what, hint);
		return FALSE;
	case DIGITS_OVERFLOW:
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
			    "'%s' is too large for a %s", echo, what);
		return FALSE;
	}
	if (*end == '\0')
		multiplier = bare_multiplier;
	for (gsize i = 0; multiplier == 0 && i < n_units; i++) {
		if (strcmp(end, units[i].suffix) == 0)
			multiplier = units[i].multiplier;
	}
	if (multiplier == 0) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "'%s' is not a %s (units: %s)", echo, what, hint);
		return FALSE;
	}
	if (!g_uint64_checked_mul(&product, number, (guint64)multiplier) ||
	    product > (guint64)G_MAXINT64) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
			    "'%s' is too large for a %s", echo, what);
		return FALSE;
	}
	*value_out = (gint64)product;
	return TRUE;
}

gboolean
pc_config_parse_duration(const char *text, gint64 *usec_out, GError **error)
{
	g_return_val_if_fail(text != NULL, FALSE);
	g_return_val_if_fail(usec_out != NULL, FALSE);

	return parse_number_unit(text, duration_units, G_N_ELEMENTS(duration_units), G_USEC_PER_SEC,
				 "duration", "ms s m h d w", usec_out, error);
}

gboolean
pc_config_parse_size(const char *text, gint64 *bytes_out, GError **error)
{
	g_return_val_if_fail(text != NULL, FALSE);
	g_return_val_if_fail(bytes_out != NULL, FALSE);

	return parse_number_unit(text, size_units, G_N_ELEMENTS(size_units), 1, "size", "k K M G",
				 bytes_out, error);
}

/*
 * an optional '-' and digits, for INT and INT_LIST. No '+' and no blanks:
 * the loader has already trimmed the value, and one spelling per number is
 * what -n prints and what a reader can grep for.
 */
static gboolean
parse_int(const char *text, gint64 *value_out, GError **error)
{
	gboolean negative = text[0] == '-';
	g_autofree char *echo = value_for_error(text);
	const char *end = NULL;
	guint64 magnitude = 0;
	/* one more below zero than above: G_MININT64 is -(G_MAXINT64 + 1) */
	guint64 max = negative ? (guint64)G_MAXINT64 + 1 : (guint64)G_MAXINT64;

	switch (parse_digits(text + (negative ? 1 : 0), max, &magnitude, &end)) {
	case DIGITS_OK:
		if (*end == '\0')
			break;
		G_GNUC_FALLTHROUGH;
	case DIGITS_NONE:
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "'%s' is not a whole number", echo);
		return FALSE;
	case DIGITS_OVERFLOW:
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE, "'%s' is too %s", echo,
			    negative ? "small" : "large");
		return FALSE;
	}
	/* negated in the signed domain without ever forming +2^63 */
	*value_out = negative && magnitude > 0 ? -(gint64)(magnitude - 1) - 1 : (gint64)magnitude;
	return TRUE;
}

/* the longest period a rate window may have */
#define CONFIG_MAX_RATE_PERIOD PC_USEC(366 * 86400)

static gboolean
rate_error(GError **error, PcConfigError code, const char *item, const char *why)
{
	g_autofree char *echo = value_for_error(item);

	g_set_error(error, PC_CONFIG_ERROR, code, "'%s'%s", echo, why);
	return FALSE;
}

/*
 * the count and period parsers' own errors are replaced: "'100Q' is not a
 * size" would not tell the reader which part of "100Q/1h" was meant, while
 * a too large count or period is worth saying as such
 */
static gboolean
parse_rate_window(const char *item, gint64 min_count, gint64 max_count,
		  PcConfigRateWindow *window_out, GError **error)
{
	static const char syntax[] = " is not a rate (N/PERIOD, e.g. 60/1m; 500/1h)";
	const char *slash = strchr(item, '/');
	g_autofree char *count_text = NULL;
	g_autofree char *period_text = NULL;
	g_autoptr(GError) local_error = NULL;
	gint64 count = 0;
	gint64 period = 0;

	if (slash == NULL || slash == item || slash[1] == '\0')
		return rate_error(error, PC_CONFIG_ERROR_VALUE, item, syntax);
	count_text = g_strndup(item, (gsize)(slash - item));
	/* "60/m" reads as 60/1m */
	period_text =
	    g_ascii_isalpha(slash[1]) ? g_strconcat("1", slash + 1, NULL) : g_strdup(slash + 1);
	if (!pc_config_parse_size(count_text, &count, &local_error)) {
		if (g_error_matches(local_error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE))
			return rate_error(error, PC_CONFIG_ERROR_RANGE, item,
					  ": the count is too large");
		return rate_error(error, PC_CONFIG_ERROR_VALUE, item, syntax);
	}
	if (!pc_config_parse_duration(period_text, &period, &local_error)) {
		if (g_error_matches(local_error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE))
			return rate_error(error, PC_CONFIG_ERROR_RANGE, item,
					  ": the period must be 1s..366d");
		return rate_error(error, PC_CONFIG_ERROR_VALUE, item, syntax);
	}
	if (count < min_count || count > max_count) {
		g_autofree char *echo = value_for_error(item);

		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
			    "'%s': count %" G_GINT64_FORMAT " is out of range %" G_GINT64_FORMAT
			    "..%" G_GINT64_FORMAT,
			    echo, count, min_count, max_count);
		return FALSE;
	}
	if (period < PC_USEC(1) || period > CONFIG_MAX_RATE_PERIOD)
		return rate_error(error, PC_CONFIG_ERROR_RANGE, item,
				  ": the period must be 1s..366d");
	window_out->count = count;
	window_out->period_us = period;
	return TRUE;
}

gboolean
pc_config_parse_rate(const char *text, gint64 min_count, gint64 max_count, GArray **windows_out,
		     GError **error)
{
	g_auto(GStrv) items = NULL;
	g_autoptr(GArray) windows = g_array_new(FALSE, FALSE, sizeof(PcConfigRateWindow));

	g_return_val_if_fail(text != NULL, FALSE);
	g_return_val_if_fail(windows_out != NULL, FALSE);

	items = pc_config_split_list(text);
	if (items[0] == NULL) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "no rate given (N/PERIOD, e.g. 60/1m; 500/1h)");
		return FALSE;
	}
	for (gsize i = 0; items[i] != NULL; i++) {
		PcConfigRateWindow window;

		if (!parse_rate_window(items[i], min_count, max_count, &window, error))
			return FALSE;
		for (guint j = 0; j < windows->len; j++) {
			if (g_array_index(windows, PcConfigRateWindow, j).period_us ==
			    window.period_us)
				return rate_error(error, PC_CONFIG_ERROR_VALUE, items[i],
						  ": two windows with the same period");
		}
		if (windows->len == PC_CONFIG_MAX_RATE_WINDOWS) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
				    "more than %d windows", PC_CONFIG_MAX_RATE_WINDOWS);
			return FALSE;
		}
		g_array_append_val(windows, window);
	}
	*windows_out = g_steal_pointer(&windows);
	return TRUE;
}

char **
pc_config_split_list(const char *text)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) parts = g_strsplit_set(text != NULL ? text : "", ";, \t", -1);

	for (gsize i = 0; parts[i] != NULL; i++) {
		if (parts[i][0] != '\0')
			g_ptr_array_add(items, g_strdup(parts[i]));
	}
	g_ptr_array_add(items, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&items), FALSE);
}

static gboolean
check_bounds(const PcConfigKey *key, gint64 value, GError **error)
{
	if (key->min == 0 && key->max == 0)
		return TRUE;
	if (value < key->min || value > key->max) {
		if (key->type == PC_CONFIG_DURATION && key->min % G_USEC_PER_SEC != 0)
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
				    "%" G_GINT64_FORMAT "ms is out of range %" G_GINT64_FORMAT
				    "ms..%" G_GINT64_FORMAT "ms",
				    value / 1000, key->min / 1000, key->max / 1000);
		else if (key->type == PC_CONFIG_DURATION)
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
				    "%" G_GINT64_FORMAT "s is out of range %" G_GINT64_FORMAT
				    "s..%" G_GINT64_FORMAT "s",
				    value / G_USEC_PER_SEC, key->min / G_USEC_PER_SEC,
				    key->max / G_USEC_PER_SEC);
		else
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_RANGE,
				    "%" G_GINT64_FORMAT " is out of range %" G_GINT64_FORMAT
				    "..%" G_GINT64_FORMAT,
				    value, key->min, key->max);
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_domains(const char *text, char ***domains_out, GError **error)
{
	g_auto(GStrv) items = pc_config_split_list(text);
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

	for (gsize i = 0; items[i] != NULL; i++) {
		const char *item = items[i];
		gboolean parent = item[0] == '.';
		g_autofree char *norm = NULL;

		if (item[0] == '[') {
			/* an IP literal domain, normalised the way pc-addr does it */
			g_autoptr(PcAddress) address = NULL;
			g_autofree char *path = g_strdup_printf("<x@%s>", item);

			if (!pc_addr_parse_path(path, strlen(path), &address, NULL)) {
				g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
					    "'%s' is not an IP address literal", item);
				return FALSE;
			}
			g_ptr_array_add(out, g_strdup(address->domain));
			continue;
		}
		norm = pc_addr_normalize_domain(item + (parent ? 1 : 0),
						strlen(item) - (parent ? 1 : 0));
		if (norm == NULL) {
			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "'%s' is not a domain name", item);
			return FALSE;
		}
		g_ptr_array_add(out,
				parent ? g_strconcat(".", norm, NULL) : g_steal_pointer(&norm));
	}
	g_ptr_array_add(out, NULL);
	*domains_out = (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
	return TRUE;
}

/* text into the field of key inside base, by type alone */
static gboolean
parse_typed_value(const PcConfigKey *key, const char *text, gpointer field, GError **error)
{

	switch (key->type) {
	case PC_CONFIG_STRING:
		g_free(*(char **)field);
		*(char **)field = text[0] != '\0' ? g_strdup(text) : NULL;
		return TRUE;
	case PC_CONFIG_STRING_LIST:
		g_strfreev(*(char ***)field);
		*(char ***)field = pc_config_split_list(text);
		return TRUE;
	case PC_CONFIG_BOOL:
		return pc_config_parse_bool(text, (gboolean *)field, error);
	case PC_CONFIG_INT: {
		gint64 value = 0;

		if (!parse_int(text, &value, error) || !check_bounds(key, value, error))
			return FALSE;
		*(gint64 *)field = value;
		return TRUE;
	}
	case PC_CONFIG_DURATION:
	case PC_CONFIG_SIZE: {
		gint64 value = 0;
		gboolean ok = key->type == PC_CONFIG_DURATION
				  ? pc_config_parse_duration(text, &value, error)
				  : pc_config_parse_size(text, &value, error);

		if (!ok || !check_bounds(key, value, error))
			return FALSE;
		*(gint64 *)field = value;
		return TRUE;
	}
	case PC_CONFIG_ENUM:
		for (int i = 0; key->choices[i] != NULL; i++) {
			if (g_ascii_strcasecmp(text, key->choices[i]) == 0) {
				*(int *)field = i;
				return TRUE;
			}
		}
		{
			g_autofree char *choices = g_strjoinv(" | ", (char **)key->choices);

			g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "'%s' is not one of: %s", text, choices);
		}
		return FALSE;
	case PC_CONFIG_NETWORKS: {
		g_auto(GStrv) items = pc_config_split_list(text);
		PcNetList *list =
		    pc_net_list_parse((const char *const *)items, g_strv_length(items), error);

		if (list == NULL)
			return FALSE;
		g_clear_pointer((PcNetList **)field, pc_net_list_free);
		*(PcNetList **)field = list;
		return TRUE;
	}
	case PC_CONFIG_DOMAINS: {
		char **domains = NULL;

		if (!parse_domains(text, &domains, error))
			return FALSE;
		g_strfreev(*(char ***)field);
		*(char ***)field = domains;
		return TRUE;
	}
	case PC_CONFIG_INT_LIST: {
		g_auto(GStrv) items = pc_config_split_list(text);
		g_autoptr(GArray) values = g_array_new(FALSE, FALSE, sizeof(gint64));

		for (gsize i = 0; items[i] != NULL; i++) {
			gint64 value = 0;

			if (!parse_int(items[i], &value, error)) {
				g_prefix_error(error, "item ");
				return FALSE;
			}
			if (!check_bounds(key, value, error))
				return FALSE;
			g_array_append_val(values, value);
		}
		g_clear_pointer((GArray **)field, g_array_unref);
		*(GArray **)field = g_steal_pointer(&values);
		return TRUE;
	}
	case PC_CONFIG_RATE: {
		GArray *windows = NULL;

		if (!pc_config_parse_rate(text, key->min, key->max, &windows, error))
			return FALSE;
		g_clear_pointer((GArray **)field, g_array_unref);
		*(GArray **)field = windows;
		return TRUE;
	}
	}
	g_assert_not_reached();
}

/* parses text into the field of key inside base; error without prefix */
gboolean
pc_config_parse_value(const PcConfigKey *key, const char *text, gpointer base, GError **error)
{
	gpointer field = (guint8 *)base + key->offset;

	if (!parse_typed_value(key, text, field, error))
		return FALSE;
	return key->validate == NULL || key->validate(field, error);
}

void
pc_config_clear_fields(const PcConfigKey *keys, gsize n_keys, gpointer base)
{
	for (gsize i = 0; i < n_keys; i++) {
		gpointer field = (guint8 *)base + keys[i].offset;

		switch (keys[i].type) {
		case PC_CONFIG_STRING:
			g_clear_pointer((char **)field, g_free);
			break;
		case PC_CONFIG_STRING_LIST:
		case PC_CONFIG_DOMAINS:
			g_clear_pointer((char ***)field, g_strfreev);
			break;
		case PC_CONFIG_NETWORKS:
			g_clear_pointer((PcNetList **)field, pc_net_list_free);
			break;
		case PC_CONFIG_INT_LIST:
		case PC_CONFIG_RATE:
			g_clear_pointer((GArray **)field, g_array_unref);
			break;
		default:
			break;
		}
	}
}

/*
 * value in the largest unit that holds it exactly, so that what -n prints
 * reads back to the same number and reads the way an admin would write it
 * ("10G", not "10737418240"); zero_text because "0w" would be odd
 */
static void
describe_with_unit(GString *out, gint64 value, const ConfigUnit *units, gsize n_units,
		   const char *zero_text)
{
	if (value == 0) {
		g_string_append(out, zero_text);
		return;
	}
	for (gsize i = 0; i < n_units; i++) {
		if (value % units[i].multiplier == 0) {
			g_string_append_printf(out, "%" G_GINT64_FORMAT "%s",
					       value / units[i].multiplier, units[i].suffix);
			return;
		}
	}
	g_string_append_printf(out, "%" G_GINT64_FORMAT, value);
}

static void
describe_duration(GString *out, gint64 usec)
{
	/*
	 * the parser stores whole milliseconds; anything finer can only come
	 * from code, and is written in ms rather than as a bare number, which
	 * would read back as seconds
	 */
	if (usec % 1000 != 0) {
		g_string_append_printf(out, "%" G_GINT64_FORMAT "ms", usec / 1000);
		return;
	}
	describe_with_unit(out, usec, duration_units, G_N_ELEMENTS(duration_units), "0s");
}

static void
describe_size(GString *out, gint64 bytes)
{
	describe_with_unit(out, bytes, size_units, G_N_ELEMENTS(size_units), "0");
}

static void
describe_networks(GString *out, const PcNetList *list)
{
	for (guint i = 0; i < pc_net_list_length(list); i++) {
		char entry[PC_NET_ADDRESS_STRLEN];

		g_string_append_printf(out, "%s%s", i > 0 ? "; " : "",
				       pc_net_list_entry_to_string(list, i, entry, sizeof(entry)));
	}
}

static void
describe_rate(GString *out, const GArray *windows)
{
	for (guint i = 0; windows != NULL && i < windows->len; i++) {
		const PcConfigRateWindow *window = &g_array_index(windows, PcConfigRateWindow, i);

		if (i > 0)
			g_string_append(out, "; ");
		/* counts take the size suffixes too: "10G/1d" for bytes */
		describe_size(out, window->count);
		g_string_append_c(out, '/');
		describe_duration(out, window->period_us);
	}
}

void
pc_config_describe_value(GString *out, const PcConfigKey *key, gconstpointer base)
{
	gconstpointer field = (const guint8 *)base + key->offset;

	switch (key->type) {
	case PC_CONFIG_STRING:
		g_string_append(out, *(char *const *)field != NULL ? *(char *const *)field : "");
		break;
	case PC_CONFIG_STRING_LIST:
	case PC_CONFIG_DOMAINS:
		/* items never hold a separator: the parser split on them */
		for (char *const *item = *(char **const *)field; item != NULL && *item != NULL;
		     item++)
			g_string_append_printf(out, "%s%s",
					       item != *(char **const *)field ? "; " : "", *item);
		break;
	case PC_CONFIG_BOOL:
		g_string_append(out, *(const gboolean *)field ? "yes" : "no");
		break;
	case PC_CONFIG_INT:
		g_string_append_printf(out, "%" G_GINT64_FORMAT, *(const gint64 *)field);
		break;
	case PC_CONFIG_SIZE:
		describe_size(out, *(const gint64 *)field);
		break;
	case PC_CONFIG_DURATION:
		describe_duration(out, *(const gint64 *)field);
		break;
	case PC_CONFIG_ENUM:
		g_string_append(out, key->choices[*(const int *)field]);
		break;
	case PC_CONFIG_NETWORKS:
		describe_networks(out, *(PcNetList *const *)field);
		break;
	case PC_CONFIG_INT_LIST: {
		const GArray *values = *(GArray *const *)field;

		for (guint i = 0; values != NULL && i < values->len; i++)
			g_string_append_printf(out, "%s%" G_GINT64_FORMAT, i > 0 ? "; " : "",
					       g_array_index(values, gint64, i));
		break;
	}
	case PC_CONFIG_RATE:
		/* unset (NULL) prints as empty: only a key without a default can be unset */
		describe_rate(out, *(GArray *const *)field);
		break;
	}
}
