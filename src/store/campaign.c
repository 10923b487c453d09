/*
 * campaign.c - reissue campaigns and the certificates they target.
 *
 * A campaign targets a certificate's *current issuance* when it matches the
 * operator's criteria and is still valid; a target whose issuance has since
 * been replaced counts as reissued (see view.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

static const char SQL_CAMPAIGN_INSERT[] =
    "INSERT INTO campaigns (name, criteria, deadline, deadline_at, revocation_date, "
    "revocation_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "RETURNING campaign_id";

/* One statement, run once per (issuer, serial, product) combination given;
 * an empty parameter means "no criterion". */
static const char SQL_TARGETS_INSERT[] =
    "INSERT INTO campaign_targets (campaign_id, certificate_id, issuance_id) "
    "SELECT $1, c.certificate_id, i.issuance_id FROM certificates c "
    "JOIN issuances i ON i.issuance_id = c.current_issuance_id "
    "WHERE i.not_after > $2 "
    "AND (CAST($3 AS BIGINT) = 0 OR i.not_before >= $3) "
    "AND (CAST($4 AS BIGINT) = 0 OR i.not_before < $4) "
    "AND (CAST($5 AS TEXT) = '' OR i.issuer_der = $5) "
    "AND (CAST($6 AS TEXT) = '' OR i.aki = $6) "
    "AND (CAST($7 AS TEXT) = '' OR i.serial = $7) "
    "AND (CAST($8 AS TEXT) = '' OR c.product = $8) "
    "ON CONFLICT (campaign_id, certificate_id) DO NOTHING";

static const char SQL_TARGETS_COUNT[] =
    "SELECT COUNT(*) FROM campaign_targets WHERE campaign_id = $1";

static int count_targets(store_t *st, int64_t id, int64_t *out, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_TARGETS_COUNT, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "i", id);
	*out = rc == 1 ? st->db->drv->col_int64(s, 0) : 0;
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_campaign_create(store_t *st, struct store_campaign *c,
			  const struct store_campaign_filter *f, struct cd_err *err)
{
	struct db_stmt *s;
	size_t ni = f->n_issuers ? f->n_issuers : 1;
	size_t ns = f->serials ? f->n_serials : 1;
	size_t np = f->n_products ? f->n_products : 1;
	int rc;

	if (f->serials && f->n_serials == 0)
		return cd_err_set(err, CD_EINVAL, false, "the serial list is empty");
	rc = db_stmt(st->db, SQL_CAMPAIGN_INSERT, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "tttititi", c->name, c->criteria, c->deadline, c->deadline_at,
		    c->revocation_date[0] ? c->revocation_date : NULL, c->revocation_at,
		    c->created_by, c->created_at);
	if (rc == 1)
		c->campaign_id = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	if (rc == -CD_ECONFLICT)
		return cd_err_set(err, CD_ECONFLICT, false, "a campaign named '%s' exists already",
				  c->name);
	if (rc < 0)
		return rc;
	for (size_t a = 0; a < ni; a++)
		for (size_t b = 0; b < ns; b++)
			for (size_t p = 0; p < np; p++) {
				rc = RUN(st, SQL_TARGETS_INSERT, NULL, err, "iiiitttt",
					 c->campaign_id, f->now, f->issued_from, f->issued_to,
					 f->n_issuers ? f->issuer_der_hex[a] : "",
					 f->aki ? f->aki : "", f->serials ? f->serials[b] : "",
					 f->n_products ? f->products[p] : "");
				if (rc)
					return rc;
			}
	snprintf(c->state, sizeof(c->state), "active");
	return count_targets(st, c->campaign_id, &c->targets, err);
}

#define CAMPAIGN_SELECT                                                                            \
	"SELECT campaign_id, name, criteria, deadline, deadline_at, revocation_date, "             \
	"revocation_at, state, created_by, created_at FROM campaigns "
static const char SQL_CAMPAIGN_BY_ID[] = CAMPAIGN_SELECT "WHERE campaign_id = $1";
static const char SQL_CAMPAIGN_BY_NAME[] = CAMPAIGN_SELECT "WHERE name = $1";
static const char SQL_CAMPAIGN_ALL[] = CAMPAIGN_SELECT "ORDER BY campaign_id";

