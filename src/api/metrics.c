/* metrics.c - /metrics in the Prometheus text format. */
#include "api/metrics.h"

#include <stdio.h>
#include <string.h>

#define MAX_BACKENDS 256

/* put_label appends a label value with Prometheus' escapes. */
static void put_label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void backend_line(struct buf *b, const char *metric, const char *backend,
			 const char *extra, long long v)
{
	buf_printf(b, "%s{backend=\"", metric);
	put_label(b, backend);
	buf_printf(b, "\"%s} %lld\n", extra ? extra : "", v);
}

int metrics_render(struct service *svc, int64_t api_requests, struct buf *b, struct err *e)
{
	int64_t counts[JS__COUNT];
	struct job_counts sum;
	struct limiter *lims[MAX_BACKENDS];
	struct limiter_state st[MAX_BACKENDS];
	size_t n;
	int rc;

	rc = store_status_counts(svc->st, counts, &sum, e);
	if (rc)
		return rc;
	head(b, "barge_jobs", "gauge", "Jobs by status.");
	for (int i = 0; i < JS__COUNT; i++)
		buf_printf(b, "barge_jobs{status=\"%s\"} %lld\n", job_status_name(i),
			   (long long)counts[i]);
	head(b, "barge_records_processed_total", "counter",
	     "Records with a result or an error record, over all jobs.");
	buf_printf(b, "barge_records_processed_total %lld\n", (long long)sum.processed);
	head(b, "barge_records_failed_total", "counter", "Records that ended as error records.");
	buf_printf(b, "barge_records_failed_total %lld\n", (long long)sum.errors);
	head(b, "barge_tokens_total", "counter", "Tokens billed, by direction.");
	buf_printf(b, "barge_tokens_total{direction=\"input\"} %lld\n",
		   (long long)sum.input_tokens);
	buf_printf(b, "barge_tokens_total{direction=\"output\"} %lld\n",
		   (long long)sum.output_tokens);
	head(b, "barge_api_requests_total", "counter", "API requests answered.");
	buf_printf(b, "barge_api_requests_total %lld\n", (long long)api_requests);
	n = limiter_set_list(svc->limits, lims, MAX_BACKENDS);
	for (size_t i = 0; i < n; i++)
		limiter_state(lims[i], &st[i]);
	head(b, "barge_backend_requests_total", "counter",
	     "Attempts sent to each backend, by outcome.");
	for (size_t i = 0; i < n; i++) {
		backend_line(b, "barge_backend_requests_total", st[i].backend, ",outcome=\"ok\"",
			     st[i].ok);
		backend_line(b, "barge_backend_requests_total", st[i].backend,
			     ",outcome=\"throttled\"", st[i].throttled);
		backend_line(b, "barge_backend_requests_total", st[i].backend,
			     ",outcome=\"unreachable\"", st[i].unreachable);
		backend_line(b, "barge_backend_requests_total", st[i].backend,
			     ",outcome=\"canceled\"", st[i].canceled);
	}
	head(b, "barge_backend_retries_total", "counter", "Retries scheduled, per backend.");
	for (size_t i = 0; i < n; i++)
		backend_line(b, "barge_backend_retries_total", st[i].backend, NULL, st[i].retries);
	head(b, "barge_backend_throttles_total", "counter",
	     "Throttles (429, 503, 529, timeouts), per backend.");
	for (size_t i = 0; i < n; i++)
		backend_line(b, "barge_backend_throttles_total", st[i].backend, NULL, st[i].throttled);
	head(b, "barge_backend_in_flight", "gauge", "Requests in flight, per backend.");
	for (size_t i = 0; i < n; i++)
		backend_line(b, "barge_backend_in_flight", st[i].backend, NULL, st[i].in_flight);
	head(b, "barge_backend_concurrency_limit", "gauge",
	     "The adaptive concurrency limit now, per backend.");
	for (size_t i = 0; i < n; i++)
		backend_line(b, "barge_backend_concurrency_limit", st[i].backend, NULL, st[i].limit);
	head(b, "barge_backend_request_duration_seconds", "histogram",
	     "Time from sending an attempt to its answer, per backend.");
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < LIMITER_BUCKETS; k++) {
			char le[64];

			if (k == LIMITER_BUCKETS - 1)
				snprintf(le, sizeof(le), ",le=\"+Inf\"");
			else
				snprintf(le, sizeof(le), ",le=\"%g\"", limiter_bucket_s[k]);
			backend_line(b, "barge_backend_request_duration_seconds_bucket", st[i].backend,
				     le, st[i].latency_buckets[k]);
		}
		buf_puts(b, "barge_backend_request_duration_seconds_sum{backend=\"");
		put_label(b, st[i].backend);
		buf_printf(b, "\"} %.6f\n", st[i].latency_sum_s);
		backend_line(b, "barge_backend_request_duration_seconds_count", st[i].backend, NULL,
			     st[i].latency_count);
	}
	if (b->err)
		return err_set(e, b->err, "the metrics do not fit the buffer");
	return 0;
}
