/*
 * names.h - domain names as certdesk accepts them (DESIGN.md §3.2).
 *
 * A name is normalised once, at the edge, and stored in its normal form:
 * LDH labels, lower case, no trailing dot, U-labels as A-labels (libidn2),
 * label <= 63 octets, name <= 253. Refused: IP literals, empty labels, '/',
 * '\', "..", NUL, control characters, and wildcards unless allowed.
 */
#ifndef CD_CORE_NAMES_H
#define CD_CORE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define NAME_MAX_LEN   253
#define NAME_LABEL_MAX 63

enum name_flags {
	NAME_ALLOW_WILDCARD = 1 << 0, /* a leading "*." label (never for RS products) */
};

/* in: UTF-8 text of length len (may hold NUL: refused). out: the A-label form.
 * Returns 0 or -CD_EINVAL with a message saying what is wrong. */
int name_normalize(const char *in, size_t len, unsigned flags, char out[NAME_MAX_LEN + 1],
		   struct cd_err *err);

/* The SAN candidate for a normalised name: "www." + name, or name without
 * "www.". Returns 1 with out filled, 0 when there is none (the candidate
 * would be a public suffix, or too long). */
int name_san_candidate(const char *name, char out[NAME_MAX_LEN + 1]);

/* Whether a normalised name is itself a public suffix (libpsl). */
bool name_is_public_suffix(const char *name);

/* base + "/" + name [+ "/" + file] into out, refusing anything that would
 * leave base (name must be a normalised name; file a plain file name).
 * Returns 0, -CD_EINVAL or -CD_ELIMIT. */
int name_path(const char *base, const char *name, const char *file, char *out, size_t outsz,
	      struct cd_err *err);

#endif
