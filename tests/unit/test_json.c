/* test_json.c - unit tests of strict JSON parsing and raw member spans in src/util/json.c. */
#include "testutil.h"

#include "util/json.h"

/* utf8_bad returns the offset json_utf8_check reports, or -1 for valid text. */
static long utf8_bad(const char *s, size_t n)
{
	size_t bad = 12345;

	if (json_utf8_check(s, n, &bad))
		return -1;
	return (long)bad;
}

#define UTF8_BAD(lit) utf8_bad(lit, sizeof(lit) - 1)

/* parse_fails parses s, expects ERR_INVAL and returns the message in e. */
static void parse_fails(const char *s, size_t n, struct err *e)
{
	json_object *o = (json_object *)e; /* json_parse must set it to NULL */
	int rc;

	err_init(e);
	rc = json_parse(s, n, &o, e);
	if (rc != ERR_INVAL) {
		json_object_put(rc ? NULL : o);
		fail_msg("expected ERR_INVAL for \"%.*s\", got %d", (int)n, s, rc);
	}
	assert_null(o);
	assert_int_equal(e->code, ERR_INVAL);
}

static void expect_parse_fails(const char *s)
{
	struct err e;

	parse_fails(s, strlen(s), &e);
}

static json_object *parse_ok(const char *s)
{
	json_object *o = NULL;
	struct err e;

	err_init(&e);
	assert_ok(json_parse(s, strlen(s), &o, &e), &e);
	assert_non_null(o);
	return o;
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_int_equal(UTF8_BAD(""), -1);
	assert_int_equal(UTF8_BAD("plain ascii {}"), -1);
	/* é, €, U+1F600, U+D7FF, U+E000, U+10FFFF */
	assert_int_equal(UTF8_BAD("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), -1);
	assert_int_equal(UTF8_BAD("\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf"), -1);
	/* U+0080 and U+0800 and U+10000, the smallest of each length. */
	assert_int_equal(UTF8_BAD("\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80"), -1);
	/* A NUL byte is valid UTF-8. */
	assert_int_equal(utf8_bad("a\0b", 3), -1);
	assert_int_equal(json_utf8_check("\xc3\xa9", 2, NULL), 1);
}

static void test_utf8_overlong(void **state)
{
	(void)state;
	assert_int_equal(UTF8_BAD("ab\xc0\x80"), 2);
	assert_int_equal(UTF8_BAD("\xc1\xbf"), 0);
	assert_int_equal(UTF8_BAD("x\xe0\x80\x80"), 1);
	assert_int_equal(UTF8_BAD("xy\xe0\x9f\xbf"), 2);
	assert_int_equal(UTF8_BAD("\xf0\x80\x80\x80"), 0);
	assert_int_equal(UTF8_BAD("\xf0\x8f\xbf\xbf"), 0);
}

static void test_utf8_surrogates_and_range(void **state)
{
	(void)state;
	assert_int_equal(UTF8_BAD("abc\xed\xa0\x80"), 3);
	assert_int_equal(UTF8_BAD("\xed\xbf\xbf"), 0);
	assert_int_equal(UTF8_BAD("a\xf4\x90\x80\x80"), 1);
	assert_int_equal(UTF8_BAD("\xf5\x80\x80\x80"), 0);
	assert_int_equal(UTF8_BAD("\xff"), 0);
	assert_int_equal(UTF8_BAD("ok\xfe"), 2);
	assert_false(json_utf8_check("\xed\xa0\x80", 3, NULL));
}

static void test_utf8_truncated_and_stray(void **state)
{
	(void)state;
	assert_int_equal(UTF8_BAD("x\xe2\x82"), 1);
	assert_int_equal(UTF8_BAD("\xc3"), 0);
	assert_int_equal(UTF8_BAD("abcd\xf0\x9f\x98"), 4);
	/* A lead byte cut short by an ASCII byte. */
	assert_int_equal(UTF8_BAD("\xe2\x28\xa1"), 0);
	/* A continuation byte with no lead byte. */
	assert_int_equal(UTF8_BAD("a\x80"), 1);
	assert_int_equal(UTF8_BAD("\xc3\xa9\xa9"), 2);
	/* The length bounds the check, not a NUL. */
	assert_int_equal(utf8_bad("\xc3\xa9", 1), 0);
}

static void test_parse_valid(void **state)
{
	json_object *o;

	(void)state;
	o = parse_ok(" {\"a\": [1, 2.5, \"x\", null, true], \"b\": {}} \r\n\t");
	assert_true(json_object_is_type(o, json_type_object));
	assert_int_equal(json_object_array_length(json_get(o, "a")), 5);
	json_object_put(o);

	o = parse_ok("\"\xc3\xa9\"");
	assert_string_equal(json_object_get_string(o), "\xc3\xa9");
	json_object_put(o);

	/* The text need not be NUL-terminated: n bounds it. */
	{
		json_object *p = NULL;
		struct err e;

		err_init(&e);
		assert_ok(json_parse("[1]garbage", 3, &p, &e), &e);
		assert_int_equal(json_object_array_length(p), 1);
		json_object_put(p);
	}
}

static void test_parse_trailing_garbage(void **state)
{
	struct err e;

	(void)state;
	parse_fails("{} x", 4, &e);
	assert_contains(e.msg, "byte 4");
	parse_fails("{\"a\":1}  ,", 10, &e);
	assert_contains(e.msg, "byte 10");
	parse_fails("[1]\n]", 5, &e);
	assert_contains(e.msg, "byte 5");
}

static void test_parse_second_value(void **state)
{
	struct err e;

	(void)state;
	parse_fails("{}{}", 4, &e);
	assert_contains(e.msg, "byte 3");
	parse_fails("[1] [2]", 7, &e);
	assert_contains(e.msg, "byte 5");
	parse_fails("{\"a\":1}\n{\"a\":2}", 15, &e);
	assert_contains(e.msg, "byte 9");
}

static void test_parse_truncated(void **state)
{
	struct err e;

	(void)state;
	parse_fails("{\"a\":", 5, &e);
	assert_contains(e.msg, "end");
	parse_fails("[1,2", 4, &e);
	assert_contains(e.msg, "end");
	parse_fails("\"abc", 4, &e);
	parse_fails("", 0, &e);
	parse_fails("   ", 3, &e);
}

static void test_parse_syntax_errors_name_the_byte(void **state)
{
	struct err e;

	(void)state;
	parse_fails("{\"a\":1,}", 8, &e);
	assert_contains(e.msg, "byte 8");
	parse_fails("{a:1}", 5, &e);
	assert_contains(e.msg, "byte 2");
	parse_fails("['a']", 5, &e);
	assert_contains(e.msg, "byte 2");
	parse_fails("[1,]", 4, &e);
	assert_contains(e.msg, "byte 4");
	expect_parse_fails("[TRUE]");
	expect_parse_fails("[+1]");
	expect_parse_fails("[.5]");
	expect_parse_fails("[0x10]");
	expect_parse_fails("/*c*/[1]");
	expect_parse_fails("[\"\\x41\"]");
}

/* nested makes depth nested arrays: "[[...]]". The caller frees. */
static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 1);

	assert_non_null(s);
	for (int i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth * 2 - 1 - i] = ']';
	}
	s[depth * 2] = '\0';
	return s;
}

