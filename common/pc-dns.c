/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-dns: the libunbound context, its answer thread, and queries with
 * deadlines of our own.
 *
 * How a query runs: the caller's thread hands it to libunbound with
 * ub_resolve_async(); libunbound's background thread (ub_ctx_async(ctx, 1):
 * a thread, not the forked process it would use by default) resolves it
 * against the shared cache and the network and writes the answer into a
 * pipe; our answer thread polls that pipe's descriptor (ub_fd) and runs
 * ub_process(), which calls query_answered() with the result; that wakes the
 * caller, which waits on the query's condition until its deadline. At the
 * deadline the caller cancels with ub_cancel(): in threaded mode that only
 * marks the query, so libunbound never calls back for it; the resolution
 * itself runs on in the background until libunbound gives up, and its
 * answer, when it comes, is dropped (and cached).
 *
 * Why not ub_resolve() in the caller's thread, which libunbound also allows
 * on a shared context: it has no timeout and no way to cancel, and a slow
 * zone would hold a milter thread for as long as libunbound retries.
 *
 * Lifetimes: a query has two references while libunbound may call back,
 * the caller's and the callback's. The callback's is dropped by the
 * callback, or by the caller when ub_cancel() succeeded (libunbound then
 * never calls back). When ub_cancel() fails the answer is already being
 * delivered on the answer thread (libunbound takes a query out of its table
 * just before calling back), so the caller waits the moment it takes.
 */
#include "pc-dns.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unbound.h>
#include <unistd.h>

#include "pc-dns-private.h"
#include "pc-log.h"
#include "pc-stats.h"

G_DEFINE_QUARK(pc - dns - error - quark, pc_dns_error)

#define DNS_CLASS_IN 1

/*
 * caches: libunbound's library defaults are 1 MiB each, sized for a client
 * that looks up a few names; a mail server looks up SPF, DKIM and DMARC
 * records of every sending domain, so a few MiB more buy many cache hits
 */
#define DNS_MSG_CACHE "4m"
#define DNS_RRSET_CACHE "8m"
#define DNS_KEY_CACHE "4m"

/* the metric's type label for each type SPF, DKIM and DMARC ask for; the rest are "other" */
static const struct {
	guint16 rrtype;
	const char *label;
} metric_types[] = {
    {PC_DNS_TYPE_A, "A"},     {PC_DNS_TYPE_AAAA, "AAAA"}, {PC_DNS_TYPE_MX, "MX"},
    {PC_DNS_TYPE_PTR, "PTR"}, {PC_DNS_TYPE_TXT, "TXT"},	  {0, "other"},
};
#define DNS_N_METRIC_TYPES G_N_ELEMENTS(metric_types)

/* upper bounds of portcullis_dns_query_seconds: cache hits to dns_timeout's range */
static const double latency_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25,  0.5,   1,    2.5,   5,	 10};

/*
 * The answer cache in front of libunbound (see pc-dns.h): answers by
 * "TYPE/name" (the name in our lower-cased text form, so "Example.ORG."
 * and "example.org" are one entry). Bounded in entries and in bytes: when
 * an answer would go over either, the expired entries go; when that is not
 * enough, all of them (the cache refills from libunbound's).
 */
#define DNS_CACHE_MAX_ENTRIES 10000
#define DNS_CACHE_MAX_BYTES (8 * 1024 * 1024)
/* unbound's own defaults: cache-max-ttl 86400, cache-max-negative-ttl 3600 */
#define DNS_CACHE_MAX_TTL_S 86400
#define DNS_CACHE_MAX_NEGATIVE_TTL_S 3600

typedef struct {
	PcDnsResult *result; /* the cache's own copy; callers get copies of it */
	gint64 expires_us;
	gsize cost; /* bytes charged against DNS_CACHE_MAX_BYTES */
} DnsCacheEntry;

struct _PcDns {
	struct ub_ctx *ctx;
	GThread *answer_thread;
	int wake_fd;	   /* eventfd: tells the answer thread to stop */
	gint64 timeout_us; /* a query without a budget */
	atomic_uint live_queries;
	PcStatsCounter *counters[DNS_N_METRIC_TYPES][PC_DNS_N_STATUS];
	PcStatsHistogram *latency;
	PcStatsCounter *cache_hits;
	GMutex cache_lock;
	GHashTable *cache; /* char * key -> DnsCacheEntry *, under cache_lock */
	gsize cache_bytes;
};

