/* validate.c - the validation pass: records, limits, duplicates, chunks. */
#include "core/validate.h"
#include "core/jsonl.h"
#include "util/buf.h"
#include "util/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- input expansion ---- */

struct expand_ctx {
	struct job_input *v;
	size_t n, cap;
	const char *prefix;
	bool single;
	struct err *e;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int on_listed(const char *uri, uint64_t size, void *ud)
{
	struct expand_ctx *x = ud;
	struct job_input *in;
	const char *name;

	if (!x->single && !ends_with(uri, ".jsonl"))
		return 0;
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 8;
		struct job_input *nv;

		if (ncap > 10000)
			return err_set(x->e, ERR_LIMIT, "more than 10,000 input files in one job");
		nv = realloc(x->v, ncap * sizeof(*nv));
		if (!nv)
			return err_set(x->e, ERR_NOMEM, "out of memory");
		x->v = nv;
		x->cap = ncap;
	}
	/*
	 * A file given by itself is named by its base name; a file found under
	 * a prefix by its path below the prefix, so that outputs keep the
	 * input tree's shape and never collide.
	 */
	if (x->single) {
		name = objects_basename(uri);
	} else {
		size_t pl = strlen(x->prefix);

		name = uri + pl;
		while (*name == '/')
			name++;
	}
	in = &x->v[x->n];
	memset(in, 0, sizeof(*in));
	in->idx = (unsigned)x->n;
	in->uri = strdup(uri);
	in->name = strdup(name);
	in->size = size;
	if (!in->uri || !in->name) {
		job_input_free(in);
		return err_set(x->e, ERR_NOMEM, "out of memory");
	}
	x->n++;
	return 0;
}

int inputs_expand(struct objects *o, char *const *uris, size_t n, struct job_input **out,
		  size_t *n_out, struct err *e)
{
	struct expand_ctx x = {0};
	int rc = 0;

	x.e = e;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t before = x.n;
		struct obj_stat st;
		bool is_prefix = ends_with(uris[i], "/");

		if (!is_prefix) {
			/* A directory given without its slash is still a prefix. */
			struct err ignore;

			is_prefix = objects_stat(o, uris[i], &st, &ignore) == 0 && st.is_prefix;
		}
		x.prefix = uris[i];
		x.single = !is_prefix;
		rc = objects_list(o, uris[i], on_listed, &x, e);
		/* The S3 store's message already names the object or the missing bucket. */
		if (rc == ERR_NOTFOUND && !objects_is_s3(uris[i]))
			err_set(e, ERR_NOTFOUND, "input %s does not exist", uris[i]);
		else if (!rc && x.n == before)
			rc = err_set(e, ERR_NOTFOUND, "input %s holds no .jsonl file", uris[i]);
	}
	for (size_t i = 0; !rc && i < x.n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(x.v[i].name, x.v[j].name)) {
				rc = err_set(e, ERR_INVAL,
					     "inputs %s and %s would both write %s.out: rename one",
					     x.v[j].uri, x.v[i].uri, x.v[i].name);
				break;
			}
		}
	}
	if (rc) {
		for (size_t i = 0; i < x.n; i++)
			job_input_free(&x.v[i]);
		free(x.v);
		return rc;
	}
	*out = x.v;
	*n_out = x.n;
	return 0;
}

/* ---- the pass ---- */

int validate_record(const struct family *fam, const char *line, size_t len,
		    struct record *rec, struct err *e)
{
	int rc = record_parse(line, len, rec, e);

	if (rc)
		return rc;
	rc = fam->validate(rec->mi, e);
	if (rc) {
		/* The family names a field path inside modelInput: make it whole. */
		char tmp[ERR_MSG_MAX];

		memcpy(tmp, e->msg, sizeof(tmp));
		snprintf(e->msg, sizeof(e->msg), "modelInput.%s", tmp);
	}
	return rc;
}

struct pass {
	const struct val_opts *opt;
	struct val_result *res;
	struct idset ids;
	size_t chunk_cap;
	size_t inv_cap;
};

