/*
 * cmd_campaign_bulk.c - `certdesk campaign reissue|pause|resume|report`: the
 * operator reissues, at a pace, what the customers left undone, and sees how
 * far the campaign is and when it will finish (issue 12, items 2 and 3).
 *
 * reissue queues one order per certificate whose owner did not act, each due
 * at its turn in a schedule (core/forecast.c: interleaved across hosting
 * servers, at most the given rate overall and [bulk] server_orders_per_hour
 * per server); the workers also hold every newOrder to the CA's limit
 * ([ca NAME] orders_per_window per order_window_s). A pace that cannot start
 * the last order before the revocation date is refused. pause keeps a
 * campaign's queued orders from being claimed (in-flight ones go on); resume
 * spaces them again from now. report counts by the same rule as `certdesk
 * status` and forecasts the finish from the recent rate.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme.h"
#include "cli/cli.h"
#include "core/forecast.h"
#include "util/cdtime.h"

#define BATCH 200 /* orders queued per transaction */

static const char BULK_HELP[] =
    "usage: certdesk campaign reissue ID|NAME [--only-available] [--rate R] [--dry-run]\n"
    "       certdesk campaign pause ID|NAME | --all\n"
    "       certdesk campaign resume ID|NAME [--rate R] | --all\n"
    "       certdesk campaign report ID|NAME [--format table|csv|json] [--window SECONDS]\n"
    "                                        [--stuck N]\n\n"
    "reissue queues, as you, an order for each certificate of the campaign whose owner\n"
    "did not act: 'reissue' (available) ones and, unless --only-available, those not\n"
    "possible because of a server problem or a failed order (fix the cause first);\n"
    "never one with an order open, already reissued, with another certificate or a new\n"
    "setting installed by the customer, or needing a CSR. The orders are spread over\n"
    "the hosting servers and due one after another at R orders per hour (1800, 30/min,\n"
    "0.5/s; default: the active CA's limit [ca NAME] orders_per_window per\n"
    "order_window_s), at most [bulk] server_orders_per_hour per server. A pace whose\n"
    "last order would start after the revocation date is refused; after the deadline,\n"
    "warned. Workers hold every newOrder to the CA's limit whatever the pace.\n"
    "pause stops the campaign's queued orders from starting (--all: every order);\n"
    "orders already started go on. resume lets them start again, spaced from now.\n"
    "report counts the certificates by status, reason, server and failure, lists the\n"
    "oldest stuck orders, and forecasts the finish from the rate of the last\n"
    "--window seconds ([bulk] report_window_s) since the last start or resume.\n"
    "CSV cells that a spreadsheet would run as a formula are made inert.\n";

static int find_campaign(struct cli *c, const char *which, struct store_campaign *cp,
			 struct cd_err *err)
{
	char *end;
	long long id = strtoll(which, &end, 10);

	if (*which && !*end)
		return store_campaign_get(c->st, id, cp, err);
	return store_campaign_find(c->st, which, cp, err);
}

/* The active CA's newOrder limit as orders per hour (0 = none). */
static int ca_limit(struct cli *c, char *ca, size_t casz, long *limit, long *window_s,
		    double *per_hour, struct cd_err *err)
{
	char section[80];
	int rc;

	*limit = 0;
	*window_s = 0;
	*per_hour = 0;
	if (acme_active_ca(c->cfg, ca, casz, err) != 0) {
		snprintf(ca, casz, "-"); /* no CA yet: no limit to respect */
		return 0;
	}
	snprintf(section, sizeof(section), "ca %s", ca);
	rc = cd_config_get_int(c->cfg, section, "orders_per_window", 0, 1000000000, limit, err);
	if (!rc)
		rc = cd_config_get_int(c->cfg, section, "order_window_s", 1, 7 * 86400, window_s,
				       err);
	if (!rc && *limit)
		*per_hour = (double)*limit * 3600.0 / (double)*window_s;
	return rc;
}

static void when(struct cli *c, int64_t t, char out[40])
{
	char local[17];

	if (!t || cd_tz_format(c->timezone, t, local, NULL) != 0)
		snprintf(out, 40, "-");
	else
		snprintf(out, 40, "%s %s", local, c->timezone);
}

/* --- the schedule, shared by reissue and resume ------------------------------------- */

struct plan {
	char **cert; /* certificate ids */
	char **server;
	int64_t *order_id; /* resume: the queued order */
	size_t n, cap;
	size_t *server_ix, *order;
	int64_t *due;
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->cert[i]);
		free(p->server[i]);
	}
	free(p->cert);
	free(p->server);
	free(p->order_id);
	free(p->server_ix);
	free(p->order);
	free(p->due);
	memset(p, 0, sizeof(*p));
}

static int plan_add(struct plan *p, const char *cert, const char *server, int64_t order_id)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		char **nc = realloc(p->cert, cap * sizeof(*nc));

		if (!nc)
			return -CD_ENOMEM;
		p->cert = nc;
		nc = realloc(p->server, cap * sizeof(*nc));
		if (!nc)
			return -CD_ENOMEM;
		p->server = nc;
		int64_t *no = realloc(p->order_id, cap * sizeof(*no));
		if (!no)
			return -CD_ENOMEM;
		p->order_id = no;
		p->cap = cap;
	}
	p->cert[p->n] = strdup(cert);
	p->server[p->n] = strdup(server);
	p->order_id[p->n] = order_id;
	if (!p->cert[p->n] || !p->server[p->n]) {
		free(p->cert[p->n]);
		free(p->server[p->n]);
		return -CD_ENOMEM;
	}
	p->n++;
	return 0;
}

