/* http.c - the backends that speak HTTP: openai, anthropic (and bedrock's transport). */
#include "backends/http.h"
#include "util/buf.h"
#include "util/log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Idle transfers kept for reuse; each keeps its TLS session and buffers. */
#define HTTP_POOL_MAX 1024

struct http_xfer {
	struct curl_xfer x; /* first: the engine finds us through CURLOPT_PRIVATE */
	CURL *easy;
	struct ebackend *b;
	struct call *c;
	struct buf body;
	struct curl_slist *req_headers; /* per request (signatures) */
	char *url;
	int64_t retry_after_ms;
	int64_t hdr_in, hdr_out;
	bool too_large;
	char errbuf[CURL_ERROR_SIZE];
	struct http_xfer *next;
};

struct http_backend {
	const struct http_dialect *d;
	CURLM *multi;
	char *proxy;                /* from the environment, read once; "" for none */
	char *no_proxy;
	char *base;                 /* base URL without a trailing slash */
	struct curl_slist *headers; /* the same for every request */
	struct http_xfer *pool;
	size_t pooled;
	void *dialect_state;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct http_xfer *x = ud;

	if (buf_append(&x->body, p, size * n)) {
		x->too_large = true;
		return 0; /* stops the transfer */
	}
	return size * n;
}

/* header_value returns the value of header name in line, or NULL. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *v, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return NULL;
	v = line + nl + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

static int64_t parse_num(const char *v, size_t n)
{
	char tmp[32];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((tmp[i] < '0' || tmp[i] > '9') && tmp[i] != '.')
			return -1;
	}
	return (int64_t)(atof(tmp) * 1000.0);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct http_xfer *x = ud;
	size_t len = size * n, vl;
	const char *v;
	int64_t ms;

	/* A new response (after a redirect or 100 Continue) starts afresh. */
	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		x->retry_after_ms = -1;
		x->hdr_in = x->hdr_out = -1;
	} else if ((v = header_value(p, len, "retry-after-ms", &vl))) {
		if ((ms = parse_num(v, vl)) >= 0)
			x->retry_after_ms = ms / 1000;
	} else if ((v = header_value(p, len, "retry-after", &vl))) {
		/* Seconds; an HTTP date is rare from inference servers and ignored. */
		if ((ms = parse_num(v, vl)) >= 0 && x->retry_after_ms < 0)
			x->retry_after_ms = ms;
	} else if ((v = header_value(p, len, "x-amzn-bedrock-input-token-count", &vl))) {
		x->hdr_in = parse_num(v, vl) / 1000;
	} else if ((v = header_value(p, len, "x-amzn-bedrock-output-token-count", &vl))) {
		x->hdr_out = parse_num(v, vl) / 1000;
	}
	return len;
}

static void xfer_free(struct http_xfer *x)
{
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->req_headers);
	buf_free(&x->body);
	free(x->url);
	free(x);
}

static void xfer_put(struct http_backend *h, struct http_xfer *x)
{
	curl_slist_free_all(x->req_headers);
	x->req_headers = NULL;
	x->c = NULL;
	free(x->url);
	x->url = NULL;
	if (h->pooled >= HTTP_POOL_MAX) {
		xfer_free(x);
		return;
	}
	/* Keep the buffer's allocation only when it is modest. */
	if (x->body.cap > (1 << 20))
		buf_free(&x->body);
	x->next = h->pool;
	h->pool = x;
	h->pooled++;
}

/* net_of maps a libcurl failure to the engine's transport failures. */
static enum net_error net_of(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return NET_REFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return NET_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return NET_RESET;
	default:
		return NET_OTHER;
	}
}

static void on_done(struct curl_xfer *cx, int code)
{
	struct http_xfer *x = (struct http_xfer *)cx;
	struct http_backend *h = x->b->drv_state;
	struct call *c = x->c;
	struct attempt_result r;
	long status = 0;

	memset(&r, 0, sizeof(r));
	curl_multi_remove_handle(h->multi, x->easy);
	r.retry_after_ms = x->retry_after_ms;
	r.hdr_input_tokens = x->hdr_in;
	r.hdr_output_tokens = x->hdr_out;
	if (x->too_large) {
		r.status = 502;
		r.final = true;
		snprintf(r.msg, sizeof(r.msg),
			 "the backend's answer is larger than max_response_bytes = %lld",
			 (long long)x->b->cfg->max_response_bytes);
	} else if (code != CURLE_OK) {
		r.net = net_of((CURLcode)code);
		snprintf(r.msg, sizeof(r.msg), "%s: %s", x->url,
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror((CURLcode)code));
	} else {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		r.status = (int)status;
		r.body = buf_steal(&x->body, &r.body_len);
	}
	c->drv = NULL;
	xfer_put(h, x);
	engine_attempt_done(c, &r);
}

static struct http_xfer *xfer_get(struct ebackend *b)
{
	struct http_backend *h = b->drv_state;

