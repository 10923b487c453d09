/*
 * cmd_campaign.c - `certdesk campaign create|list|show`: marking the
 * certificates a CA incident affects, and seeing how many there are.
 *
 * Affected = the certificate's current issuance matches the criterion (an
 * issuer DN compared as X.509 names are, the issuing certificate by name and
 * key identifier, or the CA's list of serials), falls in the issuance window,
 * and is still valid.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/certinfo.h"
#include "core/dn.h"
#include "core/product.h"
#include "core/serial.h"
#include "util/cdtime.h"
#include "util/fileio.h"

#define MAX_PRODUCTS 16
#define MAX_SERIALS  10000000

static const char CAMPAIGN_HELP[] =
    "usage: certdesk campaign create --name N (--issuer DN | --issuer-cert FILE |\n"
    "                                 --serials FILE) [--issued-from DATE]\n"
    "                                 [--issued-to DATE] [--product P]...\n"
    "                                 --deadline DATE [--revocation-date DATE] [--dry-run]\n"
    "       certdesk campaign list\n"
    "       certdesk campaign show ID|NAME\n"
    "       certdesk campaign notify ID|NAME [--dry-run] [--queue-only]\n"
    "       certdesk campaign remind ID|NAME --days-before N\n"
    "       certdesk campaign reissue ID|NAME [--only-available] [--rate R] [--dry-run]\n"
    "       certdesk campaign pause|resume ID|NAME | --all\n"
    "       certdesk campaign report ID|NAME [--format table|csv|json]\n\n"
    "create marks the affected certificates: issued by the issuer (an RFC 4514 DN such\n"
    "as 'CN=JPRS Domain Validation Authority - G3,O=...,C=JP', compared as X.509\n"
    "names are; or the issuing CA certificate, matched by name and key identifier),\n"
    "or listed by serial in FILE (one hex serial a line, colons allowed, '#' comments);\n"
    "issued on or between the two UTC dates; of the given products; and still valid.\n"
    "--deadline is the customers' date, --revocation-date the CA's hard one (days in\n"
    "the provider's time zone). --dry-run prints the counts and changes nothing.\n";

struct counts {
	long n[8][CERT_STATUS_COUNT]; /* by product index, by status */
	long total;
};

static int count_group(const struct store_status_group *g, void *arg)
{
	struct counts *k = arg;
	int p = 0;

	for (int i = 0; product_at(i); i++)
		if (strcmp(product_at(i)->code, g->product) == 0)
			p = i;
	k->n[p][g->status] += (long)g->n;
	k->total += (long)g->n;
	return 0;
}

static void print_counts(const struct counts *k)
{
	printf("%-16s %10s %10s %12s %12s %8s\n", "product", "available", "not_needed",
	       "in_progress", "impossible", "total");
	for (int i = 0; product_at(i) && i < 8; i++) {
		long sum = 0;

		for (int s = 0; s < CERT_STATUS_COUNT; s++)
			sum += k->n[i][s];
		if (!sum)
			continue;
		printf("%-16s %10ld %10ld %12ld %12ld %8ld\n", product_at(i)->code,
		       k->n[i][CERT_STATUS_AVAILABLE], k->n[i][CERT_STATUS_NOT_NEEDED],
		       k->n[i][CERT_STATUS_IN_PROGRESS], k->n[i][CERT_STATUS_IMPOSSIBLE], sum);
	}
	printf("%-16s %54ld\n", "all", k->total);
}

static int campaign_counts(struct cli *c, int64_t id, struct cd_err *err)
{
	struct counts k = { 0 };
	int rc = store_campaign_status_each(c->st, id, c->now, count_group, &k, err);

	if (!rc)
		print_counts(&k);
	return rc;
}

/* The last second of a day in the provider's zone. */
static int day_end(struct cli *c, const char *opt, const char *text, int64_t *out,
		   struct cd_err *err)
{
	struct cd_date d, next;
	int64_t midnight;

	if (cd_date_parse(text, &d, err) != 0) {
		cd_err_prefix(err, "%s: ", opt);
		return -CD_EINVAL;
	}
	cd_civil_from_days(cd_days_from_civil(d.year, d.month, d.day) + 1, &next);
	if (cd_tz_local_midnight(c->timezone, &next, &midnight, err) != 0)
		return -CD_EINVAL;
	*out = midnight - 1;
	return 0;
}

static int utc_day(const char *opt, const char *text, int plus_days, int64_t *out,
		   struct cd_err *err)
{
	struct cd_date d;

	if (cd_date_parse(text, &d, err) != 0) {
		cd_err_prefix(err, "%s: ", opt);
		return -CD_EINVAL;
	}
	*out = (cd_days_from_civil(d.year, d.month, d.day) + plus_days) * CD_SECS_PER_DAY;
	return 0;
}

