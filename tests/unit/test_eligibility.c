/*
 * test_eligibility.c - status and reasons (DESIGN.md §3.1): every rule alone,
 * the pairs of rules that meet, campaigns, what a failed order leaves, and an
 * exhaustive run over the product of all facts against a reference written
 * independently of eligibility.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/eligibility.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define DEADLINE_A 1790000000 /* 2026-09-21 */
#define DEADLINE_B 1780000000 /* 2026-05-28, earlier */

/*
 * The facts of a case, as differences from a healthy, affected RS
 * certificate: site and server known and ok, nothing foreign, no pending
 * setting, no failure, targeted by campaign 1 (DEADLINE_A) not yet reissued.
 */
struct given {
	bool plain;
	bool open;
	enum order_state open_state;
	bool untargeted;  /* no campaign target at all */
	size_t n_targets; /* > 0: these targets instead of the default */
	struct campaign_target targets[3];
	bool no_site, no_server;
	enum site_state site;
	enum server_state server;
	enum installed_state installed;
	bool pending;
	enum failure_code failure;
	bool retryable;
};

struct want {
	enum cert_status status;
	enum cert_reason reason;
	unsigned reasons;
	enum order_state stage;
	int64_t campaign_id;
	int64_t deadline;
	enum failure_code failure;
	bool retryable;
};

struct ecase {
	const char *name;
	struct given g;
	struct want w;
};

#define AVAILABLE   .status = CERT_STATUS_AVAILABLE
#define NOT_NEEDED  .status = CERT_STATUS_NOT_NEEDED
#define IN_PROGRESS .status = CERT_STATUS_IN_PROGRESS
#define IMPOSSIBLE  .status = CERT_STATUS_IMPOSSIBLE
#define CAMPAIGN_1  .campaign_id = 1, .deadline = DEADLINE_A
#define SRV	    REASON_SERVER_PROBLEM
#define FOR	    REASON_FOREIGN_CERTIFICATE
#define NEW	    REASON_NEW_SETTING
#define ORD	    REASON_ORDER_FAILED
#define CSR	    REASON_CSR_REQUIRED

