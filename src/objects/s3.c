/* s3.c - the S3 object store: streamed ranged reads, listings, atomic (multipart) writes. */
#include "objects/impl.h"
#include "objects/s3call.h"
#include "util/log.h"
#include "util/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Reads fetch ranges of at most this many bytes, one at a time, so that a
 * reader holds one block whatever the object's size.
 */
#define S3_READ_BLOCK ((size_t)8 << 20)
/*
 * Writes go up in parts of this size (S3 wants at least 5 MiB for every
 * part but the last): an object up to one part is a single PutObject, a
 * larger one a multipart upload with one part buffered at a time.
 */
#define S3_PART_SIZE ((size_t)8 << 20)
#define S3_MAX_PARTS 10000
#define S3_UPLOAD_ID_MAX 1024
/* Listings stop past this many objects, so that a looping server cannot keep barge busy. */
#define S3_LIST_MAX 10000000ULL

/* s3_ends_with_slash says whether s names a prefix rather than an object. */
static bool s3_ends_with_slash(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == '/';
}

/* ---- listing ---- */

/* s3_strip_quotes copies an ETag without its surrounding quotes. */
static void s3_strip_quotes(const char *etag, char *out, size_t n)
{
	size_t len = strlen(etag);

	if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"')
		snprintf(out, n, "%.*s", (int)(len - 2), etag + 1);
	else
		snprintf(out, n, "%s", etag);
}

/* What a listing's page callback needs; errors from cb are told from parse errors. */
struct s3_lister {
	int (*cb)(const struct s3xml_object *o, void *ud);
	void *ud;
	bool cb_failed;
};

/*
 * s3_lister_on_object passes one listed object on to the lister's callback (ud is a
 * struct s3_lister).
 */
static int s3_lister_on_object(const struct s3xml_object *o, void *ud)
{
	struct s3_lister *l = ud;
	int rc;

	/* Zero-byte "folder" markers are not objects for barge. */
	if (s3_ends_with_slash(o->key))
		return 0;
	rc = l->cb(o, l->ud);
	if (rc)
		l->cb_failed = true;
	return rc;
}

/*
 * s3_list_keys calls cb for every object whose key starts with prefix, in
 * key order, page after page (ListObjectsV2 with continuation tokens);
 * max_keys non-zero asks for a single page of at most that many. *found
 * counts the objects seen. Nothing is allocated for the caller.
 */
static int s3_list_keys(struct s3_conn *c, const struct s3_loc *loc, const char *prefix,
			unsigned max_keys, int (*cb)(const struct s3xml_object *o, void *ud),
			void *ud, uint64_t *found, struct err *e)
{
	struct s3_lister l = {cb, ud, false};
	struct s3xml_page *page = calloc(1, sizeof(*page));
	char *token = calloc(1, S3XML_TOKEN_MAX);
	struct buf q;
	int rc = 0;

	*found = 0;
	buf_init(&q, S3_URL_MAX);
	if (!page || !token) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		struct s3_call k;

		buf_reset(&q);
		buf_puts(&q, "list-type=2&prefix=");
		sigv4_uri_encode(&q, prefix, strlen(prefix), false);
		if (max_keys)
			buf_printf(&q, "&max-keys=%u", max_keys);
		if (token[0]) {
			buf_puts(&q, "&continuation-token=");
			sigv4_uri_encode(&q, token, strlen(token), false);
		}
		if (q.err) {
			rc = err_set(e, ERR_LIMIT, "%.300s: the listing request is too long", loc->uri);
			goto out;
		}
		s3_call_init(&k, "GET", "ListObjectsV2", loc, NULL);
		k.query = q.data;
		rc = s3_call(c, &k, e);
		if (!rc) {
			rc = s3xml_parse_list(k.out->data ? k.out->data : "", k.out->len,
					      s3_lister_on_object, &l, page, e);
			if (rc && !l.cb_failed)
				err_prefix(e, "listing %.300s at %s", loc->uri, c->s->endpoint);
		}
		s3_call_free(&k);
		if (rc)
			goto out;
		*found += page->n_objects;
		if (!page->truncated || max_keys)
			break;
		if (*found > S3_LIST_MAX) {
			rc = err_set(e, ERR_LIMIT, "more than %llu objects under %.300s",
				     (unsigned long long)S3_LIST_MAX, loc->uri);
			goto out;
		}
		if (!strcmp(token, page->next_token)) {
			rc = err_set(e, ERR_REMOTE, "the S3 server repeats its continuation token while "
						    "listing %.300s",
				     loc->uri);
			goto out;
		}
		memcpy(token, page->next_token, S3XML_TOKEN_MAX);
	}
