/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-store-memory: the embedded store backend, one process's counters and
 * flags in RAM. Keys are spread over a power-of-two number of shards, each a
 * GMutex, a chained hash table and an LRU list, so connection threads touching
 * different keys rarely wait for each other. Not here: persistence, sharing
 * between processes or hosts (that is the redis backend's job).
 *
 * Each shard has its own hash table rather than a GHashTable because keys are
 * built from attacker-chosen text (addresses, HELO names): the hash must be
 * keyed with a per-store secret, and GHashFunc has no user data to carry one
 * without a process-wide global. Owning the table also lets the entry double
 * as the chain node, which keeps a million keys well under 200 MB.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "pc-gcra.h"
#include "pc-store-private.h"

/* entries looked at for expiry at the old end of the LRU before a live one is evicted */
#define PC_STORE_MEMORY_EXPIRED_SCAN 8
#define PC_STORE_MEMORY_MIN_BUCKETS 16
/* bucket indexes come from the low 32 bits of the hash */
#define PC_STORE_MEMORY_MAX_BUCKETS (G_MAXUINT32 / 2 + 1)

typedef struct _PcStoreEntry PcStoreEntry;

/*
 * one key in one allocation: 46 bytes of header (on 64-bit), then the key
 * inline; a separate g_strdup would add a pointer and a malloc chunk per key
 */
struct _PcStoreEntry {
	PcStoreEntry *hash_next; /* next entry in the same bucket */
	PcStoreEntry *lru_newer; /* towards the most recently used, NULL at the head */
	PcStoreEntry *lru_older; /* towards the least recently used, NULL at the tail */
	gint64 value;
	gint64 expires_us; /* live while now < expires_us; G_MAXINT64: never expires */
	guint32 hash;	   /* low half of the keyed hash: bucket index, cheap compare */
	guint16 key_len;   /* <= PC_STORE_MAX_KEY */
	char key[];	   /* NUL-terminated */
};

G_STATIC_ASSERT(PC_STORE_MAX_KEY <= G_MAXUINT16);

typedef struct {
	/* a cache line per shard, so two threads locking neighbours don't share one */
	_Alignas(64) GMutex mutex;
	PcStoreEntry **buckets;
	guint32 bucket_mask; /* number of buckets - 1, a power of two - 1 */
	gsize count;	     /* entries held, expired or not */
	PcStoreEntry *lru_newest;
	PcStoreEntry *lru_oldest;
	/*
	 * the latest time a rate decision in this shard used: a thread that
	 * took its clock earlier but got the lock later decides at this time,
	 * not before the decision it follows (a bucket's state only moves
	 * forward, as with the redis store, which uses the server's clock)
	 */
	gint64 gcra_clock_us;
} PcStoreShard;

/*
 * max_keys is a store-wide bound kept with one atomic count. A bound split
 * into per-shard capacities made a shard that happened to get more than its
 * share of keys evict while the store as a whole still had room.
 */
typedef struct {
	guint64 seed[2];  /* SipHash key, random per store */
	guint shard_bits; /* log2(number of shards) */
	guint n_shards;
	gsize max_keys;
	atomic_size_t count; /* entries held in all shards */
	PcStoreShard *shards;
} PcStoreMemory;

/* SipHash-1-3 ---------------------------------------------------------------- */

/*
 * SipHash (Aumasson and Bernstein) is a keyed hash built for this: without the
 * key an attacker cannot pick keys that collide. The 1-3 variant (one round
 * per block, three at the end) is the one many hash tables use; strength
 * against flooding, not cryptographic margin, is what a table needs.
 */
#define PC_ROTL64(x, bits) (((x) << (bits)) | ((x) >> (64 - (bits))))

static inline void
pc_sip_round(guint64 v[4])
{
	v[0] += v[1];
	v[1] = PC_ROTL64(v[1], 13);
	v[1] ^= v[0];
	v[0] = PC_ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = PC_ROTL64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = PC_ROTL64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = PC_ROTL64(v[1], 17);
	v[1] ^= v[2];
	v[2] = PC_ROTL64(v[2], 32);
}

static guint64
pc_store_memory_hash(const PcStoreMemory *mem, const char *key, gsize key_len)
{
	const guint8 *bytes = (const guint8 *)key;
	gsize n_words = key_len / 8;
	guint64 last = (guint64)(key_len & 0xff) << 56;
	guint64 v[4] = {
	    mem->seed[0] ^ G_GUINT64_CONSTANT(0x736f6d6570736575),
	    mem->seed[1] ^ G_GUINT64_CONSTANT(0x646f72616e646f6d),
	    mem->seed[0] ^ G_GUINT64_CONSTANT(0x6c7967656e657261),
	    mem->seed[1] ^ G_GUINT64_CONSTANT(0x7465646279746573),
	};

	for (gsize i = 0; i < n_words; i++) {
		guint64 word;

		memcpy(&word, bytes + 8 * i, sizeof(word));
		word = GUINT64_FROM_LE(word);
		v[3] ^= word;
		pc_sip_round(v);
		v[0] ^= word;
	}
	for (gsize i = 0; i < key_len % 8; i++)
		last |= (guint64)bytes[8 * n_words + i] << (8 * i);
	v[3] ^= last;
	pc_sip_round(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	pc_sip_round(v);
	pc_sip_round(v);
	pc_sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* entries and shards --------------------------------------------------------- */

static inline gboolean
pc_store_entry_expired(const PcStoreEntry *entry, gint64 now_us)
{
	return now_us >= entry->expires_us;
}

/* Redis INCRBY refuses to overflow; a rate counter is better off stuck at the limit */
static gint64
pc_store_add_saturating(gint64 value, gint64 delta)
{
	if (delta > 0 && value > G_MAXINT64 - delta)
		return G_MAXINT64;
	if (delta < 0 && value < G_MININT64 - delta)
		return G_MININT64;
	return value + delta;
}

static PcStoreShard *
pc_store_memory_shard(PcStoreMemory *mem, guint64 hash)
{
	/* the top bits pick the shard and the low bits the bucket, so the two don't correlate */
	if (mem->shard_bits == 0)
		return &mem->shards[0];
	return &mem->shards[hash >> (64 - mem->shard_bits)];
}

static void
pc_store_lru_unlink(PcStoreShard *shard, PcStoreEntry *entry)
{
	if (entry->lru_newer != NULL)
		entry->lru_newer->lru_older = entry->lru_older;
	else
		shard->lru_newest = entry->lru_older;
	if (entry->lru_older != NULL)
		entry->lru_older->lru_newer = entry->lru_newer;
	else
		shard->lru_oldest = entry->lru_newer;
	entry->lru_newer = NULL;
	entry->lru_older = NULL;
}

static void
pc_store_lru_push_newest(PcStoreShard *shard, PcStoreEntry *entry)
{
	entry->lru_newer = NULL;
	entry->lru_older = shard->lru_newest;
	if (shard->lru_newest != NULL)
		shard->lru_newest->lru_newer = entry;
	else
		shard->lru_oldest = entry;
	shard->lru_newest = entry;
}

static void
pc_store_lru_touch(PcStoreShard *shard, PcStoreEntry *entry)
{
	if (shard->lru_newest == entry)
		return;
	pc_store_lru_unlink(shard, entry);
	pc_store_lru_push_newest(shard, entry);
}

static PcStoreEntry *
pc_store_shard_find(PcStoreShard *shard, guint32 hash, const char *key, gsize key_len)
{
	for (PcStoreEntry *entry = shard->buckets[hash & shard->bucket_mask]; entry != NULL;
	     entry = entry->hash_next) {
		if (entry->hash == hash && entry->key_len == key_len &&
		    memcmp(entry->key, key, key_len) == 0)
			return entry;
	}
	return NULL;
}

static void
pc_store_shard_remove(PcStoreMemory *mem, PcStoreShard *shard, PcStoreEntry *entry)
{
	PcStoreEntry **link = &shard->buckets[entry->hash & shard->bucket_mask];

	/* chains average under one entry, so finding the predecessor is cheap */
	while (*link != entry) {
		g_assert(*link != NULL);
		link = &(*link)->hash_next;
	}
	*link = entry->hash_next;
	pc_store_lru_unlink(shard, entry);
	shard->count--;
	atomic_fetch_sub_explicit(&mem->count, 1, memory_order_relaxed);
	g_free(entry);
}

/* an expired entry is as good as absent: drop it on sight */
static PcStoreEntry *
pc_store_shard_find_live(PcStoreMemory *mem, PcStoreShard *shard, guint32 hash, const char *key,
			 gsize key_len, gint64 now_us)
{
	PcStoreEntry *entry = pc_store_shard_find(shard, hash, key, key_len);

	if (entry != NULL && pc_store_entry_expired(entry, now_us)) {
		pc_store_shard_remove(mem, shard, entry);
		return NULL;
	}
	return entry;
}

static void
pc_store_shard_grow(PcStoreShard *shard)
{
	guint32 n_buckets = (shard->bucket_mask + 1) * 2;
	PcStoreEntry **buckets = g_new0(PcStoreEntry *, n_buckets);

	for (guint32 i = 0; i <= shard->bucket_mask; i++) {
		PcStoreEntry *next = NULL;

		for (PcStoreEntry *entry = shard->buckets[i]; entry != NULL; entry = next) {
			guint32 slot = entry->hash & (n_buckets - 1);

			next = entry->hash_next;
			entry->hash_next = buckets[slot];
			buckets[slot] = entry;
		}
	}
	g_free(shard->buckets);
	shard->buckets = buckets;
	shard->bucket_mask = n_buckets - 1;
}

static gboolean
pc_store_memory_full(PcStoreMemory *mem)
{
	return atomic_load_explicit(&mem->count, memory_order_relaxed) >= mem->max_keys;
}

/*
 * another shard's least recently used entry, for an insert into an empty
 * shard of a full store. trylock only: the caller holds its own shard (and,
 * for GCRA, perhaps others), so waiting here could deadlock; a busy shard is
 * skipped, and under contention the bound may be overshot by this one entry
 */
static void
pc_store_memory_evict_elsewhere(PcStoreMemory *mem, PcStoreShard *own)
{
	guint start = (guint)(own - mem->shards);

	for (guint i = 1; i < mem->n_shards; i++) {
		PcStoreShard *shard = &mem->shards[(start + i) % mem->n_shards];

		if (!g_mutex_trylock(&shard->mutex))
			continue;
		if (shard->lru_oldest != NULL) {
			pc_store_shard_remove(mem, shard, shard->lru_oldest);
			g_mutex_unlock(&shard->mutex);
			return;
		}
		g_mutex_unlock(&shard->mutex);
	}
}

/*
 * room for one more entry in a full store: first expired entries near the
 * old end of this shard's LRU (a bounded walk, so one insert never scans the
 * shard), then this shard's least recently used entry. Up to two live
 * entries go, so a store that concurrent inserts pushed past max_keys comes
 * back under it.
 */
static void
pc_store_shard_make_room(PcStoreMemory *mem, PcStoreShard *shard, gint64 now_us)
{
	PcStoreEntry *entry = shard->lru_oldest;

	if (!pc_store_memory_full(mem))
		return;
	for (guint i = 0; i < PC_STORE_MEMORY_EXPIRED_SCAN && entry != NULL; i++) {
		PcStoreEntry *newer = entry->lru_newer;

		if (pc_store_entry_expired(entry, now_us))
			pc_store_shard_remove(mem, shard, entry);
		entry = newer;
	}
	for (guint i = 0; i < 2 && pc_store_memory_full(mem); i++) {
		if (shard->lru_oldest != NULL)
			pc_store_shard_remove(mem, shard, shard->lru_oldest);
		else
			pc_store_memory_evict_elsewhere(mem, shard);
	}
}

/* the caller has checked that key is not in the shard */
static PcStoreEntry *
pc_store_shard_insert(PcStoreMemory *mem, PcStoreShard *shard, guint32 hash, const char *key,
		      gsize key_len, gint64 expires_us, gint64 now_us)
{
	gsize slot_size = MAX(sizeof(PcStoreEntry), offsetof(PcStoreEntry, key) + key_len + 1);
	PcStoreEntry *entry = g_malloc(slot_size);
	guint32 slot;

	pc_store_shard_make_room(mem, shard, now_us);
	slot = hash & shard->bucket_mask;
	entry->value = 0;
	entry->expires_us = expires_us;
	entry->hash = hash;
	entry->key_len = (guint16)key_len;
	memcpy(entry->key, key, key_len);
	entry->key[key_len] = '\0';
	entry->hash_next = shard->buckets[slot];
	shard->buckets[slot] = entry;
	pc_store_lru_push_newest(shard, entry);
	shard->count++;
	atomic_fetch_add_explicit(&mem->count, 1, memory_order_relaxed);
	if (shard->count > (gsize)shard->bucket_mask + 1 &&
	    shard->bucket_mask + 1 < PC_STORE_MEMORY_MAX_BUCKETS)
		pc_store_shard_grow(shard);
	return entry;
}

static void
pc_store_shard_clear(PcStoreShard *shard)
{
	PcStoreEntry *next = NULL;

	for (PcStoreEntry *entry = shard->lru_newest; entry != NULL; entry = next) {
		next = entry->lru_older;
		g_free(entry);
	}
	g_clear_pointer(&shard->buckets, g_free);
	g_mutex_clear(&shard->mutex);
}

/* backend operations --------------------------------------------------------- */

static PcLookupStatus
pc_store_memory_incr(gpointer backend, const char *key, gsize key_len, gint64 delta, gint64 ttl_us,
		     gint64 now_us, gint64 *value_out)
{
	PcStoreMemory *mem = backend;
	guint64 hash = pc_store_memory_hash(mem, key, key_len);
	PcStoreShard *shard = pc_store_memory_shard(mem, hash);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shard->mutex);
	PcStoreEntry *entry =
	    pc_store_shard_find_live(mem, shard, (guint32)hash, key, key_len, now_us);

	/* the window opens with the first event and is not extended by later ones */
	if (entry == NULL)
		entry = pc_store_shard_insert(mem, shard, (guint32)hash, key, key_len,
					      pc_store_expiry_us(now_us, ttl_us), now_us);
	else
		pc_store_lru_touch(shard, entry);
	entry->value = pc_store_add_saturating(entry->value, delta);
	if (value_out != NULL)
		*value_out = entry->value;
	return PC_LOOKUP_FOUND;
}

static PcLookupStatus
pc_store_memory_set(gpointer backend, const char *key, gsize key_len, gint64 value, gint64 ttl_us,
		    gint64 now_us)
{
	PcStoreMemory *mem = backend;
	guint64 hash = pc_store_memory_hash(mem, key, key_len);
	PcStoreShard *shard = pc_store_memory_shard(mem, hash);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shard->mutex);
	PcStoreEntry *entry =
	    pc_store_shard_find_live(mem, shard, (guint32)hash, key, key_len, now_us);
	gint64 expires_us = pc_store_expiry_us(now_us, ttl_us);

	if (entry == NULL) {
		entry = pc_store_shard_insert(mem, shard, (guint32)hash, key, key_len, expires_us,
					      now_us);
	} else {
		entry->expires_us = expires_us;
		pc_store_lru_touch(shard, entry);
	}
	entry->value = value;
	return PC_LOOKUP_FOUND;
}

static PcLookupStatus
pc_store_memory_get(gpointer backend, const char *key, gsize key_len, gint64 now_us,
		    gint64 *value_out, gint64 *ttl_out_us)
{
	PcStoreMemory *mem = backend;
	guint64 hash = pc_store_memory_hash(mem, key, key_len);
	PcStoreShard *shard = pc_store_memory_shard(mem, hash);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shard->mutex);
	PcStoreEntry *entry =
	    pc_store_shard_find_live(mem, shard, (guint32)hash, key, key_len, now_us);

	if (entry == NULL)
		return PC_LOOKUP_NOTFOUND;
	pc_store_lru_touch(shard, entry);
	if (value_out != NULL)
		*value_out = entry->value;
	if (ttl_out_us != NULL)
		*ttl_out_us = entry->expires_us == G_MAXINT64 ? -1 : entry->expires_us - now_us;
	return PC_LOOKUP_FOUND;
}

