/* jobs.c - `barge submit|get|list|stop|wait|results`: the client commands of a barge server. */
#include "cli/cli.h"
#include "cli/client.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOBS_BODY_MAX ((size_t)1 << 20)
#define JOBS_QUERY_MAX ((size_t)16 << 10)
#define JOBS_MAX_TAGS 200
/* --all stops after this many pages, in case a server hands out tokens forever. */
#define JOBS_MAX_PAGES 100000
/* An output directory walk stops at this many files and this depth. */
#define JOBS_MAX_FILES 100000
#define JOBS_MAX_DEPTH 16
/* After a first answer, `wait` rides out a server that is away this long. */
#define JOBS_WAIT_GRACE_MS ((int64_t)60 * 1000)

static const char *const job_statuses[] = {
	"Submitted", "Validating", "Scheduled", "InProgress", "Completed",
	"PartiallyCompleted", "Failed", "Stopping", "Stopped", "Expired",
};

/* jobs_help prints a command's own help, then the options all commands share. */
static int jobs_help(const char *own, const char *exits)
{
	fputs(own, stdout);
	fputs("\n", stdout);
	fputs(CLIENT_COMMON_HELP, stdout);
	fputs("\n", stdout);
	fputs(exits, stdout);
	fputs(CLIENT_EXIT_HELP, stdout);
	return 0;
}

static const char plain_exits[] =
	"exit status: 0 done, 1 failed, 2 usage or configuration error.\n";

/* jobs_parse_int reads a whole decimal integer in [min, max] for flag. */
static int jobs_parse_int(const char *cmd, const char *flag, const char *s, long long min,
			  long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return cli_usage(cmd, "%s must be a whole number from %lld to %lld, not \"%s\"", flag,
				 min, max, s);
	*out = v;
	return 0;
}

/* jobs_open opens the client and reports a failure as the command's error. */
static int jobs_open(struct client *c, const char *cmd, const struct client_opts *o)
{
	struct err e;
	int rc;

	err_init(&e);
	rc = client_open(c, cmd, o, &e);
	if (rc) {
		fprintf(stderr, "barge %s: %s\n", cmd, e.msg);
		return client_exit_status(rc);
	}
	return 0;
}

/* jobs_one_job takes the single JOB argument left after the options. */
static int jobs_one_job(const char *cmd, int argc, char **argv, const char **job)
{
	if (optind >= argc)
		return cli_usage(cmd, "give the JOB: its 12-character id or its ARN (`barge list` "
				      "shows them)");
	if (optind + 1 < argc)
		return cli_usage(cmd, "unexpected argument %s: give one JOB", argv[optind + 1]);
	*job = argv[optind];
	if (!client_check_job(*job))
		return cli_usage(cmd,
				 "\"%s\" is not a job id (12 letters a-z and digits) or a job ARN "
				 "(arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/ID)",
				 *job);
	return 0;
}

/* jobs_print_body prints an answer's body as received, ending in one newline. */
static void jobs_print_body(const struct client_resp *r)
{
	size_t n = r->body.len;

	if (n == 0) {
		fputs("{}\n", stdout);
		return;
	}
	while (n && (r->body.data[n - 1] == '\n' || r->body.data[n - 1] == '\r'))
		n--;
	fwrite(r->body.data, 1, n, stdout);
	fputc('\n', stdout);
}

/* ---- submit ---- */

static const char submit_usage[] =
	"usage: barge submit --input URI --output URI --model ID [options]\n"
	"\n"
	"Submits a batch job to a barge server (CreateModelInvocationJob) and prints\n"
	"its ARN. --input is one .jsonl object or a prefix (every .jsonl under it);\n"
	"--output is the prefix under which <job id>/<input>.out and\n"
	"<job id>/manifest.json.out are written. Both may be s3:// URIs, file:// URIs,\n"
	"or local paths, which are sent as file:///absolute/path (for a server on this\n"
	"machine).\n"
	"\n"
	"options:\n"
	"  --input URI            input object or prefix (required)\n"
	"  --output URI           output prefix (required)\n"
	"  --model ID             model id (required; see `barge models`)\n"
	"  --name NAME            job name (default: barge-<UTC timestamp>)\n"
	"  --role-arn ARN         IAM role, required by Bedrock and ignored by barge\n"
	"                         (default: arn:aws:iam::<account>:role/barge)\n"
	"  --timeout-hours N      24 to 168 (default: the server's, 24)\n"
	"  --invocation-type T    InvokeModel (default) or Converse\n"
	"  --tag KEY=VALUE        a tag for the job; repeat for more\n"
	"  --client-token TOKEN   idempotency token: a repeat returns the same job\n"
	"                         (default: a random one, so retries are safe)\n"
	"  --json                 print the server's JSON answer instead of the ARN\n";

enum {
	SUBMIT_INPUT = CLIENT_OPT_FIRST_OWN,
	SUBMIT_OUTPUT,
	SUBMIT_MODEL,
	SUBMIT_NAME,
	SUBMIT_ROLE,
	SUBMIT_TIMEOUT,
	SUBMIT_TYPE,
	SUBMIT_TAG,
	SUBMIT_TOKEN,
	OPT_JSON,
};

struct submit_args {
	struct client_opts co;
	const char *input, *output, *model, *name, *role, *type, *token;
	long long timeout_h;
	const char *tags[JOBS_MAX_TAGS];
	size_t n_tags;
	bool json;
};

