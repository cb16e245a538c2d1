/* backend.c - finds the driver of a backend kind. */
#include "engine/engine.h"

extern const struct backend_driver sim_driver;

const struct backend_driver *backend_driver_for(enum backend_kind k)
{
	switch (k) {
	case BK_SIM:
		return &sim_driver;
	default:
		return NULL;
	}
}
