/*
 * campaign_mail.c - the words of a campaign's reissue-request mail
 * (DESIGN.md §1.1) and its reminders, in Japanese (default) and English.
 *
 * One mail per member lists every affected certificate of that member with
 * its product type, common name, server, current status (for "not possible"
 * every reason and what to do about it, in the words the portal uses, from
 * core/i18n) and the deadline, and links to the portal's reissue screen.
 * The provider's name and footer come from config; the subject is the
 * seed's, prefixed with the provider's name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/i18n.h"
#include "notify/notify.h"
#include "notify/notify_priv.h"
#include "util/cdtime.h"

int notify_campaign_key(int64_t campaign_id, int days_before, const char *member_id, char *out,
			size_t outsz, struct cd_err *err)
{
	char notice[32];
	int n;

	if (days_before > 0)
		snprintf(notice, sizeof(notice), "remind-%d", days_before);
	else
		snprintf(notice, sizeof(notice), "notice");
	n = snprintf(out, outsz, "campaign:%lld:%s:%s", (long long)campaign_id, notice,
		     member_id ? member_id : "");
	if (n < 0 || (size_t)n >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "mail key for member '%.64s' is too long",
				  member_id ? member_id : "");
	return 0;
}

/* The deadline as a customer reads it, a day in the provider's zone. */
static int deadline_text(const struct notify_settings *s, int64_t at, enum lang l, char *out,
			 size_t outsz, struct cd_err *err)
{
	char buf[17];
	int rc = cd_tz_format(s->timezone, at, buf, err);

	if (rc)
		return rc;
	if (l == LANG_EN)
		notify_date_en(buf, out, outsz);
	else
		notify_date_ja(buf, out, outsz);
	return 0;
}

/* One "label: value" line of a certificate's block, aligned per language. */
static void field(FILE *f, enum lang l, const char *ja, const char *en, const char *value)
{
	if (l == LANG_EN)
		fprintf(f, "    %-13s %s\n", en, value);
	else
		fprintf(f, "    %s: %s\n", ja, value);
}

static int render_cert(FILE *f, const struct notify_settings *s,
		       const struct notify_campaign_cert *c, size_t i, enum lang l,
		       struct cd_err *err)
{
	char day[64], status[256];
	int rc = deadline_text(s, c->deadline, l, day, sizeof(day), err);

	if (rc)
		return rc;
	if (c->status == CERT_STATUS_IN_PROGRESS)
		snprintf(status, sizeof(status), l == LANG_EN ? "%s (%s)" : "%s（%s）",
			 i18n_status_label(c->status, l), i18n_stage_label(c->stage, l));
	else
		snprintf(status, sizeof(status), "%s", i18n_status_label(c->status, l));
	fprintf(f, "[%zu] %s\n", i + 1, c->common_name);
	field(f, l, "証明書の種類", "Product:", i18n_product_label(c->product, l));
	field(f, l, "サーバ　　　", "Server:", c->server && *c->server ? c->server : "-");
	field(f, l, "状態　　　　", "Status:", status);
	if (c->status == CERT_STATUS_IMPOSSIBLE) {
		for (unsigned bit = 1; bit & REASON_ALL_MASK; bit <<= 1) {
			if (!(c->reasons & bit))
				continue;
			if (bit == REASON_ORDER_FAILED && c->last_failure != FAILURE_NONE) {
				field(f, l, "理由　　　　",
				      "Reason:", i18n_failure_text(c->last_failure, l));
				field(f, l, "対応　　　　",
				      "What to do:", i18n_failure_todo(c->last_failure, l));
				continue;
			}
			field(f, l, "理由　　　　", "Reason:", i18n_reason_text(bit, l));
			field(f, l, "対応　　　　", "What to do:", i18n_reason_todo(bit, l));
		}
	} else if (c->status == CERT_STATUS_AVAILABLE && c->last_failure != FAILURE_NONE) {
		/* a failed order a retry can help: say what went wrong last time */
		field(f, l, "前回の再発行", "Last attempt:", i18n_failure_text(c->last_failure, l));
		field(f, l, "対応　　　　", "What to do:", i18n_failure_todo(c->last_failure, l));
	}
	field(f, l, "再発行期限　", "Deadline:", day);
	fputc('\n', f);
	return 0;
}

