/* report.c - `barge report`: a finished job's max_tokens use and its cost on every other model. */
#include "cli/advice.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "core/jsonl.h"
#include "core/pricing.h"
#include "formats/format.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/json.h"

#include <getopt.h>
#include <json-c/json_pointer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The manifest is a small object; anything larger is not one. */
#define REPORT_MANIFEST_MAX ((size_t)1 << 20)
/* Per-record figures are kept for this many records at most. */
#define REPORT_MAX_RECORDS 2000000
/* An output line holds its input line and an answer: room for both. */
#define REPORT_ANSWER_ROOM ((size_t)16 << 20)
/* A record "used little" of its max_tokens below this share. */
#define REPORT_LOW_USE 0.25

static const char usage[] =
	"usage: barge report JOB [--state DIR | --output URI] [--config FILE] [--json]\n"
	"\n"
	"Reads a finished job's outputs (<output>/<job id>/*.out and\n"
	"manifest.json.out, local or s3://) and shows what its max_tokens bought and\n"
	"what the same job costs on the other models:\n"
	"  - records: succeeded and failed;\n"
	"  - max_tokens requested (from each record's modelInput) against the output\n"
	"    tokens used (from the family's usage in modelOutput): sums, median, p90,\n"
	"    the longest answer, how many records used under 25% of their max_tokens\n"
	"    and how many hit it (answers cut short: do not lower those);\n"
	"  - a table of the job's cost with the manifest's token counts on every\n"
	"    configured model: its family's first, then the others (whose tokenizers\n"
	"    count differently: a rough guide), with batch and on-demand cost and the\n"
	"    difference to this job.\n"
	"JOB is the job id or its ARN. A `barge run` job is found in the run's state\n"
	"(--state, as for `barge run`); a job of a barge server (or any job) by\n"
	"--output, the output prefix it was submitted with.\n"
	"\n"
	"options:\n"
	"  --state DIR            the state of `barge run` (default: $BARGE_STATE or\n"
	"                         ./.barge; a `barge serve` [server] data works too)\n"
	"  --output URI           the job's output prefix: outputs are <URI>/<job id>/\n"
	"  --invocation-type T    Converse for a Converse job read by --output\n"
	"  --config FILE          configuration: models, prices, [storage.s3] (default:\n"
	"                         $BARGE_CONFIG, else built-ins)\n"
	"  --json                 one JSON object on stdout\n"
	"  -h, --help             this help\n"
	"\n"
	"exit status: 0 reported, 1 the job or its outputs could not be read, 2 usage\n"
	"or configuration error.\n";

/*
 * Where each family's native modelOutput counts its output tokens (a JSON
 * pointer). Mistral's answer has no counts, nor do embeddings (which have
 * no output): for those only the manifest's totals are known.
 */
static const char *const output_tokens_at[FAM__COUNT] = {
	[FAM_ANTHROPIC_MESSAGES] = "/usage/output_tokens",
	[FAM_LLAMA] = "/generation_token_count",
	[FAM_MISTRAL] = NULL,
	[FAM_TITAN_TEXT] = "/results/0/tokenCount",
	[FAM_NOVA] = "/usage/outputTokens",
	[FAM_CONVERSE] = "/usage/outputTokens",
	[FAM_TITAN_EMBED] = NULL,
	[FAM_OPENAI_CHAT] = "/usage/completion_tokens",
	[FAM_OPENAI_COMPLETIONS] = "/usage/completion_tokens",
	[FAM_OPENAI_EMBEDDINGS] = NULL,
};

/* What the manifest says. */
struct report_manifest {
	char model_id[CONFIG_NAME_MAX];
	char status[32];
	int64_t total, success, errors, input_tokens, output_tokens;
	bool has_prices;
	struct prices p; /* the prices the job was billed at */
};

struct report {
	const struct family *fam;
	size_t max_line;
	/* Files read, in order. */
	char **files;
	size_t n_files, cap_files;
	/* Per record: requested max_tokens, and output tokens used (-1 unknown). */
	int64_t *req, *used;
	size_t n, cap;
	int64_t lines, success, errors, unreadable, no_usage;
	bool truncated;
};

