/*
 * steps.c - one step of a reissue order per state (DESIGN.md §3.3): each
 * step does its work, then commits its result with the fenced update, so a
 * crash at any point repeats at most the step it was in, and every step is
 * written to be repeated:
 *
 *   queued      preflight: server and site usable, DNS points at the server,
 *               CAA allows the CA -> preflight (the names recorded)
 *   preflight   a new key, sealed and committed, and attempt n -> key_ready
 *   key_ready   newOrder; its URL committed at once -> ordered
 *   ordered     http-01 tokens placed and self-checked, challenges answered
 *   validating  the order polled until ready; tokens removed -> finalizing
 *   finalizing  finalize (only while the CA says `ready`: never twice), then
 *               the certificate downloaded and recorded -> issued
 *   issued      installed on the hosting server (backup, test, reload)
 *   installed   proven live on every name -> live
 *   live        the customer's mail queued in the same commit -> notified
 *   notified    the old certificate revoked (or flagged) -> old_revoked
 *   old_revoked -> done
 *
 * Retryable trouble waits with capped exponential backoff and jitter, at
 * most [worker] max_retries times; an ACME order the CA lost or gave up on
 * starts a new attempt (a new key and a new order), at most max_attempts.
 */
#include <stdarg.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/certinfo.h"
#include "core/dn.h"
#include "core/i18n.h"
#include "core/validity.h"
#include "util/cdtime.h"
#include "util/log.h"
#include "util/secretbox.h"
#include "worker/worker_priv.h"

#define MAX_NAMES 8

struct step {
	struct worker_thread *t;
	struct worker_pool *p;
	store_t *st;
	struct store_order o;
	struct store_order_context c;
	struct store_attempt a; /* attempt o.attempt (zeroed before the first) */
	bool have_attempt;
	int64_t now;
	char names_buf[520];
	const char *names[MAX_NAMES];
	size_t n_names;
};

/* snprintf for messages, where a cut-off tail is acceptable */
static void textf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void textf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

static double rnd(struct worker_thread *t)
{
	return (double)rand_r(&t->seed) / ((double)RAND_MAX + 1.0);
}

/* --- committing a step's result --------------------------------------------- */

static struct store_order_update base_update(struct step *x, enum order_state to)
{
	return (struct store_order_update){
		.order_id = x->o.order_id,
		.owner = x->t->owner,
		.from = x->o.state,
		.to = to,
		.now = x->now,
		.next_run_at = x->now,
		.lease_expires = x->now + x->p->lease_s,
		.retries = x->o.retries,
		.attempt = x->o.attempt,
		.revocation_pending = -1,
		.actor = x->p->actor,
		.certificate_id = x->o.certificate_id,
		.campaign_id = x->o.campaign_id,
	};
}

static enum step_outcome committed(struct step *x, int rc, const struct cd_err *err, bool again)
{
	if (rc) {
		if (err->code == CD_ESTATE)
			cd_log(CD_LOG_INFO, "order %lld: %s", (long long)x->o.order_id, err->msg);
		else
			cd_log(CD_LOG_WARN, "order %lld: store: %s", (long long)x->o.order_id,
			       err->msg);
		return STEP_LOST;
	}
	return again ? STEP_AGAIN : STEP_PARKED;
}

/* Moves to the next state, due now, keeping the lease; clears the last failure. */
static enum step_outcome advance_with(struct step *x, struct store_order_update *u,
				      const char *detail)
{
	struct cd_err err = { 0 };
	int rc;

	u->retries = 0;
	u->set_failure = true;
	u->failure = NULL;
	u->failure_detail = NULL;
	u->event_detail = detail;
	rc = store_order_update(x->st, u, &err);
	if (!rc)
		atomic_fetch_add(&x->p->transitions, 1);
	/* run on at once only when the next step is due now and the lease kept */
	return committed(x, rc, &err,
			 u->to != ORDER_DONE && u->lease_expires && u->next_run_at <= x->now);
}

/* advance_with inside the transaction the caller began (with the step's
 * other writes): commits it all, or rolls it all back. */
static enum step_outcome advance_and_commit(struct step *x, struct store_order_update *u,
					    const char *detail)
{
	struct cd_err err = { 0 };
	enum step_outcome out = advance_with(x, u, detail);

	if (out == STEP_LOST) {
		store_rollback(x->st);
		return out;
	}
	if (store_commit(x->st, &err))
		return committed(x, -1, &err, false);
	return out;
}

static enum step_outcome advance(struct step *x, enum order_state to, const char *detail)
{
	struct store_order_update u = base_update(x, to);

	return advance_with(x, &u, detail);
}

/* Stays in the state, due again after ms; the lease is given back. */
static enum step_outcome wait_ms(struct step *x, long ms)
{
	struct store_order_update u = base_update(x, x->o.state);
	struct cd_err err = { 0 };

	u.next_run_at = x->now + (ms + 999) / 1000;
	u.lease_expires = 0;
	return committed(x, store_order_update(x->st, &u, &err), &err, false);
}

static enum step_outcome fail(struct step *x, enum failure_code code, bool retryable,
			      const char *detail)
{
	struct store_order_update u = base_update(x, ORDER_FAILED);
	struct cd_err err = { 0 };
	int rc;

	u.lease_expires = 0;
	u.set_failure = true;
	u.failure = failure_code_name(code);
	u.failure_retryable = retryable;
	u.failure_detail = detail;
	u.event_detail = detail;
	cd_log(CD_LOG_INFO, "order %lld failed (%s): %s", (long long)x->o.order_id,
	       failure_code_name(code), detail);
	rc = store_order_update(x->st, &u, &err);
	if (!rc)
		atomic_fetch_add(&x->p->transitions, 1);
	return committed(x, rc, &err, false);
}