static int add_invalid(struct pass *p, const struct job_input *in, int64_t rec_idx,
		       uint64_t line, const char *what)
{
	struct val_result *r = p->res;
	struct invalid_rec *iv;
	char msg[ERR_MSG_MAX + 256];

	r->n_bad++;
	if (!p->opt->keep_invalid && r->n_invalid >= VALIDATE_SHOW)
		return 0;
	if (r->n_invalid == p->inv_cap) {
		size_t ncap = p->inv_cap ? p->inv_cap * 2 : 16;
		struct invalid_rec *nv = realloc(r->invalid, ncap * sizeof(*nv));

		if (!nv)
			return ERR_NOMEM;
		r->invalid = nv;
		p->inv_cap = ncap;
	}
	snprintf(msg, sizeof(msg), "%s:%llu: %s", in->uri, (unsigned long long)line, what);
	iv = &r->invalid[r->n_invalid];
	iv->input_idx = in->idx;
	iv->record_idx = rec_idx;
	iv->line_no = line;
	iv->message = strdup(msg);
	if (!iv->message)
		return ERR_NOMEM;
	r->n_invalid++;
	return 0;
}

static int add_chunk(struct pass *p, const struct job_input *in, int64_t first, int64_t n,
		     uint64_t start, uint64_t end, uint64_t first_line)
{
	struct val_result *r = p->res;
	struct chunk *c;

	if (r->n_chunks == p->chunk_cap) {
		size_t ncap = p->chunk_cap ? p->chunk_cap * 2 : 64;
		struct chunk *nv = realloc(r->chunks, ncap * sizeof(*nv));

		if (!nv)
			return ERR_NOMEM;
		r->chunks = nv;
		p->chunk_cap = ncap;
	}
	c = &r->chunks[r->n_chunks];
	memset(c, 0, sizeof(*c));
	snprintf(c->job_id, sizeof(c->job_id), "%s", p->opt->job_id ? p->opt->job_id : "");
	c->seq = (unsigned)r->n_chunks;
	c->input_idx = in->idx;
	c->first_record = first;
	c->nrecords = n;
	c->start_off = start;
	c->end_off = end;
	c->first_line = first_line;
	r->n_chunks++;
	return 0;
}

/* check_line validates one line and records what it finds. */
static int check_line(struct pass *p, const struct job_input *in, const struct jsonl_line *l,
		      int64_t rec_idx)
{
	const struct val_opts *opt = p->opt;
	struct record rec;
	struct err e;
	char genid[IDS_RECORD_LEN + 1];
	const char *id;
	size_t id_len;
	struct idset_entry *first = NULL;
	int rc = 0;

	if (l->too_long) {
		char a[32], b[32];

		buf_fmt_int(a, sizeof(a), l->full_len);
		buf_fmt_int(b, sizeof(b), opt->lim->max_line_bytes);
		snprintf(e.msg, sizeof(e.msg), "the line is %s bytes, over max_line_bytes = %s", a, b);
		return add_invalid(p, in, rec_idx, l->line_no, e.msg);
	}
	if (validate_record(opt->fam, l->data, l->len, &rec, &e)) {
		record_free(&rec);
		return add_invalid(p, in, rec_idx, l->line_no, e.msg);
	}
	if (rec.id) {
		id = rec.id;
		id_len = rec.id_len;
	} else {
		ids_record(opt->job_id ? opt->job_id : "", in->idx, (uint64_t)rec_idx, genid);
		id = genid;
		id_len = IDS_RECORD_LEN;
	}
	rc = idset_add(&p->ids, id, id_len, in->idx, l->line_no, &first);
	if (rc == 1) {
		char what[ERR_MSG_MAX];

		snprintf(what, sizeof(what), "recordId \"%.100s\" is a duplicate of %s:%llu", id,
			 p->res->inputs[first->a].uri, (unsigned long long)first->b);
		rc = add_invalid(p, in, rec_idx, l->line_no, what);
	} else if (rc == 0) {
		int64_t it = 0, mo = 0;

		opt->fam->estimate(rec.mi, &it, &mo);
		p->res->est_input_tokens += it;
		p->res->est_max_output_tokens += mo;
		if (opt->on_record)
			opt->on_record(opt->ud, &rec, in->idx, l->line_no);
	}
	record_free(&rec);
	return rc;
}

static int validate_one(struct objects *o, struct pass *p, struct job_input *in,
			struct err *e)
{
	const struct val_opts *opt = p->opt;
	struct jsonl_reader rd;
	struct jsonl_line l;
	struct obj_stat st;
	int64_t n = 0, chunk_first = 0;
	uint64_t chunk_start = 0, chunk_line = 1, last_end = 0;
	int rc;