struct _PcDnsQuery {
	gatomicrefcount refs; /* the caller's, and the callback's while libunbound may call */
	PcDns *dns;
	PcDnsBudget *budget; /* the caller's, or NULL */
	char *name;
	guint16 rrtype;
	char *cache_key; /* "TYPE/name", NULL when the name cannot be asked */
	int async_id;
	gboolean in_flight; /* libunbound has it and may call back */
	gboolean taken;	    /* the result went to the caller */
	gint64 started_us;  /* 0 when nothing was sent */
	gint64 deadline_us;
	gboolean deadline_by_budget;
	PcDnsResult *finished; /* a result known without asking (badname, budget, error) */
	/* written by the answer thread, under lock */
	GMutex lock;
	GCond answered_cond;
	gboolean answered;
	int answer_err;
	struct ub_result *answer;
};

static void
cache_entry_free(gpointer data)
{
	DnsCacheEntry *entry = data;

	pc_dns_result_free(entry->result);
	g_free(entry);
}

/* ------------------------------------------------------- libunbound's log */

/*
 * libunbound logs to a FILE (stderr by default, which a daemon on syslog
 * loses). Its log target is process-wide, so one stream serves every
 * context and is never closed: a context deleted later may still write to it.
 */
static gssize
dns_log_write(void *cookie, const char *buf, size_t size)
{
	/* stdio is line-buffered on this stream: one call per line, or per part of a long one */
	g_autofree char *line = g_strndup(buf, size);
	const char *text = strstr(line, "] ");
	g_autoptr(GString) safe = g_string_new(NULL);

	/* "[TIME] libunbound[PID:THREAD] error: ..." loses the part our log already has */
	if (text != NULL && (text = strstr(text + 2, "] ")) != NULL)
		text += 2;
	else
		text = line;
	g_strchomp((char *)text);
	if (*text == '\0')
		return (gssize)size;
	pc_log_append_safe(safe, text);
	g_info("dns: libunbound: %s", safe->str);
	return (gssize)size;
}

static FILE *
dns_log_stream(void)
{
	static gsize initialised;
	static FILE *stream;

	if (g_once_init_enter(&initialised)) {
		cookie_io_functions_t functions = {.write = dns_log_write};

		stream = fopencookie(NULL, "w", functions);
		if (stream != NULL)
			setvbuf(stream, NULL, _IOLBF, 0);
		g_once_init_leave(&initialised, 1);
	}
	return stream;
}

/* ---------------------------------------------------------------- set-up */

static gboolean
dns_set(struct ub_ctx *ctx, const char *option, const char *value, GError **error)
{
	int err = ub_ctx_set_option(ctx, option, value);

	if (err != 0) {
		g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_CONFIG,
			    "libunbound refuses %s %s: %s", option, value, ub_strerror(err));
		return FALSE;
	}
	return TRUE;
}

/* TRUE when the options' local zones include exactly zone ("NAME TYPE") */
static gboolean
options_have_zone(const PcDnsOptions *options, const char *zone)
{
	gsize len = strlen(zone);

	for (gsize i = 0; options->local_zones != NULL && options->local_zones[i] != NULL; i++) {
		if (g_ascii_strncasecmp(options->local_zones[i], zone, len) == 0 &&
		    g_ascii_isspace(options->local_zones[i][len]))
			return TRUE;
	}
	return FALSE;
}

/*
 * where to ask. With forwarders, libunbound's built-in empty zones for
 * private and reserved names (RFC 1918 and documentation reverse zones,
 * home.arpa, test) are switched off: the forwarder answers for them as it
 * does for the rest of the system (a site's own reverse zones, the test
 * server's zones); localhost, onion and invalid stay local. home.arpa and
 * test are made transparent zones (no data of their own, so resolved as
 * usual): "local-zone: NAME nodefault" through ub_ctx_set_option() has no
 * effect in libunbound 1.17 (it keeps the whole value as the zone's name).
 * Recursive keeps every built-in zone, and never sends a query to this
 * host's own addresses, which a delegation could otherwise point at.
 */
static gboolean
dns_setup_servers(struct ub_ctx *ctx, const PcDnsOptions *options, GError **error)
{
	static const char *const forwarded_zones[] = {"home.arpa.", "test."};
	const char *resolv_conf =
	    options->resolv_conf != NULL ? options->resolv_conf : "/etc/resolv.conf";
	int err;

	switch (options->mode) {
	case PC_DNS_MODE_RECURSIVE:
		return dns_set(ctx, "do-not-query-localhost:", "yes", error);
	case PC_DNS_MODE_SYSTEM:
		err = ub_ctx_resolvconf(ctx, resolv_conf);
		if (err != 0) {
			g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_CONFIG,
				    "cannot read the nameservers of %s: %s", resolv_conf,
				    err == UB_READFILE ? g_strerror(errno) : ub_strerror(err));
			return FALSE;
		}
		break;
	case PC_DNS_MODE_FORWARD:
		if (options->forwarders == NULL || options->forwarders[0] == NULL) {
			g_set_error_literal(error, PC_DNS_ERROR, PC_DNS_ERROR_CONFIG,
					    "no forwarder given");
			return FALSE;
		}
		for (gsize i = 0; options->forwarders[i] != NULL; i++) {
			err = ub_ctx_set_fwd(ctx, options->forwarders[i]);
			if (err != 0) {
				g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_CONFIG,
					    "forwarder '%s': %s", options->forwarders[i],
					    ub_strerror(err));
				return FALSE;
			}
		}
		break;
	}
	if (!dns_set(ctx, "do-not-query-localhost:", "no", error) ||
	    !dns_set(ctx, "unblock-lan-zones:", "yes", error) ||
	    !dns_set(ctx, "insecure-lan-zones:", "yes", error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(forwarded_zones); i++) {
		g_autofree char *zone = g_strdup_printf("%s transparent", forwarded_zones[i]);

		if (!options_have_zone(options, forwarded_zones[i]) &&
		    !dns_set(ctx, "local-zone:", zone, error))
			return FALSE;
	}
	return TRUE;
}

