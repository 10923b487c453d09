/*
 * install.h - putting a new certificate on its hosting server and making the
 * server serve it (DESIGN.md §2 install; §3.3 invariants 3, 4, 7).
 *
 * What certdesk writes on a server, and nothing else (it never edits the
 * operator's files), all under the server's root ([install] root, or
 * [server NAME] root):
 *   ROOT/FQDN/fullchain.pem   the leaf then its intermediates
 *   ROOT/FQDN/privkey.pem     the private key, mode 0600
 *   ROOT/FQDN/ssl.conf        the generated include (ssl_certificate and
 *                             ssl_certificate_key naming the two files above)
 *   ROOT/.certdesk-backup/FQDN/STAMP/   the previous fullchain.pem and
 *                             privkey.pem, STAMP = UTC time (YYYYMMDDTHHMMSSZ,
 *                             ".N" added within one second); the newest
 *                             backup_keep of them are kept (a dot directory, so
 *                             that include globs and `import installed` skip it)
 *   ROOT/FQDN/.certdesk-live  the SHA-256 of the fullchain that a reload was
 *                             seen to take (makes a repeated install a no-op)
 *   ROOT/.well-known/acme-challenge/TOKEN   http-01 answers, one directory per
 *                             server for every site on it (0644 files, 0755
 *                             directories, so nginx's workers can read them)
 *   ROOT/.certdesk.lock       flock'd during a batch, so that certdesk processes
 *                             on one host never interleave tests and reloads
 * Every file is written to a temporary name, fsync'd, renamed, and its
 * directory fsync'd. Directories certdesk makes get 0755 (backups 0700).
 *
 * What the operator's nginx config must contain, for each site:
 *   server {
 *       listen ADDR:443 ssl;  server_name FQDN www.FQDN;
 *       include ROOT/FQDN/ssl.conf;
 *       ...
 *   }
 * and, in the server block on the HTTP port that answers every name:
 *   location /.well-known/acme-challenge/ { root ROOT; }
 * (the files there are world-readable, so nginx's workers can read them).
 *
 * Each hosting server's settings are data: the inventory's servers row
 * (driver, addresses, HTTP and TLS ports: struct install_server) and the
 * config ([install] defaults, [server NAME] overrides):
 *   root, nginx (the binary), nginx_conf and nginx_prefix (given as -c and -p
 *   when set), test_command and reload_command (argv lists, run without a
 *   shell; empty = "NGINX [-p PREFIX] [-c CONF] -t" and "... -s reload";
 *   placeholders %n nginx, %c nginx_conf, %p nginx_prefix, %r root,
 *   %s the server's name, %% a percent sign), error_log and pid_file (how a
 *   reload is judged), backup_keep, coalesce_ms, reload_timeout_ms,
 *   command_timeout_ms.
 *
 * How an install goes: the site's current files are copied to a backup, the
 * new ones written; installs that reach one server within coalesce_ms share
 * one `nginx -t` and one reload. When the test fails, the site whose file
 * nginx names (ROOT/FQDN/...) is restored alone and the test runs again for
 * the rest. A reload is judged by the error log from the offset saved before
 * it ([emerg]/[alert]/[crit] = failed: nginx's own status says nothing about a
 * failed bind) and by the master's worker PIDs changing (= taken). A failed
 * reload restores every site of the batch and reloads again, so the old
 * certificates keep serving. The caller then proves the new certificate live
 * (verify.h) and calls install_rollback when it is not.
 *
 * Thread-safe: many workers call install_apply at once on one installer_t,
 * one site each; calls for one server are serialised by the installer.
 */
#ifndef CD_INSTALL_INSTALL_H
#define CD_INSTALL_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/failure.h"
#include "util/config.h"
#include "util/err.h"

typedef struct installer installer_t;

/* The installer for every hosting server, reading its settings from cfg
 * (which must outlive it). */
