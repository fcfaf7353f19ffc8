/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the parts of pc-dns that read network bytes: names
 * in wire form, record data of each type, and names in text form (the
 * other direction, which callers feed with names built from mail).
 *
 * Input: byte 0 picks what the rest is. 0: a name in text form. 1: a name
 * in wire form. 2 and up: record data, of the type byte 0 selects.
 *
 * Properties: a text name that parses prints back (pc_dns_name_to_text) to
 * a text that parses to the same wire octets; a wire name that prints
 * parses back to the octets it was printed from; parsed records keep their
 * bounds (a TXT text no longer than its rdata, names that read back).
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "pc-dns-private.h"
#include "pc-dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

static const guint16 record_types[] = {
    PC_DNS_TYPE_A,   PC_DNS_TYPE_AAAA, PC_DNS_TYPE_MX,	  PC_DNS_TYPE_PTR,
    PC_DNS_TYPE_TXT, PC_DNS_TYPE_NS,   PC_DNS_TYPE_CNAME, PC_DNS_TYPE_SOA,
};

/* text read back to exactly the wire octets */
static void
fuzz_check_text_reads_back(const char *text, const guint8 *wire, gsize wire_len)
{
	guint8 again[PC_DNS_MAX_WIRE_NAME];
	gsize again_len = 0;

	g_assert_true(pc_dns_name_from_text(text, again, &again_len));
	g_assert_cmpmem(again, again_len, wire, wire_len);
}

static void
fuzz_text_name(const guint8 *data, gsize size)
{
	g_autofree char *text = g_strndup((const char *)data, size);
	guint8 wire[PC_DNS_MAX_WIRE_NAME];
	gsize wire_len = 0;
	gsize consumed = 0;
	g_autofree char *printed = NULL;

	if (!pc_dns_name_from_text(text, wire, &wire_len))
		return;
	g_assert_cmpuint(wire_len, >=, 1);
	g_assert_cmpuint(wire_len, <=, PC_DNS_MAX_WIRE_NAME);
	printed = pc_dns_name_to_text(wire, wire_len, &consumed);
	g_assert_nonnull(printed);
	g_assert_cmpuint(consumed, ==, wire_len);
	fuzz_check_text_reads_back(printed, wire, wire_len);
}

static void
fuzz_wire_name(const guint8 *data, gsize size)
{
	gsize consumed = 0;
	g_autofree char *text = pc_dns_name_to_text(data, size, &consumed);

	if (text == NULL)
		return;
	g_assert_cmpuint(consumed, >=, 1);
	g_assert_cmpuint(consumed, <=, MIN(size, (gsize)PC_DNS_MAX_WIRE_NAME));
	/* printable ASCII only: escapes cover everything else */
	for (const char *c = text; *c != '\0'; c++)
		g_assert_true(*c > 0x20 && *c < 0x7f);
	fuzz_check_text_reads_back(text, data, consumed);
}

static void
fuzz_record(guint16 rrtype, const guint8 *data, gsize size)
{
	PcDnsRecord record;

	if (!pc_dns_record_parse(rrtype, data, size, &record))
		return;
	g_assert_cmpuint(record.rrtype, ==, rrtype);
	g_assert_true(record.rdata == data);
	g_assert_cmpuint(record.rdata_len, ==, size);
	if (record.text != NULL) {
		g_assert_cmpuint(record.rrtype, ==, PC_DNS_TYPE_TXT);
		g_assert_cmpuint(record.text_len, <, MAX(size, 1));
		g_assert_cmpint(record.text[record.text_len], ==, '\0');
	}
	if (record.name != NULL) {
		guint8 wire[PC_DNS_MAX_WIRE_NAME];
		gsize wire_len = 0;

		g_assert_true(pc_dns_name_from_text(record.name, wire, &wire_len));
		/* the name is the rdata's tail (MX: after the preference) */
		g_assert_cmpmem(wire, wire_len, data + size - wire_len, wire_len);
	}
	pc_dns_record_clear(&record);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	switch (data[0]) {
	case 0:
		fuzz_text_name(data + 1, size - 1);
		break;
	case 1:
		fuzz_wire_name(data + 1, size - 1);
		break;
	default:
		fuzz_record(record_types[data[0] % G_N_ELEMENTS(record_types)], data + 1, size - 1);
		break;
	}
	return 0;
}
