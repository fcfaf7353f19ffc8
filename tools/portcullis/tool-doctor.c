/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tool-doctor: see tool-doctor.h.
 */
#include "tool-doctor.h"

#include <stdlib.h>
#include <string.h>

#include "daemons.h"
#include "pc-net.h"

#define DOCTOR_ERROR (g_quark_from_static_string("tool-doctor"))
/* $name expansions followed at most (Postfix's own limit is similar) */
#define DOCTOR_MAX_DEPTH 20

static void
milter_free(gpointer data)
{
	ToolDoctorMilter *milter = data;

	g_free(milter->spec);
	g_free(milter->default_action);
	g_free(milter);
}

static void
listener_free(gpointer data)
{
	ToolDoctorListener *listener = data;

	g_free(listener->name);
	g_ptr_array_unref(listener->milters);
	g_free(listener->daemon_name);
	g_free(listener);
}

void
tool_doctor_mta_free(ToolDoctorMta *mta)
{
	if (mta == NULL)
		return;
	g_ptr_array_unref(mta->listeners);
	g_free(mta->queue_directory);
	g_free(mta->default_action);
	g_strfreev(mta->mynetworks);
	g_ptr_array_unref(mta->non_smtpd);
	g_free(mta);
}

static ToolDoctorMta *
mta_new(const char *name)
{
	ToolDoctorMta *mta = g_new0(ToolDoctorMta, 1);

	mta->mta = name;
	mta->listeners = g_ptr_array_new_with_free_func(listener_free);
	mta->non_smtpd = g_ptr_array_new_with_free_func(milter_free);
	return mta;
}

void
tool_doctor_finding_free(gpointer data)
{
	ToolDoctorFinding *finding = data;

	g_free(finding->text);
	g_free(finding);
}

/* --- Postfix --- */

/* "name = value" lines into a table */
static GHashTable *
read_parameters(const char *text)
{
	GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l != NULL; l++) {
		const char *equals = strstr(*l, " = ");
		g_autofree char *name = NULL;

		if (equals == NULL) {
			/* "name =" with an empty value */
			if (g_str_has_suffix(*l, " ="))
				g_hash_table_replace(table, g_strndup(*l, strlen(*l) - 2),
						     g_strdup(""));
			continue;
		}
		name = g_strstrip(g_strndup(*l, (gsize)(equals - *l)));
		g_hash_table_replace(table, g_steal_pointer(&name), g_strdup(equals + 3));
	}
	return table;
}

/* value with $name, ${name} and $(name) replaced, from overrides then main */
static char *
expand(const char *value, GHashTable *overrides, GHashTable *main_table, guint depth)
{
	GString *out = g_string_new(NULL);

	for (const char *p = value; *p != '\0'; p++) {
		const char *start, *end;
		g_autofree char *name = NULL;
		const char *found;

		if (*p != '$') {
			g_string_append_c(out, *p);
			continue;
		}
		if (p[1] == '{' || p[1] == '(') {
			char close = p[1] == '{' ? '}' : ')';

			start = p + 2;
			end = strchr(start, close);
			if (end == NULL) {
				g_string_append_c(out, *p);
				continue;
			}
			name = g_strndup(start, (gsize)(end - start));
			p = end;
		} else {
			start = p + 1;
			for (end = start; g_ascii_isalnum(*end) || *end == '_'; end++)
				;
			if (end == start) {
				g_string_append_c(out, *p);
				continue;
			}
			name = g_strndup(start, (gsize)(end - start));
			p = end - 1;
		}
		/* ${name?text} and ${name:text}: only the name is looked up here */
		name[strcspn(name, "?:")] = '\0';
		found = overrides != NULL ? g_hash_table_lookup(overrides, name) : NULL;
		if (found == NULL)
			found = g_hash_table_lookup(main_table, name);
		/* past the depth bound (a loop) the reference expands to nothing */
		if (found != NULL && depth + 1 < DOCTOR_MAX_DEPTH) {
			g_autofree char *inner = expand(found, overrides, main_table, depth + 1);

			g_string_append(out, inner);
		}
	}
	return g_string_free(out, FALSE);
}

/*
 * A Postfix milter list: items separated by blanks or commas, an item in
 * braces holding the spec and its settings ("{ unix:x, default_action=tempfail }").
 */
