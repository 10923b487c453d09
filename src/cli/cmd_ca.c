/*
 * cmd_ca.c - `certdesk ca`: the configured ACME CAs for operators and for
 * debugging: list them, register the account, issue a certificate with
 * http-01 served by certdesk itself (standalone), and revoke a certificate.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "acme/acme.h"
#include "cli/cli.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/secretbox.h"

/* --- the store URL the client opens itself (same rule as cli_store) ------ */

static int store_url(struct cli *c, char *out, size_t outsz, struct cd_err *err)
{
	const char *url = cd_config_get(c->cfg, "store", "url");
	char joined[4096];
	int rc;

	if (strncmp(url, "sqlite:", 7) == 0 && url[7] && url[7] != '/') {
		if ((rc =
			 cd_path_join(cd_config_dir(c->cfg), url + 7, joined, sizeof(joined), err)))
			return rc;
		snprintf(out, outsz, "sqlite:%s", joined);
	} else {
		snprintf(out, outsz, "%s", url);
	}
	return 0;
}

static int open_client(struct cli *c, const char *ca, acme_client_t **out, struct cd_err *err)
{
	char name[64], url[4200];
	struct acme_client_options opt = { 0 };
	int rc;

	if (!ca) {
		if ((rc = acme_active_ca(c->cfg, name, sizeof(name), err)))
			return rc;
		ca = name;
	}
	if ((rc = cli_store(c, true, err)) || (rc = cli_secretbox(c, err)) ||
	    (rc = store_url(c, url, sizeof(url), err)))
		return rc;
	opt.store_url = url;
	opt.box = c->box;
	opt.actor = c->actor;
	return acme_client_new(c->cfg, ca, &opt, out, err);
}

/* --- ca list ------------------------------------------------------------- */

struct list_arg {
	struct cli *c;
	char active[64];
	int n;
};

static void list_one(const char *name, void *arg)
{
	struct list_arg *a = arg;
	struct acme_ca_config ca;
	struct store_ca_account acc;
	char eab[320] = "";
	struct cd_err err = { 0 };

	a->n++;
	if (acme_ca_config_load(a->c->cfg, name, &ca, &err) != 0) {
		printf("%-12s (config error: %s)\n", name, err.msg);
		return;
	}
	memset(&acc, 0, sizeof(acc));
	if (store_ca_account_get(a->c->st, name, &acc, &err) != 0)
		snprintf(acc.account_url, sizeof(acc.account_url), "(no account yet)");
	/* EAB from the config, or kept from `ca register` for a re-registration */
	if (ca.eab_kid[0])
		snprintf(eab, sizeof(eab), ", EAB kid %s", ca.eab_kid);
	else if (acc.eab_kid[0])
		snprintf(eab, sizeof(eab), ", EAB kid %s (kept from 'ca register')", acc.eab_kid);
	printf("%-12s %s%s\n  directory %s\n  account   %s\n  account key %s, certificate keys %s, "
	       "validity %s%s%s%s\n",
	       name, strcmp(name, a->active) == 0 ? "active" : "known", eab, ca.directory,
	       acc.account_url, acme_key_type_name(ca.account_key_type),
	       acme_key_type_name(ca.key_type), ca.validity_request ? "request" : "ca_decides",
	       ca.preferred_chain[0] ? ", preferred chain \"" : "", ca.preferred_chain,
	       ca.preferred_chain[0] ? "\"" : "");
}

static int ca_list(struct cli *c)
{
	struct list_arg a = { .c = c };
	struct cd_err err = { 0 };
	int rc;

	if ((rc = cli_store(c, true, &err)))
		return cli_fail(&err);
	if (acme_active_ca(c->cfg, a.active, sizeof(a.active), &err) != 0)
		a.active[0] = '\0';
	cd_config_each_named(c->cfg, "ca", list_one, &a);
	if (a.n == 0)
		printf("no CA configured (add a [ca NAME] section with a directory URL)\n");
	return 0;
}

/* --- ca register --------------------------------------------------------- */

static int ca_register(struct cli *c, const char *ca, const char *kid, const char *hmac)
{
	struct cd_err err = { 0 };
	acme_client_t *cl = NULL;
	char url[ACME_URL_MAX];
	bool created = false;
	int rc;

	if ((rc = open_client(c, ca, &cl, &err)) ||
	    (rc = acme_account_register(cl, kid, hmac, &created, &err)) ||
	    (rc = acme_account_url(cl, url, sizeof(url), &err))) {
		acme_client_free(cl);
		return cli_fail(&err);
	}
	printf("CA %s: account %s (%s)\n", acme_client_ca(cl)->name, url,
	       created ? "registered" : "already registered");
	acme_client_free(cl);
	return 0;
}

