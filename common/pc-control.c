/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-control: see pc-control.h.
 */
#include "pc-control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

G_DEFINE_QUARK(pc - control - error - quark, pc_control_error)

static struct {
	int fd;
	int stop_pipe[2];
	char *path;
	PcControlHandler handler;
	void (*reload)(void);
	GThread *thread;
} control = {.fd = -1, .stop_pipe = {-1, -1}};

static gboolean
fill_address(const char *path, struct sockaddr_un *address, GError **error)
{
	memset(address, 0, sizeof(*address));
	address->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(address->sun_path)) {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET,
			    "%s: longer than a unix socket path may be", path);
		return FALSE;
	}
	strcpy(address->sun_path, path);
	return TRUE;
}

/* the client's line, without its newline; NULL when it sent none in time */
static char *
read_line(int fd)
{
	char buf[PC_CONTROL_MAX_LINE + 1];
	gsize len = 0;
	gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

	while (len < sizeof(buf) - 1) {
		struct pollfd pfd = {fd, POLLIN, 0};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		ssize_t n;
		char *newline;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return NULL;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return NULL;
		len += (gsize)n;
		buf[len] = '\0';
		newline = memchr(buf, '\n', len);
		if (newline != NULL) {
			*newline = '\0';
			if (newline > buf && newline[-1] == '\r')
				newline[-1] = '\0';
			return g_strdup(buf);
		}
	}
	return NULL; /* too long */
}

static void
answer(int fd, const char *line)
{
	g_autoptr(GString) reply = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) parts = g_strsplit_set(line != NULL ? line : "", " \t", -1);
	gboolean ok;

	for (char **p = parts; *p != NULL; p++) {
		if (**p != '\0')
			g_ptr_array_add(words, g_strdup(*p));
	}
	g_ptr_array_add(words, NULL);
	if (line == NULL) {
		ok = FALSE;
		g_set_error_literal(&error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_ARGUMENTS,
				    "no command line within 2 s (or one over 1024 bytes)");
	} else if (words->len - 1 == 0 || words->len - 1 > PC_CONTROL_MAX_WORDS) {
		ok = FALSE;
		g_set_error(&error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_ARGUMENTS,
			    "a command is 1 to %d words", PC_CONTROL_MAX_WORDS);
	} else if (strcmp(words->pdata[0], "ping") == 0) {
		g_string_append(reply, "pong\n");
		ok = TRUE;
	} else if (strcmp(words->pdata[0], "reload") == 0 && control.reload != NULL) {
		control.reload();
		g_string_append(reply, "reload started: its outcome is in the daemon's log\n");
		ok = TRUE;
	} else if (control.handler != NULL) {
		ok = control.handler((const char *const *)words->pdata, words->len - 1, reply,
				     &error);
	} else {
		ok = FALSE;
		g_set_error(&error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_UNKNOWN,
			    "unknown command %s", (char *)words->pdata[0]);
	}
	if (ok)
		g_string_append(reply, "ok\n");
	else
		g_string_append_printf(reply, "error: %s\n",
				       error != NULL ? error->message : "failed");
	/* a client that stopped reading does not hold the daemon */
	for (gsize sent = 0; sent < reply->len;) {
		ssize_t n = send(fd, reply->str + sent, reply->len - sent, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		sent += (gsize)n;
	}
	if (line != NULL)
		g_message("control: %s: %s", (char *)(words->len > 1 ? words->pdata[0] : ""),
			  ok ? "ok" : error->message);
}

static gpointer
serve(gpointer data)
{
	while (TRUE) {
		struct pollfd fds[2] = {{control.fd, POLLIN, 0}, {control.stop_pipe[0], POLLIN, 0}};
		int client;
		g_autofree char *line = NULL;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents != 0)
			break;
		client = accept4(control.fd, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0)
			continue;
		line = read_line(client);
		answer(client, line);
		close(client);
	}
	return NULL;
}

