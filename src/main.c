/* main.c - barge's entry point: dispatches argv to a command. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#define BARGE_VERSION "0.1.0"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
};

static const struct command commands[] = {
	{"run", cmd_run, "run a batch job on this machine (resumable)"},
	{"validate", cmd_validate, "check input files: every problem with file:line"},
	{"estimate", cmd_estimate, "predict tokens and cost, on-demand vs batch"},
	{"models", cmd_models, "list the configured models, families and prices"},
	{"serve", cmd_serve, "the Bedrock batch job API with its scheduler and runners"},
	{"worker", cmd_worker, "runners only, sharing a server's jobs through PostgreSQL"},
	{"sim-server", cmd_sim_server, "serve the simulator as an OpenAI/Anthropic/Bedrock server"},
	{"submit", cmd_submit, "submit a batch job to a barge server"},
	{"get", cmd_get, "show a job of a barge server"},
	{"list", cmd_list, "list the jobs of a barge server"},
	{"stop", cmd_stop, "stop a job of a barge server"},
	{"wait", cmd_wait, "wait for a job of a barge server to end, with progress"},
	{"results", cmd_results, "print or download a finished job's output lines"},
	{"retry", cmd_retry, "a follow-up job of a job's failed (or unprocessed) records"},
	{"split", cmd_split, "cut an input into parts that each fit one job"},
	{"report", cmd_report, "a finished job's max_tokens use and its cost on other models"},
	{"compact", cmd_compact, "remove redundant whitespace from prompts, show the savings"},
};

static void print_help(FILE *f)
{
	fprintf(f, "barge %s - batch inference on your own machines\n\n", BARGE_VERSION);
	fprintf(f, "usage: barge COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n'barge COMMAND --help' explains a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		if (argc >= 3 && !strcmp(argv[1], "help")) {
			char *sub[] = {argv[2], "--help", NULL};

			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (!strcmp(commands[i].name, argv[2]))
					return commands[i].fn(2, sub);
		}
		print_help(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("barge %s\n", BARGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(commands[i].name, argv[1]))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "barge: unknown command \"%s\"\n\n", argv[1]);
	print_help(stderr);
	return EXIT_USAGE;
}
