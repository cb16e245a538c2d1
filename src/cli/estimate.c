/* estimate.c - `barge estimate`: tokens and cost of a job before running it. */
#include "cli/cli.h"
#include "core/pricing.h"
#include "core/validate.h"
#include "util/buf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: barge estimate INPUT... --model ID [--output-tokens N] [--json]\n"
	"       barge estimate --model ID --records N --input-tokens N --output-tokens N\n"
	"\n"
	"Predicts the tokens and the on-demand and batch cost of a job. From input\n"
	"files, input tokens are approximated from the prompt text (4 bytes a\n"
	"token) and output tokens are each record's max_tokens, or N per record with\n"
	"--output-tokens. Without inputs, --records, --input-tokens and\n"
	"--output-tokens (per record) describe the job.\n"
	"\n"
	"options:\n"
	"  --model ID             the model to price (`barge models`)\n"
	"  --output-tokens N      expected output tokens per record\n"
	"  --records N            number of records (without inputs)\n"
	"  --input-tokens N       input tokens per record (without inputs)\n"
	"  --invocation-type T    InvokeModel (default) or Converse\n"
	"  --config FILE          configuration (default: $BARGE_CONFIG, else built-ins)\n"
	"  --json                 one JSON object on stdout\n"
	"  -h, --help             this help\n";

static int parse_count(const char *flag, const char *v, int64_t *out)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < 0)
		return cli_usage("estimate", "%s needs a whole number, not \"%s\"", flag, v);
	*out = x;
	return 0;
}

int cmd_estimate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"config", required_argument, NULL, 'c'},
		{"output-tokens", required_argument, NULL, 'O'},
		{"input-tokens", required_argument, NULL, 'I'},
		{"records", required_argument, NULL, 'r'},
		{"invocation-type", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *config = NULL, *itype = NULL;
	int64_t out_per = -1, in_per = -1, records = -1;
	double in_tokens, out_tokens;
	int64_t n_records, n_bad = 0;
	bool json = false;
	struct config cfg;
	struct model_ref m;
	struct objects *obj = NULL;
	struct job_input *inputs = NULL;
	size_t n_inputs = 0;
	struct val_result res;
	struct prices p;
	struct costs cost;
	struct buf b;
	struct err e;
	const char *out_from;
	int c, rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&res, 0, sizeof(res));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'c': config = optarg; break;
		case 't': itype = optarg; break;
		case 'j': json = true; break;
		case 'O': if ((rc = parse_count("--output-tokens", optarg, &out_per))) return rc; break;
		case 'I': if ((rc = parse_count("--input-tokens", optarg, &in_per))) return rc; break;
		case 'r': if ((rc = parse_count("--records", optarg, &records))) return rc; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("estimate", "unknown option %s", argv[optind - 1]);
		}
	}
	if (!model)
		return cli_usage("estimate", "--model is required (`barge models` lists the models)");
	if (optind >= argc && (records < 0 || in_per < 0 || out_per < 0))
		return cli_usage("estimate", "give INPUT files, or --records, --input-tokens and "
					     "--output-tokens");
	if (optind < argc && (records >= 0 || in_per >= 0))
		return cli_usage("estimate", "--records and --input-tokens describe a job without "
					     "inputs; give one or the other");
	if ((rc = cli_load_config("estimate", config, &cfg)))
		return rc;
	buf_init(&b, 1 << 20);
	if (cli_resolve_model(&cfg, model, itype, &m, &e)) {
		fprintf(stderr, "barge estimate: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	if (optind < argc) {
		struct val_opts vo = {0};

		obj = objects_new(&cfg.s3);
		if (!obj || inputs_expand(obj, argv + optind, (size_t)(argc - optind), &inputs,
					  &n_inputs, &e)) {
			fprintf(stderr, "barge estimate: %s\n", obj ? e.msg : "out of memory");
			rc = EXIT_USAGE;
			goto out;
		}
		vo.fam = m.fam;
		vo.lim = &cfg.limits;
		vo.job_id = "";
		if (validate_inputs(obj, inputs, n_inputs, &vo, &res, &e)) {
			fprintf(stderr, "barge estimate: %s\n", e.msg);
			rc = EXIT_FAILED;
			goto out;
		}
		n_bad = res.n_bad;
		n_records = res.total - res.n_bad;
		in_tokens = (double)res.est_input_tokens;
		out_tokens = out_per >= 0 ? (double)out_per * (double)n_records
					  : (double)res.est_max_output_tokens;
		out_from = out_per >= 0 ? "--output-tokens" : "max_tokens";
		if (n_bad)
			fprintf(stderr, "barge estimate: %lld invalid records are left out (see `barge "
					"validate`)\n", (long long)n_bad);
		if (res.limit_msg[0])
			fprintf(stderr, "barge estimate: a job would fail: %s\n", res.limit_msg);
	} else {
		n_records = records;
		in_tokens = (double)records * (double)in_per;
		out_tokens = (double)records * (double)out_per;
		out_from = "--output-tokens";
	}
	p.input_per_1k = m.model->input_price_per_1k;
	p.output_per_1k = m.model->output_price_per_1k;
	p.batch_discount = m.model->batch_discount;
	pricing_compute(&p, in_tokens, out_tokens, &cost);
	if (json) {
		buf_puts(&b, "{\"modelId\":");
		buf_put_json_cstr(&b, m.model->id);
		buf_printf(&b, ",\"records\":%lld,\"invalidRecords\":%lld,\"inputTokens\":%.0f,"
			       "\"outputTokens\":%.0f,\"outputTokensFrom\":\"%s\",\"cost\":",
			   (long long)n_records, (long long)n_bad, in_tokens, out_tokens, out_from);
		pricing_put_json(&b, &p, &cost);
		buf_puts(&b, "}\n");
	} else {
		char r[32], it[32], ot[32];

		buf_fmt_int(r, sizeof(r), n_records);
		buf_fmt_int(it, sizeof(it), (int64_t)in_tokens);
		buf_fmt_int(ot, sizeof(ot), (int64_t)out_tokens);
		buf_printf(&b, "estimate for %s records on %s\n", r, m.model->id);
		buf_printf(&b, "  tokens   %s input (approximate), %s output (from %s)\n", it, ot,
			   out_from);
		pricing_put_table(&b, &cost);
	}
	fwrite(b.data, 1, b.len, stdout);
	rc = 0;
out:
	val_result_free(&res);
	job_inputs_free(inputs, n_inputs);
	objects_free(obj);
	config_free(&cfg);
	buf_free(&b);
	return rc;
}
