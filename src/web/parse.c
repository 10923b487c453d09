/*
 * parse.c - the request parsing the portal does itself: form bodies and query
 * strings (x-www-form-urlencoded), cookies, Accept-Language and `next`
 * targets. Pure functions over bounded input; fuzzed by fuzz_web_parse.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/web.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long web_url_decode(const char *in, size_t len, char *out, size_t outsz, bool plus_space)
{
	size_t o = 0;

	if (outsz == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == '\0' || o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

int web_form_parse(const char *body, size_t len, size_t max_fields, struct web_form *out,
		   struct cd_err *err)
{
	size_t pos = 0, o = 0;

	memset(out, 0, sizeof(*out));
	if (max_fields > WEB_FORM_MAX_FIELDS)
		max_fields = WEB_FORM_MAX_FIELDS;
	/* decoded text is never longer than the input: one buffer holds all of it */
	out->buf = malloc(len + 2 * WEB_FORM_MAX_FIELDS + 2);
	if (!out->buf)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	while (pos < len) {
		const char *field = body + pos, *amp = memchr(field, '&', len - pos);
		size_t flen = amp ? (size_t)(amp - field) : len - pos;
		const char *eq = memchr(field, '=', flen);
		size_t nlen = eq ? (size_t)(eq - field) : flen;
		long dn, dv;

		pos += flen + (amp ? 1 : 0);
		if (flen == 0)
			continue; /* "a=1&&b=2" */
		if (out->n == max_fields) {
			web_form_free(out);
			return cd_err_set(err, CD_ELIMIT, false, "more than %zu form fields",
					  max_fields);
		}
		dn = web_url_decode(field, nlen, out->buf + o, nlen + 1, true);
		if (dn < 0)
			goto bad;
		out->name[out->n] = out->buf + o;
		o += (size_t)dn + 1;
		if (eq) {
			size_t vlen = flen - nlen - 1;

			dv = web_url_decode(eq + 1, vlen, out->buf + o, vlen + 1, true);
			if (dv < 0)
				goto bad;
		} else {
			out->buf[o] = '\0';
			dv = 0;
		}
		out->value[out->n] = out->buf + o;
		o += (size_t)dv + 1;
		out->n++;
	}
	return 0;
bad:
	web_form_free(out);
	return cd_err_set(err, CD_EINVAL, false, "malformed form encoding");
}

const char *web_form_get(const struct web_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return NULL;
}

void web_form_free(struct web_form *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

#define COOKIES_MAX 64

int web_cookie_get(const char *header, const char *name, char *out, size_t outsz,
		   struct cd_err *err)
{
	size_t nl = strlen(name);
	int count = 0, found = 0;
	const char *p = header;

	while (p && *p) {
		const char *end = strchr(p, ';'), *eq;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		len = end ? (size_t)(end - p) : strlen(p);
		if (++count > COOKIES_MAX)
			return cd_err_set(err, CD_ELIMIT, false, "more than %d cookies",
					  COOKIES_MAX);
		eq = memchr(p, '=', len);
		if (!found && eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
			const char *v = eq + 1;
			size_t vl = len - nl - 1;

			while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl >= outsz)
				return cd_err_set(err, CD_ELIMIT, false, "cookie %s is too long",
						  name);
			memcpy(out, v, vl);
			out[vl] = '\0';
			found = 1; /* the first one wins; keep counting */
		}
		p = end ? end + 1 : NULL;
	}
	return found;
}

/* One language range of Accept-Language: its q in thousandths (-1 if bad). */
static int range_q(const char *p, size_t len)
{
	const char *semi = memchr(p, ';', len);
	int q = 1000;

	if (!semi)
		return q;
	for (const char *s = semi + 1; s < p + len; s++) {
		if (*s == ' ' || *s == '\t')
			continue;
		if ((*s == 'q' || *s == 'Q') && s + 1 < p + len && s[1] == '=') {
			const char *v = s + 2;
			int digits = 0;

			if (v >= p + len)
				return -1;
			if (*v == '1')
				return 1000;
			if (*v != '0')
				return -1;
			q = 0;
			if (v + 1 < p + len && v[1] == '.')
				for (const char *d = v + 2;
				     d < p + len && isdigit((unsigned char)*d) && digits < 3;
				     d++, digits++)
					q += (*d - '0') * (digits == 0	 ? 100
							   : digits == 1 ? 10
									 : 1);
			return q;
		}
		break;
	}
	return q;
}

enum lang web_accept_language(const char *header, bool *found)
{
	int best_q[LANG_COUNT] = { -1, -1 };
	int order[LANG_COUNT] = { 0, 0 }, n = 0;
	const char *p = header;

	*found = false;
	for (int ranges = 0; p && *p && ranges < 32; ranges++) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p), tl;
		int q, l = -1;

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		for (tl = 0; tl < len && p[tl] != ';' && p[tl] != ' '; tl++)
			;
		if ((tl == 2 || (tl > 2 && p[2] == '-')) && strncasecmp(p, "ja", 2) == 0)
			l = LANG_JA;
		else if ((tl == 2 || (tl > 2 && p[2] == '-')) && strncasecmp(p, "en", 2) == 0)
			l = LANG_EN;
		q = range_q(p, len);
		if (l >= 0 && q > 0 && q > best_q[l]) {
			if (best_q[l] < 0)
				order[l] = n++;
			best_q[l] = q;
		}
		p = end ? end + 1 : NULL;
	}
	if (best_q[LANG_JA] < 0 && best_q[LANG_EN] < 0)
		return LANG_JA;
	*found = true;
	if (best_q[LANG_EN] > best_q[LANG_JA] ||
	    (best_q[LANG_EN] == best_q[LANG_JA] && order[LANG_EN] < order[LANG_JA]))
		return LANG_EN;
	return LANG_JA;
}

bool web_local_path_ok(const char *next)
{
	size_t len;

	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
		return false;
	len = strlen(next);
	if (len > 512)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)next[i];

		/* browsers treat '\' like '/' and drop tabs and newlines */
		if (c < 0x21 || c == 0x7f || c == '\\')
			return false;
	}
	return true;
}
