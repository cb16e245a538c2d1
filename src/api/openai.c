/* openai.c - the OpenAI Batch API (files and batches, reference/openai-batch.md) on the job core. */
#include "api/openai.h"
#include "api/auth.h"
#include "api/dialect.h"
#include "api/multipart.h"
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
 * Everything of an account lives under <batches>/openai/<account>/:
 *   files/<file id>         an uploaded file's bytes (or a batch's results)
 *   files/<file id>.json    its file object
 *   batches/<job id>/requests.jsonl   the Bedrock form of the input file
 *   batches/<job id>/batch.json       what the job does not hold: endpoint,
 *                                     input file, window, metadata, errors
 *   batches/<job id>/results.json     the ids of the output and error files,
 *                                     once written
 *   batches/<job id>/<job id>/...     the job's own output
 * A batch is a job named "openai-batch-<job id>"; its id is "batch_" and the
 * job id. docs/dialects.md gives the choices made where the reference is
 * silent.
 */

#define BATCH_PREFIX "batch_"
#define BATCH_PREFIX_LEN 6
#define JOB_NAME_PREFIX "openai-batch-"
#define FILE_PREFIX "file-"
#define FILE_ID_MAX 48
#define MAX_REQUESTS 50000
#define MAX_FILE_BYTES ((size_t)200 << 20)
#define SMALL_MAX ((size_t)256 << 10)
#define ERRORS_KEPT 100
#define LIST_DEFAULT 20
#define LIST_MAX 100

void openai_reply_error(struct http_request *req, int status, const char *type, const char *code,
			const char *msg)
{
	struct http_header h[] = {{"Content-Type", "application/json"}};
	struct buf b;

	buf_init(&b, 64 * 1024);
	buf_puts(&b, "{\"error\":{\"message\":");
	buf_put_json_cstr(&b, msg);
	buf_puts(&b, ",\"type\":");
	buf_put_json_cstr(&b, type);
	buf_puts(&b, ",\"param\":null,\"code\":");
	if (code)
		buf_put_json_cstr(&b, code);
	else
		buf_puts(&b, "null");
	buf_puts(&b, "}}");
	http_reply(req, status, h, 1, b.data, b.len);
	buf_free(&b);
}

static void reply_err(struct http_request *req, const struct err *e)
{
	switch (e->code) {
	case ERR_INVAL:
	case ERR_CONFLICT:
		openai_reply_error(req, 400, "invalid_request_error", NULL, e->msg);
		break;
	case ERR_NOTFOUND:
		openai_reply_error(req, 404, "invalid_request_error", "not_found", e->msg);
		break;
	case ERR_LIMIT:
		openai_reply_error(req, 429, "rate_limit_error", NULL, e->msg);
		break;
	case ERR_AUTH:
		openai_reply_error(req, 403, "invalid_request_error", "permission_denied", e->msg);
		break;
	default:
		log_error("api: %s", e->msg);
		openai_reply_error(req, 500, "server_error", NULL,
				   "the server failed to answer; see its log");
	}
}

static void reply_json(struct http_request *req, const struct buf *b)
{
	struct http_header h[] = {{"Content-Type", "application/json"}};

	if (b->err) {
		openai_reply_error(req, 500, "server_error", NULL, "the answer is too large");
		return;
	}
	http_reply(req, 200, h, 1, b->data, b->len);
}

/* path_of returns "<batches>/openai/<account>/<rel>" (malloc'd) or NULL. */
static char *path_of(const struct service *svc, const struct account_cfg *a, const char *rel)
{
	char sub[512];

	snprintf(sub, sizeof(sub), "openai/%s/%s", a->name, rel);
	return objects_join(svc->batches, sub);
}

/* valid_file_id: "file-" and 1 to 40 of [a-z0-9-], so that it is a safe object name. */
static bool valid_file_id(const char *id)
{
	size_t n = strlen(id);

	if (n <= 5 || n > FILE_ID_MAX || strncmp(id, FILE_PREFIX, 5))
		return false;
	for (size_t i = 5; i < n; i++) {
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return false;
	}
	return true;
}

/* ---- files ---- */

/* file_meta reads file id's object (its JSON) into b; ERR_NOTFOUND when there is none. */
static int file_meta(struct service *svc, const struct account_cfg *a, const char *id,
		     struct buf *b, struct err *e)
{
	char rel[FILE_ID_MAX + 16], *uri;
	int rc;

	if (!valid_file_id(id))
		return err_set(e, ERR_NOTFOUND, "no file %.60s was found", id);
	snprintf(rel, sizeof(rel), "files/%s.json", id);
	if (!(uri = path_of(svc, a, rel)))
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = dialect_read_small(svc->obj, uri, b, e);
	free(uri);
	if (rc == ERR_NOTFOUND)
		return err_set(e, ERR_NOTFOUND, "no file %.60s was found", id);
	return rc;
}

/* put_file_meta writes the file object of a stored file. */
static int put_file_meta(struct service *svc, const struct account_cfg *a, const char *id,
			 uint64_t bytes, const char *filename, const char *purpose, struct err *e)
{
	char rel[FILE_ID_MAX + 16], *uri;
	struct buf b;
	int rc;

	snprintf(rel, sizeof(rel), "files/%s.json", id);
	if (!(uri = path_of(svc, a, rel)))
		return err_set(e, ERR_NOMEM, "out of memory");
	buf_init(&b, 4096);
	buf_printf(&b, "{\"id\":\"%s\",\"object\":\"file\",\"bytes\":%llu,\"created_at\":%lld,"
		       "\"filename\":",
		   id, (unsigned long long)bytes, (long long)(time_now_ms() / 1000));
	buf_put_json_cstr(&b, filename);
	buf_puts(&b, ",\"purpose\":");
	buf_put_json_cstr(&b, purpose);
	buf_puts(&b, ",\"status\":\"processed\"}");
	rc = b.err ? err_set(e, ERR_INVAL, "the file name is too long")
		   : objects_put(svc->obj, uri, b.data, b.len, e);
	buf_free(&b);
	free(uri);
	return rc;
}

