/*
 * install.c - the installer: each server's settings from the inventory and
 * the config, the per-server queue that coalesces installs into one test and
 * one reload, the batch itself (write, test, blame and restore one site,
 * reload, restore all on a failed reload), rollback, and the http-01
 * challenge directory with its self-check.
 *
 * Coalescing: install_apply queues its request on the server's queue. When no
 * thread is running a batch for that server, the caller becomes the leader:
 * it waits coalesce_ms for more requests, takes every queued one, runs the
 * batch and wakes the others. Only a leader writes a server's files, so no
 * batch's test or reload ever sees another batch's half-written files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "install/install_priv.h"
#include "util/fileio.h"
#include "util/log.h"

enum req_kind { REQ_APPLY, REQ_ROLLBACK };

struct request {
	enum req_kind kind;
	const struct install_site *site; /* REQ_APPLY */
	const char *fqdn;
	struct install_result *res;
	struct install_prior prior;
	bool done;
	bool in_batch; /* still part of the batch being tested */
	struct request *next;
};

struct server_queue {
	char name[65];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct request *pending;
	bool leader; /* a thread is collecting or running a batch */
	struct server_queue *next;
};

struct installer {
	const cd_config_t *cfg;
	pthread_mutex_t mu; /* guards queues */
	struct server_queue *queues;
};

int install_new(const cd_config_t *cfg, installer_t **out, struct cd_err *err)
{
	struct installer *in = calloc(1, sizeof(*in));

	*out = NULL;
	if (!in)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	in->cfg = cfg;
	pthread_mutex_init(&in->mu, NULL);
	*out = in;
	return 0;
}

void install_free(installer_t *in)
{
	if (!in)
		return;
	for (struct server_queue *q = in->queues, *n; q; q = n) {
		n = q->next;
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		free(q);
	}
	pthread_mutex_destroy(&in->mu);
	free(in);
}

static struct server_queue *queue_of(installer_t *in, const char *name)
{
	struct server_queue *q;

	pthread_mutex_lock(&in->mu);
	for (q = in->queues; q; q = q->next)
		if (strcmp(q->name, name) == 0)
			break;
	if (!q && (q = calloc(1, sizeof(*q))) != NULL) {
		snprintf(q->name, sizeof(q->name), "%s", name);
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->cv, NULL);
		q->next = in->queues;
		in->queues = q;
	}
	pthread_mutex_unlock(&in->mu);
	return q;
}

/* --- settings ----------------------------------------------------------- */

/* [server NAME] KEY, else [install] KEY. */
static const char *setting(const cd_config_t *cfg, const char *section, const char *key)
{
	const char *v = cd_config_get(cfg, section, key);

	return v ? v : cd_config_get(cfg, "install", key);
}

