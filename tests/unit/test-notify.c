/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-notify: a datagram reaches a socket named by a path and by
 * an abstract name; the variable is gone from the environment after the
 * first call; without it, or with a name that is no socket address,
 * nothing is sent. pc-notify reads the variable once per process, so each
 * case runs in a subprocess of its own.
 */
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pc-notify.h"

/* a bound datagram socket at name ("@x": abstract); returns its fd */
static int
listen_at(const char *name)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	gsize len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpuint(len, <, sizeof(address.sun_path));
	memcpy(address.sun_path, name, len);
	if (name[0] == '@')
		address.sun_path[0] = '\0';
	g_assert_cmpint(bind(fd, (struct sockaddr *)&address,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
			==, 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	g_assert_cmpstr(buf, ==, want);
}

static void
case_path(void)
{
	g_autofree char *dir = g_dir_make_tmp("pc-notify-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "notify", NULL);
	int fd = listen_at(path);

	g_setenv("NOTIFY_SOCKET", path, TRUE);
	g_assert_true(pc_notify("READY=1\nSTATUS=serving"));
	expect_datagram(fd, "READY=1\nSTATUS=serving");
	/* read once and removed: no child inherits it, later calls still go */
	g_assert_null(g_getenv("NOTIFY_SOCKET"));
	g_assert_true(pc_notify("RELOADING=1"));
	expect_datagram(fd, "RELOADING=1");
	close(fd);
	unlink(path);
	g_rmdir(dir);
}

static void
case_abstract(void)
{
	g_autofree char *name = g_strdup_printf("@pc-notify-test-%d", (int)getpid());
	int fd = listen_at(name);

	g_setenv("NOTIFY_SOCKET", name, TRUE);
	g_assert_true(pc_notify("STOPPING=1"));
	expect_datagram(fd, "STOPPING=1");
	close(fd);
}

static void
case_unset(void)
{
	g_unsetenv("NOTIFY_SOCKET");
	g_assert_false(pc_notify("READY=1"));
}

static void
case_bad_names(void)
{
	/* a relative name is no socket address: nothing is sent */
	g_setenv("NOTIFY_SOCKET", "relative/path", TRUE);
	g_assert_false(pc_notify("READY=1"));
}

static void
case_too_long(void)
{
	g_autofree char *name = g_strnfill(200, 'x');

	name[0] = '/';
	g_setenv("NOTIFY_SOCKET", name, TRUE);
	g_assert_false(pc_notify("READY=1"));
}

static void
case_nobody_listening(void)
{
	g_setenv("NOTIFY_SOCKET", "/nonexistent/pc-notify", TRUE);
	g_assert_false(pc_notify("READY=1"));
}

typedef struct {
	const char *path;
	void (*run)(void);
} NotifyCase;

static const NotifyCase cases[] = {
    {"/notify/path", case_path},	 {"/notify/abstract", case_abstract},
    {"/notify/unset", case_unset},	 {"/notify/relative", case_bad_names},
    {"/notify/too-long", case_too_long}, {"/notify/nobody-listening", case_nobody_listening},
};

static void
test_in_subprocess(gconstpointer data)
{
	const NotifyCase *notify_case = data;

	if (g_test_subprocess()) {
		notify_case->run();
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		g_test_add_data_func(cases[i].path, &cases[i], test_in_subprocess);
	return g_test_run();
}
