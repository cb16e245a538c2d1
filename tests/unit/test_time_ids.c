/* test_time_ids.c - unit tests of RFC 3339 timestamps (src/util/time.c) and ids and randomness (src/util/ids.c). */
#include "testutil.h"

#include <stdbool.h>

#include "util/err.h"
#include "util/ids.h"
#include "util/time.h"

/* 2023-11-14T22:13:20Z */
#define T1700 1700000000000LL

static int64_t parse_ok(const char *s)
{
	int64_t ms = -1;
	int rc = time_parse_rfc3339(s, &ms);

	if (rc != 0)
		fail_msg("time_parse_rfc3339(\"%s\") failed with %d", s, rc);
	return ms;
}

static void expect_invalid(const char *s)
{
	int64_t ms = 12345;
	int rc = time_parse_rfc3339(s, &ms);

	if (rc != ERR_INVAL)
		fail_msg("time_parse_rfc3339(\"%s\") gave %d (ms %lld), want ERR_INVAL", s, rc,
			 (long long)ms);
	assert_int_equal(ms, 12345);
}

static void test_rfc3339_format(void **state)
{
	char out[32];

	(void)state;
	time_format_rfc3339(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	/* Whole seconds: the milliseconds are dropped, not rounded. */
	time_format_rfc3339(T1700 + 999, out, sizeof(out));
	assert_string_equal(out, "2023-11-14T22:13:20Z");
	time_format_rfc3339(951782400000LL, out, sizeof(out));
	assert_string_equal(out, "2000-02-29T00:00:00Z");
	time_format_rfc3339(4102444799000LL, out, sizeof(out));
	assert_string_equal(out, "2099-12-31T23:59:59Z");
}

static void test_rfc3339_parse_utc(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("2023-11-14T22:13:20Z"), T1700);
	assert_int_equal(parse_ok("2023-11-14t22:13:20z"), T1700);
	assert_int_equal(parse_ok("2023-11-14 22:13:20Z"), T1700);
	assert_int_equal(parse_ok("2024-02-29T12:00:00Z"), 1709208000000LL);
	assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1000);
}

static void test_rfc3339_round_trip(void **state)
{
	static const int64_t v[] = {0, T1700, 951782400000LL, 4102444799000LL, 1709208000000LL,
				    86399000, 253402300799000LL};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		time_format_rfc3339(v[i], out, sizeof(out));
		assert_int_equal(strlen(out), 20);
		assert_int_equal(parse_ok(out), v[i]);
	}
	/* Any millisecond comes back as its whole second. */
	time_format_rfc3339(T1700 + 456, out, sizeof(out));
	assert_int_equal(parse_ok(out), T1700);
}

static void test_rfc3339_offsets(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2023-11-15T00:13:20+02:00"), T1700);
	assert_int_equal(parse_ok("2023-11-14T17:13:20-05:00"), T1700);
	assert_int_equal(parse_ok("2023-11-14T22:13:20+00:00"), T1700);
	assert_int_equal(parse_ok("2023-11-14T22:13:20-00:00"), T1700);
	assert_int_equal(parse_ok("2023-11-15T03:43:20+05:30"), T1700);
	/* An offset that crosses midnight and a year. */
	assert_int_equal(parse_ok("2000-01-01T01:00:00+02:00"), 946684800000LL - 3600000);
}

static void test_rfc3339_fractions(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("2023-11-14T22:13:20.5Z"), T1700 + 500);
	assert_int_equal(parse_ok("2023-11-14T22:13:20.05Z"), T1700 + 50);
	assert_int_equal(parse_ok("2023-11-14T22:13:20.123Z"), T1700 + 123);
	/* Digits past milliseconds are cut, not rounded. */
	assert_int_equal(parse_ok("2023-11-14T22:13:20.123999Z"), T1700 + 123);
	assert_int_equal(parse_ok("2023-11-15T00:13:20.250+02:00"), T1700 + 250);
	assert_int_equal(parse_ok("2023-11-14T22:13:20.000Z"), T1700);
}

