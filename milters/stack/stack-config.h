/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack-config: the [stack] section (see stack-config.c).
 *
 * Thread-safety: constant data; stack_config_hosts reads a snapshot only.
 */
#pragma once

#include "pc-config.h"

G_BEGIN_DECLS

#define STACK_MAX_MEMBERS 5

typedef struct {
	char **members; /* names, as written */
} StackConfig;

extern const PcConfigSchema stack_config_schema;

/* relay, auth, rate, verify, sign: the order members are asked in; NULL-terminated */
extern const char *const stack_member_names[STACK_MAX_MEMBERS + 1];

/* TRUE when the snapshot's [stack] members name daemon name */
gboolean stack_config_hosts(const PcConfig *config, const char *name);

G_END_DECLS
