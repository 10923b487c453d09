/*
 * acme.h - certdesk's ACME client (RFC 8555): one client per configured CA
 * ([ca NAME]), shared by any number of threads, and the protocol's steps one by one.
 *
 * Threads: an acme_client_t is created once and used from many threads. It keeps
 * a pool of curl handles (each with its own keep-alive connection to the CA), a
 * pool of nonces, and the account; network calls run without any client-wide
 * lock (only registering the account is serialised, as it must be). The account is loaded from the store (its key sealed under the master
 * key as secret "ca-account:NAME") or registered on first use; when the CA says
 * accountDoesNotExist the client registers once more (event "ca.reregister";
 * with the config's EAB, else the one kept from `ca register`) and repeats the
 * request once.
 *
 * Errors: every CA answer that is not a success becomes a struct cd_err:
 *   CD_EGONE  - the order or account URL is gone (404; Pebble says "malformed"),
 *               start a new attempt (retryable);
 *   CD_EPEER  - a problem document from the CA: "[<type>] <detail>" in the
 *               message, retryable for rateLimited, serverInternal, badNonce, 5xx,
 *               with retry_after from Retry-After (delta-seconds or HTTP-date);
 *   CD_EIO    - transport (connect, TLS, time-out, truncated), retryable.
 * acme_err_problem_type() and acme_err_failure() read an error back.
 */
#ifndef CD_ACME_ACME_H
#define CD_ACME_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/failure.h"
#include "util/config.h"
#include "util/err.h"

#define ACME_URL_MAX	      1024
#define ACME_NAME_MAX	      254
#define ACME_MAX_NAMES	      100
#define ACME_TOKEN_MAX	      256
#define ACME_NONCE_MAX	      256
#define ACME_PROBLEM_TYPE_MAX 128
#define ACME_DETAIL_MAX	      384
#define ACME_BODY_MAX	      (1024 * 1024) /* the largest answer read from a CA */

/* The marker in an error message that says the CA could not validate a name. */
#define ACME_VALIDATION_FAILED "the CA could not validate"

typedef struct acme_client acme_client_t;
struct secretbox;

/* --- keys and CSRs ------------------------------------------------------- */

enum acme_key_type { ACME_KEY_RSA2048, ACME_KEY_RSA3072, ACME_KEY_P256, ACME_KEY_P384 };

/* "rsa2048", "rsa3072", "p256" (also "ec256", "ecdsa-p256"), "p384". */
int acme_key_type_parse(const char *s, enum acme_key_type *out, struct cd_err *err);
const char *acme_key_type_name(enum acme_key_type t);
/* A fresh key; the caller frees it with EVP_PKEY_free. */
int acme_key_generate(enum acme_key_type t, EVP_PKEY **out, struct cd_err *err);
/* A DER CSR for names (the first is the subject CN when it fits in 64 bytes; all
 * of them in subjectAltName), signed by key and verified before it is returned.
 * *der is malloc'd. */
int acme_csr_create(EVP_PKEY *key, const char *const *names, size_t n_names, unsigned char **der,
		    size_t *der_len, struct cd_err *err);

/* --- configuration ------------------------------------------------------- */

struct acme_ca_config {
	char name[64];
	char directory[ACME_URL_MAX];
	char ca_file[4096]; /* "" = the system's trust store */
	char eab_kid[256];
	char eab_hmac_file[4096];
	enum acme_key_type account_key_type; /* account_key_type: the ACME account's key */
	enum acme_key_type key_type;	     /* key_type (old name cert_key_type): certificates */
	char contact[512];		     /* "mailto:..." or "" */
	bool validity_request;	   /* validity = request: notBefore/notAfter in newOrder */
	char preferred_chain[256]; /* a CN in the wanted chain (acme_chain_match), "" = default */
};

/* Reads [ca NAME]; -CD_ECONFIG names the section and key that are wrong. */
int acme_ca_config_load(const cd_config_t *cfg, const char *name, struct acme_ca_config *out,
			struct cd_err *err);
