/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-net: address parsing and RFC 5952 printing, v4-mapped
 * normalisation, CIDR lists at their boundaries, network keys and socket
 * address conversion. pc-lookup's one function is checked here too, having
 * no module of its own in tests/unit.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include <glib.h>

#include "pc-lookup.h"
#include "pc-net.h"

/*
 * --- single addresses ---
 */

typedef struct {
	const char *label;
	const char *input;
	const char *want; /* RFC 5952 / dotted text; NULL when the parse must fail */
	gboolean v4;
} NetParseCase;

static const NetParseCase parse_cases[] = {
    {.label = "v4", .input = "192.0.2.1", .want = "192.0.2.1", .v4 = TRUE},
    {.label = "v4-zero", .input = "0.0.0.0", .want = "0.0.0.0", .v4 = TRUE},
    {.label = "v4-all-ones", .input = "255.255.255.255", .want = "255.255.255.255", .v4 = TRUE},
    {.label = "v4-leading-zero", .input = "010.0.0.1"},
    {.label = "v4-leading-zero-last", .input = "10.0.0.01"},
    {.label = "v4-short-form", .input = "10.1"},
    {.label = "v4-integer", .input = "3221225985"},
    {.label = "v4-hex", .input = "0x7f.0.0.1"},
    {.label = "v4-octet-256", .input = "256.0.0.1"},
    {.label = "v4-five-parts", .input = "1.2.3.4.5"},
    {.label = "v4-trailing-garbage", .input = "192.0.2.1x"},
    {.label = "v4-trailing-space", .input = "192.0.2.1 "},
    {.label = "v4-leading-space", .input = " 192.0.2.1"},
    {.label = "v4-with-prefix", .input = "192.0.2.0/24"},
    {.label = "v6", .input = "2001:db8::1", .want = "2001:db8::1"},
    {.label = "v6-uppercase", .input = "2001:DB8::A", .want = "2001:db8::a"},
    {.label = "v6-long-form",
     .input = "2001:0db8:0000:0000:0000:0000:0000:0001",
     .want = "2001:db8::1"},
    {.label = "v6-one-zero-word", .input = "2001:db8:0:1:1:1:1:1", .want = "2001:db8:0:1:1:1:1:1"},
    {.label = "v6-longest-run", .input = "2001:0:0:1:0:0:0:1", .want = "2001:0:0:1::1"},
    {.label = "v6-first-of-tie", .input = "2001:db8:0:0:1:0:0:1", .want = "2001:db8::1:0:0:1"},
    {.label = "v6-loopback", .input = "::1", .want = "::1"},
    {.label = "v6-unspecified", .input = "::", .want = "::"},
    {.label = "v6-trailing-run", .input = "2001:db8:0:0:0:0:0:0", .want = "2001:db8::"},
    {.label = "v6-widest",
     .input = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
     .want = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    {.label = "v6-mapped", .input = "::ffff:192.0.2.1", .want = "192.0.2.1", .v4 = TRUE},
    {.label = "v6-mapped-hex", .input = "::FFFF:c000:0201", .want = "192.0.2.1", .v4 = TRUE},
    {.label = "v6-compatible", .input = "::192.0.2.1", .want = "::c000:201"},
    {.label = "v6-nat64", .input = "64:ff9b::192.0.2.1", .want = "64:ff9b::c000:201"},
    {.label = "v6-zone", .input = "fe80::1%eth0"},
    {.label = "v6-triple-colon", .input = ":::1"},
    {.label = "v6-two-runs", .input = "1::2::3"},
    {.label = "v6-nine-words", .input = "1:2:3:4:5:6:7:8:9"},
    {.label = "v6-word-too-wide", .input = "12345::1"},
    {.label = "v6-mapped-leading-zero", .input = "::ffff:192.0.2.01"},
    {.label = "bracket-v4", .input = "[192.0.2.1]", .want = "192.0.2.1", .v4 = TRUE},
    {.label = "bracket-v6", .input = "[2001:db8::1]", .want = "2001:db8::1"},
    {.label = "bracket-tag", .input = "[IPv6:2001:db8::1]", .want = "2001:db8::1"},
    {.label = "bracket-tag-case", .input = "[ipv6:2001:DB8::1]", .want = "2001:db8::1"},
    {.label = "bracket-tag-mapped",
     .input = "[IPv6:::ffff:192.0.2.1]",
     .want = "192.0.2.1",
     .v4 = TRUE},
    {.label = "bracket-tag-v4", .input = "[IPv6:192.0.2.1]"},
    {.label = "bracket-tag-empty", .input = "[IPv6:]"},
    {.label = "bracket-empty", .input = "[]"},
    {.label = "bracket-open", .input = "["},
    {.label = "bracket-unclosed", .input = "[192.0.2.1"},
    {.label = "bracket-trailing", .input = "[192.0.2.1]x"},
    {.label = "bracket-inner-space", .input = "[ 192.0.2.1]"},
    {.label = "bracket-other-tag", .input = "[x400:192.0.2.1]"},
    {.label = "empty", .input = ""},
    {.label = "hostname", .input = "localhost"},
    {.label = "over-64-octets",
     .input = "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1"},
};

static void
test_address_parse(gconstpointer data)
{
	const NetParseCase *test = data;
	PcNetAddress address;
	PcNetAddress again;
	char text[PC_NET_ADDRESS_STRLEN];

	memset(&address, 0xaa, sizeof(address));
	if (test->want == NULL) {
		PcNetAddress untouched;

		memset(&untouched, 0xaa, sizeof(untouched));
		g_assert_false(pc_net_address_parse(test->input, &address));
		g_assert_cmpmem(&address, sizeof(address), &untouched, sizeof(untouched));
		return;
	}
	g_assert_true(pc_net_address_parse(test->input, &address));
	g_assert_cmpstr(pc_net_address_to_string(&address, text, sizeof(text)), ==, test->want);
	g_assert_cmpint(pc_net_address_is_v4(&address), ==, test->v4);

	/* the printed form reads back as the same address and prints the same */
	g_assert_true(pc_net_address_parse(text, &again));
	g_assert_cmpmem(&again, sizeof(again), &address, sizeof(address));
}

static void
test_address_v4_mapped_equal(void)
{
	static const char *const spellings[] = {
	    "::ffff:192.0.2.1",	       "::FFFF:c000:201",	   "[192.0.2.1]",
	    "[IPv6:::ffff:192.0.2.1]", "0:0:0:0:0:ffff:192.0.2.1",
	};
	PcNetAddress reference;

	g_assert_true(pc_net_address_parse("192.0.2.1", &reference));
	g_assert_cmpuint(reference.bytes[10], ==, 0xff);
	g_assert_cmpuint(reference.bytes[11], ==, 0xff);
	for (gsize i = 0; i < G_N_ELEMENTS(spellings); i++) {
		PcNetAddress address;

		g_assert_true(pc_net_address_parse(spellings[i], &address));
		g_assert_cmpmem(&address, sizeof(address), &reference, sizeof(reference));
	}
}

/*
 * --- socket addresses ---
 */

static void
test_sockaddr_inet(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(25)};
	PcNetAddress address;
	PcNetAddress parsed;
	char text[PC_NET_ADDRESS_STRLEN];

	g_assert_cmpint(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), ==, 1);
	g_assert_true(pc_net_address_from_sockaddr((const struct sockaddr *)&sin, &address));
	g_assert_true(pc_net_address_is_v4(&address));
	g_assert_cmpstr(pc_net_address_to_string(&address, text, sizeof(text)), ==, "192.0.2.1");
	g_assert_true(pc_net_address_parse("192.0.2.1", &parsed));
	g_assert_cmpmem(&address, sizeof(address), &parsed, sizeof(parsed));
}

