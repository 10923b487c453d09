/*
 * fileio.c - bounded reads, durable writes (temp + fsync + rename + dir fsync).
 */
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cd_file_read(const char *path, size_t max, char **buf, size_t *len, struct cd_err *err)
{
	struct stat st;
	char *b = NULL;
	size_t cap, n = 0;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cd_err_set(err, errno == ENOENT ? CD_ENOTFOUND : CD_EIO, false,
				  "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = cd_err_set(err, CD_EINVAL, false, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = cd_err_set(err, CD_ELIMIT, false, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b) {
		rc = cd_err_set(err, CD_ENOMEM, false, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) { /* the file grew while we read it */
			if (cap > max) {
				rc = cd_err_set(err, CD_ELIMIT, false, "%s: larger than %zu bytes",
						path, max);
				goto out;
			}
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				rc = cd_err_set(err, CD_ENOMEM, false, "%s: out of memory", path);
				goto out;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = cd_err_set(err, CD_EIO, true, "%s: read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		rc = cd_err_set(err, CD_ELIMIT, false, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	free(b);
	close(fd);
	return rc;
}

void cd_path_dir(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, outsz, ".");
	else if (slash == path)
		snprintf(out, outsz, "/");
	else
		snprintf(out, outsz, "%.*s", (int)(slash - path), path);
}

int cd_path_join(const char *dir, const char *rel, char *out, size_t outsz, struct cd_err *err)
{
	int n;

	if (rel[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
		n = snprintf(out, outsz, "%s", rel);
	else
		n = snprintf(out, outsz, "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= outsz)
		return cd_err_set(err, CD_ELIMIT, false, "path too long: %.80s...", rel);
	return 0;
}

int cd_fsync_dir(const char *dir, struct cd_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cd_err_set(err, CD_EIO, true, "%s: cannot open directory: %s", dir,
				  strerror(errno));
	if (fsync(fd) != 0) {
		int e = errno;

		close(fd);
		return cd_err_set(err, CD_EIO, true, "%s: fsync: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

int cd_file_write_durable(const char *path, const void *data, size_t len, mode_t mode,
			  struct cd_err *err)
{
	char tmp[4096], dir[4096];
	const char *p = data;
	size_t done = 0;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return cd_err_set(err, CD_ELIMIT, false, "path too long: %.80s...", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return cd_err_set(err, CD_EIO, true, "%s: cannot create: %s", tmp, strerror(errno));
	/* the umask must not widen or narrow what the caller asked for */
	if (fchmod(fd, mode) != 0) {
		rc = cd_err_set(err, CD_EIO, true, "%s: chmod: %s", tmp, strerror(errno));
		goto fail;
	}
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = cd_err_set(err, CD_EIO, true, "%s: write: %s", tmp, strerror(errno));
			goto fail;
		}
		done += (size_t)w;
	}
	if (fsync(fd) != 0) {
		rc = cd_err_set(err, CD_EIO, true, "%s: fsync: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = cd_err_set(err, CD_EIO, true, "%s: rename: %s", path, strerror(errno));
		goto fail;
	}
	cd_path_dir(path, dir, sizeof(dir));
	return cd_fsync_dir(dir, err);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}
