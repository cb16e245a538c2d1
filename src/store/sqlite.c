/* sqlite.c - the embedded store: one SQLite database in WAL mode. */
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	char *path;
	pthread_mutex_t lock; /* one connection, used by one thread at a time */
};

/*
 * Migrations, applied in order; PRAGMA user_version holds how many ran.
 * Never edit a released entry: add a new one.
 */
static const char *const migrations[] = {
	"CREATE TABLE jobs ("
	" id TEXT PRIMARY KEY, arn TEXT NOT NULL, name TEXT NOT NULL,"
	" account TEXT NOT NULL DEFAULT '', model_id TEXT NOT NULL,"
	" invocation_type TEXT NOT NULL DEFAULT 'InvokeModel', status INTEGER NOT NULL,"
	" message TEXT, input_uri TEXT NOT NULL, output_uri TEXT NOT NULL, run_key TEXT,"
	" client_token TEXT, role_arn TEXT, tags_json TEXT,"
	" skip_invalid INTEGER NOT NULL DEFAULT 0, timeout_hours INTEGER NOT NULL DEFAULT 24,"
	" submit_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL DEFAULT 0,"
	" end_ms INTEGER NOT NULL DEFAULT 0, expire_ms INTEGER NOT NULL DEFAULT 0,"
	" total INTEGER NOT NULL DEFAULT 0, processed INTEGER NOT NULL DEFAULT 0,"
	" success INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,"
	" input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,"
	" retries INTEGER NOT NULL DEFAULT 0, throttles INTEGER NOT NULL DEFAULT 0,"
	" price_in REAL NOT NULL DEFAULT 0, price_out REAL NOT NULL DEFAULT 0,"
	" discount REAL NOT NULL DEFAULT 0.5);"
	"CREATE INDEX jobs_run_key ON jobs(run_key);"
	"CREATE INDEX jobs_account_submit ON jobs(account, submit_ms);"
	"CREATE UNIQUE INDEX jobs_client_token ON jobs(account, client_token)"
	" WHERE client_token IS NOT NULL;"
	"CREATE TABLE job_inputs ("
	" job_id TEXT NOT NULL, idx INTEGER NOT NULL, uri TEXT NOT NULL, name TEXT NOT NULL,"
	" size INTEGER NOT NULL, etag TEXT NOT NULL, records INTEGER NOT NULL,"
	" PRIMARY KEY (job_id, idx));"
	"CREATE TABLE chunks ("
	" job_id TEXT NOT NULL, seq INTEGER NOT NULL, input_idx INTEGER NOT NULL,"
	" first_record INTEGER NOT NULL, nrecords INTEGER NOT NULL,"
	" start_off INTEGER NOT NULL, end_off INTEGER NOT NULL, first_line INTEGER NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_expires_ms INTEGER NOT NULL DEFAULT 0,"
	" processed INTEGER NOT NULL DEFAULT 0, success INTEGER NOT NULL DEFAULT 0,"
	" errors INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,"
	" output_tokens INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0,"
	" throttles INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (job_id, seq));"
	"CREATE INDEX chunks_state ON chunks(job_id, state, seq);"
	"CREATE TABLE invalid_records ("
	" job_id TEXT NOT NULL, input_idx INTEGER NOT NULL, record_idx INTEGER NOT NULL,"
	" line_no INTEGER NOT NULL, message TEXT NOT NULL,"
	" PRIMARY KEY (job_id, input_idx, record_idx));",
	/* 2: webhook deliveries, durable across restarts. */
	"CREATE TABLE deliveries ("
	" id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, webhook TEXT NOT NULL,"
	" body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_ms INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT);"
	"CREATE INDEX deliveries_due ON deliveries(done, next_ms);",
	/* 3: the leases of one runner (renew) and the leases that ran out (expire). */
	"CREATE INDEX chunks_lease_owner ON chunks(lease_owner) WHERE state = 1;"
	"CREATE INDEX chunks_lease_expiry ON chunks(lease_expires_ms) WHERE state = 1;",
};

static struct sqlite_store *S(struct store *st)
{
	return (struct sqlite_store *)st;
}