static int submit_parse(int argc, char **argv, struct submit_args *a)
{
	static const struct option opts[] = {
		{"input", required_argument, NULL, SUBMIT_INPUT},
		{"output", required_argument, NULL, SUBMIT_OUTPUT},
		{"model", required_argument, NULL, SUBMIT_MODEL},
		{"name", required_argument, NULL, SUBMIT_NAME},
		{"role-arn", required_argument, NULL, SUBMIT_ROLE},
		{"timeout-hours", required_argument, NULL, SUBMIT_TIMEOUT},
		{"invocation-type", required_argument, NULL, SUBMIT_TYPE},
		{"tag", required_argument, NULL, SUBMIT_TAG},
		{"client-token", required_argument, NULL, SUBMIT_TOKEN},
		{"json", no_argument, NULL, OPT_JSON},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(&a->co, c, optarg))
			continue;
		switch (c) {
		case SUBMIT_INPUT: a->input = optarg; break;
		case SUBMIT_OUTPUT: a->output = optarg; break;
		case SUBMIT_MODEL: a->model = optarg; break;
		case SUBMIT_NAME: a->name = optarg; break;
		case SUBMIT_ROLE: a->role = optarg; break;
		case SUBMIT_TOKEN: a->token = optarg; break;
		case OPT_JSON: a->json = true; break;
		case SUBMIT_TIMEOUT:
			if ((rc = jobs_parse_int("submit", "--timeout-hours", optarg, 24, 168,
						 &a->timeout_h)))
				return rc;
			break;
		case SUBMIT_TYPE:
			if (!strcasecmp(optarg, "InvokeModel"))
				a->type = "InvokeModel";
			else if (!strcasecmp(optarg, "Converse"))
				a->type = "Converse";
			else
				return cli_usage("submit",
						 "--invocation-type must be InvokeModel or Converse, not "
						 "\"%s\"", optarg);
			break;
		case SUBMIT_TAG:
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return cli_usage("submit", "--tag takes KEY=VALUE, not \"%s\"", optarg);
			if (a->n_tags == JOBS_MAX_TAGS)
				return cli_usage("submit", "at most %d tags", JOBS_MAX_TAGS);
			a->tags[a->n_tags++] = optarg;
			break;
		case 'h': exit(jobs_help(submit_usage, plain_exits));
		default: return cli_usage("submit", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("submit", "unexpected argument %s (inputs go with --input)",
				 argv[optind]);
	if (!a->input)
		return cli_usage("submit", "--input is required: the .jsonl object or prefix to run");
	if (!a->output)
		return cli_usage("submit", "--output is required: the prefix for the results");
	if (!a->model)
		return cli_usage("submit", "--model is required (`barge models` lists the models)");
	return 0;
}

/*
 * jobs_normalize appends path to out with "." and ".." segments and repeated
 * slashes removed, as a server sees the same path; symbolic links are kept,
 * because allowed roots are written with them.
 */
static void jobs_normalize(struct buf *out, const char *path)
{
	size_t start = out->len;
	const char *p = path;

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (out->len > start && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
			if (out->data)
				out->data[out->len] = '\0';
		} else {
			buf_putc(out, '/');
			buf_append(out, p, n);
		}
		p += n;
	}
	if (out->len == start)
		buf_putc(out, '/');
}

/*
 * jobs_uri_of turns a --input/--output value into the URI to send: a URI
 * with a scheme as it is, a local path as file:///absolute/path (a
 * trailing '/' kept, since it marks a prefix). A local input must exist
 * here. Returns a malloc'd string (the caller frees it) or NULL with the
 * problem printed.
 */
static char *jobs_uri_of(const char *flag, const char *arg, bool must_exist)
{
	char cwd[PATH_MAX];
	struct buf b;
	struct stat st;
	size_t n = strlen(arg);
	char *out;

	if (strstr(arg, "://"))
		return strdup(arg);
	buf_init(&b, 3 * PATH_MAX);
	buf_puts(&b, "file://");
	if (arg[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "barge submit: cannot read the current directory for %s %s: %s\n",
				flag, arg, strerror(errno));
			buf_free(&b);
			return NULL;
		}
		buf_puts(&b, cwd);
		buf_putc(&b, '/');
	}
	buf_puts(&b, arg);
	{
		/* Normalise what follows "file://" in place of the raw join. */
		struct buf norm;

		buf_init(&norm, 3 * PATH_MAX);
		buf_puts(&norm, "file://");
		jobs_normalize(&norm, b.data ? b.data + 7 : "/");
		if (n && arg[n - 1] == '/' && norm.len > 8)
			buf_putc(&norm, '/');
		buf_free(&b);
		b = norm;
	}
	if (b.err) {
		fprintf(stderr, "barge submit: %s %.200s is too long\n", flag, arg);
		buf_free(&b);
		return NULL;
	}
	if (must_exist && stat(b.data + 7, &st) < 0) {
		fprintf(stderr,
			"barge submit: %s %s: %s here. For a path on the server's machine give a "
			"file:// URI (file:///absolute/path); for S3, an s3:// URI.\n",
			flag, arg, strerror(errno));
		buf_free(&b);
		return NULL;
	}
	out = buf_steal(&b, NULL);
	buf_free(&b);
	return out;
}

