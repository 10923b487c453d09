/*
 * cmd_operator.c - `certdesk operator add|list|remove`: the accounts that log
 * in to the operator pages at /admin. Passwords are hashed with argon2id at
 * the members' parameters; only the hash is stored.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cdtime.h"
#include "util/fileio.h"

/* the members' argon2id parameters (src/cli/import_rows.c, src/web/web_priv.h) */
#define OP_OPSLIMIT	2
#define OP_MEMLIMIT	(19u * 1024u * 1024u)
#define OP_PASSWORD_MIN 12
#define OP_PASSWORD_MAX 1024
#define OP_NAME_MAX	64

static const char OPERATOR_HELP[] =
    "usage: certdesk operator add NAME --role admin|viewer [--display-name TEXT]\n"
    "                             [--password-file FILE]\n"
    "       certdesk operator list\n"
    "       certdesk operator remove NAME\n\n"
    "Operators log in at /admin/login. An admin may retry and cancel orders; a\n"
    "viewer sees every page but acts on nothing. The password is read from the\n"
    "first line of --password-file, else asked twice on the terminal (or read as\n"
    "one line from standard input when there is no terminal); at least 12\n"
    "characters. 'remove' deletes the operator and ends its sessions.\n";

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '@'))
			return false;
	}
	return true;
}

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* One line from the terminal without echo. */
static int ask(FILE *tty, const char *prompt, char *out, size_t outsz)
{
	struct termios old, quiet;
	bool echo_off = tcgetattr(fileno(tty), &old) == 0;
	int rc = 0;

	fputs(prompt, stderr);
	fflush(stderr);
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (!fgets(out, (int)outsz, tty))
		rc = -1;
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', stderr);
	chomp(out);
	return rc;
}

static int read_password(const char *file, char *out, size_t outsz, struct cd_err *err)
{
	char again[OP_PASSWORD_MAX + 2];
	FILE *tty;
	int rc = 0;

	if (file) {
		char *buf = NULL;
		size_t len = 0;

		rc = cd_file_read(file, 64 * 1024, &buf, &len, err);
		if (rc)
			return rc;
		snprintf(out, outsz, "%.*s", (int)strcspn(buf, "\r\n"), buf);
		sodium_memzero(buf, len);
		free(buf);
	} else if (isatty(STDIN_FILENO) && (tty = fopen("/dev/tty", "r+"))) {
		if (ask(tty, "password: ", out, outsz) != 0 ||
		    ask(tty, "password again: ", again, sizeof(again)) != 0)
			rc = cd_err_set(err, CD_EINVAL, false, "no password given");
		else if (strcmp(out, again) != 0)
			rc = cd_err_set(err, CD_EINVAL, false, "the two passwords differ");
		sodium_memzero(again, sizeof(again));
		fclose(tty);
	} else if (!fgets(out, (int)outsz, stdin)) {
		rc = cd_err_set(err, CD_EINVAL, false, "no password on standard input");
	} else {
		chomp(out);
	}
	if (!rc && strlen(out) < OP_PASSWORD_MIN)
		rc = cd_err_set(err, CD_EINVAL, false,
				"the password is too short: at least %d characters",
				OP_PASSWORD_MIN);
	if (!rc && strlen(out) > OP_PASSWORD_MAX)
		rc = cd_err_set(err, CD_EINVAL, false,
				"the password is too long: at most %d characters", OP_PASSWORD_MAX);
	return rc;
}

