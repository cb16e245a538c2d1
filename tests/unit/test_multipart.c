/* test_multipart.c - multipart/form-data parsing: what clients send, and what they get wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/multipart.h"

#define CT "multipart/form-data; boundary=----b0undary"

/* file_of_two parses body, a form of two parts (CT's boundary), into p and returns its "file". */
static const struct multipart_part *file_of_two(const char *body, size_t len,
						struct multipart_part *p)
{
	const struct multipart_part *f;
	struct err e;

	assert_int_equal(multipart_parse(CT, body, len, p, &e), 2);
	f = multipart_find(p, 2, "file");
	assert_non_null(f);
	return f;
}

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
	const struct multipart_part *f = file_of_two(body, sizeof(body) - 1, p);

	(void)state;
	assert_string_equal(f->filename, "in put.jsonl");
	/* Bytes that merely resemble the boundary stay in the data. */
	assert_int_equal(f->len, strlen("{\"a\":1}\r\n{\"b\":\"\r\n------b0undar\"}"));
	assert_memory_equal(f->data, "{\"a\":1}\r\n{\"b\":\"\r\n------b0undar\"}", f->len);
	f = multipart_find(p, 2, "purpose");
	assert_non_null(f);
	assert_int_equal(f->len, 5);
	assert_string_equal(f->filename, "");
	assert_null(multipart_find(p, 2, "other"));
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

/*
 * The boundary's text is data unless it starts a line and ends the
 * boundary: in the middle of a line, or at the start of one but followed
 * by more characters, it stays in the file.
 */
static void test_boundary_text_in_data(void **state)
{
	static const char data[] = "{\"t\":\"see ------b0undary here\"}\n------b0undaryX\n"
				   "--------b0undary\r\n------b0undary-x";
	static const char body[] =
		"------b0undary \t\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
		"{\"t\":\"see ------b0undary here\"}\n------b0undaryX\n"
		"--------b0undary\r\n------b0undary-x\r\n"
		"------b0undary\r\n"
		"Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
		"batch\r\n"
		"------b0undary--\r\n";
	struct multipart_part p[MULTIPART_MAX_PARTS];
	const struct multipart_part *f = file_of_two(body, sizeof(body) - 1, p);

	(void)state;
	assert_int_equal(f->len, sizeof(data) - 1);
	assert_memory_equal(f->data, data, f->len);
	f = multipart_find(p, 2, "purpose");
	assert_non_null(f);
	assert_int_equal(f->len, 5);
}

/*
 * Parameters are read one by one: "name=" inside a quoted file name is part
 * of the file name, a backslash escapes a quote, and keys are matched
 * whole and without regard to case.
 */
static void test_disposition_params(void **state)
{
	static const char body[] =
		"--B\r\n"
		"Content-Disposition: form-data; filename=\"a; name=zzz\"; name=\"file\"\r\n\r\n"
		"x\r\n"
		"--B\r\n"
		"content-disposition: form-data; FILENAME=\"q\\\"uote\\\\d\" ; NAME = purpose\r\n\r\n"
		"batch\r\n"
		"--B\r\n"
		"Content-Disposition: form-data; xname=\"no\"; name=third; filename\r\n\r\n"
		"3\r\n"
		"--B--";
	struct multipart_part p[MULTIPART_MAX_PARTS];
	struct err e;

	(void)state;
	assert_int_equal(multipart_parse("multipart/form-data; boundary=B", body, sizeof(body) - 1,
					 p, &e),
			 3);
	assert_string_equal(p[0].name, "file");
	assert_string_equal(p[0].filename, "a; name=zzz");
	assert_string_equal(p[1].name, "purpose");
	assert_string_equal(p[1].filename, "q\"uote\\d");
	assert_string_equal(p[2].name, "third");
	assert_string_equal(p[2].filename, "");
}

/* A file name too long is cut between characters, so that it stays UTF-8. */
static void test_long_utf8_filename(void **state)
{
	char body[2048], name[601];
	struct multipart_part p[MULTIPART_MAX_PARTS];
	struct err e;
	size_t fl;
	int len;

	(void)state;
	/* "é" is two bytes: 300 of them, cut to fit 255 bytes, must end on a whole one. */
	for (int i = 0; i < 300; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[600] = '\0';
	len = snprintf(body, sizeof(body),
		       "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n\r\n"
		       "x\r\n--B--",
		       name);
	assert_int_equal(multipart_parse("multipart/form-data; boundary=B", body, (size_t)len, p,
					 &e),
			 1);
	fl = strlen(p[0].filename);
	assert_int_equal(fl, 254);
	assert_memory_equal(p[0].filename, name, fl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_and_field),
		cmocka_unit_test(test_quoted_boundary_empty_part),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_boundary_text_in_data),
		cmocka_unit_test(test_disposition_params),
		cmocka_unit_test(test_long_utf8_filename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