/* The CA for new orders: [acme] active_ca, or the only [ca NAME] there is. */
int acme_active_ca(const cd_config_t *cfg, char *name, size_t namesz, struct cd_err *err);

/* --- the client ---------------------------------------------------------- */

struct acme_client_options {
	const char *store_url;	     /* the client opens its own store connection */
	const struct secretbox *box; /* seals the account key */
	const char *actor;	     /* for events ("operator:alice", "worker:3") */
};

/* Reads [ca NAME] and [acme]; fetches nothing yet (the first call does). */
int acme_client_new(const cd_config_t *cfg, const char *ca_name,
		    const struct acme_client_options *opt, acme_client_t **out, struct cd_err *err);
void acme_client_free(acme_client_t *c);
const struct acme_ca_config *acme_client_ca(const acme_client_t *c);

/* Loads the account from the store, or registers it (EAB when configured). */
int acme_account_ensure(acme_client_t *c, struct cd_err *err);
/* Registers (or finds, when the key is known to the CA) the account, with EAB
 * kid/hmac file overriding the config when not NULL; an EAB given this way is
 * kept in the store (kid with the account, HMAC key sealed as "ca-eab:NAME:KID")
 * for a later re-registration. Without either, the config's EAB, else the kept
 * one. *created is true when the CA made a new account. */
int acme_account_register(acme_client_t *c, const char *eab_kid, const char *eab_hmac_file,
			  bool *created, struct cd_err *err);
/* The account URL (after ensure) into out. */
int acme_account_url(acme_client_t *c, char *out, size_t outsz, struct cd_err *err);

/* --- objects ------------------------------------------------------------- */

enum acme_status {
	ACME_STATUS_UNKNOWN,
	ACME_STATUS_PENDING,
	ACME_STATUS_READY,
	ACME_STATUS_PROCESSING,
	ACME_STATUS_VALID,
	ACME_STATUS_INVALID,
	ACME_STATUS_EXPIRED,
	ACME_STATUS_DEACTIVATED,
	ACME_STATUS_REVOKED,
};
const char *acme_status_name(enum acme_status s);

struct acme_problem {
	char type[ACME_PROBLEM_TYPE_MAX]; /* "" when none */
	char detail[ACME_DETAIL_MAX];
	int status;
};

struct acme_order {
	char url[ACME_URL_MAX];
	enum acme_status status;
	char finalize[ACME_URL_MAX];
	char certificate[ACME_URL_MAX]; /* "" until valid */
	size_t n_authz;
	char (*authz)[ACME_URL_MAX]; /* malloc'd, n_authz entries */
	int64_t expires;	     /* 0 when none */
	struct acme_problem error;   /* type "" when none */
	long retry_after;	     /* seconds the CA asked us to wait, 0 = none */
};
void acme_order_free(struct acme_order *o); /* frees authz; the struct stays */

struct acme_authz {
	char url[ACME_URL_MAX];
	enum acme_status status;
	char identifier[ACME_NAME_MAX + 1];
	bool has_http01;
	char http01_url[ACME_URL_MAX];
	char http01_token[ACME_TOKEN_MAX];
	enum acme_status http01_status;
	struct acme_problem error; /* the http-01 challenge's error, type "" when none */
	long retry_after;
};

/* --- the protocol's steps (each one request, safe from any thread) --------
 * not_before/not_after are sent only with validity = request, and only when
 * non-zero. The caller commits out->url as soon as acme_order_new returns.
 * A struct acme_order passed in is zeroed or one from an earlier call (its
 * authorization list is freed and replaced); acme_order_free releases it. */
int acme_order_new(acme_client_t *c, const char *const *names, size_t n_names, int64_t not_before,
		   int64_t not_after, struct acme_order *out, struct cd_err *err);
