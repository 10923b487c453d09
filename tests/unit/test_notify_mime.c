/*
 * test_notify_mime.c - the MIME builder: RFC 2047 encoded-words (known
 * answers, including RFC 2047 §8's names in UTF-8), folding within 76/78
 * characters without splitting a character, header injection through CR LF,
 * addresses, the base64 body, Message-IDs, the Date header, backoff, and the
 * reissue-complete templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

#define NOW 1795000000 /* 2026-11-18T11:06:40Z */

static char *header(const char *name, const char *value)
{
	struct cd_err err = { 0 };
	char *h = NULL;

	assert_int_equal(notify_header_text(name, value, &h, &err), 0);
	return h;
}

/* Every line of a header block: at most max characters, CRLF-terminated, no
 * bare CR or LF, continuation lines starting with a space. */
static void assert_lines_of(const char *h, size_t max, bool folded)
{
	const char *p = h;
	bool first = true;

	while (*p) {
		const char *e = strstr(p, "\r\n");

		assert_non_null(e);
		assert_true((size_t)(e - p) <= max);
		for (const char *q = p; q < e; q++)
			assert_true(*q != '\r' && *q != '\n');
		if (!first && folded)
			assert_true(*p == ' ');
		first = false;
		p = e + 2;
	}
}

static void assert_lines(const char *h, size_t max)
{
	assert_lines_of(h, max, true);
}

/* Decodes every encoded-word of h in order and concatenates their bytes;
 * checks that each word alone is complete UTF-8. */
static char *decode_words(const char *h)
{
	static char out[8192];
	size_t o = 0;
	const char *p = h;

	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		const char *s = p + 10, *e = strstr(s, "?=");
		unsigned char buf[200];
		int n, pad = 0;

		assert_non_null(e);
		assert_true(e + 2 - p <= 75); /* RFC 2047 §2: a word is at most 75 */
		n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)(e - s));
		assert_true(n >= 0);
		if (e - s >= 1 && e[-1] == '=')
			pad++;
		if (e - s >= 2 && e[-2] == '=')
			pad++;
		n -= pad;
		/* no character cut across words: the last byte ends a character */
		if (n > 0) {
			int k = n - 1, cont = 0;

			while (k >= 0 && (buf[k] & 0xc0) == 0x80)
				k--, cont++;
			if (k >= 0 && buf[k] >= 0xc0) {
				int need = buf[k] >= 0xf0 ? 3 : buf[k] >= 0xe0 ? 2 : 1;

				assert_int_equal(cont, need);
			}
		}
		memcpy(out + o, buf, (size_t)n);
		o += (size_t)n;
		p = e + 2;
	}
	out[o] = '\0';
	return out;
}

