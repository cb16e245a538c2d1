/* anthropic_messages.c - the anthropic-messages family: Claude Messages bodies as on Bedrock. */
#include "formats/common.h"

#include <stdio.h>
#include <string.h>

#include "util/json.h"

/*
 * The content block types Bedrock accepts in Claude messages. Only text
 * and images have a counterpart on an OpenAI-compatible backend; the others
 * pass through unchanged on the Anthropic and Bedrock wires.
 */
static const char *const anthropic_block_types[] = {"text", "image", "document", "tool_use",
						    "tool_result", NULL};

/*
 * Members that Bedrock reads from the body but the Anthropic API takes as
 * headers (anthropic-version, anthropic-beta): the API refuses them in a
 * body, so they are left out.
 */
static const char *const anthropic_bedrock_only[] = {"anthropic_version", "anthropic_beta",
						     NULL};

/* anthropic_check_block checks one content block; path names it for messages. */
static int anthropic_check_block(json_object *block, const char *path, struct err *e)
{
	const char *type;
	int rc;

	if (!json_is_type(block, json_type_object))
		return fmt_fail(e, path, NULL, "a content block object", block);
	rc = fmt_check_enum(block, path, "type", FMT_REQUIRED, anthropic_block_types, e);
	if (rc)
		return rc;
	type = json_get_str(block, "type");
	if (!strcmp(type, "text"))
		return fmt_check_string(block, path, "text", FMT_REQUIRED, true, e);
	if (!strcmp(type, "image") || !strcmp(type, "document"))
		return fmt_check_object_member(block, path, "source", FMT_REQUIRED, e);
	if (!strcmp(type, "tool_use")) {
		rc = fmt_check_string(block, path, "id", FMT_REQUIRED, true, e);
		if (!rc)
			rc = fmt_check_string(block, path, "name", FMT_REQUIRED, true, e);
		if (!rc)
			rc = fmt_check_object_member(block, path, "input", FMT_REQUIRED, e);
		return rc;
	}
	return fmt_check_string(block, path, "tool_use_id", FMT_REQUIRED, true, e);
}

/*
 * anthropic_check_content checks a message's content: a non-empty string
 * or a non-empty array of blocks.
 */