/* A retryable problem: try again later, or fail once the retries are spent. */
static enum step_outcome retry(struct step *x, enum failure_code code, const struct cd_err *why)
{
	struct store_order_update u = base_update(x, x->o.state);
	struct cd_err err = { 0 };
	long ms;

	if (x->o.retries >= x->p->max_retries) {
		char detail[700];

		textf(detail, sizeof(detail), "%s (gave up after %d retries)", why->msg,
		      x->o.retries);
		return fail(x, code, true, detail);
	}
	ms = worker_backoff_ms(x->p->backoff_base_ms, x->p->backoff_cap_ms, x->o.retries + 1,
			       why->retry_after, rnd(x->t));
	u.retries = x->o.retries + 1;
	u.next_run_at = x->now + (ms + 999) / 1000;
	u.lease_expires = 0;
	u.set_failure = true;
	u.failure = failure_code_name(code);
	u.failure_retryable = true;
	u.failure_detail = why->msg;
	u.event_kind = "order.retry";
	u.event_detail = why->msg;
	atomic_fetch_add(&x->p->retries, 1);
	return committed(x, store_order_update(x->st, &u, &err), &err, false);
}

/* --- keys ------------------------------------------------------------------------ */

static int cert_key_type(struct worker_pool *p, const char *ca, enum acme_key_type *out,
			 struct cd_err *err)
{
	char section[80];
	const char *v;

	textf(section, sizeof(section), "ca %s", ca);
	v = cd_config_get(p->cfg, section, "key_type");
	return acme_key_type_parse(v && *v ? v : "rsa2048", out, err);
}

/* A new key for attempt n, sealed in the store with the attempt's row, and
 * the order moved to key_ready: one commit (invariant 7: the key is durable
 * before its CSR can reach the CA). */
static enum step_outcome new_key_attempt(struct step *x, const char *why)
{
	struct worker_pool *p = x->p;
	struct store_order_update u;
	struct store_attempt a = { 0 };
	enum acme_key_type kt;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long pem_len;
	struct cd_err err = { 0 };
	int n = x->o.attempt + 1, rc;

	if (n > p->max_attempts) {
		char detail[600];

		textf(detail, sizeof(detail), "%s; gave up after %d attempts", why, x->o.attempt);
		return fail(x, FAILURE_CA_ERROR, true, detail);
	}
	rc = cert_key_type(p, p->active_ca, &kt, &err);
	if (!rc)
		rc = acme_key_generate(kt, &key, &err);
	if (rc)
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		EVP_PKEY_free(key);
		return fail(x, FAILURE_INTERNAL, false, "cannot encode the new key");
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	a.order_id = x->o.order_id;
	a.attempt = n;
	snprintf(a.ca, sizeof(a.ca), "%s", p->active_ca);
	snprintf(a.key_secret_id, sizeof(a.key_secret_id), "order-key:%lld:%d",
		 (long long)x->o.order_id, n);
	snprintf(a.state, sizeof(a.state), "key_ready");
	a.created_at = x->now;

	u = base_update(x, ORDER_KEY_READY);
	u.attempt = n;
	u.retries = 0;
	u.set_failure = true;
	u.failure = NULL;
	u.failure_detail = NULL;
	if (x->o.state != ORDER_PREFLIGHT)
		u.event_kind = "order.new_attempt";
	u.event_detail = why;
	rc = store_begin(x->st, &err);
	if (!rc)
		rc = store_secret_seal(x->st, p->opt.box, a.key_secret_id, "order_key",
				       (const unsigned char *)pem, (size_t)pem_len, x->now, &err);
	if (!rc && x->have_attempt && x->o.state != ORDER_PREFLIGHT) {
		snprintf(x->a.state, sizeof(x->a.state), "abandoned");
		textf(x->a.failure, sizeof(x->a.failure), "%s", why);
		rc = store_attempt_save(x->st, &x->a, &err);
	}
	if (!rc)
		rc = store_attempt_create(x->st, &a, &err);
	if (!rc)
		rc = store_order_update(x->st, &u, &err);
	if (!rc)
		rc = store_commit(x->st, &err);
	else
		store_rollback(x->st);
	OPENSSL_cleanse(pem, (size_t)pem_len);
	BIO_free(bio);
	EVP_PKEY_free(key);
	if (!rc)
		atomic_fetch_add(&p->transitions, 1);
	return committed(x, rc, &err, true);
}

static int load_key(struct step *x, const char *secret_id, EVP_PKEY **out, struct cd_err *err)
{
	unsigned char *pt = NULL;
	size_t len = 0;
	BIO *bio;
	int rc = store_secret_unseal(x->st, x->p->opt.box, secret_id, &pt, &len, err);

	*out = NULL;
	if (rc)
		return rc;
	bio = BIO_new_mem_buf(pt, (int)len);
	*out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	secretbox_free_plain(pt, len);
	if (!*out)
		return cd_err_set(err, CD_ECRYPTO, false, "key %s does not parse", secret_id);
	return 0;
}

/* --- helpers ------------------------------------------------------------------- */

static void split_names(struct step *x)
{
	char *save = NULL, *tok;

	snprintf(x->names_buf, sizeof(x->names_buf), "%s", x->o.names);
	x->n_names = 0;
	for (tok = strtok_r(x->names_buf, " ", &save); tok && x->n_names < MAX_NAMES;
	     tok = strtok_r(NULL, " ", &save))
		x->names[x->n_names++] = tok;
}

