/*
 * nodes.c - which process holds each worker node name (the worker_nodes
 * table, migration 0014): registration, the heartbeat and its removal.
 *
 * A node name is held by one process (boot) at a time, so that the rule of
 * work.c's claim - an earlier boot of this node is dead, take its leases at
 * once - cannot hit a second live process with the same name. Registration is
 * one upsert whose WHERE decides: free, stale, this boot's or a boot proven
 * dead; so two processes registering at once (PostgreSQL runs them
 * concurrently) cannot both win.
 */
#include <string.h>

#include "store/store_priv.h"

static const char SQL_REGISTER[] =
    "INSERT INTO worker_nodes (node, boot, host, host_key, pid, started_at, heartbeat_at, "
    "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (node) DO UPDATE SET "
    "boot = excluded.boot, host = excluded.host, host_key = excluded.host_key, "
    "pid = excluded.pid, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, "
    "expires_at = excluded.expires_at "
    "WHERE worker_nodes.boot = excluded.boot OR worker_nodes.expires_at < excluded.heartbeat_at "
    "OR worker_nodes.boot = $9";

static const char SQL_HOLDER[] =
    "SELECT node, boot, host, host_key, pid, started_at, heartbeat_at, expires_at "
    "FROM worker_nodes WHERE node = $1";

static int read_holder(store_t *st, const char *node, struct store_worker_node *h, bool *found,
		       struct cd_err *err)
{
	const struct db_driver *d = st->db->drv;
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_HOLDER, &s, err);

	*found = false;
	if (rc)
		return rc;
	memset(h, 0, sizeof(*h));
	rc = db_run(st->db, s, err, "t", node);
	if (rc == 1) {
		*found = true;
		db_col_copy(st->db, s, 0, h->node, sizeof(h->node));
		db_col_copy(st->db, s, 1, h->boot, sizeof(h->boot));
		db_col_copy(st->db, s, 2, h->host, sizeof(h->host));
		db_col_copy(st->db, s, 3, h->host_key, sizeof(h->host_key));
		h->pid = d->col_int64(s, 4);
		h->started_at = d->col_int64(s, 5);
		h->heartbeat_at = d->col_int64(s, 6);
		h->expires_at = d->col_int64(s, 7);
	}
	d->reset(s);
	return rc < 0 ? rc : 0;
}

int store_worker_node_register(store_t *st, const struct store_worker_node *n, int64_t now,
			       const char *dead_boot, bool *got, struct store_worker_node *holder,
			       struct cd_err *err)
{
	struct store_worker_node h;
	int changed = 0, rc;
	bool found;

	*got = false;
	if (!n->node[0] || !n->boot[0])
		return cd_err_set(err, CD_EINVAL, false, "worker node: empty node name or boot id");
	rc =
	    RUN(st, SQL_REGISTER, &changed, err, "ttttiiiit", n->node, n->boot, n->host,
		n->host_key, n->pid, n->started_at, now, n->expires_at, dead_boot ? dead_boot : "");
	if (rc)
		return rc;
	*got = changed > 0;
	if (*got || !holder)
		return 0;
	/* the holder may have shut down since: then the caller simply tries again */
	rc = read_holder(st, n->node, &h, &found, err);
	if (rc)
		return rc;
	*holder = h;
	return 0;
}

int store_worker_node_renew(store_t *st, const char *node, const char *boot, int64_t now,
			    int64_t expires_at, bool *held, struct cd_err *err)
{
	int changed = 0;
	int rc = RUN(st,
		     "UPDATE worker_nodes SET heartbeat_at = $3, expires_at = $4 "
		     "WHERE node = $1 AND boot = $2",
		     &changed, err, "ttii", node, boot, now, expires_at);

	*held = !rc && changed > 0;
	return rc;
}

int store_worker_node_remove(store_t *st, const char *node, const char *boot, struct cd_err *err)
{
	return RUN(st, "DELETE FROM worker_nodes WHERE node = $1 AND boot = $2", NULL, err, "tt",
		   node, boot);
}
