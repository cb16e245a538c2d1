/* s3xml.h - a small, strict reader of the XML documents that S3 answers with. */
#ifndef BARGE_S3XML_H
#define BARGE_S3XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * S3's answers are small, flat documents: a root element, a few children,
 * and for listings a repeated <Contents> with a few leaves each. This reader
 * understands exactly that much XML: elements (with attributes, which it
 * skips), text with the five named entities and numeric character
 * references, CDATA, comments and the XML declaration. A DOCTYPE is refused,
 * so no entity can expand. Every document is read to its end and must be
 * well formed, so that a truncated answer is an error and never a short
 * listing.
 */

#define S3XML_MAX ((size_t)16 << 20)   /* the largest document read */
#define S3XML_DEPTH_MAX 16              /* deepest element nesting accepted */
#define S3XML_NAME_MAX 128              /* longest element name accepted */
#define S3XML_KEY_MAX 1024              /* S3's longest object key, in bytes */
#define S3XML_ETAG_MAX 80               /* longest ETag kept (as struct obj_stat's) */
#define S3XML_TOKEN_MAX 4096            /* longest continuation token kept */

/* One <Contents> entry of a listing; the strings live until the callback returns. */
struct s3xml_object {
	const char *key;
	uint64_t size;
	const char *etag; /* "" when the listing gave none */
};

/* What a ListObjectsV2 page says beside its objects. */
struct s3xml_page {
	bool truncated;
	char next_token[S3XML_TOKEN_MAX]; /* "" when the page is the last */
	uint64_t n_objects;               /* <Contents> entries on this page */
};

/*
 * s3xml_get finds the first element at path, a '/'-separated list of
 * element names from the root ("Error/Code"), and writes its decoded text
 * and a NUL to out. Names are matched without namespace prefixes. Returns
 * 1 when found, 0 when the document has no such element (out is then ""),
 * ERR_INVAL when the document is not well-formed XML, or ERR_LIMIT when the
 * text does not fit in outsz - 1 bytes; e says which. Nothing is allocated.
 */
int s3xml_get(const char *xml, size_t n, const char *path, char *out, size_t outsz,
	      struct err *e);

/*
 * s3xml_root writes the name of the root element (without a namespace
 * prefix) to out. Returns 0, ERR_INVAL for a malformed document, or
 * ERR_LIMIT when the name does not fit. Nothing is allocated.
 */
int s3xml_root(const char *xml, size_t n, char *out, size_t outsz, struct err *e);

/*
 * s3xml_parse_list reads a ListObjectsV2 answer (<ListBucketResult>): it
 * calls cb for every <Contents> in document order, then fills page. A
 * nonzero return of cb stops the reading and is returned as is. Returns 0,
 * ERR_INVAL (malformed, another root, a <Contents> without <Key> or with a
 * bad <Size>, truncated with no token) or ERR_LIMIT (a key, ETag or token
 * over its cap), with e filled. Nothing is allocated for the caller.
 */
int s3xml_parse_list(const char *xml, size_t n,
		     int (*cb)(const struct s3xml_object *o, void *ud), void *ud,
		     struct s3xml_page *page, struct err *e);

/*
 * s3xml_escape appends s with the five XML special characters written as
 * entities to out (a caller-owned buffer of at least outsz bytes, always
 * NUL-terminated). Returns 0, or ERR_LIMIT when it does not fit.
 */
int s3xml_escape(const char *s, char *out, size_t outsz);

#endif
