/*
 * work.c - the reissue pipeline's side of the store: claiming orders with a
 * lease, the fenced update every step commits, attempts, the context a step
 * needs, and recording the new certificate and what a server has installed.
 *
 * Leases: lease_owner is "NODE/BOOT/THREAD". A claim takes orders whose
 * lease is free or expired, and those held by an earlier process of the same
 * node (same NODE, another BOOT) whose heartbeat is stale or gone (nodes.c),
 * so a restarted worker resumes at once instead of waiting for its own
 * leases to run out; never one held by a live thread of this process, nor by
 * another live process that shares the node name. Fencing: an update names
 * the state it started from and the owner; if either changed, nothing is
 * written.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/order.h"
#include "store/store_priv.h"

#define COPY(dst, col) db_col_copy(st->db, s, (col), (dst), sizeof(dst))

static const char ORDER_COLS[] =
    "order_id, COALESCE(campaign_id, 0), old_issuance_id, COALESCE(new_issuance_id, 0), "
    "certificate_id, state, attempt, retries, requested_by, failure, "
    "COALESCE(failure_retryable, 0), failure_detail, revocation_pending, lease_owner, "
    "COALESCE(lease_expires, 0), next_run_at, created_at, updated_at, names";

static void read_order(store_t *st, struct db_stmt *s, struct store_order *o)
{
	const struct db_driver *d = st->db->drv;
	struct cd_err ignore;

	memset(o, 0, sizeof(*o));
	o->order_id = d->col_int64(s, 0);
	o->campaign_id = d->col_int64(s, 1);
	o->old_issuance_id = d->col_int64(s, 2);
	o->new_issuance_id = d->col_int64(s, 3);
	COPY(o->certificate_id, 4);
	if (order_state_parse(d->col_text(s, 5) ? d->col_text(s, 5) : "", &o->state, &ignore))
		o->state = ORDER_FAILED; /* unreadable state: never run it */
	o->attempt = (int)d->col_int64(s, 6);
	o->retries = (int)d->col_int64(s, 7);
	COPY(o->requested_by, 8);
	COPY(o->failure, 9);
	o->failure_retryable = d->col_int64(s, 10) != 0;
	COPY(o->failure_detail, 11);
	o->revocation_pending = d->col_int64(s, 12) != 0;
	COPY(o->lease_owner, 13);
	o->lease_expires = d->col_int64(s, 14);
	o->next_run_at = d->col_int64(s, 15);
	o->created_at = d->col_int64(s, 16);
	o->updated_at = d->col_int64(s, 17);
	COPY(o->names, 18);
}

int store_order_get(store_t *st, int64_t order_id, struct store_order *out, struct cd_err *err)
{
	static char sql[512];
	struct db_stmt *s;
	int rc;

	if (!sql[0]) /* built once; the statement cache keys on this pointer */
		snprintf(sql, sizeof(sql), "SELECT %s FROM orders WHERE order_id = $1", ORDER_COLS);
	rc = db_stmt(st->db, sql, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "i", order_id);
	if (rc == 1)
		read_order(st, s, out);
	st->db->drv->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no order %lld", (long long)order_id);
	return rc < 0 ? rc : 0;
}

/* Orders already in flight come first: finishing them frees the CA, the
 * servers and the mail for the next, and a queued order is started only while
 * fewer than max_in_flight orders (across every node) are past `queued` or
 * being started (a queued order under a live lease). Otherwise a queue of
 * 10,000 would start every order and finish none until all were started.
 *
 * Each statement names the states it wants, so that it reads the
 * (state, next_run_at) index and never the done orders, which pile up: the
 * in-flight states are listed from core's state machine once. */
#define CLAIM_FREE                                                                                 \
	"next_run_at <= $1 AND (lease_owner IS NULL OR lease_expires < $1 "                        \
	"OR (substr(lease_owner, 1, length($2)) = $2 AND substr(lease_owner, 1, length($3)) <> "   \
	"$3 AND NOT EXISTS (SELECT 1 FROM worker_nodes w WHERE w.node || '/' = $2 "                \
	"AND w.expires_at >= $1 AND substr(lease_owner, 1, length($2) + length(w.boot) + 1) = "    \
	"$2 || w.boot || '/'))) ORDER BY next_run_at, order_id LIMIT $4"
