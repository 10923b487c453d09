/*
 * progress.c - a campaign's targets counted by status, for /metrics, the
 * operator pages, `campaign show` and `campaign report`: one aggregate that
 * gathers the facts eligibility_of() decides on and groups the targets with
 * equal facts, so that the rule runs once per group in C (never restated in
 * SQL) and a campaign of 300,000 targets costs one statement, not a view each.
 *
 * The facts are those view.c gathers for one certificate: its site is the one
 * named like the common name, or else its www-pair; what that site's server
 * has installed for the name; a pending setting; its last order (an open
 * order is always the last one: a failed order is never resumed, and there is
 * never a second open one). Only what the rule reads is selected, so that
 * equal facts fall into one group.
 */
#include <stdlib.h>
#include <string.h>

#include "core/product.h"
#include "store/store_priv.h"

#define FACTS_COLS                                                                                 \
	"CASE WHEN lo.state IN ('done', 'canceled') THEN NULL ELSE lo.state END AS last_state, "   \
	"CASE WHEN lo.state = 'failed' THEN COALESCE(lo.failure, '') END AS last_failure, "        \
	"CASE WHEN lo.state = 'failed' THEN COALESCE(lo.failure_retryable, 0) ELSE 0 END "         \
	"  AS last_retryable, "                                                                    \
	"COALESCE(s1.state, s2.state) AS site_state, sv.state AS server_state, "                   \
	"(SELECT CASE WHEN EXISTS (SELECT 1 FROM issuances j WHERE j.certificate_id = "            \
	"  c.certificate_id AND j.sha256 = ins.sha256) THEN 1 ELSE 2 END FROM installed ins "      \
	"  WHERE ins.server = COALESCE(s1.server, s2.server) AND ins.name = c.common_name) "       \
	"  AS installed, "                                                                         \
	"CASE WHEN EXISTS (SELECT 1 FROM ssl_settings x WHERE x.common_name = c.common_name "      \
	"  AND (COALESCE(s1.fqdn, s2.fqdn) IS NULL OR x.fqdn = COALESCE(s1.fqdn, s2.fqdn))) "      \
	"  THEN 1 ELSE 0 END AS pending_setting "
#define FACTS_JOINS                                                                                \
	"LEFT JOIN orders lo ON lo.order_id = (SELECT MAX(o.order_id) FROM orders o "              \
	"  WHERE o.certificate_id = c.certificate_id) "                                            \
	"LEFT JOIN sites s1 ON s1.fqdn = c.common_name "                                           \
	"LEFT JOIN sites s2 ON s1.fqdn IS NULL AND s2.fqdn = (CASE WHEN c.common_name LIKE "       \
	"  'www.%' THEN substr(c.common_name, 5) ELSE 'www.' || c.common_name END) "               \
	"LEFT JOIN servers sv ON sv.server = COALESCE(s1.server, s2.server) "
#define FACTS_GROUP                                                                                \
	"last_state, last_failure, last_retryable, site_state, server_state, installed, "          \
	"pending_setting"

/* The seven FACTS_COLS from column col on, into f (family and targets are
 * the caller's). */
static void facts_read(store_t *st, struct db_stmt *s, int col, struct cert_facts *f)
{
	const struct db_driver *d = st->db->drv;
	enum order_state last;
	const char *v;

	if (!d->col_null(s, col) && order_state_parse(d->col_text(s, col), &last, NULL) == 0) {
		if (order_state_is_open(last)) {
			f->open_order = true;
			f->open_state = last;
		} else if (last == ORDER_FAILED) {
			v = d->col_text(s, col + 1);
			if (!v || failure_code_parse(v, &f->last_failure, NULL) != 0)
				f->last_failure = FAILURE_INTERNAL;
			f->last_failure_retryable = d->col_int64(s, col + 2) != 0;
		}
	}
	f->site_known = !d->col_null(s, col + 3);
	if (f->site_known && site_state_parse(d->col_text(s, col + 3), &f->site_state, NULL) != 0)
		f->site_state = SITE_DELETED;
	f->server_known = !d->col_null(s, col + 4);
	if (f->server_known &&
	    server_state_parse(d->col_text(s, col + 4), &f->server_state, NULL) != 0)
		f->server_state = SERVER_BROKEN;
	f->installed = d->col_null(s, col + 5)	       ? INSTALLED_NONE
		       : d->col_int64(s, col + 5) == 1 ? INSTALLED_THIS
						       : INSTALLED_FOREIGN;
	f->pending_setting = d->col_int64(s, col + 6) != 0;
}

static enum product_family family_of(const char *code)
{
	const struct product *p = product_find(code);

