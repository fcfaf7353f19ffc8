/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-watch: what pc-milter keeps per milter connection beyond the
 * callbacks: the watchdog that enforces milter_timeout (and closes
 * connections that never negotiate, sooner near the descriptor limit), and
 * the no-reply stages carried across QUIT_NC. See pc-milter-private.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pc-milter-private.h"

/* ------------------------------------------------------------ QUIT_NC */

/*
 * QUIT_NC: an MTA may end one SMTP session and start the next on the same
 * milter connection, without a new OPTNEG. libmilter calls close in between,
 * which frees the PcSession that held what was negotiated; the no-reply
 * stages and the header leading-space flag are kept here, keyed by the libmilter context, from that
 * close to the next CONNECT on the same context. A context closed for good leaves an entry that the
 * watchdog drops after CARRY_TTL_US; a new connection that reuses the context's address negotiates
 * first and drops it too.
 */
typedef struct {
	guint32 no_reply;
	gboolean header_leading_space;
	gint64 closed_us;
} Carried;

#define CARRY_TTL_US (30 * G_USEC_PER_SEC)
static GMutex carry_lock;
static GHashTable *carried; /* SMFICTX * -> Carried *; under carry_lock */

void
pc_milter_carry_put(SMFICTX *ctx, guint32 no_reply, gboolean header_leading_space)
{
	Carried *entry = g_new0(Carried, 1);

	entry->no_reply = no_reply;
	entry->header_leading_space = header_leading_space;
	entry->closed_us = g_get_monotonic_time();
	g_mutex_lock(&carry_lock);
	if (carried == NULL)
		carried = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	g_hash_table_replace(carried, ctx, entry);
	g_mutex_unlock(&carry_lock);
}

/* takes the entry of ctx; FALSE when there is none */
gboolean
pc_milter_carry_take(SMFICTX *ctx, guint32 *no_reply_out, gboolean *header_leading_space_out)
{
	gboolean found = FALSE;

	g_mutex_lock(&carry_lock);
	if (carried != NULL) {
		Carried *entry = g_hash_table_lookup(carried, ctx);

		if (entry != NULL) {
			*no_reply_out = entry->no_reply;
			*header_leading_space_out = entry->header_leading_space;
			found = TRUE;
			g_hash_table_remove(carried, ctx);
		}
	}
	g_mutex_unlock(&carry_lock);
	return found;
}

/* drops entries of contexts that were closed for good */
static void
carry_expire(gint64 now_us)
{
	GHashTableIter iter;
	gpointer value;

	g_mutex_lock(&carry_lock);
	if (carried != NULL) {
		g_hash_table_iter_init(&iter, carried);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			if (now_us - ((Carried *)value)->closed_us > CARRY_TTL_US)
				g_hash_table_iter_remove(&iter);
		}
	}
	g_mutex_unlock(&carry_lock);
}

void
pc_milter_carry_free(void)
{
	g_mutex_lock(&carry_lock);
	g_clear_pointer(&carried, g_hash_table_unref);
	g_mutex_unlock(&carry_lock);
}

/* -------------------------------------------------------------- watchdog */

/*
 * milter_timeout, enforced. Debian's libmilter runs a worker pool: a
 * connection waiting for its MTA's next command sits in one poll set and is
 * checked for its timeout only every ten minutes, and a command that
 * trickles in a byte at a time holds a worker thread with each byte
 * restarting the wait. So pc-milter keeps its own clock: a connection that
 * has not finished a command for milter_timeout, and is not inside one of
 * our callbacks, is shut down (shutdown(2), never close(2): libmilter sees
 * end of file, calls close and frees the connection as usual).
 *
 * The descriptor is read from libmilter's context, whose first two members
 * (thread id, socket) have been the same since libmilter's first release;
 * it is checked to be a connected stream socket, and its inode is compared
 * again before anything is done to it. A descriptor that does not pass is
 * left to libmilter's own timeout (logged once).
 */
typedef struct {
	pthread_t id;
	int sd;
} MilterContextHead;

typedef struct {
	int fd;
	dev_t dev;
	ino_t ino;
	gboolean cut;
} Watch;

