/* test_engine.c - unit tests of the dispatch engine and retry policy (src/engine/) on the in-process simulator. */
#include "testutil.h"

#include "engine/engine.h"
#include "util/json.h"

#define CHAT_BODY "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":16}"

/* Engine steps allowed before a test gives up instead of hanging. */
#define MAX_STEPS 20000

/* What each call's done callback saw. */
struct seen {
	int done;
	enum call_outcome outcome;
	int status, error_code, attempts, retries, throttles;
	char error_msg[512];
	char content[256];
	bool resp_ok;
	int in_flight_at_done;
};

struct run {
	struct backend_cfg cfg;
	struct engine *eng;
	struct ebackend *be;
	struct call *calls;
	struct seen *seen;
	size_t n;
	const char *path;
	const char *body_text;
	char *body;
};

/* The wrapped driver checks the concurrency limit at every attempt's start. */
static struct backend_driver spy;
static const struct backend_driver *real;
static int peak_in_flight;
static int over_limit;

static void spy_start(struct ebackend *b, struct call *c)
{
	/* pump counts the attempt in flight before it calls start. */
	if (b->in_flight > peak_in_flight)
		peak_in_flight = b->in_flight;
	if (b->in_flight > b->cfg->max_concurrency)
		over_limit++;
	real->start(b, c);
}

static void on_done(struct call *c)
{
	struct run *r = c->ud;
	struct seen *s = &r->seen[c - r->calls];
	json_object *choices, *msg;

	s->done++;
	s->outcome = c->outcome;
	s->status = c->status;
	s->error_code = c->error_code;
	s->attempts = c->attempts;
	s->retries = c->retries;
	s->throttles = c->throttles;
	s->in_flight_at_done = c->be->in_flight;
	snprintf(s->error_msg, sizeof(s->error_msg), "%s", c->error_msg);
	if (c->outcome != CALL_OK)
		return;
	/* The answer is handed over as text checked to be a JSON object. */
	if (c->ar.body) {
		json_object *resp = NULL;
		struct err e;

		if (!json_parse(c->ar.body, c->ar.body_len, &resp, &e)) {
			choices = json_get(resp, "choices");
			msg = json_get(json_object_array_get_idx(choices, 0), "message");
			if (json_get_str(msg, "content")) {
				snprintf(s->content, sizeof(s->content), "%s",
					 json_get_str(msg, "content"));
				s->resp_ok = true;
			}
		}
		json_object_put(resp);
	}
}

/* sim_cfg gives a quick simulator: no waits between retries. */
static void sim_cfg(struct run *r)
{
	memset(r, 0, sizeof(*r));
	config_backend_defaults(&r->cfg, BK_SIM);
	snprintf(r->cfg.name, sizeof(r->cfg.name), "sim-test");
	r->cfg.retry_base_ms = 0;
	r->cfg.retry_max_ms = 0;
	r->cfg.retry_after_s = 0;
	r->cfg.seed = 7;
	r->path = "/chat/completions";
	r->body_text = CHAT_BODY;
}

/* start opens the engine and submits n calls of r->path with r->body_text. */
static void start(struct run *r, size_t n)
{
	struct err e;

	err_init(&e);
	r->eng = engine_new(NULL, &e);
	assert_non_null(r->eng);
	r->be = engine_backend(r->eng, &r->cfg, &e);
	if (!r->be)
		fail_msg("engine_backend: %s", e.msg);
	real = r->be->drv;
	spy = *real;
	spy.start = spy_start;
	r->be->drv = &spy;
	peak_in_flight = 0;
	over_limit = 0;

	r->n = n;
	r->calls = calloc(n, sizeof(*r->calls));
	r->seen = calloc(n, sizeof(*r->seen));
	r->body = strdup(r->body_text);
	assert_non_null(r->calls);
	assert_non_null(r->seen);
	assert_non_null(r->body);
	for (size_t i = 0; i < n; i++) {
		struct call *c = &r->calls[i];

		c->be = r->be;
		c->path = r->path;
		c->model = "m";
		c->body = r->body;
		c->body_len = strlen(r->body);
		c->est_tokens = 20;
		c->done = on_done;
		c->ud = r;
		engine_submit(r->eng, c);
	}
	assert_int_equal(engine_pending(r->eng), n);
}

