/* postgres.c - the shared store: one PostgreSQL database for many processes, through libpq. */
#include "store/store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/*
 * One struct store serves every thread of a process: API threads, the
 * lifecycle thread and the runner threads. A single connection behind a
 * mutex would make each of them wait for the others' network round trips
 * (a runner committing a chunk would hold up a GET of the API), so the
 * store keeps a small pool instead. It is capped at PG_POOL_MAX because
 * every worker process adds its own pool and the server's max_connections
 * is shared by all of them; connections are opened only when the threads
 * actually need them at once, so a quiet process holds one.
 */
#define PG_POOL_MAX 4

/* A job row has 32 columns, the most any statement binds. */
#define PG_PARAMS_MAX 40

/*
 * The key of the advisory lock that serialises migrations: processes that
 * open one database at the same time migrate it one after the other.
 */
#define PG_MIGRATE_LOCK "7017857263311716929"

struct pg_store {
	struct store base;
	char *url;                 /* as given, password included: only for libpq */
	char *secret;              /* the password libpq reads in url, or NULL */
	char name[512];            /* the URL without password and options, for messages */
	pthread_mutex_t lock;      /* guards conn and busy */
	pthread_cond_t returned;   /* a connection went back to the pool */
	PGconn *conn[PG_POOL_MAX]; /* NULL: not opened yet, or dropped after a failure */
	bool busy[PG_POOL_MAX];    /* lent to a thread (or being opened for one) */
};

/*
 * Migrations, applied in order; barge_schema holds how many ran. They are
 * sqlite.c's, translated: BIGINT for 64-bit numbers, DOUBLE PRECISION for
 * prices, BIGSERIAL for the delivery ids, and ids compared byte by byte
 * (COLLATE "C") so that listings come out in SQLite's order. jobs.rowid
 * stands for SQLite's implicit rowid: the order of insertion. Never edit a
 * released entry: add a new one, to both stores.
 */
static const char *const migrations[] = {
	"CREATE TABLE jobs ("
	" id TEXT COLLATE \"C\" PRIMARY KEY, arn TEXT NOT NULL, name TEXT NOT NULL,"
	" account TEXT NOT NULL DEFAULT '', model_id TEXT NOT NULL,"
	" invocation_type TEXT NOT NULL DEFAULT 'InvokeModel', status INTEGER NOT NULL,"
	" message TEXT, input_uri TEXT NOT NULL, output_uri TEXT NOT NULL, run_key TEXT,"
	" client_token TEXT, role_arn TEXT, tags_json TEXT,"
	" skip_invalid INTEGER NOT NULL DEFAULT 0, timeout_hours INTEGER NOT NULL DEFAULT 24,"
	" submit_ms BIGINT NOT NULL, modified_ms BIGINT NOT NULL,"
	" start_ms BIGINT NOT NULL DEFAULT 0, end_ms BIGINT NOT NULL DEFAULT 0,"
	" expire_ms BIGINT NOT NULL DEFAULT 0,"
	" total BIGINT NOT NULL DEFAULT 0, processed BIGINT NOT NULL DEFAULT 0,"
	" success BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0,"
	" input_tokens BIGINT NOT NULL DEFAULT 0, output_tokens BIGINT NOT NULL DEFAULT 0,"
	" retries BIGINT NOT NULL DEFAULT 0, throttles BIGINT NOT NULL DEFAULT 0,"
	" price_in DOUBLE PRECISION NOT NULL DEFAULT 0,"
	" price_out DOUBLE PRECISION NOT NULL DEFAULT 0,"
	" discount DOUBLE PRECISION NOT NULL DEFAULT 0.5,"
	" rowid BIGINT GENERATED ALWAYS AS IDENTITY);"
	"CREATE INDEX jobs_run_key ON jobs(run_key);"
	"CREATE INDEX jobs_account_submit ON jobs(account, submit_ms);"
	"CREATE UNIQUE INDEX jobs_client_token ON jobs(account, client_token)"
	" WHERE client_token IS NOT NULL;"
	"CREATE TABLE job_inputs ("
	" job_id TEXT COLLATE \"C\" NOT NULL, idx INTEGER NOT NULL, uri TEXT NOT NULL,"
	" name TEXT NOT NULL, size BIGINT NOT NULL, etag TEXT NOT NULL, records BIGINT NOT NULL,"
	" PRIMARY KEY (job_id, idx));"
	"CREATE TABLE chunks ("
	" job_id TEXT COLLATE \"C\" NOT NULL, seq INTEGER NOT NULL, input_idx INTEGER NOT NULL,"
	" first_record BIGINT NOT NULL, nrecords BIGINT NOT NULL,"
	" start_off BIGINT NOT NULL, end_off BIGINT NOT NULL, first_line BIGINT NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0, lease_owner TEXT,"
	" lease_expires_ms BIGINT NOT NULL DEFAULT 0,"
	" processed BIGINT NOT NULL DEFAULT 0, success BIGINT NOT NULL DEFAULT 0,"
	" errors BIGINT NOT NULL DEFAULT 0, input_tokens BIGINT NOT NULL DEFAULT 0,"
	" output_tokens BIGINT NOT NULL DEFAULT 0, retries BIGINT NOT NULL DEFAULT 0,"
	" throttles BIGINT NOT NULL DEFAULT 0,"
	" PRIMARY KEY (job_id, seq));"
	"CREATE INDEX chunks_state ON chunks(job_id, state, seq);"
	"CREATE TABLE invalid_records ("
	" job_id TEXT COLLATE \"C\" NOT NULL, input_idx INTEGER NOT NULL,"
	" record_idx BIGINT NOT NULL, line_no BIGINT NOT NULL, message TEXT NOT NULL,"
	" PRIMARY KEY (job_id, input_idx, record_idx));",
	/* 2: webhook deliveries, durable across restarts. */
	"CREATE TABLE deliveries ("
	" id BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, webhook TEXT NOT NULL,"
	" body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_ms BIGINT NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT);"
	"CREATE INDEX deliveries_due ON deliveries(done, next_ms);",
	/* 3: the leases of one runner (renew) and the leases that ran out (expire). */
	"CREATE INDEX chunks_lease_owner ON chunks(lease_owner) WHERE state = 1;"
	"CREATE INDEX chunks_lease_expiry ON chunks(lease_expires_ms) WHERE state = 1;",
};

static struct pg_store *P(struct store *st)
{
	return (struct pg_store *)st;
}

/* flatten copies a libpq message into out on one line: no newlines, tabs or trailing blanks. */
static void flatten(const char *msg, char *out, size_t n)
{
	size_t len = 0;

	for (const char *p = msg ? msg : ""; *p && len + 1 < n; p++) {
		char ch = (*p == '\n' || *p == '\t') ? ' ' : *p;

		if (ch == ' ' && (len == 0 || out[len - 1] == ' '))
			continue;
		out[len++] = ch;
	}
	while (len && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
}

/*
 * scrub replaces every occurrence of the store's password in msg with
 * "***". libpq's messages quote hosts and values it could not use, which
 * could hold a password the URL misplaced. A password shorter than 4 bytes
 * is left alone: it would match ordinary words of the message.
 */
static void scrub(const struct pg_store *s, char *msg)
{
	size_t len = s->secret ? strlen(s->secret) : 0;
	char *p;

	if (len < 4)
		return;
	while ((p = strstr(msg, s->secret))) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + len, strlen(p + len) + 1);
	}
}

