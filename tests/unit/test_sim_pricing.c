/* test_sim_pricing.c - unit tests of the simulator's answers (src/backends/simcore.c) and of pricing (src/core/pricing.c). */
#include "testutil.h"

#include <math.h>

#include "backends/simcore.h"
#include "core/catalog.h"
#include "core/pricing.h"
#include "util/json.h"

#define SONNET "anthropic.claude-3-5-sonnet-20240620-v1:0"

static void quiet_cfg(struct backend_cfg *cfg, uint64_t seed)
{
	config_backend_defaults(cfg, BK_SIM);
	snprintf(cfg->name, sizeof(cfg->name), "sim");
	cfg->seed = seed;
}

/* answer runs sim_respond with a fresh generator seeded with rseed. */
static void answer(const struct backend_cfg *cfg, uint64_t rseed, const char *path,
		   const char *body, struct sim_answer *a)
{
	struct rng rng;

	rng_seed(&rng, rseed);
	assert_int_equal(sim_respond(cfg, &rng, path, body, strlen(body), a), 0);
}

/* answer_json answers and parses the body; the caller puts the result. */
static json_object *answer_json(const struct backend_cfg *cfg, const char *path, const char *body,
				struct sim_answer *a)
{
	json_object *o = NULL;
	struct err e;

	answer(cfg, 1, path, body, a);
	assert_non_null(a->body);
	err_init(&e);
	if (json_parse(a->body, a->body_len, &o, &e)) {
		sim_answer_free(a);
		fail_msg("the simulator's answer is not JSON: %s", e.msg);
	}
	return o;
}

static const char *chat_content(json_object *o)
{
	json_object *c0 = json_object_array_get_idx(json_get(o, "choices"), 0);

	return json_get_str(json_get(c0, "message"), "content");
}

/* words counts the words after the "[simulated]" marker. */
static int64_t words(const char *text)
{
	int64_t n = 0;

	for (const char *p = text; *p; p++)
		n += *p == ' ';
	return n;
}

static int64_t usage(json_object *o, const char *key)
{
	int64_t v = -1;

	assert_true(json_get_int64(json_get(o, "usage"), key, &v));
	return v;
}

static void test_same_seed_same_body(void **state)
{
	static const char body[] =
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"summarise this\"}],"
		"\"max_tokens\":200}";
	struct backend_cfg cfg;
	struct sim_answer a, b;

	(void)state;
	quiet_cfg(&cfg, 42);
	/* The fault generator's state does not matter when nothing is injected. */
	answer(&cfg, 1, "/chat/completions", body, &a);
	answer(&cfg, 999, "/chat/completions", body, &b);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.body_len, b.body_len);
	assert_memory_equal(a.body, b.body, a.body_len);
	assert_int_equal(a.output_tokens, b.output_tokens);
	sim_answer_free(&a);
	sim_answer_free(&b);
}

static void test_different_seed_or_body_differs(void **state)
{
	static const char body[] =
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"summarise this\"}]}";
	static const char other[] =
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"summarise that\"}]}";
	struct backend_cfg c1, c2;
	struct sim_answer a, b, c;
	json_object *oa, *ob, *oc;

	(void)state;
	quiet_cfg(&c1, 1);
	quiet_cfg(&c2, 2);
	oa = answer_json(&c1, "/chat/completions", body, &a);
	ob = answer_json(&c2, "/chat/completions", body, &b);
	oc = answer_json(&c1, "/chat/completions", other, &c);
	assert_string_not_equal(chat_content(oa), chat_content(ob));
	assert_string_not_equal(chat_content(oa), chat_content(oc));
	assert_string_not_equal(json_get_str(oa, "id"), json_get_str(ob, "id"));
	json_object_put(oa);
	json_object_put(ob);
	json_object_put(oc);
	sim_answer_free(&a);
	sim_answer_free(&b);
	sim_answer_free(&c);
}