static struct ecase cases[] = {
	/* --- each rule alone --- */
	{ "healthy affected RS -> available", { 0 }, { AVAILABLE, CAMPAIGN_1 } },
	{ "rule 1: open order queued -> in_progress",
	  { .open = true, .open_state = ORDER_QUEUED },
	  { IN_PROGRESS, .stage = ORDER_QUEUED, CAMPAIGN_1 } },
	{ "rule 1: open order validating -> in_progress (stage)",
	  { .open = true, .open_state = ORDER_VALIDATING },
	  { IN_PROGRESS, .stage = ORDER_VALIDATING, CAMPAIGN_1 } },
	{ "rule 1: open order notified -> in_progress (stage)",
	  { .open = true, .open_state = ORDER_NOTIFIED },
	  { IN_PROGRESS, .stage = ORDER_NOTIFIED, CAMPAIGN_1 } },
	{ "rule 1: open order old_revoked -> in_progress (stage)",
	  { .open = true, .open_state = ORDER_OLD_REVOKED },
	  { IN_PROGRESS, .stage = ORDER_OLD_REVOKED, CAMPAIGN_1 } },
	{ "rule 2: not targeted -> not_needed", { .untargeted = true }, { NOT_NEEDED } },
	{ "rule 2: targeted but already reissued -> not_needed",
	  { .n_targets = 1, .targets = { { 1, DEADLINE_A, true } } },
	  { NOT_NEEDED } },
	{ "rule 3: server maintenance -> impossible/server_problem",
	  { .server = SERVER_MAINTENANCE },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 3: server broken -> impossible/server_problem",
	  { .server = SERVER_BROKEN },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 3: server unknown -> impossible/server_problem",
	  { .no_server = true },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 3: site suspended -> impossible/server_problem",
	  { .site = SITE_SUSPENDED },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 3: site deleted -> impossible/server_problem",
	  { .site = SITE_DELETED },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 3: site unknown -> impossible/server_problem",
	  { .no_site = true },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 3: site and server both bad -> one server_problem bit",
	  { .site = SITE_SUSPENDED, .server = SERVER_BROKEN },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1 } },
	{ "rule 4: foreign certificate -> impossible/foreign",
	  { .installed = INSTALLED_FOREIGN },
	  { IMPOSSIBLE, .reason = FOR, .reasons = FOR, CAMPAIGN_1 } },
	{ "rule 4: this certificate installed -> available",
	  { .installed = INSTALLED_THIS },
	  { AVAILABLE, CAMPAIGN_1 } },
	{ "rule 4: nothing installed is not foreign -> available",
	  { .installed = INSTALLED_NONE },
	  { AVAILABLE, CAMPAIGN_1 } },
	{ "rule 5: pending new setting -> impossible/new_setting",
	  { .pending = true },
	  { IMPOSSIBLE, .reason = NEW, .reasons = NEW, CAMPAIGN_1 } },
	{ "rule 6: plain product affected -> impossible/csr_required",
	  { .plain = true },
	  { IMPOSSIBLE, .reason = CSR, .reasons = CSR, CAMPAIGN_1 } },

	/* --- what a failed order leaves --- */
	{ "failed retryable (dns_not_pointing) -> available, failure shown",
	  { .failure = FAILURE_DNS_NOT_POINTING, .retryable = true },
	  { AVAILABLE, CAMPAIGN_1, .failure = FAILURE_DNS_NOT_POINTING, .retryable = true } },
	{ "failed retryable (ca_error) -> available, failure shown",
	  { .failure = FAILURE_CA_ERROR, .retryable = true },
	  { AVAILABLE, CAMPAIGN_1, .failure = FAILURE_CA_ERROR, .retryable = true } },
	{ "failed retryable (install_failed) -> available, failure shown",
	  { .failure = FAILURE_INSTALL_FAILED, .retryable = true },
	  { AVAILABLE, CAMPAIGN_1, .failure = FAILURE_INSTALL_FAILED, .retryable = true } },
	{ "failed not retryable (ca_rejected) -> impossible/order_failed",
	  { .failure = FAILURE_CA_REJECTED, .retryable = false },
	  { IMPOSSIBLE, .reason = ORD, .reasons = ORD, CAMPAIGN_1,
	    .failure = FAILURE_CA_REJECTED } },
	{ "failed not retryable (foreign appeared) -> impossible/order_failed",
	  { .failure = FAILURE_FOREIGN_CERT, .retryable = false },
	  { IMPOSSIBLE, .reason = ORD, .reasons = ORD, CAMPAIGN_1,
	    .failure = FAILURE_FOREIGN_CERT } },
	{ "the stage's retryable flag wins over the default (internal, not retryable)",
	  { .failure = FAILURE_INTERNAL, .retryable = false },
	  { IMPOSSIBLE, .reason = ORD, .reasons = ORD, CAMPAIGN_1, .failure = FAILURE_INTERNAL } },
	{ "the stage's retryable flag wins over the default (ca_rejected, retryable)",
	  { .failure = FAILURE_CA_REJECTED, .retryable = true },
	  { AVAILABLE, CAMPAIGN_1, .failure = FAILURE_CA_REJECTED, .retryable = true } },
	{ "no failure with a stray retryable flag shows nothing",
	  { .retryable = true },
	  { AVAILABLE, CAMPAIGN_1 } },

	/* --- rule 1 meets the others --- */
	{ "open order + server broken -> in_progress",
	  { .open = true, .open_state = ORDER_INSTALLED, .server = SERVER_BROKEN },
	  { IN_PROGRESS, .stage = ORDER_INSTALLED, CAMPAIGN_1 } },
	{ "open order + foreign -> in_progress",
	  { .open = true, .open_state = ORDER_ORDERED, .installed = INSTALLED_FOREIGN },
	  { IN_PROGRESS, .stage = ORDER_ORDERED, CAMPAIGN_1 } },
	{ "open order + new setting -> in_progress",
	  { .open = true, .open_state = ORDER_PREFLIGHT, .pending = true },
	  { IN_PROGRESS, .stage = ORDER_PREFLIGHT, CAMPAIGN_1 } },
	{ "open order + earlier non-retryable failure -> in_progress, no failure shown",
	  { .open = true, .open_state = ORDER_KEY_READY, .failure = FAILURE_CA_REJECTED },
	  { IN_PROGRESS, .stage = ORDER_KEY_READY, CAMPAIGN_1 } },
	{ "open order + not targeted (operator reissue) -> in_progress",
	  { .open = true, .open_state = ORDER_LIVE, .untargeted = true },
	  { IN_PROGRESS, .stage = ORDER_LIVE } },
	{ "open order + already reissued -> in_progress",
	  { .open = true,
	    .open_state = ORDER_FINALIZING,
	    .n_targets = 1,
	    .targets = { { 1, DEADLINE_A, true } } },
	  { IN_PROGRESS, .stage = ORDER_FINALIZING } },
	{ "open order + every blocker -> in_progress, no reasons",
	  { .open = true,
	    .open_state = ORDER_ISSUED,
	    .server = SERVER_BROKEN,
	    .installed = INSTALLED_FOREIGN,
	    .pending = true,
	    .failure = FAILURE_CA_REJECTED },
	  { IN_PROGRESS, .stage = ORDER_ISSUED, CAMPAIGN_1 } },

	/* --- rule 2 meets the others --- */
	{ "not targeted + foreign -> not_needed",
	  { .untargeted = true, .installed = INSTALLED_FOREIGN },
	  { NOT_NEEDED } },
	{ "not targeted + server broken -> not_needed",
	  { .untargeted = true, .server = SERVER_BROKEN },
	  { NOT_NEEDED } },
	{ "not targeted + site unknown -> not_needed",
	  { .untargeted = true, .no_site = true },
	  { NOT_NEEDED } },
	{ "not targeted + new setting -> not_needed",
	  { .untargeted = true, .pending = true },
	  { NOT_NEEDED } },
	{ "not targeted + non-retryable failure -> not_needed, no failure shown",
	  { .untargeted = true, .failure = FAILURE_CA_REJECTED },
	  { NOT_NEEDED } },
	{ "reissued + foreign -> not_needed",
	  { .n_targets = 1,
	    .targets = { { 1, DEADLINE_A, true } },
	    .installed = INSTALLED_FOREIGN },
	  { NOT_NEEDED } },
	{ "reissued + server maintenance -> not_needed",
	  { .n_targets = 1, .targets = { { 1, DEADLINE_A, true } }, .server = SERVER_MAINTENANCE },
	  { NOT_NEEDED } },

	/* --- rules 3, 4, 5 and the failed order meet --- */
	{ "server problem + foreign -> server_problem, both listed",
	  { .server = SERVER_BROKEN, .installed = INSTALLED_FOREIGN },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV | FOR, CAMPAIGN_1 } },
	{ "server problem + new setting -> server_problem, both listed",
	  { .site = SITE_SUSPENDED, .pending = true },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV | NEW, CAMPAIGN_1 } },
	{ "server problem + foreign + new setting -> server_problem, all three",
	  { .server = SERVER_MAINTENANCE, .installed = INSTALLED_FOREIGN, .pending = true },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV | FOR | NEW, CAMPAIGN_1 } },
	{ "foreign + new setting -> foreign first, both listed",
	  { .installed = INSTALLED_FOREIGN, .pending = true },
	  { IMPOSSIBLE, .reason = FOR, .reasons = FOR | NEW, CAMPAIGN_1 } },
	{ "new setting + retryable failure -> new_setting, failure shown",
	  { .pending = true, .failure = FAILURE_DNS_NOT_POINTING, .retryable = true },
	  { IMPOSSIBLE, .reason = NEW, .reasons = NEW, CAMPAIGN_1,
	    .failure = FAILURE_DNS_NOT_POINTING, .retryable = true } },
	{ "new setting + non-retryable failure -> new_setting, both listed",
	  { .pending = true, .failure = FAILURE_NEW_SETTING },
	  { IMPOSSIBLE, .reason = NEW, .reasons = NEW | ORD, CAMPAIGN_1,
	    .failure = FAILURE_NEW_SETTING } },
	{ "non-retryable failure + server problem -> server_problem, both listed",
	  { .server = SERVER_BROKEN, .failure = FAILURE_CA_REJECTED },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV | ORD, CAMPAIGN_1,
	    .failure = FAILURE_CA_REJECTED } },
	{ "retryable failure + server problem -> server_problem, failure shown",
	  { .no_server = true, .failure = FAILURE_SERVER_PROBLEM, .retryable = true },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV, CAMPAIGN_1,
	    .failure = FAILURE_SERVER_PROBLEM, .retryable = true } },
	{ "foreign + non-retryable failure -> foreign, both listed",
	  { .installed = INSTALLED_FOREIGN, .failure = FAILURE_FOREIGN_CERT },
	  { IMPOSSIBLE, .reason = FOR, .reasons = FOR | ORD, CAMPAIGN_1,
	    .failure = FAILURE_FOREIGN_CERT } },
	{ "all four blockers -> server_problem, all listed",
	  { .site = SITE_DELETED,
	    .installed = INSTALLED_FOREIGN,
	    .pending = true,
	    .failure = FAILURE_CA_REJECTED },
	  { IMPOSSIBLE, .reason = SRV, .reasons = SRV | FOR | NEW | ORD, CAMPAIGN_1,
	    .failure = FAILURE_CA_REJECTED } },

	/* --- plain products --- */
	{ "plain + server broken -> csr_required only",
	  { .plain = true, .server = SERVER_BROKEN },
	  { IMPOSSIBLE, .reason = CSR, .reasons = CSR, CAMPAIGN_1 } },
	{ "plain + site unknown (no rental site) -> csr_required only",
	  { .plain = true, .no_site = true, .no_server = true },
	  { IMPOSSIBLE, .reason = CSR, .reasons = CSR, CAMPAIGN_1 } },
	{ "plain + foreign + pending + failure -> csr_required only",
	  { .plain = true,
	    .installed = INSTALLED_FOREIGN,
	    .pending = true,
	    .failure = FAILURE_CA_REJECTED },
	  { IMPOSSIBLE, .reason = CSR, .reasons = CSR, CAMPAIGN_1 } },
	{ "plain not targeted -> not_needed",
	  { .plain = true, .untargeted = true },
	  { NOT_NEEDED } },
	{ "plain already reissued -> not_needed",
	  { .plain = true, .n_targets = 1, .targets = { { 1, DEADLINE_A, true } } },
	  { NOT_NEEDED } },
	{ "plain with an open order -> in_progress",
	  { .plain = true, .open = true, .open_state = ORDER_QUEUED },
	  { IN_PROGRESS, .stage = ORDER_QUEUED, CAMPAIGN_1 } },

	/* --- campaigns --- */
	{ "two campaigns: the earlier deadline counts (listed second)",
	  { .n_targets = 2, .targets = { { 7, DEADLINE_A, false }, { 9, DEADLINE_B, false } } },
	  { AVAILABLE, .campaign_id = 9, .deadline = DEADLINE_B } },
	{ "two campaigns: the earlier deadline counts (listed first)",
	  { .n_targets = 2, .targets = { { 9, DEADLINE_B, false }, { 7, DEADLINE_A, false } } },
	  { AVAILABLE, .campaign_id = 9, .deadline = DEADLINE_B } },
	{ "two campaigns: earlier one reissued -> the other counts",
	  { .n_targets = 2, .targets = { { 7, DEADLINE_A, false }, { 9, DEADLINE_B, true } } },
	  { AVAILABLE, .campaign_id = 7, .deadline = DEADLINE_A } },
	{ "two campaigns: both reissued -> not_needed, no campaign",
	  { .n_targets = 2, .targets = { { 7, DEADLINE_A, true }, { 9, DEADLINE_B, true } } },
	  { NOT_NEEDED } },
	{ "two campaigns: tie on deadline -> lower campaign id",
	  { .n_targets = 2, .targets = { { 12, DEADLINE_A, false }, { 5, DEADLINE_A, false } } },
	  { AVAILABLE, .campaign_id = 5, .deadline = DEADLINE_A } },
	{ "three campaigns: tie, lower id reissued -> next lower id",
	  { .n_targets = 3,
	    .targets = { { 12, DEADLINE_A, false },
			 { 5, DEADLINE_A, true },
			 { 8, DEADLINE_A, false } } },
	  { AVAILABLE, .campaign_id = 8, .deadline = DEADLINE_A } },
	{ "two campaigns + foreign -> impossible, earlier campaign",
	  { .n_targets = 2,
	    .targets = { { 7, DEADLINE_A, false }, { 9, DEADLINE_B, false } },
	    .installed = INSTALLED_FOREIGN },
	  { IMPOSSIBLE, .reason = FOR, .reasons = FOR, .campaign_id = 9, .deadline = DEADLINE_B } },
	{ "two campaigns + open order -> in_progress, earlier campaign",
	  { .open = true,
	    .open_state = ORDER_ORDERED,
	    .n_targets = 2,
	    .targets = { { 7, DEADLINE_A, false }, { 9, DEADLINE_B, false } } },
	  { IN_PROGRESS, .stage = ORDER_ORDERED, .campaign_id = 9, .deadline = DEADLINE_B } },
};

