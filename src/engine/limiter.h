/* limiter.h - a backend's shared limits: concurrency (adaptive), RPM, TPM, down. */
#ifndef BARGE_LIMITER_H
#define BARGE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/config.h"

/*
 * One limiter per configured backend, shared by every engine (thread) and
 * every job that sends to it, so the backend sees one client.
 *
 * - Concurrency: at most `limit` attempts in flight. The limit starts at
 *   max_concurrency, is cut by a tenth when the backend throttles (429,
 *   503, 529) or times out, at most once per round trip, and grows by one
 *   per `limit` successes while it is in use, never above max_concurrency.
 * - requests_per_minute and tokens_per_minute: token buckets holding one
 *   second of budget, refilled continuously. Tokens are estimated before an
 *   attempt and corrected with the answer's usage afterwards.
 * - Down: when the backend cannot be reached, dispatch pauses; one probe at
 *   a time is let through (after 1 s, then doubling up to 30 s) until one
 *   gets an answer.
 */
struct limiter;

enum lim_outcome {
	LIM_OK,        /* an answer that says nothing about load */
	LIM_THROTTLED, /* 429, 503, 529 or a timeout: too much load */
	LIM_DOWN,      /* could not connect: the backend is down */
	LIM_CANCELED   /* abandoned before an answer */
};

/*
 * A limiter set hands out one limiter per backend configuration, so that
 * engines on several threads share them. The set owns its limiters.
 */
struct limiter_set;
struct limiter_set *limiter_set_new(void);
void limiter_set_free(struct limiter_set *s);
/* limiter_set_get returns the limiter of cfg, creating it; NULL when out of memory. */
struct limiter *limiter_set_get(struct limiter_set *s, const struct backend_cfg *cfg);

/* limiter_new returns a limiter for cfg (borrowed, must outlive it), or NULL. */
struct limiter *limiter_new(const struct backend_cfg *cfg);
void limiter_free(struct limiter *l);

/*
 * Times are monotonic milliseconds (time_mono_ms), the same in every thread.
 *
 * limiter_acquire asks to start an attempt of est_tokens tokens at now_ms.
 * Returns 0 when it may start (a slot and the budget are taken; *probe says
 * whether it is the probe of a down backend), a positive number of
 * milliseconds to wait for budget, or -1 when every slot is taken (wait for
 * a release).
 */
int64_t limiter_acquire(struct limiter *l, int64_t now_ms, int64_t est_tokens, bool *probe);

/*
 * limiter_release returns the slot of an attempt that started at sent_ms,
 * with what came of it; actual_tokens (or -1 when unknown) corrects the
 * token budget taken by its estimate.
 */
void limiter_release(struct limiter *l, int64_t now_ms, int64_t sent_ms, enum lim_outcome o,
		     bool probe, int64_t est_tokens, int64_t actual_tokens);

/*
 * limiter_correct_tokens settles the token budget of an attempt whose usage
 * became known after its release: est was taken, actual was used.
 */
void limiter_correct_tokens(struct limiter *l, int64_t est_tokens, int64_t actual_tokens);

/* A snapshot for progress and metrics. */
#define LIMITER_BUCKETS 11
extern const double limiter_bucket_s[LIMITER_BUCKETS]; /* upper bounds, seconds; last is +Inf */

struct limiter_state {
	const char *backend; /* the backend's name */
	int limit;
	int in_flight;
	bool down;
	int64_t down_since_ms;
	int64_t cuts;
	/* Attempts by outcome, retries, and the latency of answered attempts. */
	int64_t ok, throttled, unreachable, canceled, retries;
	int64_t latency_buckets[LIMITER_BUCKETS]; /* cumulative, as Prometheus wants */
	double latency_sum_s;
	int64_t latency_count;
};
void limiter_state(struct limiter *l, struct limiter_state *s);
/* limiter_note_retry counts one retry scheduled for the backend. */
void limiter_note_retry(struct limiter *l);
/* limiter_set_list writes up to max of the set's limiters to out; returns how many. */
size_t limiter_set_list(struct limiter_set *s, struct limiter **out, size_t max);

#endif
