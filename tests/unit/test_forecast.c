/*
 * test_forecast.c - the bulk reissue's numbers as tables: the schedule that
 * paces queued orders (interleaved servers, overall and per-server rates),
 * the rate parser, and the forecast against the deadline and revocation date.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/forecast.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define T0   1800000000 /* 2027-01-15T08:00:00Z */

/* --- the schedule ------------------------------------------------------------------ */

struct sched_case {
	const char *name;
	size_t n;
	size_t server[8];
	double rate, server_rate;
	size_t order[8];
	int64_t due[8]; /* seconds after T0 */
};

static struct sched_case sched_cases[] = {
	{ "one server, one a minute", 3, { 0, 0, 0 }, 60, 0, { 0, 1, 2 }, { 0, 60, 120 } },
	{ "fractional interval floors each due time",
	  4,
	  { 0, 0, 0, 0 },
	  1440, /* 2.5 s */
	  0,
	  { 0, 1, 2, 3 },
	  { 0, 2, 5, 7 } },
	{ "two servers interleaved in the order of their first order",
	  5,
	  { 1, 1, 1, 0, 0 },
	  3600,
	  0,
	  { 0, 3, 1, 4, 2 },
	  { 0, 1, 2, 3, 4 } },
	{ "a server's own rate spreads its run when the others are done",
	  4,
	  { 0, 0, 0, 1 },
	  3600,
	  360, /* one per 10 s per server */
	  { 0, 3, 1, 2 },
	  { 0, 1, 10, 20 } },
	{ "the overall rate binds when it is the slower",
	  3,
	  { 0, 1, 2 },
	  360,
	  3600,
	  { 0, 1, 2 },
	  { 0, 10, 20 } },
	{ "no orders", 0, { 0 }, 60, 0, { 0 }, { 0 } },
};

static void test_schedule(void **state)
{
	const struct sched_case *c = *state;
	struct bulk_pace pace = { c->rate, c->server_rate };
	size_t order[8] = { 0 };
	int64_t due[8] = { 0 };
	struct cd_err err = { 0 };

	assert_int_equal(bulk_schedule(c->server, c->n, T0, &pace, order, due, &err), 0);
	for (size_t k = 0; k < c->n; k++) {
		assert_int_equal(order[k], c->order[k]);
		assert_int_equal(due[k], T0 + c->due[k]);
	}
}

static void test_schedule_bad(void **state)
{
	size_t server[2] = { 0, 2 }, order[2];
	int64_t due[2];
	struct bulk_pace zero = { 0, 0 }, ok = { 60, 0 };
	struct cd_err err = { 0 };

	(void)state;
	assert_int_equal(bulk_schedule(server, 1, T0, &zero, order, due, &err), -CD_EINVAL);
	assert_int_equal(bulk_schedule(server, 2, T0, &ok, order, due, &err), -CD_EINVAL);
	assert_non_null(strstr(err.msg, "server index"));
}

/* Many servers with one order each and one with many: every order appears
 * once, due times never go down, and the big server's orders are spread out. */
static void test_schedule_large(void **state)
{
	enum { M = 2000 };
	static size_t server[M], order[M];
	static int64_t due[M];
	static int seen[M];
	struct bulk_pace pace = { 7200, 0 };
	struct cd_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < M; i++)
		server[i] = i < M / 2 ? 0 : i;
	assert_int_equal(bulk_schedule(server, M, T0, &pace, order, due, &err), 0);
	for (size_t k = 0; k < M; k++) {
		assert_true(order[k] < M);
		seen[order[k]]++;
		if (k)
			assert_true(due[k] >= due[k - 1]);
	}
	for (size_t i = 0; i < M; i++)
		assert_int_equal(seen[i], 1);
	/* rounds alternate: server 0's first two orders are not adjacent */
	assert_int_equal(order[0], 0);
	assert_int_equal(server[order[1]], M / 2);
	assert_int_equal(due[M - 1], T0 + (M - 1) / 2);
}

/* --- rates ------------------------------------------------------------------------- */

