/* http.h - the HTTP server layer on libmicrohttpd: requests in, answers now or later. */
#ifndef BARGE_HTTP_H
#define BARGE_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/*
 * One HTTP/1.1 server (keep-alive, epoll, a pool of polling threads) that
 * hands each complete request to one handler callback. The handler answers
 * with http_reply() (or closes with http_reply_close(), or sends a cut-short
 * body with http_reply_truncated()) either before it returns or later, from
 * any thread: a request the handler has not answered when it returns is
 * suspended, so that waiting for an answer holds no thread.
 *
 * Every request is answered exactly once. Until then the request belongs to
 * the application; the call that answers hands it back to the server, which
 * frees it once the answer is sent, so the application must not touch the
 * request after answering it.
 */

#define HTTP_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define HTTP_DEFAULT_MAX_HEADER ((size_t)64 << 10)
#define HTTP_DEFAULT_TIMEOUT_S 120
#define HTTP_DEFAULT_MAX_CONNECTIONS 1024
#define HTTP_DEFAULT_THREADS 2
/* The most headers one request may carry; MHD's memory limit bounds their size. */
#define HTTP_MAX_HEADERS 128
#define HTTP_HOST_MAX 256

struct http_request;

struct http_server_opts {
	char host[HTTP_HOST_MAX]; /* "127.0.0.1", "::1", "[::1]", "localhost", "0.0.0.0" */
	unsigned port;            /* 0: an ephemeral port, see http_server_port() */
	unsigned threads;         /* polling threads; 1 = one internal thread, more = a pool */
	unsigned max_connections; /* open connections at once, suspended ones included */
	unsigned timeout_s;       /* an idle or slow connection is closed after this */
	size_t max_body_bytes;    /* a longer request body is answered 413 */
	size_t max_header_bytes;  /* per-connection memory for the request line and headers */
	/*
	 * body_limit, when set, gives the cap of one request's body from its
	 * method, path and headers (called with the handler's ud before the
	 * body arrives), so that a data-plane path may take more than the
	 * control plane's max_body_bytes.
	 */
	size_t (*body_limit)(void *ud, const struct http_request *req);
};

/* A header of a request, or one the application adds to an answer. */
struct http_header {
	const char *name;
	const char *value;
};

/*
 * A complete request as the handler sees it. Every string is NUL-terminated
 * and owned by the server; all of it stays valid until the request is
 * answered, from any thread.
 */
struct http_request {
	const char *method;  /* "GET", "POST", ... */
	const char *path;    /* as sent, still percent-encoded, without the query */
	const char *query;   /* as sent, without the '?'; "" when there is none */
	const char *body;    /* the body bytes plus a NUL; "" when there is none */
	size_t body_len;
	const struct http_header *headers; /* in the order received */
	size_t n_headers;
	char peer[64];       /* "127.0.0.1:50312" or "[::1]:50312" */
	void *app;           /* free for the application's own use */
};

/*
 * The handler receives each complete request. It must see that the request
 * gets answered once, now or later (see above); it must not block for long,
 * since it runs on one of the server's polling threads.
 */
typedef void (*http_handler_fn)(void *ud, struct http_request *req);

/* The server. Its members are private to http.c. */
struct http_server {
	struct http_server_opts opts;
	http_handler_fn handler;
	void *ud;
	struct MHD_Daemon *daemon;
	unsigned bound_port;
	pthread_mutex_t mu;  /* guards the request states, pending and stopping */
	pthread_cond_t idle; /* signalled when pending drops to zero */
	size_t pending;      /* requests handed to the handler and not answered yet */
	bool stopping;
	bool started;
};

/*
 * http_server_opts_default fills o with the defaults above and host
 * 127.0.0.1, port 0.
 */
void http_server_opts_default(struct http_server_opts *o);

/*
 * http_server_init prepares s with a copy of o (zero fields take their
 * defaults) and the handler that gets every request with ud. Nothing is
 * bound yet. The caller owns s and releases it with http_server_free.
 */
int http_server_init(struct http_server *s, const struct http_server_opts *o,
		     http_handler_fn handler, void *ud, struct err *e);

/*
 * http_server_start binds host:port (with SO_REUSEADDR, so that a restarted
 * server gets the same port at once, but not SO_REUSEPORT, so that a port in
 * use is refused) and starts the polling threads. On failure e says which
 * address could not be used and why.
 */
int http_server_start(struct http_server *s, struct err *e);

/* http_server_port returns the port bound by http_server_start (the real one when 0 was asked). */
unsigned http_server_port(const struct http_server *s);

/*
 * http_server_stop refuses new requests (their connections are closed),
 * waits until the application has answered every request it was given, then
 * stops the threads and closes every connection. The application must
 * therefore answer what it holds (http_reply_close is enough) or this waits
 * forever. Calling it twice, or on a server never started, is harmless.
 */
void http_server_stop(struct http_server *s);

/* http_server_free stops s if needed and releases what it holds; s itself stays the caller's. */
void http_server_free(struct http_server *s);

/*
 * http_request_header returns the value of the first header called name
 * (compared without regard to case), or NULL. The string belongs to the
 * request.
 */
const char *http_request_header(const struct http_request *req, const char *name);

/*
 * http_reply answers req with status, the n headers of hdrs and body[0..len)
 * (a Content-Length is added; body may be NULL when len is 0). The headers
 * and body are copied, so they stay the caller's. Callable from any thread,
 * before or after the handler returned; req is the server's again afterwards
 * even when this fails. ERR_NOMEM when the answer could not be built, or
 * ERR_INVAL for a status outside 100..999 or a header with a line break: the
 * connection is then closed instead. A second answer given while the handler
 * still runs gets ERR_CONFLICT; once the handler has returned, req may
 * already be freed, so a second answer is a use after free.
 */
int http_reply(struct http_request *req, int status, const struct http_header *hdrs, size_t n,
	       const void *body, size_t len);

/*
 * http_reply_close closes req's connection without any answer, as a crashed
 * or reset server would. Same ownership as http_reply.
 */
int http_reply_close(struct http_request *req);

/*
 * http_reply_truncated answers like http_reply with a Content-Length of len
 * but sends only the first sent bytes of the body, then closes the
 * connection: the client sees a body cut short. The caller keeps hdrs and
 * body. Same ownership as http_reply.
 */
int http_reply_truncated(struct http_request *req, int status, const struct http_header *hdrs,
			 size_t n, const void *body, size_t len, size_t sent);

/*
 * A streamed body: read fills out with up to max bytes and returns how
 * many (at least 1), 0 at the end, or -1 on a failure (the connection is
 * then closed short of the end, so the client sees the body cut). done
 * frees ctx.
 */
typedef ssize_t (*http_read_fn)(void *ctx, char *out, size_t max);

/*
 * http_reply_stream answers req with status, hdrs and a body of unknown
 * length that read produces a piece at a time (chunked encoding), on the
 * server's threads, as the client takes it: memory stays flat however long
 * the body. The server owns ctx from this call on and calls done(ctx) once
 * it is finished with it, also when this call fails. Same ownership of req
 * as http_reply.
 */
int http_reply_stream(struct http_request *req, int status, const struct http_header *hdrs,
		      size_t n, http_read_fn read, void (*done)(void *ctx), void *ctx);

#endif
