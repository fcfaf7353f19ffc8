/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-net: IP addresses and CIDR lists.
 *
 * Every address is held as 16 bytes in IPv6 form; IPv4 addresses (and
 * IPv4-mapped IPv6 addresses, ::ffff:a.b.c.d) are normalised to the mapped
 * form, so "192.0.2.1" and "::ffff:192.0.2.1" are the same client and an IPv4
 * CIDR /24 is held as a /120. Not here: DNS, interface enumeration.
 *
 * Thread-safety: PcNetList is immutable after pc_net_list_parse() and may be
 * read from any thread; the functions keep no state.
 */
#pragma once

#include <sys/socket.h>

#include <glib.h>

G_BEGIN_DECLS

#define PC_NET_ERROR (pc_net_error_quark())
typedef enum {
	PC_NET_ERROR_SYNTAX,	/* not an address or CIDR */
	PC_NET_ERROR_PREFIX,	/* prefix length out of range */
	PC_NET_ERROR_HOST_BITS, /* address has bits set past the prefix ("10.0.0.1/8") */
} PcNetError;
GQuark pc_net_error_quark(void);

/* longest text form of a PcNetAddress, with NUL ("ffff:...:255.255.255.255") */
#define PC_NET_ADDRESS_STRLEN 64

typedef struct {
	guint8 bytes[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
} PcNetAddress;

typedef struct _PcNetList PcNetList;

/*
 * pc_net_address_parse:
 * Parses "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" or a bracketed
 * "[2001:db8::1]" / "[IPv6:2001:db8::1]" (the RFC 5321 literal forms).
 * Returns FALSE (and leaves address_out untouched) on anything else.
 */
gboolean pc_net_address_parse(const char *text, PcNetAddress *address_out);

/*
 * pc_net_address_from_sockaddr:
 * Converts AF_INET/AF_INET6 socket addresses; FALSE for NULL or another family.
 */
gboolean pc_net_address_from_sockaddr(const struct sockaddr *sa, PcNetAddress *address_out);

/* TRUE when the address is IPv4 (held in mapped form). */
gboolean pc_net_address_is_v4(const PcNetAddress *address);

/*
 * pc_net_address_to_string:
 * Writes "192.0.2.1" for IPv4 and the RFC 5952 form for IPv6 into buf
 * (at least PC_NET_ADDRESS_STRLEN bytes). Returns buf.
 */
const char *pc_net_address_to_string(const PcNetAddress *address, char *buf, gsize buflen);

/*
 * pc_net_address_network_key:
 * Writes the address masked to its network, "192.0.2.0/24" or
 * "2001:db8:1:2::/64", using v4_prefix (0..32) for IPv4 and v6_prefix (0..128)
 * for IPv6. Used to key per-network state (ban lists, rate limits).
 * Returns buf (at least PC_NET_ADDRESS_STRLEN bytes).
 */
const char *pc_net_address_network_key(const PcNetAddress *address, guint v4_prefix,
				       guint v6_prefix, char *buf, gsize buflen);

/*
 * pc_net_list_parse:
 * Parses a list of CIDRs or single addresses ("127.0.0.0/8", "::1",
 * "2001:db8::/32"). Host bits set past the prefix are an error (a typo the
 * admin should see, as Postfix warns for mynetworks). An empty list is valid.
 * Blanks around an item are ignored; an item that is empty after that is an
 * error. The prefix length is plain decimal ("/08" and "/+8" are errors).
 * Returns: (transfer full) a new list, or NULL with error set naming the item.
 */
PcNetList *pc_net_list_parse(const char *const *items, gsize n_items, GError **error);
void pc_net_list_free(PcNetList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PcNetList, pc_net_list_free)

/* TRUE when address falls inside any entry; FALSE for a NULL list. */
gboolean pc_net_list_contains(const PcNetList *list, const PcNetAddress *address);
guint pc_net_list_length(const PcNetList *list);

/*
 * pc_net_list_entry_to_string:
 * Writes entry index (configuration order) as pc_net_list_parse reads it
 * back to the same entry: "192.0.2.0/24", "2001:db8::/32", "::1/128". The
 * prefix is always written; an IPv6 item in IPv4-mapped form
 * ("::ffff:10.0.0.0/104") is written as the IPv4 CIDR it matches like
 * ("10.0.0.0/8"). Returns buf (at least PC_NET_ADDRESS_STRLEN bytes), or NULL
 * when index is not below pc_net_list_length.
 */
const char *pc_net_list_entry_to_string(const PcNetList *list, guint index, char *buf,
					gsize buflen);

G_END_DECLS
