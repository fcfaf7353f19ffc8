/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-stack: relay, auth, rate and verify (and sign, when named) in
 * one process, on one milter connection per SMTP session, for a busy site
 * (docs/DESIGN.md, "Stack"). Opt-in: the separate daemons stay the default.
 * Each member is its own daemon's descriptor, run by the skeleton with its
 * own snapshot, state, metrics and log lines; [stack] members says which.
 */
#include "daemons.h"
#include "milter-descriptors.h"
#include "pc-milter.h"
#include "stack-config.h"

/* in stack_member_names' order, which is the order their hooks run */
static const PcMilterDescriptor *const stack_members[] = {
    &relay_milter, &auth_milter, &rate_milter, &verify_milter, &sign_milter, NULL,
};

G_STATIC_ASSERT(G_N_ELEMENTS(stack_members) == STACK_MAX_MEMBERS + 1);

static const PcMilterDescriptor stack_milter = {
    .name = "stack",
    .schema = &stack_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .statistics_offset = 5,
    .stack_members = stack_members,
    .stack_hosts = stack_config_hosts,
};

int
main(int argc, char **argv)
{
	return pc_milter_main(&stack_milter, argc, argv);
}
