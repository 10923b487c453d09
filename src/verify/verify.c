/*
 * verify.c - the live probe: for each name a TCP connection to the server's
 * address, a TLS handshake with SNI, then our own checks of what was served
 * (the leaf's serial and SHA-256 against the expected certificate, the chain
 * against the given roots for that name), each failure in plain words.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "util/fileio.h"
#include "verify/verify.h"

int verify_options_load(const cd_config_t *cfg, struct verify_options *out, char *roots_out,
			size_t roots_sz, struct cd_err *err)
{
	const char *roots;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cd_config_get_int(cfg, "verify", "timeout_ms", 100, 600000, &out->timeout_ms,
				    err)) ||
	    (rc = cd_config_get_int(cfg, "verify", "attempts", 1, 100, &out->attempts, err)) ||
	    (rc = cd_config_get_int(cfg, "verify", "retry_ms", 0, 600000, &out->retry_ms, err)))
		return rc;
	if (!roots_out)
		return 0;
	roots_out[0] = '\0';
	roots = cd_config_get(cfg, "verify", "roots");
	if (roots && *roots)
		return cd_config_get_path(cfg, "verify", "roots", roots_out, roots_sz, err);
	return 0;
}

static void serial_hex(const X509 *x, char *out, size_t outsz)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, outsz, "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
}

static void fingerprint(const X509 *x, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		return;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A connected socket with send/receive time-outs, or -1 with why. */
static int dial(const char *addr, int port, long timeout_ms, char *why, size_t whysz)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	char portstr[8];
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(addr, portstr, &hints, &ai) != 0 || !ai) {
		snprintf(why, whysz, "'%s' is not an IP address", addr);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, whysz, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		snprintf(why, whysz, "%s", strerror(errno));
		goto fail;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, (int)timeout_ms) != 1) {
		snprintf(why, whysz, "connection timed out after %ld ms", timeout_ms);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		snprintf(why, whysz, "%s", strerror(soerr ? soerr : errno));
		goto fail;
	}
	freeaddrinfo(ai);
	/* blocking from here, bounded by the time-outs */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	close(fd);
	freeaddrinfo(ai);
	return -1;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A detail for a name (truncated to fit, which is fine for a message). */
static void say(struct verify_name *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct verify_name *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

/* The handshake verifies the served chain against the roots and the name;
 * this callback keeps the first error (kept in the SSL's app data) and lets
 * the handshake finish, so the probe can still say what was served ("served
 * serial X") before it fails the check for the chain. */
static int note_first_error(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	int *first = ssl ? SSL_get_app_data(ssl) : NULL;

	if (!ok && first && *first == X509_V_OK)
		*first = X509_STORE_CTX_get_error(xs);
	return 1;
}

/* One probe of one name; fills v. */
static void probe(SSL_CTX *ctx, const char *addr, int port, long timeout_ms, const char *exp_serial,
		  const char *exp_sha, struct verify_name *v)
{
	char why[256];
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	int first_error = X509_V_OK;
	int fd;

	v->ok = false;
	v->served_serial[0] = v->served_sha256[0] = '\0';
	fd = dial(addr, port, timeout_ms, why, sizeof(why));
	if (fd < 0) {
		lower(why);
		say(v, "%s: %s:%d: %s", v->name, addr, port, why);
		return;
	}
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_tlsext_host_name(ssl, v->name) != 1 ||
	    SSL_set1_host(ssl, v->name) != 1 || SSL_set_app_data(ssl, &first_error) != 1 ||
	    SSL_set_fd(ssl, fd) != 1) {
		say(v, "%s: cannot set up TLS", v->name);
		goto out;
	}
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_peek_last_error();

		say(v, "%s: %s:%d: TLS handshake failed: %s", v->name, addr, port,
		    e ? ERR_reason_error_string(e) : "the server closed the connection");
		goto out;
	}
	leaf = SSL_get1_peer_certificate(ssl);
	if (!leaf) {
		say(v, "%s: no certificate was served", v->name);
		goto out;
	}
	serial_hex(leaf, v->served_serial, sizeof(v->served_serial));
	fingerprint(leaf, v->served_sha256);
	if (strcmp(v->served_serial, exp_serial) != 0) {
		say(v, "%s: served serial %s, expected %s", v->name, v->served_serial, exp_serial);
		goto out;
	}
	if (strcmp(v->served_sha256, exp_sha) != 0) {
		say(v, "%s: served serial %s but fingerprint %.16s..., expected %.16s...", v->name,
		    v->served_serial, v->served_sha256, exp_sha);
		goto out;
	}
	if (first_error != X509_V_OK || SSL_get_verify_result(ssl) != X509_V_OK) {
		long e = first_error != X509_V_OK ? first_error : SSL_get_verify_result(ssl);

		say(v, "%s: chain does not verify: %s", v->name, X509_verify_cert_error_string(e));
		goto out;
	}
	v->ok = true;
	say(v, "%s: serves serial %s", v->name, v->served_serial);
