/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-lookup: names for the hot-path lookup status, for log lines.
 *
 * Short lowercase words, one per status, fit for key=value log fields
 * ("lookup=tempfail"). Nothing else lives here: the status is defined in the
 * header and returned by the modules that do the looking up.
 */
#include "pc-lookup.h"

#include <glib.h>

const char *
pc_lookup_status_to_string(PcLookupStatus status)
{
	/* a value outside the enum is a bug, but a log line must still get a word */
	g_return_val_if_fail((guint)status <= PC_LOOKUP_CONFIG, "unknown");

	switch (status) {
	case PC_LOOKUP_FOUND:
		return "found";
	case PC_LOOKUP_NOTFOUND:
		return "notfound";
	case PC_LOOKUP_TEMPFAIL:
		return "tempfail";
	case PC_LOOKUP_CONFIG:
		return "config";
	}
	return "unknown";
}