static const char SQL_CLAIM_QUEUED[] =
    "SELECT order_id, lease_owner FROM orders WHERE state = 'queued' "
    /* a paused campaign (0: all) starts no queued order (src/store/bulk.c) */
    "AND NOT EXISTS (SELECT 1 FROM campaign_pauses p "
    "WHERE p.campaign_id = 0 OR p.campaign_id = orders.campaign_id) AND " CLAIM_FREE;
/* PostgreSQL runs writers concurrently (SQLite's BEGIN IMMEDIATE does not):
 * the rows found are locked, and rows another node is claiming are skipped */
#define SKIP_LOCKED " FOR UPDATE SKIP LOCKED"
static const char SQL_CLAIM_QUEUED_PG[] =
    "SELECT order_id, lease_owner FROM orders WHERE state = 'queued' "
    "AND NOT EXISTS (SELECT 1 FROM campaign_pauses p "
    "WHERE p.campaign_id = 0 OR p.campaign_id = orders.campaign_id) AND " CLAIM_FREE SKIP_LOCKED;
static const char SQL_TAKE[] =
    "UPDATE orders SET lease_owner = $2, lease_expires = $3 WHERE order_id = $1";
static char sql_claim_in_flight[1024], sql_claim_in_flight_pg[1100], sql_count_in_flight[1024];
static pthread_once_t sql_once = PTHREAD_ONCE_INIT;

static void build_sql(void)
{
	char states[256] = "";
	size_t used = 0;

	for (int s = ORDER_QUEUED + 1; s < ORDER_STATE_COUNT; s++)
		if (order_state_is_open((enum order_state)s))
			used += (size_t)snprintf(states + used, sizeof(states) - used, "%s'%s'",
						 used ? ", " : "",
						 order_state_name((enum order_state)s));
	snprintf(sql_claim_in_flight, sizeof(sql_claim_in_flight),
		 "SELECT order_id, lease_owner FROM orders WHERE state IN (%s) AND %s", states,
		 CLAIM_FREE);
	snprintf(sql_claim_in_flight_pg, sizeof(sql_claim_in_flight_pg), "%s" SKIP_LOCKED,
		 sql_claim_in_flight);
	snprintf(sql_count_in_flight, sizeof(sql_count_in_flight),
		 "SELECT (SELECT COUNT(*) FROM orders WHERE state IN (%s)) + (SELECT COUNT(*) "
		 "FROM orders WHERE state = 'queued' AND lease_owner IS NOT NULL AND "
		 "lease_expires >= $1)",
		 states);
}

static int count_in_flight(store_t *st, int64_t now, int64_t *n, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql_count_in_flight, &s, err);

	if (rc)
		return rc;
	*n = 0;
	rc = db_run(st->db, s, err, "i", now);
	if (rc == 1)
		*n = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