	rc = objects_stat(o, in->uri, &st, e);
	if (rc)
		return rc;
	in->size = st.size;
	snprintf(in->etag, sizeof(in->etag), "%s", st.etag);
	if (st.size > opt->lim->max_file_bytes && !p->res->limit_msg[0]) {
		char a[32], b[32];

		buf_fmt_int(a, sizeof(a), st.size);
		buf_fmt_int(b, sizeof(b), opt->lim->max_file_bytes);
		snprintf(p->res->limit_msg, sizeof(p->res->limit_msg),
			 "input %s is %s bytes, over the limit max_file_bytes = %s (split it with "
			 "`barge split %s --bytes %llu`)",
			 in->uri, a, b, in->uri, (unsigned long long)opt->lim->max_file_bytes);
		if (opt->enforce_limits)
			return 0;
	}
	rc = jsonl_open(&rd, o, in->uri, 0, 0, 1, opt->lim->max_line_bytes, e);
	if (rc)
		return rc;
	while ((rc = jsonl_next(&rd, &l, e)) == 1) {
		if (n - chunk_first == 0) {
			chunk_start = l.off;
			chunk_line = l.line_no;
		}
		rc = check_line(p, in, &l, n);
		if (rc) {
			err_set(e, rc, "out of memory while validating %s", in->uri);
			break;
		}
		n++;
		last_end = l.next_off;
		if (n - chunk_first == (int64_t)opt->lim->chunk_records) {
			if ((rc = add_chunk(p, in, chunk_first, n - chunk_first, chunk_start, last_end,
					    chunk_line))) {
				err_set(e, rc, "out of memory");
				break;
			}
			chunk_first = n;
		}
	}
	if (rc == 0 && n > chunk_first)
		rc = add_chunk(p, in, chunk_first, n - chunk_first, chunk_start, last_end, chunk_line);
	jsonl_close(&rd);
	if (rc < 0)
		return rc;
	in->records = n;
	p->res->total += n;
	return 0;
}

int validate_inputs(struct objects *o, struct job_input *inputs, size_t n_inputs,
		    const struct val_opts *opt, struct val_result *res, struct err *e)
{
	struct pass p = {0};
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->inputs = inputs;
	res->n_inputs = n_inputs;
	p.opt = opt;
	p.res = res;
	idset_init(&p.ids, (size_t)opt->lim->max_records_per_job + 1);
	for (size_t i = 0; i < n_inputs && !rc; i++)
		rc = validate_one(o, &p, &inputs[i], e);
	idset_free(&p.ids);
	if (rc)
		return rc;
	if (!res->limit_msg[0] && (uint64_t)res->total > opt->lim->max_records_per_job) {
		char a[32], b[32];

		buf_fmt_int(a, sizeof(a), (uint64_t)res->total);
		buf_fmt_int(b, sizeof(b), opt->lim->max_records_per_job);
		/*
		 * One message for both ways of running: `barge run` takes the
		 * parts that `barge split` writes, `barge submit --split` splits
		 * and submits a job per part by itself.
		 */
		snprintf(res->limit_msg, sizeof(res->limit_msg),
			 "the job has %s records, over the limit max_records_per_job = %s: split "
			 "it into jobs of at most %s records, with `barge split %.200s --records %llu` "
			 "for `barge run`, or `barge submit --split %llu ...` to submit one job per "
			 "part",
			 a, b, b, n_inputs == 1 ? inputs[0].uri : "INPUT",
			 (unsigned long long)opt->lim->max_records_per_job,
			 (unsigned long long)opt->lim->max_records_per_job);
	} else if (!res->limit_msg[0] && (uint64_t)res->total < opt->lim->min_records_per_job) {
		snprintf(res->limit_msg, sizeof(res->limit_msg),
			 "the job has %lld records, fewer than the limit min_records_per_job = %llu",
			 (long long)res->total, (unsigned long long)opt->lim->min_records_per_job);
	}
	return 0;
}

void val_result_free(struct val_result *res)
{
	free(res->chunks);
	invalid_recs_free(res->invalid, res->n_invalid);
	/* inputs belong to the caller */
	memset(res, 0, sizeof(*res));
}

char *validate_message(const struct val_result *res)
{
	struct buf b;
	size_t show = res->n_invalid < VALIDATE_SHOW ? res->n_invalid : VALIDATE_SHOW;

	buf_init(&b, 64 * 1024);
	buf_printf(&b, "%lld of %lld records are invalid", (long long)res->n_bad,
		   (long long)res->total);
	if (show < (size_t)res->n_bad)
		buf_printf(&b, " (the first %zu follow)", show);
	buf_putc(&b, ':');
	for (size_t i = 0; i < show; i++) {
		buf_puts(&b, "\n  ");
		buf_puts(&b, res->invalid[i].message);
	}
	return buf_steal(&b, NULL);
}
