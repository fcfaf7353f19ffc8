/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for auth-policy: the decision table (listener role x authentication
 * x TLS version x cipher bits x envelope sender owned or not x header From
 * forms), the owners' lookup order, the signals with injected time, on_error,
 * and the [auth] section's check (roles, senders, the map file).
 */
#include <string.h>

#include <glib/gstdio.h>

#include "auth-policy.h"
#include "pc-addr.h"
#include "pc-store.h"

#define MAP_TEXT                                                                                   \
	"# test map\n"                                                                             \
	"alice@example.com  alice@example.com, alice-app\n"                                        \
	"@example.net       bob\n"                                                                 \
	"postmaster         alice@example.com\n"                                                   \
	"dave@example.org   dave\n"                                                                \
	"carol@example.org  mallory\n"                                                             \
	"j\xc3\xb6rg@example.com  J\xc3\x96RG\n"

typedef struct {
	char *dir;
	char *domains;
	char *map_path;
	char *config_path;
	PcConfigSlot slot;
	gboolean slot_ready;
	PcStore *store;
} Fixture;

static void
write_config(Fixture *fx, const char *extra)
{
	/* extra may name its own map, or none */
	gboolean map_line = extra == NULL || strstr(extra, "sender_login_maps") == NULL;
	g_autofree char *text = g_strdup_printf(
	    "[global]\nlocal_domains = example.com; example.net\n"
	    "trusted_networks = 10.0.0.0/8\ndomains_dir = %s\nuser =\n"
	    "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
	    "[listener.submission]\nrole = submission\nports = 587\ndaemon_names = ORIGINATING\n"
	    "[listener.smtps]\nrole = smtps\nports = 465\ndaemon_names = SMTPS\n"
	    "[listener.internal]\nrole = internal\nports = 10025\ndaemon_names = INTERNAL\n"
	    "[auth]\n%s%s%smax_networks_per_login = 3\nmax_recipients_per_login = 4\n%s",
	    fx->domains, map_line ? "sender_login_maps = " : "", map_line ? fx->map_path : "",
	    map_line ? "\n" : "", extra != NULL ? extra : "");

	g_assert_true(g_file_set_contents(fx->config_path, text, -1, NULL));
}

/* (re)loads the config into the slot; extra lines go into [auth] */
static void
load_config(Fixture *fx, const char *extra)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;

	write_config(fx, extra);
	config = pc_config_load(fx->config_path, &auth_config_schema, &error);
	g_assert_no_error(error);
	if (fx->slot_ready) {
		pc_config_slot_replace(&fx->slot, config);
	} else {
		pc_config_slot_init(&fx->slot, config);
		fx->slot_ready = TRUE;
	}
}

static void
fixture_init(Fixture *fx, const char *extra)
{
	g_autofree char *org = NULL;

	fx->dir = g_dir_make_tmp("pc-auth-XXXXXX", NULL);
	fx->domains = g_build_filename(fx->dir, "domains.d", NULL);
	fx->map_path = g_build_filename(fx->dir, "sender_login", NULL);
	fx->config_path = g_build_filename(fx->dir, "portcullis.conf", NULL);
	g_assert_cmpint(g_mkdir(fx->domains, 0700), ==, 0);
	org = g_build_filename(fx->domains, "example.org.conf", NULL);
	g_assert_true(g_file_set_contents(
	    org, "[auth]\nsenders = carol@example.org = carol; @example.org = orgadmin\n", -1,
	    NULL));
	g_assert_true(g_file_set_contents(fx->map_path, MAP_TEXT, -1, NULL));
	fx->store = pc_store_new_memory(100000, 4);
	load_config(fx, extra);
}

/* data: extra lines for [auth], or NULL */
static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fixture_init(fx, data);
}

/* data: a PolicyCase; the default configuration */
static void
fixture_setup_table(Fixture *fx, gconstpointer data)
{
	fixture_init(fx, NULL);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree char *org = g_build_filename(fx->domains, "example.org.conf", NULL);

	pc_config_slot_clear(&fx->slot);
	pc_store_free(fx->store);
	g_unlink(org);
	g_rmdir(fx->domains);
	g_unlink(fx->map_path);
	g_unlink(fx->config_path);
	g_rmdir(fx->dir);
	g_free(fx->domains);
	g_free(fx->map_path);
	g_free(fx->config_path);
	g_free(fx->dir);
}

static const AuthConfig *
fx_auth(Fixture *fx)
{
	return pc_config_get_section(fx->slot.current);
}

/* a session on listener (daemon name) from client, with TLS and login as given */
static PcSession *
new_session(Fixture *fx, const char *listener, const char *client, const char *login,
	    const char *tls, gint64 bits, gint64 now)
{
	PcSession *session = pc_session_new(fx->store, now);
	PcNetAddress address;

	g_assert_true(pc_net_address_parse(client, &address));
	pc_session_pin_config(session, &fx->slot);
	session->daemon_name = g_strdup(listener);
	pc_session_set_client(session, "client.test", &address);
	session->auth_login = g_strdup(login);
	session->tls_version = g_strdup(tls);
	session->cipher_bits = bits;
	pc_session_set_message_data(session, auth_message_new(session), g_free);
	return session;
}

/* the message state the skeleton made at MAIL */
static AuthMessage *
pin(PcSession *session)
{
	return session->message_data;
}

static char *
reply_of(const PcVerdict *verdict)
{
	if (verdict->code[0] == '\0')
		return NULL;
	return g_strdup_printf("%s %s %s", verdict->code, verdict->xcode, verdict->text);
}

/*
 * --- the decision table ---
 */

typedef struct {
	const char *label;
	const char *listener; /* {daemon_name}; NULL: ORIGINATING; "OTHER" matches none */
	const char *client;   /* NULL: 198.51.100.7, untrusted */
	const char *login;    /* NULL: alice@example.com; NONE: not authenticated */
	const char *tls;      /* {tls_version}; NULL: TLSv1.3; NONE: no TLS */
	gint64 bits;	      /* {cipher_bits}; 0: 256; -1: 0 */
	const char *mail;     /* NULL: <alice@example.com> */
	const char *from;     /* From header value; NULL: none */
	const char *from2;
	const char *sender; /* Sender header value */
	PcStage stage;	    /* the stage that decides (EOH for rows that pass) */
	PcAction want;
	const char *reply; /* "CODE XCODE TEXT" */
	const char *reason;
} PolicyCase;

#define NONE "-"
#define ALICE "alice@example.com"
#define JORG "j\xc3\xb6rg"
#define PASS .stage = PC_STAGE_EOH, .want = PC_ACTION_CONTINUE
#define AT_MAIL(action) .stage = PC_STAGE_MAIL, .want = PC_ACTION_##action
#define AT_EOH(action) .stage = PC_STAGE_EOH, .want = PC_ACTION_##action
#define NOT_OWNED(addr, login)                                                                     \
	"553 5.7.1 " addr ": Sender address rejected: not owned by user " login
/* unauthenticated without TLS, the way port 25 usually is */
#define PLAIN .login = NONE, .tls = NONE

static const char REPLY_STARTTLS[] = "530 5.7.0 Must issue a STARTTLS command first";
static const char REPLY_AUTH_REQUIRED[] = "530 5.7.0 Authentication required";
static const char REPLY_AUTH_ON_MX[] =
    "554 5.7.1 Authentication not allowed on this port; use submission (587) or smtps (465)";
static const char REPLY_FROM_INVALID[] = "550 5.7.1 From header must contain a valid address";

