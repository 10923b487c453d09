/*
 * test_burndown.c - a certificate's standing at the end of each day from its
 * orders (reissued, in progress, impossible, remaining) and the forecast of a
 * campaign's finish, as tables of named cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/burndown.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define D    86400

/* Four days ending at D-1, 2D-1, 3D-1, 4D-1; one certificate. */
struct day_case {
	const char *name;
	struct burndown_order orders[3];
	size_t n;
	const char
	    *expect; /* a letter a day: R reissued, P in progress, I impossible, - remaining */
};

static struct day_case days[] = {
	{ "no order: remaining every day", { { 0 } }, 0, "----" },
	{ "done on day 2 after starting on day 1",
	  { { D + 10, 2 * D + 10, "done", false } },
	  1,
	  "-PRR" },
	{ "open order: in progress from its day on",
	  { { 2 * D, 2 * D, "validating", false } },
	  1,
	  "--PP" },
	{ "failed for good: impossible from the failure on",
	  { { 10, D + 10, "failed", false } },
	  1,
	  "PIII" },
	{ "failed, a retry can help: remaining again",
	  { { 10, D + 10, "failed", true } },
	  1,
	  "P---" },
	{ "canceled: remaining again", { { 10, 2 * D + 5, "canceled", false } }, 1, "PP--" },
	{ "failed, then retried and done",
	  { { 10, 20, "failed", false }, { 2 * D + 1, 3 * D + 1, "done", false } },
	  2,
	  "IIPR" },
	{ "a day's last second counts in that day",
	  { { D - 1, D - 1, "done", false } },
	  1,
	  "RRRR" },
};

static void test_days(void **state)
{
	const struct day_case *c = *state;
	static struct burndown b;
	int64_t ends[4] = { D - 1, 2 * D - 1, 3 * D - 1, 4 * D - 1 };

	burndown_init(&b, ends, 4, 1);
	if (c->n)
		burndown_add(&b, c->orders, c->n);
	for (size_t i = 0; i < 4; i++) {
		const struct burndown_day *d = &b.days[i];
		char got = d->reissued ? 'R' : d->in_progress ? 'P' : d->impossible ? 'I' : '-';

		if (d->reissued + d->in_progress + d->impossible + d->remaining != 1)
			fail_msg("case '%s': day %zu counts the certificate %ld times", c->name, i,
				 d->reissued + d->in_progress + d->impossible + d->remaining);
		if (got != c->expect[i])
			fail_msg("case '%s': day %zu is %c, expected %c", c->name, i, got,
				 c->expect[i]);
	}
}

struct forecast_case {
	const char *name;
	int64_t start, now, deadline;
	long reissued, todo;
	bool known, late;
	int64_t finish_at;
	double per_day, needed;
};

static struct forecast_case forecasts[] = {
	{ "nothing reissued yet: unknown", 0, 10 * D, 30 * D, 0, 100, false, false, 0, 0, 5 },
	{ "10 a day, 100 to do: 10 days on, before the deadline", 0, 10 * D, 30 * D, 100, 100, true,
	  false, 20 * D, 10, 5 },
	{ "1 a day, 100 to do: after the deadline", 0, 10 * D, 30 * D, 10, 100, true, true, 110 * D,
	  1, 5 },
	{ "nothing left: finished now", 0, 10 * D, 30 * D, 50, 0, true, false, 10 * D, 5, 0 },
	{ "less than a day: counted as one day", 0, 3600, 30 * D, 4, 8, true, false, 3600 + 2 * D,
	  4, 8.0 / ((30.0 * D - 3600) / D) },
	{ "past the deadline: nothing needed per day, late", 0, 40 * D, 30 * D, 40, 10, true, true,
	  50 * D, 1, 0 },
};

static void test_forecast(void **state)
{
	const struct forecast_case *c = *state;
	struct burndown_forecast f;

	burndown_forecast(c->start, c->now, c->deadline, c->reissued, c->todo, &f);
	if (f.known != c->known || f.late != c->late)
		fail_msg("case '%s': known %d late %d", c->name, f.known, f.late);
	if (c->known && f.finish_at != c->finish_at)
		fail_msg("case '%s': finish %lld, expected %lld", c->name, (long long)f.finish_at,
			 (long long)c->finish_at);
	if (c->known && (f.per_day < c->per_day - 1e-9 || f.per_day > c->per_day + 1e-9))
		fail_msg("case '%s': %f a day", c->name, f.per_day);
	if (f.needed_per_day < c->needed - 1e-9 || f.needed_per_day > c->needed + 1e-9)
		fail_msg("case '%s': %f needed a day, expected %f", c->name, f.needed_per_day,
			 c->needed);
}

static void test_many_days_cut(void **state)
{
	static struct burndown b;
	static int64_t ends[BURNDOWN_MAX_DAYS + 10];

	(void)state;
	for (size_t i = 0; i < N(ends); i++)
		ends[i] = (int64_t)(i + 1) * D - 1;
	burndown_init(&b, ends, N(ends), 7);
	if (b.n_days != BURNDOWN_MAX_DAYS || b.days[BURNDOWN_MAX_DAYS - 1].remaining != 7)
		fail_msg("case 'more days than the maximum are cut': %zu days", b.n_days);
}

int main(void)
{
	static struct CMUnitTest tests[N(days) + N(forecasts) + 1];
	size_t n = 0;

	for (size_t i = 0; i < N(days); i++)
		tests[n++] = (struct CMUnitTest){ days[i].name, test_days, NULL, NULL, &days[i] };
	for (size_t i = 0; i < N(forecasts); i++)
		tests[n++] = (struct CMUnitTest){ forecasts[i].name, test_forecast, NULL, NULL,
						  &forecasts[i] };
	tests[n++] = (struct CMUnitTest){ "more days than the maximum are cut", test_many_days_cut,
					  NULL, NULL, NULL };
	return _cmocka_run_group_tests("burndown", tests, n, NULL, NULL);
}
