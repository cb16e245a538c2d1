/* test_multipart.c - multipart/form-data parsing: what clients send, and what they get wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/multipart.h"

#define CT "multipart/form-data; boundary=----b0undary"

/* The form an SDK sends for a file upload: a file part and a field. */
static void test_file_and_field(void **state)
{
	static const char body[] =
		"------b0undary\r\n"
		"Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
		"batch\r\n"
		"------b0undary\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename=\"in put.jsonl\"\r\n"
		"Content-Type: application/jsonl\r\n\r\n"
		"{\"a\":1}\r\n{\"b\":\"\r\n------b0undar\"}\r\n"
		"------b0undary--\r\n";
	struct multipart_part p[MULTIPART_MAX_PARTS];
	const struct multipart_part *f;
	struct err e;
	int n;

	(void)state;
	n = multipart_parse(CT, body, sizeof(body) - 1, p, &e);
	assert_int_equal(n, 2);
	f = multipart_find(p, n, "file");
	assert_non_null(f);
	assert_string_equal(f->filename, "in put.jsonl");
	/* Bytes that merely resemble the boundary stay in the data. */
	assert_int_equal(f->len, strlen("{\"a\":1}\r\n{\"b\":\"\r\n------b0undar\"}"));
	assert_memory_equal(f->data, "{\"a\":1}\r\n{\"b\":\"\r\n------b0undar\"}", f->len);
	f = multipart_find(p, n, "purpose");
	assert_non_null(f);
	assert_int_equal(f->len, 5);
	assert_string_equal(f->filename, "");
	assert_null(multipart_find(p, n, "other"));
}

/* A quoted boundary and an empty file both work. */
static void test_quoted_boundary_empty_part(void **state)
{
	static const char body[] = "--xy\r\nContent-Disposition: form-data; name=\"file\"; "
				   "filename=\"e\"\r\n\r\n\r\n--xy--";
	struct multipart_part p[MULTIPART_MAX_PARTS];
	struct err e;

	(void)state;
	assert_int_equal(multipart_parse("multipart/form-data; boundary=\"xy\"", body,
					 sizeof(body) - 1, p, &e),
			 1);
	assert_int_equal(p[0].len, 0);
}

/* What is malformed is refused with a reason, never read past the body. */
static void test_malformed(void **state)
{
	struct multipart_part p[MULTIPART_MAX_PARTS];
	struct err e;
	static const char unclosed[] = "------b0undary\r\nContent-Disposition: form-data; "
				       "name=\"file\"\r\n\r\nabc";
	static const char noheaders[] = "------b0undary\r\nContent-Disposition: form-data";

	(void)state;
	assert_int_equal(multipart_parse("application/json", "{}", 2, p, &e), ERR_INVAL);
	assert_int_equal(multipart_parse("multipart/form-data", "x", 1, p, &e), ERR_INVAL);
	assert_int_equal(multipart_parse(CT, "nothing here", 12, p, &e), ERR_INVAL);
	assert_int_equal(multipart_parse(CT, unclosed, sizeof(unclosed) - 1, p, &e), ERR_INVAL);
	assert_non_null(strstr(e.msg, "not closed"));
	assert_int_equal(multipart_parse(CT, noheaders, sizeof(noheaders) - 1, p, &e), ERR_INVAL);
	assert_int_equal(multipart_parse(NULL, "x", 1, p, &e), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_and_field),
		cmocka_unit_test(test_quoted_boundary_empty_part),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
