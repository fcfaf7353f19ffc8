/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-spf-macro: RFC 7208 7.4's examples (IPv4 and IPv6), the
 * other letters and escapes, what each kind of string accepts, and the
 * bounds (part counts, values, output, input).
 */
#include <string.h>

#include <glib.h>

#include "pc-spf-macro.h"

static guint p_calls;

static const char *
validated_name(gpointer data)
{
	p_calls++;
	return data;
}

/* RFC 7208 7.4: sender strong-bad@email.example.com, PTR name mx.example.org */
static PcSpfMacroContext
example_context(const char *ip)
{
	PcSpfMacroContext context = {
	    .sender = "strong-bad@email.example.com",
	    .local_part = "strong-bad",
	    .sender_domain = "email.example.com",
	    .domain = "email.example.com",
	    .helo = "mx.example.org",
	    .receiver = "mx.example.net",
	    .timestamp = 1700000000,
	    .validated_name = validated_name,
	    .validated_name_data = (gpointer) "mx.example.org",
	};

	g_assert_true(pc_net_address_parse(ip, &context.ip));
	return context;
}

typedef struct {
	const char *label;
	const char *ip;
	PcSpfMacroKind kind;
	const char *input;
	const char *want; /* NULL: an error */
	int want_code;
} ExpandCase;

