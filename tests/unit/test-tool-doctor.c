/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for the wiring doctor's readers and rules (tools/portcullis/tool-doctor.c):
 * Postfix's $name forms ($name, ${name}, $(name), nested, a loop cut at its
 * depth), milter lists (braces, commas, blanks, settings), -o overrides,
 * service names and ports, the socket a unix: spec reaches (relative,
 * absolute, chrooted), Sendmail's filters and their F= flags, and the
 * judgement per role: needs, default actions, {daemon_name}, other
 * milters, networks.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "tool-doctor.h"

static const char main_base[] = "queue_directory = /var/spool/postfix\n"
				"myhostname = mx.example.com\n"
				"milter_macro_daemon_name = $myhostname\n"
				"milter_default_action = tempfail\n"
				"mynetworks = 127.0.0.0/8 [::1]/128\n"
				"non_smtpd_milters =\n"
				"r = { unix:run/portcullis/relay.sock, default_action=tempfail }\n"
				"a = unix:run/portcullis/auth.sock\n"
				"rt = {unix:/run/portcullis/rate.sock,default_action = accept}\n"
				"v = inet:127.0.0.1:8893\n"
				"mx = $r, ${a}, $(rt) $v\n"
				"smtpd_milters = $mx\n"
				"loop = $loop x\n";

static ToolDoctorMta *
read_postfix(const char *extra_main, const char *master)
{
	g_autofree char *main_all = g_strconcat(main_base, extra_main, NULL);
	g_autoptr(GError) error = NULL;
	ToolDoctorMta *mta = tool_doctor_read_postfix(main_all, master, &error);

	g_assert_no_error(error);
	return mta;
}

static void
test_postfix_expansion(void)
{
	g_autoptr(ToolDoctorMta) mta =
	    read_postfix("", "smtp inet n - n - - smtpd\n"
			     "pickup unix n - y 60 1 pickup\n"
			     "127.0.0.1:2587 inet n - y - - /usr/lib/postfix/sbin/smtpd -o "
			     "smtpd_milters=$a -o milter_macro_daemon_name=ORIGINATING\n"
			     "submissions inet n - n - - smtpd -o milter_default_action=accept\n"
			     "8025 inet n - n - - smtpd -o smtpd_milters=$loop\n"
			     "relay unix - - n - - smtp\n");
	const ToolDoctorListener *smtp, *sub, *smtps, *loop;
	const ToolDoctorMilter *m;

	g_assert_cmpuint(mta->listeners->len, ==, 4);
	smtp = g_ptr_array_index(mta->listeners, 0);
	sub = g_ptr_array_index(mta->listeners, 1);
	smtps = g_ptr_array_index(mta->listeners, 2);
	loop = g_ptr_array_index(mta->listeners, 3);
	/* names and ports */
	g_assert_cmpstr(smtp->name, ==, "smtp");
	g_assert_cmpuint(smtp->port, ==, 25);
	g_assert_cmpuint(sub->port, ==, 2587);
	g_assert_cmpuint(smtps->port, ==, 465);
	g_assert_cmpuint(loop->port, ==, 8025);
	g_assert_true(sub->chroot);
	g_assert_false(smtp->chroot);
	/* $r, ${a}, $(rt) and $v, braces with and without blanks */
	g_assert_cmpuint(smtp->milters->len, ==, 4);
	m = g_ptr_array_index(smtp->milters, 0);
	g_assert_cmpstr(m->spec, ==, "unix:run/portcullis/relay.sock");
	g_assert_cmpstr(m->default_action, ==, "tempfail");
	m = g_ptr_array_index(smtp->milters, 1);
	g_assert_cmpstr(m->spec, ==, "unix:run/portcullis/auth.sock");
	g_assert_cmpstr(m->default_action, ==, "tempfail"); /* milter_default_action */
	m = g_ptr_array_index(smtp->milters, 2);
	g_assert_cmpstr(m->spec, ==, "unix:/run/portcullis/rate.sock");
	g_assert_cmpstr(m->default_action, ==, "accept");
	m = g_ptr_array_index(smtp->milters, 3);
	g_assert_cmpstr(m->spec, ==, "inet:127.0.0.1:8893");
	/* -o overrides, the default {daemon_name} */
	g_assert_cmpstr(smtp->daemon_name, ==, "mx.example.com");
	g_assert_cmpstr(sub->daemon_name, ==, "ORIGINATING");
	g_assert_cmpuint(sub->milters->len, ==, 1);
	m = g_ptr_array_index(smtps->milters, 1);
	g_assert_cmpstr(m->default_action, ==, "accept");
	/* a loop ends at the depth bound, with no spec from it */
	for (guint i = 0; i < loop->milters->len; i++)
		g_assert_cmpstr(((ToolDoctorMilter *)g_ptr_array_index(loop->milters, i))->spec, ==,
				"x");
	g_assert_cmpstr(mta->mynetworks[0], ==, "127.0.0.0/8");
}

