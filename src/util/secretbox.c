/*
 * secretbox.c - AES-256-GCM secret boxes under the master key file.
 *
 * The file format and the sealed-value format are documented in secretbox.h.
 * Keys are held in sodium_malloc() memory (guard pages, no core dumps, wiped
 * on free) and made read-only once loaded, so a loaded box is shared by all
 * threads without locks. Every buffer that ever holds key text (the file
 * contents, the text written back) is wiped before it is released. Key file
 * changes take flock() on the current file, write a temporary file beside
 * it, fsync it, rename it over the old one and fsync the directory.
 */
#include "util/secretbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#define B64_KEY_LEN    44 /* standard base64 of 32 bytes, with padding */
#define LINE_MAX_LEN   256
#define LOCK_ATTEMPTS  20
#define SEALED_PREFIX  "v1."
#define SEALED_HDR_MAX 16 /* "v1." + 5 digits + "." + NUL */

struct sbkey {
	unsigned id;
	unsigned char key[SECRETBOX_KEY_LEN];
};

/* Sorted by id, ascending; one spare slot so a rotation can append. */
struct keyset {
	size_t n;
	struct sbkey keys[SECRETBOX_MAX_KEYS + 1];
};

struct secretbox {
	struct keyset *ks; /* sodium_malloc, read-only after load */
	EVP_CIPHER *aes;
};

/* --- key sets in guarded memory ----------------------------------------- */

static int keyset_new(struct keyset **out, struct cd_err *err)
{
	struct keyset *ks;

	if (sodium_init() < 0)
		return cd_err_set(err, CD_ECRYPTO, false, "libsodium failed to initialise");
	ks = sodium_malloc(sizeof(*ks));
	if (!ks)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory for the master keys");
	memset(ks, 0, sizeof(*ks));
	*out = ks;
	return 0;
}

static void keyset_free(struct keyset *ks)
{
	if (ks)
		sodium_free(ks); /* wipes, and undoes any mprotect */
}

static const struct sbkey *keyset_find(const struct keyset *ks, unsigned id)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->keys[i].id == id)
			return &ks->keys[i];
	return NULL;
}

/* Inserts keeping ids ascending; the caller has checked for room and duplicates. */
static void keyset_insert(struct keyset *ks, unsigned id,
			  const unsigned char key[SECRETBOX_KEY_LEN])
{
	size_t i = ks->n;

	while (i > 0 && ks->keys[i - 1].id > id) {
		ks->keys[i] = ks->keys[i - 1];
		i--;
	}
	ks->keys[i].id = id;
	memcpy(ks->keys[i].key, key, SECRETBOX_KEY_LEN);
	ks->n++;
}

/* --- parsing the key file ----------------------------------------------- */

/* Parses a key id: decimal, no sign, no leading zero, 1..SECRETBOX_KID_MAX. */
static bool parse_kid(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > SECRETBOX_KID_MAX)
		return false;
	*out = v;
	return true;
}

/* Parses one "key <id> <base64>" line. Messages never quote the line. */
static int parse_key_line(const char *path, size_t lineno, const char *line, size_t len,
			  struct keyset *ks, size_t *key_lines, struct cd_err *err)
{
	unsigned char key[SECRETBOX_KEY_LEN];
	const char *id, *sp, *b64;
	size_t idlen, b64len, keylen = 0;
	unsigned kid;
	int rc = 0;

