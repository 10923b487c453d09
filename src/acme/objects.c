/*
 * objects.c - the JSON objects an ACME server sends (RFC 8555 §7.1): directory,
 * order, authorization with its http-01 challenge, problem document. Parsing is
 * strict about types and bounded in sizes; unknown members are ignored.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme/acme_priv.h"
#include "util/cdtime.h"

static const char *const status_names[] = {
	[ACME_STATUS_UNKNOWN] = "unknown", [ACME_STATUS_PENDING] = "pending",
	[ACME_STATUS_READY] = "ready",	   [ACME_STATUS_PROCESSING] = "processing",
	[ACME_STATUS_VALID] = "valid",	   [ACME_STATUS_INVALID] = "invalid",
	[ACME_STATUS_EXPIRED] = "expired", [ACME_STATUS_DEACTIVATED] = "deactivated",
	[ACME_STATUS_REVOKED] = "revoked",
};

const char *acme_status_name(enum acme_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

static enum acme_status status_of(const char *s)
{
	for (size_t i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum acme_status)i;
	return ACME_STATUS_UNKNOWN;
}

static json_t *load(const char *text, size_t len, const char *what, struct cd_err *err)
{
	json_error_t je;
	json_t *j;

	if (len > ACME_BODY_MAX) {
		cd_err_set(err, CD_EPEER, true, "the CA's %s is too large", what);
		return NULL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		cd_err_set(err, CD_EPEER, true, "the CA's %s is not JSON (%s)", what, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		cd_err_set(err, CD_EPEER, true, "the CA's %s is not a JSON object", what);
		return NULL;
	}
	return j;
}

/* Copies a string member; absent is fine when !required. */
static int get_str(json_t *o, const char *key, char *out, size_t outsz, bool required,
		   const char *what, struct cd_err *err)
{
	json_t *v = json_object_get(o, key);

	out[0] = '\0';
	if (!v) {
		if (required)
			return cd_err_set(err, CD_EPEER, true, "the CA's %s has no '%s'", what,
					  key);
		return 0;
	}
	if (!json_is_string(v))
		return cd_err_set(err, CD_EPEER, true, "the CA's %s: '%s' is not a string", what,
				  key);
	if (json_string_length(v) >= outsz || strlen(json_string_value(v)) != json_string_length(v))
		return cd_err_set(err, CD_EPEER, true, "the CA's %s: '%s' is too long or has NUL",
				  what, key);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_url(json_t *o, const char *key, char *out, bool required, const char *what,
		   struct cd_err *err)
{
	int rc = get_str(o, key, out, ACME_URL_MAX, required, what, err);

	if (rc == 0 && (out[0] || required) && acme_location_valid(out) != 0)
		return cd_err_set(err, CD_EPEER, true, "the CA's %s: '%s' is not a URL", what, key);
	return rc;
}

static void problem_from(json_t *o, struct acme_problem *p)
{
	json_t *st = json_object_get(o, "status");

	memset(p, 0, sizeof(*p));
	get_str(o, "type", p->type, sizeof(p->type), false, "problem", NULL);
	if (get_str(o, "detail", p->detail, sizeof(p->detail), false, "problem", NULL) != 0) {
		/* too long: keep the beginning */
		json_t *d = json_object_get(o, "detail");

		if (json_is_string(d))
			snprintf(p->detail, sizeof(p->detail), "%s", json_string_value(d));
	}
	/* control characters from a CA never reach a log line or a terminal */
	for (char *c = p->detail; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = ' ';
	for (char *c = p->type; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == ']')
			*c = '_';
	if (json_is_integer(st) && json_integer_value(st) >= 100 && json_integer_value(st) < 600)
		p->status = (int)json_integer_value(st);
}

int acme_problem_parse(const char *json, size_t len, struct acme_problem *out)
{
	json_t *j = load(json, len, "problem", NULL);

	memset(out, 0, sizeof(*out));
	if (!j)
		return -1;
	problem_from(j, out);
	json_decref(j);
	return out->type[0] ? 0 : -1;
}

static int get_status(json_t *o, enum acme_status *st, const char *what, struct cd_err *err)
{
	char s[32];
	int rc = get_str(o, "status", s, sizeof(s), true, what, err);

	if (rc)
		return rc;
	*st = status_of(s);
	if (*st == ACME_STATUS_UNKNOWN)
		return cd_err_set(err, CD_EPEER, true, "the CA's %s has an unknown status", what);
	return 0;
}

void acme_order_free(struct acme_order *o)
{
	if (!o)
		return;
	free(o->authz);
	o->authz = NULL;
	o->n_authz = 0;
}

int acme_order_parse(const char *json, size_t len, struct acme_order *out, struct cd_err *err)
{
	json_t *j = load(json, len, "order", err), *a, *e;
	char url[ACME_URL_MAX], exp[64];
	int rc;

	strcpy(url, out->url);
	acme_order_free(out);
	memset(out, 0, sizeof(*out));
	strcpy(out->url, url);
	if (!j)
		return -CD_EPEER;
	if ((rc = get_status(j, &out->status, "order", err)) ||
	    (rc = get_url(j, "finalize", out->finalize, true, "order", err)) ||
	    (rc = get_url(j, "certificate", out->certificate, false, "order", err)) ||
	    (rc = get_str(j, "expires", exp, sizeof(exp), false, "order", err)))
		goto out;
	if (exp[0] && cd_timestamp_parse(exp, &out->expires, NULL) != 0)
		out->expires = 0;
	a = json_object_get(j, "authorizations");
	if (!json_is_array(a) || json_array_size(a) > ACME_MAX_NAMES) {
		rc = cd_err_set(err, CD_EPEER, true, "the CA's order: bad 'authorizations'");
		goto out;
	}
	if (json_array_size(a)) {
		out->authz = calloc(json_array_size(a), sizeof(*out->authz));
		if (!out->authz) {
			rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);

		if (!json_is_string(v) || json_string_length(v) >= ACME_URL_MAX ||
		    acme_location_valid(json_string_value(v)) != 0) {
			rc = cd_err_set(err, CD_EPEER, true,
					"the CA's order: bad authorization URL");
			goto out;
		}
		strcpy(out->authz[out->n_authz++], json_string_value(v));
	}
	e = json_object_get(j, "error");
	if (json_is_object(e))
		problem_from(e, &out->error);
	if (out->status == ACME_STATUS_VALID && !out->certificate[0]) {
		rc = cd_err_set(err, CD_EPEER, true,
				"the CA's order is valid without a certificate");
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	if (rc)
		acme_order_free(out);
	return rc;
}

int acme_authz_parse(const char *json, size_t len, struct acme_authz *out, struct cd_err *err)
{
	json_t *j = load(json, len, "authorization", err), *id, *ch;
	char url[ACME_URL_MAX], type[32];
	int rc;

	strcpy(url, out->url);
	memset(out, 0, sizeof(*out));
	strcpy(out->url, url);
	if (!j)
		return -CD_EPEER;
	if ((rc = get_status(j, &out->status, "authorization", err)))
		goto out;
	id = json_object_get(j, "identifier");
	if (!json_is_object(id) ||
	    (rc = get_str(id, "type", type, sizeof(type), true, "authorization", err)) ||
	    (rc = get_str(id, "value", out->identifier, sizeof(out->identifier), true,
			  "authorization", err))) {
		if (!rc)
			rc = cd_err_set(err, CD_EPEER, true,
					"the CA's authorization: no identifier");
		goto out;
	}
	ch = json_object_get(j, "challenges");
	if (!json_is_array(ch) || json_array_size(ch) > 16) {
		rc = cd_err_set(err, CD_EPEER, true, "the CA's authorization: bad 'challenges'");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(ch); i++) {
		json_t *c = json_array_get(ch, i), *e;
		char ctype[32];

		if (!json_is_object(c) ||
		    get_str(c, "type", ctype, sizeof(ctype), true, "challenge", NULL) != 0 ||
		    strcmp(ctype, "http-01") != 0)
			continue;
		if ((rc = get_url(c, "url", out->http01_url, true, "challenge", err)) ||
		    (rc = get_str(c, "token", out->http01_token, sizeof(out->http01_token), true,
				  "challenge", err)) ||
		    (rc = get_status(c, &out->http01_status, "challenge", err)))
			goto out;
		/* a token is base64url (RFC 8555 §8.3): it goes into a file name and a URL */
		if (acme_nonce_valid(out->http01_token) != 0) {
			rc = cd_err_set(err, CD_EPEER, true,
					"the CA's challenge token is not base64url");
			goto out;
		}
		e = json_object_get(c, "error");
		if (json_is_object(e))
			problem_from(e, &out->error);
		out->has_http01 = true;
		break;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int acme_directory_parse(const char *json, size_t len, struct acme_directory *out,
			 struct cd_err *err)
{
	json_t *j = load(json, len, "directory", err), *meta;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!j)
		return -CD_EPEER;
	if ((rc = get_url(j, "newNonce", out->new_nonce, true, "directory", err)) ||
	    (rc = get_url(j, "newAccount", out->new_account, true, "directory", err)) ||
	    (rc = get_url(j, "newOrder", out->new_order, true, "directory", err)) ||
	    (rc = get_url(j, "revokeCert", out->revoke_cert, false, "directory", err)) ||
	    (rc = get_url(j, "keyChange", out->key_change, false, "directory", err)))
		goto out;
	meta = json_object_get(j, "meta");
	if (json_is_object(meta))
		out->eab_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
out:
	json_decref(j);
	return rc;
}
