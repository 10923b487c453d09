/*
 * fuzz_timestamp.c - libFuzzer target for cd_date_parse() and
 * cd_timestamp_parse(): whatever they accept must format and parse back to
 * the same value, and whatever they refuse must say so in the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cdtime.h"

#include "fuzz_input.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_err err;
	struct cd_date d, d2;
	char *s, buf[21], day[11];
	int64_t t, t2;

	s = fuzz_cstr(data, size, 256);
	if (!s)
		return 0;

	if (cd_date_parse(s, &d, &err) == 0) {
		/* the date syntax is exact, so formatting gives back the input */
		CHECK(cd_date_valid(d.year, d.month, d.day));
		cd_date_format(&d, day);
		CHECK(strcmp(day, s) == 0);
		CHECK(cd_date_parse(day, &d2, NULL) == 0 && d2.year == d.year);
	} else {
		CHECK(err.code == CD_EINVAL && err.msg[0] != '\0');
	}

	if (cd_timestamp_parse(s, &t, &err) == 0) {
		/* an offset can push the instant out of years 1..9999; format only inside */
		if (t >= -62135596800LL && t <= 253402300799LL) {
			cd_time_format_utc(t, buf);
			CHECK(cd_timestamp_parse(buf, &t2, NULL) == 0 && t2 == t);
			cd_civil_from_days(t / 86400 - (t % 86400 < 0), &d);
			CHECK(cd_date_valid(d.year, d.month, d.day));
		}
	} else {
		CHECK(err.code == CD_EINVAL && err.msg[0] != '\0');
	}
	free(s);
	return 0;
}
