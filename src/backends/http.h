/* http.h - the shared transport of the HTTP backends, and what a dialect adds. */
#ifndef BARGE_BACKENDS_HTTP_H
#define BARGE_BACKENDS_HTTP_H

#include <curl/curl.h>

#include "backends/backend.h"
#include "engine/engine.h"

/*
 * The transport sends a call's body with POST to a URL and returns the
 * answer to the engine; a dialect says where (the URL) and with which
 * headers. Shared headers are set once at open; per-request headers (a
 * SigV4 signature) come from prepare.
 */
struct http_dialect {
	const char *default_base;
	/* open adds the headers every request carries (authentication). */
	int (*open)(struct ebackend *b, struct curl_slist **headers, struct err *e);
	/*
	 * prepare gives the URL of call c (malloc'd, the caller frees) and the
	 * request's own headers (NULL when none; the caller frees the list).
	 */
	int (*prepare)(struct ebackend *b, const char *base, struct call *c, char **url,
		       struct curl_slist **headers, struct err *e);
	void (*close)(struct ebackend *b);
};

/*
 * http_open sets up the transport of backend b with dialect d, at the
 * configured base_url or the dialect's default; http_open_base at base.
 * On failure everything is undone.
 */
int http_open(struct ebackend *b, const struct http_dialect *d, struct err *e);
int http_open_base(struct ebackend *b, const struct http_dialect *d, const char *base,
		   struct err *e);
void http_drv_close(struct ebackend *b);
void http_drv_start(struct ebackend *b, struct call *c);
void http_drv_cancel(struct ebackend *b, struct call *c);
/* A dialect's own state, owned by the dialect (freed in its close). */
void *http_dialect_state(struct ebackend *b);
void http_set_dialect_state(struct ebackend *b, void *st);
/* http_join_url writes base + path into a new string *url. */
int http_join_url(const char *base, const char *path, char **url, struct err *e);


#endif