static struct install_server server_of(const struct step *x)
{
	return (struct install_server){ .name = x->c.server,
					.driver = x->c.driver,
					.ipv4 = x->c.ipv4,
					.ipv6 = x->c.ipv6,
					.http_port = x->c.http_port,
					.https_port = x->c.https_port };
}

static const char *ca_setting(struct worker_pool *p, const char *ca, const char *key)
{
	char section[80];

	textf(section, sizeof(section), "ca %s", ca);
	return cd_config_get(p->cfg, section, key);
}

static int client_of_attempt(struct step *x, acme_client_t **c, struct cd_err *err)
{
	return worker_ca_client(x->p, x->a.ca[0] ? x->a.ca : x->p->active_ca, c, err);
}

/* ACME trouble: a gone order starts a new attempt, the retryable waits, the
 * rest fails the order with the CA's words. */
static enum step_outcome acme_trouble(struct step *x, const struct cd_err *err)
{
	if (err->code == CD_EGONE)
		return new_key_attempt(x, err->msg);
	if (err->retryable)
		return retry(x, FAILURE_CA_ERROR, err);
	return fail(x, acme_err_failure(err), false, err->msg);
}

static bool attempt_too_old(const struct step *x)
{
	return x->have_attempt && x->now - x->a.created_at > x->p->attempt_timeout_s;
}

/* --- the steps -------------------------------------------------------------------- */

static enum step_outcome step_queued(struct step *x)
{
	struct dcv_server srv = { x->c.server, x->c.ipv4, x->c.ipv6 };
	const char *caa = ca_setting(x->p, x->p->active_ca, "caa_identity");
	struct store_order_update u;
	struct dcv_preflight pf;
	struct cd_err err = { 0 };
	char names[520], detail[600];

	if (!x->c.server[0] || !x->c.fqdn[0])
		return fail(x, FAILURE_SERVER_PROBLEM, false,
			    "no site on a hosting server holds this common name");
	if (strcmp(x->c.server_state, "ok") != 0 || strcmp(x->c.site_state, "ok") != 0) {
		textf(detail, sizeof(detail), "server %s is %s, site %s is %s", x->c.server,
		      x->c.server_state, x->c.fqdn, x->c.site_state);
		return fail(x, FAILURE_SERVER_PROBLEM, true, detail);
	}
	if (dcv_preflight(x->p->resolver, x->c.common_name, &srv, caa, &pf, &err))
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	if (pf.failure == FAILURE_DNS_ERROR) {
		cd_err_set(&err, CD_EPEER, true, "%s", pf.detail);
		return retry(x, FAILURE_DNS_ERROR, &err);
	}
	if (pf.failure != FAILURE_NONE)
		return fail(x, pf.failure, failure_default_retryable(pf.failure), pf.detail);
	textf(names, sizeof(names), "%s%s%s", pf.names[0], pf.n_names > 1 ? " " : "",
	      pf.n_names > 1 ? pf.names[1] : "");
	if (pf.dropped[0]) {
		textf(detail, sizeof(detail), "names %s; %s left out: %s", names, pf.dropped,
		      pf.dropped_why);
	} else {
		textf(detail, sizeof(detail), "names %s", names);
	}
	u = base_update(x, ORDER_PREFLIGHT);
	u.names = names;
	return advance_with(x, &u, detail);
}

static enum step_outcome step_key_ready(struct step *x)
{
	struct worker_pool *p = x->p;
	struct acme_order ord = { 0 };
	struct store_order_update u;
	struct validity v = { 0 };
	acme_client_t *c;
	struct cd_err err = { 0 };
	const char *vmode;
	int64_t not_after = 0, slot;
	long hold_ms;
	int rc;

	if (x->a.acme_order_url[0]) /* committed with the URL: only the state is behind */
		return advance(x, ORDER_ORDERED, x->a.acme_order_url);
	if (x->a.ordering_at) {
		/* newOrder went out before a crash and its URL was never recorded */
		store_event_add(x->st,
				&(struct store_event){ .at = x->now,
						       .actor = p->actor,
						       .kind = "acme.orphan",
						       .order_id = x->o.order_id,
						       .certificate_id = x->o.certificate_id,
						       .detail =
							   "a pending ACME order of an earlier "
							   "try may be left at the CA" },
				&err);
	}
	rc = client_of_attempt(x, &c, &err);
	if (rc)
		return retry(x, FAILURE_CA_ERROR, &err);
	vmode = ca_setting(p, x->a.ca, "validity");
	if (vmode && strcmp(vmode, "request") == 0) {
		rc = validity_compute(x->now, x->c.term_end_at, x->c.old_not_after,
				      (int)p->provider_cap_days, &v, &err);
		if (rc)
			return fail(x, FAILURE_INTERNAL, false, err.msg);
		not_after = v.not_after;
	}
	/* the CA's limit, shared by every worker: held back, the order waits */
	rc = worker_ca_limit_take(p, x->st, x->a.ca[0] ? x->a.ca : p->active_ca, x->o.order_id,
				  &slot, &hold_ms, &err);
	if (rc)
		return retry(x, FAILURE_CA_ERROR, &err);
	if (hold_ms)
		return wait_ms(x, hold_ms);
	x->a.ordering_at = x->now;
	rc = store_attempt_save(x->st, &x->a, &err);
	if (rc) {
		worker_ca_limit_done(x->st, slot);
		return committed(x, rc, &err, false);
	}
	rc = acme_order_new(c, x->names, x->n_names, 0, not_after, &ord, &err);
	worker_ca_limit_done(x->st, slot);
	if (rc)
		return acme_trouble(x, &err);
	snprintf(x->a.acme_order_url, sizeof(x->a.acme_order_url), "%s", ord.url);
	snprintf(x->a.state, sizeof(x->a.state), "ordered");
	acme_order_free(&ord);
	u = base_update(x, ORDER_ORDERED);
	rc = store_begin(x->st, &err);
	if (!rc)
		rc = store_attempt_save(x->st, &x->a, &err);
	if (rc) {
		store_rollback(x->st);
		return committed(x, rc, &err, false);
	}
	return advance_and_commit(x, &u, x->a.acme_order_url);
}

