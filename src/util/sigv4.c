/* sigv4.c - AWS Signature Version 4 on OpenSSL: canonical requests, signing, verification. */
#include "util/sigv4.h"
#include "util/uri.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/time.h"

#define SHA256_LEN 32
#define SCOPE_TERMINATOR "aws4_request"
/* The latest time x-amz-date can hold: 9999-12-31T23:59:59.999Z. */
#define SIGV4_TIME_MAX_MS 253402300799999LL

/* A piece of a borrowed string. */
struct span {
	const char *p;
	size_t n;
};

/*
 * A query parameter during sorting: its encoded name and value, first as
 * offsets into a buffer that is still growing, then as pointers.
 */
struct qparam {
	size_t koff, klen, voff, vlen;
	const char *k, *v;
};

/* A header during sorting: its lowercased name (offset, then pointer) and where it came from. */
struct hentry {
	size_t noff, nlen;
	const char *name;
	const char *value;
	size_t idx;
};

/* The parsed parts of an Authorization header. */
struct auth_parts {
	struct span credential;
	struct span signed_headers;
	struct span signature;
	struct span key_id, date, region, service, terminator;
};

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/*
 * is_space is the whitespace that header values are trimmed of. It is the
 * ASCII set Python's str.split() uses (including the separators 0x1c-0x1f),
 * so that values with tabs or folded lines canonicalise the way botocore
 * does.
 */
static bool is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/* span_trim drops spaces and tabs at both ends. */
static struct span span_trim(struct span s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* bytes_cmp orders two byte strings the way Python orders ASCII str. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* buf_fail_msg fills e after a buffer failed, naming what was being built. */
static int buf_fail_msg(const struct buf *b, const char *what, struct err *e)
{
	if (b->err == ERR_NOMEM)
		return err_set(e, ERR_NOMEM, "out of memory while building the %s", what);
	return err_set(e, ERR_LIMIT,
		       "the %s would exceed %zu bytes; SigV4 signs requests whose path, query "
		       "and headers are smaller than that",
		       what, b->max);
}

int sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			continue;
		buf_append(out, s + run, i - run);
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		buf_append(out, esc, sizeof(esc));
		run = i + 1;
	}
	buf_append(out, s + run, n - run);
	return out->err;
}

int sigv4_uri_decode(struct buf *out, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		char c;

		if (s[i] != '%' || i + 2 >= n)
			continue;
		hi = uri_hex_digit((unsigned char)s[i + 1]);
		lo = uri_hex_digit((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0)
			continue;
		buf_append(out, s + run, i - run);
		c = (char)(hi << 4 | lo);
		buf_append(out, &c, 1);
		i += 2;
		run = i + 1;
	}
	buf_append(out, s + run, n - run);
	return out->err;
}

int sigv4_sha256_hex(const void *p, size_t n, char out[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(n ? p : "", n, md, &len, EVP_sha256(), NULL) || len != SHA256_LEN) {
		out[0] = '\0';
		return ERR_INTERNAL;
	}
	hex_encode(md, len, out);
	return 0;
}

static int hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		       unsigned char out[SHA256_LEN])
{
	unsigned int len = 0;

	if (klen > INT_MAX)
		return ERR_INTERNAL;
	if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len) || len != SHA256_LEN)
		return ERR_INTERNAL;
	return 0;
}

int sigv4_format_date(int64_t ms, char out[SIGV4_DATE_LEN + 1], struct err *e)
{
	time_t t;
	struct tm tm;

	out[0] = '\0';
	if (ms < 0 || ms > SIGV4_TIME_MAX_MS)
		return err_set(e, ERR_INVAL,
			       "the signing time %lld ms since 1970 is outside the years 1970-9999; "
			       "check the system clock",
			       (long long)ms);
	t = (time_t)(ms / 1000);
	if (!gmtime_r(&t, &tm) ||
	    strftime(out, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_LEN) {
		out[0] = '\0';
		return err_set(e, ERR_INTERNAL, "could not format the signing time %lld ms",
			       (long long)ms);
	}
	return 0;
}

int sigv4_parse_date(const char *s, int64_t *ms)
{
	char rfc[32];
	int64_t v;

	for (int i = 0; i < SIGV4_DATE_LEN; i++) {
		char c = s[i];
		bool ok = i == 8 ? c == 'T' : i == 15 ? c == 'Z' : (c >= '0' && c <= '9');

		if (!ok)
			return ERR_INVAL;
	}
	if (s[SIGV4_DATE_LEN] != '\0')
		return ERR_INVAL;
	/* Reuse the RFC 3339 reader, which checks the calendar. */
	snprintf(rfc, sizeof(rfc), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 9,
		 s + 11, s + 13);
	if (time_parse_rfc3339(rfc, &v))
		return ERR_INVAL;
	*ms = v;
	return 0;
}

/*
 * normalize_segments fills segs with the segments of path that remain after
 * removing empty, "." and ".." ones the way RFC 3986 section 5.2.4 (and AWS,
 * which also drops empty segments) do. segs must hold one more entry than
 * path has slashes.
 */
static size_t normalize_segments(const char *path, size_t n, struct span *segs)
{
	size_t nseg = 0, start = 0;

	for (size_t i = 0; i <= n; i++) {
		struct span s;

		if (i < n && path[i] != '/')
			continue;
		s.p = path + start;
		s.n = i - start;
		start = i + 1;
		if (s.n == 0 || span_eq(s, "."))
			continue;
		if (span_eq(s, "..")) {
			if (nseg)
				nseg--;
			continue;
		}
		segs[nseg++] = s;
	}
	return nseg;
}

/*
 * canonical_path_s3 appends an S3 path encoded once. Decoding each segment
 * and encoding it again makes that true whichever characters the sender
 * left raw, while "%2F" inside a segment stays encoded.
 */
static int canonical_path_s3(struct buf *out, const char *path, size_t n, struct err *e)
{
	struct buf seg;
	size_t start = 0;
	int rc = 0;

	buf_init(&seg, SIGV4_CANON_MAX);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		buf_reset(&seg);
		if (sigv4_uri_decode(&seg, path + start, i - start)) {
			rc = buf_fail_msg(&seg, "canonical URI", e);
			goto fail;
		}
		sigv4_uri_encode(out, seg.data ? seg.data : "", seg.len, false);
		if (i < n)
			buf_putc(out, '/');
		start = i + 1;
	}
fail:
	buf_free(&seg);
	return rc;
}