static const struct plan *sort_plan;

static int by_server(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int d = strcmp(sort_plan->server[i], sort_plan->server[j]);

	return d ? d : (i > j) - (i < j);
}

/* Server indices (sorted names, so a million orders cost n log n) and the schedule. */
static int plan_schedule(struct plan *p, int64_t start, const struct bulk_pace *pace,
			 struct cd_err *err)
{
	size_t *ix = NULL;
	int rc;

	p->server_ix = calloc(p->n ? p->n : 1, sizeof(size_t));
	p->order = calloc(p->n ? p->n : 1, sizeof(size_t));
	p->due = calloc(p->n ? p->n : 1, sizeof(int64_t));
	ix = calloc(p->n ? p->n : 1, sizeof(size_t));
	if (!p->server_ix || !p->order || !p->due || !ix) {
		free(ix);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory planning %zu orders", p->n);
	}
	for (size_t i = 0; i < p->n; i++)
		ix[i] = i;
	sort_plan = p;
	qsort(ix, p->n, sizeof(*ix), by_server);
	for (size_t k = 0, group = 0; k < p->n; k++) {
		if (k && strcmp(p->server[ix[k]], p->server[ix[k - 1]]) != 0)
			group++;
		p->server_ix[ix[k]] = group;
	}
	free(ix);
	rc = bulk_schedule(p->server_ix, p->n, start, pace, p->order, p->due, err);
	return rc;
}

/* The pace: the rate asked (or the CA's), never above the CA's limit. */
static int pace_of(struct cli *c, const char *rate_text, int64_t stored, struct bulk_pace *pace,
		   double *asked, char *ca, size_t casz, struct cd_err *err)
{
	long limit, window_s, server_rate;
	double ca_rate;
	int rc;

	memset(pace, 0, sizeof(*pace));
	rc = ca_limit(c, ca, casz, &limit, &window_s, &ca_rate, err);
	if (!rc)
		rc = cd_config_get_int(c->cfg, "bulk", "server_orders_per_hour", 0, 100000000,
				       &server_rate, err);
	if (rc)
		return rc;
	if (rate_text) {
		if ((rc = bulk_rate_parse(rate_text, asked, err)))
			return rc;
	} else if (stored > 0) {
		*asked = (double)stored;
	} else if (ca_rate > 0) {
		*asked = ca_rate;
	} else {
		return cd_err_set(err, CD_EINVAL, false,
				  "give --rate (orders per hour): CA %s has no limit set "
				  "([ca %s] orders_per_window, order_window_s)",
				  ca, ca);
	}
	pace->rate_per_hour = *asked;
	if (ca_rate > 0 && *asked > ca_rate) {
		fprintf(
		    stderr,
		    "certdesk: warning: %.0f orders/hour is faster than CA %s allows (%ld per "
		    "%ld s = %.0f/hour): paced at %.0f/hour, and workers hold every newOrder to "
		    "the limit\n",
		    *asked, ca, limit, window_s, ca_rate, ca_rate);
		pace->rate_per_hour = ca_rate;
	}
	pace->server_rate_per_hour = (double)server_rate;
	return 0;
}

/* Refuses (reissue) or warns about (resume: the orders are queued already) a
 * schedule whose last order starts after the revocation date; warns after
 * the deadline. */
static int check_dates(struct cli *c, const struct store_campaign *cp, const struct plan *p,
		       const struct bulk_pace *pace, bool refuse, struct cd_err *err)
{
	int64_t last = p->n ? p->due[p->n - 1] : c->now;
	char at[40], by[40];

	when(c, last, at);
	if (cp->revocation_at && last > cp->revocation_at) {
		double need = bulk_rate_needed((int64_t)p->n, c->now, cp->revocation_at);

		when(c, cp->revocation_at, by);
		if (refuse)
			return cd_err_set(err, CD_ELIMIT, false,
					  "at %.0f orders/hour the last of %zu orders would start "
					  "%s, after the revocation date (%s): it needs at least "
					  "%.0f orders/hour (--rate, the CA's limit); nothing was "
					  "queued",
					  pace->rate_per_hour, p->n, at, by, need);
		fprintf(
		    stderr,
		    "certdesk: warning: at %.0f orders/hour the last of %zu queued orders starts "
		    "%s, after the revocation date (%s): resume with --rate %.0f or more\n",
		    pace->rate_per_hour, p->n, at, by, need);
		return 0;
	}
	if (last > cp->deadline_at) {
		when(c, cp->deadline_at, by);
		fprintf(
		    stderr,
		    "certdesk: warning: at %.0f orders/hour the last order starts %s, after the "
		    "customers' deadline (%s)%s\n",
		    pace->rate_per_hour, at, by,
		    cp->revocation_at ? "" : "; the campaign has no revocation date");
	}
	return 0;
}

/* --- reissue ------------------------------------------------------------------------ */

