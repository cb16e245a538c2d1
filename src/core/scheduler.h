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

/*
 * scheduler_start recovers from a previous process (its chunk leases are
 * released: this server is the store's only user) and starts the lifecycle
 * thread and n_runners runner threads. The caller owns *out.
 */
int scheduler_start(struct service *svc, int n_runners, struct scheduler **out,
		    struct err *e);

/*
 * scheduler_stop stops the threads: running jobs stay InProgress, their
 * finished records journaled, and resume at the next start.
 */
void scheduler_stop(struct scheduler *s);

#endif
