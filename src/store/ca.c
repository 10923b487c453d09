/*
 * ca.c - the ACME account certdesk holds at each CA (table ca_accounts): the
 * CA's directory, the account URL and the secret id of the sealed account key.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_priv.h"

static const char SQL_CA_GET[] =
    "SELECT ca, directory_url, account_url, key_secret_id, eab_kid, contact, created_at, "
    "updated_at FROM ca_accounts WHERE ca = $1";
static const char SQL_CA_ALL[] =
    "SELECT ca, directory_url, account_url, key_secret_id, eab_kid, contact, created_at, "
    "updated_at FROM ca_accounts ORDER BY ca";
static const char SQL_CA_PUT[] =
    "INSERT INTO ca_accounts (ca, directory_url, account_url, key_secret_id, eab_kid, contact, "
    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
    "ON CONFLICT (ca) DO UPDATE SET directory_url = excluded.directory_url, "
    "account_url = excluded.account_url, key_secret_id = excluded.key_secret_id, "
    "eab_kid = excluded.eab_kid, contact = excluded.contact, updated_at = excluded.updated_at";

static void row_copy(store_t *st, struct db_stmt *s, struct store_ca_account *out)
{
	db_col_copy(st->db, s, 0, out->ca, sizeof(out->ca));
	db_col_copy(st->db, s, 1, out->directory_url, sizeof(out->directory_url));
	db_col_copy(st->db, s, 2, out->account_url, sizeof(out->account_url));
	db_col_copy(st->db, s, 3, out->key_secret_id, sizeof(out->key_secret_id));
	db_col_copy(st->db, s, 4, out->eab_kid, sizeof(out->eab_kid));
	db_col_copy(st->db, s, 5, out->contact, sizeof(out->contact));
	out->created_at = st->db->drv->col_int64(s, 6);
	out->updated_at = st->db->drv->col_int64(s, 7);
}

int store_ca_account_get(store_t *st, const char *ca, struct store_ca_account *out,
			 struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_CA_GET, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", ca);
	if (rc == 1) {
		row_copy(st, s, out);
		rc = 0;
	} else if (rc == 0) {
		rc = cd_err_set(err, CD_ENOTFOUND, false, "no account at CA '%s'", ca);
	}
	st->db->drv->reset(s);
	return rc;
}

int store_ca_account_put(store_t *st, const struct store_ca_account *a, int64_t now,
			 struct cd_err *err)
{
	if (strlen(a->ca) >= sizeof(a->ca) || !a->ca[0])
		return cd_err_set(err, CD_EINVAL, false, "bad CA name");
	return RUN(st, SQL_CA_PUT, NULL, err, "tttttti", a->ca, a->directory_url,
		   a->account_url[0] ? a->account_url : NULL, a->key_secret_id,
		   a->eab_kid[0] ? a->eab_kid : NULL, a->contact[0] ? a->contact : NULL, now);
}

int store_ca_account_each(store_t *st, int (*fn)(const struct store_ca_account *a, void *arg),
			  void *arg, struct cd_err *err)
{
	struct store_ca_account rows[64];
	struct db_stmt *s;
	size_t n = 0;
	int rc = db_stmt(st->db, SQL_CA_ALL, &s, err);

	if (rc)
		return rc;
	/* a handful of CAs at most; collected first so fn may use the store */
	for (rc = db_run(st->db, s, err, ""); rc == 1 && n < 64; rc = db_next(st->db, s, err))
		row_copy(st, s, &rows[n++]);
	st->db->drv->reset(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = fn(&rows[i], arg)) != 0)
			return rc < 0 ? rc : 0;
	return 0;
}
