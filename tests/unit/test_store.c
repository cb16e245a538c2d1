/* test_store.c - unit tests of the stores of jobs, inputs and chunks, each run on SQLite and PostgreSQL. */
#include "store_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

static void test_job_round_trip(void **state)
{
	struct fixture *f = *state;
	struct job in, out;
	struct err e;

	make_job(&in, "job000000001", "nightly \xc3\xa9val", "team-a", 1700000000123LL);
	in.client_token = sdup("tok-1");
	err_init(&e);
	assert_ok(store_job_insert(f->st, &in, &e), &e);
	get(f, "job000000001", &out);
	assert_string_equal(out.id, in.id);
	assert_string_equal(out.arn, in.arn);
	assert_string_equal(out.name, in.name);
	assert_string_equal(out.account, in.account);
	assert_string_equal(out.model_id, in.model_id);
	assert_string_equal(out.invocation_type, "Converse");
	assert_int_equal(out.status, JS_SUBMITTED);
	assert_string_equal(out.message, in.message);
	assert_string_equal(out.input_uri, in.input_uri);
	assert_string_equal(out.output_uri, in.output_uri);
	assert_string_equal(out.run_key, in.run_key);
	assert_string_equal(out.client_token, "tok-1");
	assert_string_equal(out.role_arn, in.role_arn);
	assert_string_equal(out.tags_json, in.tags_json);
	assert_true(out.skip_invalid);
	assert_int_equal(out.timeout_hours, 72);
	assert_int_equal(out.submit_ms, in.submit_ms);
	assert_int_equal(out.modified_ms, in.modified_ms);
	assert_int_equal(out.start_ms, 0);
	assert_int_equal(out.end_ms, 0);
	assert_int_equal(out.expire_ms, in.expire_ms);
	assert_memory_equal(&out.c, &in.c, sizeof(in.c));
	assert_true(out.price_in == 0.003);
	assert_true(out.price_out == 0.015);
	assert_true(out.discount == 0.5);
	job_free(&out);
	job_free(&in);
}

static void test_job_absent_fields(void **state)
{
	struct fixture *f = *state;
	struct job in, out;
	struct err e;

	/* Optional strings stay absent; account and invocation type get defaults. */
	job_init(&in);
	snprintf(in.id, sizeof(in.id), "job000000002");
	in.arn = sdup("arn:x");
	in.name = sdup("n");
	in.model_id = sdup("m");
	in.input_uri = sdup("in");
	in.output_uri = sdup("out");
	in.submit_ms = 5;
	err_init(&e);
	assert_ok(store_job_insert(f->st, &in, &e), &e);
	get(f, "job000000002", &out);
	assert_string_equal(out.account, "");
	assert_string_equal(out.invocation_type, "InvokeModel");
	assert_null(out.message);
	assert_null(out.run_key);
	assert_null(out.client_token);
	assert_null(out.role_arn);
	assert_null(out.tags_json);
	assert_false(out.skip_invalid);
	assert_int_equal(out.timeout_hours, 24);
	job_free(&out);
	job_free(&in);
}

static void test_job_not_found(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct err e;

	err_init(&e);
	job_init(&j);
	assert_int_equal(store_job_get(f->st, "nosuchjob123", &j, &e), ERR_NOTFOUND);
	assert_contains(e.msg, "nosuchjob123");
	assert_int_equal(store_job_set_status(f->st, "nosuchjob123", JS_VALIDATING, NULL, 1, &e),
			 ERR_NOTFOUND);
	assert_int_equal(store_job_find_run(f->st, "no-such-run", &j, &e), ERR_NOTFOUND);
	job_free(&j);
}

static void test_job_duplicate_id(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct err e;

	insert(f, "job000000001", "first", "a", 100);
	make_job(&j, "job000000001", "second", "b", 200);
	err_init(&e);
	assert_int_equal(store_job_insert(f->st, &j, &e), ERR_CONFLICT);
	assert_contains(e.msg, "job000000001");
	job_free(&j);
	/* The first job is untouched. */
	get(f, "job000000001", &j);
	assert_string_equal(j.name, "first");
	job_free(&j);
}

/* Only a clash of ids is a duplicate: a job missing a required field is a different error. */
static void test_job_missing_field_is_not_a_duplicate(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct err e;
	int rc;

	make_job(&j, "job000000009", "n", "a", 100);
	free(j.model_id);
	j.model_id = NULL;
	err_init(&e);
	rc = store_job_insert(f->st, &j, &e);
	job_free(&j);
	assert_int_not_equal(rc, 0);
	assert_int_not_equal(rc, ERR_CONFLICT);
	assert_null(strstr(e.msg, "already exists"));
}

static void test_find_run_gives_newest(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct err e;

	insert(f, "job0000000aa", "old", "", 100);
	insert(f, "job0000000bb", "new", "", 300);
	insert(f, "job0000000cc", "mid", "", 200);
	err_init(&e);
	job_init(&j);
	assert_ok(store_job_find_run(f->st, "run-key-1", &j, &e), &e);
	assert_string_equal(j.id, "job0000000bb");
	job_free(&j);
}

static void test_status_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct err e;

	insert(f, "job000000001", "n", "", 1000);
	set_status(f, "job000000001", JS_VALIDATING, 2000);
	set_status(f, "job000000001", JS_SCHEDULED, 3000);
	get(f, "job000000001", &j);
	assert_int_equal(j.status, JS_SCHEDULED);
	assert_int_equal(j.start_ms, 0);
	assert_int_equal(j.end_ms, 0);
	assert_int_equal(j.modified_ms, 3000);
	job_free(&j);

	set_status(f, "job000000001", JS_IN_PROGRESS, 4000);
	get(f, "job000000001", &j);
	assert_int_equal(j.start_ms, 4000);
	assert_int_equal(j.end_ms, 0);
	job_free(&j);

	err_init(&e);
	assert_ok(store_job_set_status(f->st, "job000000001", JS_COMPLETED, "all done", 5000, &e), &e);
	get(f, "job000000001", &j);
	assert_int_equal(j.status, JS_COMPLETED);
	assert_int_equal(j.start_ms, 4000);
	assert_int_equal(j.end_ms, 5000);
	assert_int_equal(j.modified_ms, 5000);
	assert_string_equal(j.message, "all done");
	job_free(&j);
}

