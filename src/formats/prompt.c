/* prompt.c - the prompt families: Meta Llama and Mistral text completion on Bedrock. */
#include "formats/common.h"

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

/* llama_put_output writes Bedrock's Llama answer from a neutral answer. */
static void llama_put_output(const struct fmt_spec *s, const struct fmt_result *res,
			     const char *model, struct buf *out)
{
	(void)s;
	(void)model;
	buf_putc(out, '{');
	fmt_put_str(out, "generation", res->text.data, res->text.len);
	fmt_put_i64(out, "prompt_token_count", res->input_tokens);
	fmt_put_i64(out, "generation_token_count", res->output_tokens);
	fmt_put_cstr(out, "stop_reason", fmt_stop_short(res->stop));
	buf_putc(out, '}');
}

/*
 * The prompt is required and the settings Bedrock knows are bounded. On an
 * OpenAI-compatible backend the prompt goes to /completions untouched,
 * since it already carries the chat template; on the Anthropic API it
 * becomes one user message. Bedrock's answer is already the modelOutput
 * and carries its own token counts.
 */
static const struct fmt_spec llama_spec = {
	.family = &fmt_family_llama,
	.validate = fmt_validate_prompt,
	.text = "prompt",
	.keys = &llama_keys,
	.max_tokens_limit = LLAMA_MAX_GEN_LEN,
	.path = {[WIRE_BEDROCK] = "/invoke"},
	.prompt = true,
	.bedrock = {
		.key = "generation",
		.type = json_type_string,
		.input_tokens = {"", "prompt_token_count"},
		.output_tokens = {"", "generation_token_count"},
	},
	.put = llama_put_output,
};

FMT_DEFINE_FAMILY(fmt_family_llama, "llama", FAM_LLAMA, false, llama_spec);

/* ---- mistral ---- */

/*
 * A mistral modelInput is one prompt in Mistral's instruction format plus
 * sampling settings whose names match OpenAI's completions API
 * (fmt_openai_keys):
 *
 *   {"prompt": "<s>[INST] ... [/INST]", "max_tokens": 512, "stop": ["..."],
 *    "temperature": 0.5, "top_p": 0.9, "top_k": 50}
 */

/* Bedrock takes at most this many stop sequences for Mistral models. */
#define MISTRAL_MAX_STOP 10

/*
 * mistral_validate requires the prompt and bounds the settings Bedrock
 * knows. The stop list is checked right after max_tokens, ahead of the
 * shared order, so that a body with several faults is still told the same
 * one first.
 */
static int mistral_validate(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	int rc;

	rc = fmt_check_prompt(s, mi, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_OPTIONAL, 1, FMT_MAX_TOKENS_CAP, e);
	if (!rc)
		rc = fmt_check_string_array(mi, "", "stop", MISTRAL_MAX_STOP, e);
	if (!rc)
		rc = fmt_check_settings(s, mi, e);
	return rc;
}

/*
 * mistral_put_output writes Bedrock's Mistral answer, which has no token
 * counts: they are kept in usage only, for the manifest and the cost.
 */
static void mistral_put_output(const struct fmt_spec *s, const struct fmt_result *res,
			       const char *model, struct buf *out)
{
	(void)s;
	(void)model;
	buf_puts(out, "{\"outputs\":[{");
	fmt_put_str(out, "text", res->text.data, res->text.len);
	fmt_put_cstr(out, "stop_reason", fmt_stop_short(res->stop));
	buf_puts(out, "}]}");
}

/*
 * The prompt keeps its [INST] markers on /completions, where a Mistral
 * model expects them, and on the Anthropic API, where they are harmless
 * text inside the one user message. Bedrock's answer is the modelOutput;
 * its counts come from the response headers.
 */
static const struct fmt_spec mistral_spec = {
	.family = &fmt_family_mistral,
	.validate = mistral_validate,
	.text = "prompt",
	.keys = &fmt_openai_keys,
	.max_stop = MISTRAL_MAX_STOP,
	.path = {[WIRE_BEDROCK] = "/invoke"},
	.prompt = true,
	.bedrock = {.key = "outputs", .type = json_type_array},
	.put = mistral_put_output,
};

FMT_DEFINE_FAMILY(fmt_family_mistral, "mistral", FAM_MISTRAL, false, mistral_spec);