out:
	buf_free(&q);
	free(token);
	free(page);
	return rc;
}

/* s3_count_object counts nothing itself: s3_list_keys counts the objects. */
static int s3_count_object(const struct s3xml_object *o, void *ud)
{
	(void)o;
	(void)ud;
	return 0;
}

/*
 * s3_has_under says whether any object's key starts with prefix: 0 with
 * *yes set, or the listing's error (NoSuchBucket among them).
 */
static int s3_has_under(struct s3_conn *c, const struct s3_loc *loc, const char *prefix,
			bool *yes, struct err *e)
{
	uint64_t n = 0;
	int rc = s3_list_keys(c, loc, prefix, 2, s3_count_object, NULL, &n, e);

	*yes = n > 0;
	return rc;
}

/* s3_dir_prefix makes key + "/" in out (caller-owned, S3XML_KEY_MAX + 2 bytes). */
static void s3_dir_prefix(const char *key, char out[S3XML_KEY_MAX + 2])
{
	snprintf(out, S3XML_KEY_MAX + 2, "%s/", key);
}

/* ---- stat ---- */

/* s3_http_date_ms reads an HTTP date ("Thu, 26 Nov 2026 07:49:54 GMT"); 0 if it is not one. */
static int64_t s3_http_date_ms(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *comma = strchr(s, ','), *m;
	int d, y, hh, mm, ss, mon;
	char name[4];
	int64_t era, yoe, doy, doe, days;

	if (!comma || sscanf(comma + 1, " %d %3s %d %d:%d:%d", &d, name, &y, &hh, &mm, &ss) != 6)
		return 0;
	m = strlen(name) == 3 ? strstr(months, name) : NULL;
	if (!m || (m - months) % 3 || y < 1970 || d < 1 || d > 31)
		return 0;
	mon = (int)(m - months) / 3 + 1;
	/* Days since 1970-01-01 of a proleptic Gregorian date. */
	y -= mon <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return ((days * 24 + hh) * 60 + mm) * 60000 + (int64_t)ss * 1000;
}

/*
 * s3_head asks for one object's size, ETag and date: 0 and st filled; or
 * ERR_NOTFOUND when no object has the key; or another error.
 */
static int s3_head(struct s3_conn *c, const struct s3_loc *loc, struct obj_stat *st,
		   struct err *e)
{
	struct s3_call k;
	int rc;

	s3_call_init(&k, "HEAD", "HeadObject", loc, loc->key);
	rc = s3_call(c, &k, e);
	if (rc && k.cc == CURLE_OK && !k.code[0] && (k.status == 400 || k.status == 403)) {
		/*
		 * A HEAD answer has no body to say why; a one-byte GET of the same
		 * object brings S3's error code (a wrong secret, an unknown key id).
		 */
		struct s3_call g;
		struct err ge;

		s3_call_init(&g, "GET", "HeadObject", loc, loc->key);
		g.range = "bytes=0-0";
		g.max_body = 1;
		if (s3_call(c, &g, &ge) && g.code[0] && (g.status == 400 || g.status == 403)) {
			if (e)
				*e = ge;
			rc = ge.code;
		}
		s3_call_free(&g);
	}
	if (!rc) {
		memset(st, 0, sizeof(*st));
		st->size = k.has_length ? k.content_length : 0;
		st->mtime_ms = s3_http_date_ms(k.last_modified);
		s3_strip_quotes(k.etag, st->etag, sizeof(st->etag));
		if (!st->etag[0])
			snprintf(st->etag, sizeof(st->etag), "%lld-%llu", (long long)st->mtime_ms,
				 (unsigned long long)st->size);
	}
	s3_call_free(&k);
	return rc;
}

/*
 * s3_stat_prefix answers for a location that is not (or cannot be) an
 * object: a prefix when some key starts with prefix, else ERR_NOTFOUND.
 * The bucket itself is always a prefix once it is known to exist.
 */
