/*
 * account.c - the client's account at its CA: loaded from the store (the key
 * sealed as "ca-account:NAME"), or registered with newAccount (External Account
 * Binding when configured, onlyReturnExisting when the key may be known), and
 * registered once more when the CA lost it (event "ca.reregister").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "acme/acme_priv.h"
#include "store/store.h"
#include "util/cdtime.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/secretbox.h"

#define EAB_FILE_MAX 4096

static int open_store(acme_client_t *c, store_t **st, struct cd_err *err)
{
	if (!c->store_url || !c->box)
		return cd_err_set(err, CD_ESTATE, false,
				  "CA %s: no store or master key to keep the account in",
				  c->ca.name);
	return store_open(c->store_url, NULL, st, err);
}

static void secret_id(acme_client_t *c, char *out, size_t outsz)
{
	snprintf(out, outsz, "ca-account:%s", c->ca.name);
}

/* Reads the EAB MAC key: base64url text, padding optional, whitespace trimmed. */
static int eab_key_read(const char *path, unsigned char *key, size_t keysz, size_t *keylen,
			struct cd_err *err)
{
	char buf[EAB_FILE_MAX + 1];
	size_t n = 0, b = 0, e;
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (!f)
		return cd_err_set(err, CD_ECONFIG, false, "EAB key file %s: cannot open", path);
	n = fread(buf, 1, EAB_FILE_MAX + 1, f);
	fclose(f);
	if (n > EAB_FILE_MAX) {
		rc = cd_err_set(err, CD_ECONFIG, false, "EAB key file %s: too large", path);
		goto out;
	}
	e = n;
	while (b < e && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n' || buf[b] == '\r'))
		b++;
	while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\n' ||
			 buf[e - 1] == '\r'))
		e--;
	if (e == b || acme_b64url_decode(buf + b, e - b, key, keysz, keylen) != 0 || *keylen == 0)
		rc = cd_err_set(err, CD_ECONFIG, false,
				"EAB key file %s: not base64url text (the CA's HMAC key)", path);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static int key_from_pem(const unsigned char *pem, size_t len, EVP_PKEY **out, struct cd_err *err)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);

	*out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!*out)
		return cd_err_set(err, CD_ECRYPTO, false, "the stored account key does not parse");
	return 0;
}

static int key_to_pem(EVP_PKEY *key, unsigned char **pem, size_t *len, struct cd_err *err)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p;
	long n;
	int rc = 0;

	*pem = NULL;
	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 || !(*pem = malloc((size_t)n))) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "cannot encode the account key");
	} else {
		memcpy(*pem, p, (size_t)n);
		*len = (size_t)n;
	}
	BIO_free(b); /* secure memory BIO: wiped on free */
	return rc;
}

static int set_key(acme_client_t *c, EVP_PKEY *key, struct cd_err *err)
{
	char jwk[sizeof(c->jwk)], tp[sizeof(c->thumbprint)];
	int rc;

	if ((rc = acme_jwk_json(key, jwk, sizeof(jwk), err)) ||
	    (rc = acme_jwk_thumbprint(key, tp, sizeof(tp), err)))
		return rc;
	if (c->account_key && c->account_key != key)
		EVP_PKEY_free(c->account_key);
	c->account_key = key;
	strcpy(c->jwk, jwk);
	strcpy(c->thumbprint, tp);
	return 0;
}

