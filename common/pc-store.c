/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-store: the public face of the key store. It checks arguments and key
 * lengths once and hands each call to the backend's operation table
 * (pc-store-private.h); it holds no data and takes no lock of its own. The
 * backends live in pc-store-memory.c and pc-store-redis.c.
 */
#include <string.h>

#include <glib.h>

#include "pc-stats.h"
#include "pc-store-private.h"

G_DEFINE_QUARK(pc - store - error - quark, pc_store_error)

#define PC_STORE_DEFAULT_SHARDS 64
#define PC_STORE_MAX_SHARDS 1024

gint64
pc_store_expiry_us(gint64 now_us, gint64 ttl_us)
{
	if (ttl_us <= 0)
		return G_MAXINT64;
	/* a ttl of "years" from a config typo must not wrap into the past */
	if (now_us > 0 && ttl_us > G_MAXINT64 - now_us)
		return G_MAXINT64;
	return now_us + ttl_us;
}

/*
 * over-long keys come from a caller that built a key from unchecked input;
 * strnlen keeps the check bounded even for a huge string
 */
static gboolean
pc_store_key_ok(const char *key, gsize *key_len_out)
{
	gsize key_len = strnlen(key, PC_STORE_MAX_KEY + 1);

	if (key_len > PC_STORE_MAX_KEY)
		return FALSE;
	*key_len_out = key_len;
	return TRUE;
}

static PcStore *
pc_store_new_for_backend(const PcStoreBackend *ops, gpointer backend)
{
	PcStore *store = g_new0(PcStore, 1);

	store->ops = ops;
	store->backend = backend;
	return store;
}

PcStore *
pc_store_new_memory(gsize max_keys, guint n_shards)
{
	guint shards = PC_STORE_DEFAULT_SHARDS;

	g_return_val_if_fail(max_keys >= 1, NULL);
	g_return_val_if_fail(n_shards <= PC_STORE_MAX_SHARDS, NULL);

	if (n_shards > 0) {
		shards = 1;
		while (shards < n_shards)
			shards *= 2;
	}
	/* fewer shards than keys, so every shard holds at least one and the sum is max_keys */
	while (shards > 1 && shards > max_keys)
		shards /= 2;
	return pc_store_new_for_backend(&pc_store_memory_backend,
					pc_store_memory_backend_new(max_keys, shards));
}

PcStore *
pc_store_new_from_spec(const char *spec, gsize max_keys, GError **error)
{
	PcStoreOptions options = {.max_keys = max_keys};

	return pc_store_new_with_options(spec, &options, error);
}

