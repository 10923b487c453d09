/*
 * store.h - certdesk's one store: the interface every stage uses.
 *
 * Opened from a URL: "sqlite:PATH" (the embedded default) or, with the
 * PostgreSQL backend, "postgresql://..." (several certdesk nodes, one
 * database). A store_t is one connection used by one thread at a time;
 * threads open their own. Nothing here exposes the backend: values are C
 * strings and int64 seconds since the epoch (UTC); the caller passes "now".
 *
 * Writes that belong together run in one transaction (store_begin /
 * store_commit / store_rollback; nested begins join the outer one).
 */
#ifndef CD_STORE_STORE_H
#define CD_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/eligibility.h"
#include "util/err.h"

typedef struct store store_t;

struct store_options {
	long busy_timeout_ms; /* 0 = 5000 */
};

int store_open(const char *url, const struct store_options *opt, store_t **out, struct cd_err *err);
void store_close(store_t *st);
/* The URL as it may be shown: a password in it replaced by "***". */
void store_url_redact(const char *url, char *out, size_t outsz);
const char *store_backend(const store_t *st); /* "sqlite" */

/* Schema: the version in the store and the latest this program knows. */
int store_schema_version(store_t *st, int *current, int *latest, struct cd_err *err);
/* Applies every pending migration, each in its own transaction. */
int store_migrate(store_t *st, int64_t now, int *applied, struct cd_err *err);
/* Refuses (with what to run) when the store is not at the latest version. */
int store_require_current(store_t *st, struct cd_err *err);

int store_begin(store_t *st, struct cd_err *err);
int store_commit(store_t *st, struct cd_err *err);
void store_rollback(store_t *st);

/* --- inventory (DESIGN.md §5); upserts by natural key --------------------
 * *changed is 1 when the row was inserted or a value differed, 0 when the
 * same row was already there (re-importing a file changes nothing). */

struct store_member {
	const char *member_id, *email, *display_name, *locale;
	const char *password_hash; /* NULL: keep none (SSO only) */
};
int store_member_upsert(store_t *st, const struct store_member *m, int64_t now, int *changed,
			struct cd_err *err);
int store_member_exists(store_t *st, const char *member_id, bool *exists, struct cd_err *err);

struct store_member_row {
	char member_id[65], email[255], display_name[256], locale[8];
	char password_hash[256]; /* "" when none (SSO only) */
	bool has_password;
};
int store_member_get(store_t *st, const char *member_id, struct store_member_row *out,
		     struct cd_err *err);

struct store_server {
	const char *server, *ipv4, *ipv6, *state, *driver; /* ipv4/ipv6 NULL when none */
	int http_port, https_port;
};
int store_server_upsert(store_t *st, const struct store_server *s, int64_t now, int *changed,
			struct cd_err *err);
int store_server_exists(store_t *st, const char *server, bool *exists, struct cd_err *err);

struct store_site {
	const char *fqdn, *member_id, *server, *state;
};
int store_site_upsert(store_t *st, const struct store_site *s, int64_t now, int *changed,
		      struct cd_err *err);

struct store_setting {
	const char *fqdn, *common_name;
	int64_t created_at;
};
int store_setting_upsert(store_t *st, const struct store_setting *s, int *changed,
			 struct cd_err *err);

/* What a server has installed: one row per name a leaf covers. Replaces
 * everything recorded for the server. */
struct store_installed {
	const char *name, *sha256, *serial, *issuer_dn, *source_file;
	int64_t not_after;
};
int store_installed_replace(store_t *st, const char *server, const struct store_installed *rows,
			    size_t n, int64_t now, int *changed, struct cd_err *err);

struct store_certificate {
	const char *certificate_id, *member_id, *product, *common_name;
	const char *term_start, *term_end; /* YYYY-MM-DD, provider's zone */
	int64_t term_end_at;		   /* the term's last second */
};
struct store_issuance {
	const char *source; /* "import" | "acme" */
	const char *ca;	    /* NULL for imported */
	const char *issuer_dn, *issuer_der_hex, *aki, *serial, *sha256, *sans, *key_type;
	const char *chain_pem;
	const char *key_secret_id; /* NULL when the key is not ours */
	int64_t not_before, not_after;
	int64_t order_id; /* 0 when imported */
};
/* Upserts the certificate and records the imported issuance. The imported
 * issuance becomes current unless a newer one (by not_before, or one that
 * certdesk issued) is current already. */
int store_certificate_import(store_t *st, const struct store_certificate *c,
			     const struct store_issuance *is, int64_t now, int *changed,
			     struct cd_err *err);
int store_certificate_exists(store_t *st, const char *certificate_id, bool *exists,
			     struct cd_err *err);

/* --- campaigns ----------------------------------------------------------- */

struct store_campaign {
	int64_t campaign_id;
	char name[129];
	char criteria[2048]; /* JSON */
	char deadline[11], revocation_date[11];
	int64_t deadline_at, revocation_at; /* revocation_at 0 when none */
	char state[16];
	char created_by[160];
	int64_t created_at;
	int64_t targets; /* number of targeted certificates */
};

