/* cli.h - what the commands share: config, model resolution, printing. */
#ifndef BARGE_CLI_H
#define BARGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/runner.h"
#include "formats/format.h"
#include "util/config.h"
#include "util/err.h"

/* Exit statuses (DESIGN.md "Command line"). */
enum {
	EXIT_COMPLETED = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_STOPPED = 3
};

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_sim_server(int argc, char **argv);
/* The client commands of a barge server (jobs.c, over client.c). */
int cmd_submit(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_results(int argc, char **argv);
/* The cost-saving commands: split.c, report.c, compact.c. */
int cmd_split(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compact(int argc, char **argv);
/* `barge retry`: a follow-up job of a job's failed or unprocessed records (retry.c). */
int cmd_retry(int argc, char **argv);

/* cli_usage prints "barge CMD: message" and a hint, and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * cli_load_config loads --config (or $BARGE_CONFIG when the flag is absent)
 * over the built-in catalog. On failure it prints why and returns EXIT_USAGE.
 */
int cli_load_config(const char *cmd, const char *path, struct config *c);

/* What a model id resolves to. */
struct model_ref {
	const struct model_cfg *model;
	const struct family *fam;
	const struct backend_cfg *backend;
	const char *invocation_type; /* "InvokeModel" or "Converse" */
};

/*
 * cli_resolve_model finds model id in c and its family and backend;
 * invocation_type "Converse" selects the converse family whatever the
 * model's own. On failure e says what to do.
 */
int cli_resolve_model(const struct config *c, const char *id, const char *invocation_type,
		      struct model_ref *out, struct err *e);

/*
 * cli_split_listen reads "HOST:PORT" (or "[IPv6]:PORT") into host and port;
 * on a malformed value it prints why for command cmd and returns EXIT_USAGE.
 */
int cli_split_listen(const char *cmd, const char *arg, char *host, size_t hostsz,
		     unsigned *port);


/* Progress display on stderr: a redrawn bar on a terminal, lines otherwise. */
struct progress {
	bool enabled;
	bool tty;
	int64_t last_ms;
	int64_t interval_ms;
	bool drawn;
};
void progress_init(struct progress *p, bool enabled);
void progress_update(void *ud, const struct run_progress *rp);
/* progress_end clears the bar so that the summary starts on a clean line. */
void progress_end(struct progress *p);

/*
 * ---- Jobs whose outputs are read (results.c): a `barge run` state
 * directory or a barge server, for `barge results` and `barge retry` ----
 */
struct client;
struct client_opts;
struct results_src;

/*
 * A job as `results` and `retry` see it. j is what the store or the
 * server's Get tells (id, arn, name, model, status, message, locations,
 * role, tags, timeout, counts), with input_uri and output_uri named as the
 * objects layer names them: file:// URIs become plain paths. prefix is
 * "<output>/<job id>/", under which the job's outputs are. Owned strings;
 * free with results_job_free.
 */
struct results_job {
	struct job j;
	bool local;
	char *prefix;
};

/*
 * results_src_open decides where job (the first job of the command) is:
 * the state directory state (--state) when given, else the one of
 * $BARGE_STATE or ./.barge when it holds the job, else the barge server of
 * co. It loads the configuration (for [storage.s3] and [limits]). Returns
 * 0 with *out ready, or an exit status with the problem printed; *out is
 * closed with results_src_close either way.
 */
int results_src_open(const char *cmd, const char *state, const struct client_opts *co,
		     const char *job, struct results_src **out);
void results_src_close(struct results_src *s);
struct objects *results_src_objects(struct results_src *s);
const struct config *results_src_config(const struct results_src *s);
/* results_src_client is the connection to the server, or NULL for a state directory. */
struct client *results_src_client(struct results_src *s);
/* results_src_state is the absolute state directory, or NULL for a server. */
const char *results_src_state(const struct results_src *s);

/*
 * results_job_get finds job (an id or an ARN) in s. Returns 0 with *out
 * filled (the caller frees it with results_job_free), or an exit status
 * with the problem printed.
 */
int results_job_get(struct results_src *s, const char *job, struct results_job *out);
void results_job_free(struct results_job *j);

/*
 * results_job_inputs returns the job's input objects, named as its outputs
 * are (<name>.out): from the store for a `barge run` job, else by listing
 * its input location as the server did. Free with job_inputs_free.
 */
int results_job_inputs(struct results_src *s, const struct results_job *j,
		       struct job_input **out, size_t *n, struct err *e);

/*
 * results_job_outs lists the job's <name>.out files (not parts/, not the
 * manifest) by their names under prefix, in byte order. *rel is an array
 * of malloc'd names that the caller frees with results_names_free.
 */
int results_job_outs(struct results_src *s, const struct results_job *j, char ***rel,
		     size_t *n, struct err *e);
void results_names_free(char **v, size_t n);

/* What one line (an input record or an output line) holds, as written. */
struct results_line {
	bool object;        /* the line is a JSON object */
	const char *id;     /* recordId with its quotes, when it is a string */
	size_t id_len;
	const char *mi;     /* modelInput, when present and not null */
	size_t mi_len;
	bool error;         /* an output line with an "error" member */
};

/* results_line_scan fills out from line; a line that is not JSON gives object false. */
void results_line_scan(const char *line, size_t len, struct results_line *out);

struct jsonl_reader;
struct jsonl_line;

/*
 * results_read_line reads the next line of r, the output file uri, into l
 * and its scan into s: 1 with a line, 0 at the end, or a negative code for
 * a line that is not an output line (no JSON object with a recordId).
 */
int results_read_line(struct jsonl_reader *r, const char *uri, struct jsonl_line *l,
		      struct results_line *s, struct err *e);

/* One record of an input, with its output line if the job processed it (retry.c). */
struct retry_rec {
	const struct job_input *in;
	int64_t idx;               /* the record's index in its input */
	struct results_line rec;   /* the input line */
	const char *id;            /* the recordId its output line has: the input's, or */
	size_t id_len;             /* the one generated for it, quoted */
	const char *out;           /* its output line, or NULL when it was never processed */
	size_t out_len;
	struct results_line res;   /* what the output line holds */
};

/*
 * retry_walk reads input in of job job_id and its output <prefix><name>.out
 * side by side, both in input order, and calls cb for every input record
 * (cb returns 0 to go on, or a negative code). Memory is two lines, however
 * large the files. An output record that is not the next input records'
 * (the input changed, or the outputs are not this input's) is an error.
 */
int retry_walk(struct objects *o, const char *job_id, const char *prefix,
	       const struct job_input *in, size_t max_line,
	       int (*cb)(const struct retry_rec *r, void *ud), void *ud, struct err *e);

/* Output lines are longer than input lines (they add modelOutput): read with this cap. */
#define RESULTS_LINE_MAX ((size_t)256 << 20)

#endif
