/*
 * test_acme_codec.c - the ACME client's encodings against published examples:
 * base64url (RFC 4648 §10 vectors, URL alphabet), the JWK thumbprint of RFC 7638
 * §3.1, key authorizations (RFC 8555 §8.1), JWS signatures that verify, and the
 * External Account Binding MAC (cross-checked with Python's hmac module).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "acme/acme.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct b64_case {
	const char *name, *plain, *enc;
};
static const struct b64_case b64_cases[] = {
	{ "RFC 4648: empty", "", "" },
	{ "RFC 4648: f", "f", "Zg" },
	{ "RFC 4648: fo", "fo", "Zm8" },
	{ "RFC 4648: foo", "foo", "Zm9v" },
	{ "RFC 4648: foob", "foob", "Zm9vYg" },
	{ "RFC 4648: fooba", "fooba", "Zm9vYmE" },
	{ "RFC 4648: foobar", "foobar", "Zm9vYmFy" },
	{ "URL alphabet: - and _", "\xfb\xff\xbf", "-_-_" },
};

static void test_b64(void **state)
{
	const struct b64_case *c = *state;
	char enc[64];
	unsigned char dec[64];
	size_t n = 0;

	assert_true(acme_b64url_encode((const unsigned char *)c->plain, strlen(c->plain), enc,
				       sizeof(enc)) >= 0);
	if (strcmp(enc, c->enc) != 0)
		fail_msg("case '%s': encoded '%s'", c->name, enc);
	assert_int_equal(acme_b64url_decode(c->enc, strlen(c->enc), dec, sizeof(dec), &n), 0);
	assert_int_equal(n, strlen(c->plain));
	assert_memory_equal(dec, c->plain, n);
}

struct bad_case {
	const char *name, *text;
	int ok;
};
static const struct bad_case b64_decode_cases[] = {
	{ "padding is accepted", "Zm8=", 1 },	  { "double padding accepted", "Zg==", 1 },
	{ "standard '+' refused", "a+b/", 0 },	  { "whitespace refused", "Zm9v Yg", 0 },
	{ "one stray char refused", "Zm9vY", 0 }, { "too much padding", "Zg===", 0 },
	{ "padding in the middle", "Zg==Zg", 0 }, { "non-canonical bits refused", "Zh", 0 },
};

static void test_b64_decode(void **state)
{
	const struct bad_case *c = *state;
	unsigned char dec[64];
	size_t n;
	int rc = acme_b64url_decode(c->text, strlen(c->text), dec, sizeof(dec), &n);

	if ((rc == 0) != c->ok)
		fail_msg("case '%s': rc %d", c->name, rc);
}

/* RFC 7638 §3.1: the example RSA key and its thumbprint */
static const char RFC7638_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
    "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
    "kEgU8awapJzKnqDKgw";

