/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-net: parsing, printing and matching of IPv4/IPv6 addresses and CIDRs.
 *
 * Everything is 16 bytes in IPv6 order with IPv4 mapped (::ffff:a.b.c.d), so
 * one code path compares both families and a client that an IPv6 socket
 * reports as ::ffff:192.0.2.1 matches "192.0.2.0/24". Parsing is inet_pton,
 * which already refuses the forms that make inet_aton dangerous in a config
 * file ("010.0.0.1" as octal, "10.1" as 10.0.0.1, trailing junk). Printing is
 * done here rather than with inet_ntop so the RFC 5952 text, which keys
 * per-network state and IP literal domains, does not depend on the libc.
 * Not here: DNS, interfaces, ports.
 */
#include "pc-net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <glib.h>

G_DEFINE_QUARK(pc - net - error - quark, pc_net_error)

/* no address text, brackets and "IPv6:" tag included, is longer than this */
#define NET_TEXT_MAX 64

/* how much of a bad list item an error message quotes */
#define NET_ITEM_ECHO_MAX 64

typedef struct {
	PcNetAddress network; /* host bits are zero */
	guint prefix;	      /* 0..128; an IPv4 /N is 96 + N */
	/*
	 * the address and mask as two native words: matching is two ANDs and
	 * two compares. Both sides are loaded with the same memcpy, so the
	 * byte order of the words does not matter.
	 */
	guint64 network_words[2];
	guint64 mask_words[2];
} PcNetEntry;

struct _PcNetList {
	GArray *entries; /* PcNetEntry, in configuration order */
};

static void
net_mask_bytes(guint prefix, guint8 mask[16])
{
	for (guint i = 0; i < 16; i++) {
		if (prefix >= 8) {
			mask[i] = 0xff;
			prefix -= 8;
		} else {
			mask[i] = (guint8)(0xffu << (8 - prefix));
			prefix = 0;
		}
	}
}

static void
net_apply_mask(PcNetAddress *address, guint prefix)
{
	guint8 mask[16];

	net_mask_bytes(prefix, mask);
	for (guint i = 0; i < 16; i++)
		address->bytes[i] &= mask[i];
}

static void
net_set_v4(PcNetAddress *address, const void *in_addr)
{
	memset(address->bytes, 0, 10);
	address->bytes[10] = 0xff;
	address->bytes[11] = 0xff;
	memcpy(address->bytes + 12, in_addr, 4);
}

/* text is NUL-terminated and unbracketed; a ':' decides the family */
static gboolean
net_parse_plain(const char *text, gboolean require_v6, PcNetAddress *address_out)
{
	PcNetAddress address = {0};
	guint8 v4[4];

	if (strchr(text, ':') != NULL) {
		if (inet_pton(AF_INET6, text, address.bytes) != 1)
			return FALSE;
	} else {
		/* "[IPv6:192.0.2.1]" is not a valid RFC 5321 literal */
		if (require_v6 || inet_pton(AF_INET, text, v4) != 1)
			return FALSE;
		net_set_v4(&address, v4);
	}
	*address_out = address;
	return TRUE;
}

/* text points past the '[', len counts up to the end of the string */
static gboolean
net_parse_bracketed(const char *text, gsize len, PcNetAddress *address_out)
{
	g_autofree char *inner = NULL;
	gboolean tagged = FALSE;

	if (len == 0 || text[len - 1] != ']')
		return FALSE;
	len--;
	if (len >= 5 && g_ascii_strncasecmp(text, "IPv6:", 5) == 0) {
		tagged = TRUE;
		text += 5;
		len -= 5;
	}
	inner = g_strndup(text, len);
	return net_parse_plain(inner, tagged, address_out);
}

gboolean
pc_net_address_parse(const char *text, PcNetAddress *address_out)
{
	gsize len;

	g_return_val_if_fail(text != NULL, FALSE);
	g_return_val_if_fail(address_out != NULL, FALSE);

	len = strnlen(text, NET_TEXT_MAX + 1);
	if (len > NET_TEXT_MAX)
		return FALSE;
	if (text[0] == '[')
		return net_parse_bracketed(text + 1, len - 1, address_out);
	return net_parse_plain(text, FALSE, address_out);
}

gboolean
pc_net_address_from_sockaddr(const struct sockaddr *sa, PcNetAddress *address_out)
{
	PcNetAddress address = {0};
	/* byte copies: a caller's sockaddr need not be aligned for sockaddr_in6 */
	const char *base = (const char *)sa;

	g_return_val_if_fail(address_out != NULL, FALSE);

	/* NULL for unix-socket and unknown clients */
	if (sa == NULL)
		return FALSE;
	switch (sa->sa_family) {
	case AF_INET:
		net_set_v4(&address, base + offsetof(struct sockaddr_in, sin_addr));
		break;
	case AF_INET6:
		/* a mapped address arrives as ::ffff:a.b.c.d and stays IPv4 */
		memcpy(address.bytes, base + offsetof(struct sockaddr_in6, sin6_addr), 16);
		break;
	default:
		return FALSE;
	}
	*address_out = address;
	return TRUE;
}

