/*
 * account.c - the client's account at its CA: loaded from the store (the key
 * sealed as "ca-account:NAME"), or registered with newAccount (External Account
 * Binding when configured, onlyReturnExisting when the key may be known), and
 * registered once more when the CA lost it (event "ca.reregister").
 *
 * EAB comes from `ca register --eab-kid K --eab-hmac-file F` (that run only),
 * else from [ca NAME] eab_kid/eab_hmac_file, else from the store: an EAB given
 * on the command line is kept for a later re-registration, the kid in the
 * ca_accounts row and the HMAC key sealed as secret "ca-eab:NAME:KID". The HMAC
 * key is never logged nor put in a message.
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

/* The binding of one registration: the kid and the CA's HMAC key. */
struct eab {
	char kid[256];
	unsigned char mac[256];
	size_t maclen;
	bool from_cli;	 /* given to `ca register`: kept in the store */
	bool from_store; /* the one kept from an earlier `ca register` */
};

static void eab_wipe(struct eab *e)
{
	OPENSSL_cleanse(e->mac, sizeof(e->mac));
	e->maclen = 0;
}

static void eab_secret_id(acme_client_t *c, const char *kid, char *out, size_t outsz)
{
	snprintf(out, outsz, "ca-eab:%s:%s", c->ca.name, kid);
}

/* The EAB for a registration (kid "" = none): the command line's, else the
 * config's, else the one kept in the store (st may be NULL: then none). */
static int eab_resolve(acme_client_t *c, store_t *st, const char *cli_kid, const char *cli_file,
		       struct eab *e, struct cd_err *err)
{
	struct store_ca_account a;
	char id[400];
	unsigned char *pt = NULL;
	size_t len = 0;
	int rc;

