/*
 * import_rows.c - one row of each inventory kind (DESIGN.md §5): validated
 * field by field, then written with the store's upserts. Also the PEM bundle
 * cache for certificate rows and `import installed`.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/import.h"
#include "core/certinfo.h"
#include "core/names.h"
#include "core/product.h"
#include "util/cdtime.h"
#include "util/fileio.h"

/* argon2id at the portal's floor: m = 19 MiB, t = 2, p = 1 (libsodium's p is 1). */
#define PW_OPSLIMIT 2
#define PW_MEMLIMIT (19u * 1024u * 1024u)

static int field_err(struct cd_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int field_err(struct cd_err *err, const char *field, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cd_err_set(err, CD_EINVAL, false, "field '%s': %s", field, msg);
}

/* An identifier of the provider's (member ID, certificate ID, server name):
 * 1..64 of [A-Za-z0-9._@-], starting with a letter or digit. */
static int check_ident(const char *field, const char *v, struct cd_err *err)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64)
		return field_err(err, field, "must be 1 to 64 characters, not %zu", n);
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || (i > 0 && strchr("._@-", ch));

		if (!ok)
			return field_err(err, field,
					 "'%.64s' may hold only letters, digits and . _ @ - "
					 "(and starts with a letter or digit)",
					 v);
	}
	return 0;
}

