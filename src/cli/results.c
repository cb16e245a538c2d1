/* results.c - `barge results`: the output lines of a finished job, from a file:// output prefix. */
#include "cli/cli.h"
#include "cli/client.h"
#include "util/json.h"

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

/* An output directory walk stops at this many files and this depth. */
#define RESULTS_MAX_FILES 100000
#define RESULTS_MAX_DEPTH 16

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

enum { RESULTS_DOWNLOAD = CLIENT_OPT_FIRST_OWN, RESULTS_MANIFEST };

/* The output files of a job, relative to its directory. */
struct out_files {
	char **rel;
	size_t n, cap;
};

static int out_files_add(struct out_files *f, const char *rel)
{
	char **nv;

	if (f->n == RESULTS_MAX_FILES)
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

	if (depth > RESULTS_MAX_DEPTH)
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
		case 'h': exit(client_help(results_usage, results_exits));
		default:
			rc = cli_usage("results", "unknown option %s", argv[optind - 1]);
			goto done;
		}
	}
	if ((rc = client_take_job("results", argc, argv, &job)))
		goto done;
	if ((rc = client_start(&c, "results", &co)))
		goto done;
	rc = client_get_job(&c, job, &r, &e);
	if (rc) {
		rc = client_fail(&c, rc, &e, &r);
		goto done;
	}
	status = json_get_str(r.json, "status");
	client_job_id(json_get_str(r.json, "jobArn") ? json_get_str(r.json, "jobArn") : job, id,
		      sizeof(id));
	uri = client_job_uri(r.json, "outputDataConfig", "s3OutputDataConfig");
	if (!uri) {
		fprintf(stderr, "barge results: job %s has no outputDataConfig.s3OutputDataConfig.s3Uri "
				"in the server's answer\n", id);
		rc = EXIT_FAILED;
		goto done;
	}
	if ((rc = results_local_dir(uri, id, jobdir, sizeof(jobdir))))
		goto done;
	if (!client_status_ended(status) || !strcmp(status, "Expired")) {
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
