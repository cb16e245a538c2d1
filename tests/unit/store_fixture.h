/* store_fixture.h - the fixture of the store tests: a fresh store of either kind, and jobs to fill it. */
#ifndef BARGE_STORE_FIXTURE_H
#define BARGE_STORE_FIXTURE_H

#include "testutil.h"

#include <libpq-fe.h>
#include <unistd.h>

#include "store/store.h"

/*
 * Every function here is static inline: test_store.c and test_store_pg.c
 * include this file and each uses a part of it.
 *
 * A PostgreSQL test gets a database of its own on the server tests/run.sh
 * starts (BARGE_TEST_PG), made at setup and dropped at teardown, so that no
 * test sees another's rows. Without BARGE_TEST_PG the PostgreSQL tests fail,
 * saying how to run them: a skipped test would pass unnoticed.
 */
enum backend { BACKEND_SQLITE, BACKEND_POSTGRES };

struct fixture {
	enum backend backend;
	char dir[64];  /* a temporary directory, for both kinds */
	char db[128];  /* SQLite: the database file; PostgreSQL: the database name */
	char url[512]; /* what store_open opens */
	struct store *st;
};

/* fixture_pg_server is the test server's URL, or NULL after saying how to get one. */
static inline const char *fixture_pg_server(void)
{
	const char *url = getenv("BARGE_TEST_PG");

	if (!url || !*url) {
		fprintf(stderr, "BARGE_TEST_PG is not set: run the PostgreSQL tests through "
				"tests/run.sh, which starts a server (or start one with "
				"tests/pg.sh start DIR and export the URL it prints)\n");
		return NULL;
	}
	return url;
}

/* fixture_pg_url writes the URL of database name on the test server into out. */
static inline void fixture_pg_url(const char *server, const char *name, char *out, size_t n)
{
	const char *host = strstr(server, "://");
	size_t path = host ? (size_t)(host + 3 - server) + strcspn(host + 3, "/?") : 0;
	const char *query = strchr(server + path, '?');

	snprintf(out, n, "%.*s/%s%s", (int)path, server, name, query ? query : "");
}

/*
 * fixture_pg_connect opens a connection to database name (NULL: the one
 * the URL names) on the test server, for what a test does behind the
 * store's back; NULL after printing why it failed. The caller PQfinishes it.
 */
