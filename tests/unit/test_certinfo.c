/*
 * test_certinfo.c - facts read from PEM bundles (core/certinfo.h). Every
 * certificate is generated here with OpenSSL (RSA, P-256, Ed25519; CA and
 * leaf; with and without SANs, AKI and SKI) and encoded to PEM in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/certinfo.h"

#define G3_DN "CN=JPRS Domain Validation Authority - G3,O=Japan Registry Services Co.\\, Ltd.,C=JP"

/* --- generating certificates -------------------------------------------- */

enum cert_id {
	ROOT,
	G3,
	LEAF_A,
	LEAF_B,
	WILD,
	EXACT_WWW,
	NOSAN,
	SANONLY,
	CA_LIKE,
	ED,
	STAR_TLD,
	PARTIAL,
	G3_IMPOSTOR,
	G3_VARIANT,
	NOAKI,
	NCERTS
};

struct spec {
	const char *label;
	const char *cn, *o;
	const char *sans;
	bool ca, ski, aki;
	unsigned char serial[4];
	size_t serial_len;
	const char *not_before, *not_after; /* ASN1_TIME_set_string form */
	int key;			    /* index into keys[] */
	int issuer;			    /* cert id, or -1 for self-signed */
};

enum { K_RSA, K_EC_CA, K_EC, K_EC2, K_ED, NKEYS };

static const struct spec specs[NCERTS] = {
	[ROOT] = { "root",
		   "certdesk Test Root",
		   "certdesk test",
		   NULL,
		   true,
		   true,
		   true,
		   { 1 },
		   1,
		   "20240101000000Z",
		   "20340101000000Z",
		   K_RSA,
		   -1 },
	[G3] = { "g3",
		 "JPRS Domain Validation Authority - G3",
		 "Japan Registry Services Co., Ltd.",
		 NULL,
		 true,
		 true,
		 true,
		 { 2 },
		 1,
		 "20240101000000Z",
		 "20300101000000Z",
		 K_EC_CA,
		 ROOT },
	[LEAF_A] = { "leaf_a",
		     "example.jp",
		     NULL,
		     "DNS:example.jp,DNS:www.example.jp",
		     false,
		     true,
		     true,
		     { 0x00, 0x80, 0x01 },
		     3,
		     "250101000000Z",
		     "20260101000000Z",
		     K_EC,
		     G3 },
	[LEAF_B] = { "leaf_b",
		     "example.jp",
		     NULL,
		     "DNS:example.jp,DNS:www.example.jp",
		     false,
		     true,
		     true,
		     { 0x0b },
		     1,
		     "20250601000000Z",
		     "20260601000000Z",
		     K_EC,
		     G3 },
	[WILD] = { "wild",
		   "*.wild.example.jp",
		   NULL,
		   "DNS:*.wild.example.jp",
		   false,
		   true,
		   true,
		   { 0x0c },
		   1,
		   "20250101000000Z",
		   "20261201000000Z",
		   K_EC,
		   G3 },
	[EXACT_WWW] = { "exact_www",
			"www.wild.example.jp",
			NULL,
			NULL,
			false,
			true,
			true,
			{ 0x0d },
			1,
			"20250101000000Z",
			"20250901000000Z",
			K_EC,
			G3 },
	[NOSAN] = { "nosan",
		    "NoSan.Example.JP",
		    NULL,
		    NULL,
		    false,
		    true,
		    true,
		    { 0x00 },
		    1,
		    "20250101000000Z",
		    "20260101000000Z",
		    K_RSA,
		    G3 },
	[SANONLY] = { "sanonly",
		      NULL,
		      "SAN Only",
		      "DNS:SanOnly.Example.JP,IP:192.0.2.1,email:a@b.jp",
		      false,
		      true,
		      true,
		      { 0x0e },
		      1,
		      "20250101000000Z",
		      "20260101000000Z",
		      K_EC,
		      G3 },
	[CA_LIKE] = { "ca_like",
		      "ca.example.jp",
		      NULL,
		      "DNS:ca.example.jp",
		      true,
		      true,
		      true,
		      { 0x0f },
		      1,
		      "20250101000000Z",
		      "20260101000000Z",
		      K_EC_CA,
		      ROOT },
	[ED] = { "ed",
		 "ed.example.jp",
		 NULL,
		 "DNS:ed.example.jp",
		 false,
		 true,
		 true,
		 { 0x10 },
		 1,
		 "20250101000000Z",
		 "20260101000000Z",
		 K_ED,
		 G3 },
	[STAR_TLD] = { "star_tld",
		       NULL,
		       "x",
		       "DNS:*.jp",
		       false,
		       true,
		       true,
		       { 0x11 },
		       1,
		       "20250101000000Z",
		       "20260101000000Z",
		       K_EC,
		       G3 },
	[PARTIAL] = { "partial",
		      NULL,
		      "x",
		      "DNS:w*.example.jp",
		      false,
		      true,
		      true,
		      { 0x12 },
		      1,
		      "20250101000000Z",
		      "20260101000000Z",
		      K_EC,
		      G3 },
	[G3_IMPOSTOR] = { "g3_impostor",
			  "JPRS Domain Validation Authority - G3",
			  "Japan Registry Services Co., Ltd.",
			  NULL,
			  true,
			  true,
			  true,
			  { 0x13 },
			  1,
			  "20240101000000Z",
			  "20300101000000Z",
			  K_EC2,
			  ROOT },
	[G3_VARIANT] = { "g3_variant",
			 "jprs domain validation  authority - g3",
			 "JAPAN REGISTRY SERVICES CO., LTD.",
			 NULL,
			 true,
			 false,
			 true,
			 { 0x14 },
			 1,
			 "20240101000000Z",
			 "20300101000000Z",
			 K_EC2,
			 ROOT },
	[NOAKI] = { "noaki",
		    "noaki.example.jp",
		    NULL,
		    "DNS:noaki.example.jp",
		    false,
		    true,
		    false,
		    { 0x15 },
		    1,
		    "491231235959Z",
		    "20500101000000Z",
		    K_EC,
		    G3 },
};

