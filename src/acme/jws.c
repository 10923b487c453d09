/*
 * jws.c - JSON Web Signatures for ACME (RFC 7515, RFC 8555 §6.2): the JWK of an
 * account key in RFC 7638 member order, its thumbprint, flattened JWS with
 * RS256/ES256/ES384, and the HS256 External Account Binding of §7.3.4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "acme/acme.h"

static int bn_b64(EVP_PKEY *key, const char *param, size_t pad, char *out, size_t outsz)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n, rc = -1;

	if (!EVP_PKEY_get_bn_param(key, param, &bn))
		return -1;
	n = BN_num_bytes(bn);
	if (pad == 0)
		pad = (size_t)n;
	if (n <= 0 || (size_t)n > pad || pad > sizeof(buf))
		goto out;
	if (BN_bn2binpad(bn, buf, (int)pad) < 0)
		goto out;
	rc = acme_b64url_encode(buf, pad, out, outsz) < 0 ? -1 : 0;
out:
	BN_free(bn);
	return rc;
}

static int ec_bits(EVP_PKEY *key)
{
	return EVP_PKEY_get_bits(key);
}

const char *acme_jws_alg(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "RSA"))
		return "RS256";
	if (EVP_PKEY_is_a(key, "EC"))
		return ec_bits(key) == 384 ? "ES384" : ec_bits(key) == 256 ? "ES256" : NULL;
	return NULL;
}

int acme_jwk_json(EVP_PKEY *key, char *out, size_t outsz, struct cd_err *err)
{
	char a[1400], b[1400];
	int n;

	if (EVP_PKEY_is_a(key, "RSA")) {
		if (bn_b64(key, OSSL_PKEY_PARAM_RSA_E, 0, a, sizeof(a)) ||
		    bn_b64(key, OSSL_PKEY_PARAM_RSA_N, 0, b, sizeof(b)))
			return cd_err_set(err, CD_ECRYPTO, false, "cannot read the RSA key");
		n = snprintf(out, outsz, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b);
	} else if (EVP_PKEY_is_a(key, "EC") && (ec_bits(key) == 256 || ec_bits(key) == 384)) {
		size_t len = ec_bits(key) / 8;

		if (bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, len, a, sizeof(a)) ||
		    bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, len, b, sizeof(b)))
			return cd_err_set(err, CD_ECRYPTO, false, "cannot read the EC key");
		n = snprintf(out, outsz,
			     "{\"crv\":\"P-%d\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			     ec_bits(key), a, b);
	} else {
		return cd_err_set(err, CD_EINVAL, false,
				  "unsupported key (RSA, EC P-256 or P-384 expected)");
	}
	if (n < 0 || (size_t)n >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "JWK too large");
	return 0;
}

int acme_jwk_thumbprint(EVP_PKEY *key, char *out, size_t outsz, struct cd_err *err)
{
	char jwk[3000];
	unsigned char md[SHA256_DIGEST_LENGTH];
	int rc = acme_jwk_json(key, jwk, sizeof(jwk), err);

	if (rc)
		return rc;
	SHA256((const unsigned char *)jwk, strlen(jwk), md);
	if (acme_b64url_encode(md, sizeof(md), out, outsz) < 0)
		return cd_err_set(err, CD_ELIMIT, false, "thumbprint buffer too small");
	return 0;
}

static char *b64_dup(const unsigned char *in, size_t len)
{
	size_t cap = len / 3 * 4 + 5;
	char *s = malloc(cap);

	if (s && acme_b64url_encode(in, len, s, cap) < 0) {
		free(s);
		s = NULL;
	}
	return s;
}

/* ECDSA signatures are DER in OpenSSL and r||s (fixed width) in JWS. */
static int ecdsa_raw(const unsigned char *der, size_t len, size_t half, unsigned char *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int rc = -1;

	if (!sig)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)half) >= 0 && BN_bn2binpad(s, out + half, (int)half) >= 0)
		rc = 0;
	ECDSA_SIG_free(sig);
	return rc;
}

static char *assemble(const char *p64, const char *pl64, const char *s64)
{
	size_t n = strlen(p64) + strlen(pl64) + strlen(s64) + 64;
	char *out = malloc(n);

	if (out)
		snprintf(out, n, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
			 p64, pl64, s64);
	return out;
}

int acme_jws_sign(EVP_PKEY *key, const char *protected_json, const char *payload, char **jws,
		  struct cd_err *err)
{
	const char *alg = acme_jws_alg(key);
	char *p64 = NULL, *pl64 = NULL, *s64 = NULL, *input = NULL;
	unsigned char *sig = NULL, raw[132];
	size_t siglen = 0, n;
	EVP_MD_CTX *md = NULL;
	int rc;

	*jws = NULL;
	if (!alg)
		return cd_err_set(err, CD_EINVAL, false, "unsupported account key");
	p64 = b64_dup((const unsigned char *)protected_json, strlen(protected_json));
	pl64 = payload ? b64_dup((const unsigned char *)payload, strlen(payload)) : strdup("");
	if (!p64 || !pl64) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	n = strlen(p64) + strlen(pl64) + 2;
	if (!(input = malloc(n)) || !(md = EVP_MD_CTX_new())) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	snprintf(input, n, "%s.%s", p64, pl64);
	if (EVP_DigestSignInit(md, NULL, strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256(),
			       NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input, strlen(input)) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, strlen(input)) != 1) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "signing the request failed");
		goto out;
	}
	if (alg[0] == 'E') {
		size_t half = strcmp(alg, "ES384") == 0 ? 48 : 32;

		if (ecdsa_raw(sig, siglen, half, raw)) {
			rc = cd_err_set(err, CD_ECRYPTO, false, "bad ECDSA signature");
			goto out;
		}
		s64 = b64_dup(raw, half * 2);
	} else {
		s64 = b64_dup(sig, siglen);
	}
	if (!s64 || !(*jws = assemble(p64, pl64, s64))) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	free(p64);
	free(pl64);
	free(s64);
	free(input);
	free(sig);
	return rc;
}

int acme_eab_jws(const char *kid, const unsigned char *mac_key, size_t mac_len, const char *url,
		 const char *jwk_json, char **jws, struct cd_err *err)
{
	char prot[2 * ACME_URL_MAX + 512];
	char *p64 = NULL, *pl64 = NULL, *s64 = NULL, *input = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t n;
	int rc;

	*jws = NULL;
	if (strchr(kid, '"') || strchr(kid, '\\') || strchr(url, '"') || strchr(url, '\\'))
		return cd_err_set(err, CD_EINVAL, false, "EAB kid or URL has quotes");
	n = (size_t)snprintf(prot, sizeof(prot),
			     "{\"alg\":\"HS256\",\"kid\":\"%s\",\"url\":\"%s\"}", kid, url);
	if (n >= sizeof(prot))
		return cd_err_set(err, CD_ELIMIT, false, "EAB kid too long");
	p64 = b64_dup((const unsigned char *)prot, strlen(prot));
	pl64 = b64_dup((const unsigned char *)jwk_json, strlen(jwk_json));
	if (!p64 || !pl64) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	n = strlen(p64) + strlen(pl64) + 2;
	if (!(input = malloc(n))) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	snprintf(input, n, "%s.%s", p64, pl64);
	if (!HMAC(EVP_sha256(), mac_key, (int)mac_len, (unsigned char *)input, strlen(input), mac,
		  &maclen)) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "EAB HMAC failed");
		goto out;
	}
	if (!(s64 = b64_dup(mac, maclen)) || !(*jws = assemble(p64, pl64, s64))) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(p64);
	free(pl64);
	free(s64);
	free(input);
	return rc;
}
