/*
 * cmd_events.c - `certdesk events`: the audit trail. Every login, order,
 * operator action and state change is an event with its actor, time and
 * source address; this prints them for a certificate, a member, an order or
 * since a time, with times in the provider's zone (--json for scripts).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cdtime.h"

static const char EVENTS_HELP[] =
    "usage: certdesk events (--cert ID | --member ID | --order ID | --since T) [--since T]\n"
    "                       [--limit N] [--json]\n\n"
    "Prints the audit trail, oldest first: logins (ok and failed), logouts,\n"
    "orders and every state change, operator actions, imports and campaigns, each\n"
    "with its time (in the provider's time zone), actor, source and what changed.\n\n"
    "  --cert ID     events of one certificate (its orders included)\n"
    "  --member ID   the member's own acts (logins, reissues) and its certificates'\n"
    "  --order ID    events of one order\n"
    "  --since T     from T on: 2026-12-01T09:00:00+09:00, a day 2026-12-01 in the\n"
    "                provider's zone, or an age: 30m, 12h, 7d\n"
    "  --limit N     at most N events\n"
    "  --json        one JSON array of objects (at, at_unix, actor, source, kind,\n"
    "                order_id, certificate_id, campaign_id, from, to, detail)\n\n"
    "The source is the portal client's address (behind [web] trusted_proxies, the\n"
    "forwarded one), local:USER for the CLI, node:NAME for a worker.\n";

struct printer {
	struct cli *c;
	json_t *arr; /* --json */
	long n;
	struct cd_err *err;
};

/* The zone's offset at t, remembered for the 15-minute slot of UTC it falls in
 * (every zone change since 1970 falls on such a boundary): cd_tz_offset reads
 * the zone under a process-wide lock, too slow for 100,000 events. */
static int zone_offset(const char *zone, int64_t t, int *off, struct cd_err *err)
{
	static int64_t slot = INT64_MIN;
	static int cached;
	int64_t s = t >= 0 ? t / 900 : -((-t + 899) / 900);
	int rc;

	if (s == slot) {
		*off = cached;
		return 0;
	}
	rc = cd_tz_offset(zone, t, off, err);
	if (!rc) {
		slot = s;
		cached = *off;
	}
	return rc;
}

/* "2026-12-07 18:04:05 +09:00" and "2026-12-07T18:04:05+09:00" of t in the zone. */
static int local_time(const char *zone, int64_t t, char text[64], char rfc[64], struct cd_err *err)
{
	struct cd_date d;
	int64_t local, days, secs;
	int off, rc = zone_offset(zone, t, &off, err);
	char sign;
	int aoff;

	if (rc)
		return rc;
	sign = off < 0 ? '-' : '+';
	aoff = off < 0 ? -off : off;
	local = t + off;
	days = local >= 0 ? local / CD_SECS_PER_DAY
			  : -((-local + CD_SECS_PER_DAY - 1) / CD_SECS_PER_DAY);
	secs = local - days * CD_SECS_PER_DAY;
	cd_civil_from_days(days, &d);
	snprintf(text, 64, "%04d-%02d-%02d %02d:%02d:%02d %c%02d:%02d", d.year % 10000, d.month,
		 d.day, (int)(secs / 3600), (int)(secs % 3600 / 60), (int)(secs % 60), sign,
		 aoff / 3600, aoff % 3600 / 60);
	snprintf(rfc, 64, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", d.year % 10000, d.month,
		 d.day, (int)(secs / 3600), (int)(secs % 3600 / 60), (int)(secs % 60), sign,
		 aoff / 3600, aoff % 3600 / 60);
	return 0;
}

/* A value for the terminal: control characters shown as '?' (details carry
 * peers' messages and typed member ids). */
