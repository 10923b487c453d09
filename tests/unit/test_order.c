/*
 * test_order.c - the order state machine: every (from, to) pair of the
 * 14 x 14 table against an explicit list of legal edges, names, and the
 * open / terminal / cancel / next properties of every state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/order.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The legal transitions, written out by hand from DESIGN.md §3.3 and order.h. */
static const char *const legal[] = {
	/* the happy path */
	"queued>preflight",
	"preflight>key_ready",
	"key_ready>ordered",
	"ordered>validating",
	"validating>finalizing",
	"finalizing>issued",
	"issued>installed",
	"installed>live",
	"live>notified",
	"notified>old_revoked",
	"old_revoked>done",
	/* failed from every open state */
	"queued>failed",
	"preflight>failed",
	"key_ready>failed",
	"ordered>failed",
	"validating>failed",
	"finalizing>failed",
	"issued>failed",
	"installed>failed",
	"live>failed",
	"notified>failed",
	"old_revoked>failed",
	/* canceled only before finalize */
	"queued>canceled",
	"preflight>canceled",
	"key_ready>canceled",
	"ordered>canceled",
	"validating>canceled",
	/* a new attempt */
	"ordered>key_ready",
	"validating>key_ready",
	"finalizing>key_ready",
	/* the old certificate cannot be revoked */
	"notified>done",
	/* an operator resumes an order that failed after issuance */
	"failed>issued",
};

struct pair_case {
	char name[64];
	enum order_state from, to;
	bool want_legal;
};

static struct pair_case pairs[ORDER_STATE_COUNT * ORDER_STATE_COUNT];

static bool listed(enum order_state from, enum order_state to)
{
	char key[64];

	snprintf(key, sizeof(key), "%s>%s", order_state_name(from), order_state_name(to));
	for (size_t i = 0; i < N(legal); i++)
		if (strcmp(legal[i], key) == 0)
			return true;
	return false;
}

static void test_pair(void **state)
{
	const struct pair_case *c = *state;
	struct cd_err err = { 0 };
	char want[128];
	int rc = order_transition_check(c->from, c->to, &err);

	if (c->want_legal) {
		if (rc != 0)
			fail_msg("case '%s': expected legal, got %d (%s)", c->name, rc, err.msg);
		return;
	}
	if (rc != -CD_ESTATE)
		fail_msg("case '%s': expected -CD_ESTATE, got %d", c->name, rc);
	snprintf(want, sizeof(want), "illegal order transition %s -> %s", order_state_name(c->from),
		 order_state_name(c->to));
	if (strcmp(err.msg, want) != 0)
		fail_msg("case '%s': message '%s', want '%s'", c->name, err.msg, want);
	if (err.code != CD_ESTATE || err.retryable)
		fail_msg("case '%s': err.code %d retryable %d", c->name, err.code, err.retryable);
}

/* Every name in the legal list is a real state name (a typo would make a
 * legal edge silently expected illegal). */
static void test_legal_list_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(legal); i++) {
		char a[32], b[32];
		enum order_state s;

		if (sscanf(legal[i], "%31[^>]>%31s", a, b) != 2 || order_state_parse(a, &s, NULL) ||
		    order_state_parse(b, &s, NULL))
			fail_msg("case 'legal list': bad entry '%s'", legal[i]);
	}
}

struct state_case {
	const char *name;
	enum order_state s;
	const char *text;
	bool open, terminal, cancel;
	enum order_state next;
};

static struct state_case states[] = {
	{ "queued", ORDER_QUEUED, "queued", true, false, true, ORDER_PREFLIGHT },
	{ "preflight", ORDER_PREFLIGHT, "preflight", true, false, true, ORDER_KEY_READY },
	{ "key_ready", ORDER_KEY_READY, "key_ready", true, false, true, ORDER_ORDERED },
	{ "ordered", ORDER_ORDERED, "ordered", true, false, true, ORDER_VALIDATING },
	{ "validating", ORDER_VALIDATING, "validating", true, false, true, ORDER_FINALIZING },
	{ "finalizing (no cancel once finalize may be sent)", ORDER_FINALIZING, "finalizing", true,
	  false, false, ORDER_ISSUED },
	{ "issued", ORDER_ISSUED, "issued", true, false, false, ORDER_INSTALLED },
	{ "installed", ORDER_INSTALLED, "installed", true, false, false, ORDER_LIVE },
	{ "live", ORDER_LIVE, "live", true, false, false, ORDER_NOTIFIED },
	{ "notified", ORDER_NOTIFIED, "notified", true, false, false, ORDER_OLD_REVOKED },
	{ "old_revoked", ORDER_OLD_REVOKED, "old_revoked", true, false, false, ORDER_DONE },
	{ "done (next of done is done)", ORDER_DONE, "done", false, true, false, ORDER_DONE },
	{ "failed", ORDER_FAILED, "failed", false, true, false, ORDER_FAILED },
	{ "canceled", ORDER_CANCELED, "canceled", false, true, false, ORDER_CANCELED },
};