static int s3_stat_prefix(struct s3_conn *c, const struct s3_loc *loc, const char *prefix,
			  struct obj_stat *st, struct err *e)
{
	bool any;
	int rc = s3_has_under(c, loc, prefix, &any, e);

	if (rc)
		return rc;
	if (!any && *prefix)
		return err_set(e, ERR_NOTFOUND, "%.300s does not exist (no object has that key or "
						"starts with %s)",
			       loc->uri, prefix);
	memset(st, 0, sizeof(*st));
	st->is_prefix = true;
	return 0;
}

/*
 * s3_stat fills st for uri. A URI ending in '/' (or the bucket) is a prefix;
 * otherwise HeadObject, and when no object has the key, a prefix if keys
 * exist under key + "/". Nothing is allocated for the caller.
 */
int s3_stat(struct s3_store *s, const char *uri, struct obj_stat *st, struct err *e)
{
	struct s3_loc loc;
	struct s3_conn c;
	char dir[S3XML_KEY_MAX + 2];
	int rc;

	rc = s3_loc_parse(uri, &loc, e);
	if (rc)
		return rc;
	rc = s3_conn_open(s, &c, e);
	if (rc)
		goto out;
	if (!*loc.key || s3_ends_with_slash(loc.key)) {
		rc = s3_stat_prefix(&c, &loc, loc.key, st, e);
		goto out;
	}
	rc = s3_head(&c, &loc, st, e);
	if (rc == ERR_NOTFOUND) {
		s3_dir_prefix(loc.key, dir);
		rc = s3_stat_prefix(&c, &loc, dir, st, e);
	}
out:
	s3_conn_close(&c);
	return rc;
}

/* ---- objects_list ---- */

struct s3_list_ctx {
	const struct s3_loc *loc;
	int (*cb)(const char *uri, uint64_t size, void *ud);
	void *ud;
	struct buf uri;
	struct err *e;
};

/*
 * s3_list_on_object gives the caller's callback the object's URI, built in the context's
 * buffer.
 */
static int s3_list_on_object(const struct s3xml_object *o, void *ud)
{
	struct s3_list_ctx *x = ud;

	buf_reset(&x->uri);
	buf_printf(&x->uri, "s3://%s/%s", x->loc->bucket, o->key);
	if (x->uri.err)
		return err_set(x->e, ERR_NOMEM, "out of memory");
	return x->cb(x->uri.data, o->size, x->ud);
}

/*
 * s3_list calls cb with "s3://bucket/key" and the size of every object
 * under uri, in key order: uri itself when it names an object, else every
 * key under it as a prefix (a URI without a trailing slash is taken as
 * key + "/", so that "in" does not also list "input.jsonl"). A prefix with
 * nothing under it is ERR_NOTFOUND; an empty bucket lists nothing. The
 * strings passed to cb live until it returns.
 */
int s3_list(struct s3_store *s, const char *uri,
	    int (*cb)(const char *uri, uint64_t size, void *ud), void *ud, struct err *e)
{
	struct s3_list_ctx x = {0};
	struct s3_loc loc;
	struct s3_conn c;
	struct obj_stat st;
	char dir[S3XML_KEY_MAX + 2];
	const char *prefix = dir;
	uint64_t found = 0;
	int rc;

	rc = s3_loc_parse(uri, &loc, e);
	if (rc)
		return rc;
	rc = s3_conn_open(s, &c, e);
	if (rc)
		goto out;
	if (!*loc.key || s3_ends_with_slash(loc.key)) {
		prefix = loc.key;
	} else {
		rc = s3_head(&c, &loc, &st, e);
		if (rc != ERR_NOTFOUND) {
			/* The URI names one object (or HeadObject failed for good). */
			if (!rc)
				rc = cb(uri, st.size, ud);
			goto out;
		}
		s3_dir_prefix(loc.key, dir);
	}
	x.loc = &loc;
	x.cb = cb;
	x.ud = ud;
	x.e = e;
	buf_init(&x.uri, S3XML_KEY_MAX + S3_BUCKET_MAX + 16);
	rc = s3_list_keys(&c, &loc, prefix, 0, s3_list_on_object, &x, &found, e);
	buf_free(&x.uri);
	if (!rc && found == 0 && *prefix)
		rc = err_set(e, ERR_NOTFOUND, "%.300s does not exist (no object has that key or "
					      "starts with %s)",
			     uri, prefix);
out:
	s3_conn_close(&c);
	return rc;
}