/*
 * canonical_path_normalized appends the path of any other service:
 * normalised, then encoded once more on top of how it was sent.
 */
static int canonical_path_normalized(struct buf *out, const char *path, size_t n, struct err *e)
{
	struct span *segs;
	size_t nslash = 0, nseg;

	for (size_t i = 0; i < n; i++)
		nslash += path[i] == '/';
	segs = malloc((nslash + 1) * sizeof(*segs));
	if (!segs)
		return err_set(e, ERR_NOMEM, "out of memory while building the canonical URI");
	nseg = normalize_segments(path, n, segs);
	if (path[0] == '/' || nseg == 0)
		buf_putc(out, '/');
	for (size_t i = 0; i < nseg; i++) {
		if (i)
			buf_putc(out, '/');
		/* The second encoding: "%3A" as sent is signed as "%253A". */
		sigv4_uri_encode(out, segs[i].p, segs[i].n, false);
	}
	if (nseg && path[n - 1] == '/')
		buf_putc(out, '/');
	free(segs);
	return 0;
}

int sigv4_canonical_uri(struct buf *out, const char *path, bool s3, struct err *e)
{
	size_t n = path ? strlen(path) : 0;
	int rc = 0;

	if (n == 0)
		buf_putc(out, '/');
	else if (s3)
		rc = canonical_path_s3(out, path, n, e);
	else
		rc = canonical_path_normalized(out, path, n, e);
	if (!rc && out->err)
		rc = buf_fail_msg(out, "canonical URI", e);
	return rc;
}

static int qparam_cmp(const void *pa, const void *pb)
{
	const struct qparam *a = pa, *b = pb;
	int c = bytes_cmp(a->k, a->klen, b->k, b->klen);

	if (c)
		return c;
	return bytes_cmp(a->v, a->vlen, b->v, b->vlen);
}

/* encode_component decodes s[0..n) into tmp and appends it, encoded afresh, to store. */
static int encode_component(struct buf *store, struct buf *tmp, const char *s, size_t n)
{
	buf_reset(tmp);
	if (sigv4_uri_decode(tmp, s, n))
		return tmp->err;
	return sigv4_uri_encode(store, tmp->data ? tmp->data : "", tmp->len, false);
}

int sigv4_canonical_query(struct buf *out, const char *query, struct err *e)
{
	struct qparam *params = NULL;
	struct buf store, tmp;
	size_t n, np = 0, nmax = 1, start = 0;
	int rc = 0;

	buf_init(&store, SIGV4_CANON_MAX);
	buf_init(&tmp, SIGV4_CANON_MAX);
	if (!query)
		query = "";
	if (query[0] == '?')
		query++;
	n = strlen(query);
	for (size_t i = 0; i < n; i++)
		nmax += query[i] == '&';
	params = malloc(nmax * sizeof(*params));
	if (!params) {
		rc = err_set(e, ERR_NOMEM, "out of memory while building the canonical query");
		goto fail;
	}
	/* Reserving up front also makes store.data non-NULL for the pointers below. */
	if (buf_reserve(&store, n)) {
		rc = buf_fail_msg(&store, "canonical query", e);
		goto fail;
	}
	for (size_t i = 0; n && i <= n; i++) {
		const char *piece = query + start, *eq;
		size_t plen = i - start;
		struct qparam *q;

		if (i < n && query[i] != '&')
			continue;
		start = i + 1;
		/* "a=1&&b=2" and a trailing '&' carry no parameter. */
		if (plen == 0)
			continue;
		q = &params[np++];
		eq = memchr(piece, '=', plen);
		q->koff = store.len;
		encode_component(&store, &tmp, piece, eq ? (size_t)(eq - piece) : plen);
		q->klen = store.len - q->koff;
		q->voff = store.len;
		if (eq)
			encode_component(&store, &tmp, eq + 1, plen - (size_t)(eq - piece) - 1);
		q->vlen = store.len - q->voff;
		if (store.err || tmp.err) {
			rc = buf_fail_msg(store.err ? &store : &tmp, "canonical query", e);
			goto fail;
		}
	}
	/* store is complete and will not move again: offsets can become pointers. */
	for (size_t i = 0; i < np; i++) {
		params[i].k = store.data + params[i].koff;
		params[i].v = store.data + params[i].voff;
	}
	qsort(params, np, sizeof(*params), qparam_cmp);
	for (size_t i = 0; i < np; i++) {
		if (i)
			buf_putc(out, '&');
		buf_append(out, params[i].k, params[i].klen);
		buf_putc(out, '=');
		buf_append(out, params[i].v, params[i].vlen);
	}
	if (out->err)
		rc = buf_fail_msg(out, "canonical query", e);
fail:
	buf_free(&store);
	buf_free(&tmp);
	free(params);
	return rc;
}

/*
 * hentry_cmp sorts headers by lowercased name and keeps the order they were
 * given in among equal names, since repeated values are joined in order.
 */
static int hentry_cmp(const void *pa, const void *pb)
{
	const struct hentry *a = pa, *b = pb;
	int c = bytes_cmp(a->name, a->nlen, b->name, b->nlen);

	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* append_trimmed appends v without leading and trailing whitespace and with inner runs collapsed. */
static void append_trimmed(struct buf *out, const char *v)
{
	bool pending = false, any = false;

	for (const char *p = v; *p; p++) {
		if (is_space((unsigned char)*p)) {
			pending = any;
			continue;
		}
		if (pending)
			buf_putc(out, ' ');
		pending = false;
		any = true;
		buf_putc(out, *p);
	}
}

static bool header_name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || c == ':')
			return false;
	}
	return true;
}

