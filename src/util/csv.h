/*
 * csv.h - a strict, streaming RFC 4180 reader for the provider's inventory files.
 *
 * Input is UTF-8 with a header row. The reader reads the file in bounded chunks
 * and never holds more than one record (bounded by csv_limits) in memory.
 *
 * The rules, beyond RFC 4180:
 *  - Records end with CRLF, LF or a lone CR; the last record may lack one.
 *  - A UTF-8 byte order mark (EF BB BF) at the very start of the file is
 *    skipped: spreadsheet programs write one when saving "CSV UTF-8". U+FEFF
 *    anywhere else is an error.
 *  - Empty lines at the end of the file are ignored. An empty line followed by
 *    another record is an error ("line N: empty record"): in RFC 4180 it would
 *    be a record of one empty field, which in an inventory is always a mistake.
 *  - A quote inside an unquoted field, text after a closing quote, a quoted
 *    field still open at the end of the file, a NUL byte and invalid UTF-8
 *    (overlong forms, surrogates, code points above U+10FFFF, truncated or
 *    stray bytes) are errors whose message names the line and the field.
 *  - Errors are final: after csv_next() fails, it returns the same error again.
 *
 * Messages name lines ("line 3: record longer than 1048576 bytes") but not the
 * file; callers add it with cd_err_prefix(err, "%s: ", path).
 */
#ifndef CD_UTIL_CSV_H
#define CD_UTIL_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CSV_DEFAULT_MAX_RECORD_BYTES ((size_t)1 << 20)	/* 1 MiB */
#define CSV_DEFAULT_MAX_FIELD_BYTES  ((size_t)64 << 10) /* 64 KiB */
#define CSV_DEFAULT_MAX_FIELDS	     ((size_t)64)
#define CSV_DEFAULT_READ_CHUNK	     ((size_t)64 << 10)

/* Every member 0 means its default; a NULL limits pointer means all defaults. */
struct csv_limits {
	size_t max_record_bytes; /* raw bytes of one record (quotes included, line end not) */
	size_t max_field_bytes;	 /* bytes of one field's value (after unquoting) */
	size_t max_fields;	 /* fields in one record */
	size_t read_chunk;	 /* bytes asked of each read(2); tests use tiny ones */
};

struct csv_field {
	const char *s; /* the value, NUL-terminated (the input cannot hold NUL) */
	size_t len;
};

/* One record; everything in it stays valid until the next csv_next() or csv_close(). */
struct csv_record {
	const struct csv_field *fields;
	size_t nfields;
	unsigned long line; /* 1-based line on which the record starts */
};

typedef struct csv_reader csv_reader_t;

/*
 * Open a reader. csv_open_fd() reads fd from its current offset and does not
 * close it; csv_open_path() opens (and csv_close() closes) the file;
 * csv_open_mem() reads buf[0..len), which must outlive the reader.
 * They return NULL with err set (CD_ENOTFOUND, CD_EIO, CD_ENOMEM).
 * The caller frees the reader with csv_close() (NULL is fine).
 */
csv_reader_t *csv_open_fd(int fd, const struct csv_limits *limits, struct cd_err *err);
csv_reader_t *csv_open_path(const char *path, const struct csv_limits *limits, struct cd_err *err);
csv_reader_t *csv_open_mem(const void *buf, size_t len, const struct csv_limits *limits,
			   struct cd_err *err);
void csv_close(csv_reader_t *r);

/*
 * Reads the next record into rec. Returns 1 when a record was read, 0 at the
 * end of the input, or a negative code: -CD_EINVAL (malformed input),
 * -CD_ELIMIT (a limit exceeded), -CD_EIO (read failed), -CD_ENOMEM.
 */
int csv_next(csv_reader_t *r, struct csv_record *rec, struct cd_err *err);

/* Bytes the reader has allocated (chunk, record and field buffers); for tests. */
size_t csv_memory_bytes(const csv_reader_t *r);

/*
 * Maps a header record's column names to indexes. required and optional are
 * NULL-terminated lists (optional may be NULL); idx_out has one slot per
 * name, required names first, and receives the 0-based column of each name,
 * or -1 for an optional column that is absent. Names match exactly (case and
 * spaces count). An empty, unknown or repeated column name, or a missing
 * required one, is -CD_EINVAL with a message naming the column.
 */
int csv_header_map(const struct csv_record *hdr, const char *const *required,
		   const char *const *optional, int *idx_out, struct cd_err *err);

/* -CD_EINVAL unless rec has exactly `want` fields ("line 7: 3 fields, the header has 4"). */
int csv_check_width(const struct csv_record *rec, size_t want, struct cd_err *err);

/*
 * Checks that s[0..len) is UTF-8 without NUL, overlong forms, surrogates,
 * code points above U+10FFFF, truncated sequences, or U+FEFF. Returns NULL
 * when it is, else a short reason ("overlong encoding") with *bad_at set to
 * the offset of the first byte of the offending sequence. Shared with the
 * JSON Lines reader.
 */
const char *csv_utf8_check(const char *s, size_t len, size_t *bad_at);

#endif
