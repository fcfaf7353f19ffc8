/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify-dkim: see verify-dkim.h. The one file that includes libopendkim's
 * dkim.h: its status codes end here.
 */
#include "verify-dkim.h"

#include <opendkim/dkim.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>

#include "pc-session.h"

G_DEFINE_QUARK(verify - dkim - error - quark, verify_dkim_error)

/* RFC 8301 3.2: RSA keys of fewer bits never pass */
#define MIN_RSA_BITS 1024

const char *
verify_dkim_result_to_string(VerifyDkimResult result)
{
	static const char *const names[VERIFY_DKIM_N_RESULTS] = {
	    [VERIFY_DKIM_NONE] = "none",	   [VERIFY_DKIM_PASS] = "pass",
	    [VERIFY_DKIM_FAIL] = "fail",	   [VERIFY_DKIM_NEUTRAL] = "neutral",
	    [VERIFY_DKIM_TEMPERROR] = "temperror", [VERIFY_DKIM_PERMERROR] = "permerror",
	};

	g_return_val_if_fail((guint)result < VERIFY_DKIM_N_RESULTS, "permerror");
	return names[result];
}

/* ------------------------------------------------------------ the result */

typedef enum {
	STAGE_SIGNATURE, /* the signature itself is unusable (RFC 6376 6.1.1) */
	STAGE_KEY,	 /* the key could not be had or used (6.1.2) */
	STAGE_CHECK,	 /* the hashes were compared (6.1.3) */
} ErrorStage;

