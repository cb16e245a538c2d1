/* compact.c - `barge compact`: an input without redundant whitespace, and what that saves. */
#include "cli/cli.h"
#include "core/compact.h"
#include "core/jsonl.h"
#include "core/pricing.h"
#include "core/record.h"
#include "objects/objects.h"
#include "util/buf.h"
#include "util/json.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines that are not records are quoted by number up to this many. */
#define COMPACT_SHOW_BAD 5

static const char usage[] =
	"usage: barge compact INPUT -o OUTPUT [--model ID] [--keep-indent] [--json]\n"
	"\n"
	"Writes INPUT to OUTPUT (files or s3:// objects) with the redundant whitespace\n"
	"removed from the text of every record's modelInput: the system prompt, the\n"
	"messages' contents and text blocks, prompt, inputText or input, as the\n"
	"model's family reads them (without --model, every family's text fields).\n"
	"In those texts:\n"
	"  - runs of 2+ spaces and tabs become one space;\n"
	"  - spaces and tabs at the end of a line are removed;\n"
	"  - 3+ line breaks in a row become 2 (at most one blank line); CRLF stays;\n"
	"  - text between ``` fences (3+ backticks, closed by as many) is never\n"
	"    touched, nor is anything after a fence that is never closed.\n"
	"Only ASCII space, tab, CR and LF count: other bytes, UTF-8 included, stay.\n"
	"A record that changes is written again with its modelInput serialized\n"
	"compactly (recordId and the other members stay as written), unless it\n"
	"holds a value json-c would write back differently (an integer beyond 64\n"
	"bits, -0, half a surrogate pair): such a record is kept whole. Every other\n"
	"line is copied byte for byte, lines that are not records included. Blank\n"
	"lines are dropped. Compacting twice changes nothing the second time.\n"
	"\n"
	"It reports the records changed, the bytes and the input tokens saved\n"
	"(4 bytes a token, as `barge estimate` counts) and, with --model, the\n"
	"dollars saved at the model's batch and on-demand prices.\n"
	"\n"
	"options:\n"
	"  -o, --output OUTPUT    where to write (not INPUT itself)\n"
	"  --model ID             the model the records are for: its family's text\n"
	"                         fields and its prices (`barge models`)\n"
	"  --keep-indent          keep the spaces and tabs that start a line (for\n"
	"                         prompts with code outside ``` fences)\n"
	"  --invocation-type T    InvokeModel (default) or Converse\n"
	"  --config FILE          configuration (default: $BARGE_CONFIG, else built-ins)\n"
	"  --json                 one JSON object on stdout\n"
	"  -h, --help             this help\n"
	"\n"
	"exit status: 0 written, 1 the input could not be read or the output written,\n"
	"2 usage or configuration error.\n";

struct compact_run {
	struct objects *obj;
	const struct family *fam; /* NULL: every family's text fields */
	struct compact_opts opt;
	struct obj_writer *w;
	struct buf line;          /* a changed line being rebuilt */
	int64_t records, changed, not_records;
	int64_t kept;             /* records json-c could not write back exactly */
	uint64_t bad_lines[COMPACT_SHOW_BAD];
	uint64_t text_before, text_after, file_before, file_after;
	int64_t tokens_saved;
};

/* compact_write writes a line and its ending (CRLF as it was, else LF). */
static int compact_write(struct compact_run *x, const char *p, size_t n, bool crlf,
			 struct err *e)
{
	int rc = obj_writer_write(x->w, p, n, e);

	if (!rc)
		rc = obj_writer_write(x->w, crlf ? "\r\n" : "\n", crlf ? 2 : 1, e);
	x->file_after += n + (crlf ? 2 : 1);
	return rc;
}

/* compact_line compacts one line's record, or copies the line when it is none or unchanged. */
static int compact_line(struct compact_run *x, const struct jsonl_line *l, struct err *e)
{
	bool crlf = l->next_off - l->off == l->len + 2;
	struct compact_stats st = {0};
	struct record rec;
	struct err pe;
	int rc;

	x->file_before += l->len + (crlf ? 2 : 1);
	if (record_parse(l->data, l->len, &rec, &pe) || !rec.mi_raw) {
		record_free(&rec);
		if (x->not_records < COMPACT_SHOW_BAD)
			x->bad_lines[x->not_records] = l->line_no;
		x->not_records++;
		return compact_write(x, l->data, l->len, crlf, e);
	}
	x->records++;
	rc = compact_model_input(x->fam, rec.mi, true, &x->opt, &st, e);
	if (rc)
		goto out;
	if (st.bytes_after != st.bytes_before && !compact_raw_rewritable(rec.mi_raw, rec.mi_raw_len)) {
		/* Writing it again would change a value that is not text: keep the record whole. */
		x->kept++;
		st.bytes_after = st.bytes_before;
	}
	x->text_before += st.bytes_before;
	x->text_after += st.bytes_after;
	x->tokens_saved += compact_tokens_saved(&st);
	if (st.bytes_after == st.bytes_before) {
		rc = compact_write(x, l->data, l->len, crlf, e);
		goto out;
	}
	/* Only modelInput is written again; the bytes around it stay as they were. */
	buf_reset(&x->line);
	buf_append(&x->line, l->data, (size_t)(rec.mi_raw - l->data));
	json_put(&x->line, rec.mi);
	buf_append(&x->line, rec.mi_raw + rec.mi_raw_len,
		   l->len - (size_t)(rec.mi_raw - l->data) - rec.mi_raw_len);
	if (x->line.err) {
		rc = err_set(e, ERR_LIMIT, "line %llu: the compacted record does not fit in memory",
			     (unsigned long long)l->line_no);
		goto out;
	}
	x->changed++;
	rc = compact_write(x, x->line.data, x->line.len, crlf, e);
out:
	record_free(&rec);
	return rc;
}

