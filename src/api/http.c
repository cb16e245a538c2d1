/* http.c - the HTTP server layer on libmicrohttpd: requests in, answers now or later. */
#include "util/rlimit.h"
#include "api/http.h"
#include "util/buf.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The life of a request. The server reads it (READING), hands it to the
 * application (APP), suspends its connection if the handler returned without
 * an answer (SUSPENDED), records the answer (ANSWERED) and finally gives it
 * to MHD (DONE). Only APP and SUSPENDED requests belong to the application.
 */
enum http_state { RS_READING, RS_APP, RS_SUSPENDED, RS_ANSWERED, RS_DONE };

/*
 * A request's private side. pub comes first so that the application's
 * struct http_request pointer is the context pointer.
 */
struct http_ctx {
	struct http_request pub;
	struct http_server *srv;
	struct MHD_Connection *conn;
	enum http_state state;
	char *uri;      /* the raw URI, split in place into path and query */
	char *method;
	struct buf body;
	struct buf hstore; /* "name\0value\0" for each header */
	struct http_header hdrs[HTTP_MAX_HEADERS];
	bool headers_done;
	bool too_large;  /* the body passed the cap while arriving */
	size_t max_body; /* this request's cap (opts.body_limit or max_body_bytes) */
	size_t discarded;
	struct MHD_Response *resp; /* the recorded answer, NULL to close */
	unsigned status;
};

/* The cut-short body of http_reply_truncated, read by MHD a block at a time. */
struct http_trunc {
	char *data;
	size_t sent;
};

static const char too_large_fmt[] =
	"the request body is larger than the server's limit of %zu bytes";

void http_server_opts_default(struct http_server_opts *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->host, "127.0.0.1");
	o->threads = HTTP_DEFAULT_THREADS;
	o->max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
	o->timeout_s = HTTP_DEFAULT_TIMEOUT_S;
	o->max_body_bytes = HTTP_DEFAULT_MAX_BODY;
	o->max_header_bytes = HTTP_DEFAULT_MAX_HEADER;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

/* http_log sends libmicrohttpd's own messages to barge's log at debug level. */
static void http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_debug("http: %s", line);
}

/*
 * http_on_uri runs once per request, before MHD decodes the URI, and keeps
 * the URI exactly as sent, because SigV4 signs the path and query as sent.
 * The context made here becomes the request's *con_cls and is freed by
 * http_on_completed. NULL (out of memory) makes http_on_request close the
 * connection.
 */
static void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_server *s = cls;
	struct http_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->uri = strdup(uri ? uri : "");
	if (!c->uri) {
		free(c);
		return NULL;
	}
	c->srv = s;
	c->conn = conn;
	c->state = RS_READING;
	buf_init(&c->body, s->opts.max_body_bytes + 1);
	buf_init(&c->hstore, s->opts.max_header_bytes + 4096);
	return c;
}

/* http_on_completed frees a request's context once MHD is done with it. */
static void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_ctx *c = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!c)
		return;
	*con_cls = NULL;
	if (c->state == RS_APP || c->state == RS_SUSPENDED) {
		/*
		 * The application still holds this request, so freeing it would
		 * leave it a dangling pointer. The server's rules make this
		 * impossible; leaking is the safe side if they are ever broken.
		 */
		log_error("http: request %s %s ended while the application held it", c->method,
			  c->pub.path);
		return;
	}
	if (c->resp)
		MHD_destroy_response(c->resp);
	buf_free(&c->body);
	buf_free(&c->hstore);
	free(c->method);
	free(c->uri);
	free(c);
}

/* http_add_header appends one "name\0value\0" pair; MHD calls it per header. */
static enum MHD_Result http_add_header(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct http_ctx *c = cls;

	(void)kind;
	if (c->pub.n_headers >= HTTP_MAX_HEADERS) {
		c->hstore.err = ERR_LIMIT;
		return MHD_NO;
	}
	buf_append(&c->hstore, key, strlen(key) + 1);
	buf_append(&c->hstore, value ? value : "", (value ? strlen(value) : 0) + 1);
	c->pub.n_headers++;
	return MHD_YES;
}

/*
 * http_index_headers points the header array into hstore, once every header
 * is copied, since appending may move the storage.
 */
