/* finalize.c - assembling a job's outputs and manifest from its parts. */
#include "core/finalize.h"
#include "core/jsonl.h"
#include "core/result.h"
#include "core/runner.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COPY_BUF (256 * 1024)

struct prices finalize_prices(const struct job *j)
{
	struct prices p = {j->price_in, j->price_out, j->discount};

	return p;
}

/* copy_object appends the whole object at uri to w. */
static int copy_object(struct objects *obj, const char *uri, struct obj_writer *w,
		       char *tmp, struct err *e)
{
	struct obj_reader *r;
	size_t got;
	int rc = objects_open_read(obj, uri, 0, 0, &r, e);

	if (rc)
		return rc;
	while (!(rc = obj_reader_read(r, tmp, COPY_BUF, &got, e)) && got)
		if ((rc = obj_writer_write(w, tmp, got, e)))
			break;
	obj_reader_close(r);
	return rc;
}

/*
 * copy_journaled writes the journaled records of an unfinished chunk, in
 * order, and adds them to shown.
 */
static int copy_journaled(struct objects *obj, const struct job *j,
			  const struct job_input *in, const struct chunk *c,
			  const char *journal_dir, size_t max_line_bytes, struct obj_writer *w,
			  struct job_counts *shown, struct err *e)
{
	char path[PATH_MAX];
	struct result *res;
	struct jsonl_reader rd;
	struct jsonl_line l;
	struct buf line;
	int64_t n, k = 0;
	int rc;

	runner_journal_path(journal_dir, j->id, c->seq, path, sizeof(path));
	if (access(path, F_OK) != 0)
		return 0;
	res = calloc((size_t)c->nrecords, sizeof(*res));
	if (!res)
		return err_set(e, ERR_NOMEM, "out of memory");
	n = result_load_journal(path, res, c->nrecords, e);
	if (n <= 0) {
		free(res);
		return n < 0 ? (int)n : 0;
	}
	buf_init(&line, BUF_DEFAULT_MAX);
	rc = jsonl_open(&rd, obj, in->uri, c->start_off, c->end_off - c->start_off, c->first_line,
			max_line_bytes, e);
	if (rc)
		goto out;
	while (k < c->nrecords && (rc = jsonl_next(&rd, &l, e)) == 1) {
		const struct result *r = &res[k];

		if (r->done) {
			buf_reset(&line);
			result_put_line(&line, l.data, l.len, j->id, in->idx, c->first_record + k, r);
			if ((rc = obj_writer_write(w, line.data, line.len, e)))
				break;
			result_count(shown, r);
		}
		k++;
	}
	if (rc > 0)
		rc = 0;
	jsonl_close(&rd);
out:
	for (int64_t i = 0; i < c->nrecords; i++)
		result_clear(&res[i]);
	free(res);
	buf_free(&line);
	return rc;
}

static void put_time(struct buf *b, const char *key, int64_t ms)
{
	char t[40];

	if (!ms)
		return;
	time_format_rfc3339(ms, t, sizeof(t));
	buf_printf(b, ",\"%s\":\"%s\"", key, t);
}

