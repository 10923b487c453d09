/*
 * fuzz_dn.c - libFuzzer target for core/dn.c.
 *
 * Arbitrary bytes (as a C string) go through dn_parse. A name it accepts must
 * encode, print with dn_format, parse back from that text to a name equal
 * under X509_NAME_cmp (unless escaping made the text longer than
 * DN_TEXT_MAX, which the parser refuses as too long), and compare equal to its own DER with dn_equal_der.
 * A refusal must say why, as -CD_EINVAL or -CD_ELIMIT.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "core/dn.h"

#include "fuzz_input.h"

static void die(const char *what, const char *text, const char *detail)
{
	fprintf(stderr, "fuzz_dn: %s\n  input: '%s'\n  detail: '%s'\n", what, text,
		detail ? detail : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_err err = { 0 };
	X509_NAME *a = NULL, *b = NULL;
	unsigned char *der = NULL;
	char *s, *text = NULL;
	int len, rc;

	s = fuzz_cstr(data, size, DN_TEXT_MAX + 64);
	if (!s)
		return 0;
	rc = dn_parse(s, &a, &err);
	if (rc != 0) {
		if ((rc != -CD_EINVAL && rc != -CD_ELIMIT) || a || err.msg[0] == '\0')
			die("refusal without a reason", s, err.msg);
		goto out;
	}
	if (!a || X509_NAME_entry_count(a) == 0)
		die("accepted an empty name", s, NULL);
	len = i2d_X509_NAME(a, &der);
	if (len <= 0)
		die("accepted name does not encode", s, NULL);
	if (!dn_equal_der(a, der, (size_t)len))
		die("name differs from its own DER", s, NULL);
	text = dn_format(a);
	if (!text)
		die("dn_format failed", s, NULL);
	rc = dn_parse(text, &b, &err);
	/* escaping can make the text longer than the input (a control byte becomes
	 * \XX): past DN_TEXT_MAX a refusal as too long is the parser's rule */
	if (rc == -CD_ELIMIT && strlen(text) > DN_TEXT_MAX)
		goto out;
	if (rc != 0)
		die("formatted name does not parse back", s, text);
	if (X509_NAME_cmp(a, b) != 0)
		die("formatted name parses to another name", s, text);
out:
	OPENSSL_free(der);
	X509_NAME_free(a);
	X509_NAME_free(b);
	free(text);
	free(s);
	return 0;
}
