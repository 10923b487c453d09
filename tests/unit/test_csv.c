/*
 * test_csv.c - the CSV reader against tables of named inputs, read through
 * several chunk sizes so that every rule is also checked across read(2) edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/csv.h"

/* A literal with its length, so that inputs may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

struct read_case {
	const char *name;
	const char *in;
	size_t len;
	struct csv_limits lim;
	const char *want; /* records as "1:[a][b] 2:[c]"; CR and LF shown as \r and \n */
	int rc;		  /* 0, or the error the last call returns */
	const char *msg;  /* a part of the error message */
};

static const struct read_case read_cases[] = {
	/* the plain shapes */
	{ "simple", S("a,b,c\n1,2,3\n"), { 0 }, "1:[a][b][c] 2:[1][2][3]", 0, NULL },
	{ "no final line end", S("a,b\n1,2"), { 0 }, "1:[a][b] 2:[1][2]", 0, NULL },
	{ "single field, no line end", S("x"), { 0 }, "1:[x]", 0, NULL },
	{ "empty fields", S(",,\n"), { 0 }, "1:[][][]", 0, NULL },
	{ "trailing comma", S("a,\n"), { 0 }, "1:[a][]", 0, NULL },
	{ "spaces kept", S(" a , b \n"), { 0 }, "1:[ a ][ b ]", 0, NULL },
	{ "empty file", S(""), { 0 }, "", 0, NULL },
	{ "only a line end", S("\n"), { 0 }, "", 0, NULL },
	{ "varying widths", S("a\nb,c\n"), { 0 }, "1:[a] 2:[b][c]", 0, NULL },
	{ "japanese text",
	  S("会員,表示名\nm1,山田 太郎\n"),
	  { 0 },
	  "1:[会員][表示名] 2:[m1][山田 太郎]",
	  0,
	  NULL },
	{ "four-byte and U+10FFFF",
	  S("\xF0\x9F\x98\x80,\xF4\x8F\xBF\xBF\n"),
	  { 0 },
	  "1:[\xF0\x9F\x98\x80][\xF4\x8F\xBF\xBF]",
	  0,
	  NULL },

	/* quoting */
	{ "quoted comma", S("\"a,b\",c\n"), { 0 }, "1:[a,b][c]", 0, NULL },
	{ "quoted newline", S("\"a\nb\",c\nd,e\n"), { 0 }, "1:[a\\nb][c] 3:[d][e]", 0, NULL },
	{ "quoted CRLF kept", S("\"a\r\nb\"\r\nx\r\n"), { 0 }, "1:[a\\r\\nb] 3:[x]", 0, NULL },
	{ "doubled quotes", S("\"say \"\"hi\"\"\",x\n"), { 0 }, "1:[say \"hi\"][x]", 0, NULL },
	{ "only a doubled quote", S("\"\"\"\"\n"), { 0 }, "1:[\"]", 0, NULL },
	{ "empty quoted fields", S("\"\",\"\"\n"), { 0 }, "1:[][]", 0, NULL },
	{ "quoted last field, no line end", S("a,\"b\""), { 0 }, "1:[a][b]", 0, NULL },
	{ "line numbers after quoted newlines",
	  S("h\n\"x\ny\nz\"\nlast\n"),
	  { 0 },
	  "1:[h] 2:[x\\ny\\nz] 5:[last]",
	  0,
	  NULL },
	{ "line numbers after quoted CRLFs",
	  S("h\r\n\"x\r\ny\"\r\nlast\r\n"),
	  { 0 },
	  "1:[h] 2:[x\\r\\ny] 4:[last]",
	  0,
	  NULL },

	/* line ends */
	{ "CRLF", S("a,b\r\nc,d\r\n"), { 0 }, "1:[a][b] 2:[c][d]", 0, NULL },
	{ "LF", S("a,b\nc,d\n"), { 0 }, "1:[a][b] 2:[c][d]", 0, NULL },
	{ "lone CR", S("a,b\rc,d\r"), { 0 }, "1:[a][b] 2:[c][d]", 0, NULL },
	{ "mixed line ends", S("a\r\nb\nc\rd"), { 0 }, "1:[a] 2:[b] 3:[c] 4:[d]", 0, NULL },
	{ "CR after a closing quote", S("\"a\"\r\"b\"\r\n"), { 0 }, "1:[a] 2:[b]", 0, NULL },

	/* empty lines */
	{ "empty lines at the end", S("a\n\n\r\n\r"), { 0 }, "1:[a]", 0, NULL },
	{ "empty line in the middle",
	  S("a\n\nb\n"),
	  { 0 },
	  "1:[a]",
	  -CD_EINVAL,
	  "line 2: empty record" },
	{ "empty CRLF line in the middle",
	  S("a\r\n\r\nb\r\n"),
	  { 0 },
	  "1:[a]",
	  -CD_EINVAL,
	  "line 2: empty record" },
	{ "empty first line", S("\na\n"), { 0 }, "", -CD_EINVAL, "line 1: empty record" },

	/* the byte order mark */
	{ "BOM at the start",
	  S("\xEF\xBB\xBF"
	    "a,b\n"),
	  { 0 },
	  "1:[a][b]",
	  0,
	  NULL },
	{ "BOM and a quoted field", S("\xEF\xBB\xBF\"a\"\n"), { 0 }, "1:[a]", 0, NULL },
	{ "BOM alone", S("\xEF\xBB\xBF"), { 0 }, "", 0, NULL },
	{ "second BOM",
	  S("\xEF\xBB\xBF\xEF\xBB\xBF"
	    "a\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (byte order mark" },
	{ "BOM on line 2",
	  S("a,b\n\xEF\xBB\xBF"
	    "c,d\n"),
	  { 0 },
	  "1:[a][b]",
	  -CD_EINVAL,
	  "line 2, field 1: invalid UTF-8 (byte order mark" },
	{ "BOM inside a field",
	  S("a,x\xEF\xBB\xBFy\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 2: invalid UTF-8 (byte order mark" },
	{ "broken BOM",
	  S("\xEF\xBB"
	    "a\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (truncated sequence" },

	/* quotes in the wrong place */
	{ "unbalanced quote",
	  S("a,b\n1,\"open\n2,3\n"),
	  { 0 },
	  "1:[a][b]",
	  -CD_EINVAL,
	  "line 4: unbalanced quotes: the quoted field 2 that starts at line 2, column 3 is "
	  "still open at the end of the file" },
	{ "unbalanced quote, no line end",
	  S("\"abc"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1: unbalanced quotes: the quoted field 1 that starts at line 1, column 1" },
	{ "stray quote",
	  S("a,b\"c\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 4, field 2: quote inside an unquoted field" },
	{ "quote after a space",
	  S("a, \"b\"\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 4, field 2: quote inside an unquoted field" },
	{ "stray quote after japanese",
	  S("x\n名前\"\n"),
	  { 0 },
	  "1:[x]",
	  -CD_EINVAL,
	  "line 2, column 3, field 1: quote inside an unquoted field" },
	{ "text after closing quote",
	  S("\"ab\"c,d\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 5, field 1: text after the closing quote of the field that starts at "
	  "line 1, column 1" },
	{ "space after closing quote",
	  S("x,\"ab\" \n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 7, field 2: text after the closing quote" },
	{ "text after a multi-line quoted field",
	  S("\"a\nb\"c\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 2, column 3, field 1: text after the closing quote of the field that starts at "
	  "line 1, column 1" },

	/* NUL */
	{ "NUL unquoted",
	  S("a,b\n1,\0\n"),
	  { 0 },
	  "1:[a][b]",
	  -CD_EINVAL,
	  "line 2, column 3: NUL byte" },
	{ "NUL quoted", S("\"a\nb\0\"\n"), { 0 }, "", -CD_EINVAL, "line 2, column 2: NUL byte" },
	{ "NUL first", S("\0"), { 0 }, "", -CD_EINVAL, "line 1, column 1: NUL byte" },

	/* invalid UTF-8 of each kind */
	{ "overlong 2 bytes",
	  S("a,\xC0\xAF\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 2: invalid UTF-8 (overlong encoding, byte 0xC0) at byte 1" },
	{ "overlong C1",
	  S("\xC1\xBF\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (overlong encoding" },
	{ "overlong 3 bytes",
	  S("a,b\nx,y\xE0\x80\xAF\n"),
	  { 0 },
	  "1:[a][b]",
	  -CD_EINVAL,
	  "line 2, field 2: invalid UTF-8 (overlong encoding, byte 0xE0) at byte 2" },
	{ "overlong 4 bytes",
	  S("\xF0\x80\x80\xAF\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (overlong encoding" },
	{ "surrogate",
	  S("a,\xED\xA0\x80\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 2: invalid UTF-8 (surrogate code point" },
	{ "low surrogate",
	  S("\xED\xBF\xBF\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (surrogate code point" },
	{ "above U+10FFFF",
	  S("\xF4\x90\x80\x80\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (code point above U+10FFFF" },
	{ "lead byte F5",
	  S("\xF5\x80\x80\x80\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (code point above U+10FFFF" },
	{ "byte FF",
	  S("ok,\xFF\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 2: invalid UTF-8 (byte that never occurs in UTF-8, byte 0xFF)" },
	{ "truncated at a comma",
	  S("\xE3\x81,x\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (truncated sequence" },
	{ "truncated at the end",
	  S("x,\xE3\x81"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 2: invalid UTF-8 (truncated sequence" },
	{ "truncated by a quote",
	  S("\"\xE3\"\"\x81\"\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (truncated sequence" },
	{ "stray continuation byte",
	  S("a\x80\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, field 1: invalid UTF-8 (unexpected continuation byte, byte 0x80) at byte 2" },
	{ "invalid UTF-8 on the 3rd line of a field",
	  S("h\n\"a\nb\nc\xC0\xAF\"\n"),
	  { 0 },
	  "1:[h]",
	  -CD_EINVAL,
	  "line 4, field 1: invalid UTF-8 (overlong encoding" },

	/* limits */
	{ "fields at the limit", S("a,b,c\n"), { .max_fields = 3 }, "1:[a][b][c]", 0, NULL },
	{ "too many fields",
	  S("a,b,c\nd,e,f,g\n"),
	  { .max_fields = 3 },
	  "1:[a][b][c]",
	  -CD_ELIMIT,
	  "line 2: more than 3 fields in the record" },
	{ "too many empty fields",
	  S(",,,\n"),
	  { .max_fields = 3 },
	  "",
	  -CD_ELIMIT,
	  "line 1: more than 3 fields" },
	{ "field at the limit",
	  S("abcd,\"ab\"\"c\"\n"),
	  { .max_field_bytes = 4 },
	  "1:[abcd][ab\"c]",
	  0,
	  NULL },
	{ "field too long",
	  S("x\nabcde\n"),
	  { .max_field_bytes = 4 },
	  "1:[x]",
	  -CD_ELIMIT,
	  "line 2, field 1: field longer than 4 bytes" },
	{ "quoted field too long",
	  S("a,\"b\nbcde\"\n"),
	  { .max_field_bytes = 4 },
	  "",
	  -CD_ELIMIT,
	  "line 1, field 2: field longer than 4 bytes" },
	{ "record at the limit",
	  S("123,5678\n1\n"),
	  { .max_record_bytes = 8 },
	  "1:[123][5678] 2:[1]",
	  0,
	  NULL },
	{ "record at the limit, CRLF",
	  S("123,5678\r\n"),
	  { .max_record_bytes = 8 },
	  "1:[123][5678]",
	  0,
	  NULL },
	{ "record too long",
	  S("x\n1234,6789\n"),
	  { .max_record_bytes = 8 },
	  "1:[x]",
	  -CD_ELIMIT,
	  "line 2: record longer than 8 bytes" },
	{ "record too long, quotes count",
	  S("\"1234567\"\n"),
	  { .max_record_bytes = 8 },
	  "",
	  -CD_ELIMIT,
	  "line 1: record longer than 8 bytes" },
	{ "runaway quote hits the limit",
	  S("a,\"b\nc\nd\ne\nf\n"),
	  { .max_record_bytes = 8 },
	  "",
	  -CD_ELIMIT,
	  "line 1: record longer than 8 bytes (inside the quoted field 2 that starts at line 1, "
	  "column 3; is its closing quote missing?)" },
};

/* Appends the records of r to out as "1:[a][b] 2:[c]"; returns the last csv_next() code. */
static int read_all(csv_reader_t *r, char *out, size_t size, struct cd_err *err, const char *name)
{
	struct csv_record rec;
	size_t used = 0;
	int rc;

	out[0] = '\0';
	while ((rc = csv_next(r, &rec, err)) == 1) {
		used +=
		    (size_t)snprintf(out + used, size - used, "%s%lu:", used ? " " : "", rec.line);
		for (size_t i = 0; i < rec.nfields; i++) {
			const struct csv_field *f = &rec.fields[i];

			if (f->s[f->len] != '\0' || strlen(f->s) != f->len)
				fail_msg("case '%s': field %zu is not NUL-terminated at its length",
					 name, i + 1);
			used += (size_t)snprintf(out + used, size - used, "[");
			for (size_t k = 0; k < f->len; k++)
				used +=
				    (size_t)snprintf(out + used, size - used, "%s",
						     f->s[k] == '\n'   ? "\\n"
						     : f->s[k] == '\r' ? "\\r"
								       : (char[]){ f->s[k], 0 });
			used += (size_t)snprintf(out + used, size - used, "]");
		}
		assert_true(used < size);
	}
	return rc;
}

static int check_read_case(const struct read_case *c, size_t chunk)
{
	struct csv_limits lim = c->lim;
	struct cd_err err = { 0 }, again = { 0 };
	struct csv_record rec;
	char got[1024];
	csv_reader_t *r;
	int rc, bad = 0;

	lim.read_chunk = chunk;
	r = csv_open_mem(c->in, c->len, &lim, &err);
	assert_non_null(r);
	rc = read_all(r, got, sizeof(got), &err, c->name);
	if (strcmp(got, c->want) != 0) {
		print_error("case '%s' (chunk %zu): records\n  got  %s\n  want %s\n", c->name,
			    chunk, got, c->want);
		bad = 1;
	}
	if (rc != c->rc) {
		print_error("case '%s' (chunk %zu): rc %d, want %d (%s)\n", c->name, chunk, rc,
			    c->rc, rc < 0 ? err.msg : "");
		bad = 1;
	} else if (c->msg && !strstr(err.msg, c->msg)) {
		print_error("case '%s' (chunk %zu): message\n  got  %s\n  want ...%s...\n", c->name,
			    chunk, err.msg, c->msg);
		bad = 1;
	}
	/* the end and errors are final */
	rc = csv_next(r, &rec, &again);
	if (rc != c->rc || (rc < 0 && strcmp(again.msg, err.msg) != 0)) {
		print_error("case '%s' (chunk %zu): second call gave %d (%s)\n", c->name, chunk, rc,
			    again.msg);
		bad = 1;
	}
	csv_close(r);
	return bad;
}

static void test_read_table(void **state)
{
	static const size_t chunks[] = { 0, 1, 4, 5, 7, 64 };
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++)
		for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++)
			bad += check_read_case(&read_cases[i], chunks[k]);
	assert_int_equal(bad, 0);
}

/* --- csv_utf8_check on its own --------------------------------------------------- */

struct utf8_case {
	const char *name;
	const char *in;
	size_t len;
	const char *why; /* NULL when valid */
	size_t at;
};

static const struct utf8_case utf8_cases[] = {
	{ "empty", S(""), NULL, 0 },
	{ "ascii", S("hello"), NULL, 0 },
	{ "2-byte é", S("caf\xC3\xA9"), NULL, 0 },
	{ "3-byte あ", S("\xE3\x81\x82"), NULL, 0 },
	{ "U+0800 smallest 3-byte", S("\xE0\xA0\x80"), NULL, 0 },
	{ "U+D7FF before surrogates", S("\xED\x9F\xBF"), NULL, 0 },
	{ "U+E000 after surrogates", S("\xEE\x80\x80"), NULL, 0 },
	{ "U+10000 smallest 4-byte", S("\xF0\x90\x80\x80"), NULL, 0 },
	{ "U+10FFFF", S("\xF4\x8F\xBF\xBF"), NULL, 0 },
	{ "NUL", S("a\0b"), "NUL byte", 1 },
	{ "overlong C0 80", S("ab\xC0\x80"), "overlong encoding", 2 },
	{ "overlong E0 9F BF", S("\xE0\x9F\xBF"), "overlong encoding", 0 },
	{ "overlong F0 8F BF BF", S("x\xF0\x8F\xBF\xBF"), "overlong encoding", 1 },
	{ "surrogate D800", S("\xED\xA0\x80"), "surrogate code point", 0 },
	{ "surrogate DFFF", S("\xED\xBF\xBF"), "surrogate code point", 0 },
	{ "U+110000", S("\xF4\x90\x80\x80"), "code point above U+10FFFF", 0 },
	{ "lead F7", S("\xF7\xBF\xBF\xBF"), "code point above U+10FFFF", 0 },
	{ "lead F8", S("\xF8\x88\x80\x80\x80"), "byte that never occurs in UTF-8", 0 },
	{ "truncated 2 of 3", S("ok\xE3\x81"), "truncated sequence", 2 },
	{ "truncated 1 of 4", S("\xF0"), "truncated sequence", 0 },
	{ "lead then ascii", S("\xC3("), "truncated sequence", 0 },
	{ "lone continuation", S("\xBF"), "unexpected continuation byte", 0 },
	{ "U+FEFF", S("a\xEF\xBB\xBF"), "byte order mark (U+FEFF) after the start of the file", 1 },
};

static void test_utf8_table(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		size_t at = 999;
		const char *why = csv_utf8_check(c->in, c->len, &at);

		if ((why == NULL) != (c->why == NULL) || (why && strcmp(why, c->why) != 0) ||
		    (why && at != c->at)) {
			print_error("case '%s': got %s at %zu, want %s at %zu\n", c->name,
				    why ? why : "valid", at, c->why ? c->why : "valid", c->at);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* --- the header --------------------------------------------------------------------- */

static const char *const member_required[] = { "member_id", "email", "display_name", "locale",
					       NULL };
static const char *const member_optional[] = { "password", "password_hash", NULL };

struct header_case {
	const char *name;
	const char *header;
	int idx[6];	 /* member_id, email, display_name, locale, password, password_hash */
	const char *msg; /* NULL when the header is good */
};

static const struct header_case header_cases[] = {
	{ "in order", "member_id,email,display_name,locale", { 0, 1, 2, 3, -1, -1 }, NULL },
	{ "reordered with optional",
	  "locale,password_hash,email,member_id,display_name",
	  { 3, 2, 4, 0, -1, 1 },
	  NULL },
	{ "all columns",
	  "member_id,email,display_name,locale,password,password_hash",
	  { 0, 1, 2, 3, 4, 5 },
	  NULL },
	{ "unknown column",
	  "member_id,email,emial,display_name,locale",
	  { 0 },
	  "line 1, field 3: unknown column 'emial' (known columns: member_id, email, "
	  "display_name, locale, password, password_hash)" },
	{ "case counts",
	  "member_id,Email,display_name,locale",
	  { 0 },
	  "line 1, field 2: unknown column 'Email'" },
	{ "spaces count",
	  "member_id, email,display_name,locale",
	  { 0 },
	  "line 1, field 2: unknown column ' email'" },
	{ "duplicate column",
	  "member_id,email,display_name,email,locale",
	  { 0 },
	  "line 1: column 'email' appears twice (fields 2 and 4)" },
	{ "duplicate optional column",
	  "member_id,email,display_name,locale,password,password",
	  { 0 },
	  "line 1: column 'password' appears twice (fields 5 and 6)" },
	{ "missing one",
	  "member_id,email,display_name",
	  { 0 },
	  "line 1: missing required column 'locale'" },
	{ "missing two",
	  "email,display_name",
	  { 0 },
	  "line 1: missing required columns 'member_id', 'locale'" },
	{ "empty column name",
	  "member_id,,email,display_name,locale",
	  { 0 },
	  "line 1, field 2: empty column name" },
};

static void test_header_table(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *c = &header_cases[i];
		struct cd_err err = { 0 };
		struct csv_record rec;
		int idx[6], rc;
		csv_reader_t *r = csv_open_mem(c->header, strlen(c->header), NULL, &err);

		assert_non_null(r);
		assert_int_equal(csv_next(r, &rec, &err), 1);
		rc = csv_header_map(&rec, member_required, member_optional, idx, &err);
		if (c->msg) {
			if (rc != -CD_EINVAL || !strstr(err.msg, c->msg)) {
				print_error("case '%s': rc %d '%s', want -CD_EINVAL '%s'\n",
					    c->name, rc, err.msg, c->msg);
				bad++;
			}
		} else if (rc != 0 || memcmp(idx, c->idx, sizeof(idx)) != 0) {
			print_error("case '%s': rc %d (%s), idx %d %d %d %d %d %d\n", c->name, rc,
				    rc ? err.msg : "", idx[0], idx[1], idx[2], idx[3], idx[4],
				    idx[5]);
			bad++;
		}
		csv_close(r);
	}
	assert_int_equal(bad, 0);
}

static void test_header_without_optional(void **state)
{
	static const char *const req[] = { "fqdn", "common_name", "created_at", NULL };
	struct cd_err err = { 0 };
	struct csv_record rec;
	int idx[3];
	csv_reader_t *r = csv_open_mem(S("created_at,fqdn,common_name\n"), NULL, &err);

	(void)state;
	assert_non_null(r);
	assert_int_equal(csv_next(r, &rec, &err), 1);
	assert_int_equal(csv_header_map(&rec, req, NULL, idx, &err), 0);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 0);
	csv_close(r);
}

static void test_check_width(void **state)
{
	struct cd_err err = { 0 };
	struct csv_record rec;
	csv_reader_t *r = csv_open_mem(S("a,b,c,d\n1,2,3\n"), NULL, &err);

	(void)state;
	assert_non_null(r);
	assert_int_equal(csv_next(r, &rec, &err), 1);
	assert_int_equal(csv_check_width(&rec, 4, &err), 0);
	assert_int_equal(csv_next(r, &rec, &err), 1);
	assert_int_equal(csv_check_width(&rec, 4, &err), -CD_EINVAL);
	assert_string_equal(err.msg, "line 2: 3 fields, the header has 4");
	csv_close(r);
}

/* --- files and descriptors ------------------------------------------------------------ */

/* Writes `size` bytes to a new temporary file: head, then `fill` repeated, then tail. */
static int temp_file(char *path, const char *head, char fill, size_t size, const char *tail)
{
	static char block[1 << 16];
	size_t left = size - strlen(head) - strlen(tail);
	int fd;

	strcpy(path, "/tmp/certdesk-test-csv-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(block, fill, sizeof(block));
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	while (left > 0) {
		size_t n = left < sizeof(block) ? left : sizeof(block);

		assert_int_equal(write(fd, block, n), (ssize_t)n);
		left -= n;
	}
	assert_int_equal(write(fd, tail, strlen(tail)), (ssize_t)strlen(tail));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

struct big_case {
	const char *name;
	const char *head, *tail;
	char fill;
	const char *msg;
};

/* 50 MB lines: refused with -CD_ELIMIT after reading about one limit's worth. */
static const struct big_case big_cases[] = {
	{ "50 MB unquoted line", "a,b\n1,", ",3\n", 'x',
	  "line 2, field 2: field longer than 65536 bytes" },
	{ "50 MB line of short fields", "a,b\n", "\n", ',', "line 2: more than 64 fields" },
	{ "50 MB quoted field", "a,b\n1,\"", "\"\n", 'y',
	  "line 2, field 2: field longer than 65536 bytes" },
};

static void test_big_lines(void **state)
{
	const size_t size = (size_t)50 << 20;
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(big_cases) / sizeof(big_cases[0]); i++) {
		const struct big_case *c = &big_cases[i];
		struct cd_err err = { 0 };
		struct csv_record rec;
		struct timespec t0;
		char path[64];
		int fd = temp_file(path, c->head, c->fill, size, c->tail), rc;
		csv_reader_t *r = csv_open_fd(fd, NULL, &err);
		off_t read_to;

		assert_non_null(r);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(csv_next(r, &rec, &err), 1);
		rc = csv_next(r, &rec, &err);
		read_to = lseek(fd, 0, SEEK_CUR);
		if (rc != -CD_ELIMIT || !strstr(err.msg, c->msg)) {
			print_error("case '%s': rc %d '%s', want -CD_ELIMIT '%s'\n", c->name, rc,
				    err.msg, c->msg);
			bad++;
		}
		if (csv_memory_bytes(r) > ((size_t)3 << 20) / 2 || read_to > (off_t)(2 << 20) ||
		    seconds_since(&t0) > 5) {
			print_error("case '%s': %zu bytes held, %lld bytes read, %.2f s\n", c->name,
				    csv_memory_bytes(r), (long long)read_to, seconds_since(&t0));
			bad++;
		}
		csv_close(r);
		close(fd);
		unlink(path);
	}
	assert_int_equal(bad, 0);
}

/* The record limit itself, with a field limit above it: memory stays near 1 MiB. */
static void test_record_limit_from_file(void **state)
{
	struct csv_limits lim = { .max_field_bytes = (size_t)8 << 20 };
	struct cd_err err = { 0 };
	struct csv_record rec;
	char path[64];
	int fd = temp_file(path, "h\n", 'z', (size_t)50 << 20, "\n");
	csv_reader_t *r = csv_open_fd(fd, &lim, &err);

	(void)state;
	assert_non_null(r);
	assert_int_equal(csv_next(r, &rec, &err), 1);
	assert_int_equal(csv_next(r, &rec, &err), -CD_ELIMIT);
	assert_string_equal(err.msg, "line 2: record longer than 1048576 bytes");
	assert_true(csv_memory_bytes(r) <= ((size_t)1 << 20) + 64 + 1 + (64 << 10) + 8192);
	assert_true(lseek(fd, 0, SEEK_CUR) <= (off_t)((1 << 20) + (64 << 10) + 2));
	csv_close(r);
	close(fd);
	unlink(path);
}

static void test_open_path(void **state)
{
	struct cd_err err = { 0 };
	struct csv_record rec;
	char path[64];
	int fd = temp_file(path, "\xEF\xBB\xBFmember_id,email\r\n", 'q', 30, "\r\n"), n = 0;
	csv_reader_t *r;

	(void)state;
	close(fd);
	r = csv_open_path(path, NULL, &err);
	assert_non_null(r);
	assert_int_equal(csv_next(r, &rec, &err), 1);
	assert_int_equal(rec.nfields, 2);
	assert_string_equal(rec.fields[0].s, "member_id"); /* the byte order mark is gone */
	while (csv_next(r, &rec, &err) == 1)
		n++;
	assert_int_equal(n, 1);
	csv_close(r);
	unlink(path);

	assert_null(csv_open_path("/nonexistent/certdesk/members.csv", NULL, &err));
	assert_int_equal(err.code, CD_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/certdesk/members.csv"));
	csv_close(NULL);
}

/* A pipe delivers the input in pieces of whatever size the writer chose. */
static void *write_slowly(void *arg)
{
	int fd = *(int *)arg;
	const char *text = "id,name\n1,\"a\nb\"\n2,\xE5\xB1\xB1\n";

	for (const char *p = text; *p; p++) {
		if (write(fd, p, 1) != 1)
			break;
		if ((p - text) % 5 == 0)
			usleep(1000);
	}
	close(fd);
	return NULL;
}

static void test_pipe(void **state)
{
	struct cd_err err = { 0 };
	struct csv_record rec;
	pthread_t writer;
	int fds[2], rc;
	csv_reader_t *r;
	char got[256];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pthread_create(&writer, NULL, write_slowly, &fds[1]), 0);
	r = csv_open_fd(fds[0], NULL, &err);
	assert_non_null(r);
	rc = read_all(r, got, sizeof(got), &err, "pipe");
	assert_int_equal(rc, 0);
	assert_string_equal(got, "1:[id][name] 2:[1][a\\nb] 4:[2][\xE5\xB1\xB1]");
	(void)rec;
	csv_close(r);
	pthread_join(writer, NULL);
	close(fds[0]);
}

static void test_read_error(void **state)
{
	struct cd_err err = { 0 };
	struct csv_record rec;
	csv_reader_t *r = csv_open_fd(-1, NULL, &err);

	(void)state;
	assert_non_null(r);
	assert_int_equal(csv_next(r, &rec, &err), -CD_EIO);
	assert_non_null(strstr(err.msg, "line 1: read failed"));
	csv_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_table),
		cmocka_unit_test(test_utf8_table),
		cmocka_unit_test(test_header_table),
		cmocka_unit_test(test_header_without_optional),
		cmocka_unit_test(test_check_width),
		cmocka_unit_test(test_big_lines),
		cmocka_unit_test(test_record_limit_from_file),
		cmocka_unit_test(test_open_path),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
