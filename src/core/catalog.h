/* catalog.h - the built-in models and prices every barge knows. */
#ifndef BARGE_CATALOG_H
#define BARGE_CATALOG_H

#include <stddef.h>

#include "util/config.h"

/*
 * catalog_models returns the built-in model table (reference/pricing.md plus
 * one model for each other Bedrock family), all on the built-in `sim`
 * backend. The table is static; config_load copies it.
 */
const struct model_cfg *catalog_models(size_t *n);

#endif
