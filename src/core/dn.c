/*
 * dn.c - an RFC 4514 distinguished-name parser that builds an OpenSSL
 * X509_NAME, the matching formatter, and X.509 name comparison.
 *
 * The parser reads the text left to right into a list of attribute-value
 * pairs tagged with their RDN index, validating as it goes (so errors carry
 * the position), and only then builds the X509_NAME, walking the RDNs from
 * the last to the first, since RFC 4514 writes the most specific RDN first.
 */
#include "core/dn.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>

struct ava {
	ASN1_OBJECT *obj;
	int type; /* V_ASN1_UTF8STRING, V_ASN1_PRINTABLESTRING, ... */
	unsigned char *val;
	size_t len;
	size_t rdn;
};

struct parser {
	const char *s;
	size_t len, i;
	struct ava avas[DN_MAX_AVAS];
	size_t n, rdn;
	struct cd_err *err;
};

/* Names OpenSSL does not know case-insensitively, and common aliases. */
static const struct {
	const char *name;
	int nid;
} keywords[] = {
	{ "CN", NID_commonName },
	{ "commonName", NID_commonName },
	{ "C", NID_countryName },
	{ "countryName", NID_countryName },
	{ "L", NID_localityName },
	{ "localityName", NID_localityName },
	{ "ST", NID_stateOrProvinceName },
	{ "S", NID_stateOrProvinceName },
	{ "stateOrProvinceName", NID_stateOrProvinceName },
	{ "O", NID_organizationName },
	{ "organizationName", NID_organizationName },
	{ "OU", NID_organizationalUnitName },
	{ "organizationalUnitName", NID_organizationalUnitName },
	{ "STREET", NID_streetAddress },
	{ "streetAddress", NID_streetAddress },
	{ "DC", NID_domainComponent },
	{ "domainComponent", NID_domainComponent },
	{ "UID", NID_userId },
	{ "userId", NID_userId },
	{ "emailAddress", NID_pkcs9_emailAddress },
	{ "E", NID_pkcs9_emailAddress },
	{ "email", NID_pkcs9_emailAddress },
	{ "serialNumber", NID_serialNumber },
	{ "SN", NID_surname },
	{ "surname", NID_surname },
	{ "GN", NID_givenName },
	{ "givenName", NID_givenName },
	{ "title", NID_title },
	{ "initials", NID_initials },
	{ "pseudonym", NID_pseudonym },
	{ "generationQualifier", NID_generationQualifier },
	{ "dnQualifier", NID_dnQualifier },
	{ "postalCode", NID_postalCode },
	{ "businessCategory", NID_businessCategory },
	{ "organizationIdentifier", NID_organizationIdentifier },
	{ "description", NID_description },
	{ "name", NID_name },
	{ "jurisdictionC", NID_jurisdictionCountryName },
	{ "jurisdictionCountryName", NID_jurisdictionCountryName },
	{ "jurisdictionST", NID_jurisdictionStateOrProvinceName },
	{ "jurisdictionStateOrProvinceName", NID_jurisdictionStateOrProvinceName },
	{ "jurisdictionL", NID_jurisdictionLocalityName },
	{ "jurisdictionLocalityName", NID_jurisdictionLocalityName },
};

/* --- small helpers ------------------------------------------------------- */

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A fail with the position (1-based) and a few bytes of context. */
static int fail(struct parser *p, size_t at, enum cd_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, size_t at, enum cd_errcode code, const char *fmt, ...)
{
	char what[256], near[40];
	size_t k = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (at >= p->len)
		return cd_err_set(p->err, code, false,
				  "distinguished name: %s at the end (position %zu)", what,
				  p->len + 1);
	for (size_t j = at; j < p->len && k < 16; j++) {
		unsigned char c = (unsigned char)p->s[j];

		near[k++] = (c >= 0x20 && c != 0x7f) ? (char)c : '?';
	}
	near[k] = '\0';
	return cd_err_set(p->err, code, false, "distinguished name: %s at position %zu (near '%s')",
			  what, at + 1, near);
}

