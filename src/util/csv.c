/*
 * csv.c - the streaming RFC 4180 reader behind csv.h.
 *
 * Bytes come from read(2) (or a memory buffer, copied the same way) in chunks
 * of limits.read_chunk into one fixed buffer, and go through a small state
 * machine (field start, unquoted, quoted, quote seen) that appends field values
 * to one record buffer. The record buffer grows only while the record stays
 * within the limits, so a 50 MB line costs at most max_record_bytes of memory
 * and is refused as soon as it passes the limit, without reading the rest.
 * Each field is checked for UTF-8 once it is complete.
 */
#include "util/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_INITIAL_BYTES 4096

enum parse_state {
	ST_FIELD_START,
	ST_UNQUOTED,
	ST_QUOTED,
	ST_QUOTE_SEEN, /* a quote inside a quoted field: closing, or the first of "" */
};

struct span {
	size_t off, len;
	unsigned long line; /* where the field starts */
};

struct csv_reader {
	/* source */
	int fd;
	bool is_mem; /* reads mem instead of fd */
	bool own_fd; /* opened by csv_open_path */
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	bool eof;     /* the source has no more bytes */
	bool started; /* the byte order mark check is done */
	struct csv_limits lim;

	/* input window: chunk[pos..len) not yet consumed */
	unsigned char *chunk;
	size_t pos, len;

	/* position of the next byte */
	unsigned long line, col;
	bool prev_cr;

	/* the record being built */
	char *data;
	size_t data_len, data_cap;
	struct span *spans;
	struct csv_field *fields;
	size_t nfields, fields_cap;

	unsigned long blank_line; /* first of a run of empty lines, 0 if none */

	int failed; /* 0 or the negative code returned, again, by every later call */
	struct cd_err saved;
};

/* Records the error in the reader (it is final) and copies it to err. */
__attribute__((format(printf, 4, 5))) static int fail(struct csv_reader *r, struct cd_err *err,
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

/* --- UTF-8 ------------------------------------------------------------------ */

const char *csv_utf8_check(const char *str, size_t len, size_t *bad_at)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], lo = 0x80, hi = 0xBF;
		uint32_t cp;
		size_t n;
		const char *why = NULL;

		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		if (c == 0)
			why = "NUL byte";
		else if (c < 0xC0)
			why = "unexpected continuation byte";
		else if (c < 0xC2)
			why = "overlong encoding";
		else if (c >= 0xF5 && c < 0xF8)
			why = "code point above U+10FFFF";
		else if (c >= 0xF8)
			why = "byte that never occurs in UTF-8";
		if (why) {
			*bad_at = i;
			return why;
		}
		if (c < 0xE0) {
			n = 1;
			cp = c & 0x1F;
		} else if (c < 0xF0) {
			n = 2;
			cp = c & 0x0F;
			if (c == 0xE0)
				lo = 0xA0;
		} else {
			n = 3;
			cp = c & 0x07;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;
		}
		for (size_t k = 1; k <= n; k++) {
			unsigned b = i + k < len ? s[i + k] : 0;

			if (b < 0x80 || b > 0xBF)
				why = "truncated sequence";
			else if (k == 1 && b < lo)
				why = "overlong encoding";
			else if (k == 1 && b > hi)
				why = "code point above U+10FFFF";
			else if (k == 1 && c == 0xED && b >= 0xA0)
				why = "surrogate code point";
			if (why) {
				*bad_at = i;
				return why;
			}
			cp = cp << 6 | (b & 0x3F);
		}
		if (cp == 0xFEFF) {
			*bad_at = i;
			return "byte order mark (U+FEFF) after the start of the file";
		}
		i += n + 1;
	}
	return NULL;
}

/* --- opening and closing ------------------------------------------------------ */

