/* common.c - helpers shared by the model-family adapters: checks, neutral requests and answers. */
#include "formats/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/json.h"

/* ---- checks of a modelInput ---- */

bool fmt_member(json_object *o, const char *key, json_object **v)
{
	json_object *x = NULL;

	*v = NULL;
	if (!json_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &x))
		return false;
	if (!x || json_object_is_type(x, json_type_null))
		return false;
	*v = x;
	return true;
}

void fmt_path(char *dst, size_t n, const char *parent, const char *key)
{
	if (!key)
		snprintf(dst, n, "%s", parent);
	else if (parent && parent[0])
		snprintf(dst, n, "%s.%s", parent, key);
	else
		snprintf(dst, n, "%s", key);
}

/*
 * describe says what a value is for "got ..." in messages: numbers and
 * booleans by value, strings quoted (cut short on a character boundary so
 * that a long prompt does not flood the message), containers by type.
 */
static void describe(json_object *v, char *out, size_t n)
{
	const char *s;
	size_t len, cut;

	if (!v || json_object_is_type(v, json_type_null)) {
		snprintf(out, n, "null");
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		snprintf(out, n, "%s",
			 json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		return;
	case json_type_string:
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		cut = len > 40 ? 40 : len;
		while (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		snprintf(out, n, "\"%.*s%s\"", (int)cut, s, cut < len ? "..." : "");
		return;
	case json_type_array:
		snprintf(out, n, "%s", json_object_array_length(v) ? "an array" : "an empty array");
		return;
	case json_type_object:
		snprintf(out, n, "%s",
			 json_object_object_length(v) ? "an object" : "an empty object");
		return;
	default:
		snprintf(out, n, "%s", json_type_word(v));
		return;
	}
}

int fmt_fail(struct err *e, const char *parent, const char *key, const char *expect,
	     json_object *v)
{
	char path[256], got[96];

	fmt_path(path, sizeof(path), parent, key);
	describe(v, got, sizeof(got));
	return err_set(e, ERR_INVAL, "%s: must be %s, got %s", path, expect, got);
}

/* missing reports a required member that is absent or null. */
static int missing(struct err *e, const char *parent, const char *key, const char *expect)
{
	char path[256];

	fmt_path(path, sizeof(path), parent, key);
	return err_set(e, ERR_INVAL, "%s: is missing; it must be %s", path, expect);
}

int fmt_check_object(json_object *mi, struct err *e)
{
	if (!json_is_type(mi, json_type_object))
		return fmt_fail(e, "modelInput", NULL, "a JSON object", mi);
	return 0;
}

/*
 * present finds a member for a check: 1 when there is one to check, 0 when
 * an optional member is absent, or an error for an absent required one.
 */
static int present(json_object *o, const char *parent, const char *key, int req,
		   const char *expect, json_object **v, struct err *e)
{
	if (fmt_member(o, key, v))
		return 1;
	if (req == FMT_REQUIRED)
		return missing(e, parent, key, expect);
	return 0;
}

int fmt_check_string(json_object *o, const char *parent, const char *key, int req,
		     bool nonempty, struct err *e)
{
	const char *expect = nonempty ? "a non-empty string" : "a string";
	json_object *v;
	int rc = present(o, parent, key, req, expect, &v, e);

	if (rc <= 0)
		return rc;
	if (!json_is_type(v, json_type_string) ||
	    (nonempty && json_object_get_string_len(v) == 0))
		return fmt_fail(e, parent, key, expect, v);
	return 0;
}

int fmt_check_int(json_object *o, const char *parent, const char *key, int req,
		  int64_t lo, int64_t hi, struct err *e)
{
	char expect[96];
	json_object *v = NULL;
	int64_t x;

	if (fmt_member(o, key, &v) && json_get_int64(o, key, &x) && x >= lo && x <= hi)
		return 0;
	if (!v && req != FMT_REQUIRED)
		return 0;
	if (hi == FMT_NO_MAX)
		snprintf(expect, sizeof(expect), "an integer of at least %lld", (long long)lo);
	else
		snprintf(expect, sizeof(expect), "an integer between %lld and %lld",
			 (long long)lo, (long long)hi);
	if (!v)
		return missing(e, parent, key, expect);
	return fmt_fail(e, parent, key, expect, v);
}

int fmt_check_number(json_object *o, const char *parent, const char *key, int req,
		     double lo, double hi, struct err *e)
{
	char expect[96];
	json_object *v = NULL;
	double x;

	/* The expectation is worded only on failure: validation is a hot path. */
	if (fmt_member(o, key, &v) && json_get_double(o, key, &x) && x >= lo && x <= hi)
		return 0;
	if (!v && req != FMT_REQUIRED)
		return 0;
	snprintf(expect, sizeof(expect), "a number between %g and %g", lo, hi);
	if (!v)
		return missing(e, parent, key, expect);
	return fmt_fail(e, parent, key, expect, v);
}

int fmt_check_bool(json_object *o, const char *parent, const char *key, struct err *e)
{
	json_object *v;

	if (!fmt_member(o, key, &v))
		return 0;
	if (!json_is_type(v, json_type_boolean))
		return fmt_fail(e, parent, key, "true or false", v);
	return 0;
}

int fmt_check_object_member(json_object *o, const char *parent, const char *key, int req,
			    struct err *e)
{
	json_object *v;
	int rc = present(o, parent, key, req, "an object", &v, e);

	if (rc <= 0)
		return rc;
	if (!json_is_type(v, json_type_object))
		return fmt_fail(e, parent, key, "an object", v);
	return 0;
}

int fmt_check_array_member(json_object *o, const char *parent, const char *key, int req,
			   bool nonempty, json_object **arr, struct err *e)
{
	const char *expect = nonempty ? "a non-empty array" : "an array";
	json_object *v;
	int rc = present(o, parent, key, req, expect, &v, e);

	*arr = NULL;
	if (rc <= 0)
		return rc;
	if (!json_is_type(v, json_type_array) ||
	    (nonempty && json_object_array_length(v) == 0))
		return fmt_fail(e, parent, key, expect, v);
	*arr = v;
	return 0;
}

int fmt_check_string_array(json_object *o, const char *parent, const char *key,
			   size_t max_items, struct err *e)
{
	char path[256], item[280];
	json_object *arr;
	size_t n;
	int rc;

	rc = fmt_check_array_member(o, parent, key, FMT_OPTIONAL, false, &arr, e);
	if (rc || !arr)
		return rc;
	fmt_path(path, sizeof(path), parent, key);
	n = json_object_array_length(arr);
	if (max_items && n > max_items)
		return err_set(e, ERR_INVAL, "%s: must hold at most %zu strings, got %zu",
			       path, max_items, n);
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (!json_is_type(s, json_type_string)) {
			snprintf(item, sizeof(item), "%s[%zu]", path, i);
			return fmt_fail(e, item, NULL, "a string", s);
		}
	}
	return 0;
}

int fmt_check_enum(json_object *o, const char *parent, const char *key, int req,
		   const char *const *allowed, struct err *e)
{
	char expect[256];
	size_t len = 0, count = 0;
	json_object *v;
	const char *s;
	int rc;

	while (allowed[count])
		count++;
	expect[0] = '\0';
	if (count > 2)
		len += (size_t)snprintf(expect, sizeof(expect), "one of ");
	for (size_t i = 0; i < count && len < sizeof(expect); i++) {
		const char *sep = i == 0 ? "" : count == 2 ? " or " : ", ";

		len += (size_t)snprintf(expect + len, sizeof(expect) - len, "%s\"%s\"", sep,
					allowed[i]);
	}
	rc = present(o, parent, key, req, expect, &v, e);
	if (rc <= 0)
		return rc;
	s = json_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	for (size_t i = 0; s && i < count; i++)
		if (!strcmp(s, allowed[i]))
			return 0;
	return fmt_fail(e, parent, key, expect, v);
}

int fmt_check_turn(const char *path, size_t idx, json_object *msg, const char *prev,
		   struct err *e)
{
	static const char *const roles[] = {"user", "assistant", NULL};
	const char *role;
	int rc;

	if (!json_is_type(msg, json_type_object))
		return fmt_fail(e, path, NULL, "an object with \"role\" and \"content\"", msg);
	rc = fmt_check_enum(msg, path, "role", FMT_REQUIRED, roles, e);
	if (rc)
		return rc;
	role = json_get_str(msg, "role");
	if (idx == 0 && strcmp(role, "user"))
		return err_set(e, ERR_INVAL,
			       "%s.role: must be \"user\" in the first turn, got \"%s\"", path,
			       role);
	if (prev && !strcmp(prev, role))
		return err_set(e, ERR_INVAL, "%s.role: must be \"%s\" after %s \"%s\" turn", path,
			       strcmp(role, "user") ? "user" : "assistant",
			       strcmp(role, "user") ? "an" : "a", prev);
	return 0;
}

/* ---- estimates ---- */

size_t fmt_count_text(json_object *v)
{
	size_t total = 0, n;

	if (json_is_type(v, json_type_string))
		return (size_t)json_object_get_string_len(v);
	if (!json_is_type(v, json_type_array))
		return 0;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(v, i);
		json_object *t = json_get(x, "text");

		if (json_is_type(x, json_type_string))
			total += (size_t)json_object_get_string_len(x);
		else if (json_is_type(t, json_type_string))
			total += (size_t)json_object_get_string_len(t);
	}
	return total;
}

