/* openai.h - the OpenAI Batch API (files and batches) on the job core. */
#ifndef BARGE_API_OPENAI_H
#define BARGE_API_OPENAI_H

#include "api/http.h"
#include "core/service.h"

/*
 * openai_handle answers req if its path is the OpenAI Batch API's
 * (/v1/files..., /v1/batches...; API keys of the [account.*] sections) and
 * returns true; false leaves the request to the caller.
 */
bool openai_handle(struct service *svc, struct http_request *req);

/* openai_body_limit is the body cap of a file upload, or 0 for every other request. */
size_t openai_body_limit(const struct http_request *req);

/* openai_reply_error answers {"error":{"message","type","param","code"}} with status. */
void openai_reply_error(struct http_request *req, int status, const char *type, const char *code,
			const char *msg);

#endif