static int check_text(const char *field, const char *v, size_t max, struct cd_err *err)
{
	size_t n = strlen(v);

	if (n > max)
		return field_err(err, field, "longer than %zu bytes", max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return field_err(err, field, "holds a control character at byte %zu", i);
	return 0;
}

static int check_email(const char *v, struct cd_err *err)
{
	const char *at = strchr(v, '@');
	int rc = check_text("email", v, 254, err);

	if (rc)
		return rc;
	if (!at || at == v || !at[1] || strchr(at + 1, '@') || strpbrk(v, " \t<>()[],;:\"\\") ||
	    !strchr(at + 1, '.'))
		return field_err(err, "email", "'%.80s' is not a mail address", v);
	return 0;
}

static int check_dup(struct import_ctx *x, const char *field, const char *key, struct cd_err *err)
{
	int r = strset_add(x->seen, key);

	if (r < 0)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	if (r == 0)
		return field_err(err, field, "'%s' appears twice in this file", key);
	return 0;
}

static int norm_name(const char *field, const char *v, unsigned flags, char out[NAME_MAX_LEN + 1],
		     struct cd_err *err)
{
	int rc = name_normalize(v, strlen(v), flags, out, err);

	if (rc)
		cd_err_prefix(err, "field '%s': ", field);
	return rc;
}

static int need_member(struct import_ctx *x, const char *field, const char *id, struct cd_err *err)
{
	bool found;
	int rc = store_member_exists(x->c->st, id, &found, err);

	if (rc)
		return rc;
	if (!found)
		return field_err(err, field, "unknown member '%s' (import the members file first)",
				 id);
	return 0;
}

/* The term's last second: the end date is inclusive in the provider's zone. */
static int term_last_second(struct import_ctx *x, const struct cd_date *end, int64_t *out,
			    struct cd_err *err)
{
	struct cd_date next;
	int64_t midnight;
	int rc;

	if (x->term_cache.year == end->year && x->term_cache.month == end->month &&
	    x->term_cache.day == end->day) {
		*out = x->term_cache.last_second;
		return 0;
	}
	cd_civil_from_days(cd_days_from_civil(end->year, end->month, end->day) + 1, &next);
	rc = cd_tz_local_midnight(x->c->timezone, &next, &midnight, err);
	if (rc)
		return rc;
	*out = midnight - 1;
	x->term_cache.year = end->year;
	x->term_cache.month = end->month;
	x->term_cache.day = end->day;
	x->term_cache.last_second = *out;
	return 0;
}

/* --- members ------------------------------------------------------------- */

static const char *const MEMBER_REQ[] = { "member_id", "email", "display_name", "locale", NULL };
static const char *const MEMBER_OPT[] = { "password", "password_hash", NULL };

static int row_member(struct import_ctx *x, const char *const *v, int *changed, struct cd_err *err)
{
	const char *pw = v[4], *phc = v[5];
	char hash[crypto_pwhash_STRBYTES];
	struct store_member m = {
		.member_id = v[0], .email = v[1], .display_name = v[2], .locale = v[3]
	};
	int rc;

	if ((rc = check_ident("member_id", v[0], err)) || (rc = check_email(v[1], err)) ||
	    (rc = check_text("display_name", v[2], 200, err)))
		return rc;
	if (strcmp(v[3], "ja") != 0 && strcmp(v[3], "en") != 0)
		return field_err(err, "locale", "'%.20s' is not ja or en", v[3]);
	if (pw && phc)
		return field_err(err, "password", "give password or password_hash, not both");
	if (phc) {
		if (strncmp(phc, "$argon2id$v=19$m=", 17) != 0 || strlen(phc) >= sizeof(hash) ||
		    check_text("password_hash", phc, sizeof(hash) - 1, err) != 0)
			return field_err(err, "password_hash",
					 "is not an argon2id PHC string ($argon2id$v=19$m=...)");
		m.password_hash = phc;
	} else if (pw) {
		struct store_member_row cur;

		if (strlen(pw) < 8 || strlen(pw) > 1024)
			return field_err(err, "password", "must be 8 to 1024 bytes long");
		/* the same password again keeps the stored hash: a re-import changes nothing */
		if (store_member_get(x->c->st, v[0], &cur, NULL) == 0 && cur.has_password &&
		    crypto_pwhash_str_verify(cur.password_hash, pw, strlen(pw)) == 0) {
			m.password_hash = cur.password_hash;
			rc = check_dup(x, "member_id", v[0], err);
			return rc ? rc : store_member_upsert(x->c->st, &m, x->c->now, changed, err);
		}
		if (crypto_pwhash_argon2id_str(hash, pw, strlen(pw), PW_OPSLIMIT, PW_MEMLIMIT) != 0)
			return cd_err_set(err, CD_ENOMEM, false,
					  "out of memory hashing a password");
		m.password_hash = hash;
	}
	rc = check_dup(x, "member_id", v[0], err);
	if (!rc)
		rc = store_member_upsert(x->c->st, &m, x->c->now, changed, err);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/* --- servers ------------------------------------------------------------- */

static const char *const SERVER_REQ[] = { "server", "ipv4", "ipv6", "state", NULL };
static const char *const SERVER_OPT[] = { "driver", "http_port", "https_port", NULL };
static const char *const SERVER_EMPTY[] = { "ipv4", "ipv6", NULL }; /* one of them */

static int parse_port(const char *field, const char *v, int def, int *out, struct cd_err *err)
{
	char *end;
	long p;

	if (!v) {
		*out = def;
		return 0;
	}
	errno = 0;
	p = strtol(v, &end, 10);
	if (*end || errno || p < 1 || p > 65535)
		return field_err(err, field, "'%.20s' is not a port (1-65535)", v);
	*out = (int)p;
	return 0;
}

static int row_server(struct import_ctx *x, const char *const *v, int *changed, struct cd_err *err)
{
	struct store_server s = { .server = v[0],
				  .ipv4 = v[1],
				  .ipv6 = v[2],
				  .state = v[3],
				  .driver = v[4] ? v[4] : "nginx" };
	unsigned char addr[16];
	enum server_state state;
	int rc;

	if ((rc = check_ident("server", v[0], err)))
		return rc;
	if (!s.ipv4 && !s.ipv6)
		return field_err(err, "ipv4", "a server needs an ipv4 or an ipv6 address");
	if (s.ipv4 && inet_pton(AF_INET, s.ipv4, addr) != 1)
		return field_err(err, "ipv4", "'%.60s' is not an IPv4 address", s.ipv4);
	if (s.ipv6 && inet_pton(AF_INET6, s.ipv6, addr) != 1)
		return field_err(err, "ipv6", "'%.60s' is not an IPv6 address", s.ipv6);
	if (server_state_parse(v[3], &state, err) != 0)
		return field_err(err, "state", "'%.20s' is not ok, maintenance or broken", v[3]);
	if (strcmp(s.driver, "nginx") != 0 && strcmp(s.driver, "hook") != 0 &&
	    strcmp(s.driver, "agent") != 0)
		return field_err(err, "driver", "'%.20s' is not nginx, hook or agent", s.driver);
	if ((rc = parse_port("http_port", v[5], 80, &s.http_port, err)) ||
	    (rc = parse_port("https_port", v[6], 443, &s.https_port, err)))
		return rc;
	if ((rc = check_dup(x, "server", v[0], err)))
		return rc;
	return store_server_upsert(x->c->st, &s, x->c->now, changed, err);
}

/* --- sites --------------------------------------------------------------- */

static const char *const SITE_REQ[] = { "fqdn", "member_id", "server", "state", NULL };

static int row_site(struct import_ctx *x, const char *const *v, int *changed, struct cd_err *err)
{
	char fqdn[NAME_MAX_LEN + 1];
	enum site_state state;
	bool found;
	int rc;

	if ((rc = norm_name("fqdn", v[0], 0, fqdn, err)) ||
	    (rc = check_ident("member_id", v[1], err)) || (rc = check_ident("server", v[2], err)))
		return rc;
	if (site_state_parse(v[3], &state, err) != 0)
		return field_err(err, "state", "'%.20s' is not ok, suspended or deleted", v[3]);
	if ((rc = need_member(x, "member_id", v[1], err)))
		return rc;
	if ((rc = store_server_exists(x->c->st, v[2], &found, err)))
		return rc;
	if (!found)
		return field_err(err, "server",
				 "unknown server '%s' (import the servers file first)", v[2]);
	if ((rc = check_dup(x, "fqdn", fqdn, err)))
		return rc;
	return store_site_upsert(
	    x->c->st,
	    &(struct store_site){ .fqdn = fqdn, .member_id = v[1], .server = v[2], .state = v[3] },
	    x->c->now, changed, err);
}

/* --- pending SSL settings ------------------------------------------------ */

static const char *const SETTING_REQ[] = { "fqdn", "common_name", "created_at", NULL };

static int parse_when(struct import_ctx *x, const char *field, const char *v, int64_t *out,
		      struct cd_err *err)
{
	struct cd_date d;

	/* a date without time is a day in the provider's zone */
	if (strlen(v) == 10 && cd_date_parse(v, &d, NULL) == 0)
		return cd_tz_local_midnight(x->c->timezone, &d, out, err);
	if (cd_timestamp_parse(v, out, err) != 0) {
		cd_err_prefix(err, "field '%s': ", field);
		return -CD_EINVAL;
	}
	return 0;
}

static int row_setting(struct import_ctx *x, const char *const *v, int *changed, struct cd_err *err)
{
	char fqdn[NAME_MAX_LEN + 1], cn[NAME_MAX_LEN + 1], key[2 * NAME_MAX_LEN + 2];
	int64_t at;
	int rc;

	if ((rc = norm_name("fqdn", v[0], 0, fqdn, err)) ||
	    (rc = norm_name("common_name", v[1], NAME_ALLOW_WILDCARD, cn, err)) ||
	    (rc = parse_when(x, "created_at", v[2], &at, err)))
		return rc;
	snprintf(key, sizeof(key), "%s %s", fqdn, cn);
	if ((rc = check_dup(x, "fqdn", key, err)))
		return rc;
	return store_setting_upsert(
	    x->c->st, &(struct store_setting){ .fqdn = fqdn, .common_name = cn, .created_at = at },
	    changed, err);
}

/* --- certificates -------------------------------------------------------- */

/* Bundles parsed once and indexed by name; rows usually come grouped by
 * file, so a handful of recent bundles is enough. */
#define BUNDLES_KEPT 4

struct bundle {
	char path[PATH_MAX];
	struct certinfo_list list;
	strset_t *by_name; /* name -> index of the leaf covering it (latest not_after) */
	unsigned long used;
};

struct bundle_cache {
	struct bundle slot[BUNDLES_KEPT];
	unsigned long clock;
};

struct bundle_cache *bundle_cache_new(void)
{
	return calloc(1, sizeof(struct bundle_cache));
}

static void bundle_clear(struct bundle *b)
{
	if (b->path[0]) {
		certinfo_list_free(&b->list);
		strset_free(b->by_name);
	}
	memset(b, 0, sizeof(*b));
}

void bundle_cache_free(struct bundle_cache *bc)
{
	if (!bc)
		return;
	for (int i = 0; i < BUNDLES_KEPT; i++)
		bundle_clear(&bc->slot[i]);
	free(bc);
}

static int index_name(struct bundle *b, const char *name, long i)
{
	long old;
	int r = strset_put(b->by_name, name, i, &old);

	if (r < 0)
		return -1;
	/* the same name in two leaves: the one valid longest wins, as in
	 * certinfo_find_leaf() */
	if (r == 0 && b->list.items[i].not_after > b->list.items[old].not_after)
		strset_set(b->by_name, name, i);
	return 0;
}

static int bundle_load(struct import_ctx *x, const char *path, struct bundle **out,
		       struct cd_err *err)
{
	struct bundle_cache *bc = x->bundles;
	struct bundle *victim = &bc->slot[0];
	char *buf = NULL;
	size_t len;
	int rc;

	for (int i = 0; i < BUNDLES_KEPT; i++) {
		if (strcmp(bc->slot[i].path, path) == 0) {
			bc->slot[i].used = ++bc->clock;
			*out = &bc->slot[i];
			return 0;
		}
		if (bc->slot[i].used < victim->used)
			victim = &bc->slot[i];
	}
	bundle_clear(victim);
	rc = cd_file_read(path, (size_t)x->max_pem_bytes, &buf, &len, err);
	if (rc)
		return rc;
	rc = certinfo_parse_bundle(buf, len, &victim->list, err);
	free(buf);
	if (rc) {
		cd_err_prefix(err, "%s: ", path);
		memset(&victim->list, 0, sizeof(victim->list));
		return rc;
	}
	victim->by_name = strset_new();
	if (!victim->by_name) {
		certinfo_list_free(&victim->list);
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	}
	snprintf(victim->path, sizeof(victim->path), "%s", path);
	for (size_t i = 0; i < victim->list.count; i++) {
		const struct certinfo *ci = &victim->list.items[i];

		if (ci->is_ca)
			continue;
		if (ci->subject_cn[0] && index_name(victim, ci->subject_cn, (long)i) != 0)
			goto oom;
		for (size_t k = 0; k < ci->nsans; k++)
			if (index_name(victim, ci->sans[k], (long)i) != 0)
				goto oom;
	}
	victim->used = ++bc->clock;
	*out = victim;
	return 0;
oom:
	bundle_clear(victim);
	return cd_err_set(err, CD_ENOMEM, false, "out of memory");
}

static const char *const CERT_REQ[] = { "certificate_id", "member_id", "product",  "common_name",
					"term_start",	  "term_end",  "pem_file", NULL };

/* pem_file is relative to the CSV and may not leave its directory. */
static int pem_path(struct import_ctx *x, const char *rel, char *out, size_t outsz,
		    struct cd_err *err)
{
	const char *p = rel;

	if (rel[0] == '/' || rel[0] == '\0')
		return field_err(err, "pem_file", "'%.80s' must be a path relative to the file",
				 rel);
	while (*p) {
		size_t seg = strcspn(p, "/");

		if ((seg == 2 && p[0] == '.' && p[1] == '.') || seg == 0)
			return field_err(err, "pem_file",
					 "'%.80s' must stay inside the file's directory", rel);
		p += seg;
		if (*p == '/')
			p++;
	}
	if (strchr(rel, '\\'))
		return field_err(err, "pem_file", "'%.80s' holds a backslash", rel);
	return cd_path_join(x->dir, rel, out, outsz, err);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The SANs as one space-separated string (caller frees). */
static char *join_sans(const struct certinfo *ci)
{
	size_t n = 1;
	char *s, *p;

	for (size_t i = 0; i < ci->nsans; i++)
		n += strlen(ci->sans[i]) + 1;
	s = p = malloc(n);
	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < ci->nsans; i++)
		p += sprintf(p, "%s%s", i ? " " : "", ci->sans[i]);
	return s;
}

static int row_certificate(struct import_ctx *x, const char *const *v, int *changed,
			   struct cd_err *err)
{
	char cn[NAME_MAX_LEN + 1], path[PATH_MAX], *der_hex = NULL, *sans = NULL;
	const struct product *prod;
	const struct certinfo *leaf = NULL;
	struct cd_date start, end;
	struct bundle *b = NULL;
	int64_t term_end_at;
	long idx;
	int rc;

	if ((rc = check_ident("certificate_id", v[0], err)) ||
	    (rc = check_ident("member_id", v[1], err)))
		return rc;
	prod = product_find(v[2]);
	if (!prod)
		return field_err(err, "product", "unknown product '%.40s'", v[2]);
	/* wildcards only for plain products: an RS reissue validates over http-01 */
	if ((rc = norm_name("common_name", v[3],
			    prod->family == PRODUCT_PLAIN ? NAME_ALLOW_WILDCARD : 0, cn, err)))
		return rc;
	if (cd_date_parse(v[4], &start, err) != 0) {
		cd_err_prefix(err, "field 'term_start': ");
		return -CD_EINVAL;
	}
	if (cd_date_parse(v[5], &end, err) != 0) {
		cd_err_prefix(err, "field 'term_end': ");
		return -CD_EINVAL;
	}
	if (cd_days_from_civil(end.year, end.month, end.day) <
	    cd_days_from_civil(start.year, start.month, start.day))
		return field_err(err, "term_end", "%s is before term_start %s", v[5], v[4]);
	if ((rc = term_last_second(x, &end, &term_end_at, err)))
		return rc;
	if ((rc = need_member(x, "member_id", v[1], err)))
		return rc;
	if ((rc = pem_path(x, v[6], path, sizeof(path), err)))
		return rc;
	rc = bundle_load(x, path, &b, err);
	if (rc) {
		cd_err_prefix(err, "field 'pem_file': ");
		return rc;
	}
	idx = strset_get(b->by_name, cn);
	if (idx >= 0)
		leaf = &b->list.items[idx];
	else
		leaf = certinfo_find_leaf(&b->list, cn); /* a wildcard SAN may cover it */
	if (!leaf)
		return field_err(err, "pem_file", "%s holds no certificate for '%s'", v[6], cn);
	if ((rc = check_dup(x, "certificate_id", v[0], err)))
		return rc;

	der_hex = malloc(leaf->issuer_der_len * 2 + 1);
	sans = join_sans(leaf);
	if (!der_hex || !sans) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	hex(leaf->issuer_der, leaf->issuer_der_len, der_hex);
	rc = store_certificate_import(x->c->st,
				      &(struct store_certificate){ .certificate_id = v[0],
								   .member_id = v[1],
								   .product = prod->code,
								   .common_name = cn,
								   .term_start = v[4],
								   .term_end = v[5],
								   .term_end_at = term_end_at },
				      &(struct store_issuance){ .source = "import",
								.issuer_dn = leaf->issuer_dn,
								.issuer_der_hex = der_hex,
								.aki = leaf->aki,
								.serial = leaf->serial,
								.sha256 = leaf->sha256,
								.sans = sans,
								.key_type = leaf->key_type,
								.chain_pem = leaf->pem,
								.not_before = leaf->not_before,
								.not_after = leaf->not_after },
				      x->c->now, changed, err);
out:
	free(der_hex);
	free(sans);
	return rc;
}

static const struct import_kind kinds[] = {
	{ "members", MEMBER_REQ, MEMBER_OPT, NULL, row_member },
	{ "servers", SERVER_REQ, SERVER_OPT, SERVER_EMPTY, row_server },
	{ "sites", SITE_REQ, NULL, NULL, row_site },
	{ "settings", SETTING_REQ, NULL, NULL, row_setting },
	{ "certificates", CERT_REQ, NULL, NULL, row_certificate },
};

const struct import_kind *import_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

void import_kinds_names(char *out, size_t outsz)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && used < outsz; i++)
		used += (size_t)snprintf(out + used, outsz - used, "%s%s", i ? ", " : "",
					 kinds[i].name);
}

