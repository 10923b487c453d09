/*
 * test_web_parse.c - the portal's own request parsing (src/web/parse.c): form
 * bodies and query strings, cookies, Accept-Language and `next` targets, as
 * tables of named cases, including the hostile ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "web/web.h"

static void test_form_decoding(void **state)
{
	static const struct {
		const char *name, *body, *field, *want; /* want NULL: absent */
	} cases[] = {
		{ "plain", "a=1&b=2", "b", "2" },
		{ "plus is space", "q=a+b", "q", "a b" },
		{ "percent escapes, UTF-8", "n=%E5%B1%B1%E7%94%B0", "n", "山田" },
		{ "empty value", "a=&b=2", "a", "" },
		{ "no equals sign", "flag&b=2", "flag", "" },
		{ "empty fields skipped", "&&a=1&&", "a", "1" },
		{ "first value wins", "a=1&a=2", "a", "1" },
		{ "encoded name", "csr%66=x", "csrf", "x" },
		{ "equals in value", "a=b=c", "a", "b=c" },
		{ "missing field", "a=1", "b", NULL },
		{ "markup stays text", "n=%3Cscript%3E", "n", "<script>" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct web_form f;
		struct cd_err err = { 0 };
		const char *got;

		print_message("# %s\n", cases[i].name);
		assert_int_equal(web_form_parse(cases[i].body, strlen(cases[i].body), 16, &f, &err),
				 0);
		got = web_form_get(&f, cases[i].field);
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
		web_form_free(&f);
	}
}

static void test_form_refusals(void **state)
{
	static const struct {
		const char *name, *body;
		int want;
	} cases[] = {
		{ "truncated escape", "a=%4", -CD_EINVAL },
		{ "escape at the end", "a=%", -CD_EINVAL },
		{ "bad hex", "a=%zz", -CD_EINVAL },
		{ "encoded NUL", "a=x%00y", -CD_EINVAL },
		{ "too many fields", "a=1&b=2&c=3&d=4&e=5", -CD_ELIMIT },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct web_form f;
		struct cd_err err = { 0 };

		print_message("# %s\n", cases[i].name);
		assert_int_equal(web_form_parse(cases[i].body, strlen(cases[i].body), 4, &f, &err),
				 cases[i].want);
		assert_null(f.buf);
	}
}

static void test_form_embedded_nul(void **state)
{
	static const char body[] = "a=1\0&b=2";
	struct web_form f;
	struct cd_err err = { 0 };

	(void)state;
	/* a raw NUL inside the body is refused, not a silent end of the string */
	assert_int_equal(web_form_parse(body, sizeof(body) - 1, 16, &f, &err), -CD_EINVAL);
}

static void test_cookies(void **state)
{
	static const struct {
		const char *name, *header, *cookie, *want;
		int rc;
	} cases[] = {
		{ "one", "sid=abc", "sid", "abc", 1 },
		{ "among others", "a=1; sid=abc; b=2", "sid", "abc", 1 },
		{ "no spaces", "a=1;sid=abc", "sid", "abc", 1 },
		{ "quoted", "sid=\"abc\"", "sid", "abc", 1 },
		{ "prefix is not a match", "xsid=abc; sidx=d", "sid", NULL, 0 },
		{ "first one wins", "sid=one; sid=two", "sid", "one", 1 },
		{ "absent", "a=1", "sid", NULL, 0 },
		{ "too long for the buffer", "sid=0123456789abcdef", "sid", NULL, -CD_ELIMIT },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[16];

		print_message("# %s\n", cases[i].name);
		assert_int_equal(
		    web_cookie_get(cases[i].header, cases[i].cookie, out, sizeof(out), NULL),
		    cases[i].rc);
		if (cases[i].want)
			assert_string_equal(out, cases[i].want);
	}
}

static void test_too_many_cookies(void **state)
{
	char header[2048] = "";
	char out[16];

	(void)state;
	for (int i = 0; i < 70; i++) {
		char one[16];

		snprintf(one, sizeof(one), "c%d=v; ", i);
		strcat(header, one);
	}
	assert_int_equal(web_cookie_get(header, "sid", out, sizeof(out), NULL), -CD_ELIMIT);
}

static void test_accept_language(void **state)
{
	static const struct {
		const char *name, *header;
		enum lang want;
		bool found;
	} cases[] = {
		{ "none", NULL, LANG_JA, false },
		{ "English", "en-US,en;q=0.9", LANG_EN, true },
		{ "Japanese", "ja", LANG_JA, true },
		{ "Japanese first", "ja-JP,ja;q=0.9,en;q=0.8", LANG_JA, true },
		{ "English preferred by q", "ja;q=0.5, en;q=0.8", LANG_EN, true },
		{ "same q: the first named", "en, ja", LANG_EN, true },
		{ "q=0 means not acceptable", "en;q=0, ja;q=0.1", LANG_JA, true },
		{ "neither", "fr-FR,de;q=0.5", LANG_JA, false },
		{ "a longer tag is not ja", "jax", LANG_JA, false },
		{ "wildcard only", "*", LANG_JA, false },
		{ "garbage", ";;;,,,q=", LANG_JA, false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool found;

		print_message("# %s\n", cases[i].name);
		assert_int_equal(web_accept_language(cases[i].header, &found), cases[i].want);
		assert_int_equal(found, cases[i].found);
	}
}

static void test_local_paths(void **state)
{
	static const struct {
		const char *next;
		bool ok;
	} cases[] = {
		{ "/certificates", true },
		{ "/certificates?campaign=3", true },
		{ "/orders/12", true },
		{ "//evil.example/", false },
		{ "/\\evil.example", false },
		{ "https://evil.example/", false },
		{ "javascript:alert(1)", false },
		{ "certificates", false },
		{ "", false },
		{ "/a\tb", false },
		{ "/a\nb", false },
		{ "/a\\b", false },
		{ NULL, false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# next=%s\n", cases[i].next ? cases[i].next : "(null)");
		assert_int_equal(web_local_path_ok(cases[i].next), cases[i].ok);
	}
}

static void test_url_decode_bounds(void **state)
{
	char out[4];

	(void)state;
	assert_int_equal(web_url_decode("abc", 3, out, sizeof(out), false), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(web_url_decode("abcd", 4, out, sizeof(out), false), -1);
	assert_int_equal(web_url_decode("a+b", 3, out, sizeof(out), false), 3);
	assert_string_equal(out, "a+b"); /* '+' is literal outside forms */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_decoding),	  cmocka_unit_test(test_form_refusals),
		cmocka_unit_test(test_form_embedded_nul), cmocka_unit_test(test_cookies),
		cmocka_unit_test(test_too_many_cookies),  cmocka_unit_test(test_accept_language),
		cmocka_unit_test(test_local_paths),	  cmocka_unit_test(test_url_decode_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