int install_new(const cd_config_t *cfg, installer_t **out, struct cd_err *err);
/* Frees it; no install_apply may be running. NULL is fine. */
void install_free(installer_t *in);

/* A hosting server as the inventory holds it (the servers table). */
struct install_server {
	const char *name;   /* the inventory's name; [server NAME] in the config */
	const char *driver; /* "nginx" (NULL or "" = nginx) */
	const char *ipv4;   /* the address probes go to (NULL/"" when none) */
	const char *ipv6;   /* used when there is no ipv4 */
	int http_port, https_port;
};

/* One site's new certificate, held in memory by the caller. */
struct install_site {
	const char *fqdn; /* lower-case A-labels, as stored */
	const char *fullchain_pem;
	size_t fullchain_len;
	/* Wiped (OPENSSL_cleanse) by install_apply once written or refused, so it
	 * must be writable memory the caller owns. Never logged. */
	char *key_pem;
	size_t key_len;
};

#define INSTALL_DETAIL_MAX 512

struct install_result {
	enum failure_code failure; /* FAILURE_NONE, or FAILURE_INSTALL_FAILED */
	bool retryable;		   /* whether a later attempt can help */
	bool changed;		   /* false: this very certificate was installed and live already */
	int batch;		   /* how many installs shared this test and reload (1 = alone) */
	/* The reloads the batch ran and how many of them failed, counted on one
	 * request of the batch only (the others carry 0), so that summing them
	 * over every request counts each reload once (for /metrics). */
	int reloads, reloads_failed;
	/* For an operator: what happened, naming the server and the file or the
	 * nginx message ("web01: nginx -t failed: ... ROOT/a.example/fullchain.pem
	 * ...; the previous certificate was restored"). */
	char detail[INSTALL_DETAIL_MAX];
};

/* Installs one site's certificate on its server and blocks until the batch
 * it joined was tested and reloaded (or failed and was rolled back). Applying
 * the certificate already installed and live is a no-op success (changed =
 * false), so a crashed worker may repeat the step. Returns 0 when the install
 * was attempted (the verdict is in *out, possibly a failure), and a negative
 * code only when it could not be (bad arguments, configuration). */
int install_apply(installer_t *in, const struct install_server *srv,
		  const struct install_site *site, struct install_result *out, struct cd_err *err);

/* Puts back the newest backup of a site (the certificate before the last
 * install) and reloads: for a new certificate that was not seen live. With no
 * backup the site's files are removed. Same result rules as install_apply. */
int install_rollback(installer_t *in, const struct install_server *srv, const char *fqdn,
		     struct install_result *out, struct cd_err *err);

/* Runs the server's test command now (nothing written): 0 when it passes;
 * *output gets what it printed (bounded, NUL-terminated). For operators. */
int install_test(installer_t *in, const struct install_server *srv, char *output, size_t outsz,
		 struct cd_err *err);

/* The server's root directory as configured (for operators and tests). */
int install_root(installer_t *in, const struct install_server *srv, char *out, size_t outsz,
		 struct cd_err *err);

/* http-01: writes ROOT/.well-known/acme-challenge/TOKEN holding the key
 * authorization (durably, world-readable), and removes it. token must be
 * base64url (RFC 8555 §8.3); removing a missing token is fine. */
int install_challenge_put(installer_t *in, const struct install_server *srv, const char *token,
			  const char *key_authorization, struct cd_err *err);
int install_challenge_remove(installer_t *in, const struct install_server *srv, const char *token,
			     struct cd_err *err);
/* The self-check before answering the challenge: GET
 * http://ADDR:HTTP_PORT/.well-known/acme-challenge/TOKEN with "Host: FQDN"
 * must answer 200 with exactly the key authorization. 0 when it does; else
 * -CD_EPEER (retryable) with what was seen ("answered 404", "connection
 * refused", "body differs: ..."). */
int install_challenge_check(installer_t *in, const struct install_server *srv, const char *fqdn,
			    const char *token, const char *key_authorization, struct cd_err *err);

#endif
