/* openai.c - the openai-chat, openai-completions and openai-embeddings families. */
#include "formats/common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

/*
 * These families are the request bodies of OpenAI's /v1/chat/completions,
 * /v1/completions and /v1/embeddings. An OpenAI-compatible backend gets
 * them with "model" replaced by the upstream name and answers with the
 * modelOutput itself. The Anthropic API gets chat and completions converted
 * to a message; Bedrock's InvokeModel has no place for them at all.
 */

/* OpenAI takes at most this many stop sequences. */
#define OPENAI_MAX_STOP 4

static const char *const openai_roles[] = {"system", "developer", "user", "assistant",
					   "tool", NULL};

/* Chat reads max_completion_tokens, and the older max_tokens when it is absent. */
static const struct fmt_sampling_keys openai_chat_keys = {
	.max_tokens = "max_completion_tokens",
	.max_tokens_old = "max_tokens",
	.temperature = "temperature",
	.top_p = "top_p",
	.top_k = "top_k",
	.stop = "stop",
};

/*
 * openai_check_generation checks the settings chat and completions share.
 * n and stream are limited by batching, not by OpenAI: a batch result
 * holds one answer and is written whole, so it can neither hold several
 * choices nor stream.
 */
static int openai_check_generation(json_object *mi, struct err *e)
{
	json_object *v;
	int64_t n;
	int rc;

	rc = fmt_check_string(mi, "", "model", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "temperature", FMT_OPTIONAL, 0, 2, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "top_p", FMT_OPTIONAL, 0, 1, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "presence_penalty", FMT_OPTIONAL, -2, 2, e);
	if (!rc)
		rc = fmt_check_number(mi, "", "frequency_penalty", FMT_OPTIONAL, -2, 2, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "top_k", FMT_OPTIONAL, -1, FMT_NO_MAX, e);
	if (rc)
		return rc;
	if (fmt_member(mi, "n", &v) && !(json_get_int64(mi, "n", &n) && n == 1))
		return fmt_fail(e, "n", NULL, "1 (a batch result holds one answer)", v);
	if (fmt_member(mi, "stream", &v) &&
	    !(json_is_type(v, json_type_boolean) && !json_object_get_boolean(v)))
		return fmt_fail(e, "stream", NULL, "false or absent (a batch cannot stream)", v);
	if (fmt_member(mi, "stop", &v) && !json_is_type(v, json_type_string)) {
		if (!json_is_type(v, json_type_array))
			return fmt_fail(e, "stop", NULL, "a string or an array of up to 4 strings",
					v);
		return fmt_check_string_array(mi, "", "stop", OPENAI_MAX_STOP, e);
	}
	return 0;
}

/* openai_check_part checks one typed part of a message's content array. */
static int openai_check_part(json_object *part, const char *path, struct err *e)
{
	char sub[160];
	json_object *img;
	const char *type;
	int rc;

	rc = fmt_check_kind(part, path, "a content part object", "type", NULL, &type, e);
	if (rc)
		return rc;
	if (!strcmp(type, "text"))
		return fmt_check_string(part, path, "text", FMT_REQUIRED, false, e);
	if (strcmp(type, "image_url"))
		return 0;
	rc = fmt_check_object_member(part, path, "image_url", FMT_REQUIRED, &img, e);
	if (rc)
		return rc;
	fmt_path(sub, sizeof(sub), path, "image_url");
	return fmt_check_string(img, sub, "url", FMT_REQUIRED, true, e);
}

/*
 * openai_check_message checks one chat message. Content is a string or an
 * array of parts; an assistant turn that only calls tools may have none.
 */
static int openai_check_message(json_object *msg, const char *path, struct err *e)
{
	json_object *content;
	const char *role;
	int rc;

	rc = fmt_check_kind(msg, path, "an object with \"role\" and \"content\"", "role",
			    openai_roles, &role, e);
	if (rc)
		return rc;
	if (!strcmp(role, "assistant") && !fmt_member(msg, "content", &content))
		return 0;
	rc = fmt_check_list(msg, path, "content", "a string or a non-empty array of content parts",
			    false, openai_check_part, e);
	if (!rc && !strcmp(role, "tool"))
		rc = fmt_check_string(msg, path, "tool_call_id", FMT_REQUIRED, true, e);
	return rc;
}