static void test_rfc3339_invalid_forms(void **state)
{
	(void)state;
	expect_invalid("");
	expect_invalid("2023");
	expect_invalid("2023-11-14");
	expect_invalid("2023-11-14T22:13:20");
	expect_invalid("2023-11-14T22:13Z");
	expect_invalid("2023-11-14T22:13:20ZZ");
	expect_invalid("2023-11-14T22:13:20Z ");
	expect_invalid(" 2023-11-14T22:13:20Z");
	expect_invalid("2023-11-14T22:13:20+0200");
	expect_invalid("2023-11-14T22:13:20+02");
	expect_invalid("2023-11-14T22:13:20+2:00");
	expect_invalid("2023/11/14T22:13:20Z");
	expect_invalid("23-11-14T22:13:20Z");
	expect_invalid("2023-1-14T22:13:20Z");
	expect_invalid("2023-11-14X22:13:20Z");
	expect_invalid("2023-11-14T22-13-20Z");
	expect_invalid("2023-11-14T22:13:2aZ");
	expect_invalid("2023-13-01T00:00:00Z");
	expect_invalid("2023-00-10T00:00:00Z");
	expect_invalid("2023-11-00T00:00:00Z");
	expect_invalid("2023-11-32T00:00:00Z");
	expect_invalid("2023-11-14T24:00:00Z");
	expect_invalid("2023-11-14T22:60:00Z");
	expect_invalid("2023-11-14T22:13:61Z");
	expect_invalid("1700000000");
}

/* RFC 3339 section 5.7: the day must exist in its month and year. */
static void test_rfc3339_rejects_nonexistent_days(void **state)
{
	(void)state;
	expect_invalid("2023-02-29T00:00:00Z");
	expect_invalid("2024-02-30T00:00:00Z");
	expect_invalid("2023-04-31T00:00:00Z");
}

/* RFC 3339 section 5.6: time-secfrac is "." 1*DIGIT. */
static void test_rfc3339_rejects_empty_fraction(void **state)
{
	(void)state;
	expect_invalid("2023-11-14T22:13:20.Z");
}

/* RFC 3339 section 5.6: an offset's hour is 00-23 and its minute 00-59. */
static void test_rfc3339_rejects_out_of_range_offset(void **state)
{
	(void)state;
	expect_invalid("2023-11-14T22:13:20+24:00");
	expect_invalid("2023-11-14T22:13:20+02:60");
	expect_invalid("2023-11-14T22:13:20+99:99");
}

static void expect_charset(const char *s, size_t len, const char *set)
{
	assert_int_equal(strlen(s), len);
	if (strspn(s, set) != len)
		fail_msg("\"%s\" has a character outside [%s]", s, set);
}

static void test_job_ids(void **state)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	char ids[200][IDS_JOB_LEN + 1];

	(void)state;
	for (int i = 0; i < 200; i++) {
		memset(ids[i], 'X', sizeof(ids[i]));
		ids_new_job(ids[i]);
		expect_charset(ids[i], IDS_JOB_LEN, set);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(ids[i], ids[k]);
	}
	assert_int_equal(IDS_JOB_LEN, 12);
}

static void test_record_ids_shape_and_stability(void **state)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char a[IDS_RECORD_LEN + 1], b[IDS_RECORD_LEN + 1];

	(void)state;
	assert_int_equal(IDS_RECORD_LEN, 11);
	ids_record("abcdefghij12", 0, 0, a);
	expect_charset(a, IDS_RECORD_LEN, set);
	ids_record("abcdefghij12", 0, 0, b);
	assert_string_equal(a, b);
	/*
	 * A resume regenerates ids, possibly with a newer barge: the derivation
	 * must not change, so the values are pinned.
	 */
	assert_string_equal(a, "ZCBVDPI3P54");
	ids_record("abcdefghij12", 1, 41, a);
	assert_string_equal(a, "XMN7NQJKR99");
}

