/*
 * pages_reissue.c - /certificates/{id}/reissue: the confirmation screen (the
 * names from a live DNS preflight, the new validity, what will be
 * overwritten) and the POST that applies: CSRF-checked, one order however
 * often or concurrently it is sent. Another member's certificate is a 404.
 */
#include <stdio.h>
#include <string.h>

#include "core/validity.h"
#include "util/log.h"
#include "web/web_priv.h"

struct preflight_view {
	bool ran;
	enum failure_code failure;
	char detail[512];
	char names[2][254];
	size_t n_names;
	char dropped[254], dropped_why[256];
};

/* The live DNS check of the names (src/dcv), against the server's addresses
 * in the store. Without the dcv stage built in, ran stays false. */
static int run_preflight(struct req *r, const struct store_cert_view *v, struct preflight_view *pf)
{
	memset(pf, 0, sizeof(*pf));
#ifdef WEB_HAVE_DCV
	struct store_web_server s;
	struct dcv_preflight out;
	struct cd_err err = { 0 };
	struct dcv_server srv;

	if (!v->server[0] || store_web_server_get(r->st, v->server, &s, &err) != 0) {
		pf->ran = true;
		pf->failure = FAILURE_SERVER_PROBLEM;
		return 0;
	}
	srv = (struct dcv_server){ .name = s.server, .ipv4 = s.ipv4, .ipv6 = s.ipv6 };
	if (dcv_preflight(r->w->resolver, v->common_name, &srv, r->w->caa_identities, &out, &err) !=
	    0) {
		cd_error("web: preflight of %s: %s", v->common_name, err.msg);
		return -1;
	}
	pf->ran = true;
	pf->failure = out.failure;
	snprintf(pf->detail, sizeof(pf->detail), "%s", out.detail);
	for (size_t i = 0; i < out.n_names && i < 2; i++)
		snprintf(pf->names[i], sizeof(pf->names[i]), "%s", out.names[i]);
	pf->n_names = out.n_names < 2 ? out.n_names : 2;
	snprintf(pf->dropped, sizeof(pf->dropped), "%s", out.dropped);
	snprintf(pf->dropped_why, sizeof(pf->dropped_why), "%s", out.dropped_why);
#else
	(void)r;
	(void)v;
#endif
	return 0;
}

/* The certificate if it is the member's; anything else is the same 404. */
static int own_certificate(struct req *r, const char *id, struct store_cert_view *v)
{
	struct cd_err err = { 0 };
	int rc = store_certificate_view(r->st, id, r->now, v, &err);

	if (rc == -CD_ENOTFOUND || (rc == 0 && strcmp(v->member_id, r->member_id) != 0))
		return 404;
	if (rc) {
		cd_error("web: certificate %s: %s", id, err.msg);
		return 500;
	}
	return 0;
}

static enum MHD_Result not_available(struct req *r, const struct store_cert_view *v,
				     const struct eligibility *e)
{
	struct html h = { 0 };

	web_page_begin(r, &h, L(r, "再発行できません", "Cannot reissue"), 0);
	h_fmt(&h, "<h1>%s</h1><p>%s: <span class=\"status\">%s</span></p>", v->common_name,
	      L(r, "この証明書の状態", "This certificate's status"),
	      i18n_status_label(e->status, r->lang));
	h_fmt(&h, "<p>%s</p>",
	      L(r, "この証明書は現在、この画面から再発行をお申し込みいただけません。",
		"This certificate cannot be reissued from this screen now."));
	h_fmt(&h, "<p><a href=\"/certificates\">%s</a></p>",
	      L(r, "証明書一覧へ戻る", "Back to your certificates"));
	web_page_end(r, &h);
	return web_reply_html(r, 409, &h);
}

static void row(struct html *h, const char *label, const char *value)
{
	h_fmt(h, "<tr><th>%s</th><td>%s</td></tr>", label, value);
}

