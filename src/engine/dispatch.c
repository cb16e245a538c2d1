/* dispatch.c - the engine loop: queues, attempts, timeouts, retries, timers. */
#define _GNU_SOURCE
#include "engine/engine.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENGINE_MAX_BACKENDS 64
#define ENGINE_MAX_TIMERS (1u << 22)

struct call_list {
	struct call *head, *tail;
	size_t n;
};

struct engine {
	struct timer **heap;
	size_t nheap, capheap;
	struct ebackend *backends[ENGINE_MAX_BACKENDS];
	struct call_list inflight[ENGINE_MAX_BACKENDS];
	size_t nbackends;
	struct call_list ready;   /* attempts with a result to handle */
	struct call_list backoff; /* waiting before a retry */
	size_t pending;
	int wake[2];
	int64_t now;
};

static void list_push(struct call_list *l, struct call *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void list_del(struct call_list *l, struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->next = c->prev = NULL;
	l->n--;
}

static size_t backend_index(struct engine *eng, struct ebackend *b)
{
	for (size_t i = 0; i < eng->nbackends; i++) {
		if (eng->backends[i] == b)
			return i;
	}
	return 0;
}

/* ---- timers: a binary min-heap on (at) ---- */

int64_t engine_now(const struct engine *eng)
{
	return eng->now;
}

void engine_timer_init(struct timer *t, void (*fn)(struct timer *t))
{
	t->at = 0;
	t->fn = fn;
	t->idx = SIZE_MAX;
}

static void heap_swap(struct engine *eng, size_t a, size_t b)
{
	struct timer *t = eng->heap[a];

	eng->heap[a] = eng->heap[b];
	eng->heap[b] = t;
	eng->heap[a]->idx = a;
	eng->heap[b]->idx = b;
}

static void heap_up(struct engine *eng, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (eng->heap[p]->at <= eng->heap[i]->at)
			break;
		heap_swap(eng, p, i);
		i = p;
	}
}

static void heap_down(struct engine *eng, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < eng->nheap && eng->heap[l]->at < eng->heap[m]->at)
			m = l;
		if (r < eng->nheap && eng->heap[r]->at < eng->heap[m]->at)
			m = r;
		if (m == i)
			break;
		heap_swap(eng, i, m);
		i = m;
	}
}

void engine_timer_cancel(struct engine *eng, struct timer *t)
{
	size_t i = t->idx;

	if (i == SIZE_MAX)
		return;
	t->idx = SIZE_MAX;
	eng->nheap--;
	if (i == eng->nheap)
		return;
	eng->heap[i] = eng->heap[eng->nheap];
	eng->heap[i]->idx = i;
	heap_down(eng, i);
	heap_up(eng, i);
}

void engine_timer_add(struct engine *eng, struct timer *t, int64_t at)
{
	engine_timer_cancel(eng, t);
	if (eng->nheap == eng->capheap) {
		size_t ncap = eng->capheap ? eng->capheap * 2 : 256;
		struct timer **nh;

		/*
		 * The heap holds at most one timer per call and one per driver
		 * slot, so it is bounded by the work in flight; the cap is a
		 * backstop against a runaway caller.
		 */
		if (ncap > ENGINE_MAX_TIMERS ||
		    !(nh = realloc(eng->heap, ncap * sizeof(*nh)))) {
			log_error("engine: timer heap cannot grow past %zu entries", eng->capheap);
			abort();
		}
		eng->heap = nh;
		eng->capheap = ncap;
	}
	t->at = at;
	t->idx = eng->nheap;
	eng->heap[eng->nheap++] = t;
	heap_up(eng, t->idx);
}

/* run_timers fires every timer due by now; returns how many fired. */
static size_t run_timers(struct engine *eng)
{
	size_t fired = 0;

	while (eng->nheap > 0 && eng->heap[0]->at <= eng->now) {
		struct timer *t = eng->heap[0];

		engine_timer_cancel(eng, t);
		t->fn(t);
		fired++;
	}
	return fired;
}

/* ---- calls ---- */

