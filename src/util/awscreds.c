/* awscreds.c - finding AWS credentials: configuration, environment, profile file. */
#include "util/awscreds.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy(char *dst, size_t n, const char *src)
{
	if (!src)
		src = "";
	if (strlen(src) >= n)
		return -1;
	strcpy(dst, src);
	return 0;
}

static int set_all(struct aws_creds *o, const char *id, const char *secret, const char *token,
		   const char *source)
{
	if (copy(o->access_key_id, sizeof(o->access_key_id), id) ||
	    copy(o->secret_access_key, sizeof(o->secret_access_key), secret) ||
	    copy(o->session_token, sizeof(o->session_token), token))
		return -1;
	snprintf(o->source, sizeof(o->source), "%s", source);
	return 0;
}

struct profile_ctx {
	const char *profile;
	struct aws_creds *out;
	int found_id, found_secret;
};

static int on_profile(void *user, const char *section, const char *name, const char *value)
{
	struct profile_ctx *p = user;
	struct aws_creds *o = p->out;

	if (strcmp(section, p->profile))
		return 1;
	if (!strcmp(name, "aws_access_key_id"))
		p->found_id = !copy(o->access_key_id, sizeof(o->access_key_id), value);
	else if (!strcmp(name, "aws_secret_access_key"))
		p->found_secret = !copy(o->secret_access_key, sizeof(o->secret_access_key), value);
	else if (!strcmp(name, "aws_session_token"))
		copy(o->session_token, sizeof(o->session_token), value);
	return 1;
}

int aws_creds_resolve(const char *key_id, const char *secret, const char *token,
		      const char *profile, struct aws_creds *out, struct err *e)
{
	const char *env_id = getenv("AWS_ACCESS_KEY_ID");
	const char *env_secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char path[4096];
	struct profile_ctx p;

	memset(out, 0, sizeof(*out));
	if (key_id && *key_id && secret && *secret) {
		if (set_all(out, key_id, secret, token, "the configuration"))
			return err_set(e, ERR_AUTH, "the configured AWS credentials are too long");
		return 0;
	}
	if (env_id && *env_id && env_secret && *env_secret) {
		if (set_all(out, env_id, env_secret, getenv("AWS_SESSION_TOKEN"), "the environment"))
			return err_set(e, ERR_AUTH, "the AWS credentials in the environment are too long");
		return 0;
	}
	if (!profile || !*profile)
		profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	if (file && *file) {
		snprintf(path, sizeof(path), "%s", file);
	} else {
		const char *home = getenv("HOME");

		snprintf(path, sizeof(path), "%s/.aws/credentials", home ? home : "");
	}
	memset(&p, 0, sizeof(p));
	p.profile = profile;
	p.out = out;
	if (ini_parse(path, on_profile, &p) == 0 && p.found_id && p.found_secret) {
		snprintf(out->source, sizeof(out->source), "profile %.40s", profile);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return err_set(e, ERR_AUTH,
		       "no AWS credentials: set access_key_id and secret_access_key (or their *_env "
		       "forms) in the configuration, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
		       "or a [%s] profile in %s",
		       profile, path);
}
