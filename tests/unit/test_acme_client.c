/*
 * test_acme_client.c - the client's settings and how CA answers become errors,
 * without a network: [ca NAME] and [acme] from a config file (named cases),
 * and HTTP status + problem document + Retry-After -> code, retryable, wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "acme/acme_priv.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static cd_config_t *config_of(const char *text)
{
	char path[] = "/tmp/test_acme_client.XXXXXX";
	int fd = mkstemp(path);
	cd_config_t *cfg = NULL;
	struct cd_err err = { 0 };

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (cd_config_load(path, &cfg, &err) != 0)
		fail_msg("config: %s", err.msg);
	unlink(path);
	return cfg;
}

struct cfg_case {
	const char *name, *ini, *ca;
	int ok;
	const char *want; /* in the message, or a field check below */
};
static const struct cfg_case cfg_cases[] = {
	{ "a minimal CA", "[ca p]\ndirectory = https://ca.test/dir\n", "p", 1, NULL },
	{ "every key",
	  "[ca j]\ndirectory = https://ca.test/dir\nca_file = ca.pem\neab_kid = k1\n"
	  "eab_hmac_file = hmac\nkey_type = rsa3072\naccount_key_type = p384\n"
	  "contact = mailto:ops@example.test\n"
	  "validity = request\npreferred_chain = Root X2\n",
	  "j", 1, NULL },
	{ "no section", "[ca p]\ndirectory = https://ca.test/dir\n", "q", 0,
	  "directory is not set" },
	{ "http directory", "[ca p]\ndirectory = http://ca.test/dir\n", "p", 0, "https" },
	{ "bad validity", "[ca p]\ndirectory = https://ca.test/dir\nvalidity = maybe\n", "p", 0,
	  "validity" },
	{ "bad key type", "[ca p]\ndirectory = https://ca.test/dir\nkey_type = dsa\n", "p", 0,
	  "key_type (certificate keys)" },
	{ "bad account key type",
	  "[ca p]\ndirectory = https://ca.test/dir\naccount_key_type = rsa1024\n", "p", 0,
	  "account_key_type" },
	{ "the old name cert_key_type still sets certificate keys",
	  "[ca old]\ndirectory = https://ca.test/dir\ncert_key_type = p384\n", "old", 1, NULL },
	{ "key_type wins over the old name",
	  "[ca both]\ndirectory = https://ca.test/dir\ncert_key_type = p384\nkey_type = p256\n",
	  "both", 1, NULL },
	{ "a bad old name is named as key_type",
	  "[ca p]\ndirectory = https://ca.test/dir\ncert_key_type = ed448\n", "p", 0, "key_type" },
	{ "quotes in contact", "[ca p]\ndirectory = https://ca.test/dir\ncontact = a\"b\n", "p", 0,
	  "quotes" },
};

static void test_config(void **state)
{
	const struct cfg_case *c = *state;
	cd_config_t *cfg = config_of(c->ini);
	struct acme_ca_config ca;
	struct cd_err err = { 0 };
	int rc = acme_ca_config_load(cfg, c->ca, &ca, &err);

	if ((rc == 0) != c->ok)
		fail_msg("case '%s': rc %d (%s)", c->name, rc, err.msg);
	if (rc && (err.code != CD_ECONFIG || !strstr(err.msg, c->want)))
		fail_msg("case '%s': message '%s'", c->name, err.msg);
	if (rc == 0 && strcmp(c->ca, "j") == 0) {
		assert_int_equal(ca.key_type, ACME_KEY_RSA3072);
		assert_int_equal(ca.account_key_type, ACME_KEY_P384);
		assert_true(ca.validity_request);
		assert_string_equal(ca.preferred_chain, "Root X2");
		assert_string_equal(ca.eab_kid, "k1");
		assert_true(ca.ca_file[0] == '/'); /* resolved against the config's directory */
	}
	if (rc == 0 && strcmp(c->ca, "p") == 0) {
		/* the defaults: RSA 2048 certificates (every client can use them), a
		 * P-256 account key */
		assert_int_equal(ca.key_type, ACME_KEY_RSA2048);
		assert_int_equal(ca.account_key_type, ACME_KEY_P256);
		assert_false(ca.validity_request);
	}
	if (rc == 0 && strcmp(c->ca, "old") == 0) {
		assert_int_equal(ca.key_type, ACME_KEY_P384);
		assert_int_equal(ca.account_key_type, ACME_KEY_P256);
	}
	if (rc == 0 && strcmp(c->ca, "both") == 0)
		assert_int_equal(ca.key_type, ACME_KEY_P256);
	cd_config_free(cfg);
}

static void on_problem(const char *msg, void *arg)
{
	snprintf(arg, 512, "%s", msg);
}

/* `certdesk doctor` reports the old name through cd_config_check */
static void test_deprecated_name(void **state)
{
	cd_config_t *cfg;
	char msg[512] = "";

	(void)state;
	cfg = config_of("[ca a]\ndirectory = https://a/dir\ncert_key_type = p256\n");
	assert_int_equal(cd_config_check(cfg, on_problem, msg), 1);
	assert_non_null(strstr(msg, "[ca a] cert_key_type is deprecated: rename it to key_type"));
	cd_config_free(cfg);
	cfg =
	    config_of("[ca a]\ndirectory = https://a/dir\ncert_key_type = p256\nkey_type = p384\n");
	assert_int_equal(cd_config_check(cfg, on_problem, msg), 1);
	assert_non_null(strstr(msg, "cert_key_type is deprecated and ignored: key_type is set"));
	cd_config_free(cfg);
	cfg = config_of("[ca a]\ndirectory = https://a/dir\nkey_type = p256\n"
			"account_key_type = rsa2048\n");
	assert_int_equal(cd_config_check(cfg, on_problem, msg), 0);
	cd_config_free(cfg);
}