	if (len < 4 || memcmp(line, "key ", 4) != 0)
		return cd_err_set(
		    err, CD_ECONFIG, false,
		    "master key file %s:%zu: expected 'key <id> <base64 of %d bytes>'", path,
		    lineno, SECRETBOX_KEY_LEN);
	id = line + 4;
	sp = memchr(id, ' ', len - 4);
	if (!sp)
		return cd_err_set(
		    err, CD_ECONFIG, false,
		    "master key file %s:%zu: expected 'key <id> <base64 of %d bytes>'", path,
		    lineno, SECRETBOX_KEY_LEN);
	idlen = (size_t)(sp - id);
	b64 = sp + 1;
	b64len = len - (size_t)(b64 - line);
	if (!parse_kid(id, idlen, &kid))
		return cd_err_set(
		    err, CD_ECONFIG, false,
		    "master key file %s:%zu: the key id must be a whole number from 1 "
		    "to %u without leading zeros",
		    path, lineno, SECRETBOX_KID_MAX);
	if (b64len != B64_KEY_LEN ||
	    sodium_base642bin(key, sizeof(key), b64, b64len, NULL, &keylen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    keylen != SECRETBOX_KEY_LEN) {
		rc = cd_err_set(err, CD_ECONFIG, false,
				"master key file %s:%zu: key %u is not standard base64 of exactly "
				"%d bytes (%d characters ending in '=')",
				path, lineno, kid, SECRETBOX_KEY_LEN, B64_KEY_LEN);
		goto out;
	}
	if (keyset_find(ks, kid)) {
		rc = cd_err_set(err, CD_ECONFIG, false,
				"master key file %s:%zu: key id %u appears twice", path, lineno,
				kid);
		goto out;
	}
	if (ks->n >= SECRETBOX_MAX_KEYS) {
		rc = cd_err_set(err, CD_ECONFIG, false,
				"master key file %s:%zu: more than %d keys; drop the old ones",
				path, lineno, SECRETBOX_MAX_KEYS);
		goto out;
	}
	keyset_insert(ks, kid, key);
	(*key_lines)++;
out:
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int parse_key_text(const char *path, const char *text, size_t len, struct keyset *ks,
			  struct cd_err *err)
{
	static const char header[] = SECRETBOX_FILE_MAGIC " 1";
	size_t pos = 0, lineno = 0, key_lines = 0;

	if (memchr(text, '\0', len))
		return cd_err_set(err, CD_ECONFIG, false,
				  "master key file %s contains a NUL byte; it is not a text file",
				  path);
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - line) : len - pos;
		int rc;

		pos += l + (nl ? 1 : 0);
		lineno++;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l > LINE_MAX_LEN)
			return cd_err_set(err, CD_ECONFIG, false,
					  "master key file %s:%zu: line longer than %d characters",
					  path, lineno, LINE_MAX_LEN);
		if (lineno == 1) {
			if (l == sizeof(header) - 1 && memcmp(line, header, l) == 0)
				continue;
			if (l > strlen(SECRETBOX_FILE_MAGIC) + 1 &&
			    memcmp(line, SECRETBOX_FILE_MAGIC " ",
				   strlen(SECRETBOX_FILE_MAGIC) + 1) == 0)
				return cd_err_set(
				    err, CD_ECONFIG, false,
				    "master key file %s:1: unsupported format version "
				    "(this certdesk reads '%s')",
				    path, header);
			return cd_err_set(err, CD_ECONFIG, false,
					  "master key file %s:1: not a certdesk master key file "
					  "(the first line must be '%s')",
					  path, header);
		}
		if (l == 0 || line[0] == '#')
			continue;
		rc = parse_key_line(path, lineno, line, l, ks, &key_lines, err);
		if (rc)
			return rc;
	}
	if (lineno == 0)
		return cd_err_set(err, CD_ECONFIG, false, "master key file %s is empty", path);
	if (key_lines == 0)
		return cd_err_set(err, CD_ECONFIG, false,
				  "master key file %s holds no key (expected lines 'key <id> "
				  "<base64>')",
				  path);
	return 0;
}

/* Checks that fd is a regular file only its owner can access, reads it
 * (bounded) and parses it into ks. *mode_out gets the permission bits. */
