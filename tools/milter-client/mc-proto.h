/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-proto: the MTA side of the milter wire protocol, version 6.
 *
 * A packet is a 32-bit big-endian length (covering the command byte and the
 * data), one command byte and the data. This module opens the socket, writes
 * commands (buffered until the next read, the way an MTA's stream does),
 * reads packets with a per-operation timeout and a hard size limit, and
 * decodes the option negotiation and the replies. It knows nothing about
 * scenarios or MTA macro profiles. The constants are written out here rather
 * than taken from <libmilter/mfdef.h> so that the client builds and tests
 * without libmilter.
 *
 * Thread-safety: an McConn belongs to one thread; the functions keep no
 * other state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MC_PROTO_ERROR (mc_proto_error_quark())
typedef enum {
	MC_PROTO_ERROR_SPEC,	 /* bad socket specification */
	MC_PROTO_ERROR_IO,	 /* connect/read/write failed */
	MC_PROTO_ERROR_TIMEOUT,	 /* the milter did not answer in time */
	MC_PROTO_ERROR_CLOSED,	 /* the milter closed the connection between packets */
	MC_PROTO_ERROR_PROTOCOL, /* the milter sent something malformed or unexpected */
} McProtoError;
GQuark mc_proto_error_quark(void);

/* the version and masks that Postfix 3.7 and Sendmail 8.17 offer */
#define MC_PROTO_VERSION 6u
#define MC_PROTO_ACTIONS 0x1ffu
#define MC_PROTO_PROTOCOL 0x1fffffu

/* largest packet accepted from a milter (length field value) */
#define MC_PROTO_MAX_PACKET (1024u * 1024u)
/* largest body chunk sent, as both MTAs do */
#define MC_PROTO_BODY_CHUNK 65535u

/* commands (MTA to milter) */
#define MC_CMD_ABORT 'A'
#define MC_CMD_BODY 'B'
#define MC_CMD_CONNECT 'C'
#define MC_CMD_MACRO 'D'
#define MC_CMD_BODYEOB 'E'
#define MC_CMD_HELO 'H'
#define MC_CMD_QUIT_NC 'K'
#define MC_CMD_HEADER 'L'
#define MC_CMD_MAIL 'M'
#define MC_CMD_EOH 'N'
#define MC_CMD_OPTNEG 'O'
#define MC_CMD_QUIT 'Q'
#define MC_CMD_RCPT 'R'
#define MC_CMD_DATA 'T'

/* replies (milter to MTA) */
#define MC_REPLY_ADDRCPT '+'
#define MC_REPLY_DELRCPT '-'
#define MC_REPLY_ADDRCPT_PAR '2'
#define MC_REPLY_SHUTDOWN '4'
#define MC_REPLY_ACCEPT 'a'
#define MC_REPLY_REPLBODY 'b'
#define MC_REPLY_CONTINUE 'c'
#define MC_REPLY_DISCARD 'd'
#define MC_REPLY_CHGFROM 'e'
#define MC_REPLY_CONNFAIL 'f'
#define MC_REPLY_ADDHEADER 'h'
#define MC_REPLY_INSHEADER 'i'
#define MC_REPLY_CHGHEADER 'm'
#define MC_REPLY_PROGRESS 'p'
#define MC_REPLY_QUARANTINE 'q'
#define MC_REPLY_REJECT 'r'
#define MC_REPLY_SKIP 's'
#define MC_REPLY_TEMPFAIL 't'
#define MC_REPLY_REPLYCODE 'y'

/* address families in SMFIC_CONNECT */
#define MC_FAMILY_UNKNOWN 'U'
#define MC_FAMILY_UNIX 'L'
#define MC_FAMILY_INET '4'
#define MC_FAMILY_INET6 '6'

/* protocol flags the milter returns in SMFIC_OPTNEG */
#define MC_P_NOCONNECT 0x00000001u
#define MC_P_NOHELO 0x00000002u
#define MC_P_NOMAIL 0x00000004u
#define MC_P_NORCPT 0x00000008u
#define MC_P_NOBODY 0x00000010u
#define MC_P_NOHDRS 0x00000020u
#define MC_P_NOEOH 0x00000040u
#define MC_P_NR_HDR 0x00000080u
#define MC_P_NOUNKNOWN 0x00000100u
#define MC_P_NODATA 0x00000200u
#define MC_P_SKIP 0x00000400u
#define MC_P_RCPT_REJ 0x00000800u
#define MC_P_NR_CONN 0x00001000u
#define MC_P_NR_HELO 0x00002000u
#define MC_P_NR_MAIL 0x00004000u
#define MC_P_NR_RCPT 0x00008000u
#define MC_P_NR_DATA 0x00010000u
#define MC_P_NR_UNKN 0x00020000u
#define MC_P_NR_EOH 0x00040000u
#define MC_P_NR_BODY 0x00080000u
#define MC_P_HDR_LEADSPC 0x00100000u
/* bits libmilter uses between itself and the MTA (data size negotiation) */
#define MC_P_INTERNAL 0x70000000u

/*
 * Macro stages, numbered as on the wire (SMFIM_*): the stage number is what
 * a milter's symbol list names, so the enum doubles as the array index.
 */
typedef enum {
	MC_STAGE_CONNECT = 0,
	MC_STAGE_HELO = 1,
	MC_STAGE_MAIL = 2,
	MC_STAGE_RCPT = 3,
	MC_STAGE_DATA = 4,
	MC_STAGE_EOM = 5,
	MC_STAGE_EOH = 6,
	MC_STAGE_COUNT = 7,
} McStage;

/* "connect", "helo", "mail", "rcpt", "data", "eom", "eoh" */
const char *mc_stage_name(McStage stage);

/* parses a stage name (also "envfrom", "envrcpt"); FALSE if unknown */
gboolean mc_stage_parse(const char *name, McStage *stage_out);

/* the command byte a stage's macros are sent for ('C', 'H', 'M', ...) */
char mc_stage_command(McStage stage);

typedef struct {
	guint32 version;
	guint32 actions;
	guint32 protocol;
	/* the milter's requested macro list per stage, or NULL when it sent none */
	char *macro_lists[MC_STAGE_COUNT];
} McNegotiation;

void mc_negotiation_clear(McNegotiation *negotiation);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(McNegotiation, mc_negotiation_clear)

typedef enum {
	MC_MOD_ADDHEADER,
	MC_MOD_INSHEADER,
	MC_MOD_CHGHEADER,
	MC_MOD_REPLBODY,
	MC_MOD_ADDRCPT,
	MC_MOD_DELRCPT,
	MC_MOD_CHGFROM,
	MC_MOD_QUARANTINE,
	MC_MOD_COUNT,
} McModKind;

/* "addheader", "insheader", ... as used in reports and expect-mod */
const char *mc_mod_kind_name(McModKind kind);
gboolean mc_mod_kind_parse(const char *name, McModKind *kind_out);

typedef struct {
	McModKind kind;
	char *text; /* rendering, printable ASCII (see mc_proto_escape) */
	/* header modifications: the index (instance or position), name and value as sent */
	guint32 index;
	char *name;
	char *value; /* NUL-free by the protocol */
} McMod;

void mc_mod_free(McMod *mod);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(McMod, mc_mod_free)

/* the final answer to one command */
typedef enum {
	MC_ANSWER_CONTINUE,
	MC_ANSWER_ACCEPT,
	MC_ANSWER_REJECT,
	MC_ANSWER_TEMPFAIL,
	MC_ANSWER_DISCARD,
	MC_ANSWER_REPLYCODE,
	MC_ANSWER_SKIP,
	MC_ANSWER_CONNFAIL,
	MC_ANSWER_SHUTDOWN,
} McAnswer;

typedef struct {
	McAnswer answer;
	char *smtp_reply; /* REPLYCODE only: the text as sent, without the NUL */
	GPtrArray *mods;  /* McMod*, in arrival order; only after end of message */
	guint progress;	  /* SMFIR_PROGRESS packets seen */
} McReply;

void mc_reply_clear(McReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(McReply, mc_reply_clear)

typedef struct _McConn McConn;

/*
 * mc_conn_open:
 * Connects to "unix:PATH", "local:PATH", "PATH" (absolute), "inet:PORT@HOST",
 * "inet6:PORT@HOST" (HOST may be bracketed) within timeout_ms. trace != 0
 * logs every packet to stderr.
 * Returns: (transfer full) the connection, or NULL with MC_PROTO_ERROR_SPEC
 * or MC_PROTO_ERROR_IO.
 */
McConn *mc_conn_open(const char *spec, guint timeout_ms, gboolean trace, GError **error);
void mc_conn_free(McConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(McConn, mc_conn_free)

/*
 * mc_conn_queue:
 * Appends one command packet to the output buffer; nothing is written until
 * mc_conn_flush() or the next read, so a macro packet and its command leave
 * in one write as they do from a real MTA.
 */
void mc_conn_queue(McConn *conn, char cmd, const void *data, gsize len);

/* writes the output buffer; MC_PROTO_ERROR_CLOSED when the peer has gone */
gboolean mc_conn_flush(McConn *conn, GError **error);

/*
 * mc_conn_recv:
 * Flushes, then reads one packet within the timeout. A length of 0 or above
 * MC_PROTO_MAX_PACKET is a protocol error; end of file before the first byte
 * is MC_PROTO_ERROR_CLOSED, inside a packet a protocol error.
 * Returns: (transfer full) the data in *data_out.
 */
gboolean mc_conn_recv(McConn *conn, char *cmd_out, GByteArray **data_out, GError **error);

/*
 * mc_proto_negotiate:
 * Sends SMFIC_OPTNEG with MC_PROTO_VERSION/ACTIONS/PROTOCOL and decodes the
 * answer, including the optional symbol lists. A version above 6, or action
 * or protocol bits that were not offered, are protocol errors.
 */
gboolean mc_proto_negotiate(McConn *conn, McNegotiation *negotiation_out, GError **error);

/*
 * mc_proto_read_reply:
 * Reads packets until a final answer to the command cmd. Progress packets
 * are counted; modification requests are accepted only when cmd is
 * MC_CMD_BODYEOB. leadspc tells how header values are rendered (with
 * SMFIP_HDR_LEADSPC the milter supplies the space after the colon).
 */
gboolean mc_proto_read_reply(McConn *conn, char cmd, gboolean leadspc, McReply *reply_out,
			     GError **error);

/*
 * mc_proto_escape:
 * Renders bytes as printable ASCII: backslash becomes "\\", CR "\r", LF
 * "\n", TAB "\t", other bytes outside 0x20..0x7e "\xHH".
 * Returns: (transfer full) the string.
 */
char *mc_proto_escape(const void *data, gsize len);

/* the same, appended to a GString */
void mc_proto_escape_append(GString *out, const void *data, gsize len);

G_END_DECLS
