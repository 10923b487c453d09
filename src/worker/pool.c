/*
 * pool.c - the worker threads: each claims one order at a time with a lease
 * and runs its steps until the order has to wait; thread 0 also delivers the
 * mail outbox. Stopping is cooperative: a thread finishes its current step.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/cdtime.h"
#include "util/log.h"
#include "worker/worker_priv.h"

long worker_backoff_ms(long base_ms, long cap_ms, int retries, long retry_after_s, double r)
{
	long d = base_ms > 0 ? base_ms : 1;

	for (int i = 1; i < retries && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	d = d / 2 + (long)((double)(d - d / 2) * r); /* jitter in [d/2, d] */
	if (retry_after_s > 0 && retry_after_s * 1000 > d)
		d = retry_after_s * 1000; /* the peer said when, and it is later */
	return d;
}

static int get_long(const cd_config_t *cfg, const char *key, long min, long max, long *out,
		    struct cd_err *err)
{
	return cd_config_get_int(cfg, "worker", key, min, max, out, err);
}

static int load_settings(struct worker_pool *p, struct cd_err *err)
{
	const cd_config_t *cfg = p->cfg;
	const char *node = cd_config_get(cfg, "worker", "node");
	long threads;
	int rc;

	if (node && *node) {
		snprintf(p->node, sizeof(p->node), "%s", node);
	} else if (gethostname(p->node, sizeof(p->node) - 1) != 0 || !p->node[0]) {
		snprintf(p->node, sizeof(p->node), "node");
	}
	if (strchr(p->node, '/'))
		return cd_err_set(err, CD_ECONFIG, false, "[worker] node must not contain '/'");
	rc = get_long(cfg, "threads", 1, 256, &threads, err);
	if (!rc)
		rc = get_long(cfg, "lease_seconds", 5, 86400, &p->lease_s, err);
	if (!rc)
		rc = get_long(cfg, "claim_interval_ms", 10, 60000, &p->claim_interval_ms, err);
	if (!rc)
		rc = get_long(cfg, "backoff_base_ms", 10, 3600000, &p->backoff_base_ms, err);
	if (!rc)
		rc = get_long(cfg, "backoff_cap_ms", 10, 86400000, &p->backoff_cap_ms, err);
	if (!rc)
		rc = get_long(cfg, "poll_ms", 10, 600000, &p->poll_ms, err);
	if (!rc)
		rc = get_long(cfg, "max_retries", 0, 1000, &p->max_retries, err);
	if (!rc)
		rc = get_long(cfg, "max_attempts", 1, 100, &p->max_attempts, err);
	if (!rc)
		rc = get_long(cfg, "attempt_timeout_s", 10, 604800, &p->attempt_timeout_s, err);
	if (!rc)
		rc = get_long(cfg, "revoke_delay_s", 0, 31 * 86400, &p->revoke_delay_s, err);
	if (!rc)
		rc = get_long(cfg, "revoke_max_retries", 0, 1000, &p->revoke_max_retries, err);
	if (!rc)
		rc = get_long(cfg, "max_in_flight", 1, 1000000, &p->max_in_flight, err);
	if (!rc)
		rc = cd_config_get_bool(cfg, "worker", "mail", &p->mail, err);
	if (!rc)
		rc = cd_config_get_int(cfg, "provider", "max_validity_days", 0, 3650,
				       &p->provider_cap_days, err);
	if (!rc) /* like the CLI's connection (src/cli/main.c) */
		rc = cd_config_get_int(cfg, "store", "busy_timeout_ms", 0, 600000,
				       &p->busy_timeout_ms, err);
	if (rc)
		return rc;
	p->n_threads = p->opt.threads > 0 ? p->opt.threads : (int)threads;
	if (p->backoff_cap_ms < p->backoff_base_ms)
		p->backoff_cap_ms = p->backoff_base_ms;
	return acme_active_ca(cfg, p->active_ca, sizeof(p->active_ca), err);
}

int worker_ca_client(struct worker_pool *p, const char *name, acme_client_t **out,
		     struct cd_err *err)
{
	struct acme_client_options o = { .store_url = p->opt.store_url,
					 .box = p->opt.box,
					 .actor = p->actor };
	acme_client_t *c = NULL;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&p->ca_lock);
	for (size_t i = 0; i < p->n_cas; i++) {
		if (strcmp(p->cas[i].name, name) == 0) {
			*out = p->cas[i].client;
			goto out;
		}
	}
	if (p->n_cas == WORKER_MAX_CAS) {
		rc = cd_err_set(err, CD_ELIMIT, false, "more than %d CAs", WORKER_MAX_CAS);
		goto out;
	}
	/* creating a client reads the config only; the network comes later */
	rc = acme_client_new(p->cfg, name, &o, &c, err);
	if (rc)
		goto out;
	snprintf(p->cas[p->n_cas].name, sizeof(p->cas[0].name), "%s", name);
	p->cas[p->n_cas++].client = c;
	*out = c;
