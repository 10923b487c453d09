/*
 * secretbox.h - secrets sealed at rest under the master key (AES-256-GCM),
 * bound to the identity of the row that holds them (DESIGN.md §2, §3.3 inv. 4).
 *
 * The master key file
 * -------------------
 * A small text file, one item per line, LF (a trailing CR is tolerated):
 *
 *     certdesk-master-key 1
 *     key 1 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
 *     key 2 mZ8Q0b1y0rW3H4t6G3l5lJ2o2i5x8yH1fJ9x0kq0c2Y=
 *
 * The first line names the format and its version. Each "key" line holds a
 * key id (decimal, 1..SECRETBOX_KID_MAX, no leading zeros, unique) and the key
 * (standard base64 with padding of exactly 32 random bytes), separated by one
 * space. Blank lines and lines starting with '#' are ignored. The key with the
 * highest id is the active one: it seals; every key in the file opens. The
 * file must be a regular file with mode 0600 or 0400; anything that lets the
 * group or others read it is refused. Error messages name the file and the
 * line, never a line's content. Comments are not kept when certdesk rewrites
 * the file (rotate, drop).
 *
 * Rotation: secretbox_rotate_file() appends key max+1; running processes keep
 * sealing under the key that was active when they loaded the file until they
 * reload it. Once every sealed value has been re-sealed under the active key
 * (secretbox_sealed_kid() tells which key sealed a value),
 * secretbox_drop_old() removes the older keys. File changes are atomic
 * (temporary file, fsync, rename, fsync of the directory) and serialised with
 * flock() on the key file.
 *
 * Sealed values
 * -------------
 *     "v1." <kid> "." base64url-nopad( nonce[12] || ciphertext || tag[16] )
 *
 * plain ASCII, safe for a TEXT column. The GCM associated data is
 * "v1.<kid>." followed by the caller's aad (the row's identity, for example
 * "issuance:42:key"), so the version, the key id and the row are all
 * authenticated: a value copied to another row, a changed kid, or any
 * changed character fails to open. Nonces are random (96 bits): a key should
 * seal fewer than 2^32 values, far beyond what a key file sees between
 * rotations.
 *
 * Threads: a loaded box is immutable; seal and open may run concurrently
 * from any number of threads (each call uses its own cipher context).
 */
#ifndef CD_UTIL_SECRETBOX_H
#define CD_UTIL_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define SECRETBOX_KEY_LEN	32
#define SECRETBOX_NONCE_LEN	12
#define SECRETBOX_TAG_LEN	16
#define SECRETBOX_KID_MAX	65535u
#define SECRETBOX_MAX_KEYS	64
#define SECRETBOX_MAX_FILE	65536		/* bytes of a master key file */
#define SECRETBOX_MAX_PLAINTEXT (1024u * 1024u) /* bytes of one secret */
#define SECRETBOX_FILE_MAGIC	"certdesk-master-key"
#define SECRETBOX_FILE_VERSION	1

typedef struct secretbox secretbox_t;

/* Loads the key file at path. Refuses (with the fix in the message): a file
 * readable or writable by group/other (-CD_ECONFIG), a malformed file
 * (-CD_ECONFIG naming the line), a missing file (-CD_EIO). *out is freed with
 * secretbox_free(). Key material lives in guarded memory (sodium_malloc),
 * read-only after load, and is wiped on free. */
int secretbox_load(const char *path, secretbox_t **out, struct cd_err *err);

/* Creates a new key file holding one fresh key (id 1), mode 0600, with
 * O_CREAT|O_EXCL: an existing file is never overwritten (-CD_ECONFLICT).
 * The file and its directory are fsync'd. */
int secretbox_create_file(const char *path, struct cd_err *err);

/* Appends a fresh key with id = highest id + 1, keeping the old keys, by an
 * atomic replace of the file (its mode is kept). -CD_ELIMIT when the file
 * already holds SECRETBOX_MAX_KEYS keys or the id would pass SECRETBOX_KID_MAX. */
int secretbox_rotate_file(const char *path, struct cd_err *err);

/* Rewrites the file keeping only key keep_kid, which must be the active
 * (highest) key: -CD_ENOTFOUND when it is not in the file, -CD_ESTATE when a
 * newer key exists. Call it only after every sealed value was re-sealed under
 * keep_kid: values sealed under the dropped keys can no longer be opened. */
int secretbox_drop_old(const char *path, unsigned keep_kid, struct cd_err *err);

/* The id of the key that seals (the highest id in the file). */
unsigned secretbox_active_kid(const secretbox_t *box);

/* Whether the box holds key kid (so values sealed under it can be opened). */
bool secretbox_has_kid(const secretbox_t *box, unsigned kid);

/* Seals pt[0..ptlen) for the row named by aad (non-NULL; may be "" but should
 * be the row's identity). *sealed_out is a NUL-terminated string the caller
 * frees with free(). -CD_ELIMIT above SECRETBOX_MAX_PLAINTEXT. */
int secretbox_seal(const secretbox_t *box, const char *aad, const unsigned char *pt, size_t ptlen,
		   char **sealed_out, struct cd_err *err);

/* Opens a sealed value for the row named by aad. On success *pt_out holds
 * *ptlen_out bytes followed by a NUL (so a PEM can be used as a string); the
 * caller releases it with secretbox_free_plain(*pt_out, *ptlen_out), which
 * wipes it. Malformed text, an unknown key id, a wrong aad or any tampering
 * give -CD_ECRYPTO; messages name aad, never the sealed text or plaintext. */
int secretbox_open(const secretbox_t *box, const char *aad, const char *sealed,
		   unsigned char **pt_out, size_t *ptlen_out, struct cd_err *err);

/* The key id that sealed a value, or 0 when the text is not a v1 sealed value.
 * Does not authenticate anything. */
unsigned secretbox_sealed_kid(const char *sealed);

/* Wipes and frees a plaintext returned by secretbox_open (NULL is fine). */
void secretbox_free_plain(unsigned char *pt, size_t len);

/* Wipes and frees the box (NULL is fine). */
void secretbox_free(secretbox_t *box);

#endif