static void op_file_upload(struct service *svc, struct http_request *req,
			   const struct account_cfg *a)
{
	struct multipart_part parts[MULTIPART_MAX_PARTS];
	const struct multipart_part *file, *purpose;
	char id[FILE_ID_MAX + 1], job[IDS_JOB_LEN + 1], rel[FILE_ID_MAX + 16], *uri = NULL;
	struct buf b;
	struct err e;
	size_t bad;
	int n, rc;

	buf_init(&b, 4096);
	n = multipart_parse(http_request_header(req, "Content-Type"), req->body, req->body_len,
			    parts, &e);
	if (n < 0) {
		rc = n;
		goto out;
	}
	file = multipart_find(parts, n, "file");
	purpose = multipart_find(parts, n, "purpose");
	if (!file || !purpose) {
		rc = err_set(&e, ERR_INVAL, "the form needs a part \"file\" and a part \"purpose\"");
		goto out;
	}
	if (purpose->len != 5 || memcmp(purpose->data, "batch", 5)) {
		rc = err_set(&e, ERR_INVAL,
			     "purpose \"%.*s\" is not served here: this server takes files of purpose "
			     "\"batch\"",
			     (int)(purpose->len < 40 ? purpose->len : 40), purpose->data);
		goto out;
	}
	/* The name goes into the file object, which must stay JSON (valid UTF-8). */
	if (!json_utf8_check(file->filename, strlen(file->filename), &bad)) {
		rc = err_set(&e, ERR_INVAL,
			     "the file name is not valid UTF-8 (at byte %zu): send it as UTF-8", bad);
		goto out;
	}
	if (file->len > MAX_FILE_BYTES) {
		rc = err_set(&e, ERR_INVAL, "the file has %zu bytes, more than the %zu a batch may have",
			     file->len, MAX_FILE_BYTES);
		goto out;
	}
	ids_new_job(job);
	snprintf(id, sizeof(id), FILE_PREFIX "%s", job);
	snprintf(rel, sizeof(rel), "files/%s", id);
	if (!(uri = path_of(svc, a, rel))) {
		rc = err_set(&e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = objects_put(svc->obj, uri, file->data, file->len, &e)) ||
	    (rc = put_file_meta(svc, a, id, file->len,
				file->filename[0] ? file->filename : "upload.jsonl", "batch", &e)))
		goto out;
	rc = file_meta(svc, a, id, &b, &e);
	if (!rc)
		reply_json(req, &b);
out:
	if (rc)
		reply_err(req, &e);
	buf_free(&b);
	free(uri);
}

static void op_file_get(struct service *svc, struct http_request *req,
			const struct account_cfg *a, const char *id)
{
	struct buf b;
	struct err e;

	buf_init(&b, SMALL_MAX);
	if (file_meta(svc, a, id, &b, &e))
		reply_err(req, &e);
	else
		reply_json(req, &b);
	buf_free(&b);
}

/* The bytes of a file, streamed as the client takes them. */
static ssize_t content_read(void *ctx, char *out, size_t max)
{
	struct obj_reader *r = ctx;
	size_t got = 0;
	struct err e;

	if (obj_reader_read(r, out, max, &got, &e)) {
		log_error("api: file content: %s", e.msg);
		return -1;
	}
	return (ssize_t)got;
}

static void content_done(void *ctx)
{
	obj_reader_close(ctx);
}

static void op_file_content(struct service *svc, struct http_request *req,
			    const struct account_cfg *a, const char *id)
{
	struct http_header h[] = {{"Content-Type", "application/octet-stream"}};
	struct obj_reader *r = NULL;
	char rel[FILE_ID_MAX + 16], *uri;
	struct buf b;
	struct err e;

	buf_init(&b, SMALL_MAX);
	if (file_meta(svc, a, id, &b, &e)) {
		buf_free(&b);
		reply_err(req, &e);
		return;
	}
	buf_free(&b);
	snprintf(rel, sizeof(rel), "files/%s", id);
	uri = path_of(svc, a, rel);
	if (!uri || objects_open_read(svc->obj, uri, 0, 0, &r, &e)) {
		if (!uri)
			err_set(&e, ERR_NOMEM, "out of memory");
		free(uri);
		reply_err(req, &e);
		return;
	}
	free(uri);
	http_reply_stream(req, 200, h, 1, content_read, content_done, r);
}

