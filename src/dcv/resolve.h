/*
 * resolve.h - one DNS question through c-ares (private to src/dcv).
 */
#ifndef CD_DCV_RESOLVE_H
#define CD_DCV_RESOLVE_H

#include "dcv/dcv.h"
#include "dcv/dnsmsg.h"

enum dcv_qstatus { DCV_Q_OK, DCV_Q_NODATA, DCV_Q_NXDOMAIN, DCV_Q_ERROR };

/* Asks the resolver for (name, type). Returns 0 with *status OK (ans filled),
 * NODATA or NXDOMAIN; a negative code with *status ERROR for SERVFAIL,
 * time-outs, refusals and malformed answers (err->retryable set). */
int dcv_query(dcv_resolver_t *r, const char *name, int type, struct dns_answer *ans,
	      enum dcv_qstatus *status, struct cd_err *err);

#endif
