/*
 * admin_session.c - operators at /admin: their own login (argon2id, the same
 * throttling rules as members' under keys of their own), their own session
 * cookie (Path=/admin) and sessions that a member's never stands in for,
 * the pages' chrome, and the routes under /admin.
 */
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "web/admin.h"

#define OPERATOR_MAX 64
#define PASSWORD_MAX 1024

static const char *cookie_name(const struct web_server *w)
{
	/* __Secure- needs https; Path=/admin keeps it off the member pages */
	return w->https ? "__Secure-certdesk_admin" : "certdesk_admin";
}

static void set_cookie(struct req *r, const char *value, long max_age)
{
	web_add_cookie_at(r, cookie_name(r->w), value, "/admin", max_age, true, "Strict");
}

/* 0 (logged in or not), -2 for refused cookies, -1 when the store failed. */
static int session_load(struct admin *a)
{
	struct req *r = a->r;
	const char *cookies = web_header(r, "Cookie");
	struct store_admin_session s;
	struct store_operator_row o;
	struct cd_err err = { 0 };
	char sid[64];
	int rc;

	if (!cookies)
		return 0;
	rc = web_cookie_get(cookies, cookie_name(r->w), sid, sizeof(sid), NULL);
	if (rc < 0)
		return -2;
	if (rc == 0 || !web_session_id_ok(sid))
		return 0;
	if (!web_store(r))
		return -1;
	web_sha256_hex(sid, a->sid_hash);
	sodium_memzero(sid, sizeof(sid));
	rc = store_admin_session_get(r->st, a->sid_hash, &s, &err);
	if (rc == -CD_ENOTFOUND)
		return 0;
	if (rc)
		goto fail;
	if (s.expires_at <= r->now || s.last_seen_at + r->w->session_idle <= r->now) {
		store_web_session_delete(r->st, a->sid_hash, &err);
		set_cookie(r, "", 0);
		return 0;
	}
	rc = store_operator_get(r->st, s.operator_id, &o, &err);
	if (rc == -CD_ENOTFOUND || (rc == 0 && o.disabled_at))
		return 0;
	if (rc)
		goto fail;
	sodium_memzero(o.password_hash, sizeof(o.password_hash));
	if (r->now - s.last_seen_at >= (r->w->session_idle >= 600 ? 60 : 1) &&
	    store_web_session_touch(r->st, a->sid_hash, r->now, &err) != 0)
		goto fail;
	a->authed = true;
	a->can_act = strcmp(o.role, "admin") == 0;
	snprintf(a->operator_id, sizeof(a->operator_id), "%s", o.operator_id);
	snprintf(a->display_name, sizeof(a->display_name), "%s", o.display_name);
	snprintf(a->role, sizeof(a->role), "%s", o.role);
	snprintf(a->csrf, sizeof(a->csrf), "%s", s.csrf_token);
	return 0;
fail:
	cd_error("web: operator session: %s", err.msg);
	return -1;
}

static int session_begin(struct admin *a, const char *operator_id)
{
	struct req *r = a->r;
	struct cd_err err = { 0 };
	char sid[48], hash[WEB_HASH_HEX], csrf[65];

	if (a->sid_hash[0]) /* a new id at login: the old session dies */
		store_web_session_delete(r->st, a->sid_hash, &err);
	if (store_admin_sessions_purge(r->st, r->now, r->now - r->w->session_idle, &err) != 0)
		cd_warn("web: purging operator sessions: %s", err.msg);
	web_new_session_id(sid);
	web_sha256_hex(sid, hash);
	web_random_hex(csrf, 32);
	if (store_admin_session_create(r->st, hash, operator_id, csrf, r->client, r->now,
				       r->now + r->w->session_absolute, &err) != 0) {
		cd_error("web: operator session: %s", err.msg);
		sodium_memzero(sid, sizeof(sid));
		return -1;
	}
	set_cookie(r, sid, -1);
	sodium_memzero(sid, sizeof(sid));
	sodium_memzero(csrf, sizeof(csrf));
	return 0;
}

bool admin_csrf_ok(struct admin *a, const struct web_form *f)
{
	return web_csrf_match(a->r->w, a->authed ? a->csrf : NULL, web_form_get(f, "csrf"));
}

/* --- chrome ------------------------------------------------------------------ */