/* find_header returns the first header named name (any case) and how many there are. */
static const char *find_header(const struct sigv4_header *h, size_t nh, const char *name,
			       size_t *count)
{
	const char *first = NULL;
	size_t nlen = strlen(name), c = 0;

	for (size_t i = 0; i < nh; i++) {
		if (!h[i].name || !span_eq_nocase(h[i].name, strlen(h[i].name), name, nlen))
			continue;
		if (!c)
			first = h[i].value ? h[i].value : "";
		c++;
	}
	if (count)
		*count = c;
	return first;
}

/*
 * canonical_headers appends the canonical header block (each "name:value\n")
 * to out and the SignedHeaders list to sh.
 */
static int canonical_headers(struct buf *out, struct buf *sh, const struct sigv4_header *h,
			     size_t nh, struct err *e)
{
	struct hentry *ents = NULL;
	struct buf names;
	int rc = 0;

	buf_init(&names, SIGV4_CANON_MAX);
	if (nh > SIGV4_MAX_HEADERS) {
		rc = err_set(e, ERR_LIMIT, "%zu headers to sign; SigV4 here signs at most %d", nh,
			     SIGV4_MAX_HEADERS);
		goto fail;
	}
	ents = malloc((nh ? nh : 1) * sizeof(*ents));
	if (!ents) {
		rc = err_set(e, ERR_NOMEM, "out of memory while sorting the headers to sign");
		goto fail;
	}
	for (size_t i = 0; i < nh; i++) {
		if (!header_name_ok(h[i].name)) {
			rc = err_set(e, ERR_INVAL,
				     "header %zu to sign has an empty or malformed name \"%.64s\"; "
				     "names are visible ASCII without ':'",
				     i, h[i].name ? h[i].name : "(null)");
			goto fail;
		}
		ents[i].noff = names.len;
		ents[i].nlen = strlen(h[i].name);
		for (size_t j = 0; j < ents[i].nlen; j++)
			buf_putc(&names, ascii_lower(h[i].name[j]));
		ents[i].value = h[i].value ? h[i].value : "";
		ents[i].idx = i;
	}
	if (names.err) {
		rc = buf_fail_msg(&names, "signed header names", e);
		goto fail;
	}
	for (size_t i = 0; i < nh; i++)
		ents[i].name = names.data + ents[i].noff;
	qsort(ents, nh, sizeof(*ents), hentry_cmp);
	for (size_t i = 0; i < nh; i++) {
		const char *name = ents[i].name;
		bool same = i && bytes_cmp(name, ents[i].nlen, ents[i - 1].name,
					   ents[i - 1].nlen) == 0;

		if (same) {
			buf_putc(out, ',');
		} else {
			if (i) {
				buf_putc(out, '\n');
				buf_putc(sh, ';');
			}
			buf_append(out, name, ents[i].nlen);
			buf_putc(out, ':');
			buf_append(sh, name, ents[i].nlen);
		}
		append_trimmed(out, ents[i].value);
	}
	if (nh)
		buf_putc(out, '\n');
	if (out->err || sh->err) {
		rc = buf_fail_msg(out->err ? out : sh, "canonical headers", e);
		goto fail;
	}
fail:
	buf_free(&names);
	free(ents);
	return rc;
}

static bool is_s3(const char *service)
{
	return service && strcmp(service, "s3") == 0;
}

/*
 * build_canonical is sigv4_canonical_request that also reports the payload
 * hash it used, which the signer publishes as x-amz-content-sha256.
 */
static int build_canonical(struct buf *out, struct buf *signed_headers,
			   const struct sigv4_request *req, const char *service,
			   char hash[SIGV4_HASH_MAX + 1], struct err *e)
{
	struct buf sh;
	const char *given;
	int rc;

	buf_init(&sh, SIGV4_CANON_MAX);
	if (!req->method || !*req->method) {
		rc = err_set(e, ERR_INVAL, "the request to sign has no method");
		goto fail;
	}
	for (const char *p = req->method; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f) {
			rc = err_set(e, ERR_INVAL, "the request method \"%.32s\" is malformed",
				     req->method);
			goto fail;
		}
		/* botocore and the AWS SDKs sign the method uppercased. */
		buf_putc(out, c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : (char)c);
	}
	buf_putc(out, '\n');
	rc = sigv4_canonical_uri(out, req->path, is_s3(service), e);
	if (rc)
		goto fail;
	buf_putc(out, '\n');
	rc = sigv4_canonical_query(out, req->query, e);
	if (rc)
		goto fail;
	buf_putc(out, '\n');
	rc = canonical_headers(out, &sh, req->headers, req->n_headers, e);
	if (rc)
		goto fail;
	buf_putc(out, '\n');
	buf_append(out, sh.data ? sh.data : "", sh.len);
	buf_putc(out, '\n');

	given = find_header(req->headers, req->n_headers, "x-amz-content-sha256", NULL);
	if (!given)
		given = req->payload_hash;
	if (given) {
		if (strlen(given) > SIGV4_HASH_MAX || !*given) {
			rc = err_set(e, ERR_INVAL,
				     "the payload hash \"%.80s\" is empty or longer than %d "
				     "characters; give the hex SHA-256 of the body or %s",
				     given, SIGV4_HASH_MAX, SIGV4_UNSIGNED_PAYLOAD);
			goto fail;
		}
		/* given may be hash itself when sigv4_sign passed its own header. */
		memmove(hash, given, strlen(given) + 1);
	} else {
		rc = sigv4_sha256_hex(req->payload, req->payload_len, hash);
		if (rc) {
			err_set(e, rc, "libcrypto could not hash the request body");
			goto fail;
		}
	}
	buf_puts(out, hash);
	if (out->err) {
		rc = buf_fail_msg(out, "canonical request", e);
		goto fail;
	}
	if (signed_headers) {
		buf_append(signed_headers, sh.data ? sh.data : "", sh.len);
		if (signed_headers->err) {
			rc = buf_fail_msg(signed_headers, "SignedHeaders list", e);
			goto fail;
		}
	}
	rc = 0;
fail:
	buf_free(&sh);
	return rc;
}

