/*
 * cmd_admin.c - setting a machine up: `init` (master key and store, or key
 * rotation), `migrate`, and `doctor` (what is wrong, in plain words).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cdtime.h"
#include "util/secretbox.h"

static int wants_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(text, stdout);
			return 1;
		}
	return 0;
}

static const char INIT_HELP[] =
    "usage: certdesk init [--rotate-key]\n\n"
    "Creates the master key file ([secrets] master_key_file, mode 0600; an existing\n"
    "file is never overwritten) and the store ([store] url) with its schema.\n\n"
    "  --rotate-key  add a new master key, re-seal every secret in the store under\n"
    "                it, then drop the old keys from the file\n";

static int rotate_key(struct cli *c, const char *path)
{
	struct cd_err err = { 0 };
	secretbox_t *box = NULL;
	int resealed = 0, rc;

	/* old keys stay in the file until every secret is re-sealed: a crash in
	 * between leaves a file that still opens everything */
	rc = cli_store(c, true, &err);
	if (!rc)
		rc = secretbox_rotate_file(path, &err);
	if (!rc)
		rc = secretbox_load(path, &box, &err);
	if (!rc)
		rc = store_secrets_reseal(c->st, box, &resealed, &err);
	if (!rc)
		rc = secretbox_drop_old(path, secretbox_active_kid(box), &err);
	if (!rc)
		rc =
		    store_event_add(c->st,
				    &(struct store_event){
					.at = c->now, .actor = c->actor, .kind = "secrets.rotate" },
				    &err);
	if (rc) {
		secretbox_free(box);
		return cli_fail(&err);
	}
	printf("master key rotated: key %u is active; %d secret(s) re-sealed\n",
	       secretbox_active_kid(box), resealed);
	secretbox_free(box);
	return 0;
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "rotate-key", no_argument, NULL, 'r' },
					      { NULL, 0, NULL, 0 } };
	struct cd_err err = { 0 };
	char path[4096];
	bool rotate = false;
	int opt, applied, rc;

	if (wants_help(argc, argv, INIT_HELP))
		return 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'r')
			return cli_usage("init", "unknown option");
		rotate = true;
	}
	if (optind < argc)
		return cli_usage("init", "unexpected argument '%s'", argv[optind]);
	rc = cd_config_get_path(c->cfg, "secrets", "master_key_file", path, sizeof(path), &err);
	if (rc)
		return cli_fail(&err);
	if (rotate)
		return rotate_key(c, path);

	rc = secretbox_create_file(path, &err);
	if (rc)
		return cli_fail(&err);
	printf("master key created: %s (mode 0600; back it up: without it, sealed keys are lost)\n",
	       path);
	rc = cli_store(c, false, &err);
	if (!rc)
		rc = store_migrate(c->st, c->now, &applied, &err);
	if (rc)
		return cli_fail(&err);
	/* a password in the URL is not shown */
	store_url_redact(cd_config_get(c->cfg, "store", "url"), path, sizeof(path));
	printf("store ready: %s (%d migration(s) applied)\n", path, applied);
	return 0;
}

static const char MIGRATE_HELP[] =
    "usage: certdesk migrate\n\n"
    "Applies the schema migrations this version of certdesk has and the store lacks,\n"
    "each in its own transaction. Safe to run again.\n";

int cmd_migrate(struct cli *c, int argc, char **argv)
{
	struct cd_err err = { 0 };
	int applied, current, latest, rc;

	if (wants_help(argc, argv, MIGRATE_HELP))
		return 0;
	if (argc > 1)
		return cli_usage("migrate", "unexpected argument '%s'", argv[1]);
	rc = cli_store(c, false, &err);
	if (!rc)
		rc = store_migrate(c->st, c->now, &applied, &err);
	if (!rc)
		rc = store_schema_version(c->st, &current, &latest, &err);
	if (rc)
		return cli_fail(&err);
	printf("schema version %d (%d migration(s) applied)\n", current, applied);
	return 0;
}

static const char DOCTOR_HELP[] =
    "usage: certdesk doctor\n\n"
    "Checks the config file, the provider's time zone, the master key file (and its\n"
    "mode), the store and its schema, and says what is wrong in plain words.\n"
    "Exits 0 when everything is fine, 1 otherwise.\n";

struct doctor {
	int problems;
};

static void doctor_problem(const char *msg, void *arg)
{
	struct doctor *d = arg;

	printf("  problem: %s\n", msg);
	d->problems++;
}

int cmd_doctor(struct cli *c, int argc, char **argv)
{
	struct doctor d = { 0 };
	struct cd_err err = { 0 };
	char path[4096];
	int current, latest;
	long l;

	if (wants_help(argc, argv, DOCTOR_HELP))
		return 0;
	if (argc > 1)
		return cli_usage("doctor", "unexpected argument '%s'", argv[1]);

	printf("config: %s\n", cd_config_path(c->cfg) ? cd_config_path(c->cfg)
						      : "(none: every setting at its default)");
	cd_config_check(c->cfg, doctor_problem, &d);
	if (cd_tz_check(c->timezone, &err) != 0)
		doctor_problem(err.msg, &d);
	if (cd_config_get_int(c->cfg, "provider", "max_validity_days", 0, 398, &l, &err) != 0)
		doctor_problem(err.msg, &d);

	if (cd_config_get_path(c->cfg, "secrets", "master_key_file", path, sizeof(path), &err)) {
		doctor_problem(err.msg, &d);
	} else {
		printf("master key: %s\n", path);
		if (cli_secretbox(c, &err) != 0) {
			if (access(path, F_OK) != 0)
				cd_err_set(&err, CD_ENOTFOUND, false,
					   "%s: no master key file (run 'certdesk init')", path);
			doctor_problem(err.msg, &d);
		} else {
			printf("  ok: key %u active\n", secretbox_active_kid(c->box));
		}
	}

	store_url_redact(cd_config_get(c->cfg, "store", "url"), path, sizeof(path));
	printf("store: %s\n", path);
	if (cli_store(c, false, &err) != 0) {
		doctor_problem(err.msg, &d);
	} else if (store_schema_version(c->st, &current, &latest, &err) != 0) {
		doctor_problem(err.msg, &d);
	} else if (current == 0) {
		printf("  problem: the store has no schema (run 'certdesk init' or 'certdesk "
		       "migrate')\n");
		d.problems++;
	} else if (current != latest) {
		store_require_current(c->st, &err);
		doctor_problem(err.msg, &d);
	} else {
		printf("  ok: %s, schema version %d\n", store_backend(c->st), current);
	}

	if (d.problems) {
		printf("%d problem(s) found\n", d.problems);
		return 1;
	}
	printf("everything looks fine\n");
	return 0;
}
