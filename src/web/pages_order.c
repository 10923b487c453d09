/*
 * pages_order.c - /orders/{id}/complete (the application-complete screen) and
 * /orders/{id}: every stage of core/order.h with the time it was reached
 * (from the order's events), refreshed without script until the order ends;
 * the done page says how to check the lock and the "valid from" date.
 */
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "web/web_priv.h"

static int own_order(struct req *r, int64_t id, struct store_web_order *o)
{
	struct cd_err err = { 0 };
	int rc;

	if (!web_store(r))
		return 500;
	rc = store_web_order_get(r->st, id, o, &err);
	if (rc == -CD_ENOTFOUND || (rc == 0 && strcmp(o->member_id, r->member_id) != 0))
		return 404;
	if (rc) {
		cd_error("web: order %lld: %s", (long long)id, err.msg);
		return 500;
	}
	return 0;
}

enum MHD_Result web_complete_get(struct req *r, int64_t order_id)
{
	struct store_web_order o;
	struct html h = { 0 };
	int code;

	if (!r->authed)
		return web_reply_redirect(r, "/login?next=%2Fcertificates");
	if ((code = own_order(r, order_id, &o)) != 0)
		return web_reply_error(r, (unsigned)code);
	web_page_begin(r, &h, L(r, "お申し込み完了", "Application complete"), 0);
	h_fmt(&h, "<h1 id=\"complete\">%s</h1>",
	      L(r, "再発行のお申し込みを受け付けました", "Your reissue application is complete"));
	h_fmt(&h,
	      "<table class=\"facts\"><tr><th>%s</th><td>%s</td></tr>"
	      "<tr><th>%s</th><td id=\"order-id\">%I</td></tr></table>",
	      L(r, "コモンネーム", "Common name"), o.common_name,
	      L(r, "お申し込み番号", "Application number"), o.order_id);
	h_fmt(&h,
	      "<p>%s</p><ol class=\"next-steps\"><li>%s</li><li>%s</li><li>%s</li><li>%s</li></ol>",
	      L(r, "ここから先は自動で進みます。", "From here everything is automatic:"),
	      L(r, "ドメイン認証（ドメインのAレコードがレンタルサーバを指している必要があります）",
		"domain validation (the domain's A record must point at the hosting server)"),
	      L(r, "新しい証明書の発行とサーバへの設定", "issuance and installation on the server"),
	      L(r, "完了のお知らせメール", "an email when it is done"),
	      L(r, "以前の証明書の失効", "revocation of the old certificate"));
	h_fmt(&h, "<p><a class=\"button primary\" href=\"/orders/%I\" id=\"see-order\">%s</a></p>",
	      o.order_id, L(r, "進捗を見る", "See the progress"));
	web_page_end(r, &h);
	return web_reply_html(r, 200, &h);
}

struct stage_times {
	int64_t at[ORDER_STATE_COUNT];
};

static int each_event(const struct store_event *e, void *arg)
{
	struct stage_times *t = arg;
	enum order_state s;

	if (e->to_state && order_state_parse(e->to_state, &s, NULL) == 0)
		t->at[s] = e->at; /* the last time it got there (a new attempt repeats) */
	return 0;
}

enum MHD_Result web_order_get(struct req *r, int64_t order_id)
{
	static const enum order_state path[] = {
		ORDER_QUEUED,	  ORDER_PREFLIGHT,  ORDER_KEY_READY,   ORDER_ORDERED,
		ORDER_VALIDATING, ORDER_FINALIZING, ORDER_ISSUED,      ORDER_INSTALLED,
		ORDER_LIVE,	  ORDER_NOTIFIED,   ORDER_OLD_REVOKED, ORDER_DONE,
	};
	struct store_web_order o;
	struct stage_times t = { { 0 } };
	struct html h = { 0 };
	struct cd_err err = { 0 };
	enum order_state cur = ORDER_QUEUED;
	char when[17];
	int code;
	bool open;

