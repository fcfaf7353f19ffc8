/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for rate-policy and rate-greylist: SMTP sessions played against the
 * policy functions with a memory store and injected time. Each case is a
 * configuration and a list of steps (connect, auth, mail, rcpt, eom, abort,
 * wait) with the verdict each step must give; nothing sleeps.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "pc-store.h"
#include "rate-policy.h"

#define S(seconds) ((gint64)(seconds)*G_USEC_PER_SEC)

typedef enum {
	OP_CONNECT, /* arg: client IP, arg2: {daemon_name} (NULL: MX) */
	OP_AUTH,    /* arg: login */
	OP_MAIL,    /* arg: sender, number: SIZE= (0: none) */
	OP_RCPT,    /* arg: recipient */
	OP_EOM,	    /* number: body bytes */
	OP_ABORT,
	OP_WAIT, /* number: microseconds */
} RateOp;

typedef struct {
	RateOp op;
	const char *arg;
	const char *arg2;
	gint64 number;
	PcAction want;		  /* CONTINUE unless given */
	const char *want_text;	  /* substring of the reply text, or NULL */
	RateGreyResult want_grey; /* RATE_GREY_NONE: not checked */
} RateStep;

typedef struct {
	const char *label;
	const char *config;	 /* appended to the fixed [global] and listeners */
	const char *domain_file; /* "NAME.conf\nBODY", or NULL */
	RateStep steps[40];
} RateCase;

#define CONNECT(ip)                                                                                \
	{                                                                                          \
		.op = OP_CONNECT, .arg = (ip)                                                      \
	}
#define CONNECT_AT(ip, name)                                                                       \
	{                                                                                          \
		.op = OP_CONNECT, .arg = (ip), .arg2 = (name)                                      \
	}
#define AUTH(login)                                                                                \
	{                                                                                          \
		.op = OP_AUTH, .arg = (login)                                                      \
	}
#define MAIL(sender)                                                                               \
	{                                                                                          \
		.op = OP_MAIL, .arg = (sender)                                                     \
	}
#define MAIL_SIZE(sender, n)                                                                       \
	{                                                                                          \
		.op = OP_MAIL, .arg = (sender), .number = (n)                                      \
	}
#define RCPT(rcpt)                                                                                 \
	{                                                                                          \
		.op = OP_RCPT, .arg = (rcpt)                                                       \
	}
#define EOM(bytes)                                                                                 \
	{                                                                                          \
		.op = OP_EOM, .number = (bytes)                                                    \
	}
#define ABORT                                                                                      \
	{                                                                                          \
		.op = OP_ABORT                                                                     \
	}
#define WAIT(seconds)                                                                              \
	{                                                                                          \
		.op = OP_WAIT, .number = S(seconds)                                                \
	}
/* the same steps, expected to tempfail with a reply containing text */
#define TF(op_, arg_, number_, text)                                                               \
	{                                                                                          \
		.op = (op_), .arg = (arg_), .number = (number_), .want = PC_ACTION_TEMPFAIL,       \
		.want_text = (text)                                                                \
	}
#define TF_MAIL(sender, text) TF(OP_MAIL, sender, 0, text)
#define TF_MAIL_SIZE(sender, n, text) TF(OP_MAIL, sender, n, text)
#define TF_RCPT(rcpt, text) TF(OP_RCPT, rcpt, 0, text)
#define TF_EOM(bytes, text) TF(OP_EOM, NULL, bytes, text)
/* a whole message that passes: MAIL, one RCPT, EOM */
#define MESSAGE(sender, rcpt) MAIL(sender), RCPT(rcpt), EOM(100)
#define GREY(rcpt, result)                                                                         \
	{                                                                                          \
		.op = OP_RCPT, .arg = (rcpt), .want_grey = (result)                                \
	}