/*
 * DNSSEC: the validator with the trust anchor file read once (not RFC 5011
 * tracking, which would need a file the daemon's user can write; Debian's
 * dns-root-data package keeps the file current). Without it, only the
 * iterator: nothing is validated, nothing is secure.
 */
static gboolean
dns_setup_dnssec(struct ub_ctx *ctx, const PcDnsOptions *options, GError **error)
{
	const char *anchor = options->trust_anchor_file != NULL ? options->trust_anchor_file
								: PC_DNS_DEFAULT_TRUST_ANCHOR;
	int err;

	if (!options->dnssec)
		return dns_set(ctx, "module-config:", "iterator", error);
	if (access(anchor, R_OK) != 0) {
		g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_TRUST_ANCHOR,
			    "cannot read trust anchor %s: %s", anchor, g_strerror(errno));
		return FALSE;
	}
	err = ub_ctx_add_ta_file(ctx, anchor);
	if (err != 0) {
		g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_TRUST_ANCHOR, "trust anchor %s: %s",
			    anchor, ub_strerror(err));
		return FALSE;
	}
	return dns_set(ctx, "module-config:", "validator iterator", error) &&
	       dns_set(ctx, "key-cache-size:", DNS_KEY_CACHE, error);
}

static gboolean
dns_setup_local(struct ub_ctx *ctx, const PcDnsOptions *options, GError **error)
{
	for (gsize i = 0; options->local_zones != NULL && options->local_zones[i] != NULL; i++) {
		if (!dns_set(ctx, "local-zone:", options->local_zones[i], error))
			return FALSE;
	}
	for (gsize i = 0; options->local_data != NULL && options->local_data[i] != NULL; i++) {
		if (!dns_set(ctx, "local-data:", options->local_data[i], error))
			return FALSE;
	}
	return TRUE;
}

/*
 * reads what the settings name (the trust anchors, local data) now, so that
 * a bad file stops the start: libunbound does this at its first query
 * otherwise. Removing a zone that cannot exist is the one public call that
 * finalises a context without resolving anything.
 */
static gboolean
dns_finalise(struct ub_ctx *ctx, const PcDnsOptions *options, GError **error)
{
	int err = ub_ctx_zone_remove(ctx, "finalise.portcullis.invalid.");

	if (err != 0) {
		g_set_error(error, PC_DNS_ERROR,
			    options->dnssec ? PC_DNS_ERROR_TRUST_ANCHOR : PC_DNS_ERROR_START,
			    "libunbound cannot start: %s%s", ub_strerror(err),
			    options->dnssec ? " (is the trust anchor file valid?)" : "");
		return FALSE;
	}
	return TRUE;
}

static struct ub_ctx *
dns_context_new(const PcDnsOptions *options, GError **error)
{
	struct ub_ctx *ctx = ub_ctx_create();
	FILE *log_stream = dns_log_stream();
	int err;

	if (ctx == NULL) {
		g_set_error_literal(error, PC_DNS_ERROR, PC_DNS_ERROR_START,
				    "libunbound cannot create a context");
		return NULL;
	}
	if (log_stream != NULL)
		ub_ctx_debugout(ctx, log_stream);
	/* a thread for the background resolver: the default is a forked process */
	err = ub_ctx_async(ctx, 1);
	if (err != 0) {
		g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_START,
			    "libunbound cannot resolve in a thread: %s", ub_strerror(err));
	} else if (dns_set(ctx, "msg-cache-size:", DNS_MSG_CACHE, error) &&
		   dns_set(ctx, "rrset-cache-size:", DNS_RRSET_CACHE, error) &&
		   dns_setup_servers(ctx, options, error) &&
		   dns_setup_dnssec(ctx, options, error) && dns_setup_local(ctx, options, error) &&
		   dns_finalise(ctx, options, error)) {
		return ctx;
	}
	ub_ctx_delete(ctx);
	return NULL;
}

