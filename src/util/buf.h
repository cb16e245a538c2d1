/* buf.h - growable byte buffers with a hard cap. */
#ifndef BARGE_BUF_H
#define BARGE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A buf grows on demand but never past max bytes. Any failed append (cap or
 * allocation) makes the buffer "failed": later appends do nothing, and the
 * first failure is kept in err, so a writer may append many pieces and check
 * once at the end. The contents are always NUL-terminated when data != NULL.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	int err; /* 0, ERR_LIMIT or ERR_NOMEM */
};

#define BUF_DEFAULT_MAX ((size_t)64 << 20)

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* buf_reset empties b and clears a failure; it keeps the allocation. */
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
int buf_put_u64(struct buf *b, uint64_t v);
int buf_put_i64(struct buf *b, int64_t v);
/* buf_put_json_str appends s[0..n) as a quoted, escaped JSON string. */
int buf_put_json_str(struct buf *b, const char *s, size_t n);
/* buf_put_json_cstr is buf_put_json_str for a NUL-terminated string. */
int buf_put_json_cstr(struct buf *b, const char *s);
/*
 * buf_steal hands the bytes to the caller (who frees them) and leaves b
 * empty; it returns NULL if b failed.
 */
char *buf_steal(struct buf *b, size_t *len);

/*
 * buf_fmt_int writes v with thousands separators ("50,000", "-1,234") into
 * out, a string of n bytes; what does not fit is cut.
 */
void buf_fmt_int(char *out, size_t n, int64_t v);

#endif
