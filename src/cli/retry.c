/* retry.c - `barge retry`: a follow-up job of the records a job failed, or never processed. */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/jsonl.h"
#include "objects/objects.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bedrock's job names have at most 63 characters. */
#define RETRY_NAME_MAX 63
#define RETRY_BODY_MAX ((size_t)1 << 20)
/* A job has at most 10,000 inputs (validate.c), so at most this many retry inputs. */
#define RETRY_MAX_FILES 10000

static const char retry_usage[] =
	"usage: barge retry JOB [--model ID] [--expired [--errors]] [--state DIR]\n"
	"                   [--output URI] [--name NAME] [--json] [server options]\n"
	"\n"
	"Starts a follow-up job of the records of JOB that ended with an error. They\n"
	"are written as input lines {\"recordId\", \"modelInput\"} (modelInput byte for\n"
	"byte) to <output>/<job id>/retry/<input name>, next to JOB's outputs, and a\n"
	"new job runs them, tagged barge:parentJob = JOB's ARN. Its outputs keep the\n"
	"input names, so `barge results --merge JOB RETRY...` gives back one output\n"
	"per input with every record's latest result. With nothing to retry it says\n"
	"so and exits 0 without a job.\n"
	"\n"
	"A JOB of `barge run` (found in --state DIR, else in $BARGE_STATE or ./.barge)\n"
	"is retried by `barge run`, in this process and the same state directory: it\n"
	"prints what `barge run` prints and exits as it does, and the same `barge\n"
	"retry` command resumes a follow-up that was interrupted. Any other JOB is a\n"
	"barge server's: the follow-up is created there, with JOB's role, timeout\n"
	"and invocation type, and its ARN printed. The retry input is written from\n"
	"here: a file:// output must be on this machine, an s3:// one is written\n"
	"with [storage.s3] (see `barge results --help`).\n"
	"\n"
	"options:\n"
	"  --model ID             run the follow-up on another model of the same family\n"
	"                         (default: JOB's model)\n"
	"  --expired              retry the records JOB never processed (it was stopped,\n"
	"                         ran out of time or expired) instead of its errors\n"
	"  --errors               with --expired: retry the errors too\n"
	"  --state DIR            the state directory of a `barge run` JOB\n"
	"  --output URI           where the follow-up writes its outputs (default: JOB's\n"
	"                         output location)\n"
	"  --name NAME            the follow-up's name (default: <JOB's name>-retry-N)\n"
	"  --no-progress          no progress display (`barge run` jobs)\n"
	"  --json                 one JSON object on stdout: the summary of `barge run`,\n"
	"                         or {jobArn, parentJobArn, inputUri, recordCount}\n";

static const char retry_exits[] =
	"exit status: 0 the follow-up was created (server) or Completed (`barge run`),\n"
	"or there was nothing to retry; 1 JOB was not found or has not ended, its\n"
	"outputs could not be read or the retry input written, or the follow-up\n"
	"Failed; 2 usage or configuration error; 3 the follow-up was stopped.\n";

enum {
	RETRY_MODEL = CLIENT_OPT_FIRST_OWN,
	RETRY_EXPIRED,
	RETRY_ERRORS,
	RETRY_STATE,
	RETRY_OUTPUT,
	RETRY_NAME,
	RETRY_NO_PROGRESS,
	RETRY_JSON
};

struct retry_args {
	struct client_opts co;
	const char *job, *model, *state, *output, *name;
	bool expired, errors, json, progress;
};

/* One retry input: the selected records of one input of the parent. */
struct retry_file {
	char *name;     /* the parent's input name, which the retry input keeps */
	char *uri;      /* <parent prefix>retry/<name> */
	int64_t records;
};

/* A retry in the making. */
struct retry {
	const struct retry_args *a;
	struct results_src *src;
	struct objects *obj;
	struct results_job parent;
	bool have_parent;
	char *dir;               /* <parent prefix>retry/ */
	struct retry_file *files;
	size_t n_files, cap;
	bool changed;            /* a retry input was written anew (or removed) */
	int64_t records, errors, unprocessed, skipped, repeats;
	int64_t lines;           /* the parent's output lines read */
	struct idset picked;     /* the recordIds selected, over every input */
	uint64_t passes;         /* selection passes made so far */
	uint64_t n_inputs_seen;  /* inputs selected from so far */
	struct err e;
};

/*
 * Where the selected records of one input go. A first pass compares them
 * with the retry input an earlier `barge retry` of the same job left there,
 * line by line; only when they differ does a second pass write them. So an
 * unchanged retry input keeps its version, and a `barge run` follow-up that
 * was interrupted resumes instead of refusing a changed input.
 */
