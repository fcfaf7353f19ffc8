/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-config: value parsers, the schema-driven loader, GKeyFile's
 * traps, domains.d overlays, listeners and the snapshot slot.
 */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "pc-config.h"

typedef struct {
	gint64 limit;
	gint64 window;
	gboolean enabled;
	char *name;
	char **items;
	int mode;
	gint64 size;
} TestSection;

static const char *const mode_choices[] = {"tempfail", "accept", NULL};

static const PcConfigKey test_keys[] = {
    {"limit", PC_CONFIG_INT, "10", 1, 100, NULL, G_STRUCT_OFFSET(TestSection, limit),
     PC_CONFIG_KEY_PER_DOMAIN, "a bounded integer"},
    {"window", PC_CONFIG_DURATION, "10m", PC_USEC(1), PC_USEC(86400), NULL,
     G_STRUCT_OFFSET(TestSection, window), 0, "a duration"},
    {"enabled", PC_CONFIG_BOOL, "no", 0, 0, NULL, G_STRUCT_OFFSET(TestSection, enabled),
     PC_CONFIG_KEY_PER_DOMAIN, "a boolean"},
    {"name", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(TestSection, name), 0, "a string"},
    {"items", PC_CONFIG_STRING_LIST, "a; b", 0, 0, NULL, G_STRUCT_OFFSET(TestSection, items), 0,
     "a list"},
    {"mode", PC_CONFIG_ENUM, "tempfail", 0, 0, mode_choices, G_STRUCT_OFFSET(TestSection, mode), 0,
     "an enum"},
    {"size", PC_CONFIG_SIZE, "1M", 0, G_GINT64_CONSTANT(1) << 40, NULL,
     G_STRUCT_OFFSET(TestSection, size), 0, "a size"},
};

static const PcConfigSchema test_schema = {
    .name = "relay",
    .keys = test_keys,
    .n_keys = G_N_ELEMENTS(test_keys),
    .size = sizeof(TestSection),
};

/* a scratch directory with portcullis.conf and domains.d/ */
typedef struct {
	char *dir;
	char *path;
	char *domains;
} Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	fx->dir = g_dir_make_tmp("pc-config-XXXXXX", NULL);
	g_assert_nonnull(fx->dir);
	fx->path = g_build_filename(fx->dir, "portcullis.conf", NULL);
	fx->domains = g_build_filename(fx->dir, "domains.d", NULL);
	g_assert_cmpint(g_mkdir(fx->domains, 0700), ==, 0);
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
	g_autofree char *writable = g_build_filename(fx->domains, NULL);

	chmod(writable, 0700);
	remove_tree(fx->dir);
	g_free(fx->dir);
	g_free(fx->path);
	g_free(fx->domains);
}

/* writes the main file: [global] pointing at the fixture's domains.d, then body */
static void
write_main(Fixture *fx, const char *body)
{
	g_autofree char *text =
	    g_strdup_printf("[global]\ndomains_dir = %s\nuser =\n%s", fx->domains, body);

	g_assert_true(g_file_set_contents(fx->path, text, -1, NULL));
}

static void
write_domain(Fixture *fx, const char *name, const char *body)
{
	g_autofree char *path = g_build_filename(fx->domains, name, NULL);

	g_assert_true(g_file_set_contents(path, body, -1, NULL));
}

static void
test_parse_duration(void)
{
	static const struct {
		const char *input;
		gint64 want;
		gboolean ok;
	} cases[] = {
	    {.input = "30", .want = PC_USEC(30), .ok = TRUE},
	    {.input = "30s", .want = PC_USEC(30), .ok = TRUE},
	    {.input = "10m", .want = PC_USEC(600), .ok = TRUE},
	    {.input = "1h", .want = PC_USEC(3600), .ok = TRUE},
	    {.input = "2d", .want = PC_USEC(2 * 86400), .ok = TRUE},
	    {.input = "1w", .want = PC_USEC(7 * 86400), .ok = TRUE},
	    {.input = "0s", .want = 0, .ok = TRUE},
	    {.input = "", .ok = FALSE},
	    {.input = "m", .ok = FALSE},
	    {.input = "10x", .ok = FALSE},
	    {.input = "10mm", .ok = FALSE},
	    {.input = "-5s", .ok = FALSE},
	    {.input = "1.5h", .ok = FALSE},
	    {.input = "99999999999999s", .ok = FALSE},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		gint64 value = -1;
		gboolean ok = pc_config_parse_duration(cases[i].input, &value, &error);

		g_test_message("duration '%s'", cases[i].input);
		g_assert_cmpint(ok, ==, cases[i].ok);
		if (ok)
			g_assert_cmpint(value, ==, cases[i].want);
		else
			g_assert_nonnull(error);
	}
}

static void
test_parse_size_bool(void)
{
	gint64 bytes = 0;
	gboolean value = FALSE;

	g_assert_true(pc_config_parse_size("512", &bytes, NULL));
	g_assert_cmpint(bytes, ==, 512);
	g_assert_true(pc_config_parse_size("10k", &bytes, NULL));
	g_assert_cmpint(bytes, ==, 10240);
	g_assert_true(pc_config_parse_size("10M", &bytes, NULL));
	g_assert_cmpint(bytes, ==, 10 * 1024 * 1024);
	g_assert_true(pc_config_parse_size("1G", &bytes, NULL));
	g_assert_cmpint(bytes, ==, G_GINT64_CONSTANT(1) << 30);
	g_assert_false(pc_config_parse_size("10Q", &bytes, NULL));

	for (const char *const *t = (const char *const[]){"yes", "on", "TRUE", "1", NULL}; *t;
	     t++) {
		value = FALSE;
		g_assert_true(pc_config_parse_bool(*t, &value, NULL));
		g_assert_true(value);
	}
	for (const char *const *f = (const char *const[]){"no", "Off", "false", "0", NULL}; *f;
	     f++) {
		value = TRUE;
		g_assert_true(pc_config_parse_bool(*f, &value, NULL));
		g_assert_false(value);
	}
	g_assert_false(pc_config_parse_bool("yess", &value, NULL));
	g_assert_false(pc_config_parse_bool("", &value, NULL));
}