static GMutex watch_lock;
static GHashTable *watched; /* PcSession * -> Watch *; under watch_lock */
/*
 * connections that have not negotiated yet (no callback, so no session):
 * socket inode -> first seen (gint64 *), found by scanning our descriptors
 * for sockets on the milter address; under watch_lock
 */
static GHashTable *unnegotiated;
/*
 * connections whose SMTP session closed (QUIT_NC: the next one may follow
 * on the same connection without OPTNEG): socket inode -> closed at
 * (gint64 *); idle for milter_timeout, they are cut like any idle one
 */
static GHashTable *between_sessions;
static char *milter_path;    /* the unix socket's path, or NULL */
static int milter_port = -1; /* the inet socket's port, or -1 */
/* an MTA sends OPTNEG at once: a connection that does not is cut sooner */
#define HANDSHAKE_TIMEOUT_US (10 * G_USEC_PER_SEC)
/*
 * near the descriptor limit (all but half the reserve in use) connections that
 * have not negotiated are cut after a second: libmilter's accept loop spins
 * silently on EMFILE, and idle connections are not counted by the cap
 */
#define PRESSURE_HANDSHAKE_US G_USEC_PER_SEC
static gboolean descriptor_pressure; /* under watch_lock */
static GThread *watchdog_thread;
static GCond watchdog_cond;
static gboolean watchdog_stop; /* under watch_lock */
static gint64 watchdog_timeout_us;
static PcStatsCounter *timeout_counter;
static const char *watch_name;
static guint64 descriptor_limit;

/* the connection's socket, or -1 when libmilter's context does not look as expected */
static int
context_socket(SMFICTX *ctx, struct stat *st_out)
{
	int fd = ((const MilterContextHead *)(const void *)ctx)->sd;
	int type = 0;
	int listening = 1;
	socklen_t len = sizeof(type);
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof(peer);

	if (fd < 0 || fstat(fd, st_out) != 0 || !S_ISSOCK(st_out->st_mode))
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
		return -1;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening != 0)
		return -1;
	if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0)
		return -1;
	return fd;
}

void
pc_milter_watch_register(SMFICTX *ctx, PcSession *session)
{
	static atomic_bool warned;
	struct stat st;
	int fd;
	Watch *watch;

	if (watched == NULL)
		return;
	fd = context_socket(ctx, &st);
	if (fd < 0) {
		if (!atomic_exchange(&warned, TRUE))
			g_warning("%s: cannot find the milter connection's descriptor; "
				  "[global] milter_timeout is left to libmilter",
				  watch_name);
		return;
	}
	watch = g_new0(Watch, 1);
	watch->fd = fd;
	watch->dev = st.st_dev;
	watch->ino = st.st_ino;
	atomic_store(&session->watch_idle_since_us, g_get_monotonic_time());
	g_mutex_lock(&watch_lock);
	if (watched != NULL)
		g_hash_table_insert(watched, session, watch);
	else
		g_free(watch);
	g_mutex_unlock(&watch_lock);
}

/* before the session is freed: libmilter closes the descriptor after our close callback */
void
pc_milter_watch_unregister(PcSession *session)
{
	g_mutex_lock(&watch_lock);
	if (watched != NULL) {
		Watch *watch = g_hash_table_lookup(watched, session);
		gint64 now = g_get_monotonic_time();
		gint64 ino = watch != NULL ? (gint64)watch->ino : 0;

		if (watch != NULL)
			g_hash_table_replace(between_sessions, g_memdup2(&ino, sizeof(ino)),
					     g_memdup2(&now, sizeof(now)));
		g_hash_table_remove(watched, session);
	}
	g_mutex_unlock(&watch_lock);
}

/* a callback starts (busy) or ends (the idle clock restarts) */
void
pc_milter_watch_busy(PcSession *session, gboolean busy)
{
	if (!busy)
		atomic_store(&session->watch_idle_since_us, g_get_monotonic_time());
	atomic_store(&session->watch_busy, busy);
}

/* the MTA sent bytes not read yet: the daemon is the slow side, not the MTA */
static gboolean
has_unread_input(int fd)
{
	int pending = 0;

	return ioctl(fd, FIONREAD, &pending) == 0 && pending > 0;
}

