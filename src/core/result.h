/* result.h - a record's result: output lines and the per-chunk journal. */
#ifndef BARGE_RESULT_H
#define BARGE_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/job.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * The result of one record. out is the modelOutput JSON when ok, else the
 * error message (plain text). Owned by the struct.
 */
struct result {
	bool done;
	bool ok;
	int code;          /* errorCode when !ok */
	char *out;
	size_t out_len;
	int64_t input_tokens;
	int64_t output_tokens;
	int retries;
	int throttles;
};

void result_clear(struct result *r);

/* result_count adds a finished record's result to counts c. */
void result_count(struct job_counts *c, const struct result *r);

/*
 * result_put_line appends the output line of a record (with its newline) to
 * b: recordId and modelInput echoed from the input line as written, then
 * modelOutput or error. A line that is not a JSON object (or has no string
 * recordId) is echoed with the generated id and "modelInput": null.
 */
int result_put_line(struct buf *b, const char *line, size_t len, const char *job_id,
		    unsigned input_idx, int64_t rec_idx, const struct result *r);

/* result_put_journal appends record k's journal entry (one line) to b. */
int result_put_journal(struct buf *b, int64_t k, const struct result *r);

/*
 * result_load_journal reads the journal at path into v[0..n) (entries for
 * k >= n are ignored) and cuts off a torn last entry left by a crash, so
 * that appending can go on. A missing journal is not an error. Returns the
 * number of entries loaded, or a negative code.
 */
int64_t result_load_journal(const char *path, struct result *v, int64_t n, struct err *e);

#endif
