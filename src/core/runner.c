/* runner.c - runs the chunks of many jobs through one engine to part objects. */
#include "core/runner.h"
#include "core/jsonl.h"
#include "core/record.h"
#include "core/result.h"
#include "core/validate.h"
#include "engine/limiter.h"
#include "objects/objects.h"
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
#define RUN_STORE_PROGRESS_MS 1000

struct runner;
struct run_job;
struct run_chunk;

/* One record of a running chunk. */
struct slot {
	struct call call;
	struct run_chunk *ch;
	struct result res;
	struct record rec;    /* parsed while in flight, for from_wire */
	char *line;           /* the input line while in flight (rec points into it) */
	bool in_flight;
};

struct run_chunk {
	struct run_job *J;
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
	int64_t stored_done;  /* records done when progress was last stored */
	struct run_chunk *next_active;
};

/* A job being run. */
struct run_job {
	struct runner *R;
	struct job job;
	struct run_model m;
	struct ebackend *be;
	enum wire wire;
	struct job_input *inputs;
	size_t n_inputs;
	struct run_chunk *active;  /* leased chunks, in lease order */
	struct run_chunk *reading; /* the chunk whose records are being read */
	bool no_more;              /* every chunk has been leased */
	int64_t outstanding;
	size_t outstanding_bytes;
	struct run_progress prog;
	int64_t t0;
	bool stopping;
	bool stop_now;
	int64_t stop_at;
	int failed;                /* a fatal error happened */
	struct err ferr;
	struct run_job *next;
};

