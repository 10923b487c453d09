/*
 * fuzz_certinfo.c - libFuzzer target for core/certinfo.c.
 *
 * The bytes are parsed twice: as a PEM bundle, and as the DER of one
 * certificate wrapped in a CERTIFICATE block (so mutations reach the X.509
 * decoder, not only the PEM scanner). On success every certificate must have
 * a 64-digit fingerprint, its own PEM must parse back to the same facts, and
 * the name helpers must run; on failure the list must be empty and the
 * message set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/certinfo.h"

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_certinfo: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void check(const char *buf, size_t len)
{
	struct certinfo_list l = { 0 };
	struct cd_err err = { 0 };
	int rc = certinfo_parse_bundle(buf, len, &l, &err);

	if (rc != 0) {
		if (l.count || l.items || err.msg[0] == '\0')
			die("failure left a list or no message", err.msg);
		return;
	}
	if (l.count == 0)
		die("success without a certificate", NULL);
	for (size_t i = 0; i < l.count; i++) {
		const struct certinfo *ci = &l.items[i];
		struct certinfo_list again = { 0 };
		size_t cn = strlen(ci->subject_cn);

		if (strlen(ci->sha256) != 64 || !ci->pem || !ci->issuer_dn || !ci->subject_dn ||
		    ci->serial[0] == '\0')
			die("incomplete facts", ci->sha256);
		if (certinfo_parse_bundle(ci->pem, ci->pem_len, &again, &err) != 0 ||
		    again.count != 1 || strcmp(again.items[0].sha256, ci->sha256) != 0 ||
		    strcmp(again.items[0].serial, ci->serial) != 0 ||
		    again.items[0].nsans != ci->nsans)
			die("own PEM does not parse back to the same facts", err.msg);
		certinfo_list_free(&again);
		if (cn > 0 && ci->subject_cn[cn - 1] != '.' && ci->subject_cn[0] != '*' &&
		    !certinfo_covers(ci, ci->subject_cn))
			die("certificate does not cover its own CN", ci->subject_cn);
		for (size_t k = 0; k < ci->nsans; k++)
			(void)certinfo_find_leaf(&l, ci->sans[k]);
		(void)certinfo_matches_issuer_cert(ci, &l.items[0]);
	}
	certinfo_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n";
	static const char tail[] = "\n-----END CERTIFICATE-----\n";
	char *pem;
	int n;

	check((const char *)data, size);
	if (size == 0 || size > 65536)
		return 0;
	pem = malloc(sizeof(head) + 4 * ((size + 2) / 3) + sizeof(tail) + 1);
	if (!pem)
		return 0;
	memcpy(pem, head, sizeof(head) - 1);
	n = EVP_EncodeBlock((unsigned char *)pem + sizeof(head) - 1, data, (int)size);
	memcpy(pem + sizeof(head) - 1 + n, tail, sizeof(tail));
	check(pem, strlen(pem));
	free(pem);
	return 0;
}
