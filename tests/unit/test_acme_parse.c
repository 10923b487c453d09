/*
 * test_acme_parse.c - what the ACME client reads from a CA: Retry-After in both
 * forms and junk, Link headers, nonces and Locations, orders, authorizations
 * and problem documents; and how errors map to failure codes, and the backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acme/acme.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2026-01-01T00:00:00Z */
#define NOW 1767225600LL

struct ra_case {
	const char *name, *value;
	int rc;
	long secs;
};
static const struct ra_case ra_cases[] = {
	{ "delta-seconds", "120", 0, 120 },
	{ "delta with spaces around", "  7 ", 0, 7 },
	{ "zero", "0", 0, 0 },
	{ "a huge delta is capped at a day", "999999999999999999999", 0, 86400 },
	{ "IMF-fixdate 90 s ahead", "Thu, 01 Jan 2026 00:01:30 GMT", 0, 90 },
	{ "IMF-fixdate in the past is 0", "Wed, 31 Dec 2025 23:00:00 GMT", 0, 0 },
	{ "negative is junk", "-5", -1, 0 },
	{ "fraction is junk", "1.5", -1, 0 },
	{ "words are junk", "soon", -1, 0 },
	{ "empty is junk", "", -1, 0 },
	{ "bad month is junk", "Thu, 01 Foo 2026 00:01:30 GMT", -1, 0 },
	{ "31 February is junk", "Thu, 31 Feb 2026 00:01:30 GMT", -1, 0 },
	{ "not GMT is junk", "Thu, 01 Jan 2026 00:01:30 UTC", -1, 0 },
	{ "RFC 850 form is refused", "Thursday, 01-Jan-26 00:01:30 GMT", -1, 0 },
};

static void test_retry_after(void **state)
{
	const struct ra_case *c = *state;
	long s = -1;
	int rc = acme_retry_after_parse(c->value, NOW, &s);

	if (rc != c->rc || (rc == 0 && s != c->secs))
		fail_msg("case '%s': rc %d secs %ld", c->name, rc, s);
}

struct link_case {
	const char *name, *value;
	int found;
	const char *first;
};
static const struct link_case link_cases[] = {
	{ "one alternate", "<https://ca.test/cert/1/alt/1>;rel=\"alternate\"", 1,
	  "https://ca.test/cert/1/alt/1" },
	{ "two links, one alternate",
	  "<https://ca.test/dir>;rel=\"index\", <https://ca.test/alt>; rel=alternate", 1,
	  "https://ca.test/alt" },
	{ "rel with several types", "<https://ca.test/a>;rel=\"up alternate\"", 1,
	  "https://ca.test/a" },
	{ "no alternate", "<https://ca.test/dir>;rel=\"index\"", 0, NULL },
	{ "no angle brackets is malformed", "https://ca.test/a;rel=alternate", -1, NULL },
	{ "unterminated quote is malformed", "<https://ca.test/a>;rel=\"alternate", -1, NULL },
	{ "relative URL is skipped", "</alt>;rel=alternate", 0, NULL },
};

static void on_link(const char *url, void *arg)
{
	char *first = arg;

	if (!first[0])
		strcpy(first, url);
}

static void test_link(void **state)
{
	const struct link_case *c = *state;
	char first[1024] = "";
	int n = acme_link_parse(c->value, "alternate", on_link, first);

	if (n != c->found || (c->first && strcmp(first, c->first) != 0))
		fail_msg("case '%s': found %d first '%s'", c->name, n, first);
}

static void test_nonce_location(void **state)
{
	(void)state;
	assert_int_equal(acme_nonce_valid("oFvnlFP1wIhRlYS2jTaXbA"), 0);
	assert_int_equal(acme_nonce_valid(""), -1);
	assert_int_equal(acme_nonce_valid("a b"), -1);
	assert_int_equal(acme_nonce_valid("abc="), -1);
	assert_int_equal(acme_location_valid("https://ca.test/order/1"), 0);
	assert_int_equal(acme_location_valid("/order/1"), -1);
	assert_int_equal(acme_location_valid("https://ca.test/a\"b"), -1);
	assert_int_equal(acme_location_valid("ftp://ca.test/"), -1);
	assert_int_equal(acme_location_valid("https://"), -1);
}

