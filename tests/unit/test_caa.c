/*
 * test_caa.c - RFC 8659 section 4 as a table: which CAA record sets allow
 * which CA, with the issue-value grammar's corner cases and critical flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/caa.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct rec {
	unsigned flags;
	const char *tag, *value;
};

struct caa_case {
	const char *name;
	struct rec recs[4];
	const char *identities;
	int allowed;
	const char *why_has; /* a substring of the explanation when refused */
};

static struct caa_case cases[] = {
	{ "issue for the CA",
	  { { 0, "issue", "pebble.letsencrypt.org" } },
	  "pebble.letsencrypt.org",
	  1,
	  NULL },
	{ "issue for another CA",
	  { { 0, "issue", "ca.example.net" } },
	  "pebble.letsencrypt.org",
	  0,
	  "ca.example.net" },
	{ "one of two issue records matches",
	  { { 0, "issue", "ca.example.net" }, { 0, "issue", "jprs.jp" } },
	  "jprs.jp",
	  1,
	  NULL },
	{ "identity list: second identity matches",
	  { { 0, "issue", "jprs.jp" } },
	  "pebble.letsencrypt.org jprs.jp",
	  1,
	  NULL },
	{ "tag is case-insensitive", { { 0, "ISSUE", "jprs.jp" } }, "jprs.jp", 1, NULL },
	{ "domain is case-insensitive", { { 0, "issue", "JPRS.JP" } }, "jprs.jp", 1, NULL },
	{ "parameters after ';' ignored",
	  { { 0, "issue", "jprs.jp; accounturi=https://x/acct/1" } },
	  "jprs.jp",
	  1,
	  NULL },
	{ "spaces around the domain", { { 0, "issue", "  jprs.jp  ;" } }, "jprs.jp", 1, NULL },
	{ "trailing dot on the domain", { { 0, "issue", "jprs.jp." } }, "jprs.jp", 1, NULL },
	{ "';' alone forbids everyone", { { 0, "issue", ";" } }, "jprs.jp", 0, "\";\"" },
	{ "empty value forbids everyone", { { 0, "issue", "" } }, "jprs.jp", 0, "CAA allows only" },
	{ "only iodef: anyone may issue",
	  { { 0, "iodef", "mailto:sec@example.jp" } },
	  "jprs.jp",
	  1,
	  NULL },
	{ "only issuewild: non-wildcard allowed",
	  { { 0, "issuewild", "ca.example.net" } },
	  "jprs.jp",
	  1,
	  NULL },
	{ "unknown critical tag forbids",
	  { { 128, "tbs", "x" }, { 0, "issue", "jprs.jp" } },
	  "jprs.jp",
	  0,
	  "critical property 'tbs'" },
	{ "unknown non-critical tag ignored",
	  { { 0, "tbs", "x" }, { 0, "issue", "jprs.jp" } },
	  "jprs.jp",
	  1,
	  NULL },
	{ "known tag with critical flag is fine",
	  { { 128, "issue", "jprs.jp" } },
	  "jprs.jp",
	  1,
	  NULL },
	{ "malformed value (two words) matches nobody",
	  { { 0, "issue", "jprs.jp other" } },
	  "jprs.jp",
	  0,
	  NULL },
	{ "prefix of the identity is not a match",
	  { { 0, "issue", "prs.jp" } },
	  "jprs.jp",
	  0,
	  NULL },
	{ "identity is not a suffix match", { { 0, "issue", "ca.jprs.jp" } }, "jprs.jp", 0, NULL },
	{ "no identities configured: forbidden when issue present",
	  { { 0, "issue", "jprs.jp" } },
	  "",
	  0,
	  NULL },
};

static void test_case(void **state)
{
	const struct caa_case *c = *state;
	struct caa_record rs[4];
	char why[300];
	size_t n = 0;
	bool got;

	memset(rs, 0, sizeof(rs));
	for (; n < 4 && c->recs[n].tag; n++) {
		rs[n].flags = c->recs[n].flags;
		snprintf(rs[n].tag, sizeof(rs[n].tag), "%s", c->recs[n].tag);
		snprintf(rs[n].value, sizeof(rs[n].value), "%s", c->recs[n].value);
	}
	got = caa_allows(rs, n, c->identities, why, sizeof(why));
	if ((int)got != c->allowed)
		fail_msg("case '%s': allowed %d, want %d (%s)", c->name, got, c->allowed, why);
	if (!got && c->why_has && !strstr(why, c->why_has))
		fail_msg("case '%s': explanation '%s' lacks '%s'", c->name, why, c->why_has);
	if (!got && !why[0])
		fail_msg("case '%s': refused without an explanation", c->name);
}

static void test_issuer_of(void **state)
{
	char out[64];

	(void)state;
	assert_true(caa_issuer_of("ca.example; a=b", out, sizeof(out)));
	assert_string_equal(out, "ca.example");
	assert_true(caa_issuer_of(";", out, sizeof(out)));
	assert_string_equal(out, "");
	assert_false(caa_issuer_of("a b", out, sizeof(out)));
	assert_false(caa_issuer_of("ca_example", out, sizeof(out)));
	assert_false(caa_issuer_of("averyveryverylongdomainnamethatdoesnotfit.example", out, 8));
}

static void test_tiny_why(void **state)
{
	struct caa_record r = { 0, "issue", "x.example" };
	char why[4];

	(void)state;
	assert_false(caa_allows(&r, 1, "jprs.jp", why, sizeof(why)));
	assert_true(strlen(why) < sizeof(why));
}

int main(void)
{
	static struct CMUnitTest tests[N(cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, &cases[i] };
	tests[n++] =
	    (struct CMUnitTest){ "issuer domain of a value", test_issuer_of, NULL, NULL, NULL };
	tests[n++] =
	    (struct CMUnitTest){ "explanation truncated safely", test_tiny_why, NULL, NULL, NULL };
	return _cmocka_run_group_tests("caa", tests, n, NULL, NULL);
}
