/* test_compact.c - unit tests of the whitespace rules and text walk in src/core/compact.c. */
#include "testutil.h"

#include <stdbool.h>

#include "core/compact.h"
#include "util/ids.h"
#include "util/json.h"

/* compacted returns s compacted (a static buffer) with the given options. */
static const char *compacted_opt(const char *s, bool keep_indent, uint64_t *runs)
{
	static char out[4096];
	struct compact_opts o = {keep_indent};
	size_t n = strlen(s), m;

	assert_true(n < sizeof(out));
	m = compact_text(s, n, out, &o, runs);
	assert_true(m <= n);
	out[m] = '\0';
	return out;
}

static const char *compacted(const char *s)
{
	return compacted_opt(s, false, NULL);
}

/* check_once asserts that s compacts to want and that want is a fixed point. */
static void check_once(const char *s, const char *want)
{
	char first[4096];

	snprintf(first, sizeof(first), "%s", compacted(s));
	assert_string_equal(first, want);
	assert_string_equal(compacted(first), want);
}

static void test_blanks_collapse(void **state)
{
	(void)state;
	check_once("a    b", "a b");
	check_once("a \t b", "a b");
	check_once("a\t\tb", "a b");
	/* One blank is left as it is: a tab may separate columns. */
	check_once("a\tb c", "a\tb c");
	check_once("no change here", "no change here");
	check_once("", "");
}

static void test_line_ends_trimmed(void **state)
{
	(void)state;
	check_once("a   \nb", "a\nb");
	check_once("a \nb", "a\nb");
	check_once("abc   ", "abc");
	check_once("abc\t", "abc");
	check_once("   ", "");
	check_once("a\n   ", "a\n");
}

static void test_blank_lines(void **state)
{
	(void)state;
	check_once("a\n\nb", "a\n\nb");
	check_once("a\n\n\nb", "a\n\nb");
	check_once("a\n\n\n\n\n\nb", "a\n\nb");
	/* Lines of only blanks are empty lines. */
	check_once("a\n  \n\t\n\nb", "a\n\nb");
	check_once("a\n \nb", "a\n\nb");
	check_once("end\n\n\n\n", "end\n\n");
	check_once("\n\n\nstart", "\n\nstart");
}

static void test_crlf(void **state)
{
	(void)state;
	check_once("a  \r\nb", "a\r\nb");
	check_once("a\r\n\r\n\r\n\r\nb", "a\r\n\r\nb");
	check_once("a \r\n \r\n \r\nb", "a\r\n\r\nb");
	/* The breaks kept are the first ones, as they are written. */
	check_once("a\r\n\n", "a\r\n\n");
	check_once("a\n\r\n\r\n\nb", "a\n\r\nb");
	/* A lone CR is text. */
	check_once("a\r  b", "a\r b");
	check_once("a\rb", "a\rb");
	/* Blanks between CR and LF trail the line. */
	check_once("a   \r \nb", "a\r\nb");
	check_once("a\r \r\n", "a\r\r\n");
}

static void test_indentation(void **state)
{
	(void)state;
	check_once("a\n    b", "a\n b");
	check_once("    a", " a");
	check_once("a\n b", "a\n b");
	assert_string_equal(compacted_opt("a\n    b  c\n\t\tx  \n", true, NULL), "a\n    b c\n\t\tx\n");
	assert_string_equal(compacted_opt("    a", true, NULL), "    a");
	assert_string_equal(compacted_opt("   \nb", true, NULL), "\nb");
}

static void test_fences_untouched(void **state)
{
	const char *code = "x   y\n```python\ndef f():\n    return  1   \n\n\n\n```\nz    w";

	(void)state;
	check_once(code, "x y\n```python\ndef f():\n    return  1   \n\n\n\n```\nz w");
	/* Inline fences too. */
	check_once("a  ```b    c```  d", "a ```b    c``` d");
	/* An unclosed fence protects the rest of the text. */
	check_once("a  b ```\n   x   \n\n\n", "a b ```\n   x   \n\n\n");
	/* A longer fence is closed only by as many backticks. */
	check_once("````\n a   ```  b\n````  c   d", "````\n a   ```  b\n```` c d");
	/* One or two backticks are inline code, not fences. */
	check_once("``a   b``", "``a b``");
	check_once("`a   b`", "`a b`");
	/* Two fenced blocks; the text between them is compacted. */
	check_once("```\n  1  \n```   mid   \n\n\n```\n  2  \n```",
		   "```\n  1  \n``` mid\n\n```\n  2  \n```");
}

static void test_unicode(void **state)
{
	(void)state;
	check_once("h\xc3\xa9llo    w\xc3\xb6rld  \xe2\x80\x94  \xe6\x97\xa5\xe6\x9c\xac   \xe8\xaa\x9e",
		   "h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e");
	/* No-break spaces are not ASCII whitespace: kept. */
	check_once("a\xc2\xa0\xc2\xa0\xc2\xa0" "b", "a\xc2\xa0\xc2\xa0\xc2\xa0" "b");
	/* An emoji next to blanks. */
	check_once("\xf0\x9f\x98\x80   \xf0\x9f\x98\x80\n\n\n", "\xf0\x9f\x98\x80 \xf0\x9f\x98\x80\n\n");
}

