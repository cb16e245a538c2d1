/* record.c - one input line as a record: recordId, modelInput, its raw bytes. */
#include "core/record.h"
#include "util/json.h"

#include <string.h>

struct scan_state {
	struct record *rec;
	int n_id, n_mi;
};

static int on_member(const struct json_span *m, void *ud)
{
	struct scan_state *s = ud;

	if (json_span_key_is(m, "modelInput")) {
		s->n_mi++;
		s->rec->mi_raw = m->val;
		s->rec->mi_raw_len = m->val_len;
	} else if (json_span_key_is(m, "recordId")) {
		s->n_id++;
	}
	return 0;
}

int record_parse(const char *line, size_t len, struct record *rec, struct err *e)
{
	struct scan_state s = {rec, 0, 0};
	json_object *id;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = json_parse(line, len, &rec->root, e);
	if (rc)
		return rc;
	if (!json_object_is_type(rec->root, json_type_object))
		return err_set(e, ERR_INVAL, "a record must be a JSON object, got %s",
			       json_type_word(rec->root));
	json_scan_object(line, len, on_member, &s);
	if (s.n_id > 1 || s.n_mi > 1)
		return err_set(e, ERR_INVAL, "the record has %s twice",
			       s.n_id > 1 ? "recordId" : "modelInput");
	if (json_object_object_get_ex(rec->root, "recordId", &id)) {
		if (!json_is_type(id, json_type_string))
			return err_set(e, ERR_INVAL, "recordId: must be a string, got %s",
				       json_type_word(id));
		rec->id = json_object_get_string(id);
		rec->id_len = (size_t)json_object_get_string_len(id);
		if (rec->id_len == 0) {
			rec->id = NULL;
			return err_set(e, ERR_INVAL, "recordId: must not be empty");
		}
		if (rec->id_len > RECORD_ID_MAX) {
			size_t n = rec->id_len;

			rec->id = NULL;
			rec->id_len = 0;
			return err_set(e, ERR_INVAL, "recordId: %zu bytes is longer than %d", n,
				       RECORD_ID_MAX);
		}
	}
	if (!json_object_object_get_ex(rec->root, "modelInput", &rec->mi))
		return err_set(e, ERR_INVAL, "modelInput: missing");
	if (!json_is_type(rec->mi, json_type_object))
		return err_set(e, ERR_INVAL, "modelInput: must be an object, got %s",
			       json_type_word(rec->mi));
	return 0;
}

void record_free(struct record *rec)
{
	json_object_put(rec->root);
	memset(rec, 0, sizeof(*rec));
}
