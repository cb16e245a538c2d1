/* test_config.c - unit tests of the INI configuration and built-in catalog (src/util/config.c). */
#include "testutil.h"

#include <unistd.h>

#include "util/config.h"

#define SONNET "anthropic.claude-3-5-sonnet-20240620-v1:0"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/barge-config-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/barge.ini", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_conf(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* load_ok writes text and loads it; the caller frees c. */
static void load_ok(struct fixture *f, const char *text, struct config *c)
{
	struct err e;

	write_conf(f, text);
	err_init(&e);
	assert_ok(config_load(c, f->path, &e), &e);
}

/*
 * load_fails writes text, expects ERR_CONFIG, and checks that the message
 * names the file and line ("PATH:LINE") and contains each of the words.
 */
static void load_fails(struct fixture *f, const char *text, int line, const char *w1,
		       const char *w2)
{
	struct config c;
	struct err e;
	char where[160];
	int rc;

	write_conf(f, text);
	err_init(&e);
	rc = config_load(&c, f->path, &e);
	config_free(&c);
	if (rc != ERR_CONFIG)
		fail_msg("config_load gave %d (%s), want ERR_CONFIG", rc, e.msg);
	snprintf(where, sizeof(where), "%s:%d", f->path, line);
	assert_contains(e.msg, where);
	if (w1)
		assert_contains(e.msg, w1);
	if (w2)
		assert_contains(e.msg, w2);
}

static void expect_price(const struct config *c, const char *id, double in, double out)
{
	const struct model_cfg *m = config_find_model(c, id);

	if (!m)
		fail_msg("model %s is not in the catalog", id);
	assert_float_equal(m->input_price_per_1k, in, 1e-12);
	assert_float_equal(m->output_price_per_1k, out, 1e-12);
	assert_float_equal(m->batch_discount, 0.5, 1e-12);
	assert_string_equal(m->backend, "sim");
	assert_true(m->builtin);
}

static void test_builtin_catalog_without_file(void **state)
{
	const struct backend_cfg *sim;
	const struct model_cfg *m;
	struct config c;
	struct err e;

	(void)state;
	err_init(&e);
	assert_ok(config_load(&c, NULL, &e), &e);
	assert_null(c.path);
	/* reference/pricing.md */
	expect_price(&c, "anthropic.claude-3-opus-20240229-v1:0", 0.015, 0.075);
	expect_price(&c, SONNET, 0.003, 0.015);
	expect_price(&c, "anthropic.claude-3-5-haiku-20241022-v1:0", 0.0008, 0.004);
	expect_price(&c, "meta.llama3-1-70b-instruct-v1:0", 0.00099, 0.00099);
	expect_price(&c, "mistral.mistral-large-2407-v1:0", 0.004, 0.012);
	m = config_find_model(&c, SONNET);
	assert_string_equal(m->family, "anthropic-messages");
	assert_string_equal(config_find_model(&c, "meta.llama3-1-70b-instruct-v1:0")->family, "llama");
	assert_string_equal(config_find_model(&c, "mistral.mistral-large-2407-v1:0")->family,
			    "mistral");
	assert_null(config_find_model(&c, "anthropic.claude-9"));

	sim = config_find_backend(&c, "sim");
	assert_non_null(sim);
	assert_int_equal(sim->kind, BK_SIM);
	assert_int_equal(sim->ttft_ms, 0);
	assert_int_equal(sim->itl_ms, 0);
	assert_true(sim->fail_rate == 0.0);
	assert_null(config_find_backend(&c, "openai"));

	assert_int_equal(c.limits.chunk_records, 256);
	assert_int_equal(c.limits.max_line_bytes, 8388608);
	assert_int_equal(c.limits.max_records_per_job, 50000);
	assert_int_equal(c.limits.max_file_bytes, 209715200);
	assert_string_equal(c.server.listen, "127.0.0.1:8080");
	assert_string_equal(c.server.region, "us-east-1");
	assert_int_equal(c.server.runners, 2);
	config_free(&c);
}

