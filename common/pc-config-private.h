/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-config-private: the value layer shared by pc-config.c (files, sections,
 * snapshots) and pc-config-value.c (one value to one typed field). Not for
 * daemons.
 */
#pragma once

#include <glib.h>

#include "pc-config.h"

G_BEGIN_DECLS

/* parses text into key's field inside base; the error has no file prefix */
gboolean pc_config_parse_value(const PcConfigKey *key, const char *text, gpointer base,
			       GError **error);
/* frees every owned field of base that keys describe, leaving them NULL */
void pc_config_clear_fields(const PcConfigKey *keys, gsize n_keys, gpointer base);
/*
 * appends key's field of base in the file syntax the parser prefers, so that
 * what -n -v prints reads back to the same value: durations and sizes in the
 * largest unit that holds them exactly ("50ms", "10m", "1w"; "512", "10k",
 * "1G"), rates as COUNT/PERIOD in those forms, networks and lists in full
 * joined with "; ", booleans as yes/no, enums by name. An unset (NULL) field
 * is written as nothing.
 */
void pc_config_describe_value(GString *out, const PcConfigKey *key, gconstpointer base);

G_END_DECLS