#define GREY_DEFER(rcpt, text)                                                                     \
	{                                                                                          \
		.op = OP_RCPT, .arg = (rcpt), .want = PC_ACTION_TEMPFAIL, .want_text = (text),     \
		.want_grey = RATE_GREY_DEFERRED                                                    \
	}

static const RateCase cases[] = {
    {.label = "messages-per-client",
     .config = "[rate.per_client]\nkey = client_ip\ncount = messages\nrate = 3/1h\n",
     .steps = {CONNECT("198.51.100.7"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       MESSAGE("<b@s.test>", "<u@example.com>"), MESSAGE("<c@s.test>", "<u@example.com>"),
	       TF_MAIL("<d@s.test>", "Rate limit exceeded, try again in 1200 seconds"), WAIT(1199),
	       TF_MAIL("<d@s.test>", "Rate limit exceeded, try again in 1 seconds"), WAIT(1),
	       MESSAGE("<d@s.test>", "<u@example.com>"),
	       /* another client has its own bucket */
	       CONNECT("198.51.100.8"), MESSAGE("<a@s.test>", "<u@example.com>")}},
    {.label = "refused-recipient-not-counted",
     .config = "[rate.rcpt]\nkey = sender\ncount = recipients\nrate = 3/1h\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"), RCPT("<u1@example.com>"),
	       RCPT("<u2@example.com>"), RCPT("<u3@example.com>"),
	       TF_RCPT("<u4@example.com>", "try again in 1200 seconds"),
	       TF_RCPT("<u5@example.com>", "try again in 1200 seconds"), EOM(100),
	       /* three were committed at EOM, not five */
	       WAIT(1200), MAIL("<A@S.TEST>"), RCPT("<u6@example.com>"),
	       TF_RCPT("<u7@example.com>", "try again in 1200 seconds"), EOM(100),
	       /* another sender is not touched */
	       MAIL("<b@s.test>"), RCPT("<u1@example.com>"), RCPT("<u2@example.com>"),
	       RCPT("<u3@example.com>"), EOM(10)}},
    {.label = "abort-not-counted",
     .config = "[rate.rcpt]\nkey = sender\ncount = recipients\nrate = 3/1h\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"), RCPT("<u1@example.com>"),
	       RCPT("<u2@example.com>"), RCPT("<u3@example.com>"), ABORT, MAIL("<a@s.test>"),
	       RCPT("<u1@example.com>"), RCPT("<u2@example.com>"), RCPT("<u3@example.com>"),
	       EOM(100),
	       /* no recipient left: refused at MAIL already */
	       TF_MAIL("<a@s.test>", "try again in 1200 seconds")}},
    /* a message refused at EOM by one limit is charged to none */
    {.label = "eom-refusal-charges-nothing",
     .config = "[rate.msgs]\nkey = sender\ncount = messages\nrate = 2/1h\n"
	       "[rate.bytes]\nkey = client_ip\ncount = bytes\nrate = 1000/1h\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"), RCPT("<u@example.com>"), EOM(800),
	       MAIL("<a@s.test>"), RCPT("<u@example.com>"),
	       TF_EOM(800, "Rate limit exceeded, try again in 2160 seconds"), MAIL("<a@s.test>"),
	       RCPT("<u@example.com>"), EOM(100),
	       TF_MAIL("<a@s.test>", "try again in 1800 seconds")}},
    {.label = "bytes-size-at-mail",
     .config = "[rate.bytes]\nkey = sender_domain\ncount = bytes\nrate = 1000/1h\n",
     .steps = {CONNECT("198.51.100.7"), MAIL_SIZE("<a@s.test>", 600), RCPT("<u@example.com>"),
	       EOM(600), TF_MAIL_SIZE("<b@S.test>", 600, "try again in 720 seconds"),
	       /* without SIZE= the check waits for EOM */
	       MAIL("<b@s.test>"), RCPT("<u@example.com>"), TF_EOM(600, "try again in 720 seconds"),
	       /* a message larger than the bucket passes a full bucket and empties it */
	       WAIT(3600), MAIL_SIZE("<c@s.test>", 5000), RCPT("<u@example.com>"), EOM(5000),
	       TF_MAIL_SIZE("<c@s.test>", 1, "try again in 4 seconds"),
	       /* the null sender has no domain: not limited */
	       MAIL_SIZE("<>", 900), RCPT("<u@example.com>"), EOM(900)}},
    {.label = "connections-per-net",
     .config = "[rate.conn]\nkey = client_net\ncount = connections\nrate = 2/1h\n",
     .steps = {CONNECT("198.51.100.7"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       CONNECT("198.51.100.8"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       CONNECT("198.51.100.9"),
	       TF_MAIL("<a@s.test>", "Rate limit exceeded, try again in 1800 seconds"), WAIT(10),
	       TF_MAIL("<a@s.test>", "try again in 1790 seconds"),
	       /* the refused connection was not counted: 1800 s after it, one more passes */
	       WAIT(1790), CONNECT("198.51.100.10"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       CONNECT("198.51.101.7"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       CONNECT("2001:db8:1:2::1"), CONNECT("2001:db8:1:2::2"), CONNECT("2001:db8:1:2::3"),
	       TF_MAIL("<a@s.test>", "try again in 1800 seconds")}},
    {.label = "roles-and-trusted",
     .config = "[rate.sub]\nkey = client_ip\ncount = messages\nrate = 1/1h\n"
	       "roles = submission\n",
     .steps = {CONNECT("198.51.100.7"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       MESSAGE("<a@s.test>", "<u@example.com>"), CONNECT_AT("198.51.100.7", "ORIGINATING"),
	       MESSAGE("<a@s.test>", "<u@example.com>"),
	       TF_MAIL("<a@s.test>", "try again in 3600 seconds"),
	       CONNECT_AT("10.1.2.3", "ORIGINATING"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       MESSAGE("<a@s.test>", "<u@example.com>")}},
    {.label = "trusted-counted-when-not-exempt",
     .config = "[rate.all]\nkey = client_ip\ncount = messages\nrate = 1/1h\n"
	       "exempt_trusted = no\n",
     .steps = {CONNECT("10.1.2.3"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       TF_MAIL("<a@s.test>", "try again in 3600 seconds")}},
    {.label = "login-domain-override",
     .config = "[rate.per_login]\nkey = login\ncount = messages\nrate = 1/1h\n",
     .domain_file = "customer.test.conf\n[rate.per_login]\nrate = 3/1h\n",
     .steps = {CONNECT_AT("198.51.100.7", "ORIGINATING"), MESSAGE("<x@s.test>", "<u@example.com>"),
	       MESSAGE("<x@s.test>", "<u@example.com>"), AUTH("alice@Customer.test"),
	       MESSAGE("<x@s.test>", "<u@example.com>"), MESSAGE("<x@s.test>", "<u@example.com>"),
	       MESSAGE("<x@s.test>", "<u@example.com>"),
	       TF_MAIL("<x@s.test>", "try again in 1200 seconds"),
	       CONNECT_AT("198.51.100.7", "ORIGINATING"), AUTH("bob@other.test"),
	       MESSAGE("<x@s.test>", "<u@example.com>"),
	       TF_MAIL("<x@s.test>", "try again in 3600 seconds")}},
    {.label = "recipient-domain-once-per-message",
     .config = "[rate.to_domain]\nkey = recipient_domain\ncount = messages\nrate = 2/1h\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"), RCPT("<a@x.test>"), RCPT("<b@X.TEST>"),
	       RCPT("<c@y.test>"), EOM(100), MESSAGE("<a@s.test>", "<d@x.test>"),
	       MAIL("<a@s.test>"), TF_RCPT("<e@x.test>", "try again in 1800 seconds"),
	       RCPT("<e@y.test>"), EOM(100), MAIL("<a@s.test>"),
	       TF_RCPT("<f@y.test>", "try again in 1800 seconds")}},
    {.label = "several-windows",
     .config = "[rate.w]\nkey = client_ip\nrate = 2/1m; 3/1h\n",
     .steps = {CONNECT("198.51.100.7"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       MESSAGE("<a@s.test>", "<u@example.com>"),
	       TF_MAIL("<a@s.test>", "try again in 30 seconds"), WAIT(30),
	       MESSAGE("<a@s.test>", "<u@example.com>"), WAIT(60),
	       TF_MAIL("<a@s.test>", "try again in 1110 seconds")}},
    {.label = "burst",
     .config = "[rate.b]\nkey = client_ip\nrate = 60/1m\nburst = 2\n",
     .steps = {CONNECT("198.51.100.7"), MESSAGE("<a@s.test>", "<u@example.com>"),
	       MESSAGE("<a@s.test>", "<u@example.com>"),
	       TF_MAIL("<a@s.test>", "try again in 1 seconds"), WAIT(1),
	       MESSAGE("<a@s.test>", "<u@example.com>")}},
    {.label = "reject-action",
     .config = "[rate.r]\nkey = client_ip\nrate = 1/1h\naction = reject\n",
     .steps = {CONNECT("198.51.100.7"),
	       MESSAGE("<a@s.test>", "<u@example.com>"),
	       {.op = OP_MAIL,
		.arg = "<a@s.test>",
		.want = PC_ACTION_REJECT,
		.want_text = "Rate limit exceeded"}}},
    {.label = "quarantine-action",
     .config = "[rate.q]\nkey = client_ip\nrate = 1/1h\naction = quarantine\n",
     .steps = {CONNECT("198.51.100.7"),
	       MESSAGE("<a@s.test>", "<u@example.com>"),
	       MAIL("<a@s.test>"),
	       RCPT("<u@example.com>"),
	       {.op = OP_EOM,
		.number = 100,
		.want = PC_ACTION_QUARANTINE,
		.want_text = "limit q exceeded"},
	       /* held, and not counted: the next one after the refill passes */
	       WAIT(3600),
	       MESSAGE("<a@s.test>", "<u@example.com>")}},
    {.label = "greylist",
     .config = "[greylist]\nenabled = yes\ndelay = 2m\nretry_window = 1h\nauto_allow = 2\n"
	       "allow_domains = .friendly.test\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"),
	       GREY_DEFER("<u@example.com>", "Greylisted, try again in 120 seconds"),
	       GREY_DEFER("<v@example.com>", "Greylisted, try again in 120 seconds"), WAIT(60),
	       GREY_DEFER("<U@example.com>", "Greylisted, try again in 60 seconds"), WAIT(60),
	       GREY("<u@example.com>", RATE_GREY_PASSED), GREY("<u@example.com>", RATE_GREY_KNOWN),
	       /* the same /24, another sender: a new triplet */
	       CONNECT("198.51.100.99"), MAIL("<a@s.test>"),
	       GREY("<u@example.com>", RATE_GREY_KNOWN), MAIL("<b@s.test>"),
	       GREY_DEFER("<u@example.com>", "try again in 120 seconds"),
	       /* a second pass from the network allows it (auto_allow = 2) */
	       MAIL("<a@s.test>"), GREY("<v@example.com>", RATE_GREY_PASSED),
	       GREY("<w@example.com>", RATE_GREY_AUTO),
	       /* authenticated, trusted and allowed senders are never greylisted */
	       CONNECT("203.0.113.5"), AUTH("alice"), MAIL("<a@s.test>"),
	       GREY("<u@example.com>", RATE_GREY_EXEMPT), CONNECT("10.9.9.9"), MAIL("<a@s.test>"),
	       GREY("<u@example.com>", RATE_GREY_EXEMPT), CONNECT("203.0.113.6"),
	       MAIL("<a@mx.friendly.test>"), GREY("<u@example.com>", RATE_GREY_EXEMPT),
	       /* after the retry window a waiting triplet starts over */
	       MAIL("<z@s.test>"), GREY_DEFER("<u@example.com>", "try again in 120 seconds"),
	       WAIT(3600), GREY_DEFER("<u@example.com>", "try again in 120 seconds")}},
    {.label = "greylist-per-domain-off",
     .config = "[greylist]\nenabled = yes\n",
     .domain_file = "optout.test.conf\n[greylist]\nenabled = no\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"), GREY("<u@optout.test>", RATE_GREY_NONE),
	       GREY_DEFER("<u@example.com>", "try again in 300 seconds")}},
    /* a greylisted recipient is not counted either */
    {.label = "greylisted-not-counted",
     .config = "[greylist]\nenabled = yes\ndelay = 1m\n"
	       "[rate.rcpt]\nkey = client_ip\ncount = recipients\nrate = 2/1h\n",
     .steps = {CONNECT("198.51.100.7"), MAIL("<a@s.test>"),
	       GREY_DEFER("<u@example.com>", "Greylisted"),
	       GREY_DEFER("<v@example.com>", "Greylisted"), WAIT(60), RCPT("<u@example.com>"),
	       RCPT("<v@example.com>"), EOM(100)}},
};

typedef struct {
	char *dir;
	PcConfigSlot slot;
	PcStore *store;
	PcSession *session;
	gint64 now;
} Fixture;

static void
write_file(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void
fixture_load(Fixture *fx, const RateCase *test_case)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *domains = g_build_filename(fx->dir, "domains.d", NULL);
	g_autofree char *path = g_build_filename(fx->dir, "portcullis.conf", NULL);
	g_autofree char *text =
	    g_strdup_printf("[global]\nlocal_domains = example.com\ntrusted_networks = 10.0.0.0/8\n"
			    "domains_dir = %s\nuser =\n"
			    "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
			    "[listener.submission]\nrole = submission\nports = 587\n"
			    "daemon_names = ORIGINATING\n[rate]\n%s",
			    domains, test_case->config);

	g_assert_cmpint(g_mkdir(domains, 0700), ==, 0);
	if (test_case->domain_file != NULL) {
		g_auto(GStrv) parts = g_strsplit(test_case->domain_file, "\n", 2);

		write_file(domains, parts[0], parts[1]);
	}
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	config = pc_config_load_full(path, &rate_config_schema, rate_extra_schemas, &error);
	g_assert_no_error(error);
	pc_config_slot_init(&fx->slot, config);
}

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->dir = g_dir_make_tmp("pc-rate-XXXXXX", NULL);
	fx->store = pc_store_new_memory(10000, 8);
	fx->now = S(1000);
	if (data != NULL)
		fixture_load(fx, data);
}

