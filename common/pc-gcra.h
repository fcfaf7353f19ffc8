/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-gcra: the generic cell rate algorithm (GCRA), the token bucket written
 * as one number per key: the theoretical arrival time (TAT), the moment the
 * bucket would be full again if nothing more arrived. O(1) state and O(1)
 * work per decision, no timers, no sweeping.
 *
 * A limit of COUNT per PERIOD with a burst of BURST is
 *   emission interval T = PERIOD / COUNT (what one unit costs, in time)
 *   burst tolerance  tau = BURST * T     (how far ahead of now TAT may run)
 * and QUANTITY units arriving at now pass when
 *   max(TAT, now) + ceil(QUANTITY * T) - now <= tau.
 * So "5/1m" (burst 5) lets 5 through at once and then one every 12 s.
 *
 * Pure arithmetic on the caller's clock: the memory store runs it under its
 * shard locks, the redis store runs the same formula in a Lua script on the
 * server's clock, and tests run it alone. Not here: keys, storage, config.
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * pc_gcra_limit:
 * Fills the emission interval (fractional microseconds: 100M bytes an hour
 * is 34.33 us a byte, and rounding that would be a 2% error) and the burst
 * tolerance for COUNT per PERIOD with BURST (<= 0: BURST = COUNT).
 * count >= 1, period_us >= 1.
 */
void pc_gcra_limit(gint64 count, gint64 period_us, gint64 burst, double *emission_interval_us_out,
		   gint64 *burst_tolerance_us_out);

/*
 * pc_gcra_cost_us:
 * ceil(quantity * emission_interval_us), at least 1, saturating at
 * G_MAXINT64 / 4 so that TAT arithmetic cannot overflow.
 */
gint64 pc_gcra_cost_us(gint64 quantity, double emission_interval_us);

/*
 * pc_gcra_check:
 * @tat_us: the stored TAT; any value <= now_us (0 for a new key) means a
 *   full bucket
 * @quantity: units asked for, >= 1
 * Returns TRUE when they may pass now. Always writes *new_tat_out, the TAT to
 * store when the caller commits an allowed request (an expiry for the key as
 * well: once now reaches it the key is the same as absent), and
 * *retry_after_out: 0 when allowed, else the wait after which the same
 * request would pass (> 0). A quantity whose cost exceeds the tolerance
 * never passes; the caller clamps such quantities (see DESIGN.md).
 */
gboolean pc_gcra_check(gint64 tat_us, gint64 now_us, double emission_interval_us,
		       gint64 burst_tolerance_us, gint64 quantity, gint64 *new_tat_out,
		       gint64 *retry_after_out);

/*
 * pc_gcra_available:
 * Units that could pass at now_us on top of what tat_us holds: floor((tau -
 * max(TAT - now, 0)) / T), at least 0.
 */
gint64 pc_gcra_available(gint64 tat_us, gint64 now_us, double emission_interval_us,
			 gint64 burst_tolerance_us);

/* seconds for a reply text: retry_after_us rounded up, at least 1 */
gint64 pc_gcra_retry_seconds(gint64 retry_after_us);

G_END_DECLS
