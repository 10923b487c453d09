/*
 * client.c - one ACME client per configured CA: its settings, the directory,
 * the nonce pool, and the signed POST every step goes through (badNonce
 * retries, transport retries with backoff, Retry-After waits, one
 * re-registration on accountDoesNotExist), and CA problems turned into cd_err.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/acme_priv.h"
#include "core/failure.h"
#include "util/cdtime.h"
#include "util/log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int copy_setting(const cd_config_t *cfg, const char *sec, const char *key, char *out,
			size_t outsz, struct cd_err *err)
{
	const char *v = cd_config_get(cfg, sec, key);

	if (!v)
		v = "";
	if (strlen(v) >= outsz)
		return cd_err_set(err, CD_ECONFIG, false, "[%s] %s is too long", sec, key);
	strcpy(out, v);
	return 0;
}

int acme_ca_config_load(const cd_config_t *cfg, const char *name, struct acme_ca_config *out,
			struct cd_err *err)
{
	char sec[96], kt[32], akt[32], validity[32];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!name[0] || strlen(name) >= sizeof(out->name))
		return cd_err_set(err, CD_ECONFIG, false, "bad CA name '%s'", name);
	strcpy(out->name, name);
	snprintf(sec, sizeof(sec), "ca %s", name);
	if ((rc = copy_setting(cfg, sec, "directory", out->directory, sizeof(out->directory),
			       err)) ||
	    (rc = copy_setting(cfg, sec, "eab_kid", out->eab_kid, sizeof(out->eab_kid), err)) ||
	    (rc = copy_setting(cfg, sec, "contact", out->contact, sizeof(out->contact), err)) ||
	    (rc = copy_setting(cfg, sec, "preferred_chain", out->preferred_chain,
			       sizeof(out->preferred_chain), err)) ||
	    (rc = copy_setting(cfg, sec, "key_type", kt, sizeof(kt), err)) ||
	    (rc = copy_setting(cfg, sec, "account_key_type", akt, sizeof(akt), err)) ||
	    (rc = copy_setting(cfg, sec, "validity", validity, sizeof(validity), err)))
		return rc;
	if (!out->directory[0])
		return cd_err_set(err, CD_ECONFIG, false,
				  "[ca %s] directory is not set (is there a [ca %s] section?)",
				  name, name);
	if (strncmp(out->directory, "https://", 8) != 0)
		return cd_err_set(err, CD_ECONFIG, false, "[ca %s] directory must be an https URL",
				  name);
	if (strpbrk(out->contact, "\"\\") || strpbrk(out->eab_kid, "\"\\"))
		return cd_err_set(err, CD_ECONFIG, false, "[ca %s] contact/eab_kid has quotes",
				  name);
	/* key_type falls back to its old name cert_key_type (util/config.c) */
	if (acme_key_type_parse(kt, &out->key_type, err) != 0) {
		cd_err_prefix(err, "[ca %s] key_type (certificate keys): ", name);
		err->code = CD_ECONFIG;
		return -CD_ECONFIG;
	}
	if (acme_key_type_parse(akt, &out->account_key_type, err) != 0) {
		cd_err_prefix(err, "[ca %s] account_key_type: ", name);
		err->code = CD_ECONFIG;
		return -CD_ECONFIG;
	}
	if (strcmp(validity, "request") == 0)
		out->validity_request = true;
	else if (strcmp(validity, "ca_decides") != 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "[ca %s] validity must be 'request' or 'ca_decides'", name);
	if (cd_config_get(cfg, sec, "ca_file")[0] &&
	    (rc = cd_config_get_path(cfg, sec, "ca_file", out->ca_file, sizeof(out->ca_file), err)))
		return rc;
	if (cd_config_get(cfg, sec, "eab_hmac_file")[0] &&
	    (rc = cd_config_get_path(cfg, sec, "eab_hmac_file", out->eab_hmac_file,
				     sizeof(out->eab_hmac_file), err)))
		return rc;
	return 0;
}

struct count_arg {
	int n;
	char first[64];
};

static void count_ca(const char *name, void *arg)
{
	struct count_arg *a = arg;

	if (a->n++ == 0)
		snprintf(a->first, sizeof(a->first), "%s", name);
}

int acme_active_ca(const cd_config_t *cfg, char *name, size_t namesz, struct cd_err *err)
{
	const char *v = cd_config_get(cfg, "acme", "active_ca");
	struct count_arg a = { 0 };

	if (v && v[0]) {
		snprintf(name, namesz, "%s", v);
		return 0;
	}
	cd_config_each_named(cfg, "ca", count_ca, &a);
	if (a.n == 1) {
		snprintf(name, namesz, "%s", a.first);
		return 0;
	}
	return cd_err_set(err, CD_ECONFIG, false,
			  a.n ? "several [ca NAME] sections: set [acme] active_ca"
			      : "no CA configured: add a [ca NAME] section with a directory");
}

