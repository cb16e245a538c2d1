/* bedrock.h - the Bedrock batch job API: Create, Get, List and Stop over HTTP. */
#ifndef BARGE_API_BEDROCK_H
#define BARGE_API_BEDROCK_H

#include "api/http.h"
#include "core/service.h"

/*
 * bedrock_handle answers req if it is one of the four operations of
 * reference/bedrock-batch.md (authenticated with SigV4) and returns true;
 * false when the path is not the Bedrock API's (the request is left for
 * the caller to answer).
 */
bool bedrock_handle(struct service *svc, struct http_request *req);

/* bedrock_reply_error answers req with an AWS error: status, x-amzn-ErrorType and {"message"}. */
void bedrock_reply_error(struct http_request *req, int status, const char *name,
			 const char *msg);

#endif