static void test_active_ca(void **state)
{
	cd_config_t *cfg;
	char name[64];
	struct cd_err err = { 0 };

	(void)state;
	cfg = config_of("[ca only]\ndirectory = https://a/dir\n");
	assert_int_equal(acme_active_ca(cfg, name, sizeof(name), &err), 0);
	assert_string_equal(name, "only");
	cd_config_free(cfg);
	cfg = config_of("[ca a]\ndirectory = https://a/dir\n[ca b]\ndirectory = https://b/dir\n");
	assert_int_not_equal(acme_active_ca(cfg, name, sizeof(name), &err), 0);
	assert_non_null(strstr(err.msg, "active_ca"));
	cd_config_free(cfg);
	cfg = config_of("[ca a]\ndirectory = https://a/dir\n[ca b]\ndirectory = https://b/dir\n"
			"[acme]\nactive_ca = b\n");
	assert_int_equal(acme_active_ca(cfg, name, sizeof(name), &err), 0);
	assert_string_equal(name, "b");
	cd_config_free(cfg);
	cfg = config_of("[store]\nurl = sqlite:x.db\n");
	assert_int_not_equal(acme_active_ca(cfg, name, sizeof(name), &err), 0);
	assert_non_null(strstr(err.msg, "no CA configured"));
	cd_config_free(cfg);
}

struct prob_case {
	const char *name;
	long status;
	const char *body, *retry_after;
	enum cd_errcode code;
	bool retryable;
	long wait;
	enum failure_code failure;
};
static const struct prob_case prob_cases[] = {
	{ "404 malformed (Pebble's gone order) is gone", 404,
	  "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"No order found\"}", "",
	  CD_EGONE, true, 0, FAILURE_CA_ERROR },
	{ "accountDoesNotExist is gone", 400,
	  "{\"type\":\"urn:ietf:params:acme:error:accountDoesNotExist\",\"detail\":\"x\"}", "",
	  CD_EGONE, true, 0, FAILURE_CA_ERROR },
	{ "rateLimited with Retry-After 30", 429,
	  "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"slow\"}", "30",
	  CD_EPEER, true, 30, FAILURE_CA_ERROR },
	{ "503 without a body, junk Retry-After", 503, "", "later", CD_EPEER, true, 0,
	  FAILURE_CA_ERROR },
	{ "500 HTML page", 500, "<html>oops</html>", "", CD_EPEER, true, 0, FAILURE_CA_ERROR },
	{ "rejectedIdentifier is a refusal", 400,
	  "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"policy\"}", "",
	  CD_EPEER, false, 0, FAILURE_CA_REJECTED },
	{ "unauthorized (wrong EAB MAC) is a refusal", 403,
	  "{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"bad MAC\"}", "5",
	  CD_EPEER, false, 0, FAILURE_CA_REJECTED },
	{ "caa", 403, "{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":\"CAA forbids\"}",
	  "", CD_EPEER, false, 0, FAILURE_CAA_FORBIDS },
};

static void test_problem_err(void **state)
{
	const struct prob_case *c = *state;
	cd_config_t *cfg = config_of("[ca p]\ndirectory = https://ca.test/dir\n");
	acme_client_t *cl = NULL;
	struct acme_resp r = { 0 };
	struct cd_err err = { 0 };
	char type[128];
	int rc;

	assert_int_equal(acme_client_new(cfg, "p", NULL, &cl, &err), 0);
	r.status = c->status;
	r.body = (char *)c->body;
	r.len = strlen(c->body);
	snprintf(r.retry_after, sizeof(r.retry_after), "%s", c->retry_after);
	rc = acme_problem_err(cl, "https://ca.test/order/1", &r, &err);
	if (rc != -(int)c->code || err.code != c->code || err.retryable != c->retryable ||
	    err.retry_after != c->wait || acme_err_failure(&err) != c->failure)
		fail_msg("case '%s': code %d retryable %d wait %ld failure %d (%s)", c->name,
			 err.code, err.retryable, err.retry_after, acme_err_failure(&err), err.msg);
	assert_non_null(strstr(err.msg, "https://ca.test/order/1"));
	acme_err_problem_type(&err, type, sizeof(type));
	if (c->body[0] == '{') {
		assert_non_null(strstr(c->body, type));
		assert_true(type[0] != '\0');
	}
	acme_client_free(cl);
	cd_config_free(cfg);
}

int main(void)
{
	struct CMUnitTest t[N(cfg_cases) + N(prob_cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(cfg_cases); i++)
		t[n++] = (struct CMUnitTest){ cfg_cases[i].name, test_config, NULL, NULL,
					      (void *)&cfg_cases[i] };
	for (size_t i = 0; i < N(prob_cases); i++)
		t[n++] = (struct CMUnitTest){ prob_cases[i].name, test_problem_err, NULL, NULL,
					      (void *)&prob_cases[i] };
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_active_ca);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_deprecated_name);
	return _cmocka_run_group_tests("acme_client", t, n, NULL, NULL);
}
