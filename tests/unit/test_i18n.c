/*
 * test_i18n.c - the customer's words: the exact status labels, a text and a
 * "what to do" for every reason and failure in both languages, a label for
 * every stage, and language parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/i18n.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct label_case {
	const char *name;
	int kind; /* 0 status, 1 stage */
	int value;
	const char *ja, *en;
};

static struct label_case labels[] = {
	{ "status available", 0, CERT_STATUS_AVAILABLE, "再発行", "Reissue" },
	{ "status not_needed", 0, CERT_STATUS_NOT_NEEDED, "再発行不要", "Not needed" },
	{ "status in_progress", 0, CERT_STATUS_IN_PROGRESS, "再発行手続中", "In progress" },
	{ "status impossible", 0, CERT_STATUS_IMPOSSIBLE, "再発行不可", "Not possible" },
	{ "stage queued", 1, ORDER_QUEUED, "受付済み", "Received" },
	{ "stage preflight", 1, ORDER_PREFLIGHT, "事前確認中", "Checking DNS" },
	{ "stage validating", 1, ORDER_VALIDATING, "ドメイン認証中", "Validating the domain" },
	{ "stage done", 1, ORDER_DONE, "完了", "Done" },
	{ "stage failed", 1, ORDER_FAILED, "失敗", "Failed" },
	{ "stage canceled", 1, ORDER_CANCELED, "取消", "Canceled" },
};

static void test_label(void **state)
{
	const struct label_case *c = *state;
	const char *ja, *en;

	if (c->kind == 0) {
		ja = i18n_status_label((enum cert_status)c->value, LANG_JA);
		en = i18n_status_label((enum cert_status)c->value, LANG_EN);
	} else {
		ja = i18n_stage_label((enum order_state)c->value, LANG_JA);
		en = i18n_stage_label((enum order_state)c->value, LANG_EN);
	}
	if (!ja || strcmp(ja, c->ja) != 0)
		fail_msg("case '%s': ja '%s', want '%s'", c->name, ja ? ja : "(null)", c->ja);
	if (!en || strcmp(en, c->en) != 0)
		fail_msg("case '%s': en '%s', want '%s'", c->name, en ? en : "(null)", c->en);
}

/* Japanese text is UTF-8 with Japanese in it; English text is plain ASCII. */
static void check_text(const char *name, const char *what, const char *s, enum lang l)
{
	bool non_ascii = false;

	if (!s || !*s)
		fail_msg("case '%s': %s is empty", name, what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fail_msg("case '%s': %s has a control character", name, what);
		non_ascii |= *p >= 0x80;
	}
	if (l == LANG_JA && !non_ascii)
		fail_msg("case '%s': %s (ja) is not Japanese: '%s'", name, what, s);
	if (l == LANG_EN && non_ascii)
		fail_msg("case '%s': %s (en) is not ASCII: '%s'", name, what, s);
}

struct text_case {
	const char *name;
	int kind; /* 0 reason, 1 failure */
	int value;
	const char *ja_has, *en_has; /* words the text must contain (NULL: any) */
	const char *ja_todo_has, *en_todo_has;
};

