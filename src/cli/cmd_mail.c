/*
 * cmd_mail.c - `certdesk mail test|deliver|list|retry`: the operator's view of
 * the mail outbox: check the SMTP settings with one sample, deliver what is
 * due (once, or as a loop), see what is pending or failed, queue failed again.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "notify/notify.h"
#include "util/cdtime.h"

static const char MAIL_HELP[] =
    "usage: certdesk mail test --to ADDR [--lang ja|en] [--name NAME] [--queue]\n"
    "       certdesk mail deliver [--once] [--limit N]\n"
    "       certdesk mail list [--pending | --failed | --sent] [--limit N]\n"
    "       certdesk mail retry (--all | MESSAGE-ID)\n\n"
    "test     renders a sample reissue-complete mail (Japanese unless --lang en) to\n"
    "         ADDR and sends it at once with the [mail] settings, saying what the\n"
    "         SMTP server answered; --queue puts it in the outbox instead, for the\n"
    "         next delivery. --name sets the recipient's display name.\n"
    "deliver  sends what is due in the outbox: --once until nothing is due now,\n"
    "         else a loop every [mail] poll_ms until interrupted. A message that\n"
    "         cannot be sent is retried with backoff ([mail] retry_base_ms,\n"
    "         retry_cap_ms) and fails for good after [mail] max_attempts.\n"
    "list     the outbox, oldest first (status, attempts, the last error).\n"
    "retry    makes failed messages due again (their Message-ID is kept).\n";

static int settings(struct cli *c, struct notify_settings *s, struct cd_err *err)
{
	return notify_settings_load(c->cfg, s, err);
}

/* A sample order's facts: what the real mail says, for made-up names. */
static int mail_test(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },	  { "lang", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' }, { "queue", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },	  { NULL, 0, NULL, 0 }
	};
	static const char *const names[] = { "example.jp", "www.example.jp" };
	struct notify_settings s;
	struct cd_err err = { 0 };
	const char *to = NULL, *name = NULL;
	char *subject = NULL, *body = NULL, *msg = NULL, msgid[NOTIFY_MSGID_MAX], key[300];
	enum lang lang = LANG_JA;
	bool queue = false, created;
	size_t len;
	int offset, opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			to = optarg;
			break;
		case 'l':
			if (lang_parse(optarg, &lang, &err))
				return cli_usage("mail", "--lang: %s", err.msg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'q':
			queue = true;
			break;
		case 'h':
			fputs(MAIL_HELP, stdout);
			return 0;
		default:
			return cli_usage("mail", "unknown option");
		}
	}
	if (!to || optind < argc)
		return cli_usage("mail", "mail test needs --to ADDR");
	if (!notify_addr_valid(to))
		return cli_usage("mail", "--to '%s' is not a mail address", to);
	if (settings(c, &s, &err))
		return cli_fail(&err);
	struct notify_order_done o = {
		.order_id = 0,
		.certificate_id = "sample",
		.rcpt = to,
		.rcpt_name = name,
		.common_name = names[0],
		.names = names,
		.n_names = 2,
		.not_before = c->now,
		.not_after = c->now + 199 * 86400 + 86399,
		.shortened = true,
		.term_end_at = c->now + 500 * 86400,
		.serial = "04a1b2c3d4e5f60718293a4b5c6d7e8f9001",
		.sha256 = "3f6c1e0b9a8d7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffeed",
	};
	rc = notify_order_done_render(&s, &o, lang, &subject, &body, &err);
	if (rc)
		goto fail;
	if (queue) {
		if ((rc = cli_store(c, true, &err)) ||
		    (rc = notify_message_id_new(s.message_id_domain, msgid, sizeof(msgid), &err)))
			goto fail;
		snprintf(key, sizeof(key), "test:%s", msgid);
		rc = notify_enqueue(c->st, &s,
				    &(struct notify_mail){ .kind = "test",
							   .dedup_key = key,
							   .rcpt = to,
							   .rcpt_name = name,
							   .subject = subject,
							   .body = body },
				    c->now, msgid, &created, &err);
		if (rc)
			goto fail;
		printf("queued <%s> to %s\n", msgid, to);
		goto out;
	}
	if ((rc = notify_message_id_new(s.message_id_domain, msgid, sizeof(msgid), &err)) ||
	    (rc = cd_tz_offset(s.timezone, c->now, &offset, &err)))
		goto fail;
	rc = notify_mime_build(&(struct notify_mime){ .from_name = s.from_name,
						      .from_addr = s.from,
						      .to_name = name,
						      .to_addr = to,
						      .reply_to = s.reply_to,
						      .subject = subject,
						      .body = body,
						      .message_id = msgid,
						      .date = c->now,
						      .tz_offset = offset },
			       &msg, &len, &err);
	if (rc)
		goto fail;
	rc = notify_smtp_send(&s, to, msg, len, &err);
	if (rc)
		goto fail;
	printf("sent <%s> to %s through %s\n", msgid, to, s.smtp_url);
out:
	free(subject);
	free(body);
	free(msg);
	return 0;
