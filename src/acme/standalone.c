/*
 * standalone.c - the http-01 responder of `certdesk ca issue --http-listen`
 * (other clients' "standalone" mode): answers GET /.well-known/acme-challenge/TOKEN
 * with the key authorization placed through acme_http01_server_place.
 *
 * One thread runs a poll() loop over the listening socket and every open
 * connection, all non-blocking: a CA's validation server may connect several
 * times at once (one connection per name, retries from several vantage points),
 * and a client that connects and sends nothing, or sends slowly, only holds its
 * own slot until its deadline. IPv4 and IPv6 ("[::1]:80"; ":80" is both).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acme/acme.h"

#define HTTP01_MAX_TOKENS 4096
#define HTTP01_MAX_CONNS  256
#define HTTP01_REQ_MAX	  8192	/* request line and headers; more is refused */
#define HTTP01_DEADLINE	  10000 /* ms a connection may take from accept to answer */

struct http01_token {
	char token[ACME_TOKEN_MAX];
	char ka[ACME_TOKEN_MAX + 64];
};

struct http01_conn {
	int fd; /* -1 = a free slot */
	int64_t deadline;
	size_t n;		 /* request bytes read */
	size_t out_len, out_off; /* answer bytes, and how many were written */
	char req[HTTP01_REQ_MAX];
	char out[512 + ACME_TOKEN_MAX + 64];
};

