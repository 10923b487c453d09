/*
 * mime.c - building certdesk's mail as MIME: RFC 5322 headers folded to 76
 * characters, RFC 2047 B encoded-words of UTF-8 for anything not plain ASCII,
 * display names that cannot carry a header in, a base64 UTF-8 body.
 *
 * Nothing from a customer's data reaches a header unchecked: every control
 * character (CR and LF first) is dropped before encoding, addresses are
 * refused unless they are plain addr-specs, and invalid UTF-8 becomes U+FFFD.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "util/cdtime.h"

#define LINE_MAX_ENC	 76 /* RFC 2047 §2: a line with encoded-words */
#define LINE_MAX_TEXT	 78 /* RFC 5322 §2.1.1 */
#define HEADER_VALUE_MAX 2000
#define BODY_MAX	 (1024 * 1024)

/* --- a growing buffer ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *np;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static int sb_finish(struct sbuf *b, char **out, size_t *len, struct cd_err *err)
{
	if (b->oom || !b->p) {
		free(b->p);
		*out = NULL;
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	*out = b->p;
	if (len)
		*len = b->len;
	return 0;
}

/* --- UTF-8 ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls (U+0080..U+009F) are controls too */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
}

/*
 * The text of one header value: valid UTF-8, every control (C0, DEL, C1)
 * turned into one space, runs of spaces collapsed, trimmed, at most max
 * bytes (cut at a character boundary). *ascii says whether it is all ASCII.
 */
static char *clean_text(const char *in, size_t max, bool *ascii)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;
	char *out = malloc(n * 3 + 1); /* an invalid byte becomes 3 bytes (U+FFFD) */
	bool space = true;	       /* drops leading spaces */

	*ascii = true;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(s + i, n - i);

		if (l == 1 && (s[i] < 0x20 || s[i] == 0x7f || s[i] == ' ')) {
			if (!space && o + 1 <= max)
				out[o++] = ' ';
			space = true;
			i++;
			continue;
		}
		if (l == 0) {
			/* not UTF-8, or a C1 control: a C1 control is a space, garbage U+FFFD */
			bool c1 = s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f;

			if (c1) {
				if (!space && o + 1 <= max)
					out[o++] = ' ';
				space = true;
				i += 2;
				continue;
			}
			if (o + 3 > max)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			*ascii = false;
			space = false;
			i++;
			continue;
		}
		if (o + l > max)
			break;
		if (l > 1)
			*ascii = false;
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
		space = false;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* --- base64 ------------------------------------------------------------------ */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_add(struct sbuf *b, const unsigned char *s, size_t n)
{
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = B64[(v >> 18) & 63];
		q[1] = B64[(v >> 12) & 63];
		q[2] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? B64[v & 63] : '=';
		sb_add(b, q, 4);
	}
}

/* --- header folding ------------------------------------------------------------ */

struct hdr {
	struct sbuf b;
	size_t col; /* characters on the current line */
	bool fresh; /* nothing after "Name:" yet: folding there would leave it alone */
};

static void hdr_start(struct hdr *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	sb_str(&h->b, name);
	sb_str(&h->b, ":");
	h->col = strlen(name) + 1;
	h->fresh = true;
}

/* Appends " tok", folding before it when the line would pass limit. */
static void hdr_token(struct hdr *h, const char *tok, size_t n, size_t limit)
{
	/* never fold right after "Name:": nothing would be on that line */
	if (h->col + 1 + n > limit && !h->fresh) {
		sb_str(&h->b, "\r\n");
		h->col = 0;
	}
	sb_str(&h->b, " ");
	sb_add(&h->b, tok, n);
	h->col += 1 + n;
	h->fresh = false;
}

/* Encoded-words for text (valid UTF-8), each fitting the line it starts on. */
static void hdr_encoded(struct hdr *h, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);

	for (size_t i = 0; i < n;) {
		/* room for " =?UTF-8?B?" + 4k + "?=" on this line, else on the next */
		size_t room = h->col + 1 < LINE_MAX_ENC ? LINE_MAX_ENC - h->col - 1 : 0, raw;
		struct sbuf w = { 0 };

		if (room < 12 + 4 * 2 && !h->fresh) {
			sb_str(&h->b, "\r\n");
			h->col = 0;
			room = LINE_MAX_ENC - 1;
		}
		if (room < 16) /* only after a very long header name */
			room = 16;
		raw = (room - 12) / 4 * 3;
		if (raw > 45)
			raw = 45;
		{
			size_t take = 0;

			while (i + take < n) {
				size_t l = utf8_len(s + i + take, n - i - take);

				if (l == 0)
					l = 1; /* cleaned text has none; keep going regardless */
				if (take + l > raw)
					break;
				take += l;
			}
			if (take == 0) /* a character wider than the room: fold first */
				take = utf8_len(s + i, n - i) ? utf8_len(s + i, n - i) : 1;
			sb_str(&w, "=?UTF-8?B?");
			b64_add(&w, s + i, take);
			sb_str(&w, "?=");
			i += take;
		}
		if (w.oom) {
			h->b.oom = true;
			free(w.p);
			return;
		}
		sb_str(&h->b, " ");
		sb_add(&h->b, w.p, w.len);
		h->col += 1 + w.len;
		h->fresh = false;
		free(w.p);
	}
}