static csv_reader_t *reader_new(const struct csv_limits *limits, struct cd_err *err)
{
	struct csv_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		cd_err_set(err, CD_ENOMEM, false, "out of memory for a CSV reader");
		return NULL;
	}
	if (limits)
		r->lim = *limits;
	if (!r->lim.max_record_bytes)
		r->lim.max_record_bytes = CSV_DEFAULT_MAX_RECORD_BYTES;
	if (!r->lim.max_field_bytes)
		r->lim.max_field_bytes = CSV_DEFAULT_MAX_FIELD_BYTES;
	if (!r->lim.max_fields)
		r->lim.max_fields = CSV_DEFAULT_MAX_FIELDS;
	if (!r->lim.read_chunk)
		r->lim.read_chunk = CSV_DEFAULT_READ_CHUNK;
	if (r->lim.read_chunk < 4) /* the byte order mark must fit in one window */
		r->lim.read_chunk = 4;
	r->chunk = malloc(r->lim.read_chunk);
	if (!r->chunk) {
		free(r);
		cd_err_set(err, CD_ENOMEM, false, "out of memory for a CSV reader");
		return NULL;
	}
	r->fd = -1;
	r->line = 1;
	r->col = 1;
	return r;
}

csv_reader_t *csv_open_fd(int fd, const struct csv_limits *limits, struct cd_err *err)
{
	struct csv_reader *r = reader_new(limits, err);

	if (r)
		r->fd = fd;
	return r;
}