static void make_facts(const struct given *g, struct cert_facts *f)
{
	static const struct campaign_target default_target = { 1, DEADLINE_A, false };

	memset(f, 0, sizeof(*f));
	f->family = g->plain ? PRODUCT_PLAIN : PRODUCT_RS;
	f->open_order = g->open;
	f->open_state = g->open_state;
	if (g->n_targets) {
		f->targets = g->targets;
		f->n_targets = g->n_targets;
	} else if (!g->untargeted) {
		f->targets = &default_target;
		f->n_targets = 1;
	}
	f->site_known = !g->no_site;
	f->site_state = g->site;
	f->server_known = !g->no_server;
	f->server_state = g->server;
	f->installed = g->installed;
	f->pending_setting = g->pending;
	f->last_failure = g->failure;
	f->last_failure_retryable = g->retryable;
}

static void check(const char *name, const struct eligibility *e, const struct want *w)
{
	if (e->status != w->status)
		fail_msg("case '%s': status %s, want %s", name, cert_status_name(e->status),
			 cert_status_name(w->status));
	if (e->reason != w->reason)
		fail_msg("case '%s': reason %s, want %s", name,
			 cert_reason_name(e->reason) ? cert_reason_name(e->reason) : "none",
			 cert_reason_name(w->reason) ? cert_reason_name(w->reason) : "none");
	if (e->reasons != w->reasons)
		fail_msg("case '%s': reasons 0x%x, want 0x%x", name, e->reasons, w->reasons);
	if (w->status == CERT_STATUS_IN_PROGRESS && e->stage != w->stage)
		fail_msg("case '%s': stage %s, want %s", name, order_state_name(e->stage),
			 order_state_name(w->stage));
	if (e->campaign_id != w->campaign_id || e->deadline != w->deadline)
		fail_msg("case '%s': campaign %lld (deadline %lld), want %lld (%lld)", name,
			 (long long)e->campaign_id, (long long)e->deadline,
			 (long long)w->campaign_id, (long long)w->deadline);
	if (e->last_failure != w->failure || e->last_failure_retryable != w->retryable)
		fail_msg("case '%s': last failure %s/%d, want %s/%d", name,
			 failure_code_name(e->last_failure), e->last_failure_retryable,
			 failure_code_name(w->failure), w->retryable);
}

