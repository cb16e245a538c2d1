/* runner.c - runs a job's chunks through the engine to part objects. */
#include "core/runner.h"
#include "core/jsonl.h"
#include "core/record.h"
#include "core/result.h"
#include "core/validate.h"
#include "engine/limiter.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Request bytes in flight are capped so that big records cannot exhaust memory. */
#define RUN_MAX_INFLIGHT_BYTES ((size_t)64 << 20)
#define RUN_JOURNAL_FLUSH_MS 200
#define RUN_PROGRESS_MS 250

struct runner;
struct run_chunk;

/* One record of a running chunk. */
struct slot {
	struct call call;
	struct run_chunk *ch;
	struct result res;
	struct record rec;    /* parsed while in flight, for from_wire */
	char *line;           /* the input line while in flight (rec points into it) */
	bool in_flight;
	bool invalid;         /* skipped at validation: an error record without a request */
};

struct run_chunk {
	struct runner *R;
	struct chunk meta;
	const struct job_input *input;
	struct slot *slots;
	int64_t next;         /* next record to read */
	int64_t done;
	int64_t in_flight;
	struct jsonl_reader rd;
	bool reading;
	FILE *journal;
	char journal_path[PATH_MAX];
	struct invalid_rec *inv;
	size_t n_inv, inv_pos;
	bool complete;        /* every record done: to be made durable by the loop */
	struct run_chunk *next_active;
};

struct runner {
	const struct runner_opts *o;
	struct job *job;
	struct ebackend *be;
	enum wire wire;
	struct job_input *inputs;
	size_t n_inputs;
	struct run_chunk *active; /* leased chunks, in lease order */
	struct run_chunk *reading; /* the chunk whose records are being read */
	bool no_more;             /* every chunk has been leased */
	int64_t outstanding;
	size_t outstanding_bytes;
	struct run_progress prog;
	int failed;               /* a fatal error happened in a callback */
	struct err ferr;
	struct buf line;          /* scratch for output and journal lines */
};

void runner_journal_path(const char *dir, const char *job_id, unsigned seq, char *out,
			 size_t n)
{
	snprintf(out, n, "%s/%s/%06u.jsonl", dir, job_id, seq);
}

char *runner_job_prefix(const struct job *j)
{
	return objects_join(j->output_uri, j->id);
}

char *runner_part_uri(const struct job *j, const struct job_input *in, unsigned seq)
{
	char name[PATH_MAX];
	char *prefix = runner_job_prefix(j), *uri;

	if (!prefix)
		return NULL;
	snprintf(name, sizeof(name), "parts/%s.%06u.out", in->name, seq);
	uri = objects_join(prefix, name);
	free(prefix);
	return uri;
}