static void test_parse_depth(void **state)
{
	char *s;
	json_object *o;
	struct err e;

	(void)state;
	s = nested(JSON_MAX_DEPTH);
	o = parse_ok(s);
	json_object_put(o);
	free(s);

	s = nested(JSON_MAX_DEPTH + 1);
	parse_fails(s, strlen(s), &e);
	assert_contains(e.msg, "byte");
	assert_contains(e.msg, "deep");
	free(s);

	s = nested(1000);
	parse_fails(s, strlen(s), &e);
	free(s);
}

static void test_parse_invalid_utf8_in_string(void **state)
{
	static const char s[] = "{\"a\":\"x\xc0\x80\"}";
	static const char t[] = "{\"k\":\"\xed\xa0\x80\"}";
	static const char u[] = "[\"\xe2\x82\"]";
	struct err e;

	(void)state;
	parse_fails(s, sizeof(s) - 1, &e);
	assert_contains(e.msg, "UTF-8");
	assert_contains(e.msg, "byte 8");
	parse_fails(t, sizeof(t) - 1, &e);
	assert_contains(e.msg, "UTF-8");
	assert_contains(e.msg, "byte 7");
	parse_fails(u, sizeof(u) - 1, &e);
	assert_contains(e.msg, "byte 3");
}

/* RFC 8259 has no NaN or Infinity: echoed inputs must stay valid JSON. */
static void test_parse_rejects_non_finite_literals(void **state)
{
	(void)state;
	expect_parse_fails("{\"a\":NaN}");
	expect_parse_fails("[Infinity]");
	expect_parse_fails("[-Infinity]");
}

/* RFC 8259 section 7: control characters inside strings must be escaped. */
static void test_parse_rejects_raw_control_chars_in_strings(void **state)
{
	(void)state;
	expect_parse_fails("[\"a\tb\"]");
	expect_parse_fails("{\"a\":\"x\x01y\"}");
	expect_parse_fails("[\"line\nbreak\"]");
}