/* submit_body writes the CreateModelInvocationJob request of a to b. */
static int submit_body(struct buf *b, const struct submit_args *a, const char *in,
		       const char *out, const struct client *c)
{
	char name[64], token[33], role[128];
	unsigned char rnd[16];

	if (!a->name) {
		int64_t now = time_now_ms();
		char ts[32];

		/* "2026-11-26T05:30:00Z" becomes "20261126-053000", plus milliseconds. */
		time_format_rfc3339(now, ts, sizeof(ts));
		snprintf(name, sizeof(name), "barge-%.4s%.2s%.2s-%.2s%.2s%.2s-%03d", ts, ts + 5,
			 ts + 8, ts + 11, ts + 14, ts + 17, (int)(now % 1000));
	}
	if (!a->token) {
		/* As the AWS SDKs do: a fresh token makes this submit safe to retry. */
		ids_random_bytes(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	}
	snprintf(role, sizeof(role), "arn:aws:iam::%s:role/barge", c->account_id);
	buf_puts(b, "{\"jobName\":");
	buf_put_json_cstr(b, a->name ? a->name : name);
	buf_puts(b, ",\"roleArn\":");
	buf_put_json_cstr(b, a->role ? a->role : role);
	buf_puts(b, ",\"modelId\":");
	buf_put_json_cstr(b, a->model);
	buf_puts(b, ",\"clientRequestToken\":");
	buf_put_json_cstr(b, a->token ? a->token : token);
	buf_puts(b, ",\"inputDataConfig\":{\"s3InputDataConfig\":{\"s3Uri\":");
	buf_put_json_cstr(b, in);
	buf_puts(b, ",\"s3InputFormat\":\"JSONL\"}},\"outputDataConfig\":{\"s3OutputDataConfig\":"
		    "{\"s3Uri\":");
	buf_put_json_cstr(b, out);
	buf_puts(b, "}}");
	if (a->timeout_h)
		buf_printf(b, ",\"timeoutDurationInHours\":%lld", a->timeout_h);
	if (a->type) {
		buf_puts(b, ",\"modelInvocationType\":");
		buf_put_json_cstr(b, a->type);
	}
	if (a->n_tags) {
		buf_puts(b, ",\"tags\":[");
		for (size_t i = 0; i < a->n_tags; i++) {
			const char *eq = strchr(a->tags[i], '=');

			buf_puts(b, i ? ",{\"key\":" : "{\"key\":");
			buf_put_json_str(b, a->tags[i], (size_t)(eq - a->tags[i]));
			buf_puts(b, ",\"value\":");
			buf_put_json_cstr(b, eq + 1);
			buf_putc(b, '}');
		}
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
	return b->err;
}

int cmd_submit(int argc, char **argv)
{
	struct submit_args a;
	struct client c;
	struct client_resp r;
	struct buf body;
	struct err e;
	char *in = NULL, *out = NULL;
	const char *arn;
	int rc;

	memset(&c, 0, sizeof(c));
	client_resp_init(&r);
	buf_init(&body, JOBS_BODY_MAX);
	err_init(&e);
	if ((rc = submit_parse(argc, argv, &a)))
		goto done;
	in = jobs_uri_of("--input", a.input, true);
	out = in ? jobs_uri_of("--output", a.output, false) : NULL;
	if (!in || !out) {
		rc = EXIT_USAGE;
		goto done;
	}
	if ((rc = jobs_open(&c, "submit", &a.co)))
		goto done;
	if (submit_body(&body, &a, in, out, &c)) {
		fprintf(stderr, "barge submit: the request is larger than %zu bytes: shorten the "
				"tags or URIs\n", JOBS_BODY_MAX);
		rc = EXIT_USAGE;
		goto done;
	}
	rc = client_call(&c, "POST", "/model-invocation-job", NULL, body.data, &r, &e);
	if (rc) {
		rc = client_fail(&c, rc, &e, &r);
		goto done;
	}
	arn = json_get_str(r.json, "jobArn");
	if (!arn) {
		fprintf(stderr, "barge submit: the server's answer has no jobArn: is %s%s a barge "
				"server?\n", c.base, c.prefix);
		rc = EXIT_FAILED;
		goto done;
	}
	if (a.json)
		jobs_print_body(&r);
	else
		printf("%s\n", arn);
	rc = EXIT_COMPLETED;
done:
	client_close(&c);
	client_resp_free(&r);
	buf_free(&body);
	free(in);
	free(out);
	return rc;
}

/* ---- get ---- */

static const char get_usage[] =
	"usage: barge get JOB [--json] [server options]\n"
	"\n"
	"Shows a job (GetModelInvocationJob): status, name, model, record counts,\n"
	"times, message, input and output. JOB is the 12-character job id or the\n"
	"job's ARN.\n"
	"\n"
	"options:\n"
	"  --json                 print the job object as the server answered it\n";

/* jobs_int64 reads a count that may be absent (then -1). */
static long long jobs_count(json_object *o, const char *key)
{
	int64_t v;

	return json_get_int64(o, key, &v) ? (long long)v : -1;
}

static const char *jobs_uri(json_object *job, const char *config, const char *inner)
{
	return json_get_str(json_get(json_get(job, config), inner), "s3Uri");
}

static void get_print(json_object *j)
{
	static const char *const times[][2] = {
		{"submitted", "submitTime"}, {"modified", "lastModifiedTime"},
		{"ended", "endTime"},        {"expires", "jobExpirationTime"},
	};
	const char *arn = json_get_str(j, "jobArn");
	const char *s;
	char id[64], total[32], done[32], ok[32], bad[32];
	int64_t h;

	client_job_id(arn, id, sizeof(id));
	printf("%-10s %s\n", "job", id);
	if (arn)
		printf("%-10s %s\n", "arn", arn);
	if ((s = json_get_str(j, "jobName")))
		printf("%-10s %s\n", "name", s);
	printf("%-10s %s\n", "status", json_get_str(j, "status"));
	if ((s = json_get_str(j, "message")) && *s)
		printf("%-10s %s\n", "message", s);
	if ((s = json_get_str(j, "modelId")))
		printf("%-10s %s (%s)\n", "model", s,
		       json_get_str(j, "modelInvocationType") ? json_get_str(j, "modelInvocationType")
							      : "InvokeModel");
	if (jobs_count(j, "totalRecordCount") >= 0 || jobs_count(j, "processedRecordCount") >= 0) {
		long long t = jobs_count(j, "totalRecordCount");

		cli_fmt_int(total, sizeof(total), t < 0 ? 0 : t);
		cli_fmt_int(done, sizeof(done), jobs_count(j, "processedRecordCount") < 0
							? 0 : jobs_count(j, "processedRecordCount"));
		cli_fmt_int(ok, sizeof(ok), jobs_count(j, "successRecordCount") < 0
						    ? 0 : jobs_count(j, "successRecordCount"));
		cli_fmt_int(bad, sizeof(bad), jobs_count(j, "errorRecordCount") < 0
						      ? 0 : jobs_count(j, "errorRecordCount"));
		printf("%-10s %s/%s processed, %s succeeded, %s failed\n", "records", done, total,
		       ok, bad);
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if ((s = json_get_str(j, times[i][1])))
			printf("%-10s %s\n", times[i][0], s);
	}
	if (json_get_int64(j, "timeoutDurationInHours", &h))
		printf("%-10s %lld h\n", "timeout", (long long)h);
	if ((s = jobs_uri(j, "inputDataConfig", "s3InputDataConfig")))
		printf("%-10s %s\n", "input", s);
	if ((s = jobs_uri(j, "outputDataConfig", "s3OutputDataConfig")))
		printf("%-10s %s\n", "output", s);
}

/* jobs_simple_parse reads the options of a command that takes JOB and --json. */
static int jobs_simple_parse(const char *cmd, const char *usage, int argc, char **argv,
			     struct client_opts *co, const char **job, bool *json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(co, 0, sizeof(*co));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(co, c, optarg))
			continue;
		if (c == OPT_JSON && json)
			*json = true;
		else if (c == 'h')
			exit(jobs_help(usage, plain_exits));
		else
			return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
	}
	return jobs_one_job(cmd, argc, argv, job);
}