int sigv4_canonical_request(struct buf *out, struct buf *signed_headers,
			    const struct sigv4_request *req, const char *service, struct err *e)
{
	char hash[SIGV4_HASH_MAX + 1];

	return build_canonical(out, signed_headers, req, service, hash, e);
}

void sigv4_signed_init(struct sigv4_signed *out)
{
	memset(out, 0, sizeof(*out));
	buf_init(&out->authorization, 64 * 1024);
	buf_init(&out->token, 64 * 1024);
	buf_init(&out->canonical_request, SIGV4_CANON_MAX);
	buf_init(&out->string_to_sign, 4096);
}

void sigv4_signed_free(struct sigv4_signed *out)
{
	/* The token is a credential: do not leave it in freed memory. */
	if (out->token.data)
		OPENSSL_cleanse(out->token.data, out->token.cap);
	buf_free(&out->authorization);
	buf_free(&out->token);
	buf_free(&out->canonical_request);
	buf_free(&out->string_to_sign);
	out->n_add = 0;
}

/* scope_part_ok accepts a region or service name: non-empty, no '/', no spaces or controls. */
static bool scope_part_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '/')
			return false;
	return true;
}

static int check_creds(const struct sigv4_creds *creds, const char *region, const char *service,
		       struct err *e)
{
	size_t n;

	if (!creds || !creds->access_key_id || !creds->secret_access_key)
		return err_set(e, ERR_AUTH, "no AWS credentials to sign with; configure an access "
					    "key id and a secret access key");
	n = strlen(creds->access_key_id);
	if (n == 0 || n > SIGV4_KEY_ID_MAX || strpbrk(creds->access_key_id, "/ ,=\t\r\n"))
		return err_set(e, ERR_AUTH,
			       "the AWS access key id \"%.40s\" is empty, longer than %d characters "
			       "or contains '/', ',', '=' or spaces; check the configured credentials",
			       creds->access_key_id, SIGV4_KEY_ID_MAX);
	n = strlen(creds->secret_access_key);
	if (n == 0 || n > SIGV4_SECRET_MAX)
		return err_set(e, ERR_AUTH,
			       "the AWS secret access key of %s is empty or longer than %d "
			       "characters; check the configured credentials",
			       creds->access_key_id, SIGV4_SECRET_MAX);
	if (!scope_part_ok(region))
		return err_set(e, ERR_INVAL,
			       "the region \"%.64s\" is empty or malformed; give one like us-east-1",
			       region ? region : "");
	if (!scope_part_ok(service))
		return err_set(e, ERR_INVAL,
			       "the service name \"%.64s\" is empty or malformed; give one like s3 "
			       "or bedrock",
			       service ? service : "");
	return 0;
}

/*
 * sign_core computes the canonical request, the string to sign, the
 * signature and the Authorization value of req, whose headers are exactly
 * the ones to sign, into out. secret is wiped from every derived key.
 */
static int sign_core(const struct sigv4_request *req, const char *key_id, const char *secret,
		     const char *amz_date, const char *region, const char *service,
		     struct sigv4_signed *out, struct err *e)
{
	unsigned char k1[SHA256_LEN], k2[SHA256_LEN], sig[SHA256_LEN];
	char kbuf[4 + SIGV4_SECRET_MAX + 1];
	char crhash[SIGV4_HEX_LEN + 1];
	struct buf sh;
	size_t slen = strlen(secret);
	int rc;

	buf_init(&sh, SIGV4_CANON_MAX);
	buf_reset(&out->canonical_request);
	buf_reset(&out->string_to_sign);
	buf_reset(&out->authorization);
	out->signature[0] = '\0';
	if (slen > SIGV4_SECRET_MAX) {
		rc = err_set(e, ERR_AUTH, "the secret access key is longer than %d characters",
			     SIGV4_SECRET_MAX);
		goto fail;
	}
	rc = build_canonical(&out->canonical_request, &sh, req, service, out->content_sha256, e);
	if (rc)
		goto fail;
	rc = sigv4_sha256_hex(out->canonical_request.data, out->canonical_request.len, crhash);
	if (rc) {
		err_set(e, rc, "libcrypto could not hash the canonical request");
		goto fail;
	}
	buf_printf(&out->string_to_sign, "%s\n%s\n%.8s/%s/%s/%s\n%s", SIGV4_ALGORITHM, amz_date,
		   amz_date, region, service, SCOPE_TERMINATOR, crhash);
	if (out->string_to_sign.err) {
		rc = buf_fail_msg(&out->string_to_sign, "string to sign", e);
		goto fail;
	}

	/* The signing key: HMAC chained over date, region, service and terminator. */
	memcpy(kbuf, "AWS4", 4);
	memcpy(kbuf + 4, secret, slen + 1);
	rc = hmac_sha256(kbuf, 4 + slen, amz_date, 8, k1);
	if (!rc)
		rc = hmac_sha256(k1, SHA256_LEN, region, strlen(region), k2);
	if (!rc)
		rc = hmac_sha256(k2, SHA256_LEN, service, strlen(service), k1);
	if (!rc)
		rc = hmac_sha256(k1, SHA256_LEN, SCOPE_TERMINATOR, strlen(SCOPE_TERMINATOR), k2);
	if (!rc)
		rc = hmac_sha256(k2, SHA256_LEN, out->string_to_sign.data, out->string_to_sign.len,
				 sig);
	if (rc) {
		err_set(e, rc, "libcrypto could not compute HMAC-SHA256");
		goto fail;
	}
	hex_encode(sig, SHA256_LEN, out->signature);

	buf_printf(&out->authorization,
		   "%s Credential=%s/%.8s/%s/%s/%s, SignedHeaders=%s, Signature=%s",
		   SIGV4_ALGORITHM, key_id, amz_date, region, service, SCOPE_TERMINATOR,
		   sh.data ? sh.data : "", out->signature);
	if (out->authorization.err) {
		rc = buf_fail_msg(&out->authorization, "Authorization header", e);
		goto fail;
	}
	rc = 0;
fail:
	OPENSSL_cleanse(kbuf, sizeof(kbuf));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	buf_free(&sh);
	return rc;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
	       const char *region, const char *service, int64_t time_ms,
	       struct sigv4_signed *out, struct err *e)
{
	static const char *const forbidden[] = {"x-amz-date", "x-amz-security-token",
						"authorization"};
	struct sigv4_header *hs = NULL;
	struct sigv4_request r;
	const char *token, *given, *host;
	size_t nh, count;
	int rc;

