/* run.c - `barge run`: a whole batch job on this machine, resumable. */
#include "cli/cli.h"
#include "core/finalize.h"
#include "core/pricing.h"
#include "core/runner.h"
#include "core/validate.h"
#include "objects/objects.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: barge run INPUT... --model ID --output DIR [options]\n"
	"\n"
	"Runs every record of the JSONL inputs against the model and writes\n"
	"DIR/<job id>/<input>.out and DIR/<job id>/manifest.json.out. An INPUT may be\n"
	"a file or a directory (every .jsonl under it), or an s3://bucket/key object or\n"
	"prefix (the store is set in [storage.s3]). Interrupted (Ctrl-C, SIGTERM,\n"
	"or a crash), the same command resumes the job where it stopped.\n"
	"\n"
	"options:\n"
	"  --model ID             model id (see `barge models`)\n"
	"  --output DIR           output location (a directory, file:// or s3:// URI)\n"
	"  --config FILE          configuration (default: $BARGE_CONFIG, else built-ins)\n"
	"  --state DIR            where job state lives (default: $BARGE_STATE or ./.barge)\n"
	"  --job-name NAME        a name for the job (default: from the first input)\n"
	"  --on-invalid fail|skip invalid records fail the job (default) or become\n"
	"                         error records (errorCode 400) while the rest runs\n"
	"  --invocation-type T    InvokeModel (default) or Converse\n"
	"  --restart              start a new job even if this command has one to resume\n"
	"  --parent-job ARN       the job this one retries (`barge retry` sets it): kept as\n"
	"                         the tag barge:parentJob, shown by --json\n"
	"  --no-progress          no progress display\n"
	"  --json                 print one JSON summary object on stdout\n"
	"  -h, --help             this help\n"
	"\n"
	"exit status: 0 Completed (record errors allowed), 1 Failed, 2 usage or\n"
	"configuration error, 3 Stopped, PartiallyCompleted or Expired.\n";

static volatile sig_atomic_t stop_flag;
static struct engine *signal_engine;

static void on_signal(int sig)
{
	(void)sig;
	if (stop_flag < 2)
		stop_flag++;
	if (signal_engine)
		engine_wake(signal_engine);
}

struct run_args {
	char **inputs;
	size_t n_inputs;
	const char *model;
	const char *output;
	const char *config;
	const char *state;
	const char *job_name;
	const char *invocation_type;
	const char *parent_job; /* --parent-job: the ARN of the job this one retries */
	bool skip_invalid;
	bool restart;
	bool progress;
	bool json;
};

static int parse_args(int argc, char **argv, char **inputs, struct run_args *a)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"config", required_argument, NULL, 'c'},
		{"state", required_argument, NULL, 's'},
		{"job-name", required_argument, NULL, 'n'},
		{"on-invalid", required_argument, NULL, 'i'},
		{"invocation-type", required_argument, NULL, 't'},
		{"restart", no_argument, NULL, 'R'},
		{"parent-job", required_argument, NULL, 'p'},
		{"no-progress", no_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->inputs = inputs;
	a->progress = true;
	opterr = 0;
	optind = 1;
	/* GNU getopt moves the positional inputs to the end, wherever they were. */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': a->model = optarg; break;
		case 'o': a->output = optarg; break;
		case 'c': a->config = optarg; break;
		case 's': a->state = optarg; break;
		case 'n': a->job_name = optarg; break;
		case 't': a->invocation_type = optarg; break;
		case 'R': a->restart = true; break;
		case 'p':
			/* A tag value has at most 256 characters (Bedrock's rule). */
			if (!*optarg || strlen(optarg) > 256)
				return cli_usage("run", "--parent-job takes a job ARN of 1 to 256 "
							"characters");
			a->parent_job = optarg;
			break;
		case 'P': a->progress = false; break;
		case 'j': a->json = true; break;
		case 'i':
			if (!strcmp(optarg, "skip"))
				a->skip_invalid = true;
			else if (strcmp(optarg, "fail"))
				return cli_usage("run", "--on-invalid must be fail or skip, not \"%s\"",
						 optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			return cli_usage("run", "unknown option %s", argv[optind - 1]);
		}
	}
	while (optind < argc)
		a->inputs[a->n_inputs++] = argv[optind++];
	if (!a->n_inputs)
		return cli_usage("run", "give at least one INPUT file or directory");
	if (!a->model)
		return cli_usage("run", "--model is required (`barge models` lists the models)");
	if (!a->output)
		return cli_usage("run", "--output is required: the directory for the results");
	if (!a->state)
		a->state = getenv("BARGE_STATE");
	if (!a->state || !*a->state)
		a->state = ".barge";
	return 0;
}

