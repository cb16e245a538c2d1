/* dispatch.c - the engine loop: queues, attempts, timeouts, retries, timers. */
#define _GNU_SOURCE
#include "engine/engine.h"
#include "engine/limiter.h"
#include "util/json.h"
#include "util/log.h"
#include "util/rlimit.h"
#include "util/time.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ENGINE_MAX_BACKENDS 64
#define ENGINE_MAX_TIMERS (1u << 22)

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
	int epfd;
	CURLM *multi;
	struct timer curl_timer;  /* when libcurl wants to be called back */
	struct limiter_set *limits;
	bool own_limits;
	int64_t now;
};

#define ENGINE_EVENTS 256

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

static void list_push_front(struct call_list *l, struct call *c)
{
	c->prev = NULL;
	c->next = l->head;
	if (l->head)
		l->head->prev = c;
	else
		l->tail = c;
	l->head = c;
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

/* ---- libcurl: sockets in our epoll set, its timeout in our timer heap ---- */

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct engine *eng = userp;
	struct epoll_event ev = {0};

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(eng->multi, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = fd;
	if (socketp) {
		epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev);
	} else {
		if (epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 && errno == EEXIST)
			epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev);
		/* Any non-NULL marker says the socket is in the set. */
		curl_multi_assign(eng->multi, fd, eng);
	}
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct engine *eng = userp;

	(void)multi;
	if (timeout_ms < 0)
		engine_timer_cancel(eng, &eng->curl_timer);
	else
		engine_timer_add(eng, &eng->curl_timer, time_mono_ms() + timeout_ms);
	return 0;
}

/* curl_finished hands every finished transfer to its driver. */
static void curl_finished(struct engine *eng)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(eng->multi, &left))) {
		struct curl_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x)
			x->done(x, (int)m->data.result);
	}
}

static void on_curl_timeout(struct timer *t)
{
	struct engine *eng = (struct engine *)((char *)t - offsetof(struct engine, curl_timer));
	int running;

	curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curl_finished(eng);
}

/*
 * engine_curl_multi makes the engine's libcurl multi handle on first use:
 * an engine that only drives the in-process simulator never loads TLS.
 * Returns NULL when libcurl cannot make one.
 */
