/*
 * gen-inventory - a large certdesk inventory for the import benchmark.
 *
 *   gen-inventory OUTDIR MEMBERS CERTS [BUNDLE_SIZE]     (BUNDLE_SIZE 1000)
 *
 * Writes into OUTDIR (created if missing):
 *   members.csv       MEMBERS members m1..mN; odd ones carry one precomputed
 *                     argon2id PHC hash (password "bench-password"), even ones
 *                     neither password nor hash (SSO only): the import
 *                     measures parsing and storing, not argon2.
 *   servers.csv       100 servers bench001..bench100 on 127.0.1.1..127.0.1.100
 *   sites.csv         one site per certificate common name
 *   certificates.csv  CERTS rows, pem_file certs/bundle-NNNNN.pem
 *   certs/bundle-NNNNN.pem  BUNDLE_SIZE leaves each
 *   root.pem, g3.pem, g3.dn  the bench root and the G3-like intermediate
 *                     that issued every leaf (for campaign create).
 *
 * Certificate i (1-based) belongs to member ((i-1) % MEMBERS) + 1 and is named
 * c<i>.m<member>.bench.example (SAN: that name and www.<name>). Its dates are a
 * fixed function of i: issued between 2025-12-01 and 2026-10-31, a 1- or 2-year
 * term, validity capped as SC-081 does (398 days before 2026-03-15, 200 after),
 * so some have already expired. Names, dates and terms are the same on every
 * run; keys and serials are fresh.
 *
 * Speed: every leaf shares ONE P-256 key generated at start (the benchmark
 * measures certdesk's import, not key generation; a real inventory has one key
 * per certificate, which makes no difference to the importer). One X509 object
 * is reused: per leaf only the serial, dates, CN and SAN change; the TBS is
 * re-encoded, hashed and signed with one EVP_PKEY_CTX, and the certificate DER
 * is assembled and base64-encoded here. Bundles are shared among worker
 * processes (one per CPU, at most 8; GEN_JOBS overrides) while the parent
 * writes the CSV files.
 *
 * Prints the generation time and rate on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#define N_SERVERS 100
#define MAX_JOBS  8

static const char G3_CN[] = "JPRS Domain Validation Authority - G3";
static const char G3_O[] = "Japan Registry Services Co., Ltd.";
static const char BENCH_PASSWORD[] = "bench-password";

static const char *const PRODUCTS[10] = {
	"jprs_dv_rs_1y", "jprs_dv_rs_1y", "jprs_dv_rs_1y", "jprs_dv_rs_1y", "jprs_dv_rs_1y",
	"jprs_dv_rs_2y", "jprs_dv_rs_2y", "jprs_dv_rs_2y", "jprs_dv_1y",    "jprs_dv_2y",
};

static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("gen-inventory: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ERR_peek_error() != 0)
		ERR_print_errors_fp(stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long parse_count(const char *s, const char *what, unsigned long min,
				 unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		die("%s must be a number from %lu to %lu, not \"%s\"", what, min, max, s);
	return v;
}

/* --- dates (proleptic Gregorian, days since 1970-01-01) -------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void format_date(int64_t days, char out[11])
{
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

/* The fixed facts of certificate i. */
struct leafspec {
	unsigned long member;
	const char *product;
	int64_t term_start, term_end;  /* days; term_end inclusive (Asia/Tokyo dates) */
	int64_t not_before, not_after; /* UTC seconds; not_after inclusive */
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static void leaf_spec(unsigned long i, unsigned long members, struct leafspec *s)
{
	static int64_t first_day, sc081_200, span;
	if (span == 0) {
		first_day = days_from_civil(2025, 12, 1);
		span = days_from_civil(2026, 10, 31) - first_day + 1;
		sc081_200 = days_from_civil(2026, 3, 15);
	}
	s->member = (i - 1) % members + 1;
	s->product = PRODUCTS[i % 10];
	int years = strstr(s->product, "_2y") != NULL ? 2 : 1;
	int64_t issued = first_day + (int64_t)(mix64(i) % (uint64_t)span);
	int y, m, d;
	civil_from_days(issued, &y, &m, &d);
	s->term_start = issued;
	s->term_end = days_from_civil(y + years, (unsigned)m, (unsigned)d) - 1;
	s->not_before = issued * 86400 + 3 * 3600;
	int cap = issued < sc081_200 ? 398 : 200;
	int64_t by_cap = s->not_before + (int64_t)cap * 86400 - 1;
	int64_t by_term = s->term_end * 86400 + 15 * 3600 - 1; /* 23:59:59 +09:00 */
	s->not_after = by_cap < by_term ? by_cap : by_term;
}

/* --- certificates ----------------------------------------------------------- */

static EVP_PKEY *p256_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	if (k == NULL)
		die("cannot generate a P-256 key");
	return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || !X509_add_ext(cert, ext, -1))
		die("cannot add extension %s = %s", OBJ_nid2sn(nid), value);
	X509_EXTENSION_free(ext);
}

