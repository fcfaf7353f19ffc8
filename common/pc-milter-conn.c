/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-conn: the MTA's connections. The main thread accepts; each
 * connection gets a thread of its own that reads the MTA's packets, runs the
 * stages in pc-milter.c and writes the replies, in blocking calls, with no
 * handoff between threads: a command costs one read and at most one
 * write. (libmilter's worker pool, which this replaces, handed each idle
 * session back to a manager thread between commands; behind a busy MTA that
 * was most of a milter's cost.)
 *
 * Timeouts are the connection thread's own: a connection must finish its
 * OPTNEG within HANDSHAKE_TIMEOUT_US (1 s near the descriptor limit), and
 * every later command within milter_timeout of the end of the previous
 * one, however the bytes trickle in. Time spent in our own stages does not
 * count. On stop a connection between two messages is closed within a
 * second (its receive slice); one inside a message is served to its end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pc-log.h"
#include "pc-milter-private.h"

/* an MTA sends OPTNEG at once: a connection that does not is cut sooner */
#define HANDSHAKE_TIMEOUT_US (10 * G_USEC_PER_SEC)
/* near the descriptor limit, connections that do not negotiate within a second are cut */
#define PRESSURE_HANDSHAKE_US G_USEC_PER_SEC
/* the read buffer's first size (most commands are small); kept by an idle thread up to BUFFER_KEPT
 */
#define INITIAL_BUFFER 4096u
#define BUFFER_KEPT (65535u + 5u)
/*
 * connection threads kept for the next connection, each for at most
 * IDLE_THREAD_US: an MTA opens a milter connection per SMTP session, and
 * a thread made and torn down for each cost more than the session's
 * commands (stack pages, clone, the allocator's arena)
 */
#define MAX_IDLE_THREADS 32u
#define IDLE_THREAD_US (30 * G_USEC_PER_SEC)
/* connection threads need little stack: the deepest is a DNS or DKIM call */
#define CONNECTION_STACK (512u * 1024u)

static const char *serve_name;
static gint64 serve_timeout_us;
/* set at stop: connection threads look at it after each receive slice */
static atomic_bool serve_stopping;
static guint64 descriptor_limit;
/* descriptors open when serving started (logs, store, statistics) */
static guint base_descriptors;
static atomic_bool descriptor_pressure;
static PcStatsCounter *timeout_counter;

/* --------------------------------------------------------------- macros */

/*
 * the lists in the order a transaction reaches them: at a stage, its own
 * list and those before it are current; later ones are a past transaction's
 */
static const PcMilterMacroList macro_order[PC_MILTER_MACROS_N] = {
    PC_MILTER_MACROS_CONNECT, PC_MILTER_MACROS_HELO, PC_MILTER_MACROS_MAIL, PC_MILTER_MACROS_RCPT,
    PC_MILTER_MACROS_DATA,    PC_MILTER_MACROS_EOH,  PC_MILTER_MACROS_EOM,
};

/* the place of a command in macro_order */
static guint
command_position(guint8 command)
{
	switch (command) {
	case PC_MILTER_CMD_CONNECT:
		return 0;
	case PC_MILTER_CMD_HELO:
	case PC_MILTER_CMD_UNKNOWN:
		return 1;
	case PC_MILTER_CMD_MAIL:
		return 2;
	case PC_MILTER_CMD_RCPT:
		return 3;
	case PC_MILTER_CMD_DATA:
	case PC_MILTER_CMD_HEADER:
		return 4;
	case PC_MILTER_CMD_EOH:
	case PC_MILTER_CMD_BODY:
		return 5;
	default:
		return 6;
	}
}

static void
macros_clear(PcMilterConn *conn, guint from_position)
{
	for (guint i = from_position; i < PC_MILTER_MACROS_N; i++) {
		PcMilterMacroList list = macro_order[i];

		g_clear_pointer(&conn->macros[list], g_free);
		g_clear_pointer(&conn->macro_data[list], g_free);
	}
}

/* "{name}" and "name" are one name */
static void
macro_core(const char *name, const char **core_out, gsize *len_out)
{
	gsize len = strlen(name);

	if (len >= 2 && name[0] == '{' && name[len - 1] == '}') {
		*core_out = name + 1;
		*len_out = len - 2;
	} else {
		*core_out = name;
		*len_out = len;
	}
}

const char *
pc_milter_conn_macro(PcMilterConn *conn, const char *name)
{
	const char *want;
	gsize want_len;

	macro_core(name, &want, &want_len);
	for (guint i = MIN(conn->position, PC_MILTER_MACROS_N - 1) + 1; i-- > 0;) {
		const char **pairs = conn->macros[macro_order[i]];

		for (gsize j = 0; pairs != NULL && pairs[j] != NULL && pairs[j + 1] != NULL;
		     j += 2) {
			const char *core;
			gsize len;

			macro_core(pairs[j], &core, &len);
			if (len == want_len && memcmp(core, want, len) == 0)
				return pairs[j + 1];
		}
	}
	return NULL;
}

static gboolean
macros_store(PcMilterConn *conn, const PcMilterPacket *packet)
{
	guint8 command = 0;
	const char **pairs = NULL;
	guint8 *copy;
	int list;
	PcMilterPacket own;

	/* the views must point into a copy that lives as long as the list */
	copy = g_memdup2(packet->data, packet->len);
	own = (PcMilterPacket){.command = packet->command, .data = copy, .len = packet->len};
	if (!pc_milter_wire_macros(&own, &command, &pairs)) {
		g_free(copy);
		return FALSE;
	}
	list = pc_milter_wire_macro_list(command);
	if (list < 0) {
		/* macros for a command that has none (no MTA sends them): ignored */
		g_free(pairs);
		g_free(copy);
		return TRUE;
	}
	g_free(conn->macros[list]);
	g_free(conn->macro_data[list]);
	conn->macros[list] = pairs;
	conn->macro_data[list] = copy;
	return TRUE;
}

/* -------------------------------------------------------------- replies */

void
pc_milter_conn_set_reply(PcMilterConn *conn, const char *text)
{
	g_free(conn->reply_text);
	conn->reply_text = g_strdup(text);
}

static void
put_status(PcMilterConn *conn, PcMilterStatus status)
{
	if (status == PC_MILTER_NOREPLY) {
		g_clear_pointer(&conn->reply_text, g_free);
		return;
	}
	if ((status == PC_MILTER_REJECT || status == PC_MILTER_TEMPFAIL) &&
	    conn->reply_text != NULL)
		pc_milter_wire_put_strings(conn->out, PC_MILTER_REPLY_REPLYCODE, FALSE, 0,
					   conn->reply_text, NULL);
	else
		pc_milter_wire_put(conn->out, (guint8)status, NULL, 0);
	g_clear_pointer(&conn->reply_text, g_free);
}

/* writes what is pending; FALSE when the MTA is gone or does not read */
static gboolean
flush(PcMilterConn *conn)
{
	gsize done = 0;

	while (done < conn->out->len) {
		ssize_t n =
		    send(conn->fd, conn->out->data + done, conn->out->len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		done += (gsize)n;
	}
	g_byte_array_set_size(conn->out, 0);
	return TRUE;
}

/* ------------------------------------------------------------- commands */

typedef enum {
	NEXT,	/* go on reading */
	CLOSE,	/* the MTA said QUIT: write what is pending, then close */
	BROKEN, /* malformed or out of place: close without a word */
} Outcome;

static PcMilterStatus
connect_command(PcMilterConn *conn, const PcMilterPacket *packet, gboolean *ok)
{
	PcMilterConnect connect;
	PcNetAddress address;
	gboolean known = FALSE;

	*ok = pc_milter_wire_connect(packet, &connect);
	if (!*ok)
		return PC_MILTER_NOREPLY;
	if ((connect.family == '4' || connect.family == '6') && connect.address != NULL) {
		/* Postfix writes IPv6 as "IPv6:..." in some versions; both forms are read */
		const char *text = connect.address;

		if (g_ascii_strncasecmp(text, "IPv6:", 5) == 0)
			text += 5;
		known = pc_net_address_parse(text, &address);
	}
	return pc_milter_step_connect(conn, connect.hostname, known ? &address : NULL);
}

/* TRUE when OPTNEG settled that the MTA awaits no reply to command */
static gboolean
no_reply_command(const PcMilterConn *conn, guint8 command)
{
	static const struct {
		guint8 command;
		PcStage stage;
	} stages[] = {
	    {PC_MILTER_CMD_CONNECT, PC_STAGE_CONNECT}, {PC_MILTER_CMD_HELO, PC_STAGE_HELO},
	    {PC_MILTER_CMD_MAIL, PC_STAGE_MAIL},       {PC_MILTER_CMD_RCPT, PC_STAGE_RCPT},
	    {PC_MILTER_CMD_DATA, PC_STAGE_DATA},       {PC_MILTER_CMD_HEADER, PC_STAGE_HEADER},
	    {PC_MILTER_CMD_EOH, PC_STAGE_EOH},	       {PC_MILTER_CMD_BODY, PC_STAGE_BODY},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(stages); i++) {
		if (stages[i].command == command)
			return (conn->no_reply & PC_STAGE_MASK(stages[i].stage)) != 0;
	}
	return FALSE;
}

/* runs one packet; the stage's reply goes to conn->out */
static Outcome
dispatch(PcMilterConn *conn, const PcMilterPacket *packet)
{
	PcMilterStatus status = PC_MILTER_NOREPLY;
	gboolean ok = TRUE;

	if (!conn->negotiated && packet->command != PC_MILTER_CMD_OPTNEG)
		return BROKEN;
	conn->position = command_position(packet->command);
	/*
	 * over the connection cap: no hook runs, and the MTA is told to tempfail
	 * at the first stage it awaits an answer at (CONNECT for the relay
	 * guard, at the latest EOM); nothing passes unfiltered
	 */
	if (conn->over_cap && packet->command != '\0' &&
	    strchr("CHMRTLNBEU", packet->command) != NULL) {
		put_status(conn, no_reply_command(conn, packet->command) ? PC_MILTER_NOREPLY
									 : PC_MILTER_TEMPFAIL);
		return NEXT;
	}
	switch (packet->command) {
	case PC_MILTER_CMD_OPTNEG: {
		guint32 version;
		guint32 actions;
		guint32 protocol;

		/* once per connection; a version before flags were negotiated is not served */
		if (conn->negotiated ||
		    !pc_milter_wire_optneg(packet, &version, &actions, &protocol) ||
		    version < PC_MILTER_WIRE_VERSION_MIN)
			return BROKEN;
		pc_milter_step_negotiate(conn, version, actions, protocol);
		conn->negotiated = TRUE;
		return NEXT;
	}
	case PC_MILTER_CMD_MACRO:
		return macros_store(conn, packet) ? NEXT : BROKEN;
	case PC_MILTER_CMD_CONNECT:
		/* one per SMTP session: a second would re-judge the client mid-session */
		if (conn->connected)
			return BROKEN;
		conn->connected = TRUE;
		status = connect_command(conn, packet, &ok);
		break;
	case PC_MILTER_CMD_HELO: {
		g_autofree const char **strings =
		    pc_milter_wire_strings(packet->data, packet->len, NULL);

		ok = strings != NULL;
		if (ok)
			status = pc_milter_step_helo(conn, strings[0]);
		break;
	}
	case PC_MILTER_CMD_MAIL:
	case PC_MILTER_CMD_RCPT: {
		g_autofree const char **argv =
		    pc_milter_wire_strings(packet->data, packet->len, NULL);

		ok = argv != NULL;
		if (!ok)
			break;
		if (packet->command == PC_MILTER_CMD_MAIL) {
			/* a new transaction: the lists after MAIL are a past one's */
			macros_clear(conn, 3);
			status = pc_milter_step_mail(conn, argv);
		} else {
			status = pc_milter_step_rcpt(conn, argv);
		}
		break;
	}
	case PC_MILTER_CMD_DATA:
		status = pc_milter_step_data(conn);
		break;
	case PC_MILTER_CMD_HEADER: {
		const char *name;
		const char *value;

		ok = pc_milter_wire_header(packet, &name, &value);
		if (ok)
			status = pc_milter_step_header(conn, name, value);
		break;
	}
	case PC_MILTER_CMD_EOH:
		status = pc_milter_step_eoh(conn);
		break;
	case PC_MILTER_CMD_BODY:
		status = pc_milter_step_body(conn, packet->data, packet->len);
		break;
	case PC_MILTER_CMD_EOM:
		/*
		 * EOM may carry the last chunk of the body: it is a body stage
		 * whose answer the MTA does not wait for; EOM's is the message's
		 */
		if (packet->len > 0) {
			status = pc_milter_step_body(conn, packet->data, packet->len);
			/* a refusal of the body is the message's answer; EOM does not run */
			if (status != PC_MILTER_CONTINUE && status != PC_MILTER_NOREPLY)
				break;
		}
		g_clear_pointer(&conn->reply_text, g_free);
		status = pc_milter_step_eom(conn);
		break;
	case PC_MILTER_CMD_UNKNOWN:
		status = pc_milter_step_unknown(conn);
		break;
	case PC_MILTER_CMD_ABORT:
		pc_milter_step_abort(conn);
		macros_clear(conn, 2);
		return NEXT;
	case PC_MILTER_CMD_QUIT:
		return CLOSE;
	case PC_MILTER_CMD_QUIT_NC:
		/* the SMTP session ends; the next starts on this connection, without OPTNEG */
		pc_milter_step_close(conn);
		macros_clear(conn, 0);
		conn->connected = FALSE;
		return NEXT;
	default:
		return BROKEN;
	}
	if (!ok)
		return BROKEN;
	if (status != PC_MILTER_NOREPLY && no_reply_command(conn, packet->command)) {
		/* the MTA does not read it: it would answer its next command */
		g_critical("%s: a reply to command 0x%02x, negotiated as no-reply; not sent",
			   serve_name, packet->command);
		status = PC_MILTER_NOREPLY;
	}
	put_status(conn, status);
	return NEXT;
}

/* ------------------------------------------------------------- timeouts */

static void
pressure_update(guint open)
{
	guint64 in_use = (guint64)base_descriptors + open;

	if (descriptor_limit == 0)
		return;
	if (!atomic_load(&descriptor_pressure) &&
	    in_use + RESERVED_DESCRIPTORS / 2 >= descriptor_limit) {
		if (!atomic_exchange(&descriptor_pressure, TRUE))
			g_warning("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
				  " descriptors in use: connections that do not negotiate within "
				  "1 s are closed (logged once until it eases)",
				  serve_name, in_use, descriptor_limit);
	} else if (atomic_load(&descriptor_pressure) && in_use * 10 <= descriptor_limit * 8) {
		if (atomic_exchange(&descriptor_pressure, FALSE))
			g_message("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
				  " descriptors in use, below the limit again",
				  serve_name, in_use, descriptor_limit);
	}
}

/* accept() found no descriptor left */
static void
pressure_begin(void)
{
	if (!atomic_exchange(&descriptor_pressure, TRUE))
		g_warning("%s: no descriptor left for a new connection (limit %" G_GUINT64_FORMAT
			  "): connections that do not negotiate within 1 s are closed (logged "
			  "once until it eases)",
			  serve_name, descriptor_limit);
}

/*
 * a connection reads with blocking recv() and SO_RCVTIMEO: one system call
 * a command where poll() and recv() were two (on a loaded machine, system
 * calls and wake-ups are most of a milter's cost). The receive timeout is a
 * slice, after which the deadline and stop are looked at again: 250 ms
 * before OPTNEG (the handshake bound follows the descriptor pressure), 1 s
 * after; stop is therefore seen within a second by an idle connection.
 */
#define SLICE_HANDSHAKE_US (250 * 1000)
#define SLICE_US G_USEC_PER_SEC

static void
set_receive_slice(int fd, gint64 slice_us)
{
	struct timeval slice = {.tv_sec = (time_t)(slice_us / G_USEC_PER_SEC),
				.tv_usec = (suseconds_t)(slice_us % G_USEC_PER_SEC)};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice));
}

