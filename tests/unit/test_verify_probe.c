/*
 * test_verify_probe.c - verify_live against an in-process TLS server on
 * loopback with certificates made here: the expected leaf is live; a
 * different leaf, roots that do not sign it, a name it does not cover and a
 * closed port each fail with words that say so; bad arguments are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "verify/verify.h"

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

/* A certificate for cn (a CA when san is NULL), signed by issuer (or itself). */
static X509 *make_cert(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer,
		       EVP_PKEY *issuer_key, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	if (san) {
		add_ext(x, issuer, NID_subject_alt_name, san);
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
	} else {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	}
	X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
	X509_NAME_free(name);
	return x;
}

static char *pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

struct env {
	char dir[64], roots[128], other_roots[128];
	X509 *root, *leaf, *other_leaf;
	EVP_PKEY *root_key, *leaf_key, *other_key;
	char *leaf_pem, *other_pem;
	SSL_CTX *sctx;
	int lfd, port;
	pthread_t th;
	volatile int stop;
};

static void *serve(void *arg)
{
	struct env *e = arg;
	sigset_t set;

	/* the server's own writes to a probe that hung up must not end the test
	 * (only this thread: verify_live must guard its own writes) */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (!e->stop) {
		int fd = accept(e->lfd, NULL, NULL);
		SSL *ssl;

		if (fd < 0)
			continue;
		ssl = SSL_new(e->sctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1)
			SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
	return NULL;
}

static void write_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	EVP_PKEY *other_root_key = new_key();
	X509 *other_root;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-verify-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	e->root_key = new_key();
	e->leaf_key = new_key();
	e->other_key = new_key();
	e->root = make_cert("test root", NULL, e->root_key, NULL, NULL, 1);
	e->leaf = make_cert("a.test", "DNS:a.test,DNS:www.a.test", e->leaf_key, e->root,
			    e->root_key, 0x1234);
	e->other_leaf =
	    make_cert("a.test", "DNS:a.test", e->other_key, e->root, e->root_key, 0xBEEF);
	other_root = make_cert("other root", NULL, other_root_key, NULL, NULL, 2);
	e->leaf_pem = pem_of(e->leaf);
	e->other_pem = pem_of(e->other_leaf);
	snprintf(e->roots, sizeof(e->roots), "%s/roots.pem", e->dir);
	snprintf(e->other_roots, sizeof(e->other_roots), "%s/other.pem", e->dir);
	write_pem(e->roots, e->root);
	write_pem(e->other_roots, other_root);
	X509_free(other_root);
	EVP_PKEY_free(other_root_key);

	e->sctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(e->sctx, e->leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(e->sctx, e->leaf_key), 1);
	e->lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(e->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(e->lfd, 16), 0);
	getsockname(e->lfd, (struct sockaddr *)&sa, &sl);
	e->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&e->th, NULL, serve, e), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)e->port) };
	char cmd[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	e->stop = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	connect(fd, (struct sockaddr *)&sa, sizeof(sa)); /* wakes accept() */
	close(fd);
	pthread_join(e->th, NULL);
	close(e->lfd);
	SSL_CTX_free(e->sctx);
	X509_free(e->root);
	X509_free(e->leaf);
	X509_free(e->other_leaf);
	EVP_PKEY_free(e->root_key);
	EVP_PKEY_free(e->leaf_key);
	EVP_PKEY_free(e->other_key);
	free(e->leaf_pem);
	free(e->other_pem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

struct probe_case {
	const char *name;
	const char *sni;
	bool other_expected, other_roots, closed_port;
	bool ok;
	const char *detail; /* a substring of the report's detail */
};

static void test_probe_table(void **state)
{
	static const struct probe_case cases[] = {
		{ "live", "a.test", false, false, false, true, "" },
		{ "live on www", "www.a.test", false, false, false, true, "" },
		{ "another leaf expected", "a.test", true, false, false, false,
		  "a.test: served serial 1234, expected BEEF" },
		{ "roots that do not sign it", "a.test", false, true, false, false,
		  "a.test: chain does not verify: unable to get local issuer certificate" },
		{ "a name not covered", "b.test", false, false, false, false,
		  "b.test: chain does not verify: hostname mismatch" },
		{ "nothing listening", "a.test", false, false, true, false, "connection refused" },
	};
	struct env *e = *state;
	struct verify_options opt = { .timeout_ms = 2000, .attempts = 2, .retry_ms = 10 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct probe_case *c = &cases[i];
		const char *names[] = { c->sni };
		const char *exp = c->other_expected ? e->other_pem : e->leaf_pem;
		struct verify_report rep;
		struct cd_err err = { 0 };
		int port = e->port;

		print_message("# case: %s\n", c->name);
		if (c->closed_port) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in sa = { .sin_family = AF_INET };
			socklen_t sl = sizeof(sa);

			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			bind(fd, (struct sockaddr *)&sa, sizeof(sa));
			getsockname(fd, (struct sockaddr *)&sa, &sl);
			port = ntohs(sa.sin_port);
			close(fd); /* bound once, nobody listens now */
		}
		assert_int_equal(verify_live(&opt, "127.0.0.1", port, names, 1, exp, strlen(exp),
					     c->other_roots ? e->other_roots : e->roots, &rep,
					     &err),
				 0);
		assert_int_equal(rep.ok, c->ok);
		assert_int_equal(rep.n_names, 1);
		if (c->ok) {
			assert_string_equal(rep.detail, "");
			assert_string_equal(rep.names[0].served_serial, "1234");
			assert_int_equal(strlen(rep.names[0].served_sha256), 64);
		} else {
			if (!strstr(rep.detail, c->detail))
				print_message("# detail: %s\n", rep.detail);
			assert_non_null(strstr(rep.detail, c->detail));
		}
	}
}

static void test_bad_arguments(void **state)
{
	struct env *e = *state;
	const char *names[] = { "a.test" };
	struct verify_report rep;
	struct cd_err err = { 0 };

	assert_int_equal(verify_live(NULL, "127.0.0.1", e->port, names, 0, e->leaf_pem,
				     strlen(e->leaf_pem), e->roots, &rep, &err),
			 -CD_EINVAL);
	assert_int_equal(verify_live(NULL, "127.0.0.1", 0, names, 1, e->leaf_pem,
				     strlen(e->leaf_pem), e->roots, &rep, &err),
			 -CD_EINVAL);
	assert_int_equal(
	    verify_live(NULL, "127.0.0.1", e->port, names, 1, "not pem", 7, e->roots, &rep, &err),
	    -CD_EINVAL);
	assert_int_equal(verify_live(NULL, "127.0.0.1", e->port, names, 1, e->leaf_pem,
				     strlen(e->leaf_pem), "/nonexistent/roots.pem", &rep, &err),
			 -CD_ECONFIG);
	assert_non_null(strstr(err.msg, "/nonexistent/roots.pem"));
	assert_int_equal(verify_live(NULL, "127.0.0.1", e->port, names, 1, e->leaf_pem,
				     strlen(e->leaf_pem), NULL, &rep, &err),
			 -CD_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_table),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