static X509_NAME *make_name(const char *c, const char *o, const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	if (n == NULL ||
	    (c && !X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)c, -1,
					      -1, 0)) ||
	    (o && !X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)o, -1,
					      -1, 0)) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
					0))
		die("cannot build a name");
	return n;
}

static void set_serial_random(X509 *x)
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1)
		die("RAND_bytes failed");
	b[0] = (unsigned char)((b[0] & 0x3f) | 0x40);
	if (!ASN1_STRING_set(X509_get_serialNumber(x), b, sizeof b))
		die("cannot set a serial");
}

/* A CA certificate (self-signed when issuer is NULL). */
static X509 *make_ca(X509_NAME *subject, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
		     int64_t nb, int64_t na, const char *bc)
{
	X509 *x = X509_new();
	if (x == NULL || !X509_set_version(x, 2) || !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) ||
	    !X509_set_pubkey(x, key) || !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na))
		die("cannot build a CA certificate");
	set_serial_random(x);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints, bc);
	add_ext(x, issuer ? issuer : x, NID_key_usage,
		issuer ? "critical,digitalSignature,keyCertSign,cRLSign"
		       : "critical,keyCertSign,cRLSign");
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer != NULL) {
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
		add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	}
	if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
		die("cannot sign a CA certificate");
	return x;
}

static void write_pem_file(const char *dir, const char *file, X509 *x)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "w");
	if (f == NULL || !PEM_write_X509(f, x) || fclose(f) != 0)
		die("cannot write %s: %s", path, strerror(errno));
}

/* An output buffer that grows; flushed to a FILE when large. */
struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void buf_need(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->len + n)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (b->p == NULL)
		die("out of memory");
	b->cap = cap;
}

static void buf_put(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* DER tag + length header into out; returns its size. */
static size_t der_header(unsigned char *out, unsigned char tag, size_t len)
{
	size_t n = 0;
	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		out[n++] = 0x81;
		out[n++] = (unsigned char)len;
	} else if (len < 0x10000) {
		out[n++] = 0x82;
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	} else {
		out[n++] = 0x83;
		out[n++] = (unsigned char)(len >> 16);
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	}
	return n;
}

/* The reusable leaf template of one worker. */
struct signer {
	X509 *x;
	X509_NAME *subject;	/* x's own subject (internal pointer) */
	ASN1_OCTET_STRING *san; /* x's SAN extension value (internal pointer) */
	EVP_PKEY_CTX *sign;	/* the CA key, ready for EVP_PKEY_sign */
	unsigned char serial_prefix[8];
	struct buf san_der, der, pem;
};

