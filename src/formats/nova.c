/* nova.c - the nova and converse families: Bedrock's messages-v1 and Converse bodies. */
#include "formats/common.h"

#include <string.h>

#include "util/json.h"

/*
 * Nova's InvokeModel body and the Converse API share their shape: messages
 * of content blocks such as {"text": ...}, a system list of the same
 * blocks, and an inferenceConfig. They differ in the path on Bedrock, in
 * schemaVersion and topK (Nova only), and in the "metrics" of the answer
 * (Converse only), so one set of functions serves both, told apart by
 * their specs.
 */

/* The image formats of Bedrock's image blocks and their media types. */
static const char *const nova_image_formats[] = {"png", "jpeg", "gif", "webp", NULL};
static const char *const nova_image_media[] = {"image/png", "image/jpeg", "image/gif",
					       "image/webp"};

/* The settings of inferenceConfig; topK is Nova's alone. */
static const struct fmt_sampling_keys nova_keys = {
	.max_tokens = "maxTokens",
	.temperature = "temperature",
	.top_p = "topP",
	.top_k = "topK",
	.stop = "stopSequences",
};

static const struct fmt_sampling_keys converse_keys = {
	.max_tokens = "maxTokens",
	.temperature = "temperature",
	.top_p = "topP",
	.stop = "stopSequences",
};

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
		rc = fmt_check_object_member(img, item, "source", FMT_REQUIRED, NULL, e);
	return rc;
}

/* nova_check_blocks checks an array of blocks at key of o, non-empty when required. */
static int nova_check_blocks(json_object *o, const char *parent, const char *key, int req,
			     struct err *e)
{
	char path[64];
	json_object *arr;
	int rc;

	rc = fmt_check_array_member(o, parent, key, req, req == FMT_REQUIRED, &arr, e);
	if (rc || !arr)
		return rc;
	fmt_path(path, sizeof(path), parent, key);
	return fmt_check_items(arr, path, nova_check_block, e);
}

/* nova_check_content checks the content of a message. */
static int nova_check_content(json_object *msg, const char *path, struct err *e)
{
	return nova_check_blocks(msg, path, "content", FMT_REQUIRED, e);
}

/*
 * nova_validate checks a Nova or Converse body as s describes it:
 * alternating messages of content blocks, optional system blocks and an
 * optional inferenceConfig.
 */
static int nova_validate(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc && s->family->id == FAM_NOVA)
		rc = fmt_check_string(mi, "", "schemaVersion", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = fmt_check_messages(mi, true, nova_check_content, e);
	if (!rc)
		rc = nova_check_blocks(mi, "", "system", FMT_OPTIONAL, e);
	if (!rc)
		rc = fmt_check_settings(s, mi, e);
	return rc;
}

/*
 * nova_image_part reads an image block into p. Only inline bytes can be
 * sent elsewhere: an s3Location is readable by Bedrock alone.
 */
static int nova_image_part(json_object *img, const char *path, enum wire w,
			   struct fmt_part *p, struct err *e)
{
	const char *format = json_get_str(img, "format");
	json_object *bytes = json_get(json_get(img, "source"), "bytes");

	memset(p, 0, sizeof(*p));
	p->kind = FMT_PART_IMAGE;
	if (!json_is_type(bytes, json_type_string))
		return err_set(e, ERR_INVAL,
			       "%s.image.source: only inline \"bytes\" can be sent to an %s backend",
			       path, fmt_wire_name(w));
	for (size_t i = 0; nova_image_formats[i]; i++) {
		if (format && !strcmp(format, nova_image_formats[i])) {
			p->media.p = nova_image_media[i];
			p->media.n = strlen(nova_image_media[i]);
		}
	}
	p->data = fmt_str_json(bytes);
	return 0;
}

/*
 * nova_add_block adds one content block to the current turn of c. A
 * cachePoint only marks a prompt-cache boundary and is dropped; blocks
 * with no counterpart (documents, tools, video) are refused.
 */
static int nova_add_block(json_object *block, const char *path, enum wire w,
			  struct fmt_chat *c, struct err *e)
{
	json_object *text, *img;
	struct fmt_part p;
	int rc;

	if (fmt_member(block, "text", &text))
		return fmt_chat_text(c, fmt_str_json(text), e);
	if (fmt_member(block, "image", &img)) {
		rc = nova_image_part(img, path, w, &p, e);
		return rc ? rc : fmt_chat_part(c, &p, e);
	}
	if (fmt_member(block, "cachePoint", &img))
		return 0;
	json_object_object_foreach(block, key, val) {
		(void)val;
		return err_set(e, ERR_INVAL, "%s: a \"%s\" block cannot be sent to an %s backend",
			       path, key, fmt_wire_name(w));
	}
	return 0;
}

/*
 * nova_put_output writes the answer in Bedrock's shape. Converse also
 * reports its latency; barge does not time single requests here, so it
 * says 0 rather than invent a number.
 */
static void nova_put_output(const struct fmt_spec *s, const struct fmt_result *res,
			    const char *model, struct buf *out)
{
	(void)model;
	buf_puts(out, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{");
	fmt_put_str(out, "text", res->text.data, res->text.len);
	buf_puts(out, "}]}}");
	fmt_put_cstr(out, "stopReason", fmt_stop_nova(res->stop));
	fmt_put_usage(out, res, "inputTokens", "outputTokens", "totalTokens");
	if (s->family->id == FAM_CONVERSE)
		buf_puts(out, ",\"metrics\":{\"latencyMs\":0}");
	buf_putc(out, '}');
}

/*
 * NOVA_SPEC describes nova or converse, which differ only in the family,
 * the settings they know and the path on Bedrock. Bedrock takes the body
 * as it is, and its answer is the modelOutput itself; the other wires get
 * the conversation converted.
 */
#define NOVA_SPEC(fam, sampling, bedrock_path)                                                 \
	{                                                                                      \
		.family = &(fam),                                                              \
		.validate = nova_validate,                                                     \
		.text = "system",                                                              \
		.messages = "messages",                                                        \
		.settings = "inferenceConfig",                                                 \
		.keys = &(sampling),                                                           \
		.path = {[WIRE_BEDROCK] = (bedrock_path)},                                     \
		.to_chat = fmt_chat_messages,                                                  \
		.add_block = nova_add_block,                                                   \
		.bedrock = {                                                                   \
			.key = "output",                                                       \
			.type = json_type_object,                                              \
			.input_tokens = {"/usage", "inputTokens"},                             \
			.output_tokens = {"/usage", "outputTokens"},                           \
		},                                                                             \
		.put = nova_put_output,                                                        \
	}

static const struct fmt_spec nova_spec = NOVA_SPEC(fmt_family_nova, nova_keys, "/invoke");
static const struct fmt_spec converse_spec =
	NOVA_SPEC(fmt_family_converse, converse_keys, "/converse");

FMT_DEFINE_FAMILY(fmt_family_nova, "nova", FAM_NOVA, false, nova_spec);
FMT_DEFINE_FAMILY(fmt_family_converse, "converse", FAM_CONVERSE, false, converse_spec);
