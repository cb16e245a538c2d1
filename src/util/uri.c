/* uri.c - input and output locations: canonical forms and allowed roots. */
#include "util/uri.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int uri_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uri_pct_decode(const char *s, size_t n, char *out, size_t outsz, bool strict)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int h = i + 2 < n ? uri_hex_digit((unsigned char)s[i + 1]) : -1;
			int l = h >= 0 ? uri_hex_digit((unsigned char)s[i + 2]) : -1;

			if (h >= 0 && l >= 0 && (h || l || !strict)) {
				c = (char)(h * 16 + l);
				i += 2;
			} else if (strict) {
				return ERR_INVAL;
			}
		}
		if (o + 1 >= outsz)
			return ERR_LIMIT;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * check_segments refuses ".", ".." and empty segments in a path (after its
 * leading slash; a trailing slash is allowed).
 */
static bool clean_segments(const char *p)
{
	const char *s = p;

	while (*s == '/')
		s++;
	while (*s) {
		size_t len = strcspn(s, "/");

		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += len;
		if (*s == '/') {
			s++;
			if (*s == '/')
				return false; /* an empty segment */
		}
	}
	return true;
}

/*
 * resolve makes path canonical: the longest prefix that exists goes through
 * realpath (which settles symbolic links), and the rest is appended as it
 * is, since it was checked to hold no "." or "..".
 */
static int resolve(const char *path, char *out, size_t n)
{
	char tmp[URI_MAX], real[PATH_MAX];
	size_t len = strlen(path);
	bool slash = len > 1 && path[len - 1] == '/';
	char *cut;

	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, len + 1);
	if (slash)
		tmp[--len] = '\0';
	for (;;) {
		if (realpath(tmp[0] ? tmp : "/", real)) {
			const char *rest = path + strlen(tmp);
			size_t rl = strlen(real);

			/* realpath("/") is "/": do not double the slash. */
			if (rl == 1)
				rl = 0;
			if (rl + strlen(rest) + 2 > n)
				return -1;
			memcpy(out, real, rl);
			strcpy(out + rl, rest[0] ? rest : (slash ? "/" : ""));
			if (!out[0])
				strcpy(out, "/");
			return 0;
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		cut = strrchr(tmp, '/');
		if (!cut)
			return -1;
		*cut = '\0';
	}
}

int uri_canonical(const char *uri, char *out, size_t n, struct err *e)
{
	char path[URI_MAX];
	const char *p = uri;

	if (!strncmp(uri, "s3://", 5)) {
		if (!clean_segments(uri + 5) || strlen(uri) >= n)
			return err_set(e, ERR_INVAL,
				       "%.200s: an S3 location must not hold empty, \".\" or \"..\" "
				       "segments",
				       uri);
		strcpy(out, uri);
		return 0;
	}
	if (!strncmp(p, "file://", 7)) {
		p += 7;
		/* file://localhost/path is the same as file:///path. */
		if (!strncmp(p, "localhost/", 10))
			p += 9;
	} else if (strstr(uri, "://")) {
		return err_set(e, ERR_INVAL,
			       "%.200s: locations are s3://bucket/key, file:///absolute/path or an "
			       "absolute path",
			       uri);
	}
	if (p[0] != '/')
		return err_set(e, ERR_INVAL, "%.200s: a local location must be an absolute path",
			       uri);
	if (uri_pct_decode(p, strlen(p), path, sizeof(path), true))
		return err_set(e, ERR_INVAL, "%.200s: bad percent-escape in the location", uri);
	if (!clean_segments(path))
		return err_set(e, ERR_INVAL,
			       "%.200s: a location must not hold empty, \".\" or \"..\" segments", uri);
	if (resolve(path, out, n))
		return err_set(e, ERR_INVAL, "%.200s: the location cannot be resolved", uri);
	return 0;
}

bool uri_is_local(const char *loc)
{
	return loc[0] == '/';
}

static bool under(const char *loc, const char *root)
{
	size_t rl = strlen(root);

	/* The root itself, written without its trailing slash. */
	if (rl > 1 && root[rl - 1] == '/' && strlen(loc) == rl - 1 && !strncmp(loc, root, rl - 1))
		return true;
	if (strncmp(loc, root, rl))
		return false;
	/* A root ending in "/" already ends on a boundary. */
	return rl > 0 && (root[rl - 1] == '/' || loc[rl] == '\0' || loc[rl] == '/');
}

bool uri_allowed(const char *loc, char *const *roots, size_t n_roots)
{
	for (size_t i = 0; i < n_roots; i++) {
		char root[URI_MAX];
		struct err e;

		if (uri_canonical(roots[i], root, sizeof(root), &e))
			continue;
		if (under(loc, root))
			return true;
	}
	return false;
}

void uri_redact(const char *url, char *out, size_t n)
{
	const char *auth = strstr(url, "://");
	const char *end, *at, *colon;

	if (!n)
		return;
	if (!auth) {
		snprintf(out, n, "%s", url);
		return;
	}
	auth += 3;
	/* The userinfo ends at the last '@' before the path: passwords may hold '@'. */
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon) {
		snprintf(out, n, "%s", url);
		return;
	}
	snprintf(out, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
}
