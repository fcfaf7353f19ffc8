/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-milter-wire: framing at every split of a byte stream and at
 * the length bounds; each command's decoder on its well-formed forms and on
 * every truncation of them (generated, not picked); the replies against
 * byte strings written out by hand from the protocol's layout.
 */
#include <string.h>

#include <glib.h>

#include "pc-milter-wire.h"

/* a packet as the MTA writes it: length, command, data */
static GByteArray *
packet(guint8 command, const void *data, gsize len)
{
	GByteArray *out = g_byte_array_new();

	pc_milter_wire_put(out, command, data, len);
	return out;
}

static PcMilterPacket
view(guint8 command, const void *data, gsize len)
{
	return (PcMilterPacket){.command = command, .data = data, .len = len};
}

/* ------------------------------------------------------------- framing */

/* three packets in one stream, fed with every possible first cut */
static void
test_frame_every_split(void)
{
	g_autoptr(GByteArray) stream = g_byte_array_new();
	const guint8 helo[] = "client.test";
	const guint8 body[] = "0123456789";

	pc_milter_wire_put(stream, PC_MILTER_CMD_HELO, helo, sizeof(helo));
	pc_milter_wire_put(stream, PC_MILTER_CMD_DATA, NULL, 0);
	pc_milter_wire_put(stream, PC_MILTER_CMD_BODY, body, 10);
	for (gsize cut = 0; cut <= stream->len; cut++) {
		gsize at = 0;
		guint got = 0;
		/* the bytes arrive: first `cut` of them, then all */
		gsize available = cut;

		for (;;) {
			PcMilterPacket p;
			gsize used = 0;
			gsize need = 0;
			PcMilterFrame frame = pc_milter_wire_frame(
			    stream->data + at, available - at, &p, &used, &need);

			g_assert_cmpint(frame, !=, PC_MILTER_FRAME_ERROR);
			if (frame == PC_MILTER_FRAME_MORE) {
				g_assert_cmpuint(need, >, available - at);
				if (available == stream->len)
					break;
				available = stream->len;
				continue;
			}
			g_assert_cmpuint(used, <=, available - at);
			switch (got++) {
			case 0:
				g_assert_cmpint(p.command, ==, 'H');
				g_assert_cmpuint(p.len, ==, sizeof(helo));
				g_assert_cmpmem(p.data, p.len, helo, sizeof(helo));
				break;
			case 1:
				g_assert_cmpint(p.command, ==, 'T');
				g_assert_cmpuint(p.len, ==, 0);
				break;
			case 2:
				g_assert_cmpint(p.command, ==, 'B');
				g_assert_cmpmem(p.data, p.len, body, 10);
				break;
			}
			at += used;
		}
		g_assert_cmpuint(got, ==, 3);
		g_assert_cmpuint(at, ==, stream->len);
	}
}

static void
test_frame_bounds(void)
{
	const struct {
		guint32 length;
		PcMilterFrame want; /* with only the 4 length bytes and one more present */
	} cases[] = {
	    {0, PC_MILTER_FRAME_ERROR},
	    {1, PC_MILTER_FRAME_PACKET},
	    {2, PC_MILTER_FRAME_MORE},
	    {PC_MILTER_WIRE_MAX_PACKET, PC_MILTER_FRAME_MORE},
	    {PC_MILTER_WIRE_MAX_PACKET + 1, PC_MILTER_FRAME_ERROR},
	    {0x7fffffffu, PC_MILTER_FRAME_ERROR},
	    {0xffffffffu, PC_MILTER_FRAME_ERROR},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint8 bytes[5] = {cases[i].length >> 24, cases[i].length >> 16,
				   cases[i].length >> 8, cases[i].length, 'T'};
		PcMilterPacket p;
		gsize used = 9;
		gsize need = 0;

		g_assert_cmpint(pc_milter_wire_frame(bytes, 5, &p, &used, &need), ==,
				cases[i].want);
		if (cases[i].want == PC_MILTER_FRAME_MORE)
			g_assert_cmpuint(need, ==, 4 + (gsize)cases[i].length);
		if (cases[i].want != PC_MILTER_FRAME_PACKET)
			g_assert_cmpuint(used, ==, 0);
	}
	/* fewer than 4 bytes: never an error, always more */
	for (gsize len = 0; len < 4; len++) {
		const guint8 zeros[4] = {0};
		PcMilterPacket p;
		gsize used;
		gsize need;

		g_assert_cmpint(pc_milter_wire_frame(zeros, len, &p, &used, &need), ==,
				PC_MILTER_FRAME_MORE);
	}
}

