/* test_limiter.c - the shared backend limiter: slots, adaptation, budgets, down. */
#include "testutil.h"

#include "engine/limiter.h"

static struct backend_cfg cfg_with(int conc, int rpm, int tpm)
{
	struct backend_cfg c;

	config_backend_defaults(&c, BK_OPENAI);
	c.max_concurrency = conc;
	c.requests_per_minute = rpm;
	c.tokens_per_minute = tpm;
	return c;
}

static int limit_of(struct limiter *l)
{
	struct limiter_state s;

	limiter_state(l, &s);
	return s.limit;
}

static void test_slots(void **state)
{
	struct backend_cfg c = cfg_with(3, 0, 0);
	struct limiter *l = limiter_new(&c);
	bool probe;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(limiter_acquire(l, 0, 10, &probe), 0);
	assert_int_equal(limiter_acquire(l, 0, 10, &probe), -1);
	limiter_release(l, 5, 0, LIM_OK, false, 10, -1);
	assert_int_equal(limiter_acquire(l, 5, 10, &probe), 0);
	assert_false(probe);
	limiter_free(l);
}

static void test_cut_once_per_round_trip_and_grow_back(void **state)
{
	struct backend_cfg c = cfg_with(20, 0, 0);
	struct limiter *l = limiter_new(&c);
	bool probe;

	(void)state;
	for (int i = 0; i < 20; i++)
		assert_int_equal(limiter_acquire(l, 100, 1, &probe), 0);
	/* Ten throttles of attempts sent at 100 cut once: to 0.9 * 20 = 18. */
	for (int i = 0; i < 10; i++)
		limiter_release(l, 200, 100, LIM_THROTTLED, false, 1, -1);
	assert_int_equal(limit_of(l), 18);
	/* An attempt sent after the cut that is throttled again cuts again. */
	assert_int_equal(limiter_acquire(l, 300, 1, &probe), 0);
	limiter_release(l, 400, 300, LIM_THROTTLED, false, 1, -1);
	assert_true(limit_of(l) < 18);
	/* Successes while the limit is in use grow it, never past max. */
	for (int round = 0; round < 2000; round++) {
		while (limiter_acquire(l, 500, 1, &probe) == 0)
			;
		limiter_release(l, 600, 500, LIM_OK, false, 1, -1);
	}
	assert_int_equal(limit_of(l), 20);
	limiter_free(l);
}

static void test_requests_per_minute(void **state)
{
	/* 600 a minute: 10 a second, a bucket of 10. */
	struct backend_cfg c = cfg_with(1000, 600, 0);
	struct limiter *l = limiter_new(&c);
	int64_t wait;
	bool probe;

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(limiter_acquire(l, 0, 1, &probe), 0);
	wait = limiter_acquire(l, 0, 1, &probe);
	assert_true(wait > 0 && wait <= 101);
	assert_int_equal(limiter_acquire(l, 100, 1, &probe), 0);
	assert_true(limiter_acquire(l, 100, 1, &probe) > 0);
	limiter_free(l);
}

static void test_tokens_per_minute_corrected(void **state)
{
	/* 6,000 a minute: 100 a second, a bucket of 100. */
	struct backend_cfg c = cfg_with(1000, 0, 6000);
	struct limiter *l = limiter_new(&c);
	bool probe;

	(void)state;
	assert_int_equal(limiter_acquire(l, 0, 80, &probe), 0);
	assert_true(limiter_acquire(l, 0, 80, &probe) > 0);
	/* The answer used 10 tokens, not 80: 70 come back at once. */
	limiter_release(l, 0, 0, LIM_OK, false, 80, 10);
	assert_int_equal(limiter_acquire(l, 0, 80, &probe), 0);
	/* A request larger than the whole bucket waits for a full bucket. */
	limiter_correct_tokens(l, 80, 80);
	assert_true(limiter_acquire(l, 0, 500, &probe) > 0);
	assert_int_equal(limiter_acquire(l, 2000, 500, &probe), 0);
	limiter_free(l);
}

static void test_down_pauses_and_probes(void **state)
{
	struct backend_cfg c = cfg_with(8, 0, 0);
	struct limiter *l = limiter_new(&c);
	struct limiter_state s;
	bool probe;

	(void)state;
	assert_int_equal(limiter_acquire(l, 0, 1, &probe), 0);
	limiter_release(l, 10, 0, LIM_DOWN, false, 1, -1);
	limiter_state(l, &s);
	assert_true(s.down);
	/* Nothing goes for a second; then exactly one probe. */
	assert_int_equal(limiter_acquire(l, 500, 1, &probe), 510);
	assert_int_equal(limiter_acquire(l, 1010, 1, &probe), 0);
	assert_true(probe);
	assert_int_equal(limiter_acquire(l, 1010, 1, &probe), -1);
	/* The probe fails: the next one waits twice as long. */
	limiter_release(l, 1020, 1010, LIM_DOWN, true, 1, -1);
	assert_int_equal(limiter_acquire(l, 1020, 1, &probe), 2000);
	assert_int_equal(limiter_acquire(l, 3020, 1, &probe), 0);
	assert_true(probe);
	/* It answers: everything goes again. */
	limiter_release(l, 3030, 3020, LIM_OK, true, 1, -1);
	limiter_state(l, &s);
	assert_false(s.down);
	for (int i = 0; i < 8; i++)
		assert_int_equal(limiter_acquire(l, 3030, 1, &probe), 0);
	limiter_free(l);
}

static void test_set_shares_one_limiter_per_backend(void **state)
{
	struct backend_cfg a = cfg_with(2, 0, 0), b = cfg_with(2, 0, 0);
	struct limiter_set *set = limiter_set_new();

	(void)state;
	assert_ptr_equal(limiter_set_get(set, &a), limiter_set_get(set, &a));
	assert_ptr_not_equal(limiter_set_get(set, &a), limiter_set_get(set, &b));
	limiter_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_cut_once_per_round_trip_and_grow_back),
		cmocka_unit_test(test_requests_per_minute),
		cmocka_unit_test(test_tokens_per_minute_corrected),
		cmocka_unit_test(test_down_pauses_and_probes),
		cmocka_unit_test(test_set_shares_one_limiter_per_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
