/* multipart.c - multipart/form-data bodies (RFC 7578), parsed in place. */
#define _GNU_SOURCE /* memmem and strcasestr */
#include "api/multipart.h"

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

/* param copies the value of parameter key (name, filename) of a Content-Disposition. */
static void param(const char *h, size_t hn, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (size_t i = 0; i + kl + 2 <= hn; i++) {
		/* The key must start a parameter: "; name=" and not "; filename=". */
		if (strncasecmp(h + i, key, kl) || h[i + kl] != '=' ||
		    (i > 0 && h[i - 1] != ' ' && h[i - 1] != ';'))
			continue;
		i += kl + 1;
		if (h[i] == '"') {
			size_t j = ++i;

			while (j < hn && h[j] != '"')
				j++;
			snprintf(out, n, "%.*s", (int)(j - i), h + i);
		} else {
			size_t j = i;

			while (j < hn && h[j] != ';' && h[j] != '\r')
				j++;
			snprintf(out, n, "%.*s", (int)(j - i), h + i);
		}
		return;
	}
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
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return err_set(e, ERR_INVAL, "a multipart delimiter is not followed by CRLF");
		hdr = p + 2;
		hend = memmem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4);
		if (!hend)
			return err_set(e, ERR_INVAL, "a multipart part has no end of headers");
		data = hend + 4;
		next = memmem(data, (size_t)(end - data), delim, dl);
		if (!next || next - data < 2 || next[-2] != '\r' || next[-1] != '\n')
			return err_set(e, ERR_INVAL, "a multipart part is not closed by the boundary");
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
		m->len = (size_t)(next - 2 - data);
		p = next;
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