static void
remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);

		if (g_file_test(child, G_FILE_TEST_IS_DIR))
			remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	g_clear_pointer(&fx->session, pc_session_free);
	pc_config_slot_clear(&fx->slot);
	pc_store_free(fx->store);
	remove_tree(fx->dir);
	g_free(fx->dir);
}

static RateSession *
state_of(PcSession *session)
{
	if (session->connection_data == NULL) {
		session->connection_data = rate_session_new(session);
		session->connection_data_free = rate_session_free;
	}
	return session->connection_data;
}

static void
run_connect(Fixture *fx, const RateStep *step, PcVerdict *verdict, RateOutcome *outcome)
{
	PcNetAddress address;

	g_clear_pointer(&fx->session, pc_session_free);
	fx->session = pc_session_new(fx->store, fx->now);
	g_assert_true(pc_net_address_parse(step->arg, &address));
	fx->session->daemon_name = g_strdup(step->arg2 != NULL ? step->arg2 : "MX");
	pc_session_pin_config(fx->session, &fx->slot);
	pc_session_set_client(fx->session, "client.test", &address);
	rate_policy_connect(fx->session, state_of(fx->session), verdict, outcome);
}

static void
run_step(Fixture *fx, const RateStep *step, PcVerdict *verdict, RateOutcome *outcome)
{
	PcSession *session = fx->session;

	if (step->op == OP_CONNECT) {
		run_connect(fx, step, verdict, outcome);
		return;
	}
	if (step->op == OP_WAIT) {
		fx->now += step->number;
		return;
	}
	g_assert_nonnull(session);
	session->now_us = fx->now;
	switch (step->op) {
	case OP_AUTH:
		g_free(session->auth_login);
		session->auth_login = g_strdup(step->arg);
		break;
	case OP_MAIL: {
		g_autofree char *size = g_strdup_printf("SIZE=%" G_GINT64_FORMAT, step->number);
		const char *const parameters[] = {step->number > 0 ? size : NULL, NULL};

		pc_session_reset_message(session);
		pc_session_pin_config(session, &fx->slot);
		pc_session_set_sender(session, step->arg);
		pc_session_set_mail_parameters(session, parameters);
		pc_session_set_message_data(session, rate_message_new(session), rate_message_free);
		rate_policy_mail(session, state_of(session), verdict, outcome);
		break;
	}
	case OP_RCPT:
		pc_session_set_current_rcpt(session, step->arg);
		rate_policy_rcpt(session, state_of(session), verdict, outcome);
		if (verdict->action == PC_ACTION_CONTINUE)
			pc_session_accept_current_rcpt(session);
		break;
	case OP_EOM:
		session->body_bytes = step->number;
		rate_policy_eom(session, state_of(session), verdict, outcome);
		pc_session_reset_message(session);
		break;
	case OP_ABORT:
		pc_session_reset_message(session);
		break;
	case OP_CONNECT:
	case OP_WAIT:
		g_assert_not_reached();
	}
}

