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

struct runner_opts {
	struct store *st;
	struct objects *obj;
	struct engine *eng;
	const struct model_cfg *model;
	const struct family *fam;
	const struct backend_cfg *backend;
	const struct limits_cfg *lim;
	const char *journal_dir; /* journals go to <journal_dir>/<job id>/<seq>.jsonl */
	const char *owner;       /* lease owner name */
	int64_t lease_ms;
	/* Set to 1 to stop gracefully, 2 to stop at once. */
	volatile sig_atomic_t *stop;
	/* How long a graceful stop waits for requests in flight. */
	int64_t stop_grace_ms;
	void (*progress)(void *ud, const struct run_progress *p);
	void *progress_ud;
};

enum run_end { RUN_DONE = 0, RUN_STOPPED = 1 };

/*
 * runner_run runs every chunk of job j that is not done. It returns RUN_DONE
 * when all chunks are done, RUN_STOPPED when *stop ended it (finished
 * records are journaled, the rest stay pending), or a negative code with e
 * set when the job cannot go on (its outputs cannot be written, its input
 * changed). Chunks it leased and did not finish are released.
 */
int runner_run(const struct runner_opts *o, struct job *j, struct err *e);

/* runner_journal_path writes <dir>/<job>/<seq>.jsonl into out. */
void runner_journal_path(const char *dir, const char *job_id, unsigned seq, char *out,
			 size_t n);
/* runner_part_uri returns the malloc'd URI of a chunk's part object. */
char *runner_part_uri(const struct job *j, const struct job_input *in, unsigned seq);
/* runner_job_prefix returns the malloc'd output prefix <output>/<job id>. */
char *runner_job_prefix(const struct job *j);

#endif