/* the deadline in force: the command's, or the handshake's before OPTNEG */
static gint64
deadline_now(const PcMilterConn *conn, gint64 started_us, gint64 deadline_us)
{
	if (conn->negotiated)
		return deadline_us;
	return started_us +
	       MIN(atomic_load(&descriptor_pressure) ? PRESSURE_HANDSHAKE_US : HANDSHAKE_TIMEOUT_US,
		   serve_timeout_us);
}

/* ---------------------------------------------------------- connections */

static void
conn_free(PcMilterConn *conn)
{
	if (conn->session != NULL)
		pc_milter_step_close(conn);
	macros_clear(conn, 0);
	g_byte_array_unref(conn->out);
	g_free(conn->reply_text);
	close(conn->fd);
	g_free(conn);
}

/* one connection: packets in, replies out, until QUIT, EOF, an error or a timeout */
static void
serve_connection(PcMilterConn *conn, guint8 **buf_inout, gsize *size_inout)
{
	gsize size = *size_inout;
	guint8 *buf = *buf_inout;
	gsize start = 0;
	gsize end = 0;
	gint64 started = g_get_monotonic_time();
	gint64 deadline = started + HANDSHAKE_TIMEOUT_US;
	gboolean sliced_for_handshake = TRUE;

	for (;;) {
		PcMilterPacket packet;
		gsize used = 0;
		gsize need = 0;
		PcMilterFrame frame =
		    pc_milter_wire_frame(buf + start, end - start, &packet, &used, &need);
		ssize_t n;

		if (frame == PC_MILTER_FRAME_ERROR) {
			g_warning("%s: a milter packet of a length out of bounds (0, or over %u "
				  "bytes); closing the connection (the MTA applies its "
				  "milter_default_action)",
				  serve_name, PC_MILTER_WIRE_MAX_PACKET);
			break;
		}
		if (frame == PC_MILTER_FRAME_PACKET) {
			Outcome outcome = dispatch(conn, &packet);

			start += used;
			if (outcome == BROKEN) {
				/* the commands before it were fine: their answers go out */
				flush(conn);
				g_warning("%s: a malformed or misplaced milter command (0x%02x); "
					  "closing the connection (the MTA applies its "
					  "milter_default_action)",
					  serve_name, packet.command);
				break;
			}
			if (outcome == CLOSE) {
				flush(conn);
				break;
			}
			/* the next command has milter_timeout from the end of this one */
			deadline = g_get_monotonic_time() + serve_timeout_us;
			if (conn->negotiated && sliced_for_handshake) {
				set_receive_slice(conn->fd, MIN(SLICE_US, serve_timeout_us));
				sliced_for_handshake = FALSE;
			}
			continue;
		}
		/* no complete packet: answer what was asked, then wait for more */
		if (conn->out->len > 0 && !flush(conn))
			break;
		if (start > 0) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		if (need > size) {
			size = MAX(need, MIN(size * 2, (gsize)PC_MILTER_WIRE_MAX_PACKET + 4));
			buf = g_realloc(buf, size);
		}
		n = recv(conn->fd, buf + end, size - end, 0);
		if (n > 0) {
			end += (gsize)n;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
			break;
		} else if (atomic_load(&serve_stopping) &&
			   (conn->session == NULL || !conn->session->in_message)) {
			/*
			 * stop: a connection between messages closes; one inside a
			 * message is served to its end (or until the exit, 5 s on)
			 */
			break;
		}
		/* however the bytes trickle in, the command has its deadline */
		if (g_get_monotonic_time() >= deadline_now(conn, started, deadline) &&
		    pc_milter_wire_frame(buf, end, &packet, &used, &need) == PC_MILTER_FRAME_MORE) {
			pc_stats_counter_inc(timeout_counter);
			if (!conn->negotiated)
				g_info("%s: closing a milter connection that sent no OPTNEG for "
				       "%" G_GINT64_FORMAT " s",
				       serve_name,
				       (g_get_monotonic_time() - started) / G_USEC_PER_SEC);
			else
				g_info("%s: closing a milter connection that finished no command "
				       "for %" G_GINT64_FORMAT " s ([global] milter_timeout)",
				       serve_name, serve_timeout_us / G_USEC_PER_SEC);
			break;
		}
	}
	/* a buffer a big header made big is not kept by an idle thread */
	if (size > BUFFER_KEPT) {
		size = INITIAL_BUFFER;
		buf = g_realloc(buf, size);
	}
	*buf_inout = buf;
	*size_inout = size;
	conn_free(conn);
	pc_milter_connection_closed();
	pressure_update(pc_milter_connections());
}

