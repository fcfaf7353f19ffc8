/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-store and its memory backend: counter windows at their exact
 * boundary, set/get/delete, LRU eviction under max_keys (expired entries go
 * first), prefix counts, key limits, store specs, and exact totals under
 * concurrent increments. Time is passed in as now_us; nothing sleeps. One
 * test prints (without asserting) the memory a million keys cost. The redis
 * backend: an unreachable server, and a fake one that flaps (the outage lines
 * it causes, with the store's clock stepped by the test).
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "pc-store.h"

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)

/*
 * --- incr windows ---
 *
 * The boundary: an entry written at t with ttl is live up to t + ttl - 1 and
 * expired at exactly t + ttl, so a 60 s window holds the events of [t, t+60).
 */

typedef struct {
	gint64 now_us;
	gint64 delta;
	gint64 ttl_us;
	gint64 want_value;
	gint64 want_ttl_out; /* remaining lifetime just after the step; -1: never expires */
} StoreIncrStep;

typedef struct {
	const char *label;
	StoreIncrStep steps[8];
	gsize n_steps;
} StoreIncrCase;

/* STEP(now, delta, ttl, value after, remaining lifetime after) */
#define STEP(now, delta_, ttl, value, ttl_out)                                                     \
	{                                                                                          \
		.now_us = (now), .delta = (delta_), .ttl_us = (ttl), .want_value = (value),        \
		.want_ttl_out = (ttl_out)                                                          \
	}

static const StoreIncrCase incr_cases[] = {
    {.label = "window-boundary",
     .steps = {STEP(S(100), 1, S(10), 1, S(10)), STEP(S(105), 1, S(10), 2, S(5)),
	       STEP(S(110) - 1, 1, S(10), 3, 1), STEP(S(110), 1, S(10), 1, S(10)),
	       STEP(S(125), 4, S(10), 4, S(10))},
     .n_steps = 5},
    {.label = "later-ttl-does-not-extend",
     .steps = {STEP(0, 1, S(10), 1, S(10)), STEP(S(5), 1, S(100), 2, S(5)),
	       STEP(S(10), 1, S(100), 1, S(100))},
     .n_steps = 3},
    {.label = "no-ttl-never-expires",
     .steps = {STEP(0, 1, 0, 1, -1), STEP(S(1000000), 1, S(1), 2, -1)},
     .n_steps = 2},
    {.label = "negative-ttl-never-expires",
     .steps = {STEP(S(1), 1, -5, 1, -1), STEP(S(9), 1, S(1), 2, -1)},
     .n_steps = 2},
    {.label = "negative-delta",
     .steps = {STEP(0, 5, S(60), 5, S(60)), STEP(S(1), -7, S(60), -2, S(59))},
     .n_steps = 2},
    {.label = "huge-ttl-saturates",
     .steps = {STEP(S(50), 1, G_MAXINT64, 1, -1), STEP(S(60), 1, 1, 2, -1)},
     .n_steps = 2},
    {.label = "value-saturates",
     .steps = {STEP(0, G_MAXINT64 - 1, 0, G_MAXINT64 - 1, -1), STEP(0, 5, 0, G_MAXINT64, -1),
	       STEP(0, G_MININT64, 0, -1, -1), STEP(0, G_MININT64, 0, G_MININT64, -1)},
     .n_steps = 4},
};

static void
test_incr(gconstpointer data)
{
	const StoreIncrCase *test_case = data;
	g_autoptr(PcStore) store = pc_store_new_memory(16, 0);

	for (gsize i = 0; i < test_case->n_steps; i++) {
		const StoreIncrStep *step = &test_case->steps[i];
		gint64 value = 0;
		gint64 ttl_out = 0;

		g_test_message("step %" G_GSIZE_FORMAT, i);
		g_assert_cmpint(pc_store_incr(store, "rate:key", step->delta, step->ttl_us,
					      step->now_us, &value),
				==, PC_LOOKUP_FOUND);
		g_assert_cmpint(value, ==, step->want_value);
		g_assert_cmpint(pc_store_get(store, "rate:key", step->now_us, &value, &ttl_out), ==,
				PC_LOOKUP_FOUND);
		g_assert_cmpint(value, ==, step->want_value);
		g_assert_cmpint(ttl_out, ==, step->want_ttl_out);
	}
	g_assert_cmpuint(pc_store_size(store), ==, 1);
}

static void
test_incr_null_value_out(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(4, 1);
	gint64 value = 0;

	g_assert_cmpint(pc_store_incr(store, "k", 3, 0, 0, NULL), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_incr(store, "k", 3, 0, 0, &value), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 6);
}

/*
 * --- set, get, delete ---
 */

static void
test_set_get(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(16, 4);
	gint64 value = 0;
	gint64 ttl_out = 0;

	g_assert_cmpint(pc_store_get(store, "flag", 0, &value, &ttl_out), ==, PC_LOOKUP_NOTFOUND);

	g_assert_cmpint(pc_store_set(store, "flag", 7, S(10), S(100)), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_get(store, "flag", S(100), &value, &ttl_out), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 7);
	g_assert_cmpint(ttl_out, ==, S(10));
	g_assert_cmpint(pc_store_get(store, "flag", S(110) - 1, NULL, &ttl_out), ==,
			PC_LOOKUP_FOUND);
	g_assert_cmpint(ttl_out, ==, 1);

	/* set replaces both the value and the expiry */
	g_assert_cmpint(pc_store_set(store, "flag", -3, 0, S(105)), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_get(store, "flag", S(500), &value, &ttl_out), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, -3);
	g_assert_cmpint(ttl_out, ==, -1);
	g_assert_cmpint(pc_store_set(store, "flag", 1, S(1), S(500)), ==, PC_LOOKUP_FOUND);

	/* at exactly the expiry the entry is gone, and the get frees it */
	g_assert_cmpuint(pc_store_size(store), ==, 1);
	g_assert_cmpint(pc_store_get(store, "flag", S(501), &value, NULL), ==, PC_LOOKUP_NOTFOUND);
	g_assert_cmpuint(pc_store_size(store), ==, 0);

	/* set after expiry starts afresh */
	g_assert_cmpint(pc_store_set(store, "flag", 9, S(1), S(600)), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_get(store, "flag", S(600), &value, NULL), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 9);
}

