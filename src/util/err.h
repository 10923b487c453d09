/*
 * err.h - the error carried through every layer of certdesk.
 *
 * Every fallible function returns int (0 = ok, negative = error) and fills a
 * struct cd_err with a code, whether a retry can help, and a message that
 * names the thing that failed (file and line, URL, field).
 */
#ifndef CD_UTIL_ERR_H
#define CD_UTIL_ERR_H

#include <stdbool.h>

enum cd_errcode {
	CD_OK = 0,
	CD_EINVAL,    /* bad input: a file, a field, a request */
	CD_ENOTFOUND, /* the thing named does not exist */
	CD_ECONFLICT, /* a unique rule would be broken (second open order, duplicate key) */
	CD_ESTATE,    /* an illegal transition or an operation in the wrong state */
	CD_ELIMIT,    /* a size or count limit was exceeded */
	CD_EIO,	      /* a file or socket operation failed */
	CD_ECRYPTO,   /* a cryptographic operation failed (bad key, bad tag) */
	CD_EDB,	      /* the store failed */
	CD_EBUSY,     /* the store or a peer is busy; try again */
	CD_ENOMEM,
	CD_ECONFIG, /* the configuration is wrong */
	CD_EINTERNAL,
	CD_EGONE, /* a remote object (ACME order, account) no longer exists: start again */
	CD_EPEER, /* a peer (CA, DNS, SMTP, hosting server) refused or failed */
	CD_ERRCODE_COUNT
};

#define CD_ERR_MSG_MAX 512

struct cd_err {
	enum cd_errcode code;
	bool retryable;
	/* when retryable: the peer's earliest time for a retry in seconds from now
	 * (Retry-After), 0 when it named none */
	long retry_after;
	char msg[CD_ERR_MSG_MAX];
};

/* Sets err (which may be NULL) and returns -code, so callers write
 * `return cd_err_set(err, CD_EINVAL, false, "...")`. */
int cd_err_set(struct cd_err *err, enum cd_errcode code, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes the message already in err with more context ("file.csv:12: " + msg). */
void cd_err_prefix(struct cd_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cd_err_clear(struct cd_err *err);

/* A short stable name of the code ("invalid", "not_found", ...). */
const char *cd_errcode_name(enum cd_errcode code);

#endif