/* absolute turns a local path into an absolute one so that resumes match. */
static char *absolute(const char *uri)
{
	char cwd[PATH_MAX];
	const char *p = uri;
	size_t n;
	char *out;

	if (strstr(uri, "://") && strncmp(uri, "file://", 7))
		return strdup(uri);
	if (!strncmp(p, "file://", 7))
		p += 7;
	if (p[0] == '/')
		return strdup(p);
	if (!getcwd(cwd, sizeof(cwd)))
		return strdup(p);
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	n = strlen(cwd) + strlen(p) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", cwd, strcmp(p, ".") ? p : "");
	return out;
}

/* run_key identifies this command line: the same inputs, model and output. */
static void make_run_key(const struct run_args *a, char *const *abs_inputs,
			 const char *abs_output, const struct model_ref *m, char out[33])
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;
	struct buf b;

	buf_init(&b, 1 << 20);
	buf_printf(&b, "%s\n%s\n%s\n%d\n", m->model->id, m->invocation_type, abs_output,
		   a->skip_invalid);
	for (size_t i = 0; i < a->n_inputs; i++)
		buf_printf(&b, "%s\n", abs_inputs[i]);
	/*
	 * A retry is a job of its own: the same inputs retried for another
	 * parent must not resume it. Added only when set, so that the keys of
	 * plain runs (and their resumes) stay as they were.
	 */
	if (a->parent_job)
		buf_printf(&b, "parent %s\n", a->parent_job);
	h1 = hash64(b.data, b.len, h1);
	h2 = hash64(b.data, b.len, h2);
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
	buf_free(&b);
}

/* job_name_from makes a Bedrock-valid job name from the first input's name. */
static void job_name_from(const char *input, char *out, size_t n)
{
	const char *base = objects_basename(input);
	size_t o = 0;

	o += (size_t)snprintf(out, n, "run-");
	for (; *base && o + 1 < n && o < 63; base++) {
		char c = *base;

		if (c == '.')
			break;
		out[o++] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
						  (c >= '0' && c <= '9') || c == '-' || c == '+'
					  ? c
					  : '-');
	}
	out[o] = '\0';
}

static bool resumable(enum job_status s)
{
	return s == JS_SUBMITTED || s == JS_VALIDATING || s == JS_SCHEDULED ||
	       s == JS_IN_PROGRESS || s == JS_STOPPING || s == JS_STOPPED;
}

struct ctx {
	struct run_args a;
	struct config cfg;
	struct model_ref m;
	struct objects *obj;
	struct store *st;
	struct engine *eng;
	char *state_dir;
	char *journal_dir;
	char owner[40];
	struct job job;
	struct progress prog;
	int64_t t0;
};

/* fail_job marks the job Failed with msg and says so. */
static int fail_job(struct ctx *x, const char *msg)
{
	struct err e;

	if (store_job_set_status(x->st, x->job.id, JS_FAILED, msg, time_now_ms(), &e))
		log_warn("%s", e.msg);
	x->job.status = JS_FAILED;
	return EXIT_FAILED;
}