void admin_page_begin(struct admin *a, struct html *h, const char *title)
{
	struct req *r = a->r;
	static const struct {
		const char *path, *id, *ja, *en;
	} nav[] = {
		{ "/admin/campaigns", "nav-campaigns", "キャンペーン", "Campaigns" },
		{ "/admin/failures", "nav-failures", "失敗した再発行", "Failures" },
		{ "/admin/revocations", "nav-revocations", "失効待ち", "Revocations" },
		{ "/admin/search", "nav-search", "検索", "Search" },
	};

	h_fmt(h,
	      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	      "<meta name=\"robots\" content=\"noindex\">"
	      "<title>%s - %s</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
	      "</head><body class=\"admin\"><header><div class=\"brand\">%s <span>%s</span></div>"
	      "<nav>",
	      lang_name(r->lang), title, r->w->provider_name, r->w->provider_name,
	      L(r, "運用管理", "Operations"));
	if (a->authed)
		for (size_t i = 0; i < sizeof(nav) / sizeof(nav[0]); i++)
			h_fmt(h, "<a href=\"%s\" id=\"%s\"%R>%s</a>", nav[i].path, nav[i].id,
			      strncmp(r->url, nav[i].path, strlen(nav[i].path)) == 0
				  ? " class=\"here\""
				  : "",
			      L(r, nav[i].ja, nav[i].en));
	h_fmt(
	    h,
	    "<form method=\"post\" action=\"/lang\" class=\"inline\">"
	    "<input type=\"hidden\" name=\"next\" value=\"%s\">"
	    "<button type=\"submit\" name=\"lang\" value=\"%s\" class=\"link\" id=\"lang-switch\">"
	    "%s</button></form>",
	    a->self ? a->self : r->url, r->lang == LANG_JA ? "en" : "ja",
	    r->lang == LANG_JA ? "English" : "日本語");
	if (a->authed)
		h_fmt(h,
		      "<span class=\"who\" id=\"who\" data-role=\"%s\">%s (%s)</span>"
		      "<form method=\"post\" action=\"/admin/logout\" class=\"inline\">"
		      "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		      "<button type=\"submit\" class=\"link\" id=\"logout\">%s</button></form>",
		      a->role, a->display_name,
		      a->can_act ? L(r, "管理者", "admin") : L(r, "閲覧のみ", "viewer"), a->csrf,
		      L(r, "ログアウト", "Log out"));
	h_fmt(h, "</nav></header><main>");
}

void admin_page_end(struct admin *a, struct html *h)
{
	h_fmt(h, "</main><footer>%s &middot; %s</footer></body></html>\n", a->r->w->provider_name,
	      L(a->r, "運用管理画面", "Operator pages"));
}

enum MHD_Result admin_error(struct admin *a, unsigned status, const char *message)
{
	struct req *r = a->r;
	struct html h = { 0 };
	const char *text = message;

	if (!text)
		switch (status) {
		case 403:
			text =
			    L(r, "この操作は許可されていません。", "This action is not allowed.");
			break;
		case 404:
			text = L(r, "ページが見つかりません。", "The page was not found.");
			break;
		case 405:
			text =
			    L(r, "このメソッドは使えません。", "This method is not allowed here.");
			break;
		case 400:
			text = L(r, "リクエストが不正です。", "The request was not understood.");
			break;
		default:
			text = L(r, "システムで問題が発生しました。",
				 "Something went wrong on our side.");
		}
	admin_page_begin(a, &h, L(r, "エラー", "Error"));
	h_fmt(&h, "<h1>%s</h1><p class=\"error\" id=\"admin-error\">%s</p>",
	      L(r, "エラー", "Error"), text);
	if (a->authed)
		h_fmt(&h, "<p><a href=\"/admin/failures\">%s</a></p>",
		      L(r, "失敗した再発行へ", "Back to the failures"));
	admin_page_end(a, &h);
	return web_reply_html(r, status, &h);
}

/* --- login and logout -------------------------------------------------------- */

static const char *safe_next(const char *next)
{
	return next && web_local_path_ok(next) && strncmp(next, "/admin/", 7) == 0 &&
		       strncmp(next, "/admin/login", 12) != 0
		   ? next
		   : "/admin/campaigns";
}

