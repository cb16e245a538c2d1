/* dialect.h - what the OpenAI and Anthropic batch dialects share: listings and results side by side. */
#ifndef BARGE_API_DIALECT_H
#define BARGE_API_DIALECT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/jsonl.h"
#include "core/service.h"

/* The longest request id (custom_id) a dialect accepts. */
#define DIALECT_ID_MAX 512
/*
 * The longest line of a job's output the dialects read. An output line
 * holds the request (up to max_line_bytes) and the backend's answer (up to
 * its max_response_bytes), so it is longer than any input line; this is the
 * cap barge results uses too (RESULTS_LINE_MAX).
 */
#define DIALECT_OUT_LINE_MAX ((size_t)256 << 20)

/*
 * dialect_span_str decodes the JSON string at pointer p ("/recordId") of
 * the JSON text line[0..len) into out (n bytes). False when there is none,
 * it is no string, or it does not fit.
 */
bool dialect_span_str(const char *line, size_t len, const char *p, char *out, size_t n);

/*
 * dialect_collect lists the account's jobs whose name holds name_prefix,
 * from the job cursor on (NULL: the start), newest first (oldest first when
 * ascending), keeping those live() accepts (it fills *out, a job of the
 * caller's, and returns true), until want are kept or none are left. The
 * caller frees *out with store_jobs_free.
 */
int dialect_collect(struct service *svc, const struct account_cfg *a, const char *name_prefix,
		    const char *cursor, bool ascending, size_t want,
		    bool (*live)(struct service *svc, const struct account_cfg *a,
				 const struct job *listed, struct job *out),
		    struct job **out, size_t *n_out, struct err *e);

/*
 * dialect_read_small reads the whole object uri into b (whose cap bounds
 * it: a larger object is ERR_LIMIT). ERR_NOTFOUND when there is none.
 */
int dialect_read_small(struct objects *o, const char *uri, struct buf *b, struct err *e);

/*
 * dialect_note_cancel keeps the time a cancel of the batch kept under dir
 * was asked, and dialect_cancel_ms reads it for job j: 0 when j is not
 * cancelling or cancelled, the job's last change when no time was kept (a
 * stop through the Bedrock API).
 */
void dialect_note_cancel(struct objects *o, const char *dir);
int64_t dialect_cancel_ms(struct objects *o, const char *dir, const struct job *j);

/*
 * dialect_query_param finds key in a query string ("limit=2&after=x") and
 * decodes its value into out (n bytes): 1 when found, 0 when absent, and
 * ERR_INVAL when the value is malformed (a broken percent-escape, longer
 * than out, or no '=' at all), so that the caller refuses it rather than
 * answering as if it were not there. The first of repeated keys counts.
 */
int dialect_query_param(const char *query, const char *key, char *out, size_t n);
/* dialect_reverse reverses v[0..n) in place. */
void dialect_reverse(struct job *v, size_t n);

/*
 * A dialect keeps a batch's requests as a job input of Bedrock records
 * whose recordId is the request's id. The pairs reader walks that input and
 * the job's output side by side (both are in record order) and gives, for
 * each request, its output line, or none when the request never ran.
 */
struct dialect_pairs {
	struct jsonl_reader in, out;
	bool in_open, out_open, have_out;
	struct jsonl_line ol;
	char oid[DIALECT_ID_MAX + 1];
};

/*
 * dialect_pairs_open opens the input in_uri and the output out_uri (an
 * output that does not exist, as for a job that failed before it ran, reads
 * as empty). On failure nothing is left open.
 */
int dialect_pairs_open(struct dialect_pairs *P, struct objects *o, const char *in_uri,
		       const char *out_uri, size_t max_line, struct err *e);
/*
 * dialect_pairs_next returns 1 with the next request's id in cid and its
 * output line in *line and *len (valid until the next call), or *line NULL
 * when it never ran; 0 at the end; a negative code on a read failure or an
 * output line longer than DIALECT_OUT_LINE_MAX (whose request cannot be
 * told apart from one never run).
 */
int dialect_pairs_next(struct dialect_pairs *P, char cid[DIALECT_ID_MAX + 1], const char **line,
		       size_t *len, struct err *e);
void dialect_pairs_close(struct dialect_pairs *P);

#endif