gboolean
pc_control_start(const char *path, PcControlHandler handler, void (*reload)(void), GError **error)
{
	struct sockaddr_un address;
	mode_t old_mask;

	g_return_val_if_fail(control.fd < 0, FALSE);
	if (!fill_address(path, &address, error))
		return FALSE;
	control.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (control.fd < 0 || pipe2(control.stop_pipe, O_CLOEXEC) != 0) {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET, "%s: %s", path,
			    g_strerror(errno));
		pc_control_stop();
		return FALSE;
	}
	/*
	 * a live socket is another instance's (two daemons of one name, or two
	 * stacks, under one control_dir): never taken over. Only a path that
	 * is not there or refuses (ECONNREFUSED: nobody listens) is stale; the
	 * probe does not block on a live one whose backlog is full (EAGAIN)
	 */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int rc =
		    probe < 0 ? -1 : connect(probe, (struct sockaddr *)&address, sizeof(address));
		int saved = errno;

		if (probe >= 0)
			close(probe);
		if (probe < 0 || (rc != 0 && saved != ECONNREFUSED && saved != ENOENT)) {
			g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET,
				    rc == 0 || saved == EAGAIN
					? "another process is listening on %s"
					: "%s: %s",
				    path, g_strerror(saved));
			pc_control_stop();
			return FALSE;
		}
		if (rc == 0) {
			g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET,
				    "another process is listening on %s", path);
			pc_control_stop();
			return FALSE;
		}
	}
	close(control.fd);
	control.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (control.fd < 0) {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET, "%s: %s", path,
			    g_strerror(errno));
		pc_control_stop();
		return FALSE;
	}
	g_unlink(path);
	/* 0660 from the start: never a moment where others could connect */
	old_mask = umask(0117);
	if (bind(control.fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
	    listen(control.fd, 8) != 0) {
		int saved = errno;

		umask(old_mask);
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET, "%s: %s", path,
			    g_strerror(saved));
		pc_control_stop();
		return FALSE;
	}
	umask(old_mask);
	control.path = g_strdup(path);
	control.handler = handler;
	control.reload = reload;
	control.thread = g_thread_new("control", serve, NULL);
	return TRUE;
}

void
pc_control_stop(void)
{
	if (control.thread != NULL) {
		(void)!write(control.stop_pipe[1], "x", 1);
		g_thread_join(g_steal_pointer(&control.thread));
	}
	if (control.fd >= 0)
		close(control.fd);
	for (int i = 0; i < 2; i++) {
		if (control.stop_pipe[i] >= 0)
			close(control.stop_pipe[i]);
		control.stop_pipe[i] = -1;
	}
	if (control.path != NULL)
		g_unlink(control.path);
	g_clear_pointer(&control.path, g_free);
	control.fd = -1;
	control.handler = NULL;
	control.reload = NULL;
}

char *
pc_control_request(const char *path, const char *line, guint timeout_ms, GError **error)
{
	struct sockaddr_un address;
	int fd;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree char *request = g_strconcat(line, "\n", NULL);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	if (!fill_address(path, &address, error))
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
	    send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
		g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET, "%s: %s", path,
			    g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (out->len < 16 * 1024 * 1024) {
		char buf[4096];
		struct pollfd pfd = {fd, POLLIN, 0};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			g_set_error(error, PC_CONTROL_ERROR, PC_CONTROL_ERROR_SOCKET,
				    "%s: no answer within %u ms", path, timeout_ms);
			close(fd);
			return NULL;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		g_string_append_len(out, buf, n);
	}
	close(fd);
	return g_strdup(out->str);
}

char *
pc_control_path(const char *dir, const char *daemon)
{
	g_return_val_if_fail(dir != NULL && daemon != NULL, NULL);
	return g_strdup_printf("%s/%s/%s" PC_CONTROL_SUFFIX, dir, daemon, daemon);
}
