/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-gcra: the arithmetic alone, on injected time. Each case is a
 * limit and a sequence of requests; a request that passes is committed
 * (its new TAT kept) unless the step says check only, and a refused one
 * changes nothing, as the stores do.
 */
#include <glib.h>

#include "pc-gcra.h"

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)

typedef struct {
	gint64 now_us;
	gint64 quantity;
	gboolean check_only;
	gboolean want_allowed;
	gint64 want_retry_us;
} GcraStep;

typedef struct {
	const char *label;
	gint64 count;
	gint64 period_us;
	gint64 burst; /* 0: the count */
	GcraStep steps[16];
	gsize n_steps;
} GcraCase;

#define PASS(now, q)                                                                               \
	{                                                                                          \
		.now_us = (now), .quantity = (q), .want_allowed = TRUE                             \
	}
#define CHECK(now, q)                                                                              \
	{                                                                                          \
		.now_us = (now), .quantity = (q), .check_only = TRUE, .want_allowed = TRUE         \
	}
#define REFUSE(now, q, wait)                                                                       \
	{                                                                                          \
		.now_us = (now), .quantity = (q), .want_retry_us = (wait)                          \
	}

static const GcraCase cases[] = {
    /* what an admin reads in "rate = 5/1m": five at once, then one every 12 s */
    {.label = "five-a-minute",
     .count = 5,
     .period_us = S(60),
     .steps = {PASS(S(100), 1), PASS(S(100), 1), PASS(S(100), 1), PASS(S(100), 1), PASS(S(100), 1),
	       REFUSE(S(100), 1, S(12)), REFUSE(S(106), 1, S(6)), REFUSE(S(112) - 1, 1, 1),
	       PASS(S(112), 1), REFUSE(S(112), 1, S(12)), PASS(S(124), 1)},
     .n_steps = 11},
    /* an idle bucket refills completely, never beyond the burst */
    {.label = "refill-caps-at-burst",
     .count = 5,
     .period_us = S(60),
     .steps = {PASS(S(0), 5), PASS(S(3600), 5), REFUSE(S(3600), 1, S(12))},
     .n_steps = 3},
    /* burst below the count: 2 at once, the steady rate unchanged */
    {.label = "burst-smaller-than-count",
     .count = 60,
     .period_us = S(60),
     .burst = 2,
     .steps = {PASS(S(10), 1), PASS(S(10), 1), REFUSE(S(10), 1, S(1)), PASS(S(11), 1),
	       REFUSE(S(11), 1, S(1))},
     .n_steps = 5},
    /* burst above the count: a larger spike, the same average */
    {.label = "burst-larger-than-count",
     .count = 1,
     .period_us = S(10),
     .burst = 3,
     .steps = {PASS(S(0), 3), REFUSE(S(0), 1, S(10)), PASS(S(10), 1)},
     .n_steps = 3},
    /* quantities: 10 recipients of 20/1h cost half the bucket */
    {.label = "quantity",
     .count = 20,
     .period_us = S(3600),
     .steps = {PASS(S(0), 10), PASS(S(0), 10), REFUSE(S(0), 1, S(180)), REFUSE(S(360), 3, S(180)),
	       PASS(S(540), 3)},
     .n_steps = 5},
    /* checks do not consume: refused mail is never counted */
    {.label = "check-consumes-nothing",
     .count = 2,
     .period_us = S(60),
     .steps = {CHECK(S(0), 2), CHECK(S(0), 2), CHECK(S(0), 2), PASS(S(0), 2),
	       REFUSE(S(0), 1, S(30))},
     .n_steps = 5},
    /* more than the bucket holds never passes (the rate policy clamps byte counts) */
    {.label = "over-burst-never",
     .count = 10,
     .period_us = S(10),
     .steps = {REFUSE(S(0), 11, S(1)), PASS(S(0), 10)},
     .n_steps = 2},
    /* fractional intervals are kept exact: 100M bytes an hour */
    {.label = "bytes-fractional-interval",
     .count = 100 * 1024 * 1024,
     .period_us = S(3600),
     .steps = {PASS(S(0), 50 * 1024 * 1024), PASS(S(0), 50 * 1024 * 1024), REFUSE(S(0), 1, 35),
	       PASS(S(36), 1048)},
     .n_steps = 4},
    /* a clock that starts at 0 (a fresh key is a full bucket whatever now is) */
    {.label = "time-zero",
     .count = 1,
     .period_us = S(1),
     .steps = {PASS(0, 1), REFUSE(0, 1, S(1)), PASS(S(1), 1)},
     .n_steps = 3},
};