/*
 * validate_job runs the validation pass of a new (or interrupted) job and
 * records its chunks. Returns 0 when the job may run, EXIT_FAILED after
 * failing it, or EXIT_USAGE for an environment problem.
 */
static int validate_job(struct ctx *x)
{
	struct job_input *inputs = NULL;
	size_t n_inputs = 0;
	struct val_opts vo = {0};
	struct val_result res;
	struct err e;
	int rc;
	char **uris = x->a.inputs;

	if (store_job_set_status(x->st, x->job.id, JS_VALIDATING, NULL, time_now_ms(), &e)) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_FAILED;
	}
	x->job.status = JS_VALIDATING;
	rc = inputs_expand(x->obj, uris, x->a.n_inputs, &inputs, &n_inputs, &e);
	if (rc) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return fail_job(x, e.msg);
	}
	vo.fam = x->m.fam;
	vo.lim = &x->cfg.limits;
	vo.job_id = x->job.id;
	vo.keep_invalid = x->job.skip_invalid;
	vo.enforce_limits = true;
	rc = validate_inputs(x->obj, inputs, n_inputs, &vo, &res, &e);
	if (rc) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		job_inputs_free(inputs, n_inputs);
		return fail_job(x, e.msg);
	}
	if (res.limit_msg[0]) {
		fprintf(stderr, "barge run: job %s failed: %s\n", x->job.id, res.limit_msg);
		rc = fail_job(x, res.limit_msg);
	} else if (res.n_bad && !x->job.skip_invalid) {
		char *msg = validate_message(&res);

		fprintf(stderr, "barge run: job %s failed validation: %s\n", x->job.id,
			msg ? msg : "invalid records");
		fprintf(stderr, "Fix the records, or run with --on-invalid skip to turn them into "
				"error records and run the rest.\n");
		rc = fail_job(x, msg ? msg : "invalid records");
		free(msg);
	} else {
		rc = store_job_validated(x->st, x->job.id, inputs, n_inputs, res.chunks, res.n_chunks,
					 res.invalid, res.n_invalid, res.total, time_now_ms(), &e);
		if (rc) {
			fprintf(stderr, "barge run: %s\n", e.msg);
			rc = EXIT_FAILED;
		} else {
			x->job.c.total = res.total;
			x->job.status = JS_SCHEDULED;
			if (res.n_bad)
				fprintf(stderr, "barge run: %lld invalid records become error records\n",
					(long long)res.n_bad);
		}
	}
	val_result_free(&res);
	job_inputs_free(inputs, n_inputs);
	return rc;
}

/* check_inputs refuses to resume a job whose inputs changed since validation. */
static int check_inputs(struct ctx *x)
{
	struct job_input *in = NULL;
	size_t n = 0;
	struct err e;
	int rc = 0;

	if (store_inputs_get(x->st, x->job.id, &in, &n, &e)) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct obj_stat st;

		if (objects_stat(x->obj, in[i].uri, &st, &e) || strcmp(st.etag, in[i].etag)) {
			fprintf(stderr,
				"barge run: input %s changed since job %s started, so it cannot be "
				"resumed.\nRun again with --restart to start a new job over the new "
				"input.\n",
				in[i].uri, x->job.id);
			rc = EXIT_USAGE;
		}
	}
	job_inputs_free(in, n);
	return rc;
}

