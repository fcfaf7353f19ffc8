/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for pc-addr: every flag, every error, each limit at and one past its
 * boundary, and the relay-trick forms the relay guard must see through.
 *
 * Inputs, locals and domains in the tables may use "{c*N}" for N copies of
 * the octet c, so limit rows stay readable. A row with .len set is taken
 * byte for byte (it holds a NUL) and is not expanded.
 */
#include <string.h>

#include <glib.h>

#include "pc-addr.h"
#include "test-expand.h"

/* long enough for a log line; an error must never carry the hostile input */
#define ERROR_MESSAGE_MAX 80

typedef struct {
	const char *label;
	const char *input;
	gsize len; /* nonzero: the exact length, NULs included */
	gboolean fails;
	PcAddrError code;    /* when .fails */
	const char *message; /* when .fails: a substring of the message */
	PcAddrFlags flags;
	const char *local;
	const char *domain;
	const char *route;
} AddrCase;

#define F(name) PC_ADDR_FLAG_##name

static const AddrCase path_cases[] = {
    /* plain forms */
    {.label = "bracketed", .input = "<user@example.com>", .local = "user", .domain = "example.com"},
    {.label = "no-brackets",
     .input = "user@example.com",
     .flags = F(NO_BRACKETS),
     .local = "user",
     .domain = "example.com"},
    {.label = "null-path", .input = "<>", .flags = F(NULL), .local = "", .domain = ""},
    {.label = "postmaster",
     .input = "<postmaster>",
     .flags = F(NO_DOMAIN),
     .local = "postmaster",
     .domain = ""},
    {.label = "postmaster-bare",
     .input = "Postmaster",
     .flags = F(NO_DOMAIN) | F(NO_BRACKETS),
     .local = "Postmaster",
     .domain = ""},
    {.label = "case-kept-in-local",
     .input = "<User.Name@Example.COM>",
     .local = "User.Name",
     .domain = "example.com"},
    {.label = "dots-anywhere",
     .input = "<.john..doe.@example.com>",
     .local = ".john..doe.",
     .domain = "example.com"},
    {.label = "atext",
     .input = "<#$&'*+-/=?^_`{|}~@example.com>",
     .local = "#$&'*+-/=?^_`{|}~",
     .domain = "example.com"},
    {.label = "plus-tag",
     .input = "<user+tag@example.com>",
     .local = "user+tag",
     .domain = "example.com"},
    {.label = "underscore-domain",
     .input = "<u@my_host._dmarc.example>",
     .local = "u",
     .domain = "my_host._dmarc.example"},
    {.label = "hyphen-digits-domain",
     .input = "<u@a-1.0-b.example>",
     .local = "u",
     .domain = "a-1.0-b.example"},
    {.label = "single-label", .input = "<u@localhost>", .local = "u", .domain = "localhost"},
    {.label = "numeric-hostname", .input = "<u@192.0.2.1>", .local = "u", .domain = "192.0.2.1"},

    /* the relay-trick battery */
    {.label = "trick-percent",
     .input = "user%outside.test@example.com",
     .flags = F(PERCENT) | F(NO_BRACKETS),
     .local = "user%outside.test",
     .domain = "example.com"},
    {.label = "trick-bang",
     .input = "outside.test!user@example.com",
     .flags = F(BANG) | F(NO_BRACKETS),
     .local = "outside.test!user",
     .domain = "example.com"},
    {.label = "trick-source-route",
     .input = "@a,@b:user@example.com",
     .flags = F(SOURCE_ROUTE) | F(NO_BRACKETS),
     .local = "user",
     .domain = "example.com",
     .route = "@a,@b"},
    {.label = "trick-quoted-at",
     .input = "\"victim@outside.test\"@example.com",
     .flags = F(QUOTED) | F(LOCAL_AT) | F(NO_BRACKETS),
     .local = "victim@outside.test",
     .domain = "example.com"},
    {.label = "trick-quoted-percent",
     .input = "\"victim%outside.test\"@example.com",
     .flags = F(QUOTED) | F(PERCENT) | F(NO_BRACKETS),
     .local = "victim%outside.test",
     .domain = "example.com"},
    {.label = "trick-unquoted-at",
     .input = "user@outside.test@example.com",
     .flags = F(LOCAL_AT) | F(NO_BRACKETS),
     .local = "user@outside.test",
     .domain = "example.com"},
    {.label = "trick-trailing-dot",
     .input = "<victim@outside.test.>",
     .flags = F(TRAILING_DOT),
     .local = "victim",
     .domain = "outside.test"},
    {.label = "trick-uppercase",
     .input = "VICTIM@OUTSIDE.TEST",
     .flags = F(NO_BRACKETS),
     .local = "VICTIM",
     .domain = "outside.test"},
    {.label = "trick-literal-v4",
     .input = "victim@[192.0.2.1]",
     .flags = F(IP_LITERAL) | F(NO_BRACKETS),
     .local = "victim",
     .domain = "[192.0.2.1]"},
    {.label = "trick-literal-v6",
     .input = "victim@[IPv6:2001:DB8::1]",
     .flags = F(IP_LITERAL) | F(NO_BRACKETS),
     .local = "victim",
     .domain = "[ipv6:2001:db8::1]"},
    {.label = "trick-bang-no-domain",
     .input = "outside.test!user",
     .flags = F(BANG) | F(NO_DOMAIN) | F(NO_BRACKETS),
     .local = "outside.test!user",
     .domain = ""},
    {.label = "trick-percent-no-domain",
     .input = "user%outside.test",
     .flags = F(PERCENT) | F(NO_DOMAIN) | F(NO_BRACKETS),
     .local = "user%outside.test",
     .domain = ""},
    {.label = "trick-everything",
     .input = "<@r.test:a!b%c@d@example.com.>",
     .flags = F(SOURCE_ROUTE) | F(BANG) | F(PERCENT) | F(LOCAL_AT) | F(TRAILING_DOT),
     .local = "a!b%c@d",
     .domain = "example.com",
     .route = "@r.test"},
    {.label = "many-at",
     .input = "<a@b@c@example.com>",
     .flags = F(LOCAL_AT),
     .local = "a@b@c",
     .domain = "example.com"},

    /* source routes */
    {.label = "route-two-hops",
     .input = "<@a.test,@b.test:user@example.com>",
     .flags = F(SOURCE_ROUTE),
     .local = "user",
     .domain = "example.com",
     .route = "@a.test,@b.test"},
    {.label = "route-one-hop",
     .input = "<@A.Test.:user@example.com>",
     .flags = F(SOURCE_ROUTE),
     .local = "user",
     .domain = "example.com",
     .route = "@A.Test."},
    {.label = "route-literal-hop",
     .input = "<@[IPv6:2001:db8::1],@b:user@example.com>",
     .flags = F(SOURCE_ROUTE),
     .local = "user",
     .domain = "example.com",
     .route = "@[IPv6:2001:db8::1],@b"},
    {.label = "route-to-postmaster",
     .input = "<@a.test:postmaster>",
     .flags = F(SOURCE_ROUTE) | F(NO_DOMAIN),
     .local = "postmaster",
     .domain = "",
     .route = "@a.test"},
    {.label = "route-no-colon",
     .input = "<@a.test,@b.test>",
     .fails = TRUE,
     .message = "source route not ended by ':'"},
    {.label = "route-empty-hop",
     .input = "<@,@b:u@example.com>",
     .fails = TRUE,
     .message = "source route: empty domain"},
    {.label = "route-hop-without-at",
     .input = "<@a,b:u@example.com>",
     .fails = TRUE,
     .message = "source route hop does not start with '@'"},
    {.label = "route-bad-hop",
     .input = "<@a b:u@example.com>",
     .fails = TRUE,
     .message = "two words side by side"},
    {.label = "route-unclosed-literal",
     .input = "<@[192.0.2.1:u@example.com>",
     .fails = TRUE,
     .message = "source route: address literal not closed by ']'"},
    {.label = "route-nothing-after",
     .input = "<@a.test:>",
     .fails = TRUE,
     .message = "nothing after the source route"},
    {.label = "route-then-empty-local",
     .input = "<@a.test:@example.com>",
     .fails = TRUE,
     .message = "empty local part"},
    {.label = "at-only", .input = "<@>", .fails = TRUE, .message = "source route: empty domain"},

    /* quoted local parts */
    {.label = "quoted-local",
     .input = "<\"john doe\"@example.com>",
     .flags = F(QUOTED),
     .local = "john doe",
     .domain = "example.com"},
    {.label = "quoted-pair-quote",
     .input = "<\"a\\\"b\"@x.test>",
     .flags = F(QUOTED),
     .local = "a\"b",
     .domain = "x.test"},
    {.label = "quoted-pair-backslash",
     .input = "<\"a\\\\b\"@x.test>",
     .flags = F(QUOTED),
     .local = "a\\b",
     .domain = "x.test"},
    {.label = "quoted-pair-plain",
     .input = "<\"\\a\\b\"@x.test>",
     .flags = F(QUOTED),
     .local = "ab",
     .domain = "x.test"},
    {.label = "quoted-bang",
     .input = "<\"host!user\"@example.com>",
     .flags = F(QUOTED) | F(BANG),
     .local = "host!user",
     .domain = "example.com"},
    {.label = "quoted-specials",
     .input = "<\"<a>,(b):[c];\"@x.test>",
     .flags = F(QUOTED),
     .local = "<a>,(b):[c];",
     .domain = "x.test"},
    {.label = "quoted-empty",
     .input = "<\"\"@example.com>",
     .flags = F(QUOTED),
     .local = "",
     .domain = "example.com"},
    {.label = "quoted-no-domain",
     .input = "<\"postmaster\">",
     .flags = F(QUOTED) | F(NO_DOMAIN),
     .local = "postmaster",
     .domain = ""},
    {.label = "quoted-8bit",
     .input = "<\"caf\xc3\xa9\"@x.test>",
     .flags = F(QUOTED) | F(UTF8),
     .local = "caf\xc3\xa9",
     .domain = "x.test"},
    {.label = "quoted-unbalanced",
     .input = "<\"abc@example.com>",
     .fails = TRUE,
     .message = "unbalanced quote in local part"},
    {.label = "quoted-escaped-close",
     .input = "<\"abc\\\">",
     .fails = TRUE,
     .message = "unbalanced quote in local part"},
    {.label = "quoted-then-bytes",
     .input = "<\"a\"b@example.com>",
     .fails = TRUE,
     .message = "bytes after the quoted local part"},
    {.label = "quote-inside-unquoted",
     .input = "<a\"b\"@example.com>",
     .fails = TRUE,
     .message = "quote inside an unquoted local part"},
    {.label = "quoted-domain",
     .input = "<\"a\"@\"b\">",
     .fails = TRUE,
     .message = "invalid character '\"' in domain"},

    /* domains */
    {.label = "trailing-dot-two",
     .input = "<u@example.com..>",
     .fails = TRUE,
     .message = "empty label in domain"},
    {.label = "empty-label",
     .input = "<u@a..b>",
     .fails = TRUE,
     .message = "empty label in domain"},
    {.label = "leading-dot", .input = "<u@.a>", .fails = TRUE, .message = "empty label in domain"},
    {.label = "dot-only", .input = "<u@.>", .fails = TRUE, .message = "empty domain"},
    {.label = "empty-domain", .input = "<u@>", .fails = TRUE, .message = "empty domain"},
    {.label = "domain-space",
     .input = "<u@exa mple.com>",
     .fails = TRUE,
     .message = "two words side by side"},
    {.label = "domain-comma",
     .input = "<u@example.com,net>",
     .fails = TRUE,
     .message = "invalid character ',' in domain"},
    {.label = "domain-8bit",
     .input = "<u@B\xc3\xbc"
	      "cher.EXAMPLE>",
     .flags = F(UTF8),
     .local = "u",
     .domain = "b\xc3\xbc"
	       "cher.example"},
    {.label = "domain-8bit-not-folded",
     .input = "<u@\xc3\x9c.test>",
     .flags = F(UTF8),
     .local = "u",
     .domain = "\xc3\x9c.test"},
    {.label = "local-8bit",
     .input = "<us\xc3\xa9r@example.com>",
     .flags = F(UTF8),
     .local = "us\xc3\xa9r",
     .domain = "example.com"},

    /* IP literals */
    {.label = "literal-v6-long-form",
     .input = "<u@[IPv6:2001:0db8:0:0:0:0:0:1]>",
     .flags = F(IP_LITERAL),
     .local = "u",
     .domain = "[ipv6:2001:db8::1]"},
    {.label = "literal-v6-tag-lowercase",
     .input = "<u@[ipv6:2001:db8::1]>",
     .flags = F(IP_LITERAL),
     .local = "u",
     .domain = "[ipv6:2001:db8::1]"},
    {.label = "literal-v6-mapped",
     .input = "<u@[IPv6:::FFFF:192.0.2.1]>",
     .flags = F(IP_LITERAL) | F(V4_MAPPED),
     .local = "u",
     .domain = "[192.0.2.1]"},
    {.label = "literal-v4-octet-300",
     .input = "<u@[300.1.1.1]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-v4-three-parts",
     .input = "<u@[1.2.3]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    /* a leading zero that octal (Sendmail's inet_addr) reads differently: refused */
    {.label = "literal-v4-leading-zero",
     .input = "<u@[010.0.0.1]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-v4-leading-zero-8",
     .input = "<u@[127.0.0.08]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-v4-four-digits",
     .input = "<u@[127.0.0.0001]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-v4-trailing-dot",
     .input = "<u@[127.0.0.1.]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    /*
     * RFC 5321 Snum (1*3DIGIT): leading zeros both readings agree on, and
     * flagged (Sendmail routes them elsewhere)
     */
    {.label = "literal-v4-zeros-padded",
     .input = "<u@[127.000.000.001]>",
     .flags = F(IP_LITERAL) | F(LEADING_ZERO),
     .local = "u",
     .domain = "[127.0.0.1]"},
    {.label = "literal-v4-zero-octet",
     .input = "<u@[127.0.0.01]>",
     .flags = F(IP_LITERAL) | F(LEADING_ZERO),
     .local = "u",
     .domain = "[127.0.0.1]"},
    {.label = "literal-v4-zeros-007",
     .input = "<u@[192.000.002.007]>",
     .flags = F(IP_LITERAL) | F(LEADING_ZERO),
     .local = "u",
     .domain = "[192.0.2.7]"},
    {.label = "literal-v6-garbage",
     .input = "<u@[IPv6:zz]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-v6-tag-on-v4",
     .input = "<u@[IPv6:192.0.2.1]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-empty",
     .input = "<u@[]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "literal-v6-untagged",
     .input = "<u@[2001:db8::1]>",
     .fails = TRUE,
     .message = "address literal without 'IPv6:' tag"},
    {.label = "literal-general-tag",
     .input = "<u@[x400:abc]>",
     .fails = TRUE,
     .message = "address literal without 'IPv6:' tag"},
    {.label = "literal-unclosed",
     .input = "<u@[192.0.2.1>",
     .fails = TRUE,
     .message = "address literal not closed by ']'"},
    {.label = "literal-trailing-dot",
     .input = "<u@[192.0.2.1].>",
     .fails = TRUE,
     .message = "address literal not closed by ']'"},

    /*
     * brackets and blanks: RFC 822 forms both MTAs pass on and deliver to
     * the mailbox named (more in test_path_forms)
     */
    {.label = "space-after-open",
     .input = "< user@example.com>",
     .local = "user",
     .domain = "example.com"},
    {.label = "space-before-close",
     .input = "<user@example.com >",
     .local = "user",
     .domain = "example.com"},
    {.label = "space-only", .input = "< >", .flags = F(NULL), .local = "", .domain = ""},
    {.label = "space-before-open",
     .input = " <user@example.com>",
     .local = "user",
     .domain = "example.com"},
    {.label = "space-bare",
     .input = "user@example.com ",
     .flags = F(NO_BRACKETS),
     .local = "user",
     .domain = "example.com"},
    {.label = "space-in-local",
     .input = "<user name@example.com>",
     .fails = TRUE,
     .message = "two words side by side"},
    {.label = "space-after-close",
     .input = "<user@example.com> ",
     .local = "user",
     .domain = "example.com"},
    {.label = "esmtp-param-glued",
     .input = "<user@example.com>SIZE=100",
     .fails = TRUE,
     .message = "bytes after '>'"},
    {.label = "esmtp-param-blank",
     .input = "<user@example.com> SIZE=100",
     .fails = TRUE,
     .message = "unpaired '<' or '>'"},
    {.label = "open-only", .input = "<", .fails = TRUE, .message = "'<' without '>'"},
    {.label = "close-only", .input = ">", .fails = TRUE, .message = "'>' without '<'"},
    {.label = "unclosed",
     .input = "<user@example.com",
     .fails = TRUE,
     .message = "'<' without '>'"},
    {.label = "unopened",
     .input = "user@example.com>",
     .fails = TRUE,
     .message = "'>' without '<'"},
    {.label = "double-brackets",
     .input = "<<user@example.com>>",
     .local = "user",
     .domain = "example.com"},
    {.label = "brackets-9",
     .input = "{<*9}user@example.com{>*9}",
     .fails = TRUE,
     .message = "too many angle brackets"},
    {.label = "brackets-unpaired",
     .input = "<<user@example.com>",
     .fails = TRUE,
     .message = "unpaired '<' or '>'"},
    {.label = "brackets-inside",
     .input = "<<user@example.com> <victim@outside.test>>",
     .fails = TRUE,
     .message = "angle brackets inside the path"},
    {.label = "comment-in-local",
     .input = "<user(x)@example.com>",
     .local = "user",
     .domain = "example.com"},
    {.label = "comment-with-address",
     .input = "<user@example.com (victim@outside.test)>",
     .fails = TRUE,
     .message = "an address in a comment"},
    {.label = "comment-unclosed",
     .input = "user@example.com (x",
     .fails = TRUE,
     .message = "unbalanced '(' in address"},
    {.label = "comment-unclosed-bracket",
     .input = "<user@example.com (x>",
     .fails = TRUE,
     .message = "an address in a comment"},
    {.label = "comment-close-only",
     .input = "<user@example.com)>",
     .fails = TRUE,
     .message = "unbalanced ')' in address"},
    {.label = "comment-too-deep",
     .input = "<user@example.com {(*33}{)*33}>",
     .fails = TRUE,
     .message = "comments nested too deep"},
    {.label = "comment-tab-quoted",
     .input = "<\"a\tb\"@example.com (x)>",
     .fails = TRUE,
     .message = "control character 0x09"},
    {.label = "literal-blank",
     .input = "<u@[ 127.0.0.1 ]>",
     .fails = TRUE,
     .message = "invalid address literal"},
    {.label = "colon-in-local",
     .input = "<a:b@example.com>",
     .fails = TRUE,
     .message = "invalid character ':' in local part"},
    {.label = "backslash-in-local",
     .input = "<a\\b@example.com>",
     .fails = TRUE,
     .message = "invalid character '\\' in local part"},
    {.label = "quoted-then-two-at",
     .input = "<\"a\"@b@c>",
     .fails = TRUE,
     .message = "invalid character '@' in domain"},
    {.label = "empty-input", .input = "", .fails = TRUE, .message = "empty path"},

    /* NUL and control octets */
    {.label = "nul-inside",
     .input = "<us\0er@example.com>",
     .len = 19,
     .fails = TRUE,
     .message = "NUL byte in address"},
    {.label = "nul-at-end",
     .input = "<user@example.com>\0",
     .len = 19,
     .fails = TRUE,
     .message = "NUL byte in address"},
    {.label = "nul-only", .input = "\0", .len = 1, .fails = TRUE, .message = "NUL byte in address"},
    {.label = "nul-in-literal",
     .input = "u@[192.0.2.1]\0]",
     .len = 15,
     .fails = TRUE,
     .message = "NUL byte in address"},
    {.label = "nul-before-limit",
     .input = "<u@x>\0",
     .len = 6,
     .fails = TRUE,
     .message = "NUL byte in address"},
    {.label = "control-soh",
     .input = "<user\001@example.com>",
     .fails = TRUE,
     .message = "control character 0x01 in address"},
    {.label = "control-tab",
     .input = "<\"us\ter\"@example.com>",
     .fails = TRUE,
     .message = "control character 0x09 in address"},
    /* a tab between tokens is a blank, as in RFC 822 and both MTAs */
    {.label = "tab-before-at",
     .input = "<user\t@example.com>",
     .local = "user",
     .domain = "example.com"},
    {.label = "control-del",
     .input = "<user\177@example.com>",
     .fails = TRUE,
     .message = "control character 0x7f in address"},
    {.label = "control-crlf",
     .input = "<user@example.com>\r\n",
     .fails = TRUE,
     .message = "control character 0x0d in address"},
    {.label = "control-in-quotes",
     .input = "<\"a\nb\"@example.com>",
     .fails = TRUE,
     .message = "control character 0x0a in address"},

    /* limits, at and one past */
    {.label = "local-64",
     .input = "<{a*64}@example.com>",
     .local = "{a*64}",
     .domain = "example.com"},
    /* past RFC 5321's minimum: both MTAs deliver it, so the parser takes it */
    {.label = "local-65",
     .input = "<{a*65}@example.com>",
     .local = "{a*65}",
     .domain = "example.com"},
    {.label = "local-200",
     .input = "<{a*200}@example.com>",
     .local = "{a*200}",
     .domain = "example.com"},
    {.label = "local-201",
     .input = "<{a*201}@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "local part is 201 octets, limit 200"},
    {.label = "local-201-no-domain",
     .input = "<{a*201}>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "local part is 201 octets, limit 200"},
    {.label = "quoted-local-200",
     .input = "<\"{a*198}\"@example.com>",
     .flags = F(QUOTED),
     .local = "{a*198}",
     .domain = "example.com"},
    {.label = "quoted-local-201",
     .input = "<\"{a*199}\"@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "local part is 201 octets, limit 200"},
    {.label = "quoted-local-201-escapes",
     .input = "<\"{a*197}\\b\"@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "local part is 201 octets, limit 200"},
    {.label = "label-63", .input = "<u@{b*63}.test>", .local = "u", .domain = "{b*63}.test"},
    {.label = "label-64",
     .input = "<u@{b*64}.test>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "domain label is 64 octets, limit 63"},
    {.label = "label-64-last",
     .input = "<u@test.{B*64}>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "domain label is 64 octets, limit 63"},
    {.label = "path-256",
     .input = "<{a*64}@{b*63}.{c*63}.{d*61}>",
     .local = "{a*64}",
     .domain = "{b*63}.{c*63}.{d*61}"},
    {.label = "path-257",
     .input = "<{a*64}@{b*63}.{c*63}.{d*62}>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "path is 257 octets, limit 256"},
    {.label = "path-256-bare",
     .input = "{a*64}@{b*63}.{c*63}.{d*63}",
     .flags = F(NO_BRACKETS),
     .local = "{a*64}",
     .domain = "{b*63}.{c*63}.{d*63}"},
    {.label = "path-257-bare",
     .input = "{a*64}@{b*63}.{c*63}.{d*61}.ee",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "path is 257 octets, limit 256"},
    {.label = "path-257-route",
     .input = "<@{r*60}.test,@{s*60}.test,@{t*60}.test:{a*50}@x.y>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "path is 257 octets, limit 256"},
    {.label = "path-huge",
     .input = "<{a*5000}@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "path is 5014 octets, limit 256"},
};

static void
assert_error_is_loggable(const GError *error)
{
	gsize len = strlen(error->message);

	g_assert_cmpuint(len, <=, ERROR_MESSAGE_MAX);
	for (gsize i = 0; i < len; i++)
		g_assert_true(g_ascii_isprint(error->message[i]));
}

static void
test_parse_path(gconstpointer data)
{
	const AddrCase *test = data;
	g_autofree char *input = NULL;
	g_autoptr(GError) error = NULL;
	static PcAddress sentinel; /* failure must leave *address_out alone */
	PcAddress *address = &sentinel;
	g_autoptr(PcAddress) owned = NULL;
	gsize len;

	if (test->len != 0) {
		/* a heap copy of exactly len bytes, so ASan sees any read past it */
		input = g_memdup2(test->input, test->len);
		len = test->len;
	} else {
		g_autofree char *expanded = test_expand(test->input, &len);

		/* exactly len bytes, no terminator: the parser must honour len */
		input = g_memdup2(expanded, len);
	}

	if (test->fails) {
		g_assert_false(pc_addr_parse_path(input, len, &address, &error));
		g_assert_error(error, PC_ADDR_ERROR, (gint)test->code);
		/* cmpstr only to print both strings when the substring is missing */
		if (strstr(error->message, test->message) == NULL)
			g_assert_cmpstr(error->message, ==, test->message);
		assert_error_is_loggable(error);
		g_assert_true(address == &sentinel);
		return;
	}

	g_assert_true(pc_addr_parse_path(input, len, &address, &error));
	g_assert_no_error(error);
	owned = address;
	{
		g_autofree char *want_local = test_expand(test->local, NULL);
		g_autofree char *want_domain = test_expand(test->domain, NULL);

		g_assert_cmpstr(owned->local, ==, want_local);
		g_assert_cmpstr(owned->domain, ==, want_domain);
	}
	g_assert_cmpstr(owned->route, ==, test->route);
	g_assert_cmphex(owned->flags, ==, test->flags);
}

/*
 * --- pc_addr_normalize_domain ---
 */

typedef struct {
	const char *label;
	const char *input;
	gsize len;	  /* nonzero: exact length */
	const char *want; /* NULL: not a valid domain */
} DomainCase;

static const DomainCase domain_cases[] = {
    {.label = "lowercase", .input = "Example.COM", .want = "example.com"},
    {.label = "trailing-dot", .input = "example.com.", .want = "example.com"},
    {.label = "trailing-dots-two", .input = "example.com.."},
    {.label = "empty", .input = ""},
    {.label = "dot", .input = "."},
    {.label = "empty-label", .input = "a..b"},
    {.label = "leading-dot", .input = ".a"},
    {.label = "space", .input = "exa mple.com"},
    {.label = "at", .input = "user@example.com"},
    {.label = "nul", .input = "exa\0mple.com", .len = 12},
    {.label = "control", .input = "exa\001mple.com"},
    {.label = "underscore", .input = "_Dmarc.Example", .want = "_dmarc.example"},
    {.label = "8bit",
     .input = "B\xc3\xbc"
	      "cher.Example",
     .want = "b\xc3\xbc"
	     "cher.example"},
    {.label = "punycode", .input = "XN--bcher-kva.example", .want = "xn--bcher-kva.example"},
    {.label = "len-stops-early", .input = "example.com.junk", .len = 12, .want = "example.com"},
    {.label = "literal-v4", .input = "[192.0.2.1]", .want = "[192.0.2.1]"},
    {.label = "literal-v6", .input = "[IPv6:2001:DB8:0::1]", .want = "[ipv6:2001:db8::1]"},
    {.label = "literal-bad", .input = "[192.0.2.256]"},
    {.label = "literal-nul", .input = "[192.0.2.1]\0]", .len = 13},
    {.label = "label-63", .input = "{x*63}.test", .want = "{x*63}.test"},
    {.label = "label-64", .input = "{x*64}.test"},
    {.label = "domain-255",
     .input = "{a*63}.{b*63}.{c*63}.{d*61}.e",
     .want = "{a*63}.{b*63}.{c*63}.{d*61}.e"},
    {.label = "domain-255-dot",
     .input = "{a*63}.{b*63}.{c*63}.{d*61}.e.",
     .want = "{a*63}.{b*63}.{c*63}.{d*61}.e"},
    {.label = "domain-256", .input = "{a*63}.{b*63}.{c*63}.{d*62}.e"},
};

static void
test_normalize_domain(gconstpointer data)
{
	const DomainCase *test = data;
	g_autofree char *input = NULL;
	g_autofree char *want = test->want != NULL ? test_expand(test->want, NULL) : NULL;
	g_autofree char *got = NULL;
	gsize len;

	if (test->len != 0) {
		input = g_memdup2(test->input, test->len);
		len = test->len;
	} else {
		g_autofree char *expanded = test_expand(test->input, &len);

		input = g_memdup2(expanded, len);
	}
	got = pc_addr_normalize_domain(input, len);
	g_assert_cmpstr(got, ==, want);
}

/*
 * --- caseless forms ---
 *
 * Code points as UTF-8 escapes: O-umlaut C3 96, o-umlaut C3 B6, combining
 * diaeresis CC 88, sharp s C3 9F, capital sharp s E1 BA 9E, sigma CF 83,
 * final sigma CF 82, capital sigma CE A3, dotless i C4 B1, I with dot C4 B0,
 * combining dot above CC 87, Kelvin sign E2 84 AA, ligature fi EF AC 81.
 */

typedef struct {
	const char *label;
	const char *input;
	gsize len;	    /* nonzero: exact length */
	const char *local;  /* pc_addr_fold_local(); NULL: none */
	const char *domain; /* pc_addr_fold_domain(); NULL: none */
} FoldCase;

static const FoldCase fold_cases[] = {
    {.label = "ascii",
     .input = "Alice.Smith+Tag",
     .local = "alice.smith+tag",
     .domain = "alice.smith+tag"},
    {.label = "empty", .input = "", .local = "", .domain = ""},
    {.label = "umlaut-upper",
     .input = "J\xc3\x96RG",
     .local = "j\xc3\xb6rg",
     .domain = "j\xc3\xb6rg"},
    {.label = "umlaut-decomposed",
     .input = "JO\xcc\x88RG",
     .local = "j\xc3\xb6rg",
     .domain = "j\xc3\xb6rg"},
    {.label = "sharp-s",
     .input = "stra\xc3\x9f"
	      "e",
     .local = "strasse",
     .domain = "stra\xc3\x9f"
	       "e"},
    {.label = "capital-sharp-s",
     .input = "STRA\xe1\xba\x9e"
	      "E",
     .local = "strasse",
     .domain = "stra\xc3\x9f"
	       "e"},
    {.label = "ss", .input = "STRASSE", .local = "strasse", .domain = "strasse"},
    {.label = "final-sigma",
     .input = "\xcf\x83\xcf\x82",
     .local = "\xcf\x83\xcf\x83",
     .domain = "\xcf\x83\xcf\x82"},
    {.label = "capital-sigma",
     .input = "\xce\xa3\xce\xa3",
     .local = "\xcf\x83\xcf\x83",
     .domain = "\xcf\x83\xcf\x83"},
    {.label = "dotless-i", .input = "\xc4\xb1", .local = "\xc4\xb1", .domain = "\xc4\xb1"},
    {.label = "dotted-capital-i", .input = "\xc4\xb0", .local = "i\xcc\x87", .domain = "i\xcc\x87"},
    {.label = "kelvin", .input = "\xe2\x84\xaa", .local = "k", .domain = "k"},
    {.label = "ligature", .input = "\xef\xac\x81le", .local = "file", .domain = "\xef\xac\x81le"},
    {.label = "a-label-kept",
     .input = "XN--bcher-kva",
     .local = "xn--bcher-kva",
     .domain = "xn--bcher-kva"},
    {.label = "invalid-utf8",
     .input = "A\xc3(B\xff",
     .local = "a\xc3(b\xff",
     .domain = "a\xc3(b\xff"},
    {.label = "overlong", .input = "\xc0\xafX", .local = "\xc0\xafx", .domain = "\xc0\xafx"},
    {.label = "surrogate",
     .input = "\xed\xa0\x80Y",
     .local = "\xed\xa0\x80y",
     .domain = "\xed\xa0\x80y"},
    {.label = "nul", .input = "a\0b", .len = 3},
    {.label = "at-limit", .input = "{A*1024}", .local = "{a*1024}", .domain = "{a*1024}"},
    {.label = "over-limit", .input = "{a*1025}"},
};

static void
test_fold(gconstpointer data)
{
	const FoldCase *test = data;
	g_autofree char *input = NULL;
	g_autofree char *want_local = test->local != NULL ? test_expand(test->local, NULL) : NULL;
	g_autofree char *want_domain =
	    test->domain != NULL ? test_expand(test->domain, NULL) : NULL;
	g_autofree char *local = NULL;
	g_autofree char *domain = NULL;
	gsize len = test->len;

	if (len != 0)
		input = g_memdup2(test->input, len);
	else
		input = test_expand(test->input, &len);
	local = pc_addr_fold_local(input, len);
	domain = pc_addr_fold_domain(input, len);
	g_assert_cmpstr(local, ==, want_local);
	g_assert_cmpstr(domain, ==, want_domain);
	/* a caseless form is its own caseless form */
	if (local != NULL) {
		g_autofree char *again = pc_addr_fold_local(local, strlen(local));

		g_assert_cmpstr(again, ==, local);
	}
	if (domain != NULL) {
		g_autofree char *again = pc_addr_fold_domain(domain, strlen(domain));

		g_assert_cmpstr(again, ==, domain);
	}
}

/*
 * --- properties across rows ---
 */

/*
 * RFC 822 forms of a path, generated: each wrapper around each base (and
 * blanks and comments around its '@' and dots) parses as the base does;
 * each form that puts a second destination next to the base is refused
 */
static const char *const form_bases[] = {
    "user@example.com",	    "\"john doe\"@example.com",	     "u@[192.0.2.1]",
    "u@[IPv6:2001:db8::1]", "@a.test,@b.test:u@example.com", "first.last+tag@sub.example.com",
    "postmaster",	    "\"a\\\"b\"@example.com",
};

static const char *const form_wrappers[] = {
    "<%s>",	      "< %s>",	      "<%s >",		"<\t%s\t>",	  "  <  %s  >  ",
    "<<%s>>",	      "<<<%s>>>",     "<(c)%s>",	"<%s(c)>",	  "<%s (c)>",
    "(c)<%s>",	      "<%s> (c)",     "<%s (a (b) c)>", "<%s (a \\) b)>", "<%s (a \\( b)>",
    "%s (c)",	      " %s",	      "<( )%s>",	"<%s ()>",	  "< (c) %s (d) >",
    "<<(c) %s (d)>>", "{<*8}%s{>*8}",
};

static const char *const form_hidden[] = {
    "%s<victim@outside.test>",
    "<%s (victim@outside.test)>",
    "<%s (<x>)>",
    "<(victim@outside.test)%s>",
    "<%s victim@outside.test>",
    "<victim@outside.test %s>",
    "<%s><victim@outside.test>",
    "<%s \"victim@outside.test\">",
    "<\"v@o\" %s>",
    "<victim@outside.test <%s>>",
    "<<%s> victim@outside.test>",
    "<%s>>",
    "<<%s>",
    "<%s (c>",
    "<%s c)>",
    "<><%s>",
    "Name <%s>",
    "\"Name\" <%s>",
    "<%s>, <victim@outside.test>",
    "<%s (a > b)>",
    "{<*9}%s{>*9}",
};

/* blanks and comments between the tokens of an unquoted base */
static const char *const form_inner[][2] = {
    {"@", " @"},    {"@", "@ "}, {"@", " @ "}, {"@", "(c)@"}, {"@", "@(c)"},
    {"@", "\t@\t"}, {".", " ."}, {".", ". "},  {".", "(c)."}, {".", " (c) . (d) "},
};

/* the template with "%s" replaced by base (no printf: the templates hold '%') */
static char *
form_fill(const char *template, const char *base)
{
	g_autofree char *expanded = test_expand(template, NULL);
	g_auto(GStrv) parts = g_strsplit(expanded, "%s", 2);

	return g_strjoinv(base, parts);
}

static void
assert_same_address(const char *form, const PcAddress *got, const PcAddress *want)
{
	if (g_strcmp0(got->local, want->local) != 0 || g_strcmp0(got->domain, want->domain) != 0 ||
	    g_strcmp0(got->route, want->route) != 0 ||
	    (got->flags & ~F(NO_BRACKETS)) != (want->flags & ~F(NO_BRACKETS)))
		g_error("%s: got %s @ %s flags 0x%x, want %s @ %s flags 0x%x", form, got->local,
			got->domain, got->flags, want->local, want->domain, want->flags);
}

static void
test_path_forms(void)
{
	guint accepted = 0, refused = 0;

	for (gsize b = 0; b < G_N_ELEMENTS(form_bases); b++) {
		const char *base = form_bases[b];
		g_autoptr(PcAddress) want = NULL;

		g_assert_true(pc_addr_parse_path(base, strlen(base), &want, NULL));
		for (gsize w = 0; w < G_N_ELEMENTS(form_wrappers); w++) {
			g_autofree char *form = form_fill(form_wrappers[w], base);
			g_autoptr(PcAddress) got = NULL;
			g_autoptr(GError) error = NULL;

			if (!pc_addr_parse_path(form, strlen(form), &got, &error))
				g_error("%s: %s", form, error->message);
			assert_same_address(form, got, want);
			accepted++;
		}
		for (gsize h = 0; h < G_N_ELEMENTS(form_hidden); h++) {
			g_autofree char *form = form_fill(form_hidden[h], base);
			g_autoptr(PcAddress) got = NULL;
			g_autoptr(GError) error = NULL;

			if (pc_addr_parse_path(form, strlen(form), &got, &error))
				g_error("%s: accepted as %s @ %s", form, got->local, got->domain);
			g_assert_error(error, PC_ADDR_ERROR, PC_ADDR_ERROR_SYNTAX);
			assert_error_is_loggable(error);
			refused++;
		}
		if (strpbrk(base, "\"[:") != NULL)
			continue;
		for (gsize i = 0; i < G_N_ELEMENTS(form_inner); i++) {
			g_auto(GStrv) parts = g_strsplit(base, form_inner[i][0], -1);
			g_autofree char *inner = g_strjoinv(form_inner[i][1], parts);
			g_autofree char *form = g_strdup_printf("<%s>", inner);
			g_autoptr(PcAddress) got = NULL;
			g_autoptr(GError) error = NULL;

			if (!pc_addr_parse_path(form, strlen(form), &got, &error))
				g_error("%s: %s", form, error->message);
			assert_same_address(form, got, want);
			accepted++;
		}
	}
	g_test_message("%u forms read as their base, %u refused", accepted, refused);
	g_assert_cmpuint(accepted, >, 150);
	g_assert_cmpuint(refused, >, 150);
}

/* the point of normalising literals: one spelling per address */
static void
test_literal_spellings_equal(void)
{
	static const char *const spellings[] = {
	    "<a@[IPv6:2001:db8::1]>",
	    "<a@[IPv6:2001:DB8:0:0:0:0:0:1]>",
	    "<a@[ipv6:2001:0db8::0:1]>",
	    "a@[IPV6:2001:db8:0::1]",
	};
	g_autoptr(PcAddress) reference = NULL;
	g_autofree char *normalized = NULL;

	g_assert_true(pc_addr_parse_path(spellings[0], strlen(spellings[0]), &reference, NULL));
	for (gsize i = 1; i < G_N_ELEMENTS(spellings); i++) {
		g_autoptr(PcAddress) address = NULL;

		g_assert_true(
		    pc_addr_parse_path(spellings[i], strlen(spellings[i]), &address, NULL));
		g_assert_cmpstr(address->domain, ==, reference->domain);
	}
	/* a domain from the config and one from the envelope compare equal too */
	normalized = pc_addr_normalize_domain("[IPv6:2001:0DB8::1]", strlen("[IPv6:2001:0DB8::1]"));
	g_assert_cmpstr(normalized, ==, reference->domain);
}

/* the parser's domain output is a fixed point of the normaliser */
static void
test_domain_idempotent(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(path_cases); i++) {
		const AddrCase *test = &path_cases[i];
		g_autofree char *input = NULL;
		g_autoptr(PcAddress) address = NULL;
		g_autofree char *again = NULL;
		gsize len;

		if (test->fails || test->len != 0)
			continue;
		input = test_expand(test->input, &len);
		g_assert_true(pc_addr_parse_path(input, len, &address, NULL));
		if (address->domain[0] == '\0')
			continue;
		again = pc_addr_normalize_domain(address->domain, strlen(address->domain));
		g_assert_cmpstr(again, ==, address->domain);
	}
}

/* a NUL is reported as such even when the input is also far too long */
static void
test_nul_beats_length(void)
{
	g_autofree char *input = g_malloc(5000);
	g_autoptr(GError) error = NULL;
	PcAddress *address = NULL;

	memset(input, 'a', 5000);
	input[4000] = '\0';
	g_assert_false(pc_addr_parse_path(input, 5000, &address, &error));
	g_assert_error(error, PC_ADDR_ERROR, PC_ADDR_ERROR_SYNTAX);
	g_assert_cmpstr(error->message, ==, "NUL byte in address");
	g_assert_null(address);
}

static void
test_guards(void)
{
	PcAddress *address = NULL;

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*text != NULL*");
	g_assert_false(pc_addr_parse_path(NULL, 3, &address, NULL));
	g_test_assert_expected_messages();
	g_assert_null(address);

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*address_out != NULL*");
	g_assert_false(pc_addr_parse_path("<>", 2, NULL, NULL));
	g_test_assert_expected_messages();

	/* NULL with no length is empty input, not a bug */
	g_assert_false(pc_addr_parse_path(NULL, 0, &address, NULL));
	g_assert_null(pc_addr_normalize_domain(NULL, 0));

	pc_address_free(NULL);
}

/*
 * --- pc_addr_parse_header_list ---
 *
 * .want lists the addresses as "local@domain" (local dequoted, domain
 * normalised), in header order; a route is written "route:" in front.
 */

#define HEADER_WANT_MAX 4

typedef struct {
	const char *label;
	const char *input;
	gsize len; /* nonzero: exact length, NULs included */
	gboolean fails;
	PcAddrError code;
	const char *message; /* when .fails: a substring of the message */
	PcAddrListFlags flags;
	const char *want[HEADER_WANT_MAX];
} HeaderListCase;

#define L(name) PC_ADDR_LIST_FLAG_##name

static const HeaderListCase header_cases[] = {
    /* the forms a From header takes */
    {.label = "bare", .input = "alice@example.com", .want = {"alice@example.com"}},
    {.label = "angle", .input = "<alice@example.com>", .want = {"alice@example.com"}},
    {.label = "display-name",
     .input = "Alice Smith <alice@Example.COM>",
     .flags = L(DISPLAY_NAME),
     .want = {"alice@example.com"}},
    {.label = "quoted-display-name",
     .input = "\"Smith, Alice\" <alice@example.com>",
     .flags = L(DISPLAY_NAME),
     .want = {"alice@example.com"}},
    {.label = "quoted-pair-in-name",
     .input = "\"Alice \\\"Al\\\" S\" <alice@example.com>",
     .flags = L(DISPLAY_NAME),
     .want = {"alice@example.com"}},
    {.label = "quoted-at-in-name",
     .input = "\"bob@example.com\" <evil@outside.test>",
     .flags = L(DISPLAY_NAME),
     .want = {"evil@outside.test"}},
    {.label = "unquoted-at-in-name",
     .input = "alice@example.com <evil@outside.test>",
     .flags = L(DISPLAY_NAME),
     .want = {"evil@outside.test"}},
    {.label = "comment-after",
     .input = "evil@outside.test (alice@example.com)",
     .want = {"evil@outside.test"}},
    {.label = "comment-nested",
     .input = "(a (b (alice@example.com)) c) evil@outside.test",
     .want = {"evil@outside.test"}},
    {.label = "comment-quoted-paren",
     .input = "evil@outside.test (a \\) <alice@example.com>)",
     .want = {"evil@outside.test"}},
    {.label = "comment-inside-address",
     .input = "alice(x)@(y)example.com",
     .want = {"alice@example.com"}},
    {.label = "cfws-around-dots",
     .input = "john . doe @ example . com",
     .want = {"john.doe@example.com"}},
    {.label = "folded",
     .input = "Alice\r\n\t<alice@example.com>",
     .flags = L(DISPLAY_NAME),
     .want = {"alice@example.com"}},
    {.label = "folded-lf",
     .input = "\"Alice\"\n <alice@example.com>\n",
     .flags = L(DISPLAY_NAME),
     .want = {"alice@example.com"}},
    {.label = "quoted-local",
     .input = "\"john doe\"@example.com",
     .want = {"john doe@example.com"}},
    {.label = "quoted-local-at",
     .input = "<\"alice@example.com\"@outside.test>",
     .want = {"alice@example.com@outside.test"}},
    {.label = "trailing-dot", .input = "<alice@example.com.>", .want = {"alice@example.com"}},
    {.label = "literal", .input = "<alice@[192.0.2.1]>", .want = {"alice@[192.0.2.1]"}},
    {.label = "utf8",
     .input = "J\xc3\xbcrgen <j\xc3\xbcrgen@b\xc3\xbc"
	      "cher.example>",
     .flags = L(DISPLAY_NAME),
     .want = {"j\xc3\xbcrgen@b\xc3\xbc"
	      "cher.example"}},

    /* RFC 2047: an encoded word is a display-name word, never an address */
    {.label = "encoded-word-name",
     .input = "=?utf-8?q?alice@example.com?= <evil@outside.test>",
     .flags = L(DISPLAY_NAME) | L(ENCODED_WORD),
     .want = {"evil@outside.test"}},
    {.label = "encoded-word-b",
     .input = "=?UTF-8?B?YWxpY2VAZXhhbXBsZS5jb20=?= <evil@outside.test>",
     .flags = L(DISPLAY_NAME) | L(ENCODED_WORD),
     .want = {"evil@outside.test"}},
    {.label = "encoded-word-angle-inside",
     .input = "=?utf-8?q?<alice@example.com>?= <evil@outside.test>",
     .flags = L(DISPLAY_NAME) | L(ENCODED_WORD),
     .want = {"evil@outside.test"}},
    {.label = "encoded-word-language",
     .input = "=?utf-8*en?q?Alice?= <alice@example.com>",
     .flags = L(DISPLAY_NAME) | L(ENCODED_WORD),
     .want = {"alice@example.com"}},
    {.label = "encoded-word-alone",
     .input = "=?utf-8?q?alice@example.com?=",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "address without a domain"},
    {.label = "encoded-word-as-local",
     .input = "=?utf-8?q?alice?=@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "encoded word in an address"},
    {.label = "not-encoded-word", .input = "=?x@example.com", .want = {"=?x@example.com"}},

    /* several addresses, groups */
    {.label = "two",
     .input = "alice@example.com, Bob <bob@example.com>",
     .flags = L(DISPLAY_NAME),
     .want = {"alice@example.com", "bob@example.com"}},
    {.label = "empty-elements",
     .input = " , alice@example.com,,bob@example.com ,",
     .want = {"alice@example.com", "bob@example.com"}},
    {.label = "group-empty",
     .input = "undisclosed-recipients:;",
     .flags = L(GROUP) | L(NO_ADDRESS) | L(DISPLAY_NAME)},
    {.label = "group",
     .input = "Team: alice@example.com, <bob@example.com>; , carol@example.com",
     .flags = L(GROUP) | L(DISPLAY_NAME),
     .want = {"alice@example.com", "bob@example.com", "carol@example.com"}},
    {.label = "group-not-closed",
     .input = "Team: alice@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "group not closed"},
    {.label = "group-then-address",
     .input = "Team:; carol@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "bytes after the end of a group"},
    {.label = "group-nested",
     .input = "a: b: c@example.com;;",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "group inside a group"},
    {.label = "semicolon-outside",
     .input = "alice@example.com;",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "outside a group"},
    {.label = "empty", .input = "", .flags = L(NO_ADDRESS)},
    {.label = "blank", .input = " \t (only a comment) ", .flags = L(NO_ADDRESS)},

    /* obsolete routes */
    {.label = "route",
     .input = "<@relay.test,@b.test:alice@example.com>",
     .flags = L(ROUTE),
     .want = {"@relay.test,@b.test:alice@example.com"}},
    {.label = "route-not-ended",
     .input = "<@relay.test alice@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX},

    /* refused: where two readers could disagree */
    {.label = "name-only",
     .input = "Alice",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "address without a domain"},
    {.label = "two-at",
     .input = "alice@example.com evil@outside.test",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "more than one '@'"},
    {.label = "after-angle",
     .input = "<alice@example.com> evil@outside.test",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "bytes after an angle address"},
    {.label = "words-no-dot",
     .input = "john doe@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "not joined by '.'"},
    {.label = "empty-angle",
     .input = "Alice <>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "empty angle address"},
    {.label = "angle-not-closed",
     .input = "Alice <alice@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "'<' without '>'"},
    {.label = "angle-in-angle",
     .input = "<a<alice@example.com>>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX},
    {.label = "stray-close",
     .input = "alice@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "'>' without '<'"},
    {.label = "quote-not-closed",
     .input = "\"Alice <alice@example.com>",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "quoted string not closed"},
    {.label = "comment-not-closed",
     .input = "alice@example.com (x",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "comment not closed"},
    {.label = "comment-too-deep",
     .input = "a@b.test {(*40}{)*40}",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "nested deeper"},
    {.label = "stray-backslash",
     .input = "al\\ice@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX},
    {.label = "bad-domain",
     .input = "alice@exa_mple..com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "empty label"},
    {.label = "quoted-domain",
     .input = "alice@\"example.com\"",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "invalid token in a domain"},
    {.label = "nul",
     .input = "alice@exa\0mple.com",
     .len = 18,
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "NUL byte"},
    {.label = "control",
     .input = "alice@exa\001mple.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_SYNTAX,
     .message = "control character 0x01"},

    /* limits */
    {.label = "local-64", .input = "{a*64}@example.com", .want = {"{a*64}@example.com"}},
    {.label = "local-65", .input = "{a*65}@example.com", .want = {"{a*65}@example.com"}},
    {.label = "local-200", .input = "{a*200}@example.com", .want = {"{a*200}@example.com"}},
    {.label = "local-201",
     .input = "{a*201}@example.com",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "local part over 200"},
    {.label = "header-8192", .input = "a@example.com ({x*8176})", .want = {"a@example.com"}},
    {.label = "header-8193",
     .input = "a@example.com ({x*8177})",
     .fails = TRUE,
     .code = PC_ADDR_ERROR_TOO_LONG,
     .message = "limit 8192"},
};

static char *
format_header_address(const PcAddress *address)
{
	if (address->route != NULL)
		return g_strdup_printf("%s:%s@%s", address->route, address->local, address->domain);
	return g_strdup_printf("%s@%s", address->local, address->domain);
}

static void
test_parse_header_list(gconstpointer data)
{
	const HeaderListCase *test = data;
	g_autofree char *input = NULL;
	g_autoptr(GError) error = NULL;
	static PcAddrList sentinel;
	PcAddrList *list = &sentinel;
	g_autoptr(PcAddrList) owned = NULL;
	gsize len;
	guint n_want = 0;

	if (test->len != 0) {
		input = g_memdup2(test->input, test->len);
		len = test->len;
	} else {
		g_autofree char *expanded = test_expand(test->input, &len);

		input = g_memdup2(expanded, len);
	}
	if (test->fails) {
		g_assert_false(pc_addr_parse_header_list(input, len, &list, &error));
		g_assert_error(error, PC_ADDR_ERROR, (gint)test->code);
		if (test->message != NULL && strstr(error->message, test->message) == NULL)
			g_assert_cmpstr(error->message, ==, test->message);
		assert_error_is_loggable(error);
		g_assert_true(list == &sentinel);
		return;
	}
	g_assert_true(pc_addr_parse_header_list(input, len, &list, &error));
	g_assert_no_error(error);
	owned = list;
	while (n_want < HEADER_WANT_MAX && test->want[n_want] != NULL)
		n_want++;
	g_assert_cmpuint(owned->addresses->len, ==, n_want);
	for (guint i = 0; i < n_want; i++) {
		g_autofree char *got =
		    format_header_address(g_ptr_array_index(owned->addresses, i));
		g_autofree char *want = test_expand(test->want[i], NULL);

		g_assert_cmpstr(got, ==, want);
	}
	g_assert_cmphex(owned->flags, ==, test->flags);
}

/* every domain the list parser returns is already normalised, as the path parser's are */
static void
test_header_list_domains_normalised(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(header_cases); i++) {
		g_autoptr(PcAddrList) list = NULL;
		g_autofree char *input = NULL;
		gsize len;

		if (header_cases[i].fails || header_cases[i].len != 0)
			continue;
		input = test_expand(header_cases[i].input, &len);
		g_assert_true(pc_addr_parse_header_list(input, len, &list, NULL));
		for (guint j = 0; j < list->addresses->len; j++) {
			const PcAddress *address = g_ptr_array_index(list->addresses, j);
			g_autofree char *again =
			    pc_addr_normalize_domain(address->domain, strlen(address->domain));

			g_assert_cmpstr(again, ==, address->domain);
		}
	}
}

static void
test_header_list_guards(void)
{
	PcAddrList *list = NULL;

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*list_out != NULL*");
	g_assert_false(pc_addr_parse_header_list("a@b", 3, NULL, NULL));
	g_test_assert_expected_messages();
	g_assert_true(pc_addr_parse_header_list(NULL, 0, &list, NULL));
	g_assert_cmpuint(list->addresses->len, ==, 0);
	g_assert_cmphex(list->flags, ==, PC_ADDR_LIST_FLAG_NO_ADDRESS);
	pc_addr_list_free(list);
	pc_addr_list_free(NULL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (gsize i = 0; i < G_N_ELEMENTS(path_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/addr/parse-path/", path_cases[i].label, NULL);

		g_test_add_data_func(path, &path_cases[i], test_parse_path);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(domain_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/addr/normalize-domain/", domain_cases[i].label, NULL);

		g_test_add_data_func(path, &domain_cases[i], test_normalize_domain);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(fold_cases); i++) {
		g_autofree char *path = g_strconcat("/pc/addr/fold/", fold_cases[i].label, NULL);

		g_test_add_data_func(path, &fold_cases[i], test_fold);
	}
	g_test_add_func("/pc/addr/parse-path/literal-spellings-equal",
			test_literal_spellings_equal);
	g_test_add_func("/pc/addr/normalize-domain/idempotent", test_domain_idempotent);
	g_test_add_func("/pc/addr/parse-path/nul-beats-length", test_nul_beats_length);
	g_test_add_func("/pc/addr/parse-path/rfc822-forms", test_path_forms);
	g_test_add_func("/pc/addr/guards", test_guards);
	for (gsize i = 0; i < G_N_ELEMENTS(header_cases); i++) {
		g_autofree char *path =
		    g_strconcat("/pc/addr/parse-header-list/", header_cases[i].label, NULL);

		g_test_add_data_func(path, &header_cases[i], test_parse_header_list);
	}
	g_test_add_func("/pc/addr/parse-header-list/domains-normalised",
			test_header_list_domains_normalised);
	g_test_add_func("/pc/addr/parse-header-list/guards", test_header_list_guards);

	return g_test_run();
}