static void op_file_delete(struct service *svc, struct http_request *req,
			   const struct account_cfg *a, const char *id)
{
	char rel[FILE_ID_MAX + 16], *uri = NULL, *meta = NULL;
	struct buf b;
	struct err e;
	int rc;

	buf_init(&b, SMALL_MAX);
	if ((rc = file_meta(svc, a, id, &b, &e)))
		goto out;
	snprintf(rel, sizeof(rel), "files/%s", id);
	uri = path_of(svc, a, rel);
	snprintf(rel, sizeof(rel), "files/%s.json", id);
	meta = path_of(svc, a, rel);
	if (!uri || !meta) {
		rc = err_set(&e, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* The file object goes first: a file without it no longer exists. */
	if ((rc = objects_remove(svc->obj, meta, &e)) || (rc = objects_remove(svc->obj, uri, &e)))
		goto out;
	buf_reset(&b);
	buf_printf(&b, "{\"id\":\"%s\",\"object\":\"file\",\"deleted\":true}", id);
	reply_json(req, &b);
out:
	if (rc)
		reply_err(req, &e);
	buf_free(&b);
	free(uri);
	free(meta);
}

struct file_list {
	struct service *svc;
	struct buf *b;
	size_t n;
	char purpose[32]; /* "" for every purpose */
};

static int list_file(const char *uri, uint64_t size, void *ud)
{
	struct file_list *L = ud;
	size_t n = strlen(uri);
	struct buf m;
	struct err e;

	(void)size;
	if (n < 5 || strcmp(uri + n - 5, ".json"))
		return 0;
	buf_init(&m, SMALL_MAX);
	if (dialect_read_small(L->svc->obj, uri, &m, &e) == 0 && m.len) {
		char p[32];

		if (L->purpose[0] &&
		    (!dialect_span_str(m.data, m.len, "/purpose", p, sizeof(p)) ||
		     strcmp(p, L->purpose))) {
			buf_free(&m);
			return 0;
		}
		if (L->n++)
			buf_putc(L->b, ',');
		buf_append(L->b, m.data, m.len);
	}
	buf_free(&m);
	return 0;
}

static void op_file_list(struct service *svc, struct http_request *req,
			 const struct account_cfg *a)
{
	struct file_list L;
	struct buf b;
	char *dir = path_of(svc, a, "files");
	struct err e;
	int rc;

	buf_init(&b, (size_t)64 << 20);
	L = (struct file_list){svc, &b, 0, ""};
	if (dialect_query_param(req->query, "purpose", L.purpose, sizeof(L.purpose)) < 0) {
		free(dir);
		buf_free(&b);
		openai_reply_error(req, 400, "invalid_request_error", NULL,
				   "purpose must be a purpose (batch, batch_output), percent-encoded");
		return;
	}
	buf_puts(&b, "{\"object\":\"list\",\"data\":[");
	rc = dir ? objects_list(svc->obj, dir, list_file, &L, &e)
		 : err_set(&e, ERR_NOMEM, "out of memory");
	free(dir);
	if (rc && rc != ERR_NOTFOUND) {
		buf_free(&b);
		reply_err(req, &e);
		return;
	}
	buf_puts(&b, "],\"has_more\":false}");
	reply_json(req, &b);
	buf_free(&b);
}

/* ---- batch creation ---- */

/* The family each endpoint's bodies belong to. */
static const char *endpoint_family(const char *endpoint)
{
	if (!strcmp(endpoint, "/v1/chat/completions"))
		return "openai-chat";
	if (!strcmp(endpoint, "/v1/completions"))
		return "openai-completions";
	if (!strcmp(endpoint, "/v1/embeddings"))
		return "openai-embeddings";
	return NULL;
}

/* find_model resolves a body's model: a configured id or upstream name. */
static const struct model_cfg *find_model(const struct config *c, const char *name)
{
	const struct model_cfg *m = config_find_model(c, name);

	for (size_t i = 0; !m && i < c->n_models; i++) {
		if (!strcmp(c->models[i].upstream, name))
			m = &c->models[i];
	}
	return m;
}

struct convert {
	struct service *svc;
	const char *endpoint, *family;
	struct obj_writer *w;
	struct idset ids;
	struct buf line;
	struct buf errors; /* the items of errors.data */
	size_t n_errors;
	const struct model_cfg *model;
	char model_name[128];
	size_t n;
};

/* problem records one problem of the input file (the first ERRORS_KEPT are kept). */
static void problem(struct convert *C, const char *code, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct convert *C, const char *code, uint64_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (C->n_errors++ >= ERRORS_KEPT)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (C->n_errors > 1)
		buf_putc(&C->errors, ',');
	buf_printf(&C->errors, "{\"code\":\"%s\",\"message\":", code);
	buf_put_json_cstr(&C->errors, msg);
	buf_printf(&C->errors, ",\"param\":null,\"line\":%llu}", (unsigned long long)line);
}

/* The last member named name (keys compared decoded), as json-c keeps the last of repeated keys. */
struct last_member {
	const char *name;
	struct json_span found;
	bool ok;
};

static int on_last_member(const struct json_span *m, void *ud)
{
	struct last_member *f = ud;

	if (json_span_key_is(m, f->name)) {
		f->found = *m;
		f->ok = true;
	}
	return 0;
}

/*
 * body_span finds the bytes of the line's "body" member: the one the parsed
 * line holds, also when its key is written with escapes ("bo\u0064y") or
 * repeated, which json_span_at's raw comparison would miss or take another of.
 */
static bool body_span(const char *line, size_t len, struct json_span *out)
{
	struct last_member f = {"body", {0}, false};

	if (json_scan_object(line, len, on_last_member, &f) || !f.ok)
		return false;
	*out = f.found;
	return true;
}

/* convert_line checks one line of the input file and writes its record. */
static int convert_line(struct convert *C, const struct jsonl_line *l, struct err *e)
{
	json_object *o = NULL, *body;
	const char *cid, *method, *url, *model;
	struct idset_entry *found;
	struct json_span raw;
	struct err pe;
	int rc = 0;

	if (l->too_long) {
		problem(C, "invalid_json_line", l->line_no,
			"the line has %llu bytes, more than the server's max_line_bytes (%zu)",
			(unsigned long long)l->full_len, C->svc->cfg->limits.max_line_bytes);
		return 0;
	}
	if (json_parse(l->data, l->len, &o, &pe)) {
		/* pe says what is wrong and at which byte (invalid UTF-8, nesting too deep...). */
		problem(C, "invalid_json_line", l->line_no, "the line is not valid JSON: %s", pe.msg);
		goto out;
	}
	if (!json_is_type(o, json_type_object)) {
		problem(C, "invalid_json_line", l->line_no, "the line is a JSON %s, not an object",
			json_type_to_name(json_object_get_type(o)));
		goto out;
	}
	cid = json_get_str(o, "custom_id");
	method = json_get_str(o, "method");
	url = json_get_str(o, "url");
	body = json_get(o, "body");
	if (!cid || !*cid || strlen(cid) > DIALECT_ID_MAX) {
		problem(C, "missing_custom_id", l->line_no,
			"custom_id must be a string of 1 to %d characters", DIALECT_ID_MAX);
		goto out;
	}
	/* The id is kept as a C string: one cut at a \u0000 would become another id. */
	if ((size_t)json_object_get_string_len(json_get(o, "custom_id")) != strlen(cid)) {
		problem(C, "invalid_custom_id", l->line_no,
			"custom_id must not hold a NUL character (\\u0000)");
		goto out;
	}
	if (!method || strcmp(method, "POST")) {
		problem(C, "invalid_method", l->line_no, "method must be POST");
		goto out;
	}
	if (!url || strcmp(url, C->endpoint)) {
		problem(C, "invalid_url", l->line_no,
			"url is \"%.100s\" but the batch's endpoint is %s: one url per file",
			url ? url : "", C->endpoint);
		goto out;
	}
	model = json_is_type(body, json_type_object) ? json_get_str(body, "model") : NULL;
	if (!model) {
		problem(C, "missing_required_parameter", l->line_no,
			"body must be an object with a string model");
		goto out;
	}
	if (!C->model_name[0]) {
		snprintf(C->model_name, sizeof(C->model_name), "%s", model);
		C->model = find_model(C->svc->cfg, model);
		if (!C->model)
			problem(C, "model_not_found", l->line_no,
				"no model \"%.100s\" is configured on this server (see barge models)",
				model);
		else if (strcmp(C->model->family, C->family))
			problem(C, "invalid_model", l->line_no,
				"model %.100s is a %s model; %s takes %s models", model,
				C->model->family, C->endpoint, C->family);
	} else if (strcmp(model, C->model_name)) {
		problem(C, "mismatched_model", l->line_no,
			"model is \"%.100s\" but the first request's is \"%.100s\": one model per file",
			model, C->model_name);
		goto out;
	}
	rc = idset_add(&C->ids, cid, strlen(cid), l->line_no, 0, &found);
	if (rc < 0) {
		rc = err_set(e, rc, "out of memory");
		goto out;
	}
	if (rc == 1) {
		rc = 0;
		problem(C, "duplicate_custom_id", l->line_no,
			"custom_id \"%.100s\" is already on line %llu: each must be unique", cid,
			(unsigned long long)found->a);
		goto out;
	}
	if (++C->n > MAX_REQUESTS) {
		problem(C, "too_many_requests", l->line_no, "a batch holds at most %d requests",
			MAX_REQUESTS);
		goto out;
	}
	if (C->n_errors)
		goto out;
	if (!body_span(l->data, l->len, &raw)) {
		/* Never reached for a parsed line with a body; a request is never dropped unsaid. */
		problem(C, "invalid_json_line", l->line_no, "the line's body cannot be read");
		goto out;
	}
	/* The body goes into the record as written, so that its numbers stay as sent. */
	buf_reset(&C->line);
	buf_puts(&C->line, "{\"recordId\":");
	buf_put_json_cstr(&C->line, cid);
	buf_puts(&C->line, ",\"modelInput\":");
	buf_append(&C->line, raw.val, raw.val_len);
	buf_puts(&C->line, "}\n");
	rc = C->line.err ? err_set(e, ERR_LIMIT, "line %llu is too large",
				   (unsigned long long)l->line_no)
			 : obj_writer_write(C->w, C->line.data, C->line.len, e);
out:
	json_object_put(o);
	return rc;
}

/*
 * convert_file reads input file `file` line by line and writes the job's
 * input at in_uri (empty when the file has problems: the batch then fails
 * with them). Fills C. Returns 0, or a negative code when the file cannot
 * be read or written.
 */
static int convert_file(struct convert *C, const char *file, const char *in_uri, struct err *e)
{
	struct jsonl_reader r;
	struct jsonl_line l;
	int rc;

	if ((rc = objects_open_write(C->svc->obj, in_uri, &C->w, e)))
		return rc;
	if ((rc = jsonl_open(&r, C->svc->obj, file, 0, 0, 1, C->svc->cfg->limits.max_line_bytes,
			     e))) {
		obj_writer_abort(C->w);
		return rc;
	}
	while ((rc = jsonl_next(&r, &l, e)) == 1) {
		if ((rc = convert_line(C, &l, e)))
			break;
	}
	jsonl_close(&r);
	if (rc < 0) {
		obj_writer_abort(C->w);
		return rc;
	}
	if (C->n == 0 && !C->n_errors)
		problem(C, "empty_file", 0, "the input file holds no request");
	if (C->n_errors) {
		/* Nothing runs: the job's input is left empty. */
		obj_writer_abort(C->w);
		return objects_put(C->svc->obj, in_uri, "", 0, e);
	}
	return obj_writer_commit(C->w, e);
}

/* first_model gives a failed batch a model to be a job of: it never runs. */
static const struct model_cfg *first_model(const struct config *c, const char *family)
{
	for (size_t i = 0; i < c->n_models; i++) {
		if (!strcmp(c->models[i].family, family))
			return &c->models[i];
	}
	return c->n_models ? &c->models[0] : NULL;
}

static void op_batch_create(struct service *svc, struct http_request *req,
			    const struct account_cfg *a);
static void op_batch_get(struct service *svc, struct http_request *req,
			 const struct account_cfg *a, const char *id);

/*
 * batch_meta_write keeps what the job does not: endpoint, input file,
 * window, metadata (as sent), the request count and the input's problems.
 */
static int batch_meta_write(struct service *svc, const char *uri, const char *endpoint,
			    const char *file_id, json_object *metadata, const struct convert *C,
			    struct err *e)
{
	struct buf b;
	int rc;

	buf_init(&b, (size_t)1 << 20);
	buf_puts(&b, "{\"endpoint\":");
	buf_put_json_cstr(&b, endpoint);
	buf_puts(&b, ",\"input_file_id\":");
	buf_put_json_cstr(&b, file_id);
	buf_puts(&b, ",\"model\":");
	buf_put_json_cstr(&b, C->model_name);
	buf_puts(&b, ",\"metadata\":");
	if (metadata)
		json_put(&b, metadata);
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\"total\":%zu,\"errors\":[", C->n_errors ? 0 : C->n);
	if (C->errors.len)
		buf_append(&b, C->errors.data, C->errors.len);
	buf_puts(&b, "]}");
	rc = b.err ? err_set(e, ERR_INVAL, "the batch's metadata is too large")
		   : objects_put(svc->obj, uri, b.data, b.len, e);
	buf_free(&b);
	return rc;
}

static void op_batch_create(struct service *svc, struct http_request *req,
			    const struct account_cfg *a)
{
	json_object *body = NULL, *metadata;
	const char *file_id, *endpoint, *window;
	char id[IDS_JOB_LEN + 1], rel[128], name[64], *dir = NULL, *in_uri = NULL;
	char *file = NULL, *meta_uri = NULL;
	struct convert C;
	struct job_request rq;
	const struct model_cfg *model;
	struct buf fm;
	struct job j;
	struct err e;
	int rc;

	memset(&C, 0, sizeof(C));
	idset_init(&C.ids, MAX_REQUESTS + 1);
	buf_init(&C.line, svc->cfg->limits.max_line_bytes + 4096);
	buf_init(&C.errors, (size_t)256 << 10);
	buf_init(&fm, SMALL_MAX);
	job_init(&j);
	if ((rc = json_parse(req->body, req->body_len, &body, &e)) ||
	    !json_is_type(body, json_type_object)) {
		rc = err_set(&e, ERR_INVAL, "the request body must be a JSON object");
		goto out;
	}
	file_id = json_get_str(body, "input_file_id");
	endpoint = json_get_str(body, "endpoint");
	window = json_get_str(body, "completion_window");
	metadata = json_get(body, "metadata");
	if (!file_id) {
		rc = err_set(&e, ERR_INVAL, "input_file_id: a file id is required");
		goto out;
	}
	if (!endpoint || !endpoint_family(endpoint)) {
		rc = err_set(&e, ERR_INVAL,
			     "endpoint must be /v1/chat/completions, /v1/completions or /v1/embeddings");
		goto out;
	}
	if (!window || strcmp(window, "24h")) {
		rc = err_set(&e, ERR_INVAL, "completion_window must be \"24h\"");
		goto out;
	}
	if (metadata && !json_is_type(metadata, json_type_object) &&
	    !json_is_type(metadata, json_type_null)) {
		rc = err_set(&e, ERR_INVAL, "metadata must be an object of strings");
		goto out;
	}
	if ((rc = file_meta(svc, a, file_id, &fm, &e)))
		goto out;
	if (!strstr(fm.data, "\"purpose\":\"batch\"")) {
		rc = err_set(&e, ERR_INVAL, "file %s is not a file of purpose \"batch\"", file_id);
		goto out;
	}
	ids_new_job(id);
	snprintf(rel, sizeof(rel), "files/%s", file_id);
	file = path_of(svc, a, rel);
	snprintf(rel, sizeof(rel), "batches/%s", id);
	dir = path_of(svc, a, rel);
	in_uri = dir ? objects_join(dir, "requests.jsonl") : NULL;
	meta_uri = dir ? objects_join(dir, "batch.json") : NULL;
	if (!file || !in_uri || !meta_uri) {
		rc = err_set(&e, ERR_NOMEM, "out of memory");
		goto out;
	}
	C.svc = svc;
	C.endpoint = endpoint;
	C.family = endpoint_family(endpoint);
	if ((rc = convert_file(&C, file, in_uri, &e)) ||
	    (rc = batch_meta_write(svc, meta_uri, endpoint, file_id,
				   json_is_type(metadata, json_type_object) ? metadata : NULL, &C,
				   &e)))
		goto out;
	model = C.n_errors ? first_model(svc->cfg, C.family) : C.model;
	if (!model) {
		rc = err_set(&e, ERR_INVAL, "no model is configured on this server");
		goto out;
	}
	snprintf(name, sizeof(name), JOB_NAME_PREFIX "%s", id);
	memset(&rq, 0, sizeof(rq));
	rq.account = a;
	rq.name = name;
	rq.model_id = model->id;
	rq.input_uri = in_uri;
	rq.output_uri = dir;
	rq.tags_json = "[{\"key\":\"barge:dialect\",\"value\":\"openai\"}]";
	rq.job_id = id;
	rq.internal = true;
	rq.skip_invalid = true;
	if ((rc = service_create(svc, &rq, &j, &e)))
		goto out;
	if (C.n_errors) {
		char msg[128];
		struct err se;

		snprintf(msg, sizeof(msg), "the input file has %zu problems (see errors)",
			 C.n_errors);
		if (store_job_set_status(svc->st, id, JS_FAILED, msg, time_now_ms(), &se))
			log_warn("batch %s: %s", id, se.msg);
	}
	snprintf(rel, sizeof(rel), BATCH_PREFIX "%s", id);
	op_batch_get(svc, req, a, rel);
out:
	if (rc) {
		struct err re;

		if (dir && rc != ERR_NOTFOUND)
			objects_remove_prefix(svc->obj, dir, &re);
		reply_err(req, &e);
	}
	json_object_put(body);
	idset_free(&C.ids);
	buf_free(&C.line);
	buf_free(&C.errors);
	buf_free(&fm);
	job_free(&j);
	free(file);
	free(dir);
	free(in_uri);
	free(meta_uri);
}

/* ---- results files ---- */

/* The ids of a batch's output and error files ("" when it has none). */
struct batch_files {
	char output[FILE_ID_MAX + 1];
	char errors[FILE_ID_MAX + 1];
};

/* put_out_line writes the output-file line of request k (0-based) of job j. */
static void put_out_line(struct buf *b, const struct job *j, uint64_t k, const char *cid,
			 const char *out, size_t len, const char *never)
{
	struct json_span body, code;
	char msg[1024];
	int64_t c = 500;

	buf_printf(b, "{\"id\":\"batch_req_%s_%llu\",\"custom_id\":", j->id,
		   (unsigned long long)k + 1);
	buf_put_json_cstr(b, cid);
	if (!out) {
		char why[1200];

		/* A batch that failed as a whole says why with each request it did not run. */
		if (j->status == JS_FAILED)
			snprintf(why, sizeof(why), "the request was not run: the batch failed: %s",
				 j->message ? j->message : "see the batch's errors");
		else
			snprintf(why, sizeof(why), "the request was not run: the batch was %s", never);
		buf_printf(b, ",\"response\":null,\"error\":{\"code\":\"batch_%s\",\"message\":",
			   never);
		buf_put_json_cstr(b, why);
		buf_puts(b, "}}\n");
		return;
	}
	buf_printf(b, ",\"response\":{\"request_id\":\"req_%s_%llu\",", j->id,
		   (unsigned long long)k + 1);
	if (json_span_at(out, len, "/modelOutput", &body) == 0) {
		buf_puts(b, "\"status_code\":200,\"body\":");
		buf_append(b, body.val, body.val_len);
		buf_puts(b, "},\"error\":null}\n");
		return;
	}
	if (json_span_at(out, len, "/error/errorCode", &code) == 0)
		json_span_int64(&code, &c);
	if (!dialect_span_str(out, len, "/error/errorMessage", msg, sizeof(msg)))
		snprintf(msg, sizeof(msg), "the request failed");
	/* A validation message names the job's input; the body is what the user wrote. */
	{
		char *p = strstr(msg, ": modelInput");

		if (p && p - msg < 600) {
			char rest[1024];

			snprintf(rest, sizeof(rest), "body%s", p + 12);
			snprintf(msg, sizeof(msg), "%s", rest);
		}
	}
	buf_printf(b, "\"status_code\":%lld,\"body\":{\"error\":{\"message\":", (long long)c);
	buf_put_json_cstr(b, msg);
	buf_printf(b, ",\"type\":\"%s\",\"param\":null,\"code\":null}}},\"error\":null}\n",
		   c >= 500 ? "server_error" : "invalid_request_error");
}

/*
 * write_results makes the output and error files of an ended job, once:
 * successes to one, failures and requests never run to the other. The
 * ids go to results.json last, so that a crash midway is repaired by
 * writing them again.
 */
static int write_results(struct service *svc, const struct account_cfg *a, const struct job *j,
			 const char *dir, struct batch_files *bf, struct err *e)
{
	struct dialect_pairs P;
	struct obj_writer *w[2] = {NULL, NULL};
	char ids[2][FILE_ID_MAX + 1], rel[FILE_ID_MAX + 16], *uris[2] = {NULL, NULL};
	char *in_uri = objects_join(dir, "requests.jsonl"), *out_uri, *res_uri;
	uint64_t bytes[2] = {0, 0}, k = 0;
	const char *never = j->status == JS_STOPPED  ? "cancelled"
			    : j->status == JS_FAILED ? "failed"
						     : "expired";
	char cid[DIALECT_ID_MAX + 1];
	struct buf line, rb;
	bool open = false;
	int rc;

	snprintf(rel, sizeof(rel), "%s/requests.jsonl.out", j->id);
	out_uri = objects_join(dir, rel);
	res_uri = objects_join(dir, "results.json");
	/* A result line holds the backend's answer: it is bounded like an output line. */
	buf_init(&line, DIALECT_OUT_LINE_MAX + 4096);
	buf_init(&rb, 1024);
	for (int i = 0; i < 2; i++) {
		snprintf(ids[i], sizeof(ids[i]), FILE_PREFIX "%s-%s", j->id, i ? "errors" : "output");
		snprintf(rel, sizeof(rel), "files/%s", ids[i]);
		uris[i] = path_of(svc, a, rel);
	}
	if (!in_uri || !out_uri || !res_uri || !uris[0] || !uris[1]) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = dialect_pairs_open(&P, svc->obj, in_uri, out_uri, svc->cfg->limits.max_line_bytes,
				     e)))
		goto out;
	open = true;
	for (int i = 0; i < 2; i++) {
		if ((rc = objects_open_write(svc->obj, uris[i], &w[i], e)))
			goto out;
	}
	for (;;) {
		const char *out;
		size_t len;
		int which;

		if ((rc = dialect_pairs_next(&P, cid, &out, &len, e)) <= 0)
			break;
		buf_reset(&line);
		put_out_line(&line, j, k++, cid, out, len, never);
		which = out && strstr(line.data, "\"status_code\":200,") ? 0 : 1;
		if (line.err) {
			rc = err_set(e, ERR_LIMIT, "a result line of batch %s is too large", j->id);
			break;
		}
		if ((rc = obj_writer_write(w[which], line.data, line.len, e)))
			break;
		bytes[which] += line.len;
	}
	if (rc < 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		struct obj_writer *x = w[i];

		w[i] = NULL;
		if (!bytes[i]) {
			obj_writer_abort(x);
			ids[i][0] = '\0';
			continue;
		}
		snprintf(rel, sizeof(rel), "batch_%s_%s.jsonl", j->id, i ? "error" : "output");
		if ((rc = obj_writer_commit(x, e)) ||
		    (rc = put_file_meta(svc, a, ids[i], bytes[i], rel, "batch_output", e)))
			goto out;
	}
	buf_printf(&rb, "{\"output_file_id\":\"%s\",\"error_file_id\":\"%s\"}", ids[0], ids[1]);
	if ((rc = objects_put(svc->obj, res_uri, rb.data, rb.len, e)))
		goto out;
	snprintf(bf->output, sizeof(bf->output), "%s", ids[0]);
	snprintf(bf->errors, sizeof(bf->errors), "%s", ids[1]);