static void print_summary(struct ctx *x, const struct job_counts *c, int64_t elapsed_ms)
{
	struct prices p = finalize_prices(&x->job);
	struct costs cost;
	char *prefix = runner_job_prefix(&x->job);
	struct buf b;
	char t[32], s[32], er[32], it[32], ot[32], pr[32];

	pricing_compute(&p, (double)c->input_tokens, (double)c->output_tokens, &cost);
	buf_init(&b, 1 << 20);
	if (x->a.json) {
		buf_puts(&b, "{\"jobId\":");
		buf_put_json_cstr(&b, x->job.id);
		buf_puts(&b, ",\"jobArn\":");
		buf_put_json_cstr(&b, x->job.arn);
		buf_puts(&b, ",\"status\":");
		buf_put_json_cstr(&b, job_status_name(x->job.status));
		buf_printf(&b,
			   ",\"totalRecordCount\":%lld,\"processedRecordCount\":%lld,"
			   "\"successRecordCount\":%lld,\"errorRecordCount\":%lld,"
			   "\"inputTokenCount\":%lld,\"outputTokenCount\":%lld,"
			   "\"retryCount\":%lld,\"throttleCount\":%lld,\"cost\":",
			   (long long)c->total, (long long)c->processed, (long long)c->success,
			   (long long)c->errors, (long long)c->input_tokens,
			   (long long)c->output_tokens, (long long)c->retries,
			   (long long)c->throttles);
		pricing_put_json(&b, &p, &cost);
		if (x->job.tags_json && x->job.tags_json[0] == '[') {
			buf_puts(&b, ",\"tags\":");
			buf_puts(&b, x->job.tags_json);
		}
		buf_puts(&b, ",\"outputUri\":");
		buf_put_json_cstr(&b, prefix ? prefix : "");
		if (x->job.message) {
			buf_puts(&b, ",\"message\":");
			buf_put_json_cstr(&b, x->job.message);
		}
		buf_puts(&b, "}\n");
	} else {
		buf_fmt_int(t, sizeof(t), c->total);
		buf_fmt_int(s, sizeof(s), c->success);
		buf_fmt_int(er, sizeof(er), c->errors);
		buf_fmt_int(it, sizeof(it), c->input_tokens);
		buf_fmt_int(ot, sizeof(ot), c->output_tokens);
		buf_printf(&b, "job %s %s in %.1f s\n", x->job.id, job_status_name(x->job.status),
			   (double)elapsed_ms / 1000.0);
		buf_fmt_int(pr, sizeof(pr), c->processed);
		buf_printf(&b, "  records  %s total, %s processed, %s succeeded, %s failed\n", t, pr,
			   s, er);
		buf_printf(&b, "  tokens   %s input, %s output (%lld retries, %lld throttled)\n", it,
			   ot, (long long)c->retries, (long long)c->throttles);
		buf_printf(&b, "  model    %s\n", x->job.model_id);
		buf_printf(&b, "  output   %s/\n", prefix ? prefix : "");
		pricing_put_table(&b, &cost);
	}
	if (!b.err)
		fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	buf_free(&b);
	free(prefix);
}

/* finish_job finalizes outputs for a job that ended as `to`, then records it. */
static int finish_job(struct ctx *x, enum job_status to, const char *msg)
{
	struct job_counts shown;
	struct err e;
	int rc;

	if (to == JS_STOPPED &&
	    store_job_set_status(x->st, x->job.id, JS_STOPPING, NULL, time_now_ms(), &e))
		log_warn("%s", e.msg);
	/* A stopped run resumes with the same command: it is not over for good. */
	rc = finalize_end(x->obj, x->st, &x->job, x->journal_dir, x->cfg.limits.max_line_bytes,
			  to, msg, to != JS_STOPPED, &shown, &e);
	if (rc) {
		fprintf(stderr, "barge run: cannot finish job %s: %s\n", x->job.id, e.msg);
		if (x->job.status != JS_FAILED)
			fail_job(x, e.msg);
		return EXIT_FAILED;
	}
	progress_end(&x->prog);
	print_summary(x, &shown, time_mono_ms() - x->t0);
	if (to == JS_COMPLETED)
		return EXIT_COMPLETED;
	if (to == JS_FAILED)
		return EXIT_FAILED;
	return EXIT_STOPPED;
}

