/* scheduler.c - the server's background work: the lifecycle thread and the runners. */
#include "core/scheduler.h"
#include "core/finalize.h"
#include "core/runner.h"
#include "core/validate.h"
#include "core/webhook.h"
#include "engine/engine.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUND_MS 200      /* the lifecycle thread's pace when nothing wakes it */
#define POLL_MS 250       /* how often a runner looks for jobs and stops */
#define MAX_RUNNERS 64
#define LIST_MAX 1000     /* jobs looked at per status and round */

struct worker {
	struct scheduler *S;
	int n;
	pthread_t thread;
	bool started;
};

struct scheduler {
	struct service *svc;
	struct scheduler_opts o;
	int64_t lease_ms;
	pthread_t lifecycle;
	bool lifecycle_started;
	pthread_t webhooks;
	bool webhooks_started;
	struct worker workers[MAX_RUNNERS];
	int n_workers;
};

/* list_status returns the jobs in status st, oldest first. */
static int list_status(struct service *svc, enum job_status st, struct job **v, size_t *n)
{
	struct job_filter f;
	struct err e;
	int rc;

	memset(&f, 0, sizeof(f));
	f.status = (int)st;
	f.ascending = 1;
	f.limit = LIST_MAX;
	rc = store_job_list(svc->st, &f, v, n, &e);
	if (rc)
		log_error("scheduler: %s", e.msg);
	return rc;
}

static void set_status(struct service *svc, struct job *j, enum job_status to, const char *msg)
{
	struct err e;

	if (store_job_set_status(svc->st, j->id, to, msg, time_now_ms(), &e)) {
		log_warn("job %s: cannot become %s: %s", j->id, job_status_name(to), e.msg);
		return;
	}
	j->status = to;
	log_info("job %s: %s%s%s", j->id, job_status_name(to), msg ? ": " : "", msg ? msg : "");
	if (job_status_terminal(to)) {
		free(j->message);
		j->message = msg ? strdup(msg) : NULL;
		j->end_ms = time_now_ms();
		webhook_job_ended(svc, j);
	}
}

/* end_job finalizes j's outputs as status to and records it. */
static void end_job(struct service *svc, struct job *j, enum job_status to, const char *msg)
{
	struct job_counts shown;
	struct job fresh;
	struct err e;

	/*
	 * Read the job again: j was listed before its last chunks committed,
	 * and its counts must be those of every chunk, not of the listing.
	 */
	if (store_job_get(svc->st, j->id, &fresh, &e) == 0) {
		job_free(j);
		*j = fresh;
	}
	if (finalize_end(svc->obj, svc->st, j, svc->journal_dir, svc->cfg->limits.max_line_bytes,
			 to, msg, true, &shown, &e)) {
		log_error("job %s: cannot finish as %s: %s", j->id, job_status_name(to), e.msg);
		if (to != JS_FAILED)
			set_status(svc, j, JS_FAILED, e.msg);
		return;
	}
	log_info("job %s: %s, %lld of %lld records processed (%lld errors)", j->id,
		 job_status_name(to), (long long)shown.processed, (long long)shown.total,
		 (long long)shown.errors);
	j->c = shown;
	free(j->message);
	j->message = msg ? strdup(msg) : NULL;
	webhook_job_ended(svc, j);
}

/*
 * validate_one runs the validation pass of a Submitted (or, after a crash,
 * Validating) job and records its chunks, or fails it with the reason.
 */
