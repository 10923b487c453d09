/*
 * admin.c - what the operator pages and `certdesk operator` keep and read:
 * operator accounts, operators' sessions (the sessions table, operator_id
 * set), the failure and revocation queues, search, and a campaign's orders
 * for its burndown.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_priv.h"

/* --- operators ---------------------------------------------------------------- */

static const char SQL_OPERATOR_INSERT[] =
    "INSERT INTO operators (operator_id, display_name, password_hash, role, created_at) "
    "VALUES ($1, $2, $3, $4, $5)";
static const char SQL_OPERATOR_COLS[] =
    "SELECT operator_id, display_name, COALESCE(password_hash, ''), role, created_at, "
    "COALESCE(disabled_at, 0) FROM operators WHERE operator_id = $1";
static const char SQL_OPERATORS[] =
    "SELECT operator_id, display_name, '', role, created_at, COALESCE(disabled_at, 0) "
    "FROM operators ORDER BY operator_id";
static const char SQL_OPERATOR_SESSIONS_DELETE[] = "DELETE FROM sessions WHERE operator_id = $1";
static const char SQL_OPERATOR_DELETE[] = "DELETE FROM operators WHERE operator_id = $1";

int store_operator_add(store_t *st, const char *operator_id, const char *display_name,
		       const char *role, const char *phc, int64_t now, struct cd_err *err)
{
	int rc = RUN(st, SQL_OPERATOR_INSERT, NULL, err, "tttti", operator_id, display_name, phc,
		     role, now);

	if (rc == -CD_ECONFLICT)
		return cd_err_set(err, CD_ECONFLICT, false, "operator '%s' exists already",
				  operator_id);
	return rc;
}

static void read_operator(store_t *st, struct db_stmt *s, struct store_operator_row *o)
{
	memset(o, 0, sizeof(*o));
	db_col_copy(st->db, s, 0, o->operator_id, sizeof(o->operator_id));
	db_col_copy(st->db, s, 1, o->display_name, sizeof(o->display_name));
	db_col_copy(st->db, s, 2, o->password_hash, sizeof(o->password_hash));
	db_col_copy(st->db, s, 3, o->role, sizeof(o->role));
	o->created_at = st->db->drv->col_int64(s, 4);
	o->disabled_at = st->db->drv->col_int64(s, 5);
}

int store_operator_get(store_t *st, const char *operator_id, struct store_operator_row *out,
		       struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_OPERATOR_COLS, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", operator_id);
	if (rc == 1)
		read_operator(st, s, out);
	st->db->drv->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no operator '%s'", operator_id);
	return rc < 0 ? rc : 0;
}

int store_operators_each(store_t *st, int (*fn)(const struct store_operator_row *o, void *arg),
			 void *arg, struct cd_err *err)
{
	struct store_operator_row o;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_OPERATORS, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		read_operator(st, s, &o);
		if ((rc = fn(&o, arg)) != 0)
			break;
	}
	st->db->drv->reset(s);
	return rc;
}