struct bad_bundle {
	const char *name;
	enum cd_errcode code;
	const char *msg_has[2];
	char *text; /* built by build_bad_texts() in the group setup */
};

static struct bad_bundle bad_cases[] = {
	{ "empty", CD_EINVAL, { "no certificate in PEM data" }, NULL },
	{ "text only", CD_EINVAL, { "no certificate in PEM data" }, NULL },
	{ "private key only", CD_EINVAL, { "no certificate in PEM data" }, NULL },
	{ "garbage block only", CD_EINVAL, { "no certificate in PEM data" }, NULL },
	{ "bad base64", CD_EINVAL, { "PEM block 1 (CERTIFICATE, line 1)", "base64" }, NULL },
	{ "base64 padding in the middle", CD_EINVAL, { "PEM block 1", "base64" }, NULL },
	{ "not a certificate",
	  CD_EINVAL,
	  { "PEM block 1", "not a valid X.509 certificate" },
	  NULL },
	{ "broken third block after a key",
	  CD_EINVAL,
	  { "PEM block 3 (CERTIFICATE, line", "not a valid X.509" },
	  NULL },
	{ "unterminated", CD_EINVAL, { "PEM block 2 (CERTIFICATE, line", "no END line" }, NULL },
	{ "mismatched END", CD_EINVAL, { "PEM block 1", "no END line" }, NULL },
	{ "key without END hides a certificate",
	  CD_EINVAL,
	  { "PEM block 1 (PRIVATE KEY, line 1)", "no END line" },
	  NULL },
	{ "bytes after the certificate", CD_EINVAL, { "PEM block 1", "1 bytes follow" }, NULL },
	{ "headers in a certificate block", CD_EINVAL, { "PEM block 1", "base64" }, NULL },
};

static EVP_PKEY *keys[NKEYS];
static X509 *certs[NCERTS];
static char *pems[NCERTS];
static char *key_pem;		 /* a private key block, to be skipped */
static char key_needle[65];	 /* one line of its body, which must never show up */
static struct certinfo_list all; /* every certificate above, in cert_id order */

static char *cat(const char *first, ...);
static void build_bad_texts(void);

static char *pem_of_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
}