/* Distinct issuers among current issuances: fn(issuer_der_hex, issuer_dn, count). */
int store_issuers_each(store_t *st,
		       int (*fn)(const char *der_hex, const char *dn, int64_t count, void *arg),
		       void *arg, struct cd_err *err);

/* Which issuances a campaign targets: the certificate's current issuance,
 * still valid at `now`, and matching every criterion given. */
struct store_campaign_filter {
	const char *const *issuer_der_hex; /* any of these issuers (NULL/0: any) */
	size_t n_issuers;
	const char *aki;	    /* with --issuer-cert: the issuer's SKI, or NULL */
	const char *const *serials; /* normalised hex; NULL: no serial criterion */
	size_t n_serials;
	int64_t issued_from, issued_to; /* not_before in [from, to); 0 = unbounded */
	const char *const *products;
	size_t n_products;
	int64_t now;
};
/* Creates the campaign and its targets in the current transaction. */
int store_campaign_create(store_t *st, struct store_campaign *c,
			  const struct store_campaign_filter *f, struct cd_err *err);
int store_campaign_get(store_t *st, int64_t id, struct store_campaign *out, struct cd_err *err);
int store_campaign_find(store_t *st, const char *name, struct store_campaign *out,
			struct cd_err *err);
int store_campaign_each(store_t *st, int (*fn)(const struct store_campaign *c, void *arg),
			void *arg, struct cd_err *err);
/* The certificates a campaign targets: fn(certificate_id). */
int store_campaign_targets_each(store_t *st, int64_t campaign_id,
				int (*fn)(const char *certificate_id, void *arg), void *arg,
				struct cd_err *err);

/* --- a certificate as the member sees it ----------------------------------
 * Everything eligibility_of() needs, and what the list shows beside it. */

#define STORE_MAX_TARGETS 8

struct store_cert_view {
	char certificate_id[65], member_id[65], product[33], common_name[254];
	char term_start[11], term_end[11];
	char server[65]; /* "" when no site */
	char issuer_dn[512], serial[41], sha256[65];
	int64_t not_before, not_after, term_end_at;
	int64_t current_issuance_id;
	int64_t open_order_id; /* 0 when none */
	int64_t last_order_id; /* 0 when none */
	char failure_detail[256];
	struct campaign_target targets[STORE_MAX_TARGETS];
	struct cert_facts facts; /* facts.targets points into targets */
};

/* Every certificate of a member, ordered by common name then id. */
int store_member_certificates(store_t *st, const char *member_id, int64_t now,
			      int (*fn)(const struct store_cert_view *v, void *arg), void *arg,
			      struct cd_err *err);
int store_certificate_view(store_t *st, const char *certificate_id, int64_t now,
			   struct store_cert_view *out, struct cd_err *err);

/* --- orders and events --------------------------------------------------- */

struct store_event {
	int64_t at;
	const char *actor, *kind;
	int64_t order_id, campaign_id; /* 0 = none */
	const char *certificate_id, *from_state, *to_state, *detail;
	const char *source; /* where the actor acted from; NULL: the store's (store_set_source) */
};
int store_event_add(store_t *st, const struct store_event *e, struct cd_err *err);
int store_events_each(store_t *st, const char *certificate_id, int64_t order_id,
		      int (*fn)(const struct store_event *e, void *arg), void *arg,
		      struct cd_err *err);

/* Creates a queued order for the certificate's current issuance, with its
 * event, in one transaction. A second open order for the certificate is
 * refused by the store's unique index: -CD_ECONFLICT. request_key (may be
 * NULL) makes a replayed request return the same order (*created = false). */
int store_order_create(store_t *st, const char *certificate_id, int64_t campaign_id,
		       const char *actor, const char *request_key, int64_t now, int64_t *order_id,
		       bool *created, struct cd_err *err);

/* --- sealed secrets ------------------------------------------------------ */

int store_secret_put(store_t *st, const char *secret_id, const char *kind, int kid,
		     const char *sealed, int64_t now, struct cd_err *err);
/* *sealed is malloc'd; the caller frees it. */
int store_secret_get(store_t *st, const char *secret_id, char **sealed, int *kid,
		     struct cd_err *err);
int store_secret_each(store_t *st,
		      int (*fn)(const char *secret_id, int kid, const char *sealed, void *arg),
		      void *arg, struct cd_err *err);
int store_secret_update(store_t *st, const char *secret_id, int kid, const char *sealed,
			struct cd_err *err);

/* Seal a secret under the active master key and store it, and the reverse.
 * The associated data is "secret:<secret_id>", so a sealed value copied to
 * another row does not open. *pt is wiped and freed with secretbox_free_plain. */
struct secretbox;
int store_secret_seal(store_t *st, const struct secretbox *box, const char *secret_id,
		      const char *kind, const unsigned char *pt, size_t len, int64_t now,
		      struct cd_err *err);
int store_secret_unseal(store_t *st, const struct secretbox *box, const char *secret_id,
			unsigned char **pt, size_t *len, struct cd_err *err);
