/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-stats: counters, gauges and histograms, served in the Prometheus text
 * exposition format (version 0.0.4) on an optional HTTP listener
 * (libmicrohttpd, GET /metrics only).
 *
 * Metrics are registered at start-up, before any connection thread runs, and
 * never unregistered; values are C11 atomics, so updates from connection
 * threads take no lock. Labels are fixed at registration and are never
 * per-user, per-IP or per-address (cardinality stays bounded).
 *
 * Thread-safety: registration is not thread-safe (start-up only); updates,
 * rendering and the HTTP server are.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PC_STATS_ERROR (pc_stats_error_quark())
typedef enum {
	PC_STATS_ERROR_LISTEN, /* bad "HOST:PORT" or the port could not be bound */
} PcStatsError;
GQuark pc_stats_error_quark(void);

typedef struct _PcStatsCounter PcStatsCounter;
typedef struct _PcStatsGauge PcStatsGauge;
typedef struct _PcStatsHistogram PcStatsHistogram;

/*
 * a gauge whose value is computed at scrape time; it runs on the HTTP
 * listener's thread, so it must be thread-safe
 */
typedef double (*PcStatsGaugeFunc)(gpointer user_data);

/*
 * pc_stats_counter_register:
 * @name: "portcullis_relay_denied_total" (must match [a-zA-Z_:][a-zA-Z0-9_:]*)
 * @help: one line for # HELP
 * @labels: NULL, or label pairs already in exposition form: "reason=\"percent\""
 * Registering the same name twice with other labels adds a series to the same
 * family (one # HELP/# TYPE block); registering the same name and labels again
 * returns the existing series (the first help text stays). Registering a name
 * already used by another metric type, an invalid name or malformed labels is
 * a programming error: g_critical and NULL. Returns: (transfer none) valid for
 * the life of the process (until pc_stats_reset_for_tests).
 */
PcStatsCounter *pc_stats_counter_register(const char *name, const char *help, const char *labels);
void pc_stats_counter_add(PcStatsCounter *counter, guint64 delta);
#define pc_stats_counter_inc(c) pc_stats_counter_add((c), 1)
guint64 pc_stats_counter_get(const PcStatsCounter *counter);

PcStatsGauge *pc_stats_gauge_register(const char *name, const char *help, const char *labels);
void pc_stats_gauge_set(PcStatsGauge *gauge, gint64 value);
void pc_stats_gauge_add(PcStatsGauge *gauge, gint64 delta);
gint64 pc_stats_gauge_get(const PcStatsGauge *gauge);
/* registering the same name and labels again replaces func and user_data */
void pc_stats_gauge_register_func(const char *name, const char *help, const char *labels,
				  PcStatsGaugeFunc func, gpointer user_data);

/*
 * pc_stats_histogram_register:
 * @bounds: strictly ascending finite upper bounds (the +Inf bucket is
 *   implicit), copied; an observation equal to a bound counts in its bucket
 * Observations are in the unit the name says (seconds for *_seconds).
 * Registering the same name again returns the existing histogram (the bounds
 * must be the same).
 */
PcStatsHistogram *pc_stats_histogram_register(const char *name, const char *help,
					      const double *bounds, gsize n_bounds);
void pc_stats_histogram_observe(PcStatsHistogram *histogram, double value);

/* pc_stats_render: (transfer full) the whole registry in exposition format */
char *pc_stats_render(void);

/*
 * pc_stats_serve:
 * @listen: "127.0.0.1:9750", "[::1]:9750" or ":9750" (all addresses)
 * Starts the HTTP listener on a few threads of its own. Returns FALSE with
 * error when the spec is bad or the port cannot be bound (and logs
 * libmicrohttpd's reason as a warning). Call it after every metric is
 * registered (scrapes read the registry without a lock), and at most once
 * before pc_stats_stop. Idle and slow clients cannot starve a scraper: up to
 * 256 connections (128 per client address), each dropped after 3 s without
 * a byte and limited to 16 KiB of request; complaints about single clients
 * are logged at info level only.
 */
gboolean pc_stats_serve(const char *listen, GError **error);

/* pc_stats_stop: stops the listener, waiting for a scrape in progress; no-op when not serving */
void pc_stats_stop(void);

/*
 * pc_stats_bound_port:
 * The port the listener is bound to (the kernel's pick for ":0", so tests
 * can serve on an ephemeral port), or 0 when not serving.
 */
guint16 pc_stats_bound_port(void);

/* tests only: forget every metric (not thread-safe) */
void pc_stats_reset_for_tests(void);

G_END_DECLS
