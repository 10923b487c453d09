/*
 * eligibility.c - a certificate's status and reasons (DESIGN.md §3.1).
 *
 * One pure function over facts the store gathered; the rules are applied in
 * the order of eligibility.h, first match wins, and `reasons` collects every
 * reason that applies so the details can list them all. Reasons are computed
 * only for affected certificates (available or impossible): for in_progress
 * and not_needed there is nothing to explain, so they carry none.
 */
#include "core/eligibility.h"

#include <string.h>

/* The live campaign target with the earliest deadline (ties: lower id), or
 * NULL when every target was already reissued or there is none. */
static const struct campaign_target *counting_target(const struct cert_facts *f)
{
	const struct campaign_target *best = NULL;

	if (!f->targets)
		return NULL;
	for (size_t i = 0; i < f->n_targets; i++) {
		const struct campaign_target *t = &f->targets[i];

		if (t->reissued)
			continue;
		if (!best || t->deadline < best->deadline ||
		    (t->deadline == best->deadline && t->campaign_id < best->campaign_id))
			best = t;
	}
	return best;
}

static bool server_or_site_unusable(const struct cert_facts *f)
{
	return !f->site_known || f->site_state != SITE_OK || !f->server_known ||
	       f->server_state != SERVER_OK;
}

/* Every reason that applies to an affected RS certificate. */
static unsigned rs_reasons(const struct cert_facts *f)
{
	unsigned r = 0;

	if (server_or_site_unusable(f))
		r |= REASON_SERVER_PROBLEM;
	if (f->installed == INSTALLED_FOREIGN)
		r |= REASON_FOREIGN_CERTIFICATE;
	if (f->pending_setting)
		r |= REASON_NEW_SETTING;
	if (f->last_failure != FAILURE_NONE && !f->last_failure_retryable)
		r |= REASON_ORDER_FAILED;
	return r;
}

/* The first reason in rule order (3, 4, 5, then the failed order). */
static enum cert_reason first_reason(unsigned reasons)
{
	static const enum cert_reason order[] = {
		REASON_CSR_REQUIRED, REASON_SERVER_PROBLEM, REASON_FOREIGN_CERTIFICATE,
		REASON_NEW_SETTING,  REASON_ORDER_FAILED,
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (reasons & order[i])
			return order[i];
	return REASON_NONE;
}

void eligibility_of(const struct cert_facts *f, struct eligibility *out)
{
	const struct campaign_target *target = counting_target(f);

	memset(out, 0, sizeof(*out));
	out->status = CERT_STATUS_NOT_NEEDED;
	out->reason = REASON_NONE;
	out->stage = ORDER_QUEUED;
	out->last_failure = FAILURE_NONE;
	/* The campaign is shown whatever the status (an order in progress
	 * still counts towards its campaign's deadline). */
	if (target) {
		out->campaign_id = target->campaign_id;
		out->deadline = target->deadline;
	}

	/* 1. an open order */
	if (f->open_order) {
		out->status = CERT_STATUS_IN_PROGRESS;
		out->stage = f->open_state;
		return;
	}
	/* 2. no live campaign target */
	if (!target)
		return;
	/* Plain products: reissued by the customer with a CSR; the server,
	 * site and installation facts describe RS installations only. */
	if (f->family == PRODUCT_PLAIN) {
		out->status = CERT_STATUS_IMPOSSIBLE;
		out->reasons = REASON_CSR_REQUIRED;
		out->reason = REASON_CSR_REQUIRED;
		return;
	}
	/* 3.-5. and a failed order a retry cannot help */
	out->reasons = rs_reasons(f);
	out->reason = first_reason(out->reasons);
	out->status = out->reasons ? CERT_STATUS_IMPOSSIBLE : CERT_STATUS_AVAILABLE;
	if (f->last_failure != FAILURE_NONE) {
		out->last_failure = f->last_failure;
		out->last_failure_retryable = f->last_failure_retryable;
	}
}

static const char *const status_names[CERT_STATUS_COUNT] = {
	[CERT_STATUS_AVAILABLE] = "available",
	[CERT_STATUS_NOT_NEEDED] = "not_needed",
	[CERT_STATUS_IN_PROGRESS] = "in_progress",
	[CERT_STATUS_IMPOSSIBLE] = "impossible",
};

const char *cert_status_name(enum cert_status s)
{
	return (int)s >= 0 && s < CERT_STATUS_COUNT ? status_names[s] : "unknown";
}

const char *cert_reason_name(enum cert_reason r)
{
	switch (r) {
	case REASON_SERVER_PROBLEM:
		return "server_problem";
	case REASON_FOREIGN_CERTIFICATE:
		return "foreign_certificate_installed";
	case REASON_NEW_SETTING:
		return "new_setting_exists";
	case REASON_ORDER_FAILED:
		return "order_failed";
	case REASON_CSR_REQUIRED:
		return "csr_required";
	case REASON_NONE:
		break;
	}
	return NULL;
}

static const char *const server_names[SERVER_STATE_COUNT] = {
	[SERVER_OK] = "ok",
	[SERVER_MAINTENANCE] = "maintenance",
	[SERVER_BROKEN] = "broken",
};

static const char *const site_names[SITE_STATE_COUNT] = {
	[SITE_OK] = "ok",
	[SITE_SUSPENDED] = "suspended",
	[SITE_DELETED] = "deleted",
};

/* Index of name in names[0..n), or -1. */
static int find_name(const char *const *names, int n, const char *name)
{
	if (name)
		for (int i = 0; i < n; i++)
			if (strcmp(names[i], name) == 0)
				return i;
	return -1;
}

const char *server_state_name(enum server_state s)
{
	return (int)s >= 0 && s < SERVER_STATE_COUNT ? server_names[s] : "unknown";
}

int server_state_parse(const char *name, enum server_state *out, struct cd_err *err)
{
	int i = find_name(server_names, SERVER_STATE_COUNT, name);

	if (i < 0)
		return cd_err_set(err, CD_EINVAL, false,
				  "'%.60s' is not a server state (ok, maintenance, broken)",
				  name ? name : "(null)");
	*out = (enum server_state)i;
	return 0;
}

const char *site_state_name(enum site_state s)
{
	return (int)s >= 0 && s < SITE_STATE_COUNT ? site_names[s] : "unknown";
}

int site_state_parse(const char *name, enum site_state *out, struct cd_err *err)
{
	int i = find_name(site_names, SITE_STATE_COUNT, name);

	if (i < 0)
		return cd_err_set(err, CD_EINVAL, false,
				  "'%.60s' is not a site state (ok, suspended, deleted)",
				  name ? name : "(null)");
	*out = (enum site_state)i;
	return 0;
}
