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

#endif
