/*
 * order.c - the steps of an issuance (RFC 8555 §7.4): newOrder, fetching
 * orders and authorizations, answering http-01, finalize, polling with
 * Retry-After and capped backoff, downloading the chain (with the preferred
 * alternate), and the whole loop for `certdesk ca issue`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "acme/acme_priv.h"
#include "util/cdtime.h"
#include "util/log.h"

static long retry_after_of(const struct acme_resp *r)
{
	long s = 0;

	if (r->retry_after[0] && acme_retry_after_parse(r->retry_after, cd_time_now(), &s) != 0)
		s = 0;
	return s;
}

static int ensure(acme_client_t *c, struct cd_err *err)
{
	return acme_account_ensure(c, err);
}

int acme_order_new(acme_client_t *c, const char *const *names, size_t n_names, int64_t not_before,
		   int64_t not_after, struct acme_order *out, struct cd_err *err)
{
	struct acme_directory d;
	struct acme_resp r;
	size_t cap = 64 + n_names * (ACME_NAME_MAX + 40);
	char *payload = NULL, ts[32];
	size_t o;
	int rc;

	acme_order_free(out);
	memset(out, 0, sizeof(*out));
	if (n_names == 0 || n_names > ACME_MAX_NAMES)
		return cd_err_set(err, CD_EINVAL, false, "an order needs 1..%d names",
				  ACME_MAX_NAMES);
	if ((rc = ensure(c, err)) || (rc = acme_directory_get(c, &d, err)))
		return rc;
	if (!(payload = malloc(cap)))
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	o = (size_t)snprintf(payload, cap, "{\"identifiers\":[");
	for (size_t i = 0; i < n_names; i++) {
		/* LDH names (A-labels), with '*' and '_' left for the CA to judge */
		if (strlen(names[i]) > ACME_NAME_MAX || !names[i][0] ||
		    strspn(names[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789.-_*") != strlen(names[i])) {
			free(payload);
			return cd_err_set(err, CD_EINVAL, false, "bad name '%.64s'", names[i]);
		}
		o += (size_t)snprintf(payload + o, cap - o, "%s{\"type\":\"dns\",\"value\":\"%s\"}",
				      i ? "," : "", names[i]);
	}
	o += (size_t)snprintf(payload + o, cap - o, "]");
	if (c->ca.validity_request && not_before) {
		cd_time_format_utc(not_before, ts);
		o += (size_t)snprintf(payload + o, cap - o, ",\"notBefore\":\"%s\"", ts);
	}
	if (c->ca.validity_request && not_after) {
		cd_time_format_utc(not_after, ts);
		o += (size_t)snprintf(payload + o, cap - o, ",\"notAfter\":\"%s\"", ts);
	}
	snprintf(payload + o, cap - o, "}");
	rc =
	    acme_post(c, d.new_order, payload, ACME_SIGN_KID | ACME_POST_ONCE, NULL, NULL, &r, err);
	free(payload);
	if (rc)
		return rc;
	if (acme_location_valid(r.location) != 0) {
		rc = cd_err_set(err, CD_EPEER, true, "CA %s: newOrder answered without a Location",
				c->ca.name);
	} else {
		strcpy(out->url, r.location);
		rc = acme_order_parse(r.body, r.len, out, err);
		out->retry_after = retry_after_of(&r);
	}
	acme_resp_free(&r);
	if (rc)
		cd_err_prefix(err, "CA %s: newOrder: ", c->ca.name);
	return rc;
}

int acme_order_get(acme_client_t *c, const char *url_in, struct acme_order *out, struct cd_err *err)
{
	struct acme_resp r;
	char url[ACME_URL_MAX];
	int rc;

	/* url_in may be out->url */
	snprintf(url, sizeof(url), "%s", url_in);

	if ((rc = ensure(c, err)))
		return rc;
	if ((rc = acme_post(c, url, NULL, ACME_SIGN_KID, NULL, NULL, &r, err)))
		return rc;
	snprintf(out->url, sizeof(out->url), "%s", url);
	rc = acme_order_parse(r.body, r.len, out, err);
	out->retry_after = retry_after_of(&r);
	acme_resp_free(&r);
	if (rc)
		cd_err_prefix(err, "CA %s: order %s: ", c->ca.name, url);
	return rc;
}

