/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-load: the load mode of pc-milter-client.
 *
 * Replays a scenario's first transaction (its steps from "mail" to "eom")
 * over several milter connections at once, one thread each. Every
 * connection plays the steps before "mail" once (OPTNEG, connect, helo...),
 * then MAIL..EOM followed by ABORT per message, as Postfix does between the
 * transactions of one SMTP session. Reports throughput, latency
 * percentiles, outcomes and CPU time per message; expect steps are ignored.
 */
#pragma once

#include <glib.h>

#include "mc-scenario.h"

G_BEGIN_DECLS

typedef struct {
	const char *socket_spec;
	guint timeout_ms;
	gboolean trace;
	char *const *defines; /* -D NAME=VALUE, may be NULL */
	guint64 count;	      /* measured messages in total; 0: only the time bounds */
	guint connections;
	double seconds;	  /* bound on the measured phase */
	guint warmup;	  /* unmeasured messages per connection */
	const char *pids; /* "PID[,PID]" whose CPU time to report, or NULL */
	gboolean json;
} McLoadOptions;

/*
 * mc_load_run:
 * Runs the load and prints the summary on stdout (plus one JSON line with
 * options->json). Returns the exit status: 0, 1 when a message ended in an
 * I/O or protocol error, 2 when the scenario or the options are unusable.
 */
int mc_load_run(const McLoadOptions *options, const McScenario *scenario);

G_END_DECLS