static void test_case(void **state)
{
	const struct ecase *c = *state;
	struct cert_facts f;
	struct eligibility e;

	make_facts(&c->g, &f);
	memset(&e, 0xa5, sizeof(e)); /* every field must be written */
	eligibility_of(&f, &e);
	check(c->name, &e, &c->w);
}

/* A NULL targets pointer with a count, and a pointer with count 0: no target. */
static void test_targets_edge(void **state)
{
	struct campaign_target t = { 3, DEADLINE_A, false };
	struct cert_facts f = { .site_known = true, .server_known = true };
	struct eligibility e;

	(void)state;
	f.targets = NULL;
	f.n_targets = 2;
	eligibility_of(&f, &e);
	if (e.status != CERT_STATUS_NOT_NEEDED || e.campaign_id != 0)
		fail_msg("case 'NULL targets with a count': %s", cert_status_name(e.status));
	f.targets = &t;
	f.n_targets = 0;
	eligibility_of(&f, &e);
	if (e.status != CERT_STATUS_NOT_NEEDED || e.campaign_id != 0)
		fail_msg("case 'targets with count 0': %s", cert_status_name(e.status));
}

/*
 * The reference: eligibility.h's rule list, read literally, as a chain of
 * ifs. Compared with eligibility_of() on every combination of facts.
 */
