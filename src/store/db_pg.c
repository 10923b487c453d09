/*
 * db_pg.c - the PostgreSQL backend of the store's driver layer (libpq), so
 * that several certdesk nodes share one database.
 *
 * The target is libpq's own connection URI ("postgresql://user@host/db");
 * the password comes from ~/.pgpass or PGPASSWORD (or the URI) and never
 * appears in a message: errors name host, port and database only.
 * Statements are prepared once per connection (named "cdN") and executed
 * with text parameters; the whole result is fetched and `step` walks its
 * rows. A lost connection fails the call with a retryable error and is
 * re-established by the next call outside a transaction (statements are
 * then prepared again, lazily).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

#define MAX_PARAMS 32

struct db_pg {
	struct db base;
	PGconn *c;
	long busy_ms;
	unsigned gen;	  /* bumped at each reconnection: statements re-prepare */
	unsigned next_id; /* statement names */
	char where[300];  /* host:port/db, for messages (no password) */
};

struct db_stmt {
	struct db_pg *db;
	const char *sql;
	char name[24];
	unsigned gen;
	int nparams;
	char *vals[MAX_PARAMS];
	PGresult *res;
	int nrows, row; /* row: the current one, -1 before the first step */
	int64_t changes;
};

/* SQLSTATEs that mean "try again": serialization failure, deadlock, lock
 * timeout (lock_timeout), statement timeout / cancel. */
static bool retry_state(const char *s)
{
	return s && (!strcmp(s, "40001") || !strcmp(s, "40P01") || !strcmp(s, "55P03") ||
		     !strcmp(s, "57014"));
}

/* A libpq message on one line: its line breaks and tabs become spaces,
 * runs of them one, and the trailing one goes. */
static void trim(char *m)
{
	size_t o = 0;

	for (size_t i = 0; m[i]; i++) {
		char ch = m[i] == '\n' || m[i] == '\t' || m[i] == '\r' ? ' ' : m[i];

		if (ch == ' ' && (o == 0 || m[o - 1] == ' '))
			continue;
		m[o++] = ch;
	}
	while (o && m[o - 1] == ' ')
		o--;
	m[o] = '\0';
}

static int conn_err(struct db_pg *db, const char *what, struct cd_err *err)
{
	char m[400];

	snprintf(m, sizeof(m), "%s", PQerrorMessage(db->c));
	trim(m);
	return cd_err_set(err, CD_EDB, true, "store %s: connection to PostgreSQL lost (%s): %s",
			  db->where, what, m);
}

/* Maps a failed result (or none) to the store's error codes. */
static int res_err(struct db_pg *db, PGresult *r, const char *what, struct cd_err *err)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char m[600];

	if (PQstatus(db->c) == CONNECTION_BAD)
		return conn_err(db, what, err);
	snprintf(m, sizeof(m), "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(db->c));
	trim(m);
	if (state && !strcmp(state, "23505"))
		return cd_err_set(err, CD_ECONFLICT, false, "%s", m);
	if (retry_state(state))
		return cd_err_set(err, CD_EBUSY, true, "store busy: %s", m);
	/* 08xxx: connection exceptions; 53xxx: insufficient resources */
	return cd_err_set(err, CD_EDB,
			  state && (!strncmp(state, "08", 2) || !strncmp(state, "53", 2)),
			  "store: %s: %s", what, m);
}

static int session_setup(struct db_pg *db, struct cd_err *err);

/* Outside a transaction, a broken connection is re-established. */
static int ensure_conn(struct db_pg *db, struct cd_err *err)
{
	if (PQstatus(db->c) == CONNECTION_OK)
		return 0;
	if (db->base.tx_depth > 0)
		return conn_err(db, "in a transaction", err);
	PQreset(db->c);
	if (PQstatus(db->c) != CONNECTION_OK)
		return conn_err(db, "reconnecting", err);
	db->gen++;
	return session_setup(db, err);
}

static int pg_exec(struct db *d, const char *sql, struct cd_err *err)
{
	struct db_pg *db = (struct db_pg *)d;
	PGresult *r;
	int rc = 0;

	/* a ROLLBACK on a lost connection has nothing left to undo: the
	 * transaction is over, and the next call may reconnect */
	if (PQstatus(db->c) != CONNECTION_OK && !strcmp(sql, "ROLLBACK")) {
		db->base.tx_depth = 0;
		return 0;
	}
	if (strcmp(sql, "COMMIT") != 0 && (rc = ensure_conn(db, err)))
		return rc;
	if (!strncmp(sql, "BEGIN", 5))
		db->base.tx_depth = 1;
	else if (!strcmp(sql, "COMMIT") || !strcmp(sql, "ROLLBACK"))
		db->base.tx_depth = 0;
	r = PQexec(db->c, sql);
	if (!r || (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK))
		rc = res_err(db, r, "exec", err);
	PQclear(r);
	if (rc && !strncmp(sql, "BEGIN", 5))
		db->base.tx_depth = 0;
	return rc;
}

