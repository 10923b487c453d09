/*
 * acme_priv.h - what the files of the ACME client share (not for other stages):
 * the client, one HTTP exchange, and the signed-request machinery.
 */
#ifndef CD_ACME_PRIV_H
#define CD_ACME_PRIV_H

#include <pthread.h>

#include <curl/curl.h>

#include "acme/acme.h"

#define ACME_MAX_LINKS	   16
#define ACME_NONCE_POOL	   64
#define ACME_HANDLE_POOL   64
#define ACME_NONCE_RETRIES 10

struct acme_directory {
	char new_nonce[ACME_URL_MAX], new_account[ACME_URL_MAX], new_order[ACME_URL_MAX];
	char revoke_cert[ACME_URL_MAX], key_change[ACME_URL_MAX];
	bool eab_required;
};

struct acme_settings {
	long poll_initial_ms, poll_max_ms, poll_timeout_s;
	long http_timeout_s, http_retries, retry_after_max_s;
};

struct acme_client {
	struct acme_ca_config ca;
	struct acme_settings set;
	char *store_url;
	const struct secretbox *box;
	char actor[160];

	pthread_mutex_t lock; /* handles, nonces, directory, account fields; never held over I/O */
	CURL *handles[ACME_HANDLE_POOL];
	int n_handles;
	char nonces[ACME_NONCE_POOL][ACME_NONCE_MAX];
	int n_nonces;
	bool have_dir;
	struct acme_directory dir;

	pthread_mutex_t account_lock; /* serialises loading and registering the account */
	EVP_PKEY *account_key;	      /* immutable once set */
	char jwk[2048];		      /* the account key's JWK, RFC 7638 order */
	char thumbprint[64];
	char account_url[ACME_URL_MAX];
	unsigned account_gen; /* bumped by every (re-)registration */
};

struct acme_resp {
	long status;
	char *body; /* NUL-terminated, len bytes */
	size_t len;
	char content_type[128];
	char location[ACME_URL_MAX];
	char nonce[ACME_NONCE_MAX];
	char retry_after[80];
	char links[ACME_MAX_LINKS][512 + ACME_URL_MAX];
	int n_links;
	bool overflow; /* the body passed ACME_BODY_MAX */
};
void acme_resp_free(struct acme_resp *r);

/* One HTTP exchange on a pooled handle. method "GET", "HEAD" or "POST" (with a
 * JOSE body). Transport failures give -CD_EIO (retryable). */
int acme_http(acme_client_t *c, const char *method, const char *url, const char *body,
	      const char *accept, struct acme_resp *r, struct cd_err *err);

int acme_directory_parse(const char *json, size_t len, struct acme_directory *out,
			 struct cd_err *err);
int acme_directory_get(acme_client_t *c, struct acme_directory *out, struct cd_err *err);

enum acme_sign { ACME_SIGN_KID = 0, ACME_SIGN_JWK = 1 };
/* or'ed into the mode: a request that must not be sent twice after a transport
 * failure (newOrder would leave an orphan, finalize must never run twice): the
 * caller gets the retryable error and decides after fetching the order. */
#define ACME_POST_ONCE 0x10
/* A signed POST (payload NULL = POST-as-GET) with badNonce retries, transport
 * retries, Retry-After waits and one re-registration on accountDoesNotExist.
 * key NULL = the account key. Errors become cd_err via acme_problem_err. */
int acme_post(acme_client_t *c, const char *url, const char *payload, int mode, EVP_PKEY *key,
	      const char *accept, struct acme_resp *r, struct cd_err *err);

/* Turns a non-2xx answer into err; returns the negative code. */
int acme_problem_err(acme_client_t *c, const char *url, const struct acme_resp *r,
		     struct cd_err *err);

/* Registration without the client lock held by the caller (account.c). */
int acme_account_register_locked(acme_client_t *c, const char *eab_kid, const char *eab_hmac_file,
				 bool *created, struct cd_err *err);
int acme_reregister(acme_client_t *c, unsigned seen_gen, struct cd_err *err);

void acme_sleep_ms(long ms);
/* This thread's jitter state for acme_backoff_ms. */
unsigned *acme_seed(void);

#endif