static GPtrArray *
read_milters(const char *list)
{
	GPtrArray *milters = g_ptr_array_new_with_free_func(milter_free);

	for (const char *p = list; *p != '\0';) {
		ToolDoctorMilter *milter;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		milter = g_new0(ToolDoctorMilter, 1);
		if (*p == '{') {
			const char *close = strchr(p, '}');
			g_autofree char *inside = g_strndup(
			    p + 1, close != NULL ? (gsize)(close - p - 1) : strlen(p + 1));
			g_auto(GStrv) parts = g_strsplit(inside, ",", -1);

			for (char **part = parts; *part != NULL; part++) {
				char *item = g_strstrip(*part);

				if (*item == '\0')
					continue;
				if (milter->spec == NULL)
					milter->spec = g_strdup(item);
				else if (g_str_has_prefix(item, "default_action"))
					milter->default_action = g_strstrip(g_strdup(
					    strchr(item, '=') != NULL ? strchr(item, '=') + 1
								      : ""));
			}
			p = close != NULL ? close + 1 : p + strlen(p);
		} else {
			gsize len = strcspn(p, " \t,\n");

			milter->spec = g_strndup(p, len);
			p += len;
		}
		if (milter->spec == NULL)
			milter_free(milter);
		else
			g_ptr_array_add(milters, milter);
	}
	return milters;
}

static guint
port_of(const char *service)
{
	static const struct {
		const char *name;
		guint port;
	} known[] = {{"smtp", 25}, {"submission", 587}, {"submissions", 465}, {"smtps", 465}};
	const char *colon = strrchr(service, ':');
	const char *port = colon != NULL ? colon + 1 : service;
	guint64 number;

	if (g_ascii_string_to_unsigned(port, 10, 1, 65535, &number, NULL))
		return (guint)number;
	for (gsize i = 0; i < G_N_ELEMENTS(known); i++) {
		if (strcmp(port, known[i].name) == 0)
			return known[i].port;
	}
	return 0;
}

/* one `postconf -M` line: an smtpd inet service into a listener, else NULL */
static ToolDoctorListener *
read_service(const char *line, GHashTable *main_table)
{
	g_auto(GStrv) fields = NULL;
	g_autoptr(GHashTable) overrides =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	ToolDoctorListener *listener;
	g_autofree char *milters = NULL;
	g_autofree char *command = NULL;
	int n = 0;

	if (!g_shell_parse_argv(line, &n, &fields, NULL) || n < 8 || strcmp(fields[1], "inet") != 0)
		return NULL;
	command = g_path_get_basename(fields[7]);
	if (strcmp(command, "smtpd") != 0)
		return NULL;
	for (int i = 8; i + 1 < n; i++) {
		const char *equals;

		if (strcmp(fields[i], "-o") != 0)
			continue;
		equals = strchr(fields[i + 1], '=');
		if (equals != NULL)
			g_hash_table_replace(
			    overrides,
			    g_strstrip(g_strndup(fields[i + 1], (gsize)(equals - fields[i + 1]))),
			    g_strstrip(g_strdup(equals + 1)));
		i++;
	}
	listener = g_new0(ToolDoctorListener, 1);
	listener->name = g_strdup(fields[0]);
	listener->port = port_of(fields[0]);
	listener->chroot = strcmp(fields[4], "y") == 0;
	milters = expand("$smtpd_milters", overrides, main_table, 0);
	listener->milters = read_milters(milters);
	listener->daemon_name = expand("$milter_macro_daemon_name", overrides, main_table, 0);
	{
		g_autofree char *action =
		    expand("$milter_default_action", overrides, main_table, 0);

		for (guint i = 0; i < listener->milters->len; i++) {
			ToolDoctorMilter *milter = g_ptr_array_index(listener->milters, i);

			if (milter->default_action == NULL)
				milter->default_action = g_strdup(action);
		}
	}
	return listener;
}

