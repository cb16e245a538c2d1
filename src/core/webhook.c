/* webhook.c - telling an HTTP endpoint when a job ends, signed and retried. */
#include "core/webhook.h"
#include "core/finalize.h"
#include "core/pricing.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEND_TIMEOUT_MS 10000
#define FIRST_RETRY_MS 1000
#define MAX_RETRY_MS (5 * 60 * 1000)
#define POLL_MS 250
#define BATCH 16

const struct webhook_cfg *webhook_name_of(const struct service *svc, const struct job *j)
{
	json_object *tags = NULL;
	const struct webhook_cfg *w = NULL;
	struct err e;

	if (j->tags_json && !json_parse(j->tags_json, strlen(j->tags_json), &tags, &e) &&
	    json_is_type(tags, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(tags); i++) {
			json_object *t = json_object_array_get_idx(tags, i);
			const char *k = json_get_str(t, "key"), *v = json_get_str(t, "value");

			if (k && v && !strcmp(k, WEBHOOK_TAG))
				w = config_find_webhook(svc->cfg, v);
		}
	}
	json_object_put(tags);
	if (w)
		return w;
	for (size_t i = 0; i < svc->cfg->n_accounts; i++) {
		const struct account_cfg *a = &svc->cfg->accounts[i];

		if (j->account && !strcmp(a->name, j->account) && a->webhook[0])
			return config_find_webhook(svc->cfg, a->webhook);
	}
	return NULL;
}

void webhook_job_ended(struct service *svc, const struct job *j)
{
	const struct webhook_cfg *w = webhook_name_of(svc, j);
	struct prices p = finalize_prices(j);
	struct costs cost;
	struct delivery d;
	struct buf b;
	struct err e;

	if (!w || !job_status_terminal(j->status))
		return;
	memset(&d, 0, sizeof(d));
	snprintf(d.event_id, sizeof(d.event_id), "%s:%s", j->id, job_status_name(j->status));
	snprintf(d.webhook, sizeof(d.webhook), "%s", w->name);
	pricing_compute(&p, (double)j->c.input_tokens, (double)j->c.output_tokens, &cost);
	buf_init(&b, 1 << 20);
	buf_puts(&b, "{\"type\":\"job.ended\",\"eventId\":");
	buf_put_json_cstr(&b, d.event_id);
	buf_puts(&b, ",\"jobArn\":");
	buf_put_json_cstr(&b, j->arn ? j->arn : "");
	buf_puts(&b, ",\"jobId\":");
	buf_put_json_cstr(&b, j->id);
	buf_puts(&b, ",\"jobName\":");
	buf_put_json_cstr(&b, j->name ? j->name : "");
	buf_puts(&b, ",\"modelId\":");
	buf_put_json_cstr(&b, j->model_id ? j->model_id : "");
	buf_puts(&b, ",\"status\":");
	buf_put_json_cstr(&b, job_status_name(j->status));
	if (j->message) {
		buf_puts(&b, ",\"message\":");
		buf_put_json_cstr(&b, j->message);
	}
	time_put_member(&b, "submitTime", j->submit_ms);
	time_put_member(&b, "endTime", j->end_ms ? j->end_ms : time_now_ms());
	buf_printf(&b,
		   ",\"totalRecordCount\":%lld,\"processedRecordCount\":%lld,"
		   "\"successRecordCount\":%lld,\"errorRecordCount\":%lld,"
		   "\"inputTokenCount\":%lld,\"outputTokenCount\":%lld,\"cost\":",
		   (long long)j->c.total, (long long)j->c.processed, (long long)j->c.success,
		   (long long)j->c.errors, (long long)j->c.input_tokens,
		   (long long)j->c.output_tokens);
	pricing_put_json(&b, &p, &cost);
	buf_putc(&b, '}');
	d.body = b.data;
	d.next_ms = time_now_ms();
	if (b.err || store_delivery_add(svc->st, &d, &e))
		log_error("job %s: cannot queue its webhook event: %s", j->id,
			  b.err ? "the event is too large" : e.msg);
	else
		log_info("job %s: webhook %s queued", j->id, w->name);
	buf_free(&b);
	service_wake(svc);
}

int webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
		 size_t n)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	char head[32];
	size_t hl = (size_t)snprintf(head, sizeof(head), "%lld.", (long long)t);
	unsigned char *msg = malloc(hl + len);
	size_t o;

	if (!msg)
		return ERR_NOMEM;
	memcpy(msg, head, hl);
	memcpy(msg + hl, body, len);
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, hl + len, mac, &mlen)) {
		free(msg);
		return ERR_INTERNAL;
	}
	free(msg);
	o = (size_t)snprintf(out, n, "t=%lld,v1=", (long long)t);
	for (unsigned int i = 0; i < mlen && o + 3 <= n; i++)
		o += (size_t)snprintf(out + o, n - o, "%02x", mac[i]);
	return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* post sends one event; returns the HTTP status, or 0 with why in err. */
static long post(CURL *h, const struct webhook_cfg *w, const struct delivery *d, char *err,
		 size_t errn)
{
	struct curl_slist *hdrs = NULL;
	char sig[160], line[256];
	long status = 0;
	CURLcode rc;

	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "X-Barge-Event: job.ended");
	snprintf(line, sizeof(line), "X-Barge-Event-Id: %s", d->event_id);
	hdrs = curl_slist_append(hdrs, line);
	if (w->secret && webhook_sign(w->secret, time_now_ms() / 1000, d->body, strlen(d->body),
				      sig, sizeof(sig)) == 0) {
		snprintf(line, sizeof(line), "X-Barge-Signature: %s", sig);
		hdrs = curl_slist_append(hdrs, line);
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, w->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(d->body));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)SEND_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errn, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	return status;
}

/* deliver makes one attempt at d and records the outcome. */
static void deliver(struct service *svc, CURL *h, struct rng *rng, const struct delivery *d)
{
	const struct webhook_cfg *w = config_find_webhook(svc->cfg, d->webhook);
	char err[CURL_ERROR_SIZE + 64] = "";
	int attempts = d->attempts + 1;
	int64_t wait;
	long status;
	struct err e;

	if (!w) {
		store_delivery_update(svc->st, d->id, true, attempts, 0,
				      "the webhook is no longer configured", &e);
		return;
	}
	status = post(h, w, d, err, sizeof(err));
	if (status >= 200 && status < 300) {
		store_delivery_update(svc->st, d->id, true, attempts, 0, NULL, &e);
		log_info("webhook %s: delivered %s (attempt %d)", w->name, d->event_id, attempts);
		return;
	}
	if (status)
		snprintf(err, sizeof(err), "the endpoint answered %ld", status);
	if (attempts >= w->max_attempts) {
		store_delivery_update(svc->st, d->id, true, attempts, 0, err, &e);
		log_error("webhook %s: gave up on %s after %d attempts: %s", w->name, d->event_id,
			  attempts, err);
		return;
	}
	/* Exponential backoff with some jitter, so that a recovering endpoint is not stampeded. */
	wait = FIRST_RETRY_MS;
	for (int i = 1; i < attempts && wait < MAX_RETRY_MS; i++)
		wait *= 2;
	if (wait > MAX_RETRY_MS)
		wait = MAX_RETRY_MS;
	wait = wait / 2 + (int64_t)(rng_unit(rng) * (double)(wait / 2));
	store_delivery_update(svc->st, d->id, false, attempts, time_now_ms() + wait, err, &e);
	log_warn("webhook %s: %s: %s; retrying in %lld ms", w->name, d->event_id, err,
		 (long long)wait);
}

void *webhook_thread_main(void *arg)
{
	struct service *svc = arg;
	CURL *h = curl_easy_init();
	struct rng rng;
	int64_t quiet_until = 0;

	rng_seed(&rng, (uint64_t)time_now_ms());
	while (h && !service_stopping(svc)) {
		struct delivery *v = NULL;
		size_t n = 0;
		struct err e;

		if (store_delivery_due(svc->st, time_now_ms(), BATCH, &v, &n, &e)) {
			/* The store is down: say so now and then, and wait a while. */
			service_store_down(&quiet_until, "webhooks", &e);
			service_nap(svc, 1000);
			continue;
		}
		for (size_t i = 0; i < n && !service_stopping(svc); i++)
			deliver(svc, h, &rng, &v[i]);
		deliveries_free(v, n);
		if (n < BATCH)
			service_nap(svc, POLL_MS);
	}
	if (h)
		curl_easy_cleanup(h);
	return NULL;
}
