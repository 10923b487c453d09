/*
 * cmd_campaign_mail.c - `certdesk campaign notify|remind`: the campaign's
 * reissue-request mail to every affected member, and its reminders.
 *
 * Two phases. Queueing: the campaign's members are read a page at a time;
 * each member gets one mail listing all of their affected certificates with
 * the status core/eligibility gives them now, queued in the outbox with its
 * Message-ID fixed (a page per transaction). The outbox's unique key names
 * the member and the notice, so a rerun after a crash queues only who is
 * left and a member never gets two mails for one notice. Delivering: the
 * outbox is delivered at [campaign] mail_rate_per_second until every mail
 * of the notice is sent or failed for good; a kill leaves the rest queued,
 * and the next run (or `certdesk mail deliver`) sends them with the same
 * Message-IDs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/i18n.h"
#include "notify/notify.h"
#include "util/cdtime.h"
#include "util/progress.h"

#define PAGE	     200 /* members per transaction */
#define MAX_CERTS    10000
#define MAX_BAD_SHOW 20

static const char NOTIFY_HELP[] =
    "usage: certdesk campaign notify ID|NAME [--dry-run] [--queue-only]\n"
    "       certdesk campaign remind ID|NAME --days-before N [--dry-run] [--queue-only]\n\n"
    "notify mails each member who has an affected certificate still to reissue\n"
    "(status 'reissue' or 'not possible') one mail listing all of their affected\n"
    "certificates: product, common name, server, status (for 'not possible' the\n"
    "reason and what to do) and the deadline, with the link to the portal's reissue\n"
    "page ([web] base_url + /reissue?campaign=ID). Japanese, or English for members\n"
    "whose locale is en. Each mail is queued once per member, ever (a rerun queues\n"
    "only who is left), then delivered at [campaign] mail_rate_per_second (0 = [mail]\n"
    "rate_per_second) until all are sent or failed for good; --queue-only leaves the\n"
    "delivery to `certdesk mail deliver` or the workers.\n"
    "remind mails, from N days before the deadline until the deadline, those who\n"
    "still have a certificate to reissue; once per member for each N.\n"
    "--dry-run prints the counts and one rendered mail, and changes nothing.\n";

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

struct mail_cert {
	char product[33], common_name[254], server[65];
	struct eligibility e;
};

/* A member's affected certificates, gathered from the certificate view. */
struct member_certs {
	int64_t campaign_id;
	struct mail_cert *v;
	size_t n, cap;
	bool to_act; /* one of them is 'reissue' or 'not possible' */
	struct cd_err *err;
};

static bool targeted(const struct store_cert_view *v, int64_t campaign_id)
{
	for (size_t i = 0; i < v->facts.n_targets; i++)
		if (v->facts.targets[i].campaign_id == campaign_id && !v->facts.targets[i].reissued)
			return true;
	return false;
}

static int gather(const struct store_cert_view *v, void *arg)
{
	struct member_certs *mc = arg;
	struct eligibility e;

	if (!targeted(v, mc->campaign_id))
		return 0;
	eligibility_of(&v->facts, &e);
	if (e.status == CERT_STATUS_NOT_NEEDED)
		return 0;
	if (mc->n == mc->cap) {
		size_t cap = mc->cap ? mc->cap * 2 : 8;
		struct mail_cert *nv = cap <= MAX_CERTS ? realloc(mc->v, cap * sizeof(*nv)) : NULL;

		if (!nv)
			return cd_err_set(mc->err, CD_ELIMIT, false,
					  "member %s: more than %d affected certificates",
					  v->member_id, MAX_CERTS);
		mc->v = nv;
		mc->cap = cap;
	}
	struct mail_cert *c = &mc->v[mc->n++];

	snprintf(c->product, sizeof(c->product), "%s", v->product);
	snprintf(c->common_name, sizeof(c->common_name), "%s", v->common_name);
	snprintf(c->server, sizeof(c->server), "%s", v->server);
	c->e = e;
	if (e.status == CERT_STATUS_AVAILABLE || e.status == CERT_STATUS_IMPOSSIBLE)
		mc->to_act = true;
	return 0;
}

struct run {
	struct cli *c;
	struct notify_settings s;
	struct store_campaign camp;
	int days_before;
	bool dry_run, queue_only;
	char link[600];
	char notice[32]; /* "notice" or "remind-N", as in the outbox key */
	char prefix[200];
	/* what queueing found */
	long members, queued, before, nothing, bad;
	long certs[CERT_STATUS_COUNT], langs[LANG_COUNT]; /* in the mails this run queued */
	bool sample_shown;
};

