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
/* appends key's field of base in file syntax */
void pc_config_describe_value(GString *out, const PcConfigKey *key, gconstpointer base);

G_END_DECLS
