/*
 * failure.h - why a reissue order failed: stable codes with a default of
 * whether a retry can help. Customer texts for them are in i18n.h.
 */
#ifndef CD_CORE_FAILURE_H
#define CD_CORE_FAILURE_H

#include <stdbool.h>

#include "util/err.h"

enum failure_code {
	FAILURE_NONE,
	FAILURE_DNS_NOT_POINTING, /* A/AAAA of a name not among the server's addresses */
	FAILURE_CAA_FORBIDS,	  /* CAA does not allow the CA */
	FAILURE_DNS_ERROR,	  /* SERVFAIL, time-out: retryable */
	FAILURE_SERVER_PROBLEM,	  /* server or site not usable */
	FAILURE_FOREIGN_CERT,	  /* another certificate appeared on the site */
	FAILURE_NEW_SETTING,	  /* a new SSL setting appeared for the name */
	FAILURE_CHALLENGE_FAILED, /* the CA could not validate the domain */
	FAILURE_CA_REJECTED,	  /* the CA refused the order (policy, rejectedIdentifier) */
	FAILURE_CA_ERROR,	  /* the CA failed or was unreachable: retryable */
	FAILURE_INSTALL_FAILED,	  /* test or reload failed; the old certificate serves */
	FAILURE_VERIFY_FAILED,	  /* the new certificate was not seen live */
	FAILURE_INTERNAL,
	FAILURE_CODE_COUNT
};

const char *failure_code_name(enum failure_code c);
int failure_code_parse(const char *name, enum failure_code *out, struct cd_err *err);
/* Whether a retry can help by default (the stage may know better). */
bool failure_default_retryable(enum failure_code c);

#endif
