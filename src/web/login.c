/*
 * login.c - logging in with the member ID and password (argon2id, the same
 * hash work for unknown members), or the provider gateway's SSO header from a
 * trusted proxy; throttling per (member, address) with growing delays and a
 * global ceiling; logout; the mail's /reissue link; the language switch.
 */
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "web/web_priv.h"

#define MEMBER_ID_MAX 64
#define PASSWORD_MAX  1024

static const char *safe_next(const char *next)
{
	return next && web_local_path_ok(next) ? next : "/certificates";
}

static enum MHD_Result login_page(struct req *r, unsigned status, const char *next,
				  const char *member_id, const char *message, long retry_after)
{
	struct html h = { 0 };

	web_page_begin(r, &h, L(r, "ログイン", "Log in"), 0);
	h_fmt(&h, "<h1>%s</h1>", L(r, "ログイン", "Log in"));
	h_fmt(&h, "<p>%s</p>",
	      L(r, "会員IDとパスワードを入力してください。SSL証明書の再発行のお手続きができます。",
		"Enter your member ID and password to reissue your SSL certificates."));
	if (message)
		h_fmt(&h, "<p class=\"error\" role=\"alert\" id=\"login-error\">%s</p>", message);
	h_fmt(&h,
	      "<form method=\"post\" action=\"/login\" class=\"card\">"
	      "<input type=\"hidden\" name=\"next\" value=\"%s\">"
	      "<label for=\"member_id\">%s</label>"
	      "<input id=\"member_id\" name=\"member_id\" autocomplete=\"username\" required "
	      "maxlength=\"64\" value=\"%s\">"
	      "<label for=\"password\">%s</label>"
	      "<input id=\"password\" name=\"password\" type=\"password\" "
	      "autocomplete=\"current-password\" required maxlength=\"1024\">"
	      "<button type=\"submit\" class=\"primary\" id=\"login\">%s</button></form>",
	      safe_next(next), L(r, "会員ID", "Member ID"), member_id ? member_id : "",
	      L(r, "パスワード", "Password"), L(r, "ログイン", "Log in"));
	web_page_end(r, &h);
	if (status == 429)
		return web_reply_throttled(r, retry_after, &h);
	return web_reply_html(r, status, &h);
}

/* A login name as typed (member ID or operator name): printable, no spaces,
 * at most max bytes. */
bool web_login_name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
			return false;
	return true;
}

/* The audit trail's record of a login (the source is the client's address:
 * web_store set it). The member id is the one typed, checked by web_login_name_ok. */
int web_login_event(struct req *r, const char *who, const char *name, const char *kind,
		    const char *detail, struct cd_err *err)
{
	char actor[128];

	snprintf(actor, sizeof(actor), "%s:%.100s", who, name);
	return store_event_add(
	    r->st,
	    &(struct store_event){ .at = r->now, .actor = actor, .kind = kind, .detail = detail },
	    err);
}

enum MHD_Result web_login_get(struct req *r)
{
	const char *next = web_query(r, "next");

	/* the provider's gateway vouches for the member: only from a trusted proxy */
	if (r->w->sso_header[0] && r->from_trusted) {
		const char *who = web_header(r, r->w->sso_header);
		bool exists = false;
		struct cd_err err = { 0 };
		store_t *st = web_store(r);

		if (who && web_login_name_ok(who, MEMBER_ID_MAX) && st &&
		    store_member_exists(st, who, &exists, &err) == 0 && exists) {
			if (web_session_begin(r, who) != 0 ||
			    web_login_event(r, "member", who, "login.ok", "single sign-on", &err) !=
				0)
				return web_reply_error(r, 500);
			return web_reply_redirect(r, safe_next(next));
		}
	}
	if (r->authed)
		return web_reply_redirect(r, safe_next(next));
	return login_page(r, 200, next, NULL, NULL, 0);
}

/* The delay a (member, address) pair has to wait after `failures`: none for
 * the first throttle_free, then throttle_delay doubling up to the cap. */
long web_login_delay(const struct web_server *w, int failures)
{
	long d = w->throttle_delay;

	if (failures < w->throttle_free)
		return 0;
	for (int i = (int)w->throttle_free; i < failures && d < w->throttle_max_delay; i++)
		d *= 2;
	return d < w->throttle_max_delay ? d : w->throttle_max_delay;
}

/* The throttle's keys of one login form: "<prefix>pair:NAME|ADDRESS" per
 * (name, address) and "<prefix>global" for the ceiling ("" for members,
 * "admin-" for operators). */
static void throttle_keys(const struct req *r, const char *prefix, const char *name,
			  char pair[WEB_THROTTLE_KEY_MAX], char global[WEB_THROTTLE_KEY_MAX])
{
	snprintf(pair, WEB_THROTTLE_KEY_MAX, "%spair:%s|%s", prefix, name, r->client);
	snprintf(global, WEB_THROTTLE_KEY_MAX, "%sglobal", prefix);
}