ToolDoctorMta *
tool_doctor_read_postfix(const char *main_all, const char *master, GError **error)
{
	g_autoptr(GHashTable) main_table = read_parameters(main_all);
	g_autoptr(ToolDoctorMta) mta = mta_new("postfix");
	g_auto(GStrv) lines = g_strsplit(master, "\n", -1);
	g_autofree char *mynetworks = NULL;
	g_autofree char *non_smtpd = NULL;

	if (!g_hash_table_contains(main_table, "queue_directory")) {
		g_set_error_literal(error, DOCTOR_ERROR, 0,
				    "postconf gave no queue_directory: not Postfix's parameters");
		return NULL;
	}
	mta->queue_directory = expand("$queue_directory", NULL, main_table, 0);
	mta->default_action = expand("$milter_default_action", NULL, main_table, 0);
	mynetworks = expand("$mynetworks", NULL, main_table, 0);
	mta->mynetworks = g_strsplit_set(mynetworks, " ,\t", -1);
	non_smtpd = expand("$non_smtpd_milters", NULL, main_table, 0);
	g_ptr_array_unref(mta->non_smtpd);
	mta->non_smtpd = read_milters(non_smtpd);
	for (char **l = lines; *l != NULL; l++) {
		ToolDoctorListener *listener = read_service(*l, main_table);

		if (listener != NULL)
			g_ptr_array_add(mta->listeners, listener);
	}
	return g_steal_pointer(&mta);
}

/* --- Sendmail --- */

/* the value of KEY= in a "K=v, K=v" list, or NULL */
static char *
option_value(const char *list, const char *key)
{
	g_auto(GStrv) parts = g_strsplit(list, ",", -1);
	gsize key_len = strlen(key);

	for (char **part = parts; *part != NULL; part++) {
		const char *item = g_strstrip(*part);

		if (g_ascii_strncasecmp(item, key, key_len) == 0 && item[key_len] == '=')
			return g_strdup(item + key_len + 1);
	}
	return NULL;
}

ToolDoctorMta *
tool_doctor_read_sendmail(const char *cf, GError **error)
{
	g_autoptr(ToolDoctorMta) mta = mta_new("sendmail");
	g_auto(GStrv) lines = g_strsplit(cf, "\n", -1);
	g_autoptr(GHashTable) filters =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, milter_free);
	g_auto(GStrv) active = NULL;
	gboolean any_daemon = FALSE;

	for (char **l = lines; *l != NULL; l++) {
		const char *line = *l;

		if (line[0] == 'X') {
			const char *comma = strchr(line, ',');
			g_autofree char *name =
			    g_strstrip(g_strndup(line + 1, comma != NULL ? (gsize)(comma - line - 1)
									 : strlen(line + 1)));
			ToolDoctorMilter *milter = g_new0(ToolDoctorMilter, 1);
			g_autofree char *flags =
			    comma != NULL ? option_value(comma + 1, "F") : NULL;

			milter->spec = comma != NULL ? option_value(comma + 1, "S") : NULL;
			if (milter->spec == NULL)
				milter->spec = g_strdup("");
			/* F=T tempfail, F=R reject, neither: the message goes on unchecked */
			milter->default_action =
			    g_strdup(flags != NULL && strchr(flags, 'T') != NULL   ? "tempfail"
				     : flags != NULL && strchr(flags, 'R') != NULL ? "reject"
										   : "accept");
			g_hash_table_replace(filters, g_steal_pointer(&name), milter);
		} else if (g_str_has_prefix(line, "O InputMailFilters=")) {
			g_strfreev(active);
			active = g_strsplit(line + strlen("O InputMailFilters="), ",", -1);
		}
	}
	for (char **l = lines; *l != NULL; l++) {
		ToolDoctorListener *listener;
		g_autofree char *port = NULL;
		g_autofree char *name = NULL;

		if (!g_str_has_prefix(*l, "O DaemonPortOptions="))
			continue;
		any_daemon = TRUE;
		port = option_value(*l + strlen("O DaemonPortOptions="), "Port");
		name = option_value(*l + strlen("O DaemonPortOptions="), "Name");
		listener = g_new0(ToolDoctorListener, 1);
		listener->name = g_strdup(name != NULL ? name : "MTA");
		listener->port = port != NULL ? port_of(port) : 25;
		listener->daemon_name = g_strdup(listener->name);
		listener->milters = g_ptr_array_new_with_free_func(milter_free);
		/* Sendmail applies every InputMailFilters filter to every daemon */
		for (char **f = active; f != NULL && *f != NULL; f++) {
			ToolDoctorMilter *filter = g_hash_table_lookup(filters, g_strstrip(*f));
			ToolDoctorMilter *copy;

			if (filter == NULL)
				continue;
			copy = g_new0(ToolDoctorMilter, 1);
			copy->spec = g_strdup(filter->spec);
			copy->default_action = g_strdup(filter->default_action);
			g_ptr_array_add(listener->milters, copy);
		}
		g_ptr_array_add(mta->listeners, listener);
	}
	if (!any_daemon) {
		g_set_error_literal(
		    error, DOCTOR_ERROR, 0,
		    "no DaemonPortOptions: not a sendmail.cf (or one that listens nowhere)");
		return NULL;
	}
	return g_steal_pointer(&mta);
}

