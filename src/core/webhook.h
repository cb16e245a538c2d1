/* webhook.h - telling an HTTP endpoint when a job ends, signed and retried. */
#ifndef BARGE_WEBHOOK_H
#define BARGE_WEBHOOK_H

#include "core/job.h"
#include "core/service.h"

/*
 * When a job reaches a terminal status, an event is queued in the store for
 * the job's webhook: the one its tag barge:webhook names, else its account's
 * default ([account.*] webhook). A sender thread POSTs the events, retrying
 * with backoff, so that a slow or failing endpoint never holds up a job.
 *
 * The event is a JSON object (docs/webhooks.md) and carries the headers
 *   X-Barge-Event: job.ended
 *   X-Barge-Event-Id: <job id>:<status>  (the same on every retry)
 *   X-Barge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 */

#define WEBHOOK_TAG "barge:webhook"

/*
 * webhook_name_of finds the webhook a job's events go to: its tag, else its
 * account's default; NULL for none.
 */
const struct webhook_cfg *webhook_name_of(const struct service *svc, const struct job *j);

/* webhook_job_ended queues the event of job j, which has just ended. */
void webhook_job_ended(struct service *svc, const struct job *j);

/*
 * webhook_sign writes "t=<t>,v1=<hex>" for body signed with secret at time
 * t (unix seconds) into out (at least 96 bytes).
 */
int webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
		 size_t n);

/* webhook_thread_main is the sender thread's body (arg: the service). */
void *webhook_thread_main(void *arg);

#endif
