/*
 * test_work.c - the worker's side of the store on a real SQLite file: leases
 * (take-over after expiry, a restarted node taking its own back at once, a
 * live thread's order never taken), the fenced update, attempts, operator
 * cancel and kick, the issuance that becomes current (and the old one again
 * when the new one fails before it was live), the operator's resume of an
 * order that failed after issuance; the claim order (orders in flight first,
 * queued ones only under [worker] max_in_flight); and the backoff rule.
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

#include "store/store.h"
#include "worker/worker.h"

#include "store_url.h"

#define NOW   1795000000
#define LEASE 60

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
	int applied, ch;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-work-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(test_store_url(e->dir, e->url, sizeof(e->url)), 0);
	assert_int_equal(store_open(e->url, NULL, &e->st, &err), 0);
	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	assert_int_equal(store_member_upsert(e->st,
					     &(struct store_member){ .member_id = "m1",
								     .email = "a@example.jp",
								     .display_name = "A",
								     .locale = "ja" },
					     NOW, &ch, &err),
			 0);
	assert_int_equal(store_server_upsert(e->st,
					     &(struct store_server){ .server = "web01",
								     .ipv4 = "127.0.0.2",
								     .state = "ok",
								     .driver = "nginx",
								     .http_port = 80,
								     .https_port = 443 },
					     NOW, &ch, &err),
			 0);
	assert_int_equal(store_site_upsert(e->st,
					   &(struct store_site){ .fqdn = "example.jp",
								 .member_id = "m1",
								 .server = "web01",
								 .state = "ok" },
					   NOW, &ch, &err),
			 0);
	assert_int_equal(store_certificate_import(
			     e->st,
			     &(struct store_certificate){ .certificate_id = "c1",
							  .member_id = "m1",
							  .product = "jprs_dv_rs_1y",
							  .common_name = "example.jp",
							  .term_start = "2026-01-01",
							  .term_end = "2027-12-31",
							  .term_end_at = NOW + 400 * 86400 },
			     &(struct store_issuance){ .source = "import",
						       .issuer_dn = "CN=G3",
						       .issuer_der_hex = "3000",
						       .serial = "1a",
						       .sha256 = "aa",
						       .sans = "example.jp",
						       .chain_pem = "PEM",
						       .not_before = NOW - 86400,
						       .not_after = NOW + 300 * 86400 },
			     NOW, &ch, &err),
			 0);
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

/* Claims up to max orders with at most cap in flight; ids[] gets them. */
static int claim_ids(struct env *e, const char *node, const char *boot, int thread, int64_t now,
		     int cap, int max, int64_t *ids, int *takeovers)
{
	char owner[128];
	struct cd_err err = { 0 };
	int n = -1, t = 0;

	snprintf(owner, sizeof(owner), "%s/%s/%d", node, boot, thread);
	assert_int_equal(store_orders_claim(e->st,
					    &(struct store_claim){ .node = node,
								   .boot = boot,
								   .owner = owner,
								   .now = now,
								   .lease_seconds = LEASE,
								   .max_in_flight = cap },
					    max, ids, &n, &t, &err),
			 0);
	if (takeovers)
		*takeovers = t;
	return n;
}

static int claim(struct env *e, const char *node, const char *boot, int thread, int64_t now,
		 int *takeovers)
{
	int64_t ids[4];

	return claim_ids(e, node, boot, thread, now, 256, 4, ids, takeovers);
}

static void test_lease_excludes_others_until_expiry(void **state)
{
	struct env *e = *state;
	int t;

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	assert_int_equal(claim(e, "z", "b9", 0, NOW + 1, NULL), 0);
	assert_int_equal(claim(e, "a", "b1", 1, NOW + 1, NULL), 0); /* a live sibling thread */
	assert_int_equal(claim(e, "z", "b9", 0, NOW + LEASE + 1, &t), 1);
	assert_int_equal(t, 1);
}