int acme_authz_get(acme_client_t *c, const char *url_in, struct acme_authz *out, struct cd_err *err)
{
	struct acme_resp r;
	char url[ACME_URL_MAX];
	int rc;

	/* url_in may be out->url */
	snprintf(url, sizeof(url), "%s", url_in);

	if ((rc = ensure(c, err)))
		return rc;
	if ((rc = acme_post(c, url, NULL, ACME_SIGN_KID, NULL, NULL, &r, err)))
		return rc;
	snprintf(out->url, sizeof(out->url), "%s", url);
	rc = acme_authz_parse(r.body, r.len, out, err);
	out->retry_after = retry_after_of(&r);
	acme_resp_free(&r);
	if (rc)
		cd_err_prefix(err, "CA %s: authorization %s: ", c->ca.name, url);
	return rc;
}

int acme_key_authorization(acme_client_t *c, const char *token, char *out, size_t outsz,
			   struct cd_err *err)
{
	int rc, n;

	if ((rc = ensure(c, err)))
		return rc;
	if (acme_nonce_valid(token) != 0)
		return cd_err_set(err, CD_EINVAL, false, "bad challenge token");
	n = snprintf(out, outsz, "%s.%s", token, c->thumbprint);
	if (n < 0 || (size_t)n >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "key authorization buffer too small");
	return 0;
}

int acme_challenge_respond(acme_client_t *c, const char *url, struct cd_err *err)
{
	struct acme_resp r;
	int rc;

	if ((rc = ensure(c, err)))
		return rc;
	rc = acme_post(c, url, "{}", ACME_SIGN_KID, NULL, NULL, &r, err);
	acme_resp_free(&r);
	return rc;
}

int acme_finalize(acme_client_t *c, struct acme_order *order, const unsigned char *csr_der,
		  size_t csr_len, struct cd_err *err)
{
	struct acme_resp r;
	size_t cap = csr_len / 3 * 4 + 64;
	char *payload = malloc(cap);
	int rc;

	if (!payload)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	strcpy(payload, "{\"csr\":\"");
	acme_b64url_encode(csr_der, csr_len, payload + 8, cap - 12);
	strcat(payload, "\"}");
	if ((rc = ensure(c, err)) == 0)
		rc = acme_post(c, order->finalize, payload, ACME_SIGN_KID | ACME_POST_ONCE, NULL,
			       NULL, &r, err);
	free(payload);
	if (rc)
		return rc;
	rc = acme_order_parse(r.body, r.len, order, err);
	order->retry_after = retry_after_of(&r);
	acme_resp_free(&r);
	if (rc)
		cd_err_prefix(err, "CA %s: finalize: ", c->ca.name);
	return rc;
}

/* --- polling ------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int acme_order_wait(acme_client_t *c, struct acme_order *o, struct cd_err *err)
{
	int64_t end = mono_ms() + c->set.poll_timeout_s * 1000;
	char url[ACME_URL_MAX];
	int rc;

	snprintf(url, sizeof(url), "%s", o->url);
	for (unsigned attempt = 0;
	     o->status == ACME_STATUS_PENDING || o->status == ACME_STATUS_PROCESSING; attempt++) {
		if (mono_ms() >= end)
			return cd_err_set(err, CD_EBUSY, true,
					  "CA %s: order %s still %s after %ld s", c->ca.name, url,
					  acme_status_name(o->status), c->set.poll_timeout_s);
		acme_sleep_ms(acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
					      c->set.retry_after_max_s, attempt, o->retry_after,
					      acme_seed()));
		if ((rc = acme_order_get(c, url, o, err)))
			return rc;
	}
	return 0;
}

int acme_authz_wait(acme_client_t *c, struct acme_authz *a, struct cd_err *err)
{
	int64_t end = mono_ms() + c->set.poll_timeout_s * 1000;
	char url[ACME_URL_MAX];
	int rc;

	snprintf(url, sizeof(url), "%s", a->url);
	for (unsigned attempt = 0; a->status == ACME_STATUS_PENDING; attempt++) {
		if (mono_ms() >= end)
			return cd_err_set(err, CD_EBUSY, true,
					  "CA %s: authorization %s still pending after %ld s",
					  c->ca.name, url, c->set.poll_timeout_s);
		acme_sleep_ms(acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
					      c->set.retry_after_max_s, attempt, a->retry_after,
					      acme_seed()));
		if ((rc = acme_authz_get(c, url, a, err)))
			return rc;
	}
	return 0;
}

/* --- certificate download ------------------------------------------------ */

