/*
 * test_notify_outbox.c - the outbox against a real SQLite file (invariant 5):
 * one mail per dedup key with its Message-ID fixed at queueing, queued in the
 * caller's transaction (gone with its rollback), claims with a lease that
 * several connections never share, redelivery after a lease expires with the
 * same Message-ID, retry scheduling, failure for good reported as an event,
 * and a delivery pass against an SMTP port where nothing listens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/notify.h"

#include "store_url.h"

#define NOW 1795000000

struct env {
	char dir[64];
	char url[128];
	store_t *st;
	struct notify_settings s;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct cd_err err = { 0 };
	int applied;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-outbox-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(test_store_url(e->dir, e->url, sizeof(e->url)), 0);
	assert_int_equal(store_open(e->url, NULL, &e->st, &err), 0);
	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	/* defaults, with a port where nothing listens (1 is reserved: tcpmux) */
	snprintf(e->s.smtp_url, sizeof(e->s.smtp_url), "smtp://127.0.0.1:1");
	snprintf(e->s.from, sizeof(e->s.from), "noreply@example.jp");
	snprintf(e->s.from_name, sizeof(e->s.from_name), "Provider");
	snprintf(e->s.message_id_domain, sizeof(e->s.message_id_domain), "example.jp");
	snprintf(e->s.provider, sizeof(e->s.provider), "Provider");
	snprintf(e->s.timezone, sizeof(e->s.timezone), "Asia/Tokyo");
	e->s.timeout_ms = 2000;
	e->s.connect_timeout_ms = 1000;
	e->s.retry_base_ms = 10000;
	e->s.retry_cap_ms = 60000;
	e->s.max_attempts = 3;
	e->s.lease_seconds = 60;
	e->s.batch = 10;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[200];

	store_close(e->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static void enqueue(struct env *e, const char *key, char msgid[NOTIFY_MSGID_MAX], bool *created)
{
	struct cd_err err = { 0 };

	assert_int_equal(notify_enqueue(e->st, &e->s,
					&(struct notify_mail){ .kind = "test",
							       .dedup_key = key,
							       .member_id = "m1",
							       .rcpt = "a@example.jp",
							       .rcpt_name = "A",
							       .subject = "件名",
							       .body = "本文" },
					NOW, msgid, created, &err),
			 0);
}

static int64_t count(store_t *st, enum store_outbox_filter f)
{
	int64_t p, s, fl;
	struct cd_err err = { 0 };

	assert_int_equal(store_outbox_counts(st, &p, &s, &fl, &err), 0);
	return f == STORE_OUTBOX_PENDING ? p : f == STORE_OUTBOX_SENT ? s : fl;
}

static void test_dedup_key(void **state)
{
	struct env *e = *state;
	char a[NOTIFY_MSGID_MAX], b[NOTIFY_MSGID_MAX];
	bool created;

	enqueue(e, "order-done:1", a, &created);
	assert_true(created);
	assert_non_null(strstr(a, "@example.jp"));
	enqueue(e, "order-done:1", b, &created);
	assert_false(created);
	assert_string_equal(a, b); /* the Message-ID fixed the first time */
	assert_int_equal(count(e->st, STORE_OUTBOX_PENDING), 1);
}

static void test_in_callers_transaction(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	char id[NOTIFY_MSGID_MAX];
	bool created;

	/* rolled back with its cause: no mail */
	assert_int_equal(store_begin(e->st, &err), 0);
	enqueue(e, "order-done:2", id, &created);
	store_rollback(e->st);
	assert_int_equal(count(e->st, STORE_OUTBOX_PENDING), 0);
	/* committed with its cause (an event here): both there */
	assert_int_equal(store_begin(e->st, &err), 0);
	assert_int_equal(store_event_add(e->st,
					 &(struct store_event){ .at = NOW,
								.actor = "system",
								.kind = "order.transition",
								.to_state = "notified" },
					 &err),
			 0);
	enqueue(e, "order-done:2", id, &created);
	assert_int_equal(store_commit(e->st, &err), 0);
	assert_int_equal(count(e->st, STORE_OUTBOX_PENDING), 1);
}

static void test_order_done_enqueue(void **state)
{
	struct env *e = *state;
	static const char *const names[] = { "example.jp", "www.example.jp" };
	struct notify_order_done o = { .order_id = 42,
				       .member_id = "m1",
				       .rcpt = "a@example.jp",
				       .rcpt_name = "山田",
				       .common_name = "example.jp",
				       .names = names,
				       .n_names = 2,
				       .not_before = NOW,
				       .not_after = NOW + 100 * 86400,
				       .serial = "01",
				       .sha256 = "ab" };
	struct store_outbox_msg row;
	struct cd_err err = { 0 };
	char a[NOTIFY_MSGID_MAX], b[NOTIFY_MSGID_MAX];
	bool created, found;

	assert_int_equal(
	    notify_order_done_enqueue(e->st, &e->s, &o, LANG_JA, NOW, a, &created, &err), 0);
	assert_true(created);
	assert_int_equal(
	    notify_order_done_enqueue(e->st, &e->s, &o, LANG_EN, NOW + 5, b, &created, &err), 0);
	assert_false(created);
	assert_string_equal(a, b);
	assert_int_equal(store_outbox_find(e->st, "order-done:42", &row, &found, &err), 0);
	assert_true(found);
	assert_int_equal(row.order_id, 42);
	assert_string_equal(row.kind, "order_done");
	assert_string_equal(row.member_id, "m1");
	/* the first rendering (Japanese) is the one kept */
	assert_non_null(strstr(row.subject, "再発行完了"));
}

static void test_claim_lease(void **state)
{
	struct env *e = *state;
	struct store_outbox_msg *m = NULL;
	struct cd_err err = { 0 };
	char id[NOTIFY_MSGID_MAX];
	bool created;
	size_t n;

	enqueue(e, "k1", id, &created);
	assert_int_equal(store_outbox_claim(e->st, "w1", NOW, NOW + 60, 10, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].message_id, id);
	assert_int_equal(m[0].attempts, 1);
	assert_non_null(strstr(m[0].message, id));
	store_outbox_msgs_free(m, n);
	/* leased: nobody else gets it, even later, until the lease runs out */
	assert_int_equal(store_outbox_claim(e->st, "w2", NOW + 59, NOW + 119, 10, &m, &n, &err), 0);
	assert_int_equal(n, 0);
	store_outbox_msgs_free(m, n);
	/* w1 died: after the lease, w2 takes it, the same Message-ID, a second attempt */
	assert_int_equal(store_outbox_claim(e->st, "w2", NOW + 60, NOW + 120, 10, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].message_id, id);
	assert_int_equal(m[0].attempts, 2);
	store_outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_mark_sent(e->st, id, NOW + 61, &err), 0);
	assert_int_equal(store_outbox_claim(e->st, "w3", NOW + 500, NOW + 560, 10, &m, &n, &err),
			 0);
	assert_int_equal(n, 0);
	store_outbox_msgs_free(m, n);
	assert_int_equal(count(e->st, STORE_OUTBOX_SENT), 1);
}

