/* job.c - a batch job's status machine and bookkeeping. */
#include "core/job.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[JS__COUNT] = {
	"Submitted", "Validating", "Scheduled", "InProgress", "Completed",
	"PartiallyCompleted", "Failed", "Stopping", "Stopped", "Expired",
};

const char *job_status_name(enum job_status s)
{
	return (unsigned)s < JS__COUNT ? names[s] : "Unknown";
}

int job_status_parse(const char *s)
{
	for (int i = 0; i < JS__COUNT; i++) {
		if (!strcmp(names[i], s))
			return i;
	}
	return -1;
}

bool job_status_terminal(enum job_status s)
{
	return s == JS_COMPLETED || s == JS_PARTIALLY_COMPLETED || s == JS_FAILED ||
	       s == JS_STOPPED || s == JS_EXPIRED;
}

/*
 * The lifecycle of DESIGN.md. Two transitions go back from a terminal or
 * stopping state: a `barge run` resumes a Stopped job (Stopped -> InProgress),
 * and a crash during validation restarts it (Validating -> Validating is
 * allowed by the caller simply not changing status).
 */
bool job_transition_ok(enum job_status from, enum job_status to)
{
	switch (from) {
	case JS_SUBMITTED:
		return to == JS_VALIDATING || to == JS_STOPPING || to == JS_STOPPED ||
		       to == JS_EXPIRED || to == JS_FAILED;
	case JS_VALIDATING:
		return to == JS_SCHEDULED || to == JS_FAILED || to == JS_STOPPING ||
		       to == JS_STOPPED || to == JS_EXPIRED;
	case JS_SCHEDULED:
		return to == JS_IN_PROGRESS || to == JS_STOPPING || to == JS_STOPPED ||
		       to == JS_EXPIRED || to == JS_FAILED;
	case JS_IN_PROGRESS:
		return to == JS_COMPLETED || to == JS_PARTIALLY_COMPLETED || to == JS_FAILED ||
		       to == JS_STOPPING || to == JS_STOPPED;
	case JS_STOPPING:
		return to == JS_STOPPED || to == JS_FAILED || to == JS_COMPLETED;
	case JS_STOPPED:
		return to == JS_IN_PROGRESS;
	default:
		return false;
	}
}

void job_init(struct job *j)
{
	memset(j, 0, sizeof(*j));
	j->timeout_hours = 24;
	j->discount = 0.5;
}

void job_free(struct job *j)
{
	free(j->arn);
	free(j->name);
	free(j->account);
	free(j->model_id);
	free(j->invocation_type);
	free(j->message);
	free(j->input_uri);
	free(j->output_uri);
	free(j->run_key);
	free(j->client_token);
	free(j->role_arn);
	free(j->tags_json);
	job_init(j);
}

int job_copy(struct job *dst, const struct job *src)
{
	char **const fields[] = {&dst->arn, &dst->name, &dst->account, &dst->model_id,
				 &dst->invocation_type, &dst->message, &dst->input_uri,
				 &dst->output_uri, &dst->run_key, &dst->client_token,
				 &dst->role_arn, &dst->tags_json};

	*dst = *src;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (*fields[i])
			*fields[i] = strdup(*fields[i]);
	}
	/* A field that was set and is NULL now failed to copy. */
	if ((src->arn && !dst->arn) || (src->name && !dst->name) ||
	    (src->account && !dst->account) || (src->model_id && !dst->model_id) ||
	    (src->invocation_type && !dst->invocation_type) || (src->message && !dst->message) ||
	    (src->input_uri && !dst->input_uri) || (src->output_uri && !dst->output_uri) ||
	    (src->run_key && !dst->run_key) || (src->client_token && !dst->client_token) ||
	    (src->role_arn && !dst->role_arn) || (src->tags_json && !dst->tags_json)) {
		job_free(dst);
		return ERR_NOMEM;
	}
	return 0;
}

void job_input_free(struct job_input *in)
{
	free(in->uri);
	free(in->name);
	memset(in, 0, sizeof(*in));
}

void job_inputs_free(struct job_input *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		job_input_free(&v[i]);
	free(v);
}

void invalid_recs_free(struct invalid_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].message);
	free(v);
}
