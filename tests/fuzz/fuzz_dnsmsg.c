/*
 * fuzz_dnsmsg.c - libFuzzer target for the DNS answer reader (src/dcv) and
 * the CAA rule (core/caa.c) fed with whatever CAA records it yields.
 *
 * Checks: no crash or overread; every kept record is one of the four types
 * with a NUL-terminated owner; a CAA verdict that refuses always explains.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caa.h"
#include "dcv/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_answer a;
	static struct caa_record rs[DNSMSG_MAX_RR];
	struct cd_err err = { 0 };
	size_t n = 0;
	char why[300];

	if (dns_answer_parse(data, size, &a, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (a.n > DNSMSG_MAX_RR)
		abort();
	for (size_t i = 0; i < a.n; i++) {
		const struct dns_rr *rr = &a.rr[i];

		if (rr->type != DNS_T_A && rr->type != DNS_T_AAAA && rr->type != DNS_T_CNAME &&
		    rr->type != DNS_T_CAA)
			abort();
		if (strnlen(rr->owner, sizeof(rr->owner)) == sizeof(rr->owner))
			abort();
		if (rr->type == DNS_T_CAA)
			rs[n++] = rr->u.caa;
	}
	if (n && !caa_allows(rs, n, "jprs.jp pebble.letsencrypt.org", why, sizeof(why)) && !why[0])
		abort();
	return 0;
}
