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
#define SETBACKS_MAX 64   /* jobs one runner remembers letting go of */
#define FAIL_AFTER 3      /* failed attempts in a row that make an error the job's */
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 30000
#define DOWN_ROUND_MS 1000 /* the lifecycle's pace while the store does not answer */

/*
 * A job a runner let go of after an error. The runner takes it again only
 * at retry_at (so that an error that lasts costs a log line now and then,
 * not a loop), and only once the chunks it held are no longer leased in
 * its name: the release its runner tried when the job ended may have
 * failed with the store, and the heartbeat would then renew those leases
 * for as long as the process lives, with no runner working on them.
 */
struct setback {
	char job_id[IDS_JOB_LEN + 1];
	int attempts;      /* failed attempts in a row while the job did not progress */
	int failures;      /* failed attempts in a row of this runner: the pause grows with them */
	int64_t processed; /* the job's processed count at the last failure */
	int64_t retry_at;  /* time_mono_ms */
	bool release;      /* chunks may still be leased in the runner's name */
};

struct worker {
	struct scheduler *S;
	int n;
	pthread_t thread;
	bool started;
	char owner[128];   /* the runner's lease owner name */
	struct setback setbacks[SETBACKS_MAX];
	size_t n_setbacks;
	int64_t quiet_until; /* time_mono_ms before which store failures go unsaid */
};

struct scheduler {
	struct service *svc;
	struct scheduler_opts o;
	int64_t lease_ms;
	pthread_t lifecycle;
	bool lifecycle_started;
	int64_t quiet_until; /* the lifecycle thread's, as a worker's */
	pthread_t webhooks;
	bool webhooks_started;
	struct worker workers[MAX_RUNNERS];
	int n_workers;
};


/*
 * list_status returns the jobs in status st, oldest first. A failure is
 * logged at the pace of *quiet_until (store_down), or always when it is NULL.
 */
