/*
 * store.c - opening a store by URL, its schema migrations, transactions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_priv.h"

int store_open(const char *url, const struct store_options *opt, store_t **out, struct cd_err *err)
{
	const struct db_driver *drv;
	const char *target;
	store_t *st;
	long busy = opt && opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
	int rc;

	*out = NULL;
	if (strncmp(url, "sqlite:", 7) == 0) {
		drv = &db_sqlite_driver;
		target = url + 7;
		if (!*target)
			return cd_err_set(err, CD_ECONFIG, false,
					  "store url '%s' names no file (sqlite:PATH)", url);
	} else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
		drv = &db_pg_driver;
		target = url; /* libpq reads the URI itself */
	} else {
		char shown[128];

		store_url_redact(url, shown, sizeof(shown));
		return cd_err_set(err, CD_ECONFIG, false,
				  "store url '%s' is not understood (sqlite:PATH or "
				  "postgresql://USER@HOST[:PORT]/DB)",
				  shown);
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	rc = drv->open(target, busy, &st->db, err);
	if (rc) {
		free(st);
		return rc;
	}
	*out = st;
	return 0;
}

void store_close(store_t *st)
{
	if (!st)
		return;
	if (st->tx_depth > 0)
		st->db->drv->exec(st->db, "ROLLBACK", NULL);
	st->db->drv->close(st->db);
	free(st);
}

void store_url_redact(const char *url, char *out, size_t outsz)
{
	const char *scheme = strstr(url, "://"), *at, *colon;
	char *pw;

	snprintf(out, outsz, "%s", url);
	if (!scheme)
		return;
	/* user:password@host: the password is shown as *** */
	at = strchr(scheme + 3, '@');
	colon = strchr(scheme + 3, ':');
	if (at && colon && colon < at && strcspn(scheme + 3, "/?") > (size_t)(at - scheme - 3))
		snprintf(out, outsz, "%.*s:***%s", (int)(colon - url), url, at);
	/* and in a query parameter */
	if ((pw = strstr(out, "password=")) != NULL)
		snprintf(pw + 9, outsz - (size_t)(pw + 9 - out), "***");
}

const char *store_backend(const store_t *st)
{
	return st->db->drv->name;
}

int run_once(store_t *st, const char *sql, int *changed, struct cd_err *err, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;
	int rc;

	rc = db_stmt(st->db, sql, &s, err);
	if (rc)
		return rc;
	va_start(ap, fmt);
	rc = db_bind_va(st->db, s, err, fmt, ap);
	va_end(ap);
	if (!rc)
		rc = st->db->drv->step(s, err);
	if (rc >= 0 && changed)
		*changed = st->db->drv->changes(s) > 0;
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_begin(store_t *st, struct cd_err *err)
{
	int rc;

	if (st->tx_depth++ > 0)
		return 0;
	rc = st->db->drv->exec(st->db, st->db->drv->begin_sql, err);
	if (rc)
		st->tx_depth--;
	return rc;
}

int store_commit(store_t *st, struct cd_err *err)
{
	int rc;

	if (st->tx_depth <= 0)
		return cd_err_set(err, CD_EINTERNAL, false, "store: commit without begin");
	if (--st->tx_depth > 0)
		return 0;
	rc = st->db->drv->exec(st->db, "COMMIT", err);
	if (rc)
		st->db->drv->exec(st->db, "ROLLBACK", NULL);
	return rc;
}

void store_rollback(store_t *st)
{
	if (st->tx_depth <= 0)
		return;
	/* a rollback anywhere abandons the whole (outermost) transaction */
	st->tx_depth = 0;
	st->db->drv->exec(st->db, "ROLLBACK", NULL);
}

/* --- migrations ----------------------------------------------------------- */

static const char SQL_MIGRATIONS_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
static const char SQL_MAX_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char SQL_RECORD_VERSION[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";

int store_schema_version(store_t *st, int *current, int *latest, struct cd_err *err)
{
	struct db_stmt *s;
	int rc;

	*latest = store_migrations_count ? store_migrations[store_migrations_count - 1].version : 0;
	*current = 0;
	rc = st->db->drv->exec(st->db, SQL_MIGRATIONS_TABLE, err);
	if (rc)
		return rc;
	rc = db_stmt(st->db, SQL_MAX_VERSION, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "");
	if (rc == 1)
		*current = (int)st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

/* The migration text with @ID@ replaced by the backend's identity column. */
static char *expand_ddl(const char *sql, const char *id)
{
	size_t n = 0, idl = strlen(id);
	const char *p;
	char *out, *o;

	for (p = sql; (p = strstr(p, "@ID@")); p += 4)
		n++;
	out = malloc(strlen(sql) + n * idl + 1);
	if (!out)
		return NULL;
	for (o = out, p = sql; *p;) {
		if (strncmp(p, "@ID@", 4) == 0) {
			memcpy(o, id, idl);
			o += idl;
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static int migrate(store_t *st, int64_t now, int *applied, struct cd_err *err);

int store_migrate(store_t *st, int64_t now, int *applied, struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct cd_err ignore;
	int rc;

	*applied = 0;
	/* two nodes starting at once: the second waits, then finds nothing to do */
	if (d->migrate_lock && (rc = d->migrate_lock(st->db, true, err)))
		return rc;
	rc = migrate(st, now, applied, err);
	if (d->migrate_lock)
		d->migrate_lock(st->db, false, &ignore);
	return rc;
}

static int migrate(store_t *st, int64_t now, int *applied, struct cd_err *err)
{
	int current, latest, rc;

	rc = store_schema_version(st, &current, &latest, err);
	if (rc)
		return rc;
	if (current > latest)
		return cd_err_set(err, CD_ESTATE, false,
				  "the store is at schema version %d, newer than this certdesk "
				  "knows (%d): run a newer certdesk",
				  current, latest);
	for (int i = 0; i < store_migrations_count; i++) {
		const struct migration *m = &store_migrations[i];
		char *sql;

		if (m->version <= current)
			continue;
		sql = expand_ddl(m->sql, st->db->drv->ddl_id());
		if (!sql)
			return cd_err_set(err, CD_ENOMEM, false, "out of memory");
		rc = store_begin(st, err);
		if (!rc)
			rc = st->db->drv->exec(st->db, sql, err);
		free(sql);
		if (!rc)
			rc = RUN(st, SQL_RECORD_VERSION, NULL, err, "iti", (int64_t)m->version,
				 m->name, now);
		if (!rc)
			rc = store_commit(st, err);
		if (rc) {
			store_rollback(st);
			cd_err_prefix(err, "migration %s: ", m->name);
			return rc;
		}
		(*applied)++;
	}
	return 0;
}

int store_require_current(store_t *st, struct cd_err *err)
{
	int current, latest, rc = store_schema_version(st, &current, &latest, err);

	if (rc)
		return rc;
	if (current < latest)
		return cd_err_set(err, CD_ESTATE, false,
				  "the store is at schema version %d of %d: run 'certdesk migrate'",
				  current, latest);
	if (current > latest)
		return cd_err_set(err, CD_ESTATE, false,
				  "the store is at schema version %d, newer than this certdesk "
				  "knows (%d): run a newer certdesk",
				  current, latest);
	return 0;
}
