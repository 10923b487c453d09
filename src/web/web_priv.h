/*
 * web_priv.h - what the portal's files share (not for other stages): the
 * server's settings, one request being answered, the HTML builder and the
 * replies that carry the security headers.
 */
#ifndef CD_WEB_PRIV_H
#define CD_WEB_PRIV_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/i18n.h"
#include "store/store.h"
#include "web/web.h"

#ifdef WEB_HAVE_DCV
#include "dcv/dcv.h"
#endif

/* argon2id at the portal's floor (issue 11): m = 19 MiB, t = 2, p = 1 (libsodium's
 * p is 1); the same as the members import (src/cli/import_rows.c). */
#define WEB_PW_OPSLIMIT 2
#define WEB_PW_MEMLIMIT (19u * 1024u * 1024u)
#define WEB_MAX_TRUSTED 16
#define WEB_HASH_HEX	65 /* SHA-256 in hex + NUL */

struct web_server {
	const cd_config_t *cfg;
	struct MHD_Daemon *daemon;
	char address[80];
	char store_url[4200];
	long busy_timeout_ms;
	pthread_key_t store_key; /* each server thread's own store connection */

	/* [web] */
	char base_url[256];
	bool https;
	char cookie_name[32];
	char trusted[WEB_MAX_TRUSTED][64];
	size_t n_trusted;
	char sso_header[64];
	long session_idle, session_absolute;
	long throttle_free, throttle_delay, throttle_max_delay, throttle_window,
	    throttle_global_max;
	long max_body, max_fields, refresh_seconds;
	/* [provider] */
	const char *timezone, *provider_name, *support_url, *support_email;
	long max_validity_days;

	/* the hash an unknown member's login is checked against (same work) */
	char dummy_hash[crypto_pwhash_STRBYTES];
#ifdef WEB_HAVE_DCV
	dcv_resolver_t *resolver;
	char caa_identities[256];
#endif

	/* counters for /metrics (the tests read them) */
	atomic_llong last_purge; /* when expired sessions were last deleted */
	atomic_ulong requests, login_hashes, login_failures, login_throttled, orders_created,
	    csrf_refused;
};

/* One request being answered. */
struct req {
	struct web_server *w;
	struct MHD_Connection *conn;
	const char *method, *url;
	char client[64]; /* the client's address (X-Forwarded-For from a trusted proxy) */
	bool from_trusted;
	bool is_post;
	char *body;
	size_t body_len;
	bool body_too_big;
	int64_t now;
	enum lang lang;
	bool lang_chosen; /* by cookie: beats the member's locale */
	store_t *st;

	/* the session, when logged in */
	bool authed;
	char member_id[65];
	char display_name[256];
	char csrf[65];
	char sid_hash[WEB_HASH_HEX];

	/* Set-Cookie headers of the reply */
	char cookies[3][320];
	int n_cookies;
};

/* --- html.c: a growing buffer and a formatter that escapes by default ----- */
struct html {
	char *buf;
	size_t len, cap;
	bool oom;
};
/* Appends fmt with its arguments:
 *   %s  a string, HTML-escaped (the default for every value)
 *   %R  a string copied RAW: only for markup this program wrote itself
 *   %U  a string percent-encoded for a URL component (then escaped)
 *   %d  int   %I int64_t   %%  a percent sign */
void h_fmt(struct html *h, const char *fmt, ...);
void h_free(struct html *h);

/* --- server.c: replies (every one carries the security headers) ---------- */
enum MHD_Result web_reply_html(struct req *r, unsigned status, struct html *h);
enum MHD_Result web_reply_json(struct req *r, unsigned status, json_t *j); /* steals j */
enum MHD_Result web_reply_redirect(struct req *r, const char *path);	   /* 303 */
/* An HTML (or for /api, JSON) error page in the request's language. */
enum MHD_Result web_reply_error(struct req *r, unsigned status);
/* 429 with Retry-After. */
enum MHD_Result web_reply_throttled(struct req *r, long retry_after, struct html *h);
/* A reply of ctype with body (malloc'd; taken, freed even on failure). */
enum MHD_Result web_reply_text(struct req *r, unsigned status, const char *ctype, char *body,
			       size_t len);
const char *web_header(struct req *r, const char *name);
const char *web_query(struct req *r, const char *name);
/* The request's store connection (opened on first use); NULL after logging why. */
store_t *web_store(struct req *r);
/* A Set-Cookie of Path=/ and SameSite=Lax; _at names the path and SameSite.
 * max_age < 0: a session cookie. Secure when the portal is https. */
void web_add_cookie(struct req *r, const char *name, const char *value, long max_age,
		    bool http_only);