fail:
	free(subject);
	free(body);
	free(msg);
	return cli_fail(&err);
}

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int mail_deliver(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "once", no_argument, NULL, 'o' },
					      { "limit", required_argument, NULL, 'l' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct notify_settings s;
	struct cd_err err = { 0 };
	int64_t pending, done, failed_total;
	long total_sent = 0, total_failed = 0;
	int limit = 0, opt, sent, failed;
	bool once = false;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			once = true;
			break;
		case 'l':
			limit = atoi(optarg);
			if (limit < 1 || limit > 1000)
				return cli_usage("mail", "--limit is 1..1000");
			break;
		case 'h':
			fputs(MAIL_HELP, stdout);
			return 0;
		default:
			return cli_usage("mail", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage("mail", "unexpected '%s'", argv[optind]);
	if (settings(c, &s, &err) || cli_store(c, true, &err))
		return cli_fail(&err);
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	while (!stopping) {
		if (notify_deliver_due(c->st, &s, limit, cd_time_now(), &sent, &failed, &err))
			return cli_fail(&err);
		total_sent += sent;
		total_failed += failed;
		if (sent + failed > 0)
			continue;
		if (once)
			break;
		struct timespec ts = { s.poll_ms / 1000, (s.poll_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	if (store_outbox_counts(c->st, &pending, &done, &failed_total, &err))
		return cli_fail(&err);
	printf("sent %ld, not sent %ld in this run; outbox: %lld pending, %lld sent, %lld "
	       "failed\n",
	       total_sent, total_failed, (long long)pending, (long long)done,
	       (long long)failed_total);
	return 0;
}

static int print_row(const struct store_outbox_msg *m, void *arg)
{
	char t[21];
	const char *status = m->sent_at ? "sent" : m->failed_at ? "failed" : "pending";

	(void)arg;
	cd_time_format_utc(m->sent_at	  ? m->sent_at
			   : m->failed_at ? m->failed_at
					  : m->next_attempt_at,
			   t);
	printf("%-8s %s  <%s>  %s  %s  attempts=%d", status, t, m->message_id, m->kind, m->rcpt,
	       m->attempts);
	if (m->order_id)
		printf("  order=%lld", (long long)m->order_id);
	if (m->campaign_id)
		printf("  campaign=%lld", (long long)m->campaign_id);
	if (!m->sent_at && m->last_error[0])
		printf("\n         last error: %s", m->last_error);
	printf("\n");
	return 0;
}

static int mail_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pending", no_argument, NULL, 'p' }, { "failed", no_argument, NULL, 'f' },
		{ "sent", no_argument, NULL, 's' },    { "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },    { NULL, 0, NULL, 0 }
	};
	enum store_outbox_filter f = STORE_OUTBOX_ALL;
	struct cd_err err = { 0 };
	int limit = 0, opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			f = STORE_OUTBOX_PENDING;
			break;
		case 'f':
			f = STORE_OUTBOX_FAILED;
			break;
		case 's':
			f = STORE_OUTBOX_SENT;
			break;
		case 'l':
			limit = atoi(optarg);
			if (limit < 1)
				return cli_usage("mail", "--limit is a positive number");
			break;
		case 'h':
			fputs(MAIL_HELP, stdout);
			return 0;
		default:
			return cli_usage("mail", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage("mail", "unexpected '%s'", argv[optind]);
	if (cli_store(c, true, &err) || store_outbox_each(c->st, f, limit, print_row, NULL, &err))
		return cli_fail(&err);
	return 0;
}

static int mail_retry(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct cd_err err = { 0 };
	const char *id = NULL;
	bool all = false;
	char buf[NOTIFY_MSGID_MAX];
	int opt, n;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt == 'h') {
			fputs(MAIL_HELP, stdout);
			return 0;
		} else
			return cli_usage("mail", "unknown option");
	}
	if (optind < argc)
		id = argv[optind++];
	if (all == (id != NULL) || optind < argc)
		return cli_usage("mail", "mail retry takes --all or one MESSAGE-ID");
	if (id) { /* "<id>" as printed, or the bare id */
		snprintf(buf, sizeof(buf), "%s", id[0] == '<' ? id + 1 : id);
		if (buf[0] && buf[strlen(buf) - 1] == '>')
			buf[strlen(buf) - 1] = '\0';
		id = buf;
	}
	if (cli_store(c, true, &err) || store_outbox_retry_failed(c->st, id, c->now, &n, &err))
		return cli_fail(&err);
	printf("%d failed message%s due again\n", n, n == 1 ? "" : "s");
	return n == 0 && id ? 1 : 0;
}

int cmd_mail(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		fputs(MAIL_HELP, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	if (!strcmp(sub, "test"))
		return mail_test(c, argc - 1, argv + 1);
	if (!strcmp(sub, "deliver"))
		return mail_deliver(c, argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return mail_list(c, argc - 1, argv + 1);
	if (!strcmp(sub, "retry"))
		return mail_retry(c, argc - 1, argv + 1);
	return cli_usage("mail", "unknown subcommand '%s' (test, deliver, list, retry)", sub);
}
