/*
 * db_sqlite.c - the SQLite backend of the store's driver layer.
 *
 * WAL journal, synchronous=FULL (a commit survives power loss: invariant 7
 * relies on it for keys and ACME order URLs), foreign keys on, a busy
 * timeout. Parameters are written "$1".."$n" in the shared SQL; SQLite takes
 * them as named parameters, mapped here to their positional indexes.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

#define MAX_PARAMS 32

struct db_sqlite {
	struct db base;
	sqlite3 *h;
};

struct db_stmt {
	struct db_sqlite *db;
	sqlite3_stmt *st;
	int pidx[MAX_PARAMS + 1]; /* $n -> sqlite index, 0 = absent */
};

static int sq_err(struct db_sqlite *db, int rc, const char *what, struct cd_err *err)
{
	int ext = sqlite3_extended_errcode(db->h);

	rc &= 0xff; /* extended result codes are on: compare the primary code */
	if (rc == SQLITE_CONSTRAINT &&
	    (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY))
		return cd_err_set(err, CD_ECONFLICT, false, "%s", sqlite3_errmsg(db->h));
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return cd_err_set(err, CD_EBUSY, true, "store busy: %s", sqlite3_errmsg(db->h));
	return cd_err_set(err, CD_EDB, rc == SQLITE_IOERR || rc == SQLITE_FULL, "store: %s: %s",
			  what, sqlite3_errmsg(db->h));
}

static int sq_exec(struct db *d, const char *sql, struct cd_err *err)
{
	struct db_sqlite *db = (struct db_sqlite *)d;
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg) & 0xff;

	if (rc != SQLITE_OK) {
		int r;

		if (rc == SQLITE_CONSTRAINT)
			r = cd_err_set(err, CD_ECONFLICT, false, "%s", msg ? msg : "constraint");
		else if (rc == SQLITE_BUSY)
			r = cd_err_set(err, CD_EBUSY, true, "store busy: %s", msg ? msg : "");
		else
			r = cd_err_set(err, CD_EDB, false, "store: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

static int sq_open(const char *target, long busy_ms, struct db **out, struct cd_err *err)
{
	struct db_sqlite *db = calloc(1, sizeof(*db));
	int rc;

	*out = NULL;
	if (!db)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	db->base.drv = &db_sqlite_driver;
	rc = sqlite3_open_v2(
	    target, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = cd_err_set(err, CD_EDB, false, "store %s: cannot open: %s", target,
				db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db->h, (int)busy_ms);
	sqlite3_extended_result_codes(db->h, 1);
	rc = sq_exec(&db->base,
		     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
		     err);
	if (rc) {
		cd_err_prefix(err, "store %s: ", target);
		goto fail;
	}
	*out = &db->base;
	return 0;
fail:
	sqlite3_close(db->h);
	free(db);
	return rc;
}

static void sq_close(struct db *d)
{
	struct db_sqlite *db = (struct db_sqlite *)d;

	if (!db)
		return;
	db_cache_clear(d);
	sqlite3_close(db->h);
	free(db);
}

static int sq_prepare(struct db *d, const char *sql, struct db_stmt **out, struct cd_err *err)
{
	struct db_sqlite *db = (struct db_sqlite *)d;
	struct db_stmt *s = calloc(1, sizeof(*s));
	int rc, n;

	if (!s)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	s->db = db;
	rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_err(db, rc, "prepare", err);
		free(s);
		return rc;
	}
	n = sqlite3_bind_parameter_count(s->st);
	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(s->st, i);
		int k = name && name[0] == '$' ? atoi(name + 1) : 0;

		if (k < 1 || k > MAX_PARAMS) {
			sqlite3_finalize(s->st);
			free(s);
			return cd_err_set(err, CD_EINTERNAL, false,
					  "store: parameter %d of a statement is not $1..$%d", i,
					  MAX_PARAMS);
		}
		s->pidx[k] = i;
	}
	*out = s;
	return 0;
}

static void sq_finalize(struct db_stmt *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->st);
	free(s);
}

static void sq_reset(struct db_stmt *s)
{
	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
}

static int param(struct db_stmt *s, int n, struct cd_err *err)
{
	if (n < 1 || n > MAX_PARAMS || !s->pidx[n])
		return cd_err_set(err, CD_EINTERNAL, false, "store: statement has no parameter $%d",
				  n);
	return s->pidx[n];
}

static int sq_bind_text(struct db_stmt *s, int n, const char *v, struct cd_err *err)
{
	int i = param(s, n, err);

	if (i < 0)
		return i;
	if (sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		return sq_err(s->db, SQLITE_ERROR, "bind", err);
	return 0;
}

static int sq_bind_int64(struct db_stmt *s, int n, int64_t v, struct cd_err *err)
{
	int i = param(s, n, err);

	if (i < 0)
		return i;
	if (sqlite3_bind_int64(s->st, i, v) != SQLITE_OK)
		return sq_err(s->db, SQLITE_ERROR, "bind", err);
	return 0;
}

static int sq_bind_null(struct db_stmt *s, int n, struct cd_err *err)
{
	int i = param(s, n, err);

	if (i < 0)
		return i;
	if (sqlite3_bind_null(s->st, i) != SQLITE_OK)
		return sq_err(s->db, SQLITE_ERROR, "bind", err);
	return 0;
}

static int sq_step(struct db_stmt *s, struct cd_err *err)
{
	int rc = sqlite3_step(s->st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	rc = sq_err(s->db, rc, "step", err);
	sqlite3_reset(s->st);
	return rc;
}

static const char *sq_col_text(struct db_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s->st, col);
}

static int64_t sq_col_int64(struct db_stmt *s, int col)
{
	return sqlite3_column_int64(s->st, col);
}

static bool sq_col_null(struct db_stmt *s, int col)
{
	return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

static int64_t sq_changes(struct db_stmt *s)
{
	return sqlite3_changes64(s->db->h);
}

static const char *sq_ddl_id(void)
{
	return "INTEGER PRIMARY KEY";
}

const struct db_driver db_sqlite_driver = {
	.name = "sqlite",
	/* IMMEDIATE: take the write lock now, not at the first write, so that two
	 * writers wait for each other instead of failing mid-way */
	.begin_sql = "BEGIN IMMEDIATE",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.reset = sq_reset,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_text = sq_col_text,
	.col_int64 = sq_col_int64,
	.col_null = sq_col_null,
	.changes = sq_changes,
	.ddl_id = sq_ddl_id,
};
