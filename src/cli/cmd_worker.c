/*
 * cmd_worker.c - `certdesk worker`: the reissue pipeline's workers alone (no
 * portal), for extra nodes or for a run that stops when every order is done.
 * SIGINT/SIGTERM stop it after the current steps, leases given back.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "worker/worker.h"

static const char WORKER_HELP[] =
    "usage: certdesk worker [--threads N] [--until-idle]\n\n"
    "Runs the workers that take reissue orders from queued to done: preflight DNS,\n"
    "key and CSR, the ACME order at the active CA, installation on the hosting\n"
    "server, the live check, the customer's mail and the revocation of the old\n"
    "certificate. Any number of workers may run against one store; an order is\n"
    "held by one at a time (a lease), and a dead worker's orders are taken over\n"
    "when its lease expires. `certdesk serve` runs the same workers beside the\n"
    "portal.\n\n"
    "  --threads N    worker threads ([worker] threads)\n"
    "  --until-idle   exit once no order is open and no mail is waiting to be\n"
    "                 delivered (0 when the store stayed healthy)\n\n"
    "Stops on SIGINT or SIGTERM after the steps in progress.\n";

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

int cmd_worker(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "threads", required_argument, NULL, 't' },
					      { "until-idle", no_argument, NULL, 'u' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct worker_options wo = { 0 };
	struct worker_stats stats;
	struct sigaction sa;
	worker_pool_t *pool;
	struct cd_err err = { 0 };
	char url[4200];
	int opt, failures;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			wo.threads = atoi(optarg);
			if (wo.threads < 1 || wo.threads > 256)
				return cli_usage("worker", "--threads takes 1 to 256");
			break;
		case 'u':
			wo.until_idle = true;
			break;
		case 'h':
			fputs(WORKER_HELP, stdout);
			return 0;
		default:
			return cli_usage("worker", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage("worker", "unexpected argument '%s'", argv[optind]);
	if (cli_store(c, true, &err) || cli_secretbox(c, &err) ||
	    cli_store_url(c, url, sizeof(url), &err))
		return cli_fail(&err);
	wo.store_url = url;
	wo.box = c->box;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (worker_pool_start(c->cfg, &wo, &pool, &err))
		return cli_fail(&err);
	/* the main thread only watches for a signal or for the pool to go idle */
	for (;;) {
		worker_pool_stats(pool, &stats);
		if (stop_signal) {
			fprintf(stderr, "certdesk worker: stopping after the current steps\n");
			worker_pool_request_stop(pool);
			break;
		}
		if (wo.until_idle && worker_pool_stopping(pool))
			break;
		usleep(100 * 1000);
	}
	worker_pool_stats(pool, &stats);
	failures = worker_pool_join(pool);
	fprintf(stderr,
		"certdesk worker: %llu steps, %llu transitions, %llu retries, %llu lease "
		"take-overs, %llu mails sent\n",
		(unsigned long long)stats.steps, (unsigned long long)stats.transitions,
		(unsigned long long)stats.retries, (unsigned long long)stats.lease_takeovers,
		(unsigned long long)stats.mails_sent);
	return failures ? 1 : 0;
}