static void http_index_headers(struct http_ctx *c)
{
	const char *p = c->hstore.data;

	for (size_t i = 0; i < c->pub.n_headers; i++) {
		c->hdrs[i].name = p;
		p += strlen(p) + 1;
		c->hdrs[i].value = p;
		p += strlen(p) + 1;
	}
	c->pub.headers = c->hdrs;
}

static void http_format_peer(struct http_ctx *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char ip[INET6_ADDRSTRLEN];

	strcpy(c->pub.peer, "unknown");
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;

		if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
			snprintf(c->pub.peer, sizeof(c->pub.peer), "%s:%u", ip, ntohs(a->sin_port));
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a =
			(const struct sockaddr_in6 *)(const void *)ci->client_addr;

		if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
			snprintf(c->pub.peer, sizeof(c->pub.peer), "[%s]:%u", ip,
				 ntohs(a->sin6_port));
	}
}

/*
 * http_queue_error answers at once with a small JSON error. Its body is
 * readable by the clients of all three dialects: OpenAI's error.message,
 * type and code, Anthropic's type "error", and Bedrock's top-level message.
 */
static enum MHD_Result http_queue_error(struct http_ctx *c, unsigned status, const char *type,
					const char *msg)
{
	struct buf b;
	struct MHD_Response *r;
	enum MHD_Result ret;

	buf_init(&b, 4096);
	buf_puts(&b, "{\"type\":\"error\",\"error\":{\"type\":");
	buf_put_json_cstr(&b, type);
	buf_puts(&b, ",\"message\":");
	buf_put_json_cstr(&b, msg);
	buf_printf(&b, ",\"code\":%u},\"message\":", status);
	buf_put_json_cstr(&b, msg);
	buf_putc(&b, '}');
	if (b.err) {
		buf_free(&b);
		return MHD_NO;
	}
	r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c->conn, status, r);
	MHD_destroy_response(r);
	c->state = RS_DONE;
	return ret;
}

/*
 * http_begin runs at the first call for a request, when its headers have
 * arrived: it copies what the application will read and refuses early a
 * body announced as too large, before reading any of it.
 */
static enum MHD_Result http_begin(struct http_server *s, struct http_ctx *c, const char *method)
{
	const char *cl;
	char *q, msg[160];

	c->headers_done = true;
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return MHD_NO;
	}
	pthread_mutex_unlock(&s->mu);
	c->method = strdup(method ? method : "");
	if (!c->method)
		return MHD_NO;
	c->pub.method = c->method;
	q = strchr(c->uri, '?');
	if (q)
		*q++ = '\0';
	c->pub.path = c->uri;
	c->pub.query = q ? q : "";
	c->pub.body = "";
	http_format_peer(c);
	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, http_add_header, c);
	if (c->hstore.err)
		return http_queue_error(c, 431, "request_header_fields_too_large",
					"the request has too many or too large headers");
	http_index_headers(c);
	c->max_body = s->opts.body_limit ? s->opts.body_limit(s->ud, &c->pub)
					 : s->opts.max_body_bytes;
	c->body.max = c->max_body + 1;
	cl = http_request_header(&c->pub, "Content-Length");
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (!errno && end != cl && n > c->max_body) {
			snprintf(msg, sizeof(msg), too_large_fmt, c->max_body);
			return http_queue_error(c, 413, "request_too_large", msg);
		}
		/*
		 * Reserve what is announced, up to 1 MiB: a client that announces
		 * 200 MB and sends nothing must not make the server set that aside.
		 */
		if (!errno && end != cl && n > 0)
			buf_reserve(&c->body, (size_t)(n < ((unsigned long long)1 << 20) ? n : 1 << 20) + 1);
	}
	return MHD_YES;
}

/*
 * http_take_body appends a piece of the body. A chunked body that passes the
 * cap is read on and thrown away so that the 413 can be sent once it ends,
 * up to as much again; a client that sends more than that loses its
 * connection.
 */
static enum MHD_Result http_take_body(struct http_ctx *c, const char *data, size_t n)
{
	size_t max = c->max_body;

	if (!c->too_large && c->body.len + n <= max) {
		buf_append(&c->body, data, n);
		return c->body.err ? MHD_NO : MHD_YES;
	}
	c->too_large = true;
	c->discarded += n;
	return c->discarded > max ? MHD_NO : MHD_YES;
}