/* the connections handed to idle threads, and how many wait for one */
static GMutex pool_lock;
static GCond pool_cond;
static GQueue pool_queue = G_QUEUE_INIT; /* PcMilterConn * */
static guint pool_idle;
static gboolean pool_stopping;

/*
 * a connection thread: serves its first connection, then waits (named
 * "conn-idle") for the next one the accept loop hands over; it ends after
 * IDLE_THREAD_US without one, when enough others wait, or at stop
 */
static void *
connection_main(void *data)
{
	PcMilterConn *conn = data;
	gsize size = INITIAL_BUFFER;
	guint8 *buf = g_malloc(size);

	while (conn != NULL) {
		gint64 until;

		pthread_setname_np(pthread_self(), "conn");
		serve_connection(conn, &buf, &size);
		conn = NULL;
		g_mutex_lock(&pool_lock);
		if (!pool_stopping && pool_idle < MAX_IDLE_THREADS) {
			pthread_setname_np(pthread_self(), "conn-idle");
			pool_idle++;
			until = g_get_monotonic_time() + IDLE_THREAD_US;
			while (!pool_stopping && g_queue_is_empty(&pool_queue))
				if (!g_cond_wait_until(&pool_cond, &pool_lock, until))
					break;
			conn = g_queue_pop_head(&pool_queue);
			pool_idle--;
		}
		g_mutex_unlock(&pool_lock);
	}
	g_free(buf);
	return NULL;
}