/* A certificate's subject or issuer CN is the preferred name. */
static bool cn_is(const X509_NAME *n, const char *want)
{
	char cn[256];

	return n &&
	       X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, cn, (int)sizeof(cn)) > 0 &&
	       strcmp(cn, want) == 0;
}

int acme_chain_match(const char *pem, const char *name)
{
	BIO *b;
	X509 *x, *top = NULL;
	bool any = false;
	int i = 0, m = 0;

	if (!pem || !name || !name[0] || !(b = BIO_new_mem_buf(pem, -1)))
		return 0;
	for (; (x = PEM_read_bio_X509(b, NULL, NULL, NULL)); i++) {
		/* the leaf's subject is a domain name, never a CA's */
		if (cn_is(X509_get_issuer_name(x), name) ||
		    (i > 0 && cn_is(X509_get_subject_name(x), name)))
			any = true;
		X509_free(top);
		top = x;
	}
	ERR_clear_error(); /* the end of the PEM text */
	if (top && cn_is(X509_get_issuer_name(top), name))
		m = 2;
	else if (any)
		m = 1;
	X509_free(top);
	BIO_free(b);
	return m;
}

size_t acme_chain_pick(const char *const *pems, size_t n, const char *name)
{
	size_t any = n;

	for (size_t i = 0; i < n; i++) {
		int m = acme_chain_match(pems[i], name);

		if (m == 2)
			return i;
		if (m == 1 && any == n)
			any = i;
	}
	return any < n ? any : 0;
}

static int fetch_pem(acme_client_t *c, const char *url, struct acme_resp *r, struct cd_err *err)
{
	int rc = acme_post(c, url, NULL, ACME_SIGN_KID, NULL, "application/pem-certificate-chain",
			   r, err);

	if (rc)
		return rc;
	if (!strstr(r->body, "-----BEGIN CERTIFICATE-----") || strlen(r->body) != r->len) {
		acme_resp_free(r);
		return cd_err_set(err, CD_EPEER, true, "CA %s: %s is not a PEM certificate chain",
				  c->ca.name, url);
	}
	return 0;
}

struct alt_list {
	char urls[ACME_MAX_LINKS][ACME_URL_MAX];
	int n;
};

static void add_alt(const char *url, void *arg)
{
	struct alt_list *l = arg;

	if (l->n < ACME_MAX_LINKS)
		strcpy(l->urls[l->n++], url);
}

int acme_cert_download(acme_client_t *c, const char *url, char **pem, struct cd_err *err)
{
	struct acme_resp *r = NULL;
	struct alt_list *alts = NULL;
	const char *pems[ACME_MAX_LINKS + 1];
	size_t n = 0, pick = 0;
	int rc;

	*pem = NULL;
	if ((rc = ensure(c, err)))
		return rc;
	if (!(r = calloc(ACME_MAX_LINKS + 1, sizeof(*r))) || !(alts = calloc(1, sizeof(*alts)))) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	if ((rc = fetch_pem(c, url, &r[0], err)))
		goto out;
	pems[n++] = r[0].body;
	/* RFC 8555 §7.4.2: the other chains are "alternate" links of the
	 * certificate URL; fetched only when the default is not the one wanted */
	if (c->ca.preferred_chain[0] && acme_chain_match(r[0].body, c->ca.preferred_chain) != 2) {
		for (int i = 0; i < r[0].n_links; i++)
			acme_link_parse(r[0].links[i], "alternate", add_alt, alts);
		for (int i = 0; i < alts->n; i++) {
			if (fetch_pem(c, alts->urls[i], &r[n], err) != 0) {
				cd_warn("%s", err->msg); /* the default chain still serves */
				cd_err_clear(err);
				continue;
			}
			pems[n] = r[n].body;
			if (acme_chain_match(pems[n++], c->ca.preferred_chain) == 2)
				break;
		}
		pick = acme_chain_pick(pems, n, c->ca.preferred_chain);
		if (acme_chain_match(pems[pick], c->ca.preferred_chain) == 0)
			cd_info("CA %s: no chain matches preferred_chain \"%s\" (%zu offered): "
				"the default chain is used",
				c->ca.name, c->ca.preferred_chain, n);
	}
	*pem = r[pick].body; /* the caller owns it now */
	r[pick].body = NULL;
out:
	for (size_t i = 0; r && i <= ACME_MAX_LINKS; i++)
		acme_resp_free(&r[i]);
	free(r);
	free(alts);
	return rc;
}

