/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for relay-policy: recipient classification (the relay battery), trust
 * and authentication, probe counting and bans with injected time.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "pc-store.h"
#include "relay-policy.h"

typedef struct {
	char *dir;
	PcConfigSlot slot;
	PcStore *store;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	g_autofree char *domains = NULL;
	g_autofree char *domain_file = NULL;

	fx->dir = g_dir_make_tmp("pc-relay-XXXXXX", NULL);
	path = g_build_filename(fx->dir, "portcullis.conf", NULL);
	domains = g_build_filename(fx->dir, "domains.d", NULL);
	g_assert_cmpint(g_mkdir(domains, 0700), ==, 0);
	domain_file = g_build_filename(domains, "hosted.test.conf", NULL);
	g_assert_true(g_file_set_contents(domain_file, "", -1, NULL));
	text = g_strdup_printf("[global]\nlocal_domains = example.com; .example.net; [192.0.2.25]\n"
			       "trusted_networks = 10.0.0.0/8\ndomains_dir = %s\nuser =\n"
			       "[relay]\nprobe_limit = 3\nprobe_window = 10m\nban_time = 1h\n",
			       domains);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	config = pc_config_load(path, &relay_config_schema, &error);
	g_assert_no_error(error);
	pc_config_slot_init(&fx->slot, config);
	fx->store = pc_store_new_memory(10000, 4);
	g_unlink(domain_file);
	g_rmdir(domains);
	g_unlink(path);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	pc_config_slot_clear(&fx->slot);
	pc_store_free(fx->store);
	g_rmdir(fx->dir);
	g_free(fx->dir);
}

static PcSession *
new_session(Fixture *fx, const char *client, const char *daemon_addr, gint64 now)
{
	PcSession *session = pc_session_new(fx->store, now);
	PcNetAddress address;

	g_assert_true(pc_net_address_parse(client, &address));
	pc_session_pin_config(session, &fx->slot);
	session->daemon_addr = g_strdup(daemon_addr);
	pc_session_set_client(session, "client.test", &address);
	return session;
}

typedef struct {
	const char *rcpt;
	RelayReason want;
} ClassifyCase;

/* the relay battery: every form must be refused from an untrusted client */
static const ClassifyCase battery[] = {
    {"<victim@outside.test>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<VICTIM@OUTSIDE.TEST>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<victim@outside.test.>", RELAY_REASON_FOREIGN_DOMAIN},
    {"victim@outside.test", RELAY_REASON_FOREIGN_DOMAIN},
    {"<victim@example.com.outside.test>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<victim@sub.example.com>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<victim@example.net>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<victim@badexample.com>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<user%outside.test@example.com>", RELAY_REASON_PERCENT_HACK},
    {"<user%outside.test@EXAMPLE.COM.>", RELAY_REASON_PERCENT_HACK},
    {"<user%example.com@example.com>", RELAY_REASON_PERCENT_HACK},
    {"<outside.test!user@example.com>", RELAY_REASON_BANG_PATH},
    {"<@example.com:victim@outside.test>", RELAY_REASON_SOURCE_ROUTE},
    {"<@a.test,@example.com:user@example.com>", RELAY_REASON_SOURCE_ROUTE},
    {"<\"victim@outside.test\"@example.com>", RELAY_REASON_LOCAL_AT},
    {"<\"victim%outside.test\"@example.com>", RELAY_REASON_PERCENT_HACK},
    {"<\"outside.test!victim\"@example.com>", RELAY_REASON_BANG_PATH},
    {"<user@outside.test@example.com>", RELAY_REASON_LOCAL_AT},
    {"<victim@[192.0.2.1]>", RELAY_REASON_IP_LITERAL},
    {"<victim@[IPv6:2001:db8::1]>", RELAY_REASON_IP_LITERAL},
    {"<outside.test!user>", RELAY_REASON_BANG_PATH},
    {"<user%outside.test>", RELAY_REASON_PERCENT_HACK},
    {"user%outside.test", RELAY_REASON_PERCENT_HACK},
    {"<\"victim\"@outside.test>", RELAY_REASON_FOREIGN_DOMAIN},
    {"<>", RELAY_REASON_SYNTAX},
    {"<victim@>", RELAY_REASON_SYNTAX},
    {"<victim@outside..test>", RELAY_REASON_SYNTAX},
    {"<victim@outside.test>>", RELAY_REASON_SYNTAX},
    {"<victim@outside.test", RELAY_REASON_SYNTAX},
    {"<vic\001tim@example.com>", RELAY_REASON_SYNTAX},
};

