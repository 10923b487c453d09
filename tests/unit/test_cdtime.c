/*
 * test_cdtime.c - civil dates, strict ISO 8601 parsing and time zones, as
 * tables of named cases, plus a round trip over every day of 11,000 years.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cdtime.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The instant of a UTC civil time, built without the parser under test. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return cd_days_from_civil(y, mo, d) * CD_SECS_PER_DAY + h * 3600 + mi * 60 + s;
}

/* --- civil dates ------------------------------------------------------------------ */

struct anchor_case {
	const char *name;
	int y, m, d;
	int64_t days;
};

static const struct anchor_case anchor_cases[] = {
	{ "the epoch", 1970, 1, 1, 0 },
	{ "the day before the epoch", 1969, 12, 31, -1 },
	{ "2000-03-01", 2000, 3, 1, 11017 },
	{ "2000-02-29", 2000, 2, 29, 11016 },
	{ "SC-081 200-day cap starts", 2026, 3, 15, 20527 },
	{ "year 1", 1, 1, 1, -719162 },
	{ "year 9999", 9999, 12, 31, 2932896 },
	{ "year 0 (proleptic)", 0, 3, 1, -719468 },
};

static void test_anchors(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(anchor_cases); i++) {
		const struct anchor_case *c = &anchor_cases[i];
		struct cd_date d;
		int64_t days = cd_days_from_civil(c->y, c->m, c->d);

		cd_civil_from_days(c->days, &d);
		if (days != c->days || d.year != c->y || d.month != c->m || d.day != c->d) {
			print_error("case '%s': %lld days (want %lld), back %04d-%02d-%02d\n",
				    c->name, (long long)days, (long long)c->days, d.year, d.month,
				    d.day);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Every day from about 1000 BC to AD 10000: each day follows the one before. */
static void test_round_trip(void **state)
{
	const int64_t first = cd_days_from_civil(-1000, 1, 1),
		      last = cd_days_from_civil(10000, 12, 31);
	struct cd_date prev, d;
	long bad = 0;

	(void)state;
	cd_civil_from_days(first, &prev);
	assert_int_equal(prev.year, -1000);
	for (int64_t z = first + 1; z <= last; z++) {
		bool next_day, next_month, next_year;

		cd_civil_from_days(z, &d);
		next_day = d.year == prev.year && d.month == prev.month && d.day == prev.day + 1;
		next_month = d.year == prev.year && d.month == prev.month + 1 && d.day == 1;
		next_year = d.year == prev.year + 1 && d.month == 1 && d.day == 1 &&
			    prev.month == 12 && prev.day == 31;
		if (cd_days_from_civil(d.year, d.month, d.day) != z ||
		    !(next_day || next_month || next_year) ||
		    (d.year >= 1 && d.year <= 9999 && !cd_date_valid(d.year, d.month, d.day))) {
			if (bad++ < 5)
				print_error("day %lld: %04d-%02d-%02d after %04d-%02d-%02d\n",
					    (long long)z, d.year, d.month, d.day, prev.year,
					    prev.month, prev.day);
		}
		prev = d;
	}
	assert_int_equal(bad, 0);
	assert_int_equal(last - first + 1, 4018033); /* 11001 years, 2668 leap days */
}

struct valid_case {
	const char *name;
	int y, m, d;
	bool valid;
};

static const struct valid_case valid_cases[] = {
	{ "1900 is not a leap year", 1900, 2, 29, false },
	{ "2000 is a leap year", 2000, 2, 29, true },
	{ "2024 is a leap year", 2024, 2, 29, true },
	{ "2028 is a leap year", 2028, 2, 29, true },
	{ "2026 is not a leap year", 2026, 2, 29, false },
	{ "2100 is not a leap year", 2100, 2, 29, false },
	{ "2400 is a leap year", 2400, 2, 29, true },
	{ "February 28", 2026, 2, 28, true },
	{ "February 30", 2028, 2, 30, false },
	{ "April 31", 2026, 4, 31, false },
	{ "December 31", 2026, 12, 31, true },
	{ "day 0", 2026, 1, 0, false },
	{ "month 0", 2026, 0, 1, false },
	{ "month 13", 2026, 13, 1, false },
	{ "year 0", 0, 1, 1, false },
	{ "year 1", 1, 1, 1, true },
	{ "year 9999", 9999, 12, 31, true },
	{ "year 10000", 10000, 1, 1, false },
	{ "negative day", 2026, 1, -1, false },
};

static void test_date_valid(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(valid_cases); i++) {
		const struct valid_case *c = &valid_cases[i];

		if (cd_date_valid(c->y, c->m, c->d) != c->valid) {
			print_error("case '%s': %04d-%02d-%02d valid %d, want %d\n", c->name, c->y,
				    c->m, c->d, !c->valid, c->valid);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* --- parsing ---------------------------------------------------------------------------- */

struct date_case {
	const char *name;
	const char *in;
	int y, m, d; /* y 0 = an error */
};

static const struct date_case date_cases[] = {
	{ "plain", "2026-03-15", 2026, 3, 15 },
	{ "leap day 2028", "2028-02-29", 2028, 2, 29 },
	{ "leap day 2000", "2000-02-29", 2000, 2, 29 },
	{ "year 1", "0001-01-01", 1, 1, 1 },
	{ "year 9999", "9999-12-31", 9999, 12, 31 },
	{ "no leap day 2026", "2026-02-29", 0, 0, 0 },
	{ "no leap day 1900", "1900-02-29", 0, 0, 0 },
	{ "one-digit month and day", "2026-3-1", 0, 0, 0 },
	{ "one-digit day", "2026-03-1", 0, 0, 0 },
	{ "trailing junk", "2026-03-01x", 0, 0, 0 },
	{ "trailing space", "2026-03-01 ", 0, 0, 0 },
	{ "leading space", " 2026-03-01", 0, 0, 0 },
	{ "with a time", "2026-03-01T00:00:00Z", 0, 0, 0 },
	{ "slashes", "2026/03/01", 0, 0, 0 },
	{ "basic format", "20260301", 0, 0, 0 },
	{ "month 13", "2026-13-01", 0, 0, 0 },
	{ "month 00", "2026-00-10", 0, 0, 0 },
	{ "day 00", "2026-01-00", 0, 0, 0 },
	{ "April 31", "2026-04-31", 0, 0, 0 },
	{ "year 0000", "0000-01-01", 0, 0, 0 },
	{ "five-digit year", "12026-01-01", 0, 0, 0 },
	{ "signed year", "+2026-03-01", 0, 0, 0 },
	{ "signed month", "2026-+3-01", 0, 0, 0 },
	{ "empty", "", 0, 0, 0 },
	{ "japanese digits", "２０２６-03-01", 0, 0, 0 },
};

static void test_date_parse(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(date_cases); i++) {
		const struct date_case *c = &date_cases[i];
		struct cd_err err = { 0 };
		struct cd_date d = { 0 };
		int rc = cd_date_parse(c->in, &d, &err);

		if (c->y ? (rc != 0 || d.year != c->y || d.month != c->m || d.day != c->d)
			 : (rc != -CD_EINVAL || err.code != CD_EINVAL ||
			    !strstr(err.msg, "is not a date"))) {
			print_error("case '%s': '%s' rc %d %04d-%02d-%02d '%s'\n", c->name, c->in,
				    rc, d.year, d.month, d.day, err.msg);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct ts_case {
	const char *name;
	const char *in;
	int64_t want;
	const char *msg; /* NULL when good */
};

#define TS_BAD	     "is not an ISO 8601 timestamp"
#define TS_NO_OFFSET "has no offset (add Z or +09:00)"

static void test_timestamp_parse(void **state)
{
	const struct ts_case cases[] = {
		{ "Z", "2026-03-15T00:00:00Z", utc(2026, 3, 15, 0, 0, 0), NULL },
		{ "lower-case z and t", "2026-03-15t01:02:03z", utc(2026, 3, 15, 1, 2, 3), NULL },
		{ "space for T", "2026-03-15 01:02:03Z", utc(2026, 3, 15, 1, 2, 3), NULL },
		{ "+09:00", "2027-05-31T00:00:00+09:00", utc(2027, 5, 30, 15, 0, 0), NULL },
		{ "-05:30", "2026-12-31T20:00:00-05:30", utc(2027, 1, 1, 1, 30, 0), NULL },
		{ "+00:00", "2026-03-15T12:00:00+00:00", utc(2026, 3, 15, 12, 0, 0), NULL },
		{ "-00:00", "2026-03-15T12:00:00-00:00", utc(2026, 3, 15, 12, 0, 0), NULL },
		{ "+14:00", "2026-01-01T00:00:00+14:00", utc(2025, 12, 31, 10, 0, 0), NULL },
		{ "fraction dropped", "2026-03-15T00:00:59.999Z", utc(2026, 3, 15, 0, 0, 59),
		  NULL },
		{ "long fraction", "2026-03-15T00:00:00.123456789+09:00",
		  utc(2026, 3, 14, 15, 0, 0), NULL },
		{ "one-digit fraction", "2026-03-15T00:00:00.5Z", utc(2026, 3, 15, 0, 0, 0), NULL },
		{ "leap second", "2016-12-31T23:59:60Z", utc(2016, 12, 31, 23, 59, 59), NULL },
		{ "leap day", "2028-02-29T12:00:00Z", utc(2028, 2, 29, 12, 0, 0), NULL },
		{ "before the epoch", "1969-12-31T23:59:59Z", -1, NULL },
		{ "year 1", "0001-01-01T00:00:00Z", utc(1, 1, 1, 0, 0, 0), NULL },
		{ "missing offset", "2026-03-15T00:00:00", 0, TS_NO_OFFSET },
		{ "fraction, missing offset", "2026-03-15T00:00:00.5", 0, TS_NO_OFFSET },
		{ "junk for offset", "2026-03-15T00:00:00 JST", 0, TS_NO_OFFSET },
		{ "offset without colon", "2026-03-15T00:00:00+0900", 0, TS_BAD },
		{ "offset hours only", "2026-03-15T00:00:00+09", 0, TS_BAD },
		{ "offset hour 24", "2026-03-15T00:00:00+24:00", 0, TS_BAD },
		{ "offset minute 60", "2026-03-15T00:00:00+09:60", 0, TS_BAD },
		{ "hour 24", "2026-03-15T24:00:00Z", 0, TS_BAD },
		{ "minute 60", "2026-03-15T00:60:00Z", 0, TS_BAD },
		{ "second 61", "2026-03-15T00:00:61Z", 0, TS_BAD },
		{ "no seconds", "2026-03-15T00:00Z", 0, TS_BAD },
		{ "one-digit hour", "2026-03-15T0:00:00Z", 0, TS_BAD },
		{ "empty fraction", "2026-03-15T00:00:00.Z", 0, TS_BAD },
		{ "comma fraction", "2026-03-15T00:00:00,5Z", 0, TS_NO_OFFSET },
		{ "trailing junk", "2026-03-15T00:00:00Zx", 0, TS_BAD },
		{ "trailing space", "2026-03-15T00:00:00Z ", 0, TS_BAD },
		{ "date only", "2026-03-15", 0, TS_BAD },
		{ "bad date", "2026-02-29T00:00:00Z", 0, TS_BAD },
		{ "one-digit month", "2026-3-15T00:00:00Z", 0, TS_BAD },
		{ "empty", "", 0, TS_BAD },
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct ts_case *c = &cases[i];
		struct cd_err err = { 0 };
		int64_t t = 12345;
		int rc = cd_timestamp_parse(c->in, &t, &err);

		if (c->msg
			? (rc != -CD_EINVAL || !strstr(err.msg, c->msg) || !strstr(err.msg, c->in))
			: (rc != 0 || t != c->want)) {
			print_error("case '%s': '%s' rc %d t %lld (want %lld) '%s'\n", c->name,
				    c->in, rc, (long long)t, (long long)c->want, err.msg);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct format_case {
	const char *name;
	int64_t t;
	const char *want;
};

static void test_format(void **state)
{
	const struct format_case cases[] = {
		{ "the epoch", 0, "1970-01-01T00:00:00Z" },
		{ "one second before", -1, "1969-12-31T23:59:59Z" },
		{ "one day before", -86400, "1969-12-31T00:00:00Z" },
		{ "SC-081 date", utc(2026, 3, 15, 0, 0, 0), "2026-03-15T00:00:00Z" },
		{ "last second of 9999", utc(9999, 12, 31, 23, 59, 59), "9999-12-31T23:59:59Z" },
		{ "year 1", utc(1, 1, 1, 0, 0, 0), "0001-01-01T00:00:00Z" },
	};
	struct cd_date d = { 2028, 2, 29 };
	char buf[21], day[11];
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int64_t back = 0;

		cd_time_format_utc(cases[i].t, buf);
		if (strcmp(buf, cases[i].want) != 0 || cd_timestamp_parse(buf, &back, NULL) != 0 ||
		    back != cases[i].t) {
			print_error("case '%s': '%s', want '%s', back %lld\n", cases[i].name, buf,
				    cases[i].want, (long long)back);
			bad++;
		}
	}
	/* every 7,919 seconds across 60 years: format then parse gives the instant back */
	for (int64_t t = utc(1990, 1, 1, 0, 0, 0); t < utc(2050, 1, 1, 0, 0, 0); t += 7919) {
		int64_t back = 0;

		cd_time_format_utc(t, buf);
		if (cd_timestamp_parse(buf, &back, NULL) != 0 || back != t) {
			if (bad++ < 5)
				print_error("instant %lld: '%s' back %lld\n", (long long)t, buf,
					    (long long)back);
		}
	}
	cd_date_format(&d, day);
	assert_string_equal(day, "2028-02-29");
	assert_int_equal(cd_utc_midnight(&d), utc(2028, 2, 29, 0, 0, 0));
	assert_int_equal(bad, 0);
}

/* --- time zones ---------------------------------------------------------------------------- */

struct offset_case {
	const char *name;
	const char *zone;
	int64_t t;
	int want;
};

static void test_tz_offset(void **state)
{
	const struct offset_case cases[] = {
		{ "Tokyo", "Asia/Tokyo", utc(2027, 5, 31, 0, 0, 0), 32400 },
		{ "Tokyo in winter", "Asia/Tokyo", utc(2026, 1, 15, 0, 0, 0), 32400 },
		{ "New York in summer", "America/New_York", utc(2026, 7, 1, 12, 0, 0), -14400 },
		{ "New York in winter", "America/New_York", utc(2026, 1, 15, 12, 0, 0), -18000 },
		{ "New York, last second of EST", "America/New_York", utc(2026, 3, 8, 6, 59, 59),
		  -18000 },
		{ "New York, first second of EDT", "America/New_York", utc(2026, 3, 8, 7, 0, 0),
		  -14400 },
		{ "New York, last second of EDT", "America/New_York", utc(2026, 11, 1, 5, 59, 59),
		  -14400 },
		{ "New York, back to EST", "America/New_York", utc(2026, 11, 1, 6, 0, 0), -18000 },
		{ "Kolkata", "Asia/Kolkata", utc(2026, 3, 15, 0, 0, 0), 19800 },
		{ "UTC", "UTC", utc(2026, 3, 15, 0, 0, 0), 0 },
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct cd_err err = { 0 };
		int off = 1, rc = cd_tz_offset(cases[i].zone, cases[i].t, &off, &err);

		if (rc != 0 || off != cases[i].want) {
			print_error("case '%s': rc %d offset %d, want %d (%s)\n", cases[i].name, rc,
				    off, cases[i].want, err.msg);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct midnight_case {
	const char *name;
	const char *zone;
	struct cd_date d;
	int64_t want;
	const char *local; /* cd_tz_format of the result */
};

static void test_tz_local_midnight(void **state)
{
	const struct midnight_case cases[] = {
		{ "Tokyo contract end",
		  "Asia/Tokyo",
		  { 2027, 5, 31 },
		  utc(2027, 5, 30, 15, 0, 0),
		  "2027-05-31 00:00" },
		{ "Tokyo new year",
		  "Asia/Tokyo",
		  { 2027, 1, 1 },
		  utc(2026, 12, 31, 15, 0, 0),
		  "2027-01-01 00:00" },
		{ "Tokyo leap day",
		  "Asia/Tokyo",
		  { 2028, 2, 29 },
		  utc(2028, 2, 28, 15, 0, 0),
		  "2028-02-29 00:00" },
		{ "New York in winter",
		  "America/New_York",
		  { 2026, 1, 15 },
		  utc(2026, 1, 15, 5, 0, 0),
		  "2026-01-15 00:00" },
		{ "New York in summer",
		  "America/New_York",
		  { 2026, 7, 1 },
		  utc(2026, 7, 1, 4, 0, 0),
		  "2026-07-01 00:00" },
		{ "New York, day DST starts",
		  "America/New_York",
		  { 2026, 3, 8 },
		  utc(2026, 3, 8, 5, 0, 0),
		  "2026-03-08 00:00" },
		{ "New York, day DST ends",
		  "America/New_York",
		  { 2026, 11, 1 },
		  utc(2026, 11, 1, 4, 0, 0),
		  "2026-11-01 00:00" },
		{ "UTC", "UTC", { 2026, 3, 15 }, utc(2026, 3, 15, 0, 0, 0), "2026-03-15 00:00" },
		/* in 2018 Brazil's DST began at midnight: that day began at 01:00 */
		{ "Sao Paulo, no midnight",
		  "America/Sao_Paulo",
		  { 2018, 11, 4 },
		  utc(2018, 11, 4, 3, 0, 0),
		  "2018-11-04 01:00" },
	};
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		const struct midnight_case *c = &cases[i];
		struct cd_err err = { 0 };
		char local[17] = "";
		int64_t t = 0;
		int rc = cd_tz_local_midnight(c->zone, &c->d, &t, &err);

		if (rc == 0)
			rc = cd_tz_format(c->zone, t, local, &err);
		if (rc != 0 || t != c->want || strcmp(local, c->local) != 0) {
			print_error("case '%s': rc %d t %lld (want %lld) local '%s' (%s)\n",
				    c->name, rc, (long long)t, (long long)c->want, local, err.msg);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_tz_bad_names(void **state)
{
	static char long_name[300];
	const char *const names[] = {
		"../etc/passwd",  "Nowhere/City",	"",
		"/etc/localtime", "Asia/../Asia/Tokyo", "Asia/Tokyo;id",
		"Asia/Tokyo ",	  "Asia\\Tokyo",	"asia/tokyo!",
		long_name,
	};
	struct cd_date d = { 2027, 5, 31 };
	char buf[17];
	int bad = 0;

	(void)state;
	memset(long_name, 'A', sizeof(long_name) - 1);
	for (size_t i = 0; i < N(names); i++) {
		struct cd_err e1 = { 0 }, e2 = { 0 }, e3 = { 0 }, e4 = { 0 };
		int64_t t = 0;
		int off = 0;
		int rc1 = cd_tz_check(names[i], &e1);
		int rc2 = cd_tz_offset(names[i], 0, &off, &e2);
		int rc3 = cd_tz_local_midnight(names[i], &d, &t, &e3);
		int rc4 = cd_tz_format(names[i], 0, buf, &e4);

		if (rc1 != -CD_ECONFIG || rc2 != -CD_ECONFIG || rc3 != -CD_ECONFIG ||
		    rc4 != -CD_ECONFIG || e1.code != CD_ECONFIG || !strstr(e1.msg, "time zone") ||
		    strncmp(e1.msg, e2.msg, sizeof(e1.msg)) != 0) {
			print_error("case '%.40s': rc %d %d %d %d '%s'\n", names[i], rc1, rc2, rc3,
				    rc4, e1.msg);
			bad++;
		}
	}
	assert_int_equal(cd_tz_check(NULL, NULL), -CD_ECONFIG);
	assert_int_equal(cd_tz_check("Asia/Tokyo", NULL), 0);
	assert_int_equal(bad, 0);
}

/* The zone functions borrow the process's TZ and must put it back. */
static void test_tz_restores_env(void **state)
{
	int off;

	(void)state;
	setenv("TZ", "Europe/Paris", 1);
	assert_int_equal(cd_tz_offset("Asia/Tokyo", 0, &off, NULL), 0);
	assert_string_equal(getenv("TZ"), "Europe/Paris");
	unsetenv("TZ");
	assert_int_equal(cd_tz_offset("Asia/Tokyo", 0, &off, NULL), 0);
	assert_null(getenv("TZ"));
	setenv("TZ", "UTC", 1);
}

struct worker {
	const char *zone;
	int want;
	int bad;
};

static void *tz_worker(void *arg)
{
	struct worker *w = arg;
	const int64_t t = utc(2026, 7, 1, 12, 0, 0);

	for (int i = 0; i < 300; i++) {
		int off = 0;

		if (cd_tz_offset(w->zone, t, &off, NULL) != 0 || off != w->want)
			w->bad++;
	}
	return NULL;
}

/* Several threads asking for different zones at once each get their own answer. */
static void test_tz_threads(void **state)
{
	struct worker w[6] = {
		{ "Asia/Tokyo", 32400, 0 },
		{ "America/New_York", -14400, 0 },
		{ "UTC", 0, 0 },
		{ "Asia/Kolkata", 19800, 0 },
		{ "Europe/London", 3600, 0 },
		{ "Australia/Adelaide", 34200, 0 },
	};
	pthread_t th[6];

	(void)state;
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, tz_worker, &w[i]), 0);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		if (w[i].bad)
			print_error("zone '%s': %d wrong answers\n", w[i].zone, w[i].bad);
		assert_int_equal(w[i].bad, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchors),		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_date_valid),	cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_timestamp_parse), cmocka_unit_test(test_format),
		cmocka_unit_test(test_tz_offset),	cmocka_unit_test(test_tz_local_midnight),
		cmocka_unit_test(test_tz_bad_names),	cmocka_unit_test(test_tz_restores_env),
		cmocka_unit_test(test_tz_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