/* --- what is installed on a server --------------------------------------- */

#define INSTALLED_MAX_FILES 100000
#define INSTALLED_MAX_DEPTH 8

struct scan {
	struct cli *c;
	long max_pem_bytes;
	strset_t *names; /* name -> index into rows */
	struct store_installed *rows;
	char **owned; /* strings the rows point to */
	size_t n, cap, nowned, files, skipped;
};

static char *keep(struct scan *s, const char *v)
{
	char *d;

	if (s->nowned % 256 == 0) {
		char **no = realloc(s->owned, (s->nowned + 256) * sizeof(*no));
		if (!no)
			return NULL;
		s->owned = no;
	}
	d = strdup(v);
	if (d)
		s->owned[s->nowned++] = d;
	return d;
}

static int scan_leaf(struct scan *s, const char *file, const struct certinfo *leaf,
		     const char *name, struct cd_err *err)
{
	long prev = strset_get(s->names, name);
	struct store_installed *r;

	if (prev >= 0) {
		if (strcmp(s->rows[prev].sha256, leaf->sha256) == 0)
			return 0; /* the same leaf twice (a copy, a fullchain beside a cert) */
		return cd_err_set(err, CD_EINVAL, false,
				  "two different certificates are installed for '%s': %s and %s",
				  name, s->rows[prev].source_file, file);
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		struct store_installed *nr = realloc(s->rows, nc * sizeof(*nr));
		if (!nr)
			return cd_err_set(err, CD_ENOMEM, false, "out of memory");
		s->rows = nr;
		s->cap = nc;
	}
	r = &s->rows[s->n];
	r->name = keep(s, name);
	r->sha256 = keep(s, leaf->sha256);
	r->serial = keep(s, leaf->serial);
	r->issuer_dn = keep(s, leaf->issuer_dn);
	r->source_file = keep(s, file);
	r->not_after = leaf->not_after;
	if (!r->name || !r->sha256 || !r->serial || !r->issuer_dn || !r->source_file ||
	    strset_put(s->names, name, (long)s->n, NULL) < 0)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	s->n++;
	return 0;
}