/* The portal's address as [web] says it: base_url, else where it listens. */
static int portal_link(struct run *r, struct cd_err *err)
{
	const char *base = cd_config_get(r->c->cfg, "web", "base_url");
	const char *listen = cd_config_get(r->c->cfg, "web", "listen");
	char b[512];
	size_t n;

	if (base && *base) {
		snprintf(b, sizeof(b), "%s", base);
	} else {
		snprintf(b, sizeof(b), "http://%s", listen ? listen : "127.0.0.1:8080");
		/* customers cannot follow a loopback link: say so before it is mailed */
		fprintf(stderr,
			"certdesk: warning: [web] base_url is not set; the mail links to %s\n", b);
	}
	n = strlen(b);
	while (n && b[n - 1] == '/')
		b[--n] = '\0';
	if (strncmp(b, "http://", 7) != 0 && strncmp(b, "https://", 8) != 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "[web] base_url '%.80s' is not http:// or https://", b);
	snprintf(r->link, sizeof(r->link), "%s/reissue?campaign=%lld", b,
		 (long long)r->camp.campaign_id);
	return 0;
}

static void print_sample(struct run *r, const struct store_member_row *m, enum lang lang,
			 const char *subject, const char *body)
{
	printf("\n--- sample: the mail to member %s (%s, %s) ---\n", m->member_id, m->email,
	       lang_name(lang));
	printf("Subject: %s\n\n%s", subject, body);
	printf("--- end of sample ---\n\n");
	r->sample_shown = true;
}

static void tally(struct run *r, const struct member_certs *mc, enum lang lang)
{
	r->queued++;
	r->langs[lang]++;
	for (size_t i = 0; i < mc->n; i++)
		r->certs[mc->v[i].e.status]++;
}

/* One member: queue (or, in a dry run, render) their mail. */
static int one_member(struct run *r, const char *member_id, struct cd_err *err)
{
	struct member_certs mc = { .campaign_id = r->camp.campaign_id, .err = err };
	struct notify_campaign_cert *certs = NULL;
	struct store_member_row m;
	struct store_outbox_msg row;
	char key[200], msgid[NOTIFY_MSGID_MAX];
	enum lang lang = LANG_JA;
	bool found, created;
	int rc;

	r->members++;
	rc = notify_campaign_key(r->camp.campaign_id, r->days_before, member_id, key, sizeof(key),
				 err);
	if (rc)
		return rc;
	rc = store_outbox_find(r->c->st, key, &row, &found, err);
	if (rc)
		return rc;
	if (found) { /* queued by an earlier run: it stays the one mail */
		r->before++;
		return 0;
	}
	rc = store_member_get(r->c->st, member_id, &m, err);
	if (rc)
		return rc;
	rc = store_member_certificates(r->c->st, member_id, r->c->now, gather, &mc, err);
	if (rc)
		goto out;
	if (!mc.to_act) {
		r->nothing++;
		goto out;
	}
	if (!notify_addr_valid(m.email)) {
		/* one bad address must not hold the campaign: say so, go on */
		if (r->bad++ < MAX_BAD_SHOW)
			fprintf(stderr,
				"certdesk: member %s: '%.80s' is not a mail address, not mailed\n",
				member_id, m.email);
		goto out;
	}
	if (strcmp(m.locale, "en") == 0)
		lang = LANG_EN;
	certs = calloc(mc.n, sizeof(*certs));
	if (!certs) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < mc.n; i++)
		certs[i] = (struct notify_campaign_cert){
			.product = mc.v[i].product,
			.common_name = mc.v[i].common_name,
			.server = mc.v[i].server,
			.status = mc.v[i].e.status,
			.reasons = mc.v[i].e.reasons,
			.stage = mc.v[i].e.stage,
			.last_failure = mc.v[i].e.last_failure,
			.deadline =
			    mc.v[i].e.campaign_id ? mc.v[i].e.deadline : r->camp.deadline_at,
		};
	struct notify_campaign_mail mail = { .campaign_id = r->camp.campaign_id,
					     .days_before = r->days_before,
					     .member_id = member_id,
					     .rcpt = m.email,
					     .rcpt_name = m.display_name,
					     .link = r->link,
					     .deadline_at = r->camp.deadline_at,
					     .certs = certs,
					     .n_certs = mc.n };
	if (r->dry_run) {
		char *subject = NULL, *body = NULL;

		rc = notify_campaign_render(&r->s, &mail, lang, &subject, &body, err);
		if (!rc && !r->sample_shown)
			print_sample(r, &m, lang, subject, body);
		free(subject);
		free(body);
		if (!rc)
			tally(r, &mc, lang);
		goto out;
	}
	rc = notify_campaign_enqueue(r->c->st, &r->s, &mail, lang, r->c->now, msgid, &created, err);
	if (!rc && created)
		tally(r, &mc, lang);
	else if (!rc)
		r->before++;
