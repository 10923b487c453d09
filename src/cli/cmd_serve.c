/*
 * cmd_serve.c - `certdesk serve [--listen ADDR:PORT]`: runs the customer
 * portal (src/web) until SIGINT or SIGTERM. On one machine the workers will
 * run in this process too: see start_workers() below.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"
#include "web/web.h"
#include "worker/worker.h"

static const char SERVE_HELP[] =
    "usage: certdesk serve [--listen ADDR:PORT]\n\n"
    "Serves the customer portal (login, the certificate list, reissue, the order\n"
    "pages), the JSON API /api/v1 and /healthz on [web] listen (default\n"
    "127.0.0.1:8080), until SIGINT or SIGTERM. Behind the provider's TLS reverse\n"
    "proxy, set [web] base_url to the public https URL and [web] trusted_proxies\n"
    "to the proxy's addresses. The store must be at the current schema.\n\n"
    "The reissue workers run in the same process (see 'certdesk worker --help');\n"
    "[worker] in_serve = no leaves them to separate 'certdesk worker' processes.\n";

/*
 * The worker pool of a single machine (DESIGN.md §6) starts here, after the
 * portal listens and before serve waits for a signal; stop_workers() runs
 * before the portal stops. [worker] in_serve = no makes a portal-only node
 * (the workers then run as `certdesk worker` elsewhere).
 */
static worker_pool_t *pool;
static char pool_url[4200];

static void count_ca(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
}

static int start_workers(struct cli *c, struct cd_err *err)
{
	struct worker_options wo = { 0 };
	bool in_serve;
	int n_ca = 0, rc = cd_config_get_bool(c->cfg, "worker", "in_serve", &in_serve, err);

	if (rc || !in_serve)
		return rc;
	cd_config_each_named(c->cfg, "ca", count_ca, &n_ca);
	if (n_ca == 0) {
		cd_log(CD_LOG_WARN, "serve: no [ca NAME] in the config: orders stay queued until "
				    "a CA is configured");
		return 0;
	}
	rc = cli_secretbox(c, err);
	if (!rc)
		rc = cli_store_url(c, pool_url, sizeof(pool_url), err);
	if (rc)
		return rc;
	wo.store_url = pool_url;
	wo.box = c->box;
	return worker_pool_start(c->cfg, &wo, &pool, err);
}

static void stop_workers(struct cli *c)
{
	(void)c;
	if (!pool)
		return;
	worker_pool_request_stop(pool);
	worker_pool_join(pool);
	pool = NULL;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "listen", required_argument, NULL, 'l' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct cd_err err = { 0 };
	const char *listen = NULL;
	web_server_t *w = NULL;
	sigset_t set;
	int opt, sig = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'l')
			listen = optarg;
		else if (opt == 'h') {
			fputs(SERVE_HELP, stdout);
			return 0;
		} else
			return cli_usage("serve", "unknown option");
	}
	if (optind < argc)
		return cli_usage("serve", "unexpected argument '%s'", argv[optind]);
	/* the schema check, once; each server thread opens its own connection */
	if (cli_store(c, true, &err) != 0)
		return cli_fail(&err);
	/* block the signals before any thread starts, so that only sigwait sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (web_server_start(c->cfg, listen, &w, &err) != 0)
		return cli_fail(&err);
	if (start_workers(c, &err) != 0) {
		web_server_stop(w);
		return cli_fail(&err);
	}
	printf("certdesk: serving on %s\n", web_server_address(w));
	fflush(stdout);
	sigwait(&set, &sig);
	cd_info("serve: %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	stop_workers(c);
	web_server_stop(w);
	return 0;
}