out:
	for (int i = 0; i < 2; i++) {
		if (w[i])
			obj_writer_abort(w[i]);
		free(uris[i]);
	}
	if (open)
		dialect_pairs_close(&P);
	buf_free(&line);
	buf_free(&rb);
	free(in_uri);
	free(out_uri);
	free(res_uri);
	return rc;
}

/* batch_files finds (or, for an ended job, first writes) the batch's result files. */
static void batch_files(struct service *svc, const struct account_cfg *a, const struct job *j,
			const char *dir, struct batch_files *bf)
{
	char *res_uri = objects_join(dir, "results.json");
	struct buf b;
	struct err e;

	memset(bf, 0, sizeof(*bf));
	/*
	 * A failed batch gets its files too: the requests that ran before it
	 * failed have their results. One that failed on its input file's
	 * problems has an empty input, hence no file.
	 */
	if (!res_uri || !job_status_terminal(j->status)) {
		free(res_uri);
		return;
	}
	buf_init(&b, 4096);
	if (dialect_read_small(svc->obj, res_uri, &b, &e) == 0) {
		dialect_span_str(b.data, b.len, "/output_file_id", bf->output, sizeof(bf->output));
		dialect_span_str(b.data, b.len, "/error_file_id", bf->errors, sizeof(bf->errors));
	} else if (write_results(svc, a, j, dir, bf, &e)) {
		log_error("batch %s: cannot write its result files: %s", j->id, e.msg);
	}
	buf_free(&b);
	free(res_uri);
}

