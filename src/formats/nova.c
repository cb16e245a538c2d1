/* nova.c - the nova and converse families: Bedrock's messages-v1 and Converse bodies. */
#include "formats/common.h"

#include <stdio.h>
#include <string.h>

#include "util/json.h"

/*
 * Nova's InvokeModel body and the Converse API share their shape: messages
 * of content blocks such as {"text": ...}, a system list of the same
 * blocks, and an inferenceConfig. They differ in the path on Bedrock, in
 * schemaVersion and topK (Nova only), and in the "metrics" of the answer
 * (Converse only), so one set of functions serves both with a flag.
 */

/* The image formats of Bedrock's image blocks and their media types. */
static const char *const nova_image_formats[] = {"png", "jpeg", "gif", "webp", NULL};
static const char *const nova_image_media[] = {"image/png", "image/jpeg", "image/gif",
					       "image/webp"};

/*
 * nova_check_block checks one content or system block: an object with at
 * least one member; "text" a string, "image" a format and a source.
 */
static int nova_check_block(json_object *block, const char *path, struct err *e)
{
	json_object *img;
	char item[128];
	int rc;

	if (!json_is_type(block, json_type_object) || json_object_object_length(block) == 0)
		return fmt_fail(e, path, NULL, "a content block such as {\"text\": \"...\"}",
				block);
	rc = fmt_check_string(block, path, "text", FMT_OPTIONAL, false, e);
	if (rc)
		return rc;
	if (!fmt_member(block, "image", &img))
		return 0;
	fmt_path(item, sizeof(item), path, "image");
	if (!json_is_type(img, json_type_object))
		return fmt_fail(e, item, NULL, "an object with \"format\" and \"source\"", img);
	rc = fmt_check_enum(img, item, "format", FMT_REQUIRED, nova_image_formats, e);
	if (!rc)
		rc = fmt_check_object_member(img, item, "source", FMT_REQUIRED, e);
	return rc;
}

/* nova_check_blocks checks a non-empty array of blocks at key of o. */
static int nova_check_blocks(json_object *o, const char *parent, const char *key, int req,
			     struct err *e)
{
	char path[64], item[96];
	json_object *arr;
	size_t n;
	int rc;

