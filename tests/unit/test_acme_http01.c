/*
 * test_acme_http01.c - the standalone http-01 responder of `certdesk ca issue
 * --http-listen` on loopback: answers while other clients sit idle or send
 * slowly, many connections at once, IPv4 and IPv6, and refuses bad addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "acme/acme.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A connected socket to addr:port (family AF_INET or AF_INET6), or -1. Reads
 * time out after 60 s so that a server that never answers fails the test. */
static int dial(int family, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct timeval tv = { .tv_sec = 60 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;

		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &v4->sin_addr);
		len = sizeof(*v4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &v6->sin6_addr);
		len = sizeof(*v6);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads the whole answer (the server closes) into out. */
static void read_answer(int fd, char *out, size_t outsz)
{
	size_t n = 0;
	ssize_t r;

	while (n < outsz - 1 && (r = recv(fd, out + n, outsz - 1 - n, 0)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
}

static void get(int family, const char *addr, int port, const char *token, char *out, size_t outsz)
{
	char req[512];
	int fd = dial(family, addr, port);

	assert_true(fd >= 0);
	snprintf(req, sizeof(req),
		 "GET /.well-known/acme-challenge/%s HTTP/1.1\r\nHost: a.example.test\r\n"
		 "User-Agent: test\r\nAccept: */*\r\n\r\n",
		 token);
	send_all(fd, req);
	read_answer(fd, out, outsz);
}

static bool answered(const char *resp, const char *body)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return strncmp(resp, "HTTP/1.1 200 ", 13) == 0 && b && strcmp(b + 4, body) == 0;
}

static void test_idle_and_slow_clients_do_not_block(void **state)
{
	acme_http01_server_t *s = NULL;
	struct cd_err err = { 0 };
	char resp[1024];
	int port, idle, slow;

	(void)state;
	assert_int_equal(acme_http01_server_start("127.0.0.1:0", &s, &err), 0);
	port = acme_http01_server_port(s);
	assert_true(port > 0);
	assert_int_equal(
	    acme_http01_server_place(s, "a.example.test", "tok-1", "tok-1.thumb", false, &err), 0);
	/* one client connects and says nothing, another sends half a request */
	idle = dial(AF_INET, "127.0.0.1", port);
	slow = dial(AF_INET, "127.0.0.1", port);
	assert_true(idle >= 0 && slow >= 0);
	send_all(slow, "GET /.well-known/acme-challenge/tok-1 HTTP/1.1\r\nHost: a.exa");
	/* a third one is answered meanwhile */
	get(AF_INET, "127.0.0.1", port, "tok-1", resp, sizeof(resp));
	assert_true(answered(resp, "tok-1.thumb"));
	/* the slow one finishes and is answered too */
	send_all(slow, "mple.test\r\n\r\n");
	read_answer(slow, resp, sizeof(resp));
	assert_true(answered(resp, "tok-1.thumb"));
	/* an unknown token, another path, a token taken away: 404 */
	get(AF_INET, "127.0.0.1", port, "tok-2", resp, sizeof(resp));
	assert_non_null(strstr(resp, "HTTP/1.1 404 "));
	get(AF_INET, "127.0.0.1", port, "../tok-1", resp, sizeof(resp));
	assert_non_null(strstr(resp, "HTTP/1.1 404 "));
	acme_http01_server_place(s, "a.example.test", "tok-1", NULL, true, &err);
	get(AF_INET, "127.0.0.1", port, "tok-1", resp, sizeof(resp));
	assert_non_null(strstr(resp, "HTTP/1.1 404 "));
	close(idle);
	acme_http01_server_stop(s);
}

static void test_many_at_once(void **state)
{
	enum { CONNS = 40 };
	acme_http01_server_t *s = NULL;
	struct cd_err err = { 0 };
	char resp[1024], tok[32], ka[64], req[256];
	int fd[CONNS], port;

	(void)state;
	assert_int_equal(acme_http01_server_start("127.0.0.1:0", &s, &err), 0);
	port = acme_http01_server_port(s);
	for (int i = 0; i < CONNS; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		snprintf(ka, sizeof(ka), "t%d.thumb", i);
		assert_int_equal(acme_http01_server_place(s, "n", tok, ka, false, &err), 0);
	}
	/* every connection open before any request is complete */
	for (int i = 0; i < CONNS; i++) {
		assert_true((fd[i] = dial(AF_INET, "127.0.0.1", port)) >= 0);
		snprintf(req, sizeof(req), "GET /.well-known/acme-challenge/t%d HTTP/1.1\r\n", i);
		send_all(fd[i], req);
	}
	for (int i = CONNS; i-- > 0;)
		send_all(fd[i], "Host: n\r\n\r\n");
	for (int i = 0; i < CONNS; i++) {
		snprintf(ka, sizeof(ka), "t%d.thumb", i);
		read_answer(fd[i], resp, sizeof(resp));
		if (!answered(resp, ka))
			fail_msg("connection %d: '%s'", i, resp);
	}
	acme_http01_server_stop(s);
}

static void test_ipv6(void **state)
{
	acme_http01_server_t *s = NULL;
	struct cd_err err = { 0 };
	char resp[1024];
	int port, probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 lo = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	(void)state;
	if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof(lo)) != 0) {
		if (probe >= 0)
			close(probe);
		skip(); /* no IPv6 loopback on this host */
	}
	close(probe);
	assert_int_equal(acme_http01_server_start("[::1]:0", &s, &err), 0);
	port = acme_http01_server_port(s);
	acme_http01_server_place(s, "v6.example.test", "tok-6", "tok-6.thumb", false, &err);
	get(AF_INET6, "::1", port, "tok-6", resp, sizeof(resp));
	assert_true(answered(resp, "tok-6.thumb"));
	acme_http01_server_stop(s);

	/* ":PORT" is every address: both families reach it */
	assert_int_equal(acme_http01_server_start(":0", &s, &err), 0);
	port = acme_http01_server_port(s);
	acme_http01_server_place(s, "both.example.test", "tok-b", "tok-b.thumb", false, &err);
	get(AF_INET6, "::1", port, "tok-b", resp, sizeof(resp));
	assert_true(answered(resp, "tok-b.thumb"));
	get(AF_INET, "127.0.0.1", port, "tok-b", resp, sizeof(resp));
	assert_true(answered(resp, "tok-b.thumb"));
	acme_http01_server_stop(s);
}

