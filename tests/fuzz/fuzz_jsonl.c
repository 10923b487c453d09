/*
 * fuzz_jsonl.c - libFuzzer target for the JSON Lines reader: reads every line
 * of the input twice, through tiny and default read chunks, checks that both
 * agree, and exercises the key and string helpers on each object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/csv.h"
#include "util/jsonl.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static const char *const required[] = { "fqdn", "member_id", NULL };
static const char *const optional[] = { "server", "state", NULL };

static void check_object(const struct jsonl_record *rec)
{
	const char *const keys[] = { "fqdn", "member_id", "server", "state", "" };
	size_t bad;

	CHECK(json_is_object(rec->obj));
	(void)jsonl_check_keys(rec, required, optional, NULL);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = "x";
		size_t len = 1;

		if (jsonl_get_string(rec, keys[i], i < 2, &s, &len, NULL) == 0 && s) {
			CHECK(strlen(s) == len);
			CHECK(csv_utf8_check(s, len, &bad) == NULL ||
			      /* an escaped U+FEFF is a valid string; only raw BOMs are refused */
			      strstr(csv_utf8_check(s, len, &bad), "U+FEFF"));
		} else {
			CHECK(s == NULL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonl_limits small = { 0 }, dflt = { 0 };
	struct cd_err e1, e2;
	jsonl_reader_t *a, *b;
	unsigned long prev = 0;

	if (size < 1)
		return 0;
	small.read_chunk = (size_t)(data[0] & 0x0F) + 1;
	small.max_line_bytes = (data[0] & 0x10) ? 32 : 8192;
	dflt = small;
	dflt.read_chunk = 0;
	data++;
	size--;

	a = jsonl_open_mem(data, size, &small, &e1);
	b = jsonl_open_mem(data, size, &dflt, &e2);
	CHECK(a && b);
	for (;;) {
		struct jsonl_record ra, rb;
		int rca = jsonl_next(a, &ra, &e1), rcb = jsonl_next(b, &rb, &e2);

		CHECK(rca == rcb);
		CHECK(rca == 1 || (ra.obj == NULL && rb.obj == NULL));
		if (rca < 0)
			CHECK(strcmp(e1.msg, e2.msg) == 0 && strncmp(e1.msg, "line ", 5) == 0);
		if (rca != 1)
			break;
		CHECK(ra.line == rb.line && ra.line > prev);
		CHECK(json_equal(ra.obj, rb.obj));
		check_object(&ra);
		prev = ra.line;
		json_decref(ra.obj);
		json_decref(rb.obj);
	}
	jsonl_close(a);
	jsonl_close(b);
	return 0;
}