int acme_order_get(acme_client_t *c, const char *url, struct acme_order *out, struct cd_err *err);
int acme_authz_get(acme_client_t *c, const char *url, struct acme_authz *out, struct cd_err *err);
/* token "." base64url(SHA-256(JWK thumbprint of the account key)) */
int acme_key_authorization(acme_client_t *c, const char *token, char *out, size_t outsz,
			   struct cd_err *err);
int acme_challenge_respond(acme_client_t *c, const char *url, struct cd_err *err);
/* Sends the CSR; order is updated with the CA's answer. */
int acme_finalize(acme_client_t *c, struct acme_order *order, const unsigned char *csr_der,
		  size_t csr_len, struct cd_err *err);
/* The PEM chain (leaf first). With preferred_chain, the chains offered as
 * "alternate" links are fetched too and chosen by acme_chain_pick; the default
 * chain when none matches. *pem is malloc'd. */
int acme_cert_download(acme_client_t *c, const char *url, char **pem, struct cd_err *err);
/* Revokes a certificate (DER) with an RFC 5280 reason code; signed with
 * cert_key (jwk) when given, else by the account. alreadyRevoked is success. */
int acme_revoke(acme_client_t *c, const unsigned char *cert_der, size_t cert_len, int reason,
		EVP_PKEY *cert_key, struct cd_err *err);
/* "unspecified" 0, "keyCompromise" 1, "superseded" 4, "cessationOfOperation" 5, ... */
int acme_revoke_reason_parse(const char *s, int *out, struct cd_err *err);

/* --- polling ------------------------------------------------------------- */

/* The wait before poll number `attempt` (0-based) in milliseconds: the CA's
 * Retry-After when it gave one (capped at [acme] retry_after_max_s), else
 * initial * 2^attempt capped at max, with +-25 % jitter from *seed. Pure. */
long acme_backoff_ms(long initial_ms, long max_ms, long retry_after_max_s, unsigned attempt,
		     long retry_after_s, unsigned *seed);
/* Polls the order until it is no longer pending/processing (or until
 * [acme] poll_timeout_s passed: -CD_EBUSY, retryable). */
int acme_order_wait(acme_client_t *c, struct acme_order *o, struct cd_err *err);
/* Polls the authorization until it is no longer pending. */
int acme_authz_wait(acme_client_t *c, struct acme_authz *a, struct cd_err *err);

/* --- the whole issuance, for `certdesk ca issue` ---------------------------- */

/* Puts (remove = false) or takes away (remove = true) the http-01 answer for a name. */
typedef int (*acme_http01_fn)(void *arg, const char *name, const char *token,
			      const char *key_authorization, bool remove, struct cd_err *err);

struct acme_issue_request {
	const char *const *names;
	size_t n_names;
	EVP_PKEY *key; /* the certificate's key */
	int64_t not_before, not_after;
	acme_http01_fn http01;
	void *http01_arg;
};
/* New order, authorizations (http-01 through the callback), finalize, download.
 * order_url (may be NULL) receives the order's URL. *pem is malloc'd. */
int acme_issue(acme_client_t *c, const struct acme_issue_request *req, char **pem, char *order_url,
	       size_t order_url_sz, struct cd_err *err);

/* --- the standalone http-01 responder (`certdesk ca issue --http-listen`) -- */

typedef struct acme_http01_server acme_http01_server_t;
/* Listens on "ADDR:PORT", "[IPV6]:PORT", ":PORT" (every address, IPv6 and
 * IPv4) or "ADDR" (port 80; port 0 = any free one) and answers
 * GET /.well-known/acme-challenge/TOKEN from its own thread, many connections
 * at once; a connection that has not sent its request within 10 s is closed. */
int acme_http01_server_start(const char *listen_at, acme_http01_server_t **out, struct cd_err *err);
int acme_http01_server_port(const acme_http01_server_t *s);
/* An acme_http01_fn: arg is the server. */
int acme_http01_server_place(void *arg, const char *name, const char *token, const char *ka,
			     bool remove, struct cd_err *err);
