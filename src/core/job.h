/* job.h - a batch job, its status machine, and its chunks. */
#ifndef BARGE_JOB_H
#define BARGE_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ids.h"

enum job_status {
	JS_SUBMITTED,
	JS_VALIDATING,
	JS_SCHEDULED,
	JS_IN_PROGRESS,
	JS_COMPLETED,
	JS_PARTIALLY_COMPLETED,
	JS_FAILED,
	JS_STOPPING,
	JS_STOPPED,
	JS_EXPIRED,
	JS__COUNT
};

/* The job's counts; the manifest's six numbers plus retry bookkeeping. */
struct job_counts {
	int64_t total;
	int64_t processed;
	int64_t success;
	int64_t errors;
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t retries;
	int64_t throttles;
};

/*
 * A job as the store keeps it. Strings are malloc'd and owned by the struct
 * (job_free releases them); NULL means absent.
 */
struct job {
	char id[IDS_JOB_LEN + 1];
	char *arn;
	char *name;
	char *account;     /* account name, "" for local runs */
	char *model_id;
	char *invocation_type; /* "InvokeModel" or "Converse" */
	enum job_status status;
	char *message;
	char *input_uri;   /* an object or a prefix */
	char *output_uri;  /* the output prefix; outputs go under <it>/<id>/ */
	char *run_key;     /* identifies a `barge run` command line, for resume */
	char *client_token;
	char *role_arn;
	char *tags_json;   /* JSON array of {"key","value"} */
	bool skip_invalid;
	int timeout_hours;
	int64_t submit_ms, modified_ms, start_ms, end_ms, expire_ms;
	struct job_counts c;
	double price_in;   /* USD per 1,000 input tokens, on demand */
	double price_out;
	double discount;   /* batch discount, 0.5 = half price */
};

/* An input object of a job, as found at validation. */
struct job_input {
	unsigned idx;
	char *uri;
	char *name;     /* the output is <name>.out */
	uint64_t size;
	char etag[80];  /* the version validated; a changed input refuses to resume */
	int64_t records;
};

enum chunk_state { CHUNK_PENDING, CHUNK_LEASED, CHUNK_DONE };

/*
 * A chunk: a contiguous run of records of one input, found by byte offsets
 * at validation. first_record counts records (non-blank lines) from the
 * start of its input.
 */
struct chunk {
	char job_id[IDS_JOB_LEN + 1];
	unsigned seq;          /* position in the job, from 0 */
	unsigned input_idx;
	int64_t first_record;
	int64_t nrecords;
	uint64_t start_off;
	uint64_t end_off;
	uint64_t first_line;
	enum chunk_state state;
	char lease_owner[40];
	int64_t lease_expires_ms;
	struct job_counts c;   /* what the chunk contributed when it finished */
};

/*
 * A record found invalid at validation of a job that skips invalid records:
 * it becomes an error record (errorCode 400) without being sent. Kept so
 * that problems only validation can see (duplicate ids) survive a resume.
 */
struct invalid_rec {
	unsigned input_idx;
	int64_t record_idx; /* within its input */
	uint64_t line_no;
	char *message;      /* "file:line: what", malloc'd */
};

const char *job_status_name(enum job_status s);
/* job_status_parse returns the status named s, or -1. */
int job_status_parse(const char *s);
bool job_status_terminal(enum job_status s);
/* job_transition_ok says whether DESIGN.md's lifecycle allows from -> to. */
bool job_transition_ok(enum job_status from, enum job_status to);

void job_init(struct job *j);
void job_free(struct job *j);
/*
 * job_copy makes dst (not initialised) a deep copy of src. Returns 0, or
 * ERR_NOMEM with dst freed.
 */
int job_copy(struct job *dst, const struct job *src);
void job_input_free(struct job_input *in);
/* job_inputs_free frees an array of n inputs and the array. */
void job_inputs_free(struct job_input *v, size_t n);
/* invalid_recs_free frees an array of n invalid records and the array. */
void invalid_recs_free(struct invalid_rec *v, size_t n);

#endif
