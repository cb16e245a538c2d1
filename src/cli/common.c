/* common.c - what the commands share: config, model resolution, printing. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "barge %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'barge %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int cli_load_config(const char *cmd, const char *path, struct config *c)
{
	struct err e;

	err_init(&e);
	if (!path || !*path)
		path = getenv("BARGE_CONFIG");
	if (path && !*path)
		path = NULL;
	if (config_load(c, path, &e)) {
		fprintf(stderr, "barge %s: %s\n", cmd, e.msg);
		return EXIT_USAGE;
	}
	return 0;
}

int cli_resolve_model(const struct config *c, const char *id, const char *invocation_type,
		      struct model_ref *out, struct err *e)
{
	const char *fam_name;

	memset(out, 0, sizeof(*out));
	out->model = config_find_model(c, id);
	if (!out->model)
		return err_set(e, ERR_NOTFOUND,
			       "model \"%s\" is not configured: `barge models` lists the models, "
			       "or add a [model.%s] section to the configuration",
			       id, id);
	if (!invocation_type || !strcmp(invocation_type, "InvokeModel")) {
		out->invocation_type = "InvokeModel";
		fam_name = out->model->family;
	} else if (!strcmp(invocation_type, "Converse")) {
		out->invocation_type = "Converse";
		fam_name = "converse";
	} else {
		return err_set(e, ERR_INVAL,
			       "invocation type \"%s\" is not InvokeModel or Converse", invocation_type);
	}
	out->fam = family_by_name(fam_name);
	if (!out->fam)
		return err_set(e, ERR_CONFIG, "model %s has unknown family \"%s\"", id, fam_name);
	out->backend = config_find_backend(c, out->model->backend);
	if (!out->backend)
		return err_set(e, ERR_CONFIG, "model %s names backend \"%s\", which is not configured",
			       id, out->model->backend);
	return 0;
}

int cli_split_listen(const char *cmd, const char *arg, char *host, size_t hostsz,
		     unsigned *port)
{
	const char *colon = strrchr(arg, ':');
	char *end;
	long p;
	size_t n;

	if (!colon || colon == arg)
		return cli_usage(cmd, "--listen needs HOST:PORT, e.g. 127.0.0.1:8080, not \"%s\"", arg);
	n = (size_t)(colon - arg);
	if (n >= hostsz)
		return cli_usage(cmd, "--listen host is too long");
	if (strchr(arg, ']') && arg[0] == '[' && colon[-1] != ']')
		return cli_usage(cmd, "--listen needs [IPv6]:PORT, not \"%s\"", arg);
	memcpy(host, arg, n);
	host[n] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || p < 0 || p > 65535)
		return cli_usage(cmd, "--listen port must be 0 to 65535, not \"%s\"", colon + 1);
	*port = (unsigned)p;
	return 0;
}