static int read_key_fd(int fd, const char *path, struct keyset *ks, mode_t *mode_out,
		       struct cd_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	mode_t perm;
	int rc = 0;

	if (fstat(fd, &st) != 0)
		return cd_err_set(err, CD_EIO, false, "master key file %s: stat: %s", path,
				  strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cd_err_set(err, CD_ECONFIG, false,
				  "master key file %s is not a regular file", path);
	perm = st.st_mode & 07777;
	if (perm != 0600 && perm != 0400)
		return cd_err_set(err, CD_ECONFIG, false,
				  "master key file %s has mode %04o; it must be readable by its "
				  "owner only (0600 or 0400): run chmod 600 %s",
				  path, (unsigned)perm, path);
	if (st.st_size > SECRETBOX_MAX_FILE)
		return cd_err_set(err, CD_ECONFIG, false,
				  "master key file %s is larger than %d bytes", path,
				  SECRETBOX_MAX_FILE);
	buf = sodium_malloc(SECRETBOX_MAX_FILE + 1);
	if (!buf)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory reading %s", path);
	for (;;) {
		ssize_t n = read(fd, buf + len, SECRETBOX_MAX_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cd_err_set(err, CD_EIO, false, "master key file %s: read: %s", path,
					strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SECRETBOX_MAX_FILE) {
			rc = cd_err_set(err, CD_ECONFIG, false,
					"master key file %s is larger than %d bytes", path,
					SECRETBOX_MAX_FILE);
			goto out;
		}
	}
	rc = parse_key_text(path, buf, len, ks, err);
	if (rc == 0 && mode_out)
		*mode_out = perm;
out:
	sodium_free(buf);
	return rc;
}

/* --- writing the key file ----------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path, struct cd_err *err)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd, rc = 0;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir))
			return cd_err_set(err, CD_EIO, false, "path %.200s is too long", path);
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cd_err_set(err, CD_EIO, false, "cannot open directory %s to fsync it: %s",
				  dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = cd_err_set(err, CD_EIO, false, "fsync of directory %s: %s", dir,
				strerror(errno));
	close(fd);
	return rc;
}

/* Serialises ks into guarded memory; *out is released with sodium_free(). */
static int format_keys(const struct keyset *ks, char **out, size_t *outlen, struct cd_err *err)
{
	size_t cap = 64 + ks->n * (B64_KEY_LEN + 32), len;
	char *buf = sodium_malloc(cap);

	if (!buf)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory writing the master keys");
	len = (size_t)snprintf(buf, cap, "%s %d\n", SECRETBOX_FILE_MAGIC, SECRETBOX_FILE_VERSION);
	for (size_t i = 0; i < ks->n; i++) {
		len += (size_t)snprintf(buf + len, cap - len, "key %u ", ks->keys[i].id);
		sodium_bin2base64(buf + len, cap - len, ks->keys[i].key, SECRETBOX_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		len += B64_KEY_LEN;
		buf[len++] = '\n';
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Writes ks to fd, fsyncs and closes it (fd is closed on every path). */
static int write_keys_fd(int fd, const char *what, const struct keyset *ks, struct cd_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = format_keys(ks, &text, &len, err);
	if (rc)
		goto out;
	if (write_all(fd, text, len) != 0) {
		rc = cd_err_set(err, CD_EIO, false, "write %s: %s", what, strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		rc = cd_err_set(err, CD_EIO, false, "fsync %s: %s", what, strerror(errno));
		goto out;
	}
out:
	if (text)
		sodium_free(text);
	if (close(fd) != 0 && rc == 0)
		rc = cd_err_set(err, CD_EIO, false, "close %s: %s", what, strerror(errno));
	return rc;
}

/* Replaces path by ks atomically: temporary file, fsync, rename, fsync dir. */
static int replace_key_file(const char *path, const struct keyset *ks, mode_t mode,
			    struct cd_err *err)
{
	size_t n = strlen(path) + sizeof(".tmp-XXXXXX");
	char *tmp = malloc(n);
	bool tmp_made = false;
	int fd, rc;

	if (!tmp)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	snprintf(tmp, n, "%s.tmp-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = cd_err_set(err, CD_EIO, false, "cannot create a temporary file beside %s: %s",
				path, strerror(errno));
		goto out;
	}
	tmp_made = true;
	if (fchmod(fd, mode) != 0) {
		rc = cd_err_set(err, CD_EIO, false, "chmod %s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	rc = write_keys_fd(fd, tmp, ks, err);
	if (rc)
		goto out;
	if (rename(tmp, path) != 0) {
		rc = cd_err_set(err, CD_EIO, false, "rename %s to %s: %s", tmp, path,
				strerror(errno));
		goto out;
	}
	tmp_made = false;
	rc = fsync_dir_of(path, err);
out:
	if (tmp_made)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Opens the current key file and takes an exclusive flock on it. A writer
 * that held the lock may have renamed a new file over the path meanwhile:
 * then the lock is on a stale inode, and we try again. */
static int lock_key_file(const char *path, int *fd_out, struct cd_err *err)
{
	for (int i = 0; i < LOCK_ATTEMPTS; i++) {
		struct stat a, b;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

		if (fd < 0)
			return cd_err_set(err, CD_EIO, false, "cannot open master key file %s: %s",
					  path, strerror(errno));
		if (flock(fd, LOCK_EX) != 0) {
			int e = errno;

			close(fd);
			if (e == EINTR)
				continue;
			return cd_err_set(err, CD_EIO, false, "cannot lock master key file %s: %s",
					  path, strerror(e));
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			*fd_out = fd;
			return 0;
		}
		close(fd);
	}
	return cd_err_set(err, CD_EBUSY, true,
			  "master key file %s keeps changing while certdesk tries to lock it",
			  path);
}

static int new_key(unsigned char key[SECRETBOX_KEY_LEN], struct cd_err *err)
{
	if (RAND_priv_bytes(key, SECRETBOX_KEY_LEN) != 1)
		return cd_err_set(err, CD_ECRYPTO, true,
				  "the random generator failed to make a master key");
	return 0;
}

int secretbox_create_file(const char *path, struct cd_err *err)
{
	unsigned char key[SECRETBOX_KEY_LEN];
	struct keyset *ks = NULL;
	bool created = false;
	int fd = -1, rc;

	if (!path || !*path)
		return cd_err_set(err, CD_EINVAL, false, "no master key file path given");
	rc = keyset_new(&ks, err);
	if (rc)
		goto out;
	rc = new_key(key, err);
	if (rc)
		goto out;
	keyset_insert(ks, 1, key);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			rc = cd_err_set(err, CD_ECONFLICT, false,
					"master key file %s already exists; certdesk never "
					"overwrites a master key (to add a key, rotate it)",
					path);
		else
			rc = cd_err_set(err, CD_EIO, false, "cannot create master key file %s: %s",
					path, strerror(errno));
		goto out;
	}
	created = true;
	/* The umask may have taken bits away; the mode must be exactly 0600. */
	if (fchmod(fd, 0600) != 0) {
		rc = cd_err_set(err, CD_EIO, false, "chmod 600 %s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	rc = write_keys_fd(fd, path, ks, err);
	if (rc)
		goto out;
	rc = fsync_dir_of(path, err);
out:
	if (rc && created)
		unlink(path);
	sodium_memzero(key, sizeof(key));
	keyset_free(ks);
	return rc;
}

int secretbox_rotate_file(const char *path, struct cd_err *err)
{
	unsigned char key[SECRETBOX_KEY_LEN];
	struct keyset *ks = NULL;
	mode_t mode = 0600;
	unsigned next;
	int fd = -1, rc;

	if (!path || !*path)
		return cd_err_set(err, CD_EINVAL, false, "no master key file path given");
	rc = lock_key_file(path, &fd, err);
	if (rc)
		goto out;
	rc = keyset_new(&ks, err);
	if (rc)
		goto out;
	rc = read_key_fd(fd, path, ks, &mode, err);
	if (rc)
		goto out;
	next = ks->keys[ks->n - 1].id + 1;
	if (ks->n >= SECRETBOX_MAX_KEYS || next > SECRETBOX_KID_MAX) {
		rc = cd_err_set(err, CD_ELIMIT, false,
				"master key file %s already holds %zu keys (last id %u); re-seal "
				"and drop the old keys before rotating again",
				path, ks->n, next - 1);
		goto out;
	}
	rc = new_key(key, err);
	if (rc)
		goto out;
	keyset_insert(ks, next, key);
	rc = replace_key_file(path, ks, mode, err);
out:
	sodium_memzero(key, sizeof(key));
	keyset_free(ks);
	if (fd >= 0)
		close(fd); /* releases the lock */
	return rc;
}

int secretbox_drop_old(const char *path, unsigned keep_kid, struct cd_err *err)
{
	struct keyset *ks = NULL;
	mode_t mode = 0600;
	unsigned active;
	size_t i;
	int fd = -1, rc;

	if (!path || !*path)
		return cd_err_set(err, CD_EINVAL, false, "no master key file path given");
	rc = lock_key_file(path, &fd, err);
	if (rc)
		goto out;
	rc = keyset_new(&ks, err);
	if (rc)
		goto out;
	rc = read_key_fd(fd, path, ks, &mode, err);
	if (rc)
		goto out;
	active = ks->keys[ks->n - 1].id;
	if (!keyset_find(ks, keep_kid)) {
		rc = cd_err_set(err, CD_ENOTFOUND, false,
				"master key file %s holds no key %u (the active key is %u)", path,
				keep_kid, active);
		goto out;
	}
	if (keep_kid != active) {
		rc = cd_err_set(err, CD_ESTATE, false,
				"key %u is not the active key of %s (key %u is); re-seal every "
				"secret under key %u before dropping the others",
				keep_kid, path, active, active);
		goto out;
	}
	if (ks->n == 1)
		goto out; /* nothing to drop */
	i = ks->n - 1;
	ks->keys[0] = ks->keys[i];
	sodium_memzero(&ks->keys[1], sizeof(ks->keys[0]) * i);
	ks->n = 1;
	rc = replace_key_file(path, ks, mode, err);
out:
	keyset_free(ks);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* --- the box ------------------------------------------------------------ */

int secretbox_load(const char *path, secretbox_t **out, struct cd_err *err)
{
	struct secretbox *box = NULL;
	struct keyset *ks = NULL;
	int fd = -1, rc;

	*out = NULL;
	if (!path || !*path)
		return cd_err_set(err, CD_EINVAL, false, "no master key file path given");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = cd_err_set(err, CD_EIO, false, "cannot open master key file %s: %s", path,
				strerror(errno));
		goto out;
	}
	rc = keyset_new(&ks, err);
	if (rc)
		goto out;
	rc = read_key_fd(fd, path, ks, NULL, err);
	if (rc)
		goto out;
	box = calloc(1, sizeof(*box));
	if (!box) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	box->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (!box->aes) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "OpenSSL has no AES-256-GCM");
		goto out;
	}
	sodium_mprotect_readonly(ks);
	box->ks = ks;
	ks = NULL;
	*out = box;
	box = NULL;
out:
	if (fd >= 0)
		close(fd);
	keyset_free(ks);
	secretbox_free(box);
	return rc;
}

void secretbox_free(secretbox_t *box)
{
	if (!box)
		return;
	keyset_free(box->ks);
	EVP_CIPHER_free(box->aes);
	free(box);
}

unsigned secretbox_active_kid(const secretbox_t *box)
{
	return box->ks->keys[box->ks->n - 1].id;
}

bool secretbox_has_kid(const secretbox_t *box, unsigned kid)
{
	return keyset_find(box->ks, kid) != NULL;
}

/* Parses "v1.<kid>." at the start of sealed; returns the kid and sets *body. */
static unsigned parse_sealed_header(const char *sealed, const char **body)
{
	const char *p, *dot;
	unsigned kid;

	if (!sealed || strncmp(sealed, SEALED_PREFIX, strlen(SEALED_PREFIX)) != 0)
		return 0;
	p = sealed + strlen(SEALED_PREFIX);
	dot = strchr(p, '.');
	if (!dot || !parse_kid(p, (size_t)(dot - p), &kid))
		return 0;
	if (body)
		*body = dot + 1;
	return kid;
}

unsigned secretbox_sealed_kid(const char *sealed)
{
	return parse_sealed_header(sealed, NULL);
}

/* A printable copy of the row identity for messages. */
static void printable(const char *in, char *out, size_t outsz)
{
	size_t i = 0;

	for (; in && *in && i + 1 < outsz; in++)
		out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[i] = '\0';
}

/* Feeds the associated data: "v1.<kid>." then the row identity. */
static bool feed_aad(EVP_CIPHER_CTX *ctx, bool enc, unsigned kid, const char *aad)
{
	char hdr[SEALED_HDR_MAX];
	int n, hl = snprintf(hdr, sizeof(hdr), SEALED_PREFIX "%u.", kid);
	size_t al = strlen(aad);

	if (al > INT_MAX)
		return false;
	if (enc) {
		if (EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)hdr, hl) != 1)
			return false;
		return al == 0 ||
		       EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)al) == 1;
	}
	if (EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)hdr, hl) != 1)
		return false;
	return al == 0 ||
	       EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)al) == 1;
}

