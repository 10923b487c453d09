/*
 * nginx.c - the nginx driver: `nginx -t`, `nginx -s reload`, and judging the
 * reload, which nginx's exit status cannot do (it is 0 when the new config
 * cannot bind): the error log from the offset saved before the reload shows
 * [emerg]/[alert]/[crit], or the master's workers are replaced. A failed test
 * is blamed on the site whose file nginx names (ROOT/FQDN/...).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "install/install_priv.h"
#include "util/fileio.h"

#define MAX_WORKERS 256

static int build_argv(const struct install_settings *s, const char *custom, const char *const *tail,
		      char *buf, size_t bufsz, char **argv, struct cd_err *err)
{
	size_t argc = 0, used = 0;

	if (custom[0])
		return install_argv(s, custom, buf, bufsz, argv, INSTALL_ARGV_MAX, err);
	/* the default: NGINX [-p PREFIX] [-c CONF] TAIL... (strings live in s) */
	(void)buf;
	(void)bufsz;
	(void)used;
	argv[argc++] = (char *)s->nginx;
	if (s->nginx_prefix[0]) {
		argv[argc++] = "-p";
		argv[argc++] = (char *)s->nginx_prefix;
	}
	if (s->nginx_conf[0]) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)s->nginx_conf;
	}
	for (size_t i = 0; tail[i]; i++)
		argv[argc++] = (char *)tail[i];
	argv[argc] = NULL;
	return 0;
}

/* The lines of out that carry nginx's verdict, shortened for a detail. */
static void summarise(const char *out, char *dst, size_t dstsz)
{
	const char *p = strstr(out, "[emerg]");

	if (!p)
		p = strstr(out, "[alert]");
	if (!p)
		p = strstr(out, "[crit]");
	if (!p)
		p = out;
	size_t n = strcspn(p, "\n");
	snprintf(dst, dstsz, "%.*s", (int)(n > 300 ? 300 : n), p);
}

static int nginx_test(const struct install_settings *s, char *output, size_t outsz,
		      struct cd_err *err)
{
	static const char *const tail[] = { "-t", NULL };
	char buf[2048], *argv[INSTALL_ARGV_MAX], line[400];
	int status, rc;

	if ((rc = build_argv(s, s->test_command, tail, buf, sizeof(buf), argv, err)))
		return rc;
	if ((rc = install_run(argv, s->command_timeout_ms, output, outsz, &status, err))) {
		/* could not run or timed out: nothing is known about the sites */
		if (err)
			err->code = CD_EIO;
		return -CD_EIO;
	}
	if (status == 0)
		return 0;
	summarise(output, line, sizeof(line));
	return cd_err_set(err, CD_EPEER, false, "nginx -t failed: %s", line);
}

static int read_pid(const char *path, pid_t *pid)
{
	char buf[32];
	FILE *f = fopen(path, "r");
	long v;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	v = strtol(buf, NULL, 10);
	if (v <= 1)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

/* The children of the master (its workers), from /proc. */
static size_t workers_of(pid_t master, pid_t *out, size_t max)
{
	char path[64], buf[4096];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)master, (long)master);
	f = fopen(path, "r");
	if (f) {
		size_t r = fread(buf, 1, sizeof(buf) - 1, f);
		char *p = buf, *end;

		fclose(f);
		buf[r] = '\0';
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p || n == max)
				break;
			out[n++] = (pid_t)v;
			p = end;
		}
		return n;
	}
	/* without CONFIG_PROC_CHILDREN: scan /proc for the master's children */
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		long pid, ppid;
		char *rp;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name) >=
		    sizeof(path))
			continue;
		f = fopen(path, "r");
		if (!f)
			continue;
		size_t r = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[r] = '\0';
		rp = strrchr(buf, ')');
		pid = strtol(de->d_name, NULL, 10);
		if (rp && sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == (long)master)
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