static void test_status_refused(void **state)
{
	struct fixture *f = *state;
	struct job j;
	struct err e;

	insert(f, "job000000001", "n", "", 1000);
	err_init(&e);
	/* Submitted cannot jump to Completed or InProgress. */
	assert_int_equal(store_job_set_status(f->st, "job000000001", JS_COMPLETED, NULL, 2, &e),
			 ERR_CONFLICT);
	assert_contains(e.msg, "Submitted");
	assert_contains(e.msg, "Completed");
	assert_int_equal(store_job_set_status(f->st, "job000000001", JS_IN_PROGRESS, NULL, 2, &e),
			 ERR_CONFLICT);
	assert_int_equal(status_of(f, "job000000001"), JS_SUBMITTED);

	set_status(f, "job000000001", JS_VALIDATING, 10);
	set_status(f, "job000000001", JS_SCHEDULED, 11);
	set_status(f, "job000000001", JS_IN_PROGRESS, 12);
	set_status(f, "job000000001", JS_COMPLETED, 13);
	err_init(&e);
	assert_int_equal(store_job_set_status(f->st, "job000000001", JS_IN_PROGRESS, "again", 14, &e),
			 ERR_CONFLICT);
	assert_contains(e.msg, "job000000001 is Completed and cannot become InProgress");
	assert_int_equal(store_job_set_status(f->st, "job000000001", JS_FAILED, NULL, 14, &e),
			 ERR_CONFLICT);
	assert_int_equal(store_job_set_status(f->st, "job000000001", JS_STOPPING, NULL, 14, &e),
			 ERR_CONFLICT);
	get(f, "job000000001", &j);
	assert_int_equal(j.status, JS_COMPLETED);
	assert_int_equal(j.end_ms, 13);
	assert_int_equal(j.modified_ms, 13);
	/* A refused change leaves the message alone. */
	assert_string_equal(j.message, "queued \"first\"");
	job_free(&j);
}

static void test_status_terminal_end_times(void **state)
{
	struct fixture *f = *state;
	struct job j;

	/* Every terminal status sets the end time; Stopped can resume and clears it. */
	insert(f, "jobfailed001", "n", "", 1);
	set_status(f, "jobfailed001", JS_FAILED, 50);
	get(f, "jobfailed001", &j);
	assert_int_equal(j.end_ms, 50);
	job_free(&j);

	insert(f, "jobexpired01", "n", "", 1);
	set_status(f, "jobexpired01", JS_EXPIRED, 60);
	get(f, "jobexpired01", &j);
	assert_int_equal(j.end_ms, 60);
	job_free(&j);

	insert(f, "jobstopped01", "n", "", 1);
	set_status(f, "jobstopped01", JS_VALIDATING, 2);
	set_status(f, "jobstopped01", JS_SCHEDULED, 3);
	set_status(f, "jobstopped01", JS_IN_PROGRESS, 4);
	set_status(f, "jobstopped01", JS_STOPPING, 5);
	get(f, "jobstopped01", &j);
	assert_int_equal(j.end_ms, 0);
	job_free(&j);
	set_status(f, "jobstopped01", JS_STOPPED, 70);
	get(f, "jobstopped01", &j);
	assert_int_equal(j.end_ms, 70);
	job_free(&j);
	set_status(f, "jobstopped01", JS_IN_PROGRESS, 80);
	get(f, "jobstopped01", &j);
	assert_int_equal(j.status, JS_IN_PROGRESS);
	assert_int_equal(j.end_ms, 0);
	/* The first start is kept across the resume. */
	assert_int_equal(j.start_ms, 4);
	job_free(&j);
	set_status(f, "jobstopped01", JS_PARTIALLY_COMPLETED, 90);
	get(f, "jobstopped01", &j);
	assert_int_equal(j.end_ms, 90);
	job_free(&j);
}

static void test_job_validated_records_everything(void **state)
{
	struct fixture *f = *state;
	struct chunk ch[3] = {make_chunk(0, 0, 0, 256), make_chunk(1, 0, 256, 44),
			      make_chunk(2, 1, 0, 7)};
	struct job_input in[2];
	struct invalid_rec inv[1];
	struct job_input *gi;
	struct chunk *gc;
	size_t n;
	struct job j;
	struct err e;

	insert(f, "job000000001", "n", "", 100);
	set_status(f, "job000000001", JS_VALIDATING, 200);
	memset(in, 0, sizeof(in));
	in[0].idx = 0;
	in[0].uri = (char *)"file:///in/a.jsonl";
	in[0].name = (char *)"a.jsonl";
	in[0].size = 30000;
	snprintf(in[0].etag, sizeof(in[0].etag), "etag-a");
	in[0].records = 300;
	in[1].idx = 1;
	in[1].uri = (char *)"file:///in/b.jsonl";
	in[1].name = (char *)"b.jsonl";
	in[1].size = 700;
	snprintf(in[1].etag, sizeof(in[1].etag), "etag-b");
	in[1].records = 8;
	inv[0].input_idx = 1;
	inv[0].record_idx = 3;
	inv[0].line_no = 4;
	inv[0].message = (char *)"b.jsonl:4: recordId: duplicate";
	err_init(&e);
	assert_ok(store_job_validated(f->st, "job000000001", in, 2, ch, 3, inv, 1, 308, 300, &e),
		  &e);

	get(f, "job000000001", &j);
	assert_int_equal(j.status, JS_SCHEDULED);
	assert_int_equal(j.c.total, 308);
	assert_int_equal(j.c.processed, 0);
	assert_int_equal(j.c.success, 0);
	assert_int_equal(j.c.input_tokens, 0);
	assert_int_equal(j.modified_ms, 300);
	job_free(&j);

	assert_ok(store_inputs_get(f->st, "job000000001", &gi, &n, &e), &e);
	assert_int_equal(n, 2);
	assert_int_equal(gi[1].idx, 1);
	assert_string_equal(gi[1].uri, "file:///in/b.jsonl");
	assert_string_equal(gi[1].name, "b.jsonl");
	assert_int_equal(gi[1].size, 700);
	assert_string_equal(gi[1].etag, "etag-b");
	assert_int_equal(gi[1].records, 8);
	assert_string_equal(gi[0].etag, "etag-a");
	job_inputs_free(gi, n);

	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(gc[i].job_id, "job000000001");
		assert_int_equal(gc[i].seq, ch[i].seq);
		assert_int_equal(gc[i].input_idx, ch[i].input_idx);
		assert_int_equal(gc[i].first_record, ch[i].first_record);
		assert_int_equal(gc[i].nrecords, ch[i].nrecords);
		assert_int_equal(gc[i].start_off, ch[i].start_off);
		assert_int_equal(gc[i].end_off, ch[i].end_off);
		assert_int_equal(gc[i].first_line, ch[i].first_line);
		assert_int_equal(gc[i].state, CHUNK_PENDING);
		assert_string_equal(gc[i].lease_owner, "");
	}
	free(gc);
}

