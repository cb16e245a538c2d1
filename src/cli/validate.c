/* validate.c - `barge validate`: every problem of the inputs, with file:line. */
#include "cli/advice.h"
#include "cli/cli.h"
#include "core/validate.h"
#include "util/buf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: barge validate INPUT... --model ID [--config FILE] [--json]\n"
	"\n"
	"Checks every record of the inputs as a job would (JSON, recordId, the\n"
	"model family's modelInput rules, duplicate ids, size and count limits) and\n"
	"reports every problem as file:line: what, then the counts.\n"
	"\n"
	"Then it advises on what the valid records cost for nothing: the spread\n"
	"(min, median, p90, max) of max_tokens and of the prompts' tokens, and flags\n"
	"with counts, example lines and dollars at the model's batch price:\n"
	"  max_tokens  above 4x the family's typical answer (512 tokens for every\n"
	"              text family, so above 2,048), or above 8x the file's median\n"
	"              max_tokens (and above 512): lower max_tokens\n"
	"  duplicates  records whose modelInput has the very same bytes: drop them\n"
	"  whitespace  records with runs of 4+ spaces or 3+ line breaks in their text:\n"
	"              `barge compact` removes them (the bytes and tokens it would save\n"
	"              are shown)\n"
	"Advice never changes the exit status; it covers the first 1,000,000 records.\n"
	"\n"
	"options:\n"
	"  --model ID             the model the records are for (`barge models`)\n"
	"  --invocation-type T    InvokeModel (default) or Converse\n"
	"  --config FILE          configuration (default: $BARGE_CONFIG, else built-ins)\n"
	"  --json                 one JSON object on stdout (the advice under \"advice\")\n"
	"  -h, --help             this help\n"
	"\n"
	"exit status: 0 every record is valid and within the limits, 1 otherwise,\n"
	"2 usage or configuration error.\n";

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"model", required_argument, NULL, 'm'},
		{"config", required_argument, NULL, 'c'},
		{"invocation-type", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *config = NULL, *itype = NULL;
	bool json = false;
	struct config cfg;
	struct model_ref m;
	struct objects *obj = NULL;
	struct job_input *inputs = NULL;
	size_t n_inputs = 0;
	struct val_opts vo = {0};
	struct val_result res;
	struct advice *adv = NULL;
	struct buf b;
	struct err e;
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
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("validate", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage("validate", "give at least one INPUT file or directory");
	if (!model)
		return cli_usage("validate", "--model is required (`barge models` lists the models)");
	if ((rc = cli_load_config("validate", config, &cfg)))
		return rc;
	buf_init(&b, (size_t)256 << 20);
	if (cli_resolve_model(&cfg, model, itype, &m, &e)) {
		fprintf(stderr, "barge validate: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	obj = objects_new(&cfg.s3);
	if (!obj || inputs_expand(obj, argv + optind, (size_t)(argc - optind), &inputs, &n_inputs,
				  &e)) {
		fprintf(stderr, "barge validate: %s\n", obj ? e.msg : "out of memory");
		rc = EXIT_USAGE;
		goto out;
	}
	adv = advice_new(m.fam, m.model);
	if (!adv) {
		fprintf(stderr, "barge validate: out of memory\n");
		rc = EXIT_FAILED;
		goto out;
	}
	vo.fam = m.fam;
	vo.lim = &cfg.limits;
	vo.job_id = "";
	vo.keep_invalid = true;
	vo.enforce_limits = false;
	vo.on_record = advice_on_record;
	vo.ud = adv;
	if (validate_inputs(obj, inputs, n_inputs, &vo, &res, &e)) {
		fprintf(stderr, "barge validate: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto out;
	}
	/* Advice is a bonus: without it the validation still stands. */
	if (advice_finish(adv, inputs, &e))
		fprintf(stderr, "barge validate: no advice: %s\n", e.msg);
	rc = res.n_bad || res.limit_msg[0] ? EXIT_FAILED : 0;
	if (json) {
		buf_printf(&b, "{\"valid\":%s,\"modelId\":", rc ? "false" : "true");
		buf_put_json_cstr(&b, m.model->id);
		buf_printf(&b, ",\"family\":\"%s\",\"totalRecordCount\":%lld,\"validRecordCount\":%lld,"
			       "\"invalidRecordCount\":%lld,\"inputs\":[",
			   m.fam->name, (long long)res.total, (long long)(res.total - res.n_bad),
			   (long long)res.n_bad);
		for (size_t i = 0; i < n_inputs; i++) {
			buf_puts(&b, i ? ",{\"uri\":" : "{\"uri\":");
			buf_put_json_cstr(&b, inputs[i].uri);
			buf_printf(&b, ",\"bytes\":%llu,\"records\":%lld}",
				   (unsigned long long)inputs[i].size, (long long)inputs[i].records);
		}
		buf_puts(&b, "],\"problems\":[");
		for (size_t i = 0; i < res.n_invalid; i++) {
			buf_puts(&b, i ? ",{\"uri\":" : "{\"uri\":");
			buf_put_json_cstr(&b, inputs[res.invalid[i].input_idx].uri);
			buf_printf(&b, ",\"line\":%llu,\"message\":",
				   (unsigned long long)res.invalid[i].line_no);
			buf_put_json_cstr(&b, res.invalid[i].message);
			buf_putc(&b, '}');
		}
		buf_puts(&b, "],\"limit\":");
		if (res.limit_msg[0])
			buf_put_json_cstr(&b, res.limit_msg);
		else
			buf_puts(&b, "null");
		buf_puts(&b, ",\"advice\":");
		advice_put_json(adv, inputs, &b);
		buf_puts(&b, "}\n");
	} else {
		char t[32], bad[32];

		for (size_t i = 0; i < res.n_invalid; i++)
			buf_printf(&b, "%s\n", res.invalid[i].message);
		if (res.limit_msg[0])
			buf_printf(&b, "limit: %s\n", res.limit_msg);
		buf_fmt_int(t, sizeof(t), res.total);
		buf_fmt_int(bad, sizeof(bad), res.n_bad);
		buf_printf(&b, "%s records in %zu input%s for %s (%s): %s invalid\n", t, n_inputs,
			   n_inputs == 1 ? "" : "s", m.model->id, m.fam->name, bad);
		advice_put_text(adv, &b);
	}
	fwrite(b.data, 1, b.len, stdout);
out:
	advice_free(adv);
	val_result_free(&res);
	job_inputs_free(inputs, n_inputs);
	objects_free(obj);
	config_free(&cfg);
	buf_free(&b);
	return rc;
}