/* RFC 8259 section 6: no leading zeros, and a fraction needs a digit. */
static void test_parse_rejects_malformed_numbers(void **state)
{
	(void)state;
	expect_parse_fails("[1.]");
	expect_parse_fails("[00]");
	expect_parse_fails("[-01]");
	expect_parse_fails("{\"a\":01}");
}

struct spans {
	int n;
	int stop_after;
	char key[16][32];
	char val[16][128];
};

static int collect(const struct json_span *m, void *ud)
{
	struct spans *s = ud;

	assert_true(s->n < 16);
	assert_true(m->key_len < sizeof(s->key[0]));
	assert_true(m->val_len < sizeof(s->val[0]));
	memcpy(s->key[s->n], m->key, m->key_len);
	s->key[s->n][m->key_len] = '\0';
	memcpy(s->val[s->n], m->val, m->val_len);
	s->val[s->n][m->val_len] = '\0';
	s->n++;
	return s->stop_after && s->n == s->stop_after;
}

static void test_scan_spans_byte_for_byte(void **state)
{
	static const char text[] =
		" { \"a\" : 0.70 , \"b\":1e-1,\"c\":\"\\u00e9\","
		"\"d\":{\"x\":\"}{\",\"y\":[1,{\"z\":\"]\"}]},"
		"\"e\":[ 1 , 2 ] ,\"f\":null,\"g\":true,"
		"\"h\":\"say \\\"}\\\"\",\"i\":\"c:\\\\\",\"j\":-0.0E+00 } ";
	struct spans s = {0};
	json_object *o;

	(void)state;
	/* The text is valid JSON; json_scan_object requires that. */
	o = parse_ok(text);
	json_object_put(o);
	assert_int_equal(json_scan_object(text, sizeof(text) - 1, collect, &s), 0);
	assert_int_equal(s.n, 10);
	assert_string_equal(s.key[0], "a");
	assert_string_equal(s.val[0], "0.70");
	assert_string_equal(s.key[1], "b");
	assert_string_equal(s.val[1], "1e-1");
	assert_string_equal(s.val[2], "\"\\u00e9\"");
	assert_string_equal(s.key[3], "d");
	assert_string_equal(s.val[3], "{\"x\":\"}{\",\"y\":[1,{\"z\":\"]\"}]}");
	assert_string_equal(s.val[4], "[ 1 , 2 ]");
	assert_string_equal(s.val[5], "null");
	assert_string_equal(s.val[6], "true");
	assert_string_equal(s.key[7], "h");
	assert_string_equal(s.val[7], "\"say \\\"}\\\"\"");
	assert_string_equal(s.val[8], "\"c:\\\\\"");
	assert_string_equal(s.key[9], "j");
	assert_string_equal(s.val[9], "-0.0E+00");
}

static int keep_first(const struct json_span *m, void *ud)
{
	*(struct json_span *)ud = *m;
	return 1;
}

static void test_scan_span_addresses(void **state)
{
	static const char text[] = "{\"k\": {\"n\": [1,2]}, \"z\": 1}";
	struct json_span m = {0};

	(void)state;
	assert_int_equal(json_scan_object(text, sizeof(text) - 1, keep_first, &m), 0);
	assert_ptr_equal(m.key, text + 2);
	assert_int_equal(m.key_len, 1);
	assert_ptr_equal(m.val, text + 6);
	assert_int_equal(m.val_len, 12);
}