/*
 * shuts fd down if it still is the socket dev/ino and has nothing unread.
 * Through a duplicate: the number could be closed and reused between a scan
 * and the shutdown; the duplicate pins the socket it checked
 */
static gboolean
shutdown_if_same(int fd, dev_t dev, ino_t ino)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	struct stat st;
	gboolean same;

	if (copy < 0)
		return FALSE;
	same = fstat(copy, &st) == 0 && st.st_dev == dev && st.st_ino == ino &&
	       !has_unread_input(copy);
	if (same)
		shutdown(copy, SHUT_RDWR);
	close(copy);
	return same;
}

/* caller holds watch_lock */
static void
watch_cut_idle(gint64 now_us)
{
	GHashTableIter iter;
	gpointer key;
	gpointer value;

	g_hash_table_iter_init(&iter, watched);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		PcSession *session = key;
		Watch *watch = value;

		if (watch->cut || atomic_load(&session->watch_busy) ||
		    now_us - atomic_load(&session->watch_idle_since_us) < watchdog_timeout_us)
			continue;
		/* a command waiting to be read: a busy daemon, not an idle MTA */
		if (!shutdown_if_same(watch->fd, watch->dev, watch->ino))
			continue;
		watch->cut = TRUE;
		pc_stats_counter_inc(timeout_counter);
		g_info(
		    "%s: closing a milter connection that finished no command for %" G_GINT64_FORMAT
		    " s ([global] milter_timeout)",
		    watch_name, watchdog_timeout_us / G_USEC_PER_SEC);
	}
}

/* TRUE when fd is an accepted connection on the milter socket */
static gboolean
is_milter_connection(int fd)
{
	struct sockaddr_storage address;
	socklen_t len = sizeof(address);
	int listening = 1;
	socklen_t option_len = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &option_len) != 0 ||
	    listening != 0 || getsockname(fd, (struct sockaddr *)&address, &len) != 0)
		return FALSE;
	if (address.ss_family == AF_UNIX && milter_path != NULL) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&address;

		return len > offsetof(struct sockaddr_un, sun_path) &&
		       strncmp(sun->sun_path, milter_path, sizeof(sun->sun_path)) == 0;
	}
	if (address.ss_family == AF_INET && milter_port >= 0)
		return g_ntohs(((const struct sockaddr_in *)&address)->sin_port) == milter_port;
	if (address.ss_family == AF_INET6 && milter_port >= 0)
		return g_ntohs(((const struct sockaddr_in6 *)&address)->sin6_port) == milter_port;
	return FALSE;
}

/* caller holds watch_lock: a line when an episode near the descriptor limit starts, one when it
 * ends */
static void
watch_descriptor_pressure(guint64 open_fds)
{
	if (descriptor_limit == 0)
		return;
	if (!descriptor_pressure && open_fds + RESERVED_DESCRIPTORS / 2 >= descriptor_limit) {
		descriptor_pressure = TRUE;
		g_warning("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			  " descriptors in use: connections that do not negotiate within 1 s are "
			  "closed (logged once until it eases)",
			  watch_name, open_fds, descriptor_limit);
	} else if (descriptor_pressure && open_fds * 10 <= descriptor_limit * 8) {
		descriptor_pressure = FALSE;
		g_message("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
			  " descriptors in use, below the limit again",
			  watch_name, open_fds, descriptor_limit);
	}
}

/*
 * caller holds watch_lock: connections with no session yet (before OPTNEG)
 * are found among our descriptors and cut after HANDSHAKE_TIMEOUT_US
 */