int web_login_wait(struct req *r, const char *prefix, const char *name, long *wait,
		   struct cd_err *err)
{
	const struct web_server *w = r->w;
	char pair[WEB_THROTTLE_KEY_MAX], global[WEB_THROTTLE_KEY_MAX];
	int64_t last = 0, glast = 0;
	int failures = 0, gfailures = 0;

	throttle_keys(r, prefix, name, pair, global);
	*wait = 0;
	if (store_web_throttle_get(r->st, pair, r->now, w->throttle_window, &failures, &last,
				   err) ||
	    store_web_throttle_get(r->st, global, r->now, 60, &gfailures, &glast, err))
		return -1;
	*wait = last + web_login_delay(w, failures) - r->now;
	if (gfailures >= w->throttle_global_max && glast + 60 - r->now > *wait)
		*wait = glast + 60 - r->now; /* the ceiling: everyone waits out the minute */
	if (*wait > 0)
		atomic_fetch_add(&r->w->login_throttled, 1);
	return 0;
}

void web_login_wait_message(struct req *r, long wait, char *msg, size_t size)
{
	snprintf(msg, size,
		 L(r,
		   "ログインの失敗が続いたため、%ld秒間ログインできません。時間をおいてから"
		   "もう一度お試しください。",
		   "Too many failed logins. Please wait %ld seconds and try again."),
		 wait);
}

int web_login_failed(struct req *r, const char *prefix, const char *name, int *failures,
		     struct cd_err *err)
{
	char pair[WEB_THROTTLE_KEY_MAX], global[WEB_THROTTLE_KEY_MAX];
	int gfailures = 0;

	throttle_keys(r, prefix, name, pair, global);
	atomic_fetch_add(&r->w->login_failures, 1);
	if (store_web_throttle_fail(r->st, pair, r->now, r->w->throttle_window, failures, err) ||
	    store_web_throttle_fail(r->st, global, r->now, 60, &gfailures, err))
		return -1;
	return 0;
}

int web_login_succeeded(struct req *r, const char *prefix, const char *name, struct cd_err *err)
{
	char pair[WEB_THROTTLE_KEY_MAX], global[WEB_THROTTLE_KEY_MAX];

	throttle_keys(r, prefix, name, pair, global);
	return store_web_throttle_clear(r->st, pair, err) ? -1 : 0;
}

/* A hash made with weaker (or other) parameters than the portal's is replaced
 * at a successful login, so that every member's hash costs the same work as
 * the unknown members' dummy. A failure here only logs: the login stands. */
static void rehash(struct req *r, const struct store_member_row *m, const char *password)
{
	char phc[crypto_pwhash_STRBYTES];
	struct cd_err err = { 0 };

	if (crypto_pwhash_str_needs_rehash(m->password_hash, WEB_PW_OPSLIMIT, WEB_PW_MEMLIMIT) == 0)
		return;
	if (crypto_pwhash_argon2id_str(phc, password, strlen(password), WEB_PW_OPSLIMIT,
				       WEB_PW_MEMLIMIT) != 0 ||
	    store_web_member_password_set(r->st, m->member_id, phc, r->now, &err) != 0)
		cd_warn("web: could not rehash the password of %s: %s", m->member_id,
			err.msg[0] ? err.msg : "out of memory");
	sodium_memzero(phc, sizeof(phc));
}

static const char *failed_message(struct req *r)
{
	return L(r, "会員IDまたはパスワードが正しくありません。",
		 "The member ID or the password is not correct.");
}

enum MHD_Result web_login_post(struct req *r)
{
	struct web_server *w = r->w;
	struct web_form f;
	struct store_member_row m;
	struct cd_err err = { 0 };
	const char *member, *password, *next;
	int failures = 0, rc;
	long wait = 0;
	bool known = false, ok;
	enum MHD_Result ret;
	store_t *st = web_store(r);

