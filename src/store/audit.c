/*
 * audit.c - the audit trail's side of the events table: the source an event
 * is recorded with (the connection's default, set once by the CLI and per
 * request by the portal) and reading events back by certificate, member,
 * order or time for `certdesk events`.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_priv.h"

void store_set_source(store_t *st, const char *source)
{
	snprintf(st->source, sizeof(st->source), "%s", source ? source : "");
}

/* One statement per leading criterion, so that each is served by its index
 * (events_order, events_certificate, events_actor with certificates_member,
 * events_at); the other criteria narrow the rows it finds. */
#define EV_SELECT                                                                                  \
	"SELECT e.at, e.actor, e.kind, COALESCE(e.order_id, 0), e.certificate_id, "                \
	"COALESCE(e.campaign_id, 0), e.from_state, e.to_state, e.detail, e.source FROM events e "  \
	"WHERE "
#define EV_MEMBER                                                                                  \
	"(e.actor = 'member:' || $2 OR e.certificate_id IN "                                       \
	"(SELECT certificate_id FROM certificates WHERE member_id = $2))"
#define EV_REST                                                                                    \
	" AND (CAST($1 AS TEXT) = '' OR e.certificate_id = $1) "                                   \
	"AND (CAST($2 AS TEXT) = '' OR " EV_MEMBER ") "                                            \
	"AND (CAST($3 AS BIGINT) = 0 OR e.order_id = $3) AND e.at >= $4 "                          \
	"ORDER BY e.event_id LIMIT $5"

static const char SQL_BY_ORDER[] = EV_SELECT "e.order_id = $3" EV_REST;
static const char SQL_BY_CERT[] = EV_SELECT "e.certificate_id = $1" EV_REST;
static const char SQL_BY_MEMBER[] = EV_SELECT EV_MEMBER EV_REST;
static const char SQL_BY_TIME[] = EV_SELECT "e.at >= $4" EV_REST;

int store_events_query(store_t *st, const struct store_events_filter *f,
		       int (*fn)(const struct store_event *e, void *arg), void *arg,
		       struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	const char *cert = f->certificate_id ? f->certificate_id : "";
	const char *member = f->member_id ? f->member_id : "";
	const char *sql = f->order_id ? SQL_BY_ORDER
			  : cert[0]   ? SQL_BY_CERT
			  : member[0] ? SQL_BY_MEMBER
				      : SQL_BY_TIME;
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "ttiii", cert, member, f->order_id, f->since,
			 f->limit > 0 ? (int64_t)f->limit : INT64_MAX);
	     rc == 1; rc = db_next(st->db, s, err)) {
		struct store_event e = {
			.at = d->col_int64(s, 0),
			.actor = d->col_text(s, 1),
			.kind = d->col_text(s, 2),
			.order_id = d->col_int64(s, 3),
			.certificate_id = d->col_text(s, 4),
			.campaign_id = d->col_int64(s, 5),
			.from_state = d->col_text(s, 6),
			.to_state = d->col_text(s, 7),
			.detail = d->col_text(s, 8),
			.source = d->col_text(s, 9),
		};

		rc = fn(&e, arg);
		if (rc)
			break;
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

/* A certificate's or an order's events (the pages' and `orders show`'s
 * history): the same query, without member, time or limit. */
int store_events_each(store_t *st, const char *certificate_id, int64_t order_id,
		      int (*fn)(const struct store_event *e, void *arg), void *arg,
		      struct cd_err *err)
{
	const struct store_events_filter f = { .certificate_id = certificate_id,
					       .order_id = order_id };

	return store_events_query(st, &f, fn, arg, err);
}
