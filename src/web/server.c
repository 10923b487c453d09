/*
 * server.c - the portal's HTTP server: libmicrohttpd with its own thread pool
 * (epoll where available), the routes of DESIGN.md §4 as one table, request
 * limits, the client's address behind trusted proxies, and the one place
 * every reply goes through (security headers, no-store, cookies).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/cdtime.h"
#include "util/fileio.h"
#include "util/log.h"
#include "web/web_priv.h"
#include "web/admin.h"

#define HEADER_CSP                                                                                 \
	"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "               \
	"frame-ancestors 'none'; base-uri 'none'"

extern const char web_stylesheet[];

/* --- small shared helpers ---------------------------------------------------- */

/* The zone's offset at t, cached per thread by 15-minute slots of UTC: every
 * zone change since 1970 happens on such a boundary, and cd_tz_offset()
 * re-reads the zone file under a process-wide lock (a list page asks ~60 times). */
static int zone_offset(const char *zone, int64_t t, int *off)
{
	static _Thread_local struct {
		const char *zone;
		int64_t slot;
		int off;
	} cache[64];
	int64_t slot = t >= 0 ? t / 900 : -((-t + 899) / 900);
	/* certificates start at the same time of day: hash the slot, or all collide */
	size_t i = (size_t)(((uint64_t)slot * 0x9e3779b97f4a7c15ull) >> 58);

	if (cache[i].zone == zone && cache[i].slot == slot) {
		*off = cache[i].off;
		return 0;
	}
	if (cd_tz_offset(zone, t, off, NULL) != 0)
		return -1;
	cache[i].zone = zone;
	cache[i].slot = slot;
	cache[i].off = *off;
	return 0;
}

void web_local_time(struct req *r, int64_t t, char out[17])
{
	struct cd_date d;
	int64_t local, days, secs;
	int off;

	if (t == 0 || zone_offset(r->w->timezone, t, &off) != 0) {
		snprintf(out, 17, "-");
		return;
	}
	local = t + off;
	days = local >= 0 ? local / CD_SECS_PER_DAY
			  : -((-local + CD_SECS_PER_DAY - 1) / CD_SECS_PER_DAY);
	secs = local - days * CD_SECS_PER_DAY;
	cd_civil_from_days(days, &d);
	snprintf(out, 17, "%04u-%02u-%02u %02u:%02u", (unsigned)d.year % 10000u,
		 (unsigned)d.month % 100u, (unsigned)d.day % 100u, (unsigned)(secs / 3600) % 100u,
		 (unsigned)(secs % 3600 / 60) % 100u);
}

void web_local_date(struct req *r, int64_t t, char out[17])
{
	web_local_time(r, t, out);
	if (out[0] != '-')
		out[10] = '\0';
}

bool web_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