static void test_state(void **state)
{
	const struct state_case *c = *state;
	struct cd_err err = { 0 };
	enum order_state parsed = ORDER_STATE_COUNT;

	if (strcmp(order_state_name(c->s), c->text) != 0)
		fail_msg("case '%s': name '%s'", c->name, order_state_name(c->s));
	if (order_state_parse(c->text, &parsed, &err) != 0 || parsed != c->s)
		fail_msg("case '%s': parse round trip failed (%s)", c->name, err.msg);
	if (order_state_is_open(c->s) != c->open)
		fail_msg("case '%s': is_open", c->name);
	if (order_state_is_terminal(c->s) != c->terminal)
		fail_msg("case '%s': is_terminal", c->name);
	if (order_state_can_cancel(c->s) != c->cancel)
		fail_msg("case '%s': can_cancel", c->name);
	/* can_cancel agrees with the transition table */
	if ((order_transition_check(c->s, ORDER_CANCELED, NULL) == 0) != c->cancel)
		fail_msg("case '%s': can_cancel disagrees with the table", c->name);
	if (order_state_next(c->s) != c->next)
		fail_msg("case '%s': next is %s", c->name,
			 order_state_name(order_state_next(c->s)));
	/* the happy-path next state is always a legal transition */
	if (c->next != c->s && order_transition_check(c->s, c->next, NULL) != 0)
		fail_msg("case '%s': next is not a legal transition", c->name);
	/* failed is reachable from exactly the open states */
	if ((order_transition_check(c->s, ORDER_FAILED, NULL) == 0) != c->open)
		fail_msg("case '%s': failed reachable iff open", c->name);
}

struct parse_case {
	const char *name;
	const char *text;
};

static struct parse_case bad_names[] = {
	{ "parse NULL", NULL },
	{ "parse empty", "" },
	{ "parse upper case", "QUEUED" },
	{ "parse trailing space", "queued " },
	{ "parse leading space", " queued" },
	{ "parse unknown word", "unknown" },
	{ "parse hyphen for underscore", "key-ready" },
	{ "parse prefix", "queue" },
	{ "parse british spelling", "cancelled" },
};

static void test_bad_name(void **state)
{
	const struct parse_case *c = *state;
	struct cd_err err = { 0 };
	enum order_state s = ORDER_DONE;

	if (order_state_parse(c->text, &s, &err) != -CD_EINVAL)
		fail_msg("case '%s': accepted", c->name);
	if (s != ORDER_DONE)
		fail_msg("case '%s': output written on error", c->name);
	if (err.code != CD_EINVAL || err.msg[0] == '\0')
		fail_msg("case '%s': no message", c->name);
}

static void test_out_of_range(void **state)
{
	struct cd_err err = { 0 };

	(void)state;
	if (strcmp(order_state_name(ORDER_STATE_COUNT), "unknown") != 0)
		fail_msg("case 'out of range': name");
	if (strcmp(order_state_name((enum order_state) - 1), "unknown") != 0)
		fail_msg("case 'out of range': name of -1");
	if (order_state_is_open(ORDER_STATE_COUNT) || order_state_can_cancel(ORDER_STATE_COUNT))
		fail_msg("case 'out of range': open or cancelable");
	if (order_transition_check(ORDER_STATE_COUNT, ORDER_FAILED, &err) != -CD_ESTATE)
		fail_msg("case 'out of range': from accepted");
	if (order_transition_check(ORDER_QUEUED, ORDER_STATE_COUNT, &err) != -CD_ESTATE)
		fail_msg("case 'out of range': to accepted");
	if (order_transition_check(ORDER_QUEUED, ORDER_PREFLIGHT, NULL) != 0)
		fail_msg("case 'NULL err': legal transition refused");
	if (order_transition_check(ORDER_DONE, ORDER_QUEUED, NULL) != -CD_ESTATE)
		fail_msg("case 'NULL err': illegal transition accepted");
}

/* Walking the happy path from queued reaches done in exactly 11 steps. */
static void test_happy_path_walk(void **state)
{
	enum order_state s = ORDER_QUEUED;
	int steps = 0;

	(void)state;
	while (s != ORDER_DONE && steps < 100) {
		enum order_state n = order_state_next(s);

		if (order_transition_check(s, n, NULL) != 0)
			fail_msg("case 'happy path walk': %s -> %s illegal", order_state_name(s),
				 order_state_name(n));
		s = n;
		steps++;
	}
	if (steps != 11)
		fail_msg("case 'happy path walk': %d steps", steps);
}

int main(void)
{
	static struct CMUnitTest tests[N(pairs) + N(states) + N(bad_names) + 8];
	size_t n = 0, n_legal = 0;

	for (int f = 0; f < ORDER_STATE_COUNT; f++)
		for (int t = 0; t < ORDER_STATE_COUNT; t++) {
			struct pair_case *c = &pairs[f * ORDER_STATE_COUNT + t];

			c->from = (enum order_state)f;
			c->to = (enum order_state)t;
			c->want_legal = listed(c->from, c->to);
			n_legal += c->want_legal;
			snprintf(c->name, sizeof(c->name), "%s -> %s %s", order_state_name(c->from),
				 order_state_name(c->to), c->want_legal ? "legal" : "illegal");
			tests[n++] = (struct CMUnitTest){ c->name, test_pair, NULL, NULL, c };
		}
	if (n_legal != N(legal)) {
		fprintf(stderr, "legal list has entries that are not state pairs\n");
		return 1;
	}
	for (size_t i = 0; i < N(states); i++)
		tests[n++] =
		    (struct CMUnitTest){ states[i].name, test_state, NULL, NULL, &states[i] };
	for (size_t i = 0; i < N(bad_names); i++)
		tests[n++] = (struct CMUnitTest){ bad_names[i].name, test_bad_name, NULL, NULL,
						  &bad_names[i] };
	tests[n++] = (struct CMUnitTest){ "legal list names are states", test_legal_list_names,
					  NULL, NULL, NULL };
	tests[n++] =
	    (struct CMUnitTest){ "out of range values", test_out_of_range, NULL, NULL, NULL };
	tests[n++] =
	    (struct CMUnitTest){ "happy path walk", test_happy_path_walk, NULL, NULL, NULL };
	return _cmocka_run_group_tests("order", tests, n, NULL, NULL);
}
