/* results.c - `barge results`: a finished job's output lines (file:// or s3://), and --merge of a retry chain. */
#include "cli/cli.h"
#include "cli/client.h"
#include "core/jsonl.h"
#include "core/validate.h"
#include "objects/objects.h"
#include "store/store.h"
#include "util/ids.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A job's outputs are listed up to this many files, so a hostile prefix cannot exhaust memory. */
#define RESULTS_MAX_FILES 100000
/*
 * Objects are copied through a buffer of this size; the S3 reader holds one
 * ranged block besides, so memory stays bounded whatever the outputs' sizes.
 */
#define RESULTS_COPY_BLOCK 65536
/* --merge takes at most this many jobs: a retry chain is a handful of generations. */
#define RESULTS_MERGE_MAX_JOBS 64
/*
 * --merge remembers at most this many records of the later jobs (about 50
 * bytes each besides the id): far above max_records_per_job, yet a bound.
 */
#define RESULTS_MERGE_MAX_RECORDS ((size_t)20000000)
/* Merged lines are written out in blocks of about this size. */
#define RESULTS_OUT_BLOCK ((size_t)1 << 20)

static const char results_usage[] =
	"usage: barge results JOB [--download DIR] [--manifest] [--state DIR] [server options]\n"
	"       barge results --merge JOB RETRY... [--download DIR] [--state DIR] [server options]\n"
	"\n"
	"Prints the output lines of a finished job: every <input>.out under\n"
	"<output>/<job id>/, in name order, streamed a block at a time. The outputs\n"
	"are read where the job wrote them: the files of a file:// output prefix (so\n"
	"run it on the server's machine) or the objects of an s3:// one.\n"
	"\n"
	"A JOB of `barge run` is found in its state directory: --state DIR, else\n"
	"$BARGE_STATE or ./.barge when the job is there; any other JOB is asked of\n"
	"the barge server (server options below).\n"
	"\n"
	"--merge JOB RETRY... puts a job and its retries (`barge retry`, any number\n"
	"of generations, oldest first) back together: one <input>.out per input of\n"
	"JOB, its records in JOB's order, each with its latest result (a later job's\n"
	"line replaces an earlier one with the same recordId). Memory grows with the\n"
	"number of retried records, not with the size of JOB.\n"
	"\n"
	"S3 outputs are read with the [storage.s3] section of the configuration\n"
	"(--config or $BARGE_CONFIG): endpoint, region, path_style and credentials.\n"
	"S3 credentials come from [storage.s3] first, then $AWS_ACCESS_KEY_ID and\n"
	"$AWS_SECRET_ACCESS_KEY, then ~/.aws/credentials. Those environment keys may\n"
	"be the ones this command signs its calls to the barge server with, which S3\n"
	"does not know: give S3's own keys in [storage.s3].\n"
	"\n"
	"options:\n"
	"  --download DIR         copy the .out files and manifest.json.out into DIR\n"
	"                         instead of printing them (with --merge: the merged\n"
	"                         <input>.out files)\n"
	"  --manifest             print manifest.json.out (counts, tokens, cost)\n"
	"  --merge                merge JOB and its retries, given oldest first\n"
	"  --state DIR            the state directory of `barge run` jobs\n";

static const char results_exits[] =
	"exit status: 0 done, 1 the job has not ended, has no outputs there, or they\n"
	"could not be read or copied, 2 usage or configuration error (S3 credentials\n"
	"missing or refused among them).\n";

enum {
	RESULTS_DOWNLOAD = CLIENT_OPT_FIRST_OWN,
	RESULTS_MANIFEST,
	RESULTS_MERGE,
	RESULTS_STATE
};

/*
 * The output objects of a job, as the listing names them: every name starts
 * with prefix, and the rest (from prefix_len) is the name relative to the
 * job's directory, which is what is sorted, shown and downloaded.
 */
struct out_list {
	const char *prefix;
	size_t prefix_len;
	char **uri;
	size_t n, cap;
	char *manifest; /* the manifest's name, or NULL when there is none */
	struct err *e;
};

static void out_list_free(struct out_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->uri[i]);
	free(l->uri);
	free(l->manifest);
	l->uri = NULL;
	l->manifest = NULL;
	l->n = l->cap = 0;
}

static int out_list_add(struct out_list *l, const char *uri)
{
	char **nv;

	if (l->n == RESULTS_MAX_FILES)
		return err_set(l->e, ERR_LIMIT, "more than %d output files under %s",
			       RESULTS_MAX_FILES, l->prefix);
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;

		nv = realloc(l->uri, ncap * sizeof(*nv));
		if (!nv)
			return err_set(l->e, ERR_NOMEM, "out of memory");
		l->uri = nv;
		l->cap = ncap;
	}
	l->uri[l->n] = strdup(uri);
	if (!l->uri[l->n])
		return err_set(l->e, ERR_NOMEM, "out of memory");
	l->n++;
	return 0;
}

static int out_list_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/*
 * out_list_on_object keeps one listed object (ud is a struct out_list): the
 * .out files, but neither the running job's scratch parts/ nor the
 * manifest, which is shown apart.
 */
static int out_list_on_object(const char *uri, uint64_t size, void *ud)
{
	struct out_list *l = ud;
	const char *rel;

	(void)size;
	if (strncmp(uri, l->prefix, l->prefix_len))
		return err_set(l->e, ERR_INTERNAL, "listing %.300s gave %.300s, which is not under it",
			       l->prefix, uri);
	rel = uri + l->prefix_len;
	if (!strncmp(rel, "parts/", 6))
		return 0;
	if (!strcmp(rel, "manifest.json.out")) {
		free(l->manifest);
		l->manifest = strdup(uri);
		return l->manifest ? 0 : err_set(l->e, ERR_NOMEM, "out of memory");
	}
	if (!ends_with(rel, ".out"))
		return 0;
	return out_list_add(l, uri);
}

/* write_all writes n bytes of p to fd, whatever the short writes. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * results_copy streams the object src to fd (stdout) or, when dst is set,
 * to the file dst. end_line adds a newline when the object's last line
 * lacks one, since objects printed one after the other must not run their
 * lines together.
 */
