/*
 * metrics.c - GET /metrics in the Prometheus text exposition format (0.0.4),
 * for the addresses of [web] metrics_allow only (addresses or CIDR blocks;
 * by default loopback; the client address is the one server.c believes,
 * X-Forwarded-For from a trusted proxy included). Everyone else gets 403.
 *
 * What several processes share (orders, mail, leases, reloads, campaigns)
 * comes from the store through a handful of aggregates (src/store/metrics.c);
 * only the portal's own request counters are this process's.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/failure.h"
#include "core/order.h"
#include "util/log.h"
#include "web/web_priv.h"

#define ALLOW_MAX 64

/* --- who may read them -------------------------------------------------------- */

struct net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

/* An address as 4 or 16 bytes; an IPv4-mapped IPv6 address counts as IPv4. */
static bool parse_addr(const char *s, struct net *n)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, s, n->addr) == 1) {
		n->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, n->addr) != 1)
		return false;
	n->family = AF_INET6;
	if (memcmp(n->addr, mapped, sizeof(mapped)) == 0) {
		memmove(n->addr, n->addr + 12, 4);
		n->family = AF_INET;
	}
	return true;
}

/* "ADDR" or "ADDR/PREFIX". */
static bool parse_net(const char *s, struct net *n)
{
	char a[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	if (len == 0 || len >= sizeof(a))
		return false;
	memcpy(a, s, len);
	a[len] = '\0';
	if (!parse_addr(a, n))
		return false;
	max = n->family == AF_INET ? 32 : 128;
	n->prefix = max;
	if (slash) {
		char *end;
		long p = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end || p < 0 || p > max)
			return false;
		n->prefix = (int)p;
	}
	return true;
}

static bool net_contains(const struct net *n, const struct net *a)
{
	int full = n->prefix / 8, rest = n->prefix % 8;

	if (n->family != a->family || memcmp(n->addr, a->addr, (size_t)full) != 0)
		return false;
	return rest == 0 || ((n->addr[full] ^ a->addr[full]) & (0xff << (8 - rest))) == 0;
}

/* Whether addr is in one of the entries of the setting v (separated by
 * spaces or commas). 1 yes, 0 no, -CD_ECONFIG naming a bad entry. */
static int allow_match(const char *v, const struct net *addr, struct cd_err *err)
{
	int n = 0;

	for (const char *p = v ? v : ""; *p;) {
		size_t len = strcspn(p, " ,\t");
		char one[80];
		struct net net;

		if (len > 0) {
			if (++n > ALLOW_MAX)
				return cd_err_set(err, CD_ECONFIG, false,
						  "[web] metrics_allow: more than %d entries",
						  ALLOW_MAX);
			if (len >= sizeof(one))
				return cd_err_set(err, CD_ECONFIG, false,
						  "[web] metrics_allow: an entry is too long");
			memcpy(one, p, len);
			one[len] = '\0';
			if (!parse_net(one, &net))
				return cd_err_set(err, CD_ECONFIG, false,
						  "[web] metrics_allow: '%s' is not an address or "
						  "ADDR/PREFIX (127.0.0.1, 10.0.0.0/8, ::1)",
						  one);
			if (addr && net_contains(&net, addr))
				return 1;
		}
		p += len;
		p += strspn(p, " ,\t");
	}
	return 0;
}

int web_metrics_check(const cd_config_t *cfg, struct cd_err *err)
{
	long ttl;
	int rc = allow_match(cd_config_get(cfg, "web", "metrics_allow"), NULL, err);

	if (rc < 0)
		return rc;
	return cd_config_get_int(cfg, "web", "metrics_campaign_seconds", 0, 86400, &ttl, err);
}

/* 1 allowed, 0 not (a broken setting, refused at start, allows nobody). */
static int allowed(struct req *r)
{
	struct net client;
	struct cd_err err = { 0 };
	int rc;

	if (!parse_addr(r->client, &client))
		return 0;
	rc = allow_match(cd_config_get(r->w->cfg, "web", "metrics_allow"), &client, &err);
	if (rc < 0)
		cd_error("web: %s", err.msg);
	return rc > 0;
}