	memset(e, 0, sizeof(*e));
	if (cli_kid && cli_kid[0]) {
		if (strlen(cli_kid) >= sizeof(e->kid) || strpbrk(cli_kid, "\"\\"))
			return cd_err_set(err, CD_EINVAL, false,
					  "--eab-kid is too long or has quotes");
		if (!cli_file || !cli_file[0])
			return cd_err_set(err, CD_EINVAL, false, "--eab-kid needs --eab-hmac-file");
		if ((rc = eab_key_read(cli_file, e->mac, sizeof(e->mac), &e->maclen, err)))
			return rc;
		strcpy(e->kid, cli_kid);
		e->from_cli = true;
		return 0;
	}
	if (c->ca.eab_kid[0]) {
		if (!c->ca.eab_hmac_file[0])
			return cd_err_set(err, CD_ECONFIG, false,
					  "[ca %s] eab_kid is set but eab_hmac_file is not",
					  c->ca.name);
		if ((rc = eab_key_read(c->ca.eab_hmac_file, e->mac, sizeof(e->mac), &e->maclen,
				       err)))
			return rc;
		strcpy(e->kid, c->ca.eab_kid);
		return 0;
	}
	if (!st)
		return 0;
	rc = store_ca_account_get(st, c->ca.name, &a, err);
	if (rc == -CD_ENOTFOUND || (rc == 0 && !a.eab_kid[0])) {
		cd_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	eab_secret_id(c, a.eab_kid, id, sizeof(id));
	rc = store_secret_unseal(st, c->box, id, &pt, &len, err);
	if (rc == -CD_ENOTFOUND) { /* a kid from the config, whose file is gone from it */
		cd_err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	if (len == 0 || len > sizeof(e->mac)) {
		secretbox_free_plain(pt, len);
		return cd_err_set(err, CD_ECRYPTO, false, "secret '%s' is not an HMAC key", id);
	}
	memcpy(e->mac, pt, len);
	e->maclen = len;
	secretbox_free_plain(pt, len);
	snprintf(e->kid, sizeof(e->kid), "%s", a.eab_kid);
	e->from_store = true;
	return 0;
}

/* Seals the HMAC key of an EAB given on the command line (in the caller's
 * transaction), replacing an older one for the same kid. */
static int eab_keep(acme_client_t *c, store_t *st, const struct eab *e, int64_t now,
		    struct cd_err *err)
{
	char id[400], aad[420], *sealed = NULL, *old = NULL;
	int kid, rc;

	eab_secret_id(c, e->kid, id, sizeof(id));
	rc = store_secret_get(st, id, &old, &kid, err);
	free(old);
	if (rc == -CD_ENOTFOUND) {
		cd_err_clear(err);
		return store_secret_seal(st, c->box, id, "ca-eab", e->mac, e->maclen, now, err);
	}
	if (rc)
		return rc;
	/* the associated data of a sealed secret, as store.h documents it */
	snprintf(aad, sizeof(aad), "secret:%s", id);
	if ((rc = secretbox_seal(c->box, aad, e->mac, e->maclen, &sealed, err)))
		return rc;
	rc = store_secret_update(st, id, (int)secretbox_active_kid(c->box), sealed, err);
	free(sealed);
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

/* newAccount; *created from the status (201). url receives the Location.
 * e NULL or with kid "" = no External Account Binding. */
static int new_account(acme_client_t *c, bool only_existing, const struct eab *e, bool *created,
		       char *url, struct cd_err *err)
{
	struct acme_directory d;
	struct acme_resp r;
	char *eab = NULL, *payload = NULL;
	size_t n;
	int rc;

	if ((rc = acme_directory_get(c, &d, err)))
		return rc;
	if (!only_existing && e && e->kid[0] &&
	    (rc = acme_eab_jws(e->kid, e->mac, e->maclen, d.new_account, c->jwk, &eab, err)))
		return rc;
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
		else if (e && e->from_store && strstr(type, "unauthorized"))
			cd_err_prefix(err,
				      "the CA refused the External Account Binding kept from "
				      "'certdesk ca register' (kid %s; CAs often accept a kid "
				      "only once): get a new one from the CA and run 'certdesk ca "
				      "register --eab-kid KID --eab-hmac-file FILE', or set "
				      "eab_kid and eab_hmac_file in [ca %s]: ",
				      e->kid, c->ca.name);
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
static int save_account(acme_client_t *c, store_t *st, const struct eab *e, bool key_is_new,
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
	snprintf(a.eab_kid, sizeof(a.eab_kid), "%s", e ? e->kid : "");
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
	if (e && e->from_cli && e->kid[0] && (rc = eab_keep(c, st, e, now, err)))
		goto out;
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
	struct eab e;
	store_t *st = NULL;
	bool found = false, key_is_new = false;
	char url[ACME_URL_MAX] = "";
	EVP_PKEY *key = NULL;
	int rc;

	*created = false;
	memset(&e, 0, sizeof(e));
	if ((rc = open_store(c, &st, err)))
		return rc;
	if ((!c->account_key && (rc = load_stored(c, st, &found, &a, err))) ||
	    (rc = eab_resolve(c, st, eab_kid, eab_hmac_file, &e, err)))
		goto out;
	if (!c->account_key) {
		if ((rc = acme_key_generate(c->ca.account_key_type, &key, err)) ||
		    (rc = set_key(c, key, err))) {
			EVP_PKEY_free(key);
			goto out;
		}
		key_is_new = true;
	} else {
		/* a known key: perhaps the CA knows it already */
		rc = new_account(c, true, NULL, created, url, err);
		if (rc && rc != -CD_EGONE)
			goto out;
		cd_err_clear(err);
	}
	if (!url[0] && (rc = new_account(c, false, &e, created, url, err)))
		goto out;
	pthread_mutex_lock(&c->lock);
	strcpy(c->account_url, url);
	c->account_gen++;
	pthread_mutex_unlock(&c->lock);
	rc = save_account(c, st, &e, key_is_new, NULL, err);
	if (rc == -CD_ECONFLICT && key_is_new) {
		/* another process registered at the same moment and stored its
		 * account first: every node must use that one (an order belongs to
		 * the account that created it), so ours is left unused */
		cd_err_clear(err);
		if ((rc = load_stored(c, st, &found, &a, err)) == 0 && !found)
			rc = cd_err_set(err, CD_ECONFLICT, true,
					"CA %s: the account stored meanwhile is gone again",
					c->ca.name);
		if (rc == 0) {
			cd_info("CA %s: another node registered first; using its account %s",
				c->ca.name, a.account_url);
			pthread_mutex_lock(&c->lock);
			snprintf(c->account_url, sizeof(c->account_url), "%s", a.account_url);
			c->account_gen++;
			pthread_mutex_unlock(&c->lock);
			*created = false;
		}
	}
out:
	eab_wipe(&e);
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
	char url[ACME_URL_MAX], detail[2 * ACME_URL_MAX + 400];
	struct eab e;
	store_t *st = NULL;
	bool created = false;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	pthread_mutex_lock(&c->account_lock);
	if (c->account_gen != seen_gen) /* another thread did it meanwhile */
		goto out;
	cd_warn("CA %s: the CA does not know account %s: registering again", c->ca.name,
		c->account_url);
	/* the EAB of the config, or the one kept from `ca register` */
	if ((rc = open_store(c, &st, err)) || (rc = eab_resolve(c, st, NULL, NULL, &e, err)) ||
	    (rc = new_account(c, false, &e, &created, url, err)))
		goto out;
	snprintf(detail, sizeof(detail), "CA %s lost account %s; new account %s%s%s%s", c->ca.name,
		 c->account_url, url, e.kid[0] ? " (External Account Binding kid " : "", e.kid,
		 e.kid[0] ? (e.from_store ? ", kept from 'ca register')" : ", from the config)")
			  : "");
	pthread_mutex_lock(&c->lock);
	strcpy(c->account_url, url);
	c->account_gen++;
	pthread_mutex_unlock(&c->lock);
	rc = save_account(c, st, &e, false, detail, err);
out:
	eab_wipe(&e);
	store_close(st);
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
