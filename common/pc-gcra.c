/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-gcra: GCRA arithmetic. The Lua script in pc-store-redis.c implements the
 * same formula; a change here must be made there too (tests/milter/
 * test-rate-redis.sh runs the same expectations against both).
 */
#include "pc-gcra.h"

/* far beyond any configured period, and four of them still fit in a gint64 */
#define PC_GCRA_MAX_COST (G_MAXINT64 / 4)

void
pc_gcra_limit(gint64 count, gint64 period_us, gint64 burst, double *emission_interval_us_out,
	      gint64 *burst_tolerance_us_out)
{
	double interval;
	double tolerance;

	g_return_if_fail(count >= 1);
	g_return_if_fail(period_us >= 1);

	interval = (double)period_us / (double)count;
	if (burst <= 0)
		burst = count;
	/* BURST * T, rounded to the microsecond: COUNT * T is exactly PERIOD */
	tolerance = (double)burst * interval + 0.5;
	*emission_interval_us_out = interval;
	*burst_tolerance_us_out =
	    tolerance >= (double)PC_GCRA_MAX_COST ? PC_GCRA_MAX_COST : (gint64)tolerance;
}

gint64
pc_gcra_cost_us(gint64 quantity, double emission_interval_us)
{
	double cost = (double)quantity * emission_interval_us;
	gint64 whole;

	if (!(cost >= 1.0))
		return 1;
	if (cost >= (double)PC_GCRA_MAX_COST)
		return PC_GCRA_MAX_COST;
	whole = (gint64)cost;
	return (double)whole < cost ? whole + 1 : whole;
}

gboolean
pc_gcra_check(gint64 tat_us, gint64 now_us, double emission_interval_us, gint64 burst_tolerance_us,
	      gint64 quantity, gint64 *new_tat_out, gint64 *retry_after_out)
{
	gint64 start = MAX(tat_us, now_us);
	gint64 new_tat = start + pc_gcra_cost_us(MAX(quantity, 1), emission_interval_us);
	gint64 wait = new_tat - burst_tolerance_us - now_us;

	*new_tat_out = new_tat;
	if (wait <= 0) {
		*retry_after_out = 0;
		return TRUE;
	}
	*retry_after_out = wait;
	return FALSE;
}

gint64
pc_gcra_available(gint64 tat_us, gint64 now_us, double emission_interval_us,
		  gint64 burst_tolerance_us)
{
	double room = (double)(burst_tolerance_us - MAX(tat_us - now_us, 0));

	if (room < emission_interval_us)
		return 0;
	return (gint64)(room / emission_interval_us);
}

gint64
pc_gcra_retry_seconds(gint64 retry_after_us)
{
	gint64 seconds = (retry_after_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;

	return MAX(seconds, 1);
}
