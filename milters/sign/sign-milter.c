/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-sign: DKIM signing. The glue between pc-milter, sign-policy
 * and the signer (sign-dkim.c): per-message state, metrics and the hooks.
 * The decision is taken at EOH, when every header is known; the signing
 * handles are fed the body chunk by chunk and sign at EOM, where the
 * signatures are inserted at the top.
 */
#include "daemons.h"
#include "milter-descriptors.h"
#include "pc-milter.h"
#include "pc-stats.h"
#include "sign-policy.h"

/* written once in sign_init, before any connection */
static PcStatsCounter *signature_counters[SIGN_ALG_LAST];
static PcStatsCounter *message_counters[SIGN_REASON_LAST];

typedef struct {
	SignDecision decision;
	gboolean decided;
	SignDkimMessage *dkim; /* while signing */
	GError *error;	       /* the first failure of the signer */
} SignMessage;

static gpointer
sign_message_new(PcSession *session)
{
	return g_new0(SignMessage, 1);
}

static void
sign_message_free(gpointer data)
{
	SignMessage *message = data;

	sign_decision_clear(&message->decision);
	g_clear_pointer(&message->dkim, sign_dkim_message_free);
	g_clear_error(&message->error);
	g_free(message);
}

static gboolean
sign_init(const PcConfig *config, GError **error)
{
	const SignConfig *sign = pc_config_get_section(config);

	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		g_autofree char *labels =
		    g_strdup_printf("algorithm=\"%s\"", sign_algorithm_to_string(algorithm));

		signature_counters[algorithm] = pc_stats_counter_register(
		    "portcullis_sign_signatures_total", "DKIM signatures added", labels);
	}
	for (int reason = 0; reason < SIGN_REASON_LAST; reason++) {
		g_autofree char *labels =
		    g_strdup_printf("result=\"%s\"", sign_reason_to_string(reason));

		message_counters[reason] = pc_stats_counter_register(
		    "portcullis_sign_messages_total",
		    "Messages seen by the signer, by result (signed, or why not)", labels);
	}
	if (sign->key_table != NULL)
		g_info("keytable %s: %u keys", sign->keytable,
		       sign_key_table_size(sign->key_table));
	return TRUE;
}

/* a fallback domain without a key signs nothing: said once per configuration */
static void
sign_reconfigure(const PcConfig *config)
{
	const SignConfig *sign = pc_config_get_section(config);
	const SignConfig *fallback;

	if (sign->fallback_domain == NULL)
		return;
	fallback = pc_config_is_local_domain(config, sign->fallback_domain)
		       ? pc_config_get_domain_section(config, sign->fallback_domain)
		       : NULL;
	if (fallback == NULL || (fallback->keys[SIGN_ALG_RSA_SHA256] == NULL &&
				 fallback->keys[SIGN_ALG_ED25519_SHA256] == NULL))
		g_warning("[sign] fallback_domain: %s has no key (a domains.d file with key or "
			  "key_ed25519): nothing is signed as it",
			  sign->fallback_domain);
}

/* starts the handles and feeds them the headers to sign */
static gboolean
start_signing(const PcConfig *config, PcSession *session, SignMessage *message, GError **error)
{
	const SignConfig *sign = pc_config_get_section(config);

	message->dkim = sign_dkim_message_new(sign->lib, sign->header_canon, sign->body_canon);
	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		const SignRequest *request = &message->decision.requests[algorithm];

		if (request->key != NULL &&
		    !sign_dkim_message_add(message->dkim, request->domain, request->selector,
					   request->key, error))
			return FALSE;
	}
	for (guint i = 0; i < session->headers->len; i++) {
		const PcHeader *header = &g_array_index(session->headers, PcHeader, i);

		if (sign_policy_header_wanted(sign, header->name) &&
		    !sign_dkim_message_header(message->dkim, header->name, header->value,
					      session->header_leading_space, error))
			return FALSE;
	}
	return sign_dkim_message_eoh(message->dkim, error);
}

static void
sign_on_eoh(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	SignMessage *message = session->message_data;

	if (message->decided)
		return;
	message->decided = TRUE;
	sign_policy_decide(config, session, &message->decision);
	if (message->decision.reason == SIGN_REASON_SIGNED &&
	    !start_signing(config, session, message, &message->error))
		g_clear_pointer(&message->dkim, sign_dkim_message_free);
}

