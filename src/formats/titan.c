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

/*
 * titan_text_validate requires inputText; textGenerationConfig is optional
 * and Bedrock fills in what it leaves out.
 */
static int titan_text_validate(json_object *mi, struct err *e)
{
	static const char cfg_path[] = "textGenerationConfig";
	json_object *cfg;
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "inputText", FMT_REQUIRED, true, e);
	if (!rc)
		rc = fmt_check_object_member(mi, "", cfg_path, FMT_OPTIONAL, e);
	if (rc || !fmt_member(mi, cfg_path, &cfg))
		return rc;
	rc = fmt_check_int(cfg, cfg_path, "maxTokenCount", FMT_OPTIONAL, 1,
			   TITAN_MAX_TOKEN_COUNT, e);
	if (!rc)
		rc = fmt_check_number(cfg, cfg_path, "temperature", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_number(cfg, cfg_path, "topP", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_string_array(cfg, cfg_path, "stopSequences", 0, e);
	return rc;
}

static void titan_text_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_text(json_get(mi, "inputText")));
	*max_out = fmt_max_tokens(json_get(mi, "textGenerationConfig"), "maxTokenCount",
				  FMT_DEFAULT_MAX_TOKENS);
}

/*
 * titan_text_to_wire builds the request; out->body is the caller's after
 * success. inputText is the prompt of a completion, or the one user
 * message on the Anthropic API.
 */
static int titan_text_to_wire(enum wire w, json_object *mi, const char *upstream,
			      struct wire_req *out, struct err *e)
{
	struct fmt_sampling s;
	json_object *text;
	struct fmt_str p;
	int rc;

	rc = fmt_check_wire(&fmt_family_titan_text, w, e);
	if (!rc && w != WIRE_BEDROCK)
		rc = titan_text_validate(mi, e);
	if (rc)
		return rc;
	fmt_member(mi, "inputText", &text);
	p.p = json_object_get_string(text);
	p.n = (size_t)json_object_get_string_len(text);
	fmt_sampling_read(json_get(mi, "textGenerationConfig"), &titan_keys, &s);
	return fmt_prompt_to_wire(w, mi, p, &s, upstream, out, e);
}

/* titan_text_put_output writes Bedrock's Titan Text answer from a neutral answer. */
static void titan_text_put_output(const struct fmt_result *res, struct buf *out)
{
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
 * titan_text_from_wire appends the modelOutput to out and fills u. A
 * Bedrock answer is the modelOutput and counts its own tokens.
 */
static int titan_text_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
				const char *model, struct buf *out, struct usage *u,
				struct err *e)
{
	struct fmt_result res;
	json_object *first;
	int rc;

	(void)mi;
	(void)model;
	rc = fmt_check_wire(&fmt_family_titan_text, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK) {
		rc = fmt_native_answer(r, "results", json_type_array, e);
		if (rc)
			return rc;
		first = json_object_array_get_idx(json_get(r->body, "results"), 0);
		fmt_usage_fill(u, r, fmt_get_i64(r->body, "inputTextTokenCount"),
			       fmt_get_i64(first, "tokenCount"));
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_answer(w, false, r, &res, e);
	if (rc)
		goto fail;
	titan_text_put_output(&res, out);
	u->input_tokens = res.input_tokens;
	u->output_tokens = res.output_tokens;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

/*
 * titan-embed (Titan Text Embeddings v2) turns one text into one vector:
 *
 *   {"inputText": "...", "dimensions": 1024, "normalize": true}
 */
static int titan_embed_validate(json_object *mi, struct err *e)
{
	json_object *dims;
	int64_t d;
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "inputText", FMT_REQUIRED, true, e);
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

static void titan_embed_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_text(json_get(mi, "inputText")));
	*max_out = 0;
}

/*
 * titan_embed_to_wire builds the request; out->body is the caller's after
 * success. On /embeddings, dimensions is sent only when the input chose
 * one: servers reject it for models that cannot shorten their vectors.
 * encoding_format is pinned to float because a base64 answer could not be
 * written as Titan's array of numbers. normalize has no OpenAI counterpart;
 * OpenAI-compatible servers return unit vectors, Titan's default.
 */
static int titan_embed_to_wire(enum wire w, json_object *mi, const char *upstream,
			       struct wire_req *out, struct err *e)
{
	json_object *text, *dims;
	struct buf b;
	int rc;

	rc = fmt_check_wire(&fmt_family_titan_embed, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK)
		return fmt_build_native(mi, "/invoke", out, e);
	rc = titan_embed_validate(mi, e);
	if (rc)
		return rc;
	fmt_member(mi, "inputText", &text);
	buf_init(&b, 0);
	buf_putc(&b, '{');
	fmt_put_cstr(&b, "model", upstream);
	fmt_put_json(&b, "input", text);
	if (fmt_member(mi, "dimensions", &dims))
		fmt_put_json(&b, "dimensions", dims);
	fmt_put_cstr(&b, "encoding_format", "float");
	buf_putc(&b, '}');
	return fmt_req_finish(&b, "/embeddings", out, e);
}

/*
 * titan_embed_from_wire appends {"embedding": [...], "inputTextTokenCount"}
 * to out and fills u; embeddings produce no output tokens.
 */
static int titan_embed_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
				 const char *model, struct buf *out, struct usage *u,
				 struct err *e)
{
	struct fmt_result res;
	int rc;

	(void)mi;
	(void)model;
	rc = fmt_check_wire(&fmt_family_titan_embed, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK) {
		rc = fmt_native_answer(r, "embedding", json_type_array, e);
		if (rc)
			return rc;
		fmt_usage_fill(u, r, fmt_get_i64(r->body, "inputTextTokenCount"), 0);
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_openai_embedding(r, &res, e);
	if (rc)
		goto fail;
	buf_putc(out, '{');
	fmt_put_json(out, "embedding", res.embedding);
	fmt_put_i64(out, "inputTextTokenCount", res.input_tokens);
	buf_putc(out, '}');
	u->input_tokens = res.input_tokens;
	u->output_tokens = 0;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

const struct family fmt_family_titan_text = {
	.name = "titan-text",
	.id = FAM_TITAN_TEXT,
	.embeddings = false,
	.validate = titan_text_validate,
	.estimate = titan_text_estimate,
	.to_wire = titan_text_to_wire,
	.from_wire = titan_text_from_wire,
};

const struct family fmt_family_titan_embed = {
	.name = "titan-embed",
	.id = FAM_TITAN_EMBED,
	.embeddings = true,
	.validate = titan_embed_validate,
	.estimate = titan_embed_estimate,
	.to_wire = titan_embed_to_wire,
	.from_wire = titan_embed_from_wire,
};