/* --- the exposition -------------------------------------------------------------- */

struct out {
	FILE *f;
	int64_t now;
};

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static int each_state(const char *state, int64_t n, void *arg)
{
	int64_t *by = arg;
	enum order_state s;

	if (order_state_parse(state, &s, NULL) == 0)
		by[s] = n;
	return 0;
}

static int orders_by_state(struct req *r, struct out *o, struct cd_err *err)
{
	int64_t by[ORDER_STATE_COUNT] = { 0 };
	int rc = store_orders_by_state(r->st, each_state, by, err);

	if (rc)
		return rc;
	family(o, "certdesk_orders", "gauge", "Reissue orders by state.");
	for (int s = 0; s < ORDER_STATE_COUNT; s++)
		fprintf(o->f, "certdesk_orders{state=\"%s\"} %lld\n",
			order_state_name((enum order_state)s), (long long)by[s]);
	return 0;
}

static int each_failed(const char *code, bool retryable, int64_t n, void *arg)
{
	struct out *o = arg;

	fputs("certdesk_orders_failed{code=\"", o->f);
	label_value(o->f, code);
	fprintf(o->f, "\",retryable=\"%s\"} %lld\n", retryable ? "true" : "false", (long long)n);
	return 0;
}

struct stages {
	int64_t count[ORDER_STATE_COUNT][STORE_STAGE_BUCKETS + 1];
	int64_t sum[ORDER_STATE_COUNT];
	bool any[ORDER_STATE_COUNT];
};

static int each_stage(const char *state, int bucket, int64_t count, int64_t sum, void *arg)
{
	struct stages *sg = arg;
	enum order_state s;

	if (order_state_parse(state, &s, NULL) != 0)
		return 0;
	sg->count[s][bucket] += count;
	sg->sum[s] += sum;
	sg->any[s] = true;
	return 0;
}

static int stage_histogram(struct req *r, struct out *o, struct cd_err *err)
{
	struct stages *sg = calloc(1, sizeof(*sg));
	int rc;

	if (!sg)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	rc = store_stage_seconds_each(r->st, each_stage, sg, err);
	if (rc)
		goto out;
	family(o, "certdesk_order_stage_seconds", "histogram",
	       "Time orders spent in each state, observed when they left it.");
	for (int s = 0; s < ORDER_STATE_COUNT; s++) {
		const char *name = order_state_name((enum order_state)s);
		int64_t cum = 0;

		if (!sg->any[s])
			continue;
		for (int b = 0; b <= STORE_STAGE_BUCKETS; b++) {
			cum += sg->count[s][b];
			if (b < STORE_STAGE_BUCKETS)
				fprintf(o->f,
					"certdesk_order_stage_seconds_bucket{stage=\"%s\",le=\"%"
					"lld\"} %lld\n",
					name, (long long)store_stage_bounds[b], (long long)cum);
			else
				fprintf(o->f,
					"certdesk_order_stage_seconds_bucket{stage=\"%s\",le=\"+"
					"Inf\"} %lld\n",
					name, (long long)cum);
		}
		fprintf(o->f, "certdesk_order_stage_seconds_sum{stage=\"%s\"} %lld\n", name,
			(long long)sg->sum[s]);
		fprintf(o->f, "certdesk_order_stage_seconds_count{stage=\"%s\"} %lld\n", name,
			(long long)cum);
	}
out:
	free(sg);
	return rc;
}

/* Attempts that sent newOrder but never recorded the CA's answer (a crash in
 * between): a pending order may be left at the CA (DESIGN.md §3.3). */
static int orphans(struct req *r, struct out *o, struct cd_err *err)
{
	int64_t n = 0;
	int rc = store_attempts_orphaned(r->st, &n, err);

	if (rc)
		return rc;
	family(o, "certdesk_acme_orphaned_orders", "gauge",
	       "Attempts whose newOrder may have left an orphaned pending order at the CA.");
	fprintf(o->f, "certdesk_acme_orphaned_orders %lld\n", (long long)n);
	return 0;
}