static void render_ja(FILE *f, const struct notify_settings *s,
		      const struct notify_campaign_mail *m, const char *day)
{
	char name[256];

	if (*notify_plain_name(m->rcpt_name, name, sizeof(name)))
		fprintf(f, "%s 様\n\n", name);
	else
		fprintf(f, "お客様\n\n");
	fprintf(f, "平素より%sをご利用いただき、誠にありがとうございます。\n\n", s->provider);
	if (m->days_before > 0)
		fprintf(f, "先日ご案内いたしましたSSLサーバ証明書の再発行について、\n"
			   "お手続きがまだお済みでない証明書がございます。\n\n");
	fprintf(f,
		"認証局の中間証明書の失効に伴い、お客様がご利用中の下記のSSLサーバ証明書は\n"
		"再発行が必要です。%s までに、下記のページから再発行のお手続きを\n"
		"お願いいたします。期限を過ぎると、証明書が失効し、ウェブサイトが\n"
		"https で正しく表示されなくなるおそれがあります。\n\n",
		day);
	fprintf(f, "■ 再発行のお手続き（会員IDでログインしてください）\n  %s\n\n", m->link);
	fprintf(f, "■ 対象の証明書（%zu件）\n\n", m->n_certs);
}

static void render_ja_tail(FILE *f, const struct notify_settings *s)
{
	fprintf(
	    f,
	    "■ 再発行について\n"
	    "  ・「再発行」の証明書は、上記のページで「再発行」を押すだけでお手続きが完了します。\n"
	    "    "
	    "新しい証明書はレンタルサーバへ自動でインストールされ、現在の証明書を上書きします。\n"
	    "  ・ドメイン名のAレコードがレンタルサーバを指している必要があります。\n"
	    "  ・新しい証明書の有効期間は再発行日から始まります。\n"
	    "  ・「再発行不可」の証明書は、理由と対応をご確認ください。\n"
	    "  ・再発行が完了しましたら、あらためてメールでお知らせします。\n\n");
	fprintf(f, "このメールは送信専用のアドレスからお送りしています。\n");
	fprintf(f, "――――――――――――――――――――――――――――――\n");
	fprintf(f, "%s\n", s->footer[LANG_JA][0] ? s->footer[LANG_JA] : s->provider);
}

static void render_en(FILE *f, const struct notify_settings *s,
		      const struct notify_campaign_mail *m, const char *day)
{
	char name[256];

	if (*notify_plain_name(m->rcpt_name, name, sizeof(name)))
		fprintf(f, "Dear %s,\n\n", name);
	else
		fprintf(f, "Dear customer,\n\n");
	fprintf(f, "Thank you for using %s.\n\n", s->provider);
	if (m->days_before > 0)
		fprintf(f, "This is a reminder: some of the SSL server certificates we wrote to\n"
			   "you about have not been reissued yet.\n\n");
	fprintf(f,
		"Because the certification authority revokes an intermediate certificate,\n"
		"the SSL server certificates below must be reissued. Please reissue them\n"
		"on the page below by %s. After that date the certificates may be\n"
		"revoked, and your web sites may no longer show correctly over https.\n\n",
		day);
	fprintf(f, "== Reissue them here (log in with your member ID)\n  %s\n\n", m->link);
	fprintf(f, "== The certificates concerned (%zu)\n\n", m->n_certs);
}

