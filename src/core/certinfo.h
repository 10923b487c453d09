/*
 * certinfo.h - the facts certdesk reads from PEM certificates: names, issuer,
 * serial, validity, fingerprint, key identifiers, key type (DESIGN.md §5).
 *
 * Pure: parses a memory buffer, no file I/O, no clock. A bundle may hold many
 * PEM blocks; CERTIFICATE blocks are parsed, every other block (private
 * keys included) is skipped without being copied or quoted anywhere.
 */
#ifndef CD_CORE_CERTINFO_H
#define CD_CORE_CERTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CERTINFO_NAME_MAX   253		 /* a DNS name */
#define CERTINFO_SERIAL_MAX (1 + 2 * 32) /* '-' + 32 octets of hex */
#define CERTINFO_KEYID_MAX  64		 /* octets of an AKI/SKI key id */
#define CERTINFO_MAX_CERTS  100000	 /* certificates in one bundle */
#define CERTINFO_MAX_BYTES  (256u << 20) /* bytes of one bundle */
#define CERTINFO_MAX_DER    (1u << 20)	 /* bytes of one certificate */

struct certinfo {
	/* This certificate alone, canonical PEM (64-column base64, LF, one
	 * trailing newline), NUL-terminated; pem_len excludes the NUL. */
	char *pem;
	size_t pem_len;
	/* The last (most specific) CN of the subject, ASCII lower-cased; empty
	 * when there is none or it cannot be a DNS name (> 253 bytes, NUL). */
	char subject_cn[CERTINFO_NAME_MAX + 1];
	/* dNSName SANs in certificate order, ASCII lower-cased; entries that
	 * are empty, longer than 253 bytes or hold a NUL are left out. */
	char **sans;
	size_t nsans;
	/* Names as RFC 4514 text (dn_format) and as DER (for exact comparison
	 * with dn_equal_ders / X509_NAME_cmp). */
	char *subject_dn;
	unsigned char *subject_der;
	size_t subject_der_len;
	char *issuer_dn;
	unsigned char *issuer_der;
	size_t issuer_der_len;
	/* Lowercase hex without leading zeros ("0" for zero); a '-' in front
	 * for the negative serials of some old certificates. Same form as
	 * serial_normalize(). */
	char serial[CERTINFO_SERIAL_MAX + 1];
	int64_t not_before, not_after; /* UTC seconds since the epoch */
	char sha256[65];	       /* of the DER, lowercase hex */
	/* Key identifiers, lowercase hex, empty when absent. */
	char aki[2 * CERTINFO_KEYID_MAX + 1];
	char ski[2 * CERTINFO_KEYID_MAX + 1];
	bool is_ca; /* basicConstraints cA = TRUE */
	/* "rsa2048", "rsapss3072", "ec-p256", "ec-p384", "ec-p521", "ec-other",
	 * "ed25519", "ed448", "dsa2048", or "unknown". */
	char key_type[24];
	size_t block; /* 1-based number of its PEM block in the bundle */
	size_t line;  /* line of its BEGIN line in the bundle */
};

struct certinfo_list {
	struct certinfo *items;
	size_t count;
	size_t cap;
};

/*
 * Parses every PEM block of buf[0..len) (which need not be NUL-terminated),
 * appending a certinfo per CERTIFICATE (or "X509 CERTIFICATE") block to out,
 * which must be zeroed or previously freed. Text between blocks is ignored
 * (RFC 7468); other blocks are skipped. Errors (-CD_EINVAL unless said):
 *   "no certificate in PEM data" (empty input, keys only, no PEM at all);
 *   a block without its END line, a CERTIFICATE block that is not base64 or
 *   not one valid X.509 certificate, or has a malformed or duplicate
 *   extension: the message names the block number and its line;
 *   -CD_ELIMIT: more than CERTINFO_MAX_CERTS certificates, a bundle over
 *   CERTINFO_MAX_BYTES or a certificate over CERTINFO_MAX_DER.
 * On error out holds nothing (it is freed). Cost is linear in len.
 */
int certinfo_parse_bundle(const char *buf, size_t len, struct certinfo_list *out,
			  struct cd_err *err);

/*
 * Whether the certificate is valid for name (a normalised DNS name, ASCII,
 * any case, one trailing dot ignored): its subject CN or a dNSName SAN
 * equals name (case-insensitively), or is a wildcard "*.rest" where name is
 * exactly one more label in front of rest and rest has at least two labels
 * ("*.example.jp" covers "www.example.jp", not "example.jp", not
 * "a.b.example.jp"; "*.jp" covers nothing). Partial-label wildcards
 * ("w*.example.jp") only match themselves.
 */
bool certinfo_covers(const struct certinfo *ci, const char *name);

/*
 * The leaf for name in a bundle: among the certificates that are not CAs and
 * cover name, one that names it exactly (CN or SAN) is preferred over one
 * that covers it by a wildcard; among those, the latest not_after, then the
 * latest not_before, then the first in the bundle. NULL when none covers it.
 */
const struct certinfo *certinfo_find_leaf(const struct certinfo_list *list, const char *name);

/*
 * Whether issuer could have issued leaf: leaf's issuer name equals issuer's
 * subject name as X.509 compares names, and, when leaf has an AKI key id
 * and issuer an SKI, the two are equal. Signatures are not checked.
 */
bool certinfo_matches_issuer_cert(const struct certinfo *leaf, const struct certinfo *issuer);

/* Frees every certinfo of the list and zeroes it (NULL is fine). */
void certinfo_list_free(struct certinfo_list *list);

#endif
