/*
 * failure.c - the reasons a reissue order fails, their stable names, and
 * whether a retry can help by default.
 *
 * "Retryable" decides what the customer sees afterwards (eligibility.c):
 * retryable -> the certificate is available again and the list shows what to
 * fix; not retryable -> impossible/order_failed until an operator acts.
 */
#include "core/failure.h"

#include <string.h>

static const struct {
	const char *name;
	bool retryable;
} failures[FAILURE_CODE_COUNT] = {
	[FAILURE_NONE] = { "none", false },
	/* The customer fixes the A/AAAA records and applies again; a retry is
	 * exactly what helps once DNS points at the hosting server. */
	[FAILURE_DNS_NOT_POINTING] = { "dns_not_pointing", true },
	/* Same: the customer (or their DNS provider) adds a CAA record for the
	 * CA and applies again. */
	[FAILURE_CAA_FORBIDS] = { "caa_forbids", true },
	/* SERVFAIL, time-outs: transient by nature. */
	[FAILURE_DNS_ERROR] = { "dns_error", true },
	/* Maintenance ends and suspended sites are restored; while the server
	 * or site stays unusable, eligibility rule 3 shows impossible anyway. */
	[FAILURE_SERVER_PROBLEM] = { "server_problem", true },
	/* Another certificate appeared on the site: reissuing would overwrite
	 * a certificate certdesk does not own. Someone must decide (customer
	 * with support); an operator reissue overrides. */
	[FAILURE_FOREIGN_CERT] = { "foreign_certificate_installed", false },
	/* The customer started a new certificate for this name: replacing it
	 * behind their back would be wrong; same as above. */
	[FAILURE_NEW_SETTING] = { "new_setting_exists", false },
	/* Preflight already checked DNS, so a failed validation is mostly a
	 * transient reachability problem between the CA and the server. */
	[FAILURE_CHALLENGE_FAILED] = { "challenge_failed", true },
	/* The CA refused the request by policy: the same request is refused
	 * again; it needs the operator (and perhaps the CA). */
	[FAILURE_CA_REJECTED] = { "ca_rejected", false },
	/* The CA failed or was unreachable: transient. */
	[FAILURE_CA_ERROR] = { "ca_error", true },
	/* The old certificate still serves (invariant 3); a reload that failed
	 * because of a busy or briefly broken server succeeds later. */
	[FAILURE_INSTALL_FAILED] = { "install_failed", true },
	/* Caches, slow reloads, a load balancer not yet switched: transient. */
	[FAILURE_VERIFY_FAILED] = { "verify_failed", true },
	/* A bug or an unexpected state on our side: every step is idempotent
	 * and the invariants hold, so a retry is safe, and the operator sees
	 * the failure in the event log either way. */
	[FAILURE_INTERNAL] = { "internal", true },
};

static bool code_valid(enum failure_code c)
{
	return (int)c >= 0 && c < FAILURE_CODE_COUNT;
}

const char *failure_code_name(enum failure_code c)
{
	return code_valid(c) ? failures[c].name : "unknown";
}

int failure_code_parse(const char *name, enum failure_code *out, struct cd_err *err)
{
	if (name)
		for (int c = 0; c < FAILURE_CODE_COUNT; c++)
			if (strcmp(name, failures[c].name) == 0) {
				*out = (enum failure_code)c;
				return 0;
			}
	return cd_err_set(err, CD_EINVAL, false, "'%.60s' is not a failure code",
			  name ? name : "(null)");
}

bool failure_default_retryable(enum failure_code c)
{
	return code_valid(c) && failures[c].retryable;
}
