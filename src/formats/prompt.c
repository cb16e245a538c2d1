/* prompt.c - the prompt families: Meta Llama and Mistral text completion on Bedrock. */
#include "formats/common.h"

#include "util/json.h"

/*
 * A llama modelInput is one prompt, usually already wrapped in Llama's
 * chat template by the client, plus a few sampling settings:
 *
 *   {"prompt": "...", "max_gen_len": 512, "temperature": 0.5, "top_p": 0.9}
 *
 * Bedrock has no stop sequences or top_k for Llama, so neither is read.
 */
static const struct fmt_sampling_keys llama_keys = {
	.max_tokens = "max_gen_len",
	.temperature = "temperature",
	.top_p = "top_p",
};

/* The most Bedrock lets a Llama generate in one request. */
#define LLAMA_MAX_GEN_LEN 8192

/* llama_validate requires the prompt and bounds the settings Bedrock knows. */
static int llama_validate(json_object *mi, struct err *e)
{
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "prompt", FMT_REQUIRED, true, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_gen_len", FMT_OPTIONAL, 1, LLAMA_MAX_GEN_LEN, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "temperature", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "top_p", FMT_OPTIONAL, 0, 1, e);
	return rc;
}

static void llama_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_text(json_get(mi, "prompt")));
	*max_out = fmt_max_tokens(mi, "max_gen_len", FMT_DEFAULT_MAX_TOKENS);
}

/*
 * llama_to_wire builds the request; out->body is the caller's after
 * success. On an OpenAI-compatible backend the prompt goes to /completions
 * untouched, since it already carries the chat template; on the Anthropic
 * API it becomes one user message.
 */
static int llama_to_wire(enum wire w, json_object *mi, const char *upstream,
			 struct wire_req *out, struct err *e)
{
	struct fmt_sampling s;
	json_object *prompt;
	struct fmt_str p;
	int rc;

	rc = fmt_check_wire(&fmt_family_llama, w, e);
	if (!rc && w != WIRE_BEDROCK)
		rc = llama_validate(mi, e);
	if (rc)
		return rc;
	fmt_member(mi, "prompt", &prompt);
	p.p = json_object_get_string(prompt);
	p.n = (size_t)json_object_get_string_len(prompt);
	fmt_sampling_read(mi, &llama_keys, &s);
	return fmt_prompt_to_wire(w, mi, p, &s, upstream, out, e);
}

/* llama_put_output writes Bedrock's Llama answer from a neutral answer. */
static void llama_put_output(const struct fmt_result *res, struct buf *out)
{
	buf_putc(out, '{');
	fmt_put_str(out, "generation", res->text.data, res->text.len);
	fmt_put_i64(out, "prompt_token_count", res->input_tokens);
	fmt_put_i64(out, "generation_token_count", res->output_tokens);
	fmt_put_cstr(out, "stop_reason", fmt_stop_short(res->stop));
	buf_putc(out, '}');
}

/*
 * llama_from_wire appends the modelOutput to out and fills u. Bedrock's
 * answer is already the modelOutput and carries its own token counts.
 */
static int llama_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
			   const char *model, struct buf *out, struct usage *u,
			   struct err *e)
{
	struct fmt_result res;
	int rc;