/* ---------------------------------------------------------- answer thread */

static gpointer
dns_answer_thread(gpointer data)
{
	PcDns *dns = data;
	struct pollfd fds[2] = {
	    {.fd = ub_fd(dns->ctx), .events = POLLIN},
	    {.fd = dns->wake_fd, .events = POLLIN},
	};

	for (;;) {
		int err;

		if (poll(fds, G_N_ELEMENTS(fds), -1) < 0) {
			if (errno == EINTR)
				continue;
			g_critical("dns: poll: %s; no more DNS answers", g_strerror(errno));
			break;
		}
		if (fds[1].revents != 0)
			break;
		if (fds[0].revents == 0)
			continue;
		/* runs query_answered() for each answer waiting in the pipe */
		err = ub_process(dns->ctx);
		if (err != 0) {
			/* every query ends at its deadline from now on: the daemons tempfail */
			g_critical("dns: libunbound: %s; no more DNS answers", ub_strerror(err));
			break;
		}
	}
	return NULL;
}

static void
dns_register_metrics(PcDns *dns)
{
	for (gsize t = 0; t < DNS_N_METRIC_TYPES; t++) {
		for (guint s = 0; s < PC_DNS_N_STATUS; s++) {
			g_autofree char *labels =
			    g_strdup_printf("type=\"%s\",result=\"%s\"", metric_types[t].label,
					    pc_dns_status_to_string((PcDnsStatus)s));

			dns->counters[t][s] =
			    pc_stats_counter_register("portcullis_dns_queries_total",
						      "DNS queries by type and result", labels);
		}
	}
	dns->latency = pc_stats_histogram_register(
	    "portcullis_dns_query_seconds", "Time from a DNS query to its result (sent queries)",
	    latency_bounds, G_N_ELEMENTS(latency_bounds));
	dns->cache_hits = pc_stats_counter_register(
	    "portcullis_dns_cache_hits_total",
	    "DNS queries answered from the answer cache, without a round trip to libunbound", NULL);
}

PcDns *
pc_dns_new(const PcDnsOptions *options, GError **error)
{
	g_autoptr(PcDns) dns = NULL;
	g_autoptr(GError) local = NULL;

	g_return_val_if_fail(options != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	dns = g_new0(PcDns, 1);
	dns->wake_fd = -1;
	g_mutex_init(&dns->cache_lock);
	dns->cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cache_entry_free);
	dns->timeout_us = options->timeout_us > 0 ? options->timeout_us : PC_DNS_DEFAULT_TIMEOUT_US;
	dns->ctx = dns_context_new(options, error);
	if (dns->ctx == NULL)
		return NULL;
	dns->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dns->wake_fd < 0) {
		g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_START, "eventfd: %s",
			    g_strerror(errno));
		return NULL;
	}
	dns_register_metrics(dns);
	dns->answer_thread = g_thread_try_new("dns", dns_answer_thread, dns, &local);
	if (dns->answer_thread == NULL) {
		g_set_error(error, PC_DNS_ERROR, PC_DNS_ERROR_START, "cannot start a thread: %s",
			    local->message);
		return NULL;
	}
	return g_steal_pointer(&dns);
}

void
pc_dns_options_from_config(const PcGlobalConfig *global, PcDnsOptions *options_out)
{
	const char *first;

	g_return_if_fail(global != NULL);
	g_return_if_fail(options_out != NULL);

	first = global->dns != NULL ? global->dns[0] : NULL;
	*options_out = (PcDnsOptions){
	    .mode = PC_DNS_MODE_FORWARD,
	    .forwarders = (const char *const *)global->dns,
	    .dnssec = global->dnssec,
	    .trust_anchor_file = global->dns_trust_anchor,
	    .timeout_us = global->dns_timeout,
	};
	/* the loader allows the keywords only alone */
	if (first == NULL || g_ascii_strcasecmp(first, "system") == 0) {
		options_out->mode = PC_DNS_MODE_SYSTEM;
		options_out->forwarders = NULL;
	} else if (g_ascii_strcasecmp(first, "recursive") == 0) {
		options_out->mode = PC_DNS_MODE_RECURSIVE;
		options_out->forwarders = NULL;
	}
}

PcDns *
pc_dns_new_from_config(const PcGlobalConfig *global, GError **error)
{
	PcDnsOptions options;
	GError *local = NULL;
	PcDns *dns;

	g_return_val_if_fail(global != NULL, NULL);

	pc_dns_options_from_config(global, &options);
	dns = pc_dns_new(&options, &local);
	if (dns == NULL) {
		g_prefix_error(&local, "[global] %s: ",
			       local->code == PC_DNS_ERROR_TRUST_ANCHOR ? "dns_trust_anchor"
									: "dns");
		g_propagate_error(error, local);
	}
	return dns;
}