static void no_notices(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "relation already exists, skipping" and the like */
}

/* "host:port/db" of an open connection, for messages. */
static void describe(struct db_pg *db)
{
	const char *h = PQhost(db->c), *p = PQport(db->c), *n = PQdb(db->c);

	snprintf(db->where, sizeof(db->where), "postgresql://%s%s%s/%s", h ? h : "",
		 p && *p ? ":" : "", p ? p : "", n ? n : "");
}

/* The session's settings (again after a reconnection). */
static int session_setup(struct db_pg *db, struct cd_err *err)
{
	long stmt_ms = db->busy_ms * 12 > 60000 ? db->busy_ms * 12 : 60000;
	char set[300];

	PQsetNoticeProcessor(db->c, no_notices, NULL);
	/* SQLite's busy timeout is how long a writer waits for a lock: here the
	 * lock timeout; a statement may run longer, within a larger bound, and a
	 * transaction left idle is ended rather than holding its locks */
	snprintf(set, sizeof(set),
		 "SET lock_timeout = %ld; SET statement_timeout = %ld; "
		 "SET idle_in_transaction_session_timeout = %ld; SET TIME ZONE 'UTC'; "
		 "SET client_encoding = 'UTF8'",
		 db->busy_ms, stmt_ms, stmt_ms);
	return pg_exec(&db->base, set, err);
}

static int pg_open(const char *target, long busy_ms, struct db **out, struct cd_err *err)
{
	/* defaults first: the URI's own parameters override them */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "10", "certdesk", target, NULL };
	struct db_pg *db = calloc(1, sizeof(*db));
	char m[400];
	int rc;

	*out = NULL;
	if (!db)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	db->base.drv = &db_pg_driver;
	db->busy_ms = busy_ms;
	db->c = PQconnectdbParams(keys, vals, 1);
	if (!db->c) {
		free(db);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	if (PQstatus(db->c) != CONNECTION_OK) {
		/* libpq's message names host and port, never the password */
		snprintf(m, sizeof(m), "%s", PQerrorMessage(db->c));
		trim(m);
		rc = cd_err_set(err, CD_EDB, true, "store: cannot connect to PostgreSQL: %s", m);
		goto fail;
	}
	describe(db);
	rc = session_setup(db, err);
	if (rc)
		goto fail;
	*out = &db->base;
	return 0;
fail:
	PQfinish(db->c);
	free(db);
	return rc;
}

static void pg_close(struct db *d)
{
	struct db_pg *db = (struct db_pg *)d;

	if (!db)
		return;
	db_cache_clear(d);
	PQfinish(db->c);
	free(db);
}

