/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-dns-private: the pure parts of pc-dns that read bytes from the network
 * (domain names in wire form, record data), shared by pc-dns.c, its unit
 * test and its fuzz target. Not for daemons.
 *
 * Thread-safety: no state.
 */
#pragma once

#include <glib.h>

#include "pc-dns.h"

G_BEGIN_DECLS

/* a domain name in wire form is at most 255 octets, a label at most 63 (RFC 1035 2.3.4) */
#define PC_DNS_MAX_WIRE_NAME 255
#define PC_DNS_MAX_LABEL 63

/*
 * pc_dns_name_from_text:
 * Reads a domain name in presentation form: labels separated by dots, a
 * trailing dot optional, "." alone the root; "\DDD" (decimal, up to 255) and
 * "\X" escapes give one octet each. Writes the wire form into wire (at least
 * PC_DNS_MAX_WIRE_NAME bytes) and its length. FALSE for an empty label, a
 * label over 63 octets, a name over 255, a bad escape or an empty text.
 */
gboolean pc_dns_name_from_text(const char *text, guint8 *wire, gsize *wire_len_out);

/*
 * pc_dns_name_to_text:
 * Reads one uncompressed name in wire form from data (len bytes available).
 * Returns: (transfer full) its presentation form without the trailing dot
 * ("." for the root), with '.', '\\' and octets outside 0x21..0x7e written
 * as \DDD, so that pc_dns_name_from_text() reads it back to the same
 * octets; and the octets it took in *consumed_out. NULL when the name runs
 * past len, uses compression (never found in record data libunbound
 * hands over, so refused), or breaks the length limits.
 */
char *pc_dns_name_to_text(const guint8 *data, gsize len, gsize *consumed_out);

/*
 * pc_dns_record_parse:
 * Fills record from rdata of rrtype: A, AAAA (exact length), MX (preference
 * and a name that ends the rdata), PTR, CNAME, NS (a name that ends the
 * rdata), TXT (character-strings up to the end, joined). Other types keep
 * only the raw rdata. rdata is borrowed by the record. Returns FALSE, with
 * record untouched, when the rdata does not parse.
 */
gboolean pc_dns_record_parse(guint16 rrtype, const guint8 *rdata, gsize rdata_len,
			     PcDnsRecord *record_out);

/* frees what pc_dns_record_parse() allocated; the struct itself is the caller's */
void pc_dns_record_clear(PcDnsRecord *record);

/* "NOERROR", "FORMERR", ... for the rcodes RFC 1035/2136 name, else "rcode" */
const char *pc_dns_rcode_to_string(int rcode);

G_END_DECLS
