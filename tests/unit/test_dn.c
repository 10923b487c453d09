/*
 * test_dn.c - RFC 4514 distinguished names (core/dn.h): parsing into the
 * right Name structure, refusing bad input with its position, and comparing
 * with a generated certificate's issuer the way X.509 compares names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/dn.h"

#define JPRS_G3                                                                                    \
	"CN=JPRS Domain Validation Authority - G3,O=Japan Registry Services Co.\\, Ltd.,C=JP"

/* "set:TYPE=value/t|..." in Name order; t is U(TF8) P(rintable) I(A5) B(MP) T(61). */
static void describe(const X509_NAME *name, char *out, size_t outsz)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		const ASN1_OBJECT *o = X509_NAME_ENTRY_get_object(e);
		char type[64];
		char t = '?';
		int nid = OBJ_obj2nid(o);

		if (nid != NID_undef)
			snprintf(type, sizeof(type), "%s", OBJ_nid2sn(nid));
		else
			OBJ_obj2txt(type, sizeof(type), o, 1);
		switch (ASN1_STRING_type(v)) {
		case V_ASN1_UTF8STRING:
			t = 'U';
			break;
		case V_ASN1_PRINTABLESTRING:
			t = 'P';
			break;
		case V_ASN1_IA5STRING:
			t = 'I';
			break;
		case V_ASN1_BMPSTRING:
			t = 'B';
			break;
		case V_ASN1_T61STRING:
			t = 'T';
			break;
		}
		n += (size_t)snprintf(out + n, outsz - n, "%s%d:%s=", i ? "|" : "",
				      X509_NAME_ENTRY_set(e), type);
		for (int k = 0; k < ASN1_STRING_length(v) && n < outsz; k++) {
			unsigned char c = ASN1_STRING_get0_data(v)[k];

			/* bytes below 0x20 as \xx; UTF-8 passes through */
			n += (size_t)snprintf(out + n, outsz - n, c < 0x20 ? "\\%02x" : "%c", c);
		}
		if (n < outsz)
			n += (size_t)snprintf(out + n, outsz - n, "/%c", t);
		if (n >= outsz)
			fail_msg("describe: buffer too small");
	}
}

struct parse_case {
	const char *name;
	const char *in;
	const char *want;
};

static const struct parse_case parse_cases[] = {
	{ "reverse order", "CN=x,O=y,C=JP", "0:C=JP/P|1:O=y/U|2:CN=x/U" },
	{ "JPRS G3 issuer", JPRS_G3,
	  "0:C=JP/P|1:O=Japan Registry Services Co., Ltd./U|2:CN=JPRS Domain Validation "
	  "Authority - G3/U" },
	{ "spaces around separators", "  CN = x ,  O= y,C =JP  ", "0:C=JP/P|1:O=y/U|2:CN=x/U" },
	{ "lower-case types", "cn=x,o=y,c=JP", "0:C=JP/P|1:O=y/U|2:CN=x/U" },
	{ "escaped specials", "CN=a\\,b\\+c\\;d\\<e\\>f\\\"g\\\\h\\=i\\#j",
	  "0:CN=a,b+c;d<e>f\"g\\h=i#j/U" },
	{ "escaped leading hash", "CN=\\#1", "0:CN=#1/U" },
	{ "lone hash, as OpenSSL prints it", "CN=#", "0:CN=#/U" },
	{ "hash then not hex", "CN=#x,O=#", "0:O=#/U|1:CN=#x/U" },
	{ "escaped spaces kept", "CN=\\ x \\ ", "0:CN= x  /U" },
	{ "unescaped trailing spaces dropped", "CN=x   ,O=y", "0:O=y/U|1:CN=x/U" },
	{ "inner spaces kept", "CN=a  b", "0:CN=a  b/U" },
	{ "hex pairs as UTF-8", "O=\\E6\\97\\A5\\E6\\9C\\AC", "0:O=日本/U" },
	{ "raw UTF-8", "O=日本レジストリサービス,C=JP", "0:C=JP/P|1:O=日本レジストリサービス/U" },
	{ "multi-valued RDN", "CN=x+UID=42,O=y", "0:O=y/U|1:CN=x/U|1:UID=42/U" },
	{ "multi-valued with spaces", "CN=x + UID=42 , O=y", "0:O=y/U|1:CN=x/U|1:UID=42/U" },
	{ "hex UTF8String", "CN=#0C0568656C6C6F", "0:CN=hello/U" },
	{ "hex PrintableString", "C=#13024A50", "0:C=JP/P" },
	{ "hex lower case", "c=#13024a50", "0:C=JP/P" },
	{ "hex BMPString", "CN=#1E0400410042", "0:CN=\\00A\\00B/B" },
	{ "hex then more", "CN=#0C0161 , C=JP", "0:C=JP/P|1:CN=a/U" },
	{ "dotted OID", "2.5.4.3=x", "0:CN=x/U" },
	{ "OID. prefix", "OID.2.5.4.3=x", "0:CN=x/U" },
	{ "unknown OID", "1.2.3.4=x", "0:1.2.3.4=x/U" },
	{ "quoted value", "O=\"Foo, Inc.\",C=US", "0:C=US/P|1:O=Foo, Inc./U" },
	{ "quoted value keeps spaces", "O=\" a \"", "0:O= a /U" },
	{ "equals and hash inside", "CN=a=b#c", "0:CN=a=b#c/U" },
	{ "DC and email are IA5", "emailAddress=a@b.jp,DC=example,DC=jp",
	  "0:DC=jp/I|1:DC=example/I|2:emailAddress=a@b.jp/I" },
	{ "aliases", "E=a@b,S=Tokyo,L=Minato", "0:L=Minato/U|1:ST=Tokyo/U|2:emailAddress=a@b/I" },
	{ "long names", "commonName=x,organizationalUnitName=y", "0:OU=y/U|1:CN=x/U" },
	{ "openssl short name", "street=1 Main", "0:street=1 Main/U" },
	{ "serialNumber printable", "serialNumber=123", "0:serialNumber=123/P" },
	{ "surname SN", "SN=Yamada", "0:SN=Yamada/U" },
	{ "C that is not PrintableString", "C=J\\\\", "0:C=J\\/U" },
	{ "C in Japanese", "C=日本", "0:C=日本/U" },
	{ "email not ASCII", "emailAddress=日@b", "0:emailAddress=日@b/U" },
	{ "tab inside value", "CN=a\tb", "0:CN=a\\09b/U" },
};

