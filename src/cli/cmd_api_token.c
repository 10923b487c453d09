/*
 * cmd_api_token.c - `certdesk api-token create|list|revoke --member ID`: the
 * bearer tokens a member's control panel uses for /api/v1. A token is shown
 * once, at creation; the store keeps only its SHA-256.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cdtime.h"

static const char TOKEN_HELP[] =
    "usage: certdesk api-token create --member ID [--label TEXT]\n"
    "       certdesk api-token list --member ID\n"
    "       certdesk api-token revoke --member ID --id N\n\n"
    "Tokens authorize the provider's control panel to act for one member through\n"
    "/api/v1 (Authorization: Bearer TOKEN): list the member's certificates, create\n"
    "a reissue, read an order. 'create' prints the token once; only its hash is\n"
    "stored, so a lost token is revoked and replaced, never shown again.\n";

static int print_token(const struct store_web_token *t, void *arg)
{
	char created[21], used[21], revoked[21];

	(void)arg;
	cd_time_format_utc(t->created_at, created);
	if (t->last_used_at)
		cd_time_format_utc(t->last_used_at, used);
	else
		snprintf(used, sizeof(used), "never");
	if (t->revoked_at)
		cd_time_format_utc(t->revoked_at, revoked);
	printf("%" PRId64 "\t%s\tcreated %s\tlast used %s%s%s\n", t->token_id, t->label, created,
	       used, t->revoked_at ? "\trevoked " : "", t->revoked_at ? revoked : "");
	return 0;
}

static int create(struct cli *c, const char *member, const char *label)
{
	struct cd_err err = { 0 };
	unsigned char raw[32], d[crypto_hash_sha256_BYTES];
	char token[4 + 48], hash[65];
	bool exists = false;
	int64_t id;
	int rc;

	if (store_member_exists(c->st, member, &exists, &err) != 0)
		return cli_fail(&err);
	if (!exists)
		return cli_fail(&(struct cd_err){ .code = CD_ENOTFOUND,
						  .msg = "no such member (import it first)" });
	randombytes_buf(raw, sizeof(raw));
	memcpy(token, "cdm_", 4);
	sodium_bin2base64(token + 4, sizeof(token) - 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(d, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hash, sizeof(hash), d, sizeof(d));
	rc = store_web_token_create(c->st, member, hash, label ? label : "", c->now, &id, &err);
	if (rc == 0) {
		printf("%s\n", token);
		fprintf(stderr,
			"certdesk: token %" PRId64 " for member %s: keep it now, it is not "
			"shown again\n",
			id, member);
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(token, sizeof(token));
	return rc ? cli_fail(&err) : 0;
}

int cmd_api_token(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "member", required_argument, NULL, 'm' },
					      { "label", required_argument, NULL, 'l' },
					      { "id", required_argument, NULL, 'i' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct cd_err err = { 0 };
	const char *member = NULL, *label = NULL, *id = NULL, *verb;
	char *end;
	int opt;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(TOKEN_HELP, stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage("api-token", "give create, list or revoke");
	verb = argv[1];
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			member = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'h':
			fputs(TOKEN_HELP, stdout);
			return 0;
		default:
			return cli_usage("api-token", "unknown option");
		}
	}
	if (!member || optind < argc)
		return cli_usage("api-token", "give --member ID");
	if (label && strlen(label) > 200)
		return cli_usage("api-token", "--label is at most 200 bytes");
	if (sodium_init() < 0 || cli_store(c, true, &err) != 0)
		return cli_fail(&err);
	if (!strcmp(verb, "create"))
		return create(c, member, label);
	if (!strcmp(verb, "list"))
		return store_web_tokens_each(c->st, member, print_token, NULL, &err)
			   ? cli_fail(&err)
			   : 0;
	if (!strcmp(verb, "revoke")) {
		long long n = id ? strtoll(id, &end, 10) : 0;

		if (!id || *end || n <= 0)
			return cli_usage("api-token", "give --id N (from 'api-token list')");
		if (store_web_token_revoke(c->st, member, n, c->now, &err) != 0)
			return cli_fail(&err);
		printf("token %lld of member %s revoked\n", n, member);
		return 0;
	}
	return cli_usage("api-token", "unknown action '%s' (create, list, revoke)", verb);
}
