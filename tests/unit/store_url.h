/*
 * store_url.h - the store a unit test opens: SQLite in its temporary
 * directory, or, when CERTDESK_TEST_PG_URL names a PostgreSQL database
 * (tests/integration/test_store_pg.sh sets it), that database emptied first.
 */
#ifndef CD_TEST_STORE_URL_H
#define CD_TEST_STORE_URL_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

static inline void test_store_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "drop cascades to ..." */
}

/* Writes the URL of an empty store into out; 0 on success. */
static inline int test_store_url(const char *dir, char *out, size_t outsz)
{
	const char *pg = getenv("CERTDESK_TEST_PG_URL");
	PGconn *c;
	PGresult *r;
	int ok;

	if (!pg || !*pg)
		return snprintf(out, outsz, "sqlite:%s/t.db", dir) < (int)outsz ? 0 : -1;
	if ((size_t)snprintf(out, outsz, "%s", pg) >= outsz)
		return -1;
	c = PQconnectdb(pg);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "test store: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQsetNoticeProcessor(c, test_store_quiet, NULL);
	r = PQexec(c, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "test store: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

#endif
