/* limiter.c - a backend's shared limits: concurrency (adaptive), RPM, TPM, down. */
#include "engine/limiter.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_FIRST_MS 1000
#define PROBE_MAX_MS 30000
/* A cut keeps nine tenths: gentle enough to stay near a server's capacity. */
#define CUT_FACTOR 0.9

struct bucket {
	double rate_per_ms; /* 0: unlimited */
	double cap;
	double level;
	int64_t last_ms;
};

struct limiter {
	pthread_mutex_t mu;
	const struct backend_cfg *cfg;
	double limit;      /* fractional so that growth can be gradual */
	int in_flight;
	int64_t last_cut_ms;
	int64_t cuts;
	struct bucket rpm, tpm;
	bool down;
	int64_t down_since_ms;
	int64_t next_probe_ms;
	int64_t probe_wait_ms;
	bool probing;
	int64_t ok, throttled, unreachable, canceled, retries;
	int64_t buckets[LIMITER_BUCKETS];
	double latency_sum_s;
	int64_t latency_count;
};

const double limiter_bucket_s[LIMITER_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1, 2.5,
						  5,    10,  30,   60,  1e300};

static void bucket_init(struct bucket *b, double per_minute, int64_t now)
{
	b->rate_per_ms = per_minute / 60000.0;
	/* One second of budget, and room for at least one request. */
	b->cap = per_minute / 60.0;
	if (b->cap < 1)
		b->cap = 1;
	b->level = b->cap;
	b->last_ms = now;
}

static void bucket_refill(struct bucket *b, int64_t now)
{
	if (b->rate_per_ms <= 0 || now <= b->last_ms)
		return;
	b->level += (double)(now - b->last_ms) * b->rate_per_ms;
	if (b->level > b->cap)
		b->level = b->cap;
	b->last_ms = now;
}

/* bucket_wait is 0 when n can be taken now, else the ms until it can. */
static int64_t bucket_wait(struct bucket *b, double n)
{
	double need;

	if (b->rate_per_ms <= 0)
		return 0;
	/* A request larger than the whole bucket goes when the bucket is full. */
	need = n < b->cap ? n : b->cap;
	if (b->level >= need)
		return 0;
	return (int64_t)((need - b->level) / b->rate_per_ms) + 1;
}

struct limiter *limiter_new(const struct backend_cfg *cfg)
{
	struct limiter *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	l->cfg = cfg;
	l->limit = cfg->max_concurrency > 0 ? cfg->max_concurrency : 1;
	bucket_init(&l->rpm, cfg->requests_per_minute, 0);
	bucket_init(&l->tpm, cfg->tokens_per_minute, 0);
	l->probe_wait_ms = PROBE_FIRST_MS;
	return l;
}

void limiter_free(struct limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l);
}

int64_t limiter_acquire(struct limiter *l, int64_t now_ms, int64_t est_tokens, bool *probe)
{
	int64_t wait, w2;

	*probe = false;
	pthread_mutex_lock(&l->mu);
	if (l->down) {
		if (l->probing || now_ms < l->next_probe_ms) {
			wait = l->probing ? -1 : l->next_probe_ms - now_ms;
			pthread_mutex_unlock(&l->mu);
			return wait;
		}
	} else if (l->in_flight >= (int)l->limit) {
		pthread_mutex_unlock(&l->mu);
		return -1;
	}
	bucket_refill(&l->rpm, now_ms);
	bucket_refill(&l->tpm, now_ms);
	wait = bucket_wait(&l->rpm, 1);
	w2 = bucket_wait(&l->tpm, (double)est_tokens);
	if (w2 > wait)
		wait = w2;
	if (wait > 0) {
		pthread_mutex_unlock(&l->mu);
		return wait;
	}
	if (l->rpm.rate_per_ms > 0)
		l->rpm.level -= 1;
	if (l->tpm.rate_per_ms > 0)
		l->tpm.level -= (double)est_tokens;
	l->in_flight++;
	if (l->down) {
		l->probing = true;
		*probe = true;
	}
	pthread_mutex_unlock(&l->mu);
	return 0;
}

static void correct_locked(struct limiter *l, int64_t est_tokens, int64_t actual_tokens)
{
	if (l->tpm.rate_per_ms > 0 && actual_tokens >= 0) {
		/* Give back what the estimate took too much, or take what it missed. */
		l->tpm.level += (double)(est_tokens - actual_tokens);
		if (l->tpm.level > l->tpm.cap)
			l->tpm.level = l->tpm.cap;
	}
}

void limiter_correct_tokens(struct limiter *l, int64_t est_tokens, int64_t actual_tokens)
{
	pthread_mutex_lock(&l->mu);
	correct_locked(l, est_tokens, actual_tokens);
	pthread_mutex_unlock(&l->mu);
}