/* ---- the batch object ---- */

static const char *batch_status(enum job_status s)
{
	switch (s) {
	case JS_SUBMITTED:
	case JS_VALIDATING: return "validating";
	case JS_SCHEDULED:
	case JS_IN_PROGRESS: return "in_progress";
	case JS_STOPPING: return "cancelling";
	case JS_STOPPED: return "cancelled";
	case JS_COMPLETED: return "completed";
	case JS_FAILED: return "failed";
	default: return "expired";
	}
}

static void put_secs(struct buf *b, const char *key, int64_t ms)
{
	if (ms)
		buf_printf(b, ",\"%s\":%lld", key, (long long)(ms / 1000));
	else
		buf_printf(b, ",\"%s\":null", key);
}

static void put_member_raw(struct buf *b, const char *meta, size_t n, const char *key,
			   const char *fallback)
{
	struct json_span s;
	char p[64];

	snprintf(p, sizeof(p), "/%s", key);
	buf_printf(b, ",\"%s\":", key);
	if (json_span_at(meta, n, p, &s) == 0)
		buf_append(b, s.val, s.val_len);
	else
		buf_puts(b, fallback);
}

/*
 * put_batch writes the Batch object of job j from the job and the batch's
 * kept metadata (meta, its batch.json).
 */
static void put_batch(struct service *svc, const struct account_cfg *a, struct buf *b,
		      const struct job *j, const char *dir, const struct buf *meta)
{
	struct batch_files bf;
	struct json_span s;
	int64_t total = 0;
	bool ended = job_status_terminal(j->status);
	bool has_errors = json_span_at(meta->data, meta->len, "/errors/0", &s) == 0;

	batch_files(svc, a, j, dir, &bf);
	if (json_span_at(meta->data, meta->len, "/total", &s) == 0)
		json_span_int64(&s, &total);
	buf_printf(b, "{\"id\":\"" BATCH_PREFIX "%s\",\"object\":\"batch\"", j->id);
	put_member_raw(b, meta->data, meta->len, "endpoint", "null");
	put_member_raw(b, meta->data, meta->len, "model", "null");
	buf_puts(b, ",\"errors\":");
	if (has_errors) {
		buf_puts(b, "{\"object\":\"list\",\"data\":");
		json_span_at(meta->data, meta->len, "/errors", &s);
		buf_append(b, s.val, s.val_len);
		buf_putc(b, '}');
	} else if (j->status == JS_FAILED) {
		buf_puts(b, "{\"object\":\"list\",\"data\":[{\"code\":\"batch_failed\",\"message\":");
		buf_put_json_cstr(b, j->message ? j->message : "the batch failed");
		buf_puts(b, ",\"param\":null,\"line\":null}]}");
	} else {
		buf_puts(b, "null");
	}
	put_member_raw(b, meta->data, meta->len, "input_file_id", "null");
	buf_printf(b, ",\"completion_window\":\"24h\",\"status\":\"%s\"", batch_status(j->status));
	buf_puts(b, ",\"output_file_id\":");
	if (bf.output[0])
		buf_printf(b, "\"%s\"", bf.output);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"error_file_id\":");
	if (bf.errors[0])
		buf_printf(b, "\"%s\"", bf.errors);
	else
		buf_puts(b, "null");
	put_secs(b, "created_at", j->submit_ms);
	put_secs(b, "in_progress_at", j->start_ms);
	put_secs(b, "expires_at", j->expire_ms);
	put_secs(b, "finalizing_at", j->status == JS_COMPLETED ? j->end_ms : 0);
	put_secs(b, "completed_at", j->status == JS_COMPLETED ? j->end_ms : 0);
	put_secs(b, "failed_at", j->status == JS_FAILED ? j->end_ms : 0);
	put_secs(b, "expired_at",
		 j->status == JS_EXPIRED || j->status == JS_PARTIALLY_COMPLETED ? j->end_ms : 0);
	put_secs(b, "cancelling_at", dialect_cancel_ms(svc->obj, dir, j));
	put_secs(b, "cancelled_at", j->status == JS_STOPPED ? j->end_ms : 0);
	buf_printf(b, ",\"request_counts\":{\"total\":%lld,\"completed\":%lld,\"failed\":%lld}",
		   (long long)total, (long long)j->c.success,
		   (long long)(j->c.errors + (ended && j->status != JS_COMPLETED
						      ? (total - j->c.processed > 0
								 ? total - j->c.processed
								 : 0)
						      : 0)));
	buf_printf(b, ",\"usage\":{\"input_tokens\":%lld,\"output_tokens\":%lld,"
		      "\"total_tokens\":%lld}",
		   (long long)j->c.input_tokens, (long long)j->c.output_tokens,
		   (long long)(j->c.input_tokens + j->c.output_tokens));
	put_member_raw(b, meta->data, meta->len, "metadata", "null");
	buf_putc(b, '}');
}