static void
test_incr_after_set(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(16, 4);
	gint64 value = 0;

	/* an incr on a set key keeps the set's expiry */
	g_assert_cmpint(pc_store_set(store, "k", 10, S(5), 0), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_incr(store, "k", 1, S(60), S(4), &value), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 11);
	g_assert_cmpint(pc_store_incr(store, "k", 1, S(60), S(5), &value), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 1);
}

static void
test_delete(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(16, 4);

	g_assert_cmpint(pc_store_delete(store, "ban:192.0.2.1"), ==, PC_LOOKUP_NOTFOUND);
	g_assert_cmpint(pc_store_set(store, "ban:192.0.2.1", 1, S(60), 0), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_set(store, "ban:192.0.2.2", 1, S(60), 0), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_delete(store, "ban:192.0.2.1"), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(pc_store_delete(store, "ban:192.0.2.1"), ==, PC_LOOKUP_NOTFOUND);
	g_assert_cmpint(pc_store_get(store, "ban:192.0.2.1", 0, NULL, NULL), ==,
			PC_LOOKUP_NOTFOUND);
	g_assert_cmpint(pc_store_get(store, "ban:192.0.2.2", 0, NULL, NULL), ==, PC_LOOKUP_FOUND);
	g_assert_cmpuint(pc_store_size(store), ==, 1);
}

/*
 * --- eviction ---
 */

static gboolean
store_has(PcStore *store, const char *key, gint64 now_us)
{
	return pc_store_get(store, key, now_us, NULL, NULL) == PC_LOOKUP_FOUND;
}

static void
test_evict_lru(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(3, 1);

	pc_store_set(store, "a", 1, 0, 0);
	pc_store_set(store, "b", 1, 0, 0);
	pc_store_set(store, "c", 1, 0, 0);
	/* touching a makes b the least recently used */
	g_assert_true(store_has(store, "a", 0));
	pc_store_set(store, "d", 1, 0, 0);
	g_assert_cmpuint(pc_store_size(store), ==, 3);
	g_assert_false(store_has(store, "b", 0));
	g_assert_true(store_has(store, "a", 0));
	g_assert_true(store_has(store, "c", 0));
	g_assert_true(store_has(store, "d", 0));

	/* an incr counts as a use too: c is now the oldest */
	pc_store_incr(store, "a", 1, 0, 0, NULL);
	pc_store_incr(store, "d", 1, 0, 0, NULL);
	pc_store_incr(store, "e", 1, 0, 0, NULL);
	g_assert_false(store_has(store, "c", 0));
	g_assert_cmpuint(pc_store_size(store), ==, 3);
}

static void
test_evict_expired_first(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(4, 1);

	/* oldest first: a live one, two that expire at 10 s, another live one */
	pc_store_set(store, "live-old", 1, 0, 0);
	pc_store_set(store, "short-1", 1, S(10), 0);
	pc_store_set(store, "short-2", 1, S(10), 0);
	pc_store_set(store, "live-new", 1, 0, 0);

	/* nothing has expired yet, so the least recently used goes */
	pc_store_set(store, "n1", 1, 0, S(5));
	g_assert_cmpuint(pc_store_size(store), ==, 4);
	g_assert_false(store_has(store, "live-old", S(5)));

	/* at 10 s both short ones are dead: they make room, and live-new, now the oldest, stays */
	pc_store_set(store, "n2", 1, 0, S(10));
	g_assert_cmpuint(pc_store_size(store), ==, 3);
	g_assert_true(store_has(store, "live-new", S(10)));
	g_assert_true(store_has(store, "n1", S(10)));
	g_assert_true(store_has(store, "n2", S(10)));
	g_assert_false(store_has(store, "short-1", S(10)));
	g_assert_false(store_has(store, "short-2", S(10)));
}

/* the shard capacities add up to max_keys exactly, whatever the shard count */
typedef struct {
	const char *label;
	gsize max_keys;
	guint n_shards;
} StoreBoundCase;

static const StoreBoundCase bound_cases[] = {
    {.label = "one-key-default-shards", .max_keys = 1, .n_shards = 0},
    {.label = "five-keys-64-shards", .max_keys = 5, .n_shards = 64},
    {.label = "100-keys-3-shards", .max_keys = 100, .n_shards = 3},
    {.label = "1000-keys-1024-shards", .max_keys = 1000, .n_shards = 1024},
    {.label = "4097-keys-default-shards", .max_keys = 4097, .n_shards = 0},
};

static void
test_bound(gconstpointer data)
{
	const StoreBoundCase *test_case = data;
	g_autoptr(PcStore) store = pc_store_new_memory(test_case->max_keys, test_case->n_shards);

	/* fifty keys per slot, so that (keys being hashed) every shard surely fills up */
	for (gsize i = 0; i < test_case->max_keys * 50; i++) {
		g_autofree char *key = g_strdup_printf("key:%" G_GSIZE_FORMAT, i);

		g_assert_cmpint(pc_store_incr(store, key, 1, 0, 0, NULL), ==, PC_LOOKUP_FOUND);
		if (i % 64 == 0)
			g_assert_cmpuint(pc_store_size(store), <=, test_case->max_keys);
	}
	g_assert_cmpuint(pc_store_size(store), ==, test_case->max_keys);
	g_assert_cmpuint(pc_store_count_prefix(store, "key:", 0), ==, test_case->max_keys);
}

/* enough keys to grow every shard's table several times, then read them all back */
static void
test_many_keys(void)
{
	const gsize n_keys = 50000;
	/* room to spare: keys spread over the shards unevenly, and none may be evicted here */
	g_autoptr(PcStore) store = pc_store_new_memory(n_keys * 2, 8);

	for (gsize i = 0; i < n_keys; i++) {
		g_autofree char *key = g_strdup_printf("k%" G_GSIZE_FORMAT, i);

		pc_store_set(store, key, (gint64)i, 0, 0);
	}
	g_assert_cmpuint(pc_store_size(store), ==, n_keys);
	for (gsize i = 0; i < n_keys; i++) {
		g_autofree char *key = g_strdup_printf("k%" G_GSIZE_FORMAT, i);
		gint64 value = -1;

		g_assert_cmpint(pc_store_get(store, key, 0, &value, NULL), ==, PC_LOOKUP_FOUND);
		g_assert_cmpint(value, ==, (gint64)i);
		if (i % 2 == 0)
			g_assert_cmpint(pc_store_delete(store, key), ==, PC_LOOKUP_FOUND);
	}
	g_assert_cmpuint(pc_store_size(store), ==, n_keys / 2);
	g_assert_cmpuint(pc_store_count_prefix(store, "k", 0), ==, n_keys / 2);
}

/*
 * --- count_prefix ---
 */

typedef struct {
	const char *label;
	const char *prefix;
	gsize want;
} StorePrefixCase;

static const StorePrefixCase prefix_cases[] = {
    {.label = "rate-a", .prefix = "rate:a:", .want = 2},
    {.label = "rate", .prefix = "rate:", .want = 3},
    {.label = "empty-prefix", .prefix = "", .want = 4},
    {.label = "whole-key", .prefix = "ban:1", .want = 1},
    {.label = "longer-than-key", .prefix = "ban:1:x", .want = 0},
    {.label = "no-match", .prefix = "grey:", .want = 0},
};

static void
test_count_prefix(gconstpointer data)
{
	const StorePrefixCase *test_case = data;
	g_autoptr(PcStore) store = pc_store_new_memory(64, 4);

	pc_store_set(store, "rate:a:1", 1, S(60), 0);
	pc_store_set(store, "rate:a:2", 1, 0, 0);
	pc_store_set(store, "rate:b:1", 1, S(60), 0);
	pc_store_set(store, "ban:1", 1, S(60), 0);
	/* expired at 30 s, still held: counted by size, not by count_prefix */
	pc_store_set(store, "rate:a:3", 1, S(10), S(20));
	pc_store_set(store, "ban:2", 1, S(1), 0);

	g_assert_cmpuint(pc_store_count_prefix(store, test_case->prefix, S(30)), ==,
			 test_case->want);
	g_assert_cmpuint(pc_store_size(store), ==, 6);
}

/*
 * --- key length, specs, guards ---
 */

static void
test_key_too_long(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(16, 0);
	g_autofree char *longest = g_strnfill(PC_STORE_MAX_KEY, 'k');
	g_autofree char *too_long = g_strnfill(PC_STORE_MAX_KEY + 1, 'k');
	gint64 value = 42;

	g_assert_cmpint(pc_store_incr(store, longest, 1, 0, 0, &value), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 1);
	g_assert_cmpint(pc_store_get(store, longest, 0, &value, NULL), ==, PC_LOOKUP_FOUND);

	value = 42;
	g_assert_cmpint(pc_store_incr(store, too_long, 1, 0, 0, &value), ==, PC_LOOKUP_CONFIG);
	g_assert_cmpint(value, ==, 42);
	g_assert_cmpint(pc_store_set(store, too_long, 1, 0, 0), ==, PC_LOOKUP_CONFIG);
	g_assert_cmpint(pc_store_get(store, too_long, 0, &value, NULL), ==, PC_LOOKUP_CONFIG);
	g_assert_cmpint(pc_store_delete(store, too_long), ==, PC_LOOKUP_CONFIG);
	g_assert_cmpint(value, ==, 42);
	g_assert_cmpuint(pc_store_size(store), ==, 1);
}

typedef struct {
	const char *label;
	const char *spec;
	gsize max_keys;
	const char *want_error; /* NULL: a store is made */
} StoreSpecCase;

static const StoreSpecCase spec_cases[] = {
    {.label = "memory", .spec = "memory", .max_keys = 100},
    {.label = "memory-no-keys",
     .spec = "memory",
     .max_keys = 0,
     .want_error = "store 'memory': the key limit must be at least 1"},
    {.label = "redis-no-host",
     .spec = "redis://",
     .max_keys = 100,
     .want_error = "store 'redis://': not a Redis address (expected "
		   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)"},
    {.label = "redis-port-zero",
     .spec = "redis://127.0.0.1:0/0",
     .max_keys = 100,
     .want_error = "store 'redis://127.0.0.1:0/0': not a Redis address (expected "
		   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)"},
    {.label = "redis-port-too-large",
     .spec = "redis://127.0.0.1:65536",
     .max_keys = 100,
     .want_error = "store 'redis://127.0.0.1:65536': not a Redis address (expected "
		   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)"},
    {.label = "redis-bad-db",
     .spec = "redis://127.0.0.1:6379/zero",
     .max_keys = 100,
     .want_error = "store 'redis://127.0.0.1:6379/zero': not a Redis address (expected "
		   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)"},
    {.label = "redis-bad-ipv6",
     .spec = "redis://[::1:6379",
     .max_keys = 100,
     .want_error = "store 'redis://[::1:6379': not a Redis address (expected "
		   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)"},
    {.label = "unix-relative",
     .spec = "unix:redis.sock",
     .max_keys = 100,
     .want_error = "store 'unix:redis.sock': not a Redis address (expected "
		   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)"},
    {.label = "unknown",
     .spec = "memcached://127.0.0.1",
     .max_keys = 100,
     .want_error = "store 'memcached://127.0.0.1': unknown store (expected memory, "
		   "redis://HOST:PORT/DB or unix:PATH)"},
    {.label = "empty",
     .spec = "",
     .max_keys = 100,
     .want_error = "store '': unknown store (expected memory, redis://HOST:PORT/DB or unix:PATH)"},
    {.label = "memory-uppercase",
     .spec = "Memory",
     .max_keys = 100,
     .want_error = "store 'Memory': unknown store (expected memory, redis://HOST:PORT/DB or "
		   "unix:PATH)"},
};

static void
test_spec(gconstpointer data)
{
	const StoreSpecCase *test_case = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(PcStore) store =
	    pc_store_new_from_spec(test_case->spec, test_case->max_keys, &error);

	if (test_case->want_error == NULL) {
		g_assert_no_error(error);
		g_assert_nonnull(store);
		g_assert_cmpint(pc_store_incr(store, "k", 1, 0, 0, NULL), ==, PC_LOOKUP_FOUND);
		return;
	}
	g_assert_null(store);
	g_assert_error(error, PC_STORE_ERROR, PC_STORE_ERROR_SPEC);
	g_assert_cmpstr(error->message, ==, test_case->want_error);
}

static void
test_guards(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(4, 0);

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*max_keys >= 1*");
	g_assert_null(pc_store_new_memory(0, 0));
	g_test_assert_expected_messages();

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*n_shards <= *");
	g_assert_null(pc_store_new_memory(10, 2048));
	g_test_assert_expected_messages();

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*key != NULL*");
	g_assert_cmpint(pc_store_incr(store, NULL, 1, 0, 0, NULL), ==, PC_LOOKUP_CONFIG);
	g_test_assert_expected_messages();

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*store != NULL*");
	g_assert_cmpint(pc_store_get(NULL, "k", 0, NULL, NULL), ==, PC_LOOKUP_CONFIG);
	g_test_assert_expected_messages();

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*prefix != NULL*");
	g_assert_cmpuint(pc_store_count_prefix(store, NULL, 0), ==, 0);
	g_test_assert_expected_messages();

	pc_store_free(NULL);
}

/*
 * --- threads ---
 */

#define STORE_THREADS 4
#define STORE_THREAD_INCRS 100000
#define STORE_THREAD_N_KEYS 8

typedef struct {
	PcStore *store;
	guint thread_index;
} StoreThreadData;

static gpointer
store_thread_run(gpointer data)
{
	const StoreThreadData *thread = data;
	char key[32];

	for (guint i = 0; i < STORE_THREAD_INCRS; i++) {
		/* each thread walks the keys from its own offset, so they collide all the time */
		g_snprintf(key, sizeof(key), "rate:shared:%u",
			   (i + thread->thread_index) % STORE_THREAD_N_KEYS);
		g_assert_cmpint(pc_store_incr(thread->store, key, 1, S(3600), S(1), NULL), ==,
				PC_LOOKUP_FOUND);
	}
	return NULL;
}

static void
test_threads(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(1024, 0);
	StoreThreadData data[STORE_THREADS];
	GThread *threads[STORE_THREADS];
	gint64 total = 0;

	for (guint i = 0; i < STORE_THREADS; i++) {
		data[i] = (StoreThreadData){.store = store, .thread_index = i};
		threads[i] = g_thread_new("store-incr", store_thread_run, &data[i]);
	}
	for (guint i = 0; i < STORE_THREADS; i++)
		g_thread_join(threads[i]);

	for (guint i = 0; i < STORE_THREAD_N_KEYS; i++) {
		g_autofree char *key = g_strdup_printf("rate:shared:%u", i);
		gint64 value = 0;

		g_assert_cmpint(pc_store_get(store, key, S(2), &value, NULL), ==, PC_LOOKUP_FOUND);
		g_assert_cmpint(value, ==,
				STORE_THREADS * STORE_THREAD_INCRS / STORE_THREAD_N_KEYS);
		total += value;
	}
	g_assert_cmpint(total, ==, STORE_THREADS * STORE_THREAD_INCRS);
}

/*
 * --- memory use (measured, not asserted) ---
 */

static gsize
store_rss_bytes(void)
{
	g_autofree char *statm = NULL;
	g_auto(GStrv) fields = NULL;

	if (!g_file_get_contents("/proc/self/statm", &statm, NULL, NULL))
		return 0;
	fields = g_strsplit(statm, " ", 3);
	if (g_strv_length(fields) < 2)
		return 0;
	return (gsize)g_ascii_strtoull(fields[1], NULL, 10) * (gsize)sysconf(_SC_PAGESIZE);
}

static void
test_rss_million_keys(void)
{
	const gsize n_keys = 1000000;
	gsize before = store_rss_bytes();
	/* the bound is split over the shards: headroom, so that no shard evicts here */
	g_autoptr(PcStore) store = pc_store_new_memory(n_keys * 2, 0);
	char key[64];
	gsize after;

	for (gsize i = 0; i < n_keys; i++) {
		g_snprintf(key, sizeof(key), "rate:login:user%06" G_GSIZE_FORMAT "@example.com:1h",
			   i);
		pc_store_incr(store, key, 1, S(3600), S(1), NULL);
	}
	after = store_rss_bytes();
	g_assert_cmpuint(pc_store_size(store), ==, n_keys);
	g_test_message("%" G_GSIZE_FORMAT " keys like \"%s\": RSS grew by %.1f MB "
		       "(%.0f bytes a key)",
		       n_keys, key, (double)(after - before) / (1024.0 * 1024.0),
		       (double)(after - before) / (double)n_keys);
}

/*
 * --- store-wide bound (regression: per-shard capacities evicted early) ---
 */

/* exactly max_keys distinct keys fit, however unevenly they hash over the shards */
static void
test_bound_no_early_eviction(void)
{
	const gsize max_keys = 1000;
	g_autoptr(PcStore) store = pc_store_new_memory(max_keys, 64);

	for (gsize i = 0; i < max_keys; i++) {
		g_autofree char *key = g_strdup_printf("key:%" G_GSIZE_FORMAT, i);

		pc_store_set(store, key, (gint64)i, 0, 0);
	}
	g_assert_cmpuint(pc_store_size(store), ==, max_keys);
	for (gsize i = 0; i < max_keys; i++) {
		g_autofree char *key = g_strdup_printf("key:%" G_GSIZE_FORMAT, i);

		g_assert_true(store_has(store, key, 0));
	}
	/* one more evicts exactly one */
	pc_store_set(store, "one-more", 1, 0, 0);
	g_assert_cmpuint(pc_store_size(store), ==, max_keys);
	g_assert_true(store_has(store, "one-more", 0));
}

/* threads inserting at once stay within a few entries of the bound, and end on it */
#define BOUND_THREADS 4

typedef struct {
	PcStore *store;
	guint thread_index;
	gsize max_seen;
} BoundThreadData;

static gpointer
bound_thread_run(gpointer data)
{
	BoundThreadData *thread = data;
	char key[48];

	for (guint i = 0; i < 50000; i++) {
		g_snprintf(key, sizeof(key), "t%u:%u", thread->thread_index, i);
		pc_store_incr(thread->store, key, 1, 0, 0, NULL);
		if (i % 256 == 0)
			thread->max_seen = MAX(thread->max_seen, pc_store_size(thread->store));
	}
	return NULL;
}

static void
test_bound_threads(void)
{
	const gsize max_keys = 2000;
	g_autoptr(PcStore) store = pc_store_new_memory(max_keys, 16);
	BoundThreadData data[BOUND_THREADS];
	GThread *threads[BOUND_THREADS];

	for (guint i = 0; i < BOUND_THREADS; i++) {
		data[i] = (BoundThreadData){.store = store, .thread_index = i};
		threads[i] = g_thread_new("bound", bound_thread_run, &data[i]);
	}
	for (guint i = 0; i < BOUND_THREADS; i++) {
		g_thread_join(threads[i]);
		/* a few entries per thread inserting at the same instant */
		g_assert_cmpuint(data[i].max_seen, <=, max_keys + 4 * BOUND_THREADS);
	}
	/* single-threaded again: the next insert brings the store back to the bound */
	pc_store_set(store, "last", 1, 0, 0);
	g_assert_cmpuint(pc_store_size(store), <=, max_keys);
	g_assert_cmpuint(pc_store_size(store), >=, max_keys - 1);
}

/*
 * --- GCRA on the memory store ---
 */

#define MINUTE_5 (S(60) / 5.0) /* 5/1m: one every 12 s */

static void
test_gcra_burst_then_steady(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(64, 4);
	gboolean allowed = FALSE;
	gint64 retry = -1;

	/* 5/1m, burst 5: five at once, the sixth waits 12 s */
	for (int i = 0; i < 5; i++) {
		g_assert_cmpint(
		    pc_store_gcra(store, "g", MINUTE_5, S(60), 1, TRUE, S(1000), &allowed, &retry),
		    ==, PC_LOOKUP_FOUND);
		g_assert_true(allowed);
		g_assert_cmpint(retry, ==, 0);
	}
	pc_store_gcra(store, "g", MINUTE_5, S(60), 1, TRUE, S(1000), &allowed, &retry);
	g_assert_false(allowed);
	g_assert_cmpint(retry, ==, S(12));
	/* a refused request consumed nothing: still 12 s, not 24 */
	pc_store_gcra(store, "g", MINUTE_5, S(60), 1, TRUE, S(1000), &allowed, &retry);
	g_assert_cmpint(retry, ==, S(12));
	pc_store_gcra(store, "g", MINUTE_5, S(60), 1, TRUE, S(1012) - 1, &allowed, &retry);
	g_assert_false(allowed);
	g_assert_cmpint(retry, ==, 1);
	pc_store_gcra(store, "g", MINUTE_5, S(60), 1, TRUE, S(1012), &allowed, &retry);
	g_assert_true(allowed);
	/* the key expires exactly when the bucket is full again */
	g_assert_true(store_has(store, "g", S(1071)));
	g_assert_false(store_has(store, "g", S(1072)));
}

static void
test_gcra_check_without_commit(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(64, 4);
	gboolean allowed = FALSE;
	gint64 retry = -1;

	/* a check alone writes nothing: not even the key */
	for (int i = 0; i < 10; i++) {
		pc_store_gcra(store, "c", MINUTE_5, S(60), 5, FALSE, S(10), &allowed, &retry);
		g_assert_true(allowed);
	}
	g_assert_cmpuint(pc_store_size(store), ==, 0);
	pc_store_gcra(store, "c", MINUTE_5, S(60), 6, FALSE, S(10), &allowed, &retry);
	g_assert_false(allowed);
	g_assert_cmpint(retry, ==, S(12));
}

/* several windows commit together or not at all */
static void
test_gcra_multi_all_or_nothing(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(64, 4);
	const PcStoreGcraWindow windows[] = {
	    /* 3/1m and 4/1h */
	    {.key = "m", .emission_interval_us = S(20), .burst_tolerance_us = S(60), .quantity = 1},
	    {.key = "h",
	     .emission_interval_us = S(900),
	     .burst_tolerance_us = S(3600),
	     .quantity = 1},
	};
	gboolean allowed = FALSE;
	gint64 retry = -1;
	gint64 now = S(5000);

	for (int i = 0; i < 3; i++) {
		pc_store_gcra_multi(store, windows, 2, TRUE, now, &allowed, &retry, NULL);
		g_assert_true(allowed);
	}
	/* the minute window refuses: the hour window is not charged */
	pc_store_gcra_multi(store, windows, 2, TRUE, now, &allowed, &retry, NULL);
	g_assert_false(allowed);
	g_assert_cmpint(retry, ==, S(20));
	now += S(20);
	pc_store_gcra_multi(store, windows, 2, TRUE, now, &allowed, &retry, NULL);
	g_assert_true(allowed);
	/* four in the hour: the hour window refuses, for 900 s after the first */
	now += S(60);
	{
		gint64 available[2] = {-1, -1};

		pc_store_gcra_multi(store, windows, 2, TRUE, now, &allowed, &retry, available);
		g_assert_false(allowed);
		g_assert_cmpint(retry, ==, S(900) - S(80));
		/* what each window could still take: the minute all 3 again, the hour none */
		g_assert_cmpint(available[0], ==, 3);
		g_assert_cmpint(available[1], ==, 0);
	}
}

static void
test_gcra_guards(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(64, 4);
	g_autofree char *too_long = g_strnfill(PC_STORE_MAX_KEY + 1, 'k');
	gboolean allowed = TRUE;
	gint64 retry = 42;

	g_assert_cmpint(pc_store_gcra(store, too_long, 1.0, 1, 1, TRUE, 0, &allowed, &retry), ==,
			PC_LOOKUP_CONFIG);
	g_assert_cmpint(pc_store_gcra(store, "k", 0.0, 1, 1, TRUE, 0, &allowed, &retry), ==,
			PC_LOOKUP_CONFIG);
	g_assert_cmpint(pc_store_gcra(store, "k", 1.0, -1, 1, TRUE, 0, &allowed, &retry), ==,
			PC_LOOKUP_CONFIG);
	g_assert_cmpint(pc_store_gcra(store, "k", 1.0, 1, 0, TRUE, 0, &allowed, &retry), ==,
			PC_LOOKUP_CONFIG);
	/* outputs untouched on failure */
	g_assert_true(allowed);
	g_assert_cmpint(retry, ==, 42);
}

/* concurrent commits never let more through than the bucket holds */
#define GCRA_THREADS 4

static gpointer
gcra_thread_run(gpointer data)
{
	PcStore *store = data;
	gint passed = 0;

	for (int i = 0; i < 1000; i++) {
		const PcStoreGcraWindow windows[] = {
		    {.key = "a",
		     .emission_interval_us = S(1),
		     .burst_tolerance_us = S(500),
		     .quantity = 1},
		    {.key = "b",
		     .emission_interval_us = S(2),
		     .burst_tolerance_us = S(2000),
		     .quantity = 1},
		};
		gboolean allowed = FALSE;
		gint64 retry = 0;

		pc_store_gcra_multi(store, windows, 2, TRUE, S(1), &allowed, &retry, NULL);
		passed += allowed;
	}
	return GINT_TO_POINTER(passed);
}

static void
test_gcra_threads(void)
{
	g_autoptr(PcStore) store = pc_store_new_memory(64, 8);
	GThread *threads[GCRA_THREADS];
	gint passed = 0;

	for (guint i = 0; i < GCRA_THREADS; i++)
		threads[i] = g_thread_new("gcra", gcra_thread_run, store);
	for (guint i = 0; i < GCRA_THREADS; i++)
		passed += GPOINTER_TO_INT(g_thread_join(threads[i]));
	/* window a holds 500 at once, b 1000: exactly 500 pass, whatever the interleaving */
	g_assert_cmpint(passed, ==, 500);
}

/* an unreachable Redis at start is a warning and the fallback answers, not an error */
static void
test_redis_unreachable_falls_back(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcStore) store = NULL;
	gint64 value = 0;
	gboolean allowed = FALSE;
	gint64 retry = 0;

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
			      "store: unix:/nonexistent/pc-test/redis.sock unreachable (*); "
			      "answering from the memory store until it is back*");
	store = pc_store_new_from_spec("unix:/nonexistent/pc-test/redis.sock", 100, &error);
	g_test_assert_expected_messages();
	g_assert_no_error(error);
	g_assert_cmpstr(pc_store_get_backend_name(store), ==, "redis");
	g_assert_cmpint(pc_store_incr(store, "k", 2, S(60), S(1), &value), ==, PC_LOOKUP_FOUND);
	g_assert_cmpint(value, ==, 2);
	g_assert_cmpint(pc_store_gcra(store, "g", 1.0, 10, 1, TRUE, S(1), &allowed, &retry), ==,
			PC_LOOKUP_FOUND);
	g_assert_true(allowed);
	/* on_error = tempfail: no fallback, the caller hears about the outage */
	pc_store_set_fallback(store, FALSE);
	g_assert_cmpint(pc_store_incr(store, "k", 1, S(60), S(1), &value), ==, PC_LOOKUP_TEMPFAIL);
	g_assert_cmpint(pc_store_gcra(store, "g", 1.0, 10, 1, TRUE, S(1), &allowed, &retry), ==,
			PC_LOOKUP_TEMPFAIL);
}