static struct text_case texts[] = {
	{ "reason server_problem", 0, REASON_SERVER_PROBLEM, "サーバ", "hosting server", "サポート",
	  "support" },
	{ "reason foreign certificate", 0, REASON_FOREIGN_CERTIFICATE, "別の証明書",
	  "Another certificate", "サポート", "support" },
	{ "reason new setting", 0, REASON_NEW_SETTING, "新しいSSL設定", "new SSL setting",
	  "SSL設定", "SSL setting" },
	{ "reason order failed", 0, REASON_ORDER_FAILED, "失敗", "failed", "サポート", "support" },
	{ "reason csr required", 0, REASON_CSR_REQUIRED, "CSR", "CSR", "サポート", "support" },
	{ "failure dns_not_pointing", 1, FAILURE_DNS_NOT_POINTING,
	  "ドメインのAレコードがレンタルサーバを指していません",
	  "The domain's A record does not point at the hosting server",
	  "DNSのAレコードをレンタルサーバのIPアドレスに設定してから、もう一度お申し込みください",
	  "apply again" },
	{ "failure caa_forbids", 1, FAILURE_CAA_FORBIDS, "CAA", "CAA", "CAA", "CAA" },
	{ "failure dns_error", 1, FAILURE_DNS_ERROR, "DNS", "DNS", NULL, "apply again" },
	{ "failure server_problem", 1, FAILURE_SERVER_PROBLEM, "サーバ", "server", NULL, NULL },
	{ "failure foreign certificate", 1, FAILURE_FOREIGN_CERT, "別の証明書",
	  "another certificate", "サポート", "support" },
	{ "failure new setting", 1, FAILURE_NEW_SETTING, "新しいSSL設定", "new SSL setting", NULL,
	  NULL },
	{ "failure challenge_failed", 1, FAILURE_CHALLENGE_FAILED, "ドメイン認証", "validate", NULL,
	  "apply again" },
	{ "failure ca_rejected", 1, FAILURE_CA_REJECTED, "認証局", "certificate authority",
	  "サポート", "support" },
	{ "failure ca_error", 1, FAILURE_CA_ERROR, "認証局", "certificate authority", NULL,
	  "apply again" },
	{ "failure install_failed keeps the old certificate", 1, FAILURE_INSTALL_FAILED,
	  "今までの証明書", "current certificate", NULL, NULL },
	{ "failure verify_failed", 1, FAILURE_VERIFY_FAILED, "確認", "confirm", NULL, NULL },
	{ "failure internal", 1, FAILURE_INTERNAL, NULL, NULL, "サポート", "support" },
};

static void test_text(void **state)
{
	const struct text_case *c = *state;
	const char *t[LANG_COUNT], *todo[LANG_COUNT];

	for (int l = 0; l < LANG_COUNT; l++) {
		if (c->kind == 0) {
			t[l] = i18n_reason_text((enum cert_reason)c->value, (enum lang)l);
			todo[l] = i18n_reason_todo((enum cert_reason)c->value, (enum lang)l);
		} else {
			t[l] = i18n_failure_text((enum failure_code)c->value, (enum lang)l);
			todo[l] = i18n_failure_todo((enum failure_code)c->value, (enum lang)l);
		}
		check_text(c->name, "text", t[l], (enum lang)l);
		check_text(c->name, "todo", todo[l], (enum lang)l);
	}
	if (c->ja_has && !strstr(t[LANG_JA], c->ja_has))
		fail_msg("case '%s': ja text '%s' lacks '%s'", c->name, t[LANG_JA], c->ja_has);
	if (c->en_has && !strstr(t[LANG_EN], c->en_has))
		fail_msg("case '%s': en text '%s' lacks '%s'", c->name, t[LANG_EN], c->en_has);
	if (c->ja_todo_has && !strstr(todo[LANG_JA], c->ja_todo_has))
		fail_msg("case '%s': ja todo '%s' lacks '%s'", c->name, todo[LANG_JA],
			 c->ja_todo_has);
	if (c->en_todo_has && !strstr(todo[LANG_EN], c->en_todo_has))
		fail_msg("case '%s': en todo '%s' lacks '%s'", c->name, todo[LANG_EN],
			 c->en_todo_has);
}