/* Re-seals every secret not sealed under the active key, in one transaction;
 * *resealed counts them. */
int store_secrets_reseal(store_t *st, const struct secretbox *box, int *resealed,
			 struct cd_err *err);

/* --- web: the customer portal (src/store/web.c) ----------------------------
 * Sessions (256-bit ids, only their SHA-256 kept), members' API tokens (only
 * their SHA-256 kept), login throttling counters, and the reads the pages
 * need beside the certificate view: an order with its owner, a server's
 * addresses. Hashes are 64 lowercase hex characters. */

struct store_web_session {
	char member_id[65];
	char csrf_token[65];
	int64_t created_at, last_seen_at, expires_at;
};
int store_web_session_create(store_t *st, const char *hash, const char *member_id,
			     const char *csrf_token, const char *client_addr, int64_t now,
			     int64_t expires_at, struct cd_err *err);
/* -CD_ENOTFOUND when there is no such session. */
int store_web_session_get(store_t *st, const char *hash, struct store_web_session *out,
			  struct cd_err *err);
int store_web_session_touch(store_t *st, const char *hash, int64_t now, struct cd_err *err);
int store_web_session_delete(store_t *st, const char *hash, struct cd_err *err);
/* Deletes sessions past their absolute expiry or idle since before idle_before. */
int store_web_sessions_purge(store_t *st, int64_t now, int64_t idle_before, int *deleted,
			     struct cd_err *err);

/* Login throttling: failures of a key in its window (0 when none or the
 * window, in seconds, has passed since the last failure). */
int store_web_throttle_get(store_t *st, const char *key, int64_t now, int64_t window, int *failures,
			   int64_t *last_failure_at, struct cd_err *err);
/* Counts one more failure (a new window when the last one is older than
 * window); *failures is the count after it. */
int store_web_throttle_fail(store_t *st, const char *key, int64_t now, int64_t window,
			    int *failures, struct cd_err *err);
int store_web_throttle_clear(store_t *st, const char *key, struct cd_err *err);

/* An order as its page shows it, with the member owning its certificate. */
struct store_web_order {
	int64_t order_id, campaign_id, new_issuance_id;
	char certificate_id[65], member_id[65], common_name[254], product[33];
	char state[16], failure[40], failure_detail[256], requested_by[160];
	bool failure_retryable, revocation_pending;
	int attempt;
	int64_t created_at, updated_at;
	int64_t new_not_before, new_not_after; /* 0 until issued */
};
/* -CD_ENOTFOUND when there is no such order. */
int store_web_order_get(store_t *st, int64_t order_id, struct store_web_order *out,
			struct cd_err *err);

struct store_web_server {
	char server[65], ipv4[64], ipv6[64], state[16];
};
int store_web_server_get(store_t *st, const char *server, struct store_web_server *out,
			 struct cd_err *err);

/* Replaces a member's password hash (a rehash at login to the current
 * parameters); -CD_ENOTFOUND when there is no such member. */
int store_web_member_password_set(store_t *st, const char *member_id, const char *phc, int64_t now,
				  struct cd_err *err);

/* Members' API tokens. */
int store_web_token_create(store_t *st, const char *member_id, const char *hash, const char *label,
			   int64_t now, int64_t *token_id, struct cd_err *err);
/* The member of a live (not revoked) token; records its use. -CD_ENOTFOUND otherwise. */
int store_web_token_member(store_t *st, const char *hash, int64_t now, char member_id[65],
			   struct cd_err *err);
struct store_web_token {
	int64_t token_id, created_at, revoked_at, last_used_at; /* 0 = never */
	const char *label;
};
int store_web_tokens_each(store_t *st, const char *member_id,
			  int (*fn)(const struct store_web_token *t, void *arg), void *arg,
			  struct cd_err *err);
/* -CD_ENOTFOUND when the member has no such live token. */
int store_web_token_revoke(store_t *st, const char *member_id, int64_t token_id, int64_t now,
			   struct cd_err *err);

/* --- notify: the mail outbox (invariant 5) --------------------------------
 * A mail is added in the same transaction as the change that causes it (a
 * nested store_begin joins the caller's), with its Message-ID fixed then.
 * dedup_key names the cause ("order-done:42"): a second add for the same key
 * changes nothing and returns the Message-ID already queued. Delivery claims
 * due messages with a lease (several threads or processes may deliver); a
 * claim counts as an attempt; a message whose lease expired (its deliverer
 * died) is claimed again and redelivered with the same Message-ID. */

struct store_outbox_add {
	const char *message_id; /* without the angle brackets */
	const char *dedup_key, *kind;
	const char *member_id;	       /* NULL when none */
	int64_t order_id, campaign_id; /* 0 = none */
	const char *rcpt;	       /* the envelope recipient (addr-spec) */
	const char *subject;	       /* UTF-8, for listings */
	const char *message;	       /* the whole MIME message, CRLF lines */
};
/* *created is false when dedup_key was queued before; message_id_out (may
 * be NULL) receives the Message-ID queued for the key either way. */
