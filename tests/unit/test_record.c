/* test_record.c - unit tests of reading one input line as a record (src/core/record.c). */
#include "testutil.h"

#include "core/record.h"
#include "util/json.h"

/* parse runs record_parse on a NUL-terminated line and returns its code. */
static int parse(const char *line, struct record *rec, struct err *e)
{
	err_init(e);
	return record_parse(line, strlen(line), rec, e);
}

/* expect_invalid checks that line fails with ERR_INVAL and a message containing want. */
static void expect_invalid(const char *line, const char *want)
{
	struct record rec;
	struct err e;
	int rc = parse(line, &rec, &e);

	record_free(&rec);
	if (rc != ERR_INVAL)
		fail_msg("record_parse(%s) gave %d, want ERR_INVAL", line, rc);
	assert_contains(e.msg, want);
}

static void test_valid_record(void **state)
{
	static const char line[] = "{\"recordId\":\"r1\",\"modelInput\":{\"a\":1}}";
	struct record rec;
	struct err e;

	(void)state;
	assert_ok(parse(line, &rec, &e), &e);
	assert_non_null(rec.root);
	assert_non_null(rec.id);
	assert_string_equal(rec.id, "r1");
	assert_int_equal(rec.id_len, 2);
	assert_true(json_is_type(rec.mi, json_type_object));
	assert_int_equal(json_object_get_int(json_get(rec.mi, "a")), 1);
	assert_int_equal(rec.mi_raw_len, 7);
	assert_memory_equal(rec.mi_raw, "{\"a\":1}", 7);
	assert_ptr_equal(rec.mi_raw, line + 30);
	record_free(&rec);
	assert_null(rec.root);
	assert_null(rec.mi_raw);
}

static void test_record_id_escapes_decoded(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	assert_ok(parse("{\"modelInput\":{},\"recordId\":\"a\\u0062c\\\"d\"}", &rec, &e), &e);
	assert_string_equal(rec.id, "abc\"d");
	assert_int_equal(rec.id_len, 5);
	record_free(&rec);

	assert_ok(parse("{\"recordId\":\"\xc3\xa9t\xc3\xa9\",\"modelInput\":{}}", &rec, &e), &e);
	assert_int_equal(rec.id_len, 5);
	record_free(&rec);
}

static void test_missing_record_id_is_ok(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	assert_ok(parse("{\"modelInput\":{\"x\":[1,2]}}", &rec, &e), &e);
	assert_null(rec.id);
	assert_int_equal(rec.id_len, 0);
	assert_non_null(rec.mi);
	assert_int_equal(rec.mi_raw_len, 11);
	assert_memory_equal(rec.mi_raw, "{\"x\":[1,2]}", 11);
	record_free(&rec);
}

static void test_record_id_not_a_string(void **state)
{
	(void)state;
	expect_invalid("{\"recordId\":7,\"modelInput\":{}}", "recordId: must be a string, got a number");
	expect_invalid("{\"recordId\":null,\"modelInput\":{}}", "got null");
	expect_invalid("{\"recordId\":[\"a\"],\"modelInput\":{}}", "got an array");
	expect_invalid("{\"recordId\":{},\"modelInput\":{}}", "got an object");
	expect_invalid("{\"recordId\":true,\"modelInput\":{}}", "got a boolean");
}

static void test_record_id_empty(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	assert_int_equal(parse("{\"recordId\":\"\",\"modelInput\":{}}", &rec, &e), ERR_INVAL);
	assert_contains(e.msg, "recordId: must not be empty");
	assert_null(rec.id);
	record_free(&rec);
}

/* id_line builds a record line whose recordId has n bytes; the caller frees. */
static char *id_line(size_t n)
{
	char *s = malloc(n + 64);
	size_t k;

	assert_non_null(s);
	k = (size_t)sprintf(s, "{\"recordId\":\"");
	memset(s + k, 'i', n);
	k += n;
	strcpy(s + k, "\",\"modelInput\":{}}");
	return s;
}

static void test_record_id_length_limit(void **state)
{
	struct record rec;
	struct err e;
	char *line;
	int rc;

	(void)state;
	line = id_line(RECORD_ID_MAX);
	assert_ok(parse(line, &rec, &e), &e);
	assert_int_equal(rec.id_len, RECORD_ID_MAX);
	record_free(&rec);
	free(line);

	line = id_line(RECORD_ID_MAX + 1);
	rc = parse(line, &rec, &e);
	free(line);
	assert_int_equal(rc, ERR_INVAL);
	assert_null(rec.id);
	record_free(&rec);
	assert_contains(e.msg, "recordId");
	assert_contains(e.msg, "1025 bytes");
	assert_contains(e.msg, "1024");
}

