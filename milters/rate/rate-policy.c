/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rate-policy: limits per key and window, checked early and committed at
 * EOM. Store keys are "rate:NAME:PERIOD:VALUE" (PERIOD in seconds), one per
 * window, so that a reload or a per-domain override that changes a limit's
 * rate keeps the bucket of every window whose period is unchanged.
 */
#include "rate-policy.h"

#include <string.h>

#include "pc-addr.h"
#include "pc-gcra.h"

/* values longer than this are hashed in store keys (addresses are at most 256) */
#define RATE_MAX_KEY_VALUE 300

/* a limit, a key value and an amount: one bucket per window of the limit */
typedef struct {
	const char *name;
	const RateLimitConfig *limit;
	const char *value;
	gint64 quantity;
	gint pending;  /* index in state->pending whose headroom this check refreshes, or -1 */
	gint addition; /* the same in the RCPT additions, or -1 */
} RateCandidate;

gpointer
rate_session_new(PcSession *session)
{
	return g_new0(RateSession, 1);
}

void
rate_session_free(gpointer data)
{
	RateSession *state = data;

	if (state == NULL)
		return;
	g_free(state->connection_limit);
	g_free(state->connection_quarantine);
	g_free(state);
}

gpointer
rate_message_new(PcSession *session)
{
	RateMessage *message = g_new0(RateMessage, 1);

	message->pending = g_array_new(FALSE, FALSE, sizeof(RatePending));
	return message;
}

void
rate_message_free(gpointer data)
{
	RateMessage *message = data;

	if (message == NULL)
		return;
	for (guint i = 0; i < message->pending->len; i++)
		g_free(g_array_index(message->pending, RatePending, i).value);
	g_array_unref(message->pending);
	g_free(message->sender);
	g_free(message->sender_domain);
	g_free(message);
}

char *
rate_normalize_address(const char *path, char **domain_out)
{
	g_autoptr(PcAddress) address = NULL;
	gsize len;

	*domain_out = NULL;
	if (path == NULL)
		return g_strdup("");
	len = strnlen(path, RATE_MAX_KEY_VALUE + 1);
	if (!pc_addr_parse_path(path, len, &address, NULL))
		return g_ascii_strdown(path, (gssize)len);
	if (address->flags & PC_ADDR_FLAG_NULL)
		return g_strdup("");
	if (address->domain[0] == '\0')
		return g_ascii_strdown(address->local, -1);
	*domain_out = g_strdup(address->domain);
	{
		g_autofree char *local = g_ascii_strdown(address->local, -1);

		return g_strconcat(local, "@", address->domain, NULL);
	}
}

/* ------------------------------------------------------------ limits */

static const PcConfigSection *
rate_limits(const PcSession *session, guint *n_out)
{
	return pc_config_get_sections(session->config, "rate", n_out);
}

