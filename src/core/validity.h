/*
 * validity.h - how long a reissued certificate may be valid (DESIGN.md §3.2).
 *
 * not_after = min(term end, issuance + cap(issuance date) - 1 s), the cap
 * following CA/B Forum ballot SC-081 by the UTC date of issuance:
 *   398 days until 2026-03-14, 200 from 2026-03-15, 100 from 2027-03-15,
 *   47 from 2029-03-15; a provider may set a stricter cap.
 * The contract term ends on a date in the provider's zone, inclusive: the
 * caller passes the instant of the term's last second (util/cdtime.h).
 */
#ifndef CD_CORE_VALIDITY_H
#define CD_CORE_VALIDITY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* SC-081 cap in days for an issuance at the UTC instant t. */
int validity_sc081_cap_days(int64_t issuance);

/* The cap in force: SC-081, or provider_cap_days when > 0 and stricter. */
int validity_cap_days(int64_t issuance, int provider_cap_days);

struct validity {
	int64_t not_before; /* = issuance */
	int64_t not_after;  /* last second of validity, inclusive */
	int cap_days;	    /* the cap that applied */
	bool capped;	    /* the cap, not the term, decided not_after */
	bool shortened;	    /* ends before the old certificate did */
};

/* term_last_second: the instant of the term's last second; old_not_after the
 * old certificate's (0 when unknown). Refuses a term already over at issuance
 * (-CD_EINVAL). */
int validity_compute(int64_t issuance, int64_t term_last_second, int64_t old_not_after,
		     int provider_cap_days, struct validity *out, struct cd_err *err);

/* Whether an issued certificate's validity runs past the cap (an operator alert). */
bool validity_exceeds_cap(int64_t not_before, int64_t not_after, int provider_cap_days);

#endif