static X509 *make_cert(const struct spec *s)
{
	X509 *x = X509_new(), *issuer = s->issuer >= 0 ? certs[s->issuer] : x;
	EVP_PKEY *ikey = s->issuer >= 0 ? keys[specs[s->issuer].key] : keys[s->key];
	X509_NAME *subj = X509_get_subject_name(x);
	BIGNUM *bn = BN_bin2bn(s->serial, (int)s->serial_len, NULL);

	assert_non_null(issuer);
	X509_set_version(x, 2);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	if (s->o) {
		X509_NAME_add_entry_by_txt(subj, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1,
					   -1, 0);
		X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_UTF8, (const unsigned char *)s->o,
					   -1, -1, 0);
	}
	if (s->cn)
		X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn,
					   -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	assert_true(ASN1_TIME_set_string(X509_getm_notBefore(x), s->not_before));
	assert_true(ASN1_TIME_set_string(X509_getm_notAfter(x), s->not_after));
	X509_set_pubkey(x, keys[s->key]);
	add_ext(x, issuer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	if (s->ski)
		add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (s->aki)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (s->sans)
		add_ext(x, issuer, NID_subject_alt_name, s->sans);
	assert_true(
	    X509_sign(x, ikey,
		      EVP_PKEY_get_base_id(ikey) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	BIO *b;
	char *data, *line;
	long n;

	(void)state;
	keys[K_RSA] = EVP_RSA_gen(2048);
	keys[K_EC_CA] = EVP_EC_gen("P-256");
	keys[K_EC] = EVP_EC_gen("P-256");
	keys[K_EC2] = EVP_EC_gen("P-256");
	keys[K_ED] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (int i = 0; i < NKEYS; i++)
		assert_non_null(keys[i]);
	for (int i = 0; i < NCERTS; i++) {
		certs[i] = make_cert(&specs[i]);
		pems[i] = pem_of_cert(certs[i]);
	}
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, keys[K_EC], NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	key_pem = malloc((size_t)n + 1);
	memcpy(key_pem, data, (size_t)n);
	key_pem[n] = '\0';
	BIO_free(b);
	line = strchr(key_pem, '\n') + 1;
	memcpy(key_needle, line, 32);
	key_needle[32] = '\0';
	{
		char *bundle = cat("", NULL);
		struct cd_err err = { 0 };

		for (int i = 0; i < NCERTS; i++) {
			char *next = cat(bundle, pems[i], NULL);

			free(bundle);
			bundle = next;
		}
		if (certinfo_parse_bundle(bundle, strlen(bundle), &all, &err) != 0 ||
		    all.count != NCERTS)
			fail_msg("the bundle of all certificates: %s", err.msg);
		free(bundle);
	}
	build_bad_texts();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCERTS; i++) {
		X509_free(certs[i]);
		free(pems[i]);
	}
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(keys[i]);
	free(key_pem);
	certinfo_list_free(&all);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		free(bad_cases[i].text);
	return 0;
}

/* --- small helpers -------------------------------------------------------- */

/* Concatenates NULL-terminated pieces into a new string. */
static char *cat(const char *first, ...)
{
	size_t len = 0;
	const char *s;
	char *out;
	va_list ap;

	va_start(ap, first);
	for (s = first; s; s = va_arg(ap, const char *))
		len += strlen(s);
	va_end(ap);
	out = malloc(len + 1);
	out[0] = '\0';
	va_start(ap, first);
	for (s = first; s; s = va_arg(ap, const char *))
		strcat(out, s);
	va_end(ap);
	return out;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static int parse_str(const char *s, struct certinfo_list *l, struct cd_err *err)
{
	memset(l, 0, sizeof(*l));
	return certinfo_parse_bundle(s, strlen(s), l, err);
}

static void assert_no_key_text(const char *what, const char *text)
{
	if (text && (strstr(text, key_needle) || strstr(text, "PRIVATE KEY-----")))
		fail_msg("%s holds private key text", what);
}

static void assert_no_key_in(const struct certinfo_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		assert_no_key_text("pem", l->items[i].pem);
		assert_no_key_text("subject_dn", l->items[i].subject_dn);
		assert_no_key_text("issuer_dn", l->items[i].issuer_dn);
	}
}

/* --- facts of each certificate --------------------------------------------- */

struct facts_case {
	enum cert_id id;
	const char *cn;
	const char *sans; /* joined with ',' */
	const char *serial;
	const char *key_type;
	bool is_ca;
	int64_t not_before, not_after;
};

static const struct facts_case facts_cases[] = {
	{ ROOT, "certdesk test root", "", "1", "rsa2048", true, 1704067200, 2019686400 },
	{ G3, "jprs domain validation authority - g3", "", "2", "ec-p256", true, 1704067200,
	  1893456000 },
	{ LEAF_A, "example.jp", "example.jp,www.example.jp", "8001", "ec-p256", false, 1735689600,
	  1767225600 },
	{ WILD, "*.wild.example.jp", "*.wild.example.jp", "c", "ec-p256", false, 1735689600,
	  1796083200 },
	{ NOSAN, "nosan.example.jp", "", "0", "rsa2048", false, 1735689600, 1767225600 },
	{ SANONLY, "", "sanonly.example.jp", "e", "ec-p256", false, 1735689600, 1767225600 },
	{ CA_LIKE, "ca.example.jp", "ca.example.jp", "f", "ec-p256", true, 1735689600, 1767225600 },
	{ ED, "ed.example.jp", "ed.example.jp", "10", "ed25519", false, 1735689600, 1767225600 },
	/* UTCTime 491231235959Z and GeneralizedTime 20500101000000Z */
	{ NOAKI, "noaki.example.jp", "noaki.example.jp", "15", "ec-p256", false, 2524607999,
	  2524608000 },
};

static void test_facts_case(void **state)
{
	const struct facts_case *c = *state;
	const char *name = specs[c->id].label;
	struct certinfo_list l;
	struct cd_err err = { 0 };
	const struct certinfo *ci;
	unsigned char md[32];
	unsigned mdlen;
	char want[200], sans[512] = "";
	const unsigned char *der;
	size_t derlen;

	if (parse_str(pems[c->id], &l, &err) != 0 || l.count != 1)
		fail_msg("case '%s': parse failed: %s", name, err.msg);
	ci = &l.items[0];
	if (strcmp(ci->subject_cn, c->cn) != 0)
		fail_msg("case '%s': cn '%s' want '%s'", name, ci->subject_cn, c->cn);
	for (size_t k = 0; k < ci->nsans; k++) {
		strcat(sans, k ? "," : "");
		strcat(sans, ci->sans[k]);
	}
	if (strcmp(sans, c->sans) != 0)
		fail_msg("case '%s': sans '%s' want '%s'", name, sans, c->sans);
	if (strcmp(ci->serial, c->serial) != 0)
		fail_msg("case '%s': serial '%s' want '%s'", name, ci->serial, c->serial);
	if (strcmp(ci->key_type, c->key_type) != 0)
		fail_msg("case '%s': key_type '%s' want '%s'", name, ci->key_type, c->key_type);
	if (ci->is_ca != c->is_ca)
		fail_msg("case '%s': is_ca %d", name, ci->is_ca);
	if (ci->not_before != c->not_before || ci->not_after != c->not_after)
		fail_msg("case '%s': dates %lld..%lld want %lld..%lld", name,
			 (long long)ci->not_before, (long long)ci->not_after,
			 (long long)c->not_before, (long long)c->not_after);
	X509_digest(certs[c->id], EVP_sha256(), md, &mdlen);
	hex(md, mdlen, want);
	if (strcmp(ci->sha256, want) != 0)
		fail_msg("case '%s': sha256 %s want %s", name, ci->sha256, want);
	want[0] = '\0';
	if (X509_get0_subject_key_id(certs[c->id]))
		hex(ASN1_STRING_get0_data(X509_get0_subject_key_id(certs[c->id])),
		    (size_t)ASN1_STRING_length(X509_get0_subject_key_id(certs[c->id])), want);
	if (strcmp(ci->ski, want) != 0 || strlen(want) != 40)
		fail_msg("case '%s': ski '%s' want '%s'", name, ci->ski, want);
	want[0] = '\0';
	if (X509_get0_authority_key_id(certs[c->id]))
		hex(ASN1_STRING_get0_data(X509_get0_authority_key_id(certs[c->id])),
		    (size_t)ASN1_STRING_length(X509_get0_authority_key_id(certs[c->id])), want);
	if (strcmp(ci->aki, want) != 0 || (specs[c->id].aki != (want[0] != '\0')))
		fail_msg("case '%s': aki '%s' want '%s'", name, ci->aki, want);
	/* The canonical PEM is what OpenSSL writes. */
	if (strcmp(ci->pem, pems[c->id]) != 0 || ci->pem_len != strlen(pems[c->id]))
		fail_msg("case '%s': pem differs from PEM_write_bio_X509", name);
	X509_NAME_get0_der(X509_get_issuer_name(certs[c->id]), &der, &derlen);
	if (ci->issuer_der_len != derlen || memcmp(ci->issuer_der, der, derlen) != 0)
		fail_msg("case '%s': issuer_der differs", name);
	X509_NAME_get0_der(X509_get_subject_name(certs[c->id]), &der, &derlen);
	if (ci->subject_der_len != derlen || memcmp(ci->subject_der, der, derlen) != 0)
		fail_msg("case '%s': subject_der differs", name);
	if (ci->block != 1 || ci->line != 1)
		fail_msg("case '%s': block %zu line %zu", name, ci->block, ci->line);
	certinfo_list_free(&l);
}

static void test_dn_text(void **state)
{
	struct certinfo_list l;

	(void)state;
	assert_int_equal(parse_str(pems[LEAF_A], &l, NULL), 0);
	assert_string_equal(l.items[0].issuer_dn, G3_DN);
	assert_string_equal(l.items[0].subject_dn, "CN=example.jp");
	certinfo_list_free(&l);
	assert_int_equal(parse_str(pems[G3], &l, NULL), 0);
	assert_string_equal(l.items[0].subject_dn, G3_DN);
	assert_string_equal(l.items[0].issuer_dn, "CN=certdesk Test Root,O=certdesk test,C=JP");
	certinfo_list_free(&l);
}

/* --- bundles -------------------------------------------------------------- */

static void test_mixed_bundle(void **state)
{
	static const char garbage[] = "-----BEGIN GARBAGE-----\nnot base64 at all!!\n"
				      "-----END GARBAGE-----\n";
	char *b =
	    cat("Bundle for example.jp\nsubject=CN=example.jp\n", pems[LEAF_A], pems[G3], key_pem,
		garbage, "between blocks\n", pems[LEAF_B], pems[ROOT], "trailing text", NULL);
	static const size_t want_blocks[] = { 1, 2, 5, 6 };
	static const enum cert_id want_ids[] = { LEAF_A, G3, LEAF_B, ROOT };
	struct certinfo_list l;
	struct cd_err err = { 0 };

	(void)state;
	if (parse_str(b, &l, &err) != 0)
		fail_msg("mixed bundle: %s", err.msg);
	assert_int_equal(l.count, 4);
	for (size_t i = 0; i < 4; i++) {
		if (l.items[i].block != want_blocks[i])
			fail_msg("item %zu: block %zu want %zu", i, l.items[i].block,
				 want_blocks[i]);
		if (strcmp(l.items[i].pem, pems[want_ids[i]]) != 0)
			fail_msg("item %zu: wrong certificate", i);
	}
	assert_int_equal(l.items[0].line, 3);
	/* Issuers alternate (G3, root, G3, root): each text must be its own. */
	assert_string_equal(l.items[0].issuer_dn, G3_DN);
	assert_string_equal(l.items[1].issuer_dn, "CN=certdesk Test Root,O=certdesk test,C=JP");
	assert_string_equal(l.items[2].issuer_dn, G3_DN);
	assert_string_equal(l.items[3].issuer_dn, "CN=certdesk Test Root,O=certdesk test,C=JP");
	assert_no_key_in(&l);
	assert_ptr_equal(certinfo_find_leaf(&l, "example.jp"), &l.items[2]);
	assert_true(certinfo_matches_issuer_cert(&l.items[0], &l.items[1]));
	certinfo_list_free(&l);
	free(b);
}

/* CRLF, trailing blanks, no NUL after the data, and parsing into a list twice. */
static void test_crlf_and_exact_length(void **state)
{
	char *two = cat(pems[LEAF_A], pems[NOSAN], NULL);
	size_t n = 0, len = strlen(two);
	char *crlf = malloc(2 * len), *exact;
	struct certinfo_list l;
	struct cd_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < len; i++) {
		if (two[i] == '\n') {
			crlf[n++] = ' ';
			crlf[n++] = '\r';
		}
		crlf[n++] = two[i];
	}
	exact = malloc(n); /* no NUL: ASan catches a read past the end */
	memcpy(exact, crlf, n);
	memset(&l, 0, sizeof(l));
	if (certinfo_parse_bundle(exact, n, &l, &err) != 0)
		fail_msg("crlf: %s", err.msg);
	assert_int_equal(l.count, 2);
	assert_string_equal(l.items[0].pem, pems[LEAF_A]);
	assert_string_equal(l.items[1].pem, pems[NOSAN]);
	/* The second BEGIN is on the line after the first certificate's lines. */
	n = 0;
	for (const char *q = pems[LEAF_A]; *q; q++)
		n += *q == '\n';
	assert_int_equal(l.items[1].line, n + 1);
	assert_int_equal(l.items[1].block, 2);
	certinfo_list_free(&l);
	free(exact);
	free(crlf);
	free(two);
}