static void
test_split_list(void)
{
	g_auto(GStrv) a = pc_config_split_list(" a.example ; b.example,c.example  d.example;;");
	g_auto(GStrv) b = pc_config_split_list("");

	g_assert_cmpuint(g_strv_length(a), ==, 4);
	g_assert_cmpstr(a[0], ==, "a.example");
	g_assert_cmpstr(a[3], ==, "d.example");
	g_assert_cmpuint(g_strv_length(b), ==, 0);
}

static void
test_load_defaults(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const TestSection *section;

	write_main(fx, "local_domains = Example.COM.; .example.net\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	section = pc_config_get_section(config);
	g_assert_cmpint(section->limit, ==, 10);
	g_assert_cmpint(section->window, ==, PC_USEC(600));
	g_assert_false(section->enabled);
	g_assert_null(section->name);
	g_assert_cmpuint(g_strv_length(section->items), ==, 2);
	g_assert_cmpint(section->size, ==, 1024 * 1024);
	g_assert_cmpstr(pc_config_get_daemon(config)->socket, ==,
			"unix:/var/spool/postfix/run/portcullis/relay.sock");
	g_assert_cmpstr(pc_config_get_global(config)->store, ==, "memory");

	/* normalised: case and trailing dot; ".parent" covers subdomains only */
	g_assert_true(pc_config_is_local_domain(config, "example.com"));
	g_assert_false(pc_config_is_local_domain(config, "sub.example.com"));
	g_assert_false(pc_config_is_local_domain(config, "example.net"));
	g_assert_true(pc_config_is_local_domain(config, "mx.example.net"));
	g_assert_true(pc_config_is_local_domain(config, "a.b.example.net"));
	g_assert_false(pc_config_is_local_domain(config, "badexample.net"));
	g_assert_false(pc_config_is_local_domain(config, "example.com.outside.test"));
}

static void
test_load_values(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const TestSection *section;
	PcNetAddress address;

	write_main(fx, "trusted_networks = 192.0.2.0/24, 2001:db8::/32\n"
		       "[relay]\nlimit = 42\nwindow = 1h\nenabled = on\nname = hello world\n"
		       "items = x;y ; z\nmode = ACCEPT\nsize = 10M\nsocket = inet:8891@127.0.0.1\n"
		       "[auth]\nwhatever = is not ours to check\n[rate.per_login]\nkey = login\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	section = pc_config_get_section(config);
	g_assert_cmpint(section->limit, ==, 42);
	g_assert_cmpint(section->window, ==, PC_USEC(3600));
	g_assert_true(section->enabled);
	g_assert_cmpstr(section->name, ==, "hello world");
	g_assert_cmpuint(g_strv_length(section->items), ==, 3);
	g_assert_cmpint(section->mode, ==, 1);
	g_assert_cmpstr(pc_config_get_daemon(config)->socket, ==, "inet:8891@127.0.0.1");

	g_assert_true(pc_net_address_parse("192.0.2.77", &address));
	g_assert_true(pc_config_is_trusted(config, &address));
	g_assert_true(pc_net_address_parse("127.0.0.1", &address));
	g_assert_false(pc_config_is_trusted(config, &address));
}

typedef struct {
	const char *label;
	const char *body;
	PcConfigError code;
	const char *want; /* substring of the message: file position, section and key */
} ErrorCase;

static const ErrorCase error_cases[] = {
    {.label = "unknown-key",
     .body = "[relay]\nlimt = 5\n",
     .code = PC_CONFIG_ERROR_UNKNOWN_KEY,
     .want = "portcullis.conf:5: [relay] limt: unknown key"},
    {.label = "out-of-range",
     .body = "[relay]\nlimit = 0\n",
     .code = PC_CONFIG_ERROR_RANGE,
     .want = "portcullis.conf:5: [relay] limit: 0 is out of range 1..100"},
    {.label = "not-a-number",
     .body = "[relay]\nlimit = ten\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":5: [relay] limit: 'ten' is not a whole number"},
    {.label = "bad-duration",
     .body = "[relay]\nwindow = 10 minutes\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":5: [relay] window: '10 minutes' is not a duration"},
    {.label = "duration-range",
     .body = "[relay]\nwindow = 2d\n",
     .code = PC_CONFIG_ERROR_RANGE,
     .want = "[relay] window: 172800s is out of range 1s..86400s"},
    {.label = "bad-bool",
     .body = "[relay]\nenabled = sure\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":5: [relay] enabled: 'sure' is not a boolean"},
    {.label = "bad-enum",
     .body = "[relay]\nmode = maybe\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = "[relay] mode: 'maybe' is not one of: tempfail | accept"},
    {.label = "duplicate-key",
     .body = "[relay]\nlimit = 5\nlimit = 6\n",
     .code = PC_CONFIG_ERROR_DUPLICATE,
     .want = ":6: [relay] limit: key given twice (first at line 5)"},
    {.label = "duplicate-section",
     .body = "[relay]\nlimit = 5\n[relay]\nenabled = yes\n",
     .code = PC_CONFIG_ERROR_DUPLICATE,
     .want = ":6: [relay]: section given twice"},
    {.label = "trailing-comment",
     .body = "[relay]\nlimit = 5 # five\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":5: [relay] limit: comments are not allowed after a value"},
    {.label = "unknown-section",
     .body = "[relais]\nlimit = 5\n",
     .code = PC_CONFIG_ERROR_UNKNOWN_SECTION,
     .want = ":4: [relais]: unknown section"},
    {.label = "bad-network",
     .body = "trusted_networks = 10.0.0.1/8\n",
     .code = 0,
     .want = ":4: [global] trusted_networks: "},
    {.label = "bad-domain",
     .body = "local_domains = example..com\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":4: [global] local_domains: 'example..com' is not a domain name"},
    {.label = "bad-listener-role",
     .body = "[listener.mx]\nrole = server\nports = 25\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":5: [listener.mx] role: 'server' is not one of"},
    {.label = "bad-listener-port",
     .body = "[listener.mx]\nports = 25; 70000\n",
     .code = PC_CONFIG_ERROR_RANGE,
     .want = "[listener.mx] ports: 70000 is out of range 0..65535"},
    {.label = "listener-without-match",
     .body = "[listener.mx]\nrole = mx\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = "[listener.mx]: a listener needs ports or daemon_names"},
    {.label = "syntax",
     .body = "[relay\nlimit = 5\n",
     .code = PC_CONFIG_ERROR_PARSE,
     .want = ":4: section header without ']'"},
};

static void
test_load_errors(Fixture *fx, gconstpointer data)
{
	for (gsize i = 0; i < G_N_ELEMENTS(error_cases); i++) {
		const ErrorCase *c = &error_cases[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(PcConfig) config = NULL;

		g_test_message("case %s", c->label);
		write_main(fx, c->body);
		config = pc_config_load(fx->path, &test_schema, &error);
		g_assert_null(config);
		g_assert_nonnull(error);
		if (c->code != 0)
			g_assert_error(error, PC_CONFIG_ERROR, (int)c->code);
		if (strstr(error->message, c->want) == NULL)
			g_error("case %s: '%s' does not contain '%s'", c->label, error->message,
				c->want);
	}
}

static void
test_missing_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config =
	    pc_config_load("/nonexistent/portcullis.conf", &test_schema, &error);

	g_assert_null(config);
	g_assert_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "/nonexistent/portcullis.conf"));
}

static void
test_domains_overlay(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const TestSection *main_section;
	const TestSection *domain_section;

	write_main(fx, "local_domains = example.com\n[relay]\nlimit = 20\nwindow = 1h\n");
	write_domain(fx, "Customer.TEST.conf", "[relay]\nlimit = 50\nenabled = yes\n");
	write_domain(fx, "other.test.conf", "[auth]\nsenders = whatever\n");
	write_domain(fx, ".hidden.test.conf", "garbage [[[\n");
	write_domain(fx, "notes.txt", "not a domain file\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(pc_config_get_n_domain_files(config), ==, 2);
	g_assert_true(pc_config_is_local_domain(config, "customer.test"));
	g_assert_true(pc_config_is_local_domain(config, "other.test"));
	g_assert_false(pc_config_is_local_domain(config, "hidden.test"));

	main_section = pc_config_get_section(config);
	domain_section = pc_config_get_domain_section(config, "customer.test");
	g_assert_cmpint(main_section->limit, ==, 20);
	g_assert_false(main_section->enabled);
	/* merged key by key: overridden keys from the domain file, the rest from the main file */
	g_assert_cmpint(domain_section->limit, ==, 50);
	g_assert_true(domain_section->enabled);
	g_assert_cmpint(domain_section->window, ==, PC_USEC(3600));
	g_assert_true(pc_config_get_domain_section(config, "other.test") == main_section);
	g_assert_true(pc_config_get_domain_section(config, "nowhere.test") == main_section);
}

static void
test_domains_errors(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *file;
		const char *body;
		const char *want;
	} cases[] = {
	    {"a.test.conf", "[relay]\nwindow = 5m\n",
	     "a.test.conf:2: [relay] window: this key cannot be set per domain"},
	    {"b.test.conf", "[relay]\nlimit = 500\n", "b.test.conf:2: [relay] limit: 500 is out"},
	    {"c.test.conf", "[global]\nlocal_domains = x.test\n",
	     "c.test.conf:1: [global]: not allowed in a domain file"},
	    {"d..test.conf", "", "d..test.conf: the file name is not DOMAIN.conf"},
	    {"e.test.conf", "[relay]\nlimit = 5\nlimit = 6\n",
	     "e.test.conf:3: [relay] limit: key given twice"},
	};

	write_main(fx, "");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PcConfig) config = NULL;
		g_autofree char *path = g_build_filename(fx->domains, cases[i].file, NULL);

		write_domain(fx, cases[i].file, cases[i].body);
		config = pc_config_load(fx->path, &test_schema, &error);
		g_assert_null(config);
		if (strstr(error->message, cases[i].want) == NULL)
			g_error("%s: '%s' does not contain '%s'", cases[i].file, error->message,
				cases[i].want);
		g_unlink(path);
	}
}

static void
test_domains_unreadable(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *path = g_build_filename(fx->domains, "locked.test.conf", NULL);

	if (geteuid() == 0) {
		/* root reads mode 000 files; an unreadable directory entry is a dangling link */
		g_assert_cmpint(symlink("/nonexistent/file", path), ==, 0);
	} else {
		write_domain(fx, "locked.test.conf", "[relay]\n");
		g_assert_cmpint(chmod(path, 0), ==, 0);
	}
	write_main(fx, "");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_null(config);
	g_assert_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_IO);
	g_assert_nonnull(strstr(error->message, "locked.test.conf"));
}

static void
test_domains_dir_missing(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *text = g_strdup_printf("[global]\ndomains_dir = %s/nope\n", fx->dir);

	/* a directory the admin named must exist */
	g_assert_true(g_file_set_contents(fx->path, text, -1, NULL));
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_null(config);
	g_assert_nonnull(strstr(error->message, "[global] domains_dir"));
}

static void
test_listeners(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const PcListener *listener;

	write_main(fx, "[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
		       "[listener.submission]\nrole = submission\nports = 587; 10587\n"
		       "daemon_names = ORIGINATING\n"
		       "[listener.smtps]\nrole = smtps\nports = 465\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(pc_config_get_n_listeners(config), ==, 3);

	listener = pc_config_find_listener(config, "ORIGINATING", 25);
	g_assert_cmpstr(listener->name, ==, "submission"); /* the name wins over the port */
	listener = pc_config_find_listener(config, NULL, 10587);
	g_assert_cmpint(listener->role, ==, PC_ROLE_SUBMISSION);
	listener = pc_config_find_listener(config, "mail.example.com", 465);
	g_assert_cmpint(listener->role, ==, PC_ROLE_SMTPS);
	g_assert_null(pc_config_find_listener(config, "OTHER", 2525));
	g_assert_null(pc_config_find_listener(config, NULL, -1));
}

static gpointer
acquire_loop(gpointer data)
{
	PcConfigSlot *slot = data;

	for (int i = 0; i < 20000; i++) {
		g_autoptr(PcConfig) config = pc_config_slot_acquire(slot);

		g_assert_nonnull(pc_config_get_global(config)->store);
	}
	return NULL;
}

static void
test_slot(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PcConfigSlot slot;
	GThread *threads[3];

	write_main(fx, "");
	{
		g_autoptr(PcConfig) first = pc_config_load(fx->path, &test_schema, &error);

		g_assert_no_error(error);
		pc_config_slot_init(&slot, first);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("acquire", acquire_loop, &slot);
	/* swap snapshots while readers take and drop references */
	for (int i = 0; i < 200; i++) {
		g_autoptr(PcConfig) next = pc_config_load(fx->path, &test_schema, &error);

		g_assert_no_error(error);
		pc_config_slot_replace(&slot, next);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
		g_thread_join(threads[i]);
	pc_config_slot_clear(&slot);
}

static void
test_describe(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *text = NULL;

	write_main(fx, "[relay]\nlimit = 7\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	text = pc_config_describe(config);
	g_assert_nonnull(strstr(text, "[relay]\n"));
	g_assert_nonnull(strstr(text, "limit = 7\n"));
	g_assert_nonnull(strstr(text, "window = 10m\n"));
	g_assert_nonnull(strstr(text, "mode = tempfail\n"));
}

/*
 * --- rates, durations in ms, multi-section and extra schemas ---
 */

static void
test_parse_duration_ms(void)
{
	gint64 value = 0;
	g_autoptr(GError) error = NULL;

	g_assert_true(pc_config_parse_duration("50ms", &value, NULL));
	g_assert_cmpint(value, ==, 50000);
	g_assert_true(pc_config_parse_duration("0ms", &value, NULL));
	g_assert_cmpint(value, ==, 0);
	g_assert_false(pc_config_parse_duration("ms", &value, NULL));
	g_assert_false(pc_config_parse_duration("5.5ms", &value, NULL));
	g_assert_false(pc_config_parse_duration("5mms", &value, &error));
	g_assert_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE);
	g_assert_cmpstr(error->message, ==, "'5mms' is not a duration (units: ms s m h d w)");
}

typedef struct {
	const char *label;
	const char *input;
	gsize want_n;
	PcConfigRateWindow want[3];
	const char *want_error; /* substring; NULL: parses */
} RateParseCase;

static const RateParseCase rate_parse_cases[] = {
    {.label = "one", .input = "500/1h", .want_n = 1, .want = {{500, PC_USEC(3600)}}},
    {.label = "three",
     .input = "60/1m; 500/1h; 2000/1d",
     .want_n = 3,
     .want = {{60, PC_USEC(60)}, {500, PC_USEC(3600)}, {2000, PC_USEC(86400)}}},
    {.label = "bare-unit", .input = "60/m", .want_n = 1, .want = {{60, PC_USEC(60)}}},
    {.label = "seconds", .input = "5/90", .want_n = 1, .want = {{5, PC_USEC(90)}}},
    {.label = "size-suffix",
     .input = "100M/1h",
     .want_n = 1,
     .want = {{100 * 1024 * 1024, PC_USEC(3600)}}},
    {.label = "commas",
     .input = "1/1s,2/1m",
     .want_n = 2,
     .want = {{1, PC_USEC(1)}, {2, PC_USEC(60)}}},
    {.label = "empty", .input = "", .want_error = "no rate given"},
    {.label = "no-slash", .input = "500", .want_error = "'500' is not a rate (N/PERIOD"},
    {.label = "no-period", .input = "500/", .want_error = "'500/' is not a rate"},
    {.label = "no-count", .input = "/1h", .want_error = "'/1h' is not a rate"},
    {.label = "bad-unit", .input = "5/1x", .want_error = "'5/1x' is not a rate"},
    {.label = "zero-count",
     .input = "0/1h",
     .want_error = "'0/1h': count 0 is out of range 1..1073741824"},
    {.label = "too-many", .input = "2G/1h", .want_error = "count 2147483648 is out of range"},
    {.label = "zero-period", .input = "5/0s", .want_error = "'5/0s': the period must be 1s..366d"},
    {.label = "long-period", .input = "5/400d", .want_error = "the period must be 1s..366d"},
    {.label = "duplicate-period",
     .input = "5/1h; 6/60m",
     .want_error = "'6/60m': two windows with the same period"},
    {.label = "nine-windows",
     .input = "1/1s 2/2s 3/3s 4/4s 5/5s 6/6s 7/7s 8/8s 9/9s",
     .want_error = "more than 8 windows"},
};

static void
test_parse_rate(gconstpointer data)
{
	const RateParseCase *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) windows = NULL;
	gboolean ok =
	    pc_config_parse_rate(c->input, 1, G_GINT64_CONSTANT(1) << 30, &windows, &error);

	if (c->want_error != NULL) {
		g_assert_false(ok);
		g_assert_null(windows);
		if (strstr(error->message, c->want_error) == NULL)
			g_error("%s: '%s' does not contain '%s'", c->label, error->message,
				c->want_error);
		return;
	}
	g_assert_no_error(error);
	g_assert_cmpuint(windows->len, ==, c->want_n);
	for (guint i = 0; i < windows->len; i++) {
		g_assert_cmpint(g_array_index(windows, PcConfigRateWindow, i).count, ==,
				c->want[i].count);
		g_assert_cmpint(g_array_index(windows, PcConfigRateWindow, i).period_us, ==,
				c->want[i].period_us);
	}
}

/* a multi-section schema and a single one, as portcullis-rate declares them */
typedef struct {
	GArray *rate;
	gint64 burst;
	int mode;
	char **roles;
} TestLimit;

static const PcConfigKey test_limit_keys[] = {
    {"rate", PC_CONFIG_RATE, NULL, 1, G_GINT64_CONSTANT(1) << 40, NULL,
     G_STRUCT_OFFSET(TestLimit, rate), PC_CONFIG_KEY_PER_DOMAIN, "windows"},
    {"burst", PC_CONFIG_INT, "0", 0, 1000000, NULL, G_STRUCT_OFFSET(TestLimit, burst),
     PC_CONFIG_KEY_PER_DOMAIN, "burst"},
    {"mode", PC_CONFIG_ENUM, "tempfail", 0, 0, mode_choices, G_STRUCT_OFFSET(TestLimit, mode), 0,
     "an enum"},
    {"roles", PC_CONFIG_STRING_LIST, "", 0, 0, NULL, G_STRUCT_OFFSET(TestLimit, roles), 0,
     "a list"},
};

static gboolean
test_limit_check(gconstpointer data, GError **error)
{
	const TestLimit *limit = data;

	if (limit->rate == NULL) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE, "rate: required");
		return FALSE;
	}
	return TRUE;
}

static const PcConfigSchema test_limit_schema = {
    .name = "rate",
    .keys = test_limit_keys,
    .n_keys = G_N_ELEMENTS(test_limit_keys),
    .size = sizeof(TestLimit),
    .check = test_limit_check,
    .multi = TRUE,
};

typedef struct {
	gboolean enabled;
	gint64 delay;
} TestGrey;

static const PcConfigKey test_grey_keys[] = {
    {"enabled", PC_CONFIG_BOOL, "no", 0, 0, NULL, G_STRUCT_OFFSET(TestGrey, enabled),
     PC_CONFIG_KEY_PER_DOMAIN, "a boolean"},
    {"delay", PC_CONFIG_DURATION, "5m", PC_USEC(1), PC_USEC(86400), NULL,
     G_STRUCT_OFFSET(TestGrey, delay), 0, "a duration"},
};

static const PcConfigSchema test_grey_schema = {
    .name = "greylist",
    .keys = test_grey_keys,
    .n_keys = G_N_ELEMENTS(test_grey_keys),
    .size = sizeof(TestGrey),
};

static const PcConfigSchema *const test_extras[] = {&test_limit_schema, &test_grey_schema, NULL};

static gint64
first_count(gconstpointer limit)
{
	return g_array_index(((const TestLimit *)limit)->rate, PcConfigRateWindow, 0).count;
}

static void
test_multi_sections(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const PcConfigSection *sections;
	const TestGrey *grey;
	guint n = 0;

	write_main(fx, "[relay]\nlimit = 7\n"
		       "[rate.per_login]\nrate = 500/1h\nburst = 50\nroles = submission; smtps\n"
		       "[greylist]\nenabled = yes\n"
		       "[rate.b-2]\nrate = 60/1m; 2000/1d\nmode = accept\n");
	config = pc_config_load_full(fx->path, &test_schema, test_extras, &error);
	g_assert_no_error(error);
	/* the daemon's own section is read as before */
	g_assert_cmpint(((const TestSection *)pc_config_get_section(config))->limit, ==, 7);

	sections = pc_config_get_sections(config, "rate", &n);
	g_assert_cmpuint(n, ==, 2);
	/* file order, the name after the dot */
	g_assert_cmpstr(sections[0].name, ==, "per_login");
	g_assert_cmpstr(sections[0].group, ==, "rate.per_login");
	g_assert_cmpint(first_count(sections[0].data), ==, 500);
	g_assert_cmpint(((const TestLimit *)sections[0].data)->burst, ==, 50);
	g_assert_cmpuint(g_strv_length(((const TestLimit *)sections[0].data)->roles), ==, 2);
	g_assert_cmpstr(sections[1].name, ==, "b-2");
	g_assert_cmpuint(((const TestLimit *)sections[1].data)->rate->len, ==, 2);
	g_assert_cmpint(((const TestLimit *)sections[1].data)->mode, ==, 1);

	sections = pc_config_get_sections(config, "greylist", &n);
	g_assert_cmpuint(n, ==, 1);
	grey = sections[0].data;
	g_assert_true(grey->enabled);
	g_assert_cmpint(grey->delay, ==, PC_USEC(300));
	g_assert_true(pc_config_get_domain_group(config, "greylist", NULL) == grey);
	g_assert_null(pc_config_get_sections(config, "nothing", &n));
	g_assert_cmpuint(n, ==, 0);
	g_assert_null(pc_config_get_domain_group(config, "rate.nothing", NULL));
}

static void
test_multi_absent(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const PcConfigSection *sections;
	guint n = 5;

	/* no limits at all; the single section exists with its defaults */
	write_main(fx, "");
	config = pc_config_load_full(fx->path, &test_schema, test_extras, &error);
	g_assert_no_error(error);
	g_assert_null(pc_config_get_sections(config, "rate", &n));
	g_assert_cmpuint(n, ==, 0);
	sections = pc_config_get_sections(config, "greylist", &n);
	g_assert_cmpuint(n, ==, 1);
	g_assert_false(((const TestGrey *)sections[0].data)->enabled);
}

static const ErrorCase multi_error_cases[] = {
    {.label = "rate-missing",
     .body = "[rate.a]\nburst = 5\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = "portcullis.conf:4: [rate.a]: rate: required"},
    {.label = "bad-rate",
     .body = "[rate.a]\nrate = 5 per hour\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = "portcullis.conf:5: [rate.a] rate: '5' is not a rate"},
    {.label = "unknown-key",
     .body = "[rate.a]\nrate = 5/1h\nrat = 6/1h\n",
     .code = PC_CONFIG_ERROR_UNKNOWN_KEY,
     .want = "portcullis.conf:6: [rate.a] rat: unknown key"},
    {.label = "bad-label",
     .body = "[rate.a b]\nrate = 5/1h\n",
     .code = PC_CONFIG_ERROR_UNKNOWN_SECTION,
     .want = ":4: [rate.a b]: the name after 'rate.' must be"},
    {.label = "greylist-key",
     .body = "[greylist]\ndelay = 2q\n",
     .code = PC_CONFIG_ERROR_VALUE,
     .want = ":5: [greylist] delay: '2q' is not a duration"},
    {.label = "duplicate-limit",
     .body = "[rate.a]\nrate = 5/1h\n[rate.a]\nrate = 6/1h\n",
     .code = PC_CONFIG_ERROR_DUPLICATE,
     .want = ":6: [rate.a]: section given twice"},
};

static void
test_multi_errors(Fixture *fx, gconstpointer data)
{
	for (gsize i = 0; i < G_N_ELEMENTS(multi_error_cases); i++) {
		const ErrorCase *c = &multi_error_cases[i];
		g_autoptr(GError) error = NULL;
		g_autoptr(PcConfig) config = NULL;

		g_test_message("case %s", c->label);
		write_main(fx, c->body);
		config = pc_config_load_full(fx->path, &test_schema, test_extras, &error);
		g_assert_null(config);
		g_assert_error(error, PC_CONFIG_ERROR, (int)c->code);
		if (strstr(error->message, c->want) == NULL)
			g_error("case %s: '%s' does not contain '%s'", c->label, error->message,
				c->want);
	}
}

static void
test_multi_domains(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	const PcConfigSection *sections;
	const TestLimit *limit;
	guint n = 0;

	write_main(fx, "[rate.per_login]\nrate = 500/1h\nburst = 50\nmode = accept\n"
		       "[rate.other]\nrate = 5/1m\n");
	/* a hosting customer's quota: its own rate, the rest from the main file */
	write_domain(fx, "customer.test.conf",
		     "[rate.per_login]\nrate = 2000/1h; 10000/1d\n"
		     "[greylist]\nenabled = yes\n");
	config = pc_config_load_full(fx->path, &test_schema, test_extras, &error);
	g_assert_no_error(error);
	sections = pc_config_get_sections(config, "rate", &n);
	g_assert_cmpuint(n, ==, 2);

	limit = pc_config_get_domain_group(config, "rate.per_login", "customer.test");
	g_assert_true(limit != sections[0].data);
	g_assert_cmpuint(limit->rate->len, ==, 2);
	g_assert_cmpint(first_count(limit), ==, 2000);
	g_assert_cmpint(limit->burst, ==, 50);
	g_assert_cmpint(limit->mode, ==, 1);
	/* sections the domain file does not name, and other domains, get the main file's */
	g_assert_true(pc_config_get_domain_group(config, "rate.other", "customer.test") ==
		      sections[1].data);
	g_assert_true(pc_config_get_domain_group(config, "rate.per_login", "else.test") ==
		      sections[0].data);
	g_assert_true(
	    ((const TestGrey *)pc_config_get_domain_group(config, "greylist", "customer.test"))
		->enabled);
	g_assert_false(
	    ((const TestGrey *)pc_config_get_domain_group(config, "greylist", NULL))->enabled);
}

static void
test_multi_domain_errors(Fixture *fx, gconstpointer data)
{
	static const struct {
		const char *file;
		const char *body;
		const char *want;
	} cases[] = {
	    {"a.test.conf", "[rate.per_login]\nmode = accept\n",
	     "a.test.conf:2: [rate.per_login] mode: this key cannot be set per domain"},
	    {"b.test.conf", "[rate.nope]\nrate = 5/1h\n",
	     "b.test.conf:1: [rate.nope]: no such section in the main file"},
	    {"c.test.conf", "[rate.per_login]\nrate = lots\n",
	     "c.test.conf:2: [rate.per_login] rate: 'lots' is not a rate"},
	    {"d.test.conf", "[greylist]\ndelay = 1m\n",
	     "d.test.conf:2: [greylist] delay: this key cannot be set per domain"},
	};

	write_main(fx, "[rate.per_login]\nrate = 500/1h\n");
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(PcConfig) config = NULL;
		g_autofree char *path = g_build_filename(fx->domains, cases[i].file, NULL);

		write_domain(fx, cases[i].file, cases[i].body);
		config = pc_config_load_full(fx->path, &test_schema, test_extras, &error);
		g_assert_null(config);
		if (strstr(error->message, cases[i].want) == NULL)
			g_error("%s: '%s' does not contain '%s'", cases[i].file, error->message,
				cases[i].want);
		g_unlink(path);
	}
}

static void
test_multi_describe(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *text = NULL;

	write_main(fx, "store_timeout = 20ms\n[rate.a]\nrate = 60/1m; 500/1h; 2000/1d; 7/90s\n");
	config = pc_config_load_full(fx->path, &test_schema, test_extras, &error);
	g_assert_no_error(error);
	text = pc_config_describe(config);
	g_assert_nonnull(strstr(text, "store_timeout = 20ms\n"));
	g_assert_nonnull(strstr(text, "[rate.a]\nrate = 60/1m; 500/1h; 2000/1d; 7/90s\n"));
	g_assert_nonnull(strstr(text, "[greylist]\nenabled = no\ndelay = 5m\n"));
}

/* a daemon that declares no extra schema still accepts [rate.NAME] without reading it */
static void
test_multi_ignored_by_others(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	guint n = 9;

	write_main(fx, "[rate.a]\nrate = not even valid\n[greylist]\nbogus = 1\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	g_assert_null(pc_config_get_sections(config, "rate", &n));
	g_assert_cmpuint(n, ==, 0);
}

/* --- objects owned by a snapshot (build/clear), errors reported all at once, restart keys --- */

typedef struct {
	char *name;
	char *path;	 /* the "file" the object is built from */
	char *object;	 /* what build made: a copy of path, or shared text */
	gboolean shared; /* taken from the main section */
} BuiltSection;

static const PcConfigKey built_keys[] = {
    {"name", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(BuiltSection, name),
     PC_CONFIG_KEY_PER_DOMAIN, "a per-domain string"},
    {"path", PC_CONFIG_STRING, "", 0, 0, NULL, G_STRUCT_OFFSET(BuiltSection, path), 0,
     "what build reads"},
};

static gint built_live; /* objects built and not yet cleared */

static gboolean
built_build(gpointer section, gconstpointer main_section, GError **error)
{
	BuiltSection *built = section;
	const BuiltSection *main_built = main_section;

	if (built->path != NULL && strcmp(built->path, "fail") == 0) {
		g_set_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE, "path: cannot build");
		return FALSE;
	}
	if (main_built != NULL && g_strcmp0(main_built->path, built->path) == 0) {
		built->object = main_built->object;
		built->shared = TRUE;
		return TRUE;
	}
	built->object = g_strdup(built->path != NULL ? built->path : "none");
	g_atomic_int_inc(&built_live);
	return TRUE;
}

static void
built_clear(gpointer section)
{
	BuiltSection *built = section;

	if (built->object != NULL && !built->shared) {
		g_free(built->object);
		g_atomic_int_add(&built_live, -1);
	}
	built->object = NULL;
}

static const PcConfigSchema built_schema = {
    .name = "sign",
    .keys = built_keys,
    .n_keys = G_N_ELEMENTS(built_keys),
    .size = sizeof(BuiltSection),
    .build = built_build,
    .clear = built_clear,
    .on_error_default = "accept",
};

/* where each value comes from: the domain file's line, else the main file's, else none */
static void
test_origins(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_autofree char *main_line = NULL;
	g_autofree char *user_line = NULL;
	g_autofree char *domain_line = NULL;
	g_autofree char *domain_path = g_build_filename(fx->domains, "example.org.conf", NULL);

	/* lines: 1 [global], 2 domains_dir, 3 user, 4 [sign], 5 path */
	write_main(fx, "[sign]\npath = /keys/a\n");
	write_domain(fx, "example.org.conf", "# a comment\n[sign]\nname = org\n");
	config = pc_config_load(fx->path, &built_schema, &error);
	g_assert_no_error(error);
	main_line = g_strdup_printf("%s:5", fx->path);
	user_line = g_strdup_printf("%s:3", fx->path);
	domain_line = g_strdup_printf("%s:3", domain_path);
	g_assert_cmpstr(pc_config_get_origin(config, "sign", "path", NULL), ==, main_line);
	g_assert_cmpstr(pc_config_get_origin(config, "global", "user", NULL), ==, user_line);
	/* a domain's own value, and the main file's where the domain sets nothing */
	g_assert_cmpstr(pc_config_get_origin(config, "sign", "name", "example.org"), ==,
			domain_line);
	g_assert_cmpstr(pc_config_get_origin(config, "sign", "path", "example.org"), ==, main_line);
	g_assert_cmpstr(pc_config_get_origin(config, "sign", "path", "other.org"), ==, main_line);
	/* a default: set nowhere */
	g_assert_null(pc_config_get_origin(config, "sign", "name", NULL));
	g_assert_null(pc_config_get_origin(config, "global", "store", "example.org"));
}

static void
test_build_clear(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	PcConfig *config;
	const BuiltSection *main_section;
	const BuiltSection *domain_section;

	built_live = 0;
	write_main(fx, "[sign]\npath = /keys/a\n");
	write_domain(fx, "example.org.conf", "[sign]\nname = org\n");
	config = pc_config_load(fx->path, &built_schema, &error);
	g_assert_no_error(error);
	main_section = pc_config_get_section(config);
	domain_section = pc_config_get_domain_section(config, "example.org");
	g_assert_cmpstr(main_section->object, ==, "/keys/a");
	/* the override shares the main section's object: built once */
	g_assert_true(domain_section->object == main_section->object);
	g_assert_cmpint(built_live, ==, 1);
	/* the schema's on_error default */
	g_assert_cmpint(pc_config_get_daemon(config)->on_error, ==, PC_ON_ERROR_ACCEPT);
	pc_config_unref(config);
	g_assert_cmpint(built_live, ==, 0);

	/* a failed build fails the load, names file, the key's line and section, and leaks nothing
	 */
	write_main(fx, "[sign]\npath = fail\n");
	config = pc_config_load(fx->path, &built_schema, &error);
	g_assert_null(config);
	g_assert_error(error, PC_CONFIG_ERROR, PC_CONFIG_ERROR_VALUE);
	g_assert_nonnull(strstr(error->message, "portcullis.conf:5: [sign]: path: cannot build"));
	/* ... once, though a domain file's section is built again with the main file's value */
	g_clear_error(&error);
	write_domain(fx, "example.org.conf", "[sign]\nname = org\n");
	config = pc_config_load(fx->path, &built_schema, &error);
	g_assert_null(config);
	g_assert_nonnull(strstr(error->message, "portcullis.conf:5: [sign]: path: cannot build"));
	g_assert_null(strchr(error->message, '\n'));
	g_assert_null(strstr(error->message, "example.org.conf"));
	g_assert_cmpint(built_live, ==, 0);
}

/* one load reports every error, each with file, line, section and key */
static void
test_all_errors(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) config = NULL;
	g_auto(GStrv) lines = NULL;

	write_main(fx, "store_max_keys = lots\n"
		       "[listener.mx]\nrole = nowhere\nports = 25\n"
		       "[relay]\nlimit = 1000\nno_such_key = 1\n"
		       "[bogus]\n");
	write_domain(fx, "example.org.conf", "[relay]\nlimit = 0\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_null(config);
	lines = g_strsplit(error->message, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 6);
	g_assert_nonnull(strstr(error->message, "portcullis.conf:4: [global] store_max_keys: "));
	g_assert_nonnull(strstr(error->message, "portcullis.conf:6: [listener.mx] role: "));
	g_assert_nonnull(strstr(error->message, "portcullis.conf:9: [relay] limit: "));
	g_assert_nonnull(
	    strstr(error->message, "portcullis.conf:10: [relay] no_such_key: unknown key"));
	g_assert_nonnull(strstr(error->message, "portcullis.conf:11: [bogus]: unknown section"));
	g_assert_nonnull(strstr(error->message, "example.org.conf:2: [relay] limit: "));
}

/* -n's view: the file as each daemon would load it, every distinct error once */
static void
test_check_all(Fixture *fx, gconstpointer data)
{
	const PcConfigDaemonSchemas daemons[] = {
	    {.schema = &test_schema},
	    {.schema = &built_schema},
	    {.schema = NULL},
	};
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) lines = NULL;

	write_main(fx, "[relay]\nlimit = 5\n");
	g_assert_true(pc_config_check_all(fx->path, daemons, &error));
	g_assert_no_error(error);
	/* an error in [global] is reported once; the other daemon's section is checked too */
	write_main(fx, "store_max_keys = lots\n[relay]\nlimit = 5\n[sign]\npath = fail\n");
	g_assert_false(pc_config_check_all(fx->path, daemons, &error));
	lines = g_strsplit(error->message, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 2);
	g_assert_nonnull(strstr(error->message, "[global] store_max_keys"));
	g_assert_nonnull(strstr(error->message, "[sign]: path: cannot build"));
}

/* a reload that changes a restart-only key keeps the running value, and says so */
static void
test_restart_values(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(PcConfig) running = NULL;
	g_autoptr(PcConfig) config = NULL;

	write_main(fx, "store = memory\nstore_max_keys = 5000\nmilter_timeout = 2m\n"
		       "[relay]\nsocket = unix:/run/a.sock\nlimit = 5\n");
	running = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	write_main(fx, "store = redis://127.0.0.1:6379/0\nstore_max_keys = 5000\n"
		       "milter_timeout = 5m\n[relay]\nsocket = unix:/run/b.sock\nlimit = 7\n");
	config = pc_config_load(fx->path, &test_schema, &error);
	g_assert_no_error(error);
	g_test_expect_message("portcullis", G_LOG_LEVEL_WARNING,
			      "reload: [global] store changed: takes effect at restart*");
	g_test_expect_message("portcullis", G_LOG_LEVEL_WARNING,
			      "reload: [global] milter_timeout changed: takes effect at restart*");
	g_test_expect_message("portcullis", G_LOG_LEVEL_WARNING,
			      "reload: [relay] socket changed: takes effect at restart*");
	g_assert_cmpuint(pc_config_keep_restart_values(config, running), ==, 3);
	g_test_assert_expected_messages();
	g_assert_cmpstr(pc_config_get_global(config)->store, ==, "memory");
	g_assert_cmpint(pc_config_get_global(config)->milter_timeout, ==, PC_USEC(120));
	g_assert_cmpstr(pc_config_get_daemon(config)->socket, ==, "unix:/run/a.sock");
	/* everything else is the new file's */
	g_assert_cmpint(((const TestSection *)pc_config_get_section(config))->limit, ==, 7);
	/* nothing changed: nothing said */
	g_assert_cmpuint(pc_config_keep_restart_values(config, running), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/pc/config/parse/duration", test_parse_duration);
	g_test_add_func("/pc/config/parse/size-bool", test_parse_size_bool);
	g_test_add_func("/pc/config/parse/split-list", test_split_list);
	g_test_add_func("/pc/config/load/missing-file", test_missing_file);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/pc/config/load/defaults", test_load_defaults);
	ADD("/pc/config/load/values", test_load_values);
	ADD("/pc/config/load/errors", test_load_errors);
	ADD("/pc/config/domains/overlay", test_domains_overlay);
	ADD("/pc/config/domains/errors", test_domains_errors);
	ADD("/pc/config/domains/unreadable", test_domains_unreadable);
	ADD("/pc/config/domains/dir-missing", test_domains_dir_missing);
	ADD("/pc/config/listeners", test_listeners);
	ADD("/pc/config/slot/concurrent", test_slot);
	ADD("/pc/config/describe", test_describe);
	ADD("/pc/config/multi/sections", test_multi_sections);
	ADD("/pc/config/multi/absent", test_multi_absent);
	ADD("/pc/config/multi/errors", test_multi_errors);
	ADD("/pc/config/multi/domains", test_multi_domains);
	ADD("/pc/config/multi/domain-errors", test_multi_domain_errors);
	ADD("/pc/config/multi/describe", test_multi_describe);
	ADD("/pc/config/multi/ignored-by-others", test_multi_ignored_by_others);
	ADD("/pc/config/build-clear", test_build_clear);
	ADD("/pc/config/origins", test_origins);
	ADD("/pc/config/all-errors", test_all_errors);
	ADD("/pc/config/check-all", test_check_all);
	ADD("/pc/config/restart-values", test_restart_values);
#undef ADD
	g_test_add_func("/pc/config/parse/duration-ms", test_parse_duration_ms);
	for (gsize i = 0; i < G_N_ELEMENTS(rate_parse_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/config/parse/rate/", rate_parse_cases[i].label, NULL);

		g_test_add_data_func(path, &rate_parse_cases[i], test_parse_rate);
	}
	return g_test_run();
}
