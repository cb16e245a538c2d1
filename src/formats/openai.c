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

/* openai_check_parts checks a content array of typed parts. */
static int openai_check_parts(json_object *arr, const char *path, struct err *e)
{
	char item[128], sub[160];
	size_t n = json_object_array_length(arr);
	json_object *img;
	const char *type;
	int rc;

	for (size_t i = 0; i < n; i++) {
		json_object *part = json_object_array_get_idx(arr, i);

		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		if (!json_is_type(part, json_type_object))
			return fmt_fail(e, item, NULL, "a content part object", part);
		rc = fmt_check_string(part, item, "type", FMT_REQUIRED, true, e);
		if (rc)
			return rc;
		type = json_get_str(part, "type");
		if (!strcmp(type, "text")) {
			rc = fmt_check_string(part, item, "text", FMT_REQUIRED, false, e);
		} else if (!strcmp(type, "image_url")) {
			rc = fmt_check_object_member(part, item, "image_url", FMT_REQUIRED, e);
			if (rc)
				return rc;
			fmt_member(part, "image_url", &img);
			fmt_path(sub, sizeof(sub), item, "image_url");
			rc = fmt_check_string(img, sub, "url", FMT_REQUIRED, true, e);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * openai_check_message checks one chat message. Content is a string or an
 * array of parts; an assistant turn that only calls tools may have none.
 */
static int openai_check_message(json_object *msg, const char *path, struct err *e)
{
	static const char expect[] = "a string or a non-empty array of content parts";
	json_object *content;
	char item[96];
	const char *role;
	int rc;

	if (!json_is_type(msg, json_type_object))
		return fmt_fail(e, path, NULL, "an object with \"role\" and \"content\"", msg);
	rc = fmt_check_enum(msg, path, "role", FMT_REQUIRED, openai_roles, e);
	if (rc)
		return rc;
	role = json_get_str(msg, "role");
	if (!fmt_member(msg, "content", &content)) {
		if (!strcmp(role, "assistant"))
			return 0;
		fmt_path(item, sizeof(item), path, "content");
		return err_set(e, ERR_INVAL, "%s: is missing; it must be %s", item, expect);
	}
	if (json_is_type(content, json_type_array) && json_object_array_length(content)) {
		fmt_path(item, sizeof(item), path, "content");
		rc = openai_check_parts(content, item, e);
	} else if (!json_is_type(content, json_type_string)) {
		rc = fmt_fail(e, path, "content", expect, content);
	}
	if (!rc && !strcmp(role, "tool"))
		rc = fmt_check_string(msg, path, "tool_call_id", FMT_REQUIRED, true, e);
	return rc;
}

/* openai_chat_validate checks a /v1/chat/completions body as a batch can run it. */
static int openai_chat_validate(json_object *mi, struct err *e)
{
	json_object *msgs;
	char path[48];
	size_t n;
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_array_member(mi, "", "messages", FMT_REQUIRED, true, &msgs, e);
	if (rc)
		return rc;
	n = json_object_array_length(msgs);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "messages[%zu]", i);
		rc = openai_check_message(json_object_array_get_idx(msgs, i), path, e);
		if (rc)
			return rc;
	}
	rc = fmt_check_int(mi, "", "max_tokens", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_completion_tokens", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = openai_check_generation(mi, e);
	return rc;
}

/* openai_check_texts checks a string or a non-empty array of strings at key. */
static int openai_check_texts(json_object *mi, const char *key, bool nonempty,
			      struct err *e)
{
	const char *expect = nonempty ? "a non-empty string or an array of non-empty strings"
				      : "a string or an array of strings";
	char item[64];
	json_object *v;
	size_t n;

	if (!fmt_member(mi, key, &v))
		return err_set(e, ERR_INVAL, "%s: is missing; it must be %s", key, expect);
	if (json_is_type(v, json_type_string)) {
		if (nonempty && json_object_get_string_len(v) == 0)
			return fmt_fail(e, key, NULL, expect, v);
		return 0;
	}
	if (!json_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return fmt_fail(e, key, NULL, expect, v);
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(v, i);

		snprintf(item, sizeof(item), "%s[%zu]", key, i);
		if (!json_is_type(s, json_type_string) ||
		    (nonempty && json_object_get_string_len(s) == 0))
			return fmt_fail(e, item, NULL,
					nonempty ? "a non-empty string" : "a string", s);
	}
	return 0;
}

/* openai_completions_validate checks a /v1/completions body as a batch can run it. */
static int openai_completions_validate(json_object *mi, struct err *e)
{
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = openai_check_texts(mi, "prompt", false, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "max_tokens", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = openai_check_generation(mi, e);
	return rc;
}

/* openai_embeddings_validate checks a /v1/embeddings body. */
static int openai_embeddings_validate(json_object *mi, struct err *e)
{
	static const char *const formats[] = {"float", "base64", NULL};
	int rc;

	rc = fmt_check_object(mi, e);
	if (!rc)
		rc = fmt_check_string(mi, "", "model", FMT_OPTIONAL, false, e);
	if (!rc)
		rc = openai_check_texts(mi, "input", true, e);
	if (!rc)
		rc = fmt_check_int(mi, "", "dimensions", FMT_OPTIONAL, 1, FMT_NO_MAX, e);
	if (!rc)
		rc = fmt_check_enum(mi, "", "encoding_format", FMT_OPTIONAL, formats, e);
	return rc;
}

/* openai_max_out is max_completion_tokens, else the older max_tokens. */
static int64_t openai_max_out(json_object *mi)
{
	return fmt_max_tokens(mi, "max_completion_tokens",
			      fmt_max_tokens(mi, "max_tokens", FMT_DEFAULT_MAX_TOKENS));
}

static void openai_chat_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_messages(json_get(mi, "messages")));
	*max_out = openai_max_out(mi);
}

static void openai_completions_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_text(json_get(mi, "prompt")));
	*max_out = fmt_max_tokens(mi, "max_tokens", FMT_DEFAULT_MAX_TOKENS);
}