/*
 * pg_fail turns a failed statement (res may be NULL) into an error naming
 * the database and what failed. A lost connection, a server that is out of
 * resources or shutting down, and a transaction the server aborted to
 * break a deadlock are ERR_IO: trying again later may work. Anything else
 * is a statement barge got wrong, ERR_INTERNAL, as in sqlite.c.
 */
static int pg_fail(struct pg_store *s, PGconn *c, const PGresult *res, const char *what,
		   struct err *e)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[512];

	flatten(primary ? primary : PQerrorMessage(c), msg, sizeof(msg));
	scrub(s, msg);
	if (PQstatus(c) != CONNECTION_OK || (state && (!strncmp(state, "08", 2) ||
						       !strncmp(state, "57P", 3))))
		return err_set(e, ERR_IO,
			       "state database %s: %s: the connection was lost (%s); the next "
			       "call reconnects",
			       s->name, what, msg);
	/* No SQLSTATE: libpq itself failed (out of memory, a protocol error). */
	if (!state)
		return err_set(e, ERR_IO, "state database %s: %s: %s", s->name, what, msg);
	if (!strncmp(state, "53", 2) || !strncmp(state, "40", 2) || !strncmp(state, "58", 2) ||
	    !strcmp(state, "57014"))
		return err_set(e, ERR_IO, "state database %s: %s: %s (SQLSTATE %s)", s->name, what,
			       msg, state);
	/* A privilege the database's administrator can grant: not barge's bug. */
	if (!strcmp(state, "42501"))
		return err_set(e, ERR_AUTH,
			       "state database %s: %s: %s (SQLSTATE %s): barge's database user must "
			       "be able to read and write its tables (SELECT, INSERT, UPDATE and "
			       "DELETE on them, USAGE on their sequences), and to create them in a "
			       "new database",
			       s->name, what, msg, state);
	return err_set(e, ERR_INTERNAL, "state database %s: %s: %s (SQLSTATE %s)", s->name, what,
		       msg, state);
}

/* PostgreSQL's notices ("already exists, skipping") are not the user's business. */
static void pg_ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * pg_connect opens one connection into *out (the caller PQfinishes it):
 * ERR_IO when the server cannot be reached or refuses the login, nothing
 * left open. libpq's messages name the host and port, never the password.
 */
static int pg_connect(struct pg_store *s, PGconn **out, struct err *e)
{
	/* The URL comes last: what it says overrides these defaults. */
	static const char *const keys[] = {"application_name", "connect_timeout",
					   "client_encoding", "dbname", NULL};
	const char *vals[] = {"barge", "10", "UTF8", s->url, NULL};
	char msg[512];
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	*out = NULL;
	if (!c)
		return err_set(e, ERR_NOMEM, "out of memory connecting to state database %s",
			       s->name);
	if (PQstatus(c) != CONNECTION_OK) {
		flatten(PQerrorMessage(c), msg, sizeof(msg));
		scrub(s, msg);
		PQfinish(c);
		return err_set(e, ERR_IO, "cannot connect to state database %s: %s", s->name, msg);
	}
	PQsetNoticeProcessor(c, pg_ignore_notice, NULL);
	*out = c;
	return 0;
}

/*
 * pg_get lends the calling thread a connection: an idle one, else a new one
 * while fewer than PG_POOL_MAX are open, else the next one returned. The
 * caller gives it back with pg_put. ERR_IO (nothing lent) when a new
 * connection cannot be opened.
 */
static int pg_get(struct pg_store *s, PGconn **out, struct err *e)
{
	int slot = -1, rc;
	PGconn *c;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		for (int i = 0; i < PG_POOL_MAX && slot < 0; i++)
			if (s->conn[i] && !s->busy[i])
				slot = i;
		for (int i = 0; i < PG_POOL_MAX && slot < 0; i++)
			if (!s->conn[i] && !s->busy[i])
				slot = i;
		if (slot >= 0)
			break;
		pthread_cond_wait(&s->returned, &s->lock);
	}
	s->busy[slot] = true;
	c = s->conn[slot];
	pthread_mutex_unlock(&s->lock);
	if (!c) {
		/* Connecting takes round trips (or a timeout): not under the lock. */
		rc = pg_connect(s, &c, e);
		pthread_mutex_lock(&s->lock);
		s->conn[slot] = c;
		if (rc) {
			s->busy[slot] = false;
			pthread_cond_signal(&s->returned);
		}
		pthread_mutex_unlock(&s->lock);
		if (rc)
			return rc;
	}
	*out = c;
	return 0;
}

/*
 * pg_put takes back a connection pg_get lent. One that broke is closed, and
 * so are the idle ones: a server restart broke them too, and the next call
 * should open a fresh connection rather than fail on a stale one. One left
 * inside a transaction (which no call does on purpose) is closed as well,
 * so that the server rolls it back.
 */
static void pg_put(struct pg_store *s, PGconn *c)
{
	bool broken = PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < PG_POOL_MAX; i++) {
		if (s->conn[i] == c) {
			s->busy[i] = false;
			if (broken)
				s->conn[i] = NULL;
		} else if (broken && s->conn[i] && !s->busy[i]) {
			PQfinish(s->conn[i]);
			s->conn[i] = NULL;
		}
	}
	pthread_cond_signal(&s->returned);
	pthread_mutex_unlock(&s->lock);
	if (broken)
		PQfinish(c);
}

/* The parameters of one statement in text form, as PQexecParams takes them. */
struct pg_args {
	int n;
	bool overflow;
	const char *v[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][32];
};

/* args_next is the number of the next parameter, or -1 (marking a) when a is full. */
static int args_next(struct pg_args *a)
{
	if (a->n >= PG_PARAMS_MAX) {
		a->overflow = true;
		return -1;
	}
	return a->n++;
}

static void args_text(void *impl, const char *v)
{
	struct pg_args *a = impl;
	int i = args_next(a);

	if (i >= 0)
		a->v[i] = v;
}

static void args_i64(void *impl, int64_t v)
{
	struct pg_args *a = impl;
	int i = args_next(a);

	if (i >= 0) {
		snprintf(a->num[i], sizeof(a->num[i]), "%" PRId64, v);
		a->v[i] = a->num[i];
	}
}

/* 17 significant digits give back the same double: prices survive the trip. */
static void args_f64(void *impl, double v)
{
	struct pg_args *a = impl;
	int i = args_next(a);

	if (i >= 0) {
		snprintf(a->num[i], sizeof(a->num[i]), "%.17g", v);
		a->v[i] = a->num[i];
	}
}

/* args_job appends the columns of j, as store.c lists them. */
static void args_job(struct pg_args *a, const struct job *j)
{
	struct store_args sa = {a, args_text, args_i64, args_f64};

	store_args_job(&sa, j);
}

/* args_counts appends the seven counts a chunk adds. */
static void args_counts(struct pg_args *a, const struct job_counts *c)
{
	struct store_args sa = {a, args_text, args_i64, args_f64};

	store_args_counts(&sa, c);
}

/* A row of a result, for the shared row readers of store.c. */
struct pg_row {
	const PGresult *res;
	int row;
};

static const char *row_text(void *impl, int col)
{
	struct pg_row *p = impl;

	return PQgetisnull(p->res, p->row, col) ? NULL : PQgetvalue(p->res, p->row, col);
}

