/* sigv4.h - AWS Signature Version 4: signing S3 and Bedrock requests, verifying clients. */
#ifndef BARGE_SIGV4_H
#define BARGE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_DATE_LEN 16   /* "20150830T123600Z" */
#define SIGV4_HEX_LEN 64    /* a hex SHA-256 or signature */
#define SIGV4_HASH_MAX 64   /* longest x-amz-content-sha256 value accepted */
#define SIGV4_KEY_ID_MAX 128 /* longest access key id accepted */
#define SIGV4_SECRET_MAX 1024 /* longest secret access key accepted */
#define SIGV4_MAX_HEADERS 256 /* most headers one request may sign */
/* The canonical request (path, query and signed headers) is capped at this. */
#define SIGV4_CANON_MAX ((size_t)1 << 20)
/* How far x-amz-date may be from the verifier's clock, as AWS allows. */
#define SIGV4_MAX_SKEW_MS ((int64_t)15 * 60 * 1000)

/*
 * Credentials are borrowed: the signer copies nothing it does not need and
 * wipes its derived keys. session_token is NULL or "" when there is none.
 */
struct sigv4_creds {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
};

/* One header line; names are matched without regard to case. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * A request as it goes on the wire (signing) or as it arrived (verifying).
 * Everything is borrowed from the caller.
 *
 * path is the path as sent, percent-encoded as it appears in the request
 * line, without the query ("/model/anthropic.claude-v2%3A1/invoke"); an
 * empty or NULL path means "/". query is the raw query as sent, without the
 * '?' (NULL or "" for none). headers are every header to sign (signing) or
 * every header received (verifying); a name may repeat. payload is the body
 * (NULL with payload_len 0 for none). payload_hash, when not NULL, stands in
 * for the SHA-256 of the payload (e.g. SIGV4_UNSIGNED_PAYLOAD, or the hex
 * hash of a body that is streamed from a file); an x-amz-content-sha256
 * header among the headers does the same and wins.
 */
struct sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct sigv4_header *headers;
	size_t n_headers;
	const void *payload;
	size_t payload_len;
	const char *payload_hash;
};

/*
 * The result of signing. add[0..n_add) are the headers to add to the request
 * before sending it; they point into this struct, so it must outlive their
 * use and must not be copied. canonical_request and string_to_sign are kept
 * so that a failed request can be diagnosed against the server's message.
 * Initialise with sigv4_signed_init, release with sigv4_signed_free.
 */
struct sigv4_signed {
	struct sigv4_header add[4];
	size_t n_add;
	char amz_date[SIGV4_DATE_LEN + 1];
	char content_sha256[SIGV4_HASH_MAX + 1];
	char signature[SIGV4_HEX_LEN + 1];
	struct buf authorization;
	struct buf token;
	struct buf canonical_request;
	struct buf string_to_sign;
};

/*
 * Why a verification failed. Each maps to the error AWS answers with (see
 * sigv4_verdict_aws_code); the message for the client is in struct err.
 */
enum sigv4_verdict {
	SIGV4_VERIFIED = 0,
	SIGV4_MISSING_AUTH,   /* no Authorization header */
	SIGV4_INCOMPLETE,     /* Authorization or X-Amz-Date malformed or incomplete */
	SIGV4_UNKNOWN_KEY,    /* the access key id is not known */
	SIGV4_BAD_SIGNATURE,  /* the signature or the body hash does not match */
	SIGV4_EXPIRED,        /* x-amz-date too far from now, either way */
	SIGV4_BAD_SCOPE,      /* credential scope: wrong date, region, service or terminator */
	SIGV4_FAILED          /* not the client's fault: memory, a cap, the key lookup */
};

/*
 * A secret lookup for the verifier: append the secret access key of
 * access_key_id to secret and return 0; return ERR_NOTFOUND when the key is
 * unknown (reported as SIGV4_UNKNOWN_KEY); any other negative code, with e
 * filled, makes the verification fail as SIGV4_FAILED. The verifier owns
 * and wipes secret.
 */
typedef int (*sigv4_lookup_fn)(void *ctx, const char *access_key_id, struct buf *secret,
			       struct err *e);

/*
 * What the verifier accepts. region and service, when not NULL, must match
 * the credential scope; NULL accepts any (the signature still covers them).
 * max_skew_ms 0 means SIGV4_MAX_SKEW_MS. UNSIGNED-PAYLOAD as the body hash is
 * refused unless allow_unsigned_payload is set.
 */
struct sigv4_verify_opts {
	const char *region;
	const char *service;
	int64_t now_ms;
	int64_t max_skew_ms;
	bool allow_unsigned_payload;
	sigv4_lookup_fn lookup;
	void *lookup_ctx;
};

/*
 * The verifier's answer. access_key_id is filled as soon as the
 * Authorization header has been parsed, so that failures can be logged with
 * it; trust it only when sigv4_verify returned 0.
 */
struct sigv4_verified {
	enum sigv4_verdict verdict;
	char access_key_id[SIGV4_KEY_ID_MAX + 1];
};

/*
 * sigv4_uri_encode appends s[0..n) to out with every byte but the RFC 3986
 * unreserved ones (A-Z a-z 0-9 - _ . ~) written as %XX (uppercase hex);
 * keep_slash leaves '/' alone, for paths. Returns 0 or out's failure
 * (ERR_LIMIT, ERR_NOMEM).
 */
int sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);

