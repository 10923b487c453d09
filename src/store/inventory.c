/*
 * inventory.c - the provider's data: members, servers, sites, pending SSL
 * settings, what is installed, and the certificates with their issuances.
 *
 * Upserts by natural key; the WHERE of each upsert touches a row only when a
 * value differs, so re-importing the same file changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

static int exists(store_t *st, const char *sql, const char *key, bool *found, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, sql, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", key);
	*found = rc == 1;
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

static const char SQL_MEMBER_UPSERT[] =
    "INSERT INTO members (member_id, email, display_name, locale, password_hash, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (member_id) DO UPDATE SET email = excluded.email, "
    "display_name = excluded.display_name, locale = excluded.locale, "
    "password_hash = excluded.password_hash, updated_at = excluded.updated_at "
    "WHERE members.email IS DISTINCT FROM excluded.email "
    "OR members.display_name IS DISTINCT FROM excluded.display_name "
    "OR members.locale IS DISTINCT FROM excluded.locale "
    "OR members.password_hash IS DISTINCT FROM excluded.password_hash";

int store_member_upsert(store_t *st, const struct store_member *m, int64_t now, int *changed,
			struct cd_err *err)
{
	return RUN(st, SQL_MEMBER_UPSERT, changed, err, "ttttti", m->member_id, m->email,
		   m->display_name, m->locale, m->password_hash, now);
}

int store_member_exists(store_t *st, const char *member_id, bool *found, struct cd_err *err)
{
	return exists(st, "SELECT 1 FROM members WHERE member_id = $1", member_id, found, err);
}

static const char SQL_MEMBER_GET[] = "SELECT member_id, email, display_name, locale, password_hash "
				     "FROM members WHERE member_id = $1";

int store_member_get(store_t *st, const char *member_id, struct store_member_row *out,
		     struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_MEMBER_GET, &s, err);

	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", member_id);
	if (rc == 1) {
		db_col_copy(st->db, s, 0, out->member_id, sizeof(out->member_id));
		db_col_copy(st->db, s, 1, out->email, sizeof(out->email));
		db_col_copy(st->db, s, 2, out->display_name, sizeof(out->display_name));
		db_col_copy(st->db, s, 3, out->locale, sizeof(out->locale));
		db_col_copy(st->db, s, 4, out->password_hash, sizeof(out->password_hash));
		out->has_password = out->password_hash[0] != '\0';
		rc = 0;
	} else if (rc == 0) {
		rc = cd_err_set(err, CD_ENOTFOUND, false, "no member '%s'", member_id);
	}
	st->db->drv->reset(s);
	return rc;
}

static const char SQL_SERVER_UPSERT[] =
    "INSERT INTO servers (server, ipv4, ipv6, state, driver, http_port, https_port, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (server) DO UPDATE SET ipv4 = excluded.ipv4, ipv6 = excluded.ipv6, "
    "state = excluded.state, driver = excluded.driver, http_port = excluded.http_port, "
    "https_port = excluded.https_port, updated_at = excluded.updated_at "
    "WHERE servers.ipv4 IS DISTINCT FROM excluded.ipv4 "
    "OR servers.ipv6 IS DISTINCT FROM excluded.ipv6 "
    "OR servers.state IS DISTINCT FROM excluded.state "
    "OR servers.driver IS DISTINCT FROM excluded.driver "
    "OR servers.http_port IS DISTINCT FROM excluded.http_port "
    "OR servers.https_port IS DISTINCT FROM excluded.https_port";

int store_server_upsert(store_t *st, const struct store_server *sv, int64_t now, int *changed,
			struct cd_err *err)
{
	return RUN(st, SQL_SERVER_UPSERT, changed, err, "tttttiii", sv->server, sv->ipv4, sv->ipv6,
		   sv->state, sv->driver, (int64_t)sv->http_port, (int64_t)sv->https_port, now);
}

int store_server_exists(store_t *st, const char *server, bool *found, struct cd_err *err)
{
	return exists(st, "SELECT 1 FROM servers WHERE server = $1", server, found, err);
}

static const char SQL_SITE_UPSERT[] =
    "INSERT INTO sites (fqdn, member_id, server, state, updated_at) "
    "VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (fqdn) DO UPDATE SET member_id = excluded.member_id, "
    "server = excluded.server, state = excluded.state, updated_at = excluded.updated_at "
    "WHERE sites.member_id IS DISTINCT FROM excluded.member_id "
    "OR sites.server IS DISTINCT FROM excluded.server "
    "OR sites.state IS DISTINCT FROM excluded.state";

int store_site_upsert(store_t *st, const struct store_site *si, int64_t now, int *changed,
		      struct cd_err *err)
{
	return RUN(st, SQL_SITE_UPSERT, changed, err, "tttti", si->fqdn, si->member_id, si->server,
		   si->state, now);
}

static const char SQL_SETTING_UPSERT[] =
    "INSERT INTO ssl_settings (fqdn, common_name, created_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (fqdn, common_name) DO UPDATE SET created_at = excluded.created_at "
    "WHERE ssl_settings.created_at IS DISTINCT FROM excluded.created_at";

int store_setting_upsert(store_t *st, const struct store_setting *se, int *changed,
			 struct cd_err *err)
{
	return RUN(st, SQL_SETTING_UPSERT, changed, err, "tti", se->fqdn, se->common_name,
		   se->created_at);
}

/*
 * Installed certificates: the server's rows are replaced as a whole. To keep
 * "re-import changes nothing" true, rows that are the same are left alone:
 * stale rows are deleted by comparing against a seen_at stamp.
 */
