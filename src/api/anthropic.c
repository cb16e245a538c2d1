/* anthropic.c - the Anthropic Message Batches API (reference/anthropic-batches.md) on the job core. */
#include "api/anthropic.h"
#include "api/auth.h"
#include "api/dialect.h"
#include "core/jsonl.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A batch is a barge job whose input barge writes itself: each request
 * becomes a Bedrock record ({"recordId": custom_id, "modelInput": params
 * without "model"}) in <batches>/anthropic/<job id>/requests.jsonl, and the
 * job writes its output under the same prefix. The batch id is "msgbatch_"
 * and the job id. docs/dialects.md gives the choices made where the
 * reference is silent.
 */

#define BATCH_PREFIX "msgbatch_"
#define BATCH_PREFIX_LEN 9
#define JOB_NAME_PREFIX "msgbatch-"
#define MAX_REQUESTS 100000
#define CUSTOM_ID_MAX 64
#define LIST_DEFAULT 20
#define LIST_MAX 1000
#define PATH_BASE "/v1/messages/batches"
#define BEDROCK_ANTHROPIC_VERSION "bedrock-2023-05-31"

static void reply_json(struct http_request *req, int status, const struct buf *b);

void anthropic_reply_error(struct http_request *req, int status, const char *type,
			   const char *msg)
{
	struct http_header h[] = {{"Content-Type", "application/json"}};
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_puts(&b, "{\"type\":\"error\",\"error\":{\"type\":");
	buf_put_json_cstr(&b, type);
	buf_puts(&b, ",\"message\":");
	buf_put_json_cstr(&b, msg);
	buf_puts(&b, "}}");
	http_reply(req, status, h, 1, b.data, b.len);
	buf_free(&b);
}

/* reply_err answers with the Anthropic error a service code means. */
static void reply_err(struct http_request *req, const struct err *e)
{
	switch (e->code) {
	case ERR_INVAL:
	case ERR_CONFLICT:
		anthropic_reply_error(req, 400, "invalid_request_error", e->msg);
		break;
	case ERR_NOTFOUND:
		anthropic_reply_error(req, 404, "not_found_error", e->msg);
		break;
	case ERR_LIMIT:
		anthropic_reply_error(req, 429, "rate_limit_error", e->msg);
		break;
	case ERR_AUTH:
		anthropic_reply_error(req, 403, "permission_error", e->msg);
		break;
	default:
		log_error("api: %s", e->msg);
		anthropic_reply_error(req, 500, "api_error", "the server failed to answer; see its log");
	}
}

static void reply_json(struct http_request *req, int status, const struct buf *b)
{
	struct http_header h[] = {{"Content-Type", "application/json"}};

	if (b->err) {
		anthropic_reply_error(req, 500, "api_error", "the answer is too large");
		return;
	}
	http_reply(req, status, h, 1, b->data, b->len);
}

/* batch_dir returns "<batches>/anthropic/<job id>" (malloc'd) or NULL. */
static char *batch_dir(const struct service *svc, const char *job_id)
{
	char rel[64];

	snprintf(rel, sizeof(rel), "anthropic/%s", job_id);
	return objects_join(svc->batches, rel);
}

/*
 * anthropic_find_model resolves a Messages API model name: a configured
 * model id, a model's upstream name, or the bare Anthropic name a Bedrock
 * id embeds ("claude-3-5-haiku-20241022" for
 * "anthropic.claude-3-5-haiku-20241022-v1:0"). NULL when none matches.
 */
const struct model_cfg *anthropic_find_model(const struct config *c, const char *name)
{
	const struct model_cfg *m = config_find_model(c, name);
	size_t n = strlen(name);

	if (m)
		return m;
	for (size_t i = 0; i < c->n_models; i++) {
		if (!strcmp(c->models[i].upstream, name))
			return &c->models[i];
	}
	for (size_t i = 0; i < c->n_models; i++) {
		const char *id = c->models[i].id, *rest;
		unsigned maj, min;
		int used = 0;

		if (strncmp(id, "anthropic.", 10) || strncmp(id + 10, name, n))
			continue;
		rest = id + 10 + n;
		/* Only a version suffix may follow, so "claude-3" names no model. */
		if (sscanf(rest, "-v%u:%u%n", &maj, &min, &used) == 2 && rest[used] == '\0')
			return &c->models[i];
	}
	return NULL;
}