/* The store's counters, read once and emitted by family. */
struct counter {
	char name[64], label[128];
	int64_t value;
};
struct counters {
	struct counter *c;
	size_t n, cap;
};

static int each_counter(const char *name, const char *label, int64_t value, void *arg)
{
	struct counters *cs = arg;

	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 32;
		struct counter *nc = realloc(cs->c, cap * sizeof(*nc));

		if (!nc)
			return -CD_ENOMEM;
		cs->c = nc;
		cs->cap = cap;
	}
	snprintf(cs->c[cs->n].name, sizeof(cs->c[0].name), "%s", name ? name : "");
	snprintf(cs->c[cs->n].label, sizeof(cs->c[0].label), "%s", label ? label : "");
	cs->c[cs->n++].value = value;
	return 0;
}

static int64_t counter_get(const struct counters *cs, const char *name, const char *label)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].name, name) == 0 && strcmp(cs->c[i].label, label) == 0)
			return cs->c[i].value;
	return 0;
}

/* The failure codes that mean the CA itself refused or failed. */
static bool is_ca_code(enum failure_code c)
{
	return c == FAILURE_CA_ERROR || c == FAILURE_CA_REJECTED || c == FAILURE_CHALLENGE_FAILED;
}

static void store_counters(struct out *o, const struct counters *cs)
{
	family(o, "certdesk_order_problems_total", "counter",
	       "Problems orders met (each retry and each failure), by failure code.");
	for (int c = FAILURE_NONE + 1; c < FAILURE_CODE_COUNT; c++) {
		const char *name = failure_code_name((enum failure_code)c);

		fprintf(o->f, "certdesk_order_problems_total{code=\"%s\"} %lld\n", name,
			(long long)counter_get(cs, "order_problems", name));
	}
	family(o, "certdesk_ca_errors_total", "counter",
	       "Errors of the CA (refused, failed, validation failed), by type.");
	for (int c = FAILURE_NONE + 1; c < FAILURE_CODE_COUNT; c++) {
		const char *name = failure_code_name((enum failure_code)c);

		if (is_ca_code((enum failure_code)c))
			fprintf(o->f, "certdesk_ca_errors_total{type=\"%s\"} %lld\n", name,
				(long long)counter_get(cs, "order_problems", name));
	}
	family(o, "certdesk_lease_takeovers_total", "counter",
	       "Orders claimed from another node whose lease had expired.");
	fprintf(o->f, "certdesk_lease_takeovers_total %lld\n",
		(long long)counter_get(cs, "lease_takeovers", ""));
	family(o, "certdesk_mail_delivery_failures_total", "counter",
	       "Failed SMTP deliveries: retried later, or final (the mail waits for an operator).");
	fprintf(o->f, "certdesk_mail_delivery_failures_total{outcome=\"retry\"} %lld\n",
		(long long)counter_get(cs, "mail_delivery_failures", "retry"));
	fprintf(o->f, "certdesk_mail_delivery_failures_total{outcome=\"final\"} %lld\n",
		(long long)counter_get(cs, "mail_delivery_failures", "final"));
	family(o, "certdesk_nginx_reloads_total", "counter",
	       "Reloads of a hosting server's web server, by server and result.");
	for (size_t i = 0; i < cs->n; i++) {
		const char *bar = strrchr(cs->c[i].label, '|');

		if (strcmp(cs->c[i].name, "nginx_reloads") != 0 || !bar)
			continue;
		fputs("certdesk_nginx_reloads_total{server=\"", o->f);
		fprintf(o->f, "%.*s", (int)(bar - cs->c[i].label), cs->c[i].label);
		fputs("\",result=\"", o->f);
		label_value(o->f, bar + 1);
		fprintf(o->f, "\"} %lld\n", (long long)cs->c[i].value);
	}
}

