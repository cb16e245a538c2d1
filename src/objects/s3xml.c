/* s3xml.c - a small, strict reader of the XML documents that S3 answers with. */
#include "objects/s3xml.h"

#include <string.h>

enum xkind { XK_OPEN, XK_CLOSE, XK_TEXT, XK_CDATA, XK_END };

/*
 * One token of the document. For XK_OPEN and XK_CLOSE, s is the element's
 * name without a namespace prefix and depth the element's own depth (1 for
 * the root); for XK_TEXT (raw, entities not yet decoded) and XK_CDATA, s is
 * the text and depth that of the enclosing element. Everything points into
 * the document.
 */
struct xtok {
	enum xkind kind;
	const char *s;
	size_t n;
	int depth;
};

/*
 * The tokenizer's state: the unread rest of the document and the stack of
 * open elements (their full names, to match the closing tags).
 */
struct xreader {
	const char *p;
	const char *end;
	int depth;
	const char *stack[S3XML_DEPTH_MAX];
	size_t stack_n[S3XML_DEPTH_MAX];
	bool pending_close; /* the last element opened was empty (<x/>) */
	bool done_root;
};

/* xr_init starts reading xml[0..n), which stays the caller's. */
static void xr_init(struct xreader *r, const char *xml, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->p = xml;
	r->end = xml + n;
	/* A UTF-8 byte order mark may come before the document. */
	if (n >= 3 && !memcmp(xml, "\xEF\xBB\xBF", 3))
		r->p += 3;
}

/* xr_space is true for XML white space. */
static bool xr_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* xr_name_char is true for a byte that may be part of a name. */
static bool xr_name_char(char c)
{
	return !xr_space(c) && c != '<' && c != '>' && c != '/' && c != '=' && c != '"' &&
	       c != '\'' && c != '&' && (unsigned char)c >= 0x20;
}

/* xr_find returns where needle starts in [p, end), or NULL. */
static const char *xr_find(const char *p, const char *end, const char *needle)
{
	size_t m = strlen(needle);

	for (; (size_t)(end - p) >= m; p++) {
		if (*p == needle[0] && !memcmp(p, needle, m))
			return p;
	}
	return NULL;
}

/* xr_starts says whether the unread text starts with s. */
static bool xr_starts(const struct xreader *r, const char *s)
{
	size_t m = strlen(s);

	return (size_t)(r->end - r->p) >= m && !memcmp(r->p, s, m);
}