static int open_state(struct ctx *x, int *lock_fd)
{
	char path[PATH_MAX];
	struct err e;
	int fd;

	x->state_dir = absolute(x->a.state);
	if (!x->state_dir)
		return EXIT_FAILED;
	if (mkdir(x->state_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "barge run: cannot create state directory %s: %s\n", x->state_dir,
			strerror(errno));
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/lock", x->state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr,
			"barge run: another barge run is using the state directory %s; wait for it "
			"or give this run its own --state DIR\n",
			x->state_dir);
		if (fd >= 0)
			close(fd);
		return EXIT_USAGE;
	}
	*lock_fd = fd;
	snprintf(path, sizeof(path), "%s/journal", x->state_dir);
	x->journal_dir = strdup(path);
	snprintf(path, sizeof(path), "sqlite:%s/barge.db", x->state_dir);
	if (store_open(path, &x->st, &e)) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_USAGE;
	}
	return 0;
}

/* find_or_create_job resumes this command's job or creates a new one. */
static int find_or_create_job(struct ctx *x, char **abs_inputs, const char *abs_output)
{
	char key[33];
	char name[80];
	struct err e;
	int rc;

	make_run_key(&x->a, abs_inputs, abs_output, &x->m, key);
	rc = store_job_find_run(x->st, key, &x->job, &e);
	if (rc == 0 && resumable(x->job.status) && !x->a.restart) {
		if (!x->a.json)
			fprintf(stderr, "barge run: resuming job %s (%s)\n", x->job.id,
				job_status_name(x->job.status));
		return 0;
	}
	if (rc && rc != ERR_NOTFOUND) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_FAILED;
	}
	job_free(&x->job);
	job_init(&x->job);
	ids_new_job(x->job.id);
	{
		char arn[256];

		snprintf(arn, sizeof(arn), "arn:aws:bedrock:%s:000000000000:model-invocation-job/%s",
			 x->cfg.server.region, x->job.id);
		x->job.arn = strdup(arn);
	}
	if (x->a.job_name)
		snprintf(name, sizeof(name), "%s", x->a.job_name);
	else
		job_name_from(abs_inputs[0], name, sizeof(name));
	x->job.name = strdup(name);
	x->job.account = strdup("");
	x->job.model_id = strdup(x->m.model->id);
	x->job.invocation_type = strdup(x->m.invocation_type);
	x->job.input_uri = strdup(abs_inputs[0]);
	x->job.output_uri = strdup(abs_output);
	x->job.run_key = strdup(key);
	x->job.skip_invalid = x->a.skip_invalid;
	if (x->a.parent_job) {
		struct buf t;

		/* The same link a server's job gets from Create's tags. */
		buf_init(&t, 1024);
		buf_puts(&t, "[{\"key\":\"barge:parentJob\",\"value\":");
		buf_put_json_cstr(&t, x->a.parent_job);
		buf_puts(&t, "}]");
		x->job.tags_json = buf_steal(&t, NULL);
		buf_free(&t);
		if (!x->job.tags_json) {
			fprintf(stderr, "barge run: out of memory\n");
			return EXIT_FAILED;
		}
	}
	x->job.status = JS_SUBMITTED;
	x->job.submit_ms = x->job.modified_ms = time_now_ms();
	x->job.price_in = x->m.model->input_price_per_1k;
	x->job.price_out = x->m.model->output_price_per_1k;
	x->job.discount = x->m.model->batch_discount;
	if (!x->job.arn || !x->job.name || !x->job.model_id || !x->job.output_uri ||
	    !x->job.input_uri || !x->job.run_key) {
		fprintf(stderr, "barge run: out of memory\n");
		return EXIT_FAILED;
	}
	if (store_job_insert(x->st, &x->job, &e)) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_FAILED;
	}
	return 0;
}

/*
 * start_running moves a scheduled or stopped job to InProgress and frees
 * the leases of a run that died: only this process holds the state lock.
 */