static int get_long(const cd_config_t *cfg, const char *key, long min, long max, long *out,
		    struct cd_err *err)
{
	return cd_config_get_int(cfg, "acme", key, min, max, out, err);
}

int acme_client_new(const cd_config_t *cfg, const char *ca_name,
		    const struct acme_client_options *opt, acme_client_t **out, struct cd_err *err)
{
	struct acme_client *c;
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (!(c = calloc(1, sizeof(*c))))
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->account_lock, NULL);
	if ((rc = acme_ca_config_load(cfg, ca_name, &c->ca, err)) ||
	    (rc = get_long(cfg, "poll_initial_ms", 1, 3600000, &c->set.poll_initial_ms, err)) ||
	    (rc = get_long(cfg, "poll_max_ms", 1, 3600000, &c->set.poll_max_ms, err)) ||
	    (rc = get_long(cfg, "poll_timeout_s", 1, 86400, &c->set.poll_timeout_s, err)) ||
	    (rc = get_long(cfg, "http_timeout_s", 1, 600, &c->set.http_timeout_s, err)) ||
	    (rc = get_long(cfg, "http_retries", 0, 100, &c->set.http_retries, err)) ||
	    (rc = get_long(cfg, "retry_after_max_s", 0, 86400, &c->set.retry_after_max_s, err)))
		goto fail;
	if (opt) {
		c->box = opt->box;
		snprintf(c->actor, sizeof(c->actor), "%s", opt->actor ? opt->actor : "certdesk");
		if (opt->store_url && !(c->store_url = strdup(opt->store_url))) {
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			goto fail;
		}
	}
	*out = c;
	return 0;
fail:
	acme_client_free(c);
	return rc;
}

void acme_client_free(acme_client_t *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_handles; i++)
		curl_easy_cleanup(c->handles[i]);
	EVP_PKEY_free(c->account_key);
	free(c->store_url);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->account_lock);
	free(c);
}

const struct acme_ca_config *acme_client_ca(const acme_client_t *c)
{
	return &c->ca;
}

/* --- directory and nonces ------------------------------------------------ */

int acme_directory_get(acme_client_t *c, struct acme_directory *out, struct cd_err *err)
{
	struct acme_resp r;
	struct acme_directory d;
	int rc;

	pthread_mutex_lock(&c->lock);
	if (c->have_dir) {
		*out = c->dir;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);
	for (long attempt = 0;; attempt++) {
		rc = acme_http(c, "GET", c->ca.directory, NULL, NULL, &r, err);
		if (rc == 0 && r.status / 100 != 2) {
			rc = acme_problem_err(c, c->ca.directory, &r, err);
			acme_resp_free(&r);
		}
		if (rc == 0 || !err->retryable || attempt >= c->set.http_retries)
			break;
		cd_warn("CA %s: %s (retry %ld of %ld)", c->ca.name, err->msg, attempt + 1,
			c->set.http_retries);
		acme_sleep_ms(acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
					      c->set.retry_after_max_s, (unsigned)attempt,
					      err->retry_after, acme_seed()));
	}
	if (rc) {
		cd_err_prefix(err, "CA %s: directory: ", c->ca.name);
		return rc;
	}
	rc = acme_directory_parse(r.body, r.len, &d, err);
	acme_resp_free(&r);
	if (rc) {
		cd_err_prefix(err, "CA %s: %s: ", c->ca.name, c->ca.directory);
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	c->dir = d;
	c->have_dir = true;
	pthread_mutex_unlock(&c->lock);
	*out = d;
	return 0;
}

static void nonce_put(acme_client_t *c, const char *nonce)
{
	if (acme_nonce_valid(nonce) != 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->n_nonces < ACME_NONCE_POOL)
		strcpy(c->nonces[c->n_nonces++], nonce);
	pthread_mutex_unlock(&c->lock);
}