/* xr_local drops a namespace prefix ("s3:Key" is "Key"). */
static void xr_local(const char *s, size_t n, struct xtok *t)
{
	const char *colon = memchr(s, ':', n);

	if (colon) {
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	t->s = s;
	t->n = n;
}

/* xr_truncated is the error of a document that stops inside markup. */
static int xr_truncated(struct err *e)
{
	return err_set(e, ERR_INVAL, "the XML answer ends in the middle of a tag (truncated?)");
}

/* xr_name reads an element or attribute name at r->p. */
static int xr_name(struct xreader *r, const char **s, size_t *n, struct err *e)
{
	const char *q = r->p;

	while (q < r->end && xr_name_char(*q))
		q++;
	if (q == r->end)
		return xr_truncated(e);
	if (q == r->p)
		return err_set(e, ERR_INVAL, "the XML answer has a tag without a name");
	if ((size_t)(q - r->p) > S3XML_NAME_MAX)
		return err_set(e, ERR_LIMIT, "the XML answer has a name longer than %d bytes",
			       S3XML_NAME_MAX);
	*s = r->p;
	*n = (size_t)(q - r->p);
	r->p = q;
	return 0;
}

/* xr_skip_space moves past white space. */
static void xr_skip_space(struct xreader *r)
{
	while (r->p < r->end && xr_space(*r->p))
		r->p++;
}

/* xr_open reads a start tag after its '<': the name, the attributes, the end. */
static int xr_open(struct xreader *r, struct xtok *t, struct err *e)
{
	const char *name;
	size_t n;
	int rc;

	if (r->done_root)
		return err_set(e, ERR_INVAL, "the XML answer has a second root element");
	if (r->depth == S3XML_DEPTH_MAX)
		return err_set(e, ERR_LIMIT, "the XML answer nests elements deeper than %d",
			       S3XML_DEPTH_MAX);
	if ((rc = xr_name(r, &name, &n, e)))
		return rc;
	for (;;) {
		const char *an, *close;
		size_t al;
		char q;

		xr_skip_space(r);
		if (r->p == r->end)
			return xr_truncated(e);
		if (*r->p == '>') {
			r->p++;
			break;
		}
		if (*r->p == '/') {
			if (r->end - r->p < 2)
				return xr_truncated(e);
			if (r->p[1] != '>')
				return err_set(e, ERR_INVAL, "the XML answer has a stray '/' in a tag");
			r->p += 2;
			r->pending_close = true;
			break;
		}
		/* Attributes (xmlns and the like) carry nothing barge needs. */
		if ((rc = xr_name(r, &an, &al, e)))
			return rc;
		xr_skip_space(r);
		if (r->p == r->end)
			return xr_truncated(e);
		if (*r->p != '=')
			return err_set(e, ERR_INVAL, "the XML answer has an attribute without a value");
		r->p++;
		xr_skip_space(r);
		if (r->p == r->end)
			return xr_truncated(e);
		q = *r->p;
		if (q != '"' && q != '\'')
			return err_set(e, ERR_INVAL, "the XML answer has an unquoted attribute value");
		close = memchr(r->p + 1, q, (size_t)(r->end - r->p - 1));
		if (!close)
			return xr_truncated(e);
		r->p = close + 1;
	}
	r->stack[r->depth] = name;
	r->stack_n[r->depth] = n;
	r->depth++;
	t->kind = XK_OPEN;
	t->depth = r->depth;
	xr_local(name, n, t);
	return 0;
}

/* xr_pop closes the innermost element and reports it as t. */
static void xr_pop(struct xreader *r, struct xtok *t)
{
	t->kind = XK_CLOSE;
	t->depth = r->depth;
	xr_local(r->stack[r->depth - 1], r->stack_n[r->depth - 1], t);
	r->depth--;
	if (r->depth == 0)
		r->done_root = true;
}

/* xr_close reads an end tag after its "</"; it must close the innermost element. */
static int xr_close(struct xreader *r, struct xtok *t, struct err *e)
{
	const char *name;
	size_t n;
	int rc;

	if ((rc = xr_name(r, &name, &n, e)))
		return rc;
	xr_skip_space(r);
	if (r->p == r->end)
		return xr_truncated(e);
	if (*r->p != '>')
		return err_set(e, ERR_INVAL, "the XML answer has a malformed end tag");
	r->p++;
	if (r->depth == 0 || r->stack_n[r->depth - 1] != n ||
	    memcmp(r->stack[r->depth - 1], name, n))
		return err_set(e, ERR_INVAL, "the XML answer closes <%.*s>, which is not open",
			       (int)(n > 64 ? 64 : n), name);
	xr_pop(r, t);
	return 0;
}

/* xr_next reads the next token; XK_END only after the root element closed. */
static int xr_next(struct xreader *r, struct xtok *t, struct err *e)
{
	if (r->pending_close) {
		r->pending_close = false;
		xr_pop(r, t);
		return 0;
	}
	for (;;) {
		const char *stop;

		if (r->p == r->end) {
			if (!r->done_root)
				return err_set(e, ERR_INVAL, "the XML answer ends before its root element "
							     "closes (truncated?)");
			t->kind = XK_END;
			return 0;
		}
		if (*r->p != '<') {
			const char *s = r->p;

			stop = memchr(r->p, '<', (size_t)(r->end - r->p));
			r->p = stop ? stop : r->end;
			if (r->depth > 0) {
				t->kind = XK_TEXT;
				t->s = s;
				t->n = (size_t)(r->p - s);
				t->depth = r->depth;
				return 0;
			}
			for (; s < r->p; s++) {
				if (!xr_space(*s))
					return err_set(e, ERR_INVAL, "the XML answer has text outside its "
								     "root element: is it XML at all?");
			}
			continue;
		}
		if (xr_starts(r, "<?")) {
			stop = xr_find(r->p + 2, r->end, "?>");
			if (!stop)
				return xr_truncated(e);
			r->p = stop + 2;
			continue;
		}
		if (xr_starts(r, "<!--")) {
			stop = xr_find(r->p + 4, r->end, "-->");
			if (!stop)
				return xr_truncated(e);
			r->p = stop + 3;
			continue;
		}
		if (xr_starts(r, "<![CDATA[")) {
			if (r->depth == 0)
				return err_set(e, ERR_INVAL, "the XML answer has CDATA outside its root");
			stop = xr_find(r->p + 9, r->end, "]]>");
			if (!stop)
				return xr_truncated(e);
			t->kind = XK_CDATA;
			t->s = r->p + 9;
			t->n = (size_t)(stop - t->s);
			t->depth = r->depth;
			r->p = stop + 3;
			return 0;
		}
		if (xr_starts(r, "<!"))
			return err_set(e, ERR_INVAL, "the XML answer has a DOCTYPE or declaration, "
						     "which S3 never sends");
		if (xr_starts(r, "</")) {
			r->p += 2;
			return xr_close(r, t, e);
		}
		r->p++;
		return xr_open(r, t, e);
	}
}

/* A bounded output string for decoded text. */
struct xcap {
	char *out;
	size_t size; /* bytes available, the NUL included */
	size_t len;
	const char *what; /* for messages: "Key", "Message"... */
};

/* xcap_init points c at the caller's out[0..size) and empties it. */
static void xcap_init(struct xcap *c, char *out, size_t size, const char *what)
{
	c->out = out;
	c->size = size;
	c->len = 0;
	c->what = what;
	if (size)
		out[0] = '\0';
}

/* xcap_put appends s[0..n) to c, or fails with ERR_LIMIT when it does not fit. */
static int xcap_put(struct xcap *c, const char *s, size_t n, struct err *e)
{
	if (c->size == 0 || n > c->size - 1 - c->len)
		return err_set(e, ERR_LIMIT, "the XML answer's <%s> is longer than %zu bytes",
			       c->what, c->size ? c->size - 1 : 0);
	memcpy(c->out + c->len, s, n);
	c->len += n;
	c->out[c->len] = '\0';
	return 0;
}

/* xcap_utf8 appends code point cp in UTF-8; NUL, surrogates and out-of-range are refused. */
static int xcap_utf8(struct xcap *c, unsigned long cp, struct err *e)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return err_set(e, ERR_INVAL, "the XML answer has an invalid character reference");
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return xcap_put(c, u, n, e);
}

