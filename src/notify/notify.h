/*
 * notify.h - certdesk's mail: MIME messages (UTF-8, RFC 2047 headers), the
 * reissue-complete mail in Japanese and English, the outbox, SMTP delivery.
 *
 * A mail is rendered and queued in the caller's transaction with its
 * Message-ID fixed then (invariant 5); notify_deliver_due() sends what is
 * due over SMTP (libcurl) from any thread or process, retrying with capped
 * exponential backoff and jitter, and marks a message failed (reported,
 * listed, never dropped) after [mail] max_attempts. A dead SMTP server only
 * delays mail.
 */
#ifndef CD_NOTIFY_NOTIFY_H
#define CD_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/i18n.h"
#include "store/store.h"
#include "util/config.h"
#include "util/err.h"

#define NOTIFY_MSGID_MAX 256 /* a Message-ID without angle brackets, with its NUL */

/* --- settings ([mail] in the config) -------------------------------------- */

enum notify_tls { NOTIFY_TLS_NO, NOTIFY_TLS_TRY, NOTIFY_TLS_REQUIRED };

struct notify_settings {
	char smtp_url[512];
	enum notify_tls starttls;
	char ca_file[4096];	  /* "" = the system's */
	char user[256];		  /* "" = no AUTH */
	char password_file[4096]; /* read when sending, wiped after */
	char from[321], from_name[256], reply_to[321];
	char message_id_domain[254];
	char provider[256]; /* [provider] name */
	char timezone[64];  /* [provider] timezone */
	char footer[LANG_COUNT][2048];
	long timeout_ms, connect_timeout_ms;
	long retry_base_ms, retry_cap_ms, max_attempts, lease_seconds, batch;
	long rate_per_second, poll_ms;
};
int notify_settings_load(const cd_config_t *cfg, struct notify_settings *s, struct cd_err *err);

/* --- MIME ------------------------------------------------------------------ */

/* Whether addr is an addr-spec certdesk sends to: printable ASCII, one '@',
 * no spaces, angle brackets, quotes or controls, at most 254 bytes. */
bool notify_addr_valid(const char *addr);

/* A fresh random Message-ID "HEX@domain" (no angle brackets) into out. */
int notify_message_id_new(const char *domain, char *out, size_t outsz, struct cd_err *err);

/* "Name: value\r\n" with value as unstructured text (RFC 5322 §2.2.3):
 * controls dropped, plain ASCII folded at spaces, anything else as RFC 2047
 * B encoded-words of UTF-8, every line at most 76 characters. *out is
 * malloc'd. */
int notify_header_text(const char *name, const char *value, char **out, struct cd_err *err);
/* "Name: display <addr>\r\n": the display name stripped of CR, LF and other
 * controls, quoted or encoded as needed; addr must pass notify_addr_valid. */
int notify_header_address(const char *name, const char *display, const char *addr, char **out,
			  struct cd_err *err);

struct notify_mime {
	const char *from_name, *from_addr; /* from_name may be NULL */
	const char *to_name, *to_addr;	   /* to_name may be NULL */
	const char *reply_to;		   /* NULL or "" = none */
	const char *subject, *body;	   /* UTF-8; body lines end in \n or \r\n */
	const char *message_id;		   /* without angle brackets */
	int64_t date;			   /* the Date header's instant */
	int tz_offset;			   /* seconds east of UTC for the Date header */
};
/* The whole message (headers, blank line, base64 body), CRLF lines. *out is
 * malloc'd and NUL-terminated. */
int notify_mime_build(const struct notify_mime *m, char **out, size_t *len, struct cd_err *err);

/* --- queueing -------------------------------------------------------------- */

/* A mail to queue: the generic form the campaign mail uses. */
struct notify_mail {
	const char *kind;      /* "order_done", "campaign", ... */
	const char *dedup_key; /* one mail per key, ever */
	const char *member_id; /* may be NULL */
	int64_t order_id, campaign_id;
	const char *rcpt, *rcpt_name; /* rcpt_name may be NULL */
	const char *subject, *body;   /* UTF-8 */
};
/* Renders the mail with [mail] from, from_name, reply_to and a new
 * Message-ID, and adds it to the outbox in the caller's transaction (or its
 * own when none is open). *created is false when the key was queued before;
 * msgid receives the Message-ID queued for the key either way. */
int notify_enqueue(store_t *st, const struct notify_settings *s, const struct notify_mail *m,
		   int64_t now, char msgid[NOTIFY_MSGID_MAX], bool *created, struct cd_err *err);