int cmd_get(int argc, char **argv)
{
	struct client_opts co;
	struct client c;
	struct client_resp r;
	struct err e;
	const char *job = NULL;
	bool json = false;
	int rc;

	memset(&c, 0, sizeof(c));
	client_resp_init(&r);
	err_init(&e);
	if ((rc = jobs_simple_parse("get", get_usage, argc, argv, &co, &job, &json)))
		goto done;
	if ((rc = jobs_open(&c, "get", &co)))
		goto done;
	rc = client_get_job(&c, job, &r, &e);
	if (rc) {
		rc = client_fail(&c, rc, &e, &r);
		goto done;
	}
	if (json)
		jobs_print_body(&r);
	else
		get_print(r.json);
	rc = EXIT_COMPLETED;
done:
	client_close(&c);
	client_resp_free(&r);
	return rc;
}

/* ---- stop ---- */

static const char stop_usage[] =
	"usage: barge stop JOB [server options]\n"
	"\n"
	"Stops a job (StopModelInvocationJob): no new records start, finished results\n"
	"are kept and written, unprocessed records are not billed. The job goes\n"
	"Stopping, then Stopped; `barge wait JOB` follows it there.\n";

int cmd_stop(int argc, char **argv)
{
	struct client_opts co;
	struct client c;
	struct client_resp r;
	struct buf path;
	struct err e;
	const char *job = NULL;
	char id[64];
	int rc;

	memset(&c, 0, sizeof(c));
	client_resp_init(&r);
	buf_init(&path, 1 << 14);
	err_init(&e);
	if ((rc = jobs_simple_parse("stop", stop_usage, argc, argv, &co, &job, NULL)))
		goto done;
	if ((rc = jobs_open(&c, "stop", &co)))
		goto done;
	if (client_job_path(&path, job, "/stop")) {
		rc = cli_usage("stop", "the job identifier is too long");
		goto done;
	}
	rc = client_call(&c, "POST", path.data, NULL, NULL, &r, &e);
	if (rc) {
		rc = client_fail(&c, rc, &e, &r);
		goto done;
	}
	client_job_id(job, id, sizeof(id));
	printf("job %s: stop requested; `barge wait %s` follows it until it has stopped\n", id, id);
	rc = EXIT_COMPLETED;
done:
	client_close(&c);
	client_resp_free(&r);
	buf_free(&path);
	return rc;
}

/* ---- list ---- */

static const char list_usage[] =
	"usage: barge list [options] [server options]\n"
	"\n"
	"Lists jobs (ListModelInvocationJobs), newest first unless --sort-order says\n"
	"otherwise: id, name, status, model, submit time, processed/total records.\n"
	"\n"
	"options:\n"
	"  --status S             only jobs in status S (Submitted, Validating,\n"
	"                         Scheduled, InProgress, Completed, PartiallyCompleted,\n"
	"                         Failed, Stopping, Stopped, Expired)\n"
	"  --name-contains X      only jobs whose name contains X\n"
	"  --after TIME           only jobs submitted after TIME (RFC 3339,\n"
	"  --before TIME          e.g. 2026-11-26T05:30:00Z) or before it\n"
	"  --max N                at most N jobs per page, 1 to 1000 (default: the\n"
	"                         server's)\n"
	"  --sort-order ORDER     Ascending or Descending (by submit time)\n"
	"  --all                  follow the pages to the end (--max sets the page size)\n"
	"  --json                 print {\"invocationJobSummaries\": [...]} (with\n"
	"                         \"nextToken\" when there are more and no --all)\n";

enum {
	LIST_STATUS = OPT_JSON + 1,
	LIST_NAME,
	LIST_AFTER,
	LIST_BEFORE,
	LIST_MAX,
	LIST_SORT,
	LIST_ALL,
};

struct list_args {
	struct client_opts co;
	const char *status, *name, *after, *before, *sort;
	long long max;
	bool all, json;
};

