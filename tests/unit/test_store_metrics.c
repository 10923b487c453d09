/*
 * test_store_metrics.c - the store's side of /metrics and of the audit trail on a
 * real SQLite file: the time an order spent in a state lands in the right
 * histogram bucket when it leaves it, lease take-overs and order problems are
 * counted in the store, campaign progress follows eligibility_of() (and a
 * campaign's counts by status agree with its certificates' views), and events
 * carry their source and are found by member, certificate, order and time.
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

#define NOW 1795000000

struct env {
	char dir[64], url[128];
	store_t *st;
	int64_t campaign_id, order_id;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct store_campaign c = { 0 };
	static const char *const issuers[] = { "3000" };
	struct cd_err err = { 0 };
	int applied;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-smetrics-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(test_store_url(e->dir, e->url, sizeof(e->url)), 0);
	assert_int_equal(store_open(e->url, NULL, &e->st, &err), 0);
	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	for (int i = 1; i <= 2; i++) {
		char id[8], cn[32], sha[8];

		snprintf(id, sizeof(id), "c%d", i);
		snprintf(cn, sizeof(cn), "s%d.example.jp", i);
		snprintf(sha, sizeof(sha), "aa%d", i);
		store_seed(e->st, NOW, id, cn, sha);
	}
	snprintf(c.name, sizeof(c.name), "g3 \"old\"");
	snprintf(c.criteria, sizeof(c.criteria), "{}");
	snprintf(c.deadline, sizeof(c.deadline), "2026-12-31");
	snprintf(c.created_by, sizeof(c.created_by), "operator:t");
	c.deadline_at = NOW + 30 * 86400;
	assert_int_equal(
	    store_campaign_create(e->st, &c,
				  &(struct store_campaign_filter){
				      .issuer_der_hex = issuers, .n_issuers = 1, .now = NOW },
				  &err),
	    0);
	e->campaign_id = c.campaign_id;
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

static void order_for(struct env *e, const char *cert, const char *actor, int64_t at)
{
	struct cd_err err = { 0 };
	bool created;

	assert_int_equal(store_order_create(e->st, cert, e->campaign_id, actor, NULL, at,
					    &e->order_id, &created, &err),
			 0);
}

/* Claims the order for owner "NODE/b/0" at now; returns the take-overs. */
static int claim(struct env *e, const char *node, int64_t now)
{
	char owner[64];
	struct cd_err err = { 0 };
	int64_t ids[4];
	int n = 0, t = -1;

	snprintf(owner, sizeof(owner), "%s/b/0", node);
	assert_int_equal(
	    store_orders_claim(
		e->st,
		&(struct store_claim){
		    .node = node, .boot = "b", .owner = owner, .now = now, .lease_seconds = 60 },
		4, ids, &n, &t, &err),
	    0);
	assert_int_equal(n, 1);
	return t;
}

static void move(struct env *e, const char *node, enum order_state from, enum order_state to,
		 int64_t now, const char *failure)
{
	char owner[64];
	struct cd_err err = { 0 };

	snprintf(owner, sizeof(owner), "%s/b/0", node);
	assert_int_equal(
	    store_order_update(e->st,
			       &(struct store_order_update){ .order_id = e->order_id,
							     .owner = owner,
							     .from = from,
							     .to = to,
							     .now = now,
							     .next_run_at = now,
							     .lease_expires = now + 60,
							     .set_failure = failure != NULL,
							     .failure = failure,
							     .failure_detail = failure,
							     .revocation_pending = -1,
							     .actor = "worker:n",
							     .certificate_id = "c1",
							     .campaign_id = e->campaign_id },
			       &err),
	    0);
}

struct hist {
	int64_t count[4][STORE_STAGE_BUCKETS + 1], sum[4];
};

static int each_stage(const char *state, int bucket, int64_t count, int64_t sum, void *arg)
{
	struct hist *h = arg;
	int s = strcmp(state, "queued") == 0 ? 0 : strcmp(state, "preflight") == 0 ? 1 : 3;

	h->count[s][bucket] += count;
	h->sum[s] += sum;
	return 0;
}

static int64_t counter(struct env *e, const char *name, const char *label);