/* newAccount; *created from the status (201). url receives the Location. */
static int new_account(acme_client_t *c, bool only_existing, const char *eab_kid,
		       const char *eab_file, bool *created, char *url, struct cd_err *err)
{
	struct acme_directory d;
	struct acme_resp r;
	unsigned char mac[256];
	size_t maclen = 0;
	char *eab = NULL, *payload = NULL;
	size_t n;
	int rc;

	if ((rc = acme_directory_get(c, &d, err)))
		return rc;
	if (!only_existing && eab_kid && eab_kid[0]) {
		if (!eab_file || !eab_file[0])
			return cd_err_set(err, CD_ECONFIG, false,
					  "CA %s: eab_kid is set but eab_hmac_file is not",
					  c->ca.name);
		if ((rc = eab_key_read(eab_file, mac, sizeof(mac), &maclen, err)))
			return rc;
		rc = acme_eab_jws(eab_kid, mac, maclen, d.new_account, c->jwk, &eab, err);
		OPENSSL_cleanse(mac, sizeof(mac));
		if (rc)
			return rc;
	}
	n = 256 + strlen(c->ca.contact) + (eab ? strlen(eab) : 0);
	if (!(payload = malloc(n))) {
		free(eab);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	if (only_existing)
		snprintf(payload, n, "{\"onlyReturnExisting\":true}");
	else
		snprintf(payload, n, "{\"termsOfServiceAgreed\":true%s%s%s%s%s}",
			 c->ca.contact[0] ? ",\"contact\":[\"" : "", c->ca.contact,
			 c->ca.contact[0] ? "\"]" : "", eab ? ",\"externalAccountBinding\":" : "",
			 eab ? eab : "");
	free(eab);
	rc = acme_post(c, d.new_account, payload, ACME_SIGN_JWK, NULL, NULL, &r, err);
	free(payload);
	if (rc) {
		char type[ACME_PROBLEM_TYPE_MAX];

		acme_err_problem_type(err, type, sizeof(type));
		if (strstr(type, "externalAccountRequired"))
			cd_err_prefix(err, "the CA requires External Account Binding "
					   "(set eab_kid and eab_hmac_file): ");
		return rc;
	}
	if (acme_location_valid(r.location) != 0) {
		rc = cd_err_set(err, CD_EPEER, true,
				"CA %s: newAccount answered without a Location", c->ca.name);
	} else {
		strcpy(url, r.location);
		*created = r.status == 201;
	}
	acme_resp_free(&r);
	return rc;
}

/* Seals the key when it is new, and writes the ca_accounts row (+ event). */
static int save_account(acme_client_t *c, store_t *st, const char *eab_kid, bool key_is_new,
			const char *event_detail, struct cd_err *err)
{
	struct store_ca_account a = { 0 };
	unsigned char *pem = NULL;
	size_t len = 0;
	int64_t now = cd_time_now();
	int rc;

	snprintf(a.ca, sizeof(a.ca), "%s", c->ca.name);
	snprintf(a.directory_url, sizeof(a.directory_url), "%s", c->ca.directory);
	snprintf(a.account_url, sizeof(a.account_url), "%s", c->account_url);
	secret_id(c, a.key_secret_id, sizeof(a.key_secret_id));
	snprintf(a.eab_kid, sizeof(a.eab_kid), "%s", eab_kid ? eab_kid : "");
	snprintf(a.contact, sizeof(a.contact), "%s", c->ca.contact);
	if ((rc = store_begin(st, err)))
		return rc;
	if (key_is_new) {
		if ((rc = key_to_pem(c->account_key, &pem, &len, err)))
			goto out;
		rc = store_secret_seal(st, c->box, a.key_secret_id, "ca-account", pem, len, now,
				       err);
		OPENSSL_cleanse(pem, len);
		free(pem);
		if (rc)
			goto out;
	}
	if ((rc = store_ca_account_put(st, &a, now, err)))
		goto out;
	if (event_detail && (rc = store_event_add(st,
						  &(struct store_event){ .at = now,
									 .actor = c->actor,
									 .kind = "ca.reregister",
									 .detail = event_detail },
						  err)))
		goto out;
	rc = store_commit(st, err);
out:
	if (rc)
		store_rollback(st);
	return rc;
}

/* Loads the stored key (and URL) into c; *found false when there is none. */
static int load_stored(acme_client_t *c, store_t *st, bool *found, struct store_ca_account *a,
		       struct cd_err *err)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	int rc = store_ca_account_get(st, c->ca.name, a, err);

	*found = false;
	if (rc == -CD_ENOTFOUND) {
		cd_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	if ((rc = store_secret_unseal(st, c->box, a->key_secret_id, &pem, &len, err)))
		return rc;
	rc = key_from_pem(pem, len, &key, err);
	secretbox_free_plain(pem, len);
	if (rc)
		return rc;
	if ((rc = set_key(c, key, err))) {
		EVP_PKEY_free(key);
		return rc;
	}
	*found = true;
	return 0;
}

int acme_account_register_locked(acme_client_t *c, const char *eab_kid, const char *eab_hmac_file,
				 bool *created, struct cd_err *err)
{
	struct store_ca_account a;
	store_t *st = NULL;
	bool found = false, key_is_new = false;
	char url[ACME_URL_MAX] = "";
	EVP_PKEY *key = NULL;
	int rc;

	*created = false;
	if (!eab_kid)
		eab_kid = c->ca.eab_kid;
	if (!eab_hmac_file)
		eab_hmac_file = c->ca.eab_hmac_file;
	if ((rc = open_store(c, &st, err)))
		return rc;
	if (!c->account_key && (rc = load_stored(c, st, &found, &a, err)))
		goto out;
	if (!c->account_key) {
		if ((rc = acme_key_generate(c->ca.key_type, &key, err)) ||
		    (rc = set_key(c, key, err))) {
			EVP_PKEY_free(key);
			goto out;
		}
		key_is_new = true;
	} else {
		/* a known key: perhaps the CA knows it already */
		rc = new_account(c, true, NULL, NULL, created, url, err);
		if (rc && rc != -CD_EGONE)
			goto out;
		cd_err_clear(err);
	}
	if (!url[0] && (rc = new_account(c, false, eab_kid, eab_hmac_file, created, url, err)))
		goto out;
	pthread_mutex_lock(&c->lock);
	strcpy(c->account_url, url);
	c->account_gen++;
	pthread_mutex_unlock(&c->lock);
	rc = save_account(c, st, eab_kid, key_is_new, NULL, err);
	if (rc == -CD_ECONFLICT && key_is_new) {
		/* another process (another certdesk node on the same store)
		 * registered first: its account is the one every node uses, so
		 * that each can go on with an order another one created */
		cd_err_clear(err);
		rc = load_stored(c, st, &found, &a, err);
		if (!rc && (!found || !a.account_url[0]))
			rc = cd_err_set(err, CD_ESTATE, true,
					"CA %s: the account stored by another process has no URL",
					c->ca.name);
		if (!rc) {
			pthread_mutex_lock(&c->lock);
			strcpy(c->account_url, a.account_url);
			c->account_gen++;
			pthread_mutex_unlock(&c->lock);
			*created = false;
		}
	}
out:
	store_close(st);
	if (rc)
		cd_err_prefix(err, "account registration failed: ");
	return rc;
}

int acme_account_register(acme_client_t *c, const char *eab_kid, const char *eab_hmac_file,
			  bool *created, struct cd_err *err)
{
	int rc;

	pthread_mutex_lock(&c->account_lock);
	rc = acme_account_register_locked(c, eab_kid, eab_hmac_file, created, err);
	pthread_mutex_unlock(&c->account_lock);
	return rc;
}

int acme_account_ensure(acme_client_t *c, struct cd_err *err)
{
	struct store_ca_account a;
	store_t *st = NULL;
	bool found = false, created;
	int rc = 0;

	pthread_mutex_lock(&c->account_lock);
	if (c->account_key && c->account_url[0])
		goto out;
	if ((rc = open_store(c, &st, err)))
		goto out;
	rc = load_stored(c, st, &found, &a, err);
	store_close(st);
	if (rc)
		goto out;
	if (found && a.account_url[0] && strcmp(a.directory_url, c->ca.directory) == 0) {
		pthread_mutex_lock(&c->lock);
		strcpy(c->account_url, a.account_url);
		pthread_mutex_unlock(&c->lock);
		goto out;
	}
	rc = acme_account_register_locked(c, NULL, NULL, &created, err);
out:
	pthread_mutex_unlock(&c->account_lock);
	return rc;
}

int acme_reregister(acme_client_t *c, unsigned seen_gen, struct cd_err *err)
{
	char url[ACME_URL_MAX], detail[2 * ACME_URL_MAX + 128];
	store_t *st = NULL;
	bool created = false;
	int rc = 0;

	pthread_mutex_lock(&c->account_lock);
	if (c->account_gen != seen_gen) /* another thread did it meanwhile */
		goto out;
	cd_warn("CA %s: the CA does not know account %s: registering again", c->ca.name,
		c->account_url);
	if ((rc = new_account(c, false, c->ca.eab_kid, c->ca.eab_hmac_file, &created, url, err)))
		goto out;
	snprintf(detail, sizeof(detail), "CA %s lost account %s; new account %s", c->ca.name,
		 c->account_url, url);
	pthread_mutex_lock(&c->lock);
	strcpy(c->account_url, url);
	c->account_gen++;
	pthread_mutex_unlock(&c->lock);
	if ((rc = open_store(c, &st, err)) == 0)
		rc = save_account(c, st, c->ca.eab_kid, false, detail, err);
	store_close(st);
out:
	pthread_mutex_unlock(&c->account_lock);
	if (rc)
		cd_err_prefix(err, "re-registration failed: ");
	return rc;
}

int acme_account_url(acme_client_t *c, char *out, size_t outsz, struct cd_err *err)
{
	int rc = acme_account_ensure(c, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&c->lock);
	snprintf(out, outsz, "%s", c->account_url);
	pthread_mutex_unlock(&c->lock);
	return 0;
}
