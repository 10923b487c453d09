/*
 * jsonl.c - the streaming JSON Lines reader behind jsonl.h.
 *
 * Bytes come from read(2) (or a memory buffer, copied the same way) in chunks
 * into one fixed buffer; each line is gathered into a line buffer that never
 * grows past the line limit, checked for NUL and UTF-8 here (for messages
 * with a line and column), then parsed by jansson, which refuses duplicate
 * keys and \u0000 as long as JSON_ALLOW_NUL is not passed. Any JSON value is
 * parsed, so that a line holding an array or a string gets a clear message.
 */
#include "util/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/csv.h" /* csv_utf8_check() */

#define LINE_INITIAL_BYTES 4096

struct jsonl_reader {
	/* source */
	int fd;
	bool is_mem; /* reads mem instead of fd */
	bool own_fd; /* opened by jsonl_open_path */
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	bool eof;     /* the source has no more bytes */
	bool started; /* the byte order mark check is done */
	struct jsonl_limits lim;

	/* input window: chunk[pos..len) not yet consumed */
	unsigned char *chunk;
	size_t pos, len;

	char *buf; /* the current line, NUL-terminated */
	size_t buf_len, buf_cap;
	unsigned long line; /* number of the next line to read */

	int failed; /* 0 or the negative code returned, again, by every later call */
	struct cd_err saved;
};

/* Records the error in the reader (it is final) and copies it to err. */
__attribute__((format(printf, 4, 5))) static int fail(struct jsonl_reader *r, struct cd_err *err,
						      enum cd_errcode code, const char *fmt, ...)
{
	va_list ap;

	r->saved.code = code;
	r->saved.retryable = false;
	va_start(ap, fmt);
	vsnprintf(r->saved.msg, sizeof(r->saved.msg), fmt, ap);
	va_end(ap);
	r->failed = -(int)code;
	if (err)
		*err = r->saved;
	return r->failed;
}

/* --- opening and closing ------------------------------------------------------ */

static jsonl_reader_t *reader_new(const struct jsonl_limits *limits, struct cd_err *err)
{
	struct jsonl_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		cd_err_set(err, CD_ENOMEM, false, "out of memory for a JSON Lines reader");
		return NULL;
	}
	if (limits)
		r->lim = *limits;
	if (!r->lim.max_line_bytes)
		r->lim.max_line_bytes = JSONL_DEFAULT_MAX_LINE_BYTES;
	if (!r->lim.read_chunk)
		r->lim.read_chunk = JSONL_DEFAULT_READ_CHUNK;
	if (r->lim.read_chunk < 4) /* the byte order mark must fit in one window */
		r->lim.read_chunk = 4;
	r->chunk = malloc(r->lim.read_chunk);
	if (!r->chunk) {
		free(r);
		cd_err_set(err, CD_ENOMEM, false, "out of memory for a JSON Lines reader");
		return NULL;
	}
	r->fd = -1;
	r->line = 1;
	return r;
}

jsonl_reader_t *jsonl_open_fd(int fd, const struct jsonl_limits *limits, struct cd_err *err)
{
	struct jsonl_reader *r = reader_new(limits, err);

	if (r)
		r->fd = fd;
	return r;
}

jsonl_reader_t *jsonl_open_path(const char *path, const struct jsonl_limits *limits,
				struct cd_err *err)
{
	struct jsonl_reader *r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		cd_err_set(err, errno == ENOENT ? CD_ENOTFOUND : CD_EIO, false,
			   "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	r = jsonl_open_fd(fd, limits, err);
	if (!r) {
		close(fd);
		return NULL;
	}
	r->own_fd = true;
	return r;
}

jsonl_reader_t *jsonl_open_mem(const void *buf, size_t len, const struct jsonl_limits *limits,
			       struct cd_err *err)
{
	struct jsonl_reader *r = reader_new(limits, err);