static void test_restarted_node_takes_its_own_back(void **state)
{
	struct env *e = *state;
	int t = -1;

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	assert_int_equal(claim(e, "a", "b2", 3, NOW + 1, &t), 1); /* same node, new process */
	assert_int_equal(t, 0);
	assert_int_equal(claim(e, "ab", "b1", 0, NOW + 2, NULL), 0); /* "a" is no prefix of "ab/" */
}

static void test_not_due_not_claimed(void **state)
{
	struct env *e = *state;
	struct store_order_update u;
	struct cd_err err = { 0 };

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	u = (struct store_order_update){ .order_id = e->order_id,
					 .owner = "a/b1/0",
					 .from = ORDER_QUEUED,
					 .to = ORDER_QUEUED,
					 .now = NOW,
					 .next_run_at = NOW + 30,
					 .revocation_pending = -1,
					 .actor = "worker:a" };
	assert_int_equal(store_order_update(e->st, &u, &err), 0);
	assert_int_equal(claim(e, "z", "b9", 0, NOW + 29, NULL), 0);
	assert_int_equal(claim(e, "z", "b9", 0, NOW + 30, NULL), 1);
}

static int count_events(const struct store_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
	return 0;
}

static void test_fenced_update(void **state)
{
	struct env *e = *state;
	struct store_order_update u = { 0 };
	struct store_order o;
	struct cd_err err = { 0 };
	int before = 0, after = 0;

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	assert_int_equal(store_events_each(e->st, NULL, e->order_id, count_events, &before, &err),
			 0);
	u = (struct store_order_update){ .order_id = e->order_id,
					 .owner = "z/b9/0",
					 .from = ORDER_QUEUED,
					 .to = ORDER_PREFLIGHT,
					 .now = NOW,
					 .next_run_at = NOW,
					 .lease_expires = NOW + LEASE,
					 .names = "example.jp www.example.jp",
					 .revocation_pending = -1,
					 .actor = "worker:z",
					 .certificate_id = "c1" };
	assert_int_equal(store_order_update(e->st, &u, &err), -CD_ESTATE); /* not the holder */
	assert_non_null(strstr(err.msg, "lease lost"));
	u.owner = "a/b1/0";
	u.from = ORDER_KEY_READY; /* not the state it is in */
	u.to = ORDER_ORDERED;
	assert_int_equal(store_order_update(e->st, &u, &err), -CD_ESTATE);
	u.from = ORDER_QUEUED;
	u.to = ORDER_DONE; /* illegal */
	assert_int_equal(store_order_update(e->st, &u, &err), -CD_ESTATE);
	assert_non_null(strstr(err.msg, "queued"));
	u.to = ORDER_PREFLIGHT;
	assert_int_equal(store_order_update(e->st, &u, &err), 0);
	assert_int_equal(store_order_get(e->st, e->order_id, &o, &err), 0);
	assert_int_equal(o.state, ORDER_PREFLIGHT);
	assert_string_equal(o.names, "example.jp www.example.jp");
	assert_string_equal(o.lease_owner, "a/b1/0");
	assert_int_equal(store_events_each(e->st, NULL, e->order_id, count_events, &after, &err),
			 0);
	assert_int_equal(after, before + 1);
}

static void test_failure_recorded_and_lease_released(void **state)
{
	struct env *e = *state;
	struct store_order o;
	struct cd_err err = { 0 };

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	/* a terminal state drops the lease, even one the step asked to keep */
	assert_int_equal(store_order_update(e->st,
					    &(struct store_order_update){
						.order_id = e->order_id,
						.owner = "a/b1/0",
						.from = ORDER_QUEUED,
						.to = ORDER_FAILED,
						.now = NOW,
						.next_run_at = NOW,
						.lease_expires = NOW + 5,
						.set_failure = true,
						.failure = "dns_not_pointing",
						.failure_detail = "example.jp points at 192.0.2.1",
						.revocation_pending = -1,
						.actor = "worker:a" },
					    &err),
			 0);
	assert_int_equal(store_order_get(e->st, e->order_id, &o, &err), 0);
	assert_int_equal(o.state, ORDER_FAILED);
	assert_string_equal(o.failure, "dns_not_pointing");
	assert_string_equal(o.lease_owner, "");
	assert_int_equal(claim(e, "a", "b1", 0, NOW + 1000, NULL), 0); /* terminal */
}

