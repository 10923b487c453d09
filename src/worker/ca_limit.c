/*
 * ca_limit.c - the CA's newOrder limit as the worker sees it: [ca NAME]
 * orders_per_window newOrders in any order_window_s seconds (0 = no limit),
 * counted in the store so that every worker process together stays under it
 * (src/store/bulk.c). An order held by the limit waits; it is not a failure.
 */
#include <stdio.h>
#include <time.h>

#include "util/log.h"
#include "worker/worker_priv.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int worker_ca_limit_take(struct worker_pool *p, store_t *st, const char *ca, int64_t order_id,
			 int64_t *slot_id, long *wait_ms, struct cd_err *err)
{
	char section[80];
	long limit, window_s, timeout_s, tries;
	int64_t wait = 0;
	int rc;

	*slot_id = 0;
	*wait_ms = 0;
	snprintf(section, sizeof(section), "ca %s", ca);
	rc = cd_config_get_int(p->cfg, section, "orders_per_window", 0, 1000000000, &limit, err);
	if (rc || limit == 0)
		return rc;
	rc = cd_config_get_int(p->cfg, section, "order_window_s", 1, 7 * 86400, &window_s, err);
	if (!rc)
		rc = cd_config_get_int(p->cfg, "acme", "http_timeout_s", 1, 3600, &timeout_s, err);
	if (!rc)
		rc = cd_config_get_int(p->cfg, "acme", "http_retries", 0, 100, &tries, err);
	if (rc)
		return rc;
	/* a slot without an answer (its worker died mid-request) counts for as
	 * long as the request could have lasted, with every retry */
	rc = store_ca_slot_take(st, ca, order_id, now_ms(), limit, (int64_t)window_s * 1000,
				(int64_t)timeout_s * 1000 * (tries + 1), slot_id, &wait, err);
	if (rc)
		return rc;
	*wait_ms = (long)wait;
	return 0;
}

void worker_ca_limit_done(store_t *st, int64_t slot_id)
{
	struct cd_err err = { 0 };

	/* not fatal: an unmarked slot only counts until granted + hold */
	if (slot_id && store_ca_slot_done(st, slot_id, now_ms(), &err))
		cd_log(CD_LOG_WARN, "CA order limit: slot %lld: %s", (long long)slot_id, err.msg);
}
