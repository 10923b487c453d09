/*
 * certinfo.c - reading certificate facts from PEM bundles.
 *
 * The bundle is scanned once, line by line: a line "-----BEGIN <label>-----"
 * opens a block, "-----END <label>-----" closes it. CERTIFICATE blocks are
 * base64-decoded into one reused buffer and decoded; the facts are copied
 * out and the decoded form is freed at once, so memory stays proportional to
 * the facts, and time linear in the bundle. Other blocks are stepped over
 * without decoding; their contents never reach a message or a field.
 *
 * Why not d2i_X509: in OpenSSL 3.0 it also turns the public key into an
 * EVP_PKEY through the provider decoders, which costs ~90% of the time
 * (about 250 us per certificate). certdesk needs only the key's type and
 * size, so certificates are decoded with the ASN.1 template below: the
 * X.509 Certificate structure (RFC 5280 §4.1) with the SubjectPublicKeyInfo
 * kept as algorithm + bit string. Names, times, integers and extensions are
 * still OpenSSL's own types and decoders.
 */
#include "core/certinfo.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/dn.h"
#include "core/serial.h"
#include "util/cdtime.h"

#define LABEL_MAX 64

static const char pem_begin[] = "-----BEGIN ";
static const char pem_end[] = "-----END ";
static const char pem_dashes[] = "-----";

/* --- the certificate, as an ASN.1 template (RFC 5280 §4.1) ---------------- */

typedef struct {
	X509_ALGOR *algor;
	ASN1_BIT_STRING *key;
} CD_SPKI;

typedef struct {
	ASN1_INTEGER *version;
	ASN1_INTEGER *serial;
	X509_ALGOR *sig_alg;
	X509_NAME *issuer;
	X509_VAL *validity;
	X509_NAME *subject;
	CD_SPKI *spki;
	ASN1_BIT_STRING *issuer_uid;
	ASN1_BIT_STRING *subject_uid;
	STACK_OF(X509_EXTENSION) * extensions;
} CD_TBS;

typedef struct {
	CD_TBS *tbs;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} CD_CERT;

/* RSAPublicKey (RFC 8017 A.1.1), for the modulus size. */
typedef struct {
	ASN1_INTEGER *n;
	ASN1_INTEGER *e;
} CD_RSAPUB;

