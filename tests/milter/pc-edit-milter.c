/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pc-edit-milter: a test daemon on the pc-milter skeleton (not installed)
 * that exercises what the content daemons need from it: header edits asked
 * for at HEADER and at EOM, on headers it never kept, and a streamed body.
 *
 *  - the 2nd "X-Change" header becomes "changed-2" (asked at HEADER);
 *  - the 1st "X-Delete" header is removed (asked at HEADER);
 *  - "X-Edit-Top: top" is inserted at the top (asked at EOM);
 *  - "X-Edit-Body: bytes=N chunks=M sha256=HEX" is added at the end (EOM):
 *    the body as the MTA streamed it, chunk by chunk, never copied whole;
 *  - "X-Edit-DNS: localhost=ADDRESS queries=N" is added at the end (EOM):
 *    localhost's A record through the process's resolver (uses_dns), with
 *    the message's budget (libunbound answers localhost itself: no server).
 *
 * It keeps no header and answers at no stage but EOM: what it asks the MTA
 * for is derived from its hooks alone.
 */
#include "pc-milter.h"

typedef struct {
	GChecksum *body_sum;
	gint64 bytes;
	guint chunks;
	PcDnsBudget budget;
} EditMessage;

/* the daemon's own section; it has no keys beyond the common ones */
typedef struct {
	int unused;
} EditConfig;

static const PcConfigSchema edit_schema = {
    .name = "edit",
    .size = sizeof(EditConfig),
};

static gpointer
edit_message_new(PcSession *session)
{
	EditMessage *message = g_new0(EditMessage, 1);

	message->body_sum = g_checksum_new(G_CHECKSUM_SHA256);
	pc_dns_budget_init_from_config(&message->budget, pc_config_get_global(session->config));
	return message;
}

static void
edit_message_free(gpointer data)
{
	EditMessage *message = data;

	g_checksum_free(message->body_sum);
	g_free(message);
}

static void
edit_on_header(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	const PcHeader *header = session->current_header;

	if (g_ascii_strcasecmp(header->name, "X-Change") == 0 && header->instance == 2)
		pc_verdict_change_header(verdict, header->name, header->instance, "changed-2");
	if (g_ascii_strcasecmp(header->name, "X-Delete") == 0 && header->instance == 1)
		pc_verdict_delete_header(verdict, header->name, header->instance);
}

static void
edit_on_body(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	EditMessage *message = session->message_data;

	g_checksum_update(message->body_sum, session->current_body,
			  (gssize)session->current_body_len);
	message->bytes += (gint64)session->current_body_len;
	message->chunks++;
}

static void
edit_on_eom(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	EditMessage *message = session->message_data;
	g_autofree char *summary =
	    g_strdup_printf("bytes=%" G_GINT64_FORMAT " chunks=%u sha256=%s", message->bytes,
			    message->chunks, g_checksum_get_string(message->body_sum));

	g_autoptr(PcDnsResult) localhost =
	    pc_dns_query(pc_milter_get_dns(), "localhost", PC_DNS_TYPE_A, &message->budget);
	char address[PC_NET_ADDRESS_STRLEN] = "none";
	g_autofree char *resolved = NULL;

	if (localhost->status == PC_DNS_OK)
		pc_net_address_to_string(&pc_dns_result_record(localhost, 0)->address, address,
					 sizeof(address));
	resolved = g_strdup_printf("localhost=%s queries=%u", address, message->budget.queries);
	pc_verdict_insert_header(verdict, 0, "X-Edit-Top", "top");
	pc_verdict_add_header(verdict, "X-Edit-Body", summary);
	pc_verdict_add_header(verdict, "X-Edit-DNS", resolved);
	pc_verdict_note(verdict, "edited");
}

static const PcMilterDescriptor edit_milter = {
    .name = "edit",
    .schema = &edit_schema,
    .statistics_offset = 9,
    .actions = PC_MILTER_EDIT_HEADERS,
    .uses_dns = TRUE,
    .message_new = edit_message_new,
    .message_free = edit_message_free,
    .on_header = edit_on_header,
    .on_body = edit_on_body,
    .on_eom = edit_on_eom,
};

int
main(int argc, char **argv)
{
	return pc_milter_main(&edit_milter, argc, argv);
}