/* openai_chat_validate checks a /v1/chat/completions body as a batch can run it. */
static int openai_chat_validate(const struct fmt_spec *s, json_object *mi, struct err *e)
{
	int rc;

	(void)s;
	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_messages(mi, false, openai_check_message, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_OPTIONAL, 1, FMT_MAX_TOKENS_CAP, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_completion_tokens", FMT_OPTIONAL, 1, FMT_MAX_TOKENS_CAP, e);
	if (!rc)
		rc = openai_check_generation(mi, e);
	return rc;
}

/* openai_completions_validate checks a /v1/completions body as a batch can run it. */
static int openai_completions_validate(const struct fmt_spec *s, json_object *mi,
				       struct err *e)
{
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_list(mi, "", s->text, "a string or an array of strings", false,
				    NULL, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_OPTIONAL, 1, FMT_MAX_TOKENS_CAP, e);
	if (!rc)
		rc = openai_check_generation(mi, e);
	return rc;
}

/* openai_embeddings_validate checks a /v1/embeddings body. */
static int openai_embeddings_validate(const struct fmt_spec *s, json_object *mi,
				      struct err *e)
{
	static const char *const formats[] = {"float", "base64", NULL};
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "model", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = fmt_check_list(mi, "", s->text,
				    "a non-empty string or an array of non-empty strings", true,
				    NULL, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "dimensions", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_enum(mi, "", "encoding_format", FMT_OPTIONAL, formats, e);
	return rc;
}

/*
 * openai_image_part reads an image_url part into p: a base64 data URL
 * becomes an inline image, an http(s) URL an image by address.
 */
static int openai_image_part(json_object *part, const char *path, struct fmt_part *p,
			     struct err *e)
{
	const char *url = json_get_str(json_get(part, "image_url"), "url");
	const char *mark;

	memset(p, 0, sizeof(*p));
	p->kind = FMT_PART_IMAGE;
	if (url && !strncmp(url, "data:", 5) && (mark = strstr(url, ";base64,"))) {
		p->media.p = url + 5;
		p->media.n = (size_t)(mark - url - 5);
		p->data.p = mark + 8;
		p->data.n = strlen(mark + 8);
		return 0;
	}
	if (url && (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))) {
		p->url.p = url;
		p->url.n = strlen(url);
		return 0;
	}
	return err_set(e, ERR_INVAL,
		       "%s.image_url.url: only base64 data URLs and http(s) URLs can be sent to "
		       "an anthropic backend",
		       path);
}

/* openai_add_text adds text to the system prompt when sys, else to the current turn. */
static int openai_add_text(json_object *text, bool sys, struct fmt_chat *c, struct err *e)
{
	if (sys)
		return fmt_chat_system(c, fmt_str_json(text), e);
	return fmt_chat_text(c, fmt_str_json(text), e);
}

/*
 * openai_add_content adds a message's content to c: to the system text
 * when sys, else to the current turn. Parts other than text and images
 * (audio, files) have no Messages API form.
 */
static int openai_add_content(json_object *content, const char *path, bool sys,
			      struct fmt_chat *c, struct err *e)
{
	char item[96];
	size_t n;
	int rc = 0;

	if (json_is_type(content, json_type_string))
		return openai_add_text(content, sys, c, e);
	n = json_object_array_length(content);
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *part = json_object_array_get_idx(content, i);
		const char *type = json_get_str(part, "type");
		struct fmt_part img;

		snprintf(item, sizeof(item), "%s.content[%zu]", path, i);
		if (!strcmp(type, "text")) {
			rc = openai_add_text(json_get(part, "text"), sys, c, e);
		} else if (!strcmp(type, "image_url") && !sys) {
			rc = openai_image_part(part, item, &img, e);
			if (!rc)
				rc = fmt_chat_part(c, &img, e);
		} else {
			rc = err_set(e, ERR_INVAL,
				     "%s: a \"%s\" part cannot be sent to an anthropic backend", item,
				     type);
		}
	}
	return rc;
}

/*
 * openai_chat_to_chat reads a validated chat body into c, which borrows its
 * texts from mi. System and developer messages become the system prompt
 * wherever they stand. Tool traffic has no place in a text conversation
 * and is refused.
 */
