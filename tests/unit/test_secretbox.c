/*
 * test_secretbox.c - secrets sealed under the master key file (util/secretbox.h):
 * round trips, wrong row, every character tampered, unknown keys, rotation,
 * dropping old keys, file modes, malformed files, and no secret in a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/secretbox.h"

#define AAD "issuance:42:key"
/* Valid keys for handcrafted files: 32 bytes of 0x11 and of 0x22, and one
 * whose standard base64 holds '+' and '/'. */
#define K11    "ERERERERERERERERERERERERERERERERERERERERERE="
#define K22    "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="
#define KPS    "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s="
#define HDR    "certdesk-master-key 1\n"
#define MARKER "SECRETMARKER-7f3a"

static char dir[256];
static secretbox_t *shared_box; /* key file shared.key, made by the group setup */

static void build_file_texts(void);
static secretbox_t *load_ok(const char *path);

static const char *in_dir(const char *name)
{
	static char buf[4][512];
	static int n;

	n = (n + 1) % 4;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", dir, name);
	return buf[n];
}

static int make_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/cd-secretbox-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(secretbox_create_file(in_dir("shared.key"), NULL), 0);
	shared_box = load_ok(in_dir("shared.key"));
	build_file_texts();
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[600];

	(void)state;
	secretbox_free(shared_box);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_file(const char *path, const char *content, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 17);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 17) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static secretbox_t *load_ok(const char *path)
{
	struct cd_err err = { 0 };
	secretbox_t *box = NULL;

	if (secretbox_load(path, &box, &err) != 0)
		fail_msg("load %s: %s", path, err.msg);
	return box;
}

static char *seal_ok(const secretbox_t *box, const char *aad, const void *pt, size_t len)
{
	struct cd_err err = { 0 };
	char *sealed = NULL;

	if (secretbox_seal(box, aad, pt, len, &sealed, &err) != 0)
		fail_msg("seal: %s", err.msg);
	return sealed;
}

/* Opens and expects failure with -CD_ECRYPTO and a message free of secrets. */
static void open_fails(const char *name, const secretbox_t *box, const char *aad,
		       const char *sealed, const char *msg_has)
{
	struct cd_err err = { 0 };
	unsigned char *pt = (unsigned char *)1;
	size_t len = 99;
	int rc = secretbox_open(box, aad, sealed, &pt, &len, &err);

	if (rc != -CD_ECRYPTO)
		fail_msg("case '%s': open rc %d, want -CD_ECRYPTO", name, rc);
	if (pt != NULL || len != 0)
		fail_msg("case '%s': outputs not cleared", name);
	if (msg_has && !strstr(err.msg, msg_has))
		fail_msg("case '%s': message '%s' lacks '%s'", name, err.msg, msg_has);
	if (strstr(err.msg, MARKER))
		fail_msg("case '%s': message holds the plaintext", name);
	if (strlen(sealed) > 12 && strstr(err.msg, sealed + strlen(sealed) - 12))
		fail_msg("case '%s': message quotes the sealed text", name);
}

/* The base64 of each key in a key file (to check messages against). */
static bool msg_has_key_text(const char *msg, const char *file_text)
{
	const char *p = file_text;

	while ((p = strstr(p, "\nkey ")) != NULL) {
		const char *b64 = strchr(p + 5, ' ');
		char chunk[9];

		if (!b64)
			break;
		b64++;
		for (size_t off = 0; off + 8 <= 44 && b64[off]; off += 4) {
			memcpy(chunk, b64 + off, 8);
			chunk[8] = '\0';
			if (strstr(msg, chunk))
				return true;
		}
		p = b64;
	}
	return false;
}

/* --- creating ---------------------------------------------------------------- */

