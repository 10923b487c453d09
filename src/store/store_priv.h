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
	char source[96]; /* store_set_source: the events' default source */
};

/* Runs a statement whose rows, if any, are ignored, binding parameters by
 * format (see db_run); *changed (may be NULL) is 1 when it changed a row. */
#define RUN(st, sql, changed, err, ...) run_once((st), (sql), (changed), (err), __VA_ARGS__)
int run_once(store_t *st, const char *sql, int *changed, struct cd_err *err, const char *fmt, ...);

/* metrics.c: records the time an order spent in e->from_state when e moves
 * it to another state (before e itself is inserted). */
int store_stage_record(store_t *st, const struct store_event *e, struct cd_err *err);

/* web.c: members' and operators' sessions share the sessions table; these
 * read one row and purge by the kind's statement (see web.c). */
int store_session_get(store_t *st, const char *sql, const char *hash, const char *what,
		      char owner[65], char csrf_token[65], int64_t *created_at,
		      int64_t *last_seen_at, int64_t *expires_at, struct cd_err *err);
int store_sessions_purge(store_t *st, const char *sql, int64_t now, int64_t idle_before,
			 int *deleted, struct cd_err *err);

#endif
