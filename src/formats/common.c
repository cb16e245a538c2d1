/* common.c - what the model-family adapters share: estimates, neutral requests and answers. */
#include "formats/common.h"

#include <json-c/json_pointer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/json.h"

/* spec_settings returns the object of mi that holds the sampling settings. */
static json_object *spec_settings(const struct fmt_spec *s, json_object *mi)
{
	return s->settings ? json_get(mi, s->settings) : mi;
}

/* ---- estimates ---- */

int fmt_walk_text(json_object *v, family_text_fn *fn, void *ud)
{
	size_t n;
	int rc;

	if (json_is_type(v, json_type_string))
		return fn(v, ud);
	if (!json_is_type(v, json_type_array))
		return 0;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(v, i);
		json_object *t = json_get(x, "text");

		if (json_is_type(x, json_type_string))
			rc = fn(x, ud);
		else if (json_is_type(t, json_type_string))
			rc = fn(t, ud);
		else
			rc = 0;
		if (rc)
			return rc;
	}
	return 0;
}

int fmt_walk_messages(json_object *msgs, family_text_fn *fn, void *ud)
{
	size_t n;
	int rc;

	if (!json_is_type(msgs, json_type_array))
		return 0;
	n = json_object_array_length(msgs);
	for (size_t i = 0; i < n; i++) {
		rc = fmt_walk_text(json_get(json_object_array_get_idx(msgs, i), "content"), fn, ud);
		if (rc)
			return rc;
	}
	return 0;
}

int fmt_spec_walk_texts(const struct fmt_spec *s, json_object *mi, family_text_fn *fn, void *ud)
{
	int rc = 0;

	if (s->text)
		rc = fmt_walk_text(json_get(mi, s->text), fn, ud);
	if (!rc && s->messages)
		rc = fmt_walk_messages(json_get(mi, s->messages), fn, ud);
	return rc;
}

/* count_bytes adds a text's length to the size_t at ud. */
static int count_bytes(json_object *str, void *ud)
{
	*(size_t *)ud += (size_t)json_object_get_string_len(str);
	return 0;
}

/* read_max_tokens reads a max-tokens member, or def when it is absent. */
static int64_t read_max_tokens(json_object *o, const char *key, int64_t def)
{
	int64_t v;

	/* Capped, so that the estimate of a record that failed validation stays summable. */
	if (key && json_get_int64(o, key, &v) && v >= 1)
		return v < FMT_MAX_TOKENS_CAP ? v : FMT_MAX_TOKENS_CAP;
	return def;
}

/* sampling_max_tokens reads max tokens under the names of k, or the default. */
static int64_t sampling_max_tokens(json_object *o, const struct fmt_sampling_keys *k)
{
	return read_max_tokens(o, k->max_tokens,
			       read_max_tokens(o, k->max_tokens_old, FMT_DEFAULT_MAX_TOKENS));
}

/* ---- neutral requests ---- */

/* sampling_read fills s from the members of o named by k. */
static void sampling_read(json_object *o, const struct fmt_sampling_keys *k,
			  struct fmt_sampling *s)
{
	json_object *stop = NULL;

	memset(s, 0, sizeof(*s));
	s->max_tokens = sampling_max_tokens(o, k);
	if (k->temperature)
		fmt_member(o, k->temperature, &s->temperature);
	if (k->top_p)
		fmt_member(o, k->top_p, &s->top_p);
	if (k->top_k)
		fmt_member(o, k->top_k, &s->top_k);
	/* An empty list of stop sequences means none: leave it out of requests. */
	if (k->stop && fmt_member(o, k->stop, &stop) &&
	    !(json_is_type(stop, json_type_array) && json_object_array_length(stop) == 0))
		s->stop = stop;
}

/* chat_init empties c, whose output budget starts at the default. */
static void chat_init(struct fmt_chat *c)
{
	memset(c, 0, sizeof(*c));
	c->s.max_tokens = FMT_DEFAULT_MAX_TOKENS;
}

/* chat_free frees the arrays; the borrowed spans stay the input's. */
static void chat_free(struct fmt_chat *c)
{
	free(c->system);
	free(c->turns);
	free(c->parts);
	memset(c, 0, sizeof(*c));
}