	rc = fmt_check_array_member(o, parent, key, req, req == FMT_REQUIRED, &arr, e);
	if (rc || !arr)
		return rc;
	fmt_path(path, sizeof(path), parent, key);
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		rc = nova_check_block(json_object_array_get_idx(arr, i), item, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* nova_check_config checks inferenceConfig; topK is Nova's alone. */
static int nova_check_config(json_object *mi, bool converse, struct err *e)
{
	json_object *cfg;
	int rc;

	rc = fmt_check_object_member(mi, "", "inferenceConfig", FMT_OPTIONAL, e);
	if (rc || !fmt_member(mi, "inferenceConfig", &cfg))
		return rc;
	rc = fmt_check_int(cfg, "inferenceConfig", "maxTokens", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_number(cfg, "inferenceConfig", "temperature", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_number(cfg, "inferenceConfig", "topP", FMT_OPTIONAL, 0, 1, e);
	if (!rc && !converse)
		rc = fmt_check_int(cfg, "inferenceConfig", "topK", FMT_OPTIONAL, 0, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_string_array(cfg, "inferenceConfig", "stopSequences", 0, e);
	return rc;
}

/*
 * nova_validate_common checks a Nova or Converse body (converse set):
 * alternating messages of content blocks, optional system blocks and an
 * optional inferenceConfig.
 */
static int nova_validate_common(json_object *mi, bool converse, struct err *e)
{
	json_object *msgs;
	const char *prev = NULL;
	char path[48];
	size_t n;
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc && !converse)
		rc = fmt_check_string(mi, "", "schemaVersion", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = fmt_check_array_member(mi, "", "messages", FMT_REQUIRED, true, &msgs, e);
	if (rc)
		return rc;
	n = json_object_array_length(msgs);
	for (size_t i = 0; i < n; i++) {
		json_object *msg = json_object_array_get_idx(msgs, i);

		snprintf(path, sizeof(path), "messages[%zu]", i);
		rc = fmt_check_turn(path, i, msg, prev, e);
		if (!rc)
			rc = nova_check_blocks(msg, path, "content", FMT_REQUIRED, e);
		if (rc)
			return rc;
		prev = json_get_str(msg, "role");
	}
	rc = nova_check_blocks(mi, "", "system", FMT_OPTIONAL, e);
	if (!rc)
		rc = nova_check_config(mi, converse, e);
	return rc;
}

static int nova_validate(json_object *mi, struct err *e)
{
	return nova_validate_common(mi, false, e);
}

static int converse_validate(json_object *mi, struct err *e)
{
	return nova_validate_common(mi, true, e);
}

static void nova_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	size_t bytes = fmt_count_text(json_get(mi, "system")) +
		       fmt_count_messages(json_get(mi, "messages"));

	*in = fmt_tokens_bytes(bytes);
	*max_out = fmt_max_tokens(json_get(mi, "inferenceConfig"), "maxTokens",
				  FMT_DEFAULT_MAX_TOKENS);
}

/*
 * nova_image_part reads an image block into p. Only inline bytes can be
 * sent elsewhere: an s3Location is readable by Bedrock alone.
 */
static int nova_image_part(json_object *img, const char *path, const char *target,
			   struct fmt_part *p, struct err *e)
{
	const char *format = json_get_str(img, "format");
	json_object *bytes = json_get(json_get(img, "source"), "bytes");

	memset(p, 0, sizeof(*p));
	p->kind = FMT_PART_IMAGE;
	if (!json_is_type(bytes, json_type_string))
		return err_set(e, ERR_INVAL,
			       "%s.image.source: only inline \"bytes\" can be sent to an %s backend",
			       path, target);
	for (size_t i = 0; nova_image_formats[i]; i++) {
		if (format && !strcmp(format, nova_image_formats[i])) {
			p->media.p = nova_image_media[i];
			p->media.n = strlen(nova_image_media[i]);
		}
	}
	p->data.p = json_object_get_string(bytes);
	p->data.n = (size_t)json_object_get_string_len(bytes);
	return 0;
}

/*
 * nova_add_block adds one content block to the current turn of c. A
 * cachePoint only marks a prompt-cache boundary and is dropped; blocks
 * with no counterpart (documents, tools, video) are refused.
 */
static int nova_add_block(json_object *block, const char *path, const char *target,
			  struct fmt_chat *c, struct err *e)
{
	json_object *text, *img;
	struct fmt_part p;
	int rc;

	if (fmt_member(block, "text", &text))
		return fmt_chat_text(c, json_object_get_string(text),
				     (size_t)json_object_get_string_len(text), e);
	if (fmt_member(block, "image", &img)) {
		rc = nova_image_part(img, path, target, &p, e);
		return rc ? rc : fmt_chat_part(c, &p, e);
	}
	if (fmt_member(block, "cachePoint", &img))
		return 0;
	json_object_object_foreach(block, key, val) {
		(void)val;
		return err_set(e, ERR_INVAL, "%s: a \"%s\" block cannot be sent to an %s backend",
			       path, key, target);
	}
	return 0;
}

/*
 * nova_to_chat reads a validated modelInput into c, which borrows its
 * texts from mi; the caller frees c with fmt_chat_free. target names the
 * backend kind for messages about blocks it cannot take.
 */
static int nova_to_chat(json_object *mi, bool converse, const char *target,
			struct fmt_chat *c, struct err *e)
{
	const struct fmt_sampling_keys keys = {"maxTokens", "temperature", "topP",
					       converse ? NULL : "topK", "stopSequences"};
	json_object *sys = json_get(mi, "system"), *msgs = json_get(mi, "messages");
	char path[64];
	size_t n;
	int rc = 0;

	fmt_sampling_read(json_get(mi, "inferenceConfig"), &keys, &c->s);
	n = json_is_type(sys, json_type_array) ? json_object_array_length(sys) : 0;
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *t = json_get(json_object_array_get_idx(sys, i), "text");

		/* System blocks other than text (guard content, cache points) carry no prompt. */
		if (json_is_type(t, json_type_string))
			rc = fmt_chat_system(c, json_object_get_string(t),
					     (size_t)json_object_get_string_len(t), e);
	}
	n = json_object_array_length(msgs);
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *msg = json_object_array_get_idx(msgs, i);
		json_object *content = json_get(msg, "content");
		size_t nb = json_object_array_length(content);

		rc = fmt_chat_turn(c, json_get_str(msg, "role"), e);
		for (size_t k = 0; k < nb && !rc; k++) {
			snprintf(path, sizeof(path), "messages[%zu].content[%zu]", i, k);
			rc = nova_add_block(json_object_array_get_idx(content, k), path, target, c, e);
		}
	}
	return rc;
}

/*
 * nova_to_wire_common builds the request; out->body is the caller's after
 * success. Bedrock takes the body as is; the other wires get the
 * conversation converted.
 */
static int nova_to_wire_common(const struct family *f, enum wire w, json_object *mi,
			       const char *upstream, struct wire_req *out, struct err *e)
{
	bool converse = f->id == FAM_CONVERSE;
	struct fmt_chat c;
	int rc;

	rc = fmt_check_wire(f, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK)
		return fmt_build_native(mi, converse ? "/converse" : "/invoke", out, e);
	/* The conversion relies on the shape that validation guarantees. */
	rc = nova_validate_common(mi, converse, e);
	if (rc)
		return rc;
	fmt_chat_init(&c);
	rc = nova_to_chat(mi, converse, fmt_wire_name(w), &c, e);
	if (rc)
		goto fail;
	if (w == WIRE_OPENAI)
		rc = fmt_build_openai_chat(&c, upstream, out, e);
	else
		rc = fmt_build_anthropic(&c, upstream, out, e);
fail:
	fmt_chat_free(&c);
	return rc;
}

static int nova_to_wire(enum wire w, json_object *mi, const char *upstream,
			struct wire_req *out, struct err *e)
{
	return nova_to_wire_common(&fmt_family_nova, w, mi, upstream, out, e);
}

static int converse_to_wire(enum wire w, json_object *mi, const char *upstream,
			    struct wire_req *out, struct err *e)
{
	return nova_to_wire_common(&fmt_family_converse, w, mi, upstream, out, e);
}

/*
 * nova_put_output writes the answer in Bedrock's shape. Converse also
 * reports its latency; barge does not time single requests here, so it
 * says 0 rather than invent a number.
 */
static void nova_put_output(const struct fmt_result *res, bool converse, struct buf *out)
{
	buf_puts(out, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":");
	buf_put_json_str(out, res->text.data ? res->text.data : "", res->text.len);
	buf_puts(out, "}]}}");
	fmt_put_cstr(out, "stopReason", fmt_stop_nova(res->stop));
	fmt_key(out, "usage");
	buf_putc(out, '{');
	fmt_put_i64(out, "inputTokens", res->input_tokens);
	fmt_put_i64(out, "outputTokens", res->output_tokens);
	fmt_put_i64(out, "totalTokens", res->input_tokens + res->output_tokens);
	buf_putc(out, '}');
	if (converse)
		buf_puts(out, ",\"metrics\":{\"latencyMs\":0}");
	buf_putc(out, '}');
}

/*
 * nova_from_wire_common appends the family's modelOutput to out and fills
 * u. Bedrock's answer is the modelOutput itself.
 */
static int nova_from_wire_common(const struct family *f, enum wire w,
				 const struct wire_resp *r, struct buf *out, struct usage *u,
				 struct err *e)
{
	struct fmt_result res;
	json_object *usage;
	int rc;

	rc = fmt_check_wire(f, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK) {
		rc = fmt_native_answer(r, "output", json_type_object, e);
		if (rc)
			return rc;
		usage = json_get(r->body, "usage");
		fmt_usage_fill(u, r, fmt_get_i64(usage, "inputTokens"),
			       fmt_get_i64(usage, "outputTokens"));
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_answer(w, true, r, &res, e);
	if (rc)
		goto fail;
	nova_put_output(&res, f->id == FAM_CONVERSE, out);
	u->input_tokens = res.input_tokens;
	u->output_tokens = res.output_tokens;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

static int nova_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
			  const char *model, struct buf *out, struct usage *u, struct err *e)
{
	(void)mi;
	(void)model;
	return nova_from_wire_common(&fmt_family_nova, w, r, out, u, e);
}

static int converse_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
			      const char *model, struct buf *out, struct usage *u,
			      struct err *e)
{
	(void)mi;
	(void)model;
	return nova_from_wire_common(&fmt_family_converse, w, r, out, u, e);
}

const struct family fmt_family_nova = {
	.name = "nova",
	.id = FAM_NOVA,
	.embeddings = false,
	.validate = nova_validate,
	.estimate = nova_estimate,
	.to_wire = nova_to_wire,
	.from_wire = nova_from_wire,
};

const struct family fmt_family_converse = {
	.name = "converse",
	.id = FAM_CONVERSE,
	.embeddings = false,
	.validate = converse_validate,
	.estimate = nova_estimate,
	.to_wire = converse_to_wire,
	.from_wire = converse_from_wire,
};
