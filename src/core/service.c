/* service.c - the job service: what every API dialect and the server share. */
#include "core/service.h"
#include "core/runner.h"
#include "core/webhook.h"
#include "engine/engine.h"
#include "formats/format.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uri.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS ((int64_t)3600 * 1000)

int service_init(struct service *svc, const struct config *cfg, struct store *st,
		 struct objects *obj, const char *data_dir, struct err *e)
{
	char path[4096];

	memset(svc, 0, sizeof(*svc));
	svc->cfg = cfg;
	svc->st = st;
	svc->obj = obj;
	svc->hour_ms = cfg->server.hour_seconds > 0 ? (int64_t)cfg->server.hour_seconds * 1000
						     : HOUR_MS;
	snprintf(path, sizeof(path), "%s/journal", data_dir);
	svc->journal_dir = strdup(path);
	snprintf(path, sizeof(path), "%s/batches", data_dir);
	svc->batches = strdup(cfg->server.batches ? cfg->server.batches : path);
	svc->limits = limiter_set_new();
	if (!svc->journal_dir || !svc->batches || !svc->limits) {
		service_free(svc);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&svc->mu, NULL);
	pthread_cond_init(&svc->wake, NULL);
	return 0;
}

void service_free(struct service *svc)
{
	if (svc->journal_dir) {
		pthread_mutex_destroy(&svc->mu);
		pthread_cond_destroy(&svc->wake);
	}
	limiter_set_free(svc->limits);
	free(svc->journal_dir);
	free(svc->batches);
	memset(svc, 0, sizeof(*svc));
}

void service_store_down(int64_t *quiet_until, const char *who, const struct err *e)
{
	int64_t mono = time_mono_ms();

	if (mono < *quiet_until)
		return;
	*quiet_until = mono + SERVICE_DOWN_LOG_MS;
	log_error("%s: %s (said again in %d s at most while it lasts)", who, e->msg,
		  SERVICE_DOWN_LOG_MS / 1000);
}

void service_wake(struct service *svc)
{
	pthread_mutex_lock(&svc->mu);
	pthread_cond_broadcast(&svc->wake);
	pthread_mutex_unlock(&svc->mu);
}

bool service_stopping(struct service *svc)
{
	bool s;

	pthread_mutex_lock(&svc->mu);
	s = svc->stopping;
	pthread_mutex_unlock(&svc->mu);
	return s;
}

void service_nap(struct service *svc, int64_t ms)
{
	struct timespec ts;

	pthread_mutex_lock(&svc->mu);
	if (!svc->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&svc->wake, &svc->mu, &ts);
	}
	pthread_mutex_unlock(&svc->mu);
}

const struct account_cfg *service_find_account(const struct service *svc, const char *akid)
{
	for (size_t i = 0; i < svc->cfg->n_accounts; i++) {
		const struct account_cfg *a = &svc->cfg->accounts[i];

		if (a->access_key_id && !strcmp(a->access_key_id, akid))
			return a;
	}
	return NULL;
}

void service_arn(const struct service *svc, const struct account_cfg *account, const char *id,
		 char *out, size_t n)
{
	snprintf(out, n, "arn:aws:bedrock:%s:%s:model-invocation-job/%s",
		 svc->cfg->server.region ? svc->cfg->server.region : "us-east-1",
		 account ? account->account_id : "000000000000", id);
}

/*
 * find_model finds the configured model a modelId names: the id itself, a
 * foundation-model ARN ("arn:aws:bedrock:REGION::foundation-model/ID"), or
 * a cross-region inference profile ("us.ID", or its ARN), as Bedrock batch
 * accepts them.
 */