static PcLookupStatus
pc_store_memory_delete(gpointer backend, const char *key, gsize key_len)
{
	PcStoreMemory *mem = backend;
	guint64 hash = pc_store_memory_hash(mem, key, key_len);
	PcStoreShard *shard = pc_store_memory_shard(mem, hash);
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shard->mutex);
	PcStoreEntry *entry = pc_store_shard_find(shard, (guint32)hash, key, key_len);

	/* no clock here, so an expired entry still counts as deleted (it was there) */
	if (entry == NULL)
		return PC_LOOKUP_NOTFOUND;
	pc_store_shard_remove(mem, shard, entry);
	return PC_LOOKUP_FOUND;
}

/*
 * GCRA over several windows: every shard involved is locked (in index order,
 * so two calls cannot deadlock), all windows are checked, and only when all
 * allow are the new TATs written. The entries are looked up again for the
 * write because an insert may evict another window's entry in the same shard.
 */
#define PC_STORE_MEMORY_GCRA_STACK 16

typedef struct {
	guint64 hash;
	guint shard;
	gsize key_len;
	gint64 new_tat;
} PcStoreGcraSlot;

static int
pc_store_compare_guint(gconstpointer a, gconstpointer b)
{
	guint x = *(const guint *)a;
	guint y = *(const guint *)b;

	return x < y ? -1 : x > y;
}