	(void)mi;
	(void)model;
	rc = fmt_check_wire(&fmt_family_llama, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK) {
		rc = fmt_native_answer(r, "generation", json_type_string, e);
		if (rc)
			return rc;
		fmt_usage_fill(u, r, fmt_get_i64(r->body, "prompt_token_count"),
			       fmt_get_i64(r->body, "generation_token_count"));
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_answer(w, false, r, &res, e);
	if (rc)
		goto fail;
	llama_put_output(&res, out);
	u->input_tokens = res.input_tokens;
	u->output_tokens = res.output_tokens;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

const struct family fmt_family_llama = {
	.name = "llama",
	.id = FAM_LLAMA,
	.embeddings = false,
	.validate = llama_validate,
	.estimate = llama_estimate,
	.to_wire = llama_to_wire,
	.from_wire = llama_from_wire,
};

/* ---- mistral ---- */

/*
 * A mistral modelInput is one prompt in Mistral's instruction format plus
 * sampling settings whose names match OpenAI's completions API:
 *
 *   {"prompt": "<s>[INST] ... [/INST]", "max_tokens": 512, "stop": ["..."],
 *    "temperature": 0.5, "top_p": 0.9, "top_k": 50}
 */
static const struct fmt_sampling_keys mistral_keys = {
	.max_tokens = "max_tokens",
	.temperature = "temperature",
	.top_p = "top_p",
	.top_k = "top_k",
	.stop = "stop",
};

/* Bedrock takes at most this many stop sequences for Mistral models. */
#define MISTRAL_MAX_STOP 10

/* mistral_validate requires the prompt and bounds the settings Bedrock knows. */
static int mistral_validate(json_object *mi, struct err *e)
{
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "prompt", FMT_REQUIRED, true, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_string_array(mi, "", "stop", MISTRAL_MAX_STOP, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "temperature", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "top_p", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "top_k", FMT_OPTIONAL, 0, FMT_NO_MAX, e);
	return rc;
}

static void mistral_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_text(json_get(mi, "prompt")));
	*max_out = fmt_max_tokens(mi, "max_tokens", FMT_DEFAULT_MAX_TOKENS);
}

/*
 * mistral_to_wire builds the request; out->body is the caller's after
 * success. The prompt keeps its [INST] markers on /completions, where a
 * Mistral model expects them, and on the Anthropic API, where they are
 * harmless text inside the one user message.
 */
static int mistral_to_wire(enum wire w, json_object *mi, const char *upstream,
			   struct wire_req *out, struct err *e)
{
	struct fmt_sampling s;
	json_object *prompt;
	struct fmt_str p;
	int rc;

	rc = fmt_check_wire(&fmt_family_mistral, w, e);
	if (!rc && w != WIRE_BEDROCK)
		rc = mistral_validate(mi, e);
	if (rc)
		return rc;
	fmt_member(mi, "prompt", &prompt);
	p.p = json_object_get_string(prompt);
	p.n = (size_t)json_object_get_string_len(prompt);
	fmt_sampling_read(mi, &mistral_keys, &s);
	return fmt_prompt_to_wire(w, mi, p, &s, upstream, out, e);
}

/*
 * mistral_put_output writes Bedrock's Mistral answer, which has no token
 * counts: they are kept in usage only, for the manifest and the cost.
 */
static void mistral_put_output(const struct fmt_result *res, struct buf *out)
{
	buf_puts(out, "{\"outputs\":[{");
	fmt_put_str(out, "text", res->text.data, res->text.len);
	fmt_put_cstr(out, "stop_reason", fmt_stop_short(res->stop));
	buf_puts(out, "}]}");
}

/*
 * mistral_from_wire appends the modelOutput to out and fills u. Bedrock's
 * answer is the modelOutput; its counts come from the response headers.
 */
static int mistral_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
			     const char *model, struct buf *out, struct usage *u,
			     struct err *e)
{
	struct fmt_result res;
	int rc;

	(void)mi;
	(void)model;
	rc = fmt_check_wire(&fmt_family_mistral, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK) {
		rc = fmt_native_answer(r, "outputs", json_type_array, e);
		if (rc)
			return rc;
		fmt_usage_fill(u, r, -1, -1);
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_answer(w, false, r, &res, e);
	if (rc)
		goto fail;
	mistral_put_output(&res, out);
	u->input_tokens = res.input_tokens;
	u->output_tokens = res.output_tokens;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

const struct family fmt_family_mistral = {
	.name = "mistral",
	.id = FAM_MISTRAL,
	.embeddings = false,
	.validate = mistral_validate,
	.estimate = mistral_estimate,
	.to_wire = mistral_to_wire,
	.from_wire = mistral_from_wire,
};
