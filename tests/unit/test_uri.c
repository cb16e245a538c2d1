/* test_uri.c - unit tests of locations and percent-decoding in src/util/uri.c. */
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/uri.h"

static void test_pct_decode_strict(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(uri_pct_decode("a%2Fb%3a", 8, out, sizeof(out), true), 0);
	assert_string_equal(out, "a/b:");
	/* n bounds the input: the escape past it is not read. */
	assert_int_equal(uri_pct_decode("ab%41", 2, out, sizeof(out), true), 0);
	assert_string_equal(out, "ab");
	/* A '%' without two hex digits, or cut short, is an error. */
	assert_int_equal(uri_pct_decode("a%4", 3, out, sizeof(out), true), ERR_INVAL);
	assert_int_equal(uri_pct_decode("a%zz", 4, out, sizeof(out), true), ERR_INVAL);
	assert_int_equal(uri_pct_decode("%", 1, out, sizeof(out), true), ERR_INVAL);
	/* An escaped NUL would cut a path short: refused. */
	assert_int_equal(uri_pct_decode("a%00b", 5, out, sizeof(out), true), ERR_INVAL);
	/* Sign characters are not hex digits (strtol would take them). */
	assert_int_equal(uri_pct_decode("%+1", 3, out, sizeof(out), true), ERR_INVAL);
}

static void test_pct_decode_lenient(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(uri_pct_decode("a%4", 3, out, sizeof(out), false), 0);
	assert_string_equal(out, "a%4");
	assert_int_equal(uri_pct_decode("100%zz%41", 9, out, sizeof(out), false), 0);
	assert_string_equal(out, "100%zzA");
}

static void test_pct_decode_cap(void **state)
{
	char out[4];

	(void)state;
	/* Three bytes fit with their NUL; four do not. */
	assert_int_equal(uri_pct_decode("a%41c", 5, out, sizeof(out), true), 0);
	assert_string_equal(out, "aAc");
	assert_int_equal(uri_pct_decode("abcd", 4, out, sizeof(out), true), ERR_LIMIT);
	assert_int_equal(uri_pct_decode("abcd", 4, out, sizeof(out), false), ERR_LIMIT);
}

static void test_hex_digit(void **state)
{
	(void)state;
	assert_int_equal(uri_hex_digit('0'), 0);
	assert_int_equal(uri_hex_digit('9'), 9);
	assert_int_equal(uri_hex_digit('a'), 10);
	assert_int_equal(uri_hex_digit('F'), 15);
	assert_int_equal(uri_hex_digit('g'), -1);
	assert_int_equal(uri_hex_digit('/'), -1);
	assert_int_equal(uri_hex_digit(0), -1);
}

static void test_canonical_local(void **state)
{
	char dir[] = "/tmp/barge-uri-XXXXXX", real[PATH_MAX], want[URI_MAX], out[URI_MAX];
	char link[PATH_MAX];
	struct err e;

	(void)state;
	err_init(&e);
	assert_non_null(mkdtemp(dir));
	assert_non_null(realpath(dir, real));
	snprintf(link, sizeof(link), "%s/ln", real);
	assert_int_equal(symlink(real, link), 0);

	/* file:// and file://localhost name the same path; escapes decode. */
	snprintf(want, sizeof(want), "file://%s/a%%20b.jsonl", dir);
	assert_ok(uri_canonical(want, out, sizeof(out), &e), &e);
	snprintf(want, sizeof(want), "%s/a b.jsonl", real);
	assert_string_equal(out, want);
	snprintf(want, sizeof(want), "file://localhost%s/x", dir);
	assert_ok(uri_canonical(want, out, sizeof(out), &e), &e);
	snprintf(want, sizeof(want), "%s/x", real);
	assert_string_equal(out, want);

	/* A symbolic link resolves; a trailing slash (a prefix) stays. */
	snprintf(want, sizeof(want), "%s/ln/sub/", real);
	assert_ok(uri_canonical(want, out, sizeof(out), &e), &e);
	snprintf(want, sizeof(want), "%s/sub/", real);
	assert_string_equal(out, want);

	unlink(link);
	rmdir(dir);
}