/*
 * --- a Redis that flaps ---
 *
 * The report: a Redis sending truncated replies logged 49 outage warnings in
 * 8 s. This fake server on a unix socket answers the connection set-up
 * (SCRIPT LOAD, with the SHA-1 a real server gives) and every other command
 * with the start of a reply and a hang-up. Each store operation is then an
 * outage, and the next one, once the backoff has passed, a recovery. The
 * store's clock is stepped by the test: nothing sleeps.
 */

typedef struct {
	char *dir;
	char *path;
	int listen_fd;
	GThread *thread;
} FakeRedis;

static gint64 fake_clock_us;

static gint64
fake_clock(void)
{
	return fake_clock_us;
}

static gboolean
fake_read_exact(int fd, char *buf, gsize len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0)
			return FALSE;
		buf += n;
		len -= (gsize)n;
	}
	return TRUE;
}

/* one "...\r\n" line without its end; FALSE at EOF or past size */
static gboolean
fake_read_line(int fd, char *line, gsize size)
{
	for (gsize len = 0; len + 1 < size; len++) {
		if (!fake_read_exact(fd, line + len, 1))
			return FALSE;
		if (len > 0 && line[len - 1] == '\r' && line[len] == '\n') {
			line[len - 1] = '\0';
			return TRUE;
		}
	}
	return FALSE;
}