/* ------------------------------------------------------------- decoders */

static void
test_optneg(void)
{
	const guint8 offer[] = {0, 0, 0, 6, 0, 0, 1, 0xff, 0, 0x1f, 0xff, 0xff};
	guint32 version;
	guint32 actions;
	guint32 protocol;

	for (gsize len = 0; len < sizeof(offer); len++) {
		PcMilterPacket p = view('O', offer, len);

		g_assert_false(pc_milter_wire_optneg(&p, &version, &actions, &protocol));
	}
	{
		PcMilterPacket p = view('O', offer, sizeof(offer));

		g_assert_true(pc_milter_wire_optneg(&p, &version, &actions, &protocol));
		g_assert_cmphex(version, ==, 6);
		g_assert_cmphex(actions, ==, 0x1ff);
		g_assert_cmphex(protocol, ==, 0x1fffff);
	}
}

static void
test_strings(void)
{
	const struct {
		const char *bytes;
		gsize len;
		int n; /* -1: refused */
	} cases[] = {
	    {"", 0, -1},      {"a", 1, -1},
	    {"\0", 1, 1},     {"a\0", 2, 1},
	    {"a\0b", 3, -1},  {"a\0b\0", 4, 2},
	    {"\0\0\0", 3, 3}, {"<a@b>\0SIZE=10\0BODY=8BITMIME\0", 28, 3},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		guint n = 0;
		g_autofree const char **strings =
		    pc_milter_wire_strings((const guint8 *)cases[i].bytes, cases[i].len, &n);

		if (cases[i].n < 0) {
			g_assert_null(strings);
			continue;
		}
		g_assert_nonnull(strings);
		g_assert_cmpuint(n, ==, (guint)cases[i].n);
		g_assert_null(strings[n]);
		for (guint j = 0; j < n; j++)
			g_assert_true(strings[j] >= cases[i].bytes &&
				      strings[j] < cases[i].bytes + cases[i].len);
	}
}

/* a CONNECT's data as Postfix and Sendmail write it */
static GByteArray *
connect_data(const char *host, char family, guint16 port, const char *address)
{
	GByteArray *data = g_byte_array_new();
	guint8 family_byte = (guint8)family;

	g_byte_array_append(data, (const guint8 *)host, (guint)strlen(host) + 1);
	g_byte_array_append(data, &family_byte, 1);
	if (family != 'U') {
		guint8 port_bytes[2] = {port >> 8, port & 0xff};

		g_byte_array_append(data, port_bytes, 2);
		g_byte_array_append(data, (const guint8 *)address, (guint)strlen(address) + 1);
	}
	return data;
}