int store_operator_remove(store_t *st, const char *operator_id, struct cd_err *err)
{
	int changed = 0;
	int rc = store_begin(st, err);

	if (rc)
		return rc;
	rc = RUN(st, SQL_OPERATOR_SESSIONS_DELETE, NULL, err, "t", operator_id);
	if (!rc)
		rc = RUN(st, SQL_OPERATOR_DELETE, &changed, err, "t", operator_id);
	if (!rc && !changed)
		rc = cd_err_set(err, CD_ENOTFOUND, false, "no operator '%s'", operator_id);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

/* --- operators' sessions ----------------------------------------------------- */

static const char SQL_ADMIN_SESSION_INSERT[] =
    "INSERT INTO sessions (session_hash, operator_id, csrf_token, client_addr, created_at, "
    "last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)";
static const char SQL_ADMIN_SESSION_GET[] =
    "SELECT operator_id, csrf_token, created_at, last_seen_at, expires_at FROM sessions "
    "WHERE session_hash = $1 AND operator_id IS NOT NULL AND member_id IS NULL";
static const char SQL_ADMIN_SESSION_PURGE[] =
    "DELETE FROM sessions WHERE operator_id IS NOT NULL AND (expires_at <= $1 OR "
    "last_seen_at < $2)";

int store_admin_session_create(store_t *st, const char *hash, const char *operator_id,
			       const char *csrf_token, const char *client_addr, int64_t now,
			       int64_t expires_at, struct cd_err *err)
{
	return RUN(st, SQL_ADMIN_SESSION_INSERT, NULL, err, "ttttii", hash, operator_id, csrf_token,
		   client_addr, now, expires_at);
}

int store_admin_session_get(store_t *st, const char *hash, struct store_admin_session *out,
			    struct cd_err *err)
{
	return store_session_get(st, SQL_ADMIN_SESSION_GET, hash, "operator session",
				 out->operator_id, out->csrf_token, &out->created_at,
				 &out->last_seen_at, &out->expires_at, err);
}

int store_admin_sessions_purge(store_t *st, int64_t now, int64_t idle_before, struct cd_err *err)
{
	return store_sessions_purge(st, SQL_ADMIN_SESSION_PURGE, now, idle_before, NULL, err);
}

/* --- queues ------------------------------------------------------------------ */

#define ORDER_COLS                                                                                 \
	"SELECT o.order_id, COALESCE(o.campaign_id, 0), o.certificate_id, c.member_id, "           \
	"c.common_name, o.state, COALESCE(o.failure, ''), COALESCE(o.failure_detail, ''), "        \
	"COALESCE(o.lease_owner, ''), COALESCE(o.failure_retryable, 0), o.revocation_pending, "    \
	"o.attempt, o.retries, o.created_at, o.updated_at, o.next_run_at, "                        \
	"COALESCE(o.lease_expires, 0) FROM orders o JOIN certificates c ON c.certificate_id = "    \
	"o.certificate_id "

static const char SQL_QUEUE_FAILED[] =
    ORDER_COLS "WHERE o.state = 'failed' AND NOT EXISTS (SELECT 1 FROM orders n WHERE "
	       "n.certificate_id = o.certificate_id AND n.order_id > o.order_id) "
	       "ORDER BY o.updated_at DESC, o.order_id DESC LIMIT $1";
static const char SQL_QUEUE_RETRYING[] =
    ORDER_COLS "WHERE o.failure IS NOT NULL AND o.state NOT IN ('done', 'failed', 'canceled') "
	       "ORDER BY o.updated_at DESC, o.order_id DESC LIMIT $1";
static const char SQL_QUEUE_REVOCATION[] =
    ORDER_COLS "WHERE o.revocation_pending = 1 ORDER BY o.updated_at DESC, o.order_id DESC "
	       "LIMIT $1";
static const char SQL_CERT_ORDERS[] =
    ORDER_COLS "WHERE o.certificate_id = $1 ORDER BY o.order_id DESC";

static void read_order(store_t *st, struct db_stmt *s, struct store_admin_order *o)
{
	const struct db_driver *d = st->db->drv;

	memset(o, 0, sizeof(*o));
	o->order_id = d->col_int64(s, 0);
	o->campaign_id = d->col_int64(s, 1);
	db_col_copy(st->db, s, 2, o->certificate_id, sizeof(o->certificate_id));
	db_col_copy(st->db, s, 3, o->member_id, sizeof(o->member_id));
	db_col_copy(st->db, s, 4, o->common_name, sizeof(o->common_name));
	db_col_copy(st->db, s, 5, o->state, sizeof(o->state));
	db_col_copy(st->db, s, 6, o->failure, sizeof(o->failure));
	db_col_copy(st->db, s, 7, o->failure_detail, sizeof(o->failure_detail));
	db_col_copy(st->db, s, 8, o->lease_owner, sizeof(o->lease_owner));
	o->failure_retryable = d->col_int64(s, 9) != 0;
	o->revocation_pending = d->col_int64(s, 10) != 0;
	o->attempt = (int)d->col_int64(s, 11);
	o->retries = (int)d->col_int64(s, 12);
	o->created_at = d->col_int64(s, 13);
	o->updated_at = d->col_int64(s, 14);
	o->next_run_at = d->col_int64(s, 15);
	o->lease_expires = d->col_int64(s, 16);
}

static int orders_each(store_t *st, const char *sql, const char *fmt, const void *key,
		       int (*fn)(const struct store_admin_order *o, void *arg), void *arg,
		       struct cd_err *err)
{
	struct store_admin_order o;
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	rc = fmt[0] == 'i' ? db_run(st->db, s, err, "i", *(const int64_t *)key)
			   : db_run(st->db, s, err, "t", (const char *)key);
	for (; rc == 1; rc = db_next(st->db, s, err)) {
		read_order(st, s, &o);
		if ((rc = fn(&o, arg)) != 0)
			break;
	}
	st->db->drv->reset(s);
	return rc;
}

int store_admin_orders_each(store_t *st, enum store_admin_queue q, int limit,
			    int (*fn)(const struct store_admin_order *o, void *arg), void *arg,
			    struct cd_err *err)
{
	int64_t lim = limit > 0 ? limit : 100;
	const char *sql = q == STORE_ADMIN_FAILED     ? SQL_QUEUE_FAILED
			  : q == STORE_ADMIN_RETRYING ? SQL_QUEUE_RETRYING
						      : SQL_QUEUE_REVOCATION;

	return orders_each(st, sql, "i", &lim, fn, arg, err);
}

int store_admin_certificate_orders_each(store_t *st, const char *certificate_id,
					int (*fn)(const struct store_admin_order *o, void *arg),
					void *arg, struct cd_err *err)
{
	return orders_each(st, SQL_CERT_ORDERS, "t", certificate_id, fn, arg, err);
}

/* --- search ------------------------------------------------------------------ */

/* LIKE with '\' escaping '%', '_' and itself: the text is matched literally;
 * lower() on both sides: ASCII case does not matter on either backend (SQLite's
 * LIKE ignores it, PostgreSQL's does not). */
static const char SQL_SEARCH[] =
    "SELECT c.certificate_id, c.member_id, c.common_name, c.product, COALESCE(i.serial, '') "
    "FROM certificates c LEFT JOIN issuances i ON i.issuance_id = c.current_issuance_id "
    "WHERE lower(c.common_name) LIKE lower($1) ESCAPE '\\' "
    "OR lower(c.member_id) LIKE lower($2) ESCAPE '\\' "
    "OR (CAST($3 AS TEXT) <> '' AND EXISTS (SELECT 1 FROM issuances s "
    "WHERE s.serial = $3 AND s.certificate_id = c.certificate_id)) "
    "ORDER BY c.common_name, c.certificate_id LIMIT $4";

static int like_pattern(const char *text, bool leading, char *out, size_t outsz, struct cd_err *err)
{
	size_t n = 0;

	if (leading)
		out[n++] = '%';
	for (; *text; text++) {
		if (n + 4 >= outsz)
			return cd_err_set(err, CD_ELIMIT, false, "the search text is too long");
		if (*text == '%' || *text == '_' || *text == '\\')
			out[n++] = '\\';
		out[n++] = *text;
	}
	out[n++] = '%';
	out[n] = '\0';
	return 0;
}

int store_admin_search(store_t *st, const char *text, const char *serial, int limit,
		       int (*fn)(const struct store_admin_hit *h, void *arg), void *arg,
		       struct cd_err *err)
{
	char cn[540], member[540];
	struct store_admin_hit h;
	struct db_stmt *s;
	int rc;

	if ((rc = like_pattern(text, true, cn, sizeof(cn), err)) ||
	    (rc = like_pattern(text, false, member, sizeof(member), err)))
		return rc;
	if ((rc = db_stmt(st->db, SQL_SEARCH, &s, err)))
		return rc;
	for (rc = db_run(st->db, s, err, "ttti", cn, member, serial ? serial : "",
			 (int64_t)(limit > 0 ? limit : 100));
	     rc == 1; rc = db_next(st->db, s, err)) {
		memset(&h, 0, sizeof(h));
		db_col_copy(st->db, s, 0, h.certificate_id, sizeof(h.certificate_id));
		db_col_copy(st->db, s, 1, h.member_id, sizeof(h.member_id));
		db_col_copy(st->db, s, 2, h.common_name, sizeof(h.common_name));
		db_col_copy(st->db, s, 3, h.product, sizeof(h.product));
		db_col_copy(st->db, s, 4, h.serial, sizeof(h.serial));
		if ((rc = fn(&h, arg)) != 0)
			break;
	}
	st->db->drv->reset(s);
	return rc;
}

/* --- a campaign's orders (burndown) ------------------------------------------- */

/* state_at: when the order reached its state, from its events (the row's
 * updated_at when no event says). */
static const char SQL_CAMPAIGN_ORDERS[] =
    "SELECT o.certificate_id, o.state, o.created_at, COALESCE((SELECT MAX(e.at) FROM events e "
    "WHERE e.order_id = o.order_id AND e.to_state = o.state), o.updated_at), "
    "COALESCE(o.failure_retryable, 0) FROM orders o JOIN campaign_targets t ON "
    "t.certificate_id = o.certificate_id AND t.campaign_id = $1 WHERE o.created_at >= $2 "
    "ORDER BY o.certificate_id, o.order_id";

int store_admin_campaign_orders_each(store_t *st, int64_t campaign_id, int64_t since,
				     int (*fn)(const struct store_admin_campaign_order *o,
					       void *arg),
				     void *arg, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct store_admin_campaign_order o;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_CAMPAIGN_ORDERS, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "ii", campaign_id, since); rc == 1;
	     rc = db_next(st->db, s, err)) {
		o.certificate_id = d->col_text(s, 0);
		o.state = d->col_text(s, 1);
		o.created_at = d->col_int64(s, 2);
		o.state_at = d->col_int64(s, 3);
		o.failure_retryable = d->col_int64(s, 4) != 0;
		if (!o.certificate_id || !o.state)
			continue;
		if ((rc = fn(&o, arg)) != 0)
			break;
	}
	d->reset(s);
	return rc;
}