static void
pc_store_memory_gcra_apply(PcStoreMemory *mem, const PcStoreGcraWindow *windows,
			   PcStoreGcraSlot *slots, guint n_windows, gboolean commit, gint64 now_us,
			   gboolean *allowed_out, gint64 *retry_after_us_out, gint64 *available_out)
{
	gint64 retry_after = 0;

	for (guint i = 0; i < n_windows; i++) {
		PcStoreShard *shard = &mem->shards[slots[i].shard];
		PcStoreEntry *entry = pc_store_shard_find_live(
		    mem, shard, (guint32)slots[i].hash, windows[i].key, slots[i].key_len, now_us);
		gint64 tat = entry != NULL ? entry->value : now_us;
		gint64 wait = 0;

		pc_gcra_check(tat, now_us, windows[i].emission_interval_us,
			      windows[i].burst_tolerance_us, windows[i].quantity, &slots[i].new_tat,
			      &wait);
		if (available_out != NULL)
			available_out[i] =
			    pc_gcra_available(tat, now_us, windows[i].emission_interval_us,
					      windows[i].burst_tolerance_us);
		retry_after = MAX(retry_after, wait);
	}
	*allowed_out = retry_after == 0;
	*retry_after_us_out = retry_after;
	if (retry_after > 0 || !commit)
		return;
	for (guint i = 0; i < n_windows; i++) {
		PcStoreShard *shard = &mem->shards[slots[i].shard];
		guint32 hash = (guint32)slots[i].hash;
		PcStoreEntry *entry = pc_store_shard_find_live(mem, shard, hash, windows[i].key,
							       slots[i].key_len, now_us);

		/* the key lives exactly as long as the bucket is not full again */
		if (entry == NULL)
			entry = pc_store_shard_insert(mem, shard, hash, windows[i].key,
						      slots[i].key_len, slots[i].new_tat, now_us);
		else
			pc_store_lru_touch(shard, entry);
		entry->value = slots[i].new_tat;
		entry->expires_us = slots[i].new_tat;
	}
}

