/*
 * admin_pages.c - the operator pages: campaigns with their counts by status
 * (core/eligibility, the rule the portal and the CLI use) and a forecast of
 * the finish, a burndown chart drawn here as inline SVG, failed orders with
 * Retry / Cancel (the store functions `certdesk orders retry|cancel` use),
 * the revocation_pending queue, a certificate's whole history, and search.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/burndown.h"
#include "core/serial.h"
#include "util/cdtime.h"
#include "util/log.h"
#include "web/admin.h"

#define MAX_CAMPAIGNS 50
#define QUEUE_LIMIT   200
#define SEARCH_LIMIT  100
#define SEARCH_MAX    200
#define DAY	      86400

/* --- counts by status ---------------------------------------------------------- */

struct tally {
	long n[CERT_STATUS_COUNT];
	long total;
	int64_t at; /* when it was counted */
};

static int tally_group(const struct store_status_group *g, void *arg)
{
	struct tally *t = arg;

	t->n[g->status] += (long)g->n;
	t->total += (long)g->n;
	return 0;
}

/* Counting is one aggregate over the targets' facts, still a scan of every
 * target, so the counts of a campaign are kept for
 * [web] admin_counts_seconds and shared by every page and thread of this
 * server; an operator's action here forgets them at once. */
#define COUNTS_SLOTS 64
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const struct web_server *w;
	int64_t campaign_id, at;
	long n[CERT_STATUS_COUNT];
	long total;
} counts_kept[COUNTS_SLOTS];

static void counts_forget(const struct web_server *w)
{
	pthread_mutex_lock(&counts_lock);
	for (size_t i = 0; i < COUNTS_SLOTS; i++)
		if (counts_kept[i].w == w)
			counts_kept[i].w = NULL;
	pthread_mutex_unlock(&counts_lock);
}

static int tally_campaign(struct req *r, int64_t id, struct tally *t, struct cd_err *err)
{
	size_t slot = (size_t)((uint64_t)id % COUNTS_SLOTS);
	long max_age = 0;
	bool hit = false;
	int rc;

	memset(t, 0, sizeof(*t));
	if (cd_config_get_int(r->w->cfg, "web", "admin_counts_seconds", 0, 86400, &max_age, NULL))
		max_age = 0;
	pthread_mutex_lock(&counts_lock);
	if (max_age > 0 && counts_kept[slot].w == r->w && counts_kept[slot].campaign_id == id &&
	    r->now - counts_kept[slot].at < max_age && r->now >= counts_kept[slot].at) {
		memcpy(t->n, counts_kept[slot].n, sizeof(t->n));
		t->total = counts_kept[slot].total;
		t->at = counts_kept[slot].at;
		hit = true;
	}
	pthread_mutex_unlock(&counts_lock);
	if (hit)
		return 0;
	t->at = r->now;
	rc = store_campaign_status_each(r->st, id, r->now, tally_group, t, err);
	if (rc || max_age == 0)
		return rc;
	pthread_mutex_lock(&counts_lock);
	counts_kept[slot].w = r->w;
	counts_kept[slot].campaign_id = id;
	counts_kept[slot].at = t->at;
	memcpy(counts_kept[slot].n, t->n, sizeof(t->n));
	counts_kept[slot].total = t->total;
	pthread_mutex_unlock(&counts_lock);
	return 0;
}

static void counted_at(struct req *r, struct html *h, const struct tally *t)
{
	char when[17];

	web_local_time(r, t->at, when);
	h_fmt(h, "<p class=\"sub\" id=\"counted-at\">%s %s</p>",
	      L(r, "件数の集計時刻:", "Counted at"), when);
}

/* "to do": what still needs the pipeline (available or on its way) */
static long todo(const struct tally *t)
{
	return t->n[CERT_STATUS_AVAILABLE] + t->n[CERT_STATUS_IN_PROGRESS];
}

/* --- days in the provider's zone ------------------------------------------------ */

static int zone_off(struct req *r, int64_t t)
{
	int off = 0;

	if (cd_tz_offset(r->w->timezone, t, &off, NULL) != 0)
		off = 0;
	return off;
}

static int64_t local_day(struct req *r, int64_t t)
{
	int64_t l = t + zone_off(r, t);

	return l >= 0 ? l / DAY : -((-l + DAY - 1) / DAY);
}

static int64_t day_end(struct req *r, int64_t day)
{
	int64_t end = (day + 1) * DAY - 1;

	return end - zone_off(r, end - DAY / 2);
}

static void day_label(int64_t day, char out[11])
{
	struct cd_date d;

	cd_civil_from_days(day, &d);
	cd_date_format(&d, out);
}

static void forecast_cell(struct req *r, struct html *h, const struct store_campaign *c,
			  const struct tally *t)
{
	struct burndown_forecast f;
	char when[17];

	burndown_forecast(c->created_at, r->now, c->deadline_at, t->n[CERT_STATUS_NOT_NEEDED],
			  todo(t), &f);
	if (!f.known) {
		h_fmt(h, "<span class=\"sub\" data-forecast=\"unknown\">%s</span>",
		      L(r, "まだ予測できません（再発行の完了がありません）",
			"No forecast yet (nothing reissued so far)"));
		return;
	}
	web_local_date(r, f.finish_at, when);
	h_fmt(h, "<span class=\"%s\" data-forecast=\"%s\">%s %s</span>",
	      f.late ? "late" : "on-time", f.late ? "late" : "on_time", when,
	      f.late ? L(r, "（期限に間に合わない見込み）", "(after the deadline)")
		     : L(r, "（期限内の見込み）", "(before the deadline)"));
}

