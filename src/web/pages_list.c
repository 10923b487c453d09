/*
 * pages_list.c - /certificates: every certificate of the member with its
 * status from core/eligibility (the same rule as `certdesk status`), the
 * reasons and what to do, the stage of an order in progress, the last failure.
 */
#include <stdio.h>
#include <string.h>

#include "core/product.h"
#include "util/log.h"
#include "web/web_priv.h"

static const char *status_class[CERT_STATUS_COUNT] = {
	[CERT_STATUS_AVAILABLE] = "available",
	[CERT_STATUS_NOT_NEEDED] = "not-needed",
	[CERT_STATUS_IN_PROGRESS] = "in-progress",
	[CERT_STATUS_IMPOSSIBLE] = "impossible",
};

struct list_run {
	struct req *r;
	struct html *h;
	int count;
};

static void reasons_block(struct req *r, struct html *h, unsigned reasons)
{
	h_fmt(h, "<details class=\"reasons\"><summary>%s</summary><ul>",
	      L(r, "詳細（理由と対応）", "Details (why, and what to do)"));
	for (unsigned bit = 1; bit <= REASON_ALL_MASK; bit <<= 1)
		if (reasons & bit)
			h_fmt(h,
			      "<li data-reason=\"%s\"><p class=\"why\">%s</p><p class=\"todo\">%s "
			      "%s</p></li>",
			      cert_reason_name(bit), i18n_reason_text(bit, r->lang),
			      L(r, "対応:", "What to do:"), i18n_reason_todo(bit, r->lang));
	h_fmt(h, "</ul></details>");
}

static int each_cert(const struct store_cert_view *v, void *arg)
{
	struct list_run *lr = arg;
	struct req *r = lr->r;
	struct html *h = lr->h;
	struct eligibility e;
	char from[17], until[17], deadline[17];

	eligibility_of(&v->facts, &e);
	lr->count++;
	web_local_date(r, v->not_before, from);
	web_local_date(r, v->not_after, until);
	h_fmt(h,
	      "<tr id=\"cert-%s\" class=\"cert\" data-status=\"%s\">"
	      "<td class=\"cn\">%s<div class=\"sub\">%s %s</div></td>"
	      "<td>%s</td><td>%s</td><td class=\"nowrap\">%s<br>&ndash; %s</td>"
	      "<td><span class=\"status %s\">%s</span>",
	      v->certificate_id, cert_status_name(e.status), v->common_name,
	      L(r, "証明書ID", "Certificate ID"), v->certificate_id,
	      i18n_product_label(v->product, r->lang), v->server[0] ? v->server : "-", from, until,
	      status_class[e.status], i18n_status_label(e.status, r->lang));
	if (e.campaign_id && e.status != CERT_STATUS_NOT_NEEDED) {
		web_local_date(r, e.deadline, deadline);
		h_fmt(h, "<div class=\"sub nowrap\">%s %s</div>", L(r, "再発行期限", "Deadline"),
		      deadline);
	}
	h_fmt(h, "</td><td>");
	switch (e.status) {
	case CERT_STATUS_AVAILABLE:
		h_fmt(h,
		      "<a class=\"button primary\" href=\"/certificates/%U/reissue\" "
		      "id=\"reissue-%s\">%s</a>",
		      v->certificate_id, v->certificate_id, L(r, "再発行", "Reissue"));
		break;
	case CERT_STATUS_IN_PROGRESS:
		h_fmt(h, "<p class=\"stage\">%s</p><a href=\"/orders/%I\">%s</a>",
		      i18n_stage_label(e.stage, r->lang), v->open_order_id,
		      L(r, "進捗を見る", "See progress"));
		break;
	case CERT_STATUS_IMPOSSIBLE:
		reasons_block(r, h, e.reasons);
		break;
	default:
		break;
	}
	if (e.last_failure != FAILURE_NONE && e.status != CERT_STATUS_IN_PROGRESS)
		h_fmt(h,
		      "<div class=\"failure\"><p>%s %s</p><p>%s %s</p>"
		      "<p><a href=\"/orders/%I\">%s</a></p></div>",
		      L(r, "前回の再発行は失敗しました:", "The last reissue failed:"),
		      i18n_failure_text(e.last_failure, r->lang), L(r, "対応:", "What to do:"),
		      i18n_failure_todo(e.last_failure, r->lang), v->last_order_id,
		      L(r, "お手続きの記録", "The order"));
	h_fmt(h, "</td></tr>");
	return 0;
}

enum MHD_Result web_list_get(struct req *r)
{
	struct html h = { 0 };
	struct list_run lr = { .r = r, .h = &h };
	struct cd_err err = { 0 };
	const char *campaign = web_query(r, "campaign");
	int64_t cid = 0;
	store_t *st;

	if (!r->authed)
		return web_reply_redirect(r, "/login?next=%2Fcertificates");
	if (!(st = web_store(r)))
		return web_reply_error(r, 500);
	web_page_begin(r, &h, L(r, "証明書一覧", "Your certificates"), 0);
	h_fmt(&h, "<h1>%s</h1>", L(r, "SSLサーバ証明書の一覧", "Your SSL server certificates"));
	if (campaign && web_order_id_parse(campaign, &cid)) {
		struct store_campaign c;

		if (store_campaign_get(st, cid, &c, &err) == 0 && strcmp(c.state, "active") == 0)
			h_fmt(&h,
			      "<p class=\"notice\" id=\"campaign\">%s <strong>%s</strong> %s</p>",
			      L(r, "再発行をお願いしている証明書は「再発行」と表示されています。",
				"Certificates we ask you to reissue show “Reissue”."),
			      c.deadline, L(r, "までにお手続きください。", "is the deadline."));
	}
	h_fmt(&h, "<p>%s</p>",
	      L(r,
		"「再発行」と表示されている証明書は、ボタンを押すと再発行の確認画面に進みます。"
		"再発行された証明書は自動でサーバに設定されます。",
		"For a certificate marked “Reissue”, the button leads to a confirmation screen. "
		"The reissued certificate is installed on the server automatically."));
	h_fmt(&h,
	      "<table class=\"certs\"><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
	      "<th>%s</th><th></th></tr></thead><tbody>",
	      L(r, "コモンネーム", "Common name"), L(r, "種別", "Product"),
	      L(r, "サーバ", "Server"), L(r, "有効期間", "Validity"), L(r, "状態", "Status"));
	if (store_member_certificates(st, r->member_id, r->now, each_cert, &lr, &err) != 0) {
		cd_error("web: list of %s: %s", r->member_id, err.msg);
		h_free(&h);
		return web_reply_error(r, 500);
	}
	h_fmt(&h, "</tbody></table>");
	if (lr.count == 0)
		h_fmt(&h, "<p>%s</p>", L(r, "証明書はありません。", "You have no certificates."));
	web_page_end(r, &h);
	return web_reply_html(r, 200, &h);
}
