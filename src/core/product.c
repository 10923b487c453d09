/*
 * product.c - the built-in certificate products (DESIGN.md §1.2).
 *
 * The inventory names a product by its code; the family decides the flow:
 * RS products are reissued by certdesk in one click, plain products by the
 * customer with a CSR.
 */
#include "core/product.h"

#include <stddef.h>
#include <string.h>

static const struct product products[] = {
	{ "jprs_dv_rs_1y", PRODUCT_RS, "JPRS ドメイン認証型 RS(1年)", "JPRS DV RS (1 year)" },
	{ "jprs_dv_rs_2y", PRODUCT_RS, "JPRS ドメイン認証型 RS(2年)", "JPRS DV RS (2 years)" },
	{ "jprs_dv_1y", PRODUCT_PLAIN, "JPRS ドメイン認証型(1年)", "JPRS DV (1 year)" },
	{ "jprs_dv_2y", PRODUCT_PLAIN, "JPRS ドメイン認証型(2年)", "JPRS DV (2 years)" },
};

#define N_PRODUCTS ((int)(sizeof(products) / sizeof(products[0])))

const struct product *product_find(const char *code)
{
	if (!code)
		return NULL;
	for (int i = 0; i < N_PRODUCTS; i++)
		if (strcmp(products[i].code, code) == 0)
			return &products[i];
	return NULL;
}

const struct product *product_at(int i)
{
	return i >= 0 && i < N_PRODUCTS ? &products[i] : NULL;
}
