/* test_jsonl.c - unit tests of the streaming JSON Lines reader in src/core/jsonl.c. */
#include "testutil.h"

#include <stdbool.h>
#include <unistd.h>

#include "core/jsonl.h"
#include "objects/objects.h"

#define MAX_LINE (1 << 20)

struct fixture {
	char dir[64];
	char path[128];
	struct objects *o;
};

/* A line as the reader gave it, with its bytes copied out. */
struct got {
	char *data;
	size_t len;
	uint64_t off, next_off, line_no, full_len;
	bool too_long;
};

struct lines {
	struct got *v;
	size_t n;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/barge-jsonl-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/in.jsonl", f->dir);
	f->o = objects_new(NULL);
	*state = f;
	return f->o ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	objects_free(f->o);
	free(f);
	return 0;
}

static void write_file(struct fixture *f, const char *s, size_t n)
{
	FILE *fp = fopen(f->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(s, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

#define WRITE_LIT(f, lit) write_file(f, lit, sizeof(lit) - 1)

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* read_range reads every line of [off, off + len) of the fixture's file. */
static struct lines read_range(struct fixture *f, uint64_t off, uint64_t len, uint64_t first_line,
			       size_t max_line)
{
	struct jsonl_reader r;
	struct jsonl_line l;
	struct lines out = {NULL, 0};
	struct err e;
	int rc;

	err_init(&e);
	assert_ok(jsonl_open(&r, f->o, f->path, off, len, first_line, max_line, &e), &e);
	while ((rc = jsonl_next(&r, &l, &e)) == 1) {
		struct got *g;
		struct got *nv = realloc(out.v, (out.n + 1) * sizeof(*nv));

		assert_non_null(nv);
		out.v = nv;
		g = &out.v[out.n++];
		g->data = malloc(l.len + 1);
		assert_non_null(g->data);
		memcpy(g->data, l.data, l.len);
		g->data[l.len] = '\0';
		g->len = l.len;
		g->off = l.off;
		g->next_off = l.next_off;
		g->line_no = l.line_no;
		g->too_long = l.too_long;
		g->full_len = l.full_len;
	}
	assert_ok(rc, &e);
	/* The end is sticky. */
	assert_int_equal(jsonl_next(&r, &l, &e), 0);
	jsonl_close(&r);
	return out;
}

static struct lines read_all(struct fixture *f, size_t max_line)
{
	return read_range(f, 0, 0, 1, max_line);
}

static void expect_line(const struct got *g, const char *data, uint64_t off, uint64_t next_off,
			uint64_t line_no)
{
	assert_false(g->too_long);
	assert_string_equal(g->data, data);
	assert_int_equal(g->len, strlen(data));
	assert_int_equal(g->off, off);
	assert_int_equal(g->next_off, next_off);
	assert_int_equal(g->line_no, line_no);
}

static void test_lf_lines(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "{\"a\":1}\n{\"b\":22}\n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 2);
	expect_line(&l.v[0], "{\"a\":1}", 0, 8, 1);
	expect_line(&l.v[1], "{\"b\":22}", 8, 17, 2);
	lines_free(&l);
}

static void test_crlf_lines(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "ab\r\ncd\r\n\r\nef\n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 3);
	expect_line(&l.v[0], "ab", 0, 4, 1);
	expect_line(&l.v[1], "cd", 4, 8, 2);
	expect_line(&l.v[2], "ef", 10, 13, 4);
	lines_free(&l);
}

static void test_bom_skipped_at_start_only(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "\xef\xbb\xbf{\"a\":1}\n\xef\xbb\xbf{}\n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 2);
	expect_line(&l.v[0], "{\"a\":1}", 3, 11, 1);
	/* Only the very start may carry a BOM: later ones are the line's bytes. */
	expect_line(&l.v[1], "\xef\xbb\xbf{}", 11, 17, 2);
	lines_free(&l);

	/* A range that starts after the BOM is read as it is. */
	l = read_range(f, 11, 0, 2, MAX_LINE);
	assert_int_equal(l.n, 1);
	expect_line(&l.v[0], "\xef\xbb\xbf{}", 11, 17, 2);
	lines_free(&l);

	/* A BOM followed by a blank line. */
	WRITE_LIT(f, "\xef\xbb\xbf\nx\n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 1);
	expect_line(&l.v[0], "x", 4, 6, 2);
	lines_free(&l);
}

static void test_bom_only_and_partial_bom(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "\xef\xbb\xbf");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 0);
	lines_free(&l);

	/* Two bytes of a BOM are not a BOM. */
	WRITE_LIT(f, "\xef\xbbz\n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 1);
	expect_line(&l.v[0], "\xef\xbbz", 0, 4, 1);
	lines_free(&l);
}

static void test_blank_lines_counted(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "\n  \n\t\r\nab\n \t \n\ncd\n   \n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 2);
	expect_line(&l.v[0], "ab", 7, 10, 4);
	expect_line(&l.v[1], "cd", 15, 18, 7);
	lines_free(&l);

	/* Leading and trailing spaces of a non-blank line are kept. */
	WRITE_LIT(f, "  {} \n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 1);
	expect_line(&l.v[0], "  {} ", 0, 6, 1);
	lines_free(&l);
}

static void test_last_line_without_newline(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "ab\ncd");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 2);
	expect_line(&l.v[0], "ab", 0, 3, 1);
	expect_line(&l.v[1], "cd", 3, 5, 2);
	lines_free(&l);

	WRITE_LIT(f, "ab\r\ncd\r");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 2);
	expect_line(&l.v[1], "cd", 4, 7, 2);
	lines_free(&l);

	WRITE_LIT(f, "single");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 1);
	expect_line(&l.v[0], "single", 0, 6, 1);
	lines_free(&l);
}