static void test_stage_time_recorded_at_transition(void **state)
{
	struct env *e = *state;
	struct hist h = { 0 };
	struct cd_err err = { 0 };

	order_for(e, "c1", "member:m1", NOW);
	claim(e, "n", NOW);
	move(e, "n", ORDER_QUEUED, ORDER_PREFLIGHT, NOW + 7, NULL); /* 7 s queued: le 15 */
	/* a retry keeps the state: it does not end the stage */
	move(e, "n", ORDER_PREFLIGHT, ORDER_PREFLIGHT, NOW + 100, "dns_error");
	move(e, "n", ORDER_PREFLIGHT, ORDER_FAILED, NOW + 407, "dns_not_pointing"); /* 400 s */
	assert_int_equal(store_stage_seconds_each(e->st, each_stage, &h, &err), 0);
	assert_int_equal(store_stage_bounds[2], 15);
	assert_int_equal(h.count[0][2], 1);
	assert_int_equal(h.sum[0], 7);
	assert_int_equal(store_stage_bounds[7], 900);
	assert_int_equal(h.count[1][7], 1);
	assert_int_equal(h.sum[1], 400);
	assert_int_equal(h.sum[3], 0); /* nothing left failed: it is terminal */
	assert_int_equal(counter(e, "order_problems", "dns_error"), 1);
	assert_int_equal(counter(e, "order_problems", "dns_not_pointing"), 1);
}

struct one_counter {
	const char *name, *label;
	int64_t value;
};

static int find_counter(const char *name, const char *label, int64_t value, void *arg)
{
	struct one_counter *c = arg;

	if (strcmp(name, c->name) == 0 && strcmp(label, c->label) == 0)
		c->value = value;
	return 0;
}

static int64_t counter(struct env *e, const char *name, const char *label)
{
	struct one_counter c = { name, label, 0 };
	struct cd_err err = { 0 };

	assert_int_equal(store_metric_counters_each(e->st, find_counter, &c, &err), 0);
	return c.value;
}

static void test_lease_takeovers_counted(void **state)
{
	struct env *e = *state;

	order_for(e, "c1", "member:m1", NOW);
	assert_int_equal(claim(e, "a", NOW), 0);
	assert_int_equal(counter(e, "lease_takeovers", ""), 0);
	assert_int_equal(claim(e, "z", NOW + 61), 1); /* a's lease expired */
	assert_int_equal(counter(e, "lease_takeovers", ""), 1);
	assert_int_equal(claim(e, "a", NOW + 200), 1);
	assert_int_equal(counter(e, "lease_takeovers", ""), 2);
}

static int each_progress(const struct store_campaign_progress *p, void *arg)
{
	*(struct store_campaign_progress *)arg = *p;
	return 0;
}

/* store_campaign_status_each against a walk that views each target and
 * applies the rule: the same count for every status. */
struct walk {
	store_t *st;
	int64_t now, n[CERT_STATUS_COUNT];
	struct cd_err *err;
};

static int walk_one(const char *certificate_id, void *arg)
{
	struct walk *w = arg;
	struct store_cert_view v;
	struct eligibility el;
	int rc = store_certificate_view(w->st, certificate_id, w->now, &v, w->err);

	if (rc)
		return rc;
	eligibility_of(&v.facts, &el);
	w->n[el.status]++;
	return 0;
}

static int group_one(const struct store_status_group *g, void *arg)
{
	((int64_t *)arg)[g->status] += g->n;
	return 0;
}

static void status_agrees(struct env *e, int64_t now, enum cert_status expect, int64_t n_expect)
{
	struct cd_err err = { 0 };
	struct walk w = { .st = e->st, .now = now, .err = &err };
	int64_t n[CERT_STATUS_COUNT] = { 0 };

	assert_int_equal(store_campaign_targets_each(e->st, e->campaign_id, walk_one, &w, &err), 0);
	assert_int_equal(store_campaign_status_each(e->st, e->campaign_id, now, group_one, n, &err),
			 0);
	for (int i = 0; i < CERT_STATUS_COUNT; i++)
		assert_int_equal(n[i], w.n[i]);
	assert_int_equal(n[expect], n_expect);
}

