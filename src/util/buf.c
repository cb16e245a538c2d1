/* buf.c - growable byte buffers with a hard cap. */
#include "util/buf.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : BUF_DEFAULT_MAX;
	b->err = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->err = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (b->err)
		return b->err;
	if (extra > b->max || b->len > b->max - extra) {
		b->err = ERR_LIMIT;
		return b->err;
	}
	need = b->len + extra + 1; /* room for the terminating NUL */
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	p = realloc(b->data, ncap);
	if (!p) {
		b->err = ERR_NOMEM;
		return b->err;
	}
	p[b->len] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	int rc = buf_reserve(b, 1);

	if (rc)
		return rc;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return 0;
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	int rc;

	if (b->err)
		return b->err;
	/* Try the room already there first: one formatting pass when it fits. */
	if (b->data && b->cap > b->len + 1) {
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
		va_end(ap2);
		if (n < 0)
			return b->err = ERR_INTERNAL;
		if ((size_t)n < b->cap - b->len) {
			if ((size_t)n > b->max - b->len) {
				b->data[b->len] = '\0';
				return b->err = ERR_LIMIT;
			}
			b->len += (size_t)n;
			return 0;
		}
		b->data[b->len] = '\0';
	}
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return b->err = ERR_INTERNAL;
	rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return buf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

int buf_put_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_putc(b, '-');
		return buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
	}
	return buf_put_u64(b, (uint64_t)v);
}

int buf_put_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	int rc;

	/* Worst case every byte becomes \u00XX: reserve once for the common case. */
	rc = buf_reserve(b, n + 2);
	if (rc)
		return rc;
	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default: break;
		}
		if (esc) {
			buf_puts(b, esc);
		} else {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_append(b, u, sizeof(u));
		}
	}
	buf_append(b, s + run, n - run);
	return buf_putc(b, '"');
}

int buf_put_json_cstr(struct buf *b, const char *s)
{
	return buf_put_json_str(b, s, strlen(s));
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (b->err)
		return NULL;
	if (!b->data && buf_reserve(b, 0))
		return NULL;
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void buf_fmt_int(char *out, size_t n, int64_t v)
{
	char tmp[32];
	/* The magnitude in unsigned arithmetic: -INT64_MIN does not fit. */
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)mag);
	size_t o = 0;

	if (!n)
		return;
	if (v < 0 && o + 1 < n)
		out[o++] = '-';
	for (int i = 0; i < len; i++) {
		bool comma = i && (len - i) % 3 == 0;

		if (o + 1 + comma >= n)
			break;
		if (comma)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = '\0';
}