bool web_order_id_parse(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 18 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

const char *web_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *web_query(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void store_destroy(void *p)
{
	store_close(p);
}

store_t *web_store(struct req *r)
{
	store_t *st = pthread_getspecific(r->w->store_key);
	struct store_options opt = { .busy_timeout_ms = r->w->busy_timeout_ms };
	struct cd_err err = { 0 };

	if (!st) {
		if (store_open(r->w->store_url, &opt, &st, &err) != 0) {
			cd_error("web: cannot open the store: %s", err.msg);
			return NULL;
		}
		pthread_setspecific(r->w->store_key, st);
	}
	store_set_source(st, r->client); /* every event of this request names its client */
	return r->st = st;
}

void web_add_cookie_at(struct req *r, const char *name, const char *value, const char *path,
		       long max_age, bool http_only, const char *same_site)
{
	char age[40] = "";

	if (r->n_cookies >= 3)
		return;
	if (max_age >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%ld", max_age);
	snprintf(r->cookies[r->n_cookies++], sizeof(r->cookies[0]),
		 "%s=%s; Path=%s%s%s; SameSite=%s%s", name, value, path, age,
		 http_only ? "; HttpOnly" : "", same_site, r->w->https ? "; Secure" : "");
}

void web_add_cookie(struct req *r, const char *name, const char *value, long max_age,
		    bool http_only)
{
	web_add_cookie_at(r, name, value, "/", max_age, http_only, "Lax");
}

/* --- replies -------------------------------------------------------------------- */

static enum MHD_Result send_reply(struct req *r, unsigned status, const char *ctype, char *body,
				  size_t len, bool no_store, const char *location, long retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char num[24];

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Content-Security-Policy", HEADER_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	if (r->w->https)
		MHD_add_response_header(resp, "Strict-Transport-Security",
					"max-age=31536000; includeSubDomains");
	MHD_add_response_header(resp, "Cache-Control",
				no_store ? "no-store" : "public, max-age=3600");
	if (no_store)
		MHD_add_response_header(resp, "Vary", "Cookie, Accept-Language");
	if (location)
		MHD_add_response_header(resp, "Location", location);
	if (retry_after > 0) {
		snprintf(num, sizeof(num), "%ld", retry_after);
		MHD_add_response_header(resp, "Retry-After", num);
	}
	for (int i = 0; i < r->n_cookies; i++)
		MHD_add_response_header(resp, "Set-Cookie", r->cookies[i]);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct req *r, unsigned status, const char *ctype,
				  const char *text, bool no_store)
{
	char *b = strdup(text);

	if (!b)
		return MHD_NO;
	return send_reply(r, status, ctype, b, strlen(b), no_store, NULL, 0);
}

enum MHD_Result web_reply_html(struct req *r, unsigned status, struct html *h)
{
	char *b = h->buf;
	size_t len = h->len;

	if (h->oom || !b) {
		h_free(h);
		return reply_text(r, 500, "text/plain; charset=utf-8", "out of memory\n", true);
	}
	h->buf = NULL;
	h_free(h);
	return send_reply(r, status, "text/html; charset=utf-8", b, len, true, NULL, 0);
}

enum MHD_Result web_reply_throttled(struct req *r, long retry_after, struct html *h)
{
	char *b = h->buf;
	size_t len = h->len;

	if (h->oom || !b) {
		h_free(h);
		return reply_text(r, 500, "text/plain; charset=utf-8", "out of memory\n", true);
	}
	h->buf = NULL;
	h_free(h);
	return send_reply(r, 429, "text/html; charset=utf-8", b, len, true, NULL, retry_after);
}

enum MHD_Result web_reply_json(struct req *r, unsigned status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	char *b;
	size_t len;

	json_decref(j);
	if (!s)
		return reply_text(r, 500, "application/json", "{\"error\":\"internal\"}\n", true);
	len = strlen(s);
	b = malloc(len + 2);
	if (!b) {
		free(s);
		return MHD_NO;
	}
	memcpy(b, s, len);
	b[len++] = '\n';
	free(s);
	return send_reply(r, status, "application/json", b, len, true, NULL, 0);
}

enum MHD_Result web_reply_redirect(struct req *r, const char *path)
{
	char loc[1024];

	/* links come from base_url, never from the Host header */
	snprintf(loc, sizeof(loc), "%s%s", r->w->base_url, path);
	return send_reply(r, 303, "text/plain; charset=utf-8", strdup(""), 0, true, loc, 0);
}

static const char *status_text(unsigned status, enum lang l)
{
	switch (status) {
	case 400:
		return l == LANG_EN ? "The request was not understood." : "リクエストが不正です。";
	case 403:
		return l == LANG_EN
			   ? "This request was refused. Please go back, reload the page "
			     "and try again."
			   : "このリクエストは受け付けられませんでした。ページを読み込み直して"
			     "からもう一度お試しください。";
	case 404:
		return l == LANG_EN ? "The page was not found." : "ページが見つかりません。";
	case 405:
		return l == LANG_EN ? "This method is not allowed here."
				    : "このメソッドは使えません。";
	case 413:
		return l == LANG_EN ? "The request is too large." : "リクエストが大きすぎます。";
	case 431:
		return l == LANG_EN ? "The request headers are too large."
				    : "リクエストヘッダが大きすぎます。";
	default:
		return l == LANG_EN
			   ? "Something went wrong on our side. Please try again later."
			   : "システムで問題が発生しました。しばらくしてからもう一度お試しください"
			     "。";
	}
}

enum MHD_Result web_reply_error(struct req *r, unsigned status)
{
	struct html h = { 0 };

	if (strncmp(r->url, "/api/", 5) == 0) {
		static const struct {
			unsigned status;
			const char *code;
		} codes[] = { { 400, "bad_request" },	     { 401, "unauthorized" },
			      { 403, "forbidden" },	     { 404, "not_found" },
			      { 405, "method_not_allowed" }, { 409, "conflict" },
			      { 413, "too_large" },	     { 431, "headers_too_large" } };
		const char *code = "internal";

		for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			if (codes[i].status == status)
				code = codes[i].code;
		return web_reply_json(r, status, json_pack("{ss}", "error", code));
	}
	/* the page must not depend on the path asked for: a foreign id and a
	 * missing one get the same bytes (the language switch then comes back
	 * through the Referer: see web_lang_post) */
	r->url = "";
	web_page_begin(r, &h, L(r, "エラー", "Error"), 0);
	h_fmt(&h, "<h1>%s</h1><p>%s</p><p><a href=\"/certificates\">%s</a></p>",
	      L(r, "エラー", "Error"), status_text(status, r->lang),
	      L(r, "証明書一覧へ戻る", "Back to your certificates"));
	web_page_end(r, &h);
	return web_reply_html(r, status, &h);
}

/* --- page chrome --------------------------------------------------------------- */

void web_page_begin(struct req *r, struct html *h, const char *title, int refresh)
{
	h_fmt(h,
	      "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
	      lang_name(r->lang));
	if (refresh > 0)
		h_fmt(h, "<meta http-equiv=\"refresh\" content=\"%d\">", refresh);
	h_fmt(h,
	      "<title>%s - %s</title><link rel=\"stylesheet\" href=\"/static/style.css\">"
	      "</head><body><header><div class=\"brand\">%s <span>%s</span></div><nav>",
	      title, r->w->provider_name, r->w->provider_name,
	      L(r, "SSL証明書 再発行", "SSL certificate reissue"));
	/* the language switch: a POST, since it sets a cookie */
	h_fmt(h, "<form method=\"post\" action=\"/lang\" class=\"inline\">");
	if (r->url[0])
		h_fmt(h, "<input type=\"hidden\" name=\"next\" value=\"%s\">", r->url);
	h_fmt(
	    h,
	    "<button type=\"submit\" name=\"lang\" value=\"%s\" class=\"link\" id=\"lang-switch\">"
	    "%s</button></form>",
	    r->lang == LANG_JA ? "en" : "ja", r->lang == LANG_JA ? "English" : "日本語");
	if (r->authed)
		h_fmt(h,
		      "<span class=\"who\">%s %s</span>"
		      "<form method=\"post\" action=\"/logout\" class=\"inline\">"
		      "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		      "<button type=\"submit\" class=\"link\" id=\"logout\">%s</button></form>",
		      r->display_name, L(r, "様", ""), r->csrf, L(r, "ログアウト", "Log out"));
	h_fmt(h, "</nav></header><main>");
}

void web_page_end(struct req *r, struct html *h)
{
	h_fmt(h, "</main><footer>%s", r->w->provider_name);
	if (r->w->support_email[0])
		h_fmt(h, " &middot; %s <a href=\"mailto:%s\">%s</a>",
		      L(r, "サポート窓口:", "Support:"), r->w->support_email, r->w->support_email);
	if (r->w->support_url[0])
		h_fmt(h, " &middot; <a href=\"%s\">%s</a>", r->w->support_url,
		      L(r, "お問い合わせ", "Contact"));
	h_fmt(h, "</footer></body></html>\n");
}

/* --- the client and its language ------------------------------------------------ */

static bool is_trusted(struct web_server *w, const char *addr)
{
	for (size_t i = 0; i < w->n_trusted; i++)
		if (strcmp(w->trusted[i], addr) == 0)
			return true;
	return false;
}

/* The peer's address; behind a trusted proxy, the right-most X-Forwarded-For
 * entry that is not itself a trusted proxy. */
static void client_address(struct req *r)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const char *xff;
	char peer[64] = "unknown";

	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof(peer));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer,
			  sizeof(peer));
	snprintf(r->client, sizeof(r->client), "%s", peer);
	r->from_trusted = is_trusted(r->w, peer);
	xff = r->from_trusted ? web_header(r, "X-Forwarded-For") : NULL;
	if (!xff || strlen(xff) > 2048)
		return;
	for (const char *end = xff + strlen(xff); end > xff;) {
		const char *seg = end, *start;
		char one[64];
		size_t n;

		while (seg > xff && seg[-1] != ',')
			seg--;
		start = seg;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		n = (size_t)(end - start);
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(one))
			return;
		memcpy(one, start, n);
		one[n] = '\0';
		{
			unsigned char tmp[16];

			if (inet_pton(AF_INET, one, tmp) != 1 && inet_pton(AF_INET6, one, tmp) != 1)
				return; /* not an address: keep the last one believed */
		}
		snprintf(r->client, sizeof(r->client), "%s", one);
		if (!is_trusted(r->w, one))
			return;
		/* on to the entry before this one's comma ("a, b": the space
		 * after the comma belongs to b) */
		end = seg > xff ? seg - 1 : xff;
	}
}