static const ExpandCase expand_cases[] = {
    /* RFC 7208 7.4, the first table */
    {.label = "s", .input = "%{s}", .want = "strong-bad@email.example.com"},
    {.label = "o", .input = "%{o}", .want = "email.example.com"},
    {.label = "d", .input = "%{d}", .want = "email.example.com"},
    {.label = "d4", .input = "%{d4}", .want = "email.example.com"},
    {.label = "d3", .input = "%{d3}", .want = "email.example.com"},
    {.label = "d2", .input = "%{d2}", .want = "example.com"},
    {.label = "d1", .input = "%{d1}", .want = "com"},
    {.label = "dr", .input = "%{dr}", .want = "com.example.email"},
    {.label = "d2r", .input = "%{d2r}", .want = "example.email"},
    {.label = "l", .input = "%{l}", .want = "strong-bad"},
    {.label = "l-", .input = "%{l-}", .want = "strong.bad"},
    {.label = "lr", .input = "%{lr}", .want = "strong-bad"},
    {.label = "lr-", .input = "%{lr-}", .want = "bad.strong"},
    {.label = "l1r-", .input = "%{l1r-}", .want = "strong"},
    /* the second table */
    {.label = "ir v",
     .input = "%{ir}.%{v}._spf.%{d2}",
     .want = "3.2.0.192.in-addr._spf.example.com"},
    {.label = "lr- lp", .input = "%{lr-}.lp._spf.%{d2}", .want = "bad.strong.lp._spf.example.com"},
    {.label = "lr- ir",
     .input = "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
     .want = "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {.label = "ir l1r-",
     .input = "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
     .want = "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {.label = "d2 trusted",
     .input = "%{d2}.trusted-domains.example.net",
     .want = "example.com.trusted-domains.example.net"},
    {.label = "ipv6 ir",
     .ip = "2001:db8::cb01",
     .input = "%{ir}.%{v}._spf.%{d2}",
     .want =
	 "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
    /* the other letters */
    {.label = "h", .input = "%{h}", .want = "mx.example.org"},
    {.label = "p", .input = "%{p}.x.example", .want = "mx.example.org.x.example"},
    {.label = "i", .input = "%{i}", .want = "192.0.2.3"},
    {.label = "c v4", .kind = PC_SPF_MACRO_EXPLAIN, .input = "%{c}", .want = "192.0.2.3"},
    {.label = "c v6",
     .ip = "2001:db8::cb01",
     .kind = PC_SPF_MACRO_EXPLAIN,
     .input = "%{c}",
     .want = "2001:db8::cb01"},
    {.label = "r", .kind = PC_SPF_MACRO_EXPLAIN, .input = "%{r}", .want = "mx.example.net"},
    {.label = "t", .kind = PC_SPF_MACRO_EXPLAIN, .input = "%{t}", .want = "1700000000"},
    {.label = "v ip6", .ip = "2001:db8::1", .input = "%{v}.x.example", .want = "ip6.x.example"},
    /* an IPv4-mapped client is IPv4 */
    {.label = "mapped",
     .ip = "::ffff:192.0.2.3",
     .input = "%{v}.%{i}",
     .want = "in-addr.192.0.2.3"},
    /* escapes, upper case (URL-escaped), delimiters, digits */
    {.label = "escapes", .input = "a%%b%_c%-d.example", .want = "a%b c%20d.example"},
    {.label = "upper",
     .kind = PC_SPF_MACRO_EXPLAIN,
     .input = "%{S}",
     .want = "strong-bad%40email.example.com"},
    {.label = "upper d2", .input = "%{D2}", .want = "example.com"},
    {.label = "several delimiters", .input = "%{l2r+-=}", .want = "bad.strong"},
    {.label = "parts past the count", .input = "%{d99}", .want = "email.example.com"},
    {.label = "a huge count is all",
     .input = "%{d99999999999999999999}",
     .want = "email.example.com"},
    {.label = "leading zero", .input = "%{d01}", .want = "com"},
    {.label = "upper R", .input = "%{dR}", .want = "com.example.email"},
    {.label = "explain spaces",
     .kind = PC_SPF_MACRO_EXPLAIN,
     .input = "not %{l} from %{i}",
     .want = "not strong-bad from 192.0.2.3"},
    {.label = "a macro then a lone dot", .input = "%{d}.", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "domain with dot",
     .input = "x.%{d}.example.",
     .want = "x.email.example.com.example."},
    /* errors */
    {.label = "zero parts", .input = "%{d0}", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "unknown letter",
     .input = "%{a}.example.com",
     .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "c in a domain", .input = "%{c}.example.com", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "r in a domain", .input = "%{r}.example.com", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "t in a domain", .input = "%{t}.example.com", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "bare percent", .input = "%.example.com", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "percent at the end",
     .input = "x.example.com%",
     .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "paren", .input = "%(ir).example.com", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "unterminated", .input = "%{d2", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "bad delimiter", .input = "%{d2:}", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "r twice", .input = "%{drr}", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "no letter", .input = "%{}", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "space in a domain",
     .input = "a b.example.com",
     .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "tab in an explanation",
     .kind = PC_SPF_MACRO_EXPLAIN,
     .input = "a\tb",
     .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "8-bit",
     .kind = PC_SPF_MACRO_EXPLAIN,
     .input = "caf\xc3\xa9",
     .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "empty domain", .input = "", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "no top label", .input = "museum", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "numeric top label", .input = "a.123", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "dash top label", .input = "a.-com", .want_code = PC_SPF_MACRO_ERROR_SYNTAX},
    {.label = "dashes inside", .input = "a.xn--zckzah", .want = "a.xn--zckzah"},
    {.label = "digits and dash", .input = "a.1-2", .want = "a.1-2"},
    {.label = "ends in an escape", .input = "a%-", .want = "a%20"},
    {.label = "empty explanation", .kind = PC_SPF_MACRO_EXPLAIN, .input = "", .want = ""},
};

static void
test_expand(gconstpointer data)
{
	const ExpandCase *c = data;
	PcSpfMacroContext context = example_context(c->ip != NULL ? c->ip : "192.0.2.3");
	g_autoptr(GError) error = NULL;
	g_autofree char *got =
	    pc_spf_macro_expand(c->input, strlen(c->input), c->kind, &context, &error);

	if (c->want != NULL) {
		g_assert_no_error(error);
		g_assert_cmpstr(got, ==, c->want);
		g_assert_true(pc_spf_macro_check(c->input, strlen(c->input), c->kind, NULL));
	} else {
		g_assert_null(got);
		g_assert_error(error, PC_SPF_MACRO_ERROR, c->want_code);
		g_assert_false(pc_spf_macro_check(c->input, strlen(c->input), c->kind, NULL));
	}
}

/* %{p} costs DNS: asked for only when a string uses it */
static void
test_p_lazy(void)
{
	PcSpfMacroContext context = example_context("192.0.2.3");
	g_autofree char *plain = NULL;
	g_autofree char *with_p = NULL;

	p_calls = 0;
	plain = pc_spf_macro_expand("%{d}", 4, PC_SPF_MACRO_DOMAIN_SPEC, &context, NULL);
	g_assert_cmpuint(p_calls, ==, 0);
	with_p = pc_spf_macro_expand("%{p}", 4, PC_SPF_MACRO_DOMAIN_SPEC, &context, NULL);
	g_assert_cmpuint(p_calls, ==, 1);
	g_assert_cmpstr(with_p, ==, "mx.example.org");
	/* no validated name: "unknown" */
	context.validated_name_data = NULL;
	g_clear_pointer(&with_p, g_free);
	with_p = pc_spf_macro_expand("%{p}", 4, PC_SPF_MACRO_DOMAIN_SPEC, &context, NULL);
	g_assert_cmpstr(with_p, ==, "unknown");
}

/* unknown modifiers' values: any macro-string, c r t included, empty too */
static void
test_string_kind(void)
{
	g_assert_true(pc_spf_macro_check("", 0, PC_SPF_MACRO_STRING, NULL));
	g_assert_true(pc_spf_macro_check("+", 1, PC_SPF_MACRO_STRING, NULL));
	g_assert_true(pc_spf_macro_check("%{c}%{r}%{t}", 12, PC_SPF_MACRO_STRING, NULL));
	g_assert_true(pc_spf_macro_check("man:dog/cat", 11, PC_SPF_MACRO_STRING, NULL));
	g_assert_false(pc_spf_macro_check("%abc", 4, PC_SPF_MACRO_STRING, NULL));
	g_assert_false(pc_spf_macro_check("a b", 3, PC_SPF_MACRO_STRING, NULL));
}

/* a NUL is a character like any other: not allowed */
static void
test_nul(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(
	    pc_spf_macro_check("a.example.com\0x", 15, PC_SPF_MACRO_DOMAIN_SPEC, &error));
	g_assert_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_SYNTAX);
	/* the message quotes the input printably */
	g_assert_nonnull(strstr(error->message, "\\x00"));
}

