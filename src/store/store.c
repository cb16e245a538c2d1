/* store.c - opens the store an URL names, forwards calls to it, and turns rows into structs. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/uri.h"

int store_open(const char *url, struct store **st, struct err *e)
{
	*st = NULL;
	if (!strncmp(url, "sqlite:", 7))
		return store_sqlite_open(url + 7, st, e);
	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13))
		return store_postgres_open(url, st, e);
	if (strstr(url, "://")) {
		char shown[512];

		uri_redact(url, shown, sizeof(shown));
		return err_set(e, ERR_CONFIG,
			       "store %s: unknown kind (use sqlite:PATH or postgres://...)", shown);
	}
	return store_sqlite_open(url, st, e);
}

void store_url_shown(const char *url, char *out, size_t n)
{
	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13))
		store_postgres_name(url, out, n);
	else
		uri_redact(url, out, n);
}

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

int store_job_insert(struct store *st, const struct job *j, struct err *e)
{
	return st->ops->job_insert(st, j, e);
}

int store_job_get(struct store *st, const char *id, struct job *out, struct err *e)
{
	return st->ops->job_get(st, id, out, e);
}

int store_job_find_run(struct store *st, const char *run_key, struct job *out, struct err *e)
{
	return st->ops->job_find_run(st, run_key, out, e);
}

int store_job_set_status(struct store *st, const char *id, enum job_status to,
			 const char *message, int64_t now_ms, struct err *e)
{
	return st->ops->job_set_status(st, id, to, message, now_ms, e);
}

int store_job_validated(struct store *st, const char *id, const struct job_input *in,
			size_t n_in, const struct chunk *ch, size_t n_ch,
			const struct invalid_rec *inv, size_t n_inv, int64_t total,
			int64_t now_ms, struct err *e)
{
	return st->ops->job_validated(st, id, in, n_in, ch, n_ch, inv, n_inv, total, now_ms, e);
}

int store_invalid_list(struct store *st, const char *job_id, unsigned input_idx,
		       int64_t first_record, int64_t nrecords, struct invalid_rec **out,
		       size_t *n, struct err *e)
{
	return st->ops->invalid_list(st, job_id, input_idx, first_record, nrecords, out, n, e);
}

int store_job_list(struct store *st, const struct job_filter *f, struct job **out, size_t *n,
		   struct err *e)
{
	return st->ops->job_list(st, f, out, n, e);
}

void store_jobs_free(struct job *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		job_free(&v[i]);
	free(v);
}

int store_inputs_get(struct store *st, const char *job_id, struct job_input **out,
		     size_t *n, struct err *e)
{
	return st->ops->inputs_get(st, job_id, out, n, e);
}

int store_chunks_list(struct store *st, const char *job_id, struct chunk **out, size_t *n,
		      struct err *e)
{
	return st->ops->chunks_list(st, job_id, out, n, e);
}

int store_chunk_lease(struct store *st, const char *job_id, const char *owner,
		      int64_t now_ms, int64_t ttl_ms, struct chunk *out, struct err *e)
{
	return st->ops->chunk_lease(st, job_id, owner, now_ms, ttl_ms, out, e);
}

int store_chunk_complete(struct store *st, const struct chunk *c, const char *owner,
			 int64_t now_ms, struct err *e)
{
	return st->ops->chunk_complete(st, c, owner, now_ms, e);
}

int store_chunk_counts(struct store *st, const char *job_id, struct chunk_counts *out,
		       struct err *e)
{
	return st->ops->chunk_counts(st, job_id, out, e);
}

int store_job_count(struct store *st, const char *account, const char *model_id,
		    unsigned status_mask, int64_t *n, struct err *e)
{
	return st->ops->job_count(st, account, model_id, status_mask, n, e);
}

int store_job_find_token(struct store *st, const char *account, const char *token,
			 struct job *out, struct err *e)
{
	return st->ops->job_find_token(st, account, token, out, e);
}

int store_status_counts(struct store *st, int64_t counts[JS__COUNT], struct job_counts *sum,
			struct err *e)
{
	return st->ops->status_counts(st, counts, sum, e);
}

int store_chunk_progress(struct store *st, const struct chunk *c, const char *owner,
			 struct err *e)
{
	return st->ops->chunk_progress(st, c, owner, e);
}

int store_job_live(struct store *st, const char *job_id, struct job_counts *out, struct err *e)
{
	return st->ops->job_live(st, job_id, out, e);
}

int store_job_set_counts(struct store *st, const char *job_id, const struct job_counts *c,
			 struct err *e)
{
	return st->ops->job_set_counts(st, job_id, c, e);
}

int store_delivery_add(struct store *st, const struct delivery *d, struct err *e)
{
	return st->ops->delivery_add(st, d, e);
}

int store_delivery_due(struct store *st, int64_t now_ms, size_t max, struct delivery **out,
		       size_t *n, struct err *e)
{
	return st->ops->delivery_due(st, now_ms, max, out, n, e);
}

int store_delivery_update(struct store *st, int64_t id, bool done, int attempts,
			  int64_t next_ms, const char *last_error, struct err *e)
{
	return st->ops->delivery_update(st, id, done, attempts, next_ms, last_error, e);
}

void deliveries_free(struct delivery *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].body);
	free(v);
}

int store_chunks_release(struct store *st, const char *job_id, const char *owner,
			 struct err *e)
{
	return st->ops->chunks_release(st, job_id, owner, e);
}

int store_leases_renew(struct store *st, const char *owner, int64_t until_ms, struct err *e)
{
	return st->ops->leases_renew(st, owner, until_ms, e);
}

int store_leases_expire(struct store *st, int64_t now_ms, int64_t *released, struct err *e)
{
	return st->ops->leases_expire(st, now_ms, released, e);
}

/* row_dup copies a text column, NULL for SQL NULL (or when memory runs out). */
static char *row_dup(const struct store_row *r, int col)
{
	const char *t = r->text(r->impl, col);

	return t ? strdup(t) : NULL;
}