static int results_copy(struct objects *o, const char *src, int fd, const char *dst,
			bool end_line, struct err *e)
{
	char tmp[PATH_MAX + 16];
	char *b = malloc(RESULTS_COPY_BLOCK);
	struct obj_reader *r = NULL;
	int out = fd, rc;
	char last = '\n';
	size_t got;

	if (!b)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = objects_open_read(o, src, 0, 0, &r, e);
	if (rc)
		goto fail;
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
		rc = obj_reader_read(r, b, RESULTS_COPY_BLOCK, &got, e);
		if (rc)
			goto fail;
		if (got == 0)
			break;
		last = b[got - 1];
		if (write_all(out, b, got) < 0) {
			rc = err_set(e, ERR_IO, "cannot write %s: %s", dst ? tmp : "stdout",
				     strerror(errno));
			goto fail;
		}
	}
	if (end_line && last != '\n' && write_all(out, "\n", 1) < 0) {
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
	obj_reader_close(r);
	if (dst && out >= 0)
		close(out);
	if (rc && dst)
		unlink(tmp);
	free(b);
	return rc;
}

/*
 * rel_is_plain says whether rel can name a file under the download
 * directory: an S3 key may hold "..", "." or empty segments, which would
 * write outside DIR or onto another file's name.
 */
static bool rel_is_plain(const char *rel)
{
	const char *s = rel;

	for (;;) {
		size_t len = strcspn(s, "/");

		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (!s[len])
			return true;
		s += len + 1;
	}
}

/* results_download copies every output object and the manifest into dir. */
static int results_download(struct objects *o, const struct out_list *l, const char *dir,
			    struct err *e)
{
	char dst[PATH_MAX];
	size_t n = 0;
	int rc;

	if ((rc = objects_mkdirs(dir, e)))
		return rc;
	for (size_t i = 0; i <= l->n; i++) {
		const char *src = i < l->n ? l->uri[i] : l->manifest;
		const char *rel;
		char *slash;

		if (!src)
			break;
		rel = src + l->prefix_len;
		if (!rel_is_plain(rel))
			return err_set(e, ERR_INVAL, "%.300s cannot be copied: its name under the job, "
						     "\"%.300s\", has an empty, \".\" or \"..\" part",
				       src, rel);
		if (snprintf(dst, sizeof(dst), "%s/%s", dir, rel) >= (int)sizeof(dst))
			return err_set(e, ERR_INVAL, "the name %.100s/%.100s... is too long", dir, rel);
		slash = strrchr(dst, '/');
		if (slash && slash > dst + strlen(dir)) {
			*slash = '\0';
			rc = objects_mkdirs(dst, e);
			*slash = '/';
			if (rc)
				return rc;
		}
		if ((rc = results_copy(o, src, -1, dst, false, e)))
			return rc;
		n++;
	}
	fprintf(stderr, "barge results: %zu file%s copied to %s\n", n, n == 1 ? "" : "s", dir);
	return 0;
}

/*
 * results_failed reports a failure to list or read a job's outputs and
 * returns the exit status: credentials and configuration are the user's to
 * fix (2), with a word on where S3 credentials come from; anything else is 1.
 */
static int results_failed(const char *id, const char *prefix, const struct err *e)
{
	if (e->code != ERR_AUTH && e->code != ERR_CONFIG) {
		fprintf(stderr, "barge results: %s\n", e->msg);
		return EXIT_FAILED;
	}
	fprintf(stderr, "barge results: cannot read the outputs of job %s under %s: %s\n", id,
		prefix, e->msg);
	if (objects_is_s3(prefix))
		fprintf(stderr,
			"barge's S3 support takes S3 credentials from [storage.s3] of the "
			"configuration (--config or $BARGE_CONFIG), then $AWS_ACCESS_KEY_ID and "
			"$AWS_SECRET_ACCESS_KEY, then ~/.aws/credentials. The environment's keys may "
			"be those of the barge server rather than of S3: give S3's own in "
			"[storage.s3].\n");
	return EXIT_USAGE;
}

/* ---- where jobs are: a `barge run` state directory or a barge server ---- */

struct results_src {
	const char *cmd;
	struct config cfg;
	bool cfg_loaded;
	struct objects *obj;
	struct store *st;  /* a state directory's store, or NULL for a server */
	char *state;       /* the state directory, absolute */
	struct client c;
	bool server;
};

/* results_src_state_open opens the store of the state directory dir (which holds barge.db). */
static int results_src_state_open(struct results_src *s, const char *dir)
{
	char real[PATH_MAX], url[PATH_MAX + 16];
	struct err e;

	if (!realpath(dir, real)) {
		fprintf(stderr, "barge %s: cannot open the state directory %s: %s\n", s->cmd, dir,
			strerror(errno));
		return EXIT_USAGE;
	}
	s->state = strdup(real);
	if (!s->state) {
		fprintf(stderr, "barge %s: out of memory\n", s->cmd);
		return EXIT_FAILED;
	}
	snprintf(url, sizeof(url), "sqlite:%s/barge.db", real);
	if (store_open(url, &s->st, &e)) {
		fprintf(stderr, "barge %s: %s\n", s->cmd, e.msg);
		return EXIT_USAGE;
	}
	return 0;
}