/* grow makes room for one more element of size sz in the array at *p. */
static int grow(void **p, size_t *cap, size_t len, size_t sz, struct err *e)
{
	size_t ncap;
	void *q;

	if (len < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	q = realloc(*p, ncap * sz);
	if (!q)
		return err_set(e, ERR_NOMEM, "out of memory converting a request");
	*p = q;
	*cap = ncap;
	return 0;
}

struct fmt_str fmt_str_json(json_object *s)
{
	struct fmt_str str = {json_object_get_string(s), (size_t)json_object_get_string_len(s)};

	return str;
}

int fmt_chat_system(struct fmt_chat *c, struct fmt_str text, struct err *e)
{
	int rc = grow((void **)&c->system, &c->cap_system, c->nsystem, sizeof(*c->system), e);

	if (rc)
		return rc;
	c->system[c->nsystem++] = text;
	return 0;
}

int fmt_chat_turn(struct fmt_chat *c, const char *role, struct err *e)
{
	int rc;

	if (c->nturns && !strcmp(c->turns[c->nturns - 1].role, role))
		return 0;
	rc = grow((void **)&c->turns, &c->cap_turns, c->nturns, sizeof(*c->turns), e);
	if (rc)
		return rc;
	c->turns[c->nturns].role = !strcmp(role, "assistant") ? "assistant" : "user";
	c->turns[c->nturns].first = c->nparts;
	c->turns[c->nturns].count = 0;
	c->nturns++;
	return 0;
}

int fmt_chat_part(struct fmt_chat *c, const struct fmt_part *p, struct err *e)
{
	int rc;

	if (!c->nturns)
		return err_set(e, ERR_INTERNAL, "a message part was added before any turn");
	rc = grow((void **)&c->parts, &c->cap_parts, c->nparts, sizeof(*c->parts), e);
	if (rc)
		return rc;
	c->parts[c->nparts++] = *p;
	c->turns[c->nturns - 1].count++;
	return 0;
}

int fmt_chat_text(struct fmt_chat *c, struct fmt_str text, struct err *e)
{
	struct fmt_part part = {.kind = FMT_PART_TEXT, .text = text};

	return fmt_chat_part(c, &part, e);
}

/*
 * chat_system_texts adds a system prompt: a string, or the string "text"
 * of each block of an array. Other blocks (guard content, cache points)
 * carry no prompt.
 */
static int chat_system_texts(struct fmt_chat *c, json_object *sys, struct err *e)
{
	size_t n;
	int rc = 0;

	if (json_is_type(sys, json_type_string))
		return fmt_chat_system(c, fmt_str_json(sys), e);
	n = json_is_type(sys, json_type_array) ? json_object_array_length(sys) : 0;
	for (size_t i = 0; i < n && !rc; i++) {
		json_object *t = json_get(json_object_array_get_idx(sys, i), "text");

		if (json_is_type(t, json_type_string))
			rc = fmt_chat_system(c, fmt_str_json(t), e);
	}
	return rc;
}

/* chat_content adds the content of message idx to the current turn of c. */
static int chat_content(const struct fmt_spec *s, json_object *content, size_t idx, enum wire w,
			struct fmt_chat *c, struct err *e)
{
	char path[64];
	size_t n;
	int rc = 0;

	if (json_is_type(content, json_type_string))
		return fmt_chat_text(c, fmt_str_json(content), e);
	n = json_object_array_length(content);
	for (size_t k = 0; k < n && !rc; k++) {
		snprintf(path, sizeof(path), "messages[%zu].content[%zu]", idx, k);
		rc = s->add_block(json_object_array_get_idx(content, k), path, w, c, e);
	}
	return rc;
}

int fmt_chat_messages(const struct fmt_spec *s, json_object *mi, enum wire w,
		      struct fmt_chat *c, struct err *e)
{
	json_object *msgs = json_get(mi, s->messages);
	size_t n = json_object_array_length(msgs);
	int rc = chat_system_texts(c, json_get(mi, s->text), e);

	for (size_t i = 0; i < n && !rc; i++) {
		json_object *msg = json_object_array_get_idx(msgs, i);

		rc = fmt_chat_turn(c, json_get_str(msg, "role"), e);
		if (!rc)
			rc = chat_content(s, json_get(msg, "content"), i, w, c, e);
	}
	return rc;
}

/*
 * chat_prompt reads the body of a prompt family as one user turn. An array
 * of prompts asks for one answer per prompt, which a single message cannot
 * give, so only a one-element array is taken.
 */
static int chat_prompt(const struct fmt_spec *s, json_object *mi, enum wire w,
		       struct fmt_chat *c, struct err *e)
{
	json_object *prompt = json_get(mi, s->text);
	size_t n;
	int rc;

	if (json_is_type(prompt, json_type_array)) {
		n = json_object_array_length(prompt);
		if (n != 1)
			return err_set(e, ERR_INVAL,
				       "%s: an array of %zu prompts cannot be sent to an %s "
				       "backend, which answers one prompt per request",
				       s->text, n, fmt_wire_name(w));
		prompt = json_object_array_get_idx(prompt, 0);
	}
	rc = fmt_chat_turn(c, "user", e);
	if (!rc)
		rc = fmt_chat_text(c, fmt_str_json(prompt), e);
	return rc;
}

/*
 * req_finish hands the body in b to out (which then owns it) or, when b
 * failed on its cap or an allocation, frees it and says so.
 */
static int req_finish(struct buf *b, const char *path, struct wire_req *out, struct err *e)
{
	int code = b->err;

	out->path = path;
	out->body = NULL;
	out->body_len = 0;
	if (code) {
		buf_free(b);
		return err_set(e, code, "the request body for %s is too large to build", path);
	}
	out->body = buf_steal(b, &out->body_len);
	if (!out->body)
		return err_set(e, ERR_NOMEM, "out of memory building the request for %s", path);
	return 0;
}

/*
 * req_start opens the body of a request to a backend API in b. Each starts
 * with the model, which the API routes by; Bedrock names it in the path.
 */
static void req_start(struct buf *b, const char *upstream)
{
	buf_init(b, 0);
	buf_putc(b, '{');
	fmt_put_cstr(b, "model", upstream);
}

/*
 * put_scratch writes the text gathered in tmp as one JSON string and frees
 * tmp. Joined texts are gathered first because a JSON string must be
 * escaped as a whole.
 */
static void put_scratch(struct buf *b, struct buf *tmp)
{
	if (tmp->err)
		b->err = tmp->err;
	else
		buf_put_json_str(b, tmp->data ? tmp->data : "", tmp->len);
	buf_free(tmp);
}

/*
 * put_joined writes system texts as one string, one per line: dialects
 * without system blocks get them as one text.
 */
static void put_joined(struct buf *b, const struct fmt_str *spans, size_t n)
{
	struct buf tmp;

	buf_init(&tmp, b->max);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&tmp, '\n');
		buf_append(&tmp, spans[i].p, spans[i].n);
	}
	put_scratch(b, &tmp);
}

/* put_turn_text writes the text parts of a turn as one string, one per line. */
static void put_turn_text(struct buf *b, const struct fmt_chat *c, const struct fmt_turn *t)
{
	struct buf tmp;

	buf_init(&tmp, b->max);
	for (size_t i = 0; i < t->count; i++) {
		const struct fmt_str *s = &c->parts[t->first + i].text;

		if (i)
			buf_putc(&tmp, '\n');
		buf_append(&tmp, s->p, s->n);
	}
	put_scratch(b, &tmp);
}

