/*
 * fuzz_acme_headers.c - libFuzzer target for the response headers certdesk
 * reads from a CA (acme/headers.c): Retry-After, Link, Location, Replay-Nonce.
 *
 * Every URL Link hands out must pass the Location check; a Retry-After that
 * parses is within 0..86400 s.
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
	long secs = -1;

	if (!s)
		return 0;
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