int results_src_open(const char *cmd, const char *state, const struct client_opts *co,
		     const char *job, struct results_src **out)
{
	struct results_src *s = calloc(1, sizeof(*s));
	const char *dir = state;
	char db[PATH_MAX];
	struct stat st;
	int rc;

	*out = s;
	if (!s) {
		fprintf(stderr, "barge %s: out of memory\n", cmd);
		return EXIT_FAILED;
	}
	s->cmd = cmd;
	if ((rc = cli_load_config(cmd, co->config, &s->cfg)))
		return rc;
	s->cfg_loaded = true;
	s->obj = objects_new(&s->cfg.s3);
	if (!s->obj) {
		fprintf(stderr, "barge %s: out of memory\n", cmd);
		return EXIT_FAILED;
	}
	if (!dir) {
		dir = getenv("BARGE_STATE");
		if (!dir || !*dir)
			dir = ".barge";
	}
	if (snprintf(db, sizeof(db), "%s/barge.db", dir) >= (int)sizeof(db))
		return cli_usage(cmd, "the state directory name %.100s... is too long", dir);
	if (stat(db, &st) == 0) {
		struct job j;
		struct err e;
		char id[64];

		if ((rc = results_src_state_open(s, dir)))
			return rc;
		if (state)
			return 0;
		/*
		 * Without --state, the default state directory is used only when
		 * it holds the job: anything else is a server's job.
		 */
		client_job_id(job, id, sizeof(id));
		job_init(&j);
		rc = store_job_get(s->st, id, &j, &e);
		job_free(&j);
		if (rc == 0)
			return 0;
		if (rc != ERR_NOTFOUND) {
			fprintf(stderr, "barge %s: %s\n", cmd, e.msg);
			return EXIT_FAILED;
		}
		store_close(s->st);
		s->st = NULL;
		free(s->state);
		s->state = NULL;
	} else if (state) {
		fprintf(stderr, "barge %s: %s holds no `barge run` state (no barge.db): give the "
				"--state DIR the job ran with, or leave --state out for a job of a barge "
				"server\n", cmd, state);
		return EXIT_USAGE;
	}
	if ((rc = client_start(&s->c, cmd, co)))
		return rc;
	s->server = true;
	return 0;
}

void results_src_close(struct results_src *s)
{
	if (!s)
		return;
	client_close(&s->c);
	store_close(s->st);
	objects_free(s->obj);
	if (s->cfg_loaded)
		config_free(&s->cfg);
	free(s->state);
	free(s);
}

struct objects *results_src_objects(struct results_src *s)
{
	return s->obj;
}

const struct config *results_src_config(const struct results_src *s)
{
	return &s->cfg;
}

struct client *results_src_client(struct results_src *s)
{
	return s->server ? &s->c : NULL;
}

const char *results_src_state(const struct results_src *s)
{
	return s->server ? NULL : s->state;
}

/*
 * results_location turns a job's location into the name the objects layer
 * lists it by: file:// URIs become plain paths, S3:// is spelled s3://.
 * Returns a malloc'd string, or NULL with e set (a scheme this client
 * cannot read, or no memory).
 */
static char *results_location(const char *uri, const char *id, struct err *e)
{
	const char *p = uri;
	char *out;

	if (!strncasecmp(uri, "s3://", 5)) {
		out = malloc(strlen(uri) + 1);
		if (out)
			snprintf(out, strlen(uri) + 1, "s3://%s", uri + 5);
	} else if (!strncmp(uri, "file://", 7)) {
		p = uri + 7;
		if (!strncmp(p, "localhost/", 10))
			p += 9;
		out = strdup(p);
	} else if (strstr(uri, "://")) {
		err_set(e, ERR_INVAL, "job %s has the location %.300s, which this client cannot read "
				      "(it reads file:// and s3://)", id, uri);
		return NULL;
	} else {
		out = strdup(uri);
	}
	if (!out)
		err_set(e, ERR_NOMEM, "out of memory");
	return out;
}

/* results_make_prefix returns "<output>/<id>/" (malloc'd), or NULL when out of memory. */
static char *results_make_prefix(const char *output, const char *id)
{
	size_t len = strlen(output), n;
	char *out;

	while (len > 1 && output[len - 1] == '/')
		len--;
	n = len + strlen(id) + 3;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%.*s/%s/", (int)len, output, id);
	return out;
}