static void
test_connect(void)
{
	const struct {
		const char *host;
		char family;
		guint16 port;
		const char *address;
	} good[] = {
	    {"mail.example.net", '4', 40000, "192.0.2.7"},
	    {"unknown", '6', 25, "2001:db8::7"},
	    {"[IPv6:2001:db8::1]", '6', 1, "IPv6:2001:db8::1"},
	    {"localhost", 'L', 0, "/run/client.sock"},
	    {"unknown", 'U', 0, NULL},
	    {"", '4', 65535, "0.0.0.0"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GByteArray) data =
		    connect_data(good[i].host, good[i].family, good[i].port, good[i].address);
		PcMilterPacket p = view('C', data->data, data->len);
		PcMilterConnect c;

		g_assert_true(pc_milter_wire_connect(&p, &c));
		g_assert_cmpstr(c.hostname, ==, good[i].host);
		g_assert_cmpint(c.family, ==, good[i].family);
		g_assert_cmpuint(c.port, ==, good[i].port);
		g_assert_cmpstr(c.address, ==, good[i].address);
		/* every truncation is refused, except U's: its host and family alone are whole */
		for (gsize len = 0; len < data->len; len++) {
			PcMilterPacket cut = view('C', data->data, len);

			g_assert_false(pc_milter_wire_connect(&cut, &c));
		}
		/* a byte more after the address: refused (U tolerates one NUL) */
		{
			g_autoptr(GByteArray) longer = g_byte_array_new();
			const guint8 extra = 'x';

			g_byte_array_append(longer, data->data, data->len);
			g_byte_array_append(longer, &extra, 1);
			p = view('C', longer->data, longer->len);
			g_assert_false(pc_milter_wire_connect(&p, &c));
		}
	}
	/* unknown families, and a NUL inside the address */
	for (const char *family = "XZ0\xff"; *family != '\0'; family++) {
		g_autoptr(GByteArray) data = connect_data("h", *family, 1, "192.0.2.1");
		PcMilterPacket p = view('C', data->data, data->len);
		PcMilterConnect c;

		g_assert_false(pc_milter_wire_connect(&p, &c));
	}
	{
		const guint8 data[] = "h\0"
				      "4\x9c\x40"
				      "192.0\0.2.1";
		PcMilterPacket p = view('C', data, sizeof(data));
		PcMilterConnect c;

		g_assert_false(pc_milter_wire_connect(&p, &c));
	}
}

static void
test_header(void)
{
	const struct {
		const char *bytes;
		gsize len;
		const char *name; /* NULL: refused */
		const char *value;
	} cases[] = {
	    {"Subject\0hello\0", 14, "Subject", "hello"},
	    {"X\0\0", 3, "X", ""},
	    {"\0\0", 2, "", ""},
	    {"Subject\0", 8, NULL, NULL},
	    {"Subject\0hello", 13, NULL, NULL},
	    {"a\0b\0c\0", 6, NULL, NULL},
	    {"", 0, NULL, NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		PcMilterPacket p = view('L', cases[i].bytes, cases[i].len);
		const char *name = NULL;
		const char *value = NULL;
		gboolean ok = pc_milter_wire_header(&p, &name, &value);

		g_assert_cmpint(ok, ==, cases[i].name != NULL);
		if (ok) {
			g_assert_cmpstr(name, ==, cases[i].name);
			g_assert_cmpstr(value, ==, cases[i].value);
		}
	}
}

static void
test_macros(void)
{
	const struct {
		const char *bytes;
		gsize len;
		gboolean ok;
		guint8 command;
		guint pairs; /* name/value pairs kept */
	} cases[] = {
	    {"", 0, FALSE, 0, 0},
	    {"C", 1, TRUE, 'C', 0},
	    {"Cj\0mx.test\0", 11, TRUE, 'C', 1},
	    {"M{auth_authen}\0alice\0i\0ABC\0", 27, TRUE, 'M', 2},
	    /* an unpaired name is dropped, not read past */
	    {"Ei\0ABC\0{odd}\0", 13, TRUE, 'E', 1},
	    {"E{odd}\0", 7, TRUE, 'E', 0},
	    {"Ci\0ABC", 6, FALSE, 0, 0},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		PcMilterPacket p = view('D', cases[i].bytes, cases[i].len);
		guint8 command = 0;
		g_autofree const char **pairs = NULL;
		guint n = 0;

		g_assert_cmpint(pc_milter_wire_macros(&p, &command, &pairs), ==, cases[i].ok);
		if (!cases[i].ok) {
			g_assert_null(pairs);
			continue;
		}
		g_assert_cmpint(command, ==, cases[i].command);
		while (pairs[n] != NULL)
			n++;
		g_assert_cmpuint(n, ==, 2 * cases[i].pairs);
	}
	/* every command with a macro list, and some without */
	g_assert_cmpint(pc_milter_wire_macro_list('C'), ==, PC_MILTER_MACROS_CONNECT);
	g_assert_cmpint(pc_milter_wire_macro_list('H'), ==, PC_MILTER_MACROS_HELO);
	g_assert_cmpint(pc_milter_wire_macro_list('M'), ==, PC_MILTER_MACROS_MAIL);
	g_assert_cmpint(pc_milter_wire_macro_list('R'), ==, PC_MILTER_MACROS_RCPT);
	g_assert_cmpint(pc_milter_wire_macro_list('T'), ==, PC_MILTER_MACROS_DATA);
	g_assert_cmpint(pc_milter_wire_macro_list('E'), ==, PC_MILTER_MACROS_EOM);
	g_assert_cmpint(pc_milter_wire_macro_list('N'), ==, PC_MILTER_MACROS_EOH);
	for (const char *other = "LBAQKOUZ"; *other != '\0'; other++)
		g_assert_cmpint(pc_milter_wire_macro_list((guint8)*other), ==, -1);
}

/* -------------------------------------------------------------- replies */

static void
test_put(void)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	const char *lists[PC_MILTER_MACROS_N] = {[PC_MILTER_MACROS_CONNECT] = "j",
						 [PC_MILTER_MACROS_EOH] = "i",
						 [PC_MILTER_MACROS_RCPT] = ""};
	/* written out from the layout: length, 'O', version, actions, protocol, lists */
	const guint8 want_optneg[] = {0, 0,    0,    0x19, 'O',	 0,    0,    0,	  6, 0,
				      0, 0x01, 0x11, 0,	   0x10, 0x01, 0x00, 0,	  0, 0,
				      0, 'j',  0,    0,	   0,	 0,    6,    'i', 0};
	const guint8 want_continue[] = {0, 0, 0, 1, 'c'};
	const guint8 want_ins[] = {0, 0, 0, 0x0b, 'i', 0, 0, 0, 2, 'X', '-', 'A', 0, 'v', 0};
	const guint8 want_reply[] = {0,	  0,   0,   0x0b, 'y', '5', '5', '0',
				     ' ', '5', '.', '7',  '.', '1', 0};

	pc_milter_wire_put_optneg(out, 6, 0x111, 0x100100, lists);
	g_assert_cmpmem(out->data, out->len, want_optneg, sizeof(want_optneg));
	g_byte_array_set_size(out, 0);
	pc_milter_wire_put(out, 'c', NULL, 0);
	g_assert_cmpmem(out->data, out->len, want_continue, sizeof(want_continue));
	g_byte_array_set_size(out, 0);
	pc_milter_wire_put_strings(out, 'i', TRUE, 2, "X-A", "v");
	g_assert_cmpmem(out->data, out->len, want_ins, sizeof(want_ins));
	g_byte_array_set_size(out, 0);
	pc_milter_wire_put_strings(out, 'y', FALSE, 0, "550 5.7.1", NULL);
	g_assert_cmpmem(out->data, out->len, want_reply, sizeof(want_reply));
}

