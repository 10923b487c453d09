/*
 * fileio.h - reading bounded files and writing files durably.
 *
 * A durable write goes to a temporary name in the same directory, is
 * fsync'd, renamed over the target, and the directory is fsync'd, so the
 * file is either the old or the new one after a crash (DESIGN §3.3 inv. 7).
 */
#ifndef CD_UTIL_FILEIO_H
#define CD_UTIL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Reads the whole file (at most max bytes, else -CD_ELIMIT) into a NUL-terminated
 * buffer the caller frees. */
int cd_file_read(const char *path, size_t max, char **buf, size_t *len, struct cd_err *err);

/* Writes data to path durably with the given mode (e.g. 0600 for keys). */
int cd_file_write_durable(const char *path, const void *data, size_t len, mode_t mode,
			  struct cd_err *err);

int cd_fsync_dir(const char *dir, struct cd_err *err);

/* dirname of path into out (no trailing slash; "." when none). */
void cd_path_dir(const char *path, char *out, size_t outsz);

/* Joins dir and a relative path (returns rel unchanged when absolute). */
int cd_path_join(const char *dir, const char *rel, char *out, size_t outsz, struct cd_err *err);

#endif