/* results_dup copies s (NULL stays NULL); *oom is set when memory ran out. */
static char *results_dup(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* results_job_fill fills j from the job object of a server's Get answer. */
static int results_job_fill(struct job *j, json_object *o, struct err *e)
{
	const char *arn = json_get_str(o, "jobArn"), *status = json_get_str(o, "status");
	json_object *tags = json_get(o, "tags");
	int64_t v;
	bool oom = false;
	int st;

	if (!arn || !status)
		return err_set(e, ERR_REMOTE, "the server's job object has no jobArn or status");
	st = job_status_parse(status);
	if (st < 0)
		return err_set(e, ERR_REMOTE, "the server's job has the unknown status \"%.40s\"",
			       status);
	client_job_id(arn, j->id, sizeof(j->id));
	j->status = (enum job_status)st;
	j->arn = results_dup(arn, &oom);
	j->name = results_dup(json_get_str(o, "jobName"), &oom);
	j->model_id = results_dup(json_get_str(o, "modelId"), &oom);
	j->invocation_type = results_dup(json_get_str(o, "modelInvocationType"), &oom);
	j->message = results_dup(json_get_str(o, "message"), &oom);
	j->role_arn = results_dup(json_get_str(o, "roleArn"), &oom);
	j->client_token = results_dup(json_get_str(o, "clientRequestToken"), &oom);
	j->input_uri = results_dup(client_job_uri(o, "inputDataConfig", "s3InputDataConfig"), &oom);
	j->output_uri = results_dup(client_job_uri(o, "outputDataConfig", "s3OutputDataConfig"),
				    &oom);
	if (json_is_type(tags, json_type_array)) {
		j->tags_json = json_dup_str(tags, NULL);
		oom = oom || !j->tags_json;
	}
	if (json_get_int64(o, "timeoutDurationInHours", &v))
		j->timeout_hours = (int)v;
	json_get_int64(o, "totalRecordCount", &j->c.total);
	json_get_int64(o, "processedRecordCount", &j->c.processed);
	json_get_int64(o, "successRecordCount", &j->c.success);
	json_get_int64(o, "errorRecordCount", &j->c.errors);
	if (oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (!j->output_uri)
		return err_set(e, ERR_REMOTE, "job %s has no outputDataConfig.s3OutputDataConfig.s3Uri "
					      "in the server's answer", j->id);
	return 0;
}

/* results_job_localize names the job's locations as the objects layer lists them, and its prefix. */
static int results_job_localize(struct results_job *out, struct err *e)
{
	char *loc;

	if (!out->j.output_uri)
		return err_set(e, ERR_INVAL, "job %s has no output location", out->j.id);
	loc = results_location(out->j.output_uri, out->j.id, e);
	if (!loc)
		return e->code;
	free(out->j.output_uri);
	out->j.output_uri = loc;
	if (out->j.input_uri) {
		loc = results_location(out->j.input_uri, out->j.id, e);
		if (!loc)
			return e->code;
		free(out->j.input_uri);
		out->j.input_uri = loc;
	}
	out->prefix = results_make_prefix(out->j.output_uri, out->j.id);
	if (!out->prefix)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

int results_job_get(struct results_src *s, const char *job, struct results_job *out)
{
	struct client_resp r;
	struct err e;
	char id[64];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	job_init(&out->j);
	client_resp_init(&r);
	err_init(&e);
	client_job_id(job, id, sizeof(id));
	if (!s->server) {
		out->local = true;
		rc = store_job_get(s->st, id, &out->j, &e);
		if (rc == ERR_NOTFOUND) {
			fprintf(stderr, "barge %s: job %s is not in the state directory %s: give the "
					"--state DIR of the `barge run` that ran it (or leave --state out "
					"for a job of a barge server)\n", s->cmd, id, s->state);
			rc = EXIT_FAILED;
			goto done;
		}
	} else {
		rc = client_get_job(&s->c, job, &r, &e);
		if (rc) {
			rc = client_fail(&s->c, rc, &e, &r);
			goto done;
		}
		rc = results_job_fill(&out->j, r.json, &e);
	}
	if (!rc)
		rc = results_job_localize(out, &e);
	if (rc) {
		fprintf(stderr, "barge %s: %s\n", s->cmd, e.msg);
		rc = EXIT_FAILED;
	}
done:
	client_resp_free(&r);
	if (rc)
		results_job_free(out);
	return rc;
}

void results_job_free(struct results_job *j)
{
	job_free(&j->j);
	free(j->prefix);
	j->prefix = NULL;
}

int results_job_inputs(struct results_src *s, const struct results_job *j,
		       struct job_input **out, size_t *n, struct err *e)
{
	char *uris[1];
	int rc;

	*out = NULL;
	*n = 0;
	if (!s->server) {
		/* What validation recorded: every input of the run, in its order. */
		rc = store_inputs_get(s->st, j->j.id, out, n, e);
		if (rc || *n)
			return rc;
	}
	if (!j->j.input_uri)
		return err_set(e, ERR_NOTFOUND, "job %s has no input location", j->j.id);
	/* The server named the inputs by this very listing (docs/s3.md). */
	uris[0] = j->j.input_uri;
	return inputs_expand(s->obj, uris, 1, out, n, e);
}

void results_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* results_list lists the .out files and the manifest of the job under prefix into l. */
static int results_list(struct objects *o, const char *prefix, struct out_list *l,
			struct err *e)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->e = e;
	l->prefix = prefix;
	l->prefix_len = strlen(prefix);
	rc = objects_list(o, prefix, out_list_on_object, l, e);
	if (rc)
		return rc;
	/* Name order, whatever order the store lists in (s3rver's is not byte order). */
	if (l->n)
		qsort(l->uri, l->n, sizeof(*l->uri), out_list_cmp);
	return 0;
}

int results_job_outs(struct results_src *s, const struct results_job *j, char ***rel,
		     size_t *n, struct err *e)
{
	struct out_list l;
	int rc;

	*rel = NULL;
	*n = 0;
	rc = results_list(s->obj, j->prefix, &l, e);
	if (rc == ERR_NOTFOUND) {
		/* A job that wrote nothing (it failed or expired first) has no outputs. */
		out_list_free(&l);
		return 0;
	}
	if (rc) {
		out_list_free(&l);
		return rc;
	}
	/* The names below the prefix, in place of the full names. */
	for (size_t i = 0; i < l.n; i++)
		memmove(l.uri[i], l.uri[i] + l.prefix_len, strlen(l.uri[i] + l.prefix_len) + 1);
	*rel = l.uri;
	*n = l.n;
	l.uri = NULL;
	l.n = 0;
	out_list_free(&l);
	return 0;
}

/* ---- output lines ---- */

static int results_on_member(const struct json_span *m, void *ud)
{
	struct results_line *l = ud;

	if (json_span_key_is(m, "recordId")) {
		if (m->val_len && m->val[0] == '"') {
			l->id = m->val;
			l->id_len = m->val_len;
		}
	} else if (json_span_key_is(m, "modelInput")) {
		if (!(m->val_len == 4 && !memcmp(m->val, "null", 4))) {
			l->mi = m->val;
			l->mi_len = m->val_len;
		}
	} else if (json_span_key_is(m, "error")) {
		l->error = true;
	}
	return 0;
}

void results_line_scan(const char *line, size_t len, struct results_line *out)
{
	struct err e;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	/* The same test barge applies when it writes an output line (result.c). */
	if (json_validate(line, len, &e))
		return;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	if (i == len || line[i] != '{')
		return;
	out->object = true;
	json_scan_object(line, len, results_on_member, out);
}

int results_read_line(struct jsonl_reader *r, const char *uri, struct jsonl_line *l,
		      struct results_line *s, struct err *e)
{
	int rc = jsonl_next(r, l, e);

	if (rc <= 0)
		return rc;
	if (l->too_long)
		return err_set(e, ERR_LIMIT, "line %llu of %s is over %zu MiB: is it an output of barge?",
			       (unsigned long long)l->line_no, uri, RESULTS_LINE_MAX >> 20);
	results_line_scan(l->data, l->len, s);
	if (!s->object || !s->id)
		return err_set(e, ERR_INVAL, "line %llu of %s is not an output line (a JSON object "
					     "with a recordId): is it an output of barge?",
			       (unsigned long long)l->line_no, uri);
	return 1;
}

/* ---- --merge: a job and its retries, one latest result per record ---- */

/* The latest line of one record of the later jobs, kept in the spill file. */
struct merge_entry {
	uint64_t h;
	char *id;       /* recordId as written, quotes included; NULL for an empty slot */
	size_t id_len;
	uint64_t off;   /* where the line is in the spill file */
	size_t len;
	bool used;      /* it replaced a line of the first job */
};

/*
 * The merge's state. The later jobs' lines go to an unnamed temporary file
 * (the spill) and only their ids and places stay in memory, so memory grows
 * with the number of retried records, not with their outputs' sizes.
 */
struct merge {
	struct results_src *src;
	struct merge_entry *v;
	size_t cap, n;
	FILE *spill;
	uint64_t spill_len;
	struct buf line;   /* a spilled line read back */
	struct buf out;    /* merged lines waiting to be written */
	int fd;            /* where they go: stdout or a file being written */
	const char *dst;   /* that file's name, for messages; NULL for stdout */
	int64_t records, success, errors, missing, replaced;
	struct err *e;
};

static struct merge_entry *merge_find(struct merge *m, const char *id, size_t len, uint64_t h)
{
	size_t i = h & (m->cap - 1);

	while (m->v[i].id && !(m->v[i].h == h && m->v[i].id_len == len &&
			       !memcmp(m->v[i].id, id, len)))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

static int merge_grow(struct merge *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct merge_entry *old = m->v;
	size_t ocap = m->cap;

	m->v = calloc(ncap, sizeof(*m->v));
	if (!m->v) {
		m->v = old;
		return err_set(m->e, ERR_NOMEM, "out of memory");
	}
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].id)
			*merge_find(m, old[i].id, old[i].id_len, old[i].h) = old[i];
	}
	free(old);
	return 0;
}

