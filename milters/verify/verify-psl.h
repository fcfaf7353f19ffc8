/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-psl: the public suffix list, for RFC 7489's organisational domain
 * (`[verify] dmarc_org_domain = psl`; the default is RFC 9989's DNS tree
 * walk). The list is Debian's `publicsuffix` package
 * (/usr/share/publicsuffix/public_suffix_list.dat), both its ICANN and its
 * private sections, read once at start and at reload.
 *
 * The algorithm is the list's own (publicsuffix.org): of the rules that
 * match a name label by label from the right ('*' matching any one label),
 * an exception rule ('!') wins and stands for itself less its leftmost
 * label; otherwise the rule with the most labels; with none, the name's last
 * label. The organisational domain is that public suffix and one more label.
 * Rules in Unicode are compared in their ASCII (A-label) form, as names in
 * mail are.
 *
 * Thread-safety: a loaded list is read-only; any thread may query it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VERIFY_PSL_DEFAULT_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
/* bounds on what is read: a rule's length, the number of rules */
#define VERIFY_PSL_MAX_RULE 253
#define VERIFY_PSL_MAX_RULES 100000

typedef struct _VerifyPsl VerifyPsl;

/* (transfer full) the list in data[0..len); name is the file named in errors */
VerifyPsl *verify_psl_new_from_data(const char *data, gsize len, const char *name, GError **error);
/* (transfer full) the list in the file at path; errors name the file and the line */
VerifyPsl *verify_psl_load(const char *path, GError **error);
void verify_psl_free(VerifyPsl *psl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VerifyPsl, verify_psl_free)

guint verify_psl_get_n_rules(const VerifyPsl *psl);

/*
 * (transfer full) the organisational domain of domain: an ASCII name, any
 * case, a trailing dot allowed. A name that is itself a public suffix is its
 * own organisational domain. NULL for what is not a name (empty labels,
 * over 253 octets).
 */
char *verify_psl_org_domain(const VerifyPsl *psl, const char *domain);

G_END_DECLS