/* drain steps the engine until no call is pending. */
static void drain(struct run *r)
{
	int steps = 0;

	while (engine_pending(r->eng) > 0) {
		size_t left = engine_step(r->eng, 20);

		assert_int_equal(left, engine_pending(r->eng));
		assert_true(r->be->in_flight <= r->cfg.max_concurrency);
		if (++steps > MAX_STEPS)
			fail_msg("the engine did not finish %zu calls", engine_pending(r->eng));
	}
}

static void finish(struct run *r)
{
	engine_free(r->eng);
	free(r->calls);
	free(r->seen);
	free(r->body);
}

static void expect_all_done_once(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->seen[i].done != 1)
			fail_msg("call %zu finished %d times", i, r->seen[i].done);
	}
	assert_int_equal(engine_pending(r->eng), 0);
	assert_int_equal(r->be->in_flight, 0);
	assert_int_equal(r->be->queue.n, 0);
	assert_int_equal(over_limit, 0);
}

static void test_all_calls_succeed(void **state)
{
	struct run r;

	(void)state;
	sim_cfg(&r);
	r.cfg.max_concurrency = 4;
	r.cfg.ttft_ms = 1;
	start(&r, 50);
	drain(&r);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct seen *s = &r.seen[i];

		assert_int_equal(s->outcome, CALL_OK);
		assert_int_equal(s->status, 200);
		assert_int_equal(s->attempts, 1);
		assert_int_equal(s->retries, 0);
		assert_int_equal(s->error_code, 0);
		assert_true(s->resp_ok);
		assert_true(!strncmp(s->content, "[simulated]", 11));
		assert_true(s->in_flight_at_done < 4);
	}
	/* 50 calls through 4 slots: the limit is reached and never passed. */
	assert_int_equal(peak_in_flight, 4);
	assert_int_equal(r.be->n_ok, 50);
	assert_int_equal(r.be->n_failed, 0);
	assert_int_equal(r.be->n_attempts, 50);
	finish(&r);
}

static void test_zero_latency_respects_limit(void **state)
{
	struct run r;

	(void)state;
	sim_cfg(&r);
	r.cfg.max_concurrency = 3;
	start(&r, 40);
	drain(&r);
	expect_all_done_once(&r);
	assert_int_equal(peak_in_flight, 3);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.seen[i].outcome, CALL_OK);
	finish(&r);
}

static void test_sim_max_seqs_queue(void **state)
{
	struct run r;

	(void)state;
	/* More concurrency than simulated sequence slots: the extra attempts wait inside the simulator. */
	sim_cfg(&r);
	r.cfg.max_concurrency = 8;
	r.cfg.max_seqs = 2;
	r.cfg.ttft_ms = 1;
	start(&r, 20);
	drain(&r);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.seen[i].outcome, CALL_OK);
	finish(&r);
}

/* run_faults sends n calls to a simulator that always injects fault. */
static void run_faults(struct run *r, unsigned fault, int max_attempts, size_t n)
{
	sim_cfg(r);
	r->cfg.fail_rate = 1.0;
	r->cfg.fail_types = fault;
	r->cfg.max_attempts = max_attempts;
	r->cfg.max_concurrency = 16;
	start(r, n);
	drain(r);
	expect_all_done_once(r);
}

static void test_500_retried_then_failed(void **state)
{
	struct run r;

	(void)state;
	run_faults(&r, SIMF_500, 3, 10);
	for (size_t i = 0; i < r.n; i++) {
		struct seen *s = &r.seen[i];

		assert_int_equal(s->outcome, CALL_FAILED);
		assert_int_equal(s->error_code, 500);
		assert_int_equal(s->status, 500);
		assert_int_equal(s->attempts, 3);
		assert_int_equal(s->retries, 2);
		assert_int_equal(s->throttles, 0);
		assert_contains(s->error_msg, "simulated: internal server error");
		assert_contains(s->error_msg, "after 3 attempts");
	}
	assert_int_equal(r.be->n_failed, 10);
	assert_int_equal(r.be->n_attempts, 30);
	assert_int_equal(r.be->n_retries, 20);
	finish(&r);
}

