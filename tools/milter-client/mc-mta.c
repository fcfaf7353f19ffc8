/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mc-mta: the Postfix 3.7 and Sendmail 8.17 macro profiles and the session
 * state they are evaluated against.
 *
 * The tables below were modelled on what the two MTAs put on the wire
 * (recorded from Postfix 3.7.11 and Sendmail 8.17.1.9); the code only walks
 * them. A value is looked up in this order: the scenario's "macro" override,
 * the transaction, the session, a -D default, the profile default. It is
 * sent only if the macro's window includes the stage.
 */
#include "mc-mta.h"

#include <string.h>

#include <glib.h>

#define ST(x) (1u << MC_STAGE_##x)
#define ST_SMTPD (ST(CONNECT) | ST(HELO) | ST(MAIL) | ST(RCPT) | ST(DATA))
#define ST_CONTENT (ST(EOH) | ST(EOM))
#define ST_ALL (ST_SMTPD | ST_CONTENT)
#define ST_FROM_MAIL (ST(MAIL) | ST(RCPT) | ST(DATA) | ST_CONTENT)
#define ST_FROM_HELO (ST(HELO) | ST_FROM_MAIL)

/* ---- Postfix 3.7 ---- */

static const McMacroValue postfix_defaults[] = {
    {"j", "mail.example.com"},
    {"v", "Postfix 3.7.11"},
    {"{daemon_name}", "MX"},
    {"{daemon_addr}", "127.0.0.1"},
    {"{daemon_port}", "25"},
    {"{client_connections}", "1"},
    {NULL, NULL},
};

static const McMacroValue no_values[] = {
    {NULL, NULL},
};

/*
 * smtpd(8) answers CONNECT..DATA; cleanup(8) answers EOH, header, body and
 * EOM and knows only what smtpd forwarded in the queue file: the client
 * attributes, the SASL login and the queue id, but no TLS and no envelope
 * macros.
 */
static const McMacroWindow postfix_windows[] = {
    {"j", ST_ALL, 0},
    {"_", ST_ALL, 0},
    {"v", ST_ALL, 0},
    {"{daemon_name}", ST_ALL, MC_WINDOW_CLEANUP_NAME},
    {"{daemon_addr}", ST_ALL, 0},
    {"{daemon_port}", ST_ALL, 0},
    {"{client_addr}", ST_ALL, 0},
    {"{client_port}", ST_ALL, 0},
    {"{client_name}", ST_ALL, 0},
    {"{client_ptr}", ST_ALL, 0},
    {"{client_connections}", ST_SMTPD, 0},
    {"{tls_version}", ST_SMTPD, 0},
    {"{cipher}", ST_SMTPD, 0},
    {"{cipher_bits}", ST_SMTPD, 0},
    {"{cert_subject}", ST_SMTPD, 0},
    {"{cert_issuer}", ST_SMTPD, 0},
    {"{auth_type}", ST_FROM_MAIL, 0},
    {"{auth_authen}", ST_FROM_MAIL, 0},
    {"{auth_author}", ST_FROM_MAIL, 0},
    /* the queue file, hence i, exists only after the first accepted RCPT */
    {"i", ST(DATA) | ST_CONTENT, MC_WINDOW_RCPT_AFTER_ACCEPT},
    {"{mail_addr}", ST(MAIL) | ST(RCPT) | ST(DATA), 0},
    {"{mail_host}", ST(MAIL) | ST(RCPT) | ST(DATA), 0},
    {"{mail_mailer}", ST(MAIL) | ST(RCPT) | ST(DATA), 0},
    {"{rcpt_addr}", ST(RCPT), 0},
    {"{rcpt_host}", ST(RCPT), 0},
    {"{rcpt_mailer}", ST(RCPT), 0},
    {NULL, 0, 0},
};

