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

G_END_DECLS