/* what libopendkim's per-signature errors mean, by RFC 6376's words */
static const struct {
	int code;
	ErrorStage stage;
	VerifyDkimResult result;
	const char *reason;
} lib_errors[] = {
    {DKIM_SIGERROR_VERSION, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "incompatible version"},
    {DKIM_SIGERROR_DOMAIN, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "domain mismatch"},
    {DKIM_SIGERROR_EXPIRED, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "signature expired"},
    {DKIM_SIGERROR_FUTURE, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "signature in the future"},
    {DKIM_SIGERROR_TIMESTAMPS, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature expires before it was made"},
    {DKIM_SIGERROR_INVALID_HC, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "unsupported canonicalization"},
    {DKIM_SIGERROR_INVALID_BC, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "unsupported canonicalization"},
    {DKIM_SIGERROR_MISSING_A, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_INVALID_A, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "unsupported algorithm"},
    {DKIM_SIGERROR_MISSING_H, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_INVALID_L, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "invalid l= tag"},
    {DKIM_SIGERROR_INVALID_Q, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "unsupported query method"},
    {DKIM_SIGERROR_INVALID_QO, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "unsupported query method"},
    {DKIM_SIGERROR_MISSING_D, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_EMPTY_D, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_MISSING_S, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_EMPTY_S, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_MISSING_B, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_EMPTY_B, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_CORRUPT_B, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "signature syntax error"},
    {DKIM_SIGERROR_MISSING_BH, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_EMPTY_BH, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_CORRUPT_BH, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "signature syntax error"},
    {DKIM_SIGERROR_EMPTY_H, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_INVALID_H, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR, "From field not signed"},
    {DKIM_SIGERROR_MISSING_V, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_EMPTY_V, STAGE_SIGNATURE, VERIFY_DKIM_PERMERROR,
     "signature missing required tag"},
    {DKIM_SIGERROR_NOKEY, STAGE_KEY, VERIFY_DKIM_PERMERROR, "no key for signature"},
    {DKIM_SIGERROR_KEYFAIL, STAGE_KEY, VERIFY_DKIM_TEMPERROR, "key unavailable"},
    {DKIM_SIGERROR_DNSSYNTAX, STAGE_KEY, VERIFY_DKIM_PERMERROR, "key syntax error"},
    {DKIM_SIGERROR_MULTIREPLY, STAGE_KEY, VERIFY_DKIM_PERMERROR, "multiple key records"},
    {DKIM_SIGERROR_KEYVERSION, STAGE_KEY, VERIFY_DKIM_PERMERROR, "incompatible key version"},
    {DKIM_SIGERROR_KEYUNKNOWNHASH, STAGE_KEY, VERIFY_DKIM_PERMERROR,
     "inappropriate hash algorithm"},
    {DKIM_SIGERROR_KEYHASHMISMATCH, STAGE_KEY, VERIFY_DKIM_PERMERROR,
     "inappropriate hash algorithm"},
    {DKIM_SIGERROR_NOTEMAILKEY, STAGE_KEY, VERIFY_DKIM_PERMERROR, "key not for email (s=)"},
    {DKIM_SIGERROR_KEYTYPEMISSING, STAGE_KEY, VERIFY_DKIM_PERMERROR, "inappropriate key algorithm"},
    {DKIM_SIGERROR_KEYTYPEUNKNOWN, STAGE_KEY, VERIFY_DKIM_PERMERROR, "inappropriate key algorithm"},
    {DKIM_SIGERROR_KEYREVOKED, STAGE_KEY, VERIFY_DKIM_PERMERROR, "key revoked"},
    {DKIM_SIGERROR_KEYDECODE, STAGE_KEY, VERIFY_DKIM_PERMERROR, "key syntax error"},
    {DKIM_SIGERROR_SUBDOMAIN, STAGE_KEY, VERIFY_DKIM_PERMERROR,
     "i= domain not allowed by the key (t=s)"},
    {DKIM_SIGERROR_KEYTOOSMALL, STAGE_KEY, VERIFY_DKIM_PERMERROR,
     "RSA key under 1024 bits (RFC 8301)"},
    {DKIM_SIGERROR_TOOLARGE_L, STAGE_CHECK, VERIFY_DKIM_FAIL, "body shorter than l="},
    {DKIM_SIGERROR_MBSFAILED, STAGE_CHECK, VERIFY_DKIM_PERMERROR, "signature not acceptable"},
    {DKIM_SIGERROR_CONDITIONAL, STAGE_CHECK, VERIFY_DKIM_PERMERROR, "signature not acceptable"},
    {DKIM_SIGERROR_CONDLOOP, STAGE_CHECK, VERIFY_DKIM_PERMERROR, "signature not acceptable"},
};

/* TRUE, with the result, when libopendkim's error is one of @stage */
static gboolean
lib_error_at(const VerifyDkimFacts *facts, ErrorStage stage, VerifyDkimResult *result,
	     const char **reason)
{
	for (gsize i = 0; i < G_N_ELEMENTS(lib_errors); i++) {
		if (lib_errors[i].code != facts->lib_error)
			continue;
		if (lib_errors[i].stage != stage)
			return FALSE;
		*result = lib_errors[i].result;
		*reason = lib_errors[i].reason;
		return TRUE;
	}
	return FALSE;
}

/* RFC 6376 6.1.1 and RFC 8301 3.1: the signature as written */
static gboolean
decide_signature(const VerifyDkimFacts *facts, VerifyDkimResult *result, const char **reason)
{
	*result = VERIFY_DKIM_PERMERROR;
	if (facts->tags->error != NULL) {
		*reason = facts->tags->error;
		return TRUE;
	}
	/*
	 * libopendkim checks what we leave to it (t= and x= digits, c=, q=);
	 * a signature it could not read may still pass its later checks
	 */
	if (facts->lib_syntax) {
		*reason = "signature syntax error";
		return TRUE;
	}
	if (facts->tags->alg == VERIFY_DKIM_ALG_RSA_SHA1) {
		*reason = "rsa-sha1 not accepted (RFC 8301)";
		return TRUE;
	}
	return lib_error_at(facts, STAGE_SIGNATURE, result, reason);
}

/* what the DNS said about the key's name */
static gboolean
decide_key_lookup(const VerifyDkimFacts *facts, VerifyDkimResult *result, const char **reason)
{
	*result = VERIFY_DKIM_TEMPERROR;
	switch (facts->key_status) {
	case PC_DNS_OK:
		return FALSE;
	case PC_DNS_NXDOMAIN:
	case PC_DNS_NODATA:
		/* RFC 6376 6.1.2 step 3: a key that does not exist is final */
		*result = VERIFY_DKIM_PERMERROR;
		*reason = "no key for signature";
		return TRUE;
	case PC_DNS_BADNAME:
		*result = VERIFY_DKIM_PERMERROR;
		*reason = "no key for signature (name cannot be asked)";
		return TRUE;
	case PC_DNS_TIMEOUT:
		*reason = "key unavailable (timeout)";
		return TRUE;
	case PC_DNS_BUDGET:
		*reason = "key unavailable (DNS budget spent)";
		return TRUE;
	case PC_DNS_SERVFAIL:
		*reason = "key unavailable (SERVFAIL)";
		return TRUE;
	case PC_DNS_RESOLVER_ERROR:
		break;
	}
	*reason = "key unavailable (resolver error)";
	return TRUE;
}

/* RFC 6376 6.1.2 steps 4 to 6 on the record we read; RFC 8463 for k=ed25519 */
static const char *
key_record_error(const VerifyDkimFacts *facts)
{
	const VerifyDkimKey *key = facts->key;
	VerifyDkimKeyType wanted = facts->tags->alg == VERIFY_DKIM_ALG_ED25519_SHA256
				       ? VERIFY_DKIM_KEY_ED25519
				       : VERIFY_DKIM_KEY_RSA;

	if (facts->key_too_large)
		return "key record too large";
	if (facts->key_records > 1)
		return "multiple key records";
	if (key == NULL)
		return NULL;
	if (key->error != NULL)
		return key->error;
	if (key->revoked)
		return "key revoked";
	if (key->type != wanted)
		return "inappropriate key algorithm";
	if (!key->sha256_allowed)
		return "inappropriate hash algorithm";
	return NULL;
}

static gboolean
decide_key(const VerifyDkimFacts *facts, VerifyDkimResult *result, const char **reason)
{
	if (facts->key_asked && decide_key_lookup(facts, result, reason))
		return TRUE;
	if (!facts->key_asked && (facts->lib_error == DKIM_SIGERROR_NOKEY ||
				  facts->lib_error == DKIM_SIGERROR_KEYFAIL)) {
		/* libopendkim gave up without asking us: nothing is known of the key */
		*result = VERIFY_DKIM_TEMPERROR;
		*reason = "key unavailable";
		return TRUE;
	}
	*result = VERIFY_DKIM_PERMERROR;
	*reason = key_record_error(facts);
	if (*reason != NULL)
		return TRUE;
	if (lib_error_at(facts, STAGE_KEY, result, reason))
		return TRUE;
	/* RFC 8301 3.2, before the signature is checked (RFC 6376 6.1.2 step 6) */
	if (facts->tags->alg != VERIFY_DKIM_ALG_ED25519_SHA256 && facts->key_bits > 0 &&
	    facts->key_bits < MIN_RSA_BITS) {
		*result = VERIFY_DKIM_PERMERROR;
		*reason = "RSA key under 1024 bits (RFC 8301)";
		return TRUE;
	}
	return FALSE;
}

/* RFC 6376 6.1.3: the body hash, then the signature */
static VerifyDkimResult
decide_check(const VerifyDkimFacts *facts, const char **reason)
{
	VerifyDkimResult result;

	if (lib_error_at(facts, STAGE_CHECK, &result, reason))
		return result;
	if (facts->lib_body_hash == DKIM_SIGBH_MISMATCH) {
		*reason = "body hash did not verify";
		return VERIFY_DKIM_FAIL;
	}
	if (facts->lib_error == DKIM_SIGERROR_BADSIG ||
	    ((facts->lib_flags & DKIM_SIGFLAG_PROCESSED) != 0 &&
	     (facts->lib_flags & DKIM_SIGFLAG_PASSED) == 0)) {
		*reason = "signature did not verify";
		return VERIFY_DKIM_FAIL;
	}
	if (facts->lib_error == DKIM_SIGERROR_OK && (facts->lib_flags & DKIM_SIGFLAG_PASSED) != 0 &&
	    facts->lib_body_hash == DKIM_SIGBH_MATCH) {
		*reason = NULL;
		return VERIFY_DKIM_PASS;
	}
	/* never a silent pass: whatever is left was not verified */
	*reason = "not verified";
	return VERIFY_DKIM_TEMPERROR;
}

VerifyDkimResult
verify_dkim_decide(const VerifyDkimFacts *facts, const char **reason_out)
{
	VerifyDkimResult result = VERIFY_DKIM_TEMPERROR;
	const char *reason = NULL;

	g_return_val_if_fail(facts != NULL && facts->tags != NULL, VERIFY_DKIM_TEMPERROR);

	if (facts->over_limits) {
		result = VERIFY_DKIM_NEUTRAL;
		reason = "message headers over the verifier's limits";
	} else if (decide_signature(facts, &result, &reason)) {
		/* decided without libopendkim */
	} else if (facts->lib_failed) {
		result = VERIFY_DKIM_TEMPERROR;
		reason = "verifier error";
	} else if (!decide_key(facts, &result, &reason)) {
		result = decide_check(facts, &reason);
	}
	if (reason_out != NULL)
		*reason_out = reason;
	return result;
}

/* --------------------------------------------------------- the A-R entry */

void
verify_dkim_signature_free(VerifyDkimSignature *signature)
{
	if (signature == NULL)
		return;
	verify_dkim_sig_tags_free(signature->tags);
	g_free(signature);
}

/*
 * how much of signature @index's b= goes into header.b: RFC 6008 asks for
 * at least 8 characters, and for enough to tell it from the other
 * signatures reported with it
 */
static gsize
b_prefix_length(const GPtrArray *signatures, guint index)
{
	const char *b =
	    ((const VerifyDkimSignature *)g_ptr_array_index(signatures, index))->tags->b;
	gsize len = strlen(b);
	gsize prefix = MIN(len, 8);
	gboolean grown = TRUE;

	while (grown && prefix < len) {
		grown = FALSE;
		for (guint i = 0; i < signatures->len && prefix < len; i++) {
			const VerifyDkimSignature *other = g_ptr_array_index(signatures, i);

			if (i == index || other->tags->b == NULL)
				continue;
			if (strncmp(other->tags->b, b, prefix) == 0) {
				prefix++;
				grown = TRUE;
			}
		}
	}
	return prefix;
}

void
verify_dkim_authres(const GPtrArray *signatures, PcAuthRes *authres)
{
	g_return_if_fail(signatures != NULL);
	g_return_if_fail(authres != NULL);

	if (signatures->len == 0) {
		pc_authres_add_result(authres, "dkim", "none");
		return;
	}
	for (guint i = 0; i < signatures->len; i++) {
		const VerifyDkimSignature *signature = g_ptr_array_index(signatures, i);
		const VerifyDkimSigTags *tags = signature->tags;
		PcAuthResResult *entry = pc_authres_add_result(
		    authres, "dkim", verify_dkim_result_to_string(signature->result));

		if (signature->reason != NULL)
			pc_authres_set_reason(entry, signature->reason);
		if (tags->domain != NULL)
			pc_authres_add_property(entry, "header", "d", tags->domain);
		if (tags->identity != NULL)
			pc_authres_add_property(entry, "header", "i", tags->identity);
		if (tags->selector != NULL)
			pc_authres_add_property(entry, "header", "s", tags->selector);
		if (tags->algorithm != NULL)
			pc_authres_add_property(entry, "header", "a", tags->algorithm);
		if (tags->b != NULL && tags->b[0] != '\0') {
			g_autofree char *b = g_strndup(tags->b, b_prefix_length(signatures, i));

			pc_authres_add_property(entry, "header", "b", b);
		}
	}
}

/* ------------------------------------------------- libopendkim and the DNS */

struct _VerifyDkim {
	DKIM_LIB *lib;
	PcDns *dns; /* borrowed; NULL: every lookup fails */
};

/* what the DNS said about one key name, for the decision */
typedef struct {
	PcDnsStatus status;
	gboolean too_large;
	guint records;
	gboolean have_key;
	VerifyDkimKey key;
} KeyLookup;

/* one DKIM-Signature handed to libopendkim */
typedef struct {
	VerifyDkimSigTags *tags;
	gboolean lib_syntax; /* dkim_header() could not read it */
} SignatureSeen;

struct _VerifyDkimMessage {
	VerifyDkim *verifier;
	char *id;
	DKIM *handle; /* NULL before the first header, and once libopendkim is done or failed */
	PcDnsBudget *budget;
	guint max_signatures;
	gboolean leading_space;
	GPtrArray *seen; /* SignatureSeen, in header order: libopendkim's list in the same order */
	guint ignored;	 /* DKIM-Signature headers past max_signatures */
	guint headers;
	gsize header_bytes;
	gboolean over_limits;
	gboolean started; /* dkim_verify() was called */
	gboolean lib_failed;
	gboolean body_wanted;
	GHashTable *lookups;   /* lowercased key name -> KeyLookup */
	GPtrArray *pending;    /* KeyQuery libopendkim has not cancelled yet */
	GPtrArray *signatures; /* VerifyDkimSignature, after eom */
	GString *scratch;
};

/*
 * libopendkim hands its DNS callbacks the library's one service handle,
 * never the message. Key lookups run synchronously inside dkim_eoh() and
 * dkim_eom() on the calling thread, so the message they are for (its
 * budget, the statuses it collects) is named by this thread-local for the
 * length of exactly that call, and cleared after it: never across
 * callbacks, which may run on other connection threads.
 */
static _Thread_local VerifyDkimMessage *resolving_message;

/* one key query in flight for libopendkim */
typedef struct {
	VerifyDkimMessage *message;
	char *name;
	unsigned char *buffer; /* libopendkim's: the answer packet goes here */
	size_t buffer_len;
	PcDnsQuery *query; /* NULL without a resolver */
} KeyQuery;

static void
key_query_free(KeyQuery *query)
{
	pc_dns_query_free(query->query);
	g_free(query->name);
	g_free(query);
}

static KeyLookup *
lookup_for(VerifyDkimMessage *message, const char *name)
{
	g_autofree char *key = g_ascii_strdown(name, -1);
	KeyLookup *lookup = g_hash_table_lookup(message->lookups, key);

	if (lookup == NULL) {
		lookup = g_new0(KeyLookup, 1);
		g_hash_table_insert(message->lookups, g_steal_pointer(&key), lookup);
	}
	return lookup;
}

/* notes what the DNS said about a key name */
static KeyLookup *
lookup_record(VerifyDkimMessage *message, const char *name, const PcDnsResult *result)
{
	KeyLookup *lookup = lookup_for(message, name);

	memset(lookup, 0, sizeof(*lookup));
	lookup->status = result->status;
	if (result->status != PC_DNS_OK)
		return lookup;
	lookup->records = result->records->len;
	if (lookup->records == 1) {
		const PcDnsRecord *record = pc_dns_result_record(result, 0);

		lookup->have_key = TRUE;
		verify_dkim_key_parse(record->text, record->text_len, &lookup->key);
		/* a NUL inside: what libopendkim reads stops there */
		if (strlen(record->text) != record->text_len && lookup->key.error == NULL)
			lookup->key.error = "key syntax error";
	}
	return lookup;
}

static int
dns_start(void *service, int type, unsigned char *name, unsigned char *buffer, size_t buffer_len,
	  void **handle_out)
{
	VerifyDkim *verifier = service;
	VerifyDkimMessage *message = resolving_message;
	KeyQuery *query;

	if (message == NULL || message->verifier != verifier || type != PC_DNS_TYPE_TXT) {
		g_critical("verify-dkim: a key lookup outside dkim_eoh/dkim_eom");
		return DKIM_DNS_ERROR;
	}
	query = g_new0(KeyQuery, 1);
	query->message = message;
	query->name = g_strdup((const char *)name);
	query->buffer = buffer;
	query->buffer_len = buffer_len;
	if (verifier->dns != NULL)
		query->query = pc_dns_query_start(verifier->dns, query->name, PC_DNS_TYPE_TXT,
						  message->budget);
	g_ptr_array_add(message->pending, query);
	*handle_out = query;
	return DKIM_DNS_SUCCESS;
}

/* libopendkim parses the reply packet itself: it gets the answer as received */
static int
dns_waitreply(void *service, void *handle, struct timeval *timeout, size_t *bytes, int *error,
	      int *dnssec)
{
	KeyQuery *query = handle;
	g_autoptr(PcDnsResult) result = NULL;
	gint64 wait_us = -1;
	KeyLookup *lookup;
	const guint8 *packet;
	gsize packet_len = 0;

	if (error != NULL)
		*error = 0;
	if (query->query == NULL) {
		lookup_for(query->message, query->name)->status = PC_DNS_RESOLVER_ERROR;
		return DKIM_DNS_ERROR;
	}
	/* libopendkim's own timeout is off (0): the query's deadline is ours */
	if (timeout != NULL)
		wait_us = (gint64)timeout->tv_sec * G_USEC_PER_SEC + timeout->tv_usec;
	result = pc_dns_query_wait(query->query, wait_us);
	if (result == NULL) {
		lookup_for(query->message, query->name)->status = PC_DNS_TIMEOUT;
		return DKIM_DNS_EXPIRED;
	}
	lookup = lookup_record(query->message, query->name, result);
	if (dnssec != NULL)
		*dnssec = result->secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_INSECURE;
	switch (result->status) {
	case PC_DNS_OK:
	case PC_DNS_NODATA:
	case PC_DNS_NXDOMAIN:
		packet =
		    result->packet != NULL ? g_bytes_get_data(result->packet, &packet_len) : NULL;
		if (packet == NULL || packet_len > query->buffer_len) {
			lookup->too_large = packet != NULL;
			return DKIM_DNS_ERROR;
		}
		memcpy(query->buffer, packet, packet_len);
		if (bytes != NULL)
			*bytes = packet_len;
		return DKIM_DNS_SUCCESS;
	case PC_DNS_TIMEOUT:
	case PC_DNS_BUDGET:
		return DKIM_DNS_EXPIRED;
	default:
		/* not the packet: libopendkim would read a SERVFAIL as "no key" */
		return DKIM_DNS_ERROR;
	}
}

/* called after every answer too: the query's end */
static int
dns_cancel(void *service, void *handle)
{
	KeyQuery *query = handle;

	g_ptr_array_remove_fast(query->message->pending, query);
	key_query_free(query);
	return 0;
}

/* signatures libopendkim should not look a key up for: decided without it */
static DKIM_CBSTAT
prescreen(DKIM *handle, DKIM_SIGINFO **sigs, int nsigs)
{
	VerifyDkimMessage *message = dkim_get_user_context(handle);

	if (message == NULL)
		return DKIM_CBSTAT_CONTINUE;
	if (nsigs < 0 || (guint)nsigs != message->seen->len) {
		g_warning("%s: verify-dkim: libopendkim lists %d signatures, %u were given",
			  message->id, nsigs, message->seen->len);
		message->lib_failed = TRUE;
		for (int i = 0; i < nsigs; i++)
			dkim_sig_ignore(sigs[i]);
		return DKIM_CBSTAT_CONTINUE;
	}
	for (int i = 0; i < nsigs; i++) {
		const SignatureSeen *seen = g_ptr_array_index(message->seen, i);

		if (seen->tags->error != NULL || seen->lib_syntax ||
		    seen->tags->alg == VERIFY_DKIM_ALG_RSA_SHA1)
			dkim_sig_ignore(sigs[i]);
	}
	return DKIM_CBSTAT_CONTINUE;
}

static gboolean
lib_set_option(DKIM_LIB *lib, dkim_opts_t option, void *value, size_t len)
{
	return dkim_options(lib, DKIM_OP_SETOPT, option, value, len) == DKIM_STAT_OK;
}

VerifyDkim *
verify_dkim_new(PcDns *dns, GError **error)
{
	g_autoptr(VerifyDkim) verifier = g_new0(VerifyDkim, 1);
	/* signatures libopendkim cannot read still get a handle, so they are reported */
	uint32_t flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int timeout = 0;
	unsigned int min_bits = MIN_RSA_BITS;

	verifier->dns = dns;
	verifier->lib = dkim_init(NULL, NULL);
	if (verifier->lib == NULL) {
		g_set_error(error, VERIFY_DKIM_ERROR, VERIFY_DKIM_ERROR_INIT,
			    "libopendkim: dkim_init failed");
		return NULL;
	}
	if (!dkim_libfeature(verifier->lib, DKIM_FEATURE_ED25519) ||
	    !dkim_libfeature(verifier->lib, DKIM_FEATURE_SHA256)) {
		g_set_error(
		    error, VERIFY_DKIM_ERROR, VERIFY_DKIM_ERROR_INIT,
		    "libopendkim was built without Ed25519 or SHA-256 (RFC 8463, RFC 8301)");
		return NULL;
	}
	if (!lib_set_option(verifier->lib, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) ||
	    !lib_set_option(verifier->lib, DKIM_OPTS_TIMEOUT, &timeout, sizeof(timeout)) ||
	    !lib_set_option(verifier->lib, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof(min_bits)) ||
	    dkim_set_prescreen(verifier->lib, prescreen) != DKIM_STAT_OK) {
		g_set_error(error, VERIFY_DKIM_ERROR, VERIFY_DKIM_ERROR_INIT,
			    "libopendkim refused an option");
		return NULL;
	}
	/* our resolver, and never libopendkim's own (res_query through libc) */
	dkim_dns_set_init(verifier->lib, NULL);
	dkim_dns_set_close(verifier->lib, NULL);
	dkim_dns_set_query_service(verifier->lib, verifier);
	dkim_dns_set_query_start(verifier->lib, dns_start);
	dkim_dns_set_query_waitreply(verifier->lib, dns_waitreply);
	dkim_dns_set_query_cancel(verifier->lib, dns_cancel);
	return g_steal_pointer(&verifier);
}

void
verify_dkim_free(VerifyDkim *verifier)
{
	if (verifier == NULL)
		return;
	if (verifier->lib != NULL)
		dkim_close(verifier->lib);
	g_free(verifier);
}

/* ------------------------------------------------------------ one message */

static void
signature_seen_free(SignatureSeen *seen)
{
	verify_dkim_sig_tags_free(seen->tags);
	g_free(seen);
}

VerifyDkimMessage *
verify_dkim_message_new(VerifyDkim *verifier, const char *id, guint max_signatures,
			PcDnsBudget *budget, gboolean leading_space)
{
	VerifyDkimMessage *message;

	g_return_val_if_fail(verifier != NULL, NULL);

	message = g_new0(VerifyDkimMessage, 1);
	message->verifier = verifier;
	message->id = g_strdup(id != NULL ? id : "NOQUEUE");
	message->budget = budget;
	message->max_signatures = max_signatures;
	message->leading_space = leading_space;
	message->seen = g_ptr_array_new_with_free_func((GDestroyNotify)signature_seen_free);
	message->lookups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	message->pending = g_ptr_array_new();
	message->signatures =
	    g_ptr_array_new_with_free_func((GDestroyNotify)verify_dkim_signature_free);
	message->scratch = g_string_new(NULL);
	return message;
}

static void
drop_handle(VerifyDkimMessage *message)
{
	if (message->handle != NULL)
		dkim_free(message->handle);
	message->handle = NULL;
	message->body_wanted = FALSE;
}

void
verify_dkim_message_free(VerifyDkimMessage *message)
{
	if (message == NULL)
		return;
	drop_handle(message);
	/* libopendkim cancels every query it starts; this is only a safety net */
	for (guint i = 0; i < message->pending->len; i++)
		key_query_free(g_ptr_array_index(message->pending, i));
	g_ptr_array_unref(message->pending);
	g_ptr_array_unref(message->seen);
	g_hash_table_unref(message->lookups);
	g_ptr_array_unref(message->signatures);
	g_string_free(message->scratch, TRUE);
	g_free(message->id);
	g_free(message);
}

/* "Name:" and the value as in the message, CRLF between folded lines */
static void
header_text(GString *out, const char *name, const char *value, gboolean leading_space)
{
	g_string_assign(out, name);
	g_string_append_c(out, ':');
	/* without SMFIP_HDR_LEADSPC the MTA took the blanks: one space is the usual */
	if (!leading_space)
		g_string_append_c(out, ' ');
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			g_string_append_c(out, '\r');
		g_string_append_c(out, *p);
	}
}

