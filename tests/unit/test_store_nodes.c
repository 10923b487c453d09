/*
 * test_store_nodes.c - one process per worker node name (src/store/nodes.c)
 * and the claim rule that follows from it: a fresh heartbeat of another boot
 * refuses a second registration and keeps that boot's leases from being
 * taken; a stale, removed or proven-dead one lets a new boot register and
 * take its leases back at once; a boot's own renewal is fine, and a boot
 * taken over learns it when it renews. SQLite, or PostgreSQL (store_url.h).
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
#include "store_url.h"

#define NOW   1795000000
#define BEAT  60  /* the heartbeat's life */
#define LEASE 600 /* an order's lease: longer, so only the heartbeat decides */

struct env {
	char dir[64], url[128];
	store_t *st;
	int64_t order_id;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct cd_err err = { 0 };
	bool created;
	int applied;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-nodes-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(test_store_url(e->dir, e->url, sizeof(e->url)), 0);
	assert_int_equal(store_open(e->url, NULL, &e->st, &err), 0);
	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	store_seed(e->st, NOW, "c1", "example.jp", "aa");
	assert_int_equal(store_order_create(e->st, "c1", 0, "operator:t", NULL, NOW, &e->order_id,
					    &created, &err),
			 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	store_close(e->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", e->dir);
	free(e);
	return 0;
}

/* Registers node/boot at now (fresh until now + BEAT); *holder gets the
 * holder when refused. Returns whether it got the node. */
static bool reg(struct env *e, const char *node, const char *boot, int64_t now,
		const char *dead_boot, struct store_worker_node *holder)
{
	struct store_worker_node n = { .pid = 4242, .started_at = now, .expires_at = now + BEAT };
	struct store_worker_node h;
	struct cd_err err = { 0 };
	bool got = true;

	snprintf(n.node, sizeof(n.node), "%s", node);
	snprintf(n.boot, sizeof(n.boot), "%s", boot);
	snprintf(n.host, sizeof(n.host), "host-%s", boot);
	snprintf(n.host_key, sizeof(n.host_key), "key");
	assert_int_equal(store_worker_node_register(e->st, &n, now, dead_boot, &got, &h, &err), 0);
	if (holder)
		*holder = h;
	return got;
}

/* Claims for thread 0 of node/boot at now; returns how many orders. */
static int claim(struct env *e, const char *node, const char *boot, int64_t now)
{
	char owner[128];
	int64_t ids[4];
	struct cd_err err = { 0 };
	int n = -1, t = 0;

	snprintf(owner, sizeof(owner), "%s/%s/0", node, boot);
	assert_int_equal(store_orders_claim(e->st,
					    &(struct store_claim){ .node = node,
								   .boot = boot,
								   .owner = owner,
								   .now = now,
								   .lease_seconds = LEASE,
								   .max_in_flight = 256 },
					    4, ids, &n, &t, &err),
			 0);
	return n;
}

static void assert_owner(struct env *e, const char *owner)
{
	struct store_order o;
	struct cd_err err = { 0 };

	assert_int_equal(store_order_get(e->st, e->order_id, &o, &err), 0);
	assert_string_equal(o.lease_owner, owner);
}

static void test_fresh_heartbeat_refuses(void **state)
{
	struct env *e = *state;
	struct store_worker_node h;

	assert_true(reg(e, "a", "b1", NOW, NULL, NULL));
	assert_int_equal(claim(e, "a", "b1", NOW), 1);
	/* a second live process with the same name: refused, told who holds it */
	assert_false(reg(e, "a", "b2", NOW + 1, NULL, &h));
	assert_string_equal(h.boot, "b1");
	assert_string_equal(h.host, "host-b1");
	assert_int_equal(h.pid, 4242);
	assert_int_equal(h.heartbeat_at, NOW);
	/* even unregistered, it cannot take the live boot's order at once */
	assert_int_equal(claim(e, "a", "b2", NOW + 1), 0);
	assert_owner(e, "a/b1/0");
	/* up to the last second of the heartbeat's life */
	assert_false(reg(e, "a", "b2", NOW + BEAT, NULL, NULL));
	/* another node name is not concerned */
	assert_true(reg(e, "ab", "b2", NOW + 1, NULL, NULL));
}

static void test_stale_heartbeat_allows_and_leases_return_at_once(void **state)
{
	struct env *e = *state;

	assert_true(reg(e, "a", "b1", NOW, NULL, NULL));
	assert_int_equal(claim(e, "a", "b1", NOW), 1);
	/* b1 died: its heartbeat is stale long before its order's lease ends */
	assert_int_equal(claim(e, "a", "b2", NOW + BEAT + 1), 1);
	assert_owner(e, "a/b2/0");
	assert_true(reg(e, "a", "b2", NOW + BEAT + 1, NULL, NULL));
	/* another node waits for the lease itself */
	assert_int_equal(claim(e, "z", "b9", NOW + BEAT + 2), 0);
}

static void test_registered_successor_takes_leases(void **state)
{
	struct env *e = *state;
	bool held = true;
	struct cd_err err = { 0 };

	assert_true(reg(e, "a", "b1", NOW, NULL, NULL));
	assert_int_equal(claim(e, "a", "b1", NOW), 1);
	assert_true(reg(e, "a", "b2", NOW + BEAT + 1, NULL, NULL));
	assert_int_equal(claim(e, "a", "b2", NOW + BEAT + 1), 1);
	assert_owner(e, "a/b2/0");
	/* b1 was only stalled: its next heartbeat tells it the node is b2's */
	assert_int_equal(
	    store_worker_node_renew(e->st, "a", "b1", NOW + BEAT + 2, NOW + 2 * BEAT, &held, &err),
	    0);
	assert_false(held);
	assert_false(reg(e, "a", "b1", NOW + BEAT + 2, NULL, NULL));
}

static void test_own_boot_renews(void **state)
{
	struct env *e = *state;
	struct store_worker_node h;
	bool held = false;
	struct cd_err err = { 0 };

	assert_true(reg(e, "a", "b1", NOW, NULL, NULL));
	assert_true(reg(e, "a", "b1", NOW + 5, NULL, NULL)); /* registering again is fine */
	assert_int_equal(
	    store_worker_node_renew(e->st, "a", "b1", NOW + BEAT - 1, NOW + 2 * BEAT, &held, &err),
	    0);
	assert_true(held);
	/* renewed: still fresh past the first heartbeat's life */
	assert_false(reg(e, "a", "b2", NOW + BEAT + 1, NULL, &h));
	assert_int_equal(h.heartbeat_at, NOW + BEAT - 1);
	assert_int_equal(claim(e, "a", "b1", NOW + BEAT), 1);
	assert_int_equal(claim(e, "a", "b2", NOW + BEAT + 1), 0);
}

static void test_removed_row_frees_node_at_once(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };

	assert_true(reg(e, "a", "b1", NOW, NULL, NULL));
	assert_int_equal(claim(e, "a", "b1", NOW), 1);
	/* another boot's removal is not this one's */
	assert_int_equal(store_worker_node_remove(e->st, "a", "b2", &err), 0);
	assert_false(reg(e, "a", "b2", NOW + 1, NULL, NULL));
	assert_int_equal(store_worker_node_remove(e->st, "a", "b1", &err), 0);
	assert_true(reg(e, "a", "b2", NOW + 1, NULL, NULL));
	assert_int_equal(claim(e, "a", "b2", NOW + 1), 1);
}

static void test_proven_dead_boot_is_taken_over(void **state)
{
	struct env *e = *state;

	assert_true(reg(e, "a", "b1", NOW, NULL, NULL));
	assert_int_equal(claim(e, "a", "b1", NOW), 1);
	/* naming another boot as dead does not help */
	assert_false(reg(e, "a", "b2", NOW + 1, "b0", NULL));
	assert_false(reg(e, "a", "b2", NOW + 1, "", NULL));
	/* the caller proved b1's process gone (same host, no such PID) */
	assert_true(reg(e, "a", "b2", NOW + 1, "b1", NULL));
	assert_int_equal(claim(e, "a", "b2", NOW + 1), 1);
	assert_owner(e, "a/b2/0");
}

static void test_empty_names_refused(void **state)
{
	struct env *e = *state;
	struct store_worker_node n = { .expires_at = NOW + BEAT };
	struct cd_err err = { 0 };
	bool got = true;

	snprintf(n.node, sizeof(n.node), "a");
	assert_int_not_equal(store_worker_node_register(e->st, &n, NOW, NULL, &got, NULL, &err), 0);
	assert_false(got);
	assert_non_null(strstr(err.msg, "boot"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_fresh_heartbeat_refuses),
		T(test_stale_heartbeat_allows_and_leases_return_at_once),
		T(test_registered_successor_takes_leases),
		T(test_own_boot_renews),
		T(test_removed_row_frees_node_at_once),
		T(test_proven_dead_boot_is_taken_over),
		T(test_empty_names_refused),
	};

	return cmocka_run_group_tests_name("store_nodes", tests, NULL, NULL);
}