static int list_parse(int argc, char **argv, struct list_args *a)
{
	static const struct option opts[] = {
		{"status", required_argument, NULL, LIST_STATUS},
		{"name-contains", required_argument, NULL, LIST_NAME},
		{"after", required_argument, NULL, LIST_AFTER},
		{"before", required_argument, NULL, LIST_BEFORE},
		{"max", required_argument, NULL, LIST_MAX},
		{"sort-order", required_argument, NULL, LIST_SORT},
		{"all", no_argument, NULL, LIST_ALL},
		{"json", no_argument, NULL, OPT_JSON},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int64_t ms;
	int c, rc;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(&a->co, c, optarg))
			continue;
		switch (c) {
		case LIST_STATUS:
			a->status = NULL;
			/* Statuses are matched without case and sent as AWS spells them. */
			for (size_t i = 0; i < sizeof(job_statuses) / sizeof(job_statuses[0]); i++) {
				if (!strcasecmp(optarg, job_statuses[i]))
					a->status = job_statuses[i];
			}
			if (!a->status)
				return cli_usage("list", "--status \"%s\" is not a job status (Submitted, "
							 "Validating, Scheduled, InProgress, Completed, "
							 "PartiallyCompleted, Failed, Stopping, Stopped, "
							 "Expired)", optarg);
			break;
		case LIST_NAME: a->name = optarg; break;
		case LIST_AFTER:
		case LIST_BEFORE:
			if (time_parse_rfc3339(optarg, &ms))
				return cli_usage("list", "--%s takes an RFC 3339 time such as "
							 "2026-11-26T05:30:00Z, not \"%s\"",
						 c == LIST_AFTER ? "after" : "before", optarg);
			if (c == LIST_AFTER)
				a->after = optarg;
			else
				a->before = optarg;
			break;
		case LIST_MAX:
			if ((rc = jobs_parse_int("list", "--max", optarg, 1, 1000, &a->max)))
				return rc;
			break;
		case LIST_SORT:
			if (!strcasecmp(optarg, "Ascending"))
				a->sort = "Ascending";
			else if (!strcasecmp(optarg, "Descending"))
				a->sort = "Descending";
			else
				return cli_usage("list", "--sort-order must be Ascending or Descending, "
							 "not \"%s\"", optarg);
			break;
		case LIST_ALL: a->all = true; break;
		case OPT_JSON: a->json = true; break;
		case 'h': exit(jobs_help(list_usage, plain_exits));
		default: return cli_usage("list", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("list", "unexpected argument %s", argv[optind]);
	return 0;
}

/* list_param appends "&name=value" (value percent-encoded) to q. */
static void list_param(struct buf *q, const char *name, const char *value)
{
	if (!value)
		return;
	if (q->len)
		buf_putc(q, '&');
	buf_puts(q, name);
	buf_putc(q, '=');
	sigv4_uri_encode(q, value, strlen(value), false);
}

static int list_query(struct buf *q, const struct list_args *a, const char *token)
{
	char max[24];

	buf_reset(q);
	snprintf(max, sizeof(max), "%lld", a->max);
	list_param(q, "maxResults", a->max ? max : NULL);
	list_param(q, "nameContains", a->name);
	list_param(q, "nextToken", token);
	list_param(q, "sortBy", "CreationTime");
	list_param(q, "sortOrder", a->sort);
	list_param(q, "statusEquals", a->status);
	list_param(q, "submitTimeAfter", a->after);
	list_param(q, "submitTimeBefore", a->before);
	return q->err;
}

/* list_cell fits s into w columns, cutting with "..." when it is longer. */
static void list_cell(char *out, size_t outsz, const char *s, int w)
{
	size_t n = strlen(s ? s : "");

	if ((int)n <= w || w < 4)
		snprintf(out, outsz, "%s", s ? s : "");
	else
		snprintf(out, outsz, "%.*s...", w - 3, s);
}

static void list_print(json_object *all)
{
	size_t n = json_object_array_length(all);
	int wn = 4, wm = 5;

	if (n == 0) {
		fprintf(stderr, "no jobs\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_array_get_idx(all, i);
		const char *name = json_get_str(j, "jobName");
		const char *model = json_get_str(j, "modelId");

		if (name && (int)strlen(name) > wn)
			wn = (int)strlen(name);
		if (model && (int)strlen(model) > wm)
			wm = (int)strlen(model);
	}
	wn = wn > 40 ? 40 : wn;
	wm = wm > 48 ? 48 : wm;
	printf("%-12s  %-*s  %-18s  %-*s  %-20s  %s\n", "JOB ID", wn, "NAME", "STATUS", wm, "MODEL",
	       "SUBMITTED", "PROCESSED");
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_array_get_idx(all, i);
		const char *st = json_get_str(j, "status");
		const char *sub = json_get_str(j, "submitTime");
		long long done = jobs_count(j, "processedRecordCount");
		long long total = jobs_count(j, "totalRecordCount");
		char id[64], name[64], model[64], dn[32], tn[32];

		client_job_id(json_get_str(j, "jobArn"), id, sizeof(id));
		list_cell(name, sizeof(name), json_get_str(j, "jobName"), wn);
		list_cell(model, sizeof(model), json_get_str(j, "modelId"), wm);
		cli_fmt_int(dn, sizeof(dn), done < 0 ? 0 : done);
		cli_fmt_int(tn, sizeof(tn), total < 0 ? 0 : total);
		printf("%-12s  %-*s  %-18s  %-*s  %-20s  %s/%s\n", id, wn, name, st ? st : "?", wm,
		       model, sub ? sub : "", dn, tn);
	}
}

int cmd_list(int argc, char **argv)
{
	struct list_args a;
	struct client c;
	struct client_resp r;
	struct buf q;
	struct err e;
	json_object *all = NULL;
	char *token = NULL;
	int rc, pages = 0;

	memset(&c, 0, sizeof(c));
	client_resp_init(&r);
	buf_init(&q, JOBS_QUERY_MAX);
	err_init(&e);
	if ((rc = list_parse(argc, argv, &a)))
		goto done;
	all = json_object_new_array();
	if (!all) {
		rc = EXIT_FAILED;
		goto done;
	}
	if ((rc = jobs_open(&c, "list", &a.co)))
		goto done;
	for (;;) {
		json_object *sums;
		const char *next;

		if (list_query(&q, &a, token)) {
			fprintf(stderr, "barge list: the query is longer than %zu bytes: shorten "
					"--name-contains\n", JOBS_QUERY_MAX);
			rc = EXIT_USAGE;
			goto done;
		}
		rc = client_call(&c, "GET", "/model-invocation-jobs", q.data, NULL, &r, &e);
		if (rc) {
			rc = client_fail(&c, rc, &e, &r);
			goto done;
		}
		sums = json_get(r.json, "invocationJobSummaries");
		if (sums && !json_is_type(sums, json_type_array)) {
			fprintf(stderr, "barge list: invocationJobSummaries in the server's answer is "
					"not a list: is %s%s a barge server?\n", c.base, c.prefix);
			rc = EXIT_FAILED;
			goto done;
		}
		for (size_t i = 0; sums && i < json_object_array_length(sums); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(sums, i)));
		next = json_get_str(r.json, "nextToken");
		if (next && !*next)
			next = NULL;
		if (next && token && !strcmp(next, token)) {
			fprintf(stderr, "barge list: the server gave the same nextToken twice; stopping "
					"after %zu jobs\n", json_object_array_length(all));
			rc = EXIT_FAILED;
			goto done;
		}
		free(token);
		token = next ? strdup(next) : NULL;
		if (next && !token) {
			rc = EXIT_FAILED;
			goto done;
		}
		if (!token || !a.all || ++pages >= JOBS_MAX_PAGES)
			break;
	}
	if (a.json) {
		json_object *o = json_object_new_object();

		if (!o) {
			rc = EXIT_FAILED;
			goto done;
		}
		json_object_object_add(o, "invocationJobSummaries", json_object_get(all));
		if (token)
			json_object_object_add(o, "nextToken", json_object_new_string(token));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		list_print(all);
		if (token)
			fprintf(stderr, "(more jobs: --all lists every page)\n");
	}
	rc = EXIT_COMPLETED;
done:
	client_close(&c);
	client_resp_free(&r);
	buf_free(&q);
	free(token);
	if (all)
		json_object_put(all);
	return rc;
}

/* ---- wait ---- */

static const char wait_usage[] =
	"usage: barge wait JOB [options] [server options]\n"
	"\n"
	"Follows a job until it ends (Completed, PartiallyCompleted, Failed, Stopped\n"
	"or Expired), polling GetModelInvocationJob, with a progress bar on a terminal\n"
	"and \"progress:\" lines on stderr otherwise; then prints one summary line.\n"
	"A server that goes away after the first answer is waited for up to 60 s.\n"
	"\n"
	"options:\n"
	"  --interval-ms N        time between polls (default 1000)\n"
	"  --timeout-s N          give up after N seconds (default 0: never)\n"
	"  --no-progress          no progress display\n"
	"  --json                 print the final job object instead of the summary\n";

static const char wait_exits[] =
	"exit status: 0 Completed (record errors allowed), 1 Failed (or the wait\n"
	"failed: unreachable server, --timeout-s reached), 2 usage or configuration\n"
	"error, 3 Stopped, PartiallyCompleted or Expired.\n";

enum { WAIT_INTERVAL = LIST_ALL + 1, WAIT_TIMEOUT, WAIT_NO_PROGRESS };

struct wait_args {
	struct client_opts co;
	const char *job;
	long long interval_ms, timeout_s;
	bool progress, json;
};

static int wait_parse(int argc, char **argv, struct wait_args *a)
{
	static const struct option opts[] = {
		{"interval-ms", required_argument, NULL, WAIT_INTERVAL},
		{"timeout-s", required_argument, NULL, WAIT_TIMEOUT},
		{"no-progress", no_argument, NULL, WAIT_NO_PROGRESS},
		{"json", no_argument, NULL, OPT_JSON},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->interval_ms = 1000;
	a->progress = true;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(&a->co, c, optarg))
			continue;
		switch (c) {
		case WAIT_INTERVAL:
			if ((rc = jobs_parse_int("wait", "--interval-ms", optarg, 10, 3600000,
						 &a->interval_ms)))
				return rc;
			break;
		case WAIT_TIMEOUT:
			if ((rc = jobs_parse_int("wait", "--timeout-s", optarg, 0, 100LL * 365 * 86400,
						 &a->timeout_s)))
				return rc;
			break;
		case WAIT_NO_PROGRESS: a->progress = false; break;
		case OPT_JSON: a->json = true; break;
		case 'h': exit(jobs_help(wait_usage, wait_exits));
		default: return cli_usage("wait", "unknown option %s", argv[optind - 1]);
		}
	}
	return jobs_one_job("wait", argc, argv, &a->job);
}

