/*
 * deliver.c - delivering the outbox over SMTP with libcurl: claim due
 * messages with a lease, send each as stored (its Message-ID fixed when it
 * was queued), mark it sent or schedule a retry with capped exponential
 * backoff and jitter; after [mail] max_attempts, mark it failed and say so.
 *
 * A server that cannot be reached ends the pass: the rest of the batch is
 * given back untried, so a dead server costs one connection attempt per pass,
 * not one per message. One SMTP connection serves the whole pass (the curl
 * handle is reused), and sent messages are marked in batches (see
 * MARK_BATCH). Delivery is at least once: a deliverer killed between the
 * server's "250" and the commit of sent_at leaves a message that is sent
 * again, with the same Message-ID, when its lease expires.
 */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "util/cdtime.h"
#include "util/fileio.h"
#include "util/log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

long notify_backoff_ms(long base_ms, long cap_ms, int attempts, double r)
{
	long d = base_ms;

	for (int i = 1; i < attempts && d < cap_ms; i++)
		d = d > cap_ms / 2 ? cap_ms : d * 2;
	if (d > cap_ms)
		d = cap_ms;
	if (r < 0 || r >= 1)
		r = 0;
	return d / 2 + (long)((double)(d - d / 2) * r);
}

static double random_unit(void)
{
	uint32_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		return 0.5;
	return (double)v / 4294967296.0;
}

/* --- one SMTP session (a curl handle kept across messages of a pass) ------- */

struct upload {
	const char *p;
	size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct upload *u = ud;
	size_t n = size * nitems;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->p + u->off, n);
	u->off += n;
	return n;
}

struct smtp {
	CURL *curl;
	char password[512];
	bool have_password;
};

enum send_result { SEND_OK, SEND_RETRY, SEND_PERMANENT, SEND_UNREACHABLE };

static void smtp_close(struct smtp *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	OPENSSL_cleanse(c->password, sizeof(c->password));
	memset(c, 0, sizeof(*c));
}

static int smtp_open(struct smtp *c, const struct notify_settings *s, struct cd_err *err)
{
	char *pw = NULL;
	size_t len = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	pthread_once(&curl_once, curl_init_once);
	if (s->user[0]) {
		rc = cd_file_read(s->password_file, sizeof(c->password) - 1, &pw, &len, err);
		if (rc) {
			cd_err_prefix(err, "[mail] password_file: ");
			return rc;
		}
		while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
			len--;
		memcpy(c->password, pw, len);
		c->password[len] = '\0';
		OPENSSL_cleanse(pw, len);
		free(pw);
		c->have_password = true;
	}
	c->curl = curl_easy_init();
	if (!c->curl) {
		smtp_close(c);
		return cd_err_set(err, CD_ENOMEM, false, "cannot create a curl handle");
	}
	return 0;
}

static enum send_result smtp_send(struct smtp *c, const struct notify_settings *s, const char *rcpt,
				  const char *message, size_t len, char *why, size_t whysz)
{
	char from[340], to[340], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpts = NULL;
	struct upload u = { message, len, 0 };
	long code = 0;
	CURLcode cc;
	CURL *h = c->curl;

	snprintf(from, sizeof(from), "<%s>", s->from);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	rcpts = curl_slist_append(NULL, to);
	if (!rcpts) {
		snprintf(why, whysz, "out of memory");
		return SEND_RETRY;
	}
	curl_easy_setopt(h, CURLOPT_URL, s->smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_USE_SSL,
			 s->starttls == NOTIFY_TLS_REQUIRED ? (long)CURLUSESSL_ALL
			 : s->starttls == NOTIFY_TLS_TRY    ? (long)CURLUSESSL_TRY
							    : (long)CURLUSESSL_NONE);
	if (s->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (s->user[0]) {
		curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpts);
	if (cc == CURLE_OK)
		return SEND_OK;
	snprintf(why, whysz, "SMTP %s: %s%s%ld", s->smtp_url,
		 ebuf[0] ? ebuf : curl_easy_strerror(cc), code ? " (reply " : "", code);
	if (code)
		snprintf(why + strlen(why), whysz - strlen(why), ")");
	else
		why[strlen(why) - 1] = '\0'; /* drop the "0" of no reply */
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_LOGIN_DENIED:
	case CURLE_USE_SSL_FAILED:
		return SEND_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		return code ? SEND_RETRY : SEND_UNREACHABLE;
	default:
		break;
	}
	/* 550-554: this mailbox or this message is refused for good */
	if (code >= 550 && code <= 554)
		return SEND_PERMANENT;
	return SEND_RETRY;
}