	struct http_xfer *x = h->pool;

	if (x) {
		h->pool = x->next;
		h->pooled--;
	} else {
		x = calloc(1, sizeof(*x));
		if (!x)
			return NULL;
		x->easy = curl_easy_init();
		if (!x->easy) {
			free(x);
			return NULL;
		}
		x->x.done = on_done;
		x->b = b;
		curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
		curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
		curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
		curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
		curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
		/* The engine times attempts; this only backs it up. */
		curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
				 (long)(b->cfg->timeout_s * 1000.0) + 5000L);
		/*
		 * The proxy settings of the environment, read once at open:
		 * libcurl would otherwise look them up for every request.
		 */
		curl_easy_setopt(x->easy, CURLOPT_PROXY, h->proxy);
		if (h->no_proxy)
			curl_easy_setopt(x->easy, CURLOPT_NOPROXY, h->no_proxy);
	}
	if (x->body.max)
		buf_reset(&x->body);
	else
		buf_init(&x->body, (size_t)b->cfg->max_response_bytes);
	x->errbuf[0] = '\0';
	x->too_large = false;
	x->retry_after_ms = -1;
	x->hdr_in = x->hdr_out = -1;
	return x;
}

static void fail_now(struct call *c, enum net_error net, const char *msg)
{
	struct attempt_result r;

	memset(&r, 0, sizeof(r));
	r.net = net;
	r.retry_after_ms = -1;
	r.hdr_input_tokens = r.hdr_output_tokens = -1;
	r.final = true;
	snprintf(r.msg, sizeof(r.msg), "%s", msg);
	engine_attempt_done(c, &r);
}

static void http_start(struct ebackend *b, struct call *c)
{
	struct http_backend *h = b->drv_state;
	struct http_xfer *x = xfer_get(b);
	struct err e;

	c->drv = NULL;
	if (!x) {
		fail_now(c, NET_OTHER, "out of memory starting a request");
		return;
	}
	x->c = c;
	err_init(&e);
	if (h->d->prepare(b, h->base, c, &x->url, &x->req_headers, &e)) {
		xfer_put(h, x);
		fail_now(c, NET_OTHER, e.msg);
		return;
	}
	if (!x->req_headers) {
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h->headers);
	} else {
		/* Request headers go first; the shared ones are appended to a copy. */
		for (struct curl_slist *s = h->headers; s; s = s->next) {
			struct curl_slist *n = curl_slist_append(x->req_headers, s->data);

			if (!n)
				break;
			x->req_headers = n;
		}
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->req_headers);
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, c->body);
	c->drv = x;
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		c->drv = NULL;
		xfer_put(h, x);
		fail_now(c, NET_OTHER, "libcurl refused the request");
	}
}

static void http_cancel(struct ebackend *b, struct call *c)
{
	struct http_backend *h = b->drv_state;
	struct http_xfer *x = c->drv;

	if (!x)
		return;
	c->drv = NULL;
	curl_multi_remove_handle(h->multi, x->easy);
	xfer_put(h, x);
}

static void http_close(struct ebackend *b)
{
	struct http_backend *h = b->drv_state;

	if (!h)
		return;
	while (h->pool) {
		struct http_xfer *x = h->pool;

		h->pool = x->next;
		xfer_free(x);
	}
	if (h->d && h->d->close)
		h->d->close(b);
	curl_slist_free_all(h->headers);
	free(h->base);
	free(h->proxy);
	free(h->no_proxy);
	free(h);
	b->drv_state = NULL;
}

int http_open(struct ebackend *b, const struct http_dialect *d, struct err *e)
{
	return http_open_base(b, d, b->cfg->base_url ? b->cfg->base_url : d->default_base, e);
}

int http_open_base(struct ebackend *b, const struct http_dialect *d, const char *base,
		   struct err *e)
{
	struct http_backend *h = calloc(1, sizeof(*h));
	size_t n;
	int rc;