/* Sums come back as numeric ("123"): strtoll reads them as it reads bigint. */
static int64_t row_i64(void *impl, int col)
{
	struct pg_row *p = impl;

	return strtoll(PQgetvalue(p->res, p->row, col), NULL, 10);
}

static double row_f64(void *impl, int col)
{
	struct pg_row *p = impl;

	return strtod(PQgetvalue(p->res, p->row, col), NULL);
}

static struct store_row row_of(struct pg_row *p)
{
	return (struct store_row){p, row_text, row_i64, row_f64};
}

/*
 * pg_exec runs sql with a's parameters (a may be NULL) on c. On success
 * the caller owns *res and PQclears it (res NULL: nothing to read, it is
 * cleared here). On failure e says which database and what failed, and
 * nothing is left to free.
 */
static int pg_exec(struct pg_store *s, PGconn *c, const char *sql, const struct pg_args *a,
		   const char *what, PGresult **res, struct err *e)
{
	PGresult *r;
	ExecStatusType status;
	int rc;

	if (a && a->overflow)
		return err_set(e, ERR_INTERNAL, "state database %s: %s: more than %d parameters",
			       s->name, what, PG_PARAMS_MAX);
	r = PQexecParams(c, sql, a ? a->n : 0, NULL, a ? a->v : NULL, NULL, NULL, 0);
	status = PQresultStatus(r);
	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return 0;
	}
	rc = pg_fail(s, c, r, what, e);
	PQclear(r);
	return rc;
}

/*
 * pg_query runs one statement on a connection of the pool, as its own
 * transaction. The caller owns *res (when res is not NULL) on success.
 */
static int pg_query(struct pg_store *s, const char *sql, const struct pg_args *a,
		    const char *what, PGresult **res, struct err *e)
{
	PGconn *c;
	int rc;

	if ((rc = pg_get(s, &c, e)))
		return rc;
	rc = pg_exec(s, c, sql, a, what, res, e);
	pg_put(s, c);
	return rc;
}

/* pg_rows is how many rows a statement changed. */
static int64_t pg_rows(PGresult *res)
{
	return strtoll(PQcmdTuples(res), NULL, 10);
}

/* pg_change runs one statement and returns how many rows it changed in *n (may be NULL). */
static int pg_change(struct pg_store *s, PGconn *c, const char *sql, const struct pg_args *a,
		     const char *what, int64_t *n, struct err *e)
{
	PGresult *res = NULL;
	int rc = pg_exec(s, c, sql, a, what, &res, e);

	if (!rc && n)
		*n = pg_rows(res);
	PQclear(res);
	return rc;
}

static int pg_begin(struct pg_store *s, PGconn *c, struct err *e)
{
	return pg_exec(s, c, "BEGIN", NULL, "begin a transaction", NULL, e);
}

static int pg_commit(struct pg_store *s, PGconn *c, struct err *e)
{
	return pg_exec(s, c, "COMMIT", NULL, "commit", NULL, e);
}

/* pg_rollback ends a failed transaction; on a lost connection pg_put cleans up instead. */
static void pg_rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

/*
 * pg_list runs sql and reads every row with read into a new array of
 * elements of size bytes. The caller owns *out (NULL when there are no
 * rows) and frees it with the function of its type; on failure *out is
 * NULL and *n 0.
 */
static int pg_list(struct pg_store *s, const char *sql, const struct pg_args *a, size_t size,
		   store_row_read *read, void **out, size_t *n, const char *what, struct err *e)
{
	PGresult *res = NULL;
	char *v = NULL;
	int rc, rows;

	*out = NULL;
	*n = 0;
	if ((rc = pg_query(s, sql, a, what, &res, e)))
		return rc;
	rows = PQntuples(res);
	if (rows > 0 && !(v = calloc((size_t)rows, size))) {
		PQclear(res);
		return err_set(e, ERR_NOMEM, "out of memory reading %s", what);
	}
	for (int i = 0; i < rows; i++) {
		struct pg_row pr = {res, i};
		struct store_row r = row_of(&pr);

		read(&r, v + (size_t)i * size);
	}
	PQclear(res);
	*out = v;
	*n = (size_t)rows;
	return 0;
}

/* pg_job_one reads the one job sql finds into out; ERR_NOTFOUND, naming what, when none. */
static int pg_job_one(struct pg_store *s, const char *sql, const struct pg_args *a,
		      struct job *out, const char *what, struct err *e)
{
	PGresult *res = NULL;
	int rc;

	if ((rc = pg_query(s, sql, a, what, &res, e)))
		return rc;
	if (PQntuples(res) > 0) {
		struct pg_row pr = {res, 0};
		struct store_row r = row_of(&pr);

		store_row_job(&r, out);
	} else {
		rc = err_set(e, ERR_NOTFOUND, "%s not found", what);
	}
	PQclear(res);
	return rc;
}

static void pg_close(struct store *st)
{
	struct pg_store *s = P(st);

	for (int i = 0; i < PG_POOL_MAX; i++)
		if (s->conn[i])
			PQfinish(s->conn[i]);
	pthread_cond_destroy(&s->returned);
	pthread_mutex_destroy(&s->lock);
	free(s->url);
	free(s->secret);
	free(s);
}

static int pg_job_insert(struct store *st, const struct job *j, struct err *e)
{
	struct pg_store *s = P(st);
	struct pg_args a = {.n = 0};
	PGresult *res;
	PGconn *c;
	const char *state, *constraint;
	int rc;

	args_job(&a, j);
	if ((rc = pg_get(s, &c, e)))
		return rc;
	res = PQexecParams(c, "INSERT INTO jobs (" STORE_JOB_COLS ") VALUES ($1, $2, $3, $4, $5,"
			   " $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
			   " $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)",
			   a.n, NULL, a.v, NULL, NULL, 0);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = 0;
	else if (state && !strcmp(state, "23505") && constraint &&
		 !strcmp(constraint, "jobs_client_token"))
		rc = err_set(e, ERR_CONFLICT, "a job with client request token \"%s\" already exists",
			     j->client_token ? j->client_token : "");
	else if (state && !strcmp(state, "23505"))
		rc = err_set(e, ERR_CONFLICT, "job %s already exists", j->id);
	else
		rc = pg_fail(s, c, res, "insert job", e);
	PQclear(res);
	pg_put(s, c);
	return rc;
}

static int pg_job_get(struct store *st, const char *id, struct job *out, struct err *e)
{
	struct pg_args a = {.n = 0};
	char what[64];

	args_text(&a, id);
	snprintf(what, sizeof(what), "job %.20s", id);
	return pg_job_one(P(st), "SELECT " STORE_JOB_COLS " FROM jobs WHERE id = $1", &a, out,
			  what, e);
}

static int pg_job_find_run(struct store *st, const char *run_key, struct job *out,
			   struct err *e)
{
	struct pg_args a = {.n = 0};

	args_text(&a, run_key);
	return pg_job_one(P(st), "SELECT " STORE_JOB_COLS " FROM jobs WHERE run_key = $1"
				 " ORDER BY submit_ms DESC, rowid DESC LIMIT 1",
			  &a, out, "a job for this command", e);
}

/*
 * pg_job_set_status locks the job's row while it checks the transition,
 * so that two processes changing one job's status at once are checked one
 * after the other, each against what the other left.
 */