static const McMtaProfile postfix_profile = {
    .name = "postfix",
    .default_lists =
	{
	    [MC_STAGE_CONNECT] = "j {daemon_name} {daemon_addr} v _",
	    [MC_STAGE_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} "
			      "{cert_issuer}",
	    [MC_STAGE_MAIL] = "i {auth_type} {auth_authen} {auth_author} {mail_addr} "
			      "{mail_host} {mail_mailer}",
	    [MC_STAGE_RCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	    [MC_STAGE_DATA] = "i",
	    [MC_STAGE_EOH] = "i",
	    [MC_STAGE_EOM] = "i",
	},
    .defaults = postfix_defaults,
    .tls_extras = no_values,
    .windows = postfix_windows,
    .reject_reply = "550 5.7.1 Command rejected",
    .tempfail_reply = "451 4.7.1 Service unavailable - try again later",
    .ipv6_prefix = "",
    .queue_id_style = MC_QUEUE_ID_POSTFIX,
    .unknown_client_bracketed = FALSE,
    .client_resolve = FALSE,
    .msg_id = FALSE,
    .bare_names_braced = TRUE,
    .empty_request_is_default = TRUE,
    .eom_request_needs_eoh = FALSE,
    .abort_on_starttls = TRUE,
};

/* ---- Sendmail 8.17 ---- */

static const McMacroValue sendmail_defaults[] = {
    {"j", "mail.example.com"},
    {"v", "8.17.1.9"},
    {"{daemon_name}", "MTA"},
    {"{daemon_addr}", "127.0.0.1"},
    {"{daemon_port}", "25"},
    /* {if_addr} stays undefined: sendmail leaves it unset for loopback */
    {"{if_name}", "localhost"},
    {NULL, NULL},
};

/* defined-but-empty without a client certificate, unlike Postfix */
static const McMacroValue sendmail_tls_extras[] = {
    {"{cert_subject}", ""},
    {"{cert_issuer}", ""},
    {"{verify}", "NO"},
    {NULL, NULL},
};

/* one process, one macro table: what is defined stays defined */
static const McMacroWindow sendmail_windows[] = {
    {"{tls_version}", ST_FROM_HELO, 0}, {"{cipher}", ST_FROM_HELO, 0},
    {"{cipher_bits}", ST_FROM_HELO, 0}, {"{cert_subject}", ST_FROM_HELO, 0},
    {"{cert_issuer}", ST_FROM_HELO, 0}, {"{verify}", ST_FROM_HELO, 0},
    {"{auth_type}", ST_FROM_MAIL, 0},	{"{auth_authen}", ST_FROM_MAIL, 0},
    {"{auth_author}", ST_FROM_MAIL, 0}, {"i", ST_FROM_MAIL, 0},
    {"{mail_addr}", ST_FROM_MAIL, 0},	{"{mail_host}", ST_FROM_MAIL, 0},
    {"{mail_mailer}", ST_FROM_MAIL, 0}, {"{rcpt_addr}", ST(RCPT), 0},
    {"{rcpt_host}", ST(RCPT), 0},	{"{rcpt_mailer}", ST(RCPT), 0},
    {"{msg_id}", ST(EOM), 0},		{NULL, 0, 0},
};

static const McMtaProfile sendmail_profile = {
    .name = "sendmail",
    .default_lists =
	{
	    [MC_STAGE_CONNECT] = "j _ {daemon_name} {if_name} {if_addr}",
	    [MC_STAGE_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} "
			      "{cert_issuer}",
	    [MC_STAGE_MAIL] = "i {auth_type} {auth_authen} {auth_ssf} {auth_author} "
			      "{mail_mailer} {mail_host} {mail_addr}",
	    [MC_STAGE_RCPT] = "{rcpt_mailer} {rcpt_host} {rcpt_addr}",
	    [MC_STAGE_DATA] = NULL,
	    [MC_STAGE_EOH] = NULL,
	    [MC_STAGE_EOM] = "{msg_id}",
	},
    .defaults = sendmail_defaults,
    .tls_extras = sendmail_tls_extras,
    .windows = sendmail_windows,
    .reject_reply = "550 5.7.1 Command rejected",
    .tempfail_reply = "451 4.3.0 Please try again later",
    .ipv6_prefix = "IPv6:",
    .queue_id_style = MC_QUEUE_ID_SENDMAIL,
    .unknown_client_bracketed = TRUE,
    .client_resolve = TRUE,
    .msg_id = TRUE,
    .bare_names_braced = FALSE,
    .empty_request_is_default = FALSE,
    .eom_request_needs_eoh = TRUE,
    .abort_on_starttls = FALSE,
};

static const McMtaProfile *const profiles[] = {&postfix_profile, &sendmail_profile};

const McMtaProfile *
mc_mta_profile_lookup(const char *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(profiles); i++) {
		if (g_strcmp0(profiles[i]->name, name) == 0)
			return profiles[i];
	}
	return NULL;
}