/* ---- removal ---- */

/* s3_delete removes one object; a missing one is not an error. */
static int s3_delete(struct s3_conn *c, const struct s3_loc *loc, const char *key,
		     struct err *e)
{
	struct s3_call k;
	int rc;

	s3_call_init(&k, "DELETE", "DeleteObject", loc, key);
	rc = s3_call(c, &k, e);
	if (rc == ERR_NOTFOUND && !s3_code_is(&k, "NoSuchBucket"))
		rc = 0;
	s3_call_free(&k);
	return rc;
}

/*
 * s3_remove deletes the object uri; a missing object is not an error. Nothing is
 * allocated for the caller.
 */
int s3_remove(struct s3_store *s, const char *uri, struct err *e)
{
	struct s3_loc loc;
	struct s3_conn c;
	int rc;

	rc = s3_loc_parse(uri, &loc, e);
	if (rc)
		return rc;
	if (!*loc.key || s3_ends_with_slash(loc.key))
		return err_set(e, ERR_INVAL, "%.300s: not an object name", uri);
	rc = s3_conn_open(s, &c, e);
	if (!rc)
		rc = s3_delete(&c, &loc, loc.key, e);
	s3_conn_close(&c);
	return rc;
}

struct s3_rm_ctx {
	struct s3_conn *c;
	const struct s3_loc *loc;
	struct err *e;
};

/* s3_rm_on_object deletes one listed object (ud is a struct s3_rm_ctx). */
static int s3_rm_on_object(const struct s3xml_object *o, void *ud)
{
	struct s3_rm_ctx *x = ud;

	/* Continuation tokens name the last key, so deleting as we go skips nothing. */
	return s3_delete(x->c, x->loc, o->key, x->e);
}

/*
 * s3_remove_prefix deletes every object under uri (and the object uri
 * itself when it has no trailing slash), one DeleteObject each. It refuses
 * the whole bucket: barge only ever removes its own scratch prefixes.
 */
int s3_remove_prefix(struct s3_store *s, const char *uri, struct err *e)
{
	struct s3_loc loc;
	struct s3_conn c;
	struct s3_rm_ctx x;
	char dir[S3XML_KEY_MAX + 2];
	const char *prefix = dir;
	uint64_t found;
	int rc;

	rc = s3_loc_parse(uri, &loc, e);
	if (rc)
		return rc;
	if (!*loc.key)
		return err_set(e, ERR_INVAL, "%.300s: refusing to remove every object of bucket %s",
			       uri, loc.bucket);
	rc = s3_conn_open(s, &c, e);
	if (rc)
		goto out;
	if (s3_ends_with_slash(loc.key)) {
		prefix = loc.key;
	} else {
		rc = s3_delete(&c, &loc, loc.key, e);
		if (rc)
			goto out;
		s3_dir_prefix(loc.key, dir);
	}
	x.c = &c;
	x.loc = &loc;
	x.e = e;
	rc = s3_list_keys(&c, &loc, prefix, 0, s3_rm_on_object, &x, &found, e);
out:
	s3_conn_close(&c);
	return rc;
}

/* ---- reading ---- */

/*
 * A reader fetches [pos, end) one block at a time into blk and serves
 * reads from it. After the first block it sends If-Match with the ETag it
 * saw, so that an object replaced mid-read fails instead of mixing versions.
 */
struct s3_reader {
	struct obj_reader base;
	struct s3_conn c;
	struct s3_loc loc;
	char *uri;
	uint64_t pos;  /* the next byte to fetch */
	uint64_t end;  /* one past the last byte wanted; UINT64_MAX until known */
	bool done;     /* nothing is left to fetch */
	char etag[S3XML_ETAG_MAX];
	struct buf blk;
	size_t blk_pos;
};

