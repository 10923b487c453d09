/*
 * store_priv.h - what the store's operation files share (not for stages).
 */
#ifndef CD_STORE_PRIV_H
#define CD_STORE_PRIV_H

#include "store/db.h"
#include "store/store.h"

struct store {
	struct db *db;
	int tx_depth;
};

/* Runs a statement that returns no rows (or whose rows are ignored). */
#define RUN(st, sql, err, ...) run_once((st), (sql), (err), __VA_ARGS__)
int run_once(store_t *st, const char *sql, struct cd_err *err, const char *fmt, ...);

#endif