/* --- judging --- */

/* "/a//b/./c" as one spelling, for comparing paths that need not exist */
static char *
clean_path(const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	GString *out = g_string_new(NULL);

	for (char **part = parts; *part != NULL; part++) {
		if (**part == '\0' || strcmp(*part, ".") == 0)
			continue;
		g_string_append_printf(out, "/%s", *part);
	}
	return g_string_free(out, FALSE);
}

char *
tool_doctor_socket_path(const ToolDoctorMta *mta, const ToolDoctorListener *listener,
			const char *spec)
{
	const char *path;

	if (g_str_has_prefix(spec, "unix:"))
		path = spec + 5;
	else if (g_str_has_prefix(spec, "local:"))
		path = spec + 6;
	else if (spec[0] == '/')
		path = spec;
	else
		return NULL;
	/* Postfix: relative to the queue directory, and a chrooted smtpd sees it as / */
	if (mta->queue_directory != NULL &&
	    (path[0] != '/' || (listener != NULL && listener->chroot))) {
		g_autofree char *joined = g_strconcat(mta->queue_directory, "/", path, NULL);

		return clean_path(joined);
	}
	return clean_path(path);
}

/* an inet spec as HOST:PORT ("inet:127.0.0.1:8891", "inet:8891@127.0.0.1", "inet:8891") */
static char *
inet_key(const char *spec)
{
	const char *rest;
	const char *at;

	if (g_str_has_prefix(spec, "inet:"))
		rest = spec + 5;
	else if (g_str_has_prefix(spec, "inet6:"))
		rest = spec + 6;
	else
		return NULL;
	at = strchr(rest, '@');
	if (at != NULL)
		return g_strdup_printf("%s:%.*s", at + 1, (int)(at - rest), rest);
	if (strchr(rest, ':') == NULL)
		return g_strdup_printf("localhost:%s", rest);
	return g_strdup(rest);
}

/* the milter spec, as the MTA's listener reaches it, is the socket ours listens on */
static gboolean
same_socket(const ToolDoctorMta *mta, const ToolDoctorListener *listener, const char *spec,
	    const char *ours_spec)
{
	g_autofree char *path = tool_doctor_socket_path(mta, listener, spec);
	g_autofree char *inet = path == NULL ? inet_key(spec) : NULL;
	g_autofree char *ours = NULL;

	if (ours_spec == NULL)
		return FALSE;
	if (path != NULL) {
		ToolDoctorMta plain = {0};

		ours = tool_doctor_socket_path(&plain, NULL, ours_spec);
		return ours != NULL && strcmp(ours, path) == 0;
	}
	if (inet != NULL) {
		ours = inet_key(ours_spec);
		return ours != NULL && g_ascii_strcasecmp(ours, inet) == 0;
	}
	return FALSE;
}

/* the index of the daemon whose socket the milter reaches, or -1 */
static int
daemon_of(const ToolDoctorMta *mta, const ToolDoctorListener *listener, const char *spec,
	  const char *const sockets[PORTCULLIS_N_DAEMONS])
{
	for (int i = 0; i < PORTCULLIS_N_DAEMONS; i++) {
		if (same_socket(mta, listener, spec, sockets[i]))
			return i;
	}
	return -1;
}