/*
 * http_finish hands a recorded answer to MHD: the response, or MHD_NO to
 * close the connection without one.
 */
static enum MHD_Result http_finish(struct http_ctx *c)
{
	struct MHD_Response *r = c->resp;
	enum MHD_Result ret;

	c->resp = NULL;
	c->state = RS_DONE;
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(c->conn, c->status, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * http_dispatch gives a complete request to the handler. If the handler
 * returned without an answer, the connection is suspended while the server
 * lock is held, so that an answer from another thread, which resumes it
 * under the same lock, always comes after the suspension.
 */
static enum MHD_Result http_dispatch(struct http_server *s, struct http_ctx *c)
{
	if (c->body.data) {
		c->pub.body = c->body.data;
		c->pub.body_len = c->body.len;
	}
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return MHD_NO;
	}
	c->state = RS_APP;
	s->pending++;
	pthread_mutex_unlock(&s->mu);

	s->handler(s->ud, &c->pub);

	pthread_mutex_lock(&s->mu);
	if (c->state == RS_ANSWERED) {
		pthread_mutex_unlock(&s->mu);
		return http_finish(c);
	}
	c->state = RS_SUSPENDED;
	MHD_suspend_connection(c->conn);
	pthread_mutex_unlock(&s->mu);
	return MHD_YES;
}

/* http_on_request is MHD's access handler: called per header block, body piece, and resume. */
static enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				       const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **con_cls)
{
	struct http_server *s = cls;
	struct http_ctx *c = *con_cls;
	char msg[160];

	(void)conn;
	(void)url;
	(void)version;
	if (!c)
		return MHD_NO;
	if (!c->headers_done)
		return http_begin(s, c, method);
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (c->state != RS_READING)
			return MHD_YES;
		return http_take_body(c, upload_data, n);
	}
	switch (c->state) {
	case RS_READING:
		if (c->too_large) {
			snprintf(msg, sizeof(msg), too_large_fmt, c->max_body);
			return http_queue_error(c, 413, "request_too_large", msg);
		}
		return http_dispatch(s, c);
	case RS_ANSWERED:
		return http_finish(c);
	default:
		/* MHD does not call again for APP, SUSPENDED or DONE requests. */
		return MHD_NO;
	}
}

/*
 * http_settle records an answer (r, or NULL to close) for req and resumes
 * its connection if the handler has already returned. It consumes r.
 */
static int http_settle(struct http_request *req, unsigned status, struct MHD_Response *r)
{
	struct http_ctx *c = (struct http_ctx *)req;
	struct http_server *s = c->srv;
	bool resume;

	pthread_mutex_lock(&s->mu);
	if (c->state != RS_APP && c->state != RS_SUSPENDED) {
		pthread_mutex_unlock(&s->mu);
		if (r)
			MHD_destroy_response(r);
		return err_set(NULL, ERR_CONFLICT, "the request was already answered");
	}
	resume = c->state == RS_SUSPENDED;
	c->resp = r;
	c->status = status;
	c->state = RS_ANSWERED;
	if (resume)
		MHD_resume_connection(c->conn);
	/* c may be freed by a polling thread from here on. */
	if (--s->pending == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* http_add_headers adds the application's headers to r; MHD refuses ones with line breaks. */
static int http_add_headers(struct MHD_Response *r, const struct http_header *hdrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!hdrs[i].name || !hdrs[i].value)
			continue;
		if (MHD_add_response_header(r, hdrs[i].name, hdrs[i].value) != MHD_YES)
			return ERR_INVAL;
	}
	return 0;
}

/*
 * http_send answers req with response r (NULL when building it failed:
 * the connection is closed instead) and the headers hdrs[0..n). The
 * response is handed to libmicrohttpd, or destroyed on failure.
 */
static int http_send(struct http_request *req, int status, struct MHD_Response *r,
		     const struct http_header *hdrs, size_t n)
{
	int rc;

	if (!r) {
		http_settle(req, 0, NULL);
		return err_set(NULL, ERR_NOMEM, "out of memory building an answer");
	}
	rc = http_add_headers(r, hdrs, n);
	if (rc) {
		MHD_destroy_response(r);
		http_settle(req, 0, NULL);
		return rc;
	}
	return http_settle(req, (unsigned)status, r);
}