void
pc_dns_free(PcDns *dns)
{
	guint live;

	if (dns == NULL)
		return;
	if (dns->answer_thread != NULL) {
		guint64 one = 1;

		if (write(dns->wake_fd, &one, sizeof(one)) != sizeof(one))
			g_critical("dns: cannot stop the answer thread: %s", g_strerror(errno));
		else
			g_thread_join(g_steal_pointer(&dns->answer_thread));
	}
	live = atomic_load(&dns->live_queries);
	if (live != 0)
		g_critical("dns: %u queries still open when the resolver is freed", live);
	/* stops libunbound's thread; queries still running are dropped without a callback */
	if (dns->ctx != NULL)
		ub_ctx_delete(dns->ctx);
	if (dns->wake_fd >= 0)
		close(dns->wake_fd);
	g_clear_pointer(&dns->cache, g_hash_table_unref);
	g_mutex_clear(&dns->cache_lock);
	g_free(dns);
}

/* ----------------------------------------------------------------- queries */

static void
query_unref(PcDnsQuery *query)
{
	if (!g_atomic_ref_count_dec(&query->refs))
		return;
	g_clear_pointer(&query->answer, ub_resolve_free);
	g_clear_pointer(&query->finished, pc_dns_result_free);
	g_mutex_clear(&query->lock);
	g_cond_clear(&query->answered_cond);
	g_free(query->name);
	g_free(query->cache_key);
	g_free(query);
}

/* libunbound's callback, on the answer thread (inside ub_process) */
static void
query_answered(void *data, int err, struct ub_result *answer)
{
	PcDnsQuery *query = data;

	g_mutex_lock(&query->lock);
	query->answered = TRUE;
	query->answer_err = err;
	query->answer = answer;
	g_cond_signal(&query->answered_cond);
	g_mutex_unlock(&query->lock);
	query_unref(query);
}

static PcDnsResult *
result_new(const PcDnsQuery *query, PcDnsStatus status, const char *reason)
{
	PcDnsResult *result = g_new0(PcDnsResult, 1);

	result->status = status;
	result->name = g_strdup(query->name);
	result->rrtype = query->rrtype;
	result->rcode = -1;
	result->reason = reason;
	result->records = g_array_new(FALSE, TRUE, sizeof(PcDnsRecord));
	g_array_set_clear_func(result->records, (GDestroyNotify)pc_dns_record_clear);
	return result;
}

/* the records of an answer with data; FALSE when one does not parse */
static gboolean
result_add_records(PcDnsResult *result, const struct ub_result *answer)
{
	gsize total = 0;
	gsize offset = 0;

	for (gsize i = 0; answer->data[i] != NULL; i++)
		total += (gsize)answer->len[i];
	/* the rdata outlives the ub_result: one block for all of it */
	result->rdata_block = g_malloc(MAX(total, 1));
	for (gsize i = 0; answer->data[i] != NULL; i++) {
		gsize len = (gsize)answer->len[i];
		PcDnsRecord record;

		memcpy(result->rdata_block + offset, answer->data[i], len);
		if (!pc_dns_record_parse(result->rrtype, result->rdata_block + offset, len,
					 &record))
			return FALSE;
		g_array_append_val(result->records, record);
		offset += len;
	}
	return TRUE;
}

static const char *
result_reason(PcDnsStatus status, int rcode, gboolean bogus)
{
	switch (status) {
	case PC_DNS_OK:
		return NULL;
	case PC_DNS_NODATA:
		return "no record of that type";
	case PC_DNS_NXDOMAIN:
		return "no such name";
	default:
		return bogus ? "dnssec validation failed" : pc_dns_rcode_to_string(rcode);
	}
}

static void cache_store(PcDns *dns, const PcDnsQuery *query, const PcDnsResult *result);

