/*
 * web.h - certdesk's customer portal: the HTTP server (libmicrohttpd) that
 * serves the member pages of DESIGN.md §4, the JSON API /api/v1 and /healthz,
 * and the request parsing it does itself (exposed for tests and fuzzing).
 */
#ifndef CD_WEB_WEB_H
#define CD_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/i18n.h"
#include "util/config.h"
#include "util/err.h"

typedef struct web_server web_server_t;

/* Starts the portal from the [web] settings (listen_override, when not NULL,
 * replaces [web] listen) with the store of [store] url; each server thread
 * opens its own store connection. Returns once it listens. */
int web_server_start(const cd_config_t *cfg, const char *listen_override, web_server_t **out,
		     struct cd_err *err);
/* The address it listens on ("127.0.0.1:8080"). */
const char *web_server_address(const web_server_t *w);
/* Stops accepting, finishes the requests under way and frees everything. */
void web_server_stop(web_server_t *w);

/* --- request parsing (parse.c) ---------------------------------------------
 * Every function is bounded: inputs past the limits are refused, never
 * truncated silently. */

#define WEB_FORM_MAX_FIELDS 64

/* An application/x-www-form-urlencoded body or query string, decoded. */
struct web_form {
	size_t n;
	const char *name[WEB_FORM_MAX_FIELDS];
	const char *value[WEB_FORM_MAX_FIELDS];
	char *buf; /* owns the decoded strings */
};
/* -CD_ELIMIT when it has more than max_fields fields (max_fields <=
 * WEB_FORM_MAX_FIELDS), -CD_EINVAL for a bad %-escape or a NUL. */
int web_form_parse(const char *body, size_t len, size_t max_fields, struct web_form *out,
		   struct cd_err *err);
/* The first value of a field, or NULL. */
const char *web_form_get(const struct web_form *f, const char *name);
void web_form_free(struct web_form *f);

/* Copies the value of cookie `name` from a Cookie header into out. Returns 1
 * when found, 0 when absent, -CD_ELIMIT when the header has too many cookies
 * (> 64) or the value does not fit. */
int web_cookie_get(const char *header, const char *name, char *out, size_t outsz,
		   struct cd_err *err);

/* The language an Accept-Language header prefers among ja and en (by q,
 * then order); *found is false when it names neither (then LANG_JA). */
enum lang web_accept_language(const char *header, bool *found);

/* Whether a `next` target is a path on this site ("/certificates?x=1"): no
 * scheme, no host ("//evil", "/\evil"), no control characters, bounded. */
bool web_local_path_ok(const char *next);

/* Decodes %XX (and '+' as space when plus_space); returns the length, or -1
 * for a bad escape, an embedded NUL or when it does not fit in outsz - 1. */
long web_url_decode(const char *in, size_t len, char *out, size_t outsz, bool plus_space);

#endif