static void choose_lang(struct req *r)
{
	const char *cookies = web_header(r, "Cookie");
	char v[8];
	bool found;

	r->lang = LANG_JA;
	if (cookies && web_cookie_get(cookies, "lang", v, sizeof(v), NULL) == 1 &&
	    lang_parse(v, &r->lang, NULL) == 0) {
		r->lang_chosen = true;
		return;
	}
	r->lang = web_accept_language(web_header(r, "Accept-Language"), &found);
}

/* --- routes ---------------------------------------------------------------------- */

static enum MHD_Result route_certificates(struct req *r, const char *rest)
{
	char id[80];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

	if (!slash || strcmp(slash, "/reissue") != 0 || n == 0 || n >= sizeof(id))
		return web_reply_error(r, 404);
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!web_id_ok(id))
		return web_reply_error(r, 404);
	return r->is_post ? web_confirm_post(r, id) : web_confirm_get(r, id);
}

static enum MHD_Result route_orders(struct req *r, const char *rest)
{
	char id[24];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	int64_t oid;

	if (r->is_post || n == 0 || n >= sizeof(id))
		return web_reply_error(r, r->is_post ? 405 : 404);
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!web_order_id_parse(id, &oid))
		return web_reply_error(r, 404);
	if (!slash)
		return web_order_get(r, oid);
	if (strcmp(slash, "/complete") == 0)
		return web_complete_get(r, oid);
	return web_reply_error(r, 404);
}