static const struct model_cfg *find_model(const struct config *cfg, const char *id)
{
	static const char *const geo[] = {"us.", "eu.", "apac.", "us-gov.", "ca.", "jp.", NULL};
	const struct model_cfg *m = config_find_model(cfg, id);
	const char *slash;

	if (m)
		return m;
	if (!strncmp(id, "arn:", 4) && (slash = strrchr(id, '/')) &&
	    (strstr(id, ":foundation-model/") || strstr(id, ":inference-profile/")))
		return find_model(cfg, slash + 1);
	for (size_t i = 0; geo[i]; i++) {
		size_t n = strlen(geo[i]);

		if (!strncmp(id, geo[i], n) && (m = config_find_model(cfg, id + n)))
			return m;
	}
	return NULL;
}

int service_model(const struct service *svc, const struct job *j, struct run_model *m,
		  struct err *e)
{
	const struct backend_driver *d;
	const char *fam;

	memset(m, 0, sizeof(*m));
	m->model = find_model(svc->cfg, j->model_id);
	if (!m->model)
		return err_set(e, ERR_INVAL, "model %s is not configured on this server", j->model_id);
	fam = j->invocation_type && !strcmp(j->invocation_type, "Converse") ? "converse"
									    : m->model->family;
	m->fam = family_by_name(fam);
	m->backend = config_find_backend(svc->cfg, m->model->backend);
	if (!m->fam || !m->backend)
		return err_set(e, ERR_INVAL, "model %s is misconfigured on this server", j->model_id);
	d = backend_driver_for(m->backend->kind);
	if (!d || !family_supports_wire(m->fam, d->wire(m->fam)))
		return err_set(e, ERR_INVAL, "model %s cannot be invoked as %s on this server",
			       j->model_id, fam);
	return 0;
}

/*
 * valid_name checks Bedrock's job name rule: 1 to 63 characters, a letter
 * or digit first, then letters, digits and "+-.".
 */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("+-.", s[i]))
			return false;
	}
	return true;
}

/*
 * job_id_of finds the job id in ident: the id itself, or a job ARN
 * "arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/ID". An ARN of
 * another region or account names no job of this caller (ERR_NOTFOUND).
 */
static int job_id_of(const struct service *svc, const struct account_cfg *a,
		     const char *ident, char id[IDS_JOB_LEN + 1], struct err *e)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	const char *p = ident;

	if (!strncmp(ident, "arn:", 4)) {
		char part[16], service[16], region[64], account[32], rest[64];
		const char *region_here = svc->cfg->server.region ? svc->cfg->server.region
								  : "us-east-1";

		if (sscanf(ident, "arn:%15[^:]:%15[^:]:%63[^:]:%31[^:]:%63s", part, service, region,
			   account, rest) != 5 ||
		    strcmp(service, "bedrock") || strncmp(rest, "model-invocation-job/", 21))
			goto bad;
		p = rest + 21;
		if (strlen(p) != IDS_JOB_LEN || strspn(p, alnum) != IDS_JOB_LEN)
			goto bad;
		if (strcmp(region, region_here) || strcmp(account, a->account_id))
			return err_set(e, ERR_NOTFOUND, "no job %s was found", ident);
		memcpy(id, p, IDS_JOB_LEN + 1);
		return 0;
	}
	if (strlen(p) != IDS_JOB_LEN || strspn(p, alnum) != IDS_JOB_LEN)
		goto bad;
	memcpy(id, p, IDS_JOB_LEN + 1);
	return 0;
bad:
	return err_set(e, ERR_INVAL,
		       "\"%.100s\" is not a job identifier (a 12-character job id or a job ARN)",
		       ident);
}

/* check_location canonicalises uri into out and checks the account may use it. */
static int check_location(const struct account_cfg *a, const char *what, const char *uri,
			  char *out, size_t n, struct err *e)
{
	int rc = uri_canonical(uri, out, n, e);

	if (rc) {
		err_prefix(e, "%s", what);
		return rc;
	}
	if (!uri_allowed(out, a->allowed_uris, a->n_allowed_uris))
		return err_set(e, ERR_AUTH,
			       "%s %.300s is not under a location account %s may use (its "
			       "allowed_uris)",
			       what, uri, a->name);
	return 0;
}