static void
test_socket_paths(void)
{
	g_autoptr(ToolDoctorMta) mta = read_postfix("", "smtp inet n - y - - smtpd\n"
							"2525 inet n - n - - smtpd\n");
	const ToolDoctorListener *jailed = g_ptr_array_index(mta->listeners, 0);
	const ToolDoctorListener *free_one = g_ptr_array_index(mta->listeners, 1);
	const struct {
		const ToolDoctorListener *listener;
		const char *spec;
		const char *want;
	} cases[] = {
	    {free_one, "unix:run/portcullis/relay.sock",
	     "/var/spool/postfix/run/portcullis/relay.sock"},
	    {jailed, "unix:run/portcullis/relay.sock",
	     "/var/spool/postfix/run/portcullis/relay.sock"},
	    {free_one, "unix:/run/portcullis/relay.sock", "/run/portcullis/relay.sock"},
	    {jailed, "unix:/run/portcullis/relay.sock",
	     "/var/spool/postfix/run/portcullis/relay.sock"},
	    {free_one, "unix://run//portcullis/./relay.sock", "/run/portcullis/relay.sock"},
	    {free_one, "local:/x.sock", "/x.sock"},
	    {free_one, "inet:127.0.0.1:8891", NULL},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got =
		    tool_doctor_socket_path(mta, cases[i].listener, cases[i].spec);

		g_assert_cmpstr(got, ==, cases[i].want);
	}
}

static void
test_sendmail(void)
{
	static const char cf[] =
	    "O DaemonPortOptions=Family=inet, Name=MX, Addr=127.0.0.1, Port=smtp\n"
	    "O DaemonPortOptions=Family=inet, Name=ORIGINATING, Port=submission, M=Ea\n"
	    "O InputMailFilters=portcullis-relay, portcullis-rate,nosuch\n"
	    "Xportcullis-relay, S=unix:/run/portcullis/relay.sock, F=T, T=C:10s\n"
	    "Xportcullis-rate, S=local:/run/portcullis/rate.sock, F=R\n"
	    "Xportcullis-unused, S=unix:/run/portcullis/verify.sock\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(ToolDoctorMta) mta = tool_doctor_read_sendmail(cf, &error);
	const ToolDoctorListener *mx;

	g_assert_no_error(error);
	g_assert_cmpuint(mta->listeners->len, ==, 2);
	mx = g_ptr_array_index(mta->listeners, 0);
	g_assert_cmpstr(mx->daemon_name, ==, "MX");
	g_assert_cmpuint(mx->port, ==, 25);
	g_assert_cmpuint(((ToolDoctorListener *)g_ptr_array_index(mta->listeners, 1))->port, ==,
			 587);
	/* only InputMailFilters, in its order; F= gives the default action */
	g_assert_cmpuint(mx->milters->len, ==, 2);
	g_assert_cmpstr(((ToolDoctorMilter *)g_ptr_array_index(mx->milters, 0))->default_action, ==,
			"tempfail");
	g_assert_cmpstr(((ToolDoctorMilter *)g_ptr_array_index(mx->milters, 1))->default_action, ==,
			"reject");
	g_clear_pointer(&mta, tool_doctor_mta_free);
	mta = tool_doctor_read_sendmail("hello\n", &error);
	g_assert_null(mta);
	g_assert_nonnull(error);
}

static PcConfig *
config_for(const char *text)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("pc-doctor-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "p.conf", NULL);
	PcConfig *config;

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	config = pc_config_load(path, NULL, &error);
	g_assert_no_error(error);
	g_unlink(path);
	g_rmdir(dir);
	return config;
}

static gboolean
has_finding(GPtrArray *findings, const char *severity, const char *part)
{
	for (guint i = 0; i < findings->len; i++) {
		const ToolDoctorFinding *f = g_ptr_array_index(findings, i);

		if (strcmp(f->severity, severity) == 0 && strstr(f->text, part) != NULL)
			return TRUE;
	}
	return FALSE;
}

static void
test_judge(void)
{
	g_autoptr(PcConfig) config =
	    config_for("[global]\nlocal_domains = example.com\n"
		       "trusted_networks = 127.0.0.0/8 10.0.0.0/8\nuser =\n"
		       "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
		       "[listener.sub]\nrole = submission\nports = 587\n"
		       "daemon_names = ORIGINATING\n");
	const char *sockets[PORTCULLIS_N_DAEMONS] = {
	    "unix:/var/spool/postfix/run/portcullis/relay.sock",
	    "unix:/var/spool/postfix/run/portcullis/auth.sock",
	    "unix:/run/portcullis/rate.sock",
	    "inet:8893@127.0.0.1",
	    NULL,
	};
	g_autoptr(ToolDoctorMta) mta = read_postfix(
	    "",
	    "smtp inet n - y - - smtpd -o milter_macro_daemon_name=MX\n"
	    "submission inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING\n"
	    "2525 inet n - n - - smtpd -o milter_macro_daemon_name=OTHER -o smtpd_milters=$r\n");
	g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(tool_doctor_finding_free);

	tool_doctor_judge(mta, config, sockets, NULL, findings);
	/*
	 * smtp, chrooted: relay and auth below the queue directory; rate's
	 * absolute /run path is inside the jail there, not our socket
	 */
	g_assert_true(has_finding(findings, "ok",
				  "listener smtp (port 25, role mx, {daemon_name} MX): "
				  "relay auth verify"));
	g_assert_true(has_finding(findings, "error",
				  "listener smtp (role mx): portcullis-rate is not attached"));
	/* submission, not chrooted: the /run path is rate's socket, with default_action accept */
	g_assert_true(has_finding(findings, "error",
				  "listener submission: portcullis-rate's default "
				  "action is accept"));
	g_assert_true(has_finding(findings, "ok",
				  "listener submission (port 587, role submission, "
				  "{daemon_name} ORIGINATING): relay auth rate verify"));
	/* sign: the configuration gives it no socket */
	g_assert_true(has_finding(findings, "error",
				  "portcullis-sign is not attached (and the configuration gives it "
				  "no socket)"));
	/* an unknown {daemon_name}: judged as mx */
	g_assert_true(
	    has_finding(findings, "warning", "{daemon_name} OTHER matches no [listener]"));
	g_assert_true(has_finding(findings, "error",
				  "listener 2525 (role mx): portcullis-verify is not attached"));
	/* the networks: ::1 on Postfix's side, 10/8 on ours */
	g_assert_true(has_finding(findings, "warning", "mynetworks has ::1/128"));
	g_assert_true(has_finding(findings, "warning", "trusted_networks has 10.0.0.0/8"));
	g_assert_false(has_finding(findings, "warning", "127.0.0.0/8"));
}