static gboolean
rate_limit_applies(const RateLimitConfig *limit, const PcSession *session)
{
	if (limit->exempt_trusted && session->trusted)
		return FALSE;
	if (limit->roles[0] == NULL)
		return TRUE;
	for (gsize i = 0; limit->roles[i] != NULL; i++) {
		if (g_ascii_strcasecmp(limit->roles[i],
				       pc_listener_role_to_string(session->role)) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
rate_key_is_recipient(int key)
{
	return key == RATE_KEY_RECIPIENT || key == RATE_KEY_RECIPIENT_DOMAIN;
}

static void
rate_parse_sender(const PcSession *session, RateMessage *state)
{
	if (state->sender_parsed)
		return;
	state->sender = rate_normalize_address(session->sender, &state->sender_domain);
	state->sender_parsed = TRUE;
}

/*
 * the key's value for this session (recipient: the normalised recipient and
 * its domain), and the domain whose domains.d file may override the limit;
 * FALSE when the key has no value here (no login, the null sender, no
 * message yet: state is NULL at CONNECT)
 */
static gboolean
rate_key_value(const RateLimitConfig *limit, const PcSession *session, RateMessage *state,
	       const char *recipient, const char *recipient_domain, char **value_out,
	       const char **domain_out)
{
	char network[PC_NET_ADDRESS_STRLEN];
	const char *at;

	*domain_out = NULL;
	switch ((RateKey)limit->key) {
	case RATE_KEY_CLIENT_IP:
		if (!session->client_known)
			return FALSE;
		*value_out = g_strdup(session->client_ip);
		return TRUE;
	case RATE_KEY_CLIENT_NET:
		if (!session->client_known)
			return FALSE;
		pc_net_address_network_key(&session->client, (guint)limit->ipv4_prefix,
					   (guint)limit->ipv6_prefix, network, sizeof(network));
		*value_out = g_strdup(network);
		return TRUE;
	case RATE_KEY_LOGIN:
		if (!pc_session_is_authenticated(session))
			return FALSE;
		*value_out = g_ascii_strdown(session->auth_login, -1);
		at = strrchr(*value_out, '@');
		*domain_out = at != NULL && at[1] != '\0' ? at + 1 : NULL;
		return TRUE;
	case RATE_KEY_SENDER:
	case RATE_KEY_SENDER_DOMAIN:
		/* no message (at CONNECT): no sender yet */
		if (state == NULL)
			return FALSE;
		rate_parse_sender(session, state);
		if (state->sender == NULL || state->sender[0] == '\0')
			return FALSE;
		*domain_out = state->sender_domain;
		if (limit->key == RATE_KEY_SENDER_DOMAIN && state->sender_domain == NULL)
			return FALSE;
		*value_out =
		    g_strdup(limit->key == RATE_KEY_SENDER ? state->sender : state->sender_domain);
		return TRUE;
	case RATE_KEY_RECIPIENT:
	case RATE_KEY_RECIPIENT_DOMAIN:
		if (recipient == NULL || recipient[0] == '\0')
			return FALSE;
		*domain_out = recipient_domain;
		if (limit->key == RATE_KEY_RECIPIENT_DOMAIN && recipient_domain == NULL)
			return FALSE;
		*value_out =
		    g_strdup(limit->key == RATE_KEY_RECIPIENT ? recipient : recipient_domain);
		return TRUE;
	}
	return FALSE;
}

/* the limit as the domain's file overrides it (the main file's when none) */
static const RateLimitConfig *
rate_limit_for_domain(const PcSession *session, const PcConfigSection *section, const char *domain)
{
	if (domain == NULL)
		return section->data;
	return pc_config_get_domain_group(session->config, section->group, domain);
}

static char *
rate_store_key(const char *name, gint64 period_us, const char *value)
{
	if (strlen(value) > RATE_MAX_KEY_VALUE) {
		g_autofree char *digest =
		    g_compute_checksum_for_string(G_CHECKSUM_SHA256, value, -1);

		return g_strdup_printf("rate:%s:%" G_GINT64_FORMAT ":sha256:%s", name,
				       period_us / G_USEC_PER_SEC, digest);
	}
	return g_strdup_printf("rate:%s:%" G_GINT64_FORMAT ":%s", name, period_us / G_USEC_PER_SEC,
			       value);
}

void
rate_admin_window_free(gpointer data)
{
	RateAdminWindow *window = data;

	g_free(window->limit);
	g_free(window->value);
	g_free(window->store_key);
	g_free(window);
}

/* the value limit keys for what an admin typed, or NULL when it cannot be one */
static char *
rate_admin_value(const RateLimitConfig *limit, const char *text)
{
	PcNetAddress address;
	char buf[PC_NET_ADDRESS_STRLEN];
	gboolean is_address = pc_net_address_parse(text, &address);
	g_autofree char *domain = NULL;
	g_autofree char *normal = NULL;

	switch ((RateKey)limit->key) {
	case RATE_KEY_CLIENT_IP:
		return is_address ? g_strdup(pc_net_address_to_string(&address, buf, sizeof(buf)))
				  : NULL;
	case RATE_KEY_CLIENT_NET:
		if (is_address)
			return g_strdup(pc_net_address_network_key(
			    &address, (guint)limit->ipv4_prefix, (guint)limit->ipv6_prefix, buf,
			    sizeof(buf)));
		return strchr(text, '/') != NULL ? g_strdup(text) : NULL;
	case RATE_KEY_LOGIN:
		return is_address ? NULL : g_ascii_strdown(text, -1);
	case RATE_KEY_SENDER:
	case RATE_KEY_RECIPIENT:
		if (is_address || strchr(text, '@') == NULL)
			return NULL;
		{
			g_autofree char *path = g_strdup_printf("<%s>", text);

			normal = rate_normalize_address(path, &domain);
		}
		return g_steal_pointer(&normal);
	case RATE_KEY_SENDER_DOMAIN:
	case RATE_KEY_RECIPIENT_DOMAIN:
		if (is_address)
			return NULL;
		return g_ascii_strdown(strchr(text, '@') != NULL ? strrchr(text, '@') + 1 : text,
				       -1);
	}
	return NULL;
}

GPtrArray *
rate_admin_windows(const PcConfig *config, const char *value)
{
	GPtrArray *windows = g_ptr_array_new_with_free_func(rate_admin_window_free);
	guint n = 0;
	const PcConfigSection *sections = pc_config_get_sections(config, "rate", &n);

	for (guint i = 0; i < n; i++) {
		const RateLimitConfig *limit = sections[i].data;
		g_autofree char *keyed = rate_admin_value(limit, value);

		for (guint w = 0; keyed != NULL && w < limit->rate->len; w++) {
			const PcConfigRateWindow *rate =
			    &g_array_index(limit->rate, PcConfigRateWindow, w);
			RateAdminWindow *window = g_new0(RateAdminWindow, 1);

			window->limit = g_strdup(sections[i].name);
			window->key_type = rate_key_to_string(limit->key);
			window->value = g_strdup(keyed);
			window->store_key =
			    rate_store_key(sections[i].name, rate->period_us, keyed);
			window->count = rate->count;
			window->period_us = rate->period_us;
			pc_gcra_limit(rate->count, rate->period_us, limit->burst,
				      &window->emission_interval_us, &window->burst_tolerance_us);
			g_ptr_array_add(windows, window);
		}
	}
	return windows;
}

/* one GCRA window per window of the candidate's limit; keys owned by keys */
static void
rate_append_windows(GArray *windows, GPtrArray *keys, const RateCandidate *candidate)
{
	const GArray *rate = candidate->limit->rate;

	for (guint w = 0; w < rate->len; w++) {
		const PcConfigRateWindow *window = &g_array_index(rate, PcConfigRateWindow, w);
		gint64 burst =
		    candidate->limit->burst > 0 ? candidate->limit->burst : window->count;
		PcStoreGcraWindow gcra = {0};
		char *key = rate_store_key(candidate->name, window->period_us, candidate->value);

		g_ptr_array_add(keys, key);
		gcra.key = key;
		pc_gcra_limit(window->count, window->period_us, candidate->limit->burst,
			      &gcra.emission_interval_us, &gcra.burst_tolerance_us);
		/* more bytes than the bucket holds count as a full bucket, or never pass */
		gcra.quantity = candidate->limit->count == RATE_COUNT_BYTES
				    ? MIN(candidate->quantity, burst)
				    : candidate->quantity;
		g_array_append_val(windows, gcra);
	}
}

/*
 * rate_decide: checks the candidates together and, when commit, charges them
 * all or none. On refusal *refused_out is the candidate asking for the
 * longest wait and *retry_out that wait.
 */
static PcLookupStatus
rate_decide(PcSession *session, const RateCandidate *candidates, guint n_candidates,
	    gboolean commit, gboolean *allowed_out, guint *refused_out, gint64 *retry_out,
	    gint64 *available_out)
{
	g_autoptr(GArray) windows = g_array_new(FALSE, FALSE, sizeof(PcStoreGcraWindow));
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
	g_autofree gint64 *available = NULL;
	gint64 longest = -1;
	PcLookupStatus status;

	*allowed_out = TRUE;
	if (n_candidates == 0)
		return PC_LOOKUP_FOUND;
	for (guint i = 0; i < n_candidates; i++)
		rate_append_windows(windows, keys, &candidates[i]);
	available = g_new0(gint64, windows->len);
	status = pc_store_gcra_multi(session->store, (const PcStoreGcraWindow *)windows->data,
				     windows->len, commit, session->now_us, allowed_out, retry_out,
				     available);
	/* per candidate: the least any of its windows has free */
	for (guint i = 0, w = 0; available_out != NULL && i < n_candidates; i++) {
		available_out[i] = G_MAXINT64;
		for (guint k = 0; k < candidates[i].limit->rate->len; k++, w++)
			available_out[i] = MIN(available_out[i], available[w]);
	}
	if (status != PC_LOOKUP_FOUND || *allowed_out)
		return status;
	/* which one: asked one by one (the refusal path only) */
	*refused_out = 0;
	for (guint i = 0, first = 0; i < n_candidates; i++) {
		guint n = candidates[i].limit->rate->len;
		gboolean allowed = TRUE;
		gint64 retry = 0;

		if (pc_store_gcra_multi(
			session->store, &g_array_index(windows, PcStoreGcraWindow, first), n, FALSE,
			session->now_us, &allowed, &retry, NULL) == PC_LOOKUP_FOUND &&
		    !allowed && retry > longest) {
			longest = retry;
			*refused_out = i;
		}
		first += n;
	}
	if (longest > 0)
		*retry_out = longest;
	return PC_LOOKUP_FOUND;
}

static void
rate_store_failed(const PcSession *session, PcVerdict *verdict)
{
	pc_verdict_lookup_failed(verdict, pc_config_get_daemon(session->config)->on_error,
				 "store-error");
}

static void
rate_refuse(PcVerdict *verdict, const char *name, int action, gint64 retry_us, RateOutcome *outcome)
{
	g_autofree char *seconds =
	    g_strdup_printf("%" G_GINT64_FORMAT, pc_gcra_retry_seconds(retry_us));

	if (action == RATE_ACTION_REJECT)
		pc_verdict_set(verdict, PC_ACTION_REJECT, "550", "5.7.1", "rate-limit",
			       "Rate limit exceeded");
	else
		pc_verdict_set(verdict, PC_ACTION_TEMPFAIL, "451", "4.7.1", "rate-limit",
			       "Rate limit exceeded, try again in %s seconds", seconds);
	pc_verdict_add_field(verdict, "limit", name);
	pc_verdict_add_field(verdict, "retry", seconds);
	outcome->limit = name;
	outcome->action = action;
}

static void
rate_quarantine(PcVerdict *verdict, const char *name, RateOutcome *outcome)
{
	pc_verdict_set(verdict, PC_ACTION_QUARANTINE, NULL, NULL, "rate-limit",
		       "portcullis-rate: limit %s exceeded", name);
	pc_verdict_add_field(verdict, "limit", name);
	outcome->limit = name;
	outcome->action = RATE_ACTION_QUARANTINE;
}

static void
rate_candidates_clear(GArray *candidates)
{
	for (guint i = 0; i < candidates->len; i++)
		g_free((char *)g_array_index(candidates, RateCandidate, i).value);
	g_array_set_size(candidates, 0);
}

/* what an allowed check saw free, kept with the bucket's pending entry */
static void
rate_keep_headroom(RateMessage *state, const GArray *candidates, const gint64 *available,
		   GArray *additions)
{
	for (guint i = 0; i < candidates->len; i++) {
		const RateCandidate *candidate = &g_array_index(candidates, RateCandidate, i);

		if (candidate->pending >= 0)
			g_array_index(state->pending, RatePending, candidate->pending).headroom =
			    available[i];
		else if (candidate->addition >= 0 && additions != NULL)
			g_array_index(additions, RatePending, candidate->addition).headroom =
			    available[i];
	}
}

/* ------------------------------------------------------------ CONNECT */

void
rate_policy_connect(PcSession *session, RateSession *state, PcVerdict *verdict,
		    RateOutcome *outcome)
{
	guint n_limits = 0;
	const PcConfigSection *limits = rate_limits(session, &n_limits);
	g_autoptr(GArray) candidates = g_array_new(FALSE, FALSE, sizeof(RateCandidate));

	/* refusing limits first, then the quarantine ones: each class all or nothing */
	for (int pass = 0; pass < 2; pass++) {
		gboolean quarantine = pass == 1;
		gboolean allowed = TRUE;
		guint refused = 0;
		gint64 retry = 0;

		for (guint i = 0; i < n_limits; i++) {
			const RateLimitConfig *limit = limits[i].data;
			RateCandidate candidate = {.name = limits[i].name,
						   .limit = limit,
						   .quantity = 1,
						   .pending = -1,
						   .addition = -1};
			const char *domain = NULL;
			char *value = NULL;

			if (limit->count != RATE_COUNT_CONNECTIONS ||
			    (limit->action == RATE_ACTION_QUARANTINE) != quarantine ||
			    !rate_limit_applies(limit, session) ||
			    !rate_key_value(limit, session, NULL, NULL, NULL, &value, &domain))
				continue;
			candidate.value = value;
			g_array_append_val(candidates, candidate);
		}
		/*
		 * a store failure is not acted on here: CONNECT takes no reply (the
		 * milter API allows no text there), and the checks at MAIL meet the
		 * same store and apply on_error with a reply the client can read
		 */
		if (rate_decide(session, (const RateCandidate *)candidates->data, candidates->len,
				TRUE, &allowed, &refused, &retry, NULL) == PC_LOOKUP_FOUND &&
		    !allowed) {
			const RateCandidate *culprit =
			    &g_array_index(candidates, RateCandidate, refused);

			if (quarantine) {
				g_free(state->connection_quarantine);
				state->connection_quarantine = g_strdup(culprit->name);
			} else {
				g_free(state->connection_limit);
				state->connection_limit = g_strdup(culprit->name);
				state->connection_action = culprit->limit->action;
				state->connection_retry_at = session->now_us + retry;
			}
		}
		rate_candidates_clear(candidates);
	}
}

/* ------------------------------------------------------------ MAIL */

static RatePending *
rate_find_pending(RateMessage *state, guint limit, const char *value)
{
	for (guint i = 0; i < state->pending->len; i++) {
		RatePending *pending = &g_array_index(state->pending, RatePending, i);

		if (pending->limit == limit && strcmp(pending->value, value) == 0)
			return pending;
	}
	return NULL;
}

static void
rate_add_pending(RateMessage *state, guint limit, char *value, const RateLimitConfig *config,
		 gint64 quantity)
{
	RatePending pending = {
	    .limit = limit, .value = value, .config = config, .quantity = quantity};

	g_array_append_val(state->pending, pending);
}

/* what one more message, recipient or byte count of this limit asks for at once */
static gint64
rate_initial_quantity(const RateLimitConfig *limit, const PcSession *session)
{
	switch ((RateCount)limit->count) {
	case RATE_COUNT_MESSAGES:
	case RATE_COUNT_RECIPIENTS:
		return 1;
	case RATE_COUNT_BYTES:
		return session->mail_size > 0 ? session->mail_size : 0;
	case RATE_COUNT_CONNECTIONS:
		break;
	}
	return 0;
}

void
rate_policy_mail(PcSession *session, RateSession *state, PcVerdict *verdict, RateOutcome *outcome)
{
	guint n_limits = 0;
	const PcConfigSection *limits = rate_limits(session, &n_limits);
	g_autoptr(GArray) candidates = g_array_new(FALSE, FALSE, sizeof(RateCandidate));
	g_autofree gint64 *available = NULL;
	gboolean allowed = TRUE;
	guint refused = 0;
	gint64 retry = 0;
	RateMessage *message = session->message_data;

	g_return_if_fail(message != NULL);
	if (state->connection_limit != NULL) {
		rate_refuse(verdict, state->connection_limit, state->connection_action,
			    MAX(state->connection_retry_at - session->now_us, 1), outcome);
		return;
	}
	for (guint i = 0; i < n_limits; i++) {
		const RateLimitConfig *limit = limits[i].data;
		const char *domain = NULL;
		char *value = NULL;
		RateCandidate candidate = {.name = limits[i].name, .pending = -1, .addition = -1};

		if (limit->count == RATE_COUNT_CONNECTIONS || rate_key_is_recipient(limit->key) ||
		    !rate_limit_applies(limit, session) ||
		    !rate_key_value(limit, session, message, NULL, NULL, &value, &domain))
			continue;
		candidate.limit = rate_limit_for_domain(session, &limits[i], domain);
		/* recipients are counted from RCPT on; the entry waits for them */
		rate_add_pending(message, i, value, candidate.limit,
				 limit->count == RATE_COUNT_MESSAGES ? 1 : 0);
		/*
		 * a recipients limit is asked for one recipient now: a sender with no
		 * recipient left is refused at MAIL, and the headroom learnt here
		 * spares the checks of the next recipients
		 */
		candidate.quantity = rate_initial_quantity(limit, session);
		if (candidate.quantity == 0 || limit->action == RATE_ACTION_QUARANTINE)
			continue;
		if (limit->count == RATE_COUNT_RECIPIENTS)
			candidate.pending = (gint)message->pending->len - 1;
		candidate.value = g_strdup(value);
		g_array_append_val(candidates, candidate);
	}
	available = g_new0(gint64, MAX(candidates->len, 1));
	if (rate_decide(session, (const RateCandidate *)candidates->data, candidates->len, FALSE,
			&allowed, &refused, &retry, available) != PC_LOOKUP_FOUND)
		rate_store_failed(session, verdict);
	else if (!allowed)
		rate_refuse(verdict, g_array_index(candidates, RateCandidate, refused).name,
			    g_array_index(candidates, RateCandidate, refused).limit->action, retry,
			    outcome);
	else
		rate_keep_headroom(message, candidates, available, NULL);
	rate_candidates_clear(candidates);
}

/* ------------------------------------------------------------ RCPT */

/* the amounts this recipient adds, as candidates (to check) and as pending (to keep) */
static void
rate_rcpt_candidates(PcSession *session, RateMessage *state, const char *recipient,
		     const char *recipient_domain, GArray *candidates, GArray *additions)
{
	guint n_limits = 0;
	const PcConfigSection *limits = rate_limits(session, &n_limits);

	for (guint i = 0; i < n_limits; i++) {
		const RateLimitConfig *limit = limits[i].data;
		RatePending *pending = NULL;
		const char *domain = NULL;
		g_autofree char *value = NULL;
		RateCandidate candidate = {.name = limits[i].name, .pending = -1, .addition = -1};
		RatePending addition = {.limit = i};

		if (limit->count == RATE_COUNT_CONNECTIONS || !rate_limit_applies(limit, session))
			continue;
		if (!rate_key_is_recipient(limit->key)) {
			/* known since MAIL: only recipient counts grow here */
			if (limit->count != RATE_COUNT_RECIPIENTS ||
			    !rate_key_value(limit, session, state, NULL, NULL, &value, &domain))
				continue;
			pending = rate_find_pending(state, i, value);
			if (pending == NULL)
				continue;
			candidate.limit = pending->config;
			candidate.quantity = pending->quantity + 1;
			candidate.pending = (gint)(pending - (RatePending *)state->pending->data);
		} else {
			if (!rate_key_value(limit, session, state, recipient, recipient_domain,
					    &value, &domain))
				continue;
			pending = rate_find_pending(state, i, value);
			/* a message counts once per key, bytes too */
			if (pending != NULL && limit->count != RATE_COUNT_RECIPIENTS)
				continue;
			candidate.limit = pending != NULL
					      ? pending->config
					      : rate_limit_for_domain(session, &limits[i], domain);
			candidate.quantity = pending != NULL
						 ? pending->quantity + 1
						 : rate_initial_quantity(limit, session);
			if (pending != NULL)
				candidate.pending =
				    (gint)(pending - (RatePending *)state->pending->data);
			else
				candidate.addition = (gint)additions->len;
		}
		addition.config = candidate.limit;
		addition.value = g_strdup(value);
		addition.quantity = limit->count == RATE_COUNT_BYTES ? 0 : 1;
		g_array_append_val(additions, addition);
		/* within what the last check saw free: no need to ask again */
		if (pending != NULL && candidate.quantity <= pending->headroom)
			continue;
		if (candidate.quantity > 0 && limit->action != RATE_ACTION_QUARANTINE) {
			candidate.value = g_steal_pointer(&value);
			g_array_append_val(candidates, candidate);
		}
	}
}

static void
rate_apply_additions(RateMessage *state, GArray *additions)
{
	for (guint i = 0; i < additions->len; i++) {
		RatePending *addition = &g_array_index(additions, RatePending, i);
		RatePending *pending = rate_find_pending(state, addition->limit, addition->value);

		if (pending != NULL) {
			pending->quantity += addition->quantity;
			g_clear_pointer(&addition->value, g_free);
		} else {
			rate_add_pending(state, addition->limit, g_steal_pointer(&addition->value),
					 addition->config, addition->quantity);
			g_array_index(state->pending, RatePending, state->pending->len - 1)
			    .headroom = addition->headroom;
		}
	}
}

static void
rate_additions_free(GArray *additions)
{
	for (guint i = 0; i < additions->len; i++)
		g_free(g_array_index(additions, RatePending, i).value);
	g_array_unref(additions);
}

void
rate_policy_rcpt(PcSession *session, RateSession *state, PcVerdict *verdict, RateOutcome *outcome)
{
	RateMessage *message = session->message_data;
	g_autofree char *recipient_domain = NULL;
	g_autofree char *recipient =
	    rate_normalize_address(session->current_rcpt, &recipient_domain);
	g_autoptr(GArray) candidates = g_array_new(FALSE, FALSE, sizeof(RateCandidate));
	GArray *additions = g_array_new(FALSE, FALSE, sizeof(RatePending));
	g_autofree gint64 *available = NULL;
	gboolean allowed = TRUE;
	guint refused = 0;
	gint64 retry = 0;

	outcome->greylist =
	    rate_greylist_rcpt(session, message, recipient, recipient_domain, verdict);
	if (verdict->action != PC_ACTION_CONTINUE) {
		rate_additions_free(additions);
		return;
	}
	rate_rcpt_candidates(session, message, recipient, recipient_domain, candidates, additions);
	available = g_new0(gint64, MAX(candidates->len, 1));
	if (rate_decide(session, (const RateCandidate *)candidates->data, candidates->len, FALSE,
			&allowed, &refused, &retry, available) != PC_LOOKUP_FOUND) {
		rate_store_failed(session, verdict);
	} else if (!allowed) {
		const RateCandidate *culprit = &g_array_index(candidates, RateCandidate, refused);

		rate_refuse(verdict, culprit->name, culprit->limit->action, retry, outcome);
	}
	/* a refused recipient adds nothing to the message's amounts */
	if (verdict->action == PC_ACTION_CONTINUE) {
		rate_keep_headroom(message, candidates, available, additions);
		rate_apply_additions(message, additions);
	}
	rate_candidates_clear(candidates);
	rate_additions_free(additions);
}

/* ------------------------------------------------------------ EOM */

/* the message's pending amounts of one action class, as candidates */
static void
rate_eom_candidates(PcSession *session, RateMessage *state, gboolean quarantine, GArray *candidates)
{
	guint n_limits = 0;
	const PcConfigSection *limits = rate_limits(session, &n_limits);

	for (guint i = 0; i < state->pending->len; i++) {
		RatePending *pending = &g_array_index(state->pending, RatePending, i);
		RateCandidate candidate = {.limit = pending->config, .pending = -1, .addition = -1};

		if (pending->limit >= n_limits ||
		    (pending->config->action == RATE_ACTION_QUARANTINE) != quarantine)
			continue;
		if (pending->config->count == RATE_COUNT_BYTES)
			pending->quantity = session->body_bytes;
		if (pending->quantity <= 0)
			continue;
		candidate.name = limits[pending->limit].name;
		candidate.value = g_strdup(pending->value);
		candidate.quantity = pending->quantity;
		g_array_append_val(candidates, candidate);
	}
}

void
rate_policy_eom(PcSession *session, RateSession *state, PcVerdict *verdict, RateOutcome *outcome)
{
	RateMessage *message = session->message_data;
	g_autoptr(GArray) candidates = g_array_new(FALSE, FALSE, sizeof(RateCandidate));
	gboolean allowed = TRUE;
	guint refused = 0;
	gint64 retry = 0;

	rate_eom_candidates(session, message, FALSE, candidates);
	if (rate_decide(session, (const RateCandidate *)candidates->data, candidates->len, TRUE,
			&allowed, &refused, &retry, NULL) != PC_LOOKUP_FOUND) {
		rate_store_failed(session, verdict);
	} else if (!allowed) {
		const RateCandidate *culprit = &g_array_index(candidates, RateCandidate, refused);

		rate_refuse(verdict, culprit->name, culprit->limit->action, retry, outcome);
	}
	rate_candidates_clear(candidates);
	if (verdict->action == PC_ACTION_CONTINUE) {
		rate_eom_candidates(session, message, TRUE, candidates);
		if (rate_decide(session, (const RateCandidate *)candidates->data, candidates->len,
				TRUE, &allowed, &refused, &retry, NULL) == PC_LOOKUP_FOUND &&
		    !allowed)
			rate_quarantine(verdict,
					g_array_index(candidates, RateCandidate, refused).name,
					outcome);
		else if (state->connection_quarantine != NULL)
			rate_quarantine(verdict, state->connection_quarantine, outcome);
		rate_candidates_clear(candidates);
	}
}