/* row_copy copies a text column into a fixed buffer, "" for SQL NULL. */
static void row_copy(const struct store_row *r, int col, char *dst, size_t size)
{
	const char *t = r->text(r->impl, col);

	snprintf(dst, size, "%s", t ? t : "");
}

void store_row_job(const struct store_row *r, void *elem)
{
	struct job *j = elem;
	int i = 0;

	job_init(j);
	row_copy(r, i++, j->id, sizeof(j->id));
	j->arn = row_dup(r, i++);
	j->name = row_dup(r, i++);
	j->account = row_dup(r, i++);
	j->model_id = row_dup(r, i++);
	j->invocation_type = row_dup(r, i++);
	j->status = (enum job_status)r->i64(r->impl, i++);
	j->message = row_dup(r, i++);
	j->input_uri = row_dup(r, i++);
	j->output_uri = row_dup(r, i++);
	j->run_key = row_dup(r, i++);
	j->client_token = row_dup(r, i++);
	j->role_arn = row_dup(r, i++);
	j->tags_json = row_dup(r, i++);
	j->skip_invalid = r->i64(r->impl, i++) != 0;
	j->timeout_hours = (int)r->i64(r->impl, i++);
	j->submit_ms = r->i64(r->impl, i++);
	j->modified_ms = r->i64(r->impl, i++);
	j->start_ms = r->i64(r->impl, i++);
	j->end_ms = r->i64(r->impl, i++);
	j->expire_ms = r->i64(r->impl, i++);
	j->c.total = r->i64(r->impl, i++);
	j->c.processed = r->i64(r->impl, i++);
	j->c.success = r->i64(r->impl, i++);
	j->c.errors = r->i64(r->impl, i++);
	j->c.input_tokens = r->i64(r->impl, i++);
	j->c.output_tokens = r->i64(r->impl, i++);
	j->c.retries = r->i64(r->impl, i++);
	j->c.throttles = r->i64(r->impl, i++);
	j->price_in = r->f64(r->impl, i++);
	j->price_out = r->f64(r->impl, i++);
	j->discount = r->f64(r->impl, i++);
}