static const char SQL_INSTALLED_UPSERT[] =
    "INSERT INTO installed (server, name, sha256, serial, issuer_dn, not_after, source_file, "
    "seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (server, name) DO UPDATE SET sha256 = excluded.sha256, "
    "serial = excluded.serial, issuer_dn = excluded.issuer_dn, "
    "not_after = excluded.not_after, source_file = excluded.source_file, "
    "seen_at = excluded.seen_at "
    "WHERE installed.sha256 IS DISTINCT FROM excluded.sha256 "
    "OR installed.source_file IS DISTINCT FROM excluded.source_file";
static const char SQL_INSTALLED_MARK[] =
    "UPDATE installed SET seen_at = $3 WHERE server = $1 AND name = $2 AND seen_at <> $3";
static const char SQL_INSTALLED_PURGE[] =
    "DELETE FROM installed WHERE server = $1 AND seen_at <> $2";

static const char SQL_INSTALLED_GEN[] =
    "SELECT COALESCE(MAX(seen_at), 0) FROM installed WHERE server = $1";

int store_installed_replace(store_t *st, const char *server, const struct store_installed *rows,
			    size_t n, int64_t now, int *changed, struct cd_err *err)
{
	struct db_stmt *s;
	int64_t gen = now;
	int rc, ch, total = 0;

	/* a generation newer than any before, even for two imports in one second */
	rc = db_stmt(st->db, SQL_INSTALLED_GEN, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "t", server);
	if (rc == 1 && st->db->drv->col_int64(s, 0) >= gen)
		gen = st->db->drv->col_int64(s, 0) + 1;
	st->db->drv->reset(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct store_installed *r = &rows[i];

		rc = RUN(st, SQL_INSTALLED_UPSERT, &ch, err, "tttttiti", server, r->name, r->sha256,
			 r->serial, r->issuer_dn, r->not_after, r->source_file, gen);
		if (rc)
			return rc;
		total += ch;
		if (!ch) {
			rc = RUN(st, SQL_INSTALLED_MARK, NULL, err, "tti", server, r->name, gen);
			if (rc)
				return rc;
		}
	}
	rc = RUN(st, SQL_INSTALLED_PURGE, &ch, err, "ti", server, gen);
	if (rc)
		return rc;
	*changed = total + ch;
	return 0;
}

