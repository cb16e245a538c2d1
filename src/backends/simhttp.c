/* simhttp.c - the simulator over HTTP: OpenAI, Anthropic and Bedrock-runtime dialects. */
#include "backends/simhttp.h"
#include "api/auth.h"
#include "backends/simcore.h"
#include "formats/format.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sigv4.h"
#include "util/time.h"
#include "util/uri.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SIM_MAX_HDRS 8
#define SIM_HSTORE 512
#define SIM_ERR_BODY_MAX ((size_t)16 << 10)
#define SIM_STATS_MAX ((size_t)8 << 20)

/* The API a request speaks, which decides the shape of its errors. */
enum sim_dialect { SD_OPENAI, SD_ANTHROPIC, SD_BEDROCK };

/* What a path asks for. */
struct sim_route {
	enum sim_dialect d;
	const char *wire_path;       /* simcore's path: "/chat/completions", "/messages", ... */
	bool bedrock;
	bool converse;
	char model[CONFIG_NAME_MAX]; /* Bedrock: the percent-decoded model id */
	bool model_ok;               /* the id decoded and fitted */
};

enum sim_how { SR_SEND, SR_CLOSE, SR_TRUNCATE };

/* An answer being prepared or held until its time. */
struct sim_reply {
	int status;
	enum sim_how how;
	struct http_header hdrs[SIM_MAX_HDRS];
	size_t n_hdrs;
	char hstore[SIM_HSTORE];
	size_t hused;
	char *body; /* malloc'd */
	size_t len;
	int64_t in_tok, out_tok;
	int64_t delay_ms;
	bool slot; /* holds one of max_seqs until sent */
};

struct sim_held {
	int64_t due;
	uint64_t order;
	struct http_request *req;
	struct sim_reply r;
};

static const char *const fault_names[SIMHTTP_N_FAULTS] = {
	"429", "500", "503", "timeout", "reset", "malformed", "truncated",
};

/* A malformed answer: a 200 whose body is not JSON, as a broken proxy might send. */
static const char malformed_body[] =
	"{\"id\": \"chatcmpl-sim\", \"choices\": [{\"message\": <<garbage>>";

/* ---- answers ---------------------------------------------------------- */

static void sim_reply_init(struct sim_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	r->how = SR_SEND;
}

/* sim_reply_header adds a header whose value is formatted into the reply's own store. */
static void sim_reply_header(struct sim_reply *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sim_reply_header(struct sim_reply *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->n_hdrs >= SIM_MAX_HDRS || r->hused >= SIM_HSTORE)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->hstore + r->hused, SIM_HSTORE - r->hused, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= SIM_HSTORE - r->hused)
		return;
	r->hdrs[r->n_hdrs].name = name;
	r->hdrs[r->n_hdrs].value = r->hstore + r->hused;
	r->n_hdrs++;
	r->hused += (size_t)n + 1;
}

/*
 * The headers point into hstore, so a copied reply must have them pointed
 * into its own copy.
 */
static void sim_reply_move(struct sim_reply *dst, struct sim_reply *src)
{
	*dst = *src;
	for (size_t i = 0; i < dst->n_hdrs; i++)
		dst->hdrs[i].value = dst->hstore + (src->hdrs[i].value - src->hstore);
	src->body = NULL;
}

static void sim_reply_body(struct sim_reply *r, struct buf *b)
{
	free(r->body);
	r->body = buf_steal(b, &r->len);
	if (!r->body) {
		/* Only a cap or allocation failure gets here: answer that plainly. */
		r->status = 500;
		r->body = strdup("{\"message\":\"the simulator ran out of memory\"}");
		r->len = r->body ? strlen(r->body) : 0;
	}
}

static const char *sim_openai_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 404: return "not_found_error";
	case 429: return "rate_limit_error";
	case 500: return "api_error";
	case 503: return "overloaded_error";
	default: return "invalid_request_error";
	}
}

static const char *sim_anthropic_type(int status)
{
	switch (status) {
	case 401: return "authentication_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 500: return "api_error";
	case 503: return "overloaded_error";
	default: return "invalid_request_error";
	}
}

static const char *sim_bedrock_type(int status)
{
	switch (status) {
	case 401: return "AccessDeniedException";
	case 404: return "ResourceNotFoundException";
	case 405: return "UnknownOperationException";
	case 429: return "ThrottlingException";
	case 500: return "InternalServerException";
	case 503: return "ServiceUnavailableException";
	default: return "ValidationException";
	}
}

/*
 * sim_error_named makes r an error answer in the shape of dialect d; aws
 * names the Bedrock error (NULL: the usual one for the status).
 */