static void test_campaign_progress_follows_the_rule(void **state)
{
	struct env *e = *state;
	struct store_campaign_progress p = { 0 };
	struct cd_err err = { 0 };

	assert_int_equal(store_campaign_progress_each(e->st, NOW, each_progress, &p, &err), 0);
	assert_string_equal(p.name, "g3 \"old\"");
	assert_int_equal(p.affected, 2);
	assert_int_equal(p.by_status[CERT_STATUS_AVAILABLE], 2);
	status_agrees(e, NOW, CERT_STATUS_AVAILABLE, 2);
	order_for(e, "c1", "member:m1", NOW);
	assert_int_equal(store_campaign_progress_each(e->st, NOW, each_progress, &p, &err), 0);
	assert_int_equal(p.by_status[CERT_STATUS_IN_PROGRESS], 1);
	status_agrees(e, NOW, CERT_STATUS_IN_PROGRESS, 1);
	claim(e, "n", NOW);
	move(e, "n", ORDER_QUEUED, ORDER_FAILED, NOW + 1, "ca_rejected"); /* not retryable */
	memset(&p, 0, sizeof(p));
	assert_int_equal(store_campaign_progress_each(e->st, NOW, each_progress, &p, &err), 0);
	assert_int_equal(p.by_status[CERT_STATUS_IMPOSSIBLE], 1);
	assert_int_equal(p.by_status[CERT_STATUS_AVAILABLE], 1);
	assert_int_equal(p.reissued, 0);
	status_agrees(e, NOW, CERT_STATUS_IMPOSSIBLE, 1);
	/* a server in maintenance: the other one is impossible too */
	store_seed_server(e->st, NOW, "maintenance");
	memset(&p, 0, sizeof(p));
	assert_int_equal(store_campaign_progress_each(e->st, NOW, each_progress, &p, &err), 0);
	assert_int_equal(p.by_status[CERT_STATUS_IMPOSSIBLE], 2);
	status_agrees(e, NOW, CERT_STATUS_IMPOSSIBLE, 2);
	/* once the targeted issuances expired, the campaign has nothing left */
	memset(&p, 0, sizeof(p));
	assert_int_equal(
	    store_campaign_progress_each(e->st, NOW + 400 * 86400, each_progress, &p, &err), 0);
	assert_int_equal(p.affected, 0);
	/* a campaign's own counts still show every target: none needs a reissue */
	status_agrees(e, NOW + 400 * 86400, CERT_STATUS_NOT_NEEDED, 2);
}

struct seen {
	int n;
	char kinds[256], sources[256];
};

static int each_event(const struct store_event *ev, void *arg)
{
	struct seen *s = arg;
	size_t k = strlen(s->kinds), o = strlen(s->sources);

	s->n++;
	snprintf(s->kinds + k, sizeof(s->kinds) - k, "%s%s", k ? " " : "", ev->kind);
	snprintf(s->sources + o, sizeof(s->sources) - o, "%s%s", o ? " " : "",
		 ev->source ? ev->source : "-");
	return 0;
}

static void test_events_carry_their_source(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	struct seen s = { 0 };

	store_set_source(e->st, "192.0.2.10");
	assert_int_equal(
	    store_event_add(
		e->st,
		&(struct store_event){ .at = NOW + 1, .actor = "member:m1", .kind = "login.ok" },
		&err),
	    0);
	order_for(e, "c2", "member:m1", NOW + 2);
	store_set_source(e->st, "local:ops");
	assert_int_equal(store_event_add(e->st,
					 &(struct store_event){ .at = NOW + 3,
								.actor = "member:m2",
								.kind = "login.failed",
								.source = "198.51.100.1" },
					 &err),
			 0);
	store_set_source(e->st, NULL);
	assert_int_equal(
	    store_event_add(
		e->st, &(struct store_event){ .at = NOW + 4, .actor = "system", .kind = "import" },
		&err),
	    0);

	assert_int_equal(store_events_query(e->st,
					    &(struct store_events_filter){ .member_id = "m1" },
					    each_event, &s, &err),
			 0);
	assert_string_equal(s.kinds, "login.ok order.transition");
	assert_string_equal(s.sources, "192.0.2.10 192.0.2.10");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_events_query(e->st,
					    &(struct store_events_filter){ .since = NOW + 3 },
					    each_event, &s, &err),
			 0);
	assert_string_equal(s.kinds, "login.failed import");
	assert_string_equal(s.sources, "198.51.100.1 -");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_events_query(e->st,
					    &(struct store_events_filter){
						.certificate_id = "c2", .order_id = e->order_id },
					    each_event, &s, &err),
			 0);
	assert_int_equal(s.n, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_events_query(e->st,
					    &(struct store_events_filter){ .since = 0, .limit = 2 },
					    each_event, &s, &err),
			 0);
	assert_int_equal(s.n, 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T(test_stage_time_recorded_at_transition),
		T(test_lease_takeovers_counted),
		T(test_campaign_progress_follows_the_rule),
		T(test_events_carry_their_source),
	};

	return cmocka_run_group_tests_name("store_metrics", tests, NULL, NULL);
}