static inline PGconn *fixture_pg_connect(const char *name)
{
	const char *server = fixture_pg_server();
	const char *keys[] = {"dbname", name ? "dbname" : NULL, NULL};
	const char *vals[] = {server, name, NULL};
	PGconn *c;

	if (!server)
		return NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect to the test server: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* fixture_pg_sql runs one statement of the test's own on database name; 0 or -1. */
static inline int fixture_pg_sql(const char *name, const char *sql)
{
	PGconn *c = fixture_pg_connect(name);
	PGresult *r;
	int rc = -1;

	if (!c)
		return -1;
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
		rc = 0;
	else
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* fixture_pg_create makes a new, empty database on the test server, named in name. */
static inline int fixture_pg_create(char *name, size_t n)
{
	static unsigned counter;
	char sql[256];

	snprintf(name, n, "barge_test_%ld_%u", (long)getpid(),
		 __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	return fixture_pg_sql(NULL, sql);
}

/* fixture_pg_drop removes a database the test made, closing what still uses it. */
static inline void fixture_pg_drop(const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	fixture_pg_sql(NULL, sql);
}

/* fixture_open opens f->url; 0 or -1 after printing why. */
static inline int fixture_open(struct fixture *f)
{
	struct err e;

	err_init(&e);
	if (store_open(f->url, &f->st, &e)) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* fixture_new allocates a fixture with its temporary directory; NULL on failure. */
static inline struct fixture *fixture_new(enum backend backend)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->backend = backend;
	snprintf(f->dir, sizeof(f->dir), "/tmp/barge-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return NULL;
	}
	return f;
}

static inline int teardown(void **state);

/*
 * fixture_setup makes a fresh store of the given kind in *state. cmocka
 * runs no teardown after a failed setup, so a failure cleans up here.
 */
static inline int fixture_setup(void **state, enum backend backend)
{
	struct fixture *f = fixture_new(backend);
	const char *server;

	*state = f;
	if (!f)
		return -1;
	if (backend == BACKEND_SQLITE) {
		snprintf(f->db, sizeof(f->db), "%s/barge.db", f->dir);
		snprintf(f->url, sizeof(f->url), "sqlite:%s", f->db);
	} else {
		if (!(server = fixture_pg_server()) || fixture_pg_create(f->db, sizeof(f->db))) {
			f->db[0] = '\0';
			teardown(state);
			return -1;
		}
		fixture_pg_url(server, f->db, f->url, sizeof(f->url));
	}
	if (fixture_open(f)) {
		teardown(state);
		return -1;
	}
	return 0;
}

static inline int setup_sqlite(void **state)
{
	return fixture_setup(state, BACKEND_SQLITE);
}

static inline int setup_postgres(void **state)
{
	return fixture_setup(state, BACKEND_POSTGRES);
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[200];

	if (!f)
		return 0;
	store_close(f->st);
	if (f->backend == BACKEND_SQLITE) {
		for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
			snprintf(p, sizeof(p), "%s%s", f->db, suffix[i]);
			unlink(p);
		}
	} else if (f->db[0]) {
		fixture_pg_drop(f->db);
	}
	rmdir(f->dir);
	free(f);
	*state = NULL;
	return 0;
}

/* Each test of the store runs once on each kind, named after it. */
#define SQLITE_TEST(fn) {"sqlite: " #fn, fn, setup_sqlite, teardown, NULL}
#define POSTGRES_TEST(fn) {"postgres: " #fn, fn, setup_postgres, teardown, NULL}

static inline char *sdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* make_job fills j with every field set; the caller job_frees it. */
static inline void make_job(struct job *j, const char *id, const char *name, const char *account,
		     int64_t submit_ms)
{
	char arn[160];

	job_init(j);
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(arn, sizeof(arn), "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/%s",
		 id);
	j->arn = sdup(arn);
	j->name = sdup(name);
	j->account = sdup(account);
	j->model_id = sdup("anthropic.claude-3-5-sonnet-20240620-v1:0");
	j->invocation_type = sdup("Converse");
	j->status = JS_SUBMITTED;
	j->message = sdup("queued \"first\"");
	j->input_uri = sdup("file:///data/in/x.jsonl");
	j->output_uri = sdup("file:///data/out/");
	j->run_key = sdup("run-key-1");
	j->client_token = NULL;
	j->role_arn = sdup("arn:aws:iam::123456789012:role/batch");
	j->tags_json = sdup("[{\"key\":\"team\",\"value\":\"a\"}]");
	j->skip_invalid = true;
	j->timeout_hours = 72;
	j->submit_ms = submit_ms;
	j->modified_ms = submit_ms + 1;
	j->start_ms = 0;
	j->end_ms = 0;
	j->expire_ms = submit_ms + 72LL * 3600 * 1000;
	j->c.total = 11;
	j->c.processed = 12;
	j->c.success = 13;
	j->c.errors = 14;
	j->c.input_tokens = 15000000000LL;
	j->c.output_tokens = 16;
	j->c.retries = 17;
	j->c.throttles = 18;
	j->price_in = 0.003;
	j->price_out = 0.015;
	j->discount = 0.5;
}

static inline void insert(struct fixture *f, const char *id, const char *name, const char *account,
		   int64_t submit_ms)
{
	struct job j;
	struct err e;

	make_job(&j, id, name, account, submit_ms);
	err_init(&e);
	assert_ok(store_job_insert(f->st, &j, &e), &e);
	job_free(&j);
}

static inline void get(struct fixture *f, const char *id, struct job *j)
{
	struct err e;

	err_init(&e);
	job_init(j);
	assert_ok(store_job_get(f->st, id, j, &e), &e);
}

static inline enum job_status status_of(struct fixture *f, const char *id)
{
	struct job j;
	enum job_status s;

	get(f, id, &j);
	s = j.status;
	job_free(&j);
	return s;
}

static inline void set_status(struct fixture *f, const char *id, enum job_status to, int64_t now)
{
	struct err e;

	err_init(&e);
	assert_ok(store_job_set_status(f->st, id, to, NULL, now, &e), &e);
}

/* make_chunk describes chunk seq of input in covering records [first, first + n). */
static inline struct chunk make_chunk(unsigned seq, unsigned input, int64_t first, int64_t n)
{
	struct chunk c;

	memset(&c, 0, sizeof(c));
	c.seq = seq;
	c.input_idx = input;
	c.first_record = first;
	c.nrecords = n;
	c.start_off = (uint64_t)first * 100 + 3;
	c.end_off = (uint64_t)(first + n) * 100 + 3;
	c.first_line = (uint64_t)first + 1;
	return c;
}

/* validate_job records n chunks of 10 records in input 0 and total n * 10. */
static inline void validate_job(struct fixture *f, const char *id, unsigned n)
{
	struct chunk *ch = calloc(n ? n : 1, sizeof(*ch));
	struct job_input in;
	struct err e;

	assert_non_null(ch);
	for (unsigned i = 0; i < n; i++)
		ch[i] = make_chunk(i, 0, (int64_t)i * 10, 10);
	memset(&in, 0, sizeof(in));
	in.idx = 0;
	in.uri = (char *)"file:///in/a.jsonl";
	in.name = (char *)"a.jsonl";
	in.size = 12345;
	snprintf(in.etag, sizeof(in.etag), "1700000000.000000000-12345");
	in.records = (int64_t)n * 10;
	err_init(&e);
	assert_ok(store_job_validated(f->st, id, &in, 1, ch, n, NULL, 0, (int64_t)n * 10, 500, &e),
		  &e);
	free(ch);
	/* Only a job in progress hands out chunks. */
	assert_ok(store_job_set_status(f->st, id, JS_IN_PROGRESS, NULL, 501, &e), &e);
}

static inline void new_validated_job(struct fixture *f, const char *id, unsigned nchunks)
{
	insert(f, id, "n", "", 100);
	set_status(f, id, JS_VALIDATING, 200);
	validate_job(f, id, nchunks);
}

/* lease_of finds chunk seq of job id in a listing, for its lease. */
static inline struct chunk lease_of(struct fixture *f, const char *id, unsigned seq)
{
	struct chunk *gc, c;
	size_t n;
	struct err e;

	err_init(&e);
	assert_ok(store_chunks_list(f->st, id, &gc, &n, &e), &e);
	assert_true(seq < n);
	c = gc[seq];
	free(gc);
	return c;
}

#endif