/* A stacked bar of the counts: SVG attributes, since the CSP forbids inline styles. */
static void progress_bar(struct html *h, const struct tally *t, int width)
{
	static const struct {
		enum cert_status s;
		const char *cls;
	} order[] = { { CERT_STATUS_NOT_NEEDED, "reissued" },
		      { CERT_STATUS_IN_PROGRESS, "in-progress" },
		      { CERT_STATUS_IMPOSSIBLE, "impossible" },
		      { CERT_STATUS_AVAILABLE, "remaining" } };
	double x = 0;
	char a[32], b[32];

	h_fmt(h,
	      "<svg class=\"bar\" width=\"%d\" height=\"14\" viewBox=\"0 0 %d 14\" "
	      "aria-hidden=\"true\">",
	      width, width);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && t->total > 0; i++) {
		double w = (double)width * (double)t->n[order[i].s] / (double)t->total;

		snprintf(a, sizeof(a), "%.2f", x);
		snprintf(b, sizeof(b), "%.2f", w);
		h_fmt(h, "<rect class=\"%s\" x=\"%s\" y=\"0\" width=\"%s\" height=\"14\"/>",
		      order[i].cls, a, b);
		x += w;
	}
	h_fmt(h, "</svg>");
}

/* --- /admin/campaigns ------------------------------------------------------------ */

struct campaign_list {
	struct store_campaign c[MAX_CAMPAIGNS];
	size_t n;
};

static int collect_campaign(const struct store_campaign *c, void *arg)
{
	struct campaign_list *l = arg;

	if (l->n < MAX_CAMPAIGNS)
		l->c[l->n++] = *c;
	return 0;
}

static void status_headers(struct req *r, struct html *h)
{
	h_fmt(h, "<th>%s</th><th>%s</th><th>%s</th><th>%s</th>",
	      L(r, "再発行済み・不要", "Reissued / not needed"),
	      i18n_status_label(CERT_STATUS_IN_PROGRESS, r->lang),
	      i18n_status_label(CERT_STATUS_IMPOSSIBLE, r->lang),
	      L(r, "未着手（再発行可）", "Not started (can reissue)"));
}

enum MHD_Result admin_campaigns_get(struct admin *a)
{
	struct req *r = a->r;
	struct campaign_list *l = calloc(1, sizeof(*l));
	struct tally last = { .at = r->now };
	struct html h = { 0 };
	struct cd_err err = { 0 };
	enum MHD_Result ret;

	if (!l)
		return admin_error(a, 500, NULL);
	if (store_campaign_each(r->st, collect_campaign, l, &err) != 0)
		goto fail;
	admin_page_begin(a, &h, L(r, "キャンペーン", "Campaigns"));
	h_fmt(&h, "<h1>%s</h1>", L(r, "再発行キャンペーン", "Reissue campaigns"));
	if (l->n == 0)
		h_fmt(&h, "<p>%s</p>", L(r, "キャンペーンはまだありません。", "No campaign yet."));
	else {
		h_fmt(&h, "<table id=\"campaigns\"><tr><th>%s</th><th>%s</th><th>%s</th>",
		      L(r, "キャンペーン", "Campaign"), L(r, "期限", "Deadline"),
		      L(r, "対象", "Targets"));
		status_headers(r, &h);
		h_fmt(&h, "<th>%s</th><th>%s</th></tr>", L(r, "進捗", "Progress"),
		      L(r, "完了予測", "Forecast"));
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct store_campaign *c = &l->c[i];
		struct tally t;

		if (tally_campaign(r, c->campaign_id, &t, &err) != 0) {
			h_free(&h);
			goto fail;
		}
		h_fmt(&h,
		      "<tr id=\"campaign-%I\"><td><a href=\"/admin/campaigns/%I\">%s</a>"
		      "<div class=\"sub\">%s</div></td><td class=\"nowrap\">%s</td>"
		      "<td class=\"num\">%I</td><td class=\"num\" data-count=\"reissued\">%I</td>"
		      "<td class=\"num\" data-count=\"in_progress\">%I</td>"
		      "<td class=\"num\" data-count=\"impossible\">%I</td>"
		      "<td class=\"num\" data-count=\"available\">%I</td><td>",
		      c->campaign_id, c->campaign_id, c->name,
		      strcmp(c->state, "active") == 0 ? L(r, "実施中", "active")
						      : L(r, "終了", "closed"),
		      c->deadline, (int64_t)t.total, (int64_t)t.n[CERT_STATUS_NOT_NEEDED],
		      (int64_t)t.n[CERT_STATUS_IN_PROGRESS], (int64_t)t.n[CERT_STATUS_IMPOSSIBLE],
		      (int64_t)t.n[CERT_STATUS_AVAILABLE]);
		progress_bar(&h, &t, 160);
		h_fmt(&h, "</td><td>");
		forecast_cell(r, &h, c, &t);
		h_fmt(&h, "</td></tr>");
		if (t.at < last.at)
			last.at = t.at; /* the oldest count shown */
	}
	if (l->n) {
		h_fmt(&h, "</table>");
		counted_at(r, &h, &last);
	}
	admin_page_end(a, &h);
	free(l);
	return web_reply_html(r, 200, &h);
fail:
	cd_error("web: admin campaigns: %s", err.msg);
	ret = admin_error(a, 500, NULL);
	free(l);
	return ret;
}