/* hands conn to an idle thread; FALSE when none is free */
static gboolean
pool_hand_over(PcMilterConn *conn)
{
	gboolean taken = FALSE;

	g_mutex_lock(&pool_lock);
	if (!pool_stopping && pool_idle > g_queue_get_length(&pool_queue)) {
		g_queue_push_tail(&pool_queue, conn);
		g_cond_signal(&pool_cond);
		taken = TRUE;
	}
	g_mutex_unlock(&pool_lock);
	return taken;
}

/* at stop: idle threads end; a connection handed over but not taken yet is closed */
static void
pool_stop(void)
{
	PcMilterConn *conn;

	g_mutex_lock(&pool_lock);
	pool_stopping = TRUE;
	g_cond_broadcast(&pool_cond);
	while ((conn = g_queue_pop_head(&pool_queue)) != NULL) {
		conn_free(conn);
		pc_milter_connection_closed();
	}
	g_mutex_unlock(&pool_lock);
}

static void
start_connection(int fd)
{
	static atomic_bool warned;
	PcMilterConn *conn = g_new0(PcMilterConn, 1);
	struct timeval send_timeout = {
	    .tv_sec = (time_t)(serve_timeout_us / G_USEC_PER_SEC),
	    .tv_usec = (suseconds_t)(serve_timeout_us % G_USEC_PER_SEC),
	};
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	conn->fd = fd;
	conn->out = g_byte_array_sized_new(256);
	conn->over_cap = !pc_milter_connection_open();
	pressure_update(pc_milter_connections());
	/* an MTA that does not read our replies gives the thread back too */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
	set_receive_slice(fd, SLICE_HANDSHAKE_US);
	if (pool_hand_over(conn))
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CONNECTION_STACK);
	rc = pthread_create(&thread, &attr, connection_main, conn);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		if (!atomic_exchange(&warned, TRUE))
			g_warning("%s: cannot start a connection thread: %s; the MTA's "
				  "milter_default_action applies (logged once)",
				  serve_name, g_strerror(rc));
		conn_free(conn);
		pc_milter_connection_closed();
	}
}