int store_outbox_add(store_t *st, const struct store_outbox_add *m, int64_t now,
		     char *message_id_out, size_t outsz, bool *created, struct cd_err *err);

struct store_outbox_msg {
	char message_id[256], kind[33], member_id[65], rcpt[321], subject[512];
	char last_error[512];
	int64_t order_id, campaign_id, created_at, next_attempt_at, sent_at, failed_at;
	int attempts;  /* including this claim, for a claimed message */
	char *message; /* malloc'd, only from store_outbox_claim */
};
/* Claims up to `limit` messages due at `now` (not sent, not failed, no live
 * lease) for `owner` until `lease_until`; each claim counts one attempt.
 * *out is a malloc'd array of *n; free with store_outbox_msgs_free. */
int store_outbox_claim(store_t *st, const char *owner, int64_t now, int64_t lease_until, int limit,
		       struct store_outbox_msg **out, size_t *n, struct cd_err *err);
void store_outbox_msgs_free(struct store_outbox_msg *msgs, size_t n);
/* Delivered: records sent_at and drops the lease. */
int store_outbox_mark_sent(store_t *st, const char *message_id, int64_t now, struct cd_err *err);
/* Not delivered: the error, and either the next attempt time (retry) or, with
 * next_attempt_at = 0, failed for good (failed_at = now). */
int store_outbox_mark_failed(store_t *st, const char *message_id, int64_t now,
			     int64_t next_attempt_at, const char *error, struct cd_err *err);
/* Gives a claimed message back untried (its attempt is not counted). */
int store_outbox_release(store_t *st, const char *message_id, int64_t next_attempt_at,
			 const char *why, struct cd_err *err);
/* Failed messages become due again at `now` with their attempts reset;
 * message_id NULL = every failed message. *n counts them. */
int store_outbox_retry_failed(store_t *st, const char *message_id, int64_t now, int *n,
			      struct cd_err *err);

enum store_outbox_filter {
	STORE_OUTBOX_ALL,
	STORE_OUTBOX_PENDING,
	STORE_OUTBOX_FAILED,
	STORE_OUTBOX_SENT
};
/* Messages (without their text) in queue order; fn returning non-zero stops. */
int store_outbox_each(store_t *st, enum store_outbox_filter f, int limit,
		      int (*fn)(const struct store_outbox_msg *m, void *arg), void *arg,
		      struct cd_err *err);
int store_outbox_counts(store_t *st, int64_t *pending, int64_t *sent, int64_t *failed,
			struct cd_err *err);
/* The Message-ID queued for a dedup key ("" and 0 when none). */
int store_outbox_find(store_t *st, const char *dedup_key, struct store_outbox_msg *out, bool *found,
		      struct cd_err *err);

/* --- ACME accounts, one per CA (acme stage; src/store/ca.c) ---------------
 * The account key is a sealed secret "ca-account:<ca>" (store_secret_seal). */
struct store_ca_account {
	char ca[65];
	char directory_url[1024], account_url[1024]; /* account_url "" before registration */
	char key_secret_id[160];
	char eab_kid[256], contact[512];
	int64_t created_at, updated_at;
};
int store_ca_account_get(store_t *st, const char *ca, struct store_ca_account *out,
			 struct cd_err *err);
/* Inserts or replaces the row of a->ca. */
int store_ca_account_put(store_t *st, const struct store_ca_account *a, int64_t now,
			 struct cd_err *err);
int store_ca_account_each(store_t *st, int (*fn)(const struct store_ca_account *a, void *arg),
			  void *arg, struct cd_err *err);

/* --- the reissue pipeline's orders (worker stage; src/store/work.c) -------
 * Workers claim orders with a lease (owner "NODE/BOOT/THREAD": a restarted
 * process of the same node takes its orders back at once) and advance them with a
 * fenced update: it changes nothing unless the order is still in the state
 * the step started from and the caller still holds the lease. */
struct store_order {
	int64_t order_id, campaign_id, old_issuance_id, new_issuance_id;
	char certificate_id[65];
	enum order_state state;
	int attempt, retries;
	char requested_by[160];
	char failure[40];
	bool failure_retryable;
	char failure_detail[512];
	bool revocation_pending;
	char lease_owner[160];
	int64_t lease_expires, next_run_at, created_at, updated_at;
	char names[520]; /* space separated, "" before preflight */
};
int store_order_get(store_t *st, int64_t order_id, struct store_order *out, struct cd_err *err);

/* Who claims, and when: owner is "NODE/BOOT/THREAD". */
struct store_claim {
	const char *node, *boot, *owner;
	int64_t now, lease_seconds;
	int max_in_flight; /* queued orders start only while fewer are past queued (0: no cap) */
};
/* Claims up to max runnable orders (open, due at now, lease free or expired
 * or held by an earlier process of this node whose heartbeat is stale or
 * gone, src/store/nodes.c) for c->owner until now + lease:
 * orders in flight first, then queued ones while fewer than max_in_flight
 * orders of every node are past queued or being started. ids[] gets them;
 * *takeovers counts leases taken from another node. */