static void test_parse_case(void **state)
{
	const struct parse_case *c = *state;
	struct cd_err err = { 0 };
	X509_NAME *name = NULL;
	char got[1024];
	int rc = dn_parse(c->in, &name, &err);

	if (rc != 0)
		fail_msg("case '%s': rc %d (%s)", c->name, rc, err.msg);
	describe(name, got, sizeof(got));
	X509_NAME_free(name);
	if (strcmp(got, c->want) != 0)
		fail_msg("case '%s': got '%s' want '%s'", c->name, got, c->want);
}

struct bad_case {
	const char *name;
	const char *in;
	enum cd_errcode code;
	const char *msg_has[2];
};

static const struct bad_case bad_cases[] = {
	{ "empty", "", CD_EINVAL, { "empty" } },
	{ "spaces only", "   ", CD_EINVAL, { "empty" } },
	{ "type only", "CN", CD_EINVAL, { "expected '='", "at the end" } },
	{ "no equals", "CN x", CD_EINVAL, { "expected '='", "position 4" } },
	{ "unknown type", "XX=1", CD_EINVAL, { "unknown attribute type 'XX'", "position 1" } },
	{ "bad escape", "CN=a\\q", CD_EINVAL, { "'\\' must be followed", "position 5" } },
	{ "escape at end", "CN=a\\", CD_EINVAL, { "at the end of a value", "position 5" } },
	{ "one hex digit escape", "CN=a\\4", CD_EINVAL, { "two hex digits", "position 5" } },
	{ "NUL escape", "CN=a\\00b", CD_EINVAL, { "NUL", "position 5" } },
	{ "unescaped quote", "CN=a\"b", CD_EINVAL, { "must be escaped", "position 5" } },
	{ "unescaped semicolon", "CN=a;O=b", CD_EINVAL, { "'\\;'", "position 5" } },
	{ "unescaped angle", "CN=<x>", CD_EINVAL, { "must be escaped", "position 4" } },
	{ "empty value", "CN=,O=x", CD_EINVAL, { "empty value", "position 4" } },
	{ "empty value at end", "CN=", CD_EINVAL, { "empty value", "at the end" } },
	{ "spaces-only value", "CN=   ,O=x", CD_EINVAL, { "empty value" } },
	{ "trailing comma", "CN=x,", CD_EINVAL, { "separator at the end", "position 5" } },
	{ "trailing plus", "CN=x+ ", CD_EINVAL, { "separator at the end" } },
	{ "double comma", "CN=x,,O=y", CD_EINVAL, { "expected an attribute type", "position 6" } },
	{ "hyphen first", "-CN=x", CD_EINVAL, { "expected an attribute type", "position 1" } },
	{ "odd hex", "CN=#0C0", CD_EINVAL, { "hex pairs", "position 4" } },
	{ "hex not BER", "CN=#FFFF", CD_EINVAL, { "BER", "position 4" } },
	{ "hex not a string", "CN=#020101", CD_EINVAL, { "not a UTF8String" } },
	{ "hex NumericString", "CN=#12023132", CD_EINVAL, { "not a UTF8String" } },
	{ "hex with NUL", "CN=#0C020000", CD_EINVAL, { "NUL" } },
	{ "hex BMPString with NUL", "CN=#1E020000", CD_EINVAL, { "NUL" } },
	{ "hex BMPString lone surrogate", "CN=#1E02D800", CD_EINVAL, { "not a valid string" } },
	{ "hex UniversalString past U+10FFFF",
	  "CN=#1C0400110000",
	  CD_EINVAL,
	  { "not a valid string" } },
	{ "hex empty string", "CN=#0C00", CD_EINVAL, { "hex value is empty" } },
	{ "hex trailing junk",
	  "CN=#0C0161 x",
	  CD_EINVAL,
	  { "expected ',' or '+'", "position 12" } },
	{ "one-arc OID", "1=x", CD_EINVAL, { "dotted OID", "position 1" } },
	{ "empty arc OID", "1..2=x", CD_EINVAL, { "dotted OID" } },
	{ "leading zero arc", "01.2=x", CD_EINVAL, { "dotted OID" } },
	{ "first arc too big", "3.1=x", CD_EINVAL, { "not a valid object identifier" } },
	{ "OID too long",
	  "1.2.3333333333333333333333333333333333333333333333333333333333333=x",
	  CD_EINVAL,
	  { "longer than 64", "position 1" } },
	{ "invalid UTF-8", "CN=\\FF", CD_EINVAL, { "UTF-8", "position 4" } },
	{ "overlong UTF-8", "CN=\\C0\\AF", CD_EINVAL, { "UTF-8" } },
	{ "unterminated quote", "O=\"Foo", CD_EINVAL, { "closing", "position 3" } },
	{ "junk after quote", "O=\"Foo\" x", CD_EINVAL, { "expected ',' or '+'", "position 9" } },
	{ "semicolon separator", "CN=x;O=y", CD_EINVAL, { "must be escaped" } },
};

