/*
 * test_validity.c - SC-081 caps at each boundary (UTC and JST), leap days,
 * terms shorter and longer than the cap, provider caps, shortened, a term
 * already over, and the operator alert for a validity past the cap.
 * Instants are written as ISO 8601 text so each case reads like the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/validity.h"
#include "util/cdtime.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int64_t at(const char *name, const char *iso)
{
	struct cd_err err = { 0 };
	int64_t t = 0;

	if (cd_timestamp_parse(iso, &t, &err) != 0)
		fail_msg("case '%s': bad timestamp in the test '%s': %s", name, iso, err.msg);
	return t;
}

struct cap_case {
	const char *name;
	const char *issuance;
	int provider;
	int want;
};

static struct cap_case caps[] = {
	{ "2020: 398", "2020-06-01T00:00:00Z", 0, 398 },
	{ "before the epoch: 398", "1969-12-31T23:59:59Z", 0, 398 },
	{ "2026-03-14T00:00:00Z: 398", "2026-03-14T00:00:00Z", 0, 398 },
	{ "2026-03-14T23:59:59Z (last second): 398", "2026-03-14T23:59:59Z", 0, 398 },
	{ "2026-03-15T00:00:00Z (first second): 200", "2026-03-15T00:00:00Z", 0, 200 },
	{ "JST 2026-03-15T00:00:00+09:00 is still 03-14 UTC: 398", "2026-03-15T00:00:00+09:00", 0,
	  398 },
	{ "JST 2026-03-15T08:59:59+09:00: 398", "2026-03-15T08:59:59+09:00", 0, 398 },
	{ "JST 2026-03-15T09:00:00+09:00: 200", "2026-03-15T09:00:00+09:00", 0, 200 },
	{ "2027-03-14T23:59:59Z: 200", "2027-03-14T23:59:59Z", 0, 200 },
	{ "2027-03-15T00:00:00Z: 100", "2027-03-15T00:00:00Z", 0, 100 },
	{ "JST 2027-03-15T08:59:59+09:00: 200", "2027-03-15T08:59:59+09:00", 0, 200 },
	{ "JST 2027-03-15T09:00:00+09:00: 100", "2027-03-15T09:00:00+09:00", 0, 100 },
	{ "2029-03-14T23:59:59Z: 100", "2029-03-14T23:59:59Z", 0, 100 },
	{ "2029-03-15T00:00:00Z: 47", "2029-03-15T00:00:00Z", 0, 47 },
	{ "JST 2029-03-15T08:59:59+09:00: 100", "2029-03-15T08:59:59+09:00", 0, 100 },
	{ "JST 2029-03-15T09:00:00+09:00: 47", "2029-03-15T09:00:00+09:00", 0, 47 },
	{ "2028-02-29 (leap day): 100", "2028-02-29T12:00:00Z", 0, 100 },
	{ "2040: 47", "2040-01-01T00:00:00Z", 0, 47 },
	{ "provider 90 stricter than 398", "2026-01-01T00:00:00Z", 90, 90 },
	{ "provider 500 looser than 398", "2026-01-01T00:00:00Z", 500, 398 },
	{ "provider 200 equal to 200", "2026-03-15T00:00:00Z", 200, 200 },
	{ "provider 201 looser than 200", "2026-03-15T00:00:00Z", 201, 200 },
	{ "provider 199 stricter than 200", "2026-03-15T00:00:00Z", 199, 199 },
	{ "provider 30 stricter than 47", "2030-01-01T00:00:00Z", 30, 30 },
	{ "provider 0 means none", "2026-01-01T00:00:00Z", 0, 398 },
	{ "provider negative means none", "2026-01-01T00:00:00Z", -5, 398 },
	{ "provider 1 day", "2026-01-01T00:00:00Z", 1, 1 },
};

static void test_cap(void **state)
{
	const struct cap_case *c = *state;
	int64_t t = at(c->name, c->issuance);
	int got = validity_cap_days(t, c->provider);

	if (got != c->want)
		fail_msg("case '%s': cap %d, want %d", c->name, got, c->want);
	if (c->provider <= 0 && validity_sc081_cap_days(t) != c->want)
		fail_msg("case '%s': sc081 cap %d, want %d", c->name, validity_sc081_cap_days(t),
			 c->want);
}

struct compute_case {
	const char *name;
	const char *issuance, *term_last, *old_not_after; /* old NULL: unknown (0) */
	int provider;
	int want_rc;
	const char *want_not_after;
	int want_cap;
	bool want_capped, want_shortened;
};