/* A browser's POST names its origin: one from another site is refused before
 * any handler runs (login CSRF included: the login form has no session yet). */
static bool origin_ok(struct req *r)
{
	const char *o = web_header(r, "Origin"), *b = r->w->base_url, *host;
	size_t n;

	if (!o)
		return true; /* not a browser, or an old one: the CSRF token still guards */
	host = strstr(b, "://");
	n = host ? (size_t)(strchrnul(host + 3, '/') - b) : strlen(b);
	return strlen(o) == n && strncmp(o, b, n) == 0;
}

static enum MHD_Result dispatch(struct req *r)
{
	const char *u = r->url;
	bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (!get && !r->is_post)
		return web_reply_error(r, 405);
	if (r->body_too_big)
		return web_reply_error(r, 413);
	if (strcmp(u, "/healthz") == 0)
		return reply_text(r, 200, "text/plain; charset=utf-8", "ok\n", true);
	if (strcmp(u, "/static/style.css") == 0)
		return reply_text(r, 200, "text/css; charset=utf-8", web_stylesheet, false);
	if (strcmp(u, "/metrics") == 0)
		return web_metrics_get(r);
	if (strncmp(u, "/api/", 5) == 0)
		return web_api(r, u + 4);
	if (r->is_post && !origin_ok(r)) {
		atomic_fetch_add(&r->w->csrf_refused, 1);
		return web_reply_error(r, 403);
	}
	if (strncmp(u, "/admin", 6) == 0 && (u[6] == '\0' || u[6] == '/'))
		return web_admin(r, u + 6);
	switch (web_session_load(r)) {
	case 0:
		break;
	case -2:
		return web_reply_error(r, 400);
	default:
		return web_reply_error(r, 500);
	}
	if (strcmp(u, "/") == 0)
		return get ? web_reply_redirect(r, r->authed ? "/certificates" : "/login")
			   : web_reply_error(r, 405);
	if (strcmp(u, "/login") == 0)
		return get ? web_login_get(r) : web_login_post(r);
	if (strcmp(u, "/logout") == 0)
		return r->is_post ? web_logout_post(r) : web_reply_error(r, 405);
	if (strcmp(u, "/lang") == 0)
		return r->is_post ? web_lang_post(r) : web_reply_error(r, 405);
	if (strcmp(u, "/reissue") == 0)
		return get ? web_reissue_link(r) : web_reply_error(r, 405);
	if (strcmp(u, "/certificates") == 0)
		return get ? web_list_get(r) : web_reply_error(r, 405);
	if (strncmp(u, "/certificates/", 14) == 0)
		return route_certificates(r, u + 14);
	if (strncmp(u, "/orders/", 8) == 0)
		return route_orders(r, u + 8);
	return web_reply_error(r, 404);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct web_server *w = cls;
	struct req *r = *con_cls;
	enum MHD_Result ret;