static void
test_sockaddr_inet6(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(25)};
	PcNetAddress address;
	char text[PC_NET_ADDRESS_STRLEN];

	g_assert_cmpint(inet_pton(AF_INET6, "2001:db8::25", &sin6.sin6_addr), ==, 1);
	g_assert_true(pc_net_address_from_sockaddr((const struct sockaddr *)&sin6, &address));
	g_assert_false(pc_net_address_is_v4(&address));
	g_assert_cmpstr(pc_net_address_to_string(&address, text, sizeof(text)), ==, "2001:db8::25");
}

/* a dual-stack listener reports IPv4 clients like this; they must match IPv4 lists */
static void
test_sockaddr_inet6_mapped(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	PcNetAddress from_v6;
	PcNetAddress from_v4;
	char text[PC_NET_ADDRESS_STRLEN];

	g_assert_cmpint(inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr), ==, 1);
	g_assert_cmpint(inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr), ==, 1);
	g_assert_true(pc_net_address_from_sockaddr((const struct sockaddr *)&sin6, &from_v6));
	g_assert_true(pc_net_address_from_sockaddr((const struct sockaddr *)&sin, &from_v4));
	g_assert_true(pc_net_address_is_v4(&from_v6));
	g_assert_cmpmem(&from_v6, sizeof(from_v6), &from_v4, sizeof(from_v4));
	g_assert_cmpstr(pc_net_address_to_string(&from_v6, text, sizeof(text)), ==, "198.51.100.7");
}