static EVP_PKEY *rsa_public(const char *n64, const char *e64)
{
	unsigned char n[512], e[8];
	size_t nl, el;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM *p;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;

	assert_int_equal(acme_b64url_decode(n64, strlen(n64), n, sizeof(n), &nl), 0);
	assert_int_equal(acme_b64url_decode(e64, strlen(e64), e, sizeof(e), &el), 0);
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	p = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static void test_thumbprint_rfc7638(void **state)
{
	EVP_PKEY *key = rsa_public(RFC7638_N, "AQAB");
	char tp[64], jwk[2048];
	struct cd_err err = { 0 };

	(void)state;
	assert_int_equal(acme_jwk_json(key, jwk, sizeof(jwk), &err), 0);
	assert_true(strncmp(jwk, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7", 32) == 0);
	assert_int_equal(acme_jwk_thumbprint(key, tp, sizeof(tp), &err), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_string_equal(acme_jws_alg(key), "RS256");
	EVP_PKEY_free(key);
}

/* Verifies a flattened JWS made by acme_jws_sign with the key's public half. */
static void verify_jws(EVP_PKEY *key, const char *jws, const char *want_payload)
{
	json_t *j = json_loads(jws, 0, NULL);
	const char *p64 = json_string_value(json_object_get(j, "protected"));
	const char *pl64 = json_string_value(json_object_get(j, "payload"));
	const char *s64 = json_string_value(json_object_get(j, "signature"));
	unsigned char sig[1024], der[256], pl[1024];
	size_t sl, pll;
	char input[4096];
	const char *alg = acme_jws_alg(key);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const unsigned char *vs = sig;
	size_t vl;

	assert_non_null(j);
	assert_int_equal(acme_b64url_decode(s64, strlen(s64), sig, sizeof(sig), &sl), 0);
	assert_int_equal(acme_b64url_decode(pl64, strlen(pl64), pl, sizeof(pl), &pll), 0);
	assert_int_equal(pll, strlen(want_payload));
	assert_memory_equal(pl, want_payload, pll);
	snprintf(input, sizeof(input), "%s.%s", p64, pl64);
	vl = sl;
	if (alg[0] == 'E') { /* r||s back to DER for OpenSSL */
		size_t half = sl / 2;
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *dp = der;

		assert_int_equal(sl, strcmp(alg, "ES384") == 0 ? 96 : 64);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)half, NULL),
			       BN_bin2bn(sig + half, (int)half, NULL));
		vl = (size_t)i2d_ECDSA_SIG(es, &dp);
		ECDSA_SIG_free(es);
		vs = der;
	}
	assert_int_equal(
	    EVP_DigestVerifyInit(md, NULL, strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256(),
				 NULL, key),
	    1);
	assert_int_equal(EVP_DigestVerify(md, vs, vl, (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(md);
	json_decref(j);
}

struct sign_case {
	const char *name;
	enum acme_key_type t;
	const char *alg;
};
static const struct sign_case sign_cases[] = {
	{ "ES256 with a P-256 key", ACME_KEY_P256, "ES256" },
	{ "ES384 with a P-384 key", ACME_KEY_P384, "ES384" },
	{ "RS256 with an RSA 2048 key", ACME_KEY_RSA2048, "RS256" },
};

static void test_sign(void **state)
{
	const struct sign_case *c = *state;
	EVP_PKEY *key = NULL;
	struct cd_err err = { 0 };
	char *jws = NULL, jwk[2048];

	assert_int_equal(acme_key_generate(c->t, &key, &err), 0);
	assert_string_equal(acme_jws_alg(key), c->alg);
	assert_int_equal(acme_jwk_json(key, jwk, sizeof(jwk), &err), 0);
	{
		json_t *j = json_loads(jwk, 0, NULL);

		assert_non_null(j);
		json_decref(j);
	}
	assert_int_equal(
	    acme_jws_sign(key, "{\"alg\":\"x\",\"nonce\":\"n\"}", "{\"a\":1}", &jws, &err), 0);
	verify_jws(key, jws, "{\"a\":1}");
	free(jws);
	/* POST-as-GET: an empty payload */
	assert_int_equal(acme_jws_sign(key, "{}", NULL, &jws, &err), 0);
	assert_non_null(strstr(jws, "\"payload\":\"\""));
	verify_jws(key, jws, "");
	free(jws);
	EVP_PKEY_free(key);
}

static void test_eab(void **state)
{
	unsigned char mac[64];
	size_t ml;
	char *jws = NULL;
	struct cd_err err = { 0 };
	static const char key64[] =
	    "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
	json_t *j;

	(void)state;
	assert_int_equal(acme_b64url_decode(key64, strlen(key64), mac, sizeof(mac), &ml), 0);
	assert_int_equal(acme_eab_jws("kid-1", mac, ml, "https://ca.test/new-acct",
				      "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"x\",\"y\":\"y\"}",
				      &jws, &err),
			 0);
	j = json_loads(jws, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(j, "protected")),
	    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS50ZXN0L25ld"
	    "y1hY2N0In0");
	assert_string_equal(json_string_value(json_object_get(j, "payload")),
			    "eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6IngiLCJ5IjoieSJ9");
	assert_string_equal(json_string_value(json_object_get(j, "signature")),
			    "WirE_N9XmUeEy7ozeUUtKgYV1KPrSX9Qn2pmjSf70zM");
	json_decref(j);
	free(jws);
	assert_int_not_equal(acme_eab_jws("k\"id", mac, ml, "https://x/", "{}", &jws, &err), 0);
}

static void test_csr(void **state)
{
	static const char *const names[] = { "a.example.test", "www.a.example.test" };
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	struct cd_err err = { 0 };
	X509_REQ *req;
	enum acme_key_type t;

	(void)state;
	assert_int_equal(acme_key_type_parse("rsa3072", &t, &err), 0);
	assert_int_equal(t, ACME_KEY_RSA3072);
	assert_int_not_equal(acme_key_type_parse("dsa", &t, &err), 0);
	assert_int_equal(acme_key_generate(ACME_KEY_P256, &key, &err), 0);
	assert_int_equal(acme_csr_create(key, names, 2, &der, &len, &err), 0);
	p = der;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	X509_REQ_free(req);
	free(der);
	assert_int_not_equal(acme_csr_create(key, names, 0, &der, &len, &err), 0);
	EVP_PKEY_free(key);
}

int main(void)
{
	struct CMUnitTest t[N(b64_cases) + N(b64_decode_cases) + N(sign_cases) + 3];
	size_t n = 0;

	for (size_t i = 0; i < N(b64_cases); i++)
		t[n++] = (struct CMUnitTest){ b64_cases[i].name, test_b64, NULL, NULL,
					      (void *)&b64_cases[i] };
	for (size_t i = 0; i < N(b64_decode_cases); i++)
		t[n++] = (struct CMUnitTest){ b64_decode_cases[i].name, test_b64_decode, NULL, NULL,
					      (void *)&b64_decode_cases[i] };
	for (size_t i = 0; i < N(sign_cases); i++)
		t[n++] = (struct CMUnitTest){ sign_cases[i].name, test_sign, NULL, NULL,
					      (void *)&sign_cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_thumbprint_rfc7638);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_eab);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_csr);
	return _cmocka_run_group_tests("acme_codec", t, n, NULL, NULL);
}