static int setting_path(const cd_config_t *cfg, const char *section, const char *key, char *out,
			size_t outsz, struct cd_err *err)
{
	const char *v = setting(cfg, section, key);
	size_t n;
	int rc;

	if (!v || !*v) {
		out[0] = '\0';
		return 0;
	}
	/* a bare command name ("nginx") is looked up in PATH, not the config dir */
	if (strcmp(key, "nginx") == 0 && !strchr(v, '/')) {
		snprintf(out, outsz, "%s", v);
		return 0;
	}
	if ((rc = cd_path_join(cd_config_dir(cfg), v, out, outsz, err)))
		return rc;
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

static int setting_long(const cd_config_t *cfg, const char *section, const char *key, long min,
			long max, long *out, struct cd_err *err)
{
	const char *v = cd_config_get(cfg, section, key);

	return cd_config_get_int(cfg, v ? section : "install", key, min, max, out, err);
}

int install_settings_load(const cd_config_t *cfg, const struct install_server *srv,
			  struct install_settings *s, struct cd_err *err)
{
	char section[80];
	int rc;

	memset(s, 0, sizeof(*s));
	if (!srv || !srv->name || !*srv->name || strlen(srv->name) >= sizeof(s->name))
		return cd_err_set(err, CD_EINVAL, false, "install: no server name");
	snprintf(s->name, sizeof(s->name), "%s", srv->name);
	snprintf(s->driver, sizeof(s->driver), "%s",
		 srv->driver && *srv->driver ? srv->driver : "nginx");
	if (strcmp(s->driver, "nginx") != 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "server %s: driver '%s' is not supported (only nginx)", s->name,
				  s->driver);
	snprintf(s->addr, sizeof(s->addr), "%s",
		 srv->ipv4 && *srv->ipv4 ? srv->ipv4 : (srv->ipv6 ? srv->ipv6 : ""));
	s->http_port = srv->http_port;
	s->https_port = srv->https_port;
	snprintf(section, sizeof(section), "server %s", srv->name);
	if ((rc = setting_path(cfg, section, "root", s->root, sizeof(s->root), err)) ||
	    (rc = setting_path(cfg, section, "nginx", s->nginx, sizeof(s->nginx), err)) ||
	    (rc = setting_path(cfg, section, "nginx_conf", s->nginx_conf, sizeof(s->nginx_conf),
			       err)) ||
	    (rc = setting_path(cfg, section, "nginx_prefix", s->nginx_prefix,
			       sizeof(s->nginx_prefix), err)) ||
	    (rc = setting_path(cfg, section, "error_log", s->error_log, sizeof(s->error_log),
			       err)) ||
	    (rc = setting_path(cfg, section, "pid_file", s->pid_file, sizeof(s->pid_file), err)))
		return rc;
	snprintf(s->test_command, sizeof(s->test_command), "%s",
		 setting(cfg, section, "test_command") ? setting(cfg, section, "test_command")
						       : "");
	snprintf(s->reload_command, sizeof(s->reload_command), "%s",
		 setting(cfg, section, "reload_command") ? setting(cfg, section, "reload_command")
							 : "");
	if ((rc = setting_long(cfg, section, "backup_keep", 1, 1000, &s->backup_keep, err)) ||
	    (rc = setting_long(cfg, section, "coalesce_ms", 0, 600000, &s->coalesce_ms, err)) ||
	    (rc = setting_long(cfg, section, "reload_timeout_ms", 100, 600000,
			       &s->reload_timeout_ms, err)) ||
	    (rc = setting_long(cfg, section, "command_timeout_ms", 100, 600000,
			       &s->command_timeout_ms, err)))
		return rc;
	if (!s->root[0])
		return cd_err_set(err, CD_ECONFIG, false, "server %s: [install] root is not set",
				  s->name);
	if (strpbrk(s->root, "\"\\$;{}\n"))
		return cd_err_set(err, CD_ECONFIG, false,
				  "server %s: root '%s' has a character nginx would misread",
				  s->name, s->root);
	if (!s->nginx[0])
		snprintf(s->nginx, sizeof(s->nginx), "nginx");
	return 0;
}

static const struct install_driver *driver_of(const struct install_settings *s)
{
	(void)s; /* only nginx for now; install_settings_load refuses others */
	return &install_nginx_driver;
}

/* --- the batch ---------------------------------------------------------- */

static void fail(struct request *r, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct request *r, bool retryable, const char *fmt, ...)
{
	va_list ap;

	r->res->failure = FAILURE_INSTALL_FAILED;
	r->res->retryable = retryable;
	va_start(ap, fmt);
	vsnprintf(r->res->detail, sizeof(r->res->detail), fmt, ap);
	va_end(ap);
	r->in_batch = false;
}

static void wipe_key(const struct install_site *site)
{
	if (site && site->key_pem)
		OPENSSL_cleanse(site->key_pem, site->key_len);
}

/* Writes (or restores, for a rollback) one request's files. */
static void prepare(const struct install_settings *s, struct request *r)
{
	struct cd_err e = { 0 };
	bool live;
	int rc;

	r->in_batch = true;
	if (r->kind == REQ_ROLLBACK) {
		if (install_files_newest_backup(s, r->fqdn, r->prior.backup,
						sizeof(r->prior.backup), &e) ||
		    install_files_restore(s, r->fqdn, r->prior.backup, &e))
			fail(r, true, "%s: %s: cannot restore the previous certificate: %s",
			     s->name, r->fqdn, e.msg);
		return;
	}
	rc = install_files_same(s, r->site, &live, &e);
	if (rc == 1) {
		/* written by an earlier attempt whose reload was not seen: the
		 * newest backup is what to restore if this one fails */
		r->prior.wrote = false;
		if (install_files_newest_backup(s, r->fqdn, r->prior.backup,
						sizeof(r->prior.backup), &e) == 0)
			r->prior.had_files = r->prior.backup[0] != '\0';
		wipe_key(r->site);
		return;
	}
	if (rc == 0)
		rc = install_files_write(s, r->site, &r->prior, &e);
	wipe_key(r->site);
	if (rc) {
		struct cd_err e2 = { 0 };

		if (r->prior.wrote || r->prior.backup[0])
			install_files_restore(s, r->fqdn, r->prior.backup, &e2);
		fail(r, e.retryable, "%s: %s: cannot write the certificate: %s", s->name, r->fqdn,
		     e.msg);
	}
}

/* Puts the site back as it was before this batch. */
static int restore(const struct install_settings *s, struct request *r, struct cd_err *err)
{
	if (r->kind == REQ_ROLLBACK)
		return 0; /* a rollback that fails leaves the restored files */
	return install_files_restore(s, r->fqdn, r->prior.backup, err);
}

static void run_batch(const struct install_settings *s, struct request *batch)
{
	const struct install_driver *drv = driver_of(s);
	char output[INSTALL_OUTPUT_MAX];
	struct cd_err e = { 0 };
	size_t n = 0, live;
	bool kept_old = false;
	int rc;

	for (struct request *r = batch; r; r = r->next) {
		prepare(s, r);
		n++;
	}
	for (struct request *r = batch; r; r = r->next)
		r->res->batch = (int)n;
	/* test; blame and set aside one site at a time */
	for (size_t round = 0; round <= n; round++) {
		const char *fqdns[n ? n : 1];
		struct request *idx[n ? n : 1];

		live = 0;
		for (struct request *r = batch; r; r = r->next)
			if (r->in_batch) {
				fqdns[live] = r->fqdn;
				idx[live++] = r;
			}
		if (live == 0)
			return;
		cd_err_clear(&e);
		rc = drv->test(s, output, sizeof(output), &e);
		if (rc == 0)
			break;
		if (rc != -CD_EPEER) {
			/* the test could not run: nothing is known, put everything back */
			for (size_t i = 0; i < live; i++) {
				restore(s, idx[i], NULL);
				fail(idx[i], true, "%s: %s; the previous certificate was restored",
				     s->name, e.msg);
			}
			return;
		}
		int b = drv->blame(s, output, fqdns, live);
		if (b < 0) {
			/* the operator's config, most likely: a retry after a fix helps */
			for (size_t i = 0; i < live; i++) {
				restore(s, idx[i], NULL);
				fail(
				    idx[i], true,
				    "%s: %s (no site named); the previous certificate was restored",
				    s->name, e.msg);
			}
			return;
		}
		struct cd_err e2 = { 0 };
		if (restore(s, idx[b], &e2) != 0)
			cd_warn("install: %s: %s: restoring after a failed test: %s", s->name,
				idx[b]->fqdn, e2.msg);
		cd_warn("install: %s: %s", s->name, e.msg);
		fail(idx[b], false, "%s: %s; the previous certificate was restored", s->name,
		     e.msg);
	}
	cd_err_clear(&e);
	rc = drv->reload(s, &kept_old, &e);
	for (struct request *r = batch; r; r = r->next)
		if (r->in_batch) { /* the batch's reloads are counted on its first request */
			r->res->reloads++;
			r->res->reloads_failed += rc != 0;
			break;
		}
	if (rc != 0) {
		struct cd_err e2 = { 0 };
		char why[CD_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", e.msg);
		cd_warn("install: %s: %s", s->name, why);
		for (struct request *r = batch; r; r = r->next)
			if (r->in_batch)
				restore(s, r, NULL);
		/* unless nginx refused the new config (it still runs the old one),
		 * make it load what the files now say (the old ones) */
		if (!kept_old) {
			int rc2 = drv->reload(s, &kept_old, &e2);

			for (struct request *r = batch; r; r = r->next)
				if (r->in_batch) {
					r->res->reloads++;
					r->res->reloads_failed += rc2 != 0;
					break;
				}
			if (rc2 != 0)
				cd_warn("install: %s: reload after restoring: %s", s->name, e2.msg);
		}
		for (struct request *r = batch; r; r = r->next)
			if (r->in_batch)
				fail(r, true, "%s: %s; the previous certificate was restored",
				     s->name, why);
		return;
	}
	for (struct request *r = batch; r; r = r->next) {
		struct cd_err e2 = { 0 };

		if (!r->in_batch)
			continue;
		if (install_files_mark_live(s, r->fqdn, &e2) != 0)
			cd_warn("install: %s: %s: %s", s->name, r->fqdn, e2.msg);
		install_files_prune(s, r->fqdn);
		r->res->failure = FAILURE_NONE;
		snprintf(r->res->detail, sizeof(r->res->detail),
			 r->kind == REQ_ROLLBACK ? "%s: %s: the previous certificate was put back"
						 : "%s: %s: installed and reloaded",
			 s->name, r->fqdn);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Other certdesk processes on this host (serve and worker nodes) may install
 * on the same server: a batch holds an exclusive flock on ROOT/.certdesk.lock
 * so that no two batches' tests and reloads interleave. -1 when the lock file
 * cannot be opened (the batch then runs without it, as before). */
static int lock_server(const struct install_settings *s)
{
	char path[PATH_MAX + 32];
	struct cd_err e = { 0 };
	int fd;

	if (install_mkdir_p(s->root, 0755, &e) != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/.certdesk.lock", s->root) >= sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cd_warn("install: %s: %s: %s (batch not locked)", s->name, path, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
		;
	return fd;
}

/* Queues r and returns when its batch is done. */
static void submit(installer_t *in, const struct install_settings *s, struct request *r)
{
	struct server_queue *q = queue_of(in, s->name);

	if (!q) {
		fail(r, true, "%s: out of memory", s->name);
		return;
	}
	pthread_mutex_lock(&q->mu);
	r->next = q->pending;
	q->pending = r;
	while (!r->done) {
		if (q->leader) {
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		/* lead one batch: collect for coalesce_ms, then take what came */
		q->leader = true;
		pthread_mutex_unlock(&q->mu);
		if (s->coalesce_ms > 0)
			sleep_ms(s->coalesce_ms);
		pthread_mutex_lock(&q->mu);
		struct request *batch = q->pending;
		q->pending = NULL;
		pthread_mutex_unlock(&q->mu);

		int lock = lock_server(s);
		run_batch(s, batch);
		if (lock >= 0)
			close(lock); /* releases the flock */

		pthread_mutex_lock(&q->mu);
		for (struct request *b = batch; b; b = b->next)
			b->done = true;
		q->leader = false;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
}

/* --- the public calls ---------------------------------------------------- */

/* An encrypted key is refused, never prompted for on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static int check_pair(const struct install_site *site, char *why, size_t whysz)
{
	BIO *cb = BIO_new_mem_buf(site->fullchain_pem, (int)site->fullchain_len);
	BIO *kb = BIO_new_mem_buf(site->key_pem, (int)site->key_len);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL) : NULL;
	int ok = 0;

	if (!x)
		snprintf(why, whysz, "the full chain does not start with a PEM certificate");
	else if (!k)
		snprintf(why, whysz, "the private key is not an unencrypted PEM private key");
	else if (X509_check_private_key(x, k) != 1)
		snprintf(why, whysz, "the private key does not match the certificate");
	else
		ok = 1;
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return ok;
}

int install_apply(installer_t *in, const struct install_server *srv,
		  const struct install_site *site, struct install_result *out, struct cd_err *err)
{
	struct install_settings s;
	struct request r = { 0 };
	char why[200];
	bool live;
	int rc;

	memset(out, 0, sizeof(*out));
	out->batch = 1;
	if (!site || !site->fqdn || !install_fqdn_ok(site->fqdn) || !site->fullchain_pem ||
	    !site->key_pem || site->fullchain_len > INT32_MAX || site->key_len > INT32_MAX) {
		wipe_key(site);
		return cd_err_set(err, CD_EINVAL, false,
				  "install: not a valid site or certificate");
	}
	if ((rc = install_settings_load(in->cfg, srv, &s, err))) {
		wipe_key(site);
		return rc;
	}
	if (!check_pair(site, why, sizeof(why))) {
		wipe_key(site);
		out->failure = FAILURE_INSTALL_FAILED;
		snprintf(out->detail, sizeof(out->detail), "%s: %s: %s (nothing was written)",
			 s.name, site->fqdn, why);
		return 0;
	}
	/* the same certificate, installed and seen live already: nothing to do */
	if (install_files_same(&s, site, &live, err) == 1 && live) {
		wipe_key(site);
		snprintf(out->detail, sizeof(out->detail), "%s: %s: already installed and live",
			 s.name, site->fqdn);
		return 0;
	}
	cd_err_clear(err);
	r.kind = REQ_APPLY;
	r.site = site;
	r.fqdn = site->fqdn;
	r.res = out;
	submit(in, &s, &r);
	wipe_key(site); /* done by the batch already; this covers a refused queue */
	out->changed = out->failure == FAILURE_NONE;
	return 0;
}

int install_rollback(installer_t *in, const struct install_server *srv, const char *fqdn,
		     struct install_result *out, struct cd_err *err)
{
	struct install_settings s;
	struct request r = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	out->batch = 1;
	if (!fqdn || !install_fqdn_ok(fqdn))
		return cd_err_set(err, CD_EINVAL, false, "install: not a valid site name");
	if ((rc = install_settings_load(in->cfg, srv, &s, err)))
		return rc;
	r.kind = REQ_ROLLBACK;
	r.fqdn = fqdn;
	r.res = out;
	submit(in, &s, &r);
	out->changed = out->failure == FAILURE_NONE;
	return 0;
}

int install_test(installer_t *in, const struct install_server *srv, char *output, size_t outsz,
		 struct cd_err *err)
{
	struct install_settings s;
	int rc;

	output[0] = '\0';
	if ((rc = install_settings_load(in->cfg, srv, &s, err)))
		return rc;
	return driver_of(&s)->test(&s, output, outsz, err);
}

int install_root(installer_t *in, const struct install_server *srv, char *out, size_t outsz,
		 struct cd_err *err)
{
	struct install_settings s;
	int rc;

	if ((rc = install_settings_load(in->cfg, srv, &s, err)))
		return rc;
	if ((size_t)snprintf(out, outsz, "%s", s.root) >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "root path too long");
	return 0;
}

/* --- http-01 ------------------------------------------------------------- */

static bool token_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int challenge_path(installer_t *in, const struct install_server *srv, const char *token,
			  struct install_settings *s, char *dir, char *path, size_t sz,
			  struct cd_err *err)
{
	int rc;

	if (!token || !token_ok(token))
		return cd_err_set(err, CD_EINVAL, false, "install: not a valid http-01 token");
	if ((rc = install_settings_load(in->cfg, srv, s, err)))
		return rc;
	if ((size_t)snprintf(dir, sz, "%s/.well-known/acme-challenge", s->root) >= sz ||
	    (size_t)snprintf(path, sz, "%s/%s", dir, token) >= sz)
		return cd_err_set(err, CD_ELIMIT, false, "%s: challenge path too long", s->name);
	return 0;
}

int install_challenge_put(installer_t *in, const struct install_server *srv, const char *token,
			  const char *key_authorization, struct cd_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct install_settings s;
	int rc;

	if ((rc = challenge_path(in, srv, token, &s, dir, path, sizeof(dir), err)))
		return rc;
	if (!key_authorization || strlen(key_authorization) > 1024)
		return cd_err_set(err, CD_EINVAL, false, "install: not a valid key authorization");
	/* world-readable: nginx's workers may run as another user (directories
	 * made here get 0755 whatever the umask; an existing root keeps its mode) */
	if ((rc = install_mkdir_p(dir, 0755, err)))
		return rc;
	return cd_file_write_durable(path, key_authorization, strlen(key_authorization), 0644, err);
}

int install_challenge_remove(installer_t *in, const struct install_server *srv, const char *token,
			     struct cd_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct install_settings s;
	int rc;

	if ((rc = challenge_path(in, srv, token, &s, dir, path, sizeof(dir), err)))
		return rc;
	if (unlink(path) != 0 && errno != ENOENT)
		return cd_err_set(err, CD_EIO, true, "%s: unlink: %s", path, strerror(errno));
	return 0;
}

/* One HTTP/1.0 GET with a deadline; the status and the body (bounded). */
static int http_get(const char *addr, int port, const char *host, const char *path, long timeout_ms,
		    int *status, char *body, size_t bodysz, struct cd_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	char portstr[8], req[1024], resp[8192];
	size_t n = 0;
	int fd = -1, rc;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(addr, portstr, &hints, &ai) != 0 || !ai)
		return cd_err_set(err, CD_ECONFIG, false, "'%s' is not an IP address", addr);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = cd_err_set(err, CD_EIO, true, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		rc = cd_err_set(err, CD_EPEER, true, "http://%s:%d: %s", addr, port,
				strerror(errno));
		goto out;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&pfd, 1, (int)timeout_ms) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		rc = cd_err_set(err, CD_EPEER, true, "http://%s:%d: %s", addr, port,
				soerr ? strerror(soerr) : "connection timed out");
		goto out;
	}
	int len = snprintf(req, sizeof(req),
			   "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: certdesk\r\n"
			   "Connection: close\r\n\r\n",
			   path, host);
	if (len < 0 || (size_t)len >= sizeof(req) ||
	    send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		rc = cd_err_set(err, CD_EPEER, true, "http://%s:%d: cannot send the request", addr,
				port);
		goto out;
	}
	for (;;) {
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)timeout_ms) != 1) {
			rc =
			    cd_err_set(err, CD_EPEER, true, "http://%s:%d: no answer within %ld ms",
				       addr, port, timeout_ms);
			goto out;
		}
		ssize_t r = recv(fd, resp + n, sizeof(resp) - 1 - n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(resp) - 1)
			break;
	}
	resp[n] = '\0';
	if (sscanf(resp, "HTTP/%*d.%*d %d", status) != 1) {
		rc =
		    cd_err_set(err, CD_EPEER, true, "http://%s:%d: not an HTTP answer", addr, port);
		goto out;
	}
	char *b = strstr(resp, "\r\n\r\n");
	snprintf(body, bodysz, "%s", b ? b + 4 : "");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

int install_challenge_check(installer_t *in, const struct install_server *srv, const char *fqdn,
			    const char *token, const char *key_authorization, struct cd_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], url[400], body[2048];
	struct install_settings s;
	int rc, status = 0;

	if (!fqdn || !install_fqdn_ok(fqdn))
		return cd_err_set(err, CD_EINVAL, false, "install: not a valid site name");
	if ((rc = challenge_path(in, srv, token, &s, dir, path, sizeof(dir), err)))
		return rc;
	if (!s.addr[0] || s.http_port <= 0)
		return cd_err_set(err, CD_ECONFIG, false, "server %s has no address or HTTP port",
				  s.name);
	snprintf(url, sizeof(url), "/.well-known/acme-challenge/%s", token);
	if ((rc = http_get(s.addr, s.http_port, fqdn, url, s.command_timeout_ms, &status, body,
			   sizeof(body), err))) {
		cd_err_prefix(err, "%s: self-check for %s: ", s.name, fqdn);
		return rc;
	}
	/* nginx may add nothing; a trailing newline from another server is fine */
	size_t bl = strlen(body);
	while (bl && (body[bl - 1] == '\n' || body[bl - 1] == '\r'))
		body[--bl] = '\0';
	if (status != 200)
		return cd_err_set(err, CD_EPEER, true,
				  "%s: self-check for %s: http://%s:%d%s answered %d", s.name, fqdn,
				  s.addr, s.http_port, url, status);
	if (strcmp(body, key_authorization) != 0)
		return cd_err_set(err, CD_EPEER, true,
				  "%s: self-check for %s: http://%s:%d%s answered a different body "
				  "(%.60s)",
				  s.name, fqdn, s.addr, s.http_port, url, body);
	return 0;
}