static void
test_sockaddr_other(void)
{
	struct sockaddr_un unix_address = {.sun_family = AF_UNIX};
	PcNetAddress address;
	PcNetAddress untouched;

	memset(&address, 0x55, sizeof(address));
	untouched = address;
	g_assert_false(
	    pc_net_address_from_sockaddr((const struct sockaddr *)&unix_address, &address));
	g_assert_false(pc_net_address_from_sockaddr(NULL, &address));
	g_assert_cmpmem(&address, sizeof(address), &untouched, sizeof(untouched));
}

/*
 * --- network keys ---
 */

typedef struct {
	const char *label;
	const char *address;
	guint v4_prefix;
	guint v6_prefix;
	const char *want;
} NetKeyCase;

static const NetKeyCase key_cases[] = {
    {.label = "v4-24",
     .address = "192.0.2.77",
     .v4_prefix = 24,
     .v6_prefix = 64,
     .want = "192.0.2.0/24"},
    {.label = "v4-32",
     .address = "192.0.2.77",
     .v4_prefix = 32,
     .v6_prefix = 64,
     .want = "192.0.2.77/32"},
    {.label = "v4-0",
     .address = "192.0.2.77",
     .v4_prefix = 0,
     .v6_prefix = 64,
     .want = "0.0.0.0/0"},
    {.label = "v4-odd",
     .address = "192.0.2.200",
     .v4_prefix = 25,
     .v6_prefix = 64,
     .want = "192.0.2.128/25"},
    {.label = "v4-mapped-24",
     .address = "::ffff:198.51.100.9",
     .v4_prefix = 24,
     .v6_prefix = 48,
     .want = "198.51.100.0/24"},
    {.label = "v6-64",
     .address = "2001:db8:1:2:3:4:5:6",
     .v4_prefix = 24,
     .v6_prefix = 64,
     .want = "2001:db8:1:2::/64"},
    {.label = "v6-48",
     .address = "2001:db8:1:2:3:4:5:6",
     .v4_prefix = 24,
     .v6_prefix = 48,
     .want = "2001:db8:1::/48"},
    {.label = "v6-60",
     .address = "2001:db8:1:2f:3:4:5:6",
     .v4_prefix = 24,
     .v6_prefix = 60,
     .want = "2001:db8:1:20::/60"},
    {.label = "v6-128",
     .address = "2001:db8:1:2:3:4:5:6",
     .v4_prefix = 24,
     .v6_prefix = 128,
     .want = "2001:db8:1:2:3:4:5:6/128"},
    {.label = "v6-0",
     .address = "2001:db8:1:2:3:4:5:6",
     .v4_prefix = 24,
     .v6_prefix = 0,
     .want = "::/0"},
};

static void
test_network_key(gconstpointer data)
{
	const NetKeyCase *test = data;
	PcNetAddress address;
	char key[PC_NET_ADDRESS_STRLEN];

	g_assert_true(pc_net_address_parse(test->address, &address));
	g_assert_cmpstr(pc_net_address_network_key(&address, test->v4_prefix, test->v6_prefix, key,
						   sizeof(key)),
			==, test->want);
}

/*
 * --- CIDR lists ---
 */

