/*
 * servers.c - reading one hosting server's row (the installer's and the
 * operator's view: addresses, driver, HTTP and TLS ports).
 */
#include <string.h>

#include "store/store_priv.h"

static const char SQL_SERVER_GET[] =
    "SELECT server, COALESCE(ipv4, ''), COALESCE(ipv6, ''), state, driver, http_port, "
    "https_port FROM servers WHERE server = $1";

int store_server_get(store_t *st, const char *server, struct store_server_row *out,
		     struct cd_err *err)
{
	struct db_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = db_stmt(st->db, SQL_SERVER_GET, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", server);
	if (rc == 1) {
		db_col_copy(st->db, s, 0, out->server, sizeof(out->server));
		db_col_copy(st->db, s, 1, out->ipv4, sizeof(out->ipv4));
		db_col_copy(st->db, s, 2, out->ipv6, sizeof(out->ipv6));
		db_col_copy(st->db, s, 3, out->state, sizeof(out->state));
		db_col_copy(st->db, s, 4, out->driver, sizeof(out->driver));
		out->http_port = (int)st->db->drv->col_int64(s, 5);
		out->https_port = (int)st->db->drv->col_int64(s, 6);
	}
	st->db->drv->reset(s);
	if (rc == 0)
		return cd_err_set(err, CD_ENOTFOUND, false, "no server '%s' in the inventory",
				  server);
	return rc < 0 ? rc : 0;
}
