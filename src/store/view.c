/*
 * view.c - a certificate as its member sees it: the facts eligibility_of()
 * decides on (site, server, what is installed, pending settings, orders,
 * campaign targets) and what the list shows beside the status.
 */
#include <stdlib.h>
#include <string.h>

#include "core/product.h"
#include "store/store_priv.h"

/* The certificate's site is the one named like its common name, or else the
 * one named like its www-pair (a certificate for www.example.jp on the site
 * example.jp): s1 and s2 below, s1 first. */
#define SITE(col) "COALESCE(s1." col ", s2." col ")"
#define VIEW_SELECT                                                                                \
	"SELECT c.certificate_id, c.member_id, c.product, c.common_name, c.term_start, "           \
	"c.term_end, c.term_end_at, COALESCE(c.current_issuance_id, 0), i.issuer_dn, "             \
	"i.serial, i.sha256, COALESCE(i.not_before, 0), COALESCE(i.not_after, 0), " SITE(          \
	    "server") ", " SITE("state") ", sv.state, "                                            \
					 "(SELECT CASE WHEN EXISTS (SELECT 1 FROM issuances j "    \
					 "WHERE j.certificate_id = "                               \
					 "c.certificate_id AND j.sha256 = ins.sha256) THEN 1 "     \
					 "ELSE 2 END FROM installed ins "                          \
					 "WHERE ins.server = " SITE(                               \
					     "server") " AND ins.name = c.common_name), "          \
						       "EXISTS (SELECT 1 FROM ssl_settings x "     \
						       "WHERE x.common_name = c.common_name AND "  \
						       "(" SITE(                                   \
							   "fqdn") " IS NULL OR x.fqdn "           \
								   "= " SITE(                      \
								       "fqdn") ")) "               \
									       "FROM "             \
									       "certificates"      \
									       " c LEFT "          \
									       "JOIN "             \
									       "issuances i "      \
									       "ON "               \
									       "i.issuance_"       \
									       "id = "             \
									       "c.current_"        \
									       "issuance_id "      \
									       "LEFT JOIN "        \
									       "sites s1 ON "      \
									       "s1.fqdn = "        \
									       "c.common_"         \
									       "name "             \
									       "LEFT JOIN "        \
									       "sites s2 ON "      \
									       "s1.fqdn IS "       \
									       "NULL AND "         \
									       "s2.fqdn = "        \
									       "(CASE WHEN "       \
									       "c.common_"         \
									       "name LIKE "        \
									       "'www.%' "          \
									       "THEN "             \
									       "substr(c."         \
									       "common_name,"      \
									       " 5) ELSE "         \
									       "'www.' || "        \
									       "c.common_"         \
									       "name END) "        \
									       "LEFT JOIN "        \
									       "servers sv "       \
									       "ON "               \
									       "sv.server "        \
									       "= " SITE(          \
										   "server") " "

static const char SQL_VIEW_MEMBER[] =
    VIEW_SELECT "WHERE c.member_id = $1 ORDER BY c.common_name, c.certificate_id";
static const char SQL_VIEW_ONE[] = VIEW_SELECT "WHERE c.certificate_id = $1";

static const char SQL_OPEN_ORDER[] = "SELECT order_id, state FROM orders WHERE certificate_id = $1 "
				     "AND state NOT IN ('done', 'failed', 'canceled')";
static const char SQL_LAST_ORDER[] =
    "SELECT order_id, state, failure, COALESCE(failure_retryable, 0), failure_detail "
    "FROM orders WHERE certificate_id = $1 ORDER BY order_id DESC LIMIT 1";
static const char SQL_TARGETS[] =
    "SELECT t.campaign_id, cp.deadline_at, t.issuance_id <> $2 FROM campaign_targets t "
    "JOIN campaigns cp ON cp.campaign_id = t.campaign_id "
    "JOIN issuances i ON i.issuance_id = t.issuance_id "
    "WHERE t.certificate_id = $1 AND cp.state = 'active' AND i.not_after > $3 "
    "ORDER BY cp.deadline_at, t.campaign_id LIMIT 8";