static void put_clean(const char *s, const char *none)
{
	if (!s || !*s) {
		fputs(none, stdout);
		return;
	}
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int print_one(const struct store_event *e, void *arg)
{
	struct printer *p = arg;
	char text[64], rfc[64];
	int rc = local_time(p->c->timezone, e->at, text, rfc, p->err);

	if (rc)
		return rc;
	p->n++;
	if (p->arr) {
		json_t *o = json_pack("{ss sI ss ss* ss}", "at", rfc, "at_unix", (json_int_t)e->at,
				      "actor", e->actor ? e->actor : "", "source", e->source,
				      "kind", e->kind ? e->kind : "");

		if (!o)
			return cd_err_set(p->err, CD_ENOMEM, false, "out of memory");
		if (e->order_id)
			json_object_set_new(o, "order_id", json_integer(e->order_id));
		if (e->certificate_id)
			json_object_set_new(o, "certificate_id", json_string(e->certificate_id));
		if (e->campaign_id)
			json_object_set_new(o, "campaign_id", json_integer(e->campaign_id));
		if (e->from_state)
			json_object_set_new(o, "from", json_string(e->from_state));
		if (e->to_state)
			json_object_set_new(o, "to", json_string(e->to_state));
		if (e->detail)
			json_object_set_new(o, "detail", json_string(e->detail));
		json_array_append_new(p->arr, o);
		return 0;
	}
	printf("%s  ", text);
	put_clean(e->actor, "-");
	fputs("  from ", stdout);
	put_clean(e->source, "(not recorded)");
	fputs("  ", stdout);
	put_clean(e->kind, "-");
	if (e->order_id)
		printf("  order %lld", (long long)e->order_id);
	if (e->certificate_id) {
		fputs("  certificate ", stdout);
		put_clean(e->certificate_id, "");
	}
	if (e->from_state || e->to_state) {
		fputs("  ", stdout);
		put_clean(e->from_state, "");
		fputs(e->from_state ? " -> " : "-> ", stdout);
		put_clean(e->to_state, "");
	}
	if (e->detail && *e->detail) {
		fputs("  ", stdout);
		put_clean(e->detail, "");
	}
	putchar('\n');
	return 0;
}

/* --since: a timestamp with its offset, a day in the provider's zone, or an age. */
static int parse_since(struct cli *c, const char *s, int64_t *out, struct cd_err *err)
{
	size_t n = strlen(s);
	struct cd_date d;
	char *end;

	if (n >= 2 && n <= 10 && strchr("mhd", s[n - 1]) && s[0] >= '0' && s[0] <= '9') {
		long long v = strtoll(s, &end, 10);
		int64_t unit = s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : CD_SECS_PER_DAY;

		if (end == s + n - 1 && v >= 0 && v <= 100000) {
			*out = c->now - (int64_t)v * unit;
			return 0;
		}
	}
	if (n == 10 && cd_date_parse(s, &d, NULL) == 0)
		return cd_tz_local_midnight(c->timezone, &d, out, err);
	if (cd_timestamp_parse(s, out, NULL) == 0)
		return 0;
	return cd_err_set(
	    err, CD_EINVAL, false,
	    "--since '%.80s' is not a time with its offset "
	    "(2026-12-01T09:00:00+09:00), a day (2026-12-01) or an age (30m, 12h, 7d)",
	    s);
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-_.@") == n;
}

int cmd_events(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "cert", required_argument, NULL, 'c' },
					      { "certificate", required_argument, NULL, 'c' },
					      { "member", required_argument, NULL, 'm' },
					      { "order", required_argument, NULL, 'o' },
					      { "since", required_argument, NULL, 's' },
					      { "limit", required_argument, NULL, 'l' },
					      { "json", no_argument, NULL, 'j' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct store_events_filter f = { 0 };
	struct cd_err err = { 0 };
	struct printer p = { .c = c, .err = &err };
	const char *since = NULL;
	bool json = false;
	char *end;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (!id_ok(optarg))
				return cli_usage("events", "--cert '%.80s' is not a certificate id",
						 optarg);
			f.certificate_id = optarg;
			break;
		case 'm':
			if (!id_ok(optarg))
				return cli_usage("events", "--member '%.80s' is not a member id",
						 optarg);
			f.member_id = optarg;
			break;
		case 'o': {
			long long v = strtoll(optarg, &end, 10);

			if (!*optarg || *end || v <= 0)
				return cli_usage("events", "--order '%.80s' is not an order number",
						 optarg);
			f.order_id = v;
			break;
		}
		case 's':
			since = optarg;
			break;
		case 'l': {
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v <= 0 || v > 10000000)
				return cli_usage(
				    "events", "--limit '%.80s' is not a number of events", optarg);
			f.limit = (int)v;
			break;
		}
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(EVENTS_HELP, stdout);
			return 0;
		default:
			fputs(EVENTS_HELP, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return cli_usage("events", "unexpected argument '%.80s'", argv[optind]);
	if (!f.certificate_id && !f.member_id && !f.order_id && !since)
		return cli_usage("events",
				 "say which events: --cert, --member, --order or --since");
	if (since && (rc = parse_since(c, since, &f.since, &err)) != 0)
		return cli_usage("events", "%s", err.msg);
	rc = cli_store(c, true, &err);
	if (rc)
		return cli_fail(&err);
	if (json && !(p.arr = json_array()))
		return cli_fail(&(struct cd_err){ .code = CD_ENOMEM, .msg = "out of memory" });
	rc = store_events_query(c->st, &f, print_one, &p, &err);
	if (!rc && p.arr) {
		rc = json_dumpf(p.arr, stdout, JSON_INDENT(2)) == 0 ? 0 : -CD_EIO;
		putchar('\n');
		if (rc)
			cd_err_set(&err, CD_EIO, false, "cannot write the JSON");
	}
	json_decref(p.arr);
	if (rc)
		return cli_fail(&err);
	if (!json && p.n == 0)
		fprintf(stderr, "certdesk events: no events match\n");
	return 0;
}