static void test_retry_and_fail(void **state)
{
	struct env *e = *state;
	struct store_outbox_msg *m = NULL;
	struct cd_err err = { 0 };
	char id[NOTIFY_MSGID_MAX];
	bool created;
	size_t n;
	int k;

	enqueue(e, "k2", id, &created);
	assert_int_equal(store_outbox_claim(e->st, "w", NOW, NOW + 60, 10, &m, &n, &err), 0);
	store_outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_mark_failed(e->st, id, NOW, NOW + 30, "421 busy", &err), 0);
	/* not due before its time, due after */
	assert_int_equal(store_outbox_claim(e->st, "w", NOW + 29, NOW + 89, 10, &m, &n, &err), 0);
	assert_int_equal(n, 0);
	store_outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_claim(e->st, "w", NOW + 30, NOW + 90, 10, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].last_error, "421 busy");
	store_outbox_msgs_free(m, n);
	/* given back untried: the attempt does not count */
	assert_int_equal(store_outbox_release(e->st, id, NOW + 31, "not tried", &err), 0);
	assert_int_equal(store_outbox_claim(e->st, "w", NOW + 31, NOW + 91, 10, &m, &n, &err), 0);
	assert_int_equal(m[0].attempts, 2);
	store_outbox_msgs_free(m, n);
	/* failed for good: listed, not claimable; a retry makes it due again */
	assert_int_equal(store_outbox_mark_failed(e->st, id, NOW + 32, 0, "550 no", &err), 0);
	assert_int_equal(count(e->st, STORE_OUTBOX_FAILED), 1);
	assert_int_equal(store_outbox_claim(e->st, "w", NOW + 999, NOW + 1059, 10, &m, &n, &err),
			 0);
	assert_int_equal(n, 0);
	store_outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_retry_failed(e->st, NULL, NOW + 1000, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_int_equal(count(e->st, STORE_OUTBOX_PENDING), 1);
}