PcStore *
pc_store_new_with_options(const char *spec, const PcStoreOptions *options, GError **error)
{
	g_autoptr(PcStore) fallback = NULL;
	gpointer backend;

	g_return_val_if_fail(spec != NULL, NULL);
	g_return_val_if_fail(options != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (options->max_keys == 0) {
		g_set_error(error, PC_STORE_ERROR, PC_STORE_ERROR_SPEC,
			    "store '%s': the key limit must be at least 1", spec);
		return NULL;
	}
	if (g_strcmp0(spec, "memory") != 0 && !g_str_has_prefix(spec, "redis://") &&
	    !g_str_has_prefix(spec, "unix:")) {
		g_set_error(error, PC_STORE_ERROR, PC_STORE_ERROR_SPEC,
			    "store '%s': unknown store (expected memory, redis://HOST:PORT/DB or "
			    "unix:PATH)",
			    spec);
		return NULL;
	}
	/* exported whatever the backend, so a dashboard sees 0 rather than nothing */
	pc_stats_counter_register("portcullis_store_fallback_total",
				  "Store operations answered by the memory fallback", NULL);
	pc_stats_counter_register("portcullis_store_errors_total",
				  "Store operations the shared store failed", NULL);
	if (g_strcmp0(spec, "memory") == 0)
		return pc_store_new_memory(options->max_keys, 0);
	fallback = pc_store_new_memory(options->max_keys, 0);
	backend = pc_store_redis_backend_new(spec, options, fallback, error);
	if (backend == NULL)
		return NULL;
	g_steal_pointer(&fallback);
	return pc_store_new_for_backend(&pc_store_redis_backend, backend);
}

void
pc_store_set_fallback(PcStore *store, gboolean enabled)
{
	g_return_if_fail(store != NULL);
	if (store->ops->set_fallback != NULL)
		store->ops->set_fallback(store->backend, enabled);
}

const char *
pc_store_get_backend_name(PcStore *store)
{
	g_return_val_if_fail(store != NULL, NULL);
	return store->ops->name;
}

void
pc_store_free(PcStore *store)
{
	if (store == NULL)
		return;
	store->ops->free(store->backend);
	g_free(store);
}

PcLookupStatus
pc_store_incr(PcStore *store, const char *key, gint64 delta, gint64 ttl_us, gint64 now_us,
	      gint64 *value_out)
{
	gsize key_len = 0;

	g_return_val_if_fail(store != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(key != NULL, PC_LOOKUP_CONFIG);

	if (!pc_store_key_ok(key, &key_len))
		return PC_LOOKUP_CONFIG;
	return store->ops->incr(store->backend, key, key_len, delta, ttl_us, now_us, value_out);
}

PcLookupStatus
pc_store_set(PcStore *store, const char *key, gint64 value, gint64 ttl_us, gint64 now_us)
{
	gsize key_len = 0;

	g_return_val_if_fail(store != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(key != NULL, PC_LOOKUP_CONFIG);

	if (!pc_store_key_ok(key, &key_len))
		return PC_LOOKUP_CONFIG;
	return store->ops->set(store->backend, key, key_len, value, ttl_us, now_us);
}

PcLookupStatus
pc_store_get(PcStore *store, const char *key, gint64 now_us, gint64 *value_out, gint64 *ttl_out_us)
{
	gsize key_len = 0;

	g_return_val_if_fail(store != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(key != NULL, PC_LOOKUP_CONFIG);

	if (!pc_store_key_ok(key, &key_len))
		return PC_LOOKUP_CONFIG;
	return store->ops->get(store->backend, key, key_len, now_us, value_out, ttl_out_us);
}

PcLookupStatus
pc_store_delete(PcStore *store, const char *key)
{
	gsize key_len = 0;

	g_return_val_if_fail(store != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(key != NULL, PC_LOOKUP_CONFIG);

	if (!pc_store_key_ok(key, &key_len))
		return PC_LOOKUP_CONFIG;
	return store->ops->delete (store->backend, key, key_len);
}

gsize
pc_store_count_prefix(PcStore *store, const char *prefix, gint64 now_us)
{
	g_return_val_if_fail(store != NULL, 0);
	g_return_val_if_fail(prefix != NULL, 0);

	return store->ops->count_prefix(store->backend, prefix, now_us);
}

void
pc_store_list_prefix(PcStore *store, const char *prefix, gint64 now_us, gsize max,
		     GPtrArray *keys_out)
{
	g_return_if_fail(store != NULL && prefix != NULL && keys_out != NULL);
	store->ops->list_prefix(store->backend, prefix, now_us, max, keys_out);
}

gsize
pc_store_size(PcStore *store)
{
	g_return_val_if_fail(store != NULL, 0);

	return store->ops->size(store->backend);
}

PcLookupStatus
pc_store_gcra_multi(PcStore *store, const PcStoreGcraWindow *windows, guint n_windows,
		    gboolean commit, gint64 now_us, gboolean *allowed_out,
		    gint64 *retry_after_us_out, gint64 *available_out)
{
	g_return_val_if_fail(store != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(windows != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(allowed_out != NULL, PC_LOOKUP_CONFIG);
	g_return_val_if_fail(retry_after_us_out != NULL, PC_LOOKUP_CONFIG);

	if (n_windows == 0 || n_windows > PC_STORE_MAX_GCRA_WINDOWS || store->ops->gcra == NULL)
		return PC_LOOKUP_CONFIG;
	for (guint i = 0; i < n_windows; i++) {
		gsize key_len = 0;

		if (windows[i].key == NULL || !pc_store_key_ok(windows[i].key, &key_len) ||
		    !(windows[i].emission_interval_us > 0.0) || windows[i].burst_tolerance_us < 0 ||
		    windows[i].quantity < 1)
			return PC_LOOKUP_CONFIG;
	}
	return store->ops->gcra(store->backend, windows, n_windows, commit, now_us, allowed_out,
				retry_after_us_out, available_out);
}

PcLookupStatus
pc_store_gcra(PcStore *store, const char *key, double emission_interval_us,
	      gint64 burst_tolerance_us, gint64 quantity, gboolean commit, gint64 now_us,
	      gboolean *allowed_out, gint64 *retry_after_us_out)
{
	const PcStoreGcraWindow window = {
	    .key = key,
	    .emission_interval_us = emission_interval_us,
	    .burst_tolerance_us = burst_tolerance_us,
	    .quantity = quantity,
	};

	g_return_val_if_fail(key != NULL, PC_LOOKUP_CONFIG);
	return pc_store_gcra_multi(store, &window, 1, commit, now_us, allowed_out,
				   retry_after_us_out, NULL);
}