static void skip_spaces(struct parser *p)
{
	while (p->i < p->len && p->s[p->i] == ' ')
		p->i++;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t need;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t k = 1; k < need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* Offset of the first invalid UTF-8 byte, or len when all are valid. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t k = utf8_seq(s + i, len - i);

		if (k == 0)
			return i;
		i += k;
	}
	return len;
}

static bool is_printable_string(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (!is_alpha((char)c) && !is_digit((char)c) && !strchr(" '()+,-./:=?", c))
			return false;
		if (c == '\0')
			return false;
	}
	return true;
}

/* --- attribute types ----------------------------------------------------- */

/* A dotted OID: two or more arcs, no empty arc, no leading zeros. */
static bool numericoid_ok(const char *s, size_t len)
{
	size_t arcs = 0, i = 0;

	while (i < len) {
		size_t start = i;

		while (i < len && is_digit(s[i]))
			i++;
		if (i == start || (s[start] == '0' && i - start > 1))
			return false;
		arcs++;
		if (i < len) {
			if (s[i] != '.' || i + 1 == len)
				return false;
			i++;
		}
	}
	return arcs >= 2;
}

static int parse_type(struct parser *p, ASN1_OBJECT **obj, int *nid_out)
{
	size_t start = p->i, len;
	char buf[128];
	int nid = NID_undef;

	if (p->i >= p->len || (!is_alpha(p->s[p->i]) && !is_digit(p->s[p->i])))
		return fail(p, p->i, CD_EINVAL,
			    "expected an attribute type (CN, O, C, ... or a dotted OID)");
	if (is_alpha(p->s[p->i])) {
		while (p->i < p->len &&
		       (is_alpha(p->s[p->i]) || is_digit(p->s[p->i]) || p->s[p->i] == '-'))
			p->i++;
		len = p->i - start;
		/* RFC 1779's "OID.2.5.4.3" */
		if (len == 3 && strncasecmp(p->s + start, "oid", 3) == 0 && p->i < p->len &&
		    p->s[p->i] == '.') {
			p->i++;
			start = p->i;
			goto numeric;
		}
		if (len >= sizeof(buf))
			return fail(p, start, CD_EINVAL, "attribute type is too long");
		memcpy(buf, p->s + start, len);
		buf[len] = '\0';
		for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
			if (strcasecmp(buf, keywords[k].name) == 0) {
				nid = keywords[k].nid;
				break;
			}
		if (nid == NID_undef)
			nid = OBJ_sn2nid(buf);
		if (nid == NID_undef)
			nid = OBJ_ln2nid(buf);
		if (nid == NID_undef)
			return fail(p, start, CD_EINVAL, "unknown attribute type '%s'", buf);
		*obj = OBJ_nid2obj(nid);
		*nid_out = nid;
		return *obj ? 0 : fail(p, start, CD_EINVAL, "unknown attribute type '%s'", buf);
	}
numeric:
	while (p->i < p->len && (is_digit(p->s[p->i]) || p->s[p->i] == '.'))
		p->i++;
	len = p->i - start;
	/* OpenSSL prints at most 79 characters of an OID: keep it readable back. */
	if (len > DN_OID_MAX)
		return fail(p, start, CD_EINVAL, "dotted OID longer than %d characters",
			    DN_OID_MAX);
	if (!numericoid_ok(p->s + start, len))
		return fail(p, start, CD_EINVAL, "bad dotted OID as attribute type");
	memcpy(buf, p->s + start, len);
	buf[len] = '\0';
	*obj = OBJ_txt2obj(buf, 1);
	if (!*obj)
		return fail(p, start, CD_EINVAL, "OID '%s' is not a valid object identifier", buf);
	*nid_out = OBJ_obj2nid(*obj);
	return 0;
}

/* --- values -------------------------------------------------------------- */

