/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-store-private: the backend interface behind PcStore, for pc-store*.c only.
 *
 * pc-store.c checks arguments and key lengths once, then dispatches through
 * the backend's operation table; a backend never sees a NULL or over-long key.
 * Adding an operation (the redis backend's GCRA step, for instance) means
 * adding a member here and a public wrapper in pc-store.c. Backends fill the
 * table with designated initialisers; the operations below are mandatory, and
 * an optional one added later may be left NULL by a backend that lacks it, in
 * which case its wrapper answers PC_LOOKUP_CONFIG.
 *
 * Thread-safety: every operation must be safe to call from any thread at once;
 * each backend owns its own locking.
 */
#pragma once

#include "pc-store.h"

G_BEGIN_DECLS

typedef struct {
	const char *name; /* "memory", "redis": for log lines */

	/* key is NUL-terminated and key_len == strlen(key) <= PC_STORE_MAX_KEY */
	PcLookupStatus (*incr)(gpointer backend, const char *key, gsize key_len, gint64 delta,
			       gint64 ttl_us, gint64 now_us, gint64 *value_out);
	PcLookupStatus (*set)(gpointer backend, const char *key, gsize key_len, gint64 value,
			      gint64 ttl_us, gint64 now_us);
	PcLookupStatus (*get)(gpointer backend, const char *key, gsize key_len, gint64 now_us,
			      gint64 *value_out, gint64 *ttl_out_us);
	PcLookupStatus (*delete)(gpointer backend, const char *key, gsize key_len);
	gsize (*count_prefix)(gpointer backend, const char *prefix, gint64 now_us);
	/* appends up to max live keys starting with prefix (char *, without any backend prefix) */
	void (*list_prefix)(gpointer backend, const char *prefix, gint64 now_us, gsize max,
			    GPtrArray *keys_out);
	gsize (*size)(gpointer backend);
	void (*free)(gpointer backend);
	/* windows checked: 1..PC_STORE_MAX_GCRA_WINDOWS, keys valid, arguments in range */
	PcLookupStatus (*gcra)(gpointer backend, const PcStoreGcraWindow *windows, guint n_windows,
			       gboolean commit, gint64 now_us, gboolean *allowed_out,
			       gint64 *retry_after_us_out, gint64 *available_out);
	/* optional */
	void (*set_fallback)(gpointer backend, gboolean enabled);
} PcStoreBackend;

struct _PcStore {
	const PcStoreBackend *ops;
	gpointer backend; /* owned, released with ops->free */
};

/*
 * pc_store_expiry_us:
 * The absolute expiry for an entry written at now_us with ttl_us: G_MAXINT64
 * ("never") for ttl_us <= 0, saturating instead of overflowing for huge ttls.
 * An entry is live while now_us < expiry.
 */
gint64 pc_store_expiry_us(gint64 now_us, gint64 ttl_us);

/*
 * the memory backend (pc-store-memory.c). pc_store_memory_backend_new takes
 * checked arguments (n_shards a power of two, max_keys >= n_shards) and
 * returns (transfer full) data for pc_store_memory_backend, released by its
 * free operation.
 */
extern const PcStoreBackend pc_store_memory_backend;
gpointer pc_store_memory_backend_new(gsize max_keys, guint n_shards);

/*
 * the redis backend (pc-store-redis.c). pc_store_redis_backend_new parses
 * spec ("redis://..." or "unix:...") and returns (transfer full) data for
 * pc_store_redis_backend, or NULL with PC_STORE_ERROR_SPEC. fallback is a
 * memory backend it takes over (released by its free operation).
 */
extern const PcStoreBackend pc_store_redis_backend;
gpointer pc_store_redis_backend_new(const char *spec, const PcStoreOptions *options,
				    PcStore *fallback, GError **error);

G_END_DECLS