int notify_smtp_send(const struct notify_settings *s, const char *rcpt, const char *message,
		     size_t len, struct cd_err *err)
{
	struct smtp c;
	char why[600];
	enum send_result r;
	int rc;

	if (!notify_addr_valid(rcpt))
		return cd_err_set(err, CD_EINVAL, false, "'%.80s' is not a mail address", rcpt);
	rc = smtp_open(&c, s, err);
	if (rc)
		return rc;
	r = smtp_send(&c, s, rcpt, message, len, why, sizeof(why));
	smtp_close(&c);
	if (r == SEND_OK)
		return 0;
	return cd_err_set(err, CD_EPEER, r != SEND_PERMANENT, "%s", why);
}

/* --- the delivery pass ---------------------------------------------------- */

static void lease_owner(char *out, size_t outsz)
{
	char host[64] = "";
	unsigned char r[4] = { 0 };

	gethostname(host, sizeof(host) - 1);
	RAND_bytes(r, sizeof(r));
	snprintf(out, outsz, "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), r[0], r[1], r[2],
		 r[3]);
}

/* Sleeps so that sends are at most rate per second (0 = no pacing). */
static void pace(long rate, struct timespec *next)
{
	struct timespec now;

	if (rate <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (next->tv_sec || next->tv_nsec) {
		if (now.tv_sec < next->tv_sec ||
		    (now.tv_sec == next->tv_sec && now.tv_nsec < next->tv_nsec)) {
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
			now = *next;
		}
	}
	next->tv_nsec = now.tv_nsec + 1000000000L / rate;
	next->tv_sec = now.tv_sec + next->tv_nsec / 1000000000L;
	next->tv_nsec %= 1000000000L;
}

/* Milliseconds since start (monotonic). */
static int64_t elapsed_ms(const struct timespec *start)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - start->tv_sec) * 1000 + (t.tv_nsec - start->tv_nsec) / 1000000;
}

/* The caller's clock moved on by the time spent in this pass. */
static int64_t pass_now(int64_t now, const struct timespec *start)
{
	return now + elapsed_ms(start) / 1000;
}

static int64_t seconds_up(long ms)
{
	return (ms + 999) / 1000;
}

/* Sent messages are marked in one transaction (one fsync) per MARK_BATCH
 * messages or MARK_EVERY_MS, whichever comes first, not one per message: that
 * commit was what bounded the delivery rate. A deliverer killed before such a
 * commit leaves at most MARK_BATCH sent but unmarked messages (plus the one in
 * flight); they are still leased to it, so nobody sends them until the lease
 * expires, and then they are sent again, each with its unchanged Message-ID:
 * at least once, as invariant 5 asks, with a bounded number of repeats. The
 * batch is committed right after a send ends or when the pass ends, and a
 * send starts only with timeout_ms + 1 s of lease in hand, so every message
 * is marked while this pass still holds its lease. */
#define MARK_BATCH    100
#define MARK_EVERY_MS 500

struct sent_batch {
	size_t idx[MARK_BATCH]; /* into the claimed messages */
	int64_t at[MARK_BATCH]; /* when each was sent (the caller's clock) */
	size_t n;
	int64_t first_ms; /* elapsed_ms() when the oldest unmarked one was sent */
};

/* Commits sent_at of every message in b; on failure they stay leased. */
static int mark_sent_batch(store_t *st, const struct store_outbox_msg *msgs, struct sent_batch *b,
			   int *sent, struct cd_err *err)
{
	int rc;

	if (b->n == 0)
		return 0;
	rc = store_begin(st, err);
	if (rc)
		return rc;
	for (size_t k = 0; k < b->n && !rc; k++)
		rc = store_outbox_mark_sent(st, msgs[b->idx[k]].message_id, b->at[k], err);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	rc = store_commit(st, err);
	if (rc)
		return rc;
	*sent += (int)b->n;
	b->n = 0;
	return 0;
}

/* A message that will not be delivered: logged and recorded as an event. */
static int report_failed(store_t *st, const struct store_outbox_msg *m, int64_t now,
			 const char *why, struct cd_err *err)
{
	char detail[900];

	cd_error("mail %s to %s failed for good after %d attempt%s: %s", m->message_id, m->rcpt,
		 m->attempts, m->attempts == 1 ? "" : "s", why);
	snprintf(detail, sizeof(detail), "message <%s> to %s (%s), %d attempts: %s", m->message_id,
		 m->rcpt, m->kind, m->attempts, why);
	return store_event_add(st,
			       &(struct store_event){ .at = now,
						      .actor = "system",
						      .kind = "mail.failed",
						      .order_id = m->order_id,
						      .campaign_id = m->campaign_id,
						      .detail = detail },
			       err);
}