/* Plain ASCII words, folded at spaces; false when a word is too long to fold. */
static bool words_fit(const char *text)
{
	size_t run = 0;

	for (const char *p = text;; p++) {
		if (*p == ' ' || !*p) {
			if (run > LINE_MAX_TEXT - 12)
				return false;
			run = 0;
			if (!*p)
				return true;
		} else {
			run++;
		}
	}
}

static void hdr_words(struct hdr *h, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		hdr_token(h, p, n, LINE_MAX_TEXT);
		p += n;
		while (*p == ' ')
			p++;
	}
}

static int hdr_finish(struct hdr *h, char **out, struct cd_err *err)
{
	sb_str(&h->b, "\r\n");
	return sb_finish(&h->b, out, NULL, err);
}

/* Text that must be encoded even when ASCII: it would read as an encoded-word. */
static bool looks_encoded(const char *s)
{
	return strstr(s, "=?") != NULL;
}

int notify_header_text(const char *name, const char *value, char **out, struct cd_err *err)
{
	struct hdr h;
	bool ascii;
	char *v = clean_text(value ? value : "", HEADER_VALUE_MAX, &ascii);

	*out = NULL;
	if (!v)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	hdr_start(&h, name);
	if (ascii && !looks_encoded(v) && words_fit(v))
		hdr_words(&h, v);
	else
		hdr_encoded(&h, v);
	free(v);
	return hdr_finish(&h, out, err);
}

bool notify_addr_valid(const char *addr)
{
	const char *at, *label;
	size_t n;

	if (!addr)
		return false;
	n = strlen(addr);
	if (n < 3 || n > 254)
		return false;
	at = strchr(addr, '@');
	if (!at || at == addr || !at[1] || at - addr > 64)
		return false;
	/* the local part: a dot-atom (RFC 5322 §3.2.3) */
	if (addr[0] == '.' || at[-1] == '.')
		return false;
	for (const char *p = addr; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr("!#$%&'*+-/=?^_`{|}~.", c))) ||
		    (c == '.' && p[1] == '.'))
			return false;
	}
	/* the domain: LDH labels of 1..63 (A-labels for IDN), dot-separated */
	label = at + 1;
	for (const char *p = at + 1;; p++) {
		if (*p == '.' || !*p) {
			if (p == label || p - label > 63 || *label == '-' || p[-1] == '-')
				return false;
			if (!*p)
				return true;
			label = p + 1;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '-')) {
			return false;
		}
	}
}

