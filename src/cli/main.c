/*
 * main.c - the `certdesk` program: global options, then one subcommand.
 */
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cdtime.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/secretbox.h"

struct command {
	const char *name;
	cli_cmd_fn fn;
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, "create the master key and the store (--rotate-key re-seals)" },
	{ "migrate", cmd_migrate, "bring the store's schema to this version" },
	{ "doctor", cmd_doctor, "check the config, the master key and the store" },
	{ "import", cmd_import, "import the provider's inventory (members, servers, ...)" },
	{ "campaign", cmd_campaign,
	  "reissue campaigns: create, mail, bulk reissue, pause, report" },
	{ "status", cmd_status, "show a member's certificates with their status" },
	{ "reissue", cmd_reissue, "queue a reissue of a certificate as an operator" },
	{ "orders", cmd_orders, "list, show, retry and cancel reissue orders; revocations" },
	{ "worker", cmd_worker, "run the reissue pipeline's workers (without the portal)" },
	{ "preflight", cmd_preflight,
	  "check a certificate's DNS (A/AAAA, CAA) as a reissue would" },
	{ "serve", cmd_serve, "serve the customer portal and its API (--listen ADDR:PORT)" },
	{ "api-token", cmd_api_token, "create, list and revoke members' API tokens" },
	{ "ca", cmd_ca, "list the ACME CAs; register, issue and revoke by hand" },
	{ "install", cmd_install,
	  "check hosting servers; install, roll back and probe certificates" },
	{ "mail", cmd_mail, "send a test mail, deliver the outbox, list pending or failed mail" },
	{ "operator", cmd_operator, "add, list and remove the operators of the /admin pages" },
	{ "events", cmd_events, "the audit trail: events by certificate, member, order or time" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: certdesk [--config FILE] COMMAND [ARGS]\n\n"
		   "certdesk reissues a hosting provider's certificates in bulk.\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nThe config file comes from --config or $CERTDESK_CONFIG; without one,\n"
		   "every setting has its single-machine default. 'certdesk COMMAND --help'\n"
		   "describes a command.\n");
}

int cli_fail(const struct cd_err *err)
{
	fprintf(stderr, "certdesk: %s\n", err->msg[0] ? err->msg : cd_errcode_name(err->code));
	return err->code == CD_EINVAL || err->code == CD_ECONFIG ? 2 : 1;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "certdesk %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'certdesk %s --help')\n", cmd);
	return 2;
}

int cli_store_url(struct cli *c, char *out, size_t outsz, struct cd_err *err)
{
	const char *url = cd_config_get(c->cfg, "store", "url");

	/* a relative sqlite path is relative to the config file, like every path */
	if (strncmp(url, "sqlite:", 7) == 0 && url[7] && url[7] != '/') {
		char joined[4096];
		int rc = cd_path_join(cd_config_dir(c->cfg), url + 7, joined, sizeof(joined), err);

		if (rc)
			return rc;
		if ((size_t)snprintf(out, outsz, "sqlite:%s", joined) >= outsz)
			return cd_err_set(err, CD_ELIMIT, false, "store path too long");
		return 0;
	}
	if ((size_t)snprintf(out, outsz, "%s", url) >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "[store] url too long");
	return 0;
}

int cli_store(struct cli *c, bool require_current, struct cd_err *err)
{
	struct store_options opt = { 0 };
	char url[4200];
	long busy;
	int rc;

	if (c->st)
		return 0;
	rc = cd_config_get_int(c->cfg, "store", "busy_timeout_ms", 0, 600000, &busy, err);
	if (rc)
		return rc;
	opt.busy_timeout_ms = busy;
	rc = cli_store_url(c, url, sizeof(url), err);
	if (rc)
		return rc;
	rc = store_open(url, &opt, &c->st, err);
	if (rc)
		return rc;
	{
		/* the audit trail's source of the CLI's events: the local account */
		struct passwd *pw = getpwuid(getuid());
		char source[96];

		snprintf(source, sizeof(source), "local:%s", pw ? pw->pw_name : "unknown");
		store_set_source(c->st, source);
	}
	if (require_current) {
		rc = store_require_current(c->st, err);
		if (rc) {
			store_close(c->st);
			c->st = NULL;
		}
	}
	return rc;
}

int cli_secretbox(struct cli *c, struct cd_err *err)
{
	char path[4096];
	int rc;

	if (c->box)
		return 0;
	rc = cd_config_get_path(c->cfg, "secrets", "master_key_file", path, sizeof(path), err);
	if (rc)
		return rc;
	return secretbox_load(path, &c->box, err);
}

static void set_actor(struct cli *c)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw;

	if (!who || !*who) {
		pw = getpwuid(getuid());
		who = pw ? pw->pw_name : "unknown";
	}
	snprintf(c->actor, sizeof(c->actor), "operator:%s", who);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = getenv("CERTDESK_CONFIG");
	struct cli c = { 0 };
	struct cd_err err = { 0 };
	enum cd_log_level level;
	int opt, rc;

	/* stop at the first non-option: the subcommand parses the rest */
	while ((opt = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("certdesk %s\n", CERTDESK_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* everything certdesk creates (store, keys, backups) is private to its user */
	umask(077);
	/* a peer that hangs up (CA, SMTP, a hosting server, a browser) must give
	 * an error on that connection, not kill the process */
	signal(SIGPIPE, SIG_IGN);
	if (config_path && !*config_path)
		config_path = NULL;
	if (cd_config_load(config_path, &c.cfg, &err) != 0)
		return cli_fail(&err);
	if (cd_log_level_parse(cd_config_get(c.cfg, "log", "level"), &level) == 0)
		cd_log_set_level(level);
	c.timezone = cd_config_get(c.cfg, "provider", "timezone");
	c.now = cd_time_now();
	set_actor(&c);

	rc = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind; /* argv[0] = the command's name */

			optind = 0; /* glibc: 0 starts getopt afresh for the subcommand */
			rc = commands[i].fn(&c, sub_argc, sub_argv);
			break;
		}
	}
	if (rc == -1) {
		fprintf(stderr, "certdesk: unknown command '%s'\n\n", argv[optind]);
		usage(stderr);
		rc = 2;
	}
	store_close(c.st);
	secretbox_free(c.box);
	cd_config_free(c.cfg);
	return rc;
}