/* xcap_charref decodes the body of "&#...;" (after "&#", before ';'). */
static int xcap_charref(struct xcap *c, const char *s, size_t n, struct err *e)
{
	unsigned long cp = 0;
	int base = 10;

	if (n > 0 && (s[0] == 'x' || s[0] == 'X')) {
		base = 16;
		s++;
		n--;
	}
	if (n == 0 || n > 8)
		return err_set(e, ERR_INVAL, "the XML answer has an invalid character reference");
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return err_set(e, ERR_INVAL, "the XML answer has an invalid character reference");
		cp = cp * (unsigned long)base + (unsigned long)d;
	}
	return xcap_utf8(c, cp, e);
}

/* xcap_text appends a text token, decoding entities (CDATA is taken as it is). */
static int xcap_text(struct xcap *c, const struct xtok *t, struct err *e)
{
	static const struct {
		const char *name;
		char ch;
	} named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
	const char *s = t->s, *end = t->s + t->n;
	int rc;

	if (memchr(s, '\0', t->n))
		return err_set(e, ERR_INVAL, "the XML answer has a NUL byte in its text");
	if (t->kind == XK_CDATA)
		return xcap_put(c, s, t->n, e);
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s)), *semi;
		size_t n;

		if (!amp)
			return xcap_put(c, s, (size_t)(end - s), e);
		if ((rc = xcap_put(c, s, (size_t)(amp - s), e)))
			return rc;
		/* The longest reference accepted is "&#x10FFFF;": 10 bytes. */
		semi = memchr(amp, ';', (size_t)(end - amp) < 12 ? (size_t)(end - amp) : 12);
		if (!semi)
			return err_set(e, ERR_INVAL, "the XML answer has a bare '&' in <%s>", c->what);
		n = (size_t)(semi - amp - 1);
		if (n > 0 && amp[1] == '#') {
			rc = xcap_charref(c, amp + 2, n - 1, e);
		} else {
			size_t i;

			for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
				if (strlen(named[i].name) == n && !memcmp(named[i].name, amp + 1, n))
					break;
			}
			if (i == sizeof(named) / sizeof(named[0]))
				return err_set(e, ERR_INVAL, "the XML answer has an unknown entity &%.*s;",
					       (int)n, amp + 1);
			rc = xcap_put(c, &named[i].ch, 1, e);
		}
		if (rc)
			return rc;
		s = semi + 1;
	}
	return 0;
}