/* ecdsa-with-SHA256 AlgorithmIdentifier */
static const unsigned char ALG_ECDSA_SHA256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
						  0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static void signer_init(struct signer *s, X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *leaf_key)
{
	memset(s, 0, sizeof *s);
	X509 *x = X509_new();
	X509_NAME *placeholder = make_name(NULL, NULL, "placeholder.bench.example");
	if (x == NULL || !X509_set_version(x, 2) || !X509_set_subject_name(x, placeholder) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) || !X509_set_pubkey(x, leaf_key) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), 0) || !ASN1_TIME_set(X509_getm_notAfter(x), 0))
		die("cannot build the leaf template");
	X509_NAME_free(placeholder);
	set_serial_random(x);
	add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x, ca, NID_key_usage, "critical,digitalSignature");
	add_ext(x, ca, NID_ext_key_usage, "serverAuth,clientAuth");
	add_ext(x, ca, NID_subject_key_identifier, "hash");
	add_ext(x, ca, NID_authority_key_identifier, "keyid:always");
	add_ext(x, ca, NID_subject_alt_name, "DNS:placeholder.bench.example");
	/* Signing once sets both signature AlgorithmIdentifiers; later leaves
	 * only re-encode the TBS and sign its hash. */
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
		die("cannot sign the leaf template");
	int idx = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
	if (idx < 0)
		die("no SAN in the template");
	s->x = x;
	s->san = X509_EXTENSION_get_data(X509_get_ext(x, idx));
	s->subject = X509_get_subject_name(x);
	s->sign = EVP_PKEY_CTX_new(ca_key, NULL);
	if (s->sign == NULL || EVP_PKEY_sign_init(s->sign) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(s->sign, EVP_sha256()) <= 0)
		die("cannot set up signing");
	if (RAND_bytes(s->serial_prefix, sizeof s->serial_prefix) != 1)
		die("RAND_bytes failed");
	s->serial_prefix[0] = (unsigned char)((s->serial_prefix[0] & 0x3f) | 0x40);
}

/* Appends the PEM of leaf i named cn to s->pem. */
static void signer_leaf(struct signer *s, unsigned long i, const char *cn,
			const struct leafspec *spec)
{
	X509 *x = s->x;
	size_t cnlen = strlen(cn);

	/* serial: a random 8-byte prefix of this worker and the index */
	unsigned char serial[16];
	memcpy(serial, s->serial_prefix, 8);
	for (int k = 0; k < 8; k++)
		serial[8 + k] = (unsigned char)((uint64_t)i >> (56 - 8 * k));
	if (!ASN1_STRING_set(X509_get_serialNumber(x), serial, sizeof serial) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)spec->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)spec->not_after))
		die("cannot set serial or dates");

	/* subject CN (delete + add marks the cached encoding stale) */
	X509_NAME_ENTRY *old = X509_NAME_delete_entry(s->subject, 0);
	X509_NAME_ENTRY_free(old);
	if (!X509_NAME_add_entry_by_NID(s->subject, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)cn, (int)cnlen, -1, 0))
		die("cannot set the CN");

	/* SAN: SEQUENCE { [2] cn, [2] "www." cn } (dNSName is IA5String, tag 0x82) */
	struct buf *sb = &s->san_der;
	unsigned char h[8];
	size_t hl;
	sb->len = 0;
	hl = der_header(h, 0x82, cnlen);
	size_t body = hl + cnlen;
	hl = der_header(h, 0x82, cnlen + 4);
	body += hl + cnlen + 4;
	buf_put(sb, h, der_header(h, 0x30, body));
	buf_put(sb, h, der_header(h, 0x82, cnlen));
	buf_put(sb, cn, cnlen);
	buf_put(sb, h, der_header(h, 0x82, cnlen + 4));
	buf_put(sb, "www.", 4);
	buf_put(sb, cn, cnlen);
	if (!ASN1_OCTET_STRING_set(s->san, sb->p, (int)sb->len))
		die("cannot set the SAN");

	/* TBS, its hash, the signature */
	unsigned char *tbs = NULL;
	int tbslen = i2d_re_X509_tbs(x, &tbs);
	if (tbslen <= 0)
		die("cannot encode the TBS");
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	if (!EVP_Digest(tbs, (size_t)tbslen, md, &mdlen, EVP_sha256(), NULL))
		die("cannot hash the TBS");
	unsigned char sig[80];
	size_t siglen = sizeof sig;
	if (EVP_PKEY_sign(s->sign, sig, &siglen, md, mdlen) <= 0)
		die("cannot sign leaf %lu", i);

	/* Certificate ::= SEQUENCE { tbs, algorithm, BIT STRING signature } */
	unsigned char bh[8], ch[8];
	size_t bhl = der_header(bh, 0x03, siglen + 1);
	size_t inner = (size_t)tbslen + sizeof ALG_ECDSA_SHA256 + bhl + 1 + siglen;
	size_t chl = der_header(ch, 0x30, inner);
	s->der.len = 0;
	buf_put(&s->der, ch, chl);
	buf_put(&s->der, tbs, (size_t)tbslen);
	buf_put(&s->der, ALG_ECDSA_SHA256, sizeof ALG_ECDSA_SHA256);
	buf_put(&s->der, bh, bhl);
	buf_put(&s->der, "", 1); /* no unused bits */
	buf_put(&s->der, sig, siglen);
	OPENSSL_free(tbs);

	/* PEM, 64 characters a line */
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	size_t lines = (s->der.len + 47) / 48;
	buf_need(&s->pem, sizeof begin + sizeof end + lines * 66);
	buf_put(&s->pem, begin, sizeof begin - 1);
	for (size_t off = 0; off < s->der.len; off += 48) {
		size_t chunk = s->der.len - off < 48 ? s->der.len - off : 48;
		int w = EVP_EncodeBlock(s->pem.p + s->pem.len, s->der.p + off, (int)chunk);
		s->pem.len += (size_t)w;
		s->pem.p[s->pem.len++] = '\n';
	}
	buf_put(&s->pem, end, sizeof end - 1);
}