/* --- revocation ---------------------------------------------------------- */

int acme_revoke_reason_parse(const char *s, int *out, struct cd_err *err)
{
	static const char *const reasons[] = {
		"unspecified",	 "keyCompromise",	 "cACompromise",    "affiliationChanged",
		"superseded",	 "cessationOfOperation", "certificateHold", NULL,
		"removeFromCRL", "privilegeWithdrawn",	 "aACompromise"
	};

	for (int i = 0; i < (int)(sizeof(reasons) / sizeof(reasons[0])); i++)
		if (reasons[i] && strcasecmp(s, reasons[i]) == 0 && i != 6 && i != 8) {
			*out = i;
			return 0;
		}
	return cd_err_set(
	    err, CD_EINVAL, false,
	    "revocation reason '%s' is not one of unspecified, keyCompromise, "
	    "affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn",
	    s);
}

int acme_revoke(acme_client_t *c, const unsigned char *cert_der, size_t cert_len, int reason,
		EVP_PKEY *cert_key, struct cd_err *err)
{
	struct acme_directory d;
	struct acme_resp r;
	size_t cap = cert_len / 3 * 4 + 64;
	char *payload;
	char type[ACME_PROBLEM_TYPE_MAX];
	size_t o;
	int rc;

	if (!cert_key && (rc = ensure(c, err)))
		return rc;
	if ((rc = acme_directory_get(c, &d, err)))
		return rc;
	if (!d.revoke_cert[0])
		return cd_err_set(err, CD_EPEER, false, "CA %s has no revokeCert", c->ca.name);
	if (!(payload = malloc(cap)))
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	o = (size_t)snprintf(payload, cap, "{\"certificate\":\"");
	acme_b64url_encode(cert_der, cert_len, payload + o, cap - o);
	o = strlen(payload);
	snprintf(payload + o, cap - o, "\",\"reason\":%d}", reason);
	rc = acme_post(c, d.revoke_cert, payload, cert_key ? ACME_SIGN_JWK : ACME_SIGN_KID,
		       cert_key, NULL, &r, err);
	free(payload);
	if (rc == 0) {
		acme_resp_free(&r);
		return 0;
	}
	acme_err_problem_type(err, type, sizeof(type));
	if (strcmp(type, "urn:ietf:params:acme:error:alreadyRevoked") == 0) {
		cd_err_clear(err);
		return 0;
	}
	cd_err_prefix(err, "revocation: ");
	return rc;
}

/* --- the whole issuance -------------------------------------------------- */