out:
	free(certs);
	free(mc.v);
	return rc;
}

static int queue_all(struct run *r, struct cd_err *err)
{
	char(*page)[65] = calloc(PAGE, 65);
	char after[65] = "";
	int64_t total;
	size_t n;
	int rc;

	if (!page)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	rc = store_campaign_members_count(r->c->st, r->camp.campaign_id, &total, err);
	if (rc)
		goto out;
	progress_start(r->dry_run ? "rendering mails" : "queueing mails", (uint64_t)total,
		       PROGRESS_ITEMS);
	while (!stopping) {
		rc = store_campaign_members_page(r->c->st, r->camp.campaign_id, after, PAGE, page,
						 &n, err);
		if (rc || n == 0)
			break;
		/* a page a transaction: one fsync per page, and a crash loses at
		 * most the page being written, which the rerun queues */
		rc = store_begin(r->c->st, err);
		for (size_t i = 0; !rc && i < n; i++)
			rc = one_member(r, page[i], err);
		if (rc) {
			store_rollback(r->c->st);
			break;
		}
		rc = r->dry_run ? (store_rollback(r->c->st), 0) : store_commit(r->c->st, err);
		if (rc)
			break;
		snprintf(after, sizeof(after), "%s", page[n - 1]);
		progress_update((uint64_t)r->members);
	}
	progress_finish();
out:
	free(page);
	return rc;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Delivers until every mail of the notice is sent or failed for good. The
 * exact count reads the notice's whole key range (a tenth of a second for
 * 100,000 mails), so between counts the bar moves by what each pass sent. */
static int deliver_all(struct run *r, long rate, int64_t *sent, int64_t *failed, struct cd_err *err)
{
	struct notify_settings ds = r->s;
	int64_t queued, done, counted_at;
	int n_sent, n_failed, rc;

	if (rate > 0)
		ds.rate_per_second = rate;
	rc = store_outbox_prefix_counts(r->c->st, r->prefix, &queued, sent, failed, err);
	if (rc || queued == *sent + *failed)
		return rc;
	done = *sent + *failed;
	counted_at = cd_time_now();
	progress_start("delivering mails", (uint64_t)queued, PROGRESS_ITEMS);
	progress_update((uint64_t)done);
	while (!stopping) {
		/* other due mail goes out too: the outbox is one queue */
		rc = notify_deliver_due(r->c->st, &ds, 0, cd_time_now(), &n_sent, &n_failed, err);
		if (rc)
			break;
		done += n_sent;
		/* count exactly when the estimate says done, when nothing was due
		 * (another deliverer may have sent the rest), and every few seconds */
		if (done >= queued || n_sent + n_failed == 0 || cd_time_now() - counted_at >= 5) {
			rc = store_outbox_prefix_counts(r->c->st, r->prefix, &queued, sent, failed,
							err);
			if (rc)
				break;
			done = *sent + *failed;
			counted_at = cd_time_now();
		}
		progress_update((uint64_t)(done < queued ? done : queued));
		if (done >= queued)
			break;
		/* nothing due now: a retry waits for its backoff, or another
		 * deliverer (or a killed run's lease) holds the rest */
		if (n_sent + n_failed == 0)
			nap_ms(r->s.poll_ms);
	}
	progress_finish();
	return rc;
}

static int record_event(struct run *r, struct cd_err *err)
{
	char detail[512];

	snprintf(
	    detail, sizeof(detail),
	    "%.200s: %ld member(s), %ld mail(s) queued, %ld queued before, %ld with nothing to "
	    "reissue, %ld without a mail address",
	    r->prefix, r->members, r->queued, r->before, r->nothing, r->bad);
	return store_event_add(
	    r->c->st,
	    &(struct store_event){ .at = r->c->now,
				   .actor = r->c->actor,
				   .kind = r->days_before ? "campaign.remind" : "campaign.notify",
				   .campaign_id = r->camp.campaign_id,
				   .detail = detail },
	    err);
}

/* A reminder N days before is due from then until the deadline. */
static int remind_due(struct run *r, bool *due)
{
	int64_t from = r->camp.deadline_at - (int64_t)r->days_before * CD_SECS_PER_DAY;
	char t[21];

	*due = false;
	if (r->c->now > r->camp.deadline_at) {
		fprintf(stderr,
			"certdesk: campaign %lld: the deadline %s has passed; no reminder\n",
			(long long)r->camp.campaign_id, r->camp.deadline);
		return 1;
	}
	if (r->c->now < from) {
		cd_time_format_utc(from + 1, t);
		printf("campaign %lld: the %d-day reminder is not due yet (from %s UTC); nothing "
		       "queued\n",
		       (long long)r->camp.campaign_id, r->days_before, t);
		return 0;
	}
	*due = true;
	return 0;
}