static int add(struct cli *c, const char *name, const char *role, const char *display,
	       const char *pwfile)
{
	struct cd_err err = { 0 };
	char pw[OP_PASSWORD_MAX + 2] = "", phc[crypto_pwhash_STRBYTES];
	int rc;

	if (sodium_init() < 0)
		return cli_fail(
		    &(struct cd_err){ .code = CD_ECRYPTO, .msg = "libsodium cannot start" });
	rc = read_password(pwfile, pw, sizeof(pw), &err);
	if (!rc && crypto_pwhash_argon2id_str(phc, pw, strlen(pw), OP_OPSLIMIT, OP_MEMLIMIT) != 0)
		rc = cd_err_set(&err, CD_ENOMEM, false, "out of memory hashing the password");
	sodium_memzero(pw, sizeof(pw));
	/* the account and its event in one transaction */
	if (!rc)
		rc = store_begin(c->st, &err);
	if (!rc) {
		rc = store_operator_add(c->st, name, display ? display : name, role, phc, c->now,
					&err);
		if (!rc)
			rc = store_event_add(c->st,
					     &(struct store_event){ .at = c->now,
								    .actor = c->actor,
								    .kind = "operator.add",
								    .detail = name },
					     &err);
		if (!rc)
			rc = store_commit(c->st, &err);
		else
			store_rollback(c->st);
	}
	sodium_memzero(phc, sizeof(phc));
	if (rc)
		return cli_fail(&err);
	printf("operator %s added (%s)\n", name, role);
	return 0;
}

static int print_operator(const struct store_operator_row *o, void *arg)
{
	char created[21];

	(void)arg;
	cd_time_format_utc(o->created_at, created);
	printf("%-24s %-8s %-20s %s%s\n", o->operator_id, o->role, created, o->display_name,
	       o->disabled_at ? " (disabled)" : "");
	return 0;
}

int cmd_operator(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "role", required_argument, NULL, 'r' },
					      { "display-name", required_argument, NULL, 'd' },
					      { "password-file", required_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct cd_err err = { 0 };
	const char *role = NULL, *display = NULL, *pwfile = NULL, *sub, *name = NULL;
	int opt, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(OPERATOR_HELP, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	/* the name comes right after add/remove, before any option */
	if ((strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) && argc > 2 &&
	    argv[2][0] != '-') {
		name = argv[2];
		optind = 3;
	}
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			role = optarg;
			break;
		case 'd':
			display = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 'h':
			fputs(OPERATOR_HELP, stdout);
			return 0;
		default:
			return cli_usage("operator", "unknown option");
		}
	}
	if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
		if (!name || optind != argc)
			return cli_usage("operator", "%s takes one operator name, then options",
					 sub);
		if (!name_ok(name))
			return cli_usage("operator",
					 "'%s' is not an operator name (letters, digits, - _ . @; "
					 "at most 64)",
					 name);
	} else if (optind != argc) {
		return cli_usage("operator", "unexpected argument '%s'", argv[optind]);
	}
	if (strcmp(sub, "add") == 0) {
		if (!role || (strcmp(role, "admin") != 0 && strcmp(role, "viewer") != 0))
			return cli_usage("operator", "add needs --role admin or --role viewer");
		if (display && (strlen(display) == 0 || strlen(display) > 255))
			return cli_usage("operator", "--display-name takes 1 to 255 bytes");
	} else if (role || display || pwfile) {
		return cli_usage("operator",
				 "--role, --display-name and --password-file go with add");
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "remove") != 0)
		return cli_usage("operator", "unknown subcommand '%s'", sub);
	if (cli_store(c, true, &err))
		return cli_fail(&err);
	if (strcmp(sub, "add") == 0)
		return add(c, name, role, display, pwfile);
	if (strcmp(sub, "list") == 0) {
		printf("%-24s %-8s %-20s %s\n", "operator", "role", "created (UTC)", "name");
		rc = store_operators_each(c->st, print_operator, NULL, &err);
		return rc ? cli_fail(&err) : 0;
	}
	rc = store_operator_remove(c->st, name, &err);
	if (!rc)
		rc = store_event_add(c->st,
				     &(struct store_event){ .at = c->now,
							    .actor = c->actor,
							    .kind = "operator.remove",
							    .detail = name },
				     &err);
	if (rc)
		return cli_fail(&err);
	printf("operator %s removed\n", name);
	return 0;
}
