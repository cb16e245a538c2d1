/* split.h - cutting a JSONL input into parts that each fit one job. */
#ifndef BARGE_SPLIT_H
#define BARGE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "objects/objects.h"
#include "util/config.h"
#include "util/err.h"

/* Part numbers have four digits, so names sort in order: at most this many parts. */
#define SPLIT_MAX_PARTS 9999

/* One part written. */
struct split_part {
	char *uri;            /* malloc'd */
	uint64_t records;
	uint64_t bytes;
	uint64_t first_line;  /* the input line its first record came from */
};

struct split_opts {
	uint64_t max_records; /* records per part; 0: only the limits' */
	uint64_t max_bytes;   /* bytes per part; 0: only the limits' */
	/* max_records_per_job, max_file_bytes and max_line_bytes always apply. */
	const struct limits_cfg *lim;
	/*
	 * Where the parts go: NULL next to the input; a directory or prefix
	 * (ending in '/', or an existing directory) to put them in; anything
	 * else is the start of their names. See split_base.
	 */
	const char *out;
	/* Called after each part is committed, e.g. to print it. */
	void (*on_part)(void *ud, const struct split_part *p);
	void *ud;
};

struct split_result {
	struct split_part *parts;
	size_t n_parts;
	uint64_t records;
	uint64_t bytes;
	uint64_t max_records; /* the limits that applied */
	uint64_t max_bytes;
	size_t stale_removed; /* parts of an earlier split past the last one, removed */
};

/*
 * split_base returns (malloc'd, in *base) what the names of input's parts
 * start with: part k is "<base>.part-<kkkk>.jsonl". The base is the input's
 * name without ".jsonl", next to the input or in directory out, or out
 * itself when out names no directory.
 */
int split_base(struct objects *o, const char *input, const char *out, char **base,
	       struct err *e);

/*
 * split_input streams input once and writes its records (non-blank lines,
 * copied byte for byte with their CRLF or LF ending) to parts of at most
 * the effective number of records and bytes. A line that does not fit in
 * one part, or is over max_line_bytes, fails the split (ERR_INVAL, naming
 * the line); on any failure the parts already written are removed. Parts
 * an earlier split left past the last one written are removed too. The
 * caller frees res with split_result_free, also after a failure.
 */
int split_input(struct objects *o, const char *input, const struct split_opts *opt,
		struct split_result *res, struct err *e);
void split_result_free(struct split_result *res);

#endif
