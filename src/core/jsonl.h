/* jsonl.h - streaming reader of JSON Lines with byte offsets. */
#ifndef BARGE_JSONL_H
#define BARGE_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objects/objects.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * The reader streams an object through a fixed read buffer and hands out
 * one line at a time, so memory depends on max_line_bytes, not on the size
 * of the file. It accepts LF and CRLF endings, skips a UTF-8 byte order mark
 * at the very start, skips blank lines (empty or only spaces and tabs), and
 * takes a last line without a newline. A line longer than max_line_bytes is
 * consumed and reported (too_long) without its bytes.
 */
struct jsonl_reader {
	struct obj_reader *src; /* owned */
	char *rbuf;
	size_t rlen, rpos;
	struct buf line;
	uint64_t off;     /* absolute offset of rbuf[rpos] in the object */
	uint64_t line_no; /* physical number of the last line read (1-based) */
	size_t max_line;
	bool eof;
	bool at_start;    /* nothing read yet from offset 0: a BOM may follow */
};

struct jsonl_line {
	const char *data; /* the line without its ending; valid until the next call */
	size_t len;
	uint64_t off;      /* offset of the line's first byte */
	uint64_t next_off; /* offset just past its newline */
	uint64_t line_no;  /* physical line number, blank lines counted */
	bool too_long;     /* longer than max_line_bytes: data is empty */
	uint64_t full_len; /* the measured length when too_long */
};

/*
 * jsonl_open starts reading uri at byte off (a line start) for len bytes
 * (0: to the end); first_line is the physical number of the line at off.
 */
int jsonl_open(struct jsonl_reader *r, struct objects *o, const char *uri, uint64_t off,
	       uint64_t len, uint64_t first_line, size_t max_line_bytes, struct err *e);
/* jsonl_next returns 1 with a line, 0 at the end, or a negative code. */
int jsonl_next(struct jsonl_reader *r, struct jsonl_line *l, struct err *e);
void jsonl_close(struct jsonl_reader *r);

#endif