static void read_campaign(store_t *st, struct db_stmt *s, struct store_campaign *c)
{
	c->campaign_id = st->db->drv->col_int64(s, 0);
	db_col_copy(st->db, s, 1, c->name, sizeof(c->name));
	db_col_copy(st->db, s, 2, c->criteria, sizeof(c->criteria));
	db_col_copy(st->db, s, 3, c->deadline, sizeof(c->deadline));
	c->deadline_at = st->db->drv->col_int64(s, 4);
	db_col_copy(st->db, s, 5, c->revocation_date, sizeof(c->revocation_date));
	c->revocation_at = st->db->drv->col_int64(s, 6);
	db_col_copy(st->db, s, 7, c->state, sizeof(c->state));
	db_col_copy(st->db, s, 8, c->created_by, sizeof(c->created_by));
	c->created_at = st->db->drv->col_int64(s, 9);
}

static int get_one(store_t *st, const char *sql, const char *fmt, const void *key,
		   struct store_campaign *out, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	if (fmt[0] == 'i')
		rc = db_run(st->db, s, err, "i", *(const int64_t *)key);
	else
		rc = db_run(st->db, s, err, "t", (const char *)key);
	if (rc == 1)
		read_campaign(st, s, out);
	st->db->drv->reset(s);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return fmt[0] == 'i' ? cd_err_set(err, CD_ENOTFOUND, false, "no campaign %lld",
						  (long long)*(const int64_t *)key)
				     : cd_err_set(err, CD_ENOTFOUND, false,
						  "no campaign named '%s'", (const char *)key);
	return count_targets(st, out->campaign_id, &out->targets, err);
}

int store_campaign_get(store_t *st, int64_t id, struct store_campaign *out, struct cd_err *err)
{
	return get_one(st, SQL_CAMPAIGN_BY_ID, "i", &id, out, err);
}

int store_campaign_find(store_t *st, const char *name, struct store_campaign *out,
			struct cd_err *err)
{
	return get_one(st, SQL_CAMPAIGN_BY_NAME, "t", name, out, err);
}

int store_campaign_each(store_t *st, int (*fn)(const struct store_campaign *c, void *arg),
			void *arg, struct cd_err *err)
{
	struct store_campaign *all = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *s;
	int rc;

	/* collect first: fn may run other statements on this connection */
	rc = db_stmt(st->db, SQL_CAMPAIGN_ALL, &s, err);
	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct store_campaign *na = realloc(all, cap * sizeof(*all));
			if (!na) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			all = na;
		}
		read_campaign(st, s, &all[n++]);
	}
	st->db->drv->reset(s);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = count_targets(st, all[i].campaign_id, &all[i].targets, err);
		if (!rc)
			rc = fn(&all[i], arg);
	}
	free(all);
	return rc < 0 ? rc : 0;
}

static const char SQL_TARGETS_EACH[] =
    "SELECT certificate_id FROM campaign_targets WHERE campaign_id = $1 "
    "ORDER BY certificate_id";

int store_campaign_targets_each(store_t *st, int64_t campaign_id,
				int (*fn)(const char *certificate_id, void *arg), void *arg,
				struct cd_err *err)
{
	struct db_stmt *s;
	char **ids = NULL;
	size_t n = 0, cap = 0;
	int rc = db_stmt(st->db, SQL_TARGETS_EACH, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "i", campaign_id); rc == 1; rc = db_next(st->db, s, err)) {
		const char *v = st->db->drv->col_text(s, 0);

		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **na = realloc(ids, cap * sizeof(*ids));
			if (!na) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			ids = na;
		}
		ids[n] = strdup(v ? v : "");
		if (!ids[n]) {
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			break;
		}
		n++;
	}
	st->db->drv->reset(s);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = fn(ids[i], arg);
		free(ids[i]);
	}
	free(ids);
	return rc < 0 ? rc : 0;
}

static const char SQL_ISSUERS[] =
    "SELECT i.issuer_der, MIN(i.issuer_dn), COUNT(*) FROM certificates c "
    "JOIN issuances i ON i.issuance_id = c.current_issuance_id GROUP BY i.issuer_der";

int store_issuers_each(store_t *st,
		       int (*fn)(const char *der_hex, const char *dn, int64_t count, void *arg),
		       void *arg, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_ISSUERS, &s, err);

	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		rc = fn(st->db->drv->col_text(s, 0), st->db->drv->col_text(s, 1),
			st->db->drv->col_int64(s, 2), arg);
		if (rc)
			break;
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}
