/*
 * cdtime.h - dates and instants without a clock.
 *
 * Instants are int64_t seconds since 1970-01-01T00:00:00Z (UTC). Civil dates
 * are proleptic Gregorian. Parsing is strict ISO 8601 (the inventory's format):
 * "YYYY-MM-DD" and "YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)".
 * Only cd_time_now() and the time-zone functions touch the system.
 */
#ifndef CD_UTIL_CDTIME_H
#define CD_UTIL_CDTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define CD_SECS_PER_DAY 86400

struct cd_date {
	int year, month, day;
};

/* Days since 1970-01-01 of a civil date, and back. Pure. */
int64_t cd_days_from_civil(int year, int month, int day);
void cd_civil_from_days(int64_t days, struct cd_date *out);
bool cd_date_valid(int year, int month, int day);

/* The UTC instant of midnight starting the civil date (UTC). */
int64_t cd_utc_midnight(const struct cd_date *d);

/* "YYYY-MM-DD" -> date. Returns 0 or -CD_EINVAL with err naming the text. */
int cd_date_parse(const char *s, struct cd_date *out, struct cd_err *err);

/* A timestamp with a mandatory offset ("Z" or "+09:00") -> UTC instant. */
int cd_timestamp_parse(const char *s, int64_t *out, struct cd_err *err);

/* RFC 3339 UTC form "2026-03-15T00:00:00Z" into buf (>= 21 bytes). */
void cd_time_format_utc(int64_t t, char buf[static 21]);
/* "YYYY-MM-DD" of the UTC instant into buf (>= 11 bytes). */
void cd_date_format(const struct cd_date *d, char buf[static 11]);

/*
 * Time zones. A zone is a name from the system's tz database ("Asia/Tokyo").
 * cd_tz_offset() gives the zone's UTC offset (seconds east) in force at the
 * instant t; cd_tz_local_midnight() the UTC instant at which the civil date
 * begins in the zone. Both are safe from several threads.
 */
int cd_tz_check(const char *zone, struct cd_err *err);
int cd_tz_offset(const char *zone, int64_t t, int *offset, struct cd_err *err);
int cd_tz_local_midnight(const char *zone, const struct cd_date *d, int64_t *out,
			 struct cd_err *err);
/* Local civil date and time of t in the zone, as "YYYY-MM-DD hh:mm" (buf >= 17). */
int cd_tz_format(const char *zone, int64_t t, char buf[static 17], struct cd_err *err);

int64_t cd_time_now(void);

#endif
