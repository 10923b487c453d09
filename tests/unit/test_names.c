/*
 * test_names.c - domain names: hostile input refused with a reason,
 * normalisation results, SAN candidates and public suffixes, and paths that
 * must stay under their base.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/names.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define W    NAME_ALLOW_WILDCARD

/* Long names, filled in by fill_long_names() before the tests run. */
static char label63[64 + 3], label64[65 + 3]; /* "<label>.jp" */
static char name253[NAME_MAX_LEN + 1], name254[NAME_MAX_LEN + 2], name253dot[NAME_MAX_LEN + 2];
static char name253upper[NAME_MAX_LEN + 1];
static char name249[NAME_MAX_LEN + 1], name250[NAME_MAX_LEN + 1];
static char wild253[NAME_MAX_LEN + 1], wild254[NAME_MAX_LEN + 2];
static char huge[4096];

static void fill(char *p, int c, size_t n)
{
	memset(p, c, n);
	p[n] = '\0';
}

/* A name of exactly len octets: 63-octet labels, then the rest, ending ".jp". */
static void make_name(char *out, size_t len, int c)
{
	size_t o = 0, body = len - 3;

	while (o < body) {
		size_t n = body - o > 64 ? 63 : body - o;

		if (o && n == 1) { /* never a label of length 0 after a dot */
			out[o - 1] = (char)c;
			break;
		}
		if (o) {
			out[o - 1] = '.';
		}
		memset(out + o, c, n);
		o += n + 1;
	}
	strcpy(out + body, ".jp");
}

static void fill_long_names(void)
{
	fill(label63, 'a', 63);
	strcat(label63, ".jp");
	fill(label64, 'a', 64);
	strcat(label64, ".jp");
	make_name(name253, 253, 'a');
	make_name(name254, 254, 'a');
	snprintf(name253dot, sizeof(name253dot), "%s.", name253);
	make_name(name253upper, 253, 'A');
	make_name(name249, 249, 'b');
	make_name(name250, 250, 'b');
	wild253[0] = '*';
	make_name(wild253 + 1, 252, 'c');
	wild253[1] = '.';
	wild254[0] = '*';
	make_name(wild254 + 1, 253, 'c');
	wild254[1] = '.';
	fill(huge, 'a', sizeof(huge) - 1);
	for (size_t i = 60; i < sizeof(huge) - 1; i += 61)
		huge[i] = '.';
}

struct norm_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	unsigned flags;
	const char *want; /* NULL: refused with -CD_EINVAL; "=": the input itself */
};