/* put_data_url writes an inline image as a JSON "data:" URL string. */
static void put_data_url(struct buf *b, const struct fmt_part *p)
{
	struct buf tmp;

	if (!p->data.p) {
		buf_put_json_str(b, p->url.p, p->url.n);
		return;
	}
	buf_init(&tmp, b->max);
	buf_puts(&tmp, "data:");
	buf_append(&tmp, p->media.p, p->media.n);
	buf_puts(&tmp, ";base64,");
	buf_append(&tmp, p->data.p, p->data.n);
	put_scratch(b, &tmp);
}

/* only_text is true when a turn has no parts other than text. */
static bool only_text(const struct fmt_chat *c, const struct fmt_turn *t)
{
	for (size_t i = 0; i < t->count; i++)
		if (c->parts[t->first + i].kind != FMT_PART_TEXT)
			return false;
	return true;
}

/* put_openai_content writes a turn's "content": a string, or parts with images. */
static void put_openai_content(struct buf *b, const struct fmt_chat *c,
			       const struct fmt_turn *t)
{
	fmt_key(b, "content");
	if (only_text(c, t)) {
		put_turn_text(b, c, t);
		return;
	}
	buf_putc(b, '[');
	for (size_t i = 0; i < t->count; i++) {
		const struct fmt_part *p = &c->parts[t->first + i];

		if (i)
			buf_putc(b, ',');
		if (p->kind == FMT_PART_TEXT) {
			buf_puts(b, "{\"type\":\"text\",\"text\":");
			buf_put_json_str(b, p->text.p, p->text.n);
			buf_putc(b, '}');
		} else {
			buf_puts(b, "{\"type\":\"image_url\",\"image_url\":{\"url\":");
			put_data_url(b, p);
			buf_puts(b, "}}");
		}
	}
	buf_putc(b, ']');
}

const struct fmt_sampling_keys fmt_openai_keys = {
	.max_tokens = "max_tokens",
	.temperature = "temperature",
	.top_p = "top_p",
	.top_k = "top_k",
	.stop = "stop",
};

/*
 * put_openai_sampling writes the sampling settings under OpenAI's names.
 * top_k is not an OpenAI parameter, but vLLM, SGLang and llama.cpp take it
 * as an extra, so it is sent only when the input asked for it.
 */
static void put_openai_sampling(struct buf *b, const struct fmt_sampling *s)
{
	const struct fmt_sampling_keys *k = &fmt_openai_keys;

	fmt_put_i64(b, k->max_tokens, s->max_tokens);
	if (s->temperature)
		fmt_put_json(b, k->temperature, s->temperature);
	if (s->top_p)
		fmt_put_json(b, k->top_p, s->top_p);
	if (s->top_k)
		fmt_put_json(b, k->top_k, s->top_k);
	if (s->stop)
		fmt_put_json(b, k->stop, s->stop);
}

/* build_openai_chat builds a /chat/completions request of c. */
static int build_openai_chat(const struct fmt_chat *c, const char *upstream,
			     struct wire_req *out, struct err *e)
{
	struct buf b;

	req_start(&b, upstream);
	fmt_key(&b, "messages");
	buf_putc(&b, '[');
	if (c->nsystem) {
		buf_puts(&b, "{\"role\":\"system\",\"content\":");
		put_joined(&b, c->system, c->nsystem);
		buf_putc(&b, '}');
	}
	for (size_t i = 0; i < c->nturns; i++) {
		if (i || c->nsystem)
			buf_putc(&b, ',');
		buf_putc(&b, '{');
		fmt_put_cstr(&b, "role", c->turns[i].role);
		put_openai_content(&b, c, &c->turns[i]);
		buf_putc(&b, '}');
	}
	buf_putc(&b, ']');
	put_openai_sampling(&b, &c->s);
	buf_putc(&b, '}');
	return req_finish(&b, "/chat/completions", out, e);
}

/*
 * build_openai_completion builds a /completions request of c, the one user
 * turn of a prompt family.
 */
static int build_openai_completion(const struct fmt_chat *c, const char *upstream,
				   struct wire_req *out, struct err *e)
{
	struct buf b;

	req_start(&b, upstream);
	fmt_key(&b, "prompt");
	put_turn_text(&b, c, &c->turns[0]);
	put_openai_sampling(&b, &c->s);
	buf_putc(&b, '}');
	return req_finish(&b, "/completions", out, e);
}

/*
 * build_openai_embedding builds an /embeddings request of the text at
 * s->text. The size is sent only when the input chose one: servers reject
 * it for models that cannot shorten their vectors. encoding_format is
 * pinned to float because a base64 answer could not be written back as an
 * array of numbers.
 */
static int build_openai_embedding(const struct fmt_spec *s, json_object *mi,
				  const char *upstream, struct wire_req *out, struct err *e)
{
	json_object *text, *dims;
	struct buf b;

	fmt_member(mi, s->text, &text);
	req_start(&b, upstream);
	fmt_put_json(&b, "input", text);
	if (s->dimensions && fmt_member(mi, s->dimensions, &dims))
		fmt_put_json(&b, "dimensions", dims);
	fmt_put_cstr(&b, "encoding_format", "float");
	buf_putc(&b, '}');
	return req_finish(&b, "/embeddings", out, e);
}

/* put_anthropic_part writes one content block of the Messages API. */
static void put_anthropic_part(struct buf *b, const struct fmt_part *p)
{
	if (p->kind == FMT_PART_TEXT) {
		buf_puts(b, "{\"type\":\"text\",\"text\":");
		buf_put_json_str(b, p->text.p, p->text.n);
		buf_putc(b, '}');
		return;
	}
	buf_puts(b, "{\"type\":\"image\",\"source\":{");
	if (p->data.p) {
		fmt_put_cstr(b, "type", "base64");
		fmt_put_str(b, "media_type", p->media.p, p->media.n);
		fmt_put_str(b, "data", p->data.p, p->data.n);
	} else {
		fmt_put_cstr(b, "type", "url");
		fmt_put_str(b, "url", p->url.p, p->url.n);
	}
	buf_puts(b, "}}");
}

