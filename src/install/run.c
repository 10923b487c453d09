/*
 * run.c - running a hosting server's test and reload commands: an argv list
 * expanded from the settings (no shell is involved), its output captured and
 * bounded, and a time-out after which it is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "install/install_priv.h"

extern char **environ;

int install_argv(const struct install_settings *s, const char *cmdline, char *buf, size_t bufsz,
		 char **argv, size_t argv_max, struct cd_err *err)
{
	size_t used = 0, argc = 0;
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (argc + 1 >= argv_max)
			return cd_err_set(err, CD_ECONFIG, false,
					  "server %s: command '%s' has too many words", s->name,
					  cmdline);
		argv[argc++] = buf + used;
		while (*p && *p != ' ' && *p != '\t') {
			const char *ins = NULL;
			char one[2] = { *p, '\0' };

			if (*p == '%' && p[1]) {
				switch (p[1]) {
				case 'n':
					ins = s->nginx;
					break;
				case 'c':
					ins = s->nginx_conf;
					break;
				case 'p':
					ins = s->nginx_prefix;
					break;
				case 'r':
					ins = s->root;
					break;
				case 's':
					ins = s->name;
					break;
				case '%':
					ins = "%";
					break;
				default:
					return cd_err_set(
					    err, CD_ECONFIG, false,
					    "server %s: command '%s': unknown placeholder %%%c",
					    s->name, cmdline, p[1]);
				}
				p += 2;
			} else {
				ins = one;
				p++;
			}
			size_t l = strlen(ins);
			if (used + l + 1 >= bufsz)
				return cd_err_set(err, CD_ECONFIG, false,
						  "server %s: command too long", s->name);
			memcpy(buf + used, ins, l);
			used += l;
		}
		buf[used++] = '\0';
	}
	argv[argc] = NULL;
	if (argc == 0)
		return cd_err_set(err, CD_ECONFIG, false, "server %s: empty command", s->name);
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int install_run(char *const *argv, long timeout_ms, char *output, size_t outsz, int *status,
		struct cd_err *err)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0;
	int fds[2], rc, wst = 0;
	size_t n = 0;
	pid_t pid;
	bool killed = false;

	*status = -1;
	output[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0)
		return cd_err_set(err, CD_EIO, true, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return cd_err_set(err, CD_ECONFIG, false, "cannot run %s: %s", argv[0],
				  strerror(rc));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		long left = timeout_ms - ms_since(&t0);
		char sink[512];
		ssize_t r;

		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		rc = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		if (n + 1 < outsz)
			r = read(fds[0], output + n, outsz - n - 1);
		else
			r = read(fds[0], sink, sizeof(sink)); /* keep draining, drop the rest */
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < outsz)
			n += (size_t)r;
	}
	output[n] = '\0';
	close(fds[0]);
	while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
		;
	if (killed)
		return cd_err_set(err, CD_EPEER, true, "%s did not finish within %ld ms", argv[0],
				  timeout_ms);
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
	return 0;
}