static void test_long_runs_counted(void **state)
{
	uint64_t runs = 0;

	(void)state;
	compacted_opt("a b  c   d", false, &runs);
	assert_int_equal(runs, 0);
	compacted_opt("a    b", false, &runs);
	assert_int_equal(runs, 1);
	runs = 0;
	compacted_opt("a\n\n\nb", false, &runs);
	assert_int_equal(runs, 1);
	runs = 0;
	compacted_opt("```\n     \n\n\n\n```", false, &runs);
	assert_int_equal(runs, 0);
	/* Kept indentation is not counted: it does not change. */
	runs = 0;
	compacted_opt("a\n        b", true, &runs);
	assert_int_equal(runs, 0);
	compacted_opt("a\n        b", false, &runs);
	assert_int_equal(runs, 1);
}

/* strip_ws removes ASCII whitespace, for comparing the text that is not whitespace. */
static size_t strip_ws(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			out[o++] = s[i];
	return o;
}

/* dump prints s with its whitespace made visible, for a failure's message. */
static void dump(const char *what, const char *s, size_t n)
{
	fprintf(stderr, "# %s: \"", what);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			fputs("\\n", stderr);
		else if (s[i] == '\r')
			fputs("\\r", stderr);
		else if (s[i] == '\t')
			fputs("\\t", stderr);
		else
			fputc(s[i], stderr);
	}
	fputs("\"\n", stderr);
}

/*
 * Random texts over an alphabet of whitespace, backticks, CR and UTF-8:
 * compacting never grows a text, never changes what is not whitespace, and
 * a second pass changes nothing.
 */
static void test_random_texts(void **state)
{
	static const char *const pieces[] = {" ", "\t", "\n", "\r\n", "\r", "`", "```", "a",
					     "\xc3\xa9", "  ", "\n\n\n", "x"};
	struct rng r;
	char in[512], a[512], b[512], sa[512], sb[512];

	(void)state;
	rng_seed(&r, 42);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0, m1, m2;
		bool keep = iter % 2;
		struct compact_opts o = {keep};

		while (n < 200) {
			const char *p = pieces[rng_next(&r) % (sizeof(pieces) / sizeof(pieces[0]))];

			memcpy(in + n, p, strlen(p));
			n += strlen(p);
			if (rng_next(&r) % 40 == 0)
				break;
		}
		m1 = compact_text(in, n, a, &o, NULL);
		assert_true(m1 <= n);
		m2 = compact_text(a, m1, b, &o, NULL);
		if (m2 != m1 || memcmp(a, b, m1)) {
			dump("input", in, n);
			dump("once", a, m1);
			dump("twice", b, m2);
			fail_msg("not a fixed point (keep_indent %d)", keep);
		}
		m1 = strip_ws(in, n, sa);
		m2 = strip_ws(a, compact_text(in, n, a, &o, NULL), sb);
		assert_int_equal(m1, m2);
		assert_memory_equal(sa, sb, m1);
	}
}

/* parse returns the JSON object of s. */
static json_object *parse(const char *s)
{
	json_object *o = NULL;
	struct err e;

	assert_ok(json_parse(s, strlen(s), &o, &e), &e);
	return o;
}

static void check_family(const char *fam_name, const char *in, const char *want,
			 uint64_t fields)
{
	const struct family *fam = fam_name ? family_by_name(fam_name) : NULL;
	struct compact_opts o = {false};
	struct compact_stats st = {0};
	json_object *mi = parse(in), *orig = parse(in), *expect = parse(want);
	char *got;
	struct err e;

	if (fam_name)
		assert_non_null(fam);
	/* A dry run counts but leaves the body as it is. */
	assert_ok(compact_model_input(fam, mi, false, &o, &st, &e), &e);
	assert_int_equal(st.fields, fields);
	assert_true(json_object_equal(mi, orig));
	memset(&st, 0, sizeof(st));
	assert_ok(compact_model_input(fam, mi, true, &o, &st, &e), &e);
	if (!json_object_equal(mi, expect)) {
		got = json_dup_str(mi, NULL);
		fail_msg("%s: got %s, want %s", fam_name ? fam_name : "(any)", got ? got : "?", want);
	}
	assert_true(st.bytes_after <= st.bytes_before);
	json_object_put(mi);
	json_object_put(orig);
	json_object_put(expect);
}

