/* test_http.c - the HTTP server layer against real HTTP on 127.0.0.1, with libcurl as client. */
#include "testutil.h"

#include "api/http.h"
#include "util/buf.h"
#include "util/time.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>

#define HOLD_N 20

/*
 * The test handler's view of the last request, copied under a lock because
 * the handler runs on the server's threads.
 */
static struct {
	pthread_mutex_t mu;
	char method[16];
	char path[256];
	char query[256];
	char peer[64];
	char hdr_custom[64];
	size_t body_len;
	int handled;
	/* /async */
	struct http_request *async_req;
	bool handler_returned;
	pthread_t async_thread;
	bool async_started;
	/* /hold */
	struct http_request *held[HOLD_N];
	int n_held;
	pthread_t hold_thread;
	bool hold_started;
	int double_rc;
} seen = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct fixture {
	struct http_server srv;
	char base[64];
};

static const struct http_header json_hdr[] = {{"Content-Type", "application/json"},
					      {"X-Answer", "42"}};

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* The async thread answers only after the handler has returned, to prove the answer comes later. */
static void *async_main(void *arg)
{
	struct http_request *req = arg;

	for (;;) {
		bool done;

		pthread_mutex_lock(&seen.mu);
		done = seen.handler_returned;
		pthread_mutex_unlock(&seen.mu);
		if (done)
			break;
		time_sleep_ms(5);
	}
	time_sleep_ms(100);
	http_reply(req, 202, json_hdr, 2, "late", 4);
	return NULL;
}

/* The hold thread answers all held requests in reverse order of arrival. */
static void *hold_main(void *arg)
{
	(void)arg;
	time_sleep_ms(50);
	for (int i = HOLD_N - 1; i >= 0; i--) {
		struct http_request *req = seen.held[i];

		http_reply(req, 200, NULL, 0, req->query, strlen(req->query));
	}
	return NULL;
}

/* A streamed body of `left` bytes 'a'..'z' repeating, or one cut in the middle. */
struct stream_src {
	size_t left, sent;
	bool fail;
};

static int streams_done;

static ssize_t stream_read(void *ctx, char *out, size_t max)
{
	struct stream_src *src = ctx;
	size_t n = max < 1000 ? max : 1000;

	if (src->fail && src->sent >= 150000)
		return -1;
	if (n > src->left)
		n = src->left;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)('a' + (src->sent + i) % 26);
	src->left -= n;
	src->sent += n;
	return (ssize_t)n;
}

static void stream_done(void *ctx)
{
	free(ctx);
	pthread_mutex_lock(&seen.mu);
	streams_done++;
	pthread_mutex_unlock(&seen.mu);
}

/* Paths under /big take bodies up to 4096 bytes; the rest the server's 1024. */
static size_t body_limit(void *ud, const struct http_request *req)
{
	(void)ud;
	return !strncmp(req->path, "/big", 4) ? 4096 : 1024;
}