/* one row per case reads better than one field per line */
/* clang-format off */
static const PolicyCase policy_cases[] = {
    /* mx: no AUTH, any or no TLS */
    {.label = "mx/plain", .listener = "MX", PLAIN, .mail = "<x@outside.test>", PASS},
    {.label = "mx/weak-tls", .listener = "MX", .login = NONE, .tls = "TLSv1", .bits = 40,
     .mail = "<x@outside.test>", PASS},
    {.label = "mx/tls13", .listener = "MX", .login = NONE, .mail = "<x@outside.test>",
     .from = "x@outside.test", PASS},
    {.label = "mx/unauthenticated-from-not-checked", .listener = "MX", PLAIN,
     .mail = "<x@outside.test>", .from = "alice@example.com", PASS},
    {.label = "mx/auth", .listener = "MX", AT_MAIL(REJECT), .reply = REPLY_AUTH_ON_MX,
     .reason = "auth-on-mx"},
    {.label = "mx/auth-no-tls", .listener = "MX", .tls = NONE, AT_MAIL(REJECT),
     .reply = REPLY_AUTH_ON_MX, .reason = "auth-on-mx"},
    {.label = "mx/auth-trusted", .listener = "MX", .client = "10.0.0.5", AT_MAIL(REJECT),
     .reply = REPLY_AUTH_ON_MX},
    {.label = "unknown-listener/auth", .listener = "OTHER", AT_MAIL(REJECT),
     .reply = REPLY_AUTH_ON_MX},
    {.label = "unknown-listener/plain", .listener = "OTHER", PLAIN, .mail = "<x@outside.test>",
     PASS},

    /* submission: TLS, then AUTH */
    {.label = "submission/no-tls-no-auth", PLAIN, AT_MAIL(REJECT), .reply = REPLY_STARTTLS,
     .reason = "tls-required"},
    {.label = "submission/no-tls-auth", .tls = NONE, AT_MAIL(REJECT), .reply = REPLY_STARTTLS,
     .reason = "tls-required"},
    {.label = "submission/tls-no-auth", .login = NONE, AT_MAIL(REJECT),
     .reply = REPLY_AUTH_REQUIRED, .reason = "auth-required"},
    {.label = "submission/trusted-no-auth", .client = "10.1.1.1", .login = NONE,
     AT_MAIL(REJECT), .reply = REPLY_AUTH_REQUIRED},
    {.label = "submission/tls13-256", .from = "Alice <alice@example.com>", PASS},
    {.label = "submission/tls12-256", .tls = "TLSv1.2", PASS},
    {.label = "submission/tls12-128", .tls = "TLSv1.2", .bits = 128, PASS},
    {.label = "submission/tls12-112", .tls = "TLSv1.2", .bits = 112, AT_MAIL(REJECT),
     .reply = "554 5.7.0 TLS cipher strength 112 bits is below the minimum 128",
     .reason = "cipher-bits"},
    {.label = "submission/tls13-bits-unknown", .bits = -1, AT_MAIL(REJECT),
     .reply = "554 5.7.0 TLS cipher strength 0 bits is below the minimum 128"},
    {.label = "submission/tls11", .tls = "TLSv1.1", AT_MAIL(REJECT),
     .reply = "554 5.7.0 TLS version TLSv1.1 is below the minimum TLSv1.2",
     .reason = "tls-version"},
    {.label = "submission/tls10", .tls = "TLSv1", AT_MAIL(REJECT),
     .reply = "554 5.7.0 TLS version TLSv1 is below the minimum TLSv1.2"},
    {.label = "submission/sslv3", .tls = "SSLv3", AT_MAIL(REJECT),
     .reply = "554 5.7.0 TLS version SSLv3 is below the minimum TLSv1.2"},
    {.label = "submission/tls-unknown", .tls = "unknown", AT_MAIL(REJECT),
     .reply = "554 5.7.0 TLS version unknown is below the minimum TLSv1.2"},
    {.label = "submission/tls11-weak-bits", .tls = "TLSv1.1", .bits = 56, AT_MAIL(REJECT),
     .reason = "tls-version"},
    {.label = "submission/tls11-no-auth", .login = NONE, .tls = "TLSv1.1", AT_MAIL(REJECT),
     .reason = "tls-version"},

    /* smtps: the TLS is implicit, the rules the same */
    {.label = "smtps/auth", .listener = "SMTPS", .from = ALICE, PASS},
    {.label = "smtps/tls12-128", .listener = "SMTPS", .tls = "TLSv1.2", .bits = 128, PASS},
    {.label = "smtps/no-auth", .listener = "SMTPS", .login = NONE, AT_MAIL(REJECT),
     .reply = REPLY_AUTH_REQUIRED},
    {.label = "smtps/no-tls-macros", .listener = "SMTPS", .tls = NONE, AT_MAIL(REJECT),
     .reply = REPLY_STARTTLS},
    {.label = "smtps/tls11", .listener = "SMTPS", .tls = "TLSv1.1", AT_MAIL(REJECT),
     .reason = "tls-version"},
    {.label = "smtps/tls12-112", .listener = "SMTPS", .tls = "TLSv1.2", .bits = 112,
     AT_MAIL(REJECT), .reason = "cipher-bits"},
    {.label = "smtps/unowned", .listener = "SMTPS", .mail = "<bob@example.com>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<bob@example.com>", ALICE),
     .reason = "sender-not-owned"},

    /* internal: trusted networks only; no AUTH or TLS needed */
    {.label = "internal/trusted", .listener = "INTERNAL", .client = "10.2.3.4", PLAIN,
     .mail = "<app@example.com>", .from = "x@outside.test", PASS},
    {.label = "internal/untrusted", .listener = "INTERNAL", PLAIN, AT_MAIL(REJECT),
     .reply = "554 5.7.1 Access denied", .reason = "internal-untrusted"},
    {.label = "internal/untrusted-auth", .listener = "INTERNAL", AT_MAIL(REJECT),
     .reply = "554 5.7.1 Access denied"},
    {.label = "internal/trusted-auth-owned", .listener = "INTERNAL", .client = "10.2.3.4",
     .tls = NONE, .from = ALICE, PASS},
    {.label = "internal/trusted-auth-unowned", .listener = "INTERNAL", .client = "10.2.3.4",
     .mail = "<bob@example.com>", AT_MAIL(REJECT),
     .reply = NOT_OWNED("<bob@example.com>", ALICE)},
    {.label = "internal/trusted-auth-null-sender", .listener = "INTERNAL",
     .client = "10.2.3.4", .mail = "<>", PASS},
    {.label = "internal/trusted-weak-tls", .listener = "INTERNAL", .client = "10.2.3.4",
     .login = NONE, .tls = "TLSv1", .bits = 40, PASS},

    /* the envelope sender against the owners */
    {.label = "envelope/exact", .mail = "<alice@example.com>", PASS},
    {.label = "envelope/case-and-dot", .mail = "<ALICE@Example.COM.>", PASS},
    {.label = "envelope/no-brackets", .mail = "alice@example.com", PASS},
    {.label = "envelope/second-owner", .login = "alice-app", PASS},
    {.label = "envelope/login-case", .login = "ALICE@EXAMPLE.COM", PASS},
    {.label = "envelope/other-user", .mail = "<bob@example.com>", AT_MAIL(REJECT),
     .reply = NOT_OWNED("<bob@example.com>", ALICE), .reason = "sender-not-owned"},
    {.label = "envelope/foreign", .mail = "<alice@outside.test>", AT_MAIL(REJECT),
     .reply = NOT_OWNED("<alice@outside.test>", ALICE)},
    {.label = "envelope/wildcard-domain", .login = "bob", .mail = "<anyone@example.net>", PASS},
    {.label = "envelope/wildcard-other-login", .mail = "<anyone@example.net>", AT_MAIL(REJECT),
     .reply = NOT_OWNED("<anyone@example.net>", ALICE)},
    {.label = "envelope/bare-key-local-domain", .mail = "<postmaster@example.com>", PASS},
    {.label = "envelope/bare-key-other-local-domain", .mail = "<postmaster@example.net>", PASS},
    {.label = "envelope/bare-key-foreign-domain", .mail = "<postmaster@outside.test>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<postmaster@outside.test>", ALICE)},
    {.label = "envelope/bare-key-no-domain", .mail = "<postmaster>", PASS},
    {.label = "envelope/domain-senders", .login = "carol", .mail = "<carol@example.org>", PASS},
    {.label = "envelope/domain-senders-beat-map", .login = "mallory",
     .mail = "<carol@example.org>", AT_MAIL(REJECT),
     .reply = NOT_OWNED("<carol@example.org>", "mallory")},
    {.label = "envelope/domain-senders-wildcard", .login = "orgadmin",
     .mail = "<anyone@example.org>", PASS},
    {.label = "envelope/map-address-before-domain-wildcard", .login = "dave",
     .mail = "<dave@example.org>", PASS},
    {.label = "envelope/wildcard-not-for-listed-address", .login = "orgadmin",
     .mail = "<dave@example.org>", AT_MAIL(REJECT)},
    {.label = "envelope/percent-hack", .mail = "<alice%outside.test@example.com>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<alice%outside.test@example.com>", ALICE)},
    {.label = "envelope/null-sender", .mail = "<>", AT_MAIL(REJECT),
     .reply = NOT_OWNED("<>", ALICE), .reason = "null-sender"},
    {.label = "envelope/null-sender-smtps", .listener = "SMTPS", .mail = "<>", AT_MAIL(REJECT),
     .reason = "null-sender"},
    {.label = "envelope/syntax", .mail = "<alice@exa..mple.com>", AT_MAIL(REJECT),
     .reply = "501 5.1.7 Bad sender address syntax", .reason = "sender-syntax"},

    /* header From and Sender (EOH) */
    {.label = "from/bare", .from = ALICE, PASS},
    {.label = "from/display-name", .from = "Alice Smith <alice@example.com>", PASS},
    {.label = "from/quoted-name", .from = "\"Smith, Alice\" <alice@example.com>", PASS},
    {.label = "from/encoded-name", .from = "=?utf-8?q?Alice_Sm=C3=ADth?= <alice@example.com>",
     PASS},
    {.label = "from/comment", .from = "alice@example.com (Alice)", PASS},
    {.label = "from/quoted-local", .from = "\"alice\"@example.com", PASS},
    {.label = "from/case", .from = "ALICE@EXAMPLE.COM", PASS},
    {.label = "from/obsolete-route", .from = "<@relay.test:alice@example.com>", PASS},
    {.label = "from/folded", .from = "Alice\n\t<alice@example.com>", PASS},
    {.label = "from/unowned", .from = "Bob <bob@example.com>", AT_EOH(REJECT),
     .reply = NOT_OWNED("<bob@example.com>", ALICE), .reason = "from-not-owned"},
    {.label = "from/encoded-word-trick",
     .from = "=?utf-8?q?alice@example.com?= <evil@outside.test>", AT_EOH(REJECT),
     .reply = NOT_OWNED("<evil@outside.test>", ALICE), .reason = "from-not-owned"},
    {.label = "from/display-name-trick", .from = "alice@example.com <evil@outside.test>",
     AT_EOH(REJECT), .reply = NOT_OWNED("<evil@outside.test>", ALICE)},
    {.label = "from/quoted-name-trick", .from = "\"alice@example.com\" <evil@outside.test>",
     AT_EOH(REJECT), .reply = NOT_OWNED("<evil@outside.test>", ALICE)},
    {.label = "from/comment-trick", .from = "evil@outside.test (alice@example.com)",
     AT_EOH(REJECT), .reply = NOT_OWNED("<evil@outside.test>", ALICE)},
    {.label = "from/quoted-local-trick", .from = "<\"alice@example.com\"@outside.test>",
     AT_EOH(REJECT), .reply = NOT_OWNED("<\"alice@example.com\"@outside.test>", ALICE)},
    {.label = "from/two-headers", .from = ALICE, .from2 = ALICE, AT_EOH(REJECT),
     .reply = "550 5.7.1 Message must have exactly one From header", .reason = "from-count"},
    {.label = "from/group-empty", .from = "undisclosed-recipients:;", AT_EOH(REJECT),
     .reply = REPLY_FROM_INVALID, .reason = "from-invalid"},
    {.label = "from/group-with-address", .from = "Team: alice@example.com;", AT_EOH(REJECT),
     .reply = REPLY_FROM_INVALID},
    {.label = "from/name-only", .from = "Alice", AT_EOH(REJECT), .reply = REPLY_FROM_INVALID},
    {.label = "from/empty", .from = "", AT_EOH(REJECT), .reply = REPLY_FROM_INVALID},
    {.label = "from/encoded-word-only", .from = "=?utf-8?q?alice@example.com?=", AT_EOH(REJECT),
     .reply = REPLY_FROM_INVALID},
    {.label = "from/syntax", .from = "Alice <alice@example.com", AT_EOH(REJECT),
     .reply = REPLY_FROM_INVALID},
    {.label = "from/two-addresses-no-sender",
     .from = "alice@example.com, postmaster@example.com", AT_EOH(REJECT),
     .reply = "550 5.7.1 From header with several addresses needs a Sender header",
     .reason = "from-needs-sender"},
    {.label = "from/two-addresses-owned-with-sender",
     .from = "alice@example.com, postmaster@example.com", .sender = ALICE, PASS},
    {.label = "from/two-addresses-one-unowned", .from = "alice@example.com, bob@example.com",
     .sender = ALICE, AT_EOH(REJECT), .reply = NOT_OWNED("<bob@example.com>", ALICE)},
    {.label = "from/sender-unowned", .from = ALICE, .sender = "bob@example.com", AT_EOH(REJECT),
     .reply = NOT_OWNED("<bob@example.com>", ALICE), .reason = "sender-header-not-owned"},
    {.label = "from/sender-two-addresses", .from = ALICE,
     .sender = "alice@example.com, postmaster@example.com", AT_EOH(REJECT),
     .reply = "550 5.7.1 Sender header must contain exactly one valid address",
     .reason = "sender-header-invalid"},
    {.label = "from/missing", PASS},
    {.label = "from/domain-wildcard", .login = "bob", .mail = "<b@example.net>",
     .from = "Bob <bob@example.net>", PASS},
    {.label = "from/other-domain", .login = "bob", .mail = "<b@example.net>",
     .from = "Bob <bob@example.com>", AT_EOH(REJECT),
     .reply = NOT_OWNED("<bob@example.com>", "bob")},
    {.label = "from/smtps-unowned", .listener = "SMTPS", .from = "x@outside.test",
     AT_EOH(REJECT), .reply = NOT_OWNED("<x@outside.test>", ALICE)},

    /* SMTPUTF8: the map has j\xc3\xb6rg@example.com owned by J\xc3\x96RG (see pc-addr.h) */
    {.label = "utf8/envelope-upper", .login = JORG, .mail = "<J\xc3\x96RG@EXAMPLE.com>",
     .from = "J\xc3\xb6rg <j\xc3\xb6rg@example.com>", PASS},
    {.label = "utf8/envelope-decomposed", .login = "jo\xcc\x88rg",
     .mail = "<Jo\xcc\x88rg@example.com>", PASS},
    {.label = "utf8/login-upper", .login = "J\xc3\x96RG", .mail = "<j\xc3\xb6rg@example.com>",
     PASS},
    {.label = "utf8/ascii-lookalike", .login = "jorg", .mail = "<j\xc3\xb6rg@example.com>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<j\xc3\xb6rg@example.com>", "jorg")},
    {.label = "utf8/ascii-lookalike-sender", .login = JORG, .mail = "<jorg@example.com>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<jorg@example.com>", JORG)},
    {.label = "utf8/latin1-sender", .login = JORG, .mail = "<j\xf6rg@example.com>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<j\xf6rg@example.com>", JORG)},
    {.label = "utf8/latin1-login", .login = "j\xf6rg", .mail = "<j\xc3\xb6rg@example.com>",
     AT_MAIL(REJECT), .reply = NOT_OWNED("<j\xc3\xb6rg@example.com>", "j\xf6rg")},
    {.label = "utf8/latin1-sender-wildcard", .login = "bob", .mail = "<j\xf6rg@example.net>",
     PASS},
    {.label = "utf8/from-case", .login = JORG, .mail = "<j\xc3\xb6rg@example.com>",
     .from = "=?utf-8?q?J=C3=B6rg?= <JO\xcc\x88RG@Example.COM>", PASS},
    {.label = "utf8/from-unowned", .login = JORG, .mail = "<j\xc3\xb6rg@example.com>",
     .from = "J\xc3\xb6rg <jorg@example.com>", AT_EOH(REJECT),
     .reply = NOT_OWNED("<jorg@example.com>", JORG), .reason = "from-not-owned"},
};
/* clang-format on */

