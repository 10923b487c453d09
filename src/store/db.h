/*
 * db.h - the store's private SQL driver layer (not for other stages).
 *
 * SQL is written once, in the dialect both backends accept: $1..$n
 * parameters, ON CONFLICT upserts, RETURNING, partial indexes, BIGINT
 * seconds for time, TEXT for everything else. A backend implements
 * struct db_driver: SQLite (db_sqlite.c) and PostgreSQL (db_pg.c).
 * A struct db is one connection, used by one thread at a time.
 * Prepared statements are cached per connection by the address of their
 * (static) SQL text.
 */
#ifndef CD_STORE_DB_H
#define CD_STORE_DB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct db;
struct db_stmt;

struct db_driver {
	const char *name;      /* "sqlite" */
	const char *begin_sql; /* how a write transaction starts */
	int (*open)(const char *target, long busy_timeout_ms, struct db **out, struct cd_err *err);
	void (*close)(struct db *db);
	/* Runs a script of several statements (migrations); no parameters. */
	int (*exec)(struct db *db, const char *sql, struct cd_err *err);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **out, struct cd_err *err);
	void (*finalize)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st);
	int (*bind_text)(struct db_stmt *st, int n, const char *v, struct cd_err *err);
	int (*bind_int64)(struct db_stmt *st, int n, int64_t v, struct cd_err *err);
	int (*bind_null)(struct db_stmt *st, int n, struct cd_err *err);
	/* 1 = a row is ready, 0 = done, <0 = error (unique violation -> -CD_ECONFLICT,
	 * busy -> -CD_EBUSY retryable). */
	int (*step)(struct db_stmt *st, struct cd_err *err);
	const char *(*col_text)(struct db_stmt *st, int col); /* NULL for SQL NULL */
	int64_t (*col_int64)(struct db_stmt *st, int col);
	bool (*col_null)(struct db_stmt *st, int col);
	/* Rows changed by the last INSERT/UPDATE/DELETE step of st. */
	int64_t (*changes)(struct db_stmt *st);
	/* Backend-specific SQL for a placeholder in migrations (e.g. "@ID@"). */
	const char *(*ddl_id)(void);
	/* Serializes migrations across processes (NULL: the backend's write
	 * transaction already does). */
	int (*migrate_lock)(struct db *db, bool lock, struct cd_err *err);
};

struct db {
	const struct db_driver *drv;
	int tx_depth;
	struct stmt_cache_entry *cache;
	int cache_cap;
};

extern const struct db_driver db_sqlite_driver;
extern const struct db_driver db_pg_driver;

/* A cached prepared statement for a static SQL text, reset and unbound. */
int db_stmt(struct db *db, const char *sql, struct db_stmt **out, struct cd_err *err);
void db_cache_clear(struct db *db);

/*
 * Binds parameters by a format string and steps once:
 *   t = text (const char *, NULL -> NULL), i = int64_t, b = bool, n = NULL.
 * Returns like step.
 */
int db_bind_va(struct db *db, struct db_stmt *st, struct cd_err *err, const char *fmt, va_list ap);
int db_run(struct db *db, struct db_stmt *st, struct cd_err *err, const char *fmt, ...);
/* Steps again (further rows of a query). */
int db_next(struct db *db, struct db_stmt *st, struct cd_err *err);

/* Copies a text column into a fixed buffer ("" for NULL); truncation is silent,
 * so columns must fit (their limits are enforced on the way in). */
void db_col_copy(struct db *db, struct db_stmt *st, int col, char *out, size_t outsz);

#endif