static void test_too_long_line(void **state)
{
	struct fixture *f = *state;
	char text[256];
	struct lines l;
	int n;

	/* Lines of 16 bytes fit a 16-byte limit; 40 bytes do not. */
	n = snprintf(text, sizeof(text), "short\n%s\n%s\nafter\n%s",
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "0123456789abcdef",
		     "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	write_file(f, text, (size_t)n);
	l = read_all(f, 16);
	assert_int_equal(l.n, 5);
	expect_line(&l.v[0], "short", 0, 6, 1);
	assert_true(l.v[1].too_long);
	assert_int_equal(l.v[1].len, 0);
	assert_string_equal(l.v[1].data, "");
	assert_int_equal(l.v[1].full_len, 40);
	assert_int_equal(l.v[1].off, 6);
	assert_int_equal(l.v[1].next_off, 47);
	assert_int_equal(l.v[1].line_no, 2);
	expect_line(&l.v[2], "0123456789abcdef", 47, 64, 3);
	expect_line(&l.v[3], "after", 64, 70, 4);
	/* The last line is too long and has no newline. */
	assert_true(l.v[4].too_long);
	assert_int_equal(l.v[4].full_len, 30);
	assert_int_equal(l.v[4].off, 70);
	assert_int_equal(l.v[4].next_off, 100);
	assert_int_equal(l.v[4].line_no, 5);
	lines_free(&l);
}

/* The limit applies to the line without its ending, CRLF or LF alike. */
static void test_crlf_line_limit_excludes_cr(void **state)
{
	struct fixture *f = *state;
	struct lines l;
	bool first_too_long, second_too_long;
	uint64_t second_len, second_next;
	char first[32] = "";

	WRITE_LIT(f, "0123456789abcdef\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
	l = read_all(f, 16);
	assert_int_equal(l.n, 2);
	first_too_long = l.v[0].too_long;
	snprintf(first, sizeof(first), "%s", l.v[0].data);
	second_too_long = l.v[1].too_long;
	second_len = l.v[1].full_len;
	second_next = l.v[1].next_off;
	lines_free(&l);
	assert_false(first_too_long);
	assert_string_equal(first, "0123456789abcdef");
	assert_true(second_too_long);
	assert_int_equal(second_len, 40);
	assert_int_equal(second_next, 60);
}

static void test_too_long_line_across_buffers(void **state)
{
	struct fixture *f = *state;
	const size_t big = 700 * 1024;
	char *text = malloc(big + 16);
	struct lines l;

	assert_non_null(text);
	memcpy(text, "{}\n", 3);
	memset(text + 3, 'q', big);
	memcpy(text + 3 + big, "\n{\"z\":1}\n", 9);
	write_file(f, text, big + 12);
	free(text);
	l = read_all(f, 1000);
	assert_int_equal(l.n, 3);
	expect_line(&l.v[0], "{}", 0, 3, 1);
	assert_true(l.v[1].too_long);
	assert_int_equal(l.v[1].full_len, big);
	assert_int_equal(l.v[1].off, 3);
	assert_int_equal(l.v[1].next_off, 3 + big + 1);
	expect_line(&l.v[2], "{\"z\":1}", 3 + big + 1, big + 12, 3);
	lines_free(&l);
}

static void test_byte_ranges(void **state)
{
	static const char text[] = "{\"n\":1}\n\n{\"n\":22}\r\n   \n{\"n\":333}\n{\"n\":4444}\n{\"n\":5}";
	struct fixture *f = *state;
	struct lines all, l;

	write_file(f, text, sizeof(text) - 1);
	all = read_all(f, MAX_LINE);
	assert_int_equal(all.n, 5);
	assert_int_equal(all.v[1].line_no, 3);
	assert_int_equal(all.v[2].line_no, 5);
	assert_int_equal(all.v[4].next_off, sizeof(text) - 1);
	/* Every range of whole lines [i, j] gives exactly those lines. */
	for (size_t i = 0; i < all.n; i++) {
		for (size_t j = i; j < all.n; j++) {
			uint64_t off = all.v[i].off;
			uint64_t len = all.v[j].next_off - off;

			l = read_range(f, off, len, all.v[i].line_no, MAX_LINE);
			assert_int_equal(l.n, j - i + 1);
			for (size_t k = 0; k < l.n; k++)
				expect_line(&l.v[k], all.v[i + k].data, all.v[i + k].off,
					    all.v[i + k].next_off, all.v[i + k].line_no);
			lines_free(&l);
		}
	}
	/* len 0 reads to the end. */
	l = read_range(f, all.v[3].off, 0, all.v[3].line_no, MAX_LINE);
	assert_int_equal(l.n, 2);
	expect_line(&l.v[1], "{\"n\":5}", all.v[4].off, all.v[4].next_off, 7);
	lines_free(&l);
	/* A range that starts at a blank line counts it. */
	l = read_range(f, all.v[0].next_off, all.v[1].next_off - all.v[0].next_off, 2, MAX_LINE);
	assert_int_equal(l.n, 1);
	expect_line(&l.v[0], "{\"n\":22}", all.v[1].off, all.v[1].next_off, 3);
	lines_free(&l);
	lines_free(&all);
}

/* A deterministic line length between 1 and 2999 for line i. */
static size_t line_len(size_t i)
{
	return 1 + (i * 2654435761u) % 2999;
}

static void test_large_file_straddles_buffers(void **state)
{
	struct fixture *f = *state;
	const size_t nlines = 700;
	struct buf text;
	uint64_t *offs = calloc(nlines, sizeof(*offs));
	int straddle = 0;
	struct lines l;

	assert_non_null(offs);
	buf_init(&text, 0);
	for (size_t i = 0; i < nlines; i++) {
		size_t n = line_len(i);
		uint64_t start = text.len;

		offs[i] = start;
		buf_printf(&text, "{\"i\":%zu,\"p\":\"", i);
		for (size_t k = 0; k < n; k++)
			buf_putc(&text, (char)('a' + (i + k) % 26));
		buf_puts(&text, i % 3 == 0 ? "\"}\r\n" : "\"}\n");
		if (start / (256 * 1024) != (text.len - 1) / (256 * 1024))
			straddle++;
	}
	assert_int_equal(text.err, 0);
	/* The file spans several 256 KiB reads and lines cross their edges. */
	assert_true(text.len > 3 * 256 * 1024);
	assert_true(straddle >= 3);
	write_file(f, text.data, text.len);

	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, nlines);
	for (size_t i = 0; i < nlines; i++) {
		const struct got *g = &l.v[i];
		size_t ending = i % 3 == 0 ? 2 : 1;
		uint64_t next = i + 1 < nlines ? offs[i + 1] : text.len;

		assert_int_equal(g->off, offs[i]);
		assert_int_equal(g->next_off, next);
		assert_int_equal(g->line_no, i + 1);
		assert_int_equal(g->len, next - offs[i] - ending);
		assert_memory_equal(g->data, text.data + offs[i], g->len);
	}
	lines_free(&l);

	/* A range in the middle of the file, across a buffer edge. */
	l = read_range(f, offs[200], offs[500] - offs[200], 201, MAX_LINE);
	assert_int_equal(l.n, 300);
	assert_int_equal(l.v[0].off, offs[200]);
	assert_int_equal(l.v[299].next_off, offs[500]);
	assert_int_equal(l.v[299].line_no, 500);
	assert_memory_equal(l.v[150].data, text.data + offs[350], l.v[150].len);
	lines_free(&l);
	buf_free(&text);
	free(offs);
}

static void test_empty_file(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	write_file(f, "", 0);
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 0);
	lines_free(&l);
}

static void test_only_blank_lines(void **state)
{
	struct fixture *f = *state;
	struct lines l;

	WRITE_LIT(f, "\n\n  \n\r\n\t\n \t\r\n");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 0);
	lines_free(&l);

	WRITE_LIT(f, "   ");
	l = read_all(f, MAX_LINE);
	assert_int_equal(l.n, 0);
	lines_free(&l);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct jsonl_reader r;
	struct err e;
	char path[160];

	snprintf(path, sizeof(path), "%s/nope.jsonl", f->dir);
	err_init(&e);
	assert_int_equal(jsonl_open(&r, f->o, path, 0, 0, 1, MAX_LINE, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "nope.jsonl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lf_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bom_skipped_at_start_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bom_only_and_partial_bom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blank_lines_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_line_without_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf_line_limit_excludes_cr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long_line_across_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_file_straddles_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_blank_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
