/*
 * cmd_reissue.c - `certdesk reissue --certificate ID`: an operator queues a
 * reissue of any certificate (whatever its status), recorded as an operator
 * event. The store refuses a second open order for the certificate.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char REISSUE_HELP[] =
    "usage: certdesk reissue --certificate ID\n\n"
    "Queues a reissue of the certificate as an operator, whatever its status (the\n"
    "portal only offers it for 'reissue'). The order is recorded with your login name\n"
    "and counts in the certificate's campaign when it has one. A certificate with an\n"
    "open order gets no second one.\n";

int cmd_reissue(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "certificate", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct store_cert_view v;
	struct eligibility e;
	struct cd_err err = { 0 };
	const char *id = NULL;
	int64_t order_id;
	bool created;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'c')
			id = optarg;
		else if (opt == 'h') {
			fputs(REISSUE_HELP, stdout);
			return 0;
		} else
			return cli_usage("reissue", "unknown option");
	}
	if (!id || optind < argc)
		return cli_usage("reissue", "give --certificate ID");
	if (cli_store(c, true, &err) || store_certificate_view(c->st, id, c->now, &v, &err))
		return cli_fail(&err);
	eligibility_of(&v.facts, &e);
	if (store_order_create(c->st, id, e.campaign_id, c->actor, NULL, c->now, &order_id,
			       &created, &err))
		return cli_fail(&err);
	printf("order %lld queued for certificate %s (%s; status was %s)\n", (long long)order_id,
	       id, v.common_name, cert_status_name(e.status));
	return 0;
}
