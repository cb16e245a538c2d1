/* store.h - durable state of jobs, inputs and chunks, behind one interface. */
#ifndef BARGE_STORE_H
#define BARGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/job.h"
#include "util/err.h"

/*
 * A store keeps jobs, their inputs and their chunks. Every mutation is one
 * transaction, so a crash leaves either the state before or the state after.
 * The chunk is the unit of work: a runner leases it, runs it, and completes
 * it in one transaction that adds its counts to the job, so that a record is
 * never counted (or billed) twice. A lease that expires (its runner died)
 * makes the chunk available again.
 *
 * Implementations: sqlite (embedded, WAL; one process) and postgres (many
 * processes on one database: leases with FOR UPDATE SKIP LOCKED). Both keep
 * the same schema and give the same answers; docs/store.md describes them.
 */
struct store;

/* Filters for store_job_list; NULL and 0 mean "any", and so does status -1. */
struct job_filter {
	const char *account;
	int status;            /* -1: any */
	const char *name_contains;
	int64_t submit_after_ms, submit_before_ms; /* 0: unbounded */
	const char *model_id;
	int ascending;
	const char *after_id;  /* resume a listing after this job (pagination) */
	size_t limit;
};

/* How many chunks of a job are in each state. */
struct chunk_counts {
	int64_t pending, leased, done;
};

/* A webhook event waiting to be delivered. */
struct delivery {
	int64_t id;
	char event_id[64];      /* "<job id>:<status>": one event per job and end */
	char webhook[128];      /* the [webhook.*] to tell */
	char *body;             /* the JSON event, malloc'd */
	int attempts;
	int64_t next_ms;        /* wall ms of the next attempt */
};

/* A set of statuses for store_job_count: the bit of each (1 << status). */
#define JS_BIT(s) (1u << (s))

struct store_ops {
	void (*close)(struct store *st);
	int (*job_insert)(struct store *st, const struct job *j, struct err *e);
	int (*job_get)(struct store *st, const char *id, struct job *out, struct err *e);
	int (*job_find_run)(struct store *st, const char *run_key, struct job *out, struct err *e);
	int (*job_set_status)(struct store *st, const char *id, enum job_status to,
			      const char *message, int64_t now_ms, struct err *e);
	int (*job_validated)(struct store *st, const char *id, const struct job_input *in,
			     size_t n_in, const struct chunk *ch, size_t n_ch,
			     const struct invalid_rec *inv, size_t n_inv, int64_t total,
			     int64_t now_ms, struct err *e);
	int (*invalid_list)(struct store *st, const char *job_id, unsigned input_idx,
			    int64_t first_record, int64_t nrecords, struct invalid_rec **out,
			    size_t *n, struct err *e);
	int (*job_list)(struct store *st, const struct job_filter *f, struct job **out,
			size_t *n, struct err *e);
	int (*inputs_get)(struct store *st, const char *job_id, struct job_input **out,
			  size_t *n, struct err *e);
	int (*chunks_list)(struct store *st, const char *job_id, struct chunk **out, size_t *n,
			   struct err *e);
	int (*chunk_lease)(struct store *st, const char *job_id, const char *owner,
			   int64_t now_ms, int64_t ttl_ms, struct chunk *out, struct err *e);
	int (*chunk_complete)(struct store *st, const struct chunk *c, const char *owner,
			      int64_t now_ms, struct err *e);
	int (*chunks_release)(struct store *st, const char *job_id, const char *owner,
			      struct err *e);
	int (*chunk_counts)(struct store *st, const char *job_id, struct chunk_counts *out,
			    struct err *e);
	int (*job_count)(struct store *st, const char *account, const char *model_id,
			 unsigned status_mask, int64_t *n, struct err *e);
	int (*job_find_token)(struct store *st, const char *account, const char *token,
			      struct job *out, struct err *e);
	int (*status_counts)(struct store *st, int64_t counts[JS__COUNT], struct job_counts *sum,
			     struct err *e);
	int (*chunk_progress)(struct store *st, const struct chunk *c, const char *owner,
			      struct err *e);
	int (*job_live)(struct store *st, const char *job_id, struct job_counts *out,
			struct err *e);
	int (*job_set_counts)(struct store *st, const char *job_id, const struct job_counts *c,
			      struct err *e);
	int (*delivery_add)(struct store *st, const struct delivery *d, struct err *e);
	int (*delivery_due)(struct store *st, int64_t now_ms, size_t max, struct delivery **out,
			    size_t *n, struct err *e);
	int (*delivery_update)(struct store *st, int64_t id, bool done, int attempts,
			       int64_t next_ms, const char *last_error, struct err *e);
	int (*leases_renew)(struct store *st, const char *owner, int64_t until_ms,
			    struct err *e);
	int (*leases_expire)(struct store *st, int64_t now_ms, int64_t *released,
			     struct err *e);
};

struct store {
	const struct store_ops *ops;
};