static void test_chat_completion_shape(void **state)
{
	struct backend_cfg cfg;
	struct sim_answer a;
	json_object *o, *c0;
	const char *text;

	(void)state;
	quiet_cfg(&cfg, 3);
	o = answer_json(&cfg, "/chat/completions",
			"{\"model\":\"llama-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],"
			"\"max_tokens\":16}",
			&a);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.fault, 0);
	assert_int_equal(a.retry_after_s, -1);
	assert_string_equal(json_get_str(o, "object"), "chat.completion");
	assert_string_equal(json_get_str(o, "model"), "llama-8b");
	c0 = json_object_array_get_idx(json_get(o, "choices"), 0);
	assert_string_equal(json_get_str(json_get(c0, "message"), "role"), "assistant");
	text = chat_content(o);
	assert_non_null(text);
	assert_true(!strncmp(text, "[simulated]", 11));
	assert_true(a.output_tokens >= 1 && a.output_tokens <= 16);
	assert_int_equal(usage(o, "completion_tokens"), a.output_tokens);
	assert_int_equal(words(text), a.output_tokens);
	assert_int_equal(usage(o, "prompt_tokens"), 2);
	assert_int_equal(usage(o, "total_tokens"), 2 + a.output_tokens);
	assert_int_equal(a.input_tokens, 2);
	if (a.output_tokens == 16)
		assert_string_equal(json_get_str(c0, "finish_reason"), "length");
	json_object_put(o);
	sim_answer_free(&a);
}

static void test_completion_tokens_within_max(void **state)
{
	struct backend_cfg cfg;
	char body[200];
	int capped = 0;

	(void)state;
	quiet_cfg(&cfg, 5);
	for (int max = 1; max <= 40; max++) {
		for (int v = 0; v < 5; v++) {
			struct sim_answer a;
			json_object *o, *c0;
			const char *fin;

			snprintf(body, sizeof(body),
				 "{\"messages\":[{\"role\":\"user\",\"content\":\"q%d\"}],\"max_tokens\":%d}",
				 v, max);
			o = answer_json(&cfg, "/chat/completions", body, &a);
			c0 = json_object_array_get_idx(json_get(o, "choices"), 0);
			fin = json_get_str(c0, "finish_reason");
			assert_true(a.output_tokens >= 1 && a.output_tokens <= max);
			assert_int_equal(usage(o, "completion_tokens"), a.output_tokens);
			assert_int_equal(words(chat_content(o)), a.output_tokens);
			/* "length" only when the limit cut the answer. */
			if (!strcmp(fin, "length"))
				assert_int_equal(a.output_tokens, max);
			else
				assert_string_equal(fin, "stop");
			capped += !strcmp(fin, "length");
			json_object_put(o);
			sim_answer_free(&a);
		}
	}
	assert_true(capped > 0);

	/* max_completion_tokens wins over max_tokens. */
	{
		struct sim_answer a;

		answer(&cfg, 1, "/chat/completions",
		       "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":100,"
		       "\"max_completion_tokens\":2}",
		       &a);
		assert_true(a.output_tokens <= 2);
		sim_answer_free(&a);
	}
}

static void test_prompt_tokens_round_up(void **state)
{
	static const struct {
		const char *body;
		int64_t tokens;
	} cases[] = {
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}", 0},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", 1},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"}]}", 1},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"abcde\"}]}", 2},
		/* Texts of all messages and the system prompt add up: 4 + 5 + 3 bytes. */
		{"{\"system\":\"sys\",\"messages\":[{\"role\":\"user\",\"content\":\"abcd\"},"
		 "{\"role\":\"assistant\",\"content\":\"efghi\"}]}",
		 3},
		/* Content parts count their text. */
		{"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"abcdefghi\"}]}]}",
		 3},
		/* Bytes, not characters: "\u00e9\u00e9\u00e9" is 6 bytes. */
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9\\u00e9\\u00e9\"}]}", 2},
	};
	struct backend_cfg cfg;

	(void)state;
	quiet_cfg(&cfg, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sim_answer a;
		json_object *o = answer_json(&cfg, "/chat/completions", cases[i].body, &a);

		if (usage(o, "prompt_tokens") != cases[i].tokens) {
			int64_t got = usage(o, "prompt_tokens");

			json_object_put(o);
			sim_answer_free(&a);
			fail_msg("case %zu: prompt_tokens %lld, want %lld", i, (long long)got,
				 (long long)cases[i].tokens);
		}
		assert_int_equal(a.input_tokens, cases[i].tokens);
		json_object_put(o);
		sim_answer_free(&a);
	}
}

