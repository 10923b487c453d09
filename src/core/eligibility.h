/*
 * eligibility.h - a certificate's status and reasons (DESIGN.md §3.1).
 *
 * The store gathers the facts; this pure function decides. The portal, the
 * CLI (`certdesk status`), the API and the campaign mail all call it, so a
 * certificate shows the same status everywhere. First match wins:
 *   1. an open order                                -> in_progress (its stage)
 *   2. no live campaign target left (none, or all
 *      reissued)                                    -> not_needed
 *   (plain product, affected                        -> impossible/csr_required)
 *   3. server or site not usable                    -> impossible/server_problem
 *   4. a different certificate installed for the CN -> impossible/foreign_certificate_installed
 *   5. a pending new SSL setting for the CN         -> impossible/new_setting_exists
 *   (last order failed, a retry cannot help         -> impossible/order_failed)
 *   6. otherwise                                    -> available
 * `reasons` lists every reason that applies, not only the first.
 */
#ifndef CD_CORE_ELIGIBILITY_H
#define CD_CORE_ELIGIBILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/failure.h"
#include "core/order.h"
#include "core/product.h"
#include "util/err.h"

enum cert_status {
	CERT_STATUS_AVAILABLE,	 /* 再発行: a Reissue button */
	CERT_STATUS_NOT_NEEDED,	 /* 再発行不要 */
	CERT_STATUS_IN_PROGRESS, /* 再発行手続中 */
	CERT_STATUS_IMPOSSIBLE,	 /* 再発行不可: details show the reasons */
	CERT_STATUS_COUNT
};

/* Reasons a certificate cannot be reissued, as bits so that all can be listed. */
enum cert_reason {
	REASON_NONE = 0,
	REASON_SERVER_PROBLEM = 1u << 0,
	REASON_FOREIGN_CERTIFICATE = 1u << 1,
	REASON_NEW_SETTING = 1u << 2,
	REASON_ORDER_FAILED = 1u << 3, /* the last order failed and a retry cannot help */
	REASON_CSR_REQUIRED = 1u << 4, /* plain product: reissued through the CSR procedure */
};
#define REASON_ALL_MASK 0x1fu

enum server_state { SERVER_OK, SERVER_MAINTENANCE, SERVER_BROKEN, SERVER_STATE_COUNT };
enum site_state { SITE_OK, SITE_SUSPENDED, SITE_DELETED, SITE_STATE_COUNT };
/* What the server has installed for the certificate's common name. */
enum installed_state { INSTALLED_NONE, INSTALLED_THIS, INSTALLED_FOREIGN };

/* One active campaign that targets the certificate. */
struct campaign_target {
	int64_t campaign_id;
	int64_t deadline; /* UTC instant of the customers' deadline */
	bool reissued;	  /* the targeted issuance was already replaced by a reissue */
};

struct cert_facts {
	enum product_family family;
	bool open_order;
	enum order_state open_state; /* when open_order */
	const struct campaign_target *targets;
	size_t n_targets;
	bool site_known; /* false: no site row for the common name */
	enum site_state site_state;
	bool server_known;
	enum server_state server_state;
	enum installed_state installed;
	bool pending_setting;
	enum failure_code last_failure; /* FAILURE_NONE unless the last order failed */
	bool last_failure_retryable;
};

struct eligibility {
	enum cert_status status;
	enum cert_reason reason; /* the first matching reason when impossible, else NONE */
	unsigned reasons;	 /* every reason that applies (bits of enum cert_reason) */
	enum order_state stage;	 /* when in progress */
	int64_t campaign_id;	 /* the campaign it counts in (earliest deadline), 0 if none */
	int64_t deadline;	 /* that campaign's deadline */
	enum failure_code last_failure; /* to show with what to fix, FAILURE_NONE if none */
	bool last_failure_retryable;
};

void eligibility_of(const struct cert_facts *facts, struct eligibility *out);

/* Stable names: "available", "not_needed", "in_progress", "impossible". */
const char *cert_status_name(enum cert_status s);
/* "server_problem", "foreign_certificate_installed", "new_setting_exists",
 * "order_failed", "csr_required"; NULL for REASON_NONE. */
const char *cert_reason_name(enum cert_reason r);

const char *server_state_name(enum server_state s);
int server_state_parse(const char *name, enum server_state *out, struct cd_err *err);
const char *site_state_name(enum site_state s);
int site_state_parse(const char *name, enum site_state *out, struct cd_err *err);

#endif
