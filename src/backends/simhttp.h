/* simhttp.h - the simulator over HTTP: OpenAI, Anthropic and Bedrock-runtime dialects. */
#ifndef BARGE_SIMHTTP_H
#define BARGE_SIMHTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "util/config.h"
#include "util/err.h"

/*
 * simhttp answers model requests with simcore's answers, after the latency
 * a real server would take, and injects the configured faults. It is the
 * handler of an http_server (simhttp_handle); `barge sim-server` wires the
 * two together. Answers that take time wait in one heap served by one timer
 * thread, so that a slow answer holds neither a thread nor a polling slot.
 */

#define SIMHTTP_MAX_ARRIVALS 200000
#define SIMHTTP_MAX_PATHS 64
#define SIMHTTP_PATH_KEY_MAX 128
#define SIMHTTP_N_FAULTS 7

struct simhttp_opts {
	/* ttft_ms, itl_ms, max_seqs, fail_rate, fail_types, seed, retry_after_s */
	struct backend_cfg sim;
	int64_t hang_ms;            /* how long a "timeout" fault holds a request */
	const char *api_key;        /* borrowed; NULL: no key is required */
	/* When set (borrowed), Bedrock requests must carry a valid SigV4 signature. */
	const char *aws_access_key_id;
	const char *aws_secret_access_key;
	const struct config *conf;  /* borrowed: the models Bedrock paths may name */
};

/* What /stats reports; see simhttp_stats_json for the format. */
struct simhttp_stats {
	int64_t requests;
	int64_t by_status[1000];
	int64_t faults[SIMHTTP_N_FAULTS]; /* in the order of enum sim_fault_bit */
	int64_t rejected;                 /* answered 429 because max_seqs were busy */
	int64_t in_flight;                /* being generated now */
	int64_t max_in_flight;
	struct {
		char path[SIMHTTP_PATH_KEY_MAX];
		int64_t n;
	} paths[SIMHTTP_MAX_PATHS];
	size_t n_paths;
	int64_t other_paths; /* requests whose path did not fit the table */
	int64_t tokens_in, tokens_out;
	uint32_t *arrivals;  /* ms since start, the first SIMHTTP_MAX_ARRIVALS requests */
	size_t n_arrivals;
};

struct sim_held;

/* The simulator. Its members are private to simhttp.c. */
struct simhttp {
	struct simhttp_opts o;
	struct backend_cfg nofault; /* o.sim without faults, for sim_respond */
	pthread_mutex_t mu;         /* guards everything below */
	pthread_cond_t wake;        /* the timer thread waits on it (CLOCK_MONOTONIC) */
	pthread_t timer;
	bool timer_running;
	bool stopping;
	struct sim_held **heap;     /* held answers, soonest first */
	size_t n_heap, cap_heap;
	uint64_t next_order;        /* keeps answers due at the same ms in arrival order */
	uint64_t next_seq;          /* request number, for request ids */
	/*
	 * How many times each request body has been seen (by hash): a body's
	 * n-th arrival draws its fault from (seed, body, n), so a retried record
	 * meets the same faults whatever the timing of the run.
	 */
	uint64_t *seen_keys;
	uint32_t *seen_counts;
	size_t seen_cap, seen_n;
	int64_t t0_ms;              /* monotonic start, for arrivals_ms */
	struct simhttp_stats st;
};

/*
 * simhttp_init prepares s with a copy of o (o's pointers stay borrowed and
 * must outlive s). The caller owns s; release it with simhttp_free.
 */
int simhttp_init(struct simhttp *s, const struct simhttp_opts *o, struct err *e);

/* simhttp_start starts the timer thread that sends held answers. */
int simhttp_start(struct simhttp *s, struct err *e);

/*
 * simhttp_handle is the http_handler_fn: ud is the struct simhttp. Every
 * request is answered, at once or from the timer thread.
 */
void simhttp_handle(void *ud, struct http_request *req);

/*
 * simhttp_stop closes every held request's connection without an answer
 * and stops the timer thread; requests that arrive afterwards are closed at
 * once. Call it before http_server_stop, which waits for those answers.
 */
void simhttp_stop(struct simhttp *s);

/* simhttp_free stops s if needed and releases what it holds; s stays the caller's. */
void simhttp_free(struct simhttp *s);

#endif