static void test_completions_endpoint(void **state)
{
	struct backend_cfg cfg;
	struct sim_answer a;
	json_object *o, *c0;

	(void)state;
	quiet_cfg(&cfg, 1);
	o = answer_json(&cfg, "/completions", "{\"model\":\"m\",\"prompt\":\"Once upon\",\"max_tokens\":5}",
			&a);
	assert_string_equal(json_get_str(o, "object"), "text_completion");
	c0 = json_object_array_get_idx(json_get(o, "choices"), 0);
	assert_true(!strncmp(json_get_str(c0, "text"), "[simulated]", 11));
	assert_true(usage(o, "completion_tokens") <= 5);
	assert_int_equal(usage(o, "prompt_tokens"), 3);
	json_object_put(o);
	sim_answer_free(&a);
}

static void test_embeddings(void **state)
{
	struct backend_cfg cfg;
	struct sim_answer a;
	json_object *o, *vec;
	double norm = 0;

	(void)state;
	quiet_cfg(&cfg, 1);
	o = answer_json(&cfg, "/embeddings", "{\"model\":\"e\",\"input\":\"hello\",\"dimensions\":8}", &a);
	assert_string_equal(json_get_str(o, "object"), "list");
	vec = json_get(json_object_array_get_idx(json_get(o, "data"), 0), "embedding");
	assert_int_equal(json_object_array_length(vec), 8);
	for (size_t i = 0; i < 8; i++) {
		double x = json_object_get_double(json_object_array_get_idx(vec, i));

		assert_true(x >= -1.0 && x <= 1.0);
		norm += x * x;
	}
	assert_float_equal(sqrt(norm), 1.0, 1e-5);
	assert_int_equal(usage(o, "prompt_tokens"), 2);
	assert_int_equal(usage(o, "total_tokens"), 2);
	assert_int_equal(a.output_tokens, 0);
	json_object_put(o);
	sim_answer_free(&a);

	/* The default is 1024 dimensions, also of unit length. */
	o = answer_json(&cfg, "/embeddings", "{\"model\":\"e\",\"input\":\"hello\"}", &a);
	vec = json_get(json_object_array_get_idx(json_get(o, "data"), 0), "embedding");
	assert_int_equal(json_object_array_length(vec), 1024);
	norm = 0;
	for (size_t i = 0; i < 1024; i++) {
		double x = json_object_get_double(json_object_array_get_idx(vec, i));

		norm += x * x;
	}
	assert_float_equal(sqrt(norm), 1.0, 1e-4);
	json_object_put(o);
	sim_answer_free(&a);

	answer(&cfg, 1, "/embeddings", "{\"input\":\"x\",\"dimensions\":0}", &a);
	assert_int_equal(a.status, 400);
	assert_contains(a.body, "dimensions");
	sim_answer_free(&a);
	answer(&cfg, 1, "/embeddings", "{\"input\":\"x\",\"dimensions\":16385}", &a);
	assert_int_equal(a.status, 400);
	sim_answer_free(&a);
}

static void test_messages_endpoint(void **state)
{
	struct backend_cfg cfg;
	struct sim_answer a;
	json_object *o, *c0, *u;
	const char *stop;
	int64_t in = -1, out = -1;

	(void)state;
	quiet_cfg(&cfg, 1);
	o = answer_json(&cfg, "/messages",
			"{\"model\":\"claude-3-5-sonnet-20240620\",\"max_tokens\":10,"
			"\"system\":\"be brief\",\"messages\":[{\"role\":\"user\",\"content\":"
			"[{\"type\":\"text\",\"text\":\"hello there\"}]}]}",
			&a);
	assert_int_equal(a.status, 200);
	assert_true(!strncmp(json_get_str(o, "id"), "msg_", 4));
	assert_string_equal(json_get_str(o, "type"), "message");
	assert_string_equal(json_get_str(o, "role"), "assistant");
	assert_string_equal(json_get_str(o, "model"), "claude-3-5-sonnet-20240620");
	c0 = json_object_array_get_idx(json_get(o, "content"), 0);
	assert_string_equal(json_get_str(c0, "type"), "text");
	assert_true(!strncmp(json_get_str(c0, "text"), "[simulated]", 11));
	stop = json_get_str(o, "stop_reason");
	assert_true(!strcmp(stop, "end_turn") || !strcmp(stop, "max_tokens"));
	{
		json_object *ss = (json_object *)o;

		assert_true(json_object_object_get_ex(o, "stop_sequence", &ss));
		assert_null(ss);
	}
	u = json_get(o, "usage");
	assert_true(json_get_int64(u, "input_tokens", &in));
	assert_true(json_get_int64(u, "output_tokens", &out));
	/* "be brief" + "hello there": 19 bytes. */
	assert_int_equal(in, 5);
	assert_true(out >= 1 && out <= 10);
	assert_int_equal(words(json_get_str(c0, "text")), out);
	json_object_put(o);
	sim_answer_free(&a);
}