struct pick {
	struct cli *c;
	struct cd_err *err;
	int64_t campaign_id;
	bool only_available;
	struct plan plan;
	long available, retry, in_progress, not_needed, elsewhere, customer, csr;
};

static int pick_one(const char *certificate_id, void *arg)
{
	struct pick *k = arg;
	struct store_cert_view v;
	struct eligibility e;
	unsigned blocked = REASON_FOREIGN_CERTIFICATE | REASON_NEW_SETTING;
	int rc;

	rc = store_certificate_view(k->c->st, certificate_id, k->c->now, &v, k->err);
	if (rc)
		return rc;
	eligibility_of(&v.facts, &e);
	switch (e.status) {
	case CERT_STATUS_IN_PROGRESS:
		k->in_progress++;
		return 0;
	case CERT_STATUS_NOT_NEEDED:
		k->not_needed++;
		return 0;
	case CERT_STATUS_IMPOSSIBLE:
		/* the customer's own choice, or a CSR procedure: never by bulk */
		if (e.reasons & REASON_CSR_REQUIRED) {
			k->csr++;
			return 0;
		}
		if (k->only_available || (e.reasons & blocked)) {
			k->customer++;
			return 0;
		}
		break;
	default:
		break;
	}
	if (e.campaign_id && e.campaign_id != k->campaign_id) {
		k->elsewhere++; /* counts in a campaign with an earlier deadline */
		return 0;
	}
	if (e.status == CERT_STATUS_AVAILABLE)
		k->available++;
	else
		k->retry++;
	if (plan_add(&k->plan, certificate_id, v.server, 0))
		return cd_err_set(k->err, CD_ENOMEM, false, "out of memory");
	return 0;
}

static int queue_orders(struct cli *c, const struct store_campaign *cp, struct plan *p,
			const struct bulk_pace *pace, long *queued, long *raced, struct cd_err *err)
{
	bool *skip = calloc(p->n ? p->n : 1, sizeof(*skip));
	int rc = 0;

	if (!skip)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	*queued = *raced = 0;
	for (size_t k = 0; k < p->n;) {
		size_t end = k + BATCH < p->n ? k + BATCH : p->n;
		long made = 0;
		bool redo = false;

		if ((rc = store_begin(c->st, err)))
			break;
		if (k == 0 && (rc = store_bulk_set(c->st, cp->campaign_id,
						   (int64_t)(pace->rate_per_hour + 0.5), c->now,
						   c->actor, err)))
			goto fail;
		for (size_t j = k; j < end; j++) {
			size_t i = p->order[j];
			int64_t order_id;
			bool created;

			if (skip[j])
				continue;
			rc = store_order_create(c->st, p->cert[i], cp->campaign_id, c->actor, NULL,
						c->now, &order_id, &created, err);
			if (rc == -CD_ECONFLICT || rc == -CD_ESTATE || rc == -CD_ENOTFOUND) {
				/* a customer was quicker, or the certificate changed: the
				 * batch was rolled back with it; again without this one */
				skip[j] = true;
				(*raced)++;
				redo = true;
				break;
			}
			if (rc)
				goto fail;
			if ((rc = store_bulk_schedule(c->st, order_id, p->due[j], err)))
				goto fail;
			made++;
		}
		if (redo)
			continue;
		if ((rc = store_commit(c->st, err)))
			break;
		*queued += made;
		k = end;
	}
	free(skip);
	return rc;
fail:
	store_rollback(c->st);
	free(skip);
	return rc;
}

static int bulk_reissue(struct cli *c, const char *which, bool only_available, const char *rate,
			bool dry_run)
{
	struct store_campaign cp;
	struct pick k = { .c = c, .only_available = only_available };
	struct bulk_pace pace;
	struct cd_err err = { 0 };
	char ca[64], first[40], last[40], detail[256];
	int64_t start, last_due;
	double asked;
	long queued = 0, raced = 0;
	int rc;

	k.err = &err;
	if ((rc = cli_store(c, true, &err)) || (rc = find_campaign(c, which, &cp, &err)))
		return cli_fail(&err);
	if (strcmp(cp.state, "active") != 0)
		return cli_usage("campaign", "campaign %lld is %s", (long long)cp.campaign_id,
				 cp.state);
	k.campaign_id = cp.campaign_id;
	if ((rc = pace_of(c, rate, 0, &pace, &asked, ca, sizeof(ca), &err)))
		goto out;
	if ((rc = store_campaign_targets_each(c->st, cp.campaign_id, pick_one, &k, &err)))
		goto out;
	/* a second run queues after what the first one queued */
	if ((rc = store_bulk_last_due(c->st, cp.campaign_id, &last_due, &err)))
		goto out;
	start =
	    last_due >= c->now ? last_due + (int64_t)(3600.0 / pace.rate_per_hour + 0.999) : c->now;
	if ((rc = plan_schedule(&k.plan, start, &pace, &err)))
		goto out;
	printf("campaign %lld '%s': %zu certificate(s) to reissue (%ld available, %ld not "
	       "possible before: server problem or failed order)\n",
	       (long long)cp.campaign_id, cp.name, k.plan.n, k.available, k.retry);
	printf("left alone: %ld with an order open, %ld not needed, %ld blocked by the "
	       "customer's own certificate or setting%s, %ld needing a CSR, %ld counting in "
	       "another campaign\n",
	       k.in_progress, k.not_needed, k.customer, only_available ? " or not available" : "",
	       k.csr, k.elsewhere);
	if (k.plan.n == 0) {
		printf("nothing to queue\n");
		goto out;
	}
	if ((rc = check_dates(c, &cp, &k.plan, &pace, true, &err)))
		goto out;
	when(c, k.plan.due[0], first);
	when(c, k.plan.due[k.plan.n - 1], last);
	printf("pace: %.0f orders/hour%s; the first due %s, the last %s\n", pace.rate_per_hour,
	       pace.server_rate_per_hour > 0 ? " (and the per-server limit)" : "", first, last);
	if (dry_run) {
		printf("dry run: nothing was queued\n");
		goto out;
	}
	if ((rc = queue_orders(c, &cp, &k.plan, &pace, &queued, &raced, &err)))
		goto out;
	snprintf(detail, sizeof(detail),
		 "{\"queued\":%ld,\"rate_per_hour\":%.0f,\"only_available\":%s,\"ca\":\"%s\"}",
		 queued, pace.rate_per_hour, only_available ? "true" : "false", ca);
	rc = store_event_add(c->st,
			     &(struct store_event){ .at = c->now,
						    .actor = c->actor,
						    .kind = "campaign.reissue",
						    .campaign_id = cp.campaign_id,
						    .detail = detail },
			     &err);
	if (rc)
		goto out;
	printf("queued %ld order(s)%s\n", queued, raced ? "" : "");
	if (raced)
		printf("%ld certificate(s) got an order meanwhile (a customer was quicker): left "
		       "alone\n",
		       raced);
out:
	plan_free(&k.plan);
	return rc ? cli_fail(&err) : 0;
}