static const char *const bad_listen[] = {
	"127.0.0.1:99999", "127.0.0.1:x", "::1:80", "[::1", "[::1]x", "example.test:80", "1.2.3:80",
};

static void test_bad_listen(void **state)
{
	acme_http01_server_t *s = NULL;
	struct cd_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < N(bad_listen); i++) {
		if (acme_http01_server_start(bad_listen[i], &s, &err) == 0)
			fail_msg("'%s' was accepted", bad_listen[i]);
		assert_int_equal(err.code, CD_EINVAL);
		assert_non_null(strstr(err.msg, bad_listen[i]));
		assert_null(s);
	}
}

struct req_case {
	const char *name, *req;
	int want;
	bool head;
	const char *token;
};
static const struct req_case req_cases[] = {
	{ "GET of a token (Pebble's VA)",
	  "GET /.well-known/acme-challenge/abc_DEF-123 HTTP/1.1\r\nHost: a.test\r\n\r\n", 1, false,
	  "abc_DEF-123" },
	{ "HEAD", "HEAD /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", 1, true, "tok" },
	{ "bare LF line ends", "GET /.well-known/acme-challenge/tok HTTP/1.0\n\n", 1, false,
	  "tok" },
	{ "headers not complete yet", "GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: a", -1,
	  false, NULL },
	{ "request line only so far", "GET /.well-known/acme-challenge/tok HTTP/1.1\r\n", -1, false,
	  NULL },
	{ "POST", "POST /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", 0, false, NULL },
	{ "another path", "GET /index.html HTTP/1.1\r\n\r\n", 0, false, NULL },
	{ "a dot-dot path", "GET /.well-known/acme-challenge/../x HTTP/1.1\r\n\r\n", 0, false,
	  NULL },
	{ "a query string", "GET /.well-known/acme-challenge/tok?x=1 HTTP/1.1\r\n\r\n", 0, false,
	  NULL },
	{ "an empty token", "GET /.well-known/acme-challenge/ HTTP/1.1\r\n\r\n", 0, false, NULL },
	{ "no version", "GET /.well-known/acme-challenge/tok\r\n\r\n", 0, false, NULL },
	{ "lower-case method", "get /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", 0, false,
	  NULL },
};

static void test_request(void **state)
{
	const struct req_case *c = *state;
	char token[ACME_TOKEN_MAX] = "";
	bool head = false;
	int got = acme_http01_request_parse(c->req, strlen(c->req), &head, token, sizeof(token));

	if (got != c->want || (got == 1 && (head != c->head || strcmp(token, c->token) != 0)))
		fail_msg("case '%s': %d head %d token '%s'", c->name, got, head, token);
}

static void test_request_token_too_long(void **state)
{
	char token[8], req[128];
	bool head;

	(void)state;
	snprintf(req, sizeof(req), "GET /.well-known/acme-challenge/%s HTTP/1.1\r\n\r\n",
		 "12345678");
	assert_int_equal(acme_http01_request_parse(req, strlen(req), &head, token, sizeof(token)),
			 0);
	snprintf(req, sizeof(req), "GET /.well-known/acme-challenge/%s HTTP/1.1\r\n\r\n",
		 "1234567");
	assert_int_equal(acme_http01_request_parse(req, strlen(req), &head, token, sizeof(token)),
			 1);
	assert_string_equal(token, "1234567");
}

int main(void)
{
	struct CMUnitTest t[N(req_cases) + 5];
	size_t n = 0;

	for (size_t i = 0; i < N(req_cases); i++)
		t[n++] = (struct CMUnitTest){ req_cases[i].name, test_request, NULL, NULL,
					      (void *)&req_cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_request_token_too_long);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_idle_and_slow_clients_do_not_block);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_at_once);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_ipv6);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_bad_listen);
	return _cmocka_run_group_tests("acme_http01", t, n, NULL, NULL);
}
