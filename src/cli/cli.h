/* cli.h - what the commands share: config, model resolution, printing. */
#ifndef BARGE_CLI_H
#define BARGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/runner.h"
#include "formats/format.h"
#include "util/config.h"
#include "util/err.h"

/* Exit statuses (DESIGN.md "Command line"). */
enum {
	EXIT_COMPLETED = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_STOPPED = 3
};

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_sim_server(int argc, char **argv);
/* The client commands of a barge server (jobs.c, over client.c). */
int cmd_submit(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_results(int argc, char **argv);

/* cli_usage prints "barge CMD: message" and a hint, and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * cli_load_config loads --config (or $BARGE_CONFIG when the flag is absent)
 * over the built-in catalog. On failure it prints why and returns EXIT_USAGE.
 */
int cli_load_config(const char *cmd, const char *path, struct config *c);

/* What a model id resolves to. */
struct model_ref {
	const struct model_cfg *model;
	const struct family *fam;
	const struct backend_cfg *backend;
	const char *invocation_type; /* "InvokeModel" or "Converse" */
};

/*
 * cli_resolve_model finds model id in c and its family and backend;
 * invocation_type "Converse" selects the converse family whatever the
 * model's own. On failure e says what to do.
 */
int cli_resolve_model(const struct config *c, const char *id, const char *invocation_type,
		      struct model_ref *out, struct err *e);

/*
 * cli_split_listen reads "HOST:PORT" (or "[IPv6]:PORT") into host and port;
 * on a malformed value it prints why for command cmd and returns EXIT_USAGE.
 */
int cli_split_listen(const char *cmd, const char *arg, char *host, size_t hostsz,
		     unsigned *port);

/* cli_fmt_int writes v with thousands separators ("50,000"). */
void cli_fmt_int(char *out, size_t n, int64_t v);

/* Progress display on stderr: a redrawn bar on a terminal, lines otherwise. */
struct progress {
	bool enabled;
	bool tty;
	int64_t last_ms;
	int64_t interval_ms;
	bool drawn;
};
void progress_init(struct progress *p, bool enabled);
void progress_update(void *ud, const struct run_progress *rp);
/* progress_end clears the bar so that the summary starts on a clean line. */
void progress_end(struct progress *p);

#endif
