/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-policy: see verify-policy.h.
 */
#include "verify-policy.h"

#include <string.h>

gpointer
verify_message_new(PcSession *session)
{
	VerifyMessage *message = g_new0(VerifyMessage, 1);

	message->forged = g_array_new(FALSE, FALSE, sizeof(guint));
	/* pinned at MAIL, before this is made */
	pc_dns_budget_init_from_config(&message->dns_budget, pc_config_get_global(session->config));
	verify_spf_charge_helo(session->connection_data, &message->dns_budget);
	return message;
}

void
verify_message_free(gpointer data)
{
	VerifyMessage *message = data;

	if (message == NULL)
		return;
	g_array_unref(message->forged);
	/* message->dkim is main.c's (verify_message_free_all): libopendkim is linked there only */
	g_assert(message->dkim == NULL);
	verify_spf_message_clear(&message->spf);
	verify_dmarc_message_clear(&message->dmarc);
	g_free(message);
}

const char *
verify_authserv_id(const PcConfig *config)
{
	const char *id = pc_config_get_global(config)->authserv_id;

	return id != NULL && *id != '\0' ? id : g_get_host_name();
}

void
verify_policy_header(const VerifyConfig *verify, PcSession *session, VerifyMessage *message)
{
	const PcHeader *header = session->current_header;
	g_autoptr(GPtrArray) ids = g_ptr_array_new();

	if (header == NULL || g_ascii_strcasecmp(header->name, "Authentication-Results") != 0)
		return;
	message->authres_seen++;
	/* instance 0: past the session's name limit, it cannot be deleted by number */
	if (header->instance == 0)
		return;
	g_ptr_array_add(ids, (gpointer)verify_authserv_id(session->config));
	for (char **id = verify->remove_authserv_ids; id != NULL && *id != NULL; id++)
		g_ptr_array_add(ids, *id);
	g_ptr_array_add(ids, NULL);
	if (pc_authres_is_ours(header->value, strlen(header->value),
			       (const char *const *)ids->pdata))
		g_array_append_val(message->forged, header->instance);
}

guint
verify_policy_eom(PcSession *session, VerifyMessage *message, const PcAuthRes *authres,
		  PcVerdict *verdict)
{
	g_autofree char *value = pc_authres_format(authres);
	guint removed = 0;

	for (guint i = 0; i < message->forged->len; i++) {
		if (pc_verdict_delete_header(verdict, "Authentication-Results",
					     g_array_index(message->forged, guint, i)))
			removed++;
	}
	pc_verdict_insert_header(verdict, 0, "Authentication-Results", value);
	return removed;
}
