/*
 * product.h - the certificate products a member can have bought.
 *
 * RS products are installed by the provider on the rental server (one-click
 * reissue). Plain products are managed by the customer with a CSR.
 */
#ifndef CD_CORE_PRODUCT_H
#define CD_CORE_PRODUCT_H

#include <stdbool.h>

#include "util/err.h"

enum product_family { PRODUCT_RS, PRODUCT_PLAIN };

struct product {
	const char *code; /* as in the inventory: "jprs_dv_rs_1y" */
	enum product_family family;
	const char *label_ja;
	const char *label_en;
};

/* The built-in products; NULL when the code is unknown. */
const struct product *product_find(const char *code);
const struct product *product_at(int i); /* iterate until NULL */

#endif