/* --- /admin/campaigns/{id}: counts, forecast, burndown ------------------------------ */

#define ORDERS_PER_CERT 32

struct feed {
	struct burndown *b;
	char cert[65];
	struct burndown_order o[ORDERS_PER_CERT];
	char states[ORDERS_PER_CERT][16];
	size_t n;
};

static void feed_flush(struct feed *f)
{
	if (f->n)
		burndown_add(f->b, f->o, f->n);
	f->n = 0;
}

static int feed_one(const struct store_admin_campaign_order *o, void *arg)
{
	struct feed *f = arg;

	if (strcmp(o->certificate_id, f->cert) != 0) {
		feed_flush(f);
		snprintf(f->cert, sizeof(f->cert), "%s", o->certificate_id);
	}
	if (f->n == ORDERS_PER_CERT) { /* keep the newest: they decide the status */
		memmove(&f->o[0], &f->o[1], sizeof(f->o[0]) * (ORDERS_PER_CERT - 1));
		memmove(&f->states[0], &f->states[1], sizeof(f->states[0]) * (ORDERS_PER_CERT - 1));
		f->n--;
		for (size_t i = 0; i < f->n; i++)
			f->o[i].state = f->states[i];
	}
	snprintf(f->states[f->n], sizeof(f->states[0]), "%s", o->state);
	f->o[f->n] = (struct burndown_order){ .created_at = o->created_at,
					      .state_at = o->state_at,
					      .state = f->states[f->n],
					      .failure_retryable = o->failure_retryable };
	f->n++;
	return 0;
}

static void coord(char out[24], double v)
{
	snprintf(out, 24, "%.1f", v);
}

/* The chart: one stacked bar a day from the campaign's start to today, the
 * ideal line from every target at the start to none at the deadline, and the
 * deadline itself. Colours come from the stylesheet (classes). */
static void burndown_svg(struct req *r, struct html *h, const struct burndown *b, int64_t first,
			 int64_t last_axis, int64_t deadline_day)
{
	const double W = 760, H = 340, ml = 64, mr = 20, mt = 20, mb = 74;
	const double pw = W - ml - mr, ph = H - mt - mb;
	double n_axis = (double)(last_axis - first + 1), bw = pw / n_axis;
	double top = b->targets > 0 ? (double)b->targets : 1;
	char x[24], y[24], w[24], hh[24], x2[24], y2[24], lbl[11];

	h_fmt(h,
	      "<svg id=\"burndown\" class=\"chart\" role=\"img\" width=\"760\" height=\"340\" "
	      "viewBox=\"0 0 760 340\" aria-labelledby=\"burndown-title\">"
	      "<title id=\"burndown-title\">%s</title>",
	      L(r, "バーンダウン: 日ごとの再発行の状況と期限",
		"Burndown: each day against the deadline"));
	/* the grid: 0, half, all */
	for (int i = 0; i <= 4; i++) {
		char n[24];

		coord(y, mt + ph - ph * i / 4.0);
		coord(x, ml);
		coord(x2, ml + pw);
		snprintf(n, sizeof(n), "%.0f", top * i / 4.0);
		h_fmt(
		    h,
		    "<line class=\"grid\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>"
		    "<text class=\"axis\" x=\"%d\" y=\"%s\" text-anchor=\"end\" dy=\"4\">%s</text>",
		    x, y, x2, y, (int)ml - 6, y, n);
	}
	for (size_t d = 0; d < b->n_days; d++) {
		const struct burndown_day *day = &b->days[d];
		const struct {
			long v;
			const char *cls;
		} seg[] = { { day->reissued, "reissued" },
			    { day->in_progress, "in-progress" },
			    { day->impossible, "impossible" },
			    { day->remaining, "remaining" } };
		double base = mt + ph;

		coord(x, ml + bw * (double)d + bw * 0.1);
		coord(w, bw * 0.8 > 0.5 ? bw * 0.8 : 0.5);
		for (size_t s = 0; s < 4; s++) {
			double segh = ph * (double)seg[s].v / top;

			if (seg[s].v <= 0)
				continue;
			base -= segh;
			coord(y, base);
			coord(hh, segh);
			h_fmt(h,
			      "<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\">"
			      "<title>%I</title></rect>",
			      seg[s].cls, x, y, w, hh, (int64_t)seg[s].v);
		}
	}
	/* the ideal line and the deadline */
	coord(x, ml);
	coord(y, mt);
	coord(x2, ml + bw * (double)(deadline_day - first + 1));
	coord(y2, mt + ph);
	h_fmt(h, "<line class=\"ideal\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>", x, y, x2, y2);
	day_label(deadline_day, lbl);
	h_fmt(h,
	      "<line class=\"deadline\" x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%s\"/>"
	      "<text class=\"deadline-label\" x=\"%s\" y=\"%d\" text-anchor=\"end\" dx=\"-4\">"
	      "%s %s</text>",
	      x2, (int)mt, x2, y2, x2, (int)mt + 12, L(r, "期限", "Deadline"), lbl);
	/* the date axis: the start, today when inside, the end */
	day_label(first, lbl);
	h_fmt(h, "<text class=\"axis\" x=\"%d\" y=\"%d\">%s</text>", (int)ml, (int)(mt + ph + 16),
	      lbl);
	day_label(last_axis, lbl);
	h_fmt(h, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>",
	      (int)(ml + pw), (int)(mt + ph + 16), lbl);
	if (b->n_days > 0) {
		/* today, under its bar, when it does not crowd the ends' labels */
		double tx = ml + bw * ((double)b->n_days - 0.5);

		if (tx > ml + 90 && tx < ml + pw - 90) {
			coord(x, tx);
			h_fmt(h,
			      "<text class=\"axis today\" x=\"%s\" y=\"%d\" "
			      "text-anchor=\"middle\">%s</text>",
			      x, (int)(mt + ph + 16), L(r, "今日", "Today"));
		}
	}
	/* the legend */
	{
		const struct {
			const char *cls, *ja, *en;
		} leg[] = { { "reissued", "再発行済み", "Reissued" },
			    { "in-progress", "手続中", "In progress" },
			    { "impossible", "再発行不可", "Not possible" },
			    { "remaining", "残り", "Remaining" },
			    { "ideal", "期限までの目安", "Pace to the deadline" } };
		double lx = ml;

		for (size_t i = 0; i < sizeof(leg) / sizeof(leg[0]); i++) {
			coord(x, lx);
			coord(x2, lx + 18);
			if (strcmp(leg[i].cls, "ideal") == 0)
				h_fmt(h,
				      "<line class=\"ideal\" x1=\"%s\" y1=\"%d\" x2=\"%s\" "
				      "y2=\"%d\"/>",
				      x, (int)(H - 24), x2, (int)(H - 24));
			else
				h_fmt(h,
				      "<rect class=\"%s\" x=\"%s\" y=\"%d\" width=\"14\" "
				      "height=\"14\"/>",
				      leg[i].cls, x, (int)(H - 31));
			coord(x2, lx + 23);
			h_fmt(h, "<text class=\"legend\" x=\"%s\" y=\"%d\">%s</text>", x2,
			      (int)(H - 19), L(r, leg[i].ja, leg[i].en));
			lx += 128;
		}
	}
	h_fmt(h, "</svg>");
}

