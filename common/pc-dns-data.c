/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-dns-data: the parts of pc-dns that need no resolver: names and record
 * data in wire form (bytes from the network, so every read is bounded by
 * the length it was given), result statuses, and the budget's arithmetic.
 * Unit-tested and fuzzed without libunbound.
 */
#include <string.h>

#include "pc-dns-private.h"
#include "pc-dns.h"

/* ------------------------------------------------------------- statuses */

static const char *const status_names[PC_DNS_N_STATUS] = {
    [PC_DNS_OK] = "ok",
    [PC_DNS_NODATA] = "nodata",
    [PC_DNS_NXDOMAIN] = "nxdomain",
    [PC_DNS_SERVFAIL] = "servfail",
    [PC_DNS_TIMEOUT] = "timeout",
    [PC_DNS_BUDGET] = "budget",
    [PC_DNS_BADNAME] = "badname",
    [PC_DNS_RESOLVER_ERROR] = "error",
};

const char *
pc_dns_status_to_string(PcDnsStatus status)
{
	if ((guint)status < PC_DNS_N_STATUS)
		return status_names[status];
	return "unknown";
}

gboolean
pc_dns_status_is_answer(PcDnsStatus status)
{
	return status == PC_DNS_OK || status == PC_DNS_NODATA || status == PC_DNS_NXDOMAIN;
}

PcDnsStatus
pc_dns_status_from_answer(int rcode, gboolean have_data, gboolean bogus)
{
	/* a bogus answer is a forgery or a broken zone: its data is never used */
	if (bogus)
		return PC_DNS_SERVFAIL;
	switch (rcode) {
	case 0:
		return have_data ? PC_DNS_OK : PC_DNS_NODATA;
	case 3:
		return PC_DNS_NXDOMAIN;
	default:
		/* RFC 7208 4.4: any rcode but 0 and 3 is a failure to find out (temperror) */
		return PC_DNS_SERVFAIL;
	}
}

const char *
pc_dns_rcode_to_string(int rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};

	if (rcode >= 0 && (gsize)rcode < G_N_ELEMENTS(names))
		return names[rcode];
	return "rcode";
}

/* --------------------------------------------------------------- budget */

void
pc_dns_budget_init(PcDnsBudget *budget, gint64 total_us, gint64 query_timeout_us)
{
	g_return_if_fail(budget != NULL);

	budget->remaining_us = MAX(total_us, 0);
	budget->query_timeout_us =
	    query_timeout_us > 0 ? query_timeout_us : PC_DNS_DEFAULT_TIMEOUT_US;
	budget->queries = 0;
}

void
pc_dns_budget_init_from_config(PcDnsBudget *budget, const PcGlobalConfig *global)
{
	g_return_if_fail(global != NULL);
	pc_dns_budget_init(budget, global->dns_message_budget, global->dns_timeout);
}

gint64
pc_dns_budget_deadline(const PcDnsBudget *budget, gint64 now_us, gboolean *by_budget_out)
{
	gint64 remaining;
	gboolean by_budget;

	g_return_val_if_fail(budget != NULL, now_us);

	remaining = MAX(budget->remaining_us, 0);
	/* equal ends are a timeout: the query got all the time a query gets */
	by_budget = remaining < budget->query_timeout_us;
	if (by_budget_out != NULL)
		*by_budget_out = by_budget;
	return now_us + (by_budget ? remaining : budget->query_timeout_us);
}

void
pc_dns_budget_charge(PcDnsBudget *budget, gint64 elapsed_us)
{
	g_return_if_fail(budget != NULL);

	if (elapsed_us > 0)
		budget->remaining_us =
		    elapsed_us >= budget->remaining_us ? 0 : budget->remaining_us - elapsed_us;
}

gboolean
pc_dns_budget_is_spent(const PcDnsBudget *budget)
{
	g_return_val_if_fail(budget != NULL, TRUE);
	return budget->remaining_us <= 0;
}

/* ---------------------------------------------------------------- names */

/* one octet of a label written as text: the rest of the printable range is itself */
static void
name_append_octet(GString *out, guint8 octet)
{
	if (octet > 0x20 && octet < 0x7f && octet != '.' && octet != '\\')
		g_string_append_c(out, (char)octet);
	else
		g_string_append_printf(out, "\\%03u", octet);
}

