/* service.h - the job service: what every API dialect and the server share. */
#ifndef BARGE_SERVICE_H
#define BARGE_SERVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/job.h"
#include "engine/limiter.h"
#include "objects/objects.h"
#include "store/store.h"
#include "util/config.h"
#include "util/err.h"

/*
 * The service holds what a running server shares: the configuration, the
 * store, the object stores, the backends' shared limits, and the clock. Its
 * job operations check everything a user can get wrong and say so with the
 * codes the API layers map to their dialect's errors:
 *   ERR_INVAL     a field is missing or malformed (ValidationException)
 *   ERR_NOTFOUND  no such job or model for this account (ResourceNotFound)
 *   ERR_CONFLICT  the job's status forbids it (ConflictException)
 *   ERR_LIMIT     a quota is reached (ServiceQuotaExceededException)
 *   ERR_AUTH      a location outside the account's allowed_uris (AccessDenied)
 */
struct service {
	const struct config *cfg;
	struct store *st;
	struct objects *obj;
	struct limiter_set *limits;
	char *journal_dir;
	char *batches;          /* [server] batches, default <data>/batches */
	int64_t hour_ms;        /* the length of an hour: 3,600,000 except in tests */
	pthread_mutex_t mu;
	pthread_cond_t wake;    /* the scheduler waits on it between rounds */
	bool stopping;
};

/* A request to create a job, in the service's terms (strings borrowed). */
struct job_request {
	const struct account_cfg *account;
	const char *name;
	const char *model_id;
	const char *invocation_type; /* NULL: InvokeModel */
	const char *input_uri;
	const char *output_uri;
	int timeout_hours;           /* 0: 24 */
	const char *client_token;    /* NULL: none */
	const char *role_arn;
	const char *tags_json;       /* a JSON array of {"key","value"}, or NULL */
	/*
	 * For the OpenAI and Anthropic dialects, which keep a batch's input and
	 * results under [server] batches themselves: the job id they chose
	 * (NULL: a new one), locations that are barge's own rather than the
	 * account's (allowed_uris is not consulted), and invalid records that
	 * become error records instead of failing the job.
	 */
	const char *job_id;
	bool internal;
	bool skip_invalid;
};

/*
 * service_init prepares svc over an opened store (borrowed, as are cfg and
 * obj). The caller frees it with service_free.
 */
int service_init(struct service *svc, const struct config *cfg, struct store *st,
		 struct objects *obj, const char *data_dir, struct err *e);
void service_free(struct service *svc);
/*
 * service_store_down says that the store failed (e), at most once every
 * SERVICE_DOWN_LOG_MS per thread (*quiet_until is the calling thread's,
 * initially 0): while a database restarts, every call of every thread
 * fails, and saying each would bury the log. who names the thread.
 */
#define SERVICE_DOWN_LOG_MS 10000
void service_store_down(int64_t *quiet_until, const char *who, const struct err *e);

/* service_wake tells the scheduler that something changed. */
void service_wake(struct service *svc);
/* service_stopping is true once the service has been asked to stop. */
bool service_stopping(struct service *svc);
/*
 * service_nap waits up to ms for service_wake or the stop, so that a
 * background thread with nothing to do neither spins nor sleeps through
 * a shutdown. It returns at once when the service is stopping.
 */
void service_nap(struct service *svc, int64_t ms);

/*
 * service_create checks rq and creates a Submitted job, or returns the job
 * the account already created with the same client token. *out is filled
 * (the caller job_frees it).
 */
int service_create(struct service *svc, const struct job_request *rq, struct job *out,
		   struct err *e);
/*
 * service_get finds job ident (a job id or a job ARN) of account; a job of
 * another account is ERR_NOTFOUND, as if it did not exist.
 */
int service_get(struct service *svc, const struct account_cfg *account, const char *ident,
		struct job *out, struct err *e);
/* service_stop asks job ident to stop; ERR_CONFLICT when it is already over. */
int service_stop(struct service *svc, const struct account_cfg *account, const char *ident,
		 struct err *e);

/*
 * service_job_limits fills out with the limits job j is validated against:
 * [limits], except that a batch of the Anthropic dialect may hold what
 * that API allows (100,000 requests, 256 MiB), since its clients count on
 * it whatever the Bedrock-sized defaults say.
 */
void service_job_limits(const struct service *svc, const struct job *j, struct limits_cfg *out);

/* service_arn writes the ARN of job id for account into out. */
void service_arn(const struct service *svc, const struct account_cfg *account, const char *id,
		 char *out, size_t n);
/* service_find_account returns the account whose access key id is akid, or NULL. */
const struct account_cfg *service_find_account(const struct service *svc, const char *akid);
/* service_resolve finds a job's model, family and backend in the configuration. */
struct run_model;
int service_model(const struct service *svc, const struct job *j, struct run_model *m,
		  struct err *e);

#endif
