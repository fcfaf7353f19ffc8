/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-macro-recorder: a libmilter filter for tests/e2e that writes down which
 * macros a real MTA sends it at each stage. It requests with smfi_setsymlist
 * exactly the lists read from -m FILE (what `portcullis-NAME -M` prints: one
 * line "STAGE NAME..." per stage; several lines for one stage are merged),
 * so attached next to the daemons it shows whether the MTA, configured with
 * the shipped snippets, delivers what they ask for where they ask for it.
 *
 * Each session is appended to -o FILE at close, in one write(2), one line
 * per macro the MTA defined: "SESSION STAGE NAME=VALUE", where SESSION is
 * the first MAIL FROM argument of the connection ("-" before any), and
 * "SESSION rcpt-arg ARGUMENT" for each RCPT TO argument as the MTA passes it
 * on (what its own parser made of the client's text). It never refuses
 * anything.
 *
 * Not for: anything but the tests; it is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

static const char *const stage_names[SMFIM_LAST + 1] = {
    [SMFIM_CONNECT] = "connect", [SMFIM_HELO] = "helo", [SMFIM_ENVFROM] = "mail",
    [SMFIM_ENVRCPT] = "rcpt",	 [SMFIM_DATA] = "data", [SMFIM_EOH] = "eoh",
    [SMFIM_EOM] = "eom",
};

/* written once in main() before smfi_main() starts any thread */
static char **stage_macros[SMFIM_LAST + 1];
static char *stage_lists[SMFIM_LAST + 1];
static int output_fd = -1;

/* per connection, owned through smfi_setpriv */
typedef struct {
	char *session;	/* first MAIL FROM argument, or NULL */
	GString *lines; /* "STAGE NAME=VALUE\n" in the order seen */
} Recording;

static void
recording_free(Recording *recording)
{
	if (recording == NULL)
		return;
	g_free(recording->session);
	g_string_free(recording->lines, TRUE);
	g_free(recording);
}

static Recording *
get_recording(SMFICTX *ctx)
{
	Recording *recording = smfi_getpriv(ctx);

	if (recording == NULL) {
		recording = g_new0(Recording, 1);
		recording->lines = g_string_new(NULL);
		smfi_setpriv(ctx, recording);
	}
	return recording;
}

static sfsistat
record_stage(SMFICTX *ctx, int stage)
{
	Recording *recording = get_recording(ctx);

	for (char **name = stage_macros[stage]; name != NULL && *name != NULL; name++) {
		const char *value = smfi_getsymval(ctx, *name);

		/* values are the MTA's: keep them on one line */
		if (value != NULL) {
			g_autofree char *flat = g_strdup(value);

			g_strdelimit(flat, "\r\n", ' ');
			g_string_append_printf(recording->lines, "%s %s=%s\n", stage_names[stage],
					       *name, flat);
		}
	}
	return SMFIS_CONTINUE;
}

static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	if ((f0 & SMFIF_SETSYMLIST) == 0)
		return SMFIS_REJECT; /* without it the recording would prove nothing */
	*pf0 = SMFIF_SETSYMLIST;
	*pf1 = (SMFIP_NOHDRS | SMFIP_NOBODY | SMFIP_NOUNKNOWN) & f1;
	*pf2 = 0;
	*pf3 = 0;
	for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
		if (stage_lists[stage] != NULL &&
		    smfi_setsymlist(ctx, stage, stage_lists[stage]) != MI_SUCCESS)
			fprintf(stderr, "pc-macro-recorder: smfi_setsymlist(%s) failed\n",
				stage_names[stage]);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *address)
{
	return record_stage(ctx, SMFIM_CONNECT);
}

static sfsistat
on_helo(SMFICTX *ctx, char *helo)
{
	return record_stage(ctx, SMFIM_HELO);
}

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	Recording *recording = get_recording(ctx);

	if (recording->session == NULL && argv != NULL && argv[0] != NULL)
		recording->session = g_strdup(argv[0]);
	return record_stage(ctx, SMFIM_ENVFROM);
}

static sfsistat
on_envrcpt(SMFICTX *ctx, char **argv)
{
	Recording *recording = get_recording(ctx);

	/* the argument as the MTA hands it on, after its own parsing */
	if (argv != NULL && argv[0] != NULL) {
		g_autofree char *flat = g_strdup(argv[0]);

		g_strdelimit(flat, "\r\n", ' ');
		g_string_append_printf(recording->lines, "rcpt-arg %s\n", flat);
	}
	return record_stage(ctx, SMFIM_ENVRCPT);
}

static sfsistat
on_data(SMFICTX *ctx)
{
	return record_stage(ctx, SMFIM_DATA);
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	return record_stage(ctx, SMFIM_EOH);
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	return record_stage(ctx, SMFIM_EOM);
}