struct retry_sink {
	bool write;
	bool also_errors;        /* walking the input: errors are selected too */
	struct obj_writer *w;
	struct jsonl_reader old;
	bool old_open;
	bool differs;
	struct buf line;
	int64_t n, errors, unprocessed, skipped, repeats;
	int64_t lines;           /* output lines read (picking errors) */
	struct idset *picked;
	uint64_t input, pass;    /* which input this is, and which pass over it */
	struct err *e;
};

static int retry_parse(int argc, char **argv, struct retry_args *a)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, RETRY_MODEL},
		{"expired", no_argument, NULL, RETRY_EXPIRED},
		{"errors", no_argument, NULL, RETRY_ERRORS},
		{"state", required_argument, NULL, RETRY_STATE},
		{"output", required_argument, NULL, RETRY_OUTPUT},
		{"name", required_argument, NULL, RETRY_NAME},
		{"no-progress", no_argument, NULL, RETRY_NO_PROGRESS},
		{"json", no_argument, NULL, RETRY_JSON},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->progress = true;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(&a->co, c, optarg))
			continue;
		switch (c) {
		case RETRY_MODEL: a->model = optarg; break;
		case RETRY_EXPIRED: a->expired = true; break;
		case RETRY_ERRORS: a->errors = true; break;
		case RETRY_STATE: a->state = optarg; break;
		case RETRY_OUTPUT: a->output = optarg; break;
		case RETRY_NAME: a->name = optarg; break;
		case RETRY_NO_PROGRESS: a->progress = false; break;
		case RETRY_JSON: a->json = true; break;
		case 'h': exit(client_help(retry_usage, retry_exits));
		default: return cli_usage("retry", "unknown option %s", argv[optind - 1]);
		}
	}
	if (a->errors && !a->expired)
		return cli_usage("retry", "--errors goes with --expired (errors alone are what "
					  "`barge retry JOB` retries)");
	if (a->name && (!*a->name || strlen(a->name) > RETRY_NAME_MAX))
		return cli_usage("retry", "--name takes 1 to %d characters", RETRY_NAME_MAX);
	if (a->model && !*a->model)
		return cli_usage("retry", "--model takes a model id (`barge models` lists them)");
	return client_take_job("retry", argc, argv, &a->job);
}

static bool retry_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* retry_concat returns a malloc'd a followed by b, or NULL when out of memory. */
static char *retry_concat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s", a, b);
	return s;
}

/* ---- selecting the records ---- */

/*
 * retry_sink_first says whether record id is selected for the first time
 * (1) or repeats a recordId already selected (0). A parent run with
 * --on-invalid skip can hold one recordId twice: the second record was
 * refused as a duplicate and must not be sent, or the follow-up would
 * refuse it again (or, by default, fail whole). The same record seen again
 * by a later pass over the same input is not a repeat.
 */
static int retry_sink_first(struct retry_sink *k, const char *id, size_t id_len)
{
	struct idset_entry *x;
	int rc = idset_add(k->picked, id, id_len, k->input, k->pass, &x);

	if (rc < 0)
		return err_set(k->e, rc, "out of memory for the recordIds to retry");
	if (rc == 0)
		return 1;
	if (x->a == k->input && x->b < k->pass) {
		x->b = k->pass;
		return 1;
	}
	k->repeats++;
	return 0;
}

/* retry_sink_put sends one selected record, as an input line, to k. */
static int retry_sink_put(struct retry_sink *k, const char *id, size_t id_len, const char *mi,
			  size_t mi_len)
{
	struct jsonl_line l;
	int rc;

	buf_reset(&k->line);
	buf_puts(&k->line, "{\"recordId\":");
	buf_append(&k->line, id, id_len);
	buf_puts(&k->line, ",\"modelInput\":");
	buf_append(&k->line, mi, mi_len);
	buf_puts(&k->line, "}\n");
	if (k->line.err)
		return err_set(k->e, k->line.err, "a retry line of record %.*s is over %zu MiB",
			       (int)(id_len > 100 ? 100 : id_len), id, RESULTS_LINE_MAX >> 20);
	k->n++;
	if (k->write)
		return obj_writer_write(k->w, k->line.data, k->line.len, k->e);
	if (k->differs)
		return 0;
	if (!k->old_open) {
		k->differs = true;
		return 0;
	}
	rc = jsonl_next(&k->old, &l, k->e);
	if (rc < 0)
		return rc;
	if (rc == 0 || l.too_long || l.len != k->line.len - 1 || memcmp(l.data, k->line.data, l.len))
		k->differs = true;
	return 0;
}

/* retry_on_rec selects a record of a walked input: never processed, or (also_errors) failed. */
static int retry_on_rec(const struct retry_rec *x, void *ud)
{
	struct retry_sink *k = ud;
	int rc;

	if (x->out) {
		if (!k->also_errors || !x->res.error)
			return 0;
		if (!x->res.mi) {
			k->skipped++;
			return 0;
		}
		rc = retry_sink_first(k, x->id, x->id_len);
		if (rc <= 0)
			return rc;
		k->errors++;
		return retry_sink_put(k, x->id, x->id_len, x->res.mi, x->res.mi_len);
	}
	/* An invalid line (not JSON, no modelInput) would only fail again. */
	if (!x->rec.object || !x->rec.mi) {
		k->skipped++;
		return 0;
	}
	rc = retry_sink_first(k, x->id, x->id_len);
	if (rc <= 0)
		return rc;
	k->unprocessed++;
	return retry_sink_put(k, x->id, x->id_len, x->rec.mi, x->rec.mi_len);
}