gboolean
pc_net_address_is_v4(const PcNetAddress *address)
{
	static const guint8 mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	g_return_val_if_fail(address != NULL, FALSE);
	return memcmp(address->bytes, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

/*
 * RFC 5952: lowercase hex without leading zeros, the longest run of two or
 * more zero words (the first one on a tie) written as "::". Other embedded
 * IPv4 forms (64:ff9b::/96) stay hex; the mixed notation is only a
 * recommendation there and one spelling per address is what matters.
 */
static void
net_format_v6(const PcNetAddress *address, char *buf, gsize buflen)
{
	guint words[8];
	guint best_start = 8;
	guint best_len = 0;
	gsize pos = 0;

	for (guint i = 0; i < 8; i++)
		words[i] = (guint)address->bytes[2 * i] << 8 | address->bytes[2 * i + 1];
	for (guint i = 0; i < 8; i++) {
		guint run = 0;

		while (i + run < 8 && words[i + run] == 0)
			run++;
		if (run > best_len) {
			best_start = i;
			best_len = run;
		}
		i += run;
	}
	if (best_len < 2)
		best_start = 8;

	buf[0] = '\0';
	for (guint i = 0; i < 8; i++) {
		if (i == best_start) {
			pos += (gsize)g_snprintf(buf + pos, buflen - pos, "::");
			i += best_len - 1;
			continue;
		}
		pos += (gsize)g_snprintf(buf + pos, buflen - pos, "%s%x",
					 pos > 0 && buf[pos - 1] != ':' ? ":" : "", words[i]);
	}
}

const char *
pc_net_address_to_string(const PcNetAddress *address, char *buf, gsize buflen)
{
	g_return_val_if_fail(address != NULL, NULL);
	g_return_val_if_fail(buf != NULL, NULL);
	g_return_val_if_fail(buflen >= PC_NET_ADDRESS_STRLEN, NULL);

	if (pc_net_address_is_v4(address)) {
		g_snprintf(buf, buflen, "%u.%u.%u.%u", address->bytes[12], address->bytes[13],
			   address->bytes[14], address->bytes[15]);
	} else {
		net_format_v6(address, buf, buflen);
	}
	return buf;
}

const char *
pc_net_address_network_key(const PcNetAddress *address, guint v4_prefix, guint v6_prefix, char *buf,
			   gsize buflen)
{
	PcNetAddress network;
	gboolean is_v4;
	gsize len;

	g_return_val_if_fail(address != NULL, NULL);
	g_return_val_if_fail(v4_prefix <= 32, NULL);
	g_return_val_if_fail(v6_prefix <= 128, NULL);
	g_return_val_if_fail(buf != NULL, NULL);
	g_return_val_if_fail(buflen >= PC_NET_ADDRESS_STRLEN, NULL);

	network = *address;
	is_v4 = pc_net_address_is_v4(address);
	/* masking at 96 + N keeps the ::ffff: part, so the key stays IPv4 */
	net_apply_mask(&network, is_v4 ? 96 + v4_prefix : v6_prefix);
	pc_net_address_to_string(&network, buf, buflen);
	len = strlen(buf);
	g_snprintf(buf + len, buflen - len, "/%u", is_v4 ? v4_prefix : v6_prefix);
	return buf;
}

/* a config item quoted back in an error: bounded and without control bytes */
static char *
net_item_for_error(const char *item)
{
	gsize len = strnlen(item, NET_ITEM_ECHO_MAX + 1);
	g_autofree char *head = g_strndup(item, MIN(len, NET_ITEM_ECHO_MAX));
	g_autofree char *escaped = g_strescape(head, NULL);

	if (len > NET_ITEM_ECHO_MAX)
		return g_strconcat(escaped, "...", NULL);
	return g_steal_pointer(&escaped);
}

static gboolean G_GNUC_PRINTF(4, 5)
    net_set_item_error(GError **error, PcNetError code, const char *item, const char *format, ...)
{
	g_autofree char *echo = net_item_for_error(item);
	g_autofree char *why = NULL;
	va_list args;

	va_start(args, format);
	why = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, PC_NET_ERROR, code, "item '%s': %s", echo, why);
	return FALSE;
}

/*
 * the text after '/': canonical decimal only. Leading zeros and signs are
 * refused for the same reason "010.0.0.1" is: a reader cannot be sure what
 * was meant.
 */
static gboolean
net_parse_prefix(const char *text, gsize len, guint *prefix_out)
{
	guint value = 0;

	if (len == 0 || len > 3 || (len > 1 && text[0] == '0'))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isdigit(text[i]))
			return FALSE;
		value = value * 10 + (guint)(text[i] - '0');
	}
	*prefix_out = value;
	return TRUE;
}

static void
net_entry_finish(PcNetEntry *entry)
{
	guint8 mask[16];

	net_mask_bytes(entry->prefix, mask);
	memcpy(entry->mask_words, mask, 16);
	memcpy(entry->network_words, entry->network.bytes, 16);
}