	if (!st)
		return web_reply_error(r, 500);
	rc = web_form_parse(r->body ? r->body : "", r->body_len, (size_t)w->max_fields, &f, &err);
	if (rc)
		return web_reply_error(r, rc == -CD_ELIMIT ? 413 : 400);
	member = web_form_get(&f, "member_id");
	password = web_form_get(&f, "password");
	next = web_form_get(&f, "next");
	if (!web_login_name_ok(member, MEMBER_ID_MAX) || !password ||
	    strlen(password) > PASSWORD_MAX) {
		ret = login_page(r, 200, next, NULL, failed_message(r), 0);
		goto out;
	}
	if (web_login_wait(r, "", member, &wait, &err))
		goto fail;
	if (wait > 0) {
		char msg[300];

		/* no event: a refusal costs no hash, so a flood of them must not cost a
		 * write each either (the failures that led here are events) */
		web_login_wait_message(r, wait, msg, sizeof(msg));
		ret = login_page(r, 429, next, member, msg, wait);
		goto out;
	}
	rc = store_member_get(st, member, &m, &err);
	if (rc && rc != -CD_ENOTFOUND)
		goto fail;
	known = rc == 0 && m.has_password;
	/* an unknown member (or one without a password) costs the same hash */
	atomic_fetch_add(&w->login_hashes, 1);
	ok = crypto_pwhash_str_verify(known ? m.password_hash : w->dummy_hash, password,
				      strlen(password)) == 0 &&
	     known;
	if (!ok) {
		if (rc == 0)
			sodium_memzero(m.password_hash, sizeof(m.password_hash));
		if (web_login_failed(r, "", member, &failures, &err))
			goto fail;
		if (web_login_event(r, "member", member, "login.failed",
				    rc != 0  ? "no such member"
				    : !known ? "the member has no password (single sign-on only)"
					     : "wrong password",
				    &err))
			goto fail;
		cd_info("web: failed login for member '%.64s' from %s (%d in a row)", member,
			r->client, failures);
		ret = login_page(r, 200, next, member, failed_message(r), 0);
		goto out;
	}
	if (web_login_succeeded(r, "", member, &err) || web_session_begin(r, m.member_id) != 0 ||
	    web_login_event(r, "member", m.member_id, "login.ok", "password", &err))
		goto fail;
	rehash(r, &m, password);
	sodium_memzero(m.password_hash, sizeof(m.password_hash));
	cd_info("web: member %s logged in from %s", m.member_id, r->client);
	ret = web_reply_redirect(r, safe_next(next));
	goto out;
fail:
	cd_error("web: login: %s", err.msg);
	ret = web_reply_error(r, 500);
out:
	web_form_free(&f);
	return ret;
}

enum MHD_Result web_logout_post(struct req *r)
{
	struct web_form f;
	struct cd_err err = { 0 };
	enum MHD_Result ret;

	if (web_form_parse(r->body ? r->body : "", r->body_len, (size_t)r->w->max_fields, &f,
			   &err) != 0)
		return web_reply_error(r, 400);
	if (!r->authed)
		ret = web_reply_redirect(r, "/login");
	else if (!web_csrf_ok(r, &f))
		ret = web_reply_error(r, 403);
	else {
		if (web_store(r) &&
		    web_login_event(r, "member", r->member_id, "logout", NULL, &err))
			cd_warn("web: logout of %s: %s", r->member_id, err.msg);
		web_session_end(r);
		ret = web_reply_redirect(r, "/login");
	}
	web_form_free(&f);
	return ret;
}

/* The path of the page the switch was pressed on, from the Referer, when that
 * page is this portal's (Referrer-Policy: same-origin sends it only then). An
 * error page names no path in its form: its bytes must not tell a foreign id
 * from a missing one. */
static const char *referer_path(struct req *r)
{
	const char *ref = web_header(r, "Referer"), *b = r->w->base_url;
	const char *host = strstr(b, "://"), *end = host ? strchr(host + 3, '/') : NULL;
	size_t n = end ? (size_t)(end - b) : strlen(b);

	if (!ref || strncmp(ref, b, n) != 0 || ref[n] != '/')
		return NULL;
	return ref + n;
}

enum MHD_Result web_lang_post(struct req *r)
{
	struct web_form f;
	struct cd_err err = { 0 };
	const char *l, *next;
	enum lang lang;
	enum MHD_Result ret;

	if (web_form_parse(r->body ? r->body : "", r->body_len, (size_t)r->w->max_fields, &f,
			   &err) != 0)
		return web_reply_error(r, 400);
	l = web_form_get(&f, "lang");
	next = web_form_get(&f, "next");
	if (!next)
		next = referer_path(r);
	if (!l || lang_parse(l, &lang, NULL) != 0) {
		ret = web_reply_error(r, 400);
	} else {
		/* a preference, not member data: a plain cookie for a year */
		web_add_cookie(r, "lang", lang_name(lang), 365L * 86400, false);
		ret = web_reply_redirect(r, safe_next(next));
	}
	web_form_free(&f);
	return ret;
}

/* The mail's link: /reissue?campaign=ID lands on the list, after login. */
enum MHD_Result web_reissue_link(struct req *r)
{
	const char *c = web_query(r, "campaign");
	int64_t id = 0;
	char path[96];

	if (c && !web_order_id_parse(c, &id))
		id = 0;
	if (id)
		snprintf(path, sizeof(path), "/certificates?campaign=%lld", (long long)id);
	else
		snprintf(path, sizeof(path), "/certificates");
	if (r->authed)
		return web_reply_redirect(r, path);
	snprintf(path, sizeof(path), "/login?next=%%2Fcertificates%s%lld",
		 id ? "%3Fcampaign%3D" : "", (long long)id);
	if (!id)
		snprintf(path, sizeof(path), "/login?next=%%2Fcertificates");
	return web_reply_redirect(r, path);
}