static void set_bad(const char *name, char *text)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		if (strcmp(bad_cases[i].name, name) == 0) {
			bad_cases[i].text = text;
			return;
		}
	fail_msg("no bad bundle case '%s'", name);
}

static void build_bad_texts(void)
{
	static const char b64_hello[] = "aGVsbG8gd29ybGQhISE=";
	unsigned char *der = NULL;
	char *data, *der_plus;
	int derlen;
	BIO *bio;
	long n;

	/* A valid certificate's DER with one byte appended, base64 again. */
	derlen = i2d_X509(certs[LEAF_A], &der);
	der = OPENSSL_realloc(der, (size_t)derlen + 1);
	der[derlen] = 0;
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio(bio, "CERTIFICATE", "", der, derlen + 1);
	n = BIO_get_mem_data(bio, &data);
	der_plus = malloc((size_t)n + 1);
	memcpy(der_plus, data, (size_t)n);
	der_plus[n] = '\0';
	BIO_free(bio);
	OPENSSL_free(der);

	set_bad("empty", cat("", NULL));
	set_bad("text only", cat("hello\nworld\n", NULL));
	set_bad("private key only", cat(key_pem, NULL));
	set_bad("garbage block only", cat("-----BEGIN X-----\n!!\n-----END X-----\n", NULL));
	set_bad("bad base64",
		cat("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", NULL));
	set_bad("base64 padding in the middle",
		cat("-----BEGIN CERTIFICATE-----\nAA==AAAA\n-----END CERTIFICATE-----\n", NULL));
	set_bad("not a certificate", cat("-----BEGIN CERTIFICATE-----\n", b64_hello,
					 "\n-----END CERTIFICATE-----\n", NULL));
	set_bad("broken third block after a key",
		cat(pems[LEAF_A], key_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n",
		    "-----END CERTIFICATE-----\n", NULL));
	set_bad("unterminated", cat(pems[LEAF_A], "-----BEGIN CERTIFICATE-----\nMIIB\n", NULL));
	set_bad("mismatched END",
		cat("-----BEGIN CERTIFICATE-----\nMIIB\n-----END PRIVATE KEY-----\n", NULL));
	set_bad("key without END hides a certificate",
		cat("-----BEGIN PRIVATE KEY-----\nMIIB\n", pems[LEAF_A], NULL));
	set_bad("bytes after the certificate", der_plus);
	set_bad("headers in a certificate block",
		cat("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nMIIB\n",
		    "-----END CERTIFICATE-----\n", NULL));
}