static gboolean
ensure_handle(VerifyDkimMessage *message)
{
	DKIM_STAT status = DKIM_STAT_OK;

	if (message->handle != NULL)
		return TRUE;
	/* made once, at the first header; after a failure there is none */
	if (message->started)
		return FALSE;
	message->started = TRUE;
	message->handle =
	    dkim_verify(message->verifier->lib, (const unsigned char *)message->id, NULL, &status);
	if (message->handle == NULL) {
		message->lib_failed = TRUE;
		return FALSE;
	}
	dkim_set_user_context(message->handle, message);
	return TRUE;
}

/* counts a header against the limits; FALSE once over them */
static gboolean
within_limits(VerifyDkimMessage *message, const char *name, const char *value)
{
	if (message->over_limits)
		return FALSE;
	message->headers++;
	message->header_bytes += strlen(name) + strlen(value) + 2;
	if (message->headers > PC_SESSION_MAX_HEADERS ||
	    message->header_bytes > PC_SESSION_MAX_HEADER_BYTES) {
		message->over_limits = TRUE;
		drop_handle(message);
		return FALSE;
	}
	return TRUE;
}

void
verify_dkim_header(VerifyDkimMessage *message, const char *name, const char *value)
{
	SignatureSeen *seen = NULL;
	gboolean signature;
	gboolean within;

	g_return_if_fail(message != NULL);
	g_return_if_fail(name != NULL && value != NULL);

	signature = g_ascii_strcasecmp(name, "DKIM-Signature") == 0;
	if (signature && message->seen->len >= message->max_signatures) {
		/* a DoS bound: not even handed to libopendkim, which would hash for it */
		message->ignored++;
		return;
	}
	within = within_limits(message, name, value);
	/* past the header limits a signature is still reported (neutral), never verified */
	if (signature) {
		seen = g_new0(SignatureSeen, 1);
		seen->tags = verify_dkim_signature_parse(value, strlen(value));
		g_ptr_array_add(message->seen, seen);
	}
	if (!within || !ensure_handle(message))
		return;
	header_text(message->scratch, name, value, message->leading_space);
	/*
	 * SYNTAX for a DKIM-Signature means libopendkim could not read it (it
	 * is listed all the same: BADSIGHANDLES); for another header, that the
	 * header was not taken, so a signature over it fails
	 */
	switch (
	    dkim_header(message->handle, (u_char *)message->scratch->str, message->scratch->len)) {
	case DKIM_STAT_OK:
		break;
	case DKIM_STAT_SYNTAX:
		if (seen != NULL)
			seen->lib_syntax = TRUE;
		break;
	default:
		message->lib_failed = TRUE;
		drop_handle(message);
		break;
	}
}