static void test_job_validated_replaces(void **state)
{
	struct fixture *f = *state;
	struct invalid_rec inv = {0, 1, 2, (char *)"a.jsonl:2: bad"};
	struct invalid_rec *gv;
	struct chunk c, *gc;
	struct job j;
	size_t n;
	struct err e;

	insert(f, "job000000001", "n", "", 100);
	set_status(f, "job000000001", JS_VALIDATING, 200);
	c = make_chunk(0, 0, 0, 10);
	err_init(&e);
	assert_ok(store_job_validated(f->st, "job000000001", NULL, 0, &c, 1, &inv, 1, 10, 300, &e),
		  &e);
	validate_job(f, "job000000001", 4);
	/* A chunk finishes; then validation runs again (a crash, a resume). */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "r1", 1000, 60000, &c, &e), 1);
	c.c.processed = 10;
	c.c.success = 10;
	assert_ok(store_chunk_complete(f->st, &c, "r1", 1001, &e), &e);
	validate_job(f, "job000000001", 2);

	get(f, "job000000001", &j);
	assert_int_equal(j.status, JS_IN_PROGRESS);
	assert_int_equal(j.c.total, 20);
	assert_int_equal(j.c.processed, 0);
	assert_int_equal(j.c.success, 0);
	job_free(&j);
	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(n, 2);
	assert_int_equal(gc[0].state, CHUNK_PENDING);
	assert_int_equal(gc[1].first_record, 10);
	free(gc);
	assert_ok(store_invalid_list(f->st, "job000000001", 0, 0, 1000, &gv, &n, &e), &e);
	assert_int_equal(n, 0);
	invalid_recs_free(gv, n);
}

static void test_chunk_lease_order(void **state)
{
	struct fixture *f = *state;
	struct chunk c;
	struct err e;

	new_validated_job(f, "job000000001", 3);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 500, &c, &e), 1);
	assert_int_equal(c.seq, 0);
	assert_int_equal(c.state, CHUNK_LEASED);
	assert_string_equal(c.lease_owner, "A");
	assert_int_equal(c.lease_expires_ms, 1500);
	assert_string_equal(c.job_id, "job000000001");
	assert_int_equal(c.first_record, 0);
	assert_int_equal(c.nrecords, 10);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1001, 500, &c, &e), 1);
	assert_int_equal(c.seq, 1);
	assert_int_equal(c.first_record, 10);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1002, 500, &c, &e), 1);
	assert_int_equal(c.seq, 2);
	assert_string_equal(c.lease_owner, "B");
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1003, 500, &c, &e), 0);
	/* Another job's chunks are separate. */
	new_validated_job(f, "job000000002", 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000002", "B", 1004, 500, &c, &e), 1);
	assert_string_equal(c.job_id, "job000000002");
	assert_int_equal(c.seq, 0);
	assert_int_equal(store_chunk_lease(f->st, "nosuchjob123", "B", 1004, 500, &c, &e), 0);
}

static void test_chunk_lease_expiry(void **state)
{
	struct fixture *f = *state;
	struct chunk a, b, c;
	struct job j;
	struct err e;

	new_validated_job(f, "job000000001", 2);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 100, &a, &e), 1);
	assert_int_equal(a.seq, 0);
	/* Before A's lease expires, B gets the next chunk, not A's. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1050, 100, &b, &e), 1);
	assert_int_equal(b.seq, 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1099, 100, &c, &e), 0);
	/* After it expires, B takes chunk 0 over. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1101, 100, &c, &e), 1);
	assert_int_equal(c.seq, 0);
	assert_string_equal(c.lease_owner, "B");
	assert_int_equal(c.lease_expires_ms, 1201);

	/* A comes back late: its results must be dropped. */
	a.c.processed = 10;
	a.c.success = 10;
	assert_int_equal(store_chunk_complete(f->st, &a, "A", 1300, &e), ERR_CONFLICT);
	assert_contains(e.msg, "no longer leased");
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 0);
	job_free(&j);
	c.c.processed = 10;
	c.c.success = 9;
	c.c.errors = 1;
	assert_ok(store_chunk_complete(f->st, &c, "B", 1300, &e), &e);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 10);
	assert_int_equal(j.c.errors, 1);
	job_free(&j);
}

