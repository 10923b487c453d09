/*
 * worker.h - the reissue pipeline's engine: threads that claim orders with a
 * lease and advance each by one idempotent step at a time, committing every
 * result before the next step (DESIGN.md §3.3).
 *
 * A pool runs inside `certdesk serve` or alone as `certdesk worker`. Each
 * thread has its own store connection; the CA clients, the DNS resolver, the
 * installer and the mail settings are shared. Settings ([worker]): node,
 * threads, lease_seconds, claim_interval_ms, backoff_base_ms, backoff_cap_ms,
 * max_retries, max_attempts, attempt_timeout_s, revoke_delay_s,
 * revoke_max_retries, mail (deliver the outbox too), max_in_flight (orders
 * past queued at once, across every node: queued ones wait for a place).
 *
 * One live process per node name (node.c): a pool holds its node in the
 * store with a heartbeat renewed every lease_seconds / 3 and refuses to start
 * while another live process holds it, so that "an earlier boot of this node
 * is dead, take its orders back at once" stays true.
 */
#ifndef CD_WORKER_WORKER_H
#define CD_WORKER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/config.h"
#include "util/err.h"

struct secretbox;
typedef struct worker_pool worker_pool_t;

struct worker_options {
	const char *store_url;	     /* each thread opens its own connection */
	const struct secretbox *box; /* order keys and CA account keys */
	int threads;		     /* 0 = [worker] threads */
	bool until_idle;	     /* stop once no open order (and no mail to deliver) is left */
};

/* Starts the pool (threads running). cfg and box must outlive it. */
int worker_pool_start(const cd_config_t *cfg, const struct worker_options *opt, worker_pool_t **out,
		      struct cd_err *err);
/* Asks every thread to stop after its current step. */
void worker_pool_request_stop(worker_pool_t *p);
/* Whether a stop was requested (or the pool went idle with until_idle). */
bool worker_pool_stopping(worker_pool_t *p);
/* Waits for the threads (after a stop request, or until idle with
 * until_idle), releases this process's leases and frees the pool. Returns
 * the number of steps that failed because of the store (0 = healthy). */
int worker_pool_join(worker_pool_t *p);

struct worker_stats {
	uint64_t steps, transitions, retries, lease_takeovers, lease_lost;
	uint64_t mails_sent, mails_failed;
};
void worker_pool_stats(worker_pool_t *p, struct worker_stats *out);

/* The wait before retry number `retries` (1-based), in milliseconds: the
 * peer's Retry-After when larger, else base * 2^(retries-1) capped at cap,
 * with a jitter drawn from [d/2, d] by r in [0, 1). Pure. */
long worker_backoff_ms(long base_ms, long cap_ms, int retries, long retry_after_s, double r);

#endif