/* turns what libunbound delivered into a result; takes answer */
static PcDnsResult *
result_from_answer(const PcDnsQuery *query, int err, struct ub_result *answer)
{
	PcDnsResult *result;
	PcDnsStatus status;

	if (err != 0 || answer == NULL) {
		g_clear_pointer(&answer, ub_resolve_free);
		return result_new(query, PC_DNS_RESOLVER_ERROR, ub_strerror(err));
	}
	status = pc_dns_status_from_answer(answer->rcode, answer->havedata, answer->bogus);
	result = result_new(query, status, result_reason(status, answer->rcode, answer->bogus));
	result->rcode = answer->rcode;
	result->secure = answer->secure != 0;
	result->bogus = answer->bogus != 0;
	result->ttl = answer->ttl > 0 ? (guint32)answer->ttl : 0;
	result->why_bogus = g_strdup(answer->why_bogus);
	/* libunbound sets it only when the answer's owner is not the name asked */
	if (answer->canonname != NULL && answer->canonname != answer->qname) {
		/* written with the trailing dot; record names have none */
		result->canonical_name = g_strdup(answer->canonname);
		if (strlen(result->canonical_name) > 1 &&
		    g_str_has_suffix(result->canonical_name, "."))
			result->canonical_name[strlen(result->canonical_name) - 1] = '\0';
	}
	if (answer->answer_packet != NULL && answer->answer_len > 0) {
		/* the packet is libunbound's malloc()ed buffer: taken over, not copied */
		result->packet = g_bytes_new_with_free_func(
		    answer->answer_packet, (gsize)answer->answer_len, free, answer->answer_packet);
		answer->answer_packet = NULL;
	}
	if (status == PC_DNS_OK && !result_add_records(result, answer)) {
		g_array_set_size(result->records, 0);
		result->status = PC_DNS_SERVFAIL;
		result->reason = "malformed record data";
	}
	ub_resolve_free(answer);
	cache_store(query->dns, query, result);
	return result;
}

/* ------------------------------------------------------------ answer cache */

/* a copy of @source for a caller that asked @name: its own records, elapsed 0 */
static PcDnsResult *
result_copy(const PcDnsResult *source, const char *name)
{
	PcDnsResult *copy = g_new0(PcDnsResult, 1);
	gsize total = 0;
	gsize offset = 0;

	copy->status = source->status;
	copy->name = g_strdup(name);
	copy->rrtype = source->rrtype;
	copy->rcode = source->rcode;
	copy->secure = source->secure;
	copy->bogus = source->bogus;
	copy->ttl = source->ttl;
	copy->canonical_name = g_strdup(source->canonical_name);
	copy->packet = source->packet != NULL ? g_bytes_ref(source->packet) : NULL;
	copy->reason = source->reason;
	copy->why_bogus = g_strdup(source->why_bogus);
	copy->records = g_array_sized_new(FALSE, TRUE, sizeof(PcDnsRecord), source->records->len);
	g_array_set_clear_func(copy->records, (GDestroyNotify)pc_dns_record_clear);
	for (guint i = 0; i < source->records->len; i++)
		total += pc_dns_result_record(source, i)->rdata_len;
	copy->rdata_block = g_malloc(MAX(total, 1));
	for (guint i = 0; i < source->records->len; i++) {
		const PcDnsRecord *record = pc_dns_result_record(source, i);
		PcDnsRecord parsed;

		memcpy(copy->rdata_block + offset, record->rdata, record->rdata_len);
		/* it parsed once: it parses again, into this copy's own block */
		if (!pc_dns_record_parse(copy->rrtype, copy->rdata_block + offset,
					 record->rdata_len, &parsed))
			g_assert_not_reached();
		g_array_append_val(copy->records, parsed);
		offset += record->rdata_len;
	}
	return copy;
}

/* "TYPE/name" of a name in our text form, lower-cased */
static char *
cache_key_new(guint16 rrtype, const char *text)
{
	g_autofree char *lower = g_ascii_strdown(text, -1);

	return g_strdup_printf("%u/%s", rrtype, lower);
}

/* (transfer full) a copy of the cached answer to @query, or NULL */
static PcDnsResult *
cache_lookup(PcDns *dns, const PcDnsQuery *query)
{
	PcDnsResult *copy = NULL;
	DnsCacheEntry *entry;
	gint64 now = g_get_monotonic_time();

	g_mutex_lock(&dns->cache_lock);
	entry = g_hash_table_lookup(dns->cache, query->cache_key);
	if (entry != NULL && entry->expires_us > now) {
		copy = result_copy(entry->result, query->name);
		/* the TTL left, as a resolver's cache gives it */
		copy->ttl = (guint32)((entry->expires_us - now) / G_USEC_PER_SEC);
	} else if (entry != NULL) {
		dns->cache_bytes -= entry->cost;
		g_hash_table_remove(dns->cache, query->cache_key);
	}
	g_mutex_unlock(&dns->cache_lock);
	return copy;
}

static gboolean
cache_entry_expired(gpointer key, gpointer value, gpointer data)
{
	const DnsCacheEntry *entry = value;
	const gint64 *now = data;

	return entry->expires_us <= *now;
}

