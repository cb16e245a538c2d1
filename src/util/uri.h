/* uri.h - input and output locations: canonical forms and allowed roots. */
#ifndef BARGE_URI_H
#define BARGE_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define URI_MAX 4096

/*
 * uri_canonical turns a location into the form barge stores and checks:
 * - file:///abs/path or /abs/path: the absolute path with symbolic links
 *   resolved (for the part that exists), percent-escapes decoded, and no
 *   ".", ".." or empty components; returned as a plain path. A trailing
 *   slash is kept (it marks a prefix).
 * - s3://bucket/key: kept as written, but "." and ".." segments are refused.
 * A relative path, another scheme, or a NUL byte is ERR_INVAL with a
 * message saying what is accepted. out must hold URI_MAX bytes.
 */
int uri_canonical(const char *uri, char *out, size_t n, struct err *e);

/*
 * uri_allowed says whether canonical location loc lies under one of the
 * roots (each as configured: file://, a path or s3://; canonicalised here
 * too), on a path-segment boundary: "/srv/a/" allows "/srv/a/x" but a root
 * "/srv/a" does not allow "/srv/ab".
 */
bool uri_allowed(const char *loc, char *const *roots, size_t n_roots);

/*
 * uri_pct_decode decodes the percent-escapes of s[0..n) into out, a string
 * of at most outsz-1 bytes. strict (for locations and API paths) refuses a
 * '%' without two hex digits and an escaped NUL with ERR_INVAL; otherwise
 * such a '%' is kept as written, as lenient servers do. ERR_LIMIT when out
 * is too small. out is undefined after a failure.
 */
int uri_pct_decode(const char *s, size_t n, char *out, size_t outsz, bool strict);

/* uri_hex_digit is the value of hex digit c, or -1. */
int uri_hex_digit(int c);

/* uri_is_local is true for a plain path (what uri_canonical gives for files). */
bool uri_is_local(const char *loc);

/*
 * uri_redact copies url into out (n bytes, truncated to fit) with the
 * password of its userinfo ("scheme://user:secret@host") replaced by
 * "***", so that a store URL can be logged and shown in errors.
 */
void uri_redact(const char *url, char *out, size_t n);

#endif
