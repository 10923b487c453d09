/*
 * caa.h - whether a CAA record set allows a CA to issue (RFC 8659), as a
 * pure rule: finding the relevant record set is the DNS stage's job.
 */
#ifndef CD_CORE_CAA_H
#define CD_CORE_CAA_H

#include <stdbool.h>
#include <stddef.h>

#define CAA_TAG_MAX   255
#define CAA_VALUE_MAX 1024

struct caa_record {
	unsigned flags; /* bit 128: issuer critical */
	char tag[CAA_TAG_MAX + 1];
	char value[CAA_VALUE_MAX + 1];
};

/* Whether the relevant record set rs (n > 0 records) allows a CA known by
 * one of the space-separated issuer domain names in identities to issue a
 * non-wildcard certificate. When it does not, why says which record forbids
 * it (in plain words, for an operator). */
bool caa_allows(const struct caa_record *rs, size_t n, const char *identities, char *why,
		size_t whysz);

/* The issuer domain name of an "issue" value ("ca.example; account=1" ->
 * "ca.example"; ";" -> ""). Returns false when the value is malformed. */
bool caa_issuer_of(const char *value, char *out, size_t outsz);

#endif
