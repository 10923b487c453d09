/*
 * notify.c - the [mail] settings and queueing a mail: rendered to MIME with
 * its Message-ID fixed, then added to the outbox in the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "util/cdtime.h"

static int copy_setting(const cd_config_t *cfg, const char *section, const char *key, char *out,
			size_t outsz, struct cd_err *err)
{
	const char *v = cd_config_get(cfg, section, key);

	if (!v)
		v = "";
	if (strlen(v) >= outsz)
		return cd_err_set(err, CD_ECONFIG, false, "[%s] %s is longer than %zu bytes",
				  section, key, outsz - 1);
	snprintf(out, outsz, "%s", v);
	return 0;
}

/* A footer written on one INI line: "\n" stands for a line break. */
static void unescape_lines(char *s)
{
	char *o = s;

	for (const char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			*o++ = '\n';
			p++;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static int optional_path(const cd_config_t *cfg, const char *key, char *out, size_t outsz,
			 struct cd_err *err)
{
	const char *v = cd_config_get(cfg, "mail", key);

	out[0] = '\0';
	if (!v || !*v)
		return 0;
	return cd_config_get_path(cfg, "mail", key, out, outsz, err);
}

int notify_settings_load(const cd_config_t *cfg, struct notify_settings *s, struct cd_err *err)
{
	const struct {
		const char *key;
		long min, max;
		long *out;
	} ints[] = {
		{ "timeout_ms", 100, 600000, &s->timeout_ms },
		{ "connect_timeout_ms", 100, 600000, &s->connect_timeout_ms },
		{ "retry_base_ms", 1, 86400000, &s->retry_base_ms },
		{ "retry_cap_ms", 1, 7 * 86400000L, &s->retry_cap_ms },
		{ "max_attempts", 1, 1000, &s->max_attempts },
		{ "lease_seconds", 1, 86400, &s->lease_seconds },
		{ "batch", 1, 1000, &s->batch },
		{ "rate_per_second", 0, 100000, &s->rate_per_second },
		{ "poll_ms", 10, 600000, &s->poll_ms },
	};
	const char *tls, *at;
	int rc;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		rc = cd_config_get_int(cfg, "mail", ints[i].key, ints[i].min, ints[i].max,
				       ints[i].out, err);
		if (rc)
			return rc;
	}
	if (s->lease_seconds * 1000 < s->timeout_ms + 2000)
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] lease_seconds = %ld is too short for timeout_ms = %ld: a "
				  "delivery must end within the lease (give at least %ld)",
				  s->lease_seconds, s->timeout_ms, (s->timeout_ms + 2999) / 1000);
	if (s->retry_cap_ms < s->retry_base_ms)
		s->retry_cap_ms = s->retry_base_ms;
	if ((rc = copy_setting(cfg, "mail", "smtp_url", s->smtp_url, sizeof(s->smtp_url), err)) ||
	    (rc = copy_setting(cfg, "mail", "user", s->user, sizeof(s->user), err)) ||
	    (rc = copy_setting(cfg, "mail", "from", s->from, sizeof(s->from), err)) ||
	    (rc =
		 copy_setting(cfg, "mail", "from_name", s->from_name, sizeof(s->from_name), err)) ||
	    (rc = copy_setting(cfg, "mail", "reply_to", s->reply_to, sizeof(s->reply_to), err)) ||
	    (rc = copy_setting(cfg, "mail", "message_id_domain", s->message_id_domain,
			       sizeof(s->message_id_domain), err)) ||
	    (rc = copy_setting(cfg, "mail", "footer_ja", s->footer[LANG_JA],
			       sizeof(s->footer[LANG_JA]), err)) ||
	    (rc = copy_setting(cfg, "mail", "footer_en", s->footer[LANG_EN],
			       sizeof(s->footer[LANG_EN]), err)) ||
	    (rc = copy_setting(cfg, "provider", "name", s->provider, sizeof(s->provider), err)) ||
	    (rc = copy_setting(cfg, "provider", "timezone", s->timezone, sizeof(s->timezone),
			       err)) ||
	    (rc = optional_path(cfg, "ca_file", s->ca_file, sizeof(s->ca_file), err)) ||
	    (rc = optional_path(cfg, "password_file", s->password_file, sizeof(s->password_file),
				err)))
		return rc;
	unescape_lines(s->footer[LANG_JA]);
	unescape_lines(s->footer[LANG_EN]);
	if (strncmp(s->smtp_url, "smtp://", 7) != 0 && strncmp(s->smtp_url, "smtps://", 8) != 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] smtp_url '%.80s' is not smtp://HOST[:PORT] or "
				  "smtps://HOST[:PORT]",
				  s->smtp_url);
	tls = cd_config_get(cfg, "mail", "starttls");
	if (!tls || !strcmp(tls, "no"))
		s->starttls = NOTIFY_TLS_NO;
	else if (!strcmp(tls, "try"))
		s->starttls = NOTIFY_TLS_TRY;
	else if (!strcmp(tls, "required") || !strcmp(tls, "yes"))
		s->starttls = NOTIFY_TLS_REQUIRED;
	else
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] starttls = '%.40s' is not no, try or required", tls);
	if (!notify_addr_valid(s->from))
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] from = '%.80s' is not a mail address", s->from);
	if (s->reply_to[0] && !notify_addr_valid(s->reply_to))
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] reply_to = '%.80s' is not a mail address", s->reply_to);
	if (s->user[0] && !s->password_file[0])
		return cd_err_set(err, CD_ECONFIG, false,
				  "[mail] user is set but password_file is not");
	if (!s->from_name[0])
		snprintf(s->from_name, sizeof(s->from_name), "%s", s->provider);
	if (!s->message_id_domain[0]) {
		at = strchr(s->from, '@');
		snprintf(s->message_id_domain, sizeof(s->message_id_domain), "%s", at + 1);
	}
	return cd_tz_check(s->timezone, err);
}

