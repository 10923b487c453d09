/*
 * test_notify_campaign.c - the campaign's reissue-request mail as rendered:
 * the seed's subject with the provider's name (and the reminder's), every
 * certificate with its product, server, status, reasons and deadline, the
 * link, English by language, the footer, a display name with CR LF kept to
 * one line, and the outbox key of a member and a notice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/i18n.h"
#include "notify/notify.h"

#define DEADLINE 1798729199 /* 2026-12-31T23:59:59+09:00 */
#define LINK	 "https://portal.example.jp/reissue?campaign=3"

static struct notify_settings *settings(void)
{
	static struct notify_settings s;

	memset(&s, 0, sizeof(s));
	snprintf(s.provider, sizeof(s.provider), "さくらインターネット");
	snprintf(s.timezone, sizeof(s.timezone), "Asia/Tokyo");
	snprintf(s.footer[LANG_JA], sizeof(s.footer[LANG_JA]), "サポートセンター");
	snprintf(s.footer[LANG_EN], sizeof(s.footer[LANG_EN]), "Support Center");
	return &s;
}

static const struct notify_campaign_cert certs[] = {
	{ .product = "jprs_dv_rs_1y",
	  .common_name = "shop.example.jp",
	  .server = "web01",
	  .status = CERT_STATUS_AVAILABLE,
	  .deadline = DEADLINE },
	{ .product = "jprs_dv_rs_2y",
	  .common_name = "blog.example.jp",
	  .server = "web03",
	  .status = CERT_STATUS_IMPOSSIBLE,
	  .reasons = REASON_SERVER_PROBLEM | REASON_NEW_SETTING,
	  .deadline = DEADLINE },
	{ .product = "jprs_dv_rs_1y",
	  .common_name = "www2.example.jp",
	  .server = "",
	  .status = CERT_STATUS_IN_PROGRESS,
	  .stage = ORDER_VALIDATING,
	  .deadline = DEADLINE },
};

static struct notify_campaign_mail mail(const char *name, int days_before)
{
	return (struct notify_campaign_mail){ .campaign_id = 3,
					      .days_before = days_before,
					      .member_id = "m1",
					      .rcpt = "a@example.jp",
					      .rcpt_name = name,
					      .link = LINK,
					      .deadline_at = DEADLINE,
					      .certs = certs,
					      .n_certs = 3 };
}

static void render(const struct notify_campaign_mail *m, enum lang l, char **subject, char **body)
{
	struct cd_err err = { 0 };

	assert_int_equal(notify_campaign_render(settings(), m, l, subject, body, &err), 0);
}

static void test_ja(void **state)
{
	struct notify_campaign_mail m = mail("山田 太郎", 0);
	char *subject, *body;

	(void)state;
	render(&m, LANG_JA, &subject, &body);
	assert_string_equal(subject, "[さくらインターネット]【重要】SSLサーバ証明書再発行のお願い");
	assert_true(strncmp(body, "山田 太郎 様\n", strlen("山田 太郎 様\n")) == 0);
	assert_non_null(strstr(body, "\n  " LINK "\n"));
	assert_non_null(strstr(body, "対象の証明書（3件）"));
	assert_non_null(strstr(body, "[1] shop.example.jp\n"));
	assert_non_null(strstr(body, "JPRS ドメイン認証型 RS(1年)"));
	assert_non_null(strstr(body, "web01"));
	assert_non_null(strstr(body, i18n_status_label(CERT_STATUS_AVAILABLE, LANG_JA)));
	/* both reasons, each with what to do */
	assert_non_null(strstr(body, i18n_reason_text(REASON_SERVER_PROBLEM, LANG_JA)));
	assert_non_null(strstr(body, i18n_reason_todo(REASON_SERVER_PROBLEM, LANG_JA)));
	assert_non_null(strstr(body, i18n_reason_text(REASON_NEW_SETTING, LANG_JA)));
	assert_non_null(strstr(body, i18n_reason_todo(REASON_NEW_SETTING, LANG_JA)));
	/* in progress shows its stage; no site shows "-" */
	assert_non_null(strstr(body, i18n_stage_label(ORDER_VALIDATING, LANG_JA)));
	assert_non_null(strstr(body, "サーバ　　　: -\n"));
	assert_non_null(strstr(body, "2026年12月31日"));
	assert_non_null(strstr(body, "サポートセンター\n"));
	assert_null(strstr(body, "Dear"));
	free(subject);
	free(body);
}

static void test_en_and_reminder(void **state)
{
	struct notify_campaign_mail m = mail("John Smith", 7);
	char *subject, *body;

	(void)state;
	render(&m, LANG_EN, &subject, &body);
	assert_string_equal(subject, "[さくらインターネット] [Reminder] [Important] SSL server "
				     "certificate reissue request");
	assert_true(strncmp(body, "Dear John Smith,\n", 17) == 0);
	assert_non_null(strstr(body, "This is a reminder"));
	assert_non_null(strstr(body, "December 31, 2026"));
	assert_non_null(strstr(body, "JPRS DV RS (2 years)"));
	assert_non_null(strstr(body, i18n_reason_todo(REASON_NEW_SETTING, LANG_EN)));
	assert_non_null(strstr(body, "Support Center\n"));
	assert_null(strstr(body, "様"));
	free(subject);
	free(body);
	render(&m, LANG_JA, &subject, &body);
	assert_string_equal(subject,
			    "[さくらインターネット]【再送】【重要】SSLサーバ証明書再発行のお願い");
	free(subject);
	free(body);
}

static void test_name_with_crlf(void **state)
{
	struct notify_campaign_mail m = mail("Eve\r\nBcc: victim@example.com", 0);
	char *subject, *body;

	(void)state;
	render(&m, LANG_JA, &subject, &body);
	assert_true(strncmp(body, "Eve Bcc: victim@example.com 様\n", 31) == 0);
	free(subject);
	free(body);
	m.rcpt_name = NULL;
	render(&m, LANG_EN, &subject, &body);
	assert_true(strncmp(body, "Dear customer,\n", 15) == 0);
	free(subject);
	free(body);
}

static void test_refused(void **state)
{
	struct notify_campaign_mail m = mail("x", 0);
	struct cd_err err = { 0 };
	char *subject, *body;

	(void)state;
	m.n_certs = 0;
	assert_int_not_equal(notify_campaign_render(settings(), &m, LANG_JA, &subject, &body, &err),
			     0);
	m.n_certs = 3;
	m.link = "";
	assert_int_not_equal(notify_campaign_render(settings(), &m, LANG_JA, &subject, &body, &err),
			     0);
}

static void test_key(void **state)
{
	struct cd_err err = { 0 };
	char key[200], small[16];

	(void)state;
	assert_int_equal(notify_campaign_key(3, 0, "m0001", key, sizeof(key), &err), 0);
	assert_string_equal(key, "campaign:3:notice:m0001");
	assert_int_equal(notify_campaign_key(3, 7, "m0001", key, sizeof(key), &err), 0);
	assert_string_equal(key, "campaign:3:remind-7:m0001");
	assert_int_equal(notify_campaign_key(3, 7, NULL, key, sizeof(key), &err), 0);
	assert_string_equal(key, "campaign:3:remind-7:");
	assert_int_not_equal(notify_campaign_key(3, 0, "m0001", small, sizeof(small), &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ja),
		cmocka_unit_test(test_en_and_reminder),
		cmocka_unit_test(test_name_with_crlf),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
