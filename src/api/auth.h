/* auth.h - who is calling: SigV4 for the Bedrock dialect, API keys for the others. */
#ifndef BARGE_AUTH_H
#define BARGE_AUTH_H

#include "api/http.h"
#include "core/service.h"
#include "util/sigv4.h"

/* The outcome of authenticating a request. */
struct auth_result {
	const struct account_cfg *account; /* set when authentic */
	int status;                        /* 403 (or 500) when not */
	const char *error;                 /* the AWS error name when not */
	char message[512];                 /* for the client; never holds a secret */
	char key_id[130];                  /* the access key id claimed, for logs */
};

/*
 * auth_verify_sigv4 checks req's SigV4 signature for service "bedrock" (any
 * region, at most SIGV4_MAX_SKEW_MS off the clock), finding secrets with
 * lookup(ctx, ...). v holds the verdict and the claimed key either way.
 * Returns 0 when authentic, else a negative code with the reason in e.
 */
int auth_verify_sigv4(const struct http_request *req, sigv4_lookup_fn lookup, void *ctx,
		      struct sigv4_verified *v, struct err *e);

/*
 * auth_sigv4 verifies req's SigV4 signature (service "bedrock", any region)
 * against the access keys of the [account.*] sections. Returns 0 with
 * out->account set, or ERR_AUTH with the error to answer in out.
 */
int auth_sigv4(const struct service *svc, const struct http_request *req,
	       struct auth_result *out);

/*
 * auth_api_key finds the account whose api_key the request carries, in an
 * x-api-key header or as "Authorization: Bearer KEY" (the OpenAI and
 * Anthropic dialects). Returns 0 with out->account set, or ERR_AUTH with
 * status 401 and the reason in out->message (which never holds the key).
 */
int auth_api_key(const struct service *svc, const struct http_request *req,
		 struct auth_result *out);

#endif