static bool http_status_ok(int status)
{
	return status >= 100 && status <= 999;
}

int http_reply(struct http_request *req, int status, const struct http_header *hdrs, size_t n,
	       const void *body, size_t len)
{
	struct MHD_Response *r;

	if (!http_status_ok(status)) {
		http_settle(req, 0, NULL);
		return err_set(NULL, ERR_INVAL, "HTTP status %d is out of range", status);
	}
	r = MHD_create_response_from_buffer(len, (void *)(body && len ? body : ""),
					    MHD_RESPMEM_MUST_COPY);
	return http_send(req, status, r, hdrs, n);
}

int http_reply_close(struct http_request *req)
{
	return http_settle(req, 0, NULL);
}

/*
 * http_trunc_read gives MHD the bytes that are sent, then an error, which
 * makes MHD close the connection short of the declared Content-Length.
 */
static ssize_t http_trunc_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_trunc *t = cls;
	size_t n;

	if (pos >= t->sent)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = t->sent - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(out, t->data + pos, n);
	return (ssize_t)n;
}

static void http_trunc_free(void *cls)
{
	struct http_trunc *t = cls;

	free(t->data);
	free(t);
}

int http_reply_truncated(struct http_request *req, int status, const struct http_header *hdrs,
			 size_t n, const void *body, size_t len, size_t sent)
{
	struct http_trunc *t;
	struct MHD_Response *r;

	if (sent > len)
		sent = len;
	t = calloc(1, sizeof(*t));
	if (t)
		t->data = malloc(sent ? sent : 1);
	if (!t || !t->data || !http_status_ok(status)) {
		if (t)
			free(t->data);
		free(t);
		http_settle(req, 0, NULL);
		return err_set(NULL, ERR_NOMEM, "cannot build a truncated answer");
	}
	if (sent)
		memcpy(t->data, body, sent);
	t->sent = sent;
	r = MHD_create_response_from_callback(len, 64 * 1024, http_trunc_read, t, http_trunc_free);
	if (!r)
		http_trunc_free(t);
	return http_send(req, status, r, hdrs, n);
}

/* The reader of a streamed answer, between MHD and the application. */
struct http_stream {
	http_read_fn read;
	void (*done)(void *ctx);
	void *ctx;
};

static ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct http_stream *st = cls;
	ssize_t n = st->read(st->ctx, out, max);

	(void)pos;
	if (n > 0)
		return n;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void http_stream_free(void *cls)
{
	struct http_stream *st = cls;

	st->done(st->ctx);
	free(st);
}

int http_reply_stream(struct http_request *req, int status, const struct http_header *hdrs,
		      size_t n, http_read_fn read, void (*done)(void *ctx), void *ctx)
{
	struct http_stream *st = calloc(1, sizeof(*st));
	struct MHD_Response *r;

	if (!st || !http_status_ok(status)) {
		free(st);
		done(ctx);
		http_settle(req, 0, NULL);
		return err_set(NULL, st ? ERR_INVAL : ERR_NOMEM, "cannot build a streamed answer");
	}
	st->read = read;
	st->done = done;
	st->ctx = ctx;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, http_stream_read, st,
					      http_stream_free);
	if (!r)
		http_stream_free(st);
	return http_send(req, status, r, hdrs, n);
}

/*
 * http_resolve turns host (an address, "[v6]", or a name looked up once)
 * and port into a socket address.
 */
static int http_resolve(const char *host, unsigned port, struct sockaddr_storage *ss,
			struct err *e)
{
	char h[HTTP_HOST_MAX];
	size_t n = strlen(host);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
	} else {
		snprintf(h, sizeof(h), "%s", host);
	}
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(h, NULL, &hints, &res);
	if (rc || !res)
		return err_set(e, ERR_CONFIG, "cannot resolve listen host \"%s\": %s", host,
			       rc ? gai_strerror(rc) : "no address");
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	if (ss->ss_family == AF_INET)
		a4->sin_port = htons((uint16_t)port);
	else
		a6->sin6_port = htons((uint16_t)port);
	freeaddrinfo(res);
	return 0;
}

