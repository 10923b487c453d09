/*
 * test_jsonl.c - the JSON Lines reader against tables of named inputs, read
 * through several chunk sizes, and its key and string helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/jsonl.h"

/* A literal with its length, so that inputs may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

struct read_case {
	const char *name;
	const char *in;
	size_t len;
	struct jsonl_limits lim;
	const char *want; /* objects as "1:{"a":1} 3:{}", keys sorted */
	int rc;		  /* 0, or the error the last call returns */
	const char *msg;  /* a part of the error message */
};

static const struct read_case read_cases[] = {
	{ "simple",
	  S("{\"a\":\"1\"}\n{\"b\":null}\n"),
	  { 0 },
	  "1:{\"a\":\"1\"} 2:{\"b\":null}",
	  0,
	  NULL },
	{ "no final line end", S("{}\n{\"x\":[1,2]}"), { 0 }, "1:{} 2:{\"x\":[1,2]}", 0, NULL },
	{ "CRLF", S("{\"a\":1}\r\n{\"b\":2}\r\n"), { 0 }, "1:{\"a\":1} 2:{\"b\":2}", 0, NULL },
	{ "spaces around", S("  { \"a\" : 1 }  \t\n"), { 0 }, "1:{\"a\":1}", 0, NULL },
	{ "empty file", S(""), { 0 }, "", 0, NULL },
	{ "blank lines skipped",
	  S("\n{\"a\":1}\n\n  \n\t\r\n{\"b\":2}\n\n"),
	  { 0 },
	  "2:{\"a\":1} 6:{\"b\":2}",
	  0,
	  NULL },
	{ "japanese values",
	  S("{\"display_name\":\"山田 太郎\"}\n"),
	  { 0 },
	  "1:{\"display_name\":\"山田 太郎\"}",
	  0,
	  NULL },
	{ "escaped unicode",
	  S("{\"n\":\"\\u5c71\\ud83d\\ude00\"}\n"),
	  { 0 },
	  "1:{\"n\":\"山\xF0\x9F\x98\x80\"}",
	  0,
	  NULL },
	{ "BOM at the start", S("\xEF\xBB\xBF{\"a\":1}\n"), { 0 }, "1:{\"a\":1}", 0, NULL },
	{ "BOM alone", S("\xEF\xBB\xBF"), { 0 }, "", 0, NULL },
	{ "BOM on line 2",
	  S("{}\n\xEF\xBB\xBF{}\n"),
	  { 0 },
	  "1:{}",
	  -CD_EINVAL,
	  "line 2, column 1: invalid UTF-8 (byte order mark" },
	{ "BOM inside a string",
	  S("{\"a\":\"x\xEF\xBB\xBF\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 8: invalid UTF-8 (byte order mark" },

	/* not an object */
	{ "array",
	  S("{}\n[1,2]\n"),
	  { 0 },
	  "1:{}",
	  -CD_EINVAL,
	  "line 2: expected a JSON object, found an array" },
	{ "string",
	  S("\"members\"\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1: expected a JSON object, found a string" },
	{ "number",
	  S("42\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1: expected a JSON object, found a number" },
	{ "null",
	  S("null\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1: expected a JSON object, found null" },

	/* invalid JSON */
	{ "missing value",
	  S("{}\n{\"a\":}\n"),
	  { 0 },
	  "1:{}",
	  -CD_EINVAL,
	  "line 2, column 6: invalid JSON: unexpected token near '}'" },
	{ "unterminated object",
	  S("{\"a\":1\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 6: invalid JSON: '}' expected" },
	{ "two objects on a line",
	  S("{}{}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 3: invalid JSON: end of file expected" },
	{ "trailing garbage",
	  S("{\"a\":1} x\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 9: invalid JSON" },
	{ "object over two lines",
	  S("{\n\"a\":1}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 1: invalid JSON" },
	{ "duplicate key",
	  S("{\"a\":1,\"a\":2}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 10: invalid JSON: duplicate object key" },
	{ "escaped NUL",
	  S("{\"a\":\"x\\u0000y\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 15: invalid JSON: the escape \\u0000 (NUL) is not allowed" },
	{ "escaped NUL in a key",
	  S("{\"\\u0000\":1}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "the escape \\u0000 (NUL) is not allowed" },
	{ "lone surrogate escape",
	  S("{\"a\":\"\\ud800\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 13: invalid JSON: invalid Unicode '\\uD800'" },
	{ "raw NUL",
	  S("{}\n{\"a\":\"x\0\"}\n"),
	  { 0 },
	  "1:{}",
	  -CD_EINVAL,
	  "line 2, column 8: NUL byte" },

	/* invalid UTF-8 of each kind */
	{ "overlong",
	  S("{\"a\":\"\xC0\xAF\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 7: invalid UTF-8 (overlong encoding, byte 0xC0)" },
	{ "overlong 3 bytes",
	  S("{}\n{\"山\":\"\xE0\x80\xAF\"}\n"),
	  { 0 },
	  "1:{}",
	  -CD_EINVAL,
	  "line 2, column 7: invalid UTF-8 (overlong encoding, byte 0xE0)" },
	{ "surrogate",
	  S("{\"a\":\"\xED\xA0\x80\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 7: invalid UTF-8 (surrogate code point" },
	{ "above U+10FFFF",
	  S("{\"a\":\"\xF4\x90\x80\x80\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 7: invalid UTF-8 (code point above U+10FFFF" },
	{ "truncated",
	  S("{\"a\":\"\xE3\x81\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 7: invalid UTF-8 (truncated sequence" },
	{ "stray continuation",
	  S("{\"a\":\"\x80\"}\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 7: invalid UTF-8 (unexpected continuation byte" },
	{ "byte FE",
	  S("\xFE\n"),
	  { 0 },
	  "",
	  -CD_EINVAL,
	  "line 1, column 1: invalid UTF-8 (byte that never occurs in UTF-8" },

	/* limits */
	{ "line at the limit",
	  S("{\"a\":\"123456789\"}\n"),
	  { .max_line_bytes = 17 },
	  "1:{\"a\":\"123456789\"}",
	  0,
	  NULL },
	{ "line at the limit, CRLF",
	  S("{\"a\":\"123456789\"}\r\n{}"),
	  { .max_line_bytes = 17 },
	  "1:{\"a\":\"123456789\"} 2:{}",
	  0,
	  NULL },
	{ "line at the limit, no line end",
	  S("{\"a\":\"123456789\"}"),
	  { .max_line_bytes = 17 },
	  "1:{\"a\":\"123456789\"}",
	  0,
	  NULL },
	{ "line too long",
	  S("{}\n{\"a\":\"1234567890\"}\n"),
	  { .max_line_bytes = 17 },
	  "1:{}",
	  -CD_ELIMIT,
	  "line 2: line longer than 17 bytes" },
	{ "line too long, CR at the end",
	  S("{\"a\":\"1234567890\"}\r\n"),
	  { .max_line_bytes = 17 },
	  "",
	  -CD_ELIMIT,
	  "line 1: line longer than 17 bytes" },
	{ "line too long, no line end",
	  S("{\"a\":\"1234567890\"}"),
	  { .max_line_bytes = 17 },
	  "",
	  -CD_ELIMIT,
	  "line 1: line longer than 17 bytes" },
	{ "long blank line counts",
	  S("                    \n{}\n"),
	  { .max_line_bytes = 17 },
	  "",
	  -CD_ELIMIT,
	  "line 1: line longer than 17 bytes" },
};

static int read_all(jsonl_reader_t *r, char *out, size_t size, struct cd_err *err)
{
	struct jsonl_record rec;
	size_t used = 0;
	int rc;

	out[0] = '\0';
	while ((rc = jsonl_next(r, &rec, err)) == 1) {
		char *text = json_dumps(rec.obj, JSON_COMPACT | JSON_SORT_KEYS);

		assert_non_null(text);
		used += (size_t)snprintf(out + used, size - used, "%s%lu:%s", used ? " " : "",
					 rec.line, text);
		free(text);
		json_decref(rec.obj);
		assert_true(used < size);
	}
	return rc;
}

static int check_read_case(const struct read_case *c, size_t chunk)
{
	struct jsonl_limits lim = c->lim;
	struct cd_err err = { 0 }, again = { 0 };
	struct jsonl_record rec;
	char got[1024];
	jsonl_reader_t *r;
	int rc, bad = 0;

	lim.read_chunk = chunk;
	r = jsonl_open_mem(c->in, c->len, &lim, &err);
	assert_non_null(r);
	rc = read_all(r, got, sizeof(got), &err);
	if (strcmp(got, c->want) != 0) {
		print_error("case '%s' (chunk %zu): objects\n  got  %s\n  want %s\n", c->name,
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
	rec.obj = json_object(); /* a stale pointer: the reader overwrites it, never frees it */
	json_decref(rec.obj);
	rc = jsonl_next(r, &rec, &again);
	if (rc != c->rc || (rc < 0 && strcmp(again.msg, err.msg) != 0) || rec.obj != NULL) {
		print_error("case '%s' (chunk %zu): second call gave %d (%s)\n", c->name, chunk, rc,
			    again.msg);
		bad = 1;
	}
	jsonl_close(r);
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

/* --- keys and strings ---------------------------------------------------------------- */

static const char *const server_required[] = { "server", "ipv4", "ipv6", "state", NULL };
static const char *const server_optional[] = { "driver", "http_port", "https_port", NULL };

struct keys_case {
	const char *name;
	const char *line;
	const char *msg; /* NULL when the keys are good */
};

static const struct keys_case keys_cases[] = {
	{ "required only",
	  "{\"server\":\"web1\",\"ipv4\":\"192.0.2.1\",\"ipv6\":\"\",\"state\":\"ok\"}", NULL },
	{ "with optional",
	  "{\"state\":\"ok\",\"server\":\"w\",\"ipv4\":\"\",\"ipv6\":\"\",\"http_port\":\"80\"}",
	  NULL },
	{ "unknown key",
	  "{\"server\":\"w\",\"ipv4\":\"\",\"ipv6\":\"\",\"state\":\"ok\",\"drvier\":\"x\"}",
	  "line 1: unknown key 'drvier' (known keys: server, ipv4, ipv6, state, driver, http_port, "
	  "https_port)" },
	{ "missing one", "{\"server\":\"w\",\"ipv4\":\"\",\"state\":\"ok\"}",
	  "line 1: missing required key 'ipv6'" },
	{ "missing two", "{\"server\":\"w\",\"ipv6\":\"\"}",
	  "line 1: missing required keys 'ipv4', 'state'" },
	{ "required null", "{\"server\":null,\"ipv4\":\"\",\"ipv6\":\"\",\"state\":\"ok\"}",
	  "line 1: missing required key 'server'" },
	{ "empty object", "{}", "line 1: missing required keys 'server', 'ipv4', 'ipv6', 'state'" },
};

static void test_keys_table(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(keys_cases) / sizeof(keys_cases[0]); i++) {
		const struct keys_case *c = &keys_cases[i];
		struct cd_err err = { 0 };
		struct jsonl_record rec;
		jsonl_reader_t *r = jsonl_open_mem(c->line, strlen(c->line), NULL, &err);
		int rc;

		assert_non_null(r);
		assert_int_equal(jsonl_next(r, &rec, &err), 1);
		rc = jsonl_check_keys(&rec, server_required, server_optional, &err);
		if (c->msg ? (rc != -CD_EINVAL || !strstr(err.msg, c->msg)) : rc != 0) {
			print_error("case '%s': rc %d '%s', want '%s'\n", c->name, rc,
				    rc ? err.msg : "", c->msg ? c->msg : "ok");
			bad++;
		}
		json_decref(rec.obj);
		jsonl_close(r);
	}
	assert_int_equal(bad, 0);
}

struct string_case {
	const char *name;
	const char *key;
	bool required;
	const char *want; /* NULL for no value */
	size_t want_len;
	const char *msg; /* NULL when no error */
};

static const struct string_case string_cases[] = {
	{ "string", "email", true, "a@example.jp", 12, NULL },
	{ "empty string", "display_name", true, "", 0, NULL },
	{ "japanese", "jp", true, "山田", 6, NULL },
	{ "null, optional", "password", false, NULL, 0, NULL },
	{ "absent, optional", "password_hash", false, NULL, 0, NULL },
	{ "null, required", "password", true, NULL, 0, "line 3: 'password' is required" },
	{ "absent, required", "nothing", true, NULL, 0, "line 3: 'nothing' is required" },
	{ "integer", "http_port", false, NULL, 0,
	  "line 3: 'http_port' must be a string or null, not a number" },
	{ "real", "real", false, NULL, 0, "line 3: 'real' must be a string or null, not a number" },
	{ "boolean", "flag", false, NULL, 0,
	  "line 3: 'flag' must be a string or null, not a boolean" },
	{ "object", "obj", false, NULL, 0,
	  "line 3: 'obj' must be a string or null, not an object" },
	{ "array", "arr", true, NULL, 0, "line 3: 'arr' must be a string or null, not an array" },
};

static void test_string_table(void **state)
{
	static const char input[] =
	    "\n\n{\"email\":\"a@example.jp\",\"display_name\":\"\",\"jp\":\"山田\","
	    "\"password\":null,\"http_port\":8080,\"real\":1.5,\"flag\":true,\"obj\":{},"
	    "\"arr\":[]}\n";
	struct cd_err err = { 0 };
	struct jsonl_record rec;
	jsonl_reader_t *r = jsonl_open_mem(input, sizeof(input) - 1, NULL, &err);
	int bad = 0;

	(void)state;
	assert_non_null(r);
	assert_int_equal(jsonl_next(r, &rec, &err), 1);
	assert_int_equal(rec.line, 3);
	for (size_t i = 0; i < sizeof(string_cases) / sizeof(string_cases[0]); i++) {
		const struct string_case *c = &string_cases[i];
		const char *got = "unset";
		size_t len = 99;
		int rc = jsonl_get_string(&rec, c->key, c->required, &got, &len, &err);

		if (c->msg) {
			if (rc != -CD_EINVAL || !strstr(err.msg, c->msg) || got != NULL) {
				print_error("case '%s': rc %d '%s', want '%s'\n", c->name, rc,
					    err.msg, c->msg);
				bad++;
			}
		} else if (rc != 0 || (c->want == NULL) != (got == NULL) ||
			   (got && (strcmp(got, c->want) != 0 || len != c->want_len))) {
			print_error("case '%s': rc %d, got '%s' (%zu)\n", c->name, rc,
				    got ? got : "(null)", len);
			bad++;
		}
	}
	assert_int_equal(jsonl_get_string(&rec, "email", true, &(const char *){ NULL }, NULL, &err),
			 0);
	json_decref(rec.obj);
	jsonl_close(r);
	assert_int_equal(bad, 0);
}

/* Nesting deeper than jansson's parser allows is an error, not a crash. */
static void test_deep_nesting(void **state)
{
	const size_t depth = 200000;
	char *line = malloc(depth + 8);
	struct cd_err err = { 0 };
	struct jsonl_record rec;
	jsonl_reader_t *r;

	(void)state;
	assert_non_null(line);
	memcpy(line, "{\"a\":", 5);
	memset(line + 5, '[', depth);
	r = jsonl_open_mem(line, depth + 5, NULL, &err);
	assert_non_null(r);
	assert_int_equal(jsonl_next(r, &rec, &err), -CD_EINVAL);
	assert_non_null(strstr(err.msg, "line 1, column"));
	assert_non_null(strstr(err.msg, "depth"));
	jsonl_close(r);
	free(line);
}

/* --- files ------------------------------------------------------------------------------ */

/* A 50 MB line is refused with -CD_ELIMIT after reading about one limit's worth. */
static void test_big_line(void **state)
{
	static char block[1 << 16];
	const size_t size = (size_t)50 << 20;
	char path[] = "/tmp/certdesk-test-jsonl-XXXXXX";
	struct cd_err err = { 0 };
	struct jsonl_record rec;
	struct timespec t0, t1;
	jsonl_reader_t *r;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{}\n{\"a\":\"", 9), 9);
	memset(block, 'x', sizeof(block));
	for (size_t left = size; left > 0; left -= sizeof(block))
		assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	assert_int_equal(write(fd, "\"}\n", 3), 3);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = jsonl_open_fd(fd, NULL, &err);
	assert_non_null(r);
	assert_int_equal(jsonl_next(r, &rec, &err), 1);
	json_decref(rec.obj);
	assert_int_equal(jsonl_next(r, &rec, &err), -CD_ELIMIT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err.msg, "line 2: line longer than 1048576 bytes");
	assert_true(jsonl_memory_bytes(r) <= ((size_t)1 << 20) + 2 + (64 << 10) + 1024);
	assert_true(lseek(fd, 0, SEEK_CUR) <= (off_t)((1 << 20) + 2 * (64 << 10)));
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	jsonl_close(r);
	close(fd);
	unlink(path);
}

static void test_open_path(void **state)
{
	char path[] = "/tmp/certdesk-test-jsonl-XXXXXX";
	static const char text[] =
	    "\xEF\xBB\xBF{\"fqdn\":\"example.jp\"}\r\n\r\n{\"fqdn\":\"b.jp\"}\r\n";
	struct cd_err err = { 0 };
	struct jsonl_record rec;
	jsonl_reader_t *r;
	const char *fqdn;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	r = jsonl_open_path(path, NULL, &err);
	assert_non_null(r);
	assert_int_equal(jsonl_next(r, &rec, &err), 1);
	{
		json_t *first = rec.obj; /* ours: still valid after the next call */

		assert_int_equal(jsonl_next(r, &rec, &err), 1);
		assert_int_equal(rec.line, 3);
		assert_int_equal(jsonl_get_string(&rec, "fqdn", true, &fqdn, NULL, &err), 0);
		assert_string_equal(fqdn, "b.jp");
		assert_string_equal(json_string_value(json_object_get(first, "fqdn")),
				    "example.jp");
		json_decref(first);
		json_decref(rec.obj);
	}
	assert_int_equal(jsonl_next(r, &rec, &err), 0);
	jsonl_close(r);
	unlink(path);

	assert_null(jsonl_open_path("/nonexistent/certdesk/sites.jsonl", NULL, &err));
	assert_int_equal(err.code, CD_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/certdesk/sites.jsonl"));
	jsonl_close(NULL);
}

static void test_read_error(void **state)
{
	struct cd_err err = { 0 };
	struct jsonl_record rec;
	jsonl_reader_t *r = jsonl_open_fd(-1, NULL, &err);

	(void)state;
	assert_non_null(r);
	assert_int_equal(jsonl_next(r, &rec, &err), -CD_EIO);
	assert_non_null(strstr(err.msg, "line 1: read failed"));
	jsonl_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_table),   cmocka_unit_test(test_keys_table),
		cmocka_unit_test(test_string_table), cmocka_unit_test(test_big_line),
		cmocka_unit_test(test_open_path),    cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_deep_nesting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