static void test_attempts(void **state)
{
	struct env *e = *state;
	struct store_attempt a = { .order_id = 0 }, b;
	struct cd_err err = { 0 };
	int64_t orphans = -1;

	a.order_id = e->order_id;
	a.attempt = 1;
	snprintf(a.ca, sizeof(a.ca), "g4");
	snprintf(a.key_secret_id, sizeof(a.key_secret_id), "order-key:1:1");
	snprintf(a.state, sizeof(a.state), "key_ready");
	a.created_at = NOW;
	assert_int_equal(store_attempt_create(e->st, &a, &err), 0);
	assert_int_equal(store_attempt_create(e->st, &a, &err), 0); /* repeated: no-op */
	a.ordering_at = NOW + 1;
	assert_int_equal(store_attempt_save(e->st, &a, &err), 0);
	snprintf(a.state, sizeof(a.state), "abandoned");
	assert_int_equal(store_attempt_save(e->st, &a, &err), 0);
	assert_int_equal(store_attempts_orphaned(e->st, &orphans, &err), 0);
	assert_int_equal(orphans, 1); /* newOrder sent, URL never recorded */
	snprintf(a.acme_order_url, sizeof(a.acme_order_url), "https://ca/order/1");
	assert_int_equal(store_attempt_save(e->st, &a, &err), 0);
	assert_int_equal(store_attempt_get(e->st, e->order_id, 1, &b, &err), 0);
	assert_string_equal(b.acme_order_url, "https://ca/order/1");
	assert_int_equal(b.ordering_at, NOW + 1);
	assert_int_equal(store_attempts_orphaned(e->st, &orphans, &err), 0);
	assert_int_equal(orphans, 0);
	assert_int_equal(store_attempt_get(e->st, e->order_id, 2, &b, &err), -CD_ENOTFOUND);
}

static void test_cancel_and_kick(void **state)
{
	struct env *e = *state;
	struct store_order o;
	struct cd_err err = { 0 };

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	assert_int_equal(store_order_cancel(e->st, e->order_id, "operator:t", NOW + 1, &err),
			 -CD_EBUSY);
	assert_int_equal(store_order_kick(e->st, e->order_id, "operator:t", NOW + LEASE + 1, &err),
			 0);
	assert_int_equal(
	    store_order_cancel(e->st, e->order_id, "operator:t", NOW + LEASE + 1, &err), 0);
	assert_int_equal(store_order_get(e->st, e->order_id, &o, &err), 0);
	assert_int_equal(o.state, ORDER_CANCELED);
	assert_int_equal(
	    store_order_cancel(e->st, e->order_id, "operator:t", NOW + LEASE + 2, &err),
	    -CD_ESTATE);
}

static void test_cancel_refused_after_finalize(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	static const enum order_state path[] = {
		ORDER_QUEUED,  ORDER_PREFLIGHT,	 ORDER_KEY_READY,
		ORDER_ORDERED, ORDER_VALIDATING, ORDER_FINALIZING
	};

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	for (size_t i = 0; i + 1 < sizeof(path) / sizeof(path[0]); i++)
		assert_int_equal(store_order_update(e->st,
						    &(struct store_order_update){
							.order_id = e->order_id,
							.owner = "a/b1/0",
							.from = path[i],
							.to = path[i + 1],
							.now = NOW,
							.lease_expires = i + 2 < 6 ? NOW + 5 : 0,
							.revocation_pending = -1,
							.actor = "worker:a" },
						    &err),
				 0);
	assert_int_equal(store_order_cancel(e->st, e->order_id, "operator:t", NOW + 10, &err),
			 -CD_ESTATE);
	assert_non_null(strstr(err.msg, "finalize"));
}