struct claimer {
	const char *url;
	int claimed;
	char ids[64][NOTIFY_MSGID_MAX];
};

static void *claim_all(void *arg)
{
	struct claimer *c = arg;
	struct cd_err err = { 0 };
	store_t *st;

	if (store_open(c->url, NULL, &st, &err))
		return NULL;
	for (;;) {
		struct store_outbox_msg *m = NULL;
		size_t n = 0;

		if (store_outbox_claim(st, "t", NOW, NOW + 60, 2, &m, &n, &err) || n == 0) {
			store_outbox_msgs_free(m, n);
			break;
		}
		for (size_t i = 0; i < n && c->claimed < 64; i++)
			snprintf(c->ids[c->claimed++], NOTIFY_MSGID_MAX, "%s", m[i].message_id);
		store_outbox_msgs_free(m, n);
	}
	store_close(st);
	return NULL;
}

static void test_concurrent_claims(void **state)
{
	struct env *e = *state;
	struct claimer c[4];
	pthread_t t[4];
	char key[32], id[NOTIFY_MSGID_MAX];
	bool created;
	int total = 0;

	for (int i = 0; i < 60; i++) {
		snprintf(key, sizeof(key), "many:%d", i);
		enqueue(e, key, id, &created);
	}
	memset(c, 0, sizeof(c));
	for (int i = 0; i < 4; i++) {
		c[i].url = e->url;
		assert_int_equal(pthread_create(&t[i], NULL, claim_all, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		total += c[i].claimed;
	assert_int_equal(total, 60);
	/* no message held by two claimers */
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < c[i].claimed; j++)
			for (int k = i; k < 4; k++)
				for (int l = k == i ? j + 1 : 0; l < c[k].claimed; l++)
					assert_string_not_equal(c[i].ids[j], c[k].ids[l]);
}

static void test_deliver_unreachable(void **state)
{
	struct env *e = *state;
	struct store_outbox_msg row;
	struct cd_err err = { 0 };
	char id[NOTIFY_MSGID_MAX], key[16];
	bool created, found;
	int sent, failed;

	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "u:%d", i);
		enqueue(e, key, id, &created);
	}
	assert_int_equal(notify_deliver_due(e->st, &e->s, 0, NOW, &sent, &failed, &err), 0);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 1); /* one connection attempt, the rest given back */
	assert_int_equal(count(e->st, STORE_OUTBOX_PENDING), 3);
	{
		int attempts = 0;

		for (int i = 0; i < 3; i++) {
			snprintf(key, sizeof(key), "u:%d", i);
			assert_int_equal(store_outbox_find(e->st, key, &row, &found, &err), 0);
			assert_true(found);
			attempts += row.attempts;
			if (row.attempts)
				assert_non_null(strstr(row.last_error, "127.0.0.1"));
			assert_true(row.next_attempt_at > NOW);
		}
		assert_int_equal(attempts, 1);
	}
	/* the last attempt fails the message for good, with an event */
	e->s.max_attempts = 1;
	assert_int_equal(
	    notify_deliver_due(e->st, &e->s, 0, row.next_attempt_at + 3600, &sent, &failed, &err),
	    0);
	assert_true(count(e->st, STORE_OUTBOX_FAILED) >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dedup_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_callers_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_done_enqueue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_and_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_unreachable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