static void sim_error_named(struct sim_reply *r, enum sim_dialect d, int status,
			    const char *aws, const char *msg)
{
	struct buf b;

	buf_init(&b, SIM_ERR_BODY_MAX);
	r->status = status;
	switch (d) {
	case SD_OPENAI:
		buf_puts(&b, "{\"error\":{\"message\":");
		buf_put_json_cstr(&b, msg);
		buf_puts(&b, ",\"type\":");
		buf_put_json_cstr(&b, sim_openai_type(status));
		buf_printf(&b, ",\"param\":null,\"code\":%d}}", status);
		break;
	case SD_ANTHROPIC:
		buf_puts(&b, "{\"type\":\"error\",\"error\":{\"type\":");
		buf_put_json_cstr(&b, sim_anthropic_type(status));
		buf_puts(&b, ",\"message\":");
		buf_put_json_cstr(&b, msg);
		buf_puts(&b, "}}");
		break;
	case SD_BEDROCK:
		buf_puts(&b, "{\"message\":");
		buf_put_json_cstr(&b, msg);
		buf_putc(&b, '}');
		sim_reply_header(r, "x-amzn-ErrorType", "%s", aws ? aws : sim_bedrock_type(status));
		break;
	}
	sim_reply_body(r, &b);
	buf_free(&b);
}

/* sim_error makes r an error answer in the shape of dialect d. */
static void sim_error(struct sim_reply *r, enum sim_dialect d, int status, const char *msg)
{
	sim_error_named(r, d, status, NULL, msg);
}

/* sim_error_from_body re-shapes an OpenAI-style error body from simcore into dialect d. */
static void sim_error_from_body(struct sim_reply *r, enum sim_dialect d, int status,
				const char *body, size_t len)
{
	json_object *o = NULL;
	const char *msg = NULL;
	struct err e;

	if (body && !json_parse(body, len, &o, &e))
		msg = json_get_str(json_get(o, "error"), "message");
	sim_error(r, d, status, msg ? msg : "the simulator could not answer");
	json_object_put(o);
}

/* ---- the held answers and the timer thread ---------------------------- */

