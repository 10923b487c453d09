/*
 * order.c - the reissue order's state machine (DESIGN.md §3.3).
 *
 * Every legal transition is one entry of the table `edges` below; nothing else
 * in certdesk decides whether an order may move. The store calls
 * order_transition_check() before it writes a new state, so an illegal move
 * fails loudly instead of corrupting an order.
 */
#include "core/order.h"

#include <stddef.h>
#include <string.h>

static const char *const state_names[ORDER_STATE_COUNT] = {
	[ORDER_QUEUED] = "queued",
	[ORDER_PREFLIGHT] = "preflight",
	[ORDER_KEY_READY] = "key_ready",
	[ORDER_ORDERED] = "ordered",
	[ORDER_VALIDATING] = "validating",
	[ORDER_FINALIZING] = "finalizing",
	[ORDER_ISSUED] = "issued",
	[ORDER_INSTALLED] = "installed",
	[ORDER_LIVE] = "live",
	[ORDER_NOTIFIED] = "notified",
	[ORDER_OLD_REVOKED] = "old_revoked",
	[ORDER_DONE] = "done",
	[ORDER_FAILED] = "failed",
	[ORDER_CANCELED] = "canceled",
};

/* The happy path, in order, for order_state_next(); test_order checks that
 * every step is also an edge of the table. */
static const enum order_state happy_path[] = {
	ORDER_QUEUED,	  ORDER_PREFLIGHT,  ORDER_KEY_READY,   ORDER_ORDERED,
	ORDER_VALIDATING, ORDER_FINALIZING, ORDER_ISSUED,      ORDER_INSTALLED,
	ORDER_LIVE,	  ORDER_NOTIFIED,   ORDER_OLD_REVOKED, ORDER_DONE,
};

#define Q ORDER_QUEUED
#define P ORDER_PREFLIGHT
#define K ORDER_KEY_READY
#define O ORDER_ORDERED
#define V ORDER_VALIDATING
#define Z ORDER_FINALIZING
#define I ORDER_ISSUED
#define N ORDER_INSTALLED
#define L ORDER_LIVE
#define M ORDER_NOTIFIED
#define R ORDER_OLD_REVOKED
#define D ORDER_DONE
#define F ORDER_FAILED
#define C ORDER_CANCELED

/*
 * The legal transitions, as [from][to]. A row is the state an order is in;
 * a column the state it may move to. Terminal states (done, failed,
 * canceled) have empty rows, except failed -> issued below: a failed order
 * is otherwise never resumed, a new order is made instead.
 *
 * - the happy path: each state to the next one;
 * - failed: from every open state (a stage gives up with a reason code);
 * - canceled: only before finalize is sent (queued .. validating); once the
 *   CA may have issued, the order runs to the end or fails;
 * - a new attempt: ordered, validating or finalizing back to key_ready, when
 *   the last ACME order is unusable (invalid, expired, lost by the CA);
 * - notified -> done: the old certificate cannot be revoked (flagged
 *   revocation_pending by the caller);
 * - failed -> issued: the one way out of a terminal state, taken only by an
 *   operator's retry of an order that failed after its certificate was
 *   issued (store_order_resume): it installs that certificate instead of
 *   asking the CA for another one. No worker step moves a failed order.
 */
static const bool edges[ORDER_STATE_COUNT][ORDER_STATE_COUNT] = {
	[Q] = { [P] = true, [F] = true, [C] = true },
	[P] = { [K] = true, [F] = true, [C] = true },
	[K] = { [O] = true, [F] = true, [C] = true },
	[O] = { [K] = true, [V] = true, [F] = true, [C] = true },
	[V] = { [K] = true, [Z] = true, [F] = true, [C] = true },
	[Z] = { [K] = true, [I] = true, [F] = true },
	[I] = { [N] = true, [F] = true },
	[N] = { [L] = true, [F] = true },
	[L] = { [M] = true, [F] = true },
	[M] = { [R] = true, [D] = true, [F] = true },
	[R] = { [D] = true, [F] = true },
	[D] = { 0 },
	[F] = { [I] = true },
	[C] = { 0 },
};

#undef Q
#undef P
#undef K
#undef O
#undef V
#undef Z
#undef I
#undef N
#undef L
#undef M
#undef R
#undef D
#undef F
#undef C

static bool state_valid(enum order_state s)
{
	return (int)s >= 0 && s < ORDER_STATE_COUNT;
}

const char *order_state_name(enum order_state s)
{
	return state_valid(s) ? state_names[s] : "unknown";
}

int order_state_parse(const char *name, enum order_state *out, struct cd_err *err)
{
	if (name)
		for (int s = 0; s < ORDER_STATE_COUNT; s++)
			if (strcmp(name, state_names[s]) == 0) {
				*out = (enum order_state)s;
				return 0;
			}
	return cd_err_set(err, CD_EINVAL, false, "'%.60s' is not an order state",
			  name ? name : "(null)");
}

bool order_state_is_terminal(enum order_state s)
{
	return s == ORDER_DONE || s == ORDER_FAILED || s == ORDER_CANCELED;
}

bool order_state_is_open(enum order_state s)
{
	return state_valid(s) && !order_state_is_terminal(s);
}

bool order_state_can_cancel(enum order_state s)
{
	return state_valid(s) && edges[s][ORDER_CANCELED];
}

int order_transition_check(enum order_state from, enum order_state to, struct cd_err *err)
{
	if (state_valid(from) && state_valid(to) && edges[from][to])
		return 0;
	return cd_err_set(err, CD_ESTATE, false, "illegal order transition %s -> %s",
			  order_state_name(from), order_state_name(to));
}

enum order_state order_state_next(enum order_state s)
{
	size_t n = sizeof(happy_path) / sizeof(happy_path[0]);

	for (size_t i = 0; i + 1 < n; i++)
		if (happy_path[i] == s)
			return happy_path[i + 1];
	/* done stays done; failed and canceled have no next state either. */
	return s;
}