/* runs one libopendkim step that may look keys up */
static DKIM_STAT
run_resolving(VerifyDkimMessage *message, DKIM_STAT (*step)(VerifyDkimMessage *message))
{
	DKIM_STAT status;

	resolving_message = message;
	status = step(message);
	resolving_message = NULL;
	return status;
}

static DKIM_STAT
eoh_step(VerifyDkimMessage *message)
{
	return dkim_eoh(message->handle);
}

static DKIM_STAT
eom_step(VerifyDkimMessage *message)
{
	return dkim_eom(message->handle, NULL);
}

void
verify_dkim_eoh(VerifyDkimMessage *message)
{
	g_return_if_fail(message != NULL);

	if (message->handle == NULL)
		return;
	switch (run_resolving(message, eoh_step)) {
	case DKIM_STAT_OK:
		message->body_wanted = TRUE;
		break;
	case DKIM_STAT_NOSIG:
		/* unsigned, or every signature decided without libopendkim */
		drop_handle(message);
		break;
	default:
		message->lib_failed = TRUE;
		drop_handle(message);
		break;
	}
}

void
verify_dkim_body(VerifyDkimMessage *message, const guchar *chunk, gsize len)
{
	g_return_if_fail(message != NULL);

	if (!message->body_wanted || len == 0)
		return;
	if (dkim_body(message->handle, (u_char *)chunk, len) != DKIM_STAT_OK) {
		message->lib_failed = TRUE;
		drop_handle(message);
	}
}