/* room for @cost more bytes and one more entry; under cache_lock */
static void
cache_make_room(PcDns *dns, gsize cost, gint64 now)
{
	GHashTableIter iter;
	gpointer value;

	if (g_hash_table_size(dns->cache) < DNS_CACHE_MAX_ENTRIES &&
	    dns->cache_bytes + cost <= DNS_CACHE_MAX_BYTES)
		return;
	g_hash_table_foreach_remove(dns->cache, cache_entry_expired, &now);
	dns->cache_bytes = 0;
	g_hash_table_iter_init(&iter, dns->cache);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		dns->cache_bytes += ((DnsCacheEntry *)value)->cost;
	if (g_hash_table_size(dns->cache) < DNS_CACHE_MAX_ENTRIES &&
	    dns->cache_bytes + cost <= DNS_CACHE_MAX_BYTES)
		return;
	g_hash_table_remove_all(dns->cache);
	dns->cache_bytes = 0;
}

/*
 * Keeps a copy of an answer libunbound gave: OK, NODATA and NXDOMAIN with
 * a TTL (never a failure to find out, never a bogus one), for its TTL
 * capped as unbound caps its own.
 */
static void
cache_store(PcDns *dns, const PcDnsQuery *query, const PcDnsResult *result)
{
	DnsCacheEntry *entry;
	gint64 now = g_get_monotonic_time();
	guint32 ttl;
	gsize cost;

	if (query->cache_key == NULL || !pc_dns_status_is_answer(result->status) || result->bogus ||
	    result->ttl == 0)
		return;
	ttl = MIN(result->ttl,
		  result->status == PC_DNS_OK ? DNS_CACHE_MAX_TTL_S : DNS_CACHE_MAX_NEGATIVE_TTL_S);
	cost = sizeof(DnsCacheEntry) + sizeof(PcDnsResult) + strlen(query->cache_key) +
	       (result->packet != NULL ? 2 * g_bytes_get_size(result->packet) : 0) +
	       result->records->len * sizeof(PcDnsRecord);
	if (cost > DNS_CACHE_MAX_BYTES / 16)
		return;
	entry = g_new0(DnsCacheEntry, 1);
	entry->result = result_copy(result, query->name);
	entry->expires_us = now + (gint64)ttl * G_USEC_PER_SEC;
	entry->cost = cost;
	g_mutex_lock(&dns->cache_lock);
	{
		DnsCacheEntry *old = g_hash_table_lookup(dns->cache, query->cache_key);

		if (old != NULL)
			dns->cache_bytes -= old->cost;
	}
	cache_make_room(dns, cost, now);
	g_hash_table_replace(dns->cache, g_strdup(query->cache_key), entry);
	dns->cache_bytes += cost;
	g_mutex_unlock(&dns->cache_lock);
}

static gsize
metric_type_index(guint16 rrtype)
{
	for (gsize t = 0; t < DNS_N_METRIC_TYPES - 1; t++) {
		if (metric_types[t].rrtype == rrtype)
			return t;
	}
	return DNS_N_METRIC_TYPES - 1;
}

/* the query's result goes to its caller: charged, counted, handed over */
static PcDnsResult *
query_take(PcDnsQuery *query, PcDnsResult *result)
{
	PcDns *dns = query->dns;

	if (query->started_us != 0) {
		result->elapsed_us = MAX(g_get_monotonic_time() - query->started_us, 0);
		pc_stats_histogram_observe(dns->latency, (double)result->elapsed_us / 1e6);
		if (query->budget != NULL)
			pc_dns_budget_charge(query->budget, result->elapsed_us);
	}
	pc_stats_counter_inc(dns->counters[metric_type_index(query->rrtype)][result->status]);
	query->taken = TRUE;
	return result;
}

/*
 * stops libunbound from calling back. Returns an answer that was already on
 * its way (the caller may use it), or NULL; *err_out is its error code.
 */
static struct ub_result *
query_cancel(PcDnsQuery *query, int *err_out)
{
	struct ub_result *answer;

	g_assert(query->in_flight);
	query->in_flight = FALSE;
	if (ub_cancel(query->dns->ctx, query->async_id) == UB_NOERROR) {
		/* the callback will not run: its reference is ours to drop (never the last) */
		g_atomic_ref_count_dec(&query->refs);
		return NULL;
	}
	/* UB_NOID: the answer thread has taken it out and is calling back now */
	g_mutex_lock(&query->lock);
	while (!query->answered)
		g_cond_wait(&query->answered_cond, &query->lock);
	answer = g_steal_pointer(&query->answer);
	*err_out = query->answer_err;
	g_mutex_unlock(&query->lock);
	return answer;
}

static PcDnsQuery *
query_new(PcDns *dns, const char *name, guint16 rrtype, PcDnsBudget *budget)
{
	PcDnsQuery *query = g_new0(PcDnsQuery, 1);

	g_atomic_ref_count_init(&query->refs);
	g_mutex_init(&query->lock);
	g_cond_init(&query->answered_cond);
	query->dns = dns;
	query->budget = budget;
	query->name = g_strdup(name);
	query->rrtype = rrtype;
	atomic_fetch_add(&dns->live_queries, 1);
	return query;
}

