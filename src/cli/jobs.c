/* jobs.c - `barge submit|get|list|stop|wait`: the job commands of the client of a barge server. */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/split.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/time.h"

#include <errno.h>
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
/* Bedrock's job names have at most 63 characters; --split adds "-part-0001". */
#define JOBS_NAME_MAX 63
#define JOBS_PART_SUFFIX_LEN 10
/* After a first answer, `wait` rides out a server that is away this long. */
#define JOBS_WAIT_GRACE_MS ((int64_t)60 * 1000)

static const char *const job_statuses[] = {
	"Submitted", "Validating", "Scheduled", "InProgress", "Completed",
	"PartiallyCompleted", "Failed", "Stopping", "Stopped", "Expired",
};

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
	"  --split N              split the input (one .jsonl file, local or s3://) into\n"
	"                         parts of at most N records next to it, named as\n"
	"                         `barge split` names them (in.jsonl gives\n"
	"                         in.part-0001.jsonl, ...), and submit one job per\n"
	"                         part, named NAME-part-0001, ...; prints one ARN per\n"
	"                         line. Parts also keep to the configuration's\n"
	"                         [limits] (max_records_per_job, max_file_bytes)\n"
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
	SUBMIT_SPLIT,
	OPT_JSON,
};

struct submit_args {
	struct client_opts co;
	const char *input, *output, *model, *name, *role, *type, *token;
	long long timeout_h;
	long long split;      /* --split N: records per part; 0: no split */
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
		{"split", required_argument, NULL, SUBMIT_SPLIT},
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
		case SUBMIT_SPLIT:
			if ((rc = jobs_parse_int("submit", "--split", optarg, 1, LLONG_MAX, &a->split)))
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
		case 'h': exit(client_help(submit_usage, plain_exits));
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
	if (a->split && a->name && strlen(a->name) > JOBS_NAME_MAX - JOBS_PART_SUFFIX_LEN)
		return cli_usage("submit", "--name may have at most %d characters with --split, which "
					   "adds \"-part-0001\" and so on",
				 JOBS_NAME_MAX - JOBS_PART_SUFFIX_LEN);
	if (a->split && a->input[0] && a->input[strlen(a->input) - 1] == '/')
		return cli_usage("submit", "--split takes one .jsonl file as --input, not the prefix "
					   "%s: split each file with `barge split`", a->input);
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

	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* Drop the last segment and its '/'. */
			while (out->len > start && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
			if (out->data)
				out->data[out->len] = '\0';
		} else if (n != 1 || p[0] != '.') {
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
	struct buf raw, uri;
	struct stat st;
	size_t n = strlen(arg);
	char *out = NULL;

	if (strstr(arg, "://"))
		return strdup(arg);
	buf_init(&raw, 3 * PATH_MAX);
	buf_init(&uri, 3 * PATH_MAX);
	if (arg[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "barge submit: cannot read the current directory for %s %s: %s\n",
				flag, arg, strerror(errno));
			goto fail;
		}
		buf_puts(&raw, cwd);
		buf_putc(&raw, '/');
	}
	buf_puts(&raw, arg);
	buf_puts(&uri, "file://");
	jobs_normalize(&uri, raw.data ? raw.data : "/");
	if (n && arg[n - 1] == '/' && uri.data && strcmp(uri.data, "file:///"))
		buf_putc(&uri, '/');
	if (raw.err || uri.err) {
		fprintf(stderr, "barge submit: %s %.200s is too long\n", flag, arg);
		goto fail;
	}
	if (must_exist && stat(uri.data + 7, &st) < 0) {
		fprintf(stderr,
			"barge submit: %s %s: %s here. For a path on the server's machine give a "
			"file:// URI (file:///absolute/path); for S3, an s3:// URI.\n",
			flag, arg, strerror(errno));
		goto fail;
	}
	out = buf_steal(&uri, NULL);
fail:
	buf_free(&raw);
	buf_free(&uri);
	return out;
}

