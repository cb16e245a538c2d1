/* store.c - opens the store an URL names and forwards calls to it. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

int store_open(const char *url, struct store **st, struct err *e)
{
	*st = NULL;
	if (!strncmp(url, "sqlite:", 7))
		return store_sqlite_open(url + 7, st, e);
	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13))
		return err_set(e, ERR_CONFIG, "store %s: PostgreSQL is not supported by this build yet",
			       url);
	if (strstr(url, "://"))
		return err_set(e, ERR_CONFIG, "store %s: unknown kind (use sqlite:PATH)", url);
	return store_sqlite_open(url, st, e);
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
