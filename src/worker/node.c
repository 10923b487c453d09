/*
 * node.c - this pool's hold on its worker node name: registration before the
 * threads start, the heartbeat thread that renews it, its removal on a clean
 * stop (the worker_nodes row, src/store/nodes.c).
 *
 * Two live processes with one node name would take each other's leases at
 * once (an earlier boot of the node counts as dead). So a pool starts only
 * when no other boot of its node has a fresh heartbeat. A fresh row left by a
 * crash is told from a live process in one of two ways: on the same host
 * (same kernel boot and PID namespace) its PID no longer exists, and the new
 * process takes over at once; otherwise the new process watches the row for
 * up to its remaining life: a live holder renews it (every lease/3) and the
 * new process refuses to start, a dead one lets it go stale and the new
 * process takes over. Either way the dead boot's leases are then taken back
 * at once.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cdtime.h"
#include "util/log.h"
#include "worker/worker_priv.h"

/* How often a waiting process looks at the holder's row again. */
#define WATCH_MS 500

/* This host as the PID of a row can be checked on: the kernel's boot id and
 * this process's PID namespace ("" when /proc does not say). */
static void host_key(char *out, size_t outsz)
{
	char id[64] = "";
	struct stat sb;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(id, sizeof(id), f))
		id[0] = '\0';
	fclose(f);
	id[strcspn(id, "\r\n")] = '\0';
	if (!id[0] || stat("/proc/self/ns/pid", &sb) != 0)
		return;
	snprintf(out, outsz, "%s/%llu", id, (unsigned long long)sb.st_ino);
}

/* Whether the holder is a process of this host that no longer exists. A PID
 * reused since counts as alive: the watch then decides. */
static bool holder_gone(const struct worker_pool *p, const struct store_worker_node *h)
{
	if (!p->host_key[0] || strcmp(h->host_key, p->host_key) != 0)
		return false;
	if (h->pid <= 0 || h->pid > INT_MAX || (pid_t)h->pid == getpid())
		return false;
	return kill((pid_t)h->pid, 0) != 0 && errno == ESRCH;
}

static int in_use(const struct worker_pool *p, const struct store_worker_node *h, int64_t now,
		  struct cd_err *err)
{
	return cd_err_set(err, CD_ECONFLICT, false,
			  "worker node '%s' is in use by another live process (host %s, pid %lld, "
			  "heartbeat %llds ago): two processes with one node name would take each "
			  "other's orders; set a distinct [worker] node in this process's config "
			  "(or [worker] in_serve = no for a portal-only 'certdesk serve')",
			  p->node, h->host[0] ? h->host : "?", (long long)h->pid,
			  (long long)(now - h->heartbeat_at));
}

int worker_node_hold(struct worker_pool *p, struct cd_err *err)
{
	struct store_worker_node me = { 0 }, h, seen = { 0 };
	const char *dead_boot = NULL;
	char gone[sizeof(h.boot)] = "";
	int64_t started = cd_time_now();

	snprintf(me.node, sizeof(me.node), "%s", p->node);
	snprintf(me.boot, sizeof(me.boot), "%s", p->boot);
	if (gethostname(me.host, sizeof(me.host) - 1) != 0)
		snprintf(me.host, sizeof(me.host), "?");
	host_key(p->host_key, sizeof(p->host_key));
	snprintf(me.host_key, sizeof(me.host_key), "%s", p->host_key);
	me.pid = (int64_t)getpid();
	me.started_at = started;
	for (;;) {
		int64_t now = cd_time_now();
		bool got;
		int rc;

		me.expires_at = now + p->lease_s;
		rc = store_worker_node_register(p->node_st, &me, now, dead_boot, &got, &h, err);
		if (rc)
			return rc;
		if (got)
			break;
		if (!h.boot[0])
			continue; /* the holder stopped meanwhile: try again */
		if (holder_gone(p, &h)) {
			/* crashed on this host: its row is fresh, its process is not */
			snprintf(gone, sizeof(gone), "%s", h.boot);
			dead_boot = gone;
			cd_log(CD_LOG_WARN,
			       "worker: node %s: its previous process (pid %lld) is gone; taking "
			       "over at once",
			       p->node, (long long)h.pid);
			continue;
		}
		if (seen.boot[0] &&
		    (strcmp(seen.boot, h.boot) != 0 || h.heartbeat_at > seen.heartbeat_at))
			return in_use(p, &h, now, err);
		if (!seen.boot[0]) {
			seen = h;
			cd_log(
			    CD_LOG_WARN,
			    "worker: node %s is held by host %s, pid %lld (heartbeat %llds ago): "
			    "waiting up to %llds for it to renew (a live process: refuse to "
			    "start) or to go stale (a crashed one: take over)",
			    p->node, h.host, (long long)h.pid, (long long)(now - h.heartbeat_at),
			    (long long)(h.expires_at - now + 1));
		}
		usleep(WATCH_MS * 1000);
	}
	p->node_held = true;
	cd_log(CD_LOG_INFO, "worker: node %s registered (boot %s)", p->node, p->boot);
	return 0;
}

void *worker_node_heartbeat_main(void *arg)
{
	struct worker_pool *p = arg;
	/* well within the lease: two renewals may fail before the row goes stale */
	long every_ms = p->lease_s * 1000 / 3;

	while (!atomic_load(&p->stop)) {
		struct cd_err err = { 0 };
		int64_t now;
		bool held;

		worker_nap(p, every_ms);
		if (atomic_load(&p->stop))
			break;
		now = cd_time_now();
		if (store_worker_node_renew(p->node_st, p->node, p->boot, now, now + p->lease_s,
					    &held, &err)) {
			cd_log(CD_LOG_WARN, "worker: node %s: heartbeat: %s", p->node, err.msg);
			continue;
		}
		if (!held) {
			/* this process stalled past its heartbeat and another one with
			 * the same node name took over: it owns these orders now */
			cd_log(CD_LOG_ERROR,
			       "worker: node %s was taken over by another process after this "
			       "one's heartbeat went stale: stopping these workers",
			       p->node);
			atomic_fetch_add(&p->store_failures, 1);
			worker_pool_request_stop(p);
		}
	}
	return NULL;
}

void worker_node_release(struct worker_pool *p)
{
	struct cd_err err = { 0 };

	if (!p->node_st)
		return;
	if (p->node_held && store_worker_node_remove(p->node_st, p->node, p->boot, &err))
		cd_log(CD_LOG_WARN, "worker: node %s: removing its heartbeat: %s", p->node,
		       err.msg);
	store_close(p->node_st);
	p->node_st = NULL;
}
