/*
 * api.c - /api/v1 for the provider's own control panel: a member's bearer
 * token (only its SHA-256 is stored) authorizes exactly what the member's
 * pages do: list certificates with status and reasons, create a reissue
 * (Idempotency-Key makes a retry the same order), read an order.
 */
#include <stdio.h>
#include <string.h>

#include "util/cdtime.h"
#include "util/log.h"
#include "web/web_priv.h"

static json_t *time_json(int64_t t)
{
	char buf[21];

	if (!t)
		return json_null();
	cd_time_format_utc(t, buf);
	return json_string(buf);
}

static int each_cert(const struct store_cert_view *v, void *arg)
{
	json_t *arr = arg, *o = json_object(), *reasons = json_array();
	struct eligibility e;

	eligibility_of(&v->facts, &e);
	for (unsigned bit = 1; bit <= REASON_ALL_MASK; bit <<= 1)
		if (e.reasons & bit)
			json_array_append_new(reasons, json_string(cert_reason_name(bit)));
	json_object_set_new(o, "certificate_id", json_string(v->certificate_id));
	json_object_set_new(o, "common_name", json_string(v->common_name));
	json_object_set_new(o, "product", json_string(v->product));
	json_object_set_new(o, "server", v->server[0] ? json_string(v->server) : json_null());
	json_object_set_new(o, "not_before", time_json(v->not_before));
	json_object_set_new(o, "not_after", time_json(v->not_after));
	json_object_set_new(o, "status", json_string(cert_status_name(e.status)));
	json_object_set_new(o, "reason",
			    e.status == CERT_STATUS_IMPOSSIBLE
				? json_string(cert_reason_name(e.reason))
				: json_null());
	json_object_set_new(o, "reasons", reasons);
	json_object_set_new(o, "stage",
			    e.status == CERT_STATUS_IN_PROGRESS
				? json_string(order_state_name(e.stage))
				: json_null());
	json_object_set_new(o, "order_id",
			    v->open_order_id ? json_integer(v->open_order_id) : json_null());
	json_object_set_new(o, "last_failure",
			    e.last_failure != FAILURE_NONE
				? json_string(failure_code_name(e.last_failure))
				: json_null());
	json_array_append_new(arr, o);
	return 0;
}

static int each_event(const struct store_event *e, void *arg)
{
	if (e->to_state)
		json_array_append_new(
		    arg, json_pack("{ss so}", "state", e->to_state, "at", time_json(e->at)));
	return 0;
}

static enum MHD_Result api_order(struct req *r, int64_t id)
{
	struct store_web_order o;
	struct cd_err err = { 0 };
	json_t *stages;
	int rc = store_web_order_get(r->st, id, &o, &err);

	if (rc == -CD_ENOTFOUND || (rc == 0 && strcmp(o.member_id, r->member_id) != 0))
		return web_reply_error(r, 404);
	if (rc || !(stages = json_array()))
		return web_reply_error(r, 500);
	if (store_events_each(r->st, NULL, id, each_event, stages, &err) != 0) {
		json_decref(stages);
		return web_reply_error(r, 500);
	}
	return web_reply_json(
	    r, 200,
	    json_pack("{sI ss ss ss so so sb so so}", "order_id", (json_int_t)o.order_id,
		      "certificate_id", o.certificate_id, "common_name", o.common_name, "state",
		      o.state, "failure", o.failure[0] ? json_string(o.failure) : json_null(),
		      "failure_retryable",
		      o.failure[0] ? json_boolean(o.failure_retryable) : json_null(),
		      "revocation_pending", o.revocation_pending, "stages", stages, "new_not_after",
		      time_json(o.new_not_after)));
}

/* When the certificate has an open order made with this request's key (a retry,
 * or a concurrent twin of this request that got there first), its id. */
static bool order_of_key(struct req *r, const char *cert_id, const char *key, const char *actor,
			 int64_t *order_id, enum order_state *stage)
{
	struct store_cert_view v;
	struct eligibility e;
	struct cd_err err = { 0 };
	bool created;

	if (store_certificate_view(r->st, cert_id, r->now, &v, &err) != 0)
		return false;
	eligibility_of(&v.facts, &e);
	/* with an order open, this only finds the key's order: a new one would
	 * break the one-open-order index and is refused */
	if (e.status != CERT_STATUS_IN_PROGRESS ||
	    store_order_create(r->st, cert_id, e.campaign_id, actor, key, r->now, order_id,
			       &created, &err) != 0 ||
	    created)
		return false;
	*stage = e.stage;
	return true;
}

static enum MHD_Result api_reissue(struct req *r, const char *cert_id)
{
	struct store_cert_view v;
	struct eligibility e;
	struct cd_err err = { 0 };
	const char *idem = web_header(r, "Idempotency-Key");
	char key[200], actor[80], detail[512];
	enum failure_code fc;
	enum order_state stage;
	int64_t order_id;
	bool created;
	int rc;