static struct norm_case norms[] = {
	/* plain names and their normal form */
	{ "plain name", "example.jp", 0, 0, "example.jp" },
	{ "upper case", "EXAMPLE.JP", 0, 0, "example.jp" },
	{ "mixed case", "WwW.Example.Jp", 0, 0, "www.example.jp" },
	{ "trailing dot removed", "example.jp.", 0, 0, "example.jp" },
	{ "upper case and trailing dot", "Example.JP.", 0, 0, "example.jp" },
	{ "digits and hyphens", "a-1.b2-c.jp", 0, 0, "a-1.b2-c.jp" },
	{ "digit-only inner label", "123.example.jp", 0, 0, "123.example.jp" },
	{ "dotted quad below a domain", "1.2.3.4.example.jp", 0, 0, "1.2.3.4.example.jp" },
	{ "unknown TLD, two labels", "a.b", 0, 0, "a.b" },
	{ "a public suffix is a well-formed name", "co.jp", 0, 0, "co.jp" },
	{ "63-octet label", label63, 0, 0, "=" },
	{ "253-octet name", name253, 0, 0, "=" },
	{ "253-octet name + trailing dot", name253dot, 0, 0, name253 },
	{ "253-octet name, upper case", name253upper, 0, 0, NULL }, /* want set in main */
	/* internationalised names */
	{ "U-label to A-label", "例え.jp", 0, 0, "xn--r8jz45g.jp" },
	{ "U-label with full-width TLD", "例え.ＪＰ", 0, 0, "xn--r8jz45g.jp" },
	{ "U-label with full-width dots", "例え．ｊｐ．", 0, 0, "xn--r8jz45g.jp" },
	{ "A-label kept", "xn--r8jz45g.jp", 0, 0, "xn--r8jz45g.jp" },
	{ "A-label upper case", "XN--R8JZ45G.JP", 0, 0, "xn--r8jz45g.jp" },
	{ "Japanese name", "日本語.jp", 0, 0, "xn--wgv71a119e.jp" },
	{ "full-width first letter", "Ｅxample.JP.", 0, 0, "example.jp" },
	{ "all full-width", "ＥＸＡＭＰＬＥ．ＪＰ", 0, 0, "example.jp" },
	{ "ideographic full stop", "example。jp", 0, 0, "example.jp" },
	{ "ideographic full stop as trailing dot", "example.jp。", 0, 0, "example.jp" },
	{ "sharp s non-transitional", "faß.de", 0, 0, "xn--fa-hia.de" },
	{ "RTL label (Hebrew) alone", "שלום.jp", 0, 0, "xn--9dbne9b.jp" },
	/* wildcards */
	{ "wildcard refused without flag", "*.x.jp", 0, 0, NULL },
	{ "wildcard with flag", "*.x.jp", 0, W, "*.x.jp" },
	{ "wildcard with flag, upper case, trailing dot", "*.X.JP.", 0, W, "*.x.jp" },
	{ "wildcard over a U-label", "*.例え.jp", 0, W, "*.xn--r8jz45g.jp" },
	{ "wildcard in the middle", "x.*.jp", 0, W, NULL },
	{ "wildcard at the end", "x.jp.*", 0, W, NULL },
	{ "partial wildcard label", "*x.jp", 0, W, NULL },
	{ "partial wildcard label after", "x*.x.jp", 0, W, NULL },
	{ "double star", "**.x.jp", 0, W, NULL },
	{ "two wildcard labels", "*.*.x.jp", 0, W, NULL },
	{ "star alone", "*", 0, W, NULL },
	{ "star dot", "*.", 0, W, NULL },
	{ "wildcard over a TLD", "*.jp", 0, W, NULL },
	{ "wildcard over a public suffix", "*.co.jp", 0, W, NULL },
	{ "wildcard 253 octets", wild253, 0, W, "=" },
	{ "wildcard 254 octets", wild254, 0, W, NULL },
	/* empty and dots */
	{ "empty", "", 0, 0, NULL },
	{ "dot", ".", 0, 0, NULL },
	{ "dot dot", "..", 0, 0, NULL },
	{ "a..b", "a..b", 0, 0, NULL },
	{ "a..b.jp", "a..b.jp", 0, 0, NULL },
	{ "leading dot", ".example.jp", 0, 0, NULL },
	{ "double trailing dot", "example.jp..", 0, 0, NULL },
	{ "trailing dot then ideographic stop", "example.jp.。", 0, 0, NULL },
	{ "ideographic stop then trailing dot", "example.jp。.", 0, 0, NULL },
	{ "two full-width dots", "a．．b.jp", 0, 0, NULL },
	/* paths */
	{ "../etc", "../etc", 0, 0, NULL },
	{ "../etc/passwd", "../etc/passwd", 0, 0, NULL },
	{ "slash", "a/b", 0, 0, NULL },
	{ "slash in a name", "a/b.jp", 0, 0, NULL },
	{ "trailing slash", "example.jp/", 0, 0, NULL },
	{ "backslash", "a\\b", 0, 0, NULL },
	{ "backslash in a name", "a\\b.jp", 0, 0, NULL },
	{ "full-width solidus maps to '/'", "ａ／b.jp", 0, 0, NULL },
	{ "percent-encoded dots", "%2e%2e.jp", 0, 0, NULL },
	{ "URL", "https://example.jp", 0, 0, NULL },
	{ "user at host", "user@example.jp", 0, 0, NULL },
	{ "query", "example.jp?x=1", 0, 0, NULL },
	/* NUL and control characters */
	{ "NUL inside", "a\0b.jp", 6, 0, NULL },
	{ "NUL at the end", "example.jp\0", 11, 0, NULL },
	{ "NUL at the start", "\0example.jp", 11, 0, NULL },
	{ "tab inside", "a\tb.jp", 0, 0, NULL },
	{ "leading tab", "\texample.jp", 0, 0, NULL },
	{ "newline at the end", "example.jp\n", 0, 0, NULL },
	{ "CR LF injection", "example.jp\r\nX-Evil: 1", 0, 0, NULL },
	{ "DEL", "exa\x7fmple.jp", 0, 0, NULL },
	{ "escape sequence", "\x1b[31mexample.jp", 0, 0, NULL },
	{ "C1 control U+0085", "exa\xc2\x85mple.jp", 0, 0, NULL },
	/* spaces */
	{ "leading space", " example.jp", 0, 0, NULL },
	{ "trailing space", "example.jp ", 0, 0, NULL },
	{ "space inside", "exa mple.jp", 0, 0, NULL },
	{ "ideographic space", "a\u3000b.jp", 0, 0, NULL },
	{ "no-break space", "a\u00a0b.jp", 0, 0, NULL },
	/* LDH */
	{ "underscore", "a_b.jp", 0, 0, NULL },
	{ "underscore label (DKIM-like)", "_dmarc.example.jp", 0, 0, NULL },
	{ "full-width underscore", "a＿b.jp", 0, 0, NULL },
	{ "leading hyphen", "-a.jp", 0, 0, NULL },
	{ "trailing hyphen", "a-.jp", 0, 0, NULL },
	{ "leading hyphen in TLD", "a.-jp", 0, 0, NULL },
	{ "trailing hyphen in TLD", "a.jp-", 0, 0, NULL },
	{ "hyphen-only label", "-.jp", 0, 0, NULL },
	{ "reserved '--' label", "ab--cd.jp", 0, 0, NULL },
	{ "reserved '--' label, full-width", "ＡＢ--ｃｄ.jp", 0, 0, NULL },
	{ "comma", "a,b.jp", 0, 0, NULL },
	{ "quote", "a'b.jp", 0, 0, NULL },
	{ "64-octet label", label64, 0, 0, NULL },
	{ "254-octet name", name254, 0, 0, NULL },
	{ "4 KiB of input", huge, 0, 0, NULL },
	/* punycode */
	{ "xn-- with trailing hyphen (invalid punycode)", "xn--invalid-.jp", 0, 0, NULL },
	{ "xn-- empty", "xn--.jp", 0, 0, NULL },
	{ "xn-- that decodes to nothing valid", "xn--zz.jp", 0, 0, NULL },
	{ "xn-- that decodes to ASCII", "xn--abc.jp", 0, 0, NULL },
	{ "xn-- that decodes to upper case", "xn--a.jp", 0, 0, NULL },
	/* IP literals */
	{ "IPv4", "192.0.2.1", 0, 0, NULL },
	{ "IPv4 with trailing dot", "1.2.3.4.", 0, 0, NULL },
	{ "IPv4 short form", "10.1", 0, 0, NULL },
	{ "IPv4 hex last part", "10.0x1", 0, 0, NULL },
	{ "hex TLD", "example.0x1f", 0, 0, NULL },
	{ "IPv4 full-width digits", "１９２.０.２.１", 0, 0, NULL },
	{ "IPv6 loopback", "::1", 0, 0, NULL },
	{ "IPv6 in brackets", "[::1]", 0, 0, NULL },
	{ "IPv6", "2001:db8::1", 0, 0, NULL },
	{ "host with port", "example.jp:443", 0, 0, NULL },
	{ "full-width colon", "a：b.jp", 0, 0, NULL },
	/* single labels */
	{ "localhost", "localhost", 0, 0, NULL },
	{ "localhost with trailing dot", "LOCALHOST.", 0, 0, NULL },
	{ "bare TLD", "jp", 0, 0, NULL },
	{ "single U-label", "例え", 0, 0, NULL },
	/* Unicode that is not a name */
	{ "emoji", "😀.jp", 0, 0, NULL },
	{ "emoji heart", "i❤.jp", 0, 0, NULL },
	{ "RTL override", "\u202eexample.jp", 0, 0, NULL },
	{ "RTL override inside", "exa\xe2\x80\xaemple.jp", 0, 0, NULL },
	{ "mixed LTR and RTL in a label", "aשלום.jp", 0, 0, NULL },
	{ "invalid UTF-8", "\xff.jp", 0, 0, NULL },
	{ "overlong UTF-8 dot", "a\300\256b.jp", 0, 0, NULL },
	{ "truncated UTF-8", "\xe4\xbe.jp", 0, 0, NULL },
	{ "UTF-16 surrogate in UTF-8", "\xed\xa0\x80.jp", 0, 0, NULL },
};