void *engine_curl_multi(struct engine *eng)
{
	if (eng->multi)
		return eng->multi;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	eng->multi = curl_multi_init();
	if (!eng->multi)
		return NULL;
	curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, eng);
	curl_multi_setopt(eng->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(eng->multi, CURLMOPT_TIMERDATA, eng);
	/* HTTP/2 multiplexes requests on one connection where a backend offers it. */
	curl_multi_setopt(eng->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return eng->multi;
}

struct engine *engine_new(struct limiter_set *limits, struct err *e)
{
	struct engine *eng = calloc(1, sizeof(*eng));
	struct epoll_event ev = {0};

	if (!eng) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	eng->wake[0] = eng->wake[1] = eng->epfd = -1;
	rlimit_raise_nofile();
	eng->limits = limits;
	if (!limits) {
		eng->limits = limiter_set_new();
		eng->own_limits = true;
	}
	if (!eng->limits) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (pipe2(eng->wake, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    (eng->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		err_set(e, ERR_IO, "cannot create the engine's event loop: %s", strerror(errno));
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.fd = eng->wake[0];
	epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->wake[0], &ev);
	engine_timer_init(&eng->curl_timer, on_curl_timeout);
	eng->now = time_mono_ms();
	return eng;
fail:
	if (eng->own_limits)
		limiter_set_free(eng->limits);
	if (eng->wake[0] >= 0) {
		close(eng->wake[0]);
		close(eng->wake[1]);
	}
	if (eng->epfd >= 0)
		close(eng->epfd);
	free(eng);
	return NULL;
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
	if (eng->multi)
		curl_multi_cleanup(eng->multi);
	close(eng->wake[0]);
	close(eng->wake[1]);
	close(eng->epfd);
	if (eng->own_limits)
		limiter_set_free(eng->limits);
	free(eng->heap);
	free(eng);
}

static void on_attempt_timeout(struct timer *t);
static void on_backoff_over(struct timer *t);

/* on_budget fires when a backend's rate budget has refilled: nothing to do
 * but wake up, since the loop pumps every queue after timers. */
static void on_budget(struct timer *t)
{
	(void)t;
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
	b->lim = limiter_set_get(eng->limits, cfg);
	engine_timer_init(&b->budget, on_budget);
	rng_seed(&b->rng, cfg->seed ^ (uint64_t)time_now_ms());
	if (!b->lim) {
		err_set(e, ERR_NOMEM, "out of memory");
		free(b);
		return NULL;
	}
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

void engine_call_reset(struct call *c)
{
	free(c->ar.body);
	memset(&c->ar, 0, sizeof(c->ar));
	c->ar_ready = false;
	c->outcome = CALL_OK;
	c->status = 0;
	c->error_code = 0;
	c->error_msg[0] = '\0';
	c->attempts = c->retries = c->throttles = 0;
	c->hdr_input_tokens = c->hdr_output_tokens = -1;
	c->actual_tokens = -1;
	c->probe = false;
	c->state = CS_IDLE;
}

void engine_submit(struct engine *eng, struct call *c)
{
	engine_call_reset(c);
	engine_timer_init(&c->timer, on_attempt_timeout);
	c->state = CS_QUEUED;
	list_push(&c->be->queue, c);
	eng->pending++;
}

static struct call *queue_pop(struct ebackend *b)
{
	struct call *c = b->queue.head;

	if (c)
		list_del(&b->queue, c);
	return c;
}

/* pump starts queued calls while the backend's limiter lets them go. */
static void pump(struct engine *eng, struct ebackend *b)
{
	size_t bi = backend_index(eng, b);

	while (b->queue.head) {
		bool probe;
		int64_t wait = limiter_acquire(b->lim, eng->now, b->queue.head->est_tokens, &probe);
		struct call *c;

		if (wait > 0) {
			if (b->budget.idx == SIZE_MAX || b->budget.at > eng->now + wait)
				engine_timer_add(eng, &b->budget, eng->now + wait);
			break;
		}
		if (wait < 0)
			break;
		c = queue_pop(b);
		c->probe = probe;
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
	list_push_front(&c->be->queue, c);
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
	if (o == CALL_OK && c->actual_tokens >= 0)
		limiter_correct_tokens(c->be->lim, c->est_tokens, c->actual_tokens);
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

	if (r->net != NET_NONE || r->msg[0]) {
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

/* outcome_of says what an attempt's result tells the limiter about load. */
static enum lim_outcome outcome_of(const struct attempt_result *r)
{
	if (r->net == NET_REFUSED)
		return LIM_DOWN;
	if (r->net == NET_TIMEOUT || r->status == 429 || r->status == 503 || r->status == 529)
		return LIM_THROTTLED;
	return LIM_OK;
}

/*
 * backend_down_too_long says whether records should stop waiting for a
 * backend that cannot be reached and fail instead (after max_down_s).
 */
static bool backend_down_too_long(struct ebackend *b, int64_t now)
{
	struct limiter_state st;

	limiter_state(b->lim, &st);
	return st.down && b->cfg->max_down_s > 0 &&
	       now - st.down_since_ms > (int64_t)b->cfg->max_down_s * 1000;
}

/* handle decides what an attempt's result means for its call. */
static void handle(struct engine *eng, struct call *c)
{
	struct ebackend *b = c->be;
	struct attempt_result *r = &c->ar;
	enum lim_outcome lo = outcome_of(r);
	bool malformed = false, retry;
	struct err e;

	engine_timer_cancel(eng, &c->timer);
	b->in_flight--;
	c->ar_ready = false;
	c->status = r->status;
	c->hdr_input_tokens = r->hdr_input_tokens;
	c->hdr_output_tokens = r->hdr_output_tokens;
	limiter_release(b->lim, eng->now, c->attempt_started, lo, c->probe, c->est_tokens, -1);
	if (lo == LIM_DOWN && !backend_down_too_long(b, eng->now)) {
		/*
		 * The backend could not be reached: this attempt does not count.
		 * The call waits at the head of the queue while the limiter
		 * pauses the backend and probes it.
		 */
		free(r->body);
		r->body = NULL;
		c->attempts--;
		c->state = CS_QUEUED;
		list_push_front(&b->queue, c);
		return;
	}
	if (r->net == NET_NONE && r->status >= 200 && r->status < 300) {
		/*
		 * The answer must be a JSON object; it is checked, not parsed:
		 * adapters that pass it through read it as bytes, and those
		 * that convert parse it themselves.
		 */
		size_t i = 0;

		while (i < r->body_len && strchr(" \t\r\n", r->body[i]))
			i++;
		err_init(&e);
		if (r->body && i < r->body_len && r->body[i] == '{' &&
		    !json_validate(r->body, r->body_len, &e)) {
			finish(eng, c, CALL_OK);
			return;
		}
		if (!e.msg[0])
			snprintf(e.msg, sizeof(e.msg), "not an object");
		malformed = true;
		snprintf(c->error_msg, sizeof(c->error_msg),
			 "backend answered %d with a body that is not a JSON object: %.200s",
			 r->status, e.msg);
	} else {
		error_detail(c);
	}
	if (lo == LIM_THROTTLED && r->net == NET_NONE) {
		c->throttles++;
		b->n_throttles++;
	}
	retry = !r->final && (malformed || retry_is_retryable(r->status, r->net));
	if (retry && c->attempts < b->cfg->max_attempts) {
		int64_t wait = retry_backoff_ms(c->attempts + 1, b->cfg->retry_base_ms,
						b->cfg->retry_max_ms, r->retry_after_ms, &b->rng);

		free(r->body);
		r->body = NULL;
		c->retries++;
		b->n_retries++;
		limiter_note_retry(b->lim);
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

/* wait_events waits up to ms for sockets or a wake-up and serves them. */
static void wait_events(struct engine *eng, int ms)
{
	struct epoll_event ev[ENGINE_EVENTS];
	char drain[64];
	int n, running;

	n = epoll_wait(eng->epfd, ev, ENGINE_EVENTS, ms);
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd;
		int flags = 0;

		if (fd == eng->wake[0]) {
			while (read(eng->wake[0], drain, sizeof(drain)) > 0)
				;
			continue;
		}
		if (ev[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(eng->multi, fd, flags, &running);
	}
	if (n > 0 && eng->multi)
		curl_finished(eng);
}

size_t engine_step(struct engine *eng, int wait_ms)
{
	int64_t until;

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
	wait_events(eng, until > eng->now ? (int)(until - eng->now) : 0);
	eng->now = time_mono_ms();
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

void engine_cancel_call(struct engine *eng, struct call *c)
{
	struct ebackend *b = c->be;

	switch (c->state) {
	case CS_QUEUED:
		list_del(&b->queue, c);
		break;
	case CS_IN_FLIGHT:
		engine_timer_cancel(eng, &c->timer);
		if (c->ar_ready) {
			/* The answer came but was not handled yet. */
			list_del(&eng->ready, c);
			free(c->ar.body);
			c->ar.body = NULL;
			c->ar_ready = false;
		} else {
			list_del(&eng->inflight[backend_index(eng, b)], c);
			b->drv->cancel(b, c);
		}
		b->in_flight--;
		limiter_release(b->lim, eng->now, c->attempt_started, LIM_CANCELED, c->probe,
				c->est_tokens, -1);
		break;
	case CS_BACKOFF:
		list_del(&eng->backoff, c);
		engine_timer_cancel(eng, &c->timer);
		break;
	default:
		return;
	}
	finish(eng, c, CALL_CANCELED);
}

void engine_cancel_all(struct engine *eng)
{
	struct call *c;

	while ((c = eng->ready.head))
		engine_cancel_call(eng, c);
	while ((c = eng->backoff.head))
		engine_cancel_call(eng, c);
	for (size_t i = 0; i < eng->nbackends; i++) {
		struct ebackend *b = eng->backends[i];

		while ((c = eng->inflight[i].head))
			engine_cancel_call(eng, c);
		while ((c = b->queue.head))
			engine_cancel_call(eng, c);
		engine_timer_cancel(eng, &b->budget);
	}
}