const McMtaProfile *
mc_mta_profile_default(void)
{
	return &postfix_profile;
}

/* ---- session state ---- */

struct _McMacros {
	const McMtaProfile *profile;
	GHashTable *overrides;	  /* name -> value, or NULL value: unset */
	GHashTable *cli_defaults; /* -D */
	GHashTable *session;	  /* connect, STARTTLS, AUTH */
	GHashTable *transaction;  /* MAIL .. ABORT */
	char *cleanup_daemon_name;
	gboolean rcpt_accepted;
	GRand *rand;
};

/* "{i}" -> "i"; Postfix also reads a bare "daemon_name" as "{daemon_name}" */
static char *
macro_canonical(const McMtaProfile *profile, const char *name)
{
	gsize len = strlen(name);

	if (len == 3 && name[0] == '{' && name[2] == '}')
		return g_strndup(name + 1, 1);
	if (len > 1 && name[0] != '{' && profile != NULL && profile->bare_names_braced)
		return g_strdup_printf("{%s}", name);
	return g_strdup(name);
}

gboolean
mc_macro_name_equal(const char *a, const char *b)
{
	g_autofree char *ca = macro_canonical(NULL, a);
	g_autofree char *cb = macro_canonical(NULL, b);

	return g_strcmp0(ca, cb) == 0;
}

McMacros *
mc_macros_new(guint32 seed)
{
	McMacros *macros = g_new0(McMacros, 1);

	macros->profile = mc_mta_profile_default();
	macros->overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	macros->cli_defaults = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	macros->session = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	macros->transaction = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	macros->rand = g_rand_new_with_seed(seed);
	return macros;
}

void
mc_macros_free(McMacros *macros)
{
	if (macros == NULL)
		return;
	g_hash_table_unref(macros->overrides);
	g_hash_table_unref(macros->cli_defaults);
	g_hash_table_unref(macros->session);
	g_hash_table_unref(macros->transaction);
	g_free(macros->cleanup_daemon_name);
	g_rand_free(macros->rand);
	g_free(macros);
}

void
mc_macros_set_profile(McMacros *macros, const McMtaProfile *profile)
{
	g_return_if_fail(profile != NULL);
	macros->profile = profile;
}

const McMtaProfile *
mc_macros_get_profile(const McMacros *macros)
{
	return macros->profile;
}

void
mc_macros_set_default(McMacros *macros, const char *name, const char *value)
{
	g_hash_table_replace(macros->cli_defaults, macro_canonical(macros->profile, name),
			     g_strdup(value));
}

void
mc_macros_override(McMacros *macros, const char *name, const char *value)
{
	g_hash_table_replace(macros->overrides, macro_canonical(macros->profile, name),
			     g_strdup(value));
}

void
mc_macros_set_cleanup_daemon_name(McMacros *macros, const char *value)
{
	g_free(macros->cleanup_daemon_name);
	macros->cleanup_daemon_name = g_strdup(value);
}

static void
table_set(GHashTable *table, const char *name, const char *value)
{
	g_hash_table_replace(table, g_strdup(name), g_strdup(value));
}

/* what a C-string MTA keeps of an address: up to the first NUL, without <> */
static char *
address_value(const guint8 *addr, gsize len)
{
	const guint8 *nul = memchr(addr, '\0', len);

	if (nul != NULL)
		len = (gsize)(nul - addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
		addr++;
		len -= 2;
	}
	return g_strndup((const char *)addr, len);
}