out:
	pthread_mutex_unlock(&p->ca_lock);
	return rc;
}

void worker_nap(struct worker_pool *p, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->sleep_lock);
	if (!atomic_load(&p->stop))
		pthread_cond_timedwait(&p->sleep_cond, &p->sleep_lock, &ts);
	pthread_mutex_unlock(&p->sleep_lock);
}

static void deliver_mail(struct worker_thread *t)
{
	struct worker_pool *p = t->pool;
	struct cd_err err = { 0 };
	int sent = 0, failed = 0;

	if (notify_deliver_due(t->st, &p->mail_settings, 0, cd_time_now(), &sent, &failed, &err)) {
		cd_log(CD_LOG_WARN, "worker: mail delivery: %s", err.msg);
		return;
	}
	atomic_fetch_add(&p->mails_sent, (uint64_t)sent);
	atomic_fetch_add(&p->mails_failed, (uint64_t)failed);
}

/* With --until-idle: nothing left to do once no order is open and, when this
 * pool delivers mail, no message is waiting in the outbox (one leased by a
 * killed process included: it is delivered once its lease runs out). */
static bool idle(struct worker_thread *t, struct cd_err *err)
{
	struct worker_pool *p = t->pool;
	int64_t open = 1, pending = 1, sent, failed;

	if (store_orders_count_open(t->st, &open, err) || open > 0)
		return false;
	if (!p->mail)
		return true;
	deliver_mail(t);
	return store_outbox_counts(t->st, &pending, &sent, &failed, err) == 0 && pending == 0;
}

static void *thread_main(void *arg)
{
	struct worker_thread *t = arg;
	struct worker_pool *p = t->pool;
	struct store_options so = { .busy_timeout_ms = p->busy_timeout_ms };
	struct cd_err err = { 0 };

	if (store_open(p->opt.store_url, &so, &t->st, &err)) {
		cd_log(CD_LOG_ERROR, "worker %d: %s", t->index, err.msg);
		atomic_fetch_add(&p->store_failures, 1);
		return NULL;
	}
	{
		char source[160];

		snprintf(source, sizeof(source), "node:%s", p->node);
		store_set_source(t->st, source); /* the audit trail's source of its events */
	}
	while (!atomic_load(&p->stop)) {
		struct store_claim c = { .node = p->node,
					 .boot = p->boot,
					 .owner = t->owner,
					 .now = cd_time_now(),
					 .lease_seconds = p->lease_s,
					 .max_in_flight = (int)p->max_in_flight };
		int64_t id;
		int n = 0, takeovers = 0;

		if (t->index == 0 && p->mail)
			deliver_mail(t);
		if (store_orders_claim(t->st, &c, 1, &id, &n, &takeovers, &err)) {
			if (err.code != CD_EBUSY)
				cd_log(CD_LOG_WARN, "worker %d: claim: %s", t->index, err.msg);
			worker_nap(p, p->claim_interval_ms);
			continue;
		}
		atomic_fetch_add(&p->takeovers, (uint64_t)takeovers);
		if (n == 0) {
			if (p->opt.until_idle && idle(t, &err)) {
				worker_pool_request_stop(p);
				break;
			}
			worker_nap(p, p->claim_interval_ms);
			continue;
		}
		while (!atomic_load(&p->stop)) {
			enum step_outcome o = worker_step(t, id);

			atomic_fetch_add(&p->steps, 1);
			if (o == STEP_LOST)
				atomic_fetch_add(&p->lease_lost, 1);
			if (o != STEP_AGAIN)
				break;
		}
	}
	store_close(t->st);
	t->st = NULL;
	return NULL;
}

int worker_pool_start(const cd_config_t *cfg, const struct worker_options *opt, worker_pool_t **out,
		      struct cd_err *err)
{
	struct worker_pool *p = calloc(1, sizeof(*p));
	struct worker_thread *ts = NULL;
	int rc;

