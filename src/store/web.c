/*
 * web.c - what the customer portal keeps in the store: sessions, members' API
 * tokens, login throttling counters, and the reads its pages need beside the
 * certificate view (an order with its owner, a server's addresses).
 */
#include <string.h>

#include "store/store_priv.h"

/* --- sessions ------------------------------------------------------------- */

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO sessions (session_hash, member_id, csrf_token, client_addr, created_at, "
    "last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)";
static const char SQL_SESSION_GET[] =
    "SELECT member_id, csrf_token, created_at, last_seen_at, expires_at FROM sessions "
    "WHERE session_hash = $1 AND member_id IS NOT NULL";
static const char SQL_SESSION_TOUCH[] =
    "UPDATE sessions SET last_seen_at = $2 WHERE session_hash = $1";
static const char SQL_SESSION_DELETE[] = "DELETE FROM sessions WHERE session_hash = $1";
static const char SQL_SESSION_PURGE[] =
    "DELETE FROM sessions WHERE member_id IS NOT NULL AND (expires_at <= $1 OR last_seen_at < $2)";

int store_web_session_create(store_t *st, const char *hash, const char *member_id,
			     const char *csrf_token, const char *client_addr, int64_t now,
			     int64_t expires_at, struct cd_err *err)
{
	int rc = RUN(st, SQL_SESSION_INSERT, NULL, err, "ttttii", hash, member_id, csrf_token,
		     client_addr, now, expires_at);

	return rc < 0 ? rc : 0;
}

/* A session row of either kind (sql picks the kind by its owner column):
 * owner, csrf_token, created_at, last_seen_at, expires_at; -CD_ENOTFOUND
 * naming `what` when there is none. */
int store_session_get(store_t *st, const char *sql, const char *hash, const char *what,
		      char owner[65], char csrf_token[65], int64_t *created_at,
		      int64_t *last_seen_at, int64_t *expires_at, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", hash);
	if (rc == 1) {
		db_col_copy(st->db, s, 0, owner, 65);
		db_col_copy(st->db, s, 1, csrf_token, 65);
		*created_at = d->col_int64(s, 2);
		*last_seen_at = d->col_int64(s, 3);
		*expires_at = d->col_int64(s, 4);
	}
	d->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no such %s", what);
	return rc < 0 ? rc : 0;
}

int store_web_session_get(store_t *st, const char *hash, struct store_web_session *out,
			  struct cd_err *err)
{
	return store_session_get(st, SQL_SESSION_GET, hash, "session", out->member_id,
				 out->csrf_token, &out->created_at, &out->last_seen_at,
				 &out->expires_at, err);
}

int store_web_session_touch(store_t *st, const char *hash, int64_t now, struct cd_err *err)
{
	int rc = RUN(st, SQL_SESSION_TOUCH, NULL, err, "ti", hash, now);

	return rc < 0 ? rc : 0;
}

int store_web_session_delete(store_t *st, const char *hash, struct cd_err *err)
{
	int rc = RUN(st, SQL_SESSION_DELETE, NULL, err, "t", hash);

	return rc < 0 ? rc : 0;
}

/* Deletes the sessions sql picks (expired at $1 or idle since before $2);
 * *deleted (may be NULL) is how many. */
int store_sessions_purge(store_t *st, const char *sql, int64_t now, int64_t idle_before,
			 int *deleted, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "ii", now, idle_before);
	if (rc >= 0 && deleted)
		*deleted = (int)st->db->drv->changes(s);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_web_sessions_purge(store_t *st, int64_t now, int64_t idle_before, int *deleted,
			     struct cd_err *err)
{
	return store_sessions_purge(st, SQL_SESSION_PURGE, now, idle_before, deleted, err);
}

/* --- login throttling ------------------------------------------------------ */

static const char SQL_THROTTLE_GET[] =
    "SELECT failures, last_failure_at FROM login_throttle WHERE throttle_key = $1";
/* A failure after a quiet window starts the count again. */
static const char SQL_THROTTLE_FAIL[] =
    "INSERT INTO login_throttle (throttle_key, failures, window_start, last_failure_at) "
    "VALUES ($1, 1, $2, $2) ON CONFLICT (throttle_key) DO UPDATE SET "
    "failures = CASE WHEN login_throttle.last_failure_at + $3 <= $2 THEN 1 "
    "ELSE login_throttle.failures + 1 END, "
    "window_start = CASE WHEN login_throttle.last_failure_at + $3 <= $2 THEN $2 "
    "ELSE login_throttle.window_start END, last_failure_at = $2 RETURNING failures";
static const char SQL_THROTTLE_CLEAR[] = "DELETE FROM login_throttle WHERE throttle_key = $1";

int store_web_throttle_get(store_t *st, const char *key, int64_t now, int64_t window, int *failures,
			   int64_t *last_failure_at, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_THROTTLE_GET, &s, err);

	*failures = 0;
	*last_failure_at = 0;
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", key);
	if (rc == 1 && d->col_int64(s, 1) + window > now) {
		*failures = (int)d->col_int64(s, 0);
		*last_failure_at = d->col_int64(s, 1);
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

int store_web_throttle_fail(store_t *st, const char *key, int64_t now, int64_t window,
			    int *failures, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_THROTTLE_FAIL, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "tii", key, now, window);
	if (rc == 1)
		*failures = (int)st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_web_throttle_clear(store_t *st, const char *key, struct cd_err *err)
{
	int rc = RUN(st, SQL_THROTTLE_CLEAR, NULL, err, "t", key);

	return rc < 0 ? rc : 0;
}

/* --- orders and servers ---------------------------------------------------- */

static const char SQL_ORDER_GET[] =
    "SELECT o.order_id, COALESCE(o.campaign_id, 0), COALESCE(o.new_issuance_id, 0), "
    "o.certificate_id, c.member_id, c.common_name, c.product, o.state, o.failure, "
    "o.failure_detail, o.requested_by, COALESCE(o.failure_retryable, 0), "
    "o.revocation_pending, o.attempt, o.created_at, o.updated_at, "
    "COALESCE(n.not_before, 0), COALESCE(n.not_after, 0) FROM orders o "
    "JOIN certificates c ON c.certificate_id = o.certificate_id "
    "LEFT JOIN issuances n ON n.issuance_id = o.new_issuance_id WHERE o.order_id = $1";

int store_web_order_get(store_t *st, int64_t order_id, struct store_web_order *out,
			struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_ORDER_GET, &s, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = db_run(st->db, s, err, "i", order_id);
	if (rc == 1) {
		out->order_id = d->col_int64(s, 0);
		out->campaign_id = d->col_int64(s, 1);
		out->new_issuance_id = d->col_int64(s, 2);
		db_col_copy(st->db, s, 3, out->certificate_id, sizeof(out->certificate_id));
		db_col_copy(st->db, s, 4, out->member_id, sizeof(out->member_id));
		db_col_copy(st->db, s, 5, out->common_name, sizeof(out->common_name));
		db_col_copy(st->db, s, 6, out->product, sizeof(out->product));
		db_col_copy(st->db, s, 7, out->state, sizeof(out->state));
		db_col_copy(st->db, s, 8, out->failure, sizeof(out->failure));
		db_col_copy(st->db, s, 9, out->failure_detail, sizeof(out->failure_detail));
		db_col_copy(st->db, s, 10, out->requested_by, sizeof(out->requested_by));
		out->failure_retryable = d->col_int64(s, 11) != 0;
		out->revocation_pending = d->col_int64(s, 12) != 0;
		out->attempt = (int)d->col_int64(s, 13);
		out->created_at = d->col_int64(s, 14);
		out->updated_at = d->col_int64(s, 15);
		out->new_not_before = d->col_int64(s, 16);
		out->new_not_after = d->col_int64(s, 17);
	}
	d->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no order %lld", (long long)order_id);
	return rc < 0 ? rc : 0;
}

static const char SQL_SERVER_GET[] =
    "SELECT server, ipv4, ipv6, state FROM servers WHERE server = $1";

int store_web_server_get(store_t *st, const char *server, struct store_web_server *out,
			 struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_SERVER_GET, &s, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = db_run(st->db, s, err, "t", server);
	if (rc == 1) {
		db_col_copy(st->db, s, 0, out->server, sizeof(out->server));
		db_col_copy(st->db, s, 1, out->ipv4, sizeof(out->ipv4));
		db_col_copy(st->db, s, 2, out->ipv6, sizeof(out->ipv6));
		db_col_copy(st->db, s, 3, out->state, sizeof(out->state));
	}
	st->db->drv->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no server '%s'", server);
	return rc < 0 ? rc : 0;
}

static const char SQL_MEMBER_PASSWORD[] =
    "UPDATE members SET password_hash = $2, updated_at = $3 WHERE member_id = $1";

int store_web_member_password_set(store_t *st, const char *member_id, const char *phc, int64_t now,
				  struct cd_err *err)
{
	int changed = 0;
	int rc = RUN(st, SQL_MEMBER_PASSWORD, &changed, err, "tti", member_id, phc, now);

	if (rc < 0)
		return rc;
	if (!changed)
		return cd_err_set(err, CD_ENOTFOUND, false, "no member '%s'", member_id);
	return 0;
}

/* --- members' API tokens --------------------------------------------------- */

static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO member_api_tokens (token_hash, member_id, label, created_at) "
    "VALUES ($1, $2, $3, $4) RETURNING token_id";
static const char SQL_TOKEN_MEMBER[] =
    "SELECT member_id FROM member_api_tokens WHERE token_hash = $1 AND revoked_at IS NULL";
static const char SQL_TOKEN_USED[] =
    "UPDATE member_api_tokens SET last_used_at = $2 WHERE token_hash = $1 AND "
    "(last_used_at IS NULL OR last_used_at < CAST($2 AS BIGINT) - 60)";
static const char SQL_TOKENS[] =
    "SELECT token_id, label, created_at, COALESCE(revoked_at, 0), COALESCE(last_used_at, 0) "
    "FROM member_api_tokens WHERE member_id = $1 ORDER BY token_id";
static const char SQL_TOKEN_REVOKE[] =
    "UPDATE member_api_tokens SET revoked_at = $3 WHERE member_id = $1 AND token_id = $2 "
    "AND revoked_at IS NULL";

int store_web_token_create(store_t *st, const char *member_id, const char *hash, const char *label,
			   int64_t now, int64_t *token_id, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_TOKEN_INSERT, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "ttti", hash, member_id, label, now);
	if (rc == 1)
		*token_id = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_web_token_member(store_t *st, const char *hash, int64_t now, char member_id[65],
			   struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_TOKEN_MEMBER, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", hash);
	if (rc == 1)
		db_col_copy(st->db, s, 0, member_id, 65);
	st->db->drv->reset(s);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no such token");
	/* last use is for the operator's eyes: minute precision spares writes */
	rc = RUN(st, SQL_TOKEN_USED, NULL, err, "ti", hash, now);
	return rc < 0 ? rc : 0;
}

int store_web_tokens_each(store_t *st, const char *member_id,
			  int (*fn)(const struct store_web_token *t, void *arg), void *arg,
			  struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_TOKENS, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "t", member_id); rc == 1; rc = db_next(st->db, s, err)) {
		struct store_web_token t = {
			.token_id = d->col_int64(s, 0),
			.label = d->col_text(s, 1),
			.created_at = d->col_int64(s, 2),
			.revoked_at = d->col_int64(s, 3),
			.last_used_at = d->col_int64(s, 4),
		};
		rc = fn(&t, arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

int store_web_token_revoke(store_t *st, const char *member_id, int64_t token_id, int64_t now,
			   struct cd_err *err)
{
	int changed = 0;
	int rc = RUN(st, SQL_TOKEN_REVOKE, &changed, err, "tii", member_id, token_id, now);

	if (rc < 0)
		return rc;
	if (!changed)
		return cd_err_set(err, CD_ENOTFOUND, false, "member %s has no live token %lld",
				  member_id, (long long)token_id);
	return 0;
}