static bool jobs_terminal(const char *s)
{
	return !strcmp(s, "Completed") || !strcmp(s, "PartiallyCompleted") ||
	       !strcmp(s, "Failed") || !strcmp(s, "Stopped") || !strcmp(s, "Expired");
}

/* What `wait` last showed, so that lines are printed on change. */
struct wait_view {
	struct progress p;
	char status[32];
	long long processed;
	int64_t t0;
};

static void wait_show(struct wait_view *v, json_object *j, const char *id)
{
	const char *st = json_get_str(j, "status");
	long long done = jobs_count(j, "processedRecordCount");
	long long total = jobs_count(j, "totalRecordCount");
	long long errs = jobs_count(j, "errorRecordCount");
	int64_t now = time_mono_ms();
	bool changed = strcmp(st, v->status) != 0;
	char dn[32], tn[32];

	if (!v->p.enabled)
		return;
	done = done < 0 ? 0 : done;
	total = total < 0 ? 0 : total;
	errs = errs < 0 ? 0 : errs;
	/*
	 * Lines for logs come on a change of status at once, and on progress
	 * no more often than the interval; a bar redraws at every poll.
	 */
	if (!v->p.tty && !changed && (done == v->processed || now - v->p.last_ms < v->p.interval_ms))
		return;
	snprintf(v->status, sizeof(v->status), "%s", st);
	v->processed = done;
	v->p.last_ms = now;
	cli_fmt_int(dn, sizeof(dn), done);
	cli_fmt_int(tn, sizeof(tn), total);
	if (v->p.tty) {
		char bar[31];
		int fill = total > 0 ? (int)(30.0 * (double)done / (double)total) : 0;
		long secs = (long)((now - v->t0) / 1000);

		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[30] = '\0';
		fprintf(stderr, "\r\033[K[%s] %s/%s records  %lld errors  %s  %ld:%02ld", bar, dn, tn,
			errs, st, secs / 60, secs % 60);
		v->p.drawn = true;
	} else {
		fprintf(stderr, "progress: %s/%s records, %lld errors, job %s %s\n", dn, tn, errs, id,
			st);
	}
	fflush(stderr);
}

/* wait_summary prints the end of a job and returns the exit status of its status. */
static int wait_summary(json_object *j, const struct client_resp *r, const char *id, bool json)
{
	const char *st = json_get_str(j, "status");
	const char *msg = json_get_str(j, "message");
	long long done = jobs_count(j, "processedRecordCount");
	long long total = jobs_count(j, "totalRecordCount");
	long long ok = jobs_count(j, "successRecordCount");
	long long bad = jobs_count(j, "errorRecordCount");
	char dn[32], tn[32], on[32], bn[32];

	if (json) {
		jobs_print_body(r);
	} else {
		cli_fmt_int(dn, sizeof(dn), done < 0 ? 0 : done);
		cli_fmt_int(tn, sizeof(tn), total < 0 ? 0 : total);
		cli_fmt_int(on, sizeof(on), ok < 0 ? 0 : ok);
		cli_fmt_int(bn, sizeof(bn), bad < 0 ? 0 : bad);
		printf("job %s %s: %s/%s records processed, %s succeeded, %s failed\n", id, st, dn, tn,
		       on, bn);
		if (msg && *msg)
			printf("  message: %s\n", msg);
	}
	if (!strcmp(st, "Completed"))
		return EXIT_COMPLETED;
	if (!strcmp(st, "Failed"))
		return EXIT_FAILED;
	return EXIT_STOPPED;
}

int cmd_wait(int argc, char **argv)
{
	struct wait_args a;
	struct client c;
	struct client_resp r;
	struct wait_view v;
	struct err e;
	char id[64];
	int64_t start, away_since = -1;
	bool seen = false;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&v, 0, sizeof(v));
	client_resp_init(&r);
	err_init(&e);
	if ((rc = wait_parse(argc, argv, &a)))
		goto done;
	if ((rc = jobs_open(&c, "wait", &a.co)))
		goto done;
	client_job_id(a.job, id, sizeof(id));
	progress_init(&v.p, a.progress);
	v.t0 = start = time_mono_ms();
	v.processed = -1;
	for (;;) {
		int64_t now;

		rc = client_get_job(&c, a.job, &r, &e);
		now = time_mono_ms();
		if (rc == 0) {
			const char *st = json_get_str(r.json, "status");

			seen = true;
			away_since = -1;
			wait_show(&v, r.json, id);
			if (jobs_terminal(st)) {
				progress_end(&v.p);
				rc = wait_summary(r.json, &r, id, a.json);
				goto done;
			}
		} else if (seen && rc == ERR_REMOTE) {
			/* A server restarting (or briefly overloaded) is waited for. */
			if (away_since < 0) {
				away_since = now;
				progress_end(&v.p);
				fprintf(stderr, "barge wait: %s; trying again for up to %lld s\n", e.msg,
					(long long)(JOBS_WAIT_GRACE_MS / 1000));
			} else if (now - away_since >= JOBS_WAIT_GRACE_MS) {
				progress_end(&v.p);
				rc = client_fail(&c, rc, &e, &r);
				goto done;
			}
		} else {
			progress_end(&v.p);
			rc = client_fail(&c, rc, &e, &r);
			goto done;
		}
		if (a.timeout_s && now - start >= a.timeout_s * 1000) {
			progress_end(&v.p);
			fprintf(stderr, "barge wait: job %s is still %s after %lld s; run `barge wait %s` "
					"again to keep waiting, or `barge stop %s` to stop it\n",
				id, v.status[0] ? v.status : "running", a.timeout_s, id, id);
			rc = EXIT_FAILED;
			goto done;
		}
		time_sleep_ms(a.interval_ms);
	}
