/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-store: small expiring counters and flags keyed by string, behind one
 * interface with several backends.
 *
 * The "memory" backend (pc-store-memory.c) is the embedded default: sharded
 * (a GMutex and a hash table per shard), bounded to max_keys in total;
 * expired entries are reclaimed first, then the least recently used. The
 * "redis" backend (pc-store-redis.c, hiredis) is shared by several MX hosts
 * and implements the same operations atomically on the server, each in one
 * round trip; when Redis cannot be reached it answers from an internal
 * memory store (unless pc_store_set_fallback() turned that off), counts
 * portcullis_store_fallback_total and reconnects with backoff.
 *
 * Time is passed in by the caller (now_us, monotonic microseconds), so unit
 * tests inject it; the memory backend reads no clock. The redis backend
 * ignores now_us for expiry and GCRA (it uses the server's clock, the one
 * clock all hosts share) and reads the monotonic clock (PcStoreOptions.clock)
 * only to pace its reconnection attempts and its outage lines. An entry written at now_us with
 * ttl_us is live while now < now_us + ttl_us and expired from now_us + ttl_us on; ttl_us <= 0 means
 * it never expires.
 *
 * Thread-safety: every function is thread-safe; one PcStore is shared by all
 * connection threads of a daemon.
 */
#pragma once

#include <glib.h>

#include "pc-lookup.h"

G_BEGIN_DECLS

#define PC_STORE_ERROR (pc_store_error_quark())
typedef enum {
	PC_STORE_ERROR_SPEC,	/* unknown or malformed store specification */
	PC_STORE_ERROR_CONNECT, /* backend could not be reached at start */
} PcStoreError;
GQuark pc_store_error_quark(void);

/* keys longer than this are refused with PC_LOOKUP_CONFIG (a bug, not input) */
#define PC_STORE_MAX_KEY 512

typedef struct _PcStore PcStore;

/*
 * pc_store_new_memory:
 * @max_keys: bound on entries held (>= 1), store-wide. An insert into a full
 *   store evicts expired entries near the old end of its shard's LRU list,
 *   then that shard's least recently used entry (or, for an empty shard,
 *   another shard's). Single-threaded the bound is exact; threads inserting
 *   into different shards at the same instant may overshoot it by a few
 *   entries each, and the next inserts evict the excess
 * @n_shards: 1..1024, rounded up to a power of two; 0 picks a default (64);
 *   lowered to at most max_keys so that the bound stays exact
 * Returns: (transfer full).
 */
PcStore *pc_store_new_memory(gsize max_keys, guint n_shards);

/*
 * pc_store_new_from_spec:
 * @spec: the config value: "memory" (max_keys bounds it),
 *   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" or "unix:/path/redis.sock"
 * Same as pc_store_new_with_options() with default timeouts and pool size.
 */
PcStore *pc_store_new_from_spec(const char *spec, gsize max_keys, GError **error);

/* a monotonic clock in microseconds, as g_get_monotonic_time() */
typedef gint64 (*PcStoreClockFunc)(void);

/* the knobs of pc_store_new_with_options(); zero fields take the defaults */
typedef struct {
	gsize max_keys;		   /* memory store, and the redis store's fallback */
	gint64 connect_timeout_us; /* redis: default 50 ms */
	gint64 command_timeout_us; /* redis: default 50 ms; also the wait for a free connection */
	guint max_connections;	   /* redis: pool size, default 16 */
	/*
	 * redis: the clock that paces reconnection attempts and outage lines;
	 * NULL = g_get_monotonic_time. For tests, which step it instead of
	 * sleeping; must be thread-safe. Waits for a free connection always use
	 * the real clock.
	 */
	PcStoreClockFunc clock;
} PcStoreOptions;

#define PC_STORE_DEFAULT_TIMEOUT_US (50 * 1000)
#define PC_STORE_DEFAULT_CONNECTIONS 16

/*
 * pc_store_new_with_options:
 * Returns: (transfer full) a new store, or NULL with PC_STORE_ERROR_SPEC for
 * an unknown or malformed spec. A Redis server that cannot be reached at
 * start is not an error: the store starts in fallback, logs it once and
 * keeps trying (a mail server must start even when Redis is late).
 */
PcStore *pc_store_new_with_options(const char *spec, const PcStoreOptions *options, GError **error);

/*
 * pc_store_set_fallback:
 * Whether the redis store answers from its memory fallback while Redis is
 * unreachable (default TRUE) or returns PC_LOOKUP_TEMPFAIL (a daemon with
 * on_error = tempfail). No effect on the memory store. Thread-safe.
 */
void pc_store_set_fallback(PcStore *store, gboolean enabled);