static void test_bad_case(void **state)
{
	const struct bad_bundle *c = *state;
	struct certinfo_list l;
	struct cd_err err = { 0 };
	int rc = parse_str(c->text, &l, &err);

	if (rc != -(int)c->code)
		fail_msg("case '%s': rc %d want %d (%s)", c->name, rc, -(int)c->code, err.msg);
	if (l.count != 0 || l.items != NULL)
		fail_msg("case '%s': list not empty after an error", c->name);
	for (int k = 0; k < 2; k++)
		if (c->msg_has[k] && !strstr(err.msg, c->msg_has[k]))
			fail_msg("case '%s': message '%s' lacks '%s'", c->name, err.msg,
				 c->msg_has[k]);
	assert_no_key_text(c->name, err.msg);
}

static void test_limits(void **state)
{
	struct certinfo_list l = { 0 };
	struct cd_err err = { 0 };
	size_t one = strlen(pems[ED]), count = CERTINFO_MAX_CERTS + 1;
	char *big;

	(void)state;
	/* The size check comes before any byte is read. */
	assert_int_equal(certinfo_parse_bundle(pems[ED], (size_t)CERTINFO_MAX_BYTES + 1, &l, &err),
			 -CD_ELIMIT);
	assert_int_equal(certinfo_parse_bundle(NULL, 0, NULL, &err), -CD_EINVAL);

	big = malloc(one * count);
	assert_non_null(big);
	for (size_t i = 0; i < count; i++)
		memcpy(big + i * one, pems[ED], one);
	/* Refused before any certificate is decoded (a pre-count of BEGIN lines). */
	assert_int_equal(certinfo_parse_bundle(big, one * count, &l, &err), -CD_ELIMIT);
	assert_non_null(strstr(err.msg, "more than 100000 certificates"));
	assert_int_equal(l.count, 0);
	assert_null(l.items);
	certinfo_list_free(&l);
	free(big);
}

