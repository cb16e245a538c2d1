/* engine.h - the dispatch loop: calls, attempts, retries, limits, timers. */
#ifndef BARGE_ENGINE_H
#define BARGE_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"
#include "util/config.h"
#include "util/err.h"
#include "util/ids.h"

/*
 * One engine runs on one thread: a loop over timers and (for HTTP backends)
 * sockets. Work enters as calls: one call is one record's request, which the
 * engine sends as one or more attempts, honouring the backend's limits, and
 * finishes exactly once through the call's done callback.
 */
struct engine;
struct ebackend;

struct timer {
	int64_t at;               /* monotonic ms */
	void (*fn)(struct timer *t);
	size_t idx;               /* position in the heap, SIZE_MAX when idle */
};

enum call_outcome { CALL_OK, CALL_FAILED, CALL_CANCELED };
enum call_state { CS_IDLE, CS_QUEUED, CS_IN_FLIGHT, CS_BACKOFF, CS_DONE };

/* Transport failures, as opposed to answers. */
enum net_error { NET_NONE, NET_REFUSED, NET_RESET, NET_TIMEOUT, NET_OTHER };

/* What a driver reports for one attempt. */
struct attempt_result {
	int status;            /* HTTP status; 0 when no answer came */
	enum net_error net;
	char *body;            /* malloc'd answer body, owned by the engine after done */
	size_t body_len;
	int64_t retry_after_ms; /* -1 when the answer did not say */
	int64_t hdr_input_tokens, hdr_output_tokens; /* -1 when absent */
	bool final;            /* a failure that another attempt cannot mend */
	char msg[256];         /* transport detail for net errors */
};

struct call {
	/* Set by the submitter before engine_submit. */
	struct ebackend *be;
	const char *path;       /* wire path, e.g. "/chat/completions" */
	const char *model;      /* the upstream model, for drivers that put it in the URL */
	char *body;             /* request body, owned by the submitter */
	size_t body_len;
	int64_t est_tokens;     /* estimated tokens, for tokens_per_minute */
	void (*done)(struct call *c);
	void *ud;

	/*
	 * Results, valid inside done. When OK, ar.body holds the answer: text
	 * checked to be one JSON object, freed by the engine after done.
	 */
	enum call_outcome outcome;
	int status;             /* last HTTP status, 0 if none */
	int error_code;         /* the record's errorCode when FAILED */
	char error_msg[512];
	int64_t hdr_input_tokens, hdr_output_tokens;
	int64_t actual_tokens;  /* set by done when usage is known, for tokens_per_minute */
	int attempts;
	int retries;
	int throttles;

	/* Engine-private. */
	enum call_state state;
	struct call *next, *prev;
	struct timer timer;     /* backoff wait or attempt timeout */
	struct attempt_result ar;
	bool ar_ready;
	void *drv;              /* the driver's per-attempt state */
	int64_t attempt_started;      /* monotonic ms */
	bool probe;             /* this attempt probes a backend that was down */
};

/* The interface every backend kind implements (backends/). */
struct backend_driver {
	const char *kind;
	/* open prepares b->drv for the backend's configuration. */
	int (*open)(struct ebackend *b, struct err *e);
	void (*close)(struct ebackend *b);
	/*
	 * start begins one attempt of c. The driver must later call
	 * engine_attempt_done exactly once for it, unless cancel is called
	 * first. A start that fails at once may call engine_attempt_done
	 * before returning.
	 */
	void (*start)(struct ebackend *b, struct call *c);
	/* cancel abandons the attempt in progress; no result follows. */
	void (*cancel)(struct ebackend *b, struct call *c);
	/* wire says which dialect a family is sent in to this kind. */
	enum wire (*wire)(const struct family *f);
};

/* A doubly linked list of calls, through their next and prev. */
struct call_list {
	struct call *head, *tail;
	size_t n;
};

/*
 * The runtime side of a configured backend: its limits and queue. One per
 * backend per engine.
 */
struct ebackend {
	struct engine *eng;
	const struct backend_cfg *cfg;  /* borrowed from the configuration */
	const struct backend_driver *drv;
	void *drv_state;
	struct limiter *lim; /* shared with other engines; owned by the limiter set */
	int in_flight;       /* attempts of this engine */
	struct call_list queue; /* waiting for the limiter to let them go */
	struct timer budget; /* wakes the queue when the rate budget refills */
	struct rng rng;      /* jitter */
	/* Counters for the summary and metrics. */
	int64_t n_attempts, n_retries, n_throttles, n_ok, n_failed;
};

/*
 * Drivers that use libcurl put this first in their per-transfer state and
 * set it as the easy handle's CURLOPT_PRIVATE; the engine calls done when
 * the transfer ends, with its CURLcode.
 */
struct curl_xfer {
	void (*done)(struct curl_xfer *x, int curl_code);
};

/*
 * engine_new makes an engine; the caller owns it (engine_free). Engines
 * that share limits (one per runner thread) share one limiter set; NULL
 * gives the engine a set of its own.
 */
struct limiter_set;
struct engine *engine_new(struct limiter_set *limits, struct err *e);
void engine_free(struct engine *eng);
/*
 * engine_backend opens (once) and returns the runtime of backend cfg in
 * this engine. The configuration must outlive the engine.
 */
struct ebackend *engine_backend(struct engine *eng, const struct backend_cfg *cfg,
				struct err *e);
/* engine_submit queues c; c must stay alive until its done callback ran. */
void engine_submit(struct engine *eng, struct call *c);
/*
 * engine_step runs due work and waits at most wait_ms for more. Returns the
 * number of calls still queued or in flight.
 */
size_t engine_step(struct engine *eng, int wait_ms);
/* engine_pending is the number of calls not yet done. */
size_t engine_pending(const struct engine *eng);
/* engine_cancel_all finishes every unfinished call as CALL_CANCELED. */
void engine_cancel_all(struct engine *eng);
/*
 * engine_cancel_call finishes c as CALL_CANCELED if it is not done (its
 * done callback runs now); an attempt in flight is abandoned.
 */
void engine_cancel_call(struct engine *eng, struct call *c);
/* engine_wake interrupts a wait in engine_step (safe from signal handlers). */
void engine_wake(struct engine *eng);
/* engine_call_reset frees a call's results so that it can be submitted again. */
void engine_call_reset(struct call *c);

/* For drivers. */
void engine_attempt_done(struct call *c, struct attempt_result *r);
void engine_timer_add(struct engine *eng, struct timer *t, int64_t at);
void engine_timer_cancel(struct engine *eng, struct timer *t);
void engine_timer_init(struct timer *t, void (*fn)(struct timer *t));
int64_t engine_now(const struct engine *eng);
/* engine_curl_multi returns the engine's CURLM handle, for drivers on libcurl. */
void *engine_curl_multi(struct engine *eng);

/* Retry policy (retry.c). */
/* retry_is_retryable says whether an attempt's failure may be tried again. */
bool retry_is_retryable(int status, enum net_error net);
/*
 * retry_backoff_ms is the wait before attempt number `attempt` (2 for the
 * first retry): full jitter over an exponential ceiling, never less than
 * the server's Retry-After.
 */
int64_t retry_backoff_ms(int attempt, int base_ms, int max_ms, int64_t retry_after_ms,
			 struct rng *rng);
/* retry_error_code maps a final failure to the record's errorCode. */
int retry_error_code(int status, enum net_error net, bool malformed);

/* Drivers. */
const struct backend_driver *backend_driver_for(enum backend_kind k);

#endif