/*
 * get_batch finds batch id of account a with its kept metadata: *j (the
 * caller job_frees it), *dir (the caller frees it) and meta.
 */
static int get_batch(struct service *svc, const struct account_cfg *a, const char *id,
		     struct job *j, char **dir, struct buf *meta, struct err *e)
{
	char rel[64], *uri;
	int rc;

	job_init(j);
	*dir = NULL;
	if (strncmp(id, BATCH_PREFIX, BATCH_PREFIX_LEN) ||
	    strlen(id) != BATCH_PREFIX_LEN + IDS_JOB_LEN)
		return err_set(e, ERR_NOTFOUND, "no batch %.80s was found", id);
	rc = service_get(svc, a, id + BATCH_PREFIX_LEN, j, e);
	if (rc == ERR_INVAL || rc == ERR_NOTFOUND ||
	    (!rc && (!j->tags_json || !strstr(j->tags_json, "\"value\":\"openai\"")))) {
		job_free(j);
		return err_set(e, ERR_NOTFOUND, "no batch %.80s was found", id);
	}
	if (rc)
		return rc;
	snprintf(rel, sizeof(rel), "batches/%s", j->id);
	*dir = path_of(svc, a, rel);
	uri = *dir ? objects_join(*dir, "batch.json") : NULL;
	rc = uri ? dialect_read_small(svc->obj, uri, meta, e)
		 : err_set(e, ERR_NOMEM, "out of memory");
	free(uri);
	if (rc) {
		job_free(j);
		free(*dir);
		*dir = NULL;
		return rc == ERR_NOTFOUND ? err_set(e, ERR_NOTFOUND, "no batch %.80s was found", id)
					  : rc;
	}
	return 0;
}