static int openai_chat_to_chat(const struct fmt_spec *s, json_object *mi, enum wire w,
			       struct fmt_chat *c, struct err *e)
{
	json_object *msgs = json_get(mi, s->messages), *content, *calls;
	size_t n = json_object_array_length(msgs);
	char path[48];
	int rc = 0;

	(void)w;
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *msg = json_object_array_get_idx(msgs, i);
		const char *role = json_get_str(msg, "role");
		bool sys = !strcmp(role, "system") || !strcmp(role, "developer");

		snprintf(path, sizeof(path), "messages[%zu]", i);
		if (!strcmp(role, "tool") || fmt_member(msg, "tool_calls", &calls))
			return err_set(e, ERR_INVAL,
				       "%s: tool calls and results cannot be sent to an anthropic "
				       "backend",
				       path);
		if (!fmt_member(msg, "content", &content))
			continue;
		if (!sys)
			rc = fmt_chat_turn(c, role, e);
		if (!rc)
			rc = openai_add_content(content, path, sys, c, e);
	}
	return rc;
}

/*
 * openai_put_answer writes a chat.completion (chat) or text_completion
 * built from an Anthropic answer, as OpenAI would have returned it.
 */
static void openai_put_answer(const struct fmt_spec *s, const struct fmt_result *res,
			      const char *model, struct buf *out)
{
	bool chat = s->family->id == FAM_OPENAI_CHAT;

	buf_putc(out, '{');
	fmt_put_id(out, "id", chat ? "chatcmpl-" : "cmpl-", res->id);
	fmt_put_cstr(out, "object", chat ? "chat.completion" : "text_completion");
	fmt_put_i64(out, "created", (int64_t)time(NULL));
	fmt_put_cstr(out, "model", model);
	fmt_key(out, "choices");
	buf_puts(out, "[{\"index\":0");
	if (chat) {
		fmt_key(out, "message");
		buf_putc(out, '{');
		fmt_put_cstr(out, "role", "assistant");
		fmt_put_str(out, "content", res->text.data, res->text.len);
		fmt_put_json(out, "refusal", NULL);
		buf_putc(out, '}');
	} else {
		fmt_put_str(out, "text", res->text.data, res->text.len);
	}
	fmt_put_json(out, "logprobs", NULL);
	fmt_put_cstr(out, "finish_reason", fmt_stop_openai(res->stop));
	buf_puts(out, "}]");
	fmt_put_usage(out, res, "prompt_tokens", "completion_tokens", "total_tokens");
	buf_putc(out, '}');
}

/*
 * On its own wire each OpenAI family's body passes through with the
 * upstream model name, and the answer is the modelOutput itself. The
 * Anthropic API gets chat and completions converted to a message, and its
 * answer is rebuilt in OpenAI's shape.
 */
static const struct fmt_spec openai_chat_spec = {
	.family = &fmt_family_openai_chat,
	.validate = openai_chat_validate,
	.messages = "messages",
	.keys = &openai_chat_keys,
	.path = {[WIRE_OPENAI] = "/chat/completions"},
	.to_chat = openai_chat_to_chat,
	.put = openai_put_answer,
};

static const struct fmt_spec openai_completions_spec = {
	.family = &fmt_family_openai_completions,
	.validate = openai_completions_validate,
	.text = "prompt",
	.keys = &fmt_openai_keys,
	.path = {[WIRE_OPENAI] = "/completions"},
	.prompt = true,
	.put = openai_put_answer,
};

static const struct fmt_spec openai_embeddings_spec = {
	.family = &fmt_family_openai_embeddings,
	.validate = openai_embeddings_validate,
	.text = "input",
	.path = {[WIRE_OPENAI] = "/embeddings"},
};

FMT_DEFINE_FAMILY(fmt_family_openai_chat, "openai-chat", FAM_OPENAI_CHAT, false,
		  openai_chat_spec);
FMT_DEFINE_FAMILY(fmt_family_openai_completions, "openai-completions", FAM_OPENAI_COMPLETIONS,
		  false, openai_completions_spec);
FMT_DEFINE_FAMILY(fmt_family_openai_embeddings, "openai-embeddings", FAM_OPENAI_EMBEDDINGS,
		  true, openai_embeddings_spec);