static enum MHD_Result confirm_page(struct req *r, const struct store_cert_view *v,
				    const struct eligibility *e, const struct preflight_view *pf,
				    unsigned status)
{
	struct html h = { 0 };
	struct validity val;
	struct cd_err err = { 0 };
	char from[17], until[17], new_until[17], key[33];
	bool blocked = pf->ran && pf->failure != FAILURE_NONE;
	int vrc;

	web_page_begin(r, &h, L(r, "再発行の確認", "Confirm the reissue"), 0);
	h_fmt(&h, "<h1>%s</h1><p>%s</p>", L(r, "再発行の確認", "Confirm the reissue"),
	      L(r, "以下の内容で証明書を再発行します。内容をご確認ください。",
		"The certificate below will be reissued. Please check the details."));
	web_local_date(r, v->not_before, from);
	web_local_date(r, v->not_after, until);
	h_fmt(&h, "<table class=\"facts\" id=\"confirm-facts\">");
	row(&h, L(r, "コモンネーム", "Common name"), v->common_name);
	h_fmt(&h, "<tr><th>%s</th><td id=\"names\">",
	      L(r, "新しい証明書に含まれるドメイン名", "Names on the new certificate"));
	if (pf->ran && pf->n_names > 0) {
		h_fmt(&h, "<ul class=\"names\">");
		for (size_t i = 0; i < pf->n_names; i++)
			h_fmt(&h, "<li>%s</li>", pf->names[i]);
		h_fmt(&h, "</ul>");
		if (pf->dropped[0])
			h_fmt(&h, "<p class=\"sub\">%s %s (%s)</p>",
			      L(r, "追加しない名前:", "Not added:"), pf->dropped, pf->dropped_why);
	} else if (pf->ran) {
		h_fmt(&h, "%s", v->common_name);
	} else {
		h_fmt(&h, "%s<p class=\"sub\">%s</p>", v->common_name,
		      L(r, "DNSの確認はお申し込みの後に行います。",
			"The DNS check runs after you apply."));
	}
	h_fmt(&h, "</td></tr>");
	row(&h, L(r, "種別", "Product"), i18n_product_label(v->product, r->lang));
	row(&h, L(r, "サーバ", "Server"), v->server[0] ? v->server : "-");
	h_fmt(&h, "<tr><th>%s</th><td>%s &ndash; %s</td></tr>",
	      L(r, "現在の有効期間", "Current validity"), from, until);
	vrc = validity_compute(r->now, v->term_end_at, v->not_after, (int)r->w->max_validity_days,
			       &val, &err);
	if (vrc == 0) {
		web_local_date(r, val.not_after, new_until);
		h_fmt(&h, "<tr><th>%s</th><td id=\"new-validity\">%s %s",
		      L(r, "新しい有効期間", "New validity"),
		      L(r, "本日から最長", "From today until at most"), new_until);
		/* two different reasons, said apart: the industry cap cuts the
		 * contract term, or the contract ends before the old certificate did */
		if (val.capped)
			h_fmt(&h, "<p class=\"notice\" id=\"shortened\">%s</p>",
			      L(r,
				"ご契約の期間より短くなります。認証局が発行できる証明書の有効期間"
				"の上限（業界の規則）によるものです。",
				"This is shorter than your contract term: certificate authorities "
				"may not issue certificates valid for longer (an industry rule)."));
		else if (val.shortened)
			h_fmt(&h, "<p class=\"notice\" id=\"shortened\">%s</p>",
			      L(r,
				"現在の証明書より早く終了します。新しい証明書の有効期間は、ご契約"
				"の期間の終了日までです。",
				"This ends before your current certificate does: the new "
				"certificate is valid until the end of your contract term."));
		h_fmt(&h, "</td></tr>");
	}
	h_fmt(&h, "</table>");
	if (v->facts.installed == INSTALLED_NONE)
		h_fmt(&h, "<p class=\"notice\" id=\"install-notice\">%s</p>",
		      L(r,
			"このドメイン名には現在証明書が設定されていません。再発行した証明書をサーバ"
			"に設定します。",
			"No certificate is installed for this name now: the reissued certificate "
			"will be installed on the server."));
	else
		h_fmt(&h, "<p class=\"warning\" id=\"overwrite-notice\">%s</p>",
		      L(r,
			"サーバに設定されている証明書と秘密鍵は、再発行した証明書で上書きされます。"
			"当社でも以前の証明書と秘密鍵のバックアップを保管しますが、お手元に残したい"
			"場合は事前にバックアップを取ってください。",
			"The certificate and private key installed on the server will be "
			"overwritten by the reissued certificate. We keep a backup of the old "
			"ones; if you want your own copy, back them up before you apply."));
	if (blocked) {
		h_fmt(&h,
		      "<div class=\"problem\" id=\"preflight-problem\" role=\"alert\"><h2>%s</h2>"
		      "<p>%s</p><p class=\"detail\">%s</p><p>%s %s</p>"
		      "<form method=\"get\" action=\"/certificates/%U/reissue\">"
		      "<button type=\"submit\" id=\"recheck\">%s</button></form></div>",
		      L(r, "このままでは再発行できません", "The reissue cannot start yet"),
		      i18n_failure_text(pf->failure, r->lang), pf->detail,
		      L(r, "対応:", "What to do:"), i18n_failure_todo(pf->failure, r->lang),
		      v->certificate_id, L(r, "再確認する", "Check again"));
	} else {
		/* the request key makes a replayed or double-sent form one order */
		web_random_hex(key, 16);
		h_fmt(&h,
		      "<form method=\"post\" action=\"/certificates/%U/reissue\" class=\"apply\">"
		      "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		      "<input type=\"hidden\" name=\"request_key\" value=\"%s\">"
		      "<button type=\"submit\" class=\"primary\" id=\"apply\">%s</button></form>",
		      v->certificate_id, r->csrf, key,
		      L(r, "再発行を申し込む", "Apply for the reissue"));
	}
	h_fmt(&h, "<p><a href=\"/certificates\">%s</a></p>",
	      L(r, "証明書一覧へ戻る", "Back to your certificates"));
	(void)e;
	web_page_end(r, &h);
	return web_reply_html(r, status, &h);
}