static char *to_hex(const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static int from_hex(const char *h, unsigned char **out, size_t *len)
{
	size_t n = strlen(h) / 2;
	unsigned char *b = malloc(n ? n : 1);

	if (!b)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1) {
			free(b);
			return -1;
		}
		b[i] = (unsigned char)v;
	}
	*out = b;
	*len = n;
	return 0;
}

struct issuer_match {
	X509_NAME *name;
	char **hex;
	size_t n;
};

static int match_issuer(const char *der_hex, const char *dn, int64_t count, void *arg)
{
	struct issuer_match *m = arg;
	unsigned char *der;
	size_t len;
	bool eq;

	(void)dn;
	(void)count;
	if (from_hex(der_hex, &der, &len) != 0)
		return 0;
	eq = dn_equal_der(m->name, der, len);
	free(der);
	if (eq) {
		char **nh = realloc(m->hex, (m->n + 1) * sizeof(*nh));

		if (!nh)
			return -CD_ENOMEM;
		m->hex = nh;
		m->hex[m->n] = strdup(der_hex);
		if (!m->hex[m->n])
			return -CD_ENOMEM;
		m->n++;
	}
	return 0;
}

/* Reads a CA's list of serials: one a line, '#' comments, blank lines. */
static int read_serials(const char *path, char ***out, size_t *n, struct cd_err *err)
{
	char *buf = NULL, *line;
	char **list = NULL;
	size_t len, cap = 0, lineno = 0;
	int rc;

	*n = 0;
	rc = cd_file_read(path, 512u << 20, &buf, &len, err);
	if (rc)
		return rc;
	if (memchr(buf, '\0', len)) {
		free(buf);
		return cd_err_set(err, CD_EINVAL, false, "%s: holds a NUL byte", path);
	}
	/* split by hand: strtok would merge empty lines and lose line numbers */
	for (line = buf; line && *line;) {
		char *nl = strchr(line, '\n'), *hash, norm[SERIAL_HEX_MAX + 2];
		size_t l;

		lineno++;
		if (nl)
			*nl = '\0';
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		l = strlen(line);
		while (l && strchr(" \t\r", line[l - 1]))
			line[--l] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line) {
			if (serial_normalize(line, norm, sizeof(norm), err) != 0) {
				cd_err_prefix(err, "%s:%zu: ", path, lineno);
				rc = -CD_EINVAL;
				goto fail;
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 256;
				char **nl2 =
				    cap <= MAX_SERIALS ? realloc(list, cap * sizeof(*list)) : NULL;
				if (!nl2) {
					rc = cd_err_set(err, CD_ELIMIT, false,
							"%s: too many serials", path);
					goto fail;
				}
				list = nl2;
			}
			list[(*n)++] = strdup(norm);
		}
		line = nl ? nl + 1 : NULL;
	}
	free(buf);
	if (*n == 0) {
		free(list);
		return cd_err_set(err, CD_EINVAL, false, "%s: no serial in the file", path);
	}
	*out = list;
	return 0;
fail:
	for (size_t i = 0; i < *n; i++)
		free(list[i]);
	free(list);
	free(buf);
	*n = 0;
	return rc;
}

struct create_args {
	const char *name, *issuer, *issuer_cert, *serials, *from, *to, *deadline, *revocation;
	const char *products[MAX_PRODUCTS];
	size_t nproducts;
	bool dry_run;
};