int service_create(struct service *svc, const struct job_request *rq, struct job *out,
		   struct err *e)
{
	const struct account_cfg *a = rq->account;
	char in[URI_MAX], outloc[URI_MAX], arn[256];
	struct run_model m;
	struct job j;
	int64_t queued = 0, now;
	int rc;

	job_init(out);
	if (!rq->name || !valid_name(rq->name))
		return err_set(e, ERR_INVAL,
			       "jobName must be 1 to 63 letters, digits and \"+-.\", starting with a "
			       "letter or digit");
	if (rq->timeout_hours && (rq->timeout_hours < 24 || rq->timeout_hours > 168))
		return err_set(e, ERR_INVAL,
			       "timeoutDurationInHours must be between 24 and 168, got %d",
			       rq->timeout_hours);
	if (rq->invocation_type && strcmp(rq->invocation_type, "InvokeModel") &&
	    strcmp(rq->invocation_type, "Converse"))
		return err_set(e, ERR_INVAL,
			       "modelInvocationType must be InvokeModel or Converse, got \"%.40s\"",
			       rq->invocation_type);
	if (rq->client_token) {
		rc = store_job_find_token(svc->st, a->name, rq->client_token, out, e);
		if (rc != ERR_NOTFOUND)
			return rc; /* the same job again, or a store failure */
		job_init(out);
	}
	job_init(&j);
	j.model_id = (char *)rq->model_id;
	j.invocation_type = (char *)(rq->invocation_type ? rq->invocation_type : "InvokeModel");
	rc = service_model(svc, &j, &m, e);
	if (rc)
		return rc;
	if (rq->internal) {
		if ((rc = uri_canonical(rq->input_uri, in, sizeof(in), e)) ||
		    (rc = uri_canonical(rq->output_uri, outloc, sizeof(outloc), e)))
			return rc;
	} else {
		rc = check_location(a, "the input", rq->input_uri, in, sizeof(in), e);
		if (rc)
			return rc;
		rc = check_location(a, "the output", rq->output_uri, outloc, sizeof(outloc), e);
		if (rc)
			return rc;
	}
	if (rq->tags_json && strstr(rq->tags_json, "barge:webhook")) {
		/* A webhook tag must name a configured webhook, or events would vanish. */
		struct job t;

		job_init(&t);
		t.tags_json = (char *)rq->tags_json;
		t.account = (char *)"";
		if (!webhook_name_of(svc, &t))
			return err_set(e, ERR_INVAL,
				       "the tag barge:webhook names no webhook configured on this server");
	}
	rc = store_job_count(svc->st, a->name, rq->model_id,
			     JS_BIT(JS_SUBMITTED) | JS_BIT(JS_VALIDATING) | JS_BIT(JS_SCHEDULED),
			     &queued, e);
	if (rc)
		return rc;
	if (queued >= a->max_queued_jobs_per_model)
		return err_set(e, ERR_LIMIT,
			       "account %s already has %lld jobs waiting for model %s, the most "
			       "allowed (max_queued_jobs_per_model); wait for some to start",
			       a->name, (long long)queued, rq->model_id);
	now = time_now_ms();
	job_init(&j);
	if (rq->job_id)
		snprintf(j.id, sizeof(j.id), "%s", rq->job_id);
	else
		ids_new_job(j.id);
	service_arn(svc, a, j.id, arn, sizeof(arn));
	j.arn = strdup(arn);
	j.name = strdup(rq->name);
	j.account = strdup(a->name);
	j.model_id = strdup(rq->model_id);
	j.invocation_type = strdup(rq->invocation_type ? rq->invocation_type : "InvokeModel");
	j.input_uri = strdup(in);
	j.output_uri = strdup(outloc);
	j.client_token = rq->client_token ? strdup(rq->client_token) : NULL;
	j.role_arn = rq->role_arn ? strdup(rq->role_arn) : NULL;
	j.tags_json = rq->tags_json ? strdup(rq->tags_json) : NULL;
	j.status = JS_SUBMITTED;
	j.skip_invalid = rq->skip_invalid;
	j.timeout_hours = rq->timeout_hours ? rq->timeout_hours : 24;
	j.submit_ms = j.modified_ms = now;
	j.expire_ms = now + (int64_t)j.timeout_hours * svc->hour_ms;
	j.price_in = m.model->input_price_per_1k;
	j.price_out = m.model->output_price_per_1k;
	j.discount = m.model->batch_discount;
	if (!j.arn || !j.name || !j.account || !j.model_id || !j.invocation_type ||
	    !j.input_uri || !j.output_uri || (rq->client_token && !j.client_token) ||
	    (rq->role_arn && !j.role_arn) || (rq->tags_json && !j.tags_json)) {
		job_free(&j);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	rc = store_job_insert(svc->st, &j, e);
	if (rc == ERR_CONFLICT && rq->client_token) {
		/* Another request with the same token won the race: answer its job. */
		job_free(&j);
		return store_job_find_token(svc->st, a->name, rq->client_token, out, e);
	}
	if (rc) {
		job_free(&j);
		return rc;
	}
	log_info("job %s created by account %s: model %s, input %s", j.id, a->name, j.model_id,
		 j.input_uri);
	*out = j;
	service_wake(svc);
	return 0;
}

void service_job_limits(const struct service *svc, const struct job *j, struct limits_cfg *out)
{
	*out = svc->cfg->limits;
	if (j->tags_json && strstr(j->tags_json, "\"barge:dialect\",\"value\":\"anthropic\"")) {
		if (out->max_records_per_job < 100000)
			out->max_records_per_job = 100000;
		if (out->max_file_bytes < ((uint64_t)256 << 20))
			out->max_file_bytes = (uint64_t)256 << 20;
	}
}

int service_get(struct service *svc, const struct account_cfg *account, const char *ident,
		struct job *out, struct err *e)
{
	char id[IDS_JOB_LEN + 1];
	int rc;