static void op_batch_get(struct service *svc, struct http_request *req,
			 const struct account_cfg *a, const char *id)
{
	struct job j;
	struct buf meta, b;
	char *dir;
	struct err e;

	buf_init(&meta, (size_t)1 << 20);
	if (get_batch(svc, a, id, &j, &dir, &meta, &e)) {
		buf_free(&meta);
		reply_err(req, &e);
		return;
	}
	buf_init(&b, (size_t)2 << 20);
	put_batch(svc, a, &b, &j, dir, &meta);
	reply_json(req, &b);
	buf_free(&b);
	buf_free(&meta);
	job_free(&j);
	free(dir);
}

static void op_batch_cancel(struct service *svc, struct http_request *req,
			    const struct account_cfg *a, const char *id)
{
	struct job j;
	struct buf meta;
	char *dir;
	struct err e;
	int rc = 0;

	buf_init(&meta, (size_t)1 << 20);
	if (get_batch(svc, a, id, &j, &dir, &meta, &e)) {
		buf_free(&meta);
		reply_err(req, &e);
		return;
	}
	if (!job_status_terminal(j.status)) {
		if (j.status != JS_STOPPING)
			dialect_note_cancel(svc->obj, dir);
		rc = service_stop(svc, a, j.id, &e);
	}
	buf_free(&meta);
	job_free(&j);
	free(dir);
	if (rc && rc != ERR_CONFLICT) {
		reply_err(req, &e);
		return;
	}
	op_batch_get(svc, req, a, id);
}