/*
 * sigv4_uri_decode appends s[0..n) to out with each %XX turned into its
 * byte. A '%' not followed by two hex digits is kept as it is, and '+' stays
 * '+' (it is not form encoding). Returns 0 or out's failure.
 */
int sigv4_uri_decode(struct buf *out, const char *s, size_t n);

/*
 * sigv4_sha256_hex writes the lowercase hex SHA-256 of p[0..n) and a NUL to
 * out (p may be NULL when n is 0). Returns 0, or ERR_INTERNAL if libcrypto
 * fails.
 */
int sigv4_sha256_hex(const void *p, size_t n, char out[SIGV4_HEX_LEN + 1]);

/*
 * sigv4_format_date writes ms (epoch milliseconds, years 1970-9999) as
 * "YYYYMMDDTHHMMSSZ" and a NUL to out. Returns 0 or ERR_INVAL.
 */
int sigv4_format_date(int64_t ms, char out[SIGV4_DATE_LEN + 1], struct err *e);

/*
 * sigv4_parse_date reads exactly "YYYYMMDDTHHMMSSZ" into epoch ms. Returns
 * 0, or ERR_INVAL (with *ms untouched) when s is not such a date.
 */
int sigv4_parse_date(const char *s, int64_t *ms);

/*
 * sigv4_canonical_uri appends the canonical URI of a path as sent. For S3
 * (s3 true) each segment is normalised to single encoding and nothing else
 * changes; for every other service "." and ".." segments and empty segments
 * are removed and the path is percent-encoded once more, so "%3A" becomes
 * "%253A". An empty or NULL path is "/". Returns 0, or ERR_LIMIT/ERR_NOMEM
 * with e filled.
 */
int sigv4_canonical_uri(struct buf *out, const char *path, bool s3, struct err *e);

/*
 * sigv4_canonical_query appends the canonical query of a raw query string
 * (NULL, "" or "?..." accepted): each name and value is decoded, re-encoded
 * per RFC 3986, and the pairs are sorted by name then value; a bare key
 * becomes "key=". Returns 0, or ERR_LIMIT/ERR_NOMEM with e filled.
 */
int sigv4_canonical_query(struct buf *out, const char *query, struct err *e);

/*
 * sigv4_canonical_request appends the canonical request of req to out,
 * signing exactly the headers in req (lowercased, values trimmed, repeats
 * joined with ',', sorted), and, when signed_headers is not NULL, appends
 * the SignedHeaders list to it. service decides the URI rules ("s3" or any
 * other). Returns 0, or a negative code with e filled (ERR_INVAL for a
 * malformed header name, ERR_LIMIT past SIGV4_CANON_MAX).
 */
int sigv4_canonical_request(struct buf *out, struct buf *signed_headers,
			    const struct sigv4_request *req, const char *service, struct err *e);

/*
 * sigv4_signed_init prepares out for sigv4_sign or sigv4_sign_exact;
 * sigv4_signed_free releases what they stored in it (and may be called on an
 * initialised struct that was never filled).
 */
void sigv4_signed_init(struct sigv4_signed *out);
void sigv4_signed_free(struct sigv4_signed *out);

/*
 * sigv4_sign signs req for sending at time_ms. req->headers must include
 * host and must not include x-amz-date, x-amz-security-token or
 * authorization: the signer adds those. Every header in req->headers is
 * signed, so pass only what the HTTP client sends unchanged (not User-Agent
 * or Expect). out->add receives x-amz-date, x-amz-content-sha256 (unless the
 * caller passed it), x-amz-security-token (when creds has a session token)
 * and Authorization. out must have been initialised; it owns the strings and
 * is refilled on each call. Returns 0 or a negative code with e filled.
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
	       const char *region, const char *service, int64_t time_ms,
	       struct sigv4_signed *out, struct err *e);

/*
 * sigv4_sign_exact signs exactly the headers in req, adding none: they must
 * include host and x-amz-date (whose value is the signing time), and the
 * session token, if any, must be among them already (creds->session_token is
 * ignored). This is the form of AWS's published test suite; out->add holds
 * only Authorization. Ownership as for sigv4_sign.
 */
int sigv4_sign_exact(const struct sigv4_request *req, const struct sigv4_creds *creds,
		     const char *region, const char *service,
		     struct sigv4_signed *out, struct err *e);

/*
 * sigv4_verify checks the SigV4 Authorization header of a request as
 * received: path and query raw as they were on the request line (not
 * decoded), every received header, the body. It recomputes the signature
 * over the headers named in SignedHeaders with the secret that opts->lookup
 * gives for the access key id, compares in constant time, and rejects an
 * x-amz-date too far from opts->now_ms. Returns 0 when the request is
 * authentic (out->verdict SIGV4_VERIFIED); ERR_AUTH when it is not, with
 * out->verdict saying why and e holding the message for the client in AWS's
 * words; or another negative code (verdict SIGV4_FAILED) when verification
 * could not be done. Nothing is allocated for the caller.
 */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_verify_opts *opts,
		 struct sigv4_verified *out, struct err *e);

/*
 * sigv4_verdict_aws_code names the AWS error for a verdict
 * ("InvalidSignatureException", ...): "InternalServerException" for
 * SIGV4_FAILED and "" for SIGV4_VERIFIED. The strings are static.
 */
const char *sigv4_verdict_aws_code(enum sigv4_verdict v);

/* sigv4_verdict_http_status is the HTTP status AWS gives a verdict: 403, or 500 for SIGV4_FAILED. */
int sigv4_verdict_http_status(enum sigv4_verdict v);

#endif
