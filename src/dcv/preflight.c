/*
 * preflight.c - before anything is asked of the CA: every address of the
 * common name must be the hosting server's, the SAN candidate is kept only
 * when all of its addresses are too, and CAA must allow the active CA
 * (RFC 8659: the closest name up the tree with a CAA set decides, CNAMEs
 * followed). Transient DNS trouble is a retryable dns_error, never a verdict.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/caa.h"
#include "core/names.h"
#include "dcv/dcv.h"
#include "dcv/resolve.h"

#define MAX_CNAME_HOPS 8

struct addrset {
	size_t n;
	char addr[DCV_MAX_ADDRS][46];
};

static bool same_addr(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (!a || !b || !*a || !*b)
		return false;
	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
	return false;
}

static bool server_has(const struct dcv_server *s, const char *addr)
{
	return same_addr(s->ipv4, addr) || same_addr(s->ipv6, addr);
}

/* Follows the CNAME chain from name inside one answer; returns the name the
 * records of interest are owned by. */
static const char *chase(const struct dns_answer *a, const char *name)
{
	const char *cur = name;

	for (int hop = 0; hop < MAX_CNAME_HOPS; hop++) {
		const char *next = NULL;

		for (size_t i = 0; i < a->n; i++)
			if (a->rr[i].type == DNS_T_CNAME && strcmp(a->rr[i].owner, cur) == 0)
				next = a->rr[i].u.target;
		if (!next)
			break;
		cur = next;
	}
	return cur;
}

/* The records of type for name, following CNAMEs across queries when the
 * resolver does not chase them itself. *final is the name that owns them. */
static int lookup(dcv_resolver_t *r, const char *name, int type, struct dns_answer *a,
		  enum dcv_qstatus *st, char final[DCV_NAME_MAX], struct cd_err *err)
{
	char cur[DCV_NAME_MAX];
	int rc;

	snprintf(cur, sizeof(cur), "%s", name);
	for (int hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
		const char *owner;
		bool have = false;

		rc = dcv_query(r, cur, type, a, st, err);
		if (rc || *st != DCV_Q_OK)
			break;
		owner = chase(a, cur);
		for (size_t i = 0; i < a->n; i++)
			if (a->rr[i].type == type && strcmp(a->rr[i].owner, owner) == 0)
				have = true;
		if (have || strcmp(owner, cur) == 0) {
			snprintf(final, DCV_NAME_MAX, "%s", owner);
			if (!have)
				*st = DCV_Q_NODATA;
			return 0;
		}
		snprintf(cur, sizeof(cur), "%s", owner); /* a CNAME the resolver did not chase */
	}
	if (!rc && *st == DCV_Q_OK) {
		*st = DCV_Q_ERROR;
		return cd_err_set(err, CD_EPEER, false, "%s: CNAME chain longer than %d", name,
				  MAX_CNAME_HOPS);
	}
	snprintf(final, DCV_NAME_MAX, "%s", cur);
	return rc;
}

/* A and AAAA of name into set. Returns 0 (set may be empty) or a DNS error. */
static int addresses(dcv_resolver_t *r, const char *name, struct dns_answer *a, struct addrset *set,
		     struct cd_err *err)
{
	static const int types[] = { DNS_T_A, DNS_T_AAAA };

	set->n = 0;
	for (size_t t = 0; t < 2; t++) {
		char final[DCV_NAME_MAX];
		enum dcv_qstatus st;
		int rc = lookup(r, name, types[t], a, &st, final, err);

		if (rc)
			return rc;
		if (st != DCV_Q_OK)
			continue;
		for (size_t i = 0; i < a->n && set->n < DCV_MAX_ADDRS; i++)
			if (a->rr[i].type == types[t] && strcmp(a->rr[i].owner, final) == 0)
				snprintf(set->addr[set->n++], sizeof(set->addr[0]), "%s",
					 a->rr[i].u.addr);
	}
	return 0;
}

/* Whether all addresses point at the server; else a sentence saying why. */
static bool points_at(const struct addrset *set, const char *name, const struct dcv_server *s,
		      char *why, size_t whysz)
{
	size_t used;

	if (set->n == 0) {
		snprintf(why, whysz, "%s has no A or AAAA record (it must point at %s: %s%s%s)",
			 name, s->name, s->ipv4 && *s->ipv4 ? s->ipv4 : "",
			 s->ipv4 && *s->ipv4 && s->ipv6 && *s->ipv6 ? " " : "",
			 s->ipv6 && *s->ipv6 ? s->ipv6 : "");
		return false;
	}
	for (size_t i = 0; i < set->n; i++)
		if (!server_has(s, set->addr[i]))
			goto elsewhere;
	return true;
elsewhere:
	used = (size_t)snprintf(why, whysz, "%s points at", name);
	for (size_t i = 0; i < set->n && used < whysz; i++)
		used += (size_t)snprintf(why + used, whysz - used, "%s%s", i ? ", " : " ",
					 set->addr[i]);
	if (used < whysz)
		snprintf(why + used, whysz - used, ", not only at %s (%s%s%s)", s->name,
			 s->ipv4 && *s->ipv4 ? s->ipv4 : "",
			 s->ipv4 && *s->ipv4 && s->ipv6 && *s->ipv6 ? " " : "",
			 s->ipv6 && *s->ipv6 ? s->ipv6 : "");
	return false;
}

