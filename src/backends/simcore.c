/* simcore.c - the simulator's answers, shared by the sim backend and sim-server. */
#include "backends/simcore.h"
#include "formats/format.h"
#include "util/buf.h"
#include "util/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fixed creation time keeps answers identical from run to run. */
#define SIM_CREATED 1735689600
#define SIM_BODY_MAX ((size_t)64 << 20)
#define SIM_DEFAULT_MAX_TOKENS 256
#define SIM_DEFAULT_DIMS 1024
#define SIM_MAX_DIMS 16384

static const char *const words[] = {
	"the", "batch", "model", "answer", "record", "summary", "of", "a", "document", "and",
	"result", "is", "clear", "data", "report", "text", "with", "each", "line", "value",
	"to", "in", "for", "this", "that", "review", "key", "point", "shows", "brief",
	"final", "note",
};

void sim_answer_free(struct sim_answer *a)
{
	free(a->body);
	a->body = NULL;
}

/* text_of appends the text of a string or of an array of text parts/blocks. */
static void text_of(json_object *v, struct buf *t)
{
	if (json_is_type(v, json_type_string)) {
		buf_append(t, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	}
	if (!json_is_type(v, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *p = json_object_array_get_idx(v, i);
		const char *s = json_get_str(p, "text");

		if (json_is_type(p, json_type_string))
			text_of(p, t);
		else if (s)
			buf_puts(t, s);
	}
}

/* prompt_text gathers every prompt text of a request into t. */
static void prompt_text(json_object *req, struct buf *t)
{
	json_object *msgs = json_get(req, "messages");

	text_of(json_get(req, "system"), t);
	if (json_is_type(msgs, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(msgs); i++)
			text_of(json_get(json_object_array_get_idx(msgs, i), "content"), t);
	}
	text_of(json_get(req, "prompt"), t);
	text_of(json_get(req, "input"), t);
}

static int64_t max_tokens_of(json_object *req)
{
	int64_t v;

	if (json_get_int64(req, "max_completion_tokens", &v) && v > 0)
		return v;
	if (json_get_int64(req, "max_tokens", &v) && v > 0)
		return v;
	return SIM_DEFAULT_MAX_TOKENS;
}

/* gen_text appends n words chosen by h after the "[simulated]" marker. */
static void gen_text(struct buf *b, uint64_t h, int64_t n)
{
	struct rng r;

	rng_seed(&r, h);
	buf_puts(b, "[simulated]");
	for (int64_t i = 0; i < n; i++) {
		buf_putc(b, ' ');
		buf_puts(b, words[rng_next(&r) % (sizeof(words) / sizeof(words[0]))]);
	}
}

static void error_body(struct buf *b, int status, const char *type, const char *msg)
{
	buf_reset(b);
	buf_puts(b, "{\"error\":{\"message\":");
	buf_put_json_cstr(b, msg);
	buf_puts(b, ",\"type\":");
	buf_put_json_cstr(b, type);
	buf_printf(b, ",\"code\":%d}}", status);
}

/* pick_fault decides whether this request fails and how. */
static unsigned pick_fault(const struct backend_cfg *cfg, struct rng *rng)
{
	unsigned bits[8];
	int n = 0;

	if (cfg->fail_rate <= 0 || rng_unit(rng) >= cfg->fail_rate)
		return 0;
	for (unsigned b = 1; b <= SIMF_TRUNCATED; b <<= 1) {
		if (cfg->fail_types & b)
			bits[n++] = b;
	}
	if (!n)
		return 0;
	return bits[rng_next(rng) % (uint64_t)n];
}

static void put_usage_openai(struct buf *b, int64_t in, int64_t out, bool embed)
{
	if (embed)
		buf_printf(b, "\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}",
			   (long long)in, (long long)in);
	else
		buf_printf(b,
			   "\"usage\":{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
			   "\"total_tokens\":%lld}",
			   (long long)in, (long long)out, (long long)(in + out));
}

/* embed_vector appends a deterministic unit vector of dims numbers. */
static void embed_vector(struct buf *b, uint64_t h, int64_t dims)
{
	struct rng r;
	double norm = 0;
	double *v = malloc((size_t)dims * sizeof(*v));

	if (!v) {
		b->err = -6;
		return;
	}
	rng_seed(&r, h);
	for (int64_t i = 0; i < dims; i++) {
		v[i] = rng_unit(&r) * 2.0 - 1.0;
		norm += v[i] * v[i];
	}
	norm = sqrt(norm);
	buf_putc(b, '[');
	for (int64_t i = 0; i < dims; i++)
		buf_printf(b, i ? ",%.6f" : "%.6f", norm > 0 ? v[i] / norm : 0.0);
	buf_putc(b, ']');
	free(v);
}

int sim_respond(const struct backend_cfg *cfg, struct rng *rng, const char *path,
		const char *body, size_t body_len, struct sim_answer *a)
{
	struct buf out, text;
	json_object *req = NULL;
	const char *model;
	uint64_t h;
	int64_t max_out, want;
	struct err e;

	memset(a, 0, sizeof(*a));
	a->retry_after_s = -1;
	buf_init(&out, SIM_BODY_MAX);
	buf_init(&text, SIM_BODY_MAX);
	a->fault = pick_fault(cfg, rng);
	a->status = 200;
	switch (a->fault) {
	case SIMF_429:
		a->status = 429;
		a->retry_after_s = cfg->retry_after_s;
		error_body(&out, 429, "rate_limit_error", "simulated: too many requests");
		goto done;
	case SIMF_500:
		a->status = 500;
		error_body(&out, 500, "api_error", "simulated: internal server error");
		goto done;
	case SIMF_503:
		a->status = 503;
		error_body(&out, 503, "overloaded_error", "simulated: service unavailable");
		goto done;
	case SIMF_TIMEOUT:
	case SIMF_RESET:
		goto done;
	default:
		break;
	}
	if (json_parse(body, body_len, &req, &e) || !json_is_type(req, json_type_object)) {
		a->status = 400;
		error_body(&out, 400, "invalid_request_error",
			   req ? "the request body must be a JSON object" : e.msg);
		goto done;
	}
	model = json_get_str(req, "model");
	if (!model)
		model = "sim";
	h = hash64(body, body_len, cfg->seed);
	prompt_text(req, &text);
	a->input_tokens = fmt_tokens_text(text.data ? text.data : "", text.len);
	if (!strcmp(path, "/embeddings")) {
		int64_t dims = SIM_DEFAULT_DIMS;

		if (json_get_int64(req, "dimensions", &dims) && (dims < 1 || dims > SIM_MAX_DIMS)) {
			a->status = 400;
			error_body(&out, 400, "invalid_request_error", "dimensions must be 1..16384");
			goto done;
		}
		buf_puts(&out, "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
			       "\"embedding\":");
		embed_vector(&out, h, dims);
		buf_puts(&out, "}],\"model\":");
		buf_put_json_cstr(&out, model);
		buf_putc(&out, ',');
		put_usage_openai(&out, a->input_tokens, 0, true);
		buf_putc(&out, '}');
		a->latency_ms = cfg->ttft_ms;
		goto done;
	}
	max_out = max_tokens_of(req);
	want = cfg->output_tokens > 0 ? cfg->output_tokens : 8 + (int64_t)(mix64(h) % 120);
	a->output_tokens = want < max_out ? want : max_out;
	buf_reset(&text);
	gen_text(&text, h, a->output_tokens);
	a->latency_ms = cfg->ttft_ms + (int64_t)cfg->itl_ms * a->output_tokens;
	if (!strcmp(path, "/messages")) {
		buf_printf(&out, "{\"id\":\"msg_sim%016llx\",\"type\":\"message\",\"role\":\"assistant\","
				 "\"model\":", (unsigned long long)h);
		buf_put_json_cstr(&out, model);
		buf_puts(&out, ",\"content\":[{\"type\":\"text\",\"text\":");
		buf_put_json_str(&out, text.data, text.len);
		buf_printf(&out, "}],\"stop_reason\":\"%s\",\"stop_sequence\":null,"
				 "\"usage\":{\"input_tokens\":%lld,\"output_tokens\":%lld}}",
			   want > max_out ? "max_tokens" : "end_turn", (long long)a->input_tokens,
			   (long long)a->output_tokens);
	} else if (!strcmp(path, "/chat/completions")) {
		buf_printf(&out, "{\"id\":\"chatcmpl-sim%016llx\",\"object\":\"chat.completion\","
				 "\"created\":%d,\"model\":", (unsigned long long)h, SIM_CREATED);
		buf_put_json_cstr(&out, model);
		buf_puts(&out, ",\"system_fingerprint\":\"barge-sim\",\"choices\":[{\"index\":0,"
			       "\"message\":{\"role\":\"assistant\",\"content\":");
		buf_put_json_str(&out, text.data, text.len);
		buf_printf(&out, "},\"logprobs\":null,\"finish_reason\":\"%s\"}],",
			   want > max_out ? "length" : "stop");
		put_usage_openai(&out, a->input_tokens, a->output_tokens, false);
		buf_putc(&out, '}');
	} else if (!strcmp(path, "/completions")) {
		buf_printf(&out, "{\"id\":\"cmpl-sim%016llx\",\"object\":\"text_completion\","
				 "\"created\":%d,\"model\":", (unsigned long long)h, SIM_CREATED);
		buf_put_json_cstr(&out, model);
		buf_puts(&out, ",\"system_fingerprint\":\"barge-sim\",\"choices\":[{\"index\":0,\"text\":");
		buf_put_json_str(&out, text.data, text.len);
		buf_printf(&out, ",\"logprobs\":null,\"finish_reason\":\"%s\"}],",
			   want > max_out ? "length" : "stop");
		put_usage_openai(&out, a->input_tokens, a->output_tokens, false);
		buf_putc(&out, '}');
	} else {
		a->status = 404;
		a->output_tokens = 0;
		error_body(&out, 404, "not_found_error", "the simulator has no such endpoint");
	}
done:
	json_object_put(req);
	buf_free(&text);
	if (a->fault == SIMF_TIMEOUT || a->fault == SIMF_RESET) {
		buf_free(&out);
		return 0;
	}
	if (a->fault == SIMF_MALFORMED) {
		buf_reset(&out);
		buf_puts(&out, "{\"id\": \"chatcmpl-sim\", \"choices\": [{\"message\": <<garbage>>");
	} else if (a->fault == SIMF_TRUNCATED && out.len > 2) {
		out.len /= 2;
		out.data[out.len] = '\0';
	}
	if (out.err) {
		int rc = out.err;

		buf_free(&out);
		return err_set(NULL, rc, "simulated answer too large");
	}
	a->body = buf_steal(&out, &a->body_len);
	return 0;
}
