/*
 * fuzz_web_parse.c - libFuzzer target for the request parsing the portal does
 * itself (src/web/parse.c): the same bytes as a form body or query string, a
 * Cookie header, an Accept-Language header and a `next` target. Every decoded
 * field must stay within the input's length and be NUL-free.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct web_form f;
	struct cd_err err = { 0 };
	char out[128], dec[64];
	char *s;
	bool found;

	/* the form parser takes a length: raw bytes, NULs included */
	if (web_form_parse((const char *)data, size, WEB_FORM_MAX_FIELDS, &f, &err) == 0) {
		for (size_t i = 0; i < f.n; i++)
			if (strlen(f.name[i]) > size || strlen(f.value[i]) > size)
				abort();
		(void)web_form_get(&f, "csrf");
		web_form_free(&f);
	}
	(void)web_url_decode((const char *)data, size, dec, sizeof(dec), false);
	/* headers reach the parsers as C strings, bounded by the server's limits */
	s = fuzz_cstr(data, size, 65536);
	if (!s)
		return 0;
	if (web_cookie_get(s, "certdesk_session", out, sizeof(out), NULL) == 1 &&
	    strlen(out) >= sizeof(out))
		abort();
	(void)web_accept_language(s, &found);
	(void)web_local_path_ok(s);
	free(s);
	return 0;
}
