/*
 * worker_priv.h - what the pool and the steps share (private to src/worker).
 */
#ifndef CD_WORKER_PRIV_H
#define CD_WORKER_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "acme/acme.h"
#include "dcv/dcv.h"
#include "install/install.h"
#include "notify/notify.h"
#include "store/store.h"
#include "verify/verify.h"
#include "worker/worker.h"

#define WORKER_MAX_CAS 16

struct worker_ca {
	char name[64];
	acme_client_t *client; /* NULL until first used */
};

struct worker_pool {
	const cd_config_t *cfg;
	struct worker_options opt;
	char node[64], boot[40], actor[96];
	long lease_s, claim_interval_ms, backoff_base_ms, backoff_cap_ms, poll_ms;
	long max_retries, max_attempts, attempt_timeout_s, revoke_delay_s, revoke_max_retries;
	long max_in_flight;
	long provider_cap_days;
	bool mail;
	char active_ca[64];

	dcv_resolver_t *resolver;
	installer_t *installer;
	struct notify_settings mail_settings;
	struct verify_options vopt;
	char verify_roots[4096];

	pthread_mutex_t ca_lock; /* guards cas[] creation only, never a network call */
	struct worker_ca cas[WORKER_MAX_CAS];
	size_t n_cas;

	pthread_t *threads;
	struct worker_thread *thread_data;
	int n_threads;
	atomic_bool stop;
	pthread_mutex_t sleep_lock;
	pthread_cond_t sleep_cond;

	atomic_uint_fast64_t steps, transitions, retries, takeovers, lease_lost;
	atomic_uint_fast64_t mails_sent, mails_failed, store_failures;

	/* node.c: this process's hold on its node name and its heartbeat */
	long busy_timeout_ms; /* [store] busy_timeout_ms, for every connection */
	char host_key[96];
	store_t *node_st; /* the heartbeat's connection */
	bool node_held;	  /* registered: its row is removed at the end */
	pthread_t heartbeat;
	bool heartbeat_running;
};

struct worker_thread {
	struct worker_pool *pool;
	int index;
	store_t *st;
	char owner[160];
	unsigned seed;
};

/* The CA client for a configured CA name (created on first use). */
int worker_ca_client(struct worker_pool *p, const char *name, acme_client_t **out,
		     struct cd_err *err);

enum step_outcome {
	STEP_AGAIN,  /* advanced and due now: run the next step at once */
	STEP_PARKED, /* committed, the lease released: due later or terminal */
	STEP_LOST,   /* the lease was lost, or the store failed */
};

/* Runs the step for the order's state and commits its result. */
enum step_outcome worker_step(struct worker_thread *t, int64_t order_id);

/* The CA's newOrder limit (ca_limit.c): a slot taken right before newOrder,
 * or *slot_id 0 and *wait_ms when the window is full; marked done after. */
int worker_ca_limit_take(struct worker_pool *p, store_t *st, const char *ca, int64_t order_id,
			 int64_t *slot_id, long *wait_ms, struct cd_err *err);
void worker_ca_limit_done(store_t *st, int64_t slot_id);

/* node.c: registers p->node for p->boot on p->node_st, refusing (or waiting
 * for a crashed holder's row to go stale) while another process holds it. */
int worker_node_hold(struct worker_pool *p, struct cd_err *err);
/* The heartbeat thread (arg: the pool): renews the row every lease/3. */
void *worker_node_heartbeat_main(void *arg);
/* Removes the row and closes p->node_st (after the threads stopped). */
void worker_node_release(struct worker_pool *p);
/* Sleeps up to ms, waking early when the pool is asked to stop. */
void worker_nap(struct worker_pool *p, long ms);

#endif
