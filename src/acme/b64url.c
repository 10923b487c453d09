/*
 * b64url.c - base64url (RFC 4648 §5) without padding, as JWS wants it.
 * Decoding accepts optional '=' padding and nothing else (no whitespace).
 */
#include <string.h>

#include "acme/acme.h"

static const char ALPHA[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int acme_b64url_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
	size_t need = (len / 3) * 4 + (len % 3 ? len % 3 + 1 : 0) + 1;
	size_t o = 0, i = 0;

	if (outsz < need)
		return -1;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = ALPHA[v >> 18 & 63];
		out[o++] = ALPHA[v >> 12 & 63];
		out[o++] = ALPHA[v >> 6 & 63];
		out[o++] = ALPHA[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)in[i] << 16;

		out[o++] = ALPHA[v >> 18 & 63];
		out[o++] = ALPHA[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

		out[o++] = ALPHA[v >> 18 & 63];
		out[o++] = ALPHA[v >> 12 & 63];
		out[o++] = ALPHA[v >> 6 & 63];
	}
	out[o] = '\0';
	return (int)o;
}

static int val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int acme_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsz, size_t *outlen)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	/* padding only at the end, at most two, and only where it belongs */
	while (len > 0 && in[len - 1] == '=') {
		len--;
		if (++bits > 2)
			return -1;
	}
	if (bits && (len + bits) % 4 != 0)
		return -1;
	bits = 0;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* leftover bits must be zero (canonical encoding) */
	if (bits && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	*outlen = o;
	return 0;
}