/* '#' followed by hex pairs: the BER of a string value. */
static int parse_hex_value(struct parser *p, struct ava *a)
{
	size_t start = p->i, nhex;
	unsigned char *der = NULL, *u8 = NULL;
	const unsigned char *q;
	ASN1_TYPE *t = NULL;
	int rc = 0, u8len;
	/* The types X509_NAME_cmp compares case- and space-insensitively (and
	 * that a certificate's name may hold): others could never match text. */
	const unsigned long strings = B_ASN1_PRINTABLESTRING | B_ASN1_T61STRING | B_ASN1_IA5STRING |
				      B_ASN1_UNIVERSALSTRING | B_ASN1_BMPSTRING | B_ASN1_UTF8STRING;

	p->i++; /* '#' */
	while (p->i < p->len && hexval(p->s[p->i]) >= 0)
		p->i++;
	nhex = p->i - start - 1;
	if (nhex == 0 || nhex % 2)
		return fail(p, start, CD_EINVAL, "'#' must be followed by hex pairs");
	der = malloc(nhex / 2);
	if (!der)
		return cd_err_set(p->err, CD_ENOMEM, false, "out of memory");
	for (size_t k = 0; k < nhex / 2; k++)
		der[k] = (unsigned char)(hexval(p->s[start + 1 + 2 * k]) << 4 |
					 hexval(p->s[start + 2 + 2 * k]));
	q = der;
	t = d2i_ASN1_TYPE(NULL, &q, (long)(nhex / 2));
	if (!t || q != der + nhex / 2) {
		rc = fail(p, start, CD_EINVAL, "hex value is not one BER-encoded value");
		goto out;
	}
	if (t->type < 0 || t->type > 30 || !(ASN1_tag2bit(t->type) & strings)) {
		rc = fail(p, start, CD_EINVAL,
			  "hex value is not a UTF8String, PrintableString, IA5String, "
			  "T61String, BMPString or UniversalString");
		goto out;
	}
	/* As certdesk will print it: a valid string, not empty, without NUL. */
	u8len = ASN1_STRING_to_UTF8(&u8, t->value.asn1_string);
	if (u8len <= 0 || memchr(u8, 0, (size_t)u8len)) {
		rc = fail(p, start, CD_EINVAL,
			  u8len < 0    ? "hex value is not a valid string of its type"
			  : u8len == 0 ? "hex value is empty"
				       : "hex value holds a NUL character");
		goto out;
	}
	a->type = t->type;
	a->len = (size_t)t->value.asn1_string->length;
	a->val = malloc(a->len);
	if (!a->val) {
		rc = cd_err_set(p->err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	memcpy(a->val, t->value.asn1_string->data, a->len);
out:
	OPENSSL_free(u8);
	ASN1_TYPE_free(t);
	free(der);
	return rc;
}

/* One "\..." escape at p->i (the backslash); appends the byte to buf. */
static int parse_escape(struct parser *p, unsigned char *buf, size_t *n)
{
	size_t at = p->i;
	int hi, lo;

	if (p->i + 1 >= p->len)
		return fail(p, at, CD_EINVAL, "'\\' at the end of a value");
	hi = hexval(p->s[p->i + 1]);
	if (hi >= 0) {
		lo = p->i + 2 < p->len ? hexval(p->s[p->i + 2]) : -1;
		if (lo < 0)
			return fail(p, at, CD_EINVAL,
				    "'\\' must be followed by two hex digits or "
				    "one of \\ \" + , ; < > # = space");
		if (hi == 0 && lo == 0)
			return fail(p, at, CD_EINVAL, "value holds a NUL byte (\\00)");
		buf[(*n)++] = (unsigned char)(hi << 4 | lo);
		p->i += 3;
		return 0;
	}
	if (!strchr("\\\"+,;<>#= ", p->s[p->i + 1]))
		return fail(p, at, CD_EINVAL,
			    "'\\' must be followed by two hex digits or one of \\ \" + , ; < > # = "
			    "space");
	buf[(*n)++] = (unsigned char)p->s[p->i + 1];
	p->i += 2;
	return 0;
}

/* A string value, unquoted (RFC 4514) or in double quotes (RFC 2253). */
static int parse_string_value(struct parser *p, struct ava *a)
{
	size_t start = p->i, n = 0, keep = 0;
	bool quoted = p->s[p->i] == '"';
	unsigned char *buf = malloc(p->len - p->i + 1);
	int rc = 0;

	if (!buf)
		return cd_err_set(p->err, CD_ENOMEM, false, "out of memory");
	if (quoted)
		p->i++;
	for (;;) {
		char c;

		if (p->i >= p->len) {
			if (quoted) {
				rc = fail(p, start, CD_EINVAL, "quoted value has no closing '\"'");
				goto out;
			}
			break;
		}
		c = p->s[p->i];
		if (c == '\\') {
			rc = parse_escape(p, buf, &n);
			if (rc)
				goto out;
			keep = n; /* escaped characters, spaces included, are kept */
			continue;
		}
		if (quoted && c == '"') {
			p->i++;
			keep = n;
			break;
		}
		if (!quoted && (c == ',' || c == '+'))
			break;
		if (!quoted && (c == '"' || c == ';' || c == '<' || c == '>')) {
			rc = fail(p, p->i, CD_EINVAL, "'%c' must be escaped as '\\%c' in a value",
				  c, c);
			goto out;
		}
		buf[n++] = (unsigned char)c;
		if (c != ' ' || quoted)
			keep = n;
		p->i++;
	}
	n = keep; /* unescaped trailing spaces are not part of the value */
	if (n == 0) {
		rc = fail(p, start, CD_EINVAL, "empty value");
		goto out;
	}
	if (utf8_check(buf, n) != n) {
		rc = fail(p, start, CD_EINVAL, "value is not valid UTF-8");
		goto out;
	}
	a->val = buf;
	a->len = n;
	a->type = V_ASN1_UTF8STRING;
	buf = NULL;
out:
	free(buf);
	return rc;
}

/* The ASN.1 string type the attribute's schema prefers when the value fits
 * it, else UTF8String: names are compared across string types, and a value
 * a certificate carries (C holding a '\\', say) must parse back. */
static void choose_type(int nid, struct ava *a)
{
	bool ascii = true;

	for (size_t k = 0; k < a->len; k++)
		if (a->val[k] >= 0x80)
			ascii = false;
	switch (nid) {
	case NID_countryName:
	case NID_serialNumber:
	case NID_dnQualifier:
	case NID_jurisdictionCountryName:
		if (is_printable_string(a->val, a->len))
			a->type = V_ASN1_PRINTABLESTRING;
		break;
	case NID_pkcs9_emailAddress:
	case NID_domainComponent:
		if (ascii)
			a->type = V_ASN1_IA5STRING;
		break;
	default:
		break;
	}
}

static int parse_ava(struct parser *p)
{
	struct ava *a;
	size_t value_at;
	int nid = NID_undef, rc;

	if (p->n >= DN_MAX_AVAS)
		return fail(p, p->i, CD_ELIMIT, "more than %d attributes", DN_MAX_AVAS);
	a = &p->avas[p->n];
	memset(a, 0, sizeof(*a));
	a->rdn = p->rdn;
	p->n++; /* from here a's fields are freed with the parser */
	skip_spaces(p);
	rc = parse_type(p, &a->obj, &nid);
	if (rc)
		return rc;
	skip_spaces(p);
	if (p->i >= p->len || p->s[p->i] != '=')
		return fail(p, p->i, CD_EINVAL, "expected '=' after the attribute type");
	p->i++;
	skip_spaces(p);
	value_at = p->i;
	/* '#' starts a hexstring only when a hex digit follows: OpenSSL prints a
	 * one-character value "#" unescaped, and it must read back. */
	if (p->i + 1 < p->len && p->s[p->i] == '#' && hexval(p->s[p->i + 1]) >= 0) {
		rc = parse_hex_value(p, a);
		if (rc)
			return rc;
		skip_spaces(p);
		if (p->i < p->len && p->s[p->i] != ',' && p->s[p->i] != '+')
			return fail(p, p->i, CD_EINVAL, "expected ',' or '+' after a hex value");
		return 0;
	}
	if (p->i >= p->len || p->s[p->i] == ',' || p->s[p->i] == '+')
		return fail(p, value_at, CD_EINVAL, "empty value");
	rc = parse_string_value(p, a);
	if (rc)
		return rc;
	skip_spaces(p);
	if (p->i < p->len && p->s[p->i] != ',' && p->s[p->i] != '+')
		return fail(p, p->i, CD_EINVAL, "expected ',' or '+' after a quoted value");
	choose_type(nid, a);
	return 0;
}

static int build(struct parser *p, X509_NAME **out)
{
	X509_NAME *name = X509_NAME_new();
	size_t end = p->n;

	if (!name)
		return cd_err_set(p->err, CD_ENOMEM, false, "out of memory");
	/* RDNs from the last written to the first; AVAs of one RDN share a set. */
	while (end > 0) {
		size_t begin = end;

		while (begin > 0 && p->avas[begin - 1].rdn == p->avas[end - 1].rdn)
			begin--;
		for (size_t k = begin; k < end; k++) {
			struct ava *a = &p->avas[k];

			if (!X509_NAME_add_entry_by_OBJ(name, a->obj, a->type, a->val, (int)a->len,
							-1, k == begin ? 0 : -1)) {
				X509_NAME_free(name);
				return cd_err_set(
				    p->err, CD_EINVAL, false,
				    "distinguished name: OpenSSL refused attribute %zu", k + 1);
			}
		}
		end = begin;
	}
	/* Encoding also computes the canonical form X509_NAME_cmp uses. */
	if (i2d_X509_NAME(name, NULL) <= 0) {
		X509_NAME_free(name);
		return cd_err_set(p->err, CD_EINVAL, false,
				  "distinguished name: the name cannot be encoded");
	}
	*out = name;
	return 0;
}

int dn_parse(const char *s, X509_NAME **out, struct cd_err *err)
{
	struct parser *p;
	int rc = 0;

	if (!s || !out)
		return cd_err_set(err, CD_EINVAL, false, "dn_parse: missing argument");
	*out = NULL;
	if (strlen(s) > DN_TEXT_MAX)
		return cd_err_set(err, CD_ELIMIT, false,
				  "distinguished name is longer than %d bytes", DN_TEXT_MAX);
	p = calloc(1, sizeof(*p));
	if (!p)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	p->s = s;
	p->len = strlen(s);
	p->err = err;
	skip_spaces(p);
	if (p->i >= p->len) {
		rc = cd_err_set(err, CD_EINVAL, false, "distinguished name is empty");
		goto out;
	}
	for (;;) {
		rc = parse_ava(p);
		if (rc)
			goto out;
		if (p->i >= p->len)
			break;
		if (p->s[p->i] == ',')
			p->rdn++;
		p->i++; /* ',' or '+' */
		skip_spaces(p);
		if (p->i >= p->len) {
			rc = fail(p, p->i - 1, CD_EINVAL, "separator at the end");
			goto out;
		}
	}
	rc = build(p, out);
out:
	for (size_t k = 0; k < p->n; k++) {
		ASN1_OBJECT_free(p->avas[k].obj);
		free(p->avas[k].val);
	}
	free(p);
	return rc;
}

/* --- comparing and formatting -------------------------------------------- */

bool dn_equal_der(const X509_NAME *a, const unsigned char *der, size_t derlen)
{
	const unsigned char *q = der;
	X509_NAME *b;
	bool eq;

	if (!a || !der || derlen == 0 || derlen > LONG_MAX)
		return false;
	b = d2i_X509_NAME(NULL, &q, (long)derlen);
	if (!b)
		return false;
	eq = q == der + derlen && X509_NAME_cmp(a, b) == 0;
	X509_NAME_free(b);
	return eq;
}

bool dn_equal_ders(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	const unsigned char *q = a;
	X509_NAME *na;
	bool eq;

	if (!a || !b || alen == 0 || blen == 0 || alen > LONG_MAX)
		return false;
	if (alen == blen && memcmp(a, b, alen) == 0)
		return true;
	na = d2i_X509_NAME(NULL, &q, (long)alen);
	if (!na)
		return false;
	eq = q == a + alen && dn_equal_der(na, b, blen);
	X509_NAME_free(na);
	return eq;
}

char *dn_format(const X509_NAME *name)
{
	const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;
	long len;

	if (!bio)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, flags) < 0)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len < 0)
		goto out;
	out = malloc((size_t)len + 1);
	if (!out)
		goto out;
	if (len > 0)
		memcpy(out, data, (size_t)len);
	out[len] = '\0';
out:
	BIO_free(bio);
	return out;
}
