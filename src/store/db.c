/*
 * db.c - the statement cache and the bind-by-format helper shared by the
 * store's operations, over whichever backend the store was opened with.
 */
#include "store/db.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct stmt_cache_entry {
	const char *sql;
	struct db_stmt *st;
};

static size_t ptr_hash(const void *p, int cap)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= 0x9e3779b97f4a7c15ull;
	return (size_t)(v >> 32) & (size_t)(cap - 1);
}

int db_stmt(struct db *db, const char *sql, struct db_stmt **out, struct cd_err *err)
{
	size_t i;
	int rc;

	if (!db->cache) {
		db->cache_cap = 256;
		db->cache = calloc((size_t)db->cache_cap, sizeof(*db->cache));
		if (!db->cache)
			return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	for (i = ptr_hash(sql, db->cache_cap);; i = (i + 1) & (size_t)(db->cache_cap - 1)) {
		struct stmt_cache_entry *e = &db->cache[i];

		if (e->sql == sql) {
			db->drv->reset(e->st);
			*out = e->st;
			return 0;
		}
		if (!e->sql)
			break;
	}
	/* the store has a fixed, small set of statements: far below the capacity */
	rc = db->drv->prepare(db, sql, out, err);
	if (rc)
		return rc;
	db->cache[i].sql = sql;
	db->cache[i].st = *out;
	return 0;
}

void db_cache_clear(struct db *db)
{
	if (!db->cache)
		return;
	for (int i = 0; i < db->cache_cap; i++)
		if (db->cache[i].sql)
			db->drv->finalize(db->cache[i].st);
	free(db->cache);
	db->cache = NULL;
	db->cache_cap = 0;
}

int db_bind_va(struct db *db, struct db_stmt *st, struct cd_err *err, const char *fmt, va_list ap)
{
	int rc = 0, n = 1;

	for (const char *f = fmt; *f && rc == 0; f++, n++) {
		switch (*f) {
		case 't': {
			const char *v = va_arg(ap, const char *);

			rc = v ? db->drv->bind_text(st, n, v, err) : db->drv->bind_null(st, n, err);
			break;
		}
		case 'i':
			rc = db->drv->bind_int64(st, n, va_arg(ap, int64_t), err);
			break;
		case 'b':
			rc = db->drv->bind_int64(st, n, va_arg(ap, int) ? 1 : 0, err);
			break;
		case 'n':
			rc = db->drv->bind_null(st, n, err);
			break;
		default:
			rc = cd_err_set(err, CD_EINTERNAL, false, "db: bad bind format '%c'", *f);
		}
	}
	return rc;
}

int db_run(struct db *db, struct db_stmt *st, struct cd_err *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = db_bind_va(db, st, err, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	return db->drv->step(st, err);
}

int db_next(struct db *db, struct db_stmt *st, struct cd_err *err)
{
	return db->drv->step(st, err);
}

void db_col_copy(struct db *db, struct db_stmt *st, int col, char *out, size_t outsz)
{
	const char *v = db->drv->col_text(st, col);
	size_t l;

	if (!v) {
		out[0] = '\0';
		return;
	}
	l = strlen(v);
	if (l >= outsz)
		l = outsz - 1;
	memcpy(out, v, l);
	out[l] = '\0';
}