/* merge_put makes line the latest result of record id, replacing an earlier job's. */
static int merge_put(struct merge *m, const char *id, size_t id_len, const char *line,
		     size_t len)
{
	uint64_t h = hash64(id, id_len, 0);
	struct merge_entry *x;

	if ((m->n + 1) * 2 > m->cap) {
		if (m->n == RESULTS_MERGE_MAX_RECORDS)
			return err_set(m->e, ERR_LIMIT, "the later jobs hold more than %zu records: "
							"merge fewer at a time",
				       RESULTS_MERGE_MAX_RECORDS);
		if (merge_grow(m))
			return ERR_NOMEM;
	}
	if (fwrite(line, 1, len, m->spill) != len)
		return err_set(m->e, ERR_IO, "cannot write the temporary file (in $TMPDIR or /tmp): %s",
			       strerror(errno));
	x = merge_find(m, id, id_len, h);
	if (!x->id) {
		x->id = malloc(id_len);
		if (!x->id)
			return err_set(m->e, ERR_NOMEM, "out of memory");
		memcpy(x->id, id, id_len);
		x->id_len = id_len;
		x->h = h;
		m->n++;
	}
	x->off = m->spill_len;
	x->len = len;
	m->spill_len += len;
	return 0;
}

/*
 * merge_check_count refuses to merge a job whose outputs hold fewer lines
 * than the records it says it processed: they were moved, deleted or cut
 * short, and the merge would quietly lose results.
 */
static int merge_check_count(struct merge *m, const struct results_job *j, int64_t lines)
{
	if (lines >= j->j.c.processed)
		return 0;
	return err_set(m->e, ERR_CONFLICT,
		       "job %s processed %lld records but its outputs under %s hold %lld: they "
		       "were moved, deleted or cut short, so merging would lose results",
		       j->j.id, (long long)j->j.c.processed, j->prefix, (long long)lines);
}

/* merge_load reads every output line of a later job into the map. */
static int merge_load(struct merge *m, const struct results_job *j)
{
	int64_t lines = 0;
	struct objects *o = results_src_objects(m->src);
	struct jsonl_reader r;
	struct jsonl_line l;
	struct results_line s;
	char **rel = NULL;
	char *uri = NULL;
	size_t n = 0;
	int rc;

	rc = results_job_outs(m->src, j, &rel, &n, m->e);
	for (size_t i = 0; !rc && i < n; i++) {
		free(uri);
		uri = malloc(strlen(j->prefix) + strlen(rel[i]) + 1);
		if (!uri) {
			rc = err_set(m->e, ERR_NOMEM, "out of memory");
			break;
		}
		sprintf(uri, "%s%s", j->prefix, rel[i]);
		rc = jsonl_open(&r, o, uri, 0, 0, 1, RESULTS_LINE_MAX, m->e);
		if (rc)
			break;
		while ((rc = results_read_line(&r, uri, &l, &s, m->e)) == 1) {
			lines++;
			rc = merge_put(m, s.id, s.id_len, l.data, l.len);
			if (rc)
				break;
		}
		jsonl_close(&r);
	}
	free(uri);
	results_names_free(rel, n);
	if (rc < 0)
		return rc;
	return merge_check_count(m, j, lines);
}

/* merge_flush writes the merged lines waiting in m->out. */
static int merge_flush(struct merge *m)
{
	if (m->out.len && write_all(m->fd, m->out.data, m->out.len) < 0)
		return err_set(m->e, ERR_IO, "cannot write %s: %s", m->dst ? m->dst : "stdout",
			       strerror(errno));
	buf_reset(&m->out);
	return 0;
}

/* merge_emit writes one merged line (s is its scan, for the counts). */
static int merge_emit(struct merge *m, const char *line, size_t len,
		      const struct results_line *s)
{
	m->records++;
	if (s->error)
		m->errors++;
	else
		m->success++;
	if (m->out.len + len + 1 > RESULTS_OUT_BLOCK && merge_flush(m))
		return m->e->code;
	if (len + 1 > RESULTS_OUT_BLOCK) {
		/* A line larger than the block goes out by itself. */
		if (write_all(m->fd, line, len) < 0 || write_all(m->fd, "\n", 1) < 0)
			return err_set(m->e, ERR_IO, "cannot write %s: %s",
				       m->dst ? m->dst : "stdout", strerror(errno));
		return 0;
	}
	buf_append(&m->out, line, len);
	buf_putc(&m->out, '\n');
	return m->out.err ? err_set(m->e, ERR_NOMEM, "out of memory") : 0;
}