struct runner {
	struct runner_opts o;
	struct run_job *jobs;
	struct run_job *turn;      /* the job whose turn it is to send */
	struct buf line;           /* scratch for output and journal lines */
	int64_t last_flush, last_report, last_store;
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

char *runner_part_uri(const struct job *j, const struct job_input *in, unsigned seq,
		      const char *owner)
{
	char name[PATH_MAX];
	char *prefix = runner_job_prefix(j), *uri;

	if (!prefix)
		return NULL;
	/*
	 * The name holds a tag of the runner that made the part, so that a
	 * runner that lost its lease (frozen, its commit refused) writes a part
	 * no one reads instead of replacing the one the store counted. Chunks
	 * completed before parts were tagged have no owner recorded.
	 */
	if (owner && *owner)
		snprintf(name, sizeof(name), "parts/%s.%06u.%08x.out", in->name, seq,
			 (unsigned)(hash64(owner, strlen(owner), 0) & 0xffffffffu));
	else
		snprintf(name, sizeof(name), "parts/%s.%06u.out", in->name, seq);
	uri = objects_join(prefix, name);
	free(prefix);
	return uri;
}

static void fail_job(struct run_job *J, const struct err *e)
{
	if (J->failed)
		return;
	J->failed = 1;
	J->ferr = *e;
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
static int write_part(struct run_job *J, struct run_chunk *ch, struct err *e)
{
	const struct runner_opts *o = &J->R->o;
	struct jsonl_reader rd;
	struct jsonl_line l;
	struct obj_writer *w = NULL;
	char *uri;
	int64_t k = 0;
	int rc;

	uri = runner_part_uri(&J->job, ch->input, ch->meta.seq, o->owner);
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
		buf_reset(&J->R->line);
		result_put_line(&J->R->line, l.data, l.len, J->job.id, ch->input->idx,
				ch->meta.first_record + k, &ch->slots[k].res);
		if (J->R->line.err) {
			rc = err_set(e, ERR_LIMIT, "output line of record %lld is too large",
				     (long long)(ch->meta.first_record + k));
			break;
		}
		rc = obj_writer_write(w, J->R->line.data, J->R->line.len, e);
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

static void unlink_active(struct run_job *J, struct run_chunk *ch)
{
	struct run_chunk **pp = &J->active;

	while (*pp && *pp != ch)
		pp = &(*pp)->next_active;
	if (*pp)
		*pp = ch->next_active;
	if (J->reading == ch)
		J->reading = NULL;
}

/*
 * complete_chunk makes a finished chunk durable: its part object first,
 * then one store transaction with its counts, then the journal goes.
 */
static void complete_chunk(struct run_job *J, struct run_chunk *ch)
{
	struct err e;
	int rc;

	ch->meta.c = (struct job_counts){0};
	for (int64_t i = 0; i < ch->meta.nrecords; i++)
		result_count(&ch->meta.c, &ch->slots[i].res);
	if (ch->journal && fflush(ch->journal) != 0)
		log_warn("journal %s: %s", ch->journal_path, strerror(errno));
	rc = write_part(J, ch, &e);
	if (!rc)
		rc = store_chunk_complete(J->R->o.st, &ch->meta, J->R->o.owner, time_now_ms(), &e);
	if (rc) {
		err_prefix(&e, "chunk %u", ch->meta.seq);
		fail_job(J, &e);
		return;
	}
	if (ch->journal) {
		fclose(ch->journal);
		ch->journal = NULL;
	}
	unlink(ch->journal_path);
	unlink_active(J, ch);
	chunk_free(ch);
}

/*
 * maybe_complete marks a chunk whose records are all done. The loop makes it
 * durable later (complete_ready), never inside an engine callback, because
 * completing frees the chunk and with it the calls the engine still holds.
 */
static void maybe_complete(struct run_job *J, struct run_chunk *ch)
{
	(void)J;
	if (ch->done == ch->meta.nrecords && !ch->reading && ch->in_flight == 0)
		ch->complete = true;
}

static void complete_ready_job(struct run_job *J)
{
	struct run_chunk *ch = J->active, *next;

	for (; ch && !J->failed; ch = next) {
		next = ch->next_active;
		if (ch->complete)
			complete_chunk(J, ch);
	}
}

/* finish_slot records a result: counts, journal, and maybe the chunk's end. */
static void finish_slot(struct run_job *J, struct run_chunk *ch, struct slot *s)
{
	int64_t k = s - ch->slots;

	s->res.done = true;
	ch->done++;
	result_count(&J->prog.c, &s->res);
	if (ch->journal) {
		struct buf *b = &J->R->line;

		buf_reset(b);
		result_put_journal(b, k, &s->res);
		if (!b->err && fwrite(b->data, 1, b->len, ch->journal) != b->len)
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
	struct run_job *J = ch->J;
	struct err e;

	s->in_flight = false;
	ch->in_flight--;
	J->outstanding--;
	J->outstanding_bytes -= c->body_len;
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
		struct wire_resp wr = {NULL, c->ar.body, c->ar.body_len, c->hdr_input_tokens,
				       c->hdr_output_tokens};

		buf_init(&out, BUF_DEFAULT_MAX);
		if (J->m.fam->from_wire(J->wire, s->rec.mi, &wr, J->m.model->upstream, &out, &u,
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
	finish_slot(J, ch, s);
	maybe_complete(J, ch);
}

/*
 * open_chunk leases the next chunk and prepares it: slots, the journal of an
 * earlier run, the invalid records to skip, a reader on its byte range.
 * Returns 1 with a chunk, 0 when none is left, or a negative code.
 */
static int open_chunk(struct run_job *J, struct err *e)
{
	const struct runner_opts *o = &J->R->o;
	struct run_chunk *ch, **tail;
	struct chunk meta;
	int64_t loaded;
	char dir[PATH_MAX];
	int rc;

	rc = store_chunk_lease(o->st, J->job.id, o->owner, time_now_ms(), o->lease_ms, &meta, e);
	if (rc <= 0)
		return rc;
	if (meta.input_idx >= J->n_inputs)
		return err_set(e, ERR_INTERNAL, "chunk %u names input %u, which the job lacks",
			       meta.seq, meta.input_idx);
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return err_set(e, ERR_NOMEM, "out of memory");
	ch->J = J;
	ch->meta = meta;
	ch->input = &J->inputs[meta.input_idx];
	ch->slots = calloc((size_t)meta.nrecords, sizeof(*ch->slots));
	if (!ch->slots) {
		free(ch);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	for (int64_t i = 0; i < meta.nrecords; i++)
		ch->slots[i].ch = ch;
	runner_journal_path(o->journal_dir, J->job.id, meta.seq, ch->journal_path,
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
		result_count(&J->prog.c, r);
	}
	snprintf(dir, sizeof(dir), "%s/%s", o->journal_dir, J->job.id);
	rc = objects_mkdirs(dir, e);
	if (rc) {
		chunk_free(ch);
		return rc;
	}
	if (!(ch->journal = fopen(ch->journal_path, "a"))) {
		rc = err_set(e, ERR_IO, "%s: cannot open journal: %s", ch->journal_path,
			     strerror(errno));
		chunk_free(ch);
		return rc;
	}
	if (J->job.skip_invalid) {
		rc = store_invalid_list(o->st, J->job.id, meta.input_idx, meta.first_record,
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
	for (tail = &J->active; *tail; tail = &(*tail)->next_active)
		;
	*tail = ch;
	J->reading = ch->reading ? ch : NULL;
	if (!ch->reading)
		maybe_complete(J, ch);
	return 1;
}

/*
 * dispatch_line turns record k's line into a request, or into an error
 * record when it is invalid. Takes ownership of nothing; copies the line.
 */
static void dispatch_line(struct run_job *J, struct run_chunk *ch, int64_t k,
			  const struct jsonl_line *l)
{
	const struct runner_opts *o = &J->R->o;
	struct slot *s = &ch->slots[k];
	int64_t abs_idx = ch->meta.first_record + k;
	struct wire_req wr = {0};
	struct err e;
	int64_t it = 0, mo = 0;

	while (ch->inv_pos < ch->n_inv && ch->inv[ch->inv_pos].record_idx < abs_idx)
		ch->inv_pos++;
	if (ch->inv_pos < ch->n_inv && ch->inv[ch->inv_pos].record_idx == abs_idx) {
		set_error(&s->res, 400, ch->inv[ch->inv_pos].message);
		finish_slot(J, ch, s);
		return;
	}
	if (l->too_long) {
		snprintf(e.msg, sizeof(e.msg), "%s:%llu: the line is %llu bytes, over max_line_bytes",
			 ch->input->uri, (unsigned long long)l->line_no,
			 (unsigned long long)l->full_len);
		set_error(&s->res, 400, e.msg);
		finish_slot(J, ch, s);
		return;
	}
	s->line = malloc(l->len + 1);
	if (!s->line) {
		set_error(&s->res, 500, "out of memory");
		finish_slot(J, ch, s);
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
	    J->m.fam->to_wire(J->wire, s->rec.mi, s->rec.mi_raw, s->rec.mi_raw_len,
			    J->m.model->upstream, &wr, &e)) {
		char msg[ERR_MSG_MAX + 128];

		snprintf(msg, sizeof(msg), "%s:%llu: %s", ch->input->uri,
			 (unsigned long long)l->line_no, e.msg);
		set_error(&s->res, 400, msg);
		record_free(&s->rec);
		free(s->line);
		s->line = NULL;
		finish_slot(J, ch, s);
		return;
	}
	J->m.fam->estimate(s->rec.mi, &it, &mo);
	s->call.be = J->be;
	s->call.path = wr.path;
	s->call.model = J->m.model->upstream;
	s->call.body = wr.body;
	s->call.body_len = wr.body_len;
	s->call.est_tokens = it + mo;
	s->call.done = on_call_done;
	s->call.ud = s;
	s->in_flight = true;
	ch->in_flight++;
	J->outstanding++;
	J->outstanding_bytes += wr.body_len;
	engine_submit(o->eng, &s->call);
}

/*
 * backend_window is how many records the jobs of one backend may have
 * queued or in flight in this runner: twice the backend's current limit
 * keeps a request ready for every slot that frees, without reading far
 * ahead of what can be sent.
 */
static int64_t backend_window(struct ebackend *be)
{
	struct limiter_state ls;
	int64_t w;

	limiter_state(be->lim, &ls);
	w = (int64_t)ls.limit * 2;
	return w < 32 ? 32 : w;
}

/* backend_outstanding counts the records of every job of r on backend be. */
static int64_t backend_outstanding(struct runner *r, struct ebackend *be, size_t *bytes)
{
	int64_t n = 0;

	*bytes = 0;
	for (struct run_job *J = r->jobs; J; J = J->next) {
		if (J->be == be) {
			n += J->outstanding;
			*bytes += J->outstanding_bytes;
		}
	}
	return n;
}

/*
 * fill_one sends (or settles) one more record of job J. Returns 1 when it
 * did, 0 when the job has nothing to send now, or a negative code when the
 * job cannot go on.
 */
static int fill_one(struct run_job *J, struct err *e)
{
	for (;;) {
		struct run_chunk *ch = J->reading;
		struct jsonl_line l;
		int64_t k;
		int rc;

		if (!ch) {
			if (J->no_more)
				return 0;
			rc = open_chunk(J, e);
			if (rc < 0)
				return rc;
			if (rc == 0) {
				J->no_more = true;
				return 0;
			}
			continue;
		}
		k = ch->next;
		if (k >= ch->meta.nrecords) {
			ch->reading = false;
			jsonl_close(&ch->rd);
			J->reading = NULL;
			maybe_complete(J, ch);
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
		if (!ch->slots[k].res.done)
			dispatch_line(J, ch, k, &l); /* else journaled by an earlier run */
		if (ch->next == ch->meta.nrecords) {
			ch->reading = false;
			jsonl_close(&ch->rd);
			J->reading = NULL;
			maybe_complete(J, ch);
		}
		return 1;
	}
}

/*
 * fill gives every job its turns: one record each, round the jobs, until
 * no job can send more. A job blocks only when its backend's window (shared
 * by the runner's jobs on that backend) or the memory cap is full.
 */
static void fill(struct runner *r)
{
	bool progress = true;

	while (progress) {
		struct run_job *start = r->turn ? r->turn : r->jobs, *J = start;

		progress = false;
		if (!J)
			return;
		do {
			struct run_job *next = J->next ? J->next : r->jobs;
			size_t bytes;
			struct err e;
			int rc;

			if (!J->stopping && !J->failed &&
			    backend_outstanding(r, J->be, &bytes) < backend_window(J->be) &&
			    bytes < RUN_MAX_INFLIGHT_BYTES) {
				rc = fill_one(J, &e);
				if (rc < 0)
					fail_job(J, &e);
				else if (rc > 0)
					progress = true;
			}
			J = next;
		} while (J != start);
		r->turn = J;
	}
}

static void flush_journals(struct run_job *J)
{
	for (struct run_chunk *ch = J->active; ch; ch = ch->next_active) {
		if (ch->journal)
			fflush(ch->journal);
	}
}

/*
 * store_progress records how far each of the job's chunks has got, so that
 * the job's live counts (Get) move between chunk completions.
 */
static void store_progress(struct run_job *J)
{
	for (struct run_chunk *ch = J->active; ch; ch = ch->next_active) {
		struct err e;

		if (ch->done == ch->stored_done || ch->complete)
			continue;
		ch->meta.c = (struct job_counts){0};
		for (int64_t i = 0; i < ch->meta.nrecords; i++) {
			if (ch->slots[i].res.done)
				result_count(&ch->meta.c, &ch->slots[i].res);
		}
		if (store_chunk_progress(J->R->o.st, &ch->meta, J->R->o.owner, &e))
			log_warn("job %s: %s", J->job.id, e.msg);
		ch->stored_done = ch->done;
	}
}

static void report(struct run_job *J)
{
	struct limiter_state ls;

	if (!J->R->o.progress)
		return;
	limiter_state(J->be->lim, &ls);
	J->prog.in_flight = J->outstanding;
	J->prog.elapsed_ms = time_mono_ms() - J->t0;
	J->prog.limit = ls.limit;
	J->prog.backend_down = ls.down;
	J->prog.backend = J->be->cfg->name;
	J->R->o.progress(J->R->o.progress_ud, J->job.id, &J->prog);
}

/*
 * cancel_job abandons the job's requests still queued or in flight: their
 * records stay pending (their calls finish as canceled).
 */
static void cancel_job(struct run_job *J)
{
	for (struct run_chunk *ch = J->active; ch; ch = ch->next_active) {
		for (int64_t i = 0; i < ch->meta.nrecords; i++) {
			if (ch->slots[i].in_flight)
				engine_cancel_call(J->R->o.eng, &ch->slots[i].call);
		}
	}
}

/* close_job releases every chunk the job still holds (after a stop or a failure). */
static void close_job(struct run_job *J)
{
	struct err e;

	flush_journals(J);
	while (J->active) {
		struct run_chunk *ch = J->active;

		J->active = ch->next_active;
		chunk_free(ch);
	}
	J->reading = NULL;
	if (store_chunks_release(J->R->o.st, J->job.id, J->R->o.owner, &e))
		log_warn("%s", e.msg);
}

static void job_free_run(struct run_job *J)
{
	job_inputs_free(J->inputs, J->n_inputs);
	job_free(&J->job);
	free(J);
}

/* unlink_job takes J out of the runner's list, passing its turn on. */
static void unlink_job(struct runner *r, struct run_job *J)
{
	struct run_job **pp = &r->jobs;

	while (*pp && *pp != J)
		pp = &(*pp)->next;
	if (*pp)
		*pp = J->next;
	if (r->turn == J)
		r->turn = J->next;
}

struct runner *runner_new(const struct runner_opts *o, struct err *e)
{
	struct runner *r = calloc(1, sizeof(*r));

	if (!r) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	r->o = *o;
	buf_init(&r->line, BUF_DEFAULT_MAX);
	return r;
}

void runner_free(struct runner *r)
{
	if (!r)
		return;
	while (r->jobs) {
		struct run_job *J = r->jobs;

		cancel_job(J);
		complete_ready_job(J);
		close_job(J);
		unlink_job(r, J);
		job_free_run(J);
	}
	buf_free(&r->line);
	free(r);
}

int runner_add(struct runner *r, const struct job *j, const struct run_model *m,
	       struct err *e)
{
	struct run_job *J = calloc(1, sizeof(*J));
	struct run_job **tail;
	int rc;

	if (!J)
		return err_set(e, ERR_NOMEM, "out of memory");
	J->R = r;
	J->m = *m;
	rc = job_copy(&J->job, j);
	if (rc) {
		free(J);
		return err_set(e, rc, "out of memory");
	}
	J->be = engine_backend(r->o.eng, m->backend, e);
	if (!J->be) {
		job_free_run(J);
		return e->code;
	}
	J->wire = J->be->drv->wire(m->fam);
	rc = store_inputs_get(r->o.st, j->id, &J->inputs, &J->n_inputs, e);
	if (rc) {
		job_free_run(J);
		return rc;
	}
	/* Chunks finished in earlier runs count from the start. */
	J->prog.c = j->c;
	J->prog.base = j->c;
	J->t0 = time_mono_ms();
	for (tail = &r->jobs; *tail; tail = &(*tail)->next)
		;
	*tail = J;
	return 0;
}

static struct run_job *find_job(struct runner *r, const char *job_id)
{
	for (struct run_job *J = r->jobs; J; J = J->next) {
		if (!strcmp(J->job.id, job_id))
			return J;
	}
	return NULL;
}

bool runner_has(struct runner *r, const char *job_id)
{
	return find_job(r, job_id) != NULL;
}

size_t runner_count(struct runner *r)
{
	size_t n = 0;

	for (struct run_job *J = r->jobs; J; J = J->next)
		n++;
	return n;
}

size_t runner_ids(struct runner *r, char (*ids)[IDS_JOB_LEN + 1], size_t max)
{
	size_t n = 0;

	for (struct run_job *J = r->jobs; J && n < max; J = J->next)
		memcpy(ids[n++], J->job.id, IDS_JOB_LEN + 1);
	return n;
}

/*
 * cancel_unsent abandons the job's records that are queued or waiting to
 * be retried: a stop lets only the requests already on the wire finish.
 */
static void cancel_unsent(struct run_job *J)
{
	for (struct run_chunk *ch = J->active; ch; ch = ch->next_active) {
		for (int64_t i = 0; i < ch->meta.nrecords; i++) {
			struct slot *s = &ch->slots[i];

			if (s->in_flight && (s->call.state == CS_QUEUED || s->call.state == CS_BACKOFF))
				engine_cancel_call(J->R->o.eng, &s->call);
		}
	}
}

void runner_stop(struct runner *r, const char *job_id, bool now)
{
	struct run_job *J = find_job(r, job_id);

	if (!J)
		return;
	if (!J->stopping)
		J->stop_at = time_mono_ms();
	J->stopping = true;
	J->stop_now = J->stop_now || now;
	cancel_unsent(J);
}

/* ended_of says whether J is over, and how. */
static bool ended_of(struct run_job *J, int64_t now, enum run_end *end)
{
	if (J->failed) {
		*end = RUN_FAILED;
		return true;
	}
	if (J->stopping) {
		if (J->outstanding == 0 || J->stop_now ||
		    now - J->stop_at >= J->R->o.stop_grace_ms) {
			*end = RUN_STOPPED;
			return true;
		}
		return false;
	}
	if (J->no_more && !J->active && J->outstanding == 0) {
		*end = RUN_DONE;
		return true;
	}
	return false;
}

void runner_step(struct runner *r, int wait_ms, struct run_ended *ended, size_t max_ended,
		 size_t *n_ended)
{
	struct run_job *J, *next;
	int64_t now;
	bool idle;

	*n_ended = 0;
	fill(r);
	for (J = r->jobs; J; J = J->next)
		complete_ready_job(J);
	/* Wait only when no job can settle anything without the engine. */
	idle = true;
	for (J = r->jobs; J; J = J->next) {
		enum run_end end;

		if (ended_of(J, time_mono_ms(), &end))
			idle = false;
	}
	engine_step(r->o.eng, idle ? wait_ms : 0);
	for (J = r->jobs; J; J = J->next)
		complete_ready_job(J);
	now = time_mono_ms();
	if (now - r->last_flush >= RUN_JOURNAL_FLUSH_MS) {
		for (J = r->jobs; J; J = J->next)
			flush_journals(J);
		r->last_flush = now;
	}
	if (now - r->last_report >= RUN_PROGRESS_MS) {
		for (J = r->jobs; J; J = J->next)
			report(J);
		r->last_report = now;
	}
	if (now - r->last_store >= RUN_STORE_PROGRESS_MS) {
		for (J = r->jobs; J; J = J->next)
			store_progress(J);
		r->last_store = now;
	}
	for (J = r->jobs; J && *n_ended < max_ended; J = next) {
		struct run_ended *x;
		enum run_end end;

		next = J->next;
		if (!ended_of(J, now, &end))
			continue;
		if (end != RUN_DONE) {
			cancel_job(J);
			complete_ready_job(J);
		}
		report(J);
		x = &ended[(*n_ended)++];
		snprintf(x->job_id, sizeof(x->job_id), "%s", J->job.id);
		x->end = end;
		x->err = J->ferr;
		x->c = J->prog.c;
		close_job(J);
		unlink_job(r, J);
		job_free_run(J);
	}
}