static void test_issuance_becomes_current(void **state)
{
	struct env *e = *state;
	struct store_issuance_row row;
	struct store_cert_view v;
	struct cd_err err = { 0 };
	int64_t id = 0, id2 = 0;
	struct store_issuance is = { .source = "acme",
				     .ca = "g4",
				     .issuer_dn = "CN=G4",
				     .issuer_der_hex = "3001",
				     .serial = "2b",
				     .sha256 = "bb",
				     .sans = "example.jp www.example.jp",
				     .chain_pem = "NEWPEM",
				     .key_secret_id = "order-key:1:1",
				     .not_before = NOW,
				     .not_after = NOW + 199 * 86400,
				     .order_id = 1 };

	assert_int_equal(store_issuance_add_issued(e->st, "c1", &is, NOW, &id, &err), 0);
	assert_int_equal(store_issuance_add_issued(e->st, "c1", &is, NOW, &id2, &err), 0);
	assert_int_equal(id, id2); /* a repeated step records it once */
	assert_int_equal(store_certificate_view(e->st, "c1", NOW, &v, &err), 0);
	assert_int_equal(v.current_issuance_id, id);
	assert_int_equal(store_issuance_get(e->st, id, &row, &err), 0);
	assert_string_equal(row.chain_pem, "NEWPEM");
	assert_string_equal(row.key_secret_id, "order-key:1:1");
	store_issuance_row_free(&row);
}

/* Moves the order held by a/b1/0 from one state to the next, keeping the lease. */
static void move(struct env *e, enum order_state from, enum order_state to, int64_t issuance)
{
	struct cd_err err = { 0 };

	assert_int_equal(
	    store_order_update(e->st,
			       &(struct store_order_update){
				   .order_id = e->order_id,
				   .owner = "a/b1/0",
				   .from = from,
				   .to = to,
				   .now = NOW,
				   .next_run_at = NOW,
				   .lease_expires = NOW + LEASE,
				   .new_issuance_id = issuance,
				   .set_failure = to == ORDER_FAILED,
				   .failure = to == ORDER_FAILED ? "install_failed" : NULL,
				   .failure_detail = to == ORDER_FAILED ? "bind() failed" : NULL,
				   .revocation_pending = -1,
				   .actor = "worker:a" },
			       &err),
	    0);
}

static int64_t add_issued(struct env *e, const char *sha256)
{
	struct cd_err err = { 0 };
	int64_t id = 0;
	struct store_issuance is = { .source = "acme",
				     .ca = "g4",
				     .issuer_dn = "CN=G4",
				     .issuer_der_hex = "3001",
				     .serial = "2b",
				     .sha256 = sha256,
				     .sans = "example.jp",
				     .chain_pem = "NEWPEM",
				     .not_before = NOW,
				     .not_after = NOW + 199 * 86400,
				     .order_id = e->order_id };

	assert_int_equal(store_issuance_add_issued(e->st, "c1", &is, NOW, &id, &err), 0);
	return id;
}

/* The order claimed, issued (a new current issuance) and then failed. */
static int64_t failed_after_issuance(struct env *e)
{
	static const enum order_state path[] = {
		ORDER_QUEUED,  ORDER_PREFLIGHT,	 ORDER_KEY_READY,
		ORDER_ORDERED, ORDER_VALIDATING, ORDER_FINALIZING
	};
	int64_t id;

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	for (size_t i = 0; i + 1 < sizeof(path) / sizeof(path[0]); i++)
		move(e, path[i], path[i + 1], 0);
	id = add_issued(e, "bb");
	move(e, ORDER_FINALIZING, ORDER_ISSUED, id);
	move(e, ORDER_ISSUED, ORDER_FAILED, 0);
	return id;
}

static int64_t current_of(struct env *e)
{
	struct store_cert_view v;
	struct cd_err err = { 0 };

	assert_int_equal(store_certificate_view(e->st, "c1", NOW, &v, &err), 0);
	return v.current_issuance_id;
}