int store_orders_claim(store_t *st, const struct store_claim *c, int max, int64_t *ids, int *n,
		       int *takeovers, struct cd_err *err);

struct store_order_update {
	int64_t order_id;
	const char *owner; /* fencing: must hold the lease */
	enum order_state from, to;
	int64_t now;
	int64_t next_run_at;	 /* when the order is due again */
	int64_t lease_expires;	 /* 0: release the lease */
	int retries, attempt;	 /* new values */
	const char *names;	 /* NULL: unchanged */
	int64_t new_issuance_id; /* 0: unchanged */
	/* failure: set_failure writes failure/retryable/detail (NULL failure clears) */
	bool set_failure;
	const char *failure, *failure_detail;
	bool failure_retryable;
	int revocation_pending; /* -1: unchanged */
	/* the event: kind NULL means "order.transition" when from != to, none else */
	const char *actor, *event_kind, *event_detail;
	const char *certificate_id; /* for the event */
	int64_t campaign_id;	    /* for the event */
};
/* The fenced update, inside the caller's transaction (or its own). Returns
 * -CD_ESTATE "lease lost" when the order moved or the lease is gone. An
 * order failing in issued or installed (its certificate never live, the old
 * one back on the server) makes its old certificate the current one again. */
int store_order_update(store_t *st, const struct store_order_update *u, struct cd_err *err);

/* Drops every lease of an owner (a worker stopping cleanly). */
int store_orders_release(store_t *st, const char *owner, struct cd_err *err);

struct store_attempt {
	int64_t order_id;
	int attempt;
	char ca[65];
	char acme_order_url[1024];
	char key_secret_id[160];
	char state[33];
	char tokens[1024];
	char failure[512];
	int64_t ordering_at, finalized_at, created_at;
};
int store_attempt_create(store_t *st, const struct store_attempt *a, struct cd_err *err);
int store_attempt_get(store_t *st, int64_t order_id, int attempt, struct store_attempt *out,
		      struct cd_err *err);
/* Writes the mutable columns of a (acme_order_url "" stays NULL). */
int store_attempt_save(store_t *st, const struct store_attempt *a, struct cd_err *err);
/* Attempts that sent newOrder but never recorded its URL: orphans at the CA. */
int store_attempts_orphaned(store_t *st, int64_t *n, struct cd_err *err);

/* What a step needs to know about an order's certificate, site and server. */
struct store_order_context {
	char member_id[65], member_email[321], member_name[257], member_locale[8];
	char common_name[254], product[33];
	char fqdn[254], site_state[16];
	char server[65], server_state[16], ipv4[46], ipv6[46], driver[17];
	int http_port, https_port;
	int64_t term_end_at;
	/* the old issuance */
	char old_serial[41], old_sha256[65], old_ca[65], old_key_secret_id[160];
	char old_issuer_dn[512];
	int64_t old_not_after;
	char *old_chain_pem; /* malloc'd */
};
int store_order_context_get(store_t *st, const struct store_order *o,
			    struct store_order_context *out, struct cd_err *err);
void store_order_context_free(struct store_order_context *c);

/* Records a certificate certdesk issued for an order and makes it current.
 * Idempotent on (certificate, sha256). */
int store_issuance_add_issued(store_t *st, const char *certificate_id,
			      const struct store_issuance *is, int64_t now, int64_t *issuance_id,
			      struct cd_err *err);
/* An issuance by id (chain_pem malloc'd: free with store_issuance_row_free). */
struct store_issuance_row {
	int64_t issuance_id;
	char certificate_id[65], source[16], ca[65];
	char issuer_dn[512], serial[41], sha256[65], sans[1024], key_type[24];
	char key_secret_id[160];
	int64_t not_before, not_after, order_id;
	char *chain_pem;
};
int store_issuance_get(store_t *st, int64_t issuance_id, struct store_issuance_row *out,
		       struct cd_err *err);
void store_issuance_row_free(struct store_issuance_row *r);
/* Sets what a server has installed for each name of a leaf. */
int store_installed_set(store_t *st, const char *server, const char *const *names, size_t n,
			const struct store_installed *what, int64_t now, struct cd_err *err);

/* Operator actions on an order no worker holds right now (-CD_EBUSY when
 * one does): make a waiting order due now with its retries reset, or cancel
 * it (only before finalize: -CD_ESTATE otherwise). Each is an event. */
int store_order_kick(store_t *st, int64_t order_id, const char *actor, int64_t now,
		     struct cd_err *err);
int store_order_cancel(store_t *st, int64_t order_id, const char *actor, int64_t now,
		       struct cd_err *err);
/* An order that failed after its certificate was issued goes back to issued
 * (due now) and that certificate becomes the current one again, so the
 * worker installs the certificate it already has; only the certificate's
 * latest order (-CD_ESTATE otherwise; -CD_ECONFLICT when another order is
 * open). */
int store_order_resume(store_t *st, int64_t order_id, const char *actor, int64_t now,
		       struct cd_err *err);