/*
 * put_anthropic_stop writes stop_sequences, which the Messages API wants
 * as an array even where the source allowed a single string.
 */
static void put_anthropic_stop(struct buf *b, json_object *stop)
{
	fmt_key(b, "stop_sequences");
	if (json_is_type(stop, json_type_string)) {
		buf_putc(b, '[');
		json_put(b, stop);
		buf_putc(b, ']');
	} else {
		json_put(b, stop);
	}
}

/* build_anthropic builds a /messages request of c. */
static int build_anthropic(const struct fmt_chat *c, const char *upstream,
			   struct wire_req *out, struct err *e)
{
	double t;
	struct buf b;

	req_start(&b, upstream);
	fmt_put_i64(&b, "max_tokens", c->s.max_tokens);
	if (c->nsystem) {
		fmt_key(&b, "system");
		put_joined(&b, c->system, c->nsystem);
	}
	fmt_key(&b, "messages");
	buf_putc(&b, '[');
	for (size_t i = 0; i < c->nturns; i++) {
		const struct fmt_turn *turn = &c->turns[i];
		bool first = true;

		if (i)
			buf_putc(&b, ',');
		buf_putc(&b, '{');
		fmt_put_cstr(&b, "role", turn->role);
		fmt_key(&b, "content");
		buf_putc(&b, '[');
		for (size_t k = 0; k < turn->count; k++) {
			const struct fmt_part *p = &c->parts[turn->first + k];

			/* The Messages API rejects empty text blocks outright. */
			if (p->kind == FMT_PART_TEXT && p->text.n == 0)
				continue;
			if (!first)
				buf_putc(&b, ',');
			put_anthropic_part(&b, p);
			first = false;
		}
		buf_puts(&b, "]}");
	}
	buf_putc(&b, ']');
	if (c->s.temperature) {
		/*
		 * OpenAI allows temperatures up to 2 but Anthropic only up to
		 * 1: the closest the backend can do is its own maximum.
		 */
		t = json_object_get_double(c->s.temperature);
		if (t > 1)
			fmt_put_i64(&b, "temperature", 1);
		else
			fmt_put_json(&b, "temperature", c->s.temperature);
	}
	if (c->s.top_p)
		fmt_put_json(&b, "top_p", c->s.top_p);
	/* vLLM's "top_k": -1 means no limit, which Anthropic says by omission. */
	if (c->s.top_k && json_object_get_int64(c->s.top_k) >= 0)
		fmt_put_json(&b, "top_k", c->s.top_k);
	if (c->s.stop)
		put_anthropic_stop(&b, c->s.stop);
	buf_putc(&b, '}');
	return req_finish(&b, "/messages", out, e);
}

/* build_native serializes mi as it is (Bedrock families on Bedrock). */
/* The bytes of a modelInput as written, when the caller has them. */
struct raw_body {
	const char *p;
	size_t n;
};

static int build_native(json_object *mi, const struct raw_body *raw, const char *path,
			struct wire_req *out, struct err *e)
{
	out->path = path;
	if (raw->p) {
		out->body = malloc(raw->n + 1);
		if (out->body) {
			memcpy(out->body, raw->p, raw->n);
			out->body[raw->n] = '\0';
			out->body_len = raw->n;
		}
	} else {
		out->body = json_dup_str(mi, &out->body_len);
	}
	if (!out->body)
		return err_set(e, ERR_NOMEM, "out of memory building the request for %s", path);
	return 0;
}

/* dropped is true when key is "model" or one of the NULL-terminated drop list. */
static bool dropped(const char *key, const char *const *drop)
{
	if (!strcmp(key, "model"))
		return true;
	for (size_t i = 0; drop && drop[i]; i++)
		if (!strcmp(key, drop[i]))
			return true;
	return false;
}

struct splice {
	struct buf *b;
	const char *const *drop;
	size_t members;
};

static int splice_member(const struct json_span *m, void *ud)
{
	struct splice *sp = ud;

	sp->members++;
	if (json_span_key_is(m, "model"))
		return 0;
	for (size_t i = 0; sp->drop && sp->drop[i]; i++) {
		if (json_span_key_is(m, sp->drop[i]))
			return 0;
	}
	buf_puts(sp->b, ",\"");
	buf_append(sp->b, m->key, m->key_len);
	buf_puts(sp->b, "\":");
	buf_append(sp->b, m->val, m->val_len);
	return 0;
}

/*
 * build_renamed writes mi with "model": upstream first and without its own
 * "model" or the members of the NULL-terminated list drop (which may itself
 * be NULL). With the raw bytes at hand, every other member is copied as
 * written; a body with a repeated key (which json-c collapsed) is
 * serialized instead, so that the backend sees what validation saw.
 */
static int build_renamed(json_object *mi, const struct raw_body *raw, const char *path,
			 const char *upstream, const char *const *drop, struct wire_req *out,
			 struct err *e)
{
	struct buf b;

	req_start(&b, upstream);
	if (raw->p) {
		struct splice sp = {&b, drop, 0};
		size_t mark = b.len;

		json_scan_object(raw->p, raw->n, splice_member, &sp);
		if (sp.members == (size_t)json_object_object_length(mi)) {
			buf_putc(&b, '}');
			return req_finish(&b, path, out, e);
		}
		b.len = mark;
	}
	json_object_object_foreach(mi, key, val) {
		if (!dropped(key, drop))
			fmt_put_json(&b, key, val);
	}
	buf_putc(&b, '}');
	return req_finish(&b, path, out, e);
}

/*
 * Members that Bedrock reads from the body but the Anthropic API takes as
 * headers (anthropic-version, anthropic-beta): the API refuses them in a
 * body, so they are left out.
 */
static const char *const anthropic_header_members[] = {"anthropic_version", "anthropic_beta",
						       NULL};

