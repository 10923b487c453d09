/*
 * dn.h - distinguished names as operators type them (RFC 4514 strings) and
 * as certificates carry them (DER X509_NAME), and comparing the two the way
 * X.509 compares names (X509_NAME_cmp on the canonical encoding: case and
 * runs of whitespace do not matter in string values).
 *
 * Accepted text (RFC 4514, with the leniencies operators need):
 *   - RDNs separated by ',', the most specific first: "CN=x,O=y,C=JP" is the
 *     Name SEQUENCE { C=JP, O=y, CN=x }; multi-valued RDNs with '+';
 *   - spaces around ',', '+' and '=' are ignored, as are unescaped spaces at
 *     the start and end of a value (escape them, "\ ", to keep them);
 *   - escapes: \\ \" \+ \, \; \< \> \# \= "\ " and \XX hex pairs (UTF-8
 *     bytes); a value in double quotes (RFC 2253) may hold , + ; < >;
 *   - a value starting with '#' and a hex digit is the hex of its BER
 *     encoding, one of the string types names are compared by (UTF8String,
 *     PrintableString, IA5String, T61String, BMPString, UniversalString);
 *     a '#' not followed by a hex digit is a plain '#' (OpenSSL prints the
 *     one-character value "#" that way);
 *   - attribute types by name, case-insensitive (CN, C, L, ST/S, O, OU,
 *     STREET, DC, UID, emailAddress/E, serialNumber, SN, GN, title, ... and
 *     every OpenSSL short or long name), or as a dotted OID ("2.5.4.3",
 *     "OID.2.5.4.3").
 * Refused, naming the 1-based byte position: empty names and values, unknown
 * types, bad escapes, unescaped '"' ';' '<' '>' in a value, NUL bytes,
 * invalid UTF-8, dotted OIDs over DN_OID_MAX characters, more than
 * DN_MAX_AVAS attributes or DN_TEXT_MAX bytes.
 *
 * Values become UTF8String, except C, serialNumber, dnQualifier and
 * jurisdictionC (PrintableString) and emailAddress and DC (IA5String) when
 * the value fits those types (comparison does not depend on the type).
 * Anything dn_format() prints parses back to an equal name.
 */
#ifndef CD_CORE_DN_H
#define CD_CORE_DN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "util/err.h"

#define DN_TEXT_MAX 4096 /* bytes of DN text accepted */
#define DN_MAX_AVAS 64	 /* attribute-value pairs in one name */
#define DN_OID_MAX  64	 /* characters of a dotted OID attribute type */

/* Parses s into a new X509_NAME (*out, freed with X509_NAME_free).
 * Returns 0, -CD_EINVAL (message names the position) or -CD_ELIMIT. */
int dn_parse(const char *s, X509_NAME **out, struct cd_err *err);

/* Whether a equals the DER-encoded Name der[0..derlen) as X.509 compares
 * names. False when der is not exactly one valid Name. */
bool dn_equal_der(const X509_NAME *a, const unsigned char *der, size_t derlen);

/* The same for two DER-encoded Names (identical bytes are equal at once). */
bool dn_equal_ders(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen);

/* The RFC 4514 text of a name (XN_FLAG_RFC2253 but UTF-8 kept as is rather
 * than \XX-escaped), which dn_parse() reads back to an equal name.
 * Returns a malloc'd string (free()), or NULL when out of memory. */
char *dn_format(const X509_NAME *name);

#endif