static int add_token(struct step *x, const char *token)
{
	size_t l = strlen(x->a.tokens);

	if (strstr(x->a.tokens, token))
		return 0;
	if (l + strlen(token) + 2 > sizeof(x->a.tokens))
		return -1;
	textf(x->a.tokens + l, sizeof(x->a.tokens) - l, "%s%s", l ? " " : "", token);
	return 0;
}

static void remove_tokens(struct step *x)
{
	struct install_server srv = server_of(x);
	char buf[sizeof(x->a.tokens)], *save = NULL, *tok;
	struct cd_err err = { 0 };

	snprintf(buf, sizeof(buf), "%s", x->a.tokens);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (install_challenge_remove(x->p->installer, &srv, tok, &err))
			cd_log(CD_LOG_WARN, "order %lld: removing token: %s",
			       (long long)x->o.order_id, err.msg);
	x->a.tokens[0] = '\0';
}

/* Whether the CA took the answer to an authorization's challenge after all:
 * a POST that timed out (the CA slow or paused) may have arrived, and its
 * retry is then refused because the challenge is no longer pending. The
 * answer is in, which is all the step wanted; what came of it is judged in
 * `validating`. */
static bool challenge_taken(acme_client_t *c, const char *authz_url)
{
	struct acme_authz az = { 0 };
	struct cd_err err = { 0 };

	if (acme_authz_get(c, authz_url, &az, &err))
		return false;
	return az.status != ACME_STATUS_PENDING || az.http01_status != ACME_STATUS_PENDING;
}

static enum step_outcome step_ordered(struct step *x)
{
	struct install_server srv = server_of(x);
	struct acme_order ord = { 0 };
	acme_client_t *c;
	struct cd_err err = { 0 };
	enum step_outcome out;
	int rc = client_of_attempt(x, &c, &err);

	if (rc)
		return retry(x, FAILURE_CA_ERROR, &err);
	rc = acme_order_get(c, x->a.acme_order_url, &ord, &err);
	if (rc)
		return acme_trouble(x, &err);
	if (ord.status == ACME_STATUS_INVALID || ord.status == ACME_STATUS_EXPIRED) {
		acme_order_free(&ord);
		return new_key_attempt(x, "the ACME order became invalid before validation");
	}
	for (size_t i = 0; ord.status == ACME_STATUS_PENDING && i < ord.n_authz; i++) {
		struct acme_authz az = { 0 };
		char ka[512];

		rc = acme_authz_get(c, ord.authz[i], &az, &err);
		if (rc) {
			acme_order_free(&ord);
			return acme_trouble(x, &err);
		}
		if (az.status == ACME_STATUS_VALID)
			continue;
		if (az.status != ACME_STATUS_PENDING) {
			acme_order_free(&ord);
			cd_err_set(&err, CD_EPEER, false, "%s: authorization %s%s%s", az.identifier,
				   acme_status_name(az.status), az.error.detail[0] ? ": " : "",
				   az.error.detail);
			return fail(x, FAILURE_CHALLENGE_FAILED, true, err.msg);
		}
		if (!az.has_http01) {
			acme_order_free(&ord);
			cd_err_set(&err, CD_EPEER, false, "%s: the CA offers no http-01 challenge",
				   az.identifier);
			return fail(x, FAILURE_CA_REJECTED, false, err.msg);
		}
		rc = acme_key_authorization(c, az.http01_token, ka, sizeof(ka), &err);
		if (!rc)
			rc =
			    install_challenge_put(x->p->installer, &srv, az.http01_token, ka, &err);
		if (!rc && add_token(x, az.http01_token))
			rc = cd_err_set(&err, CD_ELIMIT, false, "too many challenge tokens");
		if (!rc)
			rc = store_attempt_save(x->st, &x->a, &err); /* so they get removed */
		if (!rc)
			rc = install_challenge_check(x->p->installer, &srv, az.identifier,
						     az.http01_token, ka, &err);
		if (rc) {
			acme_order_free(&ord);
			cd_err_prefix(&err, "http-01 self-check: ");
			if (err.retryable)
				return retry(x, FAILURE_CHALLENGE_FAILED, &err);
			return fail(x, FAILURE_CHALLENGE_FAILED, true, err.msg);
		}
		if (az.http01_status == ACME_STATUS_PENDING) {
			rc = acme_challenge_respond(c, az.http01_url, &err);
			if (rc && !challenge_taken(c, ord.authz[i])) {
				acme_order_free(&ord);
				return acme_trouble(x, &err);
			}
		}
	}
	acme_order_free(&ord);
	out = advance(x, ORDER_VALIDATING, NULL);
	return out;
}