static void openai_embeddings_estimate(json_object *mi, int64_t *in, int64_t *max_out)
{
	*in = fmt_tokens_bytes(fmt_count_text(json_get(mi, "input")));
	*max_out = 0;
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
		return sys ? fmt_chat_system(c, json_object_get_string(content),
					     (size_t)json_object_get_string_len(content), e)
			   : fmt_chat_text(c, json_object_get_string(content),
					   (size_t)json_object_get_string_len(content), e);
	n = json_object_array_length(content);
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *part = json_object_array_get_idx(content, i);
		const char *type = json_get_str(part, "type");
		json_object *text = json_get(part, "text");
		struct fmt_part img;

		snprintf(item, sizeof(item), "%s.content[%zu]", path, i);
		if (!strcmp(type, "text")) {
			const char *t = json_object_get_string(text);
			size_t tn = (size_t)json_object_get_string_len(text);

			rc = sys ? fmt_chat_system(c, t, tn, e) : fmt_chat_text(c, t, tn, e);
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
 * texts from mi; the caller frees c with fmt_chat_free. System and
 * developer messages become the system prompt wherever they stand. Tool
 * traffic has no place in a text conversation and is refused.
 */
static int openai_chat_to_chat(json_object *mi, struct fmt_chat *c, struct err *e)
{
	static const struct fmt_sampling_keys keys = {NULL, "temperature", "top_p", "top_k",
						      "stop"};
	json_object *msgs = json_get(mi, "messages"), *content, *calls;
	size_t n = json_object_array_length(msgs);
	char path[48];
	int rc = 0;

	fmt_sampling_read(mi, &keys, &c->s);
	c->s.max_tokens = openai_max_out(mi);
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
 * openai_completion_to_chat turns a completion body into one user turn.
 * An array of prompts asks for one answer per prompt, which a single
 * message cannot give, so only a one-element array is taken.
 */
static int openai_completion_to_chat(json_object *mi, struct fmt_chat *c, struct err *e)
{
	static const struct fmt_sampling_keys keys = {"max_tokens", "temperature", "top_p",
						      "top_k", "stop"};
	json_object *prompt = json_get(mi, "prompt");
	size_t n;
	int rc;

	fmt_sampling_read(mi, &keys, &c->s);
	if (json_is_type(prompt, json_type_array)) {
		n = json_object_array_length(prompt);
		if (n != 1)
			return err_set(e, ERR_INVAL,
				       "prompt: an array of %zu prompts cannot be sent to an "
				       "anthropic backend, which answers one prompt per request",
				       n);
		prompt = json_object_array_get_idx(prompt, 0);
	}
	rc = fmt_chat_turn(c, "user", e);
	if (!rc)
		rc = fmt_chat_text(c, json_object_get_string(prompt),
				   (size_t)json_object_get_string_len(prompt), e);
	return rc;
}

/* openai_path is the OpenAI endpoint of a family. */
static const char *openai_path(const struct family *f)
{
	if (f->id == FAM_OPENAI_CHAT)
		return "/chat/completions";
	if (f->id == FAM_OPENAI_COMPLETIONS)
		return "/completions";
	return "/embeddings";
}

/*
 * openai_to_wire_common builds the request; out->body is the caller's
 * after success. On its own wire the body passes through with the upstream
 * model name; the Anthropic API gets a converted message.
 */
static int openai_to_wire_common(const struct family *f, enum wire w, json_object *mi,
				 const char *upstream, struct wire_req *out, struct err *e)
{
	struct fmt_chat c;
	int rc;

	rc = fmt_check_wire(f, w, e);
	if (rc)
		return rc;
	if (w == WIRE_OPENAI)
		return fmt_build_renamed(mi, openai_path(f), upstream, NULL, out, e);
	/* The conversion relies on the shape that validation guarantees. */
	rc = f->validate(mi, e);
	if (rc)
		return rc;
	fmt_chat_init(&c);
	if (f->id == FAM_OPENAI_CHAT)
		rc = openai_chat_to_chat(mi, &c, e);
	else
		rc = openai_completion_to_chat(mi, &c, e);
	if (!rc)
		rc = fmt_build_anthropic(&c, upstream, out, e);
	fmt_chat_free(&c);
	return rc;
}

static int openai_chat_to_wire(enum wire w, json_object *mi, const char *upstream,
			       struct wire_req *out, struct err *e)
{
	return openai_to_wire_common(&fmt_family_openai_chat, w, mi, upstream, out, e);
}

static int openai_completions_to_wire(enum wire w, json_object *mi, const char *upstream,
				      struct wire_req *out, struct err *e)
{
	return openai_to_wire_common(&fmt_family_openai_completions, w, mi, upstream, out, e);
}

static int openai_embeddings_to_wire(enum wire w, json_object *mi, const char *upstream,
				     struct wire_req *out, struct err *e)
{
	return openai_to_wire_common(&fmt_family_openai_embeddings, w, mi, upstream, out, e);
}

/*
 * openai_put_answer writes a chat.completion (chat) or text_completion
 * built from an Anthropic answer, as OpenAI would have returned it.
 */
static void openai_put_answer(const struct fmt_result *res, bool chat, const char *model,
			      struct buf *out)
{
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
	fmt_key(out, "usage");
	buf_putc(out, '{');
	fmt_put_i64(out, "prompt_tokens", res->input_tokens);
	fmt_put_i64(out, "completion_tokens", res->output_tokens);
	fmt_put_i64(out, "total_tokens", res->input_tokens + res->output_tokens);
	buf_puts(out, "}}");
}

/*
 * openai_from_wire_common appends the modelOutput to out and fills u. From
 * an OpenAI-compatible backend it is the answer itself; from the Anthropic
 * API it is rebuilt in OpenAI's shape.
 */
static int openai_from_wire_common(const struct family *f, enum wire w,
				   const struct wire_resp *r, const char *model,
				   struct buf *out, struct usage *u, struct err *e)
{
	bool chat = f->id == FAM_OPENAI_CHAT;
	struct fmt_result res;
	json_object *usage;
	int rc;

	rc = fmt_check_wire(f, w, e);
	if (rc)
		return rc;
	if (w == WIRE_OPENAI) {
		rc = fmt_native_answer(r, f->embeddings ? "data" : "choices", json_type_array, e);
		if (rc)
			return rc;
		usage = json_get(r->body, "usage");
		fmt_usage_fill(u, r, fmt_get_i64(usage, "prompt_tokens"),
			       f->embeddings ? 0 : fmt_get_i64(usage, "completion_tokens"));
		json_put(out, r->body);
		return fmt_put_done(out, e);
	}
	fmt_result_init(&res);
	rc = fmt_read_answer(w, chat, r, &res, e);
	if (rc)
		goto fail;
	openai_put_answer(&res, chat, model, out);
	u->input_tokens = res.input_tokens;
	u->output_tokens = res.output_tokens;
	rc = fmt_put_done(out, e);
fail:
	fmt_result_free(&res);
	return rc;
}

static int openai_chat_from_wire(enum wire w, json_object *mi, const struct wire_resp *r,
				 const char *model, struct buf *out, struct usage *u,
				 struct err *e)
{
	(void)mi;
	return openai_from_wire_common(&fmt_family_openai_chat, w, r, model, out, u, e);
}

static int openai_completions_from_wire(enum wire w, json_object *mi,
					const struct wire_resp *r, const char *model,
					struct buf *out, struct usage *u, struct err *e)
{
	(void)mi;
	return openai_from_wire_common(&fmt_family_openai_completions, w, r, model, out, u, e);
}

static int openai_embeddings_from_wire(enum wire w, json_object *mi,
				       const struct wire_resp *r, const char *model,
				       struct buf *out, struct usage *u, struct err *e)
{
	(void)mi;
	return openai_from_wire_common(&fmt_family_openai_embeddings, w, r, model, out, u, e);
}

const struct family fmt_family_openai_chat = {
	.name = "openai-chat",
	.id = FAM_OPENAI_CHAT,
	.embeddings = false,
	.validate = openai_chat_validate,
	.estimate = openai_chat_estimate,
	.to_wire = openai_chat_to_wire,
	.from_wire = openai_chat_from_wire,
};

const struct family fmt_family_openai_completions = {
	.name = "openai-completions",
	.id = FAM_OPENAI_COMPLETIONS,
	.embeddings = false,
	.validate = openai_completions_validate,
	.estimate = openai_completions_estimate,
	.to_wire = openai_completions_to_wire,
	.from_wire = openai_completions_from_wire,
};

const struct family fmt_family_openai_embeddings = {
	.name = "openai-embeddings",
	.id = FAM_OPENAI_EMBEDDINGS,
	.embeddings = true,
	.validate = openai_embeddings_validate,
	.estimate = openai_embeddings_estimate,
	.to_wire = openai_embeddings_to_wire,
	.from_wire = openai_embeddings_from_wire,
};