static void reference(const struct cert_facts *f, struct eligibility *w)
{
	const struct campaign_target *best = NULL;
	bool srv, frn, nws, ord;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; f->targets && i < f->n_targets; i++)
		if (!f->targets[i].reissued && (!best || f->targets[i].deadline < best->deadline ||
						(f->targets[i].deadline == best->deadline &&
						 f->targets[i].campaign_id < best->campaign_id)))
			best = &f->targets[i];
	if (best) {
		w->campaign_id = best->campaign_id;
		w->deadline = best->deadline;
	}
	if (f->open_order) {
		w->status = CERT_STATUS_IN_PROGRESS;
		w->stage = f->open_state;
		return;
	}
	if (!best) {
		w->status = CERT_STATUS_NOT_NEEDED;
		return;
	}
	if (f->family == PRODUCT_PLAIN) {
		w->status = CERT_STATUS_IMPOSSIBLE;
		w->reason = REASON_CSR_REQUIRED;
		w->reasons = REASON_CSR_REQUIRED;
		return;
	}
	srv = !(f->site_known && f->site_state == SITE_OK && f->server_known &&
		f->server_state == SERVER_OK);
	frn = f->installed == INSTALLED_FOREIGN;
	nws = f->pending_setting;
	ord = f->last_failure != FAILURE_NONE && !f->last_failure_retryable;
	w->reasons = (srv ? REASON_SERVER_PROBLEM : 0) | (frn ? REASON_FOREIGN_CERTIFICATE : 0) |
		     (nws ? REASON_NEW_SETTING : 0) | (ord ? REASON_ORDER_FAILED : 0);
	if (srv)
		w->reason = REASON_SERVER_PROBLEM;
	else if (frn)
		w->reason = REASON_FOREIGN_CERTIFICATE;
	else if (nws)
		w->reason = REASON_NEW_SETTING;
	else if (ord)
		w->reason = REASON_ORDER_FAILED;
	w->status = w->reason ? CERT_STATUS_IMPOSSIBLE : CERT_STATUS_AVAILABLE;
	if (f->last_failure != FAILURE_NONE) {
		w->last_failure = f->last_failure;
		w->last_failure_retryable = f->last_failure_retryable;
	}
}