static const char SQL_CERT_UPSERT[] =
    "INSERT INTO certificates (certificate_id, member_id, product, common_name, term_start, "
    "term_end, term_end_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (certificate_id) DO UPDATE SET member_id = excluded.member_id, "
    "product = excluded.product, common_name = excluded.common_name, "
    "term_start = excluded.term_start, term_end = excluded.term_end, "
    "term_end_at = excluded.term_end_at, updated_at = excluded.updated_at "
    "WHERE certificates.member_id IS DISTINCT FROM excluded.member_id "
    "OR certificates.product IS DISTINCT FROM excluded.product "
    "OR certificates.common_name IS DISTINCT FROM excluded.common_name "
    "OR certificates.term_start IS DISTINCT FROM excluded.term_start "
    "OR certificates.term_end IS DISTINCT FROM excluded.term_end "
    "OR certificates.term_end_at IS DISTINCT FROM excluded.term_end_at";
static const char SQL_ISSUANCE_INSERT[] =
    "INSERT INTO issuances (certificate_id, source, ca, issuer_dn, issuer_der, aki, serial, "
    "not_before, not_after, sha256, sans, key_type, chain_pem, key_secret_id, order_id, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
    "$16) ON CONFLICT (certificate_id, sha256) DO NOTHING";
static const char SQL_ISSUANCE_ID[] =
    "SELECT issuance_id, not_before FROM issuances WHERE certificate_id = $1 AND sha256 = $2";
/* The imported issuance becomes current unless the current one is newer or
 * was issued by certdesk (an old inventory must not undo a reissue). */
static const char SQL_CERT_SET_CURRENT[] =
    "UPDATE certificates SET current_issuance_id = $2 WHERE certificate_id = $1 "
    "AND (current_issuance_id IS NULL OR (current_issuance_id <> $2 AND NOT EXISTS ("
    "SELECT 1 FROM issuances i WHERE i.issuance_id = certificates.current_issuance_id "
    "AND (i.source = 'acme' OR i.not_before > $3))))";

int store_certificate_import(store_t *st, const struct store_certificate *c,
			     const struct store_issuance *is, int64_t now, int *changed,
			     struct cd_err *err)
{
	struct db_stmt *s;
	int64_t iid = 0, nb = 0;
	int rc, ch1 = 0, ch2 = 0, ch3 = 0;

	rc = RUN(st, SQL_CERT_UPSERT, &ch1, err, "ttttttii", c->certificate_id, c->member_id,
		 c->product, c->common_name, c->term_start, c->term_end, c->term_end_at, now);
	if (rc)
		return rc;
	rc = RUN(st, SQL_ISSUANCE_INSERT, &ch2, err, "tttttttiitttttii", c->certificate_id,
		 is->source, is->ca, is->issuer_dn, is->issuer_der_hex, is->aki ? is->aki : "",
		 is->serial, is->not_before, is->not_after, is->sha256, is->sans,
		 is->key_type ? is->key_type : "", is->chain_pem, is->key_secret_id, is->order_id,
		 now);
	if (rc)
		return rc;
	rc = db_stmt(st->db, SQL_ISSUANCE_ID, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "tt", c->certificate_id, is->sha256);
	if (rc == 1) {
		iid = st->db->drv->col_int64(s, 0);
		nb = st->db->drv->col_int64(s, 1);
	}
	st->db->drv->reset(s);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return cd_err_set(err, CD_EINTERNAL, false, "issuance of %s vanished",
				  c->certificate_id);
	rc = RUN(st, SQL_CERT_SET_CURRENT, &ch3, err, "tii", c->certificate_id, iid, nb);
	if (rc)
		return rc;
	*changed = ch1 || ch2 || ch3;
	return 0;
}

int store_certificate_exists(store_t *st, const char *certificate_id, bool *found,
			     struct cd_err *err)
{
	return exists(st, "SELECT 1 FROM certificates WHERE certificate_id = $1", certificate_id,
		      found, err);
}