static void
test_bounds(void)
{
	PcSpfMacroContext context = example_context("192.0.2.3");
	g_autoptr(GError) error = NULL;
	g_autofree char *long_input = g_strnfill(PC_SPF_MACRO_MAX_INPUT + 1, 'a');
	g_autofree char *long_value = g_strnfill(PC_SPF_MACRO_MAX_VALUE + 1, 'x');
	g_autoptr(GString) many = g_string_new(NULL);
	g_autofree char *got = NULL;

	/* input over the limit: refused, whatever it holds */
	g_assert_false(
	    pc_spf_macro_check(long_input, strlen(long_input), PC_SPF_MACRO_STRING, &error));
	g_assert_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_TOO_LONG);
	g_clear_error(&error);
	/* a value over its limit */
	context.local_part = long_value;
	got = pc_spf_macro_expand("%{l}.x.example", 14, PC_SPF_MACRO_DOMAIN_SPEC, &context, &error);
	g_assert_null(got);
	g_assert_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_TOO_LONG);
	g_clear_error(&error);
	/* an expansion over the limit: 1,000 URL-escaped copies of the sender */
	for (guint i = 0; i < 1000; i++)
		g_string_append(many, "%{S}");
	context.sender = "@@@@@@@@@@@@@@@@@@@@";
	got = pc_spf_macro_expand(many->str, many->len, PC_SPF_MACRO_EXPLAIN, &context, &error);
	g_assert_null(got);
	g_assert_error(error, PC_SPF_MACRO_ERROR, PC_SPF_MACRO_ERROR_TOO_LONG);
}

static void
test_ip_dotted(void)
{
	PcNetAddress ip;
	char buf[PC_SPF_MACRO_IP_STRLEN];

	g_assert_true(pc_net_address_parse("2001:db8::cb01", &ip));
	g_assert_cmpstr(pc_spf_macro_ip_dotted(&ip, buf, sizeof(buf)), ==,
			"2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
	g_assert_true(pc_net_address_parse("192.0.2.3", &ip));
	g_assert_cmpstr(pc_spf_macro_ip_dotted(&ip, buf, sizeof(buf)), ==, "192.0.2.3");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(expand_cases); i++) {
		g_autofree char *label = g_strdelimit(g_strdup(expand_cases[i].label), " /", '-');
		g_autofree char *path = g_strconcat("/pc/spf-macro/expand/", label, NULL);

		g_test_add_data_func(path, &expand_cases[i], test_expand);
	}
	g_test_add_func("/pc/spf-macro/p-lazy", test_p_lazy);
	g_test_add_func("/pc/spf-macro/string-kind", test_string_kind);
	g_test_add_func("/pc/spf-macro/nul", test_nul);
	g_test_add_func("/pc/spf-macro/bounds", test_bounds);
	g_test_add_func("/pc/spf-macro/ip-dotted", test_ip_dotted);
	return g_test_run();
}