static int mail(struct req *r, struct out *o, struct cd_err *err)
{
	struct store_outbox_depth d;
	int rc = store_outbox_depth(r->st, o->now, &d, err);

	if (rc)
		return rc;
	family(o, "certdesk_mail_sent_total", "counter", "Mails delivered to the SMTP server.");
	fprintf(o->f, "certdesk_mail_sent_total %lld\n", (long long)d.sent);
	family(o, "certdesk_mail_failed", "gauge",
	       "Mails that failed for good and wait for an operator's retry.");
	fprintf(o->f, "certdesk_mail_failed %lld\n", (long long)d.failed);
	family(o, "certdesk_outbox_queue_depth", "gauge",
	       "Mails in the outbox not yet delivered: all, due now, being delivered.");
	fprintf(o->f, "certdesk_outbox_queue_depth{state=\"pending\"} %lld\n",
		(long long)d.pending);
	fprintf(o->f, "certdesk_outbox_queue_depth{state=\"due\"} %lld\n", (long long)d.due);
	fprintf(o->f, "certdesk_outbox_queue_depth{state=\"delivering\"} %lld\n",
		(long long)d.leased);
	family(o, "certdesk_outbox_oldest_pending_age_seconds", "gauge",
	       "Age of the oldest mail not yet delivered (0 when none).");
	fprintf(o->f, "certdesk_outbox_oldest_pending_age_seconds %lld\n",
		(long long)(d.oldest_pending_at && o->now > d.oldest_pending_at
				? o->now - d.oldest_pending_at
				: 0));
	return 0;
}

/* Campaign progress decides every target's status (the core rule, once per
 * group of equal facts), which reads each target's facts: about half a second
 * for 30,000 targets on SQLite. So one process computes it at most every
 * [web] metrics_campaign_seconds and every scrape in between reuses it. */
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct store_campaign_progress *p;
	size_t n, cap;
	int64_t at; /* when computed; 0 = never */
	const struct web_server *w;
} progress;

static int collect_progress(const struct store_campaign_progress *p, void *arg)
{
	(void)arg;
	if (progress.n == progress.cap) {
		size_t cap = progress.cap ? progress.cap * 2 : 8;
		struct store_campaign_progress *np = realloc(progress.p, cap * sizeof(*np));

		if (!np)
			return -CD_ENOMEM;
		progress.p = np;
		progress.cap = cap;
	}
	progress.p[progress.n++] = *p;
	return 0;
}

static void campaign_label(FILE *f, const struct store_campaign_progress *p)
{
	fputs("campaign=\"", f);
	label_value(f, p->name);
	fputc('"', f);
}

static void campaign_lines(struct out *o, int fam)
{
	FILE *f = o->f;

	for (size_t i = 0; i < progress.n; i++) {
		const struct store_campaign_progress *p = &progress.p[i];

		switch (fam) {
		case 0:
			fputs("certdesk_campaign_affected{", f);
			campaign_label(f, p);
			fprintf(f, "} %lld\n", (long long)p->affected);
			break;
		case 1:
			fputs("certdesk_campaign_reissued{", f);
			campaign_label(f, p);
			fprintf(f, "} %lld\n", (long long)p->reissued);
			break;
		case 2:
			for (int s = 0; s < CERT_STATUS_COUNT; s++) {
				fputs("certdesk_campaign_certificates{", f);
				campaign_label(f, p);
				fprintf(f, ",status=\"%s\"} %lld\n",
					cert_status_name((enum cert_status)s),
					(long long)p->by_status[s]);
			}
			break;
		default:
			fputs("certdesk_campaign_deadline_timestamp_seconds{", f);
			campaign_label(f, p);
			fprintf(f, "} %lld\n", (long long)p->deadline_at);
		}
	}
}