static int db_err(struct sqlite_store *s, struct err *e, const char *what)
{
	int code = sqlite3_errcode(s->db);

	return err_set(e, code == SQLITE_FULL || code == SQLITE_IOERR ? ERR_IO : ERR_INTERNAL,
		       "state database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int exec(struct sqlite_store *s, const char *sql, struct err *e)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, ERR_IO, "state database %s: %s", s->path, msg ? msg : "error");
		sqlite3_free(msg);
		return ERR_IO;
	}
	return 0;
}

static int prep(struct sqlite_store *s, const char *sql, sqlite3_stmt **st, struct err *e)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(s, e, "prepare");
	return 0;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

static const char *row_text(void *impl, int col)
{
	return (const char *)sqlite3_column_text(impl, col);
}

static int64_t row_i64(void *impl, int col)
{
	return sqlite3_column_int64(impl, col);
}

static double row_f64(void *impl, int col)
{
	return sqlite3_column_double(impl, col);
}

/* row_of shows the current row of q to the shared row readers of store.c. */
static struct store_row row_of(sqlite3_stmt *q)
{
	return (struct store_row){q, row_text, row_i64, row_f64};
}

/* The parameters of a statement, bound from number next on. */
struct sq_args {
	sqlite3_stmt *q;
	int next;
};

static void args_text(void *impl, const char *v)
{
	struct sq_args *a = impl;

	bind_text(a->q, a->next++, v);
}

static void args_i64(void *impl, int64_t v)
{
	struct sq_args *a = impl;

	sqlite3_bind_int64(a->q, a->next++, v);
}

static void args_f64(void *impl, double v)
{
	struct sq_args *a = impl;

	sqlite3_bind_double(a->q, a->next++, v);
}

