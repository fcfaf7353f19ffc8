/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-lookup: the status every hot-path lookup returns (store, maps, DNS).
 *
 * "Not found" and "could not look" are different answers: TEMPFAIL maps to
 * SMFIS_TEMPFAIL / 4xx (per the daemon's on_error), never to "not found".
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	PC_LOOKUP_FOUND,
	PC_LOOKUP_NOTFOUND,
	PC_LOOKUP_TEMPFAIL, /* backend unreachable or timed out: try again later */
	PC_LOOKUP_CONFIG,   /* the configuration is wrong: the admin must act */
} PcLookupStatus;

const char *pc_lookup_status_to_string(PcLookupStatus status);

G_END_DECLS