static void test_resume_after_issuance(void **state)
{
	struct env *e = *state;
	struct store_order o;
	struct cd_err err = { 0 };
	int64_t old = current_of(e), id = failed_after_issuance(e);

	/* never live: the old certificate, back on the server, is current again */
	assert_int_not_equal(id, old);
	assert_int_equal(current_of(e), old);
	assert_int_equal(store_order_resume(e->st, e->order_id, "operator:t", NOW + 5, &err), 0);
	assert_int_equal(current_of(e), id);
	assert_int_equal(store_order_get(e->st, e->order_id, &o, &err), 0);
	assert_int_equal(o.state, ORDER_ISSUED);
	assert_int_equal(o.new_issuance_id, id); /* the same certificate, none new */
	assert_int_equal(o.next_run_at, NOW + 5);
	assert_int_equal(o.retries, 0);
	assert_string_equal(o.lease_owner, "");
	assert_int_equal(claim(e, "a", "b2", 0, NOW + 5, NULL), 1); /* a worker runs it */
	/* only from failed */
	assert_int_equal(store_order_resume(e->st, e->order_id, "operator:t", NOW + 6, &err),
			 -CD_ESTATE);
}

static void test_resume_refused_before_issuance(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };

	/* nothing was issued: a new order is the way, not a resume */
	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	move(e, ORDER_QUEUED, ORDER_FAILED, 0);
	assert_int_equal(store_order_resume(e->st, e->order_id, "operator:t", NOW, &err),
			 -CD_ESTATE);
}

/* The operator's Retry (CLI and /admin): resumed when the order holds its
 * certificate, a new order when it failed before, due now when still open. */
static void test_retry_picks_the_way(void **state)
{
	struct env *e = *state;
	struct store_order o;
	struct cd_err err = { 0 };
	enum store_retry_how how;
	int64_t id = failed_after_issuance(e), nid;

	assert_int_equal(store_order_retry(e->st, e->order_id, "operator:t", NOW, &how, &nid, &err),
			 0);
	assert_int_equal(how, STORE_RETRY_RESUMED);
	assert_int_equal(nid, 0);
	assert_int_equal(store_order_get(e->st, e->order_id, &o, &err), 0);
	assert_int_equal(o.state, ORDER_ISSUED);
	assert_int_equal(o.new_issuance_id, id);
	/* open again: a retry only makes it due now */
	assert_int_equal(
	    store_order_retry(e->st, e->order_id, "operator:t", NOW + 1, &how, &nid, &err), 0);
	assert_int_equal(how, STORE_RETRY_DUE_NOW);
}

static void test_retry_before_issuance_is_a_new_order(void **state)
{
	struct env *e = *state;
	struct store_order o;
	struct cd_err err = { 0 };
	enum store_retry_how how;
	int64_t nid;

	assert_int_equal(claim(e, "a", "b1", 0, NOW, NULL), 1);
	move(e, ORDER_QUEUED, ORDER_FAILED, 0);
	assert_int_equal(store_order_retry(e->st, e->order_id, "operator:t", NOW, &how, &nid, &err),
			 0);
	assert_int_equal(how, STORE_RETRY_NEW_ORDER);
	assert_true(nid > 0 && nid != e->order_id);
	assert_int_equal(store_order_get(e->st, nid, &o, &err), 0);
	assert_int_equal(o.state, ORDER_QUEUED);
	assert_string_equal(o.certificate_id, "c1");
}

static void test_resume_refused_after_a_later_order(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t later;
	bool created;

	failed_after_issuance(e);
	assert_int_equal(
	    store_order_create(e->st, "c1", 0, "operator:t", NULL, NOW, &later, &created, &err), 0);
	assert_int_equal(store_order_resume(e->st, e->order_id, "operator:t", NOW, &err),
			 -CD_ESTATE);
	assert_non_null(strstr(err.msg, "not the latest"));
	assert_int_equal(store_order_cancel(e->st, later, "operator:t", NOW, &err), 0);
	/* still refused: the later order, even canceled, came after it */
	assert_int_equal(store_order_resume(e->st, e->order_id, "operator:t", NOW, &err),
			 -CD_ESTATE);
}