static const char *
or_default(const char *value, const char *fallback)
{
	if (value == NULL)
		return fallback;
	return g_str_equal(value, NONE) ? NULL : value;
}

static void
check_verdict(const PolicyCase *test, const PcVerdict *verdict)
{
	g_autofree char *reply = reply_of(verdict);

	g_assert_cmpint(verdict->action, ==, test->want);
	if (test->reply != NULL)
		g_assert_cmpstr(reply, ==, test->reply);
	if (test->reason != NULL)
		g_assert_cmpstr(verdict->reason, ==, test->reason);
}

static void
test_policy_case(Fixture *fx, gconstpointer data)
{
	const PolicyCase *test = data;
	const AuthConfig *auth = fx_auth(fx);
	g_autoptr(PcSession) session = new_session(
	    fx, or_default(test->listener, "ORIGINATING"), or_default(test->client, "198.51.100.7"),
	    or_default(test->login, ALICE), or_default(test->tls, "TLSv1.3"),
	    test->bits == 0  ? 256
	    : test->bits < 0 ? 0
			     : test->bits,
	    PC_USEC(100));
	AuthMessage *state;
	AuthOutcome outcome;
	g_auto(PcVerdict) mail;
	g_auto(PcVerdict) eoh;

	pc_verdict_init(&mail);
	pc_verdict_init(&eoh);
	pc_session_set_sender(session, test->mail != NULL ? test->mail : "<" ALICE ">");
	state = pin(session);
	auth_policy_mail(auth, session, state, &mail, &outcome);
	if (test->stage == PC_STAGE_MAIL) {
		check_verdict(test, &mail);
		g_assert_cmpint(outcome.denied, !=, AUTH_REASON_NONE);
		return;
	}
	g_assert_cmpint(mail.action, ==, PC_ACTION_CONTINUE);
	g_assert_cmpint(outcome.denied, ==, AUTH_REASON_NONE);
	pc_session_add_header(session, "Subject", "hello", TRUE);
	if (test->from != NULL)
		pc_session_add_header(session, "From", test->from, TRUE);
	if (test->from2 != NULL)
		pc_session_add_header(session, "From", test->from2, TRUE);
	if (test->sender != NULL)
		pc_session_add_header(session, "Sender", test->sender, TRUE);
	auth_policy_eoh(auth, session, state, &eoh, &outcome);
	check_verdict(test, &eoh);
	g_assert_cmpint(outcome.denied == AUTH_REASON_NONE, ==, test->want == PC_ACTION_CONTINUE);
}

/* the table covers what the issue asks for */
static void
test_table_coverage(void)
{
	guint rows = G_N_ELEMENTS(policy_cases);
	guint roles[4] = {0};
	guint refusals = 0;

	for (guint i = 0; i < rows; i++) {
		const char *name = or_default(policy_cases[i].listener, "ORIGINATING");

		roles[g_str_equal(name, "ORIGINATING") ? 1
		      : g_str_equal(name, "SMTPS")     ? 2
		      : g_str_equal(name, "INTERNAL")  ? 3
						       : 0]++;
		refusals += policy_cases[i].want != PC_ACTION_CONTINUE;
	}
	g_assert_cmpuint(rows, >=, 60);
	for (guint r = 0; r < G_N_ELEMENTS(roles); r++)
		g_assert_cmpuint(roles[r], >=, 5);
	g_assert_cmpuint(refusals, >=, rows / 3);
}

/*
 * --- the pieces ---
 */