/*
 * store_open opens the store named by url: "sqlite:PATH" (or a bare path),
 * or "postgres://" / "postgresql://" followed by a libpq URL. The schema is
 * created or migrated to the current version. The caller owns *st and
 * closes it with store_close; on failure *st is NULL.
 */
int store_open(const char *url, struct store **st, struct err *e);
void store_close(struct store *st);
/*
 * store_url_shown writes url as logs and messages may show it: a
 * PostgreSQL URL without its password and without its options (where
 * libpq takes a password too), the way store_open's messages name it.
 */
void store_url_shown(const char *url, char *out, size_t n);

/* store_job_insert adds a new job; ERR_CONFLICT if the id exists. */
int store_job_insert(struct store *st, const struct job *j, struct err *e);
/* store_job_get fills out (job_init'ed by the caller); ERR_NOTFOUND if absent. */
int store_job_get(struct store *st, const char *id, struct job *out, struct err *e);
/* store_job_find_run finds the newest job of a `barge run` command line. */
int store_job_find_run(struct store *st, const char *run_key, struct job *out, struct err *e);
/*
 * store_job_set_status moves a job to status to if the lifecycle allows it
 * (ERR_CONFLICT otherwise), setting message when not NULL and the end time
 * when to is terminal.
 */
int store_job_set_status(struct store *st, const char *id, enum job_status to,
			 const char *message, int64_t now_ms, struct err *e);
/*
 * store_job_validated records a validation's result in one transaction: the
 * inputs, the chunks and the invalid records to skip (replacing any earlier
 * ones), the total, and status Scheduled (unless the job was stopped
 * meanwhile: it keeps its status).
 */
int store_job_validated(struct store *st, const char *id, const struct job_input *in,
			size_t n_in, const struct chunk *ch, size_t n_ch,
			const struct invalid_rec *inv, size_t n_inv, int64_t total,
			int64_t now_ms, struct err *e);
/*
 * store_invalid_list returns the skipped invalid records of one input in
 * [first_record, first_record + nrecords), in order; free with
 * invalid_recs_free.
 */
int store_invalid_list(struct store *st, const char *job_id, unsigned input_idx,
		       int64_t first_record, int64_t nrecords, struct invalid_rec **out,
		       size_t *n, struct err *e);

/* store_job_list returns matching jobs; the caller frees with store_jobs_free. */
int store_job_list(struct store *st, const struct job_filter *f, struct job **out, size_t *n,
		   struct err *e);
void store_jobs_free(struct job *v, size_t n);
/* store_inputs_get returns a job's inputs; free with job_inputs_free. */
int store_inputs_get(struct store *st, const char *job_id, struct job_input **out,
		     size_t *n, struct err *e);
/* store_chunks_list returns a job's chunks in order; the caller frees *out. */
int store_chunks_list(struct store *st, const char *job_id, struct chunk **out, size_t *n,
		      struct err *e);
/*
 * store_chunk_lease leases the first chunk of the job that is pending or
 * whose lease expired, if the job is InProgress. Returns 1 with *out
 * filled, 0 if none is available.
 */
int store_chunk_lease(struct store *st, const char *job_id, const char *owner,
		      int64_t now_ms, int64_t ttl_ms, struct chunk *out, struct err *e);
/*
 * store_chunk_complete marks c done with its counts and adds them to the
 * job, in one transaction; the chunk keeps owner in lease_owner, since its
 * part object is named after the runner that made it. ERR_CONFLICT if
 * owner no longer holds the lease (another runner took the chunk over) or
 * the job has ended: the caller then drops its results.
 */
int store_chunk_complete(struct store *st, const struct chunk *c, const char *owner,
			 int64_t now_ms, struct err *e);
/* store_chunks_release returns leased chunks to pending (owner NULL: all). */
int store_chunks_release(struct store *st, const char *job_id, const char *owner,
			 struct err *e);
/*
 * store_leases_renew extends every lease owner holds to until_ms: a runner's
 * heartbeat. It covers the chunks of every job and never shortens a lease;
 * a chunk another runner took over is no longer owner's and is left alone.
 */
int store_leases_renew(struct store *st, const char *owner, int64_t until_ms, struct err *e);
/*
 * store_leases_expire returns to pending every chunk whose lease ended before
 * now_ms (its runner died), counting them in *released (may be NULL). A
 * late completion by the dead runner then gets ERR_CONFLICT and counts
 * nothing.
 */
int store_leases_expire(struct store *st, int64_t now_ms, int64_t *released, struct err *e);

/* store_chunk_counts counts a job's chunks by state. */
int store_chunk_counts(struct store *st, const char *job_id, struct chunk_counts *out,
		       struct err *e);
/*
 * store_job_count counts the jobs of account (NULL: any) on model_id (NULL:
 * any) whose status is in status_mask (JS_BIT of each).
 */
int store_job_count(struct store *st, const char *account, const char *model_id,
		    unsigned status_mask, int64_t *n, struct err *e);