/* Another certificate of member m1 with a queued order; returns the order. */
static int64_t add_order(struct env *e, const char *cert, const char *cn, const char *sha)
{
	struct cd_err err = { 0 };
	int64_t id = 0;
	bool created = false;
	int ch;

	assert_int_equal(store_certificate_import(
			     e->st,
			     &(struct store_certificate){ .certificate_id = cert,
							  .member_id = "m1",
							  .product = "jprs_dv_rs_1y",
							  .common_name = cn,
							  .term_start = "2026-01-01",
							  .term_end = "2027-12-31",
							  .term_end_at = NOW + 400 * 86400 },
			     &(struct store_issuance){ .source = "import",
						       .issuer_dn = "CN=G3",
						       .issuer_der_hex = "3000",
						       .serial = sha,
						       .sha256 = sha,
						       .sans = cn,
						       .chain_pem = "PEM",
						       .not_before = NOW - 86400,
						       .not_after = NOW + 300 * 86400 },
			     NOW, &ch, &err),
			 0);
	assert_int_equal(
	    store_order_create(e->st, cert, 0, "operator:t", NULL, NOW, &id, &created, &err), 0);
	assert_true(created);
	return id;
}

/* Starts the lowest queued order as a worker would: claimed at NOW, moved to
 * preflight, its lease given back, due again at NOW + 5. */
static int64_t start_one(struct env *e)
{
	struct cd_err err = { 0 };
	int64_t id = 0;

	assert_int_equal(claim_ids(e, "s", "b0", 0, NOW, 256, 1, &id, NULL), 1);
	assert_int_equal(store_order_update(e->st,
					    &(struct store_order_update){ .order_id = id,
									  .owner = "s/b0/0",
									  .from = ORDER_QUEUED,
									  .to = ORDER_PREFLIGHT,
									  .now = NOW,
									  .next_run_at = NOW + 5,
									  .lease_expires = 0,
									  .revocation_pending = -1,
									  .actor = "worker:s" },
					    &err),
			 0);
	return id;
}

struct in_flight_case {
	const char *name;
	int cap, max;	 /* [worker] max_in_flight, orders asked for */
	int started;	 /* how many of the 3 orders are past queued before the claim */
	int want;	 /* orders claimed */
	int want_states; /* of them, how many past queued (they come first) */
};

static struct in_flight_case in_flight_cases[] = {
	{ "in flight before queued, though due later", 256, 1, 1, 1, 1 },
	{ "under the cap: in flight first, then queued", 256, 4, 1, 3, 1 },
	{ "cap reached: only the one in flight", 1, 4, 1, 1, 1 },
	{ "cap 2, one in flight: one queued starts", 2, 4, 1, 2, 1 },
	{ "cap 2, none in flight: two queued start", 2, 4, 0, 2, 0 },
	{ "cap 1, two in flight: both resumed, none started", 1, 4, 2, 2, 2 },
	{ "cap 0: no cap", 0, 4, 0, 3, 0 },
};

static void test_claim_in_flight_first(void **state)
{
	const struct in_flight_case *c = *state;
	struct env *e = NULL;
	struct store_order o;
	struct cd_err err = { 0 };
	int64_t got[4];
	int n, past = 0;

	assert_int_equal(setup((void **)&e), 0);
	add_order(e, "c2", "two.example.jp", "bb");
	add_order(e, "c3", "three.example.jp", "cc");
	for (int i = 0; i < c->started; i++)
		start_one(e);
	n = claim_ids(e, "a", "b1", 0, NOW + 10, c->cap, c->max, got, NULL);
	if (n != c->want)
		fail_msg("case '%s': %d claimed, want %d", c->name, n, c->want);
	for (int i = 0; i < n; i++) {
		assert_int_equal(store_order_get(e->st, got[i], &o, &err), 0);
		if (o.state != ORDER_QUEUED) {
			if (i != past)
				fail_msg("case '%s': a queued order came before one in flight",
					 c->name);
			past++;
		}
	}
	if (past != c->want_states)
		fail_msg("case '%s': %d in flight claimed, want %d", c->name, past, c->want_states);
	assert_int_equal(teardown((void **)&e), 0);
}

