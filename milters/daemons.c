/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemons: the table of every daemon's schemas (see daemons.h). A new daemon
 * adds its line here.
 */
#include "daemons.h"

#include "auth-policy.h"
#include "rate-policy.h"
#include "relay-policy.h"
#include "sign-policy.h"
#include "stack-config.h"
#include "verify-policy.h"

const PcConfigDaemonSchemas portcullis_daemon_schemas[] = {
    {.schema = &relay_config_schema},
    {.schema = &auth_config_schema},
    {.schema = &rate_config_schema, .extra_schemas = rate_extra_schemas},
    {.schema = &verify_config_schema},
    /* syntax only: the other daemons never open a key (sign-config.c) */
    {.schema = &sign_config_check_schema},
    /* portcullis-stack, which hosts some of the above (after them: the names' order holds) */
    {.schema = &stack_config_schema},
    {.schema = NULL},
};

const char *const portcullis_daemon_names[PORTCULLIS_N_DAEMONS + 1] = {
    "relay", "auth", "rate", "verify", "sign", NULL,
};
