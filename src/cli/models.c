/* models.c - `barge models`: the configured models, families and prices. */
#include "cli/cli.h"
#include "util/buf.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: barge models [--config FILE] [--json]\n"
	"\n"
	"Lists the models barge knows: the built-in catalog and the configuration's\n"
	"[model.*] sections, with family, backend and prices per 1,000 tokens.\n";

int cmd_models(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	bool json = false;
	struct config cfg;
	struct buf b;
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("models", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("models", "unexpected argument %s", argv[optind]);
	if ((rc = cli_load_config("models", config, &cfg)))
		return rc;
	buf_init(&b, 1 << 20);
	if (json)
		buf_puts(&b, "{\"models\":[");
	else
		buf_printf(&b, "%-44s %-20s %-12s %10s %10s %10s %10s\n", "MODEL", "FAMILY", "BACKEND",
			   "IN/1K", "OUT/1K", "BATCH IN", "BATCH OUT");
	for (size_t i = 0; i < cfg.n_models; i++) {
		const struct model_cfg *m = &cfg.models[i];
		const struct backend_cfg *be = config_find_backend(&cfg, m->backend);
		double keep = 1.0 - m->batch_discount;

		if (json) {
			buf_puts(&b, i ? ",{\"modelId\":" : "{\"modelId\":");
			buf_put_json_cstr(&b, m->id);
			buf_puts(&b, ",\"family\":");
			buf_put_json_cstr(&b, m->family);
			buf_puts(&b, ",\"backend\":");
			buf_put_json_cstr(&b, m->backend);
			buf_printf(&b, ",\"backendKind\":\"%s\",\"upstreamModel\":",
				   be ? config_kind_name(be->kind) : "?");
			buf_put_json_cstr(&b, m->upstream[0] ? m->upstream : m->id);
			buf_printf(&b, ",\"inputPricePer1kTokens\":%.8g,\"outputPricePer1kTokens\":%.8g,"
				       "\"batchDiscount\":%.4g,\"builtin\":%s}",
				   m->input_price_per_1k, m->output_price_per_1k, m->batch_discount,
				   m->builtin ? "true" : "false");
		} else {
			buf_printf(&b, "%-44s %-20s %-12s %10.6g %10.6g %10.6g %10.6g\n", m->id, m->family,
				   m->backend, m->input_price_per_1k, m->output_price_per_1k,
				   m->input_price_per_1k * keep, m->output_price_per_1k * keep);
		}
	}
	if (json)
		buf_puts(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	config_free(&cfg);
	return 0;
}
