/* split.c - cutting a JSONL input into parts that each fit one job. */
#include "core/split.h"
#include "core/jsonl.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int split_base(struct objects *o, const char *input, const char *out, char **base,
	       struct err *e)
{
	const char *name = objects_basename(input);
	size_t stem = strlen(name);
	struct obj_stat st;
	struct err ignore;
	struct buf b;

	if (ends_with(name, ".jsonl") && stem > 6)
		stem -= 6;
	buf_init(&b, 16 << 10);
	if (!out) {
		buf_append(&b, input, (size_t)(name - input));
		buf_append(&b, name, stem);
	} else if (ends_with(out, "/") ||
		   (objects_stat(o, out, &st, &ignore) == 0 && st.is_prefix)) {
		buf_puts(&b, out);
		if (!ends_with(out, "/"))
			buf_putc(&b, '/');
		buf_append(&b, name, stem);
	} else {
		buf_puts(&b, out);
	}
	*base = buf_steal(&b, NULL);
	if (!*base)
		return err_set(e, ERR_LIMIT, "the output name %.200s... is too long", out ? out : input);
	return 0;
}

/* The state of one split. */
struct splitter {
	struct objects *o;
	const char *input;
	const struct split_opts *opt;
	struct split_result *res;
	char *base;
	size_t cap;
	struct obj_writer *w; /* the part being written, or NULL */
	struct split_part cur;
};

/* start_part opens the next part, which starts with the record at line. */
static int start_part(struct splitter *s, uint64_t line, struct err *e)
{
	char suffix[32];
	size_t k = s->res->n_parts + 1;
	int rc;

	if (k > SPLIT_MAX_PARTS)
		return err_set(e, ERR_LIMIT,
			       "%s needs more than %d parts: give a larger --records or --bytes",
			       s->input, SPLIT_MAX_PARTS);
	memset(&s->cur, 0, sizeof(s->cur));
	snprintf(suffix, sizeof(suffix), ".part-%04zu.jsonl", k);
	s->cur.uri = malloc(strlen(s->base) + strlen(suffix) + 1);
	if (!s->cur.uri)
		return err_set(e, ERR_NOMEM, "out of memory");
	strcpy(s->cur.uri, s->base);
	strcat(s->cur.uri, suffix);
	s->cur.first_line = line;
	if (objects_same(s->cur.uri, s->input))
		return err_set(e, ERR_INVAL, "part %s would overwrite the input: choose another -o",
			       s->cur.uri);
	rc = objects_open_write(s->o, s->cur.uri, &s->w, e);
	if (rc)
		err_prefix(e, "cannot write part %s", s->cur.uri);
	return rc;
}

/* end_part commits the part being written and adds it to the result. */
static int end_part(struct splitter *s, struct err *e)
{
	struct split_result *r = s->res;
	struct obj_writer *w = s->w;
	int rc;

	s->w = NULL;
	if (r->n_parts == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct split_part *nv = realloc(r->parts, ncap * sizeof(*nv));

		if (!nv) {
			obj_writer_abort(w);
			return err_set(e, ERR_NOMEM, "out of memory");
		}
		r->parts = nv;
		s->cap = ncap;
	}
	rc = obj_writer_commit(w, e);
	if (rc) {
		err_prefix(e, "cannot write part %s", s->cur.uri);
		return rc;
	}
	r->parts[r->n_parts++] = s->cur;
	if (s->opt->on_part)
		s->opt->on_part(s->opt->ud, &s->cur);
	memset(&s->cur, 0, sizeof(s->cur));
	return 0;
}