	if (!h)
		return err_set(e, ERR_NOMEM, "out of memory");
	b->drv_state = h;
	h->d = d;
	h->multi = engine_curl_multi(b->eng);
	if (!h->multi) {
		free(h);
		b->drv_state = NULL;
		return err_set(e, ERR_NOMEM, "cannot create a libcurl multi handle");
	}
	h->base = strdup(base ? base : "");
	if (!h->base) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (strncmp(h->base, "http://", 7) && strncmp(h->base, "https://", 8)) {
		rc = err_set(e, ERR_CONFIG,
			     "base_url \"%s\" must start with http:// or https:// (set base_url in "
			     "[backend.%s])",
			     h->base, b->cfg->name);
		goto fail;
	}
	{
		bool tls = !strncmp(h->base, "https://", 8);
		const char *p = getenv(tls ? "https_proxy" : "http_proxy");
		const char *np = getenv("no_proxy");

		if (!p && tls)
			p = getenv("HTTPS_PROXY");
		if (!p)
			p = getenv("all_proxy");
		if (!p)
			p = getenv("ALL_PROXY");
		if (!np)
			np = getenv("NO_PROXY");
		h->proxy = strdup(p ? p : "");
		h->no_proxy = np ? strdup(np) : NULL;
		if (!h->proxy || (np && !h->no_proxy)) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	/* Content-Type for JSON, and no Expect: 100-continue round trip. */
	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	h->headers = curl_slist_append(h->headers, "Accept: application/json");
	h->headers = curl_slist_append(h->headers, "Expect:");
	if (!h->headers) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	rc = d->open ? d->open(b, &h->headers, e) : 0;
	if (rc)
		goto fail;
	/* Keep a connection per slot alive between requests. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)b->cfg->max_concurrency + 16);
	return 0;
fail:
	http_close(b);
	return rc;
}

void *http_dialect_state(struct ebackend *b)
{
	struct http_backend *h = b->drv_state;

	return h->dialect_state;
}

void http_set_dialect_state(struct ebackend *b, void *st)
{
	struct http_backend *h = b->drv_state;

	h->dialect_state = st;
}

/* ---- openai and anthropic ---- */

/* join_url makes base + path into *url. */
int http_join_url(const char *base, const char *path, char **url, struct err *e)
{
	size_t n = strlen(base) + strlen(path) + 1;

	*url = malloc(n);
	if (!*url)
		return err_set(e, ERR_NOMEM, "out of memory");
	snprintf(*url, n, "%s%s", base, path);
	return 0;
}

static int plain_prepare(struct ebackend *b, const char *base, struct call *c, char **url,
			 struct curl_slist **hdrs, struct err *e)
{
	(void)b;
	*hdrs = NULL;
	return http_join_url(base, c->path, url, e);
}

static int add_header(struct curl_slist **h, const char *name, const char *value,
		      struct err *e)
{
	char line[4096];
	struct curl_slist *n;

	if (snprintf(line, sizeof(line), "%s: %s", name, value) >= (int)sizeof(line))
		return err_set(e, ERR_CONFIG, "header %s is too long", name);
	n = curl_slist_append(*h, line);
	if (!n)
		return err_set(e, ERR_NOMEM, "out of memory");
	*h = n;
	return 0;
}

static int openai_open(struct ebackend *b, struct curl_slist **hdrs, struct err *e)
{
	char v[4096];

	/* Local engines (vLLM, llama.cpp) often need no key. */
	if (!b->cfg->api_key || !*b->cfg->api_key)
		return 0;
	snprintf(v, sizeof(v), "Bearer %s", b->cfg->api_key);
	return add_header(hdrs, "Authorization", v, e);
}

static int anthropic_open(struct ebackend *b, struct curl_slist **hdrs, struct err *e)
{
	if (!b->cfg->api_key || !*b->cfg->api_key)
		return err_set(e, ERR_CONFIG,
			       "backend %s (kind anthropic) has no API key: set api_key or "
			       "api_key_env in [backend.%s]",
			       b->cfg->name, b->cfg->name);
	if (add_header(hdrs, "x-api-key", b->cfg->api_key, e))
		return e->code;
	return add_header(hdrs, "anthropic-version",
			  b->cfg->anthropic_version ? b->cfg->anthropic_version : "2023-06-01", e);
}

static const struct http_dialect openai_dialect = {
	.default_base = "https://api.openai.com/v1",
	.open = openai_open,
	.prepare = plain_prepare,
};

static const struct http_dialect anthropic_dialect = {
	.default_base = "https://api.anthropic.com/v1",
	.open = anthropic_open,
	.prepare = plain_prepare,
};

static int openai_drv_open(struct ebackend *b, struct err *e)
{
	return http_open(b, &openai_dialect, e);
}

static int anthropic_drv_open(struct ebackend *b, struct err *e)
{
	return http_open(b, &anthropic_dialect, e);
}

static enum wire openai_wire(const struct family *f)
{
	(void)f;
	return WIRE_OPENAI;
}

static enum wire anthropic_wire(const struct family *f)
{
	(void)f;
	return WIRE_ANTHROPIC;
}

const struct backend_driver openai_driver = {
	.kind = "openai",
	.open = openai_drv_open,
	.close = http_close,
	.start = http_start,
	.cancel = http_cancel,
	.wire = openai_wire,
};

const struct backend_driver anthropic_driver = {
	.kind = "anthropic",
	.open = anthropic_drv_open,
	.close = http_close,
	.start = http_start,
	.cancel = http_cancel,
	.wire = anthropic_wire,
};

/* For the bedrock driver, which adds signing to the same transport. */
void http_drv_close(struct ebackend *b)
{
	http_close(b);
}

void http_drv_start(struct ebackend *b, struct call *c)
{
	http_start(b, c);
}

void http_drv_cancel(struct ebackend *b, struct call *c)
{
	http_cancel(b, c);
}