/* The subject kept beside the message for listings: at most 480 bytes, cut
 * at a character boundary (the message itself has it whole). */
static void listing_subject(const char *subject, char out[481])
{
	size_t n = strlen(subject ? subject : "");

	if (n > 480) {
		n = 480;
		while (n > 0 && ((unsigned char)subject[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, subject ? subject : "", n);
	out[n] = '\0';
}

int notify_enqueue(store_t *st, const struct notify_settings *s, const struct notify_mail *m,
		   int64_t now, char msgid[NOTIFY_MSGID_MAX], bool *created, struct cd_err *err)
{
	char id[NOTIFY_MSGID_MAX], *msg = NULL, subject[481];
	struct store_outbox_msg row;
	bool found;
	size_t len;
	int offset, rc;

	*created = false;
	msgid[0] = '\0';
	if (!m->dedup_key || !*m->dedup_key || !m->kind || !*m->kind)
		return cd_err_set(err, CD_EINVAL, false, "a mail needs a kind and a dedup key");
	if (!notify_addr_valid(m->rcpt))
		return cd_err_set(err, CD_EINVAL, false, "mail '%s': '%.80s' is not a mail address",
				  m->dedup_key, m->rcpt ? m->rcpt : "");
	/* queued already: do not render again (a retried step of the pipeline) */
	rc = store_outbox_find(st, m->dedup_key, &row, &found, err);
	if (rc)
		return rc;
	if (found) {
		snprintf(msgid, NOTIFY_MSGID_MAX, "%s", row.message_id);
		return 0;
	}
	rc = notify_message_id_new(s->message_id_domain, id, sizeof(id), err);
	if (rc)
		return rc;
	rc = cd_tz_offset(s->timezone, now, &offset, err);
	if (rc)
		return rc;
	rc = notify_mime_build(&(struct notify_mime){ .from_name = s->from_name,
						      .from_addr = s->from,
						      .to_name = m->rcpt_name,
						      .to_addr = m->rcpt,
						      .reply_to = s->reply_to,
						      .subject = m->subject,
						      .body = m->body,
						      .message_id = id,
						      .date = now,
						      .tz_offset = offset },
			       &msg, &len, err);
	if (rc)
		return rc;
	listing_subject(m->subject, subject);
	rc = store_outbox_add(st,
			      &(struct store_outbox_add){ .message_id = id,
							  .dedup_key = m->dedup_key,
							  .kind = m->kind,
							  .member_id = m->member_id,
							  .order_id = m->order_id,
							  .campaign_id = m->campaign_id,
							  .rcpt = m->rcpt,
							  .subject = subject,
							  .message = msg },
			      now, msgid, NOTIFY_MSGID_MAX, created, err);
	free(msg);
	return rc;
}
