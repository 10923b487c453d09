/*
 * cmd_orders.c - `certdesk orders list|show|retry|cancel|revocations`: what
 * operators need to follow reissue orders and act on the ones that stopped.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cdtime.h"

static const char ORDERS_HELP[] =
    "usage: certdesk orders list [--state STATE] [--limit N]\n"
    "       certdesk orders show ID\n"
    "       certdesk orders retry ID\n"
    "       certdesk orders cancel ID\n"
    "       certdesk orders revocations\n\n"
    "list         orders, newest first (STATE: queued, preflight, ..., done, failed)\n"
    "show         one order: its state, attempts, last failure and every event\n"
    "retry        a failed order: queue a new order for its certificate, or, when it\n"
    "             failed after its certificate was issued, install that certificate\n"
    "             again (no new issuance); an order waiting to retry: make it due\n"
    "             now with its retries reset\n"
    "cancel       cancel an open order (only before finalize was sent to the CA)\n"
    "revocations  orders that ended done but whose old certificate is not revoked\n"
    "             (revocation_pending): revoke those by hand at the CA\n";

static int print_order(const struct store_order *o, void *arg)
{
	char upd[21];

	(void)arg;
	cd_time_format_utc(o->updated_at, upd);
	printf("%-8lld %-20s %-12s %-2d %-20s %s%s%s\n", (long long)o->order_id, o->certificate_id,
	       order_state_name(o->state), o->attempt, upd, o->failure,
	       o->revocation_pending ? "revocation_pending " : "",
	       o->failure_detail[0] ? o->failure_detail : "");
	return 0;
}

static void header(void)
{
	printf("%-8s %-20s %-12s %-2s %-20s %s\n", "order", "certificate", "state", "at",
	       "updated (UTC)", "failure / note");
}

static int print_event(const struct store_event *e, void *arg)
{
	char at[21];

	(void)arg;
	cd_time_format_utc(e->at, at);
	printf("  %s  %-22s %-24s %s%s%s  %s\n", at, e->kind, e->actor,
	       e->from_state ? e->from_state : "", e->from_state || e->to_state ? " -> " : "",
	       e->to_state ? e->to_state : "", e->detail ? e->detail : "");
	return 0;
}

static int parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (!*s || *end || v <= 0)
		return -1;
	*id = v;
	return 0;
}

static int show(struct cli *c, int64_t id, struct cd_err *err)
{
	struct store_order o;
	int rc = store_order_get(c->st, id, &o, err);

	if (rc)
		return rc;
	printf("order %lld for certificate %s\n", (long long)o.order_id, o.certificate_id);
	printf("  state        %s%s\n", order_state_name(o.state),
	       o.revocation_pending ? " (old certificate not revoked: revocation_pending)" : "");
	printf("  requested by %s\n", o.requested_by);
	printf("  names        %s\n", o.names[0] ? o.names : "(before preflight)");
	printf("  attempt      %d, retries %d\n", o.attempt, o.retries);
	if (o.failure[0] || o.failure_detail[0])
		printf("  last failure %s%s %s\n", o.failure,
		       o.failure_retryable ? " (retryable)" : "", o.failure_detail);
	for (int n = 1; n <= o.attempt; n++) {
		struct store_attempt a;

		if (store_attempt_get(c->st, id, n, &a, err))
			continue;
		printf("  attempt %d at %s: %s %s%s%s\n", n, a.ca, a.state,
		       a.acme_order_url[0] ? a.acme_order_url : "(no ACME order)",
		       a.failure[0] ? " - " : "", a.failure);
	}
	printf("events:\n");
	return store_events_each(c->st, NULL, id, print_event, NULL, err);
}

int cmd_orders(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "state", required_argument, NULL, 's' },
					      { "limit", required_argument, NULL, 'l' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct cd_err err = { 0 };
	const char *state = NULL, *sub;
	int limit = 100, opt, rc = 0;
	int64_t id = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(ORDERS_HELP, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': {
			enum order_state s;

			if (order_state_parse(optarg, &s, &err))
				return cli_usage("orders", "%s", err.msg);
			state = optarg;
			break;
		}
		case 'l':
			limit = atoi(optarg);
			if (limit < 1)
				return cli_usage("orders", "--limit takes a positive number");
			break;
		case 'h':
			fputs(ORDERS_HELP, stdout);
			return 0;
		default:
			return cli_usage("orders", "unknown option");
		}
	}
	if (strcmp(sub, "show") == 0 || strcmp(sub, "retry") == 0 || strcmp(sub, "cancel") == 0) {
		if (optind != argc - 1 || parse_id(argv[optind], &id))
			return cli_usage("orders", "%s takes one order number", sub);
	} else if (optind != argc) {
		return cli_usage("orders", "unexpected argument '%s'", argv[optind]);
	}
	if (cli_store(c, true, &err))
		return cli_fail(&err);
	if (strcmp(sub, "list") == 0) {
		header();
		rc = store_orders_each(c->st, state, false, limit, print_order, NULL, &err);
	} else if (strcmp(sub, "revocations") == 0) {
		header();
		rc = store_orders_each(c->st, NULL, true, limit, print_order, NULL, &err);
	} else if (strcmp(sub, "show") == 0) {
		rc = show(c, id, &err);
	} else if (strcmp(sub, "cancel") == 0) {
		rc = store_order_cancel(c->st, id, c->actor, c->now, &err);
		if (!rc)
			printf("order %lld canceled\n", (long long)id);
	} else if (strcmp(sub, "retry") == 0) {
		enum store_retry_how how;
		int64_t nid;

		rc = store_order_retry(c->st, id, c->actor, c->now, &how, &nid, &err);
		if (!rc && how == STORE_RETRY_RESUMED)
			printf("order %lld resumed: its certificate is installed again\n",
			       (long long)id);
		else if (!rc && how == STORE_RETRY_NEW_ORDER)
			printf("order %lld queued (retry of %lld)\n", (long long)nid,
			       (long long)id);
		else if (!rc)
			printf("order %lld is due now\n", (long long)id);
	} else {
		return cli_usage("orders", "unknown subcommand '%s'", sub);
	}
	return rc ? cli_fail(&err) : 0;
}