/* retry_pick_errors selects the error lines of the output file out_uri. */
static int retry_pick_errors(struct retry *r, const char *out_uri, struct retry_sink *k)
{
	struct jsonl_reader rd;
	struct jsonl_line l;
	struct results_line s;
	int rc;

	rc = jsonl_open(&rd, r->obj, out_uri, 0, 0, 1, RESULTS_LINE_MAX, k->e);
	if (rc)
		return rc;
	while ((rc = results_read_line(&rd, out_uri, &l, &s, k->e)) == 1) {
		k->lines++;
		if (!s.error)
			continue;
		/* A record that was invalid at validation has no modelInput to send again. */
		if (!s.mi) {
			k->skipped++;
			continue;
		}
		rc = retry_sink_first(k, s.id, s.id_len);
		if (rc < 0)
			break;
		if (rc == 0)
			continue;
		k->errors++;
		rc = retry_sink_put(k, s.id, s.id_len, s.mi, s.mi_len);
		if (rc)
			break;
	}
	jsonl_close(&rd);
	return rc < 0 ? rc : 0;
}

/* retry_pick runs one selection pass over an output file (errors) or an input (walk). */
static int retry_pick(struct retry *r, const char *out_uri, const struct job_input *in,
		      struct retry_sink *k)
{
	const struct config *cfg = results_src_config(r->src);

	if (!in)
		return retry_pick_errors(r, out_uri, k);
	return retry_walk(r->obj, r->parent.j.id, r->parent.prefix, in, cfg->limits.max_line_bytes,
			  retry_on_rec, k, k->e);
}

static int retry_file_add(struct retry *r, const char *name, const char *uri, int64_t n)
{
	struct retry_file *f;

	if (r->n_files == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 8;
		struct retry_file *nv;

		if (ncap > RETRY_MAX_FILES)
			return err_set(&r->e, ERR_LIMIT, "more than %d retry inputs", RETRY_MAX_FILES);
		nv = realloc(r->files, ncap * sizeof(*nv));
		if (!nv)
			return err_set(&r->e, ERR_NOMEM, "out of memory");
		r->files = nv;
		r->cap = ncap;
	}
	f = &r->files[r->n_files];
	f->name = strdup(name);
	f->uri = strdup(uri);
	f->records = n;
	if (!f->name || !f->uri) {
		free(f->name);
		free(f->uri);
		return err_set(&r->e, ERR_NOMEM, "out of memory");
	}
	r->n_files++;
	return 0;
}

/*
 * retry_one selects the records of the parent's input name, from its
 * output file out_uri (errors) or by walking its input in, into the retry
 * input <dir><name>: compared first, written only when it differs.
 */