static void
test_tls_rank(void)
{
	static const struct {
		const char *version;
		int rank;
	} cases[] = {
	    {"TLSv1", 10},   {"TLSv1.1", 11}, {"TLSv1.2", 12}, {"TLSv1.3", 13},	 {"TLSv2.0", 20},
	    {"SSLv3", 3},    {"SSLv2", 2},    {"TLSv1.", -1},  {"TLSv1.10", -1}, {"TLSv0.9", -1},
	    {"tlsv1.2", -1}, {"unknown", -1}, {"", -1},	       {NULL, -1},	 {"TLSv1.2x", -1},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(auth_tls_version_rank(cases[i].version), ==, cases[i].rank);
	g_assert_cmpstr(auth_tls_version_to_string(AUTH_TLS_1_2), ==, "TLSv1.2");
}

static void
test_owned_lookup_order(Fixture *fx, gconstpointer data)
{
	const AuthConfig *auth = fx_auth(fx);
	g_autoptr(AuthMap) map = auth_map_ref(auth->map);
	PcConfig *config = fx->slot.current;

	g_assert_nonnull(map);
	g_assert_cmpint(auth_sender_owned(auth, config, map, "Alice", "example.com", "alice-app"),
			==, PC_LOOKUP_FOUND);
	g_assert_cmpint(auth_sender_owned(auth, config, map, "alice", "example.com", "bob"), ==,
			PC_LOOKUP_NOTFOUND);
	g_assert_cmpint(auth_sender_owned(auth, config, map, "x", "example.net", "BOB"), ==,
			PC_LOOKUP_FOUND);
	g_assert_cmpint(auth_sender_owned(auth, config, map, "alice", "example.com", NULL), ==,
			PC_LOOKUP_NOTFOUND);
	/* a map named by the configuration but not given: could not look */
	g_assert_cmpint(auth_sender_owned(auth, config, NULL, "alice", "example.com", ALICE), ==,
			PC_LOOKUP_TEMPFAIL);
}

/*
 * address extensions (recipient_delimiter), a generated table: every
 * delimiter of the setting, several extensions, each source of ownership
 * (the map's address key, the map's catch-all, a domain's senders), in
 * Postfix's order user+ext@domain, user@domain, user+ext, user, @domain
 */
static void
test_owned_extensions(Fixture *fx, gconstpointer data)
{
	static const char *const extensions[] = {"tag", "a.b", "x+y", ""};
	static const struct {
		const char *user;
		const char *domain;
		const char *login;
		PcLookupStatus with;	/* with recipient_delimiter = +- */
		PcLookupStatus without; /* unset (Postfix's default) */
	} cases[] = {
	    /* the owner of alice@ owns alice+ext@; nobody else does */
	    {"alice", "example.com", "alice-app", PC_LOOKUP_FOUND, PC_LOOKUP_NOTFOUND},
	    {"alice", "example.com", "bob", PC_LOOKUP_NOTFOUND, PC_LOOKUP_NOTFOUND},
	    /* the user beats a domain's catch-all for his own +ext address */
	    {"dave", "example.org", "dave", PC_LOOKUP_FOUND, PC_LOOKUP_NOTFOUND},
	    {"dave", "example.org", "orgadmin", PC_LOOKUP_NOTFOUND, PC_LOOKUP_FOUND},
	    /* a domain's senders decide for the stripped address, before the map */
	    {"carol", "example.org", "carol", PC_LOOKUP_FOUND, PC_LOOKUP_NOTFOUND},
	    {"carol", "example.org", "mallory", PC_LOOKUP_NOTFOUND, PC_LOOKUP_NOTFOUND},
	    /* a catch-all owns it either way */
	    {"x", "example.net", "bob", PC_LOOKUP_FOUND, PC_LOOKUP_FOUND},
	    /* a bare key (postmaster, local domains only) reaches postmaster+ext */
	    {"postmaster", "example.com", ALICE, PC_LOOKUP_FOUND, PC_LOOKUP_NOTFOUND},
	};
	static const char delimiters[] = "+-";
	guint n = 0;

	for (int with = 0; with < 2; with++) {
		load_config(fx, with ? "recipient_delimiter = +-\n" : NULL);
		for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
			for (gsize d = 0; d < sizeof(delimiters) - 1; d++) {
				for (gsize e = 0; e < G_N_ELEMENTS(extensions); e++) {
					const AuthConfig *auth = fx_auth(fx);
					g_autofree char *local = g_strdup_printf(
					    "%s%c%s", cases[c].user, delimiters[d], extensions[e]);
					PcLookupStatus got = auth_sender_owned(
					    auth, fx->slot.current, auth->map, local,
					    cases[c].domain, cases[c].login);
					PcLookupStatus want =
					    with ? cases[c].with : cases[c].without;

					if (got != want)
						g_error(
						    "%s@%s by %s (delimiter %s): got %d, want %d",
						    local, cases[c].domain, cases[c].login,
						    with ? "+-" : "unset", got, want);
					n++;
				}
			}
		}
	}
	g_assert_cmpuint(n, ==, 2 * G_N_ELEMENTS(cases) * 2 * G_N_ELEMENTS(extensions));
	/* the unstripped key comes first; a delimiter first in the local part strips nothing */
	load_config(fx, "recipient_delimiter = +\n");
	g_assert_cmpint(auth_sender_owned(fx_auth(fx), fx->slot.current, fx_auth(fx)->map, "+alice",
					  "example.com", "alice-app"),
			==, PC_LOOKUP_NOTFOUND);
	g_assert_cmpint(auth_sender_owned(fx_auth(fx), fx->slot.current, fx_auth(fx)->map, "alice",
					  "example.com", "alice-app"),
			==, PC_LOOKUP_FOUND);
}

/*
 * local parts Postfix never splits (split_addr): postmaster, mailer-daemon,
 * double-bounce whatever the delimiters, and with '-' a delimiter owner-*
 * and *-request; the owner of the stripped key does not own them
 */
static void
test_owned_no_split(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *delimiters;
		const char *local;
		const char *login;
		PcLookupStatus want;
	} cases[] = {
	    {"+-", "mailer-daemon", "alice", PC_LOOKUP_NOTFOUND},
	    {"+-", "MAILER-DAEMON", "alice", PC_LOOKUP_NOTFOUND},
	    {"+-", "mailer-x", "alice", PC_LOOKUP_FOUND},
	    {"+-", "owner-list", "alice", PC_LOOKUP_NOTFOUND},
	    {"+-", "Owner-tag", "alice", PC_LOOKUP_NOTFOUND},
	    {"+-", "owner+tag", "alice", PC_LOOKUP_FOUND},
	    {"+", "owner+tag", "alice", PC_LOOKUP_FOUND},
	    {"+-", "list-request", "bob", PC_LOOKUP_NOTFOUND},
	    {"+-", "list-REQUEST", "bob", PC_LOOKUP_NOTFOUND},
	    {"+-", "list-x", "bob", PC_LOOKUP_FOUND},
	    {"+-", "-request", "bob", PC_LOOKUP_NOTFOUND},
	    {"+-", "double-bounce", "bob", PC_LOOKUP_NOTFOUND},
	    {"+", "double+bounce", "bob", PC_LOOKUP_FOUND},
	    {"+-", "postmaster", "pm", PC_LOOKUP_FOUND},
	    {"+-", "postmaster+x", "pm", PC_LOOKUP_FOUND},
	};

	g_assert_true(g_file_set_contents(fx->map_path,
					  "mailer@example.com alice\n"
					  "owner@example.com alice\n"
					  "list@example.com bob\n"
					  "double@example.com bob\n"
					  "postmaster@example.com pm\n",
					  -1, NULL));
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *extra =
		    g_strdup_printf("recipient_delimiter = %s\n", cases[i].delimiters);
		const AuthConfig *auth;
		PcLookupStatus got;

		load_config(fx, extra);
		auth = fx_auth(fx);
		got = auth_sender_owned(auth, fx->slot.current, auth->map, cases[i].local,
					"example.com", cases[i].login);
		if (got != cases[i].want)
			g_error("%s@example.com by %s (delimiters %s): got %d, want %d",
				cases[i].local, cases[i].login, cases[i].delimiters, got,
				cases[i].want);
	}
}

/*
 * SMTPUTF8 case folding, a generated table: spellings in classes, where
 * every spelling of a class is one address (or domain) and no two classes
 * share one. Each map (and each [auth] senders value) writes every class's
 * key in one of its spellings and its owner in another; every address
 * spelling is then looked up with every login spelling, and owned exactly
 * when both are of the key's class. Escapes: see pc-addr.h and test-addr.c.
 */
#define MAX_SPELLINGS 6

/* clang-format off */
static const char *const local_classes[][MAX_SPELLINGS] = {
    /* Latin with diacritics, precomposed and decomposed */
    {"J\xc3\x96RG", "j\xc3\xb6rg", "Jo\xcc\x88rg", "JO\xcc\x88RG", NULL},
    {"jorg", "JORG", "Jorg", NULL},
    {"\xc3\x89LODIE", "\xc3\xa9lodie", "e\xcc\x81lodie", "E\xcc\x81LODIE", NULL},
    {"elodie", "ELODIE", NULL},
    /* German sharp s: full case folding, as Postfix's ICU casefold */
    {"stra\xc3\x9f" "e", "STRASSE", "strasse", "STRA\xe1\xba\x9e" "E", "Stra\xc3\x9f" "e", NULL},
    {"strase", "STRASE", NULL},
    /* Greek: capital, final and medial sigma */
    {"\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5\xce\xa3",
     "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x82",
     "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5\xcf\x85\xcf\x83", NULL},
    /* Turkish: I/i, dotless i, dotted capital I (no locale tailoring) */
    {"irmak", "IRMAK", "Irmak", NULL},
    {"\xc4\xb1rmak", NULL},
    {"\xc4\xb0rmak", "i\xcc\x87rmak", "I\xcc\x87RMAK", NULL},
    /* Cyrillic with and without the diaeresis */
    {"\xd0\x9f\xd0\x81\xd0\xa2\xd0\xa0", "\xd0\xbf\xd1\x91\xd1\x82\xd1\x80",
     "\xd0\xbf\xd0\xb5\xcc\x88\xd1\x82\xd1\x80", NULL},
    {"\xd0\xbf\xd0\xb5\xd1\x82\xd1\x80", "\xd0\x9f\xd0\x95\xd0\xa2\xd0\xa0", NULL},
    /* a compatibility character that case folding maps to ASCII (Kelvin sign) */
    {"\xe2\x84\xaa" "ate", "kate", "KATE", NULL},
};

static const char *const domain_classes[][MAX_SPELLINGS] = {
    {"b\xc3\xbc" "cher.example", "B\xc3\x9c" "CHER.EXAMPLE", "bu\xcc\x88" "cher.example", NULL},
    /* the A-label of the same name is another string: no IDNA conversion */
    {"xn--bcher-kva.example", "XN--BCHER-KVA.Example", NULL},
    /* IDNA2008 keeps sharp s and final sigma: lowercase mapping only */
    {"stra\xc3\x9f" "e.example", "STRA\xe1\xba\x9e" "E.example", NULL},
    {"strasse.example", "STRASSE.EXAMPLE", NULL},
    {"\xce\xb1\xcf\x82.example", NULL},
    {"\xce\xb1\xcf\x83.example", "\xce\x91\xce\xa3.example", NULL},
    {"example.com", "EXAMPLE.COM", "Example.Com.", NULL},
};
/* clang-format on */

static guint
class_size(const char *const *spellings)
{
	guint n = 0;

	while (n < MAX_SPELLINGS && spellings[n] != NULL)
		n++;
	return n;
}