static int start_running(struct ctx *x)
{
	struct err e;
	enum job_status s = x->job.status;

	if (s == JS_STOPPING)
		store_job_set_status(x->st, x->job.id, JS_STOPPED, NULL, time_now_ms(), &e);
	if (s == JS_SCHEDULED || s == JS_STOPPED || s == JS_STOPPING) {
		if (store_job_set_status(x->st, x->job.id, JS_IN_PROGRESS, NULL, time_now_ms(), &e)) {
			fprintf(stderr, "barge run: %s\n", e.msg);
			return EXIT_FAILED;
		}
	}
	if (store_chunks_release(x->st, x->job.id, NULL, &e)) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_FAILED;
	}
	/* Reload: the counts of chunks finished by earlier runs live in the store. */
	{
		char id[IDS_JOB_LEN + 1];

		snprintf(id, sizeof(id), "%s", x->job.id);
		job_free(&x->job);
		if (store_job_get(x->st, id, &x->job, &e)) {
			fprintf(stderr, "barge run: %s\n", e.msg);
			return EXIT_FAILED;
		}
	}
	return 0;
}

static void install_signals(struct engine *eng)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal_engine = eng;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* check_backend makes sure the family can be sent to the backend's kind. */
static int check_backend(struct ctx *x)
{
	const struct backend_driver *d = backend_driver_for(x->m.backend->kind);

	if (!d) {
		fprintf(stderr, "barge run: backend %s has kind %s, which this build cannot use yet\n",
			x->m.backend->name, config_kind_name(x->m.backend->kind));
		return EXIT_USAGE;
	}
	if (!family_supports_wire(x->m.fam, d->wire(x->m.fam))) {
		fprintf(stderr,
			"barge run: model %s has family %s, which cannot run on backend %s (kind %s)\n",
			x->m.model->id, x->m.fam->name, x->m.backend->name,
			config_kind_name(x->m.backend->kind));
		return EXIT_USAGE;
	}
	return 0;
}

static void on_progress(void *ud, const char *job_id, const struct run_progress *p)
{
	(void)job_id;
	progress_update(ud, p);
}

/*
 * drive runs the job on a runner of its own until it ends, passing signals
 * on as stops. Returns RUN_DONE, RUN_STOPPED, or RUN_FAILED with e set.
 */
static int drive(struct ctx *x, const struct runner_opts *ro, struct err *e)
{
	struct run_model m = {x->m.model, x->m.fam, x->m.backend};
	struct runner *r = runner_new(ro, e);
	struct run_ended ended;
	size_t n = 0;
	int stops = 0;

	if (!r)
		return RUN_FAILED;
	if (runner_add(r, &x->job, &m, e)) {
		runner_free(r);
		return RUN_FAILED;
	}
	while (n == 0) {
		if (stop_flag > stops) {
			stops = stop_flag;
			runner_stop(r, x->job.id, stops > 1);
		}
		runner_step(r, 50, &ended, 1, &n);
	}
	runner_free(r);
	if (ended.end == RUN_FAILED)
		*e = ended.err;
	return ended.end;
}