static const char *const op_names[] = {"connect", "auth", "mail", "rcpt", "eom", "abort", "wait"};

static void
test_case_run(Fixture *fx, gconstpointer data)
{
	const RateCase *test_case = data;

	for (gsize i = 0; i < G_N_ELEMENTS(test_case->steps); i++) {
		const RateStep *step = &test_case->steps[i];
		g_auto(PcVerdict) verdict;
		RateOutcome outcome = {0};

		if (step->op == OP_CONNECT && step->arg == NULL)
			break; /* the end of the steps */
		pc_verdict_init(&verdict);
		run_step(fx, step, &verdict, &outcome);
		g_test_message("step %" G_GSIZE_FORMAT " %s %s: %s %s", i, op_names[step->op],
			       step->arg != NULL ? step->arg : "",
			       pc_action_to_string(verdict.action),
			       verdict.text != NULL ? verdict.text : "");
		g_assert_cmpstr(pc_action_to_string(verdict.action), ==,
				pc_action_to_string(step->want));
		if (step->want_text != NULL && strstr(verdict.text, step->want_text) == NULL)
			g_error("step %" G_GSIZE_FORMAT ": '%s' does not contain '%s'", i,
				verdict.text, step->want_text);
		if (step->want_grey != RATE_GREY_NONE)
			g_assert_cmpstr(rate_grey_result_to_string(outcome.greylist), ==,
					rate_grey_result_to_string(step->want_grey));
		if (step->want == PC_ACTION_TEMPFAIL && step->want_grey == RATE_GREY_NONE)
			g_assert_nonnull(outcome.limit);
	}
}