/* submit_default_name writes the name of a job submitted without --name. */
static void submit_default_name(char *name, size_t n)
{
	int64_t now = time_now_ms();
	char ts[32];

	/* "2026-11-26T05:30:00Z" becomes "20261126-053000", plus milliseconds. */
	time_format_rfc3339(now, ts, sizeof(ts));
	snprintf(name, n, "barge-%.4s%.2s%.2s-%.2s%.2s%.2s-%03d", ts, ts + 5, ts + 8, ts + 11,
		 ts + 14, ts + 17, (int)(now % 1000));
}

/* submit_body writes the CreateModelInvocationJob request of a to b. */
static int submit_body(struct buf *b, const struct submit_args *a, const char *in,
		       const char *out, const struct client *c)
{
	char name[64], token[33], role[128];
	unsigned char rnd[16];

	if (!a->name)
		submit_default_name(name, sizeof(name));
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

/* submit_one sends the request of a job of in and prints its ARN (or the answer). */
static int submit_one(struct client *c, const struct submit_args *a, const char *in,
		      const char *out)
{
	struct client_resp r;
	struct buf body;
	struct err e;
	const char *arn;
	int rc;

	client_resp_init(&r);
	buf_init(&body, JOBS_BODY_MAX);
	err_init(&e);
	if (submit_body(&body, a, in, out, c)) {
		fprintf(stderr, "barge submit: the request is larger than %zu bytes: shorten the "
				"tags or URIs\n", JOBS_BODY_MAX);
		rc = EXIT_USAGE;
		goto done;
	}
	rc = client_call(c, "POST", "/model-invocation-job", NULL, body.data, &r, &e);
	if (rc) {
		rc = client_fail(c, rc, &e, &r);
		goto done;
	}
	arn = json_get_str(r.json, "jobArn");
	if (!arn) {
		fprintf(stderr, "barge submit: the server's answer has no jobArn: is %s%s a barge "
				"server?\n", c->base, c->prefix);
		rc = EXIT_FAILED;
		goto done;
	}
	if (a->json)
		jobs_print_body(&r);
	else
		printf("%s\n", arn);
	/* A caller reading ARNs as they come sees each job at once. */
	fflush(stdout);
	rc = EXIT_COMPLETED;
done:
	client_resp_free(&r);
	buf_free(&body);
	return rc;
}

/*
 * submit_split cuts the input in into parts next to it (as `barge split`
 * does, within the configuration's limits) and submits one job per part,
 * named <name>-part-0001 and so on. The parts stay where they are: they are
 * the jobs' inputs, which the server reads later.
 */
static int submit_split(struct client *c, const struct submit_args *a, const char *in,
			const char *out)
{
	struct config cfg;
	struct objects *obj = NULL;
	struct split_opts so = {0};
	struct split_result res;
	struct submit_args pa;
	struct obj_stat st;
	struct err e;
	char base[JOBS_NAME_MAX + 1], name[JOBS_NAME_MAX + 1], token[320];
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&res, 0, sizeof(res));
	if ((rc = cli_load_config("submit", a->co.config, &cfg)))
		goto done;
	obj = objects_new(&cfg.s3);
	if (!obj) {
		fprintf(stderr, "barge submit: out of memory\n");
		rc = EXIT_FAILED;
		goto done;
	}
	if (objects_stat(obj, in, &st, &e) == 0 && st.is_prefix) {
		rc = cli_usage("submit", "--split takes one .jsonl file as --input, not the directory "
					 "%s: split each file with `barge split`", a->input);
		goto done;
	}
	so.max_records = (uint64_t)a->split;
	so.lim = &cfg.limits;
	if (split_input(obj, in, &so, &res, &e)) {
		fprintf(stderr, "barge submit: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto done;
	}
	fprintf(stderr, "barge submit: split %s into %zu part%s of at most %llu records\n", a->input,
		res.n_parts, res.n_parts == 1 ? "" : "s", (unsigned long long)res.max_records);
	if (!a->name)
		submit_default_name(base, sizeof(base));
	pa = *a;
	for (size_t i = 0; i < res.n_parts; i++) {
		snprintf(name, sizeof(name), "%s-part-%04zu", a->name ? a->name : base, i + 1);
		pa.name = name;
		if (a->token) {
			/* Each part's own token, so that a repeat returns the same jobs. */
			snprintf(token, sizeof(token), "%s-part-%04zu", a->token, i + 1);
			pa.token = token;
		}
		rc = submit_one(c, &pa, res.parts[i].uri, out);
		if (rc) {
			fprintf(stderr,
				"barge submit: %zu of %zu parts were submitted; the rest start at %s: "
				"submit each with `barge submit --input PART ...` once the problem is "
				"fixed\n",
				i, res.n_parts, res.parts[i].uri);
			goto done;
		}
	}
	rc = EXIT_COMPLETED;
done:
	split_result_free(&res);
	objects_free(obj);
	config_free(&cfg);
	return rc;
}

int cmd_submit(int argc, char **argv)
{
	struct submit_args a;
	struct client c;
	char *in = NULL, *out = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if ((rc = submit_parse(argc, argv, &a)))
		goto done;
	in = jobs_uri_of("--input", a.input, true);
	out = in ? jobs_uri_of("--output", a.output, false) : NULL;
	if (!in || !out) {
		rc = EXIT_USAGE;
		goto done;
	}
	if ((rc = client_start(&c, "submit", &a.co)))
		goto done;
	if (a.split)
		rc = submit_split(&c, &a, in, out);
	else
		rc = submit_one(&c, &a, in, out);
done:
	client_close(&c);
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

/* jobs_count reads a record count of a job; an absent one is 0. */
static long long jobs_count(json_object *o, const char *key)
{
	int64_t v;

	return json_get_int64(o, key, &v) && v > 0 ? (long long)v : 0;
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
	if (json_get(j, "totalRecordCount") || json_get(j, "processedRecordCount")) {
		buf_fmt_int(total, sizeof(total), jobs_count(j, "totalRecordCount"));
		buf_fmt_int(done, sizeof(done), jobs_count(j, "processedRecordCount"));
		buf_fmt_int(ok, sizeof(ok), jobs_count(j, "successRecordCount"));
		buf_fmt_int(bad, sizeof(bad), jobs_count(j, "errorRecordCount"));
		printf("%-10s %s/%s processed, %s succeeded, %s failed\n", "records", done, total,
		       ok, bad);
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if ((s = json_get_str(j, times[i][1])))
			printf("%-10s %s\n", times[i][0], s);
	}
	if (json_get_int64(j, "timeoutDurationInHours", &h))
		printf("%-10s %lld h\n", "timeout", (long long)h);
	if ((s = client_job_uri(j, "inputDataConfig", "s3InputDataConfig")))
		printf("%-10s %s\n", "input", s);
	if ((s = client_job_uri(j, "outputDataConfig", "s3OutputDataConfig")))
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
			exit(client_help(usage, plain_exits));
		else
			return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
	}
	return client_take_job(cmd, argc, argv, job);
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
	if ((rc = client_start(&c, "get", &co)))
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
	if ((rc = client_start(&c, "stop", &co)))
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
		case 'h': exit(client_help(list_usage, plain_exits));
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
		buf_fmt_int(dn, sizeof(dn), done);
		buf_fmt_int(tn, sizeof(tn), total);
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
	if ((rc = client_start(&c, "list", &a.co)))
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
		case 'h': exit(client_help(wait_usage, wait_exits));
		default: return cli_usage("wait", "unknown option %s", argv[optind - 1]);
		}
	}
	return client_take_job("wait", argc, argv, &a->job);
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
	/*
	 * Lines for logs come on a change of status at once, and on progress
	 * no more often than the interval; a bar redraws at every poll.
	 */
	if (!v->p.tty && !changed && (done == v->processed || now - v->p.last_ms < v->p.interval_ms))
		return;
	snprintf(v->status, sizeof(v->status), "%s", st);
	v->processed = done;
	v->p.last_ms = now;
	buf_fmt_int(dn, sizeof(dn), done);
	buf_fmt_int(tn, sizeof(tn), total);
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
		buf_fmt_int(dn, sizeof(dn), done);
		buf_fmt_int(tn, sizeof(tn), total);
		buf_fmt_int(on, sizeof(on), ok);
		buf_fmt_int(bn, sizeof(bn), bad);
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
	if ((rc = client_start(&c, "wait", &a.co)))
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
			/* The poll that finds the job ended is told by the summary alone. */
			if (!client_status_ended(st))
				wait_show(&v, r.json, id);
			if (client_status_ended(st)) {
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