/* --- pause and resume ---------------------------------------------------------------- */

static int campaign_event(struct cli *c, const char *kind, int64_t campaign_id, const char *detail,
			  struct cd_err *err)
{
	return store_event_add(c->st,
			       &(struct store_event){ .at = c->now,
						      .actor = c->actor,
						      .kind = kind,
						      .campaign_id = campaign_id,
						      .detail = detail },
			       err);
}

static int bulk_pause(struct cli *c, const char *which, bool all)
{
	struct store_campaign cp = { 0 };
	struct cd_err err = { 0 };
	bool changed;
	int rc;

	if ((rc = cli_store(c, true, &err)) || (!all && (rc = find_campaign(c, which, &cp, &err))))
		return cli_fail(&err);
	if ((rc = store_begin(c->st, &err)))
		return cli_fail(&err);
	rc = store_bulk_pause(c->st, all ? 0 : cp.campaign_id, c->actor, c->now, &changed, &err);
	if (!rc && changed)
		rc = campaign_event(c, "campaign.pause", cp.campaign_id, all ? "all" : NULL, &err);
	if (rc) {
		store_rollback(c->st);
		return cli_fail(&err);
	}
	if ((rc = store_commit(c->st, &err)))
		return cli_fail(&err);
	if (all)
		printf("%s: no queued order of any campaign starts until 'certdesk campaign "
		       "resume --all'; orders already started go on\n",
		       changed ? "paused" : "already paused");
	else
		printf("campaign %lld '%s' %s: its queued orders stay queued; orders already "
		       "started go on\n",
		       (long long)cp.campaign_id, cp.name,
		       changed ? "paused" : "was already paused");
	return 0;
}

struct respace {
	struct cli *c;
	const char *rate_text;
	struct cd_err *err;
	struct plan plan;
};

static int respace_collect(int64_t order_id, const char *certificate_id, int64_t next_run_at,
			   void *arg)
{
	struct respace *r = arg;
	struct store_cert_view v;
	int rc;

	(void)next_run_at;
	rc = store_certificate_view(r->c->st, certificate_id, r->c->now, &v, r->err);
	if (rc)
		return rc;
	if (plan_add(&r->plan, certificate_id, v.server, order_id))
		return cd_err_set(r->err, CD_ENOMEM, false, "out of memory");
	return 0;
}

/* Spaces a campaign's queued orders again from now (after a pause their due
 * times have passed: all at once would burst the CA and the servers). */
static int respace(struct cli *c, int64_t campaign_id, const char *rate_text, int64_t stored,
		   struct cd_err *err)
{
	struct respace r = { .c = c, .rate_text = rate_text, .err = err };
	struct store_campaign cp;
	struct bulk_pace pace;
	char ca[64], last[40];
	double asked;
	int rc;

	if ((rc = store_campaign_get(c->st, campaign_id, &cp, err)))
		return rc;
	if ((rc = pace_of(c, rate_text, stored, &pace, &asked, ca, sizeof(ca), err)))
		return rc;
	if ((rc = store_bulk_queued_each(c->st, campaign_id, respace_collect, &r, err)))
		goto out;
	if ((rc = plan_schedule(&r.plan, c->now, &pace, err)))
		goto out;
	if ((rc = check_dates(c, &cp, &r.plan, &pace, false, err)))
		goto out;
	if ((rc = store_begin(c->st, err)))
		goto out;
	rc = store_bulk_set(c->st, campaign_id, (int64_t)(pace.rate_per_hour + 0.5), c->now,
			    c->actor, err);
	for (size_t k = 0; !rc && k < r.plan.n; k++)
		rc = store_bulk_schedule(c->st, r.plan.order_id[r.plan.order[k]], r.plan.due[k],
					 err);
	if (rc) {
		store_rollback(c->st);
		goto out;
	}
	if ((rc = store_commit(c->st, err)))
		goto out;
	when(c, r.plan.n ? r.plan.due[r.plan.n - 1] : c->now, last);
	printf("campaign %lld '%s': %zu queued order(s) spaced at %.0f orders/hour from now; the "
	       "last due %s\n",
	       (long long)campaign_id, cp.name, r.plan.n, pace.rate_per_hour, last);
out:
	plan_free(&r.plan);
	return rc;
}