/* the map text (map) or the senders value (!map) for round m */
static char *
caseless_source(guint m, gboolean map)
{
	GString *text = g_string_new(NULL);

	for (gsize c = 0; c < G_N_ELEMENTS(local_classes); c++) {
		guint n = class_size(local_classes[c]);

		g_string_append_printf(text, map ? "%s@local.test %s\n" : "%s@local.test = %s; ",
				       local_classes[c][m % n], local_classes[c][(m + 1) % n]);
	}
	for (gsize d = 0; d < G_N_ELEMENTS(domain_classes); d++)
		g_string_append_printf(text, map ? "@%s domain-%zu\n" : "@%s = domain-%zu; ",
				       domain_classes[d][m % class_size(domain_classes[d])], d);
	return g_string_free(text, FALSE);
}

static guint
check_caseless_round(const AuthConfig *auth, const AuthMap *map, guint m)
{
	guint n = 0;

	for (gsize ca = 0; ca < G_N_ELEMENTS(local_classes); ca++) {
		for (guint a = 0; a < class_size(local_classes[ca]); a++) {
			for (gsize cl = 0; cl < G_N_ELEMENTS(local_classes); cl++) {
				for (guint l = 0; l < class_size(local_classes[cl]); l++) {
					const char *address = local_classes[ca][a];
					const char *login = local_classes[cl][l];
					PcLookupStatus want =
					    ca == cl ? PC_LOOKUP_FOUND : PC_LOOKUP_NOTFOUND;
					PcLookupStatus got = auth_sender_owned(
					    auth, NULL, map, address, "local.test", login);

					if (got != want)
						g_error("round %u, %s: %s@local.test by %s: got "
							"%d, want %d",
							m, map != NULL ? "map" : "senders", address,
							login, got, want);
					n++;
				}
			}
		}
	}
	for (gsize cd = 0; cd < G_N_ELEMENTS(domain_classes); cd++) {
		for (guint s = 0; s < class_size(domain_classes[cd]); s++) {
			const char *spelling = domain_classes[cd][s];
			g_autofree char *domain =
			    pc_addr_normalize_domain(spelling, strlen(spelling));

			g_assert_nonnull(domain);
			for (gsize k = 0; k < G_N_ELEMENTS(domain_classes); k++) {
				g_autofree char *login = g_strdup_printf("Domain-%zu", k);
				PcLookupStatus want =
				    cd == k ? PC_LOOKUP_FOUND : PC_LOOKUP_NOTFOUND;

				if (auth_sender_owned(auth, NULL, map, "anyone", domain, login) !=
				    want)
					g_error("round %u, %s: anyone@%s by %s: want %d", m,
						map != NULL ? "map" : "senders", spelling, login,
						want);
				n++;
			}
		}
	}
	return n;
}

static void
test_owned_caseless(void)
{
	guint n = 0;

	for (guint m = 0; m < MAX_SPELLINGS; m++) {
		g_autofree char *text = caseless_source(m, TRUE);
		g_autofree char *senders = caseless_source(m, FALSE);
		g_autoptr(GError) error = NULL;
		g_autoptr(AuthMap) map = auth_map_parse("map", text, strlen(text), &error);
		AuthConfig with_map = {.sender_login_maps = (char *)"map"};
		AuthConfig with_senders = {.senders = senders};

		g_assert_no_error(error);
		g_assert_true(auth_senders_validate(senders, &error));
		g_assert_no_error(error);
		n += check_caseless_round(&with_map, map, m);
		n += check_caseless_round(&with_senders, NULL, m);
	}
	/* the table is what the issue asks for: thousands of pairs */
	g_assert_cmpuint(n, >, 10000);
	g_test_message("%u (address, login) pairs", n);
}

/*
 * bare keys ("postmaster alice@example.com") apply only where Postfix would
 * try them: by default the local_domains without a domains.d file (here
 * example.com and example.net; example.org has a file: a hosted domain),
 * else the domains bare_key_domains lists ("none": none)
 */
static void
test_bare_key_domains(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *setting; /* bare_key_domains, NULL = unset */
		const char *domain;
		PcLookupStatus want;
	} cases[] = {
	    {NULL, "example.com", PC_LOOKUP_FOUND},
	    {NULL, "example.net", PC_LOOKUP_FOUND},
	    {NULL, "example.org", PC_LOOKUP_NOTFOUND}, /* hosted: has domains.d/example.org.conf */
	    {NULL, "outside.test", PC_LOOKUP_NOTFOUND},
	    {"example.org", "example.org", PC_LOOKUP_FOUND},
	    {"example.org", "example.com", PC_LOOKUP_NOTFOUND},
	    {".example.org", "mail.example.org", PC_LOOKUP_FOUND},
	    {".example.org", "example.org", PC_LOOKUP_NOTFOUND},
	    {"none", "example.com", PC_LOOKUP_NOTFOUND},
	    {"none", "example.org", PC_LOOKUP_NOTFOUND},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *extra =
		    cases[i].setting != NULL
			? g_strdup_printf("bare_key_domains = %s\n", cases[i].setting)
			: NULL;
		const AuthConfig *auth;
		PcLookupStatus got;

		load_config(fx, extra);
		auth = fx_auth(fx);
		got = auth_sender_owned(auth, fx->slot.current, auth->map, "postmaster",
					cases[i].domain, ALICE);
		if (got != cases[i].want)
			g_error("postmaster@%s with bare_key_domains %s: got %d, want %d",
				cases[i].domain,
				cases[i].setting != NULL ? cases[i].setting : "unset", got,
				cases[i].want);
	}
}

/* without a map, only the senders values own anything */
static void
test_no_map(Fixture *fx, gconstpointer data)
{
	const AuthConfig *auth = fx_auth(fx);
	g_autoptr(PcSession) session =
	    new_session(fx, "ORIGINATING", "198.51.100.7", "carol", "TLSv1.3", 256, 0);
	AuthOutcome outcome;
	g_auto(PcVerdict) verdict;

	g_assert_null(auth->map);
	g_assert_cmpint(
	    auth_sender_owned(auth, fx->slot.current, NULL, "carol", "example.org", "carol"), ==,
	    PC_LOOKUP_FOUND);
	pc_verdict_init(&verdict);
	pc_session_set_sender(session, "<alice@example.com>");
	auth_policy_mail(auth, session, pin(session), &verdict, &outcome);
	g_assert_cmpint(verdict.action, ==, PC_ACTION_REJECT);
	g_assert_cmpstr(verdict.reason, ==, "sender-not-owned");
}

static void assert_load_fails(Fixture *fx, const char *extra, const char *want);

/*
 * unauthenticated_owned_senders: a generated table of configuration x
 * listener and client x sender. A client not logged in may not use a
 * sender some key lists, on the roles the value says reject; trusted
 * clients are not exempt (the internal role is how a site exempts its
 * applications); submission and smtps require AUTH first.
 */
typedef enum {
	OWNED_YES,
	OWNED_NO,
	OWNED_NULL,
	OWNED_SYNTAX,
} OwnedKind;

/* .shown: the address as the reply gives it (domain normalised), when not the same */
static const struct {
	const char *mail;
	OwnedKind kind;
	const char *shown;
} unauthenticated_senders[] = {
    {"<alice@example.com>", OWNED_YES}, /* the map's address key */
    {"<ALICE@Example.COM.>", OWNED_YES, "<ALICE@example.com>"},
    {"<J\xc3\x96RG@EXAMPLE.COM>", OWNED_YES, "<J\xc3\x96RG@example.com>"}, /* caseless */
    {"<anyone@example.net>", OWNED_YES},     /* the map's @domain key */
    {"<postmaster@example.com>", OWNED_YES}, /* a bare key, local domain */
    {"<postmaster>", OWNED_YES},	     /* a bare key, no domain */
    {"<carol@example.org>", OWNED_YES},	     /* a domain's senders */
    {"<x@example.org>", OWNED_YES},	     /* a domain's senders' @domain */
    {"<postmaster@outside.test>", OWNED_NO}, /* bare keys: local domains only */
    {"<bob@example.com>", OWNED_NO},	     /* no key lists it */
    {"<jorg@example.com>", OWNED_NO},	     /* the ASCII look-alike */
    {"<x@outside.test>", OWNED_NO},
    {"<>", OWNED_NULL},
    {"<alice@exa..mple.com>", OWNED_SYNTAX},
};

static const struct {
	const char *value; /* NULL: unset */
	guint reject;	   /* roles that refuse: M mx, S submission, T smtps, I internal */
} unauthenticated_configs[] = {
    {NULL, 0x6},
    {"reject", 0xf},
    {"accept", 0x0},
    {"mx:reject", 0x7},
    {"internal:reject", 0xe},
    {"accept; mx:reject", 0x1},
    {"mx:reject, accept", 0x1},
    {"reject internal:accept", 0x7},
    {"MX:Reject SMTPS:accept", 0x3},
    {"", 0x6},
};