struct order_case {
	const char *name, *json;
	int ok;
	enum acme_status status;
	size_t n_authz;
};
static const struct order_case order_cases[] = {
	{ "RFC 8555 §7.1.3 example (pending)",
	  "{\"status\":\"pending\",\"expires\":\"2016-01-05T14:09:07.99Z\","
	  "\"identifiers\":[{\"type\":\"dns\",\"value\":\"www.example.org\"}],"
	  "\"authorizations\":[\"https://example.com/acme/authz/PAniVnsZcis\","
	  "\"https://example.com/acme/authz/r4HqLzrSrpI\"],"
	  "\"finalize\":\"https://example.com/acme/order/TOlocE8rfgo/finalize\"}",
	  1, ACME_STATUS_PENDING, 2 },
	{ "valid with a certificate",
	  "{\"status\":\"valid\",\"authorizations\":[],\"finalize\":\"https://c/f\","
	  "\"certificate\":\"https://c/cert/1\"}",
	  1, ACME_STATUS_VALID, 0 },
	{ "invalid with an error",
	  "{\"status\":\"invalid\",\"authorizations\":[],\"finalize\":\"https://c/f\","
	  "\"error\":{\"type\":\"urn:ietf:params:acme:error:connection\",\"detail\":\"x\"}}",
	  1, ACME_STATUS_INVALID, 0 },
	{ "valid without a certificate is refused",
	  "{\"status\":\"valid\",\"authorizations\":[],\"finalize\":\"https://c/f\"}", 0,
	  ACME_STATUS_UNKNOWN, 0 },
	{ "unknown status is refused",
	  "{\"status\":\"done\",\"authorizations\":[],\"finalize\":\"https://c/f\"}", 0,
	  ACME_STATUS_UNKNOWN, 0 },
	{ "status as a number is refused",
	  "{\"status\":1,\"authorizations\":[],\"finalize\":\"https://c/f\"}", 0,
	  ACME_STATUS_UNKNOWN, 0 },
	{ "empty finalize is refused (found by fuzzing)",
	  "{\"status\":\"ready\",\"authorizations\":[],\"finalize\":\"\"}", 0, ACME_STATUS_UNKNOWN,
	  0 },
	{ "missing finalize is refused", "{\"status\":\"ready\",\"authorizations\":[]}", 0,
	  ACME_STATUS_UNKNOWN, 0 },
	{ "authorization not a URL is refused",
	  "{\"status\":\"ready\",\"authorizations\":[\"x\"],\"finalize\":\"https://c/f\"}", 0,
	  ACME_STATUS_UNKNOWN, 0 },
	{ "truncated JSON is refused", "{\"status\":\"ready\",\"authoriz", 0, ACME_STATUS_UNKNOWN,
	  0 },
	{ "an array is refused", "[1,2]", 0, ACME_STATUS_UNKNOWN, 0 },
	{ "duplicate keys are refused",
	  "{\"status\":\"ready\",\"status\":\"valid\",\"authorizations\":[],"
	  "\"finalize\":\"https://c/f\"}",
	  0, ACME_STATUS_UNKNOWN, 0 },
};

static void test_order(void **state)
{
	const struct order_case *c = *state;
	struct acme_order o = { 0 };
	struct cd_err err = { 0 };
	int rc = acme_order_parse(c->json, strlen(c->json), &o, &err);

	if ((rc == 0) != c->ok)
		fail_msg("case '%s': rc %d (%s)", c->name, rc, err.msg);
	if (rc == 0) {
		assert_int_equal(o.status, c->status);
		assert_int_equal(o.n_authz, c->n_authz);
		if (c->status == ACME_STATUS_INVALID)
			assert_string_equal(o.error.type, "urn:ietf:params:acme:error:connection");
	} else {
		assert_int_equal(err.code, CD_EPEER);
	}
	acme_order_free(&o);
}

static void test_authz(void **state)
{
	static const char ok[] =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://c/ch/1\",\"token\":\"t1\","
	    "\"status\":\"pending\"},{\"type\":\"http-01\",\"url\":\"https://c/ch/2\","
	    "\"token\":\"DGyRejmCefe7v4NfDGDKfA\",\"status\":\"invalid\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"bad\\nline\"}}]}";
	static const char bad_token[] =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://c/ch/2\","
	    "\"token\":\"../../etc/passwd\",\"status\":\"pending\"}]}";
	struct acme_authz a = { 0 };
	struct cd_err err = { 0 };

	(void)state;
	assert_int_equal(acme_authz_parse(ok, strlen(ok), &a, &err), 0);
	assert_string_equal(a.identifier, "a.test");
	assert_true(a.has_http01);
	assert_string_equal(a.http01_url, "https://c/ch/2");
	assert_string_equal(a.http01_token, "DGyRejmCefe7v4NfDGDKfA");
	assert_int_equal(a.http01_status, ACME_STATUS_INVALID);
	assert_string_equal(a.error.detail, "bad line"); /* control characters replaced */
	assert_int_not_equal(acme_authz_parse(bad_token, strlen(bad_token), &a, &err), 0);
}

