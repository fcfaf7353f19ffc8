/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for sign-policy and the [sign] section: the decision table
 * (listener role x login x trusted client x From forms x key present x
 * sign_subdomains x fallback_domain x algorithms), the header list, and
 * the section's checks and build (keys per domain, shared with the main
 * section, refused when unsafe or of the wrong type).
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sign-policy.h"

static char *dir;
static char *domains;
static char *rsa_path;
static char *ed_path;

static void
write_pem(const char *path, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;

	g_assert_cmpint(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), ==, 1);
	len = BIO_get_mem_data(bio, &data);
	g_assert_true(g_file_set_contents(path, data, len, NULL));
	g_assert_cmpint(chmod(path, 0600), ==, 0);
	BIO_free(bio);
}

static void
domain_file(const char *domain, const char *text)
{
	g_autofree char *name = g_strdup_printf("%s.conf", domain);
	g_autofree char *path = g_build_filename(domains, name, NULL);
	g_autofree char *full = g_strdup_printf("[sign]\n%s", text);

	g_assert_true(g_file_set_contents(path, full, -1, NULL));
}

/* the snapshot with extra lines in [sign]; NULL with *error when it does not load */
static PcConfig *
load(const char *extra, GError **error)
{
	g_autofree char *path = g_build_filename(dir, "portcullis.conf", NULL);
	g_autofree char *text = g_strdup_printf(
	    "[global]\nlocal_domains = example.com\ntrusted_networks = 10.0.0.0/8\n"
	    "domains_dir = %s\nuser =\n"
	    "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
	    "[listener.submission]\nrole = submission\nports = 587\ndaemon_names = ORIGINATING\n"
	    "[listener.smtps]\nrole = smtps\nports = 465\ndaemon_names = SMTPS\n"
	    "[listener.internal]\nrole = internal\nports = 10025\ndaemon_names = INTERNAL\n"
	    "[sign]\n%s",
	    domains, extra != NULL ? extra : "");

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return pc_config_load(path, &sign_config_schema, error);
}

/*
 * --- the decision table ---
 */

#define NONE "-"
#define R (1u << SIGN_ALG_RSA_SHA256)
#define E (1u << SIGN_ALG_ED25519_SHA256)

typedef struct {
	const char *label;
	const char *config;   /* extra [sign] lines, or NULL */
	const char *listener; /* {daemon_name}; NULL: ORIGINATING */
	const char *client;   /* NULL: 198.51.100.7 (untrusted); 10.x is trusted */
	const char *login;    /* NULL: alice; NONE: not logged in */
	const char *from;     /* NULL: Alice <alice@dual.example>; NONE: no From */
	const char *from2;    /* a second From header */
	gboolean overflow;    /* over the session's header limits */
	SignReason want;
	guint algorithms; /* R | E */
	const char *domain;
	SignSource source;
} DecisionCase;

#define SIGNED(algs, d, src)                                                                       \
	.want = SIGN_REASON_SIGNED, .algorithms = (algs), .domain = (d), .source = (src)
#define DUAL SIGNED(R | E, "dual.example", SIGN_SOURCE_DOMAIN)