/* what is written frames back to the same command and data */
static void
test_put_frames_back(void)
{
	const gsize sizes[] = {0, 1, 255, 256, 65535, 65536, PC_MILTER_WIRE_MAX_PACKET - 1};

	for (gsize i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autofree guint8 *data = g_malloc(MAX(sizes[i], 1));
		g_autoptr(GByteArray) out = NULL;
		PcMilterPacket p;
		gsize used = 0;
		gsize need = 0;

		for (gsize j = 0; j < sizes[i]; j++)
			data[j] = (guint8)(j * 7);
		out = packet('B', data, sizes[i]);
		g_assert_cmpint(pc_milter_wire_frame(out->data, out->len, &p, &used, &need), ==,
				PC_MILTER_FRAME_PACKET);
		g_assert_cmpuint(used, ==, out->len);
		g_assert_cmpmem(p.data, p.len, data, sizes[i]);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pc/milter-wire/frame/every-split", test_frame_every_split);
	g_test_add_func("/pc/milter-wire/frame/bounds", test_frame_bounds);
	g_test_add_func("/pc/milter-wire/optneg", test_optneg);
	g_test_add_func("/pc/milter-wire/strings", test_strings);
	g_test_add_func("/pc/milter-wire/connect", test_connect);
	g_test_add_func("/pc/milter-wire/header", test_header);
	g_test_add_func("/pc/milter-wire/macros", test_macros);
	g_test_add_func("/pc/milter-wire/put", test_put);
	g_test_add_func("/pc/milter-wire/put-frames-back", test_put_frames_back);
	return g_test_run();
}