static void test_file_adds_backend_and_model(void **state)
{
	struct fixture *f = *state;
	const struct backend_cfg *b;
	const struct model_cfg *m;
	struct config c;
	struct err e;
	size_t builtin_models;

	err_init(&e);
	assert_ok(config_load(&c, NULL, &e), &e);
	builtin_models = c.n_models;
	config_free(&c);

	load_ok(f,
		"; a comment\n"
		"[backend.x]\n"
		"kind = openai                 ; an inline comment\n"
		"base_url = http://127.0.0.1:8000/v1\n"
		"max_concurrency = 32\n"
		"timeout_s = 12.5\n"
		"requests_per_minute = 600\n"
		"\n"
		"[model.y]\n"
		"family = llama\n"
		"backend = x\n"
		"upstream_model = meta-llama/Llama-3.1-8B-Instruct\n"
		"input_price_per_1k = 0.0002\n"
		"output_price_per_1k = 0.0004\n"
		"\n"
		"[model.z]\n"
		"family = mistral\n"
		"batch_discount = 0.25\n"
		"[limits]\n"
		"chunk_records = 100\n",
		&c);
	assert_string_equal(c.path, f->path);
	b = config_find_backend(&c, "x");
	assert_non_null(b);
	assert_int_equal(b->kind, BK_OPENAI);
	assert_string_equal(b->base_url, "http://127.0.0.1:8000/v1");
	assert_int_equal(b->max_concurrency, 32);
	assert_float_equal(b->timeout_s, 12.5, 1e-9);
	assert_int_equal(b->requests_per_minute, 600);
	/* Unset keys keep the defaults of the kind. */
	assert_int_equal(b->max_attempts, 5);
	assert_int_equal(b->tokens_per_minute, 0);
	assert_null(b->api_key);

	m = config_find_model(&c, "y");
	assert_non_null(m);
	assert_string_equal(m->family, "llama");
	assert_string_equal(m->backend, "x");
	assert_string_equal(m->upstream, "meta-llama/Llama-3.1-8B-Instruct");
	assert_float_equal(m->input_price_per_1k, 0.0002, 1e-12);
	assert_float_equal(m->output_price_per_1k, 0.0004, 1e-12);
	assert_float_equal(m->batch_discount, 0.5, 1e-12);
	assert_false(m->builtin);

	/* No backend means sim; no upstream_model means the id itself. */
	m = config_find_model(&c, "z");
	assert_non_null(m);
	assert_string_equal(m->backend, "sim");
	assert_string_equal(m->upstream, "z");
	assert_float_equal(m->batch_discount, 0.25, 1e-12);

	assert_int_equal(c.n_models, builtin_models + 2);
	assert_int_equal(c.limits.chunk_records, 100);
	/* The built-in catalog is still there. */
	expect_price(&c, SONNET, 0.003, 0.015);
	config_free(&c);
}

static void test_file_overrides_builtin_price(void **state)
{
	struct fixture *f = *state;
	const struct model_cfg *m;
	struct config c;
	struct err e;
	size_t builtin_models;

	err_init(&e);
	assert_ok(config_load(&c, NULL, &e), &e);
	builtin_models = c.n_models;
	config_free(&c);

	load_ok(f,
		"[model." SONNET "]\n"
		"input_price_per_1k = 0.0025\n"
		"[backend.sim]\n"
		"ttft_ms = 5\n"
		"fail_rate = 0.25\n",
		&c);
	m = config_find_model(&c, SONNET);
	assert_non_null(m);
	assert_float_equal(m->input_price_per_1k, 0.0025, 1e-12);
	/* What the file does not name stays as built in. */
	assert_float_equal(m->output_price_per_1k, 0.015, 1e-12);
	assert_string_equal(m->family, "anthropic-messages");
	assert_string_equal(m->backend, "sim");
	assert_false(m->builtin);
	assert_int_equal(c.n_models, builtin_models);
	assert_int_equal(config_find_backend(&c, "sim")->ttft_ms, 5);
	assert_float_equal(config_find_backend(&c, "sim")->fail_rate, 0.25, 1e-12);
	assert_int_equal(config_find_backend(&c, "sim")->kind, BK_SIM);
	config_free(&c);
}