struct resume_all {
	struct cli *c;
	struct cd_err *err;
};

static int resume_one(int64_t campaign_id, int64_t rate, void *arg)
{
	struct resume_all *a = arg;

	return respace(a->c, campaign_id, NULL, rate, a->err);
}

static int bulk_resume(struct cli *c, const char *which, bool all, const char *rate)
{
	struct store_campaign cp = { 0 };
	struct store_bulk b;
	struct cd_err err = { 0 };
	bool changed;
	int rc;

	if ((rc = cli_store(c, true, &err)) || (!all && (rc = find_campaign(c, which, &cp, &err))))
		return cli_fail(&err);
	if (all && rate)
		return cli_usage("campaign", "resume --all takes no --rate (each campaign "
					     "keeps its own)");
	if (!all && (rc = store_bulk_get(c->st, cp.campaign_id, &b, &err)))
		return cli_fail(&err);
	if ((rc = store_begin(c->st, &err)))
		return cli_fail(&err);
	rc = store_bulk_resume(c->st, all ? 0 : cp.campaign_id, &changed, &err);
	if (!rc && changed)
		rc = campaign_event(c, "campaign.resume", cp.campaign_id, all ? "all" : NULL, &err);
	if (rc) {
		store_rollback(c->st);
		return cli_fail(&err);
	}
	if ((rc = store_commit(c->st, &err)))
		return cli_fail(&err);
	if (all) {
		struct resume_all a = { c, &err };

		printf("%s\n", changed ? "resumed: queued orders may start again"
				       : "there was no global pause");
		rc = store_bulk_campaigns_each(c->st, resume_one, &a, &err);
	} else {
		printf("campaign %lld '%s' %s\n", (long long)cp.campaign_id, cp.name,
		       changed ? "resumed" : "was not paused");
		if (b.paused_all)
			printf("note: the global pause (by %s) still holds every queued order: "
			       "'certdesk campaign resume --all'\n",
			       b.paused_all_by);
		if (b.rate_per_hour || rate)
			rc = respace(c, cp.campaign_id, rate, b.rate_per_hour, &err);
	}
	return rc ? cli_fail(&err) : 0;
}

/* --- report ---------------------------------------------------------------------------- */

struct tally {
	json_t *status, *stage, *reason, *server;
	int64_t n[CERT_STATUS_COUNT], total;
};

static void bump(json_t *obj, const char *key, int64_t n)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + n : n));
}

static int tally_group(const struct store_status_group *g, void *arg)
{
	struct tally *t = arg;
	const char *server = g->server[0] ? g->server : "(no site)";
	json_t *srv;

	t->n[g->status] += g->n;
	t->total += g->n;
	if (g->status == CERT_STATUS_IN_PROGRESS)
		bump(t->stage, order_state_name(g->stage), g->n);
	if (g->status == CERT_STATUS_IMPOSSIBLE && cert_reason_name(g->reason))
		bump(t->reason, cert_reason_name(g->reason), g->n);
	srv = json_object_get(t->server, server);
	if (!srv) {
		srv = json_object();
		for (int s = 0; s < CERT_STATUS_COUNT; s++)
			json_object_set_new(srv, cert_status_name(s), json_integer(0));
		json_object_set_new(t->server, server, srv);
	}
	bump(srv, cert_status_name(g->status), g->n);
	return 0;
}

static int failure_one(const char *code, int64_t n, void *arg)
{
	json_object_set_new(arg, code, json_integer(n));
	return 0;
}

struct stuck_arg {
	json_t *arr;
	int64_t now;
};

static int stuck_one(const struct store_bulk_stuck *o, void *arg)
{
	struct stuck_arg *a = arg;
	json_t *j = json_object();
	char since[21];

	cd_time_format_utc(o->updated_at, since);
	json_object_set_new(j, "order_id", json_integer(o->order_id));
	json_object_set_new(j, "certificate_id", json_string(o->certificate_id));
	json_object_set_new(j, "state", json_string(o->state));
	json_object_set_new(j, "since", json_string(since));
	json_object_set_new(j, "age_s", json_integer(a->now - o->updated_at));
	json_object_set_new(j, "retries", json_integer(o->retries));
	json_object_set_new(j, "failure", json_string(o->failure));
	json_object_set_new(j, "detail", json_string(o->failure_detail));
	json_array_append_new(a->arr, j);
	return 0;
}

static json_t *time_json(int64_t t)
{
	char buf[21];

	if (!t)
		return json_null();
	cd_time_format_utc(t, buf);
	return json_string(buf);
}