static enum MHD_Result login_page(struct admin *a, unsigned status, const char *next,
				  const char *name, const char *message, long retry_after)
{
	struct req *r = a->r;
	struct html h = { 0 };

	admin_page_begin(a, &h, L(r, "運用管理ログイン", "Operator login"));
	h_fmt(&h, "<h1>%s</h1>", L(r, "運用管理ログイン", "Operator login"));
	if (message)
		h_fmt(&h, "<p class=\"error\" role=\"alert\" id=\"login-error\">%s</p>", message);
	h_fmt(&h,
	      "<form method=\"post\" action=\"/admin/login\" class=\"card\">"
	      "<input type=\"hidden\" name=\"next\" value=\"%s\">"
	      "<label for=\"operator\">%s</label>"
	      "<input id=\"operator\" name=\"operator\" autocomplete=\"username\" required "
	      "maxlength=\"64\" value=\"%s\">"
	      "<label for=\"password\">%s</label>"
	      "<input id=\"password\" name=\"password\" type=\"password\" "
	      "autocomplete=\"current-password\" required maxlength=\"1024\">"
	      "<button type=\"submit\" class=\"primary\" id=\"login\">%s</button></form>",
	      safe_next(next), L(r, "オペレータ名", "Operator"), name ? name : "",
	      L(r, "パスワード", "Password"), L(r, "ログイン", "Log in"));
	admin_page_end(a, &h);
	if (status == 429)
		return web_reply_throttled(r, retry_after, &h);
	return web_reply_html(r, status, &h);
}

static enum MHD_Result login_post(struct admin *a)
{
	struct req *r = a->r;
	struct web_server *w = r->w;
	struct store_operator_row o;
	struct web_form f;
	struct cd_err err = { 0 };
	const char *name, *password, *next;
	const char *failed = L(r, "オペレータ名またはパスワードが正しくありません。",
			       "The operator name or the password is not correct.");
	int failures = 0, rc;
	long wait;
	bool known, ok;
	enum MHD_Result ret;

	rc = web_form_parse(r->body ? r->body : "", r->body_len, (size_t)w->max_fields, &f, &err);
	if (rc)
		return admin_error(a, rc == -CD_ELIMIT ? 413 : 400, NULL);
	name = web_form_get(&f, "operator");
	password = web_form_get(&f, "password");
	next = web_form_get(&f, "next");
	if (!web_login_name_ok(name, OPERATOR_MAX) || !password ||
	    strlen(password) > PASSWORD_MAX) {
		ret = login_page(a, 200, next, NULL, failed, 0);
		goto out;
	}
	if (web_login_wait(r, "admin-", name, &wait, &err))
		goto fail;
	if (wait > 0) {
		char msg[300];

		web_login_wait_message(r, wait, msg, sizeof(msg));
		ret = login_page(a, 429, next, name, msg, wait);
		goto out;
	}
	rc = store_operator_get(r->st, name, &o, &err);
	if (rc && rc != -CD_ENOTFOUND)
		goto fail;
	known = rc == 0 && o.password_hash[0] && !o.disabled_at;
	/* an unknown operator costs the same hash as a known one */
	atomic_fetch_add(&w->login_hashes, 1);
	ok = crypto_pwhash_str_verify(known ? o.password_hash : w->dummy_hash, password,
				      strlen(password)) == 0 &&
	     known;
	if (rc == 0)
		sodium_memzero(o.password_hash, sizeof(o.password_hash));
	if (!ok) {
		if (web_login_failed(r, "admin-", name, &failures, &err))
			goto fail;
		if (web_login_event(r, "operator", name, "login.failed",
				    rc != 0  ? "no such operator"
				    : !known ? "the operator is disabled or has no password"
					     : "wrong password",
				    &err))
			goto fail;
		cd_info("web: failed operator login for '%.64s' from %s (%d in a row)", name,
			r->client, failures);
		ret = login_page(a, 200, next, name, failed, 0);
		goto out;
	}
	if (web_login_succeeded(r, "admin-", name, &err) || session_begin(a, o.operator_id) != 0 ||
	    web_login_event(r, "operator", o.operator_id, "login.ok", "password", &err))
		goto fail;
	cd_info("web: operator %s logged in from %s", o.operator_id, r->client);
	ret = web_reply_redirect(r, safe_next(next));
	goto out;
fail:
	cd_error("web: operator login: %s", err.msg);
	ret = admin_error(a, 500, NULL);
out:
	web_form_free(&f);
	return ret;
}

static enum MHD_Result logout_post(struct admin *a)
{
	struct web_form f;
	struct cd_err err = { 0 };
	enum MHD_Result ret;

	if (web_form_parse(a->r->body ? a->r->body : "", a->r->body_len,
			   (size_t)a->r->w->max_fields, &f, &err) != 0)
		return admin_error(a, 400, NULL);
	if (!a->authed) {
		ret = web_reply_redirect(a->r, "/admin/login");
	} else if (!admin_csrf_ok(a, &f)) {
		ret = admin_error(a, 403, NULL);
	} else {
		if (store_web_session_delete(a->r->st, a->sid_hash, &err) != 0 ||
		    web_login_event(a->r, "operator", a->operator_id, "logout", NULL, &err) != 0)
			cd_error("web: operator logout: %s", err.msg);
		set_cookie(a->r, "", 0);
		a->authed = false;
		ret = web_reply_redirect(a->r, "/admin/login");
	}
	web_form_free(&f);
	return ret;
}