static void test_bad_requests(void **state)
{
	struct backend_cfg cfg;
	struct sim_answer a;
	json_object *o;

	(void)state;
	quiet_cfg(&cfg, 1);
	o = answer_json(&cfg, "/nope", "{\"messages\":[]}", &a);
	assert_int_equal(a.status, 404);
	assert_string_equal(json_get_str(json_get(o, "error"), "type"), "not_found_error");
	json_object_put(o);
	sim_answer_free(&a);

	o = answer_json(&cfg, "/chat/completions", "{\"messages\":", &a);
	assert_int_equal(a.status, 400);
	assert_contains(json_get_str(json_get(o, "error"), "message"), "invalid JSON");
	json_object_put(o);
	sim_answer_free(&a);

	o = answer_json(&cfg, "/chat/completions", "[1,2]", &a);
	assert_int_equal(a.status, 400);
	assert_contains(json_get_str(json_get(o, "error"), "message"), "JSON object");
	json_object_put(o);
	sim_answer_free(&a);
}

static void test_each_fault_kind(void **state)
{
	static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	struct backend_cfg cfg;
	struct sim_answer a;
	json_object *o = NULL;
	struct err e;

	(void)state;
	quiet_cfg(&cfg, 1);
	cfg.fail_rate = 1.0;
	cfg.retry_after_s = 7;

	cfg.fail_types = SIMF_429;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.status, 429);
	assert_int_equal(a.fault, SIMF_429);
	assert_int_equal(a.retry_after_s, 7);
	assert_contains(a.body, "\"code\":429");
	sim_answer_free(&a);

	cfg.fail_types = SIMF_500;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.status, 500);
	assert_int_equal(a.retry_after_s, -1);
	sim_answer_free(&a);

	cfg.fail_types = SIMF_503;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.status, 503);
	sim_answer_free(&a);

	cfg.fail_types = SIMF_TIMEOUT;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.fault, SIMF_TIMEOUT);
	assert_null(a.body);
	sim_answer_free(&a);

	cfg.fail_types = SIMF_RESET;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.fault, SIMF_RESET);
	assert_null(a.body);
	sim_answer_free(&a);

	/* Malformed and truncated answers say 200 but are not JSON. */
	cfg.fail_types = SIMF_MALFORMED;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.fault, SIMF_MALFORMED);
	err_init(&e);
	assert_int_equal(json_parse(a.body, a.body_len, &o, &e), ERR_INVAL);
	sim_answer_free(&a);

	cfg.fail_types = SIMF_TRUNCATED;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_parse(a.body, a.body_len, &o, &e), ERR_INVAL);
	assert_int_equal(strlen(a.body), a.body_len);
	sim_answer_free(&a);

	/* No fault types means no faults, whatever the rate. */
	cfg.fail_types = 0;
	answer(&cfg, 1, "/chat/completions", body, &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.fault, 0);
	sim_answer_free(&a);
}

