/*
 * outbox.c - the mail outbox: queued in the transaction of its cause, claimed
 * with a lease by whoever delivers, marked sent or failed (invariant 5).
 *
 * The claim is one UPDATE whose WHERE re-checks "due and not leased" on the
 * rows the sub-select picked, so two deliverers never hold the same message:
 * SQLite serialises writers (BEGIN IMMEDIATE) and PostgreSQL re-evaluates
 * the WHERE of an UPDATE on a row another transaction changed meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

#define OUTBOX_MAX_MESSAGE (4 * 1024 * 1024)
#define OUTBOX_MAX_CLAIM   1000

static const char SQL_ADD[] =
    "INSERT INTO outbox (message_id, dedup_key, kind, member_id, order_id, campaign_id, rcpt, "
    "message, created_at, next_attempt_at, attempts, subject) VALUES ($1, $2, $3, $4, "
    "NULLIF(CAST($5 AS BIGINT), 0), NULLIF(CAST($6 AS BIGINT), 0), $7, $8, $9, $9, 0, $10) ON "
    "CONFLICT (dedup_key) DO NOTHING";
static const char SQL_BY_KEY[] =
    "SELECT message_id, kind, COALESCE(member_id, ''), COALESCE(order_id, 0), "
    "COALESCE(campaign_id, 0), rcpt, COALESCE(subject, ''), COALESCE(last_error, ''), "
    "created_at, next_attempt_at, COALESCE(sent_at, 0), COALESCE(failed_at, 0), attempts "
    "FROM outbox WHERE dedup_key = $1";

static int check_len(const char *what, const char *v, size_t max, bool required, struct cd_err *err)
{
	if (!v || !*v)
		return required ? cd_err_set(err, CD_EINVAL, false, "outbox: %s is empty", what)
				: 0;
	if (strlen(v) > max)
		return cd_err_set(err, CD_ELIMIT, false, "outbox: %s is longer than %zu bytes",
				  what, max);
	return 0;
}

/* Columns 0..12 of SQL_BY_KEY / SQL_LIST into m (message text excepted). */
static void read_row(store_t *st, struct db_stmt *s, struct store_outbox_msg *m)
{
	const struct db_driver *d = st->db->drv;

	memset(m, 0, sizeof(*m));
	db_col_copy(st->db, s, 0, m->message_id, sizeof(m->message_id));
	db_col_copy(st->db, s, 1, m->kind, sizeof(m->kind));
	db_col_copy(st->db, s, 2, m->member_id, sizeof(m->member_id));
	m->order_id = d->col_int64(s, 3);
	m->campaign_id = d->col_int64(s, 4);
	db_col_copy(st->db, s, 5, m->rcpt, sizeof(m->rcpt));
	db_col_copy(st->db, s, 6, m->subject, sizeof(m->subject));
	db_col_copy(st->db, s, 7, m->last_error, sizeof(m->last_error));
	m->created_at = d->col_int64(s, 8);
	m->next_attempt_at = d->col_int64(s, 9);
	m->sent_at = d->col_int64(s, 10);
	m->failed_at = d->col_int64(s, 11);
	m->attempts = (int)d->col_int64(s, 12);
}