static struct compute_case computes[] = {
	{ "term ends before the cap (JST end of 2026-06-30)", "2026-01-10T03:00:00Z",
	  "2026-06-30T14:59:59Z", NULL, 0, 0, "2026-06-30T14:59:59Z", 398, false, false },
	{ "398-day cap decides", "2025-06-01T00:00:00Z", "2027-05-31T14:59:59Z", NULL, 0, 0,
	  "2026-07-03T23:59:59Z", 398, true, false },
	{ "398 at the last second before 2026-03-15", "2026-03-14T23:59:59Z",
	  "2028-03-31T14:59:59Z", NULL, 0, 0, "2027-04-16T23:59:58Z", 398, true, false },
	{ "200 at the first second of 2026-03-15", "2026-03-15T00:00:00Z", "2028-03-31T14:59:59Z",
	  NULL, 0, 0, "2026-09-30T23:59:59Z", 200, true, false },
	{ "JST 2026-03-15T08:59:59+09:00 still gets 398", "2026-03-15T08:59:59+09:00",
	  "2028-03-31T14:59:59Z", NULL, 0, 0, "2027-04-16T23:59:58Z", 398, true, false },
	{ "JST 2026-03-15T09:00:00+09:00 gets 200", "2026-03-15T09:00:00+09:00",
	  "2028-03-31T14:59:59Z", NULL, 0, 0, "2026-09-30T23:59:59Z", 200, true, false },
	{ "200 at the last second before 2027-03-15", "2027-03-14T23:59:59Z",
	  "2029-03-31T14:59:59Z", NULL, 0, 0, "2027-09-30T23:59:58Z", 200, true, false },
	{ "100 at the first second of 2027-03-15", "2027-03-15T00:00:00Z", "2029-03-31T14:59:59Z",
	  NULL, 0, 0, "2027-06-22T23:59:59Z", 100, true, false },
	{ "100 at the last second before 2029-03-15", "2029-03-14T23:59:59Z",
	  "2030-03-31T14:59:59Z", NULL, 0, 0, "2029-06-22T23:59:58Z", 100, true, false },
	{ "47 at the first second of 2029-03-15", "2029-03-15T00:00:00Z", "2030-03-31T14:59:59Z",
	  NULL, 0, 0, "2029-04-30T23:59:59Z", 47, true, false },
	{ "JST 2029-03-15T09:00:00+09:00 gets 47", "2029-03-15T09:00:00+09:00",
	  "2030-03-31T14:59:59Z", NULL, 0, 0, "2029-04-30T23:59:59Z", 47, true, false },
	{ "leap day issuance, term ends that JST day", "2028-02-29T00:00:00Z",
	  "2028-02-29T14:59:59Z", NULL, 0, 0, "2028-02-29T14:59:59Z", 100, false, false },
	{ "leap day issuance, 100-day cap across it", "2028-02-29T10:00:00Z",
	  "2029-02-28T14:59:59Z", NULL, 0, 0, "2028-06-08T09:59:59Z", 100, true, false },
	{ "2024 leap day issuance, 398 days", "2024-02-29T00:00:00Z", "2026-02-28T14:59:59Z", NULL,
	  0, 0, "2025-04-01T23:59:59Z", 398, true, false },
	{ "term ends exactly at the cap: the term decides", "2026-01-01T00:00:00Z",
	  "2027-02-02T23:59:59Z", NULL, 0, 0, "2027-02-02T23:59:59Z", 398, false, false },
	{ "term one second past the cap: the cap decides", "2026-01-01T00:00:00Z",
	  "2027-02-03T00:00:00Z", NULL, 0, 0, "2027-02-02T23:59:59Z", 398, true, false },
	{ "term ends at the issuance second: valid one second", "2026-05-01T12:00:00Z",
	  "2026-05-01T12:00:00Z", NULL, 0, 0, "2026-05-01T12:00:00Z", 200, false, false },
	{ "provider cap 90 stricter", "2026-01-01T00:00:00Z", "2026-12-31T14:59:59Z", NULL, 90, 0,
	  "2026-03-31T23:59:59Z", 90, true, false },
	{ "provider cap 500 looser: SC-081 applies", "2026-01-01T00:00:00Z", "2027-12-31T14:59:59Z",
	  NULL, 500, 0, "2027-02-02T23:59:59Z", 398, true, false },
	{ "provider cap 90, term shorter", "2026-01-01T00:00:00Z", "2026-02-28T14:59:59Z", NULL, 90,
	  0, "2026-02-28T14:59:59Z", 90, false, false },
	{ "shortened: old certificate ran longer", "2025-06-01T00:00:00Z", "2027-05-31T14:59:59Z",
	  "2027-05-31T14:59:59Z", 0, 0, "2026-07-03T23:59:59Z", 398, true, true },
	{ "not shortened: old certificate ended earlier", "2025-06-01T00:00:00Z",
	  "2026-05-31T14:59:59Z", "2026-05-31T14:59:59Z", 0, 0, "2026-05-31T14:59:59Z", 398, false,
	  false },
	{ "not shortened: same end as the old certificate", "2025-06-01T00:00:00Z",
	  "2027-05-31T14:59:59Z", "2026-07-03T23:59:59Z", 0, 0, "2026-07-03T23:59:59Z", 398, true,
	  false },
	{ "shortened by one second", "2025-06-01T00:00:00Z", "2027-05-31T14:59:59Z",
	  "2026-07-04T00:00:00Z", 0, 0, "2026-07-03T23:59:59Z", 398, true, true },
	{ "old end unknown: never shortened", "2025-06-01T00:00:00Z", "2027-05-31T14:59:59Z", NULL,
	  0, 0, "2026-07-03T23:59:59Z", 398, true, false },
	{ "G3 revocation 2020: term to 2021, reissue starts today", "2020-08-20T05:00:00Z",
	  "2021-03-31T14:59:59Z", "2021-03-31T14:59:59Z", 0, 0, "2021-03-31T14:59:59Z", 398, false,
	  false },
	{ "term over one second before issuance -> error", "2026-05-01T12:00:00Z",
	  "2026-05-01T11:59:59Z", NULL, 0, -CD_EINVAL, NULL, 0, false, false },
	{ "term over long ago -> error", "2026-05-01T12:00:00Z", "2020-03-31T14:59:59Z", NULL, 0,
	  -CD_EINVAL, NULL, 0, false, false },
};