static int nonce_get(acme_client_t *c, char *out, struct cd_err *err)
{
	struct acme_directory d;
	struct acme_resp r;
	int rc;

	pthread_mutex_lock(&c->lock);
	if (c->n_nonces > 0) {
		strcpy(out, c->nonces[--c->n_nonces]);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);
	if ((rc = acme_directory_get(c, &d, err)))
		return rc;
	if ((rc = acme_http(c, "HEAD", d.new_nonce, NULL, NULL, &r, err)))
		return rc;
	if (r.status / 100 != 2 || acme_nonce_valid(r.nonce) != 0) {
		rc = cd_err_set(err, CD_EPEER, true,
				"CA %s: %s gave no usable Replay-Nonce (HTTP %ld)", c->ca.name,
				d.new_nonce, r.status);
	} else {
		strcpy(out, r.nonce);
	}
	acme_resp_free(&r);
	return rc;
}

/* --- problems ------------------------------------------------------------ */

static bool type_is(const char *type, const char *name)
{
	static const char ns[] = "urn:ietf:params:acme:error:";

	return strncmp(type, ns, sizeof(ns) - 1) == 0 && strcmp(type + sizeof(ns) - 1, name) == 0;
}

int acme_problem_err(acme_client_t *c, const char *url, const struct acme_resp *r,
		     struct cd_err *err)
{
	struct acme_problem p = { 0 };
	long ra = 0;
	bool retryable;
	enum cd_errcode code = CD_EPEER;
	const char *ctype = r->content_type;

	if (r->body && r->len)
		acme_problem_parse(r->body, r->len, &p);
	if (r->retry_after[0] && acme_retry_after_parse(r->retry_after, cd_time_now(), &ra) != 0)
		ra = 0;
	retryable = r->status >= 500 || r->status == 429 || type_is(p.type, "rateLimited") ||
		    type_is(p.type, "serverInternal") || type_is(p.type, "badNonce");
	if (r->status == 404 || type_is(p.type, "accountDoesNotExist")) {
		/* the object is gone (Pebble says "malformed" with a 404): start over */
		code = CD_EGONE;
		retryable = true;
	}
	if (p.type[0])
		cd_err_set(err, code, retryable, "CA %s: %s: HTTP %ld [%s] %s", c->ca.name, url,
			   r->status, p.type, p.detail);
	else
		cd_err_set(err, code, retryable,
			   "CA %s: %s: HTTP %ld without a problem document (content type '%.60s')",
			   c->ca.name, url, r->status, ctype[0] ? ctype : "none");
	err->retry_after = retryable ? ra : 0;
	return -(int)code;
}

void acme_err_problem_type(const struct cd_err *err, char *out, size_t outsz)
{
	const char *p = strstr(err->msg, "[urn:"), *e;

	if (outsz)
		out[0] = '\0';
	if (!p || !(e = strchr(p, ']')) || (size_t)(e - p - 1) >= outsz)
		return;
	memcpy(out, p + 1, (size_t)(e - p - 1));
	out[e - p - 1] = '\0';
}

enum failure_code acme_err_failure(const struct cd_err *err)
{
	char type[ACME_PROBLEM_TYPE_MAX];

	acme_err_problem_type(err, type, sizeof(type));
	if (type_is(type, "caa"))
		return FAILURE_CAA_FORBIDS;
	if (strstr(err->msg, ACME_VALIDATION_FAILED))
		return FAILURE_CHALLENGE_FAILED;
	if (err->code == CD_EPEER && !err->retryable && type[0])
		return FAILURE_CA_REJECTED;
	return FAILURE_CA_ERROR;
}

/* --- backoff ------------------------------------------------------------- */

unsigned *acme_seed(void)
{
	/* one jitter state per thread: rand_r on a shared seed would race */
	static _Thread_local unsigned seed;
	static _Thread_local bool init;

	if (!init) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (unsigned)ts.tv_nsec ^ (unsigned)(uintptr_t)&seed;
		init = true;
	}
	return &seed;
}

long acme_backoff_ms(long initial_ms, long max_ms, long retry_after_max_s, unsigned attempt,
		     long retry_after_s, unsigned *seed)
{
	long ms = initial_ms, jitter;

	if (retry_after_s > 0)
		return (retry_after_s > retry_after_max_s ? retry_after_max_s : retry_after_s) *
		       1000;
	for (unsigned i = 0; i < attempt && ms < max_ms; i++)
		ms *= 2;
	if (ms > max_ms)
		ms = max_ms;
	/* +-25 % so that many workers do not poll in step */
	jitter = ms / 4;
	if (jitter > 0)
		ms += (long)(rand_r(seed) % (unsigned)(2 * jitter + 1)) - jitter;
	return ms < 1 ? 1 : ms;
}

/* --- the signed POST ----------------------------------------------------- */

static int protected_header(acme_client_t *c, enum acme_sign mode, EVP_PKEY *key, const char *nonce,
			    const char *url, char *out, size_t outsz, unsigned *gen,
			    struct cd_err *err)
{
	char jwk[2048];
	int n;