static void test_order_being_started_counts(void **state)
{
	struct env *e = *state;
	int64_t id = 0, again = 0;

	add_order(e, "c2", "two.example.jp", "bb");
	/* cap 1: a queued order under a live lease is being started */
	assert_int_equal(claim_ids(e, "a", "b1", 0, NOW, 1, 1, &id, NULL), 1);
	assert_int_equal(claim_ids(e, "z", "b9", 0, NOW + 1, 1, 4, &again, NULL), 0);
	/* its lease ran out (its worker died): it no longer counts, and is retaken */
	assert_int_equal(claim_ids(e, "z", "b9", 0, NOW + LEASE + 1, 1, 4, &again, NULL), 1);
	assert_true(again == id);
}

struct backoff_case {
	const char *name;
	long base, cap;
	int retries;
	long retry_after;
	double r;
	long want_min, want_max;
};

static struct backoff_case backoffs[] = {
	{ "first retry, r=0: half the base", 1000, 60000, 1, 0, 0.0, 500, 500 },
	{ "first retry, r~1: the base", 1000, 60000, 1, 0, 0.999999, 999, 1000 },
	{ "third retry doubles twice", 1000, 60000, 3, 0, 0.999999, 3999, 4000 },
	{ "capped", 1000, 60000, 30, 0, 0.999999, 59999, 60000 },
	{ "capped, r=0: half the cap", 1000, 60000, 30, 0, 0.0, 30000, 30000 },
	{ "Retry-After later than the backoff wins", 1000, 60000, 1, 120, 0.5, 120000, 120000 },
	{ "Retry-After earlier than the backoff loses", 1000, 60000, 10, 2, 0.0, 30000, 30000 },
	{ "cap below base: the cap", 5000, 2000, 1, 0, 0.999999, 1999, 2000 },
};

static void test_backoff(void **state)
{
	const struct backoff_case *c = *state;
	long got = worker_backoff_ms(c->base, c->cap, c->retries, c->retry_after, c->r);

	if (got < c->want_min || got > c->want_max)
		fail_msg("case '%s': %ld not in [%ld, %ld]", c->name, got, c->want_min,
			 c->want_max);
}

/* Nodes claiming at the same moment, each on its own connection, never get
 * the same order (PostgreSQL: the claim locks its rows, FOR UPDATE SKIP
 * LOCKED; SQLite: one writer at a time). */
#define RACE_CERTS 24 /* besides c1 */
#define RACE_NODES 4

struct racer {
	const char *url;
	int node, n, failed;
	int64_t got[RACE_CERTS + 1];
};

static void *race_claims(void *arg)
{
	struct racer *r = arg;
	struct cd_err err = { 0 };
	char node[16], owner[48];
	store_t *st = NULL;
	int idle = 0;

	snprintf(node, sizeof(node), "n%d", r->node);
	snprintf(owner, sizeof(owner), "n%d/b/0", r->node);
	if (store_open(r->url, NULL, &st, &err)) {
		r->failed = 1;
		return NULL;
	}
	/* until nothing is left for a few claims in a row */
	while (idle < 3 && r->n < RACE_CERTS + 1) {
		int64_t ids[2];
		int n = 0, t = 0;

		if (store_orders_claim(st,
				       &(struct store_claim){ .node = node,
							      .boot = "b",
							      .owner = owner,
							      .now = NOW,
							      .lease_seconds = LEASE },
				       2, ids, &n, &t, &err)) {
			if (err.code == CD_EBUSY)
				continue;
			r->failed = 1;
			break;
		}
		idle = n ? 0 : idle + 1;
		for (int i = 0; i < n && r->n < RACE_CERTS + 1; i++)
			r->got[r->n++] = ids[i];
	}
	store_close(st);
	return NULL;
}