	return p ? p->family : PRODUCT_RS;
}

/* --- every active campaign, for /metrics ------------------------------------------
 * Each target counted in its campaign alone: live while its issuance is valid,
 * reissued when that issuance was replaced. */
static const char SQL_PROGRESS[] =
    "SELECT campaign_id, name, deadline_at, product, reissued, " FACTS_GROUP ", COUNT(*) FROM ("
    "SELECT t.campaign_id, cp.name, cp.deadline_at, c.product, "
    "CASE WHEN t.issuance_id <> COALESCE(c.current_issuance_id, 0) THEN 1 ELSE 0 END "
    "  AS reissued, " FACTS_COLS "FROM campaign_targets t "
    "JOIN campaigns cp ON cp.campaign_id = t.campaign_id "
    "JOIN issuances it ON it.issuance_id = t.issuance_id "
    "JOIN certificates c ON c.certificate_id = t.certificate_id " FACTS_JOINS
    "WHERE cp.state = 'active' AND it.not_after > $1) facts "
    "GROUP BY campaign_id, name, deadline_at, product, reissued, " FACTS_GROUP " "
    "ORDER BY campaign_id";

/* One group of targets sharing their facts: the status the rule gives them. */
static void progress_add(store_t *st, struct db_stmt *s, struct store_campaign_progress *p)
{
	const struct db_driver *d = st->db->drv;
	int64_t n = d->col_int64(s, 12);
	struct campaign_target target = { .campaign_id = p->campaign_id,
					  .deadline = p->deadline_at,
					  .reissued = d->col_int64(s, 4) != 0 };
	struct cert_facts f = { .family = family_of(d->col_text(s, 3)),
				.targets = &target,
				.n_targets = 1 };
	struct eligibility e;

	facts_read(st, s, 5, &f);
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

/* --- one campaign as its members see it ------------------------------------------
 * Every target, with the status store_certificate_view's facts give it: a
 * certificate still needs a reissue while an active campaign targets its
 * current issuance and that issuance is still valid. Groups come in the
 * order of their first certificate, so that whatever a caller keys by them
 * (server, stage, reason) comes in the order a walk by certificate gives. */
static const char SQL_STATUS[] =
    "SELECT product, server, " FACTS_GROUP ", live, COUNT(*), MIN(certificate_id) AS first_id "
    "FROM (SELECT c.certificate_id, c.product, COALESCE(s1.server, s2.server, '') AS "
    "server, " FACTS_COLS ", CASE WHEN EXISTS (SELECT 1 FROM campaign_targets t2 "
    "JOIN campaigns cp2 ON cp2.campaign_id = t2.campaign_id "
    "JOIN issuances i2 ON i2.issuance_id = t2.issuance_id WHERE t2.certificate_id = "
    "c.certificate_id AND cp2.state = 'active' AND i2.not_after > $2 "
    "AND t2.issuance_id = COALESCE(c.current_issuance_id, 0)) THEN 1 ELSE 0 END AS live "
    "FROM campaign_targets t JOIN certificates c ON c.certificate_id = "
    "t.certificate_id " FACTS_JOINS "WHERE t.campaign_id = $1) facts "
    "GROUP BY product, server, " FACTS_GROUP ", live ORDER BY first_id";

int store_campaign_status_each(store_t *st, int64_t campaign_id, int64_t now,
			       int (*fn)(const struct store_status_group *g, void *arg), void *arg,
			       struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct store_status_group *all = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_STATUS, &s, err);

	if (rc)
		return rc;
	/* read the groups first: fn may run other statements */
	for (rc = db_run(st->db, s, err, "ii", campaign_id, now); rc == 1;
	     rc = db_next(st->db, s, err)) {
		struct campaign_target live = { 0 };
		struct cert_facts f = { .family = family_of(d->col_text(s, 0)) };
		struct store_status_group *g;
		struct eligibility e;

		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			g = realloc(all, cap * sizeof(*all));
			if (!g) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			all = g;
		}
		if (d->col_int64(s, 9) != 0) {
			f.targets = &live;
			f.n_targets = 1;
		}
		facts_read(st, s, 2, &f);
		eligibility_of(&f, &e);
		g = &all[n++];
		memset(g, 0, sizeof(*g));
		db_col_copy(st->db, s, 0, g->product, sizeof(g->product));
		db_col_copy(st->db, s, 1, g->server, sizeof(g->server));
		g->status = e.status;
		g->reason = e.reason;
		g->reasons = e.reasons;
		g->stage = e.stage;
		g->n = d->col_int64(s, 10);
	}
	d->reset(s);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = fn(&all[i], arg);
	free(all);
	return rc < 0 ? rc : 0;
}