static void test_timeout_gives_408(void **state)
{
	struct run r;

	(void)state;
	sim_cfg(&r);
	r.cfg.fail_rate = 1.0;
	r.cfg.fail_types = SIMF_TIMEOUT;
	r.cfg.max_attempts = 2;
	r.cfg.timeout_s = 0.05;
	r.cfg.max_concurrency = 8;
	start(&r, 5);
	drain(&r);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++) {
		struct seen *s = &r.seen[i];

		assert_int_equal(s->outcome, CALL_FAILED);
		assert_int_equal(s->error_code, 408);
		assert_int_equal(s->status, 0);
		assert_int_equal(s->attempts, 2);
		assert_contains(s->error_msg, "timeout_s");
	}
	finish(&r);
}

static void test_slow_answers_time_out(void **state)
{
	struct run r;

	(void)state;
	/* One simulated slot and answers of 10 s: one attempt holds the slot, three wait for it. */
	sim_cfg(&r);
	r.cfg.ttft_ms = 10000;
	r.cfg.max_seqs = 1;
	r.cfg.max_concurrency = 4;
	r.cfg.max_attempts = 1;
	r.cfg.timeout_s = 0.05;
	start(&r, 4);
	drain(&r);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_FAILED);
		assert_int_equal(r.seen[i].error_code, 408);
		assert_int_equal(r.seen[i].attempts, 1);
	}
	finish(&r);
}

static void test_reset_gives_503(void **state)
{
	struct run r;

	(void)state;
	run_faults(&r, SIMF_RESET, 3, 6);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_FAILED);
		assert_int_equal(r.seen[i].error_code, 503);
		assert_int_equal(r.seen[i].status, 0);
		assert_int_equal(r.seen[i].attempts, 3);
		assert_contains(r.seen[i].error_msg, "connection reset");
	}
	finish(&r);
}

static void test_malformed_gives_502(void **state)
{
	struct run r;

	(void)state;
	run_faults(&r, SIMF_MALFORMED, 3, 6);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_FAILED);
		assert_int_equal(r.seen[i].error_code, 502);
		assert_int_equal(r.seen[i].attempts, 3);
		assert_contains(r.seen[i].error_msg, "not a JSON object");
	}
	finish(&r);
}

static void test_truncated_gives_502(void **state)
{
	struct run r;

	(void)state;
	run_faults(&r, SIMF_TRUNCATED, 2, 4);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_FAILED);
		assert_int_equal(r.seen[i].error_code, 502);
		assert_int_equal(r.seen[i].attempts, 2);
	}
	finish(&r);
}

static void test_429_counts_throttles(void **state)
{
	struct run r;

	(void)state;
	run_faults(&r, SIMF_429, 3, 8);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_FAILED);
		assert_int_equal(r.seen[i].error_code, 429);
		assert_int_equal(r.seen[i].throttles, 3);
		assert_int_equal(r.seen[i].retries, 2);
		assert_contains(r.seen[i].error_msg, "too many requests");
	}
	assert_int_equal(r.be->n_throttles, 24);
	finish(&r);
}

static void test_503_counts_throttles(void **state)
{
	struct run r;

	(void)state;
	run_faults(&r, SIMF_503, 2, 3);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].error_code, 503);
		assert_int_equal(r.seen[i].throttles, 2);
	}
	finish(&r);
}

static void test_some_faults_then_success(void **state)
{
	struct run r;
	int failed = 0, retried = 0;

	(void)state;
	/* Half the attempts fail with 500; with 20 attempts each, every call gets through. */
	sim_cfg(&r);
	r.cfg.fail_rate = 0.5;
	r.cfg.fail_types = SIMF_500;
	r.cfg.max_attempts = 20;
	r.cfg.max_concurrency = 5;
	start(&r, 40);
	drain(&r);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++) {
		failed += r.seen[i].outcome != CALL_OK;
		retried += r.seen[i].retries > 0;
		assert_int_equal(r.seen[i].retries, r.seen[i].attempts - 1);
	}
	assert_int_equal(failed, 0);
	assert_true(retried > 0);
	finish(&r);
}

