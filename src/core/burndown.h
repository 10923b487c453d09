/*
 * burndown.h - a campaign's progress day by day (for the operator's burndown
 * chart) and the forecast of when it finishes. Pure: the days and "now" come
 * in as parameters; the store supplies each certificate's orders.
 */
#ifndef CD_CORE_BURNDOWN_H
#define CD_CORE_BURNDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BURNDOWN_MAX_DAYS 400

/* Where the campaign's targets stood at the end of one day. */
struct burndown_day {
	int64_t day_end; /* the day's last second (UTC instant) */
	long reissued, in_progress, impossible, remaining;
};

struct burndown {
	struct burndown_day days[BURNDOWN_MAX_DAYS];
	size_t n_days;
	long targets;
};

/* One order of a certificate, as the store keeps it. */
struct burndown_order {
	int64_t created_at;
	int64_t state_at; /* when it reached `state` */
	const char *state;
	bool failure_retryable;
};

/* Starts a burndown over n_days days ending at day_end[i], with every one of
 * `targets` certificates remaining. n_days is cut to BURNDOWN_MAX_DAYS. */
void burndown_init(struct burndown *b, const int64_t *day_end, size_t n_days, long targets);

/* Adds one certificate's orders (oldest first). At a day's end it is
 *   reissued     when an order created by then had reached done by then;
 *   in progress  when the newest order created by then had not ended;
 *   impossible   when that order had failed and a retry cannot help;
 *   remaining    otherwise (no order, canceled, failed but retryable).
 * A certificate without orders stays remaining; it need not be added. */
void burndown_add(struct burndown *b, const struct burndown_order *orders, size_t n);

struct burndown_forecast {
	bool known;	       /* false until something was reissued */
	double per_day;	       /* reissued per day so far */
	double needed_per_day; /* to finish by the deadline (0 when past it) */
	int64_t finish_at;     /* when the rest is reissued at per_day */
	bool late;	       /* finish_at is after the deadline */
};

/* From the campaign's start, now, its deadline, how many are reissued and how
 * many are still to do (available + in progress). The rate is counted over
 * whole days elapsed (at least one). */
void burndown_forecast(int64_t start, int64_t now, int64_t deadline, long reissued, long todo,
		       struct burndown_forecast *out);

#endif