/* build_passed sends mi to a wire that takes the body itself. */
static int build_passed(enum wire w, json_object *mi, const struct raw_body *raw,
			const char *path, const char *upstream, struct wire_req *out,
			struct err *e)
{
	int rc;

	if (w == WIRE_BEDROCK)
		return build_native(mi, raw, path, out, e);
	if (w == WIRE_OPENAI)
		return build_renamed(mi, raw, path, upstream, NULL, out, e);
	/* The Messages API refuses a request without max_tokens. */
	rc = fmt_check_int(mi, "", "max_tokens", FMT_REQUIRED, 1, FMT_MAX_TOKENS_CAP, e);
	if (rc)
		return rc;
	return build_renamed(mi, raw, path, upstream, anthropic_header_members, out, e);
}

/* ---- neutral answers ---- */

/* result_init empties res: an ended turn whose token counts are not known yet. */
static void result_init(struct fmt_result *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, 0);
	res->stop = FMT_STOP_END;
	res->input_tokens = -1;
	res->output_tokens = -1;
}

/* result_free frees the text of res; the rest is borrowed from the answer. */
static void result_free(struct fmt_result *res)
{
	buf_free(&res->text);
}

/* get_i64 reads an integer at o.key, or -1 when there is none. */
static int64_t get_i64(json_object *o, const char *key)
{
	int64_t v;

	return json_get_int64(o, key, &v) ? v : -1;
}

/*
 * usage_fill sets u from counts found in a body (-1: none), falling back
 * to the response headers and then to 0.
 */
static void usage_fill(struct usage *u, const struct wire_resp *r, int64_t in, int64_t out)
{
	if (in < 0)
		in = r->hdr_input_tokens;
	if (out < 0)
		out = r->hdr_output_tokens;
	u->input_tokens = in < 0 ? 0 : in;
	u->output_tokens = out < 0 ? 0 : out;
}

/* remote reports an answer that lacks what the adapter needs. */
static int remote(struct err *e, const char *what)
{
	return err_set(e, ERR_REMOTE, "backend answer has no %s", what);
}

/* stop_from_openai and stop_from_anthropic map the stop reasons of answers. */
static enum fmt_stop stop_from_openai(const char *reason)
{
	if (!reason)
		return FMT_STOP_END;
	if (!strcmp(reason, "length"))
		return FMT_STOP_LENGTH;
	if (!strcmp(reason, "tool_calls") || !strcmp(reason, "function_call"))
		return FMT_STOP_TOOL;
	if (!strcmp(reason, "content_filter"))
		return FMT_STOP_FILTER;
	return FMT_STOP_END;
}

static enum fmt_stop stop_from_anthropic(const char *reason)
{
	if (!reason)
		return FMT_STOP_END;
	if (!strcmp(reason, "max_tokens"))
		return FMT_STOP_LENGTH;
	if (!strcmp(reason, "stop_sequence"))
		return FMT_STOP_SEQUENCE;
	if (!strcmp(reason, "tool_use"))
		return FMT_STOP_TOOL;
	if (!strcmp(reason, "refusal"))
		return FMT_STOP_FILTER;
	return FMT_STOP_END;
}

/*
 * first_choice returns choices[0] of an OpenAI answer, or NULL after
 * setting e.
 */
static json_object *first_choice(json_object *body, struct err *e)
{
	json_object *choices = json_get(body, "choices");

	if (!json_is_type(choices, json_type_array) || json_object_array_length(choices) == 0) {
		remote(e, "choices");
		return NULL;
	}
	return json_object_array_get_idx(choices, 0);
}

/*
 * read_openai_finish maps a choice's finish_reason. vLLM adds stop_reason,
 * the stop string that matched, which is the only way to tell a stop
 * sequence from the end of the turn on this wire.
 */
static void read_openai_finish(json_object *choice, struct fmt_result *res)
{
	const char *matched = json_get_str(choice, "stop_reason");

	res->stop = stop_from_openai(json_get_str(choice, "finish_reason"));
	if (res->stop == FMT_STOP_END && matched) {
		res->stop = FMT_STOP_SEQUENCE;
		res->stop_sequence = matched;
	}
}

/* read_openai_usage reads usage.prompt_tokens and completion_tokens, -1 if absent. */
static void read_openai_usage(json_object *body, struct fmt_result *res)
{
	json_object *usage = json_get(body, "usage");

	res->input_tokens = get_i64(usage, "prompt_tokens");
	res->output_tokens = get_i64(usage, "completion_tokens");
}

/*
 * read_openai_chat reads choices[0].message of a chat.completion into res;
 * res->text is res's own copy of the answer.
 */
static int read_openai_chat(json_object *body, struct fmt_result *res, struct err *e)
{
	json_object *choice = first_choice(body, e), *msg, *content;
	const char *refusal;

	if (!choice)
		return ERR_REMOTE;
	msg = json_get(choice, "message");
	if (!json_is_type(msg, json_type_object))
		return remote(e, "choices[0].message");
	content = json_get(msg, "content");
	refusal = json_get_str(msg, "refusal");
	read_openai_finish(choice, res);
	if (json_is_type(content, json_type_string)) {
		buf_append(&res->text, json_object_get_string(content),
			   (size_t)json_object_get_string_len(content));
	} else if (refusal) {
		/* OpenAI puts a refusal beside a null content: it is the answer. */
		buf_puts(&res->text, refusal);
		res->stop = FMT_STOP_FILTER;
	} else {
		return remote(e, "choices[0].message.content");
	}
	read_openai_usage(body, res);
	return 0;
}

/* read_openai_completion reads choices[0].text of a text_completion into res. */
static int read_openai_completion(json_object *body, struct fmt_result *res, struct err *e)
{
	json_object *choice = first_choice(body, e), *text;

	if (!choice)
		return ERR_REMOTE;
	text = json_get(choice, "text");
	if (!json_is_type(text, json_type_string))
		return remote(e, "choices[0].text");
	buf_append(&res->text, json_object_get_string(text),
		   (size_t)json_object_get_string_len(text));
	read_openai_finish(choice, res);
	read_openai_usage(body, res);
	return 0;
}