	(void)version;
	if (!r) {
		const char *cl;

		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->w = w;
		r->conn = conn;
		r->url = url;
		r->method = method;
		r->is_post = strcmp(method, "POST") == 0;
		*con_cls = r;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)w->max_body)
			r->body_too_big = true; /* refused below, before reading it */
		else
			return MHD_YES;
	}
	if (*upload_data_size > 0 && !r->body_too_big) {
		if (r->body_len + *upload_data_size > (size_t)w->max_body) {
			r->body_too_big = true;
		} else {
			char *nb = realloc(r->body, r->body_len + *upload_data_size + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + r->body_len, upload_data, *upload_data_size);
			r->body = nb;
			r->body_len += *upload_data_size;
			r->body[r->body_len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
		*upload_data_size = 0; /* too big: drop the rest, answer below */
	r->now = cd_time_now();
	atomic_fetch_add(&w->requests, 1);
	client_address(r);
	choose_lang(r);
	if (r->body_too_big) {
		r->url = url;
		ret = web_reply_error(r, 413);
	} else {
		ret = dispatch(r);
	}
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	if (r->body)
		sodium_memzero(r->body, r->body_len); /* may hold a password */
	free(r->body);
	sodium_memzero(r->csrf, sizeof(r->csrf));
	free(r);
	*con_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cd_debug("web: microhttpd: %s", msg);
}

/* --- start and stop ------------------------------------------------------------ */

static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *shown,
			size_t shownsz, struct cd_err *err)
{
	char host[64];
	const char *given = listen, *colon = strrchr(listen, ':');
	size_t hl;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == listen)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		goto bad;
	hl = (size_t)(colon - listen);
	if (listen[0] == '[' && hl >= 2 && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	} else {
		goto bad;
	}
	snprintf(shown, shownsz, "%s", given);
	return 0;
bad:
	return cd_err_set(err, CD_ECONFIG, false,
			  "[web] listen = '%s' is not ADDR:PORT (127.0.0.1:8080, [::1]:8080)",
			  listen);
}

static int get_int(const cd_config_t *cfg, const char *key, long min, long max, long *out,
		   struct cd_err *err)
{
	return cd_config_get_int(cfg, "web", key, min, max, out, err);
}