/* --- names ---------------------------------------------------------------- */

struct covers_case {
	const char *name;
	enum cert_id id;
	const char *query;
	bool want;
};

static const struct covers_case covers_cases[] = {
	{ "SAN exact", LEAF_A, "www.example.jp", true },
	{ "CN exact", LEAF_A, "example.jp", true },
	{ "any case", LEAF_A, "WWW.Example.JP", true },
	{ "trailing dot", LEAF_A, "www.example.jp.", true },
	{ "other name", LEAF_A, "mail.example.jp", false },
	{ "suffix attack", LEAF_A, "example.jp.evil.test", false },
	{ "prefix attack", LEAF_A, "xexample.jp", false },
	{ "empty", LEAF_A, "", false },
	{ "dot only", LEAF_A, ".", false },
	{ "wildcard one label", WILD, "a.wild.example.jp", true },
	{ "wildcard any case", WILD, "A.WILD.example.JP", true },
	{ "wildcard not the base", WILD, "wild.example.jp", false },
	{ "wildcard not two labels", WILD, "a.b.wild.example.jp", false },
	{ "wildcard not an empty label", WILD, ".wild.example.jp", false },
	{ "wildcard names itself", WILD, "*.wild.example.jp", true },
	{ "wildcard query is not a pattern", LEAF_A, "*.example.jp", false },
	{ "CN without SANs", NOSAN, "nosan.example.jp", true },
	{ "SAN without CN", SANONLY, "sanonly.example.jp", true },
	{ "IP SAN is not a name", SANONLY, "192.0.2.1", false },
	{ "*.jp covers nothing", STAR_TLD, "example.jp", false },
	{ "partial wildcard", PARTIAL, "www.example.jp", false },
	{ "partial wildcard names itself", PARTIAL, "w*.example.jp", true },
};