static PcLookupStatus
pc_store_memory_gcra(gpointer backend, const PcStoreGcraWindow *windows, guint n_windows,
		     gboolean commit, gint64 now_us, gboolean *allowed_out,
		     gint64 *retry_after_us_out, gint64 *available_out)
{
	PcStoreMemory *mem = backend;
	PcStoreGcraSlot stack_slots[PC_STORE_MEMORY_GCRA_STACK];
	guint stack_locks[PC_STORE_MEMORY_GCRA_STACK];
	g_autofree PcStoreGcraSlot *heap_slots = NULL;
	g_autofree guint *heap_locks = NULL;
	PcStoreGcraSlot *slots = stack_slots;
	guint *locks = stack_locks;
	guint n_locks = 0;

	if (n_windows > PC_STORE_MEMORY_GCRA_STACK) {
		slots = heap_slots = g_new(PcStoreGcraSlot, n_windows);
		locks = heap_locks = g_new(guint, n_windows);
	}
	for (guint i = 0; i < n_windows; i++) {
		slots[i].key_len = strlen(windows[i].key);
		slots[i].hash = pc_store_memory_hash(mem, windows[i].key, slots[i].key_len);
		slots[i].shard = (guint)(pc_store_memory_shard(mem, slots[i].hash) - mem->shards);
		locks[i] = slots[i].shard;
	}
	qsort(locks, n_windows, sizeof(guint), pc_store_compare_guint);
	for (guint i = 0; i < n_windows; i++) {
		if (i == 0 || locks[i] != locks[i - 1])
			locks[n_locks++] = locks[i];
	}
	for (guint i = 0; i < n_locks; i++) {
		g_mutex_lock(&mem->shards[locks[i]].mutex);
		now_us = MAX(now_us, mem->shards[locks[i]].gcra_clock_us);
	}
	for (guint i = 0; i < n_locks; i++)
		mem->shards[locks[i]].gcra_clock_us = now_us;
	pc_store_memory_gcra_apply(mem, windows, slots, n_windows, commit, now_us, allowed_out,
				   retry_after_us_out, available_out);
	for (guint i = n_locks; i > 0; i--)
		g_mutex_unlock(&mem->shards[locks[i - 1]].mutex);
	return PC_LOOKUP_FOUND;
}