csv_reader_t *csv_open_path(const char *path, const struct csv_limits *limits, struct cd_err *err)
{
	struct csv_reader *r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		cd_err_set(err, errno == ENOENT ? CD_ENOTFOUND : CD_EIO, false,
			   "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	r = csv_open_fd(fd, limits, err);
	if (!r) {
		close(fd);
		return NULL;
	}
	r->own_fd = true;
	return r;
}

csv_reader_t *csv_open_mem(const void *buf, size_t len, const struct csv_limits *limits,
			   struct cd_err *err)
{
	struct csv_reader *r = reader_new(limits, err);

	if (r) {
		r->is_mem = true;
		r->mem = buf;
		r->mem_len = len;
	}
	return r;
}

void csv_close(csv_reader_t *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	free(r->chunk);
	free(r->data);
	free(r->spans);
	free(r->fields);
	free(r);
}

size_t csv_memory_bytes(const csv_reader_t *r)
{
	return sizeof(*r) + r->lim.read_chunk + r->data_cap +
	       r->fields_cap * (sizeof(*r->spans) + sizeof(*r->fields));
}

/* --- input ---------------------------------------------------------------------- */

/*
 * Makes at least `want` unconsumed bytes available unless the source ends
 * first (want <= read_chunk). Returns 0 or a negative code.
 */
static int fill(struct csv_reader *r, size_t want, struct cd_err *err)
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

/* Sets *c to the next byte (0..255), or to -1 at the end of the input. */
static int peek(struct csv_reader *r, int *c, struct cd_err *err)
{
	int rc;

	if (r->pos == r->len) {
		rc = fill(r, 1, err);
		if (rc)
			return rc;
	}
	*c = r->pos < r->len ? r->chunk[r->pos] : -1;
	return 0;
}

/* Consumes the byte peek() returned, keeping line and column (in characters). */
static void consume(struct csv_reader *r)
{
	unsigned char c = r->chunk[r->pos++];

	if (c == '\r' || (c == '\n' && !r->prev_cr)) {
		r->line++;
		r->col = 1;
	} else if (c != '\n' && (c & 0xC0) != 0x80) {
		r->col++;
	}
	r->prev_cr = c == '\r';
}

/* Consumes a line end (CR, LF or CRLF) at the current position. */
static int consume_eol(struct csv_reader *r, struct cd_err *err)
{
	int c, rc;

	rc = peek(r, &c, err);
	if (rc || c < 0)
		return rc;
	consume(r);
	if (c != '\r')
		return 0;
	rc = peek(r, &c, err);
	if (rc)
		return rc;
	if (c == '\n')
		consume(r);
	return 0;
}

/* --- building the record ------------------------------------------------------------ */

static int grow_data(struct csv_reader *r, struct cd_err *err)
{
	size_t cap = r->data_cap ? r->data_cap * 2 : REC_INITIAL_BYTES;
	/* values and their NULs never pass this: values <= raw bytes, NULs <= fields */
	size_t most = r->lim.max_record_bytes + r->lim.max_fields + 1;
	char *p;

	if (cap > most)
		cap = most;
	if (cap <= r->data_cap)
		return fail(r, err, CD_EINTERNAL, "line %lu: CSV record buffer exhausted", r->line);
	p = realloc(r->data, cap);
	if (!p)
		return fail(r, err, CD_ENOMEM, "line %lu: out of memory for a CSV record", r->line);
	r->data = p;
	r->data_cap = cap;
	return 0;
}

static int put(struct csv_reader *r, char c, struct cd_err *err)
{
	int rc;

	if (r->data_len == r->data_cap) {
		rc = grow_data(r, err);
		if (rc)
			return rc;
	}
	r->data[r->data_len++] = c;
	return 0;
}

/* Appends one byte of the current field's value. */
static int put_value(struct csv_reader *r, char c, struct cd_err *err)
{
	const struct span *s = &r->spans[r->nfields];

	if (r->data_len - s->off >= r->lim.max_field_bytes)
		return fail(r, err, CD_ELIMIT, "line %lu, field %zu: field longer than %zu bytes",
			    s->line, r->nfields + 1, r->lim.max_field_bytes);
	return put(r, c, err);
}

static int begin_field(struct csv_reader *r, unsigned long rec_line, struct cd_err *err)
{
	size_t cap;
	struct span *s;
	struct csv_field *f;

	if (r->nfields == r->lim.max_fields)
		return fail(r, err, CD_ELIMIT, "line %lu: more than %zu fields in the record",
			    rec_line, r->lim.max_fields);
	if (r->nfields == r->fields_cap) {
		cap = r->fields_cap ? r->fields_cap * 2 : 16;
		if (cap > r->lim.max_fields)
			cap = r->lim.max_fields;
		s = realloc(r->spans, cap * sizeof(*s));
		if (s)
			r->spans = s;
		f = s ? realloc(r->fields, cap * sizeof(*f)) : NULL;
		if (!f)
			return fail(r, err, CD_ENOMEM, "line %lu: out of memory for CSV fields",
				    rec_line);
		r->fields = f;
		r->fields_cap = cap;
	}
	r->spans[r->nfields].off = r->data_len;
	r->spans[r->nfields].line = r->line;
	return 0;
}

/* The line of byte `at` of a field value, counting the line ends inside it. */
static unsigned long line_within(const char *v, size_t at, unsigned long first)
{
	for (size_t i = 0; i < at; i++)
		if (v[i] == '\r' || (v[i] == '\n' && (i == 0 || v[i - 1] != '\r')))
			first++;
	return first;
}

static int end_field(struct csv_reader *r, struct cd_err *err)
{
	struct span *s = &r->spans[r->nfields];
	const char *why;
	size_t bad;
	int rc;

	s->len = r->data_len - s->off;
	why = csv_utf8_check(r->data + s->off, s->len, &bad);
	if (why)
		return fail(r, err, CD_EINVAL,
			    "line %lu, field %zu: invalid UTF-8 (%s, byte 0x%02X) at byte %zu of "
			    "the field",
			    line_within(r->data + s->off, bad, s->line), r->nfields + 1, why,
			    (unsigned char)r->data[s->off + bad], bad + 1);
	rc = put(r, '\0', err);
	if (rc)
		return rc;
	r->nfields++;
	return 0;
}

/* --- the state machine -------------------------------------------------------------- */

/* Skips empty lines; an empty line followed by a record is an error. */
static int skip_blank_lines(struct csv_reader *r, bool *at_end, struct cd_err *err)
{
	int c, rc;

	for (;;) {
		rc = peek(r, &c, err);
		if (rc)
			return rc;
		if (c < 0) {
			*at_end = true;
			return 0;
		}
		if (c != '\r' && c != '\n')
			break;
		if (!r->blank_line)
			r->blank_line = r->line;
		rc = consume_eol(r, err);
		if (rc)
			return rc;
	}
	if (r->blank_line)
		return fail(r, err, CD_EINVAL,
			    "line %lu: empty record (empty lines are allowed only at the end of "
			    "the file)",
			    r->blank_line);
	*at_end = false;
	return 0;
}

/* Skips a UTF-8 byte order mark at the very start of the input. */
static int skip_bom(struct csv_reader *r, struct cd_err *err)
{
	int rc = fill(r, 3, err);

	if (rc)
		return rc;
	if (r->len - r->pos >= 3 && memcmp(r->chunk + r->pos, "\xEF\xBB\xBF", 3) == 0)
		r->pos += 3;
	return 0;
}

/* The state of the record being read. */
struct parse {
	enum parse_state st;
	unsigned long line;	     /* where the record starts */
	unsigned long q_line, q_col; /* where the current quoted field starts */
	size_t raw;		     /* bytes of the record so far */
};

enum step {
	STEP_TAKE,	 /* the byte belongs to the record: consume it */
	STEP_RECORD_END, /* the record ended before the byte (a line end, or -1) */
};

static int ok_or(int rc, enum step next)
{
	return rc ? rc : (int)next;
}

/* Outside quotes: a comma ends the field, a line end or the input's end the record. */
static int unquoted_byte(struct csv_reader *r, struct parse *p, int c, struct cd_err *err)
{
	if (c < 0 || c == '\r' || c == '\n')
		return ok_or(end_field(r, err), STEP_RECORD_END);
	if (c == ',') {
		p->st = ST_FIELD_START;
		return ok_or(end_field(r, err), STEP_TAKE);
	}
	return ok_or(put_value(r, (char)c, err), STEP_TAKE);
}

/* Feeds one byte (-1 at the end of the input) to the state machine: an enum
 * step, or a negative code. */
static int step(struct csv_reader *r, struct parse *p, int c, struct cd_err *err)
{
	int rc;

	if (c == 0)
		return fail(r, err, CD_EINVAL, "line %lu, column %lu: NUL byte", r->line, r->col);
	if (p->st == ST_FIELD_START) {
		rc = begin_field(r, p->line, err);
		if (rc)
			return rc;
		p->st = ST_UNQUOTED;
		if (c == '"') {
			p->q_line = r->line;
			p->q_col = r->col;
			p->st = ST_QUOTED;
			return STEP_TAKE;
		}
	}
	switch (p->st) {
	case ST_FIELD_START:
	case ST_UNQUOTED:
		if (c == '"')
			return fail(r, err, CD_EINVAL,
				    "line %lu, column %lu, field %zu: quote inside an unquoted "
				    "field (quote the whole field and double the quotes inside it)",
				    r->line, r->col, r->nfields + 1);
		return unquoted_byte(r, p, c, err);
	case ST_QUOTED:
		if (c < 0)
			return fail(r, err, CD_EINVAL,
				    "line %lu: unbalanced quotes: the quoted field %zu that starts "
				    "at line %lu, column %lu is still open at the end of the file",
				    r->line, r->nfields + 1, p->q_line, p->q_col);
		if (c == '"') {
			p->st = ST_QUOTE_SEEN;
			return STEP_TAKE;
		}
		return ok_or(put_value(r, (char)c, err), STEP_TAKE);
	case ST_QUOTE_SEEN:
		if (c == '"') {
			p->st = ST_QUOTED;
			return ok_or(put_value(r, '"', err), STEP_TAKE);
		}
		if (c >= 0 && c != ',' && c != '\r' && c != '\n')
			return fail(r, err, CD_EINVAL,
				    "line %lu, column %lu, field %zu: text after the closing quote "
				    "of the field that starts at line %lu, column %lu",
				    r->line, r->col, r->nfields + 1, p->q_line, p->q_col);
		return unquoted_byte(r, p, c, err);
	}
	return fail(r, err, CD_EINTERNAL, "line %lu: CSV reader in an unknown state", r->line);
}

/* Counts one more byte of the record against max_record_bytes. */
static int count_raw(struct csv_reader *r, struct parse *p, struct cd_err *err)
{
	if (++p->raw <= r->lim.max_record_bytes)
		return 0;
	if (p->st == ST_QUOTED)
		return fail(r, err, CD_ELIMIT,
			    "line %lu: record longer than %zu bytes (inside the quoted field %zu "
			    "that starts at line %lu, column %lu; is its closing quote missing?)",
			    p->line, r->lim.max_record_bytes, r->nfields + 1, p->q_line, p->q_col);
	return fail(r, err, CD_ELIMIT, "line %lu: record longer than %zu bytes", p->line,
		    r->lim.max_record_bytes);
}

int csv_next(csv_reader_t *r, struct csv_record *rec, struct cd_err *err)
{
	struct parse p = { .st = ST_FIELD_START };
	bool at_end;
	int c, rc;

	if (r->failed) {
		if (err)
			*err = r->saved;
		return r->failed;
	}
	if (!r->started) {
		r->started = true;
		rc = skip_bom(r, err);
		if (rc)
			return rc;
	}
	rc = skip_blank_lines(r, &at_end, err);
	if (rc || at_end)
		return rc;

	p.line = r->line;
	r->data_len = 0;
	r->nfields = 0;
	for (;;) {
		rc = peek(r, &c, err);
		if (rc)
			return rc;
		rc = step(r, &p, c, err);
		if (rc < 0)
			return rc;
		if (rc == STEP_RECORD_END)
			break;
		rc = count_raw(r, &p, err);
		if (rc)
			return rc;
		consume(r);
	}
	rc = consume_eol(r, err);
	if (rc)
		return rc;

	for (size_t i = 0; i < r->nfields; i++) {
		r->fields[i].s = r->data + r->spans[i].off;
		r->fields[i].len = r->spans[i].len;
	}
	rec->fields = r->fields;
	rec->nfields = r->nfields;
	rec->line = p.line;
	return 1;
}

/* --- the header ------------------------------------------------------------------------ */

static size_t count_names(const char *const *names)
{
	size_t n = 0;

	while (names && names[n])
		n++;
	return n;
}

/* "a, b, c" of the known names, cut to fit buf. */
static void list_names(char *buf, size_t size, const char *const *req, const char *const *opt)
{
	size_t used = 0;
	const char *const *lists[2] = { req, opt };

	buf[0] = '\0';
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
					 lists[l][i]);

			if (n < 0 || (size_t)n >= size - used)
				return;
			used += (size_t)n;
		}
}