static enum step_outcome challenge_failed(struct step *x, acme_client_t *c,
					  const struct acme_order *ord)
{
	char detail[700] = "";
	struct cd_err err = { 0 };

	for (size_t i = 0; i < ord->n_authz && !detail[0]; i++) {
		struct acme_authz az = { 0 };

		if (acme_authz_get(c, ord->authz[i], &az, &err))
			continue;
		if (az.status == ACME_STATUS_INVALID)
			textf(detail, sizeof(detail), "%s: %s %s", az.identifier, az.error.type,
			      az.error.detail);
	}
	if (!detail[0])
		textf(detail, sizeof(detail), "the CA marked the order invalid: %s %s",
		      ord->error.type, ord->error.detail);
	remove_tokens(x);
	store_attempt_save(x->st, &x->a, &err);
	return fail(x, FAILURE_CHALLENGE_FAILED,
		    failure_default_retryable(FAILURE_CHALLENGE_FAILED), detail);
}

static enum step_outcome step_validating(struct step *x)
{
	struct acme_order ord = { 0 };
	acme_client_t *c;
	struct cd_err err = { 0 };
	enum step_outcome out;
	int rc = client_of_attempt(x, &c, &err);

	if (rc)
		return retry(x, FAILURE_CA_ERROR, &err);
	rc = acme_order_get(c, x->a.acme_order_url, &ord, &err);
	if (rc)
		return acme_trouble(x, &err);
	switch (ord.status) {
	case ACME_STATUS_PENDING:
		out = attempt_too_old(x) ? new_key_attempt(x, "validation did not finish in time")
					 : wait_ms(x, ord.retry_after > 0 ? ord.retry_after * 1000
									  : x->p->poll_ms);
		break;
	case ACME_STATUS_READY:
	case ACME_STATUS_PROCESSING:
	case ACME_STATUS_VALID:
		remove_tokens(x);
		rc = store_attempt_save(x->st, &x->a, &err);
		out = rc ? committed(x, rc, &err, false) : advance(x, ORDER_FINALIZING, NULL);
		break;
	case ACME_STATUS_INVALID:
		out = challenge_failed(x, c, &ord);
		break;
	default:
		out = new_key_attempt(x, "the ACME order expired during validation");
	}
	acme_order_free(&ord);
	return out;
}

static void join_sans(const struct certinfo *ci, char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ci->nsans && used < outsz; i++)
		used +=
		    (size_t)snprintf(out + used, outsz - used, "%s%s", i ? " " : "", ci->sans[i]);
}

static void hex_of(const unsigned char *b, size_t n, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 3 <= outsz; i++, o += 2)
		snprintf(out + o, outsz - o, "%02x", b[i]);
	out[o < outsz ? o : outsz - 1] = '\0';
}

/* The downloaded chain: its leaf must carry our key and every name. */
static enum step_outcome record_certificate(struct step *x, const char *pem, EVP_PKEY *key)
{
	struct certinfo_list list = { 0 };
	struct store_issuance is = { 0 };
	struct store_order_update u;
	struct cd_err err = { 0 };
	char sans[1024], issuer_hex[1024], detail[600];
	int64_t issuance_id = 0;
	X509 *x509 = NULL;
	BIO *bio = NULL;
	bool key_ok = false;
	int rc = certinfo_parse_bundle(pem, strlen(pem), &list, &err);

	if (rc)
		return fail(x, FAILURE_CA_ERROR, true, err.msg);
	bio = BIO_new_mem_buf(pem, (int)strlen(pem));
	x509 = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (x509) {
		EVP_PKEY *pub = X509_get0_pubkey(x509);

		key_ok = pub && EVP_PKEY_eq(pub, key) == 1;
	}
	X509_free(x509);
	BIO_free(bio);
	if (!key_ok) {
		certinfo_list_free(&list);
		return fail(x, FAILURE_CA_ERROR, false,
			    "the CA's certificate does not carry the order's key");
	}
	for (size_t i = 0; i < x->n_names; i++) {
		if (!certinfo_covers(&list.items[0], x->names[i])) {
			textf(detail, sizeof(detail), "the CA's certificate does not cover %s",
			      x->names[i]);
			certinfo_list_free(&list);
			return fail(x, FAILURE_CA_ERROR, false, detail);
		}
	}
	join_sans(&list.items[0], sans, sizeof(sans));
	hex_of(list.items[0].issuer_der, list.items[0].issuer_der_len, issuer_hex,
	       sizeof(issuer_hex));
	is.source = "acme";
	is.ca = x->a.ca;
	is.issuer_dn = list.items[0].issuer_dn;
	is.issuer_der_hex = issuer_hex;
	is.aki = list.items[0].aki;
	is.serial = list.items[0].serial;
	is.sha256 = list.items[0].sha256;
	is.sans = sans;
	is.key_type = list.items[0].key_type;
	is.chain_pem = pem;
	is.key_secret_id = x->a.key_secret_id;
	is.not_before = list.items[0].not_before;
	is.not_after = list.items[0].not_after;
	is.order_id = x->o.order_id;
	textf(detail, sizeof(detail), "serial %s, valid until %lld%s", is.serial,
	      (long long)is.not_after,
	      validity_exceeds_cap(is.not_before, is.not_after, (int)x->p->provider_cap_days)
		  ? " (runs past the validity cap: operator alert)"
		  : "");
	rc = store_begin(x->st, &err);
	if (!rc)
		rc = store_issuance_add_issued(x->st, x->o.certificate_id, &is, x->now,
					       &issuance_id, &err);
	snprintf(x->a.state, sizeof(x->a.state), "valid");
	if (!rc)
		rc = store_attempt_save(x->st, &x->a, &err);
	certinfo_list_free(&list);
	if (rc) {
		store_rollback(x->st);
		return committed(x, rc, &err, false);
	}
	u = base_update(x, ORDER_ISSUED);
	u.new_issuance_id = issuance_id;
	return advance_and_commit(x, &u, detail);
}

