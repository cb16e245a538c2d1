/* serve.c - `barge serve`: the job API, the scheduler and the runners in one process. */
#include "api/bedrock.h"
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

struct server {
	struct service svc;
	atomic_llong api_requests;
};

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
	if (!bedrock_handle(&S->svc, req))
		bedrock_reply_error(req, 404, "UnknownOperationException",
				    "no operation lives at this path");
}

static void warn_accounts(const struct config *c)
{
	size_t keyed = 0;

	for (size_t i = 0; i < c->n_accounts; i++) {
		const struct account_cfg *a = &c->accounts[i];

		if (a->access_key_id && a->secret_access_key)
			keyed++;
		else
			log_warn("account %s has no access_key_id and secret_access_key: it cannot sign "
				 "requests (a secret_access_key_env variable may be unset)",
				 a->name);
		if (!a->n_allowed_uris)
			log_warn("account %s has no allowed_uris: every job it submits will be refused",
				 a->name);
	}
	if (!keyed)
		log_warn("no account can sign requests: add [account.NAME] sections with "
			 "access_key_id and secret_access_key");
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
	struct config cfg;
	struct objects *obj = NULL;
	struct store *st = NULL;
	struct scheduler *sched = NULL;
	struct http_server srv;
	struct http_server_opts ho;
	bool srv_ready = false, svc_ready = false;
	char data[PATH_MAX], store_url[PATH_MAX + 16];
	sigset_t stop_sigs;
	struct err e;
	int c, rc, sig;

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
	if ((rc = cli_load_config("serve", config, &cfg)))
		return rc;
	if (log_get_level() > LOG_INFO)
		log_set_level(LOG_INFO);
	http_server_opts_default(&ho);
	ho.max_body_bytes = SERVE_MAX_BODY;
	rc = cli_split_listen("serve", listen ? listen : cfg.server.listen, ho.host,
			      sizeof(ho.host), &ho.port);
	if (rc)
		goto out;
	if (!realpath(cfg.server.data, data)) {
		struct err de;

		err_init(&de);
		if (!objects_mkdirs(cfg.server.data, &de) && !realpath(cfg.server.data, data))
			err_set(&de, ERR_IO, "%s: %s", cfg.server.data, strerror(errno));
		if (de.msg[0]) {
			fprintf(stderr, "barge serve: cannot create the data directory: %s\n",
				de.msg);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (cfg.server.store)
		snprintf(store_url, sizeof(store_url), "%s", cfg.server.store);
	else
		snprintf(store_url, sizeof(store_url), "sqlite:%s/barge.db", data);
	warn_accounts(&cfg);
	obj = objects_new(&cfg.s3);
	S = calloc(1, sizeof(*S));
	if (!obj || !S) {
		rc = EXIT_FAILED;
		goto out;
	}
	if (store_open(store_url, &st, &e) || service_init(&S->svc, &cfg, st, obj, data, &e)) {
		fprintf(stderr, "barge serve: %s\n", e.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	svc_ready = true;
	/*
	 * The stop signals are blocked before any thread starts, so that every
	 * thread inherits the mask and only sigwait below receives them.
	 */
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (scheduler_start(&S->svc, cfg.server.runners, &sched, &e) ||
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
	log_info("barge serve: data %s, store %s, %d runners", data, store_url,
		 cfg.server.runners);
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
	store_close(st);
	objects_free(obj);
	config_free(&cfg);
	return rc;
}
