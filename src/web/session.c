/*
 * session.c - members' sessions: 256-bit random ids in a cookie, only their
 * SHA-256 in the store, idle and absolute expiry, a new id at every login,
 * killed server-side at logout; and the per-session CSRF token.
 */
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "web/web_priv.h"

void web_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	randombytes_buf(b, nbytes);
	sodium_bin2hex(out, 2 * nbytes + 1, b, nbytes);
	sodium_memzero(b, sizeof(b));
}

void web_sha256_hex(const char *in, char out[WEB_HASH_HEX])
{
	unsigned char d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, (const unsigned char *)in, strlen(in));
	sodium_bin2hex(out, WEB_HASH_HEX, d, sizeof(d));
}

/* The session cookie's value: 32 random bytes, base64url without padding. */
void web_new_session_id(char out[48])
{
	unsigned char b[32];

	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(out, 48, b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof(b));
}

bool web_session_id_ok(const char *sid)
{
	size_t n = strlen(sid);

	if (n != 43)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = sid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Returns 0 (logged in or not), -2 for refused cookies, -1 when the store failed. */
int web_session_load(struct req *r)
{
	const char *cookies = web_header(r, "Cookie");
	struct store_web_session s;
	struct store_member_row m;
	struct cd_err err = { 0 };
	char sid[64];
	store_t *st;
	int rc;

	if (!cookies)
		return 0;
	rc = web_cookie_get(cookies, r->w->cookie_name, sid, sizeof(sid), NULL);
	if (rc < 0)
		return -2; /* too many cookies, or ours too long: refused */
	if (rc == 0 || !web_session_id_ok(sid))
		return 0;
	if (!(st = web_store(r)))
		return -1;
	web_sha256_hex(sid, r->sid_hash);
	sodium_memzero(sid, sizeof(sid));
	rc = store_web_session_get(st, r->sid_hash, &s, &err);
	if (rc == -CD_ENOTFOUND)
		return 0;
	if (rc)
		goto fail;
	if (s.expires_at <= r->now || s.last_seen_at + r->w->session_idle <= r->now) {
		/* expired: gone for good, whatever the cookie says */
		store_web_session_delete(st, r->sid_hash, &err);
		web_add_cookie(r, r->w->cookie_name, "", 0, true);
		return 0;
	}
	rc = store_member_get(st, s.member_id, &m, &err);
	if (rc == -CD_ENOTFOUND)
		return 0;
	if (rc)
		goto fail;
	/* the idle clock moves in steps, sparing a write on every request */
	if (r->now - s.last_seen_at >= (r->w->session_idle >= 600 ? 60 : 1) &&
	    store_web_session_touch(st, r->sid_hash, r->now, &err) != 0)
		goto fail;
	r->authed = true;
	snprintf(r->member_id, sizeof(r->member_id), "%s", s.member_id);
	snprintf(r->display_name, sizeof(r->display_name), "%s", m.display_name);
	snprintf(r->csrf, sizeof(r->csrf), "%s", s.csrf_token);
	if (!r->lang_chosen)
		lang_parse(m.locale, &r->lang, NULL);
	sodium_memzero(m.password_hash, sizeof(m.password_hash));
	return 0;
fail:
	cd_error("web: session: %s", err.msg);
	return -1;
}

/* Expired sessions are deleted at a login, at most once a minute per server. */
static void purge(struct req *r, store_t *st)
{
	long long last = atomic_load(&r->w->last_purge);
	struct cd_err err = { 0 };
	int n = 0;

	if (r->now - last < 60 || !atomic_compare_exchange_strong(&r->w->last_purge, &last, r->now))
		return;
	if (store_web_sessions_purge(st, r->now, r->now - r->w->session_idle, &n, &err) != 0)
		cd_warn("web: purging expired sessions: %s", err.msg);
	else if (n)
		cd_debug("web: %d expired session(s) deleted", n);
}

int web_session_begin(struct req *r, const char *member_id)
{
	struct store_member_row m;
	struct cd_err err = { 0 };
	char sid[48], hash[WEB_HASH_HEX], csrf[65];
	store_t *st = web_store(r);
	int64_t expires = r->now + r->w->session_absolute;

	if (!st)
		return -1;
	if (r->sid_hash[0]) /* a new id at login: the old session dies */
		store_web_session_delete(st, r->sid_hash, &err);
	purge(r, st);
	web_new_session_id(sid);
	web_sha256_hex(sid, hash);
	web_random_hex(csrf, 32);
	if (store_web_session_create(st, hash, member_id, csrf, r->client, r->now, expires, &err) !=
		0 ||
	    store_member_get(st, member_id, &m, &err) != 0) {
		cd_error("web: session: %s", err.msg);
		sodium_memzero(sid, sizeof(sid));
		return -1;
	}
	web_add_cookie(r, r->w->cookie_name, sid, -1, true);
	sodium_memzero(sid, sizeof(sid));
	r->authed = true;
	snprintf(r->sid_hash, sizeof(r->sid_hash), "%s", hash);
	snprintf(r->member_id, sizeof(r->member_id), "%s", member_id);
	snprintf(r->display_name, sizeof(r->display_name), "%s", m.display_name);
	snprintf(r->csrf, sizeof(r->csrf), "%s", csrf);
	sodium_memzero(m.password_hash, sizeof(m.password_hash));
	return 0;
}

void web_session_end(struct req *r)
{
	struct cd_err err = { 0 };
	store_t *st = web_store(r);

	if (st && r->sid_hash[0] && store_web_session_delete(st, r->sid_hash, &err) != 0)
		cd_error("web: logout: %s", err.msg);
	web_add_cookie(r, r->w->cookie_name, "", 0, true);
	r->authed = false;
	r->sid_hash[0] = '\0';
}

bool web_csrf_match(struct web_server *w, const char *session_token, const char *form_token)
{
	bool ok = session_token && form_token && strlen(form_token) == 64 &&
		  strlen(session_token) == 64 && sodium_memcmp(form_token, session_token, 64) == 0;

	if (!ok)
		atomic_fetch_add(&w->csrf_refused, 1);
	return ok;
}

bool web_csrf_ok(struct req *r, const struct web_form *f)
{
	return web_csrf_match(r->w, r->authed ? r->csrf : NULL, web_form_get(f, "csrf"));
}