static void handler(void *ud, struct http_request *req)
{
	(void)ud;
	pthread_mutex_lock(&seen.mu);
	copy_str(seen.method, sizeof(seen.method), req->method);
	copy_str(seen.path, sizeof(seen.path), req->path);
	copy_str(seen.query, sizeof(seen.query), req->query);
	copy_str(seen.peer, sizeof(seen.peer), req->peer);
	copy_str(seen.hdr_custom, sizeof(seen.hdr_custom),
		 http_request_header(req, "x-custom-THING"));
	seen.body_len = req->body_len;
	seen.handled++;
	pthread_mutex_unlock(&seen.mu);

	if (!strcmp(req->path, "/async")) {
		pthread_mutex_lock(&seen.mu);
		seen.async_req = req;
		seen.handler_returned = false;
		seen.async_started = pthread_create(&seen.async_thread, NULL, async_main, req) == 0;
		pthread_mutex_unlock(&seen.mu);
		time_sleep_ms(20);
		pthread_mutex_lock(&seen.mu);
		seen.handler_returned = true;
		pthread_mutex_unlock(&seen.mu);
		return;
	}
	if (!strcmp(req->path, "/hold")) {
		pthread_mutex_lock(&seen.mu);
		seen.held[seen.n_held++] = req;
		if (seen.n_held == HOLD_N)
			seen.hold_started = pthread_create(&seen.hold_thread, NULL, hold_main, NULL) == 0;
		pthread_mutex_unlock(&seen.mu);
		return;
	}
	if (!strcmp(req->path, "/close")) {
		http_reply_close(req);
		return;
	}
	if (!strcmp(req->path, "/trunc")) {
		http_reply_truncated(req, 200, json_hdr, 1, "0123456789", 10, 5);
		return;
	}
	if (!strcmp(req->path, "/stream") || !strcmp(req->path, "/stream-fail")) {
		struct stream_src *src = calloc(1, sizeof(*src));

		src->left = 300000;
		src->fail = !strcmp(req->path, "/stream-fail");
		http_reply_stream(req, 200, json_hdr, 1, stream_read, stream_done, src);
		return;
	}
	if (!strcmp(req->path, "/double")) {
		int rc;

		http_reply(req, 200, NULL, 0, "once", 4);
		rc = http_reply(req, 200, NULL, 0, "twice", 5);
		pthread_mutex_lock(&seen.mu);
		seen.double_rc = rc;
		pthread_mutex_unlock(&seen.mu);
		return;
	}
	/* Everything else echoes the body. */
	http_reply(req, 200, json_hdr, 2, req->body, req->body_len);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_server_opts o;
	struct err e;

	http_server_opts_default(&o);
	o.max_body_bytes = 1024;
	o.body_limit = body_limit;
	err_init(&e);
	assert_ok(http_server_init(&f->srv, &o, handler, NULL, &e), &e);
	assert_ok(http_server_start(&f->srv, &e), &e);
	assert_true(http_server_port(&f->srv) > 0);
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(&f->srv));
	pthread_mutex_lock(&seen.mu);
	seen.handled = 0;
	seen.n_held = 0;
	pthread_mutex_unlock(&seen.mu);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_server_free(&f->srv);
	free(f);
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* Collects response headers so a test can look for one. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

struct resp {
	CURLcode rc;
	long status;
	struct buf body;
	struct buf hdrs;
	long connects;
};

static void resp_init(struct resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 1 << 20);
	buf_init(&r->hdrs, 1 << 16);
}

static void resp_free(struct resp *r)
{
	buf_free(&r->body);
	buf_free(&r->hdrs);
}

/*
 * fetch runs one request on handle h (so that keep-alive can be observed):
 * body NULL means GET.
 */
static void fetch(CURL *h, const char *url, const char *body, size_t len,
		  struct curl_slist *hdrs, struct resp *r)
{
	buf_reset(&r->body);
	buf_reset(&r->hdrs);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->hdrs);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	r->rc = curl_easy_perform(h);
	r->status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
}

static void url_of(struct fixture *f, const char *path, char *out, size_t n)
{
	snprintf(out, n, "%s%s", f->base, path);
}