/* One row of the cost table. */
struct report_row {
	const struct model_cfg *model;
	bool same_family;
	bool this_job;
	struct costs c;
};

static int report_add_file(struct report *r, const char *uri)
{
	if (r->n_files == r->cap_files) {
		size_t ncap = r->cap_files ? r->cap_files * 2 : 8;
		char **nv;

		/* As many outputs as a job may have inputs. */
		if (ncap > 20000)
			return ERR_LIMIT;
		nv = realloc(r->files, ncap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		r->files = nv;
		r->cap_files = ncap;
	}
	r->files[r->n_files] = strdup(uri);
	if (!r->files[r->n_files])
		return ERR_NOMEM;
	r->n_files++;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* on_listed keeps the .out files of a job's prefix: not the manifest, not the parts. */
static int on_listed(const char *uri, uint64_t size, void *ud)
{
	struct report *r = ud;

	(void)size;
	if (!ends_with(uri, ".out") || ends_with(uri, "/manifest.json.out") ||
	    strstr(uri, "/parts/"))
		return 0;
	return report_add_file(r, uri);
}

/* report_read_small reads a whole small object into b. */
static int report_read_small(struct objects *o, const char *uri, struct buf *b, struct err *e)
{
	struct obj_reader *rd;
	char tmp[16384];
	size_t got;
	int rc = objects_open_read(o, uri, 0, 0, &rd, e);

	if (rc)
		return rc;
	while (!(rc = obj_reader_read(rd, tmp, sizeof(tmp), &got, e)) && got) {
		if (buf_append(b, tmp, got)) {
			rc = err_set(e, ERR_LIMIT, "%s is larger than %zu bytes: it is no manifest", uri,
				     REPORT_MANIFEST_MAX);
			break;
		}
	}
	obj_reader_close(rd);
	return rc;
}

static int64_t get_count(json_object *o, const char *key)
{
	int64_t v;

	return json_get_int64(o, key, &v) ? v : 0;
}

static int report_load_manifest(struct objects *o, const char *prefix,
				struct report_manifest *m, struct err *e)
{
	struct buf b;
	json_object *root = NULL, *cost;
	const char *s;
	char *uri = objects_join(prefix, "manifest.json.out");
	int rc;

	memset(m, 0, sizeof(*m));
	buf_init(&b, REPORT_MANIFEST_MAX);
	if (!uri) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	rc = report_read_small(o, uri, &b, e);
	if (rc == ERR_NOTFOUND) {
		err_set(e, ERR_NOTFOUND,
			"there is no %s: the job has not finished (see `barge get` or `barge run`), or "
			"its outputs are elsewhere (give --output, the prefix it wrote to)",
			uri);
		goto fail;
	}
	if (rc)
		goto fail;
	rc = json_parse(b.data ? b.data : "", b.len, &root, e);
	if (rc) {
		err_prefix(e, "%s", uri);
		goto fail;
	}
	s = json_get_str(root, "modelId");
	if (!s || !*s) {
		rc = err_set(e, ERR_INVAL, "%s has no modelId: is it a barge manifest?", uri);
		goto fail;
	}
	snprintf(m->model_id, sizeof(m->model_id), "%s", s);
	s = json_get_str(root, "status");
	snprintf(m->status, sizeof(m->status), "%s", s ? s : "?");
	m->total = get_count(root, "totalRecordCount");
	m->success = get_count(root, "successRecordCount");
	m->errors = get_count(root, "errorRecordCount");
	m->input_tokens = get_count(root, "inputTokenCount");
	m->output_tokens = get_count(root, "outputTokenCount");
	cost = json_get(root, "cost");
	m->has_prices = json_get_double(cost, "inputPricePer1kTokens", &m->p.input_per_1k) &&
			json_get_double(cost, "outputPricePer1kTokens", &m->p.output_per_1k) &&
			json_get_double(cost, "batchDiscount", &m->p.batch_discount);
fail:
	json_object_put(root);
	buf_free(&b);
	free(uri);
	return rc;
}

/* report_take appends one record's figures, while there is room. */
static int report_take(struct report *r, int64_t req, int64_t used)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		int64_t *a, *b;

		if (r->cap >= REPORT_MAX_RECORDS) {
			r->truncated = true;
			return 0;
		}
		if (ncap > REPORT_MAX_RECORDS)
			ncap = REPORT_MAX_RECORDS;
		a = realloc(r->req, ncap * sizeof(*a));
		if (!a)
			return ERR_NOMEM;
		r->req = a;
		b = realloc(r->used, ncap * sizeof(*b));
		if (!b)
			return ERR_NOMEM;
		r->used = b;
		r->cap = ncap;
	}
	r->req[r->n] = req;
	r->used[r->n] = used;
	r->n++;
	return 0;
}