/* store_job_find_token finds the job an account created with client token; ERR_NOTFOUND if none. */
int store_job_find_token(struct store *st, const char *account, const char *token,
			 struct job *out, struct err *e);
/*
 * store_status_counts counts every job by status and sums the record and
 * token counts of all jobs, for metrics.
 */
int store_status_counts(struct store *st, int64_t counts[JS__COUNT], struct job_counts *sum,
			struct err *e);

/*
 * store_chunk_progress records how far a leased chunk has got (its counts
 * so far), for live counts; nothing when owner no longer holds it.
 */
int store_chunk_progress(struct store *st, const struct chunk *c, const char *owner,
			 struct err *e);
/* store_job_live sums the progress of a job's leased chunks. */
int store_job_live(struct store *st, const char *job_id, struct job_counts *out, struct err *e);
/*
 * store_job_set_counts replaces a job's record and token counts: for a job
 * that is over for good, whose manifest counted records of unfinished
 * chunks too.
 */
int store_job_set_counts(struct store *st, const char *job_id, const struct job_counts *c,
			 struct err *e);

/*
 * Webhook deliveries are kept in the store so that a restart does not lose
 * them. store_delivery_add queues one (a second event with the same
 * event_id is ignored); store_delivery_due lists up to max that are due
 * (free with deliveries_free); store_delivery_update records an attempt:
 * done, or the next try.
 */
int store_delivery_add(struct store *st, const struct delivery *d, struct err *e);
int store_delivery_due(struct store *st, int64_t now_ms, size_t max, struct delivery **out,
		       size_t *n, struct err *e);
int store_delivery_update(struct store *st, int64_t id, bool done, int attempts,
			  int64_t next_ms, const char *last_error, struct err *e);
void deliveries_free(struct delivery *v, size_t n);

/* Implementations. */
int store_sqlite_open(const char *path, struct store **st, struct err *e);
/*
 * store_postgres_open opens a PostgreSQL store; url is a libpq URL
 * (postgres://user:password@host:port/dbname?options). Messages name the
 * server and the database, never the password.
 */
int store_postgres_open(const char *url, struct store **st, struct err *e);
/* store_postgres_name writes a PostgreSQL URL as store_url_shown does. */
void store_postgres_name(const char *url, char *out, size_t n);

/*
 * For implementations only: the column lists and the row and parameter
 * helpers that every store shares, so that a row becomes a struct (and a
 * struct its parameters) in one place whatever the database.
 */
#define STORE_JOB_COLS                                                                 \
	"id, arn, name, account, model_id, invocation_type, status, message, input_uri,"   \
	" output_uri, run_key, client_token, role_arn, tags_json, skip_invalid,"           \
	" timeout_hours, submit_ms, modified_ms, start_ms, end_ms, expire_ms, total,"      \
	" processed, success, errors, input_tokens, output_tokens, retries, throttles,"    \
	" price_in, price_out, discount"
#define STORE_JOB_NCOLS 32

#define STORE_CHUNK_COLS                                                               \
	"job_id, seq, input_idx, first_record, nrecords, start_off, end_off, first_line,"  \
	" state, lease_owner, lease_expires_ms, processed, success, errors, input_tokens," \
	" output_tokens, retries, throttles"

/* The columns store_row_input, store_row_invalid and store_row_delivery read. */
#define STORE_INPUT_COLS "idx, uri, name, size, etag, records"
#define STORE_INVALID_COLS "input_idx, record_idx, line_no, message"
#define STORE_DELIVERY_COLS "id, event_id, webhook, body, attempts, next_ms"

/*
 * One result row, read by column number. text returns NULL for SQL NULL,
 * and its string lives as long as the row.
 */
struct store_row {
	void *impl;
	const char *(*text)(void *impl, int col);
	int64_t (*i64)(void *impl, int col);
	double (*f64)(void *impl, int col);
};

/*
 * The row readers fill a struct (a struct job, chunk, job_input, invalid_rec
 * or delivery, as named) from a row of the matching column list. They take
 * it as void * so that one listing loop can take any of them. Strings are
 * malloc'd and owned by the struct; one that cannot be allocated is left
 * NULL, as an absent value.
 */
typedef void store_row_read(const struct store_row *r, void *elem);
store_row_read store_row_job, store_row_chunk, store_row_input, store_row_invalid,
	store_row_delivery;

/* A statement's parameters, appended in order; text(NULL) appends SQL NULL. */
struct store_args {
	void *impl;
	void (*text)(void *impl, const char *v);
	void (*i64)(void *impl, int64_t v);
	void (*f64)(void *impl, double v);
};

/*
 * store_args_job appends the STORE_JOB_NCOLS values of j in STORE_JOB_COLS
 * order; an absent account is "" and an absent invocation type InvokeModel.
 */
void store_args_job(const struct store_args *a, const struct job *j);
/* store_args_counts appends the seven counts a chunk adds, processed to throttles. */
void store_args_counts(const struct store_args *a, const struct job_counts *c);

#endif
