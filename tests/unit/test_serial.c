/*
 * test_serial.c - serial numbers as CAs and operators write them (core/serial.h):
 * each table row is one named case; a failure prints the case's name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/serial.h"

struct norm_case {
	const char *name;
	const char *in;
	const char *want; /* NULL: an error is expected */
	enum cd_errcode code;
	const char *msg_has; /* a substring of the error message */
};

static const struct norm_case norm_cases[] = {
	{ "plain hex", "04d2", "4d2", CD_OK, NULL },
	{ "upper case", "04D2", "4d2", CD_OK, NULL },
	{ "0x prefix", "0x04D2", "4d2", CD_OK, NULL },
	{ "0X prefix", "0X4d2", "4d2", CD_OK, NULL },
	{ "colons as openssl -text prints", "00:00:04:d2", "4d2", CD_OK, NULL },
	{ "spaces as Windows prints", "04 d2", "4d2", CD_OK, NULL },
	{ "first octet one digit", "4:d2", "4d2", CD_OK, NULL },
	{ "surrounding blanks", "  \t04:d2\r\n", "4d2", CD_OK, NULL },
	{ "zero", "0", "0", CD_OK, NULL },
	{ "zero octets", "00:00", "0", CD_OK, NULL },
	{ "0x0", "0x0", "0", CD_OK, NULL },
	{ "long odd digits", "123", "123", CD_OK, NULL },
	{ "let's encrypt style", "03:A1:4F:0B:9C:55:6E:12:34:56:78:9A:BC:DE:F0:11:22:33",
	  "3a14f0b9c556e123456789abcdef0112233", CD_OK, NULL },
	{ "20 octets", "ffffffffffffffffffffffffffffffffffffffff",
	  "ffffffffffffffffffffffffffffffffffffffff", CD_OK, NULL },
	{ "20 octets after leading zero octet",
	  "00:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff",
	  "ffffffffffffffffffffffffffffffffffffffff", CD_OK, NULL },
	{ "21 octets", "010000000000000000000000000000000000000000", NULL, CD_ELIMIT, "20 octets" },
	{ "decimal", "dec:1234", "4d2", CD_OK, NULL },
	{ "decimal upper prefix", "DEC:0", "0", CD_OK, NULL },
	{ "decimal leading zeros", "dec:00042", "2a", CD_OK, NULL },
	{ "decimal 2^160-1", "dec:1461501637330902918203684832716283019655932542975",
	  "ffffffffffffffffffffffffffffffffffffffff", CD_OK, NULL },
	{ "decimal 2^160", "dec:1461501637330902918203684832716283019655932542976", NULL, CD_ELIMIT,
	  "20 octets" },
	{ "decimal with a letter", "dec:12a", NULL, CD_EINVAL, "position 7" },
	{ "decimal empty", "dec:", NULL, CD_EINVAL, "no digits" },
	{ "empty", "", NULL, CD_EINVAL, "empty" },
	{ "blanks only", "   ", NULL, CD_EINVAL, "empty" },
	{ "0x alone", "0x", NULL, CD_EINVAL, "no digits" },
	{ "trailing separator", "04:d2:", NULL, CD_EINVAL, "last octet" },
	{ "leading separator", ":04", NULL, CD_EINVAL, "position 1" },
	{ "double separator", "04::d2", NULL, CD_EINVAL, "position 4" },
	{ "mixed separators", "04:d2 33", NULL, CD_EINVAL, "mixes" },
	{ "not hex", "g1", NULL, CD_EINVAL, "position 1" },
	{ "dash separator", "04-d2", NULL, CD_EINVAL, "'-' at position 3" },
	{ "three-digit first group", "004:d2", NULL, CD_EINVAL, "two hex digits" },
	{ "three-digit last group", "04:d22", NULL, CD_EINVAL, "two hex digits" },
	{ "one-digit middle group", "04:d:22", NULL, CD_EINVAL, "two hex digits" },
	{ "openssl decimal form", "4660 (0x1234)", NULL, CD_EINVAL, "two hex digits" },
	{ "decimal without prefix hint", "12,34", NULL, CD_EINVAL, "dec:" },
	{ "control byte", "04\x01", NULL, CD_EINVAL, "byte 0x01" },
	{ "negative", "-04d2", NULL, CD_EINVAL, "position 1" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_normalize_case(void **state)
{
	const struct norm_case *c = *state;
	struct cd_err err = { 0 };
	char out[SERIAL_HEX_MAX + 1], again[SERIAL_HEX_MAX + 1];
	int rc = serial_normalize(c->in, out, sizeof(out), &err);

	if (c->want) {
		if (rc != 0)
			fail_msg("case '%s': rc %d (%s)", c->name, rc, err.msg);
		if (strcmp(out, c->want) != 0)
			fail_msg("case '%s': got '%s' want '%s'", c->name, out, c->want);
		/* The normal form is a fixed point. */
		rc = serial_normalize(out, again, sizeof(again), &err);
		if (rc != 0 || strcmp(again, c->want) != 0)
			fail_msg("case '%s': normal form is not stable", c->name);
		return;
	}
	if (rc != -(int)c->code)
		fail_msg("case '%s': rc %d want %d (%s)", c->name, rc, -(int)c->code, err.msg);
	if (c->msg_has && !strstr(err.msg, c->msg_has))
		fail_msg("case '%s': message '%s' lacks '%s'", c->name, err.msg, c->msg_has);
}

static void test_normalize_limits(void **state)
{
	char big[SERIAL_TEXT_MAX + 2], small[4];
	struct cd_err err = { 0 };

	(void)state;
	memset(big, '0', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(serial_normalize(big, small, sizeof(small), &err), -CD_ELIMIT);
	assert_non_null(strstr(err.msg, "longer than"));
	/* 256 zeros and a 1 would be fine if it fitted; the text limit comes first. */
	assert_int_equal(serial_normalize("4d2", small, sizeof(small), &err), 0);
	assert_string_equal(small, "4d2");
	assert_int_equal(serial_normalize("12345", small, sizeof(small), &err), -CD_ELIMIT);
	assert_int_equal(serial_normalize(NULL, small, sizeof(small), &err), -CD_EINVAL);
	assert_int_equal(serial_normalize("1", small, 0, NULL), -CD_EINVAL);
}

struct bytes_case {
	const char *name;
	unsigned char in[8];
	size_t len;
	const char *want;
};

static const struct bytes_case bytes_cases[] = {
	{ "no bytes", { 0 }, 0, "0" },
	{ "zero bytes", { 0, 0 }, 2, "0" },
	{ "sign octet before high bit", { 0x00, 0x80, 0x01 }, 3, "8001" },
	{ "low first nibble", { 0x0a, 0xbc }, 2, "abc" },
	{ "leading zero octets", { 0x00, 0x00, 0x01, 0x00 }, 4, "100" },
};

static void test_hex_from_bytes_case(void **state)
{
	const struct bytes_case *c = *state;
	char out[32];
	size_t n = serial_hex_from_bytes(c->in, c->len, out, sizeof(out));

	if (n != strlen(c->want) || strcmp(out, c->want) != 0)
		fail_msg("case '%s': got '%s' want '%s'", c->name, out, c->want);
}

static void test_hex_from_bytes_small_buffer(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(serial_hex_from_bytes((const unsigned char *)"\x12\x34", 2, out, 4), 0);
	assert_int_equal(serial_hex_from_bytes((const unsigned char *)"\x12\x34", 2, out, 5), 4);
}

int main(void)
{
	static struct CMUnitTest tests[N(norm_cases) + N(bytes_cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(norm_cases); i++)
		tests[n++] = (struct CMUnitTest){ norm_cases[i].name, test_normalize_case, NULL,
						  NULL, (void *)&norm_cases[i] };
	for (size_t i = 0; i < N(bytes_cases); i++)
		tests[n++] = (struct CMUnitTest){ bytes_cases[i].name, test_hex_from_bytes_case,
						  NULL, NULL, (void *)&bytes_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_normalize_limits);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_hex_from_bytes_small_buffer);
	return _cmocka_run_group_tests("serial", tests, n, NULL, NULL);
}