static void test_chunk_complete_counts_once(void **state)
{
	struct fixture *f = *state;
	struct chunk c0, c1, *gc;
	struct job j;
	size_t n;
	struct err e;

	new_validated_job(f, "job000000001", 3);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c0, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c1, &e), 1);
	c0.c = (struct job_counts){0, 10, 9, 1, 1000, 200, 3, 2};
	assert_ok(store_chunk_complete(f->st, &c0, "A", 2000, &e), &e);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.total, 30);
	assert_int_equal(j.c.processed, 10);
	assert_int_equal(j.c.success, 9);
	assert_int_equal(j.c.errors, 1);
	assert_int_equal(j.c.input_tokens, 1000);
	assert_int_equal(j.c.output_tokens, 200);
	assert_int_equal(j.c.retries, 3);
	assert_int_equal(j.c.throttles, 2);
	assert_int_equal(j.modified_ms, 2000);
	job_free(&j);

	/* A second completion of the same chunk adds nothing. */
	assert_int_equal(store_chunk_complete(f->st, &c0, "A", 2001, &e), ERR_CONFLICT);
	/* Neither does a completion by a runner that does not hold the lease. */
	c1.c = (struct job_counts){0, 10, 10, 0, 500, 100, 0, 0};
	assert_int_equal(store_chunk_complete(f->st, &c1, "B", 2002, &e), ERR_CONFLICT);
	/* Nor one of a chunk nobody leased. */
	{
		struct chunk c2 = make_chunk(2, 0, 20, 10);

		snprintf(c2.job_id, sizeof(c2.job_id), "job000000001");
		c2.c.processed = 10;
		assert_int_equal(store_chunk_complete(f->st, &c2, "A", 2003, &e), ERR_CONFLICT);
	}
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 10);
	assert_int_equal(j.c.input_tokens, 1000);
	assert_int_equal(j.modified_ms, 2000);
	job_free(&j);

	assert_ok(store_chunk_complete(f->st, &c1, "A", 2004, &e), &e);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 20);
	assert_int_equal(j.c.success, 19);
	assert_int_equal(j.c.input_tokens, 1500);
	assert_int_equal(j.c.output_tokens, 300);
	job_free(&j);

	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(n, 3);
	assert_int_equal(gc[0].state, CHUNK_DONE);
	/* A done chunk names the runner that made its part. */
	assert_string_equal(gc[0].lease_owner, "A");
	assert_int_equal(gc[0].c.processed, 10);
	assert_int_equal(gc[0].c.errors, 1);
	assert_int_equal(gc[0].c.input_tokens, 1000);
	assert_int_equal(gc[0].c.retries, 3);
	assert_int_equal(gc[1].state, CHUNK_DONE);
	assert_int_equal(gc[2].state, CHUNK_PENDING);
	free(gc);

	/* A done chunk is never leased again, even long after. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "C", 9000000, 100, &c0, &e), 1);
	assert_int_equal(c0.seq, 2);
	assert_ok(store_chunk_complete(f->st, &c0, "C", 9000001, &e), &e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "C", 99999999, 100, &c0, &e), 0);
}

/*
 * A chunk that completes after its job ended (a runner that lost track
 * of time, a worker that froze) counts nothing: the job keeps the counts
 * its outputs were finalized with.
 */
static void test_complete_after_end_counts_nothing(void **state)
{
	struct fixture *f = *state;
	struct chunk c0, c1, c2, *gc;
	struct job j;
	size_t n;
	struct err e;

	new_validated_job(f, "job000000001", 3);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c0, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c1, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c2, &e), 1);
	c0.c = (struct job_counts){0, 10, 10, 0, 100, 20, 0, 0};
	assert_ok(store_chunk_complete(f->st, &c0, "A", 2000, &e), &e);
	/* A stop: completions still count while the job is Stopping. */
	assert_ok(store_job_set_status(f->st, "job000000001", JS_STOPPING, NULL, 2100, &e), &e);
	c1.c = (struct job_counts){0, 10, 9, 1, 100, 20, 0, 0};
	assert_ok(store_chunk_complete(f->st, &c1, "A", 2200, &e), &e);
	assert_ok(store_job_set_status(f->st, "job000000001", JS_STOPPED, NULL, 2300, &e), &e);
	/* The last chunk, leased (and still held) before the end, completes after it. */
	c2.c = (struct job_counts){0, 10, 10, 0, 100, 20, 0, 0};
	assert_int_equal(store_chunk_complete(f->st, &c2, "A", 2400, &e), ERR_CONFLICT);
	assert_non_null(strstr(e.msg, "has ended"));
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 20);
	assert_int_equal(j.c.input_tokens, 200);
	job_free(&j);
	/* Nothing of it stays half done: the chunk is still leased, not done. */
	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(n, 3);
	assert_int_equal(gc[2].state, CHUNK_LEASED);
	free(gc);
}