/* The facts of a completed reissue order that the customer's mail states. */
struct notify_order_done {
	int64_t order_id;
	const char *certificate_id, *member_id;
	const char *rcpt, *rcpt_name; /* the member's address and display name */
	const char *common_name;
	const char *const *names; /* every name on the certificate */
	size_t n_names;
	int64_t not_before, not_after; /* of the certificate issued */
	bool shortened;		       /* the validity is shorter than the contract */
	int64_t term_end_at;	       /* the contract's last second (0 = not shown) */
	const char *serial;	       /* hex */
	const char *sha256;	       /* hex fingerprint of the DER certificate */
};
/* Renders the reissue-complete mail (subject and body, for tests and
 * dry runs). *subject and *body are malloc'd. */
int notify_order_done_render(const struct notify_settings *s, const struct notify_order_done *o,
			     enum lang lang, char **subject, char **body, struct cd_err *err);
/* Renders and queues it with dedup key "order-done:<order_id>", in the
 * caller's transaction (the one making the `notified` transition). */
int notify_order_done_enqueue(store_t *st, const struct notify_settings *s,
			      const struct notify_order_done *o, enum lang lang, int64_t now,
			      char msgid[NOTIFY_MSGID_MAX], bool *created, struct cd_err *err);

/* --- delivery -------------------------------------------------------------- */

/* Sends one message now (no outbox): `certdesk mail test`. */
int notify_smtp_send(const struct notify_settings *s, const char *rcpt, const char *message,
		     size_t len, struct cd_err *err);

/* The delay before attempt `attempts + 1` after `attempts` failed ones:
 * min(cap, base * 2^(attempts-1)), then a uniform jitter in [d/2, d]. r is a
 * uniform random number in [0, 1). In milliseconds. */
long notify_backoff_ms(long base_ms, long cap_ms, int attempts, double r);

/* One delivery pass: claims up to `limit` due messages (0 = [mail] batch)
 * with a lease, sends each, marks it sent or schedules its retry; after
 * [mail] max_attempts (or a permanent 5xx refusal) marks it failed, logs it
 * and records a "mail.failed" event. When the server cannot be reached the
 * rest of the batch is given back untried. Counts what it sent and what
 * failed (retry scheduled or failed for good). Safe from several threads
 * (each with its own store) and processes. Fails only when the store does. */
int notify_deliver_due(store_t *st, const struct notify_settings *s, int limit, int64_t now,
		       int *sent, int *failed, struct cd_err *err);

/* --- the campaign mail (src/notify/campaign_mail.c) ------------------------ */

/* One affected certificate as the campaign mail lists it: the status and
 * reasons come from eligibility_of(), as `certdesk status` shows them. */
struct notify_campaign_cert {
	const char *product, *common_name, *server; /* server "" when no site */
	enum cert_status status;
	unsigned reasons;	/* bits of enum cert_reason, when impossible */
	enum order_state stage; /* when in progress */
	enum failure_code last_failure;
	int64_t deadline; /* the deadline it counts under (the earliest campaign's) */
};

/* The reissue-request mail of a campaign to one member, or a reminder
 * (days_before > 0: "N days before the deadline"). */
struct notify_campaign_mail {
	int64_t campaign_id;
	int days_before; /* 0: the first notice */
	const char *member_id, *rcpt, *rcpt_name;
	const char *link;    /* <[web] base_url>/reissue?campaign=ID */
	int64_t deadline_at; /* the campaign's deadline (its last second) */
	const struct notify_campaign_cert *certs;
	size_t n_certs;
};
/* The outbox key of a member's mail for a notice: "campaign:ID:notice:M" or
 * "campaign:ID:remind-N:M"; member NULL gives the notice's prefix. */
int notify_campaign_key(int64_t campaign_id, int days_before, const char *member_id, char *out,
			size_t outsz, struct cd_err *err);
/* Renders it (subject and body malloc'd), for queueing and dry runs. */
int notify_campaign_render(const struct notify_settings *s, const struct notify_campaign_mail *m,
			   enum lang lang, char **subject, char **body, struct cd_err *err);
/* Renders and queues it under notify_campaign_key(): at most once per member
 * and notice, ever; *created false when it was queued before. */
int notify_campaign_enqueue(store_t *st, const struct notify_settings *s,
			    const struct notify_campaign_mail *m, enum lang lang, int64_t now,
			    char msgid[NOTIFY_MSGID_MAX], bool *created, struct cd_err *err);

#endif