/* Everything the report shows, as one JSON object (rendered three ways). */
static int report_model(struct cli *c, const struct store_campaign *cp, long window_s, int stuck_n,
			json_t **out, struct cd_err *err)
{
	struct tally t = { 0 };
	struct stuck_arg sa = { .now = c->now };
	struct store_bulk b;
	struct forecast_in fi = { 0 };
	struct forecast f;
	json_t *m = json_object(), *camp = json_object(), *failures = json_object();
	json_t *rate = json_object(), *fc = json_object(), *pause = json_object();
	int64_t from, n_done, first, last;
	int rc;

	t.status = json_object();
	t.stage = json_object();
	t.reason = json_object();
	t.server = json_object();
	sa.arr = json_array();
	rc = store_campaign_status_each(c->st, cp->campaign_id, c->now, tally_group, &t, err);
	if (!rc)
		rc = store_bulk_failures_each(c->st, cp->campaign_id, failure_one, failures, err);
	if (!rc)
		rc = store_bulk_stuck_each(c->st, cp->campaign_id, c->now, stuck_n, stuck_one, &sa,
					   err);
	if (!rc)
		rc = store_bulk_get(c->st, cp->campaign_id, &b, err);
	from = forecast_window_start(c->now, window_s, b.resumed_at);
	if (!rc)
		rc = store_bulk_done_since(c->st, cp->campaign_id, from, &n_done, &first, &last,
					   err);
	if (rc) {
		json_decref(t.status);
		json_decref(t.stage);
		json_decref(t.reason);
		json_decref(t.server);
		json_decref(sa.arr);
		json_decref(m);
		json_decref(camp);
		json_decref(failures);
		json_decref(rate);
		json_decref(fc);
		json_decref(pause);
		return rc;
	}
	for (int s = 0; s < CERT_STATUS_COUNT; s++)
		json_object_set_new(t.status, cert_status_name(s), json_integer(t.n[s]));
	fi.now = c->now;
	fi.n_done = n_done;
	fi.first_done_at = first;
	fi.last_done_at = last;
	fi.remaining = t.n[CERT_STATUS_AVAILABLE] + t.n[CERT_STATUS_IN_PROGRESS];
	fi.deadline_at = cp->deadline_at;
	fi.revocation_at = cp->revocation_at;
	forecast_compute(&fi, &f);

	json_object_set_new(camp, "id", json_integer(cp->campaign_id));
	json_object_set_new(camp, "name", json_string(cp->name));
	json_object_set_new(camp, "state", json_string(cp->state));
	json_object_set_new(camp, "deadline", json_string(cp->deadline));
	json_object_set_new(camp, "deadline_at", json_integer(cp->deadline_at));
	json_object_set_new(camp, "revocation_date",
			    cp->revocation_date[0] ? json_string(cp->revocation_date)
						   : json_null());
	json_object_set_new(camp, "revocation_at",
			    cp->revocation_at ? json_integer(cp->revocation_at) : json_null());
	json_object_set_new(camp, "targets", json_integer(t.total));
	json_object_set_new(camp, "bulk_rate_per_hour",
			    b.rate_per_hour ? json_integer(b.rate_per_hour) : json_null());
	json_object_set_new(camp, "bulk_started", time_json(b.started_at));

	json_object_set_new(pause, "paused", json_boolean(b.paused));
	json_object_set_new(pause, "paused_by", b.paused ? json_string(b.paused_by) : json_null());
	json_object_set_new(pause, "global", json_boolean(b.paused_all));
	json_object_set_new(pause, "global_by",
			    b.paused_all ? json_string(b.paused_all_by) : json_null());

	json_object_set_new(rate, "window_start", time_json(from));
	json_object_set_new(rate, "window_s", json_integer(c->now - from));
	json_object_set_new(rate, "done_in_window", json_integer(n_done));
	json_object_set_new(rate, "last_done", time_json(last));
	json_object_set_new(rate, "per_hour",
			    f.rate_known ? json_real((double)(int64_t)(f.rate_per_hour * 10) / 10)
					 : json_null());

	json_object_set_new(fc, "remaining", json_integer(fi.remaining));
	json_object_set_new(fc, "finish_at", f.finish_at ? json_integer(f.finish_at) : json_null());
	json_object_set_new(fc, "finish", time_json(f.finish_at));
	json_object_set_new(fc, "deadline", json_string(forecast_verdict_name(f.deadline)));
	json_object_set_new(fc, "revocation", json_string(forecast_verdict_name(f.revocation)));
	json_object_set_new(fc, "needed_per_hour_for_deadline",
			    json_integer((json_int_t)f.needed_for_deadline));
	json_object_set_new(fc, "needed_per_hour_for_revocation",
			    json_integer((json_int_t)f.needed_for_revocation));

	json_object_set_new(m, "campaign", camp);
	json_object_set_new(m, "generated_at", time_json(c->now));
	json_object_set_new(m, "pause", pause);
	json_object_set_new(m, "by_status", t.status);
	json_object_set_new(m, "by_stage", t.stage);
	json_object_set_new(m, "by_reason", t.reason);
	json_object_set_new(m, "by_server", t.server);
	json_object_set_new(m, "by_failure", failures);
	json_object_set_new(m, "stuck", sa.arr);
	json_object_set_new(m, "rate", rate);
	json_object_set_new(m, "forecast", fc);
	*out = m;
	return 0;
}