/* Every valid enum value has a non-NULL string in every language. */
static void test_every_value(void **state)
{
	(void)state;
	for (int l = 0; l < LANG_COUNT; l++) {
		enum lang lg = (enum lang)l;

		for (int s = 0; s < CERT_STATUS_COUNT; s++)
			check_text("every status", "label", i18n_status_label(s, lg), lg);
		for (int s = 0; s < ORDER_STATE_COUNT; s++)
			check_text("every stage", order_state_name(s), i18n_stage_label(s, lg), lg);
		for (unsigned bit = 1; bit <= REASON_ALL_MASK; bit <<= 1) {
			check_text("every reason", "text", i18n_reason_text(bit, lg), lg);
			check_text("every reason", "todo", i18n_reason_todo(bit, lg), lg);
		}
		for (int c = FAILURE_NONE + 1; c < FAILURE_CODE_COUNT; c++) {
			check_text("every failure", failure_code_name(c), i18n_failure_text(c, lg),
				   lg);
			check_text("every failure", failure_code_name(c), i18n_failure_todo(c, lg),
				   lg);
		}
		/* NONE and out-of-range values: an empty string, never NULL */
		if (!i18n_reason_text(REASON_NONE, lg) || !i18n_reason_todo(REASON_NONE, lg) ||
		    !i18n_failure_text(FAILURE_NONE, lg) || !i18n_failure_todo(FAILURE_NONE, lg) ||
		    !i18n_status_label(CERT_STATUS_COUNT, lg) ||
		    !i18n_stage_label(ORDER_STATE_COUNT, lg) ||
		    !i18n_failure_text(FAILURE_CODE_COUNT, lg) ||
		    !i18n_reason_text(REASON_SERVER_PROBLEM | REASON_NEW_SETTING, lg) ||
		    !i18n_reason_text(1u << 5, lg))
			fail_msg("case 'every value': NULL for NONE or out of range");
	}
	/* the stages read differently from each other */
	for (int a = 0; a < ORDER_STATE_COUNT; a++)
		for (int b = a + 1; b < ORDER_STATE_COUNT; b++)
			for (int l = 0; l < LANG_COUNT; l++)
				if (strcmp(i18n_stage_label(a, l), i18n_stage_label(b, l)) == 0)
					fail_msg("case 'every value': stages %s and %s read alike",
						 order_state_name(a), order_state_name(b));
	/* an unknown language falls back to Japanese, the default */
	if (strcmp(i18n_status_label(CERT_STATUS_AVAILABLE, LANG_COUNT), "再発行") != 0)
		fail_msg("case 'every value': unknown language is not Japanese");
}

struct lang_case {
	const char *name;
	const char *in;
	int want; /* -1: refused */
};

static struct lang_case langs[] = {
	{ "ja", "ja", LANG_JA },
	{ "en", "en", LANG_EN },
	{ "JA upper case", "JA", LANG_JA },
	{ "En mixed case", "En", LANG_EN },
	{ "ja-JP", "ja-JP", LANG_JA },
	{ "ja-jp lower case", "ja-jp", LANG_JA },
	{ "en-US", "en-US", LANG_EN },
	{ "EN-GB", "EN-GB", LANG_EN },
	{ "en_US (POSIX locale style)", "en_US", LANG_EN },
	{ "NULL", NULL, -1 },
	{ "empty", "", -1 },
	{ "one letter", "j", -1 },
	{ "jp is a country, not a language", "jp", -1 },
	{ "fr", "fr", -1 },
	{ "english spelled out", "english", -1 },
	{ "jan", "jan", -1 },
	{ "dangling hyphen", "en-", -1 },
	{ "space", "en US", -1 },
	{ "leading space", " en", -1 },
};

static void test_lang(void **state)
{
	const struct lang_case *c = *state;
	struct cd_err err = { 0 };
	enum lang l = LANG_COUNT;
	int rc = lang_parse(c->in, &l, &err);

	if (c->want < 0) {
		if (rc != -CD_EINVAL || l != LANG_COUNT || err.msg[0] == '\0')
			fail_msg("case '%s': accepted (%d)", c->name, rc);
		return;
	}
	if (rc != 0 || (int)l != c->want)
		fail_msg("case '%s': rc %d lang %d (%s)", c->name, rc, (int)l, err.msg);
	/* round trip through the name */
	if (lang_parse(lang_name(l), &l, &err) != 0 || (int)l != c->want)
		fail_msg("case '%s': lang_name round trip", c->name);
}

static void test_lang_names(void **state)
{
	(void)state;
	if (strcmp(lang_name(LANG_JA), "ja") || strcmp(lang_name(LANG_EN), "en"))
		fail_msg("case 'lang names': '%s' '%s'", lang_name(LANG_JA), lang_name(LANG_EN));
}

int main(void)
{
	static struct CMUnitTest tests[N(labels) + N(texts) + N(langs) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(labels); i++)
		tests[n++] =
		    (struct CMUnitTest){ labels[i].name, test_label, NULL, NULL, &labels[i] };
	for (size_t i = 0; i < N(texts); i++)
		tests[n++] = (struct CMUnitTest){ texts[i].name, test_text, NULL, NULL, &texts[i] };
	for (size_t i = 0; i < N(langs); i++)
		tests[n++] = (struct CMUnitTest){ langs[i].name, test_lang, NULL, NULL, &langs[i] };
	tests[n++] =
	    (struct CMUnitTest){ "every value has words", test_every_value, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "lang names", test_lang_names, NULL, NULL, NULL };
	return _cmocka_run_group_tests("i18n", tests, n, NULL, NULL);
}
