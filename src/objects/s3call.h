/* s3call.h - one S3 request: addressing, SigV4 signing, libcurl, retries, S3's errors. */
#ifndef BARGE_S3CALL_H
#define BARGE_S3CALL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects/s3xml.h"
#include "util/awscreds.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/err.h"

/*
 * This is the private interface between s3call.c, which turns one S3
 * operation into a signed HTTP request and an answer (or a message a user
 * can act on), and s3.c, which builds the object store on it.
 */

/* Answers other than object bodies: listings of 1,000 keys are well below this. */
#define S3_XML_MAX ((size_t)8 << 20)
#define S3_ERR_BODY_MAX ((size_t)64 << 10)
#define S3_BUCKET_MAX 63
#define S3_HOST_MAX 256
#define S3_URL_MAX ((size_t)32 << 10)

/*
 * Retries: transient failures (connection refused or reset, timeouts, HTTP
 * 429/500/502/503/504, SlowDown and the like) are tried again after an
 * exponential backoff with jitter, up to S3_ATTEMPTS tries and about
 * S3_RETRY_BUDGET_MS in all, which rides out a restarting server.
 */
#define S3_ATTEMPTS 8
#define S3_RETRY_BUDGET_MS 30000
#define S3_BACKOFF_MS 250
#define S3_BACKOFF_MAX_MS 8000
#define S3_CONNECT_TIMEOUT_MS 10000L
#define S3_TIMEOUT_MS 300000L
/* A transfer slower than 1 KiB/s for this long is given up (and retried). */
#define S3_LOW_SPEED_S 30L
/* Idle libcurl handles kept for reuse, so that their connections stay open. */
#define S3_IDLE_HANDLES 4

struct s3_store {
	const struct s3_cfg *cfg; /* borrowed: the configuration outlives the store */
	char scheme[8];
	char host[S3_HOST_MAX];
	char endpoint[S3_HOST_MAX + 16];
	char region[64];
	bool path_style;
	char bad[ERR_MSG_MAX]; /* a configuration problem, reported on first use */
	pthread_mutex_t lock;   /* guards idle */
	CURL *idle[S3_IDLE_HANDLES];
	size_t n_idle;
};

/* One user of the store: a libcurl handle of its own and the credentials in force. */
struct s3_conn {
	struct s3_store *s;
	CURL *h;
	struct aws_creds creds;
};

/* An s3://bucket/key location; key points into uri and is "" for the bucket itself. */
struct s3_loc {
	char bucket[S3_BUCKET_MAX + 1];
	const char *key;
	const char *uri;
};

/* One S3 request and what came back; s3_call_init fills the defaults. */
struct s3_call {
	const char *method;
	const char *op;    /* S3's name of the operation, for messages */
	const struct s3_loc *loc;
	const char *key;   /* the object's key, or NULL for a bucket-level request */
	const char *query; /* encoded, without '?', or NULL */
	const void *body;
	size_t body_len;
	const char *body_sha256; /* hex SHA-256 of body when already known */
	const char *content_type;
	const char *range;
	const char *if_match;
	bool check_error_root; /* a 200 may still carry <Error> (CompleteMultipartUpload) */
	size_t max_body;       /* most bytes of a successful answer kept */
	struct buf *out;       /* the answer's body: own unless the caller gives a buffer */
	struct buf own;
	/* The answer of the last attempt. */
	long status;
	long hdr_status;
	CURLcode cc;
	char curl_err[CURL_ERROR_SIZE];
	bool too_big;
	bool error_in_ok;
	bool had_transport_error; /* some attempt failed on the network */
	size_t sent;
	char etag[S3XML_ETAG_MAX];
	char content_range[128];
	char last_modified[64];
	char bucket_region[64];
	uint64_t content_length;
	bool has_length;
	char code[64];
	char message[512];
	int attempts;
	int64_t elapsed_ms;
};

/*
 * s3_conn_open readies c for requests: the credentials as they are now (so
 * that rotated ones are picked up) and an idle libcurl handle or a new one.
 * The caller releases c with s3_conn_close, also after a failure.
 */
int s3_conn_open(struct s3_store *s, struct s3_conn *c, struct err *e);
/* s3_conn_close wipes the credentials and gives the handle back for reuse. */
void s3_conn_close(struct s3_conn *c);

/* s3_loc_parse splits an s3:// URI (borrowed by l) into bucket and key. */
int s3_loc_parse(const char *uri, struct s3_loc *l, struct err *e);

/*
 * s3_call_init prepares k for method and S3 operation op on key (NULL for a
 * bucket-level request) of loc; k borrows every pointer. s3_call_free
 * releases what the call owns.
 */
void s3_call_init(struct s3_call *k, const char *method, const char *op,
		  const struct s3_loc *loc, const char *key);
void s3_call_free(struct s3_call *k);

/*
 * s3_call sends k, retrying transient failures with backoff, and returns 0
 * for a 2xx answer; otherwise a negative code with a message from S3's error
 * (k keeps the last answer, so callers may look at status and code).
 */
int s3_call(struct s3_conn *c, struct s3_call *k, struct err *e);

/* s3_code_is says whether S3's error code in the last answer of k is code. */
bool s3_code_is(const struct s3_call *k, const char *code);

#endif
