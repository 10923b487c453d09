/*
 * serial.h - certificate serial numbers as a CA publishes them and as an
 * operator types them, reduced to one comparable form.
 *
 * The normal form is lowercase hexadecimal of the serial as an integer:
 * no leading zeros, no separators, "0" for zero. It is what certinfo reports
 * and what the store keeps, so two serials are equal when their normal forms
 * are (strcmp).
 *
 * Accepted input (surrounding blanks are ignored):
 *   - hexadecimal, any case, optional "0x"/"0X" prefix, leading zeros allowed:
 *       "04d2", "0x4D2", "00:00:04:d2" (as openssl x509 -text prints it),
 *       "04 d2" (as Windows prints it);
 *     separators are ':' or ' ', one kind per serial, one between two octets:
 *     when separators are used every group is two digits, except the first
 *     which may be one;
 *   - decimal with the prefix "dec:": "dec:1234" (a bare "1234" is hex, as
 *     every CA and tool prints serials in hex; the prefix removes the doubt).
 * The integer must fit in 20 octets (RFC 5280 §4.1.2.2). Negative serials
 * (seen in old non-conforming certificates) are not accepted here.
 */
#ifndef CD_CORE_SERIAL_H
#define CD_CORE_SERIAL_H

#include <stddef.h>

#include "util/err.h"

#define SERIAL_MAX_OCTETS 20
#define SERIAL_HEX_MAX	  (2 * SERIAL_MAX_OCTETS) /* hex digits of the normal form */
#define SERIAL_TEXT_MAX	  256			  /* longest input accepted */

/* Writes the normal form of text into out (outsz >= SERIAL_HEX_MAX + 1 is
 * always enough). Returns 0; -CD_EINVAL naming the position (1-based) of the
 * first bad character; -CD_ELIMIT when the value needs more than 20 octets,
 * the text is longer than SERIAL_TEXT_MAX or out is too small. */
int serial_normalize(const char *text, char *out, size_t outsz, struct cd_err *err);

/* The normal form of a big-endian magnitude (as in an ASN1_INTEGER): lowercase
 * hex without leading zeros, "0" for none. Needs outsz >= 2 * len + 1 (or 2);
 * returns the length written, or 0 when out is too small. */
size_t serial_hex_from_bytes(const unsigned char *be, size_t len, char *out, size_t outsz);

#endif
