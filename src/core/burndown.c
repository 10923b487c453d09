/*
 * burndown.c - a campaign's targets counted by where they stood at the end of
 * each day, from their orders' history, and the forecast of its finish from
 * the rate reached so far.
 */
#include <string.h>

#include "core/burndown.h"

void burndown_init(struct burndown *b, const int64_t *day_end, size_t n_days, long targets)
{
	memset(b, 0, sizeof(*b));
	if (n_days > BURNDOWN_MAX_DAYS)
		n_days = BURNDOWN_MAX_DAYS;
	b->n_days = n_days;
	b->targets = targets;
	for (size_t i = 0; i < n_days; i++) {
		b->days[i].day_end = day_end[i];
		b->days[i].remaining = targets;
	}
}

static bool terminal(const char *state)
{
	return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
	       strcmp(state, "canceled") == 0;
}

void burndown_add(struct burndown *b, const struct burndown_order *orders, size_t n)
{
	for (size_t d = 0; d < b->n_days; d++) {
		struct burndown_day *day = &b->days[d];
		const struct burndown_order *last = NULL;
		bool reissued = false;

		for (size_t i = 0; i < n; i++) {
			const struct burndown_order *o = &orders[i];

			if (o->created_at > day->day_end)
				continue;
			last = o;
			if (strcmp(o->state, "done") == 0 && o->state_at <= day->day_end)
				reissued = true;
		}
		if (!last)
			continue; /* remaining, as initialised */
		day->remaining--;
		if (reissued)
			day->reissued++;
		else if (!terminal(last->state) || last->state_at > day->day_end)
			day->in_progress++;
		else if (strcmp(last->state, "failed") == 0 && !last->failure_retryable)
			day->impossible++;
		else
			day->remaining++;
	}
}

void burndown_forecast(int64_t start, int64_t now, int64_t deadline, long reissued, long todo,
		       struct burndown_forecast *out)
{
	int64_t days = (now - start) / 86400;

	memset(out, 0, sizeof(*out));
	if (days < 1)
		days = 1;
	if (deadline > now)
		out->needed_per_day = (double)todo / ((double)(deadline - now) / 86400.0);
	if (todo <= 0) {
		out->known = true;
		out->finish_at = now;
		out->per_day = (double)reissued / (double)days;
		return;
	}
	if (reissued <= 0)
		return;
	out->known = true;
	out->per_day = (double)reissued / (double)days;
	out->finish_at = now + (int64_t)((double)todo / out->per_day * 86400.0);
	out->late = out->finish_at > deadline;
}