static guint
count_descriptors(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	guint n = 0;

	while (dir != NULL && g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

void
pc_milter_serve(int listen_fd, int stop_fd, const char *name, gint64 timeout_us, guint64 limit)
{
	serve_name = name;
	serve_timeout_us = timeout_us;
	descriptor_limit = limit;
	base_descriptors = count_descriptors();
	for (;;) {
		struct pollfd fds[2] = {
		    {.fd = listen_fd, .events = POLLIN},
		    {.fd = stop_fd, .events = POLLIN},
		};
		int fd;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			g_critical("%s: poll on the milter socket: %s", name, g_strerror(errno));
			break;
		}
		if ((fds[1].revents & POLLIN) != 0)
			break;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			start_connection(fd);
			continue;
		}
		switch (errno) {
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* out of descriptors: say so, and let connections close before trying again
			 */
			pressure_begin();
			poll(&fds[1], 1, 100);
			break;
		default:
			/* the client went away before the accept (ECONNABORTED), a signal */
			break;
		}
	}
	atomic_store(&serve_stopping, TRUE);
	pool_stop();
}

/* ------------------------------------------------------------ the socket */

gboolean
pc_milter_unix_socket_path(const char *spec, const char **path_out)
{
	if (g_str_has_prefix(spec, "unix:"))
		*path_out = spec + 5;
	else if (g_str_has_prefix(spec, "local:"))
		*path_out = spec + 6;
	else if (spec[0] == '/')
		*path_out = spec;
	else
		return FALSE;
	return TRUE;
}

