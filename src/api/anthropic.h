/* anthropic.h - the Anthropic Message Batches API on the job core. */
#ifndef BARGE_API_ANTHROPIC_H
#define BARGE_API_ANTHROPIC_H

#include "api/http.h"
#include "core/service.h"

/* The reference's cap on a create request: 256 MB of inline requests. */
#define ANTHROPIC_MAX_BODY ((size_t)256 << 20)

/*
 * anthropic_handle answers req if its path is the Message Batches API's
 * (/v1/messages/batches...; API keys of the [account.*] sections) and
 * returns true; false leaves the request to the caller.
 */
bool anthropic_handle(struct service *svc, struct http_request *req);

/*
 * anthropic_body_limit is the body cap of req when it creates a batch, or
 * 0 for every other request (the server's own cap applies).
 */
size_t anthropic_body_limit(const struct http_request *req);

/* anthropic_reply_error answers {"type":"error","error":{"type","message"}} with status. */
void anthropic_reply_error(struct http_request *req, int status, const char *type,
			   const char *msg);

/* anthropic_find_model resolves a Messages API model name to a configured model, or NULL. */
const struct model_cfg *anthropic_find_model(const struct config *c, const char *name);

#endif