static void test_chunks_release(void **state)
{
	struct fixture *f = *state;
	struct chunk c, *gc;
	size_t n;
	struct err e;

	new_validated_job(f, "job000000001", 4);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1000, 60000, &c, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c, &e), 1);
	assert_int_equal(c.seq, 2);
	assert_ok(store_chunk_complete(f->st, &c, "A", 1001, &e), &e);

	assert_ok(store_chunks_release(f->st, "job000000001", "A", &e), &e);
	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(gc[0].state, CHUNK_PENDING);
	assert_string_equal(gc[0].lease_owner, "");
	assert_int_equal(gc[0].lease_expires_ms, 0);
	assert_int_equal(gc[1].state, CHUNK_LEASED);
	assert_string_equal(gc[1].lease_owner, "B");
	assert_int_equal(gc[2].state, CHUNK_DONE);
	assert_int_equal(gc[3].state, CHUNK_PENDING);
	free(gc);
	/* A released chunk is leased again first, in order. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "C", 1002, 60000, &c, &e), 1);
	assert_int_equal(c.seq, 0);

	assert_ok(store_chunks_release(f->st, "job000000001", NULL, &e), &e);
	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(gc[0].state, CHUNK_PENDING);
	assert_int_equal(gc[1].state, CHUNK_PENDING);
	assert_int_equal(gc[2].state, CHUNK_DONE);
	free(gc);
}

static void test_leases_renew(void **state)
{
	struct fixture *f = *state;
	struct chunk c;
	struct err e;

	new_validated_job(f, "job000000001", 3);
	new_validated_job(f, "job000000002", 1);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 100, &c, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1000, 100, &c, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000002", "A", 1000, 100, &c, &e), 1);

	/* Every lease of A, in every job, and only A's. */
	assert_ok(store_leases_renew(f->st, "A", 5000, &e), &e);
	assert_int_equal(lease_of(f, "job000000001", 0).lease_expires_ms, 5000);
	assert_int_equal(lease_of(f, "job000000002", 0).lease_expires_ms, 5000);
	assert_int_equal(lease_of(f, "job000000001", 1).lease_expires_ms, 1100);
	assert_int_equal(lease_of(f, "job000000001", 2).state, CHUNK_PENDING);
	assert_int_equal(lease_of(f, "job000000001", 2).lease_expires_ms, 0);

	/* A late heartbeat never shortens a lease. */
	assert_ok(store_leases_renew(f->st, "A", 3000, &e), &e);
	assert_int_equal(lease_of(f, "job000000001", 0).lease_expires_ms, 5000);

	/* B's lease ran out and C took the chunk over: B's renewal leaves it to C. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "C", 2000, 8000, &c, &e), 1);
	assert_int_equal(c.seq, 1);
	assert_ok(store_leases_renew(f->st, "B", 90000, &e), &e);
	c = lease_of(f, "job000000001", 1);
	assert_string_equal(c.lease_owner, "C");
	assert_int_equal(c.lease_expires_ms, 10000);

	/* A renewed lease is not taken over, and its owner still completes it. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "D", 4000, 8000, &c, &e), 1);
	assert_int_equal(c.seq, 2);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "D", 4999, 100, &c, &e), 0);
	c = lease_of(f, "job000000001", 0);
	assert_ok(store_chunk_complete(f->st, &c, "A", 4999, &e), &e);
	/* A done chunk is no lease: renewing leaves it alone. */
	assert_ok(store_leases_renew(f->st, "A", 20000, &e), &e);
	c = lease_of(f, "job000000001", 0);
	assert_int_equal(c.state, CHUNK_DONE);
	assert_int_equal(c.lease_expires_ms, 5000);
	assert_int_equal(lease_of(f, "job000000002", 0).lease_expires_ms, 20000);
	assert_ok(store_leases_renew(f->st, "nobody", 1, &e), &e);
}

static void test_leases_expire(void **state)
{
	struct fixture *f = *state;
	struct chunk a, c;
	struct job j;
	int64_t released = -1;
	struct err e;

	new_validated_job(f, "job000000001", 3);
	new_validated_job(f, "job000000002", 2);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 100, &a, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "B", 1000, 1000, &c, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000002", "A", 1000, 100, &c, &e), 1);
	assert_int_equal(store_chunk_lease(f->st, "job000000002", "C", 1000, 100, &c, &e), 1);
	assert_ok(store_chunk_complete(f->st, &c, "C", 1050, &e), &e);

	/* A lease ending at now_ms has not ended before it. */
	assert_ok(store_leases_expire(f->st, 1100, &released, &e), &e);
	assert_int_equal(released, 0);
	assert_int_equal(lease_of(f, "job000000001", 0).state, CHUNK_LEASED);

	assert_ok(store_leases_expire(f->st, 1101, &released, &e), &e);
	assert_int_equal(released, 2);
	c = lease_of(f, "job000000001", 0);
	assert_int_equal(c.state, CHUNK_PENDING);
	assert_string_equal(c.lease_owner, "");
	assert_int_equal(c.lease_expires_ms, 0);
	c = lease_of(f, "job000000001", 1);
	assert_int_equal(c.state, CHUNK_LEASED);
	assert_string_equal(c.lease_owner, "B");
	assert_int_equal(lease_of(f, "job000000001", 2).state, CHUNK_PENDING);
	assert_int_equal(lease_of(f, "job000000002", 0).state, CHUNK_PENDING);
	assert_int_equal(lease_of(f, "job000000002", 1).state, CHUNK_DONE);

	/* The dead runner's late completion counts nothing. */
	a.c.processed = 10;
	a.c.success = 10;
	assert_int_equal(store_chunk_complete(f->st, &a, "A", 1200, &e), ERR_CONFLICT);
	get(f, "job000000001", &j);
	assert_int_equal(j.c.processed, 0);
	job_free(&j);

	/* Nothing more to release; released may be NULL. */
	assert_ok(store_leases_expire(f->st, 1101, NULL, &e), &e);
	assert_ok(store_leases_expire(f->st, 1500, &released, &e), &e);
	assert_int_equal(released, 0);
	/* A released chunk is leased again first, in order. */
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "D", 1600, 100, &c, &e), 1);
	assert_int_equal(c.seq, 0);
	assert_string_equal(c.lease_owner, "D");
}