static int scan_file(struct scan *s, const char *file, struct cd_err *err)
{
	struct certinfo_list list = { 0 };
	const struct certinfo *leaf = NULL;
	char *buf = NULL;
	size_t len;
	int rc;

	if (++s->files > INSTALLED_MAX_FILES)
		return cd_err_set(err, CD_ELIMIT, false, "more than %d files under the directory",
				  INSTALLED_MAX_FILES);
	rc = cd_file_read(file, (size_t)s->max_pem_bytes, &buf, &len, err);
	if (rc)
		return rc;
	if (!memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27)) {
		s->skipped++; /* a key, a config file: not ours to read */
		free(buf);
		return 0;
	}
	rc = certinfo_parse_bundle(buf, len, &list, err);
	free(buf);
	if (rc) {
		cd_err_prefix(err, "%s: ", file);
		return rc;
	}
	/* the leaf of a fullchain file is its first non-CA certificate */
	for (size_t i = 0; i < list.count && !leaf; i++)
		if (!list.items[i].is_ca)
			leaf = &list.items[i];
	if (!leaf) {
		s->skipped++;
		goto out;
	}
	if (leaf->subject_cn[0] && (rc = scan_leaf(s, file, leaf, leaf->subject_cn, err)))
		goto out;
	for (size_t k = 0; k < leaf->nsans; k++)
		if ((rc = scan_leaf(s, file, leaf, leaf->sans[k], err)))
			goto out;
