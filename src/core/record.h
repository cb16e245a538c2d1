/* record.h - one input line as a record: recordId, modelInput, its raw bytes. */
#ifndef BARGE_RECORD_H
#define BARGE_RECORD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/ids.h"

#define RECORD_ID_MAX 1024

/*
 * A parsed record. root owns the parsed line; id and mi borrow from it, and
 * mi_raw points into the line text, so the line must outlive the view.
 */
struct record {
	json_object *root;
	const char *id; /* NULL when the line has no recordId */
	size_t id_len;
	json_object *mi;
	const char *mi_raw; /* modelInput exactly as written */
	size_t mi_raw_len;
};

/*
 * record_parse reads line[0..len) as a record. On failure rec holds whatever
 * could be read (mi_raw may still be set, for echoing in an error record) and
 * e says what is wrong. The caller calls record_free in both cases.
 */
int record_parse(const char *line, size_t len, struct record *rec, struct err *e);
void record_free(struct record *rec);

#endif