/* What an operator's Retry does, for `certdesk orders retry` and the /admin
 * pages alike: a failed order that holds its certificate is resumed
 * (store_order_resume: installed again, none issued anew), another failed
 * order is retried by a new order for its certificate (*new_id), an open one
 * is made due now (store_order_kick). */
enum store_retry_how { STORE_RETRY_RESUMED, STORE_RETRY_NEW_ORDER, STORE_RETRY_DUE_NOW };
int store_order_retry(store_t *st, int64_t order_id, const char *actor, int64_t now,
		      enum store_retry_how *how, int64_t *new_id, struct cd_err *err);
/* Orders for operators, newest first; state NULL = every state. */
int store_orders_each(store_t *st, const char *state, bool revocation_pending_only, int limit,
		      int (*fn)(const struct store_order *o, void *arg), void *arg,
		      struct cd_err *err);
int store_orders_count_open(store_t *st, int64_t *open, struct cd_err *err);

/* --- install: one hosting server's row (src/store/servers.c) ------------- */
struct store_server_row {
	char server[65], ipv4[46], ipv6[46], state[16], driver[17];
	int http_port, https_port;
};
/* -CD_ENOTFOUND when the inventory has no such server. */
int store_server_get(store_t *st, const char *server, struct store_server_row *out,
		     struct cd_err *err);

/* --- admin: operators, their sessions, and the operator pages' reads
 * (src/store/admin.c). An operator's session lives in the sessions table with
 * operator_id set: store_web_session_get never returns it, and
 * store_admin_session_get never returns a member's. Touch and delete go
 * through store_web_session_touch/delete (by hash, whoever owns it). */

struct store_operator_row {
	char operator_id[65], display_name[256], role[16];
	char password_hash[256];	 /* "" when none */
	int64_t created_at, disabled_at; /* disabled_at 0 = active */
};
/* -CD_ECONFLICT when the name is taken. */
int store_operator_add(store_t *st, const char *operator_id, const char *display_name,
		       const char *role, const char *phc, int64_t now, struct cd_err *err);
/* -CD_ENOTFOUND when there is no such operator. */
int store_operator_get(store_t *st, const char *operator_id, struct store_operator_row *out,
		       struct cd_err *err);
int store_operators_each(store_t *st, int (*fn)(const struct store_operator_row *o, void *arg),
			 void *arg, struct cd_err *err);
/* Deletes the operator and its sessions (-CD_ENOTFOUND when none). */
int store_operator_remove(store_t *st, const char *operator_id, struct cd_err *err);

struct store_admin_session {
	char operator_id[65], csrf_token[65];
	int64_t created_at, last_seen_at, expires_at;
};
int store_admin_session_create(store_t *st, const char *hash, const char *operator_id,
			       const char *csrf_token, const char *client_addr, int64_t now,
			       int64_t expires_at, struct cd_err *err);
/* -CD_ENOTFOUND when there is no such operator session. */
int store_admin_session_get(store_t *st, const char *hash, struct store_admin_session *out,
			    struct cd_err *err);
int store_admin_sessions_purge(store_t *st, int64_t now, int64_t idle_before, struct cd_err *err);

/* An order as the operator pages list it. */
struct store_admin_order {
	int64_t order_id, campaign_id;
	char certificate_id[65], member_id[65], common_name[254];
	char state[16], failure[40], failure_detail[512], lease_owner[160];
	bool failure_retryable, revocation_pending;
	int attempt, retries;
	int64_t created_at, updated_at, next_run_at, lease_expires;
};
enum store_admin_queue {
	STORE_ADMIN_FAILED,		/* failed, and the certificate's latest order */
	STORE_ADMIN_RETRYING,		/* open, with a failure recorded (backing off) */
	STORE_ADMIN_REVOCATION_PENDING, /* done, old certificate not revoked */
};
/* Newest first; fn returning non-zero stops (and is returned). */
int store_admin_orders_each(store_t *st, enum store_admin_queue q, int limit,
			    int (*fn)(const struct store_admin_order *o, void *arg), void *arg,
			    struct cd_err *err);
/* Every order of one certificate, newest first. */
int store_admin_certificate_orders_each(store_t *st, const char *certificate_id,
					int (*fn)(const struct store_admin_order *o, void *arg),
					void *arg, struct cd_err *err);

/* Certificates whose common name contains `text`, whose member ID starts with
 * it (both literally: % and _ are not wildcards), or that ever had the
 * serial `serial` (normal form, "" for none); ordered by common name. */
struct store_admin_hit {
	char certificate_id[65], member_id[65], common_name[254], product[33], serial[41];
};
int store_admin_search(store_t *st, const char *text, const char *serial, int limit,
		       int (*fn)(const struct store_admin_hit *h, void *arg), void *arg,
		       struct cd_err *err);

/* The orders for a campaign's targets created since `since`, by certificate
 * then order: when each began, its state and when it reached that state. */