static enum step_outcome step_finalizing(struct step *x)
{
	struct acme_order ord = { 0 };
	acme_client_t *c;
	EVP_PKEY *key = NULL;
	struct cd_err err = { 0 };
	enum step_outcome out;
	char *pem = NULL;
	int rc = client_of_attempt(x, &c, &err);

	if (rc)
		return retry(x, FAILURE_CA_ERROR, &err);
	rc = acme_order_get(c, x->a.acme_order_url, &ord, &err);
	if (rc)
		return acme_trouble(x, &err);
	rc = load_key(x, x->a.key_secret_id, &key, &err);
	if (rc) {
		acme_order_free(&ord);
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	}
	if (ord.status == ACME_STATUS_READY) {
		/* `ready` means the CA has not taken a finalize for this order yet */
		unsigned char *csr = NULL;
		size_t csr_len = 0;

		rc = acme_csr_create(key, x->names, x->n_names, &csr, &csr_len, &err);
		if (!rc) {
			x->a.finalized_at = x->now;
			rc = store_attempt_save(x->st, &x->a, &err);
		}
		if (!rc)
			store_event_add(
			    x->st,
			    &(struct store_event){ .at = x->now,
						   .actor = x->p->actor,
						   .kind = "acme.finalize",
						   .order_id = x->o.order_id,
						   .certificate_id = x->o.certificate_id,
						   .detail = x->a.acme_order_url },
			    &err);
		if (!rc)
			rc = acme_finalize(c, &ord, csr, csr_len, &err);
		free(csr);
		if (rc) {
			EVP_PKEY_free(key);
			acme_order_free(&ord);
			return acme_trouble(x, &err);
		}
	}
	switch (ord.status) {
	case ACME_STATUS_VALID:
		rc = acme_cert_download(c, ord.certificate, &pem, &err);
		out = rc ? acme_trouble(x, &err) : record_certificate(x, pem, key);
		free(pem);
		break;
	case ACME_STATUS_PROCESSING:
	case ACME_STATUS_READY:
		out = attempt_too_old(x) ? new_key_attempt(x, "the CA did not issue in time")
					 : wait_ms(x, ord.retry_after > 0 ? ord.retry_after * 1000
									  : x->p->poll_ms);
		break;
	default:
		textf(x->a.failure, sizeof(x->a.failure), "%s %s", ord.error.type,
		      ord.error.detail);
		out = new_key_attempt(x, "the ACME order became invalid at finalize");
	}
	EVP_PKEY_free(key);
	acme_order_free(&ord);
	return out;
}

/* The reloads an install or rollback ran, in the store for /metrics (shared
 * by every node); a failure to count them is only logged. */
static void count_reloads(struct step *x, const struct install_result *res)
{
	struct cd_err err = { 0 };
	char ok[96], failed[96];

	textf(ok, sizeof(ok), "%s|ok", x->c.server);
	textf(failed, sizeof(failed), "%s|failed", x->c.server);
	if (store_metric_add(x->st, "nginx_reloads", ok, res->reloads - res->reloads_failed,
			     &err) ||
	    store_metric_add(x->st, "nginx_reloads", failed, res->reloads_failed, &err))
		cd_log(CD_LOG_WARN, "order %lld: counting reloads: %s", (long long)x->o.order_id,
		       err.msg);
}

static enum step_outcome step_issued(struct step *x)
{
	struct install_server srv = server_of(x);
	struct store_issuance_row row;
	struct install_result res;
	struct store_order_update u;
	struct cd_err err = { 0 };
	unsigned char *key = NULL;
	size_t key_len = 0;
	char src[80], detail[INSTALL_DETAIL_MAX + 48];
	int rc = store_issuance_get(x->st, x->o.new_issuance_id, &row, &err);

	if (rc)
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	rc = store_secret_unseal(x->st, x->p->opt.box, row.key_secret_id, &key, &key_len, &err);
	if (rc) {
		store_issuance_row_free(&row);
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	}
	rc = install_apply(x->p->installer, &srv,
			   &(struct install_site){ .fqdn = x->c.fqdn,
						   .fullchain_pem = row.chain_pem,
						   .fullchain_len = strlen(row.chain_pem),
						   .key_pem = (char *)key,
						   .key_len = key_len },
			   &res, &err);
	secretbox_free_plain(key, key_len);
	if (rc) {
		store_issuance_row_free(&row);
		return retry(x, FAILURE_INSTALL_FAILED, &err);
	}
	count_reloads(x, &res);
	/* say when other sites shared the test and reload: an operator reading
	 * one order's failure then knows the rest of that batch went on */
	textf(detail, sizeof(detail), "%s", res.detail);
	if (res.batch > 1)
		textf(detail + strlen(detail), sizeof(detail) - strlen(detail),
		      " (one test and reload for %d installs)", res.batch);
	if (res.failure != FAILURE_NONE) {
		store_issuance_row_free(&row);
		if (res.retryable && x->o.retries < x->p->max_retries) {
			cd_err_set(&err, CD_EPEER, true, "%s", detail);
			return retry(x, FAILURE_INSTALL_FAILED, &err);
		}
		return fail(x, FAILURE_INSTALL_FAILED, res.retryable, detail);
	}
	textf(src, sizeof(src), "certdesk:order:%lld", (long long)x->o.order_id);
	rc = store_begin(x->st, &err);
	if (!rc)
		rc = store_installed_set(x->st, x->c.server, x->names, x->n_names,
					 &(struct store_installed){ .sha256 = row.sha256,
								    .serial = row.serial,
								    .issuer_dn = row.issuer_dn,
								    .source_file = src,
								    .not_after = row.not_after },
					 x->now, &err);
	store_issuance_row_free(&row);
	if (rc) {
		store_rollback(x->st);
		return committed(x, rc, &err, false);
	}
	u = base_update(x, ORDER_INSTALLED);
	return advance_and_commit(x, &u, detail[0] ? detail : NULL);
}