/* A scalar as text ("" for null). */
static void scalar_text(const json_t *v, char *out, size_t outsz)
{
	if (json_is_string(v))
		snprintf(out, outsz, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, outsz, "%.1f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, outsz, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(out, outsz, "%s", "");
}

/* One CSV cell: a cell a spreadsheet would read as a formula (starting with
 * = + - @ TAB CR) gets a leading apostrophe, shown as text (OWASP's advice);
 * then RFC 4180 quoting. */
static void csv_cell(const char *s, bool last)
{
	bool formula = strchr("=+-@\t\r", s[0]) && s[0];
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;

	if (quote)
		putchar('"');
	if (formula)
		putchar('\'');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	if (quote)
		putchar('"');
	fputs(last ? "\r\n" : ",", stdout);
}

static void csv_row(const char *section, const char *key, const char *field, const json_t *v)
{
	char text[1024];

	scalar_text(v, text, sizeof(text));
	csv_cell(section, false);
	csv_cell(key, false);
	csv_cell(field, false);
	csv_cell(text, true);
}

/* Long format, one value a row: section,key,field,value. */
static void render_csv(const json_t *m)
{
	const char *section, *key, *k2;
	json_t *sv, *v, *v2;

	fputs("section,key,field,value\r\n", stdout);
	json_object_foreach((json_t *)m, section, sv)
	{
		if (!json_is_object(sv) && !json_is_array(sv)) {
			csv_row(section, "", "", sv);
			continue;
		}
		if (json_is_array(sv)) {
			size_t i;

			json_array_foreach(sv, i, v)
			{
				char id[32];

				scalar_text(json_object_get(v, "order_id"), id, sizeof(id));
				json_object_foreach(v, k2, v2) csv_row(section, id, k2, v2);
			}
			continue;
		}
		json_object_foreach(sv, key, v)
		{
			if (json_is_object(v)) {
				json_object_foreach(v, k2, v2) csv_row(section, key, k2, v2);
			} else {
				csv_row(section, key, "", v);
			}
		}
	}
}

static void print_counts(const char *title, const json_t *obj)
{
	const char *k;
	json_t *v;

	if (json_object_size(obj) == 0)
		return;
	printf("%s\n", title);
	json_object_foreach((json_t *)obj, k, v)
	    printf("  %-32s %8lld\n", k, (long long)json_integer_value(v));
}

static void render_table(struct cli *c, const json_t *m)
{
	const json_t *camp = json_object_get(m, "campaign"), *p = json_object_get(m, "pause");
	const json_t *r = json_object_get(m, "rate"), *f = json_object_get(m, "forecast");
	const json_t *servers = json_object_get(m, "by_server"),
		     *stuck = json_object_get(m, "stuck");
	const char *k;
	json_t *v;
	size_t i;
	char a[40], b[40];

	printf("campaign %lld: %s (%s)\n",
	       (long long)json_integer_value(json_object_get(camp, "id")),
	       json_string_value(json_object_get(camp, "name")),
	       json_string_value(json_object_get(camp, "state")));
	when(c, json_integer_value(json_object_get(camp, "deadline_at")), a);
	when(c, json_integer_value(json_object_get(camp, "revocation_at")), b);
	printf("  deadline %s, revocation date %s\n", a, b);
	if (json_is_integer(json_object_get(camp, "bulk_rate_per_hour")))
		snprintf(
		    a, sizeof(a), "%lld orders/hour",
		    (long long)json_integer_value(json_object_get(camp, "bulk_rate_per_hour")));
	else
		snprintf(a, sizeof(a), "- (no bulk reissue yet)");
	printf("  %lld certificate(s); bulk pace %s\n",
	       (long long)json_integer_value(json_object_get(camp, "targets")), a);
	if (json_is_true(json_object_get(p, "paused")))
		printf("  PAUSED by %s: queued orders do not start\n",
		       json_string_value(json_object_get(p, "paused_by")));
	if (json_is_true(json_object_get(p, "global")))
		printf("  GLOBAL PAUSE by %s: no queued order starts\n",
		       json_string_value(json_object_get(p, "global_by")));
	print_counts("by status", json_object_get(m, "by_status"));
	print_counts("in progress, by stage", json_object_get(m, "by_stage"));
	print_counts("not possible, by reason", json_object_get(m, "by_reason"));
	print_counts("failed orders, by failure", json_object_get(m, "by_failure"));
	if (json_object_size(servers)) {
		printf("by server\n  %-24s %10s %10s %12s %10s\n", "server", "available",
		       "not_needed", "in_progress", "impossible");
		json_object_foreach((json_t *)servers, k, v)
		    printf("  %-24s %10lld %10lld %12lld %10lld\n", k,
			   (long long)json_integer_value(json_object_get(v, "available")),
			   (long long)json_integer_value(json_object_get(v, "not_needed")),
			   (long long)json_integer_value(json_object_get(v, "in_progress")),
			   (long long)json_integer_value(json_object_get(v, "impossible")));
	}
	if (json_array_size(stuck)) {
		printf("oldest stuck orders\n  %-8s %-16s %-12s %-20s %8s %7s %s\n", "order",
		       "certificate", "state", "since", "age_s", "retries", "failure");
		json_array_foreach(stuck, i, v)
		    printf("  %-8lld %-16s %-12s %-20s %8lld %7lld %s%s%s\n",
			   (long long)json_integer_value(json_object_get(v, "order_id")),
			   json_string_value(json_object_get(v, "certificate_id")),
			   json_string_value(json_object_get(v, "state")),
			   json_string_value(json_object_get(v, "since")),
			   (long long)json_integer_value(json_object_get(v, "age_s")),
			   (long long)json_integer_value(json_object_get(v, "retries")),
			   json_string_value(json_object_get(v, "failure")),
			   json_string_length(json_object_get(v, "detail")) ? ": " : "",
			   json_string_value(json_object_get(v, "detail")));
	}
	printf("rate: %lld done in the last %lld s",
	       (long long)json_integer_value(json_object_get(r, "done_in_window")),
	       (long long)json_integer_value(json_object_get(r, "window_s")));
	if (json_is_real(json_object_get(r, "per_hour")))
		printf(" = %.1f orders/hour\n", json_real_value(json_object_get(r, "per_hour")));
	else
		printf(" (too few to tell a rate)\n");
	when(c, json_integer_value(json_object_get(f, "finish_at")), a);
	printf("forecast: %lld remaining; finish %s; deadline %s, revocation date %s\n",
	       (long long)json_integer_value(json_object_get(f, "remaining")),
	       json_is_integer(json_object_get(f, "finish_at")) ? a : "unknown",
	       json_string_value(json_object_get(f, "deadline")),
	       json_string_value(json_object_get(f, "revocation")));
	if (strcmp(json_string_value(json_object_get(f, "deadline")), "on_time") != 0 &&
	    json_integer_value(json_object_get(f, "needed_per_hour_for_deadline")))
		printf("  to finish by the deadline: %lld orders/hour\n",
		       (long long)json_integer_value(
			   json_object_get(f, "needed_per_hour_for_deadline")));
}

static int bulk_report(struct cli *c, const char *which, const char *format, long window_s,
		       int stuck_n)
{
	struct store_campaign cp;
	struct cd_err err = { 0 };
	json_t *m = NULL;
	int rc;

	if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "json") != 0)
		return cli_usage("campaign", "--format is table, csv or json, not '%s'", format);
	if ((rc = cli_store(c, true, &err)) || (rc = find_campaign(c, which, &cp, &err)))
		return cli_fail(&err);
	if (window_s == 0 && (rc = cd_config_get_int(c->cfg, "bulk", "report_window_s", 1,
						     366L * 86400, &window_s, &err)))
		return cli_fail(&err);
	if ((rc = report_model(c, &cp, window_s, stuck_n, &m, &err)))
		return cli_fail(&err);
	if (strcmp(format, "json") == 0) {
		char *s = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		puts(s ? s : "{}");
		free(s);
	} else if (strcmp(format, "csv") == 0) {
		render_csv(m);
	} else {
		render_table(c, m);
	}
	json_decref(m);
	return 0;
}