static void cert_name(unsigned long i, unsigned long member, char *out, size_t sz)
{
	snprintf(out, sz, "c%lu.m%lu.bench.example", i, member);
}

/* Worker: the bundles b with b % jobs == w. */
static void run_worker(const char *outdir, unsigned w, unsigned jobs, unsigned long members,
		       unsigned long certs, unsigned long bundle, X509 *ca, EVP_PKEY *ca_key,
		       EVP_PKEY *leaf_key)
{
	struct signer s;
	signer_init(&s, ca, ca_key, leaf_key);
	unsigned long nbundles = (certs + bundle - 1) / bundle;
	char path[4096], cn[128];
	for (unsigned long b = w; b < nbundles; b += jobs) {
		unsigned long first = b * bundle + 1, last = (b + 1) * bundle;
		if (last > certs)
			last = certs;
		s.pem.len = 0;
		for (unsigned long i = first; i <= last; i++) {
			struct leafspec spec;
			leaf_spec(i, members, &spec);
			cert_name(i, spec.member, cn, sizeof cn);
			signer_leaf(&s, i, cn, &spec);
		}
		snprintf(path, sizeof path, "%s/certs/bundle-%05lu.pem", outdir, b + 1);
		FILE *f = fopen(path, "w");
		if (f == NULL || fwrite(s.pem.p, 1, s.pem.len, f) != s.pem.len || fclose(f) != 0)
			die("cannot write %s: %s", path, strerror(errno));
	}
}

/* --- CSV files -------------------------------------------------------------- */

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		die("cannot create %s: %s", path, strerror(errno));
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static void close_out(FILE *f, const char *name)
{
	if (ferror(f) || fclose(f) != 0)
		die("cannot write %s", name);
}

static void write_csvs(const char *outdir, unsigned long members, unsigned long certs,
		       unsigned long bundle, const char *phc)
{
	FILE *f = open_out(outdir, "members.csv");
	fputs("member_id,email,display_name,locale,password_hash\n", f);
	for (unsigned long m = 1; m <= members; m++) {
		if (m % 2 == 1)
			fprintf(f, "m%lu,m%lu@bench.example,ベンチ会員 %lu,ja,\"%s\"\n", m, m, m,
				phc);
		else
			fprintf(f, "m%lu,m%lu@bench.example,Bench Member %lu,en,\n", m, m, m);
	}
	close_out(f, "members.csv");

	f = open_out(outdir, "servers.csv");
	fputs("server,ipv4,ipv6,state,driver,http_port,https_port\n", f);
	for (int k = 1; k <= N_SERVERS; k++)
		fprintf(f, "bench%03d,127.0.1.%d,,ok,nginx,18080,18443\n", k, k);
	close_out(f, "servers.csv");

	FILE *sites = open_out(outdir, "sites.csv");
	FILE *crt = open_out(outdir, "certificates.csv");
	fputs("fqdn,member_id,server,state\n", sites);
	fputs("certificate_id,member_id,product,common_name,term_start,term_end,pem_file\n", crt);
	char cn[128], ts[11], te[11];
	for (unsigned long i = 1; i <= certs; i++) {
		struct leafspec spec;
		leaf_spec(i, members, &spec);
		cert_name(i, spec.member, cn, sizeof cn);
		format_date(spec.term_start, ts);
		format_date(spec.term_end, te);
		fprintf(sites, "%s,m%lu,bench%03lu,ok\n", cn, spec.member, (i - 1) % N_SERVERS + 1);
		fprintf(crt, "%lu,m%lu,%s,%s,%s,%s,certs/bundle-%05lu.pem\n", i, spec.member,
			spec.product, cn, ts, te, (i - 1) / bundle + 1);
	}
	close_out(sites, "sites.csv");
	close_out(crt, "certificates.csv");
}