out:
	X509_free(leaf);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
}

static void drop_sigpipe(const sigset_t *pipe_set, const sigset_t *old_set)
{
	struct timespec zero = { 0, 0 };

	if (!sigismember(old_set, SIGPIPE))
		while (sigtimedwait(pipe_set, NULL, &zero) > 0)
			;
	pthread_sigmask(SIG_SETMASK, old_set, NULL);
}

int verify_live(const struct verify_options *opt, const char *addr, int port,
		const char *const *names, size_t n_names, const char *expected_pem,
		size_t expected_len, const char *roots_file, struct verify_report *out,
		struct cd_err *err)
{
	char exp_serial[80], exp_sha[65];
	long timeout = opt && opt->timeout_ms > 0 ? opt->timeout_ms : 5000;
	long attempts = opt && opt->attempts > 0 ? opt->attempts : 1;
	long retry = opt && opt->retry_ms > 0 ? opt->retry_ms : 0;
	SSL_CTX *ctx = NULL;
	X509 *exp = NULL;
	BIO *b = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!addr || !*addr || port <= 0 || port > 65535 || !names || n_names == 0 ||
	    n_names > VERIFY_MAX_NAMES || !expected_pem || expected_len > INT32_MAX)
		return cd_err_set(err, CD_EINVAL, false, "verify: bad arguments");
	if (!roots_file || !*roots_file)
		return cd_err_set(err, CD_ECONFIG, false, "verify: no roots file ([verify] roots)");
	b = BIO_new_mem_buf(expected_pem, (int)expected_len);
	exp = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!exp) {
		rc = cd_err_set(err, CD_EINVAL, false,
				"verify: the expected certificate is not PEM");
		goto out;
	}
	serial_hex(exp, exp_serial, sizeof(exp_serial));
	fingerprint(exp, exp_sha);
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "verify: cannot create a TLS context");
		goto out;
	}
	if (SSL_CTX_load_verify_file(ctx, roots_file) != 1) {
		rc = cd_err_set(err, CD_ECONFIG, false, "verify: %s: cannot load roots from it",
				roots_file);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, note_first_error);
	out->ok = true;
	out->n_names = n_names;
	for (size_t i = 0; i < n_names; i++) {
		struct verify_name *v = &out->names[i];

		snprintf(v->name, sizeof(v->name), "%s", names[i]);
		for (long a = 0; a < attempts; a++) {
			sigset_t pipe_set, old_set;

			if (a > 0 && retry > 0)
				sleep_ms(retry);
			/* OpenSSL writes with write(2): a server that already closed
			 * would raise SIGPIPE and end the whole process, so the
			 * probe runs with it blocked and a pending one is dropped */
			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
			probe(ctx, addr, port, timeout, exp_serial, exp_sha, v);
			drop_sigpipe(&pipe_set, &old_set);
			if (v->ok)
				break;
		}
		if (!v->ok && out->ok) {
			out->ok = false;
			snprintf(out->detail, sizeof(out->detail), "%s", v->detail);
		}
	}
	rc = 0;
out:
	SSL_CTX_free(ctx);
	X509_free(exp);
	BIO_free(b);
	return rc;
}