static void test_final_errors_not_retried(void **state)
{
	struct run r;

	(void)state;
	sim_cfg(&r);
	r.path = "/no/such/endpoint";
	r.cfg.max_attempts = 5;
	start(&r, 3);
	drain(&r);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_FAILED);
		assert_int_equal(r.seen[i].error_code, 404);
		assert_int_equal(r.seen[i].attempts, 1);
		assert_int_equal(r.seen[i].retries, 0);
		assert_contains(r.seen[i].error_msg, "backend answered 404");
	}
	finish(&r);

	/* A body the simulator cannot read is a 400, also final. */
	sim_cfg(&r);
	r.body_text = "not json";
	start(&r, 1);
	drain(&r);
	expect_all_done_once(&r);
	assert_int_equal(r.seen[0].outcome, CALL_FAILED);
	assert_int_equal(r.seen[0].error_code, 400);
	assert_int_equal(r.seen[0].attempts, 1);
	finish(&r);
}

static void test_cancel_all_queued_and_in_flight(void **state)
{
	struct run r;

	(void)state;
	/* Answers take a minute: after one step two calls are in flight, three queued. */
	sim_cfg(&r);
	r.cfg.max_concurrency = 2;
	r.cfg.ttft_ms = 60000;
	start(&r, 5);
	engine_step(r.eng, 0);
	assert_int_equal(r.be->in_flight, 2);
	assert_int_equal(r.be->queue.n, 3);
	assert_int_equal(engine_pending(r.eng), 5);
	engine_cancel_all(r.eng);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.seen[i].outcome, CALL_CANCELED);
	assert_int_equal(r.seen[0].attempts, 1);
	assert_int_equal(r.seen[4].attempts, 0);
	/* Nothing is left to run. */
	assert_int_equal(engine_step(r.eng, 0), 0);
	finish(&r);
}

static void test_cancel_all_in_backoff_and_hung(void **state)
{
	struct run r;

	(void)state;
	/* 429 with Retry-After 60 s: every call waits in backoff after its first attempt. */
	sim_cfg(&r);
	r.cfg.fail_rate = 1.0;
	r.cfg.fail_types = SIMF_429;
	r.cfg.retry_after_s = 60;
	r.cfg.max_attempts = 3;
	start(&r, 4);
	engine_step(r.eng, 0);
	assert_int_equal(engine_pending(r.eng), 4);
	assert_int_equal(r.be->in_flight, 0);
	engine_cancel_all(r.eng);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].outcome, CALL_CANCELED);
		assert_int_equal(r.seen[i].attempts, 1);
		assert_int_equal(r.seen[i].throttles, 1);
	}
	finish(&r);

	/* Attempts the simulator never answers are cancelled too (and freed). */
	sim_cfg(&r);
	r.cfg.fail_rate = 1.0;
	r.cfg.fail_types = SIMF_TIMEOUT;
	start(&r, 3);
	engine_step(r.eng, 0);
	assert_int_equal(r.be->in_flight, 3);
	engine_cancel_all(r.eng);
	expect_all_done_once(&r);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.seen[i].outcome, CALL_CANCELED);
	finish(&r);
}

static void test_engine_free_cancels(void **state)
{
	struct run r;

	(void)state;
	sim_cfg(&r);
	r.cfg.max_concurrency = 1;
	r.cfg.ttft_ms = 60000;
	start(&r, 3);
	engine_step(r.eng, 0);
	engine_free(r.eng);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.seen[i].done, 1);
		assert_int_equal(r.seen[i].outcome, CALL_CANCELED);
	}
	free(r.calls);
	free(r.seen);
	free(r.body);
}

static void test_resubmit_after_done(void **state)
{
	struct run r;

	(void)state;
	sim_cfg(&r);
	start(&r, 2);
	drain(&r);
	expect_all_done_once(&r);
	/* A finished call can go again and gets fresh results. */
	engine_submit(r.eng, &r.calls[0]);
	drain(&r);
	assert_int_equal(r.seen[0].done, 2);
	assert_int_equal(r.seen[0].outcome, CALL_OK);
	assert_int_equal(r.seen[0].attempts, 1);
	assert_int_equal(r.seen[1].done, 1);
	finish(&r);
}