static void validate_one(struct service *svc, struct job *j)
{
	struct run_model m;
	struct job_input *inputs = NULL;
	size_t n_inputs = 0;
	struct val_opts vo = {0};
	struct val_result res;
	char *uris[1] = {j->input_uri};
	struct err e;

	memset(&res, 0, sizeof(res));
	if (j->status == JS_SUBMITTED)
		set_status(svc, j, JS_VALIDATING, NULL);
	if (j->status != JS_VALIDATING)
		return; /* stopped meanwhile */
	if (service_model(svc, j, &m, &e) ||
	    inputs_expand(svc->obj, uris, 1, &inputs, &n_inputs, &e)) {
		set_status(svc, j, JS_FAILED, e.msg);
		return;
	}
	vo.fam = m.fam;
	vo.lim = &svc->cfg->limits;
	vo.job_id = j->id;
	vo.enforce_limits = true;
	/* A job that skips invalid records (the OpenAI and Anthropic dialects) keeps them. */
	vo.keep_invalid = j->skip_invalid;
	if (validate_inputs(svc->obj, inputs, n_inputs, &vo, &res, &e)) {
		set_status(svc, j, JS_FAILED, e.msg);
	} else if (res.limit_msg[0]) {
		set_status(svc, j, JS_FAILED, res.limit_msg);
	} else if (res.n_bad && !j->skip_invalid) {
		char *msg = validate_message(&res);

		set_status(svc, j, JS_FAILED, msg ? msg : "invalid records");
		free(msg);
	} else if (store_job_validated(svc->st, j->id, inputs, n_inputs, res.chunks, res.n_chunks,
				       res.invalid, res.n_invalid, res.total, time_now_ms(), &e)) {
		log_error("job %s: %s", j->id, e.msg);
	} else {
		log_info("job %s: Scheduled, %lld records in %zu chunks", j->id,
			 (long long)res.total, res.n_chunks);
	}
	val_result_free(&res);
	job_inputs_free(inputs, n_inputs);
}

/* admit moves a Scheduled job to InProgress when its account has room on the model. */
static void admit(struct service *svc, struct job *j)
{
	const struct account_cfg *a = NULL;
	int64_t running = 0;
	struct err e;

	for (size_t i = 0; i < svc->cfg->n_accounts; i++) {
		if (!strcmp(svc->cfg->accounts[i].name, j->account))
			a = &svc->cfg->accounts[i];
	}
	if (store_job_count(svc->st, j->account, j->model_id, JS_BIT(JS_IN_PROGRESS), &running,
			    &e)) {
		log_error("scheduler: %s", e.msg);
		return;
	}
	if (running < (a ? a->max_running_jobs_per_model : 5))
		set_status(svc, j, JS_IN_PROGRESS, NULL);
}

static void round_once(struct service *svc, bool *busy)
{
	struct job *v = NULL;
	size_t n = 0;
	int64_t now = time_now_ms();
	struct chunk_counts cc;
	struct err e;

	*busy = false;
	/*
	 * A runner that stopped renewing its leases died: its chunks go back to
	 * pending, for any runner of any process to take.
	 */
	{
		int64_t released = 0;

		if (store_leases_expire(svc->st, now, &released, &e))
			log_error("scheduler: %s", e.msg);
		else if (released)
			log_warn("%lld chunks of runners that went silent are pending again",
				 (long long)released);
	}
	/* Stops first: they free slots for waiting jobs. */
	if (!list_status(svc, JS_STOPPING, &v, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (!store_chunk_counts(svc->st, v[i].id, &cc, &e) && cc.leased == 0)
				end_job(svc, &v[i], JS_STOPPED, NULL);
		}
		store_jobs_free(v, n);
	}
	/* Jobs in progress: done, or out of time once their runners let go. */
	if (!list_status(svc, JS_IN_PROGRESS, &v, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (store_chunk_counts(svc->st, v[i].id, &cc, &e))
				continue;
			if (cc.pending == 0 && cc.leased == 0)
				end_job(svc, &v[i], JS_COMPLETED, NULL);
			else if (v[i].expire_ms && now >= v[i].expire_ms && cc.leased == 0)
				end_job(svc, &v[i], JS_PARTIALLY_COMPLETED,
					"the job ran out of time (timeoutDurationInHours)");
		}
		store_jobs_free(v, n);
	}
	/* Waiting jobs: out of time, or admitted. */
	if (!list_status(svc, JS_SCHEDULED, &v, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (v[i].expire_ms && now >= v[i].expire_ms)
				set_status(svc, &v[i], JS_EXPIRED,
					   "the job did not start before its timeout");
			else
				admit(svc, &v[i]);
		}
		store_jobs_free(v, n);
	}
	/*
	 * One validation per round, so that stops and admissions are not held
	 * up behind a long queue of large inputs. A job left Validating by a
	 * crash is validated again.
	 */
	for (int st = JS_VALIDATING; st >= JS_SUBMITTED && !*busy; st--) {
		if (list_status(svc, (enum job_status)st, &v, &n))
			continue;
		for (size_t i = 0; i < n && !*busy; i++) {
			if (v[i].expire_ms && now >= v[i].expire_ms) {
				set_status(svc, &v[i], JS_EXPIRED,
					   "the job did not start before its timeout");
				continue;
			}
			validate_one(svc, &v[i]);
			*busy = true;
		}
		store_jobs_free(v, n);
	}
}