int cmd_campaign_mail(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "dry-run", no_argument, NULL, 'D' },
					      { "queue-only", no_argument, NULL, 'q' },
					      { "days-before", required_argument, NULL, 'd' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct run r = { .c = c };
	struct cd_err err = { 0 };
	bool remind = strcmp(argv[0], "remind") == 0, due;
	const char *which;
	int64_t sent = 0, failed = 0, queued;
	long rate = 0;
	char *end;
	int opt, rc;

	optind = 0; /* glibc: 0 starts getopt afresh */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			r.dry_run = true;
			break;
		case 'q':
			r.queue_only = true;
			break;
		case 'd':
			r.days_before = (int)strtol(optarg, &end, 10);
			if (!remind || *end || r.days_before < 1 || r.days_before > 366)
				return cli_usage("campaign", remind
								 ? "--days-before is 1..366"
								 : "--days-before is for remind");
			break;
		case 'h':
			fputs(NOTIFY_HELP, stdout);
			return 0;
		default:
			return cli_usage("campaign", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage("campaign", "campaign %s takes one campaign ID or NAME", argv[0]);
	if (remind && !r.days_before)
		return cli_usage("campaign", "campaign remind needs --days-before N");
	which = argv[optind];
	if ((rc = notify_settings_load(c->cfg, &r.s, &err)) ||
	    (rc = cd_config_get_int(c->cfg, "campaign", "mail_rate_per_second", 0, 100000, &rate,
				    &err)) ||
	    (rc = cli_store(c, true, &err)))
		return cli_fail(&err);
	long long id = strtoll(which, &end, 10);

	rc = *which && !*end ? store_campaign_get(c->st, id, &r.camp, &err)
			     : store_campaign_find(c->st, which, &r.camp, &err);
	if (rc)
		return cli_fail(&err);
	if (strcmp(r.camp.state, "active") != 0) {
		fprintf(stderr, "certdesk: campaign %lld is %s: no mail\n",
			(long long)r.camp.campaign_id, r.camp.state);
		return 1;
	}
	if ((rc = portal_link(&r, &err)) ||
	    (rc = notify_campaign_key(r.camp.campaign_id, r.days_before, NULL, r.prefix,
				      sizeof(r.prefix), &err)))
		return cli_fail(&err);
	if (remind)
		snprintf(r.notice, sizeof(r.notice), "remind-%d", r.days_before);
	else
		snprintf(r.notice, sizeof(r.notice), "notice");
	if (remind) {
		rc = remind_due(&r, &due);
		if (rc || !due)
			return rc;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);

	rc = queue_all(&r, &err);
	if (!rc && !r.dry_run && !stopping)
		rc = record_event(&r, &err);
	if (rc)
		return cli_fail(&err);
	printf("campaign %lld %s: %ld member(s); %ld mail(s) %s, %ld queued before, %ld with "
	       "nothing left to reissue, %ld without a mail address\n",
	       (long long)r.camp.campaign_id, r.notice, r.members, r.queued,
	       r.dry_run ? "to queue" : "queued", r.before, r.nothing, r.bad);
	printf("  in them: %ld certificate(s) to reissue, %ld not possible, %ld in progress; "
	       "%ld mail(s) in Japanese, %ld in English\n",
	       r.certs[CERT_STATUS_AVAILABLE], r.certs[CERT_STATUS_IMPOSSIBLE],
	       r.certs[CERT_STATUS_IN_PROGRESS], r.langs[LANG_JA], r.langs[LANG_EN]);
	if (r.dry_run) {
		printf("dry run: nothing was queued%s\n",
		       r.sample_shown ? "" : " (no member has anything to reissue)");
		return 0;
	}
	if (stopping) {
		printf("interrupted: run it again to queue the rest\n");
		return 1;
	}
	if (r.queue_only) {
		printf("queued only: `certdesk mail deliver` sends them\n");
		return r.bad ? 1 : 0;
	}
	rc = deliver_all(&r, rate, &sent, &failed, &err);
	if (rc)
		return cli_fail(&err);
	if (store_outbox_prefix_counts(c->st, r.prefix, &queued, &sent, &failed, &err))
		return cli_fail(&err);
	printf("delivered: %lld of %lld sent, %lld failed for good%s\n", (long long)sent,
	       (long long)queued, (long long)failed,
	       failed ? " (certdesk mail list --failed)" : "");
	if (stopping) {
		printf("interrupted: %lld still queued; run it again or `certdesk mail deliver`\n",
		       (long long)(queued - sent - failed));
		return 1;
	}
	return failed || r.bad ? 1 : 0;
}