/*
 * one list item; surrounding whitespace is tolerated because GKeyFile keeps
 * the blank after each ';' in "127.0.0.0/8; ::1"
 */
static gboolean
net_entry_parse(const char *item, PcNetEntry *entry_out, GError **error)
{
	g_autofree char *trimmed = g_strstrip(g_strdup(item));
	g_autofree char *address_text = NULL;
	const char *slash = strchr(trimmed, '/');
	PcNetEntry entry = {0};
	PcNetAddress masked;
	gboolean text_is_v6;
	guint max_prefix;

	if (trimmed[0] == '\0')
		return net_set_item_error(error, PC_NET_ERROR_SYNTAX, item, "empty item");
	address_text =
	    slash != NULL ? g_strndup(trimmed, (gsize)(slash - trimmed)) : g_strdup(trimmed);
	if (!pc_net_address_parse(address_text, &entry.network))
		return net_set_item_error(error, PC_NET_ERROR_SYNTAX, item,
					  "not an IP address or CIDR");

	/* the prefix follows the family as written: "::ffff:10.0.0.0/8" is IPv6 /8 */
	text_is_v6 = strchr(address_text, ':') != NULL;
	max_prefix = text_is_v6 ? 128 : 32;
	entry.prefix = max_prefix;
	if (slash != NULL) {
		if (!net_parse_prefix(slash + 1, strlen(slash + 1), &entry.prefix))
			return net_set_item_error(error, PC_NET_ERROR_SYNTAX, item,
						  "prefix length is not a decimal number");
		if (entry.prefix > max_prefix)
			return net_set_item_error(error, PC_NET_ERROR_PREFIX, item,
						  "prefix /%u is longer than %u bits", entry.prefix,
						  max_prefix);
	}
	if (!text_is_v6)
		entry.prefix += 96;

	masked = entry.network;
	net_apply_mask(&masked, entry.prefix);
	if (memcmp(masked.bytes, entry.network.bytes, 16) != 0) {
		char network[PC_NET_ADDRESS_STRLEN];

		pc_net_address_to_string(&masked, network, sizeof(network));
		return net_set_item_error(error, PC_NET_ERROR_HOST_BITS, item,
					  "host bits set past the prefix (the network is %s/%u)",
					  network, text_is_v6 ? entry.prefix : entry.prefix - 96);
	}
	net_entry_finish(&entry);
	*entry_out = entry;
	return TRUE;
}

PcNetList *
pc_net_list_parse(const char *const *items, gsize n_items, GError **error)
{
	g_autoptr(PcNetList) list = NULL;

	g_return_val_if_fail(items != NULL || n_items == 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	list = g_new0(PcNetList, 1);
	list->entries =
	    g_array_sized_new(FALSE, FALSE, sizeof(PcNetEntry), (guint)MIN(n_items, 1024));
	for (gsize i = 0; i < n_items; i++) {
		PcNetEntry entry;

		g_return_val_if_fail(items[i] != NULL, NULL);
		if (!net_entry_parse(items[i], &entry, error))
			return NULL;
		g_array_append_val(list->entries, entry);
	}
	return g_steal_pointer(&list);
}

void
pc_net_list_free(PcNetList *list)
{
	if (list == NULL)
		return;
	g_clear_pointer(&list->entries, g_array_unref);
	g_free(list);
}

gboolean
pc_net_list_contains(const PcNetList *list, const PcNetAddress *address)
{
	guint64 words[2];

	g_return_val_if_fail(address != NULL, FALSE);

	if (list == NULL)
		return FALSE;
	memcpy(words, address->bytes, 16);
	for (guint i = 0; i < list->entries->len; i++) {
		const PcNetEntry *entry = &g_array_index(list->entries, PcNetEntry, i);

		if ((words[0] & entry->mask_words[0]) == entry->network_words[0] &&
		    (words[1] & entry->mask_words[1]) == entry->network_words[1])
			return TRUE;
	}
	return FALSE;
}

guint
pc_net_list_length(const PcNetList *list)
{
	return list != NULL ? list->entries->len : 0;
}

const char *
pc_net_list_entry_to_string(const PcNetList *list, guint index, char *buf, gsize buflen)
{
	const PcNetEntry *entry;
	gsize len;

	g_return_val_if_fail(buf != NULL, NULL);
	g_return_val_if_fail(buflen >= PC_NET_ADDRESS_STRLEN, NULL);

	if (index >= pc_net_list_length(list))
		return NULL;
	entry = &g_array_index(list->entries, PcNetEntry, index);
	pc_net_address_to_string(&entry->network, buf, buflen);
	len = strlen(buf);
	/*
	 * a mapped network always has prefix >= 96 (a shorter one would have
	 * masked the ffff away), so the IPv4 text and /prefix-96 name the same
	 * entry
	 */
	g_snprintf(buf + len, buflen - len, "/%u",
		   pc_net_address_is_v4(&entry->network) ? entry->prefix - 96 : entry->prefix);
	return buf;
}
