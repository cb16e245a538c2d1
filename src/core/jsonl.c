/* jsonl.c - streaming reader of JSON Lines with byte offsets. */
#include "core/jsonl.h"

#include <stdlib.h>
#include <string.h>

#define JSONL_RBUF (256 * 1024)

int jsonl_open(struct jsonl_reader *r, struct objects *o, const char *uri, uint64_t off,
	       uint64_t len, uint64_t first_line, size_t max_line_bytes, struct err *e)
{
	int rc;

	memset(r, 0, sizeof(*r));
	/* One byte more than the limit: room for the \r of a CRLF ending. */
	r->max_line = max_line_bytes;
	buf_init(&r->line, max_line_bytes + 1);
	r->rbuf = malloc(JSONL_RBUF);
	if (!r->rbuf)
		return err_set(e, ERR_NOMEM, "out of memory");
	rc = objects_open_read(o, uri, off, len, &r->src, e);
	if (rc) {
		free(r->rbuf);
		r->rbuf = NULL;
		return rc;
	}
	r->off = off;
	r->line_no = first_line ? first_line - 1 : 0;
	r->at_start = off == 0;
	return 0;
}

void jsonl_close(struct jsonl_reader *r)
{
	obj_reader_close(r->src);
	r->src = NULL;
	free(r->rbuf);
	r->rbuf = NULL;
	buf_free(&r->line);
}

/* fill refills the read buffer; returns 0 (check r->eof) or an error. */
static int fill(struct jsonl_reader *r, struct err *e)
{
	size_t got;
	int rc = obj_reader_read(r->src, r->rbuf, JSONL_RBUF, &got, e);

	if (rc)
		return rc;
	r->rpos = 0;
	r->rlen = got;
	if (got == 0)
		r->eof = true;
	return 0;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	}
	return true;
}

int jsonl_next(struct jsonl_reader *r, struct jsonl_line *l, struct err *e)
{
	for (;;) {
		uint64_t start = r->off;
		uint64_t total = 0;
		bool too_long = false, ended = false;
		char last = 0;
		int rc;

		buf_reset(&r->line);
		while (!ended) {
			char *nl;
			size_t take;

			if (r->rpos == r->rlen) {
				if (r->eof)
					break;
				rc = fill(r, e);
				if (rc)
					return rc;
				if (r->eof)
					break;
			}
			if (r->at_start) {
				/* A byte order mark is allowed once, at the very start. */
				r->at_start = false;
				if (r->rlen - r->rpos >= 3 && !memcmp(r->rbuf + r->rpos, "\xEF\xBB\xBF", 3)) {
					r->rpos += 3;
					r->off += 3;
					start = r->off;
					continue;
				}
			}
			nl = memchr(r->rbuf + r->rpos, '\n', r->rlen - r->rpos);
			take = nl ? (size_t)(nl - (r->rbuf + r->rpos)) : r->rlen - r->rpos;
			total += take;
			if (take)
				last = r->rbuf[r->rpos + take - 1];
			if (!too_long && buf_append(&r->line, r->rbuf + r->rpos, take)) {
				too_long = true;
				buf_reset(&r->line);
			}
			r->rpos += take;
			r->off += take;
			if (nl) {
				r->rpos++;
				r->off++;
				ended = true;
			}
		}
		if (!ended && total == 0)
			return 0; /* the end: nothing after the last newline */
		r->line_no++;
		if (last == '\r') {
			/* The CR of a CRLF ending is not part of the line. */
			total--;
			if (!too_long) {
				r->line.len--;
				r->line.data[r->line.len] = '\0';
			}
		}
		if (!too_long && r->line.len > r->max_line) {
			too_long = true;
			buf_reset(&r->line);
		}
		if (!too_long && is_blank(r->line.data ? r->line.data : "", r->line.len))
			continue;
		l->data = too_long ? "" : r->line.data;
		l->len = too_long ? 0 : r->line.len;
		l->off = start;
		l->next_off = r->off;
		l->line_no = r->line_no;
		l->too_long = too_long;
		l->full_len = total;
		return 1;
	}
}
