/*
 * fuzz_names.c - libFuzzer target for core/names.c.
 *
 * Arbitrary bytes go through name_normalize (with and without wildcards),
 * name_san_candidate and name_path; any accepted name must be in normal
 * form: only [a-z0-9.-] (and a leading "*." when allowed), no empty label,
 * at most 253 octets, labels at most 63, and it re-normalises to itself. A
 * path built from it stays under its base. The first byte selects the flags.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"

#define BASE "/srv/certdesk/certs"

static void die(const char *what, const char *name)
{
	fprintf(stderr, "fuzz_names: %s: '%s'\n", what, name);
	abort();
}

static void check_normal(const char *s, unsigned flags)
{
	size_t len = strlen(s), label = 0;
	const char *p = s;
	char again[NAME_MAX_LEN + 1];
	struct cd_err err;

	if (len == 0 || len > NAME_MAX_LEN)
		die("bad length", s);
	if (s[0] == '*') {
		if (!(flags & NAME_ALLOW_WILDCARD) || s[1] != '.')
			die("wildcard not allowed", s);
		p = s + 2;
	}
	if (*p == '.' || s[len - 1] == '.' || strstr(p, ".."))
		die("empty label", s);
	for (; *p; p++) {
		if (*p == '.') {
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			die("character outside [a-z0-9.-]", s);
		if (++label > NAME_LABEL_MAX)
			die("label too long", s);
	}
	if (!strchr(s, '.'))
		die("single label", s);
	if (name_normalize(s, len, flags, again, &err) != 0)
		die("normal form refused on re-normalisation", s);
	if (strcmp(again, s) != 0)
		die("normal form changed on re-normalisation", s);
}

static void check_path(const char *name, const char *file)
{
	char path[512];
	struct cd_err err;
	int rc = name_path(BASE, name, file, path, sizeof(path), &err);

	if (rc != 0)
		return;
	if (strncmp(path, BASE "/", sizeof(BASE)) != 0)
		die("path leaves base", path);
	if (strstr(path, "/../") || strstr(path, "/./") || strstr(path, "//"))
		die("path has a dot or empty component", path);
	{
		size_t n = strlen(path);

		if ((n >= 3 && strcmp(path + n - 3, "/..") == 0) ||
		    (n >= 2 && strcmp(path + n - 2, "/.") == 0))
			die("path ends in a dot component", path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[NAME_MAX_LEN + 1], cand[NAME_MAX_LEN + 1], back[NAME_MAX_LEN + 1];
	char *text;
	struct cd_err err;
	unsigned flags;

	if (size == 0)
		return 0;
	flags = data[0] & 1 ? NAME_ALLOW_WILDCARD : 0;
	data++;
	size--;

	/* the raw bytes, NULs and all */
	if (name_normalize((const char *)data, size, flags, out, &err) == 0) {
		check_normal(out, flags);
		if (name_san_candidate(out, cand) == 1) {
			if (out[0] == '*')
				die("candidate for a wildcard", out);
			check_normal(cand, 0);
			if (name_is_public_suffix(cand))
				die("candidate is a public suffix", cand);
			/* www.X <-> X: the candidate of the candidate is the name */
			if (strncmp(out, "www.", 4) != 0 &&
			    (name_san_candidate(cand, back) != 1 || strcmp(back, out) != 0))
				die("candidate does not lead back", out);
		}
		if (out[0] != '*')
			check_path(out, "fullchain.pem");
		else if (name_path(BASE, out, NULL, cand, sizeof(cand), &err) == 0)
			die("wildcard accepted in a path", out);
	} else if (out[0] != '\0') {
		die("output not emptied on error", out);
	}

	/* the same bytes as a C string, for the functions that take one */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (name_san_candidate(text, cand) == 1)
		check_normal(cand, 0);
	check_path(text, NULL);
	check_path("example.jp", text);
	free(text);
	return 0;
}
