/*
 * dnsmsg.h - reading the answer section of a DNS response (RFC 1035) for
 * the record types preflight needs: A, AAAA, CNAME and CAA (RFC 8659).
 * Private to src/dcv; its own parser so that it can be fuzzed.
 */
#ifndef CD_DCV_DNSMSG_H
#define CD_DCV_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/caa.h"
#include "util/err.h"

#define DNS_T_A	    1
#define DNS_T_CNAME 5
#define DNS_T_AAAA  28
#define DNS_T_CAA   257

#define DNSMSG_MAX_RR 64

struct dns_rr {
	uint16_t type;
	char owner[256];
	union {
		char addr[46];	  /* A, AAAA: text form */
		char target[256]; /* CNAME */
		struct caa_record caa;
	} u;
};

struct dns_answer {
	unsigned rcode;
	size_t n;
	struct dns_rr rr[DNSMSG_MAX_RR]; /* records of the four types, in order */
};

/* Parses a whole response; records of other types are skipped. Names are
 * lower-cased without the trailing dot. -CD_EINVAL with a reason when the
 * message is malformed (truncated, bad pointers, loops). */
int dns_answer_parse(const uint8_t *msg, size_t len, struct dns_answer *out, struct cd_err *err);

#endif
