/* test_buf.c - unit tests of the capped growable buffers in src/util/buf.c. */
#include "testutil.h"

#include <json-c/json.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

/* expect_bytes checks that b holds exactly s[0..n) followed by a NUL. */
static void expect_bytes(const struct buf *b, const char *s, size_t n)
{
	assert_int_equal(b->err, 0);
	assert_int_equal(b->len, n);
	assert_non_null(b->data);
	assert_memory_equal(b->data, s, n);
	assert_int_equal(b->data[n], '\0');
}

static void expect_str(const struct buf *b, const char *s)
{
	expect_bytes(b, s, strlen(s));
}

static void test_appends_concatenate(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(b.max, BUF_DEFAULT_MAX);
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	assert_int_equal(buf_puts(&b, "cd"), 0);
	assert_int_equal(buf_putc(&b, 'e'), 0);
	assert_int_equal(buf_append(&b, "\0f", 2), 0);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	expect_bytes(&b, "abcde\0f", 7);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void test_printf_formats_and_grows(void **state)
{
	struct buf b;
	char want[1100];

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "%s=%d;", "n", -42), 0);
	assert_int_equal(buf_printf(&b, "%05.1f|%x", 3.14159, 255u), 0);
	expect_str(&b, "n=-42;003.1|ff");

	/* Past the first allocation of 256 bytes, the buffer must grow. */
	buf_reset(&b);
	memset(want, 'z', 1000);
	want[1000] = '\0';
	assert_int_equal(buf_printf(&b, "%s", want), 0);
	assert_int_equal(buf_printf(&b, "%d", 7), 0);
	want[1000] = '7';
	expect_bytes(&b, want, 1001);
	buf_free(&b);
}

static void test_reset_keeps_allocation(void **state)
{
	struct buf b;
	char *before;

	(void)state;
	buf_init(&b, 0);
	buf_puts(&b, "hello");
	before = b.data;
	buf_reset(&b);
	expect_str(&b, "");
	assert_ptr_equal(b.data, before);
	buf_puts(&b, "x");
	expect_str(&b, "x");
	buf_free(&b);
}

static void test_cap_exactly_reached_is_fine(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_puts(&b, "abcd"), 0);
	expect_str(&b, "abcd");
	assert_int_equal(buf_append(&b, "", 0), 0);
	buf_free(&b);
}

static void test_cap_failure_is_sticky(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "123456"), 0);
	/* 6 + 3 > 8: refused, and nothing of it is kept. */
	assert_int_equal(buf_puts(&b, "abc"), ERR_LIMIT);
	assert_int_equal(b.err, ERR_LIMIT);
	assert_int_equal(b.len, 6);
	assert_string_equal(b.data, "123456");
	/* "ab" would fit, but the buffer has failed: every later append fails. */
	assert_int_equal(buf_puts(&b, "ab"), ERR_LIMIT);
	assert_int_equal(buf_putc(&b, 'c'), ERR_LIMIT);
	assert_int_equal(buf_printf(&b, "%d", 1), ERR_LIMIT);
	assert_int_equal(buf_put_u64(&b, 1), ERR_LIMIT);
	assert_int_equal(buf_put_json_cstr(&b, ""), ERR_LIMIT);
	assert_int_equal(buf_reserve(&b, 0), ERR_LIMIT);
	assert_int_equal(b.len, 6);
	assert_string_equal(b.data, "123456");
	assert_null(buf_steal(&b, NULL));
	/* buf_reset clears the failure. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "abcdefgh"), 0);
	expect_str(&b, "abcdefgh");
	buf_free(&b);
}

static void test_printf_over_cap_fails(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_printf(&b, "%s", "12345678"), ERR_LIMIT);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "abc");
	assert_int_equal(buf_printf(&b, "%s", "x"), ERR_LIMIT);
	buf_free(&b);
}

static void test_reserve_beyond_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_reserve(&b, 100), 0);
	assert_int_equal(b.err, 0);
	assert_int_equal(buf_reserve(&b, 101), ERR_LIMIT);
	assert_int_equal(b.err, ERR_LIMIT);
	buf_free(&b);

	buf_init(&b, 100);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), ERR_LIMIT);
	buf_free(&b);
}

static void test_json_str_escapes(void **state)
{
	static const char in[] = "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	static const char want[] = "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f "
				   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"";
	struct buf b;
	json_object *o;
	struct err e;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_put_json_str(&b, in, sizeof(in) - 1), 0);
	expect_str(&b, want);

	/* What was written parses back to the original bytes. */
	err_init(&e);
	assert_ok(json_parse(b.data, b.len, &o, &e), &e);
	assert_true(json_object_is_type(o, json_type_string));
	assert_int_equal(json_object_get_string_len(o), sizeof(in) - 1);
	assert_memory_equal(json_object_get_string(o), in, sizeof(in) - 1);
	json_object_put(o);
	buf_free(&b);
}

