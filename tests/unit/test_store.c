/*
 * test_store.c - the store against a real SQLite file: migrations, upserts
 * that change nothing the second time, the one-open-order index (invariant 2),
 * idempotent requests, campaign targeting, the member view, and secrets
 * sealed, opened and re-sealed after a key rotation.
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
#include "util/secretbox.h"

#include "store_url.h"

#define NOW 1795000000 /* 2026-11-18 */

struct env {
	char dir[64];
	char url[128];
	store_t *st;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct cd_err err = { 0 };
	int applied;

	snprintf(e->dir, sizeof(e->dir), "/tmp/cd-store-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(test_store_url(e->dir, e->url, sizeof(e->url)), 0);
	assert_int_equal(store_open(e->url, NULL, &e->st, &err), 0);
	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	assert_true(applied >= 1);
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

static void test_migrate_twice_is_a_no_op(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int applied = -1, cur, latest;

	assert_int_equal(store_migrate(e->st, NOW, &applied, &err), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(store_schema_version(e->st, &cur, &latest, &err), 0);
	assert_int_equal(cur, latest);
	assert_int_equal(store_require_current(e->st, &err), 0);
}

static void test_upsert_same_row_changes_nothing(void **state)
{
	struct env *e = *state;
	struct store_member m = {
		.member_id = "m9", .email = "x@example.jp", .display_name = "X", .locale = "en"
	};
	struct cd_err err = { 0 };
	int ch = -1;

	assert_int_equal(store_member_upsert(e->st, &m, NOW, &ch, &err), 0);
	assert_int_equal(ch, 1);
	assert_int_equal(store_member_upsert(e->st, &m, NOW + 5, &ch, &err), 0);
	assert_int_equal(ch, 0);
	m.display_name = "Y";
	assert_int_equal(store_member_upsert(e->st, &m, NOW + 9, &ch, &err), 0);
	assert_int_equal(ch, 1);
}

static void test_second_open_order_is_refused(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t id1 = 0, id2 = 0;
	bool created;

	store_seed(e->st, NOW, "c1", "a.example.jp", "aa");
	assert_int_equal(
	    store_order_create(e->st, "c1", 0, "operator:t", NULL, NOW, &id1, &created, &err), 0);
	assert_true(created);
	assert_int_equal(
	    store_order_create(e->st, "c1", 0, "operator:t", NULL, NOW, &id2, &created, &err),
	    -CD_ECONFLICT);
	assert_false(created);
	assert_non_null(strstr(err.msg, "already has an open reissue order"));
}

/* Two connections (two nodes) racing: the index, not a read, decides. */
static void test_open_order_race_between_connections(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	store_t *other;
	int64_t id;
	bool created;
	int ok = 0, conflict = 0;

	store_seed(e->st, NOW, "c2", "b.example.jp", "bb");
	assert_int_equal(store_open(e->url, NULL, &other, &err), 0);
	store_t *conns[2] = { e->st, other };
	for (int i = 0; i < 2; i++) {
		int rc = store_order_create(conns[i], "c2", 0, "member:m1", NULL, NOW, &id,
					    &created, &err);
		if (rc == 0)
			ok++;
		else if (rc == -CD_ECONFLICT)
			conflict++;
	}
	store_close(other);
	assert_int_equal(ok, 1);
	assert_int_equal(conflict, 1);
}

static void test_replayed_request_returns_same_order(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t id1 = 0, id2 = 0;
	bool created;

	store_seed(e->st, NOW, "c3", "c.example.jp", "cc");
	assert_int_equal(
	    store_order_create(e->st, "c3", 0, "member:m1", "form-123", NOW, &id1, &created, &err),
	    0);
	assert_true(created);
	assert_int_equal(
	    store_order_create(e->st, "c3", 0, "member:m1", "form-123", NOW, &id2, &created, &err),
	    0);
	assert_false(created);
	assert_int_equal(id1, id2);
}

static int count_view(const struct store_cert_view *v, void *arg)
{
	struct eligibility el;

	eligibility_of(&v->facts, &el);
	((int *)arg)[el.status]++;
	return 0;
}

static void test_campaign_targets_and_view(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	struct store_campaign c = { 0 };
	const char *issuers[] = { "3000" };
	int by_status[CERT_STATUS_COUNT] = { 0 };
	int64_t id;
	bool created;

	store_seed(e->st, NOW, "c4", "d.example.jp", "dd");
	snprintf(c.name, sizeof(c.name), "g3");
	snprintf(c.criteria, sizeof(c.criteria), "{}");
	snprintf(c.deadline, sizeof(c.deadline), "2026-12-20");
	snprintf(c.created_by, sizeof(c.created_by), "operator:t");
	c.deadline_at = NOW + 30 * 86400;
	assert_int_equal(
	    store_campaign_create(e->st, &c,
				  &(struct store_campaign_filter){
				      .issuer_der_hex = issuers, .n_issuers = 1, .now = NOW },
				  &err),
	    0);
	assert_int_equal(c.targets, 1);
	assert_int_equal(store_member_certificates(e->st, "m1", NOW, count_view, by_status, &err),
			 0);
	assert_int_equal(by_status[CERT_STATUS_AVAILABLE], 1);

	/* an order makes it in progress */
	assert_int_equal(store_order_create(e->st, "c4", c.campaign_id, "member:m1", NULL, NOW, &id,
					    &created, &err),
			 0);
	memset(by_status, 0, sizeof(by_status));
	assert_int_equal(store_member_certificates(e->st, "m1", NOW, count_view, by_status, &err),
			 0);
	assert_int_equal(by_status[CERT_STATUS_IN_PROGRESS], 1);

	/* once the targeted issuance has expired, nothing is needed any more */
	struct store_cert_view v;
	assert_int_equal(store_certificate_view(e->st, "c4", NOW + 400 * 86400, &v, &err), 0);
	assert_int_equal(v.facts.n_targets, 0);

	/* a campaign name is unique */
	assert_int_equal(
	    store_campaign_create(e->st, &c, &(struct store_campaign_filter){ .now = NOW }, &err),
	    -CD_ECONFLICT);
}

static void test_secrets_sealed_and_resealed(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	char keyfile[128], *sealed = NULL;
	secretbox_t *box = NULL, *box2 = NULL;
	unsigned char *pt = NULL;
	size_t len = 0;
	int kid, n = -1;
	static const unsigned char secret[] = "-----BEGIN PRIVATE KEY-----test";

	snprintf(keyfile, sizeof(keyfile), "%s/master.key", e->dir);
	assert_int_equal(secretbox_create_file(keyfile, &err), 0);
	assert_int_equal(secretbox_load(keyfile, &box, &err), 0);
	assert_int_equal(store_secret_seal(e->st, box, "issuance:1:key", "private_key", secret,
					   sizeof(secret), NOW, &err),
			 0);
	/* at rest it is not the plaintext */
	assert_int_equal(store_secret_get(e->st, "issuance:1:key", &sealed, &kid, &err), 0);
	assert_null(strstr(sealed, "PRIVATE"));
	free(sealed);
	assert_int_equal(store_secret_unseal(e->st, box, "issuance:1:key", &pt, &len, &err), 0);
	assert_int_equal(len, sizeof(secret));
	assert_memory_equal(pt, secret, len);
	secretbox_free_plain(pt, len);

	/* rotate: new key in the file, re-seal, old key dropped, still opens */
	assert_int_equal(secretbox_rotate_file(keyfile, &err), 0);
	assert_int_equal(secretbox_load(keyfile, &box2, &err), 0);
	assert_int_equal(store_secrets_reseal(e->st, box2, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(secretbox_drop_old(keyfile, secretbox_active_kid(box2), &err), 0);
	secretbox_free(box2);
	box2 = NULL;
	assert_int_equal(secretbox_load(keyfile, &box2, &err), 0);
	assert_int_equal(store_secret_unseal(e->st, box2, "issuance:1:key", &pt, &len, &err), 0);
	assert_memory_equal(pt, secret, len);
	secretbox_free_plain(pt, len);
	/* the old key alone no longer opens it */
	assert_int_equal(store_secret_unseal(e->st, box, "issuance:1:key", &pt, &len, &err),
			 -CD_ECRYPTO);
	secretbox_free(box);
	secretbox_free(box2);
}

static int count_events(const struct store_event *ev, void *arg)
{
	if (strcmp(ev->kind, "order.transition") == 0 && strcmp(ev->to_state, "queued") == 0)
		(*(int *)arg)++;
	return 0;
}

static void test_order_creation_is_an_event(void **state)
{
	struct env *e = *state;
	struct cd_err err = { 0 };
	int64_t id;
	bool created;
	int n = 0;

	store_seed(e->st, NOW, "c5", "e.example.jp", "ee");
	assert_int_equal(
	    store_order_create(e->st, "c5", 0, "operator:t", NULL, NOW, &id, &created, &err), 0);
	assert_int_equal(store_events_each(e->st, "c5", 0, count_events, &n, &err), 0);
	assert_int_equal(n, 1);
}

static void test_bad_url_is_a_clear_error(void **state)
{
	struct cd_err err = { 0 };
	store_t *st = NULL;

	(void)state;
	assert_int_equal(store_open("mysql://x", NULL, &st, &err), -CD_ECONFIG);
	assert_non_null(strstr(err.msg, "not understood"));
	assert_int_equal(store_open("sqlite:", NULL, &st, &err), -CD_ECONFIG);
}

/* A writer that finds a row locked by another connection's transaction waits
 * [store] busy_timeout_ms, then gets a retryable busy error (SQLite: the
 * database lock; PostgreSQL: the row lock, lock_timeout); once the other
 * commits, the same write goes through. */
static void test_locked_write_is_busy_then_goes_through(void **state)
{
	struct env *e = *state;
	struct store_options quick = { .busy_timeout_ms = 200 };
	struct store_member m = {
		.member_id = "m8", .email = "x@example.jp", .display_name = "X", .locale = "en"
	};
	struct cd_err err = { 0 };
	store_t *other = NULL;
	int ch;

	assert_int_equal(store_member_upsert(e->st, &m, NOW, &ch, &err), 0);
	assert_int_equal(store_open(e->url, &quick, &other, &err), 0);
	assert_int_equal(store_begin(e->st, &err), 0);
	m.display_name = "Y";
	assert_int_equal(store_member_upsert(e->st, &m, NOW + 1, &ch, &err), 0);
	m.display_name = "Z";
	assert_int_equal(store_member_upsert(other, &m, NOW + 2, &ch, &err), -CD_EBUSY);
	assert_true(err.retryable);
	assert_int_equal(store_commit(e->st, &err), 0);
	assert_int_equal(store_member_upsert(other, &m, NOW + 3, &ch, &err), 0);
	assert_int_equal(ch, 1);
	store_close(other);
}

/* A password in a PostgreSQL URL is in no message (no server listens on
 * port 1: the connection is refused). */
static void test_pg_password_is_never_shown(void **state)
{
	struct cd_err err = { 0 };
	store_t *st = NULL;
	char shown[128];

	(void)state;
	assert_int_equal(
	    store_open("postgresql://certdesk:Sekr1t-pw@127.0.0.1:1/certdesk", NULL, &st, &err),
	    -CD_EDB);
	assert_true(err.retryable);
	assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL"));
	assert_null(strstr(err.msg, "Sekr1t-pw"));
	store_url_redact("postgresql://certdesk:Sekr1t-pw@db.example.jp:5432/cd?sslmode=require",
			 shown, sizeof(shown));
	assert_string_equal(shown,
			    "postgresql://certdesk:***@db.example.jp:5432/cd?sslmode=require");
	store_url_redact("postgresql://db.example.jp/cd?user=u&password=Sekr1t-pw", shown,
			 sizeof(shown));
	assert_null(strstr(shown, "Sekr1t-pw"));
	store_url_redact("postgresql://u@db.example.jp/cd", shown, sizeof(shown));
	assert_string_equal(shown, "postgresql://u@db.example.jp/cd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_twice_is_a_no_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upsert_same_row_changes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_open_order_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_order_race_between_connections, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replayed_request_returns_same_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_campaign_targets_and_view, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_sealed_and_resealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_creation_is_an_event, setup, teardown),
		cmocka_unit_test(test_bad_url_is_a_clear_error),
		cmocka_unit_test_setup_teardown(test_locked_write_is_busy_then_goes_through, setup,
						teardown),
		cmocka_unit_test(test_pg_password_is_never_shown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