static void mkdir_p1(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die("cannot create %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: gen-inventory OUTDIR MEMBERS CERTS [BUNDLE_SIZE]\n");
		return 2;
	}
	const char *outdir = argv[1];
	unsigned long members = parse_count(argv[2], "MEMBERS", 1, 99999999);
	unsigned long certs = parse_count(argv[3], "CERTS", 1, 999999999);
	unsigned long bundle = argc == 5 ? parse_count(argv[4], "BUNDLE_SIZE", 1, 1000000) : 1000;
	if ((certs + bundle - 1) / bundle > 99999)
		die("more than 99999 bundles: raise BUNDLE_SIZE");

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned jobs = ncpu > 0 ? (unsigned)ncpu : 1;
	const char *env = getenv("GEN_JOBS");
	if (env != NULL && *env != '\0')
		jobs = (unsigned)parse_count(env, "GEN_JOBS", 1, 64);
	else if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	unsigned long nbundles = (certs + bundle - 1) / bundle;
	if (jobs > nbundles)
		jobs = (unsigned)nbundles;

	double t0 = now_s();
	if (sodium_init() < 0)
		die("sodium_init failed");
	char phc[crypto_pwhash_STRBYTES];
	if (crypto_pwhash_str(phc, BENCH_PASSWORD, strlen(BENCH_PASSWORD),
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		die("crypto_pwhash_str failed");

	mkdir_p1(outdir);
	char certsdir[4096];
	snprintf(certsdir, sizeof certsdir, "%s/certs", outdir);
	mkdir_p1(certsdir);

	/* The PKI: a bench root and a G3-like intermediate, 2024..2034. */
	int64_t ca_nb = days_from_civil(2024, 1, 1) * 86400;
	int64_t ca_na = days_from_civil(2034, 1, 1) * 86400;
	EVP_PKEY *root_key = p256_key(), *ca_key = p256_key(), *leaf_key = p256_key();
	X509_NAME *root_name = make_name("JP", "certdesk bench", "certdesk Bench Root CA");
	X509_NAME *ca_name = make_name("JP", G3_O, G3_CN);
	X509 *root = make_ca(root_name, root_key, NULL, NULL, days_from_civil(2020, 1, 1) * 86400,
			     days_from_civil(2045, 1, 1) * 86400, "critical,CA:TRUE");
	X509 *ca =
	    make_ca(ca_name, ca_key, root, root_key, ca_nb, ca_na, "critical,CA:TRUE,pathlen:0");
	write_pem_file(outdir, "root.pem", root);
	write_pem_file(outdir, "g3.pem", ca);
	{
		char path[4096];
		snprintf(path, sizeof path, "%s/g3.dn", outdir);
		FILE *f = fopen(path, "w");
		if (f == NULL || X509_NAME_print_ex_fp(f, ca_name, 0, XN_FLAG_RFC2253) < 0 ||
		    fputc('\n', f) == EOF || fclose(f) != 0)
			die("cannot write %s", path);
	}
	fflush(stdout);
	fflush(stderr);

	pid_t pids[64];
	for (unsigned w = 0; w < jobs; w++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			run_worker(outdir, w, jobs, members, certs, bundle, ca, ca_key, leaf_key);
			_exit(0);
		}
		pids[w] = pid;
	}
	write_csvs(outdir, members, certs, bundle, phc);
	int failed = 0;
	for (unsigned w = 0; w < jobs; w++) {
		int st;
		if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	if (failed)
		die("a worker failed");
	double dt = now_s() - t0;

	printf("gen-inventory: %lu members, %lu certificates in %lu bundles of %lu, "
	       "%u processes: %.2f s, %.0f certificates/s\n",
	       members, certs, nbundles, bundle, jobs, dt, (double)certs / dt);

	X509_free(root);
	X509_free(ca);
	X509_NAME_free(root_name);
	X509_NAME_free(ca_name);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}
