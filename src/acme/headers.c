/*
 * headers.c - the HTTP response headers certdesk reads from a CA, parsed
 * strictly and bounded: Retry-After (RFC 9110 §10.2.3), Link (RFC 8288, only
 * the URL and rel), Replay-Nonce and Location.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme.h"
#include "util/cdtime.h"

/* A Retry-After longer than a day is treated as a day: a CA's wish, not a law. */
#define RETRY_AFTER_MAX 86400L

static int month_of(const char *m)
{
	static const char *const names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	for (int i = 0; i < 12; i++)
		if (strncmp(m, names[i], 3) == 0)
			return i + 1;
	return 0;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (exactly 29 characters). */
static int parse_imf(const char *s, int64_t *out)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	int d, mon, y, hh, mm, ss, known = 0;

	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
		return -1;
	for (int i = 0; i < 7; i++)
		if (strncmp(s, days[i], 3) == 0)
			known = 1;
	if (!known || digits(s + 5, 2, &d) || !(mon = month_of(s + 8)) || digits(s + 12, 4, &y) ||
	    digits(s + 17, 2, &hh) || digits(s + 20, 2, &mm) || digits(s + 23, 2, &ss))
		return -1;
	if (!cd_date_valid(y, mon, d) || hh > 23 || mm > 59 || ss > 60)
		return -1;
	*out = cd_days_from_civil(y, mon, d) * CD_SECS_PER_DAY + hh * 3600 + mm * 60 + ss;
	return 0;
}

int acme_retry_after_parse(const char *value, int64_t now, long *secs)
{
	size_t n;

	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 64)
		return -1;
	if (isdigit((unsigned char)value[0])) {
		long v = 0;

		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)value[i]))
				return -1;
			if (v < RETRY_AFTER_MAX)
				v = v * 10 + (value[i] - '0');
		}
		*secs = v > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : v;
		return 0;
	} else {
		char buf[65];
		int64_t t;

		memcpy(buf, value, n);
		buf[n] = '\0';
		if (parse_imf(buf, &t))
			return -1;
		t -= now;
		*secs = t < 0 ? 0 : t > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (long)t;
		return 0;
	}
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One link-value: "<url>" *( ";" param ), with rel compared token by token. */
int acme_link_parse(const char *value, const char *rel, void (*fn)(const char *url, void *arg),
		    void *arg)
{
	const char *p = value;
	int found = 0;

	if (!value || strlen(value) > 16384)
		return -1;
	for (;;) {
		char url[ACME_URL_MAX];
		const char *end;
		size_t ul;
		int match = 0;

		p = skip_ws(p);
		if (*p != '<')
			return -1;
		end = strchr(p + 1, '>');
		if (!end || (ul = (size_t)(end - p - 1)) >= sizeof(url) || ul == 0)
			return -1;
		memcpy(url, p + 1, ul);
		url[ul] = '\0';
		p = skip_ws(end + 1);
		while (*p == ';') {
			char name[32], v[256];
			size_t nl = 0, vl = 0;

			p = skip_ws(p + 1);
			while (*p && *p != '=' && *p != ';' && *p != ',' && *p != ' ') {
				if (nl + 1 >= sizeof(name))
					return -1;
				name[nl++] = *p++;
			}
			name[nl] = '\0';
			p = skip_ws(p);
			v[0] = '\0';
			if (*p == '=') {
				p = skip_ws(p + 1);
				if (*p == '"') {
					p++;
					while (*p && *p != '"') {
						if (vl + 1 >= sizeof(v))
							return -1;
						v[vl++] = *p++;
					}
					if (*p != '"')
						return -1;
					p++;
				} else {
					while (*p && *p != ';' && *p != ',' && *p != ' ') {
						if (vl + 1 >= sizeof(v))
							return -1;
						v[vl++] = *p++;
					}
				}
				v[vl] = '\0';
			}
			if (nl == 0)
				return -1;
			if (strcasecmp(name, "rel") == 0) {
				/* rel may hold several space-separated relation types */
				char *save = NULL;

				for (char *t = strtok_r(v, " ", &save); t;
				     t = strtok_r(NULL, " ", &save))
					if (strcasecmp(t, rel) == 0)
						match = 1;
			}
			p = skip_ws(p);
		}
		if (match) {
			if (acme_location_valid(url) == 0) {
				found++;
				if (fn)
					fn(url, arg);
			}
		}
		if (*p == '\0')
			return found;
		if (*p != ',')
			return -1;
		p++;
	}
}

int acme_nonce_valid(const char *value)
{
	size_t n = 0;

	if (!value)
		return -1;
	for (const char *p = value; *p; p++, n++) {
		char c = *p;

		if (!(isalnum((unsigned char)c) || c == '-' || c == '_') || n >= ACME_NONCE_MAX - 1)
			return -1;
	}
	return n ? 0 : -1;
}

int acme_location_valid(const char *value)
{
	size_t n;

	if (!value)
		return -1;
	n = strlen(value);
	if (n >= ACME_URL_MAX ||
	    (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0))
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] <= ' ' || (unsigned char)value[i] >= 0x7f ||
		    strchr("\"\\<>", value[i]))
			return -1;
	return strlen(strstr(value, "://") + 3) ? 0 : -1;
}