enum MHD_Result web_confirm_get(struct req *r, const char *cert_id)
{
	struct store_cert_view v;
	struct eligibility e;
	struct preflight_view pf;
	int code;

	if (!r->authed)
		return web_reply_redirect(r, "/login?next=%2Fcertificates");
	if (!web_store(r))
		return web_reply_error(r, 500);
	if ((code = own_certificate(r, cert_id, &v)) != 0)
		return web_reply_error(r, (unsigned)code);
	eligibility_of(&v.facts, &e);
	if (e.status == CERT_STATUS_IN_PROGRESS) {
		char path[48];

		snprintf(path, sizeof(path), "/orders/%lld", (long long)v.open_order_id);
		return web_reply_redirect(r, path);
	}
	if (e.status != CERT_STATUS_AVAILABLE)
		return not_available(r, &v, &e);
	if (run_preflight(r, &v, &pf) != 0)
		return web_reply_error(r, 503);
	return confirm_page(r, &v, &e, &pf, 200);
}

/* After a submit could not make its order: when the certificate has an open
 * order now, a concurrent submit of the same form (or another tab) made it,
 * and this one leads there instead of to an error page (a preflight that
 * timed out under load, or a busy store, is then no error for the member). */
static bool made_meanwhile(struct req *r, const char *cert_id, char path[64])
{
	struct store_cert_view v;
	struct eligibility e;
	struct cd_err err = { 0 };

	if (store_certificate_view(r->st, cert_id, r->now, &v, &err) != 0)
		return false;
	eligibility_of(&v.facts, &e);
	if (e.status != CERT_STATUS_IN_PROGRESS || !v.open_order_id)
		return false;
	snprintf(path, 64, "/orders/%lld", (long long)v.open_order_id);
	return true;
}

