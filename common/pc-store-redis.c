/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-store-redis: the shared store backend (hiredis, synchronous API). Every
 * operation is one round trip, and every read-modify-write is one Lua script
 * run with EVALSHA, so it is atomic across all the hosts that share the
 * server. Not here: Redis Cluster (the keys of one GCRA call may live in
 * different slots), TLS, Sentinel.
 *
 * Time: each host's now_us is its own monotonic clock (seconds since its
 * boot), meaningless on another host, so the scripts read the server's TIME
 * and expiries are Redis's own (PX). All hosts then share one clock; a step
 * of the Redis host's wall clock shifts buckets by that step at most until
 * their keys expire.
 *
 * Connections: a small pool (max_connections) shared by the connection
 * connection threads; a thread takes one for a command and gives it back, and
 * waits at most the command timeout for one to be free. Connect and command
 * timeouts default to 50 ms: a rate limiter that waits longer than that for
 * its counters costs more than it saves.
 *
 * Outage: a connection error (refused, reset, timed out) marks Redis down.
 * From then on operations go to the fallback memory store (or return
 * TEMPFAIL when the daemon's on_error = tempfail turned the fallback off),
 * a warning is logged for the outage, and one thread at a time tries to
 * reconnect after a backoff that doubles from 100 ms up to 5 s. The first
 * success ends the outage with a line saying how long it lasted and how
 * many operations the memory store answered. An error reply (a script error,
 * OOM) fails that operation only: it is counted and answered from the
 * fallback, without declaring an outage.
 *
 * A server that flaps (it accepts connections, then every command fails, as
 * one sending truncated replies does) starts and ends an outage per
 * operation, so the outage and recovery lines are rate-limited: at most one
 * of each a minute (PcLogLimiter), the next one saying how many there were.
 * When a held-back change leaves the log saying the wrong state (down while
 * up, or up while down), a line for the current state is written at the
 * first operation after the minute has passed.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <glib.h>

#include "pc-log.h"
#include "pc-stats.h"
#include "pc-store-private.h"

/* every key we write, so that a Redis database can be shared with other users */
#define REDIS_KEY_PREFIX "portcullis:"
#define REDIS_BACKOFF_MIN_US (100 * 1000)
#define REDIS_BACKOFF_MAX_US (5 * 1000 * 1000)
#define REDIS_DEFAULT_PORT 6379
#define REDIS_SCAN_MAX_ITERATIONS 10000
/* at most one outage line and one recovery line per this */
#define REDIS_LOG_INTERVAL_US (60 * G_USEC_PER_SEC)

/*
 * GCRA over several windows (see pc-gcra.c: the same formula). KEYS: one
 * per window. ARGV[1]: "1" to commit; then per window: emission interval
 * (fractional us), burst tolerance (us), quantity. Returns {allowed, wait_us,
 * available units of window 1, of window 2, ...}.
 */
static const char gcra_script[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local wait = 0\n"
    "local tats = {}\n"
    "local result = {1, 0}\n"
    "for i = 1, #KEYS do\n"
    "  local interval = tonumber(ARGV[3 * i - 1])\n"
    "  local tolerance = tonumber(ARGV[3 * i])\n"
    "  local quantity = tonumber(ARGV[3 * i + 1])\n"
    "  local tat = tonumber(redis.call('GET', KEYS[i])) or now\n"
    "  if tat < now then tat = now end\n"
    "  local room = tolerance - (tat - now)\n"
    "  if room < interval then result[i + 2] = 0\n"
    "  else result[i + 2] = math.floor(room / interval) end\n"
    "  local cost = math.ceil(quantity * interval)\n"
    "  if cost < 1 then cost = 1 end\n"
    "  tats[i] = tat + cost\n"
    "  local w = tats[i] - tolerance - now\n"
    "  if w > wait then wait = w end\n"
    "end\n"
    "if wait > 0 then\n"
    "  result[1] = 0\n"
    "  result[2] = wait\n"
    "  return result\n"
    "end\n"
    "if ARGV[1] == '1' then\n"
    "  for i = 1, #KEYS do\n"
    "    redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX',\n"
    "               math.ceil((tats[i] - now) / 1000))\n"
    "  end\n"
    "end\n"
    "return result\n";

/* incr: a new key gets the ttl (ARGV[2] ms, <= 0 none); an existing one keeps its own */
static const char incr_script[] = "local existed = redis.call('EXISTS', KEYS[1])\n"
				  "local v = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
				  "if existed == 0 and tonumber(ARGV[2]) > 0 then\n"
				  "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
				  "end\n"
				  "return v\n";

/* get: value and remaining lifetime in one round trip */
static const char get_script[] =
    "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}\n";

typedef enum {
	REDIS_SCRIPT_GCRA,
	REDIS_SCRIPT_INCR,
	REDIS_SCRIPT_GET,
	REDIS_SCRIPT_LAST,
} RedisScriptId;

static const char *const script_bodies[REDIS_SCRIPT_LAST] = {
    [REDIS_SCRIPT_GCRA] = gcra_script,
    [REDIS_SCRIPT_INCR] = incr_script,
    [REDIS_SCRIPT_GET] = get_script,
};

typedef struct {
	char *display; /* the spec without its password, for log lines */
	char *host;    /* NULL for a unix socket */
	int port;
	char *path;
	gint64 db;
	char *user;
	char *password;
	struct timeval connect_timeout;
	struct timeval command_timeout;
	gint64 command_timeout_us;
	guint max_connections;
	char script_sha[REDIS_SCRIPT_LAST][41];

	PcStoreClockFunc clock; /* paces reconnects and outage lines; see PcStoreOptions */

	GMutex lock; /* everything below, except what is atomic */
	GCond cond;  /* a connection was given back, or the state changed */
	GPtrArray *idle;
	guint n_open;
	gboolean down;
	gboolean reconnecting;
	gint64 down_since_us;
	gint64 up_since_us;
	gint64 retry_at_us;
	gint64 backoff_us;
	char *down_reason; /* why the last connection failed, while down */
	PcLogLimiter outage_log;
	PcLogLimiter recovery_log;

	atomic_bool fallback_enabled;
	atomic_uint_fast64_t outage_fallbacks;
	PcStore *fallback;
	PcStatsCounter *fallback_counter;
	PcStatsCounter *errors_counter;
} PcStoreRedis;

static void
redis_reply_free(redisReply *reply)
{
	freeReplyObject(reply);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(redisReply, redis_reply_free)

/* ------------------------------------------------------------------ spec */

static gboolean
redis_parse_number(const char *text, gint64 min, gint64 max, gint64 *value_out)
{
	char *end = NULL;
	gint64 value;

	if (text == NULL || !g_ascii_isdigit(text[0]))
		return FALSE;
	errno = 0;
	value = g_ascii_strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		return FALSE;
	*value_out = value;
	return TRUE;
}

/* "[user]:password@" in front of the host, if any */
static const char *
redis_parse_userinfo(PcStoreRedis *redis, const char *rest)
{
	const char *at = strrchr(rest, '@');
	g_autofree char *userinfo = NULL;
	char *colon;

	if (at == NULL)
		return rest;
	userinfo = g_strndup(rest, (gsize)(at - rest));
	colon = strchr(userinfo, ':');
	if (colon != NULL) {
		*colon = '\0';
		redis->password = g_uri_unescape_string(colon + 1, NULL);
		redis->user = userinfo[0] != '\0' ? g_uri_unescape_string(userinfo, NULL) : NULL;
	} else {
		redis->password = g_uri_unescape_string(userinfo, NULL);
	}
	return at + 1;
}

static gboolean
redis_parse_tcp(PcStoreRedis *redis, const char *spec)
{
	const char *rest = redis_parse_userinfo(redis, spec + strlen("redis://"));
	const char *slash = strchr(rest, '/');
	g_autofree char *hostport =
	    g_strndup(rest, slash != NULL ? (gsize)(slash - rest) : strlen(rest));
	char *port = NULL;
	gint64 number = REDIS_DEFAULT_PORT;

	if (redis->password == NULL && strchr(spec + strlen("redis://"), '@') != NULL)
		return FALSE;
	if (slash != NULL && slash[1] != '\0' &&
	    !redis_parse_number(slash + 1, 0, 1000000, &redis->db))
		return FALSE;
	if (hostport[0] == '[') {
		char *close = strchr(hostport, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return FALSE;
		*close = '\0';
		redis->host = g_strdup(hostport + 1);
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		port = strrchr(hostport, ':');
		if (port != NULL)
			*port++ = '\0';
		redis->host = g_strdup(hostport);
	}
	if (redis->host[0] == '\0')
		return FALSE;
	if (port != NULL && !redis_parse_number(port, 1, 65535, &number))
		return FALSE;
	redis->port = (int)number;
	redis->display = g_strdup_printf(
	    "redis://%s%s%s:%d/%" G_GINT64_FORMAT, strchr(redis->host, ':') != NULL ? "[" : "",
	    redis->host, strchr(redis->host, ':') != NULL ? "]" : "", redis->port, redis->db);
	return TRUE;
}

static gboolean
redis_parse_spec(PcStoreRedis *redis, const char *spec)
{
	if (g_str_has_prefix(spec, "unix:")) {
		const char *path = spec + strlen("unix:");

		if (path[0] != '/')
			return FALSE;
		redis->path = g_strdup(path);
		redis->display = g_strdup(spec);
		return TRUE;
	}
	return redis_parse_tcp(redis, spec);
}

static struct timeval
redis_timeval(gint64 usec)
{
	struct timeval tv = {.tv_sec = usec / G_USEC_PER_SEC, .tv_usec = usec % G_USEC_PER_SEC};

	return tv;
}

/* ------------------------------------------------------------ connections */

static redisReply *
redis_command(redisContext *ctx, int argc, const char **argv, const size_t *argv_len)
{
	return redisCommandArgv(ctx, argc, argv, argv_len);
}

/* a command whose reply must be a status or string; error_out names what failed */
static gboolean
redis_setup_command(redisContext *ctx, int argc, const char **argv, char **error_out)
{
	g_autoptr(redisReply) reply = redis_command(ctx, argc, argv, NULL);

	if (reply == NULL) {
		*error_out = g_strdup_printf("%s: %s", argv[0], ctx->errstr);
		return FALSE;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		*error_out = g_strdup_printf("%s: %s", argv[0], reply->str);
		return FALSE;
	}
	return TRUE;
}

static gboolean
redis_load_script(PcStoreRedis *redis, redisContext *ctx, RedisScriptId id, char **error_out)
{
	const char *argv[] = {"SCRIPT", "LOAD", script_bodies[id]};
	g_autoptr(redisReply) reply = redis_command(ctx, 3, argv, NULL);

	if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
		*error_out = g_strdup_printf("SCRIPT LOAD: %s", reply == NULL ? ctx->errstr
								: reply->type == REDIS_REPLY_ERROR
								    ? reply->str
								    : "unexpected reply");
		return FALSE;
	}
	/* Redis names a script by the SHA-1 of its text, as we computed it */
	if (g_ascii_strcasecmp(reply->str, redis->script_sha[id]) != 0) {
		*error_out = g_strdup_printf("SCRIPT LOAD: server answered %s, expected %s",
					     reply->str, redis->script_sha[id]);
		return FALSE;
	}
	return TRUE;
}

static redisContext *
redis_connect(PcStoreRedis *redis, char **error_out)
{
	redisContext *ctx =
	    redis->path != NULL
		? redisConnectUnixWithTimeout(redis->path, redis->connect_timeout)
		: redisConnectWithTimeout(redis->host, redis->port, redis->connect_timeout);

	if (ctx == NULL) {
		*error_out = g_strdup("cannot allocate a connection");
		return NULL;
	}
	if (ctx->err != 0) {
		*error_out = g_strdup(ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if (redisSetTimeout(ctx, redis->command_timeout) != REDIS_OK) {
		*error_out = g_strdup_printf("setting the timeout: %s", ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if (redis->password != NULL) {
		const char *argv[] = {"AUTH", redis->user != NULL ? redis->user : redis->password,
				      redis->password};

		if (!redis_setup_command(ctx, redis->user != NULL ? 3 : 2, argv, error_out)) {
			redisFree(ctx);
			return NULL;
		}
	}
	if (redis->db != 0) {
		g_autofree char *db = g_strdup_printf("%" G_GINT64_FORMAT, redis->db);
		const char *argv[] = {"SELECT", db};

		if (!redis_setup_command(ctx, 2, argv, error_out)) {
			redisFree(ctx);
			return NULL;
		}
	}
	for (int id = 0; id < REDIS_SCRIPT_LAST; id++) {
		if (!redis_load_script(redis, ctx, id, error_out)) {
			redisFree(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* " (flapping: ...)" when count events of this kind happened since the last line about them */
static char *
redis_flapping_note(guint64 count, const char *events)
{
	if (count <= 1)
		return g_strdup("");
	return g_strdup_printf(" (flapping: %" G_GUINT64_FORMAT " %s since the last such line, "
			       "which is written at most once a minute)",
			       count, events);
}

/* caller holds the lock; outages: since the last outage line, this one included */
static void
redis_log_outage(PcStoreRedis *redis, guint64 outages)
{
	g_autofree char *note = redis_flapping_note(outages, "outages");

	g_warning("store: %s unreachable (%s); %s until it is back%s", redis->display,
		  redis->down_reason,
		  atomic_load(&redis->fallback_enabled) ? "answering from the memory store"
							: "store lookups fail (on_error)",
		  note);
}

/* caller holds the lock; recoveries: since the last recovery line, this one included */
static void
redis_log_recovery(PcStoreRedis *redis, guint64 recoveries)
{
	g_autofree char *note = redis_flapping_note(recoveries, "recoveries");

	g_message("store: %s reachable again after %.1f s; the memory store answered "
		  "%" G_GUINT64_FORMAT " operations meanwhile%s",
		  redis->display, (double)(redis->up_since_us - redis->down_since_us) / 1e6,
		  (guint64)atomic_load(&redis->outage_fallbacks), note);
}

/*
 * caller holds the lock: a line for the current state when the last one
 * about it was held back, so the log does not go on saying "reachable" through
 * an outage (or the reverse) once the minute is over. Two comparisons when
 * nothing is owed, so it runs on every acquire.
 */
static void
redis_log_owed(PcStoreRedis *redis, gint64 now_us)
{
	guint64 count = 0;

	if (redis->down && pc_log_limiter_flush(&redis->outage_log, now_us, &count))
		redis_log_outage(redis, count);
	else if (!redis->down && pc_log_limiter_flush(&redis->recovery_log, now_us, &count))
		redis_log_recovery(redis, count);
}

/* caller holds the lock */
static void
redis_mark_down(PcStoreRedis *redis, const char *why)
{
	guint64 unlogged = 0;

	if (redis->down)
		return;
	redis->down = TRUE;
	redis->down_since_us = redis->clock();
	redis->backoff_us = REDIS_BACKOFF_MIN_US;
	redis->retry_at_us = redis->down_since_us + redis->backoff_us;
	g_free(redis->down_reason);
	redis->down_reason = g_strdup(why);
	atomic_store(&redis->outage_fallbacks, 0);
	/* the idle connections went to the same server: drop them with it */
	for (guint i = 0; i < redis->idle->len; i++)
		redisFree(g_ptr_array_index(redis->idle, i));
	redis->n_open -= redis->idle->len;
	g_ptr_array_set_size(redis->idle, 0);
	g_cond_broadcast(&redis->cond);
	if (pc_log_limiter_event(&redis->outage_log, redis->down_since_us, &unlogged))
		redis_log_outage(redis, unlogged + 1);
	else
		g_debug("store: %s unreachable again (%s); counted for the next outage line",
			redis->display, why);
}

/* one thread at a time tries to end the outage, once its backoff has passed */
static redisContext *
redis_try_reconnect(PcStoreRedis *redis, gint64 now_us)
{
	g_autofree char *error = NULL;
	redisContext *ctx;
	guint64 unlogged = 0;

	if (redis->reconnecting || now_us < redis->retry_at_us)
		return NULL;
	redis->reconnecting = TRUE;
	g_mutex_unlock(&redis->lock);
	ctx = redis_connect(redis, &error);
	g_mutex_lock(&redis->lock);
	redis->reconnecting = FALSE;
	if (ctx == NULL) {
		redis->backoff_us = MIN(redis->backoff_us * 2, REDIS_BACKOFF_MAX_US);
		redis->retry_at_us = redis->clock() + redis->backoff_us;
		g_free(redis->down_reason);
		redis->down_reason = g_steal_pointer(&error);
		g_debug("store: %s still unreachable (%s); next try in %" G_GINT64_FORMAT " ms",
			redis->display, redis->down_reason, redis->backoff_us / 1000);
		return NULL;
	}
	redis->down = FALSE;
	redis->n_open++;
	redis->up_since_us = redis->clock();
	if (pc_log_limiter_event(&redis->recovery_log, redis->up_since_us, &unlogged))
		redis_log_recovery(redis, unlogged + 1);
	else
		g_debug("store: %s reachable again; counted for the next recovery line",
			redis->display);
	return ctx;
}

/* a connection for one command, or NULL: Redis is down, or the pool stayed busy */
static redisContext *
redis_pool_acquire(PcStoreRedis *redis)
{
	gint64 now_us = redis->clock();
	/* a real wait, whatever clock paces the outages */
	gint64 deadline = g_get_monotonic_time() + redis->command_timeout_us;
	g_autofree char *error = NULL;
	redisContext *ctx = NULL;

	g_mutex_lock(&redis->lock);
	redis_log_owed(redis, now_us);
	if (redis->down) {
		ctx = redis_try_reconnect(redis, now_us);
		g_mutex_unlock(&redis->lock);
		return ctx;
	}
	while (redis->idle->len == 0 && redis->n_open >= redis->max_connections) {
		if (!g_cond_wait_until(&redis->cond, &redis->lock, deadline) || redis->down) {
			g_mutex_unlock(&redis->lock);
			pc_stats_counter_inc(redis->errors_counter);
			return NULL;
		}
	}
	if (redis->idle->len > 0) {
		ctx = g_ptr_array_steal_index_fast(redis->idle, redis->idle->len - 1);
		g_mutex_unlock(&redis->lock);
		return ctx;
	}
	redis->n_open++;
	g_mutex_unlock(&redis->lock);
	ctx = redis_connect(redis, &error);
	if (ctx == NULL) {
		g_mutex_lock(&redis->lock);
		redis->n_open--;
		redis_mark_down(redis, error);
		g_mutex_unlock(&redis->lock);
		pc_stats_counter_inc(redis->errors_counter);
	}
	return ctx;
}

/* failure: NULL when the connection is fine, else why it is not (an outage) */
static void
redis_pool_release(PcStoreRedis *redis, redisContext *ctx, const char *failure)
{
	g_mutex_lock(&redis->lock);
	if (failure == NULL && !redis->down) {
		g_ptr_array_add(redis->idle, ctx);
		g_cond_signal(&redis->cond);
		g_mutex_unlock(&redis->lock);
		return;
	}
	redis->n_open--;
	if (failure != NULL)
		redis_mark_down(redis, failure);
	g_cond_broadcast(&redis->cond);
	g_mutex_unlock(&redis->lock);
	redisFree(ctx);
}

/*
 * redis_run: one command on a pooled connection. Returns the reply, or NULL
 * when the command could not be run or Redis answered with an error (both
 * counted in portcullis_store_errors_total, except while down: an outage is
 * counted once per attempt that found it). script: the script whose EVALSHA
 * this is, to load it again on NOSCRIPT (after SCRIPT FLUSH), or -1.
 */
static redisReply *
redis_run(PcStoreRedis *redis, int argc, const char **argv, const size_t *argv_len, int script)
{
	redisContext *ctx = redis_pool_acquire(redis);
	redisReply *reply;

	if (ctx == NULL)
		return NULL;
	reply = redis_command(ctx, argc, argv, argv_len);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && script >= 0 &&
	    g_str_has_prefix(reply->str, "NOSCRIPT")) {
		g_autofree char *error = NULL;

		freeReplyObject(reply);
		reply = NULL;
		if (redis_load_script(redis, ctx, script, &error))
			reply = redis_command(ctx, argc, argv, argv_len);
		else if (ctx->err == 0)
			g_warning("store: %s: %s", redis->display, error);
	}
	if (reply == NULL) {
		g_autofree char *why = g_strdup(ctx->err != 0 ? ctx->errstr : "no reply");

		pc_stats_counter_inc(redis->errors_counter);
		redis_pool_release(redis, ctx, why);
		return NULL;
	}
	redis_pool_release(redis, ctx, NULL);
	if (reply->type == REDIS_REPLY_ERROR) {
		pc_stats_counter_inc(redis->errors_counter);
		g_info("store: %s: %s answered: %s", redis->display, argv[0], reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* whether the fallback answers; counts it when it does */
static gboolean
redis_use_fallback(PcStoreRedis *redis)
{
	if (!atomic_load(&redis->fallback_enabled))
		return FALSE;
	pc_stats_counter_inc(redis->fallback_counter);
	atomic_fetch_add(&redis->outage_fallbacks, 1);
	return TRUE;
}

static char *
redis_key(const char *key, gsize key_len)
{
	return g_strconcat(REDIS_KEY_PREFIX, key, NULL);
}

static char *
redis_ms(gint64 usec)
{
	return g_strdup_printf("%" G_GINT64_FORMAT, (usec + 999) / 1000);
}

/* ------------------------------------------------------------ operations */

static PcLookupStatus
pc_store_redis_incr(gpointer backend, const char *key, gsize key_len, gint64 delta, gint64 ttl_us,
		    gint64 now_us, gint64 *value_out)
{
	PcStoreRedis *redis = backend;
	g_autofree char *full_key = redis_key(key, key_len);
	g_autofree char *delta_text = g_strdup_printf("%" G_GINT64_FORMAT, delta);
	g_autofree char *ttl_ms = redis_ms(MAX(ttl_us, 0));
	const char *argv[] = {
	    "EVALSHA", redis->script_sha[REDIS_SCRIPT_INCR], "1", full_key, delta_text, ttl_ms};
	g_autoptr(redisReply) reply =
	    redis_run(redis, G_N_ELEMENTS(argv), argv, NULL, REDIS_SCRIPT_INCR);

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
		if (value_out != NULL)
			*value_out = reply->integer;
		return PC_LOOKUP_FOUND;
	}
	if (!redis_use_fallback(redis))
		return PC_LOOKUP_TEMPFAIL;
	return pc_store_incr(redis->fallback, key, delta, ttl_us, now_us, value_out);
}

static PcLookupStatus
pc_store_redis_set(gpointer backend, const char *key, gsize key_len, gint64 value, gint64 ttl_us,
		   gint64 now_us)
{
	PcStoreRedis *redis = backend;
	g_autofree char *full_key = redis_key(key, key_len);
	g_autofree char *value_text = g_strdup_printf("%" G_GINT64_FORMAT, value);
	g_autofree char *ttl_ms = redis_ms(ttl_us);
	const char *argv[] = {"SET", full_key, value_text, "PX", ttl_ms};
	g_autoptr(redisReply) reply = redis_run(redis, ttl_us > 0 ? 5 : 3, argv, NULL, -1);

	if (reply != NULL)
		return PC_LOOKUP_FOUND;
	if (!redis_use_fallback(redis))
		return PC_LOOKUP_TEMPFAIL;
	return pc_store_set(redis->fallback, key, value, ttl_us, now_us);
}

static gboolean
redis_reply_int(const redisReply *reply, gint64 *value_out)
{
	char *end = NULL;

	if (reply->type == REDIS_REPLY_INTEGER) {
		*value_out = reply->integer;
		return TRUE;
	}
	if (reply->type != REDIS_REPLY_STRING || reply->len == 0)
		return FALSE;
	errno = 0;
	*value_out = g_ascii_strtoll(reply->str, &end, 10);
	return errno == 0 && *end == '\0';
}

static PcLookupStatus
pc_store_redis_get(gpointer backend, const char *key, gsize key_len, gint64 now_us,
		   gint64 *value_out, gint64 *ttl_out_us)
{
	PcStoreRedis *redis = backend;
	g_autofree char *full_key = redis_key(key, key_len);
	const char *argv[] = {"EVALSHA", redis->script_sha[REDIS_SCRIPT_GET], "1", full_key};
	g_autoptr(redisReply) reply =
	    redis_run(redis, G_N_ELEMENTS(argv), argv, NULL, REDIS_SCRIPT_GET);
	gint64 value = 0;

	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
		gint64 pttl = reply->element[1]->integer;

		if (reply->element[0]->type == REDIS_REPLY_NIL)
			return PC_LOOKUP_NOTFOUND;
		/* a value we did not write (not a number) reads as 0, as INCRBY would refuse it */
		if (!redis_reply_int(reply->element[0], &value))
			value = 0;
		if (value_out != NULL)
			*value_out = value;
		if (ttl_out_us != NULL)
			*ttl_out_us = pttl < 0 ? -1 : pttl * 1000;
		return PC_LOOKUP_FOUND;
	}
	if (reply != NULL)
		pc_stats_counter_inc(redis->errors_counter);
	if (!redis_use_fallback(redis))
		return PC_LOOKUP_TEMPFAIL;
	return pc_store_get(redis->fallback, key, now_us, value_out, ttl_out_us);
}

static PcLookupStatus
pc_store_redis_delete(gpointer backend, const char *key, gsize key_len)
{
	PcStoreRedis *redis = backend;
	g_autofree char *full_key = redis_key(key, key_len);
	const char *argv[] = {"DEL", full_key};
	g_autoptr(redisReply) reply = redis_run(redis, G_N_ELEMENTS(argv), argv, NULL, -1);

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
		return reply->integer > 0 ? PC_LOOKUP_FOUND : PC_LOOKUP_NOTFOUND;
	if (!redis_use_fallback(redis))
		return PC_LOOKUP_TEMPFAIL;
	return pc_store_delete(redis->fallback, key);
}

/* SCAN's MATCH is a glob: the prefix is matched literally */
static char *
redis_glob_prefix(const char *prefix)
{
	GString *pattern = g_string_new(REDIS_KEY_PREFIX);

	for (const char *p = prefix; *p != '\0'; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			g_string_append_c(pattern, '\\');
		g_string_append_c(pattern, *p);
	}
	g_string_append_c(pattern, '*');
	return g_string_free(pattern, FALSE);
}

static gsize
pc_store_redis_count_prefix(gpointer backend, const char *prefix, gint64 now_us)
{
	PcStoreRedis *redis = backend;
	g_autofree char *pattern = redis_glob_prefix(prefix);
	g_autofree char *cursor = g_strdup("0");
	gsize total = 0;

	for (guint i = 0; i < REDIS_SCAN_MAX_ITERATIONS; i++) {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
		g_autoptr(redisReply) reply = redis_run(redis, G_N_ELEMENTS(argv), argv, NULL, -1);

		if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		    reply->element[0]->type != REDIS_REPLY_STRING) {
			if (!redis_use_fallback(redis))
				return 0;
			return pc_store_count_prefix(redis->fallback, prefix, now_us);
		}
		total += reply->element[1]->elements;
		g_free(cursor);
		cursor = g_strdup(reply->element[0]->str);
		if (strcmp(cursor, "0") == 0)
			break;
	}
	return total;
}

static void
pc_store_redis_list_prefix(gpointer backend, const char *prefix, gint64 now_us, gsize max,
			   GPtrArray *keys_out)
{
	PcStoreRedis *redis = backend;
	g_autofree char *pattern = redis_glob_prefix(prefix);
	g_autofree char *cursor = g_strdup("0");
	gsize listed = 0;

	for (guint i = 0; i < REDIS_SCAN_MAX_ITERATIONS && listed < max; i++) {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
		g_autoptr(redisReply) reply = redis_run(redis, G_N_ELEMENTS(argv), argv, NULL, -1);

		if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		    reply->element[0]->type != REDIS_REPLY_STRING ||
		    reply->element[1]->type != REDIS_REPLY_ARRAY) {
			if (redis_use_fallback(redis))
				pc_store_list_prefix(redis->fallback, prefix, now_us, max,
						     keys_out);
			return;
		}
		for (gsize k = 0; k < reply->element[1]->elements && listed < max; k++) {
			const redisReply *key = reply->element[1]->element[k];

			if (key->type != REDIS_REPLY_STRING ||
			    !g_str_has_prefix(key->str, REDIS_KEY_PREFIX))
				continue;
			g_ptr_array_add(keys_out, g_strdup(key->str + strlen(REDIS_KEY_PREFIX)));
			listed++;
		}
		g_free(cursor);
		cursor = g_strdup(reply->element[0]->str);
		if (strcmp(cursor, "0") == 0)
			break;
	}
}

static gsize
pc_store_redis_size(gpointer backend)
{
	PcStoreRedis *redis = backend;
	const char *argv[] = {"DBSIZE"};
	g_autoptr(redisReply) reply = redis_run(redis, G_N_ELEMENTS(argv), argv, NULL, -1);

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0)
		return (gsize)reply->integer;
	return pc_store_size(redis->fallback);
}

static PcLookupStatus
pc_store_redis_gcra(gpointer backend, const PcStoreGcraWindow *windows, guint n_windows,
		    gboolean commit, gint64 now_us, gboolean *allowed_out,
		    gint64 *retry_after_us_out, gint64 *available_out)
{
	PcStoreRedis *redis = backend;
	guint argc = 3 + n_windows + 1 + 3 * n_windows;
	g_autofree const char **argv = g_new(const char *, argc);
	g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *n_keys = g_strdup_printf("%u", n_windows);
	g_autoptr(redisReply) reply = NULL;
	guint arg = 0;

	argv[arg++] = "EVALSHA";
	argv[arg++] = redis->script_sha[REDIS_SCRIPT_GCRA];
	argv[arg++] = n_keys;
	for (guint i = 0; i < n_windows; i++) {
		char *key = redis_key(windows[i].key, strlen(windows[i].key));

		g_ptr_array_add(owned, key);
		argv[arg++] = key;
	}
	argv[arg++] = commit ? "1" : "0";
	for (guint i = 0; i < n_windows; i++) {
		char interval[G_ASCII_DTOSTR_BUF_SIZE];
		char *text;

		/* shortest text that reads back as the same double */
		g_ascii_dtostr(interval, sizeof(interval), windows[i].emission_interval_us);
		text = g_strdup(interval);
		g_ptr_array_add(owned, text);
		argv[arg++] = text;
		text = g_strdup_printf("%" G_GINT64_FORMAT, windows[i].burst_tolerance_us);
		g_ptr_array_add(owned, text);
		argv[arg++] = text;
		text = g_strdup_printf("%" G_GINT64_FORMAT, windows[i].quantity);
		g_ptr_array_add(owned, text);
		argv[arg++] = text;
	}
	g_assert(arg == argc);
	reply = redis_run(redis, (int)argc, argv, NULL, REDIS_SCRIPT_GCRA);
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 + n_windows &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER &&
	    reply->element[1]->type == REDIS_REPLY_INTEGER) {
		*allowed_out = reply->element[0]->integer == 1;
		*retry_after_us_out = *allowed_out ? 0 : MAX(reply->element[1]->integer, 1);
		for (guint i = 0; available_out != NULL && i < n_windows; i++)
			available_out[i] = reply->element[2 + i]->type == REDIS_REPLY_INTEGER
					       ? MAX(reply->element[2 + i]->integer, 0)
					       : 0;
		return PC_LOOKUP_FOUND;
	}
	if (reply != NULL)
		pc_stats_counter_inc(redis->errors_counter);
	if (!redis_use_fallback(redis))
		return PC_LOOKUP_TEMPFAIL;
	return pc_store_gcra_multi(redis->fallback, windows, n_windows, commit, now_us, allowed_out,
				   retry_after_us_out, available_out);
}

static void
pc_store_redis_set_fallback(gpointer backend, gboolean enabled)
{
	PcStoreRedis *redis = backend;

	atomic_store(&redis->fallback_enabled, enabled);
}

static void
pc_store_redis_free(gpointer backend)
{
	PcStoreRedis *redis = backend;

	if (redis == NULL)
		return;
	if (redis->idle != NULL) {
		for (guint i = 0; i < redis->idle->len; i++)
			redisFree(g_ptr_array_index(redis->idle, i));
		g_ptr_array_unref(redis->idle);
	}
	g_mutex_clear(&redis->lock);
	g_cond_clear(&redis->cond);
	pc_store_free(redis->fallback);
	g_free(redis->down_reason);
	g_free(redis->display);
	g_free(redis->host);
	g_free(redis->path);
	g_free(redis->user);
	if (redis->password != NULL)
		memset(redis->password, 0, strlen(redis->password));
	g_free(redis->password);
	g_free(redis);
}

const PcStoreBackend pc_store_redis_backend = {
    .name = "redis",
    .incr = pc_store_redis_incr,
    .set = pc_store_redis_set,
    .get = pc_store_redis_get,
    .delete = pc_store_redis_delete,
    .count_prefix = pc_store_redis_count_prefix,
    .list_prefix = pc_store_redis_list_prefix,
    .size = pc_store_redis_size,
    .free = pc_store_redis_free,
    .gcra = pc_store_redis_gcra,
    .set_fallback = pc_store_redis_set_fallback,
};

gpointer
pc_store_redis_backend_new(const char *spec, const PcStoreOptions *options, PcStore *fallback,
			   GError **error)
{
	PcStoreRedis *redis = g_new0(PcStoreRedis, 1);
	gint64 connect_us = options->connect_timeout_us > 0 ? options->connect_timeout_us
							    : PC_STORE_DEFAULT_TIMEOUT_US;
	redisContext *ctx;

	g_mutex_init(&redis->lock);
	g_cond_init(&redis->cond);
	redis->idle = g_ptr_array_new();
	redis->clock = options->clock != NULL ? options->clock : g_get_monotonic_time;
	pc_log_limiter_init(&redis->outage_log, REDIS_LOG_INTERVAL_US);
	pc_log_limiter_init(&redis->recovery_log, REDIS_LOG_INTERVAL_US);
	if (!redis_parse_spec(redis, spec)) {
		g_set_error(error, PC_STORE_ERROR, PC_STORE_ERROR_SPEC,
			    "store '%s': not a Redis address (expected "
			    "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:/PATH)",
			    spec);
		pc_store_redis_free(redis);
		return NULL;
	}
	redis->fallback = fallback;
	redis->command_timeout_us = options->command_timeout_us > 0 ? options->command_timeout_us
								    : PC_STORE_DEFAULT_TIMEOUT_US;
	redis->connect_timeout = redis_timeval(connect_us);
	redis->command_timeout = redis_timeval(redis->command_timeout_us);
	redis->max_connections =
	    options->max_connections > 0 ? options->max_connections : PC_STORE_DEFAULT_CONNECTIONS;
	for (int id = 0; id < REDIS_SCRIPT_LAST; id++) {
		g_autofree char *sha =
		    g_compute_checksum_for_string(G_CHECKSUM_SHA1, script_bodies[id], -1);

		g_strlcpy(redis->script_sha[id], sha, sizeof(redis->script_sha[id]));
	}
	atomic_init(&redis->fallback_enabled, TRUE);
	atomic_init(&redis->outage_fallbacks, 0);
	redis->fallback_counter =
	    pc_stats_counter_register("portcullis_store_fallback_total",
				      "Store operations answered by the memory fallback", NULL);
	redis->errors_counter = pc_stats_counter_register(
	    "portcullis_store_errors_total", "Store operations the shared store failed", NULL);

	/* one connection now: an unreachable server is logged at start, not at the first mail */
	ctx = redis_pool_acquire(redis);
	if (ctx != NULL)
		redis_pool_release(redis, ctx, NULL);
	return redis;
}