static void
watch_cut_unnegotiated(gint64 now_us)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	g_autoptr(GHashTable) registered = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_autoptr(GHashTable) seen =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	g_autoptr(GHashTable) still_between =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	GHashTableIter iter;
	gpointer value;
	const char *name;
	guint64 open_fds = 0;
	gint64 bound = MIN(descriptor_pressure ? PRESSURE_HANDSHAKE_US : HANDSHAKE_TIMEOUT_US,
			   watchdog_timeout_us);

	if (dir == NULL)
		return;
	g_hash_table_iter_init(&iter, watched);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_hash_table_add(registered, &((Watch *)value)->ino);
	while ((name = g_dir_read_name(dir)) != NULL) {
		int fd = atoi(name);
		struct stat st;
		gint64 ino;
		gint64 *first;

		open_fds++;
		if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || !is_milter_connection(fd))
			continue;
		ino = (gint64)st.st_ino;
		if (g_hash_table_contains(registered, &ino))
			continue;
		first = g_hash_table_lookup(between_sessions, &ino);
		if (first != NULL) {
			/* between two SMTP sessions (QUIT_NC): idle like any session */
			g_hash_table_insert(still_between, g_memdup2(&ino, sizeof(ino)),
					    g_memdup2(first, sizeof(gint64)));
			if (now_us - *first >= watchdog_timeout_us &&
			    shutdown_if_same(fd, st.st_dev, st.st_ino)) {
				pc_stats_counter_inc(timeout_counter);
				g_info("%s: closing a milter connection idle between SMTP "
				       "sessions ([global] milter_timeout)",
				       watch_name);
			}
			continue;
		}
		first = g_hash_table_lookup(unnegotiated, &ino);
		g_hash_table_insert(seen, g_memdup2(&ino, sizeof(ino)),
				    g_memdup2(first != NULL ? first : &now_us, sizeof(gint64)));
		if (first != NULL && now_us - *first >= bound &&
		    shutdown_if_same(fd, st.st_dev, st.st_ino)) {
			pc_stats_counter_inc(timeout_counter);
			g_info("%s: closing a milter connection that sent no OPTNEG for "
			       "%" G_GINT64_FORMAT " s",
			       watch_name, (now_us - *first) / G_USEC_PER_SEC);
		}
	}
	/* what is not seen any more is gone */
	g_hash_table_unref(unnegotiated);
	unnegotiated = g_steal_pointer(&seen);
	g_hash_table_unref(between_sessions);
	between_sessions = g_steal_pointer(&still_between);
	watch_descriptor_pressure(open_fds);
}

static gpointer
watchdog_main(gpointer data)
{
	g_mutex_lock(&watch_lock);
	while (!watchdog_stop) {
		gint64 now = g_get_monotonic_time();

		watch_cut_idle(now);
		watch_cut_unnegotiated(now);
		carry_expire(now);
		/* a quarter of the timeout, at most a second: cut within 25% of it */
		g_cond_wait_until(&watchdog_cond, &watch_lock,
				  now + MIN(G_USEC_PER_SEC, MAX(watchdog_timeout_us / 4, 10000)));
	}
	g_mutex_unlock(&watch_lock);
	return NULL;
}

void
pc_milter_watch_start(const char *name, gint64 timeout_us, const char *socket_spec, guint64 limit)
{
	const char *path = NULL;

	watch_name = name;
	watchdog_timeout_us = timeout_us;
	descriptor_limit = limit;
	if (pc_milter_unix_socket_path(socket_spec, &path)) {
		milter_path = g_strdup(path);
	} else {
		/* inet:PORT@HOST, inet6:PORT@HOST */
		const char *colon = strchr(socket_spec, ':');

		milter_port = colon != NULL ? atoi(colon + 1) : -1;
	}
	watched = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	unnegotiated = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	between_sessions = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	watchdog_thread = g_thread_new("watchdog", watchdog_main, NULL);
}

void
pc_milter_watch_stop(void)
{
	if (watchdog_thread == NULL)
		return;
	g_mutex_lock(&watch_lock);
	watchdog_stop = TRUE;
	g_cond_signal(&watchdog_cond);
	g_mutex_unlock(&watch_lock);
	g_thread_join(g_steal_pointer(&watchdog_thread));
}

/* once no connection is left to unregister */
void
pc_milter_watch_free(void)
{
	g_mutex_lock(&watch_lock);
	g_clear_pointer(&watched, g_hash_table_unref);
	g_clear_pointer(&unnegotiated, g_hash_table_unref);
	g_clear_pointer(&between_sessions, g_hash_table_unref);
	g_mutex_unlock(&watch_lock);
	g_clear_pointer(&milter_path, g_free);
}

void
pc_milter_watch_register_metrics(void)
{
	timeout_counter = pc_stats_counter_register(
	    "portcullis_milter_timeouts_total",
	    "MTA connections closed after milter_timeout without a finished command", NULL);
}