/* recipients that are ours */
static const ClassifyCase local_cases[] = {
    {"<user@example.com>", RELAY_REASON_NONE},
    {"<USER@Example.COM.>", RELAY_REASON_NONE},
    {"user@example.com", RELAY_REASON_NONE},
    {"<user@mx.example.net>", RELAY_REASON_NONE},
    {"<user@hosted.test>", RELAY_REASON_NONE},
    {"<\"john doe\"@example.com>", RELAY_REASON_NONE},
    {"<postmaster>", RELAY_REASON_NONE},
    {"<user@[192.0.2.25]>", RELAY_REASON_NONE},
    {"<user@[127.0.0.1]>", RELAY_REASON_NONE}, /* the address the client reached */
    /* RFC 822 forms both MTAs deliver to the mailbox named */
    {"< user@example.com>", RELAY_REASON_NONE},
    {"<<user@example.com>>", RELAY_REASON_NONE},
    {"<user(comment)@example.com>", RELAY_REASON_NONE},
    {"<user@example.com (comment)>", RELAY_REASON_NONE},
    {"<user @ example.com>", RELAY_REASON_NONE},
    /*
     * RFC 5321 Snum with leading zeros: local to Postfix, routed elsewhere
     * by Sendmail, so never ours; ambiguous ones are not even syntax
     */
    {"<user@[127.000.000.001]>", RELAY_REASON_IP_LITERAL},
    {"<user@[127.0.0.01]>", RELAY_REASON_IP_LITERAL},
    {"<user@[192.0.2.025]>", RELAY_REASON_SYNTAX}, /* 025: 25 or octal 21 */
    /* a second destination next to a local one */
    {"<user@example.com (victim@outside.test)>", RELAY_REASON_SYNTAX},
    {"victim@outside.test<user@example.com>", RELAY_REASON_SYNTAX},
    {"<victim@outside.test <user@example.com>>", RELAY_REASON_SYNTAX},
    {"<user@example.com victim@outside.test>", RELAY_REASON_SYNTAX},
    {"< victim@outside.test >", RELAY_REASON_FOREIGN_DOMAIN},
    {"<(c)victim@outside.test>", RELAY_REASON_FOREIGN_DOMAIN},
};

static void
check_cases(Fixture *fx, const ClassifyCase *cases, gsize n)
{
	g_autoptr(PcSession) session = new_session(fx, "198.51.100.7", "127.0.0.1", 0);

	for (gsize i = 0; i < n; i++) {
		RelayReason got = relay_classify_recipient(session->config, session, cases[i].rcpt);

		if (got != cases[i].want)
			g_error("%s: got %s, want %s", cases[i].rcpt, relay_reason_to_string(got),
				relay_reason_to_string(cases[i].want));
	}
}

static void
test_battery(Fixture *fx, gconstpointer data)
{
	g_assert_cmpuint(G_N_ELEMENTS(battery), >=, 20);
	check_cases(fx, battery, G_N_ELEMENTS(battery));
}

static void
test_local(Fixture *fx, gconstpointer data)
{
	check_cases(fx, local_cases, G_N_ELEMENTS(local_cases));
}

/*
 * IPv4-mapped IPv6 literals of our own address (the one the client reached,
 * 127.0.0.1 here) and of a listed literal ([192.0.2.25]), in every spelling
 * of tag and address: Postfix delivers them locally, Sendmail routes them
 * to its smart host, so the guard refuses every one
 */