int http_server_init(struct http_server *s, const struct http_server_opts *o,
		     http_handler_fn handler, void *ud, struct err *e)
{
	struct http_server_opts d;

	memset(s, 0, sizeof(*s));
	if (!handler)
		return err_set(e, ERR_INTERNAL, "http server needs a handler");
	http_server_opts_default(&d);
	if (o) {
		s->opts = *o;
		if (!s->opts.host[0])
			strcpy(s->opts.host, d.host);
		if (!s->opts.threads)
			s->opts.threads = d.threads;
		if (!s->opts.max_connections)
			s->opts.max_connections = d.max_connections;
		if (!s->opts.timeout_s)
			s->opts.timeout_s = d.timeout_s;
		if (!s->opts.max_body_bytes)
			s->opts.max_body_bytes = d.max_body_bytes;
		if (!s->opts.max_header_bytes)
			s->opts.max_header_bytes = d.max_header_bytes;
	} else {
		s->opts = d;
	}
	if (s->opts.port > 65535)
		return err_set(e, ERR_CONFIG, "port %u is not 0..65535", s->opts.port);
	s->handler = handler;
	s->ud = ud;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->idle, NULL);
	return 0;
}

/*
 * http_listen opens the listening socket. barge binds it itself rather than
 * through MHD_OPTION_LISTENING_ADDRESS_REUSE, because that option also sets
 * SO_REUSEPORT, which would let a second server share the port silently;
 * SO_REUSEADDR alone lets a restarted server bind at once past TIME_WAIT
 * and still refuses a port another server listens on. The caller owns *fd.
 */
static int http_listen(struct http_server *s, int *fd, struct err *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, rc, en;

	*fd = -1;
	rc = http_resolve(s->opts.host, s->opts.port, &ss, e);
	if (rc)
		return rc;
	len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	*fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		goto fail;
	if (setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		setsockopt(*fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(*fd, (struct sockaddr *)&ss, len) < 0 || listen(*fd, SOMAXCONN) < 0)
		goto fail;
	len = sizeof(ss);
	if (getsockname(*fd, (struct sockaddr *)&ss, &len) < 0)
		goto fail;
	s->bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
fail:
	en = errno;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return err_set(e, ERR_IO, "cannot listen on %s:%u: %s%s", s->opts.host, s->opts.port,
		       strerror(en),
		       en == EADDRINUSE ? " (another program holds the port; pick another "
					  "or use port 0)"
					: "");
}

int http_server_start(struct http_server *s, struct err *e)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	int rc, fd;

	if (s->started)
		return err_set(e, ERR_CONFLICT, "the http server is already started");
	rlimit_raise_nofile();
	rc = http_listen(s, &fd, e);
	if (rc)
		return rc;
	/* MHD owns the socket from here on and closes it when it stops. */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)http_on_uri, s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
					    (intptr_t)http_on_completed, s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_log, s};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
					    (intptr_t)s->opts.max_connections, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
					    (intptr_t)s->opts.timeout_s, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					    (intptr_t)s->opts.max_header_bytes, NULL};
	if (s->opts.threads > 1)
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
						    (intptr_t)s->opts.threads, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	s->stopping = false;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http_on_request, s, MHD_OPTION_ARRAY,
				     opts, MHD_OPTION_END);
	if (!s->daemon) {
		/* A failed start may or may not have closed the socket already. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		return err_set(e, ERR_IO,
			       "cannot start the HTTP server on %s:%u (threads or memory ran out)",
			       s->opts.host, s->bound_port);
	}
	s->started = true;
	log_debug("http: listening on %s:%u with %u thread(s)", s->opts.host, s->bound_port,
		  s->opts.threads);
	return 0;
}

unsigned http_server_port(const struct http_server *s)
{
	return s->bound_port;
}

void http_server_stop(struct http_server *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	/*
	 * MHD must not stop while a connection is suspended, and every
	 * suspended connection is a request the application still holds.
	 */
	while (s->pending > 0)
		pthread_cond_wait(&s->idle, &s->mu);
	pthread_mutex_unlock(&s->mu);
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	s->started = false;
}

void http_server_free(struct http_server *s)
{
	if (!s->handler)
		return;
	http_server_stop(s);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->mu);
	s->handler = NULL;
}