int store_outbox_find(store_t *st, const char *dedup_key, struct store_outbox_msg *out, bool *found,
		      struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_BY_KEY, &s, err);

	*found = false;
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", dedup_key);
	if (rc == 1) {
		read_row(st, s, out);
		*found = true;
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_outbox_add(store_t *st, const struct store_outbox_add *m, int64_t now,
		     char *message_id_out, size_t outsz, bool *created, struct cd_err *err)
{
	struct store_outbox_msg row;
	bool found;
	int changed = 0, rc;

	*created = false;
	if ((rc = check_len("Message-ID", m->message_id, 250, true, err)) ||
	    (rc = check_len("dedup key", m->dedup_key, 200, true, err)) ||
	    (rc = check_len("kind", m->kind, 32, true, err)) ||
	    (rc = check_len("member", m->member_id, 64, false, err)) ||
	    (rc = check_len("recipient", m->rcpt, 320, true, err)) ||
	    (rc = check_len("subject", m->subject, 500, false, err)) ||
	    (rc = check_len("message", m->message, OUTBOX_MAX_MESSAGE, true, err)))
		return rc;
	rc = store_begin(st, err);
	if (rc)
		return rc;
	rc = RUN(st, SQL_ADD, &changed, err,
		 "tttt"
		 "ii"
		 "tti"
		 "t",
		 m->message_id, m->dedup_key, m->kind, m->member_id, m->order_id, m->campaign_id,
		 m->rcpt, m->message, now, m->subject);
	if (rc)
		goto fail;
	if (!changed) {
		/* the key was queued before: report the Message-ID it carries */
		rc = store_outbox_find(st, m->dedup_key, &row, &found, err);
		if (rc)
			goto fail;
		if (!found) {
			rc = cd_err_set(err, CD_EINTERNAL, false,
					"outbox: '%s' neither added nor found", m->dedup_key);
			goto fail;
		}
		if (message_id_out)
			snprintf(message_id_out, outsz, "%s", row.message_id);
	} else {
		*created = true;
		if (message_id_out)
			snprintf(message_id_out, outsz, "%s", m->message_id);
	}
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

static const char SQL_CLAIM[] =
    "UPDATE outbox SET lease_owner = $1, lease_expires = $3, attempts = attempts + 1 "
    "WHERE message_id IN (SELECT message_id FROM outbox WHERE sent_at IS NULL AND failed_at "
    "IS NULL AND next_attempt_at <= $2 AND (lease_expires IS NULL OR lease_expires <= $2) "
    "ORDER BY next_attempt_at, created_at LIMIT $4) "
    "AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 "
    "AND (lease_expires IS NULL OR lease_expires <= $2) "
    "RETURNING message_id, kind, COALESCE(member_id, ''), COALESCE(order_id, 0), "
    "COALESCE(campaign_id, 0), rcpt, COALESCE(subject, ''), COALESCE(last_error, ''), "
    "created_at, next_attempt_at, COALESCE(sent_at, 0), COALESCE(failed_at, 0), attempts, "
    "message";

void store_outbox_msgs_free(struct store_outbox_msg *msgs, size_t n)
{
	if (!msgs)
		return;
	for (size_t i = 0; i < n; i++)
		free(msgs[i].message);
	free(msgs);
}

int store_outbox_claim(store_t *st, const char *owner, int64_t now, int64_t lease_until, int limit,
		       struct store_outbox_msg **out, size_t *n, struct cd_err *err)
{
	struct store_outbox_msg *msgs = NULL;
	struct db_stmt *s;
	size_t cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (limit <= 0)
		return 0;
	if (limit > OUTBOX_MAX_CLAIM)
		limit = OUTBOX_MAX_CLAIM;
	msgs = calloc((size_t)limit, sizeof(*msgs));
	if (!msgs)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	rc = store_begin(st, err);
	if (rc)
		goto out;
	rc = db_stmt(st->db, SQL_CLAIM, &s, err);
	if (rc)
		goto fail;
	for (rc = db_run(st->db, s, err, "tiii", owner, now, lease_until, (int64_t)limit);
	     rc == 1 && cnt < (size_t)limit; rc = db_next(st->db, s, err)) {
		const char *text = st->db->drv->col_text(s, 13);

		read_row(st, s, &msgs[cnt]);
		msgs[cnt].message = strdup(text ? text : "");
		if (!msgs[cnt].message) {
			cnt++;
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			break;
		}
		cnt++;
	}
	st->db->drv->reset(s);
	if (rc < 0)
		goto fail;
	rc = store_commit(st, err);
	if (rc)
		goto out;
	*out = msgs;
	*n = cnt;
	return 0;
fail:
	store_rollback(st);
out:
	store_outbox_msgs_free(msgs, cnt);
	return rc;
}

int store_outbox_mark_sent(store_t *st, const char *message_id, int64_t now, struct cd_err *err)
{
	return RUN(st,
		   "UPDATE outbox SET sent_at = $2, lease_owner = NULL, lease_expires = NULL, "
		   "last_error = NULL WHERE message_id = $1 AND sent_at IS NULL",
		   NULL, err, "ti", message_id, now);
}

int store_outbox_mark_failed(store_t *st, const char *message_id, int64_t now,
			     int64_t next_attempt_at, const char *error, struct cd_err *err)
{
	char msg[500];
	int rc = store_metric_add(st, "mail_delivery_failures",
				  next_attempt_at > 0 ? "retry" : "final", 1, err);

	if (rc)
		return rc;
	snprintf(msg, sizeof(msg), "%s", error ? error : "");
	if (next_attempt_at > 0)
		return RUN(st,
			   "UPDATE outbox SET next_attempt_at = $2, last_error = $3, "
			   "lease_owner = NULL, lease_expires = NULL "
			   "WHERE message_id = $1 AND sent_at IS NULL",
			   NULL, err, "tit", message_id, next_attempt_at, msg);
	return RUN(st,
		   "UPDATE outbox SET failed_at = $2, last_error = $3, lease_owner = NULL, "
		   "lease_expires = NULL WHERE message_id = $1 AND sent_at IS NULL",
		   NULL, err, "tit", message_id, now, msg);
}

int store_outbox_release(store_t *st, const char *message_id, int64_t next_attempt_at,
			 const char *why, struct cd_err *err)
{
	char msg[500];

	snprintf(msg, sizeof(msg), "%s", why ? why : "");
	return RUN(st,
		   "UPDATE outbox SET next_attempt_at = $2, last_error = $3, lease_owner = NULL, "
		   "lease_expires = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 "
		   "ELSE 0 END WHERE message_id = $1 AND sent_at IS NULL",
		   NULL, err, "tit", message_id, next_attempt_at, msg);
}

int store_outbox_retry_failed(store_t *st, const char *message_id, int64_t now, int *n,
			      struct cd_err *err)
{
	static const char SQL_ONE[] =
	    "UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $2 "
	    "WHERE message_id = $1 AND failed_at IS NOT NULL AND sent_at IS NULL";
	static const char SQL_ALL[] =
	    "UPDATE outbox SET failed_at = NULL, attempts = 0, next_attempt_at = $1 "
	    "WHERE failed_at IS NOT NULL AND sent_at IS NULL";
	struct db_stmt *s;
	int rc;

	*n = 0;
	rc = db_stmt(st->db, message_id ? SQL_ONE : SQL_ALL, &s, err);
	if (rc)
		return rc;
	rc = message_id ? db_run(st->db, s, err, "ti", message_id, now)
			: db_run(st->db, s, err, "i", now);
	if (rc >= 0)
		*n = (int)st->db->drv->changes(s);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_LIST[] =
    "SELECT message_id, kind, COALESCE(member_id, ''), COALESCE(order_id, 0), "
    "COALESCE(campaign_id, 0), rcpt, COALESCE(subject, ''), COALESCE(last_error, ''), "
    "created_at, next_attempt_at, COALESCE(sent_at, 0), COALESCE(failed_at, 0), attempts "
    "FROM outbox WHERE CASE CAST($1 AS INTEGER) WHEN 1 THEN sent_at IS NULL AND failed_at IS NULL "
    "WHEN 2 THEN failed_at IS NOT NULL WHEN 3 THEN sent_at IS NOT NULL ELSE 1 = 1 END "
    "ORDER BY created_at, message_id LIMIT $2";

int store_outbox_each(store_t *st, enum store_outbox_filter f, int limit,
		      int (*fn)(const struct store_outbox_msg *m, void *arg), void *arg,
		      struct cd_err *err)
{
	struct store_outbox_msg m;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_LIST, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "ii", (int64_t)f,
			 (int64_t)(limit > 0 ? limit : 1000000000));
	     rc == 1; rc = db_next(st->db, s, err)) {
		read_row(st, s, &m);
		rc = fn(&m, arg);
		if (rc)
			break;
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_outbox_counts(store_t *st, int64_t *pending, int64_t *sent, int64_t *failed,
			struct cd_err *err)
{
	static const char SQL_COUNTS[] =
	    "SELECT COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 "
	    "END), 0), COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
	    "COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM outbox";
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_COUNTS, &s, err);

	*pending = *sent = *failed = 0;
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "");
	if (rc == 1) {
		*pending = st->db->drv->col_int64(s, 0);
		*sent = st->db->drv->col_int64(s, 1);
		*failed = st->db->drv->col_int64(s, 2);
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}