static int anthropic_check_content(json_object *msg, const char *path, struct err *e)
{
	static const char expect[] = "a non-empty string or a non-empty array of content blocks";
	char item[128];
	json_object *content;
	size_t n;
	int rc;

	if (!fmt_member(msg, "content", &content)) {
		fmt_path(item, sizeof(item), path, "content");
		return err_set(e, ERR_INVAL, "%s: is missing; it must be %s", item, expect);
	}
	if (json_is_type(content, json_type_string)) {
		if (json_object_get_string_len(content) == 0)
			return fmt_fail(e, path, "content", expect, content);
		return 0;
	}
	if (!json_is_type(content, json_type_array) || json_object_array_length(content) == 0)
		return fmt_fail(e, path, "content", expect, content);
	n = json_object_array_length(content);
	for (size_t i = 0; i < n; i++) {
		snprintf(item, sizeof(item), "%s.content[%zu]", path, i);
		rc = anthropic_check_block(json_object_array_get_idx(content, i), item, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* anthropic_check_system checks "system": a string or an array of text blocks. */
static int anthropic_check_system(json_object *mi, struct err *e)
{
	static const char *const text_only[] = {"text", NULL};
	char item[64];
	json_object *sys;
	size_t n;
	int rc;

	if (!fmt_member(mi, "system", &sys) || json_is_type(sys, json_type_string))
		return 0;
	if (!json_is_type(sys, json_type_array))
		return fmt_fail(e, "system", NULL, "a string or an array of text blocks", sys);
	n = json_object_array_length(sys);
	for (size_t i = 0; i < n; i++) {
		json_object *block = json_object_array_get_idx(sys, i);

		snprintf(item, sizeof(item), "system[%zu]", i);
		if (!json_is_type(block, json_type_object))
			return fmt_fail(e, item, NULL, "a text block object", block);
		rc = fmt_check_enum(block, item, "type", FMT_REQUIRED, text_only, e);
		if (!rc)
			rc = fmt_check_string(block, item, "text", FMT_REQUIRED, false, e);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * anthropic_validate applies Bedrock's rules for Claude: max_tokens and
 * alternating messages are required, sampling settings are bounded, and
 * unknown members (metadata, tools, ...) are left to the model.
 */
static int anthropic_validate(json_object *mi, struct err *e)
{
	json_object *msgs;
	const char *prev = NULL;
	char path[48];
	size_t n;
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "anthropic_version", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_REQUIRED, 1, FMT_NO_MAX, e);
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
			rc = anthropic_check_content(msg, path, e);
		if (rc)
			return rc;
		prev = json_get_str(msg, "role");
	}
	rc = anthropic_check_system(mi, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "temperature", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "top_p", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "top_k", FMT_OPTIONAL, 0, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_string_array(mi, "", "stop_sequences", 0, e);
	return rc;
}

/* anthropic_estimate counts the system prompt and every message's text. */
static void anthropic_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	size_t bytes = fmt_count_text(json_get(mi, "system")) +
		       fmt_count_messages(json_get(mi, "messages"));

	*in = fmt_tokens_bytes(bytes);
	*max_out = fmt_max_tokens(mi, "max_tokens", FMT_DEFAULT_MAX_TOKENS);
}

/*
 * anthropic_image_part reads an image block's source into p. Base64 and
 * URL sources have an OpenAI form; a Files API reference does not.
 */
static int anthropic_image_part(json_object *block, const char *path, struct fmt_part *p,
				struct err *e)
{
	json_object *src = json_get(block, "source");
	const char *type = json_get_str(src, "type");
	json_object *media = json_get(src, "media_type"), *data = json_get(src, "data");
	json_object *url = json_get(src, "url");

	memset(p, 0, sizeof(*p));
	p->kind = FMT_PART_IMAGE;
	if (type && !strcmp(type, "base64") && json_is_type(media, json_type_string) &&
	    json_is_type(data, json_type_string)) {
		p->media.p = json_object_get_string(media);
		p->media.n = (size_t)json_object_get_string_len(media);
		p->data.p = json_object_get_string(data);
		p->data.n = (size_t)json_object_get_string_len(data);
		return 0;
	}
	if (type && !strcmp(type, "url") && json_is_type(url, json_type_string)) {
		p->url.p = json_object_get_string(url);
		p->url.n = (size_t)json_object_get_string_len(url);
		return 0;
	}
	return err_set(e, ERR_INVAL,
		       "%s.source: only base64 and url images can be sent to an openai backend",
		       path);
}

/* anthropic_add_content adds a message's content to the current turn of c. */
static int anthropic_add_content(json_object *content, size_t idx, struct fmt_chat *c,
				 struct err *e)
{
	char path[64];
	size_t n;
	int rc;

	if (json_is_type(content, json_type_string))
		return fmt_chat_text(c, json_object_get_string(content),
				     (size_t)json_object_get_string_len(content), e);
	n = json_object_array_length(content);
	for (size_t i = 0; i < n; i++) {
		json_object *block = json_object_array_get_idx(content, i);
		const char *type = json_get_str(block, "type");
		json_object *text = json_get(block, "text");
		struct fmt_part img;

		snprintf(path, sizeof(path), "messages[%zu].content[%zu]", idx, i);
		if (!strcmp(type, "text")) {
			rc = fmt_chat_text(c, json_object_get_string(text),
					   (size_t)json_object_get_string_len(text), e);
		} else if (!strcmp(type, "image")) {
			rc = anthropic_image_part(block, path, &img, e);
			if (!rc)
				rc = fmt_chat_part(c, &img, e);
		} else {
			rc = err_set(e, ERR_INVAL,
				     "%s: a \"%s\" block cannot be sent to an openai backend", path,
				     type);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * anthropic_to_chat reads a validated modelInput into c, which borrows
 * its texts from mi; the caller frees c with fmt_chat_free.
 */
static int anthropic_to_chat(json_object *mi, struct fmt_chat *c, struct err *e)
{
	static const struct fmt_sampling_keys keys = {"max_tokens", "temperature", "top_p",
						      "top_k", "stop_sequences"};
	json_object *sys = json_get(mi, "system"), *msgs = json_get(mi, "messages");
	size_t n;
	int rc = 0;

	fmt_sampling_read(mi, &keys, &c->s);
	if (json_is_type(sys, json_type_string)) {
		rc = fmt_chat_system(c, json_object_get_string(sys),
				     (size_t)json_object_get_string_len(sys), e);
	} else if (json_is_type(sys, json_type_array)) {
		n = json_object_array_length(sys);
		for (size_t i = 0; i < n && !rc; i++) {
			json_object *t = json_get(json_object_array_get_idx(sys, i), "text");

			rc = fmt_chat_system(c, json_object_get_string(t),
					     (size_t)json_object_get_string_len(t), e);
		}
	}
	n = json_object_array_length(msgs);
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *msg = json_object_array_get_idx(msgs, i);

		rc = fmt_chat_turn(c, json_get_str(msg, "role"), e);
		if (!rc)
			rc = anthropic_add_content(json_get(msg, "content"), i, c, e);
	}
	return rc;
}

/*
 * anthropic_to_wire builds the request; out->body is the caller's after
 * success. The Anthropic API gets the body itself minus the members it
 * takes as headers, Bedrock gets it unchanged, and an OpenAI-compatible
 * backend gets the equivalent chat completion.
 */
static int anthropic_to_wire(enum wire w, json_object *mi, const char *upstream,
			     struct wire_req *out, struct err *e)
{
	struct fmt_chat c;
	int rc;

	rc = fmt_check_wire(&fmt_family_anthropic_messages, w, e);
	if (rc)
		return rc;
	if (w == WIRE_BEDROCK)
		return fmt_build_native(mi, "/invoke", out, e);
	if (w == WIRE_ANTHROPIC) {
		/* The Messages API refuses a request without max_tokens. */
		rc = fmt_check_int(mi, "", "max_tokens", FMT_REQUIRED, 1, FMT_NO_MAX, e);
		if (rc)
			return rc;
		return fmt_build_renamed(mi, "/messages", upstream, anthropic_bedrock_only, out, e);
	}
	/* The conversion relies on the shape that validation guarantees. */
	rc = anthropic_validate(mi, e);
	if (rc)
		return rc;
	fmt_chat_init(&c);
	rc = anthropic_to_chat(mi, &c, e);
	if (rc)
		goto fail;
	rc = fmt_build_openai_chat(&c, upstream, out, e);
fail:
	fmt_chat_free(&c);
	return rc;
}

/*
 * anthropic_put_message writes a Message built from a neutral answer to
 * out: the shape Bedrock returns for Claude.
 */
static void anthropic_put_message(const struct fmt_result *res, const char *model,
				  struct buf *out)
{
	buf_putc(out, '{');
	fmt_put_id(out, "id", "msg_", res->id);
	fmt_put_cstr(out, "type", "message");
	fmt_put_cstr(out, "role", "assistant");
	fmt_put_cstr(out, "model", model);
	fmt_key(out, "content");
	buf_puts(out, "[{\"type\":\"text\",\"text\":");
	buf_put_json_str(out, res->text.data ? res->text.data : "", res->text.len);
	buf_puts(out, "}]");
	fmt_put_cstr(out, "stop_reason", fmt_stop_anthropic(res->stop));
	if (res->stop == FMT_STOP_SEQUENCE && res->stop_sequence)
		fmt_put_cstr(out, "stop_sequence", res->stop_sequence);
	else
		fmt_put_json(out, "stop_sequence", NULL);
	fmt_key(out, "usage");
	buf_putc(out, '{');
	fmt_put_i64(out, "input_tokens", res->input_tokens);
	fmt_put_i64(out, "output_tokens", res->output_tokens);
	buf_puts(out, "}}");
}

/*
 * anthropic_from_wire appends the Message to out. A Message from Bedrock
 * or the Anthropic API already has the family's shape and is kept as is.
 */
static int anthropic_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
			       const char *model, struct buf *out, struct usage *u,
			       struct err *e)
{
	struct fmt_result res;
	json_object *usage;
	int rc;

	(void)mi;
	rc = fmt_check_wire(&fmt_family_anthropic_messages, w, e);
	if (rc)
		return rc;
	if (w != WIRE_OPENAI) {
		rc = fmt_native_answer(r, "content", json_type_array, e);
		if (rc)
			return rc;
		usage = json_get(r->body, "usage");
		fmt_usage_fill(u, r, fmt_get_i64(usage, "input_tokens"),
			       fmt_get_i64(usage, "output_tokens"));
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_answer(w, true, r, &res, e);
	if (rc)
		goto fail;
	anthropic_put_message(&res, model, out);
	u->input_tokens = res.input_tokens;
	u->output_tokens = res.output_tokens;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

const struct family fmt_family_anthropic_messages = {
	.name = "anthropic-messages",
	.id = FAM_ANTHROPIC_MESSAGES,
	.embeddings = false,
	.validate = anthropic_validate,
	.estimate = anthropic_estimate,
	.to_wire = anthropic_to_wire,
	.from_wire = anthropic_from_wire,
};