static int run_job(struct ctx *x)
{
	struct runner_opts ro = {0};
	struct err e;
	int rc;

	x->eng = engine_new(NULL, &e);
	if (!x->eng) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		return EXIT_FAILED;
	}
	install_signals(x->eng);
	rc = start_running(x);
	if (rc)
		return rc;
	snprintf(x->owner, sizeof(x->owner), "run-%d", (int)getpid());
	progress_init(&x->prog, x->a.progress);
	ro.st = x->st;
	ro.obj = x->obj;
	ro.eng = x->eng;
	ro.lim = &x->cfg.limits;
	ro.journal_dir = x->journal_dir;
	ro.owner = x->owner;
	ro.lease_ms = 3600 * 1000;
	ro.stop_grace_ms = (int64_t)(x->m.backend->timeout_s * 1000.0);
	if (ro.stop_grace_ms > 30000)
		ro.stop_grace_ms = 30000;
	ro.progress = on_progress;
	ro.progress_ud = &x->prog;
	rc = drive(x, &ro, &e);
	progress_end(&x->prog);
	/* The runner's chunk commits changed the counts: read them back. */
	{
		char id[IDS_JOB_LEN + 1];
		struct err e2;

		snprintf(id, sizeof(id), "%s", x->job.id);
		job_free(&x->job);
		if (store_job_get(x->st, id, &x->job, &e2)) {
			fprintf(stderr, "barge run: %s\n", e2.msg);
			return EXIT_FAILED;
		}
	}
	if (rc == RUN_DONE)
		return finish_job(x, JS_COMPLETED, NULL);
	if (rc == RUN_STOPPED) {
		fprintf(stderr, "barge run: job %s stopped; run the same command again to resume it\n",
			x->job.id);
		return finish_job(x, JS_STOPPED, NULL);
	}
	fprintf(stderr, "barge run: job %s failed: %s\n", x->job.id, e.msg);
	free(x->job.message);
	x->job.message = strdup(e.msg);
	return finish_job(x, JS_FAILED, e.msg);
}

int cmd_run(int argc, char **argv)
{
	struct ctx x;
	char **inputs = calloc((size_t)argc + 1, sizeof(char *));
	char **abs_inputs = NULL;
	char *abs_output = NULL;
	int lock_fd = -1, rc;
	struct err e;

	memset(&x, 0, sizeof(x));
	job_init(&x.job);
	x.t0 = time_mono_ms();
	if (!inputs)
		return EXIT_FAILED;
	rc = parse_args(argc, argv, inputs, &x.a);
	if (rc)
		goto out;
	rc = cli_load_config("run", x.a.config, &x.cfg);
	if (rc)
		goto out;
	if (cli_resolve_model(&x.cfg, x.a.model, x.a.invocation_type, &x.m, &e)) {
		fprintf(stderr, "barge run: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = check_backend(&x)))
		goto out;
	x.obj = objects_new(&x.cfg.s3);
	abs_inputs = calloc(x.a.n_inputs, sizeof(char *));
	abs_output = absolute(x.a.output);
	if (!x.obj || !abs_inputs || !abs_output) {
		rc = EXIT_FAILED;
		goto out;
	}
	for (size_t i = 0; i < x.a.n_inputs; i++) {
		if (!(abs_inputs[i] = absolute(x.a.inputs[i]))) {
			rc = EXIT_FAILED;
			goto out;
		}
		x.a.inputs[i] = abs_inputs[i];
	}
	if ((rc = open_state(&x, &lock_fd)))
		goto out;
	if ((rc = find_or_create_job(&x, abs_inputs, abs_output)))
		goto out;
	if (x.job.status == JS_SUBMITTED || x.job.status == JS_VALIDATING) {
		rc = validate_job(&x);
		if (rc == EXIT_FAILED && x.a.json) {
			char id[IDS_JOB_LEN + 1];

			snprintf(id, sizeof(id), "%s", x.job.id);
			job_free(&x.job);
			if (!store_job_get(x.st, id, &x.job, &e))
				print_summary(&x, &x.job.c, time_mono_ms() - x.t0);
		}
	} else {
		rc = check_inputs(&x);
	}
	if (rc)
		goto out;
	rc = run_job(&x);
out:
	if (x.eng) {
		signal_engine = NULL;
		engine_free(x.eng);
	}
	job_free(&x.job);
	store_close(x.st);
	objects_free(x.obj);
	config_free(&x.cfg);
	if (lock_fd >= 0)
		close(lock_fd);
	if (abs_inputs) {
		for (size_t i = 0; i < x.a.n_inputs; i++)
			free(abs_inputs[i]);
	}
	free(abs_inputs);
	free(abs_output);
	free(inputs);
	free(x.state_dir);
	free(x.journal_dir);
	return rc;
}