/* the facts libopendkim has about signature @sig (NULL: it has none) */
static void
facts_from_lib(VerifyDkimFacts *facts, DKIM_SIGINFO *sig)
{
	unsigned int bits = 0;

	facts->lib_error = DKIM_SIGERROR_UNKNOWN;
	facts->lib_body_hash = DKIM_SIGBH_UNTESTED;
	if (sig == NULL)
		return;
	facts->lib_error = dkim_sig_geterror(sig);
	facts->lib_flags = dkim_sig_getflags(sig);
	facts->lib_body_hash = dkim_sig_getbh(sig);
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		facts->key_bits = bits;
}

static void
facts_from_dns(VerifyDkimFacts *facts, VerifyDkimMessage *message, const VerifyDkimSigTags *tags)
{
	g_autofree char *name = NULL;
	g_autofree char *key = NULL;
	const KeyLookup *lookup;

	if (tags->selector == NULL || tags->domain == NULL)
		return;
	name = g_strconcat(tags->selector, "._domainkey.", tags->domain, NULL);
	key = g_ascii_strdown(name, -1);
	lookup = g_hash_table_lookup(message->lookups, key);
	if (lookup == NULL)
		return;
	facts->key_asked = TRUE;
	facts->key_status = lookup->status;
	facts->key_too_large = lookup->too_large;
	facts->key_records = lookup->records;
	facts->key = lookup->have_key ? &lookup->key : NULL;
}