static int retry_one(struct retry *r, const char *name, const char *out_uri,
		     const struct job_input *in)
{
	struct retry_sink k;
	struct jsonl_line l;
	char *uri = retry_concat(r->dir, name);
	bool existed = false;
	int rc;

	memset(&k, 0, sizeof(k));
	k.e = &r->e;
	k.also_errors = !r->a->expired || r->a->errors;
	k.picked = &r->picked;
	k.input = r->n_inputs_seen++;
	k.pass = ++r->passes;
	buf_init(&k.line, RESULTS_LINE_MAX + 64);
	if (!uri) {
		rc = err_set(&r->e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	rc = jsonl_open(&k.old, r->obj, uri, 0, 0, 1, RESULTS_LINE_MAX, &r->e);
	if (rc && rc != ERR_NOTFOUND)
		goto fail;
	k.old_open = existed = rc == 0;
	rc = retry_pick(r, out_uri, in, &k);
	if (rc)
		goto fail;
	if (k.old_open && !k.differs) {
		/* Longer than what is selected now is different too. */
		rc = jsonl_next(&k.old, &l, &r->e);
		if (rc < 0)
			goto fail;
		k.differs = rc == 1;
	}
	if (k.old_open) {
		jsonl_close(&k.old);
		k.old_open = false;
	}
	r->records += k.n;
	r->errors += k.errors;
	r->unprocessed += k.unprocessed;
	r->skipped += k.skipped;
	r->repeats += k.repeats;
	r->lines += k.lines;
	if (k.n == 0) {
		/* Nothing of this input to retry: no file, not even an empty one. */
		if (existed) {
			r->changed = true;
			rc = objects_remove(r->obj, uri, &r->e);
		}
		goto fail;
	}
	if (!existed || k.differs) {
		k.write = true;
		k.n = 0;
		k.pass = ++r->passes;
		r->changed = true;
		rc = objects_open_write(r->obj, uri, &k.w, &r->e);
		if (rc)
			goto fail;
		rc = retry_pick(r, out_uri, in, &k);
		if (rc) {
			obj_writer_abort(k.w);
			goto fail;
		}
		rc = obj_writer_commit(k.w, &r->e);
		if (rc)
			goto fail;
	}
	rc = retry_file_add(r, name, uri, k.n);
fail:
	if (k.old_open)
		jsonl_close(&k.old);
	buf_free(&k.line);
	free(uri);
	return rc;
}

/* retry_check_input refuses an input that changed since the job validated it. */
static int retry_check_input(struct retry *r, const struct job_input *in)
{
	struct obj_stat st;

	if (!in->etag[0])
		return 0;
	if (objects_stat(r->obj, in->uri, &st, &r->e))
		return r->e.code;
	if (strcmp(st.etag, in->etag))
		return err_set(&r->e, ERR_CONFLICT,
			       "input %s changed since job %s ran, so the records it never processed "
			       "cannot be told apart in it: put the input back as it was",
			       in->uri, r->parent.j.id);
	return 0;
}

/* retry_select selects the records to retry, one retry input per parent input. */
static int retry_select(struct retry *r)
{
	struct job_input *in = NULL;
	char **rel = NULL;
	size_t n_in = 0, n_rel = 0;
	int rc = 0;

	if (!r->a->expired || (r->parent.j.status == JS_COMPLETED && r->a->errors)) {
		/* A job's errors are all in its output lines. */
		rc = results_job_outs(r->src, &r->parent, &rel, &n_rel, &r->e);
		for (size_t i = 0; !rc && i < n_rel; i++) {
			char *out_uri = retry_concat(r->parent.prefix, rel[i]);

			if (!out_uri) {
				rc = err_set(&r->e, ERR_NOMEM, "out of memory");
				break;
			}
			rel[i][strlen(rel[i]) - 4] = '\0';
			rc = retry_one(r, rel[i], out_uri, NULL);
			free(out_uri);
		}
		results_names_free(rel, n_rel);
		/* Lines lost from the outputs would be errors never retried, silently. */
		if (!rc && r->lines < r->parent.j.c.processed)
			rc = err_set(&r->e, ERR_CONFLICT,
				     "job %s processed %lld records but its outputs under %s hold "
				     "%lld: they were moved, deleted or cut short, so their errors "
				     "cannot all be found",
				     r->parent.j.id, (long long)r->parent.j.c.processed,
				     r->parent.prefix, (long long)r->lines);
		return rc;
	}
	/* A Completed job processed every record: no need to read its inputs. */
	if (r->parent.j.status == JS_COMPLETED)
		return 0;
	rc = results_job_inputs(r->src, &r->parent, &in, &n_in, &r->e);
	for (size_t i = 0; !rc && i < n_in; i++) {
		rc = retry_check_input(r, &in[i]);
		if (!rc)
			rc = retry_one(r, in[i].name, NULL, &in[i]);
	}
	job_inputs_free(in, n_in);
	return rc;
}

/* retry_on_stale collects a retry input of an earlier retry that is not one of this one's. */
static int retry_on_stale(const char *uri, uint64_t size, void *ud)
{
	struct retry *r = ud;

	(void)size;
	for (size_t i = 0; i < r->n_files; i++) {
		if (!strcmp(r->files[i].uri, uri))
			return 0;
	}
	/* Not removed here: some stores may not like removals during a listing. */
	r->changed = true;
	return retry_file_add(r, "", uri, -1);
}

/*
 * retry_drop_stale removes what an earlier retry of the same job left in
 * the retry directory and this one does not select: as the follow-up's
 * input prefix, the directory must hold exactly this retry's records.
 */
static int retry_drop_stale(struct retry *r)
{
	size_t keep = r->n_files;
	int rc;

	rc = objects_list(r->obj, r->dir, retry_on_stale, r, &r->e);
	if (rc == ERR_NOTFOUND)
		rc = 0;
	for (size_t i = keep; i < r->n_files; i++) {
		if (!rc)
			rc = objects_remove(r->obj, r->files[i].uri, &r->e);
		free(r->files[i].name);
		free(r->files[i].uri);
	}
	r->n_files = keep;
	return rc;
}

/* ---- the follow-up job ---- */

/*
 * retry_job_name names the follow-up of a job named parent: "<parent>-retry-1",
 * and "x-retry-3" for a retry of "x-retry-2", so that a chain stays readable.
 */
static void retry_job_name(const char *parent, char *out, size_t n)
{
	const char *base = parent && *parent ? parent : "job";
	const char *p = NULL, *q = base;
	size_t len = strlen(base), max;
	char suffix[32];
	long gen = 1;

	while ((q = strstr(q, "-retry-"))) {
		p = q;
		q++;
	}
	if (p && p[7] && strspn(p + 7, "0123456789") == strlen(p + 7) && strlen(p + 7) < 7) {
		gen = strtol(p + 7, NULL, 10) + 1;
		len = (size_t)(p - base);
	}
	snprintf(suffix, sizeof(suffix), "-retry-%ld", gen);
	max = RETRY_NAME_MAX - strlen(suffix);
	if (len > max)
		len = max;
	snprintf(out, n, "%.*s%s", (int)len, base, suffix);
}

/*
 * retry_check_model refuses a --model whose family differs from the
 * parent's: the records are requests in the parent model's format. A model
 * this side does not know is left to the server (it may configure more).
 */
static int retry_check_model(struct retry *r)
{
	const struct config *cfg = results_src_config(r->src);
	const char *type = r->parent.j.invocation_type;
	struct model_ref nm, om;
	struct err e;

	if (!r->a->model || !r->parent.j.model_id || !strcmp(r->a->model, r->parent.j.model_id))
		return 0;
	if (cli_resolve_model(cfg, r->a->model, type, &nm, &e)) {
		if (!r->parent.local)
			return 0;
		fprintf(stderr, "barge retry: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (cli_resolve_model(cfg, r->parent.j.model_id, type, &om, &e))
		return 0;
	if (strcmp(nm.fam->name, om.fam->name))
		return cli_usage("retry",
				 "model %s takes %s requests, but the records of job %s are %s "
				 "requests (model %s): retry on a model of family %s (`barge models` "
				 "lists them)",
				 r->a->model, nm.fam->name, r->parent.j.id, om.fam->name,
				 r->parent.j.model_id, om.fam->name);
	return 0;
}

/*
 * retry_run_local runs the follow-up of a `barge run` job with `barge run`
 * itself: the retry inputs, the parent's settings, and --parent-job, which
 * tags the job and keeps its run key apart from other runs of the same
 * inputs. Returns run's exit status.
 */
static int retry_run_local(struct retry *r, const char *model, const char *name)
{
	const struct job *p = &r->parent.j;
	char **argv = calloc(r->n_files + 40, sizeof(char *));
	char *state = NULL;
	bool prefix = false;
	int n = 0, rc;

	state = strdup(results_src_state(r->src));
	if (!argv || !state) {
		fprintf(stderr, "barge retry: out of memory\n");
		free(argv);
		free(state);
		return EXIT_FAILED;
	}
	argv[n++] = "run";
	/*
	 * The retry directory as a prefix names its .jsonl files as the
	 * parent's inputs were named; a file with another ending (given to
	 * `barge run` by itself) is named by its base name, as it was then.
	 */
	for (size_t i = 0; i < r->n_files; i++) {
		if (retry_ends_with(r->files[i].name, ".jsonl"))
			prefix = true;
		else
			argv[n++] = r->files[i].uri;
	}
	if (prefix)
		argv[n++] = r->dir;
	argv[n++] = "--model";
	argv[n++] = (char *)model;
	argv[n++] = "--output";
	argv[n++] = (char *)(r->a->output ? r->a->output : p->output_uri);
	argv[n++] = "--state";
	argv[n++] = state;
	argv[n++] = "--job-name";
	argv[n++] = (char *)name;
	argv[n++] = "--on-invalid";
	argv[n++] = p->skip_invalid ? "skip" : "fail";
	argv[n++] = "--invocation-type";
	argv[n++] = (char *)(p->invocation_type ? p->invocation_type : "InvokeModel");
	argv[n++] = "--parent-job";
	argv[n++] = p->arn;
	if (r->a->co.config) {
		argv[n++] = "--config";
		argv[n++] = (char *)r->a->co.config;
	}
	if (r->a->json)
		argv[n++] = "--json";
	if (!r->a->progress)
		argv[n++] = "--no-progress";
	/* New records are a new job; the same ones resume an interrupted follow-up. */
	if (r->changed)
		argv[n++] = "--restart";
	/* run takes the state lock and opens the store itself. */
	results_src_close(r->src);
	r->src = NULL;
	r->obj = NULL;
	rc = cmd_run(n, argv);
	free(argv);
	free(state);
	return rc;
}

/*
 * retry_api_uri turns a location into what the API takes: s3:// as it is,
 * a path as file:///absolute/path. Returns a malloc'd string or NULL.
 */
static char *retry_api_uri(const char *loc)
{
	char cwd[PATH_MAX];

	if (strstr(loc, "://"))
		return strdup(loc);
	if (loc[0] == '/')
		return retry_concat("file://", loc);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	{
		size_t n = strlen(cwd) + strlen(loc) + 9;
		char *s = malloc(n);

		if (s)
			snprintf(s, n, "file://%s/%s", cwd, loc);
		return s;
	}
}

/* retry_put_tags writes the follow-up's tags: the parent's own, and barge:parentJob. */
static void retry_put_tags(struct buf *b, const struct job *p)
{
	json_object *tags = NULL;
	struct err e;
	size_t n = 0;

	buf_puts(b, ",\"tags\":[");
	/* The parent's other tags (a barge:webhook among them) hold for its retry too. */
	if (p->tags_json && !json_parse(p->tags_json, strlen(p->tags_json), &tags, &e) &&
	    json_is_type(tags, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(tags); i++) {
			json_object *t = json_object_array_get_idx(tags, i);
			const char *k = json_get_str(t, "key"), *v = json_get_str(t, "value");

			if (!k || !v || !strcmp(k, "barge:parentJob"))
				continue;
			buf_puts(b, n++ ? ",{\"key\":" : "{\"key\":");
			buf_put_json_cstr(b, k);
			buf_puts(b, ",\"value\":");
			buf_put_json_cstr(b, v);
			buf_putc(b, '}');
		}
	}
	json_object_put(tags);
	buf_puts(b, n ? ",{\"key\":\"barge:parentJob\",\"value\":" : "{\"key\":\"barge:parentJob\",\"value\":");
	buf_put_json_cstr(b, p->arn);
	buf_puts(b, "}]");
}

/* retry_create creates the follow-up of a server's job and prints its ARN. */
static int retry_create(struct retry *r, const char *model, const char *name)
{
	struct client *c = results_src_client(r->src);
	const struct job *p = &r->parent.j;
	struct client_resp resp;
	struct buf b;
	struct err e;
	unsigned char rnd[16];
	char token[33], role[128];
	char *in = NULL, *out = NULL;
	const char *arn;
	bool all_jsonl = true;
	int rc;

	client_resp_init(&resp);
	buf_init(&b, RETRY_BODY_MAX);
	err_init(&e);
	for (size_t i = 0; i < r->n_files; i++)
		all_jsonl = all_jsonl && retry_ends_with(r->files[i].name, ".jsonl");
	/*
	 * An input prefix names its .jsonl objects as the parent's were named.
	 * The one input of a job given a single object keeps its base name when
	 * given as that object itself.
	 */
	if (all_jsonl) {
		in = retry_api_uri(r->dir);
	} else if (r->n_files == 1 && !strchr(r->files[0].name, '/')) {
		in = retry_api_uri(r->files[0].uri);
	} else {
		fprintf(stderr, "barge retry: the inputs of job %s do not all end in .jsonl, so one "
				"input location cannot name them all: submit each file under %s with "
				"`barge submit`\n", p->id, r->dir);
		rc = EXIT_FAILED;
		goto done;
	}
	out = retry_api_uri(r->a->output ? r->a->output : p->output_uri);
	if (!in || !out) {
		fprintf(stderr, "barge retry: out of memory\n");
		rc = EXIT_FAILED;
		goto done;
	}
	/* A fresh token, as `barge submit` uses: client_call may send the request twice. */
	ids_random_bytes(rnd, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	snprintf(role, sizeof(role), "arn:aws:iam::%s:role/barge", c->account_id);
	buf_puts(&b, "{\"jobName\":");
	buf_put_json_cstr(&b, name);
	buf_puts(&b, ",\"roleArn\":");
	buf_put_json_cstr(&b, p->role_arn ? p->role_arn : role);
	buf_puts(&b, ",\"modelId\":");
	buf_put_json_cstr(&b, model);
	buf_puts(&b, ",\"clientRequestToken\":");
	buf_put_json_cstr(&b, token);
	buf_puts(&b, ",\"inputDataConfig\":{\"s3InputDataConfig\":{\"s3Uri\":");
	buf_put_json_cstr(&b, in);
	buf_puts(&b, ",\"s3InputFormat\":\"JSONL\"}},\"outputDataConfig\":{\"s3OutputDataConfig\":"
		     "{\"s3Uri\":");
	buf_put_json_cstr(&b, out);
	buf_puts(&b, "}}");
	if (p->timeout_hours >= 24 && p->timeout_hours <= 168)
		buf_printf(&b, ",\"timeoutDurationInHours\":%d", p->timeout_hours);
	if (p->invocation_type) {
		buf_puts(&b, ",\"modelInvocationType\":");
		buf_put_json_cstr(&b, p->invocation_type);
	}
	retry_put_tags(&b, p);
	buf_putc(&b, '}');
	if (b.err) {
		fprintf(stderr, "barge retry: the request is larger than %zu bytes: job %s has too "
				"many or too long tags\n", RETRY_BODY_MAX, p->id);
		rc = EXIT_FAILED;
		goto done;
	}
	rc = client_call(c, "POST", "/model-invocation-job", NULL, b.data, &resp, &e);
	if (rc) {
		rc = client_fail(c, rc, &e, &resp);
		fprintf(stderr, "barge retry: the retry input stays in %s; `barge retry %s` tries "
				"again\n", r->dir, p->id);
		goto done;
	}
	arn = json_get_str(resp.json, "jobArn");
	if (!arn) {
		fprintf(stderr, "barge retry: the server's answer has no jobArn: is %s%s a barge "
				"server?\n", c->base, c->prefix);
		rc = EXIT_FAILED;
		goto done;
	}
	if (r->a->json) {
		buf_reset(&b);
		buf_puts(&b, "{\"jobArn\":");
		buf_put_json_cstr(&b, arn);
		buf_puts(&b, ",\"jobName\":");
		buf_put_json_cstr(&b, name);
		buf_puts(&b, ",\"parentJobArn\":");
		buf_put_json_cstr(&b, p->arn);
		buf_puts(&b, ",\"modelId\":");
		buf_put_json_cstr(&b, model);
		buf_puts(&b, ",\"inputUri\":");
		buf_put_json_cstr(&b, in);
		buf_printf(&b, ",\"recordCount\":%lld}\n", (long long)r->records);
		fwrite(b.data, 1, b.len, stdout);
	} else {
		printf("%s\n", arn);
	}
	fflush(stdout);
	rc = EXIT_COMPLETED;
done:
	client_resp_free(&resp);
	buf_free(&b);
	free(in);
	free(out);
	return rc;
}

/* retry_failed prints why the retry failed and returns the exit status for it. */
static int retry_failed(const struct retry *r)
{
	fprintf(stderr, "barge retry: %s\n", r->e.msg);
	/* Credentials and configuration are the user's to fix, as for `barge results`. */
	return (r->e.code == ERR_AUTH || r->e.code == ERR_CONFIG) ? EXIT_USAGE : EXIT_FAILED;
}

/* retry_nothing says that there is nothing to retry, and why; exit status 0. */
static int retry_nothing(struct retry *r)
{
	const struct job *p = &r->parent.j;
	const char *st = job_status_name(p->status);

	if (r->a->expired)
		fprintf(stderr, "barge retry: job %s (%s) has no records it never processed%s: "
				"nothing to retry\n", p->id, st, r->a->errors ? " and no error records" : "");
	else if (p->status == JS_COMPLETED)
		fprintf(stderr, "barge retry: job %s (%s) has no error records: nothing to retry\n",
			p->id, st);
	else
		fprintf(stderr, "barge retry: job %s (%s) has no error records: nothing to retry. "
				"Records it never processed are retried with `barge retry %s "
				"--expired`\n", p->id, st, p->id);
	if (r->a->json) {
		struct buf b;

		buf_init(&b, 4096);
		buf_puts(&b, "{\"jobArn\":null,\"parentJobArn\":");
		buf_put_json_cstr(&b, p->arn ? p->arn : "");
		buf_puts(&b, ",\"recordCount\":0}\n");
		if (!b.err)
			fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	}
	return EXIT_COMPLETED;
}

int cmd_retry(int argc, char **argv)
{
	struct retry_args a;
	struct retry r;
	const struct job *p;
	const char *model;
	char name[RETRY_NAME_MAX + 1];
	int rc;

	memset(&r, 0, sizeof(r));
	err_init(&r.e);
	r.a = &a;
	idset_init(&r.picked, 0);
	if ((rc = retry_parse(argc, argv, &a)))
		return rc;
	rc = results_src_open("retry", a.state, &a.co, a.job, &r.src);
	if (rc)
		goto done;
	r.obj = results_src_objects(r.src);
	/* As many ids as a job may hold; past that, repeats would not be caught. */
	r.picked.max = (size_t)results_src_config(r.src)->limits.max_records_per_job + 1;
	if ((rc = results_job_get(r.src, a.job, &r.parent)))
		goto done;
	r.have_parent = true;
	p = &r.parent.j;
	if (!job_status_terminal(p->status)) {
		fprintf(stderr, "barge retry: job %s is %s: retry it once it has ended (%s)\n", p->id,
			job_status_name(p->status),
			r.parent.local ? "an interrupted `barge run` finishes with the same command"
				       : "`barge wait` follows it there");
		rc = EXIT_FAILED;
		goto done;
	}
	if (!p->arn) {
		fprintf(stderr, "barge retry: job %s has no ARN to link its retry to\n", p->id);
		rc = EXIT_FAILED;
		goto done;
	}
	model = a.model ? a.model : p->model_id;
	if (!model) {
		fprintf(stderr, "barge retry: job %s has no model: give one with --model\n", p->id);
		rc = EXIT_USAGE;
		goto done;
	}
	if ((rc = retry_check_model(&r)))
		goto done;
	r.dir = retry_concat(r.parent.prefix, "retry/");
	rc = r.dir ? retry_select(&r) : err_set(&r.e, ERR_NOMEM, "out of memory");
	if (rc) {
		rc = retry_failed(&r);
		goto done;
	}
	if (r.skipped)
		fprintf(stderr, "barge retry: %lld records of job %s are not retried: they were "
				"invalid (no modelInput to send); fix them in the input and run them "
				"as a job of their own\n", (long long)r.skipped, p->id);
	if (r.repeats)
		fprintf(stderr, "barge retry: %lld records of job %s are not retried: their "
				"recordId repeats one already retried (the job refused them as "
				"duplicates); give them ids of their own in the input\n",
			(long long)r.repeats, p->id);
	if (r.records == 0) {
		rc = retry_nothing(&r);
		goto done;
	}
	if ((rc = retry_drop_stale(&r))) {
		rc = retry_failed(&r);
		goto done;
	}
	if (a.name)
		snprintf(name, sizeof(name), "%s", a.name);
	else
		retry_job_name(p->name, name, sizeof(name));
	fprintf(stderr, "barge retry: job %s: %lld records to retry (%lld errors, %lld never "
			"processed) in %s; follow-up %s on %s\n",
		p->id, (long long)r.records, (long long)r.errors, (long long)r.unprocessed, r.dir,
		name, model);
	if (r.parent.local)
		rc = retry_run_local(&r, model, name);
	else
		rc = retry_create(&r, model, name);
done:
	for (size_t i = 0; i < r.n_files; i++) {
		free(r.files[i].name);
		free(r.files[i].uri);
	}
	free(r.files);
	free(r.dir);
	idset_free(&r.picked);
	if (r.have_parent)
		results_job_free(&r.parent);
	results_src_close(r.src);
	return rc;
}

/* ---- an input and its outputs, side by side ---- */

int retry_walk(struct objects *o, const char *job_id, const char *prefix,
		 const struct job_input *in, size_t max_line,
		 int (*cb)(const struct retry_rec *r, void *ud), void *ud, struct err *e)
{
	struct jsonl_reader ir, orr;
	struct jsonl_line il, ol;
	struct results_line os;
	struct retry_rec rec;
	char gen[IDS_RECORD_LEN + 3];
	char *out_uri = NULL;
	bool in_open = false, out_open = false, have_out = false;
	size_t n;
	int rc;

	memset(&os, 0, sizeof(os));
	memset(&ol, 0, sizeof(ol));
	n = strlen(prefix) + strlen(in->name) + 5;
	out_uri = malloc(n);
	if (!out_uri)
		return err_set(e, ERR_NOMEM, "out of memory");
	snprintf(out_uri, n, "%s%s.out", prefix, in->name);
	rc = jsonl_open(&ir, o, in->uri, 0, 0, 1, max_line, e);
	if (rc)
		goto fail;
	in_open = true;
	rc = jsonl_open(&orr, o, out_uri, 0, 0, 1, RESULTS_LINE_MAX, e);
	if (rc == ERR_NOTFOUND) {
		/* No output at all: the job processed none of this input. */
		rc = 0;
	} else if (rc) {
		goto fail;
	} else {
		out_open = true;
		rc = results_read_line(&orr, out_uri, &ol, &os, e);
		if (rc < 0)
			goto fail;
		have_out = rc == 1;
	}
	for (int64_t idx = 0;; idx++) {
		rc = jsonl_next(&ir, &il, e);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		memset(&rec, 0, sizeof(rec));
		rec.in = in;
		rec.idx = idx;
		if (!il.too_long)
			results_line_scan(il.data, il.len, &rec.rec);
		if (rec.rec.id) {
			rec.id = rec.rec.id;
			rec.id_len = rec.rec.id_len;
		} else {
			/* A record without an id got this one in the output (result.c). */
			gen[0] = '"';
			ids_record(job_id, in->idx, (uint64_t)idx, gen + 1);
			gen[IDS_RECORD_LEN + 1] = '"';
			gen[IDS_RECORD_LEN + 2] = '\0';
			rec.id = gen;
			rec.id_len = IDS_RECORD_LEN + 2;
		}
		if (have_out && os.id_len == rec.id_len && !memcmp(os.id, rec.id, rec.id_len)) {
			rec.out = ol.data;
			rec.out_len = ol.len;
			rec.res = os;
		}
		rc = cb(&rec, ud);
		if (rc)
			goto fail;
		if (rec.out) {
			rc = results_read_line(&orr, out_uri, &ol, &os, e);
			if (rc < 0)
				goto fail;
			have_out = rc == 1;
		}
	}
	if (have_out) {
		rc = err_set(e, ERR_CONFLICT,
			     "%s holds the record %.*s, which is not among the records of %s in their "
			     "order: was the input changed or replaced after job %s ran?",
			     out_uri, (int)(os.id_len > 200 ? 200 : os.id_len), os.id, in->uri, job_id);
		goto fail;
	}
	rc = 0;
fail:
	if (in_open)
		jsonl_close(&ir);
	if (out_open)
		jsonl_close(&orr);
	free(out_uri);
	return rc;
}