/* one RESP command as its arguments, or NULL when the client hung up */
static GPtrArray *
fake_read_command(int fd)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	char line[32];
	guint64 n_args;

	if (!fake_read_line(fd, line, sizeof(line)) || line[0] != '*')
		return NULL;
	n_args = g_ascii_strtoull(line + 1, NULL, 10);
	for (guint64 i = 0; i < n_args && i < 64; i++) {
		guint64 len;
		char *arg;

		if (!fake_read_line(fd, line, sizeof(line)) || line[0] != '$')
			return NULL;
		len = g_ascii_strtoull(line + 1, NULL, 10);
		if (len > 1024 * 1024)
			return NULL;
		arg = g_malloc(len + 2);
		g_ptr_array_add(args, arg);
		if (!fake_read_exact(fd, arg, len + 2))
			return NULL;
		arg[len] = '\0';
	}
	return g_steal_pointer(&args);
}

static void
fake_send(int fd, const char *text)
{
	/* MSG_NOSIGNAL: a client that hung up first is not worth a SIGPIPE */
	g_assert_cmpint(send(fd, text, strlen(text), MSG_NOSIGNAL), ==, (ssize_t)strlen(text));
}

static gpointer
fake_redis_run(gpointer data)
{
	FakeRedis *fake = data;
	int fd;

	/* ends when the test shuts the listening socket down */
	while ((fd = accept(fake->listen_fd, NULL, NULL)) >= 0) {
		GPtrArray *args;

		while ((args = fake_read_command(fd)) != NULL) {
			gboolean setup =
			    args->len == 3 &&
			    g_ascii_strcasecmp(g_ptr_array_index(args, 0), "SCRIPT") == 0;

			if (setup) {
				g_autofree char *sha = g_compute_checksum_for_string(
				    G_CHECKSUM_SHA1, g_ptr_array_index(args, 2), -1);
				g_autofree char *reply = g_strdup_printf("$40\r\n%s\r\n", sha);

				fake_send(fd, reply);
			} else {
				fake_send(fd, "$10\r\nabc");
			}
			g_ptr_array_unref(args);
			if (!setup)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void
fake_redis_start(FakeRedis *fake)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};

	fake->dir = g_dir_make_tmp("pc-store-redis-XXXXXX", NULL);
	g_assert_nonnull(fake->dir);
	fake->path = g_build_filename(fake->dir, "redis.sock", NULL);
	g_assert_cmpuint(strlen(fake->path), <, sizeof(address.sun_path));
	g_strlcpy(address.sun_path, fake->path, sizeof(address.sun_path));
	fake->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fake->listen_fd, >=, 0);
	g_assert_cmpint(bind(fake->listen_fd, (struct sockaddr *)&address, sizeof(address)), ==, 0);
	g_assert_cmpint(listen(fake->listen_fd, 16), ==, 0);
	fake->thread = g_thread_new("fake-redis", fake_redis_run, fake);
}