static int campaigns(struct req *r, struct out *o, struct cd_err *err)
{
	static const struct {
		const char *name, *type, *help;
	} fams[] = {
		{ "certdesk_campaign_affected", "gauge",
		  "Certificates an active campaign targets that are still valid." },
		{ "certdesk_campaign_reissued", "gauge",
		  "Of those, certificates whose targeted issuance was replaced." },
		{ "certdesk_campaign_certificates", "gauge",
		  "A campaign's certificates by the status the portal shows (in_progress, "
		  "impossible, available, not_needed)." },
		{ "certdesk_campaign_deadline_timestamp_seconds", "gauge",
		  "The customers' deadline of the campaign." },
	};
	long ttl;
	int rc =
	    cd_config_get_int(r->w->cfg, "web", "metrics_campaign_seconds", 0, 86400, &ttl, err);

	if (rc)
		return rc;
	pthread_mutex_lock(&progress_mu);
	if (progress.w != r->w || progress.at == 0 || o->now - progress.at >= ttl) {
		progress.n = 0;
		progress.at = 0;
		progress.w = r->w;
		rc = store_campaign_progress_each(r->st, o->now, collect_progress, NULL, err);
		if (rc == -CD_ENOMEM && !err->msg[0])
			cd_err_set(err, CD_ENOMEM, false, "out of memory");
		if (!rc)
			progress.at = o->now;
	}
	if (!rc) {
		for (int fam = 0; fam < 4; fam++) {
			family(o, fams[fam].name, fams[fam].type, fams[fam].help);
			campaign_lines(o, fam);
		}
		family(o, "certdesk_campaign_progress_timestamp_seconds", "gauge",
		       "When the campaign figures above were computed "
		       "([web] metrics_campaign_seconds).");
		fprintf(o->f, "certdesk_campaign_progress_timestamp_seconds %lld\n",
			(long long)progress.at);
	}
	pthread_mutex_unlock(&progress_mu);
	return rc;
}

static void process_counters(struct req *r, struct out *o)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} cs[] = {
		{ "requests_total", "HTTP requests this portal process answered.",
		  offsetof(struct web_server, requests) },
		{ "login_hashes_total", "Password hashes computed at login by this process.",
		  offsetof(struct web_server, login_hashes) },
		{ "login_failures_total", "Failed logins seen by this process.",
		  offsetof(struct web_server, login_failures) },
		{ "login_throttled_total", "Logins refused by throttling in this process.",
		  offsetof(struct web_server, login_throttled) },
		{ "csrf_refused_total", "POSTs refused for their origin or CSRF token.",
		  offsetof(struct web_server, csrf_refused) },
		{ "orders_created_total", "Reissue orders created through this process.",
		  offsetof(struct web_server, orders_created) },
	};

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "certdesk_web_%s", cs[i].name);
		family(o, name, "counter", cs[i].help);
		fprintf(o->f, "%s %lu\n", name,
			atomic_load((atomic_ulong *)((char *)r->w + cs[i].off)));
	}
}

static enum MHD_Result short_text(struct req *r, unsigned status, const char *msg)
{
	char *b = strdup(msg);

	return b ? web_reply_text(r, status, "text/plain; charset=utf-8", b, strlen(b)) : MHD_NO;
}

enum MHD_Result web_metrics_get(struct req *r)
{
	struct out o = { .now = r->now };
	struct counters cs = { 0 };
	struct cd_err err = { 0 };
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!allowed(r)) {
		cd_info("web: /metrics refused to %s ([web] metrics_allow)", r->client);
		return short_text(r, 403, "forbidden\n");
	}
	if (!web_store(r))
		return short_text(r, 503, "the store cannot be opened\n");
	o.f = open_memstream(&body, &len);
	if (!o.f)
		return MHD_NO;
	rc = orders_by_state(r, &o, &err);
	if (!rc) {
		family(&o, "certdesk_orders_failed", "gauge",
		       "Failed orders by failure code and whether a retry can help.");
		rc = store_orders_failed_by_code(r->st, each_failed, &o, &err);
	}
	if (!rc)
		rc = stage_histogram(r, &o, &err);
	if (!rc)
		rc = orphans(r, &o, &err);
	if (!rc)
		rc = store_metric_counters_each(r->st, each_counter, &cs, &err);
	if (!rc)
		store_counters(&o, &cs);
	if (!rc)
		rc = mail(r, &o, &err);
	if (!rc)
		rc = campaigns(r, &o, &err);
	if (!rc)
		process_counters(r, &o);
	free(cs.c);
	if (fclose(o.f) != 0 && !rc)
		rc = cd_err_set(&err, CD_ENOMEM, false, "out of memory");
	if (rc) {
		free(body);
		cd_error("web: /metrics: %s", err.msg[0] ? err.msg : "out of memory");
		return short_text(r, 500, "metrics unavailable; see the log\n");
	}
	return web_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}