/* RFC 8659 section 3: the relevant CAA set of name, climbing to parents
 * (the root excluded). *n = 0 when no name up the tree has one. */
static int caa_relevant(dcv_resolver_t *r, const char *name, struct dns_answer *a,
			struct caa_record *rs, size_t max, size_t *n, char found_at[DCV_NAME_MAX],
			struct cd_err *err)
{
	const char *cur = name;

	*n = 0;
	while (cur && *cur) {
		char final[DCV_NAME_MAX];
		enum dcv_qstatus st;
		int rc = lookup(r, cur, DNS_T_CAA, a, &st, final, err);

		if (rc)
			return rc;
		if (st == DCV_Q_OK) {
			for (size_t i = 0; i < a->n && *n < max; i++)
				if (a->rr[i].type == DNS_T_CAA &&
				    strcmp(a->rr[i].owner, final) == 0)
					rs[(*n)++] = a->rr[i].u.caa;
			if (*n) {
				snprintf(found_at, DCV_NAME_MAX, "%s", cur);
				return 0;
			}
		}
		cur = strchr(cur, '.');
		if (cur)
			cur++;
	}
	return 0;
}

static int dns_error(struct dcv_preflight *out, const struct cd_err *e)
{
	out->failure = FAILURE_DNS_ERROR;
	out->retryable = true;
	snprintf(out->detail, sizeof(out->detail), "%s", e->msg);
	return 0;
}

int dcv_preflight(dcv_resolver_t *r, const char *common_name, const struct dcv_server *srv,
		  const char *caa_identities, struct dcv_preflight *out, struct cd_err *err)
{
	struct dns_answer *a = NULL;
	struct caa_record *rs = NULL;
	struct addrset set;
	char cand[NAME_MAX_LEN + 1];
	struct cd_err e = { 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!r || !common_name || !*common_name || !srv || !srv->name)
		return cd_err_set(err, CD_EINVAL, false, "preflight: missing name or server");
	if (strlen(common_name) >= DCV_NAME_MAX)
		return cd_err_set(err, CD_EINVAL, false, "preflight: name too long");
	a = malloc(sizeof(*a));
	rs = malloc(sizeof(*rs) * DNSMSG_MAX_RR);
	if (!a || !rs) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	snprintf(out->names[0], DCV_NAME_MAX, "%s", common_name);
	out->n_names = 1;

	if (addresses(r, common_name, a, &set, &e)) {
		dns_error(out, &e);
		goto out;
	}
	if (!points_at(&set, common_name, srv, out->detail, sizeof(out->detail))) {
		out->failure = FAILURE_DNS_NOT_POINTING;
		goto out;
	}
	if (name_san_candidate(common_name, cand) == 1) {
		if (addresses(r, cand, a, &set, &e)) {
			dns_error(out, &e);
			goto out;
		}
		if (points_at(&set, cand, srv, out->dropped_why, sizeof(out->dropped_why)))
			snprintf(out->names[out->n_names++], DCV_NAME_MAX, "%s", cand);
		else
			snprintf(out->dropped, sizeof(out->dropped), "%s", cand);
	}
	if (!caa_identities || !*caa_identities)
		goto out;
	for (size_t i = 0; i < out->n_names; i++) {
		char at[DCV_NAME_MAX] = "", why[400];
		size_t n;

		if (caa_relevant(r, out->names[i], a, rs, DNSMSG_MAX_RR, &n, at, &e)) {
			dns_error(out, &e);
			goto out;
		}
		if (n && !caa_allows(rs, n, caa_identities, why, sizeof(why))) {
			out->failure = FAILURE_CAA_FORBIDS;
			if (snprintf(out->detail, sizeof(out->detail), "%s: %s (CAA at %s)",
				     out->names[i], why, at) >= (int)sizeof(out->detail))
				out->detail[sizeof(out->detail) - 2] = '~'; /* visibly cut */
			goto out;
		}
	}
out:
	free(a);
	free(rs);
	return rc;
}