static bool key_ok(const char *k)
{
	if (!k || strlen(k) != 32)
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

enum MHD_Result web_confirm_post(struct req *r, const char *cert_id)
{
	struct store_cert_view v;
	struct eligibility e;
	struct preflight_view pf;
	struct web_form f;
	struct cd_err err = { 0 };
	char key[160], path[64];
	const char *k;
	int64_t order_id = 0;
	bool created = false;
	enum MHD_Result ret;
	int code, rc;

	if (web_form_parse(r->body ? r->body : "", r->body_len, (size_t)r->w->max_fields, &f,
			   &err) != 0)
		return web_reply_error(r, err.code == CD_ELIMIT ? 413 : 400);
	if (!r->authed || !web_csrf_ok(r, &f)) {
		ret = web_reply_error(r, 403);
		goto out;
	}
	if (!web_store(r)) {
		ret = web_reply_error(r, 500);
		goto out;
	}
	if ((code = own_certificate(r, cert_id, &v)) != 0) {
		ret = web_reply_error(r, (unsigned)code);
		goto out;
	}
	eligibility_of(&v.facts, &e);
	if (e.status == CERT_STATUS_IN_PROGRESS) { /* a double submit: the one order */
		snprintf(path, sizeof(path), "/orders/%lld", (long long)v.open_order_id);
		ret = web_reply_redirect(r, path);
		goto out;
	}
	if (e.status != CERT_STATUS_AVAILABLE) {
		ret = not_available(r, &v, &e);
		goto out;
	}
	k = web_form_get(&f, "request_key");
	if (!key_ok(k)) {
		ret = web_reply_error(r, 400);
		goto out;
	}
	/* the names are checked again: the form may be old or hand-made */
	rc = run_preflight(r, &v, &pf);
	if (rc != 0 || (pf.ran && pf.failure != FAILURE_NONE)) {
		if (made_meanwhile(r, cert_id, path))
			ret = web_reply_redirect(r, path);
		else
			ret = rc ? web_reply_error(r, 503) : confirm_page(r, &v, &e, &pf, 409);
		goto out;
	}
	snprintf(key, sizeof(key), "web:%s:%s", r->member_id, k);
	{
		char actor[80];

		snprintf(actor, sizeof(actor), "member:%s", r->member_id);
		rc = store_order_create(r->st, v.certificate_id, e.campaign_id, actor, key, r->now,
					&order_id, &created, &err);
	}
	if (rc) {
		/* a concurrent submit (another key: another tab) won: its order */
		if (made_meanwhile(r, cert_id, path)) {
			ret = web_reply_redirect(r, path);
		} else if (rc == -CD_ECONFLICT) {
			ret = web_reply_error(r, 409);
		} else {
			cd_error("web: order for %s: %s", cert_id, err.msg);
			ret = web_reply_error(r, err.retryable ? 503 : 500);
		}
		goto out;
	}
	if (created) {
		atomic_fetch_add(&r->w->orders_created, 1);
		cd_info("web: member %s applied for a reissue of %s: order %lld", r->member_id,
			cert_id, (long long)order_id);
	}
	snprintf(path, sizeof(path), "/orders/%lld/complete", (long long)order_id);
	ret = web_reply_redirect(r, path);
out:
	web_form_free(&f);
	return ret;
}

int web_preflight_blocks(struct req *r, const struct store_cert_view *v, enum failure_code *fc,
			 char detail[512])
{
	struct preflight_view pf;

	if (run_preflight(r, v, &pf) != 0)
		return -1;
	*fc = pf.failure;
	snprintf(detail, 512, "%s", pf.detail);
	return pf.ran && pf.failure != FAILURE_NONE;
}
