/*
 * dnsmsg.c - a bounded reader for DNS responses: header, question skipped,
 * answer records of type A, AAAA, CNAME and CAA kept. Compression pointers
 * must point backwards, so a loop cannot happen.
 */
#include "dcv/dnsmsg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Reads the name at *off into out (may be NULL to skip); advances *off past it. */
static int read_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t outsz,
		     struct cd_err *err)
{
	size_t pos = *off, o = 0, end = 0;
	int jumps = 0;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return cd_err_set(err, CD_EINVAL, false, "DNS name runs past the message");
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= len)
				return cd_err_set(err, CD_EINVAL, false, "DNS pointer truncated");
			ptr = (size_t)(((l & 0x3f) << 8) | msg[pos + 1]);
			if (!end)
				end = pos + 2;
			if (ptr >= pos || ++jumps > 32)
				return cd_err_set(err, CD_EINVAL, false,
						  "DNS compression pointer does not point back");
			pos = ptr;
			continue;
		}
		if (l & 0xc0)
			return cd_err_set(err, CD_EINVAL, false, "DNS label type 0x%02x unknown",
					  l);
		pos++;
		if (l == 0)
			break;
		if (pos + l > len)
			return cd_err_set(err, CD_EINVAL, false, "DNS label runs past the message");
		if (out) {
			if (o + l + 2 > outsz)
				return cd_err_set(err, CD_EINVAL, false, "DNS name too long");
			if (o)
				out[o++] = '.';
			for (size_t i = 0; i < l; i++)
				out[o++] = (char)tolower(msg[pos + i]);
		}
		pos += l;
	}
	if (out) {
		if (o + 1 > outsz)
			return cd_err_set(err, CD_EINVAL, false, "DNS name too long");
		out[o] = '\0';
	}
	*off = end ? end : pos;
	return 0;
}

static int read_caa(const uint8_t *rd, size_t rdlen, struct caa_record *caa, struct cd_err *err)
{
	size_t tl, vl;

	if (rdlen < 2)
		return cd_err_set(err, CD_EINVAL, false, "CAA record too short");
	caa->flags = rd[0];
	tl = rd[1];
	if (tl == 0 || 2 + tl > rdlen)
		return cd_err_set(err, CD_EINVAL, false, "CAA tag length %zu is wrong", tl);
	for (size_t i = 0; i < tl; i++)
		if (!isalnum(rd[2 + i]))
			return cd_err_set(err, CD_EINVAL, false, "CAA tag is not alphanumeric");
	memcpy(caa->tag, rd + 2, tl);
	caa->tag[tl] = '\0';
	vl = rdlen - 2 - tl;
	if (vl > CAA_VALUE_MAX)
		return cd_err_set(err, CD_EINVAL, false, "CAA value longer than %d bytes",
				  CAA_VALUE_MAX);
	for (size_t i = 0; i < vl; i++) {
		uint8_t c = rd[2 + tl + i];

		if (c < 0x20 || c > 0x7e) /* kept printable: it ends up in messages */
			return cd_err_set(err, CD_EINVAL, false, "CAA value has a control byte");
	}
	memcpy(caa->value, rd + 2 + tl, vl);
	caa->value[vl] = '\0';
	return 0;
}

int dns_answer_parse(const uint8_t *msg, size_t len, struct dns_answer *out, struct cd_err *err)
{
	size_t off = 12;
	unsigned qd, an;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < 12)
		return cd_err_set(err, CD_EINVAL, false, "DNS message shorter than its header");
	out->rcode = msg[3] & 0x0f;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (unsigned i = 0; i < qd; i++) {
		rc = read_name(msg, len, &off, NULL, 0, err);
		if (rc)
			return rc;
		if (off + 4 > len)
			return cd_err_set(err, CD_EINVAL, false, "DNS question truncated");
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		struct dns_rr *rr = out->n < DNSMSG_MAX_RR ? &out->rr[out->n] : NULL;
		char owner[256];
		uint16_t type, rdlen;
		const uint8_t *rd;

		rc = read_name(msg, len, &off, owner, sizeof(owner), err);
		if (rc)
			return rc;
		if (off + 10 > len)
			return cd_err_set(err, CD_EINVAL, false, "DNS record header truncated");
		type = get16(msg + off);
		rdlen = get16(msg + off + 8);
		off += 10;
		if (off + rdlen > len)
			return cd_err_set(err, CD_EINVAL, false, "DNS record data truncated");
		rd = msg + off;
		if (!rr)
			return cd_err_set(err, CD_ELIMIT, false, "more than %d DNS records",
					  DNSMSG_MAX_RR);
		memset(rr, 0, sizeof(*rr));
		rr->type = type;
		memcpy(rr->owner, owner, sizeof(owner));
		switch (type) {
		case DNS_T_A:
			if (rdlen != 4 || !inet_ntop(AF_INET, rd, rr->u.addr, sizeof(rr->u.addr)))
				return cd_err_set(err, CD_EINVAL, false, "A record of %u bytes",
						  rdlen);
			out->n++;
			break;
		case DNS_T_AAAA:
			if (rdlen != 16 || !inet_ntop(AF_INET6, rd, rr->u.addr, sizeof(rr->u.addr)))
				return cd_err_set(err, CD_EINVAL, false, "AAAA record of %u bytes",
						  rdlen);
			out->n++;
			break;
		case DNS_T_CNAME: {
			size_t t = off;

			rc = read_name(msg, off + rdlen, &t, rr->u.target, sizeof(rr->u.target),
				       err);
			if (rc)
				return rc;
			out->n++;
			break;
		}
		case DNS_T_CAA:
			rc = read_caa(rd, rdlen, &rr->u.caa, err);
			if (rc)
				return rc;
			out->n++;
			break;
		default:
			break;
		}
		off += rdlen;
	}
	return 0;
}