static void test_canonical_refusals(void **state)
{
	char out[URI_MAX];
	struct err e;

	(void)state;
	err_init(&e);
	assert_int_equal(uri_canonical("relative/path", out, sizeof(out), &e), ERR_INVAL);
	assert_contains(e.msg, "absolute path");
	err_init(&e);
	assert_int_equal(uri_canonical("/srv/a/../etc", out, sizeof(out), &e), ERR_INVAL);
	assert_contains(e.msg, "\"..\"");
	err_init(&e);
	/* An escaped ".." is still "..". */
	assert_int_equal(uri_canonical("file:///srv/a/%2e%2e/etc", out, sizeof(out), &e),
			 ERR_INVAL);
	err_init(&e);
	assert_int_equal(uri_canonical("/srv/a%00b", out, sizeof(out), &e), ERR_INVAL);
	assert_contains(e.msg, "percent-escape");
	err_init(&e);
	assert_int_equal(uri_canonical("http://example/x", out, sizeof(out), &e), ERR_INVAL);
	assert_contains(e.msg, "s3://bucket/key");
	err_init(&e);
	assert_int_equal(uri_canonical("s3://b/a/../c", out, sizeof(out), &e), ERR_INVAL);
	err_init(&e);
	assert_ok(uri_canonical("s3://b/in/x.jsonl", out, sizeof(out), &e), &e);
	assert_string_equal(out, "s3://b/in/x.jsonl");
}

static void test_allowed_on_segment_boundaries(void **state)
{
	char *roots[] = {"/srv/a", "s3://bucket/in/"};

	(void)state;
	assert_true(uri_allowed("/srv/a", roots, 2));
	assert_true(uri_allowed("/srv/a/x.jsonl", roots, 2));
	assert_false(uri_allowed("/srv/ab", roots, 2));
	assert_false(uri_allowed("/srv", roots, 2));
	assert_true(uri_allowed("s3://bucket/in/k", roots, 2));
	assert_false(uri_allowed("s3://bucket/inx", roots, 2));
	assert_false(uri_allowed("s3://other/in/k", roots, 2));
	assert_false(uri_allowed("/srv/a/x", roots, 0));
	assert_true(uri_is_local("/srv/a"));
	assert_false(uri_is_local("s3://bucket/in/k"));
}

/* A store URL in a log line shows everything but the password. */
static void test_redact_password(void **state)
{
	char out[128];

	(void)state;
	uri_redact("postgres://barge:s3cr3t@db:5432/barge", out, sizeof(out));
	assert_string_equal(out, "postgres://barge:***@db:5432/barge");
	uri_redact("postgres://barge:p@ss:w@db/barge?sslmode=require", out, sizeof(out));
	assert_string_equal(out, "postgres://barge:***@db/barge?sslmode=require");
	uri_redact("postgres://barge@db/barge", out, sizeof(out));
	assert_string_equal(out, "postgres://barge@db/barge");
	uri_redact("postgres://db/x@y", out, sizeof(out));
	assert_string_equal(out, "postgres://db/x@y");
	uri_redact("sqlite:/srv/a:b@c.db", out, sizeof(out));
	assert_string_equal(out, "sqlite:/srv/a:b@c.db");
	uri_redact("postgres://u:secret@h/d", out, 12);
	assert_null(strstr(out, "secret"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_decode_strict),
		cmocka_unit_test(test_pct_decode_lenient),
		cmocka_unit_test(test_pct_decode_cap),
		cmocka_unit_test(test_hex_digit),
		cmocka_unit_test(test_canonical_local),
		cmocka_unit_test(test_canonical_refusals),
		cmocka_unit_test(test_allowed_on_segment_boundaries),
		cmocka_unit_test(test_redact_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