void store_row_chunk(const struct store_row *r, void *elem)
{
	struct chunk *c = elem;
	int i = 0;

	memset(c, 0, sizeof(*c));
	row_copy(r, i++, c->job_id, sizeof(c->job_id));
	c->seq = (unsigned)r->i64(r->impl, i++);
	c->input_idx = (unsigned)r->i64(r->impl, i++);
	c->first_record = r->i64(r->impl, i++);
	c->nrecords = r->i64(r->impl, i++);
	c->start_off = (uint64_t)r->i64(r->impl, i++);
	c->end_off = (uint64_t)r->i64(r->impl, i++);
	c->first_line = (uint64_t)r->i64(r->impl, i++);
	c->state = (enum chunk_state)r->i64(r->impl, i++);
	row_copy(r, i++, c->lease_owner, sizeof(c->lease_owner));
	c->lease_expires_ms = r->i64(r->impl, i++);
	c->c.processed = r->i64(r->impl, i++);
	c->c.success = r->i64(r->impl, i++);
	c->c.errors = r->i64(r->impl, i++);
	c->c.input_tokens = r->i64(r->impl, i++);
	c->c.output_tokens = r->i64(r->impl, i++);
	c->c.retries = r->i64(r->impl, i++);
	c->c.throttles = r->i64(r->impl, i++);
}

void store_row_input(const struct store_row *r, void *elem)
{
	struct job_input *in = elem;
	memset(in, 0, sizeof(*in));
	in->idx = (unsigned)r->i64(r->impl, 0);
	in->uri = row_dup(r, 1);
	in->name = row_dup(r, 2);
	in->size = (uint64_t)r->i64(r->impl, 3);
	row_copy(r, 4, in->etag, sizeof(in->etag));
	in->records = r->i64(r->impl, 5);
}

void store_row_invalid(const struct store_row *r, void *elem)
{
	struct invalid_rec *iv = elem;
	iv->input_idx = (unsigned)r->i64(r->impl, 0);
	iv->record_idx = r->i64(r->impl, 1);
	iv->line_no = (uint64_t)r->i64(r->impl, 2);
	iv->message = row_dup(r, 3);
}

void store_row_delivery(const struct store_row *r, void *elem)
{
	struct delivery *d = elem;
	memset(d, 0, sizeof(*d));
	d->id = r->i64(r->impl, 0);
	row_copy(r, 1, d->event_id, sizeof(d->event_id));
	row_copy(r, 2, d->webhook, sizeof(d->webhook));
	d->body = row_dup(r, 3);
	d->attempts = (int)r->i64(r->impl, 4);
	d->next_ms = r->i64(r->impl, 5);
}

void store_args_job(const struct store_args *a, const struct job *j)
{
	a->text(a->impl, j->id);
	a->text(a->impl, j->arn);
	a->text(a->impl, j->name);
	a->text(a->impl, j->account ? j->account : "");
	a->text(a->impl, j->model_id);
	a->text(a->impl, j->invocation_type ? j->invocation_type : "InvokeModel");
	a->i64(a->impl, (int64_t)j->status);
	a->text(a->impl, j->message);
	a->text(a->impl, j->input_uri);
	a->text(a->impl, j->output_uri);
	a->text(a->impl, j->run_key);
	a->text(a->impl, j->client_token);
	a->text(a->impl, j->role_arn);
	a->text(a->impl, j->tags_json);
	a->i64(a->impl, j->skip_invalid);
	a->i64(a->impl, j->timeout_hours);
	a->i64(a->impl, j->submit_ms);
	a->i64(a->impl, j->modified_ms);
	a->i64(a->impl, j->start_ms);
	a->i64(a->impl, j->end_ms);
	a->i64(a->impl, j->expire_ms);
	a->i64(a->impl, j->c.total);
	store_args_counts(a, &j->c);
	a->f64(a->impl, j->price_in);
	a->f64(a->impl, j->price_out);
	a->f64(a->impl, j->discount);
}

void store_args_counts(const struct store_args *a, const struct job_counts *c)
{
	a->i64(a->impl, c->processed);
	a->i64(a->impl, c->success);
	a->i64(a->impl, c->errors);
	a->i64(a->impl, c->input_tokens);
	a->i64(a->impl, c->output_tokens);
	a->i64(a->impl, c->retries);
	a->i64(a->impl, c->throttles);
}