/* s3_reader_fetch replaces the block with the next range of the object. */
static int s3_reader_fetch(struct s3_reader *rd, struct err *e)
{
	unsigned long long first, last, total;
	uint64_t want = S3_READ_BLOCK;
	struct s3_call k;
	char range[64];
	int rc;

	buf_reset(&rd->blk);
	rd->blk_pos = 0;
	if (rd->end != UINT64_MAX && rd->end - rd->pos < want)
		want = rd->end - rd->pos;
	if (want == 0) {
		rd->done = true;
		return 0;
	}
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)rd->pos,
		 (unsigned long long)(rd->pos + want - 1));
	s3_call_init(&k, "GET", "GetObject", &rd->loc, rd->loc.key);
	k.range = range;
	k.out = &rd->blk;
	k.max_body = (size_t)want;
	k.if_match = rd->etag[0] ? rd->etag : NULL;
	rc = s3_call(&rd->c, &k, e);
	if (k.cc == CURLE_OK && k.status == 416) {
		/* Reading from at or past the end (or an empty object) reads nothing. */
		buf_reset(&rd->blk);
		rd->done = true;
		rc = 0;
		goto out;
	}
	if (rc) {
		if (k.cc == CURLE_OK && k.status == 412)
			rc = err_set(e, ERR_CONFLICT, "%.300s was replaced while barge was reading it",
				     rd->uri);
		else if (k.too_big)
			rc = err_set(e, ERR_REMOTE, "the S3 server sent more of %.300s than the range "
						    "asked for: it does not support ranged reads",
				     rd->uri);
		goto out;
	}
	if (k.status == 206) {
		if (sscanf(k.content_range, "bytes %llu-%llu/%llu", &first, &last, &total) != 3 ||
		    first != rd->pos || last < first || last - first + 1 != rd->blk.len) {
			rc = err_set(e, ERR_REMOTE, "the S3 server answered a ranged read of %.300s "
						    "with Content-Range \"%s\" for %zu bytes",
				     rd->uri, k.content_range, rd->blk.len);
			goto out;
		}
	} else if (rd->pos == 0) {
		/* The whole object, which fit in the block. */
		total = rd->blk.len;
	} else {
		rc = err_set(e, ERR_REMOTE, "the S3 server ignored the range of a read of %.300s",
			     rd->uri);
		goto out;
	}
	if (rd->end == UINT64_MAX || rd->end > total)
		rd->end = total;
	if (!rd->etag[0])
		snprintf(rd->etag, sizeof(rd->etag), "%s", k.etag);
	rd->pos += rd->blk.len;
	if (rd->blk.len == 0 || rd->pos >= rd->end)
		rd->done = true;
out:
	s3_call_free(&k);
	return rc;
}

/*
 * s3_reader_read copies up to n bytes of the block into the caller's buf, fetching the
 * next block when this one is used up.
 */
static int s3_reader_read(struct obj_reader *r, void *buf, size_t n, size_t *got,
			  struct err *e)
{
	struct s3_reader *rd = (struct s3_reader *)r;
	size_t take;
	int rc;

	*got = 0;
	if (rd->blk_pos == rd->blk.len) {
		if (rd->done)
			return 0;
		rc = s3_reader_fetch(rd, e);
		if (rc)
			return rc;
	}
	take = rd->blk.len - rd->blk_pos;
	if (take > n)
		take = n;
	if (take)
		memcpy(buf, rd->blk.data + rd->blk_pos, take);
	rd->blk_pos += take;
	*got = take;
	return 0;
}

/* s3_reader_close releases the reader, its connection and its block. */
static void s3_reader_close(struct obj_reader *r)
{
	struct s3_reader *rd = (struct s3_reader *)r;

	s3_conn_close(&rd->c);
	buf_free(&rd->blk);
	free(rd->uri);
	free(rd);
}

static const struct obj_reader_ops s3_reader_ops = {s3_reader_read, s3_reader_close};

/*
 * s3_open_read opens uri for reading len bytes (0: to the end) from off.
 * The first block is fetched here, so a missing object fails now. The
 * caller owns *r and closes it with obj_reader_close.
 */
int s3_open_read(struct s3_store *s, const char *uri, uint64_t off, uint64_t len,
		 struct obj_reader **r, struct err *e)
{
	struct s3_reader *rd = calloc(1, sizeof(*rd));
	int rc;