static void test_scan_stops_and_rejects(void **state)
{
	struct spans s = {0};

	(void)state;
	s.stop_after = 2;
	assert_int_equal(json_scan_object("{\"a\":1,\"b\":2,\"c\":3}", 19, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.key[1], "b");

	memset(&s, 0, sizeof(s));
	assert_int_equal(json_scan_object("{}", 2, collect, &s), 0);
	assert_int_equal(json_scan_object(" { \n } ", 7, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(json_scan_object("[1,2]", 5, collect, &s), ERR_INVAL);
	assert_int_equal(json_scan_object("\"{}\"", 4, collect, &s), ERR_INVAL);
	assert_int_equal(json_scan_object("   ", 3, collect, &s), ERR_INVAL);
	assert_int_equal(json_scan_object("", 0, collect, &s), ERR_INVAL);
	assert_int_equal(s.n, 0);
}

static int find_keys(const struct json_span *m, void *ud)
{
	int *hits = ud;

	if (json_span_key_is(m, "modelInput"))
		hits[0]++;
	if (json_span_key_is(m, "a\"b"))
		hits[1]++;
	if (json_span_key_is(m, "recordId"))
		hits[2]++;
	if (json_span_key_is(m, "\xc3\xa9"))
		hits[3]++;
	return 0;
}

static void test_span_key_is_with_escapes(void **state)
{
	static const char text[] =
		"{\"mo\\u0064elInput\":{},\"a\\\"b\":1,\"recordid\":2,\"record\":3,"
		"\"recordIdx\":4,\"\\u00e9\":5,\"\xc3\xa9\":6,\"modelInput\":7}";
	int hits[4] = {0};
	struct json_span m;

	(void)state;
	assert_int_equal(json_scan_object(text, sizeof(text) - 1, find_keys, hits), 0);
	assert_int_equal(hits[0], 2); /* escaped and plain modelInput */
	assert_int_equal(hits[1], 1);
	assert_int_equal(hits[2], 0); /* case, prefix and extension do not match */
	assert_int_equal(hits[3], 2); /* \u00e9 and the raw bytes */

	m.key = "ab";
	m.key_len = 1;
	assert_true(json_span_key_is(&m, "a"));
	assert_false(json_span_key_is(&m, "ab"));
	assert_false(json_span_key_is(&m, ""));
}

static void test_is_integer(void **state)
{
	json_object *a;
	static const bool want[] = {true, true, true, true, true, false, false, false, false, false,
				    false, false};

	(void)state;
	a = parse_ok("[1, -7, 1.0, 1e3, -0.0, 1.5, 1e-1, \"1\", null, true, 1e300, {}]");
	assert_int_equal(json_object_array_length(a), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (json_is_integer(json_object_array_get_idx(a, i)) != want[i])
			fail_msg("json_is_integer of element %zu should be %d", i, want[i]);
	}
	assert_false(json_is_integer(NULL));
	json_object_put(a);
}

static void test_typed_getters(void **state)
{
	json_object *o;
	int64_t v = 0;
	double d = 0;

	(void)state;
	o = parse_ok("{\"i\":1e3,\"j\":9007199254740993,\"f\":2.5,\"s\":\"x\",\"n\":null}");
	assert_true(json_get_int64(o, "i", &v));
	assert_int_equal(v, 1000);
	assert_true(json_get_int64(o, "j", &v));
	assert_int_equal(v, 9007199254740993LL);
	assert_false(json_get_int64(o, "f", &v));
	assert_false(json_get_int64(o, "s", &v));
	assert_false(json_get_int64(o, "missing", &v));
	assert_true(json_get_double(o, "f", &d));
	assert_true(d == 2.5);
	assert_false(json_get_double(o, "s", &d));
	assert_string_equal(json_get_str(o, "s"), "x");
	assert_null(json_get_str(o, "f"));
	assert_null(json_get_str(o, "n"));
	assert_string_equal(json_type_word(json_get(o, "s")), "a string");
	assert_string_equal(json_type_word(json_get(o, "n")), "null");
	assert_string_equal(json_type_word(o), "an object");
	assert_null(json_get(json_get(o, "s"), "x"));
	json_object_put(o);
}

static void test_put_and_dup_are_compact(void **state)
{
	json_object *o;
	struct buf b;
	char *s;
	size_t n = 0;

	(void)state;
	o = parse_ok("{ \"u\" : \"a/b\" , \"v\" : [ 1 , 2 ] }");
	buf_init(&b, 0);
	assert_int_equal(json_put(&b, o), 0);
	assert_string_equal(b.data, "{\"u\":\"a/b\",\"v\":[1,2]}");
	s = json_dup_str(o, &n);
	assert_string_equal(s, b.data);
	assert_int_equal(n, b.len);
	free(s);
	buf_free(&b);
	json_object_put(o);
}

/* json_validate agrees with json_parse on what is JSON, without building a tree. */
static void test_validate_matches_parse(void **state)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0.5e+3", "\"\\u00e9\\n\"", " {\"a\":[1,2,{\"b\":null}],\"c\":true} ",
		"\"caf\xc3\xa9\"", "[false,\"x\",-1,1.25]",
	};
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "01", "1.", "NaN", "[Infinity]",
		"\"a\tb\"", "\"\\x\"", "\"\\u12g4\"", "{} {}", "truex", "\"\xff\"", "{'a':1}",
	};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_object *o = NULL;

		assert_ok(json_validate(good[i], strlen(good[i]), &e), &e);
		assert_ok(json_parse(good[i], strlen(good[i]), &o, &e), &e);
		json_object_put(o);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = NULL;

		if (json_validate(bad[i], strlen(bad[i]), &e) == 0)
			fail_msg("json_validate accepted %s", bad[i]);
		assert_int_equal(e.code, ERR_INVAL);
		assert_int_not_equal(json_parse(bad[i], strlen(bad[i]), &o, &e), 0);
	}
	/* Nesting is bounded as for json_parse. */
	{
		char deep[2 * (JSON_MAX_DEPTH + 2) + 1];
		size_t n = JSON_MAX_DEPTH + 2;

		memset(deep, '[', n);
		memset(deep + n, ']', n);
		deep[2 * n] = '\0';
		assert_int_not_equal(json_validate(deep, 2 * n, &e), 0);
		assert_contains(e.msg, "nesting");
	}
}

