/*
 * serial.c - parsing serial numbers in the forms CAs and tools print them
 * (hex with colons or spaces, 0x, "dec:" decimal) into one normal form.
 * Pure; see serial.h for the accepted forms.
 */
#include "core/serial.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char hexdigits[] = "0123456789abcdef";

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "'x'" or "byte 0x07" for a message about character c. */
static const char *show(char c, char buf[16])
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x20 && u < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", u);
	return buf;
}

size_t serial_hex_from_bytes(const unsigned char *be, size_t len, char *out, size_t outsz)
{
	size_t i = 0, n = 0;

	while (i < len && be[i] == 0)
		i++;
	if (i == len) {
		if (outsz < 2)
			return 0;
		out[0] = '0';
		out[1] = '\0';
		return 1;
	}
	if (2 * (len - i) + 1 > outsz)
		return 0;
	if (be[i] < 0x10) { /* no leading zero nibble */
		out[n++] = hexdigits[be[i]];
		i++;
	}
	for (; i < len; i++) {
		out[n++] = hexdigits[be[i] >> 4];
		out[n++] = hexdigits[be[i] & 0xf];
	}
	out[n] = '\0';
	return n;
}

static int emit(const char *digits, size_t nd, char *out, size_t outsz, const char *text,
		struct cd_err *err)
{
	size_t i = 0;

	while (i + 1 < nd && digits[i] == '0')
		i++;
	if (nd - i > SERIAL_HEX_MAX)
		return cd_err_set(err, CD_ELIMIT, false,
				  "serial number '%.60s' is longer than %d octets (RFC 5280)", text,
				  SERIAL_MAX_OCTETS);
	if (nd - i + 1 > outsz)
		return cd_err_set(err, CD_ELIMIT, false, "serial number buffer too small");
	memcpy(out, digits + i, nd - i);
	out[nd - i] = '\0';
	return 0;
}

static int parse_hex(const char *text, const char *p, const char *end, char *out, size_t outsz,
		     struct cd_err *err)
{
	char digits[SERIAL_TEXT_MAX], sep = 0, cb[16];
	size_t nd = 0, group = 0, groups = 0;

	if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (p == end)
		return cd_err_set(err, CD_EINVAL, false, "serial number '%.60s' has no digits",
				  text);
	for (; p < end; p++) {
		size_t pos = (size_t)(p - text) + 1;
		int v = hexval(*p);

		if (v >= 0) {
			digits[nd++] = hexdigits[v];
			group++;
			continue;
		}
		if (*p != ':' && *p != ' ')
			return cd_err_set(err, CD_EINVAL, false,
					  "serial number '%.60s': %s at position %zu is not a "
					  "hex digit (for a decimal serial write dec:<digits>)",
					  text, show(*p, cb), pos);
		if (sep && *p != sep)
			return cd_err_set(err, CD_EINVAL, false,
					  "serial number '%.60s' mixes ':' and ' ' between octets "
					  "(position %zu)",
					  text, pos);
		sep = *p;
		if (group == 0)
			return cd_err_set(err, CD_EINVAL, false,
					  "serial number '%.60s': separator at position %zu has no "
					  "octet before it",
					  text, pos);
		if (group > 2 || (groups > 0 && group != 2))
			return cd_err_set(err, CD_EINVAL, false,
					  "serial number '%.60s': the octet ending at position %zu "
					  "must be two hex digits",
					  text, pos - 1);
		groups++;
		group = 0;
	}
	if (sep && group != 2)
		return cd_err_set(err, CD_EINVAL, false,
				  "serial number '%.60s': the last octet must be two hex digits",
				  text);
	return emit(digits, nd, out, outsz, text, err);
}

static int parse_dec(const char *text, const char *p, const char *end, char *out, size_t outsz,
		     struct cd_err *err)
{
	unsigned char mag[SERIAL_MAX_OCTETS] = { 0 };
	char hex[SERIAL_HEX_MAX + 1], cb[16];

	if (p == end)
		return cd_err_set(err, CD_EINVAL, false, "serial number '%.60s' has no digits",
				  text);
	for (; p < end; p++) {
		unsigned carry;

		if (*p < '0' || *p > '9')
			return cd_err_set(err, CD_EINVAL, false,
					  "serial number '%.60s': %s at position %zu is not a "
					  "decimal digit",
					  text, show(*p, cb), (size_t)(p - text) + 1);
		carry = (unsigned)(*p - '0');
		for (size_t i = SERIAL_MAX_OCTETS; i-- > 0;) {
			unsigned v = mag[i] * 10u + carry;

			mag[i] = (unsigned char)(v & 0xff);
			carry = v >> 8;
		}
		if (carry)
			return cd_err_set(
			    err, CD_ELIMIT, false,
			    "serial number '%.60s' is larger than %d octets (RFC 5280)", text,
			    SERIAL_MAX_OCTETS);
	}
	serial_hex_from_bytes(mag, sizeof(mag), hex, sizeof(hex));
	return emit(hex, strlen(hex), out, outsz, text, err);
}

int serial_normalize(const char *text, char *out, size_t outsz, struct cd_err *err)
{
	const char *p, *end;
	size_t len;

	if (!text || !out || outsz == 0)
		return cd_err_set(err, CD_EINVAL, false, "serial_normalize: missing argument");
	out[0] = '\0';
	len = strlen(text);
	if (len > SERIAL_TEXT_MAX)
		return cd_err_set(err, CD_ELIMIT, false,
				  "serial number text is longer than %d characters",
				  SERIAL_TEXT_MAX);
	p = text;
	end = text + len;
	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	if (p == end)
		return cd_err_set(err, CD_EINVAL, false, "serial number is empty");
	if (end - p >= 4 && strncasecmp(p, "dec:", 4) == 0)
		return parse_dec(text, p + 4, end, out, outsz, err);
	return parse_hex(text, p, end, out, outsz, err);
}