static long file_size(const char *path)
{
	struct stat st;

	return path[0] && stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The first [emerg]/[alert]/[crit] line written to the log since offset. */
static bool log_failure(const char *path, long offset, char *line, size_t linesz)
{
	char buf[INSTALL_OUTPUT_MAX];
	size_t n;
	FILE *f;

	if (!path[0] || !(f = fopen(path, "r")))
		return false;
	if (fseek(f, offset, SEEK_SET) != 0) {
		fclose(f);
		return false;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!strstr(buf, "[emerg]") && !strstr(buf, "[alert]") && !strstr(buf, "[crit]"))
		return false;
	summarise(buf, line, linesz);
	return true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Whether an old worker still accepts connections: alive and not yet
 * "shutting down" (nginx retitles a worker when it closes its listeners). */
static bool still_serving(pid_t pid)
{
	char path[64], title[128];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if (!(f = fopen(path, "r")))
		return false;
	n = fread(title, 1, sizeof(title) - 1, f);
	fclose(f);
	title[n] = '\0';
	return n > 0 && !strstr(title, "shutting down");
}

/* The new workers run; the old ones are told to stop accepting right after.
 * Waits (bounded) until none of them would still take a connection, so that
 * a probe right after the reload sees the new configuration. */
static void settle(const pid_t *old, size_t n, long budget_ms)
{
	if (budget_ms > 2000)
		budget_ms = 2000;
	for (long waited = 0; waited < budget_ms; waited += 10) {
		bool any = false;

		for (size_t i = 0; i < n && !any; i++)
			any = still_serving(old[i]);
		if (!any)
			return;
		sleep_ms(10);
	}
}

/* After a refused reload: waits (bounded) until nginx is done with it (it
 * retries a failed bind for a while, logging each try), so the next reload's
 * log offset starts after this one's messages. */
static void quiesce(const char *log, long budget_ms)
{
	long last = file_size(log), quiet = 0;

	for (long waited = 0; waited < budget_ms && quiet < 700; waited += 50) {
		long now;

		sleep_ms(50);
		now = file_size(log);
		quiet = now == last ? quiet + 50 : 0;
		last = now;
	}
}

static int nginx_reload(const struct install_settings *s, bool *kept_old, struct cd_err *err)
{
	static const char *const tail[] = { "-s", "reload", NULL };
	char buf[2048], *argv[INSTALL_ARGV_MAX], out[INSTALL_OUTPUT_MAX], line[400];
	pid_t master, before[MAX_WORKERS], after[MAX_WORKERS];
	size_t nb, na;
	long offset, waited = 0;
	int status, rc;

	*kept_old = false;
	if (read_pid(s->pid_file, &master) != 0 || kill(master, 0) != 0)
		return cd_err_set(err, CD_EPEER, true,
				  "nginx is not running on %s (no live master in %s)", s->name,
				  s->pid_file);
	offset = file_size(s->error_log);
	nb = workers_of(master, before, MAX_WORKERS);
	if ((rc = build_argv(s, s->reload_command, tail, buf, sizeof(buf), argv, err)))
		return rc;
	if ((rc = install_run(argv, s->command_timeout_ms, out, sizeof(out), &status, err)))
		return rc;
	if (status != 0) {
		summarise(out, line, sizeof(line));
		return cd_err_set(err, CD_EPEER, true, "nginx reload failed (status %d): %s",
				  status, line);
	}
	for (;;) {
		if (log_failure(s->error_log, offset, line, sizeof(line))) {
			*kept_old = true;
			quiesce(s->error_log, s->reload_timeout_ms);
			return cd_err_set(err, CD_EPEER, true,
					  "nginx did not take the new configuration: %s", line);
		}
		na = workers_of(master, after, MAX_WORKERS);
		for (size_t i = 0; i < na; i++) {
			bool old = false;

			for (size_t j = 0; j < nb; j++)
				old = old || after[i] == before[j];
			if (!old) {
				/* a failed bind is logged before any worker starts; one
				 * more look at the log settles a race with the master */
				if (log_failure(s->error_log, offset, line, sizeof(line)))
					return cd_err_set(err, CD_EPEER, true,
							  "nginx did not take the new "
							  "configuration: %s",
							  line);
				settle(before, nb, s->reload_timeout_ms - waited);
				return 0;
			}
		}
		if (kill(master, 0) != 0)
			return cd_err_set(err, CD_EPEER, true,
					  "nginx on %s exited during the reload", s->name);
		if (waited >= s->reload_timeout_ms)
			return cd_err_set(err, CD_EPEER, true,
					  "nginx on %s did not start new workers within %ld ms "
					  "(reload not confirmed)",
					  s->name, s->reload_timeout_ms);
		sleep_ms(20);
		waited += 20;
	}
}

/* nginx names the file: "... in ROOT/FQDN/ssl.conf:2" or
 * "cannot load certificate "ROOT/FQDN/fullchain.pem"". */
static int nginx_blame(const struct install_settings *s, const char *output,
		       const char *const *fqdns, size_t n)
{
	size_t rl = strlen(s->root);
	const char *p = output;

	while ((p = strstr(p, s->root)) != NULL) {
		const char *name = p + rl;

		p += rl;
		if (*name != '/')
			continue;
		name++;
		for (size_t i = 0; i < n; i++) {
			size_t fl = strlen(fqdns[i]);

			if (strncmp(name, fqdns[i], fl) == 0 && name[fl] == '/')
				return (int)i;
		}
	}
	return -1;
}

const struct install_driver install_nginx_driver = {
	.name = "nginx",
	.test = nginx_test,
	.reload = nginx_reload,
	.blame = nginx_blame,
};