static gsize
pc_store_memory_count_prefix(gpointer backend, const char *prefix, gint64 now_us)
{
	PcStoreMemory *mem = backend;
	gsize prefix_len = strlen(prefix);
	gsize total = 0;

	/* one shard locked at a time: a scrape never stalls the whole store */
	for (guint i = 0; i < mem->n_shards; i++) {
		PcStoreShard *shard = &mem->shards[i];
		g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shard->mutex);

		for (const PcStoreEntry *entry = shard->lru_newest; entry != NULL;
		     entry = entry->lru_older) {
			if (!pc_store_entry_expired(entry, now_us) &&
			    entry->key_len >= prefix_len &&
			    memcmp(entry->key, prefix, prefix_len) == 0)
				total++;
		}
	}
	return total;
}

static void
pc_store_memory_list_prefix(gpointer backend, const char *prefix, gint64 now_us, gsize max,
			    GPtrArray *keys_out)
{
	PcStoreMemory *mem = backend;
	gsize prefix_len = strlen(prefix);
	gsize listed = 0;

	for (guint i = 0; i < mem->n_shards && listed < max; i++) {
		PcStoreShard *shard = &mem->shards[i];
		g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&shard->mutex);

		for (const PcStoreEntry *entry = shard->lru_newest; entry != NULL && listed < max;
		     entry = entry->lru_older) {
			if (pc_store_entry_expired(entry, now_us) || entry->key_len < prefix_len ||
			    memcmp(entry->key, prefix, prefix_len) != 0)
				continue;
			g_ptr_array_add(keys_out, g_strndup(entry->key, entry->key_len));
			listed++;
		}
	}
}

