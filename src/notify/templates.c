/*
 * templates.c - the words of the customer's mail: the reissue-complete mail
 * (DESIGN.md §1.5-6) in Japanese (default) and English.
 *
 * It says what was reissued (common name, every name on the certificate,
 * the new validity and whether it was shortened, serial, fingerprint) and how
 * to check it in a browser (the lock, the "valid from" date), in the tone of
 * the provider's own mail; the provider's name and footer come from config.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "notify/notify_priv.h"
#include "util/cdtime.h"

struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->oom = true;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t ncap = t->cap ? t->cap : 1024;
		char *np;

		while (ncap < t->len + (size_t)n + 1)
			ncap *= 2;
		np = realloc(t->p, ncap);
		if (!np) {
			t->oom = true;
			return;
		}
		t->p = np;
		t->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

const char *notify_plain_name(const char *in, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	size_t o = 0;
	bool space = true;

	for (; *p; p++) {
		bool ctl = *p < 0x20 || *p == 0x7f || *p == ' ';

		if (ctl && space)
			continue;
		if (o + 1 >= outsz)
			break;
		out[o++] = ctl ? ' ' : (char)*p;
		space = ctl;
	}
	if (*p) { /* cut short: drop the last character, it may be incomplete */
		while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && (unsigned char)out[o - 1] >= 0xc0)
			o--;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

/* "0a1b..." -> "0A:1B:..." as browsers show serials and fingerprints */
static void colon_hex(const char *hex, char *out, size_t outsz)
{
	size_t o = 0, n = hex ? strlen(hex) : 0, i = 0;

	out[0] = '\0';
	if (n % 2) { /* an odd-length serial: a leading zero */
		if (outsz < 3)
			return;
		out[o++] = '0';
		out[o++] = (char)toupper((unsigned char)hex[0]);
		i = 1;
	}
	for (; i + 1 < n && o + 4 < outsz; i += 2) {
		if (o)
			out[o++] = ':';
		out[o++] = (char)toupper((unsigned char)hex[i]);
		out[o++] = (char)toupper((unsigned char)hex[i + 1]);
	}
	out[o] = '\0';
}

/* The instant in the provider's zone: "2026-11-25 21:18" (and its parts). */
static int local_time(const struct notify_settings *s, int64_t t, char buf[17], struct cd_err *err)
{
	return cd_tz_format(s->timezone, t, buf, err);
}

void notify_date_ja(const char buf[17], char *out, size_t outsz)
{
	snprintf(out, outsz, "%.4s年%d月%d日", buf, atoi(buf + 5), atoi(buf + 8));
}

void notify_date_en(const char buf[17], char *out, size_t outsz)
{
	static const char *const months[] = { "January",   "February", "March",	   "April",
					      "May",	   "June",     "July",	   "August",
					      "September", "October",  "November", "December" };
	int m = atoi(buf + 5);

	snprintf(out, outsz, "%s %d, %.4s", months[m >= 1 && m <= 12 ? m - 1 : 0], atoi(buf + 8),
		 buf);
}

static void names_line(struct text *t, const struct notify_order_done *o, const char *sep)
{
	if (!o->n_names) {
		add(t, "%s", o->common_name);
		return;
	}
	for (size_t i = 0; i < o->n_names; i++)
		add(t, "%s%s", i ? sep : "", o->names[i]);
}

static void render_ja(struct text *t, const struct notify_settings *s,
		      const struct notify_order_done *o, const char *nb, const char *na,
		      const char *term, const char *serial, const char *fp)
{
	char day[40], name[256];

	notify_date_ja(nb, day, sizeof(day));
	if (*notify_plain_name(o->rcpt_name, name, sizeof(name)))
		add(t, "%s 様\n\n", name);
	else
		add(t, "お客様\n\n");
	add(t, "平素より%sをご利用いただき、誠にありがとうございます。\n\n", s->provider);
	add(t, "お申し込みいただいたSSLサーバ証明書の再発行が完了しました。\n"
	       "新しい証明書はレンタルサーバへ自動でインストール済みで、\n"
	       "ウェブサーバから新しい証明書が配信されていることを確認しております。\n\n");
	add(t, "■ 再発行した証明書\n");
	add(t, "  コモンネーム　　　: %s\n", o->common_name);
	add(t, "  証明書のドメイン名: ");
	names_line(t, o, "、");
	add(t, "\n");
	add(t, "  有効期間　　　　　: %s ～ %s（%s）\n", nb, na, s->timezone);
	add(t, "  シリアル番号　　　: %s\n", serial);
	add(t, "  フィンガープリント（SHA-256）:\n    %s\n\n", fp);
	if (o->shortened) {
		add(t, "※ 残りの有効期間が認証局の定める最大有効期間を超えていたため、\n"
		       "  新しい証明書の有効期間は短縮されています。");
		if (term[0])
			add(t, "\n  （ご契約の期間: %.10s まで）", term);
		add(t, "\n\n");
	}
	add(t, "■ ウェブブラウザでのご確認方法\n");
	add(t,
	    "  1. ウェブブラウザで https://%s/ にアクセスし、正しく表示されること、\n"
	    "     アドレスバーに鍵マークが表示されることをご確認ください。\n",
	    o->common_name);
	add(t, "  2. 鍵マークをクリックし、証明書の詳細を表示してください。\n");
	add(t, "  3. 有効期間の開始日が再発行した日（%s）になっていれば完了です。\n", day);
	add(t, "  ※ ウェブブラウザの種類により表示が異なる場合があります。\n"
	       "  ※ Chromeではアドレスバーをクリックしないと「https://」が表示されません。\n\n");
	add(t, "■ 再発行前の証明書について\n"
	       "  再発行前の証明書は、認証局にて失効処理を行います。\n"
	       "  お客様による操作は必要ありません。\n\n");
	add(t, "このメールは送信専用のアドレスからお送りしています。\n");
	add(t, "――――――――――――――――――――――――――――――\n");
	add(t, "%s\n", s->footer[LANG_JA][0] ? s->footer[LANG_JA] : s->provider);
}