static void read_row(store_t *st, struct db_stmt *s, struct store_cert_view *v)
{
	const struct db_driver *d = st->db->drv;
	const struct product *p;
	struct cd_err ignore;

	memset(v, 0, sizeof(*v));
	db_col_copy(st->db, s, 0, v->certificate_id, sizeof(v->certificate_id));
	db_col_copy(st->db, s, 1, v->member_id, sizeof(v->member_id));
	db_col_copy(st->db, s, 2, v->product, sizeof(v->product));
	db_col_copy(st->db, s, 3, v->common_name, sizeof(v->common_name));
	db_col_copy(st->db, s, 4, v->term_start, sizeof(v->term_start));
	db_col_copy(st->db, s, 5, v->term_end, sizeof(v->term_end));
	v->term_end_at = d->col_int64(s, 6);
	v->current_issuance_id = d->col_int64(s, 7);
	db_col_copy(st->db, s, 8, v->issuer_dn, sizeof(v->issuer_dn));
	db_col_copy(st->db, s, 9, v->serial, sizeof(v->serial));
	db_col_copy(st->db, s, 10, v->sha256, sizeof(v->sha256));
	v->not_before = d->col_int64(s, 11);
	v->not_after = d->col_int64(s, 12);
	db_col_copy(st->db, s, 13, v->server, sizeof(v->server));

	p = product_find(v->product);
	v->facts.family = p ? p->family : PRODUCT_RS;
	v->facts.site_known = !d->col_null(s, 14);
	if (v->facts.site_known &&
	    site_state_parse(d->col_text(s, 14), &v->facts.site_state, &ignore) != 0)
		v->facts.site_state = SITE_DELETED;
	v->facts.server_known = !d->col_null(s, 15);
	if (v->facts.server_known &&
	    server_state_parse(d->col_text(s, 15), &v->facts.server_state, &ignore) != 0)
		v->facts.server_state = SERVER_BROKEN;
	switch (d->col_null(s, 16) ? 0 : d->col_int64(s, 16)) {
	case 1:
		v->facts.installed = INSTALLED_THIS;
		break;
	case 2:
		v->facts.installed = INSTALLED_FOREIGN;
		break;
	default:
		v->facts.installed = INSTALLED_NONE;
	}
	v->facts.pending_setting = d->col_int64(s, 17) != 0;
}

/* Orders and campaign targets of one certificate. A target whose issuance
 * has expired since the campaign began no longer needs a reissue. */
static int complete(store_t *st, struct store_cert_view *v, int64_t now, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	size_t n = 0;
	int rc;

	rc = db_stmt(st->db, SQL_OPEN_ORDER, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", v->certificate_id);
	if (rc == 1) {
		v->open_order_id = d->col_int64(s, 0);
		v->facts.open_order =
		    order_state_parse(d->col_text(s, 1), &v->facts.open_state, err) == 0;
		if (!v->facts.open_order)
			rc = -CD_EDB;
	}
	d->reset(s);
	if (rc < 0)
		return rc;

	rc = db_stmt(st->db, SQL_LAST_ORDER, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", v->certificate_id);
	if (rc == 1) {
		v->last_order_id = d->col_int64(s, 0);
		if (strcmp(d->col_text(s, 1), "failed") == 0) {
			if (d->col_null(s, 2) ||
			    failure_code_parse(d->col_text(s, 2), &v->facts.last_failure, NULL) !=
				0)
				v->facts.last_failure = FAILURE_INTERNAL;
			v->facts.last_failure_retryable = d->col_int64(s, 3) != 0;
			db_col_copy(st->db, s, 4, v->failure_detail, sizeof(v->failure_detail));
		}
	}
	d->reset(s);
	if (rc < 0)
		return rc;

	rc = db_stmt(st->db, SQL_TARGETS, &s, err);
	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "tii", v->certificate_id, v->current_issuance_id, now);
	     rc == 1 && n < STORE_MAX_TARGETS; rc = db_next(st->db, s, err)) {
		v->targets[n].campaign_id = d->col_int64(s, 0);
		v->targets[n].deadline = d->col_int64(s, 1);
		v->targets[n].reissued = d->col_int64(s, 2) != 0;
		n++;
	}
	d->reset(s);
	if (rc < 0)
		return rc;
	v->facts.targets = v->targets;
	v->facts.n_targets = n;
	return 0;
}

int store_member_certificates(store_t *st, const char *member_id, int64_t now,
			      int (*fn)(const struct store_cert_view *v, void *arg), void *arg,
			      struct cd_err *err)
{
	struct store_cert_view *all = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *s;
	int rc;

	rc = db_stmt(st->db, SQL_VIEW_MEMBER, &s, err);
	if (rc)
		return rc;
	/* read the rows first: completing them runs other statements */
	for (rc = db_run(st->db, s, err, "t", member_id); rc == 1; rc = db_next(st->db, s, err)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct store_cert_view *na = realloc(all, cap * sizeof(*all));
			if (!na) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			all = na;
		}
		read_row(st, s, &all[n++]);
	}
	st->db->drv->reset(s);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = complete(st, &all[i], now, err);
		if (!rc)
			rc = fn(&all[i], arg);
	}
	free(all);
	return rc < 0 ? rc : 0;
}

int store_certificate_view(store_t *st, const char *certificate_id, int64_t now,
			   struct store_cert_view *out, struct cd_err *err)
{
	struct db_stmt *s;
	int rc;

	rc = db_stmt(st->db, SQL_VIEW_ONE, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", certificate_id);
	if (rc == 1)
		read_row(st, s, out);
	st->db->drv->reset(s);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no certificate '%s'", certificate_id);
	return complete(st, out, now, err);
}