static void test_family_fields(void **state)
{
	(void)state;
	check_family("anthropic-messages",
		     "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":10,"
		     "\"system\":\"be   brief\",\"messages\":[{\"role\":\"user\",\"content\":"
		     "[{\"type\":\"text\",\"text\":\"a    b\"},{\"type\":\"image\",\"source\":"
		     "{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AA  AA\"}}]},"
		     "{\"role\":\"assistant\",\"content\":\"ok  \"}],\"stop_sequences\":[\"x   y\"]}",
		     "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":10,"
		     "\"system\":\"be brief\",\"messages\":[{\"role\":\"user\",\"content\":"
		     "[{\"type\":\"text\",\"text\":\"a b\"},{\"type\":\"image\",\"source\":"
		     "{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AA  AA\"}}]},"
		     "{\"role\":\"assistant\",\"content\":\"ok\"}],\"stop_sequences\":[\"x   y\"]}",
		     3);
	check_family("llama", "{\"prompt\":\"q:   x\\n\\n\\n\\na:\",\"max_gen_len\":5}",
		     "{\"prompt\":\"q: x\\n\\na:\",\"max_gen_len\":5}", 1);
	check_family("titan-text", "{\"inputText\":\"hi   there\",\"textGenerationConfig\":"
				   "{\"stopSequences\":[\"a   b\"]}}",
		     "{\"inputText\":\"hi there\",\"textGenerationConfig\":"
		     "{\"stopSequences\":[\"a   b\"]}}", 1);
	check_family("nova", "{\"schemaVersion\":\"messages-v1\",\"system\":[{\"text\":\"s  s\"}],"
			     "\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"u   u\"}]}]}",
		     "{\"schemaVersion\":\"messages-v1\",\"system\":[{\"text\":\"s s\"}],"
		     "\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"u u\"}]}]}", 2);
	check_family("openai-chat", "{\"messages\":[{\"role\":\"system\",\"content\":\"a  b\"},"
				    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"c  d\"}]}]}",
		     "{\"messages\":[{\"role\":\"system\",\"content\":\"a b\"},"
		     "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"c d\"}]}]}", 2);
	check_family("openai-embeddings", "{\"input\":[\"a  b\",\"c   d\"]}",
		     "{\"input\":[\"a b\",\"c d\"]}", 2);
	/* Without a family every family's text members are read. */
	check_family(NULL, "{\"prompt\":\"a  b\",\"inputText\":\"c  d\",\"other\":\"e  f\"}",
		     "{\"prompt\":\"a b\",\"inputText\":\"c d\",\"other\":\"e  f\"}", 2);
	/* llama has no messages: a "messages" member is not its text. */
	check_family("llama", "{\"prompt\":\"p\",\"messages\":[{\"content\":\"a  b\"}]}",
		     "{\"prompt\":\"p\",\"messages\":[{\"content\":\"a  b\"}]}", 1);
}

static void test_tokens_saved(void **state)
{
	struct compact_stats st = {0};

	(void)state;
	/* 400 bytes are 100 tokens; 200 bytes are 50. */
	st.bytes_before = 400;
	st.bytes_after = 200;
	assert_int_equal(compact_tokens_saved(&st), 50);
	st.bytes_after = 399;
	assert_int_equal(compact_tokens_saved(&st), 0);
	st.bytes_before = 401;
	assert_int_equal(compact_tokens_saved(&st), 1);
}

static bool rewritable(const char *s)
{
	return compact_raw_rewritable(s, strlen(s));
}

/* What json-c would write back differently is found; what it keeps is not flagged. */
static void test_raw_rewritable(void **state)
{
	(void)state;
	assert_true(rewritable("{\"a\":1,\"b\":-2,\"c\":1.50,\"d\":1e400,\"e\":-0.0}"));
	assert_true(rewritable("[18446744073709551615,-9223372036854775808]"));
	assert_false(rewritable("[18446744073709551616]"));
	assert_false(rewritable("[-9223372036854775809]"));
	assert_false(rewritable("{\"x\":100000000000000000000000}"));
	assert_false(rewritable("{\"top_p\":-0}"));
	assert_true(rewritable("{\"top_p\":0}"));
	/* Numbers inside strings are text. */
	assert_true(rewritable("{\"s\":\"-0 and 100000000000000000000000\"}"));
	/* A surrogate pair is fine; half of one is not. */
	assert_true(rewritable("[\"\\ud83d\\ude00\",\"\\u00e9\"]"));
	assert_false(rewritable("[\"\\ud800x\"]"));
	assert_false(rewritable("[\"\\ud800\"]"));
	assert_false(rewritable("[\"\\udc00\"]"));
	assert_false(rewritable("[\"\\ud83d\\u0041\"]"));
	/* An escaped quote or backslash does not end the string early. */
	assert_true(rewritable("[\"a\\\"-0\\\\\",1]"));
	assert_false(rewritable("[\"a\\\\\",-0]"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_rewritable),
		cmocka_unit_test(test_blanks_collapse),
		cmocka_unit_test(test_line_ends_trimmed),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_indentation),
		cmocka_unit_test(test_fences_untouched),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_long_runs_counted),
		cmocka_unit_test(test_random_texts),
		cmocka_unit_test(test_family_fields),
		cmocka_unit_test(test_tokens_saved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