static void test_record_ids_differ(void **state)
{
	char a[IDS_RECORD_LEN + 1], b[IDS_RECORD_LEN + 1];
	char (*seen)[IDS_RECORD_LEN + 1];
	const size_t n = 3000;
	int dup = 0;

	(void)state;
	ids_record("job000000001", 0, 7, a);
	ids_record("job000000001", 0, 8, b);
	assert_string_not_equal(a, b);
	ids_record("job000000001", 1, 7, b);
	assert_string_not_equal(a, b);
	ids_record("job000000002", 0, 7, b);
	assert_string_not_equal(a, b);
	ids_record("job000000001", 1, 0, a);
	ids_record("job000000001", 0, 1, b);
	assert_string_not_equal(a, b);

	seen = malloc(n * sizeof(*seen));
	assert_non_null(seen);
	for (size_t i = 0; i < n && !dup; i++) {
		ids_record("job000000001", (unsigned)(i % 3), i / 3, seen[i]);
		for (size_t k = 0; k < i; k++)
			dup += !strcmp(seen[i], seen[k]);
	}
	free(seen);
	assert_int_equal(dup, 0);
}

static void test_rng_determinism(void **state)
{
	struct rng a, b;
	uint64_t x[8];
	bool differ = false;

	(void)state;
	/* rng is splitmix64: its published sequence for seed 0. */
	rng_seed(&a, 0);
	assert_true(rng_next(&a) == 0xe220a8397b1dcdafULL);
	assert_true(rng_next(&a) == 0x6e789e6aa1b965f4ULL);
	assert_true(rng_next(&a) == 0x06c45d188009454fULL);

	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 8; i++) {
		x[i] = rng_next(&a);
		assert_true(x[i] == rng_next(&b));
	}
	rng_seed(&b, 43);
	for (int i = 0; i < 8; i++)
		differ |= rng_next(&b) != x[i];
	assert_true(differ);
}

static void test_rng_unit_range(void **state)
{
	struct rng r;
	double lo = 1, hi = 0, sum = 0;

	(void)state;
	rng_seed(&r, 7);
	for (int i = 0; i < 10000; i++) {
		double u = rng_unit(&r);

		assert_true(u >= 0.0 && u < 1.0);
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
		sum += u;
	}
	assert_true(lo < 0.01);
	assert_true(hi > 0.99);
	assert_true(sum / 10000 > 0.45 && sum / 10000 < 0.55);
}

static void test_hash64(void **state)
{
	(void)state;
	assert_true(hash64("barge", 5, 0) == hash64("barge", 5, 0));
	assert_true(hash64("barge", 5, 0) != hash64("barge", 5, 1));
	assert_true(hash64("barge", 5, 0) != hash64("bargf", 5, 0));
	assert_true(hash64("barge", 5, 0) != hash64("barge", 4, 0));
	assert_true(mix64(1) != mix64(2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_format),
		cmocka_unit_test(test_rfc3339_parse_utc),
		cmocka_unit_test(test_rfc3339_round_trip),
		cmocka_unit_test(test_rfc3339_offsets),
		cmocka_unit_test(test_rfc3339_fractions),
		cmocka_unit_test(test_rfc3339_invalid_forms),
		cmocka_unit_test(test_rfc3339_rejects_nonexistent_days),
		cmocka_unit_test(test_rfc3339_rejects_empty_fraction),
		cmocka_unit_test(test_rfc3339_rejects_out_of_range_offset),
		cmocka_unit_test(test_job_ids),
		cmocka_unit_test(test_record_ids_shape_and_stability),
		cmocka_unit_test(test_record_ids_differ),
		cmocka_unit_test(test_rng_determinism),
		cmocka_unit_test(test_rng_unit_range),
		cmocka_unit_test(test_hash64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