/* --- routes ------------------------------------------------------------------ */

/* POST /admin/orders/{id}/retry|cancel: a session, its CSRF token, the admin role. */
static enum MHD_Result order_post(struct admin *a, const char *rest)
{
	const char *slash = strchr(rest, '/');
	struct web_form f;
	struct cd_err err = { 0 };
	char id[24];
	int64_t oid;
	size_t n = slash ? (size_t)(slash - rest) : 0;
	bool cancel;
	enum MHD_Result ret;

	if (!slash || n == 0 || n >= sizeof(id))
		return admin_error(a, 404, NULL);
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!web_order_id_parse(id, &oid) ||
	    (strcmp(slash, "/retry") != 0 && strcmp(slash, "/cancel") != 0))
		return admin_error(a, 404, NULL);
	cancel = strcmp(slash, "/cancel") == 0;
	if (!a->r->is_post)
		return admin_error(a, 405, NULL);
	if (web_form_parse(a->r->body ? a->r->body : "", a->r->body_len,
			   (size_t)a->r->w->max_fields, &f, &err) != 0)
		return admin_error(a, 400, NULL);
	if (!admin_csrf_ok(a, &f) || !a->can_act) {
		cd_info("web: operator %s refused: %s of order %lld (%s)", a->operator_id,
			cancel ? "cancel" : "retry", (long long)oid,
			a->can_act ? "bad CSRF token" : "role viewer");
		ret = admin_error(a, 403, NULL);
	} else {
		ret = admin_order_action(a, oid, cancel);
	}
	web_form_free(&f);
	return ret;
}

static enum MHD_Result route(struct admin *a, const char *path)
{
	struct req *r = a->r;
	bool get = !r->is_post;
	char next[300];

	if (strcmp(path, "/login") == 0) {
		if (get)
			return a->authed ? web_reply_redirect(r, safe_next(web_query(r, "next")))
					 : login_page(a, 200, web_query(r, "next"), NULL, NULL, 0);
		return login_post(a);
	}
	if (strcmp(path, "/logout") == 0)
		return r->is_post ? logout_post(a) : admin_error(a, 405, NULL);
	if (!a->authed) {
		/* a member's session is no operator's: the login page, nothing else */
		if (r->is_post)
			return admin_error(a, 403, NULL);
		snprintf(next, sizeof(next), "/admin/login?next=%%2Fadmin%s",
			 strcmp(path, "/campaigns") == 0 || strcmp(path, "/failures") == 0 ||
				 strcmp(path, "/revocations") == 0 || strcmp(path, "/search") == 0
			     ? path
			     : "%2Fcampaigns");
		return web_reply_redirect(r, next);
	}
	if (strncmp(path, "/orders/", 8) == 0)
		return order_post(a, path + 8);
	if (r->is_post)
		return admin_error(a, 405, NULL);
	if (strcmp(path, "") == 0 || strcmp(path, "/") == 0)
		return web_reply_redirect(r, "/admin/campaigns");
	if (strcmp(path, "/campaigns") == 0)
		return admin_campaigns_get(a);
	if (strncmp(path, "/campaigns/", 11) == 0) {
		int64_t id;

		if (!web_order_id_parse(path + 11, &id))
			return admin_error(a, 404, NULL);
		return admin_campaign_get(a, id);
	}
	if (strcmp(path, "/failures") == 0)
		return admin_failures_get(a);
	if (strcmp(path, "/revocations") == 0)
		return admin_revocations_get(a);
	if (strcmp(path, "/search") == 0)
		return admin_search_get(a);
	if (strncmp(path, "/certificates/", 14) == 0) {
		if (!web_id_ok(path + 14))
			return admin_error(a, 404, NULL);
		return admin_certificate_get(a, path + 14);
	}
	return admin_error(a, 404, NULL);
}

enum MHD_Result web_admin(struct req *r, const char *path)
{
	struct admin a = { .r = r };
	enum MHD_Result ret;

	if (!web_store(r))
		return web_reply_error(r, 500);
	switch (session_load(&a)) {
	case 0:
		break;
	case -2:
		return admin_error(&a, 400, NULL);
	default:
		return admin_error(&a, 500, NULL);
	}
	ret = route(&a, path);
	sodium_memzero(a.csrf, sizeof(a.csrf));
	return ret;
}
