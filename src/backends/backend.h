/* backend.h - the drivers of the backend kinds. */
#ifndef BARGE_BACKEND_H
#define BARGE_BACKEND_H

#include "engine/engine.h"

/* One driver per kind; backend_driver_for (engine.h) picks among them. */
extern const struct backend_driver sim_driver;
extern const struct backend_driver openai_driver;
extern const struct backend_driver anthropic_driver;
extern const struct backend_driver bedrock_driver;

#endif
