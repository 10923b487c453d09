/*
 * csr.c - certificate keys and CSRs: RSA 2048/3072 and ECDSA P-256/P-384 keys,
 * and a PKCS#10 request with every name in subjectAltName, verified against its
 * own key before it leaves (a CA may not check it: Pebble 2.4 does not).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme/acme.h"

static const struct {
	const char *name;
	enum acme_key_type t;
} key_types[] = {
	{ "rsa2048", ACME_KEY_RSA2048 }, { "rsa3072", ACME_KEY_RSA3072 }, { "p256", ACME_KEY_P256 },
	{ "ec256", ACME_KEY_P256 },	 { "ecdsa-p256", ACME_KEY_P256 }, { "p384", ACME_KEY_P384 },
	{ "ec384", ACME_KEY_P384 },	 { "ecdsa-p384", ACME_KEY_P384 },
};

int acme_key_type_parse(const char *s, enum acme_key_type *out, struct cd_err *err)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcasecmp(s, key_types[i].name) == 0) {
			*out = key_types[i].t;
			return 0;
		}
	return cd_err_set(err, CD_EINVAL, false,
			  "key type '%s' is not one of rsa2048, rsa3072, p256, p384", s);
}

const char *acme_key_type_name(enum acme_key_type t)
{
	switch (t) {
	case ACME_KEY_RSA2048:
		return "rsa2048";
	case ACME_KEY_RSA3072:
		return "rsa3072";
	case ACME_KEY_P256:
		return "p256";
	case ACME_KEY_P384:
		return "p384";
	}
	return "?";
}

int acme_key_generate(enum acme_key_type t, EVP_PKEY **out, struct cd_err *err)
{
	switch (t) {
	case ACME_KEY_RSA2048:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case ACME_KEY_RSA3072:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case ACME_KEY_P256:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ACME_KEY_P384:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	default:
		*out = NULL;
	}
	if (!*out)
		return cd_err_set(err, CD_ECRYPTO, false, "cannot generate a %s key",
				  acme_key_type_name(t));
	return 0;
}

int acme_csr_create(EVP_PKEY *key, const char *const *names, size_t n_names, unsigned char **der,
		    size_t *der_len, struct cd_err *err)
{
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	GENERAL_NAMES *gens = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	unsigned char *p = NULL;
	int len, rc;

	*der = NULL;
	if (n_names == 0 || n_names > ACME_MAX_NAMES)
		return cd_err_set(err, CD_EINVAL, false, "a CSR needs 1..%d names", ACME_MAX_NAMES);
	if (!(req = X509_REQ_new()) || !(subj = X509_NAME_new()) || !(gens = GENERAL_NAMES_new()) ||
	    !(exts = sk_X509_EXTENSION_new_null())) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	if (!X509_REQ_set_version(req, 0) || !X509_REQ_set_pubkey(req, key)) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "CSR: cannot set the key");
		goto out;
	}
	if (strlen(names[0]) <= 64 &&
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)names[0],
					-1, -1, 0)) {
		rc = cd_err_set(err, CD_EINVAL, false, "CSR: bad common name '%s'", names[0]);
		goto out;
	}
	X509_REQ_set_subject_name(req, subj);
	for (size_t i = 0; i < n_names; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (!g || !s || strlen(names[i]) > ACME_NAME_MAX ||
		    !ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			rc = cd_err_set(err, CD_EINVAL, false, "CSR: bad name '%.64s'", names[i]);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			goto out;
		}
	}
	if (!(ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) ||
	    !sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		rc = cd_err_set(err, CD_ECRYPTO, false, "CSR: cannot encode subjectAltName");
		goto out;
	}
	if (!X509_REQ_add_extensions(req, exts) || X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "CSR: signing failed");
		goto out;
	}
	/* the request must verify under its own key before a CA sees it */
	if (X509_REQ_verify(req, key) != 1) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "CSR: does not verify under its own key");
		goto out;
	}
	len = i2d_X509_REQ(req, &p);
	if (len <= 0) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "CSR: cannot encode");
		goto out;
	}
	*der = malloc((size_t)len);
	if (!*der) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	memcpy(*der, p, (size_t)len);
	*der_len = (size_t)len;
	rc = 0;
out:
	OPENSSL_free(p);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	return rc;
}