static bool batch_live(struct service *svc, const struct account_cfg *a, const struct job *listed,
		       struct job *out)
{
	char bid[BATCH_PREFIX_LEN + IDS_JOB_LEN + 1], *dir;
	struct buf meta;
	struct err e;
	bool ok;

	snprintf(bid, sizeof(bid), BATCH_PREFIX "%s", listed->id);
	buf_init(&meta, (size_t)1 << 20);
	ok = get_batch(svc, a, bid, out, &dir, &meta, &e) == 0;
	buf_free(&meta);
	free(dir);
	return ok;
}

static void op_batch_list(struct service *svc, struct http_request *req,
			  const struct account_cfg *a)
{
	size_t limit = LIST_DEFAULT, n = 0, shown;
	char after[IDS_JOB_LEN + 1] = "", v_limit[16], v_after[64];
	struct job *v = NULL;
	struct buf b;
	struct err e;
	int rc;

	if ((rc = dialect_query_param(req->query, "limit", v_limit, sizeof(v_limit)))) {
		char *end;
		long l = rc < 0 ? 0 : strtol(v_limit, &end, 10);

		if (rc < 0 || *end || l < 1 || l > LIST_MAX) {
			openai_reply_error(req, 400, "invalid_request_error", NULL,
					   "limit must be a number from 1 to 100");
			return;
		}
		limit = (size_t)l;
	}
	if ((rc = dialect_query_param(req->query, "after", v_after, sizeof(v_after)))) {
		if (rc < 0 || strlen(v_after) != BATCH_PREFIX_LEN + IDS_JOB_LEN ||
		    strncmp(v_after, BATCH_PREFIX, BATCH_PREFIX_LEN)) {
			openai_reply_error(req, 400, "invalid_request_error", NULL,
					   "after must be a batch id");
			return;
		}
		memcpy(after, v_after + BATCH_PREFIX_LEN, IDS_JOB_LEN + 1);
	}
	if (dialect_collect(svc, a, JOB_NAME_PREFIX, after[0] ? after : NULL, false, limit + 1,
			    batch_live, &v, &n, &e)) {
		reply_err(req, &e);
		return;
	}
	shown = n > limit ? limit : n;
	buf_init(&b, (size_t)64 << 20);
	buf_puts(&b, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < shown; i++) {
		struct buf meta;
		char rel[64], *dir, *uri;

		snprintf(rel, sizeof(rel), "batches/%s", v[i].id);
		dir = path_of(svc, a, rel);
		uri = dir ? objects_join(dir, "batch.json") : NULL;
		buf_init(&meta, (size_t)1 << 20);
		if (uri && dialect_read_small(svc->obj, uri, &meta, &e) == 0) {
			if (i)
				buf_putc(&b, ',');
			put_batch(svc, a, &b, &v[i], dir, &meta);
		}
		buf_free(&meta);
		free(dir);
		free(uri);
	}
	buf_printf(&b, "],\"has_more\":%s", n > limit ? "true" : "false");
	if (shown)
		buf_printf(&b, ",\"first_id\":\"" BATCH_PREFIX "%s\",\"last_id\":\"" BATCH_PREFIX
			       "%s\"}",
			   v[0].id, v[shown - 1].id);
	else
		buf_puts(&b, ",\"first_id\":null,\"last_id\":null}");
	reply_json(req, &b);
	buf_free(&b);
	store_jobs_free(v, n);
}

/* ---- routing ---- */

size_t openai_body_limit(const struct http_request *req)
{
	if (!strcmp(req->method, "POST") && !strcmp(req->path, "/v1/files"))
		return MAX_FILE_BYTES + ((size_t)1 << 20);
	return 0;
}

/* split_id copies the id after prefix in path into id and points *rest at what follows. */
static bool split_id(const char *path, const char *prefix, char *id, size_t n, const char **rest)
{
	size_t pl = strlen(prefix), idn;

	if (strncmp(path, prefix, pl))
		return false;
	path += pl;
	idn = strcspn(path, "/");
	if (!idn || idn >= n)
		return false;
	memcpy(id, path, idn);
	id[idn] = '\0';
	*rest = path + idn;
	return true;
}

bool openai_handle(struct service *svc, struct http_request *req)
{
	const char *p = req->path, *m = req->method, *rest;
	struct auth_result ar;
	char id[64];

	if (strcmp(p, "/v1/files") && strncmp(p, "/v1/files/", 10) && strcmp(p, "/v1/batches") &&
	    strncmp(p, "/v1/batches/", 12))
		return false;
	if (auth_api_key(svc, req, &ar)) {
		log_info("api: %s %s refused: %s", m, p, ar.message);
		openai_reply_error(req, 401, "invalid_request_error", "invalid_api_key", ar.message);
		return true;
	}
	log_info("api: %s %s by account %s", m, p, ar.account->name);
	if (!strcmp(p, "/v1/files") && !strcmp(m, "POST"))
		op_file_upload(svc, req, ar.account);
	else if (!strcmp(p, "/v1/files") && !strcmp(m, "GET"))
		op_file_list(svc, req, ar.account);
	else if (split_id(p, "/v1/files/", id, sizeof(id), &rest) && !*rest && !strcmp(m, "GET"))
		op_file_get(svc, req, ar.account, id);
	else if (split_id(p, "/v1/files/", id, sizeof(id), &rest) && !*rest && !strcmp(m, "DELETE"))
		op_file_delete(svc, req, ar.account, id);
	else if (split_id(p, "/v1/files/", id, sizeof(id), &rest) && !strcmp(rest, "/content") &&
		 !strcmp(m, "GET"))
		op_file_content(svc, req, ar.account, id);
	else if (!strcmp(p, "/v1/batches") && !strcmp(m, "POST"))
		op_batch_create(svc, req, ar.account);
	else if (!strcmp(p, "/v1/batches") && !strcmp(m, "GET"))
		op_batch_list(svc, req, ar.account);
	else if (split_id(p, "/v1/batches/", id, sizeof(id), &rest) && !*rest && !strcmp(m, "GET"))
		op_batch_get(svc, req, ar.account, id);
	else if (split_id(p, "/v1/batches/", id, sizeof(id), &rest) && !strcmp(rest, "/cancel") &&
		 !strcmp(m, "POST"))
		op_batch_cancel(svc, req, ar.account, id);
	else
		openai_reply_error(req, 404, "invalid_request_error", "unknown_url",
				   "no operation lives at this path");
	return true;
}