static void
test_normalize_address(void)
{
	static const struct {
		const char *path;
		const char *want;
		const char *want_domain;
	} cases_n[] = {
	    {"<Alice@Example.COM.>", "alice@example.com", "example.com"},
	    {"bob@example.com", "bob@example.com", "example.com"},
	    {"<>", "", NULL},
	    {"<postmaster>", "postmaster", NULL},
	    {"<not an address", "<not an address", NULL},
	    {NULL, "", NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases_n); i++) {
		g_autofree char *domain = NULL;
		g_autofree char *address = rate_normalize_address(cases_n[i].path, &domain);

		g_assert_cmpstr(address, ==, cases_n[i].want);
		g_assert_cmpstr(domain, ==, cases_n[i].want_domain);
	}
}

static void
test_config_errors(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *body;
		const char *want;
	} cases_e[] = {
	    {"[rate.a]\nkey = login\n", "[rate.a]: rate: a limit needs a rate"},
	    {"[rate.a]\nkey = login\ncount = connections\nrate = 5/1h\n",
	     "[rate.a]: count = connections needs key = client_ip or client_net"},
	    {"[rate.a]\nrate = 5/1h\nroles = mx; server\n",
	     "[rate.a]: roles: 'server' is not one of"},
	    {"[rate.a]\nrate = 5/1h\nkey = ip\n", "[rate.a] key: 'ip' is not one of"},
	    {"[greylist]\ndelay = 1h\nretry_window = 30m\n",
	     "[greylist]: retry_window must be longer than delay"},
	    {"[rate]\non_error = maybe\n", "[rate] on_error: 'maybe' is not one of"},
	};
	g_autofree char *path = g_build_filename(fx->dir, "bad.conf", NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(cases_e); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PcConfig) config = NULL;
		g_autofree char *text =
		    g_strdup_printf("[global]\ndomains_dir =\nuser =\n%s", cases_e[i].body);

		g_assert_true(g_file_set_contents(path, text, -1, NULL));
		config = pc_config_load_full(path, &rate_config_schema, rate_extra_schemas, &error);
		g_assert_null(config);
		if (strstr(error->message, cases_e[i].want) == NULL)
			g_error("'%s' does not contain '%s'", error->message, cases_e[i].want);
	}
}