void
mc_macros_connect(McMacros *macros, const char *addr, const char *port, const char *name)
{
	const McMtaProfile *profile = macros->profile;
	g_autofree char *client_addr = NULL;
	g_autofree char *client_name = NULL;

	g_hash_table_remove_all(macros->session);
	mc_macros_end_transaction(macros);
	if (addr != NULL) {
		client_addr = strchr(addr, ':') != NULL
				  ? g_strconcat(profile->ipv6_prefix, addr, NULL)
				  : g_strdup(addr);
		table_set(macros->session, "{client_addr}", client_addr);
	}
	if (port != NULL)
		table_set(macros->session, "{client_port}", port);
	if (name != NULL)
		client_name = g_strdup(name);
	else if (profile->unknown_client_bracketed && client_addr != NULL)
		client_name = g_strdup_printf("[%s]", client_addr);
	else
		client_name = g_strdup("unknown");
	table_set(macros->session, "{client_name}", client_name);
	table_set(macros->session, "{client_ptr}", client_name);
	if (profile->client_resolve)
		table_set(macros->session, "{client_resolve}", name != NULL ? "OK" : "FAIL");
	if (client_addr != NULL) {
		g_autofree char *underscore = g_strdup_printf("%s [%s]", client_name, client_addr);

		table_set(macros->session, "_", underscore);
	} else {
		table_set(macros->session, "_", client_name);
	}
}

void
mc_macros_starttls(McMacros *macros, const char *version, const char *bits, const char *cipher)
{
	table_set(macros->session, "{tls_version}", version);
	table_set(macros->session, "{cipher_bits}", bits);
	table_set(macros->session, "{cipher}", cipher);
	for (const McMacroValue *v = macros->profile->tls_extras; v->name != NULL; v++)
		table_set(macros->session, v->name, v->value);
}

void
mc_macros_auth(McMacros *macros, const char *login, const char *mechanism)
{
	table_set(macros->session, "{auth_authen}", login);
	table_set(macros->session, "{auth_type}", mechanism);
}

static char *
queue_id_new(McMacros *macros)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char base60[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";
	GString *id = g_string_sized_new(16);

	if (macros->profile->queue_id_style == MC_QUEUE_ID_POSTFIX) {
		guint len = (guint)g_rand_int_range(macros->rand, 10, 12);

		for (guint i = 0; i < len; i++)
			g_string_append_c(id, hex[g_rand_int_range(macros->rand, 0, 16)]);
	} else {
		for (guint i = 0; i < 8; i++)
			g_string_append_c(id, base60[g_rand_int_range(macros->rand, 0, 60)]);
		g_string_append_printf(id, "%06d", g_rand_int_range(macros->rand, 0, 1000000));
	}
	return g_string_free(id, FALSE);
}

void
mc_macros_mail(McMacros *macros, const guint8 *addr, gsize len)
{
	g_autofree char *queue_id = NULL;
	g_autofree char *value = address_value(addr, len);

	mc_macros_end_transaction(macros);
	queue_id = queue_id_new(macros);
	table_set(macros->transaction, "i", queue_id);
	table_set(macros->transaction, "{mail_addr}", value);
	table_set(macros->transaction, "{mail_host}", "[127.0.0.1]");
	table_set(macros->transaction, "{mail_mailer}", "smtp");
}

void
mc_macros_rcpt(McMacros *macros, const guint8 *addr, gsize len)
{
	g_autofree char *value = address_value(addr, len);

	table_set(macros->transaction, "{rcpt_addr}", value);
	table_set(macros->transaction, "{rcpt_host}", "[127.0.0.1]");
	table_set(macros->transaction, "{rcpt_mailer}", "smtp");
}

void
mc_macros_rcpt_done(McMacros *macros, gboolean accepted)
{
	if (accepted)
		macros->rcpt_accepted = TRUE;
}

void
mc_macros_header(McMacros *macros, const char *name, const char *value)
{
	g_autofree char *trimmed = NULL;

	if (!macros->profile->msg_id || g_ascii_strcasecmp(name, "Message-Id") != 0)
		return;
	trimmed = g_strstrip(g_strdup(value));
	table_set(macros->transaction, "{msg_id}", trimmed);
}

void
mc_macros_end_transaction(McMacros *macros)
{
	g_hash_table_remove_all(macros->transaction);
	macros->rcpt_accepted = FALSE;
}

static const McMacroWindow *
window_find(const McMtaProfile *profile, const char *canonical)
{
	for (const McMacroWindow *w = profile->windows; w->name != NULL; w++) {
		if (strcmp(w->name, canonical) == 0)
			return w;
	}
	return NULL;
}