/* portcullis-stack attached: it attaches the daemons it hosts, no more */
static void
test_judge_stack(void)
{
	g_autoptr(PcConfig) config =
	    config_for("[global]\nlocal_domains = example.com\ntrusted_networks = 127.0.0.0/8\n"
		       "user =\n"
		       "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
		       "[listener.sub]\nrole = submission\nports = 587\n"
		       "daemon_names = ORIGINATING\n");
	const char *sockets[PORTCULLIS_N_DAEMONS] = {
	    "unix:/var/spool/postfix/run/portcullis/relay.sock",
	    "unix:/var/spool/postfix/run/portcullis/auth.sock",
	    "unix:/var/spool/postfix/run/portcullis/rate.sock",
	    "unix:/var/spool/postfix/run/portcullis/verify.sock",
	    "unix:/var/spool/postfix/run/portcullis/sign.sock",
	};
	/* relay, auth, rate, verify; sign on its own */
	const ToolDoctorStack stack = {"unix:/var/spool/postfix/run/portcullis/stack.sock",
				       {TRUE, TRUE, TRUE, TRUE, FALSE}};
	g_autoptr(ToolDoctorMta) mta = read_postfix(
	    "s = { unix:run/portcullis/stack.sock, default_action=tempfail }\n"
	    "g = { unix:run/portcullis/sign.sock, default_action=tempfail }\n"
	    "a = { unix:run/portcullis/stack.sock, default_action=accept }\n",
	    "smtp inet n - y - - smtpd -o milter_macro_daemon_name=MX -o smtpd_milters=$s\n"
	    "submission inet n - y - - smtpd -o milter_macro_daemon_name=ORIGINATING "
	    "-o smtpd_milters=$a\n");
	g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func(tool_doctor_finding_free);

	tool_doctor_judge(mta, config, sockets, &stack, findings);
	g_assert_true(has_finding(findings, "ok",
				  "listener smtp (port 25, role mx, {daemon_name} MX): "
				  "(portcullis-stack: relay auth rate verify)"));
	g_assert_false(has_finding(findings, "error", "listener smtp (role mx)"));
	g_assert_false(has_finding(findings, "warning", "another milter"));
	g_assert_false(has_finding(findings, "warning", "attached twice"));
	/* submission: sign is not hosted and not attached; the stack's default action */
	g_assert_true(has_finding(findings, "error",
				  "listener submission (role submission): portcullis-sign is not "
				  "attached"));
	g_assert_true(has_finding(
	    findings, "error", "listener submission: portcullis-stack's default action is accept"));

	/* the stack and portcullis-rate on their own: rate twice */
	{
		g_autoptr(ToolDoctorMta) twice =
		    read_postfix("s = { unix:run/portcullis/stack.sock, default_action=tempfail }\n"
				 "r = { unix:run/portcullis/rate.sock, default_action=tempfail }\n",
				 "smtp inet n - y - - smtpd -o milter_macro_daemon_name=MX "
				 "-o smtpd_milters=$s,$r\n");
		g_autoptr(GPtrArray) found =
		    g_ptr_array_new_with_free_func(tool_doctor_finding_free);

		tool_doctor_judge(twice, config, sockets, &stack, found);
		g_assert_true(
		    has_finding(found, "warning", "listener smtp: rate is attached twice"));
		g_assert_false(has_finding(found, "warning", "relay is attached twice"));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tool/doctor/postfix-expansion", test_postfix_expansion);
	g_test_add_func("/tool/doctor/socket-paths", test_socket_paths);
	g_test_add_func("/tool/doctor/sendmail", test_sendmail);
	g_test_add_func("/tool/doctor/judge", test_judge);
	g_test_add_func("/tool/doctor/judge-stack", test_judge_stack);
	return g_test_run();
}