static void
fake_redis_stop(FakeRedis *fake)
{
	shutdown(fake->listen_fd, SHUT_RDWR);
	g_thread_join(fake->thread);
	close(fake->listen_fd);
	g_unlink(fake->path);
	g_rmdir(fake->dir);
	g_free(fake->path);
	g_free(fake->dir);
}

/* the flaps an operation every 200 ms causes in the first minute */
#define FLAPS_FIRST_MINUTE 50
#define FLAP_STEP_US (200 * 1000)

static void
test_redis_flapping_logged_once_a_minute(void)
{
	FakeRedis fake = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(PcStore) store = NULL;
	g_autofree char *spec = NULL;
	g_autofree char *want = NULL;
	PcStoreOptions options = {
	    .max_keys = 100,
	    /* generous, for sanitizer builds: only the fake clock paces anything here */
	    .connect_timeout_us = S(5),
	    .command_timeout_us = S(5),
	    .clock = fake_clock,
	};
	gint64 value = 0;

	fake_redis_start(&fake);
	spec = g_strconcat("unix:", fake.path, NULL);
	fake_clock_us = S(1000);
	store = pc_store_new_with_options(spec, &options, &error);
	g_assert_no_error(error);

	/* the first outage and the first recovery are logged as they happen */
	want = g_strdup_printf("store: %s unreachable (*); answering from the memory store "
			       "until it is back",
			       spec);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, want);
	g_assert_cmpint(pc_store_incr(store, "k", 1, S(60), S(1), &value), ==, PC_LOOKUP_FOUND);
	g_test_assert_expected_messages();

	g_free(want);
	want = g_strdup_printf("store: %s reachable again after 0.2 s; the memory store "
			       "answered 1 operations meanwhile",
			       spec);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, want);
	/* anything else logged before this one fails the test */
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "test: first minute over");
	for (guint i = 0; i < FLAPS_FIRST_MINUTE; i++) {
		fake_clock_us += FLAP_STEP_US;
		g_assert_cmpint(pc_store_incr(store, "k", 1, S(60), S(1), &value), ==,
				PC_LOOKUP_FOUND);
	}
	g_message("test: first minute over");
	g_test_assert_expected_messages();

	/*
	 * a minute after the first lines: the log said "reachable" while Redis
	 * was down, so the outage line comes first, with the count, then the
	 * recovery that follows at once
	 */
	fake_clock_us += S(60);
	g_free(want);
	want = g_strdup_printf("store: %s unreachable (*); answering from the memory store until "
			       "it is back (flapping: %u outages since the last such line, which "
			       "is written at most once a minute)",
			       spec, FLAPS_FIRST_MINUTE);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, want);
	g_free(want);
	want = g_strdup_printf("store: %s reachable again after 60.0 s; the memory store "
			       "answered 1 operations meanwhile (flapping: %u recoveries since "
			       "the last such line, which is written at most once a minute)",
			       spec, FLAPS_FIRST_MINUTE);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, want);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "test: second minute over");
	g_assert_cmpint(pc_store_incr(store, "k", 1, S(60), S(1), &value), ==, PC_LOOKUP_FOUND);
	/* every operation was answered, by the memory store */
	g_assert_cmpint(value, ==, FLAPS_FIRST_MINUTE + 2);
	g_message("test: second minute over");
	g_test_assert_expected_messages();

	g_clear_pointer(&store, pc_store_free);
	fake_redis_stop(&fake);
}