PcDnsQuery *
pc_dns_query_start(PcDns *dns, const char *name, guint16 rrtype, PcDnsBudget *budget)
{
	guint8 wire[PC_DNS_MAX_WIRE_NAME];
	gsize wire_len = 0;
	g_autofree char *text = NULL;
	PcDnsQuery *query;
	int err;

	g_return_val_if_fail(dns != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);

	query = query_new(dns, name, rrtype, budget);
	if (!pc_dns_name_from_text(name, wire, &wire_len)) {
		query->finished = result_new(query, PC_DNS_BADNAME, "not a domain name");
		return query;
	}
	/* our own escaping, which libunbound's text parser reads back octet for octet */
	text = pc_dns_name_to_text(wire, wire_len, NULL);
	query->cache_key = cache_key_new(rrtype, text);
	/* a cached answer costs no budget, and is given even when the budget is spent */
	query->finished = cache_lookup(dns, query);
	if (query->finished != NULL) {
		pc_stats_counter_inc(dns->cache_hits);
		if (budget != NULL)
			budget->queries++;
		return query;
	}
	if (budget != NULL && pc_dns_budget_is_spent(budget)) {
		query->finished = result_new(query, PC_DNS_BUDGET, "message DNS budget spent");
		return query;
	}
	query->started_us = g_get_monotonic_time();
	query->deadline_us = budget != NULL ? pc_dns_budget_deadline(budget, query->started_us,
								     &query->deadline_by_budget)
					    : query->started_us + dns->timeout_us;
	if (budget != NULL)
		budget->queries++;
	/* the callback's reference, taken before it can run */
	g_atomic_ref_count_inc(&query->refs);
	query->in_flight = TRUE;
	err = ub_resolve_async(dns->ctx, text, rrtype, DNS_CLASS_IN, query, query_answered,
			       &query->async_id);
	if (err != 0) {
		/* not sent: libunbound will not call back */
		query->in_flight = FALSE;
		g_atomic_ref_count_dec(&query->refs);
		query->finished = result_new(query, PC_DNS_RESOLVER_ERROR, ub_strerror(err));
	}
	return query;
}

PcDnsResult *
pc_dns_query_wait(PcDnsQuery *query, gint64 timeout_us)
{
	struct ub_result *answer = NULL;
	gboolean answered;
	gint64 end;
	int err = 0;

	g_return_val_if_fail(query != NULL, NULL);
	g_return_val_if_fail(!query->taken, NULL);

	if (query->finished != NULL)
		return query_take(query, g_steal_pointer(&query->finished));
	end = query->deadline_us;
	if (timeout_us >= 0)
		end = MIN(end, g_get_monotonic_time() + timeout_us);
	g_mutex_lock(&query->lock);
	while (!query->answered && g_cond_wait_until(&query->answered_cond, &query->lock, end))
		;
	answered = query->answered;
	answer = g_steal_pointer(&query->answer);
	err = query->answer_err;
	g_mutex_unlock(&query->lock);
	if (answered) {
		query->in_flight = FALSE;
		return query_take(query, result_from_answer(query, err, answer));
	}
	if (g_get_monotonic_time() < query->deadline_us)
		return NULL;
	/* the deadline: an answer that raced in is still an answer */
	answer = query_cancel(query, &err);
	if (answer != NULL)
		return query_take(query, result_from_answer(query, err, answer));
	if (query->deadline_by_budget)
		return query_take(query, result_new(query, PC_DNS_BUDGET,
						    "message DNS budget spent while waiting"));
	return query_take(query, result_new(query, PC_DNS_TIMEOUT, "no answer in time"));
}

void
pc_dns_query_free(PcDnsQuery *query)
{
	if (query == NULL)
		return;
	if (query->in_flight) {
		int err = 0;

		ub_resolve_free(query_cancel(query, &err));
	}
	/* abandoned before its result: the time it ran still counts */
	if (!query->taken && query->started_us != 0 && query->budget != NULL)
		pc_dns_budget_charge(query->budget, g_get_monotonic_time() - query->started_us);
	atomic_fetch_sub(&query->dns->live_queries, 1);
	query_unref(query);
}

PcDnsResult *
pc_dns_query(PcDns *dns, const char *name, guint16 rrtype, PcDnsBudget *budget)
{
	g_autoptr(PcDnsQuery) query = NULL;
	PcDnsResult *result;

	g_return_val_if_fail(dns != NULL, NULL);
	g_return_val_if_fail(name != NULL, NULL);

	query = pc_dns_query_start(dns, name, rrtype, budget);
	/* -1: the query's own deadline bounds the wait, so this returns a result */
	result = pc_dns_query_wait(query, -1);
	g_assert(result != NULL);
	return result;
}