/* clang-format off */
static const DecisionCase decision_cases[] = {
    /* role x login x trusted */
    {"role/submission-login", DUAL},
    {"role/smtps-login", .listener = "SMTPS", DUAL},
    {"role/internal-trusted", .listener = "INTERNAL", .client = "10.1.2.3", .login = NONE, DUAL},
    {"role/internal-untrusted", .listener = "INTERNAL", .login = NONE,
     .want = SIGN_REASON_CLIENT},
    {"role/internal-login", .listener = "INTERNAL", DUAL},
    {"role/submission-trusted", .client = "10.1.2.3", .login = NONE, DUAL},
    {"role/submission-anonymous", .login = NONE, .want = SIGN_REASON_CLIENT},
    {"role/mx-login", .listener = "MX", .want = SIGN_REASON_ROLE},
    {"role/mx-trusted", .listener = "MX", .client = "10.1.2.3", .login = NONE,
     .want = SIGN_REASON_ROLE},
    {"role/unknown-listener-is-mx", .listener = "OTHER", .want = SIGN_REASON_ROLE},
    {"role/mx-listed-login", "roles = mx submission\n", .listener = "MX", DUAL},
    {"role/mx-listed-trusted", "roles = mx\n", .listener = "MX", .client = "10.9.9.9",
     .login = NONE, DUAL},
    {"role/mx-listed-anonymous", "roles = mx\n", .listener = "MX", .login = NONE,
     .want = SIGN_REASON_CLIENT},
    {"role/internal-not-listed", "roles = submission\n", .listener = "INTERNAL",
     .client = "10.1.2.3", .login = NONE, .want = SIGN_REASON_ROLE},
    /* From forms */
    {"from/none", .from = NONE, .want = SIGN_REASON_NO_FROM},
    {"from/two-headers", .from2 = "alice@dual.example", .want = SIGN_REASON_SEVERAL_FROM},
    {"from/two-addresses", .from = "a@dual.example, b@dual.example",
     .want = SIGN_REASON_FROM_ADDRESSES},
    {"from/group", .from = "undisclosed-recipients:;", .want = SIGN_REASON_FROM_INVALID},
    {"from/group-with-address", .from = "team: a@dual.example;",
     .want = SIGN_REASON_FROM_INVALID},
    {"from/garbage", .from = "<<alice>>", .want = SIGN_REASON_FROM_INVALID},
    {"from/no-domain", .from = "alice", .want = SIGN_REASON_FROM_INVALID},
    {"from/ip-literal", .from = "alice@[192.0.2.1]", .want = SIGN_REASON_FROM_INVALID},
    {"from/utf8-domain", .from = "alice@b\xc3\xbc" "cher.example",
     .want = SIGN_REASON_FROM_INVALID},
    {"from/case-and-dot", .from = "Alice <ALICE@Dual.Example.>", DUAL},
    {"from/encoded-name", .from = "=?utf-8?q?J=C3=B6rg?= <j@dual.example>", DUAL},
    {"from/quoted-local", .from = "\"a b\"@dual.example", DUAL},
    {"from/over-limits", .overflow = TRUE, .want = SIGN_REASON_HEADERS_TOO_BIG},
    /* keys present or not */
    {"key/rsa-only", .from = "x@rsa.example", SIGNED(R, "rsa.example", SIGN_SOURCE_DOMAIN)},
    {"key/ed-only", .from = "x@ed.example", SIGNED(E, "ed.example", SIGN_SOURCE_DOMAIN)},
    {"key/none", .from = "x@nokey.example", .want = SIGN_REASON_NO_KEY},
    {"key/local-without-key", .from = "x@example.com", .want = SIGN_REASON_NO_KEY},
    {"key/main-key-local", "selector = m1\nkey = @rsa\n", .from = "x@example.com",
     SIGNED(R, "example.com", SIGN_SOURCE_DOMAIN)},
    {"key/main-key-not-foreign", "selector = m1\nkey = @rsa\n", .from = "x@gmail.example",
     .want = SIGN_REASON_NO_KEY},
    {"key/domain-file-wins", "selector = m1\nkey = @rsa\n", .from = "x@ed.example",
     SIGNED(R | E, "ed.example", SIGN_SOURCE_DOMAIN)},
    {"key/algorithms-rsa", "algorithms = rsa-sha256\n", SIGNED(R, "dual.example",
     SIGN_SOURCE_DOMAIN)},
    {"key/algorithms-ed", "algorithms = ed25519-sha256\n", .from = "x@rsa.example",
     .want = SIGN_REASON_NO_KEY},
    /* sign_subdomains */
    {"sub/off", .from = "x@a.sub.example", .want = SIGN_REASON_NO_KEY},
    {"sub/nearest-parent", "sign_subdomains = yes\n", .from = "x@a.b.sub.example",
     SIGNED(R, "sub.example", SIGN_SOURCE_PARENT)},
    {"sub/own-key-first", "sign_subdomains = yes\n", .from = "x@dual.example", DUAL},
    {"sub/no-parent-key", "sign_subdomains = yes\n", .from = "x@a.nokey.example",
     .want = SIGN_REASON_NO_KEY},
    /* fallback_domain */
    {"fallback/used", "fallback_domain = Ed.Example\n", .from = "x@nokey.example",
     SIGNED(E, "ed.example", SIGN_SOURCE_FALLBACK)},
    {"fallback/own-key-first", "fallback_domain = ed.example\n", .from = "x@rsa.example",
     SIGNED(R, "rsa.example", SIGN_SOURCE_DOMAIN)},
    {"fallback/after-parent", "fallback_domain = ed.example\nsign_subdomains = yes\n",
     .from = "x@a.sub.example", SIGNED(R, "sub.example", SIGN_SOURCE_PARENT)},
    {"fallback/without-key", "fallback_domain = nokey.example\n", .from = "x@other.example",
     .want = SIGN_REASON_NO_KEY},
    {"fallback/not-for-client", "fallback_domain = ed.example\n", .login = NONE,
     .from = "x@nokey.example", .want = SIGN_REASON_CLIENT},
};
/* clang-format on */