/*
 * anthropic_input counts the input tokens of an Anthropic usage object: the
 * uncached ones plus those written to and read from the prompt cache, which
 * the API reports apart (all are billed input). -1 when there is no count.
 */
static int64_t anthropic_input(json_object *usage)
{
	int64_t n = get_i64(usage, "input_tokens");
	int64_t w = get_i64(usage, "cache_creation_input_tokens");
	int64_t r = get_i64(usage, "cache_read_input_tokens");

	if (n < 0)
		return -1;
	return n + (w > 0 ? w : 0) + (r > 0 ? r : 0);
}

/*
 * read_anthropic reads a Message. Its text blocks are pieces of one answer
 * (citations split it, for one), so they are joined without a separator;
 * other blocks (tool_use, thinking) have no place in a text answer.
 */
static int read_anthropic(json_object *body, struct fmt_result *res, struct err *e)
{
	json_object *content = json_get(body, "content");
	json_object *usage = json_get(body, "usage");
	size_t n;

	if (!json_is_type(content, json_type_array))
		return remote(e, "content array");
	n = json_object_array_length(content);
	for (size_t i = 0; i < n; i++) {
		json_object *block = json_object_array_get_idx(content, i);
		const char *type = json_get_str(block, "type");
		json_object *text = json_get(block, "text");

		if (!type || strcmp(type, "text"))
			continue;
		if (!json_is_type(text, json_type_string))
			return err_set(e, ERR_REMOTE, "backend answer has no content[%zu].text", i);
		buf_append(&res->text, json_object_get_string(text),
			   (size_t)json_object_get_string_len(text));
	}
	res->stop = stop_from_anthropic(json_get_str(body, "stop_reason"));
	res->stop_sequence = json_get_str(body, "stop_sequence");
	/* Some servers say end_turn and name the stop sequence that matched. */
	if (res->stop == FMT_STOP_END && res->stop_sequence)
		res->stop = FMT_STOP_SEQUENCE;
	res->input_tokens = anthropic_input(usage);
	res->output_tokens = get_i64(usage, "output_tokens");
	return 0;
}

/* finish_usage replaces unknown counts with the headers' or 0. */
static void finish_usage(const struct wire_resp *r, struct fmt_result *res)
{
	struct usage u;

	usage_fill(&u, r, res->input_tokens, res->output_tokens);
	res->input_tokens = u.input_tokens;
	res->output_tokens = u.output_tokens;
}

/*
 * read_answer reads a text answer into res: on WIRE_OPENAI a
 * chat.completion (chat) or text_completion (!chat), on WIRE_ANTHROPIC a
 * Message. A body without the text gives ERR_REMOTE. Token counts missing
 * from the body are taken from the response headers, else 0.
 */
static int read_answer(enum wire w, bool chat, const struct wire_resp *r,
		       struct fmt_result *res, struct err *e)
{
	int rc;

	if (!json_is_type(r->body, json_type_object))
		return err_set(e, ERR_REMOTE, "backend answer is not a JSON object");
	res->id = json_get_str(r->body, "id");
	if (w == WIRE_ANTHROPIC)
		rc = read_anthropic(r->body, res, e);
	else if (w == WIRE_OPENAI)
		rc = chat ? read_openai_chat(r->body, res, e)
			  : read_openai_completion(r->body, res, e);
	else
		rc = err_set(e, ERR_INTERNAL, "a bedrock answer is the modelOutput itself");
	if (rc)
		return rc;
	if (res->text.err)
		return err_set(e, res->text.err, "backend answer text is too large");
	finish_usage(r, res);
	return 0;
}

/* read_openai_embedding reads data[0].embedding and the prompt tokens. */
static int read_openai_embedding(const struct wire_resp *r, struct fmt_result *res,
				 struct err *e)
{
	json_object *data = json_get(r->body, "data");
	json_object *vec;

	if (!json_is_type(r->body, json_type_object))
		return err_set(e, ERR_REMOTE, "backend answer is not a JSON object");
	if (!json_is_type(data, json_type_array) || json_object_array_length(data) == 0)
		return remote(e, "data");
	vec = json_get(json_object_array_get_idx(data, 0), "embedding");
	if (!json_is_type(vec, json_type_array))
		return remote(e, "data[0].embedding array");
	res->embedding = vec;
	res->input_tokens = get_i64(json_get(r->body, "usage"), "prompt_tokens");
	res->output_tokens = 0;
	finish_usage(r, res);
	return 0;
}

/*
 * native_answer checks that a native body is an object whose key has type
 * t, else ERR_REMOTE naming the missing field.
 */
static int native_answer(const struct wire_resp *r, const char *key, json_type t,
			 struct err *e)
{
	if (!json_is_type(r->body, json_type_object))
		return err_set(e, ERR_REMOTE, "backend answer is not a JSON object");
	if (!json_is_type(json_get(r->body, key), t))
		return err_set(e, ERR_REMOTE, "backend answer has no %s (expected %s)", key,
			       t == json_type_array ? "an array" :
			       t == json_type_object ? "an object" : "a string");
	return 0;
}

const char *fmt_stop_anthropic(enum fmt_stop s)
{
	static const char *const names[] = {"end_turn", "max_tokens", "stop_sequence",
					    "tool_use", "refusal"};

	return names[s];
}

const char *fmt_stop_nova(enum fmt_stop s)
{
	static const char *const names[] = {"end_turn", "max_tokens", "stop_sequence",
					    "tool_use", "content_filtered"};

	return names[s];
}

const char *fmt_stop_openai(enum fmt_stop s)
{
	static const char *const names[] = {"stop", "length", "stop", "tool_calls",
					    "content_filter"};

	return names[s];
}

