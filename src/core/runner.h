/* runner.h - runs a job's chunks through the engine to part objects. */
#ifndef BARGE_RUNNER_H
#define BARGE_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/job.h"
#include "engine/engine.h"
#include "formats/format.h"
#include "objects/objects.h"
#include "store/store.h"
#include "util/config.h"

/* What a running job reports: its counts so far, including journaled records. */
struct run_progress {
	struct job_counts c; /* c.processed counts records done */
	struct job_counts base; /* what earlier runs had done */
	int64_t in_flight;
	int64_t elapsed_ms;
	int limit;             /* the backend's concurrency limit now */
	bool backend_down;     /* the backend cannot be reached: paused, probing */
	const char *backend;   /* its name */
};

/* What a job needs from the configuration to run. */
struct run_model {
	const struct model_cfg *model;
	const struct family *fam;
	const struct backend_cfg *backend;
};

/* Settings shared by every job of a runner. */
struct runner_opts {
	struct store *st;
	struct objects *obj;
	struct engine *eng;
	const struct limits_cfg *lim;
	const char *journal_dir; /* journals go to <journal_dir>/<job id>/<seq>.jsonl */
	const char *owner;       /* lease owner name */
	int64_t lease_ms;
	/* How long a graceful stop waits for requests in flight. */
	int64_t stop_grace_ms;
	void (*progress)(void *ud, const char *job_id, const struct run_progress *p);
	void *progress_ud;
};

enum run_end { RUN_DONE = 0, RUN_STOPPED = 1, RUN_FAILED = 2 };

/*
 * A runner runs the chunks of any number of jobs on one engine (one
 * thread), taking one record from each job in turn so that jobs sharing a
 * backend share it fairly. It leases chunks, sends their records, journals
 * results, and makes finished chunks durable (part object, then the store).
 */
struct runner;

/* runner_new makes a runner; the caller owns it (runner_free). */
struct runner *runner_new(const struct runner_opts *o, struct err *e);
/* runner_free releases the chunks of every job still running (they stay pending). */
void runner_free(struct runner *r);

/*
 * runner_add starts running job j (copied) with model m. Chunks done in
 * earlier runs count in its progress from the start.
 */
int runner_add(struct runner *r, const struct job *j, const struct run_model *m,
	       struct err *e);
/* runner_has says whether job id is running in r. */
bool runner_has(struct runner *r, const char *job_id);
/* runner_count is the number of jobs r is running. */
size_t runner_count(struct runner *r);
/* runner_ids writes the ids of up to max jobs r is running; returns how many. */
size_t runner_ids(struct runner *r, char (*ids)[IDS_JOB_LEN + 1], size_t max);

/*
 * runner_stop stops a job: no new request starts (those queued or waiting
 * for a retry are abandoned at once); requests on the wire get
 * stop_grace_ms to finish (none when now is true), then are abandoned too.
 * Finished records are journaled; the rest stay pending.
 */
void runner_stop(struct runner *r, const char *job_id, bool now);

/* What a job's end is reported as by runner_step. */
struct run_ended {
	char job_id[IDS_JOB_LEN + 1];
	enum run_end end;  /* RUN_DONE: nothing left to lease; its leases are done */
	struct err err;    /* for RUN_FAILED */
	struct job_counts c; /* the job's counts as this runner saw them */
};

/*
 * runner_step does one turn of the loop: fill, engine_step (waiting at most
 * wait_ms), durable chunks, journal flushes, progress. Jobs that ended are
 * written to ended[0..*n_ended) (at most max_ended; the rest end at a later
 * step) and removed from the runner.
 */
void runner_step(struct runner *r, int wait_ms, struct run_ended *ended, size_t max_ended,
		 size_t *n_ended);

/* runner_journal_path writes <dir>/<job>/<seq>.jsonl into out. */
void runner_journal_path(const char *dir, const char *job_id, unsigned seq, char *out,
			 size_t n);
/*
 * runner_part_uri returns the malloc'd URI of the part object of chunk seq
 * as the runner owner writes it (a done chunk's lease_owner names the one
 * that counted).
 */
char *runner_part_uri(const struct job *j, const struct job_input *in, unsigned seq,
		      const char *owner);
/* runner_job_prefix returns the malloc'd output prefix <output>/<job id>. */
char *runner_job_prefix(const struct job *j);

#endif