static void test_fault_rates(void **state)
{
	static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	const int draws = 7000;
	struct backend_cfg cfg;
	struct rng rng;
	int by_kind[7] = {0}, faults = 0;

	(void)state;
	quiet_cfg(&cfg, 1);
	cfg.fail_rate = 0.3;
	cfg.fail_types = SIMF_ALL;
	rng_seed(&rng, 12345);
	for (int i = 0; i < draws; i++) {
		struct sim_answer a;

		assert_int_equal(sim_respond(&cfg, &rng, "/chat/completions", body, sizeof(body) - 1, &a),
				 0);
		if (a.fault) {
			faults++;
			for (int k = 0; k < 7; k++)
				by_kind[k] += a.fault == (1u << k);
		}
		sim_answer_free(&a);
	}
	/* About 2,100 faults; the generator is seeded, so these bounds are not luck. */
	assert_true(faults > 1900 && faults < 2300);
	for (int k = 0; k < 7; k++) {
		if (by_kind[k] < faults / 7 / 2 || by_kind[k] > faults / 7 * 3 / 2)
			fail_msg("fault kind %d drawn %d times of %d", k, by_kind[k], faults);
	}

	/* Rate 0 never fails and rate 1 always does. */
	cfg.fail_rate = 0;
	for (int i = 0; i < 200; i++) {
		struct sim_answer a;

		sim_respond(&cfg, &rng, "/chat/completions", body, sizeof(body) - 1, &a);
		assert_int_equal(a.fault, 0);
		sim_answer_free(&a);
	}
	cfg.fail_rate = 1;
	for (int i = 0; i < 200; i++) {
		struct sim_answer a;

		sim_respond(&cfg, &rng, "/chat/completions", body, sizeof(body) - 1, &a);
		assert_int_not_equal(a.fault, 0);
		sim_answer_free(&a);
	}
}

static void test_latency(void **state)
{
	struct backend_cfg cfg;
	struct sim_answer a;

	(void)state;
	quiet_cfg(&cfg, 1);
	cfg.ttft_ms = 100;
	cfg.itl_ms = 10;
	answer(&cfg, 1, "/chat/completions",
	       "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":50}", &a);
	assert_int_equal(a.latency_ms, 100 + 10 * a.output_tokens);
	sim_answer_free(&a);
}

static void expect_usd(double v, const char *want)
{
	char out[32];

	pricing_fmt_usd(v, out, sizeof(out));
	assert_string_equal(out, want);
}

static struct prices sonnet_prices(void)
{
	const struct model_cfg *cat;
	struct prices p = {0, 0, 0};
	size_t n;

	cat = catalog_models(&n);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(cat[i].id, SONNET)) {
			p.input_per_1k = cat[i].input_price_per_1k;
			p.output_per_1k = cat[i].output_price_per_1k;
			p.batch_discount = cat[i].batch_discount;
		}
	}
	assert_true(p.input_per_1k == 0.003);
	assert_true(p.output_per_1k == 0.015);
	assert_true(p.batch_discount == 0.5);
	return p;
}

static void test_pricing_worked_example_documents(void **state)
{
	struct prices p = sonnet_prices();
	struct costs c;

	(void)state;
	/* 50,000 documents x 2,000 input tokens and 500 output tokens (reference/pricing.md). */
	pricing_compute(&p, 50000.0 * 2000, 50000.0 * 500, &c);
	assert_float_equal(c.od_input, 300.0, 0.005);
	assert_float_equal(c.od_output, 375.0, 0.005);
	assert_float_equal(c.od_total, 675.0, 0.005);
	assert_float_equal(c.batch_input, 150.0, 0.005);
	assert_float_equal(c.batch_output, 187.5, 0.005);
	assert_float_equal(c.batch_total, 337.5, 0.005);
	assert_float_equal(c.savings, 337.5, 0.005);
	expect_usd(c.od_input, "$300.00");
	expect_usd(c.od_output, "$375.00");
	expect_usd(c.od_total, "$675.00");
	expect_usd(c.batch_output, "$187.50");
	expect_usd(c.batch_total, "$337.50");
}

