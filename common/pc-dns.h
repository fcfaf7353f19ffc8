/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-dns: the one DNS resolver of a process, on libunbound. SPF, DKIM and
 * DMARC resolve through it, never through libc's resolver.
 *
 * One PcDns per process holds one libunbound context: one cache shared by
 * every thread, one background resolver thread (libunbound's), and one
 * thread of ours that hands answers back to the threads waiting for them.
 * A lookup is asynchronous underneath, so that it can end at a deadline of
 * our own: libunbound has no per-query timeout (docs/DESIGN.md, "DNS layer").
 * In front of it, an answer cache of ours: an answer (OK, NODATA, NXDOMAIN)
 * with a TTL is given again for that TTL without the round trip through
 * libunbound's threads; failures to find out are always asked again.
 *
 * Two ways to ask, the same machinery:
 *  - pc_dns_query(): ask and wait for the result (SPF's DNS layer, DMARC);
 *  - pc_dns_query_start() / pc_dns_query_wait() / pc_dns_query_free(): the
 *    form libopendkim's dkim_dns_set_query_start/_waitreply/_cancel
 *    callbacks map onto (start, wait with a timeout that may end before the
 *    answer, cancel and release).
 *
 * Every result says which of NOERROR with data, NODATA, NXDOMAIN, SERVFAIL
 * (or another error rcode, or a DNSSEC failure), timeout or a spent budget
 * it was, carries the answer packet as received and the records of the type
 * asked for parsed (A and AAAA addresses, MX preference and exchange, PTR
 * and CNAME names, TXT character-strings joined per record), and the DNSSEC
 * secure and bogus bits.
 *
 * A PcDnsBudget bounds what one message may spend waiting on DNS in all
 * ([global] dns_message_budget), so that a slow zone cannot turn into a
 * milter timeout; each query also ends at [global] dns_timeout.
 *
 * Not here: SPF or DKIM semantics (lookup limits, what a void answer means),
 * which belong to their adapters; name syntax rules beyond DNS's own.
 *
 * Thread-safety: a PcDns is thread-safe (any number of threads may query
 * it at once). A PcDnsQuery and a PcDnsBudget belong to the thread that
 * uses them (one message's), and a PcDnsResult is a plain owned value.
 */
#pragma once

#include <glib.h>

#include "pc-config.h"
#include "pc-net.h"

G_BEGIN_DECLS

#define PC_DNS_ERROR (pc_dns_error_quark())
typedef enum {
	PC_DNS_ERROR_CONFIG,	   /* a setting libunbound refuses, or resolv.conf unreadable */
	PC_DNS_ERROR_TRUST_ANCHOR, /* dnssec: the trust anchor file cannot be read or used */
	PC_DNS_ERROR_START,	   /* libunbound or our answer thread could not start */
} PcDnsError;
GQuark pc_dns_error_quark(void);

/* resource record types the parser knows, as on the wire (host order) */
#define PC_DNS_TYPE_A 1
#define PC_DNS_TYPE_NS 2
#define PC_DNS_TYPE_CNAME 5
#define PC_DNS_TYPE_SOA 6
#define PC_DNS_TYPE_PTR 12
#define PC_DNS_TYPE_MX 15
#define PC_DNS_TYPE_TXT 16
#define PC_DNS_TYPE_AAAA 28

/* Debian's dns-root-data: the root zone's trust anchor */
#define PC_DNS_DEFAULT_TRUST_ANCHOR "/usr/share/dns/root.key"
#define PC_DNS_DEFAULT_TIMEOUT_US (5 * G_USEC_PER_SEC)

/* what a query came to */
typedef enum {
	PC_DNS_OK,	 /* NOERROR with records of the type asked for */
	PC_DNS_NODATA,	 /* NOERROR, the name exists, no record of that type */
	PC_DNS_NXDOMAIN, /* RCODE 3: the name does not exist */
	/*
	 * RCODE 2, or any rcode other than 0 and 3 (REFUSED, FORMERR, ...), or
	 * an answer that failed DNSSEC validation (bogus is set), or one whose
	 * records do not parse
	 */
	PC_DNS_SERVFAIL,
	PC_DNS_TIMEOUT, /* no answer within dns_timeout */
	/*
	 * the message's DNS budget was spent: not asked at all, or cut short
	 * when the budget ran out before dns_timeout did
	 */
	PC_DNS_BUDGET,
	PC_DNS_BADNAME,	       /* the name cannot be asked (empty label, too long): not sent */
	PC_DNS_RESOLVER_ERROR, /* the resolver itself failed (out of memory, its thread gone) */
} PcDnsStatus;
#define PC_DNS_N_STATUS (PC_DNS_RESOLVER_ERROR + 1)

/* "ok", "nodata", "nxdomain", "servfail", "timeout", "budget", "badname", "error" */
const char *pc_dns_status_to_string(PcDnsStatus status);

/*
 * pc_dns_status_is_answer:
 * TRUE for OK, NODATA and NXDOMAIN: the DNS said something about the name.
 * Every other status is a failure to find out (a caller's temperror),
 * except BADNAME, which is about the question.
 */
gboolean pc_dns_status_is_answer(PcDnsStatus status);

/*
 * pc_dns_status_from_answer:
 * The status of an answer libunbound delivered: rcode as received,
 * have_data when it holds records of the type asked for, bogus when
 * DNSSEC validation failed (never trusted, whatever the rcode). Pure.
 */
PcDnsStatus pc_dns_status_from_answer(int rcode, gboolean have_data, gboolean bogus);

/* one record of the type asked for */
typedef struct {
	guint16 rrtype;
	const guint8 *rdata; /* as received; borrowed from the result */
	gsize rdata_len;
	PcNetAddress address; /* A and AAAA (IPv4 in mapped form, as pc-net holds it) */
	guint16 preference;   /* MX */
	/*
	 * MX exchange, PTR, CNAME and NS target: presentation form, no trailing
	 * dot ("." for the root, as in a null MX), '.', '\\' and bytes outside
	 * printable ASCII escaped as \DDD; NULL for other types
	 */
	char *name;
	/*
	 * TXT: the record's character-strings concatenated with nothing in
	 * between (RFC 7208 3.3, RFC 6376 3.6.2.2), NUL-terminated; text_len
	 * counts the bytes, which may include NULs. NULL for other types.
	 */
	char *text;
	gsize text_len;
} PcDnsRecord;

typedef struct {
	PcDnsStatus status;
	char *name;	 /* as asked */
	guint16 rrtype;	 /* as asked */
	int rcode;	 /* as received; -1 when nothing was (timeout, budget, badname, error) */
	gboolean secure; /* DNSSEC-validated (also a proven NODATA or NXDOMAIN) */
	gboolean bogus;	 /* DNSSEC validation failed; status is then SERVFAIL */
	guint32 ttl;	 /* of the answer, in seconds; 0 without one */
	/* the name after CNAMEs, when there were any (no trailing dot); else NULL */
	char *canonical_name;
	/* the answer packet as libunbound received it, or NULL without one */
	GBytes *packet;
	/* PcDnsRecord in answer order: only with PC_DNS_OK, else empty; never NULL */
	GArray *records;
	/* why it is not OK, for logs: a static string ("REFUSED", "dnssec validation failed") */
	const char *reason;
	char *why_bogus;     /* libunbound's account of a DNSSEC failure, or NULL */
	gint64 elapsed_us;   /* from start to result; 0 when nothing was sent */
	guint8 *rdata_block; /* private: holds every record's rdata */
} PcDnsResult;

void pc_dns_result_free(PcDnsResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcDnsResult, pc_dns_result_free)

/* (transfer none) the index-th record, index < result->records->len */
#define pc_dns_result_record(result, index)                                                        \
	(&g_array_index((result)->records, PcDnsRecord, (index)))

/*
 * PcDnsBudget: the DNS wait one message may still spend, carried by the
 * caller from MAIL to EOM (one per message, in the message's state).
 *
 * Each query consumes the time from its start to its result (a hit in
 * libunbound's cache consumes almost nothing; one in our answer cache
 * nothing, and is given even when the budget is spent). A query starts only
 * while some budget is left, and ends at the earlier of dns_timeout and the budget's end; one that
 * the budget cut short is PC_DNS_BUDGET, not PC_DNS_TIMEOUT. Time spent outside DNS (the client
 * sending the body) is not counted.
 *
 * An inline member, with nothing to free. Not thread-safe: it belongs to the
 * message's thread, and must outlive every query started with it.
 */
typedef struct {
	gint64 remaining_us;	 /* DNS wait left; <= 0 when spent */
	gint64 query_timeout_us; /* one query at most */
	guint queries;		 /* queries asked with it: sent, cut short or from the cache */
} PcDnsBudget;

void pc_dns_budget_init(PcDnsBudget *budget, gint64 total_us, gint64 query_timeout_us);
/* from [global] dns_message_budget and dns_timeout of the snapshot the message pinned */
void pc_dns_budget_init_from_config(PcDnsBudget *budget, const PcGlobalConfig *global);

/*
 * pc_dns_budget_deadline:
 * The deadline (same clock as now_us) of a query starting at now_us: the
 * earlier of now_us + query_timeout_us and now_us + remaining_us. Sets
 * *by_budget_out (may be NULL) when the budget's end comes first. Pure.
 */
gint64 pc_dns_budget_deadline(const PcDnsBudget *budget, gint64 now_us, gboolean *by_budget_out);

/* pc_dns_budget_charge: a query took elapsed_us (negative counts as 0) */
void pc_dns_budget_charge(PcDnsBudget *budget, gint64 elapsed_us);

/* TRUE when no wait is left: a query would not be sent */
gboolean pc_dns_budget_is_spent(const PcDnsBudget *budget);

typedef enum {
	PC_DNS_MODE_SYSTEM,    /* the nameservers of resolv.conf, as forwarders */
	PC_DNS_MODE_RECURSIVE, /* libunbound asks the authoritative servers itself */
	PC_DNS_MODE_FORWARD,   /* the forwarders listed */
} PcDnsMode;

/* how pc_dns_new() sets up the resolver; zero fields take the defaults */
typedef struct {
	PcDnsMode mode;
	/* FORWARD: "ADDRESS" or "ADDRESS@PORT", NULL-terminated, at least one */
	const char *const *forwarders;
	const char *resolv_conf; /* SYSTEM: NULL = /etc/resolv.conf */
	gboolean dnssec;
	const char *trust_anchor_file; /* dnssec: NULL = PC_DNS_DEFAULT_TRUST_ANCHOR */
	gint64 timeout_us;	       /* a query without a budget: 0 = 5 s */
	/*
	 * local zones and their data, answered by the context itself without
	 * asking anyone (unit tests, the demo): "NAME TYPE" in unbound's
	 * local-zone syntax ("example.test. static"), and records in zone-file
	 * syntax ("a.example.test. 300 IN A 192.0.2.1"); NULL-terminated or NULL
	 */
	const char *const *local_zones;
	const char *const *local_data;
} PcDnsOptions;

typedef struct _PcDns PcDns;

/*
 * pc_dns_new:
 * Sets up the libunbound context and starts the answer thread. With dnssec,
 * the trust anchor file is read here, so that a missing or broken file
 * stops the start instead of failing every later query. Registers the
 * metrics portcullis_dns_queries_total{type,result} and
 * portcullis_dns_query_seconds (start-up only: not thread-safe).
 * Returns: (transfer full) a resolver, or NULL with a PC_DNS_ERROR.
 */
PcDns *pc_dns_new(const PcDnsOptions *options, GError **error);

/*
 * pc_dns_new_from_config:
 * pc_dns_new() with [global] dns, dnssec, dns_trust_anchor and dns_timeout.
 * Returns: (transfer full) a resolver, or NULL with a PC_DNS_ERROR whose
 * message names the key.
 */
PcDns *pc_dns_new_from_config(const PcGlobalConfig *global, GError **error);

/*
 * pc_dns_options_from_config:
 * The options pc_dns_new_from_config() uses; the strings are borrowed from
 * global (valid while the caller holds the snapshot). Pure.
 */
void pc_dns_options_from_config(const PcGlobalConfig *global, PcDnsOptions *options_out);

/*
 * pc_dns_free:
 * Stops the answer thread and libunbound's. Every PcDnsQuery must have been
 * freed (a bug otherwise: g_critical, and what they hold is leaked).
 */
void pc_dns_free(PcDns *dns);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcDns, pc_dns_free)

typedef struct _PcDnsQuery PcDnsQuery;

/*
 * pc_dns_query_start:
 * @name: a domain name in text form, with or without the trailing dot; each
 *   byte between dots is one octet of a label (no escapes: a '\\' is a
 *   backslash)
 * @rrtype: PC_DNS_TYPE_TXT, ... (class IN)
 * @budget: (nullable) the message's budget, charged when the query ends;
 *   NULL = only the resolver's own timeout
 * Sends the question without waiting. A name that cannot be asked, a spent
 * budget or a resolver failure gives a query that is already finished
 * (BADNAME, BUDGET, RESOLVER_ERROR). Returns: (transfer full) never NULL; free it
 * with pc_dns_query_free(), also after its result has been taken.
 */
PcDnsQuery *pc_dns_query_start(PcDns *dns, const char *name, guint16 rrtype, PcDnsBudget *budget);

/*
 * pc_dns_query_wait:
 * @timeout_us: longest wait for this call, or -1 for "until the query's own
 *   deadline"; 0 only looks
 * Waits for the answer, never past the query's deadline (dns_timeout or the
 * budget): once that has passed the query ends as TIMEOUT or BUDGET. The
 * budget is charged when the result is returned.
 * Returns: (transfer full) the result, once; NULL when timeout_us ended
 * first and the query is still running (call again, or free it).
 */
PcDnsResult *pc_dns_query_wait(PcDnsQuery *query, gint64 timeout_us);

/*
 * pc_dns_query_free:
 * Cancels the query if it is still running (charging the budget for the
 * time it ran) and releases it. An answer that arrives later is dropped.
 */
void pc_dns_query_free(PcDnsQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcDnsQuery, pc_dns_query_free)

/*
 * pc_dns_query:
 * Start, wait until the result, free: the synchronous form.
 * Returns: (transfer full) the result, never NULL.
 */
PcDnsResult *pc_dns_query(PcDns *dns, const char *name, guint16 rrtype, PcDnsBudget *budget);

G_END_DECLS