static int mark_failed(store_t *st, const struct notify_settings *s,
		       const struct store_outbox_msg *m, int64_t now, bool permanent,
		       const char *why, struct cd_err *err)
{
	int rc;

	if (!permanent && m->attempts < s->max_attempts) {
		long d = notify_backoff_ms(s->retry_base_ms, s->retry_cap_ms, m->attempts,
					   random_unit());

		cd_warn("mail %s to %s: attempt %d failed, next in %lds: %s", m->message_id,
			m->rcpt, m->attempts, (long)seconds_up(d), why);
		return store_outbox_mark_failed(st, m->message_id, now, now + seconds_up(d), why,
						err);
	}
	rc = store_begin(st, err);
	if (rc)
		return rc;
	rc = store_outbox_mark_failed(st, m->message_id, now, 0, why, err);
	if (!rc)
		rc = report_failed(st, m, now, why, err);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

int notify_deliver_due(store_t *st, const struct notify_settings *s, int limit, int64_t now,
		       int *sent, int *failed, struct cd_err *err)
{
	struct store_outbox_msg *msgs = NULL;
	struct timespec next = { 0 }, start;
	struct smtp c = { 0 };
	struct sent_batch batch = { .n = 0 };
	char owner[128], why[600];
	int64_t lease_until = now + s->lease_seconds;
	size_t n = 0, i = 0;
	bool open = false, unreachable = false;
	int rc;

	*sent = *failed = 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	lease_owner(owner, sizeof(owner));
	rc = store_outbox_claim(st, owner, now, lease_until, limit > 0 ? limit : (int)s->batch,
				&msgs, &n, err);
	if (rc || n == 0)
		goto out;
	rc = smtp_open(&c, s, err);
	if (rc)
		goto give_back;
	open = true;
	for (; i < n; i++) {
		struct store_outbox_msg *m = &msgs[i];
		enum send_result r;

		pace(s->rate_per_second, &next);
		/* never send on a lease that may run out mid-send (or before the
		 * send is marked): another deliverer could take the message over and
		 * send it too. The lease ends at a whole second after `now`, and the
		 * claim may have been up to a second later than `now`: keep that
		 * second in hand. Checked after pacing, which may sleep. */
		if (elapsed_ms(&start) + s->timeout_ms + 1000 > s->lease_seconds * 1000)
			break;
		r = smtp_send(&c, s, m->rcpt, m->message, strlen(m->message), why, sizeof(why));
		if (r == SEND_OK) {
			if (batch.n == 0)
				batch.first_ms = elapsed_ms(&start);
			batch.idx[batch.n] = i;
			batch.at[batch.n++] = pass_now(now, &start);
			if (batch.n == MARK_BATCH ||
			    elapsed_ms(&start) - batch.first_ms >= MARK_EVERY_MS) {
				rc = mark_sent_batch(st, msgs, &batch, sent, err);
				if (rc) {
					i++; /* this one was sent: not given back */
					goto give_back;
				}
			}
			continue;
		}
		/* earlier sends are committed before this failure is recorded */
		rc = mark_sent_batch(st, msgs, &batch, sent, err);
		if (rc)
			goto give_back;
		rc = mark_failed(st, s, m, pass_now(now, &start), r == SEND_PERMANENT, why, err);
		if (rc)
			goto give_back;
		(*failed)++;
		if (r == SEND_UNREACHABLE) {
			unreachable = true;
			i++;
			break;
		}
	}
	rc = mark_sent_batch(st, msgs, &batch, sent, err);
give_back:
	/* what was claimed but not tried goes back as it was: due at once (by the
	 * caller's clock) when the lease ran short, else after the first backoff
	 * step when the server could not be reached */
	for (; i < n; i++) {
		struct cd_err e2 = { 0 };
		int64_t t = pass_now(now, &start);
		int64_t at = unreachable
				 ? t + seconds_up(notify_backoff_ms(
					   s->retry_base_ms, s->retry_cap_ms, 1, random_unit()))
				 : t;

		if (store_outbox_release(st, msgs[i].message_id, at,
					 unreachable ? why : "not tried in this pass", &e2) != 0)
			cd_warn("mail %s: cannot give it back (its lease expires instead): %s",
				msgs[i].message_id, e2.msg);
	}
out:
	if (open)
		smtp_close(&c);
	store_outbox_msgs_free(msgs, n);
	return rc;
}