static void describe(const struct cert_facts *f, int tgt, char *buf, size_t n)
{
	snprintf(buf, n,
		 "%s open=%d(%s) targets=%s site=%s/%s server=%s/%s installed=%d pending=%d "
		 "failure=%s/%d",
		 f->family == PRODUCT_PLAIN ? "plain" : "rs", f->open_order,
		 order_state_name(f->open_state),
		 tgt == 0   ? "none"
		 : tgt == 1 ? "live"
			    : "reissued",
		 f->site_known ? "known" : "unknown", site_state_name(f->site_state),
		 f->server_known ? "known" : "unknown", server_state_name(f->server_state),
		 (int)f->installed, f->pending_setting, failure_code_name(f->last_failure),
		 f->last_failure_retryable);
}

static void test_exhaustive(void **state)
{
	static const struct campaign_target live = { 4, DEADLINE_A, false };
	static const struct campaign_target done = { 4, DEADLINE_A, true };
	static const struct {
		enum failure_code code;
		bool retryable;
	} failures[] = { { FAILURE_NONE, false },
			 { FAILURE_DNS_NOT_POINTING, true },
			 { FAILURE_CA_REJECTED, false } };
	const long total =
	    2L * 2 * 3 * 2 * SITE_STATE_COUNT * 2 * SERVER_STATE_COUNT * 3 * 2 * (long)N(failures);

	(void)state;
	/* One counter read as mixed-radix digits, one digit per fact. */
	for (long i = 0; i < total; i++) {
		long k = i;
		int fam = (int)(k % 2), open, tgt, sk, ss, vk, vs, in, pend;
		size_t fl;

		k /= 2;
		open = (int)(k % 2), k /= 2;
		tgt = (int)(k % 3), k /= 3;
		sk = (int)(k % 2), k /= 2;
		ss = (int)(k % SITE_STATE_COUNT), k /= SITE_STATE_COUNT;
		vk = (int)(k % 2), k /= 2;
		vs = (int)(k % SERVER_STATE_COUNT), k /= SERVER_STATE_COUNT;
		in = (int)(k % 3), k /= 3;
		pend = (int)(k % 2), k /= 2;
		fl = (size_t)k;

		struct cert_facts f = {
			.family = fam ? PRODUCT_PLAIN : PRODUCT_RS,
			.open_order = open,
			.open_state = ORDER_VALIDATING,
			.targets = tgt == 0   ? NULL
				   : tgt == 1 ? &live
					      : &done,
			.n_targets = tgt == 0 ? 0 : 1,
			.site_known = sk,
			.site_state = (enum site_state)ss,
			.server_known = vk,
			.server_state = (enum server_state)vs,
			.installed = (enum installed_state)in,
			.pending_setting = pend,
			.last_failure = failures[fl].code,
			.last_failure_retryable = failures[fl].retryable,
		};
		struct eligibility got, want;
		char desc[256];

		eligibility_of(&f, &got);
		reference(&f, &want);
		if (got.status != want.status || got.reason != want.reason ||
		    got.reasons != want.reasons || got.campaign_id != want.campaign_id ||
		    got.deadline != want.deadline || got.last_failure != want.last_failure ||
		    got.last_failure_retryable != want.last_failure_retryable ||
		    (want.status == CERT_STATUS_IN_PROGRESS && got.stage != want.stage)) {
			describe(&f, tgt, desc, sizeof(desc));
			fail_msg("case 'exhaustive': %s: got %s/%s/0x%x, want %s/%s/0x%x", desc,
				 cert_status_name(got.status),
				 cert_reason_name(got.reason) ? cert_reason_name(got.reason) : "-",
				 got.reasons, cert_status_name(want.status),
				 cert_reason_name(want.reason) ? cert_reason_name(want.reason)
							       : "-",
				 want.reasons);
		}
		/* invariants stated in eligibility.h */
		if ((got.status == CERT_STATUS_IMPOSSIBLE) != (got.reason != REASON_NONE) ||
		    (got.reason && !(got.reasons & got.reason)) ||
		    (got.reasons & ~REASON_ALL_MASK) ||
		    ((got.status == CERT_STATUS_NOT_NEEDED ||
		      got.status == CERT_STATUS_IN_PROGRESS) &&
		     got.reasons != 0)) {
			describe(&f, tgt, desc, sizeof(desc));
			fail_msg("case 'exhaustive': invariant broken for %s", desc);
		}
	}
	if (total != 7776)
		fail_msg("case 'exhaustive': %ld combinations", total);
}