/* text with "@rsa" and "@ed" made the key files' paths */
static char *
with_keys(const char *text)
{
	g_auto(GStrv) rsa = g_strsplit(text, "@rsa", -1);
	g_autofree char *step = g_strjoinv(rsa_path, rsa);
	g_auto(GStrv) ed = g_strsplit(step, "@ed", -1);

	return g_strjoinv(ed_path, ed);
}

static void
test_decision(gconstpointer data)
{
	const DecisionCase *test = data;
	g_autofree char *extra = test->config != NULL ? with_keys(test->config) : NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load(extra, &error);
	g_autoptr(PcSession) session = NULL;
	g_auto(SignDecision) decision = {0};
	const char *client = test->client != NULL ? test->client : "198.51.100.7";
	const char *from = test->from != NULL ? test->from : "Alice <alice@dual.example>";
	PcConfigSlot slot;
	PcNetAddress address;
	guint algorithms = 0;

	g_assert_no_error(error);
	pc_config_slot_init(&slot, config);
	session = pc_session_new(NULL, 0);
	session->daemon_name = g_strdup(test->listener != NULL ? test->listener : "ORIGINATING");
	g_assert_true(pc_net_address_parse(client, &address));
	pc_session_set_client(session, "client.test", &address);
	pc_session_pin_config(session, &slot);
	if (test->login == NULL)
		session->auth_login = g_strdup("alice");
	pc_session_set_sender(session, "<alice@dual.example>");
	pc_session_add_header(session, "Subject", "hello", TRUE);
	if (strcmp(from, NONE) != 0)
		pc_session_add_header(session, "From", from, TRUE);
	if (test->from2 != NULL)
		pc_session_add_header(session, "From", test->from2, TRUE);
	session->headers_overflow = test->overflow;

	sign_policy_decide(session->config, session, &decision);
	g_assert_cmpstr(sign_reason_to_string(decision.reason), ==,
			sign_reason_to_string(test->want));
	for (int algorithm = 0; algorithm < SIGN_ALG_LAST; algorithm++) {
		const SignRequest *request = &decision.requests[algorithm];

		if (request->key == NULL)
			continue;
		algorithms |= 1u << algorithm;
		g_assert_cmpstr(request->domain, ==, test->domain);
		g_assert_cmpint(sign_key_get_algorithm(request->key), ==, algorithm);
		g_assert_nonnull(request->selector);
	}
	g_assert_cmpuint(algorithms, ==, test->algorithms);
	g_assert_cmpuint(decision.n_requests, ==, (guint)__builtin_popcount(test->algorithms));
	if (test->want == SIGN_REASON_SIGNED)
		g_assert_cmpstr(sign_source_to_string(decision.source), ==,
				sign_source_to_string(test->source));
	pc_session_unpin_config(session);
	pc_config_slot_clear(&slot);
}

/* the table covers every reason that policy gives */
static void
test_decision_coverage(void)
{
	guint seen = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(decision_cases); i++)
		seen |= 1u << decision_cases[i].want;
	for (int reason = 0; reason < SIGN_REASON_LAST; reason++) {
		if (reason != SIGN_REASON_ERROR)
			g_assert_true(seen & (1u << reason));
	}
}

/*
 * --- the section: checks and build ---
 */

typedef struct {
	const char *label;
	const char *config; /* [sign] lines; "@rsa" and "@ed" are key paths */
	const char *want;   /* in the error; NULL: loads */
} ConfigCase;