static int load_settings(struct web_server *w, struct cd_err *err)
{
	const cd_config_t *cfg = w->cfg;
	const char *v;
	long busy;
	int rc = 0;

	v = cd_config_get(cfg, "web", "base_url");
	snprintf(w->base_url, sizeof(w->base_url), "%s", v ? v : "");
	while (w->base_url[0] && w->base_url[strlen(w->base_url) - 1] == '/')
		w->base_url[strlen(w->base_url) - 1] = '\0';
	w->https = strncmp(w->base_url, "https://", 8) == 0;
	snprintf(w->cookie_name, sizeof(w->cookie_name), "%s",
		 w->https ? "__Host-certdesk_session" : "certdesk_session");
	v = cd_config_get(cfg, "web", "trusted_proxies");
	for (const char *p = v ? v : ""; *p;) {
		size_t n = strcspn(p, " ,\t");

		if (n > 0) {
			unsigned char tmp[16];

			if (w->n_trusted == WEB_MAX_TRUSTED || n >= sizeof(w->trusted[0]))
				return cd_err_set(err, CD_ECONFIG, false,
						  "[web] trusted_proxies: at most %d addresses",
						  WEB_MAX_TRUSTED);
			memcpy(w->trusted[w->n_trusted], p, n);
			w->trusted[w->n_trusted][n] = '\0';
			if (inet_pton(AF_INET, w->trusted[w->n_trusted], tmp) != 1 &&
			    inet_pton(AF_INET6, w->trusted[w->n_trusted], tmp) != 1)
				return cd_err_set(err, CD_ECONFIG, false,
						  "[web] trusted_proxies: '%s' is not an address",
						  w->trusted[w->n_trusted]);
			w->n_trusted++;
		}
		p += n;
		p += strspn(p, " ,\t");
	}
	v = cd_config_get(cfg, "web", "sso_header");
	snprintf(w->sso_header, sizeof(w->sso_header), "%s", v ? v : "");
	if (w->sso_header[0] && w->n_trusted == 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "[web] sso_header is set but trusted_proxies is empty: the "
				  "header would be believed from nobody");
	if (!rc)
		rc = get_int(cfg, "session_idle_seconds", 1, 86400 * 30, &w->session_idle, err);
	if (!rc)
		rc = get_int(cfg, "session_absolute_seconds", 1, 86400 * 90, &w->session_absolute,
			     err);
	if (!rc)
		rc = get_int(cfg, "throttle_free_failures", 1, 1000, &w->throttle_free, err);
	if (!rc)
		rc = get_int(cfg, "throttle_delay_seconds", 1, 3600, &w->throttle_delay, err);
	if (!rc)
		rc = get_int(cfg, "throttle_max_delay_seconds", 1, 86400, &w->throttle_max_delay,
			     err);
	if (!rc)
		rc =
		    get_int(cfg, "throttle_window_seconds", 1, 86400 * 7, &w->throttle_window, err);
	if (!rc)
		rc = get_int(cfg, "throttle_global_failures_per_minute", 1, 10000000,
			     &w->throttle_global_max, err);
	if (!rc)
		rc = get_int(cfg, "max_body_bytes", 1024, 1048576, &w->max_body, err);
	if (!rc)
		rc = get_int(cfg, "max_form_fields", 1, WEB_FORM_MAX_FIELDS, &w->max_fields, err);
	if (!rc)
		rc = get_int(cfg, "refresh_seconds", 1, 600, &w->refresh_seconds, err);
	if (!rc)
		rc = cd_config_get_int(cfg, "provider", "max_validity_days", 0, 398,
				       &w->max_validity_days, err);
	if (!rc)
		rc = cd_config_get_int(cfg, "store", "busy_timeout_ms", 0, 600000, &busy, err);
	if (rc)
		return rc;
	w->busy_timeout_ms = busy;
	w->timezone = cd_config_get(cfg, "provider", "timezone");
	w->provider_name = cd_config_get(cfg, "provider", "name");
	w->support_url = cd_config_get(cfg, "provider", "support_url");
	w->support_email = cd_config_get(cfg, "provider", "support_email");
	return 0;
}

static int store_url(struct web_server *w, struct cd_err *err)
{
	const char *url = cd_config_get(w->cfg, "store", "url");

	/* a relative sqlite path is relative to the config file, like every path */
	if (strncmp(url, "sqlite:", 7) == 0 && url[7] && url[7] != '/') {
		char joined[4096];
		int rc = cd_path_join(cd_config_dir(w->cfg), url + 7, joined, sizeof(joined), err);

		if (rc)
			return rc;
		snprintf(w->store_url, sizeof(w->store_url), "sqlite:%s", joined);
	} else {
		snprintf(w->store_url, sizeof(w->store_url), "%s", url);
	}
	return 0;
}

#ifdef WEB_HAVE_DCV
/* The active CA's CAA identities: [acme] active_ca, or the only [ca NAME]. */
static void one_ca(const char *name, void *arg)
{
	char(*found)[2][128] = arg;

	if (!(*found)[0][0])
		snprintf((*found)[0], sizeof((*found)[0]), "%s", name);
	else
		snprintf((*found)[1], sizeof((*found)[1]), "%s", name);
}

static void caa_identities(struct web_server *w)
{
	const char *active = cd_config_get(w->cfg, "acme", "active_ca");
	char found[2][128] = { "", "" }, section[160];
	const char *v;

	if (!active || !*active) {
		cd_config_each_named(w->cfg, "ca", one_ca, &found);
		active = found[1][0] ? NULL : found[0];
	}
	if (!active || !*active)
		return;
	snprintf(section, sizeof(section), "ca %s", active);
	v = cd_config_get(w->cfg, section, "caa_identity");
	snprintf(w->caa_identities, sizeof(w->caa_identities), "%s", v ? v : "");
}
#endif