static void test_invalid_list_range(void **state)
{
	struct fixture *f = *state;
	struct invalid_rec inv[6] = {
		{0, 0, 1, (char *)"a.jsonl:1: invalid JSON"},
		{0, 5, 7, (char *)"a.jsonl:7: modelInput: missing"},
		{0, 9, 11, (char *)"a.jsonl:11: recordId: duplicate"},
		{0, 10, 12, (char *)"a.jsonl:12: x"},
		{0, 300, 400, (char *)"a.jsonl:400: y"},
		{1, 5, 6, (char *)"b.jsonl:6: z"},
	};
	struct invalid_rec *v;
	size_t n;
	struct err e;

	insert(f, "job000000001", "n", "", 100);
	err_init(&e);
	assert_ok(store_job_validated(f->st, "job000000001", NULL, 0, NULL, 0, inv, 6, 400, 1, &e),
		  &e);
	assert_ok(store_invalid_list(f->st, "job000000001", 0, 5, 5, &v, &n, &e), &e);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].record_idx, 5);
	assert_int_equal(v[0].line_no, 7);
	assert_int_equal(v[0].input_idx, 0);
	assert_string_equal(v[0].message, "a.jsonl:7: modelInput: missing");
	assert_int_equal(v[1].record_idx, 9);
	assert_string_equal(v[1].message, "a.jsonl:11: recordId: duplicate");
	invalid_recs_free(v, n);

	assert_ok(store_invalid_list(f->st, "job000000001", 0, 0, 1000, &v, &n, &e), &e);
	assert_int_equal(n, 5);
	for (size_t i = 1; i < n; i++)
		assert_true(v[i - 1].record_idx < v[i].record_idx);
	invalid_recs_free(v, n);

	assert_ok(store_invalid_list(f->st, "job000000001", 1, 0, 1000, &v, &n, &e), &e);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].input_idx, 1);
	assert_string_equal(v[0].message, "b.jsonl:6: z");
	invalid_recs_free(v, n);

	assert_ok(store_invalid_list(f->st, "job000000001", 0, 11, 289, &v, &n, &e), &e);
	assert_int_equal(n, 0);
	invalid_recs_free(v, n);
	assert_ok(store_invalid_list(f->st, "otherjob0000", 0, 0, 1000, &v, &n, &e), &e);
	assert_int_equal(n, 0);
	invalid_recs_free(v, n);
}

/*
 * Text with every character that has a meaning somewhere (quotes,
 * backslashes, braces and commas of PostgreSQL's arrays, a bare NULL, a
 * newline, UTF-8) comes back as written, also in a validation of many rows.
 */
static void test_text_round_trip(void **state)
{
	static const char *const odd[] = {"say \"hi\"", "C:\\dir\\x", "{a,b}", "NULL", "",
					  "two\nlines\ttab", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac", "' OR 1=1 --"};
	enum { NODD = sizeof(odd) / sizeof(odd[0]), NROWS = 1000 };
	struct fixture *f = *state;
	struct invalid_rec *inv = calloc(NROWS, sizeof(*inv)), *gv;
	struct chunk *ch = calloc(NROWS, sizeof(*ch)), *gc;
	struct job_input in[NODD], *gi;
	char msg[64];
	struct job j;
	size_t n;
	struct err e;

	assert_non_null(inv);
	assert_non_null(ch);
	make_job(&j, "job000000001", odd[0], odd[1], 100);
	free(j.message);
	j.message = sdup(odd[5]);
	err_init(&e);
	assert_ok(store_job_insert(f->st, &j, &e), &e);
	job_free(&j);
	memset(in, 0, sizeof(in));
	for (unsigned i = 0; i < NODD; i++) {
		in[i].idx = i;
		in[i].uri = (char *)odd[i];
		in[i].name = (char *)odd[(i + 1) % NODD];
		snprintf(in[i].etag, sizeof(in[i].etag), "%s", odd[(i + 2) % NODD]);
		in[i].records = NROWS;
	}
	for (unsigned i = 0; i < NROWS; i++) {
		ch[i] = make_chunk(i, i % NODD, i, 1);
		inv[i].input_idx = i % NODD;
		inv[i].record_idx = i;
		inv[i].line_no = i + 1;
		snprintf(msg, sizeof(msg), "%u: %s", i, odd[i % NODD]);
		inv[i].message = sdup(msg);
	}
	assert_ok(store_job_validated(f->st, "job000000001", in, NODD, ch, NROWS, inv, NROWS,
				      NROWS, 300, &e),
		  &e);

	get(f, "job000000001", &j);
	assert_string_equal(j.name, odd[0]);
	assert_string_equal(j.account, odd[1]);
	assert_string_equal(j.message, odd[5]);
	job_free(&j);
	assert_ok(store_inputs_get(f->st, "job000000001", &gi, &n, &e), &e);
	assert_int_equal(n, NODD);
	for (unsigned i = 0; i < NODD; i++) {
		assert_string_equal(gi[i].uri, odd[i]);
		assert_string_equal(gi[i].name, odd[(i + 1) % NODD]);
		assert_string_equal(gi[i].etag, odd[(i + 2) % NODD]);
	}
	job_inputs_free(gi, n);
	assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
	assert_int_equal(n, NROWS);
	assert_memory_equal(&gc[NROWS - 1].first_line, &ch[NROWS - 1].first_line,
			    sizeof(ch[0].first_line));
	assert_int_equal(gc[NROWS - 1].input_idx, (NROWS - 1) % NODD);
	free(gc);
	assert_ok(store_invalid_list(f->st, "job000000001", 3, 0, NROWS, &gv, &n, &e), &e);
	assert_int_equal(n, NROWS / NODD);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(gv[i].record_idx, (int64_t)(i * NODD + 3));
		assert_string_equal(gv[i].message, inv[i * NODD + 3].message);
	}
	invalid_recs_free(gv, n);
	for (unsigned i = 0; i < NROWS; i++)
		free(inv[i].message);
	free(inv);
	free(ch);
}

static struct job_filter any(void)
{
	struct job_filter fl;

	memset(&fl, 0, sizeof(fl));
	fl.status = -1;
	return fl;
}

/* list_ids lists with fl and writes the ids, space separated, into out. */
static void list_ids(struct fixture *f, const struct job_filter *fl, char *out, size_t outsz)
{
	struct job *v;
	size_t n, len = 0;
	struct err e;

	err_init(&e);
	assert_ok(store_job_list(f->st, fl, &v, &n, &e), &e);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%s", i ? " " : "", v[i].id);
	store_jobs_free(v, n);
}

