/*
 * bulk.c - the operator's bulk reissue of a campaign (its pace, pauses, the
 * schedule of its queued orders, what its report reads) and the CA's newOrder
 * limit that every worker process honours together.
 *
 * The limit is a sliding window kept in ca_order_slots. A worker takes a slot
 * right before it sends newOrder and marks it done when the answer (or an
 * error) came back; the request reached the CA somewhere between the two, so
 * a slot counts against the window until done + window (or, while it has no
 * done time, until granted + hold: a worker that died mid-request). Taking a
 * slot first updates the CA's row in ca_order_gates, which serializes every
 * taker of that CA (SQLite's write lock, PostgreSQL's row lock): several
 * processes together never exceed the limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

#define COPY(dst, col) db_col_copy(st->db, s, (col), (dst), sizeof(dst))

/* --- pace and pauses ----------------------------------------------------------- */

static const char SQL_BULK_GET[] =
    "SELECT rate_per_hour, started_at, resumed_at FROM campaign_bulk WHERE campaign_id = $1";
static const char SQL_PAUSE_GET[] =
    "SELECT campaign_id, paused_by, paused_at FROM campaign_pauses "
    "WHERE campaign_id = 0 OR campaign_id = $1 ORDER BY campaign_id";

int store_bulk_get(store_t *st, int64_t campaign_id, struct store_bulk *out, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	out->campaign_id = campaign_id;
	rc = db_stmt(st->db, SQL_BULK_GET, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "i", campaign_id);
	if (rc == 1) {
		out->rate_per_hour = d->col_int64(s, 0);
		out->started_at = d->col_int64(s, 1);
		out->resumed_at = d->col_int64(s, 2);
	}
	d->reset(s);
	if (rc < 0)
		return rc;
	rc = db_stmt(st->db, SQL_PAUSE_GET, &s, err);
	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "i", campaign_id); rc == 1; rc = db_next(st->db, s, err)) {
		if (d->col_int64(s, 0) == 0) {
			out->paused_all = true;
			COPY(out->paused_all_by, 1);
			out->paused_all_at = d->col_int64(s, 2);
		} else {
			out->paused = true;
			COPY(out->paused_by, 1);
			out->paused_at = d->col_int64(s, 2);
		}
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_BULK_START[] =
    "INSERT INTO campaign_bulk (campaign_id, rate_per_hour, started_at, resumed_at, updated_by) "
    "VALUES ($1, $2, $3, $3, $4) ON CONFLICT (campaign_id) DO UPDATE SET "
    "rate_per_hour = excluded.rate_per_hour, resumed_at = excluded.resumed_at, "
    "updated_by = excluded.updated_by";

int store_bulk_set(store_t *st, int64_t campaign_id, int64_t rate_per_hour, int64_t now,
		   const char *actor, struct cd_err *err)
{
	return RUN(st, SQL_BULK_START, NULL, err, "iiit", campaign_id, rate_per_hour, now, actor);
}

static const char SQL_PAUSE[] =
    "INSERT INTO campaign_pauses (campaign_id, paused_by, paused_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (campaign_id) DO NOTHING";
static const char SQL_RESUME[] = "DELETE FROM campaign_pauses WHERE campaign_id = $1";

int store_bulk_pause(store_t *st, int64_t campaign_id, const char *actor, int64_t now,
		     bool *changed, struct cd_err *err)
{
	int ch = 0, rc = RUN(st, SQL_PAUSE, &ch, err, "iti", campaign_id, actor, now);

	*changed = ch != 0;
	return rc;
}

int store_bulk_resume(store_t *st, int64_t campaign_id, bool *changed, struct cd_err *err)
{
	int ch = 0, rc = RUN(st, SQL_RESUME, &ch, err, "i", campaign_id);

	*changed = ch != 0;
	return rc;
}

static const char SQL_BULK_CAMPAIGNS[] =
    "SELECT campaign_id, rate_per_hour FROM campaign_bulk WHERE campaign_id NOT IN "
    "(SELECT campaign_id FROM campaign_pauses) ORDER BY campaign_id";

int store_bulk_campaigns_each(store_t *st, int (*fn)(int64_t campaign_id, int64_t rate, void *arg),
			      void *arg, struct cd_err *err)
{
	struct db_stmt *s;
	int64_t *rows = NULL; /* pairs: id, rate */
	size_t n = 0, cap = 0;
	int rc = db_stmt(st->db, SQL_BULK_CAMPAIGNS, &s, err);

	if (rc)
		return rc;
	/* collected first: fn writes, and a statement must not stay open across */
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		if (n == cap) {
			int64_t *nr;

			cap = cap ? cap * 2 : 16;
			nr = realloc(rows, 2 * cap * sizeof(*rows));
			if (!nr) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			rows = nr;
		}
		rows[2 * n] = st->db->drv->col_int64(s, 0);
		rows[2 * n + 1] = st->db->drv->col_int64(s, 1);
		n++;
	}
	st->db->drv->reset(s);
	for (size_t i = 0; !rc && i < n; i++)
		rc = fn(rows[2 * i], rows[2 * i + 1], arg);
	free(rows);
	return rc < 0 ? rc : 0;
}