struct name_case {
	const char *name;
	int kind; /* 0 status, 1 reason, 2 server, 3 site */
	int value;
	const char *text; /* NULL: the name function returns NULL */
};

static struct name_case names[] = {
	{ "status name available", 0, CERT_STATUS_AVAILABLE, "available" },
	{ "status name not_needed", 0, CERT_STATUS_NOT_NEEDED, "not_needed" },
	{ "status name in_progress", 0, CERT_STATUS_IN_PROGRESS, "in_progress" },
	{ "status name impossible", 0, CERT_STATUS_IMPOSSIBLE, "impossible" },
	{ "status name out of range", 0, CERT_STATUS_COUNT, "unknown" },
	{ "reason name server_problem", 1, REASON_SERVER_PROBLEM, "server_problem" },
	{ "reason name foreign", 1, REASON_FOREIGN_CERTIFICATE, "foreign_certificate_installed" },
	{ "reason name new_setting", 1, REASON_NEW_SETTING, "new_setting_exists" },
	{ "reason name order_failed", 1, REASON_ORDER_FAILED, "order_failed" },
	{ "reason name csr_required", 1, REASON_CSR_REQUIRED, "csr_required" },
	{ "reason name none is NULL", 1, REASON_NONE, NULL },
	{ "reason name of two bits is NULL", 1, REASON_SERVER_PROBLEM | REASON_NEW_SETTING, NULL },
	{ "server state ok", 2, SERVER_OK, "ok" },
	{ "server state maintenance", 2, SERVER_MAINTENANCE, "maintenance" },
	{ "server state broken", 2, SERVER_BROKEN, "broken" },
	{ "site state ok", 3, SITE_OK, "ok" },
	{ "site state suspended", 3, SITE_SUSPENDED, "suspended" },
	{ "site state deleted", 3, SITE_DELETED, "deleted" },
};