static void
test_unauthenticated_owned(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *listener;
		const char *client;
		PcListenerRole role;
	} where[] = {
	    {"MX", "198.51.100.7", PC_ROLE_MX},
	    {"MX", "10.0.0.5", PC_ROLE_MX}, /* trusted: not exempt */
	    {"OTHER", "198.51.100.7", PC_ROLE_MX},
	    {"INTERNAL", "10.2.3.4", PC_ROLE_INTERNAL},
	    {"ORIGINATING", "198.51.100.7", PC_ROLE_SUBMISSION},
	    {"SMTPS", "10.0.0.5", PC_ROLE_SMTPS},
	};
	guint n = 0;
	guint refused = 0;

	for (gsize c = 0; c < G_N_ELEMENTS(unauthenticated_configs); c++) {
		const char *value = unauthenticated_configs[c].value;
		g_autofree char *extra =
		    value != NULL ? g_strdup_printf("unauthenticated_owned_senders = %s\n", value)
				  : NULL;

		load_config(fx, extra);
		g_assert_cmphex(fx_auth(fx)->unauthenticated_reject_roles, ==,
				unauthenticated_configs[c].reject);
		for (gsize w = 0; w < G_N_ELEMENTS(where); w++) {
			for (gsize m = 0; m < G_N_ELEMENTS(unauthenticated_senders); m++) {
				const char *mail = unauthenticated_senders[m].mail;
				OwnedKind kind = unauthenticated_senders[m].kind;
				gboolean rejects = (unauthenticated_configs[c].reject &
						    (1u << where[w].role)) != 0;
				g_autoptr(PcSession) session =
				    new_session(fx, where[w].listener, where[w].client, NULL,
						"TLSv1.3", 256, PC_USEC(10));
				g_auto(PcVerdict) verdict;
				g_autofree char *reply = NULL;
				g_autofree char *want = NULL;
				AuthOutcome outcome;

				pc_verdict_init(&verdict);
				pc_session_set_sender(session, mail);
				auth_policy_mail(fx_auth(fx), session, pin(session), &verdict,
						 &outcome);
				reply = reply_of(&verdict);
				if (where[w].role == PC_ROLE_SUBMISSION ||
				    where[w].role == PC_ROLE_SMTPS)
					want = g_strdup(REPLY_AUTH_REQUIRED);
				else if (rejects && kind == OWNED_YES)
					want = g_strdup_printf(
					    "553 5.7.1 %s: Sender address rejected: not logged in",
					    unauthenticated_senders[m].shown != NULL
						? unauthenticated_senders[m].shown
						: mail);
				else if (rejects && kind == OWNED_SYNTAX)
					want = g_strdup("501 5.1.7 Bad sender address syntax");
				if (g_strcmp0(reply, want) != 0)
					g_error("unauthenticated_owned_senders = %s, %s from %s, "
						"MAIL FROM:%s: got %s, want %s",
						value != NULL ? value : "(unset)",
						where[w].listener, where[w].client, mail,
						reply != NULL ? reply : "continue",
						want != NULL ? want : "continue");
				if (want != NULL && strstr(want, "not logged in") != NULL) {
					g_assert_cmpstr(verdict.reason, ==, "sender-not-logged-in");
					g_assert_cmpint(outcome.denied, ==,
							AUTH_REASON_SENDER_NOT_LOGGED_IN);
					refused++;
				}
				n++;
			}
		}
	}
	g_assert_cmpuint(n, ==,
			 G_N_ELEMENTS(unauthenticated_configs) * G_N_ELEMENTS(where) *
			     G_N_ELEMENTS(unauthenticated_senders));
	g_assert_cmpuint(refused, >, 100);
	/* nothing was counted for the signals */
	g_assert_cmpuint(pc_store_size(fx->store), ==, 0);
}

/* the value's errors name file, line, section and key */
static void
test_unauthenticated_errors(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
	    {"bounce", "'bounce' is not reject, accept or ROLE:reject|accept"},
	    {"mx:maybe", "'mx:maybe' is not reject, accept"},
	    {"ports:reject", "'ports:reject' is not"},
	    {"mx:", "'mx:' is not"},
	    {":reject", "':reject' is not"},
	    {"mx:reject:x", "'mx:reject:x' is not"},
	    {"mx:reject mx:accept", "role mx named twice"},
	    {"MX:reject mx:reject", "role mx named twice"},
	    {"reject accept", "more than one value for every role"},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *extra =
		    g_strdup_printf("unauthenticated_owned_senders = %s\n", cases[i].value);
		g_autofree char *want = g_strdup_printf(
		    "%s:26: [auth]: unauthenticated_owned_senders: ", fx->config_path);

		assert_load_fails(fx, extra, want);
		assert_load_fails(fx, extra, cases[i].want);
	}
}

/* an owner lookup that cannot answer follows on_error for clients not logged in too */
static void
test_unauthenticated_map_unavailable(Fixture *fx, gconstpointer data)
{
	for (int accept = 0; accept < 2; accept++) {
		AuthConfig auth;
		g_autoptr(PcSession) session = NULL;
		AuthOutcome outcome;
		g_auto(PcVerdict) verdict;

		load_config(fx, accept
				    ? "on_error = accept\nunauthenticated_owned_senders = reject\n"
				    : "unauthenticated_owned_senders = reject\n");
		auth = *fx_auth(fx);
		auth.map = NULL;
		session = new_session(fx, "MX", "198.51.100.7", NULL, NULL, 0, 0);
		pc_session_set_sender(session, "<x@outside.test>");
		pc_verdict_init(&verdict);
		auth_policy_mail(&auth, session, pin(session), &verdict, &outcome);
		g_assert_cmpstr(verdict.reason, ==, "map-error");
		g_assert_cmpint(verdict.action, ==,
				accept ? PC_ACTION_CONTINUE : PC_ACTION_TEMPFAIL);
	}
}

/* on_error: the map lookup cannot answer (a section whose map is missing) */
static void
test_map_unavailable(Fixture *fx, gconstpointer data)
{
	for (int accept = 0; accept < 2; accept++) {
		AuthConfig auth;
		g_autoptr(PcSession) session = NULL;
		AuthOutcome outcome;
		g_auto(PcVerdict) verdict;

		load_config(fx, accept ? "on_error = accept\n" : "on_error = tempfail\n");
		auth = *fx_auth(fx);
		auth.map = NULL;
		session = new_session(fx, "ORIGINATING", "198.51.100.7", ALICE, "TLSv1.3", 256, 0);
		pc_session_set_sender(session, "<alice@example.com>");
		pc_verdict_init(&verdict);
		auth_policy_mail(&auth, session, pin(session), &verdict, &outcome);
		g_assert_cmpstr(verdict.reason, ==, "map-error");
		if (accept) {
			g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
			g_assert_true(verdict.log);
			g_assert_cmpint(outcome.denied, ==, AUTH_REASON_NONE);
		} else {
			g_autofree char *reply = reply_of(&verdict);

			g_assert_cmpint(verdict.action, ==, PC_ACTION_TEMPFAIL);
			g_assert_cmpstr(reply, ==, "451 4.3.0 Temporary lookup failure");
			g_assert_cmpint(outcome.denied, ==, AUTH_REASON_MAP_ERROR);
		}
	}
}

/* runs MAIL (and EOH with a From) for one session; returns the MAIL action */
static PcAction
run_mail(Fixture *fx, const char *listener, const char *login, const char *tls, const char *mail,
	 const char *from, PcAction *eoh_out)
{
	g_autoptr(PcSession) session =
	    new_session(fx, listener, "198.51.100.7", login, tls, 256, PC_USEC(10));
	AuthMessage *state;
	AuthOutcome outcome;
	g_auto(PcVerdict) verdict;
	g_auto(PcVerdict) eoh;

	pc_verdict_init(&verdict);
	pc_verdict_init(&eoh);
	pc_session_set_sender(session, mail);
	state = pin(session);
	auth_policy_mail(fx_auth(fx), session, state, &verdict, &outcome);
	if (from != NULL)
		pc_session_add_header(session, "From", from, TRUE);
	auth_policy_eoh(fx_auth(fx), session, state, &eoh, &outcome);
	if (eoh_out != NULL)
		*eoh_out = eoh.action;
	return verdict.action;
}

static void
test_switches(Fixture *fx, gconstpointer data)
{
	PcAction eoh = PC_ACTION_CONTINUE;

	load_config(fx, "allow_null_sender = yes\n");
	g_assert_cmpint(run_mail(fx, "ORIGINATING", ALICE, "TLSv1.3", "<>", NULL, NULL), ==,
			PC_ACTION_CONTINUE);

	load_config(fx, "check_header_from = no\n");
	g_assert_cmpint(run_mail(fx, "ORIGINATING", ALICE, "TLSv1.3", "<alice@example.com>",
				 "evil@outside.test", &eoh),
			==, PC_ACTION_CONTINUE);
	g_assert_cmpint(eoh, ==, PC_ACTION_CONTINUE);

	/* AUTH allowed on mx: ownership still applies */
	load_config(fx, "auth_on_mx = allow\n");
	g_assert_cmpint(run_mail(fx, "MX", ALICE, NULL, "<alice@example.com>", NULL, NULL), ==,
			PC_ACTION_CONTINUE);
	g_assert_cmpint(run_mail(fx, "MX", ALICE, NULL, "<bob@example.com>", NULL, NULL), ==,
			PC_ACTION_REJECT);

	/* TLS on the internal role too; none on submission */
	load_config(fx, "require_tls = internal smtps\nmin_tls_version = TLSv1.3\n");
	g_assert_cmpint(run_mail(fx, "ORIGINATING", ALICE, NULL, "<alice@example.com>", NULL, NULL),
			==, PC_ACTION_CONTINUE);
	g_assert_cmpint(run_mail(fx, "SMTPS", ALICE, "TLSv1.2", "<alice@example.com>", NULL, NULL),
			==, PC_ACTION_REJECT);
	{
		g_autoptr(PcSession) session =
		    new_session(fx, "INTERNAL", "10.0.0.1", NULL, NULL, 0, 0);
		AuthOutcome outcome;
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		pc_session_set_sender(session, "<app@example.com>");
		auth_policy_mail(fx_auth(fx), session, pin(session), &verdict, &outcome);
		g_assert_cmpint(verdict.action, ==, PC_ACTION_REJECT);
		g_assert_cmpint(outcome.denied, ==, AUTH_REASON_TLS_REQUIRED);
	}
}

/*
 * --- signals (time injected) ---
 */

/* one authenticated transaction from client at now; returns the MAIL verdict's action */
static PcAction
signal_mail(Fixture *fx, const char *client, const char *login, gint64 now, PcVerdict *verdict,
	    AuthOutcome *outcome, PcSession **session_out)
{
	PcSession *session = new_session(fx, "ORIGINATING", client, login, "TLSv1.3", 256, now);

	pc_verdict_init(verdict);
	pc_session_set_sender(session,
			      g_str_equal(login, "bob") ? "<bob@example.net>" : "<" ALICE ">");
	auth_policy_mail(fx_auth(fx), session, pin(session), verdict, outcome);
	*session_out = session;
	return verdict->action;
}

