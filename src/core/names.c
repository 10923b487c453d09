/*
 * names.c - domain names as certdesk accepts them (DESIGN.md §3.2).
 *
 * A name goes through three steps: a byte check of the raw input (NUL,
 * control characters, characters no host name has, with a message that says
 * which), the IDNA conversion (libidn2, UTS #46 non-transitional: case
 * folding, full-width forms, U-labels to A-labels), and our own LDH check of
 * the result, because UTS #46 maps some full-width characters to ASCII that
 * no host name may hold ('／' -> '/'). A name that passes re-normalises to
 * itself (the fuzz target checks it).
 *
 * Policy decided here:
 * - A name needs at least two labels. A certificate name must sit under a
 *   registrable domain; "localhost" or a bare TLD is a mistake in the
 *   inventory, never a customer's site.
 * - The last label may not be numeric ("192.0.2.1", "1.2.3.4.", "10.0x1"):
 *   resolvers read those as IPv4 addresses. ':' and brackets are IPv6.
 * - Labels of the reserved form "??--" are refused unless they are valid
 *   A-labels ("xn--" that decode and encode back to themselves); CAs refuse
 *   them too.
 * - A wildcard is only the whole leftmost label, only with
 *   NAME_ALLOW_WILDCARD, and never directly over a public suffix ("*.co.jp").
 * - A public suffix itself ("co.jp") is a well-formed name and normalises;
 *   whether it may be a certificate's name is the caller's rule
 *   (name_is_public_suffix()). It never gets a SAN candidate.
 *
 * Public suffixes come from libpsl's built-in list with the "*" default rule
 * on: an unknown TLD counts as a public suffix, so "www.foo" never adds "foo".
 */
#include "core/names.h"

#include <idn2.h>
#include <libpsl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* No legitimate name is longer: 253 octets of A-labels come from at most
 * 4 UTF-8 bytes per code point; this bounds the work before libidn2. */
#define NAME_INPUT_MAX 1024
#define FILE_NAME_MAX  255

/* Printable, log-safe excerpt of untrusted input: every byte that is not
 * printable ASCII becomes \xNN, so NULs, controls and bidi overrides never
 * reach a log or a terminal as themselves. */
