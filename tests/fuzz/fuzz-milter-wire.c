/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc-milter-wire: the input is a byte stream from the
 * MTA's side of a milter connection. It is framed packet by packet, as
 * pc-milter-conn does, and each packet goes to the decoder of its command.
 *
 * Besides crashes and sanitizer reports it checks: a frame never claims
 * more bytes than are there nor a length over the bound; every view a
 * decoder returns lies inside its packet and ends at a NUL inside it; macro
 * vectors hold name/value pairs; and what the decoders accepted, written
 * back with the encoders, frames and decodes to the same strings.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-milter-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s is a string that starts inside the packet and ends at a NUL inside it */
static void
fuzz_check_view(const PcMilterPacket *packet, const char *s)
{
	const guint8 *start = (const guint8 *)s;

	g_assert_true(start >= packet->data && start < packet->data + packet->len);
	g_assert_nonnull(memchr(start, '\0', (gsize)(packet->data + packet->len - start)));
}

static void
fuzz_check_strings_back(guint8 command, const char *first, const char *second)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	PcMilterPacket again;
	gsize used = 0;
	gsize need = 0;
	guint n = 0;
	g_autofree const char **strings = NULL;

	pc_milter_wire_put_strings(out, command, FALSE, 0, first, second);
	g_assert_cmpint(pc_milter_wire_frame(out->data, out->len, &again, &used, &need), ==,
			PC_MILTER_FRAME_PACKET);
	g_assert_cmpuint(used, ==, out->len);
	strings = pc_milter_wire_strings(again.data, again.len, &n);
	g_assert_nonnull(strings);
	g_assert_cmpuint(n, ==, second != NULL ? 2 : 1);
	g_assert_cmpstr(strings[0], ==, first);
	if (second != NULL)
		g_assert_cmpstr(strings[1], ==, second);
}

static void
fuzz_packet(const PcMilterPacket *packet)
{
	switch (packet->command) {
	case 'O': {
		guint32 version;
		guint32 actions;
		guint32 protocol;

		g_assert_cmpint(pc_milter_wire_optneg(packet, &version, &actions, &protocol), ==,
				packet->len >= 12);
		break;
	}
	case 'C': {
		PcMilterConnect connect;

		if (!pc_milter_wire_connect(packet, &connect))
			break;
		fuzz_check_view(packet, connect.hostname);
		g_assert_true(strchr("UL46", connect.family) != NULL && connect.family != '\0');
		if (connect.family == 'U') {
			g_assert_null(connect.address);
			break;
		}
		fuzz_check_view(packet, connect.address);
		break;
	}
	case 'L': {
		const char *name;
		const char *value;

		if (!pc_milter_wire_header(packet, &name, &value))
			break;
		fuzz_check_view(packet, name);
		fuzz_check_view(packet, value);
		fuzz_check_strings_back('L', name, value);
		break;
	}
	case 'D': {
		guint8 command = 0;
		g_autofree const char **pairs = NULL;
		gsize n = 0;

		if (!pc_milter_wire_macros(packet, &command, &pairs)) {
			g_assert_null(pairs);
			break;
		}
		g_assert_cmpint(command, ==, packet->data[0]);
		for (n = 0; pairs[n] != NULL; n++)
			fuzz_check_view(packet, pairs[n]);
		g_assert_cmpuint(n % 2, ==, 0);
		break;
	}
	default: {
		guint n = 0;
		g_autofree const char **strings =
		    pc_milter_wire_strings(packet->data, packet->len, &n);

		if (strings == NULL)
			break;
		for (guint i = 0; i < n; i++)
			fuzz_check_view(packet, strings[i]);
		g_assert_null(strings[n]);
		fuzz_check_strings_back(packet->command, strings[0], n > 1 ? strings[1] : NULL);
		break;
	}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gsize at = 0;

	if (size > 64 * 1024)
		return 0;
	while (at < size) {
		PcMilterPacket packet;
		gsize used = 0;
		gsize need = 0;
		PcMilterFrame frame =
		    pc_milter_wire_frame(data + at, size - at, &packet, &used, &need);

		if (frame == PC_MILTER_FRAME_MORE) {
			g_assert_cmpuint(need, >, size - at);
			g_assert_cmpuint(need, <=, (gsize)PC_MILTER_WIRE_MAX_PACKET + 4);
			break;
		}
		if (frame == PC_MILTER_FRAME_ERROR)
			break;
		g_assert_cmpuint(used, >=, 5);
		g_assert_cmpuint(used, <=, size - at);
		g_assert_cmpuint(packet.len + 5, ==, used);
		fuzz_packet(&packet);
		at += used;
	}
	return 0;
}