	rc = store_certificate_view(r->st, cert_id, r->now, &v, &err);
	if (rc == -CD_ENOTFOUND || (rc == 0 && strcmp(v.member_id, r->member_id) != 0))
		return web_reply_error(r, 404);
	if (rc)
		return web_reply_error(r, 500);
	if (idem && (strlen(idem) == 0 || strlen(idem) > 100))
		return web_reply_error(r, 400);
	eligibility_of(&v.facts, &e);
	if (idem)
		snprintf(key, sizeof(key), "api:%s:%s", r->member_id, idem);
	snprintf(actor, sizeof(actor), "member:%s", r->member_id);
	/* a retry with the key of the request that made the open order: that order */
	if (e.status == CERT_STATUS_IN_PROGRESS && idem &&
	    store_order_create(r->st, cert_id, e.campaign_id, actor, key, r->now, &order_id,
			       &created, &err) == 0 &&
	    !created)
		return web_reply_json(r, 200,
				      json_pack("{sI ss sb}", "order_id", (json_int_t)order_id,
						"state", order_state_name(e.stage), "created", 0));
	if (e.status == CERT_STATUS_IN_PROGRESS)
		return web_reply_json(r, 409,
				      json_pack("{ss sI}", "error", "in_progress", "order_id",
						(json_int_t)v.open_order_id));
	if (e.status != CERT_STATUS_AVAILABLE)
		return web_reply_json(r, 409,
				      json_pack("{ss ss}", "error", "not_available", "status",
						cert_status_name(e.status)));
	rc = web_preflight_blocks(r, &v, &fc, detail);
	/* a concurrent twin passed its preflight and made the order: that order,
	 * not this one's error (a time-out under load) */
	if (rc != 0 && idem && order_of_key(r, cert_id, key, actor, &order_id, &stage))
		return web_reply_json(r, 200,
				      json_pack("{sI ss sb}", "order_id", (json_int_t)order_id,
						"state", order_state_name(stage), "created", 0));
	if (rc < 0)
		return web_reply_error(r, 503);
	if (rc > 0)
		return web_reply_json(r, 409,
				      json_pack("{ss ss ss}", "error", "preflight", "failure",
						failure_code_name(fc), "detail", detail));
	rc = store_order_create(r->st, cert_id, e.campaign_id, actor, idem ? key : NULL, r->now,
				&order_id, &created, &err);
	if (rc && idem && order_of_key(r, cert_id, key, actor, &order_id, &stage))
		return web_reply_json(r, 200,
				      json_pack("{sI ss sb}", "order_id", (json_int_t)order_id,
						"state", order_state_name(stage), "created", 0));
	if (rc == -CD_ECONFLICT)
		return web_reply_json(r, 409, json_pack("{ss}", "error", "in_progress"));
	if (rc) {
		cd_error("web: api order for %s: %s", cert_id, err.msg);
		return web_reply_error(r, 500);
	}
	if (created)
		atomic_fetch_add(&r->w->orders_created, 1);
	return web_reply_json(r, created ? 201 : 200,
			      json_pack("{sI ss sb}", "order_id", (json_int_t)order_id, "state",
					"queued", "created", created));
}

/* The member of the bearer token, or 401. */
static bool authorize(struct req *r)
{
	const char *a = web_header(r, "Authorization");
	char hash[WEB_HASH_HEX];
	struct cd_err err = { 0 };

	if (!a || strncmp(a, "Bearer ", 7) != 0 || strlen(a + 7) < 20 || strlen(a + 7) > 200)
		return false;
	if (!web_store(r))
		return false;
	web_sha256_hex(a + 7, hash);
	if (store_web_token_member(r->st, hash, r->now, r->member_id, &err) != 0)
		return false;
	r->authed = true;
	return true;
}

enum MHD_Result web_api(struct req *r, const char *path)
{
	bool get = strcmp(r->method, "GET") == 0;
	struct cd_err err = { 0 };
	int64_t id;

	if (strncmp(path, "/v1/", 4) != 0)
		return web_reply_error(r, 404);
	path += 3;
	if (!authorize(r)) {
		if (!r->st && web_header(r, "Authorization"))
			return web_reply_error(r, 500);
		return web_reply_error(r, 401);
	}
	if (strcmp(path, "/certificates") == 0) {
		json_t *arr = json_array();

		if (!get) {
			json_decref(arr);
			return web_reply_error(r, 405);
		}
		if (store_member_certificates(r->st, r->member_id, r->now, each_cert, arr, &err)) {
			json_decref(arr);
			return web_reply_error(r, 500);
		}
		return web_reply_json(r, 200, json_pack("{so}", "certificates", arr));
	}
	if (strncmp(path, "/certificates/", 14) == 0) {
		char id_s[80];
		const char *rest = path + 14, *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : 0;

		if (!slash || strcmp(slash, "/reissue") != 0 || n == 0 || n >= sizeof(id_s))
			return web_reply_error(r, 404);
		memcpy(id_s, rest, n);
		id_s[n] = '\0';
		if (!web_id_ok(id_s))
			return web_reply_error(r, 404);
		if (!r->is_post)
			return web_reply_error(r, 405);
		return api_reissue(r, id_s);
	}
	if (strncmp(path, "/orders/", 8) == 0) {
		if (!web_order_id_parse(path + 8, &id))
			return web_reply_error(r, 404);
		if (!get)
			return web_reply_error(r, 405);
		return api_order(r, id);
	}
	return web_reply_error(r, 404);
}
