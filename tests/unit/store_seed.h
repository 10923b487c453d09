/*
 * store_seed.h - the store tests' common fixture: member m1, server web01
 * (127.0.0.2, nginx), a site for a common name on it, and an imported RS
 * certificate issued by CN=G3 the day before `now`, valid for 300 days.
 */
#ifndef CD_TEST_STORE_SEED_H
#define CD_TEST_STORE_SEED_H

#include "store/store.h"

static inline void store_seed_member(store_t *st, int64_t now)
{
	struct cd_err err = { 0 };
	int ch;

	assert_int_equal(store_member_upsert(st,
					     &(struct store_member){ .member_id = "m1",
								     .email = "a@example.jp",
								     .display_name = "A",
								     .locale = "ja" },
					     now, &ch, &err),
			 0);
}

/* web01 in the given state ("ok", "maintenance", "broken"). */
static inline void store_seed_server(store_t *st, int64_t now, const char *state)
{
	struct cd_err err = { 0 };
	int ch;

	assert_int_equal(store_server_upsert(st,
					     &(struct store_server){ .server = "web01",
								     .ipv4 = "127.0.0.2",
								     .state = state,
								     .driver = "nginx",
								     .http_port = 80,
								     .https_port = 443 },
					     now, &ch, &err),
			 0);
}

static inline void store_seed_certificate(store_t *st, int64_t now, const char *cert_id,
					  const char *cn, const char *sha)
{
	struct cd_err err = { 0 };
	int ch;

	assert_int_equal(store_certificate_import(
			     st,
			     &(struct store_certificate){ .certificate_id = cert_id,
							  .member_id = "m1",
							  .product = "jprs_dv_rs_1y",
							  .common_name = cn,
							  .term_start = "2026-01-01",
							  .term_end = "2027-12-31",
							  .term_end_at = now + 400 * 86400 },
			     &(struct store_issuance){ .source = "import",
						       .issuer_dn = "CN=G3",
						       .issuer_der_hex = "3000",
						       .serial = "1a",
						       .sha256 = sha,
						       .sans = cn,
						       .chain_pem = "PEM",
						       .not_before = now - 86400,
						       .not_after = now + 300 * 86400 },
			     now, &ch, &err),
			 0);
}

/* A member, a server, a site named cn and its certificate. */
static inline void store_seed(store_t *st, int64_t now, const char *cert_id, const char *cn,
			      const char *sha)
{
	struct cd_err err = { 0 };
	int ch;

	store_seed_member(st, now);
	store_seed_server(st, now, "ok");
	assert_int_equal(
	    store_site_upsert(st,
			      &(struct store_site){
				  .fqdn = cn, .member_id = "m1", .server = "web01", .state = "ok" },
			      now, &ch, &err),
	    0);
	store_seed_certificate(st, now, cert_id, cn, sha);
}

#endif
