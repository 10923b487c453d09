/*
 * orders.c - creating reissue orders and recording events.
 *
 * The one-open-order rule is the unique partial index orders_one_open, not a
 * read-then-write check: two concurrent requests cannot both insert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"
#include "store/store_priv.h"

static const char SQL_EVENT_INSERT[] =
    "INSERT INTO events (at, actor, kind, order_id, certificate_id, campaign_id, from_state, "
    "to_state, detail, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

int store_event_add(store_t *st, const struct store_event *e, struct cd_err *err)
{
	const char *source = e->source ? e->source : st->source[0] ? st->source : NULL;
	struct db_stmt *s;
	int rc = store_stage_record(st, e, err);

	if (!rc)
		rc = db_stmt(st->db, SQL_EVENT_INSERT, &s, err);
	if (rc)
		return rc;
	rc = st->db->drv->bind_int64(s, 1, e->at, err);
	if (!rc)
		rc = st->db->drv->bind_text(s, 2, e->actor, err);
	if (!rc)
		rc = st->db->drv->bind_text(s, 3, e->kind, err);
	if (!rc)
		rc = e->order_id ? st->db->drv->bind_int64(s, 4, e->order_id, err)
				 : st->db->drv->bind_null(s, 4, err);
	if (!rc)
		rc = e->certificate_id ? st->db->drv->bind_text(s, 5, e->certificate_id, err)
				       : st->db->drv->bind_null(s, 5, err);
	if (!rc)
		rc = e->campaign_id ? st->db->drv->bind_int64(s, 6, e->campaign_id, err)
				    : st->db->drv->bind_null(s, 6, err);
	if (!rc)
		rc = e->from_state ? st->db->drv->bind_text(s, 7, e->from_state, err)
				   : st->db->drv->bind_null(s, 7, err);
	if (!rc)
		rc = e->to_state ? st->db->drv->bind_text(s, 8, e->to_state, err)
				 : st->db->drv->bind_null(s, 8, err);
	if (!rc)
		rc = e->detail ? st->db->drv->bind_text(s, 9, e->detail, err)
			       : st->db->drv->bind_null(s, 9, err);
	if (!rc)
		rc = source ? st->db->drv->bind_text(s, 10, source, err)
			    : st->db->drv->bind_null(s, 10, err);
	if (!rc)
		rc = st->db->drv->step(s, err);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_ORDER_BY_KEY[] =
    "SELECT order_id, certificate_id FROM orders WHERE request_key = $1";
static const char SQL_CURRENT_ISSUANCE[] =
    "SELECT current_issuance_id FROM certificates WHERE certificate_id = $1";
static const char SQL_ORDER_INSERT[] =
    "INSERT INTO orders (certificate_id, campaign_id, old_issuance_id, state, requested_by, "
    "request_key, created_at, updated_at, next_run_at) VALUES ($1, $2, $3, 'queued', $4, $5, "
    "$6, $6, $6) RETURNING order_id";

static int lookup_request(store_t *st, const char *key, const char *certificate_id,
			  int64_t *order_id, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_ORDER_BY_KEY, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", key);
	if (rc == 1) {
		const char *cid = st->db->drv->col_text(s, 1);

		if (strcmp(cid ? cid : "", certificate_id) != 0)
			rc = cd_err_set(err, CD_ECONFLICT, false,
					"request key reused for another certificate");
		else
			*order_id = st->db->drv->col_int64(s, 0);
	}
	st->db->drv->reset(s);
	return rc;
}

int store_order_create(store_t *st, const char *certificate_id, int64_t campaign_id,
		       const char *actor, const char *request_key, int64_t now, int64_t *order_id,
		       bool *created, struct cd_err *err)
{
	struct db_stmt *s;
	int64_t old = 0;
	int rc;

	*created = false;
	rc = store_begin(st, err);
	if (rc)
		return rc;
	if (request_key) {
		rc = lookup_request(st, request_key, certificate_id, order_id, err);
		if (rc == 1) { /* the same request again: the same order */
			return store_commit(st, err);
		}
		if (rc < 0)
			goto fail;
	}
	rc = db_stmt(st->db, SQL_CURRENT_ISSUANCE, &s, err);
	if (rc)
		goto fail;
	rc = db_run(st->db, s, err, "t", certificate_id);
	if (rc == 1)
		old = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		rc = cd_err_set(err, CD_ENOTFOUND, false, "no certificate '%s'", certificate_id);
		goto fail;
	}
	if (old == 0) {
		rc = cd_err_set(err, CD_ESTATE, false,
				"certificate '%s' has no issued certificate to replace",
				certificate_id);
		goto fail;
	}
	rc = db_stmt(st->db, SQL_ORDER_INSERT, &s, err);
	if (rc)
		goto fail;
	rc = st->db->drv->bind_text(s, 1, certificate_id, err);
	if (!rc)
		rc = campaign_id ? st->db->drv->bind_int64(s, 2, campaign_id, err)
				 : st->db->drv->bind_null(s, 2, err);
	if (!rc)
		rc = st->db->drv->bind_int64(s, 3, old, err);
	if (!rc)
		rc = st->db->drv->bind_text(s, 4, actor, err);
	if (!rc)
		rc = request_key ? st->db->drv->bind_text(s, 5, request_key, err)
				 : st->db->drv->bind_null(s, 5, err);
	if (!rc)
		rc = st->db->drv->bind_int64(s, 6, now, err);
	if (!rc)
		rc = st->db->drv->step(s, err);
	if (rc == 1)
		*order_id = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	if (rc == -CD_ECONFLICT) {
		rc = cd_err_set(err, CD_ECONFLICT, false,
				"certificate '%s' already has an open reissue order",
				certificate_id);
		goto fail;
	}
	if (rc < 0)
		goto fail;
	rc = store_event_add(st,
			     &(struct store_event){ .at = now,
						    .actor = actor,
						    .kind = "order.transition",
						    .order_id = *order_id,
						    .certificate_id = certificate_id,
						    .campaign_id = campaign_id,
						    .to_state = order_state_name(ORDER_QUEUED) },
			     err);
	if (rc)
		goto fail;
	*created = true;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}