static void test_missing_model_input(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	assert_int_equal(parse("{\"recordId\":\"r\"}", &rec, &e), ERR_INVAL);
	assert_string_equal(e.msg, "modelInput: missing");
	assert_null(rec.mi_raw);
	/* The id is still known, for the error record. */
	assert_string_equal(rec.id, "r");
	record_free(&rec);

	expect_invalid("{}", "modelInput: missing");
	expect_invalid("{\"modelinput\":{}}", "modelInput: missing");
}

static void test_model_input_not_an_object(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	assert_int_equal(parse("{\"recordId\":\"r\",\"modelInput\": \"text\" }", &rec, &e), ERR_INVAL);
	assert_string_equal(e.msg, "modelInput: must be an object, got a string");
	assert_non_null(rec.mi_raw);
	assert_int_equal(rec.mi_raw_len, 6);
	assert_memory_equal(rec.mi_raw, "\"text\"", 6);
	record_free(&rec);

	assert_int_equal(parse("{\"modelInput\":[1, 2]}", &rec, &e), ERR_INVAL);
	assert_contains(e.msg, "got an array");
	assert_int_equal(rec.mi_raw_len, 6);
	assert_memory_equal(rec.mi_raw, "[1, 2]", 6);
	record_free(&rec);

	assert_int_equal(parse("{\"modelInput\":null}", &rec, &e), ERR_INVAL);
	assert_contains(e.msg, "got null");
	assert_int_equal(rec.mi_raw_len, 4);
	assert_memory_equal(rec.mi_raw, "null", 4);
	record_free(&rec);
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_invalid("{\"recordId\":\"a\",\"recordId\":\"b\",\"modelInput\":{}}", "recordId twice");
	expect_invalid("{\"modelInput\":{},\"recordId\":\"a\",\"modelInput\":{}}", "modelInput twice");
	/* A key spelled with an escape is the same key. */
	expect_invalid("{\"recordId\":\"a\",\"record\\u0049d\":\"b\",\"modelInput\":{}}",
		       "recordId twice");
	expect_invalid("{\"modelInput\":{},\"\\u006dodelInput\":{}}", "modelInput twice");
}

static void test_duplicate_keys_inside_model_input_are_not_ours(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	/* Only top-level keys count: a nested recordId is the model's business. */
	assert_ok(parse("{\"recordId\":\"a\",\"modelInput\":{\"recordId\":\"b\",\"modelInput\":1}}",
			&rec, &e),
		  &e);
	assert_string_equal(rec.id, "a");
	record_free(&rec);
}

static void test_not_an_object(void **state)
{
	(void)state;
	expect_invalid("[{\"modelInput\":{}}]", "a record must be a JSON object, got an array");
	expect_invalid("\"modelInput\"", "got a string");
	expect_invalid("42", "got a number");
	expect_invalid("null", "got null");
}

static void test_invalid_json(void **state)
{
	struct record rec;
	struct err e;

	(void)state;
	assert_int_equal(parse("{\"recordId\":\"r\",\"modelInput\":{}", &rec, &e), ERR_INVAL);
	assert_contains(e.msg, "invalid JSON");
	assert_null(rec.root);
	assert_null(rec.id);
	assert_null(rec.mi_raw);
	record_free(&rec);

	expect_invalid("{\"recordId\":\"r\",\"modelInput\":{}} {}", "byte 34");
	expect_invalid("{\"recordId\":'r',\"modelInput\":{}}", "invalid JSON");
	expect_invalid("{\"modelInput\":{\"t\":\"\xc0\xaf\"}}", "UTF-8");
	expect_invalid("", "invalid JSON");
}

static void test_model_input_raw_is_byte_exact(void **state)
{
	static const char mi[] = "{ \"x\" : 0.70, \"y\":\"\\u00e9 \\\"}\\\"\" ,\"z\":[1e-1 , {}],"
				 "\"w\":\"\xe2\x82\xac\", \"n\": {\"modelInput\": {}} }";
	char line[512];
	struct record rec;
	struct err e;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), " { \"recordId\" : \"r\" ,\n \"modelInput\" :\t%s , \"extra\":1 } ",
		     mi);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_ok(parse(line, &rec, &e), &e);
	assert_int_equal(rec.mi_raw_len, sizeof(mi) - 1);
	assert_memory_equal(rec.mi_raw, mi, sizeof(mi) - 1);
	assert_ptr_equal(rec.mi_raw, strstr(line, mi));
	/* The parsed view agrees with the raw bytes. */
	assert_string_equal(json_get_str(rec.mi, "y"), "\xc3\xa9 \"}\"");
	record_free(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_record),
		cmocka_unit_test(test_record_id_escapes_decoded),
		cmocka_unit_test(test_missing_record_id_is_ok),
		cmocka_unit_test(test_record_id_not_a_string),
		cmocka_unit_test(test_record_id_empty),
		cmocka_unit_test(test_record_id_length_limit),
		cmocka_unit_test(test_missing_model_input),
		cmocka_unit_test(test_model_input_not_an_object),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_duplicate_keys_inside_model_input_are_not_ours),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_model_input_raw_is_byte_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
