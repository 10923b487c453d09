/*
 * install_priv.h - what the installer's files share: one server's settings as
 * data, the driver interface (nginx first; a hook driver can follow), running
 * a command without a shell, and the site files. Not for other stages.
 */
#ifndef CD_INSTALL_PRIV_H
#define CD_INSTALL_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "install/install.h"

#define INSTALL_ARGV_MAX   32
#define INSTALL_OUTPUT_MAX 8192

/* One hosting server's settings: the inventory's row plus the config. */
struct install_settings {
	char name[65];
	char driver[16];
	char addr[64]; /* where probes go: ipv4, else ipv6 */
	int http_port, https_port;
	char root[PATH_MAX];
	char nginx[PATH_MAX], nginx_conf[PATH_MAX], nginx_prefix[PATH_MAX];
	char test_command[1024], reload_command[1024];
	char error_log[PATH_MAX], pid_file[PATH_MAX];
	long backup_keep, coalesce_ms, reload_timeout_ms, command_timeout_ms;
};

int install_settings_load(const cd_config_t *cfg, const struct install_server *srv,
			  struct install_settings *s, struct cd_err *err);

/* A driver: how to test the server's config, reload it and judge the reload,
 * and which site a failed test names. */
struct install_driver {
	const char *name;
	/* 0 when the test passes; -CD_EPEER when it fails (output holds what it
	 * said); other negatives when it could not run. */
	int (*test)(const struct install_settings *s, char *output, size_t outsz,
		    struct cd_err *err);
	/* 0 when the server was seen to take the new config; -CD_EPEER with the
	 * reason when it did not. *kept_old is set when the server certainly
	 * still runs its previous config (it refused the new one). */
	int (*reload)(const struct install_settings *s, bool *kept_old, struct cd_err *err);
	/* The index among fqdns of the site the test output names, or -1. */
	int (*blame)(const struct install_settings *s, const char *output, const char *const *fqdns,
		     size_t n);
};

extern const struct install_driver install_nginx_driver;

/* Expands a command line (split on blanks; placeholders %n %c %p %r %s %%)
 * into argv strings kept in buf. */
int install_argv(const struct install_settings *s, const char *cmdline, char *buf, size_t bufsz,
		 char **argv, size_t argv_max, struct cd_err *err);

/* Runs argv (execvp, no shell) with stdout and stderr into output (bounded,
 * NUL-terminated), killing it after timeout_ms. *status is its exit status
 * (-1 when killed by a signal or the time-out). Returns 0 when it ran. */
int install_run(char *const *argv, long timeout_ms, char *output, size_t outsz, int *status,
		struct cd_err *err);

/* --- the site files (files.c) --- */

/* A site's files as they were before this install, to restore on failure. */
struct install_prior {
	bool had_files;	       /* fullchain.pem and privkey.pem existed */
	char backup[PATH_MAX]; /* the backup directory made now ("" when none) */
	bool wrote;	       /* new files were written (else they were already there) */
};

/* 1 when the site's files are this certificate and key already, 0 when not;
 * *live says the marker shows it was reloaded. */
int install_files_same(const struct install_settings *s, const struct install_site *site,
		       bool *live, struct cd_err *err);
/* Backs up the current files, writes the new ones and the include. */
int install_files_write(const struct install_settings *s, const struct install_site *site,
			struct install_prior *prior, struct cd_err *err);
/* Puts back a backup directory's files (backup "" = none: removes the site's
 * files), and clears the live marker. */
int install_files_restore(const struct install_settings *s, const char *fqdn, const char *backup,
			  struct cd_err *err);
/* The newest backup directory of a site ("" when none). */
int install_files_newest_backup(const struct install_settings *s, const char *fqdn, char *out,
				size_t outsz, struct cd_err *err);
/* Records that the current fullchain was seen live. */
int install_files_mark_live(const struct install_settings *s, const char *fqdn, struct cd_err *err);
/* Deletes backups beyond backup_keep (oldest first). */
void install_files_prune(const struct install_settings *s, const char *fqdn);
/* mkdir -p; the directories it makes get exactly mode (the umask aside). */
int install_mkdir_p(const char *dir, mode_t mode, struct cd_err *err);
/* Checks that fqdn is one safe path component (a DNS name). */
bool install_fqdn_ok(const char *fqdn);

#endif
