/*
 * fuzz_acme_headers.c - libFuzzer target for the response headers certdesk
 * reads from a CA (acme/headers.c): Retry-After, Link, Location, Replay-Nonce,
 * and the requests the standalone http-01 responder reads (acme/standalone.c).
 *
 * Every URL Link hands out must pass the Location check; a Retry-After that
 * parses is within 0..86400 s; a token taken from a request is base64url.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"

#include "fuzz_input.h"

static void on_url(const char *url, void *arg)
{
	(void)arg;
	if (acme_location_valid(url) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size, 16384);
	char token[ACME_TOKEN_MAX];
	long secs = -1;
	bool head;

	if (!s)
		return 0;
	/* the raw bytes, NULs included, as they come off the socket */
	if (acme_http01_request_parse((const char *)data, size, &head, token, sizeof(token)) == 1 &&
	    (!token[0] || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789-_") != strlen(token)))
		abort();
	if (acme_retry_after_parse(s, 1767225600LL, &secs) == 0 && (secs < 0 || secs > 86400))
		abort();
	acme_link_parse(s, "alternate", on_url, NULL);
	acme_link_parse(s, "up", on_url, NULL);
	if (acme_nonce_valid(s) == 0 && strlen(s) >= ACME_NONCE_MAX)
		abort();
	acme_location_valid(s);
	free(s);
	return 0;
}
