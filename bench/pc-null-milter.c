/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-null-milter: a libmilter filter that does nothing, as the baseline for
 * benchmarks and the peer for pc-milter-client's tests.
 *
 * It registers every callback, keeps a small malloc'd per-connection struct
 * with smfi_setpriv and negotiates like an ordinary filter (no SMFIP_NR_*
 * flags), so what it costs is what libmilter itself costs a real filter.
 * Everything continues; end of message accepts. With -m STAGE:LIST it asks
 * the MTA for specific macros at that stage (smfi_setsymlist), which lets
 * the client tests check how each MTA profile honours such requests.
 *
 * Not part of Portcullis proper: it is neither installed nor built on
 * common/.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

/* what a real filter would keep per connection, at its minimum */
typedef struct {
	guint64 messages;
	guint64 recipients;
} NullConnection;

/*
 * Requested symbol lists by SMFIM_* stage, from -m. libmilter callbacks get
 * no user pointer, so this is written once in main() before smfi_main() and
 * only read afterwards, from the connection threads.
 */
static char *requested_lists[SMFIM_LAST + 1];

static NullConnection *
null_connection(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long protocol, unsigned long f2,
	       unsigned long f3, unsigned long *actions_out, unsigned long *protocol_out,
	       unsigned long *f2_out, unsigned long *f3_out)
{
	for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
		if (requested_lists[stage] != NULL &&
		    smfi_setsymlist(ctx, stage, requested_lists[stage]) != MI_SUCCESS)
			return SMFIS_REJECT;
	}
	/* leave the protocol flags to libmilter, as a filter without -m gets them */
	return SMFIS_ALL_OPTS;
}

static sfsistat
null_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *address)
{
	NullConnection *conn = null_connection(ctx);

	/* libmilter closes before any second CONNECT; never leak one if it did not */
	if (conn == NULL) {
		conn = g_new0(NullConnection, 1);
		smfi_setpriv(ctx, conn);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
null_helo(SMFICTX *ctx, char *helo)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	NullConnection *conn = null_connection(ctx);

	if (conn != NULL)
		conn->messages++;
	return SMFIS_CONTINUE;
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	NullConnection *conn = null_connection(ctx);

	if (conn != NULL)
		conn->recipients++;
	return SMFIS_CONTINUE;
}

static sfsistat
null_data(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	return SMFIS_ACCEPT;
}

static sfsistat
null_abort(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	/* may run without a connect callback before it (libmilter docs) */
	g_free(null_connection(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static gboolean
stage_parse(const char *name, int *stage_out)
{
	static const struct {
		const char *name;
		int stage;
	} stages[] = {
	    {"connect", SMFIM_CONNECT}, {"helo", SMFIM_HELO},	    {"envfrom", SMFIM_ENVFROM},
	    {"mail", SMFIM_ENVFROM},	{"envrcpt", SMFIM_ENVRCPT}, {"rcpt", SMFIM_ENVRCPT},
	    {"data", SMFIM_DATA},	{"eoh", SMFIM_EOH},	    {"eom", SMFIM_EOM},
	};

	for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
		if (strcmp(name, stages[i].name) == 0) {
			*stage_out = stages[i].stage;
			return TRUE;
		}
	}
	return FALSE;
}

/* "-m eom:{daemon_name} i" */
static gboolean
requests_parse(char **requests, GError **error)
{
	for (guint i = 0; requests != NULL && requests[i] != NULL; i++) {
		const char *colon = strchr(requests[i], ':');
		g_autofree char *stage_name = NULL;
		int stage;

		if (colon == NULL) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "-m %s: want STAGE:LIST", requests[i]);
			return FALSE;
		}
		stage_name = g_strndup(requests[i], (gsize)(colon - requests[i]));
		if (!stage_parse(stage_name, &stage)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "-m: unknown stage \"%s\" (connect, helo, envfrom, envrcpt, "
				    "data, eoh, eom)",
				    stage_name);
			return FALSE;
		}
		g_free(requested_lists[stage]);
		requested_lists[stage] = g_strdup(colon + 1);
	}
	return TRUE;
}

static gboolean
have_requests(void)
{
	for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
		if (requested_lists[stage] != NULL)
			return TRUE;
	}
	return FALSE;
}

int
main(int argc, char **argv)
{
	g_autofree char *socket_spec = NULL;
	g_auto(GStrv) requests = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	const GOptionEntry entries[] = {
	    {"socket", 'p', 0, G_OPTION_ARG_STRING, &socket_spec,
	     "Listen on SOCKET (unix:PATH, inet:PORT@HOST, ...)", "SOCKET"},
	    {"macros", 'm', 0, G_OPTION_ARG_STRING_ARRAY, &requests,
	     "Ask for these macros at STAGE (repeatable)", "STAGE:LIST"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	struct smfiDesc desc = {
	    .xxfi_name = (char *)"pc-null-milter",
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = 0,
	    .xxfi_connect = null_connect,
	    .xxfi_helo = null_helo,
	    .xxfi_envfrom = null_envfrom,
	    .xxfi_envrcpt = null_envrcpt,
	    .xxfi_header = null_header,
	    .xxfi_eoh = null_eoh,
	    .xxfi_body = null_body,
	    .xxfi_eom = null_eom,
	    .xxfi_abort = null_abort,
	    .xxfi_close = null_close,
	    .xxfi_data = null_data,
	};

	g_option_context_set_summary(context, "A libmilter filter that accepts everything.");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) ||
	    !requests_parse(requests, &error)) {
		fprintf(stderr, "pc-null-milter: %s\n", error->message);
		return 2;
	}
	if (socket_spec == NULL) {
		fprintf(stderr, "pc-null-milter: -p SOCKET is required\n");
		return 2;
	}
	/* without -m, no xxfi_negotiate at all: the plainest possible filter */
	if (have_requests()) {
		desc.xxfi_flags |= SMFIF_SETSYMLIST;
		desc.xxfi_negotiate = null_negotiate;
	}
	if (smfi_setconn(socket_spec) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "pc-null-milter: cannot register on %s\n", socket_spec);
		return 1;
	}
	/* TRUE: remove a stale unix socket left by an earlier run */
	if (smfi_opensocket(TRUE) != MI_SUCCESS) {
		fprintf(stderr, "pc-null-milter: cannot open %s\n", socket_spec);
		return 1;
	}
	/* libmilter's signal thread turns SIGTERM/SIGINT/SIGHUP into a clean stop */
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