static void test_json_str_nul_and_all_controls(void **state)
{
	struct buf b;
	char in[32];
	char want[32 * 6 + 3];
	size_t w = 0;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_put_json_str(&b, "a\0b", 3), 0);
	expect_str(&b, "\"a\\u0000b\"");

	/* Every control character without a short escape becomes \u00XX, lower-case hex. */
	buf_reset(&b);
	for (int i = 0; i < 32; i++)
		in[i] = (char)i;
	want[w++] = '"';
	for (int i = 0; i < 32; i++) {
		const char *s;

		switch (i) {
		case '\b': s = "\\b"; break;
		case '\t': s = "\\t"; break;
		case '\n': s = "\\n"; break;
		case '\f': s = "\\f"; break;
		case '\r': s = "\\r"; break;
		default: s = NULL;
		}
		if (s)
			w += (size_t)sprintf(want + w, "%s", s);
		else
			w += (size_t)sprintf(want + w, "\\u%04x", i);
	}
	want[w++] = '"';
	want[w] = '\0';
	assert_int_equal(buf_put_json_str(&b, in, sizeof(in)), 0);
	expect_str(&b, want);
	assert_contains(b.data, "\\u001b");
	buf_free(&b);
}

static void test_json_cstr_empty_and_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	buf_puts(&b, "{\"k\":");
	assert_int_equal(buf_put_json_cstr(&b, ""), 0);
	buf_puts(&b, ",\"v\":");
	assert_int_equal(buf_put_json_cstr(&b, "x y"), 0);
	buf_putc(&b, '}');
	expect_str(&b, "{\"k\":\"\",\"v\":\"x y\"}");
	buf_free(&b);
}

static void test_json_str_over_cap(void **state)
{
	struct buf b;

	(void)state;
	/* 4 bytes in, 4 * 6 + 2 bytes out: the escapes overflow a 16-byte cap. */
	buf_init(&b, 16);
	assert_int_equal(buf_put_json_str(&b, "\x01\x02\x03\x04", 4), ERR_LIMIT);
	assert_int_equal(b.err, ERR_LIMIT);
	assert_true(b.len <= 16);
	assert_null(buf_steal(&b, NULL));
	buf_free(&b);
}

static void test_steal_hands_over(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p;

	(void)state;
	buf_init(&b, 0);
	buf_puts(&b, "payload");
	p = buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 7);
	assert_string_equal(p, "payload");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	free(p);

	/* The buffer is usable again after a steal. */
	buf_puts(&b, "again");
	expect_str(&b, "again");
	buf_free(&b);
}

static void test_steal_of_untouched_buffer_is_empty_string(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p, first;

	(void)state;
	/* Callers use the stolen bytes as a C string, so "" rather than NULL. */
	buf_init(&b, 0);
	p = buf_steal(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	first = p[0];
	free(p);
	buf_free(&b);
	assert_int_equal(first, '\0');
}

static void test_reserve_keeps_nul_termination(void **state)
{
	struct buf b;
	char first;

	(void)state;
	/* buf.h: "The contents are always NUL-terminated when data != NULL." */
	buf_init(&b, 0);
	assert_int_equal(buf_reserve(&b, 10), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	first = b.data[0];
	buf_free(&b);
	assert_int_equal(first, '\0');
}

static void test_integers(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_put_i64(&b, INT64_MIN), 0);
	expect_str(&b, "-9223372036854775808");
	buf_reset(&b);
	buf_put_i64(&b, INT64_MAX);
	buf_putc(&b, ' ');
	buf_put_i64(&b, 0);
	buf_putc(&b, ' ');
	buf_put_i64(&b, -1);
	buf_putc(&b, ' ');
	buf_put_u64(&b, UINT64_MAX);
	buf_putc(&b, ' ');
	buf_put_u64(&b, 10);
	expect_str(&b, "9223372036854775807 0 -1 18446744073709551615 10");
	buf_free(&b);
}

static void test_fmt_int_groups_thousands(void **state)
{
	char out[32], small[4];

	(void)state;
	buf_fmt_int(out, sizeof(out), 0);
	assert_string_equal(out, "0");
	buf_fmt_int(out, sizeof(out), 999);
	assert_string_equal(out, "999");
	buf_fmt_int(out, sizeof(out), 50000);
	assert_string_equal(out, "50,000");
	buf_fmt_int(out, sizeof(out), -1234567);
	assert_string_equal(out, "-1,234,567");
	buf_fmt_int(out, sizeof(out), INT64_MIN);
	assert_string_equal(out, "-9,223,372,036,854,775,808");
	/* What does not fit is cut, and the string stays terminated. */
	buf_fmt_int(small, sizeof(small), 123456);
	assert_int_equal(strlen(small), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends_concatenate),
		cmocka_unit_test(test_printf_formats_and_grows),
		cmocka_unit_test(test_reset_keeps_allocation),
		cmocka_unit_test(test_cap_exactly_reached_is_fine),
		cmocka_unit_test(test_cap_failure_is_sticky),
		cmocka_unit_test(test_printf_over_cap_fails),
		cmocka_unit_test(test_reserve_beyond_cap),
		cmocka_unit_test(test_json_str_escapes),
		cmocka_unit_test(test_json_str_nul_and_all_controls),
		cmocka_unit_test(test_json_cstr_empty_and_appends),
		cmocka_unit_test(test_json_str_over_cap),
		cmocka_unit_test(test_steal_hands_over),
		cmocka_unit_test(test_steal_of_untouched_buffer_is_empty_string),
		cmocka_unit_test(test_reserve_keeps_nul_termination),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_fmt_int_groups_thousands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
