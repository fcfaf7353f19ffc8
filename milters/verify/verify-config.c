/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-config: the [verify] section. What a receiving server checks does
 * not depend on which local domain the mail is for; what it does with a
 * DMARC fail may (dmarc_enforce and the two actions, per domain in
 * domains.d: a domain that receives mailing lists or forwarded mail turns
 * enforcement into reporting for itself alone).
 */
#include "verify-policy.h"

static const char *const spf_fail_choices[] = {"none", "reject", NULL};
static const char *const org_domain_choices[] = {"tree-walk", "psl", NULL};
static const char *const reject_action_choices[] = {"reject", "quarantine", "none", NULL};
static const char *const quarantine_action_choices[] = {"hold", "none", NULL};

static const PcConfigKey verify_keys[] = {
    {"spf_fail_action", PC_CONFIG_ENUM, "none", 0, 0, spf_fail_choices,
     G_STRUCT_OFFSET(VerifyConfig, spf_fail_action), 0,
     "an SPF fail: none (reported only; DMARC decides, RFC 7489 10.1) or reject "
     "(550 5.7.23 at RCPT)"},
    {"max_signatures", PC_CONFIG_INT, "5", 1, 50, NULL,
     G_STRUCT_OFFSET(VerifyConfig, max_signatures), 0,
     "DKIM signatures verified per message; more are ignored and logged"},
    {"remove_authserv_ids", PC_CONFIG_STRING_LIST, "", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, remove_authserv_ids), 0,
     "Authentication-Results headers of these authserv-ids are removed too (besides "
     "our own): the other hosts of this site"},
    {"dmarc", PC_CONFIG_BOOL, "yes", 0, 0, NULL, G_STRUCT_OFFSET(VerifyConfig, dmarc), 0,
     "evaluate DMARC (RFC 9989) for mail from clients that neither logged in nor are trusted"},
    {"dmarc_org_domain", PC_CONFIG_ENUM, "tree-walk", 0, 0, org_domain_choices,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_org_domain), 0,
     "how organisational domains are found: tree-walk (RFC 9989's DNS tree walk) or psl "
     "(RFC 7489's public suffix list, dmarc_psl_file)"},
    {"dmarc_psl_file", PC_CONFIG_STRING, VERIFY_PSL_DEFAULT_FILE, 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_psl_file), 0,
     "the public suffix list for dmarc_org_domain = psl (Debian's publicsuffix package)"},
    {"dmarc_enforce", PC_CONFIG_BOOL, "yes", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_enforce), PC_CONFIG_KEY_PER_DOMAIN,
     "act on DMARC fails for this recipient domain; no: report them only (mailing lists, "
     "forwarded mail)"},
    {"dmarc_reject_action", PC_CONFIG_ENUM, "reject", 0, 0, reject_action_choices,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_reject_action), PC_CONFIG_KEY_PER_DOMAIN,
     "a DMARC fail under p=reject: reject (550 5.7.1), quarantine (the MTA's hold queue) "
     "or none"},
    {"dmarc_quarantine_action", PC_CONFIG_ENUM, "hold", 0, 0, quarantine_action_choices,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_quarantine_action), PC_CONFIG_KEY_PER_DOMAIN,
     "a DMARC fail under p=quarantine: hold (the MTA's hold queue, for review) or none"},
    {"dmarc_trusted_forwarders", PC_CONFIG_NETWORKS, "", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_trusted_forwarders), 0,
     "clients whose DMARC fails are reported, never acted on (forwarders, list servers)"},
    {"dmarc_history_dir", PC_CONFIG_STRING, "/var/lib/portcullis/dmarc", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_history_dir), 0,
     "where each day's DMARC evaluations are kept for aggregate reports (portcullis "
     "dmarc-report); it must exist and be writable by the daemon's user; empty: none kept"},
    {"dmarc_history_max_size", PC_CONFIG_SIZE, "256M", 1024 * 1024, G_GINT64_CONSTANT(1) << 40,
     NULL, G_STRUCT_OFFSET(VerifyConfig, dmarc_history_max_size), 0,
     "a day's history file stops growing at this size"},
    {"dmarc_history_keep", PC_CONFIG_DURATION, "7d", PC_USEC(86400), PC_USEC(366 * 86400), NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_history_keep), 0,
     "portcullis dmarc-report removes day files older than this"},
    {"dmarc_report_org_name", PC_CONFIG_STRING, "", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_report_org_name), 0,
     "the reporting organisation named in aggregate reports (default: the authserv-id)"},
    {"dmarc_report_email", PC_CONFIG_STRING, "", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_report_email), 0,
     "the address aggregate reports are sent from (needed to send them)"},
    {"dmarc_report_sendmail", PC_CONFIG_STRING, "/usr/sbin/sendmail", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_report_sendmail), 0,
     "the sendmail program reports are handed to (Postfix's, Sendmail's or any MTA's)"},
    {"dmarc_no_report_domains", PC_CONFIG_DOMAINS, "", 0, 0, NULL,
     G_STRUCT_OFFSET(VerifyConfig, dmarc_no_report_domains), 0,
     "policy domains never sent reports (\".example.com\": its subdomains too)"},
};

/* the public suffix list, read once per snapshot when it is used (main section only) */
static gboolean
verify_config_build(gpointer section, gconstpointer main_section, GError **error)
{
	VerifyConfig *verify = section;

	if (main_section != NULL || !verify->dmarc ||
	    verify->dmarc_org_domain != VERIFY_DMARC_DISCOVERY_PSL)
		return TRUE;
	if (verify->dmarc_psl_file == NULL) {
		g_set_error_literal(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE,
				    "dmarc_org_domain = psl needs dmarc_psl_file");
		return FALSE;
	}
	verify->psl = verify_psl_load(verify->dmarc_psl_file, error);
	if (verify->psl == NULL) {
		g_prefix_error(error, "dmarc_psl_file: ");
		return FALSE;
	}
	return TRUE;
}

static void
verify_config_clear(gpointer section)
{
	VerifyConfig *verify = section;

	g_clear_pointer(&verify->psl, verify_psl_free);
}

const PcConfigSchema verify_config_schema = {
    .name = "verify",
    .keys = verify_keys,
    .n_keys = G_N_ELEMENTS(verify_keys),
    .size = sizeof(VerifyConfig),
    .build = verify_config_build,
    .clear = verify_config_clear,
};