const char *fmt_stop_titan(enum fmt_stop s)
{
	static const char *const names[] = {"FINISH", "LENGTH", "STOP_CRITERIA_MET", "FINISH",
					    "CONTENT_FILTERED"};

	return names[s];
}

const char *fmt_stop_short(enum fmt_stop s)
{
	return s == FMT_STOP_LENGTH ? "length" : "stop";
}

/* ---- writing JSON ---- */

void fmt_key(struct buf *b, const char *key)
{
	if (b->len && b->data[b->len - 1] != '{')
		buf_putc(b, ',');
	buf_put_json_cstr(b, key);
	buf_putc(b, ':');
}

void fmt_put_str(struct buf *b, const char *key, const char *s, size_t n)
{
	fmt_key(b, key);
	buf_put_json_str(b, s ? s : "", s ? n : 0);
}

void fmt_put_cstr(struct buf *b, const char *key, const char *s)
{
	fmt_put_str(b, key, s, s ? strlen(s) : 0);
}

void fmt_put_i64(struct buf *b, const char *key, int64_t v)
{
	fmt_key(b, key);
	buf_put_i64(b, v);
}

void fmt_put_json(struct buf *b, const char *key, json_object *v)
{
	fmt_key(b, key);
	if (v)
		json_put(b, v);
	else
		buf_puts(b, "null");
}

/* put_done turns a failed output buffer into an error. */
static int put_done(struct buf *b, struct err *e)
{
	if (b->err)
		return err_set(e, b->err, "modelOutput does not fit in the output buffer");
	return 0;
}

/* new_id writes n-1 random [A-Za-z0-9] characters and a NUL. */
static void new_id(char *out, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[64];

	if (!n)
		return;
	if (n > sizeof(raw))
		n = sizeof(raw);
	ids_random_bytes(raw, n - 1);
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = al[raw[i] % (sizeof(al) - 1)];
	out[n - 1] = '\0';
}

void fmt_put_id(struct buf *b, const char *key, const char *prefix, const char *id)
{
	char gen[25];
	struct buf tmp;

	if (!id) {
		new_id(gen, sizeof(gen));
		id = gen;
	}
	/*
	 * An id from another API keeps its body but not its prefix, so that a
	 * Claude message made from a chat completion is "msg_X", not
	 * "msg_chatcmpl-X".
	 */
	{
		static const char *const known[] = {"chatcmpl-", "cmpl-", "msg_", NULL};

		for (size_t i = 0; known[i]; i++) {
			size_t kl = strlen(known[i]);

			if (!strncmp(id, known[i], kl) && id[kl]) {
				id += kl;
				break;
			}
		}
	}
	buf_init(&tmp, b->max);
	buf_puts(&tmp, prefix);
	buf_puts(&tmp, id);
	fmt_key(b, key);
	put_scratch(b, &tmp);
}

void fmt_put_usage(struct buf *b, const struct fmt_result *res, const char *in,
		   const char *out, const char *total)
{
	fmt_key(b, "usage");
	buf_putc(b, '{');
	fmt_put_i64(b, in, res->input_tokens);
	fmt_put_i64(b, out, res->output_tokens);
	if (total)
		fmt_put_i64(b, total, res->input_tokens + res->output_tokens);
	buf_putc(b, '}');
}

/* ---- the family callbacks ---- */

void fmt_spec_estimate(const struct fmt_spec *s, json_object *mi, int64_t *input_tokens,
		       int64_t *max_output_tokens)
{
	size_t bytes = 0;

	fmt_spec_walk_texts(s, mi, count_bytes, &bytes);
	*input_tokens = fmt_tokens_bytes(bytes);
	if (s->family->embeddings)
		*max_output_tokens = 0;
	else
		*max_output_tokens = sampling_max_tokens(spec_settings(s, mi), s->keys);
}

int fmt_spec_to_wire(const struct fmt_spec *s, enum wire w, json_object *mi, const char *raw,
		     size_t raw_len, const char *upstream, struct wire_req *out, struct err *e)
{
	struct raw_body rb = {raw, raw_len};
	struct fmt_chat c;
	int rc;

	rc = fmt_check_wire(s->family, w, e);
	if (rc)
		return rc;
	if (s->path[w])
		return build_passed(w, mi, &rb, s->path[w], upstream, out, e);
	/* The conversion relies on the shape that validation guarantees. */
	rc = s->validate(s, mi, e);
	if (rc)
		return rc;
	if (s->family->embeddings)
		return build_openai_embedding(s, mi, upstream, out, e);
	chat_init(&c);
	sampling_read(spec_settings(s, mi), s->keys, &c.s);
	if (s->prompt)
		rc = chat_prompt(s, mi, w, &c, e);
	else
		rc = s->to_chat(s, mi, w, &c, e);
	if (!rc && w == WIRE_ANTHROPIC)
		rc = build_anthropic(&c, upstream, out, e);
	else if (!rc && s->prompt)
		rc = build_openai_completion(&c, upstream, out, e);
	else if (!rc)
		rc = build_openai_chat(&c, upstream, out, e);
	chat_free(&c);
	return rc;
}

/* count_at reads the token count that c names in body, or -1 when there is none. */
static int64_t count_at(json_object *body, const struct fmt_count *c)
{
	json_object *o;

	if (!c->key || json_pointer_get(body, c->at, &o))
		return -1;
	if (!strcmp(c->key, "input_tokens"))
		return anthropic_input(o);
	return get_i64(o, c->key);
}

/*
 * answer_shape returns the shape of the answers of wire w for s: the API's
 * own, or on Bedrock the model's.
 */
static const struct fmt_answer *answer_shape(const struct fmt_spec *s, enum wire w)
{
	static const struct fmt_answer openai = {"choices", json_type_array,
						 {"/usage", "prompt_tokens"},
						 {"/usage", "completion_tokens"}};
	static const struct fmt_answer openai_embeddings = {"data", json_type_array,
							    {"/usage", "prompt_tokens"},
							    {NULL, NULL}};
	static const struct fmt_answer anthropic = {"content", json_type_array,
						    {"/usage", "input_tokens"},
						    {"/usage", "output_tokens"}};

	if (w == WIRE_OPENAI)
		return s->family->embeddings ? &openai_embeddings : &openai;
	if (w == WIRE_ANTHROPIC)
		return &anthropic;
	return &s->bedrock;
}