typedef struct {
	const char *label;
	const char *items[4]; /* up to the first NULL */
	const char *address;
	gboolean want;
} NetContainsCase;

static const NetContainsCase contains_cases[] = {
    {.label = "v4-0-low", .items = {"0.0.0.0/0"}, .address = "0.0.0.0", .want = TRUE},
    {.label = "v4-0-high", .items = {"0.0.0.0/0"}, .address = "255.255.255.255", .want = TRUE},
    {.label = "v4-0-not-v6", .items = {"0.0.0.0/0"}, .address = "2001:db8::1"},
    {.label = "v4-0-not-unspecified", .items = {"0.0.0.0/0"}, .address = "::"},
    {.label = "v6-0-v6", .items = {"::/0"}, .address = "2001:db8::1", .want = TRUE},
    {.label = "v6-0-v4", .items = {"::/0"}, .address = "192.0.2.1", .want = TRUE},
    {.label = "v4-32-equal", .items = {"192.0.2.1/32"}, .address = "192.0.2.1", .want = TRUE},
    {.label = "v4-32-above", .items = {"192.0.2.1/32"}, .address = "192.0.2.2"},
    {.label = "v4-32-below", .items = {"192.0.2.1/32"}, .address = "192.0.2.0"},
    {.label = "v4-bare-is-32", .items = {"192.0.2.1"}, .address = "192.0.2.1", .want = TRUE},
    {.label = "v4-bare-is-32-miss", .items = {"192.0.2.1"}, .address = "192.0.2.3"},
    {.label = "v4-24-first", .items = {"192.0.2.0/24"}, .address = "192.0.2.0", .want = TRUE},
    {.label = "v4-24-last", .items = {"192.0.2.0/24"}, .address = "192.0.2.255", .want = TRUE},
    {.label = "v4-24-before", .items = {"192.0.2.0/24"}, .address = "192.0.1.255"},
    {.label = "v4-24-after", .items = {"192.0.2.0/24"}, .address = "192.0.3.0"},
    {.label = "v4-24-mapped",
     .items = {"192.0.2.0/24"},
     .address = "::ffff:192.0.2.9",
     .want = TRUE},
    {.label = "v4-25-below", .items = {"192.0.2.128/25"}, .address = "192.0.2.127"},
    {.label = "v4-25-first", .items = {"192.0.2.128/25"}, .address = "192.0.2.128", .want = TRUE},
    {.label = "v4-8", .items = {"10.0.0.0/8"}, .address = "10.255.255.255", .want = TRUE},
    {.label = "v4-8-miss", .items = {"10.0.0.0/8"}, .address = "11.0.0.0"},
    {.label = "v4-list-mapped-item",
     .items = {"::ffff:10.0.0.0/104"},
     .address = "10.1.2.3",
     .want = TRUE},
    {.label = "v6-128-equal", .items = {"2001:db8::1/128"}, .address = "2001:db8::1", .want = TRUE},
    {.label = "v6-128-above", .items = {"2001:db8::1/128"}, .address = "2001:db8::2"},
    {.label = "v6-128-below", .items = {"2001:db8::1/128"}, .address = "2001:db8::"},
    {.label = "v6-bare-is-128", .items = {"::1"}, .address = "::1", .want = TRUE},
    {.label = "v6-bare-not-v4-loopback", .items = {"::1"}, .address = "127.0.0.1"},
    {.label = "v6-64-first",
     .items = {"2001:db8:1:2::/64"},
     .address = "2001:db8:1:2::",
     .want = TRUE},
    {.label = "v6-64-last",
     .items = {"2001:db8:1:2::/64"},
     .address = "2001:db8:1:2:ffff:ffff:ffff:ffff",
     .want = TRUE},
    {.label = "v6-64-before",
     .items = {"2001:db8:1:2::/64"},
     .address = "2001:db8:1:1:ffff:ffff:ffff:ffff"},
    {.label = "v6-64-after", .items = {"2001:db8:1:2::/64"}, .address = "2001:db8:1:3::"},
    {.label = "v6-33",
     .items = {"2001:db8:8000::/33"},
     .address = "2001:db8:ffff::1",
     .want = TRUE},
    {.label = "v6-33-miss", .items = {"2001:db8:8000::/33"}, .address = "2001:db8:7fff::1"},
    {.label = "many-second",
     .items = {"127.0.0.0/8", " ::1 ", "192.0.2.0/24"},
     .address = "::1",
     .want = TRUE},
    {.label = "many-third",
     .items = {"127.0.0.0/8", "::1", "192.0.2.0/24"},
     .address = "192.0.2.200",
     .want = TRUE},
    {.label = "many-none",
     .items = {"127.0.0.0/8", "::1", "192.0.2.0/24"},
     .address = "198.51.100.1"},
    {.label = "bracketed-item", .items = {"[::1]/128"}, .address = "::1", .want = TRUE},
    {.label = "empty-list", .items = {NULL}, .address = "192.0.2.1"},
};