/* --- ca issue ------------------------------------------------------------ */

struct job {
	const char *const *names;
	size_t n_names;
};

struct issue_ctx {
	acme_client_t *cl;
	acme_http01_server_t *h;
	const char *out_dir;
	int64_t not_after;
	struct job *jobs;
	size_t n_jobs, next;
	pthread_mutex_t lock;
	int failed;
};

static int write_outputs(const char *dir, const char *name, EVP_PKEY *key, const char *pem,
			 struct cd_err *err)
{
	char d[4096], p[4200];
	BIO *b = NULL;
	FILE *f;
	int rc = 0;

	snprintf(d, sizeof(d), "%s/%s", dir, name);
	if (mkdir(d, 0700) != 0 && errno != EEXIST)
		return cd_err_set(err, CD_EIO, false, "%s: %s", d, strerror(errno));
	snprintf(p, sizeof(p), "%s/fullchain.pem", d);
	if (!(f = fopen(p, "w")) || fputs(pem, f) < 0 || fclose(f) != 0)
		return cd_err_set(err, CD_EIO, false, "%s: cannot write", p);
	snprintf(p, sizeof(p), "%s/privkey.pem", d);
	if (!(b = BIO_new_file(p, "w")) ||
	    !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		rc = cd_err_set(err, CD_EIO, false, "%s: cannot write", p);
	BIO_free(b);
	chmod(p, 0600);
	return rc;
}

static void *issue_worker(void *arg)
{
	struct issue_ctx *x = arg;

	for (;;) {
		struct cd_err err = { 0 };
		struct acme_issue_request req = { 0 };
		char *pem = NULL, url[ACME_URL_MAX] = "";
		EVP_PKEY *key = NULL;
		struct job *j;
		int rc;

		pthread_mutex_lock(&x->lock);
		j = x->next < x->n_jobs ? &x->jobs[x->next++] : NULL;
		pthread_mutex_unlock(&x->lock);
		if (!j)
			return NULL;
		rc = acme_key_generate(acme_client_ca(x->cl)->key_type, &key, &err);
		if (rc == 0) {
			req.names = j->names;
			req.n_names = j->n_names;
			req.key = key;
			req.not_after = x->not_after;
			req.http01 = x->h ? acme_http01_server_place : NULL;
			req.http01_arg = x->h;
			rc = acme_issue(x->cl, &req, &pem, url, sizeof(url), &err);
		}
		if (rc == 0)
			rc = write_outputs(x->out_dir, j->names[0], key, pem, &err);
		if (rc == 0) {
			printf("issued %s (%zu name%s): %s/%s/fullchain.pem, order %s\n",
			       j->names[0], j->n_names, j->n_names == 1 ? "" : "s", x->out_dir,
			       j->names[0], url);
		} else {
			fprintf(stderr, "certdesk: %s: %s\n", j->names[0], err.msg);
			pthread_mutex_lock(&x->lock);
			x->failed++;
			pthread_mutex_unlock(&x->lock);
		}
		fflush(stdout);
		free(pem);
		EVP_PKEY_free(key);
	}
}

static int read_names_file(const char *path, char ***names, size_t *n, struct cd_err *err)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t cap = 0;

	if (!f)
		return cd_err_set(err, CD_EINVAL, false, "%s: cannot open", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(*names, cap * sizeof(**names));
			if (!nn) {
				fclose(f);
				return cd_err_set(err, CD_ENOMEM, false, "out of memory");
			}
			*names = nn;
		}
		if (!((*names)[(*n)++] = strdup(line))) {
			fclose(f);
			return cd_err_set(err, CD_ENOMEM, false, "out of memory");
		}
	}
	fclose(f);
	return 0;
}