int web_server_start(const cd_config_t *cfg, const char *listen_override, web_server_t **out,
		     struct cd_err *err)
{
	struct web_server *w;
	struct sockaddr_storage ss;
	const char *listen =
	    listen_override ? listen_override : cd_config_get(cfg, "web", "listen");
	long threads, timeout, conn_limit, per_ip, header_bytes;
	char pw[33];
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return cd_err_set(err, CD_ECRYPTO, false, "libsodium cannot start");
	w = calloc(1, sizeof(*w));
	if (!w)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	w->cfg = cfg;
	rc = load_settings(w, err);
	if (!rc)
		rc = store_url(w, err);
	if (!rc)
		rc = parse_listen(listen ? listen : "", &ss, w->address, sizeof(w->address), err);
	if (!rc)
		rc = get_int(cfg, "threads", 1, 256, &threads, err);
	if (!rc)
		rc = get_int(cfg, "request_timeout_seconds", 1, 3600, &timeout, err);
	if (!rc)
		rc = get_int(cfg, "max_connections", 1, 100000, &conn_limit, err);
	if (!rc)
		rc = get_int(cfg, "max_connections_per_address", 0, 100000, &per_ip, err);
	if (!rc)
		rc = get_int(cfg, "max_header_bytes", 4096, 1048576, &header_bytes, err);
	if (!rc)
		rc = web_metrics_check(cfg, err);
	if (rc)
		goto fail;
	/* the dummy hash: a random password at the import's parameters */
	web_random_hex(pw, 16);
	if (crypto_pwhash_argon2id_str(w->dummy_hash, pw, strlen(pw), WEB_PW_OPSLIMIT,
				       WEB_PW_MEMLIMIT) != 0) {
		rc = cd_err_set(err, CD_ENOMEM, false, "argon2id: out of memory");
		goto fail;
	}
	sodium_memzero(pw, sizeof(pw));
	if (pthread_key_create(&w->store_key, store_destroy) != 0) {
		rc = cd_err_set(err, CD_EINTERNAL, false, "pthread_key_create failed");
		goto fail;
	}
#ifdef WEB_HAVE_DCV
	rc = dcv_resolver_new(cfg, &w->resolver, err);
	if (rc)
		goto fail_key;
	caa_identities(w);
#endif
	w->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
		(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)timeout, MHD_OPTION_CONNECTION_LIMIT, (unsigned)conn_limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)header_bytes, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, w, MHD_OPTION_EXTERNAL_LOGGER, on_log, w, MHD_OPTION_END);
	if (!w->daemon) {
		rc = cd_err_set(err, CD_EIO, false, "cannot listen on %s: %s", w->address,
				strerror(errno));
		goto fail_dcv;
	}
	{
		/* port 0: the kernel chose one; say which */
		const union MHD_DaemonInfo *di =
		    MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
		char *colon = strrchr(w->address, ':');

		if (di && colon && strcmp(colon, ":0") == 0)
			snprintf(colon + 1, 8, "%u", (unsigned)di->port);
	}
	if (!w->base_url[0]) /* a single machine: links point where it listens */
		snprintf(w->base_url, sizeof(w->base_url), "http://%s", w->address);
	cd_info("web: the portal listens on %s (base url %s, %ld threads)", w->address, w->base_url,
		threads);
	*out = w;
	return 0;
fail_dcv:
#ifdef WEB_HAVE_DCV
	dcv_resolver_free(w->resolver);
fail_key:
#endif
	pthread_key_delete(w->store_key);
fail:
	free(w);
	return rc;
}

const char *web_server_address(const web_server_t *w)
{
	return w->address;
}

void web_server_stop(web_server_t *w)
{
	if (!w)
		return;
	MHD_stop_daemon(w->daemon); /* joins the threads: their stores close */
	pthread_key_delete(w->store_key);
#ifdef WEB_HAVE_DCV
	dcv_resolver_free(w->resolver);
#endif
	sodium_memzero(w->dummy_hash, sizeof(w->dummy_hash));
	free(w);
}

/* --- a plain-text reply for other files (/metrics) ------------------------- */

enum MHD_Result web_reply_text(struct req *r, unsigned status, const char *ctype, char *body,
			       size_t len)
{
	return send_reply(r, status, ctype, body, len, true, NULL, 0);
}