/* ---- create ---- */

struct create_ctx {
	struct service *svc;
	struct obj_writer *w;
	struct idset ids;
	struct buf line;
	const struct model_cfg *model;
	char model_name[128];
	size_t n;
	struct err *e;
};

static bool valid_custom_id(const char *s, size_t n)
{
	if (n < 1 || n > CUSTOM_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* take_model checks that request idx names the batch's one model. */
static int take_model(struct create_ctx *C, size_t idx, json_object *params)
{
	const char *name = json_get_str(params, "model");

	if (!name)
		return err_set(C->e, ERR_INVAL, "requests[%zu].params.model: a string is required", idx);
	if (!C->model) {
		C->model = anthropic_find_model(C->svc->cfg, name);
		if (!C->model)
			return err_set(C->e, ERR_INVAL,
				       "requests[%zu].params.model: no model \"%.100s\" is configured on "
				       "this server (see barge models)",
				       idx, name);
		if (strcmp(C->model->family, "anthropic-messages"))
			return err_set(C->e, ERR_INVAL,
				       "requests[%zu].params.model: %.100s is a %s model, not a Claude "
				       "Messages model",
				       idx, name, C->model->family);
		snprintf(C->model_name, sizeof(C->model_name), "%s", name);
		return 0;
	}
	if (strcmp(name, C->model_name))
		return err_set(C->e, ERR_INVAL,
			       "requests[%zu].params.model is \"%.100s\" but requests[0]'s is \"%.100s\": "
			       "barge runs one model per batch, so send one batch per model",
			       idx, name, C->model_name);
	return 0;
}

/* add_request turns one element of "requests" into a record line of the input. */
static int add_request(const char *val, size_t len, size_t idx, void *ud)
{
	struct create_ctx *C = ud;
	json_object *req = NULL, *params, *input = NULL;
	struct idset_entry *found;
	const char *cid;
	struct err pe;
	int rc;

	if (idx >= MAX_REQUESTS) {
		rc = err_set(C->e, ERR_INVAL, "a batch holds at most %d requests", MAX_REQUESTS);
		goto out;
	}
	if (json_parse(val, len, &req, &pe) || !json_is_type(req, json_type_object)) {
		rc = err_set(C->e, ERR_INVAL, "requests[%zu]: an object is required", idx);
		goto out;
	}
	cid = json_get_str(req, "custom_id");
	if (!cid || !valid_custom_id(cid, strlen(cid))) {
		rc = err_set(C->e, ERR_INVAL,
			     "requests[%zu].custom_id: 1 to %d letters, digits, '_' and '-' are "
			     "required",
			     idx, CUSTOM_ID_MAX);
		goto out;
	}
	params = json_get(req, "params");
	if (!json_is_type(params, json_type_object)) {
		rc = err_set(C->e, ERR_INVAL, "requests[%zu].params: an object is required", idx);
		goto out;
	}
	rc = idset_add(&C->ids, cid, strlen(cid), idx, 0, &found);
	if (rc == 1) {
		rc = err_set(C->e, ERR_INVAL,
			     "requests[%zu].custom_id \"%s\" is already the custom_id of "
			     "requests[%llu]: each must be unique",
			     idx, cid, (unsigned long long)found->a);
		goto out;
	}
	if (rc < 0) {
		rc = err_set(C->e, rc, "out of memory");
		goto out;
	}
	if ((rc = take_model(C, idx, params)))
		goto out;
	/* The Bedrock form of the body: no model, an anthropic_version. */
	if (json_object_deep_copy(params, &input, NULL)) {
		rc = err_set(C->e, ERR_NOMEM, "out of memory");
		goto out;
	}
	json_object_object_del(input, "model");
	if (!json_get(input, "anthropic_version"))
		json_object_object_add(input, "anthropic_version",
				       json_object_new_string(BEDROCK_ANTHROPIC_VERSION));
	buf_reset(&C->line);
	buf_puts(&C->line, "{\"recordId\":");
	buf_put_json_cstr(&C->line, cid);
	buf_puts(&C->line, ",\"modelInput\":");
	json_put(&C->line, input);
	buf_puts(&C->line, "}\n");
	if (C->line.err) {
		rc = err_set(C->e, ERR_INVAL,
			     "requests[%zu] is too large: as a record it takes more than the "
			     "server's max_line_bytes (%zu bytes)",
			     idx, C->svc->cfg->limits.max_line_bytes);
		goto out;
	}
	rc = obj_writer_write(C->w, C->line.data, C->line.len, C->e);
	C->n++;
out:
	json_object_put(input);
	json_object_put(req);
	return rc;
}

struct requests_span {
	const char *val;
	size_t len;
	bool twice;
};

/*
 * find_requests takes the body's "requests" member. A second one is
 * flagged: which of the two a client meant cannot be known, and another
 * JSON reader would take the other one.
 */
static int find_requests(const struct json_span *m, void *ud)
{
	struct requests_span *r = ud;

	if (!json_span_key_is(m, "requests"))
		return 0;
	if (r->val) {
		r->twice = true;
		return 1;
	}
	r->val = m->val;
	r->len = m->val_len;
	return 0;
}

/*
 * write_input validates the body's requests and writes them as the job's
 * input at uri, one element at a time so that a large batch is never held
 * as one tree. Fills C->model and C->n. On failure nothing is left at uri.
 */
static int write_input(struct create_ctx *C, const struct http_request *req, const char *uri)
{
	struct requests_span rs = {0};
	int rc;

	if ((rc = json_validate(req->body, req->body_len, C->e))) {
		err_prefix(C->e, "the request body is not JSON");
		return ERR_INVAL;
	}
	if (json_scan_object(req->body, req->body_len, find_requests, &rs) < 0 || !rs.val ||
	    rs.val[0] != '[')
		return err_set(C->e, ERR_INVAL, "requests: an array of requests is required");
	if (rs.twice)
		return err_set(C->e, ERR_INVAL, "requests: the body holds the key twice; send it once");
	if ((rc = objects_open_write(C->svc->obj, uri, &C->w, C->e)))
		return rc;
	rc = json_scan_array(rs.val, rs.len, add_request, C);
	if (!rc && C->n == 0)
		rc = err_set(C->e, ERR_INVAL, "requests: at least one request is required");
	if (rc) {
		obj_writer_abort(C->w);
		C->w = NULL;
		return rc;
	}
	rc = obj_writer_commit(C->w, C->e);
	C->w = NULL;
	return rc;
}

/* ---- the batch object ---- */

/* batch_requests reads the request count kept in the job's barge:requests tag. */
static int64_t batch_requests(const struct job *j)
{
	const char *p = j->tags_json ? strstr(j->tags_json, "\"barge:requests\",\"value\":\"") : NULL;

	return p ? strtoll(p + 26, NULL, 10) : j->c.total;
}

static bool is_batch(const struct job *j)
{
	return j->tags_json && strstr(j->tags_json, "\"barge:dialect\",\"value\":\"anthropic\"");
}

static void put_time(struct buf *b, const char *key, int64_t ms)
{
	char t[40];

	buf_printf(b, ",\"%s\":", key);
	if (!ms) {
		buf_puts(b, "null");
		return;
	}
	time_format_rfc3339_ms(ms, t, sizeof(t));
	buf_printf(b, "\"%s\"", t);
}

/*
 * put_batch writes the Message Batch object of job j. A request not run
 * when the job ended was canceled (a stop), expired (out of time) or, when
 * the whole job failed, errored.
 */
/* cancel_ms is when a cancel of batch j was asked, or 0. */
static int64_t cancel_ms(struct service *svc, const struct job *j)
{
	char *dir = batch_dir(svc, j->id);
	int64_t ms = dir ? dialect_cancel_ms(svc->obj, dir, j) : j->modified_ms;

	free(dir);
	return ms;
}

static void put_batch(struct service *svc, struct buf *b, const struct job *j,
		      const struct http_request *req)
{
	int64_t total = batch_requests(j), rest = total - j->c.processed;
	int64_t canceled = 0, expired = 0, errored = j->c.errors, processing = 0;
	bool ended = job_status_terminal(j->status);
	const char *host = http_request_header(req, "Host");

	if (rest < 0)
		rest = 0;
	if (!ended)
		processing = rest;
	else if (j->status == JS_STOPPED)
		canceled = rest;
	else if (j->status == JS_FAILED)
		errored += rest;
	else
		expired = rest;
	buf_printf(b, "{\"id\":\"" BATCH_PREFIX "%s\",\"type\":\"message_batch\","
		      "\"processing_status\":\"%s\"",
		   j->id, ended ? "ended" : j->status == JS_STOPPING ? "canceling" : "in_progress");
	buf_printf(b, ",\"request_counts\":{\"processing\":%lld,\"succeeded\":%lld,"
		      "\"errored\":%lld,\"canceled\":%lld,\"expired\":%lld}",
		   (long long)processing, (long long)j->c.success, (long long)errored,
		   (long long)canceled, (long long)expired);
	put_time(b, "created_at", j->submit_ms);
	put_time(b, "expires_at", j->expire_ms);
	put_time(b, "ended_at", ended ? j->end_ms : 0);
	put_time(b, "cancel_initiated_at", cancel_ms(svc, j));
	buf_puts(b, ",\"archived_at\":null,\"results_url\":");
	if (ended && host) {
		char url[HTTP_HOST_MAX + 128];

		snprintf(url, sizeof(url), "http://%.*s" PATH_BASE "/" BATCH_PREFIX "%s/results",
			 HTTP_HOST_MAX, host, j->id);
		buf_put_json_cstr(b, url);
	} else {
		buf_puts(b, "null");
	}
	buf_putc(b, '}');
}

/*
 * get_batch finds batch id of account a: ERR_NOTFOUND for an id that is no
 * batch of the account, or a deleted one. *j is the caller's to job_free.
 */
static int get_batch(struct service *svc, const struct account_cfg *a, const char *id,
		     struct job *j, struct err *e)
{
	struct obj_stat st;
	char *dir, *uri;
	int rc;

	job_init(j);
	if (strncmp(id, BATCH_PREFIX, BATCH_PREFIX_LEN) ||
	    strlen(id) != BATCH_PREFIX_LEN + IDS_JOB_LEN)
		return err_set(e, ERR_NOTFOUND, "no message batch %.80s was found", id);
	rc = service_get(svc, a, id + BATCH_PREFIX_LEN, j, e);
	if (rc == ERR_INVAL || rc == ERR_NOTFOUND || (!rc && !is_batch(j))) {
		job_free(j);
		return err_set(e, ERR_NOTFOUND, "no message batch %.80s was found", id);
	}
	if (rc)
		return rc;
	/* A deleted batch keeps its job row; its input is gone. */
	dir = batch_dir(svc, j->id);
	uri = dir ? objects_join(dir, "requests.jsonl") : NULL;
	rc = uri ? objects_stat(svc->obj, uri, &st, e) : err_set(e, ERR_NOMEM, "out of memory");
	free(dir);
	free(uri);
	if (rc) {
		job_free(j);
		return err_set(e, ERR_NOTFOUND, "no message batch %.80s was found", id);
	}
	return 0;
}

/* ---- operations ---- */

static void op_create(struct service *svc, struct http_request *req, const struct account_cfg *a)
{
	struct create_ctx C;
	struct job_request rq;
	struct job j;
	struct buf b;
	char id[IDS_JOB_LEN + 1], name[64], tags[160];
	char *dir = NULL, *input = NULL;
	struct err e;
	int rc;

	memset(&C, 0, sizeof(C));
	C.svc = svc;
	C.e = &e;
	idset_init(&C.ids, MAX_REQUESTS);
	buf_init(&C.line, svc->cfg->limits.max_line_bytes);
	buf_init(&b, 64 * 1024);
	job_init(&j);
	ids_new_job(id);
	dir = batch_dir(svc, id);
	input = dir ? objects_join(dir, "requests.jsonl") : NULL;
	if (!input) {
		rc = err_set(&e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = write_input(&C, req, input)))
		goto out;
	snprintf(name, sizeof(name), JOB_NAME_PREFIX "%s", id);
	snprintf(tags, sizeof(tags),
		 "[{\"key\":\"barge:dialect\",\"value\":\"anthropic\"},"
		 "{\"key\":\"barge:requests\",\"value\":\"%zu\"}]",
		 C.n);
	memset(&rq, 0, sizeof(rq));
	rq.account = a;
	rq.name = name;
	rq.model_id = C.model->id;
	rq.input_uri = input;
	rq.output_uri = dir;
	rq.tags_json = tags;
	rq.job_id = id;
	rq.internal = true;
	rq.skip_invalid = true;
	if ((rc = service_create(svc, &rq, &j, &e))) {
		struct err re;

		objects_remove_prefix(svc->obj, dir, &re);
		goto out;
	}
	put_batch(svc, &b, &j, req);
	reply_json(req, 200, &b);
out:
	if (rc)
		reply_err(req, &e);
	job_free(&j);
	buf_free(&b);
	buf_free(&C.line);
	idset_free(&C.ids);
	free(input);
	free(dir);
}

static void op_get(struct service *svc, struct http_request *req, const struct account_cfg *a,
		   const char *id)
{
	struct job j;
	struct buf b;
	struct err e;

	if (get_batch(svc, a, id, &j, &e)) {
		reply_err(req, &e);
		return;
	}
	buf_init(&b, 64 * 1024);
	put_batch(svc, &b, &j, req);
	reply_json(req, 200, &b);
	buf_free(&b);
	job_free(&j);
}

static void op_cancel(struct service *svc, struct http_request *req, const struct account_cfg *a,
		      const char *id)
{
	struct job j;
	struct err e;
	int rc;

	if (get_batch(svc, a, id, &j, &e)) {
		reply_err(req, &e);
		return;
	}
	/* Cancelling an ended batch changes nothing: the answer is the batch as it is. */
	rc = 0;
	if (!job_status_terminal(j.status)) {
		char *dir = batch_dir(svc, j.id);

		if (dir && j.status != JS_STOPPING)
			dialect_note_cancel(svc->obj, dir);
		free(dir);
		rc = service_stop(svc, a, j.id, &e);
	}
	job_free(&j);
	if (rc && rc != ERR_CONFLICT) {
		reply_err(req, &e);
		return;
	}
	op_get(svc, req, a, id);
}

static void op_delete(struct service *svc, struct http_request *req, const struct account_cfg *a,
		      const char *id)
{
	struct job j;
	struct buf b;
	char *dir;
	struct err e;

	if (get_batch(svc, a, id, &j, &e)) {
		reply_err(req, &e);
		return;
	}
	if (!job_status_terminal(j.status)) {
		job_free(&j);
		anthropic_reply_error(req, 400, "invalid_request_error",
				      "a batch can be deleted once it has ended: cancel it first");
		return;
	}
	dir = batch_dir(svc, j.id);
	job_free(&j);
	if (!dir || objects_remove_prefix(svc->obj, dir, &e)) {
		free(dir);
		if (!dir)
			err_set(&e, ERR_NOMEM, "out of memory");
		reply_err(req, &e);
		return;
	}
	free(dir);
	buf_init(&b, 256);
	buf_printf(&b, "{\"id\":\"%s\",\"type\":\"message_batch_deleted\"}", id);
	reply_json(req, 200, &b);
	buf_free(&b);
}

/* ---- list ---- */

struct list_q {
	size_t limit;
	char after[IDS_JOB_LEN + 1];  /* older than this batch */
	char before[IDS_JOB_LEN + 1]; /* newer than this batch */
};

static int query_id(const char *v, size_t n, char out[IDS_JOB_LEN + 1], struct err *e,
		    const char *key)
{
	if (n != BATCH_PREFIX_LEN + IDS_JOB_LEN || strncmp(v, BATCH_PREFIX, BATCH_PREFIX_LEN))
		return err_set(e, ERR_INVAL, "%s: a message batch id is required", key);
	memcpy(out, v + BATCH_PREFIX_LEN, IDS_JOB_LEN);
	out[IDS_JOB_LEN] = '\0';
	return 0;
}

static int parse_list_query(const char *q, struct list_q *lq, struct err *e)
{
	memset(lq, 0, sizeof(*lq));
	lq->limit = LIST_DEFAULT;
	while (*q) {
		size_t n = strcspn(q, "&"), kn = strcspn(q, "=");
		const char *v = q + kn + 1;
		size_t vn = kn < n ? n - kn - 1 : 0;
		int rc = 0;

		if (kn > n)
			kn = n;
		if (kn == 5 && !strncmp(q, "limit", 5)) {
			char num[16];
			char *end;
			long l;

			snprintf(num, sizeof(num), "%.*s", (int)(vn < 15 ? vn : 15), v);
			l = strtol(num, &end, 10);
			if (!vn || *end || l < 1 || l > LIST_MAX)
				return err_set(e, ERR_INVAL, "limit: a number from 1 to %d is required",
					       LIST_MAX);
			lq->limit = (size_t)l;
		} else if (kn == 8 && !strncmp(q, "after_id", 8)) {
			rc = query_id(v, vn, lq->after, e, "after_id");
		} else if (kn == 9 && !strncmp(q, "before_id", 9)) {
			rc = query_id(v, vn, lq->before, e, "before_id");
		}
		if (rc)
			return rc;
		q += n;
		if (*q == '&')
			q++;
	}
	if (lq->after[0] && lq->before[0])
		return err_set(e, ERR_INVAL, "after_id and before_id cannot be used together");
	return 0;
}

/* batch_live keeps a listed job that is one of the account's batches, not deleted. */
static bool batch_live(struct service *svc, const struct account_cfg *a, const struct job *listed,
		       struct job *out)
{
	char bid[BATCH_PREFIX_LEN + IDS_JOB_LEN + 1];
	struct err e;

	snprintf(bid, sizeof(bid), BATCH_PREFIX "%s", listed->id);
	return get_batch(svc, a, bid, out, &e) == 0;
}

static void op_list(struct service *svc, struct http_request *req, const struct account_cfg *a)
{
	struct list_q lq;
	struct job *v = NULL;
	size_t n = 0, shown;
	bool newer = false;
	struct buf b;
	struct err e;

	if (parse_list_query(req->query, &lq, &e)) {
		reply_err(req, &e);
		return;
	}
	newer = lq.before[0] != '\0';
	/* One more than asked tells whether there is more. */
	if (dialect_collect(svc, a, JOB_NAME_PREFIX,
			    newer ? lq.before : lq.after[0] ? lq.after : NULL, newer, lq.limit + 1,
			    batch_live, &v, &n, &e)) {
		reply_err(req, &e);
		return;
	}
	shown = n > lq.limit ? lq.limit : n;
	/* The page newer than before_id, gathered oldest first, shown newest first. */
	if (newer)
		dialect_reverse(v, shown);
	buf_init(&b, (size_t)64 << 20);
	buf_puts(&b, "{\"data\":[");
	for (size_t i = 0; i < shown; i++) {
		if (i)
			buf_putc(&b, ',');
		put_batch(svc, &b, &v[i], req);
	}
	buf_printf(&b, "],\"has_more\":%s", n > lq.limit ? "true" : "false");
	if (shown)
		buf_printf(&b, ",\"first_id\":\"" BATCH_PREFIX "%s\",\"last_id\":\"" BATCH_PREFIX "%s\"}",
			   v[0].id, v[shown - 1].id);
	else
		buf_puts(&b, ",\"first_id\":null,\"last_id\":null}");
	reply_json(req, 200, &b);
	buf_free(&b);
	store_jobs_free(v, n);
}

/* ---- results ---- */

/* error_type names the Anthropic error type of a record's errorCode. */
static const char *error_type(int64_t code)
{
	switch (code) {
	case 400: case 413: case 422: return "invalid_request_error";
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return "api_error";
	}
}

/*
 * user_words rewrites a validation message about the job's input
 * ("<input>:3: modelInput.max_tokens: is missing") in the words of the
 * batch's request ("requests[2].params.max_tokens: is missing").
 */
static void user_words(char *msg, size_t n, const char *input)
{
	size_t il = strlen(input);
	unsigned long line;
	char *end, rest[1024];

	if (strncmp(msg, input, il) || msg[il] != ':')
		return;
	line = strtoul(msg + il + 1, &end, 10);
	if (end == msg + il + 1 || strncmp(end, ": modelInput", 12) || line < 1)
		return;
	snprintf(rest, sizeof(rest), "%s", end + 12);
	snprintf(msg, n, "requests[%lu].params%s", line - 1, rest);
}

/* put_result writes the result line of one output line (a record's result). */
static void put_result(struct buf *b, const char *cid, const char *line, size_t len,
		       const char *input)
{
	struct json_span out, code;
	int64_t c = 500;
	char msg[1024];

	buf_puts(b, "{\"custom_id\":");
	buf_put_json_cstr(b, cid);
	if (json_span_at(line, len, "/modelOutput", &out) == 0) {
		buf_puts(b, ",\"result\":{\"type\":\"succeeded\",\"message\":");
		buf_append(b, out.val, out.val_len);
		buf_puts(b, "}}\n");
		return;
	}
	if (json_span_at(line, len, "/error/errorCode", &code) == 0)
		json_span_int64(&code, &c);
	if (!dialect_span_str(line, len, "/error/errorMessage", msg, sizeof(msg)))
		snprintf(msg, sizeof(msg), "the request failed");
	user_words(msg, sizeof(msg), input);
	buf_printf(b, ",\"result\":{\"type\":\"errored\",\"error\":{\"type\":\"error\","
		      "\"error\":{\"type\":\"%s\",\"message\":", error_type(c));
	buf_put_json_cstr(b, msg);
	buf_puts(b, "}}}}\n");
}

/*
 * The results of an ended batch, produced a line at a time as the client
 * reads them: the input and the job's output are read side by side, both
 * in record order, so memory stays flat whatever the batch's size.
 */
struct results_stream {
	struct dialect_pairs P;
	const char *never;      /* the result of a request never run; NULL: errored */
	char *message;          /* the job's message, for a failed job's requests */
	char *in_uri;
	struct buf line;        /* the result line being handed out */
	size_t pos;
	bool end;
};

static void results_free(void *ctx)
{
	struct results_stream *R = ctx;

	dialect_pairs_close(&R->P);
	buf_free(&R->line);
	free(R->message);
	free(R->in_uri);
	free(R);
}

/* results_next puts the next request's result line in R->line: 1, 0 at the end, or < 0. */
static int results_next(struct results_stream *R, struct err *e)
{
	char cid[DIALECT_ID_MAX + 1];
	const char *out;
	size_t len;
	int rc;

	if ((rc = dialect_pairs_next(&R->P, cid, &out, &len, e)) <= 0)
		return rc;
	buf_reset(&R->line);
	if (out) {
		put_result(&R->line, cid, out, len, R->in_uri);
	} else {
		buf_puts(&R->line, "{\"custom_id\":");
		buf_put_json_cstr(&R->line, cid);
		if (R->never) {
			buf_printf(&R->line, ",\"result\":{\"type\":\"%s\"}}\n", R->never);
		} else {
			buf_puts(&R->line, ",\"result\":{\"type\":\"errored\",\"error\":{\"type\":"
					   "\"error\",\"error\":{\"type\":\"api_error\",\"message\":");
			buf_put_json_cstr(&R->line, R->message ? R->message : "the batch failed");
			buf_puts(&R->line, "}}}}\n");
		}
	}
	return R->line.err ? err_set(e, R->line.err, "a result line is too large") : 1;
}

static ssize_t results_read(void *ctx, char *out, size_t max)
{
	struct results_stream *R = ctx;
	size_t n;

	while (R->pos == R->line.len && !R->end) {
		struct err e;
		int rc = results_next(R, &e);

		R->pos = 0;
		if (rc < 0) {
			/* The client sees the body cut short; the log says why. */
			log_error("api: results of %s: %s", R->in_uri, e.msg);
			return -1;
		}
		if (rc == 0) {
			R->line.len = 0;
			R->end = true;
		}
	}
	if (R->end && R->pos == R->line.len)
		return 0;
	n = R->line.len - R->pos;
	if (n > max)
		n = max;
	memcpy(out, R->line.data + R->pos, n);
	R->pos += n;
	return (ssize_t)n;
}

/*
 * op_results answers one line per request, in request order: the record's
 * result from the job's output, or what became of a request never run.
 */
static void op_results(struct service *svc, struct http_request *req,
		       const struct account_cfg *a, const char *id)
{
	struct http_header h[] = {{"Content-Type", "application/x-jsonl"}};
	struct results_stream *R = NULL;
	size_t max_line = svc->cfg->limits.max_line_bytes;
	char *dir = NULL, *out_uri = NULL, rel[64];
	struct job j;
	struct err e;
	int rc;

	if ((rc = get_batch(svc, a, id, &j, &e)))
		goto out;
	if (!job_status_terminal(j.status)) {
		rc = err_set(&e, ERR_INVAL, "the results of batch %s are ready once it has ended", id);
		goto out;
	}
	R = calloc(1, sizeof(*R));
	dir = batch_dir(svc, j.id);
	snprintf(rel, sizeof(rel), "%s/requests.jsonl.out", j.id);
	if (R) {
		R->in_uri = dir ? objects_join(dir, "requests.jsonl") : NULL;
		R->message = j.message ? strdup(j.message) : NULL;
		/* A result line holds the backend's answer: it is bounded like an output line. */
		buf_init(&R->line, DIALECT_OUT_LINE_MAX + 4096);
	}
	out_uri = dir ? objects_join(dir, rel) : NULL;
	if (!R || !R->in_uri || !out_uri || (j.message && !R->message)) {
		rc = err_set(&e, ERR_NOMEM, "out of memory");
		goto out;
	}
	R->never = j.status == JS_STOPPED ? "canceled" : j.status == JS_FAILED ? NULL : "expired";
	if ((rc = dialect_pairs_open(&R->P, svc->obj, R->in_uri, out_uri, max_line, &e)))
		goto out;
	http_reply_stream(req, 200, h, 1, results_read, results_free, R);
	R = NULL;
out:
	if (rc)
		reply_err(req, &e);
	if (R)
		results_free(R); /* a zeroed pairs reader closes nothing */
	job_free(&j);
	free(dir);
	free(out_uri);
}

/* ---- routing ---- */

size_t anthropic_body_limit(const struct http_request *req)
{
	if (!strcmp(req->method, "POST") && !strcmp(req->path, PATH_BASE))
		return ANTHROPIC_MAX_BODY;
	return 0;
}

bool anthropic_handle(struct service *svc, struct http_request *req)
{
	const char *rest, *slash;
	char id[BATCH_PREFIX_LEN + IDS_JOB_LEN + 8];
	struct auth_result ar;
	size_t idn;

	if (strncmp(req->path, PATH_BASE, sizeof(PATH_BASE) - 1))
		return false;
	rest = req->path + sizeof(PATH_BASE) - 1;
	if (*rest && *rest != '/')
		return false;
	if (auth_api_key(svc, req, &ar)) {
		log_info("api: %s %s refused: %s", req->method, req->path, ar.message);
		anthropic_reply_error(req, 401, "authentication_error", ar.message);
		return true;
	}
	log_info("api: %s %s by account %s", req->method, req->path, ar.account->name);
	if (!*rest || !strcmp(rest, "/")) {
		if (!strcmp(req->method, "POST"))
			op_create(svc, req, ar.account);
		else if (!strcmp(req->method, "GET"))
			op_list(svc, req, ar.account);
		else
			anthropic_reply_error(req, 405, "invalid_request_error",
					      "use GET to list batches or POST to create one");
		return true;
	}
	rest++;
	slash = strchr(rest, '/');
	idn = slash ? (size_t)(slash - rest) : strlen(rest);
	if (idn >= sizeof(id)) {
		anthropic_reply_error(req, 404, "not_found_error", "no such message batch");
		return true;
	}
	memcpy(id, rest, idn);
	id[idn] = '\0';
	if (!slash && !strcmp(req->method, "GET"))
		op_get(svc, req, ar.account, id);
	else if (!slash && !strcmp(req->method, "DELETE"))
		op_delete(svc, req, ar.account, id);
	else if (slash && !strcmp(slash, "/cancel") && !strcmp(req->method, "POST"))
		op_cancel(svc, req, ar.account, id);
	else if (slash && !strcmp(slash, "/results") && !strcmp(req->method, "GET"))
		op_results(svc, req, ar.account, id);
	else
		anthropic_reply_error(req, 404, "not_found_error", "no operation lives at this path");
	return true;
}