/* report_line reads one output line: an answer with its usage, or an error record. */
static int report_line(struct report *r, const struct jsonl_line *l)
{
	json_object *root = NULL, *mi, *mo, *n;
	const char *at = output_tokens_at[r->fam->id];
	int64_t in = 0, req = 0, used = -1;
	struct err pe;
	int rc = 0;

	if (l->too_long || json_parse(l->data, l->len, &root, &pe) ||
	    !json_is_type(root, json_type_object)) {
		r->unreadable++;
		goto out;
	}
	if (json_get(root, "error")) {
		r->errors++;
		goto out;
	}
	mi = json_get(root, "modelInput");
	mo = json_get(root, "modelOutput");
	if (!json_is_type(mi, json_type_object) || !mo) {
		r->unreadable++;
		goto out;
	}
	r->success++;
	r->fam->estimate(mi, &in, &req);
	if (at && !json_pointer_get(mo, at, &n) && json_is_type(n, json_type_int))
		used = json_object_get_int64(n);
	/* A count no answer can have (an edited file) is no count, and stays out of the sums. */
	if (used < 0 || used > FMT_MAX_TOKENS_CAP) {
		used = -1;
		r->no_usage++;
	}
	rc = report_take(r, req, used);
out:
	json_object_put(root);
	return rc;
}

