/* test_store_pg.c - unit tests of what only the PostgreSQL store does: processes, threads, lost connections. */
#include "store_fixture.h"

#include <pthread.h>

enum { NCHUNKS = 200, MAX_THREADS = 8 };

/* One runner thread of the lease tests: what it uses and what it saw. */
struct leaser {
	struct store *st;    /* its own handle (a process of its own) or a shared one */
	const char *job_id;
	char owner[16];
	int *leased;         /* NCHUNKS counters shared by every thread */
	int n;               /* how many chunks it leased */
	int rc;              /* 0, or its first failure */
	char msg[ERR_MSG_MAX];
};

/*
 * lease_all leases and completes chunks until none is left, as a runner
 * does, counting each seq it got. No cmocka assertion runs in a thread: the
 * test checks what the threads recorded once they are joined.
 */
static void *lease_all(void *arg)
{
	struct leaser *l = arg;
	struct chunk c;
	struct err e;
	int r;

	err_init(&e);
	while ((r = store_chunk_lease(l->st, l->job_id, l->owner, 1000, 600000, &c, &e)) == 1) {
		if (c.seq < NCHUNKS)
			__atomic_add_fetch(&l->leased[c.seq], 1, __ATOMIC_SEQ_CST);
		l->n++;
		c.c.processed = c.nrecords;
		c.c.success = c.nrecords;
		c.c.input_tokens = 7;
		if ((r = store_chunk_complete(l->st, &c, l->owner, 1001, &e)))
			break;
	}
	if (r < 0) {
		l->rc = r;
		snprintf(l->msg, sizeof(l->msg), "%s", e.msg);
	}
	return NULL;
}

/*
 * run_leasers runs nthreads lease_all threads on the job's NCHUNKS chunks,
 * thread i on handles[i], and checks that every chunk was leased exactly
 * once and counted once.
 */
static void run_leasers(struct fixture *f, struct store **handles, int nthreads)
{
	struct leaser l[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	int leased[NCHUNKS] = {0}, total = 0;
	struct chunk_counts cc;
	struct job j;
	struct err e;

	assert_true(nthreads <= MAX_THREADS);
	new_validated_job(f, "job000000001", NCHUNKS);
	for (int i = 0; i < nthreads; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].st = handles[i];
		l[i].job_id = "job000000001";
		snprintf(l[i].owner, sizeof(l[i].owner), "runner-%d", i);
		l[i].leased = leased;
		assert_int_equal(pthread_create(&t[i], NULL, lease_all, &l[i]), 0);
	}
	for (int i = 0; i < nthreads; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < nthreads; i++) {
		if (l[i].rc)
			fail_msg("%s: %d: %s", l[i].owner, l[i].rc, l[i].msg);
		total += l[i].n;
	}
	for (int seq = 0; seq < NCHUNKS; seq++)
		if (leased[seq] != 1)
			fail_msg("chunk %d was leased %d times", seq, leased[seq]);
	assert_int_equal(total, NCHUNKS);
	err_init(&e);
	assert_ok(store_chunk_counts(f->st, "job000000001", &cc, &e), &e);
	assert_int_equal(cc.done, NCHUNKS);
	assert_int_equal(cc.pending + cc.leased, 0);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, NCHUNKS * 10);
	assert_int_equal(j.c.success, NCHUNKS * 10);
	assert_int_equal(j.c.input_tokens, NCHUNKS * 7);
	job_free(&j);
}

/* Four processes (a store handle each, a thread each) lease one job: no chunk twice. */
static void test_lease_many_processes(void **state)
{
	struct fixture *f = *state;
	struct store *h[4] = {NULL};
	struct err e;

	err_init(&e);
	for (int i = 0; i < 4; i++)
		assert_ok(store_open(f->url, &h[i], &e), &e);
	run_leasers(f, h, 4);
	for (int i = 0; i < 4; i++)
		store_close(h[i]);
}

/* Eight threads share one handle, more than its pool has connections: they take turns. */
static void test_lease_shared_handle(void **state)
{
	struct fixture *f = *state;
	struct store *h[8];

	for (int i = 0; i < 8; i++)
		h[i] = f->st;
	run_leasers(f, h, 8);
}