/* add_line writes one record with its ending, starting a new part when it would not fit. */
static int add_line(struct splitter *s, const struct jsonl_line *l, struct err *e)
{
	const struct split_result *r = s->res;
	/* The ending as written: CRLF stays CRLF; a last line without one gets LF. */
	bool crlf = l->next_off - l->off == l->len + 2;
	uint64_t size = l->len + (crlf ? 2 : 1);
	char a[32], b[32];
	int rc;

	if (l->too_long) {
		buf_fmt_int(a, sizeof(a), l->full_len);
		buf_fmt_int(b, sizeof(b), s->opt->lim->max_line_bytes);
		return err_set(e, ERR_INVAL,
			       "%s:%llu: the line is %s bytes, over max_line_bytes = %s: no job "
			       "would take it; shorten or remove it, then split again",
			       s->input, (unsigned long long)l->line_no, a, b);
	}
	if (size > r->max_bytes) {
		buf_fmt_int(a, sizeof(a), size);
		buf_fmt_int(b, sizeof(b), r->max_bytes);
		return err_set(e, ERR_INVAL,
			       "%s:%llu: the line is %s bytes, more than a part of at most %s bytes "
			       "can hold: give a larger --bytes",
			       s->input, (unsigned long long)l->line_no, a, b);
	}
	if (s->w && (s->cur.records + 1 > r->max_records || s->cur.bytes + size > r->max_bytes)) {
		rc = end_part(s, e);
		if (rc)
			return rc;
	}
	if (!s->w && (rc = start_part(s, l->line_no, e)))
		return rc;
	rc = obj_writer_write(s->w, l->data, l->len, e);
	if (!rc)
		rc = obj_writer_write(s->w, crlf ? "\r\n" : "\n", crlf ? 2 : 1, e);
	if (rc) {
		err_prefix(e, "cannot write part %s", s->cur.uri);
		return rc;
	}
	s->cur.records++;
	s->cur.bytes += size;
	return 0;
}

/* min_set is the smaller of a and b where 0 means "no limit". */
static uint64_t min_set(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/*
 * drop_stale removes the parts after the last one written that an earlier
 * split of a larger count left (part-0003 after a split into 2): run with
 * "<base>.part-*.jsonl" they would repeat records. It stops at the first
 * number that does not exist.
 */
static int drop_stale(struct objects *o, const char *base, struct split_result *res,
		      struct err *e)
{
	char suffix[32];
	char *uri = malloc(strlen(base) + sizeof(suffix));
	struct obj_stat st;
	int rc = 0;

	if (!uri)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t k = res->n_parts + 1; k <= SPLIT_MAX_PARTS; k++) {
		struct err ignore;

		snprintf(suffix, sizeof(suffix), ".part-%04zu.jsonl", k);
		strcpy(uri, base);
		strcat(uri, suffix);
		err_init(&ignore);
		if (objects_stat(o, uri, &st, &ignore) || st.is_prefix)
			break;
		rc = objects_remove(o, uri, e);
		if (rc) {
			err_prefix(e, "cannot remove %s, a part of an earlier split", uri);
			break;
		}
		res->stale_removed++;
	}
	free(uri);
	return rc;
}

int split_input(struct objects *o, const char *input, const struct split_opts *opt,
		struct split_result *res, struct err *e)
{
	struct splitter s = {0};
	struct jsonl_reader rd;
	struct jsonl_line l;
	bool open = false;
	int rc;

	memset(res, 0, sizeof(*res));
	s.o = o;
	s.input = input;
	s.opt = opt;
	s.res = res;
	res->max_records = min_set(opt->max_records, opt->lim->max_records_per_job);
	res->max_bytes = min_set(opt->max_bytes, opt->lim->max_file_bytes);
	if (!res->max_records)
		res->max_records = UINT64_MAX;
	if (!res->max_bytes)
		res->max_bytes = UINT64_MAX;
	rc = split_base(o, input, opt->out, &s.base, e);
	if (rc)
		goto fail;
	rc = jsonl_open(&rd, o, input, 0, 0, 1, opt->lim->max_line_bytes, e);
	if (rc)
		goto fail;
	open = true;
	while ((rc = jsonl_next(&rd, &l, e)) == 1) {
		rc = add_line(&s, &l, e);
		if (rc)
			goto fail;
		res->records++;
		res->bytes += l.len + (l.next_off - l.off == l.len + 2 ? 2 : 1);
	}
	if (rc < 0)
		goto fail;
	if (s.w && (rc = end_part(&s, e)))
		goto fail;
	if (res->records == 0) {
		rc = err_set(e, ERR_INVAL, "%s holds no records: there is nothing to split", input);
		goto fail;
	}
	rc = drop_stale(o, s.base, res, e);
fail:
	if (open)
		jsonl_close(&rd);
	if (s.w)
		obj_writer_abort(s.w);
	free(s.cur.uri);
	if (rc) {
		/* A half split is worse than none: the parts written so far go. */
		for (size_t i = 0; i < res->n_parts; i++) {
			struct err ignore;

			objects_remove(o, res->parts[i].uri, &ignore);
		}
	}
	free(s.base);
	return rc;
}

void split_result_free(struct split_result *res)
{
	for (size_t i = 0; i < res->n_parts; i++)
		free(res->parts[i].uri);
	free(res->parts);
	memset(res, 0, sizeof(*res));
}