static int ca_issue(struct cli *c, const char *ca, char **names, size_t n_names, const char *out,
		    const char *listen_at, bool each, long jobs, long valid_days)
{
	struct cd_err err = { 0 };
	struct issue_ctx x = { 0 };
	pthread_t *th = NULL;
	int rc;

	if (mkdir(out, 0700) != 0 && errno != EEXIST) {
		cd_err_set(&err, CD_EIO, false, "%s: %s", out, strerror(errno));
		return cli_fail(&err);
	}
	if ((rc = open_client(c, ca, &x.cl, &err)) || (rc = acme_account_ensure(x.cl, &err)))
		goto out;
	if (listen_at && (rc = acme_http01_server_start(listen_at, &x.h, &err)))
		goto out;
	x.out_dir = out;
	x.not_after = valid_days > 0 ? c->now + valid_days * 86400 : 0;
	x.n_jobs = each ? n_names : 1;
	if (!(x.jobs = calloc(x.n_jobs, sizeof(*x.jobs))) ||
	    !(th = calloc((size_t)jobs, sizeof(*th)))) {
		rc = cd_err_set(&err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < x.n_jobs; i++) {
		x.jobs[i].names = (const char *const *)(each ? names + i : names);
		x.jobs[i].n_names = each ? 1 : n_names;
	}
	pthread_mutex_init(&x.lock, NULL);
	for (long i = 0; i < jobs; i++)
		pthread_create(&th[i], NULL, issue_worker, &x);
	for (long i = 0; i < jobs; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&x.lock);
	rc = 0;
out:
	acme_http01_server_stop(x.h);
	free(th);
	free(x.jobs);
	acme_client_free(x.cl);
	if (rc)
		return cli_fail(&err);
	if (x.failed) {
		fprintf(stderr, "certdesk: %d of %zu issuance%s failed\n", x.failed, x.n_jobs,
			x.n_jobs == 1 ? "" : "s");
		return 1;
	}
	return 0;
}

/* --- ca order ------------------------------------------------------------- */

/* Exit status 3: the CA no longer knows the order (a new one must be made). */
#define EXIT_GONE 3

static int ca_order(struct cli *c, const char *ca, const char *url)
{
	struct cd_err err = { 0 };
	struct acme_order o = { 0 };
	acme_client_t *cl = NULL;
	int rc;

	if ((rc = open_client(c, ca, &cl, &err)) == 0)
		rc = acme_order_get(cl, url, &o, &err);
	if (rc == -CD_EGONE) {
		fprintf(stderr,
			"certdesk: order %s is gone: CA %s does not know it any more; start a new "
			"order (%s)\n",
			url, acme_client_ca(cl)->name, err.msg);
		rc = EXIT_GONE;
	} else if (rc) {
		rc = cli_fail(&err);
	} else {
		printf("order %s\n  status %s\n", o.url, acme_status_name(o.status));
		for (size_t i = 0; i < o.n_authz; i++)
			printf("  authorization %s\n", o.authz[i]);
		if (o.certificate[0])
			printf("  certificate %s\n", o.certificate);
		if (o.error.type[0])
			printf("  error [%s] %s\n", o.error.type, o.error.detail);
	}
	acme_order_free(&o);
	acme_client_free(cl);
	return rc;
}

/* --- ca revoke ----------------------------------------------------------- */

static int ca_revoke(struct cli *c, const char *ca, const char *cert_file, const char *key_file,
		     const char *reason_s)
{
	struct cd_err err = { 0 };
	acme_client_t *cl = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int len, reason = 0, rc;
	BIO *b;

	if ((rc = acme_revoke_reason_parse(reason_s, &reason, &err)))
		return cli_fail(&err);
	b = BIO_new_file(cert_file, "r");
	x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!x) {
		cd_err_set(&err, CD_EINVAL, false, "%s: no PEM certificate in it", cert_file);
		return cli_fail(&err);
	}
	if (key_file) {
		b = BIO_new_file(key_file, "r");
		key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!key || X509_check_private_key(x, key) != 1) {
			rc = cd_err_set(&err, CD_EINVAL, false,
					"%s: not the private key of the certificate", key_file);
			goto out;
		}
	}
	if ((len = i2d_X509(x, &der)) <= 0) {
		rc = cd_err_set(&err, CD_EINVAL, false, "%s: cannot encode", cert_file);
		goto out;
	}
	if ((rc = open_client(c, ca, &cl, &err)) ||
	    (rc = acme_revoke(cl, der, (size_t)len, reason, key, &err)))
		goto out;
	printf("revoked %s at CA %s (reason %s, signed by %s)\n", cert_file,
	       acme_client_ca(cl)->name, reason_s, key ? "the certificate's key" : "the account");
out:
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
	acme_client_free(cl);
	return rc ? cli_fail(&err) : 0;
}

