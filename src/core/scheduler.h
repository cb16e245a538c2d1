/* scheduler.h - the server's background work: the lifecycle thread and the runners. */
#ifndef BARGE_SCHEDULER_H
#define BARGE_SCHEDULER_H

#include "core/service.h"

/*
 * The scheduler moves jobs along DESIGN.md's lifecycle without being asked:
 * one lifecycle thread validates Submitted jobs, admits Scheduled jobs
 * while the account has fewer than max_running_jobs_per_model in progress
 * on the model, expires jobs past their timeout, and finalizes jobs whose
 * chunks are all done (Completed), that were stopped (Stopped) or that ran
 * out of time (PartiallyCompleted). Runner threads (one engine each, sharing
 * the service's limiters) run the chunks of every job in progress.
 */
struct scheduler;

/* What a process runs: `barge serve` the lifecycle and runners, `barge worker` runners. */
struct scheduler_opts {
	int runners;      /* runner threads, 0 to 64 */
	bool lifecycle;   /* the lifecycle and webhook threads */
	/*
	 * The process is the store's only user (SQLite): the leases a previous
	 * process left are released at once instead of when they expire.
	 */
	bool exclusive;
	const char *role; /* "serve" or "worker": names the runners' leases */
};

/*
 * scheduler_start starts the threads o asks for. Runners hold their chunks
 * with leases of [server] lease_seconds that they renew while they live;
 * the lifecycle thread hands the chunks of a runner that went silent (its
 * process died, on this machine or another) to the others. The caller
 * owns *out and stops it with scheduler_stop; on failure nothing runs.
 */
int scheduler_start(struct service *svc, const struct scheduler_opts *o,
		    struct scheduler **out, struct err *e);

/*
 * scheduler_stop stops the threads: running jobs stay InProgress, their
 * finished records journaled, and resume at the next start.
 */
void scheduler_stop(struct scheduler *s);

#endif
