/* advice.h - what an input costs for nothing: inflated max_tokens, duplicates, whitespace. */
#ifndef BARGE_CLI_ADVICE_H
#define BARGE_CLI_ADVICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/job.h"
#include "core/record.h"
#include "formats/format.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/err.h"

/* The advice looks at this many records at most, so that memory stays bounded. */
#define ADVICE_MAX_RECORDS 1000000

/*
 * The typical answer of each family, in tokens, and the factors of the
 * max_tokens flag: a record is flagged when its max_tokens is above
 * ADVICE_CEILING_FACTOR times its family's typical answer (2,048 for 512),
 * or above ADVICE_MEDIAN_FACTOR times the file's median max_tokens and
 * above the typical answer too (an outlier in its own file).
 */
#define ADVICE_CEILING_FACTOR 4
#define ADVICE_MEDIAN_FACTOR 8
/* How many example lines a flag quotes. */
#define ADVICE_EXAMPLES 5

struct advice;

/*
 * advice_new starts gathering for records of family fam priced as model.
 * Returns NULL when out of memory. Free with advice_free.
 */
struct advice *advice_new(const struct family *fam, const struct model_cfg *model);
void advice_free(struct advice *a);

/* advice_on_record is a val_opts on_record callback: ud is the struct advice. */
void advice_on_record(void *ud, const struct record *rec, unsigned input_idx, uint64_t line_no);

/*
 * advice_finish computes the spreads and flags once every record is in;
 * inputs name the files of the example lines. Returns 0, or ERR_NOMEM with
 * e set (also when gathering ran out of memory).
 */
int advice_finish(struct advice *a, const struct job_input *inputs, struct err *e);

/*
 * advice_put_text appends the report for people (nothing without valid
 * records); advice_put_json the same as one JSON object ("null" when
 * advice_finish did not succeed).
 */
void advice_put_text(const struct advice *a, struct buf *b);
void advice_put_json(const struct advice *a, const struct job_input *inputs, struct buf *b);

/* advice_typical_answer is the family's typical answer in tokens (0: embeddings). */
int64_t advice_typical_answer(const struct family *fam);

/*
 * advice_quantile is the nearest-rank quantile q (0 to 1) of the sorted
 * values v[0..n): q = 0.5 gives the median (the lower one of an even
 * count), 0.9 the p90. 0 when n is 0.
 */
int64_t advice_quantile(const int64_t *v, size_t n, double q);

/* advice_sort sorts v[0..n) in ascending order. */
void advice_sort(int64_t *v, size_t n);

#endif