static void test_pricing_worked_example_reports(void **state)
{
	struct prices p = sonnet_prices();
	struct costs c;

	(void)state;
	/* 10,000 reports x 5,000 input tokens and 2,000 output tokens. */
	pricing_compute(&p, 10000.0 * 5000, 10000.0 * 2000, &c);
	assert_float_equal(c.od_input, 150.0, 0.005);
	assert_float_equal(c.od_output, 300.0, 0.005);
	assert_float_equal(c.od_total, 450.0, 0.005);
	assert_float_equal(c.batch_input, 75.0, 0.005);
	assert_float_equal(c.batch_output, 150.0, 0.005);
	assert_float_equal(c.batch_total, 225.0, 0.005);
	expect_usd(c.od_total, "$450.00");
	expect_usd(c.batch_total, "$225.00");
	expect_usd(c.savings, "$225.00");
}

static void test_pricing_discounts(void **state)
{
	struct prices p = {0.01, 0.02, 0.0};
	struct costs c;

	(void)state;
	pricing_compute(&p, 1000, 1000, &c);
	assert_float_equal(c.od_total, 0.03, 1e-12);
	assert_float_equal(c.batch_total, 0.03, 1e-12);
	assert_float_equal(c.savings, 0.0, 1e-12);
	p.batch_discount = 0.25;
	pricing_compute(&p, 1000, 1000, &c);
	assert_float_equal(c.batch_total, 0.0225, 1e-12);
	assert_float_equal(c.savings, 0.0075, 1e-12);
	pricing_compute(&p, 0, 0, &c);
	assert_true(c.od_total == 0.0 && c.batch_total == 0.0 && c.savings == 0.0);
}

static void test_fmt_usd(void **state)
{
	(void)state;
	expect_usd(0, "$0.00");
	expect_usd(1, "$1.00");
	expect_usd(337.5, "$337.50");
	expect_usd(1234.567, "$1234.57");
	expect_usd(0.5, "$0.5000");
	expect_usd(0.01, "$0.0100");
	expect_usd(0.0123, "$0.0123");
	expect_usd(0.000123, "$0.000123");
}

static void test_pricing_json_and_table(void **state)
{
	struct prices p = sonnet_prices();
	struct costs c;
	struct buf b;
	json_object *o;
	double v = -1;
	struct err e;

	(void)state;
	pricing_compute(&p, 50000.0 * 2000, 50000.0 * 500, &c);
	buf_init(&b, 0);
	pricing_put_json(&b, &p, &c);
	err_init(&e);
	assert_ok(json_parse(b.data, b.len, &o, &e), &e);
	assert_string_equal(json_get_str(o, "currency"), "USD");
	assert_true(json_get_double(o, "onDemandCost", &v));
	assert_float_equal(v, 675.0, 1e-6);
	assert_true(json_get_double(o, "batchCost", &v));
	assert_float_equal(v, 337.5, 1e-6);
	assert_true(json_get_double(o, "savings", &v));
	assert_float_equal(v, 337.5, 1e-6);
	assert_true(json_get_double(o, "inputPricePer1kTokens", &v));
	assert_float_equal(v, 0.003, 1e-12);
	assert_true(json_get_double(o, "batchDiscount", &v));
	assert_float_equal(v, 0.5, 1e-12);
	/* Money is written rounded to micro-dollars, without float noise. */
	assert_contains(b.data, "\"onDemandCost\":675,");
	assert_contains(b.data, "\"batchCost\":337.5,");
	json_object_put(o);

	buf_reset(&b);
	pricing_put_table(&b, &c);
	assert_int_equal(b.err, 0);
	assert_contains(b.data, "on-demand");
	assert_contains(b.data, "$675.00");
	assert_contains(b.data, "$337.50");
	assert_contains(b.data, "$187.50");
	assert_contains(b.data, "(50%)");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_body),
		cmocka_unit_test(test_different_seed_or_body_differs),
		cmocka_unit_test(test_chat_completion_shape),
		cmocka_unit_test(test_completion_tokens_within_max),
		cmocka_unit_test(test_prompt_tokens_round_up),
		cmocka_unit_test(test_completions_endpoint),
		cmocka_unit_test(test_embeddings),
		cmocka_unit_test(test_messages_endpoint),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_each_fault_kind),
		cmocka_unit_test(test_fault_rates),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_pricing_worked_example_documents),
		cmocka_unit_test(test_pricing_worked_example_reports),
		cmocka_unit_test(test_pricing_discounts),
		cmocka_unit_test(test_fmt_usd),
		cmocka_unit_test(test_pricing_json_and_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