/* one write(2) per session: O_APPEND keeps concurrent sessions apart */
static sfsistat
on_close(SMFICTX *ctx)
{
	Recording *recording = smfi_getpriv(ctx);
	g_autoptr(GString) out = g_string_new(NULL);
	g_auto(GStrv) lines = NULL;

	if (recording == NULL)
		return SMFIS_CONTINUE;
	smfi_setpriv(ctx, NULL);
	lines = g_strsplit(recording->lines->str, "\n", -1);
	for (char **line = lines; *line != NULL; line++) {
		if (**line != '\0')
			g_string_append_printf(
			    out, "%s %s\n", recording->session != NULL ? recording->session : "-",
			    *line);
	}
	if (out->len > 0 && write(output_fd, out->str, out->len) != (ssize_t)out->len)
		fprintf(stderr, "pc-macro-recorder: write: %s\n", g_strerror(errno));
	recording_free(recording);
	return SMFIS_CONTINUE;
}

static int
stage_from_name(const char *name)
{
	for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
		if (g_strcmp0(stage_names[stage], name) == 0)
			return stage;
	}
	return -1;
}

/* reads "STAGE NAME..." lines; several lines for one stage are merged */
static gboolean
load_macro_lists(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GString *merged[SMFIM_LAST + 1] = {NULL};

	if (!g_file_get_contents(path, &text, NULL, error))
		return FALSE;
	lines = g_strsplit(text, "\n", -1);
	for (char **line = lines; *line != NULL; line++) {
		g_auto(GStrv) words = g_strsplit_set(g_strstrip(*line), " \t", -1);
		int stage;

		if (words[0] == NULL || words[0][0] == '\0' || words[0][0] == '#')
			continue;
		stage = stage_from_name(words[0]);
		if (stage < 0) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s: unknown stage '%s'", path, words[0]);
			for (int i = 0; i <= SMFIM_LAST; i++) {
				if (merged[i] != NULL)
					g_string_free(merged[i], TRUE);
			}
			return FALSE;
		}
		if (merged[stage] == NULL)
			merged[stage] = g_string_new(NULL);
		for (char **word = words + 1; *word != NULL; word++) {
			if (**word != '\0')
				g_string_append_printf(merged[stage], "%s%s",
						       merged[stage]->len > 0 ? " " : "", *word);
		}
	}
	for (int stage = SMFIM_FIRST; stage <= SMFIM_LAST; stage++) {
		if (merged[stage] == NULL)
			continue;
		stage_lists[stage] = g_string_free(merged[stage], FALSE);
		stage_macros[stage] = g_strsplit(stage_lists[stage], " ", -1);
	}
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_autofree char *socket_spec = NULL;
	g_autofree char *macros_path = NULL;
	g_autofree char *output_path = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	GOptionEntry entries[] = {
	    {"socket", 'p', 0, G_OPTION_ARG_STRING, &socket_spec, "Milter socket", "SOCKET"},
	    {"macros", 'm', 0, G_OPTION_ARG_FILENAME, &macros_path,
	     "Macro lists to request, one 'STAGE NAME...' line per stage", "FILE"},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output_path,
	     "Append the recorded sessions to FILE", "FILE"},
	    G_OPTION_ENTRY_NULL,
	};
	struct smfiDesc desc = {
	    .xxfi_name = (char *)"pc-macro-recorder",
	    .xxfi_version = SMFI_VERSION,
	    .xxfi_flags = SMFIF_NONE,
	    .xxfi_connect = on_connect,
	    .xxfi_helo = on_helo,
	    .xxfi_envfrom = on_envfrom,
	    .xxfi_envrcpt = on_envrcpt,
	    .xxfi_data = on_data,
	    .xxfi_eoh = on_eoh,
	    .xxfi_eom = on_eom,
	    .xxfi_close = on_close,
	    .xxfi_negotiate = on_negotiate,
	};

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error) || socket_spec == NULL ||
	    macros_path == NULL || output_path == NULL) {
		fprintf(stderr, "usage: pc-macro-recorder -p SOCKET -m MACROS -o OUTPUT%s%s\n",
			error != NULL ? ": " : "", error != NULL ? error->message : "");
		return 2;
	}
	if (!load_macro_lists(macros_path, &error)) {
		fprintf(stderr, "pc-macro-recorder: %s\n", error->message);
		return 1;
	}
	output_fd = open(output_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (output_fd < 0) {
		fprintf(stderr, "pc-macro-recorder: %s: %s\n", output_path, g_strerror(errno));
		return 1;
	}
	/* the MTA's smtpd runs as its own user: let it connect */
	umask(0);
	if (smfi_setconn(socket_spec) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(TRUE) != MI_SUCCESS) {
		fprintf(stderr, "pc-macro-recorder: cannot listen on %s\n", socket_spec);
		return 1;
	}
	fprintf(stderr, "pc-macro-recorder: listening on %s\n", socket_spec);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
