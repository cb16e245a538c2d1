/* simcore.h - the simulator's answers, shared by the sim backend and sim-server. */
#ifndef BARGE_SIMCORE_H
#define BARGE_SIMCORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"
#include "util/ids.h"

/*
 * The simulator answers OpenAI-compatible requests (/chat/completions,
 * /completions, /embeddings) and Anthropic /messages requests like a real
 * server would, deterministically: the text depends only on the request
 * body and the seed. Every text starts with "[simulated]". Token usage is
 * the approximate count of formats (one token per 4 bytes of prompt text);
 * the answer has up to max_tokens tokens (one word each).
 */
struct sim_answer {
	int status;          /* 200, or the injected / validation error status */
	unsigned fault;      /* the injected fault (a SIMF_* bit), 0 when none */
	char *body;          /* malloc'd; NULL for timeout and reset faults */
	size_t body_len;
	int retry_after_s;   /* for 429, -1 otherwise */
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t latency_ms;  /* ttft + itl per output token */
};

/*
 * sim_respond answers a request for path with body. rng draws the faults
 * (fail_rate, fail_types of cfg). The caller owns a->body.
 */
int sim_respond(const struct backend_cfg *cfg, struct rng *rng, const char *path,
		const char *body, size_t body_len, struct sim_answer *a);
void sim_answer_free(struct sim_answer *a);

#endif