done:
	client_close(&c);
	client_resp_free(&r);
	return rc;
}

/* ---- results ---- */

static const char results_usage[] =
	"usage: barge results JOB [--download DIR] [--manifest] [server options]\n"
	"\n"
	"Prints the output lines of a finished job: every <input>.out under\n"
	"<output>/<job id>/, in name order. The outputs are read from the files of a\n"
	"file:// output prefix directly, so run it on the server's machine; S3 outputs\n"
	"come with S3 support.\n"
	"\n"
	"options:\n"
	"  --download DIR         copy the .out files and manifest.json.out into DIR\n"
	"                         instead of printing them\n"
	"  --manifest             print manifest.json.out (counts, tokens, cost)\n";

static const char results_exits[] =
	"exit status: 0 done, 1 the job has not ended or has no outputs here, 2 usage\n"
	"or configuration error, or an s3:// output (not readable by this build yet).\n";

enum { RESULTS_DOWNLOAD = WAIT_NO_PROGRESS + 1, RESULTS_MANIFEST };

/* The output files of a job, relative to its directory. */
struct out_files {
	char **rel;
	size_t n, cap;
};

static int out_files_add(struct out_files *f, const char *rel)
{
	char **nv;

	if (f->n == JOBS_MAX_FILES)
		return ERR_LIMIT;
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;

		nv = realloc(f->rel, ncap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		f->rel = nv;
		f->cap = ncap;
	}
	f->rel[f->n] = strdup(rel);
	if (!f->rel[f->n])
		return ERR_NOMEM;
	f->n++;
	return 0;
}

static void out_files_free(struct out_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->rel[i]);
	free(f->rel);
	memset(f, 0, sizeof(*f));
}

static int out_files_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/*
 * out_files_walk collects the .out files under root/rel, skipping the
 * running job's scratch parts/ and the manifest, which is shown apart.
 */
static int out_files_walk(const char *root, const char *rel, int depth, struct out_files *f,
			  struct err *e)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct dirent *d;
	DIR *dh;
	int rc = 0;

	if (depth > JOBS_MAX_DEPTH)
		return 0;
	snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel);
	dh = opendir(dir);
	if (!dh)
		return err_set(e, ERR_IO, "cannot read %s: %s", dir, strerror(errno));
	while (!rc && (d = readdir(dh))) {
		struct stat st;
		char path[PATH_MAX];

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (!*rel && (!strcmp(d->d_name, "parts") || !strcmp(d->d_name, "manifest.json.out")))
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", d->d_name);
		snprintf(path, sizeof(path), "%s/%s", root, sub);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			rc = out_files_walk(root, sub, depth + 1, f, e);
		else if (S_ISREG(st.st_mode) && ends_with(d->d_name, ".out") &&
			 (rc = out_files_add(f, sub)))
			err_set(e, rc, "too many output files under %s", root);
	}
	closedir(dh);
	return rc;
}

/* results_copy copies the file at src to fd (stdout) or, when dst is set, to dst. */
static int results_copy(const char *src, int fd, const char *dst, bool end_line, struct err *e)
{
	char tmp[PATH_MAX + 16], b[65536];
	int in, out = fd, rc = 0;
	ssize_t k;
	char last = '\n';

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_set(e, ERR_IO, "cannot open %s: %s", src, strerror(errno));
	if (dst) {
		/* Written aside and renamed, so that DIR never holds half a file. */
		snprintf(tmp, sizeof(tmp), "%s.tmp%d", dst, (int)getpid());
		out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			rc = err_set(e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
			goto fail;
		}
	}
	for (;;) {
		k = read(in, b, sizeof(b));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = err_set(e, ERR_IO, "cannot read %s: %s", src, strerror(errno));
			goto fail;
		}
		if (k == 0)
			break;
		last = b[k - 1];
		for (ssize_t off = 0; off < k;) {
			ssize_t w = write(out, b + off, (size_t)(k - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = err_set(e, ERR_IO, "cannot write %s: %s", dst ? tmp : "stdout",
					     strerror(errno));
				goto fail;
			}
			off += w;
		}
	}
	/* Files are printed one after the other: each must end its last line. */
	if (end_line && last != '\n' && write(out, "\n", 1) != 1) {
		rc = err_set(e, ERR_IO, "cannot write %s: %s", dst ? tmp : "stdout", strerror(errno));
		goto fail;
	}
	if (dst) {
		if (close(out) < 0) {
			out = -1;
			rc = err_set(e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		out = -1;
		if (rename(tmp, dst) < 0) {
			rc = err_set(e, ERR_IO, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
			goto fail;
		}
	}
fail:
	close(in);
	if (dst && out >= 0)
		close(out);
	if (rc && dst)
		unlink(tmp);
	return rc;
}

/* mkdirs creates dir and its parents, like mkdir -p. */
static int mkdirs(const char *dir, struct err *e)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(p))
		return err_set(e, ERR_INVAL, "directory name too long: %.100s", dir);
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
		p[i] = dir[i];
	}
	return 0;
}

