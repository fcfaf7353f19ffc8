/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * relay-config: the [relay] section. Nothing here is per domain: the relay
 * guard's question ("is this domain ours?") is answered by local_domains and
 * by the existence of domains.d files.
 */
#include "relay-policy.h"

static const PcConfigKey relay_keys[] = {
    {"probe_limit", PC_CONFIG_INT, "10", 0, 1000000, NULL,
     G_STRUCT_OFFSET(RelayConfig, probe_limit), 0,
     "relay attempts within probe_window that ban a client; 0 = never ban"},
    {"probe_window", PC_CONFIG_DURATION, "10m", PC_USEC(1), PC_USEC(7 * 86400), NULL,
     G_STRUCT_OFFSET(RelayConfig, probe_window), 0, "how long relay attempts are remembered"},
    {"ban_time", PC_CONFIG_DURATION, "1h", PC_USEC(1), PC_USEC(30 * 86400), NULL,
     G_STRUCT_OFFSET(RelayConfig, ban_time), 0, "how long a banned client is refused"},
};

const PcConfigSchema relay_config_schema = {
    .name = "relay",
    .keys = relay_keys,
    .n_keys = G_N_ELEMENTS(relay_keys),
    .size = sizeof(RelayConfig),
};