ASN1_SEQUENCE(CD_SPKI) = {
	ASN1_SIMPLE(CD_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(CD_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CD_SPKI)

ASN1_SEQUENCE(CD_TBS) = {
	ASN1_EXP_OPT(CD_TBS, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(CD_TBS, serial, ASN1_INTEGER),
	ASN1_SIMPLE(CD_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CD_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(CD_TBS, validity, X509_VAL),
	ASN1_SIMPLE(CD_TBS, subject, X509_NAME),
	ASN1_SIMPLE(CD_TBS, spki, CD_SPKI),
	ASN1_IMP_OPT(CD_TBS, issuer_uid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(CD_TBS, subject_uid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(CD_TBS, extensions, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END(CD_TBS)

ASN1_SEQUENCE(CD_CERT) = {
	ASN1_SIMPLE(CD_CERT, tbs, CD_TBS),
	ASN1_SIMPLE(CD_CERT, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CD_CERT, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CD_CERT)

ASN1_SEQUENCE(CD_RSAPUB) = {
	ASN1_SIMPLE(CD_RSAPUB, n, ASN1_INTEGER),
	ASN1_SIMPLE(CD_RSAPUB, e, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(CD_RSAPUB)

/* Everything one parse shares: the digest, the DER scratch buffer, and the
 * last issuer name (leaves in one bundle mostly share their issuer). */
struct scan {
	EVP_MD *sha256;
	unsigned char *der;
	size_t dercap;
	unsigned char *issuer_der;
	size_t issuer_der_len;
	char *issuer_dn;
	struct cd_err *err;
};

/* --- small helpers ------------------------------------------------------- */

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* A lower-cased copy of a DNS name, or NULL when it cannot be one. */
static char *dns_copy(const unsigned char *s, size_t len)
{
	char *out;

	if (len == 0 || len > CERTINFO_NAME_MAX || memchr(s, '\0', len))
		return NULL;
	out = malloc(len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++)
		out[i] = ascii_lower((char)s[i]);
	out[len] = '\0';
	return out;
}

static void certinfo_clear(struct certinfo *ci)
{
	free(ci->pem);
	for (size_t i = 0; i < ci->nsans; i++)
		free(ci->sans[i]);
	free(ci->sans);
	free(ci->subject_dn);
	free(ci->subject_der);
	free(ci->issuer_dn);
	free(ci->issuer_der);
	memset(ci, 0, sizeof(*ci));
}

void certinfo_list_free(struct certinfo_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		certinfo_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

/* --- base64 of a PEM body ------------------------------------------------ */

/* Decodes base64 text, skipping whitespace; '=' padding only at the end and
 * the count of base64 characters a multiple of four (as PEM writes it).
 * Returns the decoded length, or -1. out must hold len * 3 / 4 + 3 bytes. */
static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static long b64_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned acc = 0;
	size_t n = 0, chars = 0, pad = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			chars++;
			continue;
		}
		v = b64val(c);
		if (v < 0 || pad > 0)
			return -1;
		chars++;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (chars % 4 != 0 || pad > 2 || n > LONG_MAX)
		return -1;
	return (long)n;
}

/* Canonical PEM of der. */
static char *pem_of(const unsigned char *der, size_t derlen, size_t *pem_len)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n";
	static const char tail[] = "-----END CERTIFICATE-----\n";
	size_t lines = (derlen + 47) / 48;
	size_t cap = sizeof(head) + sizeof(tail) + lines * 65 + 1;
	char *out = malloc(cap), *p;

	if (!out)
		return NULL;
	p = out;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (size_t off = 0; off < derlen; off += 48) {
		int chunk = (int)(derlen - off < 48 ? derlen - off : 48);

		p += EVP_EncodeBlock((unsigned char *)p, der + off, chunk);
		*p++ = '\n';
	}
	memcpy(p, tail, sizeof(tail));
	p += sizeof(tail) - 1;
	*pem_len = (size_t)(p - out);
	return out;
}

/* --- the facts of one certificate ---------------------------------------- */

static void subject_cn_of(const X509_NAME *subj, char out[CERTINFO_NAME_MAX + 1])
{
	int idx = -1, last = -1;
	unsigned char *utf8 = NULL;
	int len;

	out[0] = '\0';
	while ((idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0)
		last = idx;
	if (last < 0)
		return;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, last)));
	if (len > 0 && len <= CERTINFO_NAME_MAX && !memchr(utf8, '\0', (size_t)len)) {
		for (int i = 0; i < len; i++)
			out[i] = ascii_lower((char)utf8[i]);
		out[len] = '\0';
	}
	OPENSSL_free(utf8);
}

/* The decoded extension nid, NULL when absent; *bad when it is present
 * but malformed or present twice. */
static void *ext_of(const STACK_OF(X509_EXTENSION) * exts, int nid, bool *bad)
{
	int crit = -1;
	void *v;

	if (!exts)
		return NULL;
	v = X509V3_get_d2i(exts, nid, &crit, NULL);
	if (!v && crit != -1)
		*bad = true;
	return v;
}

static int sans_of(const GENERAL_NAMES *gens, struct certinfo *ci, struct cd_err *err)
{
	int n = sk_GENERAL_NAME_num(gens);

	if (n <= 0)
		return 0;
	ci->sans = calloc((size_t)n, sizeof(char *));
	if (!ci->sans)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char *name;

		if (g->type != GEN_DNS)
			continue;
		name = dns_copy(ASN1_STRING_get0_data(g->d.dNSName),
				(size_t)ASN1_STRING_length(g->d.dNSName));
		if (name)
			ci->sans[ci->nsans++] = name;
	}
	return 0;
}

/* Copies a name's DER and RFC 4514 text; cache (may be NULL) remembers the
 * last name formatted, to skip formatting the same issuer again. */
static int name_of(const X509_NAME *name, struct scan *cache, char **text, unsigned char **der,
		   size_t *derlen)
{
	const unsigned char *p;
	size_t n;

	if (!X509_NAME_get0_der(name, &p, &n))
		return -1;
	*der = malloc(n ? n : 1);
	if (!*der)
		return -1;
	memcpy(*der, p, n);
	*derlen = n;
	if (cache && cache->issuer_dn && cache->issuer_der_len == n &&
	    memcmp(cache->issuer_der, p, n) == 0) {
		*text = strdup(cache->issuer_dn);
		return *text ? 0 : -1;
	}
	*text = dn_format(name);
	if (!*text)
		return -1;
	if (cache) {
		unsigned char *d = malloc(n ? n : 1);
		char *t = strdup(*text);

		if (!d || !t) { /* the cache is only an optimisation */
			free(d);
			free(t);
			return 0;
		}
		memcpy(d, p, n);
		free(cache->issuer_der);
		free(cache->issuer_dn);
		cache->issuer_der = d;
		cache->issuer_der_len = n;
		cache->issuer_dn = t;
	}
	return 0;
}

static bool time_of(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = cd_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * CD_SECS_PER_DAY +
	       tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return true;
}

/* Bits of a big-endian magnitude. */
static int bits_of(const ASN1_INTEGER *n)
{
	const unsigned char *p = ASN1_STRING_get0_data(n);
	int len = ASN1_STRING_length(n), bits;

	while (len > 0 && *p == 0) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	bits = 8 * (len - 1);
	for (unsigned c = *p; c; c >>= 1)
		bits++;
	return bits;
}

/* The slow way, for the rare key types the fast path does not know. */
static void key_type_of_pkey(const CD_SPKI *spki, char out[24])
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pk;
	int len = ASN1_item_i2d((const ASN1_VALUE *)spki, &der, ASN1_ITEM_rptr(CD_SPKI));

	if (len <= 0)
		return;
	p = der;
	pk = d2i_PUBKEY(NULL, &p, len);
	if (pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_DSA)
		snprintf(out, 24, "dsa%d", EVP_PKEY_get_bits(pk));
	EVP_PKEY_free(pk);
	OPENSSL_free(der);
}

static void key_type_of(const CD_SPKI *spki, char out[24])
{
	const ASN1_OBJECT *alg;
	const void *pval;
	int ptype, nid;

	strcpy(out, "unknown");
	X509_ALGOR_get0(&alg, &ptype, &pval, spki->algor);
	nid = OBJ_obj2nid(alg);
	if (nid == NID_rsaEncryption || nid == NID_rsassaPss) {
		const unsigned char *p = spki->key->data;
		CD_RSAPUB *rsa;

		if ((spki->key->flags & 0x07) != 0) /* unused bits: not a DER key */
			return;
		rsa = (CD_RSAPUB *)ASN1_item_d2i(NULL, &p, spki->key->length,
						 ASN1_ITEM_rptr(CD_RSAPUB));
		if (!rsa)
			return;
		snprintf(out, 24, "%s%d", nid == NID_rsaEncryption ? "rsa" : "rsapss",
			 bits_of(rsa->n));
		ASN1_item_free((ASN1_VALUE *)rsa, ASN1_ITEM_rptr(CD_RSAPUB));
	} else if (nid == NID_X9_62_id_ecPublicKey) {
		int curve = ptype == V_ASN1_OBJECT ? OBJ_obj2nid(pval) : NID_undef;

		strcpy(out, curve == NID_X9_62_prime256v1 ? "ec-p256"
			    : curve == NID_secp384r1	  ? "ec-p384"
			    : curve == NID_secp521r1	  ? "ec-p521"
							  : "ec-other");
	} else if (nid == NID_ED25519) {
		strcpy(out, "ed25519");
	} else if (nid == NID_ED448) {
		strcpy(out, "ed448");
	} else if (nid == NID_dsa) {
		key_type_of_pkey(spki, out);
	}
}

static int keyid_of(const ASN1_OCTET_STRING *id, char *out, const char *what, const char *where,
		    struct cd_err *err)
{
	out[0] = '\0';
	if (!id)
		return 0;
	if (ASN1_STRING_length(id) > CERTINFO_KEYID_MAX)
		return cd_err_set(err, CD_EINVAL, false, "%s: %s longer than %d octets", where,
				  what, CERTINFO_KEYID_MAX);
	hex_of(ASN1_STRING_get0_data(id), (size_t)ASN1_STRING_length(id), out);
	return 0;
}

static int serial_of(const ASN1_INTEGER *sn, char *out, size_t outsz, const char *where,
		     struct cd_err *err)
{
	if (ASN1_STRING_length(sn) > 32)
		return cd_err_set(err, CD_EINVAL, false, "%s: serial number longer than 32 octets",
				  where);
	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER) {
		*out++ = '-';
		outsz--;
	}
	serial_hex_from_bytes(ASN1_STRING_get0_data(sn), (size_t)ASN1_STRING_length(sn), out,
			      outsz);
	return 0;
}

/* The extensions certdesk reads: basicConstraints, SKI, AKI, SANs. */
static int extensions_of(const STACK_OF(X509_EXTENSION) * exts, struct certinfo *ci,
			 const char *where, struct cd_err *err)
{
	BASIC_CONSTRAINTS *bc;
	ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *aki;
	GENERAL_NAMES *sans;
	bool bad = false;
	int rc = 0;

	bc = ext_of(exts, NID_basic_constraints, &bad);
	ski = ext_of(exts, NID_subject_key_identifier, &bad);
	aki = ext_of(exts, NID_authority_key_identifier, &bad);
	sans = ext_of(exts, NID_subject_alt_name, &bad);
	if (bad) {
		rc = cd_err_set(err, CD_EINVAL, false,
				"%s: the certificate has a malformed or duplicate extension "
				"(basicConstraints, key identifiers or subjectAltName)",
				where);
		goto out;
	}
	ci->is_ca = bc && bc->ca;
	rc = keyid_of(ski, ci->ski, "subject key identifier", where, err);
	if (rc)
		goto out;
	rc = keyid_of(aki ? aki->keyid : NULL, ci->aki, "authority key identifier", where, err);
	if (rc)
		goto out;
	if (sans)
		rc = sans_of(sans, ci, err);
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	GENERAL_NAMES_free(sans);
	return rc;
}

static int facts_of(struct scan *sc, const CD_CERT *cert, const unsigned char *der, size_t derlen,
		    struct certinfo *ci, const char *where)
{
	const CD_TBS *tbs = cert->tbs;
	struct cd_err *err = sc->err;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	long version = tbs->version ? ASN1_INTEGER_get(tbs->version) : 0;
	int rc;

	if (version < 0 || version > 2)
		return cd_err_set(err, CD_EINVAL, false, "%s: unknown certificate version", where);
	rc = serial_of(tbs->serial, ci->serial, sizeof(ci->serial), where, err);
	if (rc)
		return rc;
	if (!time_of(tbs->validity->notBefore, &ci->not_before) ||
	    !time_of(tbs->validity->notAfter, &ci->not_after))
		return cd_err_set(err, CD_EINVAL, false, "%s: invalid notBefore or notAfter time",
				  where);
	rc = extensions_of(tbs->extensions, ci, where, err);
	if (rc)
		return rc;
	if (EVP_Digest(der, derlen, md, &mdlen, sc->sha256, NULL) != 1)
		return cd_err_set(err, CD_ECRYPTO, false, "%s: SHA-256 failed", where);
	hex_of(md, mdlen, ci->sha256);
	subject_cn_of(tbs->subject, ci->subject_cn);
	if (name_of(tbs->subject, NULL, &ci->subject_dn, &ci->subject_der, &ci->subject_der_len) !=
		0 ||
	    name_of(tbs->issuer, sc, &ci->issuer_dn, &ci->issuer_der, &ci->issuer_der_len) != 0)
		return cd_err_set(err, CD_ENOMEM, false, "%s: cannot copy the names", where);
	key_type_of(tbs->spki, ci->key_type);
	ci->pem = pem_of(der, derlen, &ci->pem_len);
	if (!ci->pem)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	return 0;
}

/* --- the PEM scan -------------------------------------------------------- */

struct line {
	const char *s;
	size_t len; /* without the newline, trailing CR and blanks */
};

/* The line starting at *pos; advances *pos past its newline. */
static struct line next_line(const char *buf, size_t len, size_t *pos)
{
	struct line l = { buf + *pos, 0 };
	const char *nl = memchr(l.s, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - l.s) : len - *pos;

	*pos += n + (nl ? 1 : 0);
	while (n > 0 && (l.s[n - 1] == '\r' || l.s[n - 1] == ' ' || l.s[n - 1] == '\t'))
		n--;
	l.len = n;
	return l;
}

/* If l is "<prefix><label>-----", the label. */
static bool boundary(struct line l, const char *prefix, const char **label, size_t *label_len)
{
	size_t pl = strlen(prefix), dl = strlen(pem_dashes);

	if (l.len < pl + dl + 1 || memcmp(l.s, prefix, pl) != 0 ||
	    memcmp(l.s + l.len - dl, pem_dashes, dl) != 0)
		return false;
	*label = l.s + pl;
	*label_len = l.len - pl - dl;
	return *label_len <= LABEL_MAX;
}

static bool label_is(const char *label, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(label, want, len) == 0;
}

/* A printable copy of a block label for messages (labels are not secret). */
static void label_text(const char *label, size_t len, char out[LABEL_MAX + 1])
{
	for (size_t i = 0; i < len; i++)
		out[i] = (label[i] >= 0x20 && label[i] < 0x7f) ? label[i] : '?';
	out[len] = '\0';
}

static int list_push(struct certinfo_list *l, struct certinfo **out, struct cd_err *err)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct certinfo *n = realloc(l->items, cap * sizeof(*n));

		if (!n)
			return cd_err_set(err, CD_ENOMEM, false, "out of memory");
		l->items = n;
		l->cap = cap;
	}
	*out = &l->items[l->count++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static int parse_cert_block(struct scan *sc, const char *body, size_t bodylen, size_t block,
			    size_t line, struct certinfo_list *out)
{
	struct cd_err *err = sc->err;
	const unsigned char *p;
	struct certinfo *ci = NULL;
	CD_CERT *cert = NULL;
	char where[96];
	size_t need = bodylen / 4 * 3 + 3;
	long derlen;
	int rc;

	snprintf(where, sizeof(where), "PEM block %zu (CERTIFICATE, line %zu)", block, line);
	if (out->count >= CERTINFO_MAX_CERTS)
		return cd_err_set(err, CD_ELIMIT, false,
				  "%s: more than %d certificates in one bundle", where,
				  CERTINFO_MAX_CERTS);
	if (need > CERTINFO_MAX_DER + 3)
		return cd_err_set(err, CD_ELIMIT, false, "%s: certificate larger than %u bytes",
				  where, CERTINFO_MAX_DER);
	if (need > sc->dercap) {
		unsigned char *n = realloc(sc->der, need);

		if (!n)
			return cd_err_set(err, CD_ENOMEM, false, "out of memory");
		sc->der = n;
		sc->dercap = need;
	}
	derlen = b64_decode(body, bodylen, sc->der);
	if (derlen <= 0)
		return cd_err_set(err, CD_EINVAL, false, "%s: the body is not valid base64", where);
	p = sc->der;
	cert = (CD_CERT *)ASN1_item_d2i(NULL, &p, derlen, ASN1_ITEM_rptr(CD_CERT));
	if (!cert)
		return cd_err_set(err, CD_EINVAL, false, "%s: not a valid X.509 certificate",
				  where);
	if (p != sc->der + derlen) {
		rc = cd_err_set(err, CD_EINVAL, false,
				"%s: %ld bytes follow the certificate in the block", where,
				(long)(sc->der + derlen - p));
		goto out;
	}
	rc = list_push(out, &ci, err);
	if (rc)
		goto out;
	ci->block = block;
	ci->line = line;
	rc = facts_of(sc, cert, sc->der, (size_t)derlen, ci, where);
	if (rc) {
		certinfo_clear(ci);
		out->count--;
	}
out:
	ASN1_item_free((ASN1_VALUE *)cert, ASN1_ITEM_rptr(CD_CERT));
	return rc;
}

/* Counts CERTIFICATE BEGIN lines, so an oversized bundle is refused before
 * any certificate is decoded. */
static size_t count_cert_blocks(const char *buf, size_t len)
{
	static const char c1[] = "-----BEGIN CERTIFICATE-----";
	static const char c2[] = "-----BEGIN X509 CERTIFICATE-----";
	size_t n = 0, pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - buf) - pos : len - pos;

		if ((l >= sizeof(c1) - 1 && memcmp(buf + pos, c1, sizeof(c1) - 1) == 0) ||
		    (l >= sizeof(c2) - 1 && memcmp(buf + pos, c2, sizeof(c2) - 1) == 0))
			n++;
		pos += l + 1;
	}
	return n;
}

int certinfo_parse_bundle(const char *buf, size_t len, struct certinfo_list *out,
			  struct cd_err *err)
{
	struct scan sc = { .err = err };
	size_t pos = 0, lineno = 0, block = 0;
	int rc = 0;

	if (!out || (!buf && len))
		return cd_err_set(err, CD_EINVAL, false, "certinfo_parse_bundle: missing argument");
	if (len > CERTINFO_MAX_BYTES)
		return cd_err_set(err, CD_ELIMIT, false,
				  "PEM data of %zu bytes is over the %u limit", len,
				  CERTINFO_MAX_BYTES);
	if (count_cert_blocks(buf, len) > CERTINFO_MAX_CERTS)
		return cd_err_set(err, CD_ELIMIT, false,
				  "PEM data holds more than %d certificates; split the bundle",
				  CERTINFO_MAX_CERTS);
	sc.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sc.sha256)
		return cd_err_set(err, CD_ECRYPTO, false, "OpenSSL has no SHA-256");
	while (pos < len) {
		struct line l = next_line(buf, len, &pos);
		const char *label, *body, *elabel;
		size_t label_len, elabel_len, begin_line, body_end;
		char lt[LABEL_MAX + 1];
		bool closed = false;

		lineno++;
		if (!boundary(l, pem_begin, &label, &label_len))
			continue;
		block++;
		begin_line = lineno;
		body = buf + pos;
		body_end = pos;
		label_text(label, label_len, lt);
		while (pos < len) {
			size_t here = pos;
			struct line e = next_line(buf, len, &pos);

			lineno++;
			if (boundary(e, pem_end, &elabel, &elabel_len) && elabel_len == label_len &&
			    memcmp(elabel, label, label_len) == 0) {
				body_end = here;
				closed = true;
				break;
			}
			if (e.len >= strlen(pem_begin) &&
			    memcmp(e.s, pem_begin, strlen(pem_begin)) == 0)
				break;
		}
		if (!closed) {
			rc = cd_err_set(err, CD_EINVAL, false,
					"PEM block %zu (%s, line %zu) has no END line", block, lt,
					begin_line);
			goto out;
		}
		if (!label_is(label, label_len, "CERTIFICATE") &&
		    !label_is(label, label_len, "X509 CERTIFICATE"))
			continue; /* keys and everything else: never decoded, never copied */
		rc = parse_cert_block(&sc, body, (size_t)(buf + body_end - body), block, begin_line,
				      out);
		if (rc)
			goto out;
	}
	if (out->count == 0)
		rc = cd_err_set(err, CD_EINVAL, false, "no certificate in PEM data");
out:
	if (rc)
		certinfo_list_free(out);
	EVP_MD_free(sc.sha256);
	free(sc.der);
	free(sc.issuer_der);
	free(sc.issuer_dn);
	return rc;
}

/* --- names --------------------------------------------------------------- */

/* Length of name without one trailing dot. */
static size_t name_len(const char *name)
{
	size_t n = strlen(name);

	return (n > 0 && name[n - 1] == '.') ? n - 1 : n;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && alen > 0 && strncasecmp(a, b, alen) == 0;
}

/* 2: pattern names name exactly; 1: covers it as a wildcard; 0: neither. */
static int pattern_match(const char *pattern, const char *name, size_t nlen)
{
	size_t plen = strlen(pattern);
	const char *rest, *dot;
	size_t rlen;

	if (same_name(pattern, plen, name, nlen))
		return 2;
	if (plen < 3 || pattern[0] != '*' || pattern[1] != '.' || name[0] == '*')
		return 0;
	rest = pattern + 2;
	rlen = plen - 2;
	if (!memchr(rest, '.', rlen) || rest[0] == '.' || rest[rlen - 1] == '.' ||
	    memchr(rest, '*', rlen))
		return 0;
	dot = memchr(name, '.', nlen);
	if (!dot || dot == name)
		return 0;
	return same_name(rest, rlen, dot + 1, nlen - (size_t)(dot + 1 - name)) ? 1 : 0;
}

/* The best match of ci for name: 2 exact, 1 wildcard, 0 none. */
static int cover_rank(const struct certinfo *ci, const char *name)
{
	size_t nlen;
	int best;

	if (!ci || !name || !*name)
		return 0;
	nlen = name_len(name);
	if (nlen == 0)
		return 0;
	best = ci->subject_cn[0] ? pattern_match(ci->subject_cn, name, nlen) : 0;
	for (size_t i = 0; i < ci->nsans && best < 2; i++) {
		int m = pattern_match(ci->sans[i], name, nlen);

		if (m > best)
			best = m;
	}
	return best;
}

bool certinfo_covers(const struct certinfo *ci, const char *name)
{
	return cover_rank(ci, name) > 0;
}

const struct certinfo *certinfo_find_leaf(const struct certinfo_list *list, const char *name)
{
	const struct certinfo *best = NULL;
	int best_rank = 0;

	if (!list)
		return NULL;
	for (size_t i = 0; i < list->count; i++) {
		const struct certinfo *ci = &list->items[i];
		int rank;

		if (ci->is_ca)
			continue;
		rank = cover_rank(ci, name);
		if (rank == 0)
			continue;
		if (!best || rank > best_rank ||
		    (rank == best_rank &&
		     (ci->not_after > best->not_after ||
		      (ci->not_after == best->not_after && ci->not_before > best->not_before)))) {
			best = ci;
			best_rank = rank;
		}
	}
	return best;
}

bool certinfo_matches_issuer_cert(const struct certinfo *leaf, const struct certinfo *issuer)
{
	if (!leaf || !issuer)
		return false;
	if (leaf->aki[0] && issuer->ski[0] && strcmp(leaf->aki, issuer->ski) != 0)
		return false;
	return dn_equal_ders(leaf->issuer_der, leaf->issuer_der_len, issuer->subject_der,
			     issuer->subject_der_len);
}