/* compact_file streams input into output through compact_line. */
static int compact_file(struct compact_run *x, const char *input, const char *output,
			size_t max_line, struct err *e)
{
	struct jsonl_reader rd;
	struct jsonl_line l;
	int rc;

	rc = jsonl_open(&rd, x->obj, input, 0, 0, 1, max_line, e);
	if (rc)
		return rc;
	rc = objects_open_write(x->obj, output, &x->w, e);
	if (rc) {
		jsonl_close(&rd);
		return rc;
	}
	while ((rc = jsonl_next(&rd, &l, e)) == 1) {
		if (l.too_long) {
			char a[32], b[32];

			buf_fmt_int(a, sizeof(a), (int64_t)l.full_len);
			buf_fmt_int(b, sizeof(b), (int64_t)max_line);
			rc = err_set(e, ERR_INVAL,
				     "%s:%llu: the line is %s bytes, over max_line_bytes = %s: no job "
				     "would take it; shorten or remove it, then compact again",
				     input, (unsigned long long)l.line_no, a, b);
			break;
		}
		rc = compact_line(x, &l, e);
		if (rc)
			break;
	}
	jsonl_close(&rd);
	if (rc < 0) {
		obj_writer_abort(x->w);
		x->w = NULL;
		return rc;
	}
	rc = obj_writer_commit(x->w, e);
	x->w = NULL;
	return rc;
}

static void compact_put_text(const struct compact_run *x, const char *input, const char *output,
			     const struct model_ref *m, const struct costs *c, struct buf *b)
{
	char r[32], ch[32], t0[32], t1[32], d[32], f0[32], f1[32], tk[32], bu[32], od[32];

	buf_fmt_int(r, sizeof(r), x->records);
	buf_fmt_int(ch, sizeof(ch), x->changed);
	buf_printf(b, "compacted %s into %s: %s record%s, %s changed\n", input, output, r,
		   x->records == 1 ? "" : "s", ch);
	if (x->not_records) {
		bool one = x->not_records == 1;

		buf_printf(b, "  %lld line%s not %s and %s copied as %s (line%s",
			   (long long)x->not_records, one ? " is" : "s are", one ? "a record" : "records",
			   one ? "was" : "were", one ? "it is" : "they are", one ? "" : "s");
		for (int64_t i = 0; i < x->not_records && i < COMPACT_SHOW_BAD; i++)
			buf_printf(b, "%s %llu", i ? "," : "", (unsigned long long)x->bad_lines[i]);
		buf_printf(b, "%s): see `barge validate`\n",
			   x->not_records > COMPACT_SHOW_BAD ? ", ..." : "");
	}
	if (x->kept)
		buf_printf(b, "  %lld record%s kept as written: %s a number or an escape that would "
			      "change if written again (an integer beyond 64 bits, -0, half a "
			      "surrogate pair)\n",
			   (long long)x->kept, x->kept == 1 ? " was" : "s were",
			   x->kept == 1 ? "its modelInput holds" : "their modelInputs hold");
	buf_fmt_int(t0, sizeof(t0), (int64_t)x->text_before);
	buf_fmt_int(t1, sizeof(t1), (int64_t)x->text_after);
	buf_fmt_int(d, sizeof(d), (int64_t)(x->text_before - x->text_after));
	buf_printf(b, "  text     %s -> %s bytes (%s fewer", t0, t1, d);
	if (x->text_before)
		buf_printf(b, ", %.1f%%", 100.0 * (double)(x->text_before - x->text_after) /
						  (double)x->text_before);
	buf_puts(b, ")\n");
	buf_fmt_int(f0, sizeof(f0), (int64_t)x->file_before);
	buf_fmt_int(f1, sizeof(f1), (int64_t)x->file_after);
	buf_printf(b, "  file     %s -> %s bytes\n", f0, f1);
	buf_fmt_int(tk, sizeof(tk), x->tokens_saved);
	buf_printf(b, "  tokens   about %s fewer input tokens (4 bytes a token)\n", tk);
	if (m->model) {
		pricing_fmt_usd(c->batch_input, bu, sizeof(bu));
		pricing_fmt_usd(c->od_input, od, sizeof(od));
		buf_printf(b, "  saved    %s at batch price, %s on demand (%s)\n", bu, od, m->model->id);
	} else {
		buf_puts(b, "  saved    dollars need --model ID: the model's prices (`barge models` "
			    "lists them)\n");
	}
}

