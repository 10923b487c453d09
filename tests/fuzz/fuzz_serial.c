/*
 * fuzz_serial.c - libFuzzer target for core/serial.c.
 *
 * Arbitrary bytes (as a C string) go through serial_normalize. An accepted
 * serial must be in normal form (lowercase hex, no leading zero unless "0",
 * at most 40 digits) and normalise to itself; the bytes as a big-endian
 * magnitude must convert with serial_hex_from_bytes to the same normal form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/serial.h"

#include "fuzz_input.h"

static void die(const char *what, const char *in, const char *out)
{
	fprintf(stderr, "fuzz_serial: %s: '%s' -> '%s'\n", what, in, out);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[SERIAL_HEX_MAX + 1], again[SERIAL_HEX_MAX + 1], hex[2 * 64 + 1];
	struct cd_err err = { 0 };
	char *s;
	int rc;

	s = fuzz_cstr(data, size, SERIAL_TEXT_MAX + 16);
	if (!s)
		return 0;
	rc = serial_normalize(s, out, sizeof(out), &err);
	if (rc == 0) {
		size_t n = strlen(out);

		if (n == 0 || n > SERIAL_HEX_MAX || strspn(out, "0123456789abcdef") != n ||
		    (n > 1 && out[0] == '0'))
			die("not in normal form", s, out);
		if (serial_normalize(out, again, sizeof(again), &err) != 0 || strcmp(out, again))
			die("normal form is not a fixed point", s, out);
	} else if ((rc != -CD_EINVAL && rc != -CD_ELIMIT) || err.msg[0] == '\0') {
		die("refusal without a reason", s, err.msg);
	}
	if (size <= 64) {
		size_t n = serial_hex_from_bytes(data, size, hex, sizeof(hex));

		if (n == 0 || n != strlen(hex) || (n > 1 && hex[0] == '0'))
			die("serial_hex_from_bytes", "(bytes)", hex);
		if (n <= SERIAL_HEX_MAX &&
		    (serial_normalize(hex, again, sizeof(again), &err) != 0 || strcmp(hex, again)))
			die("bytes form does not normalise to itself", hex, again);
	}
	free(s);
	return 0;
}
