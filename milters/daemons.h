/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemons: every daemon's configuration schemas in one table, so that each
 * daemon's -n (and the portcullis command) checks the whole file as all of
 * them would load it. Only schemas: no daemon reads another's section.
 *
 * Thread-safety: constant data.
 */
#pragma once

#include "pc-config.h"

G_BEGIN_DECLS

/* terminated by an entry with a NULL schema */
extern const PcConfigDaemonSchemas portcullis_daemon_schemas[];

#define PORTCULLIS_N_DAEMONS 5
/*
 * the daemons' short names ("relay", the NAME of portcullis-NAME and of its
 * section), in portcullis_daemon_schemas' order, which is also the order of
 * the shipped snippets' milter lists; NULL-terminated
 */
extern const char *const portcullis_daemon_names[PORTCULLIS_N_DAEMONS + 1];

G_END_DECLS