void limiter_release(struct limiter *l, int64_t now_ms, int64_t sent_ms, enum lim_outcome o,
		     bool probe, int64_t est_tokens, int64_t actual_tokens)
{
	double max = l->cfg->max_concurrency > 0 ? l->cfg->max_concurrency : 1;

	pthread_mutex_lock(&l->mu);
	l->in_flight--;
	correct_locked(l, est_tokens, actual_tokens);
	if (o != LIM_CANCELED && o != LIM_DOWN) {
		double s = (double)(now_ms - sent_ms) / 1000.0;

		for (int i = 0; i < LIMITER_BUCKETS; i++) {
			if (s <= limiter_bucket_s[i])
				l->buckets[i]++;
		}
		l->latency_sum_s += s;
		l->latency_count++;
	}
	switch (o) {
	case LIM_OK: l->ok++; break;
	case LIM_THROTTLED: l->throttled++; break;
	case LIM_DOWN: l->unreachable++; break;
	case LIM_CANCELED: l->canceled++; break;
	}
	if (probe)
		l->probing = false;
	switch (o) {
	case LIM_DOWN:
		if (!l->down) {
			l->down = true;
			l->down_since_ms = now_ms;
			l->probe_wait_ms = PROBE_FIRST_MS;
			l->next_probe_ms = now_ms + l->probe_wait_ms;
		} else if (probe) {
			l->probe_wait_ms *= 2;
			if (l->probe_wait_ms > PROBE_MAX_MS)
				l->probe_wait_ms = PROBE_MAX_MS;
			l->next_probe_ms = now_ms + l->probe_wait_ms;
		}
		break;
	case LIM_THROTTLED:
		l->down = false;
		/*
		 * One cut per round trip: the attempts sent before the last cut
		 * were sent under the old limit, so their throttles are not news.
		 */
		if (sent_ms > l->last_cut_ms) {
			double base = l->in_flight + 1 < l->limit ? l->in_flight + 1 : l->limit;

			l->limit = base * CUT_FACTOR;
			if (l->limit < 1)
				l->limit = 1;
			l->last_cut_ms = now_ms;
			l->cuts++;
		}
		break;
	case LIM_OK:
		l->down = false;
		/* Grow only a limit that is in use: idle headroom proves nothing. */
		if (l->in_flight + 1 >= (int)l->limit && l->limit < max) {
			l->limit += 1.0 / l->limit;
			if (l->limit > max)
				l->limit = max;
		}
		break;
	case LIM_CANCELED:
		break;
	}
	pthread_mutex_unlock(&l->mu);
}

void limiter_note_retry(struct limiter *l)
{
	pthread_mutex_lock(&l->mu);
	l->retries++;
	pthread_mutex_unlock(&l->mu);
}

void limiter_state(struct limiter *l, struct limiter_state *s)
{
	pthread_mutex_lock(&l->mu);
	s->backend = l->cfg->name;
	s->ok = l->ok;
	s->throttled = l->throttled;
	s->unreachable = l->unreachable;
	s->canceled = l->canceled;
	s->retries = l->retries;
	memcpy(s->latency_buckets, l->buckets, sizeof(l->buckets));
	s->latency_sum_s = l->latency_sum_s;
	s->latency_count = l->latency_count;
	s->limit = (int)l->limit;
	s->in_flight = l->in_flight;
	s->down = l->down;
	s->down_since_ms = l->down_since_ms;
	s->cuts = l->cuts;
	pthread_mutex_unlock(&l->mu);
}

#define LIMITER_SET_MAX 256

struct limiter_set {
	pthread_mutex_t mu;
	struct limiter *v[LIMITER_SET_MAX];
	size_t n;
};

struct limiter_set *limiter_set_new(void)
{
	struct limiter_set *s = calloc(1, sizeof(*s));

	if (s)
		pthread_mutex_init(&s->mu, NULL);
	return s;
}

void limiter_set_free(struct limiter_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		limiter_free(s->v[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

size_t limiter_set_list(struct limiter_set *s, struct limiter **out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	for (n = 0; n < s->n && n < max; n++)
		out[n] = s->v[n];
	pthread_mutex_unlock(&s->mu);
	return n;
}

struct limiter *limiter_set_get(struct limiter_set *s, const struct backend_cfg *cfg)
{
	struct limiter *l = NULL;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i]->cfg == cfg) {
			l = s->v[i];
			break;
		}
	}
	if (!l && s->n < LIMITER_SET_MAX && (l = limiter_new(cfg)))
		s->v[s->n++] = l;
	pthread_mutex_unlock(&s->mu);
	return l;
}