	out->n_add = 0;
	buf_reset(&out->token);
	rc = check_creds(creds, region, service, e);
	if (rc)
		goto fail;
	if (req->n_headers > SIGV4_MAX_HEADERS - 3) {
		rc = err_set(e, ERR_LIMIT, "%zu headers to sign; SigV4 here signs at most %d",
			     req->n_headers, SIGV4_MAX_HEADERS - 3);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		if (find_header(req->headers, req->n_headers, forbidden[i], NULL)) {
			rc = err_set(e, ERR_INVAL,
				     "the request to sign already has a %s header; sigv4_sign "
				     "adds it itself",
				     forbidden[i]);
			goto fail;
		}
	}
	host = find_header(req->headers, req->n_headers, "host", &count);
	if (!host || !*host || count != 1) {
		rc = err_set(e, ERR_INVAL,
			     "the request to sign needs exactly one non-empty host header, the "
			     "Host the HTTP client will send");
		goto fail;
	}
	given = find_header(req->headers, req->n_headers, "x-amz-content-sha256", &count);
	if (given && (count != 1 || (req->payload_hash && strcmp(given, req->payload_hash)))) {
		rc = err_set(e, ERR_INVAL,
			     "the request to sign has conflicting payload hashes (x-amz-content-"
			     "sha256 headers or payload_hash); give one");
		goto fail;
	}
	rc = sigv4_format_date(time_ms, out->amz_date, e);
	if (rc)
		goto fail;

	token = creds->session_token && *creds->session_token ? creds->session_token : NULL;
	if (token) {
		if (strpbrk(token, "\r\n")) {
			rc = err_set(e, ERR_AUTH, "the AWS session token contains a line break; "
						  "check the configured credentials");
			goto fail;
		}
		if (buf_puts(&out->token, token)) {
			rc = err_set(e, out->token.err,
				     "the AWS session token is longer than %zu bytes",
				     out->token.max);
			goto fail;
		}
	}

	hs = malloc((req->n_headers + 3) * sizeof(*hs));
	if (!hs) {
		rc = err_set(e, ERR_NOMEM, "out of memory while signing a request");
		goto fail;
	}
	nh = req->n_headers;
	if (nh)
		memcpy(hs, req->headers, nh * sizeof(*hs));
	hs[nh++] = (struct sigv4_header){"x-amz-date", out->amz_date};
	if (!given) {
		/*
		 * The hash goes into a header before it is known, so it is
		 * computed here rather than in build_canonical.
		 */
		if (req->payload_hash) {
			if (strlen(req->payload_hash) > SIGV4_HASH_MAX || !*req->payload_hash) {
				rc = err_set(e, ERR_INVAL,
					     "the payload hash \"%.80s\" is empty or longer than "
					     "%d characters; give the hex SHA-256 of the body or %s",
					     req->payload_hash, SIGV4_HASH_MAX,
					     SIGV4_UNSIGNED_PAYLOAD);
				goto fail;
			}
			strcpy(out->content_sha256, req->payload_hash);
		} else if (sigv4_sha256_hex(req->payload, req->payload_len,
					    out->content_sha256)) {
			rc = err_set(e, ERR_INTERNAL, "libcrypto could not hash the request body");
			goto fail;
		}
		hs[nh++] = (struct sigv4_header){"x-amz-content-sha256", out->content_sha256};
	}
	if (token)
		hs[nh++] = (struct sigv4_header){"x-amz-security-token", out->token.data};

	r = *req;
	r.headers = hs;
	r.n_headers = nh;
	rc = sign_core(&r, creds->access_key_id, creds->secret_access_key, out->amz_date, region,
		       service, out, e);
	if (rc)
		goto fail;

	out->add[out->n_add++] = (struct sigv4_header){"x-amz-date", out->amz_date};
	if (!given)
		out->add[out->n_add++] =
			(struct sigv4_header){"x-amz-content-sha256", out->content_sha256};
	if (token)
		out->add[out->n_add++] =
			(struct sigv4_header){"x-amz-security-token", out->token.data};
	out->add[out->n_add++] = (struct sigv4_header){"Authorization", out->authorization.data};
	free(hs);
	return 0;
fail:
	out->n_add = 0;
	free(hs);
	return rc;
}

int sigv4_sign_exact(const struct sigv4_request *req, const struct sigv4_creds *creds,
		     const char *region, const char *service,
		     struct sigv4_signed *out, struct err *e)
{
	const char *date;
	size_t count;
	int64_t ms;
	int rc;

	out->n_add = 0;
	buf_reset(&out->token);
	rc = check_creds(creds, region, service, e);
	if (rc)
		return rc;
	date = find_header(req->headers, req->n_headers, "x-amz-date", &count);
	if (!date || count != 1 || sigv4_parse_date(date, &ms))
		return err_set(e, ERR_INVAL,
			       "the request to sign needs exactly one x-amz-date header of the "
			       "form YYYYMMDDTHHMMSSZ");
	if (!find_header(req->headers, req->n_headers, "host", &count) || count != 1)
		return err_set(e, ERR_INVAL,
			       "the request to sign needs exactly one host header, the Host the "
			       "HTTP client will send");
	memcpy(out->amz_date, date, SIGV4_DATE_LEN + 1);
	rc = sign_core(req, creds->access_key_id, creds->secret_access_key, out->amz_date, region,
		       service, out, e);
	if (rc)
		return rc;
	out->add[out->n_add++] = (struct sigv4_header){"Authorization", out->authorization.data};
	return 0;
}

