/*
 * metrics.c - what /metrics reads from the store, and the counters several
 * certdesk processes add to. Every read is one SQL aggregate (a GROUP BY or a
 * row of SUMs), so a scrape costs the same few statements at 30 orders or
 * 300,000; nothing here walks the orders in C.
 *
 * Time per stage is recorded when an order leaves a state (store_event_add
 * calls store_stage_record in the transition's transaction): the time since
 * the order's previous state change goes into a bucket of stage_seconds.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

const int64_t store_stage_bounds[STORE_STAGE_BUCKETS] = { 1,   5,   15,	  30,	60,    120,
							  300, 900, 1800, 3600, 21600, 86400 };

/* --- counters ---------------------------------------------------------------- */

static const char SQL_COUNTER_ADD[] =
    "INSERT INTO metric_counters (name, label, value) VALUES ($1, $2, $3) "
    "ON CONFLICT (name, label) DO UPDATE SET value = metric_counters.value + excluded.value";

int store_metric_add(store_t *st, const char *name, const char *label, int64_t delta,
		     struct cd_err *err)
{
	if (delta == 0)
		return 0;
	return RUN(st, SQL_COUNTER_ADD, NULL, err, "tti", name, label ? label : "", delta);
}

static const char SQL_COUNTERS[] =
    "SELECT name, label, value FROM metric_counters ORDER BY name, label";

int store_metric_counters_each(store_t *st,
			       int (*fn)(const char *name, const char *label, int64_t value,
					 void *arg),
			       void *arg, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_COUNTERS, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		rc = fn(d->col_text(s, 0), d->col_text(s, 1), d->col_int64(s, 2), arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

/* --- time per stage --------------------------------------------------------- */

/* The order's previous state change: its creation or its last transition.
 * Events that keep the state (a retry, a kick) do not end a stage. */
static const char SQL_LAST_CHANGE[] =
    "SELECT MAX(at) FROM events WHERE order_id = $1 AND to_state IS NOT NULL "
    "AND (from_state IS NULL OR from_state <> to_state)";
static const char SQL_STAGE_ADD[] =
    "INSERT INTO stage_seconds (state, bucket, count, sum_seconds) VALUES ($1, $2, 1, $3) "
    "ON CONFLICT (state, bucket) DO UPDATE SET count = stage_seconds.count + 1, "
    "sum_seconds = stage_seconds.sum_seconds + excluded.sum_seconds";

int store_stage_record(store_t *st, const struct store_event *e, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int64_t since = -1, secs;
	int rc, bucket = 0;

	if (!e->order_id || !e->from_state || !e->to_state ||
	    strcmp(e->from_state, e->to_state) == 0)
		return 0;
	rc = db_stmt(st->db, SQL_LAST_CHANGE, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "i", e->order_id);
	if (rc == 1 && !d->col_null(s, 0))
		since = d->col_int64(s, 0);
	d->reset(s);
	if (rc < 0)
		return rc;
	if (since < 0)
		return 0; /* no earlier change recorded: nothing to measure */
	secs = e->at > since ? e->at - since : 0;
	while (bucket < STORE_STAGE_BUCKETS && secs > store_stage_bounds[bucket])
		bucket++;
	return RUN(st, SQL_STAGE_ADD, NULL, err, "tii", e->from_state, (int64_t)bucket, secs);
}

static const char SQL_STAGES[] =
    "SELECT state, bucket, count, sum_seconds FROM stage_seconds ORDER BY state, bucket";

int store_stage_seconds_each(store_t *st,
			     int (*fn)(const char *state, int bucket, int64_t count,
				       int64_t sum_seconds, void *arg),
			     void *arg, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_STAGES, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		int64_t b = d->col_int64(s, 1);

		if (b < 0 || b > STORE_STAGE_BUCKETS)
			b = STORE_STAGE_BUCKETS;
		rc = fn(d->col_text(s, 0), (int)b, d->col_int64(s, 2), d->col_int64(s, 3), arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

/* --- orders and mail ------------------------------------------------------------ */

static const char SQL_BY_STATE[] =
    "SELECT state, COUNT(*) FROM orders GROUP BY state ORDER BY state";

int store_orders_by_state(store_t *st, int (*fn)(const char *state, int64_t n, void *arg),
			  void *arg, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_BY_STATE, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		rc = fn(d->col_text(s, 0), d->col_int64(s, 1), arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_FAILED_BY_CODE[] =
    "SELECT COALESCE(failure, 'internal'), COALESCE(failure_retryable, 0), COUNT(*) "
    "FROM orders WHERE state = 'failed' GROUP BY 1, 2 ORDER BY 1, 2";

int store_orders_failed_by_code(store_t *st,
				int (*fn)(const char *failure, bool retryable, int64_t n,
					  void *arg),
				void *arg, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_FAILED_BY_CODE, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		rc = fn(d->col_text(s, 0), d->col_int64(s, 1) != 0, d->col_int64(s, 2), arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_OUTBOX_DEPTH[] =
    "SELECT "
    "COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 "
    "  THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL AND lease_expires >= $1 "
    "  THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
    "COALESCE(MIN(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN created_at END), 0) "
    "FROM outbox";

int store_outbox_depth(store_t *st, int64_t now, struct store_outbox_depth *out, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_OUTBOX_DEPTH, &s, err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "i", now);
	if (rc == 1) {
		out->pending = d->col_int64(s, 0);
		out->due = d->col_int64(s, 1);
		out->leased = d->col_int64(s, 2);
		out->failed = d->col_int64(s, 3);
		out->sent = d->col_int64(s, 4);
		out->oldest_pending_at = d->col_int64(s, 5);
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}
