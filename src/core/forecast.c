/*
 * forecast.c - the pace of a campaign's bulk reissue and its forecast (see
 * forecast.h). Pure: time comes in as parameters.
 */
#include "core/forecast.h"

#include <math.h> /* isfinite only: no libm */
#include <stdlib.h>
#include <string.h>

/* ceil and floor of non-negative values, without libm */
static double up(double x)
{
	double i = (double)(int64_t)x;

	return i < x ? i + 1 : i;
}

static int64_t down(double x)
{
	return (int64_t)x;
}

int bulk_schedule(const size_t *server, size_t n, int64_t start, const struct bulk_pace *pace,
		  size_t *order, int64_t *due, struct cd_err *err)
{
	size_t *count = NULL, *offset = NULL, *fill = NULL, *bucket = NULL, *active = NULL;
	double *server_next = NULL, interval, server_interval, next;
	size_t n_active = 0, k = 0;
	int rc = 0;

	if (!pace || !(pace->rate_per_hour > 0) || !(pace->server_rate_per_hour >= 0))
		return cd_err_set(err, CD_EINVAL, false,
				  "the rate must be above 0 orders per hour");
	if (n == 0)
		return 0;
	count = calloc(n, sizeof(*count));
	offset = calloc(n, sizeof(*offset));
	fill = calloc(n, sizeof(*fill));
	bucket = calloc(n, sizeof(*bucket));
	active = calloc(n, sizeof(*active));
	server_next = calloc(n, sizeof(*server_next));
	if (!count || !offset || !fill || !bucket || !active || !server_next) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory scheduling %zu orders", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (server[i] >= n) {
			rc = cd_err_set(err, CD_EINVAL, false, "order %zu: server index %zu >= %zu",
					i, server[i], n);
			goto out;
		}
		count[server[i]]++;
	}
	/* each server's orders in a bucket, in the given order; the servers in
	 * the order of their first order */
	for (size_t s = 1; s < n; s++)
		offset[s] = offset[s - 1] + count[s - 1];
	for (size_t i = 0; i < n; i++) {
		size_t s = server[i];

		if (fill[s] == 0)
			active[n_active++] = s;
		bucket[offset[s] + fill[s]++] = i;
	}
	/* round robin: one of each server still holding orders per round; a
	 * round costs its servers, so all rounds cost n */
	for (size_t round = 0; n_active; round++) {
		size_t kept = 0;

		for (size_t a = 0; a < n_active; a++) {
			size_t s = active[a];

			order[k++] = bucket[offset[s] + round];
			if (round + 1 < count[s])
				active[kept++] = s;
		}
		n_active = kept;
	}
	interval = 3600.0 / pace->rate_per_hour;
	server_interval =
	    pace->server_rate_per_hour > 0 ? 3600.0 / pace->server_rate_per_hour : 0.0;
	for (size_t s = 0; s < n; s++)
		server_next[s] = (double)start;
	next = (double)start;
	for (k = 0; k < n; k++) {
		size_t s = server[order[k]];
		double t = next > server_next[s] ? next : server_next[s];

		due[k] = (int64_t)down(t);
		next = t + interval;
		server_next[s] = t + server_interval;
	}
out:
	free(count);
	free(offset);
	free(fill);
	free(bucket);
	free(active);
	free(server_next);
	return rc;
}

double bulk_rate_needed(int64_t n, int64_t now, int64_t by)
{
	if (by <= now)
		return 0;
	if (n <= 0)
		return 0;
	/* n orders start at now, now + i, ..., now + (n-1) i <= by */
	if (n == 1)
		return 1;
	return up((double)(n - 1) * 3600.0 / (double)(by - now));
}

int bulk_rate_parse(const char *text, double *per_hour, struct cd_err *err)
{
	char *end;
	double v, unit = 1;

	v = strtod(text ? text : "", &end);
	if (end == text || !(v > 0) || !isfinite(v))
		goto bad;
	if (*end == '\0' || strcmp(end, "/h") == 0)
		unit = 1;
	else if (strcmp(end, "/min") == 0)
		unit = 60;
	else if (strcmp(end, "/s") == 0)
		unit = 3600;
	else
		goto bad;
	*per_hour = v * unit;
	if (*per_hour > 1e9)
		goto bad;
	return 0;
bad:
	return cd_err_set(err, CD_EINVAL, false,
			  "rate '%s': give orders per hour above 0 (1800, 1800/h, 30/min, 0.5/s)",
			  text ? text : "");
}

int64_t forecast_window_start(int64_t now, int64_t window_s, int64_t active_since)
{
	int64_t from = now - window_s;

	return active_since > from ? active_since : from;
}

static enum forecast_verdict verdict(const struct forecast *f, int64_t date)
{
	if (!date)
		return FORECAST_NO_DATE;
	if (!f->finish_at)
		return FORECAST_UNKNOWN;
	return f->finish_at <= date ? FORECAST_ON_TIME : FORECAST_LATE;
}

static double needed(const struct forecast_in *in, int64_t date)
{
	if (!date || date <= in->now || in->remaining <= 0)
		return 0;
	return up((double)in->remaining * 3600.0 / (double)(date - in->now));
}

void forecast_compute(const struct forecast_in *in, struct forecast *out)
{
	memset(out, 0, sizeof(*out));
	if (in->n_done >= 2) {
		double spread = (double)(in->last_done_at - in->first_done_at);
		double gap = spread / (double)(in->n_done - 1);
		double since = (double)(in->now - in->first_done_at) - gap;
		double span = since > spread ? since : spread;

		if (span > 0) {
			out->rate_known = true;
			out->rate_per_hour = (double)(in->n_done - 1) * 3600.0 / span;
		}
	}
	if (in->remaining <= 0)
		out->finish_at = in->now;
	else if (out->rate_known)
		out->finish_at =
		    in->now + (int64_t)up((double)in->remaining * 3600.0 / out->rate_per_hour);
	out->deadline = verdict(out, in->deadline_at);
	out->revocation = verdict(out, in->revocation_at);
	out->needed_for_deadline = needed(in, in->deadline_at);
	out->needed_for_revocation = needed(in, in->revocation_at);
}

const char *forecast_verdict_name(enum forecast_verdict v)
{
	switch (v) {
	case FORECAST_NO_DATE:
		return "no_date";
	case FORECAST_UNKNOWN:
		return "unknown";
	case FORECAST_ON_TIME:
		return "on_time";
	case FORECAST_LATE:
		return "late";
	}
	return "unknown";
}
