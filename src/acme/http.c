/*
 * http.c - HTTPS to the CA with libcurl: a pool of easy handles per client, so
 * each thread's request reuses a kept-alive TLS connection; the CA's
 * certificate is always verified (ca_file, else the system's store); answers
 * are bounded (ACME_BODY_MAX) and the headers ACME needs are captured.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acme/acme_priv.h"

void acme_sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

void acme_resp_free(struct acme_resp *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct acme_resp *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->len + len > ACME_BODY_MAX) {
		r->overflow = true;
		return 0; /* aborts the transfer */
	}
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* Copies the value of a header line "Name: value\r\n" when it is `name`. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	v = line + nl + 1;
	vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (vl >= outsz) {
		out[0] = '\0'; /* too long: as if absent (the parsers refuse "") */
		return true;
	}
	memcpy(out, v, vl);
	out[vl] = '\0';
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct acme_resp *r = arg;
	size_t len = size * n;
	char link[sizeof(r->links[0])];

	/* a new status line (after a 100 Continue or a redirect) starts afresh */
	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		r->content_type[0] = r->location[0] = r->nonce[0] = r->retry_after[0] = '\0';
		r->n_links = 0;
		return len;
	}
	if (header_value(p, len, "Content-Type", r->content_type, sizeof(r->content_type)) ||
	    header_value(p, len, "Location", r->location, sizeof(r->location)) ||
	    header_value(p, len, "Replay-Nonce", r->nonce, sizeof(r->nonce)) ||
	    header_value(p, len, "Retry-After", r->retry_after, sizeof(r->retry_after)))
		return len;
	if (header_value(p, len, "Link", link, sizeof(link)) && link[0] &&
	    r->n_links < ACME_MAX_LINKS)
		strcpy(r->links[r->n_links++], link);
	return len;
}

static CURL *handle_get(acme_client_t *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n_handles > 0)
		h = c->handles[--c->n_handles];
	pthread_mutex_unlock(&c->lock);
	if (!h)
		h = curl_easy_init();
	return h;
}

static void handle_put(acme_client_t *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_handles < ACME_HANDLE_POOL) {
		c->handles[c->n_handles++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

int acme_http(acme_client_t *c, const char *method, const char *url, const char *body,
	      const char *accept, struct acme_resp *r, struct cd_err *err)
{
	struct curl_slist *hdrs = NULL;
	char acc[160];
	CURLcode cc;
	CURL *h;
	int rc;

	memset(r, 0, sizeof(*r));
	if (strncmp(url, "https://", 8) != 0)
		return cd_err_set(err, CD_EINVAL, false, "CA URL '%s' is not https", url);
	if (!(h = handle_get(c)))
		return cd_err_set(err, CD_ENOMEM, false, "out of memory (curl)");
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca.ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca.ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->set.http_timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->set.http_timeout_s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "certdesk/" CERTDESK_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	snprintf(acc, sizeof(acc), "Accept: %s", accept ? accept : "application/json");
	hdrs = curl_slist_append(hdrs, acc);
	hdrs = curl_slist_append(hdrs, "Accept-Language: en");
	if (strcmp(method, "POST") == 0) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (r->overflow)
			rc = cd_err_set(err, CD_EPEER, true, "%s %s: the answer exceeds %d bytes",
					method, url, ACME_BODY_MAX);
		else
			rc = cd_err_set(err, CD_EIO, true, "%s %s: %s", method, url,
					curl_easy_strerror(cc));
		acme_resp_free(r);
		/* a handle whose transfer failed may hold a broken connection */
		curl_easy_cleanup(h);
		h = NULL;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (!r->body && !(r->body = calloc(1, 1))) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	if (h)
		handle_put(c, h);
	return rc;
}