struct store_admin_campaign_order {
	const char *certificate_id, *state;
	int64_t created_at, state_at;
	bool failure_retryable;
};
int store_admin_campaign_orders_each(store_t *st, int64_t campaign_id, int64_t since,
				     int (*fn)(const struct store_admin_campaign_order *o,
					       void *arg),
				     void *arg, struct cd_err *err);
/* --- audit: where events come from, and reading them (src/store/audit.c) ---
 * Every event carries a source: the portal client's address, "local:USER"
 * for the CLI, "node:NAME" for a worker. A connection's source applies to
 * every event it records without one of its own (NULL clears it). */
void store_set_source(store_t *st, const char *source);

struct store_events_filter {
	const char *certificate_id; /* NULL: any */
	const char *member_id;	    /* the member's own acts and its certificates' */
	int64_t order_id;	    /* 0: any */
	int64_t since;		    /* at >= since; 0: from the start */
	int limit;		    /* 0: no limit */
};
/* Events matching every criterion given, oldest first; fn returning non-zero stops. */
int store_events_query(store_t *st, const struct store_events_filter *f,
		       int (*fn)(const struct store_event *e, void *arg), void *arg,
		       struct cd_err *err);

/* --- metrics: counters several processes add to, and the aggregates /metrics
 * serves (src/store/metrics.c). Every read is one SQL aggregate. ------------ */

/* Adds delta to the counter (name, label); label "" when none. Joins the
 * caller's transaction, if any. */
int store_metric_add(store_t *st, const char *name, const char *label, int64_t delta,
		     struct cd_err *err);
/* Every counter: fn(name, label, value). */
int store_metric_counters_each(store_t *st,
			       int (*fn)(const char *name, const char *label, int64_t value,
					 void *arg),
			       void *arg, struct cd_err *err);

/* The upper bounds (seconds) of the time-per-stage histogram's buckets; the
 * last bucket (index STORE_STAGE_BUCKETS) is +Inf. */
#define STORE_STAGE_BUCKETS 12
extern const int64_t store_stage_bounds[STORE_STAGE_BUCKETS];
/* fn(state, bucket, count, sum_seconds) for every non-empty bucket. */
int store_stage_seconds_each(store_t *st,
			     int (*fn)(const char *state, int bucket, int64_t count,
				       int64_t sum_seconds, void *arg),
			     void *arg, struct cd_err *err);

/* Orders by state: fn(state, count). */
int store_orders_by_state(store_t *st, int (*fn)(const char *state, int64_t n, void *arg),
			  void *arg, struct cd_err *err);
/* Orders by failure code among failed orders: fn(failure, retryable, count). */
int store_orders_failed_by_code(store_t *st,
				int (*fn)(const char *failure, bool retryable, int64_t n,
					  void *arg),
				void *arg, struct cd_err *err);

struct store_outbox_depth {
	int64_t pending, due, leased, failed, sent;
	int64_t oldest_pending_at; /* created_at of the oldest pending mail, 0 when none */
};
int store_outbox_depth(store_t *st, int64_t now, struct store_outbox_depth *out,
		       struct cd_err *err);

/* Campaign progress: for every active campaign, its targets by the status
 * eligibility_of() gives them (counted in that campaign alone) and whether
 * they were reissued in it. One aggregate over the facts, grouped. */
struct store_campaign_progress {
	int64_t campaign_id;
	char name[129];
	int64_t deadline_at;
	int64_t affected;		      /* targets still valid */
	int64_t reissued;		      /* the targeted issuance was replaced */
	int64_t by_status[CERT_STATUS_COUNT]; /* of the targets not reissued */
};
int store_campaign_progress_each(store_t *st, int64_t now,
				 int (*fn)(const struct store_campaign_progress *p, void *arg),
				 void *arg, struct cd_err *err);
/* A campaign's targets counted by the status each has for its member (as
 * store_certificate_view and eligibility_of give it), grouped by product,
 * server and status with its first reason and stage (src/store/progress.c).
 * One aggregate; groups in the order of their first certificate_id. */
struct store_status_group {
	char product[33], server[65]; /* server "" when no site */
	enum cert_status status;
	enum cert_reason reason; /* the first reason when impossible */
	unsigned reasons;
	enum order_state stage; /* when in progress */
	int64_t n;
};
int store_campaign_status_each(store_t *st, int64_t campaign_id, int64_t now,
			       int (*fn)(const struct store_status_group *g, void *arg), void *arg,
			       struct cd_err *err);
/* --- bulk reissue and the CA's newOrder limit (src/store/bulk.c) ----------
 * A campaign's bulk pace (orders per hour) and its pauses. A paused
 * campaign's queued orders are not claimed by workers (orders in flight go
 * on); campaign_id 0 is the global pause. */
struct store_bulk {
	int64_t campaign_id, rate_per_hour, started_at, resumed_at; /* 0 when never bulk */
	bool paused, paused_all;
	char paused_by[160], paused_all_by[160];
	int64_t paused_at, paused_all_at;
};
int store_bulk_get(store_t *st, int64_t campaign_id, struct store_bulk *out, struct cd_err *err);
/* Records the pace; started_at is set the first time, resumed_at every time. */
int store_bulk_set(store_t *st, int64_t campaign_id, int64_t rate_per_hour, int64_t now,
		   const char *actor, struct cd_err *err);