static void test_bad_case(void **state)
{
	const struct bad_case *c = *state;
	struct cd_err err = { 0 };
	X509_NAME *name = (X509_NAME *)1;
	int rc = dn_parse(c->in, &name, &err);

	if (rc != -(int)c->code)
		fail_msg("case '%s': rc %d want %d (%s)", c->name, rc, -(int)c->code, err.msg);
	if (name != NULL)
		fail_msg("case '%s': *out not cleared on error", c->name);
	for (int k = 0; k < 2; k++)
		if (c->msg_has[k] && !strstr(err.msg, c->msg_has[k]))
			fail_msg("case '%s': message '%s' lacks '%s'", c->name, err.msg,
				 c->msg_has[k]);
}

static void test_limits(void **state)
{
	struct cd_err err = { 0 };
	X509_NAME *name = NULL;
	char *s;
	size_t n = 0;

	(void)state;
	s = malloc(DN_TEXT_MAX + 16);
	assert_non_null(s);
	memset(s, 'a', DN_TEXT_MAX + 1);
	memcpy(s, "CN=", 3);
	s[DN_TEXT_MAX + 1] = '\0';
	assert_int_equal(dn_parse(s, &name, &err), -CD_ELIMIT);
	assert_null(name);

	for (int i = 0; i < DN_MAX_AVAS + 1; i++)
		n += (size_t)sprintf(s + n, "%sCN=x", i ? "+" : "");
	assert_int_equal(dn_parse(s, &name, &err), -CD_ELIMIT);
	assert_non_null(strstr(err.msg, "more than"));

	n = 0;
	for (int i = 0; i < DN_MAX_AVAS; i++)
		n += (size_t)sprintf(s + n, "%sCN=x", i ? "," : "");
	assert_int_equal(dn_parse(s, &name, &err), 0);
	assert_int_equal(X509_NAME_entry_count(name), DN_MAX_AVAS);
	X509_NAME_free(name);
	free(s);
}

/* --- equality with a real certificate's issuer ---------------------------- */

static unsigned char *issuer_der;
static size_t issuer_der_len;

/* A CA-style issuer (PrintableString values), in a signed certificate that
 * is encoded and decoded again, as certdesk sees it. */