/* split_credential splits "AKID/20150830/us-east-1/service/aws4_request" into a. */
static bool split_credential(struct auth_parts *a)
{
	struct span *parts[5] = {&a->key_id, &a->date, &a->region, &a->service, &a->terminator};
	const char *p = a->credential.p, *end = p + a->credential.n;

	for (int i = 0; i < 5; i++) {
		const char *slash = memchr(p, '/', (size_t)(end - p));

		if ((i < 4) != (slash != NULL))
			return false;
		parts[i]->p = p;
		parts[i]->n = slash ? (size_t)(slash - p) : (size_t)(end - p);
		if (parts[i]->n == 0)
			return false;
		p = slash ? slash + 1 : end;
	}
	return true;
}

/*
 * parse_authorization reads "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..." with any spaces around the commas. On failure e says what
 * is missing in the words AWS uses.
 */
static int parse_authorization(const char *value, struct auth_parts *a, struct err *e)
{
	struct span s = span_trim((struct span){value, strlen(value)}), alg;
	const char *p, *end;
	char missing[256] = "";
	size_t alen = 0;

	memset(a, 0, sizeof(*a));
	alg.p = s.p;
	while (alen < s.n && s.p[alen] != ' ' && s.p[alen] != '\t')
		alen++;
	alg.n = alen;
	if (!span_eq(alg, SIGV4_ALGORITHM))
		return err_set(e, ERR_AUTH,
			       "Unsupported authorization type '%.*s'; sign requests with %s "
			       "(Signature Version 4).",
			       (int)(alg.n > 64 ? 64 : alg.n), alg.p, SIGV4_ALGORITHM);
	p = s.p + alen;
	end = s.p + s.n;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		struct span item = {p, comma ? (size_t)(comma - p) : (size_t)(end - p)}, name, val;
		const char *eq;
		struct span *slot = NULL;

		p = comma ? comma + 1 : end;
		item = span_trim(item);
		if (item.n == 0)
			continue;
		eq = memchr(item.p, '=', item.n);
		if (!eq)
			return err_set(e, ERR_AUTH,
				       "Authorization header parameter '%.*s' is not of the form "
				       "name=value.",
				       (int)(item.n > 64 ? 64 : item.n), item.p);
		name = span_trim((struct span){item.p, (size_t)(eq - item.p)});
		val = span_trim((struct span){eq + 1, item.n - (size_t)(eq - item.p) - 1});
		if (span_eq(name, "Credential"))
			slot = &a->credential;
		else if (span_eq(name, "SignedHeaders"))
			slot = &a->signed_headers;
		else if (span_eq(name, "Signature"))
			slot = &a->signature;
		if (!slot)
			continue;
		if (slot->p)
			return err_set(e, ERR_AUTH,
				       "Authorization header has more than one '%.*s' parameter.",
				       (int)name.n, name.p);
		*slot = val;
	}
	if (!a->credential.p || !a->credential.n)
		strcat(missing, " Authorization header requires 'Credential' parameter.");
	if (!a->signature.p || !a->signature.n)
		strcat(missing, " Authorization header requires 'Signature' parameter.");
	if (!a->signed_headers.p || !a->signed_headers.n)
		strcat(missing, " Authorization header requires 'SignedHeaders' parameter.");
	if (missing[0])
		return err_set(e, ERR_AUTH, "%s", missing + 1);
	if (!split_credential(a))
		return err_set(e, ERR_AUTH,
			       "Credential '%.*s' is malformed; it must be "
			       "<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request.",
			       (int)(a->credential.n > 200 ? 200 : a->credential.n), a->credential.p);
	if (a->key_id.n > SIGV4_KEY_ID_MAX)
		return err_set(e, ERR_AUTH, "The access key id in Credential is longer than %d "
					    "characters.",
			       SIGV4_KEY_ID_MAX);
	return 0;
}

/* verdict records why verification failed and returns rc, so that callers can `return verdict(...)`. */
static int verdict(struct sigv4_verified *out, enum sigv4_verdict v, int rc)
{
	out->verdict = v;
	return rc;
}

/* check_skew rejects an x-amz-date more than the allowed skew from now, in AWS's words. */
static int check_skew(const char *amz_date, int64_t t, const struct sigv4_verify_opts *opts,
		      struct err *e)
{
	int64_t skew = opts->max_skew_ms > 0 ? opts->max_skew_ms : SIGV4_MAX_SKEW_MS;
	char now[SIGV4_DATE_LEN + 1], bound[SIGV4_DATE_LEN + 1];
	int64_t lo = opts->now_ms - skew, hi = opts->now_ms + skew;

	if (t >= lo && t <= hi)
		return 0;
	if (sigv4_format_date(opts->now_ms, now, NULL))
		snprintf(now, sizeof(now), "(bad clock)");
	if (t < lo) {
		if (sigv4_format_date(lo, bound, NULL))
			snprintf(bound, sizeof(bound), "(bad clock)");
		return err_set(e, ERR_AUTH,
			       "Signature expired: %s is now earlier than %s (%s - %lld min.)",
			       amz_date, bound, now, (long long)(skew / 60000));
	}
	if (sigv4_format_date(hi, bound, NULL))
		snprintf(bound, sizeof(bound), "(bad clock)");
	return err_set(e, ERR_AUTH,
		       "Signature not yet current: %s is still later than %s (%s + %lld min.)",
		       amz_date, bound, now, (long long)(skew / 60000));
}

/* is_hex64 is true for a 64-character hex string (either case). */
static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (uri_hex_digit((unsigned char)s[i]) < 0)
			return false;
	return i == SIGV4_HEX_LEN;
}

/*
 * check_payload decides what stands for the body in the canonical request
 * and makes sure a hash the client declared is the hash of what arrived:
 * otherwise a valid signature would vouch for a body nobody signed.
 */