static void
test_signal_networks_quarantine(Fixture *fx, gconstpointer data)
{
	const char *clients[] = {"198.51.100.7", "198.51.100.200", "203.0.113.1", "2001:db8:1:2::1",
				 "2001:db8:1:2::ffff"};
	gint64 now = PC_USEC(1000);

	/* three networks: a /24 and a /64 each count once */
	for (gsize i = 0; i < G_N_ELEMENTS(clients); i++) {
		g_autoptr(PcSession) session = NULL;
		g_auto(PcVerdict) verdict;
		AuthOutcome outcome;

		g_assert_cmpint(
		    signal_mail(fx, clients[i], ALICE, now, &verdict, &outcome, &session), ==,
		    PC_ACTION_CONTINUE);
		g_assert_cmpuint(((AuthMessage *)session->message_data)->pending, ==, 0);
	}
	/* the fourth network: the message is held at EOM, and nothing before says so */
	{
		g_autoptr(PcSession) session = NULL;
		g_auto(PcVerdict) verdict;
		g_auto(PcVerdict) eom;
		AuthOutcome outcome;
		AuthMessage *state;

		g_assert_cmpint(
		    signal_mail(fx, "192.0.2.9", ALICE, now, &verdict, &outcome, &session), ==,
		    PC_ACTION_CONTINUE);
		g_assert_false(verdict.log);
		g_assert_cmpuint(outcome.signals, ==, 0);
		state = session->message_data;
		g_assert_cmpuint(state->pending, ==, 1u << AUTH_SIGNAL_NETWORKS);
		pc_verdict_init(&eom);
		auth_policy_eom(fx_auth(fx), session, state, &eom, &outcome);
		g_assert_cmpint(eom.action, ==, PC_ACTION_QUARANTINE);
		g_assert_cmpstr(eom.reason, ==, "signal-networks");
		g_assert_cmpstr(eom.text, ==,
				"portcullis-auth: Too many client networks for user "
				"alice@example.com (4, limit 3)");
		g_assert_cmpstr(eom.fields->str, ==, ", signal=networks, count=4, limit=3");
		g_assert_cmpuint(outcome.signals, ==, 1u << AUTH_SIGNAL_NETWORKS);
		g_assert_cmpuint(state->pending, ==, 0);
	}
	/* another login is not affected */
	{
		g_autoptr(PcSession) session = NULL;
		g_auto(PcVerdict) verdict;
		AuthOutcome outcome;

		signal_mail(fx, "192.0.2.9", "bob", now, &verdict, &outcome, &session);
		g_assert_cmpuint(((AuthMessage *)session->message_data)->pending, ==, 0);
	}
	/* the window (1h) opened at the first event: after it, the count starts again */
	{
		g_autoptr(PcSession) session = NULL;
		g_auto(PcVerdict) verdict;
		AuthOutcome outcome;

		signal_mail(fx, "192.0.2.77", ALICE, now + PC_USEC(3600), &verdict, &outcome,
			    &session);
		g_assert_cmpuint(((AuthMessage *)session->message_data)->pending, ==, 0);
	}
}

static void
test_signal_actions(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *config;
		PcAction action;
		const char *reply;
	} cases[] = {
	    {"signal_action = tempfail\n", PC_ACTION_TEMPFAIL,
	     "451 4.7.1 Too many client networks for user alice@example.com, try again later"},
	    {"signal_action = reject\n", PC_ACTION_REJECT,
	     "554 5.7.1 Too many client networks for user alice@example.com"},
	    {"signal_action = log\n", PC_ACTION_CONTINUE, NULL},
	};

	for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
		gint64 now = PC_USEC(100000 * (gint64)(c + 1));

		load_config(fx, cases[c].config);
		for (int net = 0; net < 5; net++) {
			g_autofree char *client = g_strdup_printf("192.0.%d.1", net);
			g_autoptr(PcSession) session = NULL;
			g_auto(PcVerdict) verdict;
			g_autofree char *reply = NULL;
			AuthOutcome outcome;

			signal_mail(fx, client, ALICE, now, &verdict, &outcome, &session);
			if (net < 3) {
				g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
				g_assert_false(verdict.log);
				continue;
			}
			/* the fourth and fifth networks act, each logged and counted */
			reply = reply_of(&verdict);
			g_assert_cmpint(verdict.action, ==, cases[c].action);
			g_assert_cmpstr(reply, ==, cases[c].reply);
			g_assert_cmpstr(verdict.reason, ==, "signal-networks");
			g_assert_true(verdict.action != PC_ACTION_CONTINUE || verdict.log);
			g_assert_cmpuint(outcome.signals, ==, 1u << AUTH_SIGNAL_NETWORKS);
			g_assert_cmpint(outcome.denied, ==, AUTH_REASON_NONE);
			g_assert_cmpuint(((AuthMessage *)session->message_data)->pending, ==, 0);
		}
		/* with tempfail or reject the login stays blocked from a known network too */
		{
			g_autoptr(PcSession) session = NULL;
			g_auto(PcVerdict) verdict;
			AuthOutcome outcome;

			signal_mail(fx, "192.0.0.2", ALICE, now + PC_USEC(60), &verdict, &outcome,
				    &session);
			g_assert_cmpint(verdict.action, ==, cases[c].action);
		}
	}
}

static PcAction
rcpt(PcSession *session, const AuthConfig *auth, const char *recipient, PcVerdict *verdict,
     AuthOutcome *outcome)
{
	pc_verdict_init(verdict);
	pc_session_set_current_rcpt(session, recipient);
	auth_policy_rcpt(auth, session, session->message_data, verdict, outcome);
	return verdict->action;
}

static void
test_signal_recipients(Fixture *fx, gconstpointer data)
{
	const char *recipients[] = {"<a@outside.test>", "<A@Outside.TEST.>", "b@outside.test",
				    "<c@outside.test>", "<d@outside.test>",  "<e@outside.test>",
				    "<f@outside.test>"};
	g_autoptr(PcSession) session = NULL;
	g_auto(PcVerdict) verdict;
	AuthOutcome outcome;
	AuthMessage *state;
	guint logged = 0;

	load_config(fx, "signal_action = log\n");
	signal_mail(fx, "198.51.100.7", ALICE, PC_USEC(50), &verdict, &outcome, &session);
	state = session->message_data;
	/* a, b, c, d are four distinct recipients (spellings of a count once); e is the fifth */
	for (gsize i = 0; i < G_N_ELEMENTS(recipients); i++) {
		g_auto(PcVerdict) step;

		g_assert_cmpint(rcpt(session, fx_auth(fx), recipients[i], &step, &outcome), ==,
				PC_ACTION_CONTINUE);
		if (i < 5)
			g_assert_false(step.log);
		if (step.log) {
			g_assert_cmpstr(step.reason, ==, "signal-recipients");
			g_assert_cmpstr(step.fields->str, ==,
					", signal=recipients, count=5, limit=4");
			logged++;
		}
	}
	/* log: once per message */
	g_assert_cmpuint(logged, ==, 1);
	g_assert_cmpint(state->counts[AUTH_SIGNAL_RECIPIENTS], ==, 6);

	/* quarantine: the recipients signal is held at EOM */
	load_config(fx, NULL);
	{
		g_autoptr(PcSession) again = NULL;
		g_auto(PcVerdict) mail;
		g_auto(PcVerdict) step;
		g_auto(PcVerdict) eom;

		signal_mail(fx, "198.51.100.7", ALICE, PC_USEC(60), &mail, &outcome, &again);
		g_assert_cmpint(rcpt(again, fx_auth(fx), "<g@outside.test>", &step, &outcome), ==,
				PC_ACTION_CONTINUE);
		pc_verdict_init(&eom);
		auth_policy_eom(fx_auth(fx), again, again->message_data, &eom, &outcome);
		g_assert_cmpint(eom.action, ==, PC_ACTION_QUARANTINE);
		g_assert_cmpstr(eom.reason, ==, "signal-recipients");
		g_assert_cmpuint(outcome.signals, ==, 1u << AUTH_SIGNAL_RECIPIENTS);
	}
}

static void
test_signal_unauthenticated_not_counted(Fixture *fx, gconstpointer data)
{
	g_autoptr(PcSession) session =
	    new_session(fx, "MX", "198.51.100.7", NULL, NULL, 0, PC_USEC(10));
	AuthOutcome outcome;
	g_auto(PcVerdict) verdict;

	pc_verdict_init(&verdict);
	pc_session_set_sender(session, "<x@outside.test>");
	auth_policy_mail(fx_auth(fx), session, pin(session), &verdict, &outcome);
	for (int i = 0; i < 10; i++) {
		g_autofree char *recipient = g_strdup_printf("<u%d@example.com>", i);
		g_auto(PcVerdict) step;

		rcpt(session, fx_auth(fx), recipient, &step, &outcome);
	}
	g_assert_cmpuint(pc_store_size(fx->store), ==, 0);
}

/* a login too long for a store key is counted under a digest, consistently */
static void
test_signal_long_login(Fixture *fx, gconstpointer data)
{
	g_autofree char *login = g_strnfill(600, 'l');
	guint held = 0;

	for (int net = 0; net < 5; net++) {
		g_autofree char *client = g_strdup_printf("192.0.%d.1", net);
		g_autoptr(PcSession) session =
		    new_session(fx, "ORIGINATING", client, login, "TLSv1.3", 256, PC_USEC(5));
		AuthOutcome outcome;
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		/* <> is allowed here, so no owner is needed to reach the count */
		pc_session_set_sender(session, "<>");
		auth_policy_mail(fx_auth(fx), session, pin(session), &verdict, &outcome);
		g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
		held += ((AuthMessage *)session->message_data)->pending != 0;
	}
	g_assert_cmpuint(held, ==, 2);
}

/*
 * --- the section's check ---
 */

static void
assert_load_fails(Fixture *fx, const char *extra, const char *want)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;

	write_config(fx, extra);
	config = pc_config_load(fx->config_path, &auth_config_schema, &error);
	g_assert_null(config);
	g_assert_nonnull(error);
	if (strstr(error->message, want) == NULL)
		g_assert_cmpstr(error->message, ==, want);
}