static void *lifecycle_main(void *arg)
{
	struct scheduler *S = arg;
	struct service *svc = S->svc;

	while (!service_stopping(svc)) {
		bool busy;

		round_once(svc, &busy);
		if (busy)
			continue;
		service_nap(svc, ROUND_MS);
	}
	return NULL;
}

/* ---- runners ---- */

/*
 * poll_jobs adds the jobs in progress that have chunks to lease, and stops
 * the jobs this runner has that are no longer in progress or out of time.
 */
static void poll_jobs(struct service *svc, struct runner *r, const char *owner)
{
	char ids[256][IDS_JOB_LEN + 1];
	size_t n_ids = runner_ids(r, ids, 256);
	struct job *v = NULL;
	size_t n = 0;
	int64_t now = time_now_ms();
	struct err e;

	if (list_status(svc, JS_IN_PROGRESS, &v, &n))
		return;
	for (size_t k = 0; k < n_ids; k++) {
		bool live = false;

		for (size_t i = 0; i < n; i++) {
			if (!strcmp(v[i].id, ids[k]))
				live = !(v[i].expire_ms && now >= v[i].expire_ms);
		}
		if (!live)
			runner_stop(r, ids[k], false);
	}
	for (size_t i = 0; i < n; i++) {
		struct chunk_counts cc;
		struct run_model m;

		if (runner_has(r, v[i].id) || (v[i].expire_ms && now >= v[i].expire_ms))
			continue;
		if (store_chunk_counts(svc->st, v[i].id, &cc, &e) || cc.pending == 0)
			continue;
		if (service_model(svc, &v[i], &m, &e) || runner_add(r, &v[i], &m, &e)) {
			/* The model went away or the job cannot start: no record can run. */
			log_error("job %s: %s", v[i].id, e.msg);
			end_job(svc, &v[i], JS_FAILED, e.msg);
			continue;
		}
		log_info("job %s: runner %s takes chunks", v[i].id, owner);
	}
	store_jobs_free(v, n);
}

static void handle_ended(struct service *svc, const struct run_ended *x)
{
	struct job j;
	struct err e;

	if (x->end != RUN_FAILED) {
		service_wake(svc);
		return;
	}
	log_error("job %s: %s", x->job_id, x->err.msg);
	if (store_job_get(svc->st, x->job_id, &j, &e))
		return;
	if (!job_status_terminal(j.status))
		end_job(svc, &j, JS_FAILED, x->err.msg);
	job_free(&j);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct service *svc = w->S->svc;
	struct runner_opts ro;
	struct engine *eng;
	struct runner *r = NULL;
	struct run_ended ended[16];
	char owner[128], host[64];
	int64_t last_poll = 0, last_renew = 0;
	size_t n;
	struct err e;

	eng = engine_new(svc->limits, &e);
	if (eng) {
		memset(&ro, 0, sizeof(ro));
		/* Unique among every process on the store, and telling in its rows. */
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "host");
		host[sizeof(host) - 1] = '\0';
		snprintf(owner, sizeof(owner), "%s-%s-%d-%d", w->S->o.role, host, (int)getpid(),
			 w->n);
		ro.st = svc->st;
		ro.obj = svc->obj;
		ro.eng = eng;
		ro.lim = &svc->cfg->limits;
		ro.journal_dir = svc->journal_dir;
		ro.owner = owner;
		ro.lease_ms = w->S->lease_ms;
		ro.stop_grace_ms = 30000;
		r = runner_new(&ro, &e);
	}
	if (!r) {
		log_error("runner %d cannot start: %s", w->n, e.msg);
		engine_free(eng);
		return NULL;
	}
	while (!service_stopping(svc)) {
		int64_t now = time_mono_ms();

		if (now - last_poll >= POLL_MS) {
			poll_jobs(svc, r, owner);
			last_poll = now;
		}
		/* The heartbeat: three chances to renew before a lease runs out. */
		if (now - last_renew >= w->S->lease_ms / 3) {
			if (store_leases_renew(svc->st, owner, time_now_ms() + w->S->lease_ms, &e))
				log_warn("runner %d: cannot renew its leases: %s", w->n, e.msg);
			last_renew = now;
		}
		runner_step(r, 50, ended, 16, &n);
		for (size_t i = 0; i < n; i++)
			handle_ended(svc, &ended[i]);
	}
	/*
	 * The server stops: abandon requests in flight (their records stay
	 * pending, journaled ones are kept) so that shutdown is quick.
	 */
	runner_free(r);
	engine_free(eng);
	return NULL;
}