/* one_line is true when s holds no line break, so it can sit inside a JSONL line. */
static bool one_line(const char *s, size_t n)
{
	return !memchr(s, '\n', n) && !memchr(s, '\r', n);
}

/*
 * pass_answer keeps the answer of a wire that took the body itself: it is
 * the modelOutput already, once it is seen to have the family's shape.
 */
/* raw_int reads an integer member key of the raw object text at span m, or -1. */
static int64_t raw_int(const struct json_span *m, const char *key)
{
	struct json_span f;
	char ptr[64];
	int64_t v;

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (json_span_at(m->val, m->val_len, ptr, &f) || !json_span_int64(&f, &v))
		return -1;
	return v;
}

/* raw_count is count_at on the answer's bytes: no tree is built. */
static int64_t raw_count(const struct wire_resp *r, const struct fmt_count *c)
{
	struct json_span at;
	int64_t n, w, rd;

	if (!c->key || json_span_at(r->raw, r->raw_len, c->at, &at))
		return -1;
	n = raw_int(&at, c->key);
	if (strcmp(c->key, "input_tokens") || n < 0)
		return n;
	/* As anthropic_input: cached prompt tokens are input too. */
	w = raw_int(&at, "cache_creation_input_tokens");
	rd = raw_int(&at, "cache_read_input_tokens");
	return n + (w > 0 ? w : 0) + (rd > 0 ? rd : 0);
}

/*
 * raw_shape is native_answer on the answer's bytes (already known to be
 * valid JSON): an object whose key has type t.
 */
static int raw_shape(const struct wire_resp *r, const char *key, json_type t, struct err *e)
{
	struct json_span m;
	char ptr[64];
	size_t i = 0;

	while (i < r->raw_len && strchr(" \t\r\n", r->raw[i]))
		i++;
	if (i >= r->raw_len || r->raw[i] != '{')
		return err_set(e, ERR_REMOTE, "backend answer is not a JSON object");
	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (json_span_at(r->raw, r->raw_len, ptr, &m) || !m.val_len ||
	    m.val[0] != (t == json_type_array ? '[' : t == json_type_object ? '{' : '"'))
		return err_set(e, ERR_REMOTE, "backend answer has no %s (expected %s)", key,
			       t == json_type_array ? "an array" :
			       t == json_type_object ? "an object" : "a string");
	return 0;
}

/*
 * pass_answer keeps the answer of a wire that took the body itself. When
 * the caller gives only the answer's bytes (r->body NULL: the engine
 * validated them without building a tree), shape and counts are read from
 * the bytes: on this path no JSON tree is built at all.
 */
static int pass_answer(const struct fmt_spec *s, enum wire w, const struct wire_resp *r,
		       struct buf *out, struct usage *u, struct err *e)
{
	const struct fmt_answer *a = answer_shape(s, w);
	bool bytes = !r->body;
	int rc = bytes ? raw_shape(r, a->key, a->type, e) : native_answer(r, a->key, a->type, e);

	if (rc)
		return rc;
	if (bytes)
		usage_fill(u, r, raw_count(r, &a->input_tokens),
			   s->family->embeddings ? 0 : raw_count(r, &a->output_tokens));
	else
		usage_fill(u, r, count_at(r->body, &a->input_tokens),
			   s->family->embeddings ? 0 : count_at(r->body, &a->output_tokens));
	/*
	 * The answer's own bytes serve when they fit on one output line: it
	 * saves serializing it again, and keeps the backend's spelling.
	 */
	if (r->raw && one_line(r->raw, r->raw_len)) {
		size_t st = 0, n = r->raw_len;

		while (st < n && (r->raw[st] == ' ' || r->raw[st] == '\t'))
			st++;
		while (n > st && (r->raw[n - 1] == ' ' || r->raw[n - 1] == '\t'))
			n--;
		buf_append(out, r->raw + st, n - st);
	} else if (r->body) {
		json_put(out, r->body);
	} else {
		/* A pretty-printed answer: parse it to write it on one line. */
		json_object *o = NULL;

		if ((rc = json_parse(r->raw, r->raw_len, &o, e)))
			return err_set(e, ERR_REMOTE, "backend answer: %s", e->msg);
		json_put(out, o);
		json_object_put(o);
	}
	return put_done(out, e);
}

int fmt_spec_from_wire(const struct fmt_spec *s, enum wire w, const struct wire_resp *r,
		       const char *model, struct buf *out, struct usage *u, struct err *e)
{
	struct fmt_result res;
	int rc;

	rc = fmt_check_wire(s->family, w, e);
	if (rc)
		return rc;
	if (s->path[w])
		return pass_answer(s, w, r, out, u, e);
	if (!r->body) {
		/* A conversion reads the answer's fields: it needs the tree. */
		struct wire_resp t = *r;
		json_object *o = NULL;

		if (json_parse(r->raw ? r->raw : "", r->raw_len, &o, e))
			return err_set(e, ERR_REMOTE, "backend answer: %s", e->msg);
		t.body = o;
		rc = fmt_spec_from_wire(s, w, &t, model, out, u, e);
		json_object_put(o);
		return rc;
	}
	result_init(&res);
	if (s->family->embeddings)
		rc = read_openai_embedding(r, &res, e);
	else
		rc = read_answer(w, !s->prompt, r, &res, e);
	if (!rc) {
		s->put(s, &res, model, out);
		u->input_tokens = res.input_tokens;
		u->output_tokens = res.output_tokens;
		rc = put_done(out, e);
	}
	result_free(&res);
	return rc;
}
