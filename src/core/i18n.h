/*
 * i18n.h - the words customers read, in Japanese (default) and English.
 *
 * Every customer-facing text about a status, a reason, a failure or a stage
 * comes from here, so the portal, the CLI and the mail say the same thing.
 */
#ifndef CD_CORE_I18N_H
#define CD_CORE_I18N_H

#include "core/eligibility.h"
#include "core/failure.h"
#include "core/order.h"
#include "util/err.h"

enum lang { LANG_JA, LANG_EN, LANG_COUNT };

int lang_parse(const char *name, enum lang *out, struct cd_err *err); /* "ja" | "en" */
const char *lang_name(enum lang l);

/* 再発行 / Reissue, 再発行不要 / Not needed, 再発行手続中 / In progress, 再発行不可 / Not possible */
const char *i18n_status_label(enum cert_status s, enum lang l);
/* One reason in plain words, and what the customer can do about it. */
const char *i18n_reason_text(enum cert_reason r, enum lang l);
const char *i18n_reason_todo(enum cert_reason r, enum lang l);
/* A failed order: what happened and what to fix. */
const char *i18n_failure_text(enum failure_code c, enum lang l);
const char *i18n_failure_todo(enum failure_code c, enum lang l);
/* A product's label ("JPRS DV RS 1年" / "JPRS DV RS, 1 year"); the code
 * itself when it is not a product certdesk knows. */
const char *i18n_product_label(const char *code, enum lang l);
/* The stage of an order in progress ("ドメイン認証中" / "Validating the domain"). */
const char *i18n_stage_label(enum order_state s, enum lang l);

#endif