/*
 * recover releases the leases a previous process held and left behind, at
 * once rather than when they expire: only for a process that is the
 * store's only user, which no other live runner shares.
 */
static void recover(struct service *svc)
{
	struct job *v = NULL;
	size_t n = 0;
	struct err e;

	if (list_status(svc, JS_IN_PROGRESS, &v, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (store_chunks_release(svc->st, v[i].id, NULL, &e))
			log_warn("job %s: %s", v[i].id, e.msg);
	}
	if (n)
		log_info("resuming %zu jobs in progress", n);
	store_jobs_free(v, n);
	if (!list_status(svc, JS_STOPPING, &v, &n)) {
		for (size_t i = 0; i < n; i++)
			store_chunks_release(svc->st, v[i].id, NULL, &e);
		store_jobs_free(v, n);
	}
}

int scheduler_start(struct service *svc, const struct scheduler_opts *o,
		    struct scheduler **out, struct err *e)
{
	struct scheduler *S = calloc(1, sizeof(*S));
	int n_runners = o->runners;

	*out = NULL;
	if (!S)
		return err_set(e, ERR_NOMEM, "out of memory");
	S->svc = svc;
	S->o = *o;
	if (!S->o.role)
		S->o.role = "serve";
	S->lease_ms = (int64_t)(svc->cfg->server.lease_seconds > 0 ? svc->cfg->server.lease_seconds
								     : 60) * 1000;
	if (o->exclusive)
		recover(svc);
	if (n_runners < 0)
		n_runners = 0;
	if (n_runners > MAX_RUNNERS)
		n_runners = MAX_RUNNERS;
	if (o->lifecycle) {
		if (pthread_create(&S->lifecycle, NULL, lifecycle_main, S)) {
			free(S);
			return err_set(e, ERR_INTERNAL, "cannot start the lifecycle thread");
		}
		S->lifecycle_started = true;
		if (pthread_create(&S->webhooks, NULL, webhook_thread_main, svc)) {
			scheduler_stop(S);
			return err_set(e, ERR_INTERNAL, "cannot start the webhook thread");
		}
		S->webhooks_started = true;
	}
	for (int i = 0; i < n_runners; i++) {
		struct worker *w = &S->workers[i];

		w->S = S;
		w->n = i;
		if (pthread_create(&w->thread, NULL, worker_main, w)) {
			scheduler_stop(S);
			return err_set(e, ERR_INTERNAL, "cannot start runner thread %d", i);
		}
		w->started = true;
		S->n_workers = i + 1;
	}
	*out = S;
	return 0;
}

void scheduler_stop(struct scheduler *S)
{
	if (!S)
		return;
	pthread_mutex_lock(&S->svc->mu);
	S->svc->stopping = true;
	pthread_cond_broadcast(&S->svc->wake);
	pthread_mutex_unlock(&S->svc->mu);
	if (S->lifecycle_started)
		pthread_join(S->lifecycle, NULL);
	if (S->webhooks_started)
		pthread_join(S->webhooks, NULL);
	for (int i = 0; i < S->n_workers; i++) {
		if (S->workers[i].started)
			pthread_join(S->workers[i].thread, NULL);
	}
	free(S);
}