struct engine *engine_new(struct err *e)
{
	struct engine *eng = calloc(1, sizeof(*eng));

	if (!eng) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (pipe2(eng->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		err_set(e, ERR_IO, "cannot create the engine's wake pipe: %s", strerror(errno));
		free(eng);
		return NULL;
	}
	eng->now = time_mono_ms();
	return eng;
}

void engine_free(struct engine *eng)
{
	if (!eng)
		return;
	engine_cancel_all(eng);
	for (size_t i = 0; i < eng->nbackends; i++) {
		struct ebackend *b = eng->backends[i];

		if (b->drv->close)
			b->drv->close(b);
		free(b);
	}
	close(eng->wake[0]);
	close(eng->wake[1]);
	free(eng->heap);
	free(eng);
}

struct ebackend *engine_backend(struct engine *eng, const struct backend_cfg *cfg,
				struct err *e)
{
	struct ebackend *b;

	for (size_t i = 0; i < eng->nbackends; i++) {
		if (eng->backends[i]->cfg == cfg)
			return eng->backends[i];
	}
	if (eng->nbackends == ENGINE_MAX_BACKENDS) {
		err_set(e, ERR_LIMIT, "more than %d backends in one engine", ENGINE_MAX_BACKENDS);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	b->eng = eng;
	b->cfg = cfg;
	b->drv = backend_driver_for(cfg->kind);
	b->limit = cfg->max_concurrency > 0 ? cfg->max_concurrency : 1;
	rng_seed(&b->rng, cfg->seed ^ (uint64_t)time_now_ms());
	if (!b->drv) {
		err_set(e, ERR_CONFIG, "backend %s: kind %s is not supported by this build", cfg->name,
			config_kind_name(cfg->kind));
		free(b);
		return NULL;
	}
	if (b->drv->open && b->drv->open(b, e)) {
		err_prefix(e, "backend %s", cfg->name);
		free(b);
		return NULL;
	}
	eng->backends[eng->nbackends++] = b;
	return b;
}

static void on_attempt_timeout(struct timer *t);
static void on_backoff_over(struct timer *t);

void engine_call_reset(struct call *c)
{
	json_object_put(c->resp);
	c->resp = NULL;
	free(c->ar.body);
	memset(&c->ar, 0, sizeof(c->ar));
	c->ar_ready = false;
	c->outcome = CALL_OK;
	c->status = 0;
	c->error_code = 0;
	c->error_msg[0] = '\0';
	c->attempts = c->retries = c->throttles = 0;
	c->hdr_input_tokens = c->hdr_output_tokens = -1;
	c->state = CS_IDLE;
}

void engine_submit(struct engine *eng, struct call *c)
{
	struct ebackend *b = c->be;

	engine_call_reset(c);
	engine_timer_init(&c->timer, on_attempt_timeout);
	c->state = CS_QUEUED;
	c->next = c->prev = NULL;
	if (b->qtail)
		b->qtail->next = c;
	else
		b->qhead = c;
	c->prev = b->qtail;
	b->qtail = c;
	b->queued++;
	eng->pending++;
}

static struct call *queue_pop(struct ebackend *b)
{
	struct call *c = b->qhead;