void acme_http01_server_stop(acme_http01_server_t *s); /* NULL-safe */
/* A request read so far (len bytes, not NUL-terminated): -1 while the headers
 * are incomplete, 0 when complete but not GET/HEAD of a challenge token, 1 with
 * the token (base64url, < tokensz) copied out and *head set for HEAD. Pure. */
int acme_http01_request_parse(const char *req, size_t len, bool *head, char *token, size_t tokensz);

/* --- reading errors back ------------------------------------------------- */

/* The ACME problem type in err ("urn:ietf:params:acme:error:rateLimited"), or "". */
void acme_err_problem_type(const struct cd_err *err, char *out, size_t outsz);
/* FAILURE_CHALLENGE_FAILED, FAILURE_CA_REJECTED, FAILURE_CAA_FORBIDS or FAILURE_CA_ERROR. */
enum failure_code acme_err_failure(const struct cd_err *err);

/* --- parsers (pure; exposed for the tests and fuzz targets) --------------- */

/* Retry-After: delta-seconds or an IMF-fixdate, relative to now. -1 on junk. */
int acme_retry_after_parse(const char *value, int64_t now, long *secs);
/* Every URL of a Link header value with rel=rel: fn(url) for each. Returns the
 * number found, or -1 on a malformed value. */
int acme_link_parse(const char *value, const char *rel, void (*fn)(const char *url, void *arg),
		    void *arg);
/* A Replay-Nonce (base64url, 1..ACME_NONCE_MAX-1 characters): 0 or -1. */
int acme_nonce_valid(const char *value);
/* A Location (absolute http(s) URL without spaces or controls): 0 or -1. */
int acme_location_valid(const char *value);
int acme_order_parse(const char *json, size_t len, struct acme_order *out, struct cd_err *err);
int acme_authz_parse(const char *json, size_t len, struct acme_authz *out, struct cd_err *err);
int acme_problem_parse(const char *json, size_t len, struct acme_problem *out);

/* How a PEM chain (leaf first) matches a preferred_chain name, exactly and
 * case-sensitively: 2 when the topmost certificate's issuer CN is the name (the
 * rule of certbot and lego: the chain that leads to that root), 1 when any
 * certificate's issuer CN, or a CA certificate's subject CN, is the name (older
 * certbot; a cross-signed intermediate), 0 otherwise. */
int acme_chain_match(const char *pem, const char *name);
/* Among n chains (index 0 = the CA's default): the first that matches with 2,
 * else the first that matches with 1, else 0. */
size_t acme_chain_pick(const char *const *pems, size_t n, const char *name);

/* base64url without padding; decoding accepts padding and refuses anything else. */
int acme_b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz);
int acme_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz,
		       size_t *outlen);

/* JWS pieces (RFC 7515/7638), for the tests: the account key's JWK as JSON in
 * RFC 7638 member order, its thumbprint, and a flattened JWS. */
int acme_jwk_json(EVP_PKEY *key, char *out, size_t outsz, struct cd_err *err);
int acme_jwk_thumbprint(EVP_PKEY *key, char *out, size_t outsz, struct cd_err *err);
/* protected_json is signed as given; *jws is malloc'd. payload NULL = "" (POST-as-GET). */
int acme_jws_sign(EVP_PKEY *key, const char *protected_json, const char *payload, char **jws,
		  struct cd_err *err);
/* The EAB JWS of RFC 8555 §7.3.4: HS256 over the account JWK. *jws is malloc'd. */
int acme_eab_jws(const char *kid, const unsigned char *mac_key, size_t mac_len, const char *url,
		 const char *jwk_json, char **jws, struct cd_err *err);
/* The JWS "alg" of a key: "RS256", "ES256" or "ES384". */
const char *acme_jws_alg(EVP_PKEY *key);

#endif