static void test_known_answers(void **state)
{
	/* base64 of the UTF-8 bytes, as RFC 2047 §4.1 defines the B encoding */
	static const struct {
		const char *name, *in, *want;
	} cases[] = {
		{ "japanese", "日本語", "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n" },
		{ "rfc2047 §8 Keld", "Keld Jørn Simonsen",
		  "Subject: =?UTF-8?B?S2VsZCBKw7hybiBTaW1vbnNlbg==?=\r\n" },
		{ "rfc2047 §8 André", "André Pirard",
		  "Subject: =?UTF-8?B?QW5kcsOpIFBpcmFyZA==?=\r\n" },
		{ "plain ascii", "Hello world", "Subject: Hello world\r\n" },
		{ "spaces collapse", "  a \t b  ", "Subject: a b\r\n" },
		{ "looks encoded", "=?x?", "Subject: =?UTF-8?B?PT94Pw==?=\r\n" },
		{ "empty", "", "Subject:\r\n" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *h = header("Subject", cases[i].in);

		if (strcmp(h, cases[i].want) != 0)
			fail_msg("%s: got '%s'", cases[i].name, h);
		free(h);
	}
}

static void test_fold_ascii(void **state)
{
	const char *in = "The quick brown fox jumps over the lazy dog and then keeps running "
			 "through the forest until the night falls upon the sleepy village";
	char *h = header("Subject", in), unfolded[400];
	size_t o = 0;

	(void)state;
	assert_lines(h, 78);
	assert_non_null(strstr(h, "\r\n ")); /* it was folded */
	/* unfolding (RFC 5322 §2.2.3: remove CRLF before WSP) gives the text back */
	for (const char *p = h + strlen("Subject: "); *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			unfolded[o++] = *p;
		else
			p++;
	unfolded[o] = '\0';
	assert_string_equal(unfolded, in);
	free(h);
}

static void test_fold_japanese(void **state)
{
	const char *in = "[さくらインターネット]【重要】SSLサーバ証明書再発行のお願い"
			 "（とても長いコモンネーム.example.jp）🔒 ほか、さらに長い件名を続けます";
	char *h = header("Subject", in);

	(void)state;
	assert_lines(h, 76); /* RFC 2047 §2: lines with encoded-words */
	assert_string_equal(decode_words(h), in);
	free(h);
}

static void test_controls_and_injection(void **state)
{
	char *h = header("Subject", "hello\r\nBcc: victim@example.com\r\n\r\nbody");

	(void)state;
	assert_lines(h, 78);
	assert_null(strstr(h, "\r\nBcc"));
	assert_string_equal(h, "Subject: hello Bcc: victim@example.com body\r\n");
	free(h);
	/* a lone CR, a NUL-less C0 control, DEL, and a C1 control (U+0085 NEL) */
	h = header("Subject", "a\rb\x01"
			      "c\x7f"
			      "d\xc2\x85"
			      "e");
	assert_string_equal(h, "Subject: a b c d e\r\n");
	free(h);
	/* invalid UTF-8 becomes U+FFFD, encoded */
	h = header("Subject", "bad \xff byte");
	assert_string_equal(decode_words(h), "bad \xef\xbf\xbd byte");
	free(h);
}

static void test_addresses(void **state)
{
	static const struct {
		const char *name, *display, *addr, *want;
	} ok[] = {
		{ "bare", NULL, "a@example.jp", "To: a@example.jp\r\n" },
		{ "atoms", "Taro Yamada", "a@example.jp", "To: Taro Yamada <a@example.jp>\r\n" },
		{ "specials quoted", "Yamada, Taro", "a@example.jp",
		  "To: \"Yamada, Taro\" <a@example.jp>\r\n" },
		{ "quotes escaped", "Bob \"The\" B\\", "a@example.jp",
		  "To: \"Bob \\\"The\\\" B\\\\\" <a@example.jp>\r\n" },
		{ "crlf stripped", "Eve\r\nBcc: v@example.com", "a@example.jp",
		  "To: \"Eve Bcc: v@example.com\" <a@example.jp>\r\n" },
		{ "japanese", "山田 太郎", "a@example.jp",
		  "To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <a@example.jp>\r\n" },
		{ "only controls", "\r\n\t", "a@example.jp", "To: a@example.jp\r\n" },
	};
	static const char *const bad[] = {
		"",
		"a",
		"@example.jp",
		"a@",
		"a@@b",
		"a b@example.jp",
		"a@example.jp\r\nRCPT TO:<b@c>",
		"<a@example.jp>",
		"a@b..jp",
		"a@.b",
		"\"a\"@b.jp",
		"a@b.jp.",
		"日本@example.jp",
	};
	struct cd_err err = { 0 };
	char *h;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(notify_header_address("To", ok[i].display, ok[i].addr, &h, &err),
				 0);
		if (strcmp(h, ok[i].want) != 0)
			fail_msg("%s: got '%s'", ok[i].name, h);
		assert_lines(h, 78);
		free(h);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (notify_addr_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(notify_header_address("To", "x", bad[i], &h, &err), -CD_EINVAL);
		assert_null(h);
	}
	/* a long Japanese display name folds and keeps every line within 76 */
	assert_int_equal(
	    notify_header_address("To",
				  "とても長いお名前の株式会社サンプルホールディングス"
				  "情報システム部門ご担当者様",
				  "someone.with.a.long.address@subdomain.example.co.jp", &h, &err),
	    0);
	assert_lines(h, 76);
	assert_non_null(strstr(h, " <someone.with.a.long.address@subdomain.example.co.jp>\r\n"));
	free(h);
}

static char *build(const char *body, const char *to_name)
{
	struct cd_err err = { 0 };
	char *msg = NULL;
	size_t len;

	assert_int_equal(
	    notify_mime_build(&(struct notify_mime){ .from_name = "さくらインターネット",
						     .from_addr = "noreply@example.jp",
						     .to_name = to_name,
						     .to_addr = "a@example.jp",
						     .reply_to = "support@example.jp",
						     .subject = "件名",
						     .body = body,
						     .message_id = "abc.certdesk@example.jp",
						     .date = NOW,
						     .tz_offset = 9 * 3600 },
			      &msg, &len, &err),
	    0);
	assert_int_equal(strlen(msg), len);
	return msg;
}

static void test_message(void **state)
{
	static const char *const want[] = {
		"Date: Wed, 18 Nov 2026 20:06:40 +0900\r\n",
		"Message-ID: <abc.certdesk@example.jp>\r\n",
		"MIME-Version: 1.0\r\n",
		"Content-Type: text/plain; charset=UTF-8\r\n",
		"Content-Transfer-Encoding: base64\r\n",
		"Auto-Submitted: auto-generated\r\n",
		"Reply-To: support@example.jp\r\n",
		"From: =?UTF-8?B?",
		"To: =?UTF-8?B?5bGx55Sw?= <a@example.jp>\r\n",
		"Subject: =?UTF-8?B?5Lu25ZCN?=\r\n",
	};
	char *msg = build("一行目\n二行目\r\nthird\rline\x01", "山田"), *sep;
	char joined[512] = "";
	unsigned char dec[512];
	int n;

	(void)state;
	sep = strstr(msg, "\r\n\r\n");
	assert_non_null(sep);
	sep[2] = '\0';
	/* the header block: unfolded header starts are not spaces, so check lines alone */
	assert_lines_of(msg, 78, false);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(msg, want[i]))
			fail_msg("missing '%s' in:\n%s", want[i], msg);
	/* the body: base64 lines of at most 76, decoding to CRLF UTF-8 text */
	assert_lines_of(sep + 4, 76, false);
	for (const char *p = sep + 4; *p; p++)
		if (*p != '\r' && *p != '\n')
			strncat(joined, p, 1);
	n = EVP_DecodeBlock(dec, (const unsigned char *)joined, (int)strlen(joined));
	assert_true(n > 0);
	dec[n] = '\0';
	assert_non_null(strstr((char *)dec, "一行目\r\n二行目\r\nthird\r\nline\r\n"));
	assert_null(strchr((char *)dec, '\x01'));
	free(msg);
}

static void test_date_negative_offset(void **state)
{
	struct cd_err err = { 0 };
	char *msg = NULL;
	size_t len;

	(void)state;
	assert_int_equal(notify_mime_build(&(struct notify_mime){ .from_addr = "n@example.jp",
								  .to_addr = "a@example.jp",
								  .subject = "s",
								  .body = "b",
								  .message_id = "x@example.jp",
								  .date = NOW,
								  .tz_offset = -(3 * 3600 + 1800) },
					   &msg, &len, &err),
			 0);
	assert_non_null(strstr(msg, "Date: Wed, 18 Nov 2026 07:36:40 -0330\r\n"));
	free(msg);
	assert_int_equal(notify_mime_build(&(struct notify_mime){ .from_addr = "n@example.jp",
								  .to_addr = "a@example.jp",
								  .message_id = "no-at-sign",
								  .date = NOW },
					   &msg, &len, &err),
			 -CD_EINVAL);
}

static void test_message_ids(void **state)
{
	struct cd_err err = { 0 };
	char ids[200][NOTIFY_MSGID_MAX];

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(
		    notify_message_id_new("mail.example.jp", ids[i], sizeof(ids[i]), &err), 0);
		assert_true(notify_addr_valid(ids[i]));
		assert_non_null(strstr(ids[i], "@mail.example.jp"));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	for (const char *const *d =
		 (const char *const[]){ "", "a b", "x\r\ny", ".a", "a..b", "a.", "ex@mple", NULL };
	     *d; d++)
		assert_int_equal(notify_message_id_new(*d, ids[0], sizeof(ids[0]), &err),
				 -CD_ECONFIG);
}

static void test_backoff(void **state)
{
	(void)state;
	/* attempt 1: the base, jittered into [base/2, base] */
	assert_int_equal(notify_backoff_ms(1000, 60000, 1, 0.0), 500);
	assert_int_equal(notify_backoff_ms(1000, 60000, 1, 0.999999), 999);
	/* doubling */
	assert_int_equal(notify_backoff_ms(1000, 60000, 3, 0.0), 2000);
	/* capped, also for absurd attempt counts (no overflow) */
	assert_int_equal(notify_backoff_ms(1000, 60000, 30, 0.0), 30000);
	assert_true(notify_backoff_ms(1000, 60000, 1000, 0.5) <= 60000);
	assert_true(notify_backoff_ms(1000, 60000, 1000, 0.5) >= 30000);
	/* a bad random number is not trusted */
	assert_int_equal(notify_backoff_ms(1000, 60000, 1, 7.0), 500);
}

static struct notify_settings *settings(void)
{
	static struct notify_settings s;

	memset(&s, 0, sizeof(s));
	snprintf(s.provider, sizeof(s.provider), "さくらインターネット");
	snprintf(s.timezone, sizeof(s.timezone), "Asia/Tokyo");
	snprintf(s.footer[LANG_JA], sizeof(s.footer[LANG_JA]), "フッター1行目\nフッター2行目");
	return &s;
}

static void test_template_ja(void **state)
{
	static const char *const names[] = { "example.jp", "www.example.jp" };
	struct notify_order_done o = { .order_id = 7,
				       .rcpt = "a@example.jp",
				       .rcpt_name = "山田\r\nBcc: x 太郎",
				       .common_name = "example.jp",
				       .names = names,
				       .n_names = 2,
				       .not_before = NOW,
				       .not_after = NOW + 199 * 86400,
				       .shortened = true,
				       .term_end_at = NOW + 400 * 86400,
				       .serial = "abc",
				       .sha256 = "00ff" };
	struct cd_err err = { 0 };
	char *subject, *body;

	(void)state;
	assert_int_equal(notify_order_done_render(settings(), &o, LANG_JA, &subject, &body, &err),
			 0);
	assert_string_equal(subject,
			    "[さくらインターネット]【完了】SSLサーバ証明書再発行完了のお知らせ"
			    "（example.jp）");
	for (const char *const *w =
		 (const char *const[]){ "山田 Bcc: x 太郎 様\n", "example.jp、www.example.jp",
					"2026-11-18 20:06 ～ 2027-06-05 20:06（Asia/Tokyo）",
					"0A:BC", "00:FF", "短縮", "2027-12-23 まで", "鍵マーク",
					"2026年11月18日", "https://example.jp/", "フッター2行目",
					NULL };
	     *w; w++)
		if (!strstr(body, *w))
			fail_msg("missing '%s' in:\n%s", *w, body);
	free(subject);
	free(body);
	o.shortened = false;
	assert_int_equal(notify_order_done_render(settings(), &o, LANG_JA, &subject, &body, &err),
			 0);
	assert_null(strstr(body, "短縮"));
	free(subject);
	free(body);
}

static void test_template_en(void **state)
{
	struct notify_order_done o = { .order_id = 7,
				       .rcpt = "a@example.jp",
				       .common_name = "example.jp",
				       .not_before = NOW,
				       .not_after = NOW + 199 * 86400,
				       .serial = "0abc",
				       .sha256 = "00ff" };
	struct cd_err err = { 0 };
	char *subject, *body;

	(void)state;
	assert_int_equal(notify_order_done_render(settings(), &o, LANG_EN, &subject, &body, &err),
			 0);
	assert_string_equal(subject,
			    "[さくらインターネット] Your SSL server certificate has been reissued "
			    "(example.jp)");
	for (const char *const *w =
		 (const char *const[]){ "Dear customer,", "Names on it:   example.jp\n",
					"lock icon", "November 18, 2026", "0A:BC", NULL };
	     *w; w++)
		if (!strstr(body, *w))
			fail_msg("missing '%s' in:\n%s", *w, body);
	assert_null(strstr(body, "shorter"));
	free(subject);
	free(body);
	o.common_name = "";
	assert_int_equal(notify_order_done_render(settings(), &o, LANG_EN, &subject, &body, &err),
			 -CD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_fold_ascii),
		cmocka_unit_test(test_fold_japanese),
		cmocka_unit_test(test_controls_and_injection),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_date_negative_offset),
		cmocka_unit_test(test_message_ids),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_template_ja),
		cmocka_unit_test(test_template_en),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