static int make_issuer(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new(), *back = NULL;
	X509_NAME *iss = X509_NAME_new();
	unsigned char *der = NULL;
	const unsigned char *p, *nd;
	size_t ndlen;
	int len;

	(void)state;
	assert_non_null(key);
	X509_NAME_add_entry_by_txt(iss, "C", MBSTRING_ASC, (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_txt(iss, "O", MBSTRING_ASC,
				   (const unsigned char *)"Japan Registry Services Co., Ltd.", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_ASC,
				   (const unsigned char *)"JPRS Domain Validation Authority - G3",
				   -1, -1, 0);
	/* As a CA would encode them: PrintableString, not UTF8String. */
	for (int i = 0; i < X509_NAME_entry_count(iss); i++)
		X509_NAME_ENTRY_get_data(X509_NAME_get_entry(iss, i))->type =
		    V_ASN1_PRINTABLESTRING;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_issuer_name(x, iss);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"example.jp", -1, -1, 0);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	len = i2d_X509(x, &der);
	assert_true(len > 0);
	p = der;
	back = d2i_X509(NULL, &p, len);
	assert_non_null(back);
	assert_true(X509_NAME_get0_der(X509_get_issuer_name(back), &nd, &ndlen));
	issuer_der = malloc(ndlen);
	memcpy(issuer_der, nd, ndlen);
	issuer_der_len = ndlen;
	OPENSSL_free(der);
	X509_free(back);
	X509_free(x);
	X509_NAME_free(iss);
	EVP_PKEY_free(key);
	return 0;
}

static int free_issuer(void **state)
{
	(void)state;
	free(issuer_der);
	return 0;
}

struct eq_case {
	const char *name;
	const char *text;
	bool equal;
};

static const struct eq_case eq_cases[] = {
	{ "as printed", JPRS_G3, true },
	{ "lower case and extra spaces",
	  "cn=jprs  domain validation authority - g3 , o=japan registry services co.\\, ltd., c=jp",
	  true },
	{ "upper case",
	  "CN=JPRS DOMAIN VALIDATION AUTHORITY - G3,O=JAPAN REGISTRY SERVICES CO.\\, "
	  "LTD.,C=JP",
	  true },
	{ "quoted organisation",
	  "CN=JPRS Domain Validation Authority - G3,O=\"Japan Registry "
	  "Services Co., Ltd.\",C=JP",
	  true },
	{ "escaped outer spaces",
	  "CN=\\ JPRS Domain Validation Authority - G3\\ ,O=Japan Registry "
	  "Services Co.\\, Ltd.,C=JP",
	  true },
	{ "hex CN (PrintableString)",
	  "CN=#13254A50525320446F6D61696E2056616C69646174696F6E20417574686F72697479202D204733,O="
	  "Japan Registry Services Co.\\, Ltd.,C=JP",
	  true },
	{ "dotted OIDs",
	  "2.5.4.3=JPRS Domain Validation Authority - G3,2.5.4.10=Japan Registry "
	  "Services Co.\\, Ltd.,2.5.4.6=JP",
	  true },
	{ "RDNs in Name order (wrong for RFC 4514)",
	  "C=JP,O=Japan Registry Services Co.\\, Ltd.,CN=JPRS Domain Validation Authority - G3",
	  false },
	{ "missing O", "CN=JPRS Domain Validation Authority - G3,C=JP", false },
	{ "G4",
	  "CN=JPRS Domain Validation Authority - G4,O=Japan Registry Services Co.\\, "
	  "Ltd.,C=JP",
	  false },
	{ "multi-valued instead of two RDNs",
	  "CN=JPRS Domain Validation Authority - G3+O=Japan Registry Services Co.\\, Ltd.,C=JP",
	  false },
	{ "extra RDN", JPRS_G3 ",DC=jp", false },
};

static void test_equal_case(void **state)
{
	const struct eq_case *c = *state;
	struct cd_err err = { 0 };
	X509_NAME *name = NULL;
	unsigned char *der = NULL;
	bool direct, ders;
	int len;

	if (dn_parse(c->text, &name, &err) != 0)
		fail_msg("case '%s': %s", c->name, err.msg);
	direct = dn_equal_der(name, issuer_der, issuer_der_len);
	len = i2d_X509_NAME(name, &der);
	ders = dn_equal_ders(der, (size_t)len, issuer_der, issuer_der_len);
	OPENSSL_free(der);
	X509_NAME_free(name);
	if (direct != c->equal)
		fail_msg("case '%s': dn_equal_der is %d", c->name, direct);
	if (ders != c->equal)
		fail_msg("case '%s': dn_equal_ders is %d", c->name, ders);
}

static void test_equal_bad_der(void **state)
{
	X509_NAME *name = NULL;
	unsigned char *copy;

	(void)state;
	assert_int_equal(dn_parse(JPRS_G3, &name, NULL), 0);
	assert_true(dn_equal_der(name, issuer_der, issuer_der_len));
	assert_false(dn_equal_der(name, issuer_der, issuer_der_len - 1));
	copy = malloc(issuer_der_len + 1);
	memcpy(copy, issuer_der, issuer_der_len);
	copy[issuer_der_len] = 0;
	assert_false(dn_equal_der(name, copy, issuer_der_len + 1)); /* trailing byte */
	assert_false(dn_equal_der(name, (const unsigned char *)"\x30\x03junk", 5));
	assert_false(dn_equal_der(name, NULL, 0));
	assert_true(dn_equal_ders(issuer_der, issuer_der_len, issuer_der, issuer_der_len));
	assert_false(dn_equal_ders(copy, issuer_der_len + 1, issuer_der, issuer_der_len));
	free(copy);
	X509_NAME_free(name);
}

struct fmt_case {
	const char *name;
	const char *in;
	const char *want;
};

static const struct fmt_case fmt_cases[] = {
	{ "JPRS G3", JPRS_G3, JPRS_G3 },
	{ "spaces normalised", " CN = x , C = JP ", "CN=x,C=JP" },
	{ "UTF-8 kept as is", "O=日本レジストリサービス株式会社,C=JP",
	  "O=日本レジストリサービス株式会社,C=JP" },
	{ "multi-valued (AVA order in a SET is free)", "CN=x+UID=42,O=y", "UID=42+CN=x,O=y" },
	{ "specials escaped", "CN=a\\,b\\+c\\;d\\<e\\>f\\\"g\\\\h",
	  "CN=a\\,b\\+c\\;d\\<e\\>f\\\"g\\\\h" },
	{ "leading hash escaped", "CN=\\#x", "CN=\\#x" },
	/* found by fuzz_dn: OpenSSL does not escape a one-character "#" */
	{ "lone hash", "O=\\#", "O=#" },
	{ "unknown OID as hex", "1.2.3.4=x", "1.2.3.4=#0C0178" },
	/* found by fuzz_dn: a certificate's C may hold what PrintableString may not */
	{ "PrintableString holding a backslash", "C=#13024A5C", "C=J\\\\" },
};

static void test_format_case(void **state)
{
	const struct fmt_case *c = *state;
	X509_NAME *a = NULL, *b = NULL;
	struct cd_err err = { 0 };
	char *text;
	int cmp;

	if (dn_parse(c->in, &a, &err) != 0)
		fail_msg("case '%s': %s", c->name, err.msg);
	text = dn_format(a);
	if (!text || strcmp(text, c->want) != 0)
		fail_msg("case '%s': formatted '%s' want '%s'", c->name, text ? text : "(null)",
			 c->want);
	if (dn_parse(text, &b, &err) != 0)
		fail_msg("case '%s': formatted text does not parse: %s", c->name, err.msg);
	cmp = X509_NAME_cmp(a, b);
	free(text);
	X509_NAME_free(a);
	X509_NAME_free(b);
	if (cmp != 0)
		fail_msg("case '%s': round trip changed the name", c->name);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	static struct CMUnitTest
	    tests[N(parse_cases) + N(bad_cases) + N(eq_cases) + N(fmt_cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(parse_cases); i++)
		tests[n++] = (struct CMUnitTest){ parse_cases[i].name, test_parse_case, NULL, NULL,
						  (void *)&parse_cases[i] };
	for (size_t i = 0; i < N(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){ bad_cases[i].name, test_bad_case, NULL, NULL,
						  (void *)&bad_cases[i] };
	for (size_t i = 0; i < N(eq_cases); i++)
		tests[n++] = (struct CMUnitTest){ eq_cases[i].name, test_equal_case, NULL, NULL,
						  (void *)&eq_cases[i] };
	for (size_t i = 0; i < N(fmt_cases); i++)
		tests[n++] = (struct CMUnitTest){ fmt_cases[i].name, test_format_case, NULL, NULL,
						  (void *)&fmt_cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limits);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_equal_bad_der);
	/* make_issuer once: the issuer certificate is shared by the equality cases. */
	return _cmocka_run_group_tests("dn", tests, n, make_issuer, free_issuer);
}