static void test_secrets_from_environment(void **state)
{
	struct fixture *f = *state;
	const struct backend_cfg *b;
	struct config c;

	setenv("BARGE_TEST_KEY", "s3cret-value", 1);
	setenv("BARGE_TEST_EMPTY", "", 1);
	unsetenv("BARGE_TEST_UNSET");
	load_ok(f,
		"[backend.x]\n"
		"kind = bedrock\n"
		"api_key_env = BARGE_TEST_KEY\n"
		"access_key_id = AKIDLITERAL\n"
		"secret_access_key_env = BARGE_TEST_UNSET\n"
		"session_token_env = BARGE_TEST_EMPTY\n"
		"[account.team-a]\n"
		"account_id = 123456789012\n"
		"api_key_env = BARGE_TEST_KEY\n"
		"secret_access_key_env = BARGE_TEST_UNSET\n"
		"allowed_uris = s3://bucket-a/, file:///srv/batch/team-a/\n"
		"[storage.s3]\n"
		"access_key_id_env = BARGE_TEST_KEY\n"
		"path_style = false\n",
		&c);
	b = config_find_backend(&c, "x");
	assert_non_null(b);
	assert_int_equal(b->kind, BK_BEDROCK);
	assert_string_equal(b->api_key, "s3cret-value");
	assert_string_equal(b->access_key_id, "AKIDLITERAL");
	assert_null(b->secret_access_key);
	assert_null(b->session_token);

	assert_int_equal(c.n_accounts, 1);
	assert_string_equal(c.accounts[0].name, "team-a");
	assert_string_equal(c.accounts[0].account_id, "123456789012");
	assert_string_equal(c.accounts[0].api_key, "s3cret-value");
	assert_null(c.accounts[0].secret_access_key);
	assert_int_equal(c.accounts[0].n_allowed_uris, 2);
	assert_string_equal(c.accounts[0].allowed_uris[0], "s3://bucket-a/");
	assert_string_equal(c.accounts[0].allowed_uris[1], "file:///srv/batch/team-a/");
	assert_int_equal(c.accounts[0].max_running_jobs_per_model, 5);
	assert_string_equal(c.s3.access_key_id, "s3cret-value");
	assert_false(c.s3.path_style);
	config_free(&c);
	unsetenv("BARGE_TEST_KEY");
	unsetenv("BARGE_TEST_EMPTY");
}

static void test_error_unknown_section(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[server]\nlisten = 0.0.0.0:9\n[bogus]\nfoo = 1\n", 4, "[bogus]",
		   "unknown section");
	load_fails(f, "[model]\nfamily = llama\n", 2, "unknown section", "[model]");
}

static void test_error_unknown_key(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[backend.x]\nkind = openai\nmax_concurency = 3\n", 3, "max_concurency",
		   "unknown key");
	load_fails(f, "[model.y]\nfamily = llama\nprice = 1\n", 3, "price", "unknown key");
	load_fails(f, "\n[limits]\nchunks = 5\n", 3, "chunks", "unknown key");
	load_fails(f, "[account.a]\ntoken = x\n", 2, "token", "unknown key");
}

static void test_error_bad_number(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[backend.x]\nmax_concurrency = ten\n", 2, "max_concurrency",
		   "\"ten\" is not a whole number");
	load_fails(f, "[backend.x]\nmax_attempts = 3.5\n", 2, "max_attempts", "not a whole number");
	load_fails(f, "[backend.x]\nkind = sim\ntimeout_s = fast\n", 3, "timeout_s",
		   "\"fast\" is not a number");
	load_fails(f, "[backend.x]\nfail_rate = nan\n", 2, "fail_rate", "not a number");
	load_fails(f, "[model.y]\nfamily = llama\ninput_price_per_1k = 1e\n", 3, "input_price_per_1k",
		   "not a number");
	load_fails(f, "[limits]\nchunk_records =\n", 2, "chunk_records", "not a whole number");
}

static void test_error_out_of_range(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[backend.x]\nmax_concurrency = 0\n", 2, "max_concurrency",
		   "0 is out of range 1..100000");
	load_fails(f, "[backend.x]\nfail_rate = 1.5\n", 2, "fail_rate", "out of range");
	load_fails(f, "[backend.x]\nmax_attempts = 101\n", 2, "max_attempts", "out of range");
	load_fails(f, "[model.y]\nbatch_discount = -0.1\n", 2, "batch_discount", "out of range");
	load_fails(f, "[limits]\nmax_line_bytes = 10\n", 2, "max_line_bytes", "out of range");
	load_fails(f, "[server]\nrunners = 65\n", 2, "runners", "out of range");
	load_fails(f, "[account.a]\naccount_id = 12345\n", 2, "account_id", "12 digits");
}

static void test_error_unknown_family_and_kind(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[model.y]\nbackend = sim\nfamily = gpt5\n", 3, "family", "\"gpt5\"");
	load_fails(f, "[backend.x]\nkind = vllm\n", 2, "kind", "\"vllm\"");
}