static void test_get_and_post_round_trip(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/hello", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_string_equal(seen.method, "GET");
	assert_string_equal(seen.path, "/hello");
	assert_string_equal(seen.query, "");
	assert_true(!strncmp(seen.peer, "127.0.0.1:", 10));
	assert_contains(r.hdrs.data, "X-Answer: 42");
	assert_contains(r.hdrs.data, "Content-Type: application/json");

	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, "{\"a\":\"b\0c\"}", 11, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 11);
	assert_memory_equal(r.body.data, "{\"a\":\"b\0c\"}", 11);
	assert_string_equal(seen.method, "POST");
	assert_int_equal(seen.body_len, 11);
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_headers_case_insensitive(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = curl_slist_append(NULL, "X-Custom-Thing: Value 1");
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/h", url, sizeof(url));
	fetch(h, url, NULL, 0, hl, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_string_equal(seen.hdr_custom, "Value 1");
	curl_slist_free_all(hl);
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_raw_path_and_query(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/model/a%3Ab/invoke?x=a%20b&y=%2F", url, sizeof(url));
	fetch(h, url, "{}", 2, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(seen.path, "/model/a%3Ab/invoke");
	assert_string_equal(seen.query, "x=a%20b&y=%2F");
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_body_over_cap_is_413(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256], *big = malloc(2000);
	int before;

	memset(big, 'x', 2000);
	resp_init(&r);
	pthread_mutex_lock(&seen.mu);
	before = seen.handled;
	pthread_mutex_unlock(&seen.mu);
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, big, 2000, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 413);
	assert_contains(r.body.data, "\"request_too_large\"");
	assert_contains(r.body.data, "1024 bytes");
	/* Exactly the cap still passes. */
	fetch(h, url, big, 1024, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 1024);
	pthread_mutex_lock(&seen.mu);
	assert_int_equal(seen.handled, before + 1);
	pthread_mutex_unlock(&seen.mu);
	free(big);
	resp_free(&r);
	curl_easy_cleanup(h);
}

struct chunked_src {
	size_t left;
};

static size_t read_chunks(char *p, size_t size, size_t n, void *ud)
{
	struct chunked_src *s = ud;
	size_t k = size * n < 300 ? size * n : 300;

	if (k > s->left)
		k = s->left;
	memset(p, 'y', k);
	s->left -= k;
	return k;
}

/* A chunked body has no Content-Length to refuse early: the cap applies as it arrives. */
static void test_chunked_body_over_cap_is_413(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	struct chunked_src src = {1500};
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/echo", url, sizeof(url));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_chunks);
	curl_easy_setopt(h, CURLOPT_READDATA, &src);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
	assert_int_equal(r.status, 413);
	assert_contains(r.body.data, "request_too_large");
	curl_slist_free_all(hl);
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_async_reply_after_handler_returned(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];
	int64_t t0 = time_mono_ms();

	resp_init(&r);
	url_of(f, "/async", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 202);
	assert_int_equal(r.body.len, 4);
	assert_memory_equal(r.body.data, "late", 4);
	assert_true(time_mono_ms() - t0 >= 100);
	assert_true(seen.async_started);
	pthread_join(seen.async_thread, NULL);
	/* The connection is usable again after a suspended answer. */
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, "ok", 2, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.connects, 0);
	resp_free(&r);
	curl_easy_cleanup(h);
}

/* Many requests wait at once, each holding no thread, and are answered in reverse order. */
static void test_many_suspended_answered_out_of_order(void **state)
{
	struct fixture *f = *state;
	CURLM *m = curl_multi_init();
	CURL *hs[HOLD_N];
	struct buf bodies[HOLD_N];
	char url[256];
	int running = 1;

	for (int i = 0; i < HOLD_N; i++) {
		hs[i] = curl_easy_init();
		buf_init(&bodies[i], 1024);
		snprintf(url, sizeof(url), "%s/hold?i=%d", f->base, i);
		curl_easy_setopt(hs[i], CURLOPT_URL, url);
		curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(hs[i], CURLOPT_WRITEDATA, &bodies[i]);
		curl_easy_setopt(hs[i], CURLOPT_TIMEOUT, 10L);
		curl_multi_add_handle(m, hs[i]);
	}
	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	assert_true(seen.hold_started);
	pthread_join(seen.hold_thread, NULL);
	for (int i = 0; i < HOLD_N; i++) {
		long status = 0;
		char want[16];

		curl_easy_getinfo(hs[i], CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		snprintf(want, sizeof(want), "i=%d", i);
		assert_int_equal(bodies[i].len, strlen(want));
		assert_memory_equal(bodies[i].data, want, strlen(want));
		curl_multi_remove_handle(m, hs[i]);
		curl_easy_cleanup(hs[i]);
		buf_free(&bodies[i]);
	}
	curl_multi_cleanup(m);
}

static void test_keep_alive_reuses_connection(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, "one", 3, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.connects, 1);
	fetch(h, url, "two", 3, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.connects, 0);
	assert_memory_equal(r.body.data, "two", 3);
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_equal(r.connects, 0);
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_close_without_answer(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/close", url, sizeof(url));
	fetch(h, url, "{}", 2, NULL, &r);
	assert_true(r.rc == CURLE_GOT_NOTHING || r.rc == CURLE_RECV_ERROR);
	assert_int_equal(r.status, 0);
	/* The server goes on serving. */
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, "x", 1, NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	curl_easy_cleanup(h);
}

/* A path may take a larger body than the server's own cap, and no more. */
static void test_body_limit_per_path(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256], *big = malloc(5000);

	memset(big, 'x', 5000);
	resp_init(&r);
	url_of(f, "/big/upload", url, sizeof(url));
	fetch(h, url, big, 4096, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 4096);
	fetch(h, url, big, 4097, NULL, &r);
	assert_int_equal(r.status, 413);
	assert_contains(r.body.data, "4096 bytes");
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, big, 2000, NULL, &r);
	assert_int_equal(r.status, 413);
	free(big);
	resp_free(&r);
	curl_easy_cleanup(h);
}