static void test_compute(void **state)
{
	const struct compute_case *c = *state;
	struct cd_err err = { 0 };
	struct validity v;
	int64_t issuance = at(c->name, c->issuance);
	int64_t term = at(c->name, c->term_last);
	int64_t old = c->old_not_after ? at(c->name, c->old_not_after) : 0;
	char got[21];
	int rc;

	memset(&v, 0, sizeof(v));
	rc = validity_compute(issuance, term, old, c->provider, &v, &err);
	if (rc != c->want_rc)
		fail_msg("case '%s': rc %d, want %d (%s)", c->name, rc, c->want_rc, err.msg);
	if (rc != 0) {
		if (err.code != CD_EINVAL || !strstr(err.msg, "term"))
			fail_msg("case '%s': message '%s'", c->name, err.msg);
		return;
	}
	cd_time_format_utc(v.not_after, got);
	if (strcmp(got, c->want_not_after) != 0)
		fail_msg("case '%s': not_after %s, want %s", c->name, got, c->want_not_after);
	if (v.not_before != issuance)
		fail_msg("case '%s': not_before is not the issuance", c->name);
	if (v.cap_days != c->want_cap || v.capped != c->want_capped ||
	    v.shortened != c->want_shortened)
		fail_msg("case '%s': cap %d capped %d shortened %d, want %d %d %d", c->name,
			 v.cap_days, v.capped, v.shortened, c->want_cap, c->want_capped,
			 c->want_shortened);
	/* what certdesk computes never trips its own alert */
	if (validity_exceeds_cap(v.not_before, v.not_after, c->provider))
		fail_msg("case '%s': computed validity exceeds the cap", c->name);
}

struct exceed_case {
	const char *name;
	const char *not_before, *not_after;
	int provider;
	bool want;
};