static void test_model_missing_backend_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct config c;
	struct err e;
	int rc;

	write_conf(f, "[model.y]\nfamily = llama\nbackend = nope\n");
	err_init(&e);
	rc = config_load(&c, f->path, &e);
	config_free(&c);
	assert_int_equal(rc, ERR_CONFIG);
	assert_contains(e.msg, f->path);
	assert_contains(e.msg, "[model.y]");
	assert_contains(e.msg, "\"nope\"");

	/* A backend defined later in the file is fine. */
	write_conf(f, "[model.y]\nfamily = llama\nbackend = later\n[backend.later]\nkind = openai\n");
	err_init(&e);
	assert_ok(config_load(&c, f->path, &e), &e);
	assert_string_equal(config_find_model(&c, "y")->backend, "later");
	config_free(&c);

	/* A model with no family cannot be used. */
	write_conf(f, "[model.y]\nbackend = sim\n");
	err_init(&e);
	rc = config_load(&c, f->path, &e);
	config_free(&c);
	assert_int_equal(rc, ERR_CONFIG);
	assert_contains(e.msg, "[model.y] has no family");
}

/* config.h: "On failure e names the file, line and key". */
static void test_model_missing_backend_names_line(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[model.y]\nfamily = llama\nbackend = nope\n", 3, "backend", "\"nope\"");
}

static void test_fail_types(void **state)
{
	struct fixture *f = *state;
	struct config c;
	unsigned bits = 12345;
	struct err e;

	err_init(&e);
	assert_ok(config_parse_fail_types("429,500,503,timeout,reset,malformed,truncated", &bits, &e),
		  &e);
	assert_int_equal(bits, SIMF_ALL);
	assert_ok(config_parse_fail_types(" 429, timeout ,,reset ", &bits, &e), &e);
	assert_int_equal(bits, SIMF_429 | SIMF_TIMEOUT | SIMF_RESET);
	assert_ok(config_parse_fail_types("", &bits, &e), &e);
	assert_int_equal(bits, 0);

	bits = 77;
	assert_int_equal(config_parse_fail_types("429,bogus", &bits, &e), ERR_CONFIG);
	assert_contains(e.msg, "\"bogus\"");
	assert_int_equal(bits, 77);
	assert_int_equal(config_parse_fail_types("Timeout", &bits, &e), ERR_CONFIG);
	assert_int_equal(config_parse_fail_types("429;500", &bits, &e), ERR_CONFIG);
	assert_int_equal(
		config_parse_fail_types("an-extremely-long-fault-type-name-indeed", &bits, &e),
		ERR_CONFIG);

	load_ok(f, "[backend.sim]\nfail_types = 500, malformed\n", &c);
	assert_int_equal(config_find_backend(&c, "sim")->fail_types, SIMF_500 | SIMF_MALFORMED);
	config_free(&c);
	load_fails(f, "[backend.sim]\nfail_rate = 0.5\nfail_types = 500,nope\n", 3, "fail_types",
		   "\"nope\"");
}

static void test_backend_defaults(void **state)
{
	struct backend_cfg b;

	(void)state;
	config_backend_defaults(&b, BK_SIM);
	assert_int_equal(b.kind, BK_SIM);
	assert_int_equal(b.max_concurrency, 256);
	assert_int_equal(b.max_attempts, 5);
	assert_true(b.fail_rate == 0.0);
	assert_int_equal(b.fail_types & SIMF_TRUNCATED, 0);
	assert_int_equal(b.fail_types & SIMF_429, SIMF_429);
	config_backend_defaults(&b, BK_OPENAI);
	assert_int_equal(b.kind, BK_OPENAI);
	assert_int_equal(b.max_concurrency, 64);
	assert_string_equal(config_kind_name(BK_OPENAI), "openai");
	assert_string_equal(config_kind_name(BK_ANTHROPIC), "anthropic");
	assert_string_equal(config_kind_name(BK_BEDROCK), "bedrock");
	assert_string_equal(config_kind_name(BK_SIM), "sim");
}

static void test_missing_file_and_bad_syntax(void **state)
{
	struct fixture *f = *state;
	struct config c;
	struct err e;
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "%s/absent.ini", f->dir);
	err_init(&e);
	rc = config_load(&c, path, &e);
	config_free(&c);
	assert_int_equal(rc, ERR_CONFIG);
	assert_contains(e.msg, path);

	load_fails(f, "[server]\nlisten = 1.2.3.4:5\nthis line is not ini\n", 3, "not a valid INI line",
		   NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_catalog_without_file),
		cmocka_unit_test_setup_teardown(test_file_adds_backend_and_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_overrides_builtin_price, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secrets_from_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_unknown_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_bad_number, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_unknown_family_and_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_missing_backend_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_missing_backend_names_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_types, setup, teardown),
		cmocka_unit_test(test_backend_defaults),
		cmocka_unit_test_setup_teardown(test_missing_file_and_bad_syntax, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