static int create(struct cli *c, const struct create_args *a)
{
	struct store_campaign_filter f = { .now = c->now };
	struct store_campaign camp = { 0 };
	struct issuer_match im = { 0 };
	struct certinfo_list ic = { 0 };
	struct cd_err err = { 0 };
	char **serials = NULL, *aki = NULL, *buf = NULL;
	size_t nserials = 0, len;
	json_t *crit = NULL;
	char *crit_text = NULL;
	int rc;

	if (!!a->issuer + !!a->issuer_cert + !!a->serials != 1)
		return cli_usage("campaign",
				 "give exactly one of --issuer, --issuer-cert and --serials");
	if (!a->name || !a->deadline)
		return cli_usage("campaign", "create needs --name and --deadline");
	if (strlen(a->name) > 128)
		return cli_usage("campaign", "--name is longer than 128 bytes");
	for (size_t i = 0; i < a->nproducts; i++)
		if (!product_find(a->products[i]))
			return cli_usage("campaign", "unknown product '%s'", a->products[i]);
	if ((rc = day_end(c, "--deadline", a->deadline, &camp.deadline_at, &err)) ||
	    (a->revocation &&
	     (rc = day_end(c, "--revocation-date", a->revocation, &camp.revocation_at, &err))) ||
	    (a->from && (rc = utc_day("--issued-from", a->from, 0, &f.issued_from, &err))) ||
	    (a->to && (rc = utc_day("--issued-to", a->to, 1, &f.issued_to, &err))))
		return cli_fail(&err);
	if (a->revocation && camp.revocation_at < camp.deadline_at)
		return cli_usage("campaign", "--revocation-date is before --deadline");
	if ((rc = cli_store(c, true, &err)))
		return cli_fail(&err);

	crit = json_object();
	if (a->issuer) {
		rc = dn_parse(a->issuer, &im.name, &err);
		if (rc) {
			cd_err_prefix(&err, "--issuer: ");
			goto out;
		}
		rc = store_issuers_each(c->st, match_issuer, &im, &err);
		if (rc)
			goto out;
		json_object_set_new(crit, "issuer", json_string(a->issuer));
		if (im.n == 0) /* no certificate by that issuer: say so, create nothing */
			fprintf(stderr, "certdesk: no imported certificate is issued by '%s'\n",
				a->issuer);
	} else if (a->issuer_cert) {
		rc = cd_file_read(a->issuer_cert, 1u << 20, &buf, &len, &err);
		if (!rc)
			rc = certinfo_parse_bundle(buf, len, &ic, &err);
		if (rc) {
			cd_err_prefix(&err, "--issuer-cert %s: ", a->issuer_cert);
			goto out;
		}
		if (!ic.items[0].is_ca) {
			rc = cd_err_set(&err, CD_EINVAL, false,
					"--issuer-cert %s: the first certificate is not a CA",
					a->issuer_cert);
			goto out;
		}
		im.hex = calloc(1, sizeof(*im.hex));
		if (!im.hex ||
		    !(im.hex[0] = to_hex(ic.items[0].subject_der, ic.items[0].subject_der_len))) {
			rc = cd_err_set(&err, CD_ENOMEM, false, "out of memory");
			goto out;
		}
		im.n = 1;
		if (ic.items[0].ski[0])
			aki = ic.items[0].ski;
		json_object_set_new(crit, "issuer_cert", json_string(ic.items[0].subject_dn));
		json_object_set_new(crit, "issuer_ski", json_string(ic.items[0].ski));
	} else {
		rc = read_serials(a->serials, &serials, &nserials, &err);
		if (rc)
			goto out;
		json_object_set_new(crit, "serials_file", json_string(a->serials));
		json_object_set_new(crit, "serials", json_integer((json_int_t)nserials));
	}
	if (a->from)
		json_object_set_new(crit, "issued_from", json_string(a->from));
	if (a->to)
		json_object_set_new(crit, "issued_to", json_string(a->to));
	if (a->nproducts) {
		json_t *pa = json_array();

		for (size_t i = 0; i < a->nproducts; i++)
			json_array_append_new(pa, json_string(a->products[i]));
		json_object_set_new(crit, "products", pa);
	}
	crit_text = json_dumps(crit, JSON_COMPACT | JSON_SORT_KEYS);
	if (!crit_text || strlen(crit_text) >= sizeof(camp.criteria)) {
		rc = cd_err_set(&err, CD_ELIMIT, false, "the criteria are too long to record");
		goto out;
	}
	snprintf(camp.name, sizeof(camp.name), "%s", a->name);
	snprintf(camp.criteria, sizeof(camp.criteria), "%s", crit_text);
	snprintf(camp.deadline, sizeof(camp.deadline), "%s", a->deadline);
	snprintf(camp.revocation_date, sizeof(camp.revocation_date), "%s",
		 a->revocation ? a->revocation : "");
	snprintf(camp.created_by, sizeof(camp.created_by), "%s", c->actor);
	camp.created_at = c->now;

	f.issuer_der_hex = (const char *const *)im.hex;
	f.n_issuers = im.n;
	f.aki = aki;
	f.serials = (const char *const *)serials;
	f.n_serials = nserials;
	f.products = a->products;
	f.n_products = a->nproducts;
	if ((a->issuer || a->issuer_cert) && im.n == 0) {
		/* an issuer that matches nothing must not turn into "any issuer" */
		static const char none[] = "-";
		static const char *const nonelist[] = { none };

		f.issuer_der_hex = nonelist;
		f.n_issuers = 1;
	}

	rc = store_begin(c->st, &err);
	if (rc)
		goto out;
	rc = store_campaign_create(c->st, &camp, &f, &err);
	if (!rc)
		rc = store_event_add(c->st,
				     &(struct store_event){ .at = c->now,
							    .actor = c->actor,
							    .kind = "campaign.create",
							    .campaign_id = camp.campaign_id,
							    .detail = crit_text },
				     &err);
	if (!rc) {
		printf("%s '%s': %lld certificate(s) affected, deadline %s%s%s\n",
		       a->dry_run ? "dry run of campaign" : "campaign", camp.name,
		       (long long)camp.targets, camp.deadline, a->revocation ? ", revocation " : "",
		       a->revocation ? a->revocation : "");
		rc = campaign_counts(c, camp.campaign_id, &err);
	}
	if (rc || a->dry_run) {
		store_rollback(c->st);
		if (!rc)
			printf("dry run: nothing was changed\n");
	} else {
		rc = store_commit(c->st, &err);
		if (!rc)
			printf("campaign id %lld\n", (long long)camp.campaign_id);
	}
out:
	for (size_t i = 0; i < im.n; i++)
		free(im.hex[i]);
	free(im.hex);
	X509_NAME_free(im.name);
	for (size_t i = 0; i < nserials; i++)
		free(serials[i]);
	free(serials);
	certinfo_list_free(&ic);
	free(buf);
	free(crit_text);
	json_decref(crit);
	return rc ? cli_fail(&err) : 0;
}