static struct exceed_case exceeds[] = {
	{ "398 days exactly", "2026-01-01T00:00:00Z", "2027-02-02T23:59:59Z", 0, false },
	{ "398 days + 1 s", "2026-01-01T00:00:00Z", "2027-02-03T00:00:00Z", 0, true },
	{ "200 days exactly from 2026-03-15", "2026-03-15T00:00:00Z", "2026-09-30T23:59:59Z", 0,
	  false },
	{ "200 days + 1 s from 2026-03-15", "2026-03-15T00:00:00Z", "2026-10-01T00:00:00Z", 0,
	  true },
	{ "cap taken at not_before (2026-03-14T23:59:59Z, 398)", "2026-03-14T23:59:59Z",
	  "2027-04-16T23:59:58Z", 0, false },
	{ "one year issued 2027-06 exceeds 100", "2027-06-01T00:00:00Z", "2028-05-31T23:59:59Z", 0,
	  true },
	{ "47 days exactly from 2029-03-15", "2029-03-15T00:00:00Z", "2029-04-30T23:59:59Z", 0,
	  false },
	{ "48 days from 2029-03-15", "2029-03-15T00:00:00Z", "2029-05-01T23:59:59Z", 0, true },
	{ "provider 90: 91 days exceed", "2026-01-01T00:00:00Z", "2026-04-01T23:59:59Z", 90, true },
	{ "provider 90: 90 days do not", "2026-01-01T00:00:00Z", "2026-03-31T23:59:59Z", 90,
	  false },
	{ "not_after before not_before", "2026-01-01T00:00:00Z", "2025-01-01T00:00:00Z", 0, false },
};

static void test_exceeds(void **state)
{
	const struct exceed_case *c = *state;
	bool got = validity_exceeds_cap(at(c->name, c->not_before), at(c->name, c->not_after),
					c->provider);

	if (got != c->want)
		fail_msg("case '%s': exceeds %d, want %d", c->name, got, c->want);
}

static void test_null_out(void **state)
{
	struct cd_err err = { 0 };

	(void)state;
	if (validity_compute(0, 10, 0, 0, NULL, &err) != -CD_EINVAL)
		fail_msg("case 'NULL output': accepted");
	if (validity_compute(10, 0, 0, 0, &(struct validity){ 0 }, NULL) != -CD_EINVAL)
		fail_msg("case 'NULL err': term over accepted");
}

/* The caller's side of the contract: the term's last second comes from the
 * provider's zone (Asia/Tokyo) through util/cdtime; a leap day in JST. */
static void test_jst_term(void **state)
{
	struct cd_err err = { 0 };
	struct cd_date next_day = { 2028, 3, 1 };
	struct validity v;
	int64_t midnight, issuance = at("JST term", "2028-02-29T00:00:00Z");
	char got[21];

	(void)state;
	if (cd_tz_local_midnight("Asia/Tokyo", &next_day, &midnight, &err) != 0)
		fail_msg("case 'JST term': %s", err.msg);
	cd_time_format_utc(midnight - 1, got);
	if (strcmp(got, "2028-02-29T14:59:59Z") != 0)
		fail_msg("case 'JST term': last second of 2028-02-29 JST is %s", got);
	if (validity_compute(issuance, midnight - 1, 0, 0, &v, &err) != 0)
		fail_msg("case 'JST term': %s", err.msg);
	cd_time_format_utc(v.not_after, got);
	if (strcmp(got, "2028-02-29T14:59:59Z") != 0 || v.capped)
		fail_msg("case 'JST term': not_after %s capped %d", got, v.capped);
}

int main(void)
{
	static struct CMUnitTest tests[N(caps) + N(computes) + N(exceeds) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(caps); i++)
		tests[n++] = (struct CMUnitTest){ caps[i].name, test_cap, NULL, NULL, &caps[i] };
	for (size_t i = 0; i < N(computes); i++)
		tests[n++] =
		    (struct CMUnitTest){ computes[i].name, test_compute, NULL, NULL, &computes[i] };
	for (size_t i = 0; i < N(exceeds); i++)
		tests[n++] =
		    (struct CMUnitTest){ exceeds[i].name, test_exceeds, NULL, NULL, &exceeds[i] };
	tests[n++] = (struct CMUnitTest){ "JST leap-day term end via cdtime", test_jst_term, NULL,
					  NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "NULL output and err", test_null_out, NULL, NULL, NULL };
	return _cmocka_run_group_tests("validity", tests, n, NULL, NULL);
}