/* inet:PORT[@ADDRESS] and inet6:PORT[@ADDRESS] to a socket address */
static gboolean
inet_address(const char *spec, struct sockaddr_storage *address, socklen_t *len_out, GError **error)
{
	gboolean v6 = g_str_has_prefix(spec, "inet6:");
	const char *rest = spec + (v6 ? 6 : 5);
	const char *at = strchr(rest, '@');
	g_autofree char *port_text =
	    g_strndup(rest, at != NULL ? (gsize)(at - rest) : strlen(rest));
	const char *host = at != NULL ? at + 1 : NULL;
	g_autofree char *bracketed = NULL;
	guint64 port = 0;

	memset(address, 0, sizeof(*address));
	if (!g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &port, NULL)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "bad socket spec '%s': the port must be 1 to 65535", spec);
		return FALSE;
	}
	if (host != NULL && (host[0] == '[')) {
		gsize len = strlen(host);

		if (len < 2 || host[len - 1] != ']') {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "bad socket spec '%s'",
				    spec);
			return FALSE;
		}
		bracketed = g_strndup(host + 1, len - 2);
		host = bracketed;
	}
	if (host != NULL && g_ascii_strcasecmp(host, "localhost") == 0)
		host = v6 ? "::1" : "127.0.0.1";
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)address;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((guint16)port);
		sin6->sin6_addr = in6addr_any;
		if (host != NULL && inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad_host;
		*len_out = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)address;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((guint16)port);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		if (host != NULL && inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad_host;
		*len_out = sizeof(*sin);
	}
	return TRUE;