/* --- dispatch -------------------------------------------------------------------------- */

bool cmd_campaign_bulk_handles(const char *sub)
{
	return strcmp(sub, "reissue") == 0 || strcmp(sub, "pause") == 0 ||
	       strcmp(sub, "resume") == 0 || strcmp(sub, "report") == 0;
}

int cmd_campaign_bulk(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "only-available", no_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "window", required_argument, NULL, 'w' },
		{ "stuck", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *rate = NULL, *format = "table", *which;
	bool only_available = false, dry_run = false, all = false;
	long window_s = 0, stuck_n = 10;
	char *end;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			only_available = true;
			break;
		case 'r':
			rate = optarg;
			break;
		case 'D':
			dry_run = true;
			break;
		case 'a':
			all = true;
			break;
		case 'f':
			format = optarg;
			break;
		case 'w':
			window_s = strtol(optarg, &end, 10);
			if (*end || window_s < 1 || window_s > 366L * 86400)
				return cli_usage("campaign", "--window is seconds, 1 to a year");
			break;
		case 's':
			stuck_n = strtol(optarg, &end, 10);
			if (*end || stuck_n < 0 || stuck_n > 1000)
				return cli_usage("campaign", "--stuck is 0 to 1000");
			break;
		case 'h':
			fputs(BULK_HELP, stdout);
			return 0;
		default:
			return cli_usage("campaign", "unknown option for campaign %s", sub);
		}
	}
	which = optind < argc ? argv[optind] : NULL;
	if (optind + (which ? 1 : 0) != argc)
		return cli_usage("campaign", "campaign %s takes one campaign ID or NAME", sub);
	if ((strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0) && all == !!which)
		return cli_usage("campaign", "campaign %s takes a campaign ID or NAME, or --all",
				 sub);
	if (strcmp(sub, "pause") == 0)
		return rate ? cli_usage("campaign", "pause takes no --rate")
			    : bulk_pause(c, which, all);
	if (strcmp(sub, "resume") == 0)
		return bulk_resume(c, which, all, rate);
	if (!which)
		return cli_usage("campaign", "campaign %s needs a campaign ID or NAME", sub);
	if (strcmp(sub, "reissue") == 0)
		return bulk_reissue(c, which, only_available, rate, dry_run);
	return bulk_report(c, which, format, window_s, (int)stuck_n);
}
