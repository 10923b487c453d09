/*
 * test_acme_chain.c - which of the chains a CA offers `preferred_chain` picks:
 * the topmost certificate's issuer CN first (certbot, lego), then any CA
 * certificate's subject or issuer CN, else the CA's default. The chains are
 * made here with the names of Let's Encrypt's 2021 chains (named cases).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme/acme.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static EVP_PKEY *key;

/* Appends a certificate "subject <- issuer" (names by CN) to a PEM text. */
static void add_cert(char *pem, size_t pemsz, const char *subject, const char *issuer)
{
	X509 *x = X509_new();
	X509_NAME *s = X509_NAME_new(), *i = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	X509_NAME_add_entry_by_txt(s, "CN", MBSTRING_UTF8, (const unsigned char *)subject, -1, -1,
				   0);
	X509_NAME_add_entry_by_txt(i, "CN", MBSTRING_UTF8, (const unsigned char *)issuer, -1, -1,
				   0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, s);
	X509_set_issuer_name(x, i);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_true(PEM_write_bio_X509(b, x) == 1);
	n = BIO_get_mem_data(b, &p);
	assert_true(strlen(pem) + (size_t)n < pemsz);
	strncat(pem, p, (size_t)n);
	BIO_free(b);
	X509_NAME_free(s);
	X509_NAME_free(i);
	X509_free(x);
}

/* The chains: "leaf|R3<-ISRG Root X1|..." lists subject<-issuer after the leaf. */
enum { LONG, SHORT, OTHER, N_CHAINS };
static char chains[N_CHAINS][16384];

static int setup(void **state)
{
	(void)state;
	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	/* Let's Encrypt's default chain of 2021: up to the cross-signed root */
	add_cert(chains[LONG], sizeof(chains[LONG]), "www.example.test", "R3");
	add_cert(chains[LONG], sizeof(chains[LONG]), "R3", "ISRG Root X1");
	add_cert(chains[LONG], sizeof(chains[LONG]), "ISRG Root X1", "DST Root CA X3");
	/* its alternate: to ISRG Root X1 itself */
	add_cert(chains[SHORT], sizeof(chains[SHORT]), "www.example.test", "R3");
	add_cert(chains[SHORT], sizeof(chains[SHORT]), "R3", "ISRG Root X1");
	/* an unrelated one */
	add_cert(chains[OTHER], sizeof(chains[OTHER]), "www.example.test", "E1");
	add_cert(chains[OTHER], sizeof(chains[OTHER]), "E1", "ISRG Root X2");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

struct match_case {
	const char *name;
	int chain;
	const char *preferred;
	int want;
};
static const struct match_case match_cases[] = {
	{ "top issuer of the long chain", LONG, "DST Root CA X3", 2 },
	{ "a CA's subject inside the long chain", LONG, "ISRG Root X1", 1 },
	{ "the intermediate's own name", LONG, "R3", 1 },
	{ "top issuer of the short chain", SHORT, "ISRG Root X1", 2 },
	{ "the leaf's subject is not a CA name", SHORT, "www.example.test", 0 },
	{ "names are compared exactly (case)", SHORT, "isrg root x1", 0 },
	{ "a prefix is not the name", SHORT, "ISRG Root", 0 },
	{ "an empty preference matches nothing", SHORT, "", 0 },
	{ "a name from no chain", OTHER, "DST Root CA X3", 0 },
};

static void test_match(void **state)
{
	const struct match_case *c = *state;
	int got = acme_chain_match(chains[c->chain], c->preferred);

	if (got != c->want)
		fail_msg("case '%s': %d, want %d", c->name, got, c->want);
}

struct pick_case {
	const char *name;
	int offered[3], n;
	const char *preferred;
	size_t want;
};
static const struct pick_case pick_cases[] = {
	/* certbot/lego: the default chain also contains ISRG Root X1 (as the
	 * cross-signed certificate), yet the chain that ends at it wins */
	{ "root name: the alternate that chains to it", { LONG, SHORT }, 2, "ISRG Root X1", 1 },
	{ "old root name: the default", { LONG, SHORT }, 2, "DST Root CA X3", 0 },
	{ "only an inner match: the first chain with it", { OTHER, LONG, SHORT }, 3, "R3", 1 },
	{ "top match beats an earlier inner match", { OTHER, LONG, SHORT }, 3, "ISRG Root X1", 2 },
	{ "nothing matches: the default", { SHORT, OTHER }, 2, "Some Other Root", 0 },
	{ "a single chain", { OTHER }, 1, "ISRG Root X2", 0 },
	{ "the second alternate", { LONG, SHORT, OTHER }, 3, "ISRG Root X2", 2 },
};

static void test_pick(void **state)
{
	const struct pick_case *c = *state;
	const char *pems[3];
	size_t got;

	for (int i = 0; i < c->n; i++)
		pems[i] = chains[c->offered[i]];
	got = acme_chain_pick(pems, (size_t)c->n, c->preferred);
	if (got != c->want)
		fail_msg("case '%s': chain %zu, want %zu", c->name, got, c->want);
}

static void test_not_pem(void **state)
{
	(void)state;
	assert_int_equal(acme_chain_match("not a certificate", "R3"), 0);
	assert_int_equal(acme_chain_match("-----BEGIN CERTIFICATE-----\nAAAA\n", "R3"), 0);
	assert_int_equal(acme_chain_match(NULL, "R3"), 0);
}

int main(void)
{
	struct CMUnitTest t[N(match_cases) + N(pick_cases) + 1];
	size_t n = 0;

	for (size_t i = 0; i < N(match_cases); i++)
		t[n++] = (struct CMUnitTest){ match_cases[i].name, test_match, NULL, NULL,
					      (void *)&match_cases[i] };
	for (size_t i = 0; i < N(pick_cases); i++)
		t[n++] = (struct CMUnitTest){ pick_cases[i].name, test_pick, NULL, NULL,
					      (void *)&pick_cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_not_pem);
	return _cmocka_run_group_tests("acme_chain", t, n, setup, teardown);
}