int csv_header_map(const struct csv_record *hdr, const char *const *required,
		   const char *const *optional, int *idx_out, struct cd_err *err)
{
	size_t nreq = count_names(required), nopt = count_names(optional);
	char known[256], missing[256];
	size_t used = 0, nmissing = 0;

	for (size_t k = 0; k < nreq + nopt; k++)
		idx_out[k] = -1;
	for (size_t i = 0; i < hdr->nfields; i++) {
		const struct csv_field *f = &hdr->fields[i];
		size_t k;

		if (f->len == 0)
			return cd_err_set(err, CD_EINVAL, false,
					  "line %lu, field %zu: empty column name", hdr->line,
					  i + 1);
		for (k = 0; k < nreq + nopt; k++) {
			const char *name = k < nreq ? required[k] : optional[k - nreq];

			if (strlen(name) == f->len && memcmp(name, f->s, f->len) == 0)
				break;
		}
		if (k == nreq + nopt) {
			list_names(known, sizeof(known), required, optional);
			return cd_err_set(err, CD_EINVAL, false,
					  "line %lu, field %zu: unknown column '%.64s' (known "
					  "columns: %s)",
					  hdr->line, i + 1, f->s, known);
		}
		if (idx_out[k] >= 0)
			return cd_err_set(err, CD_EINVAL, false,
					  "line %lu: column '%.64s' appears twice (fields %d and "
					  "%zu)",
					  hdr->line, f->s, idx_out[k] + 1, i + 1);
		idx_out[k] = (int)i;
	}
	missing[0] = '\0';
	for (size_t k = 0; k < nreq; k++) {
		int n;

		if (idx_out[k] >= 0)
			continue;
		nmissing++;
		n = snprintf(missing + used, sizeof(missing) - used, "%s'%s'", used ? ", " : "",
			     required[k]);
		if (n > 0 && (size_t)n < sizeof(missing) - used)
			used += (size_t)n;
	}
	if (nmissing)
		return cd_err_set(err, CD_EINVAL, false, "line %lu: missing required column%s %s",
				  hdr->line, nmissing > 1 ? "s" : "", missing);
	return 0;
}

int csv_check_width(const struct csv_record *rec, size_t want, struct cd_err *err)
{
	if (rec->nfields == want)
		return 0;
	return cd_err_set(err, CD_EINVAL, false, "line %lu: %zu field%s, the header has %zu",
			  rec->line, rec->nfields, rec->nfields == 1 ? "" : "s", want);
}