	*r = NULL;
	if (!rd || !(rd->uri = strdup(uri))) {
		free(rd);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	rd->base.ops = &s3_reader_ops;
	buf_init(&rd->blk, S3_READ_BLOCK);
	rd->pos = off;
	rd->end = len && off <= UINT64_MAX - len ? off + len : UINT64_MAX;
	rc = s3_loc_parse(rd->uri, &rd->loc, e);
	if (!rc && (!*rd->loc.key || s3_ends_with_slash(rd->loc.key)))
		rc = err_set(e, ERR_INVAL, "%.300s: is a prefix, not an object", uri);
	if (!rc)
		rc = s3_conn_open(s, &rd->c, e);
	if (!rc)
		rc = s3_reader_fetch(rd, e);
	if (rc) {
		s3_reader_close(&rd->base);
		return rc;
	}
	*r = &rd->base;
	return 0;
}

/* ---- writing ---- */

/*
 * A writer keeps at most one part in memory. Until the object outgrows
 * one part nothing is sent; commit then makes it one PutObject. A larger
 * object becomes a multipart upload, started when the first part is full,
 * each full part uploaded as the next one begins, and completed at commit;
 * on abort or any failure the upload is aborted, so a failed write never
 * leaves an object behind.
 */
struct s3_writer {
	struct obj_writer base;
	struct s3_conn c;
	struct s3_loc loc;
	char *uri;
	struct buf part;
	char *upload_id;                 /* the multipart upload, once started */
	char (*etags)[S3XML_ETAG_MAX];   /* the uploaded parts' ETags */
	size_t n_parts, cap_parts;
	int failed;                      /* the code of an earlier failure, or 0 */
};

/* s3_upload_query writes "[partNumber=N&]uploadId=ID" to q. */
static int s3_upload_query(const struct s3_writer *w, size_t part_no, struct buf *q,
			   struct err *e)
{
	buf_reset(q);
	if (part_no)
		buf_printf(q, "partNumber=%zu&", part_no);
	buf_puts(q, "uploadId=");
	sigv4_uri_encode(q, w->upload_id, strlen(w->upload_id), false);
	if (q->err)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

/* s3_upload_create starts the multipart upload (CreateMultipartUpload). */
static int s3_upload_create(struct s3_writer *w, struct err *e)
{
	struct s3_call k;
	char *id = malloc(S3_UPLOAD_ID_MAX + 1);
	int rc;

	if (!id)
		return err_set(e, ERR_NOMEM, "out of memory");
	s3_call_init(&k, "POST", "CreateMultipartUpload", &w->loc, w->loc.key);
	k.query = "uploads";
	k.content_type = "application/octet-stream";
	rc = s3_call(&w->c, &k, e);
	if (!rc) {
		rc = s3xml_get(k.out->data ? k.out->data : "", k.out->len,
			       "InitiateMultipartUploadResult/UploadId", id, S3_UPLOAD_ID_MAX + 1, e);
		if (rc == 0 || (rc == 1 && !id[0]))
			rc = err_set(e, ERR_REMOTE, "the S3 server started an upload of %.300s without "
						    "an UploadId",
				     w->uri);
		else if (rc < 0)
			err_prefix(e, "starting the upload of %.300s", w->uri);
		else
			rc = 0;
	}
	s3_call_free(&k);
	if (rc) {
		free(id);
		return rc;
	}
	w->upload_id = id;
	return 0;
}

/* s3_upload_part sends the buffered part as the next part of the upload (UploadPart). */
static int s3_upload_part(struct s3_writer *w, struct err *e)
{
	char sha[SIGV4_HEX_LEN + 1];
	struct s3_call k;
	struct buf q;
	int rc;

	if (w->n_parts == S3_MAX_PARTS)
		return err_set(e, ERR_LIMIT, "%.300s: larger than %d parts of %zu MiB, the most one "
					     "object written by barge may have",
			       w->uri, S3_MAX_PARTS, S3_PART_SIZE >> 20);
	if (w->n_parts == w->cap_parts) {
		size_t ncap = w->cap_parts ? w->cap_parts * 2 : 16;
		char(*nv)[S3XML_ETAG_MAX];

		if (ncap > S3_MAX_PARTS)
			ncap = S3_MAX_PARTS;
		nv = realloc(w->etags, ncap * sizeof(*nv));
		if (!nv)
			return err_set(e, ERR_NOMEM, "out of memory");
		w->etags = nv;
		w->cap_parts = ncap;
	}
	/* Hashed once here rather than by the signer on every retry. */
	rc = sigv4_sha256_hex(w->part.data, w->part.len, sha);
	if (rc)
		return err_set(e, rc, "cannot hash part %zu of %.300s", w->n_parts + 1, w->uri);
	buf_init(&q, S3_URL_MAX);
	rc = s3_upload_query(w, w->n_parts + 1, &q, e);
	if (rc)
		goto out;
	s3_call_init(&k, "PUT", "UploadPart", &w->loc, w->loc.key);
	k.query = q.data;
	k.body = w->part.data;
	k.body_len = w->part.len;
	k.body_sha256 = sha;
	rc = s3_call(&w->c, &k, e);
	if (!rc && !k.etag[0])
		rc = err_set(e, ERR_REMOTE, "the S3 server took part %zu of %.300s without an ETag",
			     w->n_parts + 1, w->uri);
	if (!rc) {
		snprintf(w->etags[w->n_parts], S3XML_ETAG_MAX, "%s", k.etag);
		w->n_parts++;
		buf_reset(&w->part);
	}
	s3_call_free(&k);
out:
	buf_free(&q);
	return rc;
}

/* s3_upload_done checks, after an answer was lost, whether the upload did complete. */
static bool s3_upload_done(struct s3_writer *w)
{
	struct obj_stat st;
	struct err ignore;
	char suffix[32];
	size_t n, m;

	if (s3_head(&w->c, &w->loc, &st, &ignore))
		return false;
	/* A multipart object's ETag ends in "-<number of parts>". */
	snprintf(suffix, sizeof(suffix), "-%zu", w->n_parts);
	n = strlen(st.etag);
	m = strlen(suffix);
	return n > m && !strcmp(st.etag + n - m, suffix);
}

/* s3_upload_complete publishes the object from its parts (CompleteMultipartUpload). */
static int s3_upload_complete(struct s3_writer *w, struct err *e)
{
	char etag[S3XML_ETAG_MAX * 6];
	struct s3_call k;
	struct buf q, body;
	int rc;

	buf_init(&q, S3_URL_MAX);
	/* About 100 bytes a part: 1 MiB for the 10,000 parts S3 allows. */
	buf_init(&body, (size_t)S3_MAX_PARTS * 128 + 256);
	rc = s3_upload_query(w, 0, &q, e);
	if (rc)
		goto out;
	buf_puts(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (size_t i = 0; i < w->n_parts; i++) {
		if (s3xml_escape(w->etags[i], etag, sizeof(etag))) {
			rc = err_set(e, ERR_LIMIT, "%.300s: part %zu has an overlong ETag", w->uri, i + 1);
			goto out;
		}
		buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>", i + 1,
			   etag);
	}
	buf_puts(&body, "</CompleteMultipartUpload>");
	if (body.err) {
		rc = err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	s3_call_init(&k, "POST", "CompleteMultipartUpload", &w->loc, w->loc.key);
	k.query = q.data;
	k.body = body.data;
	k.body_len = body.len;
	k.content_type = "application/xml";
	k.check_error_root = true;
	rc = s3_call(&w->c, &k, e);
	/*
	 * When an earlier try reached the server but its answer was lost, the
	 * upload may be complete already and the retry finds it gone.
	 */
	if (rc && s3_code_is(&k, "NoSuchUpload") && k.had_transport_error && s3_upload_done(w))
		rc = 0;
	if (!rc)
		log_info("S3: wrote %.300s in %zu parts (multipart upload)", w->uri, w->n_parts);
	s3_call_free(&k);
out:
	buf_free(&q);
	buf_free(&body);
	return rc;
}

/* s3_upload_abort discards the upload's parts; a failure only leaves them to a lifecycle rule. */
static void s3_upload_abort(struct s3_writer *w)
{
	struct s3_call k;
	struct buf q;
	struct err e;

	buf_init(&q, S3_URL_MAX);
	if (!s3_upload_query(w, 0, &q, &e)) {
		s3_call_init(&k, "DELETE", "AbortMultipartUpload", &w->loc, w->loc.key);
		k.query = q.data;
		if (s3_call(&w->c, &k, &e) && !s3_code_is(&k, "NoSuchUpload"))
			log_warn("%s (its parts stay stored until an abort succeeds or a lifecycle "
				 "rule removes them)",
				 e.msg);
		s3_call_free(&k);
	}
	buf_free(&q);
}

/* s3_put_object writes the buffered bytes as the whole object (PutObject). */
static int s3_put_object(struct s3_writer *w, struct err *e)
{
	char sha[SIGV4_HEX_LEN + 1];
	struct s3_call k;
	int rc;

	rc = sigv4_sha256_hex(w->part.data, w->part.len, sha);
	if (rc)
		return err_set(e, rc, "cannot hash %.300s", w->uri);
	s3_call_init(&k, "PUT", "PutObject", &w->loc, w->loc.key);
	k.body = w->part.data;
	k.body_len = w->part.len;
	k.body_sha256 = sha;
	k.content_type = "application/octet-stream";
	rc = s3_call(&w->c, &k, e);
	s3_call_free(&k);
	return rc;
}

/*
 * s3_writer_write copies p into the part buffer (the caller keeps p), sending each full
 * part as the next one begins.
 */
static int s3_writer_write(struct obj_writer *ow, const void *p, size_t n, struct err *e)
{
	struct s3_writer *w = (struct s3_writer *)ow;
	const char *s = p;
	int rc;

	if (w->failed)
		return err_set(e, w->failed, "%.300s: an earlier write failed", w->uri);
	while (n > 0) {
		size_t take;

		/* A full part goes up only once more bytes come, so one part's worth is a PutObject. */
		if (w->part.len == S3_PART_SIZE) {
			if (!w->upload_id && (rc = s3_upload_create(w, e)))
				goto fail;
			if ((rc = s3_upload_part(w, e)))
				goto fail;
		}
		take = S3_PART_SIZE - w->part.len;
		if (take > n)
			take = n;
		if (buf_append(&w->part, s, take)) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto fail;
		}
		s += take;
		n -= take;
	}
	return 0;
fail:
	w->failed = rc;
	return rc;
}

/* s3_writer_free releases the writer and everything it owns; it sends nothing. */
static void s3_writer_free(struct s3_writer *w)
{
	s3_conn_close(&w->c);
	buf_free(&w->part);
	free(w->etags);
	free(w->upload_id);
	free(w->uri);
	free(w);
}

/*
 * s3_writer_commit publishes the object (PutObject, or the last part and
 * CompleteMultipartUpload), aborts the upload on failure, and frees w in every case.
 */
static int s3_writer_commit(struct obj_writer *ow, struct err *e)
{
	struct s3_writer *w = (struct s3_writer *)ow;
	int rc;

	if (w->failed)
		rc = err_set(e, w->failed, "%.300s: not written, because an earlier write failed",
			     w->uri);
	else if (!w->upload_id)
		rc = s3_put_object(w, e);
	else {
		/* The last part may be small; it holds at least a byte, as writes fill parts lazily. */
		rc = w->part.len ? s3_upload_part(w, e) : 0;
		if (!rc)
			rc = s3_upload_complete(w, e);
	}
	if (rc && w->upload_id)
		s3_upload_abort(w);
	s3_writer_free(w);
	return rc;
}

/* s3_writer_abort discards what was written (aborting a started upload) and frees w. */
static void s3_writer_abort(struct obj_writer *ow)
{
	struct s3_writer *w = (struct s3_writer *)ow;

	if (w->upload_id)
		s3_upload_abort(w);
	s3_writer_free(w);
}

static const struct obj_writer_ops s3_writer_ops = {s3_writer_write, s3_writer_commit,
						    s3_writer_abort};

/*
 * s3_open_write starts writing uri; nothing is sent until a part fills or
 * commit. The caller owns *w until obj_writer_commit or obj_writer_abort.
 */
int s3_open_write(struct s3_store *s, const char *uri, struct obj_writer **ow, struct err *e)
{
	struct s3_writer *w = calloc(1, sizeof(*w));
	int rc;

	*ow = NULL;
	if (!w || !(w->uri = strdup(uri))) {
		free(w);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	w->base.ops = &s3_writer_ops;
	buf_init(&w->part, S3_PART_SIZE);
	rc = s3_loc_parse(w->uri, &w->loc, e);
	if (!rc && (!*w->loc.key || s3_ends_with_slash(w->loc.key)))
		rc = err_set(e, ERR_INVAL, "%.300s: not an object name (it ends with '/')", uri);
	if (!rc)
		rc = s3_conn_open(s, &w->c, e);
	if (rc) {
		s3_writer_free(w);
		return rc;
	}
	*ow = &w->base;
	return 0;
}
