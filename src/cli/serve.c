/* serve.c - the server processes: `barge serve` (job API, lifecycle, runners) and `barge worker` (runners). */
#include "api/anthropic.h"
#include "api/bedrock.h"
#include "api/openai.h"
#include "api/http.h"
#include "api/metrics.h"
#include "cli/cli.h"
#include "core/scheduler.h"
#include "core/service.h"
#include "objects/objects.h"
#include "util/log.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The control plane takes small bodies: a Create request is a few hundred bytes. */
#define SERVE_MAX_BODY ((size_t)1 << 20)

static const char usage[] =
	"usage: barge serve [--config FILE] [--listen HOST:PORT]\n"
	"\n"
	"Runs the Bedrock batch job API (CreateModelInvocationJob, Get..., List...,\n"
	"Stop...) with the scheduler and the runners that carry jobs out, in one\n"
	"process. Existing Bedrock clients work by pointing their endpoint at it.\n"
	"Requests are SigV4-signed with the access keys of the [account.*] sections;\n"
	"each account sees only its own jobs and may only read and write under its\n"
	"allowed_uris. State lives in [server] store (default\n"
	"sqlite:<data>/barge.db); a restart resumes every job.\n"
	"\n"
	"options:\n"
	"  --config FILE      configuration (default: $BARGE_CONFIG)\n"
	"  --listen HOST:PORT where to listen (default: [server] listen, 127.0.0.1:8080);\n"
	"                     port 0 picks a free port\n"
	"  -h, --help         this help\n"
	"\n"
	"The first line on stdout is \"listening on HOST:PORT\". GET /healthz answers\n"
	"when the server is up; GET /metrics gives Prometheus metrics. SIGTERM or\n"
	"SIGINT stop the server; jobs in progress go on at the next start.\n";

static const char worker_usage[] =
	"usage: barge worker [--config FILE] [--runners N]\n"
	"\n"
	"Runs runners only: they take chunks of the jobs in progress from the\n"
	"PostgreSQL store ([server] store = postgres://...) that a `barge serve`\n"
	"shares, call the models and write each finished chunk to the job's\n"
	"output location, which must be one every process reaches (S3, or a\n"
	"shared file system). Start as many workers, on as many machines, as the\n"
	"backends can keep busy. A worker that dies (kill -9, a lost machine)\n"
	"holds its chunks for [server] lease_seconds (default 60); then any other\n"
	"runner redoes them, and no record is counted or billed twice.\n"
	"\n"
	"options:\n"
	"  --config FILE      configuration (default: $BARGE_CONFIG): the same models,\n"
	"                     backends, [storage.s3] and [server] store as the server's\n"
	"  --runners N        runner threads (default: [server] runners, 2)\n"
	"  -h, --help         this help\n"
	"\n"
	"The first line on stdout is \"worker ready: N runners\". SIGTERM or SIGINT\n"
	"stop the worker: its chunks go back to pending for the other runners.\n";

struct server {
	struct service svc;
	atomic_llong api_requests;
};

/* The parts of a server process that serve and worker set up alike. */
struct proc {
	struct config cfg;
	bool cfg_loaded;
	struct objects *obj;
	struct store *st;
	char data[PATH_MAX];
	char store_url[PATH_MAX + 16];
	char shown_url[PATH_MAX + 16]; /* store_url without its password, for logs */
	bool exclusive;                /* a SQLite store: this process is its only user */
};

/*
 * proc_open loads the configuration, makes the data directory, and opens
 * the object stores and the store. Returns 0 or an exit status after
 * saying why on stderr; either way the caller calls proc_close.
 */