struct acme_http01_server {
	int fd, wake[2];
	int port;
	pthread_t thread;
	pthread_mutex_t lock; /* tokens */
	struct http01_token *tokens;
	size_t n_tokens;
	struct http01_conn *conns;
	atomic_int stop;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int acme_http01_server_place(void *arg, const char *name, const char *token, const char *ka,
			     bool remove, struct cd_err *err)
{
	acme_http01_server_t *s = arg;
	int rc = 0;

	(void)name; /* every name is answered on this one listener */
	pthread_mutex_lock(&s->lock);
	if (remove) {
		for (size_t i = 0; i < s->n_tokens; i++)
			if (strcmp(s->tokens[i].token, token) == 0) {
				s->tokens[i] = s->tokens[--s->n_tokens];
				break;
			}
	} else if (strlen(token) >= ACME_TOKEN_MAX || strlen(ka) >= ACME_TOKEN_MAX + 64) {
		rc = cd_err_set(err, CD_EINVAL, false, "http-01 token too long");
	} else if (s->n_tokens >= HTTP01_MAX_TOKENS) {
		rc = cd_err_set(err, CD_ELIMIT, false, "too many pending http-01 tokens (%d)",
				HTTP01_MAX_TOKENS);
	} else {
		strcpy(s->tokens[s->n_tokens].token, token);
		strcpy(s->tokens[s->n_tokens].ka, ka);
		s->n_tokens++;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static bool b64url_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

int acme_http01_request_parse(const char *req, size_t len, bool *head, char *token, size_t tokensz)
{
	static const char prefix[] = "/.well-known/acme-challenge/";
	const char *p, *end = req + len, *sp;
	bool complete = false;
	size_t n;

	for (p = req; p < end && !complete; p++)
		complete = *p == '\n' && ((p + 1 < end && p[1] == '\n') ||
					  (p + 2 < end && p[1] == '\r' && p[2] == '\n'));
	if (!complete)
		return -1;
	*head = len > 5 && memcmp(req, "HEAD ", 5) == 0;
	if (!*head && !(len > 4 && memcmp(req, "GET ", 4) == 0))
		return 0;
	p = req + (*head ? 5 : 4);
	if ((size_t)(end - p) < sizeof(prefix) - 1 || memcmp(p, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	p += sizeof(prefix) - 1;
	/* a token is base64url (RFC 8555 §8.3); anything else is not one of ours */
	for (sp = p; sp < end && b64url_char(*sp); sp++)
		;
	n = (size_t)(sp - p);
	if (n == 0 || n >= tokensz || sp >= end || *sp != ' ')
		return 0;
	memcpy(token, p, n);
	token[n] = '\0';
	return 1;
}

/* The answer to a complete request (or to one too long to be one). */
static void answer(acme_http01_server_t *s, struct http01_conn *c)
{
	char body[ACME_TOKEN_MAX + 64] = "", token[ACME_TOKEN_MAX];
	bool head = false, found = false;
	int len;

	if (acme_http01_request_parse(c->req, c->n, &head, token, sizeof(token)) == 1) {
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->n_tokens && !found; i++)
			if (strcmp(s->tokens[i].token, token) == 0) {
				strcpy(body, s->tokens[i].ka);
				found = true;
			}
		pthread_mutex_unlock(&s->lock);
	}
	if (found)
		len = snprintf(c->out, sizeof(c->out),
			       "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			       strlen(body), head ? "" : body);
	else
		len = snprintf(
		    c->out, sizeof(c->out),
		    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	c->out_len = (size_t)len;
	c->out_off = 0;
}

static void conn_close(struct http01_conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* Reads what is there; answers once the headers are complete. */
static void conn_read(acme_http01_server_t *s, struct http01_conn *c)
{
	char token[ACME_TOKEN_MAX];
	bool head;

	for (;;) {
		ssize_t r = read(c->fd, c->req + c->n, sizeof(c->req) - 1 - c->n);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (r <= 0) {
			conn_close(c);
			return;
		}
		c->n += (size_t)r;
		if (c->n == sizeof(c->req) - 1 ||
		    acme_http01_request_parse(c->req, c->n, &head, token, sizeof(token)) >= 0) {
			answer(s, c);
			return;
		}
	}
}

static void conn_write(struct http01_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (w <= 0)
			break;
		c->out_off += (size_t)w;
	}
	/* the whole answer is out: say so, then close */
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void accept_all(acme_http01_server_t *s, int64_t now)
{
	for (int i = 0; i < HTTP01_MAX_CONNS; i++) {
		struct http01_conn *c = &s->conns[i];
		int fd;

		if (c->fd >= 0)
			continue;
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		c->fd = fd;
		c->n = c->out_len = c->out_off = 0;
		c->deadline = now + HTTP01_DEADLINE;
	}
}

static void *serve(void *arg)
{
	acme_http01_server_t *s = arg;
	struct pollfd *p = calloc(HTTP01_MAX_CONNS + 2, sizeof(*p));
	int map[HTTP01_MAX_CONNS];

	if (!p)
		return NULL;
	while (!atomic_load(&s->stop)) {
		int64_t now = now_ms();
		int n = 0, open = 0, timeout = 1000;

		p[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		for (int i = 0; i < HTTP01_MAX_CONNS; i++) {
			struct http01_conn *c = &s->conns[i];

			if (c->fd < 0)
				continue;
			if (now >= c->deadline) { /* idle or too slow: its slot goes back */
				conn_close(c);
				continue;
			}
			if (c->deadline - now < timeout)
				timeout = (int)(c->deadline - now);
			map[n - 1] = i;
			p[n++] =
			    (struct pollfd){ .fd = c->fd, .events = c->out_len ? POLLOUT : POLLIN };
			open++;
		}
		/* with every slot taken, new connections wait in the backlog */
		if (open < HTTP01_MAX_CONNS)
			p[n++] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
		if (poll(p, (nfds_t)n, timeout) <= 0)
			continue;
		now = now_ms();
		for (int k = 1; k < n; k++) {
			struct http01_conn *c;

			if (p[k].fd == s->fd) {
				if (p[k].revents)
					accept_all(s, now);
				continue;
			}
			if (!p[k].revents)
				continue;
			c = &s->conns[map[k - 1]];
			if (!c->out_len)
				conn_read(s, c);
			if (c->fd >= 0 && c->out_len)
				conn_write(c);
		}
	}
	free(p);
	return NULL;
}

/* "ADDR:PORT", "[V6]:PORT", ":PORT", "ADDR" or "[V6]" (port 80). */
static int parse_listen(const char *at, struct sockaddr_storage *ss, socklen_t *len, bool *any,
			struct cd_err *err)
{
	char host[64];
	const char *port_s = NULL, *colon;
	long port = 80;
	char *end;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*any = false;
	if (at[0] == '[') {
		const char *rb = strchr(at, ']');

		if (!rb || (size_t)(rb - at - 1) >= sizeof(host) || (rb[1] && rb[1] != ':'))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - at - 1), at + 1);
		if (rb[1] == ':')
			port_s = rb + 2;
	} else if ((colon = strchr(at, ':')) && strchr(colon + 1, ':')) {
		goto bad; /* an IPv6 address with a port needs brackets */
	} else if (colon) {
		if ((size_t)(colon - at) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - at), at);
		port_s = colon + 1;
	} else {
		if (strlen(at) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%s", at);
	}
	if (port_s) {
		errno = 0;
		port = strtol(port_s, &end, 10);
		if (!*port_s || *end || errno || port < 0 || port > 65535)
			goto bad;
	}
	if (!host[0] || strcmp(host, "*") == 0) {
		*any = true;
		v6->sin6_family = AF_INET6;
		v6->sin6_addr = in6addr_any;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
	} else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
	} else {
		goto bad;
	}
	return 0;
bad:
	return cd_err_set(err, CD_EINVAL, false,
			  "--http-listen '%s' is not ADDR:PORT, [IPV6]:PORT or :PORT", at);
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len, bool any)
{
	int one = 1, zero = 0;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	/* ":PORT" is every address, IPv6 and IPv4; "[::1]:PORT" only IPv6 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int)) != 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 128) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int acme_http01_server_start(const char *listen_at, acme_http01_server_t **out, struct cd_err *err)
{
	acme_http01_server_t *s;
	struct sockaddr_storage ss, bound;
	socklen_t len, blen = sizeof(bound);
	bool any;
	int rc;

	*out = NULL;
	if ((rc = parse_listen(listen_at, &ss, &len, &any, err)))
		return rc;
	if (!(s = calloc(1, sizeof(*s))))
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	s->fd = s->wake[0] = s->wake[1] = -1;
	s->tokens = calloc(HTTP01_MAX_TOKENS, sizeof(*s->tokens));
	s->conns = calloc(HTTP01_MAX_CONNS, sizeof(*s->conns));
	if (!s->tokens || !s->conns) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto fail;
	}
	for (int i = 0; i < HTTP01_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->fd = listen_on(&ss, len, any);
	if (s->fd < 0 && any && errno == EAFNOSUPPORT) { /* a host without IPv6 */
		struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		v4->sin_family = AF_INET;
		v4->sin_port = port;
		v4->sin_addr.s_addr = htonl(INADDR_ANY);
		s->fd = listen_on(&ss, sizeof(*v4), false);
	}
	if (s->fd < 0) {
		rc = cd_err_set(err, CD_EIO, false, "cannot listen on %s for http-01: %s",
				listen_at, strerror(errno));
		goto fail;
	}
	if (getsockname(s->fd, (struct sockaddr *)&bound, &blen) == 0)
		s->port =
		    ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						      : ((struct sockaddr_in *)&bound)->sin_port);
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = cd_err_set(err, CD_EIO, false, "http-01: pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&s->lock, NULL);
	if (pthread_create(&s->thread, NULL, serve, s) != 0) {
		pthread_mutex_destroy(&s->lock);
		rc = cd_err_set(err, CD_EINTERNAL, false, "cannot start the http-01 thread");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	free(s->tokens);
	free(s->conns);
	free(s);
	return rc;
}

int acme_http01_server_port(const acme_http01_server_t *s)
{
	return s->port;
}

void acme_http01_server_stop(acme_http01_server_t *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	if (write(s->wake[1], "x", 1) < 0) {
		/* the pipe is non-blocking and read by nobody else: the loop's
		 * one-second poll time-out sees stop anyway */
	}
	pthread_join(s->thread, NULL);
	for (int i = 0; i < HTTP01_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	close(s->fd);
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	free(s->tokens);
	free(s->conns);
	free(s);
}
