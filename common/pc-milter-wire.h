/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-milter-wire: the milter protocol, version 6, as the milter side speaks
 * it (what Postfix 2.6+ and Sendmail 8.14+ offer). A packet is a 32-bit
 * big-endian length, covering the command byte and the data, then the
 * command byte and the data.
 *
 * Pure: framing with a hard size limit, the decoding of each command's
 * arguments, the encoding of replies. No I/O; pc-milter-conn does that. The
 * values are the protocol's (fixed since Sendmail 8.14); they are written
 * out here so that the daemons need no libmilter.
 *
 * Every decoder works on a packet's own bytes, returns views into them, and
 * refuses what is malformed (a string without its NUL, a short address)
 * rather than guessing: the connection is then closed, and the MTA applies
 * its milter_default_action to the SMTP session.
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PC_MILTER_WIRE_VERSION 6u
/* the oldest MTA version served: 2 is the first with OPTNEG flags */
#define PC_MILTER_WIRE_VERSION_MIN 2u
/*
 * the largest length field accepted. Body chunks are 65,535 bytes unless a
 * larger size is negotiated (we never ask), but a header goes in one
 * packet whatever its length: Postfix's header_size_limit is 102,400 bytes
 * by default, and admins raise it. 1 MiB bounds the buffer per connection.
 */
#define PC_MILTER_WIRE_MAX_PACKET (1024u * 1024u)

/* commands, MTA to milter */
#define PC_MILTER_CMD_ABORT 'A'
#define PC_MILTER_CMD_BODY 'B'
#define PC_MILTER_CMD_CONNECT 'C'
#define PC_MILTER_CMD_MACRO 'D'
#define PC_MILTER_CMD_EOM 'E'
#define PC_MILTER_CMD_HELO 'H'
#define PC_MILTER_CMD_QUIT_NC 'K'
#define PC_MILTER_CMD_HEADER 'L'
#define PC_MILTER_CMD_MAIL 'M'
#define PC_MILTER_CMD_EOH 'N'
#define PC_MILTER_CMD_OPTNEG 'O'
#define PC_MILTER_CMD_QUIT 'Q'
#define PC_MILTER_CMD_RCPT 'R'
#define PC_MILTER_CMD_DATA 'T'
#define PC_MILTER_CMD_UNKNOWN 'U'

/* replies, milter to MTA */
#define PC_MILTER_REPLY_ACCEPT 'a'
#define PC_MILTER_REPLY_CONTINUE 'c'
#define PC_MILTER_REPLY_DISCARD 'd'
#define PC_MILTER_REPLY_ADDHEADER 'h'
#define PC_MILTER_REPLY_INSHEADER 'i'
#define PC_MILTER_REPLY_CHGHEADER 'm'
#define PC_MILTER_REPLY_QUARANTINE 'q'
#define PC_MILTER_REPLY_REJECT 'r'
#define PC_MILTER_REPLY_TEMPFAIL 't'
#define PC_MILTER_REPLY_REPLYCODE 'y'

/* actions (OPTNEG's second word) */
#define PC_MILTER_ACT_ADDHDRS 0x001u
#define PC_MILTER_ACT_CHGHDRS 0x010u
#define PC_MILTER_ACT_QUARANTINE 0x020u
#define PC_MILTER_ACT_SETSYMLIST 0x100u

/* protocol flags (OPTNEG's third word): skip a stage, or send it without awaiting a reply */
#define PC_MILTER_P_NOCONNECT 0x00000001u
#define PC_MILTER_P_NOHELO 0x00000002u
#define PC_MILTER_P_NOMAIL 0x00000004u
#define PC_MILTER_P_NORCPT 0x00000008u
#define PC_MILTER_P_NOBODY 0x00000010u
#define PC_MILTER_P_NOHDRS 0x00000020u
#define PC_MILTER_P_NOEOH 0x00000040u
#define PC_MILTER_P_NR_HDR 0x00000080u
#define PC_MILTER_P_NOUNKNOWN 0x00000100u
#define PC_MILTER_P_NODATA 0x00000200u
#define PC_MILTER_P_NR_CONN 0x00001000u
#define PC_MILTER_P_NR_HELO 0x00002000u
#define PC_MILTER_P_NR_MAIL 0x00004000u
#define PC_MILTER_P_NR_RCPT 0x00008000u
#define PC_MILTER_P_NR_DATA 0x00010000u
#define PC_MILTER_P_NR_UNKN 0x00020000u
#define PC_MILTER_P_NR_EOH 0x00040000u
#define PC_MILTER_P_NR_BODY 0x00080000u
#define PC_MILTER_P_HDR_LEADSPC 0x00100000u