	*out = NULL;
	if (!p)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	p->cfg = cfg;
	p->opt = *opt;
	pthread_mutex_init(&p->ca_lock, NULL);
	pthread_mutex_init(&p->sleep_lock, NULL);
	pthread_cond_init(&p->sleep_cond, NULL);
	rc = load_settings(p, err);
	if (rc)
		goto fail;
	/* the boot id tells this process's leases from an earlier one's; the
	 * random part keeps two hosts' processes (PID 1 in containers started
	 * in the same second) apart */
	{
		unsigned r = 0;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (unsigned)clock();
		snprintf(p->boot, sizeof(p->boot), "%lx%x%08x", (unsigned long)cd_time_now(),
			 (unsigned)getpid(), r);
	}
	snprintf(p->actor, sizeof(p->actor), "worker:%s", p->node);
	rc = dcv_resolver_new(cfg, &p->resolver, err);
	if (!rc)
		rc = install_new(cfg, &p->installer, err);
	if (!rc)
		rc = notify_settings_load(cfg, &p->mail_settings, err);
	if (!rc)
		rc = verify_options_load(cfg, &p->vopt, p->verify_roots, sizeof(p->verify_roots),
					 err);
	if (rc)
		goto fail;
	p->threads = calloc((size_t)p->n_threads, sizeof(*p->threads));
	ts = calloc((size_t)p->n_threads, sizeof(*ts));
	if (!p->threads || !ts) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto fail;
	}
	/* no thread claims anything before this process holds its node name */
	rc = store_open(p->opt.store_url,
			&(struct store_options){ .busy_timeout_ms = p->busy_timeout_ms },
			&p->node_st, err);
	if (!rc)
		rc = worker_node_hold(p, err);
	if (rc)
		goto fail;
	if (pthread_create(&p->heartbeat, NULL, worker_node_heartbeat_main, p) != 0) {
		rc = cd_err_set(err, CD_EINTERNAL, false, "cannot start the heartbeat thread: %s",
				strerror(errno));
		goto fail;
	}
	p->heartbeat_running = true;
	for (int i = 0; i < p->n_threads; i++) {
		ts[i].pool = p;
		ts[i].index = i;
		ts[i].seed = (unsigned)(cd_time_now() ^ (i * 2654435761u) ^ (unsigned)getpid());
		snprintf(ts[i].owner, sizeof(ts[i].owner), "%s/%s/%d", p->node, p->boot, i);
		if (pthread_create(&p->threads[i], NULL, thread_main, &ts[i]) != 0) {
			worker_pool_request_stop(p);
			for (int j = 0; j < i; j++)
				pthread_join(p->threads[j], NULL);
			rc = cd_err_set(err, CD_EINTERNAL, false, "cannot start worker thread: %s",
					strerror(errno));
			goto fail;
		}
	}
	p->thread_data = ts;
	*out = p;
	cd_log(CD_LOG_INFO, "worker: node %s, %d threads, active CA %s", p->node, p->n_threads,
	       p->active_ca);
	return 0;
fail:
	if (p->heartbeat_running)
		pthread_join(p->heartbeat, NULL);
	worker_node_release(p);
	free(ts);
	free(p->threads);
	dcv_resolver_free(p->resolver);
	install_free(p->installer);
	free(p);
	return rc;
}

void worker_pool_request_stop(worker_pool_t *p)
{
	pthread_mutex_lock(&p->sleep_lock);
	atomic_store(&p->stop, true);
	pthread_cond_broadcast(&p->sleep_cond);
	pthread_mutex_unlock(&p->sleep_lock);
}

bool worker_pool_stopping(worker_pool_t *p)
{
	return atomic_load(&p->stop);
}

int worker_pool_join(worker_pool_t *p)
{
	struct store_options so = { .busy_timeout_ms = p ? p->busy_timeout_ms : 0 };
	struct cd_err err = { 0 };
	store_t *st = NULL;
	int failures;

	if (!p)
		return 0;
	for (int i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_join(p->heartbeat, NULL);
	/* give back what this process still holds, so others need not wait */
	if (!store_open(p->opt.store_url, &so, &st, &err)) {
		for (int i = 0; i < p->n_threads; i++)
			if (store_orders_release(st, p->thread_data[i].owner, &err))
				cd_log(CD_LOG_WARN, "worker: releasing leases: %s", err.msg);
		store_close(st);
	}
	worker_node_release(p); /* the node name is free for a restart at once */
	for (size_t i = 0; i < p->n_cas; i++)
		acme_client_free(p->cas[i].client);
	dcv_resolver_free(p->resolver);
	install_free(p->installer);
	failures = (int)atomic_load(&p->store_failures);
	free(p->thread_data);
	free(p->threads);
	pthread_mutex_destroy(&p->ca_lock);
	pthread_mutex_destroy(&p->sleep_lock);
	pthread_cond_destroy(&p->sleep_cond);
	free(p);
	return failures;
}

void worker_pool_stats(worker_pool_t *p, struct worker_stats *out)
{
	out->steps = atomic_load(&p->steps);
	out->transitions = atomic_load(&p->transitions);
	out->retries = atomic_load(&p->retries);
	out->lease_takeovers = atomic_load(&p->takeovers);
	out->lease_lost = atomic_load(&p->lease_lost);
	out->mails_sent = atomic_load(&p->mails_sent);
	out->mails_failed = atomic_load(&p->mails_failed);
}