static int check_payload(const struct sigv4_request *req, const struct sigv4_verify_opts *opts,
			 const char **hash, struct sigv4_verified *out, struct err *e)
{
	char actual[SIGV4_HEX_LEN + 1];
	size_t count;
	const char *given = find_header(req->headers, req->n_headers, "x-amz-content-sha256",
					&count);

	*hash = NULL;
	if (!given)
		return 0;
	if (count != 1)
		return verdict(out, SIGV4_INCOMPLETE,
			       err_set(e, ERR_AUTH, "The request has more than one "
						    "'x-amz-content-sha256' header."));
	if (strcmp(given, SIGV4_UNSIGNED_PAYLOAD) == 0) {
		if (!opts->allow_unsigned_payload)
			return verdict(out, SIGV4_BAD_SIGNATURE,
				       err_set(e, ERR_AUTH,
					       "x-amz-content-sha256: UNSIGNED-PAYLOAD is not "
					       "accepted here; sign the request body."));
		*hash = given;
		return 0;
	}
	if (!is_hex64(given))
		return verdict(out, SIGV4_BAD_SIGNATURE,
			       err_set(e, ERR_AUTH,
				       "x-amz-content-sha256 '%.64s' is not supported; send the hex "
				       "SHA-256 of the body.",
				       given));
	if (sigv4_sha256_hex(req->payload, req->payload_len, actual))
		return verdict(out, SIGV4_FAILED,
			       err_set(e, ERR_INTERNAL, "libcrypto could not hash the request body"));
	for (int i = 0; i < SIGV4_HEX_LEN; i++) {
		if (ascii_lower(given[i]) != actual[i])
			return verdict(out, SIGV4_BAD_SIGNATURE,
				       err_set(e, ERR_AUTH,
					       "The provided 'x-amz-content-sha256' header does not "
					       "match what was computed."));
	}
	*hash = given;
	return 0;
}

/*
 * signed_subset fills hs with the received headers whose names are listed
 * in SignedHeaders, in the order received, and fails if a listed name was
 * not received at all.
 */
static int signed_subset(const struct sigv4_request *req, struct span list,
			 struct sigv4_header *hs, size_t *nhs, struct sigv4_verified *out,
			 struct err *e)
{
	const char *p = list.p, *end = list.p + list.n;
	bool host = false;
	size_t n = 0, nnames = 0;

	/* Every name listed must have arrived. */
	while (p <= end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		size_t len = semi ? (size_t)(semi - p) : (size_t)(end - p);
		bool found = false;

		if (len == 0)
			return verdict(out, SIGV4_INCOMPLETE,
				       err_set(e, ERR_AUTH,
					       "SignedHeaders '%.*s' has an empty header name.",
					       (int)(list.n > 200 ? 200 : list.n), list.p));
		if (++nnames > SIGV4_MAX_HEADERS)
			return verdict(out, SIGV4_INCOMPLETE,
				       err_set(e, ERR_AUTH,
					       "SignedHeaders names more than %d headers.",
					       SIGV4_MAX_HEADERS));
		host = host || span_eq_nocase(p, len, "host", 4);
		for (size_t i = 0; i < req->n_headers && !found; i++)
			found = req->headers[i].name &&
				span_eq_nocase(req->headers[i].name, strlen(req->headers[i].name),
					       p, len);
		if (!found)
			return verdict(out, SIGV4_BAD_SIGNATURE,
				       err_set(e, ERR_AUTH,
					       "The request signature we calculated does not match "
					       "the signature you provided: the header '%.*s' "
					       "named in SignedHeaders was not received.",
					       (int)(len > 100 ? 100 : len), p));
		if (!semi)
			break;
		p = semi + 1;
	}
	if (!host)
		return verdict(out, SIGV4_INCOMPLETE,
			       err_set(e, ERR_AUTH,
				       "'Host' must be a 'SignedHeader' in the AWS Authorization."));
	/* Every received header whose name is listed is signed, repeats included. */
	for (size_t i = 0; i < req->n_headers; i++) {
		const char *name = req->headers[i].name;
		size_t nlen;

		if (!name)
			continue;
		nlen = strlen(name);
		for (p = list.p; p <= end;) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			size_t len = semi ? (size_t)(semi - p) : (size_t)(end - p);

			if (span_eq_nocase(name, nlen, p, len)) {
				hs[n++] = req->headers[i];
				break;
			}
			if (!semi)
				break;
			p = semi + 1;
		}
	}
	*nhs = n;
	return 0;
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_verify_opts *opts,
		 struct sigv4_verified *out, struct err *e)
{
	struct sigv4_header *hs = NULL;
	struct sigv4_signed calc;
	struct sigv4_request r;
	struct auth_parts a;
	struct buf secret;
	struct err le;
	const char *auth, *date, *hash;
	char amz_date[SIGV4_DATE_LEN + 1], region[65], service[65];
	size_t count, nhs = 0;
	int64_t t;
	int rc;

	out->verdict = SIGV4_FAILED;
	out->access_key_id[0] = '\0';
	sigv4_signed_init(&calc);
	buf_init(&secret, SIGV4_SECRET_MAX);
	err_init(&le);

	auth = find_header(req->headers, req->n_headers, "authorization", &count);
	if (!auth) {
		rc = verdict(out, SIGV4_MISSING_AUTH,
			     err_set(e, ERR_AUTH, "Missing Authentication Token"));
		goto fail;
	}
	if (count != 1) {
		rc = verdict(out, SIGV4_INCOMPLETE,
			     err_set(e, ERR_AUTH, "The request has more than one Authorization "
						  "header."));
		goto fail;
	}
	rc = parse_authorization(auth, &a, e);
	if (rc) {
		rc = verdict(out, SIGV4_INCOMPLETE, rc);
		goto fail;
	}
	memcpy(out->access_key_id, a.key_id.p, a.key_id.n);
	out->access_key_id[a.key_id.n] = '\0';

	date = find_header(req->headers, req->n_headers, "x-amz-date", &count);
	if (!date) {
		rc = verdict(out, SIGV4_INCOMPLETE,
			     err_set(e, ERR_AUTH, "Authorization header requires existence of a "
						  "'X-Amz-Date' header."));
		goto fail;
	}
	if (count != 1 || sigv4_parse_date(date, &t)) {
		rc = verdict(out, SIGV4_INCOMPLETE,
			     err_set(e, ERR_AUTH,
				     "X-Amz-Date must be one header in the ISO 8601 basic format "
				     "YYYYMMDD'T'HHMMSS'Z', not '%.32s'.",
				     date));
		goto fail;
	}
	memcpy(amz_date, date, sizeof(amz_date));

