/* s3call.c - one S3 request: addressing, SigV4 signing, libcurl, retries, S3's errors. */
#include "objects/impl.h"
#include "objects/s3call.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/sigv4.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the store ---- */

/* s3_endpoint_parse splits http(s)://host[:port][/] into s; a problem goes to s->bad. */
static void s3_endpoint_parse(struct s3_store *s, const char *ep)
{
	const char *h;
	size_t n;

	snprintf(s->endpoint, sizeof(s->endpoint), "%s", ep);
	if (!strncmp(ep, "http://", 7)) {
		strcpy(s->scheme, "http");
		h = ep + 7;
	} else if (!strncmp(ep, "https://", 8)) {
		strcpy(s->scheme, "https");
		h = ep + 8;
	} else {
		snprintf(s->bad, sizeof(s->bad),
			 "[storage.s3] endpoint \"%.200s\" must start with http:// or https://", ep);
		return;
	}
	n = strcspn(h, "/?#@ \t");
	if (n == 0 || n >= sizeof(s->host) - S3_BUCKET_MAX - 2 ||
	    (h[n] && strcmp(h + n, "/"))) {
		snprintf(s->bad, sizeof(s->bad),
			 "[storage.s3] endpoint \"%.200s\" must be scheme://host[:port] with no path",
			 ep);
		return;
	}
	memcpy(s->host, h, n);
	s->host[n] = '\0';
}

/*
 * s3_store_new makes the S3 store for cfg (a const struct s3_cfg *, borrowed
 * for the store's life). A bad endpoint or region is kept and reported by
 * the first S3 operation, so that runs using only files are not affected.
 * Returns NULL when out of memory; the caller frees with s3_store_free.
 */
struct s3_store *s3_store_new(const void *config)
{
	const struct s3_cfg *cfg = config;
	struct s3_store *s = calloc(1, sizeof(*s));
	const char *region = cfg->region;
	char def[S3_HOST_MAX];

	if (!s)
		return NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->cfg = cfg;
	s->path_style = cfg->path_style;
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = "us-east-1";
	if (strlen(region) >= 48 || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
					    strlen(region)) {
		snprintf(s->bad, sizeof(s->bad),
			 "[storage.s3] region \"%.60s\" is not a region name like us-east-1", region);
		return s;
	}
	snprintf(s->region, sizeof(s->region), "%s", region);
	if (cfg->endpoint && *cfg->endpoint) {
		s3_endpoint_parse(s, cfg->endpoint);
	} else {
		snprintf(def, sizeof(def), "https://s3.%s.amazonaws.com", s->region);
		s3_endpoint_parse(s, def);
	}
	return s;
}

/* s3_store_free closes the idle connections and frees s (NULL is fine). */
void s3_store_free(struct s3_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_idle; i++)
		curl_easy_cleanup(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
	curl_global_cleanup();
}

/*
 * s3_conn_open readies c for requests: the credentials as they are now (so
 * that rotated ones are picked up) and an idle libcurl handle or a new one.
 * The caller releases c with s3_conn_close, also after a failure.
 */