static int report_read_outputs(struct report *r, struct objects *o, struct err *e)
{
	for (size_t i = 0; i < r->n_files; i++) {
		struct jsonl_reader rd;
		struct jsonl_line l;
		int rc = jsonl_open(&rd, o, r->files[i], 0, 0, 1, r->max_line, e);

		if (rc) {
			err_prefix(e, "cannot read %s", r->files[i]);
			return rc;
		}
		while ((rc = jsonl_next(&rd, &l, e)) == 1) {
			r->lines++;
			if ((rc = report_line(r, &l))) {
				err_set(e, rc, "out of memory while reading %s", r->files[i]);
				break;
			}
		}
		jsonl_close(&rd);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * report_locate finds the job's output prefix and its output files: from
 * --output directly, else from the state of the run that ran it.
 */
static int report_locate(struct report *r, struct objects *o, const char *job_id,
			 const char *output, const char *state, char **prefix,
			 const char **itype, char *itype_buf, size_t itype_n, struct err *e)
{
	struct store *st = NULL;
	struct job j;
	struct job_input *in = NULL;
	size_t n_in = 0;
	char db[4096], url[4200];
	struct stat sb;
	int rc;

	job_init(&j);
	if (output) {
		char *dir;

		*prefix = objects_join(output, job_id);
		/* With its slash the listing is of the job's directory, not of names that start alike. */
		dir = *prefix ? objects_join(*prefix, "") : NULL;
		if (!dir)
			return err_set(e, ERR_NOMEM, "out of memory");
		rc = objects_list(o, dir, on_listed, r, e);
		free(dir);
		if (rc == ERR_NOTFOUND)
			return err_set(e, ERR_NOTFOUND,
				       "%s does not exist: give --output the prefix the job was "
				       "submitted with (the outputs are <prefix>/%s/)",
				       *prefix, job_id);
		return rc;
	}
	snprintf(db, sizeof(db), "%s/barge.db", state);
	/* Opening a store creates it: look first, so that a wrong --state says so. */
	if (stat(db, &sb) < 0)
		return err_set(e, ERR_NOTFOUND,
			       "there is no barge state in %s: give --state DIR of the `barge run` that "
			       "ran job %s, or --output PREFIX for a job of a barge server",
			       state, job_id);
	snprintf(url, sizeof(url), "sqlite:%s", db);
	rc = store_open(url, &st, e);
	if (rc)
		goto out;
	rc = store_job_get(st, job_id, &j, e);
	if (rc == ERR_NOTFOUND) {
		err_set(e, ERR_NOTFOUND,
			"job %s is not in the state %s: give --state DIR of the run that ran it, or "
			"--output PREFIX",
			job_id, state);
		goto out;
	}
	if (rc)
		goto out;
	if (j.invocation_type && !*itype) {
		snprintf(itype_buf, itype_n, "%s", j.invocation_type);
		*itype = itype_buf;
	}
	*prefix = objects_join(j.output_uri, j.id);
	if (!*prefix) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = store_inputs_get(st, job_id, &in, &n_in, e);
	for (size_t i = 0; !rc && i < n_in; i++) {
		char name[4096];
		char *uri;

		snprintf(name, sizeof(name), "%s.out", in[i].name);
		uri = objects_join(*prefix, name);
		rc = uri ? report_add_file(r, uri) : ERR_NOMEM;
		free(uri);
		if (rc)
			err_set(e, rc, "out of memory");
	}
out:
	job_inputs_free(in, n_in);
	job_free(&j);
	if (st)
		store_close(st);
	return rc;
}

/* report_rows prices the job's tokens on every configured model that answers alike. */
static int report_rows(const struct config *cfg, const struct model_cfg *job_model,
		       const struct family *fam, const struct report_manifest *mf,
		       struct report_row **out, size_t *n_out)
{
	struct report_row *rows = calloc(cfg->n_models ? cfg->n_models : 1, sizeof(*rows));
	size_t n = 0;

	if (!rows)
		return ERR_NOMEM;
	for (size_t i = 0; i < cfg->n_models; i++) {
		const struct model_cfg *m = &cfg->models[i];
		const struct family *f = family_by_name(m->family);
		struct prices p = {m->input_price_per_1k, m->output_price_per_1k, m->batch_discount};
		struct report_row *row;

		/* An embeddings job compares with embeddings models only, and the reverse. */
		if (!f || f->embeddings != fam->embeddings)
			continue;
		row = &rows[n++];
		row->model = m;
		row->this_job = m == job_model;
		row->same_family = !strcmp(m->family, job_model->family);
		/* The job's own row is what it was billed, at the manifest's prices. */
		if (row->this_job && mf->has_prices)
			p = mf->p;
		pricing_compute(&p, (double)mf->input_tokens, (double)mf->output_tokens, &row->c);
	}
	*out = rows;
	*n_out = n;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->same_family != y->same_family)
		return x->same_family ? -1 : 1;
	if (x->c.batch_total != y->c.batch_total)
		return x->c.batch_total < y->c.batch_total ? -1 : 1;
	return strcmp(x->model->id, y->model->id);
}

/* The figures of the records, sorted copies of what was kept. */
struct report_figures {
	int64_t req_sum, used_sum, n_used;
	int64_t req_median, req_p90, used_median, used_p90, used_max;
	int64_t low_use, at_limit;
};

static int report_figures(const struct report *r, struct report_figures *f)
{
	int64_t *req = malloc((r->n ? r->n : 1) * sizeof(*req));
	int64_t *used = malloc((r->n ? r->n : 1) * sizeof(*used));
	size_t nu = 0;

	memset(f, 0, sizeof(*f));
	if (!req || !used) {
		free(req);
		free(used);
		return ERR_NOMEM;
	}
	for (size_t i = 0; i < r->n; i++) {
		req[i] = r->req[i];
		f->req_sum += r->req[i];
		if (r->used[i] < 0)
			continue;
		used[nu++] = r->used[i];
		f->used_sum += r->used[i];
		if ((double)r->used[i] < (double)r->req[i] * REPORT_LOW_USE)
			f->low_use++;
		if (r->req[i] > 0 && r->used[i] >= r->req[i])
			f->at_limit++;
	}
	f->n_used = (int64_t)nu;
	advice_sort(req, r->n);
	advice_sort(used, nu);
	f->req_median = advice_quantile(req, r->n, 0.5);
	f->req_p90 = advice_quantile(req, r->n, 0.9);
	f->used_median = advice_quantile(used, nu, 0.5);
	f->used_p90 = advice_quantile(used, nu, 0.9);
	f->used_max = nu ? used[nu - 1] : 0;
	free(req);
	free(used);
	return 0;
}

/* vs_job writes how a row compares with the job's own cost: "this job", "-73%", "+400%". */
static void vs_job(const struct report_row *row, double job_batch, char *out, size_t n)
{
	if (row->this_job)
		snprintf(out, n, "this job");
	else if (job_batch <= 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%+.0f%%", (row->c.batch_total - job_batch) / job_batch * 100.0);
}

static double job_batch_cost(const struct report_row *rows, size_t n,
			     const struct report_manifest *mf, const struct model_cfg *job_model)
{
	struct costs c;
	struct prices p = {job_model->input_price_per_1k, job_model->output_price_per_1k,
			   job_model->batch_discount};

	for (size_t i = 0; i < n; i++)
		if (rows[i].this_job)
			return rows[i].c.batch_total;
	pricing_compute(mf->has_prices ? &mf->p : &p, (double)mf->input_tokens,
			(double)mf->output_tokens, &c);
	return c.batch_total;
}

static void report_put_text(struct buf *b, const char *job_id, const struct report_manifest *mf,
			    const struct report *r, const struct report_figures *f,
			    const struct report_row *rows, size_t n_rows, double job_batch)
{
	char a[32], c[32], d[32], g[32], h[32];
	bool other = false;

	buf_printf(b, "report for job %s (%s, %s, %s)\n", job_id, mf->model_id, r->fam->name,
		   mf->status);
	buf_fmt_int(a, sizeof(a), r->success + r->errors);
	buf_fmt_int(c, sizeof(c), r->success);
	buf_fmt_int(d, sizeof(d), r->errors);
	buf_printf(b, "  records      %s: %s succeeded, %s failed", a, c, d);
	if (r->unreadable)
		buf_printf(b, " (%lld lines unreadable)", (long long)r->unreadable);
	buf_putc(b, '\n');
	if (r->truncated)
		buf_printf(b, "  (per-record figures cover the first %d records)\n", REPORT_MAX_RECORDS);
	if (!r->fam->embeddings && r->n) {
		buf_fmt_int(a, sizeof(a), f->req_sum);
		buf_fmt_int(c, sizeof(c), f->req_median);
		buf_fmt_int(d, sizeof(d), f->req_p90);
		buf_printf(b, "  max_tokens   requested %s in all (median %s, p90 %s)\n", a, c, d);
	}
	if (!r->fam->embeddings && f->n_used) {
		buf_fmt_int(a, sizeof(a), f->used_sum);
		buf_fmt_int(c, sizeof(c), f->used_median);
		buf_fmt_int(d, sizeof(d), f->used_p90);
		buf_fmt_int(g, sizeof(g), f->used_max);
		buf_printf(b, "  used         %s output tokens (median %s, p90 %s, longest %s)", a, c,
			   d, g);
		if (f->req_sum)
			buf_printf(b, ": %.0f%% of the max_tokens asked", 100.0 * (double)f->used_sum /
									   (double)f->req_sum);
		buf_putc(b, '\n');
		buf_fmt_int(a, sizeof(a), f->low_use);
		buf_fmt_int(c, sizeof(c), f->n_used);
		buf_fmt_int(d, sizeof(d), f->at_limit);
		buf_printf(b, "               %s of %s records used under %.0f%% of their max_tokens; "
			      "%s hit it (answers cut short)\n",
			   a, c, REPORT_LOW_USE * 100, d);
		if (f->low_use * 2 > f->n_used && !f->at_limit)
			buf_printf(b, "               lower max_tokens: the longest answer was %s "
				      "tokens, and max_tokens bounds what a runaway answer costs\n",
				   g);
	} else if (!r->fam->embeddings && r->n) {
		buf_printf(b, "  used         %s answers carry no per-record token counts: only the "
			      "manifest's total is known\n",
			   r->fam->name);
	}
	buf_fmt_int(a, sizeof(a), mf->input_tokens);
	buf_fmt_int(c, sizeof(c), mf->output_tokens);
	buf_printf(b, "  tokens       %s input, %s output (the manifest's)\n", a, c);
	buf_printf(b, "\n  the same tokens on the configured models (%s's family first):\n",
		   mf->model_id);
	buf_printf(b, "  %-44s %-20s %12s %12s %12s\n", "model", "family", "batch", "on-demand",
		   "vs this job");
	for (size_t i = 0; i < n_rows; i++) {
		const struct report_row *row = &rows[i];

		if (!row->same_family && !other) {
			buf_puts(b, "  other families (their tokenizers count differently: a rough "
				    "guide):\n");
			other = true;
		}
		pricing_fmt_usd(row->c.batch_total, a, sizeof(a));
		pricing_fmt_usd(row->c.od_total, c, sizeof(c));
		vs_job(row, job_batch, h, sizeof(h));
		buf_printf(b, "  %-44s %-20s %12s %12s %12s\n", row->model->id, row->model->family, a,
			   c, h);
	}
}

static void report_put_json(struct buf *b, const char *job_id, const struct report_manifest *mf,
			    const struct report *r, const struct report_figures *f,
			    const struct report_row *rows, size_t n_rows, double job_batch)
{
	buf_puts(b, "{\"jobId\":");
	buf_put_json_cstr(b, job_id);
	buf_puts(b, ",\"modelId\":");
	buf_put_json_cstr(b, mf->model_id);
	buf_printf(b, ",\"family\":\"%s\",\"status\":", r->fam->name);
	buf_put_json_cstr(b, mf->status);
	buf_printf(b, ",\"records\":{\"total\":%lld,\"success\":%lld,\"errors\":%lld,"
		      "\"unreadable\":%lld},\"inputTokens\":%lld,\"outputTokens\":%lld",
		   (long long)(r->success + r->errors), (long long)r->success, (long long)r->errors,
		   (long long)r->unreadable, (long long)mf->input_tokens,
		   (long long)mf->output_tokens);
	buf_puts(b, ",\"maxTokens\":");
	if (r->fam->embeddings || !r->n) {
		buf_puts(b, "null");
	} else {
		buf_printf(b, "{\"requested\":{\"sum\":%lld,\"median\":%lld,\"p90\":%lld},\"used\":",
			   (long long)f->req_sum, (long long)f->req_median, (long long)f->req_p90);
		if (f->n_used)
			buf_printf(b, "{\"sum\":%lld,\"median\":%lld,\"p90\":%lld,\"max\":%lld}",
				   (long long)f->used_sum, (long long)f->used_median,
				   (long long)f->used_p90, (long long)f->used_max);
		else
			buf_puts(b, "null");
		buf_printf(b, ",\"recordsWithUsage\":%lld,\"underQuarter\":%lld,\"atLimit\":%lld}",
			   (long long)f->n_used, (long long)f->low_use, (long long)f->at_limit);
	}
	buf_puts(b, ",\"costs\":[");
	for (size_t i = 0; i < n_rows; i++) {
		const struct report_row *row = &rows[i];

		buf_puts(b, i ? ",{\"modelId\":" : "{\"modelId\":");
		buf_put_json_cstr(b, row->model->id);
		buf_puts(b, ",\"family\":");
		buf_put_json_cstr(b, row->model->family);
		buf_printf(b, ",\"sameFamily\":%s,\"thisJob\":%s,\"batchCost\":%.6f,"
			      "\"onDemandCost\":%.6f,\"vsThisJob\":",
			   row->same_family ? "true" : "false", row->this_job ? "true" : "false",
			   row->c.batch_total, row->c.od_total);
		if (job_batch > 0)
			buf_printf(b, "%.4f", (row->c.batch_total - job_batch) / job_batch);
		else
			buf_puts(b, "null");
		buf_putc(b, '}');
	}
	buf_puts(b, "]}\n");
}

static void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i]);
	free(r->files);
	free(r->req);
	free(r->used);
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"invocation-type", required_argument, NULL, 't'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *state = NULL, *output = NULL, *itype = NULL, *config = NULL;
	char job_id[IDS_JOB_LEN + 1], itype_buf[32];
	struct report r;
	struct report_manifest mf;
	struct report_figures fig;
	struct report_row *rows = NULL;
	size_t n_rows = 0;
	struct model_ref m;
	struct config cfg;
	struct objects *obj = NULL;
	char *prefix = NULL;
	struct buf b;
	struct err e;
	bool json = false;
	int c, rc;

	memset(&r, 0, sizeof(r));
	memset(&cfg, 0, sizeof(cfg));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'o': output = optarg; break;
		case 't': itype = optarg; break;
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("report", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage("report", "give the JOB: its id or ARN");
	if (optind + 1 < argc)
		return cli_usage("report", "report takes one JOB, not \"%s\" too", argv[optind + 1]);
	if (!client_check_job(argv[optind]))
		return cli_usage("report", "\"%s\" is not a job id (12 characters a-z0-9) or a job ARN",
				 argv[optind]);
	if (state && output)
		return cli_usage("report", "give --state or --output, not both");
	client_job_id(argv[optind], job_id, sizeof(job_id));
	if (!state)
		state = getenv("BARGE_STATE");
	if (!state || !*state)
		state = ".barge";
	if ((rc = cli_load_config("report", config, &cfg)))
		return rc;
	buf_init(&b, (size_t)8 << 20);
	obj = objects_new(&cfg.s3);
	if (!obj) {
		fprintf(stderr, "barge report: out of memory\n");
		rc = EXIT_FAILED;
		goto out;
	}
	if (report_locate(&r, obj, job_id, output, state, &prefix, &itype, itype_buf,
			  sizeof(itype_buf), &e) ||
	    report_load_manifest(obj, prefix, &mf, &e)) {
		fprintf(stderr, "barge report: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto out;
	}
	if (cli_resolve_model(&cfg, mf.model_id, itype, &m, &e)) {
		fprintf(stderr, "barge report: the job's %s (give --config with the configuration "
				"the job ran with)\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	r.fam = m.fam;
	r.max_line = cfg.limits.max_line_bytes * 2 + REPORT_ANSWER_ROOM;
	if (report_read_outputs(&r, obj, &e)) {
		fprintf(stderr, "barge report: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto out;
	}
	if (report_figures(&r, &fig) || report_rows(&cfg, m.model, m.fam, &mf, &rows, &n_rows)) {
		fprintf(stderr, "barge report: out of memory\n");
		rc = EXIT_FAILED;
		goto out;
	}
	qsort(rows, n_rows, sizeof(*rows), cmp_rows);
	if (json)
		report_put_json(&b, job_id, &mf, &r, &fig, rows, n_rows,
				job_batch_cost(rows, n_rows, &mf, m.model));
	else
		report_put_text(&b, job_id, &mf, &r, &fig, rows, n_rows,
				job_batch_cost(rows, n_rows, &mf, m.model));
	fwrite(b.data, 1, b.len, stdout);
	rc = 0;
out:
	free(rows);
	free(prefix);
	report_free(&r);
	objects_free(obj);
	config_free(&cfg);
	buf_free(&b);
	return rc;
}