/* clang-format off */
static const ConfigCase config_cases[] = {
    {"defaults", "", NULL},
    {"canon/simple-rsa", "canonicalization = simple/simple\nalgorithms = rsa-sha256\n", NULL},
    {"canon/one-word", "canonicalization = relaxed\n", NULL},
    /* our own signer hashes the header it inserts: every canonicalisation with Ed25519 */
    {"canon/simple-ed25519", "canonicalization = simple/relaxed\n", NULL},
    {"canon/simple-one-word-ed25519", "canonicalization = simple\nalgorithms = ed25519-sha256\n",
     NULL},
    {"canon/bad", "canonicalization = relaxed/strict\n",
     "canonicalization: 'relaxed/strict' is not HEADER/BODY of simple or relaxed"},
    {"canon/three", "canonicalization = simple/simple/simple\n", "is not HEADER/BODY"},
    {"roles/bad", "roles = submission relay\n", "roles: 'relay' is not a role"},
    {"algorithms/bad", "algorithms = rsa-sha1\n",
     "algorithms: 'rsa-sha1' is not rsa-sha256 or ed25519-sha256"},
    {"algorithms/empty", "algorithms =\n", "algorithms: at least one"},
    {"headers/no-from", "headers = To Subject\n", "headers: must include From"},
    {"headers/bad-name", "headers = From Sub:ject\n", "headers: 'Sub:ject' is not"},
    {"headers/star-only", "headers = From *\n", "headers: '*' is not"},
    {"oversign/wildcard", "oversign_headers = List-*\n", "oversign_headers: 'List-*'"},
    {"key/no-selector", "key = @rsa\n", "key: set, but selector is not"},
    {"key/ed-no-selector", "key_ed25519 = @ed\n", "key_ed25519: set, but selector_ed25519"},
    {"selector/bad", "selector = a@b\nkey = @rsa\n", "selector: 'a@b' is not a selector"},
    {"key/wrong-type", "selector = s\nkey = @ed\n", "key: @ed holds an Ed25519 key, not RSA"},
    {"key/wrong-type-ed", "selector_ed25519 = s\nkey_ed25519 = @rsa\n",
     "holds an RSA key, not Ed25519"},
    {"key/missing", "selector = s\nkey = /nonexistent.pem\n",
     "key: /nonexistent.pem: No such file"},
    {"tables/keytable-alone", "keytable = /etc/keytable\n",
     "keytable: set, but signingtable is not"},
    {"tables/signingtable-alone", "signingtable = refile:/etc/signingtable\n",
     "signingtable: set, but keytable is not"},
    {"tables/relative", "keytable = keytable\nsigningtable = /x\n",
     "keytable: the path must be absolute"},
    {"fallback/bad", "fallback_domain = not..a.domain\n", "fallback_domain: 'not..a.domain'"},
    {"ttl/too-long", "signature_ttl = 400d\n", "signature_ttl"},
};
/* clang-format on */

static void
test_config_case(gconstpointer data)
{
	const ConfigCase *test = data;
	g_autofree char *extra = with_keys(test->config);
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load(extra, &error);
	g_autofree char *want = NULL;

	if (test->want == NULL) {
		g_assert_no_error(error);
		g_assert_nonnull(pc_config_get_section(config));
		return;
	}
	g_assert_null(config);
	want = with_keys(test->want);
	if (strstr(error->message, want) == NULL)
		g_error("%s: '%s' not in '%s'", test->label, want, error->message);
}

/* the derived fields, and one key object for domains that name the main section's file */
static void
test_config_derived(void)
{
	g_autofree char *extra =
	    g_strdup_printf("canonicalization = relaxed\nroles = smtps internal\n"
			    "algorithms = ed25519-sha256\nselector_ed25519 = m\nkey_ed25519 = %s\n",
			    ed_path);
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const SignConfig *main_sign;
	const SignConfig *ed;
	const SignConfig *dual;

	domain_file("inherit.example", "selector_ed25519 = other\n");
	config = load(extra, &error);
	g_assert_no_error(error);
	main_sign = pc_config_get_section(config);
	g_assert_cmpint(main_sign->header_canon, ==, SIGN_CANON_RELAXED);
	g_assert_cmpint(main_sign->body_canon, ==, SIGN_CANON_SIMPLE);
	g_assert_cmpuint(main_sign->roles_mask, ==,
			 (1u << PC_ROLE_SMTPS) | (1u << PC_ROLE_INTERNAL));
	g_assert_cmpuint(main_sign->algorithms_mask, ==, E);
	g_assert_nonnull(main_sign->lib);
	/* the same file: the same key object, loaded once */
	ed = pc_config_get_domain_section(config, "inherit.example");
	g_assert_true(ed->keys[SIGN_ALG_ED25519_SHA256] ==
		      main_sign->keys[SIGN_ALG_ED25519_SHA256]);
	g_assert_cmpstr(ed->selector_ed25519, ==, "other");
	g_assert_null(ed->lib);
	/* dual.example names the same Ed25519 file as well; its RSA key is its own */
	dual = pc_config_get_domain_section(config, "dual.example");
	g_assert_true(dual->keys[SIGN_ALG_ED25519_SHA256] ==
		      main_sign->keys[SIGN_ALG_ED25519_SHA256]);
	g_assert_nonnull(dual->keys[SIGN_ALG_RSA_SHA256]);
	g_assert_null(main_sign->keys[SIGN_ALG_RSA_SHA256]);
	{
		g_autofree char *path = g_build_filename(domains, "inherit.example.conf", NULL);

		g_unlink(path);
	}
}