static void
sign_on_body(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	SignMessage *message = session->message_data;

	if (message->dkim != NULL &&
	    !sign_dkim_message_body(message->dkim, session->current_body, session->current_body_len,
				    &message->error))
		g_clear_pointer(&message->dkim, sign_dkim_message_free);
}

/* the log line's fields: what was signed, as what */
static void
add_fields(PcVerdict *verdict, const SignDecision *decision)
{
	g_autoptr(GString) algorithms = g_string_new(NULL);
	g_autoptr(GString) selectors = g_string_new(NULL);
	const char *domain = NULL;

	if (decision->from_domain != NULL)
		pc_verdict_add_field(verdict, "from_domain", decision->from_domain);
	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		const SignRequest *request = &decision->requests[algorithm];

		if (request->key == NULL)
			continue;
		if (algorithms->len > 0) {
			g_string_append_c(algorithms, '+');
			g_string_append_c(selectors, '+');
		}
		g_string_append(algorithms, sign_algorithm_to_string(algorithm));
		g_string_append(selectors, request->selector);
		domain = request->domain;
	}
	if (domain == NULL)
		return;
	pc_verdict_add_field(verdict, "domain", domain);
	pc_verdict_add_field(verdict, "selector", selectors->str);
	pc_verdict_add_field(verdict, "algorithms", algorithms->str);
	pc_verdict_add_field(verdict, "source", sign_source_to_string(decision->source));
}

static gboolean
finish_signing(SignMessage *message, PcVerdict *verdict)
{
	g_autoptr(GPtrArray) values = sign_dkim_message_finish(message->dkim, &message->error);
	guint next = 0;

	if (values == NULL)
		return FALSE;
	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		if (message->decision.requests[algorithm].key == NULL)
			continue;
		pc_verdict_insert_header(verdict, 0, "DKIM-Signature",
					 g_ptr_array_index(values, next++));
		pc_stats_counter_inc(signature_counters[algorithm]);
	}
	return TRUE;
}

static void
sign_on_eom(PcSession *session, const PcConfig *config, PcVerdict *verdict)
{
	SignMessage *message = session->message_data;
	SignReason reason;

	/* no EOH from the MTA (it always sends one): the headers are complete now */
	if (!message->decided)
		sign_on_eoh(session, config, verdict);
	reason = message->decision.reason;
	if (reason == SIGN_REASON_SIGNED &&
	    (message->dkim == NULL || !finish_signing(message, verdict))) {
		reason = SIGN_REASON_ERROR;
		pc_verdict_lookup_failed(verdict, pc_config_get_daemon(config)->on_error,
					 sign_reason_to_string(reason));
		g_warning("%s: sign: %s", pc_session_queue_id(session),
			  message->error != NULL ? message->error->message : "signing failed");
	} else if (reason == SIGN_REASON_SIGNED) {
		pc_verdict_note(verdict, sign_reason_to_string(reason));
	} else if (reason != SIGN_REASON_ROLE && reason != SIGN_REASON_CLIENT) {
		/* mail we would sign, but cannot: worth a line (role and client are only counted)
		 */
		pc_verdict_note(verdict, sign_reason_to_string(reason));
	}
	add_fields(verdict, &message->decision);
	pc_stats_counter_inc(message_counters[reason]);
}

const PcMilterDescriptor sign_milter = {
    .name = "sign",
    .schema = &sign_config_schema,
    .all_daemons = portcullis_daemon_schemas,
    .actions = PC_MILTER_EDIT_HEADERS,
    .statistics_offset = 4,
    .init = sign_init,
    .reconfigure = sign_reconfigure,
    .keep_all_headers = TRUE,
    .header_leading_space = TRUE,
    /* the snippets attach portcullis-sign to the submission list (submission, smtps, internal) */
    .stack_roles = (1u << PC_ROLE_SUBMISSION) | (1u << PC_ROLE_SMTPS) | (1u << PC_ROLE_INTERNAL),
    .message_new = sign_message_new,
    .message_free = sign_message_free,
    .on_eoh = sign_on_eoh,
    .on_body = sign_on_body,
    .on_eom = sign_on_eom,
};
