/* metrics.h - /metrics in the Prometheus text format. */
#ifndef BARGE_METRICS_H
#define BARGE_METRICS_H

#include "core/service.h"
#include "util/buf.h"

/*
 * metrics_render appends the server's metrics to b: jobs by status, records
 * and tokens of all jobs (from the store), and per backend (from the shared
 * limiters) requests by outcome, retries, throttles, requests in flight,
 * the concurrency limit and a latency histogram. api_requests counts the
 * API requests answered so far.
 */
int metrics_render(struct service *svc, int64_t api_requests, struct buf *b, struct err *e);

#endif
