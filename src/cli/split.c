/* split.c - `barge split`: an input cut into parts that each fit one job. */
#include "cli/cli.h"
#include "core/split.h"
#include "util/buf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: barge split INPUT --records N | --bytes B [-o DIR|PREFIX] [--config FILE]\n"
	"\n"
	"Cuts INPUT (a .jsonl file or an s3:// object) into parts of at most N\n"
	"records and at most B bytes each, so that each part can run as a job of\n"
	"its own: smaller jobs give partial results sooner and fail alone. Every\n"
	"part also stays within the configuration's [limits] max_records_per_job\n"
	"and max_file_bytes. Records are copied byte for byte, in order, with their\n"
	"line endings; blank lines are dropped. Lines are not checked: run\n"
	"`barge validate` on the parts for that.\n"
	"\n"
	"Parts are named after the input without its .jsonl: data/in.jsonl gives\n"
	"data/in.part-0001.jsonl, data/in.part-0002.jsonl, ... (at most 9,999).\n"
	"\n"
	"options:\n"
	"  --records N            at most N records per part\n"
	"  --bytes B              at most B bytes per part (with line endings);\n"
	"                         both may be given\n"
	"  -o, --output DIR|PREFIX  where the parts go: a directory (an existing one,\n"
	"                         or any path or s3:// prefix ending in '/') gets\n"
	"                         DIR/in.part-0001.jsonl; anything else is the start\n"
	"                         of the names: -o /tmp/x gives /tmp/x.part-0001.jsonl\n"
	"                         (default: next to INPUT)\n"
	"  --config FILE          configuration: [limits] and [storage.s3] (default:\n"
	"                         $BARGE_CONFIG, else built-ins)\n"
	"  -h, --help             this help\n"
	"\n"
	"It prints each part with its records and bytes, then a summary. A record\n"
	"longer than a part may be, or than max_line_bytes, stops the split with\n"
	"its line number, and the parts written so far are removed.\n"
	"\n"
	"exit status: 0 split, 1 the input could not be read or split, 2 usage or\n"
	"configuration error.\n";

/* split_parse_size reads a whole number of at least 1 for flag. */
static int split_parse_size(const char *flag, const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v || *end || x < 1 || v[0] == '-')
		return cli_usage("split", "%s needs a whole number of at least 1, not \"%s\"", flag,
				 v);
	*out = x;
	return 0;
}

static void split_print_part(void *ud, const struct split_part *p)
{
	char r[32], b[32];

	(void)ud;
	buf_fmt_int(r, sizeof(r), (int64_t)p->records);
	buf_fmt_int(b, sizeof(b), (int64_t)p->bytes);
	printf("%s  %s record%s  %s bytes\n", p->uri, r, p->records == 1 ? "" : "s", b);
	fflush(stdout);
}

int cmd_split(int argc, char **argv)
{
	static const struct option opts[] = {
		{"records", required_argument, NULL, 'r'},
		{"bytes", required_argument, NULL, 'b'},
		{"output", required_argument, NULL, 'o'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *input;
	struct split_opts so = {0};
	struct split_result res;
	struct config cfg;
	struct objects *obj = NULL;
	struct err e;
	char r[32], b[32], lr[32], lb[32];
	int c, rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&res, 0, sizeof(res));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if ((rc = split_parse_size("--records", optarg, &so.max_records)))
				return rc;
			break;
		case 'b':
			if ((rc = split_parse_size("--bytes", optarg, &so.max_bytes)))
				return rc;
			break;
		case 'o':
			if (!*optarg)
				return cli_usage("split", "-o needs a directory (ending in /) or a name "
							  "prefix, not an empty string");
			so.out = optarg;
			break;
		case 'c': config = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("split", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage("split", "give the INPUT file to split");
	if (optind + 1 < argc)
		return cli_usage("split", "split takes one INPUT, not \"%s\" too (split each alone)",
				 argv[optind + 1]);
	if (!so.max_records && !so.max_bytes)
		return cli_usage("split", "give --records N or --bytes B (or both): how large a "
					  "part may be");
	input = argv[optind];
	if ((rc = cli_load_config("split", config, &cfg)))
		return rc;
	obj = objects_new(&cfg.s3);
	if (!obj) {
		fprintf(stderr, "barge split: out of memory\n");
		rc = EXIT_FAILED;
		goto out;
	}
	so.lim = &cfg.limits;
	so.on_part = split_print_part;
	if (split_input(obj, input, &so, &res, &e)) {
		fprintf(stderr, "barge split: %s\n", e.msg);
		if (res.n_parts)
			fprintf(stderr, "barge split: the %zu part%s written so far %s removed\n",
				res.n_parts, res.n_parts == 1 ? "" : "s", res.n_parts == 1 ? "was" : "were");
		rc = EXIT_FAILED;
		goto out;
	}
	buf_fmt_int(r, sizeof(r), (int64_t)res.records);
	buf_fmt_int(b, sizeof(b), (int64_t)res.bytes);
	printf("split %s: %s records (%s bytes) into %zu part%s", input, r, b, res.n_parts,
	       res.n_parts == 1 ? "" : "s");
	if (res.max_records != UINT64_MAX && res.max_bytes != UINT64_MAX) {
		buf_fmt_int(lr, sizeof(lr), (int64_t)res.max_records);
		buf_fmt_int(lb, sizeof(lb), (int64_t)res.max_bytes);
		printf(" of at most %s records and %s bytes\n", lr, lb);
	} else {
		printf("\n");
	}
	if (res.stale_removed)
		printf("removed %zu part%s after part %04zu left by an earlier split of this input\n",
		       res.stale_removed, res.stale_removed == 1 ? "" : "s", res.n_parts);
	rc = 0;
out:
	split_result_free(&res);
	objects_free(obj);
	config_free(&cfg);
	return rc;
}