static enum step_outcome step_installed(struct step *x)
{
	const char *roots = ca_setting(x->p, x->a.ca, "roots");
	char roots_path[4096], section[80];
	struct store_issuance_row row;
	struct verify_report rep;
	struct cd_err err = { 0 };
	const char *addr = x->c.ipv4[0] ? x->c.ipv4 : x->c.ipv6;
	int rc;

	textf(section, sizeof(section), "ca %s", x->a.ca);
	if (roots && *roots) {
		rc = cd_config_get_path(x->p->cfg, section, "roots", roots_path, sizeof(roots_path),
					&err);
		if (rc)
			return fail(x, FAILURE_INTERNAL, false, err.msg);
	} else {
		snprintf(roots_path, sizeof(roots_path), "%s", x->p->verify_roots);
	}
	rc = store_issuance_get(x->st, x->o.new_issuance_id, &row, &err);
	if (rc)
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	rc = verify_live(&x->p->vopt, addr, x->c.https_port, x->names, x->n_names, row.chain_pem,
			 strlen(row.chain_pem), roots_path[0] ? roots_path : NULL, &rep, &err);
	store_issuance_row_free(&row);
	if (rc)
		return fail(x, FAILURE_VERIFY_FAILED, false, err.msg);
	if (!rep.ok) {
		struct install_server srv = server_of(x);
		struct install_result res;

		if (x->o.retries < x->p->max_retries) {
			cd_err_set(&err, CD_EPEER, true, "%s", rep.detail);
			return retry(x, FAILURE_VERIFY_FAILED, &err);
		}
		/* never seen live: put the old certificate back (invariant 3) */
		if (install_rollback(x->p->installer, &srv, x->c.fqdn, &res, &err))
			cd_log(CD_LOG_WARN, "order %lld: rollback: %s", (long long)x->o.order_id,
			       err.msg);
		else
			count_reloads(x, &res);
		return fail(x, FAILURE_VERIFY_FAILED, true, rep.detail);
	}
	return advance(x, ORDER_LIVE, NULL);
}

static enum step_outcome step_live(struct step *x)
{
	struct store_issuance_row row;
	struct store_order_update u;
	struct certinfo_list list = { 0 };
	struct cd_err err = { 0 };
	char msgid[NOTIFY_MSGID_MAX], detail[NOTIFY_MSGID_MAX + 16];
	enum lang lang = LANG_JA;
	bool created;
	int rc = store_issuance_get(x->st, x->o.new_issuance_id, &row, &err);

	if (rc)
		return fail(x, FAILURE_INTERNAL, false, err.msg);
	if (lang_parse(x->c.member_locale, &lang, &err))
		lang = LANG_JA;
	rc = store_begin(x->st, &err);
	if (!rc)
		rc = notify_order_done_enqueue(x->st, &x->p->mail_settings,
					       &(struct notify_order_done){
						   .order_id = x->o.order_id,
						   .certificate_id = x->o.certificate_id,
						   .member_id = x->c.member_id,
						   .rcpt = x->c.member_email,
						   .rcpt_name = x->c.member_name,
						   .common_name = x->c.common_name,
						   .names = x->names,
						   .n_names = x->n_names,
						   .not_before = row.not_before,
						   .not_after = row.not_after,
						   .shortened = row.not_after < x->c.term_end_at,
						   .term_end_at = x->c.term_end_at,
						   .serial = row.serial,
						   .sha256 = row.sha256,
					       },
					       lang, x->now, msgid, &created, &err);
	store_issuance_row_free(&row);
	certinfo_list_free(&list);
	if (rc == -CD_EINVAL) {
		/* the member's address cannot take mail: the certificate is live all
		 * the same, so go on, and say plainly that no mail was sent */
		store_rollback(x->st);
		textf(detail, sizeof(detail), "no mail sent: %s", err.msg);
		return advance(x, ORDER_NOTIFIED, detail);
	}
	if (rc) {
		store_rollback(x->st);
		return committed(x, rc, &err, false);
	}
	textf(detail, sizeof(detail), "mail %s", msgid);
	u = base_update(x, ORDER_NOTIFIED);
	u.next_run_at = x->now + x->p->revoke_delay_s;
	if (x->p->revoke_delay_s)
		u.lease_expires = 0;
	return advance_and_commit(x, &u, detail);
}

/* The configured CA that issued the old certificate: the one recorded when
 * certdesk issued it, else the [ca NAME] whose issuer_dn names its issuer. */
struct find_ca {
	struct worker_pool *p;
	const char *issuer_dn;
	char found[64];
};

static void match_issuer(const char *name, void *arg)
{
	struct find_ca *f = arg;
	const char *dn = ca_setting(f->p, name, "issuer_dn");
	X509_NAME *a = NULL, *b = NULL;
	struct cd_err err = { 0 };

	if (f->found[0] || !dn || !*dn)
		return;
	if (dn_parse(dn, &a, &err) == 0 && dn_parse(f->issuer_dn, &b, &err) == 0 &&
	    X509_NAME_cmp(a, b) == 0)
		textf(f->found, sizeof(f->found), "%s", name);
	X509_NAME_free(a);
	X509_NAME_free(b);
}

