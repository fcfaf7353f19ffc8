/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-config: the [verify] section. Nothing is per domain yet: what a
 * receiving server checks does not depend on which local domain the mail is
 * for (DMARC policy overrides, part 2, will be).
 */
#include "verify-policy.h"

static const char *const spf_fail_choices[] = {"none", "reject", NULL};

static const PcConfigKey verify_keys[] = {
    {"spf_fail_action", PC_CONFIG_ENUM, "none", 0, 0, spf_fail_choices,
     G_STRUCT_OFFSET(VerifyConfig, spf_fail_action), 0,
     "an SPF fail: none (reported only; DMARC decides, RFC 7489 10.1) or reject "
     "(550 5.7.23 at RCPT)"},
    {"max_signatures", PC_CONFIG_INT, "5", 1, 50, NULL,
     G_STRUCT_OFFSET(VerifyConfig, max_signatures), 0,
     "DKIM signatures verified per message; more are ignored and logged"},
    {"remove_authserv_ids", PC_CONFIG_STRING_LIST, "", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, remove_authserv_ids), 0,
     "Authentication-Results headers of these authserv-ids are removed too (besides "
     "our own): the other hosts of this site"},
};

const PcConfigSchema verify_config_schema = {
    .name = "verify",
    .keys = verify_keys,
    .n_keys = G_N_ELEMENTS(verify_keys),
    .size = sizeof(VerifyConfig),
};