static int pg_job_set_status(struct store *st, const char *id, enum job_status to,
			     const char *message, int64_t now_ms, struct err *e)
{
	struct pg_store *s = P(st);
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	enum job_status from;
	PGconn *c;
	int rc;

	if ((rc = pg_get(s, &c, e)))
		return rc;
	args_text(&a, id);
	if ((rc = pg_begin(s, c, e)) ||
	    (rc = pg_exec(s, c, "SELECT status FROM jobs WHERE id = $1 FOR UPDATE", &a,
			  "read job status", &res, e)))
		goto out;
	if (PQntuples(res) == 0) {
		rc = err_set(e, ERR_NOTFOUND, "job %.20s not found", id);
		goto out;
	}
	from = (enum job_status)atoi(PQgetvalue(res, 0, 0));
	if (from != to && !job_transition_ok(from, to)) {
		rc = err_set(e, ERR_CONFLICT, "job %s is %s and cannot become %s", id,
			     job_status_name(from), job_status_name(to));
		goto out;
	}
	a.n = 0;
	args_i64(&a, to);
	args_i64(&a, now_ms);
	args_text(&a, message);
	args_text(&a, job_status_terminal(to) ? "true" : "false");
	args_text(&a, id);
	if ((rc = pg_exec(s, c, "UPDATE jobs SET status = $1::integer, modified_ms = $2::bigint,"
				" message = COALESCE($3::text, message),"
				" start_ms = CASE WHEN $1::integer = 3 AND start_ms = 0"
				"  THEN $2::bigint ELSE start_ms END,"
				" end_ms = CASE WHEN $4::boolean THEN $2::bigint ELSE 0 END"
				" WHERE id = $5", &a, "update job status", NULL, e)))
		goto out;
	rc = pg_commit(s, c, e);
out:
	PQclear(res);
	if (rc)
		pg_rollback(c);
	pg_put(s, c);
	return rc;
}

/*
 * A column of values sent as one array parameter ({1,2} or {"a","b"}), so
 * that a validation's rows go in one statement a table rather than one
 * round trip a row. The buffer's cap makes an absurd validation fail with
 * ERR_LIMIT rather than exhaust memory.
 */
static void col_sep(struct buf *b)
{
	buf_putc(b, b->len ? ',' : '{');
}

static void col_i64(struct buf *b, int64_t v)
{
	col_sep(b);
	buf_put_i64(b, v);
}

