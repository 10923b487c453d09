/*
 * resolve.c - one DNS question at a time through c-ares, against the
 * configured resolver. Each call has its own channel, so threads never
 * share c-ares state; the channel is driven with poll(), not select(), so
 * descriptor numbers above FD_SETSIZE in a busy server are fine.
 */
#include "dcv/resolve.h"

#include <ares.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dcv/dnsmsg.h"

struct dcv_resolver {
	char servers[256]; /* "" = the system's */
	int timeout_ms, tries;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_init_once(void)
{
	ares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

int dcv_resolver_new(const cd_config_t *cfg, dcv_resolver_t **out, struct cd_err *err)
{
	const char *srv = cd_config_get(cfg, "dcv", "resolver");
	struct dcv_resolver *r;
	long timeout, tries;
	int rc;

	*out = NULL;
	rc = cd_config_get_int(cfg, "dcv", "timeout_ms", 100, 60000, &timeout, err);
	if (!rc)
		rc = cd_config_get_int(cfg, "dcv", "tries", 1, 10, &tries, err);
	if (rc)
		return rc;
	pthread_once(&ares_once, ares_init_once);
	if (ares_init_status != ARES_SUCCESS)
		return cd_err_set(err, CD_EINTERNAL, false, "c-ares: %s",
				  ares_strerror(ares_init_status));
	if (srv && strlen(srv) >= sizeof(r->servers))
		return cd_err_set(err, CD_ECONFIG, false, "[dcv] resolver is too long");
	r = calloc(1, sizeof(*r));
	if (!r)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	if (srv)
		strcpy(r->servers, srv);
	r->timeout_ms = (int)timeout;
	r->tries = (int)tries;
	/* a bad address is a config error now, not a DNS error on every order */
	if (r->servers[0]) {
		ares_channel ch;
		struct ares_options o = { .flags = 0 };

		rc = ares_init_options(&ch, &o, ARES_OPT_FLAGS);
		if (rc == ARES_SUCCESS) {
			rc = ares_set_servers_ports_csv(ch, r->servers);
			ares_destroy(ch);
		}
		if (rc != ARES_SUCCESS) {
			free(r);
			return cd_err_set(err, CD_ECONFIG, false,
					  "[dcv] resolver '%s' is not ADDR[:PORT][,...]: %s", srv,
					  ares_strerror(rc));
		}
	}
	*out = r;
	return 0;
}

void dcv_resolver_free(dcv_resolver_t *r)
{
	free(r);
}

struct query {
	bool done;
	int status;
	struct dns_answer *ans;
	struct cd_err perr;
	int parse_rc;
};

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;

	(void)timeouts;
	q->done = true;
	q->status = status;
	if (status == ARES_SUCCESS && abuf && alen > 0)
		q->parse_rc = dns_answer_parse(abuf, (size_t)alen, q->ans, &q->perr);
}

static void drive(ares_channel ch, const struct query *q)
{
	while (!q->done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval tv, *tvp;
		int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM), n = 0, ms, prc;

		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;

			/* c-ares's own macros shift a signed int by up to 31 */
			if ((unsigned)bits & (1u << i))
				ev |= POLLIN;
			if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (!ev)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n].revents = 0;
			n++;
		}
		tvp = ares_timeout(ch, NULL, &tv);
		ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
		prc = poll(pfd, (nfds_t)n, ms);
		if (prc <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			ares_process_fd(ch,
					pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
					    ? pfd[i].fd
					    : ARES_SOCKET_BAD,
					pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
		}
	}
}

int dcv_query(dcv_resolver_t *r, const char *name, int type, struct dns_answer *ans,
	      enum dcv_qstatus *status, struct cd_err *err)
{
	struct ares_options o;
	struct query q = { .ans = ans };
	ares_channel ch;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(ans, 0, sizeof(*ans));
	o.timeout = r->timeout_ms;
	o.tries = r->tries;
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	o.ednspsz = 1232;
	rc = ares_init_options(
	    &ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ);
	if (rc != ARES_SUCCESS)
		return cd_err_set(err, CD_EINTERNAL, false, "c-ares: %s", ares_strerror(rc));
	if (r->servers[0]) {
		rc = ares_set_servers_ports_csv(ch, r->servers);
		if (rc != ARES_SUCCESS) {
			ares_destroy(ch);
			return cd_err_set(err, CD_ECONFIG, false, "[dcv] resolver: %s",
					  ares_strerror(rc));
		}
	}
	ares_query(ch, name, 1 /* IN */, type, on_answer, &q);
	drive(ch, &q);
	ares_destroy(ch);
	switch (q.status) {
	case ARES_SUCCESS:
		if (q.parse_rc) {
			*status = DCV_Q_ERROR;
			return cd_err_set(err, CD_EPEER, true, "%s: malformed DNS answer: %s", name,
					  q.perr.msg);
		}
		*status = DCV_Q_OK;
		return 0;
	case ARES_ENODATA:
		*status = DCV_Q_NODATA;
		return 0;
	case ARES_ENOTFOUND:
		*status = DCV_Q_NXDOMAIN;
		return 0;
	default:
		*status = DCV_Q_ERROR;
		return cd_err_set(err, CD_EPEER, true, "%s: DNS %s", name, ares_strerror(q.status));
	}
}
