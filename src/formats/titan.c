/* titan.c - the titan-text and titan-embed families: Amazon Titan's bodies on Bedrock. */
#include "formats/common.h"

#include "util/json.h"

/*
 * titan-text keeps its settings in a nested object:
 *
 *   {"inputText": "...", "textGenerationConfig": {"maxTokenCount": 512,
 *    "temperature": 0.7, "topP": 0.9, "stopSequences": []}}
 */
static const struct fmt_sampling_keys titan_keys = {
	.max_tokens = "maxTokenCount",
	.temperature = "temperature",
	.top_p = "topP",
	.stop = "stopSequences",
};

/* The most Bedrock lets a Titan Text model generate in one request. */
#define TITAN_MAX_TOKEN_COUNT 8192

/* titan_text_put_output writes Bedrock's Titan Text answer from a neutral answer. */
static void titan_text_put_output(const struct fmt_spec *s, const struct fmt_result *res,
				  const char *model, struct buf *out)
{
	(void)s;
	(void)model;
	buf_putc(out, '{');
	fmt_put_i64(out, "inputTextTokenCount", res->input_tokens);
	fmt_key(out, "results");
	buf_puts(out, "[{");
	fmt_put_i64(out, "tokenCount", res->output_tokens);
	fmt_put_str(out, "outputText", res->text.data, res->text.len);
	fmt_put_cstr(out, "completionReason", fmt_stop_titan(res->stop));
	buf_puts(out, "}]}");
}

/*
 * inputText is the prompt of a completion, or the one user message on the
 * Anthropic API; textGenerationConfig is optional and Bedrock fills in
 * what it leaves out. A Bedrock answer is the modelOutput and counts its
 * own tokens.
 */
static const struct fmt_spec titan_text_spec = {
	.family = &fmt_family_titan_text,
	.validate = fmt_validate_prompt,
	.text = "inputText",
	.settings = "textGenerationConfig",
	.keys = &titan_keys,
	.max_tokens_limit = TITAN_MAX_TOKEN_COUNT,
	.path = {[WIRE_BEDROCK] = "/invoke"},
	.prompt = true,
	.bedrock = {
		.key = "results",
		.type = json_type_array,
		.input_tokens = {"", "inputTextTokenCount"},
		.output_tokens = {"/results/0", "tokenCount"},
	},
	.put = titan_text_put_output,
};

FMT_DEFINE_FAMILY(fmt_family_titan_text, "titan-text", FAM_TITAN_TEXT, false, titan_text_spec);

/*
 * titan-embed (Titan Text Embeddings v2) turns one text into one vector:
 *
 *   {"inputText": "...", "dimensions": 1024, "normalize": true}
 */

/* titan_embed_validate requires inputText and checks the options Titan v2 knows. */
static int titan_embed_validate(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	json_object *dims;
	int64_t d;
	int rc;

	rc = fmt_check_prompt(s, mi, e);
	if (!rc)
		rc = fmt_check_bool(mi, "", "normalize", e);
	if (!rc)
		rc = fmt_check_string_array(mi, "", "embeddingTypes", 0, e);
	if (rc)
		return rc;
	/* Titan v2 has three fixed sizes, not a range. */
	if (fmt_member(mi, "dimensions", &dims) &&
	    !(json_get_int64(mi, "dimensions", &d) && (d == 256 || d == 512 || d == 1024)))
		return fmt_fail(e, "dimensions", NULL, "256, 512 or 1024", dims);
	return 0;
}

/* titan_embed_put_output writes {"embedding": [...], "inputTextTokenCount"}. */
static void titan_embed_put_output(const struct fmt_spec *s, const struct fmt_result *res,
				   const char *model, struct buf *out)
{
	(void)s;
	(void)model;
	buf_putc(out, '{');
	fmt_put_json(out, "embedding", res->embedding);
	fmt_put_i64(out, "inputTextTokenCount", res->input_tokens);
	buf_putc(out, '}');
}

/*
 * On an OpenAI-compatible backend inputText and dimensions become an
 * /embeddings request. normalize has no OpenAI counterpart; such servers
 * return unit vectors, Titan's default.
 */
static const struct fmt_spec titan_embed_spec = {
	.family = &fmt_family_titan_embed,
	.validate = titan_embed_validate,
	.text = "inputText",
	.dimensions = "dimensions",
	.path = {[WIRE_BEDROCK] = "/invoke"},
	.bedrock = {
		.key = "embedding",
		.type = json_type_array,
		.input_tokens = {"", "inputTextTokenCount"},
	},
	.put = titan_embed_put_output,
};

FMT_DEFINE_FAMILY(fmt_family_titan_embed, "titan-embed", FAM_TITAN_EMBED, true, titan_embed_spec);