	if (!acme_jws_alg(key ? key : c->account_key))
		return cd_err_set(err, CD_EINVAL, false, "unsupported key (RSA, P-256, P-384)");
	if (mode == ACME_SIGN_JWK) {
		int rc = key ? acme_jwk_json(key, jwk, sizeof(jwk), err) : 0;

		if (rc)
			return rc;
		if (!key)
			strcpy(jwk, c->jwk);
		n = snprintf(out, outsz,
			     "{\"alg\":\"%s\",\"jwk\":%s,\"nonce\":\"%s\",\"url\":\"%s\"}",
			     acme_jws_alg(key ? key : c->account_key), jwk, nonce, url);
	} else {
		char kid[ACME_URL_MAX];

		pthread_mutex_lock(&c->lock);
		strcpy(kid, c->account_url);
		*gen = c->account_gen;
		pthread_mutex_unlock(&c->lock);
		n = snprintf(out, outsz,
			     "{\"alg\":\"%s\",\"kid\":\"%s\",\"nonce\":\"%s\",\"url\":\"%s\"}",
			     acme_jws_alg(c->account_key), kid, nonce, url);
	}
	if (n < 0 || (size_t)n >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "JWS header too long");
	return 0;
}

int acme_post(acme_client_t *c, const char *url, const char *payload, int flags, EVP_PKEY *key,
	      const char *accept, struct acme_resp *r, struct cd_err *err)
{
	enum acme_sign mode = (enum acme_sign)(flags & 1);
	bool once = (flags & ACME_POST_ONCE) != 0;
	int nonce_tries = 0, rc;
	long tries = 0;
	bool reregistered = false;
	char nonce[ACME_NONCE_MAX], prot[4096 + 2 * ACME_URL_MAX];
	struct acme_problem p;

	memset(r, 0, sizeof(*r));
	if (acme_location_valid(url) != 0)
		return cd_err_set(err, CD_EINVAL, false, "'%.200s' is not a URL", url);
	if (!key && !c->account_key)
		return cd_err_set(err, CD_ESTATE, false, "CA %s: no account loaded", c->ca.name);
	for (;;) {
		char *jws = NULL;
		unsigned gen = 0;

		rc = nonce_get(c, nonce, err);
		if (rc == 0)
			rc = protected_header(c, mode, key, nonce, url, prot, sizeof(prot), &gen,
					      err);
		if (rc == 0)
			rc = acme_jws_sign(key ? key : c->account_key, prot, payload, &jws, err);
		if (rc == 0)
			rc = acme_http(c, "POST", url, jws, accept, r, err);
		free(jws);
		if (rc) {
			/* a transport failure after the request left: it may have been done */
			if (err->retryable && !(once && err->code == CD_EIO) &&
			    tries++ < c->set.http_retries) {
				cd_warn("CA %s: %s (retry %ld of %ld)", c->ca.name, err->msg, tries,
					c->set.http_retries);
				acme_sleep_ms(
				    acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
						    c->set.retry_after_max_s, (unsigned)tries - 1,
						    err->retry_after, acme_seed()));
				continue;
			}
			return rc;
		}
		nonce_put(c, r->nonce);
		if (r->status / 100 == 2)
			return 0;
		memset(&p, 0, sizeof(p));
		if (r->len)
			acme_problem_parse(r->body, r->len, &p);
		if (type_is(p.type, "badNonce") && nonce_tries++ < ACME_NONCE_RETRIES) {
			acme_resp_free(r);
			continue;
		}
		if (type_is(p.type, "accountDoesNotExist") && mode == ACME_SIGN_KID && !key &&
		    !reregistered) {
			acme_resp_free(r);
			reregistered = true;
			if ((rc = acme_reregister(c, gen, err)))
				return rc;
			continue;
		}
		rc = acme_problem_err(c, url, r, err);
		if (err->retryable && rc != -CD_EGONE && tries < c->set.http_retries &&
		    err->retry_after <= c->set.retry_after_max_s) {
			long ms = acme_backoff_ms(c->set.poll_initial_ms, c->set.poll_max_ms,
						  c->set.retry_after_max_s, (unsigned)tries,
						  err->retry_after, acme_seed());

			tries++;
			cd_warn("CA %s: %s (waiting %ld ms, retry %ld of %ld)", c->ca.name,
				err->msg, ms, tries, c->set.http_retries);
			acme_resp_free(r);
			acme_sleep_ms(ms);
			continue;
		}
		acme_resp_free(r);
		return rc;
	}
}