/* on_error = tempfail: with the shared store down and no fallback, MAIL tempfails */
static void
test_store_failure(Fixture *fx, gconstpointer data)
{
	static const RateCase on_error = {
	    .label = "on-error",
	    .config = "on_error = tempfail\n[rate.a]\nkey = client_ip\nrate = 5/1h\n"};
	g_autoptr(GError) error = NULL;
	g_autoptr(PcStore) store = NULL;
	g_auto(PcVerdict) verdict;
	RateOutcome outcome = {0};
	RateStep connect = CONNECT("198.51.100.7");

	fixture_load(fx, &on_error);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "store: * unreachable*");
	store = pc_store_new_from_spec("unix:/nonexistent/pc-rate-test.sock", 100, &error);
	g_test_assert_expected_messages();
	g_assert_no_error(error);
	pc_store_set_fallback(store, FALSE);
	pc_store_free(fx->store);
	fx->store = g_steal_pointer(&store);

	pc_verdict_init(&verdict);
	run_connect(fx, &connect, &verdict, &outcome);
	g_assert_cmpint(verdict.action, ==, PC_ACTION_CONTINUE);
	pc_session_set_sender(fx->session, "<a@s.test>");
	pc_session_set_message_data(fx->session, rate_message_new(fx->session), rate_message_free);
	rate_policy_mail(fx->session, state_of(fx->session), &verdict, &outcome);
	g_assert_cmpint(verdict.action, ==, PC_ACTION_TEMPFAIL);
	g_assert_cmpstr(verdict.code, ==, "451");
	g_assert_cmpstr(verdict.xcode, ==, "4.3.0");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strconcat("/rate/policy/", cases[i].label, NULL);

		g_test_add(path, Fixture, &cases[i], fixture_setup, test_case_run,
			   fixture_teardown);
	}
	g_test_add_func("/rate/normalize-address", test_normalize_address);
	g_test_add("/rate/config-errors", Fixture, NULL, fixture_setup, test_config_errors,
		   fixture_teardown);
	g_test_add("/rate/store-failure", Fixture, NULL, fixture_setup, test_store_failure,
		   fixture_teardown);
	return g_test_run();
}