/* *changed is false when it was already paused (resumed). */
int store_bulk_pause(store_t *st, int64_t campaign_id, const char *actor, int64_t now,
		     bool *changed, struct cd_err *err);
int store_bulk_resume(store_t *st, int64_t campaign_id, bool *changed, struct cd_err *err);
/* Campaigns with a bulk pace that are not paused themselves: fn(id, rate). */
int store_bulk_campaigns_each(store_t *st, int (*fn)(int64_t campaign_id, int64_t rate, void *arg),
			      void *arg, struct cd_err *err);
/* A campaign's queued orders in due order; sets when a queued order is due;
 * the latest due time of its queued orders (0 when none). */
int store_bulk_queued_each(store_t *st, int64_t campaign_id,
			   int (*fn)(int64_t order_id, const char *certificate_id,
				     int64_t next_run_at, void *arg),
			   void *arg, struct cd_err *err);
int store_bulk_schedule(store_t *st, int64_t order_id, int64_t next_run_at, struct cd_err *err);
int store_bulk_last_due(store_t *st, int64_t campaign_id, int64_t *at, struct cd_err *err);
/* The campaign's orders done after `since`: how many, the first and last time. */
int store_bulk_done_since(store_t *st, int64_t campaign_id, int64_t since, int64_t *n,
			  int64_t *first_at, int64_t *last_at, struct cd_err *err);
/* Failure codes of each certificate's latest order, when it failed. */
int store_bulk_failures_each(store_t *st, int64_t campaign_id,
			     int (*fn)(const char *code, int64_t n, void *arg), void *arg,
			     struct cd_err *err);
struct store_bulk_stuck {
	int64_t order_id, updated_at, next_run_at;
	char certificate_id[65], state[16], failure[40], failure_detail[512];
	int retries;
};
/* Open orders, least recently changed first (queued ones not due yet left out). */
int store_bulk_stuck_each(store_t *st, int64_t campaign_id, int64_t now, int limit,
			  int (*fn)(const struct store_bulk_stuck *o, void *arg), void *arg,
			  struct cd_err *err);
/* The CA's newOrder limit: at most `limit` slots in any window_ms, across
 * every process. A slot is taken right before newOrder (*slot_id) or, when
 * the window is full, *slot_id is 0 and *wait_ms says when to try again; it
 * counts until its done time + window (granted + hold_ms while not done). */
int store_ca_slot_take(store_t *st, const char *ca, int64_t order_id, int64_t now_ms, long limit,
		       int64_t window_ms, int64_t hold_ms, int64_t *slot_id, int64_t *wait_ms,
		       struct cd_err *err);
int store_ca_slot_done(store_t *st, int64_t slot_id, int64_t now_ms, struct cd_err *err);
/* --- campaign mail (src/store/campaign_mail.c) ----------------------------- */

/* How many members own a certificate the campaign targets. */
int store_campaign_members_count(store_t *st, int64_t campaign_id, int64_t *n, struct cd_err *err);
/* Up to limit of those members, in member_id order, after `after` ("" = from
 * the first): a caller pages through them with the last one it got. */
int store_campaign_members_page(store_t *st, int64_t campaign_id, const char *after, size_t limit,
				char (*out)[65], size_t *n, struct cd_err *err);
/* The outbox messages whose dedup key starts with prefix: queued, sent,
 * failed for good (the rest are pending). */
int store_outbox_prefix_counts(store_t *st, const char *prefix, int64_t *queued, int64_t *sent,
			       int64_t *failed, struct cd_err *err);

/* --- worker nodes (src/store/nodes.c) ---------------------------------------- */

/* One process's hold on a worker node name: its heartbeat row. */
struct store_worker_node {
	char node[64], boot[40], host[128], host_key[96];
	int64_t pid, started_at, heartbeat_at, expires_at;
};
/* Registers n (node, boot, host, host_key, pid; its heartbeat at now, fresh
 * until n->expires_at) when the node's row is free, stale (expires_at before
 * now), already this boot's, or the boot `dead_boot` (a holder proven dead;
 * NULL or "" for none). *got says whether it did; if not, *holder (may be
 * NULL) gets the process that holds the node. */
int store_worker_node_register(store_t *st, const struct store_worker_node *n, int64_t now,
			       const char *dead_boot, bool *got, struct store_worker_node *holder,
			       struct cd_err *err);
/* Renews this boot's heartbeat; *held is false when the row is no longer
 * this boot's (another process took the node over after it went stale). */
int store_worker_node_renew(store_t *st, const char *node, const char *boot, int64_t now,
			    int64_t expires_at, bool *held, struct cd_err *err);
/* Removes this boot's row (clean shutdown): the node is free at once. */
int store_worker_node_remove(store_t *st, const char *node, const char *boot, struct cd_err *err);

#endif
