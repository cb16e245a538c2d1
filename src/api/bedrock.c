/* bedrock.c - the Bedrock batch job API: Create, Get, List and Stop over HTTP. */
#include "api/bedrock.h"
#include "api/auth.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define TAGS_MAX 200

static void reply_json(struct http_request *req, int status, const struct buf *b)
{
	struct http_header h[] = {{"Content-Type", "application/json"}};

	if (b->err) {
		bedrock_reply_error(req, 500, "InternalServerException", "the answer is too large");
		return;
	}
	http_reply(req, status, h, 1, b->data ? b->data : "{}", b->data ? b->len : 2);
}

void bedrock_reply_error(struct http_request *req, int status, const char *name,
			 const char *msg)
{
	struct http_header h[] = {{"Content-Type", "application/json"}, {"x-amzn-ErrorType", name}};
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_puts(&b, "{\"message\":");
	buf_put_json_cstr(&b, msg);
	buf_puts(&b, ",\"__type\":");
	buf_put_json_cstr(&b, name);
	buf_putc(&b, '}');
	http_reply(req, status, h, 2, b.data, b.len);
	buf_free(&b);
}

/* reply_err answers with the AWS error that a service code means. */
static void reply_err(struct http_request *req, const struct err *e)
{
	switch (e->code) {
	case ERR_INVAL:
		bedrock_reply_error(req, 400, "ValidationException", e->msg);
		break;
	case ERR_NOTFOUND:
		bedrock_reply_error(req, 404, "ResourceNotFoundException", e->msg);
		break;
	case ERR_CONFLICT:
		bedrock_reply_error(req, 400, "ConflictException", e->msg);
		break;
	case ERR_LIMIT:
		bedrock_reply_error(req, 400, "ServiceQuotaExceededException", e->msg);
		break;
	case ERR_AUTH:
		bedrock_reply_error(req, 403, "AccessDeniedException", e->msg);
		break;
	default:
		log_error("api: %s", e->msg);
		bedrock_reply_error(req, 500, "InternalServerException",
				    "the server failed to answer; see its log");
	}
}

static void put_str(struct buf *b, const char *key, const char *v)
{
	if (!v)
		return;
	buf_printf(b, ",\"%s\":", key);
	buf_put_json_cstr(b, v);
}

/* put_location writes a stored location as a URI: paths become file:// URIs. */
static void put_location(struct buf *b, const char *loc)
{
	if (uri_is_local(loc)) {
		struct buf u;

		buf_init(&u, URI_MAX + 16);
		buf_puts(&u, "file://");
		buf_puts(&u, loc);
		buf_put_json_str(b, u.data, u.len);
		buf_free(&u);
	} else {
		buf_put_json_cstr(b, loc);
	}
}

/* put_job writes the job object of Get (and of List's summaries). */
static void put_job(struct buf *b, const struct job *j)
{
	buf_puts(b, "{\"jobArn\":");
	buf_put_json_cstr(b, j->arn ? j->arn : "");
	put_str(b, "jobName", j->name);
	put_str(b, "modelId", j->model_id);
	put_str(b, "clientRequestToken", j->client_token);
	put_str(b, "roleArn", j->role_arn);
	put_str(b, "status", job_status_name(j->status));
	put_str(b, "message", j->message);
	time_put_member(b, "submitTime", j->submit_ms);
	time_put_member(b, "lastModifiedTime", j->modified_ms);
	time_put_member(b, "endTime", j->end_ms);
	buf_puts(b, ",\"inputDataConfig\":{\"s3InputDataConfig\":{\"s3InputFormat\":\"JSONL\","
		    "\"s3Uri\":");
	put_location(b, j->input_uri);
	buf_puts(b, "}},\"outputDataConfig\":{\"s3OutputDataConfig\":{\"s3Uri\":");
	put_location(b, j->output_uri);
	buf_printf(b, "}},\"timeoutDurationInHours\":%d", j->timeout_hours);
	time_put_member(b, "jobExpirationTime", j->expire_ms);
	put_str(b, "modelInvocationType", j->invocation_type);
	/* Tags too, so that barge's own links (barge:parentJob) show in Get and List. */
	if (j->tags_json && j->tags_json[0] == '[') {
		buf_puts(b, ",\"tags\":");
		buf_puts(b, j->tags_json);
	}
	buf_printf(b,
		   ",\"totalRecordCount\":%lld,\"processedRecordCount\":%lld,"
		   "\"successRecordCount\":%lld,\"errorRecordCount\":%lld}",
		   (long long)j->c.total, (long long)j->c.processed, (long long)j->c.success,
		   (long long)j->c.errors);
}