static int proc_open(const char *cmd, const char *config, struct proc *p)
{
	struct err e;
	int rc;

	if ((rc = cli_load_config(cmd, config, &p->cfg)))
		return rc;
	p->cfg_loaded = true;
	if (log_get_level() > LOG_INFO)
		log_set_level(LOG_INFO);
	if (!realpath(p->cfg.server.data, p->data)) {
		err_init(&e);
		if (!objects_mkdirs(p->cfg.server.data, &e) && !realpath(p->cfg.server.data, p->data))
			err_set(&e, ERR_IO, "%s: %s", p->cfg.server.data, strerror(errno));
		if (e.msg[0]) {
			fprintf(stderr, "barge %s: cannot create the data directory: %s\n", cmd,
				e.msg);
			return EXIT_USAGE;
		}
	}
	if (p->cfg.server.store)
		snprintf(p->store_url, sizeof(p->store_url), "%s", p->cfg.server.store);
	else
		snprintf(p->store_url, sizeof(p->store_url), "sqlite:%s/barge.db", p->data);
	store_url_shown(p->store_url, p->shown_url, sizeof(p->shown_url));
	p->exclusive = strncmp(p->store_url, "postgres://", 11) &&
		       strncmp(p->store_url, "postgresql://", 13);
	if (!(p->obj = objects_new(&p->cfg.s3))) {
		fprintf(stderr, "barge %s: out of memory\n", cmd);
		return EXIT_FAILED;
	}
	if (store_open(p->store_url, &p->st, &e)) {
		fprintf(stderr, "barge %s: %s\n", cmd, e.msg);
		return EXIT_USAGE;
	}
	return 0;
}

static void proc_close(struct proc *p)
{
	store_close(p->st);
	objects_free(p->obj);
	if (p->cfg_loaded)
		config_free(&p->cfg);
}

/*
 * block_stop_signals blocks SIGTERM and SIGINT before any thread starts, so
 * that every thread inherits the mask and only sigwait receives them.
 */
static void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void handle(void *ud, struct http_request *req)
{
	struct server *S = ud;
	struct http_header text[] = {{"Content-Type", "text/plain; version=0.0.4"}};
	struct http_header json[] = {{"Content-Type", "application/json"}};

	atomic_fetch_add(&S->api_requests, 1);
	if (!strcmp(req->path, "/healthz")) {
		http_reply(req, 200, json, 1, "{\"status\":\"ok\"}", 15);
		return;
	}
	if (!strcmp(req->path, "/metrics") && !strcmp(req->method, "GET")) {
		struct buf b;
		struct err e;

		buf_init(&b, (size_t)16 << 20);
		if (metrics_render(&S->svc, atomic_load(&S->api_requests), &b, &e))
			bedrock_reply_error(req, 500, "InternalServerException", e.msg);
		else
			http_reply(req, 200, text, 1, b.data, b.len);
		buf_free(&b);
		return;
	}
	if (anthropic_handle(&S->svc, req) || openai_handle(&S->svc, req))
		return;
	if (!bedrock_handle(&S->svc, req))
		bedrock_reply_error(req, 404, "UnknownOperationException",
				    "no operation lives at this path");
}

/* body_limit lets the data plane take larger bodies than the control plane. */
static size_t body_limit(void *ud, const struct http_request *req)
{
	size_t n = anthropic_body_limit(req);

	if (!n)
		n = openai_body_limit(req);

	(void)ud;
	return n ? n : SERVE_MAX_BODY;
}

