/*
 * secrets.c - the sealed secrets table. Values are sealed by util/secretbox
 * before they get here: the store never sees a plaintext key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"
#include "util/secretbox.h"

static const char SQL_SECRET_PUT[] =
    "INSERT INTO secrets (secret_id, kind, kid, sealed, created_at) VALUES ($1, $2, $3, $4, $5)";
static const char SQL_SECRET_GET[] = "SELECT sealed, kid FROM secrets WHERE secret_id = $1";
static const char SQL_SECRET_ALL[] =
    "SELECT secret_id, kid, sealed FROM secrets ORDER BY secret_id";
static const char SQL_SECRET_UPDATE[] =
    "UPDATE secrets SET kid = $2, sealed = $3 WHERE secret_id = $1";

int store_secret_put(store_t *st, const char *secret_id, const char *kind, int kid,
		     const char *sealed, int64_t now, struct cd_err *err)
{
	int rc =
	    RUN(st, SQL_SECRET_PUT, NULL, err, "ttiti", secret_id, kind, (int64_t)kid, sealed, now);

	if (rc == -CD_ECONFLICT)
		return cd_err_set(err, CD_ECONFLICT, false, "secret '%s' exists already",
				  secret_id);
	return rc;
}

int store_secret_get(store_t *st, const char *secret_id, char **sealed, int *kid,
		     struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_SECRET_GET, &s, err);

	*sealed = NULL;
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", secret_id);
	if (rc == 1) {
		*sealed = strdup(st->db->drv->col_text(s, 0));
		*kid = (int)st->db->drv->col_int64(s, 1);
		rc = *sealed ? 0 : cd_err_set(err, CD_ENOMEM, false, "out of memory");
	} else if (rc == 0) {
		rc = cd_err_set(err, CD_ENOTFOUND, false, "no secret '%s'", secret_id);
	}
	st->db->drv->reset(s);
	return rc;
}

struct secret_row {
	char *id, *sealed;
	int kid;
};

int store_secret_each(store_t *st,
		      int (*fn)(const char *secret_id, int kid, const char *sealed, void *arg),
		      void *arg, struct cd_err *err)
{
	struct secret_row *rows = NULL;
	size_t n = 0, cap = 0;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_SECRET_ALL, &s, err);

	if (rc)
		return rc;
	/* collected first, so that fn may update the rows it is given */
	for (rc = db_run(st->db, s, err, ""); rc == 1; rc = db_next(st->db, s, err)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct secret_row *nr = realloc(rows, cap * sizeof(*rows));
			if (!nr) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			rows = nr;
		}
		rows[n].id = strdup(st->db->drv->col_text(s, 0));
		rows[n].kid = (int)st->db->drv->col_int64(s, 1);
		rows[n].sealed = strdup(st->db->drv->col_text(s, 2));
		n++;
		if (!rows[n - 1].id || !rows[n - 1].sealed) {
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			break;
		}
	}
	st->db->drv->reset(s);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = fn(rows[i].id, rows[i].kid, rows[i].sealed, arg);
		free(rows[i].id);
		free(rows[i].sealed);
	}
	free(rows);
	return rc < 0 ? rc : 0;
}

int store_secret_update(store_t *st, const char *secret_id, int kid, const char *sealed,
			struct cd_err *err)
{
	return RUN(st, SQL_SECRET_UPDATE, NULL, err, "tit", secret_id, (int64_t)kid, sealed);
}

static void secret_aad(const char *secret_id, char *aad, size_t n)
{
	snprintf(aad, n, "secret:%s", secret_id);
}

int store_secret_seal(store_t *st, const struct secretbox *box, const char *secret_id,
		      const char *kind, const unsigned char *pt, size_t len, int64_t now,
		      struct cd_err *err)
{
	char aad[300], *sealed = NULL;
	int rc;

	secret_aad(secret_id, aad, sizeof(aad));
	rc = secretbox_seal(box, aad, pt, len, &sealed, err);
	if (rc)
		return rc;
	rc =
	    store_secret_put(st, secret_id, kind, (int)secretbox_active_kid(box), sealed, now, err);
	free(sealed);
	return rc;
}

int store_secret_unseal(store_t *st, const struct secretbox *box, const char *secret_id,
			unsigned char **pt, size_t *len, struct cd_err *err)
{
	char aad[300], *sealed = NULL;
	int kid, rc;

	rc = store_secret_get(st, secret_id, &sealed, &kid, err);
	if (rc)
		return rc;
	secret_aad(secret_id, aad, sizeof(aad));
	rc = secretbox_open(box, aad, sealed, pt, len, err);
	if (rc)
		cd_err_prefix(err, "secret '%s': ", secret_id);
	free(sealed);
	return rc;
}

struct reseal {
	store_t *st;
	const struct secretbox *box;
	int count;
	struct cd_err *err;
};

static int reseal_one(const char *secret_id, int kid, const char *sealed, void *arg)
{
	struct reseal *r = arg;
	unsigned char *pt = NULL;
	char aad[300], *fresh = NULL;
	size_t len = 0;
	int rc;

	if ((unsigned)kid == secretbox_active_kid(r->box))
		return 0;
	secret_aad(secret_id, aad, sizeof(aad));
	rc = secretbox_open(r->box, aad, sealed, &pt, &len, r->err);
	if (rc) {
		cd_err_prefix(r->err, "secret '%s': ", secret_id);
		return rc;
	}
	rc = secretbox_seal(r->box, aad, pt, len, &fresh, r->err);
	secretbox_free_plain(pt, len);
	if (!rc)
		rc = store_secret_update(r->st, secret_id, (int)secretbox_active_kid(r->box), fresh,
					 r->err);
	free(fresh);
	if (!rc)
		r->count++;
	return rc;
}

int store_secrets_reseal(store_t *st, const struct secretbox *box, int *resealed,
			 struct cd_err *err)
{
	struct reseal r = { .st = st, .box = box, .err = err };
	int rc = store_begin(st, err);

	*resealed = 0;
	if (rc)
		return rc;
	rc = store_secret_each(st, reseal_one, &r, err);
	if (rc) {
		store_rollback(st);
		return rc;
	}
	rc = store_commit(st, err);
	if (!rc)
		*resealed = r.count;
	return rc;
}
