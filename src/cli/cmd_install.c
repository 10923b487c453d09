/*
 * cmd_install.c - `certdesk install`: an operator's tools for the hosting
 * servers: check a server's settings and its `nginx -t`, install or roll back
 * certificates by hand (the worker does the same through install.h), probe
 * what a server serves, and check its http-01 directory end to end.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "install/install.h"
#include "util/fileio.h"
#include "verify/verify.h"

#define PEM_MAX (1024 * 1024)

static void help(FILE *f)
{
	fprintf(f,
		"usage: certdesk install test --server NAME\n"
		"       certdesk install apply --server NAME FQDN FULLCHAIN KEY [FQDN FULLCHAIN "
		"KEY]...\n"
		"       certdesk install rollback --server NAME FQDN\n"
		"       certdesk install verify --server NAME --expect CERT [--roots PEM] NAME...\n"
		"       certdesk install challenge --server NAME FQDN\n\n"
		"test       shows the server's settings and runs its test command (nginx -t)\n"
		"apply      installs each site's certificate and key (files), all at once so\n"
		"           they share one test and one reload; prints each site's result\n"
		"rollback   puts back the site's previous certificate and reloads\n"
		"verify     connects to the server's TLS port with SNI for each NAME: the\n"
		"           leaf must be CERT and its chain must verify to the roots\n"
		"           ([verify] roots unless --roots)\n"
		"challenge  writes a random http-01 token in the server's challenge directory,\n"
		"           fetches it over HTTP as FQDN, and removes it\n\n"
		"The server's address and ports come from the inventory (certdesk import\n"
		"servers); the rest from [install] and [server NAME] in the config.\n"
		"Exit status: 0 when everything succeeded, 1 when something failed.\n");
}

struct server_arg {
	struct store_server_row row;
	struct install_server srv;
};

static int load_server(struct cli *c, const char *name, struct server_arg *a, struct cd_err *err)
{
	int rc = cli_store(c, true, err);

	if (rc)
		return rc;
	if ((rc = store_server_get(c->st, name, &a->row, err)))
		return rc;
	a->srv.name = a->row.server;
	a->srv.driver = a->row.driver;
	a->srv.ipv4 = a->row.ipv4;
	a->srv.ipv6 = a->row.ipv6;
	a->srv.http_port = a->row.http_port;
	a->srv.https_port = a->row.https_port;
	return 0;
}

static int do_test(struct cli *c, installer_t *in, struct server_arg *a)
{
	char out[8192], root[4096];
	struct cd_err err = { 0 };
	int rc;

	if ((rc = install_root(in, &a->srv, root, sizeof(root), &err)))
		return cli_fail(&err);
	printf("server %s: driver %s, address %s, http %d, https %d\nroot %s\n", a->row.server,
	       a->row.driver, a->row.ipv4[0] ? a->row.ipv4 : a->row.ipv6, a->row.http_port,
	       a->row.https_port, root);
	(void)c;
	rc = install_test(in, &a->srv, out, sizeof(out), &err);
	fputs(out, stdout);
	if (rc) {
		printf("test failed: %s\n", err.msg);
		return 1;
	}
	printf("test passed\n");
	return 0;
}

struct job {
	installer_t *in;
	const struct install_server *srv;
	struct install_site site;
	char *chain, *key;
	struct install_result res;
	struct cd_err err;
	int rc;
	bool started;
};

static void *run_job(void *arg)
{
	struct job *j = arg;

	j->rc = install_apply(j->in, j->srv, &j->site, &j->res, &j->err);
	return NULL;
}

static int do_apply(installer_t *in, struct server_arg *a, int argc, char **argv)
{
	size_t n = (size_t)argc / 3;
	struct job *jobs;
	pthread_t *th;
	int failed = 0;

	if (argc == 0 || argc % 3 != 0)
		return cli_usage("install", "apply wants FQDN FULLCHAIN KEY triples");
	jobs = calloc(n, sizeof(*jobs));
	th = calloc(n, sizeof(*th));
	if (!jobs || !th) {
		free(jobs);
		free(th);
		fprintf(stderr, "certdesk: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		size_t cl = 0, kl = 0;

		j->in = in;
		j->srv = &a->srv;
		j->site.fqdn = argv[3 * i];
		if (cd_file_read(argv[3 * i + 1], PEM_MAX, &j->chain, &cl, &j->err) ||
		    cd_file_read(argv[3 * i + 2], PEM_MAX, &j->key, &kl, &j->err)) {
			j->rc = -1;
			continue;
		}
		j->site.fullchain_pem = j->chain;
		j->site.fullchain_len = cl;
		j->site.key_pem = j->key;
		j->site.key_len = kl;
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].rc == 0) {
			jobs[i].started = pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0;
			if (!jobs[i].started) {
				jobs[i].rc = -1;
				snprintf(jobs[i].err.msg, sizeof(jobs[i].err.msg),
					 "cannot start a thread");
			}
		}
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (j->started)
			pthread_join(th[i], NULL);
		if (j->rc != 0) {
			printf("%s: error: %s\n", argv[3 * i], j->err.msg);
			failed++;
		} else if (j->res.failure != FAILURE_NONE) {
			printf("%s: install_failed (batch of %d): %s\n", argv[3 * i], j->res.batch,
			       j->res.detail);
			failed++;
		} else {
			printf("%s: %s (batch of %d): %s\n", argv[3 * i],
			       j->res.changed ? "installed" : "unchanged", j->res.batch,
			       j->res.detail);
		}
		if (j->key) {
			OPENSSL_cleanse(j->key, j->site.key_len);
			free(j->key);
		}
		free(j->chain);
	}
	free(jobs);
	free(th);
	return failed ? 1 : 0;
}

static int do_rollback(installer_t *in, struct server_arg *a, const char *fqdn)
{
	struct install_result res;
	struct cd_err err = { 0 };

	if (install_rollback(in, &a->srv, fqdn, &res, &err))
		return cli_fail(&err);
	printf("%s: %s\n", fqdn, res.detail);
	return res.failure == FAILURE_NONE ? 0 : 1;
}

static int do_verify(struct cli *c, struct server_arg *a, const char *expect, const char *roots,
		     int argc, char **argv)
{
	struct verify_options opt;
	struct verify_report rep;
	struct cd_err err = { 0 };
	char rootpath[4096], *pem = NULL;
	size_t len = 0;
	int rc;

	if (!expect || argc < 1)
		return cli_usage("install", "verify wants --expect CERT and at least one NAME");
	if (verify_options_load(c->cfg, &opt, rootpath, sizeof(rootpath), &err))
		return cli_fail(&err);
	if (roots)
		snprintf(rootpath, sizeof(rootpath), "%s", roots);
	if (cd_file_read(expect, PEM_MAX, &pem, &len, &err))
		return cli_fail(&err);
	rc = verify_live(&opt, a->row.ipv4[0] ? a->row.ipv4 : a->row.ipv6, a->row.https_port,
			 (const char *const *)argv, (size_t)argc, pem, len, rootpath, &rep, &err);
	free(pem);
	if (rc)
		return cli_fail(&err);
	for (size_t i = 0; i < rep.n_names; i++)
		printf("%s %s\n", rep.names[i].ok ? "live" : "NOT LIVE", rep.names[i].detail);
	return rep.ok ? 0 : 1;
}

static int do_challenge(installer_t *in, struct server_arg *a, const char *fqdn)
{
	static const char b64u[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char rnd[32];
	char token[33], keyauth[80];
	struct cd_err err = { 0 };
	int rc;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return 1;
	for (size_t i = 0; i < 32; i++)
		token[i] = b64u[rnd[i] & 63];
	token[32] = '\0';
	snprintf(keyauth, sizeof(keyauth), "%s.certdesk-self-check", token);
	if (install_challenge_put(in, &a->srv, token, keyauth, &err))
		return cli_fail(&err);
	rc = install_challenge_check(in, &a->srv, fqdn, token, keyauth, &err);
	if (rc)
		printf("challenge check failed: %s\n", err.msg);
	else
		printf("%s: http-01 answers served by %s (token %s)\n", fqdn, a->row.server, token);
	cd_err_clear(&err);
	if (install_challenge_remove(in, &a->srv, token, &err))
		fprintf(stderr, "certdesk: %s\n", err.msg);
	return rc ? 1 : 0;
}

int cmd_install(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "expect", required_argument, NULL, 'e' },
		{ "roots", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *expect = NULL, *roots = NULL, *action;
	struct server_arg a = { 0 };
	struct cd_err err = { 0 };
	installer_t *in = NULL;
	int opt, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	action = argv[1];
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "+s:e:r:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'e':
			expect = optarg;
			break;
		case 'r':
			roots = optarg;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			return cli_usage("install", "unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (!server)
		return cli_usage("install", "--server NAME is required");
	if (load_server(c, server, &a, &err))
		return cli_fail(&err);
	if (install_new(c->cfg, &in, &err))
		return cli_fail(&err);
	if (strcmp(action, "test") == 0)
		rc = do_test(c, in, &a);
	else if (strcmp(action, "apply") == 0)
		rc = do_apply(in, &a, argc, argv);
	else if (strcmp(action, "rollback") == 0 && argc == 1)
		rc = do_rollback(in, &a, argv[0]);
	else if (strcmp(action, "verify") == 0)
		rc = do_verify(c, &a, expect, roots, argc, argv);
	else if (strcmp(action, "challenge") == 0 && argc == 1)
		rc = do_challenge(in, &a, argv[0]);
	else
		rc = cli_usage("install", "unknown action or wrong arguments: %s", action);
	install_free(in);
	return rc;
}
