/* simserver.c - `barge sim-server`: the simulator as an OpenAI, Anthropic and Bedrock server. */
#include "api/http.h"
#include "backends/simhttp.h"
#include "cli/cli.h"
#include "util/log.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: barge sim-server --listen HOST:PORT [--ttft-ms N] [--itl-ms N]\n"
	"          [--max-seqs N] [--fail-rate F] [--fail-types LIST] [--seed N]\n"
	"          [--retry-after-s N] [--output-tokens N] [--hang-ms N] [--config FILE]\n"
	"          [--api-key KEY]\n"
	"          [--max-body-bytes N] [--threads N] [--max-connections N]\n"
	"\n"
	"Serves the built-in simulator over HTTP, so that barge's remote backends and\n"
	"any OpenAI, Anthropic or Bedrock client can be tested without a real model.\n"
	"Every generated text starts with \"[simulated]\" and depends only on the\n"
	"request body and the seed.\n"
	"\n"
	"Endpoints:\n"
	"  POST /v1/chat/completions, /v1/completions, /v1/embeddings (also without /v1)\n"
	"  POST /v1/messages                      Anthropic Messages\n"
	"  POST /model/{modelId}/invoke           Bedrock InvokeModel, the model's native body\n"
	"  POST /model/{modelId}/converse         Bedrock Converse\n"
	"  GET  /stats, POST /stats/reset, GET /healthz\n"
	"\n"
	"Options:\n"
	"  --listen HOST:PORT    address to serve; port 0 picks a free port. The first\n"
	"                        line on stdout is always \"listening on HOST:PORT\"\n"
	"  --ttft-ms N           time to the first token of each answer (default 0)\n"
	"  --itl-ms N            time per further output token (default 0); an answer\n"
	"                        is sent after ttft + itl x output tokens\n"
	"  --max-seqs N          at most N answers generated at once; a request beyond\n"
	"                        that is answered 429 at once with Retry-After\n"
	"                        (default 0: unlimited)\n"
	"  --fail-rate F         share of requests that fail, 0..1 (default 0)\n"
	"  --fail-types LIST     faults to draw from: 429,500,503,timeout,reset,\n"
	"                        malformed,truncated (default 429,500,503,timeout,reset,\n"
	"                        malformed). timeout holds the request for --hang-ms\n"
	"                        then closes it; reset closes it at once; malformed is\n"
	"                        a 200 whose body is not JSON; truncated is a 200\n"
	"                        whose body stops halfway\n"
	"  --seed N              seed of the texts and the faults (default 1); the\n"
	"                        n-th arrival of the same request body meets the same\n"
	"                        fault for the same seed, whatever the timing\n"
	"  --retry-after-s N     Retry-After of 429 answers (default 1)\n"
	"  --output-tokens N     every answer has N tokens (at most max_tokens); by\n"
	"                        default 8 to 127, depending on the request\n"
	"  --hang-ms N           how long a timeout fault holds its request\n"
	"                        (default 600000)\n"
	"  --config FILE         configuration whose [model.*] sections add Bedrock\n"
	"                        model ids and their families (default: $BARGE_CONFIG,\n"
	"                        else the built-in catalog only)\n"
	"  --aws-access-key-id ID --aws-secret-access-key SECRET\n"
	"                        require a valid SigV4 signature (service bedrock) on\n"
	"                        Bedrock requests, made with these credentials\n"
	"  --api-key KEY         require \"Authorization: Bearer KEY\" or \"x-api-key: KEY\";\n"
	"                        anything else is answered 401\n"
	"  --max-body-bytes N    largest request body; a larger one is answered 413\n"
	"                        (default 16777216)\n"
	"  --threads N           HTTP polling threads (default 2)\n"
	"  --max-connections N   connections open at once (default 1024)\n"
	"\n"
	"GET /stats answers {\"requests\", \"by_status\": {\"200\": n, ...}, \"faults\":\n"
	"{\"429\", \"500\", \"503\", \"timeout\", \"reset\", \"malformed\", \"truncated\"},\n"
	"\"rejected_over_max_seqs\", \"in_flight\", \"max_in_flight\", \"by_path\": {path: n},\n"
	"\"tokens\": {\"input\", \"output\"}, \"arrivals_ms\": [ms since start of each request,\n"
	"the first 200000]}. POST /stats/reset zeroes it. SIGTERM or SIGINT stop the\n"
	"server; the exit status is then 0.\n";

