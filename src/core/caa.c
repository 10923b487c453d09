/*
 * caa.c - RFC 8659 section 4: a CA may issue when the relevant record set
 * has no "issue" property, or one whose issuer domain name is the CA's; an
 * unknown property flagged critical forbids everyone.
 */
#include "core/caa.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool known_tag(const char *tag)
{
	return strcasecmp(tag, "issue") == 0 || strcasecmp(tag, "issuewild") == 0 ||
	       strcasecmp(tag, "iodef") == 0 || strcasecmp(tag, "issuemail") == 0 ||
	       strcasecmp(tag, "contactemail") == 0 || strcasecmp(tag, "contactphone") == 0 ||
	       strcasecmp(tag, "issuevmc") == 0;
}

bool caa_issuer_of(const char *value, char *out, size_t outsz)
{
	const char *p = value, *start, *end;
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (*p && *p != ';' && *p != ' ' && *p != '\t')
		p++;
	end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p && *p != ';')
		return false; /* two words before the first ';' */
	len = (size_t)(end - start);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)start[i];

		if (!isalnum(c) && c != '-' && c != '.')
			return false;
	}
	if (len >= outsz)
		return false;
	memcpy(out, start, len);
	out[len] = '\0';
	if (len && out[len - 1] == '.')
		out[len - 1] = '\0';
	return true;
}

static bool identity_listed(const char *issuer, const char *identities)
{
	size_t il = strlen(issuer);
	const char *p = identities;

	if (!il || !identities)
		return false;
	while (*p) {
		size_t wl;

		while (*p == ' ')
			p++;
		wl = strcspn(p, " ");
		if (wl == il && strncasecmp(p, issuer, il) == 0)
			return true;
		p += wl;
	}
	return false;
}

bool caa_allows(const struct caa_record *rs, size_t n, const char *identities, char *why,
		size_t whysz)
{
	bool any_issue = false;

	if (whysz)
		why[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((rs[i].flags & 128) && !known_tag(rs[i].tag)) {
			snprintf(why, whysz,
				 "CAA has a critical property '%s' that no CA may ignore",
				 rs[i].tag);
			return false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char issuer[CAA_VALUE_MAX + 1];

		if (strcasecmp(rs[i].tag, "issue") != 0)
			continue;
		any_issue = true;
		if (caa_issuer_of(rs[i].value, issuer, sizeof(issuer)) &&
		    identity_listed(issuer, identities))
			return true;
	}
	if (!any_issue)
		return true;
	/* name what is allowed, so the operator sees what to change */
	{
		size_t used = 0;

		used += (size_t)snprintf(why, whysz, "CAA allows only");
		for (size_t i = 0; i < n && used < whysz; i++) {
			if (strcasecmp(rs[i].tag, "issue") != 0)
				continue;
			used += (size_t)snprintf(why + used, whysz - used, " \"%s\"",
						 rs[i].value[0] ? rs[i].value : ";");
		}
		if (used < whysz)
			snprintf(why + used, whysz - used, ", not %s",
				 identities ? identities : "");
	}
	return false;
}