size_t fmt_count_messages(json_object *messages)
{
	size_t total = 0, n;

	if (!json_is_type(messages, json_type_array))
		return 0;
	n = json_object_array_length(messages);
	for (size_t i = 0; i < n; i++)
		total += fmt_count_text(json_get(json_object_array_get_idx(messages, i), "content"));
	return total;
}

int64_t fmt_max_tokens(json_object *o, const char *key, int64_t def)
{
	int64_t v;

	if (key && json_get_int64(o, key, &v) && v >= 1)
		return v;
	return def;
}

/* ---- neutral requests ---- */

void fmt_sampling_read(json_object *o, const struct fmt_sampling_keys *k,
		       struct fmt_sampling *s)
{
	json_object *stop = NULL;

	memset(s, 0, sizeof(*s));
	s->max_tokens = fmt_max_tokens(o, k->max_tokens, FMT_DEFAULT_MAX_TOKENS);
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

void fmt_chat_init(struct fmt_chat *c)
{
	memset(c, 0, sizeof(*c));
	c->s.max_tokens = FMT_DEFAULT_MAX_TOKENS;
}

void fmt_chat_free(struct fmt_chat *c)
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

int fmt_chat_system(struct fmt_chat *c, const char *p, size_t n, struct err *e)
{
	int rc = grow((void **)&c->system, &c->cap_system, c->nsystem, sizeof(*c->system), e);

	if (rc)
		return rc;
	c->system[c->nsystem].p = p;
	c->system[c->nsystem].n = n;
	c->nsystem++;
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

int fmt_chat_text(struct fmt_chat *c, const char *p, size_t n, struct err *e)
{
	struct fmt_part part = {.kind = FMT_PART_TEXT, .text = {p, n}};

	return fmt_chat_part(c, &part, e);
}

int fmt_req_finish(struct buf *b, const char *path, struct wire_req *out, struct err *e)
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

/*
 * put_sampling writes the sampling settings under OpenAI's names. top_k is
 * not an OpenAI parameter, but vLLM, SGLang and llama.cpp take it as an
 * extra, so it is sent only when the input asked for it.
 */
static void put_openai_sampling(struct buf *b, const struct fmt_sampling *s)
{
	fmt_put_i64(b, "max_tokens", s->max_tokens);
	if (s->temperature)
		fmt_put_json(b, "temperature", s->temperature);
	if (s->top_p)
		fmt_put_json(b, "top_p", s->top_p);
	if (s->top_k)
		fmt_put_json(b, "top_k", s->top_k);
	if (s->stop)
		fmt_put_json(b, "stop", s->stop);
}

int fmt_build_openai_chat(const struct fmt_chat *c, const char *upstream,
			  struct wire_req *out, struct err *e)
{
	struct buf b;

	buf_init(&b, 0);
	buf_putc(&b, '{');
	fmt_put_cstr(&b, "model", upstream);
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
	return fmt_req_finish(&b, "/chat/completions", out, e);
}

int fmt_build_openai_completion(struct fmt_str prompt, const struct fmt_sampling *s,
				const char *upstream, struct wire_req *out, struct err *e)
{
	struct buf b;

	buf_init(&b, 0);
	buf_putc(&b, '{');
	fmt_put_cstr(&b, "model", upstream);
	fmt_put_str(&b, "prompt", prompt.p, prompt.n);
	put_openai_sampling(&b, s);
	buf_putc(&b, '}');
	return fmt_req_finish(&b, "/completions", out, e);
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

int fmt_build_anthropic(const struct fmt_chat *c, const char *upstream,
			struct wire_req *out, struct err *e)
{
	double t;
	struct buf b;

	buf_init(&b, 0);
	buf_putc(&b, '{');
	fmt_put_cstr(&b, "model", upstream);
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
	return fmt_req_finish(&b, "/messages", out, e);
}

int fmt_build_native(json_object *mi, const char *path, struct wire_req *out,
		     struct err *e)
{
	out->path = path;
	out->body = json_dup_str(mi, &out->body_len);
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

int fmt_build_renamed(json_object *mi, const char *path, const char *upstream,
		      const char *const *drop, struct wire_req *out, struct err *e)
{
	struct buf b;

	buf_init(&b, 0);
	buf_putc(&b, '{');
	fmt_put_cstr(&b, "model", upstream);
	json_object_object_foreach(mi, key, val) {
		if (!dropped(key, drop))
			fmt_put_json(&b, key, val);
	}
	buf_putc(&b, '}');
	return fmt_req_finish(&b, path, out, e);
}

int fmt_prompt_to_wire(enum wire w, json_object *mi, struct fmt_str prompt,
		       const struct fmt_sampling *s, const char *upstream,
		       struct wire_req *out, struct err *e)
{
	struct fmt_chat c;
	int rc;

	switch (w) {
	case WIRE_BEDROCK:
		return fmt_build_native(mi, "/invoke", out, e);
	case WIRE_OPENAI:
		return fmt_build_openai_completion(prompt, s, upstream, out, e);
	case WIRE_ANTHROPIC:
		break;
	}
	fmt_chat_init(&c);
	c.s = *s;
	rc = fmt_chat_turn(&c, "user", e);
	if (rc)
		goto fail;
	rc = fmt_chat_text(&c, prompt.p, prompt.n, e);
	if (rc)
		goto fail;
	rc = fmt_build_anthropic(&c, upstream, out, e);
fail:
	fmt_chat_free(&c);
	return rc;
}

/* ---- neutral answers ---- */

void fmt_result_init(struct fmt_result *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->text, 0);
	res->stop = FMT_STOP_END;
	res->input_tokens = -1;
	res->output_tokens = -1;
}

void fmt_result_free(struct fmt_result *res)
{
	buf_free(&res->text);
}

int64_t fmt_get_i64(json_object *o, const char *key)
{
	int64_t v;

	return json_get_int64(o, key, &v) ? v : -1;
}

void fmt_usage_fill(struct usage *u, const struct wire_resp *r, int64_t in, int64_t out)
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

	res->stop = fmt_stop_from_openai(json_get_str(choice, "finish_reason"));
	if (res->stop == FMT_STOP_END && matched) {
		res->stop = FMT_STOP_SEQUENCE;
		res->stop_sequence = matched;
	}
}

/* read_openai_usage reads usage.prompt_tokens and completion_tokens, -1 if absent. */
static void read_openai_usage(json_object *body, struct fmt_result *res)
{
	json_object *usage = json_get(body, "usage");

	res->input_tokens = fmt_get_i64(usage, "prompt_tokens");
	res->output_tokens = fmt_get_i64(usage, "completion_tokens");
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
	res->stop = fmt_stop_from_anthropic(json_get_str(body, "stop_reason"));
	res->stop_sequence = json_get_str(body, "stop_sequence");
	res->input_tokens = fmt_get_i64(usage, "input_tokens");
	res->output_tokens = fmt_get_i64(usage, "output_tokens");
	return 0;
}

/* finish_usage replaces unknown counts with the headers' or 0. */
static void finish_usage(const struct wire_resp *r, struct fmt_result *res)
{
	struct usage u;

	fmt_usage_fill(&u, r, res->input_tokens, res->output_tokens);
	res->input_tokens = u.input_tokens;
	res->output_tokens = u.output_tokens;
}

int fmt_read_answer(enum wire w, bool chat, const struct wire_resp *r,
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

int fmt_read_openai_embedding(const struct wire_resp *r, struct fmt_result *res,
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
	res->input_tokens = fmt_get_i64(json_get(r->body, "usage"), "prompt_tokens");
	res->output_tokens = 0;
	finish_usage(r, res);
	return 0;
}

int fmt_native_answer(const struct wire_resp *r, const char *key, json_type t,
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

enum fmt_stop fmt_stop_from_openai(const char *reason)
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

enum fmt_stop fmt_stop_from_anthropic(const char *reason)
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

int fmt_put_done(struct buf *b, struct err *e)
{
	if (b->err)
		return err_set(e, b->err, "modelOutput does not fit in the output buffer");
	return 0;
}

void fmt_new_id(char *out, size_t n)
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
		fmt_new_id(gen, sizeof(gen));
		id = gen;
	}
	buf_init(&tmp, b->max);
	buf_puts(&tmp, prefix);
	buf_puts(&tmp, id);
	fmt_key(b, key);
	put_scratch(b, &tmp);
}