#define ADD_TABLE(prefix, cases, func)                                                             \
	for (gsize i_ = 0; i_ < G_N_ELEMENTS(cases); i_++) {                                       \
		g_autofree char *path_ = g_strconcat(prefix, cases[i_].label, NULL);               \
		g_test_add_data_func(path_, &cases[i_], func);                                     \
	}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	ADD_TABLE("/pc/store/incr/", incr_cases, test_incr);
	g_test_add_func("/pc/store/incr/null-value-out", test_incr_null_value_out);
	g_test_add_func("/pc/store/incr/after-set", test_incr_after_set);
	g_test_add_func("/pc/store/set-get", test_set_get);
	g_test_add_func("/pc/store/delete", test_delete);
	g_test_add_func("/pc/store/evict/lru", test_evict_lru);
	g_test_add_func("/pc/store/evict/expired-first", test_evict_expired_first);
	ADD_TABLE("/pc/store/bound/", bound_cases, test_bound);
	g_test_add_func("/pc/store/many-keys", test_many_keys);
	ADD_TABLE("/pc/store/count-prefix/", prefix_cases, test_count_prefix);
	g_test_add_func("/pc/store/key-too-long", test_key_too_long);
	ADD_TABLE("/pc/store/spec/", spec_cases, test_spec);
	g_test_add_func("/pc/store/guards", test_guards);
	g_test_add_func("/pc/store/threads", test_threads);
	g_test_add_func("/pc/store/rss-million-keys", test_rss_million_keys);
	g_test_add_func("/pc/store/bound/no-early-eviction", test_bound_no_early_eviction);
	g_test_add_func("/pc/store/bound/threads", test_bound_threads);
	g_test_add_func("/pc/store/gcra/burst-then-steady", test_gcra_burst_then_steady);
	g_test_add_func("/pc/store/gcra/check-without-commit", test_gcra_check_without_commit);
	g_test_add_func("/pc/store/gcra/multi-all-or-nothing", test_gcra_multi_all_or_nothing);
	g_test_add_func("/pc/store/gcra/guards", test_gcra_guards);
	g_test_add_func("/pc/store/gcra/threads", test_gcra_threads);
	g_test_add_func("/pc/store/redis/unreachable-falls-back",
			test_redis_unreachable_falls_back);
	g_test_add_func("/pc/store/redis/flapping-logged-once-a-minute",
			test_redis_flapping_logged_once_a_minute);

	return g_test_run();
}