	if (!r->authed)
		return web_reply_redirect(r, "/login?next=%2Fcertificates");
	if ((code = own_order(r, order_id, &o)) != 0)
		return web_reply_error(r, (unsigned)code);
	if (order_state_parse(o.state, &cur, &err) != 0 ||
	    store_events_each(r->st, NULL, order_id, each_event, &t, &err) != 0) {
		cd_error("web: order %lld: %s", (long long)order_id, err.msg);
		return web_reply_error(r, 500);
	}
	open = order_state_is_open(cur);
	web_page_begin(r, &h, L(r, "再発行の進捗", "Reissue progress"),
		       open ? (int)r->w->refresh_seconds : 0);
	h_fmt(&h, "<h1>%s</h1>", L(r, "再発行の進捗", "Reissue progress"));
	h_fmt(&h,
	      "<table class=\"facts\"><tr><th>%s</th><td>%s</td></tr>"
	      "<tr><th>%s</th><td>%I</td></tr><tr><th>%s</th><td id=\"order-state\" "
	      "data-state=\"%s\">%s</td></tr></table>",
	      L(r, "コモンネーム", "Common name"), o.common_name,
	      L(r, "お申し込み番号", "Application number"), o.order_id, L(r, "状態", "State"),
	      o.state, i18n_stage_label(cur, r->lang));
	if (open)
		h_fmt(&h, "<p class=\"sub\">%s</p>",
		      L(r, "このページは自動で更新されます。", "This page refreshes by itself."));
	h_fmt(&h, "<ol class=\"stages\">");
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		enum order_state s = path[i];
		/* the stage it is at is current only while the order runs: a done
		 * order has reached its last stage, it is not working on it */
		const char *cls = s == cur && open ? "current" : t.at[s] ? "reached" : "pending";
		web_local_time(r, t.at[s], when);
		h_fmt(&h, "<li class=\"%s\" data-stage=\"%s\"><span>%s</span><time>%s</time></li>",
		      cls, order_state_name(s), i18n_stage_label(s, r->lang), t.at[s] ? when : "");
	}
	h_fmt(&h, "</ol>");
	if (cur == ORDER_FAILED) {
		enum failure_code fc = FAILURE_INTERNAL;

		failure_code_parse(o.failure, &fc, NULL);
		h_fmt(&h,
		      "<div class=\"problem\" id=\"order-failed\"><h2>%s</h2><p>%s</p><p>%s %s</p>"
		      "</div>",
		      L(r, "再発行できませんでした", "The reissue failed"),
		      i18n_failure_text(fc, r->lang), L(r, "対応:", "What to do:"),
		      i18n_failure_todo(fc, r->lang));
	} else if (cur == ORDER_CANCELED) {
		h_fmt(&h, "<p class=\"notice\">%s</p>",
		      L(r, "このお申し込みは取り消されました。", "This application was canceled."));
	} else if (cur == ORDER_DONE) {
		char nb[17], na[17];

		web_local_date(r, o.new_not_before, nb);
		web_local_date(r, o.new_not_after, na);
		h_fmt(&h, "<div class=\"done\" id=\"order-done\"><h2>%s</h2>",
		      L(r, "再発行が完了しました", "The reissue is complete"));
		if (o.new_not_before)
			h_fmt(&h, "<p>%s %s &ndash; %s</p>",
			      L(r, "新しい証明書の有効期間:", "Validity of the new certificate:"),
			      nb, na);
		h_fmt(&h, "<p>%s</p><ol><li>%s</li><li>%s</li><li>%s</li></ol></div>",
		      L(r, "ブラウザで次の点をご確認ください。", "Please check in your browser:"),
		      L(r, "https:// でサイトを開けること", "the site opens with https://"),
		      L(r, "アドレスバーに鍵のマークが表示されること",
			"the lock appears in the address bar"),
		      L(r,
			"鍵のマークから証明書を表示し、「有効期間の開始」が再発行の日付になっている"
			"こと",
			"open the certificate from the lock: its \"valid from\" date is the day of "
			"the reissue"));
	}
	h_fmt(&h, "<p><a href=\"/certificates\">%s</a></p>",
	      L(r, "証明書一覧へ戻る", "Back to your certificates"));
	web_page_end(r, &h);
	return web_reply_html(r, 200, &h);
}
