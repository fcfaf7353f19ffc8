/* SPDX-License-Identifier: BSD-2-Clause */
/* pc-milter-wire: framing, decoding and encoding of milter packets; see pc-milter-wire.h */
#include "pc-milter-wire.h"

#include <string.h>

static guint32
get_be32(const guint8 *p)
{
	return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

static void
put_be32(GByteArray *out, guint32 value)
{
	guint8 bytes[4] = {value >> 24, value >> 16, value >> 8, value};

	g_byte_array_append(out, bytes, 4);
}

PcMilterFrame
pc_milter_wire_frame(const guint8 *buf, gsize len, PcMilterPacket *packet_out, gsize *used_out,
		     gsize *need_out)
{
	guint32 length;

	*used_out = 0;
	if (len < 4) {
		*need_out = 5;
		return PC_MILTER_FRAME_MORE;
	}
	length = get_be32(buf);
	/* the length covers the command byte: 0 has none */
	if (length == 0 || length > PC_MILTER_WIRE_MAX_PACKET)
		return PC_MILTER_FRAME_ERROR;
	if (len - 4 < length) {
		*need_out = 4 + (gsize)length;
		return PC_MILTER_FRAME_MORE;
	}
	packet_out->command = buf[4];
	packet_out->data = buf + 5;
	packet_out->len = length - 1;
	*used_out = 4 + (gsize)length;
	return PC_MILTER_FRAME_PACKET;
}

gboolean
pc_milter_wire_optneg(const PcMilterPacket *packet, guint32 *version_out, guint32 *actions_out,
		      guint32 *protocol_out)
{
	if (packet->len < 12)
		return FALSE;
	*version_out = get_be32(packet->data);
	*actions_out = get_be32(packet->data + 4);
	*protocol_out = get_be32(packet->data + 8);
	return TRUE;
}

const char **
pc_milter_wire_strings(const guint8 *data, gsize len, guint *n_out)
{
	const char **strings;
	guint n = 0;
	guint i = 0;

	if (len == 0 || data[len - 1] != '\0')
		return NULL;
	for (gsize at = 0; at < len; at++)
		n += data[at] == '\0';
	strings = g_new(const char *, n + 1);
	for (gsize at = 0; at < len; at += strlen((const char *)data + at) + 1)
		strings[i++] = (const char *)data + at;
	strings[i] = NULL;
	if (n_out != NULL)
		*n_out = n;
	return strings;
}

gboolean
pc_milter_wire_connect(const PcMilterPacket *packet, PcMilterConnect *connect_out)
{
	const guint8 *data = packet->data;
	gsize len = packet->len;
	const guint8 *nul = len > 0 ? memchr(data, '\0', len) : NULL;
	gsize at;

	memset(connect_out, 0, sizeof(*connect_out));
	/* host name, NUL, family */
	if (nul == NULL || (gsize)(nul - data) + 2 > len)
		return FALSE;
	connect_out->hostname = (const char *)data;
	at = (gsize)(nul - data) + 1;
	connect_out->family = (char)data[at++];
	switch (connect_out->family) {
	case 'U':
		/* nothing follows; Sendmail sends nothing, tolerate a stray NUL */
		return at == len || (at + 1 == len && data[at] == '\0');
	case 'L':
	case '4':
	case '6':
		break;
	default:
		return FALSE;
	}
	/* port (2 bytes, network order), address, NUL */
	if (len - at < 3 || data[len - 1] != '\0')
		return FALSE;
	connect_out->port = (guint16)((data[at] << 8) | data[at + 1]);
	at += 2;
	connect_out->address = (const char *)data + at;
	/* exactly one string: no NUL before the last byte */
	return memchr(data + at, '\0', len - at) == data + len - 1;
}

gboolean
pc_milter_wire_header(const PcMilterPacket *packet, const char **name_out, const char **value_out)
{
	guint n = 0;
	g_autofree const char **strings = pc_milter_wire_strings(packet->data, packet->len, &n);

	if (strings == NULL || n != 2)
		return FALSE;
	*name_out = strings[0];
	*value_out = strings[1];
	return TRUE;
}

gboolean
pc_milter_wire_macros(const PcMilterPacket *packet, guint8 *command_out, const char ***pairs_out)
{
	guint n = 0;
	const char **strings;

	*pairs_out = NULL;
	if (packet->len == 0)
		return FALSE;
	*command_out = packet->data[0];
	if (packet->len == 1) {
		*pairs_out = g_new0(const char *, 1);
		return TRUE;
	}
	strings = pc_milter_wire_strings(packet->data + 1, packet->len - 1, &n);
	if (strings == NULL)
		return FALSE;
	/* an unpaired name at the end has no value: dropped */
	if (n % 2 != 0)
		strings[n - 1] = NULL;
	*pairs_out = strings;
	return TRUE;
}

int
pc_milter_wire_macro_list(guint8 command)
{
	switch (command) {
	case PC_MILTER_CMD_CONNECT:
		return PC_MILTER_MACROS_CONNECT;
	case PC_MILTER_CMD_HELO:
		return PC_MILTER_MACROS_HELO;
	case PC_MILTER_CMD_MAIL:
		return PC_MILTER_MACROS_MAIL;
	case PC_MILTER_CMD_RCPT:
		return PC_MILTER_MACROS_RCPT;
	case PC_MILTER_CMD_DATA:
		return PC_MILTER_MACROS_DATA;
	case PC_MILTER_CMD_EOM:
		return PC_MILTER_MACROS_EOM;
	case PC_MILTER_CMD_EOH:
		return PC_MILTER_MACROS_EOH;
	default:
		return -1;
	}
}

void
pc_milter_wire_put(GByteArray *out, guint8 command, const void *data, gsize len)
{
	g_return_if_fail(len < PC_MILTER_WIRE_MAX_PACKET);
	put_be32(out, (guint32)len + 1);
	g_byte_array_append(out, &command, 1);
	if (len > 0)
		g_byte_array_append(out, data, (guint)len);
}

void
pc_milter_wire_put_optneg(GByteArray *out, guint32 version, guint32 actions, guint32 protocol,
			  const char *const lists[PC_MILTER_MACROS_N])
{
	g_autoptr(GByteArray) data = g_byte_array_new();

	put_be32(data, version);
	put_be32(data, actions);
	put_be32(data, protocol);
	for (guint i = 0; lists != NULL && i < PC_MILTER_MACROS_N; i++) {
		if (lists[i] == NULL || lists[i][0] == '\0')
			continue;
		put_be32(data, i);
		g_byte_array_append(data, (const guint8 *)lists[i], (guint)strlen(lists[i]) + 1);
	}
	pc_milter_wire_put(out, PC_MILTER_CMD_OPTNEG, data->data, data->len);
}

void
pc_milter_wire_put_strings(GByteArray *out, guint8 command, gboolean with_index, guint32 index,
			   const char *first, const char *second)
{
	gsize first_len = first != NULL ? strlen(first) + 1 : 0;
	gsize second_len = second != NULL ? strlen(second) + 1 : 0;
	gsize len = (with_index ? 4 : 0) + first_len + second_len;
	guint8 command_byte = command;

	g_return_if_fail(len < PC_MILTER_WIRE_MAX_PACKET);
	put_be32(out, (guint32)len + 1);
	g_byte_array_append(out, &command_byte, 1);
	if (with_index)
		put_be32(out, index);
	if (first != NULL)
		g_byte_array_append(out, (const guint8 *)first, (guint)first_len);
	if (second != NULL)
		g_byte_array_append(out, (const guint8 *)second, (guint)second_len);
}