/*
 * merge_record writes the latest result of record id: a later job's when
 * one has it, else line (the first job's, or NULL when it has none).
 */
static int merge_record(struct merge *m, const char *id, size_t id_len, const char *line,
			size_t len, const struct results_line *s)
{
	struct merge_entry *x = m->cap ? merge_find(m, id, id_len, hash64(id, id_len, 0)) : NULL;
	struct results_line ls;
	ssize_t got;

	/*
	 * A later result replaces one line only: when the first job held a
	 * recordId twice (with --on-invalid skip, the second was refused as a
	 * duplicate), the retry answered the first, and the second keeps its own.
	 */
	if (!x || !x->id || x->used) {
		if (!line) {
			m->missing++;
			return 0;
		}
		return merge_emit(m, line, len, s);
	}
	buf_reset(&m->line);
	if (buf_reserve(&m->line, x->len + 1))
		return err_set(m->e, ERR_NOMEM, "out of memory for a line of %zu bytes", x->len);
	got = pread(fileno(m->spill), m->line.data, x->len, (off_t)x->off);
	if (got != (ssize_t)x->len)
		return err_set(m->e, ERR_IO, "cannot read back the temporary file: %s",
			       got < 0 ? strerror(errno) : "short read");
	m->line.len = x->len;
	x->used = true;
	m->replaced++;
	results_line_scan(m->line.data, m->line.len, &ls);
	return merge_emit(m, m->line.data, m->line.len, &ls);
}

/* merge_on_rec is the walk's callback for a first job that did not process every record. */
static int merge_on_rec(const struct retry_rec *r, void *ud)
{
	struct merge *m = ud;

	return merge_record(m, r->id, r->id_len, r->out, r->out_len, &r->res);
}

/* merge_out_file streams one .out file of a first job that processed every record. */
static int merge_out_file(struct merge *m, const char *uri)
{
	struct jsonl_reader r;
	struct jsonl_line l;
	struct results_line s;
	int rc;

	rc = jsonl_open(&r, results_src_objects(m->src), uri, 0, 0, 1, RESULTS_LINE_MAX, m->e);
	if (rc)
		return rc;
	while ((rc = results_read_line(&r, uri, &l, &s, m->e)) == 1) {
		rc = merge_record(m, s.id, s.id_len, l.data, l.len, &s);
		if (rc)
			break;
	}
	jsonl_close(&r);
	return rc < 0 ? rc : 0;
}

/*
 * merge_begin points the merged output at stdout, or at a file written
 * aside in dir for the input name (renamed into place by merge_end).
 */
