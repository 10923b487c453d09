/*
 * order.h - the reissue order's state machine (DESIGN.md §3.3), as one table.
 *
 * queued -> preflight -> key_ready -> ordered -> validating -> finalizing ->
 * issued -> installed -> live -> notified -> old_revoked -> done,
 * or failed (from any open state) or canceled (only before finalize).
 * A new attempt (the last ACME order unusable) goes back to key_ready from
 * ordered, validating or finalizing. notified -> done is allowed for an order
 * whose old certificate cannot be revoked (it is flagged revocation_pending).
 * failed -> issued is an operator's resume of an order that failed after its
 * certificate was issued (install it again rather than issue another).
 */
#ifndef CD_CORE_ORDER_H
#define CD_CORE_ORDER_H

#include <stdbool.h>

#include "util/err.h"

enum order_state {
	ORDER_QUEUED,
	ORDER_PREFLIGHT,
	ORDER_KEY_READY,
	ORDER_ORDERED,
	ORDER_VALIDATING,
	ORDER_FINALIZING,
	ORDER_ISSUED,
	ORDER_INSTALLED,
	ORDER_LIVE,
	ORDER_NOTIFIED,
	ORDER_OLD_REVOKED,
	ORDER_DONE,
	ORDER_FAILED,
	ORDER_CANCELED,
	ORDER_STATE_COUNT
};

/* "queued", "key_ready", ... (the names used in the store, the API and events). */
const char *order_state_name(enum order_state s);
/* Parses a name; returns 0, or -CD_EINVAL naming the text. */
int order_state_parse(const char *name, enum order_state *out, struct cd_err *err);

/* Open = not done, failed or canceled. At most one open order per certificate. */
bool order_state_is_open(enum order_state s);
bool order_state_is_terminal(enum order_state s);
/* Cancel is allowed only before finalize is sent. */
bool order_state_can_cancel(enum order_state s);

/* 0 when from -> to is a legal transition; else -CD_ESTATE with a message
 * naming both states ("illegal order transition done -> queued"). */
int order_transition_check(enum order_state from, enum order_state to, struct cd_err *err);

/* The next state on the happy path (ORDER_DONE for done itself). */
enum order_state order_state_next(enum order_state s);

#endif