int secretbox_seal(const secretbox_t *box, const char *aad, const unsigned char *pt, size_t ptlen,
		   char **sealed_out, struct cd_err *err)
{
	const struct sbkey *k;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *blob = NULL;
	char *text = NULL, hdr[SEALED_HDR_MAX];
	size_t bloblen, b64len;
	int n, hl, rc = 0;

	if (!box || !aad || (!pt && ptlen) || !sealed_out)
		return cd_err_set(err, CD_EINVAL, false, "secretbox_seal: missing argument");
	*sealed_out = NULL;
	if (ptlen > SECRETBOX_MAX_PLAINTEXT) {
		char row[96];

		printable(aad, row, sizeof(row));
		return cd_err_set(err, CD_ELIMIT, false,
				  "secret for '%s' is %zu bytes; the limit is %u", row, ptlen,
				  SECRETBOX_MAX_PLAINTEXT);
	}
	k = &box->ks->keys[box->ks->n - 1];
	bloblen = SECRETBOX_NONCE_LEN + ptlen + SECRETBOX_TAG_LEN;
	blob = malloc(bloblen);
	ctx = EVP_CIPHER_CTX_new();
	if (!blob || !ctx) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory sealing a secret");
		goto out;
	}
	if (RAND_bytes(blob, SECRETBOX_NONCE_LEN) != 1) {
		rc = cd_err_set(err, CD_ECRYPTO, true, "the random generator failed (nonce)");
		goto out;
	}
	if (EVP_EncryptInit_ex2(ctx, box->aes, k->key, blob, NULL) != 1 ||
	    !feed_aad(ctx, true, k->id, aad) ||
	    (ptlen > 0 &&
	     EVP_EncryptUpdate(ctx, blob + SECRETBOX_NONCE_LEN, &n, pt, (int)ptlen) != 1) ||
	    EVP_EncryptFinal_ex(ctx, blob + SECRETBOX_NONCE_LEN + ptlen, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SECRETBOX_TAG_LEN,
				blob + SECRETBOX_NONCE_LEN + ptlen) != 1) {
		rc = cd_err_set(err, CD_ECRYPTO, false, "AES-256-GCM failed to seal a secret");
		goto out;
	}
	hl = snprintf(hdr, sizeof(hdr), SEALED_PREFIX "%u.", k->id);
	b64len = sodium_base64_ENCODED_LEN(bloblen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	text = malloc((size_t)hl + b64len);
	if (!text) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory sealing a secret");
		goto out;
	}
	memcpy(text, hdr, (size_t)hl);
	sodium_bin2base64(text + hl, b64len, blob, bloblen,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*sealed_out = text;
out:
	EVP_CIPHER_CTX_free(ctx); /* wipes the key schedule */
	free(blob);
	return rc;
}