static void test_retryable_set(void **state)
{
	static const int yes[] = {408, 429, 500, 502, 503, 504, 529};
	static const int no[] = {200, 201, 400, 401, 403, 404, 409, 413, 422, 501, 505, 0};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!retry_is_retryable(yes[i], NET_NONE))
			fail_msg("%d should be retryable", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (retry_is_retryable(no[i], NET_NONE))
			fail_msg("%d should be final", no[i]);
	}
	assert_true(retry_is_retryable(0, NET_REFUSED));
	assert_true(retry_is_retryable(0, NET_RESET));
	assert_true(retry_is_retryable(0, NET_TIMEOUT));
	assert_true(retry_is_retryable(0, NET_OTHER));
}

static void test_backoff_bounds(void **state)
{
	struct rng rng;
	int64_t lo = INT64_MAX, hi = -1;

	(void)state;
	rng_seed(&rng, 99);
	for (int attempt = 2; attempt <= 12; attempt++) {
		int64_t ceiling = 100LL << (attempt - 2);

		if (ceiling > 5000)
			ceiling = 5000;
		for (int k = 0; k < 500; k++) {
			int64_t w = retry_backoff_ms(attempt, 100, 5000, -1, &rng);

			if (w < 0 || w > ceiling)
				fail_msg("attempt %d waited %lld ms, outside 0..%lld", attempt,
					 (long long)w, (long long)ceiling);
			/* A Retry-After under the ceiling is a floor. */
			w = retry_backoff_ms(attempt, 100, 5000, 40, &rng);
			assert_true(w >= 40 && w <= (ceiling > 40 ? ceiling : 40));
		}
	}
	/* Full jitter: the waits spread over the whole range. */
	for (int k = 0; k < 1000; k++) {
		int64_t w = retry_backoff_ms(5, 100, 5000, -1, &rng);

		lo = w < lo ? w : lo;
		hi = w > hi ? w : hi;
	}
	assert_true(lo < 100);
	assert_true(hi > 700 && hi <= 800);
	/* A Retry-After past the ceiling is honoured as it is. */
	assert_int_equal(retry_backoff_ms(2, 100, 5000, 60000, &rng), 60000);
	assert_int_equal(retry_backoff_ms(50, 100, 5000, 7000, &rng), 7000);
	/* Base 0 never waits; huge attempt numbers stay at the ceiling. */
	assert_int_equal(retry_backoff_ms(7, 0, 5000, -1, &rng), 0);
	for (int k = 0; k < 100; k++)
		assert_true(retry_backoff_ms(1000, 500, 30000, -1, &rng) <= 30000);
	assert_true(retry_backoff_ms(3, 3600000, 3600000, -1, &rng) <= 3600000);
}

static void test_error_codes(void **state)
{
	(void)state;
	assert_int_equal(retry_error_code(0, NET_TIMEOUT, false), 408);
	assert_int_equal(retry_error_code(0, NET_RESET, false), 503);
	assert_int_equal(retry_error_code(0, NET_REFUSED, false), 503);
	assert_int_equal(retry_error_code(0, NET_OTHER, false), 503);
	assert_int_equal(retry_error_code(200, NET_NONE, true), 502);
	assert_int_equal(retry_error_code(429, NET_NONE, false), 429);
	assert_int_equal(retry_error_code(400, NET_NONE, false), 400);
	assert_int_equal(retry_error_code(529, NET_NONE, false), 529);
	assert_int_equal(retry_error_code(0, NET_NONE, false), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_calls_succeed),
		cmocka_unit_test(test_zero_latency_respects_limit),
		cmocka_unit_test(test_sim_max_seqs_queue),
		cmocka_unit_test(test_500_retried_then_failed),
		cmocka_unit_test(test_timeout_gives_408),
		cmocka_unit_test(test_slow_answers_time_out),
		cmocka_unit_test(test_reset_gives_503),
		cmocka_unit_test(test_malformed_gives_502),
		cmocka_unit_test(test_truncated_gives_502),
		cmocka_unit_test(test_429_counts_throttles),
		cmocka_unit_test(test_503_counts_throttles),
		cmocka_unit_test(test_some_faults_then_success),
		cmocka_unit_test(test_final_errors_not_retried),
		cmocka_unit_test(test_cancel_all_queued_and_in_flight),
		cmocka_unit_test(test_cancel_all_in_backoff_and_hung),
		cmocka_unit_test(test_engine_free_cancels),
		cmocka_unit_test(test_resubmit_after_done),
		cmocka_unit_test(test_retryable_set),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_error_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