/* bind_counts binds the seven counts of c from parameter first on. */
static void bind_counts(sqlite3_stmt *q, int first, const struct job_counts *c)
{
	struct sq_args a = {q, first};

	store_args_counts(&(struct store_args){&a, args_text, args_i64, args_f64}, c);
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = S(st);

	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static int sq_job_insert(struct store *st, const struct job *j, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	struct sq_args a = {NULL, 1};
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if ((rc = prep(s, "INSERT INTO jobs (" STORE_JOB_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
			  "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &q, e)))
		goto out;
	a.q = q;
	store_args_job(&(struct store_args){&a, args_text, args_i64, args_f64}, j);
	switch (sqlite3_step(q)) {
	case SQLITE_DONE:
		break;
	default:
		switch (sqlite3_extended_errcode(s->db)) {
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			rc = err_set(e, ERR_CONFLICT, "job %s already exists", j->id);
			break;
		case SQLITE_CONSTRAINT_UNIQUE:
			rc = err_set(e, ERR_CONFLICT,
				     "a job with client request token \"%s\" already exists",
				     j->client_token ? j->client_token : "");
			break;
		default:
			rc = db_err(s, e, "insert job");
		}
	}
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* get_one runs q (bound) and reads at most one job; ERR_NOTFOUND if none. */
static int get_one(struct sqlite_store *s, sqlite3_stmt *q, struct job *out, const char *what,
		   struct err *e)
{
	int r = sqlite3_step(q);
	struct store_row row = row_of(q);

	if (r == SQLITE_ROW) {
		store_row_job(&row, out);
		return 0;
	}
	if (r == SQLITE_DONE)
		return err_set(e, ERR_NOTFOUND, "%s not found", what);
	return db_err(s, e, "read job");
}

static int sq_job_get(struct store *st, const char *id, struct job *out, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	char what[64];
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_JOB_COLS " FROM jobs WHERE id = ?", &q, e);
	if (!rc) {
		bind_text(q, 1, id);
		snprintf(what, sizeof(what), "job %.20s", id);
		rc = get_one(s, q, out, what, e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_job_find_run(struct store *st, const char *run_key, struct job *out,
			   struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_JOB_COLS " FROM jobs WHERE run_key = ?"
		     " ORDER BY submit_ms DESC, rowid DESC LIMIT 1", &q, e);
	if (!rc) {
		bind_text(q, 1, run_key);
		rc = get_one(s, q, out, "a job for this command", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int begin(struct sqlite_store *s, struct err *e)
{
	return exec(s, "BEGIN IMMEDIATE", e);
}

static int commit(struct sqlite_store *s, struct err *e)
{
	return exec(s, "COMMIT", e);
}

static void rollback(struct sqlite_store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_job_set_status(struct store *st, const char *id, enum job_status to,
			     const char *message, int64_t now_ms, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	enum job_status from;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = begin(s, e)))
		goto out;
	if ((rc = prep(s, "SELECT status FROM jobs WHERE id = ?", &q, e)))
		goto fail;
	bind_text(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		rc = err_set(e, ERR_NOTFOUND, "job %.20s not found", id);
		goto fail;
	}
	from = (enum job_status)sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (from != to && !job_transition_ok(from, to)) {
		rc = err_set(e, ERR_CONFLICT, "job %s is %s and cannot become %s", id,
			     job_status_name(from), job_status_name(to));
		goto fail;
	}
	if ((rc = prep(s, "UPDATE jobs SET status = ?1, modified_ms = ?2,"
			  " message = COALESCE(?3, message),"
			  " start_ms = CASE WHEN ?1 = 3 AND start_ms = 0 THEN ?2 ELSE start_ms END,"
			  " end_ms = CASE WHEN ?4 THEN ?2 ELSE 0 END"
			  " WHERE id = ?5", &q, e)))
		goto fail;
	sqlite3_bind_int(q, 1, (int)to);
	sqlite3_bind_int64(q, 2, now_ms);
	bind_text(q, 3, message);
	sqlite3_bind_int(q, 4, job_status_terminal(to));
	bind_text(q, 5, id);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(s, e, "update job status");
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	rc = commit(s, e);
	goto out;
fail:
	sqlite3_finalize(q);
	q = NULL;
	rollback(s);
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int step_done(struct sqlite_store *s, sqlite3_stmt *q, const char *what, struct err *e)
{
	if (sqlite3_step(q) != SQLITE_DONE)
		return db_err(s, e, what);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return 0;
}

static int sq_job_validated(struct store *st, const char *id, const struct job_input *in,
			    size_t n_in, const struct chunk *ch, size_t n_ch,
			    const struct invalid_rec *inv, size_t n_inv, int64_t total,
			    int64_t now_ms, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = begin(s, e)))
		goto out;
	if ((rc = prep(s, "DELETE FROM job_inputs WHERE job_id = ?", &q, e)))
		goto fail;
	bind_text(q, 1, id);
	if ((rc = step_done(s, q, "clear inputs", e)))
		goto fail;
	sqlite3_finalize(q);
	if ((rc = prep(s, "DELETE FROM chunks WHERE job_id = ?", &q, e)))
		goto fail;
	bind_text(q, 1, id);
	if ((rc = step_done(s, q, "clear chunks", e)))
		goto fail;
	sqlite3_finalize(q);
	if ((rc = prep(s, "DELETE FROM invalid_records WHERE job_id = ?", &q, e)))
		goto fail;
	bind_text(q, 1, id);
	if ((rc = step_done(s, q, "clear invalid records", e)))
		goto fail;
	sqlite3_finalize(q);
	if ((rc = prep(s, "INSERT INTO invalid_records (job_id, input_idx, record_idx, line_no,"
			  " message) VALUES (?,?,?,?,?)", &q, e)))
		goto fail;
	for (size_t i = 0; i < n_inv; i++) {
		bind_text(q, 1, id);
		sqlite3_bind_int(q, 2, (int)inv[i].input_idx);
		sqlite3_bind_int64(q, 3, inv[i].record_idx);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)inv[i].line_no);
		bind_text(q, 5, inv[i].message);
		if ((rc = step_done(s, q, "insert invalid record", e)))
			goto fail;
	}
	sqlite3_finalize(q);
	if ((rc = prep(s, "INSERT INTO job_inputs (job_id, idx, uri, name, size, etag, records)"
			  " VALUES (?,?,?,?,?,?,?)", &q, e)))
		goto fail;
	for (size_t i = 0; i < n_in; i++) {
		bind_text(q, 1, id);
		sqlite3_bind_int(q, 2, (int)in[i].idx);
		bind_text(q, 3, in[i].uri);
		bind_text(q, 4, in[i].name);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)in[i].size);
		bind_text(q, 6, in[i].etag);
		sqlite3_bind_int64(q, 7, in[i].records);
		if ((rc = step_done(s, q, "insert input", e)))
			goto fail;
	}
	sqlite3_finalize(q);
	if ((rc = prep(s, "INSERT INTO chunks (job_id, seq, input_idx, first_record, nrecords,"
			  " start_off, end_off, first_line) VALUES (?,?,?,?,?,?,?,?)", &q, e)))
		goto fail;
	for (size_t i = 0; i < n_ch; i++) {
		bind_text(q, 1, id);
		sqlite3_bind_int(q, 2, (int)ch[i].seq);
		sqlite3_bind_int(q, 3, (int)ch[i].input_idx);
		sqlite3_bind_int64(q, 4, ch[i].first_record);
		sqlite3_bind_int64(q, 5, ch[i].nrecords);
		sqlite3_bind_int64(q, 6, (sqlite3_int64)ch[i].start_off);
		sqlite3_bind_int64(q, 7, (sqlite3_int64)ch[i].end_off);
		sqlite3_bind_int64(q, 8, (sqlite3_int64)ch[i].first_line);
		if ((rc = step_done(s, q, "insert chunk", e)))
			goto fail;
	}
	sqlite3_finalize(q);
	/*
	 * Only a job still Validating becomes Scheduled: one stopped meanwhile
	 * keeps its Stopping, with its chunks recorded all the same.
	 */
	if ((rc = prep(s, "UPDATE jobs SET total = ?1, modified_ms = ?3,"
			  " status = CASE WHEN status IN (?5, ?6) THEN ?2 ELSE status END,"
			  " processed = 0, success = 0, errors = 0, input_tokens = 0,"
			  " output_tokens = 0, retries = 0, throttles = 0 WHERE id = ?4", &q, e)))
		goto fail;
	sqlite3_bind_int64(q, 1, total);
	sqlite3_bind_int(q, 2, JS_SCHEDULED);
	sqlite3_bind_int64(q, 3, now_ms);
	bind_text(q, 4, id);
	sqlite3_bind_int(q, 5, JS_VALIDATING);
	sqlite3_bind_int(q, 6, JS_SUBMITTED);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(s, e, "update job");
		goto fail;
	}
	if (sqlite3_changes(s->db) != 1) {
		rc = err_set(e, ERR_NOTFOUND, "job %.20s not found", id);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	rc = commit(s, e);
	goto out;
fail:
	sqlite3_finalize(q);
	q = NULL;
	rollback(s);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/*
 * collect steps q to its end and reads every row with read into a new array
 * of elements of size bytes (the caller frees it with release, also when
 * this fails). Listing is capped so that a runaway query cannot exhaust
 * memory.
 */
#define COLLECT_MAX 10000000

static int collect(struct sqlite_store *s, sqlite3_stmt *q, size_t size,
		   store_row_read *read, void **out, size_t *n,
		   const char *what, struct err *e)
{
	struct store_row row = row_of(q);
	char *v = NULL;
	size_t cnt = 0, cap = 0;
	int r;

	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char *nv;

			if (ncap > COLLECT_MAX || !(nv = realloc(v, ncap * size))) {
				*out = v;
				*n = cnt;
				return err_set(e, ERR_NOMEM, "out of memory reading %s", what);
			}
			v = nv;
			cap = ncap;
		}
		read(&row, v + cnt * size);
		cnt++;
	}
	*out = v;
	*n = cnt;
	if (r != SQLITE_DONE)
		return db_err(s, e, what);
	return 0;
}

static int sq_job_list(struct store *st, const struct job_filter *f, struct job **out,
		       size_t *n, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	void *v = NULL;
	int rc;
	char sql[1024];

	*out = NULL;
	*n = 0;
	/*
	 * Pagination continues after a job in (submit_ms, id) order, which is
	 * stable even when several jobs share a millisecond.
	 */
	snprintf(sql, sizeof(sql),
		 "SELECT " STORE_JOB_COLS " FROM jobs WHERE (?1 IS NULL OR account = ?1)"
		 " AND (?2 < 0 OR status = ?2) AND (?3 IS NULL OR instr(name, ?3) > 0)"
		 " AND (?4 = 0 OR submit_ms > ?4) AND (?5 = 0 OR submit_ms < ?5)"
		 " AND (?6 IS NULL OR model_id = ?6)"
		 " AND (?7 IS NULL OR (submit_ms, id) %s"
		 "  (SELECT submit_ms, id FROM jobs WHERE id = ?7))"
		 " ORDER BY submit_ms %s, id %s LIMIT ?8",
		 f->ascending ? ">" : "<", f->ascending ? "ASC" : "DESC",
		 f->ascending ? "ASC" : "DESC");
	pthread_mutex_lock(&s->lock);
	rc = prep(s, sql, &q, e);
	if (!rc) {
		bind_text(q, 1, f->account);
		sqlite3_bind_int(q, 2, f->status);
		bind_text(q, 3, f->name_contains);
		sqlite3_bind_int64(q, 4, f->submit_after_ms);
		sqlite3_bind_int64(q, 5, f->submit_before_ms);
		bind_text(q, 6, f->model_id);
		bind_text(q, 7, f->after_id);
		sqlite3_bind_int64(q, 8, f->limit ? (sqlite3_int64)f->limit : -1);
		rc = collect(s, q, sizeof(struct job), store_row_job, &v, n, "jobs", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		store_jobs_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int sq_inputs_get(struct store *st, const char *job_id, struct job_input **out,
			 size_t *n, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	void *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_INPUT_COLS " FROM job_inputs"
		     " WHERE job_id = ? ORDER BY idx", &q, e);
	if (!rc) {
		bind_text(q, 1, job_id);
		rc = collect(s, q, sizeof(struct job_input), store_row_input, &v, n, "inputs", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		job_inputs_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int sq_chunks_list(struct store *st, const char *job_id, struct chunk **out,
			  size_t *n, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	void *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_CHUNK_COLS " FROM chunks WHERE job_id = ? ORDER BY seq", &q, e);
	if (!rc) {
		bind_text(q, 1, job_id);
		rc = collect(s, q, sizeof(struct chunk), store_row_chunk, &v, n, "chunks", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int sq_invalid_list(struct store *st, const char *job_id, unsigned input_idx,
			   int64_t first_record, int64_t nrecords, struct invalid_rec **out,
			   size_t *n, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	void *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_INVALID_COLS " FROM invalid_records"
		     " WHERE job_id = ? AND input_idx = ? AND record_idx >= ? AND record_idx < ?"
		     " ORDER BY record_idx", &q, e);
	if (!rc) {
		bind_text(q, 1, job_id);
		sqlite3_bind_int(q, 2, (int)input_idx);
		sqlite3_bind_int64(q, 3, first_record);
		sqlite3_bind_int64(q, 4, first_record + nrecords);
		rc = collect(s, q, sizeof(struct invalid_rec), store_row_invalid, &v, n,
			     "invalid records", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		invalid_recs_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int sq_chunk_lease(struct store *st, const char *job_id, const char *owner,
			  int64_t now_ms, int64_t ttl_ms, struct chunk *out, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc, r;

	pthread_mutex_lock(&s->lock);
	/*
	 * Only a job in progress hands out work: once it is stopping or over,
	 * no runner may start another chunk of it.
	 */
	rc = prep(s, "UPDATE chunks SET state = 1, lease_owner = ?1, lease_expires_ms = ?2"
		     " WHERE job_id = ?3 AND seq = (SELECT seq FROM chunks WHERE job_id = ?3"
		     "  AND (state = 0 OR (state = 1 AND lease_expires_ms < ?4))"
		     "  AND (SELECT status FROM jobs WHERE id = ?3) = ?5"
		     "  ORDER BY seq LIMIT 1)"
		     " RETURNING " STORE_CHUNK_COLS, &q, e);
	if (rc)
		goto out;
	bind_text(q, 1, owner);
	sqlite3_bind_int64(q, 2, now_ms + ttl_ms);
	bind_text(q, 3, job_id);
	sqlite3_bind_int64(q, 4, now_ms);
	sqlite3_bind_int(q, 5, JS_IN_PROGRESS);
	r = sqlite3_step(q);
	if (r == SQLITE_ROW) {
		struct store_row row = row_of(q);

		store_row_chunk(&row, out);
		rc = 1;
		/* Step to the end so that the UPDATE completes before finalize. */
		while (sqlite3_step(q) == SQLITE_ROW)
			;
	} else if (r != SQLITE_DONE) {
		rc = db_err(s, e, "lease chunk");
	}
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_chunk_complete(struct store *st, const struct chunk *c, const char *owner,
			     int64_t now_ms, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = begin(s, e)))
		goto out;
	/* lease_owner stays: it names the runner whose part object is the chunk's. */
	rc = prep(s, "UPDATE chunks SET state = 2, processed = ?1,"
		     " success = ?2, errors = ?3, input_tokens = ?4, output_tokens = ?5,"
		     " retries = ?6, throttles = ?7"
		     " WHERE job_id = ?8 AND seq = ?9 AND state = 1 AND lease_owner = ?10", &q, e);
	if (rc)
		goto fail;
	bind_counts(q, 1, &c->c);
	bind_text(q, 8, c->job_id);
	sqlite3_bind_int(q, 9, (int)c->seq);
	bind_text(q, 10, owner);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(s, e, "complete chunk");
		goto fail;
	}
	if (sqlite3_changes(s->db) != 1) {
		rc = err_set(e, ERR_CONFLICT, "chunk %u of job %s is no longer leased by this runner",
			     c->seq, c->job_id);
		goto fail;
	}
	sqlite3_finalize(q);
	/* A job that has ended keeps the counts its outputs show: a late chunk adds none. */
	rc = prep(s, "UPDATE jobs SET processed = processed + ?1, success = success + ?2,"
		     " errors = errors + ?3, input_tokens = input_tokens + ?4,"
		     " output_tokens = output_tokens + ?5, retries = retries + ?6,"
		     " throttles = throttles + ?7, modified_ms = ?8 WHERE id = ?9"
		     " AND status IN (?10, ?11)", &q, e);
	if (rc)
		goto fail;
	bind_counts(q, 1, &c->c);
	sqlite3_bind_int64(q, 8, now_ms);
	bind_text(q, 9, c->job_id);
	sqlite3_bind_int(q, 10, JS_IN_PROGRESS);
	sqlite3_bind_int(q, 11, JS_STOPPING);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(s, e, "add chunk counts");
		goto fail;
	}
	if (sqlite3_changes(s->db) != 1) {
		rc = err_set(e, ERR_CONFLICT, "job %s has ended: chunk %u is not counted",
			     c->job_id, c->seq);
		goto fail;
	}
	sqlite3_finalize(q);
	q = NULL;
	rc = commit(s, e);
	goto out;
fail:
	sqlite3_finalize(q);
	q = NULL;
	rollback(s);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_chunks_release(struct store *st, const char *job_id, const char *owner,
			     struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "UPDATE chunks SET state = 0, lease_owner = NULL, lease_expires_ms = 0"
		     " WHERE job_id = ?1 AND state = 1 AND (?2 IS NULL OR lease_owner = ?2)", &q, e);
	if (!rc) {
		bind_text(q, 1, job_id);
		bind_text(q, 2, owner);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "release chunks");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_leases_renew(struct store *st, const char *owner, int64_t until_ms,
			   struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "UPDATE chunks SET lease_expires_ms = max(lease_expires_ms, ?2)"
		     " WHERE state = 1 AND lease_owner = ?1", &q, e);
	if (!rc) {
		bind_text(q, 1, owner);
		sqlite3_bind_int64(q, 2, until_ms);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "renew leases");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_leases_expire(struct store *st, int64_t now_ms, int64_t *released,
			    struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	if (released)
		*released = 0;
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "UPDATE chunks SET state = 0, lease_owner = NULL, lease_expires_ms = 0"
		     " WHERE state = 1 AND lease_expires_ms < ?1", &q, e);
	if (!rc) {
		sqlite3_bind_int64(q, 1, now_ms);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "expire leases");
		else if (released)
			*released = sqlite3_changes(s->db);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_chunk_counts(struct store *st, const char *job_id, struct chunk_counts *out,
			   struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc, r;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT state, count(*) FROM chunks WHERE job_id = ? GROUP BY state", &q, e);
	if (!rc) {
		bind_text(q, 1, job_id);
		while ((r = sqlite3_step(q)) == SQLITE_ROW) {
			int64_t n = sqlite3_column_int64(q, 1);

			switch (sqlite3_column_int(q, 0)) {
			case CHUNK_PENDING: out->pending = n; break;
			case CHUNK_LEASED: out->leased = n; break;
			default: out->done = n; break;
			}
		}
		if (r != SQLITE_DONE)
			rc = db_err(s, e, "count chunks");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_job_count(struct store *st, const char *account, const char *model_id,
			unsigned status_mask, int64_t *n, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT count(*) FROM jobs WHERE (?1 IS NULL OR account = ?1)"
		     " AND (?2 IS NULL OR model_id = ?2) AND ((1 << status) & ?3) != 0", &q, e);
	if (!rc) {
		bind_text(q, 1, account);
		bind_text(q, 2, model_id);
		sqlite3_bind_int64(q, 3, status_mask);
		if (sqlite3_step(q) == SQLITE_ROW)
			*n = sqlite3_column_int64(q, 0);
		else
			rc = db_err(s, e, "count jobs");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_job_find_token(struct store *st, const char *account, const char *token,
			     struct job *out, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_JOB_COLS " FROM jobs WHERE account = ? AND client_token = ?", &q, e);
	if (!rc) {
		bind_text(q, 1, account);
		bind_text(q, 2, token);
		rc = get_one(s, q, out, "a job with this client request token", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_status_counts(struct store *st, int64_t counts[JS__COUNT],
			    struct job_counts *sum, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc, r;

	memset(counts, 0, sizeof(int64_t) * JS__COUNT);
	memset(sum, 0, sizeof(*sum));
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT status, count(*), sum(total), sum(processed), sum(success),"
		     " sum(errors), sum(input_tokens), sum(output_tokens), sum(retries),"
		     " sum(throttles) FROM jobs GROUP BY status", &q, e);
	while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
		int st_ = sqlite3_column_int(q, 0);

		if (st_ >= 0 && st_ < JS__COUNT)
			counts[st_] = sqlite3_column_int64(q, 1);
		sum->total += sqlite3_column_int64(q, 2);
		sum->processed += sqlite3_column_int64(q, 3);
		sum->success += sqlite3_column_int64(q, 4);
		sum->errors += sqlite3_column_int64(q, 5);
		sum->input_tokens += sqlite3_column_int64(q, 6);
		sum->output_tokens += sqlite3_column_int64(q, 7);
		sum->retries += sqlite3_column_int64(q, 8);
		sum->throttles += sqlite3_column_int64(q, 9);
	}
	if (!rc && r != SQLITE_DONE)
		rc = db_err(s, e, "count jobs");
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_chunk_progress(struct store *st, const struct chunk *c, const char *owner,
			     struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "UPDATE chunks SET processed = ?1, success = ?2, errors = ?3,"
		     " input_tokens = ?4, output_tokens = ?5, retries = ?6, throttles = ?7"
		     " WHERE job_id = ?8 AND seq = ?9 AND state = 1 AND lease_owner = ?10", &q, e);
	if (!rc) {
		bind_counts(q, 1, &c->c);
		bind_text(q, 8, c->job_id);
		sqlite3_bind_int(q, 9, (int)c->seq);
		bind_text(q, 10, owner);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "record chunk progress");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_job_live(struct store *st, const char *job_id, struct job_counts *out,
		       struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT coalesce(sum(processed), 0), coalesce(sum(success), 0),"
		     " coalesce(sum(errors), 0), coalesce(sum(input_tokens), 0),"
		     " coalesce(sum(output_tokens), 0), coalesce(sum(retries), 0),"
		     " coalesce(sum(throttles), 0) FROM chunks WHERE job_id = ? AND state = 1", &q, e);
	if (!rc) {
		bind_text(q, 1, job_id);
		if (sqlite3_step(q) == SQLITE_ROW) {
			out->processed = sqlite3_column_int64(q, 0);
			out->success = sqlite3_column_int64(q, 1);
			out->errors = sqlite3_column_int64(q, 2);
			out->input_tokens = sqlite3_column_int64(q, 3);
			out->output_tokens = sqlite3_column_int64(q, 4);
			out->retries = sqlite3_column_int64(q, 5);
			out->throttles = sqlite3_column_int64(q, 6);
		} else {
			rc = db_err(s, e, "sum chunk progress");
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_job_set_counts(struct store *st, const char *job_id, const struct job_counts *c,
			     struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "UPDATE jobs SET processed = ?1, success = ?2, errors = ?3,"
		     " input_tokens = ?4, output_tokens = ?5, retries = ?6, throttles = ?7"
		     " WHERE id = ?8", &q, e);
	if (!rc) {
		bind_counts(q, 1, c);
		bind_text(q, 8, job_id);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "set job counts");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_delivery_add(struct store *st, const struct delivery *d, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "INSERT OR IGNORE INTO deliveries (event_id, webhook, body, next_ms)"
		     " VALUES (?, ?, ?, ?)", &q, e);
	if (!rc) {
		bind_text(q, 1, d->event_id);
		bind_text(q, 2, d->webhook);
		bind_text(q, 3, d->body);
		sqlite3_bind_int64(q, 4, d->next_ms);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "queue a webhook delivery");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sq_delivery_due(struct store *st, int64_t now_ms, size_t max, struct delivery **out,
			   size_t *n, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	void *v = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	rc = prep(s, "SELECT " STORE_DELIVERY_COLS " FROM deliveries"
		     " WHERE done = 0 AND next_ms <= ? ORDER BY next_ms, id LIMIT ?", &q, e);
	if (!rc) {
		sqlite3_bind_int64(q, 1, now_ms);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)max);
		rc = collect(s, q, sizeof(struct delivery), store_row_delivery, &v, n,
			     "webhook deliveries", e);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		deliveries_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int sq_delivery_update(struct store *st, int64_t id, bool done, int attempts,
			      int64_t next_ms, const char *last_error, struct err *e)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = prep(s, "UPDATE deliveries SET done = ?, attempts = ?, next_ms = ?, last_error = ?"
		     " WHERE id = ?", &q, e);
	if (!rc) {
		sqlite3_bind_int(q, 1, done);
		sqlite3_bind_int(q, 2, attempts);
		sqlite3_bind_int64(q, 3, next_ms);
		bind_text(q, 4, last_error);
		sqlite3_bind_int64(q, 5, id);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(s, e, "record a webhook delivery");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const struct store_ops sqlite_ops = {
	.close = sq_close,
	.job_insert = sq_job_insert,
	.job_get = sq_job_get,
	.job_find_run = sq_job_find_run,
	.job_set_status = sq_job_set_status,
	.job_validated = sq_job_validated,
	.job_list = sq_job_list,
	.inputs_get = sq_inputs_get,
	.chunks_list = sq_chunks_list,
	.invalid_list = sq_invalid_list,
	.chunk_lease = sq_chunk_lease,
	.chunk_complete = sq_chunk_complete,
	.chunks_release = sq_chunks_release,
	.chunk_counts = sq_chunk_counts,
	.job_count = sq_job_count,
	.job_find_token = sq_job_find_token,
	.status_counts = sq_status_counts,
	.chunk_progress = sq_chunk_progress,
	.job_live = sq_job_live,
	.job_set_counts = sq_job_set_counts,
	.delivery_add = sq_delivery_add,
	.delivery_due = sq_delivery_due,
	.delivery_update = sq_delivery_update,
	.leases_renew = sq_leases_renew,
	.leases_expire = sq_leases_expire,
};

/* migrate brings the schema to the newest version, one transaction per step. */
static int migrate(struct sqlite_store *s, struct err *e)
{
	sqlite3_stmt *q = NULL;
	int have, want = (int)(sizeof(migrations) / sizeof(migrations[0]));
	int rc;

	if ((rc = prep(s, "PRAGMA user_version", &q, e)))
		return rc;
	have = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	if (have > want)
		return err_set(e, ERR_CONFIG,
			       "state database %s has schema version %d, newer than this barge "
			       "understands (%d): use a newer barge",
			       s->path, have, want);
	for (int v = have; v < want; v++) {
		char setv[64];

		if ((rc = begin(s, e)))
			return rc;
		snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", v + 1);
		if ((rc = exec(s, migrations[v], e)) || (rc = exec(s, setv, e))) {
			rollback(s);
			return rc;
		}
		if ((rc = commit(s, e)))
			return rc;
	}
	return 0;
}

int store_sqlite_open(const char *path, struct store **st, struct err *e)
{
	struct sqlite_store *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	s->base.ops = &sqlite_ops;
	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		rc = err_set(e, ERR_IO, "cannot open state database %s: %s", path,
			     s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/*
	 * WAL lets readers (barge get, list) work while a runner writes;
	 * synchronous=FULL makes each chunk's commit durable before the chunk's
	 * journal is removed.
	 */
	if ((rc = exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			  " PRAGMA foreign_keys = ON;", e)))
		goto fail;
	if ((rc = migrate(s, e)))
		goto fail;
	*st = &s->base;
	return 0;
fail:
	sq_close(&s->base);
	return rc;
}
