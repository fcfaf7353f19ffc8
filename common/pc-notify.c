/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-notify: see pc-notify.h. The protocol is one datagram per state
 * change on an AF_UNIX SOCK_DGRAM socket named by $NOTIFY_SOCKET; a leading
 * '@' stands for the abstract namespace's NUL.
 */
#include "pc-notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* the address, read once (G_ONCE), or a zero length when there is none */
static struct sockaddr_un notify_address;
static socklen_t notify_length;

static gpointer
read_address(gpointer data)
{
	const char *name = g_getenv("NOTIFY_SOCKET");
	gsize len;

	if (name == NULL)
		return NULL;
	len = strlen(name);
	/* a path or "@abstract", and it must fit with room for nothing else */
	if ((name[0] == '/' || name[0] == '@') && len >= 2 &&
	    len < sizeof(notify_address.sun_path)) {
		notify_address.sun_family = AF_UNIX;
		memcpy(notify_address.sun_path, name, len);
		if (name[0] == '@')
			notify_address.sun_path[0] = '\0';
		notify_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	g_unsetenv("NOTIFY_SOCKET");
	return NULL;
}

static GOnce notify_once = G_ONCE_INIT;

void
pc_notify_init(void)
{
	g_once(&notify_once, read_address, NULL);
}

gboolean
pc_notify(const char *state)
{
	ssize_t sent;
	int fd;

	g_return_val_if_fail(state != NULL, FALSE);
	pc_notify_init();
	if (notify_length == 0)
		return FALSE;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FALSE;
	do
		sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
			      (const struct sockaddr *)&notify_address, notify_length);
	while (sent < 0 && errno == EINTR);
	close(fd);
	return sent == (ssize_t)strlen(state);
}