/* sim_parse_i64 reads a whole decimal integer within lo..hi for the flag named flag. */
static int sim_parse_i64(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return cli_usage("sim-server", "%s needs a whole number from %lld to %lld, not \"%s\"",
				 flag, (long long)lo, (long long)hi, s);
	*out = v;
	return 0;
}

/* The options of one run, before they become the server's and simulator's. */
struct sim_args {
	const char *listen;
	const char *config;
	const char *api_key;
	const char *aws_key_id;
	const char *aws_secret;
	struct backend_cfg sim;
	int64_t hang_ms;
	int64_t max_body;
	int64_t threads;
	int64_t max_connections;
};

static int sim_parse_args(int argc, char **argv, struct sim_args *a, bool *help)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"ttft-ms", required_argument, NULL, 't'},
		{"itl-ms", required_argument, NULL, 'i'},
		{"max-seqs", required_argument, NULL, 'm'},
		{"fail-rate", required_argument, NULL, 'r'},
		{"fail-types", required_argument, NULL, 'f'},
		{"seed", required_argument, NULL, 's'},
		{"retry-after-s", required_argument, NULL, 'a'},
		{"output-tokens", required_argument, NULL, 'o'},
		{"hang-ms", required_argument, NULL, 'g'},
		{"config", required_argument, NULL, 'c'},
		{"api-key", required_argument, NULL, 'k'},
		{"aws-access-key-id", required_argument, NULL, 'A'},
		{"aws-secret-access-key", required_argument, NULL, 'S'},
		{"max-body-bytes", required_argument, NULL, 'b'},
		{"threads", required_argument, NULL, 'T'},
		{"max-connections", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int64_t v;
	char *end;
	struct err e;
	int c;

	memset(a, 0, sizeof(*a));
	config_backend_defaults(&a->sim, BK_SIM);
	strcpy(a->sim.name, "sim-server");
	a->hang_ms = 600000;
	a->max_body = (int64_t)HTTP_DEFAULT_MAX_BODY;
	a->threads = HTTP_DEFAULT_THREADS;
	*help = false;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': a->listen = optarg; break;
		case 'c': a->config = optarg; break;
		case 'k': a->api_key = optarg; break;
		case 'A': a->aws_key_id = optarg; break;
		case 'S': a->aws_secret = optarg; break;
		case 't':
			if (sim_parse_i64("--ttft-ms", optarg, 0, 3600000, &v))
				return EXIT_USAGE;
			a->sim.ttft_ms = (int)v;
			break;
		case 'i':
			if (sim_parse_i64("--itl-ms", optarg, 0, 60000, &v))
				return EXIT_USAGE;
			a->sim.itl_ms = (int)v;
			break;
		case 'm':
			if (sim_parse_i64("--max-seqs", optarg, 0, 1000000, &v))
				return EXIT_USAGE;
			a->sim.max_seqs = (int)v;
			break;
		case 'r':
			errno = 0;
			a->sim.fail_rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(a->sim.fail_rate >= 0) ||
			    a->sim.fail_rate > 1)
				return cli_usage("sim-server", "--fail-rate needs a number from 0 to 1, "
							       "not \"%s\"", optarg);
			break;
		case 'f':
			err_init(&e);
			if (config_parse_fail_types(optarg, &a->sim.fail_types, &e))
				return cli_usage("sim-server", "--fail-types: %s", e.msg);
			break;
		case 's':
			errno = 0;
			a->sim.seed = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-')
				return cli_usage("sim-server", "--seed needs a whole number, not \"%s\"",
						 optarg);
			break;
		case 'a':
			if (sim_parse_i64("--retry-after-s", optarg, 0, 86400, &v))
				return EXIT_USAGE;
			a->sim.retry_after_s = (int)v;
			break;
		case 'o':
			if (sim_parse_i64("--output-tokens", optarg, 1, 1000000, &v))
				return EXIT_USAGE;
			a->sim.output_tokens = (int)v;
			break;
		case 'g':
			if (sim_parse_i64("--hang-ms", optarg, 1, 86400000, &v))
				return EXIT_USAGE;
			a->hang_ms = v;
			break;
		case 'b':
			if (sim_parse_i64("--max-body-bytes", optarg, 1, (int64_t)1 << 32, &v))
				return EXIT_USAGE;
			a->max_body = v;
			break;
		case 'C':
			if (sim_parse_i64("--max-connections", optarg, 1, 1000000, &v))
				return EXIT_USAGE;
			a->max_connections = v;
			break;
		case 'T':
			if (sim_parse_i64("--threads", optarg, 1, 256, &v))
				return EXIT_USAGE;
			a->threads = v;
			break;
		case 'h':
			*help = true;
			return 0;
		default:
			return cli_usage("sim-server", "unknown option or missing value: %s",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("sim-server", "unexpected argument %s", argv[optind]);
	if (!a->listen)
		return cli_usage("sim-server", "--listen HOST:PORT is required (port 0 picks one)");
	if (a->api_key && !*a->api_key)
		return cli_usage("sim-server", "--api-key must not be empty");
	if (!a->aws_key_id != !a->aws_secret)
		return cli_usage("sim-server",
				 "--aws-access-key-id and --aws-secret-access-key go together");
	return 0;
}

