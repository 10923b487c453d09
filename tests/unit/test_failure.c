/*
 * test_failure.c - failure codes: stable names, parsing, and the deliberate
 * default of whether a retry can help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/failure.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct code_case {
	const char *name;
	enum failure_code code;
	const char *text;
	bool retryable;
};

static struct code_case codes[] = {
	{ "none is not retryable", FAILURE_NONE, "none", false },
	{ "dns_not_pointing: customer fixes DNS, then retries", FAILURE_DNS_NOT_POINTING,
	  "dns_not_pointing", true },
	{ "caa_forbids: customer fixes CAA, then retries", FAILURE_CAA_FORBIDS, "caa_forbids",
	  true },
	{ "dns_error is transient", FAILURE_DNS_ERROR, "dns_error", true },
	{ "server_problem passes", FAILURE_SERVER_PROBLEM, "server_problem", true },
	{ "foreign certificate needs a decision", FAILURE_FOREIGN_CERT,
	  "foreign_certificate_installed", false },
	{ "new setting needs a decision", FAILURE_NEW_SETTING, "new_setting_exists", false },
	{ "challenge_failed is transient", FAILURE_CHALLENGE_FAILED, "challenge_failed", true },
	{ "ca_rejected is refused again", FAILURE_CA_REJECTED, "ca_rejected", false },
	{ "ca_error is transient", FAILURE_CA_ERROR, "ca_error", true },
	{ "install_failed is retryable", FAILURE_INSTALL_FAILED, "install_failed", true },
	{ "verify_failed is retryable", FAILURE_VERIFY_FAILED, "verify_failed", true },
	{ "internal is retryable", FAILURE_INTERNAL, "internal", true },
};

static void test_code(void **state)
{
	const struct code_case *c = *state;
	struct cd_err err = { 0 };
	enum failure_code parsed = FAILURE_CODE_COUNT;

	if (strcmp(failure_code_name(c->code), c->text) != 0)
		fail_msg("case '%s': name '%s'", c->name, failure_code_name(c->code));
	if (failure_code_parse(c->text, &parsed, &err) != 0 || parsed != c->code)
		fail_msg("case '%s': parse round trip (%s)", c->name, err.msg);
	if (failure_default_retryable(c->code) != c->retryable)
		fail_msg("case '%s': retryable %d", c->name, failure_default_retryable(c->code));
}

struct bad_case {
	const char *name;
	const char *text;
};

static struct bad_case bad[] = {
	{ "parse NULL", NULL },
	{ "parse empty", "" },
	{ "parse upper case", "CA_ERROR" },
	{ "parse unknown", "timeout" },
	{ "parse short form of foreign", "foreign_cert" },
	{ "parse trailing newline", "ca_error\n" },
};

static void test_bad(void **state)
{
	const struct bad_case *c = *state;
	struct cd_err err = { 0 };
	enum failure_code out = FAILURE_INTERNAL;

	if (failure_code_parse(c->text, &out, &err) != -CD_EINVAL || err.code != CD_EINVAL)
		fail_msg("case '%s': accepted", c->name);
	if (out != FAILURE_INTERNAL)
		fail_msg("case '%s': output written on error", c->name);
}

static void test_all_codes_covered(void **state)
{
	(void)state;
	if (N(codes) != FAILURE_CODE_COUNT)
		fail_msg("case 'all codes covered': %zu cases for %d codes", N(codes),
			 FAILURE_CODE_COUNT);
	if (strcmp(failure_code_name(FAILURE_CODE_COUNT), "unknown") != 0 ||
	    failure_default_retryable(FAILURE_CODE_COUNT))
		fail_msg("case 'all codes covered': out of range");
	for (int a = 0; a < FAILURE_CODE_COUNT; a++)
		for (int b = a + 1; b < FAILURE_CODE_COUNT; b++)
			if (strcmp(failure_code_name((enum failure_code)a),
				   failure_code_name((enum failure_code)b)) == 0)
				fail_msg("case 'all codes covered': duplicate name %s",
					 failure_code_name((enum failure_code)a));
}

int main(void)
{
	static struct CMUnitTest tests[N(codes) + N(bad) + 1];
	size_t n = 0;

	for (size_t i = 0; i < N(codes); i++)
		tests[n++] = (struct CMUnitTest){ codes[i].name, test_code, NULL, NULL, &codes[i] };
	for (size_t i = 0; i < N(bad); i++)
		tests[n++] = (struct CMUnitTest){ bad[i].name, test_bad, NULL, NULL, &bad[i] };
	tests[n++] =
	    (struct CMUnitTest){ "all codes covered", test_all_codes_covered, NULL, NULL, NULL };
	return _cmocka_run_group_tests("failure", tests, n, NULL, NULL);
}
