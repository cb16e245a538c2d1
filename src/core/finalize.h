/* finalize.h - assembling a job's outputs and manifest from its parts. */
#ifndef BARGE_FINALIZE_H
#define BARGE_FINALIZE_H

#include <stdbool.h>

#include "core/job.h"
#include "core/pricing.h"
#include "objects/objects.h"
#include "store/store.h"

/*
 * finalize_job writes OUT/<job>/<input>.out for every input, records in
 * input order, from the done chunks' parts and (for a job that stopped
 * part-way) the journaled records of unfinished chunks; then
 * manifest.json.out, with j's status. shown receives the counts the
 * manifest reports: the job's counts plus those journaled records.
 *
 * Every object is written atomically, so a crash during finalize leaves the
 * old outputs or the new ones, and finalize can simply run again.
 */
int finalize_job(struct objects *obj, struct store *st, const struct job *j,
		 const char *journal_dir, size_t max_line_bytes, struct job_counts *shown,
		 struct err *e);

/* finalize_clean removes the parts and journals of a job that is over for good. */
void finalize_clean(struct objects *obj, struct store *st, const struct job *j,
		    const char *journal_dir);

/*
 * finalize_end ends job j in status `to` (with message msg, may be NULL):
 * outputs and manifest first, then the status in the store, then (when
 * final) the scratch. j's status and end time
 * are updated. A crash anywhere in between is mended by running it again.
 * final says the job will never run again: its counts then become the
 * manifest's, journaled records of unfinished chunks included (a job that
 * may resume keeps counting by whole chunks, so nothing is counted twice).
 */
int finalize_end(struct objects *obj, struct store *st, struct job *j,
		 const char *journal_dir, size_t max_line_bytes, enum job_status to,
		 const char *msg, bool final, struct job_counts *shown, struct err *e);

/* finalize_prices returns the prices recorded in the job. */
struct prices finalize_prices(const struct job *j);

#endif
