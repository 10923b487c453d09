/*
 * dcv.h - domain checks before anything is asked of the CA (preflight), and
 * the placement of http-01 tokens.
 *
 * Preflight asks the configured resolver ([dcv] resolver, c-ares) for the A
 * and AAAA records of a certificate's common name and of its SAN candidate
 * (DESIGN.md 3.2), and for CAA (RFC 8659: the closest name up the tree that
 * has a CAA set decides, CNAMEs followed). The answer is a verdict in core
 * terms (failure codes) with a detail an operator can act on.
 */
#ifndef CD_DCV_DCV_H
#define CD_DCV_DCV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/failure.h"
#include "util/config.h"
#include "util/err.h"

typedef struct dcv_resolver dcv_resolver_t;

/* A resolver from [dcv] resolver (ADDR:PORT; empty = the system's), timeout_ms,
 * tries. Thread-safe: each call uses its own c-ares channel. */
int dcv_resolver_new(const cd_config_t *cfg, dcv_resolver_t **out, struct cd_err *err);
void dcv_resolver_free(dcv_resolver_t *r);

#define DCV_MAX_ADDRS 16
#define DCV_NAME_MAX  254

/* The hosting server a site lives on, as far as DNS is concerned. */
struct dcv_server {
	const char *name;
	const char *ipv4; /* may be NULL or "" */
	const char *ipv6; /* may be NULL or "" */
};

struct dcv_preflight {
	enum failure_code failure; /* FAILURE_NONE when the names may be ordered */
	bool retryable;		   /* for FAILURE_DNS_ERROR */
	/* What the operator or customer must fix, naming the name and what was
	 * found ("www.example.jp has A 192.0.2.7, not web01's 127.0.0.2"). */
	char detail[512];
	/* The names the certificate will carry: the common name first, then the
	 * SAN candidate when it points at the server too. */
	char names[2][DCV_NAME_MAX];
	size_t n_names;
	/* The SAN candidate when it was dropped, and why ("" when kept or none). */
	char dropped[DCV_NAME_MAX];
	char dropped_why[256];
};

/* Runs the preflight for a common name on a server. caa_identities is the
 * active CA's CAA issuer domain(s), space separated ([ca NAME] caa_identity);
 * NULL or "" skips CAA. Returns 0 when the checks ran (the verdict is in
 * *out, possibly a failure) and a negative code only when they could not
 * (bad arguments, no resolver). */
int dcv_preflight(dcv_resolver_t *r, const char *common_name, const struct dcv_server *srv,
		  const char *caa_identities, struct dcv_preflight *out, struct cd_err *err);

#endif
