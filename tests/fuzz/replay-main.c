/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A stand-in for libFuzzer's main: runs LLVMFuzzerTestOneInput once on each
 * file in the directories (or on the files) named on the command line. It
 * lets every fuzz target build and replay its seed corpus as an ordinary
 * unit test with gcc, so targets and corpora cannot rot between fuzzing runs.
 */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* one input, in a heap block of exactly its size so ASan sees any over-read */
static gboolean
replay_file(const char *path)
{
	g_autofree char *contents = NULL;
	g_autofree guint8 *exact = NULL;
	g_autoptr(GError) error = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &contents, &len, &error)) {
		fprintf(stderr, "replay: %s\n", error->message);
		return FALSE;
	}
	exact = g_memdup2(contents, len);
	LLVMFuzzerTestOneInput(exact, len);
	return TRUE;
}

static gint
replay_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

/* directory entries sorted, so a failure reproduces in the same order */
static gboolean
replay_dir(const char *dir_path, guint *count)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	const char *name;

	dir = g_dir_open(dir_path, 0, &error);
	if (dir == NULL) {
		fprintf(stderr, "replay: %s\n", error->message);
		return FALSE;
	}
	while ((name = g_dir_read_name(dir)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, replay_compare_names);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir_path, names->pdata[i], NULL);

		if (!replay_file(path))
			return FALSE;
		(*count)++;
	}
	return TRUE;
}

int
main(int argc, char **argv)
{
	guint count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		gboolean ok;

		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
			ok = replay_dir(argv[i], &count);
		} else {
			ok = replay_file(argv[i]);
			count++;
		}
		if (!ok)
			return 1;
	}
	/* an empty corpus would make this test pass while testing nothing */
	if (count == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	printf("replayed %u inputs\n", count);
	return 0;
}