static void
test_check(Fixture *fx, gconstpointer data)
{
	g_autofree char *org = g_build_filename(fx->domains, "example.org.conf", NULL);
	g_autofree char *want = NULL;

	assert_load_fails(fx, "require_tls = submission ports\n",
			  "[auth]: require_tls: 'ports' is not a role");
	assert_load_fails(fx, "senders = alice@example.com alice\n", "[auth]: senders: an entry");
	assert_load_fails(fx, "min_tls_version = TLSv1.4\n", "min_tls_version");
	assert_load_fails(fx, "signal_action = bounce\n", "signal_action");
	assert_load_fails(fx, "recipient_delimiter = +\xc3\xbc\n",
			  "[auth]: recipient_delimiter: only printable ASCII characters");

	/* a bad senders value in a domain file names that file */
	g_assert_true(g_file_set_contents(org, "[auth]\nsenders = carol = carol\n", -1, NULL));
	assert_load_fails(fx, NULL, "example.org.conf:2: [auth]: senders: a key is not");
	g_assert_true(g_file_set_contents(org, "[auth]\nsender_login_maps = /x\n", -1, NULL));
	assert_load_fails(fx, NULL, "cannot be set per domain");
	g_assert_true(g_file_set_contents(org, "[auth]\nsenders = c@example.org = c\n", -1, NULL));

	/* a map that cannot be read fails the load and names config, section, key and file */
	g_assert_cmpint(g_unlink(fx->map_path), ==, 0);
	want = g_strdup_printf(
	    "%s:23: [auth]: sender_login_maps: cannot read %s: ", fx->config_path, fx->map_path);
	assert_load_fails(fx, NULL, want);
	g_assert_true(g_file_set_contents(fx->map_path, "bad@@ x\n", -1, NULL));
	assert_load_fails(fx, NULL, "sender_login_maps: ");
	g_assert_true(g_file_set_contents(fx->map_path, MAP_TEXT, -1, NULL));
}

/*
 * a key repeated with the same owners is kept once and logged as a warning
 * naming both lines, when the map is read (start, reload, -n); other
 * owners fail the load, naming both lines
 */
static void
test_map_duplicates(Fixture *fx, gconstpointer data)
{
	g_autofree char *warning = NULL;
	g_autofree char *error = NULL;

	g_assert_true(g_file_set_contents(
	    fx->map_path, MAP_TEXT "ALICE@example.com alice-app, Alice@Example.com\n", -1, NULL));
	warning = g_strdup_printf("sender_login_maps: %s:8: alice@example.com repeats line 2 with "
				  "the same owners (kept once)",
				  fx->map_path);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, warning);
	load_config(fx, NULL);
	g_test_assert_expected_messages();
	g_assert_cmpint(auth_sender_owned(fx_auth(fx), fx->slot.current, fx_auth(fx)->map, "alice",
					  "example.com", "alice-app"),
			==, PC_LOOKUP_FOUND);

	g_assert_true(
	    g_file_set_contents(fx->map_path, MAP_TEXT "alice@example.com bob\n", -1, NULL));
	error = g_strdup_printf("%s:23: [auth]: sender_login_maps: %s:8: alice@example.com is "
				"already listed at line 2 with other owners",
				fx->config_path, fx->map_path);
	assert_load_fails(fx, NULL, error);
	g_assert_true(g_file_set_contents(fx->map_path, MAP_TEXT, -1, NULL));
}

/* a reload reads a changed map; the old snapshot keeps the map it had */
static void
test_reload_map(Fixture *fx, gconstpointer data)
{
	g_autoptr(PcConfig) old_config = pc_config_slot_acquire(&fx->slot);
	const AuthConfig *old_auth = pc_config_get_section(old_config);
	g_autofree char *tmp = g_strconcat(fx->map_path, ".new", NULL);

	g_assert_true(
	    g_file_set_contents(tmp, MAP_TEXT "bob@example.com alice@example.com\n", -1, NULL));
	g_assert_cmpint(g_rename(tmp, fx->map_path), ==, 0);
	load_config(fx, NULL);
	g_assert_true(fx_auth(fx)->map != old_auth->map);
	g_assert_null(auth_map_lookup(old_auth->map, "bob@example.com"));
	g_assert_nonnull(auth_map_lookup(fx_auth(fx)->map, "bob@example.com"));
	/* a domains.d override shares the main section's map: read once per snapshot */
	g_assert_true(pc_config_get_domain_section(fx->slot.current, "example.org") != fx_auth(fx));
	g_assert_true(
	    ((const AuthConfig *)pc_config_get_domain_section(fx->slot.current, "example.org"))
		->map == fx_auth(fx)->map);
	g_assert_cmpint(
	    run_mail(fx, "ORIGINATING", ALICE, "TLSv1.3", "<bob@example.com>", NULL, NULL), ==,
	    PC_ACTION_CONTINUE);
}

/*
 * auth_sender_explain, for portcullis explain: the key that decided, its
 * source and the map's line, for each kind of key the walk tries; and the
 * same answer as auth_sender_owned for every case
 */
static void
test_owned_explain(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *local, *domain, *login;
		PcLookupStatus want;
		const char *key; /* NULL: no source lists it */
		AuthOwnerSource source;
		guint line;
	} cases[] = {
	    {"alice", "example.com", "alice-app", PC_LOOKUP_FOUND, "alice@example.com",
	     AUTH_OWNER_SOURCE_MAP, 2},
	    {"Alice+tag", "Example.COM", "alice-app", PC_LOOKUP_FOUND, "alice@example.com",
	     AUTH_OWNER_SOURCE_MAP, 2},
	    {"alice", "example.com", "bob", PC_LOOKUP_NOTFOUND, "alice@example.com",
	     AUTH_OWNER_SOURCE_MAP, 2},
	    {"alice", "example.com", NULL, PC_LOOKUP_NOTFOUND, "alice@example.com",
	     AUTH_OWNER_SOURCE_MAP, 2},
	    {"x", "example.net", "bob", PC_LOOKUP_FOUND, "@example.net", AUTH_OWNER_SOURCE_MAP, 3},
	    {"postmaster", "example.com", ALICE, PC_LOOKUP_FOUND, "postmaster",
	     AUTH_OWNER_SOURCE_MAP, 4},
	    {"carol", "example.org", "carol", PC_LOOKUP_FOUND, "carol@example.org",
	     AUTH_OWNER_SOURCE_SENDERS, 0},
	    {"zed", "example.org", "carol", PC_LOOKUP_NOTFOUND, "@example.org",
	     AUTH_OWNER_SOURCE_SENDERS, 0},
	    {"zed", "example.org", "orgadmin", PC_LOOKUP_FOUND, "@example.org",
	     AUTH_OWNER_SOURCE_SENDERS, 0},
	    {"nobody", "outside.test", "bob", PC_LOOKUP_NOTFOUND, NULL, AUTH_OWNER_SOURCE_NONE, 0},
	};
	const AuthConfig *auth = fx_auth(fx);

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(AuthOwnerMatch) match = {0};
		PcLookupStatus got =
		    auth_sender_explain(auth, fx->slot.current, auth->map, cases[i].local,
					cases[i].domain, cases[i].login, &match);

		g_assert_cmpint(got, ==, cases[i].want);
		g_assert_cmpstr(match.key, ==, cases[i].key);
		g_assert_cmpint(match.source, ==, cases[i].source);
		g_assert_cmpuint(match.map_line, ==, cases[i].line);
		if (cases[i].login != NULL)
			g_assert_cmpint(auth_sender_owned(auth, fx->slot.current, auth->map,
							  cases[i].local, cases[i].domain,
							  cases[i].login),
					==, got);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(policy_cases); i++) {
		g_autofree char *path = g_strconcat("/auth/policy/", policy_cases[i].label, NULL);

		g_test_add(path, Fixture, &policy_cases[i], fixture_setup_table, test_policy_case,
			   fixture_teardown);
	}
	g_test_add_func("/auth/policy-table/coverage", test_table_coverage);
	g_test_add_func("/auth/tls/rank", test_tls_rank);
#define ADD(path, extra, fn) g_test_add(path, Fixture, extra, fixture_setup, fn, fixture_teardown)
	ADD("/auth/owned/lookup-order", NULL, test_owned_lookup_order);
	ADD("/auth/owned/extensions", NULL, test_owned_extensions);
	ADD("/auth/owned/no-split", NULL, test_owned_no_split);
	ADD("/auth/owned/bare-key-domains", NULL, test_bare_key_domains);
	ADD("/auth/owned/explain", "recipient_delimiter = +\n", test_owned_explain);
	g_test_add_func("/auth/owned/caseless", test_owned_caseless);
	ADD("/auth/owned/no-map", "sender_login_maps =\n", test_no_map);
	ADD("/auth/on-error/map-unavailable", NULL, test_map_unavailable);
	ADD("/auth/unauthenticated/owned", NULL, test_unauthenticated_owned);
	ADD("/auth/unauthenticated/errors", NULL, test_unauthenticated_errors);
	ADD("/auth/unauthenticated/map-unavailable", NULL, test_unauthenticated_map_unavailable);
	ADD("/auth/switches", NULL, test_switches);
	ADD("/auth/signal/networks-quarantine", NULL, test_signal_networks_quarantine);
	ADD("/auth/signal/actions", NULL, test_signal_actions);
	ADD("/auth/signal/recipients", NULL, test_signal_recipients);
	ADD("/auth/signal/unauthenticated-not-counted", NULL,
	    test_signal_unauthenticated_not_counted);
	ADD("/auth/signal/long-login", "allow_null_sender = yes\n", test_signal_long_login);
	ADD("/auth/check/errors", NULL, test_check);
	ADD("/auth/check/reload-map", NULL, test_reload_map);
	ADD("/auth/check/map-duplicates", NULL, test_map_duplicates);
#undef ADD
	return g_test_run();
}