/* results_download copies every output file and the manifest into dir. */
static int results_download(const char *jobdir, const struct out_files *f, const char *dir,
			    bool has_manifest, struct err *e)
{
	char src[PATH_MAX], dst[PATH_MAX];
	size_t n = 0;
	int rc;

	if ((rc = mkdirs(dir, e)))
		return rc;
	for (size_t i = 0; i <= f->n; i++) {
		const char *rel = i < f->n ? f->rel[i] : "manifest.json.out";
		char *slash;

		if (i == f->n && !has_manifest)
			break;
		snprintf(src, sizeof(src), "%s/%s", jobdir, rel);
		snprintf(dst, sizeof(dst), "%s/%s", dir, rel);
		slash = strrchr(dst, '/');
		if (slash && slash > dst + strlen(dir)) {
			*slash = '\0';
			rc = mkdirs(dst, e);
			*slash = '/';
			if (rc)
				return rc;
		}
		if ((rc = results_copy(src, -1, dst, false, e)))
			return rc;
		n++;
	}
	fprintf(stderr, "barge results: %zu file%s copied to %s\n", n, n == 1 ? "" : "s", dir);
	return 0;
}

/*
 * results_local_dir finds the directory of a job's outputs from its output
 * URI: file:// and plain paths only. Returns 0, or EXIT_USAGE for s3:// and
 * EXIT_FAILED for anything else, with the reason printed.
 */
static int results_local_dir(const char *uri, const char *id, char *out, size_t n)
{
	const char *p = uri;
	size_t len;

	if (!strncasecmp(uri, "s3://", 5)) {
		fprintf(stderr,
			"barge results: the outputs of job %s are in S3 (%s), and reading S3 results "
			"comes with S3 support, which this build does not have yet. Fetch them with an "
			"S3 client from %s%s%s/.\n",
			id, uri, uri, ends_with(uri, "/") ? "" : "/", id);
		return EXIT_USAGE;
	}
	if (!strncmp(uri, "file://", 7)) {
		p = uri + 7;
		if (!strncmp(p, "localhost/", 10))
			p += 9;
	} else if (strstr(uri, "://")) {
		fprintf(stderr, "barge results: job %s has output %s, which this client cannot read\n",
			id, uri);
		return EXIT_FAILED;
	}
	len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		len--;
	if (snprintf(out, n, "%.*s/%s", (int)len, p, id) >= (int)n) {
		fprintf(stderr, "barge results: output path %.100s is too long\n", uri);
		return EXIT_FAILED;
	}
	return 0;
}

int cmd_results(int argc, char **argv)
{
	static const struct option opts[] = {
		{"download", required_argument, NULL, RESULTS_DOWNLOAD},
		{"manifest", no_argument, NULL, RESULTS_MANIFEST},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct client_opts co;
	struct client c;
	struct client_resp r;
	struct out_files f;
	struct err e;
	struct stat st;
	const char *job = NULL, *download = NULL, *status, *uri;
	char id[64], jobdir[PATH_MAX], path[PATH_MAX];
	bool manifest = false, has_manifest;
	int opt, rc;

	memset(&c, 0, sizeof(c));
	memset(&co, 0, sizeof(co));
	memset(&f, 0, sizeof(f));
	client_resp_init(&r);
	err_init(&e);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(&co, opt, optarg))
			continue;
		switch (opt) {
		case RESULTS_DOWNLOAD: download = optarg; break;
		case RESULTS_MANIFEST: manifest = true; break;
		case 'h': exit(jobs_help(results_usage, results_exits));
		default:
			rc = cli_usage("results", "unknown option %s", argv[optind - 1]);
			goto done;
		}
	}
	if ((rc = jobs_one_job("results", argc, argv, &job)))
		goto done;
	if ((rc = jobs_open(&c, "results", &co)))
		goto done;
	rc = client_get_job(&c, job, &r, &e);
	if (rc) {
		rc = client_fail(&c, rc, &e, &r);
		goto done;
	}
	status = json_get_str(r.json, "status");
	client_job_id(json_get_str(r.json, "jobArn") ? json_get_str(r.json, "jobArn") : job, id,
		      sizeof(id));
	uri = jobs_uri(r.json, "outputDataConfig", "s3OutputDataConfig");
	if (!uri) {
		fprintf(stderr, "barge results: job %s has no outputDataConfig.s3OutputDataConfig.s3Uri "
				"in the server's answer\n", id);
		rc = EXIT_FAILED;
		goto done;
	}
	if ((rc = results_local_dir(uri, id, jobdir, sizeof(jobdir))))
		goto done;
	if (!jobs_terminal(status) || !strcmp(status, "Expired")) {
		fprintf(stderr, "barge results: job %s is %s: %s\n", id, status,
			!strcmp(status, "Expired")
				? "it expired before it started, so it has no results"
				: "its results are written when it ends; `barge wait` follows it there");
		rc = EXIT_FAILED;
		goto done;
	}
	if (stat(jobdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		const char *msg = json_get_str(r.json, "message");

		fprintf(stderr, "barge results: job %s (%s) has no outputs at %s on this machine%s%s. "
				"Outputs of a file:// prefix are read where the server writes them: run "
				"`barge results` on the server's machine.\n",
			id, status, jobdir, msg && *msg ? "; its message: " : "", msg ? msg : "");
		rc = EXIT_FAILED;
		goto done;
	}
	if (out_files_walk(jobdir, "", 0, &f, &e)) {
		fprintf(stderr, "barge results: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto done;
	}
	qsort(f.rel, f.n, sizeof(*f.rel), out_files_cmp);
	snprintf(path, sizeof(path), "%s/manifest.json.out", jobdir);
	has_manifest = access(path, R_OK) == 0;
	if (manifest && !has_manifest) {
		fprintf(stderr, "barge results: job %s has no manifest at %s\n", id, path);
		rc = EXIT_FAILED;
		goto done;
	}
	rc = 0;
	if (download)
		rc = results_download(jobdir, &f, download, has_manifest, &e);
	if (!rc && manifest)
		rc = results_copy(path, STDOUT_FILENO, NULL, true, &e);
	for (size_t i = 0; !rc && !download && !manifest && i < f.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", jobdir, f.rel[i]);
		rc = results_copy(path, STDOUT_FILENO, NULL, true, &e);
	}
	if (rc) {
		fprintf(stderr, "barge results: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto done;
	}
	if (!download && !manifest && f.n == 0)
		fprintf(stderr, "barge results: job %s has no .out files in %s\n", id, jobdir);
	rc = EXIT_COMPLETED;
done:
	client_close(&c);
	client_resp_free(&r);
	out_files_free(&f);
	return rc;
}
