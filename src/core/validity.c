/*
 * validity.c - how long a reissued certificate may be valid (DESIGN.md §3.2).
 *
 * The SC-081 cap depends on the UTC date of issuance only; the contract term
 * arrives as the instant of its last second, already converted from the
 * provider's zone by the caller, so nothing here knows about time zones.
 */
#include "core/validity.h"

#include <stddef.h>

#include "util/cdtime.h"

/* SC-081 steps: from the UTC date (inclusive) the cap is `days`. */
static const struct {
	int year, month, day;
	int days;
} sc081_steps[] = {
	{ 2029, 3, 15, 47 },
	{ 2027, 3, 15, 100 },
	{ 2026, 3, 15, 200 },
};

#define SC081_BEFORE_FIRST_STEP 398

/* Days since the epoch of the UTC date containing t (floor, also before 1970). */
static int64_t utc_day(int64_t t)
{
	int64_t d = t / CD_SECS_PER_DAY;

	if (t % CD_SECS_PER_DAY < 0)
		d--;
	return d;
}

int validity_sc081_cap_days(int64_t issuance)
{
	int64_t day = utc_day(issuance);

	for (size_t i = 0; i < sizeof(sc081_steps) / sizeof(sc081_steps[0]); i++)
		if (day >= cd_days_from_civil(sc081_steps[i].year, sc081_steps[i].month,
					      sc081_steps[i].day))
			return sc081_steps[i].days;
	return SC081_BEFORE_FIRST_STEP;
}

int validity_cap_days(int64_t issuance, int provider_cap_days)
{
	int cap = validity_sc081_cap_days(issuance);

	if (provider_cap_days > 0 && provider_cap_days < cap)
		cap = provider_cap_days;
	return cap;
}

int validity_compute(int64_t issuance, int64_t term_last_second, int64_t old_not_after,
		     int provider_cap_days, struct validity *out, struct cd_err *err)
{
	char at[21], end[21];
	int64_t cap_last;

	if (!out)
		return cd_err_set(err, CD_EINVAL, false, "validity_compute: no output");
	if (term_last_second < issuance) {
		cd_time_format_utc(issuance, at);
		cd_time_format_utc(term_last_second, end);
		return cd_err_set(err, CD_EINVAL, false,
				  "the contract term ended at %s, before the issuance at %s", end,
				  at);
	}
	out->not_before = issuance;
	out->cap_days = validity_cap_days(issuance, provider_cap_days);
	cap_last = issuance + (int64_t)out->cap_days * CD_SECS_PER_DAY - 1;
	out->capped = cap_last < term_last_second;
	out->not_after = out->capped ? cap_last : term_last_second;
	out->shortened = old_not_after > 0 && out->not_after < old_not_after;
	return 0;
}

bool validity_exceeds_cap(int64_t not_before, int64_t not_after, int provider_cap_days)
{
	int64_t cap = validity_cap_days(not_before, provider_cap_days);

	return not_after - not_before + 1 > cap * CD_SECS_PER_DAY;
}