/* A streamed body arrives whole, chunked, and its context is freed. */
static void test_streamed_body(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];
	int done_before;

	resp_init(&r);
	pthread_mutex_lock(&seen.mu);
	done_before = streams_done;
	pthread_mutex_unlock(&seen.mu);
	url_of(f, "/stream", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 300000);
	for (size_t i = 0; i < r.body.len; i += 7919)
		assert_int_equal(r.body.data[i], 'a' + (int)(i % 26));
	assert_contains(r.hdrs.data, "Transfer-Encoding: chunked");
	/* A failure in the middle cuts the body: the client can tell. */
	url_of(f, "/stream-fail", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_not_equal(r.rc, CURLE_OK);
	assert_true(r.body.len < 300000);
	http_server_stop(&f->srv);
	pthread_mutex_lock(&seen.mu);
	assert_int_equal(streams_done, done_before + 2);
	pthread_mutex_unlock(&seen.mu);
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_truncated_body(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/trunc", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 5);
	assert_memory_equal(r.body.data, "01234", 5);
	assert_contains(r.hdrs.data, "Content-Length: 10");
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_double_reply_is_refused(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/double", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body.data, "once", 4);
	assert_int_equal(seen.double_rc, ERR_CONFLICT);
	resp_free(&r);
	curl_easy_cleanup(h);
}

/* A second server cannot take a port in use, and the message says which. */
static void test_port_in_use_and_restart(void **state)
{
	struct fixture *f = *state;
	struct http_server s2;
	struct http_server_opts o;
	unsigned port = http_server_port(&f->srv);
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];
	struct err e;

	http_server_opts_default(&o);
	o.port = port;
	err_init(&e);
	assert_ok(http_server_init(&s2, &o, handler, NULL, &e), &e);
	assert_int_equal(http_server_start(&s2, &e), ERR_IO);
	assert_contains(e.msg, "cannot listen on 127.0.0.1:");
	http_server_free(&s2);

	/*
	 * The server closes a kept-alive connection first, which leaves the port
	 * in TIME_WAIT; SO_REUSEADDR lets a new server bind it at once anyway.
	 */
	resp_init(&r);
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, "z", 1, NULL, &r);
	assert_int_equal(r.status, 200);
	http_server_free(&f->srv);
	curl_easy_cleanup(h);
	assert_ok(http_server_init(&f->srv, &o, handler, NULL, &e), &e);
	assert_ok(http_server_start(&f->srv, &e), &e);
	assert_int_equal(http_server_port(&f->srv), port);
	h = curl_easy_init();
	fetch(h, url, "again", 5, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body.data, "again", 5);
	resp_free(&r);
	curl_easy_cleanup(h);
}

