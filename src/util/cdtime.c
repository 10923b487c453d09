/*
 * cdtime.c - civil-date arithmetic, strict ISO 8601 parsing and time zones.
 *
 * The civil conversions are the well-known days-from-civil algorithm
 * (era-based, valid for every proleptic Gregorian date). Time zones use the
 * C library under a mutex, because the library keeps one process-wide zone.
 */
#include "util/cdtime.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t cd_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void cd_civil_from_days(int64_t z, struct cd_date *out)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	out->year = (int)(y + (m <= 2));
	out->month = (int)m;
	out->day = (int)d;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool cd_date_valid(int year, int month, int day)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
		return false;
	return day <= mdays[month - 1] + (month == 2 && is_leap(year));
}

int64_t cd_utc_midnight(const struct cd_date *d)
{
	return cd_days_from_civil(d->year, d->month, d->day) * CD_SECS_PER_DAY;
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool parse_date_part(const char **p, struct cd_date *d)
{
	if (!digits(p, 4, &d->year) || **p != '-')
		return false;
	(*p)++;
	if (!digits(p, 2, &d->month) || **p != '-')
		return false;
	(*p)++;
	if (!digits(p, 2, &d->day))
		return false;
	return cd_date_valid(d->year, d->month, d->day);
}

int cd_date_parse(const char *s, struct cd_date *out, struct cd_err *err)
{
	const char *p = s;

	if (!parse_date_part(&p, out) || *p != '\0')
		return cd_err_set(err, CD_EINVAL, false, "'%.40s' is not a date (YYYY-MM-DD)", s);
	return 0;
}

int cd_timestamp_parse(const char *s, int64_t *out, struct cd_err *err)
{
	const char *p = s;
	struct cd_date d;
	int hh, mm, ss, oh, om, sign;

	if (!parse_date_part(&p, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		goto bad;
	p++;
	if (!digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mm) || *p++ != ':' ||
	    !digits(&p, 2, &ss))
		goto bad;
	if (hh > 23 || mm > 59 || ss > 60)
		goto bad;
	if (ss == 60) /* a leap second is the last second of the minute for us */
		ss = 59;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
		oh = om = 0;
		sign = 1;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else {
		return cd_err_set(err, CD_EINVAL, false,
				  "timestamp '%.40s' has no offset (add Z or +09:00)", s);
	}
	if (*p != '\0')
		goto bad;
	*out = cd_utc_midnight(&d) + hh * 3600 + mm * 60 + ss - sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return cd_err_set(err, CD_EINVAL, false,
			  "'%.40s' is not an ISO 8601 timestamp (YYYY-MM-DDThh:mm:ss+hh:mm)", s);
}

void cd_time_format_utc(int64_t t, char buf[static 21])
{
	int64_t days =
	    t >= 0 ? t / CD_SECS_PER_DAY : -((-t + CD_SECS_PER_DAY - 1) / CD_SECS_PER_DAY);
	int64_t rem = t - days * CD_SECS_PER_DAY;
	struct cd_date d;

	char tmp[64];

	cd_civil_from_days(days, &d);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year % 10000, d.month, d.day,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	memcpy(buf, tmp, 20);
	buf[20] = '\0';
}

void cd_date_format(const struct cd_date *d, char buf[static 11])
{
	char tmp[48];

	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", d->year % 10000, d->month % 100, d->day % 100);
	memcpy(buf, tmp, 10);
	buf[10] = '\0';
}

/* --- time zones --------------------------------------------------------- */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

int cd_tz_check(const char *zone, struct cd_err *err)
{
	char path[512];

	if (!zone || !*zone || zone[0] == '/' || strstr(zone, "..") || strlen(zone) > 200)
		return cd_err_set(err, CD_ECONFIG, false, "'%.60s' is not a time zone name",
				  zone ? zone : "");
	for (const char *c = zone; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/_-+", *c))
			return cd_err_set(err, CD_ECONFIG, false, "'%.60s' is not a time zone name",
					  zone);
	if (strcmp(zone, "UTC") == 0)
		return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	if (access(path, R_OK) != 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "time zone '%s' is not in the system's tz database (%s)", zone,
				  path);
	return 0;
}

/* Runs fn with the process zone set to `zone`, under the lock. */
static void with_zone(const char *zone, void (*fn)(void *), void *arg)
{
	char *saved = NULL;
	const char *old;

	pthread_mutex_lock(&tz_lock);
	old = getenv("TZ");
	if (old)
		saved = strdup(old);
	setenv("TZ", zone, 1);
	tzset();
	fn(arg);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	pthread_mutex_unlock(&tz_lock);
}

struct tz_job {
	int64_t t;
	struct tm tm;
	int64_t result;
	bool ok;
};

static void job_localtime(void *arg)
{
	struct tz_job *j = arg;
	time_t tt = (time_t)j->t;

	j->ok = localtime_r(&tt, &j->tm) != NULL;
}

static void job_mktime(void *arg)
{
	struct tz_job *j = arg;
	time_t r = mktime(&j->tm);

	j->ok = r != (time_t)-1;
	j->result = (int64_t)r;
}

int cd_tz_offset(const char *zone, int64_t t, int *offset, struct cd_err *err)
{
	struct tz_job j = { .t = t };
	int rc = cd_tz_check(zone, err);

	if (rc)
		return rc;
	with_zone(zone, job_localtime, &j);
	if (!j.ok)
		return cd_err_set(err, CD_EINVAL, false, "instant %lld is out of range",
				  (long long)t);
	*offset = (int)j.tm.tm_gmtoff;
	return 0;
}

int cd_tz_local_midnight(const char *zone, const struct cd_date *d, int64_t *out,
			 struct cd_err *err)
{
	struct tz_job j = { 0 };
	int rc = cd_tz_check(zone, err);

	if (rc)
		return rc;
	j.tm.tm_year = d->year - 1900;
	j.tm.tm_mon = d->month - 1;
	j.tm.tm_mday = d->day;
	j.tm.tm_isdst = -1;
	with_zone(zone, job_mktime, &j);
	if (!j.ok)
		return cd_err_set(err, CD_EINVAL, false, "date %04d-%02d-%02d is out of range",
				  d->year, d->month, d->day);
	*out = j.result;
	return 0;
}

int cd_tz_format(const char *zone, int64_t t, char buf[static 17], struct cd_err *err)
{
	struct tz_job j = { .t = t };
	int rc = cd_tz_check(zone, err);

	if (rc)
		return rc;
	with_zone(zone, job_localtime, &j);
	if (!j.ok)
		return cd_err_set(err, CD_EINVAL, false, "instant %lld is out of range",
				  (long long)t);
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d", (j.tm.tm_year + 1900) % 10000,
		 j.tm.tm_mon + 1, j.tm.tm_mday, j.tm.tm_hour, j.tm.tm_min);
	memcpy(buf, tmp, 16);
	buf[16] = '\0';
	return 0;
}

int64_t cd_time_now(void)
{
	return (int64_t)time(NULL);
}
