/* awscreds.h - finding AWS credentials: configuration, environment, profile file. */
#ifndef BARGE_AWSCREDS_H
#define BARGE_AWSCREDS_H

#include "util/err.h"

#define AWSCREDS_MAX 1024

struct aws_creds {
	char access_key_id[AWSCREDS_MAX];
	char secret_access_key[AWSCREDS_MAX];
	char session_token[4 * AWSCREDS_MAX]; /* "" when none */
	char source[64];                      /* where they came from, for messages */
};

/*
 * aws_creds_resolve fills out from, in order: the configured values (key_id
 * and secret both given; token optional), the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the shared credentials
 * file ($AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) under profile
 * (NULL: $AWS_PROFILE, else "default"). ERR_AUTH with a message listing
 * the places looked at when none has them. Secrets never go into messages.
 */
int aws_creds_resolve(const char *key_id, const char *secret, const char *token,
		      const char *profile, struct aws_creds *out, struct err *e);

#endif