struct fail_case {
	const char *name;
	enum cd_errcode code;
	bool retryable;
	const char *msg;
	enum failure_code want;
};
static const struct fail_case fail_cases[] = {
	{ "challenge failure", CD_EPEER, true,
	  "CA p: " ACME_VALIDATION_FAILED " a.test: [urn:ietf:params:acme:error:connection] x",
	  FAILURE_CHALLENGE_FAILED },
	{ "rejectedIdentifier is a refusal", CD_EPEER, false,
	  "CA p: https://c/o: HTTP 400 [urn:ietf:params:acme:error:rejectedIdentifier] no",
	  FAILURE_CA_REJECTED },
	{ "CAA", CD_EPEER, false, "CA p: [urn:ietf:params:acme:error:caa] forbidden",
	  FAILURE_CAA_FORBIDS },
	{ "rateLimited is a CA error", CD_EPEER, true,
	  "CA p: HTTP 429 [urn:ietf:params:acme:error:rateLimited] slow down", FAILURE_CA_ERROR },
	{ "transport is a CA error", CD_EIO, true, "POST https://c/: Timeout", FAILURE_CA_ERROR },
};

static void test_failure_map(void **state)
{
	const struct fail_case *c = *state;
	struct cd_err err = { .code = c->code, .retryable = c->retryable };
	char type[128];

	snprintf(err.msg, sizeof(err.msg), "%s", c->msg);
	if (acme_err_failure(&err) != c->want)
		fail_msg("case '%s': got %d", c->name, acme_err_failure(&err));
	acme_err_problem_type(&err, type, sizeof(type));
	if (strstr(c->msg, "[urn:"))
		assert_non_null(strstr(c->msg, type));
	else
		assert_string_equal(type, "");
}

static void test_problem(void **state)
{
	struct acme_problem p;
	static const char doc[] =
	    "{\"type\":\"urn:ietf:params:acme:error:badNonce\","
	    "\"detail\":\"JWS has an invalid anti-replay nonce\",\"status\":400}";

	(void)state;
	assert_int_equal(acme_problem_parse(doc, strlen(doc), &p), 0);
	assert_string_equal(p.type, "urn:ietf:params:acme:error:badNonce");
	assert_int_equal(p.status, 400);
	assert_int_equal(acme_problem_parse("<html>", 6, &p), -1);
	assert_int_equal(acme_problem_parse("{}", 2, &p), -1);
}

static void test_backoff(void **state)
{
	unsigned seed = 1;

	(void)state;
	/* Retry-After wins, capped */
	assert_int_equal(acme_backoff_ms(100, 1000, 60, 0, 5, &seed), 5000);
	assert_int_equal(acme_backoff_ms(100, 1000, 60, 0, 500, &seed), 60000);
	/* exponential with +-25 % jitter, capped at max */
	for (unsigned a = 0; a < 20; a++) {
		long base = 100L << (a < 4 ? a : 4);
		long ms = acme_backoff_ms(100, 1000, 60, a, 0, &seed);

		if (base > 1000)
			base = 1000;
		if (ms < base - base / 4 || ms > base + base / 4)
			fail_msg("attempt %u: %ld ms outside %ld +-25%%", a, ms, base);
	}
}

int main(void)
{
	struct CMUnitTest t[N(ra_cases) + N(link_cases) + N(order_cases) + N(fail_cases) + 4];
	size_t n = 0;

	for (size_t i = 0; i < N(ra_cases); i++)
		t[n++] = (struct CMUnitTest){ ra_cases[i].name, test_retry_after, NULL, NULL,
					      (void *)&ra_cases[i] };
	for (size_t i = 0; i < N(link_cases); i++)
		t[n++] = (struct CMUnitTest){ link_cases[i].name, test_link, NULL, NULL,
					      (void *)&link_cases[i] };
	for (size_t i = 0; i < N(order_cases); i++)
		t[n++] = (struct CMUnitTest){ order_cases[i].name, test_order, NULL, NULL,
					      (void *)&order_cases[i] };
	for (size_t i = 0; i < N(fail_cases); i++)
		t[n++] = (struct CMUnitTest){ fail_cases[i].name, test_failure_map, NULL, NULL,
					      (void *)&fail_cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_nonce_location);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_authz);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_problem);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_backoff);
	return _cmocka_run_group_tests("acme_parse", t, n, NULL, NULL);
}