/* In an array's text form, a quoted element escapes '"' and '\' with a backslash. */
static void col_text(struct buf *b, const char *v)
{
	col_sep(b);
	buf_putc(b, '"');
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

/*
 * pg_insert_cols runs sql with the job id as $1 and the ncols arrays of
 * cols as $2 on, then empties cols for the next table.
 */
static int pg_insert_cols(struct pg_store *s, PGconn *c, const char *sql, const char *id,
			  struct buf *cols, int ncols, const char *what, struct err *e)
{
	struct pg_args a = {.n = 0};
	int rc = 0;

	args_text(&a, id);
	for (int i = 0; i < ncols; i++) {
		if (!cols[i].len)
			buf_putc(&cols[i], '{');
		buf_putc(&cols[i], '}');
		if (cols[i].err && !rc)
			rc = err_set(e, cols[i].err, "state database %s: %s: too much to send at once",
				     s->name, what);
		args_text(&a, cols[i].data);
	}
	if (!rc)
		rc = pg_exec(s, c, sql, &a, what, NULL, e);
	for (int i = 0; i < ncols; i++)
		buf_reset(&cols[i]);
	return rc;
}

/*
 * pg_job_validated replaces the job's inputs, chunks and invalid records in
 * one transaction. It locks the job's chunks in seq order first, the order
 * every statement that changes several chunks locks them in, so that two
 * such transactions never wait for each other in a circle.
 */
static int pg_job_validated(struct store *st, const char *id, const struct job_input *in,
			    size_t n_in, const struct chunk *ch, size_t n_ch,
			    const struct invalid_rec *inv, size_t n_inv, int64_t total,
			    int64_t now_ms, struct err *e)
{
	struct pg_store *s = P(st);
	struct pg_args a = {.n = 0};
	struct buf cols[7];
	int64_t changed = 0;
	PGconn *c;
	int rc;

	if ((rc = pg_get(s, &c, e)))
		return rc;
	/* The columns allocate only when the first value is added. */
	for (int i = 0; i < 7; i++)
		buf_init(&cols[i], BUF_DEFAULT_MAX);
	args_text(&a, id);
	if ((rc = pg_begin(s, c, e)) ||
	    (rc = pg_exec(s, c, "SELECT 1 FROM chunks WHERE job_id = $1 ORDER BY seq FOR UPDATE",
			  &a, "lock chunks", NULL, e)) ||
	    (rc = pg_exec(s, c, "DELETE FROM job_inputs WHERE job_id = $1", &a, "clear inputs",
			  NULL, e)) ||
	    (rc = pg_exec(s, c, "DELETE FROM chunks WHERE job_id = $1", &a, "clear chunks", NULL,
			  e)) ||
	    (rc = pg_exec(s, c, "DELETE FROM invalid_records WHERE job_id = $1", &a,
			  "clear invalid records", NULL, e)))
		goto out;
	for (size_t i = 0; i < n_inv; i++) {
		col_i64(&cols[0], inv[i].input_idx);
		col_i64(&cols[1], inv[i].record_idx);
		col_i64(&cols[2], (int64_t)inv[i].line_no);
		col_text(&cols[3], inv[i].message);
	}
	if (n_inv && (rc = pg_insert_cols(s, c, "INSERT INTO invalid_records (job_id, input_idx,"
				     " record_idx, line_no, message) SELECT $1, * FROM"
				     " unnest($2::integer[], $3::bigint[], $4::bigint[], $5::text[])",
				     id, cols, 4, "insert invalid records", e)))
		goto out;
	for (size_t i = 0; i < n_in; i++) {
		col_i64(&cols[0], in[i].idx);
		col_text(&cols[1], in[i].uri);
		col_text(&cols[2], in[i].name);
		col_i64(&cols[3], (int64_t)in[i].size);
		col_text(&cols[4], in[i].etag);
		col_i64(&cols[5], in[i].records);
	}
	if (n_in && (rc = pg_insert_cols(s, c, "INSERT INTO job_inputs (job_id, " STORE_INPUT_COLS
				    ") SELECT $1, * FROM unnest($2::integer[], $3::text[],"
				    " $4::text[], $5::bigint[], $6::text[], $7::bigint[])",
				    id, cols, 6, "insert inputs", e)))
		goto out;
	for (size_t i = 0; i < n_ch; i++) {
		col_i64(&cols[0], ch[i].seq);
		col_i64(&cols[1], ch[i].input_idx);
		col_i64(&cols[2], ch[i].first_record);
		col_i64(&cols[3], ch[i].nrecords);
		col_i64(&cols[4], (int64_t)ch[i].start_off);
		col_i64(&cols[5], (int64_t)ch[i].end_off);
		col_i64(&cols[6], (int64_t)ch[i].first_line);
	}
	if (n_ch && (rc = pg_insert_cols(s, c, "INSERT INTO chunks (job_id, seq, input_idx,"
				    " first_record, nrecords, start_off, end_off, first_line)"
				    " SELECT $1, * FROM unnest($2::integer[], $3::integer[],"
				    " $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],"
				    " $8::bigint[])",
				    id, cols, 7, "insert chunks", e)))
		goto out;
	/*
	 * Only a job still Validating becomes Scheduled: one stopped meanwhile
	 * keeps its Stopping, with its chunks recorded all the same.
	 */
	a.n = 0;
	args_i64(&a, total);
	args_i64(&a, JS_SCHEDULED);
	args_i64(&a, now_ms);
	args_text(&a, id);
	args_i64(&a, JS_VALIDATING);
	args_i64(&a, JS_SUBMITTED);
	if ((rc = pg_change(s, c, "UPDATE jobs SET total = $1::bigint, modified_ms = $3::bigint,"
				  " status = CASE WHEN status IN ($5::integer, $6::integer)"
				  "  THEN $2::integer ELSE status END,"
				  " processed = 0, success = 0, errors = 0, input_tokens = 0,"
				  " output_tokens = 0, retries = 0, throttles = 0 WHERE id = $4",
			    &a, "update job", &changed, e)))
		goto out;
	if (changed != 1) {
		rc = err_set(e, ERR_NOTFOUND, "job %.20s not found", id);
		goto out;
	}
	rc = pg_commit(s, c, e);
out:
	if (rc)
		pg_rollback(c);
	pg_put(s, c);
	for (int i = 0; i < 7; i++)
		buf_free(&cols[i]);
	return rc;
}

static int pg_job_list(struct store *st, const struct job_filter *f, struct job **out,
		       size_t *n, struct err *e)
{
	struct pg_args a = {.n = 0};
	void *v = NULL;
	char sql[1024];
	int rc;

	/*
	 * Pagination continues after a job in (submit_ms, id) order, which is
	 * stable even when several jobs share a millisecond. Only the
	 * direction is written into the statement; every value is a parameter.
	 */
	snprintf(sql, sizeof(sql),
		 "SELECT " STORE_JOB_COLS " FROM jobs WHERE ($1::text IS NULL OR account = $1)"
		 " AND ($2::integer < 0 OR status = $2) AND ($3::text IS NULL OR strpos(name, $3) > 0)"
		 " AND ($4::bigint = 0 OR submit_ms > $4) AND ($5::bigint = 0 OR submit_ms < $5)"
		 " AND ($6::text IS NULL OR model_id = $6)"
		 " AND ($7::text IS NULL OR (submit_ms, id) %s"
		 "  (SELECT submit_ms, id FROM jobs WHERE id = $7))"
		 " ORDER BY submit_ms %s, id %s LIMIT $8::bigint",
		 f->ascending ? ">" : "<", f->ascending ? "ASC" : "DESC",
		 f->ascending ? "ASC" : "DESC");
	args_text(&a, f->account);
	args_i64(&a, f->status);
	args_text(&a, f->name_contains);
	args_i64(&a, f->submit_after_ms);
	args_i64(&a, f->submit_before_ms);
	args_text(&a, f->model_id);
	args_text(&a, f->after_id);
	/* LIMIT NULL is no limit. */
	if (f->limit)
		args_i64(&a, (int64_t)f->limit);
	else
		args_text(&a, NULL);
	rc = pg_list(P(st), sql, &a, sizeof(struct job), store_row_job, &v, n, "jobs", e);
	*out = v;
	return rc;
}

static int pg_inputs_get(struct store *st, const char *job_id, struct job_input **out,
			 size_t *n, struct err *e)
{
	struct pg_args a = {.n = 0};
	void *v = NULL;
	int rc;

	args_text(&a, job_id);
	rc = pg_list(P(st), "SELECT " STORE_INPUT_COLS " FROM job_inputs WHERE job_id = $1"
			    " ORDER BY idx",
		     &a, sizeof(struct job_input), store_row_input, &v, n, "inputs", e);
	*out = v;
	return rc;
}

static int pg_chunks_list(struct store *st, const char *job_id, struct chunk **out,
			  size_t *n, struct err *e)
{
	struct pg_args a = {.n = 0};
	void *v = NULL;
	int rc;

	args_text(&a, job_id);
	rc = pg_list(P(st), "SELECT " STORE_CHUNK_COLS " FROM chunks WHERE job_id = $1 ORDER BY seq",
		     &a, sizeof(struct chunk), store_row_chunk, &v, n, "chunks", e);
	*out = v;
	return rc;
}

static int pg_invalid_list(struct store *st, const char *job_id, unsigned input_idx,
			   int64_t first_record, int64_t nrecords, struct invalid_rec **out,
			   size_t *n, struct err *e)
{
	struct pg_args a = {.n = 0};
	void *v = NULL;
	int rc;

	args_text(&a, job_id);
	args_i64(&a, input_idx);
	args_i64(&a, first_record);
	args_i64(&a, first_record + nrecords);
	rc = pg_list(P(st), "SELECT " STORE_INVALID_COLS " FROM invalid_records"
			    " WHERE job_id = $1 AND input_idx = $2::integer"
			    " AND record_idx >= $3::bigint AND record_idx < $4::bigint"
			    " ORDER BY record_idx",
		     &a, sizeof(struct invalid_rec), store_row_invalid, &v, n, "invalid records", e);
	*out = v;
	return rc;
}

/*
 * pg_chunk_lease picks the chunk and leases it in one statement, one
 * transaction. FOR UPDATE SKIP LOCKED makes runners of other processes,
 * leasing at the same moment, pass over the chunk this one is taking and
 * take the next: two runners never get one chunk, and none waits for
 * another. Only a job in progress hands out work: once it is stopping or
 * over, no runner may start another chunk of it.
 */
static int pg_chunk_lease(struct store *st, const char *job_id, const char *owner,
			  int64_t now_ms, int64_t ttl_ms, struct chunk *out, struct err *e)
{
	static const char sql[] =
		"UPDATE chunks SET state = 1, lease_owner = $1, lease_expires_ms = $2::bigint"
		" WHERE job_id = $3 AND seq = (SELECT seq FROM chunks WHERE job_id = $3"
		"  AND (state = 0 OR (state = 1 AND lease_expires_ms < $4::bigint))"
		"  AND (SELECT status FROM jobs WHERE id = $3) = $5::integer"
		"  ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
		" RETURNING " STORE_CHUNK_COLS;
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	int rc;

	args_text(&a, owner);
	args_i64(&a, now_ms + ttl_ms);
	args_text(&a, job_id);
	args_i64(&a, now_ms);
	args_i64(&a, JS_IN_PROGRESS);
	rc = pg_query(P(st), sql, &a, "lease chunk", &res, e);
	if (rc)
		return rc;
	if (PQntuples(res) > 0) {
		struct pg_row pr = {res, 0};
		struct store_row r = row_of(&pr);

		store_row_chunk(&r, out);
		rc = 1;
	}
	PQclear(res);
	return rc;
}

/*
 * pg_chunk_complete marks the chunk done only while owner holds it, and
 * adds its counts to the job in the same transaction. It locks the chunk,
 * then the job: the order of every transaction that locks both.
 */
static int pg_chunk_complete(struct store *st, const struct chunk *c, const char *owner,
			     int64_t now_ms, struct err *e)
{
	struct pg_store *s = P(st);
	struct pg_args a = {.n = 0};
	int64_t changed = 0;
	PGconn *conn;
	int rc;

	if ((rc = pg_get(s, &conn, e)))
		return rc;
	args_counts(&a, &c->c);
	args_text(&a, c->job_id);
	args_i64(&a, c->seq);
	args_text(&a, owner);
	if ((rc = pg_begin(s, conn, e)) ||
	    /* lease_owner stays: it names the runner whose part object is the chunk's. */
	    (rc = pg_change(s, conn, "UPDATE chunks SET state = 2,"
				     " processed = $1::bigint, success = $2::bigint,"
				     " errors = $3::bigint, input_tokens = $4::bigint,"
				     " output_tokens = $5::bigint, retries = $6::bigint,"
				     " throttles = $7::bigint WHERE job_id = $8 AND seq = $9::integer"
				     " AND state = 1 AND lease_owner = $10",
			    &a, "complete chunk", &changed, e)))
		goto out;
	if (changed != 1) {
		rc = err_set(e, ERR_CONFLICT, "chunk %u of job %s is no longer leased by this runner",
			     c->seq, c->job_id);
		goto out;
	}
	/*
	 * A job that has ended keeps the counts its outputs show: a late chunk
	 * adds none. The status is checked on the row this update locks, so a
	 * finalize that committed meanwhile is seen.
	 */
	a.n = 0;
	args_counts(&a, &c->c);
	args_i64(&a, now_ms);
	args_text(&a, c->job_id);
	args_i64(&a, JS_IN_PROGRESS);
	args_i64(&a, JS_STOPPING);
	if ((rc = pg_change(s, conn, "UPDATE jobs SET processed = processed + $1::bigint,"
				     " success = success + $2::bigint, errors = errors + $3::bigint,"
				     " input_tokens = input_tokens + $4::bigint,"
				     " output_tokens = output_tokens + $5::bigint,"
				     " retries = retries + $6::bigint, throttles = throttles + $7::bigint,"
				     " modified_ms = $8::bigint WHERE id = $9"
				     " AND status IN ($10::integer, $11::integer)",
			    &a, "add chunk counts", &changed, e)))
		goto out;
	if (changed != 1) {
		rc = err_set(e, ERR_CONFLICT, "job %s has ended: chunk %u is not counted", c->job_id,
			     c->seq);
		goto out;
	}
	rc = pg_commit(s, conn, e);
out:
	if (rc)
		pg_rollback(conn);
	pg_put(s, conn);
	return rc;
}

/*
 * The statements that change many chunks lock them in (job_id, seq) order
 * in a sub-select, and repeat its conditions outside: a row that changed
 * between the two no longer matches and is left alone.
 */
static int pg_chunks_release(struct store *st, const char *job_id, const char *owner,
			     struct err *e)
{
	static const char sql[] =
		"UPDATE chunks SET state = 0, lease_owner = NULL, lease_expires_ms = 0"
		" WHERE job_id = $1 AND state = 1 AND ($2::text IS NULL OR lease_owner = $2)"
		" AND seq IN (SELECT seq FROM chunks WHERE job_id = $1 AND state = 1"
		"  AND ($2::text IS NULL OR lease_owner = $2) ORDER BY seq FOR UPDATE)";
	struct pg_args a = {.n = 0};

	args_text(&a, job_id);
	args_text(&a, owner);
	return pg_query(P(st), sql, &a, "release chunks", NULL, e);
}

static int pg_leases_renew(struct store *st, const char *owner, int64_t until_ms,
			   struct err *e)
{
	static const char sql[] =
		"UPDATE chunks SET lease_expires_ms = GREATEST(lease_expires_ms, $2::bigint)"
		" WHERE state = 1 AND lease_owner = $1"
		" AND (job_id, seq) IN (SELECT job_id, seq FROM chunks"
		"  WHERE state = 1 AND lease_owner = $1 ORDER BY job_id, seq FOR UPDATE)";
	struct pg_args a = {.n = 0};

	args_text(&a, owner);
	args_i64(&a, until_ms);
	return pg_query(P(st), sql, &a, "renew leases", NULL, e);
}

/*
 * pg_leases_expire skips the chunks another transaction holds (a runner
 * completing or renewing one): the next round looks at them again.
 */
static int pg_leases_expire(struct store *st, int64_t now_ms, int64_t *released,
			    struct err *e)
{
	static const char sql[] =
		"UPDATE chunks SET state = 0, lease_owner = NULL, lease_expires_ms = 0"
		" WHERE state = 1 AND lease_expires_ms < $1::bigint"
		" AND (job_id, seq) IN (SELECT job_id, seq FROM chunks"
		"  WHERE state = 1 AND lease_expires_ms < $1::bigint"
		"  ORDER BY job_id, seq FOR UPDATE SKIP LOCKED)";
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	int rc;

	if (released)
		*released = 0;
	args_i64(&a, now_ms);
	rc = pg_query(P(st), sql, &a, "expire leases", &res, e);
	if (!rc && released)
		*released = pg_rows(res);
	PQclear(res);
	return rc;
}

static int pg_chunk_counts(struct store *st, const char *job_id, struct chunk_counts *out,
			   struct err *e)
{
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	args_text(&a, job_id);
	if ((rc = pg_query(P(st), "SELECT state, count(*) FROM chunks WHERE job_id = $1"
				  " GROUP BY state",
			   &a, "count chunks", &res, e)))
		return rc;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t n = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		switch (atoi(PQgetvalue(res, i, 0))) {
		case CHUNK_PENDING: out->pending = n; break;
		case CHUNK_LEASED: out->leased = n; break;
		default: out->done = n; break;
		}
	}
	PQclear(res);
	return 0;
}