int s3_conn_open(struct s3_store *s, struct s3_conn *c, struct err *e)
{
	const struct s3_cfg *cfg = s->cfg;
	int rc;

	memset(c, 0, sizeof(*c));
	c->s = s;
	if (s->bad[0])
		return err_set(e, ERR_CONFIG, "%s", s->bad);
	rc = aws_creds_resolve(cfg->access_key_id, cfg->secret_access_key, cfg->session_token,
			       cfg->profile, &c->creds, e);
	if (rc) {
		err_prefix(e, "S3 at %s", s->endpoint);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	if (s->n_idle)
		c->h = s->idle[--s->n_idle];
	pthread_mutex_unlock(&s->lock);
	if (!c->h)
		c->h = curl_easy_init();
	if (!c->h)
		return err_set(e, ERR_NOMEM, "out of memory (libcurl)");
	return 0;
}

/* s3_conn_close wipes the credentials and gives the handle back for reuse. */
void s3_conn_close(struct s3_conn *c)
{
	explicit_bzero(&c->creds, sizeof(c->creds));
	if (!c->h)
		return;
	pthread_mutex_lock(&c->s->lock);
	if (c->s->n_idle < S3_IDLE_HANDLES) {
		c->s->idle[c->s->n_idle++] = c->h;
		c->h = NULL;
	}
	pthread_mutex_unlock(&c->s->lock);
	if (c->h)
		curl_easy_cleanup(c->h);
	c->h = NULL;
}

/* s3_loc_parse splits an s3:// URI (borrowed by l) into bucket and key. */
int s3_loc_parse(const char *uri, struct s3_loc *l, struct err *e)
{
	const char *b = uri + 5, *slash = strchr(b, '/');
	size_t n = slash ? (size_t)(slash - b) : strlen(b);

	if (n == 0 || n > S3_BUCKET_MAX ||
	    strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") < n)
		return err_set(e, ERR_INVAL,
			       "%.300s: not an s3://bucket/key location (a bucket name is 1 to 63 "
			       "letters, digits, '.', '-' or '_')",
			       uri);
	memcpy(l->bucket, b, n);
	l->bucket[n] = '\0';
	l->key = slash ? slash + 1 : "";
	l->uri = uri;
	if (strlen(l->key) > S3XML_KEY_MAX)
		return err_set(e, ERR_INVAL, "%.300s...: the key is longer than S3's 1,024 bytes",
			       uri);
	return 0;
}

/* ---- one request ---- */

/* s3_call_init prepares k; s3_call_free releases what it owns. k borrows every pointer. */
void s3_call_init(struct s3_call *k, const char *method, const char *op,
		  const struct s3_loc *loc, const char *key)
{
	memset(k, 0, sizeof(*k));
	k->method = method;
	k->op = op;
	k->loc = loc;
	k->key = key;
	k->max_body = S3_XML_MAX;
	buf_init(&k->own, S3_XML_MAX);
	k->out = &k->own;
}

/* s3_call_free releases the call's own answer buffer (not a buffer the caller gave). */
void s3_call_free(struct s3_call *k)
{
	buf_free(&k->own);
}

/* s3_on_body appends the answer's body to k->out, within the call's cap. */
static size_t s3_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_call *k = ud;
	size_t n = size * nmemb, cap = k->max_body;

	/* An error's XML is kept even where a successful body would be capped smaller. */
	if ((k->hdr_status < 200 || k->hdr_status > 299) && cap < S3_ERR_BODY_MAX)
		cap = S3_ERR_BODY_MAX;
	/* Sized once from Content-Length rather than grown by doubling. */
	if (k->out->len == 0 && k->has_length && k->content_length <= cap)
		buf_reserve(k->out, (size_t)k->content_length);
	if (n > cap - k->out->len || buf_append(k->out, p, n)) {
		k->too_big = true;
		return 0;
	}
	return n;
}

/* s3_header copies the value of header name from line p[0..n) to out, truncated to fit. */
static bool s3_header(const char *p, size_t n, const char *name, char *out, size_t outsz)
{
	size_t m = strlen(name);

	if (n <= m || p[m] != ':' || strncasecmp(p, name, m))
		return false;
	p += m + 1;
	n -= m + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* s3_on_header keeps the status and the headers barge uses. */
static size_t s3_on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_call *k = ud;
	size_t n = size * nmemb;
	char v[32];

	if (n > 5 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', n);

		/* A new answer (after a 100 Continue, say): forget the last one's headers. */
		k->hdr_status = sp ? strtol(sp + 1, NULL, 10) : 0;
		k->etag[0] = k->content_range[0] = k->last_modified[0] = '\0';
		k->bucket_region[0] = '\0';
		k->has_length = false;
		return n;
	}
	if (s3_header(p, n, "etag", k->etag, sizeof(k->etag)) ||
	    s3_header(p, n, "content-range", k->content_range, sizeof(k->content_range)) ||
	    s3_header(p, n, "last-modified", k->last_modified, sizeof(k->last_modified)) ||
	    s3_header(p, n, "x-amz-bucket-region", k->bucket_region, sizeof(k->bucket_region)))
		return n;
	if (s3_header(p, n, "content-length", v, sizeof(v))) {
		char *end;

		k->content_length = strtoull(v, &end, 10);
		k->has_length = end != v && *end == '\0';
	}
	return n;
}

/* s3_on_read feeds the request body (borrowed from the caller) to libcurl. */
static size_t s3_on_read(char *p, size_t size, size_t nmemb, void *ud)
{
	struct s3_call *k = ud;
	size_t n = size * nmemb, left = k->body_len - k->sent;

	if (n > left)
		n = left;
	if (n)
		memcpy(p, (const char *)k->body + k->sent, n);
	k->sent += n;
	return n;
}

/*
 * s3_call_target writes the request's host, path (encoded once, as sent and
 * signed) and URL for path-style or virtual-hosted addressing. Bucket-level
 * requests are "/bucket" (path style, no trailing slash) or "/".
 */
static int s3_call_target(const struct s3_store *s, const struct s3_call *k, struct buf *host,
			  struct buf *path, struct buf *url, struct err *e)
{
	if (s->path_style) {
		buf_puts(host, s->host);
		buf_putc(path, '/');
		buf_puts(path, k->loc->bucket);
		if (k->key) {
			buf_putc(path, '/');
			sigv4_uri_encode(path, k->key, strlen(k->key), true);
		}
	} else {
		buf_printf(host, "%s.%s", k->loc->bucket, s->host);
		buf_putc(path, '/');
		if (k->key)
			sigv4_uri_encode(path, k->key, strlen(k->key), true);
	}
	buf_printf(url, "%s://%s%s", s->scheme, host->data ? host->data : "",
		   path->data ? path->data : "/");
	if (k->query && *k->query)
		buf_printf(url, "?%s", k->query);
	if (host->err || path->err || url->err)
		return err_set(e, ERR_LIMIT, "%.300s: the request URL is too long", k->loc->uri);
	return 0;
}

/* s3_slist_add appends the line in b to *l; false when out of memory or the line failed. */
static bool s3_slist_add(struct curl_slist **l, const struct buf *b)
{
	struct curl_slist *n;

	if (b->err || !b->data || !(n = curl_slist_append(*l, b->data)))
		return false;
	*l = n;
	return true;
}

/* s3_call_headers lists every header to send; the caller frees the list. */
static struct curl_slist *s3_call_headers(const struct s3_call *k, const char *host,
					  const struct sigv4_signed *sig, struct buf *line)
{
	struct curl_slist *l = NULL;
	bool ok;

	buf_reset(line);
	buf_printf(line, "Host: %s", host);
	ok = s3_slist_add(&l, line);
	/* Waiting for 100 Continue would only slow every upload down. */
	buf_reset(line);
	buf_puts(line, "Expect:");
	ok = ok && s3_slist_add(&l, line);
	/* An empty value stops libcurl adding a form content type to POSTs. */
	buf_reset(line);
	buf_printf(line, "Content-Type:%s%s", k->content_type ? " " : "",
		   k->content_type ? k->content_type : "");
	ok = ok && s3_slist_add(&l, line);
	if (k->range) {
		buf_reset(line);
		buf_printf(line, "Range: %s", k->range);
		ok = ok && s3_slist_add(&l, line);
	}
	if (k->if_match) {
		buf_reset(line);
		buf_printf(line, "If-Match: %s", k->if_match);
		ok = ok && s3_slist_add(&l, line);
	}
	for (size_t i = 0; ok && i < sig->n_add; i++) {
		buf_reset(line);
		buf_printf(line, "%s: %s", sig->add[i].name, sig->add[i].value);
		ok = s3_slist_add(&l, line);
	}
	if (!ok) {
		curl_slist_free_all(l);
		return NULL;
	}
	return l;
}

/* s3_call_error_xml takes Code and Message from an <Error> answer, if there is one. */
static void s3_call_error_xml(struct s3_call *k)
{
	struct err ignore;

	if (!k->out->len)
		return;
	if (s3xml_get(k->out->data, k->out->len, "Error/Code", k->code, sizeof(k->code),
		      &ignore) < 0)
		k->code[0] = '\0';
	if (s3xml_get(k->out->data, k->out->len, "Error/Message", k->message,
		      sizeof(k->message), &ignore) < 0)
		k->message[0] = '\0';
	/* A message goes into barge's own: keep it on one line. */
	for (char *p = k->message; *p; p++) {
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	}
}

/*
 * s3_call_once signs and sends k once and records the answer in k (status,
 * headers, body, S3's error code). It returns 0 whenever the request went
 * out, whatever came back, and a negative code only when it could not be
 * made (signing, memory, an overlong URL).
 */
static int s3_call_once(struct s3_conn *c, struct s3_call *k, struct err *e)
{
	const struct s3_store *s = c->s;
	struct sigv4_header sh[1];
	struct sigv4_request req;
	struct sigv4_creds cr = {c->creds.access_key_id, c->creds.secret_access_key,
				 c->creds.session_token[0] ? c->creds.session_token : NULL};
	struct sigv4_signed sig;
	struct buf host, path, url, line;
	struct curl_slist *hdrs = NULL;
	CURL *h = c->h;
	int rc;

	k->status = k->hdr_status = 0;
	k->cc = CURLE_OK;
	k->curl_err[0] = k->etag[0] = k->content_range[0] = k->last_modified[0] = '\0';
	k->bucket_region[0] = k->code[0] = k->message[0] = '\0';
	k->too_big = k->error_in_ok = k->has_length = false;
	k->sent = 0;
	buf_reset(k->out);
	buf_init(&host, S3_HOST_MAX + S3_BUCKET_MAX + 2);
	buf_init(&path, S3_URL_MAX);
	buf_init(&url, S3_URL_MAX);
	buf_init(&line, S3_URL_MAX);
	sigv4_signed_init(&sig);
	rc = s3_call_target(s, k, &host, &path, &url, e);
	if (rc)
		goto out;
	sh[0].name = "host";
	sh[0].value = host.data;
	memset(&req, 0, sizeof(req));
	req.method = k->method;
	req.path = path.data;
	req.query = k->query;
	req.headers = sh;
	req.n_headers = 1;
	req.payload = k->body;
	req.payload_len = k->body_len;
	req.payload_hash = k->body_sha256;
	rc = sigv4_sign(&req, &cr, s->region, "s3", time_now_ms(), &sig, e);
	if (rc)
		goto out;
	hdrs = s3_call_headers(k, host.data, &sig, &line);
	if (!hdrs) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* The path is signed as sent: libcurl must not tidy "//" or "." in keys. */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, S3_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, S3_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, S3_LOW_SPEED_S);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "barge-s3");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, k);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->curl_err);
	if (!strcmp(k->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(k->method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, k);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)k->body_len);
	} else if (!strcmp(k->method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, k->body ? (const char *)k->body : "");
	} else if (strcmp(k->method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, k->method);
	}
	k->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &k->status);
	/* Leave no pointer to this call's stack behind in the pooled handle. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (k->cc != CURLE_OK) {
		k->had_transport_error = true;
	} else if (k->status < 200 || k->status > 299) {
		s3_call_error_xml(k);
	} else if (k->check_error_root && k->out->len) {
		char root[32];
		struct err ignore;

		if (s3xml_root(k->out->data, k->out->len, root, sizeof(root), &ignore) == 0 &&
		    !strcmp(root, "Error")) {
			k->error_in_ok = true;
			s3_call_error_xml(k);
		}
	}
out:
	curl_slist_free_all(hdrs);
	sigv4_signed_free(&sig);
	buf_free(&host);
	buf_free(&path);
	buf_free(&url);
	buf_free(&line);
	return rc;
}

/* s3_code_is compares S3's error code of the last answer of k. */
bool s3_code_is(const struct s3_call *k, const char *code)
{
	return !strcmp(k->code, code);
}