bad_host:
	g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
		    "bad socket spec '%s': the address must be an IP%s literal or localhost (names "
		    "are not resolved)",
		    spec, v6 ? "v6" : "v4");
	return FALSE;
}

int
pc_milter_listen(const char *spec, GError **error)
{
	struct sockaddr_storage address;
	socklen_t len = 0;
	const char *path = NULL;
	int fd;
	int one = 1;

	if (pc_milter_unix_socket_path(spec, &path)) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&address;

		memset(&address, 0, sizeof(address));
		sun->sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun->sun_path)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
				    "socket path %s is longer than %zu bytes", path,
				    sizeof(sun->sun_path) - 1);
			return -1;
		}
		memcpy(sun->sun_path, path, strlen(path) + 1);
		len = sizeof(*sun);
	} else if (g_str_has_prefix(spec, "inet:") || g_str_has_prefix(spec, "inet6:")) {
		if (!inet_address(spec, &address, &len, error))
			return -1;
	} else {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "bad socket spec '%s' (unix:/PATH, inet:PORT@ADDRESS, "
			    "inet6:PORT@ADDRESS)",
			    spec);
		return -1;
	}
	fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: socket: %s",
			    spec, g_strerror(errno));
		return -1;
	}
	if (address.ss_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&address, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		int saved = errno;

		close(fd);
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
			    "cannot listen on %s: %s", spec, g_strerror(saved));
		return -1;
	}
	return fd;
}

void
pc_milter_conn_register_metrics(void)
{
	timeout_counter = pc_stats_counter_register(
	    "portcullis_milter_timeouts_total",
	    "MTA connections closed after milter_timeout without a finished command", NULL);
}