/* xname_is compares a token's name with name. */
static bool xname_is(const struct xtok *t, const char *name)
{
	return strlen(name) == t->n && !memcmp(t->s, name, t->n);
}

/* xpath_split cuts path into at most S3XML_DEPTH_MAX segments, pointing into path. */
static int xpath_split(const char *path, const char *seg[], size_t seg_n[], struct err *e)
{
	int n = 0;

	while (*path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);

		if (n == S3XML_DEPTH_MAX || len == 0)
			return err_set(e, ERR_INTERNAL, "bad XML path \"%s\"", path);
		seg[n] = path;
		seg_n[n] = len;
		n++;
		path += len;
		if (*path)
			path++;
	}
	return n;
}

/* s3xml_get: see s3xml.h. out is the caller's; nothing is allocated. */
int s3xml_get(const char *xml, size_t n, const char *path, char *out, size_t outsz,
	      struct err *e)
{
	const char *seg[S3XML_DEPTH_MAX];
	size_t seg_n[S3XML_DEPTH_MAX];
	/* matched[d] is true when the open elements 1..d+1 follow the path. */
	bool matched[S3XML_DEPTH_MAX] = {false};
	struct xreader r;
	struct xtok t;
	struct xcap c;
	int nseg, capturing = 0, found = 0, rc;

	xcap_init(&c, out, outsz, path);
	nseg = xpath_split(path, seg, seg_n, e);
	if (nseg <= 0)
		return nseg < 0 ? nseg : err_set(e, ERR_INTERNAL, "empty XML path");
	if (n > S3XML_MAX)
		return err_set(e, ERR_LIMIT, "the XML answer is larger than %zu MiB",
			       S3XML_MAX >> 20);
	xr_init(&r, xml, n);
	for (;;) {
		if ((rc = xr_next(&r, &t, e)))
			return rc;
		if (t.kind == XK_END)
			break;
		if (t.kind == XK_OPEN) {
			int d = t.depth - 1;
			bool parent = d == 0 || matched[d - 1];

			matched[d] = parent && d < nseg && t.n == seg_n[d] && !memcmp(t.s, seg[d], t.n);
			if (matched[d] && t.depth == nseg && !found && !capturing)
				capturing = t.depth;
		} else if (t.kind == XK_CLOSE) {
			if (capturing && t.depth == capturing) {
				capturing = 0;
				found = 1;
			}
		} else if (capturing && t.depth == capturing) {
			if ((rc = xcap_text(&c, &t, e)))
				return rc;
		}
	}
	return found;
}

/* s3xml_root: see s3xml.h. out is the caller's; nothing is allocated. */
int s3xml_root(const char *xml, size_t n, char *out, size_t outsz, struct err *e)
{
	struct xreader r;
	struct xtok t;
	struct xcap c;
	int rc;

	xcap_init(&c, out, outsz, "root");
	if (n > S3XML_MAX)
		return err_set(e, ERR_LIMIT, "the XML answer is larger than %zu MiB",
			       S3XML_MAX >> 20);
	xr_init(&r, xml, n);
	for (;;) {
		if ((rc = xr_next(&r, &t, e)))
			return rc;
		if (t.kind == XK_END)
			return 0;
		if (t.kind == XK_OPEN && t.depth == 1 && (rc = xcap_put(&c, t.s, t.n, e)))
			return rc;
	}
}

/* The state of one listing page being read. */
struct xlist {
	char key[S3XML_KEY_MAX + 1];
	char etag[S3XML_ETAG_MAX];
	char size[24];
	char truncated[8];
	bool in_contents;
	struct xcap cap;  /* where the current leaf's text goes */
	int cap_depth;    /* that leaf's depth, 0 when none */
};

/* xlist_size parses a <Size>: decimal digits only, no overflow. */
static int xlist_size(const char *s, uint64_t *v, struct err *e)
{
	uint64_t n = 0;

	if (!*s)
		return err_set(e, ERR_INVAL, "the listing has an object without a <Size>");
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || n > (UINT64_MAX - d) / 10)
			return err_set(e, ERR_INVAL, "the listing has a <Size> that is not a number");
		n = n * 10 + d;
	}
	*v = n;
	return 0;
}