static enum step_outcome pending_done(struct step *x, const char *why)
{
	struct store_order_update u = base_update(x, ORDER_DONE);
	struct cd_err err = { 0 };
	int rc;

	u.lease_expires = 0;
	u.revocation_pending = 1;
	u.event_detail = why;
	u.set_failure = true;
	u.failure = NULL;
	u.failure_detail = why;
	cd_log(CD_LOG_INFO, "order %lld done, old certificate not revoked: %s",
	       (long long)x->o.order_id, why);
	rc = store_order_update(x->st, &u, &err);
	if (!rc)
		atomic_fetch_add(&x->p->transitions, 1);
	return committed(x, rc, &err, false);
}

static enum step_outcome step_notified(struct step *x)
{
	struct find_ca f = { .p = x->p, .issuer_dn = x->c.old_issuer_dn };
	struct certinfo_list list = { 0 };
	acme_client_t *c;
	EVP_PKEY *key = NULL;
	const unsigned char *der;
	unsigned char *buf = NULL;
	struct cd_err err = { 0 };
	char why[700];
	int len, rc;
	X509 *old = NULL;
	BIO *bio;

	if (x->now < x->o.updated_at + x->p->revoke_delay_s && x->o.retries == 0)
		return wait_ms(x, (x->o.updated_at + x->p->revoke_delay_s - x->now) * 1000);
	if (x->c.old_ca[0])
		textf(f.found, sizeof(f.found), "%s", x->c.old_ca);
	else
		cd_config_each_named(x->p->cfg, "ca", match_issuer, &f);
	if (!f.found[0]) {
		textf(why, sizeof(why), "no configured CA issued %s (issuer %s)", x->c.old_serial,
		      x->c.old_issuer_dn);
		return pending_done(x, why);
	}
	rc = worker_ca_client(x->p, f.found, &c, &err);
	if (rc) {
		textf(why, sizeof(why), "CA %s: %s", f.found, err.msg);
		return pending_done(x, why);
	}
	bio = BIO_new_mem_buf(x->c.old_chain_pem, (int)strlen(x->c.old_chain_pem));
	old = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	len = old ? i2d_X509(old, &buf) : -1;
	X509_free(old);
	if (len <= 0)
		return pending_done(x, "the old certificate does not parse");
	der = buf;
	/* by the account that issued it; else with its own key when certdesk has it */
	if (!x->c.old_ca[0] && x->c.old_key_secret_id[0] &&
	    load_key(x, x->c.old_key_secret_id, &key, &err))
		key = NULL;
	rc = acme_revoke(c, der, (size_t)len, 4 /* superseded */, key, &err);
	OPENSSL_free(buf);
	EVP_PKEY_free(key);
	certinfo_list_free(&list);
	if (rc) {
		if (err.retryable && x->o.retries < x->p->revoke_max_retries)
			return retry(x, FAILURE_CA_ERROR, &err);
		textf(why, sizeof(why), "revocation at %s failed: %s", f.found, err.msg);
		return pending_done(x, why);
	}
	textf(why, sizeof(why), "serial %s revoked at %s (superseded)", x->c.old_serial, f.found);
	return advance(x, ORDER_OLD_REVOKED, why);
}

enum step_outcome worker_step(struct worker_thread *t, int64_t order_id)
{
	struct step x = { .t = t, .p = t->pool, .st = t->st };
	struct cd_err err = { 0 };
	enum step_outcome out;

	x.now = cd_time_now();
	if (store_order_get(t->st, order_id, &x.o, &err))
		return STEP_LOST;
	if (!order_state_is_open(x.o.state) || strcmp(x.o.lease_owner, t->owner) != 0)
		return STEP_PARKED;
	if (x.o.next_run_at > x.now)
		return wait_ms(&x, (x.o.next_run_at - x.now) * 1000);
	if (store_order_context_get(t->st, &x.o, &x.c, &err)) {
		store_order_context_free(&x.c);
		return fail(&x, FAILURE_INTERNAL, false, err.msg);
	}
	if (x.o.attempt > 0) {
		if (store_attempt_get(t->st, order_id, x.o.attempt, &x.a, &err)) {
			store_order_context_free(&x.c);
			return fail(&x, FAILURE_INTERNAL, false, err.msg);
		}
		x.have_attempt = true;
	}
	split_names(&x);
	switch (x.o.state) {
	case ORDER_QUEUED:
		out = step_queued(&x);
		break;
	case ORDER_PREFLIGHT:
		out = new_key_attempt(&x, "first attempt");
		break;
	case ORDER_KEY_READY:
		out = step_key_ready(&x);
		break;
	case ORDER_ORDERED:
		out = step_ordered(&x);
		break;
	case ORDER_VALIDATING:
		out = step_validating(&x);
		break;
	case ORDER_FINALIZING:
		out = step_finalizing(&x);
		break;
	case ORDER_ISSUED:
		out = step_issued(&x);
		break;
	case ORDER_INSTALLED:
		out = step_installed(&x);
		break;
	case ORDER_LIVE:
		out = step_live(&x);
		break;
	case ORDER_NOTIFIED:
		out = step_notified(&x);
		break;
	case ORDER_OLD_REVOKED:
		out = advance(&x, ORDER_DONE, NULL);
		break;
	default:
		out = STEP_PARKED;
	}
	store_order_context_free(&x.c);
	return out;
}