int secretbox_open(const secretbox_t *box, const char *aad, const char *sealed,
		   unsigned char **pt_out, size_t *ptlen_out, struct cd_err *err)
{
	const struct sbkey *k;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *blob = NULL, *pt = NULL;
	const char *body = NULL;
	char row[96];
	size_t b64len, maxblob, bloblen = 0, ctlen = 0;
	unsigned kid;
	int n, rc = 0;

	if (!box || !aad || !sealed || !pt_out || !ptlen_out)
		return cd_err_set(err, CD_EINVAL, false, "secretbox_open: missing argument");
	*pt_out = NULL;
	*ptlen_out = 0;
	printable(aad, row, sizeof(row));
	kid = parse_sealed_header(sealed, &body);
	if (kid == 0)
		return cd_err_set(err, CD_ECRYPTO, false,
				  "sealed secret for '%s' is not a v1 sealed value", row);
	k = keyset_find(box->ks, kid);
	if (!k)
		return cd_err_set(
		    err, CD_ECRYPTO, false,
		    "sealed secret for '%s' was sealed under key %u, which the master "
		    "key file does not hold (it holds keys %u to %u)",
		    row, kid, box->ks->keys[0].id, secretbox_active_kid(box));
	b64len = strlen(body);
	maxblob = SECRETBOX_NONCE_LEN + SECRETBOX_MAX_PLAINTEXT + SECRETBOX_TAG_LEN;
	if (b64len > sodium_base64_ENCODED_LEN(maxblob, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return cd_err_set(err, CD_ECRYPTO, false,
				  "sealed secret for '%s' is longer than any secret certdesk seals",
				  row);
	blob = malloc(b64len / 4 * 3 + 3);
	ctx = EVP_CIPHER_CTX_new();
	if (!blob || !ctx) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory opening a secret");
		goto out;
	}
	if (sodium_base642bin(blob, b64len / 4 * 3 + 3, body, b64len, NULL, &bloblen, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    bloblen < SECRETBOX_NONCE_LEN + SECRETBOX_TAG_LEN) {
		rc = cd_err_set(err, CD_ECRYPTO, false,
				"sealed secret for '%s' is damaged (bad encoding or truncated)",
				row);
		goto out;
	}
	ctlen = bloblen - SECRETBOX_NONCE_LEN - SECRETBOX_TAG_LEN;
	pt = malloc(ctlen + 1);
	if (!pt) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory opening a secret");
		goto out;
	}
	if (EVP_DecryptInit_ex2(ctx, box->aes, k->key, blob, NULL) != 1 ||
	    !feed_aad(ctx, false, kid, aad) ||
	    (ctlen > 0 &&
	     EVP_DecryptUpdate(ctx, pt, &n, blob + SECRETBOX_NONCE_LEN, (int)ctlen) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SECRETBOX_TAG_LEN,
				blob + SECRETBOX_NONCE_LEN + ctlen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + ctlen, &n) != 1) {
		rc = cd_err_set(err, CD_ECRYPTO, false,
				"sealed secret for '%s' does not open under key %u: it was "
				"altered, or sealed for another row or under another key file",
				row, kid);
		goto out;
	}
	pt[ctlen] = '\0';
	*pt_out = pt;
	*ptlen_out = ctlen;
	pt = NULL;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (pt)
		secretbox_free_plain(pt, ctlen);
	free(blob);
	return rc;
}

void secretbox_free_plain(unsigned char *pt, size_t len)
{
	if (!pt)
		return;
	sodium_memzero(pt, len + 1);
	free(pt);
}