static void test_concurrent_claims_take_each_order_once(void **state)
{
	struct env *e = *state;
	struct racer r[RACE_NODES];
	pthread_t th[RACE_NODES];
	int64_t ids[RACE_CERTS + 1];
	struct cd_err err = { 0 };
	bool created;
	int ch;

	ids[0] = e->order_id;
	for (int i = 1; i <= RACE_CERTS; i++) {
		char cid[16], sha[16];

		snprintf(cid, sizeof(cid), "c%d", i + 1);
		snprintf(sha, sizeof(sha), "b%d", i);
		assert_int_equal(
		    store_certificate_import(
			e->st,
			&(struct store_certificate){ .certificate_id = cid,
						     .member_id = "m1",
						     .product = "jprs_dv_rs_1y",
						     .common_name = "example.jp",
						     .term_start = "2026-01-01",
						     .term_end = "2027-12-31",
						     .term_end_at = NOW + 400 * 86400 },
			&(struct store_issuance){ .source = "import",
						  .issuer_dn = "CN=G3",
						  .issuer_der_hex = "3000",
						  .serial = sha,
						  .sha256 = sha,
						  .sans = "example.jp",
						  .chain_pem = "PEM",
						  .not_before = NOW - 86400,
						  .not_after = NOW + 300 * 86400 },
			NOW, &ch, &err),
		    0);
		assert_int_equal(store_order_create(e->st, cid, 0, "operator:t", NULL, NOW, &ids[i],
						    &created, &err),
				 0);
	}
	for (int i = 0; i < RACE_NODES; i++) {
		r[i] = (struct racer){ .url = e->url, .node = i };
		assert_int_equal(pthread_create(&th[i], NULL, race_claims, &r[i]), 0);
	}
	for (int i = 0; i < RACE_NODES; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int k = 0; k <= RACE_CERTS; k++) {
		int times = 0;

		for (int i = 0; i < RACE_NODES; i++) {
			assert_false(r[i].failed);
			for (int j = 0; j < r[i].n; j++)
				times += r[i].got[j] == ids[k];
		}
		if (times != 1)
			fail_msg("order %lld was claimed %d times", (long long)ids[k], times);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	static struct CMUnitTest tests[16 + sizeof(backoffs) / sizeof(backoffs[0]) +
				       sizeof(in_flight_cases) / sizeof(in_flight_cases[0])];
	static const struct CMUnitTest fixed[] = {
		T(test_lease_excludes_others_until_expiry),
		T(test_restarted_node_takes_its_own_back),
		T(test_not_due_not_claimed),
		T(test_fenced_update),
		T(test_failure_recorded_and_lease_released),
		T(test_attempts),
		T(test_cancel_and_kick),
		T(test_cancel_refused_after_finalize),
		T(test_issuance_becomes_current),
		T(test_resume_after_issuance),
		T(test_resume_refused_before_issuance),
		T(test_resume_refused_after_a_later_order),
		T(test_retry_picks_the_way),
		T(test_retry_before_issuance_is_a_new_order),
		T(test_order_being_started_counts),
		T(test_concurrent_claims_take_each_order_once),
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < sizeof(backoffs) / sizeof(backoffs[0]); i++)
		tests[n++] =
		    (struct CMUnitTest){ backoffs[i].name, test_backoff, NULL, NULL, &backoffs[i] };
	for (size_t i = 0; i < sizeof(in_flight_cases) / sizeof(in_flight_cases[0]); i++)
		tests[n++] =
		    (struct CMUnitTest){ in_flight_cases[i].name, test_claim_in_flight_first, NULL,
					 NULL, &in_flight_cases[i] };
	return _cmocka_run_group_tests("work", tests, n, NULL, NULL);
}
