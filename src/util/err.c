/*
 * err.c - filling and prefixing struct cd_err.
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const code_names[CD_ERRCODE_COUNT] = {
	[CD_OK] = "ok",
	[CD_EINVAL] = "invalid",
	[CD_ENOTFOUND] = "not_found",
	[CD_ECONFLICT] = "conflict",
	[CD_ESTATE] = "state",
	[CD_ELIMIT] = "limit",
	[CD_EIO] = "io",
	[CD_ECRYPTO] = "crypto",
	[CD_EDB] = "store",
	[CD_EBUSY] = "busy",
	[CD_ENOMEM] = "no_memory",
	[CD_ECONFIG] = "config",
	[CD_EINTERNAL] = "internal",
	[CD_EGONE] = "gone",
	[CD_EPEER] = "peer",
};

int cd_err_set(struct cd_err *err, enum cd_errcode code, bool retryable, const char *fmt, ...)
{
	if (err) {
		va_list ap;

		err->code = code;
		err->retryable = retryable;
		err->retry_after = 0;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code == CD_OK ? 0 : -(int)code;
}

void cd_err_prefix(struct cd_err *err, const char *fmt, ...)
{
	char head[CD_ERR_MSG_MAX], old[CD_ERR_MSG_MAX], both[2 * CD_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(both, sizeof(both), "%s%s", head, old);
	memcpy(err->msg, both, sizeof(err->msg) - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
}

void cd_err_clear(struct cd_err *err)
{
	if (err) {
		err->code = CD_OK;
		err->retryable = false;
		err->retry_after = 0;
		err->msg[0] = '\0';
	}
}

const char *cd_errcode_name(enum cd_errcode code)
{
	if ((int)code < 0 || code >= CD_ERRCODE_COUNT || !code_names[code])
		return "unknown";
	return code_names[code];
}
