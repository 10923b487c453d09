/*
 * jsonl.h - a streaming JSON Lines reader for the provider's inventory files.
 *
 * One JSON object per line, with the same field names as the CSV columns.
 * Lines end with LF or CRLF. The reader reads the file in bounded chunks and
 * holds one line (at most limits.max_line_bytes) at a time.
 *
 * The rules:
 *  - Blank lines (nothing but spaces, tabs and CR) are skipped anywhere.
 *  - A UTF-8 byte order mark at the very start of the file is skipped, as in
 *    the CSV reader; U+FEFF anywhere else is an error.
 *  - Every other line must be one JSON object. Duplicate keys, NUL bytes, the
 *    escape \u0000, invalid UTF-8 and lines over the limit are errors whose
 *    message names the line (and the column, or jansson's text).
 *  - Errors are final: after jsonl_next() fails, it returns the same error again.
 *
 * Values are read with jsonl_get_string(): only strings and null are accepted,
 * never numbers or booleans, so that a value means the same text as its CSV
 * cell ("8080", not 8080 or 8080.0). Messages name lines but not the file;
 * callers add it with cd_err_prefix(err, "%s: ", path).
 */
#ifndef CD_UTIL_JSONL_H
#define CD_UTIL_JSONL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

#define JSONL_DEFAULT_MAX_LINE_BYTES ((size_t)1 << 20) /* 1 MiB */
#define JSONL_DEFAULT_READ_CHUNK     ((size_t)64 << 10)

/* Every member 0 means its default; a NULL limits pointer means all defaults. */
struct jsonl_limits {
	size_t max_line_bytes; /* bytes of one line, its line end not counted */
	size_t read_chunk;     /* bytes asked of each read(2); tests use tiny ones */
};

/* One line's object. obj is a new reference that the caller owns and frees
 * with json_decref(); the reader keeps none. */
struct jsonl_record {
	json_t *obj;
	unsigned long line; /* 1-based */
};

typedef struct jsonl_reader jsonl_reader_t;

/*
 * Open a reader. jsonl_open_fd() reads fd from its current offset and does
 * not close it; jsonl_open_path() opens (and jsonl_close() closes) the file;
 * jsonl_open_mem() reads buf[0..len), which must outlive the reader.
 * They return NULL with err set (CD_ENOTFOUND, CD_EIO, CD_ENOMEM).
 * The caller frees the reader with jsonl_close() (NULL is fine).
 */
jsonl_reader_t *jsonl_open_fd(int fd, const struct jsonl_limits *limits, struct cd_err *err);
jsonl_reader_t *jsonl_open_path(const char *path, const struct jsonl_limits *limits,
				struct cd_err *err);
jsonl_reader_t *jsonl_open_mem(const void *buf, size_t len, const struct jsonl_limits *limits,
			       struct cd_err *err);
void jsonl_close(jsonl_reader_t *r);

/*
 * Reads the next object into rec. Returns 1 when one was read (rec->obj is
 * then the caller's to json_decref()), 0 at the end of the input, or a
 * negative code: -CD_EINVAL (malformed line), -CD_ELIMIT (line too long),
 * -CD_EIO (read failed), -CD_ENOMEM. Unless it returns 1, rec->obj is NULL.
 */
int jsonl_next(jsonl_reader_t *r, struct jsonl_record *rec, struct cd_err *err);

/* Bytes the reader has allocated (chunk and line buffers); for tests. */
size_t jsonl_memory_bytes(const jsonl_reader_t *r);

/*
 * Checks the keys of rec's object like csv_header_map() checks a header:
 * required and optional are NULL-terminated lists (optional may be NULL); an
 * unknown key, or a missing required one, is -CD_EINVAL naming the key. A
 * required key whose value is null counts as missing.
 */
int jsonl_check_keys(const struct jsonl_record *rec, const char *const *required,
		     const char *const *optional, struct cd_err *err);

/*
 * The string value of key in rec's object: *out points into the object (valid
 * as long as it is) and is NUL-terminated with no NUL inside; *len (if not
 * NULL) gets its length. An absent key or null gives *out = NULL, which is an
 * error when `required`. Any other type is -CD_EINVAL ("line 4: 'http_port'
 * must be a string or null, not a number").
 */
int jsonl_get_string(const struct jsonl_record *rec, const char *key, bool required,
		     const char **out, size_t *len, struct cd_err *err);

#endif