	if (!c)
		return NULL;
	b->qhead = c->next;
	if (b->qhead)
		b->qhead->prev = NULL;
	else
		b->qtail = NULL;
	c->next = c->prev = NULL;
	b->queued--;
	return c;
}

static void queue_push_front(struct ebackend *b, struct call *c)
{
	c->prev = NULL;
	c->next = b->qhead;
	if (b->qhead)
		b->qhead->prev = c;
	else
		b->qtail = c;
	b->qhead = c;
	b->queued++;
}

/* pump starts queued calls while the backend has room. */
static void pump(struct engine *eng, struct ebackend *b)
{
	size_t bi = backend_index(eng, b);

	while (b->in_flight < b->limit && b->qhead) {
		struct call *c = queue_pop(b);

		c->attempts++;
		c->state = CS_IN_FLIGHT;
		c->attempt_started = eng->now;
		b->in_flight++;
		b->n_attempts++;
		list_push(&eng->inflight[bi], c);
		c->timer.fn = on_attempt_timeout;
		engine_timer_add(eng, &c->timer,
				 eng->now + (int64_t)(b->cfg->timeout_s * 1000.0 + 0.5));
		b->drv->start(b, c);
	}
}

void engine_attempt_done(struct call *c, struct attempt_result *r)
{
	struct engine *eng = c->be->eng;
	size_t bi;

	if (c->state != CS_IN_FLIGHT || c->ar_ready) {
		/* A driver bug; keep the engine consistent and say so. */
		log_error("engine: a result arrived for a call that is not in flight");
		free(r->body);
		return;
	}
	c->ar = *r;
	c->ar_ready = true;
	bi = backend_index(eng, c->be);
	list_del(&eng->inflight[bi], c);
	list_push(&eng->ready, c);
}

static void on_attempt_timeout(struct timer *t)
{
	struct call *c = (struct call *)((char *)t - offsetof(struct call, timer));
	struct attempt_result r = {0};

	c->be->drv->cancel(c->be, c);
	r.net = NET_TIMEOUT;
	r.retry_after_ms = -1;
	r.hdr_input_tokens = r.hdr_output_tokens = -1;
	snprintf(r.msg, sizeof(r.msg), "no answer within timeout_s = %g s", c->be->cfg->timeout_s);
	engine_attempt_done(c, &r);
}

static void on_backoff_over(struct timer *t)
{
	struct call *c = (struct call *)((char *)t - offsetof(struct call, timer));
	struct engine *eng = c->be->eng;

	list_del(&eng->backoff, c);
	c->state = CS_QUEUED;
	/* A retried call has waited already: it goes first. */
	queue_push_front(c->be, c);
}

static void finish(struct engine *eng, struct call *c, enum call_outcome o)
{
	c->outcome = o;
	c->state = CS_DONE;
	eng->pending--;
	if (o == CALL_OK)
		c->be->n_ok++;
	else if (o == CALL_FAILED)
		c->be->n_failed++;
	c->done(c);
	json_object_put(c->resp);
	c->resp = NULL;
	free(c->ar.body);
	c->ar.body = NULL;
}

/*
 * error_detail puts the backend's own message in c->error_msg: the
 * "message" of an OpenAI, Anthropic or AWS error body when there is one,
 * else the start of the body.
 */
static void error_detail(struct call *c)
{
	const struct attempt_result *r = &c->ar;
	json_object *o = NULL, *er;
	const char *m = NULL;
	struct err e;

	if (r->net != NET_NONE) {
		snprintf(c->error_msg, sizeof(c->error_msg), "%s",
			 r->msg[0] ? r->msg : "the backend could not be reached");
		return;
	}
	if (r->body && r->body_len && !json_parse(r->body, r->body_len, &o, &e)) {
		er = json_get(o, "error");
		m = json_get_str(er, "message");
		if (!m)
			m = json_get_str(o, "message");
		if (!m)
			m = json_get_str(o, "Message");
		if (!m && json_is_type(er, json_type_string))
			m = json_object_get_string(er);
	}
	if (m)
		snprintf(c->error_msg, sizeof(c->error_msg), "backend answered %d: %s", r->status, m);
	else if (r->body_len)
		snprintf(c->error_msg, sizeof(c->error_msg), "backend answered %d: %.200s", r->status,
			 r->body);
	else
		snprintf(c->error_msg, sizeof(c->error_msg), "backend answered %d", r->status);
	json_object_put(o);
}

/* handle decides what an attempt's result means for its call. */
static void handle(struct engine *eng, struct call *c)
{
	struct ebackend *b = c->be;
	struct attempt_result *r = &c->ar;
	bool malformed = false, retry;
	struct err e;

	engine_timer_cancel(eng, &c->timer);
	b->in_flight--;
	c->ar_ready = false;
	c->status = r->status;
	c->hdr_input_tokens = r->hdr_input_tokens;
	c->hdr_output_tokens = r->hdr_output_tokens;
	if (r->net == NET_NONE && r->status >= 200 && r->status < 300) {
		json_object *o = NULL;

		if (!json_parse(r->body ? r->body : "", r->body_len, &o, &e) &&
		    json_is_type(o, json_type_object)) {
			c->resp = o;
			finish(eng, c, CALL_OK);
			return;
		}
		json_object_put(o);
		malformed = true;
		snprintf(c->error_msg, sizeof(c->error_msg),
			 "backend answered %d with a body that is not a JSON object: %s", r->status,
			 e.msg);
	} else {
		error_detail(c);
	}
	if (r->status == 429 || r->status == 503 || r->status == 529) {
		c->throttles++;
		b->n_throttles++;
	}
	retry = malformed || retry_is_retryable(r->status, r->net);
	if (retry && c->attempts < b->cfg->max_attempts) {
		int64_t wait = retry_backoff_ms(c->attempts + 1, b->cfg->retry_base_ms,
						b->cfg->retry_max_ms, r->retry_after_ms, &b->rng);

		free(r->body);
		r->body = NULL;
		c->retries++;
		b->n_retries++;
		c->state = CS_BACKOFF;
		list_push(&eng->backoff, c);
		c->timer.fn = on_backoff_over;
		engine_timer_add(eng, &c->timer, eng->now + wait);
		return;
	}
	c->error_code = retry_error_code(r->status, r->net, malformed);
	if (retry && c->attempts > 1) {
		size_t n = strlen(c->error_msg);

		snprintf(c->error_msg + n, sizeof(c->error_msg) - n, " (after %d attempts)",
			 c->attempts);
	}
	finish(eng, c, CALL_FAILED);
}

static void drain_ready(struct engine *eng)
{
	struct call *c;

	while ((c = eng->ready.head)) {
		list_del(&eng->ready, c);
		handle(eng, c);
	}
}

static void pump_all(struct engine *eng)
{
	for (size_t i = 0; i < eng->nbackends; i++)
		pump(eng, eng->backends[i]);
}

size_t engine_pending(const struct engine *eng)
{
	return eng->pending;
}

size_t engine_step(struct engine *eng, int wait_ms)
{
	struct pollfd pfd;
	int64_t until;
	char drain[64];

	eng->now = time_mono_ms();
	pump_all(eng);
	drain_ready(eng);
	run_timers(eng);
	drain_ready(eng);
	pump_all(eng);
	if (eng->ready.n)
		return eng->pending;
	until = eng->now + wait_ms;
	if (eng->nheap && eng->heap[0]->at < until)
		until = eng->heap[0]->at;
	if (until > eng->now) {
		pfd.fd = eng->wake[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(until - eng->now)) > 0) {
			while (read(eng->wake[0], drain, sizeof(drain)) > 0)
				;
		}
		eng->now = time_mono_ms();
	}
	run_timers(eng);
	drain_ready(eng);
	pump_all(eng);
	return eng->pending;
}

void engine_wake(struct engine *eng)
{
	char c = 1;
	ssize_t r = write(eng->wake[1], &c, 1);

	(void)r;
}

void engine_cancel_all(struct engine *eng)
{
	struct call *c;

	for (size_t i = 0; i < eng->nbackends; i++) {
		struct ebackend *b = eng->backends[i];

		while ((c = queue_pop(b)))
			finish(eng, c, CALL_CANCELED);
		while ((c = eng->inflight[i].head)) {
			list_del(&eng->inflight[i], c);
			engine_timer_cancel(eng, &c->timer);
			b->drv->cancel(b, c);
			b->in_flight--;
			finish(eng, c, CALL_CANCELED);
		}
	}
	while ((c = eng->ready.head)) {
		list_del(&eng->ready, c);
		engine_timer_cancel(eng, &c->timer);
		c->be->in_flight--;
		finish(eng, c, CALL_CANCELED);
	}
	while ((c = eng->backoff.head)) {
		list_del(&eng->backoff, c);
		engine_timer_cancel(eng, &c->timer);
		finish(eng, c, CALL_CANCELED);
	}
}