int cmd_sim_server(int argc, char **argv)
{
	struct sim_args a;
	struct http_server_opts ho;
	struct http_server srv;
	struct simhttp sim;
	struct simhttp_opts so;
	struct config cfg;
	bool help, cfg_loaded = false, sim_ready = false, srv_ready = false;
	sigset_t stop_sigs;
	struct err e;
	int rc, sig;

	rc = sim_parse_args(argc, argv, &a, &help);
	if (rc)
		return rc;
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	http_server_opts_default(&ho);
	if (cli_split_listen("sim-server", a.listen, ho.host, sizeof(ho.host), &ho.port))
		return EXIT_USAGE;
	ho.max_body_bytes = (size_t)a.max_body;
	ho.threads = (unsigned)a.threads;
	if (a.max_connections)
		ho.max_connections = (unsigned)a.max_connections;
	if ((rc = cli_load_config("sim-server", a.config, &cfg)))
		return rc;
	cfg_loaded = true;

	/*
	 * The stop signals are blocked before any thread starts, so that every
	 * thread inherits the mask and only sigwait below receives them.
	 */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	err_init(&e);
	memset(&so, 0, sizeof(so));
	so.sim = a.sim;
	so.hang_ms = a.hang_ms;
	so.api_key = a.api_key;
	so.aws_access_key_id = a.aws_key_id;
	so.aws_secret_access_key = a.aws_secret;
	so.conf = &cfg;
	rc = simhttp_init(&sim, &so, &e);
	if (rc)
		goto fail;
	sim_ready = true;
	rc = simhttp_start(&sim, &e);
	if (rc)
		goto fail;
	rc = http_server_init(&srv, &ho, simhttp_handle, &sim, &e);
	if (rc)
		goto fail;
	srv_ready = true;
	rc = http_server_start(&srv, &e);
	if (rc)
		goto fail;
	printf("listening on %s:%u\n", ho.host, http_server_port(&srv));
	fflush(stdout);
	log_info("sim-server: ttft %d ms, itl %d ms, max_seqs %d, fail_rate %g, seed %llu",
		 a.sim.ttft_ms, a.sim.itl_ms, a.sim.max_seqs, a.sim.fail_rate,
		 (unsigned long long)a.sim.seed);

	do {
		rc = sigwait(&stop_sigs, &sig);
	} while (rc == EINTR);
	log_info("sim-server: stopping on signal %d", sig);
	rc = 0;
	/* Held answers are closed first, since the HTTP server waits for every answer. */
	simhttp_stop(&sim);
	http_server_stop(&srv);
fail:
	if (rc)
		fprintf(stderr, "barge sim-server: %s\n", e.msg);
	if (srv_ready) {
		simhttp_stop(&sim);
		http_server_free(&srv);
	}
	if (sim_ready)
		simhttp_free(&sim);
	if (cfg_loaded)
		config_free(&cfg);
	return rc ? EXIT_FAILED : 0;
}
