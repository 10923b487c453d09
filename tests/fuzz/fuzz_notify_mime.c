/*
 * fuzz_notify_mime.c - libFuzzer target for the MIME builder, which takes
 * customers' text (display names, subjects, bodies): whatever the bytes, the
 * headers stay one header each (no CR or LF of the input survives, every
 * continuation line starts with a space), lines keep their limits, encoded-
 * words stay within 75 characters, and the body is base64 in CRLF lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "notify/notify.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* One header: "Name:" first, lines within max, CRLF only at line ends,
 * continuations begin with a space, each encoded-word at most 75. */
static void check_header(const char *h, const char *name, size_t max, bool words)
{
	const char *p = h;
	bool first = true;

	CHECK(strncmp(h, name, strlen(name)) == 0 && h[strlen(name)] == ':');
	while (*p) {
		const char *e = strstr(p, "\r\n");

		CHECK(e != NULL);
		CHECK((size_t)(e - p) <= max);
		for (const char *q = p; q < e; q++)
			CHECK(*q != '\r' && *q != '\n' && *q != '\0' && (unsigned char)*q >= 0x20 &&
			      (unsigned char)*q < 0x7f);
		if (!first)
			CHECK(*p == ' ');
		first = false;
		p = e + 2;
	}
	for (p = h; words && (p = strstr(p, "=?UTF-8?B?")) != NULL; p += 2) {
		const char *e = strstr(p + 10, "?=");

		CHECK(e && e + 2 - p <= 75);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_err err = { 0 };
	char *in, *h = NULL, *msg = NULL;
	size_t len;

	if (size < 1)
		return 0;
	in = fuzz_cstr(data + 1, size - 1, 8192);
	if (!in)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (notify_header_text("Subject", in, &h, &err) == 0)
			check_header(h, "Subject", 78, true);
		break;
	case 1:
		if (notify_header_address("To", in, "a@example.jp", &h, &err) == 0) {
			check_header(h, "To", 78, true);
			CHECK(strstr(h, " <a@example.jp>\r\n") || strstr(h, " a@example.jp\r\n"));
		}
		free(h);
		h = NULL;
		if (notify_header_address("To", "x", in, &h, &err) == 0) {
			CHECK(notify_addr_valid(in));
			check_header(h, "To", 998, false); /* "=?" may be in an address */
		}
		break;
	default:
		if (notify_mime_build(&(struct notify_mime){ .from_addr = "n@example.jp",
							     .to_name = in,
							     .to_addr = "a@example.jp",
							     .subject = in,
							     .body = in,
							     .message_id = "x@example.jp" },
				      &msg, &len, &err) == 0) {
			const char *body = strstr(msg, "\r\n\r\n");

			CHECK(body && strlen(msg) == len);
			for (const char *p = body + 4; *p; p++) {
				const char *e = strstr(p, "\r\n");

				CHECK(e && e - p <= 76);
				for (const char *q = p; q < e; q++)
					CHECK(strchr(
					    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789+/=",
					    *q));
				p = e + 1;
			}
		}
	}
	free(h);
	free(msg);
	free(in);
	return 0;
}