out:
	certinfo_list_free(&list);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan_dir(struct scan *s, const char *dir, int depth, struct cd_err *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > INSTALLED_MAX_DEPTH)
		return cd_err_set(err, CD_ELIMIT, false, "%s: nested deeper than %d directories",
				  dir, INSTALLED_MAX_DEPTH);
	d = opendir(dir);
	if (!d)
		return cd_err_set(err, CD_EIO, false, "%s: cannot open directory: %s", dir,
				  strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
				break;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	/* sorted, so that messages and the recorded source files are stable */
	if (names)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX];
		struct stat st;

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path)) {
			rc = cd_err_set(err, CD_ELIMIT, false, "%s/%s: path too long", dir,
					names[i]);
			break;
		}
		/* symbolic links are not followed: what is installed is what is here */
		if (lstat(path, &st) != 0)
			rc = cd_err_set(err, CD_EIO, false, "%s: %s", path, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = scan_dir(s, path, depth + 1, err);
		else if (S_ISREG(st.st_mode))
			rc = scan_file(s, path, err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int import_installed(struct cli *c, const char *server, const char *dir, struct cd_err *err)
{
	struct scan s = { .c = c };
	bool found;
	int changed = 0, rc;

	rc = cd_config_get_int(c->cfg, "import", "max_pem_bytes", 1024, 1L << 32, &s.max_pem_bytes,
			       err);
	if (rc)
		return rc;
	if ((rc = store_server_exists(c->st, server, &found, err)))
		return rc;
	if (!found)
		return cd_err_set(err, CD_EINVAL, false,
				  "unknown server '%s' (import the servers file first)", server);
	s.names = strset_new();
	if (!s.names)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	rc = scan_dir(&s, dir, 0, err);
	if (!rc)
		rc = store_begin(c->st, err);
	if (!rc) {
		rc = store_installed_replace(c->st, server, s.rows, s.n, c->now, &changed, err);
		if (!rc)
			rc = store_event_add(c->st,
					     &(struct store_event){ .at = c->now,
								    .actor = c->actor,
								    .kind = "import.installed",
								    .detail = server },
					     err);
		if (!rc)
			rc = store_commit(c->st, err);
		else
			store_rollback(c->st);
	}
	if (!rc)
		printf("installed on %s: %zu name(s) from %zu file(s) (%zu without a certificate "
		       "skipped); %d change(s)\n",
		       server, s.n, s.files, s.skipped, changed);
	for (size_t i = 0; i < s.nowned; i++)
		free(s.owned[i]);
	free(s.owned);
	free(s.rows);
	strset_free(s.names);
	return rc;
}
