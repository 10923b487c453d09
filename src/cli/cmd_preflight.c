/*
 * cmd_preflight.c - `certdesk preflight`: the DNS checks an order runs before
 * anything is asked of the CA, on demand, so an operator can see (and have a
 * customer fix) what would stop a reissue.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "acme/acme.h"
#include "cli/cli.h"
#include "dcv/dcv.h"

static const char PREFLIGHT_HELP[] =
    "usage: certdesk preflight --certificate ID\n"
    "       certdesk preflight --name FQDN --server NAME\n\n"
    "Asks the configured resolver ([dcv] resolver) what a reissue would ask: every\n"
    "A and AAAA record of the common name must be the hosting server's address; the\n"
    "www/bare twin is added only when it points there too; CAA must allow the active\n"
    "CA ([ca NAME] caa_identity). Prints the names the new certificate would carry, or\n"
    "what to fix. Exit status 0 when a reissue could go ahead, 1 when not, 3 when\n"
    "DNS could not answer (try again).\n";

int cmd_preflight(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "certificate", required_argument, NULL, 'c' },
					      { "name", required_argument, NULL, 'n' },
					      { "server", required_argument, NULL, 's' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *cert = NULL, *name = NULL, *server = NULL, *caa;
	struct store_server_row srow;
	struct store_cert_view v;
	struct dcv_preflight pf;
	dcv_resolver_t *r = NULL;
	struct cd_err err = { 0 };
	char ca[64], section[80];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cert = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 's':
			server = optarg;
			break;
		case 'h':
			fputs(PREFLIGHT_HELP, stdout);
			return 0;
		default:
			return cli_usage("preflight", "unknown option");
		}
	}
	if (optind < argc || (!cert && !(name && server)) || (cert && (name || server)))
		return cli_usage("preflight",
				 "give --certificate ID, or --name FQDN --server NAME");
	if (cli_store(c, true, &err))
		return cli_fail(&err);
	if (cert) {
		if (store_certificate_view(c->st, cert, c->now, &v, &err))
			return cli_fail(&err);
		if (!v.server[0]) {
			fprintf(stderr, "certdesk: certificate %s (%s) is on no hosting server\n",
				cert, v.common_name);
			return 1;
		}
		name = v.common_name;
		server = v.server;
	}
	if (store_server_get(c->st, server, &srow, &err))
		return cli_fail(&err);
	if (acme_active_ca(c->cfg, ca, sizeof(ca), &err))
		return cli_fail(&err);
	snprintf(section, sizeof(section), "ca %s", ca);
	caa = cd_config_get(c->cfg, section, "caa_identity");
	if (dcv_resolver_new(c->cfg, &r, &err))
		return cli_fail(&err);
	rc = dcv_preflight(r, name, &(struct dcv_server){ server, srow.ipv4, srow.ipv6 }, caa, &pf,
			   &err);
	dcv_resolver_free(r);
	if (rc)
		return cli_fail(&err);
	if (pf.failure != FAILURE_NONE) {
		printf("%s: %s\n", failure_code_name(pf.failure), pf.detail);
		return pf.failure == FAILURE_DNS_ERROR ? 3 : 1;
	}
	printf("ok: names %s%s%s\n", pf.names[0], pf.n_names > 1 ? " " : "",
	       pf.n_names > 1 ? pf.names[1] : "");
	if (pf.dropped[0])
		printf("left out: %s (%s)\n", pf.dropped, pf.dropped_why);
	if (!caa || !*caa)
		printf("note: CAA not checked ([%s] caa_identity is not set)\n", section);
	return 0;
}