static int pg_job_count(struct store *st, const char *account, const char *model_id,
			unsigned status_mask, int64_t *n, struct err *e)
{
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	int rc;

	*n = 0;
	args_text(&a, account);
	args_text(&a, model_id);
	args_i64(&a, status_mask);
	if ((rc = pg_query(P(st), "SELECT count(*) FROM jobs WHERE ($1::text IS NULL OR account = $1)"
				  " AND ($2::text IS NULL OR model_id = $2)"
				  " AND ((1::bigint << status) & $3::bigint) <> 0",
			   &a, "count jobs", &res, e)))
		return rc;
	*n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int pg_job_find_token(struct store *st, const char *account, const char *token,
			     struct job *out, struct err *e)
{
	struct pg_args a = {.n = 0};

	args_text(&a, account);
	args_text(&a, token);
	return pg_job_one(P(st), "SELECT " STORE_JOB_COLS " FROM jobs"
				 " WHERE account = $1 AND client_token = $2",
			  &a, out, "a job with this client request token", e);
}

/* read_sums adds the seven count columns of row i, from column first on, to c. */
static void read_sums(PGresult *res, int i, int first, struct job_counts *c)
{
	int64_t *const dst[] = {&c->processed, &c->success, &c->errors, &c->input_tokens,
				&c->output_tokens, &c->retries, &c->throttles};

	for (int k = 0; k < 7; k++)
		*dst[k] += strtoll(PQgetvalue(res, i, first + k), NULL, 10);
}

static int pg_status_counts(struct store *st, int64_t counts[JS__COUNT],
			    struct job_counts *sum, struct err *e)
{
	PGresult *res = NULL;
	int rc;

	memset(counts, 0, sizeof(int64_t) * JS__COUNT);
	memset(sum, 0, sizeof(*sum));
	if ((rc = pg_query(P(st), "SELECT status, count(*), sum(total), sum(processed), sum(success),"
				  " sum(errors), sum(input_tokens), sum(output_tokens), sum(retries),"
				  " sum(throttles) FROM jobs GROUP BY status",
			   NULL, "count jobs", &res, e)))
		return rc;
	for (int i = 0; i < PQntuples(res); i++) {
		int status = atoi(PQgetvalue(res, i, 0));

		if (status >= 0 && status < JS__COUNT)
			counts[status] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		sum->total += strtoll(PQgetvalue(res, i, 2), NULL, 10);
		read_sums(res, i, 3, sum);
	}
	PQclear(res);
	return 0;
}

static int pg_chunk_progress(struct store *st, const struct chunk *c, const char *owner,
			     struct err *e)
{
	struct pg_args a = {.n = 0};

	args_counts(&a, &c->c);
	args_text(&a, c->job_id);
	args_i64(&a, c->seq);
	args_text(&a, owner);
	return pg_query(P(st), "UPDATE chunks SET processed = $1::bigint, success = $2::bigint,"
			       " errors = $3::bigint, input_tokens = $4::bigint,"
			       " output_tokens = $5::bigint, retries = $6::bigint,"
			       " throttles = $7::bigint WHERE job_id = $8 AND seq = $9::integer"
			       " AND state = 1 AND lease_owner = $10",
			&a, "record chunk progress", NULL, e);
}

static int pg_job_live(struct store *st, const char *job_id, struct job_counts *out,
		       struct err *e)
{
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	args_text(&a, job_id);
	if ((rc = pg_query(P(st), "SELECT coalesce(sum(processed), 0), coalesce(sum(success), 0),"
				  " coalesce(sum(errors), 0), coalesce(sum(input_tokens), 0),"
				  " coalesce(sum(output_tokens), 0), coalesce(sum(retries), 0),"
				  " coalesce(sum(throttles), 0) FROM chunks"
				  " WHERE job_id = $1 AND state = 1",
			   &a, "sum chunk progress", &res, e)))
		return rc;
	read_sums(res, 0, 0, out);
	PQclear(res);
	return 0;
}

static int pg_job_set_counts(struct store *st, const char *job_id, const struct job_counts *c,
			     struct err *e)
{
	struct pg_args a = {.n = 0};

	args_counts(&a, c);
	args_text(&a, job_id);
	return pg_query(P(st), "UPDATE jobs SET processed = $1::bigint, success = $2::bigint,"
			       " errors = $3::bigint, input_tokens = $4::bigint,"
			       " output_tokens = $5::bigint, retries = $6::bigint,"
			       " throttles = $7::bigint WHERE id = $8",
			&a, "set job counts", NULL, e);
}

static int pg_delivery_add(struct store *st, const struct delivery *d, struct err *e)
{
	struct pg_args a = {.n = 0};

	args_text(&a, d->event_id);
	args_text(&a, d->webhook);
	args_text(&a, d->body);
	args_i64(&a, d->next_ms);
	return pg_query(P(st), "INSERT INTO deliveries (event_id, webhook, body, next_ms)"
			       " VALUES ($1, $2, $3, $4::bigint) ON CONFLICT (event_id) DO NOTHING",
			&a, "queue a webhook delivery", NULL, e);
}

static int pg_delivery_due(struct store *st, int64_t now_ms, size_t max, struct delivery **out,
			   size_t *n, struct err *e)
{
	struct pg_args a = {.n = 0};
	void *v = NULL;
	int rc;

	args_i64(&a, now_ms);
	args_i64(&a, (int64_t)max);
	rc = pg_list(P(st), "SELECT " STORE_DELIVERY_COLS " FROM deliveries"
			    " WHERE done = 0 AND next_ms <= $1::bigint ORDER BY next_ms, id"
			    " LIMIT $2::bigint",
		     &a, sizeof(struct delivery), store_row_delivery, &v, n, "webhook deliveries",
		     e);
	*out = v;
	return rc;
}

static int pg_delivery_update(struct store *st, int64_t id, bool done, int attempts,
			      int64_t next_ms, const char *last_error, struct err *e)
{
	struct pg_args a = {.n = 0};

	args_i64(&a, done);
	args_i64(&a, attempts);
	args_i64(&a, next_ms);
	args_text(&a, last_error);
	args_i64(&a, id);
	return pg_query(P(st), "UPDATE deliveries SET done = $1::integer, attempts = $2::integer,"
			       " next_ms = $3::bigint, last_error = $4 WHERE id = $5::bigint",
			&a, "record a webhook delivery", NULL, e);
}

static const struct store_ops postgres_ops = {
	.close = pg_close,
	.job_insert = pg_job_insert,
	.job_get = pg_job_get,
	.job_find_run = pg_job_find_run,
	.job_set_status = pg_job_set_status,
	.job_validated = pg_job_validated,
	.job_list = pg_job_list,
	.inputs_get = pg_inputs_get,
	.chunks_list = pg_chunks_list,
	.invalid_list = pg_invalid_list,
	.chunk_lease = pg_chunk_lease,
	.chunk_complete = pg_chunk_complete,
	.chunks_release = pg_chunks_release,
	.chunk_counts = pg_chunk_counts,
	.job_count = pg_job_count,
	.job_find_token = pg_job_find_token,
	.status_counts = pg_status_counts,
	.chunk_progress = pg_chunk_progress,
	.job_live = pg_job_live,
	.job_set_counts = pg_job_set_counts,
	.delivery_add = pg_delivery_add,
	.delivery_due = pg_delivery_due,
	.delivery_update = pg_delivery_update,
	.leases_renew = pg_leases_renew,
	.leases_expire = pg_leases_expire,
};

/*
 * pg_version reads the schema version without a lock or DDL into *have
 * (0 for a database without barge's tables).
 */
static int pg_version(struct pg_store *s, PGconn *c, int *have, struct err *e)
{
	PGresult *res = NULL;
	bool exists;
	int rc;

	*have = 0;
	if ((rc = pg_exec(s, c, "SELECT to_regclass('barge_schema') IS NOT NULL", NULL,
			  "look for the schema version", &res, e)))
		return rc;
	exists = PQntuples(res) > 0 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (!exists)
		return 0;
	if ((rc = pg_exec(s, c, "SELECT version FROM barge_schema", NULL, "read the schema version",
			  &res, e)))
		return rc;
	if (PQntuples(res) > 0)
		*have = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/*
 * pg_migrate brings the schema to the newest version in one transaction
 * (PostgreSQL's DDL is transactional: a failed step leaves the database as
 * it was). The advisory lock makes processes that open a new database at
 * the same moment migrate it one after the other; the later ones find the
 * work done. A database newer than this build, or one holding another
 * program's tables, is refused (ERR_CONFIG) and left untouched. A database
 * that is up to date is only read: a user who may read and write barge's
 * tables but not create any (the usual grant for a service) can open it.
 */
static int pg_migrate(struct pg_store *s, PGconn *c, struct err *e)
{
	int want = (int)(sizeof(migrations) / sizeof(migrations[0]));
	struct pg_args a = {.n = 0};
	PGresult *res = NULL;
	int rc, have = 0;

	if ((rc = pg_version(s, c, &have, e)))
		return rc;
	if (have == want)
		return 0;
	args_text(&a, PG_MIGRATE_LOCK);
	if ((rc = pg_begin(s, c, e)) ||
	    (rc = pg_exec(s, c, "SELECT pg_advisory_xact_lock($1::bigint)", &a,
			  "wait for other migrations", NULL, e)) ||
	    (rc = pg_exec(s, c, "CREATE TABLE IF NOT EXISTS barge_schema (version INTEGER NOT NULL)",
			  NULL, "create the schema version table", NULL, e)) ||
	    (rc = pg_exec(s, c, "SELECT version FROM barge_schema", NULL, "read the schema version",
			  &res, e)))
		goto out;
	have = 0;
	if (PQntuples(res) > 0)
		have = atoi(PQgetvalue(res, 0, 0));
	else if ((rc = pg_exec(s, c, "INSERT INTO barge_schema (version) VALUES (0)", NULL,
			       "create the schema version", NULL, e)))
		goto out;
	if (have > want) {
		rc = err_set(e, ERR_CONFIG,
			     "state database %s has schema version %d, newer than this barge "
			     "understands (%d): use a newer barge",
			     s->name, have, want);
		goto out;
	}
	for (int v = have; v < want; v++) {
		char what[64];
		PGresult *r = PQexec(c, migrations[v]);

		snprintf(what, sizeof(what), "migrate to schema version %d", v + 1);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = pg_fail(s, c, r, what, e);
			PQclear(r);
			/*
			 * A step the database refuses (it holds another program's
			 * tables of the same names) is the configuration's fault.
			 */
			if (rc == ERR_INTERNAL) {
				rc = ERR_CONFIG;
				if (e)
					e->code = rc;
			}
			goto out;
		}
		PQclear(r);
	}
	a.n = 0;
	args_i64(&a, want);
	if ((rc = pg_exec(s, c, "UPDATE barge_schema SET version = $1::integer", &a,
			  "record the schema version", NULL, e)))
		goto out;
	rc = pg_commit(s, c, e);
out:
	PQclear(res);
	if (rc)
		pg_rollback(c);
	return rc;
}

/*
 * The parts of a postgres:// URL as libpq cuts them: the authority ends at
 * the first '/', and within it the user and password end at the first '@'
 * ('?' and '#' may be part of a password). Options follow the first '?'
 * after the authority.
 */
struct pg_url_parts {
	const char *rest;     /* after "://" */
	size_t auth_len;      /* the authority: rest up to the first '/' */
	const char *at;       /* the authority's last '@', or NULL */
	int n_at;             /* how many '@' the authority holds */
};

static void url_parts(const char *url, struct pg_url_parts *u)
{
	const char *sep = strstr(url, "://");

	memset(u, 0, sizeof(*u));
	u->rest = sep ? sep + 3 : url;
	u->auth_len = strcspn(u->rest, "/");
	for (size_t i = 0; i < u->auth_len; i++) {
		if (u->rest[i] == '@') {
			u->at = u->rest + i;
			u->n_at++;
		}
	}
}

/*
 * url_misread says why libpq would not read url as its writer meant, or
 * returns NULL. A password holding a raw '/' ends the authority early
 * (libpq takes the user for the host and the rest of the password for the
 * database), one holding a raw '@' leaves part of it in the host, and
 * keyword=value settings written after "postgres://" become a host name.
 * Each would connect to the wrong place with pieces of the password in
 * libpq's messages.
 */
static const char *url_misread(const char *url)
{
	struct pg_url_parts u;
	const char *host, *path;
	size_t host_len;

	url_parts(url, &u);
	path = u.rest + u.auth_len;
	if (u.n_at > 1)
		return "its password holds an '@', which a URL writes as %40";
	if (!u.at && memchr(path, '@', strcspn(path, "?")))
		return "its password holds a '/', which a URL writes as %2F";
	host = u.at ? u.at + 1 : u.rest;
	host_len = strcspn(host, "?/");
	for (size_t i = 0; i < host_len; i++) {
		if (host[i] == '=' || host[i] == ' ')
			return "settings such as password=... go after the database, as "
			       "?key=value options";
	}
	return NULL;
}

/* redact_settings replaces the value of every password=VALUE in s with "***". */
static void redact_settings(char *s)
{
	for (char *p = s; (p = strstr(p, "password=")); ) {
		size_t v;

		p += 9;
		v = strcspn(p, " &'\"");
		if (v) {
			memmove(p + 3, p + v, strlen(p + v) + 1);
			memcpy(p, "***", 3);
		}
	}
}

/*
 * pg_name writes url as messages show it: the user, "***" for a password,
 * the hosts and the database as written, and no options (libpq takes a
 * password there too). A URL libpq would misread shows only what follows
 * its last '@', which cannot be the password.
 */
static void pg_name(const char *url, char *out, size_t n)
{
	struct pg_url_parts u;
	const char *sep = strstr(url, "://");
	int scheme = sep ? (int)(sep - url) : 0;

	url_parts(url, &u);
	if (url_misread(url)) {
		const char *last = strrchr(u.rest, '@');

		if (last)
			snprintf(out, n, "%.*s://***@%.*s", scheme, url,
				 (int)strcspn(last + 1, "?"), last + 1);
		else
			snprintf(out, n, "%.*s://***", scheme, url);
	} else if (u.at) {
		size_t user = strcspn(u.rest, ":@");
		bool pw = u.rest[user] == ':';
		const char *host = u.at + 1;

		snprintf(out, n, "%.*s://%.*s%s@%.*s", scheme, url, (int)user, u.rest,
			 pw ? ":***" : "", (int)strcspn(host, "?"), host);
	} else {
		snprintf(out, n, "%.*s://%.*s", scheme, url, (int)strcspn(u.rest, "?"), u.rest);
	}
	redact_settings(out);
}

void store_postgres_name(const char *url, char *out, size_t n)
{
	if (n)
		pg_name(url, out, n);
}

/* secret_of is a copy of the password libpq reads in a parsed URL, or NULL. */
static char *secret_of(const PQconninfoOption *opts)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		if (!strcmp(o->keyword, "password") && o->val && o->val[0])
			return strdup(o->val);
	}
	return NULL;
}