/* atext (RFC 5322 §3.2.3) and spaces: a phrase that needs no quotes */
static bool phrase_atoms(const char *s)
{
	for (; *s; s++)
		if (!(*s == ' ' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", *s)))
			return false;
	return true;
}

int notify_header_address(const char *name, const char *display, const char *addr, char **out,
			  struct cd_err *err)
{
	struct hdr h;
	bool ascii;
	char *v = NULL, *a;
	int rc;

	*out = NULL;
	if (!notify_addr_valid(addr))
		return cd_err_set(err, CD_EINVAL, false, "%s: '%.80s' is not a mail address", name,
				  addr ? addr : "");
	v = clean_text(display ? display : "", 200, &ascii);
	a = malloc(strlen(addr) + 3);
	if (!v || !a) {
		free(v);
		free(a);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	sprintf(a, "<%s>", addr);
	hdr_start(&h, name);
	if (!*v) {
		hdr_token(&h, addr, strlen(addr), LINE_MAX_TEXT);
	} else {
		if (ascii && !looks_encoded(v) && phrase_atoms(v) && words_fit(v)) {
			hdr_words(&h, v);
		} else {
			/* a quoted-string (backslash before '"' and '\\') when it fits on
			 * one line, else encoded-words, which fold */
			struct sbuf q = { 0 };

			sb_str(&q, "\"");
			for (const char *p = v; *p; p++) {
				if (*p == '"' || *p == '\\')
					sb_str(&q, "\\");
				sb_add(&q, p, 1);
			}
			sb_str(&q, "\"");
			if (q.oom)
				h.b.oom = true;
			else if (ascii && !looks_encoded(v) && h.col + 1 + q.len <= LINE_MAX_TEXT)
				hdr_token(&h, q.p, q.len, LINE_MAX_TEXT);
			else
				hdr_encoded(&h, v);
			free(q.p);
		}
		hdr_token(&h, a, strlen(a), LINE_MAX_TEXT);
	}
	free(v);
	free(a);
	rc = hdr_finish(&h, out, err);
	return rc;
}

int notify_message_id_new(const char *domain, char *out, size_t outsz, struct cd_err *err)
{
	unsigned char r[16];
	char hex[33];

	if (!domain || !*domain || strlen(domain) > 200 || domain[0] == '.' ||
	    domain[strlen(domain) - 1] == '.' || strstr(domain, "..") ||
	    strspn(domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
		strlen(domain))
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] message_id_domain '%.80s' is not a domain name",
				  domain ? domain : "");
	if (RAND_bytes(r, sizeof(r)) != 1)
		return cd_err_set(err, CD_ECRYPTO, false, "no random bytes for a Message-ID");
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	if ((size_t)snprintf(out, outsz, "%s.certdesk@%s", hex, domain) >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "Message-ID longer than %zu bytes", outsz);
	return 0;
}

/* RFC 5322 §3.3 date-time: "Wed, 25 Nov 2026 21:18:02 +0900" */
static void format_date(int64_t t, int offset, char buf[64])
{
	static const char *const days[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int64_t local = t + offset, day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t sec = local - day * 86400;
	struct cd_date d;
	int off = offset < 0 ? -offset : offset;

	cd_civil_from_days(day, &d);
	snprintf(buf, 64, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", days[((day % 7) + 7) % 7],
		 d.day, months[d.month - 1], d.year, (int)(sec / 3600), (int)(sec / 60 % 60),
		 (int)(sec % 60), offset < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}

/* The body: UTF-8 (invalid bytes -> U+FFFD), controls other than TAB dropped,
 * every line ending CRLF, then base64 in lines of 76. */
static int add_body(struct sbuf *b, const char *body, struct cd_err *err)
{
	const unsigned char *s = (const unsigned char *)body;
	size_t n = strlen(body);
	struct sbuf t = { 0 };

	if (n > BODY_MAX)
		return cd_err_set(err, CD_ELIMIT, false, "mail body longer than %d bytes",
				  BODY_MAX);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(s + i, n - i);

		if (s[i] == '\n') {
			sb_str(&t, "\r\n");
			i++;
		} else if (s[i] == '\r') {
			i += (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
			sb_str(&t, "\r\n");
		} else if (l == 1 && ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)) {
			i++;
		} else if (l == 0) {
			sb_str(&t, "\xef\xbf\xbd");
			i++;
		} else {
			sb_add(&t, body + i, l);
			i += l;
		}
	}
	if (t.len < 2 || memcmp(t.p + t.len - 2, "\r\n", 2) != 0)
		sb_str(&t, "\r\n");
	if (t.oom) {
		free(t.p);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	for (size_t i = 0; i < t.len; i += 57) { /* 57 bytes -> 76 characters */
		b64_add(b, (const unsigned char *)t.p + i, t.len - i < 57 ? t.len - i : 57);
		sb_str(b, "\r\n");
	}
	free(t.p);
	return 0;
}

static int add_header(struct sbuf *b, int rc, char **h)
{
	if (rc == 0)
		sb_str(b, *h);
	free(*h);
	*h = NULL;
	return rc;
}

int notify_mime_build(const struct notify_mime *m, char **out, size_t *len, struct cd_err *err)
{
	struct sbuf b = { 0 };
	char date[64], *h = NULL;
	int rc;

	*out = NULL;
	if (!m->message_id || !*m->message_id || strlen(m->message_id) > 250 ||
	    !notify_addr_valid(m->message_id))
		return cd_err_set(err, CD_EINVAL, false, "'%.80s' is not a Message-ID",
				  m->message_id ? m->message_id : "");
	/* each header is made first, then appended (h is set by the call) */
	rc = notify_header_address("From", m->from_name, m->from_addr, &h, err);
	rc = add_header(&b, rc, &h);
	if (!rc) {
		rc = notify_header_address("To", m->to_name, m->to_addr, &h, err);
		rc = add_header(&b, rc, &h);
	}
	if (!rc && m->reply_to && *m->reply_to) {
		rc = notify_header_address("Reply-To", NULL, m->reply_to, &h, err);
		rc = add_header(&b, rc, &h);
	}
	if (!rc) {
		rc = notify_header_text("Subject", m->subject, &h, err);
		rc = add_header(&b, rc, &h);
	}
	if (rc)
		goto fail;
	format_date(m->date, m->tz_offset, date);
	sb_str(&b, "Date: ");
	sb_str(&b, date);
	sb_str(&b, "\r\nMessage-ID: <");
	sb_str(&b, m->message_id);
	sb_str(&b, ">\r\n"
		   "MIME-Version: 1.0\r\n"
		   "Content-Type: text/plain; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: base64\r\n"
		   "Auto-Submitted: auto-generated\r\n"
		   "\r\n");
	rc = add_body(&b, m->body ? m->body : "", err);
	if (rc)
		goto fail;
	return sb_finish(&b, out, len, err);
fail:
	free(b.p);
	return rc;
}