static void
test_list_contains(gconstpointer data)
{
	const NetContainsCase *test = data;
	g_autoptr(PcNetList) list = NULL;
	g_autoptr(GError) error = NULL;
	PcNetAddress address;
	gsize n_items = 0;

	while (n_items < G_N_ELEMENTS(test->items) && test->items[n_items] != NULL)
		n_items++;
	list = pc_net_list_parse(test->items, n_items, &error);
	g_assert_no_error(error);
	g_assert_nonnull(list);
	g_assert_cmpuint(pc_net_list_length(list), ==, n_items);
	g_assert_true(pc_net_address_parse(test->address, &address));
	g_assert_cmpint(pc_net_list_contains(list, &address), ==, test->want);
}

typedef struct {
	const char *label;
	const char *items[3];
	PcNetError code;
	const char *message; /* the whole error message */
} NetListErrorCase;

static const NetListErrorCase list_error_cases[] = {
    {.label = "host-bits-v4",
     .items = {"10.0.0.1/8"},
     .code = PC_NET_ERROR_HOST_BITS,
     .message = "item '10.0.0.1/8': host bits set past the prefix (the network is 10.0.0.0/8)"},
    {.label = "host-bits-v6",
     .items = {"2001:db8::1/64"},
     .code = PC_NET_ERROR_HOST_BITS,
     .message =
	 "item '2001:db8::1/64': host bits set past the prefix (the network is 2001:db8::/64)"},
    {.label = "host-bits-v4-0",
     .items = {"0.0.0.1/0"},
     .code = PC_NET_ERROR_HOST_BITS,
     .message = "item '0.0.0.1/0': host bits set past the prefix (the network is 0.0.0.0/0)"},
    {.label = "host-bits-mapped-as-v6",
     .items = {"::ffff:10.0.0.0/8"},
     .code = PC_NET_ERROR_HOST_BITS,
     .message = "item '::ffff:10.0.0.0/8': host bits set past the prefix (the network is ::/8)"},
    {.label = "prefix-v4-33",
     .items = {"10.0.0.0/33"},
     .code = PC_NET_ERROR_PREFIX,
     .message = "item '10.0.0.0/33': prefix /33 is longer than 32 bits"},
    {.label = "prefix-v6-129",
     .items = {"::/129"},
     .code = PC_NET_ERROR_PREFIX,
     .message = "item '::/129': prefix /129 is longer than 128 bits"},
    {.label = "prefix-huge",
     .items = {"::/1000"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '::/1000': prefix length is not a decimal number"},
    {.label = "prefix-missing",
     .items = {"10.0.0.0/"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0/': prefix length is not a decimal number"},
    {.label = "prefix-garbage",
     .items = {"10.0.0.0/8x"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0/8x': prefix length is not a decimal number"},
    {.label = "prefix-sign",
     .items = {"10.0.0.0/+8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0/+8': prefix length is not a decimal number"},
    {.label = "prefix-leading-zero",
     .items = {"10.0.0.0/08"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0/08': prefix length is not a decimal number"},
    {.label = "prefix-twice",
     .items = {"10.0.0.0/8/8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0/8/8': prefix length is not a decimal number"},
    {.label = "prefix-inner-space",
     .items = {"10.0.0.0/ 8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0/ 8': prefix length is not a decimal number"},
    {.label = "address-octal",
     .items = {"010.0.0.0/8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '010.0.0.0/8': not an IP address or CIDR"},
    {.label = "address-short",
     .items = {"10.0.0/8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0/8': not an IP address or CIDR"},
    {.label = "address-name",
     .items = {"localhost"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item 'localhost': not an IP address or CIDR"},
    {.label = "address-missing",
     .items = {"/8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '/8': not an IP address or CIDR"},
    {.label = "empty",
     .items = {""},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '': empty item"},
    {.label = "blank",
     .items = {" \t"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item ' \\t': empty item"},
    {.label = "control-escaped",
     .items = {"10.0.0.0\001/8"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '10.0.0.0\\001/8': not an IP address or CIDR"},
    {.label = "second-item",
     .items = {"127.0.0.0/8", "192.0.2.1/24"},
     .code = PC_NET_ERROR_HOST_BITS,
     .message = "item '192.0.2.1/24': host bits set past the prefix (the network is "
		"192.0.2.0/24)"},
    {.label = "long-item-cut",
     .items = {"1111111111222222222233333333334444444444555555555566666666667777777777"},
     .code = PC_NET_ERROR_SYNTAX,
     .message = "item '1111111111222222222233333333334444444444555555555566666666667777...': "
		"not an IP address or CIDR"},
};

static void
test_list_error(gconstpointer data)
{
	const NetListErrorCase *test = data;
	g_autoptr(PcNetList) list = NULL;
	g_autoptr(GError) error = NULL;
	gsize n_items = 0;

	while (n_items < G_N_ELEMENTS(test->items) && test->items[n_items] != NULL)
		n_items++;
	list = pc_net_list_parse(test->items, n_items, &error);
	g_assert_null(list);
	g_assert_error(error, PC_NET_ERROR, (gint)test->code);
	g_assert_cmpstr(error->message, ==, test->message);
}

static void
test_list_null(void)
{
	PcNetAddress address;
	g_autoptr(PcNetList) list = pc_net_list_parse(NULL, 0, NULL);

	g_assert_true(pc_net_address_parse("192.0.2.1", &address));
	g_assert_false(pc_net_list_contains(NULL, &address));
	g_assert_cmpuint(pc_net_list_length(NULL), ==, 0);
	g_assert_nonnull(list);
	g_assert_cmpuint(pc_net_list_length(list), ==, 0);
	g_assert_false(pc_net_list_contains(list, &address));
}

typedef struct {
	const char *label;
	const char *item;
	const char *want; /* the entry as written back */
} NetEntryTextCase;

static const NetEntryTextCase entry_text_cases[] = {
    {.label = "v4-cidr", .item = "192.0.2.0/24", .want = "192.0.2.0/24"},
    {.label = "v4-host", .item = "192.0.2.1", .want = "192.0.2.1/32"},
    {.label = "v4-all", .item = "0.0.0.0/0", .want = "0.0.0.0/0"},
    {.label = "v6-cidr", .item = "2001:DB8:0:0::/32", .want = "2001:db8::/32"},
    {.label = "v6-host", .item = "::1", .want = "::1/128"},
    {.label = "v6-all", .item = "::/0", .want = "::/0"},
    {.label = "bracketed", .item = "[2001:db8::1]", .want = "2001:db8::1/128"},
    {.label = "mapped-as-v6", .item = "::ffff:10.0.0.0/104", .want = "10.0.0.0/8"},
    {.label = "mapped-96", .item = "::ffff:0.0.0.0/96", .want = "0.0.0.0/0"},
    {.label = "blanks", .item = " 10.0.0.0/8 ", .want = "10.0.0.0/8"},
};

/* the text of an entry parses back to an entry that matches exactly the same addresses */
static void
test_list_entry_to_string(gconstpointer data)
{
	const NetEntryTextCase *test = data;
	const char *items[] = {"127.0.0.0/8", test->item};
	g_autoptr(PcNetList) list = pc_net_list_parse(items, G_N_ELEMENTS(items), NULL);
	g_autoptr(PcNetList) again = NULL;
	char buf[PC_NET_ADDRESS_STRLEN];
	char buf_again[PC_NET_ADDRESS_STRLEN];
	const char *text;

	g_assert_nonnull(list);
	g_assert_cmpstr(pc_net_list_entry_to_string(list, 0, buf, sizeof(buf)), ==, "127.0.0.0/8");
	text = pc_net_list_entry_to_string(list, 1, buf, sizeof(buf));
	g_assert_cmpstr(text, ==, test->want);
	g_assert_null(pc_net_list_entry_to_string(list, 2, buf_again, sizeof(buf_again)));

	again = pc_net_list_parse(&text, 1, NULL);
	g_assert_nonnull(again);
	g_assert_cmpstr(pc_net_list_entry_to_string(again, 0, buf_again, sizeof(buf_again)), ==,
			test->want);
}

static void
test_list_entry_to_string_empty(void)
{
	char buf[PC_NET_ADDRESS_STRLEN];
	g_autoptr(PcNetList) list = pc_net_list_parse(NULL, 0, NULL);

	g_assert_null(pc_net_list_entry_to_string(NULL, 0, buf, sizeof(buf)));
	g_assert_null(pc_net_list_entry_to_string(list, 0, buf, sizeof(buf)));
}

/*
 * --- guards and pc-lookup ---
 */

static void
test_guards(void)
{
	PcNetAddress address;
	char small[8];

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*text != NULL*");
	g_assert_false(pc_net_address_parse(NULL, &address));
	g_test_assert_expected_messages();

	g_assert_true(pc_net_address_parse("192.0.2.1", &address));
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL,
			      "*buflen >= PC_NET_ADDRESS_STRLEN*");
	g_assert_null(pc_net_address_to_string(&address, small, sizeof(small)));
	g_test_assert_expected_messages();

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*v4_prefix <= 32*");
	g_assert_null(pc_net_address_network_key(&address, 33, 64, small, sizeof(small)));
	g_test_assert_expected_messages();
}

static void
test_lookup_status_to_string(void)
{
	g_assert_cmpstr(pc_lookup_status_to_string(PC_LOOKUP_FOUND), ==, "found");
	g_assert_cmpstr(pc_lookup_status_to_string(PC_LOOKUP_NOTFOUND), ==, "notfound");
	g_assert_cmpstr(pc_lookup_status_to_string(PC_LOOKUP_TEMPFAIL), ==, "tempfail");
	g_assert_cmpstr(pc_lookup_status_to_string(PC_LOOKUP_CONFIG), ==, "config");

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*status*");
	g_assert_cmpstr(pc_lookup_status_to_string((PcLookupStatus)42), ==, "unknown");
	g_test_assert_expected_messages();
}

#define ADD_TABLE(prefix, cases, func)                                                             \
	for (gsize i_ = 0; i_ < G_N_ELEMENTS(cases); i_++) {                                       \
		g_autofree char *path_ = g_strconcat(prefix, cases[i_].label, NULL);               \
		g_test_add_data_func(path_, &cases[i_], func);                                     \
	}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	ADD_TABLE("/pc/net/address-parse/", parse_cases, test_address_parse);
	g_test_add_func("/pc/net/address-parse/v4-mapped-equal", test_address_v4_mapped_equal);
	g_test_add_func("/pc/net/sockaddr/inet", test_sockaddr_inet);
	g_test_add_func("/pc/net/sockaddr/inet6", test_sockaddr_inet6);
	g_test_add_func("/pc/net/sockaddr/inet6-mapped", test_sockaddr_inet6_mapped);
	g_test_add_func("/pc/net/sockaddr/other-family", test_sockaddr_other);
	ADD_TABLE("/pc/net/network-key/", key_cases, test_network_key);
	ADD_TABLE("/pc/net/list-contains/", contains_cases, test_list_contains);
	ADD_TABLE("/pc/net/list-error/", list_error_cases, test_list_error);
	g_test_add_func("/pc/net/list/null-and-empty", test_list_null);
	ADD_TABLE("/pc/net/list/entry-to-string/", entry_text_cases, test_list_entry_to_string);
	g_test_add_func("/pc/net/list/entry-to-string-empty", test_list_entry_to_string_empty);
	g_test_add_func("/pc/net/guards", test_guards);
	g_test_add_func("/pc/lookup/status-to-string", test_lookup_status_to_string);

	return g_test_run();
}