static void
test_sequence(gconstpointer data)
{
	const GcraCase *test_case = data;
	double interval = 0;
	gint64 tolerance = 0;
	gint64 tat = 0;

	pc_gcra_limit(test_case->count, test_case->period_us, test_case->burst, &interval,
		      &tolerance);
	for (gsize i = 0; i < test_case->n_steps; i++) {
		const GcraStep *step = &test_case->steps[i];
		gint64 new_tat = 0;
		gint64 retry = -1;
		gboolean allowed = pc_gcra_check(tat, step->now_us, interval, tolerance,
						 step->quantity, &new_tat, &retry);

		g_test_message("step %" G_GSIZE_FORMAT ": now %" G_GINT64_FORMAT
			       " q %" G_GINT64_FORMAT " -> %d retry %" G_GINT64_FORMAT,
			       i, step->now_us, step->quantity, allowed, retry);
		g_assert_cmpint(allowed, ==, step->want_allowed);
		if (allowed) {
			g_assert_cmpint(retry, ==, 0);
			if (!step->check_only)
				tat = new_tat;
		} else {
			g_assert_cmpint(retry, ==, step->want_retry_us);
		}
	}
}

static void
test_limit(void)
{
	double interval = 0;
	gint64 tolerance = 0;

	pc_gcra_limit(500, S(3600), 0, &interval, &tolerance);
	g_assert_cmpfloat(interval, ==, 7200000.0);
	g_assert_cmpint(tolerance, ==, S(3600));
	pc_gcra_limit(500, S(3600), 50, &interval, &tolerance);
	g_assert_cmpint(tolerance, ==, S(360));
	pc_gcra_limit(3, S(1), 0, &interval, &tolerance);
	g_assert_cmpint(tolerance, ==, S(1));
}

static void
test_cost(void)
{
	g_assert_cmpint(pc_gcra_cost_us(1, 12.0), ==, 12);
	g_assert_cmpint(pc_gcra_cost_us(3, 1.0 / 3.0), ==, 1);
	g_assert_cmpint(pc_gcra_cost_us(1, 0.25), ==, 1);
	g_assert_cmpint(pc_gcra_cost_us(7, 34.33), ==, 241);
	g_assert_cmpint(pc_gcra_cost_us(G_MAXINT64, 1e9), ==, G_MAXINT64 / 4);
}

static void
test_available(void)
{
	/* 5/1m: T = 12 s, tau = 60 s */
	g_assert_cmpint(pc_gcra_available(0, S(100), 12e6, S(60)), ==, 5);
	g_assert_cmpint(pc_gcra_available(S(112), S(100), 12e6, S(60)), ==, 4);
	g_assert_cmpint(pc_gcra_available(S(113), S(100), 12e6, S(60)), ==, 3);
	g_assert_cmpint(pc_gcra_available(S(160), S(100), 12e6, S(60)), ==, 0);
	g_assert_cmpint(pc_gcra_available(S(200), S(100), 12e6, S(60)), ==, 0);
}

static void
test_retry_seconds(void)
{
	static const struct {
		gint64 retry_us;
		gint64 want;
	} cases_s[] = {
	    {0, 1}, {1, 1}, {S(1), 1}, {S(1) + 1, 2}, {S(12), 12}, {S(1200) - 5000, 1200},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases_s); i++)
		g_assert_cmpint(pc_gcra_retry_seconds(cases_s[i].retry_us), ==, cases_s[i].want);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strconcat("/pc/gcra/sequence/", cases[i].label, NULL);

		g_test_add_data_func(path, &cases[i], test_sequence);
	}
	g_test_add_func("/pc/gcra/limit", test_limit);
	g_test_add_func("/pc/gcra/cost", test_cost);
	g_test_add_func("/pc/gcra/retry-seconds", test_retry_seconds);
	g_test_add_func("/pc/gcra/available", test_available);
	return g_test_run();
}
