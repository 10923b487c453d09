/*
 * test_dnsmsg.c - the DNS answer reader on messages built byte by byte:
 * each record type, compression pointers, and every way a message can be
 * malformed (truncation, forward or looping pointers, bad CAA).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dcv/dnsmsg.h"

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}
static void put8(struct msg *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)v;
}
static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}
static void name(struct msg *m, const char *dotted)
{
	const char *p = dotted;

	while (*p) {
		size_t l = strcspn(p, ".");

		put8(m, (unsigned)l);
		put(m, p, l);
		p += l;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}
/* header with rcode, one question for qname/qtype, an answers */
static void head(struct msg *m, unsigned rcode, unsigned an, const char *qname, unsigned qtype)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | rcode);
	put16(m, 1);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
	name(m, qname);
	put16(m, qtype);
	put16(m, 1);
}
/* an answer owned by the question name (pointer to offset 12) */
static void rr_ptr(struct msg *m, unsigned type, const void *rd, size_t rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60);
	put16(m, (unsigned)rdlen);
	put(m, rd, rdlen);
}

static void test_a_and_aaaa(void **state)
{
	struct msg m;
	struct dns_answer a;
	struct cd_err err = { 0 };
	const uint8_t v4[4] = { 127, 0, 0, 2 };
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	head(&m, 0, 2, "Example.JP", DNS_T_A);
	rr_ptr(&m, DNS_T_A, v4, 4);
	rr_ptr(&m, DNS_T_AAAA, v6, 16);
	assert_int_equal(dns_answer_parse(m.b, m.n, &a, &err), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.rr[0].owner, "example.jp");
	assert_string_equal(a.rr[0].u.addr, "127.0.0.2");
	assert_string_equal(a.rr[1].u.addr, "2001:db8::1");
}

static void test_cname_compressed(void **state)
{
	struct msg m;
	struct dns_answer a;
	struct cd_err err = { 0 };
	uint8_t rd[64];
	size_t target_at;

	(void)state;
	head(&m, 0, 2, "www.example.jp", DNS_T_A);
	/* CNAME www.example.jp -> host.example.jp, written as "host" + pointer to "example.jp" */
	rd[0] = 4;
	memcpy(rd + 1, "host", 4);
	rd[5] = 0xc0;
	rd[6] = 12 + 4; /* "example.jp" inside the question name */
	rr_ptr(&m, DNS_T_CNAME, rd, 7);
	target_at = m.n - 7;
	{
		const uint8_t v4[4] = { 127, 0, 0, 3 };

		put16(&m, 0xc000 | (unsigned)target_at);
		put16(&m, DNS_T_A);
		put16(&m, 1);
		put16(&m, 0);
		put16(&m, 60);
		put16(&m, 4);
		put(&m, v4, 4);
	}
	assert_int_equal(dns_answer_parse(m.b, m.n, &a, &err), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.rr[0].type, DNS_T_CNAME);
	assert_string_equal(a.rr[0].u.target, "host.example.jp");
	assert_string_equal(a.rr[1].owner, "host.example.jp");
	assert_string_equal(a.rr[1].u.addr, "127.0.0.3");
}

static void test_caa(void **state)
{
	struct msg m;
	struct dns_answer a;
	struct cd_err err = { 0 };
	uint8_t rd[64];

	(void)state;
	head(&m, 0, 1, "example.jp", DNS_T_CAA);
	rd[0] = 128;
	rd[1] = 5;
	memcpy(rd + 2, "issue", 5);
	memcpy(rd + 7, "jprs.jp", 7);
	rr_ptr(&m, DNS_T_CAA, rd, 14);
	assert_int_equal(dns_answer_parse(m.b, m.n, &a, &err), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.rr[0].u.caa.flags, 128);
	assert_string_equal(a.rr[0].u.caa.tag, "issue");
	assert_string_equal(a.rr[0].u.caa.value, "jprs.jp");
}

static void test_other_types_skipped(void **state)
{
	struct msg m;
	struct dns_answer a;
	struct cd_err err = { 0 };

	(void)state;
	head(&m, 0, 1, "example.jp", 16);
	rr_ptr(&m, 16 /* TXT */,
	       "\x03"
	       "abc",
	       4);
	assert_int_equal(dns_answer_parse(m.b, m.n, &a, &err), 0);
	assert_int_equal(a.n, 0);
}