static bool sim_held_before(const struct sim_held *a, const struct sim_held *b)
{
	return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static void sim_heap_swap(struct simhttp *s, size_t i, size_t j)
{
	struct sim_held *t = s->heap[i];

	s->heap[i] = s->heap[j];
	s->heap[j] = t;
}

/* sim_heap_push adds h; the caller holds s->mu. ERR_NOMEM leaves h the caller's. */
static int sim_heap_push(struct simhttp *s, struct sim_held *h)
{
	size_t i;

	if (s->n_heap == s->cap_heap) {
		size_t cap = s->cap_heap ? s->cap_heap * 2 : 64;
		struct sim_held **p = realloc(s->heap, cap * sizeof(*p));

		if (!p)
			return ERR_NOMEM;
		s->heap = p;
		s->cap_heap = cap;
	}
	i = s->n_heap++;
	s->heap[i] = h;
	while (i > 0 && sim_held_before(s->heap[i], s->heap[(i - 1) / 2])) {
		sim_heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

/* sim_heap_pop removes and returns the soonest answer; the caller holds s->mu. */
static struct sim_held *sim_heap_pop(struct simhttp *s)
{
	struct sim_held *top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->n_heap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->n_heap && sim_held_before(s->heap[l], s->heap[m]))
			m = l;
		if (r < s->n_heap && sim_held_before(s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			break;
		sim_heap_swap(s, i, m);
		i = m;
	}
	return top;
}

/*
 * sim_send counts an answer in the stats and sends it. The statistics are
 * updated before the answer leaves, so that a client that reads /stats right
 * after its answer sees it counted.
 */
static void sim_send(struct simhttp *s, struct http_request *req, struct sim_reply *r)
{
	pthread_mutex_lock(&s->mu);
	if (r->how != SR_CLOSE) {
		if (r->status >= 100 && r->status < 1000)
			s->st.by_status[r->status]++;
		if (r->status == 200) {
			s->st.tokens_in += r->in_tok;
			s->st.tokens_out += r->out_tok;
		}
	}
	if (r->slot)
		s->st.in_flight--;
	r->slot = false;
	pthread_mutex_unlock(&s->mu);
	switch (r->how) {
	case SR_SEND:
		http_reply(req, r->status, r->hdrs, r->n_hdrs, r->body, r->len);
		break;
	case SR_TRUNCATE:
		http_reply_truncated(req, r->status, r->hdrs, r->n_hdrs, r->body, r->len,
				     r->len > 1 ? r->len / 2 : 0);
		break;
	case SR_CLOSE:
		http_reply_close(req);
		break;
	}
	free(r->body);
	r->body = NULL;
}

/*
 * sim_finish sends r now or, when it has a delay, holds it for the timer
 * thread. r's body is taken over either way.
 */
static void sim_finish(struct simhttp *s, struct http_request *req, struct sim_reply *r)
{
	struct sim_held *h;

	if (r->delay_ms <= 0) {
		sim_send(s, req, r);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		sim_send(s, req, r);
		return;
	}
	sim_reply_move(&h->r, r);
	h->req = req;
	h->due = time_mono_ms() + h->r.delay_ms;
	pthread_mutex_lock(&s->mu);
	if (s->stopping || sim_heap_push(s, h)) {
		pthread_mutex_unlock(&s->mu);
		h->r.how = SR_CLOSE;
		sim_send(s, req, &h->r);
		free(h);
		return;
	}
	h->order = s->next_order++;
	if (s->heap[0] == h)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

static void sim_abs_time(int64_t due_mono_ms, struct timespec *ts)
{
	int64_t wait = due_mono_ms - time_mono_ms();

	clock_gettime(CLOCK_MONOTONIC, ts);
	if (wait < 0)
		wait = 0;
	ts->tv_sec += (time_t)(wait / 1000);
	ts->tv_nsec += (long)(wait % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* sim_timer_main sends each held answer when it is due, until the simulator stops. */
static void *sim_timer_main(void *arg)
{
	struct simhttp *s = arg;
	struct sim_held *h;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		if (!s->n_heap) {
			pthread_cond_wait(&s->wake, &s->mu);
			continue;
		}
		if (s->heap[0]->due > time_mono_ms()) {
			sim_abs_time(s->heap[0]->due, &ts);
			pthread_cond_timedwait(&s->wake, &s->mu, &ts);
			continue;
		}
		h = sim_heap_pop(s);
		pthread_mutex_unlock(&s->mu);
		sim_send(s, h->req, &h->r);
		free(h);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- requests --------------------------------------------------------- */

/*
 * sim_route_of reads the path: false when no endpoint has it. Bedrock's
 * model id is the one path segment between /model/ and the operation, and
 * it arrives percent-encoded ("...-v1%3A0").
 */
static bool sim_route_of(const char *path, struct sim_route *rt)
{
	static const struct {
		const char *path;
		const char *wire;
		enum sim_dialect d;
	} fixed[] = {
		{"/v1/chat/completions", "/chat/completions", SD_OPENAI},
		{"/chat/completions", "/chat/completions", SD_OPENAI},
		{"/v1/completions", "/completions", SD_OPENAI},
		{"/completions", "/completions", SD_OPENAI},
		{"/v1/embeddings", "/embeddings", SD_OPENAI},
		{"/embeddings", "/embeddings", SD_OPENAI},
		{"/v1/messages", "/messages", SD_ANTHROPIC},
	};
	const char *id, *slash;

	memset(rt, 0, sizeof(*rt));
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!strcmp(path, fixed[i].path)) {
			rt->d = fixed[i].d;
			rt->wire_path = fixed[i].wire;
			return true;
		}
	}
	if (strncmp(path, "/model/", 7))
		return false;
	rt->d = SD_BEDROCK;
	id = path + 7;
	slash = strchr(id, '/');
	if (!slash || slash == id)
		return false;
	if (!strcmp(slash, "/invoke"))
		rt->converse = false;
	else if (!strcmp(slash, "/converse"))
		rt->converse = true;
	else
		return false;
	rt->bedrock = true;
	rt->model_ok = !uri_pct_decode(id, (size_t)(slash - id), rt->model, sizeof(rt->model), false);
	return true;
}

/* sim_dialect_of guesses the dialect of a path no endpoint has, for its 404. */
static enum sim_dialect sim_dialect_of(const char *path)
{
	if (!strncmp(path, "/model/", 7))
		return SD_BEDROCK;
	if (!strncmp(path, "/v1/messages", 12))
		return SD_ANTHROPIC;
	return SD_OPENAI;
}

/* sim_key_equal compares every byte, so that timing does not tell how much of a key was right. */
static bool sim_key_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char d = na != nb;

	for (size_t i = 0; i < na; i++)
		d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
	return d == 0;
}

static bool sim_authorized(const struct simhttp *s, const struct http_request *req)
{
	const char *a, *x;

	if (!s->o.api_key)
		return true;
	a = http_request_header(req, "Authorization");
	if (a && !strncasecmp(a, "Bearer ", 7)) {
		a += 7;
		while (*a == ' ')
			a++;
		if (sim_key_equal(a, s->o.api_key))
			return true;
	}
	x = http_request_header(req, "x-api-key");
	return x && sim_key_equal(x, s->o.api_key);
}

/* sim_count_arrival records a model request's arrival; the caller holds s->mu. */
static uint64_t sim_count_arrival(struct simhttp *s, const char *path)
{
	struct simhttp_stats *st = &s->st;
	char key[SIMHTTP_PATH_KEY_MAX];
	int64_t t = time_mono_ms() - s->t0_ms;
	size_t i;

	st->requests++;
	if (st->arrivals && st->n_arrivals < SIMHTTP_MAX_ARRIVALS)
		st->arrivals[st->n_arrivals++] = (uint32_t)(t < 0 ? 0 : t);
	if (uri_pct_decode(path, strlen(path), key, sizeof(key), false)) {
		st->other_paths++;
	} else {
		for (i = 0; i < st->n_paths; i++)
			if (!strcmp(st->paths[i].path, key))
				break;
		if (i < st->n_paths) {
			st->paths[i].n++;
		} else if (st->n_paths < SIMHTTP_MAX_PATHS) {
			strcpy(st->paths[st->n_paths].path, key);
			st->paths[st->n_paths++].n = 1;
		} else {
			st->other_paths++;
		}
	}
	return s->next_seq++;
}

/* sim_pick_fault draws this request's fault, like simcore does for the in-process backend. */
static unsigned sim_pick_fault(const struct backend_cfg *cfg, struct rng *rng)
{
	unsigned bits[SIMHTTP_N_FAULTS];
	int n = 0;

	if (cfg->fail_rate <= 0 || rng_unit(rng) >= cfg->fail_rate)
		return 0;
	for (unsigned i = 0; i < SIMHTTP_N_FAULTS; i++)
		if (cfg->fail_types & (1u << i))
			bits[n++] = 1u << i;
	if (!n)
		return 0;
	return bits[rng_next(rng) % (uint64_t)n];
}

static int sim_fault_index(unsigned bit)
{
	for (int i = 0; i < SIMHTTP_N_FAULTS; i++)
		if (bit == (1u << i))
			return i;
	return -1;
}

/*
 * sim_check_openai applies the few rules real servers enforce before
 * generating, so that a client's broken request gets the 400 it would get.
 */
static const char *sim_check_openai(const char *wire_path, json_object *req)
{
	int64_t v;

	if (!strcmp(wire_path, "/chat/completions") &&
	    !json_is_type(json_get(req, "messages"), json_type_array))
		return "'messages' is a required array";
	if (!strcmp(wire_path, "/completions") && !json_get(req, "prompt"))
		return "'prompt' is a required property";
	if (!strcmp(wire_path, "/embeddings") && !json_get(req, "input"))
		return "'input' is a required property";
	if (!strcmp(wire_path, "/messages")) {
		if (!json_is_type(json_get(req, "messages"), json_type_array))
			return "messages: Field required";
		if (!json_get_int64(req, "max_tokens", &v) || v < 1)
			return "max_tokens: Field required (a positive integer)";
	}
	return NULL;
}

/* sim_gen_direct answers an OpenAI or Anthropic request with simcore's answer. */
static void sim_gen_direct(struct simhttp *s, struct rng *rng, const struct sim_route *rt,
			   const struct http_request *req, struct sim_reply *r)
{
	struct sim_answer a;
	json_object *o = NULL;
	const char *why;
	struct err e;

	err_init(&e);
	if (json_parse(req->body, req->body_len, &o, &e)) {
		sim_error(r, rt->d, 400, e.msg);
		return;
	}
	why = json_is_type(o, json_type_object) ? sim_check_openai(rt->wire_path, o)
						: "the request body must be a JSON object";
	json_object_put(o);
	if (why) {
		sim_error(r, rt->d, 400, why);
		return;
	}
	if (sim_respond(&s->nofault, rng, rt->wire_path, req->body, req->body_len, &a)) {
		sim_error(r, rt->d, 500, "the simulator ran out of memory");
		return;
	}
	if (a.status != 200) {
		sim_error_from_body(r, rt->d, a.status, a.body, a.body_len);
	} else {
		r->status = 200;
		r->body = a.body;
		r->len = a.body_len;
		a.body = NULL;
		r->in_tok = a.input_tokens;
		r->out_tok = a.output_tokens;
		r->delay_ms = a.latency_ms;
	}
	sim_answer_free(&a);
}

/*
 * sim_model_of resolves a Bedrock model id (or a foundation-model ARN) to
 * its configuration, and its family for the operation.
 */
static const struct model_cfg *sim_model_of(const struct simhttp *s, const struct sim_route *rt,
					    const struct family **fam)
{
	const char *id = rt->model;
	const char *fm = strstr(id, ":foundation-model/");
	const struct model_cfg *m;

	if (!strncmp(id, "arn:", 4) && fm)
		id = fm + strlen(":foundation-model/");
	m = s->o.conf ? config_find_model(s->o.conf, id) : NULL;
	*fam = NULL;
	if (m)
		*fam = family_by_name(rt->converse ? "converse" : m->family);
	return m;
}

/*
 * sim_gen_bedrock answers InvokeModel or Converse: the model's family turns
 * the native body into a chat or completion request, simcore answers that,
 * and the family turns the answer back into its native modelOutput, as the
 * barge sim backend does in-process.
 */
static void sim_gen_bedrock(struct simhttp *s, struct rng *rng, const struct sim_route *rt,
			    const struct http_request *req, struct sim_reply *r)
{
	const struct family *fam;
	const struct model_cfg *m = rt->model_ok ? sim_model_of(s, rt, &fam) : NULL;
	const char *upstream;
	json_object *mi = NULL, *ans = NULL;
	struct wire_req wr = {0};
	struct wire_resp resp;
	struct sim_answer a = {0};
	struct usage u = {0, 0};
	struct buf out;
	struct err e;

	err_init(&e);
	buf_init(&out, (size_t)64 << 20);
	if (!m) {
		sim_error(r, SD_BEDROCK, 400, "The provided model identifier is invalid.");
		goto fail;
	}
	if (!fam || !family_supports_wire(fam, WIRE_BEDROCK)) {
		sim_error(r, SD_BEDROCK, 400,
			  "This model does not support the requested operation on Bedrock runtime.");
		goto fail;
	}
	if (rt->converse) {
		const struct family *own = family_by_name(m->family);

		if (own && (own->embeddings || own->id == FAM_TITAN_EMBED)) {
			sim_error(r, SD_BEDROCK, 400,
				  "This model doesn't support the Converse operation.");
			goto fail;
		}
	}
	upstream = m->upstream[0] ? m->upstream : m->id;
	if (json_parse(req->body, req->body_len, &mi, &e)) {
		char msg[ERR_MSG_MAX + 32];

		snprintf(msg, sizeof(msg), "Malformed input request: %s", e.msg);
		sim_error(r, SD_BEDROCK, 400, msg);
		goto fail;
	}
	if (!json_is_type(mi, json_type_object) || fam->validate(mi, &e) ||
	    fam->to_wire(WIRE_OPENAI, mi, NULL, 0, upstream, &wr, &e)) {
		char msg[ERR_MSG_MAX + 32];

		snprintf(msg, sizeof(msg), "Malformed input request: %s",
			 json_is_type(mi, json_type_object) ? e.msg : "the body must be a JSON object");
		sim_error(r, SD_BEDROCK, 400, msg);
		goto fail;
	}
	if (sim_respond(&s->nofault, rng, wr.path, wr.body, wr.body_len, &a)) {
		sim_error(r, SD_BEDROCK, 500, "the simulator ran out of memory");
		goto fail;
	}
	if (a.status != 200) {
		sim_error_from_body(r, SD_BEDROCK, a.status, a.body, a.body_len);
		goto fail;
	}
	if (json_parse(a.body, a.body_len, &ans, &e)) {
		sim_error(r, SD_BEDROCK, 500, e.msg);
		goto fail;
	}
	resp.body = ans;
	resp.hdr_input_tokens = resp.hdr_output_tokens = -1;
	if (fam->from_wire(WIRE_OPENAI, mi, &resp, upstream, &out, &u, &e)) {
		sim_error(r, SD_BEDROCK, 500, e.msg);
		goto fail;
	}
	r->status = 200;
	sim_reply_body(r, &out);
	r->in_tok = u.input_tokens;
	r->out_tok = u.output_tokens;
	r->delay_ms = a.latency_ms;
	sim_reply_header(r, "X-Amzn-Bedrock-Input-Token-Count", "%lld", (long long)u.input_tokens);
	sim_reply_header(r, "X-Amzn-Bedrock-Output-Token-Count", "%lld",
			 (long long)u.output_tokens);
	sim_reply_header(r, "X-Amzn-Bedrock-Invocation-Latency", "%lld", (long long)a.latency_ms);
fail:
	json_object_put(ans);
	json_object_put(mi);
	free(wr.body);
	sim_answer_free(&a);
	buf_free(&out);
}

/* sim_request_id names a request in the header its dialect's clients read. */
static void sim_request_id(struct sim_reply *r, enum sim_dialect d, uint64_t seq)
{
	static const char *const names[] = {"x-request-id", "request-id", "x-amzn-RequestId"};

	sim_reply_header(r, names[d], "sim-%08llx-%06llu", (unsigned long long)mix64(seq) & 0xffffffffULL,
			 (unsigned long long)seq);
}

/*
 * sim_admit takes one of max_seqs for a request about to be generated;
 * false when all are busy. The caller holds s->mu.
 */
static bool sim_admit(struct simhttp *s)
{
	int max = s->o.sim.max_seqs;

	if (max > 0 && s->st.in_flight >= max) {
		s->st.rejected++;
		return false;
	}
	s->st.in_flight++;
	if (s->st.in_flight > s->st.max_in_flight)
		s->st.max_in_flight = s->st.in_flight;
	return true;
}

/*
 * sim_apply_fault turns the drawn fault into the answer. Faults that stand
 * for a failing server (429, 500, 503, reset, timeout) come before any
 * generation; malformed and truncated spoil an answer that was generated.
 * Returns true when the answer is complete.
 */
static bool sim_apply_fault(struct simhttp *s, unsigned fault, enum sim_dialect d,
			    struct sim_reply *r)
{
	switch (fault) {
	case SIMF_429:
		sim_error(r, d, 429, "simulated: too many requests");
		sim_reply_header(r, "Retry-After", "%d", s->o.sim.retry_after_s);
		return true;
	case SIMF_500:
		sim_error(r, d, 500, "simulated: internal server error");
		return true;
	case SIMF_503:
		sim_error(r, d, 503, "simulated: service unavailable");
		return true;
	case SIMF_RESET:
		r->how = SR_CLOSE;
		return true;
	case SIMF_TIMEOUT:
		/* A hung server holds no generation slot: it is not generating. */
		r->how = SR_CLOSE;
		r->delay_ms = s->o.hang_ms > 0 ? s->o.hang_ms : 1;
		return true;
	default:
		return false;
	}
}

/*
 * sim_count_fault counts a fault that took effect; release gives back the
 * request's generation slot at the same time (a hung request holds none).
 */
static void sim_count_fault(struct simhttp *s, unsigned fault, bool release)
{
	int fi = sim_fault_index(fault);

	pthread_mutex_lock(&s->mu);
	if (fi >= 0)
		s->st.faults[fi]++;
	if (release)
		s->st.in_flight--;
	pthread_mutex_unlock(&s->mu);
}

static int sim_lookup_secret(void *ctx, const char *akid, struct buf *secret, struct err *e)
{
	const struct simhttp *s = ctx;

	if (strcmp(akid, s->o.aws_access_key_id))
		return err_set(e, ERR_NOTFOUND, "unknown access key");
	return buf_puts(secret, s->o.aws_secret_access_key);
}

/*
 * sim_signature_ok checks a Bedrock request's SigV4 signature when the
 * server was given AWS credentials, answering 403 as Bedrock does when it
 * is wrong. This is how tests prove that barge's bedrock backend signs
 * correctly: against the same verifier barge's own API uses.
 */
static bool sim_signature_ok(struct simhttp *s, struct http_request *req,
			     struct sim_reply *r)
{
	struct sigv4_verified v;
	struct err e;

	if (!s->o.aws_access_key_id)
		return true;
	err_init(&e);
	if (auth_verify_sigv4(req, sim_lookup_secret, s, &v, &e) == 0)
		return true;
	sim_error_named(r, SD_BEDROCK, sigv4_verdict_http_status(v.verdict),
			sigv4_verdict_aws_code(v.verdict), e.msg);
	return false;
}

#define SIM_SEEN_MAX ((size_t)1 << 21)

/*
 * sim_seen counts one more arrival of body hash h and returns how many came
 * before. The table is capped: when it fills it starts over, which only
 * makes later repeats draw as first arrivals. The caller holds s->mu.
 */
static uint32_t sim_seen(struct simhttp *s, uint64_t h)
{
	size_t i;

	if (h == 0)
		h = 1; /* 0 marks a free slot */
	if (s->seen_n * 2 >= s->seen_cap) {
		size_t ncap = s->seen_cap ? s->seen_cap * 2 : 4096;
		uint64_t *nk;
		uint32_t *nc;

		if (ncap > SIM_SEEN_MAX) {
			memset(s->seen_keys, 0, s->seen_cap * sizeof(*s->seen_keys));
			s->seen_n = 0;
		} else {
			nk = calloc(ncap, sizeof(*nk));
			nc = calloc(ncap, sizeof(*nc));
			if (!nk || !nc) {
				free(nk);
				free(nc);
				return 0;
			}
			for (size_t j = 0; j < s->seen_cap; j++) {
				if (!s->seen_keys[j])
					continue;
				for (i = s->seen_keys[j] & (ncap - 1); nk[i]; i = (i + 1) & (ncap - 1))
					;
				nk[i] = s->seen_keys[j];
				nc[i] = s->seen_counts[j];
			}
			free(s->seen_keys);
			free(s->seen_counts);
			s->seen_keys = nk;
			s->seen_counts = nc;
			s->seen_cap = ncap;
		}
	}
	for (i = h & (s->seen_cap - 1); s->seen_keys[i]; i = (i + 1) & (s->seen_cap - 1)) {
		if (s->seen_keys[i] == h)
			return s->seen_counts[i]++;
	}
	s->seen_keys[i] = h;
	s->seen_counts[i] = 1;
	s->seen_n++;
	return 0;
}

/* sim_handle_model serves a request for one of the model endpoints. */
static void sim_handle_model(struct simhttp *s, struct http_request *req,
			     const struct sim_route *rt, uint64_t seq)
{
	struct sim_reply r;
	struct rng rng;
	unsigned fault;

	sim_reply_init(&r);
	sim_request_id(&r, rt->d, seq);
	if (strcmp(req->method, "POST")) {
		sim_error(&r, rt->d, 405, "this endpoint takes POST");
		sim_reply_header(&r, "Allow", "POST");
		goto send;
	}
	if (rt->bedrock && s->o.aws_access_key_id) {
		if (!sim_signature_ok(s, req, &r))
			goto send;
	} else if (!sim_authorized(s, req)) {
		sim_error(&r, rt->d, 401,
			  "missing or wrong API key: send \"Authorization: Bearer KEY\" or "
			  "\"x-api-key: KEY\"");
		goto send;
	}
	/* A request's faults depend only on the seed, its body and its repeat. */
	{
		uint64_t h = hash64(req->body, req->body_len, 0x73696d);
		uint32_t n;

		pthread_mutex_lock(&s->mu);
		n = sim_seen(s, h);
		pthread_mutex_unlock(&s->mu);
		rng_seed(&rng, s->o.sim.seed ^ mix64(h) ^ mix64(n + 0x9e3779b97f4a7c15ULL));
	}
	fault = sim_pick_fault(&s->o.sim, &rng);
	pthread_mutex_lock(&s->mu);
	r.slot = sim_admit(s);
	pthread_mutex_unlock(&s->mu);
	if (!r.slot) {
		sim_error(&r, rt->d, 429, "simulated: every sequence slot is busy (max_seqs)");
		sim_reply_header(&r, "Retry-After", "%d", s->o.sim.retry_after_s);
		goto send;
	}
	if (sim_apply_fault(s, fault, rt->d, &r)) {
		sim_count_fault(s, fault, fault == SIMF_TIMEOUT);
		if (fault == SIMF_TIMEOUT)
			r.slot = false;
		goto send;
	}
	if (rt->bedrock)
		sim_gen_bedrock(s, &rng, rt, req, &r);
	else
		sim_gen_direct(s, &rng, rt, req, &r);
	if (r.status != 200) {
		/* Rejected requests are answered at once, as real servers do. */
		r.delay_ms = 0;
	} else if (fault == SIMF_MALFORMED) {
		free(r.body);
		r.body = strdup(malformed_body);
		r.len = r.body ? strlen(r.body) : 0;
		sim_count_fault(s, fault, false);
	} else if (fault == SIMF_TRUNCATED) {
		r.how = SR_TRUNCATE;
		sim_count_fault(s, fault, false);
	}
send:
	sim_reply_header(&r, "Content-Type", "application/json");
	sim_finish(s, req, &r);
}

/* ---- /stats and /healthz ------------------------------------------------ */

/*
 * sim_stats_json writes /stats:
 * {"requests", "by_status": {"200": n}, "faults": {"429": n, ..., "truncated": n},
 *  "rejected_over_max_seqs", "in_flight", "max_in_flight", "by_path": {path: n},
 *  "tokens": {"input", "output"}, "arrivals_ms": [...]}.
 * The caller holds s->mu.
 */
static void sim_stats_json(const struct simhttp *s, struct buf *b)
{
	const struct simhttp_stats *st = &s->st;
	bool first = true;

	buf_printf(b, "{\"requests\":%lld,\"by_status\":{", (long long)st->requests);
	for (int i = 100; i < 1000; i++) {
		if (!st->by_status[i])
			continue;
		buf_printf(b, "%s\"%d\":%lld", first ? "" : ",", i, (long long)st->by_status[i]);
		first = false;
	}
	buf_puts(b, "},\"faults\":{");
	for (int i = 0; i < SIMHTTP_N_FAULTS; i++)
		buf_printf(b, "%s\"%s\":%lld", i ? "," : "", fault_names[i],
			   (long long)st->faults[i]);
	buf_printf(b, "},\"rejected_over_max_seqs\":%lld,\"in_flight\":%lld,\"max_in_flight\":%lld,"
		      "\"by_path\":{",
		   (long long)st->rejected, (long long)st->in_flight, (long long)st->max_in_flight);
	for (size_t i = 0; i < st->n_paths; i++) {
		if (i)
			buf_putc(b, ',');
		buf_put_json_cstr(b, st->paths[i].path);
		buf_printf(b, ":%lld", (long long)st->paths[i].n);
	}
	if (st->other_paths)
		buf_printf(b, "%s\"(other)\":%lld", st->n_paths ? "," : "",
			   (long long)st->other_paths);
	buf_printf(b, "},\"tokens\":{\"input\":%lld,\"output\":%lld},\"arrivals_ms\":[",
		   (long long)st->tokens_in, (long long)st->tokens_out);
	for (size_t i = 0; i < st->n_arrivals; i++)
		buf_printf(b, i ? ",%u" : "%u", st->arrivals[i]);
	buf_puts(b, "]}");
}

/*
 * sim_stats_reset zeroes the counters. Requests still being generated stay
 * counted in in_flight, since they will be released later; the peak starts
 * again from them. The request numbers start again too, so the faults after
 * a reset repeat those after the start.
 */
static void sim_stats_reset(struct simhttp *s)
{
	struct simhttp_stats *st = &s->st;
	uint32_t *arr = st->arrivals;
	int64_t in_flight = st->in_flight;

	memset(st, 0, sizeof(*st));
	st->arrivals = arr;
	st->in_flight = in_flight;
	st->max_in_flight = in_flight;
	s->next_seq = 0;
	if (s->seen_keys)
		memset(s->seen_keys, 0, s->seen_cap * sizeof(*s->seen_keys));
	s->seen_n = 0;
}

/* sim_handle_control serves /healthz, /stats and /stats/reset; false for other paths. */
static bool sim_handle_control(struct simhttp *s, struct http_request *req)
{
	struct sim_reply r;
	const char *want;
	struct buf b;

	if (!strcmp(req->path, "/healthz"))
		want = "GET";
	else if (!strcmp(req->path, "/stats"))
		want = "GET";
	else if (!strcmp(req->path, "/stats/reset"))
		want = "POST";
	else
		return false;
	sim_reply_init(&r);
	sim_reply_header(&r, "Content-Type", "application/json");
	if (strcmp(req->method, want)) {
		sim_error(&r, SD_OPENAI, 405, "wrong method for this endpoint");
		sim_reply_header(&r, "Allow", "%s", want);
	} else if (!strcmp(req->path, "/healthz")) {
		r.body = strdup("{\"status\":\"ok\"}");
		r.len = r.body ? strlen(r.body) : 0;
	} else if (!sim_authorized(s, req)) {
		sim_error(&r, SD_OPENAI, 401, "missing or wrong API key");
	} else {
		buf_init(&b, SIM_STATS_MAX);
		pthread_mutex_lock(&s->mu);
		if (!strcmp(req->path, "/stats/reset")) {
			sim_stats_reset(s);
			buf_puts(&b, "{\"status\":\"reset\"}");
		} else {
			sim_stats_json(s, &b);
		}
		pthread_mutex_unlock(&s->mu);
		sim_reply_body(&r, &b);
		buf_free(&b);
	}
	http_reply(req, r.status, r.hdrs, r.n_hdrs, r.body, r.len);
	free(r.body);
	return true;
}

void simhttp_handle(void *ud, struct http_request *req)
{
	struct simhttp *s = ud;
	struct sim_route rt;
	struct sim_reply r;
	uint64_t seq;
	bool known;

	if (sim_handle_control(s, req))
		return;
	known = sim_route_of(req->path, &rt);
	pthread_mutex_lock(&s->mu);
	seq = sim_count_arrival(s, req->path);
	pthread_mutex_unlock(&s->mu);
	if (known) {
		sim_handle_model(s, req, &rt, seq);
		return;
	}
	sim_reply_init(&r);
	sim_error(&r, sim_dialect_of(req->path), 404,
		  "no such endpoint: the simulator serves POST /v1/chat/completions, "
		  "/v1/completions, /v1/embeddings, /v1/messages, /model/{modelId}/invoke and "
		  "/model/{modelId}/converse");
	sim_reply_header(&r, "Content-Type", "application/json");
	sim_finish(s, req, &r);
}

/* ---- life cycle --------------------------------------------------------- */

int simhttp_init(struct simhttp *s, const struct simhttp_opts *o, struct err *e)
{
	pthread_condattr_t ca;

	memset(s, 0, sizeof(*s));
	s->o = *o;
	s->nofault = o->sim;
	s->nofault.fail_rate = 0;
	s->st.arrivals = malloc(SIMHTTP_MAX_ARRIVALS * sizeof(*s->st.arrivals));
	if (!s->st.arrivals)
		return err_set(e, ERR_NOMEM, "out of memory for the simulator's statistics");
	pthread_mutex_init(&s->mu, NULL);
	/* A monotonic clock keeps held answers on time when the wall clock jumps. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->t0_ms = time_mono_ms();
	return 0;
}

int simhttp_start(struct simhttp *s, struct err *e)
{
	int rc;

	if (s->timer_running)
		return 0;
	rc = pthread_create(&s->timer, NULL, sim_timer_main, s);
	if (rc)
		return err_set(e, ERR_NOMEM, "cannot start the simulator's timer thread: %s",
			       strerror(rc));
	s->timer_running = true;
	return 0;
}

void simhttp_stop(struct simhttp *s)
{
	struct sim_held *h;

	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->mu);
	if (s->timer_running) {
		pthread_join(s->timer, NULL);
		s->timer_running = false;
	}
	/*
	 * A stopping server answers nothing more: what is still held is closed,
	 * so that the HTTP server, which waits for every answer, can stop.
	 */
	pthread_mutex_lock(&s->mu);
	while (s->n_heap) {
		h = sim_heap_pop(s);
		pthread_mutex_unlock(&s->mu);
		free(h->r.body);
		h->r.body = NULL;
		h->r.how = SR_CLOSE;
		sim_send(s, h->req, &h->r);
		free(h);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
}

void simhttp_free(struct simhttp *s)
{
	if (!s->st.arrivals)
		return;
	simhttp_stop(s);
	free(s->heap);
	s->heap = NULL;
	free(s->st.arrivals);
	s->st.arrivals = NULL;
	free(s->seen_keys);
	free(s->seen_counts);
	s->seen_keys = NULL;
	s->seen_counts = NULL;
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
}
