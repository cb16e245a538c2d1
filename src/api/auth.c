/* auth.c - who is calling: SigV4 for the Bedrock dialect, API keys for the others. */
#include "api/auth.h"
#include "util/sigv4.h"
#include "util/time.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

static int lookup_secret(void *ctx, const char *akid, struct buf *secret, struct err *e)
{
	const struct service *svc = ctx;
	const struct account_cfg *a = service_find_account(svc, akid);

	if (!a || !a->secret_access_key)
		return err_set(e, ERR_NOTFOUND, "unknown access key");
	return buf_puts(secret, a->secret_access_key);
}

int auth_verify_sigv4(const struct http_request *req, sigv4_lookup_fn lookup, void *ctx,
		      struct sigv4_verified *v, struct err *e)
{
	struct sigv4_header hs[HTTP_MAX_HEADERS];
	struct sigv4_request sr;
	struct sigv4_verify_opts vo;

	memset(v, 0, sizeof(*v));
	if (req->n_headers > HTTP_MAX_HEADERS) {
		v->verdict = SIGV4_INCOMPLETE;
		return err_set(e, ERR_INVAL, "too many headers (at most %d)", HTTP_MAX_HEADERS);
	}
	for (size_t i = 0; i < req->n_headers; i++) {
		hs[i].name = req->headers[i].name;
		hs[i].value = req->headers[i].value;
	}
	memset(&sr, 0, sizeof(sr));
	sr.method = req->method;
	sr.path = req->path;
	sr.query = req->query;
	sr.headers = hs;
	sr.n_headers = req->n_headers;
	sr.payload = req->body;
	sr.payload_len = req->body_len;
	memset(&vo, 0, sizeof(vo));
	vo.service = "bedrock";
	vo.now_ms = time_now_ms();
	vo.max_skew_ms = SIGV4_MAX_SKEW_MS;
	vo.lookup = lookup;
	vo.lookup_ctx = ctx;
	return sigv4_verify(&sr, &vo, v, e);
}

int auth_sigv4(const struct service *svc, const struct http_request *req,
	       struct auth_result *out)
{
	struct sigv4_verified v;
	struct err e;

	memset(out, 0, sizeof(*out));
	err_init(&e);
	if (auth_verify_sigv4(req, lookup_secret, (void *)svc, &v, &e) == 0) {
		out->account = service_find_account(svc, v.access_key_id);
		snprintf(out->key_id, sizeof(out->key_id), "%s", v.access_key_id);
		if (out->account)
			return 0;
	}
	snprintf(out->key_id, sizeof(out->key_id), "%s", v.access_key_id);
	out->status = v.verdict == SIGV4_VERIFIED ? 403 : sigv4_verdict_http_status(v.verdict);
	out->error = v.verdict == SIGV4_VERIFIED ? "UnrecognizedClientException"
						 : sigv4_verdict_aws_code(v.verdict);
	snprintf(out->message, sizeof(out->message), "%s",
		 e.msg[0] ? e.msg : "The security token included in the request is invalid.");
	return ERR_AUTH;
}

int auth_api_key(const struct service *svc, const struct http_request *req,
		 struct auth_result *out)
{
	const char *key = http_request_header(req, "x-api-key");
	const char *authz = http_request_header(req, "Authorization");
	size_t n;

	memset(out, 0, sizeof(*out));
	if (authz && !strncasecmp(authz, "Bearer ", 7)) {
		/* Two different keys in one request: which was meant is anyone's guess. */
		if (key && strcmp(key, authz + 7)) {
			out->status = 401;
			snprintf(out->message, sizeof(out->message),
				 "the x-api-key header and Authorization: Bearer carry different "
				 "keys: send one");
			return ERR_AUTH;
		}
		key = authz + 7;
	}
	if (!key || !*key) {
		out->status = 401;
		snprintf(out->message, sizeof(out->message),
			 "no API key: send it in an x-api-key header or as Authorization: Bearer");
		return ERR_AUTH;
	}
	n = strlen(key);
	/* Only a key's first characters go to logs, enough to tell keys apart. */
	snprintf(out->key_id, sizeof(out->key_id), "%.6s...", key);
	for (size_t i = 0; i < svc->cfg->n_accounts; i++) {
		const struct account_cfg *a = &svc->cfg->accounts[i];

		/* Compared in constant time, so that timing tells nothing of a key. */
		if (a->api_key && strlen(a->api_key) == n && !CRYPTO_memcmp(a->api_key, key, n)) {
			out->account = a;
			return 0;
		}
	}
	out->status = 401;
	snprintf(out->message, sizeof(out->message), "invalid API key");
	return ERR_AUTH;
}
