/*
 * campaign_mail.c - the store's side of a campaign's mail: the members a
 * campaign affects, read a page at a time in member order (so a run of
 * 100,000 members needs no more memory than a page), and how far a notice's
 * mails are in the outbox.
 *
 * A notice's mails share one outbox dedup_key prefix ("campaign:3:notice:");
 * the outbox's unique key on dedup_key is what keeps a member from being
 * queued twice for the same notice, and the same unique index answers the
 * counts below as a range scan: [prefix, prefix with its last byte + 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_priv.h"

static const char SQL_MEMBERS_COUNT[] =
    "SELECT COUNT(DISTINCT c.member_id) FROM campaign_targets t "
    "JOIN certificates c ON c.certificate_id = t.certificate_id WHERE t.campaign_id = $1";

/* Walks certificates in member order (their member index) and stops at the
 * limit; driven from campaign_targets instead, every page would read and
 * sort all the campaign's targets (half a second a page for 300,000). */
static const char SQL_MEMBERS_PAGE[] =
    "SELECT DISTINCT c.member_id FROM certificates c WHERE c.member_id > $2 AND EXISTS "
    "(SELECT 1 FROM campaign_targets t WHERE t.campaign_id = $1 "
    "AND t.certificate_id = c.certificate_id) ORDER BY c.member_id LIMIT $3";

static const char SQL_NOTICE_COUNTS[] =
    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
    "COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) "
    "FROM outbox WHERE dedup_key >= $1 AND dedup_key < $2";

int store_campaign_members_count(store_t *st, int64_t campaign_id, int64_t *n, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_MEMBERS_COUNT, &s, err);

	*n = 0;
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "i", campaign_id);
	if (rc == 1)
		*n = st->db->drv->col_int64(s, 0);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_campaign_members_page(store_t *st, int64_t campaign_id, const char *after, size_t limit,
				char (*out)[65], size_t *n, struct cd_err *err)
{
	struct db_stmt *s;
	int rc = db_stmt(st->db, SQL_MEMBERS_PAGE, &s, err);

	*n = 0;
	if (rc)
		return rc;
	for (rc = db_run(st->db, s, err, "iti", campaign_id, after ? after : "", (int64_t)limit);
	     rc == 1 && *n < limit; rc = db_next(st->db, s, err))
		db_col_copy(st->db, s, 0, out[(*n)++], 65);
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}

int store_outbox_prefix_counts(store_t *st, const char *prefix, int64_t *queued, int64_t *sent,
			       int64_t *failed, struct cd_err *err)
{
	char end[256];
	size_t len = strlen(prefix);
	struct db_stmt *s;
	int rc;

	*queued = *sent = *failed = 0;
	if (len == 0 || len >= sizeof(end))
		return cd_err_set(err, CD_EINVAL, false, "outbox: a key prefix of %zu bytes", len);
	/* the first key after every key that starts with prefix */
	memcpy(end, prefix, len + 1);
	if ((unsigned char)end[len - 1] == 0xff)
		return cd_err_set(err, CD_EINVAL, false, "outbox: key prefix '%s' ends in 0xff",
				  prefix);
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	rc = db_stmt(st->db, SQL_NOTICE_COUNTS, &s, err);
	if (rc)
		return rc;
	rc = db_run(st->db, s, err, "tt", prefix, end);
	if (rc == 1) {
		*queued = st->db->drv->col_int64(s, 0);
		*sent = st->db->drv->col_int64(s, 1);
		*failed = st->db->drv->col_int64(s, 2);
	}
	st->db->drv->reset(s);
	return rc < 0 ? rc : 0;
}
