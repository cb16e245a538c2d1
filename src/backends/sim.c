/* sim.c - the in-process simulator backend (kind = sim). */
#include "backends/backend.h"
#include "backends/simcore.h"
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

/*
 * An attempt in the simulator. Answers that take time hold one of max_seqs
 * sequence slots for their latency; beyond max_seqs they wait for a slot,
 * like requests queued inside an inference server.
 */
struct sim_attempt {
	struct timer t;
	struct call *c;
	struct ebackend *b;
	struct sim_answer a;
	bool has_slot;
	struct sim_attempt *next, *prev; /* the wait queue for a slot */
};

struct sim_state {
	struct rng rng;
	int active;
	struct sim_attempt *whead, *wtail;
};

static int sim_open(struct ebackend *b, struct err *e)
{
	struct sim_state *s = calloc(1, sizeof(*s));

	if (!s)
		return err_set(e, ERR_NOMEM, "out of memory");
	rng_seed(&s->rng, b->cfg->seed);
	b->drv_state = s;
	return 0;
}

static void sim_close(struct ebackend *b)
{
	free(b->drv_state);
	b->drv_state = NULL;
}

static void deliver(struct sim_attempt *sa)
{
	struct call *c = sa->c;
	struct attempt_result r = {0};

	r.status = sa->a.status;
	r.body = sa->a.body;
	r.body_len = sa->a.body_len;
	r.retry_after_ms = sa->a.retry_after_s >= 0 ? (int64_t)sa->a.retry_after_s * 1000 : -1;
	r.hdr_input_tokens = r.hdr_output_tokens = -1;
	sa->a.body = NULL;
	c->drv = NULL;
	free(sa);
	engine_attempt_done(c, &r);
}

static void start_seq(struct ebackend *b, struct sim_attempt *sa);

/* release_slot frees a sequence slot and gives it to the next waiter. */
static void release_slot(struct ebackend *b)
{
	struct sim_state *s = b->drv_state;
	struct sim_attempt *w = s->whead;

	s->active--;
	if (!w)
		return;
	s->whead = w->next;
	if (s->whead)
		s->whead->prev = NULL;
	else
		s->wtail = NULL;
	w->next = w->prev = NULL;
	start_seq(b, w);
}

static void on_finished(struct timer *t)
{
	struct sim_attempt *sa = (struct sim_attempt *)t;
	struct ebackend *b = sa->b;

	sa->has_slot = false;
	deliver(sa);
	release_slot(b);
}

static void start_seq(struct ebackend *b, struct sim_attempt *sa)
{
	struct sim_state *s = b->drv_state;

	s->active++;
	sa->has_slot = true;
	engine_timer_add(b->eng, &sa->t, engine_now(b->eng) + sa->a.latency_ms);
}

static void sim_start(struct ebackend *b, struct call *c)
{
	struct sim_state *s = b->drv_state;
	struct sim_attempt *sa;
	struct attempt_result r = {0};

	c->drv = NULL;
	sa = calloc(1, sizeof(*sa));
	if (!sa || sim_respond(b->cfg, &s->rng, c->path, c->body, c->body_len, &sa->a)) {
		free(sa);
		r.net = NET_OTHER;
		r.retry_after_ms = -1;
		strcpy(r.msg, "the simulator ran out of memory");
		engine_attempt_done(c, &r);
		return;
	}
	if (sa->a.fault == SIMF_TIMEOUT) {
		/* Never answer: the engine's attempt timeout will fire and cancel. */
		sa->c = c;
		sa->b = b;
		c->drv = sa;
		engine_timer_init(&sa->t, on_finished);
		return;
	}
	if (sa->a.fault == SIMF_RESET) {
		free(sa);
		r.net = NET_RESET;
		r.retry_after_ms = -1;
		r.hdr_input_tokens = r.hdr_output_tokens = -1;
		strcpy(r.msg, "simulated: connection reset by peer");
		engine_attempt_done(c, &r);
		return;
	}
	sa->c = c;
	sa->b = b;
	engine_timer_init(&sa->t, on_finished);
	if (sa->a.status != 200 || sa->a.latency_ms <= 0) {
		/* Errors and zero-latency answers come back at once. */
		deliver(sa);
		return;
	}
	c->drv = sa;
	if (b->cfg->max_seqs > 0 && s->active >= b->cfg->max_seqs) {
		sa->prev = s->wtail;
		if (s->wtail)
			s->wtail->next = sa;
		else
			s->whead = sa;
		s->wtail = sa;
		return;
	}
	start_seq(b, sa);
}

static void sim_cancel(struct ebackend *b, struct call *c)
{
	struct sim_state *s = b->drv_state;
	struct sim_attempt *sa = c->drv;

	if (!sa)
		return;
	c->drv = NULL;
	engine_timer_cancel(b->eng, &sa->t);
	if (sa->has_slot) {
		sim_answer_free(&sa->a);
		free(sa);
		release_slot(b);
		return;
	}
	if (sa->prev || s->whead == sa) {
		if (sa->prev)
			sa->prev->next = sa->next;
		else
			s->whead = sa->next;
		if (sa->next)
			sa->next->prev = sa->prev;
		else
			s->wtail = sa->prev;
	}
	sim_answer_free(&sa->a);
	free(sa);
}

/*
 * The simulator speaks the Anthropic dialect to Claude-shaped requests and
 * the OpenAI-compatible one to everything else, so both translations of
 * formats/ run with no server at all.
 */
static enum wire sim_wire(const struct family *f)
{
	return f->id == FAM_ANTHROPIC_MESSAGES ? WIRE_ANTHROPIC : WIRE_OPENAI;
}

const struct backend_driver sim_driver = {
	.kind = "sim",
	.open = sim_open,
	.close = sim_close,
	.start = sim_start,
	.cancel = sim_cancel,
	.wire = sim_wire,
};
