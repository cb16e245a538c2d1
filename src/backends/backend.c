/* backend.c - finds the driver of a backend kind. */
#include "backends/http.h"

const struct backend_driver *backend_driver_for(enum backend_kind k)
{
	switch (k) {
	case BK_SIM:
		return &sim_driver;
	case BK_OPENAI:
		return &openai_driver;
	case BK_ANTHROPIC:
		return &anthropic_driver;
	case BK_BEDROCK:
		return &bedrock_driver;
	default:
		return NULL;
	}
}