static void compact_put_json(const struct compact_run *x, const char *input, const char *output,
			     const struct model_ref *m, const struct costs *c, struct buf *b)
{
	buf_puts(b, "{\"input\":");
	buf_put_json_cstr(b, input);
	buf_puts(b, ",\"output\":");
	buf_put_json_cstr(b, output);
	buf_printf(b, ",\"records\":%lld,\"changed\":%lld,\"kept\":%lld,\"notRecords\":%lld,"
		      "\"textBytesBefore\":%llu,\"textBytesAfter\":%llu,\"fileBytesBefore\":%llu,"
		      "\"fileBytesAfter\":%llu,\"tokensSaved\":%lld,\"modelId\":",
		   (long long)x->records, (long long)x->changed, (long long)x->kept,
		   (long long)x->not_records,
		   (unsigned long long)x->text_before, (unsigned long long)x->text_after,
		   (unsigned long long)x->file_before, (unsigned long long)x->file_after,
		   (long long)x->tokens_saved);
	if (m->model) {
		buf_put_json_cstr(b, m->model->id);
		buf_printf(b, ",\"batchSaved\":%.6f,\"onDemandSaved\":%.6f}\n", c->batch_input,
			   c->od_input);
	} else {
		buf_puts(b, "null,\"batchSaved\":null,\"onDemandSaved\":null}\n");
	}
}

int cmd_compact(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"model", required_argument, NULL, 'm'},
		{"keep-indent", no_argument, NULL, 'k'},
		{"invocation-type", required_argument, NULL, 't'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *output = NULL, *model = NULL, *itype = NULL, *config = NULL, *input;
	struct compact_run x;
	struct model_ref m;
	struct config cfg;
	struct costs cost;
	struct buf b;
	struct err e;
	bool json = false;
	int c, rc;

	memset(&x, 0, sizeof(x));
	memset(&m, 0, sizeof(m));
	memset(&cfg, 0, sizeof(cfg));
	memset(&cost, 0, sizeof(cost));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'm': model = optarg; break;
		case 'k': x.opt.keep_indent = true; break;
		case 't': itype = optarg; break;
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("compact", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage("compact", "give the INPUT file to compact");
	if (optind + 1 < argc)
		return cli_usage("compact", "compact takes one INPUT, not \"%s\" too", argv[optind + 1]);
	if (!output)
		return cli_usage("compact", "-o OUTPUT is required: where the compacted file goes");
	input = argv[optind];
	if (objects_same(input, output))
		return cli_usage("compact", "-o must not be INPUT itself: write another file, check "
					    "it, then rename it");
	if ((rc = cli_load_config("compact", config, &cfg)))
		return rc;
	buf_init(&b, 1 << 20);
	/*
	 * Compacting only removes, but json-c may escape a character the input
	 * had raw: twice the line is ample.
	 */
	buf_init(&x.line, cfg.limits.max_line_bytes * 2 + 1024);
	if (model) {
		if (cli_resolve_model(&cfg, model, itype, &m, &e)) {
			fprintf(stderr, "barge compact: %s\n", e.msg);
			rc = EXIT_USAGE;
			goto out;
		}
		x.fam = m.fam;
	} else if (itype) {
		rc = cli_usage("compact", "--invocation-type needs --model");
		goto out;
	}
	x.obj = objects_new(&cfg.s3);
	if (!x.obj) {
		fprintf(stderr, "barge compact: out of memory\n");
		rc = EXIT_FAILED;
		goto out;
	}
	if (compact_file(&x, input, output, cfg.limits.max_line_bytes, &e)) {
		fprintf(stderr, "barge compact: %s (nothing was written to %s)\n", e.msg, output);
		rc = EXIT_FAILED;
		goto out;
	}
	if (m.model) {
		struct prices p = {m.model->input_price_per_1k, m.model->output_price_per_1k,
				   m.model->batch_discount};

		pricing_compute(&p, (double)x.tokens_saved, 0, &cost);
	}
	if (json)
		compact_put_json(&x, input, output, &m, &cost, &b);
	else
		compact_put_text(&x, input, output, &m, &cost, &b);
	fwrite(b.data, 1, b.len, stdout);
	rc = 0;
out:
	objects_free(x.obj);
	config_free(&cfg);
	buf_free(&x.line);
	buf_free(&b);
	return rc;
}