/* The client side of test_stop_waits_for_answers: one blocking request. */
static void *client_main(void *arg)
{
	struct fixture *f = arg;
	CURL *h = curl_easy_init();
	struct resp r;
	char url[256];

	resp_init(&r);
	url_of(f, "/hold?i=stop", url, sizeof(url));
	fetch(h, url, NULL, 0, NULL, &r);
	resp_free(&r);
	curl_easy_cleanup(h);
	return NULL;
}

static void *stop_main(void *arg)
{
	struct fixture *f = arg;

	http_server_stop(&f->srv);
	return NULL;
}

/* Stopping waits until the application has answered what it holds, then stops. */
static void test_stop_waits_for_answers(void **state)
{
	struct fixture *f = *state;
	pthread_t client, stopper;
	struct http_request *req = NULL;
	bool stopped;

	assert_int_equal(pthread_create(&client, NULL, client_main, f), 0);
	for (int i = 0; i < 500 && !req; i++) {
		time_sleep_ms(10);
		pthread_mutex_lock(&seen.mu);
		if (seen.n_held == 1)
			req = seen.held[0];
		pthread_mutex_unlock(&seen.mu);
	}
	assert_non_null(req);
	assert_int_equal(pthread_create(&stopper, NULL, stop_main, f), 0);
	time_sleep_ms(150);
	pthread_mutex_lock(&f->srv.mu);
	stopped = !f->srv.stopping || f->srv.pending == 0;
	pthread_mutex_unlock(&f->srv.mu);
	assert_false(stopped);
	http_reply_close(req);
	pthread_join(stopper, NULL);
	pthread_join(client, NULL);
	assert_null(f->srv.daemon);
}

/*
 * More headers than the server keeps are refused rather than cut silently,
 * and so is a header larger than the connection's memory limit.
 */
static void test_too_many_headers_is_431(void **state)
{
	struct fixture *f = *state;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct resp r;
	char url[256], line[64];

	for (int i = 0; i < HTTP_MAX_HEADERS + 5; i++) {
		snprintf(line, sizeof(line), "X-H%d: %d", i, i);
		hl = curl_slist_append(hl, line);
	}
	resp_init(&r);
	url_of(f, "/echo", url, sizeof(url));
	fetch(h, url, "{}", 2, hl, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 431);
	curl_slist_free_all(hl);

	/* One header larger than the connection's memory: MHD refuses it itself. */
	{
		size_t big = HTTP_DEFAULT_MAX_HEADER + 1000;
		char *huge = malloc(big + 16);

		strcpy(huge, "X-Big: ");
		memset(huge + 7, 'a', big);
		huge[7 + big] = '\0';
		hl = curl_slist_append(NULL, huge);
		free(huge);
		fetch(h, url, "{}", 2, hl, &r);
		assert_int_equal(r.status, 431);
		curl_slist_free_all(hl);
	}
	resp_free(&r);
	curl_easy_cleanup(h);
}

static void test_bad_host_is_reported(void **state)
{
	struct http_server s;
	struct http_server_opts o;
	struct err e;

	(void)state;
	http_server_opts_default(&o);
	strcpy(o.host, "no-such-host.invalid");
	err_init(&e);
	assert_ok(http_server_init(&s, &o, handler, NULL, &e), &e);
	assert_int_equal(http_server_start(&s, &e), ERR_CONFIG);
	assert_contains(e.msg, "no-such-host.invalid");
	http_server_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_and_post_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers_case_insensitive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_path_and_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_over_cap_is_413, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_body_over_cap_is_413, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_reply_after_handler_returned, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_suspended_answered_out_of_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_reuses_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_without_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit_per_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_reply_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_in_use_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_waits_for_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_headers_is_431, setup, teardown),
		cmocka_unit_test(test_bad_host_is_reported),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