static void list_fixture(struct fixture *f)
{
	struct job j;
	struct err e;

	insert(f, "j1aaaaaaaaaa", "nightly-eval", "team-a", 1000);
	insert(f, "j2aaaaaaaaaa", "weekly-report", "team-a", 2000);
	insert(f, "j3aaaaaaaaaa", "nightly-summaries", "team-b", 2000);
	insert(f, "j4aaaaaaaaaa", "adhoc", "team-a", 3000);
	make_job(&j, "j5aaaaaaaaaa", "Nightly-upper", "team-a", 4000);
	free(j.model_id);
	j.model_id = sdup("meta.llama3-1-70b-instruct-v1:0");
	err_init(&e);
	assert_ok(store_job_insert(f->st, &j, &e), &e);
	job_free(&j);
	set_status(f, "j2aaaaaaaaaa", JS_VALIDATING, 5000);
	set_status(f, "j4aaaaaaaaaa", JS_FAILED, 5000);
}

static void test_job_list_filters(void **state)
{
	struct fixture *f = *state;
	struct job_filter fl;
	char ids[256];

	list_fixture(f);
	fl = any();
	list_ids(f, &fl, ids, sizeof(ids));
	/* Newest first; jobs of the same millisecond by id. */
	assert_string_equal(ids, "j5aaaaaaaaaa j4aaaaaaaaaa j3aaaaaaaaaa j2aaaaaaaaaa j1aaaaaaaaaa");

	fl = any();
	fl.status = JS_SUBMITTED;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j5aaaaaaaaaa j3aaaaaaaaaa j1aaaaaaaaaa");
	fl.status = JS_FAILED;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j4aaaaaaaaaa");
	fl.status = JS_COMPLETED;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "");

	fl = any();
	fl.name_contains = "nightly";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j3aaaaaaaaaa j1aaaaaaaaaa");
	fl.name_contains = "report";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j2aaaaaaaaaa");

	fl = any();
	fl.account = "team-b";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j3aaaaaaaaaa");
	fl.account = "team-c";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "");

	fl = any();
	fl.model_id = "meta.llama3-1-70b-instruct-v1:0";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j5aaaaaaaaaa");

	/* Submit time bounds are exclusive. */
	fl = any();
	fl.submit_after_ms = 1000;
	fl.submit_before_ms = 4000;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j4aaaaaaaaaa j3aaaaaaaaaa j2aaaaaaaaaa");
	fl.submit_after_ms = 999;
	fl.submit_before_ms = 2001;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j3aaaaaaaaaa j2aaaaaaaaaa j1aaaaaaaaaa");

	/* Filters combine. */
	fl = any();
	fl.account = "team-a";
	fl.status = JS_SUBMITTED;
	fl.submit_before_ms = 4000;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j1aaaaaaaaaa");
}

static void test_job_list_order_and_pages(void **state)
{
	struct fixture *f = *state;
	struct job_filter fl;
	char ids[256], all[256];
	struct job *v;
	size_t n, len;
	struct err e;

	list_fixture(f);
	fl = any();
	fl.ascending = 1;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j1aaaaaaaaaa j2aaaaaaaaaa j3aaaaaaaaaa j4aaaaaaaaaa j5aaaaaaaaaa");

	fl.limit = 2;
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j1aaaaaaaaaa j2aaaaaaaaaa");

	/* Pages of 2 in both orders, through the two jobs that share a millisecond. */
	for (int asc = 0; asc <= 1; asc++) {
		char after[16] = "";

		fl = any();
		fl.ascending = asc;
		fl.limit = 2;
		len = 0;
		all[0] = '\0';
		for (int pages = 0; pages < 10; pages++) {
			fl.after_id = after[0] ? after : NULL;
			err_init(&e);
			assert_ok(store_job_list(f->st, &fl, &v, &n, &e), &e);
			assert_true(n <= 2);
			for (size_t i = 0; i < n; i++)
				len += (size_t)snprintf(all + len, sizeof(all) - len, "%s%s",
							len ? " " : "", v[i].id);
			if (n)
				snprintf(after, sizeof(after), "%s", v[n - 1].id);
			store_jobs_free(v, n);
			if (n < 2)
				break;
		}
		if (asc)
			assert_string_equal(all, "j1aaaaaaaaaa j2aaaaaaaaaa j3aaaaaaaaaa j4aaaaaaaaaa "
						 "j5aaaaaaaaaa");
		else
			assert_string_equal(all, "j5aaaaaaaaaa j4aaaaaaaaaa j3aaaaaaaaaa j2aaaaaaaaaa "
						 "j1aaaaaaaaaa");
	}

	/* Continuing after the last job gives nothing. */
	fl = any();
	fl.after_id = "j1aaaaaaaaaa";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "");
	fl.after_id = "j3aaaaaaaaaa";
	list_ids(f, &fl, ids, sizeof(ids));
	assert_string_equal(ids, "j2aaaaaaaaaa j1aaaaaaaaaa");
}

static void test_reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	struct chunk c, *gc;
	struct job_input *gi;
	struct job j;
	size_t n;
	struct err e;

	new_validated_job(f, "job000000001", 3);
	err_init(&e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1000, 60000, &c, &e), 1);
	c.c.processed = 10;
	c.c.output_tokens = 77;
	assert_ok(store_chunk_complete(f->st, &c, "A", 1001, &e), &e);
	assert_int_equal(store_chunk_lease(f->st, "job000000001", "A", 1002, 60000, &c, &e), 1);

	for (int round = 0; round < 2; round++) {
		store_close(f->st);
		f->st = NULL;
		assert_ok(store_open(f->url, &f->st, &e), &e);
		get(f, "job000000001", &j);
		assert_int_equal(j.status, JS_IN_PROGRESS);
		assert_int_equal(j.c.total, 30);
		assert_int_equal(j.c.processed, 10);
		assert_int_equal(j.c.output_tokens, 77);
		assert_string_equal(j.tags_json, "[{\"key\":\"team\",\"value\":\"a\"}]");
		job_free(&j);
		assert_ok(store_chunks_list(f->st, "job000000001", &gc, &n, &e), &e);
		assert_int_equal(n, 3);
		assert_int_equal(gc[0].state, CHUNK_DONE);
		assert_int_equal(gc[1].state, CHUNK_LEASED);
		assert_string_equal(gc[1].lease_owner, "A");
		assert_int_equal(gc[1].lease_expires_ms, 61002);
		assert_int_equal(gc[2].state, CHUNK_PENDING);
		free(gc);
		assert_ok(store_inputs_get(f->st, "job000000001", &gi, &n, &e), &e);
		assert_int_equal(n, 1);
		assert_string_equal(gi[0].name, "a.jsonl");
		job_inputs_free(gi, n);
	}
	/* SQLite: a bare path opens the same database; PostgreSQL: the other spelling. */
	store_close(f->st);
	f->st = NULL;
	if (f->backend == BACKEND_SQLITE) {
		assert_ok(store_open(f->db, &f->st, &e), &e);
	} else {
		char url[600];

		assert_true(!strncmp(f->url, "postgres://", 11));
		snprintf(url, sizeof(url), "postgresql://%s", f->url + 11);
		assert_ok(store_open(url, &f->st, &e), &e);
	}
	assert_int_equal(status_of(f, "job000000001"), JS_IN_PROGRESS);
}