static void warn_accounts(const struct config *c)
{
	size_t keyed = 0;

	for (size_t i = 0; i < c->n_accounts; i++) {
		const struct account_cfg *a = &c->accounts[i];
		bool sigv4 = a->access_key_id && a->secret_access_key;

		if (sigv4 || a->api_key)
			keyed++;
		else
			log_warn("account %s has neither access_key_id and secret_access_key (Bedrock "
				 "API) nor api_key (Anthropic API): no request can be its (a *_env "
				 "variable may be unset)",
				 a->name);
		if (sigv4 && !a->n_allowed_uris)
			log_warn("account %s has no allowed_uris: every Bedrock job it submits will be "
				 "refused",
				 a->name);
	}
	if (!keyed)
		log_warn("no account can make requests: add [account.NAME] sections with "
			 "access_key_id and secret_access_key, or api_key");
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *listen = NULL;
	struct server *S = NULL;
	struct proc p;
	struct scheduler *sched = NULL;
	struct scheduler_opts so;
	struct http_server srv;
	struct http_server_opts ho;
	bool srv_ready = false, svc_ready = false;
	sigset_t stop_sigs;
	struct err e;
	int c, rc, sig;

	memset(&p, 0, sizeof(p));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'l': listen = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_usage("serve", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("serve", "unexpected argument %s", argv[optind]);
	if ((rc = proc_open("serve", config, &p)))
		goto out;
	http_server_opts_default(&ho);
	ho.max_body_bytes = SERVE_MAX_BODY;
	ho.body_limit = body_limit;
	rc = cli_split_listen("serve", listen ? listen : p.cfg.server.listen, ho.host,
			      sizeof(ho.host), &ho.port);
	if (rc)
		goto out;
	if (p.exclusive && p.cfg.server.runners == 0) {
		fprintf(stderr, "barge serve: [server] runners = 0 leaves the work to `barge worker`s, "
				"which need a PostgreSQL store ([server] store = postgres://...); "
				"with %s no job would ever run\n", p.shown_url);
		rc = EXIT_USAGE;
		goto out;
	}
	warn_accounts(&p.cfg);
	if (!(S = calloc(1, sizeof(*S)))) {
		rc = EXIT_FAILED;
		goto out;
	}
	if (service_init(&S->svc, &p.cfg, p.st, p.obj, p.data, &e)) {
		fprintf(stderr, "barge serve: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	svc_ready = true;
	block_stop_signals(&stop_sigs);
	so = (struct scheduler_opts){.runners = p.cfg.server.runners, .lifecycle = true,
				     .exclusive = p.exclusive, .role = "serve"};
	if (scheduler_start(&S->svc, &so, &sched, &e) ||
	    http_server_init(&srv, &ho, handle, S, &e)) {
		fprintf(stderr, "barge serve: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto out;
	}
	srv_ready = true;
	if (http_server_start(&srv, &e)) {
		fprintf(stderr, "barge serve: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto out;
	}
	printf("listening on %s:%u\n", ho.host, http_server_port(&srv));
	fflush(stdout);
	log_info("barge serve: data %s, store %s, %d runners", p.data, p.shown_url,
		 p.cfg.server.runners);
	sigwait(&stop_sigs, &sig);
	log_info("barge serve: stopping (signal %d)", sig);
	rc = 0;
out:
	if (srv_ready)
		http_server_free(&srv);
	scheduler_stop(sched);
	if (svc_ready)
		service_free(&S->svc);
	free(S);
	proc_close(&p);
	return rc;
}

int cmd_worker(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"runners", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	struct proc p;
	struct service svc;
	struct scheduler *sched = NULL;
	struct scheduler_opts so;
	bool svc_ready = false;
	long runners = -1;
	char *end;
	sigset_t stop_sigs;
	struct err e;
	int c, rc, sig;

	memset(&p, 0, sizeof(p));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'r':
			errno = 0;
			runners = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || runners < 1 || runners > 64)
				return cli_usage("worker", "--runners takes a number from 1 to 64, "
							   "not \"%s\"", optarg);
			break;
		case 'h': fputs(worker_usage, stdout); return 0;
		default: return cli_usage("worker", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("worker", "unexpected argument %s", argv[optind]);
	if ((rc = proc_open("worker", config, &p)))
		goto out;
	if (p.exclusive) {
		fprintf(stderr, "barge worker: the store %s is SQLite, which one process uses alone; "
				"workers share jobs through PostgreSQL: set [server] store = "
				"postgres://... in the configuration of the server and of every worker\n",
			p.shown_url);
		rc = EXIT_USAGE;
		goto out;
	}
	if (runners < 0)
		runners = p.cfg.server.runners;
	if (runners < 1) {
		fprintf(stderr, "barge worker: [server] runners = 0 leaves this worker nothing to do: "
				"pass --runners N\n");
		rc = EXIT_USAGE;
		goto out;
	}
	if (service_init(&svc, &p.cfg, p.st, p.obj, p.data, &e)) {
		fprintf(stderr, "barge worker: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	svc_ready = true;
	block_stop_signals(&stop_sigs);
	so = (struct scheduler_opts){.runners = (int)runners, .role = "worker"};
	if (scheduler_start(&svc, &so, &sched, &e)) {
		fprintf(stderr, "barge worker: %s\n", e.msg);
		rc = EXIT_FAILED;
		goto out;
	}
	printf("worker ready: %ld runners\n", runners);
	fflush(stdout);
	log_info("barge worker: data %s, store %s, %ld runners", p.data, p.shown_url, runners);
	sigwait(&stop_sigs, &sig);
	log_info("barge worker: stopping (signal %d)", sig);
	rc = 0;
out:
	scheduler_stop(sched);
	if (svc_ready)
		service_free(&svc);
	proc_close(&p);
	return rc;
}