static void test_covers_case(void **state)
{
	const struct covers_case *c = *state;
	const struct certinfo *ci = &all.items[c->id];

	if (certinfo_covers(ci, c->query) != c->want)
		fail_msg("case '%s': covers(%s, '%s') is %d", c->name, specs[c->id].label, c->query,
			 !c->want);
}

static void test_covers_null(void **state)
{
	(void)state;
	assert_false(certinfo_covers(NULL, "example.jp"));
	assert_false(certinfo_covers(&all.items[LEAF_A], NULL));
}

struct leaf_case {
	const char *name;
	const char *query;
	int want; /* cert id, or -1 */
};

static const struct leaf_case leaf_cases[] = {
	{ "latest not_after wins", "example.jp", LEAF_B },
	{ "SAN of both", "www.example.jp", LEAF_B },
	{ "exact beats wildcard with later not_after", "www.wild.example.jp", EXACT_WWW },
	{ "wildcard when nothing exact", "x.wild.example.jp", WILD },
	{ "CA never a leaf", "ca.example.jp", -1 },
	{ "CA subject never a leaf", "jprs domain validation authority - g3", -1 },
	{ "unknown name", "none.example.jp", -1 },
	{ "CN only", "NOSAN.example.jp", NOSAN },
	{ "Ed25519 leaf", "ed.example.jp", ED },
};