/* Adds up to max - *got claimable orders of one statement to ids[]. */
static int pick(store_t *st, const char *sql, const char *sql_pg, const struct store_claim *c,
		const char *prefix, const char *mine, int max, int64_t *ids, int *got,
		int *takeovers, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, st->db->drv == &db_pg_driver ? sql_pg : sql, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "itti", c->now, prefix, mine, (int64_t)(max - *got));
	     rc == 1 && *got < max; rc = db_next(st->db, s, err)) {
		const char *prev = st->db->drv->col_text(s, 1);

		ids[(*got)++] = st->db->drv->col_int64(s, 0);
		if (prev && strncmp(prev, prefix, strlen(prefix)) != 0)
			(*takeovers)++;
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_orders_claim(store_t *st, const struct store_claim *c, int max, int64_t *ids, int *n,
		       int *takeovers, struct cd_err *err)
{
	char prefix[200], mine[260];
	int64_t in_flight = 0;
	int rc, got = 0, room;

	*n = 0;
	*takeovers = 0;
	pthread_once(&sql_once, build_sql);
	snprintf(prefix, sizeof(prefix), "%s/", c->node);
	snprintf(mine, sizeof(mine), "%s/%s/", c->node, c->boot);
	rc = store_begin(st, err);
	if (rc)
		return rc;
	rc = pick(st, sql_claim_in_flight, sql_claim_in_flight_pg, c, prefix, mine, max, ids, &got,
		  takeovers, err);
	if (!rc && got < max)
		rc = count_in_flight(st, c->now, &in_flight, err);
	if (!rc && got < max) {
		room = max - got;
		if (c->max_in_flight > 0 && in_flight + room > c->max_in_flight)
			room =
			    in_flight < c->max_in_flight ? (int)(c->max_in_flight - in_flight) : 0;
		if (room > 0)
			rc = pick(st, SQL_CLAIM_QUEUED, SQL_CLAIM_QUEUED_PG, c, prefix, mine,
				  got + room, ids, &got, takeovers, err);
	}
	for (int i = 0; !rc && i < got; i++)
		rc = RUN(st, SQL_TAKE, NULL, err, "iti", ids[i], c->owner,
			 c->now + c->lease_seconds);
	/* shared by every node, for /metrics */
	if (!rc)
		rc = store_metric_add(st, "lease_takeovers", "", *takeovers, err);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	rc = store_commit(st, err);
	if (rc)
		return rc;
	*n = got;
	return 0;
}

static const char SQL_UPDATE[] =
    "UPDATE orders SET state = $4, updated_at = $5, next_run_at = $6, "
    "lease_owner = CASE WHEN CAST($7 AS BIGINT) = 0 THEN NULL ELSE lease_owner END, "
    "lease_expires = CASE WHEN $7 = 0 THEN NULL ELSE $7 END, "
    "retries = $8, attempt = $9, names = COALESCE($10, names), "
    "new_issuance_id = CASE WHEN CAST($11 AS BIGINT) = 0 THEN new_issuance_id ELSE $11 END, "
    "failure = CASE WHEN $12 = 1 THEN $13 ELSE failure END, "
    "failure_retryable = CASE WHEN $12 = 1 THEN $14 ELSE failure_retryable END, "
    "failure_detail = CASE WHEN $12 = 1 THEN $15 ELSE failure_detail END, "
    "revocation_pending = CASE WHEN $16 < 0 THEN revocation_pending ELSE $16 END "
    "WHERE order_id = $1 AND state = $2 AND lease_owner = $3";

static const char SQL_OLD_CURRENT[] =
    "UPDATE certificates SET current_issuance_id = o.old_issuance_id, updated_at = $2 "
    "FROM orders o WHERE o.order_id = $1 AND certificates.certificate_id = o.certificate_id "
    "AND certificates.current_issuance_id = o.new_issuance_id";

int store_order_update(store_t *st, const struct store_order_update *u, struct cd_err *err)
{
	const char *from = order_state_name(u->from), *to = order_state_name(u->to);
	const char *kind = u->event_kind;
	int changed = 0, rc;

	if (u->from != u->to) {
		rc = order_transition_check(u->from, u->to, err);
		if (rc)
			return rc;
	}
	rc = store_begin(st, err);
	if (rc)
		return rc;
	/* a terminal order is nobody's: its lease goes with the last step */
	rc = RUN(st, SQL_UPDATE, &changed, err, "itttiiiiitibtbti", u->order_id, from, u->owner, to,
		 u->now, u->next_run_at, order_state_is_terminal(u->to) ? 0 : u->lease_expires,
		 (int64_t)u->retries, (int64_t)u->attempt, u->names, u->new_issuance_id,
		 (int)u->set_failure, u->failure, (int)u->failure_retryable, u->failure_detail,
		 (int64_t)u->revocation_pending);
	if (rc)
		goto fail;
	if (!changed) {
		rc = cd_err_set(err, CD_ESTATE, true,
				"order %lld: lease lost (no longer %s, or held by another worker)",
				(long long)u->order_id, from);
		goto fail;
	}
	/* every problem an order met (a retry or its failure), by code, for /metrics */
	if (u->set_failure && u->failure) {
		rc = store_metric_add(st, "order_problems", u->failure, 1, err);
		if (rc)
			goto fail;
	}
	if (u->to == ORDER_FAILED && (u->from == ORDER_ISSUED || u->from == ORDER_INSTALLED)) {
		/* the new certificate was never live and the old one is back on the
		 * server: it is the current one again (status, campaigns, a new order) */
		rc = RUN(st, SQL_OLD_CURRENT, NULL, err, "ii", u->order_id, u->now);
		if (rc)
			goto fail;
	}
	if (!kind && u->from != u->to)
		kind = "order.transition";
	if (kind) {
		rc = store_event_add(st,
				     &(struct store_event){ .at = u->now,
							    .actor = u->actor,
							    .kind = kind,
							    .order_id = u->order_id,
							    .certificate_id = u->certificate_id,
							    .campaign_id = u->campaign_id,
							    .from_state = from,
							    .to_state = to,
							    .detail = u->event_detail },
				     err);
		if (rc)
			goto fail;
	}
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

int store_orders_release(store_t *st, const char *owner, struct cd_err *err)
{
	return RUN(st,
		   "UPDATE orders SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = "
		   "$1",
		   NULL, err, "t", owner);
}

/* --- attempts ------------------------------------------------------------- */

int store_attempt_create(store_t *st, const struct store_attempt *a, struct cd_err *err)
{
	return RUN(st,
		   "INSERT INTO attempts (order_id, attempt, ca, key_secret_id, state, created_at) "
		   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id, attempt) DO NOTHING",
		   NULL, err, "iittti", a->order_id, (int64_t)a->attempt, a->ca,
		   a->key_secret_id[0] ? a->key_secret_id : NULL, a->state, a->created_at);
}

static const char SQL_ATTEMPT_GET[] =
    "SELECT ca, acme_order_url, key_secret_id, state, tokens, failure, "
    "COALESCE(ordering_at, 0), COALESCE(finalized_at, 0), created_at "
    "FROM attempts WHERE order_id = $1 AND attempt = $2";

int store_attempt_get(store_t *st, int64_t order_id, int attempt, struct store_attempt *out,
		      struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_ATTEMPT_GET, &s, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = db_run(st->db, s, err, "ii", order_id, (int64_t)attempt);
	if (rc == 1) {
		out->order_id = order_id;
		out->attempt = attempt;
		COPY(out->ca, 0);
		COPY(out->acme_order_url, 1);
		COPY(out->key_secret_id, 2);
		COPY(out->state, 3);
		COPY(out->tokens, 4);
		COPY(out->failure, 5);
		out->ordering_at = st->db->drv->col_int64(s, 6);
		out->finalized_at = st->db->drv->col_int64(s, 7);
		out->created_at = st->db->drv->col_int64(s, 8);
	}
	st->db->drv->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "order %lld has no attempt %d",
				  (long long)order_id, attempt);
	return rc < 0 ? rc : 0;
}