static int prepare_on_server(struct db_stmt *s, struct cd_err *err)
{
	struct db_pg *db = s->db;
	PGresult *r;
	int rc = 0;

	snprintf(s->name, sizeof(s->name), "cd%u", ++db->next_id);
	r = PQprepare(db->c, s->name, s->sql, 0, NULL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = res_err(db, r, "prepare", err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	r = PQdescribePrepared(db->c, s->name);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = res_err(db, r, "prepare", err);
	else if (PQnparams(r) > MAX_PARAMS)
		rc = cd_err_set(err, CD_EINTERNAL, false,
				"store: a statement has more than %d parameters", MAX_PARAMS);
	else
		s->nparams = PQnparams(r);
	PQclear(r);
	s->gen = db->gen;
	return rc;
}

static int pg_prepare(struct db *d, const char *sql, struct db_stmt **out, struct cd_err *err)
{
	struct db_pg *db = (struct db_pg *)d;
	struct db_stmt *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	s->db = db;
	s->sql = sql;
	s->row = -1;
	rc = ensure_conn(db, err);
	if (!rc)
		rc = prepare_on_server(s, err);
	if (rc) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void pg_reset(struct db_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->nrows = 0;
	s->row = -1;
	for (int i = 0; i < MAX_PARAMS; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
	}
}

static void pg_finalize(struct db_stmt *s)
{
	if (!s)
		return;
	pg_reset(s);
	/* the server forgets its prepared statements with the connection */
	free(s);
}

static int set_param(struct db_stmt *s, int n, const char *v, struct cd_err *err)
{
	char *copy = NULL;

	if (n < 1 || n > s->nparams)
		return cd_err_set(err, CD_EINTERNAL, false, "store: statement has no parameter $%d",
				  n);
	if (v && !(copy = strdup(v)))
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	free(s->vals[n - 1]);
	s->vals[n - 1] = copy;
	return 0;
}

static int pg_bind_text(struct db_stmt *s, int n, const char *v, struct cd_err *err)
{
	return set_param(s, n, v, err);
}

static int pg_bind_int64(struct db_stmt *s, int n, int64_t v, struct cd_err *err)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	return set_param(s, n, b, err);
}

static int pg_bind_null(struct db_stmt *s, int n, struct cd_err *err)
{
	return set_param(s, n, NULL, err);
}

static int execute(struct db_stmt *s, struct cd_err *err)
{
	struct db_pg *db = s->db;
	ExecStatusType t;
	int rc = ensure_conn(db, err);

	if (rc)
		return rc;
	if (s->gen != db->gen && (rc = prepare_on_server(s, err)))
		return rc;
	s->res =
	    PQexecPrepared(db->c, s->name, s->nparams, (const char *const *)s->vals, NULL, NULL, 0);
	t = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
	if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK) {
		rc = res_err(db, s->res, "step", err);
		PQclear(s->res);
		s->res = NULL;
		return rc;
	}
	s->nrows = t == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
	s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
	return 0;
}

static int pg_step(struct db_stmt *s, struct cd_err *err)
{
	if (!s->res) {
		int rc = execute(s, err);

		if (rc)
			return rc;
	}
	if (s->row + 1 >= s->nrows) {
		s->row = s->nrows;
		return 0;
	}
	s->row++;
	return 1;
}

static bool have(struct db_stmt *s, int col)
{
	return s->res && s->row >= 0 && s->row < s->nrows && col >= 0 && col < PQnfields(s->res);
}

static const char *pg_col_text(struct db_stmt *s, int col)
{
	if (!have(s, col) || PQgetisnull(s->res, s->row, col))
		return NULL;
	return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_col_int64(struct db_stmt *s, int col)
{
	const char *v = pg_col_text(s, col);

	if (!v)
		return 0;
	/* a boolean expression reads as SQLite's 0/1 */
	if (PQftype(s->res, col) == 16 /* BOOLOID */)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static bool pg_col_null(struct db_stmt *s, int col)
{
	return !have(s, col) || PQgetisnull(s->res, s->row, col);
}

static int64_t pg_changes(struct db_stmt *s)
{
	return s->changes;
}

static const char *pg_ddl_id(void)
{
	return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
}

/* One session-level advisory lock serializes the migrations of all nodes
 * (any fixed key: this one is certdesk's). A node waits up to ten minutes
 * for another's migrations; its own run without the statement time-out (an
 * index on a large table takes long) but keep the lock time-out, so that DDL
 * stuck behind a long transaction fails instead of queueing every other
 * session behind its lock. */
static int pg_migrate_lock(struct db *d, bool lock, struct cd_err *err)
{
	struct db_pg *db = (struct db_pg *)d;
	struct cd_err ignore;
	int rc;

	if (!lock) {
		rc = pg_exec(d, "SELECT pg_advisory_unlock(7234315604117873515)", err);
		if (PQstatus(db->c) == CONNECTION_OK)
			session_setup(db, &ignore);
		return rc;
	}
	rc = pg_exec(d,
		     "SET lock_timeout = 600000; SET statement_timeout = 0; "
		     "SELECT pg_advisory_lock(7234315604117873515)",
		     err);
	if (rc) {
		session_setup(db, &ignore);
		cd_err_prefix(err, "waiting for another node's migrations: ");
		return rc;
	}
	{
		char set[64];

		snprintf(set, sizeof(set), "SET lock_timeout = %ld", db->busy_ms);
		rc = pg_exec(d, set, err);
	}
	if (rc)
		pg_exec(d, "SELECT pg_advisory_unlock(7234315604117873515)", &ignore);
	return rc;
}

const struct db_driver db_pg_driver = {
	.name = "postgresql",
	/* READ COMMITTED: every statement sees what others committed; the claim
	 * of orders locks its rows (FOR UPDATE SKIP LOCKED), other writes are
	 * fenced by their WHERE clauses and unique indexes */
	.begin_sql = "BEGIN",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.reset = pg_reset,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_text = pg_col_text,
	.col_int64 = pg_col_int64,
	.col_null = pg_col_null,
	.changes = pg_changes,
	.ddl_id = pg_ddl_id,
	.migrate_lock = pg_migrate_lock,
};