/* --- the command --------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: certdesk ca list\n"
		"       certdesk ca register [--ca NAME] [--eab-kid KID --eab-hmac-file FILE]\n"
		"       certdesk ca issue [--ca NAME] --name A [--name B ...] [--names-file F]\n"
		"                         --out DIR [--http-listen ADDR:PORT|[IPV6]:PORT|:PORT]\n"
		"                         [--each] [--jobs N]\n"
		"                         [--valid-days N]\n"
		"       certdesk ca revoke [--ca NAME] --cert FILE [--key FILE] [--reason R]\n"
		"       certdesk ca order [--ca NAME] --url ORDER-URL\n\n"
		"The ACME CAs of the config ([ca NAME]; [acme] active_ca is used when --ca is\n"
		"not given). 'issue' serves http-01 itself on --http-listen (default :80, every\n"
		"address, IPv6 and IPv4; many validation requests at once)\n"
		"and writes DIR/<first name>/{fullchain.pem,privkey.pem}; --each issues one\n"
		"certificate per name, --jobs N runs N issuances at once; --valid-days asks for\n"
		"notAfter = now + N days when the CA's validity is 'request'. 'revoke' signs with\n"
		"the certificate's own key when --key is given, else with the account; reasons:\n"
		"unspecified, keyCompromise, superseded (default), cessationOfOperation, ...\n"
		"'order' shows an order at the CA (the URL 'issue' prints); exit status 3 when\n"
		"the CA no longer knows it (gone: a new order is needed), 2 for bad input.\n");
}

int cmd_ca(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "eab-kid", required_argument, NULL, 'k' },
		{ "eab-hmac-file", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },
		{ "names-file", required_argument, NULL, 'N' },
		{ "out", required_argument, NULL, 'o' },
		{ "http-listen", required_argument, NULL, 'l' },
		{ "each", no_argument, NULL, 'e' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "reason", required_argument, NULL, 'r' },
		{ "valid-days", required_argument, NULL, 'd' },
		{ "url", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = NULL, *kid = NULL, *hmac = NULL, *out = NULL, *listen_at = NULL;
	const char *cert = NULL, *key = NULL, *reason = "superseded", *sub, *order_url = NULL;
	char **names = NULL;
	size_t n_names = 0;
	bool each = false;
	long jobs = 1, valid_days = 0;
	int opt, rc;
	struct cd_err err = { 0 };

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	argc--;
	argv++;
	names = calloc((size_t)argc + 1, sizeof(*names));
	if (!names)
		return 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ca = optarg;
			break;
		case 'k':
			kid = optarg;
			break;
		case 'm':
			hmac = optarg;
			break;
		case 'n':
			names[n_names++] = strdup(optarg);
			break;
		case 'N':
			if ((rc = read_names_file(optarg, &names, &n_names, &err))) {
				rc = cli_fail(&err);
				goto out;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'l':
			listen_at = optarg;
			break;
		case 'e':
			each = true;
			break;
		case 'j':
			jobs = strtol(optarg, NULL, 10);
			break;
		case 'd':
			valid_days = strtol(optarg, NULL, 10);
			break;
		case 'u':
			order_url = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = cli_usage("ca", "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		rc = cli_usage("ca", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (strcmp(sub, "list") == 0) {
		rc = ca_list(c);
	} else if (strcmp(sub, "register") == 0) {
		if (!kid != !hmac)
			rc = cli_usage("ca", "--eab-kid and --eab-hmac-file go together");
		else
			rc = ca_register(c, ca, kid, hmac);
	} else if (strcmp(sub, "issue") == 0) {
		if (!n_names || !out)
			rc = cli_usage("ca", "issue needs --name (or --names-file) and --out");
		else if (n_names > ACME_MAX_NAMES && !each)
			rc = cli_usage("ca", "at most %d names per certificate", ACME_MAX_NAMES);
		else if (valid_days < 0 || valid_days > 3650)
			rc = cli_usage("ca", "--valid-days must be 1..3650");
		else if (jobs < 1 || jobs > 256)
			rc = cli_usage("ca", "--jobs must be 1..256");
		else
			rc = ca_issue(c, ca, names, n_names, out, listen_at ? listen_at : ":80",
				      each, jobs, valid_days);
	} else if (strcmp(sub, "revoke") == 0) {
		if (!cert)
			rc = cli_usage("ca", "revoke needs --cert FILE");
		else
			rc = ca_revoke(c, ca, cert, key, reason);
	} else if (strcmp(sub, "order") == 0) {
		if (!order_url)
			rc = cli_usage("ca", "order needs --url ORDER-URL");
		else
			rc = ca_order(c, ca, order_url);
	} else {
		rc = cli_usage(
		    "ca", "unknown subcommand '%s' (list, register, issue, revoke, order)", sub);
	}
out:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return rc;
}
