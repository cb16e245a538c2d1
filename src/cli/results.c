/* results.c - `barge results`: a finished job's output lines, from file:// or s3:// alike. */
#include "cli/cli.h"
#include "cli/client.h"
#include "objects/objects.h"
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

static const char results_usage[] =
	"usage: barge results JOB [--download DIR] [--manifest] [server options]\n"
	"\n"
	"Prints the output lines of a finished job: every <input>.out under\n"
	"<output>/<job id>/, in name order, streamed a block at a time. The outputs\n"
	"are read where the job wrote them: the files of a file:// output prefix (so\n"
	"run it on the server's machine) or the objects of an s3:// one.\n"
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
	"                         instead of printing them\n"
	"  --manifest             print manifest.json.out (counts, tokens, cost)\n";

static const char results_exits[] =
	"exit status: 0 done, 1 the job has not ended, has no outputs there, or they\n"
	"could not be read or copied, 2 usage or configuration error (S3 credentials\n"
	"missing or refused among them).\n";

enum { RESULTS_DOWNLOAD = CLIENT_OPT_FIRST_OWN, RESULTS_MANIFEST };

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

	if ((rc = mkdirs(dir, e)))
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
			rc = mkdirs(dst, e);
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
 * results_job_prefix makes the name under which a job's outputs are listed,
 * "<output>/<job id>/", from the output URI: for file:// a plain path (the
 * objects layer names files by path), for s3:// the URI itself. Returns 0,
 * or EXIT_FAILED with the reason printed for a scheme this client cannot
 * read.
 */
static int results_job_prefix(const char *uri, const char *id, char *out, size_t n)
{
	const char *p = uri;
	const char *scheme = "";
	size_t len;

	if (!strncasecmp(uri, "s3://", 5)) {
		/* The objects layer knows the scheme in lower case only. */
		scheme = "s3://";
		p = uri + 5;
	} else if (!strncmp(uri, "file://", 7)) {
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
	if (snprintf(out, n, "%s%.*s/%s/", scheme, (int)len, p, id) >= (int)n) {
		fprintf(stderr, "barge results: output location %.100s is too long\n", uri);
		return EXIT_FAILED;
	}
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
	struct config cfg;
	struct objects *obj = NULL;
	struct out_list l;
	struct obj_stat st;
	struct err e;
	const char *job = NULL, *download = NULL, *status, *uri;
	char id[64], prefix[PATH_MAX + 16];
	bool manifest = false, s3, cfg_loaded = false;
	int opt, rc;

	memset(&c, 0, sizeof(c));
	memset(&co, 0, sizeof(co));
	memset(&l, 0, sizeof(l));
	client_resp_init(&r);
	err_init(&e);
	l.e = &e;
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
	/*
	 * The same configuration the client just used, loaded again for its
	 * [storage.s3]: client_open keeps none of it.
	 */
	if ((rc = cli_load_config("results", co.config, &cfg)))
		goto done;
	cfg_loaded = true;
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
	if ((rc = results_job_prefix(uri, id, prefix, sizeof(prefix))))
		goto done;
	s3 = objects_is_s3(prefix);
	if (!client_status_ended(status) || !strcmp(status, "Expired")) {
		fprintf(stderr, "barge results: job %s is %s: %s\n", id, status,
			!strcmp(status, "Expired")
				? "it expired before it started, so it has no results"
				: "its results are written when it ends; `barge wait` follows it there");
		rc = EXIT_FAILED;
		goto done;
	}
	obj = objects_new(&cfg.s3);
	if (!obj) {
		fprintf(stderr, "barge results: out of memory\n");
		rc = EXIT_FAILED;
		goto done;
	}
	/*
	 * A file:// job directory missing here most likely means the server
	 * runs on another machine: that is worth saying rather than a bare
	 * failure to list.
	 */
	if (!s3 && (objects_stat(obj, prefix, &st, &e) || !st.is_prefix)) {
		const char *msg = json_get_str(r.json, "message");

		prefix[strlen(prefix) - 1] = '\0';
		fprintf(stderr, "barge results: job %s (%s) has no outputs at %s on this machine%s%s. "
				"Outputs of a file:// prefix are read where the server writes them: run "
				"`barge results` on the server's machine.\n",
			id, status, prefix, msg && *msg ? "; its message: " : "", msg ? msg : "");
		rc = EXIT_FAILED;
		goto done;
	}
	l.prefix = prefix;
	l.prefix_len = strlen(prefix);
	rc = objects_list(obj, prefix, out_list_on_object, &l, &e);
	if (rc == ERR_NOTFOUND && s3) {
		const char *msg = json_get_str(r.json, "message");

		fprintf(stderr, "barge results: job %s (%s) has no outputs: %s%s%s\n", id, status,
			e.msg, msg && *msg ? "; its message: " : "", msg ? msg : "");
		rc = EXIT_FAILED;
		goto done;
	}
	if (rc) {
		rc = results_failed(id, prefix, &e);
		goto done;
	}
	/* Name order, whatever order the store lists in (s3rver's is not byte order). */
	qsort(l.uri, l.n, sizeof(*l.uri), out_list_cmp);
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
	if (!download && !manifest && l.n == 0) {
		prefix[strlen(prefix) - 1] = '\0';
		fprintf(stderr, "barge results: job %s has no .out files in %s\n", id, prefix);
	}
	rc = EXIT_COMPLETED;
done:
	objects_free(obj);
	if (cfg_loaded)
		config_free(&cfg);
	client_close(&c);
	client_resp_free(&r);
	out_list_free(&l);
	return rc;
}
