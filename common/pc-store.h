/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-store: small expiring counters and flags keyed by string, behind one
 * interface with several backends.
 *
 * The "memory" backend (this file's pc-store-memory.c) is the embedded
 * default: sharded (a GMutex and a hash table per shard), bounded to max_keys
 * in total; expired entries are reclaimed first, then the least recently used.
 * The "redis" backend (shared by several MX hosts) arrives with portcullis-rate
 * and implements the same operations atomically on the server.
 *
 * Time is always passed in by the caller (now_us, monotonic microseconds for
 * the memory store), so unit tests inject it; nothing here reads a clock.
 * An entry written at now_us with ttl_us is live while now < now_us + ttl_us
 * and expired from now_us + ttl_us on; ttl_us <= 0 means it never expires.
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
	PC_STORE_ERROR_SPEC,	  /* unknown or malformed store specification */
	PC_STORE_ERROR_CONNECT, /* backend could not be reached at start */
} PcStoreError;
GQuark pc_store_error_quark(void);

/* keys longer than this are refused with PC_LOOKUP_CONFIG (a bug, not input) */
#define PC_STORE_MAX_KEY 512

typedef struct _PcStore PcStore;

/*
 * pc_store_new_memory:
 * @max_keys: bound on entries held (>= 1); a full store evicts expired
 *   entries, then the least recently used one. The bound is split evenly over
 *   the shards and each shard evicts on its own, so eviction can start a
 *   little before max_keys keys are held (keys never hash perfectly evenly)
 * @n_shards: 1..1024, rounded up to a power of two; 0 picks a default (64);
 *   lowered to at most max_keys so that the bound stays exact
 * Returns: (transfer full).
 */
PcStore *pc_store_new_memory(gsize max_keys, guint n_shards);

/*
 * pc_store_new_from_spec:
 * @spec: the config value: "memory" (max_keys bounds it), later also
 *   "redis://HOST:PORT/DB" and "unix:/path/redis.sock"
 * Returns: (transfer full) a new store, or NULL with PC_STORE_ERROR_SPEC for
 * an unknown or not yet supported spec, or PC_STORE_ERROR_CONNECT when the
 * backend cannot be reached.
 */
PcStore *pc_store_new_from_spec(const char *spec, gsize max_keys, GError **error);

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

/* number of entries held, expired or not (tests, metrics) */
gsize pc_store_size(PcStore *store);

G_END_DECLS