static void fail_run(struct runner *R, const struct err *e)
{
	if (R->failed)
		return;
	R->failed = 1;
	R->ferr = *e;
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static void chunk_free(struct run_chunk *ch)
{
	if (ch->reading)
		jsonl_close(&ch->rd);
	if (ch->journal)
		fclose(ch->journal);
	for (int64_t i = 0; i < ch->meta.nrecords; i++) {
		result_clear(&ch->slots[i].res);
		record_free(&ch->slots[i].rec);
		free(ch->slots[i].line);
	}
	free(ch->slots);
	invalid_recs_free(ch->inv, ch->n_inv);
	free(ch);
}

/*
 * write_part writes the chunk's output lines to its part object, echoing
 * each input line's recordId and modelInput as written.
 */
static int write_part(struct runner *R, struct run_chunk *ch, struct err *e)
{
	const struct runner_opts *o = R->o;
	struct jsonl_reader rd;
	struct jsonl_line l;
	struct obj_writer *w = NULL;
	char *uri;
	int64_t k = 0;
	int rc;

	uri = runner_part_uri(R->job, ch->input, ch->meta.seq);
	if (!uri)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = jsonl_open(&rd, o->obj, ch->input->uri, ch->meta.start_off,
			ch->meta.end_off - ch->meta.start_off, ch->meta.first_line,
			o->lim->max_line_bytes, e);
	if (rc)
		goto out;
	rc = objects_open_write(o->obj, uri, &w, e);
	if (rc)
		goto close;
	while (k < ch->meta.nrecords && (rc = jsonl_next(&rd, &l, e)) == 1) {
		buf_reset(&R->line);
		result_put_line(&R->line, l.data, l.len, R->job->id, ch->input->idx,
				ch->meta.first_record + k, &ch->slots[k].res);
		if (R->line.err) {
			rc = err_set(e, ERR_LIMIT, "output line of record %lld is too large",
				     (long long)(ch->meta.first_record + k));
			break;
		}
		rc = obj_writer_write(w, R->line.data, R->line.len, e);
		if (rc)
			break;
		k++;
	}
	if (rc == 0 && k < ch->meta.nrecords)
		rc = err_set(e, ERR_CONFLICT, "input %s changed while the job ran: chunk %u is short",
			     ch->input->uri, ch->meta.seq);
	if (rc < 0) {
		obj_writer_abort(w);
		goto close;
	}
	rc = obj_writer_commit(w, e);
close:
	jsonl_close(&rd);
out:
	free(uri);
	return rc;
}

static void unlink_active(struct runner *R, struct run_chunk *ch)
{
	struct run_chunk **pp = &R->active;

	while (*pp && *pp != ch)
		pp = &(*pp)->next_active;
	if (*pp)
		*pp = ch->next_active;
	if (R->reading == ch)
		R->reading = NULL;
}

/*
 * complete_chunk makes a finished chunk durable: its part object first,
 * then one store transaction with its counts, then the journal goes.
 */
static void complete_chunk(struct runner *R, struct run_chunk *ch)
{
	struct err e;
	int rc;

	ch->meta.c = (struct job_counts){0};
	for (int64_t i = 0; i < ch->meta.nrecords; i++)
		result_count(&ch->meta.c, &ch->slots[i].res);
	if (ch->journal && fflush(ch->journal) != 0)
		log_warn("journal %s: %s", ch->journal_path, strerror(errno));
	rc = write_part(R, ch, &e);
	if (!rc)
		rc = store_chunk_complete(R->o->st, &ch->meta, R->o->owner, time_now_ms(), &e);
	if (rc) {
		err_prefix(&e, "chunk %u", ch->meta.seq);
		fail_run(R, &e);
		return;
	}
	if (ch->journal) {
		fclose(ch->journal);
		ch->journal = NULL;
	}
	unlink(ch->journal_path);
	unlink_active(R, ch);
	chunk_free(ch);
}

/*
 * maybe_complete marks a chunk whose records are all done. The loop makes it
 * durable later (complete_ready), never inside an engine callback, because
 * completing frees the chunk and with it the calls the engine still holds.
 */
static void maybe_complete(struct runner *R, struct run_chunk *ch)
{
	(void)R;
	if (ch->done == ch->meta.nrecords && !ch->reading && ch->in_flight == 0)
		ch->complete = true;
}

static void complete_ready(struct runner *R)
{
	struct run_chunk *ch = R->active, *next;

	for (; ch && !R->failed; ch = next) {
		next = ch->next_active;
		if (ch->complete)
			complete_chunk(R, ch);
	}
}

/* finish_slot records a result: counts, journal, and maybe the chunk's end. */
static void finish_slot(struct runner *R, struct run_chunk *ch, struct slot *s)
{
	int64_t k = s - ch->slots;

	s->res.done = true;
	ch->done++;
	result_count(&R->prog.c, &s->res);
	if (ch->journal) {
		buf_reset(&R->line);
		result_put_journal(&R->line, k, &s->res);
		if (!R->line.err && fwrite(R->line.data, 1, R->line.len, ch->journal) != R->line.len)
			log_warn("journal %s: %s", ch->journal_path, strerror(errno));
	}
}

static void set_error(struct result *r, int code, const char *msg)
{
	result_clear(r);
	r->ok = false;
	r->code = code;
	r->out = strdup(msg);
	r->out_len = r->out ? strlen(r->out) : 0;
}

static void on_call_done(struct call *c)
{
	struct slot *s = (struct slot *)c;
	struct run_chunk *ch = s->ch;
	struct runner *R = ch->R;
	struct err e;

	s->in_flight = false;
	ch->in_flight--;
	R->outstanding--;
	R->outstanding_bytes -= c->body_len;
	free(c->body);
	c->body = NULL;
	if (c->outcome == CALL_CANCELED) {
		/* Not processed: it stays pending for the next run. */
		record_free(&s->rec);
		free(s->line);
		s->line = NULL;
		return;
	}
	result_clear(&s->res);
	s->res.retries = c->retries;
	s->res.throttles = c->throttles;
	if (c->outcome == CALL_OK) {
		struct buf out;
		struct usage u = {0, 0};
		struct wire_resp wr = {c->resp, c->ar.body, c->ar.body_len, c->hdr_input_tokens,
				       c->hdr_output_tokens};

		buf_init(&out, BUF_DEFAULT_MAX);
		if (R->o->fam->from_wire(R->wire, s->rec.mi, &wr, R->o->model->upstream, &out, &u,
					 &e) == 0 && !out.err) {
			s->res.ok = true;
			s->res.out = buf_steal(&out, &s->res.out_len);
			s->res.input_tokens = u.input_tokens;
			s->res.output_tokens = u.output_tokens;
			/* The limiter settles its token budget with the real usage. */
			c->actual_tokens = u.input_tokens + u.output_tokens;
		} else {
			set_error(&s->res, 502, out.err ? "the backend's answer is too large" : e.msg);
		}
		buf_free(&out);
	} else {
		set_error(&s->res, c->error_code, c->error_msg);
	}
	s->res.retries = c->retries;
	s->res.throttles = c->throttles;
	record_free(&s->rec);
	free(s->line);
	s->line = NULL;
	finish_slot(R, ch, s);
	maybe_complete(R, ch);
}

/*
 * open_chunk leases the next chunk and prepares it: slots, the journal of an
 * earlier run, the invalid records to skip, a reader on its byte range.
 * Returns 1 with a chunk, 0 when none is left, or a negative code.
 */
static int open_chunk(struct runner *R, struct err *e)
{
	const struct runner_opts *o = R->o;
	struct run_chunk *ch, **tail;
	struct chunk meta;
	int64_t loaded;
	char dir[PATH_MAX];
	int rc;

	rc = store_chunk_lease(o->st, R->job->id, o->owner, time_now_ms(), o->lease_ms, &meta, e);
	if (rc <= 0)
		return rc;
	if (meta.input_idx >= R->n_inputs)
		return err_set(e, ERR_INTERNAL, "chunk %u names input %u, which the job lacks",
			       meta.seq, meta.input_idx);
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return err_set(e, ERR_NOMEM, "out of memory");
	ch->R = R;
	ch->meta = meta;
	ch->input = &R->inputs[meta.input_idx];
	ch->slots = calloc((size_t)meta.nrecords, sizeof(*ch->slots));
	if (!ch->slots) {
		free(ch);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	for (int64_t i = 0; i < meta.nrecords; i++)
		ch->slots[i].ch = ch;
	runner_journal_path(o->journal_dir, R->job->id, meta.seq, ch->journal_path,
			    sizeof(ch->journal_path));
	/* Load into a plain array, then move each result into its slot. */
	{
		struct result *tmp = calloc((size_t)meta.nrecords, sizeof(*tmp));

		if (!tmp) {
			chunk_free(ch);
			return err_set(e, ERR_NOMEM, "out of memory");
		}
		loaded = result_load_journal(ch->journal_path, tmp, meta.nrecords, e);
		for (int64_t i = 0; i < meta.nrecords; i++)
			ch->slots[i].res = tmp[i];
		free(tmp);
		if (loaded < 0) {
			chunk_free(ch);
			return (int)loaded;
		}
	}
	for (int64_t i = 0; i < meta.nrecords; i++) {
		const struct result *r = &ch->slots[i].res;

		if (!r->done)
			continue;
		ch->done++;
		result_count(&R->prog.c, r);
	}
	snprintf(dir, sizeof(dir), "%s/%s", o->journal_dir, R->job->id);
	if (mkdirs(dir) < 0 || !(ch->journal = fopen(ch->journal_path, "a"))) {
		rc = err_set(e, ERR_IO, "%s: cannot open journal: %s", ch->journal_path,
			     strerror(errno));
		chunk_free(ch);
		return rc;
	}
	if (R->job->skip_invalid) {
		rc = store_invalid_list(o->st, R->job->id, meta.input_idx, meta.first_record,
					meta.nrecords, &ch->inv, &ch->n_inv, e);
		if (rc) {
			chunk_free(ch);
			return rc;
		}
	}
	if (ch->done < meta.nrecords) {
		rc = jsonl_open(&ch->rd, o->obj, ch->input->uri, meta.start_off,
				meta.end_off - meta.start_off, meta.first_line, o->lim->max_line_bytes,
				e);
		if (rc) {
			chunk_free(ch);
			return rc;
		}
		ch->reading = true;
	}
	for (tail = &R->active; *tail; tail = &(*tail)->next_active)
		;
	*tail = ch;
	R->reading = ch->reading ? ch : NULL;
	if (!ch->reading)
		maybe_complete(R, ch);
	return 1;
}

/*
 * dispatch_line turns record k's line into a request, or into an error
 * record when it is invalid. Takes ownership of nothing; copies the line.
 */
static void dispatch_line(struct runner *R, struct run_chunk *ch, int64_t k,
			  const struct jsonl_line *l)
{
	const struct runner_opts *o = R->o;
	struct slot *s = &ch->slots[k];
	int64_t abs_idx = ch->meta.first_record + k;
	struct wire_req wr = {0};
	struct err e;
	int64_t it = 0, mo = 0;

	while (ch->inv_pos < ch->n_inv && ch->inv[ch->inv_pos].record_idx < abs_idx)
		ch->inv_pos++;
	if (ch->inv_pos < ch->n_inv && ch->inv[ch->inv_pos].record_idx == abs_idx) {
		set_error(&s->res, 400, ch->inv[ch->inv_pos].message);
		finish_slot(R, ch, s);
		return;
	}
	if (l->too_long) {
		snprintf(e.msg, sizeof(e.msg), "%s:%llu: the line is %llu bytes, over max_line_bytes",
			 ch->input->uri, (unsigned long long)l->line_no,
			 (unsigned long long)l->full_len);
		set_error(&s->res, 400, e.msg);
		finish_slot(R, ch, s);
		return;
	}
	s->line = malloc(l->len + 1);
	if (!s->line) {
		set_error(&s->res, 500, "out of memory");
		finish_slot(R, ch, s);
		return;
	}
	memcpy(s->line, l->data, l->len);
	s->line[l->len] = '\0';
	/*
	 * The family's rules were checked at validation, on this very version
	 * of the input (a changed input is refused), and the adapters that
	 * convert check them again; parsing is all that is left to do here.
	 */
	if (record_parse(s->line, l->len, &s->rec, &e) ||
	    o->fam->to_wire(R->wire, s->rec.mi, s->rec.mi_raw, s->rec.mi_raw_len,
			    o->model->upstream, &wr, &e)) {
		char msg[ERR_MSG_MAX + 128];

		snprintf(msg, sizeof(msg), "%s:%llu: %s", ch->input->uri,
			 (unsigned long long)l->line_no, e.msg);
		set_error(&s->res, 400, msg);
		record_free(&s->rec);
		free(s->line);
		s->line = NULL;
		finish_slot(R, ch, s);
		return;
	}
	o->fam->estimate(s->rec.mi, &it, &mo);
	s->call.be = R->be;
	s->call.path = wr.path;
	s->call.model = o->model->upstream;
	s->call.body = wr.body;
	s->call.body_len = wr.body_len;
	s->call.est_tokens = it + mo;
	s->call.done = on_call_done;
	s->call.ud = s;
	s->in_flight = true;
	ch->in_flight++;
	R->outstanding++;
	R->outstanding_bytes += wr.body_len;
	engine_submit(o->eng, &s->call);
}

/* fill keeps enough records queued to keep the backend busy. */
static int fill(struct runner *R, struct err *e)
{
	struct limiter_state ls;
	int64_t window;
	int rc;

	/*
	 * Twice the backend's current limit keeps a request ready for every
	 * slot that frees, without reading far ahead of what can be sent.
	 */
	limiter_state(R->be->lim, &ls);
	window = (int64_t)ls.limit * 2;
	if (window < 32)
		window = 32;
	while (!R->failed && R->outstanding < window &&
	       R->outstanding_bytes < RUN_MAX_INFLIGHT_BYTES) {
		struct run_chunk *ch = R->reading;
		struct jsonl_line l;
		int64_t k;

		if (!ch) {
			if (R->no_more)
				return 0;
			rc = open_chunk(R, e);
			if (rc < 0)
				return rc;
			if (rc == 0) {
				R->no_more = true;
				return 0;
			}
			continue;
		}
		k = ch->next;
		if (k >= ch->meta.nrecords) {
			ch->reading = false;
			jsonl_close(&ch->rd);
			R->reading = NULL;
			maybe_complete(R, ch);
			continue;
		}
		rc = jsonl_next(&ch->rd, &l, e);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return err_set(e, ERR_CONFLICT,
				       "input %s changed while the job ran: chunk %u ends early",
				       ch->input->uri, ch->meta.seq);
		ch->next++;
		if (ch->slots[k].res.done)
			continue; /* journaled by an earlier run */
		dispatch_line(R, ch, k, &l);
		if (ch->next == ch->meta.nrecords) {
			ch->reading = false;
			jsonl_close(&ch->rd);
			R->reading = NULL;
			maybe_complete(R, ch);
		}
	}
	return 0;
}

static void flush_journals(struct runner *R)
{
	for (struct run_chunk *ch = R->active; ch; ch = ch->next_active) {
		if (ch->journal)
			fflush(ch->journal);
	}
}

static void report(struct runner *R, int64_t t0)
{
	struct limiter_state ls;

	if (!R->o->progress)
		return;
	limiter_state(R->be->lim, &ls);
	R->prog.in_flight = R->outstanding;
	R->prog.elapsed_ms = time_mono_ms() - t0;
	R->prog.limit = ls.limit;
	R->prog.backend_down = ls.down;
	R->prog.backend = R->be->cfg->name;
	R->o->progress(R->o->progress_ud, &R->prog);
}

/* close_all releases every chunk still leased (after a stop or a failure). */
static void close_all(struct runner *R)
{
	struct err e;

	flush_journals(R);
	while (R->active) {
		struct run_chunk *ch = R->active;

		R->active = ch->next_active;
		chunk_free(ch);
	}
	R->reading = NULL;
	if (store_chunks_release(R->o->st, R->job->id, R->o->owner, &e))
		log_warn("%s", e.msg);
}

int runner_run(const struct runner_opts *o, struct job *j, struct err *e)
{
	struct runner R;
	struct job_counts base = j->c;
	int64_t t0 = time_mono_ms(), last_flush = t0, last_report = 0, stop_at = 0;
	int rc = 0;

	memset(&R, 0, sizeof(R));
	R.o = o;
	R.job = j;
	buf_init(&R.line, BUF_DEFAULT_MAX);
	R.be = engine_backend(o->eng, o->backend, e);
	if (!R.be)
		return e->code;
	R.wire = R.be->drv->wire(o->fam);
	rc = store_inputs_get(o->st, j->id, &R.inputs, &R.n_inputs, e);
	if (rc)
		goto out;
	/* Chunks finished in earlier runs count from the start. */
	R.prog.c = base;
	R.prog.base = base;
	for (;;) {
		int64_t now;

		if (!*o->stop) {
			rc = fill(&R, e);
			if (rc < 0)
				break;
		}
		if (R.failed) {
			*e = R.ferr;
			rc = e->code;
			break;
		}
		if (!*o->stop && R.no_more && !R.active && R.outstanding == 0) {
			rc = RUN_DONE;
			break;
		}
		if (*o->stop) {
			now = time_mono_ms();
			if (!stop_at)
				stop_at = now;
			if (R.outstanding == 0 || *o->stop > 1 || now - stop_at >= o->stop_grace_ms) {
				engine_cancel_all(o->eng);
				complete_ready(&R);
				rc = RUN_STOPPED;
				break;
			}
		}
		complete_ready(&R);
		if (R.failed)
			continue;
		if (!*o->stop && R.no_more && !R.active && R.outstanding == 0)
			continue;
		engine_step(o->eng, 50);
		complete_ready(&R);
		now = time_mono_ms();
		if (now - last_flush >= RUN_JOURNAL_FLUSH_MS) {
			flush_journals(&R);
			last_flush = now;
		}
		if (now - last_report >= RUN_PROGRESS_MS) {
			report(&R, t0);
			last_report = now;
		}
	}
	if (rc < 0)
		engine_cancel_all(o->eng);
	report(&R, t0);
out:
	close_all(&R);
	job_inputs_free(R.inputs, R.n_inputs);
	buf_free(&R.line);
	return rc;
}