int store_attempt_save(store_t *st, const struct store_attempt *a, struct cd_err *err)
{
	int changed = 0;
	int rc = RUN(st,
		     "UPDATE attempts SET acme_order_url = $3, key_secret_id = $4, state = $5, "
		     "tokens = $6, failure = $7, ordering_at = $8, finalized_at = $9 "
		     "WHERE order_id = $1 AND attempt = $2",
		     &changed, err, "iitttttii", a->order_id, (int64_t)a->attempt,
		     a->acme_order_url[0] ? a->acme_order_url : NULL,
		     a->key_secret_id[0] ? a->key_secret_id : NULL, a->state,
		     a->tokens[0] ? a->tokens : NULL, a->failure[0] ? a->failure : NULL,
		     a->ordering_at, a->finalized_at);

	if (!rc && !changed)
		rc = cd_err_set(err, CD_ENOTFOUND, false, "order %lld has no attempt %d",
				(long long)a->order_id, a->attempt);
	return rc;
}

/* The one number a COUNT(*) statement answers. */
static int count_of(store_t *st, const char *sql, int64_t *n, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	*n = 0;
	rc = db_run(st->db, s, err, "");
	if (rc == 1)
		*n = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_attempts_orphaned(store_t *st, int64_t *n, struct cd_err *err)
{
	return count_of(st,
			"SELECT COUNT(*) FROM attempts WHERE ordering_at IS NOT NULL AND "
			"acme_order_url IS NULL AND state <> 'ordering'",
			n, err);
}

/* --- a step's context -------------------------------------------------------- */

/* The site is the one named like the common name, else its www/bare twin
 * (the same rule as the status view). */
static const char SQL_CONTEXT[] =
    "SELECT m.member_id, m.email, m.display_name, m.locale, c.common_name, c.product, "
    "COALESCE(s.fqdn, ''), COALESCE(s.state, ''), COALESCE(sv.server, ''), "
    "COALESCE(sv.state, ''), COALESCE(sv.ipv4, ''), COALESCE(sv.ipv6, ''), "
    "COALESCE(sv.driver, ''), COALESCE(sv.http_port, 0), COALESCE(sv.https_port, 0), "
    "c.term_end_at, i.serial, i.sha256, COALESCE(i.ca, ''), COALESCE(i.key_secret_id, ''), "
    "i.issuer_dn, i.not_after, i.chain_pem "
    "FROM certificates c JOIN members m ON m.member_id = c.member_id "
    "JOIN issuances i ON i.issuance_id = $2 "
    "LEFT JOIN sites s ON s.fqdn = COALESCE((SELECT fqdn FROM sites WHERE fqdn = "
    "c.common_name), (SELECT fqdn FROM sites WHERE fqdn = CASE WHEN c.common_name LIKE "
    "'www.%' THEN substr(c.common_name, 5) ELSE 'www.' || c.common_name END)) "
    "LEFT JOIN servers sv ON sv.server = s.server "
    "WHERE c.certificate_id = $1";

int store_order_context_get(store_t *st, const struct store_order *o,
			    struct store_order_context *out, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_CONTEXT, &s, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = db_run(st->db, s, err, "ti", o->certificate_id, o->old_issuance_id);
	if (rc == 1) {
		const char *pem = d->col_text(s, 22);

		COPY(out->member_id, 0);
		COPY(out->member_email, 1);
		COPY(out->member_name, 2);
		COPY(out->member_locale, 3);
		COPY(out->common_name, 4);
		COPY(out->product, 5);
		COPY(out->fqdn, 6);
		COPY(out->site_state, 7);
		COPY(out->server, 8);
		COPY(out->server_state, 9);
		COPY(out->ipv4, 10);
		COPY(out->ipv6, 11);
		COPY(out->driver, 12);
		out->http_port = (int)d->col_int64(s, 13);
		out->https_port = (int)d->col_int64(s, 14);
		out->term_end_at = d->col_int64(s, 15);
		COPY(out->old_serial, 16);
		COPY(out->old_sha256, 17);
		COPY(out->old_ca, 18);
		COPY(out->old_key_secret_id, 19);
		COPY(out->old_issuer_dn, 20);
		out->old_not_after = d->col_int64(s, 21);
		out->old_chain_pem = strdup(pem ? pem : "");
		if (!out->old_chain_pem)
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	d->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false,
				  "order %lld: certificate '%s' or its issuance is gone",
				  (long long)o->order_id, o->certificate_id);
	return rc < 0 ? rc : 0;
}

void store_order_context_free(struct store_order_context *c)
{
	if (c) {
		free(c->old_chain_pem);
		c->old_chain_pem = NULL;
	}
}

/* --- the new certificate ----------------------------------------------------- */

static const char SQL_ISSUED_INSERT[] =
    "INSERT INTO issuances (certificate_id, source, ca, issuer_dn, issuer_der, aki, serial, "
    "not_before, not_after, sha256, sans, key_type, chain_pem, key_secret_id, order_id, "
    "created_at) VALUES ($1, 'acme', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15) ON CONFLICT (certificate_id, sha256) DO NOTHING";
static const char SQL_ISSUED_ID[] =
    "SELECT issuance_id FROM issuances WHERE certificate_id = $1 AND sha256 = $2";

int store_issuance_add_issued(store_t *st, const char *certificate_id,
			      const struct store_issuance *is, int64_t now, int64_t *issuance_id,
			      struct cd_err *err)
{
	struct db_stmt *s;
	int rc = store_begin(st, err);

	if (rc)
		return rc;
	rc = RUN(st, SQL_ISSUED_INSERT, NULL, err, "ttttttiitttttii", certificate_id, is->ca,
		 is->issuer_dn, is->issuer_der_hex, is->aki ? is->aki : "", is->serial,
		 is->not_before, is->not_after, is->sha256, is->sans,
		 is->key_type ? is->key_type : "", is->chain_pem, is->key_secret_id, is->order_id,
		 now);
	if (rc)
		goto fail;
	rc = db_stmt(st->db, SQL_ISSUED_ID, &s, err);
	if (rc)
		goto fail;
	rc = db_run(st->db, s, err, "tt", certificate_id, is->sha256);
	if (rc == 1)
		*issuance_id = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	if (rc != 1) {
		rc = rc < 0 ? rc : cd_err_set(err, CD_EINTERNAL, false, "issuance vanished");
		goto fail;
	}
	rc = RUN(st,
		 "UPDATE certificates SET current_issuance_id = $2, updated_at = $3 "
		 "WHERE certificate_id = $1",
		 NULL, err, "tii", certificate_id, *issuance_id, now);
	if (rc)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

int store_installed_set(store_t *st, const char *server, const char *const *names, size_t n,
			const struct store_installed *w, int64_t now, struct cd_err *err)
{
	int rc = store_begin(st, err);

	for (size_t i = 0; !rc && i < n; i++)
		rc = RUN(
		    st,
		    "INSERT INTO installed (server, name, sha256, serial, issuer_dn, not_after, "
		    "source_file, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
		    "ON CONFLICT (server, name) DO UPDATE SET sha256 = excluded.sha256, "
		    "serial = excluded.serial, issuer_dn = excluded.issuer_dn, "
		    "not_after = excluded.not_after, source_file = excluded.source_file, "
		    "seen_at = excluded.seen_at",
		    NULL, err, "tttttiti", server, names[i], w->sha256, w->serial, w->issuer_dn,
		    w->not_after, w->source_file, now);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

/* --- listings for operators ----------------------------------------------- */

int store_orders_each(store_t *st, const char *state, bool revocation_pending_only, int limit,
		      int (*fn)(const struct store_order *o, void *arg), void *arg,
		      struct cd_err *err)
{
	static char sql[768];
	struct db_stmt *s;
	int rc;

	if (!sql[0])
		snprintf(sql, sizeof(sql),
			 "SELECT %s FROM orders WHERE (CAST($1 AS TEXT) = '' OR state = $1) "
			 "AND ($2 = 0 OR revocation_pending = 1) ORDER BY order_id DESC LIMIT $3",
			 ORDER_COLS);
	rc = db_stmt(st->db, sql, &s, err);
	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "tbi", state ? state : "", (int)revocation_pending_only,
			 (int64_t)(limit > 0 ? limit : 1000000));
	     rc == 1; rc = db_next(st->db, s, err)) {
		struct store_order o;

		read_order(st, s, &o);
		rc = fn(&o, arg);
		if (rc)
			break;
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_orders_count_open(store_t *st, int64_t *open, struct cd_err *err)
{
	return count_of(st,
			"SELECT COUNT(*) FROM orders WHERE state NOT IN ('done', 'failed', "
			"'canceled')",
			open, err);
}

static const char SQL_ISSUANCE_GET[] =
    "SELECT certificate_id, source, COALESCE(ca, ''), issuer_dn, serial, sha256, sans, "
    "key_type, COALESCE(key_secret_id, ''), not_before, not_after, COALESCE(order_id, 0), "
    "chain_pem FROM issuances WHERE issuance_id = $1";

int store_issuance_get(store_t *st, int64_t issuance_id, struct store_issuance_row *out,
		       struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_ISSUANCE_GET, &s, err);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = db_run(st->db, s, err, "i", issuance_id);
	if (rc == 1) {
		const char *pem = d->col_text(s, 12);

		out->issuance_id = issuance_id;
		COPY(out->certificate_id, 0);
		COPY(out->source, 1);
		COPY(out->ca, 2);
		COPY(out->issuer_dn, 3);
		COPY(out->serial, 4);
		COPY(out->sha256, 5);
		COPY(out->sans, 6);
		COPY(out->key_type, 7);
		COPY(out->key_secret_id, 8);
		out->not_before = d->col_int64(s, 9);
		out->not_after = d->col_int64(s, 10);
		out->order_id = d->col_int64(s, 11);
		out->chain_pem = strdup(pem ? pem : "");
		if (!out->chain_pem)
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	d->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no issuance %lld",
				  (long long)issuance_id);
	return rc < 0 ? rc : 0;
}

void store_issuance_row_free(struct store_issuance_row *r)
{
	if (r) {
		free(r->chain_pem);
		r->chain_pem = NULL;
	}
}

/* --- operator actions ------------------------------------------------------ */

static int operator_action(store_t *st, int64_t order_id, const char *actor, int64_t now,
			   bool cancel, struct cd_err *err)
{
	struct store_order o;
	int changed = 0;
	int rc = store_begin(st, err);

	if (rc)
		return rc;
	rc = store_order_get(st, order_id, &o, err);
	if (rc)
		goto fail;
	if (!order_state_is_open(o.state)) {
		rc = cd_err_set(err, CD_ESTATE, false, "order %lld is %s already",
				(long long)order_id, order_state_name(o.state));
		goto fail;
	}
	if (cancel && !order_state_can_cancel(o.state)) {
		rc =
		    cd_err_set(err, CD_ESTATE, false,
			       "order %lld is %s: finalize was sent to the CA, so it can no longer "
			       "be canceled",
			       (long long)order_id, order_state_name(o.state));
		goto fail;
	}
	if (o.lease_owner[0] && o.lease_expires >= now) {
		rc = cd_err_set(err, CD_EBUSY, true,
				"order %lld is being worked on by %s; try again in a moment",
				(long long)order_id, o.lease_owner);
		goto fail;
	}
	rc = RUN(st,
		 cancel
		     ? "UPDATE orders SET state = 'canceled', updated_at = $3, lease_owner = NULL, "
		       "lease_expires = NULL WHERE order_id = $1 AND state = $2"
		     : "UPDATE orders SET next_run_at = $3, retries = 0, updated_at = $3 "
		       "WHERE order_id = $1 AND state = $2",
		 &changed, err, "iti", order_id, order_state_name(o.state), now);
	if (!rc && !changed)
		rc = cd_err_set(err, CD_EBUSY, true, "order %lld moved; try again",
				(long long)order_id);
	if (!rc)
		rc =
		    store_event_add(st,
				    &(struct store_event){
					.at = now,
					.actor = actor,
					.kind = cancel ? "order.transition" : "order.kick",
					.order_id = order_id,
					.certificate_id = o.certificate_id,
					.campaign_id = o.campaign_id,
					.from_state = order_state_name(o.state),
					.to_state = cancel ? "canceled" : order_state_name(o.state),
					.detail = cancel ? "canceled by an operator"
							 : "made due now by an operator" },
				    err);
	if (rc)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

int store_order_kick(store_t *st, int64_t order_id, const char *actor, int64_t now,
		     struct cd_err *err)
{
	return operator_action(st, order_id, actor, now, false, err);
}

int store_order_cancel(store_t *st, int64_t order_id, const char *actor, int64_t now,
		       struct cd_err *err)
{
	return operator_action(st, order_id, actor, now, true, err);
}

/* failed -> issued: the order already holds its new certificate, so a retry
 * installs that one instead of asking the CA for another (invariant 2: an
 * order yields at most one certificate). Only for the certificate's newest
 * order, whose new or old certificate is the current one (the old one when
 * its failure put that back), so an older order never puts back a
 * certificate a later one replaced. */
static const char SQL_RESUMABLE[] =
    "SELECT (SELECT MAX(order_id) FROM orders WHERE certificate_id = $1), "
    "COALESCE((SELECT current_issuance_id FROM certificates WHERE certificate_id = $1), 0)";

int store_order_resume(store_t *st, int64_t order_id, const char *actor, int64_t now,
		       struct cd_err *err)
{
	struct store_order o;
	struct db_stmt *s;
	int64_t newest = 0, current = 0;
	int changed = 0;
	int rc = store_begin(st, err);

	if (rc)
		return rc;
	rc = store_order_get(st, order_id, &o, err);
	if (rc)
		goto fail;
	if (o.state != ORDER_FAILED || o.new_issuance_id == 0) {
		rc = cd_err_set(err, CD_ESTATE, false,
				"order %lld is %s%s: only an order that failed after its "
				"certificate was issued can be resumed",
				(long long)order_id, order_state_name(o.state),
				o.state == ORDER_FAILED ? " before issuance" : "");
		goto fail;
	}
	rc = order_transition_check(ORDER_FAILED, ORDER_ISSUED, err);
	if (rc)
		goto fail;
	rc = db_stmt(st->db, SQL_RESUMABLE, &s, err);
	if (rc)
		goto fail;
	rc = db_run(st->db, s, err, "t", o.certificate_id);
	if (rc == 1) {
		newest = st->db->drv->col_int64(s, 0);
		current = st->db->drv->col_int64(s, 1);
	}
	st->db->drv->reset(s);
	if (rc < 0)
		goto fail;
	if (newest != order_id || (current != o.new_issuance_id && current != o.old_issuance_id)) {
		rc = cd_err_set(err, CD_ESTATE, false,
				"order %lld is not the latest for certificate %s (order %lld came "
				"after it, or its certificate is no longer the current one)",
				(long long)order_id, o.certificate_id, (long long)newest);
		goto fail;
	}
	rc = RUN(st,
		 "UPDATE orders SET state = 'issued', retries = 0, next_run_at = $2, "
		 "updated_at = $2, lease_owner = NULL, lease_expires = NULL "
		 "WHERE order_id = $1 AND state = 'failed'",
		 &changed, err, "ii", order_id, now);
	if (rc == -CD_ECONFLICT)
		rc = cd_err_set(err, CD_ECONFLICT, false,
				"certificate '%s' already has an open reissue order",
				o.certificate_id);
	if (!rc && !changed)
		rc = cd_err_set(err, CD_EBUSY, true, "order %lld moved; try again",
				(long long)order_id);
	if (!rc) /* as when it was issued: its certificate is the current one */
		rc = RUN(st,
			 "UPDATE certificates SET current_issuance_id = $2, updated_at = $3 "
			 "WHERE certificate_id = $1",
			 NULL, err, "tii", o.certificate_id, o.new_issuance_id, now);
	if (!rc)
		rc = store_event_add(st,
				     &(struct store_event){
					 .at = now,
					 .actor = actor,
					 .kind = "order.transition",
					 .order_id = order_id,
					 .certificate_id = o.certificate_id,
					 .campaign_id = o.campaign_id,
					 .from_state = order_state_name(ORDER_FAILED),
					 .to_state = order_state_name(ORDER_ISSUED),
					 .detail = "resumed by an operator: the certificate issued "
						   "for this order is installed again" },
				     err);
	if (rc)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return rc;
}

int store_order_retry(store_t *st, int64_t order_id, const char *actor, int64_t now,
		      enum store_retry_how *how, int64_t *new_id, struct cd_err *err)
{
	struct store_order o;
	bool created;
	int rc = store_order_get(st, order_id, &o, err);

	*new_id = 0;
	if (rc)
		return rc;
	if (o.state == ORDER_FAILED && o.new_issuance_id) {
		*how = STORE_RETRY_RESUMED;
		return store_order_resume(st, order_id, actor, now, err);
	}
	if (o.state == ORDER_FAILED) {
		*how = STORE_RETRY_NEW_ORDER;
		return store_order_create(st, o.certificate_id, o.campaign_id, actor, NULL, now,
					  new_id, &created, err);
	}
	*how = STORE_RETRY_DUE_NOW;
	return store_order_kick(st, order_id, actor, now, err);
}