/* the spellings of the IPv4-mapped IPv6 address of o; NULL past the last form */
static char *
mapped_spelling(guint form, const guint8 *o)
{
	switch (form) {
	case 0:
		return g_strdup_printf("::ffff:%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
	case 1:
		return g_strdup_printf("::FFFF:%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
	case 2:
		return g_strdup_printf("0:0:0:0:0:ffff:%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
	case 3:
		return g_strdup_printf("0000:0000:0000:0000:0000:FFFF:%u.%u.%u.%u", o[0], o[1],
				       o[2], o[3]);
	case 4:
		return g_strdup_printf("::ffff:%x:%x", o[0] << 8 | o[1], o[2] << 8 | o[3]);
	case 5:
		return g_strdup_printf("::ffff:%04X:%04X", o[0] << 8 | o[1], o[2] << 8 | o[3]);
	case 6:
		return g_strdup_printf("0:0:0:0:0:ffff:%x:%x", o[0] << 8 | o[1], o[2] << 8 | o[3]);
	default:
		return NULL;
	}
}

/*
 * IPv4-mapped IPv6 literals of our own address (the one the client reached,
 * 127.0.0.1 here) and of a listed literal ([192.0.2.25]), in every spelling
 * of tag and address: Postfix delivers them locally, Sendmail routes them
 * to its smart host, so the guard refuses every one
 */
static void
test_v4_mapped_literals(Fixture *fx, gconstpointer data)
{
	static const char *const tags[] = {"IPv6:", "ipv6:", "IPV6:"};
	static const guint8 addresses[][4] = {{127, 0, 0, 1}, {192, 0, 2, 25}};
	g_autoptr(PcSession) session = new_session(fx, "198.51.100.7", "127.0.0.1", 0);
	guint n = 0;

	for (gsize a = 0; a < G_N_ELEMENTS(addresses); a++) {
		const guint8 *o = addresses[a];
		g_autofree char *plain =
		    g_strdup_printf("<user@[%u.%u.%u.%u]>", o[0], o[1], o[2], o[3]);

		/* the plain literal itself stays ours */
		g_assert_cmpint(relay_classify_recipient(session->config, session, plain), ==,
				RELAY_REASON_NONE);
		for (gsize t = 0; t < G_N_ELEMENTS(tags); t++) {
			char *address;

			for (guint f = 0; (address = mapped_spelling(f, o)) != NULL; f++) {
				g_autofree char *rcpt =
				    g_strdup_printf("<user@[%s%s]>", tags[t], address);
				RelayReason got =
				    relay_classify_recipient(session->config, session, rcpt);

				g_free(address);
				if (got != RELAY_REASON_IP_LITERAL)
					g_error("%s: got %s, want ip-literal", rcpt,
						relay_reason_to_string(got));
				n++;
			}
		}
	}
	g_assert_cmpuint(n, ==, 42);
}

static void
test_too_long(Fixture *fx, gconstpointer data)
{
	g_autoptr(PcSession) session = new_session(fx, "198.51.100.7", NULL, 0);
	g_autoptr(GString) rcpt = g_string_new("<");

	for (int i = 0; i < 300; i++)
		g_string_append_c(rcpt, 'a');
	g_string_append(rcpt, "@example.com>");
	g_assert_cmpint(relay_classify_recipient(session->config, session, rcpt->str), ==,
			RELAY_REASON_TOO_LONG);
}

/* runs relay_policy_rcpt for one recipient */
static PcAction
decide_rcpt(PcSession *session, RelaySession *state, const char *rcpt, PcVerdict *verdict,
	    gboolean *banned_now)
{
	RelayReason denied;

	pc_verdict_init(verdict);
	pc_session_set_current_rcpt(session, rcpt);
	relay_policy_rcpt(pc_config_get_section(session->config), session, state, verdict, &denied,
			  banned_now);
	return verdict->action;
}

static void
test_refusal_reply(Fixture *fx, gconstpointer data)
{
	g_autoptr(PcSession) session = new_session(fx, "198.51.100.7", NULL, 0);
	RelaySession state = {0};
	g_auto(PcVerdict) verdict;
	gboolean banned = FALSE;

	decide_rcpt(session, &state, "<user%outside.test@example.com>", &verdict, &banned);
	g_assert_cmpint(verdict.action, ==, PC_ACTION_REJECT);
	g_assert_cmpstr(verdict.code, ==, "554");
	g_assert_cmpstr(verdict.xcode, ==, "5.7.1");
	g_assert_cmpstr(verdict.text, ==, "<user%outside.test@example.com>: Relay access denied");
	g_assert_cmpstr(verdict.reason, ==, "percent-hack");
	{
		/* the milter reply rule: '%' doubled on the way to the MTA */
		g_autofree char *text = pc_verdict_milter_text(&verdict);

		g_assert_cmpstr(text, ==, "<user%%outside.test@example.com>: Relay access denied");
	}
}

static void
test_trusted_and_authenticated(Fixture *fx, gconstpointer data)
{
	g_autoptr(PcSession) trusted = new_session(fx, "10.1.2.3", NULL, 0);
	g_autoptr(PcSession) authed = new_session(fx, "198.51.100.8", NULL, 0);
	RelaySession state = {0};

	g_assert_true(trusted->trusted);
	authed->auth_login = g_strdup("alice@example.com");
	for (gsize i = 0; i < G_N_ELEMENTS(battery); i++) {
		g_auto(PcVerdict) a;
		g_auto(PcVerdict) b;
		gboolean banned = FALSE;

		g_assert_cmpint(decide_rcpt(trusted, &state, battery[i].rcpt, &a, &banned), ==,
				PC_ACTION_CONTINUE);
		g_assert_cmpint(decide_rcpt(authed, &state, battery[i].rcpt, &b, &banned), ==,
				PC_ACTION_CONTINUE);
	}
	/* nothing was counted for them */
	g_assert_cmpuint(pc_store_size(fx->store), ==, 0);
}

static void
test_ban(Fixture *fx, gconstpointer data)
{
	const RelayConfig *relay = pc_config_get_section(fx->slot.current);
	gint64 now = PC_USEC(1000);
	g_autoptr(PcSession) session = new_session(fx, "198.51.100.9", NULL, now);
	RelaySession state = {0};
	gboolean banned = FALSE;

	g_assert_cmpint(relay->probe_limit, ==, 3);
	/* two attempts: refused, not banned; a local recipient still passes */
	for (int i = 0; i < 2; i++) {
		g_auto(PcVerdict) verdict;

		g_assert_cmpint(decide_rcpt(session, &state, "<v@outside.test>", &verdict, &banned),
				==, PC_ACTION_REJECT);
		g_assert_false(banned);
	}
	{
		g_auto(PcVerdict) verdict;

		g_assert_cmpint(decide_rcpt(session, &state, "<u@example.com>", &verdict, &banned),
				==, PC_ACTION_CONTINUE);
	}
	/* the third within the window bans */
	{
		g_auto(PcVerdict) verdict;

		g_assert_cmpint(decide_rcpt(session, &state, "<v@outside.test>", &verdict, &banned),
				==, PC_ACTION_REJECT);
		g_assert_true(banned);
	}
	/* the rest of this connection is refused, local recipients too */
	{
		g_auto(PcVerdict) verdict;

		g_assert_cmpint(decide_rcpt(session, &state, "<u@example.com>", &verdict, &banned),
				==, PC_ACTION_REJECT);
		g_assert_cmpstr(verdict.reason, ==, "banned");
		g_assert_cmpstr(verdict.code, ==, "554");
	}
	/* a new connection from the same client is refused at CONNECT, until ban_time passes */
	{
		g_autoptr(PcSession) again =
		    new_session(fx, "198.51.100.9", NULL, now + PC_USEC(60));
		RelaySession state2 = {0};
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		relay_policy_connect(relay, again, &state2, &verdict);
		g_assert_cmpint(verdict.action, ==, PC_ACTION_REJECT);
	}
	{
		g_autoptr(PcSession) later =
		    new_session(fx, "198.51.100.9", NULL, now + PC_USEC(3600) + 1);
		RelaySession state3 = {0};
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		relay_policy_connect(relay, later, &state3, &verdict);
		g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
	}
	/* another client is not affected */
	{
		g_autoptr(PcSession) other = new_session(fx, "198.51.100.10", NULL, now);
		RelaySession state4 = {0};
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		relay_policy_connect(relay, other, &state4, &verdict);
		g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
	}
}

static void
test_probe_window(Fixture *fx, gconstpointer data)
{
	gint64 now = PC_USEC(5000);
	RelaySession state = {0};
	gboolean banned = FALSE;

	/* attempts spread wider than probe_window (10m) never reach the limit */
	for (int i = 0; i < 6; i++) {
		g_autoptr(PcSession) session =
		    new_session(fx, "198.51.100.11", NULL, now + i * PC_USEC(400));
		g_auto(PcVerdict) verdict;

		decide_rcpt(session, &state, "<v@outside.test>", &verdict, &banned);
		g_assert_false(banned);
	}
}

static void
test_ipv6_prefix(Fixture *fx, gconstpointer data)
{
	gint64 now = PC_USEC(100);
	gboolean banned = FALSE;
	const char *clients[] = {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"};

	/* three addresses of one /64 are one client */
	for (gsize i = 0; i < G_N_ELEMENTS(clients); i++) {
		g_autoptr(PcSession) session = new_session(fx, clients[i], NULL, now);
		RelaySession state = {0};
		g_auto(PcVerdict) verdict;

		decide_rcpt(session, &state, "<v@outside.test>", &verdict, &banned);
	}
	g_assert_true(banned);
	{
		g_autoptr(PcSession) neighbour = new_session(fx, "2001:db8:1:3::1", NULL, now);
		RelaySession state = {0};
		g_auto(PcVerdict) verdict;

		pc_verdict_init(&verdict);
		relay_policy_connect(pc_config_get_section(fx->slot.current), neighbour, &state,
				     &verdict);
		g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/relay/classify/battery", test_battery);
	ADD("/relay/classify/local", test_local);
	ADD("/relay/classify/too-long", test_too_long);
	ADD("/relay/classify/v4-mapped-literals", test_v4_mapped_literals);
	ADD("/relay/rcpt/reply", test_refusal_reply);
	ADD("/relay/rcpt/trusted-and-authenticated", test_trusted_and_authenticated);
	ADD("/relay/ban/limit", test_ban);
	ADD("/relay/ban/window", test_probe_window);
	ADD("/relay/ban/ipv6-prefix", test_ipv6_prefix);
#undef ADD
	return g_test_run();
}