static void test_find_leaf_case(void **state)
{
	const struct leaf_case *c = *state;
	const struct certinfo *got = certinfo_find_leaf(&all, c->query);
	const struct certinfo *want = c->want >= 0 ? &all.items[c->want] : NULL;

	if (got != want)
		fail_msg("case '%s': got %s want %s", c->name,
			 got ? specs[got - all.items].label : "none",
			 want ? specs[c->want].label : "none");
}

static void test_find_leaf_null(void **state)
{
	(void)state;
	assert_null(certinfo_find_leaf(NULL, "example.jp"));
}

struct issuer_case {
	const char *name;
	enum cert_id leaf, issuer;
	bool want;
};

static const struct issuer_case issuer_cases[] = {
	{ "leaf and its intermediate", LEAF_A, G3, true },
	{ "leaf and the root", LEAF_A, ROOT, false },
	{ "intermediate and the root", G3, ROOT, true },
	{ "self-signed root", ROOT, ROOT, true },
	{ "same name, other key (AKI differs)", LEAF_A, G3_IMPOSTOR, false },
	{ "name differing in case and spaces, no SKI", LEAF_A, G3_VARIANT, true },
	{ "leaf without AKI, name only", NOAKI, G3, true },
	{ "leaf without AKI, same-name impostor", NOAKI, G3_IMPOSTOR, true },
	{ "leaf and another leaf", LEAF_A, LEAF_B, false },
};

static void test_matches_issuer_case(void **state)
{
	const struct issuer_case *c = *state;
	bool got = certinfo_matches_issuer_cert(&all.items[c->leaf], &all.items[c->issuer]);

	if (got != c->want)
		fail_msg("case '%s': got %d", c->name, got);
}

static void test_matches_issuer_null(void **state)
{
	(void)state;
	assert_false(certinfo_matches_issuer_cert(NULL, &all.items[G3]));
	assert_false(certinfo_matches_issuer_cert(&all.items[G3], NULL));
}

/* The PEM certdesk keeps parses to the same facts. */
static void test_pem_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < NCERTS; i++) {
		struct certinfo_list a, b;

		assert_int_equal(parse_str(pems[i], &a, NULL), 0);
		assert_int_equal(parse_str(a.items[0].pem, &b, NULL), 0);
		if (strcmp(a.items[0].sha256, b.items[0].sha256) != 0 ||
		    strcmp(a.items[0].serial, b.items[0].serial) != 0)
			fail_msg("case '%s': round trip differs", specs[i].label);
		certinfo_list_free(&a);
		certinfo_list_free(&b);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	static struct CMUnitTest tests[N(facts_cases) + N(bad_cases) + N(covers_cases) +
				       N(leaf_cases) + N(issuer_cases) + 16];
	size_t n = 0;

	for (size_t i = 0; i < N(facts_cases); i++)
		tests[n++] = (struct CMUnitTest){ specs[facts_cases[i].id].label, test_facts_case,
						  NULL, NULL, (void *)&facts_cases[i] };
	for (size_t i = 0; i < N(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){ bad_cases[i].name, test_bad_case, NULL, NULL,
						  &bad_cases[i] };
	for (size_t i = 0; i < N(covers_cases); i++)
		tests[n++] = (struct CMUnitTest){ covers_cases[i].name, test_covers_case, NULL,
						  NULL, (void *)&covers_cases[i] };
	for (size_t i = 0; i < N(leaf_cases); i++)
		tests[n++] = (struct CMUnitTest){ leaf_cases[i].name, test_find_leaf_case, NULL,
						  NULL, (void *)&leaf_cases[i] };
	for (size_t i = 0; i < N(issuer_cases); i++)
		tests[n++] = (struct CMUnitTest){ issuer_cases[i].name, test_matches_issuer_case,
						  NULL, NULL, (void *)&issuer_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dn_text);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mixed_bundle);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_crlf_and_exact_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limits);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_covers_null);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_find_leaf_null);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_matches_issuer_null);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pem_round_trip);
	return _cmocka_run_group_tests("certinfo", tests, n, setup, teardown);
}