/* ---- requests ---- */

static const char *str_at(json_object *o, const char *k1, const char *k2, const char *k3)
{
	json_object *v = json_get(o, k1);

	if (k2)
		v = json_get(v, k2);
	if (k3)
		v = json_get(v, k3);
	return json_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* check_tags validates Create's tags and writes them compactly to b. */
static int check_tags(json_object *tags, struct buf *b, struct err *e)
{
	size_t n;

	if (!tags)
		return 0;
	if (!json_is_type(tags, json_type_array))
		return err_set(e, ERR_INVAL, "tags must be a list of {\"key\", \"value\"}");
	n = json_object_array_length(tags);
	if (n > TAGS_MAX)
		return err_set(e, ERR_INVAL, "at most %d tags, got %zu", TAGS_MAX, n);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tags, i);
		const char *k = json_get_str(t, "key"), *v = json_get_str(t, "value");

		if (!k || !v || !*k || strlen(k) > 128 || strlen(v) > 256)
			return err_set(e, ERR_INVAL,
				       "tags[%zu] must have a key of 1 to 128 characters and a value of "
				       "at most 256",
				       i);
	}
	return json_put(b, tags);
}

static void op_create(struct service *svc, struct http_request *req,
		      const struct account_cfg *a)
{
	json_object *body = NULL, *v;
	struct job_request rq;
	struct job j;
	struct buf tags, out;
	struct err e;
	int64_t hours = 0;
	int rc;

	memset(&rq, 0, sizeof(rq));
	buf_init(&tags, 1 << 20);
	buf_init(&out, 1 << 20);
	err_init(&e);
	if (json_parse(req->body, req->body_len, &body, &e) ||
	    !json_is_type(body, json_type_object)) {
		if (!e.msg[0])
			snprintf(e.msg, sizeof(e.msg), "the body must be a JSON object");
		e.code = ERR_INVAL;
		goto fail;
	}
	rq.account = a;
	rq.name = json_get_str(body, "jobName");
	rq.role_arn = json_get_str(body, "roleArn");
	rq.model_id = json_get_str(body, "modelId");
	rq.client_token = json_get_str(body, "clientRequestToken");
	rq.invocation_type = json_get_str(body, "modelInvocationType");
	rq.input_uri = str_at(body, "inputDataConfig", "s3InputDataConfig", "s3Uri");
	rq.output_uri = str_at(body, "outputDataConfig", "s3OutputDataConfig", "s3Uri");
	v = json_get(body, "timeoutDurationInHours");
	if (v && !json_get_int64(body, "timeoutDurationInHours", &hours)) {
		err_set(&e, ERR_INVAL, "timeoutDurationInHours must be a whole number of hours");
		goto fail;
	}
	if (v && (hours < 24 || hours > 168)) {
		err_set(&e, ERR_INVAL, "timeoutDurationInHours must be between 24 and 168, got %lld",
			(long long)hours);
		goto fail;
	}
	rq.timeout_hours = (int)hours;
	{
		static const char *const required[] = {"jobName", "roleArn", "modelId"};

		for (size_t i = 0; i < 3; i++) {
			if (!json_get_str(body, required[i])) {
				err_set(&e, ERR_INVAL, "%s is required and must be a string", required[i]);
				goto fail;
			}
		}
	}
	if (!rq.input_uri) {
		err_set(&e, ERR_INVAL, "inputDataConfig.s3InputDataConfig.s3Uri is required");
		goto fail;
	}
	if (!rq.output_uri) {
		err_set(&e, ERR_INVAL, "outputDataConfig.s3OutputDataConfig.s3Uri is required");
		goto fail;
	}
	if (rq.client_token && (!*rq.client_token || strlen(rq.client_token) > 256)) {
		err_set(&e, ERR_INVAL, "clientRequestToken must be 1 to 256 characters");
		goto fail;
	}
	if (check_tags(json_get(body, "tags"), &tags, &e))
		goto fail;
	rq.tags_json = tags.len ? tags.data : NULL;
	rc = service_create(svc, &rq, &j, &e);
	if (rc) {
		e.code = rc;
		goto fail;
	}
	buf_puts(&out, "{\"jobArn\":");
	buf_put_json_cstr(&out, j.arn);
	buf_putc(&out, '}');
	job_free(&j);
	reply_json(req, 200, &out);
	goto out;
fail:
	reply_err(req, &e);
out:
	json_object_put(body);
	buf_free(&tags);
	buf_free(&out);
}