static const char *excerpt(const char *in, size_t len, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (o + 8 >= bufsz) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Why a raw ASCII byte cannot be in a name, or NULL when it can. */
static const char *bad_ascii(unsigned char c)
{
	if (c == '\0')
		return "a NUL byte";
	if (c < 0x20 || c == 0x7f)
		return "a control character";
	if (c == ' ')
		return "a space";
	if (c == '/' || c == '\\')
		return "a path separator";
	if (c == ':' || c == '[' || c == ']')
		return "':' or brackets (IPv6 addresses are not names)";
	if (c == '_')
		return "'_' (only letters, digits and '-' are allowed)";
	if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*')
		return NULL;
	return "a character that is not a letter, digit, '-' or '.'";
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* "0x1f": the hexadecimal form inet_aton() accepts in a dotted address. */
static bool hex_number(const char *s, size_t n)
{
	if (n < 2 || s[0] != '0' || s[1] != 'x')
		return false;
	for (size_t i = 2; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * The LDH rules on an ASCII, lower-case name without wildcard and without
 * trailing dot: label lengths, characters, hyphens, reserved labels, at
 * least two labels, no numeric last label.
 */
static int check_ldh(const char *name, const char *shown, struct cd_err *err)
{
	size_t len = strlen(name), labels = 0;
	const char *p = name, *last = name;
	size_t last_len = 0;

	if (len == 0)
		return cd_err_set(err, CD_EINVAL, false, "'%s': the name is empty", shown);
	while (p <= name + len) {
		const char *dot = memchr(p, '.', (size_t)(name + len - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(name + len - p);

		if (n == 0)
			return cd_err_set(err, CD_EINVAL, false,
					  "'%s': empty label (a leading dot or '..')", shown);
		if (n > NAME_LABEL_MAX)
			return cd_err_set(err, CD_EINVAL, false,
					  "'%s': a label is longer than %d octets", shown,
					  NAME_LABEL_MAX);
		for (size_t i = 0; i < n; i++)
			if (!is_ldh((unsigned char)p[i]))
				return cd_err_set(
				    err, CD_EINVAL, false,
				    "'%s': only letters, digits and '-' may form a label", shown);
		if (p[0] == '-' || p[n - 1] == '-')
			return cd_err_set(err, CD_EINVAL, false,
					  "'%s': a label starts or ends with '-'", shown);
		if (n >= 4 && p[2] == '-' && p[3] == '-' && !(p[0] == 'x' && p[1] == 'n'))
			return cd_err_set(err, CD_EINVAL, false,
					  "'%s': a label has '--' in the 3rd and 4th position",
					  shown);
		labels++;
		last = p;
		last_len = n;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (labels < 2)
		return cd_err_set(err, CD_EINVAL, false,
				  "'%s': a certificate name needs at least two labels "
				  "(a domain such as example.jp)",
				  shown);
	if (all_digits(last, last_len) || hex_number(last, last_len))
		return cd_err_set(err, CD_EINVAL, false, "'%s' is an IP address, not a domain name",
				  shown);
	return 0;
}

/* libidn2 on text without wildcard and trailing dot; the A-label form into
 * out (NAME_MAX_LEN + 1 bytes, "" when too long). */
static int to_alabels(const char *text, char *out, const char *shown, struct cd_err *err)
{
	uint8_t *ascii = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)text, &ascii, IDN2_NONTRANSITIONAL);

	if (rc != IDN2_OK)
		return cd_err_set(err, CD_EINVAL, false, "'%s' is not a valid domain name: %s",
				  shown, idn2_strerror(rc));
	if (strlen((const char *)ascii) > NAME_MAX_LEN) {
		idn2_free(ascii);
		return cd_err_set(err, CD_EINVAL, false, "'%s' is longer than %d octets", shown,
				  NAME_MAX_LEN);
	}
	strcpy(out, (const char *)ascii);
	idn2_free(ascii);
	return 0;
}

int name_normalize(const char *in, size_t len, unsigned flags, char out[NAME_MAX_LEN + 1],
		   struct cd_err *err)
{
	char shown[160], text[NAME_INPUT_MAX + 1], alabels[NAME_MAX_LEN + 1];
	char check[NAME_MAX_LEN + 1];
	bool wildcard = false, ascii = true, dot_removed = false;
	size_t n;
	int rc;

	if (out)
		out[0] = '\0';
	if (!in || !out)
		return cd_err_set(err, CD_EINVAL, false, "name_normalize: no input or output");
	excerpt(in, len, shown, sizeof(shown));
	if (len == 0)
		return cd_err_set(err, CD_EINVAL, false, "the name is empty");
	if (len > NAME_INPUT_MAX)
		return cd_err_set(err, CD_EINVAL, false, "'%s' is longer than %d octets", shown,
				  NAME_MAX_LEN);
	for (size_t i = 0; i < len; i++) {
		const char *why = bad_ascii((unsigned char)in[i]);

		if (why)
			return cd_err_set(err, CD_EINVAL, false, "'%s' contains %s", shown, why);
		if ((unsigned char)in[i] >= 0x80)
			ascii = false;
	}

	/* Wildcard: only "*." in front, only when allowed; no other '*'. */
	if (len >= 2 && in[0] == '*' && in[1] == '.') {
		if (!(flags & NAME_ALLOW_WILDCARD))
			return cd_err_set(err, CD_EINVAL, false,
					  "'%s': wildcard names are not allowed here", shown);
		wildcard = true;
		in += 2;
		len -= 2;
	}
	if (memchr(in, '*', len))
		return cd_err_set(err, CD_EINVAL, false,
				  "'%s': '*' is only allowed as the whole first label of a "
				  "wildcard name",
				  shown);

	n = len;
	if (n > 0 && in[n - 1] == '.') {
		n--;
		dot_removed = true;
	}
	memcpy(text, in, n);
	text[n] = '\0';

	if (ascii) {
		for (size_t i = 0; i < n; i++)
			if (text[i] >= 'A' && text[i] <= 'Z')
				text[i] = (char)(text[i] - 'A' + 'a');
		if (n > NAME_MAX_LEN)
			return cd_err_set(err, CD_EINVAL, false, "'%s' is longer than %d octets",
					  shown, NAME_MAX_LEN);
		/* Our checks first, for messages that say what is wrong. */
		rc = check_ldh(text, shown, err);
		if (rc)
			return rc;
		strcpy(alabels, text);
	} else {
		rc = to_alabels(text, alabels, shown, err);
		if (rc)
			return rc;
		/* A full-width or ideographic full stop at the end became '.'. */
		n = strlen(alabels);
		if (!dot_removed && n > 0 && alabels[n - 1] == '.')
			alabels[n - 1] = '\0';
		rc = check_ldh(alabels, shown, err);
		if (rc)
			return rc;
	}

	/* libidn2 validates the A-labels ("xn--" that is not valid punycode,
	 * a U-label that is not allowed, bidi and joiner rules); a valid name
	 * comes back unchanged. */
	rc = to_alabels(alabels, check, shown, err);
	if (rc)
		return rc;
	if (strcmp(check, alabels) != 0)
		return cd_err_set(err, CD_EINVAL, false,
				  "'%s' is not in a stable form (libidn2 gives '%s')", shown,
				  check);

	if (wildcard) {
		if (strlen(alabels) + 2 > NAME_MAX_LEN)
			return cd_err_set(err, CD_EINVAL, false, "'%s' is longer than %d octets",
					  shown, NAME_MAX_LEN);
		if (name_is_public_suffix(alabels))
			return cd_err_set(err, CD_EINVAL, false,
					  "'%s': a wildcard directly under a public suffix", shown);
		out[0] = '*';
		out[1] = '.';
		strcpy(out + 2, alabels);
	} else {
		strcpy(out, alabels);
	}
	return 0;
}

bool name_is_public_suffix(const char *name)
{
	const psl_ctx_t *psl = psl_builtin();

	/* Without a list, every name counts as a public suffix: the safe side
	 * (no SAN is ever added, no wildcard is accepted). */
	if (!psl || !name)
		return true;
	return psl_is_public_suffix2(psl, name, PSL_TYPE_ANY) != 0;
}

/* Both names in the same registrable domain (the same owner). */
static bool same_registrable(const char *a, const char *b)
{
	const psl_ctx_t *psl = psl_builtin();
	const char *ra, *rb;

	if (!psl)
		return false;
	ra = psl_registrable_domain(psl, a);
	rb = psl_registrable_domain(psl, b);
	return ra && rb && strcmp(ra, rb) == 0;
}

int name_san_candidate(const char *name, char out[NAME_MAX_LEN + 1])
{
	char norm[NAME_MAX_LEN + 1], cand[NAME_MAX_LEN + 1];
	size_t len;

	if (out)
		out[0] = '\0';
	if (!name || !out)
		return 0;
	len = strlen(name);
	/* Only for a name in normal form (which also rules out wildcards). */
	if (name_normalize(name, len, 0, norm, NULL) != 0 || strcmp(norm, name) != 0)
		return 0;
	if (strncmp(name, "www.", 4) == 0) {
		strcpy(cand, name + 4);
	} else {
		if (len + 4 > NAME_MAX_LEN)
			return 0;
		memcpy(cand, "www.", 4);
		strcpy(cand + 4, name);
	}
	/*
	 * Never a public suffix, and never across one: for "co.jp" the
	 * candidate "www.co.jp" is somebody else's registrable domain, so a
	 * name that is itself a public suffix gets no candidate either.
	 */
	if (name_is_public_suffix(name) || name_is_public_suffix(cand))
		return 0;
	if (!same_registrable(name, cand))
		return 0;
	if (name_normalize(cand, strlen(cand), 0, norm, NULL) != 0 || strcmp(norm, cand) != 0)
		return 0;
	strcpy(out, cand);
	return 1;
}

/* A plain file name: no '/', not "." or "..", no control characters. */
static int check_file(const char *file, struct cd_err *err)
{
	size_t n = strlen(file);

	if (n == 0 || strcmp(file, ".") == 0 || strcmp(file, "..") == 0)
		return cd_err_set(err, CD_EINVAL, false, "'%s' is not a plain file name", file);
	if (n > FILE_NAME_MAX)
		return cd_err_set(err, CD_EINVAL, false, "a file name is longer than %d octets",
				  FILE_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)file[i];

		if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
			char shown[80];

			return cd_err_set(err, CD_EINVAL, false,
					  "'%s' is not a plain file name (separator or control "
					  "character)",
					  excerpt(file, n, shown, sizeof(shown)));
		}
	}
	return 0;
}

int name_path(const char *base, const char *name, const char *file, char *out, size_t outsz,
	      struct cd_err *err)
{
	char norm[NAME_MAX_LEN + 1], shown[160];
	size_t blen;
	int rc, n;

	if (out && outsz > 0)
		out[0] = '\0';
	if (!out || outsz == 0)
		return cd_err_set(err, CD_ELIMIT, false, "name_path: no room for the path");
	if (!base || !*base)
		return cd_err_set(err, CD_EINVAL, false, "name_path: the base directory is empty");
	if (!name)
		return cd_err_set(err, CD_EINVAL, false, "name_path: no name");
	rc = name_normalize(name, strlen(name), 0, norm, err);
	if (rc)
		return rc;
	if (strcmp(norm, name) != 0)
		return cd_err_set(err, CD_EINVAL, false,
				  "'%s' is not in normal form (expected '%s')",
				  excerpt(name, strlen(name), shown, sizeof(shown)), norm);
	if (file) {
		rc = check_file(file, err);
		if (rc)
			return rc;
	}
	/* "/srv/certs/" and "/srv/certs" give the same path. */
	blen = strlen(base);
	while (blen > 1 && base[blen - 1] == '/')
		blen--;
	n = snprintf(out, outsz, "%.*s%s%s%s%s", (int)blen, base, base[blen - 1] == '/' ? "" : "/",
		     name, file ? "/" : "", file ? file : "");
	if (n < 0 || (size_t)n >= outsz) {
		out[0] = '\0';
		return cd_err_set(err, CD_ELIMIT, false,
				  "the path for '%s' is longer than %zu octets", name, outsz - 1);
	}
	return 0;
}