static void test_norm(void **state)
{
	const struct norm_case *c = *state;
	struct cd_err err = { 0 };
	char out[NAME_MAX_LEN + 1], again[NAME_MAX_LEN + 1];
	size_t len = c->len ? c->len : strlen(c->in);
	const char *want = c->want && strcmp(c->want, "=") == 0 ? c->in : c->want;
	int rc;

	memset(out, 'X', sizeof(out));
	rc = name_normalize(c->in, len, c->flags, out, &err);
	if (!want) {
		if (rc != -CD_EINVAL)
			fail_msg("case '%s': accepted as '%s'", c->name, rc == 0 ? out : "?");
		if (err.code != CD_EINVAL || err.msg[0] == '\0')
			fail_msg("case '%s': no message", c->name);
		if (out[0] != '\0')
			fail_msg("case '%s': output not emptied on error", c->name);
		/* messages never carry raw control bytes */
		for (const char *p = err.msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				fail_msg("case '%s': control byte in message", c->name);
		return;
	}
	if (rc != 0)
		fail_msg("case '%s': refused: %s", c->name, err.msg);
	if (strcmp(out, want) != 0)
		fail_msg("case '%s': '%s', want '%s'", c->name, out, want);
	/* normal form is a fixed point */
	if (name_normalize(out, strlen(out), c->flags, again, &err) != 0 || strcmp(again, out))
		fail_msg("case '%s': '%s' does not re-normalise to itself", c->name, out);
}

/* The message says what is wrong (checked on a few refusals). */
struct msg_case {
	const char *name;
	const char *in;
	size_t len;
	unsigned flags;
	const char *says;
};

static struct msg_case msgs[] = {
	{ "message: NUL", "a\0b.jp", 6, 0, "NUL" },
	{ "message: control character", "a\tb.jp", 0, 0, "control character" },
	{ "message: space", "a b.jp", 0, 0, "space" },
	{ "message: slash", "a/b.jp", 0, 0, "path separator" },
	{ "message: underscore", "a_b.jp", 0, 0, "'_'" },
	{ "message: IPv6", "::1", 0, 0, "IPv6" },
	{ "message: IPv4", "192.0.2.1", 0, 0, "IP address" },
	{ "message: single label", "localhost", 0, 0, "two labels" },
	{ "message: wildcard not allowed", "*.x.jp", 0, 0, "wildcard" },
	{ "message: star elsewhere", "x.*.jp", 0, W, "'*'" },
	{ "message: empty label", "a..b", 0, 0, "empty label" },
	{ "message: empty", "", 0, 0, "empty" },
	{ "message: long label", label64, 0, 0, "longer than 63" },
	{ "message: long name", name254, 0, 0, "longer than 253" },
	{ "message: hyphen", "-a.jp", 0, 0, "'-'" },
	{ "message: reserved --", "ab--cd.jp", 0, 0, "'--'" },
	{ "message: punycode", "xn--zz.jp", 0, 0, "punycode" },
	{ "message: NUL is escaped", "a\0b.jp", 6, 0, "a\\x00b.jp" },
	{ "message: RTL override is escaped", "\u202ea.jp", 0, 0, "\\xe2\\x80\\xae" },
	{ "message: public suffix wildcard", "*.co.jp", 0, W, "public suffix" },
};

static void test_msg(void **state)
{
	const struct msg_case *c = *state;
	struct cd_err err = { 0 };
	char out[NAME_MAX_LEN + 1];
	size_t len = c->len ? c->len : strlen(c->in);

	if (name_normalize(c->in, len, c->flags, out, &err) != -CD_EINVAL)
		fail_msg("case '%s': accepted", c->name);
	if (!strstr(err.msg, c->says))
		fail_msg("case '%s': message '%s' does not say '%s'", c->name, err.msg, c->says);
}

struct san_case {
	const char *name;
	const char *in;
	const char *want; /* NULL: no candidate */
};

static struct san_case sans[] = {
	{ "example.jp gets www", "example.jp", "www.example.jp" },
	{ "www.example.jp gets the bare name", "www.example.jp", "example.jp" },
	{ "sub.example.jp gets www.sub", "sub.example.jp", "www.sub.example.jp" },
	{ "www.sub.example.jp gets sub", "www.sub.example.jp", "sub.example.jp" },
	{ "www.www.example.jp strips one www", "www.www.example.jp", "www.example.jp" },
	{ "wwwexample.jp is not www.", "wwwexample.jp", "www.wwwexample.jp" },
	{ "www-x.example.jp is not www.", "www-x.example.jp", "www.www-x.example.jp" },
	{ "example.co.jp gets www", "example.co.jp", "www.example.co.jp" },
	{ "www.example.co.jp gets example.co.jp", "www.example.co.jp", "example.co.jp" },
	{ "www.co.jp: co.jp is a public suffix", "www.co.jp", NULL },
	{ "co.jp itself is a public suffix: no www.co.jp (another registrant)", "co.jp", NULL },
	{ "www.jp: jp is a public suffix", "www.jp", NULL },
	{ "jp: not a normalised name", "jp", NULL },
	{ "A-label gets www", "xn--r8jz45g.jp", "www.xn--r8jz45g.jp" },
	{ "www A-label gets the bare A-label", "www.xn--r8jz45g.jp", "xn--r8jz45g.jp" },
	{ "city.kawasaki.jp (PSL exception) gets www", "city.kawasaki.jp", "www.city.kawasaki.jp" },
	{ "www.city.kawasaki.jp gets city.kawasaki.jp", "www.city.kawasaki.jp",
	  "city.kawasaki.jp" },
	{ "x.kawasaki.jp is a public suffix (wildcard rule)", "x.kawasaki.jp", NULL },
	{ "www.x.kawasaki.jp: x.kawasaki.jp is a public suffix", "www.x.kawasaki.jp", NULL },
	{ "www.github.io: private public suffix", "www.github.io", NULL },
	{ "user.github.io gets www", "user.github.io", "www.user.github.io" },
	{ "unknown TLD: example.foo gets www", "example.foo", "www.example.foo" },
	{ "unknown TLD: www.foo never adds foo", "www.foo", NULL },
	{ "249 octets + www fits", name249, "www." /* + name249, checked in code */ },
	{ "250 octets + www is too long", name250, NULL },
	{ "not normalised: upper case", "WWW.EXAMPLE.JP", NULL },
	{ "not normalised: trailing dot", "example.jp.", NULL },
	{ "not normalised: U-label", "例え.jp", NULL },
	{ "wildcard name", "*.example.jp", NULL },
	{ "empty", "", NULL },
	{ "path", "../example.jp", NULL },
};

static void test_san(void **state)
{
	const struct san_case *c = *state;
	char out[NAME_MAX_LEN + 1], want[NAME_MAX_LEN + 8];
	int rc;

	memset(out, 'X', sizeof(out));
	rc = name_san_candidate(c->in, out);
	if (!c->want) {
		if (rc != 0 || out[0] != '\0')
			fail_msg("case '%s': candidate '%s'", c->name, rc ? out : "(not emptied)");
		return;
	}
	snprintf(want, sizeof(want), "%s", c->want);
	if (c->in == name249)
		snprintf(want, sizeof(want), "www.%s", name249);
	if (rc != 1 || strcmp(out, want) != 0)
		fail_msg("case '%s': rc %d '%s', want '%s'", c->name, rc, out, want);
	if (name_is_public_suffix(out))
		fail_msg("case '%s': candidate is a public suffix", c->name);
}

struct psl_case {
	const char *name;
	const char *in;
	bool want;
};

static struct psl_case psls[] = {
	{ "jp is a public suffix", "jp", true },
	{ "co.jp is a public suffix", "co.jp", true },
	{ "tokyo.jp is a public suffix", "tokyo.jp", true },
	{ "kawasaki.jp is a public suffix", "kawasaki.jp", true },
	{ "x.kawasaki.jp is one by wildcard", "x.kawasaki.jp", true },
	{ "city.kawasaki.jp is an exception", "city.kawasaki.jp", false },
	{ "example.jp is not", "example.jp", false },
	{ "www.co.jp is not", "www.co.jp", false },
	{ "github.io (private section) is", "github.io", true },
	{ "unknown TLD is (default rule)", "foo", true },
	{ "under an unknown TLD is not", "example.foo", false },
	{ "IDN suffix A-label", "xn--55qx5d.cn", true },
	{ "NULL counts as a suffix", NULL, true },
};

static void test_psl(void **state)
{
	const struct psl_case *c = *state;

	if (name_is_public_suffix(c->in) != c->want)
		fail_msg("case '%s': %d", c->name, !c->want);
}

struct path_case {
	const char *name;
	const char *base, *nm, *file;
	size_t outsz; /* 0: 4096 */
	int want_rc;
	const char *want;
};

static struct path_case paths[] = {
	{ "name and file", "/srv/certs", "example.jp", "fullchain.pem", 0, 0,
	  "/srv/certs/example.jp/fullchain.pem" },
	{ "name only", "/srv/certs", "example.jp", NULL, 0, 0, "/srv/certs/example.jp" },
	{ "base with trailing slash", "/srv/certs/", "example.jp", "privkey.pem", 0, 0,
	  "/srv/certs/example.jp/privkey.pem" },
	{ "base with two trailing slashes", "/srv/certs//", "example.jp", NULL, 0, 0,
	  "/srv/certs/example.jp" },
	{ "base is root", "/", "example.jp", "privkey.pem", 0, 0, "/example.jp/privkey.pem" },
	{ "relative base", "certs", "example.jp", NULL, 0, 0, "certs/example.jp" },
	{ "A-label name", "/srv/certs", "xn--r8jz45g.jp", "fullchain.pem", 0, 0,
	  "/srv/certs/xn--r8jz45g.jp/fullchain.pem" },
	{ "dotfile is a plain name", "/srv/certs", "example.jp", ".backup", 0, 0,
	  "/srv/certs/example.jp/.backup" },
	{ "exact fit", "/b", "example.jp", "f", sizeof("/b/example.jp/f"), 0, "/b/example.jp/f" },
	{ "one octet short", "/b", "example.jp", "f", sizeof("/b/example.jp/f") - 1, -CD_ELIMIT,
	  NULL },
	{ "no room at all", "/b", "example.jp", "f", 1, -CD_ELIMIT, NULL },
	{ "empty base", "", "example.jp", NULL, 0, -CD_EINVAL, NULL },
	{ "NULL base", NULL, "example.jp", NULL, 0, -CD_EINVAL, NULL },
	{ "NULL name", "/srv", NULL, NULL, 0, -CD_EINVAL, NULL },
	{ "empty name", "/srv", "", NULL, 0, -CD_EINVAL, NULL },
	{ "name ..", "/srv", "..", NULL, 0, -CD_EINVAL, NULL },
	{ "name .", "/srv", ".", NULL, 0, -CD_EINVAL, NULL },
	{ "name ../etc", "/srv", "../etc", "passwd", 0, -CD_EINVAL, NULL },
	{ "name with slash", "/srv", "a/b.jp", NULL, 0, -CD_EINVAL, NULL },
	{ "name with absolute path", "/srv", "/etc/passwd", NULL, 0, -CD_EINVAL, NULL },
	{ "name not normalised (upper case)", "/srv", "Example.jp", NULL, 0, -CD_EINVAL, NULL },
	{ "name not normalised (trailing dot)", "/srv", "example.jp.", NULL, 0, -CD_EINVAL, NULL },
	{ "name not normalised (U-label)", "/srv", "例え.jp", NULL, 0, -CD_EINVAL, NULL },
	{ "wildcard name", "/srv", "*.example.jp", NULL, 0, -CD_EINVAL, NULL },
	{ "file ..", "/srv", "example.jp", "..", 0, -CD_EINVAL, NULL },
	{ "file .", "/srv", "example.jp", ".", 0, -CD_EINVAL, NULL },
	{ "file ../x", "/srv", "example.jp", "../x", 0, -CD_EINVAL, NULL },
	{ "file with slash", "/srv", "example.jp", "a/b", 0, -CD_EINVAL, NULL },
	{ "file absolute", "/srv", "example.jp", "/etc/passwd", 0, -CD_EINVAL, NULL },
	{ "file with backslash", "/srv", "example.jp", "a\\b", 0, -CD_EINVAL, NULL },
	{ "file with newline", "/srv", "example.jp", "a\nb", 0, -CD_EINVAL, NULL },
	{ "empty file", "/srv", "example.jp", "", 0, -CD_EINVAL, NULL },
};

static void test_path(void **state)
{
	const struct path_case *c = *state;
	struct cd_err err = { 0 };
	char out[4096];
	size_t outsz = c->outsz ? c->outsz : sizeof(out);
	int rc;

	memset(out, 'X', sizeof(out));
	rc = name_path(c->base, c->nm, c->file, out, outsz, &err);
	if (rc != c->want_rc)
		fail_msg("case '%s': rc %d, want %d (%s)", c->name, rc, c->want_rc, err.msg);
	if (rc != 0) {
		if (out[0] != '\0' || err.msg[0] == '\0')
			fail_msg("case '%s': output not emptied or no message", c->name);
		return;
	}
	if (strcmp(out, c->want) != 0)
		fail_msg("case '%s': '%s', want '%s'", c->name, out, c->want);
	if (strstr(out, "/../") || strstr(out, "/./"))
		fail_msg("case '%s': '%s' leaves its base", c->name, out);
}

int main(void)
{
	static struct CMUnitTest tests[N(norms) + N(msgs) + N(sans) + N(psls) + N(paths)];
	size_t n = 0;

	fill_long_names();
	for (size_t i = 0; i < N(norms); i++) {
		if (norms[i].in == name253upper)
			norms[i].want = name253;
		tests[n++] = (struct CMUnitTest){ norms[i].name, test_norm, NULL, NULL, &norms[i] };
	}
	for (size_t i = 0; i < N(msgs); i++)
		tests[n++] = (struct CMUnitTest){ msgs[i].name, test_msg, NULL, NULL, &msgs[i] };
	for (size_t i = 0; i < N(sans); i++)
		tests[n++] = (struct CMUnitTest){ sans[i].name, test_san, NULL, NULL, &sans[i] };
	for (size_t i = 0; i < N(psls); i++)
		tests[n++] = (struct CMUnitTest){ psls[i].name, test_psl, NULL, NULL, &psls[i] };
	for (size_t i = 0; i < N(paths); i++)
		tests[n++] = (struct CMUnitTest){ paths[i].name, test_path, NULL, NULL, &paths[i] };
	return _cmocka_run_group_tests("names", tests, n, NULL, NULL);
}
