/*
 * test_bulk_store.c - the bulk reissue's side of the store on a real SQLite
 * file: the CA's newOrder window shared by two connections (as by two worker
 * processes), a slot without an answer counting until its hold ends, and
 * pauses (one campaign, every campaign) that keep queued orders unclaimed
 * while orders already started are still claimed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store_seed.h"

#define NOW   1795000000
#define MS    ((int64_t)NOW * 1000)
#define WIN   10000
#define HOLD  60000
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

struct env {
	char dir[64], url[128];
	store_t *st, *st2; /* two connections: two worker processes */
	int64_t campaign_id, order_id;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct store_campaign cp = { .deadline_at = NOW + 86400, .created_at = NOW };
	struct store_campaign_filter f = { .now = NOW };
	struct cd_err err = { 0 };
	bool created;
	int applied;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-bulk-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->url, sizeof(e->url), "sqlite:%s/t.db", e->dir);
	assert_int_equal(store_open(e->url, NULL, &e->st, &err), 0);
	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	assert_int_equal(store_open(e->url, NULL, &e->st2, &err), 0);
	store_seed_member(e->st, NOW);
	store_seed_certificate(e->st, NOW, "c1", "example.jp", "aa");
	snprintf(cp.name, sizeof(cp.name), "g3");
	snprintf(cp.criteria, sizeof(cp.criteria), "{}");
	snprintf(cp.deadline, sizeof(cp.deadline), "2026-11-20");
	snprintf(cp.created_by, sizeof(cp.created_by), "operator:t");
	assert_int_equal(store_begin(e->st, &err), 0);
	assert_int_equal(store_campaign_create(e->st, &cp, &f, &err), 0);
	assert_int_equal(store_commit(e->st, &err), 0);
	e->campaign_id = cp.campaign_id;
	assert_int_equal(store_order_create(e->st, "c1", e->campaign_id, "operator:t", NULL, NOW,
					    &e->order_id, &created, &err),
			 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	store_close(e->st);
	store_close(e->st2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", e->dir);
	free(e);
	return 0;
}

/* Takes a slot (limit 2 per WIN ms) at MS + t: the slot id, or 0 with *wait. */
static int64_t take(store_t *st, int64_t t, int64_t *wait)
{
	struct cd_err err = { 0 };
	int64_t slot = -1, w = -1;

	assert_int_equal(store_ca_slot_take(st, "g4", 1, MS + t, 2, WIN, HOLD, &slot, &w, &err), 0);
	if (wait)
		*wait = w;
	return slot;
}

static void test_window_shared_by_two_connections(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t s1, wait;

	s1 = take(e->st, 0, NULL);
	assert_true(s1 > 0);
	assert_true(take(e->st2, 100, NULL) > 0);
	/* full for both connections; both slots still in flight: soon */
	assert_int_equal(take(e->st2, 200, &wait), 0);
	assert_int_equal(wait, 1000);
	assert_int_equal(take(e->st, 200, &wait), 0);
	/* the first answered at 300: it counts until 300 + WIN */
	assert_int_equal(store_ca_slot_done(e->st, s1, MS + 300, &err), 0);
	assert_int_equal(take(e->st2, 400, &wait), 0);
	assert_int_equal(wait, 300 + WIN - 400);
	assert_int_equal(take(e->st2, 300 + WIN - 1, &wait), 0);
	assert_int_equal(wait, 100); /* never a busy loop */
	assert_true(take(e->st2, 300 + WIN, NULL) > 0);
	assert_int_equal(take(e->st, 300 + WIN + 1, NULL), 0);
}

static void test_unanswered_slot_counts_until_its_hold_ends(void **state)
{
	struct env *e = *state;
	int64_t wait;

	assert_true(take(e->st, 0, NULL) > 0);
	assert_true(take(e->st, 0, NULL) > 0);
	/* neither answered (their worker died): they count until granted + HOLD */
	assert_int_equal(take(e->st2, HOLD + WIN - 1, &wait), 0);
	assert_true(take(e->st2, HOLD + WIN + 1, NULL) > 0);
}

static void test_limit_of_one_and_each_ca_its_own(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t slot, w;

	/* a limit of 1: a second take in the same instant is refused */
	assert_int_equal(store_ca_slot_take(e->st, "other", 1, MS, 1, WIN, HOLD, &slot, &w, &err),
			 0);
	assert_true(slot > 0);
	assert_int_equal(store_ca_slot_take(e->st2, "other", 1, MS, 1, WIN, HOLD, &slot, &w, &err),
			 0);
	assert_int_equal(slot, 0);
	/* another CA's window is its own */
	assert_true(take(e->st2, 0, NULL) > 0);
}

static int claim(struct env *e, int64_t now)
{
	struct cd_err err = { 0 };
	int64_t ids[4];
	int n = -1, t = 0;

	assert_int_equal(
	    store_orders_claim(
		e->st,
		&(struct store_claim){
		    .node = "n", .boot = "b1", .owner = "n/b1/0", .now = now, .lease_seconds = 60 },
		4, ids, &n, &t, &err),
	    0);
	if (n)
		assert_int_equal(store_orders_release(e->st, "n/b1/0", &err), 0);
	return n;
}

static void test_pauses_keep_queued_orders_unclaimed(void **state)
{
	struct env *e = *state;
	struct store_bulk b;
	struct cd_err err = { 0 };
	bool changed;

	assert_int_equal(claim(e, NOW), 1);
	assert_int_equal(store_bulk_pause(e->st, e->campaign_id, "operator:t", NOW, &changed, &err),
			 0);
	assert_true(changed);
	assert_int_equal(store_bulk_pause(e->st, e->campaign_id, "operator:t", NOW, &changed, &err),
			 0);
	assert_false(changed);
	assert_int_equal(claim(e, NOW + 1), 0);
	assert_int_equal(store_bulk_get(e->st, e->campaign_id, &b, &err), 0);
	assert_true(b.paused);
	assert_false(b.paused_all);
	assert_string_equal(b.paused_by, "operator:t");
	assert_int_equal(store_bulk_resume(e->st, e->campaign_id, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(claim(e, NOW + 2), 1);
	/* the global pause */
	assert_int_equal(store_bulk_pause(e->st, 0, "operator:t", NOW, &changed, &err), 0);
	assert_int_equal(claim(e, NOW + 3), 0);
	assert_int_equal(store_bulk_get(e->st, e->campaign_id, &b, &err), 0);
	assert_true(b.paused_all);
	assert_false(b.paused);
	assert_int_equal(store_bulk_resume(e->st, 0, &changed, &err), 0);
	assert_int_equal(claim(e, NOW + 4), 1);
}

static void test_started_order_runs_on_while_paused(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	bool changed;
	int64_t ids[1];
	int n = 0, t = 0;

	assert_int_equal(
	    store_orders_claim(
		e->st,
		&(struct store_claim){
		    .node = "n", .boot = "b1", .owner = "n/b1/0", .now = NOW, .lease_seconds = 60 },
		1, ids, &n, &t, &err),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    store_order_update(e->st,
			       &(struct store_order_update){ .order_id = e->order_id,
							     .owner = "n/b1/0",
							     .from = ORDER_QUEUED,
							     .to = ORDER_PREFLIGHT,
							     .now = NOW,
							     .next_run_at = NOW,
							     .revocation_pending = -1,
							     .actor = "worker:n",
							     .certificate_id = "c1",
							     .campaign_id = e->campaign_id },
			       &err),
	    0);
	assert_int_equal(store_bulk_pause(e->st, 0, "operator:t", NOW, &changed, &err), 0);
	assert_int_equal(claim(e, NOW + 1), 1);
}

static void test_schedule_and_report_reads(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t at, n, first, last;

	assert_int_equal(store_bulk_schedule(e->st, e->order_id, NOW + 500, &err), 0);
	assert_int_equal(store_bulk_last_due(e->st, e->campaign_id, &at, &err), 0);
	assert_int_equal(at, NOW + 500);
	assert_int_equal(claim(e, NOW + 499), 0);
	assert_int_equal(claim(e, NOW + 500), 1);
	assert_int_equal(store_bulk_done_since(e->st, e->campaign_id, 0, &n, &first, &last, &err),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_bulk_set(e->st, e->campaign_id, 1800, NOW, "operator:t", &err), 0);
	assert_int_equal(store_bulk_set(e->st, e->campaign_id, 900, NOW + 60, "operator:t", &err),
			 0);
	{
		struct store_bulk b;

		assert_int_equal(store_bulk_get(e->st, e->campaign_id, &b, &err), 0);
		assert_int_equal(b.rate_per_hour, 900);
		assert_int_equal(b.started_at, NOW);
		assert_int_equal(b.resumed_at, NOW + 60);
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_window_shared_by_two_connections),
		T(test_unanswered_slot_counts_until_its_hold_ends),
		T(test_limit_of_one_and_each_ca_its_own),
		T(test_pauses_keep_queued_orders_unclaimed),
		T(test_started_order_runs_on_while_paused),
		T(test_schedule_and_report_reads),
	};

	return cmocka_run_group_tests_name("bulk_store", tests, NULL, NULL);
}
