/* catalog.c - the built-in models and prices every barge knows. */
#include "core/catalog.h"

/*
 * The first five rows are the seed's price table (reference/pricing.md).
 * The rest give every other Bedrock family a model with its public
 * on-demand price, so that each family runs with no configuration.
 */
static const struct model_cfg builtin[] = {
	{"anthropic.claude-3-opus-20240229-v1:0", "anthropic-messages", "sim",
	 "claude-3-opus-20240229", 0.015, 0.075, 0.5, true},
	{"anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic-messages", "sim",
	 "claude-3-5-sonnet-20240620", 0.003, 0.015, 0.5, true},
	{"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic-messages", "sim",
	 "claude-3-5-haiku-20241022", 0.0008, 0.004, 0.5, true},
	{"meta.llama3-1-70b-instruct-v1:0", "llama", "sim", "llama3.1-70b-instruct", 0.00099,
	 0.00099, 0.5, true},
	{"mistral.mistral-large-2407-v1:0", "mistral", "sim", "mistral-large-2407", 0.004, 0.012,
	 0.5, true},
	{"amazon.titan-text-express-v1", "titan-text", "sim", "titan-text-express", 0.0002,
	 0.0006, 0.5, true},
	{"amazon.nova-lite-v1:0", "nova", "sim", "nova-lite", 0.00006, 0.00024, 0.5, true},
	{"amazon.nova-pro-v1:0", "nova", "sim", "nova-pro", 0.0008, 0.0032, 0.5, true},
	{"amazon.titan-embed-text-v2:0", "titan-embed", "sim", "titan-embed-text-v2", 0.00002,
	 0.0, 0.5, true},
};

const struct model_cfg *catalog_models(size_t *n)
{
	*n = sizeof(builtin) / sizeof(builtin[0]);
	return builtin;
}