static int write_manifest(struct objects *obj, const struct job *j, const char *prefix,
			  const struct job_counts *c, struct err *e)
{
	struct prices p = finalize_prices(j);
	struct costs cost;
	struct buf b;
	char *uri;
	int rc;

	pricing_compute(&p, (double)c->input_tokens, (double)c->output_tokens, &cost);
	buf_init(&b, 1 << 20);
	buf_printf(&b,
		   "{\"totalRecordCount\":%lld,\"processedRecordCount\":%lld,"
		   "\"successRecordCount\":%lld,\"errorRecordCount\":%lld,"
		   "\"inputTokenCount\":%lld,\"outputTokenCount\":%lld,",
		   (long long)c->total, (long long)c->processed, (long long)c->success,
		   (long long)c->errors, (long long)c->input_tokens, (long long)c->output_tokens);
	buf_puts(&b, "\"jobId\":");
	buf_put_json_cstr(&b, j->id);
	buf_puts(&b, ",\"jobArn\":");
	buf_put_json_cstr(&b, j->arn ? j->arn : "");
	buf_puts(&b, ",\"jobName\":");
	buf_put_json_cstr(&b, j->name ? j->name : "");
	buf_puts(&b, ",\"modelId\":");
	buf_put_json_cstr(&b, j->model_id);
	buf_puts(&b, ",\"status\":");
	buf_put_json_cstr(&b, job_status_name(j->status));
	put_time(&b, "submitTime", j->submit_ms);
	put_time(&b, "endTime", j->end_ms ? j->end_ms : time_now_ms());
	buf_printf(&b, ",\"retryCount\":%lld,\"throttleCount\":%lld,\"cost\":",
		   (long long)c->retries, (long long)c->throttles);
	pricing_put_json(&b, &p, &cost);
	buf_puts(&b, "}\n");
	uri = objects_join(prefix, "manifest.json.out");
	if (!uri || b.err) {
		free(uri);
		buf_free(&b);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	rc = objects_put(obj, uri, b.data, b.len, e);
	free(uri);
	buf_free(&b);
	return rc;
}

void finalize_clean(struct objects *obj, struct store *st, const struct job *j,
		    const char *journal_dir)
{
	char path[PATH_MAX];
	char *prefix = runner_job_prefix(j);
	char *parts = prefix ? objects_join(prefix, "parts/") : NULL;
	struct chunk *ch = NULL;
	size_t n_ch = 0;
	struct err e;

	if (parts && objects_remove_prefix(obj, parts, &e))
		log_warn("%s", e.msg);
	if (!store_chunks_list(st, j->id, &ch, &n_ch, &e)) {
		for (size_t i = 0; i < n_ch; i++) {
			runner_journal_path(journal_dir, j->id, ch[i].seq, path, sizeof(path));
			unlink(path);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", journal_dir, j->id);
	rmdir(path);
	free(ch);
	free(parts);
	free(prefix);
}

int finalize_end(struct objects *obj, struct store *st, struct job *j,
		 const char *journal_dir, size_t max_line_bytes, enum job_status to,
		 const char *msg, bool final, struct job_counts *shown, struct err *e)
{
	int rc;

	j->status = to;
	j->end_ms = time_now_ms();
	rc = finalize_job(obj, st, j, journal_dir, max_line_bytes, shown, e);
	if (rc)
		return rc;
	if (final && (rc = store_job_set_counts(st, j->id, shown, e)))
		return rc;
	rc = store_job_set_status(st, j->id, to, msg, time_now_ms(), e);
	if (rc)
		return rc;
	if (final)
		finalize_clean(obj, st, j, journal_dir);
	return 0;
}

int finalize_job(struct objects *obj, struct store *st, const struct job *j,
		 const char *journal_dir, size_t max_line_bytes, struct job_counts *shown,
		 struct err *e)
{
	struct job_input *inputs = NULL;
	struct chunk *ch = NULL;
	size_t n_in = 0, n_ch = 0, ci = 0;
	char *prefix = NULL, *tmp = NULL;
	int rc;

	*shown = j->c;
	rc = store_inputs_get(st, j->id, &inputs, &n_in, e);
	if (rc)
		goto out;
	rc = store_chunks_list(st, j->id, &ch, &n_ch, e);
	if (rc)
		goto out;
	prefix = runner_job_prefix(j);
	tmp = malloc(COPY_BUF);
	if (!prefix || !tmp) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_in && !rc; i++) {
		struct obj_writer *w;
		char name[PATH_MAX];
		char *uri;

		snprintf(name, sizeof(name), "%s.out", inputs[i].name);
		uri = objects_join(prefix, name);
		if (!uri) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		rc = objects_open_write(obj, uri, &w, e);
		free(uri);
		if (rc)
			break;
		/* Chunks are in seq order, and seq follows input order. */
		for (; ci < n_ch && ch[ci].input_idx == inputs[i].idx && !rc; ci++) {
			if (ch[ci].state == CHUNK_DONE) {
				char *part = runner_part_uri(j, &inputs[i], ch[ci].seq,
							     ch[ci].lease_owner);

				rc = part ? copy_object(obj, part, w, tmp, e)
					  : err_set(e, ERR_NOMEM, "out of memory");
				free(part);
			} else {
				rc = copy_journaled(obj, j, &inputs[i], &ch[ci], journal_dir,
						    max_line_bytes, w, shown, e);
			}
		}
		if (rc) {
			obj_writer_abort(w);
			break;
		}
		rc = obj_writer_commit(w, e);
	}
	if (!rc)
		rc = write_manifest(obj, j, prefix, shown, e);
out:
	free(tmp);
	free(prefix);
	free(ch);
	job_inputs_free(inputs, n_in);
	return rc;
}
