/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack-config: the [stack] section of portcullis-stack, the opt-in process
 * that hosts several daemons on one milter connection (docs/DESIGN.md,
 * "Stack"). The section names the members; each member reads its own
 * section ([relay], [auth], ...) exactly as its own daemon would, and the
 * stack's socket, pid_file and statistics are its own. The members are
 * fixed at start: the MTA negotiated what they need on every open
 * connection.
 */
#include "stack-config.h"

#include <string.h>

/* the daemons a stack can host, in the order they are asked (the snippets' order) */
const char *const stack_member_names[STACK_MAX_MEMBERS + 1] = {
    "relay", "auth", "rate", "verify", "sign", NULL,
};

static const PcConfigKey stack_keys[] = {
    {"members", PC_CONFIG_STRING_LIST, "relay; auth; rate; verify", 0, 0, NULL,
     G_STRUCT_OFFSET(StackConfig, members), PC_CONFIG_KEY_RESTART,
     "the daemons this process hosts on one milter connection, from relay, auth, rate, "
     "verify and sign, asked in that order whatever the order here; verify only on mx "
     "listeners, sign only on the others, as the snippets attach them. sign only when named: "
     "the stack's user then reads the private keys"},
};

static gboolean
stack_check(gconstpointer section, GError **error)
{
	const StackConfig *stack = section;

	if (stack->members[0] == NULL) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "members: no daemon named; a stack hosts one or more of relay, auth, "
			    "rate, verify, sign");
		return FALSE;
	}
	for (gsize i = 0; stack->members[i] != NULL; i++) {
		const char *name = stack->members[i];

		if (!g_strv_contains(stack_member_names, name)) {
			g_set_error(
			    error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
			    "members: '%s' is not a daemon a stack hosts (relay, auth, rate, "
			    "verify, sign)",
			    name);
			return FALSE;
		}
		for (gsize j = 0; j < i; j++) {
			if (strcmp(stack->members[j], name) == 0) {
				g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
					    "members: %s is named twice", name);
				return FALSE;
			}
		}
	}
	return TRUE;
}

const PcConfigSchema stack_config_schema = {
    .name = "stack",
    .keys = stack_keys,
    .n_keys = G_N_ELEMENTS(stack_keys),
    .size = sizeof(StackConfig),
    .check = stack_check,
};

gboolean
stack_config_hosts(const PcConfig *config, const char *name)
{
	const StackConfig *stack = pc_config_get_section(config);

	return stack != NULL && g_strv_contains((const char *const *)stack->members, name);
}