void web_add_cookie_at(struct req *r, const char *name, const char *value, const char *path,
		       long max_age, bool http_only, const char *same_site);

/* Page chrome: the header (with the language switch and logout when logged
 * in) and the footer. refresh > 0 adds a meta refresh. */
void web_page_begin(struct req *r, struct html *h, const char *title, int refresh);
void web_page_end(struct req *r, struct html *h);
#define L(r, ja, en) ((r)->lang == LANG_EN ? (en) : (ja))

/* --- session.c ------------------------------------------------------------ */
/* Loads the session from the cookie; sets r->authed and the member. 0, or
 * -2 for cookies refused (too many, too long), -1 when the store failed. */
int web_session_load(struct req *r);
/* A session id as certdesk makes them (43 base64url characters). */
bool web_session_id_ok(const char *sid);
/* A new session id: 32 random bytes, base64url without padding. */
void web_new_session_id(char out[48]);
/* Whether a form's csrf field is the session's token (constant time; the
 * session's is NULL when nobody is logged in); a refusal is counted. */
bool web_csrf_match(struct web_server *w, const char *session_token, const char *form_token);
/* A new session for the member (a new id; the old one, if any, is killed). */
int web_session_begin(struct req *r, const char *member_id);
void web_session_end(struct req *r);
/* Whether the form's csrf field is this session's token (constant time). */
bool web_csrf_ok(struct req *r, const struct web_form *f);
void web_random_hex(char *out, size_t nbytes); /* out holds 2 * nbytes + 1 */
void web_sha256_hex(const char *in, char out[WEB_HASH_HEX]);

/* --- handlers --------------------------------------------------------------- */
enum MHD_Result web_login_get(struct req *r);
/* Shared by the member and the operator logins (login.c). */
bool web_login_name_ok(const char *s, size_t max);
/* How long a (name, address) pair waits after `failures` failed logins. */
long web_login_delay(const struct web_server *w, int failures);
/* The login throttle of one form, its keys under `prefix` ("" for members,
 * "admin-" for operators): per (name, client address) and a global ceiling.
 * web_login_wait: the seconds the pair still has to wait (<= 0: it may try;
 * a wait counts as a refusal); web_login_failed counts a failure (*failures:
 * the pair's count after it); web_login_succeeded forgets the pair's. */
#define WEB_THROTTLE_KEY_MAX 160
int web_login_wait(struct req *r, const char *prefix, const char *name, long *wait,
		   struct cd_err *err);
void web_login_wait_message(struct req *r, long wait, char *msg, size_t size);
int web_login_failed(struct req *r, const char *prefix, const char *name, int *failures,
		     struct cd_err *err);
int web_login_succeeded(struct req *r, const char *prefix, const char *name, struct cd_err *err);
/* The audit trail's record of a login or logout: actor "who:name" (member or
 * operator), the source is the client's address (web_store set it). */
int web_login_event(struct req *r, const char *who, const char *name, const char *kind,
		    const char *detail, struct cd_err *err);
enum MHD_Result web_login_post(struct req *r);
enum MHD_Result web_logout_post(struct req *r);
enum MHD_Result web_lang_post(struct req *r);
enum MHD_Result web_reissue_link(struct req *r);
enum MHD_Result web_list_get(struct req *r);
enum MHD_Result web_confirm_get(struct req *r, const char *cert_id);
enum MHD_Result web_confirm_post(struct req *r, const char *cert_id);
enum MHD_Result web_complete_get(struct req *r, int64_t order_id);
enum MHD_Result web_order_get(struct req *r, int64_t order_id);
enum MHD_Result web_api(struct req *r, const char *path);
enum MHD_Result web_metrics_get(struct req *r);
/* Checks [web] metrics_allow and metrics_campaign_seconds (at start). */
int web_metrics_check(const cd_config_t *cfg, struct cd_err *err);
/* 1 when the live DNS preflight blocks a reissue (*fc and detail say why),
 * 0 when it passes or cannot run here, -1 when it failed to run. */
int web_preflight_blocks(struct req *r, const struct store_cert_view *v, enum failure_code *fc,
			 char detail[512]);

/* --- shared by the pages ------------------------------------------------------ */
/* "YYYY-MM-DD" / "YYYY-MM-DD hh:mm" in the provider's zone ("-" for 0). */
void web_local_date(struct req *r, int64_t t, char out[17]);
void web_local_time(struct req *r, int64_t t, char out[17]);
/* A certificate id or order id as it may appear in a URL. */
bool web_id_ok(const char *id);
bool web_order_id_parse(const char *s, int64_t *out);

#endif