/* the macro lists of OPTNEG's reply, numbered as on the wire */
typedef enum {
	PC_MILTER_MACROS_CONNECT = 0,
	PC_MILTER_MACROS_HELO = 1,
	PC_MILTER_MACROS_MAIL = 2,
	PC_MILTER_MACROS_RCPT = 3,
	PC_MILTER_MACROS_DATA = 4,
	PC_MILTER_MACROS_EOM = 5,
	PC_MILTER_MACROS_EOH = 6,
	PC_MILTER_MACROS_N = 7,
} PcMilterMacroList;

typedef struct {
	guint8 command;
	const guint8 *data; /* into the buffer framed */
	gsize len;
} PcMilterPacket;

typedef enum {
	PC_MILTER_FRAME_MORE,	/* not complete yet: *need_out bytes in all are needed */
	PC_MILTER_FRAME_PACKET, /* *packet_out is complete; *used_out bytes were taken */
	PC_MILTER_FRAME_ERROR,	/* a length of 0 or over PC_MILTER_WIRE_MAX_PACKET */
} PcMilterFrame;

/* frames the first packet of buf[0..len) */
PcMilterFrame pc_milter_wire_frame(const guint8 *buf, gsize len, PcMilterPacket *packet_out,
				   gsize *used_out, gsize *need_out);

/* OPTNEG: the MTA's version, actions and protocol flags; FALSE when shorter than 12 bytes */
gboolean pc_milter_wire_optneg(const PcMilterPacket *packet, guint32 *version_out,
			       guint32 *actions_out, guint32 *protocol_out);

/*
 * (transfer container) the NUL-terminated strings of data[0..len), as a
 * NULL-terminated vector of views into data; NULL when len is 0 or the last
 * byte is not a NUL. *n_out (optional) is their number.
 */
const char **pc_milter_wire_strings(const guint8 *data, gsize len, guint *n_out);

typedef struct {
	const char *hostname;
	char family;	     /* 'U' unknown, 'L' unix, '4', '6' */
	guint16 port;	     /* 0 for 'U' and 'L' */
	const char *address; /* NULL for 'U' */
} PcMilterConnect;

/* CONNECT: host name, family, port and address; FALSE when malformed or of an unknown family */
gboolean pc_milter_wire_connect(const PcMilterPacket *packet, PcMilterConnect *connect_out);

/* HEADER: exactly a name and a value, each NUL-terminated; FALSE otherwise */
gboolean pc_milter_wire_header(const PcMilterPacket *packet, const char **name_out,
			       const char **value_out);

/*
 * MACRO: the command the macros are for, and (transfer container) the
 * name, value, name, value, ... vector, NULL-terminated. A name without a
 * value is dropped (no MTA sends one); FALSE when the packet is empty or
 * its strings are not NUL-terminated.
 */
gboolean pc_milter_wire_macros(const PcMilterPacket *packet, guint8 *command_out,
			       const char ***pairs_out);

/* the macro list a command's macros belong to; -1 for a command without one */
int pc_milter_wire_macro_list(guint8 command);

/* appends a packet: command, then len bytes of data */
void pc_milter_wire_put(GByteArray *out, guint8 command, const void *data, gsize len);

/* appends OPTNEG's reply; lists[i] NULL or empty: none sent for list i */
void pc_milter_wire_put_optneg(GByteArray *out, guint32 version, guint32 actions, guint32 protocol,
			       const char *const lists[PC_MILTER_MACROS_N]);

/* appends a packet whose data are NUL-terminated strings, after an index when with_index */
void pc_milter_wire_put_strings(GByteArray *out, guint8 command, gboolean with_index, guint32 index,
				const char *first, const char *second);

G_END_DECLS