static int merge_begin(struct merge *m, const char *dir, const char *name, char *dst,
		       size_t dstsz, char *tmp, size_t tmpsz)
{
	char *slash;
	int rc;

	m->fd = STDOUT_FILENO;
	m->dst = NULL;
	if (!dir)
		return 0;
	if (!rel_is_plain(name))
		return err_set(m->e, ERR_INVAL, "the input name \"%.300s\" has an empty, \".\" or "
						"\"..\" part: it cannot name a file under %s",
			       name, dir);
	if (snprintf(dst, dstsz, "%s/%s.out", dir, name) >= (int)dstsz ||
	    snprintf(tmp, tmpsz, "%s.tmp%d", dst, (int)getpid()) >= (int)tmpsz)
		return err_set(m->e, ERR_INVAL, "the name %.100s/%.100s.out is too long", dir, name);
	slash = strrchr(dst, '/');
	*slash = '\0';
	rc = objects_mkdirs(dst, m->e);
	*slash = '/';
	if (rc)
		return rc;
	m->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (m->fd < 0)
		return err_set(m->e, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	m->dst = tmp;
	return 0;
}

/* merge_end flushes the file and renames it into place, or removes it after a failure. */
static int merge_end(struct merge *m, int rc, const char *dst, const char *tmp)
{
	if (!rc)
		rc = merge_flush(m);
	buf_reset(&m->out);
	if (m->fd == STDOUT_FILENO)
		return rc;
	if (close(m->fd) < 0 && !rc)
		rc = err_set(m->e, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
	m->fd = STDOUT_FILENO;
	if (!rc && rename(tmp, dst) < 0)
		rc = err_set(m->e, ERR_IO, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}

static int merge_input_cmp(const void *a, const void *b)
{
	return strcmp(((const struct job_input *)a)->name, ((const struct job_input *)b)->name);
}

/* merge_parent returns the value of job j's barge:parentJob tag (malloc'd), or NULL. */
static char *merge_parent(const struct job *j)
{
	json_object *tags = NULL;
	struct err e;
	char *out = NULL;

	if (!j->tags_json || json_parse(j->tags_json, strlen(j->tags_json), &tags, &e))
		return NULL;
	for (size_t i = 0; json_is_type(tags, json_type_array) &&
			   i < json_object_array_length(tags); i++) {
		json_object *t = json_object_array_get_idx(tags, i);
		const char *k = json_get_str(t, "key"), *v = json_get_str(t, "value");

		if (k && v && !strcmp(k, "barge:parentJob")) {
			out = strdup(v);
			break;
		}
	}
	json_object_put(tags);
	return out;
}

/*
 * merge_check_chain warns about a later job that retries none of the jobs
 * before it on the command line: the merge still runs (a record's latest
 * line is the last job's that has it), but an order mix-up shows here.
 */
static void merge_check_chain(const char *cmd, const struct results_job *jobs, size_t i)
{
	char *parent = merge_parent(&jobs[i].j);
	bool found = false;

	for (size_t k = 0; parent && k < i; k++) {
		if (jobs[k].j.arn && !strcmp(jobs[k].j.arn, parent))
			found = true;
	}
	if (!found)
		fprintf(stderr, "barge %s: note: job %s %s%s, not a job given before it; a later "
				"job's line replaces an earlier one, so give the jobs oldest first\n",
			cmd, jobs[i].j.id, parent ? "retries " : "has no barge:parentJob tag",
			parent ? parent : "");
	free(parent);
}

/* merge_first writes the merged outputs of the first job j, file by file. */
static int merge_first(struct merge *m, const struct results_job *j, const char *dir,
		       size_t *n_files)
{
	const struct config *cfg = results_src_config(m->src);
	struct job_input *in = NULL;
	char **rel = NULL;
	char dst[PATH_MAX], tmp[PATH_MAX + 32];
	size_t n_in = 0, n_rel = 0;
	int rc;

	if (j->j.status == JS_COMPLETED) {
		int64_t before = m->records;

		/* Every record has a line in the first job's outputs: stream them. */
		rc = results_job_outs(m->src, j, &rel, &n_rel, m->e);
		for (size_t i = 0; !rc && i < n_rel; i++) {
			char *uri = malloc(strlen(j->prefix) + strlen(rel[i]) + 1);

			if (!uri) {
				rc = err_set(m->e, ERR_NOMEM, "out of memory");
				break;
			}
			sprintf(uri, "%s%s", j->prefix, rel[i]);
			/* The merged file is named after the input: "<name>.out". */
			rel[i][strlen(rel[i]) - 4] = '\0';
			rc = merge_begin(m, dir, rel[i], dst, sizeof(dst), tmp, sizeof(tmp));
			if (!rc)
				rc = merge_out_file(m, uri);
			rc = merge_end(m, rc, dst, tmp);
			free(uri);
		}
		*n_files = n_rel;
		results_names_free(rel, n_rel);
		return rc ? rc : merge_check_count(m, j, m->records - before);
	}
	/*
	 * A job that ended early lacks the lines of the records it never
	 * processed: walk its inputs, so that retries of those records (with
	 * --expired) take their places in input order.
	 */
	rc = results_job_inputs(m->src, j, &in, &n_in, m->e);
	if (rc) {
		err_prefix(m->e, "job %s is %s, so its outputs lack the records it never processed, "
				 "and its inputs (which give their order) cannot be read",
			   j->j.id, job_status_name(j->j.status));
		return rc;
	}
	qsort(in, n_in, sizeof(*in), merge_input_cmp);
	for (size_t i = 0; !rc && i < n_in; i++) {
		rc = merge_begin(m, dir, in[i].name, dst, sizeof(dst), tmp, sizeof(tmp));
		if (!rc)
			rc = retry_walk(results_src_objects(m->src), j->j.id, j->prefix, &in[i],
					  cfg->limits.max_line_bytes, merge_on_rec, m, m->e);
		rc = merge_end(m, rc, dst, tmp);
	}
	*n_files = n_in;
	job_inputs_free(in, n_in);
	return rc;
}

/*
 * results_merge writes the merged outputs of jobs[0] and its retries
 * jobs[1..n) to stdout or into dir. Returns an exit status, the problem
 * printed.
 */
static int results_merge(struct results_src *src, const char *cmd, char **ids, size_t n,
			 const char *dir)
{
	struct results_job jobs[RESULTS_MERGE_MAX_JOBS];
	struct merge m;
	struct err e;
	size_t got = 0, n_files = 0, unused = 0;
	int rc = 0;

	memset(&m, 0, sizeof(m));
	err_init(&e);
	m.src = src;
	m.e = &e;
	m.fd = STDOUT_FILENO;
	buf_init(&m.line, RESULTS_LINE_MAX + 1);
	buf_init(&m.out, RESULTS_OUT_BLOCK + 1);
	for (; got < n; got++) {
		if ((rc = results_job_get(src, ids[got], &jobs[got])))
			goto done;
		if (!job_status_terminal(jobs[got].j.status)) {
			fprintf(stderr, "barge %s: job %s is %s: merge it once it has ended (%s)\n", cmd,
				jobs[got].j.id, job_status_name(jobs[got].j.status),
				jobs[got].local ? "run its `barge run` command again to finish it"
						: "`barge wait` follows it there");
			got++;
			rc = EXIT_FAILED;
			goto done;
		}
		if (got)
			merge_check_chain(cmd, jobs, got);
	}
	for (size_t i = 0; dir && i < n; i++) {
		if (objects_same(dir, jobs[i].prefix)) {
			fprintf(stderr, "barge %s: --download %s is where job %s keeps its own outputs: "
					"the merged files would replace them; download somewhere else\n",
				cmd, dir, jobs[i].j.id);
			rc = EXIT_USAGE;
			goto done;
		}
	}
	m.spill = tmpfile();
	if (!m.spill) {
		fprintf(stderr, "barge %s: cannot create a temporary file (in $TMPDIR or /tmp): %s\n",
			cmd, strerror(errno));
		rc = EXIT_FAILED;
		goto done;
	}
	for (size_t i = 1; !rc && i < n; i++)
		rc = merge_load(&m, &jobs[i]);
	if (!rc && fflush(m.spill) != 0)
		rc = err_set(&e, ERR_IO, "cannot write the temporary file: %s", strerror(errno));
	if (!rc && dir)
		rc = objects_mkdirs(dir, &e);
	if (!rc)
		rc = merge_first(&m, &jobs[0], dir, &n_files);
	if (rc) {
		rc = results_failed(jobs[0].j.id, jobs[0].prefix, &e);
		goto done;
	}
	for (size_t i = 0; i < m.cap; i++) {
		if (m.v[i].id && !m.v[i].used)
			unused++;
	}
	fprintf(stderr, "barge %s: merged %zu job%s into %zu file%s%s%s: %lld records, %lld "
			"succeeded, %lld failed; %lld results from the retries\n",
		cmd, n, n == 1 ? "" : "s", n_files, n_files == 1 ? "" : "s", dir ? " in " : "",
		dir ? dir : "", (long long)m.records, (long long)m.success, (long long)m.errors,
		(long long)m.replaced);
	if (m.missing)
		fprintf(stderr, "barge %s: %lld records of job %s have no result in any of these jobs, "
				"so they are left out: `barge retry JOB --expired` runs the records a job "
				"never processed\n",
			cmd, (long long)m.missing, jobs[0].j.id);
	if (unused)
		fprintf(stderr, "barge %s: %zu records of the later jobs are not records of job %s, so "
				"they were left out: give the original job first\n",
			cmd, unused, jobs[0].j.id);
	rc = EXIT_COMPLETED;
done:
	for (size_t i = 0; i < got; i++)
		results_job_free(&jobs[i]);
	for (size_t i = 0; i < m.cap; i++)
		free(m.v[i].id);
	free(m.v);
	if (m.spill)
		fclose(m.spill);
	buf_free(&m.line);
	buf_free(&m.out);
	return rc;
}

/* results_one prints or downloads the outputs of one job. Returns an exit status. */
static int results_one(struct results_src *src, const char *job, const char *download,
		       bool manifest)
{
	struct objects *obj = results_src_objects(src);
	struct results_job rj;
	struct out_list l;
	struct obj_stat st;
	struct err e;
	const char *id, *status, *msg, *prefix;
	bool s3;
	int rc;

	memset(&l, 0, sizeof(l));
	err_init(&e);
	if ((rc = results_job_get(src, job, &rj)))
		return rc;
	id = rj.j.id;
	prefix = rj.prefix;
	status = job_status_name(rj.j.status);
	msg = rj.j.message;
	s3 = objects_is_s3(prefix);
	if (!job_status_terminal(rj.j.status) || rj.j.status == JS_EXPIRED) {
		fprintf(stderr, "barge results: job %s is %s: %s\n", id, status,
			rj.j.status == JS_EXPIRED
				? "it expired before it started, so it has no results"
			: rj.local ? "its results are written when it ends; run its `barge run` "
				     "command again to finish it"
				   : "its results are written when it ends; `barge wait` follows it there");
		rc = EXIT_FAILED;
		goto done;
	}
	/*
	 * A file:// job directory missing here most likely means the server
	 * runs on another machine: that is worth saying rather than a bare
	 * failure to list.
	 */
	if (!s3 && (objects_stat(obj, prefix, &st, &e) || !st.is_prefix)) {
		fprintf(stderr, "barge results: job %s (%s) has no outputs at %.*s on this machine%s%s.%s\n",
			id, status, (int)strlen(prefix) - 1, prefix, msg && *msg ? "; its message: " : "",
			msg ? msg : "",
			rj.local ? ""
				 : " Outputs of a file:// prefix are read where the server writes them: "
				   "run `barge results` on the server's machine.");
		rc = EXIT_FAILED;
		goto done;
	}
	rc = results_list(obj, prefix, &l, &e);
	if (rc == ERR_NOTFOUND && s3) {
		fprintf(stderr, "barge results: job %s (%s) has no outputs: %s%s%s\n", id, status,
			e.msg, msg && *msg ? "; its message: " : "", msg ? msg : "");
		rc = EXIT_FAILED;
		goto done;
	}
	if (rc) {
		rc = results_failed(id, prefix, &e);
		goto done;
	}
	if (manifest && !l.manifest) {
		fprintf(stderr, "barge results: job %s has no manifest at %smanifest.json.out\n", id,
			prefix);
		rc = EXIT_FAILED;
		goto done;
	}
	rc = 0;
	if (download)
		rc = results_download(obj, &l, download, &e);
	if (!rc && manifest)
		rc = results_copy(obj, l.manifest, STDOUT_FILENO, NULL, true, &e);
	for (size_t i = 0; !rc && !download && !manifest && i < l.n; i++)
		rc = results_copy(obj, l.uri[i], STDOUT_FILENO, NULL, true, &e);
	if (rc) {
		rc = results_failed(id, prefix, &e);
		goto done;
	}
	if (!download && !manifest && l.n == 0)
		fprintf(stderr, "barge results: job %s has no .out files in %.*s\n", id,
			(int)strlen(prefix) - 1, prefix);
	rc = EXIT_COMPLETED;
done:
	out_list_free(&l);
	results_job_free(&rj);
	return rc;
}

int cmd_results(int argc, char **argv)
{
	static const struct option opts[] = {
		{"download", required_argument, NULL, RESULTS_DOWNLOAD},
		{"manifest", no_argument, NULL, RESULTS_MANIFEST},
		{"merge", no_argument, NULL, RESULTS_MERGE},
		{"state", required_argument, NULL, RESULTS_STATE},
		CLIENT_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct client_opts co;
	struct results_src *src = NULL;
	const char *job = NULL, *download = NULL, *state = NULL;
	bool manifest = false, merge = false;
	int opt, rc;

	memset(&co, 0, sizeof(co));
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (client_opt_take(&co, opt, optarg))
			continue;
		switch (opt) {
		case RESULTS_DOWNLOAD: download = optarg; break;
		case RESULTS_MANIFEST: manifest = true; break;
		case RESULTS_MERGE: merge = true; break;
		case RESULTS_STATE: state = optarg; break;
		case 'h': exit(client_help(results_usage, results_exits));
		default:
			return cli_usage("results", "unknown option %s", argv[optind - 1]);
		}
	}
	if (merge) {
		if (manifest)
			return cli_usage("results", "--manifest shows one job's manifest; a merge has "
						    "none (each job's manifest has its own counts)");
		if (optind >= argc)
			return cli_usage("results", "--merge takes the JOB and then its retries, oldest "
						    "first");
		if (argc - optind > RESULTS_MERGE_MAX_JOBS)
			return cli_usage("results", "--merge takes at most %d jobs",
					 RESULTS_MERGE_MAX_JOBS);
		for (int i = optind; i < argc; i++) {
			if (!client_check_job(argv[i]))
				return cli_usage("results", "\"%s\" is not a job id (12 letters a-z and "
							    "digits) or a job ARN", argv[i]);
		}
		job = argv[optind];
	} else if ((rc = client_take_job("results", argc, argv, &job))) {
		return rc;
	}
	rc = results_src_open("results", state, &co, job, &src);
	if (!rc && merge)
		rc = results_merge(src, "results", argv + optind, (size_t)(argc - optind), download);
	else if (!rc)
		rc = results_one(src, job, download, manifest);
	results_src_close(src);
	return rc;
}
