/*
 * forecast.h - a campaign's bulk reissue in numbers, as pure functions: the
 * schedule that paces its queued orders (overall and per hosting server), and
 * when it will finish at the rate it is going, against its two dates.
 */
#ifndef CD_CORE_FORECAST_H
#define CD_CORE_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* --- the pace of a bulk reissue ------------------------------------------------- */

struct bulk_pace {
	double rate_per_hour;	     /* orders started per hour, overall (> 0) */
	double server_rate_per_hour; /* per hosting server; 0 = none of its own */
};

/* Due times for n orders. server[i] is order i's server as an index in
 * [0, n) (the same index for the same server). The orders are interleaved
 * across servers (the first of each server, then the second of each, ...,
 * servers and their orders kept in the given order) so that no server gets
 * a run of reloads; then order k is due no earlier than start, 3600/rate
 * after order k-1, and 3600/server_rate after the previous one of its
 * server. order[k] receives the index of the k-th order, due[k] its time
 * (non-decreasing). Returns 0, -CD_EINVAL for a bad rate or index, -CD_ENOMEM. */
int bulk_schedule(const size_t *server, size_t n, int64_t start, const struct bulk_pace *pace,
		  size_t *order, int64_t *due, struct cd_err *err);

/* The rate an n-order queue needs to start its last order by `by` (orders
 * per hour, rounded up); 0 when `by` is not after now. */
double bulk_rate_needed(int64_t n, int64_t now, int64_t by);

/* Parses a rate: "1800" or "1800/h" (per hour), "30/min", "0.5/s".
 * Returns orders per hour, -CD_EINVAL for anything else or not > 0. */
int bulk_rate_parse(const char *text, double *per_hour, struct cd_err *err);

/* --- the forecast ------------------------------------------------------------------ */

/* The rate looks back `window_s` from now, but no further than the bulk's
 * last start or resume (a pause is not a slowdown): the start of the span. */
int64_t forecast_window_start(int64_t now, int64_t window_s, int64_t active_since);

struct forecast_in {
	int64_t now;
	int64_t n_done;			     /* orders done since the window start */
	int64_t first_done_at, last_done_at; /* the first and the last of them */
	int64_t remaining; /* certificates still to reissue (available + in progress) */
	int64_t deadline_at, revocation_at; /* 0 = none */
};

enum forecast_verdict {
	FORECAST_NO_DATE, /* the campaign has no such date */
	FORECAST_UNKNOWN, /* no rate yet: fewer than two orders done in the window */
	FORECAST_ON_TIME,
	FORECAST_LATE,
};

struct forecast {
	bool rate_known;
	double rate_per_hour; /* orders done per hour, 0 when unknown */
	int64_t finish_at;    /* 0 when unknown; now when nothing remains */
	enum forecast_verdict deadline, revocation;
	/* the rate that would finish the remaining ones by each date, from now
	 * (0 when the date is none or past) */
	double needed_for_deadline, needed_for_revocation;
};

/* The rate is n_done - 1 gaps over the time from the first completion to
 * the last: the pipeline's fill time before the first one does not count.
 * When the time since the last completion is longer than an average gap, the
 * span runs to now less one gap instead, so a stall lowers the rate. The
 * finish is now + remaining / rate. */
void forecast_compute(const struct forecast_in *in, struct forecast *out);

/* "no_date", "unknown", "on_time", "late". */
const char *forecast_verdict_name(enum forecast_verdict v);

#endif