static int list_one(const struct store_campaign *cp, void *arg)
{
	(void)arg;
	printf("%-4lld %-24s %-10s %-10s %-7s %8lld\n", (long long)cp->campaign_id, cp->name,
	       cp->deadline, cp->revocation_date[0] ? cp->revocation_date : "-", cp->state,
	       (long long)cp->targets);
	return 0;
}

static int show(struct cli *c, const char *which)
{
	struct store_campaign cp;
	struct cd_err err = { 0 };
	char *end;
	long long id = strtoll(which, &end, 10);
	int rc;

	if ((rc = cli_store(c, true, &err)))
		return cli_fail(&err);
	rc = *which && !*end ? store_campaign_get(c->st, id, &cp, &err)
			     : store_campaign_find(c->st, which, &cp, &err);
	if (rc)
		return cli_fail(&err);
	printf("campaign %lld: %s\n", (long long)cp.campaign_id, cp.name);
	printf("  state            %s\n", cp.state);
	printf("  deadline         %s\n", cp.deadline);
	printf("  revocation date  %s\n", cp.revocation_date[0] ? cp.revocation_date : "-");
	printf("  criteria         %s\n", cp.criteria);
	printf("  created by       %s\n", cp.created_by);
	printf("  certificates     %lld\n\n", (long long)cp.targets);
	rc = campaign_counts(c, cp.campaign_id, &err);
	return rc ? cli_fail(&err) : 0;
}

int cmd_campaign(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "issuer-cert", required_argument, NULL, 'I' },
		{ "serials", required_argument, NULL, 's' },
		{ "issued-from", required_argument, NULL, 'f' },
		{ "issued-to", required_argument, NULL, 't' },
		{ "product", required_argument, NULL, 'p' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "revocation-date", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = { 0 };
	struct cd_err err = { 0 };
	int opt;

	if (argc > 1 && cmd_campaign_bulk_handles(argv[1])) /* reissue|pause|resume|report */
		return cmd_campaign_bulk(c, argc - 1, argv + 1);
	if (argc > 1 && (!strcmp(argv[1], "notify") || !strcmp(argv[1], "remind")))
		return cmd_campaign_mail(c, argc - 1, argv + 1); /* cmd_campaign_mail.c */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			a.name = optarg;
			break;
		case 'i':
			a.issuer = optarg;
			break;
		case 'I':
			a.issuer_cert = optarg;
			break;
		case 's':
			a.serials = optarg;
			break;
		case 'f':
			a.from = optarg;
			break;
		case 't':
			a.to = optarg;
			break;
		case 'd':
			a.deadline = optarg;
			break;
		case 'r':
			a.revocation = optarg;
			break;
		case 'D':
			a.dry_run = true;
			break;
		case 'p':
			if (a.nproducts == MAX_PRODUCTS)
				return cli_usage("campaign", "too many --product");
			a.products[a.nproducts++] = optarg;
			break;
		case 'h':
			fputs(CAMPAIGN_HELP, stdout);
			return 0;
		default:
			return cli_usage("campaign", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage(
		    "campaign",
		    "give create, list, show, notify, remind, reissue, pause, resume or report");
	if (strcmp(argv[optind], "create") == 0 && optind + 1 == argc)
		return create(c, &a);
	if (strcmp(argv[optind], "list") == 0 && optind + 1 == argc) {
		if (cli_store(c, true, &err))
			return cli_fail(&err);
		printf("%-4s %-24s %-10s %-10s %-7s %8s\n", "id", "name", "deadline", "revocation",
		       "state", "targets");
		return store_campaign_each(c->st, list_one, NULL, &err) ? cli_fail(&err) : 0;
	}
	if (strcmp(argv[optind], "show") == 0 && optind + 2 == argc)
		return show(c, argv[optind + 1]);
	return cli_usage(
	    "campaign",
	    "give create, list, show, notify, remind, reissue, pause, resume or report");
}