	/* The credential scope must name this date, this endpoint and the terminator. */
	if (a.date.n != 8 || memcmp(a.date.p, amz_date, 8) != 0) {
		rc = verdict(out, SIGV4_BAD_SCOPE,
			     err_set(e, ERR_AUTH,
				     "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
				     "version of date from HTTP: '%.*s' != '%.8s', from '%s'.",
				     (int)(a.date.n > 16 ? 16 : a.date.n), a.date.p, amz_date,
				     amz_date));
		goto fail;
	}
	if (!span_eq(a.terminator, SCOPE_TERMINATOR)) {
		rc = verdict(out, SIGV4_BAD_SCOPE,
			     err_set(e, ERR_AUTH,
				     "Credential should be scoped with a valid terminator: "
				     "'aws4_request', not '%.*s'.",
				     (int)(a.terminator.n > 32 ? 32 : a.terminator.n),
				     a.terminator.p));
		goto fail;
	}
	if (a.region.n >= sizeof(region) || (opts->region && !span_eq(a.region, opts->region))) {
		rc = verdict(out, SIGV4_BAD_SCOPE,
			     err_set(e, ERR_AUTH,
				     "Credential should be scoped to a valid region, not '%.*s'; "
				     "this endpoint expects '%s'.",
				     (int)(a.region.n > 64 ? 64 : a.region.n), a.region.p,
				     opts->region ? opts->region : "a region of at most 64 "
								   "characters"));
		goto fail;
	}
	if (a.service.n >= sizeof(service) ||
	    (opts->service && !span_eq(a.service, opts->service))) {
		rc = verdict(out, SIGV4_BAD_SCOPE,
			     err_set(e, ERR_AUTH,
				     "Credential should be scoped to correct service: '%s'.",
				     opts->service ? opts->service : "(at most 64 characters)"));
		goto fail;
	}
	memcpy(region, a.region.p, a.region.n);
	region[a.region.n] = '\0';
	memcpy(service, a.service.p, a.service.n);
	service[a.service.n] = '\0';

	rc = check_skew(amz_date, t, opts, e);
	if (rc) {
		rc = verdict(out, SIGV4_EXPIRED, rc);
		goto fail;
	}

	hs = malloc((req->n_headers ? req->n_headers : 1) * sizeof(*hs));
	if (!hs) {
		rc = verdict(out, SIGV4_FAILED,
			     err_set(e, ERR_NOMEM, "out of memory while verifying a signature"));
		goto fail;
	}
	rc = signed_subset(req, a.signed_headers, hs, &nhs, out, e);
	if (rc)
		goto fail;
	rc = check_payload(req, opts, &hash, out, e);
	if (rc)
		goto fail;

	if (!opts->lookup) {
		rc = verdict(out, SIGV4_FAILED,
			     err_set(e, ERR_INTERNAL, "sigv4_verify was given no key lookup"));
		goto fail;
	}
	rc = opts->lookup(opts->lookup_ctx, out->access_key_id, &secret, &le);
	if (rc == ERR_NOTFOUND) {
		rc = verdict(out, SIGV4_UNKNOWN_KEY,
			     err_set(e, ERR_AUTH,
				     "The security token included in the request is invalid: "
				     "access key id %s is not known here.",
				     out->access_key_id));
		goto fail;
	}
	if (rc || secret.err || !secret.len) {
		if (!rc)
			snprintf(le.msg, sizeof(le.msg), "%s",
				 secret.err ? "the secret is too long" : "the secret is empty");
		rc = verdict(out, SIGV4_FAILED,
			     err_set(e, rc && rc != ERR_AUTH ? rc : ERR_INTERNAL,
				     "looking up the secret of access key id %s: %s",
				     out->access_key_id, le.msg));
		goto fail;
	}

	r = *req;
	r.headers = hs;
	r.n_headers = nhs;
	r.payload_hash = hash;
	rc = sign_core(&r, out->access_key_id, secret.data, amz_date, region, service, &calc, e);
	if (rc) {
		/* A signed header we cannot canonicalise is the client's fault. */
		rc = rc == ERR_INVAL ? verdict(out, SIGV4_INCOMPLETE, ERR_AUTH)
				     : verdict(out, SIGV4_FAILED, rc);
		if (e)
			e->code = rc;
		goto fail;
	}
	if (a.signature.n != SIGV4_HEX_LEN ||
	    CRYPTO_memcmp(a.signature.p, calc.signature, SIGV4_HEX_LEN) != 0) {
		rc = verdict(out, SIGV4_BAD_SIGNATURE,
			     err_set(e, ERR_AUTH,
				     "The request signature we calculated does not match the "
				     "signature you provided. Check your AWS Secret Access Key and "
				     "signing method. Consult the service documentation for "
				     "details."));
		goto fail;
	}
	out->verdict = SIGV4_VERIFIED;
	rc = 0;
fail:
	if (secret.data)
		OPENSSL_cleanse(secret.data, secret.cap);
	buf_free(&secret);
	sigv4_signed_free(&calc);
	free(hs);
	return rc;
}

const char *sigv4_verdict_aws_code(enum sigv4_verdict v)
{
	switch (v) {
	case SIGV4_VERIFIED: return "";
	case SIGV4_MISSING_AUTH: return "MissingAuthenticationTokenException";
	case SIGV4_INCOMPLETE: return "IncompleteSignatureException";
	case SIGV4_UNKNOWN_KEY: return "UnrecognizedClientException";
	case SIGV4_BAD_SIGNATURE:
	case SIGV4_EXPIRED:
	case SIGV4_BAD_SCOPE: return "InvalidSignatureException";
	case SIGV4_FAILED: break;
	}
	return "InternalServerException";
}

int sigv4_verdict_http_status(enum sigv4_verdict v)
{
	switch (v) {
	case SIGV4_VERIFIED: return 200;
	case SIGV4_FAILED: return 500;
	default: return 403;
	}
}
