/* anthropic_messages.c - the anthropic-messages family: Claude Messages bodies as on Bedrock. */
#include "formats/common.h"

#include <string.h>

#include "util/json.h"

/*
 * The content block types Bedrock accepts in Claude messages. Only text
 * and images have a counterpart on an OpenAI-compatible backend; the others
 * pass through unchanged on the Anthropic and Bedrock wires.
 */
static const char *const anthropic_block_types[] = {"text", "image", "document", "tool_use",
						    "tool_result", NULL};

static const struct fmt_sampling_keys anthropic_keys = {
	.max_tokens = "max_tokens",
	.temperature = "temperature",
	.top_p = "top_p",
	.top_k = "top_k",
	.stop = "stop_sequences",
};

/* anthropic_check_block checks one content block; path names it for messages. */
static int anthropic_check_block(json_object *block, const char *path, struct err *e)
{
	const char *type;
	int rc;

	rc = fmt_check_kind(block, path, "a content block object", "type", anthropic_block_types,
			    &type, e);
	if (rc)
		return rc;
	if (!strcmp(type, "text"))
		return fmt_check_string(block, path, "text", FMT_REQUIRED, true, e);
	if (!strcmp(type, "image") || !strcmp(type, "document"))
		return fmt_check_object_member(block, path, "source", FMT_REQUIRED, NULL, e);
	if (!strcmp(type, "tool_use")) {
		rc = fmt_check_string(block, path, "id", FMT_REQUIRED, true, e);
		if (!rc)
			rc = fmt_check_string(block, path, "name", FMT_REQUIRED, true, e);
		if (!rc)
			rc = fmt_check_object_member(block, path, "input", FMT_REQUIRED, NULL, e);
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
	return fmt_check_list(msg, path, "content",
			      "a non-empty string or a non-empty array of content blocks", true,
			      anthropic_check_block, e);
}

/* anthropic_check_system_block checks one block of a system array: a text block. */
static int anthropic_check_system_block(json_object *block, const char *path, struct err *e)
{
	static const char *const text_only[] = {"text", NULL};
	int rc;

	rc = fmt_check_kind(block, path, "a text block object", "type", text_only, NULL, e);
	if (!rc)
		rc = fmt_check_string(block, path, "text", FMT_REQUIRED, false, e);
	return rc;
}

/* anthropic_check_system checks "system": a string or an array of text blocks. */
static int anthropic_check_system(json_object *mi, struct err *e)
{
	json_object *sys;

	if (!fmt_member(mi, "system", &sys) || json_is_type(sys, json_type_string))
		return 0;
	if (!json_is_type(sys, json_type_array))
		return fmt_fail(e, "system", NULL, "a string or an array of text blocks", sys);
	return fmt_check_items(sys, "system", anthropic_check_system_block, e);
}

/*
 * anthropic_validate applies Bedrock's rules for Claude: max_tokens and
 * alternating messages are required, sampling settings are bounded, and
 * unknown members (metadata, tools, ...) are left to the model.
 */
static int anthropic_validate(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "anthropic_version", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_REQUIRED, 1, FMT_MAX_TOKENS_CAP, e);
	if (!rc)
		rc = fmt_check_messages(mi, true, anthropic_check_content, e);
	if (!rc)
		rc = anthropic_check_system(mi, e);
	if (!rc)
		rc = fmt_check_settings(s, mi, e);
	return rc;
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
		p->media = fmt_str_json(media);
		p->data = fmt_str_json(data);
		return 0;
	}
	if (type && !strcmp(type, "url") && json_is_type(url, json_type_string)) {
		p->url = fmt_str_json(url);
		return 0;
	}
	return err_set(e, ERR_INVAL,
		       "%s.source: only base64 and url images can be sent to an openai backend",
		       path);
}

/*
 * anthropic_add_block adds one content block of a validated message to
 * the current turn of c; blocks other than text and images are refused.
 */
static int anthropic_add_block(json_object *block, const char *path, enum wire w,
			       struct fmt_chat *c, struct err *e)
{
	const char *type = json_get_str(block, "type");
	struct fmt_part img;
	int rc;

	if (!strcmp(type, "text"))
		return fmt_chat_text(c, fmt_str_json(json_get(block, "text")), e);
	if (!strcmp(type, "image")) {
		rc = anthropic_image_part(block, path, &img, e);
		return rc ? rc : fmt_chat_part(c, &img, e);
	}
	return err_set(e, ERR_INVAL, "%s: a \"%s\" block cannot be sent to an %s backend", path,
		       type, fmt_wire_name(w));
}

/*
 * anthropic_put_message writes a Message built from a neutral answer to
 * out: the shape Bedrock returns for Claude.
 */
static void anthropic_put_message(const struct fmt_spec *s, const struct fmt_result *res,
				  const char *model, struct buf *out)
{
	(void)s;
	buf_putc(out, '{');
	fmt_put_id(out, "id", "msg_", res->id);
	fmt_put_cstr(out, "type", "message");
	fmt_put_cstr(out, "role", "assistant");
	fmt_put_cstr(out, "model", model);
	fmt_key(out, "content");
	buf_puts(out, "[{");
	fmt_put_cstr(out, "type", "text");
	fmt_put_str(out, "text", res->text.data, res->text.len);
	buf_puts(out, "}]");
	fmt_put_cstr(out, "stop_reason", fmt_stop_anthropic(res->stop));
	if (res->stop == FMT_STOP_SEQUENCE && res->stop_sequence)
		fmt_put_cstr(out, "stop_sequence", res->stop_sequence);
	else
		fmt_put_json(out, "stop_sequence", NULL);
	fmt_put_usage(out, res, "input_tokens", "output_tokens", NULL);
	buf_putc(out, '}');
}

/*
 * The Anthropic API gets the body itself minus the members it takes as
 * headers, Bedrock gets it unchanged, and an OpenAI-compatible backend gets
 * the equivalent chat completion. A Message from Bedrock or the Anthropic
 * API already has the family's shape and is kept as is.
 */
static const struct fmt_spec anthropic_spec = {
	.family = &fmt_family_anthropic_messages,
	.validate = anthropic_validate,
	.text = "system",
	.messages = "messages",
	.keys = &anthropic_keys,
	.path = {[WIRE_ANTHROPIC] = "/messages", [WIRE_BEDROCK] = "/invoke"},
	.to_chat = fmt_chat_messages,
	.add_block = anthropic_add_block,
	.bedrock = {
		.key = "content",
		.type = json_type_array,
		.input_tokens = {"/usage", "input_tokens"},
		.output_tokens = {"/usage", "output_tokens"},
	},
	.put = anthropic_put_message,
};

FMT_DEFINE_FAMILY(fmt_family_anthropic_messages, "anthropic-messages", FAM_ANTHROPIC_MESSAGES,
		  false, anthropic_spec);