/* --- the schedule of queued orders ---------------------------------------------- */

static const char SQL_QUEUED[] =
    "SELECT order_id, certificate_id, next_run_at FROM orders WHERE campaign_id = $1 "
    "AND state = 'queued' ORDER BY next_run_at, order_id";

int store_bulk_queued_each(store_t *st, int64_t campaign_id,
			   int (*fn)(int64_t order_id, const char *certificate_id,
				     int64_t next_run_at, void *arg),
			   void *arg, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_QUEUED, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "i", campaign_id); rc == 1; rc = db_next(st->db, s, err)) {
		const char *cid = d->col_text(s, 1);

		rc = fn(d->col_int64(s, 0), cid ? cid : "", d->col_int64(s, 2), arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_SCHEDULE[] =
    "UPDATE orders SET next_run_at = $2 WHERE order_id = $1 AND state = 'queued'";

int store_bulk_schedule(store_t *st, int64_t order_id, int64_t next_run_at, struct cd_err *err)
{
	return RUN(st, SQL_SCHEDULE, NULL, err, "ii", order_id, next_run_at);
}

static const char SQL_LAST_DUE[] =
    "SELECT COALESCE(MAX(next_run_at), 0) FROM orders WHERE campaign_id = $1 AND state = 'queued'";

int store_bulk_last_due(store_t *st, int64_t campaign_id, int64_t *at, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_LAST_DUE, &s, err);

	if (rc)
		return rc;
	*at = 0;
	rc = db_run(st->db, s, err, "i", campaign_id);
	if (rc == 1)
		*at = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

/* --- what the report reads -------------------------------------------------------- */

/* An order's updated_at is the time of its last transition; done is terminal. */
static const char SQL_DONE_SINCE[] =
    "SELECT COUNT(*), COALESCE(MIN(updated_at), 0), COALESCE(MAX(updated_at), 0) FROM orders "
    "WHERE campaign_id = $1 AND state = 'done' AND updated_at > $2";

int store_bulk_done_since(store_t *st, int64_t campaign_id, int64_t since, int64_t *n,
			  int64_t *first_at, int64_t *last_at, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_DONE_SINCE, &s, err);

	if (rc)
		return rc;
	*n = *first_at = *last_at = 0;
	rc = db_run(st->db, s, err, "ii", campaign_id, since);
	if (rc == 1) {
		*n = st->db->drv->col_int64(s, 0);
		*first_at = st->db->drv->col_int64(s, 1);
		*last_at = st->db->drv->col_int64(s, 2);
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

/* Each certificate's latest order of the campaign, when it failed. */
static const char SQL_FAILURES[] =
    "SELECT COALESCE(o.failure, 'unknown'), COUNT(*) FROM orders o WHERE o.campaign_id = $1 "
    "AND o.state = 'failed' AND o.order_id = (SELECT MAX(o2.order_id) FROM orders o2 "
    "WHERE o2.certificate_id = o.certificate_id AND o2.campaign_id = $1) "
    "GROUP BY COALESCE(o.failure, 'unknown') ORDER BY 2 DESC, 1";

int store_bulk_failures_each(store_t *st, int64_t campaign_id,
			     int (*fn)(const char *code, int64_t n, void *arg), void *arg,
			     struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_FAILURES, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "i", campaign_id); rc == 1; rc = db_next(st->db, s, err)) {
		const char *code = d->col_text(s, 0);

		rc = fn(code ? code : "unknown", d->col_int64(s, 1), arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

/* Open orders by their last change, oldest first; a queued order not due yet
 * is waiting for its turn in the pace, not stuck. */
static const char SQL_STUCK[] =
    "SELECT order_id, certificate_id, state, updated_at, next_run_at, retries, "
    "COALESCE(failure, ''), COALESCE(failure_detail, '') FROM orders WHERE campaign_id = $1 "
    "AND state NOT IN ('done', 'failed', 'canceled') "
    "AND NOT (state = 'queued' AND next_run_at > $2) ORDER BY updated_at, order_id LIMIT $3";

int store_bulk_stuck_each(store_t *st, int64_t campaign_id, int64_t now, int limit,
			  int (*fn)(const struct store_bulk_stuck *o, void *arg), void *arg,
			  struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_STUCK, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "iii", campaign_id, now, (int64_t)limit); rc == 1;
	     rc = db_next(st->db, s, err)) {
		struct store_bulk_stuck o = { 0 };

		o.order_id = d->col_int64(s, 0);
		COPY(o.certificate_id, 1);
		COPY(o.state, 2);
		o.updated_at = d->col_int64(s, 3);
		o.next_run_at = d->col_int64(s, 4);
		o.retries = (int)d->col_int64(s, 5);
		COPY(o.failure, 6);
		COPY(o.failure_detail, 7);
		rc = fn(&o, arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

/* --- the CA's newOrder limit ----------------------------------------------------- */

static const char SQL_GATE[] = "INSERT INTO ca_order_gates (ca, touched_ms) VALUES ($1, $2) "
			       "ON CONFLICT (ca) DO UPDATE SET touched_ms = excluded.touched_ms";
/* $2 = now - window, $3 = hold: the slots still counting, and the earliest
 * end among those whose answer came back */
static const char SQL_SLOTS_COUNTING[] =
    "SELECT COUNT(*), MIN(done_ms) FROM ca_order_slots WHERE ca = $1 "
    "AND COALESCE(done_ms, granted_ms + $3) > $2";
static const char SQL_SLOTS_PRUNE[] =
    "DELETE FROM ca_order_slots WHERE ca = $1 AND COALESCE(done_ms, granted_ms + $3) <= $2";
static const char SQL_SLOT_INSERT[] =
    "INSERT INTO ca_order_slots (ca, order_id, granted_ms) VALUES ($1, $2, $3) RETURNING slot_id";
static const char SQL_SLOT_DONE[] =
    "UPDATE ca_order_slots SET done_ms = $2 WHERE slot_id = $1 AND done_ms IS NULL";

int store_ca_slot_take(store_t *st, const char *ca, int64_t order_id, int64_t now_ms, long limit,
		       int64_t window_ms, int64_t hold_ms, int64_t *slot_id, int64_t *wait_ms,
		       struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int64_t counting = 0, earliest_done = 0;
	bool have_done = false;
	int rc;

	*slot_id = 0;
	*wait_ms = 0;
	rc = store_begin(st, err);
	if (rc)
		return rc;
	rc = RUN(st, SQL_GATE, NULL, err, "ti", ca, now_ms);
	if (!rc)
		rc = RUN(st, SQL_SLOTS_PRUNE, NULL, err, "tii", ca, now_ms - window_ms, hold_ms);
	if (rc)
		goto fail;
	rc = db_stmt(st->db, SQL_SLOTS_COUNTING, &s, err);
	if (rc)
		goto fail;
	rc = db_run(st->db, s, err, "tii", ca, now_ms - window_ms, hold_ms);
	if (rc == 1) {
		counting = d->col_int64(s, 0);
		have_done = !d->col_null(s, 1);
		earliest_done = d->col_int64(s, 1);
	}
	d->reset(s);
	if (rc < 0)
		goto fail;
	if (counting >= limit) {
		/* full: due again when the earliest answered slot leaves the
		 * window; with every slot still in flight, soon (they end) */
		*wait_ms = have_done ? earliest_done + window_ms - now_ms : 1000;
		if (*wait_ms < 100)
			*wait_ms = 100;
		if (*wait_ms > window_ms)
			*wait_ms = window_ms;
		return store_commit(st, err);
	}
	rc = db_stmt(st->db, SQL_SLOT_INSERT, &s, err);
	if (rc)
		goto fail;
	rc = db_run(st->db, s, err, "tii", ca, order_id, now_ms);
	if (rc == 1)
		*slot_id = d->col_int64(s, 0);
	d->reset(s);
	if (rc != 1) {
		if (rc >= 0)
			rc =
			    cd_err_set(err, CD_EINTERNAL, false, "store: no slot id for CA %s", ca);
		goto fail;
	}
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

int store_ca_slot_done(store_t *st, int64_t slot_id, int64_t now_ms, struct cd_err *err)
{
	return RUN(st, SQL_SLOT_DONE, NULL, err, "ii", slot_id, now_ms);
}