enum MHD_Result admin_campaign_get(struct admin *a, int64_t id)
{
	struct req *r = a->r;
	struct store_campaign c;
	struct tally t;
	struct burndown *b = NULL;
	struct feed *f = NULL;
	struct html h = { 0 };
	struct cd_err err = { 0 };
	int64_t first, today, deadline_day, last_axis, *ends = NULL;
	size_t n_data;
	char when[17];
	int rc;

	rc = store_campaign_get(r->st, id, &c, &err);
	if (rc == -CD_ENOTFOUND)
		return admin_error(a, 404, NULL);
	if (rc || tally_campaign(r, id, &t, &err) != 0)
		goto fail;
	first = local_day(r, c.created_at);
	today = local_day(r, r->now);
	deadline_day = local_day(r, c.deadline_at);
	if (deadline_day < first)
		deadline_day = first;
	last_axis = today > deadline_day ? today : deadline_day;
	if (last_axis - first + 1 > BURNDOWN_MAX_DAYS)
		first = last_axis - BURNDOWN_MAX_DAYS + 1;
	n_data = today >= first ? (size_t)(today - first + 1) : 0;
	b = calloc(1, sizeof(*b));
	f = calloc(1, sizeof(*f));
	ends = calloc(n_data ? n_data : 1, sizeof(*ends));
	if (!b || !f || !ends) {
		err.msg[0] = '\0';
		snprintf(err.msg, sizeof(err.msg), "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n_data; i++)
		ends[i] = day_end(r, first + (int64_t)i);
	burndown_init(b, ends, n_data, t.total);
	f->b = b;
	if (store_admin_campaign_orders_each(r->st, id, c.created_at, feed_one, f, &err) != 0)
		goto fail;
	feed_flush(f);
	/* today is what the status rule says now (inventory reasons included) */
	if (n_data) {
		struct burndown_day *d = &b->days[n_data - 1];

		d->reissued = t.n[CERT_STATUS_NOT_NEEDED];
		d->in_progress = t.n[CERT_STATUS_IN_PROGRESS];
		d->impossible = t.n[CERT_STATUS_IMPOSSIBLE];
		d->remaining = t.n[CERT_STATUS_AVAILABLE];
	}

	admin_page_begin(a, &h, c.name);
	h_fmt(&h, "<h1>%s <span class=\"sub\">%s</span></h1>", c.name,
	      L(r, "再発行キャンペーン", "reissue campaign"));
	web_local_date(r, c.created_at, when);
	h_fmt(&h,
	      "<table class=\"facts\"><tr><th>%s</th><td id=\"deadline\">%s</td></tr>"
	      "<tr><th>%s</th><td>%s</td></tr><tr><th>%s</th><td>%s</td></tr>"
	      "<tr><th>%s</th><td id=\"forecast\">",
	      L(r, "お客様の期限", "Customers' deadline"), c.deadline,
	      L(r, "失効日（CA）", "Revocation date (CA)"),
	      c.revocation_date[0] ? c.revocation_date : "-", L(r, "開始", "Started"), when,
	      L(r, "完了予測", "Forecast of the finish"));
	forecast_cell(r, &h, &c, &t);
	{
		struct burndown_forecast fc;
		char rate[32], need[32];

		burndown_forecast(c.created_at, r->now, c.deadline_at, t.n[CERT_STATUS_NOT_NEEDED],
				  todo(&t), &fc);
		snprintf(rate, sizeof(rate), "%.1f", fc.per_day);
		snprintf(need, sizeof(need), "%.1f", fc.needed_per_day);
		h_fmt(
		    &h, "<div class=\"sub\">%s %s &middot; %s %s</div>",
		    L(r, "これまでの1日あたり再発行数:", "Reissued per day so far:"), rate,
		    L(r, "期限までに必要な1日あたり件数:", "Needed per day to meet the deadline:"),
		    need);
	}
	h_fmt(&h, "</td></tr></table>");
	h_fmt(&h, "<h2>%s</h2><table id=\"counts\"><tr><th>%s</th>",
	      L(r, "状態別の件数", "By status"), L(r, "対象", "Targets"));
	status_headers(r, &h);
	h_fmt(&h,
	      "</tr><tr><td class=\"num\" data-count=\"total\">%I</td>"
	      "<td class=\"num\" data-count=\"reissued\">%I</td>"
	      "<td class=\"num\" data-count=\"in_progress\">%I</td>"
	      "<td class=\"num\" data-count=\"impossible\">%I</td>"
	      "<td class=\"num\" data-count=\"available\">%I</td></tr></table>",
	      (int64_t)t.total, (int64_t)t.n[CERT_STATUS_NOT_NEEDED],
	      (int64_t)t.n[CERT_STATUS_IN_PROGRESS], (int64_t)t.n[CERT_STATUS_IMPOSSIBLE],
	      (int64_t)t.n[CERT_STATUS_AVAILABLE]);
	progress_bar(&h, &t, 480);
	counted_at(r, &h, &t);
	h_fmt(&h, "<h2>%s</h2>", L(r, "バーンダウン", "Burndown"));
	burndown_svg(r, &h, b, first, last_axis, deadline_day);
	h_fmt(&h, "<p class=\"sub\">%s</p>",
	      L(r,
		"過去の日は受付の記録（注文とその状態の変化）から数えています。今日の値は現在の"
		"状態判定（在庫の理由による再発行不可を含む）です。",
		"Past days are counted from the orders and their state changes; today is the "
		"status rule now (inventory reasons for not possible included)."));
	h_fmt(&h,
	      "<details><summary>%s</summary><table id=\"burndown-table\"><tr><th>%s</th>"
	      "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>",
	      L(r, "日ごとの数値", "Numbers by day"), L(r, "日付", "Day"),
	      L(r, "再発行済み", "Reissued"), L(r, "手続中", "In progress"),
	      L(r, "再発行不可", "Not possible"), L(r, "残り", "Remaining"));
	for (size_t i = 0; i < b->n_days; i++) {
		const struct burndown_day *d = &b->days[i];
		char lbl[11];

		day_label(first + (int64_t)i, lbl);
		h_fmt(&h,
		      "<tr data-day=\"%s\"><td>%s</td><td class=\"num\">%I</td>"
		      "<td class=\"num\">%I</td><td class=\"num\">%I</td><td class=\"num\">%I</td>"
		      "</tr>",
		      lbl, lbl, (int64_t)d->reissued, (int64_t)d->in_progress,
		      (int64_t)d->impossible, (int64_t)d->remaining);
	}
	h_fmt(&h, "</table></details>");
	h_fmt(&h, "<p><a href=\"/admin/failures\">%s</a></p>",
	      L(r, "失敗した再発行を見る", "See the failed orders"));
	admin_page_end(a, &h);
	free(b);
	free(f);
	free(ends);
	return web_reply_html(r, 200, &h);
fail:
	cd_error("web: admin campaign %lld: %s", (long long)id, err.msg);
	free(b);
	free(f);
	free(ends);
	return admin_error(a, 500, NULL);
}

/* --- /admin/failures and /admin/revocations ----------------------------------------- */

struct queue_page {
	struct admin *a;
	struct html *h;
	enum store_admin_queue q;
	int rows;
};

static void failure_text(struct req *r, struct html *h, const struct store_admin_order *o)
{
	enum failure_code fc = FAILURE_INTERNAL;

	if (!o->failure[0])
		return;
	failure_code_parse(o->failure, &fc, NULL);
	h_fmt(h, "<div class=\"why\">%s</div><div class=\"sub\"><code>%s</code>%s %s</div>",
	      i18n_failure_text(fc, r->lang), o->failure,
	      o->failure_retryable ? L(r, "（再試行で解決しうる）", " (a retry can help)")
				   : L(r, "（再試行では解決しない）", " (a retry cannot help)"),
	      o->failure_detail);
}

static void action_button(struct admin *a, struct html *h, int64_t order_id, const char *what,
			  const char *label, const char *cls)
{
	h_fmt(h,
	      "<form method=\"post\" action=\"/admin/orders/%I/%s\" class=\"inline\">"
	      "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	      "<button type=\"submit\" class=\"%s\" id=\"%s-%I\">%s</button></form> ",
	      order_id, what, a->csrf, cls, what, order_id, label);
}

static int queue_row(const struct store_admin_order *o, void *arg)
{
	struct queue_page *p = arg;
	struct admin *a = p->a;
	struct req *r = a->r;
	struct html *h = p->h;
	enum order_state s = ORDER_FAILED;
	char upd[17], next[17];

	order_state_parse(o->state, &s, NULL);
	web_local_time(r, o->updated_at, upd);
	h_fmt(h,
	      "<tr id=\"order-%I\" data-state=\"%s\"><td class=\"num\">%I</td>"
	      "<td><a href=\"/admin/certificates/%U\">%s</a><div class=\"sub\">%s</div></td>"
	      "<td>%s</td><td>%s</td><td>",
	      o->order_id, o->state, o->order_id, o->certificate_id, o->common_name,
	      o->certificate_id, o->member_id, i18n_stage_label(s, r->lang));
	if (p->q == STORE_ADMIN_REVOCATION_PENDING)
		h_fmt(h, "%s", o->failure_detail[0] ? o->failure_detail : "-");
	else
		failure_text(r, h, o);
	h_fmt(h, "</td><td class=\"nowrap\">%s", upd);
	if (p->q == STORE_ADMIN_RETRYING) {
		web_local_time(r, o->next_run_at, next);
		h_fmt(h, "<div class=\"sub\">%s %s (%s %d)</div>", L(r, "次の試行:", "next try:"),
		      next, L(r, "再試行", "retries"), o->retries);
	}
	h_fmt(h, "</td>");
	if (p->q != STORE_ADMIN_REVOCATION_PENDING && a->can_act) {
		h_fmt(h, "<td class=\"actions\">");
		action_button(a, h, o->order_id, "retry",
			      s == ORDER_FAILED ? L(r, "再試行", "Retry")
						: L(r, "今すぐ再試行", "Retry now"),
			      "primary");
		if (order_state_can_cancel(s))
			action_button(a, h, o->order_id, "cancel", L(r, "取り消す", "Cancel"),
				      "danger");
		h_fmt(h, "</td>");
	}
	h_fmt(h, "</tr>");
	p->rows++;
	return 0;
}

static int queue_table(struct admin *a, struct html *h, enum store_admin_queue q, const char *id,
		       const char *title, const char *empty, struct cd_err *err)
{
	struct req *r = a->r;
	struct queue_page p = { .a = a, .h = h, .q = q };
	size_t mark;
	int rc;

	h_fmt(h, "<h2>%s</h2>", title);
	mark = h->len;
	h_fmt(h,
	      "<table id=\"%s\" class=\"queue\"><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
	      "<th>%s</th><th>%s</th>%R</tr>",
	      id, L(r, "注文", "Order"), L(r, "証明書", "Certificate"), L(r, "会員", "Member"),
	      L(r, "状態", "State"),
	      q == STORE_ADMIN_REVOCATION_PENDING ? L(r, "メモ", "Note") : L(r, "理由", "Reason"),
	      L(r, "更新", "Updated"),
	      q != STORE_ADMIN_REVOCATION_PENDING && a->can_act
		  ? (r->lang == LANG_EN ? "<th>Actions</th>" : "<th>操作</th>")
		  : "");
	rc = store_admin_orders_each(r->st, q, QUEUE_LIMIT, queue_row, &p, err);
	if (rc)
		return rc;
	if (p.rows == 0) {
		/* no rows: say so instead of an empty table */
		h->len = mark;
		if (h->buf)
			h->buf[mark] = '\0';
		h_fmt(h, "<p class=\"empty\" id=\"%s-empty\">%s</p>", id, empty);
	} else {
		h_fmt(h, "</table>");
		if (p.rows >= QUEUE_LIMIT)
			h_fmt(h, "<p class=\"sub\">%s %d %s</p>", L(r, "新しい順に", "The newest"),
			      QUEUE_LIMIT,
			      L(r, "件を表示しています（certdesk orders list で全件）。",
				"are shown (certdesk orders list shows all)."));
	}
	return 0;
}

enum MHD_Result admin_failures_get(struct admin *a)
{
	struct req *r = a->r;
	struct html h = { 0 };
	struct cd_err err = { 0 };

	admin_page_begin(a, &h, L(r, "失敗した再発行", "Failed orders"));
	h_fmt(&h, "<h1>%s</h1>", L(r, "失敗した再発行", "Failed orders"));
	if (!a->can_act)
		h_fmt(
		    &h, "<p class=\"notice\" id=\"viewer-note\">%s</p>",
		    L(r, "閲覧のみの権限のため、再試行や取り消しはできません。",
		      "Your role is viewer: you can see the orders but not retry or cancel them."));
	if (queue_table(a, &h, STORE_ADMIN_FAILED, "failed",
			L(r, "失敗して止まった注文", "Orders that failed"),
			L(r, "失敗した注文はありません。", "No failed order."), &err) ||
	    queue_table(a, &h, STORE_ADMIN_RETRYING, "retrying",
			L(r, "再試行待ちの注文", "Orders waiting to retry"),
			L(r, "再試行待ちの注文はありません。", "No order is waiting to retry."),
			&err)) {
		h_free(&h);
		cd_error("web: admin failures: %s", err.msg);
		return admin_error(a, 500, NULL);
	}
	admin_page_end(a, &h);
	return web_reply_html(r, 200, &h);
}

enum MHD_Result admin_revocations_get(struct admin *a)
{
	struct req *r = a->r;
	struct html h = { 0 };
	struct cd_err err = { 0 };

	admin_page_begin(a, &h, L(r, "失効待ち", "Revocations pending"));
	h_fmt(&h, "<h1>%s</h1><p>%s</p>",
	      L(r, "失効待ちの旧証明書", "Old certificates not revoked"),
	      L(r,
		"再発行は完了しましたが、旧証明書を失効できませんでした。CAで手作業で失効してく"
		"ださい。",
		"The reissue completed but the old certificate could not be revoked. Revoke it at "
		"the CA by hand."));
	if (queue_table(a, &h, STORE_ADMIN_REVOCATION_PENDING, "revocations",
			L(r, "revocation_pending の注文", "Orders flagged revocation_pending"),
			L(r, "失効待ちはありません。", "Nothing is waiting for revocation."),
			&err)) {
		h_free(&h);
		cd_error("web: admin revocations: %s", err.msg);
		return admin_error(a, 500, NULL);
	}
	admin_page_end(a, &h);
	return web_reply_html(r, 200, &h);
}

/* --- the actions ---------------------------------------------------------------------- */

enum MHD_Result admin_order_action(struct admin *a, int64_t order_id, bool cancel)
{
	struct req *r = a->r;
	struct store_order o;
	struct cd_err err = { 0 };
	char actor[160], path[160];
	int rc;

	snprintf(actor, sizeof(actor), "operator:%s", a->operator_id);
	rc = store_order_get(r->st, order_id, &o, &err);
	if (rc == -CD_ENOTFOUND)
		return admin_error(a, 404, NULL);
	if (!rc && cancel) {
		rc = store_order_cancel(r->st, order_id, actor, r->now, &err);
	} else if (!rc) {
		/* the same Retry as `certdesk orders retry` */
		enum store_retry_how how;
		int64_t nid;

		rc = store_order_retry(r->st, order_id, actor, r->now, &how, &nid, &err);
	}
	if (rc == -CD_ESTATE || rc == -CD_EBUSY || rc == -CD_ECONFLICT)
		return admin_error(a, 409, err.msg);
	if (rc) {
		cd_error("web: operator %s on order %lld: %s", a->operator_id, (long long)order_id,
			 err.msg);
		return admin_error(a, 500, NULL);
	}
	counts_forget(r->w);
	cd_info("web: operator %s: %s order %lld", a->operator_id, cancel ? "canceled" : "retried",
		(long long)order_id);
	snprintf(path, sizeof(path), "/admin/certificates/%s#events", o.certificate_id);
	return web_reply_redirect(r, path);
}

/* --- /admin/certificates/{id}: the whole history ------------------------------------- */

struct hist {
	struct req *r;
	struct html *h;
};

static int order_row(const struct store_admin_order *o, void *arg)
{
	struct hist *x = arg;
	enum order_state s = ORDER_FAILED;
	char created[17], upd[17];

	order_state_parse(o->state, &s, NULL);
	web_local_time(x->r, o->created_at, created);
	web_local_time(x->r, o->updated_at, upd);
	h_fmt(x->h,
	      "<tr id=\"order-%I\" data-state=\"%s\"><td class=\"num\">%I</td><td>%s%s</td>"
	      "<td class=\"num\">%d</td><td>%s</td><td>%s</td><td>",
	      o->order_id, o->state, o->order_id, i18n_stage_label(s, x->r->lang),
	      o->revocation_pending ? " (revocation_pending)" : "", o->attempt, created, upd);
	failure_text(x->r, x->h, o);
	h_fmt(x->h, "</td></tr>");
	return 0;
}

static int event_row(const struct store_event *e, void *arg)
{
	struct hist *x = arg;
	char at[17];

	web_local_time(x->r, e->at, at);
	h_fmt(x->h,
	      "<tr><td class=\"nowrap\">%s</td><td>%s</td><td>%s</td><td>%I</td><td>%s%s%s</td>"
	      "<td>%s</td></tr>",
	      at, e->actor, e->kind, e->order_id, e->from_state ? e->from_state : "",
	      e->from_state || e->to_state ? " → " : "", e->to_state ? e->to_state : "",
	      e->detail ? e->detail : "");
	return 0;
}

enum MHD_Result admin_certificate_get(struct admin *a, const char *certificate_id)
{
	struct req *r = a->r;
	struct store_cert_view v;
	struct eligibility e;
	struct html h = { 0 };
	struct cd_err err = { 0 };
	struct hist x = { .r = r, .h = &h };
	char from[17], until[17];
	int rc = store_certificate_view(r->st, certificate_id, r->now, &v, &err);

	if (rc == -CD_ENOTFOUND)
		return admin_error(a, 404, NULL);
	if (rc)
		goto fail;
	eligibility_of(&v.facts, &e);
	web_local_date(r, v.not_before, from);
	web_local_date(r, v.not_after, until);
	admin_page_begin(a, &h, v.common_name);
	h_fmt(&h, "<h1>%s <span class=\"sub\">%s %s</span></h1>", v.common_name,
	      L(r, "証明書", "certificate"), v.certificate_id);
	h_fmt(&h,
	      "<table class=\"facts\" id=\"certificate\"><tr><th>%s</th><td>%s</td></tr>"
	      "<tr><th>%s</th><td id=\"member\">%s</td></tr><tr><th>%s</th><td>%s</td></tr>"
	      "<tr><th>%s</th><td>%s</td></tr>"
	      "<tr><th>%s</th><td id=\"status\" data-status=\"%s\">%s",
	      L(r, "コモンネーム", "Common name"), v.common_name, L(r, "会員ID", "Member ID"),
	      v.member_id, L(r, "種別", "Product"), i18n_product_label(v.product, r->lang),
	      L(r, "サーバ", "Server"), v.server[0] ? v.server : "-", L(r, "状態", "Status"),
	      cert_status_name(e.status), i18n_status_label(e.status, r->lang));
	for (unsigned bit = 1; bit <= REASON_ALL_MASK; bit <<= 1)
		if (e.reasons & bit)
			h_fmt(&h, "<div class=\"sub\">%s</div>",
			      i18n_reason_text((enum cert_reason)bit, r->lang));
	h_fmt(&h,
	      "</td></tr><tr><th>%s</th><td><code>%s</code></td></tr>"
	      "<tr><th>%s</th><td>%s</td></tr><tr><th>%s</th><td>%s &ndash; %s</td></tr>"
	      "<tr><th>%s</th><td>%s &ndash; %s</td></tr></table>",
	      L(r, "シリアル番号（現在）", "Serial (current)"), v.serial, L(r, "発行者", "Issuer"),
	      v.issuer_dn, L(r, "有効期間", "Validity"), from, until,
	      L(r, "契約期間", "Contract term"), v.term_start, v.term_end);
	h_fmt(&h,
	      "<h2>%s</h2><table id=\"orders\"><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
	      "<th>%s</th><th>%s</th></tr>",
	      L(r, "再発行の注文", "Reissue orders"), L(r, "注文", "Order"), L(r, "状態", "State"),
	      L(r, "試行", "Attempt"), L(r, "受付", "Created"), L(r, "更新", "Updated"),
	      L(r, "失敗の理由", "Failure"));
	if (store_admin_certificate_orders_each(r->st, certificate_id, order_row, &x, &err) != 0)
		goto fail_h;
	h_fmt(&h,
	      "</table><h2 id=\"events\">%s</h2><table id=\"event-list\"><tr><th>%s</th>"
	      "<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>",
	      L(r, "できごとの記録", "Every event"), L(r, "日時", "Time"), L(r, "実行者", "Actor"),
	      L(r, "種類", "Kind"), L(r, "注文", "Order"), L(r, "状態の変化", "State change"),
	      L(r, "詳細", "Detail"));
	if (store_events_each(r->st, certificate_id, 0, event_row, &x, &err) != 0)
		goto fail_h;
	h_fmt(&h, "</table>");
	admin_page_end(a, &h);
	return web_reply_html(r, 200, &h);
fail_h:
	h_free(&h);
fail:
	cd_error("web: admin certificate %s: %s", certificate_id, err.msg);
	return admin_error(a, 500, NULL);
}

/* --- /admin/search ----------------------------------------------------------------------- */

struct hits {
	struct req *r;
	struct html *h;
	int n;
};

static int hit_row(const struct store_admin_hit *x, void *arg)
{
	struct hits *p = arg;

	h_fmt(p->h,
	      "<tr class=\"hit\" data-certificate=\"%s\"><td><a href=\"/admin/certificates/%U\">"
	      "%s</a></td><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td></tr>",
	      x->certificate_id, x->certificate_id, x->common_name, x->certificate_id, x->member_id,
	      i18n_product_label(x->product, p->r->lang), x->serial);
	p->n++;
	return 0;
}

enum MHD_Result admin_search_get(struct admin *a)
{
	struct req *r = a->r;
	const char *q = web_query(r, "q");
	struct html h = { 0 };
	struct cd_err err = { 0 };
	struct hits p = { .r = r, .h = &h };
	char serial[SERIAL_HEX_MAX + 1] = "", self[20 + 3 * SEARCH_MAX];
	size_t mark;

	if (q && *q && strlen(q) <= SEARCH_MAX) {
		/* the language switch comes back to these results */
		static const char hex[] = "0123456789ABCDEF";
		size_t n = (size_t)snprintf(self, sizeof(self), "/admin/search?q=");

		for (const unsigned char *p = (const unsigned char *)q; *p; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.') {
				self[n++] = (char)*p;
			} else {
				self[n++] = '%';
				self[n++] = hex[*p >> 4];
				self[n++] = hex[*p & 15];
			}
		}
		self[n] = '\0';
		a->self = self;
	}
	if (q && strlen(q) > SEARCH_MAX)
		return admin_error(a, 400,
				   L(r, "検索語が長すぎます（200文字まで）。",
				     "The search text is too long (200 characters at most)."));
	admin_page_begin(a, &h, L(r, "検索", "Search"));
	h_fmt(&h,
	      "<h1>%s</h1><form method=\"get\" action=\"/admin/search\" class=\"search\">"
	      "<input name=\"q\" id=\"q\" value=\"%s\" maxlength=\"200\" placeholder=\"%s\">"
	      "<button type=\"submit\" class=\"primary\" id=\"search\">%s</button></form>",
	      L(r, "証明書の検索", "Find a certificate"), q ? q : "",
	      L(r, "コモンネーム、会員ID、シリアル番号", "common name, member ID or serial"),
	      L(r, "検索", "Search"));
	if (q && *q) {
		if (serial_normalize(q, serial, sizeof(serial), NULL) != 0)
			serial[0] = '\0';
		mark = h.len;
		h_fmt(&h,
		      "<table id=\"results\"><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
		      "<th>%s</th></tr>",
		      L(r, "コモンネーム", "Common name"), L(r, "証明書", "Certificate"),
		      L(r, "会員ID", "Member ID"), L(r, "種別", "Product"),
		      L(r, "シリアル番号", "Serial"));
		if (store_admin_search(r->st, q, serial, SEARCH_LIMIT, hit_row, &p, &err) != 0) {
			h_free(&h);
			cd_error("web: admin search: %s", err.msg);
			return admin_error(a, 500, NULL);
		}
		if (p.n == 0) {
			h.len = mark;
			if (h.buf)
				h.buf[mark] = '\0';
			h_fmt(&h, "<p class=\"empty\" id=\"no-results\">%s</p>",
			      L(r, "該当する証明書はありません。", "No certificate matches."));
		} else {
			h_fmt(&h, "</table><p class=\"sub\">%d %s</p>", p.n,
			      L(r, "件", p.n == 1 ? "certificate" : "certificates"));
		}
	}
	admin_page_end(a, &h);
	return web_reply_html(r, 200, &h);
}