static void test_create(void **state)
{
	const char *path = in_dir("create.key");
	struct cd_err err = { 0 };
	struct stat st;
	secretbox_t *box;
	char *text, *nl;
	mode_t old = umask(0277); /* the file must be 0600 whatever the umask */

	(void)state;
	assert_int_equal(secretbox_create_file(path, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = read_file(path);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_memory_equal(text, "certdesk-master-key 1\nkey 1 ", 28);
	assert_int_equal(strlen(text), 28 + 44 + 1);
	assert_int_equal(text[strlen(text) - 2], '=');
	box = load_ok(path);
	assert_int_equal(secretbox_active_kid(box), 1);
	assert_true(secretbox_has_kid(box, 1));
	assert_false(secretbox_has_kid(box, 2));
	secretbox_free(box);
	free(text);
}

static void test_create_refuses_overwrite(void **state)
{
	const char *path = in_dir("exists.key"), *link = in_dir("link.key");
	struct cd_err err = { 0 };
	char *before, *after;

	(void)state;
	assert_int_equal(secretbox_create_file(path, &err), 0);
	before = read_file(path);
	assert_int_equal(secretbox_create_file(path, &err), -CD_ECONFLICT);
	assert_non_null(strstr(err.msg, "already exists"));
	after = read_file(path);
	assert_string_equal(before, after);
	/* Nor through a dangling symlink. */
	assert_int_equal(symlink(in_dir("nowhere.key"), link), 0);
	assert_int_equal(secretbox_create_file(link, &err), -CD_ECONFLICT);
	assert_int_equal(access(in_dir("nowhere.key"), F_OK), -1);
	assert_int_equal(secretbox_create_file(in_dir("no/such/dir.key"), &err), -CD_EIO);
	assert_int_equal(secretbox_create_file("", &err), -CD_EINVAL);
	free(before);
	free(after);
}

/* --- sealing and opening ------------------------------------------------------- */

struct rt_case {
	const char *name;
	size_t len;
	int fill; /* -1 counting bytes, -2 random, else the byte */
};

static const struct rt_case rt_cases[] = {
	{ "round trip: empty", 0, 0 },
	{ "round trip: one byte", 1, 'x' },
	{ "round trip: all byte values", 256, -1 },
	{ "round trip: NUL bytes", 100, 0 },
	{ "round trip: 64 KiB random", 65536, -2 },
	{ "round trip: the largest secret", SECRETBOX_MAX_PLAINTEXT, -2 },
};

static void test_round_trip_case(void **state)
{
	const struct rt_case *c = *state;
	unsigned char *pt = malloc(c->len + 1), *out = NULL;
	struct cd_err err = { 0 };
	size_t outlen = 0;
	char *sealed, *again;

	if (c->fill == -1)
		for (size_t k = 0; k < c->len; k++)
			pt[k] = (unsigned char)k;
	else if (c->fill == -2)
		randombytes_buf(pt, c->len);
	else
		memset(pt, c->fill, c->len);
	sealed = seal_ok(shared_box, AAD, pt, c->len);
	if (strncmp(sealed, "v1.1.", 5) != 0 ||
	    strspn(sealed + 5,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		strlen(sealed + 5))
		fail_msg("case '%s': sealed text is not v1.1.<base64url>", c->name);
	if (secretbox_sealed_kid(sealed) != 1)
		fail_msg("case '%s': sealed_kid", c->name);
	if (secretbox_open(shared_box, AAD, sealed, &out, &outlen, &err) != 0)
		fail_msg("case '%s': open: %s", c->name, err.msg);
	if (outlen != c->len || (outlen && memcmp(out, pt, outlen) != 0) || out[outlen] != '\0')
		fail_msg("case '%s': plaintext differs", c->name);
	again = seal_ok(shared_box, AAD, pt, c->len);
	if (strcmp(again, sealed) == 0)
		fail_msg("case '%s': two seals are equal (nonce reused)", c->name);
	secretbox_free_plain(out, outlen);
	free(again);
	free(sealed);
	free(pt);
}

static void test_seal_limits(void **state)
{
	static const char pem[] = "-----BEGIN PRIVATE KEY-----\n" MARKER "\n"
				  "-----END PRIVATE KEY-----\n";
	struct cd_err err = { 0 };
	unsigned char *out = NULL, *big;
	size_t outlen = 0;
	char *sealed;

	(void)state;
	/* A PEM comes back as a C string. */
	sealed = seal_ok(shared_box, AAD, pem, strlen(pem));
	assert_int_equal(secretbox_open(shared_box, AAD, sealed, &out, &outlen, &err), 0);
	assert_string_equal((char *)out, pem);
	secretbox_free_plain(out, outlen);
	free(sealed);
	big = calloc(1, SECRETBOX_MAX_PLAINTEXT + 1);
	sealed = NULL;
	assert_int_equal(
	    secretbox_seal(shared_box, AAD, big, SECRETBOX_MAX_PLAINTEXT + 1, &sealed, &err),
	    -CD_ELIMIT);
	assert_null(sealed);
	free(big);
	assert_int_equal(
	    secretbox_seal(shared_box, NULL, (const unsigned char *)"x", 1, &sealed, &err),
	    -CD_EINVAL);
}

struct aad_case {
	const char *name;
	const char *aad;
};

static const struct aad_case aad_cases[] = {
	{ "wrong row: another id", "issuance:43:key" },
	{ "wrong row: trailing space", "issuance:42:key " },
	{ "wrong row: empty", "" },
	{ "wrong row: upper case", "ISSUANCE:42:KEY" },
	{ "wrong row: truncated", "issuance:42:ke" },
	{ "wrong row: newline", "issuance:42:key\n" },
	{ "wrong row: split id", "issuance:4:2:key" },
};

static void test_wrong_aad_case(void **state)
{
	const struct aad_case *c = *state;
	char *sealed = seal_ok(shared_box, AAD, MARKER, strlen(MARKER));

	open_fails(c->name, shared_box, c->aad, sealed, "does not open under key 1");
	free(sealed);
}

static void test_empty_aad_bound(void **state)
{
	char *sealed = seal_ok(shared_box, "", MARKER, strlen(MARKER));

	(void)state;
	open_fails("empty aad opened as another", shared_box, AAD, sealed, "does not open");
	free(sealed);
}

/* Which part of "v1.<kid>.<base64url(nonce || ct || tag)>" index i is in. */
static const char *part_of(const char *sealed, size_t i, size_t ptlen)
{
	size_t body = 3 + strcspn(sealed + 3, ".") + 1, byte;

	if (i < 3)
		return "version";
	if (i < body)
		return "kid";
	byte = (i - body) * 6 / 8;
	if (byte < SECRETBOX_NONCE_LEN)
		return "nonce";
	if (byte < SECRETBOX_NONCE_LEN + ptlen)
		return "ciphertext";
	return "tag";
}

static void test_tamper(void **state)
{
	const char *path = in_dir("tamper.key");
	struct cd_err err = { 0 };
	secretbox_t *box;
	char *sealed, *t, name[96];
	size_t len, ptlen = strlen(MARKER);
	int seen[5] = { 0 };

	(void)state;
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	assert_int_equal(secretbox_rotate_file(path, &err), 0); /* keys 1 and 2 */
	box = load_ok(path);
	sealed = seal_ok(box, AAD, MARKER, ptlen);
	len = strlen(sealed);
	t = malloc(len + 8);
	/* Every character, changed to another valid one. */
	for (size_t i = 0; i < len; i++) {
		const char *part = part_of(sealed, i, ptlen);

		strcpy(t, sealed);
		t[i] = t[i] == 'A' ? 'B' : (t[i] == '.' ? 'x' : 'A');
		if (i == 3)
			t[i] = '1'; /* kid 2 -> kid 1, a key the box holds */
		snprintf(name, sizeof(name), "%s character %zu", part, i);
		open_fails(name, box, AAD, t, NULL);
		seen[strcmp(part, "version") == 0      ? 0
		     : strcmp(part, "kid") == 0	       ? 1
		     : strcmp(part, "nonce") == 0      ? 2
		     : strcmp(part, "ciphertext") == 0 ? 3
						       : 4]++;
	}
	for (int k = 0; k < 5; k++)
		assert_true(seen[k] > 0);
	/* Every bit of the last character flipped among base64url digits. */
	{
		static const char b64u[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

		for (size_t k = 0; k < 64; k++) {
			strcpy(t, sealed);
			if (t[len - 1] == b64u[k])
				continue;
			t[len - 1] = b64u[k];
			snprintf(name, sizeof(name), "last character as '%c'", b64u[k]);
			open_fails(name, box, AAD, t, NULL);
		}
	}
	/* Shapes. */
	{
		struct {
			const char *name;
			const char *prefix, *suffix;
			size_t cut;
		} shapes[] = {
			{ "one character short", "", "", 1 }, { "one tag block short", "", "", 4 },
			{ "padding added", "", "=", 0 },      { "newline added", "", "\n", 0 },
			{ "character added", "", "A", 0 },    { "space in front", " ", "", 0 },
		};

		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
			snprintf(t, len + 8, "%s%.*s%s", shapes[k].prefix,
				 (int)(len - shapes[k].cut), sealed, shapes[k].suffix);
			open_fails(shapes[k].name, box, AAD, t, NULL);
		}
	}
	open_fails("empty", box, AAD, "", "not a v1 sealed value");
	open_fails("header only", box, AAD, "v1.2.", "damaged");
	open_fails("no body", box, AAD, "v1.2", "not a v1 sealed value");
	open_fails("no kid", box, AAD, "v1..AAAA", "not a v1 sealed value");
	open_fails("kid zero", box, AAD, "v1.0.AAAA", "not a v1 sealed value");
	open_fails("kid with leading zero", box, AAD, "v1.02.AAAA", "not a v1 sealed value");
	snprintf(t, len + 8, "v2%s", sealed + 2);
	open_fails("version 2", box, AAD, t, "not a v1 sealed value");
	open_fails("too short for nonce and tag", box, AAD,
		   "v1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "damaged");
	assert_int_equal(secretbox_sealed_kid(sealed), 2);
	assert_int_equal(secretbox_sealed_kid("v1.0.x"), 0);
	assert_int_equal(secretbox_sealed_kid("plain text"), 0);
	assert_int_equal(secretbox_sealed_kid(NULL), 0);
	free(t);
	free(sealed);
	secretbox_free(box);
}

static void test_unknown_kid(void **state)
{
	const char *a = in_dir("a.key"), *a_old = in_dir("a-old.key"), *b = in_dir("b.key");
	struct cd_err err = { 0 };
	secretbox_t *box_a, *box_a_old, *box_b;
	char *text, *s1, *s2;

	(void)state;
	assert_int_equal(secretbox_create_file(a, NULL), 0);
	assert_int_equal(secretbox_create_file(b, NULL), 0);
	text = read_file(a);
	write_file(a_old, text, strlen(text), 0600);
	box_a_old = load_ok(a_old);
	s1 = seal_ok(box_a_old, AAD, MARKER, strlen(MARKER));
	assert_int_equal(secretbox_rotate_file(a, &err), 0);
	box_a = load_ok(a);
	s2 = seal_ok(box_a, AAD, MARKER, strlen(MARKER));
	assert_int_equal(secretbox_sealed_kid(s2), 2);
	open_fails("key 2 unknown to the old file", box_a_old, AAD, s2,
		   "sealed under key 2, which the master key file does not hold (it holds keys 1 "
		   "to 1)");
	box_b = load_ok(b);
	open_fails("key 1 of another file", box_b, AAD, s1, "does not open under key 1");
	/* The kid is authenticated: relabelling a kid-2 value as kid 1 fails. */
	s2[3] = '1';
	open_fails("relabelled kid", box_a, AAD, s2, "does not open under key 1");
	/* Even when both ids hold the same key bytes. */
	{
		static const char same[] = HDR "key 1 " K11 "\nkey 2 " K11 "\n";
		const char *p = in_dir("same.key");
		secretbox_t *box_same;
		char *s3;

		write_file(p, same, strlen(same), 0600);
		box_same = load_ok(p);
		s3 = seal_ok(box_same, AAD, MARKER, strlen(MARKER));
		assert_int_equal(secretbox_sealed_kid(s3), 2);
		s3[3] = '1';
		open_fails("relabelled kid, same key bytes", box_same, AAD, s3,
			   "does not open under key 1");
		secretbox_free(box_same);
		free(s3);
	}
	secretbox_free(box_a);
	secretbox_free(box_a_old);
	secretbox_free(box_b);
	free(text);
	free(s1);
	free(s2);
}

/* --- rotation -------------------------------------------------------------------- */

static char *key_line(const char *text, unsigned kid)
{
	char head[32], *p, *out;

	snprintf(head, sizeof(head), "\nkey %u ", kid);
	p = strstr(text, head);
	if (!p)
		return NULL;
	out = strndup(p + 1, (size_t)(strchr(p + 1, '\n') - p - 1));
	return out;
}

static void test_rotate_then_open_old(void **state)
{
	const char *path = in_dir("rotate.key");
	struct cd_err err = { 0 };
	secretbox_t *box1, *box2;
	char *s1, *s2, *before, *after, *l1a, *l1b;
	unsigned char *pt = NULL;
	size_t len = 0;
	struct stat st;

	(void)state;
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	box1 = load_ok(path);
	s1 = seal_ok(box1, AAD, MARKER, strlen(MARKER));
	before = read_file(path);
	assert_int_equal(secretbox_rotate_file(path, &err), 0);
	after = read_file(path);
	l1a = key_line(before, 1);
	l1b = key_line(after, 1);
	assert_non_null(l1b);
	assert_string_equal(l1a, l1b); /* the old key is kept as it was */
	assert_non_null(strstr(after, "\nkey 2 "));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	box2 = load_ok(path);
	assert_int_equal(secretbox_active_kid(box2), 2);
	assert_true(secretbox_has_kid(box2, 1));
	assert_int_equal(secretbox_open(box2, AAD, s1, &pt, &len, &err), 0);
	assert_memory_equal(pt, MARKER, len);
	secretbox_free_plain(pt, len);
	s2 = seal_ok(box2, AAD, MARKER, strlen(MARKER));
	assert_int_equal(secretbox_sealed_kid(s1), 1);
	assert_int_equal(secretbox_sealed_kid(s2), 2);

	/* A 0400 file stays 0400; ids keep counting. */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(secretbox_rotate_file(path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	secretbox_free(box1);
	box1 = load_ok(path);
	assert_int_equal(secretbox_active_kid(box1), 3);
	/* No temporary file is left behind. */
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q 'rotate.key.tmp'", dir);
		assert_int_not_equal(system(cmd), 0);
	}
	assert_int_equal(secretbox_rotate_file(in_dir("missing.key"), &err), -CD_EIO);
	secretbox_free(box1);
	secretbox_free(box2);
	free(s1);
	free(s2);
	free(before);
	free(after);
	free(l1a);
	free(l1b);
}

static void test_rotate_limit(void **state)
{
	const char *path = in_dir("many.key");
	struct cd_err err = { 0 };

	(void)state;
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	for (int i = 1; i < SECRETBOX_MAX_KEYS; i++)
		assert_int_equal(secretbox_rotate_file(path, &err), 0);
	assert_int_equal(secretbox_rotate_file(path, &err), -CD_ELIMIT);
	assert_non_null(strstr(err.msg, "drop the old keys"));
	assert_int_equal(secretbox_drop_old(path, SECRETBOX_MAX_KEYS, &err), 0);
	assert_int_equal(secretbox_rotate_file(path, &err), 0);
}

static void test_drop_old(void **state)
{
	const char *path = in_dir("drop.key");
	struct cd_err err = { 0 };
	secretbox_t *box;
	char *s1, *s1b, *text, *again;
	unsigned char *pt = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	box = load_ok(path);
	s1 = seal_ok(box, AAD, MARKER, strlen(MARKER));
	secretbox_free(box);
	assert_int_equal(secretbox_rotate_file(path, &err), 0);
	box = load_ok(path);
	/* Re-seal under the active key, as the rotation job does. */
	assert_int_equal(secretbox_open(box, AAD, s1, &pt, &len, &err), 0);
	s1b = seal_ok(box, AAD, pt, len);
	secretbox_free_plain(pt, len);
	secretbox_free(box);

	assert_int_equal(secretbox_drop_old(path, 1, &err), -CD_ESTATE);
	assert_non_null(strstr(err.msg, "not the active key"));
	assert_int_equal(secretbox_drop_old(path, 7, &err), -CD_ENOTFOUND);
	assert_int_equal(secretbox_drop_old(path, 2, &err), 0);
	text = read_file(path);
	assert_null(strstr(text, "\nkey 1 "));
	assert_non_null(strstr(text, "\nkey 2 "));
	box = load_ok(path);
	assert_false(secretbox_has_kid(box, 1));
	open_fails("dropped key", box, AAD, s1, "sealed under key 1");
	assert_int_equal(secretbox_open(box, AAD, s1b, &pt, &len, &err), 0);
	secretbox_free_plain(pt, len);
	/* Dropping again changes nothing. */
	assert_int_equal(secretbox_drop_old(path, 2, &err), 0);
	again = read_file(path);
	assert_string_equal(text, again);
	secretbox_free(box);
	free(s1);
	free(s1b);
	free(text);
	free(again);
}

/* --- the file ---------------------------------------------------------------------- */

struct mode_case {
	const char *name;
	mode_t mode;
	bool ok;
};

static const struct mode_case mode_cases[] = {
	{ "mode 0600 accepted", 0600, true }, { "mode 0400 accepted", 0400, true },
	{ "mode 0644 refused", 0644, false }, { "mode 0640 refused", 0640, false },
	{ "mode 0604 refused", 0604, false }, { "mode 0660 refused", 0660, false },
	{ "mode 0666 refused", 0666, false }, { "mode 0700 refused", 0700, false },
	{ "mode 0610 refused", 0610, false }, { "mode 4600 refused", 04600, false },
};

static void test_mode_case(void **state)
{
	const struct mode_case *c = *state;
	char name[32], want[64];
	struct cd_err err = { 0 };
	secretbox_t *box = NULL;
	const char *path;
	int rc;

	snprintf(name, sizeof(name), "mode-%04o.key", (unsigned)c->mode);
	path = in_dir(name);
	unlink(path);
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	assert_int_equal(chmod(path, c->mode), 0);
	rc = secretbox_load(path, &box, &err);
	if (c->ok) {
		if (rc != 0)
			fail_msg("case '%s': %s", c->name, err.msg);
		secretbox_free(box);
		return;
	}
	snprintf(want, sizeof(want), "has mode %04o", (unsigned)c->mode);
	if (rc != -CD_ECONFIG || box != NULL)
		fail_msg("case '%s': rc %d", c->name, rc);
	if (!strstr(err.msg, want) || !strstr(err.msg, "chmod 600"))
		fail_msg("case '%s': message '%s'", c->name, err.msg);
	if (secretbox_rotate_file(path, &err) != -CD_ECONFIG)
		fail_msg("case '%s': rotate accepted the file", c->name);
	if (secretbox_drop_old(path, 1, &err) != -CD_ECONFIG)
		fail_msg("case '%s': drop_old accepted the file", c->name);
}

static void test_not_a_file(void **state)
{
	struct cd_err err = { 0 };
	secretbox_t *box = NULL;

	(void)state;
	assert_int_equal(secretbox_load(in_dir("absent.key"), &box, &err), -CD_EIO);
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_int_equal(mkdir(in_dir("adir"), 0700), 0);
	assert_int_equal(secretbox_load(in_dir("adir"), &box, &err), -CD_ECONFIG);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_null(box);
	secretbox_free(NULL);
	secretbox_free_plain(NULL, 0);
}

struct file_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen */
	unsigned active;
	const char *msg_has;
};

static char long_line[400], too_many[8192], too_big[SECRETBOX_MAX_FILE + 100];

static const struct file_case file_cases[] = {
	{ "minimal", HDR "key 1 " K11 "\n", 0, 1, NULL },
	{ "no final newline", HDR "key 1 " K11, 0, 1, NULL },
	{ "CRLF", "certdesk-master-key 1\r\nkey 1 " K11 "\r\nkey 2 " K22 "\r\n", 0, 2, NULL },
	{ "comments and blank lines", HDR "# rotated 2026-03-01\n\nkey 1 " K11 "\n\n", 0, 1, NULL },
	{ "out of order", HDR "key 7 " K22 "\nkey 3 " K11 "\n", 0, 7, NULL },
	{ "plus and slash", HDR "key 1 " KPS "\n", 0, 1, NULL },
	{ "empty file", "", 0, 0, "is empty" },
	{ "wrong first line", "hello\nkey 1 " K11 "\n", 0, 0,
	  ":1: not a certdesk master key file" },
	{ "key before header", "key 1 " K11 "\n" HDR, 0, 0, ":1: not a certdesk" },
	{ "future version", "certdesk-master-key 2\nkey 1 " K11 "\n", 0, 0,
	  ":1: unsupported format version" },
	{ "no keys", HDR, 0, 0, "holds no key" },
	{ "comments only", HDR "# nothing\n\n", 0, 0, "holds no key" },
	{ "id zero", HDR "key 0 " K11 "\n", 0, 0, ":2: the key id" },
	{ "negative id", HDR "key -1 " K11 "\n", 0, 0, ":2: the key id" },
	{ "leading zero id", HDR "key 01 " K11 "\n", 0, 0, ":2: the key id" },
	{ "id too big", HDR "key 65536 " K11 "\n", 0, 0, ":2: the key id" },
	{ "id not a number", HDR "key one " K11 "\n", 0, 0, ":2: the key id" },
	{ "duplicate id", HDR "key 1 " K11 "\n# x\nkey 1 " K22 "\n", 0, 0,
	  ":4: key id 1 appears twice" },
	{ "31-byte key", HDR "key 1 ERERERERERERERERERERERERERERERERERERERERER==\n", 0, 0,
	  ":2: key 1 is not standard base64 of exactly 32 bytes" },
	{ "33-byte key", HDR "key 1 ERERERERERERERERERERERERERERERERERERERERERER\n", 0, 0,
	  ":2: key 1 is not standard base64" },
	{ "not base64", HDR "key 1 ERERERERERERERERERERERERERE!ERERERERERERERE=\n", 0, 0,
	  ":2: key 1 is not standard base64" },
	{ "url-safe alphabet", HDR "key 1 -_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s=\n", 0, 0,
	  ":2: key 1 is not standard base64" },
	{ "no padding", HDR "key 1 ERERERERERERERERERERERERERERERERERERERERERE\n", 0, 0,
	  ":2: key 1 is not standard base64" },
	{ "extra field", HDR "key 1 " K11 " extra\n", 0, 0, ":2: key 1 is not standard" },
	{ "tabs", HDR "key\t1\t" K11 "\n", 0, 0, ":2: expected 'key <id>" },
	{ "two spaces", HDR "key  1 " K11 "\n", 0, 0, ":2: the key id" },
	{ "unknown line", HDR "key 1 " K11 "\npassword hunter2\n", 0, 0, ":3: expected 'key <id>" },
	{ "NUL byte", HDR "key 1 " K11 "\n\0\n", sizeof(HDR "key 1 " K11 "\n\0\n") - 1, 0,
	  "NUL byte" },
	{ "long line", long_line, 0, 0, ":2: line longer than 256" },
	{ "too many keys", too_many, 0, 0, "more than 64 keys" },
	{ "too big", too_big, 0, 0, "larger than 65536 bytes" },
};

/* The generated texts of the table's last cases. */
static void build_file_texts(void)
{
	size_t n;

	n = (size_t)snprintf(long_line, sizeof(long_line), HDR "key 1 " K11);
	memset(long_line + n, ' ', 300);
	memcpy(long_line + n + 300, "x\n", 3);
	n = (size_t)snprintf(too_many, sizeof(too_many), HDR);
	for (int i = 1; i <= SECRETBOX_MAX_KEYS + 1; i++)
		n += (size_t)snprintf(too_many + n, sizeof(too_many) - n, "key %d " K11 "\n", i);
	n = (size_t)snprintf(too_big, sizeof(too_big), HDR "key 1 " K11 "\n");
	memset(too_big + n, '#', sizeof(too_big) - n - 1);
	for (size_t i = n + 100; i < sizeof(too_big) - 1; i += 100)
		too_big[i] = '\n';
	too_big[sizeof(too_big) - 1] = '\0';
}

static void test_file_case(void **state)
{
	const struct file_case *c = *state;
	const char *path = in_dir("table.key");
	size_t len = c->len ? c->len : strlen(c->text);
	struct cd_err err = { 0 };
	secretbox_t *box = NULL;
	int rc;

	write_file(path, c->text, len, 0600);
	rc = secretbox_load(path, &box, &err);
	if (c->active) {
		if (rc != 0)
			fail_msg("case '%s': %s", c->name, err.msg);
		if (secretbox_active_kid(box) != c->active)
			fail_msg("case '%s': active kid %u", c->name, secretbox_active_kid(box));
		secretbox_free(box);
		return;
	}
	if (rc != -CD_ECONFIG || box)
		fail_msg("case '%s': rc %d (%s)", c->name, rc, err.msg);
	if (c->msg_has && !strstr(err.msg, c->msg_has))
		fail_msg("case '%s': message '%s' lacks '%s'", c->name, err.msg, c->msg_has);
	if (!strstr(err.msg, path))
		fail_msg("case '%s': message does not name the file", c->name);
	/* No key text in any message: neither ours nor the file's. */
	if (strstr(err.msg, "ERERERER") || strstr(err.msg, "IiIiIiIi") || strstr(err.msg, "-_v7") ||
	    strstr(err.msg, "hunter2") || msg_has_key_text(err.msg, c->text))
		fail_msg("case '%s': message holds key text: %s", c->name, err.msg);
}

/* A real key file's keys never appear in any message about it. */
static void test_no_key_in_messages(void **state)
{
	const char *path = in_dir("secret.key");
	struct cd_err err = { 0 };
	char *text, *broken;
	secretbox_t *box;

	(void)state;
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	assert_int_equal(secretbox_rotate_file(path, NULL), 0);
	text = read_file(path);
	broken = malloc(strlen(text) + 32);
	/* The same file with one bad line at the end. */
	sprintf(broken, "%sgarbage\n", text);
	write_file(path, broken, strlen(broken), 0600);
	assert_int_equal(secretbox_load(path, &box, &err), -CD_ECONFIG);
	assert_false(msg_has_key_text(err.msg, text));
	/* And with a key mangled into a wrong length. */
	strcpy(broken, text);
	broken[strlen(broken) - 3] = '\0';
	strcat(broken, "\n");
	write_file(path, broken, strlen(broken), 0600);
	assert_int_equal(secretbox_load(path, &box, &err), -CD_ECONFIG);
	assert_non_null(strstr(err.msg, ":3: key 2"));
	assert_false(msg_has_key_text(err.msg, text));
	chmod(path, 0644);
	assert_int_equal(secretbox_load(path, &box, &err), -CD_ECONFIG);
	assert_false(msg_has_key_text(err.msg, text));
	free(text);
	free(broken);
}

/* --- threads ---------------------------------------------------------------------- */

struct worker {
	const secretbox_t *box;
	int id;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 300; i++) {
		char aad[64], pt[64], *sealed = NULL;
		unsigned char *out = NULL;
		size_t len = 0;
		struct cd_err err;

		snprintf(aad, sizeof(aad), "issuance:%d:key", w->id * 1000 + i);
		snprintf(pt, sizeof(pt), "secret %d/%d", w->id, i);
		if (secretbox_seal(w->box, aad, (const unsigned char *)pt, strlen(pt), &sealed,
				   &err) != 0 ||
		    secretbox_open(w->box, aad, sealed, &out, &len, &err) != 0 ||
		    len != strlen(pt) || memcmp(out, pt, len) != 0)
			w->failures++;
		secretbox_free_plain(out, len);
		free(sealed);
	}
	return NULL;
}

static void test_threads(void **state)
{
	const char *path = in_dir("threads.key");
	struct worker w[8];
	pthread_t t[8];
	secretbox_t *box;

	(void)state;
	assert_int_equal(secretbox_create_file(path, NULL), 0);
	box = load_ok(path);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ box, i, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		if (w[i].failures)
			fail_msg("thread %d: %d failures", i, w[i].failures);
	}
	secretbox_free(box);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_refuses_overwrite),
		cmocka_unit_test(test_seal_limits),
		cmocka_unit_test(test_empty_aad_bound),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_rotate_then_open_old),
		cmocka_unit_test(test_rotate_limit),
		cmocka_unit_test(test_drop_old),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_no_key_in_messages),
		cmocka_unit_test(test_threads),
	};
	static struct CMUnitTest
	    tests[N(rt_cases) + N(aad_cases) + N(mode_cases) + N(file_cases) + N(fixed)];
	size_t n = 0;

	for (size_t i = 0; i < N(rt_cases); i++)
		tests[n++] = (struct CMUnitTest){ rt_cases[i].name, test_round_trip_case, NULL,
						  NULL, (void *)&rt_cases[i] };
	for (size_t i = 0; i < N(aad_cases); i++)
		tests[n++] = (struct CMUnitTest){ aad_cases[i].name, test_wrong_aad_case, NULL,
						  NULL, (void *)&aad_cases[i] };
	for (size_t i = 0; i < N(mode_cases); i++)
		tests[n++] = (struct CMUnitTest){ mode_cases[i].name, test_mode_case, NULL, NULL,
						  (void *)&mode_cases[i] };
	for (size_t i = 0; i < N(file_cases); i++)
		tests[n++] = (struct CMUnitTest){ file_cases[i].name, test_file_case, NULL, NULL,
						  (void *)&file_cases[i] };
	for (size_t i = 0; i < N(fixed); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("secretbox", tests, n, make_dir, remove_dir);
}