static void G_GNUC_PRINTF(3, 4)
    add(GPtrArray *findings, const char *severity, const char *format, ...)
{
	ToolDoctorFinding *finding = g_new0(ToolDoctorFinding, 1);
	va_list args;

	va_start(args, format);
	finding->severity = severity;
	finding->text = g_strdup_vprintf(format, args);
	va_end(args);
	g_ptr_array_add(findings, finding);
}

/* which daemons a role needs: relay, auth, rate, verify, sign */
static const gboolean needs[4][PORTCULLIS_N_DAEMONS] = {
    [PC_ROLE_MX] = {TRUE, TRUE, TRUE, TRUE, FALSE},
    [PC_ROLE_SUBMISSION] = {TRUE, TRUE, TRUE, FALSE, TRUE},
    [PC_ROLE_SMTPS] = {TRUE, TRUE, TRUE, FALSE, TRUE},
    [PC_ROLE_INTERNAL] = {TRUE, FALSE, TRUE, FALSE, FALSE},
};

/* a daemon attached twice (on its own and in the stack, or listed twice) */
static void
warn_twice(const ToolDoctorMta *mta, const ToolDoctorListener *listener, const char *name,
	   GPtrArray *findings)
{
	add(findings, "warning",
	    "%s listener %s: %s is attached twice (on its own and in portcullis-stack, or "
	    "listed twice): it judges every message twice, and rate limits count it twice",
	    mta->mta, listener->name, name);
}

/* the milter's default action while it is down: a finding unless tempfail */
static void
judge_default_action(const ToolDoctorMta *mta, const ToolDoctorListener *listener,
		     const ToolDoctorMilter *milter, const char *name, GPtrArray *findings)
{
	if (g_strcmp0(milter->default_action, "tempfail") == 0)
		return;
	add(findings, "error",
	    "%s listener %s: portcullis-%s's default action is %s: while the "
	    "daemon "
	    "is down mail is %s; make it tempfail",
	    mta->mta, listener->name, name,
	    milter->default_action != NULL ? milter->default_action : "accept",
	    g_strcmp0(milter->default_action, "reject") == 0 ? "refused" : "let through unchecked");
}

static void
judge_listener(const ToolDoctorMta *mta, const ToolDoctorListener *listener, const PcConfig *config,
	       const char *const sockets[PORTCULLIS_N_DAEMONS], const ToolDoctorStack *stack,
	       GPtrArray *findings)
{
	const PcListener *ours =
	    pc_config_find_listener(config, listener->daemon_name, listener->port);
	PcListenerRole role = ours != NULL ? (PcListenerRole)ours->role : PC_ROLE_MX;
	gboolean attached[PORTCULLIS_N_DAEMONS] = {FALSE};
	g_autoptr(GString) names = g_string_new(NULL);

	if (ours == NULL)
		add(findings, "warning",
		    "%s listener %s (port %u): {daemon_name} %s matches no [listener]: the daemons "
		    "judge it as mx",
		    mta->mta, listener->name, listener->port,
		    listener->daemon_name[0] != '\0' ? listener->daemon_name : "(empty)");
	for (guint i = 0; i < listener->milters->len; i++) {
		const ToolDoctorMilter *milter = g_ptr_array_index(listener->milters, i);
		int d = daemon_of(mta, listener, milter->spec, sockets);

		if (d < 0 && stack != NULL &&
		    same_socket(mta, listener, milter->spec, stack->socket)) {
			/* the stack attaches what it hosts */
			for (int h = 0; h < PORTCULLIS_N_DAEMONS; h++) {
				if (stack->hosts[h] && attached[h])
					warn_twice(mta, listener, portcullis_daemon_names[h],
						   findings);
				attached[h] |= stack->hosts[h];
			}
			g_string_append(names, " (portcullis-stack:");
			for (int h = 0; h < PORTCULLIS_N_DAEMONS; h++) {
				if (stack->hosts[h])
					g_string_append_printf(names, " %s",
							       portcullis_daemon_names[h]);
			}
			g_string_append(names, ")");
			judge_default_action(mta, listener, milter, "stack", findings);
			continue;
		}
		if (d < 0) {
			add(findings, "warning",
			    "%s listener %s: another milter is attached (%s): if it is OpenDKIM or "
			    "OpenDMARC, mail is signed or verified twice",
			    mta->mta, listener->name, milter->spec);
			continue;
		}
		if (attached[d])
			warn_twice(mta, listener, portcullis_daemon_names[d], findings);
		attached[d] = TRUE;
		g_string_append_printf(names, " %s", portcullis_daemon_names[d]);
		judge_default_action(mta, listener, milter, portcullis_daemon_names[d], findings);
	}
	for (int d = 0; d < PORTCULLIS_N_DAEMONS; d++) {
		if (needs[role][d] && !attached[d])
			add(findings, "error",
			    "%s listener %s (role %s): portcullis-%s is not attached%s", mta->mta,
			    listener->name, pc_listener_role_to_string(role),
			    portcullis_daemon_names[d],
			    sockets[d] == NULL ? " (and the configuration gives it no socket)"
					       : "");
	}
	add(findings, "ok", "%s listener %s (port %u, role %s, {daemon_name} %s):%s", mta->mta,
	    listener->name, listener->port, pc_listener_role_to_string(role), listener->daemon_name,
	    names->len > 0 ? names->str : " no Portcullis daemon");
}