/* backends counts the server's connections to database name (-1 if it cannot tell). */
static int backends(const char *name)
{
	const char *params[] = {name};
	PGconn *c = fixture_pg_connect(NULL);
	PGresult *r;
	int n = -1;

	if (!c)
		return -1;
	r = PQexecParams(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", 1, NULL,
			 params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

/*
 * kill_backends ends every connection to database name, as a server
 * restart does, and waits until they are gone.
 */
static void kill_backends(const char *name)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'", name);
	assert_int_equal(fixture_pg_sql(NULL, sql), 0);
	for (int i = 0; i < 500 && backends(name) != 0; i++)
		usleep(10000);
	assert_int_equal(backends(name), 0);
}

/*
 * A lost connection fails the call that finds it, with a message naming the
 * database, and the next call reconnects: the store does not fail forever.
 */
static void test_reconnect_after_lost_connection(void **state)
{
	struct fixture *f = *state;
	struct chunk c;
	struct job j;
	struct err e;
	int rc;

	new_validated_job(f, "job000000001", 3);
	kill_backends(f->db);
	err_init(&e);
	job_init(&j);
	rc = store_job_get(f->st, "job000000001", &j, &e);
	assert_int_equal(rc, ERR_IO);
	assert_contains(e.msg, f->db);
	assert_contains(e.msg, "connection was lost");
	assert_contains(e.msg, "reconnects");
	assert_int_equal(status_of(f, "job000000001"), JS_IN_PROGRESS);

	/* A transaction cut short leaves nothing half done, and the next one commits. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c, &e), 1);
	kill_backends(f->db);
	c.c.processed = 10;
	assert_int_equal(store_chunk_complete(f->st, &c, "A", 1001, &e), ERR_IO);
	assert_int_equal(lease_of(f, "job000000001", 0).state, CHUNK_LEASED);
	assert_ok(store_chunk_complete(f->st, &c, "A", 1002, &e), &e);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 10);
	job_free(&j);
}

/* Connections are opened when needed: a handle that served one thread at a time holds one. */
static void test_pool_opens_lazily(void **state)
{
	struct fixture *f = *state;

	new_validated_job(f, "job000000001", 2);
	assert_int_equal(status_of(f, "job000000001"), JS_IN_PROGRESS);
	assert_int_equal(backends(f->db), 1);
	store_close(f->st);
	f->st = NULL;
	for (int i = 0; i < 500 && backends(f->db) != 0; i++)
		usleep(10000);
	assert_int_equal(backends(f->db), 0);
}

/* One process opening the store, for test_migrations_at_once. */
struct opener {
	const char *url;
	pthread_barrier_t *go;
	struct store *st;
	int rc;
	char msg[ERR_MSG_MAX];
};

static void *open_store(void *arg)
{
	struct opener *o = arg;
	struct err e;

	err_init(&e);
	pthread_barrier_wait(o->go);
	o->rc = store_open(o->url, &o->st, &e);
	snprintf(o->msg, sizeof(o->msg), "%s", e.msg);
	return NULL;
}

/* Processes that open a new database at the same moment migrate it once, without failing. */
static void test_migrations_at_once(void **state)
{
	struct fixture *f = *state;
	struct opener o[4];
	pthread_t t[4];
	pthread_barrier_t go;
	char name[64], url[512], sql[128];
	PGconn *c;
	PGresult *r;

	assert_int_equal(fixture_pg_create(name, sizeof(name)), 0);
	fixture_pg_url(fixture_pg_server(), name, url, sizeof(url));
	pthread_barrier_init(&go, NULL, 4);
	for (int i = 0; i < 4; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].url = url;
		o[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, open_store, &o[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < 4; i++) {
		if (o[i].rc)
			fail_msg("opener %d: %d: %s", i, o[i].rc, o[i].msg);
		store_close(o[i].st);
	}
	/* One version row, at the version the fixture's own store reached. */
	c = fixture_pg_connect(name);
	assert_non_null(c);
	r = PQexec(c, "SELECT version FROM barge_schema");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	snprintf(sql, sizeof(sql), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	c = fixture_pg_connect(f->db);
	assert_non_null(c);
	r = PQexec(c, "SELECT version FROM barge_schema");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), sql);
	PQclear(r);
	PQfinish(c);
	fixture_pg_drop(name);
}

/* A database holding tables of its own, not barge's, is refused with the reason. */
static void test_foreign_tables_refused(void **state)
{
	struct store *st = NULL;
	char name[64], url[512];
	struct err e;

	(void)state;
	assert_int_equal(fixture_pg_create(name, sizeof(name)), 0);
	assert_int_equal(fixture_pg_sql(name, "CREATE TABLE jobs (x INTEGER)"), 0);
	fixture_pg_url(fixture_pg_server(), name, url, sizeof(url));
	err_init(&e);
	assert_int_equal(store_open(url, &st, &e), ERR_CONFIG);
	assert_null(st);
	assert_contains(e.msg, name);
	assert_contains(e.msg, "schema version 1");
	assert_contains(e.msg, "already exists");
	/* Nothing was left behind: the migration rolled back. */
	assert_int_not_equal(fixture_pg_sql(name, "SELECT version FROM barge_schema"), 0);
	fixture_pg_drop(name);
}

/* url_as writes url with role as its user (the test server trusts every login). */
static void url_as(const char *url, const char *role, char *out, size_t n)
{
	const char *rest = strstr(url, "://") + 3;
	const char *at = strchr(rest, '@');

	snprintf(out, n, "postgres://%s@%s", role, at && at < rest + strcspn(rest, "/") ?
								at + 1 : rest);
}

/*
 * A user who may read and write barge's tables but create none (what a
 * database's administrator grants a service) opens a database that is up
 * to date and runs jobs; one who may only read is told which privileges
 * are missing, as ERR_AUTH.
 */
static void test_user_without_ddl_rights(void **state)
{
	struct fixture *f = *state;
	struct store *dml = NULL, *ro = NULL;
	char dml_role[64], ro_role[64], url[700], sql[512];
	struct chunk c;
	struct job j;
	struct err e;

	snprintf(dml_role, sizeof(dml_role), "barge_test_dml_%ld", (long)getpid());
	snprintf(ro_role, sizeof(ro_role), "barge_test_ro_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s; DROP ROLE IF EXISTS %s;"
		 " CREATE ROLE %s LOGIN; CREATE ROLE %s LOGIN",
		 dml_role, ro_role, dml_role, ro_role);
	assert_int_equal(fixture_pg_sql(NULL, sql), 0);
	snprintf(sql, sizeof(sql), "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA"
		 " public TO %s; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO %s;"
		 " GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s",
		 dml_role, dml_role, ro_role);
	assert_int_equal(fixture_pg_sql(f->db, sql), 0);
	new_validated_job(f, "job000000001", 2);

	err_init(&e);
	url_as(f->url, dml_role, url, sizeof(url));
	assert_ok(store_open(url, &dml, &e), &e);
	assert_int_equal(store_chunk_lease(dml, "job000000001", "r1", 1000, 60000, &c, &e), 1);
	c.c.processed = 10;
	c.c.success = 10;
	assert_ok(store_chunk_complete(dml, &c, "r1", 1001, &e), &e);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 10);
	job_free(&j);

	url_as(f->url, ro_role, url, sizeof(url));
	assert_ok(store_open(url, &ro, &e), &e);
	assert_int_equal(store_chunk_lease(ro, "job000000001", "r2", 1000, 60000, &c, &e),
			 ERR_AUTH);
	assert_contains(e.msg, "permission denied");
	assert_contains(e.msg, "SELECT, INSERT, UPDATE and DELETE");
	store_close(ro);
	store_close(dml);
	snprintf(sql, sizeof(sql), "DROP OWNED BY %s, %s", dml_role, ro_role);
	assert_int_equal(fixture_pg_sql(f->db, sql), 0);
	snprintf(sql, sizeof(sql), "DROP ROLE %s; DROP ROLE %s", dml_role, ro_role);
	assert_int_equal(fixture_pg_sql(NULL, sql), 0);
}

/*
 * Logs and messages name a store without its password, wherever the URL
 * holds it; a URL libpq would misread (a raw '/' or '@' in the password,
 * settings after "postgres://") is refused before anything connects.
 */
static void test_url_shown_without_password(void **state)
{
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{"postgres://u:s3cret-pw@h:5432/db?sslmode=require", "postgres://u:***@h:5432/db"},
		{"postgresql://u:ab?s3cret-pw@h/db", "postgresql://u:***@h/db"},
		{"postgres://u:ab#s3cret-pw@h/db?sslmode=disable", "postgres://u:***@h/db"},
		{"postgres://u@h/db?password=s3cret-pw", "postgres://u@h/db"},
		{"postgres://h/db?sslmode=disable&password=s3cret-pw", "postgres://h/db"},
		{"postgres://u:p%2Fs3cret-pw@h1:5,h2:6/db", "postgres://u:***@h1:5,h2:6/db"},
		{"postgres://u:ab/s3cret-pw@h:5/db", "postgres://***@h:5/db"},
		{"postgres://u:ab@s3cret-pw@h:5/db", "postgres://***@h:5/db"},
		{"postgres://host=h password=s3cret-pw", "postgres://***"},
		{"sqlite:/var/lib/barge/barge.db", "sqlite:/var/lib/barge/barge.db"},
	};
	static const struct {
		const char *url, *advice;
	} misread[] = {
		{"postgres://u:ab/s3cret-pw@127.0.0.1:1/db", "%2F"},
		{"postgres://u:ab@s3cret-pw@127.0.0.1:1/db", "%40"},
		{"postgres://host=127.0.0.1 port=1 password=s3cret-pw", "?key=value"},
	};
	struct store *st = NULL;
	char shown[512];
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		store_url_shown(cases[i].url, shown, sizeof(shown));
		assert_string_equal(shown, cases[i].shown);
	}
	for (size_t i = 0; i < sizeof(misread) / sizeof(misread[0]); i++) {
		err_init(&e);
		assert_int_equal(store_open(misread[i].url, &st, &e), ERR_CONFIG);
		assert_null(st);
		assert_contains(e.msg, misread[i].advice);
		assert_null(strstr(e.msg, "s3cret-pw"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		POSTGRES_TEST(test_lease_many_processes),
		POSTGRES_TEST(test_lease_shared_handle),
		POSTGRES_TEST(test_reconnect_after_lost_connection),
		POSTGRES_TEST(test_pool_opens_lazily),
		POSTGRES_TEST(test_migrations_at_once),
		POSTGRES_TEST(test_foreign_tables_refused),
		POSTGRES_TEST(test_user_without_ddl_rights),
		cmocka_unit_test(test_url_shown_without_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