static int list_status(struct service *svc, enum job_status st, struct job **v, size_t *n,
		       int64_t *quiet_until)
{
	struct job_filter f;
	struct err e;
	int rc;

	memset(&f, 0, sizeof(f));
	f.status = (int)st;
	f.ascending = 1;
	f.limit = LIST_MAX;
	rc = store_job_list(svc->st, &f, v, n, &e);
	if (rc && quiet_until)
		service_store_down(quiet_until, "scheduler", &e);
	else if (rc)
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
	struct limits_cfg lim;
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
	service_job_limits(svc, j, &lim);
	vo.lim = &lim;
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

/*
 * round_once runs one round of the lifecycle. Returns false when the store
 * did not answer its first call: the rest of the round would fail alike.
 */
static bool round_once(struct scheduler *S, bool *busy)
{
	struct service *svc = S->svc;
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

		if (store_leases_expire(svc->st, now, &released, &e)) {
			service_store_down(&S->quiet_until, "scheduler", &e);
			return false;
		}
		if (released)
			log_warn("%lld chunks of runners that went silent are pending again",
				 (long long)released);
	}
	/* Stops first: they free slots for waiting jobs. */
	if (!list_status(svc, JS_STOPPING, &v, &n, &S->quiet_until)) {
		for (size_t i = 0; i < n; i++) {
			if (!store_chunk_counts(svc->st, v[i].id, &cc, &e) && cc.leased == 0)
				end_job(svc, &v[i], JS_STOPPED, NULL);
		}
		store_jobs_free(v, n);
	}
	/* Jobs in progress: done, or out of time once their runners let go. */
	if (!list_status(svc, JS_IN_PROGRESS, &v, &n, &S->quiet_until)) {
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
	if (!list_status(svc, JS_SCHEDULED, &v, &n, &S->quiet_until)) {
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
		if (list_status(svc, (enum job_status)st, &v, &n, &S->quiet_until))
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
	return true;
}

static void *lifecycle_main(void *arg)
{
	struct scheduler *S = arg;
	struct service *svc = S->svc;

	while (!service_stopping(svc)) {
		bool busy;

		if (!round_once(S, &busy))
			service_nap(svc, DOWN_ROUND_MS);
		else if (!busy)
			service_nap(svc, ROUND_MS);
	}
	return NULL;
}

/* ---- runners ---- */

/* setback_find is the runner's memory of job_id, or NULL. */
static struct setback *setback_find(struct worker *w, const char *job_id)
{
	for (size_t i = 0; i < w->n_setbacks; i++) {
		if (!strcmp(w->setbacks[i].job_id, job_id))
			return &w->setbacks[i];
	}
	return NULL;
}

static void setback_drop(struct worker *w, struct setback *sb)
{
	*sb = w->setbacks[--w->n_setbacks];
}

/*
 * setback_get is the runner's memory of job_id, new if need be. When the
 * memory is full, the job tried again soonest is forgotten, preferably one
 * whose leases are released already.
 */
static struct setback *setback_get(struct worker *w, const char *job_id)
{
	struct setback *sb = setback_find(w, job_id);

	if (sb)
		return sb;
	if (w->n_setbacks == SETBACKS_MAX) {
		sb = &w->setbacks[0];
		for (size_t i = 1; i < w->n_setbacks; i++) {
			struct setback *o = &w->setbacks[i];

			if ((sb->release && !o->release) ||
			    (sb->release == o->release && o->retry_at < sb->retry_at))
				sb = o;
		}
		if (sb->release)
			log_warn("runner %s: job %s: forgetting that it may still hold chunks of it "
				 "(they are released when their leases run out after it stops)",
				 w->owner, sb->job_id);
	} else {
		sb = &w->setbacks[w->n_setbacks++];
	}
	memset(sb, 0, sizeof(*sb));
	snprintf(sb->job_id, sizeof(sb->job_id), "%s", job_id);
	sb->processed = -1;
	return sb;
}

/* retry_ms is the pause before attempt n + 1 of a job after n failed ones. */
static int64_t retry_ms(int n)
{
	int64_t ms = RETRY_FIRST_MS;

	for (int i = 1; i < n && ms < RETRY_MAX_MS; i++)
		ms *= 2;
	return ms < RETRY_MAX_MS ? ms : RETRY_MAX_MS;
}

/*
 * may_be_local says whether an error may belong to this process rather
 * than to the job: the store or the object store failed (a restart, a lost
 * connection, a network), memory ran out, or this process's credentials or
 * configuration are not the others'. Another runner, or this one later,
 * may succeed.
 */
static bool may_be_local(int code)
{
	return code == ERR_IO || code == ERR_REMOTE || code == ERR_NOMEM || code == ERR_AUTH ||
	       code == ERR_CONFIG;
}

/*
 * release_setbacks gives back the chunks the runner may still hold in the
 * jobs it let go of. It runs before the runner takes any job again, so a
 * release never takes a chunk from under the runner's own feet: a lease in
 * its name in a job it does not run is one nobody works on.
 */
static void release_setbacks(struct service *svc, struct worker *w, struct runner *r)
{
	for (size_t i = 0; i < w->n_setbacks; i++) {
		struct setback *sb = &w->setbacks[i];
		struct err e;

		if (!sb->release || runner_has(r, sb->job_id))
			continue;
		if (store_chunks_release(svc->st, sb->job_id, w->owner, &e))
			service_store_down(&w->quiet_until, w->owner, &e);
		else
			sb->release = false;
	}
}

/*
 * poll_jobs adds the jobs in progress that have chunks to lease, and stops
 * the jobs this runner has that are no longer in progress or out of time.
 */
static void poll_jobs(struct service *svc, struct worker *w, struct runner *r)
{
	char ids[256][IDS_JOB_LEN + 1];
	size_t n_ids = runner_ids(r, ids, 256);
	struct job *v = NULL;
	size_t n = 0;
	int64_t now = time_now_ms(), mono = time_mono_ms();
	struct err e;

	release_setbacks(svc, w, r);
	if (list_status(svc, JS_IN_PROGRESS, &v, &n, &w->quiet_until))
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
	/* What the runner remembers of jobs no longer in progress is of no more use. */
	for (size_t k = 0; k < w->n_setbacks;) {
		struct setback *sb = &w->setbacks[k];
		bool listed = false;

		for (size_t i = 0; i < n && !listed; i++)
			listed = !strcmp(v[i].id, sb->job_id);
		if (!listed && !sb->release && n < LIST_MAX)
			setback_drop(w, sb);
		else
			k++;
	}
	for (size_t i = 0; i < n; i++) {
		struct setback *sb = setback_find(w, v[i].id);
		struct chunk_counts cc;
		struct run_model m;

		if (runner_has(r, v[i].id) || (v[i].expire_ms && now >= v[i].expire_ms))
			continue;
		if (sb && (sb->release || mono < sb->retry_at))
			continue;
		if (store_chunk_counts(svc->st, v[i].id, &cc, &e) || cc.pending == 0)
			continue;
		if (service_model(svc, &v[i], &m, &e) || runner_add(r, &v[i], &m, &e)) {
			if (w->S->o.exclusive) {
				/* The only process: no record of the job can run anywhere. */
				log_error("job %s: %s", v[i].id, e.msg);
				end_job(svc, &v[i], JS_FAILED, e.msg);
				continue;
			}
			/*
			 * The server accepted the job with its own configuration;
			 * this process's may differ (a worker without the model),
			 * or the store failed. The other runners may run it.
			 */
			sb = setback_get(w, v[i].id);
			sb->failures++;
			sb->retry_at = mono + retry_ms(sb->failures);
			log_error("job %s: runner %s cannot run it, and leaves it to the other runners "
				  "(it tries again in %lld s): %s",
				  v[i].id, w->owner, (long long)(retry_ms(sb->failures) / 1000), e.msg);
			continue;
		}
		log_info("job %s: runner %s takes chunks", v[i].id, w->owner);
	}
	store_jobs_free(v, n);
}

/*
 * runner_failed decides what a runner's error means for its job. The
 * runner has let the job go already; the job fails only when the error is
 * the job's own: it came back on FAIL_AFTER attempts in a row while no
 * chunk of the job was completed anywhere, and it is not one that may be
 * this process's alone while other processes share the store. A runner
 * that lost a lease while it stalled (its chunk went to another runner), a
 * lost connection to the store, or a worker that cannot write the outputs
 * therefore never fail a job that others can finish; an input that
 * changed under the job does.
 */
static void runner_failed(struct service *svc, struct worker *w, const struct run_ended *x)
{
	struct setback *sb = setback_get(w, x->job_id);
	int64_t mono = time_mono_ms();
	struct job j;
	struct err e;

	/*
	 * The runner's release of its chunks may have failed with the store.
	 * Its pause grows with its own failures, whatever the others achieve:
	 * a worker that cannot write the outputs would otherwise run a chunk
	 * of requests for nothing every second.
	 */
	sb->release = true;
	sb->failures++;
	sb->retry_at = mono + retry_ms(sb->failures);
	if (store_job_get(svc->st, x->job_id, &j, &e)) {
		/* The store fails too: nothing can be decided, try again later. */
		log_warn("job %s: runner %s let it go after an error, and tries again in %lld s: %s",
			 x->job_id, w->owner, (long long)(retry_ms(sb->failures) / 1000), x->err.msg);
		return;
	}
	if (j.status != JS_IN_PROGRESS) {
		/* Stopped or over meanwhile: the lifecycle ends it. */
		log_warn("job %s: %s", x->job_id, x->err.msg);
		job_free(&j);
		return;
	}
	if (j.c.processed != sb->processed)
		sb->attempts = 0;
	sb->processed = j.c.processed;
	sb->attempts++;
	if (sb->attempts >= FAIL_AFTER && (w->S->o.exclusive || !may_be_local(x->err.code))) {
		log_error("job %s: %s (on %d attempts in a row)", x->job_id, x->err.msg,
			  sb->attempts);
		end_job(svc, &j, JS_FAILED, x->err.msg);
		sb->attempts = 0;
	} else {
		log_warn("job %s: runner %s let it go after an error, and tries again in %lld s: %s",
			 x->job_id, w->owner, (long long)(retry_ms(sb->failures) / 1000), x->err.msg);
	}
	job_free(&j);
}

static void handle_ended(struct service *svc, struct worker *w, const struct run_ended *x)
{
	struct setback *sb;

	if (x->end == RUN_FAILED) {
		runner_failed(svc, w, x);
		return;
	}
	/*
	 * The runner released the job's chunks as it let go; should the store
	 * have failed that release, the next poll tries it again. It did its
	 * share of the job: its failures are behind it.
	 */
	sb = setback_get(w, x->job_id);
	sb->release = true;
	sb->failures = 0;
	service_wake(svc);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct service *svc = w->S->svc;
	struct runner_opts ro;
	struct engine *eng;
	struct runner *r = NULL;
	struct run_ended ended[16];
	char host[64];
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
		snprintf(w->owner, sizeof(w->owner), "%s-%s-%d-%d", w->S->o.role, host,
			 (int)getpid(), w->n);
		ro.st = svc->st;
		ro.obj = svc->obj;
		ro.eng = eng;
		ro.lim = &svc->cfg->limits;
		ro.journal_dir = svc->journal_dir;
		ro.owner = w->owner;
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
			poll_jobs(svc, w, r);
			last_poll = now;
		}
		/* The heartbeat: three chances to renew before a lease runs out. */
		if (now - last_renew >= w->S->lease_ms / 3) {
			if (store_leases_renew(svc->st, w->owner, time_now_ms() + w->S->lease_ms, &e))
				log_warn("runner %d: cannot renew its leases: %s", w->n, e.msg);
			last_renew = now;
		}
		runner_step(r, 50, ended, 16, &n);
		for (size_t i = 0; i < n; i++)
			handle_ended(svc, w, &ended[i]);
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

	if (list_status(svc, JS_IN_PROGRESS, &v, &n, NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		if (store_chunks_release(svc->st, v[i].id, NULL, &e))
			log_warn("job %s: %s", v[i].id, e.msg);
	}
	if (n)
		log_info("resuming %zu jobs in progress", n);
	store_jobs_free(v, n);
	if (!list_status(svc, JS_STOPPING, &v, &n, NULL)) {
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