char *
pc_dns_name_to_text(const guint8 *data, gsize len, gsize *consumed_out)
{
	g_autoptr(GString) out = g_string_new(NULL);
	gsize pos = 0;

	g_return_val_if_fail(data != NULL || len == 0, NULL);

	for (;;) {
		guint8 label_len;

		if (pos >= len)
			return NULL;
		label_len = data[pos];
		/* 0x40 and 0xc0 are compression and the obsolete extended types */
		if (label_len > PC_DNS_MAX_LABEL)
			return NULL;
		if (pos + 1 + label_len > PC_DNS_MAX_WIRE_NAME || pos + 1 + label_len > len)
			return NULL;
		if (label_len == 0)
			break;
		if (out->len > 0)
			g_string_append_c(out, '.');
		for (guint i = 0; i < label_len; i++)
			name_append_octet(out, data[pos + 1 + i]);
		pos += 1 + label_len;
	}
	if (out->len == 0)
		g_string_append_c(out, '.');
	if (consumed_out != NULL)
		*consumed_out = pos + 1;
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* "\DDD" or "\X" at text (just past the backslash): the octet and the characters used */
static gboolean
name_read_escape(const char *text, guint8 *octet_out, gsize *used_out)
{
	if (g_ascii_isdigit(text[0])) {
		guint value;

		if (!g_ascii_isdigit(text[1]) || !g_ascii_isdigit(text[2]))
			return FALSE;
		value = (guint)(text[0] - '0') * 100 + (guint)(text[1] - '0') * 10 +
			(guint)(text[2] - '0');
		if (value > 255)
			return FALSE;
		*octet_out = (guint8)value;
		*used_out = 3;
		return TRUE;
	}
	if (text[0] == '\0')
		return FALSE;
	*octet_out = (guint8)text[0];
	*used_out = 1;
	return TRUE;
}

gboolean
pc_dns_name_from_text(const char *text, guint8 *wire, gsize *wire_len_out)
{
	gsize pos = 0;	 /* next octet of wire */
	gsize label = 0; /* where the current label's length octet is */
	const char *c = text;

	g_return_val_if_fail(text != NULL, FALSE);
	g_return_val_if_fail(wire != NULL, FALSE);

	if (strcmp(text, ".") == 0) {
		wire[0] = 0;
		*wire_len_out = 1;
		return TRUE;
	}
	wire[pos++] = 0;
	while (*c != '\0') {
		guint8 octet = (guint8)*c;
		gsize used = 1;

		if (*c == '.') {
			/* an empty label, or a dot that is not the last character */
			if (pos - label == 1)
				return FALSE;
			c++;
			if (*c == '\0')
				break;
			label = pos;
			wire[pos++] = 0;
			continue;
		}
		if (*c == '\\') {
			if (!name_read_escape(c + 1, &octet, &used))
				return FALSE;
			used++;
		}
		/* the octet, then at least the root's zero octet, must fit */
		if (wire[label] == PC_DNS_MAX_LABEL || pos + 1 >= PC_DNS_MAX_WIRE_NAME)
			return FALSE;
		wire[pos++] = octet;
		wire[label]++;
		c += used;
	}
	if (pos - label == 1)
		return FALSE;
	wire[pos++] = 0;
	*wire_len_out = pos;
	return TRUE;
}

/* -------------------------------------------------------------- records */

/* a name that must fill the rest of the rdata exactly */
static char *
record_name(const guint8 *data, gsize len)
{
	gsize consumed = 0;
	g_autofree char *name = pc_dns_name_to_text(data, len, &consumed);

	if (name == NULL || consumed != len)
		return NULL;
	return g_steal_pointer(&name);
}

/* TXT: <length><octets> repeated to the end; joined without separators */
static gboolean
record_parse_txt(const guint8 *rdata, gsize rdata_len, PcDnsRecord *record)
{
	g_autoptr(GString) text = g_string_sized_new(rdata_len);
	gsize pos = 0;

	while (pos < rdata_len) {
		gsize part = rdata[pos];

		if (part > rdata_len - pos - 1)
			return FALSE;
		g_string_append_len(text, (const char *)rdata + pos + 1, (gssize)part);
		pos += 1 + part;
	}
	record->text_len = text->len;
	record->text = g_string_free(g_steal_pointer(&text), FALSE);
	return TRUE;
}

gboolean
pc_dns_record_parse(guint16 rrtype, const guint8 *rdata, gsize rdata_len, PcDnsRecord *record_out)
{
	PcDnsRecord record = {.rrtype = rrtype, .rdata = rdata, .rdata_len = rdata_len};

	g_return_val_if_fail(rdata != NULL || rdata_len == 0, FALSE);
	g_return_val_if_fail(record_out != NULL, FALSE);

	switch (rrtype) {
	case PC_DNS_TYPE_A:
		if (rdata_len != 4)
			return FALSE;
		record.address.bytes[10] = 0xff;
		record.address.bytes[11] = 0xff;
		memcpy(record.address.bytes + 12, rdata, 4);
		break;
	case PC_DNS_TYPE_AAAA:
		if (rdata_len != 16)
			return FALSE;
		memcpy(record.address.bytes, rdata, 16);
		break;
	case PC_DNS_TYPE_MX:
		if (rdata_len < 3)
			return FALSE;
		record.preference = (guint16)(rdata[0] << 8 | rdata[1]);
		record.name = record_name(rdata + 2, rdata_len - 2);
		if (record.name == NULL)
			return FALSE;
		break;
	case PC_DNS_TYPE_PTR:
	case PC_DNS_TYPE_CNAME:
	case PC_DNS_TYPE_NS:
		record.name = record_name(rdata, rdata_len);
		if (record.name == NULL)
			return FALSE;
		break;
	case PC_DNS_TYPE_TXT:
		if (!record_parse_txt(rdata, rdata_len, &record))
			return FALSE;
		break;
	default:
		break;
	}
	*record_out = record;
	return TRUE;
}

void
pc_dns_record_clear(PcDnsRecord *record)
{
	g_clear_pointer(&record->name, g_free);
	g_clear_pointer(&record->text, g_free);
}

/* --------------------------------------------------------------- results */

void
pc_dns_result_free(PcDnsResult *result)
{
	if (result == NULL)
		return;
	g_free(result->name);
	g_free(result->canonical_name);
	g_free(result->why_bogus);
	g_free(result->rdata_block);
	g_clear_pointer(&result->records, g_array_unref);
	g_clear_pointer(&result->packet, g_bytes_unref);
	g_free(result);
}