struct rate_case {
	const char *text;
	int rc;
	double per_hour;
};

static struct rate_case rate_cases[] = {
	{ "1800", 0, 1800 },	 { "1800/h", 0, 1800 },	    { "30/min", 0, 1800 },
	{ "0.5/s", 0, 1800 },	 { "0.2/h", 0, 0.2 },	    { "0", -CD_EINVAL, 0 },
	{ "-5", -CD_EINVAL, 0 }, { "fast", -CD_EINVAL, 0 }, { "5/day", -CD_EINVAL, 0 },
	{ "", -CD_EINVAL, 0 },	 { "nan", -CD_EINVAL, 0 },  { "1e12", -CD_EINVAL, 0 },
};

static void test_rates(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(rate_cases); i++) {
		struct cd_err err = { 0 };
		double v = -1;
		int rc = bulk_rate_parse(rate_cases[i].text, &v, &err);

		if (rc != rate_cases[i].rc)
			fail_msg("rate '%s': rc %d", rate_cases[i].text, rc);
		if (rc == 0 &&
		    (v < rate_cases[i].per_hour - 1e-9 || v > rate_cases[i].per_hour + 1e-9))
			fail_msg("rate '%s': %f per hour", rate_cases[i].text, v);
		if (rc)
			assert_non_null(strstr(err.msg, "orders per hour"));
	}
	assert_true(bulk_rate_needed(30, T0, T0 + 58) == 1800);
	assert_true(bulk_rate_needed(1, T0, T0 + 10) == 1);
	assert_true(bulk_rate_needed(30, T0, T0) == 0);
	assert_true(bulk_rate_needed(0, T0, T0 + 10) == 0);
}

/* --- the forecast ----------------------------------------------------------------- */

struct fc_case {
	const char *name;
	struct forecast_in in; /* times relative to T0 (0 = none for the dates) */
	bool rate_known;
	double rate;
	int64_t finish; /* relative to T0, -1 = unknown */
	enum forecast_verdict deadline, revocation;
	double needed_deadline;
};

static struct fc_case fc_cases[] = {
	{ "steady: 11 done over 100 s, 50 to go",
	  { 1000, 11, 900, 1000, 50, 2000, 3000 },
	  true,
	  360,
	  1500,
	  FORECAST_ON_TIME,
	  FORECAST_ON_TIME,
	  180 },
	{ "late for the deadline, on time for the revocation",
	  { 1000, 11, 900, 1000, 50, 1200, 3000 },
	  true,
	  360,
	  1500,
	  FORECAST_LATE,
	  FORECAST_ON_TIME,
	  900 },
	{ "no revocation date",
	  { 1000, 11, 900, 1000, 50, 2000, 0 },
	  true,
	  360,
	  1500,
	  FORECAST_ON_TIME,
	  FORECAST_NO_DATE,
	  180 },
	{ "one done: no rate yet",
	  { 1000, 1, 990, 990, 50, 2000, 3000 },
	  false,
	  0,
	  -1,
	  FORECAST_UNKNOWN,
	  FORECAST_UNKNOWN,
	  180 },
	{ "nothing done",
	  { 1000, 0, 0, 0, 50, 2000, 0 },
	  false,
	  0,
	  -1,
	  FORECAST_UNKNOWN,
	  FORECAST_NO_DATE,
	  180 },
	{ "nothing remains: finished now",
	  { 1000, 0, 0, 0, 0, 2000, 3000 },
	  false,
	  0,
	  1000,
	  FORECAST_ON_TIME,
	  FORECAST_ON_TIME,
	  0 },
	{ "a stall lowers the rate: 3 done 50 s apart, the last 900 s ago",
	  { 2000, 3, 1000, 1100, 10, 100000, 0 },
	  true,
	  7.579,
	  2000 + 4750,
	  FORECAST_ON_TIME,
	  FORECAST_NO_DATE,
	  1 },
	{ "a recent completion inside an average gap: the completions' own span",
	  { 1003, 11, 900, 1000, 50, 2000, 0 },
	  true,
	  360,
	  1503,
	  FORECAST_ON_TIME,
	  FORECAST_NO_DATE,
	  181 },
	{ "all done in one second, some time ago",
	  { 1000, 5, 990, 990, 2, 2000, 0 },
	  true,
	  1440,
	  1005,
	  FORECAST_ON_TIME,
	  FORECAST_NO_DATE,
	  8 },
	{ "all done in this very second: no rate yet",
	  { 1000, 3, 1000, 1000, 2, 2000, 0 },
	  false,
	  0,
	  -1,
	  FORECAST_UNKNOWN,
	  FORECAST_NO_DATE,
	  8 },
	{ "deadline past: no rate can make it",
	  { 5000, 11, 4900, 5000, 50, 2000, 0 },
	  true,
	  360,
	  5500,
	  FORECAST_LATE,
	  FORECAST_NO_DATE,
	  0 },
	{ "the finish rounds up to a whole second",
	  { 1000, 4, 993, 999, 1, 2000, 0 },
	  true,
	  1800,
	  1002,
	  FORECAST_ON_TIME,
	  FORECAST_NO_DATE,
	  4 },
};

