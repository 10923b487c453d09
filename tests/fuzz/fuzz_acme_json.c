/*
 * fuzz_acme_json.c - libFuzzer target for the JSON a CA sends (acme/objects.c).
 *
 * The first byte picks the parser (order, authorization, problem); the rest is
 * the body. An accepted order has a known status, valid URLs and a certificate
 * URL when valid; an accepted authorization's token is base64url.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_err err = { 0 };
	const char *body = (const char *)data + 1;
	size_t len;

	if (size < 1 || size > 65536)
		return 0;
	len = size - 1;
	switch (data[0] % 3) {
	case 0: {
		struct acme_order o = { 0 };

		if (acme_order_parse(body, len, &o, &err) == 0) {
			if (o.status == ACME_STATUS_UNKNOWN ||
			    acme_location_valid(o.finalize) != 0 ||
			    (o.status == ACME_STATUS_VALID && acme_location_valid(o.certificate)))
				abort();
			for (size_t i = 0; i < o.n_authz; i++)
				if (acme_location_valid(o.authz[i]) != 0)
					abort();
		}
		acme_order_free(&o);
		break;
	}
	case 1: {
		struct acme_authz a = { 0 };

		if (acme_authz_parse(body, len, &a, &err) == 0 && a.has_http01 &&
		    (acme_nonce_valid(a.http01_token) != 0 || acme_location_valid(a.http01_url)))
			abort();
		break;
	}
	default: {
		struct acme_problem p;

		if (acme_problem_parse(body, len, &p) == 0)
			for (const char *c = p.detail; *c; c++)
				if ((unsigned char)*c < ' ')
					abort();
		break;
	}
	}
	return 0;
}