/* pg_schema_version is schema_version for a PostgreSQL fixture. */
static int pg_schema_version(struct fixture *f, int set)
{
	PGconn *c = fixture_pg_connect(f->db);
	PGresult *r;
	char sql[64];
	int v = -1;

	assert_non_null(c);
	if (set >= 0) {
		snprintf(sql, sizeof(sql), "UPDATE barge_schema SET version = %d", set);
		r = PQexec(c, sql);
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	}
	r = PQexec(c, "SELECT version FROM barge_schema");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

/* schema_version reads or (when set >= 0) writes the schema version of the fixture's database. */
static int schema_version(struct fixture *f, int set)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	char sql[64];
	int v = -1;

	if (f->backend == BACKEND_POSTGRES)
		return pg_schema_version(f, set);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	if (set >= 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", set);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static void test_schema_versions(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct err e;
	int v;

	v = schema_version(f, -1);
	assert_true(v >= 1);
	store_close(f->st);
	f->st = NULL;
	err_init(&e);
	assert_ok(store_open(f->url, &f->st, &e), &e);
	assert_int_equal(schema_version(f, -1), v);
	store_close(f->st);
	f->st = NULL;

	/* A database from a newer barge is refused, not damaged. */
	schema_version(f, v + 1);
	assert_int_equal(store_open(f->url, &st, &e), ERR_CONFIG);
	assert_null(st);
	assert_contains(e.msg, "newer");
	assert_int_equal(schema_version(f, v), v);
	assert_ok(store_open(f->url, &f->st, &e), &e);
}

/* closed_port finds a port of 127.0.0.1 nothing listens on: bound, never listened on, released. */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	struct err e;
	char url[200], port[16];

	err_init(&e);
	assert_int_equal(store_open("redis://localhost/0", &st, &e), ERR_CONFIG);
	assert_null(st);
	assert_contains(e.msg, "redis://localhost/0");
	assert_contains(e.msg, "postgres://");
	assert_int_equal(store_open("redis://u:s3cret-pw@localhost/0", &st, &e), ERR_CONFIG);
	assert_null(strstr(e.msg, "s3cret-pw"));
	snprintf(url, sizeof(url), "sqlite:%s/no/such/dir/x.db", f->dir);
	assert_int_equal(store_open(url, &st, &e), ERR_IO);
	assert_null(st);
	assert_contains(e.msg, "x.db");

	/* A server that is not there: the message says where, never the password. */
	snprintf(port, sizeof(port), "%d", closed_port());
	snprintf(url, sizeof(url), "postgres://barge:s3cret-pw@127.0.0.1:%s/barge", port);
	assert_int_equal(store_open(url, &st, &e), ERR_IO);
	assert_null(st);
	assert_contains(e.msg, "cannot connect");
	assert_contains(e.msg, "127.0.0.1");
	assert_contains(e.msg, port);
	assert_null(strstr(e.msg, "s3cret-pw"));
	snprintf(url, sizeof(url), "postgresql://barge@127.0.0.1:%s/barge?password=s3cret-pw", port);
	assert_int_equal(store_open(url, &st, &e), ERR_IO);
	assert_contains(e.msg, port);
	assert_null(strstr(e.msg, "s3cret-pw"));
	/* A URL libpq cannot read is the configuration's fault. */
	assert_int_equal(store_open("postgres://barge:s3cret-pw@[::1/barge", &st, &e), ERR_CONFIG);
	assert_null(st);
	assert_null(strstr(e.msg, "s3cret-pw"));
}

/* Every test, run once on each kind of store. */
#define EACH_TEST(X)                                                                   \
	X(test_job_round_trip) X(test_job_absent_fields) X(test_job_not_found)         \
	X(test_job_duplicate_id) X(test_job_missing_field_is_not_a_duplicate)          \
	X(test_find_run_gives_newest) X(test_status_lifecycle) X(test_status_refused)  \
	X(test_status_terminal_end_times) X(test_job_validated_records_everything)     \
	X(test_job_validated_replaces) X(test_chunk_lease_order)                        \
	X(test_chunk_lease_expiry) X(test_chunk_complete_counts_once)                   \
	X(test_complete_after_end_counts_nothing)                                      \
	X(test_chunks_release) X(test_leases_renew) X(test_leases_expire)               \
	X(test_invalid_list_range) X(test_text_round_trip) X(test_job_list_filters)                             \
	X(test_job_list_order_and_pages) X(test_reopen_keeps_everything)                \
	X(test_schema_versions) X(test_open_errors)
#define ON_SQLITE(fn) SQLITE_TEST(fn),
#define ON_POSTGRES(fn) POSTGRES_TEST(fn),

int main(void)
{
	const struct CMUnitTest tests[] = {EACH_TEST(ON_SQLITE) EACH_TEST(ON_POSTGRES)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