/* json_span_at walks objects and arrays by JSON pointer, bytes as written. */
static void test_span_at_pointers(void **state)
{
	const char *s = "{\"usage\": {\"prompt_tokens\": 12, \"x\": \"}\"},"
			"\"results\": [ {\"tokenCount\": 7}, {\"tokenCount\":8} ], \"v\": 0.70}";
	struct json_span m;
	int64_t v;

	(void)state;
	assert_int_equal(json_span_at(s, strlen(s), "/usage/prompt_tokens", &m), 0);
	assert_true(json_span_int64(&m, &v));
	assert_int_equal(v, 12);
	assert_int_equal(json_span_at(s, strlen(s), "/results/1/tokenCount", &m), 0);
	assert_true(json_span_int64(&m, &v));
	assert_int_equal(v, 8);
	assert_int_equal(json_span_at(s, strlen(s), "/v", &m), 0);
	assert_int_equal(m.val_len, 4);
	assert_memory_equal(m.val, "0.70", 4);
	assert_false(json_span_int64(&m, &v));
	assert_int_equal(json_span_at(s, strlen(s), "/results/2", &m), ERR_NOTFOUND);
	assert_int_equal(json_span_at(s, strlen(s), "/nope", &m), ERR_NOTFOUND);
	assert_int_equal(json_span_at(s, strlen(s), "/usage/x/y", &m), ERR_NOTFOUND);
	assert_int_equal(json_span_at(s, strlen(s), "", &m), 0);
	assert_int_equal(m.val_len, strlen(s));
}

struct elems {
	char got[8][32];
	size_t n;
};

static int collect_elem(const char *val, size_t len, size_t idx, void *ud)
{
	struct elems *el = ud;

	assert_int_equal(idx, el->n);
	snprintf(el->got[el->n++], sizeof(el->got[0]), "%.*s", (int)len, val);
	return el->n == 3 ? 7 : 0;
}

/* A large array is walked one element at a time, each as written. */
static void test_scan_array_elements(void **state)
{
	static const char text[] = " [ {\"a\": [1, \"],\"]} , 0.70,\"x\\\"y\" ,null ] ";
	struct elems el = {0};

	(void)state;
	assert_int_equal(json_scan_array(text, strlen(text), collect_elem, &el), 7);
	assert_int_equal(el.n, 3);
	assert_string_equal(el.got[0], "{\"a\": [1, \"],\"]}");
	assert_string_equal(el.got[1], "0.70");
	assert_string_equal(el.got[2], "\"x\\\"y\"");
	el.n = 0;
	assert_int_equal(json_scan_array("[]", 2, collect_elem, &el), 0);
	assert_int_equal(el.n, 0);
	assert_int_equal(json_scan_array("{}", 2, collect_elem, &el), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_overlong),
		cmocka_unit_test(test_utf8_surrogates_and_range),
		cmocka_unit_test(test_utf8_truncated_and_stray),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_trailing_garbage),
		cmocka_unit_test(test_parse_second_value),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_syntax_errors_name_the_byte),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_parse_invalid_utf8_in_string),
		cmocka_unit_test(test_parse_rejects_non_finite_literals),
		cmocka_unit_test(test_parse_rejects_raw_control_chars_in_strings),
		cmocka_unit_test(test_parse_rejects_malformed_numbers),
		cmocka_unit_test(test_scan_spans_byte_for_byte),
		cmocka_unit_test(test_scan_span_addresses),
		cmocka_unit_test(test_validate_matches_parse),
		cmocka_unit_test(test_span_at_pointers),
		cmocka_unit_test(test_scan_stops_and_rejects),
		cmocka_unit_test(test_scan_array_elements),
		cmocka_unit_test(test_span_key_is_with_escapes),
		cmocka_unit_test(test_is_integer),
		cmocka_unit_test(test_typed_getters),
		cmocka_unit_test(test_put_and_dup_are_compact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