static void op_get(struct service *svc, struct http_request *req, const struct account_cfg *a,
		   const char *ident)
{
	struct job j;
	struct buf out;
	struct err e;

	if (service_get(svc, a, ident, &j, &e)) {
		reply_err(req, &e);
		return;
	}
	buf_init(&out, 1 << 20);
	put_job(&out, &j);
	reply_json(req, 200, &out);
	buf_free(&out);
	job_free(&j);
}

static void op_stop(struct service *svc, struct http_request *req, const struct account_cfg *a,
		    const char *ident)
{
	struct buf out;
	struct err e;

	if (service_stop(svc, a, ident, &e)) {
		reply_err(req, &e);
		return;
	}
	buf_init(&out, 16);
	buf_puts(&out, "{}");
	reply_json(req, 200, &out);
	buf_free(&out);
}

struct list_q {
	char status[32], name[256], after[64], before[64], max[16], token[64], sort_by[32],
		order[32];
};

static int parse_query(const char *q, struct list_q *lq, struct err *e)
{
	memset(lq, 0, sizeof(*lq));
	while (*q) {
		size_t len = strcspn(q, "&"), kl;
		const char *eq = memchr(q, '=', len);
		char key[64], val[512];
		char *dst = NULL;
		size_t dsz = 0;

		kl = eq ? (size_t)(eq - q) : len;
		if (uri_pct_decode(q, kl, key, sizeof(key), true) ||
		    uri_pct_decode(eq ? eq + 1 : "", eq ? len - kl - 1 : 0, val, sizeof(val), true))
			return err_set(e, ERR_INVAL, "the query string is malformed");
		if (!strcmp(key, "statusEquals"))
			dst = lq->status, dsz = sizeof(lq->status);
		else if (!strcmp(key, "nameContains"))
			dst = lq->name, dsz = sizeof(lq->name);
		else if (!strcmp(key, "submitTimeAfter"))
			dst = lq->after, dsz = sizeof(lq->after);
		else if (!strcmp(key, "submitTimeBefore"))
			dst = lq->before, dsz = sizeof(lq->before);
		else if (!strcmp(key, "maxResults"))
			dst = lq->max, dsz = sizeof(lq->max);
		else if (!strcmp(key, "nextToken"))
			dst = lq->token, dsz = sizeof(lq->token);
		else if (!strcmp(key, "sortBy"))
			dst = lq->sort_by, dsz = sizeof(lq->sort_by);
		else if (!strcmp(key, "sortOrder"))
			dst = lq->order, dsz = sizeof(lq->order);
		if (dst) {
			if (strlen(val) >= dsz)
				return err_set(e, ERR_INVAL, "%s is too long", key);
			strcpy(dst, val);
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

static void op_list(struct service *svc, struct http_request *req, const struct account_cfg *a)
{
	struct list_q lq;
	struct job_filter f;
	struct job *v = NULL;
	size_t n = 0, show;
	struct buf out;
	struct err e;
	long long max = LIST_DEFAULT;

	err_init(&e);
	if (parse_query(req->query, &lq, &e))
		goto fail;
	memset(&f, 0, sizeof(f));
	f.account = a->name;
	f.status = -1;
	if (lq.status[0] && (f.status = job_status_parse(lq.status)) < 0) {
		err_set(&e, ERR_INVAL, "statusEquals \"%s\" is not a job status", lq.status);
		goto fail;
	}
	if (lq.name[0])
		f.name_contains = lq.name;
	if (lq.after[0] && time_parse_rfc3339(lq.after, &f.submit_after_ms)) {
		err_set(&e, ERR_INVAL, "submitTimeAfter \"%s\" is not an RFC 3339 time", lq.after);
		goto fail;
	}
	if (lq.before[0] && time_parse_rfc3339(lq.before, &f.submit_before_ms)) {
		err_set(&e, ERR_INVAL, "submitTimeBefore \"%s\" is not an RFC 3339 time", lq.before);
		goto fail;
	}
	if (lq.max[0]) {
		char *end;

		max = strtoll(lq.max, &end, 10);
		if (*end || max < 1 || max > LIST_MAX) {
			err_set(&e, ERR_INVAL, "maxResults must be between 1 and %d", LIST_MAX);
			goto fail;
		}
	}
	if (lq.sort_by[0] && strcmp(lq.sort_by, "CreationTime")) {
		err_set(&e, ERR_INVAL, "sortBy must be CreationTime");
		goto fail;
	}
	if (lq.order[0] && strcmp(lq.order, "Ascending") && strcmp(lq.order, "Descending")) {
		err_set(&e, ERR_INVAL, "sortOrder must be Ascending or Descending");
		goto fail;
	}
	f.ascending = !strcmp(lq.order, "Ascending");
	if (lq.token[0]) {
		/* The token is the last job of the page before, which must be this account's. */
		struct job t;

		if (service_get(svc, a, lq.token, &t, &e)) {
			err_set(&e, ERR_INVAL, "nextToken is not valid");
			goto fail;
		}
		job_free(&t);
		f.after_id = lq.token;
	}
	f.limit = (size_t)max + 1; /* one more tells whether a next page exists */
	if (store_job_list(svc->st, &f, &v, &n, &e))
		goto fail;
	show = n > (size_t)max ? (size_t)max : n;
	buf_init(&out, (size_t)64 << 20);
	buf_puts(&out, "{\"invocationJobSummaries\":[");
	for (size_t i = 0; i < show; i++) {
		if (i)
			buf_putc(&out, ',');
		put_job(&out, &v[i]);
	}
	buf_putc(&out, ']');
	if (n > show)
		put_str(&out, "nextToken", v[show - 1].id);
	buf_putc(&out, '}');
	reply_json(req, 200, &out);
	buf_free(&out);
	store_jobs_free(v, n);
	return;
fail:
	reply_err(req, &e);
}

bool bedrock_handle(struct service *svc, struct http_request *req)
{
	static const char one[] = "/model-invocation-job";
	static const char many[] = "/model-invocation-jobs";
	const char *p = req->path, *rest;
	struct auth_result au;
	char ident[512];
	bool post = !strcmp(req->method, "POST"), get = !strcmp(req->method, "GET");

	if (strcmp(p, many) && strncmp(p, one, sizeof(one) - 1))
		return false;
	rest = p + sizeof(one) - 1;
	if (strcmp(p, many) && *rest && *rest != '/')
		return false;
	if (auth_sigv4(svc, req, &au)) {
		log_info("api: %s %s: %d %s (key %s)", req->method, req->path, au.status, au.error,
			 au.key_id[0] ? au.key_id : "none");
		bedrock_reply_error(req, au.status, au.error, au.message);
		return true;
	}
	if (!strcmp(p, many)) {
		if (!get)
			goto method;
		op_list(svc, req, au.account);
	} else if (!*rest) {
		if (!post)
			goto method;
		op_create(svc, req, au.account);
	} else {
		/* /model-invocation-job/{id}[/stop]: the id may be an ARN, encoded. */
		size_t len = strcspn(rest + 1, "/");
		const char *tail = rest + 1 + len;

		if (uri_pct_decode(rest + 1, len, ident, sizeof(ident), true) || !len) {
			bedrock_reply_error(req, 400, "ValidationException",
					    "the job identifier in the path is malformed");
		} else if (!*tail) {
			if (!get)
				goto method;
			op_get(svc, req, au.account, ident);
		} else if (!strcmp(tail, "/stop")) {
			if (!post)
				goto method;
			op_stop(svc, req, au.account, ident);
		} else {
			bedrock_reply_error(req, 404, "UnknownOperationException",
					    "no such operation");
		}
	}
	log_info("api: %s %s by account %s", req->method, req->path, au.account->name);
	return true;
method:
	bedrock_reply_error(req, 405, "UnknownOperationException",
			    "this operation does not take that method");
	return true;
}
