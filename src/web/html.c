/*
 * html.c - the portal's templates are C format strings run through h_fmt,
 * which HTML-escapes every value unless the directive says RAW (%R): an
 * unescaped value is visible in the template that writes it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_priv.h"

static void put(struct html *h, const char *s, size_t n)
{
	if (h->oom)
		return;
	if (h->len + n + 1 > h->cap) {
		size_t ncap = h->cap ? h->cap : 4096;
		char *nb;

		while (ncap < h->len + n + 1)
			ncap *= 2;
		nb = realloc(h->buf, ncap);
		if (!nb) {
			h->oom = true;
			return;
		}
		h->buf = nb;
		h->cap = ncap;
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

static void put_escaped(struct html *h, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		put(h, run, (size_t)(s - run));
		put(h, rep, strlen(rep));
		run = s + 1;
	}
	put(h, run, (size_t)(s - run));
}

static void put_urlencoded(struct html *h, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char enc[3];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			put(h, (const char *)&c, 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		put(h, enc, 3);
	}
}

void h_fmt(struct html *h, const char *fmt, ...)
{
	const char *run = fmt;
	char num[32];
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		const char *s;

		if (*p != '%')
			continue;
		put(h, run, (size_t)(p - run));
		switch (*++p) {
		case 's':
			s = va_arg(ap, const char *);
			put_escaped(h, s ? s : "");
			break;
		case 'R':
			s = va_arg(ap, const char *);
			put(h, s ? s : "", s ? strlen(s) : 0);
			break;
		case 'U':
			s = va_arg(ap, const char *);
			put_urlencoded(h, s ? s : "");
			break;
		case 'd':
			snprintf(num, sizeof(num), "%d", va_arg(ap, int));
			put(h, num, strlen(num));
			break;
		case 'I':
			snprintf(num, sizeof(num), "%" PRId64, va_arg(ap, int64_t));
			put(h, num, strlen(num));
			break;
		case '%':
			put(h, "%", 1);
			break;
		default: /* a template bug: show it rather than read a wrong argument */
			put(h, "%?", 2);
			if (!*p)
				p--;
			break;
		}
		run = p + 1;
	}
	put(h, run, strlen(run));
	va_end(ap);
}

void h_free(struct html *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}