static int do_authz(acme_client_t *c, const struct acme_issue_request *req, const char *url,
		    bool *placed, char *placed_name, char *placed_token, struct cd_err *err)
{
	struct acme_authz a = { 0 };
	char ka[ACME_TOKEN_MAX + 64];
	int rc;

	*placed = false;
	if ((rc = acme_authz_get(c, url, &a, err)))
		return rc;
	if (a.status == ACME_STATUS_VALID)
		return 0; /* reused: nothing to prove */
	if (a.status != ACME_STATUS_PENDING)
		return cd_err_set(err, CD_EPEER, false, "CA %s: authorization for %s is %s",
				  c->ca.name, a.identifier, acme_status_name(a.status));
	if (!a.has_http01)
		return cd_err_set(err, CD_EPEER, false,
				  "CA %s: no http-01 challenge offered for %s", c->ca.name,
				  a.identifier);
	if ((rc = acme_key_authorization(c, a.http01_token, ka, sizeof(ka), err)))
		return rc;
	if (req->http01 &&
	    (rc = req->http01(req->http01_arg, a.identifier, a.http01_token, ka, false, err)))
		return rc;
	*placed = true;
	strcpy(placed_name, a.identifier);
	strcpy(placed_token, a.http01_token);
	if (a.http01_status == ACME_STATUS_PENDING &&
	    (rc = acme_challenge_respond(c, a.http01_url, err)))
		return rc;
	if ((rc = acme_authz_wait(c, &a, err)))
		return rc;
	if (a.status != ACME_STATUS_VALID)
		return cd_err_set(err, CD_EPEER, true, "CA %s: %s %s: [%s] %s", c->ca.name,
				  ACME_VALIDATION_FAILED, a.identifier,
				  a.error.type[0] ? a.error.type : "no problem given",
				  a.error.detail);
	return 0;
}

int acme_issue(acme_client_t *c, const struct acme_issue_request *req, char **pem, char *order_url,
	       size_t order_url_sz, struct cd_err *err)
{
	struct acme_order o = { 0 };
	unsigned char *csr = NULL;
	size_t csr_len = 0, n_placed = 0;
	char(*names)[ACME_NAME_MAX + 1] = NULL, (*tokens)[ACME_TOKEN_MAX] = NULL;
	int rc;

	*pem = NULL;
	if ((rc = acme_csr_create(req->key, req->names, req->n_names, &csr, &csr_len, err)))
		return rc;
	/* a newOrder lost in transit leaves at most an orphan pending order at the
	 * CA (it expires): asking again is safe */
	for (long t = 0;; t++) {
		rc = acme_order_new(c, req->names, req->n_names, req->not_before, req->not_after,
				    &o, err);
		if (rc != -CD_EIO || t >= c->set.http_retries)
			break;
		acme_sleep_ms(acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
					      c->set.retry_after_max_s, (unsigned)t, 0,
					      acme_seed()));
	}
	if (rc)
		goto out;
	if (order_url)
		snprintf(order_url, order_url_sz, "%s", o.url);
	names = calloc(o.n_authz + 1, sizeof(*names));
	tokens = calloc(o.n_authz + 1, sizeof(*tokens));
	if (!names || !tokens) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	/* an order that arrives ready (authorizations reused) goes straight on */
	if (o.status == ACME_STATUS_PENDING) {
		for (size_t i = 0; i < o.n_authz; i++) {
			bool placed;

			rc = do_authz(c, req, o.authz[i], &placed, names[n_placed],
				      tokens[n_placed], err);
			if (placed)
				n_placed++;
			if (rc)
				goto out;
		}
		if ((rc = acme_order_get(c, o.url, &o, err)) || (rc = acme_order_wait(c, &o, err)))
			goto out;
	}
	/* finalize is sent again only while the CA still shows the order ready,
	 * i.e. when a lost request never reached it */
	for (long t = 0; o.status == ACME_STATUS_READY; t++) {
		rc = acme_finalize(c, &o, csr, csr_len, err);
		if (rc == -CD_EIO && t < c->set.http_retries) {
			acme_sleep_ms(acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
						      c->set.retry_after_max_s, (unsigned)t, 0,
						      acme_seed()));
			if ((rc = acme_order_get(c, o.url, &o, err)))
				goto out;
			continue;
		}
		if (rc || (rc = acme_order_wait(c, &o, err)))
			goto out;
	}
	if (o.status != ACME_STATUS_VALID) {
		rc =
		    cd_err_set(err, CD_EPEER, false, "CA %s: order %s is %s: [%s] %s", c->ca.name,
			       o.url, acme_status_name(o.status),
			       o.error.type[0] ? o.error.type : "no problem given", o.error.detail);
		goto out;
	}
	rc = acme_cert_download(c, o.certificate, pem, err);
out:
	for (size_t i = 0; i < n_placed; i++)
		if (req->http01)
			req->http01(req->http01_arg, names[i], tokens[i], NULL, true, NULL);
	free(names);
	free(tokens);
	free(csr);
	acme_order_free(&o);
	return rc;
}