static void render_en(struct text *t, const struct notify_settings *s,
		      const struct notify_order_done *o, const char *nb, const char *na,
		      const char *term, const char *serial, const char *fp)
{
	char day[40], name[256];

	notify_date_en(nb, day, sizeof(day));
	if (*notify_plain_name(o->rcpt_name, name, sizeof(name)))
		add(t, "Dear %s,\n\n", name);
	else
		add(t, "Dear customer,\n\n");
	add(t, "Thank you for using %s.\n\n", s->provider);
	add(t, "The reissue of your SSL server certificate is complete. The new\n"
	       "certificate has been installed on your rental server automatically, and\n"
	       "we have confirmed that the web server now serves it.\n\n");
	add(t, "== The reissued certificate\n");
	add(t, "  Common name:   %s\n", o->common_name);
	add(t, "  Names on it:   ");
	names_line(t, o, ", ");
	add(t, "\n");
	add(t, "  Valid:         %s to %s (%s)\n", nb, na, s->timezone);
	add(t, "  Serial number: %s\n", serial);
	add(t, "  SHA-256 fingerprint:\n    %s\n\n", fp);
	if (o->shortened) {
		add(t, "Note: more validity remained than a certification authority may now\n"
		       "issue, so the new certificate's validity is shorter.");
		if (term[0])
			add(t, "\n(Your contract runs until %.10s.)", term);
		add(t, "\n\n");
	}
	add(t, "== How to check it in your browser\n");
	add(t,
	    "  1. Open https://%s/ in your web browser: the page should show\n"
	    "     normally, with a lock icon in the address bar.\n",
	    o->common_name);
	add(t, "  2. Click the lock icon and open the certificate's details.\n");
	add(t, "  3. When the \"valid from\" date is the reissue date (%s), all is done.\n", day);
	add(t, "  Browsers differ in how they show this.\n\n");
	add(t, "== Your previous certificate\n"
	       "  The certification authority revokes the previous certificate.\n"
	       "  Nothing is needed from you.\n\n");
	add(t, "This mail was sent from an address that does not receive replies.\n");
	add(t, "--\n");
	add(t, "%s\n", s->footer[LANG_EN][0] ? s->footer[LANG_EN] : s->provider);
}

int notify_order_done_render(const struct notify_settings *s, const struct notify_order_done *o,
			     enum lang lang, char **subject, char **body, struct cd_err *err)
{
	char nb[17], na[17], term[17] = "", serial[160], fp[160];
	struct text t = { 0 }, subj = { 0 };
	int rc;

	*subject = *body = NULL;
	if (!o->common_name || !*o->common_name || strlen(o->common_name) > 253)
		return cd_err_set(err, CD_EINVAL, false, "order %lld: no common name",
				  (long long)o->order_id);
	if ((rc = local_time(s, o->not_before, nb, err)) ||
	    (rc = local_time(s, o->not_after, na, err)) ||
	    (o->term_end_at && (rc = local_time(s, o->term_end_at, term, err))))
		return rc;
	colon_hex(o->serial, serial, sizeof(serial));
	colon_hex(o->sha256, fp, sizeof(fp));
	if (lang == LANG_EN) {
		add(&subj, "[%s] Your SSL server certificate has been reissued (%s)", s->provider,
		    o->common_name);
		render_en(&t, s, o, nb, na, term, serial, fp);
	} else {
		add(&subj, "[%s]【完了】SSLサーバ証明書再発行完了のお知らせ（%s）", s->provider,
		    o->common_name);
		render_ja(&t, s, o, nb, na, term, serial, fp);
	}
	if (t.oom || subj.oom) {
		free(t.p);
		free(subj.p);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	*subject = subj.p;
	*body = t.p;
	return 0;
}

int notify_order_done_enqueue(store_t *st, const struct notify_settings *s,
			      const struct notify_order_done *o, enum lang lang, int64_t now,
			      char msgid[NOTIFY_MSGID_MAX], bool *created, struct cd_err *err)
{
	char key[64], *subject = NULL, *body = NULL;
	int rc;

	*created = false;
	if (o->order_id <= 0)
		return cd_err_set(err, CD_EINVAL, false, "order-done mail without an order");
	snprintf(key, sizeof(key), "order-done:%lld", (long long)o->order_id);
	rc = notify_order_done_render(s, o, lang, &subject, &body, err);
	if (rc)
		return rc;
	rc = notify_enqueue(st, s,
			    &(struct notify_mail){ .kind = "order_done",
						   .dedup_key = key,
						   .member_id = o->member_id,
						   .order_id = o->order_id,
						   .rcpt = o->rcpt,
						   .rcpt_name = o->rcpt_name,
						   .subject = subject,
						   .body = body },
			    now, msgid, created, err);
	free(subject);
	free(body);
	return rc;
}