/* s3_retryable says whether the last answer of k is worth another try. */
static bool s3_retryable(const struct s3_call *k)
{
	if (k->too_big)
		return false;
	switch (k->cc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
	if (k->status == 429 || k->status == 500 || k->status == 502 || k->status == 503 ||
	    k->status == 504)
		return true;
	return s3_code_is(k, "SlowDown") || s3_code_is(k, "InternalError") ||
	       s3_code_is(k, "ServiceUnavailable") || s3_code_is(k, "RequestTimeout");
}

/* s3_backoff_ms is the wait before try attempt + 1: exponential, half of it random. */
static int64_t s3_backoff_ms(int attempt)
{
	int64_t ms = (int64_t)S3_BACKOFF_MS << (attempt > 6 ? 6 : attempt - 1);
	unsigned short rnd;

	if (ms > S3_BACKOFF_MAX_MS)
		ms = S3_BACKOFF_MAX_MS;
	/* Jitter keeps many runners that failed together from retrying together. */
	ids_random_bytes(&rnd, sizeof(rnd));
	return ms / 2 + (ms / 2) * rnd / 65535;
}

/* s3_why describes the last answer of k in a few words, for messages. */
static void s3_why(const struct s3_call *k, char *out, size_t n)
{
	if (k->cc != CURLE_OK)
		snprintf(out, n, "%s", k->curl_err[0] ? k->curl_err : curl_easy_strerror(k->cc));
	else if (k->code[0])
		snprintf(out, n, "HTTP %ld %s", k->status, k->code);
	else
		snprintf(out, n, "HTTP %ld", k->status);
}

/* s3_creds_hint says where the credentials in use came from, without the secret. */
static void s3_creds_hint(const struct s3_conn *c, char *out, size_t n)
{
	snprintf(out, n, "access key id %.32s from %s", c->creds.access_key_id,
		 c->creds.source);
}

/* s3_answer_error turns S3's error answer into a message naming the object and the remedy. */
static int s3_answer_error(const struct s3_conn *c, const struct s3_call *k, struct err *e)
{
	const char *uri = k->loc->uri, *b = k->loc->bucket, *msg = k->message;
	char why[128], creds[160];

	s3_why(k, why, sizeof(why));
	s3_creds_hint(c, creds, sizeof(creds));
	if (s3_code_is(k, "NoSuchBucket"))
		return err_set(e, ERR_NOTFOUND,
			       "bucket %s does not exist at %s (for %.300s): create it, or correct the "
			       "bucket name",
			       b, c->s->endpoint, uri);
	if (s3_code_is(k, "NoSuchKey") || (k->status == 404 && !k->code[0]))
		return err_set(e, ERR_NOTFOUND, "%.300s does not exist", uri);
	if (s3_code_is(k, "NoSuchUpload"))
		return err_set(e, ERR_REMOTE,
			       "the multipart upload of %.300s is gone (aborted, or expired by a "
			       "lifecycle rule): write the object again",
			       uri);
	if (s3_code_is(k, "SignatureDoesNotMatch"))
		return err_set(e, ERR_AUTH,
			       "the S3 server at %s refused the signature of %s on %.300s "
			       "(SignatureDoesNotMatch): the secret access key does not belong to the "
			       "access key id; check the credentials of [storage.s3] (%s)",
			       c->s->endpoint, k->op, uri, creds);
	if (s3_code_is(k, "InvalidAccessKeyId"))
		return err_set(e, ERR_AUTH,
			       "the S3 server at %s does not know the access key id (InvalidAccessKeyId, "
			       "for %.300s): check the credentials of [storage.s3] (%s)",
			       c->s->endpoint, uri, creds);
	if (s3_code_is(k, "ExpiredToken") || s3_code_is(k, "InvalidToken") ||
	    s3_code_is(k, "TokenRefreshRequired"))
		return err_set(e, ERR_AUTH,
			       "the S3 server refused the session token (%s, for %.300s): renew the "
			       "temporary credentials; check the credentials of [storage.s3] (%s)",
			       k->code, uri, creds);
	if (s3_code_is(k, "AccessDenied") || s3_code_is(k, "AllAccessDisabled") ||
	    (k->status == 403 && !k->code[0]))
		return err_set(e, ERR_AUTH,
			       "access to %.300s was denied (%s to %s%s%s): check the credentials of "
			       "[storage.s3] (%s) and that they may use bucket %s",
			       uri, why, k->op, msg[0] ? ": " : "", msg, creds, b);
	if (k->bucket_region[0] && strcmp(k->bucket_region, c->s->region))
		return err_set(e, ERR_CONFIG,
			       "bucket %s is in region %s, not %s (%s to %s of %.300s): set region = %s "
			       "in [storage.s3]",
			       b, k->bucket_region, c->s->region, why, k->op, uri, k->bucket_region);
	if (s3_code_is(k, "RequestTimeTooSkewed"))
		return err_set(e, ERR_REMOTE,
			       "the S3 server says this machine's clock is wrong (RequestTimeTooSkewed, "
			       "for %.300s): set the clock right (NTP)",
			       uri);
	if (k->status >= 500 || s3_retryable(k))
		return err_set(e, ERR_REMOTE,
			       "the S3 server at %s kept failing (%s%s%s) on %s of %.300s after %d "
			       "attempts over %.1f s: try again later",
			       c->s->endpoint, why, msg[0] ? ": " : "", msg, k->op, uri, k->attempts,
			       (double)k->elapsed_ms / 1000.0);
	return err_set(e, ERR_REMOTE, "the S3 server at %s refused %s of %.300s (%s%s%s)",
		       c->s->endpoint, k->op, uri, why, msg[0] ? ": " : "", msg);
}

/* s3_transport_error explains a request that got no answer, after its retries. */
static int s3_transport_error(const struct s3_conn *c, const struct s3_call *k, struct err *e)
{
	char why[CURL_ERROR_SIZE + 16];

	if (k->too_big)
		return err_set(e, ERR_LIMIT, "the S3 server's answer to %s of %.300s is larger than "
					     "the %zu bytes barge accepts",
			       k->op, k->loc->uri, k->max_body);
	s3_why(k, why, sizeof(why));
	return err_set(e, ERR_REMOTE,
		       "cannot reach the S3 server at %s for %s of %.300s (%s; %d attempts over "
		       "%.1f s): check that it is up and that [storage.s3] endpoint is right",
		       c->s->endpoint, k->op, k->loc->uri, why, k->attempts,
		       (double)k->elapsed_ms / 1000.0);
}

/*
 * s3_call sends k, retrying transient failures with backoff, and returns 0
 * for a 2xx answer; otherwise a negative code with a message from S3's error
 * (k keeps the last answer, so callers may look at status and code).
 */
int s3_call(struct s3_conn *c, struct s3_call *k, struct err *e)
{
	int64_t t0 = time_mono_ms();
	int rc;

	for (k->attempts = 1;; k->attempts++) {
		int64_t delay;
		char why[128];

		rc = s3_call_once(c, k, e);
		if (rc)
			return rc;
		if (!s3_retryable(k) || k->attempts >= S3_ATTEMPTS)
			break;
		delay = s3_backoff_ms(k->attempts);
		if (time_mono_ms() - t0 + delay > S3_RETRY_BUDGET_MS)
			break;
		s3_why(k, why, sizeof(why));
		log_warn("S3 %s of %.300s: %s; trying again in %lld ms", k->op, k->loc->uri, why,
			 (long long)delay);
		time_sleep_ms(delay);
	}
	k->elapsed_ms = time_mono_ms() - t0;
	if (k->cc != CURLE_OK)
		return s3_transport_error(c, k, e);
	if (k->status >= 200 && k->status <= 299 && !k->error_in_ok)
		return 0;
	return s3_answer_error(c, k, e);
}