/* "memory" or "redis": for log lines (static string) */
const char *pc_store_get_backend_name(PcStore *store);

void pc_store_free(PcStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcStore, pc_store_free)

/*
 * pc_store_incr:
 * Adds delta to the counter at key. If the key is absent or expired it
 * starts from 0 and its expiry is set to now_us + ttl_us (a fixed window that
 * opens with the first event); an existing unexpired key keeps its expiry.
 * Writes the new value to value_out (may be NULL). The value saturates at
 * G_MININT64/G_MAXINT64 instead of wrapping.
 * Returns: PC_LOOKUP_FOUND, or PC_LOOKUP_TEMPFAIL when the backend failed.
 */
PcLookupStatus pc_store_incr(PcStore *store, const char *key, gint64 delta, gint64 ttl_us,
			     gint64 now_us, gint64 *value_out);

/*
 * pc_store_set:
 * Sets key to value with expiry now_us + ttl_us, replacing any entry.
 */
PcLookupStatus pc_store_set(PcStore *store, const char *key, gint64 value, gint64 ttl_us,
			    gint64 now_us);

/*
 * pc_store_get:
 * Returns PC_LOOKUP_FOUND with value_out (and, when not NULL, the remaining
 * lifetime in ttl_out_us) for a live key, PC_LOOKUP_NOTFOUND for an absent or
 * expired one, PC_LOOKUP_TEMPFAIL when the backend failed. A key without
 * expiry reports ttl_out_us = -1.
 */
PcLookupStatus pc_store_get(PcStore *store, const char *key, gint64 now_us, gint64 *value_out,
			    gint64 *ttl_out_us);

/* pc_store_delete: removes key; NOTFOUND when it was not there. */
PcLookupStatus pc_store_delete(PcStore *store, const char *key);

/*
 * pc_store_count_prefix:
 * Number of live keys starting with prefix (for gauges; O(keys), so only
 * called at scrape time, never per message).
 */
gsize pc_store_count_prefix(PcStore *store, const char *prefix, gint64 now_us);

/*
 * pc_store_list_prefix:
 * Appends to keys_out (char *, transfer full) up to max live keys starting
 * with prefix, in no order: for the admin's control commands (bans,
 * limits), O(keys), never per message. A backend failure lists nothing.
 */
void pc_store_list_prefix(PcStore *store, const char *prefix, gint64 now_us, gsize max,
			  GPtrArray *keys_out);

/* number of entries held, expired or not (tests, metrics) */
gsize pc_store_size(PcStore *store);

/*
 * GCRA (see pc-gcra.h): one window of a limit. The key holds the window's
 * theoretical arrival time; the caller builds one key per window.
 */
typedef struct {
	const char *key;
	double emission_interval_us; /* > 0: PERIOD / COUNT */
	gint64 burst_tolerance_us;   /* >= 0: BURST * interval */
	gint64 quantity;	     /* >= 1 units asked for in this window */
} PcStoreGcraWindow;

/* windows in one pc_store_gcra_multi call; more is PC_LOOKUP_CONFIG */
#define PC_STORE_MAX_GCRA_WINDOWS 4096

/*
 * pc_store_gcra_multi:
 * Checks every window at now_us and, when all allow and commit is TRUE,
 * consumes quantity in each, atomically: no other decision on these keys
 * falls between the check and the commit, on this host (memory: shard locks)
 * or on any host (redis: one Lua script). Keys must be distinct. Writes
 * *allowed_out, and *retry_after_us_out: 0 when allowed, else the longest
 * wait any window asks for. A refused or uncommitted check changes nothing.
 * @available_out: NULL, or n_windows entries: the units each window could
 *   take at now_us before this request (pc_gcra_available), so a caller can
 *   tell that later checks of the same keys would pass without asking again
 * Returns: PC_LOOKUP_FOUND with the outputs written, PC_LOOKUP_TEMPFAIL when
 * the backend failed (and no fallback), PC_LOOKUP_CONFIG for bad arguments.
 */
PcLookupStatus pc_store_gcra_multi(PcStore *store, const PcStoreGcraWindow *windows,
				   guint n_windows, gboolean commit, gint64 now_us,
				   gboolean *allowed_out, gint64 *retry_after_us_out,
				   gint64 *available_out);

/* pc_store_gcra: pc_store_gcra_multi with one window */
PcLookupStatus pc_store_gcra(PcStore *store, const char *key, double emission_interval_us,
			     gint64 burst_tolerance_us, gint64 quantity, gboolean commit,
			     gint64 now_us, gboolean *allowed_out, gint64 *retry_after_us_out);

G_END_DECLS