static void test_rcode(void **state)
{
	struct msg m;
	struct dns_answer a;
	struct cd_err err = { 0 };

	(void)state;
	head(&m, 2, 0, "example.jp", DNS_T_A);
	assert_int_equal(dns_answer_parse(m.b, m.n, &a, &err), 0);
	assert_int_equal(a.rcode, 2);
}

struct bad {
	const char *name;
	void (*build)(struct msg *m);
	const char *want;
};

static void b_short(struct msg *m)
{
	m->n = 0;
	put16(m, 1);
	put16(m, 0x8180);
}
static void b_trunc_question(struct msg *m)
{
	head(m, 0, 0, "example.jp", DNS_T_A);
	m->n -= 3;
}
static void b_forward_ptr(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_A);
	put16(m, 0xc000 | (unsigned)(m->n + 10));
	put16(m, DNS_T_A);
}
static void b_self_ptr(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_A);
	put16(m, 0xc000 | (unsigned)m->n);
	put16(m, DNS_T_A);
}
static void b_rdata_past_end(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_A);
	put16(m, 0xc00c);
	put16(m, DNS_T_A);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60);
	put16(m, 400);
	put8(m, 1);
}
static void b_a_wrong_len(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_A);
	rr_ptr(m, DNS_T_A, "\x7f\0\0", 3);
}
static void b_caa_taglen(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_CAA);
	rr_ptr(m, DNS_T_CAA, "\0\x09issue", 7);
}
static void b_caa_control(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_CAA);
	rr_ptr(m, DNS_T_CAA, "\0\x05issuea\nb", 10);
}
static void b_label_type(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_A);
	put8(m, 0x80);
}
static void b_too_many(struct msg *m)
{
	head(m, 0, DNSMSG_MAX_RR + 1, "example.jp", DNS_T_A);
	for (int i = 0; i < DNSMSG_MAX_RR + 1; i++)
		rr_ptr(m, DNS_T_A, "\x7f\0\0\1", 4);
}
static void b_long_name(struct msg *m)
{
	head(m, 0, 1, "example.jp", DNS_T_A);
	for (int i = 0; i < 5; i++) {
		put8(m, 63);
		for (int j = 0; j < 63; j++)
			put8(m, 'a');
	}
	put8(m, 0);
}

static struct bad bads[] = {
	{ "shorter than a header", b_short, "header" },
	{ "question truncated", b_trunc_question, "" },
	{ "pointer forwards", b_forward_ptr, "point back" },
	{ "pointer to itself", b_self_ptr, "point back" },
	{ "record data past the end", b_rdata_past_end, "truncated" },
	{ "A of 3 bytes", b_a_wrong_len, "A record" },
	{ "CAA tag length past the data", b_caa_taglen, "CAA tag" },
	{ "CAA value with a newline", b_caa_control, "control" },
	{ "label type 0x80", b_label_type, "label type" },
	{ "too many records", b_too_many, "more than" },
	{ "owner name over 255", b_long_name, "too long" },
};

static void test_bad(void **state)
{
	const struct bad *b = *state;
	static struct msg m;
	struct dns_answer a;
	struct cd_err err = { 0 };

	b->build(&m);
	if (dns_answer_parse(m.b, m.n, &a, &err) == 0)
		fail_msg("case '%s': accepted", b->name);
	if (!strstr(err.msg, b->want))
		fail_msg("case '%s': message '%s' lacks '%s'", b->name, err.msg, b->want);
}

int main(void)
{
	static struct CMUnitTest tests[5 + sizeof(bads) / sizeof(bads[0])];
	size_t n = 0;

	tests[n++] = (struct CMUnitTest){ "A and AAAA", test_a_and_aaaa, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "CNAME with compression", test_cname_compressed, NULL,
					  NULL, NULL };
	tests[n++] =
	    (struct CMUnitTest){ "CAA with the critical flag", test_caa, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "other types skipped", test_other_types_skipped, NULL,
					  NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "rcode kept", test_rcode, NULL, NULL, NULL };
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		tests[n++] = (struct CMUnitTest){ bads[i].name, test_bad, NULL, NULL, &bads[i] };
	return _cmocka_run_group_tests("dnsmsg", tests, n, NULL, NULL);
}