/* xlist_open starts capturing the leaves a listing needs. */
static int xlist_open(struct xlist *x, const struct xtok *t, struct s3xml_page *page,
		      struct err *e)
{
	if (t->depth == 1) {
		if (!xname_is(t, "ListBucketResult"))
			return err_set(e, ERR_INVAL, "the answer is not a listing (its root is <%.*s>)",
				       (int)(t->n > 64 ? 64 : t->n), t->s);
		return 0;
	}
	if (t->depth == 2) {
		if (xname_is(t, "Contents")) {
			x->in_contents = true;
			x->key[0] = x->etag[0] = x->size[0] = '\0';
		} else if (xname_is(t, "IsTruncated")) {
			xcap_init(&x->cap, x->truncated, sizeof(x->truncated), "IsTruncated");
			x->cap_depth = 2;
		} else if (xname_is(t, "NextContinuationToken")) {
			xcap_init(&x->cap, page->next_token, sizeof(page->next_token),
				  "NextContinuationToken");
			x->cap_depth = 2;
		}
		return 0;
	}
	if (t->depth == 3 && x->in_contents) {
		x->cap_depth = 3;
		if (xname_is(t, "Key"))
			xcap_init(&x->cap, x->key, sizeof(x->key), "Key");
		else if (xname_is(t, "Size"))
			xcap_init(&x->cap, x->size, sizeof(x->size), "Size");
		else if (xname_is(t, "ETag"))
			xcap_init(&x->cap, x->etag, sizeof(x->etag), "ETag");
		else
			x->cap_depth = 0;
	}
	return 0;
}

/* s3xml_parse_list: see s3xml.h. The strings given to cb live on the stack of this call. */
int s3xml_parse_list(const char *xml, size_t n,
		     int (*cb)(const struct s3xml_object *o, void *ud), void *ud,
		     struct s3xml_page *page, struct err *e)
{
	struct xlist x;
	struct xreader r;
	struct xtok t;
	int rc;

	memset(page, 0, sizeof(*page));
	memset(&x, 0, sizeof(x));
	if (n > S3XML_MAX)
		return err_set(e, ERR_LIMIT, "the listing is larger than %zu MiB", S3XML_MAX >> 20);
	xr_init(&r, xml, n);
	for (;;) {
		if ((rc = xr_next(&r, &t, e)))
			return rc;
		if (t.kind == XK_END)
			break;
		if (t.kind == XK_OPEN) {
			if ((rc = xlist_open(&x, &t, page, e)))
				return rc;
		} else if (t.kind == XK_CLOSE) {
			if (t.depth == x.cap_depth)
				x.cap_depth = 0;
			if (t.depth == 2 && x.in_contents) {
				struct s3xml_object o = {x.key, 0, x.etag};

				x.in_contents = false;
				if (!x.key[0])
					return err_set(e, ERR_INVAL, "the listing has an object without a <Key>");
				if ((rc = xlist_size(x.size, &o.size, e)))
					return rc;
				page->n_objects++;
				if ((rc = cb(&o, ud)))
					return rc;
			}
		} else if (x.cap_depth && t.depth == x.cap_depth) {
			if ((rc = xcap_text(&x.cap, &t, e)))
				return rc;
		}
	}
	if (!strcmp(x.truncated, "true"))
		page->truncated = true;
	else if (x.truncated[0] && strcmp(x.truncated, "false"))
		return err_set(e, ERR_INVAL, "the listing's <IsTruncated> is \"%s\", not true or false",
			       x.truncated);
	if (page->truncated && !page->next_token[0])
		return err_set(e, ERR_INVAL, "the listing is truncated but gives no "
					     "<NextContinuationToken> to go on with");
	return 0;
}

/* s3xml_escape: see s3xml.h. out is the caller's. */
int s3xml_escape(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return ERR_LIMIT;
	for (; *s; s++) {
		const char *rep = NULL;
		size_t m = 1;

		switch (*s) {
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '&': rep = "&amp;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: break;
		}
		if (rep)
			m = strlen(rep);
		if (m > outsz - 1 - o) {
			out[o] = '\0';
			return ERR_LIMIT;
		}
		if (rep)
			memcpy(out + o, rep, m);
		else
			out[o] = *s;
		o += m;
	}
	out[o] = '\0';
	return 0;
}