static void render_en_tail(FILE *f, const struct notify_settings *s)
{
	fprintf(f, "== About the reissue\n"
		   "  - For a certificate marked \"Reissue\", one click on the page above is all\n"
		   "    it takes: the new certificate is installed on your rental server\n"
		   "    automatically and replaces the current one.\n"
		   "  - Each domain name's A record must point at your rental server.\n"
		   "  - The new certificate is valid from the day it is reissued.\n"
		   "  - For a certificate marked \"Not possible\", see the reason and what to do.\n"
		   "  - We will mail you again when the reissue is complete.\n\n");
	fprintf(f, "This mail was sent from an address that does not receive replies.\n");
	fprintf(f, "--\n");
	fprintf(f, "%s\n", s->footer[LANG_EN][0] ? s->footer[LANG_EN] : s->provider);
}

int notify_campaign_render(const struct notify_settings *s, const struct notify_campaign_mail *m,
			   enum lang lang, char **subject, char **body, struct cd_err *err)
{
	char day[64], *subj = NULL, *text = NULL;
	size_t len;
	FILE *f = NULL;
	int rc;

	*subject = *body = NULL;
	if (m->n_certs == 0 || !m->link || !*m->link)
		return cd_err_set(err, CD_EINVAL, false,
				  "campaign mail to member '%.64s': no certificate or no link",
				  m->member_id ? m->member_id : "");
	rc = deadline_text(s, m->deadline_at, lang, day, sizeof(day), err);
	if (rc)
		return rc;
	if (lang == LANG_EN)
		rc = asprintf(&subj, "[%s] %sSSL server certificate reissue request", s->provider,
			      m->days_before > 0 ? "[Reminder] [Important] " : "[Important] ");
	else
		rc = asprintf(&subj, "[%s]%s【重要】SSLサーバ証明書再発行のお願い", s->provider,
			      m->days_before > 0 ? "【再送】" : "");
	if (rc < 0) {
		subj = NULL;
		goto oom;
	}
	f = open_memstream(&text, &len);
	if (!f)
		goto oom;
	if (lang == LANG_EN)
		render_en(f, s, m, day);
	else
		render_ja(f, s, m, day);
	for (size_t i = 0; i < m->n_certs; i++) {
		rc = render_cert(f, s, &m->certs[i], i, lang, err);
		if (rc)
			goto fail;
	}
	if (lang == LANG_EN)
		render_en_tail(f, s);
	else
		render_ja_tail(f, s);
	if (ferror(f) || fclose(f) != 0) {
		f = NULL;
		goto oom;
	}
	*subject = subj;
	*body = text;
	return 0;
oom:
	rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
fail:
	if (f)
		fclose(f);
	free(text);
	free(subj);
	return rc;
}

int notify_campaign_enqueue(store_t *st, const struct notify_settings *s,
			    const struct notify_campaign_mail *m, enum lang lang, int64_t now,
			    char msgid[NOTIFY_MSGID_MAX], bool *created, struct cd_err *err)
{
	char key[200], *subject = NULL, *body = NULL;
	struct store_outbox_msg row;
	bool found;
	int rc;

	*created = false;
	rc = notify_campaign_key(m->campaign_id, m->days_before, m->member_id, key, sizeof(key),
				 err);
	if (rc)
		return rc;
	/* queued before (a rerun after a crash): keep that mail, render nothing */
	rc = store_outbox_find(st, key, &row, &found, err);
	if (rc)
		return rc;
	if (found) {
		snprintf(msgid, NOTIFY_MSGID_MAX, "%s", row.message_id);
		return 0;
	}
	rc = notify_campaign_render(s, m, lang, &subject, &body, err);
	if (rc)
		return rc;
	rc = notify_enqueue(
	    st, s,
	    &(struct notify_mail){ .kind = m->days_before > 0 ? "campaign_remind" : "campaign",
				   .dedup_key = key,
				   .member_id = m->member_id,
				   .campaign_id = m->campaign_id,
				   .rcpt = m->rcpt,
				   .rcpt_name = m->rcpt_name,
				   .subject = subject,
				   .body = body },
	    now, msgid, created, err);
	free(subject);
	free(body);
	return rc;
}
