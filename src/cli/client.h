/* client.h - the client of barge's Bedrock job API: endpoint, credentials, signed calls, errors. */
#ifndef BARGE_CLI_CLIENT_H
#define BARGE_CLI_CLIENT_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/awscreds.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/sigv4.h"

/* Option codes of the flags every client command takes (past any char). */
enum {
	CLIENT_OPT_ENDPOINT = 0x100,
	CLIENT_OPT_REGION,
	CLIENT_OPT_CONFIG,
	CLIENT_OPT_KEY_ID,
	CLIENT_OPT_SECRET,
	CLIENT_OPT_FIRST_OWN /* commands number their own long-only options from here */
};

/* The getopt_long entries of those flags, to put in each command's table. */
#define CLIENT_COMMON_OPTIONS                                                 \
	{"endpoint", required_argument, NULL, CLIENT_OPT_ENDPOINT},           \
	{"region", required_argument, NULL, CLIENT_OPT_REGION},               \
	{"config", required_argument, NULL, CLIENT_OPT_CONFIG},               \
	{"access-key-id", required_argument, NULL, CLIENT_OPT_KEY_ID},        \
	{"secret-access-key", required_argument, NULL, CLIENT_OPT_SECRET},    \
	{"help", no_argument, NULL, 'h'}

/* Their --help lines, and how the server's errors map to exit statuses. */
#define CLIENT_COMMON_HELP                                                              \
	"server options (every client command):\n"                                      \
	"  --endpoint URL         the barge server (default: $BARGE_ENDPOINT, else\n"      \
	"                         http://<[server] listen of the configuration>, which\n"  \
	"                         is http://127.0.0.1:8080 without a configuration)\n"      \
	"  --region R             SigV4 region (default: $AWS_REGION, $AWS_DEFAULT_REGION,\n" \
	"                         the configuration's [server] region, us-east-1)\n"       \
	"  --config FILE          configuration (default: $BARGE_CONFIG, else built-ins)\n" \
	"  --access-key-id ID     credentials for SigV4 signing, with\n"                   \
	"  --secret-access-key K  (default: $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY,\n"  \
	"                         else the first [account.*] of the configuration with\n"  \
	"                         keys, else ~/.aws/credentials ($AWS_PROFILE))\n"          \
	"  -h, --help             this help\n"

#define CLIENT_EXIT_HELP                                                                 \
	"A request the server refused as invalid (ValidationException) or as\n"           \
	"unauthorised (403: AccessDenied, InvalidSignature, UnrecognizedClient) exits 2,\n" \
	"like bad flags or missing credentials; other server errors (not found,\n"        \
	"conflict, quota, throttling, server faults) and an unreachable server exit 1.\n"

struct client_opts {
	const char *endpoint;
	const char *region;
	const char *config;
	const char *access_key_id;
	const char *secret_access_key;
};

/*
 * client_opt_take stores the common flag c (with its argument) in o and
 * returns true, or returns false when c is not one of them.
 */
bool client_opt_take(struct client_opts *o, int c, const char *arg);

/*
 * A connection to a barge server (or Bedrock itself): where, as whom, and
 * the reusable pieces of a request. Open with client_open, close with
 * client_close, which wipes the credentials.
 */
struct client {
	const char *cmd;         /* the command, for messages */
	char base[512];          /* scheme://authority of the endpoint */
	char prefix[512];        /* the endpoint's own path, without a trailing '/' */
	char host[256];          /* the Host header, exactly as signed */
	char endpoint_from[160]; /* where the endpoint came from, for messages */
	char region[64];
	char account_id[16];     /* the account of the credentials, or 000000000000 */
	struct aws_creds creds;
	void *curl;              /* CURL *, reused between calls */
	struct sigv4_signed sig;
	struct buf path;
	struct buf url;
};

/* An answer: the status, the error name if any, the body, its JSON on success. */
struct client_resp {
	long status;
	char error_type[128];
	char retry_after[32];
	bool retryable;
	struct buf body;
	json_object *json; /* owned; the parsed body of a 2xx answer */
};

void client_resp_init(struct client_resp *r);
void client_resp_free(struct client_resp *r);

/*
 * client_open chooses the endpoint, region and credentials from o, the
 * environment and the configuration (see CLIENT_COMMON_HELP) and prepares
 * the transport. Returns 0, or ERR_CONFIG/ERR_AUTH/ERR_INVAL with e saying
 * what to fix. c must be closed with client_close either way.
 */
int client_open(struct client *c, const char *cmd, const struct client_opts *o, struct err *e);
void client_close(struct client *c);

/*
 * client_call sends one signed request: path as it goes on the wire
 * (already percent-encoded once, without the endpoint's prefix), query raw
 * (NULL for none), body a NUL-terminated JSON text or NULL for none.
 * Throttling and unavailability answers are retried a few times. Returns 0
 * for a 2xx answer with r->json the parsed body; otherwise a negative code
 * with e holding "<ErrorType>: <message>" (or why the server could not be
 * reached) and r the answer, if any.
 */
int client_call(struct client *c, const char *method, const char *path, const char *query,
		const char *body, struct client_resp *r, struct err *e);

/*
 * client_fail prints "barge <cmd>: <message>" and, when one helps, a line
 * saying what to do next, and returns the exit status for rc (see
 * CLIENT_EXIT_HELP).
 */
int client_fail(const struct client *c, int rc, const struct err *e, const struct client_resp *r);

/* client_exit_status maps a code from client_open or client_call to an exit status. */
int client_exit_status(int rc);

/*
 * client_check_job returns true if job is a job id (12 characters [a-z0-9])
 * or a model-invocation-job ARN ending in one.
 */
bool client_check_job(const char *job);

/*
 * client_job_path writes "/model-invocation-job/<job percent-encoded>" and
 * suffix (NULL for none) to out.
 */
int client_job_path(struct buf *out, const char *job, const char *suffix);

/* client_job_id copies the id at the end of a job ARN (or an id) to out. */
void client_job_id(const char *arn_or_id, char *out, size_t n);

/*
 * client_get_job calls GetModelInvocationJob for job; on 0, r->json is the
 * job object.
 */
int client_get_job(struct client *c, const char *job, struct client_resp *r, struct err *e);

/*
 * client_help prints a command's own help, then the options every client
 * command shares, then the exit statuses; it returns 0.
 */
int client_help(const char *own, const char *exits);

/*
 * client_start is client_open for a command: a failure is printed as the
 * command's error and its exit status returned; 0 when c is ready.
 */
int client_start(struct client *c, const char *cmd, const struct client_opts *o);

/*
 * client_take_job takes the single JOB argument left after getopt_long
 * (argv[optind]) into *job, checked with client_check_job. Returns 0 or
 * EXIT_USAGE with the problem printed.
 */
int client_take_job(const char *cmd, int argc, char **argv, const char **job);

/* client_status_ended is true for a status a job never leaves (Completed, Failed, ...). */
bool client_status_ended(const char *status);

/* client_job_uri returns job.<config>.<inner>.s3Uri ("outputDataConfig", "s3OutputDataConfig"), or NULL. */
const char *client_job_uri(json_object *job, const char *config, const char *inner);

#endif