	if (r) {
		r->is_mem = true;
		r->mem = buf;
		r->mem_len = len;
	}
	return r;
}

void jsonl_close(jsonl_reader_t *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	free(r->chunk);
	free(r->buf);
	free(r);
}

size_t jsonl_memory_bytes(const jsonl_reader_t *r)
{
	return sizeof(*r) + r->lim.read_chunk + r->buf_cap;
}

/* --- input ---------------------------------------------------------------------- */

/* Makes at least `want` unconsumed bytes available unless the source ends first. */
static int fill(struct jsonl_reader *r, size_t want, struct cd_err *err)
{
	while (r->len - r->pos < want && !r->eof) {
		size_t room;
		ssize_t got;

		if (r->pos > 0) {
			memmove(r->chunk, r->chunk + r->pos, r->len - r->pos);
			r->len -= r->pos;
			r->pos = 0;
		}
		room = r->lim.read_chunk - r->len;
		if (r->is_mem) {
			got = (ssize_t)(r->mem_len - r->mem_pos < room ? r->mem_len - r->mem_pos
								       : room);
			if (got > 0)
				memcpy(r->chunk + r->len, r->mem + r->mem_pos, (size_t)got);
			r->mem_pos += (size_t)got;
		} else {
			got = read(r->fd, r->chunk + r->len, room);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return fail(r, err, CD_EIO, "line %lu: read failed: %s", r->line,
					    strerror(errno));
		}
		if (got == 0)
			r->eof = true;
		r->len += (size_t)got;
	}
	return 0;
}

static int append(struct jsonl_reader *r, const unsigned char *p, size_t n, struct cd_err *err)
{
	/* the line, a CR before its LF, and the NUL terminator */
	size_t most = r->lim.max_line_bytes + 2;

	if (r->buf_len + n + 1 > most)
		return fail(r, err, CD_ELIMIT, "line %lu: line longer than %zu bytes", r->line,
			    r->lim.max_line_bytes);
	if (r->buf_len + n + 1 > r->buf_cap) {
		size_t cap = r->buf_cap ? r->buf_cap : LINE_INITIAL_BYTES;
		char *q;

		while (cap < r->buf_len + n + 1)
			cap *= 2;
		if (cap > most)
			cap = most;
		q = realloc(r->buf, cap);
		if (!q)
			return fail(r, err, CD_ENOMEM, "line %lu: out of memory for a line",
				    r->line);
		r->buf = q;
		r->buf_cap = cap;
	}
	memcpy(r->buf + r->buf_len, p, n);
	r->buf_len += n;
	r->buf[r->buf_len] = '\0';
	return 0;
}

/*
 * Reads the next line (without its LF or CRLF) into r->buf. *got is false at
 * the end of the input.
 */
static int read_line(struct jsonl_reader *r, bool *got, struct cd_err *err)
{
	bool any = false;
	int rc;

	r->buf_len = 0;
	if (r->buf)
		r->buf[0] = '\0';
	for (;;) {
		const unsigned char *nl;
		size_t n;

		if (r->pos == r->len) {
			rc = fill(r, 1, err);
			if (rc)
				return rc;
			if (r->pos == r->len)
				break;
		}
		any = true;
		nl = memchr(r->chunk + r->pos, '\n', r->len - r->pos);
		n = nl ? (size_t)(nl - (r->chunk + r->pos)) : r->len - r->pos;
		rc = append(r, r->chunk + r->pos, n, err);
		if (rc)
			return rc;
		r->pos += n;
		if (nl) {
			r->pos++;
			break;
		}
	}
	if (r->buf_len > 0 && r->buf[r->buf_len - 1] == '\r')
		r->buf[--r->buf_len] = '\0';
	if (r->buf_len > r->lim.max_line_bytes)
		return fail(r, err, CD_ELIMIT, "line %lu: line longer than %zu bytes", r->line,
			    r->lim.max_line_bytes);
	*got = any;
	return 0;
}

/* The 1-based column, in characters, of byte `at` of the line. */
static unsigned long column_of(const char *s, size_t at)
{
	unsigned long col = 1;

	for (size_t i = 0; i < at; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			col++;
	return col;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

/* Parses the line in r->buf into *out (a new reference). */
static int parse_line(struct jsonl_reader *r, unsigned long line, json_t **out, struct cd_err *err)
{
	const char *nul = memchr(r->buf, '\0', r->buf_len);
	const char *why;
	json_error_t jerr;
	size_t bad;
	json_t *v;

	if (nul)
		return fail(r, err, CD_EINVAL, "line %lu, column %lu: NUL byte", line,
			    column_of(r->buf, (size_t)(nul - r->buf)));
	why = csv_utf8_check(r->buf, r->buf_len, &bad);
	if (why)
		return fail(r, err, CD_EINVAL,
			    "line %lu, column %lu: invalid UTF-8 (%s, byte 0x%02X)", line,
			    column_of(r->buf, bad), why, (unsigned char)r->buf[bad]);
	v = json_loadb(r->buf, r->buf_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v) {
		if (strstr(jerr.text, "\\u0000"))
			return fail(r, err, CD_EINVAL,
				    "line %lu, column %d: invalid JSON: the escape \\u0000 (NUL) "
				    "is not allowed",
				    line, jerr.column);
		return fail(r, err, CD_EINVAL, "line %lu, column %d: invalid JSON: %s", line,
			    jerr.column, jerr.text);
	}
	if (!json_is_object(v)) {
		int rc = fail(r, err, CD_EINVAL, "line %lu: expected a JSON object, found %s", line,
			      type_name(v));

		json_decref(v);
		return rc;
	}
	*out = v;
	return 0;
}

int jsonl_next(jsonl_reader_t *r, struct jsonl_record *rec, struct cd_err *err)
{
	bool got;
	int rc;

	rec->obj = NULL;
	if (r->failed) {
		if (err)
			*err = r->saved;
		return r->failed;
	}
	if (!r->started) {
		r->started = true;
		rc = fill(r, 3, err);
		if (rc)
			return rc;
		if (r->len - r->pos >= 3 && memcmp(r->chunk + r->pos, "\xEF\xBB\xBF", 3) == 0)
			r->pos += 3;
	}
	for (;;) {
		unsigned long line = r->line;

		rc = read_line(r, &got, err);
		if (rc)
			return rc;
		if (!got)
			return 0;
		r->line++;
		if (blank(r->buf, r->buf_len))
			continue;
		rc = parse_line(r, line, &rec->obj, err);
		if (rc)
			return rc;
		rec->line = line;
		return 1;
	}
}

/* --- reading values ---------------------------------------------------------------- */

static bool in_list(const char *const *names, const char *key)
{
	for (size_t i = 0; names && names[i]; i++)
		if (strcmp(names[i], key) == 0)
			return true;
	return false;
}

int jsonl_check_keys(const struct jsonl_record *rec, const char *const *required,
		     const char *const *optional, struct cd_err *err)
{
	char missing[256];
	size_t used = 0, nmissing = 0;
	const char *key;
	json_t *v;

	json_object_foreach(rec->obj, key, v)
	{
		if (!in_list(required, key) && !in_list(optional, key)) {
			char known[256];
			size_t k = 0;

			known[0] = '\0';
			for (int l = 0; l < 2; l++) {
				const char *const *names = l ? optional : required;

				for (size_t i = 0; names && names[i]; i++) {
					int n = snprintf(known + k, sizeof(known) - k, "%s%s",
							 k ? ", " : "", names[i]);

					if (n < 0 || (size_t)n >= sizeof(known) - k)
						break;
					k += (size_t)n;
				}
			}
			return cd_err_set(err, CD_EINVAL, false,
					  "line %lu: unknown key '%.64s' (known keys: %s)",
					  rec->line, key, known);
		}
	}
	missing[0] = '\0';
	for (size_t i = 0; required && required[i]; i++) {
		int n;

		v = json_object_get(rec->obj, required[i]);
		if (v && !json_is_null(v))
			continue;
		nmissing++;
		n = snprintf(missing + used, sizeof(missing) - used, "%s'%s'", used ? ", " : "",
			     required[i]);
		if (n > 0 && (size_t)n < sizeof(missing) - used)
			used += (size_t)n;
	}
	if (nmissing)
		return cd_err_set(err, CD_EINVAL, false, "line %lu: missing required key%s %s",
				  rec->line, nmissing > 1 ? "s" : "", missing);
	return 0;
}

int jsonl_get_string(const struct jsonl_record *rec, const char *key, bool required,
		     const char **out, size_t *len, struct cd_err *err)
{
	json_t *v = json_object_get(rec->obj, key);

	*out = NULL;
	if (len)
		*len = 0;
	if (!v || json_is_null(v)) {
		if (required)
			return cd_err_set(err, CD_EINVAL, false, "line %lu: '%.64s' is required",
					  rec->line, key);
		return 0;
	}
	if (!json_is_string(v))
		return cd_err_set(err, CD_EINVAL, false,
				  "line %lu: '%.64s' must be a string or null, not %s", rec->line,
				  key, type_name(v));
	*out = json_string_value(v);
	if (len)
		*len = json_string_length(v);
	return 0;
}