/* items of a network list written as pc-net writes them; items that are not networks are left out
 */
static GHashTable *
network_set(const char *const *items, gboolean postfix)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (const char *const *item = items; item != NULL && *item != NULL; item++) {
		g_autofree char *text = g_strdup(*item);
		g_autoptr(PcNetList) list = NULL;
		char buf[PC_NET_ADDRESS_STRLEN + 8];
		const char *items_one[1];

		if (*text == '\0')
			continue;
		/* Postfix writes IPv6 as [::1]/128 */
		if (postfix && text[0] == '[') {
			char *close = strchr(text, ']');

			if (close != NULL)
				memmove(close, close + 1, strlen(close));
			memmove(text, text + 1, strlen(text));
		}
		items_one[0] = text;
		list = pc_net_list_parse(items_one, 1, NULL);
		if (list != NULL && pc_net_list_entry_to_string(list, 0, buf, sizeof(buf)) != NULL)
			g_hash_table_add(set, g_strdup(buf));
	}
	return set;
}

static void
judge_networks(const ToolDoctorMta *mta, const PcConfig *config, GPtrArray *findings)
{
	const PcGlobalConfig *global = pc_config_get_global(config);
	g_autoptr(GPtrArray) trusted = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) theirs = NULL;
	g_autoptr(GHashTable) ours = NULL;
	GHashTableIter iter;
	gpointer key;

	if (mta->mynetworks == NULL)
		return;
	for (guint i = 0; i < pc_net_list_length(global->trusted_networks); i++) {
		char buf[PC_NET_ADDRESS_STRLEN + 8];

		if (pc_net_list_entry_to_string(global->trusted_networks, i, buf, sizeof(buf)))
			g_ptr_array_add(trusted, g_strdup(buf));
	}
	g_ptr_array_add(trusted, NULL);
	theirs = network_set((const char *const *)mta->mynetworks, TRUE);
	ours = network_set((const char *const *)trusted->pdata, FALSE);
	g_hash_table_iter_init(&iter, theirs);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		if (!g_hash_table_contains(ours, key))
			add(findings, "warning",
			    "Postfix's mynetworks has %s, [global] trusted_networks does not: "
			    "Postfix "
			    "lets those clients relay, portcullis-relay judges them as outside",
			    (char *)key);
	}
	g_hash_table_iter_init(&iter, ours);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		if (!g_hash_table_contains(theirs, key))
			add(findings, "warning",
			    "[global] trusted_networks has %s, Postfix's mynetworks does not: the "
			    "daemons trust clients Postfix does not",
			    (char *)key);
	}
}

void
tool_doctor_judge(const ToolDoctorMta *mta, const PcConfig *config,
		  const char *const sockets[PORTCULLIS_N_DAEMONS], const ToolDoctorStack *stack,
		  GPtrArray *findings)
{
	g_return_if_fail(mta != NULL && config != NULL && findings != NULL);
	if (mta->listeners->len == 0)
		add(findings, "error", "%s has no smtpd listener at all", mta->mta);
	for (guint i = 0; i < mta->listeners->len; i++)
		judge_listener(mta, g_ptr_array_index(mta->listeners, i), config, sockets, stack,
			       findings);
	judge_networks(mta, config, findings);
}
