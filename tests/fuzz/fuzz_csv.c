/*
 * fuzz_csv.c - libFuzzer target for the CSV reader: reads every record of the
 * input twice, through tiny and default read chunks, and checks that both agree
 * and that every record keeps the reader's promises (limits, NUL, UTF-8).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/csv.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static const char *const required[] = { "member_id", "email", NULL };
static const char *const optional[] = { "display_name", "locale", "password", NULL };

static void check_record(const struct csv_record *rec, const struct csv_limits *lim,
			 unsigned long prev_line)
{
	size_t bad;
	int idx[5];

	CHECK(rec->nfields >= 1 && rec->nfields <= lim->max_fields);
	CHECK(rec->line > prev_line);
	for (size_t i = 0; i < rec->nfields; i++) {
		const struct csv_field *f = &rec->fields[i];

		CHECK(f->len <= lim->max_field_bytes);
		CHECK(f->s[f->len] == '\0' && strlen(f->s) == f->len);
		CHECK(csv_utf8_check(f->s, f->len, &bad) == NULL);
	}
	if (csv_header_map(rec, required, optional, idx, NULL) == 0)
		for (int k = 0; k < 5; k++)
			CHECK(idx[k] < (int)rec->nfields && (k >= 2 || idx[k] >= 0));
	(void)csv_check_width(rec, 3, NULL);
}

static bool same_record(const struct csv_record *a, const struct csv_record *b)
{
	if (a->nfields != b->nfields || a->line != b->line)
		return false;
	for (size_t i = 0; i < a->nfields; i++)
		if (a->fields[i].len != b->fields[i].len ||
		    memcmp(a->fields[i].s, b->fields[i].s, a->fields[i].len) != 0)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_limits small = { 0 }, dflt = { 0 };
	struct cd_err e1, e2;
	csv_reader_t *a, *b;
	unsigned long prev = 0;

	if (size < 1)
		return 0;
	/* the first byte picks the chunk size and limits, so both get explored */
	small.read_chunk = (size_t)(data[0] & 0x0F) + 1;
	small.max_fields = (data[0] & 0x10) ? 4 : 64;
	small.max_field_bytes = (data[0] & 0x20) ? 16 : 4096;
	small.max_record_bytes = (data[0] & 0x40) ? 48 : 8192;
	dflt = small;
	dflt.read_chunk = 0;
	data++;
	size--;

	a = csv_open_mem(data, size, &small, &e1);
	b = csv_open_mem(data, size, &dflt, &e2);
	CHECK(a && b);
	for (;;) {
		struct csv_record ra, rb;
		int rca = csv_next(a, &ra, &e1), rcb = csv_next(b, &rb, &e2);

		CHECK(rca == rcb);
		if (rca < 0)
			CHECK(strcmp(e1.msg, e2.msg) == 0 && strncmp(e1.msg, "line ", 5) == 0);
		if (rca != 1)
			break;
		CHECK(same_record(&ra, &rb));
		check_record(&ra, &small, prev);
		prev = ra.line;
	}
	csv_close(a);
	csv_close(b);
	return 0;
}