static void test_name(void **state)
{
	const struct name_case *c = *state;
	const char *got = NULL;
	struct cd_err err = { 0 };

	switch (c->kind) {
	case 0:
		got = cert_status_name((enum cert_status)c->value);
		break;
	case 1:
		got = cert_reason_name((enum cert_reason)c->value);
		break;
	case 2: {
		enum server_state s = SERVER_STATE_COUNT;

		got = server_state_name((enum server_state)c->value);
		if (server_state_parse(c->text, &s, &err) != 0 || (int)s != c->value)
			fail_msg("case '%s': parse (%s)", c->name, err.msg);
		break;
	}
	case 3: {
		enum site_state s = SITE_STATE_COUNT;

		got = site_state_name((enum site_state)c->value);
		if (site_state_parse(c->text, &s, &err) != 0 || (int)s != c->value)
			fail_msg("case '%s': parse (%s)", c->name, err.msg);
		break;
	}
	}
	if ((got == NULL) != (c->text == NULL) || (got && strcmp(got, c->text) != 0))
		fail_msg("case '%s': '%s'", c->name, got ? got : "(null)");
}

struct bad_parse {
	const char *name;
	bool site;
	const char *text;
};

static struct bad_parse bad_parses[] = {
	{ "server parse NULL", false, NULL },
	{ "server parse empty", false, "" },
	{ "server parse upper case", false, "OK" },
	{ "server parse site word", false, "suspended" },
	{ "server parse unknown", false, "down" },
	{ "site parse NULL", true, NULL },
	{ "site parse empty", true, "" },
	{ "site parse server word", true, "maintenance" },
	{ "site parse trailing space", true, "ok " },
};

static void test_bad_parse(void **state)
{
	const struct bad_parse *c = *state;
	struct cd_err err = { 0 };
	int rc;

	if (c->site) {
		enum site_state s = SITE_DELETED;

		rc = site_state_parse(c->text, &s, &err);
		if (s != SITE_DELETED)
			fail_msg("case '%s': output written on error", c->name);
	} else {
		enum server_state s = SERVER_BROKEN;

		rc = server_state_parse(c->text, &s, &err);
		if (s != SERVER_BROKEN)
			fail_msg("case '%s': output written on error", c->name);
	}
	if (rc != -CD_EINVAL || err.code != CD_EINVAL || err.msg[0] == '\0')
		fail_msg("case '%s': rc %d", c->name, rc);
}

int main(void)
{
	static struct CMUnitTest tests[N(cases) + N(names) + N(bad_parses) + 2];
	size_t n = 0;

	for (size_t i = 0; i < N(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL, &cases[i] };
	for (size_t i = 0; i < N(names); i++)
		tests[n++] = (struct CMUnitTest){ names[i].name, test_name, NULL, NULL, &names[i] };
	for (size_t i = 0; i < N(bad_parses); i++)
		tests[n++] = (struct CMUnitTest){ bad_parses[i].name, test_bad_parse, NULL, NULL,
						  &bad_parses[i] };
	tests[n++] =
	    (struct CMUnitTest){ "targets edge cases", test_targets_edge, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "exhaustive product of facts against the reference",
					  test_exhaustive, NULL, NULL, NULL };
	return _cmocka_run_group_tests("eligibility", tests, n, NULL, NULL);
}