int store_postgres_open(const char *url, struct store **st, struct err *e)
{
	struct pg_store *s;
	PQconninfoOption *opts;
	const char *misread;
	char *parse_err = NULL;
	PGconn *c;
	int rc;

	*st = NULL;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->url = strdup(url))) {
		free(s);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	pg_name(url, s->name, sizeof(s->name));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->returned, NULL);
	s->base.ops = &postgres_ops;
	/*
	 * A malformed URL is the configuration's fault, not the server's.
	 * libpq's own message may quote the whole URL, password included, so
	 * only the redacted name is shown.
	 */
	opts = PQconninfoParse(url, &parse_err);
	PQfreemem(parse_err);
	if (!opts) {
		rc = err_set(e, ERR_CONFIG,
			     "store %s is not a valid PostgreSQL URL (postgres://user:password@host"
			     ":port/dbname?options)",
			     s->name);
		goto fail;
	}
	s->secret = secret_of(opts);
	PQconninfoFree(opts);
	if ((misread = url_misread(url))) {
		rc = err_set(e, ERR_CONFIG,
			     "store %s is not a PostgreSQL URL libpq reads as meant: %s "
			     "(postgres://user:password@host:port/dbname?options)",
			     s->name, misread);
		goto fail;
	}
	if ((rc = pg_get(s, &c, e)))
		goto fail;
	rc = pg_migrate(s, c, e);
	pg_put(s, c);
	if (rc)
		goto fail;
	*st = &s->base;
	return 0;
fail:
	pg_close(&s->base);
	return rc;
}