	job_init(out);
	rc = job_id_of(svc, account, ident, id, e);
	if (rc)
		return rc;
	rc = store_job_get(svc->st, id, out, e);
	if (rc == 0 && strcmp(out->account ? out->account : "", account->name)) {
		/* Another account's job is not there as far as this one knows. */
		job_free(out);
		rc = ERR_NOTFOUND;
	}
	if (rc == ERR_NOTFOUND)
		return err_set(e, ERR_NOTFOUND, "no job %s was found", id);
	if (rc == 0 && !job_status_terminal(out->status)) {
		/* Live counts: whole chunks done, plus how far the running ones got. */
		struct job_counts live;

		if (store_job_live(svc->st, id, &live, e) == 0) {
			out->c.processed += live.processed;
			out->c.success += live.success;
			out->c.errors += live.errors;
			out->c.input_tokens += live.input_tokens;
			out->c.output_tokens += live.output_tokens;
		}
	}
	return rc;
}

int service_stop(struct service *svc, const struct account_cfg *account, const char *ident,
		 struct err *e)
{
	struct job j;
	int rc = service_get(svc, account, ident, &j, e);

	if (rc)
		return rc;
	if (job_status_terminal(j.status)) {
		rc = err_set(e, ERR_CONFLICT, "job %s is %s: only a job that has not ended can be stopped",
			     j.id, job_status_name(j.status));
	} else if (j.status != JS_STOPPING) {
		rc = store_job_set_status(svc->st, j.id, JS_STOPPING, NULL, time_now_ms(), e);
		if (rc == ERR_CONFLICT)
			rc = err_set(e, ERR_CONFLICT, "job %s ended meanwhile and cannot be stopped",
				     j.id);
		if (!rc)
			log_info("job %s: Stopping (asked by account %s)", j.id, account->name);
	}
	job_free(&j);
	service_wake(svc);
	return rc;
}