/* the value regardless of stage; (transfer none) */
static const char *
value_find(McMacros *macros, const char *canonical)
{
	GHashTable *tables[] = {macros->transaction, macros->session, macros->cli_defaults};
	gpointer value;

	if (g_hash_table_lookup_extended(macros->overrides, canonical, NULL, &value))
		return value;
	for (guint i = 0; i < G_N_ELEMENTS(tables); i++) {
		if (g_hash_table_lookup_extended(tables[i], canonical, NULL, &value))
			return value;
	}
	for (const McMacroValue *v = macros->profile->defaults; v->name != NULL; v++) {
		if (strcmp(v->name, canonical) == 0)
			return v->value;
	}
	return NULL;
}

char *
mc_macros_lookup(McMacros *macros, McStage stage, const char *name)
{
	const McMtaProfile *profile = macros->profile;
	g_autofree char *canonical = macro_canonical(profile, name);
	const McMacroWindow *window;
	gboolean content = (stage == MC_STAGE_EOH || stage == MC_STAGE_EOM);

	/* Sendmail reads an unbraced multi-letter name as an unknown macro */
	if (strlen(canonical) > 1 && canonical[0] != '{')
		return NULL;
	window = window_find(profile, canonical);
	if (window != NULL && (window->stages & (1u << stage)) == 0) {
		gboolean rcpt_ok = (window->flags & MC_WINDOW_RCPT_AFTER_ACCEPT) != 0 &&
				   stage == MC_STAGE_RCPT && macros->rcpt_accepted;

		if (!rcpt_ok)
			return NULL;
	}
	if (window != NULL && (window->flags & MC_WINDOW_CLEANUP_NAME) != 0 && content) {
		if (macros->cleanup_daemon_name != NULL)
			return g_strdup(macros->cleanup_daemon_name);
		return g_strdup(value_find(macros, "j"));
	}
	if (profile->msg_id && stage == MC_STAGE_EOM && strcmp(canonical, "{msg_id}") == 0 &&
	    value_find(macros, canonical) == NULL && value_find(macros, "i") != NULL) {
		/* no Message-Id header: Sendmail makes one up from the queue id */
		return g_strdup_printf("<%s@%s>", value_find(macros, "i"),
				       value_find(macros, "j") != NULL ? value_find(macros, "j")
								       : "localhost");
	}
	return g_strdup(value_find(macros, canonical));
}

/* the list the MTA uses for stage: the milter's request or its own default */
static const char *
list_for_stage(const McMtaProfile *profile, McStage stage, const McNegotiation *requested)
{
	const char *asked = requested != NULL ? requested->macro_lists[stage] : NULL;

	/*
	 * Sendmail 8.17 consults the EOH request flag when it picks the EOM
	 * list, so a milter that asks only for EOM macros gets the default EOM
	 * list; reproduced because milters written against Postfix trip on it.
	 */
	if (stage == MC_STAGE_EOM && profile->eom_request_needs_eoh &&
	    (requested == NULL || requested->macro_lists[MC_STAGE_EOH] == NULL))
		asked = NULL;
	if (asked != NULL && *asked == '\0' && profile->empty_request_is_default)
		asked = NULL;
	return asked != NULL ? asked : profile->default_lists[stage];
}

GPtrArray *
mc_macros_collect(McMacros *macros, McStage stage, const McNegotiation *requested)
{
	const char *list;
	g_auto(GStrv) names = NULL;
	GPtrArray *pairs;
	gboolean any_name = FALSE;

	g_return_val_if_fail(stage < MC_STAGE_COUNT, NULL);

	list = list_for_stage(macros->profile, stage, requested);
	if (list == NULL)
		return NULL;
	names = g_strsplit_set(list, " ,\t", -1);
	pairs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; names[i] != NULL; i++) {
		char *value;

		if (names[i][0] == '\0')
			continue;
		any_name = TRUE;
		value = mc_macros_lookup(macros, stage, names[i]);
		if (value == NULL)
			continue;
		g_ptr_array_add(pairs, g_strdup(names[i]));
		g_ptr_array_add(pairs, value);
	}
	/* an empty list means no packet; names without values still make one */
	if (!any_name) {
		g_ptr_array_unref(pairs);
		return NULL;
	}
	return pairs;
}
