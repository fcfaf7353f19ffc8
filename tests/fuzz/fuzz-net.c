/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for pc-net: address parsing, printing, network keys and
 * CIDR list parsing on arbitrary text.
 *
 * The properties checked are the ones the daemons depend on: the printed
 * form of an address reads back as the same 16 bytes, a network key contains
 * the address it was made from, and every list that parses contains the
 * networks it was written with.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* at most this many list items per input: a longer list tests nothing new */
#define FUZZ_MAX_ITEMS 32

static void
fuzz_check_address(const PcNetAddress *address, size_t size)
{
	char text[PC_NET_ADDRESS_STRLEN];
	char key[PC_NET_ADDRESS_STRLEN];
	const char *key_items[1] = {key};
	g_autoptr(PcNetList) list = NULL;
	g_autoptr(GError) error = NULL;
	PcNetAddress again;

	g_assert_nonnull(pc_net_address_to_string(address, text, sizeof(text)));
	g_assert_true(pc_net_address_parse(text, &again));
	g_assert_cmpmem(&again, sizeof(again), address, sizeof(*address));
	/* IPv4 is always shown dotted, never as ::ffff:a.b.c.d */
	g_assert_cmpint(strchr(text, ':') == NULL, ==, pc_net_address_is_v4(address));

	/* the prefixes vary with the input length so every width gets exercised */
	g_assert_nonnull(pc_net_address_network_key(address, (guint)(size % 33),
						    (guint)(size % 129), key, sizeof(key)));
	list = pc_net_list_parse(key_items, 1, &error);
	g_assert_no_error(error);
	g_assert_true(pc_net_list_contains(list, address));
}

/* each item's address, before any '/', lies inside the list */
static void
fuzz_check_list(const PcNetList *list, char **items)
{
	for (guint i = 0; items[i] != NULL; i++) {
		g_autofree char *item = g_strstrip(g_strdup(items[i]));
		char *slash = strchr(item, '/');
		PcNetAddress address;

		if (slash != NULL)
			*slash = '\0';
		g_assert_true(pc_net_address_parse(item, &address));
		g_assert_true(pc_net_list_contains(list, &address));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the API takes C strings: an embedded NUL simply ends the text */
	g_autofree char *text = g_strndup((const char *)data, size);
	g_auto(GStrv) items = g_strsplit_set(text, ";\n", FUZZ_MAX_ITEMS);
	g_autoptr(PcNetList) list = NULL;
	g_autoptr(GError) error = NULL;
	PcNetAddress address;

	if (pc_net_address_parse(text, &address))
		fuzz_check_address(&address, size);

	list = pc_net_list_parse((const char *const *)items, g_strv_length(items), &error);
	if (list != NULL) {
		g_assert_no_error(error);
		g_assert_cmpuint(pc_net_list_length(list), ==, g_strv_length(items));
		fuzz_check_list(list, items);
	} else {
		g_assert_nonnull(error);
		g_assert_true(error->domain == PC_NET_ERROR);
	}
	return 0;
}