static gsize
pc_store_memory_size(gpointer backend)
{
	PcStoreMemory *mem = backend;

	return atomic_load_explicit(&mem->count, memory_order_relaxed);
}

static void
pc_store_memory_free(gpointer backend)
{
	PcStoreMemory *mem = backend;

	for (guint i = 0; i < mem->n_shards; i++)
		pc_store_shard_clear(&mem->shards[i]);
	g_aligned_free(mem->shards);
	g_free(mem);
}

const PcStoreBackend pc_store_memory_backend = {
    .name = "memory",
    .incr = pc_store_memory_incr,
    .set = pc_store_memory_set,
    .get = pc_store_memory_get,
    .delete = pc_store_memory_delete,
    .count_prefix = pc_store_memory_count_prefix,
    .list_prefix = pc_store_memory_list_prefix,
    .size = pc_store_memory_size,
    .free = pc_store_memory_free,
    .gcra = pc_store_memory_gcra,
};

gpointer
pc_store_memory_backend_new(gsize max_keys, guint n_shards)
{
	PcStoreMemory *mem = g_new0(PcStoreMemory, 1);

	g_assert(n_shards >= 1 && (n_shards & (n_shards - 1)) == 0);
	g_assert(max_keys >= n_shards);

	for (guint i = 0; i < G_N_ELEMENTS(mem->seed); i++)
		mem->seed[i] = ((guint64)g_random_int() << 32) | g_random_int();
	mem->n_shards = n_shards;
	mem->max_keys = max_keys;
	atomic_init(&mem->count, 0);
	mem->shard_bits = (guint)g_bit_storage(n_shards) - 1;
	mem->shards = g_aligned_alloc0(n_shards, sizeof(PcStoreShard), _Alignof(PcStoreShard));
	for (guint i = 0; i < n_shards; i++) {
		PcStoreShard *shard = &mem->shards[i];

		g_mutex_init(&shard->mutex);
		shard->buckets = g_new0(PcStoreEntry *, PC_STORE_MEMORY_MIN_BUCKETS);
		shard->bucket_mask = PC_STORE_MEMORY_MIN_BUCKETS - 1;
	}
	return mem;
}