static void
decide_all(VerifyDkimMessage *message, DKIM_SIGINFO **sigs, int nsigs)
{
	for (guint i = 0; i < message->seen->len; i++) {
		SignatureSeen *seen = g_ptr_array_index(message->seen, i);
		VerifyDkimSignature *signature = g_new0(VerifyDkimSignature, 1);
		VerifyDkimFacts facts = {
		    .over_limits = message->over_limits,
		    .lib_failed = message->lib_failed,
		    .tags = seen->tags,
		    .lib_syntax = seen->lib_syntax,
		};

		facts_from_lib(&facts, sigs != NULL && (int)i < nsigs ? sigs[i] : NULL);
		facts_from_dns(&facts, message, seen->tags);
		signature->result = verify_dkim_decide(&facts, &signature->reason);
		signature->key_bits =
		    facts.tags->alg != VERIFY_DKIM_ALG_ED25519_SHA256 ? facts.key_bits : 0;
		signature->testing = facts.key != NULL && facts.key->testing;
		signature->tags = g_steal_pointer(&seen->tags);
		g_ptr_array_add(message->signatures, signature);
	}
}

void
verify_dkim_eom(VerifyDkimMessage *message)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;

	g_return_if_fail(message != NULL);

	if (message->handle != NULL) {
		switch (run_resolving(message, eom_step)) {
		case DKIM_STAT_NORESOURCE:
		case DKIM_STAT_INTERNAL:
		case DKIM_STAT_INVALID:
		case DKIM_STAT_CBERROR:
		case DKIM_STAT_CBINVALID:
		case DKIM_STAT_CBREJECT:
		case DKIM_STAT_CBTRYAGAIN:
			message->lib_failed = TRUE;
			break;
		default:
			/* OK, BADSIG, NOKEY, CANTVRFY...: said per signature below */
			if (dkim_getsiglist(message->handle, &sigs, &nsigs) != DKIM_STAT_OK)
				message->lib_failed = TRUE;
			break;
		}
	}
	decide_all(message, message->lib_failed ? NULL : sigs, nsigs);
	drop_handle(message);
}

const GPtrArray *
verify_dkim_signatures(const VerifyDkimMessage *message)
{
	g_return_val_if_fail(message != NULL, NULL);
	return message->signatures;
}

guint
verify_dkim_ignored(const VerifyDkimMessage *message)
{
	g_return_val_if_fail(message != NULL, 0);
	return message->ignored;
}