static int64_t rel(int64_t t)
{
	return t ? T0 + t : 0;
}

static void test_forecast(void **state)
{
	const struct fc_case *c = *state;
	struct forecast_in in = c->in;
	struct forecast f;

	in.now = T0 + c->in.now;
	in.first_done_at = rel(c->in.first_done_at);
	in.last_done_at = rel(c->in.last_done_at);
	in.deadline_at = rel(c->in.deadline_at);
	in.revocation_at = rel(c->in.revocation_at);
	forecast_compute(&in, &f);
	assert_int_equal(f.rate_known, c->rate_known);
	if (f.rate_per_hour < c->rate - 0.01 || f.rate_per_hour > c->rate + 0.01)
		fail_msg("rate %f, want %f", f.rate_per_hour, c->rate);
	assert_int_equal(f.finish_at, c->finish < 0 ? 0 : T0 + c->finish);
	assert_int_equal(f.deadline, c->deadline);
	assert_int_equal(f.revocation, c->revocation);
	if (f.needed_for_deadline != c->needed_deadline)
		fail_msg("needed %f, want %f", f.needed_for_deadline, c->needed_deadline);
}

static void test_window(void **state)
{
	(void)state;
	assert_int_equal(forecast_window_start(T0, 3600, 0), T0 - 3600);
	assert_int_equal(forecast_window_start(T0, 3600, T0 - 60), T0 - 60);
	assert_int_equal(forecast_window_start(T0, 60, T0 - 3600), T0 - 60);
	assert_string_equal(forecast_verdict_name(FORECAST_LATE), "late");
	assert_string_equal(forecast_verdict_name(FORECAST_ON_TIME), "on_time");
	assert_string_equal(forecast_verdict_name(FORECAST_UNKNOWN), "unknown");
	assert_string_equal(forecast_verdict_name(FORECAST_NO_DATE), "no_date");
}

int main(void)
{
	static struct CMUnitTest tests[N(sched_cases) + N(fc_cases) + 8];
	size_t n = 0;

	for (size_t i = 0; i < N(sched_cases); i++)
		tests[n++] = (struct CMUnitTest){ sched_cases[i].name, test_schedule, NULL, NULL,
						  &sched_cases[i] };
	tests[n++] = (struct CMUnitTest){ "schedule refuses a bad rate or server index",
					  test_schedule_bad, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "schedule of 2000 orders: each once, in due order",
					  test_schedule_large, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "rates parsed and needed", test_rates, NULL, NULL, NULL };
	for (size_t i = 0; i < N(fc_cases); i++)
		tests[n++] = (struct CMUnitTest){ fc_cases[i].name, test_forecast, NULL, NULL,
						  &fc_cases[i] };
	tests[n++] =
	    (struct CMUnitTest){ "window start and verdict names", test_window, NULL, NULL, NULL };
	return _cmocka_run_group_tests("forecast", tests, n, NULL, NULL);
}
