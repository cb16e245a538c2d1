/* validate.h - the validation pass: records, limits, duplicates, chunks. */
#ifndef BARGE_VALIDATE_H
#define BARGE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/job.h"
#include "core/record.h"
#include "formats/format.h"
#include "objects/objects.h"
#include "util/config.h"
#include "util/err.h"

#define VALIDATE_SHOW 10 /* problems quoted in a job's message */

struct val_opts {
	const struct family *fam;
	const struct limits_cfg *lim;
	const char *job_id;   /* for generated record ids; "" outside a job */
	bool keep_invalid;    /* keep every invalid record (--on-invalid skip) */
	bool enforce_limits;  /* a job: limits fail it; estimate only warns */
	/* Called for every valid record, e.g. to gather statistics. */
	void (*on_record)(void *ud, const struct record *rec, unsigned input_idx,
			  uint64_t line_no);
	void *ud;
};

struct val_result {
	struct job_input *inputs;
	size_t n_inputs;
	struct chunk *chunks;
	size_t n_chunks;
	/* Invalid records: all of them with keep_invalid, else the first few. */
	struct invalid_rec *invalid;
	size_t n_invalid;
	int64_t total;        /* records: non-blank lines */
	int64_t n_bad;        /* invalid records */
	char limit_msg[512];  /* set when a limit is exceeded */
	int64_t est_input_tokens;
	int64_t est_max_output_tokens;
};

/*
 * inputs_expand turns the URIs a user gave into input objects: a file is
 * itself, a directory or prefix is every .jsonl under it in name order. The
 * caller owns *out (job_inputs_free). ERR_NOTFOUND when a URI names
 * nothing, ERR_INVAL when two inputs would write the same output name.
 */
int inputs_expand(struct objects *o, char *const *uris, size_t n, struct job_input **out,
		  size_t *n_out, struct err *e);

/*
 * validate_inputs streams every input once. It never fails for a bad
 * record: those are counted in res. It fails (with e set) only when an input
 * cannot be read. The caller frees res with val_result_free.
 */
int validate_inputs(struct objects *o, struct job_input *inputs, size_t n_inputs,
		    const struct val_opts *opt, struct val_result *res, struct err *e);
void val_result_free(struct val_result *res);

/*
 * validate_message writes the job's failure message: the count and the
 * first problems as "file:line: what". The caller frees it.
 */
char *validate_message(const struct val_result *res);

/*
 * validate_record checks one parsed line as validation does (shape and
 * family), putting "what" in e; used again when a chunk runs.
 */
int validate_record(const struct family *fam, const char *line, size_t len,
		    struct record *rec, struct err *e);

#endif
