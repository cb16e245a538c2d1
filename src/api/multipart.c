/* multipart.c - multipart/form-data bodies (RFC 7578), parsed in place. */
#define _GNU_SOURCE /* memmem and strcasestr */
#include "api/multipart.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* boundary_of finds the boundary parameter of a Content-Type, quoted or not. */
static int boundary_of(const char *ct, char *out, size_t n, struct err *e)
{
	const char *p;
	size_t len;

	if (!ct || strncasecmp(ct, "multipart/form-data", 19))
		return err_set(e, ERR_INVAL, "the body must be multipart/form-data");
	p = strcasestr(ct, "boundary=");
	if (!p)
		return err_set(e, ERR_INVAL, "the multipart/form-data Content-Type names no boundary");
	p += 9;
	if (*p == '"') {
		const char *q = strchr(++p, '"');

		len = q ? (size_t)(q - p) : 0;
	} else {
		len = strcspn(p, "; \t");
	}
	/* RFC 2046 allows 1 to 70 characters. */
	if (len < 1 || len > 70)
		return err_set(e, ERR_INVAL, "the multipart boundary must be 1 to 70 characters");
	snprintf(out, n, "--%.*s", (int)len, p);
	return 0;
}

/*
 * copy_value copies v[0..vn) into out (n bytes). A value too long is cut
 * before the character that does not fit, never inside it, so that a long
 * UTF-8 file name stays valid UTF-8.
 */
static void copy_value(const char *v, size_t vn, char *out, size_t n)
{
	if (vn >= n) {
		vn = n - 1;
		/* v[vn] is the first byte left out: back up to its character's start. */
		while (vn > 0 && ((unsigned char)v[vn] & 0xC0) == 0x80)
			vn--;
	}
	memcpy(out, v, vn);
	out[vn] = '\0';
}

/*
 * param copies the value of parameter key (name, filename) of the
 * Content-Disposition value h[0..hn) into out (n bytes), "" when absent.
 * Parameters are read one after the other, and a quoted value is read to
 * its closing quote (a backslash escapes the next character), so that
 * "name=" written inside a quoted file name is never taken for the name.
 */
static void param(const char *h, size_t hn, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key), i = 0;

	out[0] = '\0';
	/* Past the disposition type ("form-data") to the first ';'. */
	while (i < hn && h[i] != ';')
		i++;
	while (i < hn) {
		size_t ks, ke;
		bool match;

		i++; /* the ';' */
		while (i < hn && (h[i] == ' ' || h[i] == '\t'))
			i++;
		ks = i;
		while (i < hn && h[i] != '=' && h[i] != ';')
			i++;
		ke = i;
		while (ke > ks && (h[ke - 1] == ' ' || h[ke - 1] == '\t'))
			ke--;
		match = ke - ks == kl && !strncasecmp(h + ks, key, kl);
		if (i >= hn || h[i] == ';')
			continue; /* a parameter without a value */
		i++; /* the '=' */
		while (i < hn && (h[i] == ' ' || h[i] == '\t'))
			i++;
		if (i < hn && h[i] == '"') {
			char v[1024];
			size_t vn = 0;

			for (i++; i < hn && h[i] != '"'; i++) {
				if (h[i] == '\\' && i + 1 < hn)
					i++;
				if (vn < sizeof(v))
					v[vn++] = h[i];
			}
			if (match) {
				copy_value(v, vn, out, n);
				return;
			}
			/* Whatever follows the closing quote, up to the next ';', is skipped. */
			while (i < hn && h[i] != ';')
				i++;
		} else {
			size_t vs = i;

			while (i < hn && h[i] != ';')
				i++;
			if (match) {
				size_t ve = i;

				while (ve > vs && (h[ve - 1] == ' ' || h[ve - 1] == '\t'))
					ve--;
				copy_value(h + vs, ve - vs, out, n);
				return;
			}
		}
	}
}

/*
 * next_delim finds, in p[0..end), the delimiter that closes a part: CRLF,
 * the boundary's "--" form, then "--" (the last one) or optional spaces and
 * CRLF (RFC 2046, section 5.1.1). The boundary's text elsewhere in the data,
 * not at the start of a line or followed by more characters, is data.
 * Returns the CRLF that starts the delimiter, or NULL.
 */
static const char *next_delim(const char *p, const char *end, const char *delim, size_t dl)
{
	while (p < end) {
		const char *q = memmem(p, (size_t)(end - p), delim, dl), *t;

		if (!q)
			return NULL;
		t = q + dl;
		if (q - p >= 2 && q[-2] == '\r' && q[-1] == '\n') {
			if (end - t >= 2 && t[0] == '-' && t[1] == '-')
				return q - 2;
			while (t < end && (*t == ' ' || *t == '\t'))
				t++;
			if (end - t >= 2 && t[0] == '\r' && t[1] == '\n')
				return q - 2;
		}
		p = q + 1;
	}
	return NULL;
}

int multipart_parse(const char *content_type, const char *body, size_t len,
		    struct multipart_part *parts, struct err *e)
{
	char delim[80];
	const char *p, *end = body + len;
	size_t dl;
	int n = 0, rc;

	if ((rc = boundary_of(content_type, delim, sizeof(delim), e)))
		return rc;
	dl = strlen(delim);
	p = memmem(body, len, delim, dl);
	if (!p)
		return err_set(e, ERR_INVAL, "the body holds no part of the multipart form");
	for (;;) {
		const char *hdr, *hend, *data, *next;
		struct multipart_part *m;

		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return n; /* the closing delimiter */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return err_set(e, ERR_INVAL,
				       "a multipart delimiter is not followed by CRLF (part %d; lines "
				       "must end with CRLF)",
				       n + 1);
		hdr = p + 2;
		/* A part without headers has its blank line at once. */
		if (end - hdr >= 2 && hdr[0] == '\r' && hdr[1] == '\n')
			hend = hdr - 2;
		else
			hend = memmem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
		if (!hend)
			return err_set(e, ERR_INVAL, "multipart part %d has no end of headers", n + 1);
		data = hend + 4;
		next = next_delim(data, end, delim, dl);
		if (!next)
			return err_set(e, ERR_INVAL,
				       "multipart part %d is not closed by the boundary (is the body "
				       "complete?)",
				       n + 1);
		if (n == MULTIPART_MAX_PARTS)
			return err_set(e, ERR_INVAL, "the form has more than %d parts",
				       MULTIPART_MAX_PARTS);
		m = &parts[n++];
		memset(m, 0, sizeof(*m));
		for (const char *h = hdr; h < hend;) {
			const char *eol = memmem(h, (size_t)(hend + 2 - h), "\r\n", 2);
			size_t hl = eol ? (size_t)(eol - h) : (size_t)(hend - h);

			if (hl > 20 && !strncasecmp(h, "Content-Disposition:", 20)) {
				param(h + 20, hl - 20, "name", m->name, sizeof(m->name));
				param(h + 20, hl - 20, "filename", m->filename, sizeof(m->filename));
			}
			h += hl + 2;
		}
		m->data = data;
		m->len = (size_t)(next - data);
		p = next + 2;
	}
}

const struct multipart_part *multipart_find(const struct multipart_part *parts, int n,
					    const char *name)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(parts[i].name, name))
			return &parts[i];
	}
	return NULL;
}
