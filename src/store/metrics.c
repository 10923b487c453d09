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

#include "core/product.h"
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

/* --- campaign progress ------------------------------------------------------------
 * The facts eligibility_of() decides on, gathered as view.c gathers them for
 * one certificate (its site is the one named like the common name, or else
 * its www-pair; what the server has installed for the name; a pending
 * setting; the last order), but grouped: the rows are the distinct
 * combinations of facts with their count, so the rule runs once per group
 * in C and is never restated in SQL. */
static const char SQL_PROGRESS[] =
    "SELECT campaign_id, name, deadline_at, product, reissued, last_state, last_failure, "
    "last_retryable, site_state, server_state, installed, pending_setting, COUNT(*) FROM ("
    "SELECT t.campaign_id, cp.name, cp.deadline_at, c.product, "
    "CASE WHEN t.issuance_id <> COALESCE(c.current_issuance_id, 0) THEN 1 ELSE 0 END "
    "  AS reissued, "
    "lo.state AS last_state, lo.failure AS last_failure, "
    "COALESCE(lo.failure_retryable, 0) AS last_retryable, "
    "COALESCE(s1.state, s2.state) AS site_state, sv.state AS server_state, "
    "(SELECT CASE WHEN EXISTS (SELECT 1 FROM issuances j WHERE j.certificate_id = "
    "  c.certificate_id AND j.sha256 = ins.sha256) THEN 1 ELSE 2 END FROM installed ins "
    "  WHERE ins.server = COALESCE(s1.server, s2.server) AND ins.name = c.common_name) "
    "  AS installed, "
    "CASE WHEN EXISTS (SELECT 1 FROM ssl_settings x WHERE x.common_name = c.common_name "
    "  AND (COALESCE(s1.fqdn, s2.fqdn) IS NULL OR x.fqdn = COALESCE(s1.fqdn, s2.fqdn))) "
    "  THEN 1 ELSE 0 END AS pending_setting "
    "FROM campaign_targets t "
    "JOIN campaigns cp ON cp.campaign_id = t.campaign_id "
    "JOIN issuances it ON it.issuance_id = t.issuance_id "
    "JOIN certificates c ON c.certificate_id = t.certificate_id "
    "LEFT JOIN orders lo ON lo.order_id = (SELECT MAX(o.order_id) FROM orders o "
    "  WHERE o.certificate_id = c.certificate_id) "
    "LEFT JOIN sites s1 ON s1.fqdn = c.common_name "
    "LEFT JOIN sites s2 ON s1.fqdn IS NULL AND s2.fqdn = (CASE WHEN c.common_name LIKE 'www.%' "
    "  THEN substr(c.common_name, 5) ELSE 'www.' || c.common_name END) "
    "LEFT JOIN servers sv ON sv.server = COALESCE(s1.server, s2.server) "
    "WHERE cp.state = 'active' AND it.not_after > $1) facts "
    "GROUP BY campaign_id, name, deadline_at, product, reissued, last_state, last_failure, "
    "last_retryable, site_state, server_state, installed, pending_setting "
    "ORDER BY campaign_id";

/* One group of targets sharing their facts: the status the rule gives them. */
static void progress_add(store_t *st, struct db_stmt *s, struct store_campaign_progress *p)
{
	const struct db_driver *d = st->db->drv;
	const struct product *prod = product_find(d->col_text(s, 3));
	int64_t n = d->col_int64(s, 12);
	struct campaign_target target = { .campaign_id = p->campaign_id,
					  .deadline = p->deadline_at,
					  .reissued = d->col_int64(s, 4) != 0 };
	struct cert_facts f = { .family = prod ? prod->family : PRODUCT_RS,
				.targets = &target,
				.n_targets = 1 };
	struct eligibility e;
	enum order_state last;
	const char *v;

	if (!d->col_null(s, 5) && order_state_parse(d->col_text(s, 5), &last, NULL) == 0) {
		if (order_state_is_open(last)) {
			f.open_order = true;
			f.open_state = last;
		} else if (last == ORDER_FAILED) {
			v = d->col_text(s, 6);
			if (!v || failure_code_parse(v, &f.last_failure, NULL) != 0)
				f.last_failure = FAILURE_INTERNAL;
			f.last_failure_retryable = d->col_int64(s, 7) != 0;
		}
	}
	f.site_known = !d->col_null(s, 8);
	if (f.site_known && site_state_parse(d->col_text(s, 8), &f.site_state, NULL) != 0)
		f.site_state = SITE_DELETED;
	f.server_known = !d->col_null(s, 9);
	if (f.server_known && server_state_parse(d->col_text(s, 9), &f.server_state, NULL) != 0)
		f.server_state = SERVER_BROKEN;
	f.installed = d->col_null(s, 10)	 ? INSTALLED_NONE
		      : d->col_int64(s, 10) == 1 ? INSTALLED_THIS
						 : INSTALLED_FOREIGN;
	f.pending_setting = d->col_int64(s, 11) != 0;
	eligibility_of(&f, &e);
	p->affected += n;
	if (target.reissued)
		p->reissued += n;
	p->by_status[e.status] += n;
}

int store_campaign_progress_each(store_t *st, int64_t now,
				 int (*fn)(const struct store_campaign_progress *p, void *arg),
				 void *arg, struct cd_err *err)
{
	struct store_campaign_progress *all = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_PROGRESS, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "i", now); rc == 1; rc = db_next(st->db, s, err)) {
		int64_t id = st->db->drv->col_int64(s, 0);

		if (n == 0 || all[n - 1].campaign_id != id) {
			if (n == cap) {
				struct store_campaign_progress *na;

				cap = cap ? cap * 2 : 8;
				na = realloc(all, cap * sizeof(*all));
				if (!na) {
					rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
					break;
				}
				all = na;
			}
			memset(&all[n], 0, sizeof(all[n]));
			all[n].campaign_id = id;
			db_col_copy(st->db, s, 1, all[n].name, sizeof(all[n].name));
			all[n].deadline_at = st->db->drv->col_int64(s, 2);
			n++;
		}
		progress_add(st, s, &all[n - 1]);
	}
	st->db->drv->reset(s);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = fn(&all[i], arg);
	free(all);
	return rc < 0 ? rc : 0;
}