static void
test_config_unsafe_domain_key(void)
{
	g_autofree char *open = g_build_filename(dir, "open.pem", NULL);
	g_autofree char *text = g_strdup_printf("selector = s\nkey = %s\n", open);
	g_autofree char *file = g_build_filename(domains, "unsafe.example.conf", NULL);
	g_autofree char *want = g_strdup_printf(
	    "%s:3: [sign]: key: %s: unsafe key file: readable by group", file, open);
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;

	g_assert_true(g_file_set_contents(open, "x", -1, NULL));
	g_assert_cmpint(chmod(open, 0644), ==, 0);
	domain_file("unsafe.example", text);
	config = load(NULL, &error);
	g_assert_null(config);
	if (strstr(error->message, want) == NULL)
		g_error("'%s' not in '%s'", want, error->message);
	g_unlink(file);
	g_unlink(open);
}

/* the header list: names and a trailing '*', caseless; oversigned names are fed too */
static void
test_header_wanted(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = load("oversign_headers = From X-Extra\n", &error);
	const SignConfig *sign = pc_config_get_section(config);

	g_assert_no_error(error);
	g_assert_true(sign_policy_header_wanted(sign, "from"));
	g_assert_true(sign_policy_header_wanted(sign, "MESSAGE-ID"));
	g_assert_true(sign_policy_header_wanted(sign, "List-Unsubscribe"));
	g_assert_true(sign_policy_header_wanted(sign, "list-id"));
	g_assert_true(sign_policy_header_wanted(sign, "X-Extra"));
	g_assert_false(sign_policy_header_wanted(sign, "Received"));
	g_assert_false(sign_policy_header_wanted(sign, "Lis"));
	g_assert_false(sign_policy_header_wanted(sign, "DKIM-Signature"));
	g_assert_false(sign_policy_header_wanted(sign, "Return-Path"));
}

int
main(int argc, char **argv)
{
	EVP_PKEY *rsa;
	EVP_PKEY *ed;
	int status;

	g_test_init(&argc, &argv, NULL);
	dir = g_dir_make_tmp("pc-sign-policy-XXXXXX", NULL);
	domains = g_build_filename(dir, "domains.d", NULL);
	g_assert_cmpint(g_mkdir(domains, 0700), ==, 0);
	rsa_path = g_build_filename(dir, "rsa.pem", NULL);
	ed_path = g_build_filename(dir, "ed.pem", NULL);
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	write_pem(rsa_path, rsa);
	write_pem(ed_path, ed);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	{
		g_autofree char *dual = g_strdup_printf(
		    "selector = s1\nkey = %s\nselector_ed25519 = e1\nkey_ed25519 = %s\n", rsa_path,
		    ed_path);
		g_autofree char *rsa_only = g_strdup_printf("selector = s2\nkey = %s\n", rsa_path);
		g_autofree char *ed_only =
		    g_strdup_printf("selector_ed25519 = e2\nkey_ed25519 = %s\n", ed_path);

		domain_file("dual.example", dual);
		domain_file("rsa.example", rsa_only);
		domain_file("sub.example", rsa_only);
		domain_file("ed.example", ed_only);
	}

	for (gsize i = 0; i < G_N_ELEMENTS(decision_cases); i++) {
		g_autofree char *path =
		    g_strdup_printf("/sign/decision/%s", decision_cases[i].label);

		g_test_add_data_func(path, &decision_cases[i], test_decision);
	}
	g_test_add_func("/sign/decision/coverage", test_decision_coverage);
	for (gsize i = 0; i < G_N_ELEMENTS(config_cases); i++) {
		g_autofree char *path = g_strdup_printf("/sign/config/%s", config_cases[i].label);

		g_test_add_data_func(path, &config_cases[i], test_config_case);
	}
	g_test_add_func("/sign/config/derived", test_config_derived);
	g_test_add_func("/sign/config/unsafe-domain-key", test_config_unsafe_domain_key);
	g_test_add_func("/sign/headers/wanted", test_header_wanted);
	status = g_test_run();

	for (const char *const *name =
		 (const char *const[]){"dual.example.conf", "rsa.example.conf", "sub.example.conf",
				       "ed.example.conf", NULL};
	     *name != NULL; name++) {
		g_autofree char *path = g_build_filename(domains, *name, NULL);

		g_unlink(path);
	}
	g_rmdir(domains);
	g_unlink(rsa_path);
	g_unlink(ed_path);
	{
		g_autofree char *conf = g_build_filename(dir, "portcullis.conf", NULL);

		g_unlink(conf);
	}
	g_rmdir(dir);
	return status;
}
